//  pbxsim integration: hold and retrieve as both parties' monitors see them, the errors
//  a PBX gives for them, and a call to a busy device (ECMA-269 HoldCall, RetrieveCall,
//  Failed).
#include "pbxsim_steps.h"

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

static void hold_and_retrieve_tell_both_parties_their_own_state(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);
    csta_apdu_t ev;

    conn_request_ok(f->app, CSTA_OP_HOLD_CALL, &ca);
    expect_event(f->app, &xa, CSTA_EV_HELD, &ev);
    assert_conn(&ev.event.held.held_connection, &ca);
    assert_device(&ev.event.held.holding, "101");
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_HOLD);
    assert_int_equal(ev.event.held.cause, CSTA_CAUSE_NORMAL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_HELD, &ev);
    assert_conn(&ev.event.held.held_connection, &ca);
    assert_device(&ev.event.held.holding, "101");
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_HOLD, "102", CSTA_LCS_CONNECTED);

    conn_request_ok(f->app, CSTA_OP_RETRIEVE_CALL, &ca);
    expect_event(f->app, &xa, CSTA_EV_RETRIEVED, &ev);
    assert_conn(&ev.event.retrieved.retrieved_connection, &ca);
    assert_device(&ev.event.retrieved.retrieving, "101");
    assert_int_equal(ev.event.retrieved.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.retrieved.cause, CSTA_CAUSE_NORMAL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_RETRIEVED, &ev);
    assert_conn(&ev.event.retrieved.retrieved_connection, &ca);
    assert_int_equal(ev.event.retrieved.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
}

static void hold_key_on_the_phone_reports_key_operation(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xb = monitor(f->app, "102");
    csta_conn_t ca = call_established(f->app, "101", NULL, "102", &xb);
    ctl_ok(f, "hold 102");
    csta_apdu_t ev;
    expect_event(f->app, &xb, CSTA_EV_HELD, &ev);
    csta_conn_t cb = conn_at(&ca, "102");
    assert_conn(&ev.event.held.held_connection, &cb);
    assert_device(&ev.event.held.holding, "102");
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_HOLD);
    assert_int_equal(ev.event.held.cause, CSTA_CAUSE_KEY_OPERATION);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_HOLD);
}

static void retrieving_a_call_that_is_not_held_fails_no_held_call(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", NULL);
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_RETRIEVE_CALL;
    req.call.retrieve_call.call_to_be_retrieved = ca;
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_NO_HELD_CALL);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
}

static void holding_an_unknown_connection_fails_invalid_connection_id(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", NULL);
    csta_apdu_t req;
    //  A call id the switch never gave out.
    const uint8_t unknown[2] = {0x7e, 0x57};
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_HOLD_CALL;
    csta_conn_set(&req.call.hold_call.call_to_be_held, unknown, 2, "101");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CONNECTION_ID);
    //  A real call, but a device that is not in it.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_HOLD_CALL;
    req.call.hold_call.call_to_be_held = conn_at(&ca, "103");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CONNECTION_ID);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
}

//  No call waiting: a held call cannot come back while another call is connected.
static void retrieving_while_another_call_is_connected_fails(void **state)
{
    fixture_t *f = *state;
    csta_conn_t first = call_established(f->app, "101", NULL, "102", NULL);
    conn_request_ok(f->app, CSTA_OP_HOLD_CALL, &first);
    csta_conn_t second = call_established(f->app, "101", NULL, "103", NULL);
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_RETRIEVE_CALL;
    req.call.retrieve_call.call_to_be_retrieved = first;
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_CONNECTED_CALL_EXISTS);
    assert_call_parties(f->app, &first, 2, "101", CSTA_LCS_HOLD, "102", CSTA_LCS_CONNECTED);
    assert_call_parties(f->app, &second, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_CONNECTED);
}

static void calling_a_busy_device_fails_with_cause_busy_at_the_caller(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    call_established(f->app, "101", &xa, "102", &xb);

    csta_conn_t cc = make_call(f->app, "103", "101");
    csta_apdu_t ev;
    expect_event(f->app, &xc, CSTA_EV_SERVICE_INITIATED, &ev);
    assert_conn(&ev.event.service_initiated.initiated_connection, &cc);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_ORIGINATED, &ev);
    assert_conn(&ev.event.originated.originated_connection, &cc);
    assert_device(&ev.event.originated.called, "101");
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_FAILED, &ev);
    const csta_failed_t *e = &ev.event.failed;
    csta_conn_t busy = conn_at(&cc, "101");
    assert_conn(&e->failed_connection, &busy);
    assert_device(&e->failing, "101");
    assert_device(&e->calling, "103");
    assert_device(&e->called, "101");
    assert_int_equal(e->last_redirection.kind, CSTA_DEV_NOT_REQUIRED);
    assert_int_equal(e->local_state, CSTA_LCS_FAIL); //  103 hears busy tone
    assert_int_equal(e->cause, CSTA_CAUSE_BUSY);
    csta_apdu_clear(&ev);
    //  The busy call is not disturbed: 101 and 102 hear nothing of it.
    expect_quiet(f->app);
    assert_call_parties(f->app, &cc, 1, "103", CSTA_LCS_FAIL);

    //  103 is busy itself until it hangs up.
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, "103");
    csta_device_set(&req.call.make_call.called, "104");
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_INVALID_CALLING_DEVICE_STATE);

    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &cc);
    expect_event(f->app, &xc, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &cc);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_int_equal(stat_of(f, "calls_active"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hold_and_retrieve_tell_both_parties_their_own_state, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(hold_key_on_the_phone_reports_key_operation, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(retrieving_a_call_that_is_not_held_fails_no_held_call,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(holding_an_unknown_connection_fails_invalid_connection_id,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(retrieving_while_another_call_is_connected_fails, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(calling_a_busy_device_fails_with_cause_busy_at_the_caller,
                                        setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
