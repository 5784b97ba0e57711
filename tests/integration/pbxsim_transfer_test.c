//  pbxsim integration: consultation, transfer, single-step transfer, alternate and
//  reconnect (ECMA-269 ConsultationCall, TransferCall, SingleStepTransferCall,
//  AlternateCall, ReconnectCall) as the monitors of every party see them.
#include "pbxsim_steps.h"

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

//  101 (monitor xa) consults `to` while in call `ca` with 102 (monitor xb): the held
//  call, then the new call up to Originated.  Returns 101's connection in the
//  consultation call.
static csta_conn_t consult(fixture_t *f, const csta_conn_t *ca, const char *to,
                           const csta_xref_t *xa, const csta_xref_t *xb)
{
    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_CONSULTATION_CALL;
    req.call.consultation_call.existing_call = *ca;
    csta_device_set(&req.call.consultation_call.consulted_device, to);
    request_ok(f->app, &req, &res);
    csta_conn_t nc = res.call.consultation_call_res.initiated_call;
    csta_apdu_clear(&res);
    assert_device(&nc.device, "101");
    assert_int_equal(nc.call_id_len, 2);
    assert_memory_not_equal(nc.call_id, ca->call_id, 2);

    //  The existing call is held for the consultation, at both of its parties.
    expect_event(f->app, xa, CSTA_EV_HELD, &ev);
    assert_conn(&ev.event.held.held_connection, ca);
    assert_device(&ev.event.held.holding, "101");
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_HOLD);
    assert_int_equal(ev.event.held.cause, CSTA_CAUSE_CONSULTATION);
    csta_apdu_clear(&ev);
    expect_event(f->app, xb, CSTA_EV_HELD, &ev);
    assert_conn(&ev.event.held.held_connection, ca);
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.held.cause, CSTA_CAUSE_CONSULTATION);
    csta_apdu_clear(&ev);

    //  The consultation call: only 101 is in it so far.
    expect_event(f->app, xa, CSTA_EV_SERVICE_INITIATED, &ev);
    assert_conn(&ev.event.service_initiated.initiated_connection, &nc);
    assert_device(&ev.event.service_initiated.initiating, "101");
    assert_int_equal(ev.event.service_initiated.local_state, CSTA_LCS_INITIATED);
    assert_int_equal(ev.event.service_initiated.cause, CSTA_CAUSE_CONSULTATION);
    csta_apdu_clear(&ev);
    expect_event(f->app, xa, CSTA_EV_ORIGINATED, &ev);
    assert_conn(&ev.event.originated.originated_connection, &nc);
    assert_device(&ev.event.originated.calling, "101");
    assert_device(&ev.event.originated.called, to);
    assert_int_equal(ev.event.originated.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.originated.cause, CSTA_CAUSE_CONSULTATION);
    csta_apdu_clear(&ev);
    return nc;
}

//  The consultation call rings at `to` (monitor xt).
static void consult_delivered(fixture_t *f, const csta_conn_t *nc, const char *to,
                              const csta_xref_t *xa, const csta_xref_t *xt)
{
    csta_apdu_t ev;
    csta_conn_t ct = conn_at(nc, to);
    expect_event(f->app, xa, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &ct);
    assert_device(&ev.event.delivered.alerting, to);
    assert_device(&ev.event.delivered.calling, "101");
    assert_device(&ev.event.delivered.called, to);
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.delivered.cause, CSTA_CAUSE_CONSULTATION);
    csta_apdu_clear(&ev);
    if (xt) {
        expect_event(f->app, xt, CSTA_EV_DELIVERED, &ev);
        assert_conn(&ev.event.delivered.connection, &ct);
        assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
        csta_apdu_clear(&ev);
    }
}

//  `to` answers the consultation call.
static void consult_answered(fixture_t *f, const csta_conn_t *nc, const char *to,
                             const csta_xref_t *xa, const csta_xref_t *xt)
{
    csta_apdu_t ev;
    csta_conn_t ct = conn_at(nc, to);
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &ct);
    expect_event(f->app, xa, CSTA_EV_ESTABLISHED, &ev);
    assert_conn(&ev.event.established.established_connection, &ct);
    assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, xt, CSTA_EV_ESTABLISHED, &ev);
    assert_conn(&ev.event.established.established_connection, &ct);
    assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
}

static void assert_list_item(const csta_conn_list_item_t *item, const csta_conn_t *old_conn,
                             const csta_conn_t *new_conn, const char *endpoint)
{
    assert_conn(&item->old_conn, old_conn);
    assert_conn(&item->new_conn, new_conn);
    assert_device(&item->endpoint, endpoint);
}

static void consultation_then_transfer_joins_the_other_two(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);
    csta_conn_t nc = consult(f, &ca, "103", &xa, &xb);
    consult_delivered(f, &nc, "103", &xa, &xc);
    consult_answered(f, &nc, "103", &xa, &xc);
    expect_quiet(f->app);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_TRANSFER_CALL;
    req.call.transfer_call.held_call = ca;
    req.call.transfer_call.active_call = nc;
    request_ok(f->app, &req, &res);
    //  The resulting call is the held one: 102 and 103 talk in it.
    csta_conn_t b_old = conn_at(&ca, "102"), c_old = conn_at(&nc, "103");
    csta_conn_t b_new = conn_at(&ca, "102"), c_new = conn_at(&ca, "103");
    const csta_transfer_call_res_t *r = &res.call.transfer_call_res;
    assert_conn(&r->transferred_call, &c_new);
    assert_true(r->connections.present);
    assert_int_equal(r->connections.count, 2);
    assert_list_item(&r->connections.item[0], &b_old, &b_new, "102");
    assert_list_item(&r->connections.item[1], &c_old, &c_new, "103");
    csta_apdu_clear(&res);

    //  Transferred goes to the two remaining parties and to 101, which is out (null).
    const csta_xref_t *order[] = {&xb, &xc, &xa};
    const csta_lcs_t local[] = {CSTA_LCS_CONNECTED, CSTA_LCS_CONNECTED, CSTA_LCS_NULL};
    for (int i = 0; i < 3; i++) {
        expect_event(f->app, order[i], CSTA_EV_TRANSFERRED, &ev);
        const csta_transferred_t *e = &ev.event.transferred;
        assert_conn(&e->primary_old_call, &ca);
        assert_conn(&e->secondary_old_call, &nc);
        assert_device(&e->transferring, "101");
        assert_device(&e->transferred_to, "103");
        assert_true(e->transferred_connections.present);
        assert_int_equal(e->transferred_connections.count, 2);
        assert_list_item(&e->transferred_connections.item[0], &b_old, &b_new, "102");
        assert_list_item(&e->transferred_connections.item[1], &c_old, &c_new, "103");
        assert_int_equal(e->local_state, local[i]);
        assert_int_equal(e->cause, CSTA_CAUSE_TRANSFER);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "102", CSTA_LCS_CONNECTED, "103", CSTA_LCS_CONNECTED);
    assert_int_equal(stat_of(f, "calls_active"), 1);

    //  101 is free again: it can place a call.
    make_call(f->app, "101", "104");
}

static void transfer_while_the_consulted_party_rings_completes_on_answer(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);
    csta_conn_t nc = consult(f, &ca, "103", &xa, &xb);
    consult_delivered(f, &nc, "103", &xa, &xc);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_TRANSFER_CALL;
    req.call.transfer_call.held_call = ca;
    req.call.transfer_call.active_call = nc;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    const csta_xref_t *order[] = {&xb, &xc, &xa};
    const csta_lcs_t local[] = {CSTA_LCS_CONNECTED, CSTA_LCS_ALERTING, CSTA_LCS_NULL};
    for (int i = 0; i < 3; i++) {
        expect_event(f->app, order[i], CSTA_EV_TRANSFERRED, &ev);
        assert_int_equal(ev.event.transferred.local_state, local[i]);
        csta_apdu_clear(&ev);
    }
    assert_call_parties(f->app, &ca, 2, "102", CSTA_LCS_CONNECTED, "103", CSTA_LCS_ALERTING);

    //  103 answers the call that now comes from 102.
    csta_conn_t c_new = conn_at(&ca, "103");
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &c_new);
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, order[i], CSTA_EV_ESTABLISHED, &ev);
        const csta_established_t *e = &ev.event.established;
        assert_conn(&e->established_connection, &c_new);
        assert_device(&e->answering, "103");
        assert_device(&e->calling, "102");
        assert_device(&e->called, "103");
        assert_int_equal(e->local_state, CSTA_LCS_CONNECTED);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "102", CSTA_LCS_CONNECTED, "103", CSTA_LCS_CONNECTED);
}

static void single_step_transfer_offers_the_other_party_to_the_new_destination(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SINGLE_STEP_TRANSFER;
    req.call.single_step_transfer.active_call = ca;
    csta_device_set(&req.call.single_step_transfer.transferred_to, "103");
    req.call.single_step_transfer.reason = CSTA_CAUSE_ABSENT;
    request_ok(f->app, &req, &res);
    csta_conn_t cb = conn_at(&ca, "102"), cc = conn_at(&ca, "103");
    assert_conn(&res.call.single_step_transfer_res.transferred_call, &cc);
    csta_apdu_clear(&res);

    const csta_xref_t *order[] = {&xb, &xa};
    const csta_lcs_t local[] = {CSTA_LCS_CONNECTED, CSTA_LCS_NULL};
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, order[i], CSTA_EV_TRANSFERRED, &ev);
        const csta_transferred_t *e = &ev.event.transferred;
        assert_conn(&e->primary_old_call, &ca);
        assert_false(e->secondary_old_call.present);
        assert_device(&e->transferring, "101");
        assert_device(&e->transferred_to, "103");
        assert_int_equal(e->transferred_connections.count, 1);
        assert_list_item(&e->transferred_connections.item[0], &cb, &cb, "102");
        assert_int_equal(e->local_state, local[i]);
        assert_int_equal(e->cause, CSTA_CAUSE_SINGLE_STEP_TRANSFER);
        csta_apdu_clear(&ev);
    }
    //  The same call now rings at 103, from 102, redirected by 101.
    expect_event(f->app, &xb, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cc);
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_DELIVERED, &ev);
    const csta_delivered_t *d = &ev.event.delivered;
    assert_conn(&d->connection, &cc);
    assert_device(&d->alerting, "103");
    assert_device(&d->calling, "102");
    assert_device(&d->called, "103");
    assert_device(&d->last_redirection, "101");
    assert_int_equal(d->local_state, CSTA_LCS_ALERTING);
    assert_int_equal(d->cause, CSTA_CAUSE_SINGLE_STEP_TRANSFER);
    csta_apdu_clear(&ev);
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &cc);
    expect_event(f->app, &xb, CSTA_EV_ESTABLISHED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_ESTABLISHED, &ev);
    assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "102", CSTA_LCS_CONNECTED, "103", CSTA_LCS_CONNECTED);
}

static void single_step_transfer_to_an_unknown_number_changes_nothing(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", NULL);
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SINGLE_STEP_TRANSFER;
    req.call.single_step_transfer.active_call = ca;
    csta_device_set(&req.call.single_step_transfer.transferred_to, "999");
    req.call.single_step_transfer.reason = CSTA_CAUSE_ABSENT;
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DESTINATION);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
}

static void alternate_call_swaps_the_held_and_the_active_call(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);
    csta_conn_t nc = consult(f, &ca, "103", &xa, &xb);
    consult_delivered(f, &nc, "103", &xa, &xc);
    consult_answered(f, &nc, "103", &xa, &xc);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_ALTERNATE_CALL;
    req.call.alternate_call.held_call = ca;
    req.call.alternate_call.active_call = nc;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    //  First the consultation is held ...
    expect_event(f->app, &xa, CSTA_EV_HELD, &ev);
    assert_conn(&ev.event.held.held_connection, &nc);
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_HOLD);
    assert_int_equal(ev.event.held.cause, CSTA_CAUSE_ALTERNATE);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xc, CSTA_EV_HELD, &ev);
    assert_conn(&ev.event.held.held_connection, &nc);
    assert_int_equal(ev.event.held.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    //  ... then the first call comes back.
    expect_event(f->app, &xa, CSTA_EV_RETRIEVED, &ev);
    assert_conn(&ev.event.retrieved.retrieved_connection, &ca);
    assert_int_equal(ev.event.retrieved.local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(ev.event.retrieved.cause, CSTA_CAUSE_ALTERNATE);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_RETRIEVED, &ev);
    assert_conn(&ev.event.retrieved.retrieved_connection, &ca);
    assert_int_equal(ev.event.retrieved.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
    assert_call_parties(f->app, &nc, 2, "101", CSTA_LCS_HOLD, "103", CSTA_LCS_CONNECTED);

    //  A transfer needs the held call first: swapped arguments are refused.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_TRANSFER_CALL;
    req.call.transfer_call.held_call = ca;
    req.call.transfer_call.active_call = nc;
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_INVALID_HELD_CONNECTION_STATE);
}

static void reconnect_call_drops_the_consultation_and_retrieves_the_held_call(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_xref_t xc = monitor(f->app, "103");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);
    csta_conn_t nc = consult(f, &ca, "103", &xa, &xb);
    consult_delivered(f, &nc, "103", &xa, &xc);
    consult_answered(f, &nc, "103", &xa, &xc);

    csta_apdu_t req, res, ev;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_RECONNECT_CALL;
    req.call.reconnect_call.held_call = ca;
    req.call.reconnect_call.active_call = nc;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    //  101 leaves the consultation; a call of one party ends, so 103 is cleared too.
    expect_event(f->app, &xc, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &nc);
    assert_device(&ev.event.connection_cleared.releasing, "101");
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &nc);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    csta_conn_t ct = conn_at(&nc, "103");
    expect_event(f->app, &xc, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &ct);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_RETRIEVED, &ev);
    assert_conn(&ev.event.retrieved.retrieved_connection, &ca);
    assert_int_equal(ev.event.retrieved.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_RETRIEVED, &ev);
    assert_int_equal(ev.event.retrieved.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_CALL;
    req.svc.snapshot_call.snapshot_object = nc;
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALL_ID);
}

static void reconnect_after_a_busy_consultation_returns_to_the_held_party(void **state)
{
    fixture_t *f = *state;
    call_established(f->app, "103", NULL, "104", NULL); //  103 is busy
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xb = monitor(f->app, "102");
    csta_conn_t ca = call_established(f->app, "101", &xa, "102", &xb);
    csta_conn_t nc = consult(f, &ca, "103", &xa, &xb);
    csta_apdu_t req, res, ev;
    expect_event(f->app, &xa, CSTA_EV_FAILED, &ev);
    csta_conn_t busy = conn_at(&nc, "103");
    assert_conn(&ev.event.failed.failed_connection, &busy);
    assert_device(&ev.event.failed.failing, "103");
    assert_int_equal(ev.event.failed.local_state, CSTA_LCS_FAIL);
    assert_int_equal(ev.event.failed.cause, CSTA_CAUSE_BUSY);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);

    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_RECONNECT_CALL;
    req.call.reconnect_call.held_call = ca;
    req.call.reconnect_call.active_call = nc;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &nc);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_RETRIEVED, &ev);
    assert_conn(&ev.event.retrieved.retrieved_connection, &ca);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xb, CSTA_EV_RETRIEVED, &ev);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "102", CSTA_LCS_CONNECTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(consultation_then_transfer_joins_the_other_two, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(
            transfer_while_the_consulted_party_rings_completes_on_answer, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            single_step_transfer_offers_the_other_party_to_the_new_destination, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(single_step_transfer_to_an_unknown_number_changes_nothing,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(alternate_call_swaps_the_held_and_the_active_call, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(
            reconnect_call_drops_the_consultation_and_retrieves_the_held_call, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            reconnect_after_a_busy_consultation_returns_to_the_held_party, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
