//  Forwarding end to end (issue 6): pbxsim taking one CSTA link, two or three ctimd in a
//  cluster, and applications connected to a node that does NOT hold the PBX link — a CSTA
//  application (csta_client, the multiplexer front end) and a libctim application (the
//  client API) — which get their replies and events as if that node held the link.
//
//  - csta_app_on_the_standby_sees_what_it_sees_on_the_owner: MonitorStart and MakeCall
//    through the standby; every device's event types, in order, equal those an application
//    on the owner sees; pbxsim monitors each device once for the whole cluster.  Prints the
//    request round trip through the standby and through the owner (forwarding overhead).
//  - libctim_app_on_the_standby_calls_and_answers: open lines, make, answer and hang up a
//    call, address status, through the standby; the standby learned the PBX's line names
//    (segments routed back); its forwarding metrics pass promtool.
//  - kill_owner_with_requests_in_flight_then_monitors_work_on_the_survivor: pbxsim holds
//    its answers (delay) while both applications have a request out; kill -9 of the owner:
//    each gets an error it can retry (LINK_DOWN; resourceOutOfService), never silence; the
//    standby takes the link and the applications' monitors work without re-monitoring.
//  - three_nodes_standby_follows_the_new_owner: the applications are on c; a is killed, b
//    takes over; c's in-flight request fails, its watches move to b, calls show on c.
//
//  - csta_app_on_the_standby_gets_the_pbx_broadcasts: the PBX's SystemStatus broadcasts reach
//    a CSTA application on the standby through the owner.
//
//  Every wait is a condition with a deadline; processes are stopped after each test.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "csta.h"
#include "csta_client.h"
#include "test_ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"

#define NODES_MAX 3
#define WAIT_MS 15000
#define HB_MS 1000                  //  the libctim application's heartbeat
#define RTT_SAMPLES 300

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    size_t n;
    test_node_t node[NODES_MAX];
    int cluster_port[NODES_MAX];
    char dir[64];
    test_app_t app;
    bool app_up;
    csta_client_t *csta[2];
    char reply[1 << 14];
    char body[1 << 17];
} fw_t;

static fw_t *s_t;                   //  for teardown after a failed assertion
static const char *const s_ids[NODES_MAX] = {"a", "b", "c"};

//  --- Cluster --------------------------------------------------------------------------------

//  The cluster section of node i's file: every node lists the others.
static void s_cluster_yaml(fw_t *t, size_t i, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "cluster:\n  listen: 127.0.0.1\n  port: %d\n  state_dir: %s/state-%s\n"
                     "  peers:\n",
                     t->cluster_port[i], t->dir, s_ids[i]);
    for (size_t j = 0; j < t->n && j < NODES_MAX; j++)
        if (j != i)
            n += snprintf(out + n, cap - (size_t) n, "    - {id: %s, endpoint: \"127.0.0.1:%d\"}\n",
                          s_ids[j], t->cluster_port[j]);
}

static void s_start_node(fw_t *t, size_t i)
{
    char yaml[1024];
    s_cluster_yaml(t, i, yaml, sizeof yaml);
    assert_int_equal(test_node_start(&t->node[i], t->dir, s_ids[i], t->sim.port, yaml, false), 0);
}

//  GET path of node i into t->body; the HTTP status (0 when it did not answer).
static int s_get(fw_t *t, size_t i, const char *path)
{
    int code = 0;
    if (test_http_get("127.0.0.1", t->node[i].http_port, path, 2000, &code, t->body,
                      sizeof t->body) != 0)
        return 0;
    return code;
}

//  Wait until node i's /status says that it serves main as `via` ("local", "forwarded")
//  with owner, state UP.
static void s_wait_serving(fw_t *t, size_t i, const char *via, const char *owner)
{
    char want[128];
    snprintf(want, sizeof want, "\"state\":\"UP\",\"via\":\"%s\",\"owner\":\"%s\"", via, owner);
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        if (s_get(t, i, "/status") == 200 && strstr(t->body, want))
            return;
        if (t->app_up)
            test_app_turn(&t->app, test_now_ms() + 10);
        else {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    fail_msg("node %s never served main %s through %s; /status:\n%s", s_ids[i], via, owner,
             t->body);
}

//  n nodes on one pbxsim (one link at a time); a holds the link, the others forward.
static void s_cluster(fw_t *t, size_t n, const char *const *sim_args)
{
    t->n = n;
    assert_int_equal(test_pbxsim_start(&t->sim, sim_args), 0);
    t->sim_running = true;
    for (size_t i = 0; i < n; i++)
        t->cluster_port[i] = test_free_port();
    for (size_t i = 0; i < n; i++)
        s_start_node(t, i);
    s_wait_serving(t, 0, "local", "a");
    for (size_t i = 1; i < n; i++)
        s_wait_serving(t, i, "forwarded", "a");
}

static int setup(void **state)
{
    fw_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    s_t = t;
    *state = t;
    for (size_t i = 0; i < NODES_MAX; i++)
        t->node[i].proc.pid = -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/ctim-forward-XXXXXX");
    return mkdtemp(t->dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void) state;
    fw_t *t = s_t;
    if (!t)
        return 0;
    if (t->app_up)
        test_app_destroy(&t->app);
    for (size_t i = 0; i < 2; i++)
        csta_client_destroy(&t->csta[i]);
    for (size_t i = 0; i < NODES_MAX; i++)
        test_node_kill(&t->node[i]);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", t->dir);
    free(t);
    s_t = NULL;
    return 0;
}

static long s_sim(fw_t *t, const char *key, const char *fmt, const char *arg)
{
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, fmt, arg) != 0)
        fail_msg("pbxsim ctl %s %s: %s", fmt, arg, t->reply);
    return test_json_long(t->reply, key, -1);
}

static void s_ctl(fw_t *t, const char *command)
{
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "%s", command) != 0)
        fail_msg("pbxsim ctl %s: %s", command, t->reply);
}

//  --- A CSTA application ---------------------------------------------------------------------

static csta_client_t *s_csta(fw_t *t, size_t slot, size_t node)
{
    csta_client_cfg_t cfg = {.host = "127.0.0.1",
                             .port = t->node[node].csta_port,
                             .user = TEST_CTIM_USER,
                             .password = TEST_CTIM_PASSWORD,
                             .timeout_ms = WAIT_MS};
    t->csta[slot] = csta_client_new(&cfg);
    assert_non_null(t->csta[slot]);
    assert_int_equal(csta_client_connect(t->csta[slot]), 0);
    return t->csta[slot];
}

static csta_xref_t s_monitor(csta_client_t *app, const char *dev)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, dev);
    assert_int_equal(csta_client_call(app, &req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_xref_t x = res.svc.monitor_start_res.xref;
    csta_apdu_clear(&res);
    return x;
}

static void s_snapshot_invoke(csta_apdu_t *req, const char *dev)
{
    csta_apdu_init(req, CSTA_APDU_INVOKE);
    req->opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&req->svc.snapshot_device.snapshot_object, dev);
}

//  The event types one application saw per device (xref 0 and 1: its two monitors).
typedef struct {
    csta_xref_t xref[2];
    int types[2][64];
    size_t count[2];
} s_seen_t;

//  Read app's events into seen until the last event of device d is `until` (or fail).
static void s_read_until(csta_client_t *app, s_seen_t *seen, size_t d, csta_event_type_t until)
{
    long long deadline = test_now_ms() + WAIT_MS;
    while (!(seen->count[d] && seen->types[d][seen->count[d] - 1] == (int) until)) {
        long long left = deadline - test_now_ms();
        assert_true(left > 0);
        csta_apdu_t ev;
        assert_int_equal(csta_client_next_event(app, &ev, (int) left), 0);
        for (size_t k = 0; k < 2; k++)
            if (ev.kind == CSTA_APDU_INVOKE && ev.opcode == CSTA_OP_EVENT_REPORT &&
                csta_xref_equal(&ev.event.xref, &seen->xref[k]) && seen->count[k] < 64)
                seen->types[k][seen->count[k]++] = (int) ev.event.type;
        csta_apdu_clear(&ev);
    }
}

static int s_cmp_us(const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return x < y ? -1 : x > y;
}

//  SnapshotDevice round trips (us) through app: p50 and p99.
static void s_rtt(csta_client_t *app, long long *p50, long long *p99)
{
    static long long us[RTT_SAMPLES];
    for (int i = 0; i < RTT_SAMPLES; i++) {
        csta_apdu_t req, res;
        s_snapshot_invoke(&req, "101");
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(csta_client_call(app, &req, &res, WAIT_MS), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_int_equal(res.kind, CSTA_APDU_RESULT);
        csta_apdu_clear(&res);
        us[i] = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
    }
    qsort(us, RTT_SAMPLES, sizeof us[0], s_cmp_us);
    *p50 = us[RTT_SAMPLES / 2];
    *p99 = us[RTT_SAMPLES * 99 / 100];
}

//  --- The libctim application ----------------------------------------------------------------

static void s_app_on(fw_t *t, size_t node, const char *const *lines)
{
    char ep[48];
    test_node_endpoint(&t->node[node], ep, sizeof ep);
    assert_int_equal(test_app_connect(&t->app, ep, HB_MS), 0);
    t->app_up = true;
    for (size_t i = 0; lines[i]; i++) {
        test_ctim_reply_t r;
        assert_true(test_app_reply(&t->app, ctim_open_line(t->app.ctim, lines[i], NULL), &r));
        assert_int_equal(r.result, CTIM_RESULT_OK);
    }
    for (size_t i = 0; lines[i]; i++)
        assert_true(test_app_wait_service(&t->app, lines[i], true, test_now_ms() + WAIT_MS));
}

static test_ctim_reply_t s_reply(fw_t *t, int id)
{
    test_ctim_reply_t r;
    assert_true(test_app_reply(&t->app, id, &r));
    return r;
}

static test_ctim_event_t s_expect(fw_t *t, const char *line, ctim_call_state_t state)
{
    test_ctim_event_t e;
    assert_true(test_app_expect(&t->app, line, state, &e));
    return e;
}

//  Keep the application's loop running while pbxsim's monitor count for dev becomes n.
static void s_wait_monitors(fw_t *t, const char *dev, long n)
{
    long long deadline = test_now_ms() + WAIT_MS;
    long got = -1;
    while ((got = s_sim(t, "monitors", "monitors %s", dev)) != n && test_now_ms() < deadline)
        test_app_turn(&t->app, test_now_ms() + 20);
    assert_int_equal(got, n);
}

//  MakeCall 101 -> 102 through the node the application is on, answer, hang up, with the
//  states both lines see.
static void s_call(fw_t *t)
{
    test_ctim_reply_t mk = s_reply(t, ctim_make_call(t->app.ctim, "101", "102"));
    assert_int_equal(mk.result, CTIM_RESULT_OK);
    assert_true(mk.call_id[0] != '\0');
    test_ctim_event_t ring;
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_RINGBACK, &ring));
    assert_string_equal(ring.call_id, mk.call_id);
    test_ctim_event_t offer = s_expect(t, "102", CTIM_CALL_OFFERING);
    assert_string_equal(offer.caller, "101");
    assert_int_equal(s_reply(t, ctim_answer(t->app.ctim, "102", offer.call_id)).result,
                     CTIM_RESULT_OK);
    s_expect(t, "101", CTIM_CALL_CONNECTED);
    s_expect(t, "102", CTIM_CALL_CONNECTED);
    assert_int_equal(s_reply(t, ctim_hang_up(t->app.ctim, "101", mk.call_id)).result,
                     CTIM_RESULT_OK);
    s_expect(t, "101", CTIM_CALL_DISCONNECTED);
    s_expect(t, "101", CTIM_CALL_IDLE);
    s_expect(t, "102", CTIM_CALL_DISCONNECTED);
    s_expect(t, "102", CTIM_CALL_IDLE);
}

//  A metric's value in t->body (the /metrics text), or -1.
static double s_metric(fw_t *t, const char *series)
{
    const char *p = strstr(t->body, series);
    return p ? strtod(p + strlen(series), NULL) : -1;
}

//  --- Tests ----------------------------------------------------------------------------------

static void csta_app_on_the_standby_sees_what_it_sees_on_the_owner(void **state)
{
    fw_t *t = *state;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    s_cluster(t, 2, args);
    csta_client_t *on_b = s_csta(t, 0, 1), *on_a = s_csta(t, 1, 0);
    s_seen_t sb = {0}, sa = {0};
    sb.xref[0] = s_monitor(on_b, "101");
    sb.xref[1] = s_monitor(on_b, "102");
    sa.xref[0] = s_monitor(on_a, "101");
    sa.xref[1] = s_monitor(on_a, "102");
    //  One PBX monitor per device for the whole cluster.
    assert_int_equal(s_sim(t, "monitors", "monitors %s", "101"), 1);
    assert_int_equal(s_sim(t, "monitors", "monitors %s", "102"), 1);

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, "101");
    csta_device_set(&req.call.make_call.called, "102");
    assert_int_equal(csta_client_call(on_b, &req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&res);
    s_read_until(on_b, &sb, 1, CSTA_EV_DELIVERED);
    s_read_until(on_a, &sa, 1, CSTA_EV_DELIVERED);
    s_ctl(t, "answer 102");
    s_read_until(on_b, &sb, 1, CSTA_EV_ESTABLISHED);
    s_read_until(on_a, &sa, 1, CSTA_EV_ESTABLISHED);
    s_ctl(t, "hangup 101");
    s_read_until(on_b, &sb, 1, CSTA_EV_CONNECTION_CLEARED);
    s_read_until(on_a, &sa, 1, CSTA_EV_CONNECTION_CLEARED);
    s_read_until(on_b, &sb, 0, CSTA_EV_CONNECTION_CLEARED);
    s_read_until(on_a, &sa, 0, CSTA_EV_CONNECTION_CLEARED);
    for (size_t d = 0; d < 2; d++) {
        assert_true(sb.count[d] >= 3);
        assert_int_equal(sb.count[d], sa.count[d]);
        assert_memory_equal(sb.types[d], sa.types[d], sa.count[d] * sizeof sa.types[d][0]);
    }

    //  The forwarding overhead: the same request through the standby and the owner.
    long long b50, b99, a50, a99;
    s_rtt(on_b, &b50, &b99);
    s_rtt(on_a, &a50, &a99);
    printf("SnapshotDevice round trip, %d each: through the standby p50 %lld us p99 %lld us; "
           "through the owner p50 %lld us p99 %lld us; forwarding adds %lld us at p50\n",
           RTT_SAMPLES, b50, b99, a50, a99, b50 - a50);
    fflush(stdout);
    assert_int_equal(s_get(t, 1, "/status"), 200);
    assert_non_null(strstr(t->body, "\"via\":\"forwarded\",\"owner\":\"a\""));
    assert_non_null(strstr(t->body, "\"forward\":{\"pbx\":[{\"name\":\"main\",\"owner\":\"a\""));
}

static void libctim_app_on_the_standby_calls_and_answers(void **state)
{
    fw_t *t = *state;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    s_cluster(t, 2, args);
    static const char *const lines[] = {"101", "102", NULL};
    s_app_on(t, 1, lines);
    s_wait_monitors(t, "101", 1);
    s_wait_monitors(t, "102", 1);
    s_call(t);
    test_ctim_reply_t st = s_reply(t, ctim_get_address_status(t->app.ctim, "101"));
    assert_int_equal(st.result, CTIM_RESULT_OK);
    //  The standby learned the PBX's line names through the owner: GetSwitchingFunction-
    //  Devices forwarded, its SwitchingFunctionDevices segments routed back.
    assert_int_equal(s_get(t, 1, "/lines"), 200);
    assert_non_null(strstr(t->body, "101,Extension 101\n"));
    assert_non_null(strstr(t->body, "120,Extension 120\n"));

    //  The standby's forwarding figures.
    assert_int_equal(s_get(t, 1, "/metrics"), 200);
    assert_true(s_metric(t, "ctim_ha_forward_requests_total{pbx=\"main\"} ") >= 5);
    assert_true(s_metric(t, "ctim_ha_forward_replies_total{pbx=\"main\"} ") >= 5);
    assert_true(s_metric(t, "ctim_ha_forward_events_total{pbx=\"main\"} ") >= 8);
    assert_true(s_metric(t, "ctim_ha_forward_event_gaps_total{pbx=\"main\"} ") == 0);
    assert_true(s_metric(t, "ctim_ha_forward_watches{pbx=\"main\"} ") == 2);
    assert_true(s_metric(t, "ctim_ha_forward_up{pbx=\"main\"} ") == 1);
    assert_true(s_metric(t, "ctim_pbx_link_up{pbx=\"main\"} ") == 0);    //  not its link
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[128], cmd[256];
        snprintf(path, sizeof path, "%s/metrics.txt", t->dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(t->body, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(s_get(t, 0, "/metrics"), 200);
    assert_true(s_metric(t, "ctim_ha_forward_served_total{pbx=\"main\"} ") >= 5);
    assert_true(s_metric(t, "ctim_ha_forward_served_watches{pbx=\"main\"} ") == 2);
    assert_true(s_metric(t, "ctim_pbx_link_up{pbx=\"main\"} ") == 1);
}

//  A CSTA request whose answer is waited for while the libctim application keeps running.
static void s_csta_wait(fw_t *t, csta_client_t *app, long id, csta_apdu_t *res)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        int rc = csta_client_wait_reply(app, id, res, 20);
        if (rc == 0)
            return;
        assert_int_equal(rc, -ETIMEDOUT);
        assert_true(test_now_ms() < deadline);
        test_app_turn(&t->app, test_now_ms() + 5);
    }
}

//  The applications on node `on` have a request out while pbxsim holds its answers; the
//  owner (node 0) is killed.  Both requests get an error they may retry, never silence;
//  `next` takes over; the monitors work again without the applications doing anything.
static void s_kill_owner_in_flight(fw_t *t, size_t on, size_t next)
{
    static const char *const lines[] = {"101", "102", NULL};
    s_app_on(t, on, lines);
    csta_client_t *app = s_csta(t, 0, on);
    csta_xref_t x103 = s_monitor(app, "103");
    s_wait_monitors(t, "101", 1);

    s_ctl(t, "delay 3000");
    int id = ctim_get_address_status(t->app.ctim, "101");
    assert_true(id > 0);
    csta_apdu_t req, res;
    s_snapshot_invoke(&req, "103");
    long invoke = csta_client_invoke(app, &req);
    assert_true(invoke > 0);
    test_app_turn(&t->app, test_now_ms() + 50);     //  both are at the owner now
    long long t0 = test_now_ms();
    test_node_kill(&t->node[0]);
    s_ctl(t, "delay 0");

    test_ctim_reply_t r = s_reply(t, id);
    long long lib_ms = test_now_ms() - t0;
    assert_true(r.result == CTIM_RESULT_LINK_DOWN || r.result == CTIM_RESULT_INTERRUPTED);
    s_csta_wait(t, app, invoke, &res);
    long long csta_ms = test_now_ms() - t0;
    assert_int_equal(res.kind, CSTA_APDU_ERROR);
    assert_int_equal(res.error.category, CSTA_ERR_SYSTEM_RESOURCE);
    assert_int_equal(res.error.value, CSTA_SYSERR_RESOURCE_OUT_OF_SERVICE);
    csta_apdu_clear(&res);
    //  Well before pbxsim's held answer (3 s) or the request's deadline (5 s).
    assert_true(lib_ms < 2500 && csta_ms < 2500);

    //  Out of service when the loss is seen, in service when control is back (invariant 2).
    assert_true(test_app_wait_went_out(&t->app, "101", t0, test_now_ms() + WAIT_MS));
    assert_true(test_app_wait_service(&t->app, "101", true, test_now_ms() + WAIT_MS));
    long long up_ms = test_now_ms() - t0;
    s_wait_serving(t, next, "local", s_ids[next]);
    if (on != next)
        s_wait_serving(t, on, "forwarded", s_ids[next]);
    printf("kill -9 of the owner: the in-flight request's error after %lld ms (libctim %s), "
           "%lld ms (CSTA); the lines in service again after %lld ms\n",
           lib_ms, ctim_result_str(r.result), csta_ms, up_ms);
    fflush(stdout);

    //  The monitors are back without MonitorStart or OpenLine from the applications.
    s_wait_monitors(t, "101", 1);
    s_wait_monitors(t, "103", 1);
    s_ctl(t, "dial 104 101");
    test_ctim_event_t offer;
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_OFFERING, &offer));
    assert_string_equal(offer.caller, "104");
    s_ctl(t, "dial 105 103");
    long long deadline = test_now_ms() + WAIT_MS;
    for (bool delivered = false; !delivered;) {
        assert_true(test_now_ms() < deadline);
        csta_apdu_t ev;
        int rc = csta_client_next_event(app, &ev, 20);
        if (rc == -ETIMEDOUT) {
            test_app_turn(&t->app, test_now_ms() + 5);
            continue;
        }
        assert_int_equal(rc, 0);
        delivered = ev.kind == CSTA_APDU_INVOKE && ev.opcode == CSTA_OP_EVENT_REPORT &&
                    ev.event.type == CSTA_EV_DELIVERED && csta_xref_equal(&ev.event.xref, &x103);
        csta_apdu_clear(&ev);
    }
}

static void kill_owner_with_requests_in_flight_then_monitors_work_on_the_survivor(void **state)
{
    fw_t *t = *state;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    s_cluster(t, 2, args);
    s_kill_owner_in_flight(t, 1, 1);
}

static void three_nodes_standby_follows_the_new_owner(void **state)
{
    fw_t *t = *state;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    s_cluster(t, 3, args);
    s_kill_owner_in_flight(t, 2, 1);
    //  c never held the link; it forwards to b.
    assert_int_equal(s_get(t, 2, "/status"), 200);
    assert_non_null(strstr(t->body, "\"held\":false"));
    assert_non_null(strstr(t->body, "\"via\":\"forwarded\",\"owner\":\"b\""));
}

//  The PBX's broadcasts reach a CSTA application on the standby (issue 6): pbxsim sends
//  SystemStatus every 150 ms on the owner's link; the standby's multiplexer sends its own
//  only at the association (and on link changes), so more than two in a second came
//  through the owner.
static void csta_app_on_the_standby_gets_the_pbx_broadcasts(void **state)
{
    fw_t *t = *state;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120",
                                       "--status-interval-ms", "150", NULL};
    s_cluster(t, 2, args);
    csta_client_cfg_t cfg = {.host = "127.0.0.1",
                             .port = t->node[1].csta_port,
                             .user = TEST_CTIM_USER,
                             .password = TEST_CTIM_PASSWORD,
                             .timeout_ms = WAIT_MS,
                             .keep_system_status = true};
    t->csta[0] = csta_client_new(&cfg);
    assert_non_null(t->csta[0]);
    assert_int_equal(csta_client_connect(t->csta[0]), 0);
    int status = 0;
    long long end = test_now_ms() + 1000;
    for (long long left; (left = end - test_now_ms()) > 0;) {
        csta_apdu_t ev;
        int rc = csta_client_next_event(t->csta[0], &ev, (int) left);
        if (rc == -ETIMEDOUT)
            break;
        assert_int_equal(rc, 0);
        status += ev.kind == CSTA_APDU_INVOKE && ev.opcode == CSTA_OP_SYSTEM_STATUS;
        csta_apdu_clear(&ev);
    }
    printf("SystemStatus invokes on the standby's CSTA application in 1 s: %d (pbxsim every "
           "150 ms)\n", status);
    fflush(stdout);
    assert_true(status >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(csta_app_on_the_standby_sees_what_it_sees_on_the_owner,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(libctim_app_on_the_standby_calls_and_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            kill_owner_with_requests_in_flight_then_monitors_work_on_the_survivor, setup,
            teardown),
        cmocka_unit_test_setup_teardown(three_nodes_standby_follows_the_new_owner, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(csta_app_on_the_standby_gets_the_pbx_broadcasts, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
