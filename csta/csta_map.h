//  csta_map: internal to csta/.  Converts between asn1c's generated structs and
//  ctim's C values, and registers each operation's argument and result types.
//  Nothing outside csta/ includes this header (asn1c types stay inside csta/).
#ifndef CSTA_MAP_H
#define CSTA_MAP_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csta_apdu.h"

#include "asn_application.h"
#include "BIT_STRING.h"
#include "BOOLEAN.h"
#include "OCTET_STRING.h"
#include "ANY.h"
#include "CSTACommonArguments.h"
#include "CallingDeviceID.h"
#include "CalledDeviceID.h"
#include "ConnectionID.h"
#include "ConnectionList.h"
#include "DeviceID.h"
#include "LocalConnectionState.h"
#include "MonitorCrossRefID.h"
#include "NoDataResult.h"
#include "RedirectionDeviceID.h"
#include "SubjectDeviceID.h"
#include "AssociatedCallingDeviceID.h"
#include "AssociatedCalledDeviceID.h"
#include "NetworkCallingDeviceID.h"
#include "NetworkCalledDeviceID.h"
#include "ExtendedDeviceID.h"
#include "ACSEapdu.h"
#include "UniversalFailure.h"

//  One operation: how its argument and result travel.  A NULL type means the
//  operation has no argument (or no result: "ALWAYS RESPONDS FALSE" operations such as
//  CSTAEventReport, or a result that is the NoDataResult CHOICE, see res_no_data).
//
//  *_to: allocate (calloc) an asn1c struct of the type and fill it from `a`; the codec
//  frees it with ASN_STRUCT_FREE.  *_from: fill `a` from the decoded struct; the codec
//  frees the struct.  Both return 0, -EINVAL (missing mandatory field), -EMSGSIZE,
//  -ENOMEM or -EBADMSG.
typedef struct {
    int opcode;
    const char *name;
    asn_TYPE_descriptor_t *arg_type;
    int (*arg_to)(const csta_apdu_t *a, void **asn_out);
    int (*arg_from)(const void *asn, csta_apdu_t *a);
    asn_TYPE_descriptor_t *res_type;
    int (*res_to)(const csta_apdu_t *a, void **asn_out);
    int (*res_from)(const void *asn, csta_apdu_t *a);
    bool res_no_data;   //  result is NoDataResult: the codec maps it to a.no_data / a.ext
} csta_op_map_t;

//  Each service group provides a table (csta_map_call.c, csta_map_service.c,
//  csta_map_event.c).
extern const csta_op_map_t csta_call_ops[];
extern const size_t csta_call_ops_count;
extern const csta_op_map_t csta_service_ops[];
extern const size_t csta_service_ops_count;
extern const csta_op_map_t csta_event_ops[];
extern const size_t csta_event_ops_count;

const csta_op_map_t *csta_op_map_find(int opcode);

//  Allocate a zeroed asn1c struct of `type` into *out; -ENOMEM on failure.
#define CSTA_MAP_NEW(type_t, out)                                                         \
    do {                                                                                  \
        *(out) = calloc(1, sizeof(type_t));                                               \
        if (!*(out))                                                                      \
            return -ENOMEM;                                                               \
    } while (0)

//  --- Building blocks (csta_map_common.c) ---------------------------------------------
//  to: write into an existing (zeroed) asn1c member; from: read it.  Each returns 0 or
//  a negative errno as above.  The *_opt_to variants allocate the OPTIONAL pointer only
//  when the C value is present and leave it NULL otherwise.

int csta_map_device_to(const csta_device_t *dev, DeviceID_t *out);
int csta_map_device_from(const DeviceID_t *in, csta_device_t *dev);
int csta_map_device_opt_to(const csta_device_t *dev, DeviceID_t **out);

//  The [APPLICATION n] CHOICE { deviceIdentifier DeviceID, notKnown, restricted } family.
//  They share one layout, so one pair of functions serves them all.
#define CSTA_TAGGED_DEVICE_TYPES(X)                                                       \
    X(CallingDeviceID) X(CalledDeviceID) X(SubjectDeviceID) X(AssociatedCallingDeviceID)  \
    X(AssociatedCalledDeviceID) X(NetworkCallingDeviceID) X(NetworkCalledDeviceID)        \
    X(ExtendedDeviceID)
#define CSTA_DECLARE_TAGGED_DEVICE(T)                                                     \
    int csta_map_##T##_to(const csta_device_t *dev, T##_t *out);                          \
    int csta_map_##T##_from(const T##_t *in, csta_device_t *dev);                         \
    int csta_map_##T##_opt_to(const csta_device_t *dev, T##_t **out);
CSTA_TAGGED_DEVICE_TYPES(CSTA_DECLARE_TAGGED_DEVICE)

int csta_map_RedirectionDeviceID_to(const csta_device_t *dev, RedirectionDeviceID_t *out);
int csta_map_RedirectionDeviceID_from(const RedirectionDeviceID_t *in, csta_device_t *dev);
int csta_map_RedirectionDeviceID_opt_to(const csta_device_t *dev, RedirectionDeviceID_t **out);

int csta_map_conn_to(const csta_conn_t *conn, ConnectionID_t *out);
int csta_map_conn_from(const ConnectionID_t *in, csta_conn_t *conn);
int csta_map_conn_opt_to(const csta_conn_t *conn, ConnectionID_t **out);

int csta_map_xref_to(const csta_xref_t *xref, OCTET_STRING_t *out);
int csta_map_xref_from(const OCTET_STRING_t *in, csta_xref_t *xref);

//  OCTET STRING <-> bytes (decoded into a's arena); the _opt forms treat data NULL as absent.
int csta_map_bytes_to(const csta_bytes_t *b, OCTET_STRING_t *out);
int csta_map_bytes_from(csta_apdu_t *a, const OCTET_STRING_t *in, csta_bytes_t *b);
int csta_map_bytes_opt_to(const csta_bytes_t *b, OCTET_STRING_t **out);
int csta_map_bytes_opt_from(csta_apdu_t *a, const OCTET_STRING_t *in, csta_bytes_t *b);

//  IA5String <-> NUL-terminated text of at most cap-1 chars (-EMSGSIZE if longer).
int csta_map_text_to(const char *text, OCTET_STRING_t *out);
int csta_map_text_from(const OCTET_STRING_t *in, char *text, size_t cap);

//  Optional ENUMERATED/INTEGER (long *) where -1 / CSTA_CAUSE_ABSENT means absent.
int csta_map_long_opt_to(long value, bool present, long **out);
int csta_map_lcs_opt_to(csta_lcs_t lcs, long **out);
csta_lcs_t csta_map_lcs_opt_from(const long *in);
int csta_map_cause_opt_to(int cause, long **out);
int csta_map_cause_opt_from(const long *in);

//  CSTACommonArguments <-> csta_ext_t (the optional `extensions` of a body).
int csta_map_ext_opt_to(const csta_ext_t *ext, CSTACommonArguments_t **out);
int csta_map_ext_to(const csta_ext_t *ext, CSTACommonArguments_t *out);
//  Decoded extensions always land in a->ext (their bytes in a's arena).
int csta_map_ext_from(const CSTACommonArguments_t *in, csta_apdu_t *a);
int csta_map_ext_opt_from(const CSTACommonArguments_t *in, csta_apdu_t *a);

//  ConnectionList <-> array of csta_conn_list_item_t (csta_types.h).
int csta_map_conn_list_to(const csta_conn_list_t *list, ConnectionList_t *out);
int csta_map_conn_list_from(const ConnectionList_t *in, csta_conn_list_t *list);

//  A BIT STRING of up to 32 named bits <-> uint32 (bit n of the ASN.1 string = 1u << n).
//  min_octets pads the encoding as peers do (0 = shortest).
int csta_map_bits_to(uint32_t bits, unsigned min_octets, BIT_STRING_t *out);
uint32_t csta_map_bits_from(const BIT_STRING_t *in);

//  Optional IA5 text ("" = absent), BOOLEAN and INTEGER/ENUMERATED values.
int csta_map_text_opt_to(const char *text, OCTET_STRING_t **out);
int csta_map_text_opt_from(const OCTET_STRING_t *in, char *text, size_t cap);
int csta_map_bool_opt_to(bool value, bool present, BOOLEAN_t **out);
void csta_map_long_opt_from(const long *in, bool *has, long *value);

//  A BIT STRING kept in its wire form (csta_bits_t: octets and unused bits as sent), so a
//  peer's padding re-encodes byte for byte.  _from: NULL in = absent; -EMSGSIZE beyond 4
//  octets, -EBADMSG for more than 7 unused bits.
int csta_map_wire_bits_to(const csta_bits_t *bits, BIT_STRING_t *out);
int csta_map_wire_bits_opt_to(const csta_bits_t *bits, BIT_STRING_t **out);
int csta_map_wire_bits_from(const BIT_STRING_t *in, csta_bits_t *bits);

//  ACSE APDUs (csta_map_acse.c) and the UniversalFailure parameter (csta_map_error.c).
int csta_map_acse_from(const ACSEapdu_t *in, csta_apdu_t *a);
int csta_map_acse_to(const csta_apdu_t *a, ACSEapdu_t *out);
int csta_map_error_from(const UniversalFailure_t *in, csta_error_t *err);
int csta_map_error_to(const csta_error_t *err, UniversalFailure_t *out);

//  Encode or decode a standalone value of `type` (used for open types such as the
//  EXTERNAL single-ASN1-type).  Implemented in csta_codec.c, the only file that calls
//  asn1c's BER encoder and decoder.
int csta_codec_encode_type(asn_TYPE_descriptor_t *type, const void *value, uint8_t **out,
                           size_t *out_len);
int csta_codec_decode_type(asn_TYPE_descriptor_t *type, const uint8_t *buf, size_t len,
                           void **value_out);
int csta_codec_any_from_type(asn_TYPE_descriptor_t *type, const void *value, ANY_t *out);

#endif
