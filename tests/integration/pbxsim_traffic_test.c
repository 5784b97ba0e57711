//  pbxsim integration: the traffic generator (`pbxsim ctl traffic`) places exactly the
//  calls it is asked for, each answered and hung up on time and reported to the monitors
//  from ringing to clearing, counts busy extensions, and leaves no call behind when it
//  ends, is stopped, or the switch restarts under it.
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

static bool s_traffic_running(fixture_t *f)
{
    s_ctl_ok(f, "stats");
    if (strstr(f->reply, "\"running\":true"))
        return true;
    assert_non_null(strstr(f->reply, "\"running\":false"));
    return false;
}

//  Poll stats until the generator has finished; f->reply then holds the final stats.
static void s_wait_traffic_done(fixture_t *f, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    while (s_traffic_running(f)) {
        if (test_now_ms() > deadline)
            fail_msg("traffic still running after %d ms: %s", timeout_ms, f->reply);
        poll_pause();
    }
}

//  No call left in the switch and no extension busy.
static void s_assert_switch_idle(fixture_t *f)
{
    assert_int_equal(stat_now(f, "calls_active"), 0);
    assert_int_equal(stat_now(f, "calls_started"), stat_now(f, "calls_completed"));
    s_ctl_ok(f, "calls");
    assert_non_null(strstr(f->reply, "\"calls\":[]"));
    s_ctl_ok(f, "devices");
    for (const char *p = f->reply; (p = strstr(p, "\"active\":")); p++)
        if (p[strlen("\"active\":")] != '0')
            fail_msg("a device is still active: %.80s", p - 60 > f->reply ? p - 60 : f->reply);
}

static uint16_t s_call_id(const csta_conn_t *conn)
{
    assert_int_equal(conn->call_id_len, 2);
    return (uint16_t) (conn->call_id[0] << 8 | conn->call_id[1]);
}

//  What the monitors reported about one call.
typedef struct {
    char caller[CSTA_DIGITS_MAX + 1], callee[CSTA_DIGITS_MAX + 1];
    int delivered, established;
    unsigned cleared;               //  bit 0: the caller's connection, bit 1: the callee's
} s_call_seen_t;

static void s_note_event(s_call_seen_t *calls, const csta_apdu_t *ev)
{
    switch (ev->event.type) {
    case CSTA_EV_DELIVERED: {
        s_call_seen_t *c = &calls[s_call_id(&ev->event.delivered.connection)];
        if (!c->delivered++) {
            snprintf(c->caller, sizeof c->caller, "%s", ev->event.delivered.calling.digits);
            snprintf(c->callee, sizeof c->callee, "%s", ev->event.delivered.alerting.digits);
        }
        break;
    }
    case CSTA_EV_ESTABLISHED: {
        s_call_seen_t *c = &calls[s_call_id(&ev->event.established.established_connection)];
        //  Rung before answered, answered by the callee.
        if (!c->delivered)
            fail_msg("Established before Delivered");
        c->established++;
        assert_string_equal(ev->event.established.answering.digits, c->callee);
        assert_string_equal(ev->event.established.calling.digits, c->caller);
        break;
    }
    case CSTA_EV_CONNECTION_CLEARED: {
        const csta_conn_t *gone = &ev->event.connection_cleared.dropped_connection;
        s_call_seen_t *c = &calls[s_call_id(gone)];
        if (c->delivered && strcmp(gone->device.digits, c->caller) == 0)
            c->cleared |= 1;
        if (c->delivered && strcmp(gone->device.digits, c->callee) == 0)
            c->cleared |= 2;
        break;
    }
    default:
        break;
    }
}

//  --- Tests --------------------------------------------------------------------------------------

static void traffic_places_every_call_reports_it_and_leaves_none_active(void **state)
{
    const char *args[] = {"--extensions", "101-140", NULL};
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    for (int n = 101; n <= 140; n++) {
        char number[8];
        snprintf(number, sizeof number, "%d", n);
        monitor(f->app, number);
    }
    static s_call_seen_t calls[65536];
    memset(calls, 0, sizeof calls);
    s_ctl_ok(f, "traffic 20 2 100 200");
    assert_int_equal(test_json_long(f->reply, "cps", -1), 20);

    //  Read every event while the generator runs, then until all it sent have come.
    long events = 0, status = 0;
    long long deadline = test_now_ms() + 60000;
    bool running = true;
    for (;;) {
        csta_apdu_t ev;
        int rc = csta_client_next_event(f->app, &ev, 100);
        if (rc == 0) {
            if (ev.opcode == CSTA_OP_EVENT_REPORT) {
                events++;
                s_note_event(calls, &ev);
            } else {
                status++;
            }
            csta_apdu_clear(&ev);
            continue;
        }
        assert_int_equal(rc, -ETIMEDOUT);
        if (running)
            running = s_traffic_running(f);
        else if (events == stat_now(f, "events_sent"))
            break;
        if (test_now_ms() > deadline)
            fail_msg("after 60 s: %ld events received, %s", events, f->reply);
    }

    s_ctl_ok(f, "stats");
    long placed = test_json_long(f->reply, "placed", -1);
    long busy = test_json_long(f->reply, "busy", -1);
    long answered = test_json_long(f->reply, "answered", -1);
    long completed = test_json_long(f->reply, "completed", -1);
    assert_int_equal(placed, 40);
    assert_int_equal(test_json_long(f->reply, "in_progress", -1), 0);
    //  Every call that found both ends free was answered, then hung up by its caller.
    assert_int_equal(busy + completed, placed);
    assert_int_equal(answered, completed);
    assert_true(completed > 0);
    s_assert_switch_idle(f);

    //  The monitors saw each answered call ring, get answered by the callee (both ends
    //  told), and both connections cleared.
    long delivered_calls = 0;
    for (int id = 0; id < 65536; id++) {
        s_call_seen_t *c = &calls[id];
        if (!c->delivered)
            continue;
        delivered_calls++;
        if (c->delivered != 2 || c->established != 2 || c->cleared != 3)
            fail_msg("call %d (%s -> %s): %d Delivered, %d Established, cleared mask %u", id,
                     c->caller, c->callee, c->delivered, c->established, c->cleared);
    }
    assert_int_equal(delivered_calls, answered);
    assert_int_equal(stat_now(f, "events_sent"), events);
}

static void busy_extensions_are_counted_and_not_left_ringing(void **state)
{
    //  Two extensions: the first call holds both for 3.2 s, so the nine calls after it
    //  (one each 100 ms) all find a busy extension.
    const char *args[] = {"--extensions", "101-102", NULL};
    fixture_t *f = link_start(state, args);
    s_ctl_ok(f, "traffic 10 1 200 3000");
    s_wait_traffic_done(f, 60000);
    assert_int_equal(test_json_long(f->reply, "placed", -1), 10);
    assert_int_equal(test_json_long(f->reply, "busy", -1), 9);
    assert_int_equal(test_json_long(f->reply, "answered", -1), 1);
    assert_int_equal(test_json_long(f->reply, "completed", -1), 1);
    //  A busy caller never went off-hook: one call in the switch, now finished.
    assert_int_equal(test_json_long(f->reply, "calls_started", -1), 1);
    s_assert_switch_idle(f);
}

static void traffic_stop_hangs_up_the_calls_in_progress(void **state)
{
    const char *args[] = {"--extensions", "101-120", NULL};
    fixture_t *f = link_start(state, args);
    //  Calls held for a minute: without the stop they would outlive the test.
    s_ctl_ok(f, "traffic 10 60 100 60000");
    long long deadline = test_now_ms() + DEADLINE_MS;
    while (stat_now(f, "answered") < 3) {
        if (test_now_ms() > deadline)
            fail_msg("no three calls answered within %d ms: %s", DEADLINE_MS, f->reply);
        poll_pause();
    }
    assert_true(stat_now(f, "calls_active") >= 3);
    s_ctl_ok(f, "traffic stop");
    assert_false(s_traffic_running(f));
    long placed = test_json_long(f->reply, "placed", -1);
    assert_int_equal(test_json_long(f->reply, "in_progress", -1), 0);
    assert_int_equal(test_json_long(f->reply, "busy", -1) +
                         test_json_long(f->reply, "completed", -1),
                     placed);
    s_assert_switch_idle(f);
    //  And it stays stopped: no call placed afterwards.
    s_ctl_ok(f, "dial 101 102");
    assert_int_equal(stat_now(f, "placed"), placed);
}

static void restart_under_traffic_leaves_no_call_behind(void **state)
{
    const char *args[] = {"--extensions", "101-120", NULL};
    fixture_t *f = link_start(state, args);
    s_ctl_ok(f, "traffic 10 2 100 400");
    long long deadline = test_now_ms() + DEADLINE_MS;
    while (stat_now(f, "answered") < 2) {
        if (test_now_ms() > deadline)
            fail_msg("no two calls answered within %d ms: %s", DEADLINE_MS, f->reply);
        poll_pause();
    }
    s_ctl_ok(f, "restart");
    //  People go on calling after the restart; the generator finishes its run.
    s_wait_traffic_done(f, 60000);
    assert_int_equal(test_json_long(f->reply, "placed", -1), 20);
    assert_int_equal(test_json_long(f->reply, "in_progress", -1), 0);
    s_assert_switch_idle(f);
}

static void traffic_rejects_bad_arguments(void **state)
{
    fixture_t *f = link_start(state, NULL);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "traffic 0 5"), -1);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "traffic 5"), -1);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "traffic 5 -1"), -1);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "traffic x 5"), -1);
    assert_false(s_traffic_running(f));
    assert_int_equal(test_json_long(f->reply, "placed", -1), 0);
    s_ctl_ok(f, "traffic stop");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(traffic_places_every_call_reports_it_and_leaves_none_active,
                                  s_teardown),
        cmocka_unit_test_teardown(busy_extensions_are_counted_and_not_left_ringing, s_teardown),
        cmocka_unit_test_teardown(traffic_stop_hangs_up_the_calls_in_progress, s_teardown),
        cmocka_unit_test_teardown(restart_under_traffic_leaves_no_call_behind, s_teardown),
        cmocka_unit_test_teardown(traffic_rejects_bad_arguments, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
