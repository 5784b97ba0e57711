//  pbxsim integration: every fault as an application sees it from a real PBX — the link
//  dropped, a hung switch, slow answers, a malformed APDU, refused connections and a
//  restart that forgets every call.
#include "pbxsim_link_util.h"

#define STATUS_MS 200           //  --status-interval-ms where SystemStatus timing matters

static int s_teardown(void **state)
{
    return fixture_teardown(state);
}

//  Start pbxsim with args and associate one application (keeping SystemStatus invokes);
//  the SystemStatus that follows the AARE is taken.
static fixture_t *s_start_linked(void **state, const char *const *args)
{
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    expect_system_status(f->app, DEADLINE_MS);
    return f;
}

//  An application that closed its end: with data still unread its kernel sends a reset.
static void s_assert_peer_gone(const char *why)
{
    if (strcmp(why, "peer-closed") != 0 && strcmp(why, "peer-reset") != 0)
        fail_msg("link closed for '%s', expected the peer to have gone", why);
}

static void s_ctl_ok(fixture_t *f, const char *command)
{
    if (test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "%s", command))
        fail_msg("pbxsim ctl %s: %s", command, f->reply);
}

//  CPU time (user + system) pbxsim has used, in ms.
static long long s_cpu_ms(const fixture_t *f)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) f->sim.proc.pid);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    //  Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long utime = 0, stime = 0;
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                            &stime), 2);
    return (long long) (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

static long s_monitor_invoke(csta_client_t *app, const char *number)
{
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, number);
    long id = csta_client_invoke(app, &req);
    assert_true(id > 0);
    return id;
}

//  --- drop ---------------------------------------------------------------------------------------

static void drop_closes_the_link_and_a_reconnect_works(void **state)
{
    fixture_t *f = s_start_linked(state, NULL);
    monitor(f->app, "101");
    s_ctl_ok(f, "drop");
    //  The application sees the connection closed, as when a PBX resets its CTI port.
    assert_int_equal(drain_until_error(f->app, DEADLINE_MS), -ECONNRESET);
    assert_false(csta_client_connected(f->app));
    char why[48];
    wait_link_closed(f, 1, why, sizeof why, DEADLINE_MS);
    assert_string_equal(why, "fault-drop");
    assert_int_equal(stat_now(f, "links_open"), 0);
    assert_int_equal(stat_now(f, "monitors_active"), 0);
    s_ctl_ok(f, "monitors 101");
    assert_int_equal(test_json_long(f->reply, "monitors", -1), 0);

    //  Reconnecting gets a new association that works.
    assert_int_equal(csta_client_connect(f->app), 0);
    assert_int_equal(csta_client_aare(f->app)->result, CSTA_AARE_ACCEPTED);
    expect_system_status(f->app, DEADLINE_MS);
    csta_xref_t x = monitor(f->app, "101");
    s_ctl_ok(f, "dial 101 102");
    csta_apdu_t ev;
    expect_event(f->app, &x, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    assert_int_equal(stat_now(f, "links_open"), 1);
    assert_int_equal(stat_now(f, "links_accepted"), 2);
}

//  --- hang ---------------------------------------------------------------------------------------

static void hang_leaves_requests_unanswered_and_stops_system_status(void **state)
{
    char interval[16];
    snprintf(interval, sizeof interval, "%d", STATUS_MS);
    const char *args[] = {"--status-interval-ms", interval, NULL};
    fixture_t *f = s_start_linked(state, args);
    expect_system_status(f->app, DEADLINE_MS);
    s_ctl_ok(f, "hang on");
    assert_non_null(strstr(f->reply, "\"hang\":true"));
    //  What was sent before the hang has arrived by now (pbxsim writes before it answers
    //  the control socket); after that, nothing.
    drain_arrived(f->app);
    long long cpu0 = s_cpu_ms(f), t0 = test_now_ms();
    long id = s_monitor_invoke(f->app, "101");
    csta_apdu_t res;
    //  Seven status periods without an answer and without a SystemStatus.
    assert_int_equal(csta_client_wait_reply(f->app, id, &res, 7 * STATUS_MS), -ETIMEDOUT);
    csta_apdu_t ev;
    assert_int_equal(csta_client_next_event(f->app, &ev, 0), -ETIMEDOUT);
    //  A hung switch waits; it does not spin (the tests share two cores).
    long long cpu_used = s_cpu_ms(f) - cpu0, wall = test_now_ms() - t0;
    if (cpu_used * 2 > wall)
        fail_msg("pbxsim used %lld ms of CPU in %lld ms while hung", cpu_used, wall);
    //  The link stays open while hung.
    assert_int_equal(stat_now(f, "links_open"), 1);

    //  Resumed: the request pending in the socket is answered, SystemStatus comes back, and
    //  the link is not blamed for the status it could not get through.
    s_ctl_ok(f, "hang off");
    assert_int_equal(csta_client_wait_reply(f->app, id, &res, DEADLINE_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    assert_int_equal(res.opcode, CSTA_OP_MONITOR_START);
    assert_int_equal(res.svc.monitor_start_res.xref.len, 2);
    csta_apdu_clear(&res);
    for (int i = 0; i < 3; i++)
        expect_system_status(f->app, DEADLINE_MS);
    assert_int_equal(stat_now(f, "links_open"), 1);
    assert_int_equal(stat_now(f, "monitors_active"), 1);
    s_ctl_ok(f, "links");
    assert_int_equal(test_json_long(f->reply, "closed_ms", -1), 0);
}

static void hang_holds_events_until_it_ends(void **state)
{
    fixture_t *f = s_start_linked(state, NULL);
    csta_xref_t x = monitor(f->app, "101");
    drain_arrived(f->app);
    s_ctl_ok(f, "hang on");
    //  The person at 101 dials while the CTI link is hung: the call goes on, the link is
    //  silent.
    s_ctl_ok(f, "dial 101 102");
    csta_apdu_t ev;
    assert_int_equal(csta_client_next_event(f->app, &ev, 1000), -ETIMEDOUT);
    s_ctl_ok(f, "hang off");
    expect_event(f->app, &x, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &x, CSTA_EV_ORIGINATED, &ev);
    assert_device(&ev.event.originated.called, "102");
    csta_apdu_clear(&ev);
}

//  --- delay --------------------------------------------------------------------------------------

static void delay_holds_every_answer_but_still_answers(void **state)
{
    fixture_t *f = s_start_linked(state, NULL);
    s_ctl_ok(f, "delay 300");
    assert_int_equal(test_json_long(f->reply, "delay_ms", -1), 300);
    //  A result ...
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "101");
    long long t0 = test_now_ms();
    assert_int_equal(csta_client_call(f->app, &req, &res, DEADLINE_MS), 0);
    long long rtt = test_now_ms() - t0;
    if (rtt < 300)
        fail_msg("MonitorStart answered after %lld ms with a 300 ms delay", rtt);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    assert_int_equal(res.svc.monitor_start_res.xref.len, 2);
    csta_apdu_clear(&res);
    //  ... and an error are both delayed.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "999");
    t0 = test_now_ms();
    assert_int_equal(csta_client_call(f->app, &req, &res, DEADLINE_MS), 0);
    rtt = test_now_ms() - t0;
    if (rtt < 300)
        fail_msg("a failing MonitorStart answered after %lld ms with a 300 ms delay", rtt);
    assert_int_equal(res.kind, CSTA_APDU_ERROR);
    assert_int_equal(res.error.category, CSTA_ERR_OPERATION);
    assert_int_equal(res.error.value, CSTA_OPERR_INVALID_MONITOR_OBJECT);
    csta_apdu_clear(&res);
    //  Pipelined requests each get their own answer.
    long ids[3] = {s_monitor_invoke(f->app, "102"), s_monitor_invoke(f->app, "103"),
                   s_monitor_invoke(f->app, "104")};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(csta_client_wait_reply(f->app, ids[i], &res, DEADLINE_MS), 0);
        assert_int_equal(res.kind, CSTA_APDU_RESULT);
        csta_apdu_clear(&res);
    }
    assert_int_equal(stat_now(f, "monitors_active"), 4);
    s_ctl_ok(f, "delay 0");
    assert_int_equal(test_json_long(f->reply, "delay_ms", -1), 0);
    monitor(f->app, "105");
}

static void delayed_answers_to_a_closed_link_are_dropped(void **state)
{
    const char *args[] = {"--max-links", "2", NULL};
    fixture_t *f = s_start_linked(state, args);
    s_ctl_ok(f, "delay 300");
    csta_client_t *other = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(other), 0);
    int other_id = last_link_id(f);
    s_monitor_invoke(other, "101");
    csta_client_destroy(&other);        //  gone before its answer is due
    char why[48];
    wait_link_closed(f, other_id, why, sizeof why, DEADLINE_MS);
    s_assert_peer_gone(why);
    //  The remaining link gets its own answers only.
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "102");
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    assert_int_equal(stat_now(f, "links_open"), 1);
}

//  --- malformed ----------------------------------------------------------------------------------

static void malformed_apdu_is_reported_by_the_client_framer(void **state)
{
    fixture_t *f = s_start_linked(state, NULL);
    s_ctl_ok(f, "malformed");
    csta_apdu_t ev;
    assert_int_equal(csta_client_next_event(f->app, &ev, DEADLINE_MS), -EBADMSG);
    //  The application drops the link that lost its framing; pbxsim sees it go.
    csta_client_close(f->app);
    char why[48];
    wait_link_closed(f, 1, why, sizeof why, DEADLINE_MS);
    s_assert_peer_gone(why);
    assert_int_equal(csta_client_connect(f->app), 0);
    monitor(f->app, "101");
}

//  --- refuse -------------------------------------------------------------------------------------

static void refuse_rejects_connections_then_accepts_again(void **state)
{
    const char *args[] = {"--max-links", "2", NULL};
    fixture_t *f = s_start_linked(state, args);
    csta_client_t *late = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    long long t0 = test_now_ms();
    s_ctl_ok(f, "refuse 1");
    assert_int_equal(csta_client_connect(late), -ECONNREFUSED);
    assert_non_null(strstr(f->reply, "\"refuse_s\":1"));
    assert_int_equal(stat_now(f, "links_accepted"), 1);
    assert_non_null(strstr(f->reply, "\"refusing\":true"));
    //  The open link is not affected.
    monitor(f->app, "101");

    //  Retry, bounded, until pbxsim listens again; every failure meanwhile is a refusal.
    long long deadline = test_now_ms() + DEADLINE_MS;
    int rc, attempts = 1;
    while ((rc = csta_client_connect(late)) != 0) {
        assert_int_equal(rc, -ECONNREFUSED);
        if (test_now_ms() > deadline)
            fail_msg("still refused after %d ms", DEADLINE_MS);
        attempts++;
        poll_pause();
    }
    long long elapsed = test_now_ms() - t0;
    if (elapsed < 950)
        fail_msg("accepted %lld ms after `refuse 1`", elapsed);
    assert_true(attempts > 1);
    monitor(late, "102");
    assert_int_equal(stat_now(f, "links_open"), 2);
    assert_non_null(strstr(f->reply, "\"refusing\":false"));
    csta_client_destroy(&late);
}

//  --- restart ------------------------------------------------------------------------------------

static void restart_drops_links_and_forgets_calls(void **state)
{
    fixture_t *f = s_start_linked(state, NULL);
    csta_xref_t x101 = monitor(f->app, "101");
    monitor(f->app, "102");
    s_ctl_ok(f, "dial 101 102");
    s_ctl_ok(f, "dial 103 104");
    s_ctl_ok(f, "answer 104");
    csta_apdu_t ev;
    expect_event(f->app, &x101, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    assert_int_equal(stat_now(f, "calls_active"), 2);

    s_ctl_ok(f, "restart");
    assert_int_equal(drain_until_error(f->app, DEADLINE_MS), -ECONNRESET);
    char why[48];
    wait_link_closed(f, 1, why, sizeof why, DEADLINE_MS);
    assert_string_equal(why, "fault-restart");
    s_ctl_ok(f, "calls");
    assert_non_null(strstr(f->reply, "\"calls\":[]"));
    assert_int_equal(stat_now(f, "calls_active"), 0);
    assert_int_equal(stat_now(f, "monitors_active"), 0);
    assert_int_equal(stat_now(f, "links_open"), 0);
    s_ctl_ok(f, "devices");
    assert_null(strstr(f->reply, "\"active\":1"));

    //  After the restart the switch works from a clean state: 101 is idle again.
    assert_int_equal(csta_client_connect(f->app), 0);
    expect_system_status(f->app, DEADLINE_MS);
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&req.svc.snapshot_device.snapshot_object, "101");
    request_ok(f->app, &req, &res);
    assert_int_equal(res.svc.snapshot_device_res.snapshot_data.count, 0);
    csta_apdu_clear(&res);
    x101 = monitor(f->app, "101");
    s_ctl_ok(f, "dial 101 102");
    expect_event(f->app, &x101, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    assert_int_equal(stat_now(f, "calls_active"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(drop_closes_the_link_and_a_reconnect_works, s_teardown),
        cmocka_unit_test_teardown(hang_leaves_requests_unanswered_and_stops_system_status,
                                  s_teardown),
        cmocka_unit_test_teardown(hang_holds_events_until_it_ends, s_teardown),
        cmocka_unit_test_teardown(delay_holds_every_answer_but_still_answers, s_teardown),
        cmocka_unit_test_teardown(delayed_answers_to_a_closed_link_are_dropped, s_teardown),
        cmocka_unit_test_teardown(malformed_apdu_is_reported_by_the_client_framer, s_teardown),
        cmocka_unit_test_teardown(refuse_rejects_connections_then_accepts_again, s_teardown),
        cmocka_unit_test_teardown(restart_drops_links_and_forgets_calls, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
