//  csta_codec: BER decode and encode of one CSTA APDU.  The only file that calls
//  asn1c's encoder and decoder (STYLE.md): the ROSE and ACSE envelopes here, the
//  operation bodies through the per-group tables of csta_map.h.
#include "csta_map.h"

#include "csta_ber.h"

#include <pthread.h>

#include "ACSEapdu.h"
#include "ROSEapdu.h"
#include "UniversalFailure.h"
#include "ber_decoder.h"
#include "der_encoder.h"

//  Bound on the decoder's recursion, in bytes of stack (csta-facts.md 7: hostile input).
#define CSTA_DECODE_STACK_MAX 32768


//  --- Operation lookup ----------------------------------------------------------------------

#define CSTA_OPCODE_LIMIT 512
static const csta_op_map_t *s_op_index[CSTA_OPCODE_LIMIT];
static pthread_once_t s_op_index_once = PTHREAD_ONCE_INIT;

static void s_index_table(const csta_op_map_t *table, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (table[i].opcode >= 0 && table[i].opcode < CSTA_OPCODE_LIMIT)
            s_op_index[table[i].opcode] = &table[i];
}

static void s_build_op_index(void)
{
    s_index_table(csta_call_ops, csta_call_ops_count);
    s_index_table(csta_service_ops, csta_service_ops_count);
    s_index_table(csta_event_ops, csta_event_ops_count);
}

const csta_op_map_t *csta_op_map_find(int opcode)
{
    pthread_once(&s_op_index_once, s_build_op_index);
    if (opcode < 0 || opcode >= CSTA_OPCODE_LIMIT)
        return NULL;
    return s_op_index[opcode];
}

//  --- Generic encode/decode of one value -------------------------------------------------------

int csta_codec_decode_type(asn_TYPE_descriptor_t *type, const uint8_t *buf, size_t len,
                           void **value_out)
{
    asn_codec_ctx_t ctx = {.max_stack_size = CSTA_DECODE_STACK_MAX};
    void *value = NULL;
    asn_dec_rval_t rv = ber_decode(&ctx, type, &value, buf, len);
    if (rv.code != RC_OK || rv.consumed != len) {
        //  RC_WMORE on a complete frame means the TLV claims more than the frame holds.
        ASN_STRUCT_FREE(*type, value);
        return -EBADMSG;
    }
    *value_out = value;
    return 0;
}

typedef struct {
    uint8_t *buf;
    size_t len;
    size_t cap;
    bool overflow;
} s_sink_t;

static int s_sink_write(const void *data, size_t size, void *key)
{
    s_sink_t *sink = key;
    if (sink->len + size > sink->cap) {
        sink->overflow = true;
        return -1;
    }
    memcpy(sink->buf + sink->len, data, size);
    sink->len += size;
    return 0;
}

static int s_grow_write(const void *data, size_t size, void *key)
{
    s_sink_t *sink = key;
    if (sink->len + size > sink->cap) {
        size_t cap = sink->cap ? sink->cap * 2 : 256;
        while (cap < sink->len + size)
            cap *= 2;
        uint8_t *grown = realloc(sink->buf, cap);
        if (!grown)
            return -1;
        sink->buf = grown;
        sink->cap = cap;
    }
    memcpy(sink->buf + sink->len, data, size);
    sink->len += size;
    return 0;
}

int csta_codec_encode_type(asn_TYPE_descriptor_t *type, const void *value, uint8_t **out,
                           size_t *out_len)
{
    s_sink_t sink = {0};
    asn_enc_rval_t er = der_encode(type, (void *) value, s_grow_write, &sink);
    if (er.encoded < 0) {
        free(sink.buf);
        return -EINVAL;
    }
    *out = sink.buf;
    *out_len = sink.len;
    return 0;
}

int csta_codec_any_from_type(asn_TYPE_descriptor_t *type, const void *value, ANY_t *out)
{
    uint8_t *buf;
    size_t len;
    int rc = csta_codec_encode_type(type, value, &buf, &len);
    if (rc)
        return rc;
    FREEMEM(out->buf);
    out->buf = buf;
    out->size = (int) len;
    return 0;
}

//  Decode an open type (argument, result, error parameter) as `type`, then hand it to
//  the mapper.  The struct is freed here whatever the mapper did.
static int s_decode_body(asn_TYPE_descriptor_t *type, const ANY_t *any,
                         int (*from)(const void *, csta_apdu_t *), csta_apdu_t *a)
{
    void *value = NULL;
    int rc = csta_codec_decode_type(type, any->buf, (size_t) any->size, &value);
    if (rc)
        return rc;
    rc = from(value, a);
    ASN_STRUCT_FREE(*type, value);
    return rc;
}

static int s_no_data_from(const void *asn, csta_apdu_t *a)
{
    const NoDataResult_t *nd = asn;
    switch (nd->present) {
    case NoDataResult_PR_extensions:
        return csta_map_ext_from(&nd->choice.extensions, a);
    case NoDataResult_PR_noData:
        a->no_data = true;
        return 0;
    default:
        return -EBADMSG;
    }
}

static int s_no_data_to(const csta_apdu_t *a, void **asn_out)
{
    NoDataResult_t *nd;
    CSTA_MAP_NEW(NoDataResult_t, &nd);
    *asn_out = nd;
    if (a->ext.present) {
        nd->present = NoDataResult_PR_extensions;
        return csta_map_ext_to(&a->ext, &nd->choice.extensions);
    }
    nd->present = NoDataResult_PR_noData;
    return 0;
}

static int s_error_from(const void *asn, csta_apdu_t *a)
{
    a->error.has_parameter = true;
    return csta_map_error_from(asn, &a->error);
}

//  --- Decode --------------------------------------------------------------------------------

static int s_decode_rose(const ROSEapdu_t *pdu, csta_apdu_t *a)
{
    const csta_op_map_t *op;
    switch (pdu->present) {
    case ROSEapdu_PR_invoke: {
        const Invoke_t *inv = &pdu->choice.invoke;
        a->kind = CSTA_APDU_INVOKE;
        a->invoke_id = inv->invokeId;
        a->opcode = (int) inv->opcode;
        a->has_argument = inv->argument != NULL;
        op = csta_op_map_find(a->opcode);
        if (!op || (inv->argument && !op->arg_type))
            return -ENOTSUP;
        if (!inv->argument)
            return op->arg_type ? -EBADMSG : 0;
        return s_decode_body(op->arg_type, inv->argument, op->arg_from, a);
    }
    case ROSEapdu_PR_returnResult: {
        const ReturnResult_t *res = &pdu->choice.returnResult;
        a->kind = CSTA_APDU_RESULT;
        a->invoke_id = res->invokeId;
        if (!res->result)
            return 0;
        a->has_result = true;
        a->opcode = (int) res->result->opcode;
        op = csta_op_map_find(a->opcode);
        if (!op)
            return -ENOTSUP;
        if (op->res_no_data)
            return s_decode_body(&asn_DEF_NoDataResult, &res->result->result, s_no_data_from, a);
        if (!op->res_type)
            return -ENOTSUP;    //  a result for an operation that has none
        return s_decode_body(op->res_type, &res->result->result, op->res_from, a);
    }
    case ROSEapdu_PR_returnError: {
        const ReturnError_t *err = &pdu->choice.returnError;
        a->kind = CSTA_APDU_ERROR;
        a->invoke_id = err->invokeId;
        a->error.errcode = err->errcode;
        if (!err->parameter || err->errcode != CSTA_ERRCODE_UNIVERSAL_FAILURE)
            return 0;
        return s_decode_body(&asn_DEF_UniversalFailure, err->parameter, s_error_from, a);
    }
    case ROSEapdu_PR_reject: {
        const Reject_t *rej = &pdu->choice.reject;
        a->kind = CSTA_APDU_REJECT;
        if (rej->invokeId.present == Reject__invokeId_PR_present)
            a->invoke_id = rej->invokeId.choice.present;
        else if (rej->invokeId.present == Reject__invokeId_PR_absent)
            a->reject.invoke_id_absent = true;
        else
            return -EBADMSG;
        switch (rej->problem.present) {
        case Reject__problem_PR_general:
            a->reject.kind = CSTA_REJECT_GENERAL;
            a->reject.problem = rej->problem.choice.general;
            return 0;
        case Reject__problem_PR_invoke:
            a->reject.kind = CSTA_REJECT_INVOKE;
            a->reject.problem = rej->problem.choice.invoke;
            return 0;
        case Reject__problem_PR_returnResult:
            a->reject.kind = CSTA_REJECT_RETURN_RESULT;
            a->reject.problem = rej->problem.choice.returnResult;
            return 0;
        case Reject__problem_PR_returnError:
            a->reject.kind = CSTA_REJECT_RETURN_ERROR;
            a->reject.problem = rej->problem.choice.returnError;
            return 0;
        default:
            return -EBADMSG;
        }
    }
    default:
        return -EBADMSG;
    }
}

int csta_apdu_decode(csta_apdu_t *a, const uint8_t *buf, size_t len)
{
    csta_apdu_init(a, CSTA_APDU_NONE);
    if (len < 2)
        return -EBADMSG;
    //  Definite lengths only, bounded nesting, one TLV: checked before asn1c sees the bytes
    //  (csta-facts.md 1.1 and 7: indefinite lengths are the surface of a known asn1c hang).
    if (csta_ber_check(buf, len) != 0)
        return -EBADMSG;
    //  ACSE APDUs are [APPLICATION n] (class bits 01), ROSE APDUs context-specific (10).
    bool acse = (buf[0] & 0xC0) == 0x40;
    asn_TYPE_descriptor_t *type = acse ? &asn_DEF_ACSEapdu : &asn_DEF_ROSEapdu;
    void *pdu = NULL;
    int rc = csta_codec_decode_type(type, buf, len, &pdu);
    if (rc)
        return rc;
    rc = acse ? csta_map_acse_from(pdu, a) : s_decode_rose(pdu, a);
    ASN_STRUCT_FREE(*type, pdu);
    if (rc && rc != -ENOTSUP) {
        csta_apdu_kind_t kind = a->kind;
        csta_apdu_clear(a);
        a->kind = kind;
    }
    return rc;
}

//  --- Encode --------------------------------------------------------------------------------

//  Fill `any` with the encoding of the body that `to` builds.
static int s_encode_body(asn_TYPE_descriptor_t *type, int (*to)(const csta_apdu_t *, void **),
                         const csta_apdu_t *a, ANY_t *any)
{
    void *value = NULL;
    int rc = to(a, &value);
    if (rc == 0)
        rc = csta_codec_any_from_type(type, value, any);
    ASN_STRUCT_FREE(*type, value);
    return rc;
}

static int s_error_to(const csta_apdu_t *a, void **asn_out)
{
    UniversalFailure_t *uf;
    CSTA_MAP_NEW(UniversalFailure_t, &uf);
    *asn_out = uf;
    return csta_map_error_to(&a->error, uf);
}

static int s_encode_rose(const csta_apdu_t *a, ROSEapdu_t *pdu)
{
    const csta_op_map_t *op;
    switch (a->kind) {
    case CSTA_APDU_INVOKE: {
        Invoke_t *inv = &pdu->choice.invoke;
        pdu->present = ROSEapdu_PR_invoke;
        inv->invokeId = a->invoke_id;
        inv->opcode = a->opcode;
        op = csta_op_map_find(a->opcode);
        if (!op)
            return -EINVAL;
        if (!a->has_argument || !op->arg_type)
            return 0;
        inv->argument = calloc(1, sizeof(ANY_t));
        if (!inv->argument)
            return -ENOMEM;
        return s_encode_body(op->arg_type, op->arg_to, a, inv->argument);
    }
    case CSTA_APDU_RESULT: {
        ReturnResult_t *res = &pdu->choice.returnResult;
        pdu->present = ROSEapdu_PR_returnResult;
        res->invokeId = a->invoke_id;
        if (!a->has_result)
            return 0;
        op = csta_op_map_find(a->opcode);
        if (!op || (!op->res_no_data && !op->res_type))
            return -EINVAL;
        res->result = calloc(1, sizeof(*res->result));
        if (!res->result)
            return -ENOMEM;
        res->result->opcode = a->opcode;
        if (op->res_no_data)
            return s_encode_body(&asn_DEF_NoDataResult, s_no_data_to, a, &res->result->result);
        return s_encode_body(op->res_type, op->res_to, a, &res->result->result);
    }
    case CSTA_APDU_ERROR: {
        ReturnError_t *err = &pdu->choice.returnError;
        pdu->present = ROSEapdu_PR_returnError;
        err->invokeId = a->invoke_id;
        err->errcode = a->error.errcode ? a->error.errcode : CSTA_ERRCODE_UNIVERSAL_FAILURE;
        if (!a->error.has_parameter)
            return 0;
        err->parameter = calloc(1, sizeof(ANY_t));
        if (!err->parameter)
            return -ENOMEM;
        return s_encode_body(&asn_DEF_UniversalFailure, s_error_to, a, err->parameter);
    }
    case CSTA_APDU_REJECT: {
        Reject_t *rej = &pdu->choice.reject;
        pdu->present = ROSEapdu_PR_reject;
        if (a->reject.invoke_id_absent) {
            rej->invokeId.present = Reject__invokeId_PR_absent;
        } else {
            rej->invokeId.present = Reject__invokeId_PR_present;
            rej->invokeId.choice.present = a->invoke_id;
        }
        switch (a->reject.kind) {
        case CSTA_REJECT_GENERAL:
            rej->problem.present = Reject__problem_PR_general;
            rej->problem.choice.general = a->reject.problem;
            return 0;
        case CSTA_REJECT_INVOKE:
            rej->problem.present = Reject__problem_PR_invoke;
            rej->problem.choice.invoke = a->reject.problem;
            return 0;
        case CSTA_REJECT_RETURN_RESULT:
            rej->problem.present = Reject__problem_PR_returnResult;
            rej->problem.choice.returnResult = a->reject.problem;
            return 0;
        case CSTA_REJECT_RETURN_ERROR:
            rej->problem.present = Reject__problem_PR_returnError;
            rej->problem.choice.returnError = a->reject.problem;
            return 0;
        }
        return -EINVAL;
    }
    default:
        return -EINVAL;
    }
}

int csta_apdu_encode(const csta_apdu_t *a, uint8_t *out, size_t cap, size_t *len_out)
{
    bool acse = a->kind >= CSTA_APDU_AARQ && a->kind <= CSTA_APDU_ABRT;
    asn_TYPE_descriptor_t *type = acse ? &asn_DEF_ACSEapdu : &asn_DEF_ROSEapdu;
    void *pdu = calloc(1, acse ? sizeof(ACSEapdu_t) : sizeof(ROSEapdu_t));
    if (!pdu)
        return -ENOMEM;
    int rc = acse ? csta_map_acse_to(a, pdu) : s_encode_rose(a, pdu);
    if (rc == 0) {
        s_sink_t sink = {.buf = out, .cap = cap};
        asn_enc_rval_t er = der_encode(type, pdu, s_sink_write, &sink);
        if (er.encoded < 0)
            rc = sink.overflow ? -ENOSPC : -EINVAL;
        else
            *len_out = sink.len;
    }
    ASN_STRUCT_FREE(*type, pdu);
    return rc;
}
