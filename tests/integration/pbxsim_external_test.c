//  pbxsim integration: calls over trunks.  An outside number (prefix 0) leaves on a free
//  CO line (NetworkReached, Delivered, Established when the far end answers after
//  --remote-answer-ms); an inbound call brings the caller's number and name; when every
//  trunk is taken, the caller gets Failed (trunksBusy).
#include "pbxsim_steps.h"

#define REMOTE_ANSWER_MS 300

static int setup(void **state)
{
    const char *args[] = {"--remote-answer-ms", "300", "--trunks", "2", NULL};
    *state = fixture_start(args);
    return 0;
}

static void outside_call_reaches_the_network_and_is_answered_by_the_far_end(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    csta_xref_t xt = monitor(f->app, "801"); //  the first CO line
    long long placed_ms = test_now_ms();
    csta_conn_t ca = make_call(f->app, "101", "0301234567");
    csta_conn_t ct = conn_at(&ca, "801");
    csta_apdu_t ev;
    expect_event(f->app, &xa, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_ORIGINATED, &ev);
    assert_device(&ev.event.originated.called, "0301234567");
    csta_apdu_clear(&ev);

    //  NetworkReached and Delivered go to the caller and to the trunk's monitor.
    const csta_xref_t *order[] = {&xa, &xt};
    const csta_lcs_t local[] = {CSTA_LCS_CONNECTED, CSTA_LCS_ALERTING};
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, order[i], CSTA_EV_NETWORK_REACHED, &ev);
        const csta_network_reached_t *e = &ev.event.network_reached;
        assert_conn(&e->outbound_connection, &ct);
        assert_device(&e->network_interface_used, "801");
        assert_string_equal(e->network_interface_used.name, "CO 1");
        assert_device(&e->calling, "101");
        assert_device(&e->called, "0301234567");
        assert_int_equal(e->local_state, local[i]);
        assert_int_equal(e->cause, CSTA_CAUSE_NORMAL);
        csta_apdu_clear(&ev);
    }
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, order[i], CSTA_EV_DELIVERED, &ev);
        const csta_delivered_t *e = &ev.event.delivered;
        assert_conn(&e->connection, &ct);
        assert_device(&e->alerting, "0301234567");
        assert_device(&e->calling, "101");
        assert_device(&e->called, "0301234567");
        assert_int_equal(e->local_state, local[i]);
        assert_int_equal(e->cause, CSTA_CAUSE_NEW_CALL);
        csta_apdu_clear(&ev);
    }
    //  The far end answers by itself (expect_event's deadline bounds the wait).
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, order[i], CSTA_EV_ESTABLISHED, &ev);
        const csta_established_t *e = &ev.event.established;
        assert_conn(&e->established_connection, &ct);
        assert_device(&e->answering, "0301234567");
        assert_device(&e->calling, "101");
        assert_int_equal(e->local_state, CSTA_LCS_CONNECTED);
        csta_apdu_clear(&ev);
    }
    long long waited_ms = test_now_ms() - placed_ms;
    if (waited_ms < REMOTE_ANSWER_MS)
        fail_msg("answered after %lld ms, before --remote-answer-ms %d", waited_ms,
                 REMOTE_ANSWER_MS);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "101", CSTA_LCS_CONNECTED, "0301234567",
                        CSTA_LCS_CONNECTED);

    //  The caller hangs up: the trunk is released.
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    expect_event(f->app, &xt, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &ca);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xt, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &ct);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_int_equal(stat_of(f, "calls_active"), 0);
}

static void inbound_call_brings_the_callers_number_and_name(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xa = monitor(f->app, "101");
    ctl_ok(f, "call-in 0301234567 101 John Doe");
    long call = test_json_long(f->reply, "call", -1);
    csta_apdu_t ev;
    expect_event(f->app, &xa, CSTA_EV_DELIVERED, &ev);
    const csta_delivered_t *e = &ev.event.delivered;
    csta_conn_t ca = e->connection;
    assert_int_equal(ca.call_id_len, 2);
    assert_int_equal(ca.call_id[0] << 8 | ca.call_id[1], call);
    assert_device(&ca.device, "101");
    assert_device(&e->alerting, "101");
    assert_int_equal(e->calling.kind, CSTA_DEV_DIALING);
    assert_device(&e->calling, "0301234567");
    assert_string_equal(e->calling.name, "John Doe");
    assert_device(&e->called, "101");
    assert_int_equal(e->last_redirection.kind, CSTA_DEV_NOT_REQUIRED);
    assert_int_equal(e->local_state, CSTA_LCS_ALERTING);
    assert_int_equal(e->cause, CSTA_CAUSE_NEW_CALL);
    csta_apdu_clear(&ev);

    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &ca);
    expect_event(f->app, &xa, CSTA_EV_ESTABLISHED, &ev);
    assert_conn(&ev.event.established.established_connection, &ca);
    assert_device(&ev.event.established.calling, "0301234567");
    assert_string_equal(ev.event.established.calling.name, "John Doe");
    assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    assert_call_parties(f->app, &ca, 2, "0301234567", CSTA_LCS_CONNECTED, "101",
                        CSTA_LCS_CONNECTED);

    //  The outside caller hangs up (the network clears the trunk).
    ctl_ok(f, "hangup 801");
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_device(&ev.event.connection_cleared.releasing, "0301234567");
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_CONNECTED);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    assert_conn(&ev.event.connection_cleared.dropped_connection, &ca);
    assert_int_equal(ev.event.connection_cleared.local_state, CSTA_LCS_NULL);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
}

static void every_trunk_taken_fails_the_caller_with_trunks_busy(void **state)
{
    fixture_t *f = *state;
    make_call(f->app, "102", "0111");
    make_call(f->app, "103", "0222");
    csta_xref_t xa = monitor(f->app, "101");
    csta_conn_t ca = make_call(f->app, "101", "0333");
    csta_apdu_t ev;
    expect_event(f->app, &xa, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_ORIGINATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &xa, CSTA_EV_FAILED, &ev);
    csta_conn_t out = conn_at(&ca, "0333");
    assert_conn(&ev.event.failed.failed_connection, &out);
    assert_device(&ev.event.failed.failing, "0333");
    assert_device(&ev.event.failed.called, "0333");
    assert_int_equal(ev.event.failed.local_state, CSTA_LCS_FAIL);
    assert_int_equal(ev.event.failed.cause, CSTA_CAUSE_TRUNKS_BUSY);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
    //  No trunk for an inbound call either.
    assert_int_not_equal(
        test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "call-in 0301234567 104"), 0);
    assert_non_null(strstr(f->reply, "busy"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            outside_call_reaches_the_network_and_is_answered_by_the_far_end, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(inbound_call_brings_the_callers_number_and_name, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(every_trunk_taken_fails_the_caller_with_trunks_busy, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
