//  pbxsim integration: groups from a YAML device file (ECMA-269 DirectedPickupCall,
//  GroupPickupCall; hunt groups): a picked-up call is Diverted (callPickup) from the
//  ringing device and Established at the picker, which never rang; a hunt group rings
//  its first idle member.
#include "pbxsim_steps.h"

static const char s_devices[] = "extensions:\n"
                                "  - range: 101-110\n"
                                "trunks: 2\n"
                                "groups:\n"
                                "  - number: \"600\"\n"
                                "    name: Sales\n"
                                "    type: hunt\n"
                                "    members: [\"101\", \"102\", \"103\"]\n"
                                "  - number: \"700\"\n"
                                "    name: Back office\n"
                                "    type: pickup\n"
                                "    members: [\"104\", \"105\", \"106\"]\n";

static int setup(void **state)
{
    char path[64];
    write_devices_file(path, sizeof path, s_devices);
    const char *args[] = {"--devices", path, NULL};
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    int rc = test_pbxsim_start(&f->sim, args);
    unlink(path); //  read before pbxsim said ready
    assert_int_equal(rc, 0);
    csta_client_cfg_t cfg = {.port = f->sim.port};
    f->app = csta_client_new(&cfg);
    assert_non_null(f->app);
    assert_int_equal(csta_client_connect(f->app), 0);
    *state = f;
    return 0;
}

//  `caller` (monitor xc) calls `ringing` (monitor xr): both see the Delivered.
static csta_conn_t ring(fixture_t *f, const char *caller, const csta_xref_t *xc,
                        const char *ringing, const csta_xref_t *xr)
{
    csta_conn_t conn = make_call(f->app, caller, ringing);
    csta_conn_t cr = conn_at(&conn, ringing);
    csta_apdu_t ev;
    expect_event(f->app, xc, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, xc, CSTA_EV_ORIGINATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, xc, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cr);
    csta_apdu_clear(&ev);
    expect_event(f->app, xr, CSTA_EV_DELIVERED, &ev);
    assert_conn(&ev.event.delivered.connection, &cr);
    assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
    csta_apdu_clear(&ev);
    return conn;
}

//  The call from `caller` ringing at `ringing` was picked up by `picker`: Diverted at
//  the caller and the ringing device, then Established at the caller and the picker.
static void expect_picked_up(fixture_t *f, const csta_conn_t *conn, const char *caller,
                             const char *ringing, const char *picker, const csta_xref_t *xc,
                             const csta_xref_t *xr, const csta_xref_t *xp)
{
    csta_apdu_t ev;
    csta_conn_t cr = conn_at(conn, ringing), cp = conn_at(conn, picker);
    const csta_xref_t *diverted[] = {xc, xr};
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, diverted[i], CSTA_EV_DIVERTED, &ev);
        const csta_diverted_t *e = &ev.event.diverted;
        assert_conn(&e->connection, &cr);
        assert_device(&e->diverting, ringing);
        assert_device(&e->new_destination, picker);
        assert_device(&e->calling, caller);
        assert_device(&e->called, ringing);
        assert_int_equal(e->local_state, i == 0 ? CSTA_LCS_CONNECTED : CSTA_LCS_NULL);
        assert_int_equal(e->cause, CSTA_CAUSE_CALL_PICKUP);
        csta_apdu_clear(&ev);
    }
    const csta_xref_t *established[] = {xc, xp};
    for (int i = 0; i < 2; i++) {
        expect_event(f->app, established[i], CSTA_EV_ESTABLISHED, &ev);
        const csta_established_t *e = &ev.event.established;
        assert_conn(&e->established_connection, &cp);
        assert_device(&e->answering, picker);
        assert_device(&e->calling, caller);
        assert_device(&e->called, ringing);
        assert_device(&e->last_redirection, ringing);
        assert_int_equal(e->local_state, CSTA_LCS_CONNECTED);
        assert_int_equal(e->cause, CSTA_CAUSE_CALL_PICKUP);
        csta_apdu_clear(&ev);
    }
    expect_quiet(f->app);
    assert_call_parties(f->app, conn, 2, caller, CSTA_LCS_CONNECTED, picker, CSTA_LCS_CONNECTED);
}

static void directed_pickup_takes_a_call_ringing_anywhere(void **state)
{
    fixture_t *f = *state;
    csta_xref_t x7 = monitor(f->app, "107");
    csta_xref_t x4 = monitor(f->app, "104");
    csta_xref_t x8 = monitor(f->app, "108");
    csta_conn_t conn = ring(f, "107", &x7, "104", &x4);

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_DIRECTED_PICKUP_CALL;
    req.call.directed_pickup_call.call_to_be_picked_up = conn_at(&conn, "104");
    csta_device_set(&req.call.directed_pickup_call.requesting_device, "108");
    request_ok(f->app, &req, &res);
    csta_conn_t c8 = conn_at(&conn, "108");
    assert_conn(&res.call.directed_pickup_call_res.picked_call, &c8);
    csta_apdu_clear(&res);
    expect_picked_up(f, &conn, "107", "104", "108", &x7, &x4, &x8);

    //  A call that is talking cannot be picked up.
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CONNECTION_ID);
    req.call.directed_pickup_call.call_to_be_picked_up = conn_at(&conn, "107");
    csta_device_set(&req.call.directed_pickup_call.requesting_device, "109");
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    expect_quiet(f->app);
}

static void group_pickup_takes_a_call_ringing_in_the_own_group(void **state)
{
    fixture_t *f = *state;
    csta_xref_t x7 = monitor(f->app, "107");
    csta_xref_t x5 = monitor(f->app, "105");
    csta_xref_t x6 = monitor(f->app, "106");
    csta_conn_t conn = ring(f, "107", &x7, "105", &x5);

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GROUP_PICKUP_CALL;
    csta_device_set(&req.call.group_pickup_call.new_destination, "106");
    request_ok(f->app, &req, &res);
    csta_conn_t c6 = conn_at(&conn, "106");
    assert_conn(&res.call.group_pickup_call_res.picked_call, &c6);
    csta_apdu_clear(&res);
    expect_picked_up(f, &conn, "107", "105", "106", &x7, &x5, &x6);
}

static void group_pickup_does_not_reach_outside_the_group(void **state)
{
    fixture_t *f = *state;
    csta_xref_t x7 = monitor(f->app, "107");
    csta_xref_t x8 = monitor(f->app, "108");
    csta_conn_t conn = ring(f, "107", &x7, "108", &x8); //  108 is in no pickup group

    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GROUP_PICKUP_CALL;
    csta_device_set(&req.call.group_pickup_call.new_destination, "104");
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_NO_CALL_TO_ANSWER);
    //  Naming the group explicitly changes nothing; a device in no group has none.
    csta_device_set(&req.call.group_pickup_call.pick_group, "700");
    request_fails(f->app, &req, CSTA_ERR_STATE, CSTA_STERR_NO_CALL_TO_ANSWER);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GROUP_PICKUP_CALL;
    csta_device_set(&req.call.group_pickup_call.new_destination, "109");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    expect_quiet(f->app);
    assert_call_parties(f->app, &conn, 2, "107", CSTA_LCS_CONNECTED, "108", CSTA_LCS_ALERTING);
}

//  A call to the hunt group 600 from `caller`: it must ring `member` (monitor xm), with
//  the group as the called device.
static void expect_hunted(fixture_t *f, const char *caller, const char *member,
                          const csta_xref_t *xm)
{
    csta_conn_t conn = make_call(f->app, caller, "600");
    csta_conn_t cm = conn_at(&conn, member);
    csta_apdu_t ev;
    expect_event(f->app, xm, CSTA_EV_DELIVERED, &ev);
    const csta_delivered_t *e = &ev.event.delivered;
    assert_conn(&e->connection, &cm);
    assert_device(&e->alerting, member);
    assert_device(&e->calling, caller);
    assert_device(&e->called, "600");
    assert_string_equal(e->called.name, "Sales");
    assert_int_equal(e->local_state, CSTA_LCS_ALERTING);
    assert_int_equal(e->cause, CSTA_CAUSE_DISTRIBUTED);
    csta_apdu_clear(&ev);
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &cm);
    expect_event(f->app, xm, CSTA_EV_ESTABLISHED, &ev);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
}

static void hunt_group_rings_its_first_idle_member(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xm[3] = {monitor(f->app, "101"), monitor(f->app, "102"), monitor(f->app, "103")};
    expect_hunted(f, "104", "101", &xm[0]);
    expect_hunted(f, "105", "102", &xm[1]); //  101 talks now
    expect_hunted(f, "106", "103", &xm[2]);

    //  Every member busy: the caller hears busy.
    csta_xref_t x7 = monitor(f->app, "107");
    csta_conn_t conn = make_call(f->app, "107", "600");
    csta_apdu_t ev;
    expect_event(f->app, &x7, CSTA_EV_SERVICE_INITIATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &x7, CSTA_EV_ORIGINATED, &ev);
    csta_apdu_clear(&ev);
    expect_event(f->app, &x7, CSTA_EV_FAILED, &ev);
    csta_conn_t group = conn_at(&conn, "600");
    assert_conn(&ev.event.failed.failed_connection, &group);
    assert_device(&ev.event.failed.failing, "600");
    assert_int_equal(ev.event.failed.local_state, CSTA_LCS_FAIL);
    assert_int_equal(ev.event.failed.cause, CSTA_CAUSE_BUSY);
    csta_apdu_clear(&ev);
    expect_quiet(f->app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(directed_pickup_takes_a_call_ringing_anywhere, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(group_pickup_takes_a_call_ringing_in_the_own_group, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(group_pickup_does_not_reach_outside_the_group, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(hunt_group_rings_its_first_idle_member, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
