//  csta_apdu: one CSTA message (ACSE or ROSE APDU) as C values, and its BER codec.
//
//  Decode:  csta_apdu_t a; int rc = csta_apdu_decode(&a, buf, len); ... csta_apdu_clear(&a);
//  Encode:  csta_apdu_init(&a, CSTA_APDU_INVOKE); a.opcode = CSTA_OP_MAKE_CALL; ...
//           uint8_t out[512]; size_t n; rc = csta_apdu_encode(&a, out, sizeof out, &n);
//
//  Which body member is valid follows from kind and opcode: a call control invoke
//  uses call.<service>, its result call.<service>_res; an event report uses event;
//  ACSE APDUs use acse; ReturnError uses error; Reject uses reject.
#ifndef CSTA_APDU_H
#define CSTA_APDU_H

#include "csta_acse.h"
#include "csta_call.h"
#include "csta_error.h"
#include "csta_event.h"
#include "csta_ops.h"
#include "csta_service.h"
#include "csta_types.h"

typedef enum {
    CSTA_APDU_NONE = 0,
    CSTA_APDU_INVOKE,
    CSTA_APDU_RESULT,
    CSTA_APDU_ERROR,
    CSTA_APDU_REJECT,
    CSTA_APDU_AARQ,
    CSTA_APDU_AARE,
    CSTA_APDU_RLRQ,
    CSTA_APDU_RLRE,
    CSTA_APDU_ABRT,
} csta_apdu_kind_t;

typedef struct {
    csta_apdu_kind_t kind;
    long invoke_id;                 //  ROSE APDUs
    int opcode;                     //  invoke; result with has_result
    bool has_result;                //  ReturnResult carries { opcode, result }
    bool has_argument;              //  Invoke carries an argument (almost always)
    bool no_data;                   //  result is CHOICE{extensions, noData} and was noData
    csta_ext_t ext;                 //  extensions (CSTACommonArguments) of the body
    void *arena;                    //  memory of decoded csta_bytes_t; csta_apdu_clear frees it
    union {
        csta_call_u call;
        csta_service_u svc;
        csta_event_t event;
        csta_error_t error;
        csta_reject_t reject;
        csta_acse_t acse;
    };
} csta_apdu_t;

//  Zero the APDU and set its kind (invoke: has_argument; result: has_result).
void csta_apdu_init(csta_apdu_t *a, csta_apdu_kind_t kind);
//  Free the arena (decoded bytes, private data) and re-init to NONE.
void csta_apdu_clear(csta_apdu_t *a);
//  Copy len bytes into the APDU's arena and point *b at them.  Returns 0 or -ENOMEM.
int csta_apdu_set_bytes(csta_apdu_t *a, csta_bytes_t *b, const void *data, size_t len);

//  Decode exactly one APDU (one frame's payload).  Returns 0, or
//   -EBADMSG  malformed BER, trailing bytes, or an argument that does not fit its type
//   -ENOTSUP  a well-formed ROSE APDU whose operation ctim does not know: kind,
//             invoke_id and opcode are set so the caller can Reject it
//   -EMSGSIZE a field longer than ctim's limits (CSTA_DIGITS_MAX, ...)
//  On error the APDU holds no heap memory, except as said for -ENOTSUP.
int csta_apdu_decode(csta_apdu_t *a, const uint8_t *buf, size_t len);

//  Encode into out[0..cap).  Returns 0 and the length in *len_out, or
//   -ENOSPC  out is too small, -EINVAL the APDU is incomplete (e.g. unknown opcode).
int csta_apdu_encode(const csta_apdu_t *a, uint8_t *out, size_t cap, size_t *len_out);

const char *csta_apdu_kind_str(csta_apdu_kind_t kind);

#endif
