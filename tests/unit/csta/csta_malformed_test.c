//  csta_apdu_decode on malformed input: every golden vector truncated, with a length that
//  overruns, an indefinite or a huge length in each of its TLVs, unknown tags, wrong
//  primitive types, deep nesting, unknown opcodes and garbage arguments.  Each returns a
//  negative errno, and nothing crashes or hangs (run under ASan/UBSan; alarm() turns a
//  hang into a failure).  Each input is decoded from a heap copy of its exact length, so
//  ASan sees any read past it.
#define _POSIX_C_SOURCE 200809L     //  alarm, opendir under -std=c11
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "csta_ber.h"
#include "csta_test_util.h"

//  --- Helpers ------------------------------------------------------------------------------------

#define S_VECTORS_MAX 512

typedef struct {
    char name[80];
    hexbuf_t buf;
} s_vector_t;

static s_vector_t s_vec[S_VECTORS_MAX];
static size_t s_vec_count;

//  Load every "name: hex" vector of every tests/fixtures/*.hex file (other branches add
//  files and vectors; all of them get the treatment).
static int s_setup(void **state)
{
    (void) state;
    DIR *dir = opendir(CTIM_FIXTURES);
    assert_non_null(dir);
    struct dirent *de;
    static char line[16384];
    while ((de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".hex") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CTIM_FIXTURES, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f) && s_vec_count < S_VECTORS_MAX) {
            char *colon = strchr(line, ':');
            if (line[0] == '#' || !colon)
                continue;
            s_vector_t *v = &s_vec[s_vec_count++];
            snprintf(v->name, sizeof v->name, "%.*s", (int) (colon - line), line);
            hex_parse(colon + 1, &v->buf);
        }
        fclose(f);
    }
    closedir(dir);
    assert_true(s_vec_count >= 18);
    return 0;
}

//  Decode a heap copy of exactly len bytes; returns the decoder's result.
static int s_decode(const uint8_t *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, bytes, len);
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, copy, len);
    csta_apdu_clear(&a);
    free(copy);
    return rc;
}

//  Decoding must fail with a negative errno; name says which input for the log.
static void s_expect_error(const char *name, const uint8_t *bytes, size_t len, int want)
{
    int rc = s_decode(bytes, len);
    if (rc >= 0 || (want && rc != want)) {
        fprintf(stderr, "input %s (%zu bytes):", name, len);
        for (size_t i = 0; i < len && i < 64; i++)
            fprintf(stderr, " %02x", bytes[i]);
        fail_msg("decode returned %d, want %s", rc, want ? "a specific errno" : "< 0");
    }
}

//  An overrun TLV that is not its parent's last child swallows the first octet of its
//  sibling; the rest may parse as valid BER that an extensible type skips (e.g. inside a
//  MonitorFilter).  Such input must be rejected, or decode to a message that re-encodes.
static void s_expect_error_or_clean(const char *name, const uint8_t *bytes, size_t len)
{
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, bytes, len);
    if (rc == 0) {
        uint8_t out[CSTA_TEST_MAX];
        size_t n;
        int erc = csta_apdu_encode(&a, out, sizeof out, &n);
        if (erc != 0 && erc != -EINVAL)     //  EINVAL: e.g. an event type ctim does not model
            fail_msg("%s decoded but re-encoding returned %d", name, erc);
    } else if (rc > 0) {
        fail_msg("%s: decode returned %d", name, rc);
    }
    csta_apdu_clear(&a);
}

//  Identifier octets of the TLV at p (header already parsed).
static size_t s_tag_len(const uint8_t *p)
{
    size_t n = 1;
    if ((p[0] & 0x1F) == 0x1F)
        while (p[n++] & 0x80)
            ;
    return n;
}

enum { S_SAME, S_OVERRUN, S_HUGE, S_INDEFINITE };

//  Re-encode the TLVs of p[0..len) with every length recomputed, except TLV number
//  `target` (pre-order) which gets `mode`: its length one more than its contents
//  (S_OVERRUN), 0x84 ff ff ff f0 (S_HUGE), or the indefinite form with an end-of-contents
//  (S_INDEFINITE, constructed only).  So only the target is malformed.  Returns the length.
static size_t s_emit(const uint8_t *p, size_t len, int target, int mode, int *index, uint8_t *out)
{
    size_t o = 0;
    while (len) {
        csta_tlv_t tlv;
        assert_int_equal(csta_ber_header(p, len, &tlv), 0);
        int me = (*index)++;
        size_t tag_len = s_tag_len(p);
        const uint8_t *content = p + tlv.header_len;
        uint8_t *tmp = malloc(tlv.content_len + 16);
        size_t clen;
        if (tlv.constructed) {
            clen = s_emit(content, tlv.content_len, target, mode, index, tmp);
        } else {
            memcpy(tmp, content, tlv.content_len);
            clen = tlv.content_len;
        }
        memcpy(out + o, p, tag_len);
        o += tag_len;
        int m = me == target ? mode : S_SAME;
        if (m == S_INDEFINITE && tlv.constructed) {
            out[o++] = 0x80;
            memcpy(out + o, tmp, clen);
            o += clen;
            out[o++] = 0x00;
            out[o++] = 0x00;
        } else {
            if (m == S_HUGE) {
                const uint8_t huge[] = {0x84, 0xff, 0xff, 0xff, 0xf0};
                memcpy(out + o, huge, sizeof huge);
                o += sizeof huge;
            } else {
                o += csta_ber_put_length(out + o, m == S_OVERRUN ? clen + 1 : clen);
            }
            memcpy(out + o, tmp, clen);
            o += clen;
        }
        free(tmp);
        p += tlv.header_len + tlv.content_len;
        len -= tlv.header_len + tlv.content_len;
    }
    return o;
}

//  Number of TLVs in the vector (pre-order count), with a check that S_SAME reproduces it.
static int s_tlv_count(const hexbuf_t *b)
{
    uint8_t out[CSTA_TEST_MAX + 16];
    int index = 0;
    size_t n = s_emit(b->bytes, b->len, -1, S_SAME, &index, out);
    assert_bytes_equal(out, n, b->bytes, b->len);
    return index;
}

//  For each vector and each of its TLVs, the vector with that TLV made malformed by mode.
static void s_each_tlv(int mode, bool constructed_only)
{
    size_t cases = 0;
    for (size_t v = 0; v < s_vec_count; v++) {
        const hexbuf_t *b = &s_vec[v].buf;
        int count = s_tlv_count(b);
        for (int t = 0; t < count; t++) {
            uint8_t out[CSTA_TEST_MAX + 16];
            int index = 0;
            size_t n = s_emit(b->bytes, b->len, t, mode, &index, out);
            if (constructed_only && n == b->len)
                continue;   //  a primitive TLV: S_INDEFINITE left it unchanged
            char name[128];
            snprintf(name, sizeof name, "%s tlv %d", s_vec[v].name, t);
            if (mode == S_OVERRUN)
                s_expect_error_or_clean(name, out, n);
            else
                s_expect_error(name, out, n, -EBADMSG);
            cases++;
        }
    }
    if (cases < 50)
        fail_msg("only %zu cases", cases);
}

//  --- Structure ----------------------------------------------------------------------------------

static void every_vector_truncated_at_every_length_is_ebadmsg(void **state)
{
    (void) state;
    for (size_t v = 0; v < s_vec_count; v++) {
        const hexbuf_t *b = &s_vec[v].buf;
        assert_int_equal(s_decode(b->bytes, b->len) <= 0, true);
        for (size_t cut = 0; cut < b->len; cut++) {
            char name[128];
            snprintf(name, sizeof name, "%s cut %zu", s_vec[v].name, cut);
            s_expect_error(name, b->bytes, cut, -EBADMSG);
        }
    }
}

static void every_vector_with_trailing_bytes_is_ebadmsg(void **state)
{
    (void) state;
    const uint8_t tails[][2] = {{0x00, 0x00}, {0x05, 0x00}, {0xa1, 0x00}};
    for (size_t v = 0; v < s_vec_count; v++) {
        for (size_t t = 0; t < 3; t++) {
            hexbuf_t b = s_vec[v].buf;
            memcpy(b.bytes + b.len, tails[t], 2);
            s_expect_error(s_vec[v].name, b.bytes, b.len + 2, -EBADMSG);
            s_expect_error(s_vec[v].name, b.bytes, b.len + 1, -EBADMSG);
        }
    }
}

static void each_tlv_overrunning_its_end_is_rejected_or_decodes_cleanly(void **state)
{
    (void) state;
    s_each_tlv(S_OVERRUN, false);
}

static void each_tlv_with_a_huge_length_is_ebadmsg(void **state)
{
    (void) state;
    s_each_tlv(S_HUGE, false);
}

static void each_constructed_tlv_with_indefinite_length_is_ebadmsg(void **state)
{
    (void) state;
    s_each_tlv(S_INDEFINITE, true);
}

static void reserved_and_oversized_length_forms_are_ebadmsg(void **state)
{
    (void) state;
    //  a1 with 0xff (reserved), 0x85 (5 octets), 0x88 (8 octets), and long-form tag forms
    //  that X.690 8.1.2 forbids (number < 31, leading zero septet).
    const uint8_t reserved[] = {0xa1, 0xff, 0x02, 0x01, 0x01};
    const uint8_t five[] = {0xa1, 0x85, 0x00, 0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01};
    const uint8_t eight[] = {0xa1, 0x88, 0, 0, 0, 0, 0, 0, 0, 3, 0x02, 0x01, 0x01};
    const uint8_t low_tag[] = {0xbf, 0x01, 0x03, 0x02, 0x01, 0x01};
    const uint8_t zero_septet[] = {0xbf, 0x80, 0x21, 0x03, 0x02, 0x01, 0x01};
    const uint8_t acse_low_tag[] = {0x7f, 0x03, 0x00};
    s_expect_error("reserved", reserved, sizeof reserved, -EBADMSG);
    s_expect_error("five", five, sizeof five, -EBADMSG);
    s_expect_error("eight", eight, sizeof eight, -EBADMSG);
    s_expect_error("low_tag", low_tag, sizeof low_tag, -EBADMSG);
    s_expect_error("zero_septet", zero_septet, sizeof zero_septet, -EBADMSG);
    s_expect_error("acse_low_tag", acse_low_tag, sizeof acse_low_tag, -EBADMSG);
}

//  --- Tags and types -----------------------------------------------------------------------------

static void unknown_apdu_tags_are_ebadmsg(void **state)
{
    (void) state;
    //  The MonitorStart invoke's body under other outer tags.
    hexbuf_t b;
    golden("monitor_start_invoke", &b);
    const uint8_t outer[] = {0xa0, 0xa5, 0xaf, 0x30, 0x31, 0x65, 0x6f, 0x7e, 0xe1, 0x21, 0x01};
    for (size_t i = 0; i < sizeof outer; i++) {
        hexbuf_t m = b;
        m.bytes[0] = outer[i];
        char name[32];
        snprintf(name, sizeof name, "outer %02x", outer[i]);
        s_expect_error(name, m.bytes, m.len, 0);
    }
    //  A high tag number outer: [APPLICATION 100] / [100].
    const uint8_t high[] = {0x7f, 0x64, 0x03, 0x80, 0x01, 0x00};
    s_expect_error("app 100", high, sizeof high, 0);
    const uint8_t high_ctx[] = {0xbf, 0x64, 0x03, 0x02, 0x01, 0x01};
    s_expect_error("ctx 100", high_ctx, sizeof high_ctx, 0);
    //  An unknown element where ROSE Invoke (not extensible) has none.
    const uint8_t extra[] = {0xa1, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x49, 0x9f, 0x30, 0x00};
    s_expect_error("invoke extra", extra, sizeof extra, 0);
}

static void wrong_primitive_types_are_errors(void **state)
{
    (void) state;
    struct {
        const char *name;
        const char *hex;
    } cases[] = {
        //  invokeId as OCTET STRING, BOOLEAN, NULL, ENUMERATED; 9-octet INTEGER
        {"id octets", "a1 0f 04 01 01 02 01 47 30 07 30 05 80 03 32 30 31"},
        {"id boolean", "a1 0f 01 01 01 02 01 47 30 07 30 05 80 03 32 30 31"},
        {"id null", "a1 0e 05 00 02 01 47 30 07 30 05 80 03 32 30 31"},
        {"id enum", "a1 0f 0a 01 01 02 01 47 30 07 30 05 80 03 32 30 31"},
        {"id 9 octets", "a1 17 02 09 01 00 00 00 00 00 00 00 00 02 01 47 30 07 30 05 80 03 32 "
                        "30 31"},
        //  opcode as NULL, as OCTET STRING, 9 octets
        {"op null", "a1 0e 02 01 01 05 00 30 07 30 05 80 03 32 30 31"},
        {"op octets", "a1 0f 02 01 01 04 01 47 30 07 30 05 80 03 32 30 31"},
        //  SystemStatus: status as INTEGER / BOOLEAN / empty ENUMERATED / 9-octet ENUMERATED
        {"status integer", "a1 0c 02 01 01 02 02 00 d3 30 03 02 01 02"},
        {"status boolean", "a1 0c 02 01 01 02 02 00 d3 30 03 01 01 02"},
        {"status empty", "a1 0b 02 01 01 02 02 00 d3 30 02 0a 00"},
        {"status 9 octets", "a1 14 02 01 01 02 02 00 d3 30 0b 0a 09 01 00 00 00 00 00 00 00 00"},
        //  MonitorStop: xref as INTEGER, as constructed with a non-string inside
        {"xref integer", "a1 0c 02 01 07 02 01 49 30 04 02 02 00 01"},
        {"xref wrapped", "a1 0e 02 01 07 02 01 49 30 06 75 04 02 02 00 01"},
        //  MonitorStart: dialingNumber as INTEGER-shaped constructed, device as NULL
        {"device null", "a1 0c 02 01 01 02 01 47 30 04 30 02 05 00"},
        {"device constructed", "a1 11 02 01 01 02 01 47 30 09 30 07 a0 05 02 03 32 30 31"},
        //  noData NULL with contents; UniversalFailure value as INTEGER
        {"null with contents", "a2 0c 02 01 01 30 07 02 02 00 d3 05 01 00"},
        {"failure integer", "a3 0b 02 01 03 02 01 01 a0 03 02 01 0c"},
        //  Reject problem as a constructed [1]
        {"reject constructed", "a4 08 02 01 09 a1 03 02 01 01"},
        //  MakeCall result whose ConnectionID is a NULL
        {"conn null", "a2 0c 02 01 03 30 07 02 01 0a 30 02 6b 00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hexbuf_t b;
        hex_parse(cases[i].hex, &b);
        s_expect_error(cases[i].name, b.bytes, b.len, 0);
    }
}

//  --- Nesting --------------------------------------------------------------------------------------

//  prefix, then `depth` nested constructed TLVs of identifier `id` with 4-octet lengths,
//  innermost empty, wrapped in an outer TLV `outer` (also long-form).  Returns a heap
//  buffer and its length.
static uint8_t *s_nested(uint8_t outer, const uint8_t *prefix, size_t prefix_len, uint8_t id,
                         int depth, size_t *len_out)
{
    size_t cap = 16 + prefix_len + (size_t) depth * 6;
    uint8_t *buf = malloc(cap);
    size_t pos = cap - 2;
    buf[pos] = id;
    buf[pos + 1] = 0x00;
    for (int i = 0; i < depth; i++) {
        size_t len = cap - pos;
        pos -= 6;
        buf[pos] = id;
        buf[pos + 1] = 0x84;
        buf[pos + 2] = (uint8_t) (len >> 24);
        buf[pos + 3] = (uint8_t) (len >> 16);
        buf[pos + 4] = (uint8_t) (len >> 8);
        buf[pos + 5] = (uint8_t) len;
    }
    pos -= prefix_len;
    if (prefix_len)
        memcpy(buf + pos, prefix, prefix_len);
    size_t len = cap - pos;
    pos -= 6;
    buf[pos] = outer;
    buf[pos + 1] = 0x84;
    buf[pos + 2] = (uint8_t) (len >> 24);
    buf[pos + 3] = (uint8_t) (len >> 16);
    buf[pos + 4] = (uint8_t) (len >> 8);
    buf[pos + 5] = (uint8_t) len;
    *len_out = cap - pos;
    memmove(buf, buf + pos, *len_out);
    return buf;
}

static void ten_thousand_nested_tags_are_ebadmsg(void **state)
{
    (void) state;
    const uint8_t make_call[] = {0x02, 0x01, 0x01, 0x02, 0x01, 0x0a};
    const uint8_t monitor_start[] = {0x02, 0x01, 0x01, 0x02, 0x01, 0x47};
    const uint8_t aarq[] = {0x80, 0x02, 0x07, 0x80};
    struct {
        uint8_t outer;
        const uint8_t *prefix;
        size_t prefix_len;
        uint8_t id;
    } shapes[] = {
        {0xa1, make_call, sizeof make_call, 0x30},         //  SEQUENCE in the argument
        {0xa1, monitor_start, sizeof monitor_start, 0xa0},  //  [0] in the argument
        {0xa1, NULL, 0, 0xa1},                              //  invoke in invoke
        {0x60, aarq, sizeof aarq, 0xbe},                    //  ACSE user-information
        {0xa3, make_call, 3, 0x30},                         //  error parameter
    };
    const int depths[] = {65, 1000, 10000};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (size_t d = 0; d < 3; d++) {
            size_t len;
            uint8_t *buf = s_nested(shapes[s].outer, shapes[s].prefix, shapes[s].prefix_len,
                                    shapes[s].id, depths[d], &len);
            char name[64];
            snprintf(name, sizeof name, "shape %zu depth %d", s, depths[d]);
            s_expect_error(name, buf, len, -EBADMSG);
            free(buf);
        }
    }
}

//  asn1c reads a primitive-flagged tagged CHOICE as constructed; inside, an indefinite
//  length with a malformed end-of-contents (00 05) used to spin its decoder forever
//  (found by csta_fuzz; csta_codec.c guards the decoders).
static void primitive_choice_tag_hiding_a_bad_end_of_contents_does_not_hang(void **state)
{
    (void) state;
    struct {
        const char *name;
        const char *hex;
    } cases[] = {
        //  the fuzzer's input: callControlEvents [0] primitive (80 4b) around a Delivered
        //  whose SubjectDeviceID is 63 80 ... 00 ff
        {"event category", "a1 59 02 01 0c 02 01 15 30 51 55 02 00 01 80 4b a4 49 6b 0f 70 0d 80 "
                           "02 00 2a a1 07 30 05 80 03 32 30 31 63 80 30 05 80 01 00 00 00 00 ff "
                           "ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff "
                           "ff ff ff ff ff ff 00 00 5c 02 f3 80 a1 07 06 05 2b 0c 00 81 5a be"},
        //  MakeCall result: ConnectionID [APPLICATION 11] primitive (4b) hiding a1 80 .. 00 05
        {"connection id", "a2 17 02 01 03 30 12 02 01 0a 30 0d 4b 0b a1 80 30 05 80 03 32 30 31 "
                          "00 05"},
        //  MakeCall invoke: CallingDeviceID-like explicit wrapper, primitive, on the device
        {"device", "a1 17 02 01 03 02 01 0a 30 0f 41 0d 63 80 30 05 80 03 32 30 31 00 05 00 00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hexbuf_t b;
        hex_parse(cases[i].hex, &b);
        s_expect_error(cases[i].name, b.bytes, b.len, 0);
    }
}

//  Inputs csta_fuzz found that were undefined behaviour (not necessarily invalid): each
//  decodes to something or an errno, and what decodes re-encodes, without a sanitizer
//  report.
static void fuzz_findings_decode_and_reencode_cleanly(void **state)
{
    (void) state;
    const char *cases[] = {
        //  AARQ whose user-information hides an empty constructed BIT STRING (3f 03 00):
        //  asn1c leaves its buf NULL, the mapper memcpy'd from it.
        "60 23 80 02 07 80 a1 07 06 05 2b 03 02 07 80 be 14 28 12 06 07 2b 0c 00 82 1d 81 48 "
        "80 07 a0 05 3f 03 00 07 00",
        //  MonitorStart filter callControl with 132 unused bits (X.690 allows 0..7).
        "a1 15 02 01 01 02 01 47 30 0d 30 05 80 03 32 30 31 a0 04 80 02 84 ff",
        //  MonitorStart filter callControl padded to 8 octets (re-encoded with that padding).
        "a1 1c 02 01 01 02 01 47 30 14 30 05 80 03 32 30 31 a0 0b 80 09 00 00 00 00 00 00 00 00 "
        "01",
        //  An empty MonitorCrossRefID, primitive and constructed.
        "a1 0a 02 01 07 02 01 49 30 02 55 00",
        "a1 0a 02 01 07 02 01 49 30 02 75 00",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hexbuf_t b;
        hex_parse(cases[i], &b);
        csta_apdu_t a;
        int rc = csta_apdu_decode(&a, b.bytes, b.len);
        assert_true(rc <= 0);
        if (rc == 0) {
            uint8_t out[CSTA_TEST_MAX];
            size_t n;
            assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), 0);
        }
        csta_apdu_clear(&a);
    }
}

//  --- Operations -------------------------------------------------------------------------------------

static void unknown_opcode_is_enotsup_with_id_and_opcode(void **state)
{
    (void) state;
    struct {
        const char *hex;
        csta_apdu_kind_t kind;
        long id;
        int opcode;
    } cases[] = {
        {"a1 0c 02 01 05 02 02 03 e7 30 03 0a 01 02", CSTA_APDU_INVOKE, 5, 999},
        {"a1 06 02 01 06 02 01 63", CSTA_APDU_INVOKE, 6, 99},              //  no argument
        {"a1 0a 02 02 01 2c 02 04 00 01 00 00", CSTA_APDU_INVOKE, 300, 65536},
        {"a1 07 02 01 07 02 02 ff 00", CSTA_APDU_INVOKE, 7, -256},
        {"a2 0b 02 01 08 30 06 02 02 03 e7 05 00", CSTA_APDU_RESULT, 8, 999},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hexbuf_t b;
        hex_parse(cases[i].hex, &b);
        csta_apdu_t a;
        assert_int_equal(csta_apdu_decode(&a, b.bytes, b.len), -ENOTSUP);
        assert_int_equal(a.kind, cases[i].kind);
        assert_int_equal(a.invoke_id, cases[i].id);
        assert_int_equal(a.opcode, cases[i].opcode);
        csta_apdu_clear(&a);
    }
}

//  The argument of each operation ctim knows replaced by garbage that is well-formed BER.
static void invoke_with_garbage_argument_is_an_error(void **state)
{
    (void) state;
    const int ops[] = {CSTA_OP_MAKE_CALL, CSTA_OP_CLEAR_CONNECTION, CSTA_OP_MONITOR_START,
                       CSTA_OP_MONITOR_STOP, CSTA_OP_SYSTEM_STATUS, CSTA_OP_EVENT_REPORT};
    const char *garbage[] = {
        "30 00",                            //  empty SEQUENCE
        "04 03 01 02 03",                   //  OCTET STRING instead of SEQUENCE
        "30 03 0a 01 02",                   //  an ENUMERATED first
        "30 05 04 03 01 02 03",
        "30 06 30 04 30 02 30 00",          //  nested empty SEQUENCEs
        "31 05 30 03 80 01 31",             //  SET instead of SEQUENCE
        "05 00",                            //  NULL
        "a0 03 02 01 01",
        "30 04 55 02 00 01",                //  a bare xref (no event, no device)
        "30 08 55 02 00 01 a0 02 a4 00",    //  event of nothing
    };
    size_t cases = 0;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (size_t g = 0; g < sizeof garbage / sizeof garbage[0]; g++) {
            hexbuf_t arg;
            hex_parse(garbage[g], &arg);
            //  MonitorStop takes a bare xref and skips what follows it as an extension
            //  (its SEQUENCE ends in "..."); the event report needs a whole event.
            if (ops[o] == CSTA_OP_MONITOR_STOP && g >= 8)
                continue;
            if (ops[o] == CSTA_OP_SYSTEM_STATUS && g == 2)
                continue;   //  { systemStatus normal } is SystemStatus's real argument
            hexbuf_t b;
            b.len = 0;
            b.bytes[b.len++] = 0xa1;
            b.bytes[b.len++] = 0;
            const uint8_t id[] = {0x02, 0x01, 0x2a};
            memcpy(b.bytes + b.len, id, sizeof id);
            b.len += sizeof id;
            b.bytes[b.len++] = 0x02;
            size_t n = csta_ber_put_integer(b.bytes + b.len + 1, ops[o]);
            b.bytes[b.len] = (uint8_t) n;
            b.len += 1 + n;
            memcpy(b.bytes + b.len, arg.bytes, arg.len);
            b.len += arg.len;
            b.bytes[1] = (uint8_t) (b.len - 2);
            char name[64];
            snprintf(name, sizeof name, "op %d garbage %zu", ops[o], g);
            s_expect_error(name, b.bytes, b.len, 0);
            cases++;
        }
    }
    assert_true(cases >= 50);
}

//  Random byte strings and random flips of the vectors: any errno, no crash, no hang.
static void random_bytes_never_crash(void **state)
{
    (void) state;
    uint64_t x = 0x2545F4914F6CDD1Dull;
    uint8_t buf[CSTA_TEST_MAX];     //  fixture vectors (events) exceed 256 bytes
    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        if (i % 2 == 0) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            len = 2 + x % 254;              //  random strings stay short
            for (size_t k = 0; k < len; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[k] = (uint8_t) x;
            }
            buf[0] = (uint8_t) (0xa1 + (x >> 20) % 4);    //  a ROSE APDU mostly
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const hexbuf_t *v = &s_vec[x % s_vec_count].buf;
            len = v->len;
            memcpy(buf, v->bytes, len);
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % len] ^= (uint8_t) (1u << ((x >> 8) % 8));
        }
        int rc = s_decode(buf, len);
        assert_true(rc <= 0);
    }
}

int main(void)
{
    alarm(600);     //  a hang is a failure, not a stuck CI job
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_vector_truncated_at_every_length_is_ebadmsg),
        cmocka_unit_test(every_vector_with_trailing_bytes_is_ebadmsg),
        cmocka_unit_test(each_tlv_overrunning_its_end_is_rejected_or_decodes_cleanly),
        cmocka_unit_test(each_tlv_with_a_huge_length_is_ebadmsg),
        cmocka_unit_test(each_constructed_tlv_with_indefinite_length_is_ebadmsg),
        cmocka_unit_test(reserved_and_oversized_length_forms_are_ebadmsg),
        cmocka_unit_test(unknown_apdu_tags_are_ebadmsg),
        cmocka_unit_test(wrong_primitive_types_are_errors),
        cmocka_unit_test(ten_thousand_nested_tags_are_ebadmsg),
        cmocka_unit_test(primitive_choice_tag_hiding_a_bad_end_of_contents_does_not_hang),
        cmocka_unit_test(fuzz_findings_decode_and_reencode_cleanly),
        cmocka_unit_test(unknown_opcode_is_enotsup_with_id_and_opcode),
        cmocka_unit_test(invoke_with_garbage_argument_is_an_error),
        cmocka_unit_test(random_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
