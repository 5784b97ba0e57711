//  Call-forward-on-failure across nodes (issue 6 with issue 5's rule, DESIGN.md invariant 3):
//  a pair of real ctimd nodes on pbxsim (one link), b holding the link, a standing by, and
//  a libctim application on a with line 101 opened with failure number 105.
//
//  - lost_nodes_line_goes_to_the_failure_number_once_its_session_expires: kill -9 a and
//    the application (it never resumes).  A call rings at 101 while the session lingers
//    (it could still resume); when the session expires (a lost + 2 x 300 ms + the 1 s
//    grace) b, the holder, deflects it to 105 (pbxsim shows the call alerting at 105), and
//    a later call too; only b counts redirects.  Then another application opens 101 on b:
//    calls ring at 101 again.  The times are printed.
//  - an_application_that_resumes_in_the_grace_keeps_its_calls: the application has b in
//    its list and resumes there within the grace: after the old copy expired, a call to
//    101 still rings at 101 and the application sees it; no redirect.
//  - the_guard_moves_with_the_link: three nodes; while b guards the expired session's line
//    the link is handed over to c: b stops, c guards and deflects.
//  - a_node_that_joins_later_takes_the_guard_over_from_the_registry: a restarts after the
//    expiry (it never saw it) and the link is handed to it: it guards from b's g/ key.
//
//  pbxsim's link history must never show two links open at once.  Every wait is a
//  condition polled with a deadline; processes are killed after each test.
#include "ha_test_util.h"

static const int S_PRIO[] = {30, 10, 20};   //  b (the lowest number) holds the link
#define S_HEARTBEAT_MS 300
#define S_GRACE_MS 1000

static test_app_t s_app;
static bool s_app_up;

static int teardown(void **state)
{
    if (s_app_up)
        test_app_destroy(&s_app);
    s_app_up = false;
    return ha_teardown(state);
}

//  A metric's value on node i (the line starting with `series `), -1 when absent.
static double s_metric(ha_fx_t *f, size_t i, const char *series)
{
    int code = 0;
    if (test_http_get(f->node[i].host, f->node[i].http_port, "/metrics", 2000, &code, f->body,
                      sizeof f->body) != 0 || code != 200)
        return -2;
    char pattern[256];
    snprintf(pattern, sizeof pattern, "\n%s ", series);
    const char *p = strstr(f->body, pattern);
    return p ? atof(p + strlen(pattern)) : -1;
}

//  pbxsim's call list holds text.
static bool s_calls_hold(ha_fx_t *f, const char *text)
{
    return test_pbxsim_ctl(&f->sim, f->links, sizeof f->links, "calls") == 0 &&
           strstr(f->links, text) != NULL;
}

static void s_ctl(ha_fx_t *f, const char *cmd)
{
    if (test_pbxsim_ctl(&f->sim, f->links, sizeof f->links, "%s", cmd) != 0)
        fail_msg("pbxsim ctl %s: %s", cmd, f->links);
}

//  Wait (turning the application's loop while it is up) until cond; at gets the time.
#define S_UNTIL(cond, what, at)                                                                  \
    do {                                                                                         \
        long long deadline_ = test_now_ms() + HA_WAIT_MS;                                        \
        while (!(cond) && test_now_ms() < deadline_) {                                           \
            if (s_app_up)                                                                        \
                test_app_turn(&s_app, test_now_ms() + 10);                                       \
            else                                                                                 \
                ha_pace(10);                                                                     \
        }                                                                                        \
        if (!(cond))                                                                             \
            fail_msg("never: %s", what);                                                         \
        *(at) = test_now_ms();                                                                   \
    } while (0)

//  Node i (the holder) hands pbx main's link to node `to`; asked again while it answers 409
//  (it does not see the target serve the PBX yet: just joined).
static void s_handover(ha_fx_t *f, size_t i, const char *to)
{
    char path[64];
    snprintf(path, sizeof path, "/cluster/handover?pbx=main&to=%s", to);
    long long deadline = test_now_ms() + HA_WAIT_MS;
    int code = 0;
    while (test_now_ms() < deadline) {
        if (test_http_request(f->node[i].host, f->node[i].http_port, "POST", path, 5000, &code,
                              f->body, sizeof f->body) == 0 &&
            (code == 200 || code == 202))   //  202: accepted, under way
            return;
        ha_pace(20);
    }
    fail_msg("handover to %s never accepted: %d %s", to, code, f->body);
}

//  n nodes (2 or 3) with a short grace: b takes the link, a (and c) stand by for it; an
//  application on servers (a first) with 101 open, failure number 105.
static ha_fx_t *s_cluster_with_app(size_t n, bool b_in_list)
{
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    ha_fx_t *f = ha_fx_new_in(n, S_PRIO, args, HA_FX_CLIENTS);
    for (size_t i = 0; i < n; i++) {
        FILE *cfg = fopen(f->node[i].config, "a");      //  more keys of the cluster section
        assert_non_null(cfg);
        fprintf(cfg, "  resume_grace_ms: %d\n", S_GRACE_MS);
        fclose(cfg);
    }
    //  A pair: b first (it takes the link alone); three nodes: all (a majority first).
    ha_node_start(f, 1);
    if (n == 2)
        ha_wait_holder(f, 1, HA_WAIT_MS);
    for (size_t i = 0; i < n; i++)
        if (i != 1)
            ha_node_start(f, i);
    ha_wait_holder(f, 1, HA_WAIT_MS);
    for (size_t i = 0; i < n; i++)
        if (i != 1)
            ha_wait_standby(f, i, "b", 1);
    ha_wait_forwarding(f, 0, "b");
    char servers[128];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d%s", f->node[0].client_port,
             b_in_list ? "," : "");
    if (b_in_list)
        snprintf(servers + strlen(servers), sizeof servers - strlen(servers),
                 "tcp://127.0.0.1:%d", f->node[1].client_port);
    assert_int_equal(test_app_connect(&s_app, servers, S_HEARTBEAT_MS), 0);
    s_app_up = true;
    test_ctim_reply_t r;
    assert_true(test_app_reply(&s_app, ctim_open_line(s_app.ctim, "101", "105"), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_wait_service(&s_app, "101", true, test_now_ms() + HA_WAIT_MS));
    //  The session and its line (with the failure number) have reached the other nodes.
    long long t;
    for (size_t i = 1; i < n; i++)
        S_UNTIL(s_metric(f, i, "ctim_ha_state_keys") >= 2, "a's session and line replicated",
                &t);
    return f;
}

static void lost_nodes_line_goes_to_the_failure_number_once_its_session_expires(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster_with_app(2, false);
    long long killed = test_now_ms(), t_ring, t_moved, t_later;
    ha_node_kill(f, 0);
    test_app_destroy(&s_app);       //  the application dies with its node
    s_app_up = false;
    //  A call rings at 101 while a's session lingers (it could still resume somewhere).
    s_ctl(f, "call-in 0301234567 101");
    S_UNTIL(s_calls_hold(f, "\"number\":\"101\",\"state\":\"alerting\""), "ringing at 101",
            &t_ring);
    //  b lost a after 5 x 100 ms; the session and its line linger 2 x 300 ms + 1 s more.
    S_UNTIL(s_calls_hold(f, "\"number\":\"105\",\"state\":\"alerting\""),
            "the ringing call deflected to 105", &t_moved);
    assert_true(t_moved - killed >= 2 * S_HEARTBEAT_MS + S_GRACE_MS);
    S_UNTIL(s_metric(f, 1, "ctim_client_lost_node_redirects_total{result=\"ok\"}") == 1,
            "b counts the redirect", &t_later);
    assert_true(s_metric(f, 1, "ctim_client_guarded_lines") == 1);
    assert_true(s_metric(f, 1, "ctim_ha_state_expired_total") >= 2);     //  session, line
    //  A later call goes there too (the guard's Delivered path).
    s_ctl(f, "hangup 0301234567");
    S_UNTIL(s_calls_hold(f, "\"calls\":[]"), "no calls", &t_later);
    s_ctl(f, "call-in 0307654321 101");
    S_UNTIL(s_calls_hold(f, "\"number\":\"105\",\"state\":\"alerting\""),
            "a later call deflected to 105", &t_later);
    S_UNTIL(s_metric(f, 1, "ctim_client_lost_node_redirects_total{result=\"ok\"}") == 2,
            "b counts the second redirect", &t_later);
    assert_true(s_metric(f, 1, "ctim_client_redirects_total{result=\"ok\"}") == 2);
    ha_report("kill -9 of a and its application -> the call ringing at its line deflected "
              "by b", t_moved - killed);
    //  Another application opens 101 (on b): the guard stops, calls ring at 101 again.
    s_ctl(f, "hangup 0307654321");
    S_UNTIL(s_calls_hold(f, "\"calls\":[]"), "no calls", &t_later);
    char servers[64];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d", f->node[1].client_port);
    assert_int_equal(test_app_connect(&s_app, servers, S_HEARTBEAT_MS), 0);
    s_app_up = true;
    test_ctim_reply_t r;
    assert_true(test_app_reply(&s_app, ctim_open_line(s_app.ctim, "101", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    S_UNTIL(s_metric(f, 1, "ctim_client_guarded_lines") == 0, "b no longer guards 101",
            &t_later);
    s_ctl(f, "call-in 0302222222 101");
    assert_true(test_app_skip_to(&s_app, "101", CTIM_CALL_OFFERING, NULL));
    assert_true(s_calls_hold(f, "\"number\":\"101\",\"state\":\"alerting\""));
    assert_true(s_metric(f, 1, "ctim_client_lost_node_redirects_total{result=\"ok\"}") == 2);
    ha_links(f);
}

static void an_application_that_resumes_in_the_grace_keeps_its_calls(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster_with_app(2, true);
    long long killed = test_now_ms(), t;
    ha_node_kill(f, 0);
    S_UNTIL(s_app.link_ups == 2, "the application resumes on b", &t);
    ha_report("kill -9 of a -> its application resumed on b", t - killed);
    S_UNTIL(test_app_line(&s_app, "101")->in_service, "101 in service on b", &t);
    //  The old copy (a's session and line) expires: nothing to guard, it lives on b.
    S_UNTIL(s_metric(f, 1, "ctim_ha_state_expired_total") >= 2, "a's keys expire on b", &t);
    s_ctl(f, "call-in 0301234567 101");
    assert_true(test_app_skip_to(&s_app, "101", CTIM_CALL_OFFERING, NULL));
    S_UNTIL(s_calls_hold(f, "\"number\":\"101\",\"state\":\"alerting\""), "ringing at 101", &t);
    assert_true(s_metric(f, 1, "ctim_client_guarded_lines") == 0);
    assert_true(s_metric(f, 1, "ctim_client_redirects_total{result=\"ok\"}") == 0);
    assert_true(s_metric(f, 1, "ctim_client_lost_node_redirects_total{result=\"ok\"}") == 0);
    ha_links(f);
}

//  Kill a and its application (it never resumes); wait until b guards its line.
static void s_kill_app_node(ha_fx_t *f)
{
    long long t;
    ha_node_kill(f, 0);
    test_app_destroy(&s_app);
    s_app_up = false;
    S_UNTIL(s_metric(f, 1, "ctim_client_guarded_lines") == 1, "b guards 101", &t);
}

//  b hands the link to node `to`: b stops guarding, `to` guards and deflects a new call.
static void s_guard_moves(ha_fx_t *f, size_t to)
{
    long long t;
    s_handover(f, 1, f->node[to].id);
    ha_wait_holder(f, to, HA_WAIT_MS);
    S_UNTIL(s_metric(f, 1, "ctim_client_guarded_lines") == 0, "b no longer guards 101", &t);
    S_UNTIL(s_metric(f, to, "ctim_client_guarded_lines") == 1, "the new holder guards 101",
            &t);
    s_ctl(f, "call-in 0301234567 101");
    S_UNTIL(s_calls_hold(f, "\"number\":\"105\",\"state\":\"alerting\""),
            "the call deflected to 105 by the new holder", &t);
    S_UNTIL(s_metric(f, to, "ctim_client_lost_node_redirects_total{result=\"ok\"}") == 1,
            "the new holder counts the redirect", &t);
    assert_true(s_metric(f, 1, "ctim_client_lost_node_redirects_total{result=\"ok\"}") == 0);
    ha_links(f);
}

//  Three nodes: a (the application's, killed with it), b holding the link and guarding the
//  expired session's line, c standing by.  The link moves to c (handover): b stops
//  guarding, c, which remembered the line at the expiry too, guards it now and deflects.
static void the_guard_moves_with_the_link(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster_with_app(3, false);
    long long t;
    s_kill_app_node(f);
    //  c has seen the session expire too (it remembers the line, and does not guard it).
    S_UNTIL(s_metric(f, 2, "ctim_ha_state_expired_total") >= 2, "a's keys expire on c", &t);
    assert_true(s_metric(f, 2, "ctim_client_guarded_lines") == 0);
    s_guard_moves(f, 2);
}

//  A pair again: after b guards the expired session's line, a restarts (it knows nothing of
//  the expiry) and the link is handed to it: a takes the guard over from b's g/ key in the
//  replicated state and deflects.
static void a_node_that_joins_later_takes_the_guard_over_from_the_registry(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster_with_app(2, false);
    long long t;
    s_kill_app_node(f);
    ha_node_start(f, 0);
    ha_wait_standby(f, 0, "b", 1);
    S_UNTIL(s_metric(f, 0, "ctim_ha_state_keys") >= 1, "a holds b's guard key", &t);
    assert_true(s_metric(f, 0, "ctim_client_guarded_lines") == 0);
    s_guard_moves(f, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            lost_nodes_line_goes_to_the_failure_number_once_its_session_expires, teardown),
        cmocka_unit_test_teardown(an_application_that_resumes_in_the_grace_keeps_its_calls,
                                  teardown),
        cmocka_unit_test_teardown(the_guard_moves_with_the_link, teardown),
        cmocka_unit_test_teardown(
            a_node_that_joins_later_takes_the_guard_over_from_the_registry, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
