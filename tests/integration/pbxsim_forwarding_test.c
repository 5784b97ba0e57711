//  pbxsim integration: call forwarding and do-not-disturb (ECMA-269 SetForwarding,
//  GetForwarding, SetDoNotDisturb, GetDoNotDisturb; Forwarding, DoNotDisturb, Diverted
//  and Failed events): immediate, busy and no-answer forwarding, the internal and
//  external variants, refused destinations, and DND.
#include "pbxsim_steps.h"

#define NO_ANSWER_MS 300

static int setup(void **state)
{
    const char *args[] = {"--no-answer-ms", "300", "--remote-answer-ms", "-1", NULL};
    *state = fixture_start(args);
    return 0;
}

//  SetForwarding on `device`; dn NULL cancels.  The Forwarding event goes to xref.
static void set_forwarding(fixture_t *f, const csta_xref_t *xref, const char *device, long type,
                           const char *dn)
{
    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SET_FORWARDING;
    csta_device_set(&req.svc.set_forwarding.device, device);
    req.svc.set_forwarding.has_forwarding_type = true;
    req.svc.set_forwarding.forwarding_type = type;
    req.svc.set_forwarding.activate_forward = dn != NULL;
    if (dn)
        csta_device_set(&req.svc.set_forwarding.forward_dn, dn);
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    if (!xref)
        return;
    expect_event(f->app, xref, CSTA_EV_FORWARDING, &ev);
    const csta_forwarding_t *e = &ev.event.forwarding;
    assert_device(&e->device, device);
    assert_true(e->has_forwarding_type);
    assert_int_equal(e->forwarding_type, type);
    assert_int_equal(e->forward_status, dn != NULL);
    if (dn)
        assert_device(&e->forward_to, dn);
    else
        assert_int_equal(e->forward_to.kind, CSTA_DEV_ABSENT);
    csta_apdu_clear(&ev);
}

//  The call `conn` is diverted from `from` to `to`: Diverted to the caller's monitor xa
//  (if any) and to the diverting device's monitor xf (local state null), then Delivered
//  at the target's monitor xt with the redirection.  Returns the target's connection.
static csta_conn_t expect_diversion(fixture_t *f, const csta_conn_t *conn, const char *calling,
                                    const char *from, const char *to, int cause,
                                    const csta_xref_t *xa, const csta_xref_t *xf,
                                    const csta_xref_t *xt)
{
    csta_apdu_t ev;
    csta_conn_t cf = conn_at(conn, from), ct = conn_at(conn, to);
    const csta_xref_t *told[] = {xa, xf};
    for (int i = 0; i < 2; i++) {
        if (!told[i])
            continue;
        expect_event(f->app, told[i], CSTA_EV_DIVERTED, &ev);
        const csta_diverted_t *e = &ev.event.diverted;
        assert_conn(&e->connection, &cf);
        assert_device(&e->diverting, from);
        assert_device(&e->new_destination, to);
        assert_device(&e->calling, calling);
        assert_device(&e->called, from);
        assert_int_equal(e->cause, cause);
        assert_int_equal(e->local_state, told[i] == xf ? CSTA_LCS_NULL : CSTA_LCS_CONNECTED);
        csta_apdu_clear(&ev);
    }
    if (xa) {
        expect_event(f->app, xa, CSTA_EV_DELIVERED, &ev);
        assert_conn(&ev.event.delivered.connection, &ct);
        csta_apdu_clear(&ev);
    }
    expect_event(f->app, xt, CSTA_EV_DELIVERED, &ev);
    const csta_delivered_t *d = &ev.event.delivered;
    assert_conn(&d->connection, &ct);
    assert_device(&d->alerting, to);
    assert_device(&d->calling, calling);
    assert_device(&d->called, from); //  the number the caller dialled
    assert_device(&d->last_redirection, from);
    assert_int_equal(d->local_state, CSTA_LCS_ALERTING);
    assert_int_equal(d->cause, cause);
    csta_apdu_clear(&ev);
    return ct;
}

//  ServiceInitiated and Originated of a MakeCall at the caller's monitor.
static void expect_originated(fixture_t *f, const csta_xref_t *xa)
{
    csta_apdu_t ev;
    expect_event(f->app, xa, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, xa, CSTA_EV_ORIGINATED, &ev);
    csta_apdu_clear(&ev);
}

static void immediate_forwarding_diverts_before_ringing_and_can_be_cancelled(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    set_forwarding(f, &xb, "102", CSTA_FWD_IMMEDIATE, "103");

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_FORWARDING;
    csta_device_set(&req.svc.get_forwarding.device, "102");
    request_ok(f->app, &req, &res);
    const csta_forward_list_t *list = &res.svc.get_forwarding_res.forwarding_list;
    assert_int_equal(list->count, 1);
    assert_true(list->item[0].has_forwarding_type);
    assert_int_equal(list->item[0].forwarding_type, CSTA_FWD_IMMEDIATE);
    assert_true(list->item[0].forward_status);
    assert_device(&list->item[0].forward_dn, "103");
    csta_apdu_clear(&res);

    csta_conn_t ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    csta_conn_t cc = expect_diversion(f, &ca, "101", "102", "103",
                                      CSTA_CAUSE_CALL_FORWARD_IMMEDIATE, &xa, &xb, &xc);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_ALERTING);
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    csta_apdu_t ev;
    expect_event(f->app, &xc, CSTA_EV_CONNECTION_CLEARED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &cc);
    csta_apdu_clear(&ev);

    //  Cancelled: the list is empty and 102 rings itself.
    set_forwarding(f, &xb, "102", CSTA_FWD_IMMEDIATE, NULL);
    request_ok(f->app, &req, &res);
    assert_int_equal(res.svc.get_forwarding_res.forwarding_list.count, 0);
    csta_apdu_clear(&res);
    ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    csta_conn_t cb = conn_at(&ca, "102");
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    assert_int_equal(ev.event.delivered.last_redirection.kind, CSTA_DEV_NOT_REQUIRED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
}

static void busy_forwarding_applies_only_while_the_device_is_busy(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    set_forwarding(f, &xb, "102", CSTA_FWD_BUSY, "103");

    //  While 102 is free, it rings itself.
    csta_conn_t ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    csta_apdu_t ev;
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_device(&ev.event.delivered.alerting, "102");
    csta_apdu_clear(&ev);
    conn_request_ok(f->app, CSTA_OP_CLEAR_CALL, &ca);
    expect_event(f->app, &xa, CSTA_EV_CALL_CLEARED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_CALL_CLEARED, &ev);
    csta_apdu_clear(&ev);

    call_established(f->app, "102", &xb, "104", NULL); //  102 is busy now
    ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    expect_diversion(f, &ca, "101", "102", "103", CSTA_CAUSE_CALL_FORWARD_BUSY, &xa, &xb, &xc);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_ALERTING);
}

static void no_answer_forwarding_diverts_after_the_ringing_time(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    set_forwarding(f, &xb, "102", CSTA_FWD_NO_ANS, "103");

    long long placed_ms = test_now_ms();
    csta_conn_t ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    csta_apdu_t ev;
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
    csta_apdu_clear(&ev);
    //  102 rings unanswered; the Diverted comes when --no-answer-ms has passed (the
    //  wait is expect_event's deadline, not a sleep).
    expect_diversion(f, &ca, "101", "102", "103", CSTA_CAUSE_CALL_FORWARD_NO_ANSWER, &xa, &xb, &xc);
    long long waited_ms = test_now_ms() - placed_ms;
    if (waited_ms < NO_ANSWER_MS)
        fail_msg("diverted after %lld ms, before the %d ms no-answer time", waited_ms,
                 NO_ANSWER_MS);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_ALERTING);
}

static void internal_and_external_forwarding_tell_callers_apart(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    //  102 forwards outside callers only, 104 inside callers only; both to 103.
    set_forwarding(f, &xb, "102", CSTA_FWD_IMM_EXT, "103");
    set_forwarding(f, NULL, "104", CSTA_FWD_IMM_INT, "103");
    csta_xref_t xd = monitor(f->app, "104");

    //  An inside caller reaches 102 itself ...
    csta_conn_t ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    csta_apdu_t ev;
    csta_conn_t cb = conn_at(&ca, "102");
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cb);
    csta_apdu_clear(&ev);
    conn_request_ok(f->app, CSTA_OP_CLEAR_CALL, &ca);
    expect_event(f->app, &xa, CSTA_EV_CALL_CLEARED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_CALL_CLEARED, &ev);
    csta_apdu_clear(&ev);

    //  ... an outside caller is forwarded to 103.
    ctl_ok(f, "call-in 0301234567 102");
    expect_event(f->app, &xb, CSTA_EV_DIVERTED, &ev);
    const csta_diverted_t *dv = &ev.event.diverted;
    csta_conn_t in = dv->connection;
    assert_device(&in.device, "102");
    assert_device(&dv->new_destination, "103");
    assert_device(&dv->calling, "0301234567");
    assert_int_equal(dv->cause, CSTA_CAUSE_CALL_FORWARD_IMMEDIATE);
    assert_int_equal(dv->local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_DELIVERED, &ev);
    csta_conn_t ct = conn_at(&in, "103");
    assert_conn(&ev.event.delivered.connection, &ct);
    assert_device(&ev.event.delivered.calling, "0301234567");
    assert_device(&ev.event.delivered.called, "102");
    assert_device(&ev.event.delivered.last_redirection, "102");
    csta_apdu_clear(&ev);
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ct);
    expect_event(f->app, &xc, CSTA_EV_CONNECTION_CLEARED, &ev);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);

    //  104: an outside caller rings it, an inside caller is forwarded.
    ctl_ok(f, "call-in 0307654321 104");
    expect_event(f->app, &xd, CSTA_EV_DELIVERED, &ev);
    assert_device(&ev.event.delivered.alerting, "104");
    assert_device(&ev.event.delivered.calling, "0307654321");
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
    csta_conn_t cd = ev.event.delivered.connection;
    csta_apdu_clear(&ev);
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &cd);
    expect_event(f->app, &xd, CSTA_EV_CONNECTION_CLEARED, &ev);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    ca = make_call(f->app, "101", "104");
    expect_originated(f, &xa);
    expect_diversion(f, &ca, "101", "104", "103", CSTA_CAUSE_CALL_FORWARD_IMMEDIATE, &xa, &xd, &xc);
    expect_quiet(f->app);
}

static void get_forwarding_lists_every_active_type(void **state)
{
    fixture_t *f = *state;
    set_forwarding(f, NULL, "102", CSTA_FWD_BUSY_EXT, "0301234567"); //  outside is valid
    set_forwarding(f, NULL, "102", CSTA_FWD_NO_ANS, "103");
    set_forwarding(f, NULL, "102", CSTA_FWD_DND, "104");
    set_forwarding(f, NULL, "102", CSTA_FWD_NO_ANS, NULL);
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_FORWARDING;
    csta_device_set(&req.svc.get_forwarding.device, "102");
    request_ok(f->app, &req, &res);
    const csta_forward_list_t *list = &res.svc.get_forwarding_res.forwarding_list;
    assert_int_equal(list->count, 2);
    const long types[] = {CSTA_FWD_BUSY_EXT, CSTA_FWD_DND};
    const char *dns[] = {"0301234567", "104"};
    for (int i = 0; i < 2; i++) {
        assert_true(list->item[i].has_forwarding_type);
        assert_int_equal(list->item[i].forwarding_type, types[i]);
        assert_true(list->item[i].forward_status);
        assert_device(&list->item[i].forward_dn, dns[i]);
    }
    csta_apdu_clear(&res);
    //  Another device has nothing set.
    csta_device_set(&req.svc.get_forwarding.device, "103");
    request_ok(f->app, &req, &res);
    assert_int_equal(res.svc.get_forwarding_res.forwarding_list.count, 0);
    csta_apdu_clear(&res);
}

static void deflect_call_sends_a_ringing_call_elsewhere(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = make_call(f->app, "101", "102");
    expect_originated(f, &xa);
    csta_apdu_t req, res, ev;
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    csta_apdu_clear(&ev);

    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_DEFLECT_CALL;
    req.call.deflect_call.call_to_be_diverted = conn_at(&ca, "102");
    csta_device_set(&req.call.deflect_call.new_destination, "103");
    req.call.deflect_call.reason = CSTA_CAUSE_ABSENT;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    expect_diversion(f, &ca, "101", "102", "103", CSTA_CAUSE_REDIRECTED, &xa, &xb, &xc);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_ALERTING);

    //  Only a ringing call can be deflected.
    req.call.deflect_call.call_to_be_diverted = ca;
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
}

static void forwarding_to_an_invalid_destination_is_refused(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xb = monitor(f->app, "102");
    const char *bad[] = {"999", "102"}; //  no such number; the device itself
    for (int i = 0; i < 2; i++) {
        csta_apdu_t req;
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_SET_FORWARDING;
        csta_device_set(&req.svc.set_forwarding.device, "102");
        req.svc.set_forwarding.has_forwarding_type = true;
        req.svc.set_forwarding.forwarding_type = CSTA_FWD_IMMEDIATE;
        req.svc.set_forwarding.activate_forward = true;
        csta_device_set(&req.svc.set_forwarding.forward_dn, bad[i]);
        request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_FORWARDING_DESTINATION);
    }
    expect_quiet(f->app); //  no Forwarding event
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_FORWARDING;
    csta_device_set(&req.svc.get_forwarding.device, "102");
    request_ok(f->app, &req, &res);
    assert_int_equal(res.svc.get_forwarding_res.forwarding_list.count, 0);
    csta_apdu_clear(&res);
    (void)xb; //  its monitor is there to prove that no Forwarding event came
}

static void do_not_disturb_fails_callers_until_switched_off(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_apdu_t req, res, ev;
    for (int on = 1; on >= 0; on--) {
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_SET_DO_NOT_DISTURB;
        csta_device_set(&req.svc.set_do_not_disturb.device, "102");
        req.svc.set_do_not_disturb.do_not_disturb_on = on;
        request_ok(f->app, &req, &res);
        csta_apdu_clear(&res);
        expect_event(f->app, &xb, CSTA_EV_DO_NOT_DISTURB, &ev);
        assert_device(&ev.event.do_not_disturb.device, "102");
        assert_int_equal(ev.event.do_not_disturb.do_not_disturb_on, on);
        csta_apdu_clear(&ev);
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_GET_DO_NOT_DISTURB;
        csta_device_set(&req.svc.get_do_not_disturb.device, "102");
        request_ok(f->app, &req, &res);
        assert_int_equal(res.svc.get_do_not_disturb_res.do_not_disturb_on, on);
        csta_apdu_clear(&res);

        csta_conn_t ca = make_call(f->app, "101", "102");
        expect_originated(f, &xa);
        csta_conn_t cb = conn_at(&ca, "102");
        if (on) {
            expect_event(f->app, &xa, CSTA_EV_FAILED, &ev);
            assert_conn(&ev.event.failed.failed_connection, &cb);
            assert_device(&ev.event.failed.failing, "102");
            assert_device(&ev.event.failed.called, "102");
            assert_int_equal(ev.event.failed.local_state, CSTA_LCS_FAIL);
            assert_int_equal(ev.event.failed.cause, CSTA_CAUSE_DO_NOT_DISTURB);
            csta_apdu_clear(&ev);
            expect_quiet(f->app); //  102 is not disturbed
            conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
            expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
            csta_apdu_clear(&ev);
        } else {
            expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
            csta_apdu_clear(&ev);
            expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
            assert_conn(&ev.event.delivered.connection, &cb);
            assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
            csta_apdu_clear(&ev);
        }
        expect_quiet(f->app);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            immediate_forwarding_diverts_before_ringing_and_can_be_cancelled, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(busy_forwarding_applies_only_while_the_device_is_busy,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(no_answer_forwarding_diverts_after_the_ringing_time, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(internal_and_external_forwarding_tell_callers_apart, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(get_forwarding_lists_every_active_type, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(deflect_call_sends_a_ringing_call_elsewhere, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(forwarding_to_an_invalid_destination_is_refused, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(do_not_disturb_fails_callers_until_switched_off, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
