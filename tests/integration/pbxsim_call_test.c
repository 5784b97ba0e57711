//  pbxsim integration: a basic call (MakeCall, AnswerCall, ClearConnection) as a CSTA
//  application sees it on two monitors, field by field; and the link's rules (one link,
//  Reject for unknown operations).
#include "pbxsim_test_util.h"

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

static void make_call_answer_clear_reports_every_event_to_both_monitors(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    assert_false(csta_xref_equal(&xa, &xb));

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, "101");
    csta_device_set(&req.call.make_call.called, "102");
    request_ok(f->app, &req, &res);
    csta_conn_t ca = res.call.make_call_res.calling;
    assert_int_equal(ca.call_id_len, 2);
    assert_device(&ca.device, "101");
    csta_apdu_clear(&res);
    csta_conn_t cb = ca;
    csta_device_set(&cb.device, "102");

    expect_event(f->app, &xa, CSTA_EV_SERVICE_INITIATED, &ev);
    assert_conn(&ev.event.service_initiated.initiated_connection, &ca);
    assert_device(&ev.event.service_initiated.initiating, "101");
    assert_int_equal(ev.event.service_initiated.local_state, CSTA_LCS_INITIATED);
    assert_int_equal(ev.event.service_initiated.cause, CSTA_CAUSE_MAKE_CALL);
    csta_apdu_clear(&ev);

    expect_event(f->app, &xa, CSTA_EV_ORIGINATED, &ev);
    assert_conn(&ev.event.originated.originated_connection, &ca);
    assert_device(&ev.event.originated.calling, "101");
    assert_device(&ev.event.originated.called, "102");
    assert_int_equal(ev.event.originated.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);

    //  Delivered goes to both monitors, each with its own device's connection state.
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    assert_device(&ev.event.delivered.alerting, "102");
    assert_device(&ev.event.delivered.calling, "101");
    assert_device(&ev.event.delivered.called, "102");
    assert_int_equal(ev.event.delivered.last_redirection.kind, CSTA_DEV_NOT_REQUIRED);
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.delivered.cause, CSTA_CAUSE_NEW_CALL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    assert_string_equal(ev.event.delivered.calling.name, "Extension 101");
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
    csta_apdu_clear(&ev);

    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_ANSWER_CALL;
    req.call.answer_call.call_to_be_answered = cb;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    expect_event(f->app, &xa, CSTA_EV_ESTABLISHED, &ev);
    assert_conn(&ev.event.established.established_connection, &cb);
    assert_device(&ev.event.established.answering, "102");
    assert_device(&ev.event.established.calling, "101");
    assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_ESTABLISHED, &ev);
    assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);

    //  101 hangs up: both hear of it; the call ends, so 102 is cleared too.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_CLEAR_CONNECTION;
    req.call.clear_connection.connection = ca;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    expect_event(f->app, &xb, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &ca);
    assert_device(&ev.event.connection_cleared.releasing, "101");
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.connection_cleared.cause, CSTA_CAUSE_NORMAL_CLEARING);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &ca);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &cb);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_no_event(f->app, 200);

    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "calls_active", -1), 0);
    assert_int_equal(test_json_long(f->reply, "calls_completed", -1), 1);
}

static void second_link_is_refused_and_recorded(void **state)
{
    fixture_t *f = *state;
    csta_client_cfg_t cfg = {.port = f->sim.port, .timeout_ms = 3000};
    csta_client_t *second = csta_client_new(&cfg);
    assert_int_equal(csta_client_connect(second), -EACCES);
    assert_int_equal(csta_client_aare(second)->result, CSTA_AARE_REJECTED_PERMANENT);
    csta_client_destroy(&second);
    //  The first link still works.
    monitor(f->app, "103");
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    assert_int_equal(test_json_long(f->reply, "links_refused", -1), 1);
    assert_int_equal(test_json_long(f->reply, "links_open", -1), 1);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "links"), 0);
    assert_non_null(strstr(f->reply, "\"refused\":true"));
    assert_non_null(strstr(f->reply, "\"reason\":\"link-limit\""));
}

static void unknown_operation_gets_a_reject(void **state)
{
    fixture_t *f = *state;
    //  Invoke id 9, opcode 999 (02 02 03 e7), NULL argument.
    const uint8_t invoke[] = {0xa1, 0x09, 0x02, 0x01, 0x09, 0x02, 0x02, 0x03, 0xe7, 0x05, 0x00};
    assert_int_equal(csta_client_send_raw(f->app, invoke, sizeof invoke), 0);
    csta_apdu_t res;
    assert_int_equal(csta_client_wait_reply(f->app, 9, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_REJECT);
    assert_int_equal(res.reject.kind, CSTA_REJECT_INVOKE);
    assert_int_equal(res.reject.problem, CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION);
    //  The link carries on.
    monitor(f->app, "104");
}

static void unknown_device_gets_universal_failure(void **state)
{
    fixture_t *f = *state;
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "999");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_MONITOR_OBJECT);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, "999");
    csta_device_set(&req.call.make_call.called, "101");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALLING_DEVICE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(make_call_answer_clear_reports_every_event_to_both_monitors,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(second_link_is_refused_and_recorded, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(unknown_operation_gets_a_reject, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(unknown_device_gets_universal_failure, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
