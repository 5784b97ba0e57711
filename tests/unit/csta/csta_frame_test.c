//  csta_frame: APDUs reassembled from any read sizes in the len16, raw and hipath
//  framings, each framing error reported with its own errno, and the output queue
//  completing partial writes over a socket with a small send buffer.
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csta_test_util.h"

static const csta_framing_t s_framings[] = {CSTA_FRAMING_LEN16, CSTA_FRAMING_RAW,
                                            CSTA_FRAMING_HIPATH};
#define S_FRAMINGS (sizeof s_framings / sizeof s_framings[0])

//  Append the frame (header + APDU) of apdu to buf.
static void s_append_frame(csta_framing_t framing, const uint8_t *apdu, size_t len, uint8_t *buf,
                           size_t cap, size_t *used)
{
    uint8_t hdr[CSTA_FRAME_HEADER_MAX];
    int hlen = csta_frame_header(framing, len, hdr);
    assert_true(hlen >= 0);
    assert_true(*used + (size_t) hlen + len <= cap);
    memcpy(buf + *used, hdr, (size_t) hlen);
    memcpy(buf + *used + hlen, apdu, len);
    *used += (size_t) hlen + len;
}

//  A syntactically framed APDU of exactly len bytes: a1 <len> then filler (the framer
//  only looks at the outer TLV).
static void s_big_apdu(uint8_t *buf, size_t len)
{
    size_t content = len - 4;
    assert_true(content >= 256 && content <= 0xFFFF);
    buf[0] = 0xa1;
    buf[1] = 0x82;
    buf[2] = (uint8_t) (content >> 8);
    buf[3] = (uint8_t) content;
    for (size_t i = 0; i < content; i++)
        buf[4 + i] = (uint8_t) (i * 7);
}

static void s_expect_apdu(csta_framer_t *fr, const uint8_t *want, size_t want_len)
{
    const uint8_t *apdu;
    size_t len;
    assert_int_equal(csta_framer_next(fr, &apdu, &len), 0);
    assert_bytes_equal(apdu, len, want, want_len);
}

//  --- Receiving --------------------------------------------------------------------------------

static void several_apdus_in_one_feed_come_out_in_order(void **state)
{
    (void) state;
    const char *names[] = {"monitor_start_invoke", "system_status_invoke", "aarq_panasonic",
                           "rlrq_normal", "make_call_result"};
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        hexbuf_t v[5];
        static uint8_t stream[8192];
        size_t used = 0;
        for (size_t i = 0; i < 5; i++) {
            golden(names[i], &v[i]);
            s_append_frame(s_framings[f], v[i].bytes, v[i].len, stream, sizeof stream, &used);
        }
        csta_framer_t *fr = csta_framer_new(s_framings[f], 0);
        assert_non_null(fr);
        assert_int_equal(csta_framer_feed(fr, stream, used), 0);
        for (size_t i = 0; i < 5; i++)
            s_expect_apdu(fr, v[i].bytes, v[i].len);
        const uint8_t *apdu;
        size_t len;
        assert_int_equal(csta_framer_next(fr, &apdu, &len), -EAGAIN);
        assert_int_equal(csta_framer_pending(fr), 0);
        csta_framer_destroy(&fr);
        assert_null(fr);
        csta_framer_destroy(&fr);
    }
}

static void apdu_fed_byte_by_byte_completes_on_its_last_byte(void **state)
{
    (void) state;
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        hexbuf_t v;
        golden("make_call_invoke", &v);
        uint8_t stream[256];
        size_t used = 0;
        s_append_frame(s_framings[f], v.bytes, v.len, stream, sizeof stream, &used);
        csta_framer_t *fr = csta_framer_new(s_framings[f], 0);
        const uint8_t *apdu;
        size_t len;
        for (size_t i = 0; i + 1 < used; i++) {
            assert_int_equal(csta_framer_feed(fr, stream + i, 1), 0);
            assert_int_equal(csta_framer_next(fr, &apdu, &len), -EAGAIN);
        }
        assert_int_equal(csta_framer_feed(fr, stream + used - 1, 1), 0);
        s_expect_apdu(fr, v.bytes, v.len);
        csta_framer_destroy(&fr);
    }
}

//  Large APDUs (growing the buffer, moving unread bytes) in chunks of odd sizes.
static void large_apdus_in_odd_chunks_are_reassembled(void **state)
{
    (void) state;
    static uint8_t a[5000], b[300], c[20000];
    s_big_apdu(a, sizeof a);
    s_big_apdu(b, sizeof b);
    s_big_apdu(c, sizeof c);
    const size_t chunks[] = {1, 3, 7, 100, 4095, 4096, 4097, 65536};
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            static uint8_t stream[3 * 26000];
            size_t used = 0;
            for (int rep = 0; rep < 3; rep++) {
                s_append_frame(s_framings[f], a, sizeof a, stream, sizeof stream, &used);
                s_append_frame(s_framings[f], b, sizeof b, stream, sizeof stream, &used);
                s_append_frame(s_framings[f], c, sizeof c, stream, sizeof stream, &used);
            }
            csta_framer_t *fr = csta_framer_new(s_framings[f], 0);
            size_t got = 0, pos = 0;
            const uint8_t *want[] = {a, b, c};
            const size_t want_len[] = {sizeof a, sizeof b, sizeof c};
            while (pos < used) {
                size_t n = used - pos < chunks[k] ? used - pos : chunks[k];
                assert_int_equal(csta_framer_feed(fr, stream + pos, n), 0);
                pos += n;
                const uint8_t *apdu;
                size_t len;
                int rc;
                while ((rc = csta_framer_next(fr, &apdu, &len)) == 0) {
                    assert_bytes_equal(apdu, len, want[got % 3], want_len[got % 3]);
                    got++;
                }
                assert_int_equal(rc, -EAGAIN);
            }
            assert_int_equal(got, 9);
            csta_framer_destroy(&fr);
        }
    }
}

//  Indefinite length: len16 and hipath frames around `a1 80 ... 00 00`, and a raw TLV.
static void indefinite_length_is_ebadmsg(void **state)
{
    (void) state;
    const uint8_t indef[] = {0xa1, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x47, 0x00, 0x00};
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        uint8_t stream[64];
        size_t used = 0;
        s_append_frame(s_framings[f], indef, sizeof indef, stream, sizeof stream, &used);
        csta_framer_t *fr = csta_framer_new(s_framings[f], 0);
        assert_int_equal(csta_framer_feed(fr, stream, used), 0);
        const uint8_t *apdu;
        size_t len;
        assert_int_equal(csta_framer_next(fr, &apdu, &len), -EBADMSG);
        csta_framer_destroy(&fr);
    }
}

//  The frame says one length, the APDU's TLV another (shorter, longer, trailing byte).
static void frame_and_tlv_length_mismatch_is_ebadmsg(void **state)
{
    (void) state;
    const csta_framing_t framed[] = {CSTA_FRAMING_LEN16, CSTA_FRAMING_HIPATH};
    //  TLV says 0x0f bytes of contents; frames carry 16, 18 and 17+1 bytes.
    const uint8_t shorter[] = {0xa1, 0x0f, 0x02, 0x01, 0x01, 0x02, 0x01, 0x47,
                               0x30, 0x07, 0x30, 0x05, 0x80, 0x03, 0x32, 0x30};
    const uint8_t longer[] = {0xa1, 0x0f, 0x02, 0x01, 0x01, 0x02, 0x01, 0x47, 0x30,
                              0x07, 0x30, 0x05, 0x80, 0x03, 0x32, 0x30, 0x31, 0x00};
    const uint8_t *bad[] = {shorter, longer};
    const size_t bad_len[] = {sizeof shorter, sizeof longer};
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < 2; i++) {
            uint8_t stream[64];
            size_t used = 0;
            s_append_frame(framed[f], bad[i], bad_len[i], stream, sizeof stream, &used);
            csta_framer_t *fr = csta_framer_new(framed[f], 0);
            assert_int_equal(csta_framer_feed(fr, stream, used), 0);
            const uint8_t *apdu;
            size_t len;
            assert_int_equal(csta_framer_next(fr, &apdu, &len), -EBADMSG);
            csta_framer_destroy(&fr);
        }
    }
    //  raw has no frame length; a primitive outer TLV is its malformed frame.
    const uint8_t prim[] = {0x02, 0x01, 0x01};
    csta_framer_t *fr = csta_framer_new(CSTA_FRAMING_RAW, 0);
    assert_int_equal(csta_framer_feed(fr, prim, sizeof prim), 0);
    const uint8_t *apdu;
    size_t len;
    assert_int_equal(csta_framer_next(fr, &apdu, &len), -EBADMSG);
    csta_framer_destroy(&fr);
}

//  A frame longer than max_apdu is refused from its header, before its bytes arrive.
static void frame_over_max_is_emsgsize(void **state)
{
    (void) state;
    static uint8_t big[300];
    s_big_apdu(big, sizeof big);
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        uint8_t stream[400];
        size_t used = 0;
        s_append_frame(s_framings[f], big, sizeof big, stream, sizeof stream, &used);
        csta_framer_t *fr = csta_framer_new(s_framings[f], 299);
        assert_int_equal(csta_framer_feed(fr, stream, 8), 0);
        const uint8_t *apdu;
        size_t len;
        assert_int_equal(csta_framer_next(fr, &apdu, &len), -EMSGSIZE);
        csta_framer_destroy(&fr);
        //  exactly max is fine
        fr = csta_framer_new(s_framings[f], 300);
        assert_int_equal(csta_framer_feed(fr, stream, used), 0);
        s_expect_apdu(fr, big, sizeof big);
        csta_framer_destroy(&fr);
    }
}

static void hipath_header_without_0x26_or_high_bit_is_ebadmsg(void **state)
{
    (void) state;
    const uint8_t no26[] = {0x27, 0x80, 0x05, 0x62, 0x03, 0x80, 0x01, 0x00};
    const uint8_t nobit[] = {0x26, 0x00, 0x05, 0x62, 0x03, 0x80, 0x01, 0x00};
    const uint8_t *bad[] = {no26, nobit};
    for (int i = 0; i < 2; i++) {
        csta_framer_t *fr = csta_framer_new(CSTA_FRAMING_HIPATH, 0);
        assert_int_equal(csta_framer_feed(fr, bad[i], sizeof no26), 0);
        const uint8_t *apdu;
        size_t len;
        assert_int_equal(csta_framer_next(fr, &apdu, &len), -EBADMSG);
        csta_framer_destroy(&fr);
    }
}

static void zero_and_one_byte_frames_are_ebadmsg(void **state)
{
    (void) state;
    const uint8_t zero[] = {0x00, 0x00};
    const uint8_t one[] = {0x00, 0x01, 0x30};
    const uint8_t *bad[] = {zero, one};
    const size_t bad_len[] = {sizeof zero, sizeof one};
    for (int i = 0; i < 2; i++) {
        csta_framer_t *fr = csta_framer_new(CSTA_FRAMING_LEN16, 0);
        assert_int_equal(csta_framer_feed(fr, bad[i], bad_len[i]), 0);
        const uint8_t *apdu;
        size_t len;
        assert_int_equal(csta_framer_next(fr, &apdu, &len), -EBADMSG);
        csta_framer_destroy(&fr);
    }
    //  Feeding nothing is allowed and changes nothing.
    csta_framer_t *fr = csta_framer_new(CSTA_FRAMING_RAW, 0);
    assert_int_equal(csta_framer_feed(fr, NULL, 0), 0);
    const uint8_t *apdu;
    size_t len;
    assert_int_equal(csta_framer_next(fr, &apdu, &len), -EAGAIN);
    csta_framer_destroy(&fr);
}

static void framing_names_parse_and_print(void **state)
{
    (void) state;
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        csta_framing_t back;
        assert_int_equal(csta_framing_parse(csta_framing_str(s_framings[f]), &back), 0);
        assert_int_equal(back, s_framings[f]);
    }
    csta_framing_t x;
    assert_int_equal(csta_framing_parse("len32", &x), -EINVAL);
    uint8_t hdr[CSTA_FRAME_HEADER_MAX];
    assert_int_equal(csta_frame_header(CSTA_FRAMING_LEN16, 0x10000, hdr), -EMSGSIZE);
    assert_int_equal(csta_frame_header(CSTA_FRAMING_HIPATH, 0x8000, hdr), -EMSGSIZE);
    assert_int_equal(csta_frame_header(CSTA_FRAMING_HIPATH, 0x7fff, hdr), 3);
    assert_memory_equal(hdr, "\x26\xff\xff", 3);
    assert_int_equal(csta_frame_header(CSTA_FRAMING_LEN16, 0x1234, hdr), 2);
    assert_memory_equal(hdr, "\x12\x34", 2);
    assert_int_equal(csta_frame_header(CSTA_FRAMING_RAW, 100000, hdr), 0);
}

//  --- Sockets ----------------------------------------------------------------------------------

static void s_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

static void framer_read_reports_data_eagain_and_eof(void **state)
{
    (void) state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s_nonblocking(sv[1]);
    csta_framer_t *fr = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    assert_int_equal(csta_framer_read(fr, sv[1]), -EAGAIN);
    hexbuf_t v;
    golden("system_status_invoke", &v);
    uint8_t stream[64];
    size_t used = 0;
    s_append_frame(CSTA_FRAMING_LEN16, v.bytes, v.len, stream, sizeof stream, &used);
    assert_int_equal(write(sv[0], stream, used), (ssize_t) used);
    assert_int_equal(csta_framer_read(fr, sv[1]), (ssize_t) used);
    s_expect_apdu(fr, v.bytes, v.len);
    close(sv[0]);
    assert_int_equal(csta_framer_read(fr, sv[1]), 0);
    close(sv[1]);
    csta_framer_destroy(&fr);
}

//  Many frames through a socket whose send buffer holds a fraction of them: flush
//  returns -EAGAIN with bytes left, and alternating flush and read delivers every
//  APDU intact and in order, for each framing.
static void outq_partial_writes_complete_and_stream_is_intact(void **state)
{
    (void) state;
    enum { COUNT = 400 };
    static uint8_t big[1000];
    s_big_apdu(big, sizeof big);
    for (size_t f = 0; f < S_FRAMINGS; f++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        int small = 4096;
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
        assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
        s_nonblocking(sv[0]);
        s_nonblocking(sv[1]);

        csta_outq_t *q = csta_outq_new(s_framings[f], 0);
        for (int i = 0; i < COUNT; i++) {
            big[5] = (uint8_t) i;   //  each frame distinct
            big[6] = (uint8_t) (i >> 8);
            assert_int_equal(csta_outq_push(q, big, sizeof big), 0);
        }
        assert_int_equal(csta_outq_flush(q, sv[0]), -EAGAIN);
        assert_true(csta_outq_size(q) > 0);

        csta_framer_t *fr = csta_framer_new(s_framings[f], 0);
        int got = 0, partial_flushes = 1;
        for (int rounds = 0; rounds < 100000 && got < COUNT; rounds++) {
            int rc = csta_outq_flush(q, sv[0]);
            assert_true(rc == 0 || rc == -EAGAIN);
            if (rc == -EAGAIN)
                partial_flushes++;
            ssize_t n;
            while ((n = csta_framer_read(fr, sv[1])) > 0) {
                const uint8_t *apdu;
                size_t len;
                while (csta_framer_next(fr, &apdu, &len) == 0) {
                    assert_int_equal(len, sizeof big);
                    assert_int_equal(apdu[5], (uint8_t) got);
                    assert_int_equal(apdu[6], (uint8_t) (got >> 8));
                    assert_memory_equal(apdu + 7, big + 7, sizeof big - 7);
                    got++;
                }
            }
            assert_int_equal(n, -EAGAIN);
        }
        assert_int_equal(got, COUNT);
        assert_int_equal(csta_outq_size(q), 0);
        assert_true(partial_flushes > 2);
        assert_int_equal(csta_outq_flush(q, sv[0]), 0);
        csta_framer_destroy(&fr);
        csta_outq_destroy(&q);
        assert_null(q);
        close(sv[0]);
        close(sv[1]);
    }
}

//  The bound counts queued bytes with their headers; a push that would pass it is
//  refused whole and the queue is unchanged; once flushed, pushes succeed again.
static void outq_bound_gives_enobufs(void **state)
{
    (void) state;
    hexbuf_t v;
    golden("make_call_invoke", &v);     //  31 bytes + 2 of len16 header
    csta_outq_t *q = csta_outq_new(CSTA_FRAMING_LEN16, 100);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), 0);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), 0);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), 0);
    assert_int_equal(csta_outq_size(q), 99);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), -ENOBUFS);
    assert_int_equal(csta_outq_size(q), 99);

    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s_nonblocking(sv[0]);
    assert_int_equal(csta_outq_flush(q, sv[0]), 0);
    assert_int_equal(csta_outq_size(q), 0);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), 0);
    static uint8_t huge[0x10000];
    assert_int_equal(csta_outq_push(q, huge, sizeof huge), -EMSGSIZE);
    //  A peer that closed: an error, not SIGPIPE.
    close(sv[1]);
    int rc = csta_outq_flush(q, sv[0]);
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    close(sv[0]);
    csta_outq_destroy(&q);
}

//  A writer other than an fd (TLS) takes the queued bytes with peek and drops what it
//  wrote with consume: the stream stays intact across partial writes and later pushes.
static void outq_peek_and_consume_serve_other_writers(void **state)
{
    (void) state;
    hexbuf_t v;
    golden("make_call_invoke", &v);
    csta_outq_t *q = csta_outq_new(CSTA_FRAMING_LEN16, 0);
    const uint8_t *data;
    assert_int_equal(csta_outq_peek(q, &data), 0);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), 0);
    assert_int_equal(csta_outq_peek(q, &data), v.len + 2);
    assert_int_equal(data[0], 0);
    assert_int_equal(data[1], v.len);
    assert_memory_equal(data + 2, v.bytes, v.len);
    csta_outq_consume(q, 5);        //  a partial write
    assert_int_equal(csta_outq_peek(q, &data), v.len - 3);
    assert_memory_equal(data, v.bytes + 3, v.len - 3);
    assert_int_equal(csta_outq_push(q, v.bytes, v.len), 0);
    assert_int_equal(csta_outq_peek(q, &data), 2 * v.len - 1);
    assert_memory_equal(data, v.bytes + 3, v.len - 3);
    assert_memory_equal(data + v.len - 3 + 2, v.bytes, v.len);
    csta_outq_consume(q, 1000);     //  more than queued: the queue is empty
    assert_int_equal(csta_outq_size(q), 0);
    assert_int_equal(csta_outq_peek(q, &data), 0);
    csta_outq_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(several_apdus_in_one_feed_come_out_in_order),
        cmocka_unit_test(apdu_fed_byte_by_byte_completes_on_its_last_byte),
        cmocka_unit_test(large_apdus_in_odd_chunks_are_reassembled),
        cmocka_unit_test(indefinite_length_is_ebadmsg),
        cmocka_unit_test(frame_and_tlv_length_mismatch_is_ebadmsg),
        cmocka_unit_test(frame_over_max_is_emsgsize),
        cmocka_unit_test(hipath_header_without_0x26_or_high_bit_is_ebadmsg),
        cmocka_unit_test(zero_and_one_byte_frames_are_ebadmsg),
        cmocka_unit_test(framing_names_parse_and_print),
        cmocka_unit_test(framer_read_reports_data_eagain_and_eof),
        cmocka_unit_test(outq_partial_writes_complete_and_stream_is_intact),
        cmocka_unit_test(outq_bound_gives_enobufs),
        cmocka_unit_test(outq_peek_and_consume_serve_other_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
