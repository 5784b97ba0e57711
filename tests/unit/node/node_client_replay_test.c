//  node_client_replay: order, trimming by ack, the two bounds, holes and gap detection.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node_client_replay.h"

//  Add event seq with the frame "ev<seq>" padded to len bytes (len 0: just the text).
static int s_add(node_client_replay_t *r, uint64_t seq, size_t len)
{
    uint8_t frame[4096];
    int n = snprintf((char *) frame, sizeof frame, "ev%llu", (unsigned long long) seq);
    size_t size = len ? len : (size_t) n;
    if (size > (size_t) n)
        memset(frame + n, '.', size - (size_t) n);
    return node_client_replay_add(r, seq, frame, size);
}

static void s_expect(const node_client_replay_t *r, uint64_t seq)
{
    const uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(node_client_replay_get(r, seq, &frame, &len), 0);
    char want[32];
    int n = snprintf(want, sizeof want, "ev%llu", (unsigned long long) seq);
    assert_true(len >= (size_t) n);
    assert_memory_equal(frame, want, (size_t) n);
}

static void s_expect_none(const node_client_replay_t *r, uint64_t seq)
{
    const uint8_t *frame;
    size_t len;
    assert_int_equal(node_client_replay_get(r, seq, &frame, &len), -ENOENT);
}

static void frames_come_back_in_order_by_seq(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(100, 1 << 20);
    assert_non_null(r);
    for (uint64_t seq = 1; seq <= 40; seq++)     //  past the ring's first growth
        assert_int_equal(s_add(r, seq, 0), 0);
    assert_int_equal(node_client_replay_count(r), 40);
    assert_int_equal(node_client_replay_first(r), 1);
    assert_int_equal(node_client_replay_last(r), 40);
    for (uint64_t seq = 1; seq <= 40; seq++)
        s_expect(r, seq);
    s_expect_none(r, 0);
    s_expect_none(r, 41);
    //  Sequence numbers only grow.
    assert_int_equal(s_add(r, 40, 0), -EINVAL);
    assert_int_equal(s_add(r, 3, 0), -EINVAL);
    assert_int_equal(s_add(r, 0, 0), -EINVAL);
    assert_int_equal(node_client_replay_count(r), 40);
    node_client_replay_destroy(&r);
    assert_null(r);
    node_client_replay_destroy(&r);
}

static void ack_drops_what_the_application_has(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(100, 1 << 20);
    for (uint64_t seq = 1; seq <= 10; seq++)
        s_add(r, seq, 0);
    node_client_replay_ack(r, 4);
    assert_int_equal(node_client_replay_first(r), 5);
    assert_int_equal(node_client_replay_count(r), 6);
    s_expect_none(r, 4);
    s_expect(r, 5);
    node_client_replay_ack(r, 2);                  //  an older ack changes nothing
    assert_int_equal(node_client_replay_count(r), 6);
    node_client_replay_ack(r, 10);
    assert_int_equal(node_client_replay_count(r), 0);
    assert_int_equal(node_client_replay_bytes(r), 0);
    assert_int_equal(node_client_replay_first(r), 0);
    //  Acked events are not "evicted": nothing was lost.
    assert_int_equal(node_client_replay_evicted(r), 0);
    //  After an empty buffer the run goes on.
    assert_int_equal(s_add(r, 11, 0), 0);
    assert_int_equal(node_client_replay_first(r), 11);
    s_expect(r, 11);
    node_client_replay_destroy(&r);
}

static void event_bound_evicts_the_oldest(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(5, 1 << 20);
    for (uint64_t seq = 1; seq <= 12; seq++)
        assert_int_equal(s_add(r, seq, 0), 0);
    assert_int_equal(node_client_replay_count(r), 5);
    assert_int_equal(node_client_replay_first(r), 8);
    assert_int_equal(node_client_replay_last(r), 12);
    assert_int_equal(node_client_replay_evicted(r), 7);
    s_expect_none(r, 7);
    for (uint64_t seq = 8; seq <= 12; seq++)
        s_expect(r, seq);
    node_client_replay_destroy(&r);
}

static void byte_bound_evicts_the_oldest(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(1000, 1000);
    for (uint64_t seq = 1; seq <= 4; seq++)
        assert_int_equal(s_add(r, seq, 300), 0);
    //  1200 bytes do not fit in 1000: the oldest went.
    assert_int_equal(node_client_replay_count(r), 3);
    assert_int_equal(node_client_replay_bytes(r), 900);
    assert_int_equal(node_client_replay_first(r), 2);
    //  A big frame pushes out as many as it needs.
    assert_int_equal(s_add(r, 5, 800), 0);
    assert_int_equal(node_client_replay_count(r), 1);
    assert_int_equal(node_client_replay_bytes(r), 800);
    s_expect(r, 5);
    //  One frame above the bound is refused, and the run it breaks is emptied.
    assert_int_equal(s_add(r, 6, 1001), -EMSGSIZE);
    assert_int_equal(node_client_replay_count(r), 0);
    assert_false(node_client_replay_covers(r, 4));
    assert_int_equal(s_add(r, 7, 10), 0);
    s_expect(r, 7);
    node_client_replay_destroy(&r);
}

static void covers_tells_a_gap(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(5, 1 << 20);
    assert_true(node_client_replay_covers(r, 0));   //  nothing ever sent
    for (uint64_t seq = 1; seq <= 5; seq++)
        s_add(r, seq, 0);
    assert_true(node_client_replay_covers(r, 0));   //  1..5 all held
    assert_true(node_client_replay_covers(r, 5));   //  nothing after 5
    for (uint64_t seq = 6; seq <= 8; seq++)
        s_add(r, seq, 0);                           //  1..3 evicted
    assert_false(node_client_replay_covers(r, 0));
    assert_false(node_client_replay_covers(r, 2));
    assert_true(node_client_replay_covers(r, 3));   //  4..8 held
    assert_true(node_client_replay_covers(r, 8));
    assert_true(node_client_replay_covers(r, 100)); //  an ack above the newest: no gap
    node_client_replay_ack(r, 8);
    assert_true(node_client_replay_covers(r, 8));   //  empty, nothing after the ack
    assert_false(node_client_replay_covers(r, 7));  //  8 was acked, so 8 is gone
    node_client_replay_destroy(&r);
}

static void hole_in_sequence_drops_the_older_run(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(100, 1 << 20);
    for (uint64_t seq = 1; seq <= 3; seq++)
        s_add(r, seq, 0);
    assert_int_equal(s_add(r, 10, 0), 0);          //  4..9 never reached the buffer
    assert_int_equal(node_client_replay_count(r), 1);
    assert_int_equal(node_client_replay_first(r), 10);
    assert_int_equal(node_client_replay_evicted(r), 3);
    assert_false(node_client_replay_covers(r, 3));
    assert_true(node_client_replay_covers(r, 9));
    node_client_replay_destroy(&r);
}

static void zero_events_keeps_nothing(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(0, 1 << 20);
    assert_int_equal(s_add(r, 1, 0), 0);
    assert_int_equal(node_client_replay_count(r), 0);
    s_expect_none(r, 1);
    assert_false(node_client_replay_covers(r, 0));
    assert_true(node_client_replay_covers(r, 1));
    node_client_replay_destroy(&r);
}

//  The ring wraps and grows while frames are acked and added: every frame stays findable.
static void ring_wraps_and_grows(void **state)
{
    (void) state;
    node_client_replay_t *r = node_client_replay_new(64, 1 << 20);
    uint64_t acked = 0;
    for (uint64_t seq = 1; seq <= 1000; seq++) {
        assert_int_equal(s_add(r, seq, 0), 0);
        if (seq % 7 == 0) {
            acked = seq - 3;
            node_client_replay_ack(r, acked);
        }
        uint64_t first = node_client_replay_first(r);
        for (uint64_t k = first; k <= seq; k++)
            s_expect(r, k);
    }
    assert_int_equal(node_client_replay_last(r), 1000);
    assert_true(node_client_replay_count(r) <= 64);
    node_client_replay_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_come_back_in_order_by_seq),
        cmocka_unit_test(ack_drops_what_the_application_has),
        cmocka_unit_test(event_bound_evicts_the_oldest),
        cmocka_unit_test(byte_bound_evicts_the_oldest),
        cmocka_unit_test(covers_tells_a_gap),
        cmocka_unit_test(hole_in_sequence_drops_the_older_run),
        cmocka_unit_test(zero_events_keeps_nothing),
        cmocka_unit_test(ring_wraps_and_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
