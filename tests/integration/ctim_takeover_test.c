//  Takeover of devices and resume anywhere (issue 6, DESIGN.md invariants 2 and 4): a pair
//  of real ctimd nodes in a cluster on one pbxsim that takes one CSTA link, and libctim
//  applications in the test process.
//
//  - takeover_monitors_the_lost_nodes_devices_and_the_app_resumes_without_reopening: an
//    application on node a (the holder) with lines 101 and 102 open, one on node b (the
//    standby) with line 105, a CSTA application on a monitoring 104.  kill -9 a: b takes the
//    link and monitors all four devices (pbxsim says so) before a's application, which
//    notices the loss only after two heartbeat intervals, even arrives; the application
//    then resumes on b from the replicated state — RESUMED_WITH_GAP, EventsLost, its lines
//    in service with no open_line request at b — and a call works through b.  b's own
//    application (served through a by forwarding) sees its line out of service when a is
//    lost and in service again once b holds the link.  The times from the kill
//    to the link up on b, all devices monitored and the lines in service are printed.
//  - lost_nodes_devices_expire_when_nobody_resumes: the application dies with its node;
//    b monitors its line and the CSTA application's device after the takeover, then stops
//    monitoring them when their linger (two heartbeats + resume_grace_ms, or the grace for
//    CSTA monitors) has passed since b lost a.
//
//  Every wait is a condition polled with a deadline; processes are stopped after each test.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "csta_client.h"
#include "test_ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_node_t a, b;
    int cluster_port[2];
    test_app_t app, app_b;
    bool app_up, app_b_up;
    csta_client_t *csta;
    char reply[1 << 12];
    char body[1 << 16];
} tk_t;

static char s_dir[64];

static int group_setup(void **state)
{
    (void) state;
    return test_ctim_dir_make(s_dir, sizeof s_dir, "takeover");
}

static int group_teardown(void **state)
{
    (void) state;
    return test_ctim_dir_remove(s_dir);
}

static int teardown(void **state)
{
    tk_t *t = *state;
    if (!t)
        return 0;
    if (t->app_up)
        test_app_destroy(&t->app);
    if (t->app_b_up)
        test_app_destroy(&t->app_b);
    csta_client_destroy(&t->csta);
    test_node_stop(&t->a);
    test_node_stop(&t->b);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    free(t);
    return 0;
}

//  The cluster section of node id's config (appended to test_ctim's), grace in ms.
static void s_cluster_yaml(tk_t *t, int me, int grace_ms, char *out, size_t cap)
{
    const char *ids = "ab";
    snprintf(out, cap,
             "cluster:\n  listen: 127.0.0.1\n  port: %d\n  state_dir: %s/state-%c\n"
             "  heartbeat_ms: 100\n  lost_after: 5\n  resume_grace_ms: %d\n"
             "  peers:\n    - {id: %c, endpoint: \"127.0.0.1:%d\"}\n",
             t->cluster_port[me], s_dir, ids[me], grace_ms, ids[1 - me],
             t->cluster_port[1 - me]);
}

static bool s_status(tk_t *t, const test_node_t *n)
{
    int code = 0;
    return test_http_get("127.0.0.1", n->http_port, "/status", 2000, &code, t->body,
                         sizeof t->body) == 0 &&
           code == 200;
}

//  Node n holds pbx main and its link is up.
static bool s_holds(tk_t *t, const test_node_t *n)
{
    return s_status(t, n) && strstr(t->body, "\"held\":true,\"link_up\":true");
}

//  A metric's value on node n (the first line starting with `series `), -1 when absent.
static double s_metric(tk_t *t, const test_node_t *n, const char *series)
{
    int code = 0;
    if (test_http_get("127.0.0.1", n->http_port, "/metrics", 2000, &code, t->body,
                      sizeof t->body) != 0 || code != 200)
        return -2;
    char pattern[256];
    snprintf(pattern, sizeof pattern, "\n%s ", series);
    const char *p = strstr(t->body, pattern);
    return p ? atof(p + strlen(pattern)) : -1;
}

static long s_monitors(tk_t *t, const char *dev)
{
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "monitors %s", dev) != 0)
        return -1;
    return test_json_long(t->reply, "monitors", -1);
}

//  Every device of the list is monitored once at pbxsim.
static bool s_all_monitored(tk_t *t, const char *const *devs)
{
    for (size_t i = 0; devs[i]; i++)
        if (s_monitors(t, devs[i]) != 1)
            return false;
    return true;
}

//  Turn both applications' loops once (20 ms at most).
static void s_turn(tk_t *t)
{
    long long until = test_now_ms() + 10;
    if (t->app_up)
        test_app_turn(&t->app, until);
    if (t->app_b_up)
        test_app_turn(&t->app_b, test_now_ms() + 10);
}

//  pbxsim (one link, 101..120), a on it, b standing by; both with the cluster.
static void s_pair(tk_t *t, int grace_ms)
{
    t->a.proc.pid = t->b.proc.pid = -1;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    assert_int_equal(test_pbxsim_start(&t->sim, args), 0);
    t->sim_running = true;
    t->cluster_port[0] = test_free_port();
    t->cluster_port[1] = test_free_port();
    char yaml[512];
    s_cluster_yaml(t, 0, grace_ms, yaml, sizeof yaml);
    assert_int_equal(test_node_start(&t->a, s_dir, "a", t->sim.port, yaml, true), 0);
    s_cluster_yaml(t, 1, grace_ms, yaml, sizeof yaml);
    assert_int_equal(test_node_start(&t->b, s_dir, "b", t->sim.port, yaml, false), 0);
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    while (!(s_status(t, &t->b) && strstr(t->body, "\"owner\":\"a\"")) &&
           test_now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds it
    }
    assert_non_null(strstr(t->body, "\"owner\":\"a\""));
    assert_true(s_holds(t, &t->a));
}

static void s_open(test_app_t *app, const char *line, const char *failure, bool in_service)
{
    test_ctim_reply_t r;
    assert_true(test_app_reply(app, ctim_open_line(app->ctim, line, failure), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_wait_service(app, line, in_service, test_now_ms() + TEST_CTIM_WAIT_MS));
}

//  A CSTA application on node a monitoring dev (node a holds the link).
static void s_csta_monitor(tk_t *t, const char *dev)
{
    csta_client_cfg_t cfg = {.host = "127.0.0.1", .port = t->a.csta_port, .timeout_ms = 5000};
    t->csta = csta_client_new(&cfg);
    assert_non_null(t->csta);
    assert_int_equal(csta_client_connect(t->csta), 0);
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, dev);
    assert_int_equal(csta_client_call(t->csta, &req, &res, 5000), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&res);
}

//  Wait (turning the applications' loops) until cond holds; at (may be NULL) gets the time
//  it was seen, or the test fails.
#define S_UNTIL(t, cond, what, at)                                                               \
    do {                                                                                         \
        long long deadline_ = test_now_ms() + TEST_CTIM_WAIT_MS;                                 \
        while (!(cond) && test_now_ms() < deadline_)                                             \
            s_turn(t);                                                                           \
        if (!(cond))                                                                             \
            fail_msg("never: %s", what);                                                         \
        long long *at_ = (at);                                                                   \
        if (at_)                                                                                 \
            *at_ = test_now_ms();                                                                \
    } while (0)

//  A call 101 -> 102 through the node the library is on, answered and cleared.
static void s_call(tk_t *t)
{
    test_app_t *app = &t->app;
    test_ctim_reply_t mk, r;
    test_ctim_event_t e, offer;
    assert_true(test_app_reply(app, ctim_make_call(app->ctim, "101", "102"), &mk));
    assert_int_equal(mk.result, CTIM_RESULT_OK);
    assert_true(test_app_skip_to(app, "101", CTIM_CALL_RINGBACK, &e));
    assert_string_equal(e.call_id, mk.call_id);
    assert_true(test_app_skip_to(app, "102", CTIM_CALL_OFFERING, &offer));
    assert_string_equal(offer.caller, "101");
    assert_true(test_app_reply(app, ctim_answer(app->ctim, "102", offer.call_id), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_skip_to(app, "101", CTIM_CALL_CONNECTED, NULL));
    assert_true(test_app_reply(app, ctim_hang_up(app->ctim, "101", mk.call_id), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_skip_to(app, "101", CTIM_CALL_IDLE, NULL));
    assert_true(test_app_skip_to(app, "102", CTIM_CALL_IDLE, NULL));
}

static void takeover_monitors_the_lost_nodes_devices_and_the_app_resumes_without_reopening(
    void **state)
{
    tk_t *t = calloc(1, sizeof *t);
    *state = t;
    assert_non_null(t);
    s_pair(t, 5000);
    char ea[48], eb[48], servers[128];
    test_node_endpoint(&t->a, ea, sizeof ea);
    test_node_endpoint(&t->b, eb, sizeof eb);
    snprintf(servers, sizeof servers, "%s,%s", ea, eb);
    //  The application on a: heartbeat 1000 ms (libctim's default), so it notices a's loss
    //  1..2 s after the kill, well after b's takeover (0.5..0.6 s).
    assert_int_equal(test_app_connect(&t->app, servers, 1000), 0);
    t->app_up = true;
    s_open(&t->app, "101", "119", true);
    s_open(&t->app, "102", NULL, true);
    //  The application on b: b stands by and serves it through a (forwarding), so its line
    //  opens in service; a monitors it for the cluster.
    assert_int_equal(test_app_connect(&t->app_b, eb, 1000), 0);
    t->app_b_up = true;
    s_open(&t->app_b, "105", NULL, true);
    s_csta_monitor(t, "104");
    static const char *const devs[] = {"101", "102", "104", "105", NULL};
    S_UNTIL(t, s_all_monitored(t, devs), "a monitors 101, 102, 104 and 105", NULL);
    assert_true(s_status(t, &t->b));
    assert_non_null(strstr(t->body, "\"state\":{"));
    assert_true(s_metric(t, &t->b, "ctim_ha_state_keys") >= 5);  //  2 sessions, 3 lines, 104

    int b_changes = test_app_line(&t->app_b, "105")->changes;
    long long killed = test_now_ms();
    test_node_kill(&t->a);
    long long up, monitored, b_line, in_service;
    S_UNTIL(t, s_holds(t, &t->b), "b holds the link", &up);
    S_UNTIL(t, s_all_monitored(t, devs), "b monitors all four devices", &monitored);
    //  a's application has not come to b yet: the devices were taken over for it.
    bool app_arrived_before = t->app.link_ups > 1;
    //  b's own application: out of service when a was lost, in service once b holds it.
    S_UNTIL(t, test_app_line(&t->app_b, "105")->changes >= b_changes + 2 &&
                   test_app_line(&t->app_b, "105")->in_service,
            "b's application sees its line out of and back in service", &b_line);
    S_UNTIL(t, t->app.link_ups == 2, "a's application resumes on b", NULL);
    long long resumed = t->app.link_up_at_ms;
    S_UNTIL(t, test_app_line(&t->app, "101")->in_service &&
                   test_app_line(&t->app, "102")->in_service,
            "a's application's lines back in service", &in_service);
    printf("kill -9 of the holder -> link up on b %lld ms, all 4 devices monitored %lld ms, "
           "b's own app in service %lld ms, a's app resumed on b %lld ms, its lines in service "
           "%lld ms\n", up - killed, monitored - killed, b_line - killed, resumed - killed,
           in_service - killed);
    fflush(stdout);
    assert_false(app_arrived_before);
    assert_string_equal(ctim_server(t->app.ctim), eb);
    assert_int_equal(t->app.link_downs, 1);
    //  Resumed with a gap: EventsLost once; the lines were never opened again at b.
    assert_int_equal(t->app.events_lost_calls, 1);
    assert_true(t->app.events_lost >= 1);
    assert_int_equal(t->app.rep_count, 0);
    assert_true(s_metric(t, &t->b, "ctim_client_resumes_total{outcome=\"resumed-with-gap\"}") ==
                1);
    assert_true(s_metric(t, &t->b, "ctim_client_sessions_adopted_total") == 1);
    //  The one open_line b ever answered is its own application's (105).
    assert_true(s_metric(t, &t->b,
                         "ctim_client_requests_total{operation=\"open_line\",result=\"ok\"}") == 1);
    assert_true(s_all_monitored(t, devs));
    //  A call works through b, with the adopted lines' events.
    s_call(t);
    assert_false(t->app.overflow);
}

static void lost_nodes_devices_expire_when_nobody_resumes(void **state)
{
    tk_t *t = calloc(1, sizeof *t);
    *state = t;
    assert_non_null(t);
    s_pair(t, 1000);
    char ea[48];
    test_node_endpoint(&t->a, ea, sizeof ea);
    assert_int_equal(test_app_connect(&t->app, ea, 300), 0);
    t->app_up = true;
    s_open(&t->app, "103", NULL, true);
    s_csta_monitor(t, "104");
    static const char *const devs[] = {"103", "104", NULL};
    S_UNTIL(t, s_all_monitored(t, devs), "a monitors 103 and 104", NULL);
    long long killed = test_now_ms();
    test_node_kill(&t->a);
    //  The application dies with its node (it never turns its loop again).
    test_app_destroy(&t->app);
    t->app_up = false;
    S_UNTIL(t, s_holds(t, &t->b), "b holds the link", NULL);
    S_UNTIL(t, s_all_monitored(t, devs), "b monitors 103 and 104", NULL);
    //  a is lost 0.5..0.6 s after the kill; the CSTA monitor lingers 1 s (the grace), the
    //  session and its line 2 x 300 ms + 1 s.
    long long csta_gone, line_gone;
    S_UNTIL(t, s_monitors(t, "104") == 0, "104 released", &csta_gone);
    S_UNTIL(t, s_monitors(t, "103") == 0, "103 released", &line_gone);
    printf("lost node's CSTA monitor released %lld ms after the kill, its session's line %lld "
           "ms after it\n", csta_gone - killed, line_gone - killed);
    fflush(stdout);
    assert_true(csta_gone - killed >= 1000 && csta_gone - killed < 4000);
    assert_true(line_gone - killed >= 1600 && line_gone - killed < 5000);
    assert_true(s_metric(t, &t->b, "ctim_ha_state_expired_total") >= 3);
    assert_true(s_metric(t, &t->b, "ctim_ha_takeover_devices{pbx=\"main\"}") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            takeover_monitors_the_lost_nodes_devices_and_the_app_resumes_without_reopening,
            teardown),
        cmocka_unit_test_teardown(lost_nodes_devices_expire_when_nobody_resumes, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
