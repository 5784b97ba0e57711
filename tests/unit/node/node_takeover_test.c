//  node_takeover tests (against the fake PBX service): a set of devices becomes one watch
//  each; a later set keeps what it shares, watches what is new and unwatches the rest;
//  clear and destroy unwatch everything; the watches are told apart; bad keys refused.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_node_pbx.h"
#include "node_takeover.h"

static void sets_become_watches_and_later_sets_sweep_the_rest(void **state)
{
    (void) state;
    static const node_pbx_listener_t nobody = {0};
    node_pbx_t *pbx = fake_pbx_new(&nobody);
    node_takeover_t *t = node_takeover_new();
    assert_non_null(t);
    node_takeover_begin(t, 0);
    assert_int_equal(node_takeover_add(t, 0, pbx, "d:101"), 0);
    assert_int_equal(node_takeover_add(t, 0, pbx, "d:102"), 0);
    assert_int_equal(node_takeover_add(t, 0, pbx, "d:101"), 0);    //  once
    assert_int_equal(node_takeover_add(t, 0, pbx, "n:17891329"), 0);
    assert_int_equal(node_takeover_add(t, 0, pbx, "x:1"), -EINVAL);
    assert_int_equal(node_takeover_add(t, 0, pbx, "n:12a"), -EINVAL);
    assert_int_equal(node_takeover_add(t, 0, pbx, "d:"), -EINVAL);
    assert_int_equal(node_takeover_add(t, NODE_PBX_MAX, pbx, "d:1"), -EINVAL);
    assert_int_equal(node_takeover_end(t, 0, pbx), 3);
    assert_int_equal(pbx->watches, 3);
    assert_int_equal(fake_pbx_live_watches(pbx, "101"), 1);
    assert_int_equal(fake_pbx_live_watches(pbx, "102"), 1);
    assert_int_equal(pbx->watch[2].device.kind, CSTA_DEV_NUMBER);
    assert_int_equal(pbx->watch[2].device.number, 17891329);
    assert_true(node_takeover_owns(t, &pbx->watch[0]));
    node_pbx_watch_t other;
    assert_false(node_takeover_owns(t, &other));
    assert_false(node_takeover_owns(NULL, &pbx->watch[0]));
    //  Done (link down or up) needs nobody.
    fake_pbx_watch_done(pbx, 0, -ENOTCONN, NULL, 0);
    fake_pbx_watch_done(pbx, 1, -ETIMEDOUT, NULL, 0);
    //  The next set: 102 stays (the same watch), 103 comes, 101 and the number go.
    node_takeover_begin(t, 0);
    assert_int_equal(node_takeover_add(t, 0, pbx, "d:102"), 0);
    assert_int_equal(node_takeover_add(t, 0, pbx, "d:103"), 0);
    assert_int_equal(node_takeover_end(t, 0, pbx), 2);
    assert_int_equal(pbx->watches, 4);
    assert_int_equal(fake_pbx_live_watches(pbx, "101"), 0);
    assert_int_equal(fake_pbx_live_watches(pbx, "102"), 1);
    assert_int_equal(fake_pbx_live_watches(pbx, "103"), 1);
    assert_true(pbx->watch[2].unwatched);
    assert_false(node_takeover_owns(t, &pbx->watch[0]));
    assert_int_equal(node_takeover_count(t, 0), 2);
    assert_int_equal(node_takeover_count(t, 1), 0);
    //  Another PBX's set is its own.
    node_pbx_t *pbx2 = fake_pbx_new(&nobody);
    node_takeover_begin(t, 1);
    assert_int_equal(node_takeover_add(t, 1, pbx2, "d:102"), 0);
    assert_int_equal(node_takeover_end(t, 1, pbx2), 1);
    node_takeover_clear(t, 0, pbx);
    assert_int_equal(fake_pbx_live_watches(pbx, "102"), 0);
    assert_int_equal(fake_pbx_live_watches(pbx, "103"), 0);
    assert_int_equal(node_takeover_count(t, 0), 0);
    node_pbx_t *const services[] = {pbx, pbx2};
    node_takeover_destroy(&t, services, 2);
    assert_null(t);
    assert_int_equal(fake_pbx_live_watches(pbx2, "102"), 0);
    node_takeover_destroy(&t, NULL, 0);
    fake_pbx_destroy(&pbx);
    fake_pbx_destroy(&pbx2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sets_become_watches_and_later_sets_sweep_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
