//  pbxsim integration: the CSTA link as a PBX runs it — association in each flavour
//  (panasonic len16, raw BER, hipath with login), login failures, the SystemStatus
//  keep-alive in both directions, broken framing, and release.
#include "pbxsim_link_util.h"

#define STATUS_MS 200           //  --status-interval-ms in these tests

//  The 37-byte AARQ of the public Panasonic Perl client (csta-facts.md 1.2): version1,
//  context 1.3.12.0.218, CSTA versionFive, no login.
static const uint8_t s_panasonic_aarq[] = {
    0x60, 0x23, 0x80, 0x02, 0x07, 0x80, 0xa1, 0x07, 0x06, 0x05, 0x2b, 0x0c, 0x00,
    0x81, 0x5a, 0xbe, 0x14, 0x28, 0x12, 0x06, 0x07, 0x2b, 0x0c, 0x00, 0x82, 0x1d,
    0x81, 0x48, 0xa0, 0x07, 0xa0, 0x05, 0x03, 0x03, 0x00, 0x08, 0x00};

//  --- Helpers ------------------------------------------------------------------------------------

static int s_teardown(void **state)
{
    return fixture_teardown(state);
}

//  The accepted AARE as pbxsim (like a Panasonic) sends it.
static void s_assert_accepted(const csta_acse_t *aare, const char *context)
{
    assert_int_equal(aare->result, CSTA_AARE_ACCEPTED);
    assert_int_equal(aare->diag_source, CSTA_DIAG_SERVICE_USER);
    assert_int_equal(aare->diag, CSTA_DIAG_NO_REASON);
    assert_string_equal(aare->context, context);
    assert_true(csta_bits_test(&aare->csta_version, CSTA_VERSION_FIVE));
}

//  Associate, check the AARE, see SystemStatus at once, and use the link for a request.
static void s_associate_and_use(fixture_t *f, csta_framing_t framing, const char *user,
                                const char *password)
{
    f->app = link_client(f, framing, user, password);
    assert_int_equal(csta_client_connect(f->app), 0);
    s_assert_accepted(csta_client_aare(f->app), CSTA_ACN_CSTA3);
    expect_system_status(f->app, WAIT_MS);
    monitor(f->app, "101");
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "links_open", -1), 1);
    assert_int_equal(test_json_long(f->reply, "monitors_active", -1), 1);
}

//  After one good association: one link accepted, no failed login.
static void s_assert_one_clean_link(fixture_t *f)
{
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "links_accepted", -1), 1);
    assert_int_equal(test_json_long(f->reply, "links_refused", -1), 0);
    assert_int_equal(test_json_long(f->reply, "logins_failed", -1), 0);
}

//  --- Association per flavour --------------------------------------------------------------------

static void panasonic_link_associates_with_len16_framing(void **state)
{
    fixture_t *f = link_start(state, NULL);
    s_associate_and_use(f, CSTA_FRAMING_LEN16, NULL, NULL);
    s_assert_one_clean_link(f);
}

static void raw_flavour_associates_with_back_to_back_ber(void **state)
{
    const char *args[] = {"--flavour", "raw", NULL};
    fixture_t *f = link_start(state, args);
    s_associate_and_use(f, CSTA_FRAMING_RAW, NULL, NULL);
    s_assert_one_clean_link(f);
}

static void hipath_flavour_associates_with_its_header_and_login(void **state)
{
    const char *args[] = {"--flavour", "hipath", NULL};
    fixture_t *f = link_start(state, args);
    s_associate_and_use(f, CSTA_FRAMING_HIPATH, "AMHOST", "77777");
    s_assert_one_clean_link(f);
}

static void panasonic_link_accepts_a_captured_panasonic_aarq(void **state)
{
    fixture_t *f = link_start(state, NULL);
    int fd = raw_connect(f->sim.port);
    raw_send(fd, CSTA_FRAMING_LEN16, s_panasonic_aarq, sizeof s_panasonic_aarq);
    csta_framer_t *framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    csta_apdu_t a;
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), 0);
    assert_int_equal(a.kind, CSTA_APDU_AARE);
    s_assert_accepted(&a.acse, CSTA_ACN_CSTA3);
    csta_apdu_clear(&a);
    //  SystemStatus follows the AARE at once (csta-facts.md 5).
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), 0);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_NORMAL);
    csta_apdu_clear(&a);
    csta_framer_destroy(&framer);
    close(fd);
}

//  --- Login failures -----------------------------------------------------------------------------

//  A hipath AARQ with this login (NULL: none) is rejected with `diag`, counted, recorded.
static void s_hipath_rejects(void **state, const char *user, const char *password, long diag,
                             const char *reason)
{
    const char *args[] = {"--flavour", "hipath", "--login", "AMHOST:77777", NULL};
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_HIPATH, user, password);
    assert_int_equal(csta_client_connect(f->app), -EACCES);
    const csta_acse_t *aare = csta_client_aare(f->app);
    assert_int_equal(aare->result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(aare->diag_source, CSTA_DIAG_SERVICE_USER);
    assert_int_equal(aare->diag, diag);
    assert_false(csta_client_connected(f->app));
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "logins_failed", -1), 1);
    assert_int_equal(test_json_long(f->reply, "links_open", -1), 0);
    char why[48];
    wait_link_closed(f, 1, why, sizeof why, DEADLINE_MS);
    assert_string_equal(why, reason);
    //  The right login still gets in afterwards.
    csta_client_destroy(&f->app);
    s_associate_and_use(f, CSTA_FRAMING_HIPATH, "AMHOST", "77777");
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "logins_failed", -1), 1);
}

static void hipath_wrong_password_gets_authentication_failure(void **state)
{
    s_hipath_rejects(state, "AMHOST", "12345", CSTA_DIAG_AUTH_FAILURE, "login-failed");
}

static void hipath_wrong_user_gets_authentication_failure(void **state)
{
    s_hipath_rejects(state, "ADMIN", "77777", CSTA_DIAG_AUTH_FAILURE, "login-failed");
}

static void hipath_without_login_gets_authentication_required(void **state)
{
    s_hipath_rejects(state, NULL, NULL, CSTA_DIAG_AUTH_REQUIRED, "login-required");
}

//  --- SystemStatus keep-alive --------------------------------------------------------------------

static void system_status_follows_the_aare_and_repeats_each_interval(void **state)
{
    char interval[16];
    snprintf(interval, sizeof interval, "%d", STATUS_MS);
    const char *args[] = {"--status-interval-ms", interval, NULL};
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    long long t0 = test_now_ms();
    assert_int_equal(csta_client_connect(f->app), 0);
    expect_system_status(f->app, WAIT_MS);
    //  The client answers each one, so the link lives on through several intervals.
    for (int i = 1; i <= 4; i++) {
        expect_system_status(f->app, DEADLINE_MS);
        //  Never early: the i-th repetition leaves i periods after the association, which
        //  came after t0 (a little slack for the timer's millisecond rounding); lateness
        //  is the loaded machine's and not judged.
        long long at = test_now_ms() - t0;
        if (at < (long long) i * STATUS_MS - 20)
            fail_msg("SystemStatus %d came %lld ms after the connect (period %d)", i, at,
                     STATUS_MS);
    }
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_true(test_json_long(f->reply, "status_sent", -1) >= 5);
    assert_int_equal(test_json_long(f->reply, "links_open", -1), 1);
    monitor(f->app, "102");
}

static void application_that_stops_answering_system_status_is_dropped(void **state)
{
    char interval[16];
    snprintf(interval, sizeof interval, "%d", STATUS_MS);
    const char *args[] = {"--status-interval-ms", interval, NULL};
    fixture_t *f = link_start(state, args);
    int fd = raw_connect(f->sim.port);
    raw_send(fd, CSTA_FRAMING_LEN16, s_panasonic_aarq, sizeof s_panasonic_aarq);
    //  The application reads nothing and answers nothing.
    char why[48];
    wait_link_closed(f, 1, why, sizeof why, DEADLINE_MS);
    assert_string_equal(why, "status-unanswered");
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "links"), 0);
    long long opened = test_json_long(f->reply, "opened_ms", 0);
    long long closed = test_json_long(f->reply, "closed_ms", 0);
    //  Dropped after the unanswered SystemStatus had a whole interval to be answered.
    assert_true(closed - opened >= STATUS_MS - 20);
    //  The socket sees the AARE, the SystemStatus, then the end of the stream.
    csta_framer_t *framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    csta_apdu_t a;
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), 0);
    assert_int_equal(a.kind, CSTA_APDU_AARE);
    csta_apdu_clear(&a);
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), 0);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    csta_apdu_clear(&a);
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), -ECONNRESET);
    csta_framer_destroy(&framer);
    close(fd);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "links_open", -1), 0);
}

//  --- Broken framing -----------------------------------------------------------------------------

static void garbage_framing_drops_that_link_and_the_other_carries_on(void **state)
{
    const char *args[] = {"--max-links", "2", NULL};
    fixture_t *f = link_start(state, args);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    csta_xref_t x101 = monitor(f->app, "101");
    csta_client_t *bad = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(bad), 0);
    int bad_id = last_link_id(f);
    monitor(bad, "101");
    //  A len16 frame whose content is no BER TLV (0xff 0xff: a length that cannot be).
    static const uint8_t garbage[] = {0x00, 0x06, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01};
    assert_int_equal(send(csta_client_fd(bad), garbage, sizeof garbage, MSG_NOSIGNAL),
                     (ssize_t) sizeof garbage);
    char why[48];
    wait_link_closed(f, bad_id, why, sizeof why, DEADLINE_MS);
    assert_string_equal(why, "bad-framing");
    assert_int_equal(drain_until_error(bad, DEADLINE_MS), -ECONNRESET);
    csta_client_destroy(&bad);

    //  The first link still works: its monitor reports a call, and a new request is answered.
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "links_open", -1), 1);
    assert_int_equal(test_json_long(f->reply, "monitors_active", -1), 1);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "dial 101 102"), 0);
    csta_apdu_t ev;
    for (;;) {
        assert_int_equal(csta_client_next_event(f->app, &ev, WAIT_MS), 0);
        if (ev.opcode == CSTA_OP_EVENT_REPORT)
            break;
        csta_apdu_clear(&ev);     //  SystemStatus
    }
    assert_int_equal(ev.event.type, CSTA_EV_SERVICE_INITIATED);
    assert_true(csta_xref_equal(&ev.event.xref, &x101));
    csta_apdu_clear(&ev);
    monitor(f->app, "102");
}

//  --- Monitors -----------------------------------------------------------------------------------

static csta_xref_t s_monitor_stop(csta_client_t *app, const csta_xref_t *xref)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_STOP;
    req.svc.monitor_stop.xref = *xref;
    request_ok(app, &req, &res);
    csta_apdu_clear(&res);
    return *xref;
}

//  The next event report (SystemStatus skipped) must be `type` on monitor xref.
static void s_expect_event_on(csta_client_t *app, const csta_xref_t *xref, csta_event_type_t type)
{
    csta_apdu_t ev;
    for (;;) {
        assert_int_equal(csta_client_next_event(app, &ev, WAIT_MS), 0);
        if (ev.opcode == CSTA_OP_EVENT_REPORT)
            break;
        csta_apdu_clear(&ev);
    }
    if (ev.event.type != type || !csta_xref_equal(&ev.event.xref, xref))
        fail_msg("expected %s on xref %02x%02x, got %s on xref %02x%02x", csta_event_name(type),
                 xref->bytes[0], xref->bytes[1], csta_event_name(ev.event.type),
                 ev.event.xref.bytes[0], ev.event.xref.bytes[1]);
    csta_apdu_clear(&ev);
}

static void stopped_monitors_fall_silent_and_the_others_keep_reporting(void **state)
{
    fixture_t *f = link_start(state, NULL);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    csta_xref_t a1 = monitor(f->app, "101"), b = monitor(f->app, "102");
    csta_xref_t a2 = monitor(f->app, "101"), a3 = monitor(f->app, "101");
    assert_false(csta_xref_equal(&a1, &a2) || csta_xref_equal(&a2, &a3) ||
                 csta_xref_equal(&a1, &a3) || csta_xref_equal(&a1, &b));
    //  Stop the oldest monitor of 101, then the one of 102 (the link reuses their places).
    s_monitor_stop(f->app, &a1);
    s_monitor_stop(f->app, &b);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "monitors 101"), 0);
    assert_int_equal(test_json_long(f->reply, "monitors", -1), 2);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "monitors 102"), 0);
    assert_int_equal(test_json_long(f->reply, "monitors", -1), 0);
    //  A call from 101 to 102: the two live monitors of 101 report it, oldest first; the
    //  stopped ones report nothing.
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "dial 101 102"), 0);
    s_expect_event_on(f->app, &a2, CSTA_EV_SERVICE_INITIATED);
    s_expect_event_on(f->app, &a3, CSTA_EV_SERVICE_INITIATED);
    s_expect_event_on(f->app, &a2, CSTA_EV_ORIGINATED);
    s_expect_event_on(f->app, &a3, CSTA_EV_ORIGINATED);
    s_expect_event_on(f->app, &a2, CSTA_EV_DELIVERED);
    s_expect_event_on(f->app, &a3, CSTA_EV_DELIVERED);
    expect_no_event(f->app, 300);
    //  A stopped cross reference is unknown now.
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_STOP;
    req.svc.monitor_stop.xref = a1;
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "monitors_active", -1), 2);
    assert_int_equal(test_json_long(f->reply, "monitor_stops", -1), 2);
}

static void monitor_start_beyond_the_link_limit_is_refused(void **state)
{
    fixture_t *f = link_start(state, NULL);
    f->app = link_client(f, CSTA_FRAMING_LEN16, NULL, NULL);
    assert_int_equal(csta_client_connect(f->app), 0);
    //  Every two-octet cross reference in use (65535 monitors, pipelined 500 at a time).
    enum { LIMIT = 65535, WINDOW = 500 };
    long ids[WINDOW];
    for (int done = 0; done < LIMIT;) {
        int n = LIMIT - done < WINDOW ? LIMIT - done : WINDOW;
        for (int i = 0; i < n; i++) {
            csta_apdu_t req;
            csta_apdu_init(&req, CSTA_APDU_INVOKE);
            req.opcode = CSTA_OP_MONITOR_START;
            char number[8];
            snprintf(number, sizeof number, "%d", 101 + (done + i) % 100);
            csta_device_set(&req.svc.monitor_start.device, number);
            ids[i] = csta_client_invoke(f->app, &req);
            assert_true(ids[i] > 0);
        }
        for (int i = 0; i < n; i++) {
            csta_apdu_t res;
            assert_int_equal(csta_client_wait_reply(f->app, ids[i], &res, DEADLINE_MS), 0);
            assert_int_equal(res.kind, CSTA_APDU_RESULT);
            csta_apdu_clear(&res);
        }
        done += n;
    }
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "monitors_active", -1), LIMIT);
    //  One more is refused as a PBX refuses it, and pbxsim goes on.
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "101");
    request_fails(f->app, &req, CSTA_ERR_SYSTEM_RESOURCE,
                  CSTA_SYSERR_OVERALL_MONITOR_LIMIT_EXCEEDED);
    csta_xref_t any = {.len = 2, .bytes = {0x12, 0x34}};
    s_monitor_stop(f->app, &any);
    csta_xref_t again = monitor(f->app, "150");
    assert_true(csta_xref_equal(&again, &any));   //  the one free cross reference
}

//  --- Release ------------------------------------------------------------------------------------

static void release_request_gets_release_response_then_close(void **state)
{
    fixture_t *f = link_start(state, NULL);
    int fd = raw_connect(f->sim.port);
    csta_framer_t *framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    raw_send(fd, CSTA_FRAMING_LEN16, s_panasonic_aarq, sizeof s_panasonic_aarq);
    csta_apdu_t a;
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), 0);
    assert_int_equal(a.kind, CSTA_APDU_AARE);
    assert_int_equal(a.acse.result, CSTA_AARE_ACCEPTED);
    csta_apdu_clear(&a);
    //  RLRQ reason normal (csta-facts.md 1.2: 62 03 80 01 00).
    static const uint8_t rlrq[] = {0x62, 0x03, 0x80, 0x01, 0x00};
    raw_send(fd, CSTA_FRAMING_LEN16, rlrq, sizeof rlrq);
    for (;;) {
        assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), 0);
        if (a.kind != CSTA_APDU_INVOKE)
            break;
        assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);     //  sent before our RLRQ
        csta_apdu_clear(&a);
    }
    assert_int_equal(a.kind, CSTA_APDU_RLRE);
    assert_true(a.acse.has_reason);
    assert_int_equal(a.acse.reason, 0);
    csta_apdu_clear(&a);
    assert_int_equal(raw_next(fd, framer, &a, WAIT_MS), -ECONNRESET);
    csta_framer_destroy(&framer);
    close(fd);
    char why[48];
    wait_link_closed(f, 1, why, sizeof why, DEADLINE_MS);
    assert_string_equal(why, "released");
    //  A released link frees the place: a new association is accepted.
    s_associate_and_use(f, CSTA_FRAMING_LEN16, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(panasonic_link_associates_with_len16_framing, s_teardown),
        cmocka_unit_test_teardown(raw_flavour_associates_with_back_to_back_ber, s_teardown),
        cmocka_unit_test_teardown(hipath_flavour_associates_with_its_header_and_login, s_teardown),
        cmocka_unit_test_teardown(panasonic_link_accepts_a_captured_panasonic_aarq, s_teardown),
        cmocka_unit_test_teardown(hipath_wrong_password_gets_authentication_failure, s_teardown),
        cmocka_unit_test_teardown(hipath_wrong_user_gets_authentication_failure, s_teardown),
        cmocka_unit_test_teardown(hipath_without_login_gets_authentication_required, s_teardown),
        cmocka_unit_test_teardown(system_status_follows_the_aare_and_repeats_each_interval,
                                  s_teardown),
        cmocka_unit_test_teardown(application_that_stops_answering_system_status_is_dropped,
                                  s_teardown),
        cmocka_unit_test_teardown(garbage_framing_drops_that_link_and_the_other_carries_on,
                                  s_teardown),
        cmocka_unit_test_teardown(stopped_monitors_fall_silent_and_the_others_keep_reporting,
                                  s_teardown),
        cmocka_unit_test_teardown(monitor_start_beyond_the_link_limit_is_refused, s_teardown),
        cmocka_unit_test_teardown(release_request_gets_release_response_then_close, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
