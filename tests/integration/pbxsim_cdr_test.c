//  pbxsim integration: call detail records (ECMA-269 Start/StopCallDetailRecords-
//  Transmission, CallDetailRecordsReport; csta-facts.md 5): one application owns CDR,
//  each finished call brings a record it acknowledges with {361, NULL}, pbxsim counts
//  them, and a second application is refused with operation/generic.
#include <time.h>

#include "pbxsim_steps.h"

static int setup(void **state)
{
    const char *args[] = {"--max-links", "2", NULL};
    *state = fixture_start(args);
    return 0;
}

//  StartCallDetailRecordsTransmission (at end of call); returns the cdrCrossRefID.
static csta_xref_t start_cdr(csta_client_t *app)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_START_CDR;
    req.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    request_ok(app, &req, &res);
    const csta_bytes_t *b = &res.svc.start_call_detail_records_transmission_res.cdr_xref;
    assert_non_null(b->data);
    assert_true(b->len > 0 && b->len <= CSTA_XREF_MAX);
    csta_xref_t xref;
    csta_xref_set(&xref, b->data, b->len);
    csta_apdu_clear(&res);
    return xref;
}

static csta_apdu_t stop_cdr_request(const csta_xref_t *xref)
{
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_STOP_CDR;
    req.svc.stop_call_detail_records_transmission.cdr_xref = (csta_bytes_t){xref->bytes, xref->len};
    return req;
}

//  The next unsolicited invoke must be a CDR report for xref with one record; it is
//  decoded into *report and acknowledged with {361, NULL}.
static const csta_cdr_record_t *expect_cdr(csta_client_t *app, const csta_xref_t *xref,
                                           csta_apdu_t *report)
{
    int rc = csta_client_next_event(app, report, WAIT_MS);
    if (rc)
        fail_msg("waiting for a CDR report: %s", strerror(-rc));
    assert_int_equal(report->kind, CSTA_APDU_INVOKE);
    assert_int_equal(report->opcode, CSTA_OP_CDR_REPORT);
    const csta_call_detail_records_report_arg_t *r = &report->svc.call_detail_records_report;
    assert_int_equal(r->cdr_xref.len, xref->len);
    assert_memory_equal(r->cdr_xref.data, xref->bytes, xref->len);
    assert_int_equal(r->number_of_records_sent, 1);
    assert_int_equal(r->cdr_info.count, 1);

    csta_apdu_t ack;
    csta_apdu_init(&ack, CSTA_APDU_RESULT);
    ack.invoke_id = report->invoke_id;
    ack.opcode = CSTA_OP_CDR_REPORT;
    ack.has_result = true;
    ack.no_data = true;
    assert_int_equal(csta_client_reply(app, &ack), 0);
    return &r->cdr_info.item[0];
}

//  Seconds since the epoch of a GeneralizedTime "YYYYMMDDhhmmss[Z]" (UTC).
static long long s_epoch(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(text, "%Y%m%d%H%M%S", &tm);
    if (!end || (*end && strcmp(end, "Z") != 0))
        fail_msg("'%s' is not a GeneralizedTime in UTC", text);
    return (long long)timegm(&tm);
}

//  pbxsim's counter reaches `want` within the deadline (the acknowledgement travels
//  on the CSTA link, the counter is read on the control socket).
static void wait_stat(fixture_t *f, const char *key, long want)
{
    long long deadline = test_now_ms() + WAIT_MS;
    long got;
    while ((got = stat_of(f, key)) != want && test_now_ms() < deadline)
        sync_link(f->app);
    if (got != want)
        fail_msg("stats %s is %ld, expected %ld", key, got, want);
}

static void finished_call_brings_a_record_that_is_acknowledged(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xref = start_cdr(f->app);
    long long wall_before = (long long)time(NULL);

    csta_conn_t ca = make_call(f->app, "101", "102");
    csta_conn_t cb = conn_at(&ca, "102");
    long long answer_sent = test_now_ms();
    conn_request_ok(f->app, CSTA_OP_ANSWER_CALL, &cb);
    long long answer_done = test_now_ms();
    //  They talk: nothing happens on the link for a while (a check, and talk time).
    expect_no_event(f->app, 300);
    long long clear_sent = test_now_ms();
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    long long clear_done = test_now_ms();
    long long wall_after = (long long)time(NULL);

    csta_apdu_t report;
    const csta_cdr_record_t *rec = expect_cdr(f->app, &xref, &report);
    assert_true(rec->has_record_number);
    assert_int_equal(rec->record_number, 1);
    assert_device(&rec->calling_device, "101");
    assert_device(&rec->called_device, "102");
    assert_device(&rec->charged_device, "101");
    assert_conn(&rec->recorded_call, &(csta_conn_t){.present = true,
                                                    .call_id_len = 2,
                                                    .call_id = {ca.call_id[0], ca.call_id[1]}});
    //  Times: answer to clearing, in 0.1 s as a Panasonic counts.
    assert_true(rec->has_connection_duration);
    long tenths = rec->connection_duration;
    if (tenths * 100 > clear_done - answer_sent || tenths * 100 + 100 <= clear_sent - answer_done)
        fail_msg("duration %ld x 0.1 s, the call talked %lld..%lld ms", tenths,
                 clear_sent - answer_done, clear_done - answer_sent);
    assert_true(tenths >= 3);
    long long start = s_epoch(rec->connection_start), end = s_epoch(rec->connection_end);
    long long created = s_epoch(rec->record_creation_time);
    assert_true(start >= wall_before && end <= wall_after && start <= end);
    assert_true(created >= end && created <= wall_after);
    assert_true(end - start <= tenths / 10 + 1 && end - start >= tenths / 10 - 1);
    assert_true(rec->has_reason_for_term);
    assert_int_equal(rec->reason_for_term, CSTA_CDR_NORMAL_CLEARING);
    csta_apdu_clear(&report);
    expect_quiet(f->app);
    wait_stat(f, "cdr_acked", 1);
    assert_int_equal(stat_of(f, "cdr_sent"), 1);
}

static void unanswered_call_is_recorded_as_an_unsuccessful_attempt(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xref = start_cdr(f->app);
    csta_conn_t ca = make_call(f->app, "103", "104");
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    csta_apdu_t report;
    const csta_cdr_record_t *rec = expect_cdr(f->app, &xref, &report);
    assert_device(&rec->calling_device, "103");
    assert_device(&rec->called_device, "104");
    assert_device(&rec->charged_device, "103");
    assert_int_equal(rec->connection_duration, 0);
    assert_int_equal(rec->reason_for_term, CSTA_CDR_UNSUCCESSFUL_CALL_ATTEMPT);
    csta_apdu_clear(&report);
    wait_stat(f, "cdr_acked", 1);
}

//  An acknowledgement counts only for the CDR report it answers: acknowledging other
//  invokes of the switch (device list segments) while a report is still unanswered
//  must not count as a CDR acknowledgement.
static void only_the_reports_own_acknowledgement_counts(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xref = start_cdr(f->app);
    csta_conn_t ca = make_call(f->app, "101", "102");
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    csta_apdu_t report;
    int rc = csta_client_next_event(f->app, &report, WAIT_MS);
    if (rc)
        fail_msg("waiting for a CDR report: %s", strerror(-rc));
    assert_int_equal(report.opcode, CSTA_OP_CDR_REPORT);

    //  Before acknowledging it, the application reads the device list and acknowledges
    //  its segments.
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES;
    request_ok(f->app, &req, &res);
    csta_apdu_clear(&res);
    for (bool last = false; !last;) {
        csta_apdu_t seg;
        rc = csta_client_next_event(f->app, &seg, WAIT_MS);
        if (rc)
            fail_msg("waiting for a device list segment: %s", strerror(-rc));
        assert_int_equal(seg.opcode, CSTA_OP_SWITCHING_FUNCTION_DEVICES);
        last = seg.svc.switching_function_devices.last_segment;
        csta_apdu_t ack;
        csta_apdu_init(&ack, CSTA_APDU_RESULT);
        ack.invoke_id = seg.invoke_id;
        ack.has_result = false;
        assert_int_equal(csta_client_reply(f->app, &ack), 0);
        csta_apdu_clear(&seg);
    }
    sync_link(f->app); //  the acknowledgements have been read by now
    assert_int_equal(stat_of(f, "cdr_acked"), 0);

    csta_apdu_t ack;
    csta_apdu_init(&ack, CSTA_APDU_RESULT);
    ack.invoke_id = report.invoke_id;
    ack.opcode = CSTA_OP_CDR_REPORT;
    ack.has_result = true;
    ack.no_data = true;
    assert_int_equal(csta_client_reply(f->app, &ack), 0);
    csta_apdu_clear(&report);
    wait_stat(f, "cdr_acked", 1);
    (void)xref;
}

static int setup_slow_far_end(void **state)
{
    const char *args[] = {"--remote-answer-ms", "1200", NULL};
    *state = fixture_start(args);
    return 0;
}

//  The far end answers 1.2 s after the call is placed: the record's connection starts
//  then (at least one wall-clock second after the call was placed), not when placed.
static void outside_call_record_starts_when_the_far_end_answers(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xref = start_cdr(f->app);
    csta_xref_t xa = monitor(f->app, "101");
    long long wall_placed = (long long)time(NULL);
    csta_conn_t ca = make_call(f->app, "101", "0301234567");
    const csta_event_type_t setup_events[] = {CSTA_EV_SERVICE_INITIATED, CSTA_EV_ORIGINATED,
                                              CSTA_EV_NETWORK_REACHED, CSTA_EV_DELIVERED,
                                              CSTA_EV_ESTABLISHED};
    csta_apdu_t ev;
    for (size_t i = 0; i < sizeof setup_events / sizeof setup_events[0]; i++) {
        expect_event(f->app, &xa, setup_events[i], &ev);
        csta_apdu_clear(&ev);
    }
    long long wall_answered = (long long)time(NULL);
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    expect_event(f->app, &xa, CSTA_EV_CONNECTION_CLEARED, &ev);
    csta_apdu_clear(&ev);

    csta_apdu_t report;
    const csta_cdr_record_t *rec = expect_cdr(f->app, &xref, &report);
    assert_device(&rec->calling_device, "101");
    assert_device(&rec->called_device, "0301234567");
    assert_device(&rec->charged_device, "101");
    long long start = s_epoch(rec->connection_start);
    if (start < wall_placed + 1 || start > wall_answered)
        fail_msg("connection start %lld: placed at %lld, answered by %lld", start, wall_placed,
                 wall_answered);
    assert_true(rec->connection_duration < 10 * (wall_answered + 2 - wall_placed));
    assert_int_equal(rec->reason_for_term, CSTA_CDR_NORMAL_CLEARING);
    csta_apdu_clear(&report);
    wait_stat(f, "cdr_acked", 1);
}

//  An incoming CO call is recorded as a Panasonic does: the outside caller, the extension
//  that answered, charged to the CO line that carried it.
static void inbound_call_is_recorded_with_the_outside_caller(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xref = start_cdr(f->app);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply,
                                     "call-in 0301234567 101 John Doe"), 0);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "answer 101"), 0);
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "hangup 101"), 0);
    csta_apdu_t report;
    const csta_cdr_record_t *rec = expect_cdr(f->app, &xref, &report);
    assert_device(&rec->calling_device, "0301234567");
    assert_device(&rec->called_device, "101");
    assert_device(&rec->charged_device, "801");
    assert_true(rec->has_reason_for_term);
    assert_int_equal(rec->reason_for_term, CSTA_CDR_NORMAL_CLEARING);
    csta_apdu_clear(&report);
    wait_stat(f, "cdr_acked", 1);
}

static void only_one_application_owns_cdr_until_it_stops(void **state)
{
    fixture_t *f = *state;
    csta_xref_t xref = start_cdr(f->app);
    csta_client_cfg_t cfg = {.port = f->sim.port};
    csta_client_t *second = csta_client_new(&cfg);
    assert_non_null(second);
    assert_int_equal(csta_client_connect(second), 0);

    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_START_CDR;
    req.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    request_fails(second, &req, CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC);
    csta_apdu_t stop = stop_cdr_request(&xref);
    request_fails(second, &stop, CSTA_ERR_STATE, CSTA_STERR_INVALID_OBJECT_STATE);

    //  A call from either application is recorded for the owner only.
    csta_conn_t ca = make_call(second, "101", "102");
    conn_request_ok(second, CSTA_OP_CLEAR_CONNECTION, &ca);
    csta_apdu_t report;
    const csta_cdr_record_t *rec = expect_cdr(f->app, &xref, &report);
    assert_device(&rec->calling_device, "101");
    csta_apdu_clear(&report);
    expect_quiet(second);
    wait_stat(f, "cdr_acked", 1);

    //  The owner stops: no more records, and the other application may take over.
    stop = stop_cdr_request(&xref);
    csta_apdu_t res;
    request_ok(f->app, &stop, &res);
    csta_apdu_clear(&res);
    ca = make_call(f->app, "103", "104");
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    expect_quiet(f->app);
    expect_quiet(second);
    assert_int_equal(stat_of(f, "cdr_sent"), 1);
    csta_xref_t xref2 = start_cdr(second);
    ca = make_call(f->app, "105", "106");
    conn_request_ok(f->app, CSTA_OP_CLEAR_CONNECTION, &ca);
    rec = expect_cdr(second, &xref2, &report);
    assert_device(&rec->calling_device, "105");
    csta_apdu_clear(&report);
    expect_quiet(f->app);
    wait_stat(f, "cdr_acked", 2);
    csta_client_destroy(&second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(finished_call_brings_a_record_that_is_acknowledged, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(unanswered_call_is_recorded_as_an_unsuccessful_attempt,
                                        setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(only_the_reports_own_acknowledgement_counts, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(outside_call_record_starts_when_the_far_end_answers,
                                        setup_slow_far_end, fixture_teardown),
        cmocka_unit_test_setup_teardown(inbound_call_is_recorded_with_the_outside_caller, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(only_one_application_owns_cdr_until_it_stops, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
