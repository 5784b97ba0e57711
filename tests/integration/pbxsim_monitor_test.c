//  pbxsim integration: monitor filters and stopping a monitor (ECMA-269 MonitorStart with
//  requestedMonitorFilter, ChangeMonitorFilter, MonitorStop).  A set filter bit
//  suppresses that event; filter bits are not the event tags (csta-facts.md 2.3:
//  delivered is callControl bit 3, established bit 5, forwarding logical bit 12).
#include "pbxsim_steps.h"

#define S_BIT_DELIVERED 3
#define S_BIT_ESTABLISHED 5
#define S_BIT_FORWARDING 12

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

//  MonitorStart on `number` with a filter; the switch must grant that filter.
static csta_xref_t monitor_filtered(csta_client_t *app, const char *number,
                                    const csta_monitor_filter_t *filter)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, number);
    req.svc.monitor_start.filter = *filter;
    request_ok(app, &req, &res);
    const csta_monitor_start_res_t *r = &res.svc.monitor_start_res;
    assert_true(r->filter.present);
    assert_int_equal(r->filter.call_control, filter->call_control);
    assert_int_equal(r->filter.logical_device_feature, filter->logical_device_feature);
    csta_xref_t xref = r->xref;
    csta_apdu_clear(&res);
    return xref;
}

//  101 (monitor xa, unfiltered) calls 102, 102 answers: xa sees every event, xb (on
//  102) only Delivered if want_delivered and Established if want_established.  The
//  strict order of the events proves that nothing else reached xb in between.
static csta_conn_t call_seen_through(fixture_t *f, const csta_xref_t *xa, const csta_xref_t *xb,
                                     bool want_delivered, bool want_established)
{
    csta_apdu_t ev;
    csta_conn_t ca = make_call(f->app, "101", "102");
    csta_conn_t cb = conn_at(&ca, "102");
    expect_event(f->app, xa, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, xa, CSTA_EV_ORIGINATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, xa, CSTA_EV_DELIVERED, &ev);
    csta_apdu_clear(&ev);
    if (want_delivered) {
        expect_event(f->app, xb, CSTA_EV_DELIVERED, &ev);
        assert_conn(&ev.event.delivered.connection, &cb);
        assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
        csta_apdu_clear(&ev);
    }
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &cb);
    expect_event(f->app, xa, CSTA_EV_ESTABLISHED, &ev);
    csta_apdu_clear(&ev);
    if (want_established) {
        expect_event(f->app, xb, CSTA_EV_ESTABLISHED, &ev);
        assert_conn(&ev.event.established.established_connection, &cb);
        assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    return ca;
}

//  The call ends from 101's side; xb hears of it unless it stopped.
static void hang_up(fixture_t *f, const csta_conn_t *ca, const csta_xref_t *xa,
                    const csta_xref_t *xb)
{
    csta_apdu_t ev;
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, ca);
    if (xb) {
        expect_event(f->app, xb, CSTA_EV_CONNECTION_CLEARED, &ev);
        csta_apdu_clear(&ev);
    }
    expect_event(f->app, xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    csta_apdu_clear(&ev);
    if (xb) {
        expect_event(f->app, xb, CSTA_EV_CONNECTION_CLEARED, &ev);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
}

static void a_filter_bit_suppresses_its_event_and_change_monitor_filter_moves_it(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_monitor_filter_t filter = {.present = true, .call_control = 1u << S_BIT_DELIVERED};
    csta_xref_t xb = monitor_filtered(f->app, "102", &filter);
    csta_conn_t ca = call_seen_through(f, &xa, &xb, false, true);
    hang_up(f, &ca, &xa, &xb);

    //  Now Established is filtered and Delivered comes again.
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_CHANGE_MONITOR_FILTER;
    req.svc.change_monitor_filter.xref = xb;
    req.svc.change_monitor_filter.filter.call_control = 1u << S_BIT_ESTABLISHED;
    request_ok(f->app, &req, &res);
    assert_int_equal(res.svc.change_monitor_filter_res.filter.call_control,
                     1u << S_BIT_ESTABLISHED);
    csta_apdu_clear(&res);
    ca = call_seen_through(f, &xa, &xb, true, false);
    hang_up(f, &ca, &xa, &xb);

    //  An empty filter reports everything.
    req.svc.change_monitor_filter.filter.call_control = 0;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    ca = call_seen_through(f, &xa, &xb, true, true);
    hang_up(f, &ca, &xa, &xb);

    //  A cross reference the switch never gave out.
    csta_xref_set(&req.svc.change_monitor_filter.xref, "\x7e\x57", 2);
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
}

static void a_logical_device_filter_suppresses_forwarding_events(void **state)
{
    fixture_t *f = *state;
    csta_monitor_filter_t filter = {.present = true,
                                    .logical_device_feature = 1u << S_BIT_FORWARDING};
    csta_xref_t xb = monitor_filtered(f->app, "102", &filter);
    csta_xref_t xb2 = monitor(f->app, "102"); //  a second, unfiltered monitor
    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SET_FORWARDING;
    csta_device_set(&req.svc.set_forwarding.device, "102");
    req.svc.set_forwarding.has_forwarding_type = true;
    req.svc.set_forwarding.forwarding_type = CSTA_FWD_IMMEDIATE;
    req.svc.set_forwarding.activate_forward = true;
    csta_device_set(&req.svc.set_forwarding.forward_dn, "103");
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    expect_event(f->app, &xb2, CSTA_EV_FORWARDING, &ev);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    (void)xb;
}

static void monitor_stop_ends_the_events(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    ctl_ok(f, "monitors 102");
    assert_int_equal(test_json_long(f->reply, "monitors", -1), 1);
    long active = stat_of(f, "monitors_active");
    assert_int_equal(active, 2);

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_STOP;
    req.svc.monitor_stop.xref = xb;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    ctl_ok(f, "monitors 102");
    assert_int_equal(test_json_long(f->reply, "monitors", -1), 0);
    assert_int_equal(stat_of(f, "monitors_active"), 1);
    assert_int_equal(stat_of(f, "monitor_stops"), 1);

    //  Only 101's monitor hears of the next call.
    csta_conn_t ca = call_seen_through(f, &xa, &xb, false, false);
    hang_up(f, &ca, &xa, NULL);
    //  Stopping it again: the cross reference is gone.
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_filter_bit_suppresses_its_event_and_change_monitor_filter_moves_it, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(a_logical_device_filter_suppresses_forwarding_events, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(monitor_stop_ends_the_events, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
