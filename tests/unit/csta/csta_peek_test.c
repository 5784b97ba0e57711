//  csta_peek: routing keys read from encoded APDUs agree with the full decoder, and
//  rewritten invoke ids and cross-references decode to the same message otherwise.
#include <errno.h>

#include "csta_test_util.h"

//  --- Helpers ------------------------------------------------------------------------------------

#define S_VECTORS_MAX 256

typedef struct {
    char name[64];
    hexbuf_t buf;
} s_vector_t;

//  Load every "name: hex" vector of tests/fixtures/<file>; returns how many.
static size_t s_load_vectors(const char *file, s_vector_t *vec, size_t max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CTIM_FIXTURES, file);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    static char line[16384];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (line[0] == '#' || !colon || n == max)
            continue;
        size_t name_len = (size_t) (colon - line);
        assert_true(name_len < sizeof vec[n].name);
        memcpy(vec[n].name, line, name_len);
        vec[n].name[name_len] = '\0';
        hex_parse(colon + 1, &vec[n].buf);
        n++;
    }
    fclose(f);
    return n;
}

//  The monitor xref a decoded APDU carries where peek must find it, or NULL.
static csta_xref_t *s_decoded_xref(csta_apdu_t *a)
{
    if (a->kind == CSTA_APDU_INVOKE && a->opcode == CSTA_OP_EVENT_REPORT)
        return &a->event.xref;
    if (a->kind == CSTA_APDU_INVOKE && a->opcode == CSTA_OP_MONITOR_STOP)
        return &a->svc.monitor_stop.xref;
    if (a->kind == CSTA_APDU_RESULT && a->has_result && a->opcode == CSTA_OP_MONITOR_START)
        return &a->svc.monitor_start_res.xref;
    return NULL;
}

static void s_assert_dialing(const csta_peek_t *pk, size_t i, const char *digits)
{
    assert_true(i < pk->device_count);
    assert_int_equal(pk->device[i].kind, CSTA_DEV_DIALING);
    assert_string_equal(pk->device[i].digits, digits);
}

//  A Delivered event (csta-facts.md 2.3) built with the codec: call 00 2a alerting at
//  201, from 301, user data of user_len bytes (to move the lengths across 127/128).
static void s_delivered(hexbuf_t *buf, const uint8_t *xref, size_t xref_len, long invoke_id,
                        size_t user_len)
{
    static const uint8_t call_id[] = {0x00, 0x2a};
    static uint8_t user[200];
    memset(user, 'u', sizeof user);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = invoke_id;
    a.opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a.event.xref, xref, xref_len);
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    csta_conn_set(&d->connection, call_id, sizeof call_id, "201");
    csta_device_set(&d->alerting, "201");
    csta_device_set(&d->calling, "301");
    csta_device_set(&d->called, "201");
    d->last_redirection.kind = CSTA_DEV_NOT_KNOWN;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    if (user_len)
        d->user_data = (csta_bytes_t){user, user_len};
    assert_int_equal(csta_apdu_encode(&a, buf->bytes, sizeof buf->bytes, &buf->len), 0);
}

//  --- Keys of the golden vectors --------------------------------------------------------------

//  Every vector peeks, and its kind, invoke id, opcode and xref agree with the decoder.
static void peek_every_golden_vector_agrees_with_decode(void **state)
{
    (void) state;
    static s_vector_t vec[S_VECTORS_MAX];
    size_t n = s_load_vectors("csta-golden.hex", vec, S_VECTORS_MAX);
    assert_true(n >= 18);
    for (size_t i = 0; i < n; i++) {
        csta_peek_t pk;
        csta_apdu_t a;
        int rc = csta_peek(&pk, vec[i].buf.bytes, vec[i].buf.len);
        if (rc)
            fail_msg("%s: csta_peek %d", vec[i].name, rc);
        int drc = csta_apdu_decode(&a, vec[i].buf.bytes, vec[i].buf.len);
        assert_true(drc == 0 || drc == -ENOTSUP);
        assert_int_equal(pk.kind, a.kind);
        assert_int_equal(pk.len, vec[i].buf.len);
        bool rose = a.kind >= CSTA_APDU_INVOKE && a.kind <= CSTA_APDU_REJECT;
        assert_int_equal(pk.has_invoke_id,
                         rose && !(a.kind == CSTA_APDU_REJECT && a.reject.invoke_id_absent));
        if (pk.has_invoke_id) {
            assert_int_equal(pk.invoke_id, a.invoke_id);
            assert_int_equal(vec[i].buf.bytes[pk.invoke_id_off], 0x02);
        }
        bool has_op = a.kind == CSTA_APDU_INVOKE || (a.kind == CSTA_APDU_RESULT && a.has_result);
        assert_int_equal(pk.has_opcode, has_op);
        assert_int_equal(pk.opcode, has_op ? a.opcode : -1);
        const csta_xref_t *x = drc == 0 ? s_decoded_xref(&a) : NULL;
        if (x) {
            assert_true(pk.has_xref);
            assert_true(csta_xref_equal(&pk.xref, x));
            assert_int_equal(vec[i].buf.bytes[pk.xref_off], 0x55);
        }
        csta_apdu_clear(&a);
    }
}

static void peek_acse_gives_kind_only(void **state)
{
    (void) state;
    const char *names[] = {"aarq_panasonic", "aare_panasonic", "rlrq_normal", "rlre_normal",
                           "abrt_hipath", "aarq_hipath_login"};
    const csta_apdu_kind_t kinds[] = {CSTA_APDU_AARQ, CSTA_APDU_AARE, CSTA_APDU_RLRQ,
                                      CSTA_APDU_RLRE, CSTA_APDU_ABRT, CSTA_APDU_AARQ};
    for (size_t i = 0; i < 6; i++) {
        hexbuf_t buf;
        csta_peek_t pk;
        golden(names[i], &buf);
        assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
        assert_int_equal(pk.kind, kinds[i]);
        assert_false(pk.has_invoke_id);
        assert_int_equal(pk.opcode, -1);
        assert_false(pk.has_xref);
        assert_int_equal(pk.device_count, 0);
        assert_int_equal(pk.event, CSTA_EV_NONE);
    }
}

static void peek_monitor_start_names_the_monitored_device(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_peek_t pk;
    golden("monitor_start_invoke", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.kind, CSTA_APDU_INVOKE);
    assert_int_equal(pk.invoke_id, 1);
    assert_int_equal(pk.invoke_id_off, 2);
    assert_int_equal(pk.opcode, CSTA_OP_MONITOR_START);
    assert_false(pk.has_xref);
    assert_int_equal(pk.device_count, 1);
    s_assert_dialing(&pk, 0, "201");
    assert_int_equal(pk.call_id_len, 0);

    golden("monitor_start_device_number", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.invoke_id, 2);
    assert_int_equal(pk.device_count, 1);
    assert_int_equal(pk.device[0].kind, CSTA_DEV_NUMBER);
    assert_int_equal(pk.device[0].number, 0x01110005);
}

static void peek_monitor_start_result_and_stop_carry_xref(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_peek_t pk;
    golden("monitor_start_result", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.kind, CSTA_APDU_RESULT);
    assert_int_equal(pk.opcode, CSTA_OP_MONITOR_START);
    assert_true(pk.has_xref);
    assert_int_equal(pk.xref.len, 2);
    assert_memory_equal(pk.xref.bytes, "\x00\x01", 2);
    assert_int_equal(pk.xref_off, 12);      //  a2 0e 02 01 01 30 09 02 01 47 30 04 [55]
    assert_int_equal(pk.xref_depth, 3);

    golden("monitor_stop_invoke", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.invoke_id, 7);
    assert_int_equal(pk.opcode, CSTA_OP_MONITOR_STOP);
    assert_true(pk.has_xref);
    assert_int_equal(pk.xref_off, 10);      //  a1 0c 02 01 07 02 01 49 30 04 [55]
    assert_int_equal(pk.xref_depth, 2);
    assert_int_equal(pk.device_count, 0);
}

static void peek_make_call_and_clear_connection_name_devices_and_call(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_peek_t pk;
    golden("make_call_invoke", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.opcode, CSTA_OP_MAKE_CALL);
    assert_int_equal(pk.device_count, 2);
    s_assert_dialing(&pk, 0, "201");
    s_assert_dialing(&pk, 1, "0123456789");
    assert_int_equal(pk.call_id_len, 0);

    golden("make_call_result", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.kind, CSTA_APDU_RESULT);
    assert_int_equal(pk.opcode, CSTA_OP_MAKE_CALL);
    assert_int_equal(pk.device_count, 1);
    s_assert_dialing(&pk, 0, "201");
    assert_int_equal(pk.call_id_len, 2);
    assert_memory_equal(pk.call_id, "\x00\x2a", 2);

    golden("clear_connection_invoke", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.invoke_id, 8);
    assert_int_equal(pk.opcode, CSTA_OP_CLEAR_CONNECTION);
    assert_int_equal(pk.device_count, 1);
    s_assert_dialing(&pk, 0, "201");
    assert_int_equal(pk.call_id_len, 2);
}

static void peek_error_reject_and_status_have_no_devices(void **state)
{
    (void) state;
    const char *names[] = {"system_status_invoke", "system_status_result",
                           "universal_failure_invalid_device", "reject_unrecognized_operation",
                           "result_empty"};
    const long ids[] = {1, 1, 3, 9, 5};
    const int ops[] = {CSTA_OP_SYSTEM_STATUS, CSTA_OP_SYSTEM_STATUS, -1, -1, -1};
    for (size_t i = 0; i < 5; i++) {
        hexbuf_t buf;
        csta_peek_t pk;
        golden(names[i], &buf);
        assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
        assert_true(pk.has_invoke_id);
        assert_int_equal(pk.invoke_id, ids[i]);
        assert_int_equal(pk.opcode, ops[i]);
        assert_int_equal(pk.device_count, 0);
        assert_false(pk.has_xref);
    }
    //  Reject with invokeId absent (NULL).
    const uint8_t absent[] = {0xa4, 0x05, 0x05, 0x00, 0x80, 0x01, 0x01};
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, absent, sizeof absent), 0);
    assert_int_equal(pk.kind, CSTA_APDU_REJECT);
    assert_false(pk.has_invoke_id);
}

static void peek_delivered_event_gives_xref_category_tag_devices_call(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_peek_t pk;
    s_delivered(&buf, (const uint8_t *) "\x00\x01", 2, 44, 0);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(pk.kind, CSTA_APDU_INVOKE);
    assert_int_equal(pk.invoke_id, 44);
    assert_int_equal(pk.opcode, CSTA_OP_EVENT_REPORT);
    assert_true(pk.has_xref);
    assert_int_equal(pk.xref.len, 2);
    assert_memory_equal(pk.xref.bytes, "\x00\x01", 2);
    assert_int_equal(pk.event_category, 0);
    assert_int_equal(pk.event_tag, 4);
    assert_int_equal(pk.event, CSTA_EV_DELIVERED);
    //  connection 201 (= alerting, counted once), calling 301; called 201 again;
    //  lastRedirection notKnown names no device.
    assert_int_equal(pk.device_count, 2);
    s_assert_dialing(&pk, 0, "201");
    s_assert_dialing(&pk, 1, "301");
    assert_int_equal(pk.devices_dropped, 0);
    assert_int_equal(pk.call_id_len, 2);
    assert_memory_equal(pk.call_id, "\x00\x2a", 2);
}

static void peek_change_monitor_filter_does_not_take_filter_for_device(void **state)
{
    (void) state;
    //  ChangeMonitorFilter (72) { xref 00 01, MonitorFilter { callControl [0] 18 bits } }:
    //  an untagged SEQUENCE starting with [0] primitive, which is not a DeviceID.
    const uint8_t cmf[] = {0xa1, 0x14, 0x02, 0x01, 0x05, 0x02, 0x01, 0x48, 0x30, 0x0c,
                           0x55, 0x02, 0x00, 0x01, 0x30, 0x06, 0x80, 0x04, 0x06, 0x00,
                           0x00, 0x00};
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, cmf, sizeof cmf), 0);
    assert_int_equal(pk.opcode, CSTA_OP_CHANGE_MONITOR_FILTER);
    assert_true(pk.has_xref);
    assert_int_equal(pk.xref_off, 10);
    assert_int_equal(pk.device_count, 0);
}

//  ConsultationCall (7) { existingCall [0] IMPLICIT ConnectionID, consultedDevice [1] }:
//  the implicitly tagged `both` form is a connection, even with a printable callID "12".
static void peek_implicit_connection_id_is_not_taken_for_device(void **state)
{
    (void) state;
    hexbuf_t b;
    hex_parse("a1 22 02 01 01 02 01 07 30 1a a0 0f 30 0d 80 02 31 32 a1 07 30 05 80 03 32 30 31 "
              "a1 07 30 05 80 03 33 30 31",
              &b);
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, b.bytes, b.len), 0);
    assert_int_equal(pk.opcode, CSTA_OP_CONSULTATION_CALL);
    assert_int_equal(pk.device_count, 2);
    s_assert_dialing(&pk, 0, "201");
    s_assert_dialing(&pk, 1, "301");
    assert_int_equal(pk.call_id_len, 2);
    assert_memory_equal(pk.call_id, "12", 2);
}

static void peek_keeps_at_most_devices_max_and_counts_the_rest(void **state)
{
    (void) state;
    //  MakeCall-like invoke of opcode 999 with 8 distinct DeviceIDs "20n".
    uint8_t buf[128];
    size_t n = 0;
    buf[n++] = 0xa1;
    buf[n++] = 0;
    const uint8_t head[] = {0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0xe7, 0x30, 8 * 7};
    memcpy(buf + n, head, sizeof head);
    n += sizeof head;
    for (int i = 0; i < 8; i++) {
        const uint8_t dev[] = {0x30, 0x05, 0x80, 0x03, '2', '0', (uint8_t) ('0' + i)};
        memcpy(buf + n, dev, sizeof dev);
        n += sizeof dev;
    }
    buf[1] = (uint8_t) (n - 2);
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, buf, n), 0);
    assert_int_equal(pk.opcode, 999);
    assert_int_equal(pk.device_count, CSTA_PEEK_DEVICES_MAX);
    assert_int_equal(pk.devices_dropped, 8 - CSTA_PEEK_DEVICES_MAX);
    s_assert_dialing(&pk, 0, "200");
}

//  --- Rewrite ----------------------------------------------------------------------------------

//  Rewrite in[] with the given id/xref, then check: the copy decodes; re-encoding the
//  original's decoded fields with the same changes gives the same bytes; the peek of the
//  copy sees the new keys.  Returns the copy in *out.
static void s_rewrite_and_check(const hexbuf_t *in, const long *id, const csta_xref_t *xref,
                                hexbuf_t *out)
{
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, in->bytes, in->len), 0);
    assert_int_equal(csta_peek_rewrite(&pk, in->bytes, in->len, id, xref, out->bytes,
                                       sizeof out->bytes, &out->len),
                     0);

    csta_apdu_t want, got;
    assert_int_equal(csta_apdu_decode(&want, in->bytes, in->len), 0);
    assert_int_equal(csta_apdu_decode(&got, out->bytes, out->len), 0);
    if (id)
        want.invoke_id = *id;
    if (xref)
        *s_decoded_xref(&want) = *xref;
    hexbuf_t enc;
    assert_int_equal(csta_apdu_encode(&want, enc.bytes, sizeof enc.bytes, &enc.len), 0);
    assert_bytes_equal(out->bytes, out->len, enc.bytes, enc.len);
    assert_int_equal(got.invoke_id, want.invoke_id);
    assert_int_equal(got.opcode, want.opcode);
    if (xref)
        assert_true(csta_xref_equal(s_decoded_xref(&got), xref));
    csta_apdu_clear(&want);
    csta_apdu_clear(&got);

    csta_peek_t back;
    assert_int_equal(csta_peek(&back, out->bytes, out->len), 0);
    assert_int_equal(back.invoke_id, id ? *id : pk.invoke_id);
    assert_int_equal(back.device_count, pk.device_count);
    assert_int_equal(back.event, pk.event);
    if (xref)
        assert_true(csta_xref_equal(&back.xref, xref));
}

static void rewrite_invoke_id_1_to_300_and_back(void **state)
{
    (void) state;
    const char *names[] = {"monitor_start_invoke", "monitor_start_result", "monitor_stop_invoke",
                           "make_call_invoke", "make_call_result", "system_status_invoke",
                           "system_status_result", "clear_connection_invoke",
                           "universal_failure_invalid_device", "reject_unrecognized_operation",
                           "result_empty"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hexbuf_t orig, up, down;
        golden(names[i], &orig);
        const long to300 = 300, to1 = 1;
        s_rewrite_and_check(&orig, &to300, NULL, &up);
        assert_int_equal(up.len, orig.len + 1);     //  02 02 01 2c
        s_rewrite_and_check(&up, &to1, NULL, &down);
        assert_int_equal(down.len, orig.len);
        //  back to byte-identical when the original id was 1
        csta_peek_t pk;
        assert_int_equal(csta_peek(&pk, orig.bytes, orig.len), 0);
        if (pk.invoke_id == 1)
            assert_bytes_equal(down.bytes, down.len, orig.bytes, orig.len);
    }
}

static void rewrite_xref_2_to_4_to_1(void **state)
{
    (void) state;
    hexbuf_t event;
    s_delivered(&event, (const uint8_t *) "\x00\x01", 2, 1, 0);
    hexbuf_t stop, start_res;
    golden("monitor_stop_invoke", &stop);
    golden("monitor_start_result", &start_res);
    const hexbuf_t *inputs[] = {&event, &stop, &start_res};
    csta_xref_t four, one;
    csta_xref_set(&four, "\xca\xfe\x00\x07", 4);
    csta_xref_set(&one, "\x09", 1);
    for (size_t i = 0; i < 3; i++) {
        hexbuf_t mid, last;
        s_rewrite_and_check(inputs[i], NULL, &four, &mid);
        assert_int_equal(mid.len, inputs[i]->len + 2);
        s_rewrite_and_check(&mid, NULL, &one, &last);
        assert_int_equal(last.len, inputs[i]->len - 1);
    }
}

static void rewrite_invoke_id_and_xref_together(void **state)
{
    (void) state;
    hexbuf_t event, out;
    s_delivered(&event, (const uint8_t *) "\x00\x01", 2, 5, 0);
    csta_xref_t x;
    csta_xref_set(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    const long ids[] = {300, -1, 0, 70000, 1};
    for (size_t i = 0; i < 5; i++)
        s_rewrite_and_check(&event, &ids[i], &x, &out);
}

//  Lengths that cross the short/long form boundary (127/128 and 255/256) in every
//  enclosing TLV as the event grows and shrinks.
static void rewrite_fixes_length_forms_across_boundaries(void **state)
{
    (void) state;
    csta_xref_t big, small;
    csta_xref_set(&big, "0123456789abcdef", 16);
    csta_xref_set(&small, "\x01", 1);
    const long big_id = 1L << 40, small_id = 1;
    for (size_t user = 40; user < 200; user++) {
        hexbuf_t event, out;
        s_delivered(&event, (const uint8_t *) "\x00\x01", 2, 1, user);
        s_rewrite_and_check(&event, &big_id, &big, &out);
        s_rewrite_and_check(&event, &small_id, &small, &out);
        hexbuf_t back;
        s_rewrite_and_check(&out, &big_id, &big, &back);
    }
}

static void rewrite_reports_nospc_and_inval(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_peek_t pk;
    uint8_t out[64];
    size_t n;
    const long id = 300;
    csta_xref_t x;
    csta_xref_set(&x, "\x00\x02", 2);

    golden("monitor_stop_invoke", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(csta_peek_rewrite(&pk, buf.bytes, buf.len, &id, NULL, out, buf.len, &n),
                     -ENOSPC);
    assert_int_equal(csta_peek_rewrite(&pk, buf.bytes, buf.len, &id, NULL, out, buf.len + 1, &n),
                     0);
    assert_int_equal(n, buf.len + 1);
    //  a peek of other bytes
    assert_int_equal(csta_peek_rewrite(&pk, buf.bytes, buf.len - 1, &id, NULL, out, 64, &n),
                     -EINVAL);
    //  no xref in a MakeCall, no invoke id in an AARQ
    golden("make_call_invoke", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(csta_peek_rewrite(&pk, buf.bytes, buf.len, NULL, &x, out, 64, &n), -EINVAL);
    golden("aarq_panasonic", &buf);
    assert_int_equal(csta_peek(&pk, buf.bytes, buf.len), 0);
    assert_int_equal(csta_peek_rewrite(&pk, buf.bytes, buf.len, &id, NULL, out, 64, &n), -EINVAL);
    //  neither: a plain copy
    assert_int_equal(csta_peek_rewrite(&pk, buf.bytes, buf.len, NULL, NULL, out, 64, &n), 0);
    assert_bytes_equal(out, n, buf.bytes, buf.len);
}

//  --- Bad input ----------------------------------------------------------------------------------

static void peek_truncated_or_padded_vectors_return_ebadmsg(void **state)
{
    (void) state;
    static s_vector_t vec[S_VECTORS_MAX];
    size_t n = s_load_vectors("csta-golden.hex", vec, S_VECTORS_MAX);
    for (size_t i = 0; i < n; i++) {
        const hexbuf_t *b = &vec[i].buf;
        csta_peek_t pk;
        for (size_t cut = 0; cut < b->len; cut++) {
            //  A copy of exactly `cut` bytes on the heap, so ASan sees any overread.
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, b->bytes, cut);
            assert_int_equal(csta_peek(&pk, copy, cut), -EBADMSG);
            free(copy);
        }
        hexbuf_t pad = *b;
        pad.bytes[pad.len++] = 0x00;
        assert_int_equal(csta_peek(&pk, pad.bytes, pad.len), -EBADMSG);
    }
}

static void peek_bad_lengths_and_types_return_errors(void **state)
{
    (void) state;
    csta_peek_t pk;
    //  indefinite outer length
    const uint8_t indef[] = {0xa1, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x47, 0x00, 0x00};
    assert_int_equal(csta_peek(&pk, indef, sizeof indef), -EBADMSG);
    //  inner length overruns its parent (MonitorStop xref claims 5)
    const uint8_t overrun[] = {0xa1, 0x0c, 0x02, 0x01, 0x07, 0x02, 0x01, 0x49,
                               0x30, 0x04, 0x55, 0x05, 0x00, 0x01};
    assert_int_equal(csta_peek(&pk, overrun, sizeof overrun), -EBADMSG);
    //  huge length
    const uint8_t huge[] = {0xa1, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01};
    assert_int_equal(csta_peek(&pk, huge, sizeof huge), -EBADMSG);
    //  invokeId not an INTEGER
    const uint8_t bad_id[] = {0xa1, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x47};
    assert_int_equal(csta_peek(&pk, bad_id, sizeof bad_id), -EBADMSG);
    //  event report without a MonitorCrossRefID first
    const uint8_t no_xref[] = {0xa1, 0x0c, 0x02, 0x01, 0x07, 0x02, 0x01, 0x15,
                               0x30, 0x04, 0x04, 0x02, 0x00, 0x01};
    assert_int_equal(csta_peek(&pk, no_xref, sizeof no_xref), -EBADMSG);
    //  event report without an event
    const uint8_t no_event[] = {0xa1, 0x0c, 0x02, 0x01, 0x07, 0x02, 0x01, 0x15,
                                0x30, 0x04, 0x55, 0x02, 0x00, 0x01};
    assert_int_equal(csta_peek(&pk, no_event, sizeof no_event), -EBADMSG);
    //  xref longer than CSTA_XREF_MAX
    uint8_t longx[64] = {0xa1, 0, 0x02, 0x01, 0x07, 0x02, 0x01, 0x49, 0x30, 19, 0x55, 17};
    size_t n = 12 + 17;
    longx[1] = (uint8_t) (n - 2);
    assert_int_equal(csta_peek(&pk, longx, n), -EMSGSIZE);
    //  not an APDU: universal SEQUENCE, primitive outer
    const uint8_t seq[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(csta_peek(&pk, seq, sizeof seq), -EBADMSG);
    const uint8_t prim[] = {0x81, 0x01, 0x01};
    assert_int_equal(csta_peek(&pk, prim, sizeof prim), -EBADMSG);
    assert_int_equal(csta_peek(&pk, prim, 0), -EBADMSG);
}

//  10000 nested SEQUENCEs in an argument: walked without recursion beyond the limit.
static void peek_deep_nesting_is_bounded(void **state)
{
    (void) state;
    enum { DEPTH = 10000 };
    size_t cap = 32 + DEPTH * 6;
    uint8_t *buf = malloc(cap);
    //  Build inside out: innermost 30 00, each level 30 84 <len32> around it.
    size_t inner = 2;
    size_t pos = cap - inner;
    buf[pos] = 0x30;
    buf[pos + 1] = 0x00;
    for (int i = 0; i < DEPTH; i++) {
        size_t len = cap - pos;
        pos -= 6;
        buf[pos] = 0x30;
        buf[pos + 1] = 0x84;
        buf[pos + 2] = (uint8_t) (len >> 24);
        buf[pos + 3] = (uint8_t) (len >> 16);
        buf[pos + 4] = (uint8_t) (len >> 8);
        buf[pos + 5] = (uint8_t) len;
    }
    const uint8_t head[] = {0x02, 0x01, 0x01, 0x02, 0x01, 0x0a};
    pos -= sizeof head;
    memcpy(buf + pos, head, sizeof head);
    size_t len = cap - pos;
    pos -= 6;
    buf[pos] = 0xa1;
    buf[pos + 1] = 0x84;
    buf[pos + 2] = (uint8_t) (len >> 24);
    buf[pos + 3] = (uint8_t) (len >> 16);
    buf[pos + 4] = (uint8_t) (len >> 8);
    buf[pos + 5] = (uint8_t) len;
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, buf + pos, cap - pos), 0);
    assert_int_equal(pk.opcode, CSTA_OP_MAKE_CALL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peek_every_golden_vector_agrees_with_decode),
        cmocka_unit_test(peek_acse_gives_kind_only),
        cmocka_unit_test(peek_monitor_start_names_the_monitored_device),
        cmocka_unit_test(peek_monitor_start_result_and_stop_carry_xref),
        cmocka_unit_test(peek_make_call_and_clear_connection_name_devices_and_call),
        cmocka_unit_test(peek_error_reject_and_status_have_no_devices),
        cmocka_unit_test(peek_delivered_event_gives_xref_category_tag_devices_call),
        cmocka_unit_test(peek_change_monitor_filter_does_not_take_filter_for_device),
        cmocka_unit_test(peek_implicit_connection_id_is_not_taken_for_device),
        cmocka_unit_test(peek_keeps_at_most_devices_max_and_counts_the_rest),
        cmocka_unit_test(rewrite_invoke_id_1_to_300_and_back),
        cmocka_unit_test(rewrite_xref_2_to_4_to_1),
        cmocka_unit_test(rewrite_invoke_id_and_xref_together),
        cmocka_unit_test(rewrite_fixes_length_forms_across_boundaries),
        cmocka_unit_test(rewrite_reports_nospc_and_inval),
        cmocka_unit_test(peek_truncated_or_padded_vectors_return_ebadmsg),
        cmocka_unit_test(peek_bad_lengths_and_types_return_errors),
        cmocka_unit_test(peek_deep_nesting_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
