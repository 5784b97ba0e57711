//  csta_peek: routing keys of an encoded APDU and in-copy rewriting of its invoke id and
//  monitor cross-reference, by walking BER TLV headers (csta_peek.h).
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "csta_ber.h"
#include "csta_peek.h"

//  Identifier octets the walker recognises (csta-facts.md 1.3, 2.2).
#define S_INTEGER 0x02
#define S_NULL 0x05
#define S_SEQUENCE 0x30
#define S_XREF 0x55             //  MonitorCrossRefID [APPLICATION 21] IMPLICIT OCTET STRING
#define S_CONNECTION_ID 0x6B    //  ConnectionID [APPLICATION 11] CHOICE (explicit)
#define S_EXTENSIONS 0x7E       //  CSTACommonArguments [APPLICATION 30] IMPLICIT SEQUENCE
#define S_CTX_PRIM_0 0x80       //  [0] IMPLICIT primitive: dialingNumber, callID, linkedId
#define S_CTX_PRIM_1 0x81       //  [1] IMPLICIT primitive: deviceNumber
#define S_CTX_CONS_1 0xA1       //  [1] explicit: the deviceID of a ConnectionID
#define S_DYNAMIC_ID 0x83       //  LocalDeviceID dynamicID [3] IMPLICIT OCTET STRING

//  One TLV inside a parent: where it starts, its header and where its contents are.
typedef struct {
    const uint8_t *p;           //  first octet (the tag)
    const uint8_t *content;
    size_t content_len;
    size_t total;               //  header + contents
    csta_tlv_t tlv;
} s_elem_t;

//  Parse the TLV at p[0..avail) and check that it fits: a complete APDU has no reason
//  to stop inside a TLV, so running out is -EBADMSG, never -EAGAIN.
static int s_elem(const uint8_t *p, size_t avail, s_elem_t *e)
{
    if (csta_ber_header(p, avail, &e->tlv) != 0)
        return -EBADMSG;
    if (e->tlv.content_len > avail - e->tlv.header_len)
        return -EBADMSG;
    e->p = p;
    e->content = p + e->tlv.header_len;
    e->content_len = e->tlv.content_len;
    e->total = e->tlv.header_len + e->tlv.content_len;
    return 0;
}

//  An INTEGER element (universal 2, primitive, 1..8 octets: X.690 8.3.1).
static int s_integer(const s_elem_t *e, long *value)
{
    if (e->p[0] != S_INTEGER)
        return -EBADMSG;
    return csta_ber_integer(e->content, e->content_len, value);
}

//  Check that p[0..len) is a run of TLVs that fit (elements the keys do not need).
static int s_fits(const uint8_t *p, size_t len)
{
    while (len) {
        s_elem_t e;
        if (s_elem(p, len, &e) != 0)
            return -EBADMSG;
        p += e.total;
        len -= e.total;
    }
    return 0;
}

//  --- Devices and connections -----------------------------------------------------------------

//  Remember a device unless it is already there; count what does not fit.
static void s_add_device(csta_peek_t *pk, const csta_peek_device_t *dev)
{
    for (size_t i = 0; i < pk->device_count; i++) {
        const csta_peek_device_t *d = &pk->device[i];
        if (d->kind != dev->kind)
            continue;
        if (dev->kind == CSTA_DEV_NUMBER ? d->number == dev->number
                                         : strcmp(d->digits, dev->digits) == 0)
            return;
    }
    if (pk->device_count == CSTA_PEEK_DEVICES_MAX) {
        pk->devices_dropped++;
        return;
    }
    pk->device[pk->device_count++] = *dev;
}

//  DeviceID ::= SEQUENCE { deviceIdentifier CHOICE { dialingNumber [0] IMPLICIT IA5String,
//  deviceNumber [1] IMPLICIT INTEGER, ... }, ... }: take the first element if it has one of
//  those two forms.  Returns true when the SEQUENCE was taken as a DeviceID.
static bool s_device(csta_peek_t *pk, const uint8_t *p, size_t len)
{
    s_elem_t e;
    if (len == 0 || s_elem(p, len, &e) != 0)
        return false;
    csta_peek_device_t dev;
    if (e.p[0] == S_CTX_PRIM_0) {
        //  IA5String digits; a printable-only rule also tells a dialingNumber from the
        //  [0] BIT STRING of an untagged MonitorFilter (first octet 0..7).
        if (e.content_len == 0 || e.content_len > CSTA_DIGITS_MAX)
            return false;
        for (size_t i = 0; i < e.content_len; i++)
            if (e.content[i] < 0x20 || e.content[i] > 0x7E)
                return false;
        dev.kind = CSTA_DEV_DIALING;
        dev.number = 0;
        memcpy(dev.digits, e.content, e.content_len);
        dev.digits[e.content_len] = '\0';
    } else if (e.p[0] == S_CTX_PRIM_1) {
        if (csta_ber_integer(e.content, e.content_len, &dev.number) != 0)
            return false;
        dev.kind = CSTA_DEV_NUMBER;
        dev.digits[0] = '\0';
    } else {
        return false;
    }
    s_add_device(pk, &dev);
    return true;
}

//  The callID [0] IMPLICIT OCTET STRING of a ConnectionID: kept if it is the first.
static void s_call_id(csta_peek_t *pk, const s_elem_t *e, bool *seen)
{
    *seen = true;
    if (pk->call_id_len || e->content_len == 0 || e->content_len > CSTA_CALL_ID_MAX)
        return;
    memcpy(pk->call_id, e->content, e->content_len);
    pk->call_id_len = (uint8_t) e->content_len;
}

//  LocalDeviceID ::= CHOICE { staticID DeviceID, dynamicID [3] IMPLICIT OCTET STRING },
//  here inside the explicit [1] of a ConnectionID.
static int s_local_device(csta_peek_t *pk, const s_elem_t *wrap)
{
    s_elem_t e;
    if (wrap->content_len == 0)
        return 0;
    if (s_elem(wrap->content, wrap->content_len, &e) != 0)
        return -EBADMSG;
    if (e.p[0] == S_SEQUENCE)
        s_device(pk, e.content, e.content_len);
    return 0;
}

//  Is the SEQUENCE contents p[0..len) the `both` form of a ConnectionID, { [0] callID,
//  [1] LocalDeviceID }?  A DeviceID can also start with [0] and go on with [1], but its
//  [1] privateName holds an IA5String, while LocalDeviceID is a SEQUENCE or [3].
static bool s_is_conn_both(const uint8_t *p, size_t len)
{
    s_elem_t first, second, inner;
    if (s_elem(p, len, &first) != 0 || first.p[0] != S_CTX_PRIM_0)
        return false;
    if (s_elem(p + first.total, len - first.total, &second) != 0 || second.p[0] != S_CTX_CONS_1)
        return false;
    if (s_elem(second.content, second.content_len, &inner) != 0)
        return false;
    return inner.p[0] == S_SEQUENCE || inner.p[0] == S_DYNAMIC_ID;
}

//  The `both` SEQUENCE contents: callID then deviceID.
static int s_conn_both(csta_peek_t *pk, const uint8_t *p, size_t len)
{
    bool seen = false;
    while (len) {
        s_elem_t e;
        if (s_elem(p, len, &e) != 0)
            return -EBADMSG;
        if (e.p[0] == S_CTX_PRIM_0 && !seen)
            s_call_id(pk, &e, &seen);
        else if (e.p[0] == S_CTX_CONS_1 && s_local_device(pk, &e) != 0)
            return -EBADMSG;
        p += e.total;
        len -= e.total;
    }
    return 0;
}

//  ConnectionID ::= [APPLICATION 11] CHOICE { callID [0] IMPLICIT, deviceID [1],
//  both SEQUENCE { ... } } (csta-facts.md 2.2): the contents of the 6B element.
static int s_connection_id(csta_peek_t *pk, const s_elem_t *conn)
{
    s_elem_t e;
    if (conn->content_len == 0)
        return 0;   //  names nothing to route by; whether it is valid is the decoder's call
    if (s_elem(conn->content, conn->content_len, &e) != 0)
        return -EBADMSG;
    bool seen = false;
    if (e.p[0] == S_CTX_PRIM_0)
        s_call_id(pk, &e, &seen);
    else if (e.p[0] == S_CTX_CONS_1)
        return s_local_device(pk, &e);
    else if (e.p[0] == S_SEQUENCE)
        return s_conn_both(pk, e.content, e.content_len);
    return 0;
}

//  Walk the TLVs in p[0..len) (the contents of a constructed element) for devices and
//  connections.  Each TLV must fit in its parent; nesting deeper than CSTA_PEEK_DEPTH_MAX
//  is checked for fit but not entered.
static int s_walk(csta_peek_t *pk, const uint8_t *p, size_t len, int depth)
{
    while (len) {
        s_elem_t e;
        if (s_elem(p, len, &e) != 0)
            return -EBADMSG;
        p += e.total;
        len -= e.total;
        if (!e.tlv.constructed || e.p[0] == S_EXTENSIONS || depth >= CSTA_PEEK_DEPTH_MAX)
            continue;
        int rc = 0;
        if (e.p[0] == S_CONNECTION_ID) {
            rc = s_connection_id(pk, &e);
        } else if (e.p[0] == S_SEQUENCE && s_is_conn_both(e.content, e.content_len)) {
            rc = s_conn_both(pk, e.content, e.content_len);     //  [n] IMPLICIT ConnectionID
        } else if (e.p[0] == S_SEQUENCE && s_device(pk, e.content, e.content_len)) {
            rc = 0;
        } else {
            rc = s_walk(pk, e.content, e.content_len, depth + 1);
        }
        if (rc)
            return rc;
    }
    return 0;
}

//  --- Envelope ---------------------------------------------------------------------------------

//  The routing xref as the first element of body (a SEQUENCE): record it and its path.
//  path[0..depth) are the offsets of the TLVs around body, outermost first.
//  *rest / *rest_len: what follows the xref in the body.
static int s_xref(csta_peek_t *pk, const uint8_t *apdu, const s_elem_t *body,
                  const size_t *path, int depth, const uint8_t **rest, size_t *rest_len)
{
    s_elem_t x;
    if (body->p[0] != S_SEQUENCE || body->content_len == 0)
        return -EBADMSG;
    if (s_elem(body->content, body->content_len, &x) != 0 || x.p[0] != S_XREF)
        return -EBADMSG;
    if (x.content_len > CSTA_XREF_MAX)
        return -EMSGSIZE;
    pk->has_xref = true;
    pk->xref.len = (uint8_t) x.content_len;
    memcpy(pk->xref.bytes, x.content, x.content_len);
    pk->xref_off = (size_t) (x.p - apdu);
    for (int i = 0; i < depth; i++)
        pk->xref_path[i] = path[i];
    pk->xref_path[depth] = (size_t) (body->p - apdu);
    pk->xref_depth = (uint8_t) (depth + 1);
    *rest = x.p + x.total;
    *rest_len = body->content_len - x.total;
    return 0;
}

//  EventSpecificInfo after the xref: explicit category tag [0]..[7], then the event's
//  [n] IMPLICIT SEQUENCE (csta-facts.md 2.3).  The keys are taken only from that shape;
//  anything else the decoder would skip as an extension gives category/tag -1 (or the
//  category alone), as long as its TLVs fit.
static int s_event(csta_peek_t *pk, const uint8_t *p, size_t len)
{
    s_elem_t cat, ev;
    if (len == 0 || s_elem(p, len, &cat) != 0 || s_fits(p + cat.total, len - cat.total) != 0)
        return -EBADMSG;
    if (cat.tlv.tag_class != 2 || cat.tlv.tag > 7)
        return cat.tlv.constructed ? s_walk(pk, cat.content, cat.content_len, 2) : 0;
    pk->event_category = (int) cat.tlv.tag;
    if (!cat.tlv.constructed || cat.content_len == 0)
        return 0;
    if (s_elem(cat.content, cat.content_len, &ev) != 0)
        return -EBADMSG;
    if (ev.tlv.tag_class == 2 && ev.tlv.tag < 100) {
        pk->event_tag = (int) ev.tlv.tag;
        pk->event = (csta_event_type_t) (pk->event_category * 100 + pk->event_tag);
    }
    return s_walk(pk, cat.content, cat.content_len, 2);
}

//  An invoke or result body: the xref for the operations routed by it, then devices.
//  path/depth: the TLVs around body.
static int s_body(csta_peek_t *pk, const uint8_t *apdu, const s_elem_t *body, const size_t *path,
                  int depth)
{
    bool routed = pk->kind == CSTA_APDU_INVOKE
                      ? pk->opcode == CSTA_OP_EVENT_REPORT || pk->opcode == CSTA_OP_MONITOR_STOP ||
                            pk->opcode == CSTA_OP_CHANGE_MONITOR_FILTER
                      : pk->opcode == CSTA_OP_MONITOR_START;
    if (!routed) {
        if (!body->tlv.constructed)
            return 0;
        //  The body itself may be a DeviceID or ConnectionID (e.g. a bare argument).
        return s_walk(pk, body->p, body->total, 0);
    }
    const uint8_t *rest;
    size_t rest_len;
    int rc = s_xref(pk, apdu, body, path, depth, &rest, &rest_len);
    if (rc)
        return rc;
    if (pk->kind == CSTA_APDU_INVOKE && pk->opcode == CSTA_OP_EVENT_REPORT)
        return s_event(pk, rest, rest_len);
    return s_walk(pk, rest, rest_len, 1);
}

//  ROSE (X.880, csta-facts.md 1.3): Invoke { invokeId, linkedId [0] OPT, opcode, argument
//  OPT }, ReturnResult { invokeId, SEQUENCE { opcode, result } OPT }, ReturnError
//  { invokeId, errcode, parameter OPT }, Reject { invokeId | NULL, problem }.
static int s_rose(csta_peek_t *pk, const uint8_t *apdu, const s_elem_t *outer)
{
    const uint8_t *p = outer->content;
    size_t len = outer->content_len;
    s_elem_t e;
    if (len == 0 || s_elem(p, len, &e) != 0)
        return -EBADMSG;
    if (pk->kind == CSTA_APDU_REJECT && e.p[0] == S_NULL) {
        pk->has_invoke_id = false;
    } else {
        if (s_integer(&e, &pk->invoke_id) != 0)
            return -EBADMSG;
        pk->has_invoke_id = true;
        pk->invoke_id_off = (size_t) (e.p - apdu);
    }
    p += e.total;
    len -= e.total;
    size_t path[2] = {0, 0};

    switch (pk->kind) {
    case CSTA_APDU_INVOKE: {
        if (len && s_elem(p, len, &e) == 0 && e.p[0] == S_CTX_PRIM_0) {
            p += e.total;   //  linkedId: CSTA never sends it, but it is legal
            len -= e.total;
        }
        long opcode;
        if (len == 0 || s_elem(p, len, &e) != 0 || s_integer(&e, &opcode) != 0 ||
            opcode < INT_MIN || opcode > INT_MAX)
            return -EBADMSG;
        pk->has_opcode = true;
        pk->opcode = (int) opcode;
        p += e.total;
        len -= e.total;
        if (len == 0)
            return pk->opcode == CSTA_OP_EVENT_REPORT ? -EBADMSG : 0;
        if (s_elem(p, len, &e) != 0 || s_fits(p + e.total, len - e.total) != 0)
            return -EBADMSG;
        return s_body(pk, apdu, &e, path, 1);
    }
    case CSTA_APDU_RESULT: {
        if (len == 0)
            return 0;
        s_elem_t seq, op;
        if (s_elem(p, len, &seq) != 0 || seq.p[0] != S_SEQUENCE)
            return -EBADMSG;
        long opcode;
        if (s_elem(seq.content, seq.content_len, &op) != 0 || s_integer(&op, &opcode) != 0 ||
            opcode < INT_MIN || opcode > INT_MAX)
            return -EBADMSG;
        pk->has_opcode = true;
        pk->opcode = (int) opcode;
        if (seq.content_len == op.total)
            return -EBADMSG;    //  result is mandatory inside the SEQUENCE
        if (s_elem(seq.content + op.total, seq.content_len - op.total, &e) != 0 ||
            s_fits(e.p + e.total, seq.content_len - op.total - e.total) != 0 ||
            s_fits(p + seq.total, len - seq.total) != 0)
            return -EBADMSG;
        path[1] = (size_t) (seq.p - apdu);
        return s_body(pk, apdu, &e, path, 2);
    }
    case CSTA_APDU_ERROR:
    case CSTA_APDU_REJECT:
        //  errcode / problem: the rest is only checked to be TLVs that fit.
        return s_fits(p, len);
    default:
        return -EBADMSG;
    }
}

int csta_peek(csta_peek_t *pk, const uint8_t *apdu, size_t len)
{
    pk->kind = CSTA_APDU_NONE;
    pk->len = len;
    pk->has_invoke_id = false;
    pk->invoke_id = 0;
    pk->invoke_id_off = 0;
    pk->has_opcode = false;
    pk->opcode = -1;
    pk->has_xref = false;
    pk->xref.len = 0;
    pk->xref_off = 0;
    pk->event_category = -1;
    pk->event_tag = -1;
    pk->event = CSTA_EV_NONE;
    pk->device_count = 0;
    pk->devices_dropped = 0;
    pk->call_id_len = 0;
    pk->xref_depth = 0;

    s_elem_t outer;
    if (len < 2 || s_elem(apdu, len, &outer) != 0 || outer.total != len || !outer.tlv.constructed)
        return -EBADMSG;
    //  ACSE: [APPLICATION 0..4] (60..64); ROSE: [1]..[4] (A1..A4).
    switch (apdu[0]) {
    case 0x60: pk->kind = CSTA_APDU_AARQ; return 0;
    case 0x61: pk->kind = CSTA_APDU_AARE; return 0;
    case 0x62: pk->kind = CSTA_APDU_RLRQ; return 0;
    case 0x63: pk->kind = CSTA_APDU_RLRE; return 0;
    case 0x64: pk->kind = CSTA_APDU_ABRT; return 0;
    case 0xA1: pk->kind = CSTA_APDU_INVOKE; break;
    case 0xA2: pk->kind = CSTA_APDU_RESULT; break;
    case 0xA3: pk->kind = CSTA_APDU_ERROR; break;
    case 0xA4: pk->kind = CSTA_APDU_REJECT; break;
    default: return -EBADMSG;
    }
    int rc = s_rose(pk, apdu, &outer);
    if (rc) {
        pk->has_xref = false;
        pk->xref_depth = 0;
    }
    return rc;
}

//  --- Rewrite ----------------------------------------------------------------------------------

//  Identifier octets of a TLV whose header csta_ber_header accepted (X.690 8.1.2).
static size_t s_tag_len(const uint8_t *p)
{
    size_t n = 1;
    if ((p[0] & 0x1F) == 0x1F)
        while (p[n++] & 0x80)
            ;
    return n;
}

//  One piece of the output: the input bytes [off, off + old_len) are replaced by
//  bytes[0..new_len).
typedef struct {
    size_t off;
    size_t old_len;
    uint8_t bytes[8 + 1 + 1 + CSTA_XREF_MAX];
    size_t new_len;
} s_patch_t;

//  Copy the input up to the patch, then the patch; *in moves past the replaced bytes.
static void s_emit_patch(uint8_t *out, size_t *o, const uint8_t *apdu, size_t *in,
                         const s_patch_t *patch)
{
    memcpy(out + *o, apdu + *in, patch->off - *in);
    *o += patch->off - *in;
    memcpy(out + *o, patch->bytes, patch->new_len);
    *o += patch->new_len;
    *in = patch->off + patch->old_len;
}

//  Build an integer TLV (02 len value).
static void s_patch_integer(s_patch_t *patch, long value)
{
    uint8_t v[sizeof(long)];
    size_t n = csta_ber_put_integer(v, value);
    patch->bytes[0] = S_INTEGER;
    patch->bytes[1] = (uint8_t) n;
    memcpy(patch->bytes + 2, v, n);
    patch->new_len = 2 + n;
}

int csta_peek_rewrite(const csta_peek_t *pk, const uint8_t *apdu, size_t len,
                      const long *invoke_id, const csta_xref_t *xref, uint8_t *out, size_t cap,
                      size_t *out_len)
{
    if (pk->len != len || len < 2)
        return -EINVAL;
    if ((invoke_id && !pk->has_invoke_id) || (xref && (!pk->has_xref || xref->len > CSTA_XREF_MAX)))
        return -EINVAL;
    if (xref && (pk->xref_depth == 0 || pk->xref_depth > CSTA_PEEK_PATH_MAX ||
                 pk->xref_path[0] != 0))
        return -EINVAL;

    //  The chain of constructed TLVs whose lengths change: the APDU alone for an invoke
    //  id, the APDU down to the body for an xref.  Both the invoke id (a child of the
    //  APDU) and the xref (the body's first child) come before any later sibling.
    size_t depth = xref ? pk->xref_depth : 1;
    s_elem_t chain[CSTA_PEEK_PATH_MAX];
    for (size_t i = 0; i < depth; i++) {
        size_t off = xref ? pk->xref_path[i] : 0;
        if (off >= len || s_elem(apdu + off, len - off, &chain[i]) != 0 ||
            !chain[i].tlv.constructed)
            return -EBADMSG;
        if (i > 0 && (chain[i].p < chain[i - 1].content ||
                      chain[i].p + chain[i].total > chain[i - 1].content + chain[i - 1].content_len))
            return -EINVAL;
    }
    if (chain[0].total != len)
        return -EINVAL;

    s_patch_t inv = {0}, xp = {0};
    bool do_inv = invoke_id != NULL, do_x = xref != NULL;
    if (do_inv) {
        s_elem_t e;
        if (pk->invoke_id_off >= len ||
            s_elem(apdu + pk->invoke_id_off, len - pk->invoke_id_off, &e) != 0 ||
            e.p[0] != S_INTEGER || e.p < chain[0].content)
            return -EINVAL;
        if (depth > 1 && e.p + e.total > chain[1].p)
            return -EINVAL;
        inv.off = pk->invoke_id_off;
        inv.old_len = e.total;
        s_patch_integer(&inv, *invoke_id);
    }
    if (do_x) {
        s_elem_t e;
        const s_elem_t *body = &chain[depth - 1];
        if (pk->xref_off >= len || s_elem(apdu + pk->xref_off, len - pk->xref_off, &e) != 0 ||
            e.p != body->content || e.p[0] != S_XREF)
            return -EINVAL;
        xp.off = pk->xref_off;
        xp.old_len = e.total;
        xp.bytes[0] = S_XREF;
        xp.bytes[1] = xref->len;
        memcpy(xp.bytes + 2, xref->bytes, xref->len);
        xp.new_len = 2 + (size_t) xref->len;
    }

    //  New lengths, innermost first: a TLV grows by what its changed child grew, header
    //  included; the APDU also by the invoke id's change.
    size_t new_content[CSTA_PEEK_PATH_MAX];
    size_t new_header[CSTA_PEEK_PATH_MAX];
    //  Signed growth of the innermost changed child; sizes are far below SSIZE_MAX.
    long long grow = do_x ? (long long) xp.new_len - (long long) xp.old_len : 0;
    for (size_t i = depth; i-- > 0;) {
        if (i == 0 && do_inv)
            grow += (long long) inv.new_len - (long long) inv.old_len;
        long long content = (long long) chain[i].content_len + grow;
        if (content < 0)
            return -EINVAL;
        new_content[i] = (size_t) content;
        //  The tag octets stay; the length takes its shortest form (the peer's may not).
        size_t tag_len = s_tag_len(chain[i].p);
        new_header[i] = tag_len + csta_ber_length_size(new_content[i]);
        grow += (long long) new_header[i] - (long long) chain[i].tlv.header_len;
    }
    size_t total = new_header[0] + new_content[0];
    if (total > cap)
        return -ENOSPC;

    //  Emit: each chain header, the invoke id patch (in the APDU, before chain[1]), the
    //  xref patch (first in the body), and the unchanged bytes between them.
    size_t in = 0, o = 0;
    for (size_t i = 0; i < depth; i++) {
        size_t hoff = (size_t) (chain[i].p - apdu);
        if (i == 1 && do_inv)
            s_emit_patch(out, &o, apdu, &in, &inv);
        memcpy(out + o, apdu + in, hoff - in);
        o += hoff - in;
        size_t tag_len = new_header[i] - csta_ber_length_size(new_content[i]);
        memcpy(out + o, chain[i].p, tag_len);
        o += tag_len;
        o += csta_ber_put_length(out + o, new_content[i]);
        in = hoff + chain[i].tlv.header_len;
    }
    if (depth == 1 && do_inv)
        s_emit_patch(out, &o, apdu, &in, &inv);
    if (do_x)
        s_emit_patch(out, &o, apdu, &in, &xp);
    memcpy(out + o, apdu + in, len - in);
    o += len - in;
    *out_len = o;
    return 0;
}
