//  csta_fuzz: libFuzzer target over everything ctim does with bytes from a PBX or an
//  application: framing, csta_apdu_decode, re-encode, csta_peek and csta_peek_rewrite.
//
//  Input: byte 0 picks the path (% 4: 0 len16, 1 raw, 2 hipath, 3 no framing: the rest is
//  one APDU) and, for the framed paths, the feed chunk size ((byte0 / 4) % 5: all at once,
//  1, 2, 7, 64 bytes); the rest is the stream.  Besides ASan/UBSan reports, a finding is
//  an abort() on a broken invariant:
//    - decode -> encode -> decode -> encode gives the same bytes twice
//    - our DER encoding of what decodes peeks, with the same kind, invoke id, opcode and
//      xref; any input that decodes and peeks agrees on them
//    - a peeked APDU rewrites with a new invoke id and xref, and the copy peeks to the
//      new values and the same other keys (and decodes if the original did)
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_BUF_MAX (CSTA_FRAME_MAX_DEFAULT + 64)

//  The APDU being checked, printed with a broken invariant.
static const uint8_t *s_current;
static size_t s_current_len;

static void s_require(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "csta_fuzz: invariant broken: %s\napdu:", what);
    for (size_t i = 0; i < s_current_len; i++)
        fprintf(stderr, " %02x", s_current[i]);
    fprintf(stderr, "\n");
    abort();
}

//  The monitor xref a decoded APDU carries where csta_peek looks for it, or NULL.
static const csta_xref_t *s_decoded_xref(const csta_apdu_t *a)
{
    if (a->kind == CSTA_APDU_INVOKE && a->opcode == CSTA_OP_EVENT_REPORT)
        return &a->event.xref;
    if (a->kind == CSTA_APDU_INVOKE && a->opcode == CSTA_OP_MONITOR_STOP)
        return &a->svc.monitor_stop.xref;
    if (a->kind == CSTA_APDU_RESULT && a->has_result && a->opcode == CSTA_OP_MONITOR_START)
        return &a->svc.monitor_start_res.xref;
    return NULL;
}

//  Peek, then rewrite invoke id and xref and peek the copy.  decoded: the APDU decoded
//  (rc 0), so the copy must decode too.
static void s_peek_and_rewrite(const uint8_t *apdu, size_t len, bool decoded)
{
    csta_peek_t pk;
    if (csta_peek(&pk, apdu, len) != 0)
        return;
    static uint8_t out[S_BUF_MAX];
    const long id = 300;
    csta_xref_t x = {.len = 4, .bytes = {0xca, 0xfe, 0x00, 0x07}};
    size_t n = 0;
    int rc = csta_peek_rewrite(&pk, apdu, len, pk.has_invoke_id ? &id : NULL,
                               pk.has_xref ? &x : NULL, out, sizeof out, &n);
    s_require(rc == 0, "rewrite of a peeked APDU");
    csta_peek_t back;
    s_require(csta_peek(&back, out, n) == 0, "peek of a rewritten APDU");
    s_require(back.kind == pk.kind && back.has_opcode == pk.has_opcode &&
                  back.opcode == pk.opcode && back.event == pk.event &&
                  back.device_count == pk.device_count && back.call_id_len == pk.call_id_len &&
                  back.has_invoke_id == pk.has_invoke_id && back.has_xref == pk.has_xref,
              "rewrite keeps the other keys");
    if (pk.has_invoke_id)
        s_require(back.invoke_id == id, "rewritten invoke id");
    if (pk.has_xref)
        s_require(csta_xref_equal(&back.xref, &x), "rewritten xref");
    if (decoded) {
        csta_apdu_t a;
        rc = csta_apdu_decode(&a, out, n);
        s_require(rc == 0, "a rewritten decodable APDU decodes");
        csta_apdu_clear(&a);
    }
}

//  Peek apdu and compare its keys with the decoded a.  must: the peek has to succeed
//  (a DER encoding of a decodable APDU); otherwise it may refuse BER that the decoder
//  takes (constructed strings, long length forms ...) but must not disagree.
static void s_peek_agrees(const uint8_t *apdu, size_t len, const csta_apdu_t *a, int decode_rc,
                          bool must)
{
    csta_peek_t pk;
    int prc = csta_peek(&pk, apdu, len);
    if (must)
        s_require(prc == 0, "a DER APDU that decodes peeks");
    s_require(prc == 0 || prc == -EBADMSG || prc == -EMSGSIZE, "peek errno");
    if (prc != 0)
        return;
    s_require(pk.kind == a->kind, "peek kind");
    if (pk.has_invoke_id)
        s_require(pk.invoke_id == a->invoke_id, "peek invoke id");
    if (a->kind == CSTA_APDU_INVOKE || (a->kind == CSTA_APDU_RESULT && a->has_result))
        s_require(pk.has_opcode && pk.opcode == a->opcode, "peek opcode");
    const csta_xref_t *x = decode_rc == 0 ? s_decoded_xref(a) : NULL;
    if (x)
        s_require(pk.has_xref && csta_xref_equal(&pk.xref, x), "peek xref");
}

//  Decode one APDU; check the re-encode round trip and the peek against the decode.
static void s_apdu(const uint8_t *apdu, size_t len)
{
    s_current = apdu;
    s_current_len = len;
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    s_require(rc <= 0, "decode returns 0 or a negative errno");
    //  -ENOTSUP: the envelope decoded; the unknown operation's argument was not looked at.
    if (rc == 0 || rc == -ENOTSUP)
        s_peek_agrees(apdu, len, &a, rc, false);
    s_peek_and_rewrite(apdu, len, rc == 0);
    if (rc != 0) {
        csta_apdu_clear(&a);
        return;
    }

    static uint8_t enc1[S_BUF_MAX], enc2[S_BUF_MAX];
    size_t n1 = 0, n2 = 0;
    rc = csta_apdu_encode(&a, enc1, sizeof enc1, &n1);
    //  -EINVAL is allowed: a decoded event ctim does not model cannot be built again.
    if (rc == 0) {
        bool der = n1 == len && memcmp(enc1, apdu, len) == 0;
        s_peek_agrees(apdu, len, &a, 0, der);
        s_peek_agrees(enc1, n1, &a, 0, true);
    }
    csta_apdu_clear(&a);
    if (rc != 0)
        return;
    s_current = enc1;
    s_current_len = n1;
    csta_apdu_t b;
    rc = csta_apdu_decode(&b, enc1, n1);
    s_require(rc == 0, "our own encoding decodes");
    rc = csta_apdu_encode(&b, enc2, sizeof enc2, &n2);
    csta_apdu_clear(&b);
    s_require(rc == 0 && n1 == n2 && memcmp(enc1, enc2, n1) == 0, "re-encode is stable");
    s_peek_and_rewrite(enc1, n1, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned path = data[0] % 4;
    static const size_t chunks[] = {0, 1, 2, 7, 64};
    size_t chunk = chunks[(data[0] / 4) % 5];
    data++;
    size--;
    if (path == 3) {
        s_apdu(data, size);
        return 0;
    }
    const csta_framing_t framings[] = {CSTA_FRAMING_LEN16, CSTA_FRAMING_RAW,
                                       CSTA_FRAMING_HIPATH};
    csta_framer_t *fr = csta_framer_new(framings[path], 0);
    if (!fr)
        return 0;
    size_t pos = 0;
    bool broken = false;
    while (pos < size && !broken) {
        size_t n = chunk == 0 || size - pos < chunk ? size - pos : chunk;
        if (csta_framer_feed(fr, data + pos, n) != 0)
            break;
        pos += n;
        const uint8_t *apdu;
        size_t len;
        int rc;
        while ((rc = csta_framer_next(fr, &apdu, &len)) == 0)
            s_apdu(apdu, len);
        s_require(rc == -EAGAIN || rc == -EBADMSG || rc == -EMSGSIZE, "framer errno");
        broken = rc != -EAGAIN;
    }
    csta_framer_destroy(&fr);
    return 0;
}
