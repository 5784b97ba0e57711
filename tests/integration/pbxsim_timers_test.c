//  pbxsim integration: the switch's timers (auto-answer here) fire after their delay and
//  in the order of their expiry, and a timer cancelled with its call stays silent.
#include "pbxsim_link_util.h"

static int s_teardown(void **state)
{
    return fixture_teardown(state);
}

static void s_ctl_ok(fixture_t *f, const char *command)
{
    if (test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "%s", command))
        fail_msg("pbxsim ctl %s: %s", command, f->reply);
}

//  The next event report (SystemStatus skipped) into *ev; fails after DEADLINE_MS.
static void s_next_report(csta_client_t *app, csta_apdu_t *ev)
{
    for (;;) {
        assert_int_equal(csta_client_next_event(app, ev, DEADLINE_MS), 0);
        if (ev->opcode == CSTA_OP_EVENT_REPORT)
            return;
        csta_apdu_clear(ev);
    }
}

static void auto_answer_timers_fire_after_their_delay_in_order(void **state)
{
    const char *args[] = {"--extensions", "101-110", "--auto-answer-ms", "300", NULL};
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    csta_xref_t x102 = monitor(f->app, "102"), x104 = monitor(f->app, "104");
    s_ctl_ok(f, "auto-answer 104 700");
    drain_arrived(f->app);
    //  The later timer is started first: expiry decides, not the order of starting.
    long long t0 = test_now_ms();
    s_ctl_ok(f, "dial 103 104");
    s_ctl_ok(f, "dial 101 102");
    long long answered_102 = 0, answered_104 = 0;
    while (!answered_102 || !answered_104) {
        csta_apdu_t ev;
        s_next_report(f->app, &ev);
        if (ev.event.type == CSTA_EV_ESTABLISHED) {
            bool is102 = csta_xref_equal(&ev.event.xref, &x102);
            assert_true(is102 || csta_xref_equal(&ev.event.xref, &x104));
            assert_device(&ev.event.established.answering, is102 ? "102" : "104");
            if (is102) {
                assert_int_equal(answered_104, 0);      //  102 (300 ms) before 104 (700 ms)
                answered_102 = test_now_ms();
            } else {
                answered_104 = test_now_ms();
            }
        }
        csta_apdu_clear(&ev);
    }
    //  Never early (the event cannot leave before its timer fired).
    if (answered_102 - t0 < 300 || answered_104 - t0 < 700)
        fail_msg("answered after %lld and %lld ms (delays 300 and 700)", answered_102 - t0,
                 answered_104 - t0);
    assert_int_equal(stat_now(f, "calls_active"), 2);
}

static void a_timer_cancelled_with_its_call_stays_silent(void **state)
{
    const char *args[] = {"--extensions", "101-110", "--auto-answer-ms", "300", NULL};
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    csta_xref_t x106 = monitor(f->app, "106"), x108 = monitor(f->app, "108");
    drain_arrived(f->app);
    //  106 rings and would answer by itself in 300 ms; the caller gives up first.
    s_ctl_ok(f, "dial 105 106");
    s_ctl_ok(f, "hangup 105");
    //  A later call whose timer must still fire, after the cancelled one's time.
    s_ctl_ok(f, "auto-answer 108 800");
    s_ctl_ok(f, "dial 107 108");
    bool cleared_106 = false;
    for (;;) {
        csta_apdu_t ev;
        s_next_report(f->app, &ev);
        csta_event_type_t type = ev.event.type;
        bool on106 = csta_xref_equal(&ev.event.xref, &x106);
        bool on108 = csta_xref_equal(&ev.event.xref, &x108);
        csta_apdu_clear(&ev);
        if (on106 && type == CSTA_EV_ESTABLISHED)
            fail_msg("106 answered a call its caller had given up");
        cleared_106 |= on106 && type == CSTA_EV_CONNECTION_CLEARED;
        if (on108 && type == CSTA_EV_ESTABLISHED)
            break;
    }
    assert_true(cleared_106);
    assert_int_equal(stat_now(f, "calls_active"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(auto_answer_timers_fire_after_their_delay_in_order,
                                  s_teardown),
        cmocka_unit_test_teardown(a_timer_cancelled_with_its_call_stays_silent, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
