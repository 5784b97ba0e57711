//  pbxsim integration: the Panasonic way to read the device list — Escape with KME
//  GetSystemData (csta-facts.md 5): the real request bytes get a result carrying
//  getSystemDataPosAck, then Escape invokes with systemDataLinkedReply segments until
//  lastSegment, every device with its Panasonic deviceNumber and number.
#include "pbxsim_test_util.h"

static int setup(void **state)
{
    const char *args[] = {"--segment-size", "30", NULL};
    *state = fixture_start(args);
    return 0;
}

//  A minimal TLV reader for the test's own check of pbxsim's hand-made KME bytes.
typedef struct {
    const uint8_t *p;
    size_t len;
} s_span_t;

static bool s_tlv(s_span_t *in, unsigned tag_first, unsigned tag_second, s_span_t *content)
{
    //  Set on every path: the callers' fail_msg is not noreturn to gcc -O3, which otherwise
    //  sees the spans used uninitialised (-Werror in a Release build).
    *content = (s_span_t){NULL, 0};
    if (in->len < 2 || in->p[0] != tag_first)
        return false;
    size_t i = 1;
    if (tag_second) {
        if (in->p[1] != tag_second)
            return false;
        i = 2;
    }
    size_t len = in->p[i++];
    if (len & 0x80) {
        size_t octets = len & 0x7f;
        len = 0;
        while (octets--)
            len = len << 8 | in->p[i++];
    }
    assert_true(i + len <= in->len);
    content->p = in->p + i;
    content->len = len;
    in->p += i + len;
    in->len -= i + len;
    return true;
}

//  Read the devices of one systemDataLinkedReply; returns the count, sets *last.
static int s_read_segment(const csta_bytes_t *priv, const uint8_t xref[2], long want_segment,
                          bool *last, long *numbers)
{
    s_span_t all = {priv->data, priv->len}, kme, reply, seq, field, v;
    assert_true(s_tlv(&all, 0xa4, 0, &kme));            //  kmeSystemData [4]
    assert_true(s_tlv(&kme, 0xa3, 0, &reply));          //  systemDataLinkedReply [3]
    assert_true(s_tlv(&reply, 0x30, 0, &seq));
    assert_true(s_tlv(&seq, 0xa0, 0, &field));          //  crossRefID [0]
    assert_true(s_tlv(&field, 0x04, 0, &v));
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.p, xref, 2);
    assert_true(s_tlv(&seq, 0xa1, 0, &field));          //  segmentID [1]
    assert_true(s_tlv(&field, 0x02, 0, &v));
    assert_int_equal(v.p[v.len - 1], want_segment);
    assert_true(s_tlv(&seq, 0xa2, 0, &field));          //  lastSegment [2]
    assert_true(s_tlv(&field, 0x01, 0, &v));
    *last = v.p[0] != 0;
    s_span_t sys, inner, list, entries, entry, dev, num;
    assert_true(s_tlv(&seq, 0xa3, 0, &sys));            //  sysData [3]
    assert_true(s_tlv(&sys, 0x30, 0, &inner));
    assert_true(s_tlv(&inner, 0xbf, 0x26, &list));      //  deviceList [38]
    assert_true(s_tlv(&list, 0x30, 0, &entries));
    int n = 0;
    while (entries.len) {
        assert_true(s_tlv(&entries, 0x30, 0, &entry));
        assert_true(s_tlv(&entry, 0x30, 0, &dev));      //  device DeviceID
        assert_true(s_tlv(&dev, 0x81, 0, &v));          //  deviceNumber [1]
        long device_number = 0;
        for (size_t i = 0; i < v.len; i++)
            device_number = device_number << 8 | v.p[i];
        assert_true(s_tlv(&entry, 0x16, 0, &num));      //  number IA5String
        char digits[16] = "";
        memcpy(digits, num.p, num.len < 15 ? num.len : 15);
        assert_true(s_tlv(&entry, 0x0a, 0, &v));        //  status usable (0)
        assert_int_equal(v.p[0], 0);
        numbers[n++] = atol(digits);
        assert_int_equal(device_number >> 16, numbers[n - 1] >= 801 ? 0x0131 : 0x0111);
    }
    return n;
}

static void escape_get_system_data_lists_every_extension_in_segments(void **state)
{
    fixture_t *f = *state;
    //  The request byte for byte as the Perl and LinTcMon clients send it (invoke 0x0602).
    const uint8_t request[] = {0xa1, 0x16, 0x02, 0x02, 0x06, 0x02, 0x02, 0x01, 0x33, 0x30, 0x0d,
                               0xa4, 0x0b, 0xa0, 0x09, 0xa4, 0x07, 0xa1, 0x05, 0xa0, 0x03, 0x0a,
                               0x01, 0x05};
    assert_int_equal(csta_client_send_raw(f->app, request, sizeof request), 0);
    csta_apdu_t res;
    assert_int_equal(csta_client_wait_reply(f->app, 0x0602, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    assert_int_equal(res.opcode, CSTA_OP_ESCAPE);
    assert_true(res.ext.present);
    assert_int_equal(res.ext.private_count, 1);
    //  kmeSystemData [4] { getSystemDataPosAck [4] { OCTET STRING crossRefID } }
    const csta_bytes_t *ack = &res.ext.private_data[0];
    assert_int_equal(ack->len, 8);
    const uint8_t ack_head[] = {0xa4, 0x06, 0xa4, 0x04, 0x04, 0x02};
    assert_memory_equal(ack->data, ack_head, sizeof ack_head);
    uint8_t xref[2] = {ack->data[6], ack->data[7]};
    csta_apdu_clear(&res);

    long numbers[200];
    int total = 0;
    bool last = false;
    for (long segment = 1; !last; segment++) {
        csta_apdu_t ev;
        assert_int_equal(csta_client_next_event(f->app, &ev, WAIT_MS), 0);
        assert_int_equal(ev.kind, CSTA_APDU_INVOKE);
        assert_int_equal(ev.opcode, CSTA_OP_ESCAPE);
        assert_true(total < 200);
        int n = s_read_segment(&ev.svc.escape.private_data, xref, segment, &last, numbers + total);
        assert_true(n <= 30);
        assert_true(last || n == 30);
        total += n;
        csta_apdu_clear(&ev);
    }
    assert_int_equal(total, 100);       //  extensions 101..200
    for (int i = 0; i < total; i++)
        assert_int_equal(numbers[i], 101 + i);
}

static void escape_for_co_lines_lists_trunks(void **state)
{
    fixture_t *f = *state;
    const uint8_t request[] = {0xa1, 0x15, 0x02, 0x01, 0x07, 0x02, 0x01, 0x33, 0x30, 0x0d,
                               0xa4, 0x0b, 0xa0, 0x09, 0xa4, 0x07, 0xa1, 0x05, 0xa0, 0x03, 0x0a,
                               0x01, 0x02};
    assert_int_equal(csta_client_send_raw(f->app, request, sizeof request), 0);
    csta_apdu_t res;
    assert_int_equal(csta_client_wait_reply(f->app, 7, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    uint8_t xref[2] = {res.ext.private_data[0].data[6], res.ext.private_data[0].data[7]};
    csta_apdu_clear(&res);
    csta_apdu_t ev;
    assert_int_equal(csta_client_next_event(f->app, &ev, WAIT_MS), 0);
    long numbers[8];
    bool last = false;
    assert_int_equal(s_read_segment(&ev.svc.escape.private_data, xref, 1, &last, numbers), 8);
    assert_true(last);
    assert_int_equal(numbers[0], 801);
    assert_int_equal(numbers[7], 808);
    csta_apdu_clear(&ev);
}

static void other_private_services_are_refused(void **state)
{
    fixture_t *f = *state;
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_ESCAPE;
    const uint8_t string_form[] = {0x04, 0x02, 0xca, 0xfe};
    req.svc.escape.private_data = (csta_bytes_t){string_form, sizeof string_form};
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVATE_DATA_NOT_SUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(escape_get_system_data_lists_every_extension_in_segments,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(escape_for_co_lines_lists_trunks, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(other_private_services_are_refused, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
