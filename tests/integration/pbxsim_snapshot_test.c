//  pbxsim integration: what an application can ask about the switch (ECMA-269
//  SnapshotDevice, also answered in SnapshotDeviceData segments, SnapshotCall,
//  GetSwitchingFunctionDevices and the segmented SwitchingFunctionDevices that follow it).
#include "pbxsim_steps.h"

static const char s_devices[] = "extensions:\n"
                                "  - range: 101-104\n"
                                "  - number: \"200\"\n"
                                "    name: Reception\n"
                                "trunks: 2\n"
                                "groups:\n"
                                "  - number: \"600\"\n"
                                "    name: Sales\n"
                                "    type: hunt\n"
                                "    members: [\"101\", \"102\"]\n"
                                "  - number: \"700\"\n"
                                "    name: Back office\n"
                                "    type: pickup\n"
                                "    members: [\"103\", \"104\"]\n";

static int setup(void **state)
{
    *state = fixture_start(NULL);
    return 0;
}

static int setup_groups(void **state)
{
    char path[64];
    write_devices_file(path, sizeof path, s_devices);
    const char *args[] = {"--devices", path, "--segment-size", "4", NULL};
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    int rc = test_pbxsim_start(&f->sim, args);
    unlink(path);
    assert_int_equal(rc, 0);
    csta_client_cfg_t cfg = {.port = f->sim.port};
    f->app = csta_client_new(&cfg);
    assert_non_null(f->app);
    assert_int_equal(csta_client_connect(f->app), 0);
    *state = f;
    return 0;
}

static void snapshots_show_each_connection_of_a_device_and_each_party_of_a_call(void **state)
{
    fixture_t *f = *state;
    //  101 holds a call with 102 and talks to 103.
    csta_conn_t first = call_established(f->app, "101", NULL, "102", NULL);
    conn_request_ok(f->app, CSTA_OP_HOLD_CALL, &first);
    csta_conn_t second = call_established(f->app, "101", NULL, "103", NULL);

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&req.svc.snapshot_device.snapshot_object, "101");
    request_ok(f->app, &req, &res);
    assert_false(res.svc.snapshot_device_res.is_xref);
    const csta_snapshot_device_data_t *snap = &res.svc.snapshot_device_res.snapshot_data;
    assert_int_equal(snap->count, 2);
    const csta_conn_t *conns[] = {&first, &second};
    const char *far[] = {"102", "103"};
    const csta_lcs_t states[] = {CSTA_LCS_HOLD, CSTA_LCS_CONNECTED};
    for (int i = 0; i < 2; i++) {
        const csta_snapshot_device_item_t *item = NULL;
        for (size_t k = 0; k < snap->count; k++)
            if (!memcmp(snap->item[k].connection_identifier.call_id, conns[i]->call_id, 2))
                item = &snap->item[k];
        assert_non_null(item);
        assert_conn(&item->connection_identifier, conns[i]);
        assert_device(&item->endpoint_device, far[i]);
        assert_int_equal(item->local_call_state.kind, CSTA_CALL_STATE_COMPOUND);
        assert_true(item->local_call_state.compound_count >= 1);
        assert_int_equal(item->local_call_state.compound[0], states[i]);
    }
    csta_apdu_clear(&res);

    //  An idle device has no calls; an unknown one is an error.
    csta_device_set(&req.svc.snapshot_device.snapshot_object, "104");
    request_ok(f->app, &req, &res);
    assert_int_equal(res.svc.snapshot_device_res.snapshot_data.count, 0);
    csta_apdu_clear(&res);
    csta_device_set(&req.svc.snapshot_device.snapshot_object, "999");
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);

    assert_call_parties(f->app, &first, 2, "101", CSTA_LCS_HOLD, "102", CSTA_LCS_CONNECTED);
    assert_call_parties(f->app, &second, 2, "101", CSTA_LCS_CONNECTED, "103", CSTA_LCS_CONNECTED);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_CALL;
    const uint8_t unknown[2] = {0x7e, 0x57};
    csta_conn_set(&req.svc.snapshot_call.snapshot_object, unknown, 2, NULL);
    request_fails(f->app, &req, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALL_ID);
}

//  ctl `snapshot-segments N`: the result carries a serviceCrossRefID and the calls follow
//  in N SnapshotDeviceData segments of it, numbered, the last one marked; `open`: never.
static void snapshot_in_segments_carries_every_call_under_one_cross_reference(void **state)
{
    fixture_t *f = *state;
    csta_conn_t first = call_established(f->app, "101", NULL, "102", NULL);
    conn_request_ok(f->app, CSTA_OP_HOLD_CALL, &first);
    call_established(f->app, "101", NULL, "103", NULL);
    expect_quiet(f->app);
    for (int open = 0; open < 2; open++) {
        ctl_ok(f, "%s", open ? "snapshot-segments 3 open" : "snapshot-segments 3");
        csta_apdu_t req, res;
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_SNAPSHOT_DEVICE;
        csta_device_set(&req.svc.snapshot_device.snapshot_object, "101");
        request_ok(f->app, &req, &res);
        assert_true(res.svc.snapshot_device_res.is_xref);
        csta_xref_t xref = res.svc.snapshot_device_res.service_xref;
        assert_true(xref.len > 0);
        csta_apdu_clear(&res);
        size_t calls = 0;
        for (long k = 1; k <= 3; k++) {
            csta_apdu_t seg;
            assert_int_equal(csta_client_next_event(f->app, &seg, WAIT_MS), 0);
            assert_int_equal(seg.opcode, CSTA_OP_SNAPSHOT_DEVICE_DATA);
            const csta_snapshot_device_data_arg_t *d = &seg.svc.snapshot_device_data;
            assert_true(csta_xref_equal(&d->service_xref, &xref));
            assert_true(d->has_segment_id);
            assert_int_equal(d->segment_id, k);
            assert_int_equal(d->last_segment, !open && k == 3);
            calls += d->snapshot_data.count;
            csta_apdu_clear(&seg);
        }
        assert_int_equal(calls, 2);
        expect_quiet(f->app);   //  no response to them, no fourth segment
    }
    ctl_ok(f, "snapshot-segments 0");
}

typedef struct {
    const char *number;
    const char *name;
    long category;
} s_device_t;

//  GetSwitchingFunctionDevices (category < 0: all), then every segment until the last
//  one, each acknowledged.  The devices must be exactly `want`, in that order, in
//  segments of `per`.
static void expect_device_list(fixture_t *f, long category, const s_device_t *want, size_t count,
                               size_t per)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES;
    if (category >= 0) {
        req.svc.get_switching_function_devices.has_requested_device_category = true;
        req.svc.get_switching_function_devices.requested_device_category = category;
    }
    request_ok(f->app, &req, &res);
    csta_xref_t xref = res.svc.get_switching_function_devices_res.service_xref;
    assert_true(xref.len > 0);
    csta_apdu_clear(&res);

    size_t seen = 0;
    long segment = 0;
    for (bool last = false; !last;) {
        csta_apdu_t seg;
        int rc = csta_client_next_event(f->app, &seg, WAIT_MS);
        if (rc)
            fail_msg("waiting for segment %ld: %s", segment + 1, strerror(-rc));
        assert_int_equal(seg.kind, CSTA_APDU_INVOKE);
        assert_int_equal(seg.opcode, CSTA_OP_SWITCHING_FUNCTION_DEVICES);
        const csta_switching_function_devices_arg_t *s = &seg.svc.switching_function_devices;
        assert_true(csta_xref_equal(&s->service_xref, &xref));
        assert_true(s->has_segment_id);
        assert_int_equal(s->segment_id, ++segment);
        last = s->last_segment;
        size_t expect_n = count - seen < per ? count - seen : per;
        assert_int_equal(s->device_list.count, expect_n);
        for (size_t i = 0; i < s->device_list.count; i++, seen++) {
            const csta_device_list_item_t *item = &s->device_list.item[i];
            assert_device(&item->device_id, want[seen].number);
            assert_string_equal(item->device_id.name, want[seen].name);
            assert_true(item->has_device_category);
            if (item->device_category != want[seen].category)
                fail_msg("%s has category %ld, expected %ld", want[seen].number,
                         item->device_category, want[seen].category);
        }
        assert_int_equal(last, seen == count);
        //  The application acknowledges each segment (an empty ReturnResult).
        csta_apdu_t ack;
        csta_apdu_init(&ack, CSTA_APDU_RESULT);
        ack.invoke_id = seg.invoke_id;
        ack.has_result = false;
        assert_int_equal(csta_client_reply(f->app, &ack), 0);
        csta_apdu_clear(&seg);
    }
    assert_int_equal(seen, count);
    expect_quiet(f->app);
}

static void device_list_comes_in_segments_with_names_and_categories(void **state)
{
    fixture_t *f = *state;
    const s_device_t all[] = {
        {"101", "Extension 101", CSTA_DEVCAT_STATION},
        {"102", "Extension 102", CSTA_DEVCAT_STATION},
        {"103", "Extension 103", CSTA_DEVCAT_STATION},
        {"104", "Extension 104", CSTA_DEVCAT_STATION},
        {"200", "Reception", CSTA_DEVCAT_STATION},
        {"801", "CO 1", CSTA_DEVCAT_NETWORK_INTERFACE},
        {"802", "CO 2", CSTA_DEVCAT_NETWORK_INTERFACE},
        {"600", "Sales", CSTA_DEVCAT_GROUP},
        {"700", "Back office", CSTA_DEVCAT_GROUP},
    };
    expect_device_list(f, -1, all, sizeof all / sizeof all[0], 4);
    //  Asked for one category (ReqDeviceCategory numbering), only those come.
    expect_device_list(f, CSTA_REQ_DEV_NETWORK_INTERFACE, &all[5], 2, 4);
    expect_device_list(f, CSTA_REQ_DEV_GROUP_PICK, &all[8], 1, 4);
    expect_device_list(f, CSTA_REQ_DEV_STATION, all, 5, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            snapshots_show_each_connection_of_a_device_and_each_party_of_a_call, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            snapshot_in_segments_carries_every_call_under_one_cross_reference, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(device_list_comes_in_segments_with_names_and_categories,
                                        setup_groups, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
