//  pbxsim integration: three-party calls (ECMA-269 ConferenceCall and
//  SingleStepConferenceCall): Conferenced with the connection list at every party,
//  everyone connected, and a party leaving a conference.
#include "pbxsim_steps.h"

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

//  The next event is `type` on xref; its body is dropped (checked by other tests).
static void skip_event(fixture_t *f, const csta_xref_t *xref, csta_event_type_t type)
{
    csta_apdu_t ev;
    expect_event(f->app, xref, type, &ev);
    csta_apdu_clear(&ev);
}

static void assert_list_item(const csta_conn_list_item_t *item, const csta_conn_t *old_conn,
                             const csta_conn_t *new_conn, const char *endpoint)
{
    if (old_conn)
        assert_conn(&item->old_conn, old_conn);
    else
        assert_false(item->old_conn.present);
    assert_conn(&item->new_conn, new_conn);
    assert_device(&item->endpoint, endpoint);
}

static void conference_call_joins_the_held_and_the_active_call(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);

    //  101 consults 103, who answers (the events are proven in pbxsim_transfer_test).
    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_CONSULTATION_CALL;
    req.call.consultation_call.existing_call = ca;
    csta_device_set(&req.call.consultation_call.consulted_device, "103");
    request_ok(f->app, &req, &res);
    csta_conn_t nc = res.call.consultation_call_res.initiated_call;
    csta_apdu_clear(&res);
    skip_event(f, &xa, CSTA_EV_HELD);
    skip_event(f, &xb, CSTA_EV_HELD);
    skip_event(f, &xa, CSTA_EV_SERVICE_INITIATED);
    skip_event(f, &xa, CSTA_EV_ORIGINATED);
    skip_event(f, &xa, CSTA_EV_DELIVERED);
    skip_event(f, &xc, CSTA_EV_DELIVERED);
    csta_conn_t c_old = conn_at(&nc, "103");
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &c_old);
    skip_event(f, &xa, CSTA_EV_ESTABLISHED);
    skip_event(f, &xc, CSTA_EV_ESTABLISHED);
    expect_quiet(f->app);

    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_CONFERENCE_CALL;
    req.call.conference_call.held_call = ca;
    req.call.conference_call.active_call = nc;
    request_ok(f->app, &req, &res);
    csta_conn_t b = conn_at(&ca, "102"), c_new = conn_at(&ca, "103");
    const csta_conference_call_res_t *r = &res.call.conference_call_res;
    assert_conn(&r->conference_call, &ca);
    assert_int_equal(r->connections.count, 3);
    assert_list_item(&r->connections.item[0], &ca, &ca, "101");
    assert_list_item(&r->connections.item[1], &b, &b, "102");
    assert_list_item(&r->connections.item[2], &c_old, &c_new, "103");
    csta_apdu_clear(&res);

    const csta_xref_t *order[] = {&xa, &xb, &xc};
    for (int i = 0; i < 3; i++) {
        expect_event(f->app, order[i], CSTA_EV_CONFERENCED, &ev);
        const csta_conferenced_t *e = &ev.event.conferenced;
        assert_conn(&e->primary_old_call, &ca);
        assert_conn(&e->secondary_old_call, &nc);
        assert_device(&e->conferencing, "101");
        assert_device(&e->added_party, "103");
        assert_true(e->conference_connections.present);
        assert_int_equal(e->conference_connections.count, 3);
        assert_list_item(&e->conference_connections.item[0], &ca, &ca, "101");
        assert_list_item(&e->conference_connections.item[1], &b, &b, "102");
        assert_list_item(&e->conference_connections.item[2], &c_old, &c_new, "103");
        assert_int_equal(e->local_state, CSTA_LCS_CONNECTED);
        assert_int_equal(e->cause, CSTA_CAUSE_CONFERENCE);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 3, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED, "103",
                        CSTA_LCS_CONNECTED);
    assert_int_equal(stat_of(f, "calls_active"), 1);

    //  102 leaves; the other two stay in the call.
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &b);
    const csta_xref_t *told[] = {&xa, &xc, &xb};
    const csta_lcs_t local[] = {CSTA_LCS_CONNECTED, CSTA_LCS_CONNECTED, CSTA_LCS_NULL};
    for (int i = 0; i < 3; i++) {
        expect_event(f->app, told[i], CSTA_EV_CONNECTION_CLEARED, &ev);
        assert_conn(&ev.event.connection_cleared.dropped_connection, &b);
        assert_device(&ev.event.connection_cleared.releasing, "102");
        assert_int_equal(ev.event.connection_cleared.local_state, local[i]);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_CONNECTED);
}

static void single_step_conference_adds_a_device_without_ringing(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SINGLE_STEP_CONFERENCE;
    req.call.single_step_conference.active_call = ca;
    csta_device_set(&req.call.single_step_conference.device_to_join, "103");
    request_ok(f->app, &req, &res);
    csta_conn_t b = conn_at(&ca, "102"), c = conn_at(&ca, "103");
    assert_conn(&res.call.single_step_conference_res.conferenced_call, &c);
    csta_apdu_clear(&res);

    const csta_xref_t *order[] = {&xa, &xb, &xc};
    for (int i = 0; i < 3; i++) {
        expect_event(f->app, order[i], CSTA_EV_CONFERENCED, &ev);
        const csta_conferenced_t *e = &ev.event.conferenced;
        assert_conn(&e->primary_old_call, &ca);
        assert_false(e->secondary_old_call.present);
        assert_device(&e->conferencing, "101");
        assert_device(&e->added_party, "103");
        assert_int_equal(e->conference_connections.count, 3);
        assert_list_item(&e->conference_connections.item[0], &ca, &ca, "101");
        assert_list_item(&e->conference_connections.item[1], &b, &b, "102");
        assert_list_item(&e->conference_connections.item[2], NULL, &c, "103");
        assert_int_equal(e->local_state, CSTA_LCS_CONNECTED);
        assert_int_equal(e->cause, CSTA_CAUSE_SINGLE_STEP_CONFERENCE);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 3, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED, "103",
                        CSTA_LCS_CONNECTED);
}

static void single_step_conference_of_a_busy_device_is_refused(void **state)
{
    fixture_t *f = *state;
    call_established(f->app, "104", NULL, "105", NULL);
    csta_xref_t xa = monitor(f->app, "101");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", NULL);
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SINGLE_STEP_CONFERENCE;
    req.call.single_step_conference.active_call = ca;
    csta_device_set(&req.call.single_step_conference.device_to_join, "104");
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_INVALID_DEVICE_STATE);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SINGLE_STEP_CONFERENCE;
    req.call.single_step_conference.active_call = ca;
    csta_device_set(&req.call.single_step_conference.device_to_join, "999");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conference_call_joins_the_held_and_the_active_call, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(single_step_conference_adds_a_device_without_ringing, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(single_step_conference_of_a_busy_device_is_refused, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
