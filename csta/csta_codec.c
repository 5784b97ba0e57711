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
#include "constr_CHOICE.h"
#include "constr_SEQUENCE.h"
#include "constr_SET_OF.h"
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

//  --- Guard against asn1c's end-of-contents loop ---------------------------------------------
//
//  asn1c 0.9.28's CHOICE (and SEQUENCE, SET OF) decoder spins forever when a tag it reads
//  has an indefinite length and the end-of-contents is malformed (00 xx; vlm/asn1c #518,
//  csta-facts.md 7).  csta_ber_check refuses indefinite lengths in every constructed TLV,
//  but asn1c does not check that a tagged CHOICE's tag is constructed (the tag is
//  explicit, X.680 31.2.7): it reads a PRIMITIVE TLV's contents as TLVs, where no check
//  has looked.  csta_fuzz found that hang.  Generated code is never patched, so the
//  decoders of these types are wrapped at run time: before asn1c starts on a value, its
//  chain of tags must have definite lengths, and a CHOICE's must be constructed.

static pthread_mutex_t s_guard_lock = PTHREAD_MUTEX_INITIALIZER;
#define S_GUARD_ROOTS_MAX 64
static asn_TYPE_descriptor_t *s_guard_roots[S_GUARD_ROOTS_MAX];
static size_t s_guard_root_count;

//  Check the tags in front of a value: `tags` TLVs, each inside the previous.
static bool s_tag_chain_ok(const void *ptr, size_t size, int tags, bool constructed)
{
    const uint8_t *p = ptr;
    for (int i = 0; i < tags; i++) {
        csta_tlv_t tlv;
        int rc = csta_ber_header(p, size, &tlv);
        if (rc == -EAGAIN)
            return true;    //  asn1c reports the truncation itself
        if (rc || (constructed && !tlv.constructed))
            return false;
        if (tlv.content_len > size - tlv.header_len)
            return true;    //  asn1c reports the overrun itself
        p += tlv.header_len;
        size = tlv.content_len;
    }
    return true;
}

//  Tags on the wire in front of a value of td: an explicit outer tag (tag_mode 1) and the
//  type's own (an implicit outer tag, tag_mode -1, replaces the first of them).
static int s_wire_tags(const asn_TYPE_descriptor_t *td, int tag_mode)
{
    return td->tags_count + (tag_mode == 1 ? 1 : 0);
}

static asn_dec_rval_t s_refuse(void)
{
    asn_dec_rval_t rv = {RC_FAIL, 0};
    return rv;
}

static asn_dec_rval_t s_choice_guard(asn_codec_ctx_t *ctx, asn_TYPE_descriptor_t *td,
                                     void **sptr, const void *ptr, size_t size, int tag_mode)
{
    if (!s_tag_chain_ok(ptr, size, s_wire_tags(td, tag_mode), true))
        return s_refuse();
    return CHOICE_decode_ber(ctx, td, sptr, ptr, size, tag_mode);
}

static asn_dec_rval_t s_sequence_guard(asn_codec_ctx_t *ctx, asn_TYPE_descriptor_t *td,
                                       void **sptr, const void *ptr, size_t size, int tag_mode)
{
    if (!s_tag_chain_ok(ptr, size, s_wire_tags(td, tag_mode), false))
        return s_refuse();
    return SEQUENCE_decode_ber(ctx, td, sptr, ptr, size, tag_mode);
}

static asn_dec_rval_t s_set_of_guard(asn_codec_ctx_t *ctx, asn_TYPE_descriptor_t *td,
                                     void **sptr, const void *ptr, size_t size, int tag_mode)
{
    if (!s_tag_chain_ok(ptr, size, s_wire_tags(td, tag_mode), false))
        return s_refuse();
    return SET_OF_decode_ber(ctx, td, sptr, ptr, size, tag_mode);
}

static asn_dec_rval_t s_any_guard(asn_codec_ctx_t *ctx, asn_TYPE_descriptor_t *td, void **sptr,
                                  const void *ptr, size_t size, int tag_mode)
{
    //  ANY has no tag of its own: the outer one if explicit, then the value's TLV.
    if (!s_tag_chain_ok(ptr, size, (tag_mode == 1 ? 1 : 0) + 1, false))
        return s_refuse();
    return OCTET_STRING_decode_ber(ctx, td, sptr, ptr, size, tag_mode);
}

//  Install the guards on every type reachable from td (visited: the types seen so far).
static void s_guard_tree(asn_TYPE_descriptor_t *td, asn_TYPE_descriptor_t **visited,
                         size_t *count, size_t cap)
{
    for (size_t i = 0; i < *count; i++)
        if (visited[i] == td)
            return;
    if (*count < cap)
        visited[(*count)++] = td;
    if (td->ber_decoder == CHOICE_decode_ber)
        td->ber_decoder = s_choice_guard;
    else if (td->ber_decoder == SEQUENCE_decode_ber)
        td->ber_decoder = s_sequence_guard;
    else if (td->ber_decoder == SET_OF_decode_ber)
        td->ber_decoder = s_set_of_guard;
    else if (td == &asn_DEF_ANY && td->ber_decoder == OCTET_STRING_decode_ber)
        td->ber_decoder = s_any_guard;
    for (int i = 0; i < td->elements_count; i++)
        if (td->elements[i].type)
            s_guard_tree(td->elements[i].type, visited, count, cap);
}

//  Guard the types reachable from root, once per root.  Decoding a root only starts after
//  this returns, so no thread reads a decoder pointer while it is being replaced.
static void s_guard(asn_TYPE_descriptor_t *root)
{
    pthread_mutex_lock(&s_guard_lock);
    bool done = false;
    for (size_t i = 0; i < s_guard_root_count && !done; i++)
        done = s_guard_roots[i] == root;
    if (!done) {
        static asn_TYPE_descriptor_t *visited[4096];
        size_t count = 0;
        s_guard_tree(root, visited, &count, sizeof visited / sizeof visited[0]);
        if (s_guard_root_count < S_GUARD_ROOTS_MAX)
            s_guard_roots[s_guard_root_count++] = root;
    }
    pthread_mutex_unlock(&s_guard_lock);
}

//  --- Generic encode/decode of one value -------------------------------------------------------

int csta_codec_decode_type(asn_TYPE_descriptor_t *type, const uint8_t *buf, size_t len,
                           void **value_out)
{
    asn_codec_ctx_t ctx = {.max_stack_size = CSTA_DECODE_STACK_MAX};
    void *value = NULL;
    s_guard(type);
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

//  asn1c may hand an empty chunk with a NULL pointer (an empty OCTET STRING): nothing to copy.
static int s_sink_write(const void *data, size_t size, void *key)
{
    s_sink_t *sink = key;
    if (size == 0)
        return 0;
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
    if (size == 0)
        return 0;
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
