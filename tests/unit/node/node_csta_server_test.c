//  node_csta_server tests: many applications on one server — the application limit, fan-out
//  of one device's events with each application's own cross-reference, a slow application
//  cut off while the others get every event, TLS garbage, a user removed by a reload, the
//  /status view and the metrics.  The PBX service is the fake (fake_node_pbx.h).
#include "csta_front_test_util.h"

static bool s_apps_are(void *arg)
{
    //  arg: {fx, n}
    s_count_wait_t *w = arg;
    return node_csta_server_app_count(w->f->srv) == (size_t) w->n;
}

static void wait_apps(fx_t *f, int n)
{
    s_count_wait_t w = {f, n};
    assert_true(fx_run_until(f, s_apps_are, &w, WAIT_MS));
}

static void connections_beyond_max_apps_are_refused_with_a_log_line(void **state)
{
    (void) state;
    fx_t *f = fx_new(4 << 20, false, 2);
    *state = f;
    cli_associated(f, 0, false, NULL);
    cli_associated(f, 1, false, NULL);
    cli_t *third = cli_new(f, 2, false);
    cli_expect_closed(third);
    assert_true(fx_logged(f, "refused 1 connection(s) (last from 127.0.0.1:"));
    assert_true(fx_logged(f, "csta_server.max_apps is 2"));
    assert_int_equal(fx_metric(f, "ctim_csta_app_refused_total{reason=\"max-apps\"} "), 1);
    assert_int_equal(fx_metric(f, "ctim_csta_apps{transport=\"tcp\"} "), 2);
    //  One leaves: there is room again.
    cli_close(&f->cli[0]);
    wait_apps(f, 1);
    cli_associated(f, 2, false, NULL);
    assert_int_equal(fx_metric(f, "ctim_csta_apps{transport=\"tcp\"} "), 2);
}

//  One address may not take every slot: beyond max_apps_per_address its connections are
//  refused while there is room overall.
static void connections_beyond_max_apps_per_address_are_refused(void **state)
{
    fx_t *f = fx_new(4 << 20, false, 100);
    *state = f;
    f->cfg.max_apps_per_address = 2;    //  read at every accept
    cli_associated(f, 0, false, NULL);
    cli_associated(f, 1, false, NULL);
    cli_t *third = cli_new(f, 2, false);
    cli_expect_closed(third);
    assert_true(fx_logged(f, "(last from 127.0.0.1:"));
    assert_true(fx_logged(f, "max-apps-per-address): 2 applications connected, 2 from that "
                             "address"));
    assert_int_equal(
        fx_metric(f, "ctim_csta_app_refused_total{reason=\"max-apps-per-address\"} "), 1);
    cli_close(&f->cli[0]);
    wait_apps(f, 1);
    cli_associated(f, 2, false, NULL);
}

static void one_devices_events_reach_every_application_with_its_own_xref(void **state)
{
    fx_t *f = fx_new(4 << 20, false, 100);
    *state = f;
    //  Each application has monitored something else first, so their xrefs for 101 differ.
    cli_t *c[3];
    csta_xref_t x[3];
    int watches = 0;
    for (int i = 0; i < 3; i++) {
        c[i] = cli_associated(f, i, false, NULL);
        for (int j = 0; j < i; j++)
            cli_monitor(c[i], j == 0 ? "102" : "103", 10 + j, watches++);
        x[i] = cli_monitor(c[i], "101", 1, watches++);
    }
    assert_false(csta_xref_equal(&x[0], &x[1]));
    assert_false(csta_xref_equal(&x[1], &x[2]));
    uint8_t ev[1024];
    size_t n = pbx_delivered(ev, sizeof ev, 500, "101", CSTA_EV_DELIVERED);
    assert_int_equal(fake_pbx_event(f->pbx, "101", ev, n), 3);
    for (int i = 0; i < 3; i++) {
        csta_apdu_t a;
        cli_recv(c[i], &a);
        assert_int_equal(a.event.type, CSTA_EV_DELIVERED);
        assert_true(csta_xref_equal(&a.event.xref, &x[i]));
        csta_apdu_clear(&a);
    }
    char *json = node_csta_server_status_json(f->srv);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"address\":\"127.0.0.1:"));
    assert_non_null(strstr(json, "\"connected_at\":\"20"));
    assert_non_null(strstr(json, "\"events_out\":1"));
    free(json);
    assert_int_equal(fx_metric(f, "ctim_csta_app_monitors "), 6);
}

typedef struct {
    cli_t *reader;
    int want;
    int got;
    fx_t *f;
} s_reader_t;

static bool s_read_events(void *arg)
{
    s_reader_t *r = arg;
    while (r->got < r->want && cli_pump(r->reader, true))
        r->got++;
    return r->got >= r->want;
}

static void slow_application_is_cut_off_and_the_others_get_every_event(void **state)
{
    //  64 KiB per application; the slow one's socket takes little before the queue fills.
    fx_t *f = fx_new(64 << 10, false, 100);
    *state = f;
    cli_t *slow = cli_new(f, 0, false);
    int small = 4096;
    setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    csta_apdu_t a;
    cli_aarq(slow, NULL, NULL, NULL, &a);
    csta_apdu_clear(&a);
    cli_recv(slow, &a);     //  SystemStatus
    csta_apdu_clear(&a);
    cli_monitor(slow, "101", 1, 0);
    cli_t *fast = cli_associated(f, 1, false, NULL);
    cli_monitor(fast, "101", 1, 1);
    uint8_t ev[1024];
    size_t n = pbx_delivered(ev, sizeof ev, 500, "101", CSTA_EV_DELIVERED);
    s_reader_t r = {fast, 0, 0, f};
    int sent = 0;
    //  The slow application stops reading; events keep coming until it is cut off.
    while (node_csta_server_app_count(f->srv) == 2 && sent < 200000) {
        for (int i = 0; i < 100; i++, sent++)
            fake_pbx_event(f->pbx, "101", ev, n);
        r.want = sent;
        assert_true(fx_run_until(f, s_read_events, &r, WAIT_MS));
    }
    assert_int_equal(node_csta_server_app_count(f->srv), 1);
    //  The kernel holds at most S_SNDBUF of it (about 256 KiB): a few thousand events.
    assert_true(sent < 20000);
    assert_true(fx_logged(f, "output queue full"));
    assert_true(fx_logged(f, "disconnected (queue-overflow)"));
    assert_int_equal(fx_metric(f, "ctim_csta_queue_overflows_total "), 1);
    //  The fast one got every event, in order, and its watch is still there.
    for (int i = 0; i < 100; i++, sent++)
        fake_pbx_event(f->pbx, "101", ev, n);
    r.want = sent;
    assert_true(fx_run_until(f, s_read_events, &r, WAIT_MS));
    assert_int_equal(r.got, sent);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 1);
}

static void plaintext_on_the_tls_port_fails_the_handshake_only(void **state)
{
    fx_t *f = fx_new(4 << 20, false, 100);
    *state = f;
    cli_t *good = cli_associated(f, 1, true, "crm");
    cli_t *c = cli_new(f, 0, false);
    //  Connected to the TLS port by hand: a plain TCP client that sends an AARQ.
    close(c->fd);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t) node_csta_server_port(f->srv, true)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    connect(c->fd, (struct sockaddr *) &sin, sizeof sin);
    static const uint8_t aarq[] = {0x00, 0x25, 0x60, 0x23, 0x80, 0x02, 0x07, 0x80, 0xA1, 0x07,
                                   0x06, 0x05, 0x2B, 0x0C, 0x00, 0x81, 0x5A, 0xBE, 0x14, 0x28,
                                   0x12, 0x06, 0x07, 0x2B, 0x0C, 0x00, 0x82, 0x1D, 0x81, 0x48,
                                   0xA0, 0x07, 0xA0, 0x05, 0x03, 0x03, 0x00, 0x08, 0x00};
    memcpy(c->out, aarq, sizeof aarq);     //  the server may close before all is written
    c->out_len = sizeof aarq;
    fx_run_until(f, cli_cond_sent, c, WAIT_MS);
    cli_expect_closed(c);
    assert_true(fx_logged(f, "TLS handshake failed"));
    //  The TLS application is still served.
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    cli_invoke(good, &a, 7);
    cli_recv(good, &a);
    assert_int_equal(a.invoke_id, 7);
    csta_apdu_clear(&a);
}

static void reload_that_removes_a_user_disconnects_its_applications(void **state)
{
    fx_t *f = fx_new(4 << 20, false, 100);
    *state = f;
    cli_associated(f, 0, false, "crm");
    cli_t *desk = cli_associated(f, 1, false, "desk");
    //  The new set has "desk" only, at another index.
    node_user_cfg_t fresh[1] = {f->user_cfg[1]};
    node_users_t *users = node_users_new(fresh, 1);
    node_csta_server_set_users(f->srv, users);
    cli_expect_closed(&f->cli[0]);
    assert_true(fx_logged(f, "user crm is no longer configured"));
    //  desk keeps its device list at its new index.
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&a.call.make_call.calling, "201");
    csta_device_set(&a.call.make_call.called, "101");
    cli_invoke(desk, &a, 1);
    expect_error(desk, 1, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE);
    node_users_destroy(&f->users);
    f->users = users;
}

static bool s_no_monitors(void *arg)
{
    return fx_metric(arg, "ctim_csta_app_monitors ") == 0;
}

static void status_and_metrics_follow_the_applications(void **state)
{
    fx_t *f = fx_new(4 << 20, false, 100);
    *state = f;
    char *json = node_csta_server_status_json(f->srv);
    assert_string_equal(json, "[]");
    free(json);
    cli_t *c = cli_associated(f, 0, false, "crm");
    cli_monitor(c, "101", 1, 0);
    json = node_csta_server_status_json(f->srv);
    assert_non_null(strstr(json, "\"user\":\"crm\",\"state\":\"associated\""));
    assert_non_null(strstr(json, "\"messages_in\":2,"));
    assert_non_null(
        strstr(json, "\"monitors\":[{\"xref\":\"0001\",\"device\":\"101\",\"state\":\"active\"}]"));
    free(json);
    assert_true(fx_metric(f, "ctim_csta_messages_total{direction=\"in\"} ") >= 2);
    assert_true(fx_metric(f, "ctim_csta_bytes_total{direction=\"out\"} ") > 0);
    cli_close(c);
    wait_apps(f, 0);
    assert_true(fx_run_until(f, s_no_monitors, f, WAIT_MS));    //  released when reaped
    json = node_csta_server_status_json(f->srv);
    assert_string_equal(json, "[]");
    free(json);
    assert_int_equal(fx_metric(f, "ctim_csta_app_monitors "), 0);
    assert_int_equal(fx_metric(f, "ctim_csta_app_disconnects_total{reason=\"peer-closed\"} "), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(connections_beyond_max_apps_are_refused_with_a_log_line, fx_free),
        cmocka_unit_test_teardown(connections_beyond_max_apps_per_address_are_refused, fx_free),
        cmocka_unit_test_teardown(one_devices_events_reach_every_application_with_its_own_xref,
                                  fx_free),
        cmocka_unit_test_teardown(slow_application_is_cut_off_and_the_others_get_every_event,
                                  fx_free),
        cmocka_unit_test_teardown(plaintext_on_the_tls_port_fails_the_handshake_only, fx_free),
        cmocka_unit_test_teardown(reload_that_removes_a_user_disconnects_its_applications, fx_free),
        cmocka_unit_test_teardown(status_and_metrics_follow_the_applications, fx_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
