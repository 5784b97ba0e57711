//  pbxsim integration: digits (ECMA-269 GenerateDigits, DialDigits): DTMF on a talking
//  connection reaches every party as DigitsGenerated; a phone lifted with no number
//  (ctl dial N) waits on dial tone with an initiated connection, and DialDigits on that
//  connection places the call.
#include "pbxsim_steps.h"

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

static void generate_digits_reports_the_digits_to_both_parties(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GENERATE_DIGITS;
    req.call.generate_digits.connection_to_send_digits = ca;
    req.call.generate_digits.has_digit_mode = true;
    req.call.generate_digits.digit_mode = CSTA_DIGIT_MODE_DTMF;
    snprintf(req.call.generate_digits.characters_to_send,
             sizeof req.call.generate_digits.characters_to_send, "%s", "1234*#");
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    const csta_xref_t *order[] = {&xa, &xb};
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, order[i], CSTA_EV_DIGITS_GENERATED, &ev);
        assert_conn(&ev.event.digits_generated.connection, &ca);
        assert_string_equal(ev.event.digits_generated.digit_generated_list, "1234*#");
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);

    //  A held connection sends no tones.
    conn_request_ok(f->app, CSTA_OP_HOLD_CALL, &ca);
    expect_event(f->app, &xa, CSTA_EV_HELD, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_HELD, &ev);
    csta_apdu_clear(&ev);
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    expect_quiet(f->app);
}

static void dial_digits_places_the_call_of_a_phone_on_dial_tone(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    ctl_ok(f, "dial 101");
    long call = test_json_long(f->reply, "call", -1);
    csta_apdu_t req, res, ev;
    expect_event(f->app, &xa, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_conn_t ca = ev.event.service_initiated.initiated_connection;
    assert_int_equal(ca.call_id_len, 2);
    assert_int_equal(ca.call_id[0] << 8 | ca.call_id[1], call);
    assert_device(&ca.device, "101");
    assert_device(&ev.event.service_initiated.initiating, "101");
    assert_int_equal(ev.event.service_initiated.local_state, CSTA_LCS_INITIATED);
    assert_int_equal(ev.event.service_initiated.cause, CSTA_CAUSE_NEW_CALL);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 1, "101", CSTA_LCS_INITIATED);

    //  SnapshotDevice sees the initiated connection too.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&req.svc.snapshot_device.snapshot_object, "101");
    request_ok(f->app, &req, &res);
    const csta_snapshot_device_data_t *snap = &res.svc.snapshot_device_res.snapshot_data;
    assert_int_equal(snap->count, 1);
    assert_conn(&snap->item[0].connection_identifier, &ca);
    assert_int_equal(snap->item[0].local_call_state.kind, CSTA_CALL_STATE_COMPOUND);
    assert_int_equal(snap->item[0].local_call_state.compound_count, 1);
    assert_int_equal(snap->item[0].local_call_state.compound[0], CSTA_LCS_INITIATED);
    csta_apdu_clear(&res);

    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_DIAL_DIGITS;
    req.call.dial_digits.dialling_connection = ca;
    csta_device_set(&req.call.dial_digits.dialling_sequence, "102");
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    expect_event(f->app, &xa, CSTA_EV_ORIGINATED, &ev);
    assert_conn(&ev.event.originated.originated_connection, &ca);
    assert_device(&ev.event.originated.calling, "101");
    assert_device(&ev.event.originated.called, "102");
    assert_int_equal(ev.event.originated.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.originated.cause, CSTA_CAUSE_NEW_CALL);
    csta_apdu_clear(&ev);
    csta_conn_t cb = conn_at(&ca, "102");
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    assert_device(&ev.event.delivered.calling, "101");
    assert_device(&ev.event.delivered.called, "102");
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_ALERTING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(generate_digits_reports_the_digits_to_both_parties, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(dial_digits_places_the_call_of_a_phone_on_dial_tone, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
