//  The CSTA multiplexer end to end: pbxsim, ctimd, and several CSTA applications (csta_client,
//  over TCP and TLS) at once.  One PBX monitor per device whatever the number of
//  applications; each application gets the same event bytes as an application connected to
//  pbxsim directly, with its own cross-reference; CDR exclusivity; permissions; wrong
//  passwords; TLS logins; garbage from one application; the PBX link dropping and coming back
//  (each monitor back in service only once its MonitorStart is answered); a slow application cut off without holding up the others.
//
//  Every wait is on a condition with a deadline; ctimd and pbxsim are stopped after each
//  test, also a failed one.
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "csta.h"
#include "csta_client.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define WAIT_MS 15000
#define APPS_MAX 8
#define STREAM_MAX 256

//  "crm-secret" (the hash in deploy/config/ctimd.yaml).
#define CRM_HASH                                                                                 \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_proc_t ctimd;
    int tcp_port, tls_port, http_port;
    csta_client_t *app[APPS_MAX];
    csta_client_t *direct;
    char reply[1 << 16];
    char body[1 << 17];
} mux_t;

static char s_dir[64];
static char s_cert[128], s_key[128], s_config[128];

//  --- Group: a throwaway certificate for 127.0.0.1 made with the openssl command ------------

static int group_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-mux-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_cert, sizeof s_cert, "%s/cert.pem", s_dir);
    snprintf(s_key, sizeof s_key, "%s/key.pem", s_dir);
    snprintf(s_config, sizeof s_config, "%s/ctimd.yaml", s_dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 1 -subj /CN=ctim-test "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             s_key, s_cert);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

//  --- Per test: pbxsim and ctimd ----------------------------------------------------------------

static void s_write_config(mux_t *m)
{
    FILE *f = fopen(s_config, "w");
    assert_non_null(f);
    fprintf(f,
            "node:\n  id: mux\n  log_level: info\n"
            "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
            "    backoff_initial_ms: 100\n    backoff_max_ms: 400\n"
            "    validate_calls_ms: 0\n"
            "csta_server:\n  listen: 127.0.0.1\n  tcp_port: %d\n  tls_port: %d\n"
            "  tls_cert: %s\n  tls_key: %s\n  app_queue_max_bytes: 65536\n"
            "client_api:\n  port: 0\n"  //  off: tests run in parallel
            "http:\n  listen: 127.0.0.1\n  port: %d\n"
            "users:\n"
            "  - name: crm\n    password_hash: \"%s\"\n"
            "  - name: desk\n    password_hash: \"%s\"\n    devices: [\"101-103\"]\n",
            m->sim.port, m->tcp_port, m->tls_port, s_cert, s_key, m->http_port, CRM_HASH,
            CRM_HASH);
    fclose(f);
}

static int s_get(mux_t *m, const char *path)
{
    int status = -1;
    if (test_http_get("127.0.0.1", m->http_port, path, 5000, &status, m->body, sizeof m->body))
        return -1;
    return status;
}

static void s_pace(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds the wait
}

//  Wait until GET path is 200 and its body holds text.
static void s_wait_http(mux_t *m, const char *path, const char *text)
{
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        if (s_get(m, path) == 200 && strstr(m->body, text))
            return;
        s_pace();
    }
    fail_msg("GET %s never held \"%s\"; last:\n%s", path, text, m->body);
}

//  The value of a metric line ("ctim_csta_logins_total{result=\"ok\"}"), 0 if absent.
static double s_metric(mux_t *m, const char *series)
{
    if (s_get(m, "/metrics") != 200)
        return -1;
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(m->body, needle);
    return p ? strtod(p + strlen(needle), NULL) : 0;
}

static long s_sim_long(mux_t *m, const char *cmd, const char *key)
{
    if (test_pbxsim_ctl(&m->sim, m->reply, sizeof m->reply, "%s", cmd) != 0)
        return -1;
    return test_json_long(m->reply, key, -1);
}

//  Wait until pbxsim's `monitors dev` says n.
static void s_wait_monitors(mux_t *m, const char *dev, long n)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "monitors %s", dev);
    long long deadline = test_now_ms() + WAIT_MS;
    long got = -1;
    while (test_now_ms() < deadline && (got = s_sim_long(m, cmd, "monitors")) != n)
        s_pace();
    assert_int_equal(got, n);
}

static void s_ctl(mux_t *m, const char *fmt, const char *arg)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, fmt, arg);
    if (test_pbxsim_ctl(&m->sim, m->reply, sizeof m->reply, "%s", cmd) != 0)
        fail_msg("pbxsim %s: %s", cmd, m->reply);
}

static int s_start(void **state, const char *const *sim_args)
{
    mux_t *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    *state = m;
    m->ctimd.pid = -1;
    if (test_pbxsim_start(&m->sim, sim_args) != 0)
        return -1;
    m->sim_running = true;
    for (int attempt = 0; attempt < 5; attempt++) {
        //  A port taken between the check and ctimd's bind makes ctimd exit: try others.
        m->tcp_port = test_free_port();
        m->tls_port = test_free_port();
        m->http_port = test_free_port();
        s_write_config(m);
        char *argv[] = {CTIM_CTIMD, "--config", s_config, NULL};
        if (test_proc_start(&m->ctimd, argv, "ctimd ready", 20000) == 0) {
            s_wait_http(m, "/readyz", "ready");     //  the PBX link is up
            return 0;
        }
    }
    return -1;
}

static int setup(void **state)
{
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120",
                                       "--status-interval-ms", "2000", NULL};
    return s_start(state, args);
}

static int teardown(void **state)
{
    mux_t *m = *state;
    if (!m)
        return 0;
    for (int i = 0; i < APPS_MAX; i++)
        csta_client_destroy(&m->app[i]);
    csta_client_destroy(&m->direct);
    if (m->ctimd.pid > 0)
        test_proc_stop(&m->ctimd);
    if (m->sim_running)
        test_pbxsim_stop(&m->sim);
    free(m);
    return 0;
}

//  --- Applications -------------------------------------------------------------------------------

static csta_client_t *s_app_try(mux_t *m, bool tls, const char *user, const char *password,
                                bool keep_status, int *rc)
{
    csta_client_cfg_t cfg = {.host = "127.0.0.1",
                             .port = tls ? m->tls_port : m->tcp_port,
                             .user = user,
                             .password = password,
                             .timeout_ms = WAIT_MS,
                             .keep_system_status = keep_status,
                             .tls = tls,
                             .tls_ca = tls ? s_cert : NULL};
    csta_client_t *app = csta_client_new(&cfg);
    assert_non_null(app);
    *rc = csta_client_connect(app);
    return app;
}

static csta_client_t *s_app(mux_t *m, int i, bool tls, const char *user, bool keep_status)
{
    int rc;
    m->app[i] = s_app_try(m, tls, user, user ? "crm-secret" : NULL, keep_status, &rc);
    assert_int_equal(rc, 0);
    return m->app[i];
}

static int s_monitor_rc(csta_client_t *app, const char *dev, csta_xref_t *xref, csta_apdu_t *res)
{
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, dev);
    int rc = csta_client_call(app, &req, res, WAIT_MS);
    if (rc == 0 && res->kind == CSTA_APDU_RESULT && xref)
        *xref = res->svc.monitor_start_res.xref;
    return rc;
}

static csta_xref_t s_monitor(csta_client_t *app, const char *dev)
{
    csta_apdu_t res;
    csta_xref_t x = {0};
    assert_int_equal(s_monitor_rc(app, dev, &x, &res), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&res);
    return x;
}

static void s_expect_error(csta_client_t *app, csta_apdu_t *req, csta_err_category_t category,
                           long value)
{
    csta_apdu_t res;
    assert_int_equal(csta_client_call(app, req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_ERROR);
    assert_int_equal(res.error.category, category);
    assert_int_equal(res.error.value, value);
    csta_apdu_clear(&res);
}

static void s_make_call(csta_client_t *app, const char *from, const char *to)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, from);
    csta_device_set(&req.call.make_call.called, to);
    assert_int_equal(csta_client_call(app, &req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&res);
}

//  The next event of app (SystemStatus invokes too when kept), decoded and its bytes.
static int s_next(csta_client_t *app, csta_apdu_t *ev, int timeout_ms)
{
    return csta_client_next_event(app, ev, timeout_ms);
}

//  Wait for an event of this type on this xref, skipping others; fails after WAIT_MS.
static void s_expect_event(csta_client_t *app, const csta_xref_t *xref, csta_event_type_t type)
{
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        csta_apdu_t ev;
        int rc = s_next(app, &ev, (int) (deadline - test_now_ms()));
        if (rc == -ETIMEDOUT)
            break;
        assert_int_equal(rc, 0);
        bool hit = ev.kind == CSTA_APDU_INVOKE && ev.opcode == CSTA_OP_EVENT_REPORT &&
                   ev.event.type == type && csta_xref_equal(&ev.event.xref, xref);
        csta_apdu_clear(&ev);
        if (hit)
            return;
    }
    fail_msg("no %s event", csta_event_name(type));
}

//  --- Streams of event bytes, per device
//  -----------------------------------------------------------

typedef struct {
    char dev[8];
    csta_xref_t xref;
    size_t count;
    size_t len[STREAM_MAX];
    uint8_t *apdu[STREAM_MAX];
    bool done;                      //  the end marker (OutOfService) arrived
} stream_t;

static void s_stream_free(stream_t *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->apdu[i]);
    s->count = 0;
}

//  The event's bytes with invoke id 1 and cross-reference 00: what differs between links
//  (each switch and each multiplexer session numbers its own).
static size_t s_neutral(const uint8_t *apdu, size_t len, uint8_t *out, size_t cap)
{
    csta_peek_t pk;
    assert_int_equal(csta_peek(&pk, apdu, len), 0);
    long one = 1;
    csta_xref_t zero = {.len = 1};
    size_t n;
    assert_int_equal(csta_peek_rewrite(&pk, apdu, len, &one, &zero, out, cap, &n), 0);
    return n;
}

//  Read app's events into the streams (by xref) until every stream saw its end marker.
static void s_collect(csta_client_t *app, stream_t *streams, size_t count)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < count; i++)
            all &= streams[i].done;
        if (all)
            return;
        if (test_now_ms() >= deadline)
            fail_msg("events stopped coming before the end marker");
        csta_apdu_t ev;
        int rc = s_next(app, &ev, (int) (deadline - test_now_ms()));
        assert_int_equal(rc, 0);
        assert_int_equal(ev.opcode, CSTA_OP_EVENT_REPORT);
        stream_t *s = NULL;
        for (size_t i = 0; i < count && !s; i++)
            if (csta_xref_equal(&streams[i].xref, &ev.event.xref))
                s = &streams[i];
        assert_non_null(s);
        //  csta_client hands out decoded APDUs: both sides are re-encoded the same way, so
        //  equal bytes mean equal content (ctim's codec re-encodes PBX bytes exactly).
        uint8_t buf[4096];
        size_t len;
        assert_int_equal(csta_apdu_encode(&ev, buf, sizeof buf, &len), 0);
        assert_true(s->count < STREAM_MAX);
        s->apdu[s->count] = malloc(len);
        memcpy(s->apdu[s->count], buf, len);
        s->len[s->count++] = len;
        if (ev.event.type == CSTA_EV_OUT_OF_SERVICE)
            s->done = true;
        csta_apdu_clear(&ev);
    }
}

static void s_assert_same_stream(const stream_t *direct, const stream_t *app)
{
    assert_int_equal(app->count, direct->count);
    for (size_t i = 0; i < app->count; i++) {
        uint8_t a[4096], d[4096];
        size_t an = s_neutral(app->apdu[i], app->len[i], a, sizeof a);
        size_t dn = s_neutral(direct->apdu[i], direct->len[i], d, sizeof d);
        assert_int_equal(an, dn);
        assert_memory_equal(a, d, an);
    }
}

//  --- Tests
//  ---------------------------------------------------------------------------------------------

//  Three applications monitor 101 and 102 in different orders (so their xrefs differ), one
//  of them on TLS with a device list; pbxsim monitors each device once for all of them.  A
//  call 101 -> 102, answered and cleared: each application gets, per device, exactly the
//  events an application connected to pbxsim directly gets, with its own xref.
static void three_apps_share_one_monitor_per_device_and_see_what_a_direct_app_sees(void **state)
{
    mux_t *m = *state;
    csta_client_t *a = s_app(m, 0, false, NULL, false);
    csta_client_t *b = s_app(m, 1, false, "crm", false);
    csta_client_t *c = s_app(m, 2, true, "desk", false);
    long starts_before = s_sim_long(m, "stats", "monitor_starts");
    stream_t sa[2] = {{.dev = "101"}, {.dev = "102"}};
    stream_t sb[2] = {{.dev = "102"}, {.dev = "101"}};
    stream_t sc[2] = {{.dev = "103"}, {.dev = "102"}};
    for (int i = 0; i < 2; i++) {
        sa[i].xref = s_monitor(a, sa[i].dev);
        sb[i].xref = s_monitor(b, sb[i].dev);
        sc[i].xref = s_monitor(c, sc[i].dev);
    }
    assert_false(csta_xref_equal(&sa[0].xref, &sb[1].xref));    //  101 at a and b
    s_wait_monitors(m, "101", 1);
    s_wait_monitors(m, "102", 1);
    s_wait_monitors(m, "103", 1);
    assert_int_equal(s_sim_long(m, "stats", "monitor_starts") - starts_before, 3);
    //  The node's metrics say the same: 3 devices monitored at the PBX for 6 application
    //  monitors.
    s_wait_http(m, "/metrics", "ctim_pbx_monitors{pbx=\"main\"} 3\n");
    assert_non_null(strstr(m->body, "ctim_pbx_watches{pbx=\"main\"} 6\n"));
    assert_non_null(strstr(m->body, "ctim_csta_app_monitors"));

    //  The direct application: pbxsim's second link.
    csta_client_cfg_t dcfg = {.port = m->sim.port, .timeout_ms = WAIT_MS};
    m->direct = csta_client_new(&dcfg);
    assert_int_equal(csta_client_connect(m->direct), 0);
    stream_t sd[3] = {{.dev = "101"}, {.dev = "102"}, {.dev = "103"}};
    for (int i = 0; i < 3; i++)
        sd[i].xref = s_monitor(m->direct, sd[i].dev);

    s_make_call(a, "101", "102");
    s_ctl(m, "answer %s", "102");
    s_ctl(m, "hangup %s", "101");
    //  End markers, after every event of the call on every link.
    s_ctl(m, "out-of-service %s", "101");
    s_ctl(m, "out-of-service %s", "102");
    s_ctl(m, "out-of-service %s", "103");
    s_collect(m->direct, sd, 3);
    s_collect(a, sa, 2);
    s_collect(b, sb, 2);
    s_collect(c, sc, 2);
    assert_true(sd[0].count >= 5);      //  ServiceInitiated, Originated, Delivered, ... marker
    s_assert_same_stream(&sd[0], &sa[0]);
    s_assert_same_stream(&sd[1], &sa[1]);
    s_assert_same_stream(&sd[1], &sb[0]);
    s_assert_same_stream(&sd[0], &sb[1]);
    s_assert_same_stream(&sd[2], &sc[0]);
    s_assert_same_stream(&sd[1], &sc[1]);
    for (int i = 0; i < 3; i++)
        s_stream_free(&sd[i]);
    for (int i = 0; i < 2; i++) {
        s_stream_free(&sa[i]);
        s_stream_free(&sb[i]);
        s_stream_free(&sc[i]);
    }
    //  /status lists the applications with their monitors.
    s_wait_http(m, "/status", "\"user\":\"desk\"");
    assert_non_null(strstr(m->body, "\"transport\":\"tls\""));
    assert_non_null(strstr(m->body, "{\"xref\":\"0002\",\"device\":\"102\",\"state\":\"active\"}"));
    //  The PBX monitor stays while one application still watches: a leaves, b and c stay.
    csta_client_destroy(&m->app[0]);
    csta_client_destroy(&m->app[2]);
    s_wait_monitors(m, "103", 1);       //  the direct app's
    s_wait_monitors(m, "102", 2);       //  b's (shared) and the direct app's
    csta_client_destroy(&m->app[1]);
    s_wait_monitors(m, "101", 1);
    s_wait_monitors(m, "102", 1);
}

static void cdr_belongs_to_the_first_application(void **state)
{
    mux_t *m = *state;
    csta_client_t *owner = s_app(m, 0, false, NULL, false);
    csta_client_t *other = s_app(m, 1, false, NULL, false);
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_START_CDR;
    req.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    assert_int_equal(csta_client_call(owner, &req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&res);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_START_CDR;
    s_expect_error(other, &req, CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC);
    //  A finished call: its record goes to the owner (and ctimd acknowledges it to the PBX).
    s_make_call(other, "104", "105");
    s_ctl(m, "hangup %s", "104");
    csta_apdu_t ev;
    assert_int_equal(s_next(owner, &ev, WAIT_MS), 0);
    assert_int_equal(ev.opcode, CSTA_OP_CDR_REPORT);
    assert_true(ev.svc.call_detail_records_report.number_of_records_sent >= 1);
    csta_apdu_clear(&ev);
    long long deadline = test_now_ms() + WAIT_MS;
    while (s_sim_long(m, "stats", "cdr_acked") < 1 && test_now_ms() < deadline)
        s_pace();
    assert_true(s_sim_long(m, "stats", "cdr_acked") >= 1);
    //  The owner leaves: ctimd stops the transmission; now the other one may have it.
    csta_client_destroy(&m->app[0]);
    deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_START_CDR;
        assert_int_equal(csta_client_call(other, &req, &res, WAIT_MS), 0);
        csta_apdu_kind_t kind = res.kind;
        csta_apdu_clear(&res);
        if (kind == CSTA_APDU_RESULT)
            break;
        if (test_now_ms() > deadline)
            fail_msg("CDR never became free after its owner left");
        s_pace();
    }
}

static void devices_outside_the_users_list_are_refused(void **state)
{
    mux_t *m = *state;
    csta_client_t *desk = s_app(m, 0, false, "desk", false);     //  101-103
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "110");
    s_expect_error(desk, &req, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, "110");
    csta_device_set(&req.call.make_call.called, "101");
    s_expect_error(desk, &req, CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE);
    assert_int_equal(s_sim_long(m, "monitors 110", "monitors"), 0);
    //  Its own devices work; calling out of them too.
    csta_xref_t x = s_monitor(desk, "101");
    s_make_call(desk, "101", "110");
    s_expect_event(desk, &x, CSTA_EV_ORIGINATED);
    assert_true(s_metric(m, "ctim_csta_permission_denied_total{operation=\"MakeCall\"}") >= 1);
    (void) res;
}

static void wrong_password_is_refused_and_counted(void **state)
{
    mux_t *m = *state;
    int rc;
    m->app[0] = s_app_try(m, false, "crm", "wrong", false, &rc);
    assert_int_equal(rc, -EACCES);
    const csta_acse_t *aare = csta_client_aare(m->app[0]);
    assert_int_equal(aare->result, CSTA_AARE_REJECTED_PERMANENT);
    assert_int_equal(aare->diag_source, CSTA_DIAG_SERVICE_USER);
    assert_int_equal(aare->diag, CSTA_DIAG_AUTH_FAILURE);
    assert_int_equal(s_metric(m, "ctim_csta_logins_total{result=\"wrong-password\"}"), 1);
    //  The same address right away, even with the right password: back off first.
    m->app[1] = s_app_try(m, false, "crm", "crm-secret", false, &rc);
    assert_int_equal(rc, -EACCES);
    assert_int_equal(csta_client_aare(m->app[1])->result, CSTA_AARE_REJECTED_TRANSIENT);
    //  Others are not affected: an application without a login on TCP is fine.
    s_app(m, 2, false, NULL, false);
}

static void tls_needs_a_login_and_serves_like_tcp(void **state)
{
    mux_t *m = *state;
    int rc;
    m->app[0] = s_app_try(m, true, NULL, NULL, false, &rc);
    assert_int_equal(rc, -EACCES);
    assert_int_equal(csta_client_aare(m->app[0])->diag, CSTA_DIAG_AUTH_REQUIRED);
    csta_client_t *app = s_app(m, 1, true, "crm", false);   //  the certificate is verified
    csta_xref_t x = s_monitor(app, "106");
    s_make_call(app, "106", "107");
    s_expect_event(app, &x, CSTA_EV_SERVICE_INITIATED);
    s_expect_event(app, &x, CSTA_EV_ORIGINATED);
    assert_int_equal(s_metric(m, "ctim_csta_apps{transport=\"tls\"}"), 1);
}

static void garbage_from_one_application_leaves_the_others_alone(void **state)
{
    mux_t *m = *state;
    csta_client_t *bad = s_app(m, 0, false, NULL, false);
    csta_client_t *good = s_app(m, 1, false, NULL, false);
    s_monitor(bad, "108");
    csta_xref_t x = s_monitor(good, "109");
    //  Malformed BER in a good frame: a Reject, and the application goes on.
    static const uint8_t malformed[] = {0xA1, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x47};
    assert_int_equal(csta_client_send_raw(bad, malformed, sizeof malformed), 0);
    csta_apdu_t res;
    assert_int_equal(csta_client_wait_reply(bad, 0, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_REJECT);
    assert_int_equal(res.reject.problem, CSTA_REJ_GENERAL_BADLY_STRUCTURED_PDU);
    csta_apdu_clear(&res);
    s_monitor(bad, "110");
    //  Broken framing (an indefinite length) ends it; its monitors go.
    static const uint8_t indefinite[] = {0xA1, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00};
    assert_int_equal(csta_client_send_raw(bad, indefinite, sizeof indefinite), 0);
    csta_apdu_t ev;
    assert_int_equal(s_next(bad, &ev, WAIT_MS), -ECONNRESET);
    s_wait_monitors(m, "108", 0);
    s_wait_monitors(m, "110", 0);
    //  The other one was never held up.
    s_make_call(good, "109", "111");
    s_expect_event(good, &x, CSTA_EV_SERVICE_INITIATED);
    assert_true(s_metric(m, "ctim_csta_bad_input_total{reason=\"framing\"}") >= 1);
    assert_true(s_metric(m, "ctim_csta_bad_input_total{reason=\"malformed\"}") >= 1);
}

static bool s_is_status(const csta_apdu_t *ev, long status)
{
    return ev->kind == CSTA_APDU_INVOKE && ev->opcode == CSTA_OP_SYSTEM_STATUS &&
           ev->svc.system_status.status == status;
}

static bool s_is_event(const csta_apdu_t *ev, const csta_xref_t *x, csta_event_type_t type)
{
    return ev->kind == CSTA_APDU_INVOKE && ev->opcode == CSTA_OP_EVENT_REPORT &&
           ev->event.type == type && csta_xref_equal(&ev->event.xref, x);
}

//  Read until SystemStatus `status` and then the maintenance event of both xrefs; anything
//  in between (the PBX's periodic SystemStatus normal) is skipped.
static void s_expect_status_then(csta_client_t *app, long status, const csta_xref_t *x1,
                                 const csta_xref_t *x2, csta_event_type_t type)
{
    long long deadline = test_now_ms() + WAIT_MS;
    bool seen_status = false, seen1 = false, seen2 = false;
    while (!(seen1 && seen2)) {
        csta_apdu_t ev;
        long long left = deadline - test_now_ms();
        assert_true(left > 0);
        assert_int_equal(s_next(app, &ev, (int) left), 0);
        if (s_is_status(&ev, status))
            seen_status = true;
        if (s_is_event(&ev, x1, type)) {
            assert_true(seen_status);   //  SystemStatus first
            seen1 = true;
        }
        if (s_is_event(&ev, x2, type)) {
            assert_true(seen_status);
            seen2 = true;
        }
        csta_apdu_clear(&ev);
    }
}

static void link_drop_and_return_restore_every_monitor(void **state)
{
    mux_t *m = *state;
    csta_client_t *a = s_app(m, 0, false, NULL, true);
    csta_client_t *b = s_app(m, 1, false, NULL, true);
    csta_xref_t a1 = s_monitor(a, "101"), a2 = s_monitor(a, "102");
    csta_xref_t b2 = s_monitor(b, "102"), b3 = s_monitor(b, "103");
    long starts = s_sim_long(m, "stats", "monitor_starts");
    s_ctl(m, "drop%s", "");
    s_expect_status_then(a, CSTA_SYS_DISABLED, &a1, &a2, CSTA_EV_OUT_OF_SERVICE);
    s_expect_status_then(b, CSTA_SYS_DISABLED, &b2, &b3, CSTA_EV_OUT_OF_SERVICE);
    s_expect_status_then(a, CSTA_SYS_NORMAL, &a1, &a2, CSTA_EV_BACK_IN_SERVICE);
    s_expect_status_then(b, CSTA_SYS_NORMAL, &b2, &b3, CSTA_EV_BACK_IN_SERVICE);
    //  Every device monitored again at the PBX, once.
    s_wait_monitors(m, "101", 1);
    s_wait_monitors(m, "102", 1);
    s_wait_monitors(m, "103", 1);
    assert_int_equal(s_sim_long(m, "stats", "monitor_starts") - starts, 3);
    s_wait_http(m, "/readyz", "ready");
    s_wait_http(m, "/metrics", "ctim_pbx_reconnects_total{pbx=\"main\"} 1\n");
    assert_non_null(strstr(m->body, "ctim_pbx_link_up{pbx=\"main\"} 1\n"));
    //  Events flow again on the same cross-references.
    s_make_call(a, "101", "103");
    s_expect_event(a, &a1, CSTA_EV_ORIGINATED);
    s_expect_event(b, &b3, CSTA_EV_DELIVERED);
}

//  After a link drop, a monitor is back in service only once its MonitorStart is answered
//  (ECMA-269 BackInService: the device's events flow again), not when the link is up:
//  pbxsim holds every answer back HELD_MS, so SystemStatus normal (link up) comes that
//  much before the BackInService, and pbxsim has the device monitored by then.
#define HELD_MS 800

static void back_in_service_waits_for_the_monitor_start_answer(void **state)
{
    mux_t *m = *state;
    csta_client_t *a = s_app(m, 0, false, NULL, true);
    csta_xref_t x = s_monitor(a, "101");
    char held[16];
    snprintf(held, sizeof held, "%d", HELD_MS);
    s_ctl(m, "delay %s", held);
    s_ctl(m, "drop%s", "");
    s_expect_status_then(a, CSTA_SYS_DISABLED, &x, &x, CSTA_EV_OUT_OF_SERVICE);
    long long deadline = test_now_ms() + WAIT_MS, up_at = 0, in_at = 0;
    while (!in_at) {
        csta_apdu_t ev;
        long long left = deadline - test_now_ms();
        assert_true(left > 0);
        assert_int_equal(s_next(a, &ev, (int) left), 0);
        if (s_is_status(&ev, CSTA_SYS_NORMAL) && !up_at)
            up_at = test_now_ms();
        if (s_is_event(&ev, &x, CSTA_EV_BACK_IN_SERVICE)) {
            assert_true(up_at > 0);     //  SystemStatus first
            in_at = test_now_ms();
        }
        csta_apdu_clear(&ev);
    }
    //  The device is monitored at pbxsim by the time of its BackInService.
    assert_int_equal(s_sim_long(m, "monitors 101", "monitors"), 1);
    printf("link up -> BackInService: %lld ms (pbxsim holds answers %d ms)\n", in_at - up_at,
           HELD_MS);
    fflush(stdout);
    assert_true(in_at - up_at >= HELD_MS - 150);
    s_ctl(m, "delay %s", "0");
    s_make_call(a, "101", "103");
    s_expect_event(a, &x, CSTA_EV_ORIGINATED);
}

//  An application that connects by hand with a small receive buffer, monitors devices and
//  then never reads again.
static int s_stalled_app(mux_t *m, const char *const *devs, int ndevs)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) m->tcp_port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    csta_framer_t *fr = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    for (int i = -1; i < ndevs; i++) {
        csta_apdu_t a;
        csta_apdu_init(&a, i < 0 ? CSTA_APDU_AARQ : CSTA_APDU_INVOKE);
        if (i < 0) {
            snprintf(a.acse.context, sizeof a.acse.context, "%s", CSTA_ACN_CSTA3);
            csta_bits_set(&a.acse.csta_version, CSTA_VERSION_FIVE, 2);
        } else {
            a.invoke_id = i + 1;
            a.opcode = CSTA_OP_MONITOR_START;
            csta_device_set(&a.svc.monitor_start.device, devs[i]);
        }
        uint8_t buf[512];
        size_t len;
        assert_int_equal(csta_apdu_encode(&a, buf + 2, sizeof buf - 2, &len), 0);
        buf[0] = (uint8_t) (len >> 8);
        buf[1] = (uint8_t) len;
        assert_int_equal(send(fd, buf, len + 2, MSG_NOSIGNAL), (ssize_t) len + 2);
        //  Its answer (AARE, then results; SystemStatus and events may come between).
        csta_apdu_kind_t want = i < 0 ? CSTA_APDU_AARE : CSTA_APDU_RESULT;
        bool got = false;
        long long deadline = test_now_ms() + WAIT_MS;
        while (!got) {
            const uint8_t *apdu;
            size_t alen;
            if (csta_framer_next(fr, &apdu, &alen) == 0) {
                csta_peek_t pk;
                got = csta_peek(&pk, apdu, alen) == 0 && pk.kind == want;
                continue;
            }
            struct pollfd p = {.fd = fd, .events = POLLIN};
            long long left = deadline - test_now_ms();
            assert_true(left > 0 && poll(&p, 1, (int) left) == 1);
            assert_true(csta_framer_read(fr, fd) > 0);
        }
    }
    csta_framer_destroy(&fr);
    return fd;
}

static void slow_application_is_cut_off_without_holding_up_the_others(void **state)
{
    mux_t *m = *state;
    static const char *const devs[] = {"101", "102", "103", "104", "105", "106", "107", "108",
                                       "109", "110", "111", "112", "113", "114", "115", "116",
                                       "117", "118", "119", "120"};
    int ndevs = 20;
    csta_client_t *fast = s_app(m, 0, false, NULL, false);
    for (int i = 0; i < ndevs; i++)
        s_monitor(fast, devs[i]);
    int stalled = s_stalled_app(m, devs, ndevs);
    //  Calls between the extensions, as fast as pbxsim makes them.
    test_pbxsim_ctl(&m->sim, m->reply, sizeof m->reply, "traffic 40 60 50 100");
    long long start = test_now_ms(), last = start, deadline = start + 60000;
    long long worst_gap = 0, cut_at = 0;
    long events = 0, after_cut = 0;
    while (test_now_ms() < deadline && after_cut < 500) {
        csta_apdu_t ev;
        assert_int_equal(s_next(fast, &ev, 5000), 0);
        csta_apdu_clear(&ev);
        long long now = test_now_ms();
        if (now - last > worst_gap)
            worst_gap = now - last;
        last = now;
        events++;
        if (cut_at)
            after_cut++;
        else if (events % 200 == 0 &&
                 s_metric(m, "ctim_csta_queue_overflows_total") >= 1)
            cut_at = now;
    }
    test_pbxsim_ctl(&m->sim, m->reply, sizeof m->reply, "traffic stop");
    print_message(
        "slow app: cut off after %lld ms, %ld events to the fast app, worst gap %lld ms\n",
        cut_at ? cut_at - start : -1, events, worst_gap);
    assert_true(cut_at > 0);
    assert_true(after_cut >= 500);
    //  The fast application never waited long for an event while the slow one backed up.
    assert_true(worst_gap < 2000);
    assert_int_equal(s_metric(m, "ctim_csta_app_disconnects_total{reason=\"queue-overflow\"}"), 1);
    //  The stalled one finds its connection closed once it reads.
    char buf[65536];
    ssize_t n;
    long long until = test_now_ms() + WAIT_MS;
    while ((n = recv(stalled, buf, sizeof buf, MSG_DONTWAIT)) != 0 && test_now_ms() < until)
        if (n < 0 && errno != EAGAIN)
            break;
        else if (n < 0) {
            struct pollfd p = {.fd = stalled, .events = POLLIN};
            poll(&p, 1, 100);
        }
    assert_true(n <= 0);
    close(stalled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            three_apps_share_one_monitor_per_device_and_see_what_a_direct_app_sees, setup,
            teardown),
        cmocka_unit_test_setup_teardown(cdr_belongs_to_the_first_application, setup, teardown),
        cmocka_unit_test_setup_teardown(devices_outside_the_users_list_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(wrong_password_is_refused_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_needs_a_login_and_serves_like_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_from_one_application_leaves_the_others_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(back_in_service_waits_for_the_monitor_start_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(link_drop_and_return_restore_every_monitor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(slow_application_is_cut_off_without_holding_up_the_others,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
