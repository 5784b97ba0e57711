//  node_csta_session tests: one CSTA application as the multiplexer sees it — association
//  and login, invoke ids restored, shared monitors with the application's own
//  cross-references and filter, permissions, bad input, the PBX going down and up, CDR
//  ownership, local answers.  The PBX service is the fake (fake_node_pbx.h); the
//  application is a real socket (csta_front_test_util.h).
#include "csta_front_test_util.h"

static bool s_no_watches_left(void *arg)
{
    fx_t *f = arg;
    return !fake_pbx_live_watches(f->pbx, "101") && !fake_pbx_live_watches(f->pbx, "102");
}

static bool s_cdr_free(void *arg)
{
    fx_t *f = arg;
    return f->pbx->cdr_owner == NULL;
}

static int setup(void **state)
{
    *state = fx_new(4 << 20, false, 100);
    return 0;
}

static int setup_login_required(void **state)
{
    *state = fx_new(4 << 20, true, 100);
    return 0;
}

//  --- Association ----------------------------------------------------------------------------

static void aarq_without_login_is_accepted_like_a_panasonic(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    cli_aarq(c, CSTA_ACN_CSTA3_ED, NULL, NULL, &a);
    //  Accepted with the acse-service-user diagnostic no-reason-given, the context echoed,
    //  CSTA versionFive (csta-facts.md 1.2).
    assert_int_equal(a.acse.result, CSTA_AARE_ACCEPTED);
    assert_int_equal(a.acse.diag_source, CSTA_DIAG_SERVICE_USER);
    assert_int_equal(a.acse.diag, CSTA_DIAG_NO_REASON);
    assert_string_equal(a.acse.context, CSTA_ACN_CSTA3_ED);
    assert_true(csta_bits_test(&a.acse.csta_version, CSTA_VERSION_FIVE));
    csta_apdu_clear(&a);
    //  Then SystemStatus normal, as a Panasonic sends right after its AARE.
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_NORMAL);
    csta_apdu_clear(&a);
    assert_true(fx_logged(f, "associated: user=- context=1.3.12.0.285.200"));
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"anonymous\"} "), 1);
}

static void aarq_with_another_context_is_refused(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    cli_aarq(c, "1.2.840.10008.3.1.1.1", NULL, NULL, &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(a.acse.diag, CSTA_DIAG_ACN_NOT_SUPPORTED);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
}

static void good_login_is_accepted_and_named_in_logs(void **state)
{
    fx_t *f = *state;
    cli_associated(f, 0, false, "crm");
    assert_true(fx_logged(f, "associated: user=crm"));
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"ok\"} "), 1);
}

static void wrong_password_is_authentication_failure_then_throttled(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    cli_aarq(c, NULL, "crm", "not-the-secret", &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(a.acse.diag_source, CSTA_DIAG_SERVICE_USER);
    assert_int_equal(a.acse.diag, CSTA_DIAG_AUTH_FAILURE);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "login of user 'crm' failed (wrong"));
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"wrong-password\"} "), 1);
    //  At once again, even with the right password: this address waits out its back-off.
    c = cli_new(f, 1, false);
    cli_aarq(c, NULL, "crm", "crm-secret", &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_TRANSIENT);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"throttled\"} "), 1);
}

static void unknown_user_looks_like_a_wrong_password(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    cli_aarq(c, NULL, "mallory", "crm-secret", &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(a.acse.diag, CSTA_DIAG_AUTH_FAILURE);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"unknown-user\"} "), 1);
}

static void missing_login_is_authentication_required_when_configured(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    cli_aarq(c, NULL, NULL, NULL, &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(a.acse.diag, CSTA_DIAG_AUTH_REQUIRED);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "no login in the AARQ"));
    //  With a login it is fine.
    cli_associated(f, 1, false, "crm");
}

static void tls_requires_a_login_and_accepts_a_good_one(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, true);
    csta_apdu_t a;
    cli_aarq(c, NULL, NULL, NULL, &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(a.acse.diag, CSTA_DIAG_AUTH_REQUIRED);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    c = cli_associated(f, 1, true, "crm");
    assert_true(fx_logged(f, "(tls) associated: user=crm"));
    //  And it works like TCP: a request goes to the PBX.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&a.svc.snapshot_device.snapshot_object, "101");
    cli_invoke(c, &a, 5);
    fx_wait_requests(f, 1);
    char *json = node_csta_server_status_json(f->srv);
    assert_non_null(strstr(json, "\"transport\":\"tls\",\"user\":\"crm\""));
    free(json);
}

static void release_gets_rlre_and_closes(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_RLRQ);
    a.acse.has_reason = true;
    cli_send(c, &a);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RLRE);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "disconnected (released)"));
}

//  --- Requests ------------------------------------------------------------------------------

static void reply_carries_the_applications_invoke_id_and_the_pbx_bytes(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&a.call.make_call.calling, "101");
    csta_device_set(&a.call.make_call.called, "0301234567");
    cli_invoke(c, &a, 4660);
    fx_wait_requests(f, 1);
    //  The invoke went on as the application sent it (node_pbx sets its own id).
    csta_apdu_t sent;
    assert_int_equal(csta_apdu_decode(&sent, f->pbx->request[0].apdu, f->pbx->request[0].len), 0);
    assert_int_equal(sent.invoke_id, 4660);
    assert_string_equal(sent.call.make_call.called.digits, "0301234567");
    csta_apdu_clear(&sent);
    //  The PBX answers with its own invoke id and private data.
    static const uint8_t kme[] = {0x04, 0x02, 0xCA, 0xFE};
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = 7;
    r.opcode = CSTA_OP_MAKE_CALL;
    uint8_t call[2] = {0x00, 0x2a};
    csta_conn_set(&r.call.make_call_res.calling, call, 2, "101");
    r.ext.present = r.ext.has_private = true;
    r.ext.private_count = 1;
    r.ext.private_data[0] = (csta_bytes_t){kme, sizeof kme};
    uint8_t pbx[512], want[512];
    size_t n, wn;
    assert_int_equal(csta_apdu_encode(&r, pbx, sizeof pbx, &n), 0);
    r.invoke_id = 4660;
    assert_int_equal(csta_apdu_encode(&r, want, sizeof want, &wn), 0);
    fake_pbx_reply(f->pbx, 0, 0, pbx, n);
    cli_recv(c, &a);
    //  Byte for byte what the PBX said, with the application's id.
    assert_int_equal(c->last_len, wn);
    assert_memory_equal(c->last, want, wn);
    assert_int_equal(a.invoke_id, 4660);
    assert_int_equal(a.ext.private_count, 1);
    csta_apdu_clear(&a);
    assert_int_equal(
        fx_metric(f, "ctim_csta_requests_total{operation=\"MakeCall\",result=\"ok\"} "), 1);
}

static void request_without_answer_gets_a_universal_failure(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    for (long id = 1; id <= 3; id++) {
        csta_apdu_init(&a, CSTA_APDU_INVOKE);
        a.opcode = CSTA_OP_GET_DO_NOT_DISTURB;
        csta_device_set(&a.svc.get_do_not_disturb.device, "101");
        cli_invoke(c, &a, id);
    }
    fx_wait_requests(f, 3);
    fake_pbx_reply(f->pbx, 0, -ETIMEDOUT, NULL, 0);
    expect_error(c, 1, CSTA_ERR_PERFORMANCE, CSTA_PERFERR_PERFORMANCE_LIMIT_EXCEEDED);
    fake_pbx_reply(f->pbx, 1, -ENOTCONN, NULL, 0);
    expect_error(c, 2, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_OUT_OF_SERVICE);
    fake_pbx_reply(f->pbx, 2, -ENOBUFS, NULL, 0);
    expect_error(c, 3, CSTA_ERR_SUBSCRIBED_RESOURCE, CSTA_SUBERR_OUTSTANDING_REQ_LIMIT_EXCEEDED);
}

static void unknown_operation_goes_to_the_pbx_which_answers(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    //  Invoke 9, opcode 999, argument NULL: ctim does not know it, the PBX may.
    static const uint8_t unknown[] = {0xA1, 0x09, 0x02, 0x01, 0x09, 0x02,
                                      0x02, 0x03, 0xE7, 0x05, 0x00};
    cli_send_apdu(c, unknown, sizeof unknown);
    fx_wait_requests(f, 1);
    assert_memory_equal(f->pbx->request[0].apdu, unknown, sizeof unknown);
    static const uint8_t reject[] = {0xA4, 0x06, 0x02, 0x01, 0x63, 0x81, 0x01, 0x01};
    fake_pbx_reply(f->pbx, 0, 0, reject, sizeof reject);
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_REJECT);
    assert_int_equal(a.invoke_id, 9);
    assert_int_equal(a.reject.problem, CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION);
    csta_apdu_clear(&a);
}

static void escape_passes_through_unchanged(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, "desk");     //  a device list does not matter here
    //  Panasonic KME GetSystemData (csta-facts.md 5), invoke id 0x0602.
    static const uint8_t esc[] = {0xA1, 0x16, 0x02, 0x02, 0x06, 0x02, 0x02, 0x01, 0x33,
                                  0x30, 0x0D, 0xA4, 0x0B, 0xA0, 0x09, 0xA4, 0x07, 0xA1, 0x05,
                                  0xA0, 0x03, 0x0A, 0x01, 0x05};
    cli_send_apdu(c, esc, sizeof esc);
    fx_wait_requests(f, 1);
    assert_int_equal(f->pbx->request[0].len, sizeof esc);
    assert_memory_equal(f->pbx->request[0].apdu, esc, sizeof esc);
}

static void local_answers_for_system_status(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_SYSTEM_STATUS;
    a.svc.system_status.status = CSTA_SYS_NORMAL;
    cli_invoke(c, &a, 11);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_int_equal(a.invoke_id, 11);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    csta_apdu_clear(&a);
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(c, &a, 12);
    cli_recv(c, &a);
    assert_int_equal(a.invoke_id, 12);
    assert_int_equal(a.svc.request_system_status_res.status, CSTA_SYS_NORMAL);
    csta_apdu_clear(&a);
    fx_wait_requests(f, 0);
}

//  --- Monitors ------------------------------------------------------------------------------

static void monitors_get_own_xrefs_and_events_are_rewritten_to_them(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_xref_t x101 = cli_monitor(c, "101", 1, 0);
    csta_xref_t x102 = cli_monitor(c, "102", 2, 1);
    assert_false(csta_xref_equal(&x101, &x102));
    uint8_t ev[1024];
    size_t n = pbx_delivered(ev, sizeof ev, 999, "102", CSTA_EV_DELIVERED);
    assert_int_equal(fake_pbx_event(f->pbx, "102", ev, n), 1);
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.opcode, CSTA_OP_EVENT_REPORT);
    assert_true(csta_xref_equal(&a.event.xref, &x102));
    assert_int_equal(a.event.type, CSTA_EV_DELIVERED);
    assert_string_equal(a.event.delivered.alerting.digits, "102");
    assert_int_equal(a.event.delivered.local_state, CSTA_LCS_ALERTING);
    assert_int_equal(a.ext.private_count, 1);   //  private data passed through
    csta_apdu_clear(&a);
    //  The bytes are the PBX's, with the two ids replaced (csta_peek_rewrite).
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, ev, n), 0);
    uint8_t want[1024];
    size_t wn;
    csta_peek_t got;
    assert_int_equal(csta_peek(&got, c->last, c->last_len), 0);
    assert_int_equal(csta_peek_rewrite(&pk, ev, n, &got.invoke_id, &x102, want, sizeof want, &wn),
                     0);
    assert_int_equal(c->last_len, wn);
    assert_memory_equal(c->last, want, wn);
    char *json = node_csta_server_status_json(f->srv);
    assert_non_null(strstr(json, "{\"xref\":\"0001\",\"device\":\"101\",\"state\":\"active\"}"));
    assert_non_null(strstr(json, "{\"xref\":\"0002\",\"device\":\"102\",\"state\":\"active\"}"));
    free(json);
}

static void monitor_filter_of_the_application_is_applied(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&a.svc.monitor_start.device, "101");
    a.svc.monitor_start.filter.present = true;
    a.svc.monitor_start.filter.call_control = 1u << 3;      //  delivered: filter bit 3, tag 4
    cli_invoke(c, &a, 1);
    fx_wait_watches(f, 1);
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_true(a.svc.monitor_start_res.filter.present);
    assert_int_equal(a.svc.monitor_start_res.filter.call_control, 1u << 3);
    csta_apdu_clear(&a);
    uint8_t ev[1024];
    size_t n = pbx_delivered(ev, sizeof ev, 10, "101", CSTA_EV_DELIVERED);
    fake_pbx_event(f->pbx, "101", ev, n);
    n = pbx_delivered(ev, sizeof ev, 11, "101", CSTA_EV_ESTABLISHED);
    fake_pbx_event(f->pbx, "101", ev, n);
    cli_recv(c, &a);
    assert_int_equal(a.event.type, CSTA_EV_ESTABLISHED);    //  Delivered was filtered out
    csta_apdu_clear(&a);
}

static void monitor_stop_unwatches_and_answers_no_data(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_xref_t x = cli_monitor(c, "101", 1, 0);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 1);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_STOP;
    a.svc.monitor_stop.xref = x;
    cli_invoke(c, &a, 2);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_int_equal(a.invoke_id, 2);
    assert_int_equal(a.opcode, CSTA_OP_MONITOR_STOP);
    assert_true(a.no_data);
    csta_apdu_clear(&a);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 0);
    //  Stopping it again: that cross-reference means nothing now.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_STOP;
    a.svc.monitor_stop.xref = x;
    cli_invoke(c, &a, 3);
    expect_error(c, 3, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
}

static void monitor_refused_by_the_pbx_returns_its_error_with_our_id(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&a.svc.monitor_start.device, "999");
    cli_invoke(c, &a, 21);
    fx_wait_watches(f, 1);
    //  universalFailure operation/invalidDeviceID from the PBX, its invoke id 3.
    static const uint8_t err[] = {0xA3, 0x0B, 0x02, 0x01, 0x03, 0x02, 0x01,
                                  0x01, 0xA0, 0x03, 0x0A, 0x01, 0x0C};
    fake_pbx_watch_done(f->pbx, 0, -EREMOTEIO, err, sizeof err);
    expect_error(c, 21, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    //  The failed watch is released on the next turn of the loop.
    fx_run_for(f, 20);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "999"), 0);
}

static void link_down_and_up_tell_the_application(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_xref_t x = cli_monitor(c, "101", 1, 0);
    fake_pbx_set_state(f->pbx, NODE_PBX_DOWN);
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_DISABLED);
    csta_apdu_clear(&a);
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_EVENT_REPORT);
    assert_int_equal(a.event.type, CSTA_EV_OUT_OF_SERVICE);
    assert_true(csta_xref_equal(&a.event.xref, &x));
    assert_string_equal(a.event.out_of_service.device.digits, "101");
    csta_apdu_clear(&a);
    //  While down, a MonitorStart fails at once: the PBX cannot be reached.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&a.svc.monitor_start.device, "102");
    cli_invoke(c, &a, 2);
    expect_error(c, 2, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_OUT_OF_SERVICE);
    fake_pbx_set_state(f->pbx, NODE_PBX_UP);
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_NORMAL);
    csta_apdu_clear(&a);
    //  Not back in service before the device is monitored again (its MonitorStart answered).
    cli_recv_nothing(c, 50);
    fake_pbx_watch_monitored(f->pbx, 0, true);
    cli_recv(c, &a);
    assert_int_equal(a.event.type, CSTA_EV_BACK_IN_SERVICE);
    assert_true(csta_xref_equal(&a.event.xref, &x));
    csta_apdu_clear(&a);
    //  Once per change: a second word of the same changes nothing.
    fake_pbx_watch_monitored(f->pbx, 0, true);
    cli_recv_nothing(c, 30);
    //  The monitor still works with the same cross-reference.
    uint8_t ev[1024];
    size_t n = pbx_delivered(ev, sizeof ev, 5, "101", CSTA_EV_DELIVERED);
    fake_pbx_event(f->pbx, "101", ev, n);
    cli_recv(c, &a);
    assert_true(csta_xref_equal(&a.event.xref, &x));
    csta_apdu_clear(&a);
}

static void s_expect_maintenance(cli_t *c, const csta_xref_t *x, csta_event_type_t type)
{
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_EVENT_REPORT);
    assert_int_equal(a.event.type, type);
    assert_true(csta_xref_equal(&a.event.xref, x));
    csta_apdu_clear(&a);
}

//  Through the owner: the owner losing a device's monitor takes that monitor (only) out of
//  service until the owner monitors it again; SystemStatus is not involved.
static void owner_losing_a_device_takes_its_monitor_out_of_service(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_xref_t x1 = cli_monitor(c, "101", 1, 0);
    csta_xref_t x2 = cli_monitor(c, "102", 2, 1);
    fake_pbx_watch_monitored(f->pbx, 1, false);
    s_expect_maintenance(c, &x2, CSTA_EV_OUT_OF_SERVICE);
    fake_pbx_watch_monitored(f->pbx, 1, false);
    cli_recv_nothing(c, 30);
    //  The link going down and up meanwhile: only the one still monitored goes out; neither
    //  comes back until monitored.
    fake_pbx_set_state(f->pbx, NODE_PBX_DOWN);
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    csta_apdu_clear(&a);
    s_expect_maintenance(c, &x1, CSTA_EV_OUT_OF_SERVICE);
    cli_recv_nothing(c, 30);
    fake_pbx_set_state(f->pbx, NODE_PBX_UP);
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    csta_apdu_clear(&a);
    cli_recv_nothing(c, 30);
    fake_pbx_watch_monitored(f->pbx, 1, true);
    s_expect_maintenance(c, &x2, CSTA_EV_BACK_IN_SERVICE);
    fake_pbx_watch_monitored(f->pbx, 0, true);
    s_expect_maintenance(c, &x1, CSTA_EV_BACK_IN_SERVICE);
}

//  Events lost between the nodes: OutOfService then BackInService, so that the application
//  snapshots again; a monitor out of service waits for its BackInService instead.
static void stale_monitor_gets_out_of_and_back_in_service(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_xref_t x = cli_monitor(c, "101", 1, 0);
    fake_pbx_watch_stale(f->pbx, 0);
    s_expect_maintenance(c, &x, CSTA_EV_OUT_OF_SERVICE);
    s_expect_maintenance(c, &x, CSTA_EV_BACK_IN_SERVICE);
    assert_true(fx_logged(f, "were lost between the nodes"));
    fake_pbx_watch_monitored(f->pbx, 0, false);
    s_expect_maintenance(c, &x, CSTA_EV_OUT_OF_SERVICE);
    fake_pbx_watch_stale(f->pbx, 0);
    cli_recv_nothing(c, 30);
}

static void broadcast_reaches_the_application_with_our_invoke_id(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 30000;
    a.opcode = CSTA_OP_SYSTEM_STATUS;
    a.svc.system_status.status = CSTA_SYS_OVERLOAD_IMMINENT;
    uint8_t buf[64];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, buf, sizeof buf, &n), 0);
    fake_pbx_broadcast(f->pbx, buf, n);
    cli_recv(c, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_OVERLOAD_IMMINENT);
    assert_int_not_equal(a.invoke_id, 30000);
    csta_apdu_clear(&a);
}

static void disconnect_releases_every_watch(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    cli_monitor(c, "101", 1, 0);
    cli_monitor(c, "102", 2, 1);
    cli_close(c);
    assert_true(fx_run_until(f, s_no_watches_left, f, WAIT_MS));
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 0);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "102"), 0);
    assert_int_equal(node_csta_server_app_count(f->srv), 0);
    assert_true(fx_logged(f, "disconnected (peer-closed)"));
}

//  --- Permissions ---------------------------------------------------------------------------

static void device_outside_the_users_set_is_a_privilege_violation(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, "desk");     //  101-103
    csta_apdu_t a;
    //  MakeCall from 201: calling device not permitted.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&a.call.make_call.calling, "201");
    csta_device_set(&a.call.make_call.called, "101");
    cli_invoke(c, &a, 1);
    expect_error(c, 1, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE);
    //  MakeCall from 101 to anywhere: fine (destinations are not controlled).
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&a.call.make_call.calling, "101");
    csta_device_set(&a.call.make_call.called, "0301234567");
    cli_invoke(c, &a, 2);
    fx_wait_requests(f, 1);
    //  ClearConnection of a connection at 201.
    uint8_t call[2] = {0, 0x2a};
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_CLEAR_CONNECTION;
    csta_conn_set(&a.call.clear_connection.connection, call, 2, "201");
    a.call.clear_connection.reason = CSTA_CAUSE_ABSENT;
    cli_invoke(c, &a, 3);
    expect_error(c, 3, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE);
    //  A connection named by call id alone cannot be checked: refused for a device list.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_CLEAR_CONNECTION;
    csta_conn_set(&a.call.clear_connection.connection, call, 2, NULL);
    a.call.clear_connection.reason = CSTA_CAUSE_ABSENT;
    cli_invoke(c, &a, 4);
    expect_error(c, 4, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE);
    //  MonitorStart of 201.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&a.svc.monitor_start.device, "201");
    cli_invoke(c, &a, 5);
    expect_error(c, 5, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE);
    assert_int_equal(f->pbx->watches, 0);
    //  An unknown operation naming 201 (every device it names must be permitted) ...
    static const uint8_t unknown201[] = {0xA1, 0x10, 0x02, 0x01, 0x06, 0x02, 0x02, 0x03, 0xE7,
                                         0x30, 0x07, 0x30, 0x05, 0x80, 0x03, '2', '0', '1'};
    cli_send_apdu(c, unknown201, sizeof unknown201);
    expect_error(c, 6, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE);
    //  ... and one naming 102 goes on.
    static const uint8_t unknown102[] = {0xA1, 0x10, 0x02, 0x01, 0x07, 0x02, 0x02, 0x03, 0xE7,
                                         0x30, 0x07, 0x30, 0x05, 0x80, 0x03, '1', '0', '2'};
    cli_send_apdu(c, unknown102, sizeof unknown102);
    fx_wait_requests(f, 2);
    assert_true(fx_logged(f, "user=desk: MakeCall refused: device 201 is not permitted"));
    assert_int_equal(fx_metric(f, "ctim_csta_permission_denied_total{operation=\"MakeCall\"} "), 1);
    //  The same requests from a user without a device list pass.
    cli_t *crm = cli_associated(f, 1, false, "crm");
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&a.call.make_call.calling, "201");
    csta_device_set(&a.call.make_call.called, "101");
    cli_invoke(crm, &a, 1);
    fx_wait_requests(f, 3);
}

//  --- Bad input -----------------------------------------------------------------------------

static void malformed_ber_is_rejected_and_the_session_goes_on(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_associated(f, 0, false, NULL);
    cli_t *other = cli_associated(f, 1, false, NULL);
    //  A well-framed invoke whose opcode TLV overruns its parent.
    static const uint8_t bad[] = {0xA1, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x47};
    cli_send_apdu(c, bad, sizeof bad);
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_REJECT);
    assert_true(a.reject.invoke_id_absent);
    assert_int_equal(a.reject.kind, CSTA_REJECT_GENERAL);
    assert_int_equal(a.reject.problem, CSTA_REJ_GENERAL_BADLY_STRUCTURED_PDU);
    csta_apdu_clear(&a);
    assert_true(fx_logged(f, "malformed APDU of 8 bytes"));
    //  Still associated.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(c, &a, 2);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&a);
    //  Broken framing (an indefinite length) ends this application, not the other one.
    static const uint8_t indefinite[] = {0x00, 0x04, 0xA1, 0x80, 0x00, 0x00};
    cli_send_raw(c, indefinite, sizeof indefinite);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "framing lost"));
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(other, &a, 3);
    cli_recv(other, &a);
    assert_int_equal(a.invoke_id, 3);
    csta_apdu_clear(&a);
    assert_int_equal(fx_metric(f, "ctim_csta_bad_input_total{reason=\"framing\"} "), 1);
}

static void first_apdu_that_is_not_an_aarq_closes_the_connection(void **state)
{
    fx_t *f = *state;
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(c, &a, 1);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "expected an AARQ"));
}

//  --- CDR ---------------------------------------------------------------------------------------

static void cdr_is_owned_by_one_application(void **state)
{
    fx_t *f = *state;
    cli_t *owner = cli_associated(f, 0, false, NULL);
    cli_t *second = cli_associated(f, 1, false, NULL);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_START_CDR;
    a.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    cli_invoke(owner, &a, 1);
    fx_wait_requests(f, 1);
    //  The PBX accepts with cdrCrossRefID 0x77.
    static const uint8_t x77[] = {0x77};
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = 40;
    r.opcode = CSTA_OP_START_CDR;
    r.svc.start_call_detail_records_transmission_res.cdr_xref = (csta_bytes_t){x77, 1};
    uint8_t buf[256];
    size_t n;
    assert_int_equal(csta_apdu_encode(&r, buf, sizeof buf, &n), 0);
    fake_pbx_reply(f->pbx, 0, 0, buf, n);
    cli_recv(owner, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_int_equal(a.invoke_id, 1);
    csta_apdu_clear(&a);
    //  A second application is told no, as estos does: operation/generic.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_START_CDR;
    cli_invoke(second, &a, 1);
    expect_error(second, 1, CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC);
    fx_wait_requests(f, 1);
    //  CDR reports go to the owner.
    csta_apdu_init(&r, CSTA_APDU_INVOKE);
    r.invoke_id = 51;
    r.opcode = CSTA_OP_CDR_REPORT;
    csta_call_detail_records_report_arg_t *rep = &r.svc.call_detail_records_report;
    rep->cdr_xref = (csta_bytes_t){x77, 1};
    rep->number_of_records_sent = 1;
    csta_cdr_record_t rec = {0};
    snprintf(rec.record_creation_time, sizeof rec.record_creation_time, "20261122031400");
    csta_device_set(&rec.calling_device, "101");
    csta_device_set(&rec.called_device, "0301234567");
    rep->cdr_info = (csta_cdr_info_t){1, &rec};
    assert_int_equal(csta_apdu_encode(&r, buf, sizeof buf, &n), 0);
    fake_pbx_followup(f->pbx, 0, buf, n);
    cli_recv(owner, &a);
    assert_int_equal(a.opcode, CSTA_OP_CDR_REPORT);
    assert_int_equal(a.svc.call_detail_records_report.number_of_records_sent, 1);
    csta_apdu_clear(&a);
    cli_recv_nothing(second, 50);
    //  The owner leaves: its transmission is stopped at the PBX and the claim given back.
    cli_close(owner);
    assert_true(fx_run_until(f, s_cdr_free, f, WAIT_MS));
    fx_wait_requests(f, 2);
    csta_apdu_t stop;
    assert_int_equal(csta_apdu_decode(&stop, f->pbx->request[1].apdu, f->pbx->request[1].len), 0);
    assert_int_equal(stop.opcode, CSTA_OP_STOP_CDR);
    assert_int_equal(stop.svc.stop_call_detail_records_transmission.cdr_xref.len, 1);
    csta_apdu_clear(&stop);
    //  Now the second application may have it.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_START_CDR;
    cli_invoke(second, &a, 2);
    fx_wait_requests(f, 3);
}


//  --- Logins checked off the loop (node_verifier) -----------------------------------------------

static void s_use_verifier(fx_t *f, size_t queue_max)
{
    f->verifier = node_verifier_new(f->loop, queue_max);
    assert_non_null(f->verifier);
    node_csta_server_set_verifier(f->srv, f->verifier);
}

static bool s_verifier_idle(void *arg)
{
    fx_t *f = arg;
    return node_verifier_queued(f->verifier) == 0;
}

static bool s_three_checks_out(void *arg)
{
    fx_t *f = arg;
    return node_verifier_waiting(f->verifier) == 3;
}

//  Seven applications log in at once (six right, the last wrong, from one address): each
//  gets its own answer once its check is done; what an application sent right after its
//  AARQ waits for the answer and is served after it (not taken for a second AARQ).
static void concurrent_logins_are_answered_off_the_loop(void **state)
{
    fx_t *f = *state;
    s_use_verifier(f, 0);
    enum { N = 7 };
    cli_t *c[N];
    csta_apdu_t a;
    for (int i = 0; i < N; i++) {
        c[i] = cli_new(f, i, false);
        cli_aarq_make(NULL, i % 2 ? "desk" : "crm", i == N - 1 ? "wrong" : "crm-secret", &a);
        cli_send(c[i], &a);
    }
    //  The first application asks for the system status before its AARE came.
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(c[0], &a, 12);
    for (int i = 0; i < N; i++) {
        cli_recv(c[i], &a);
        assert_int_equal(a.kind, CSTA_APDU_AARE);
        assert_int_equal(a.acse.result,
                         i == N - 1 ? CSTA_AARE_REJECTED_PERMANENT : CSTA_AARE_ACCEPTED);
        csta_apdu_clear(&a);
    }
    cli_recv(c[0], &a);             //  SystemStatus after the AARE, then the answer
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    csta_apdu_clear(&a);
    cli_recv(c[0], &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_int_equal(a.invoke_id, 12);
    csta_apdu_clear(&a);
    cli_expect_closed(c[N - 1]);
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"ok\"} "), N - 1);
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"wrong-password\"} "), 1);
    assert_true(fx_logged(f, "associated: user=desk"));
    assert_int_equal(node_verifier_queued(f->verifier), 0);
}

//  Over TLS too: the login waits for its check, then the session reads on (OpenSSL may hold
//  what followed the AARQ) and serves a request.
static void tls_login_checked_off_the_loop(void **state)
{
    fx_t *f = *state;
    s_use_verifier(f, 0);
    cli_t *c = cli_associated(f, 0, true, "crm");
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(c, &a, 5);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_int_equal(a.invoke_id, 5);
    csta_apdu_clear(&a);
    assert_true(fx_logged(f, "(tls) associated: user=crm"));
}

//  The server goes (as at shutdown) while logins are checked: their sessions are gone, the
//  checks' answers find nothing (ASan would see a use after free), nobody is answered.
static void sessions_closed_while_their_logins_are_checked_are_forgotten(void **state)
{
    fx_t *f = *state;
    s_use_verifier(f, 0);
    csta_apdu_t a;
    for (int i = 0; i < 3; i++) {
        cli_t *c = cli_new(f, i, false);
        cli_aarq_make(NULL, "crm", "crm-secret", &a);
        cli_send(c, &a);
    }
    assert_true(fx_run_until(f, s_three_checks_out, f, WAIT_MS));
    node_csta_server_destroy(&f->srv);
    assert_true(fx_run_until(f, s_verifier_idle, f, WAIT_MS));
    fx_run_for(f, 50);
    assert_false(fx_logged(f, "associated: user=crm"));
    assert_true(fx_logged(f, "closed before association (shutdown)"));
}

//  The checks' queue is full: the login is refused at once as transient (try again), with
//  its own log line and metric; no back-off follows.
static void login_is_refused_as_busy_when_the_queue_is_full(void **state)
{
    fx_t *f = *state;
    s_use_verifier(f, 1);
    int64_t id = node_verifier_check(f->verifier, CRM_HASH, "x", NULL, NULL);
    assert_true(id > 0);                //  the one place is taken
    cli_t *c = cli_new(f, 0, false);
    csta_apdu_t a;
    cli_aarq(c, NULL, "crm", "crm-secret", &a);
    assert_int_equal(a.acse.result, CSTA_AARE_REJECTED_TRANSIENT);
    csta_apdu_clear(&a);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "too many logins waiting for their password check"));
    assert_int_equal(fx_metric(f, "ctim_csta_logins_total{result=\"busy\"} "), 1);
    assert_true(fx_run_until(f, s_verifier_idle, f, WAIT_MS));
    c = cli_associated(f, 1, false, "crm");     //  room again, and no back-off
    (void) c;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(aarq_without_login_is_accepted_like_a_panasonic, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(aarq_with_another_context_is_refused, setup, fx_free),
        cmocka_unit_test_setup_teardown(good_login_is_accepted_and_named_in_logs, setup, fx_free),
        cmocka_unit_test_setup_teardown(wrong_password_is_authentication_failure_then_throttled,
                                        setup, fx_free),
        cmocka_unit_test_setup_teardown(unknown_user_looks_like_a_wrong_password, setup, fx_free),
        cmocka_unit_test_setup_teardown(missing_login_is_authentication_required_when_configured,
                                        setup_login_required, fx_free),
        cmocka_unit_test_setup_teardown(tls_requires_a_login_and_accepts_a_good_one, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(release_gets_rlre_and_closes, setup, fx_free),
        cmocka_unit_test_setup_teardown(reply_carries_the_applications_invoke_id_and_the_pbx_bytes,
                                        setup, fx_free),
        cmocka_unit_test_setup_teardown(request_without_answer_gets_a_universal_failure, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(unknown_operation_goes_to_the_pbx_which_answers, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(escape_passes_through_unchanged, setup, fx_free),
        cmocka_unit_test_setup_teardown(local_answers_for_system_status, setup, fx_free),
        cmocka_unit_test_setup_teardown(concurrent_logins_are_answered_off_the_loop, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(
            sessions_closed_while_their_logins_are_checked_are_forgotten, setup, fx_free),
        cmocka_unit_test_setup_teardown(tls_login_checked_off_the_loop, setup, fx_free),
        cmocka_unit_test_setup_teardown(login_is_refused_as_busy_when_the_queue_is_full, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(monitors_get_own_xrefs_and_events_are_rewritten_to_them,
                                        setup, fx_free),
        cmocka_unit_test_setup_teardown(monitor_filter_of_the_application_is_applied, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(monitor_stop_unwatches_and_answers_no_data, setup, fx_free),
        cmocka_unit_test_setup_teardown(monitor_refused_by_the_pbx_returns_its_error_with_our_id,
                                        setup, fx_free),
        cmocka_unit_test_setup_teardown(link_down_and_up_tell_the_application, setup, fx_free),
        cmocka_unit_test_setup_teardown(owner_losing_a_device_takes_its_monitor_out_of_service,
                                        setup, fx_free),
        cmocka_unit_test_setup_teardown(stale_monitor_gets_out_of_and_back_in_service, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(broadcast_reaches_the_application_with_our_invoke_id, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(disconnect_releases_every_watch, setup, fx_free),
        cmocka_unit_test_setup_teardown(device_outside_the_users_set_is_a_privilege_violation,
                                        setup, fx_free),
        cmocka_unit_test_setup_teardown(malformed_ber_is_rejected_and_the_session_goes_on, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(first_apdu_that_is_not_an_aarq_closes_the_connection, setup,
                                        fx_free),
        cmocka_unit_test_setup_teardown(cdr_is_owned_by_one_application, setup, fx_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
