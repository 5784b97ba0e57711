//  node_pbx_snap: SnapshotDeviceData segments (ECMA-269 SnapshotDevice answered with a
//  serviceCrossRefID) collected into one SnapshotDevice result, and the bounds that keep a
//  PBX that never sends the last segment from holding memory.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_pbx_snap.h"

static csta_xref_t s_xref(uint8_t lo)
{
    csta_xref_t x;
    memset(&x, 0, sizeof x);
    uint8_t b[2] = {0x51, lo};
    csta_xref_set(&x, b, 2);
    return x;
}

//  A SnapshotDeviceData invoke of xref with calls first..first+count-1 (2-byte call ids) at
//  device 101.  Returns its length in out.
static size_t s_segment(uint8_t *out, size_t cap, const csta_xref_t *xref, int first, int count,
                        bool last)
{
    csta_snapshot_device_item_t items[32];
    assert_true(count <= 32);
    memset(items, 0, sizeof items);
    for (int i = 0; i < count; i++) {
        uint8_t id[2] = {(uint8_t) ((first + i) >> 8), (uint8_t) (first + i)};
        csta_conn_set(&items[i].connection_identifier, id, 2, "101");
        items[i].local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
        items[i].local_call_state.compound_count = 1;
        items[i].local_call_state.compound[0] = CSTA_LCS_CONNECTED;
    }
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 7;
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE_DATA;
    a.svc.snapshot_device_data.service_xref = *xref;
    a.svc.snapshot_device_data.last_segment = last;
    a.svc.snapshot_device_data.snapshot_data.count = (size_t) count;
    a.svc.snapshot_device_data.snapshot_data.item = items;
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, out, cap, &n), 0);
    return n;
}

static void segments_make_one_result_with_every_call_in_order(void **state)
{
    (void) state;
    node_pbx_snap_t *snap = node_pbx_snap_new();
    assert_non_null(snap);
    csta_xref_t x = s_xref(1);
    assert_int_equal(node_pbx_snap_expect(snap, &x), 0);
    uint8_t seg[4096];
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 1, 2, false)), 0);
    assert_false(node_pbx_snap_complete(snap));
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 3, 0, false)), 0);
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 3, 1, true)), 1);
    assert_true(node_pbx_snap_complete(snap));
    assert_int_equal(node_pbx_snap_segments(snap), 3);
    assert_int_equal(node_pbx_snap_count(snap), 3);
    //  A segment after the last is not taken.
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 9, 1, true)),
                     -EALREADY);

    uint8_t *buf = NULL;
    size_t n = 0;
    assert_int_equal(node_pbx_snap_result(snap, 42, &buf, &n), 0);
    csta_apdu_t r;
    assert_int_equal(csta_apdu_decode(&r, buf, n), 0);
    assert_int_equal(r.kind, CSTA_APDU_RESULT);
    assert_int_equal(r.invoke_id, 42);
    assert_int_equal(r.opcode, CSTA_OP_SNAPSHOT_DEVICE);
    const csta_snapshot_device_res_t *res = &r.svc.snapshot_device_res;
    assert_false(res->is_xref);
    assert_int_equal(res->snapshot_data.count, 3);
    for (size_t i = 0; i < 3; i++) {
        const csta_conn_t *c = &res->snapshot_data.item[i].connection_identifier;
        assert_int_equal(c->call_id_len, 2);
        assert_int_equal(c->call_id[1], i + 1);
        assert_string_equal(c->device.digits, "101");
        assert_int_equal(res->snapshot_data.item[i].local_call_state.compound[0],
                         CSTA_LCS_CONNECTED);
    }
    csta_apdu_clear(&r);
    free(buf);
    node_pbx_snap_destroy(&snap);
    assert_null(snap);
    node_pbx_snap_destroy(&snap);   //  safe twice
}

//  Through the cluster the segments may come before the result that announced them.
static void segments_before_the_result_count_once_it_matches(void **state)
{
    (void) state;
    node_pbx_snap_t *snap = node_pbx_snap_new();
    csta_xref_t x = s_xref(2), other = s_xref(3);
    uint8_t seg[4096];
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 1, 1, true)), 1);
    assert_true(node_pbx_snap_complete(snap));
    assert_int_equal(node_pbx_snap_expect(snap, &x), 0);
    assert_true(node_pbx_snap_complete(snap));
    node_pbx_snap_destroy(&snap);
    //  A result naming another cross-reference than the segments': an error, not a mix.
    snap = node_pbx_snap_new();
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 1, 1, false)), 0);
    assert_int_equal(node_pbx_snap_expect(snap, &other), -ESRCH);
    assert_false(node_pbx_snap_complete(snap));
    node_pbx_snap_destroy(&snap);
}

static void another_snapshots_segment_or_garbage_is_an_error(void **state)
{
    (void) state;
    node_pbx_snap_t *snap = node_pbx_snap_new();
    csta_xref_t x = s_xref(4), other = s_xref(5);
    assert_int_equal(node_pbx_snap_expect(snap, &x), 0);
    uint8_t seg[4096];
    assert_int_equal(
        node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &other, 1, 1, true)), -ESRCH);
    assert_false(node_pbx_snap_complete(snap));
    //  Failed once: nothing more is taken.
    assert_int_equal(node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, 1, 1, true)),
                     -EALREADY);
    node_pbx_snap_destroy(&snap);

    snap = node_pbx_snap_new();
    static const uint8_t junk[] = {0xA1, 0x03, 0x02, 0x01};
    assert_int_equal(node_pbx_snap_add(snap, junk, sizeof junk), -EBADMSG);
    node_pbx_snap_destroy(&snap);
    //  A well-formed invoke of another operation is no segment either.
    snap = node_pbx_snap_new();
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 3;
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&a.svc.snapshot_device.snapshot_object, "101");
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, seg, sizeof seg, &n), 0);
    assert_int_equal(node_pbx_snap_add(snap, seg, n), -EBADMSG);
    node_pbx_snap_destroy(&snap);
}

//  A PBX that never says lastSegment: bounded in segments ...
static void endless_segments_stop_at_the_bound(void **state)
{
    (void) state;
    node_pbx_snap_t *snap = node_pbx_snap_new();
    csta_xref_t x = s_xref(6);
    uint8_t seg[4096];
    size_t n = s_segment(seg, sizeof seg, &x, 1, 0, false);
    for (int i = 0; i < NODE_PBX_SNAP_SEGMENTS_MAX; i++)
        assert_int_equal(node_pbx_snap_add(snap, seg, n), 0);
    assert_int_equal(node_pbx_snap_add(snap, seg, n), -EMSGSIZE);
    assert_int_equal(node_pbx_snap_add(snap, seg, n), -EALREADY);
    node_pbx_snap_destroy(&snap);
}

//  ... and in calls.
static void too_many_calls_stop_at_the_bound(void **state)
{
    (void) state;
    node_pbx_snap_t *snap = node_pbx_snap_new();
    csta_xref_t x = s_xref(7);
    uint8_t seg[8192];
    int added = 0;
    int rc = 0;
    while (rc == 0) {
        rc = node_pbx_snap_add(snap, seg, s_segment(seg, sizeof seg, &x, added + 1, 32, false));
        if (rc == 0)
            added += 32;
    }
    assert_int_equal(rc, -EMSGSIZE);
    assert_true(added <= NODE_PBX_SNAP_ITEMS_MAX);
    assert_true(added + 32 > NODE_PBX_SNAP_ITEMS_MAX);
    assert_int_equal(node_pbx_snap_count(snap), (size_t) added);
    node_pbx_snap_destroy(&snap);
}

//  The most calls one snapshot takes still make one result within a frame (64 KiB).
static void a_full_snapshot_encodes_in_one_frame(void **state)
{
    (void) state;
    node_pbx_snap_t *snap = node_pbx_snap_new();
    csta_xref_t x = s_xref(8);
    uint8_t seg[8192];
    int per = 32, rc = 0;
    for (int first = 1; first <= NODE_PBX_SNAP_ITEMS_MAX; first += per)
        rc = node_pbx_snap_add(snap, seg,
                               s_segment(seg, sizeof seg, &x, first, per,
                                         first + per > NODE_PBX_SNAP_ITEMS_MAX));
    assert_int_equal(rc, 1);
    assert_int_equal(node_pbx_snap_count(snap), NODE_PBX_SNAP_ITEMS_MAX);
    uint8_t *buf = NULL;
    size_t n = 0;
    assert_int_equal(node_pbx_snap_result(snap, 1, &buf, &n), 0);
    assert_true(n <= 65535);
    csta_apdu_t r;
    assert_int_equal(csta_apdu_decode(&r, buf, n), 0);
    assert_int_equal(r.svc.snapshot_device_res.snapshot_data.count, NODE_PBX_SNAP_ITEMS_MAX);
    csta_apdu_clear(&r);
    free(buf);
    node_pbx_snap_destroy(&snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(segments_make_one_result_with_every_call_in_order),
        cmocka_unit_test(segments_before_the_result_count_once_it_matches),
        cmocka_unit_test(another_snapshots_segment_or_garbage_is_an_error),
        cmocka_unit_test(endless_segments_stop_at_the_bound),
        cmocka_unit_test(too_many_calls_stop_at_the_bound),
        cmocka_unit_test(a_full_snapshot_encodes_in_one_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
