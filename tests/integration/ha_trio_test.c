//  Three real ctimd processes and pbxsim: kill -9 the owner (the next in priority takes the
//  link, the third stands by; the time from the kill to the link up is printed); kill two
//  (the survivor has no majority and takes nothing until a second node is back); SIGSTOP
//  the owner until another takes over, then SIGCONT it (it drops its link on seeing the
//  higher epoch).  pbxsim's link history must never show two links open at once.
#include "ha_test_util.h"

static const int S_PRIO[] = {10, 20, 30};

//  pbxsim accepts three links: only the cluster keeps ctimd to one.
static void kill_owner_next_in_priority_takes_the_link(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "3", "--status-interval-ms", "1000",
                                       NULL};
    ha_fx_t *f = ha_fx_new(3, S_PRIO, args);
    ha_start_all(f);

    long long t0 = test_now_ms();
    ha_node_kill(f, 0);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("trio: kill -9 of the owner to link up on the next node", up - t0);
    assert_true(up - t0 < 3000);
    ha_wait_standby(f, 2, "b", 2);
    ha_view_t v;
    assert_true(ha_view(f, 2, &v));
    assert_true(v.quorum);                  //  two of three
    assert_int_equal(v.takeovers, 0);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
}

//  Two of three gone: the survivor sees one node of three, has no quorum and holds
//  nothing, even though no one else does.  When a second node returns, the better of the
//  two takes the link with the next epoch.
static void lone_survivor_without_majority_takes_nothing(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "3", "--status-interval-ms", "1000",
                                       NULL};
    ha_fx_t *f = ha_fx_new(3, S_PRIO, args);
    for (size_t i = 0; i < 3; i++)
        ha_node_start(f, i);
    ha_wait_holder(f, 0, HA_WAIT_MS);
    ha_wait_standby(f, 2, "a", 1);
    ha_node_kill(f, 0);
    ha_node_kill(f, 1);
    //  c notices both losses, then stays without the link.
    long long deadline = test_now_ms() + HA_WAIT_MS;
    ha_view_t v;
    while (!(ha_view(f, 2, &v) && !v.quorum)) {
        assert_true(test_now_ms() < deadline);
        ha_pace(10);
    }
    for (long long until = test_now_ms() + 1500; test_now_ms() < until;) {
        assert_true(ha_view(f, 2, &v));
        assert_false(v.held);
        assert_false(v.quorum);
        ha_pace(50);
    }
    assert_true(ha_status(f, 2));
    assert_non_null(strstr(f->body, "\"state\":\"standby, no owner\",\"via\":\"forwarded\""));
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 1);
    assert_int_equal(l.open, 0);

    //  b returns: b and c are a majority; b ranks before c and takes epoch 2.
    ha_node_start(f, 1);
    ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_wait_standby(f, 2, "b", 2);
    l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
}

//  SIGSTOP the owner: b and c (a majority) lose it, b takes over once pbxsim has dropped
//  the stopped link (an unanswered SystemStatus, 200 ms).  SIGCONT: a sees epoch 2, drops.
static void sigstop_owner_majority_takes_over_and_the_owner_drops_on_sigcont(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "1", "--status-interval-ms", "200", NULL};
    ha_fx_t *f = ha_fx_new(3, S_PRIO, args);
    ha_start_all(f);

    long long t0 = test_now_ms();
    ha_node_signal(f, 0, SIGSTOP);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("trio: SIGSTOP of the owner to link up on the next node", up - t0);
    ha_links_t before = ha_links(f);

    ha_node_signal(f, 0, SIGCONT);
    ha_wait_standby(f, 0, "b", 2);
    ha_view_t v;
    assert_true(ha_view(f, 0, &v));
    assert_int_equal(v.drops, 1);
    assert_true(v.quorum);
    ha_hold_steady(f, 1, 1500);
    ha_wait_standby(f, 2, "b", 2);
    ha_links_t after = ha_links(f);
    assert_int_equal(after.entries, before.entries);
    assert_int_equal(after.open, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(kill_owner_next_in_priority_takes_the_link, ha_teardown),
        cmocka_unit_test_teardown(lone_survivor_without_majority_takes_nothing, ha_teardown),
        cmocka_unit_test_teardown(sigstop_owner_majority_takes_over_and_the_owner_drops_on_sigcont,
                                  ha_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
