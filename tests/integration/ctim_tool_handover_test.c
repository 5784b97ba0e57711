//  Manual failback / graceful handover (issue 6): `ctim cluster handover PBX NODE` against
//  a pair of ctimd on pbxsim, with a libctim application on the standby making requests
//  all the time.
//
//  - handover_there_and_back_answers_every_request: a -> b, then b -> a, each by the tool
//    (which finds the owner in /status, POSTs /cluster/handover, polls until NODE holds the
//    link with it up).  pbxsim (which would accept two links) never has two open at once
//    and refuses none; every request the application made (IN_FLIGHT out at all times)
//    got exactly one reply, and it is OK: none LINK_DOWN — those in flight to the old
//    holder at the owner change wait for its answer, which it gets through the new owner
//    (ha/README.md "Handover") —, none timed out, none silent; its lines are in service
//    after each handover; the holder and the epoch are as expected; the holder counts
//    each handover (ctim_ha_handovers_total{result="done"}, the duration gauge) and the
//    standby counts no forwarding error.  Prints each handover's time.
//  - handover_http_errors: 400 without pbx/to, 404 unknown PBX or node, 409 on a node that
//    does not hold the link (naming the holder), to the holder itself, a second handover
//    while one drains (pbxsim holds its answers), a target that is not alive; the tool's
//    exit codes 1 (refused: the owner not among --http) and 0 (NODE holds it already);
//    the refusals counted (ctim_ha_handovers_total{result="refused"}).
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ha_test_util.h"
#include "ha_load.h"
#include "test_ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"

#define WAIT_MS 15000
#define HB_MS 1000                  //  the application's heartbeat
#define IN_FLIGHT 16                //  the application's requests out at once

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_node_t node[2];
    int cluster_port[2];
    char dir[64];
    test_app_t app;
    bool app_up;
    test_tool_env_t env;
    char reply[1 << 14];
    char body[1 << 17];
    ha_load_t load;                 //  the application's requests and their replies
} ho_t;

static ho_t *s_t;
static const char *const s_ids[2] = {"a", "b"};

static void s_start_node(ho_t *t, size_t i)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "cluster:\n  listen: 127.0.0.1\n  port: %d\n  state_dir: %s/state-%s\n"
             "  peers:\n    - {id: %s, endpoint: \"127.0.0.1:%d\"}\n",
             t->cluster_port[i], t->dir, s_ids[i], s_ids[1 - i], t->cluster_port[1 - i]);
    assert_int_equal(test_node_start(&t->node[i], t->dir, s_ids[i], t->sim.port, yaml, false), 0);
}

static int s_http(ho_t *t, size_t i, const char *method, const char *path)
{
    int code = 0;
    if (test_http_request("127.0.0.1", t->node[i].http_port, method, path, 2000, &code, t->body,
                          sizeof t->body) != 0)
        return 0;
    return code;
}

//  Wait until node i serves main as via with owner, state UP (the application runs).
static void s_wait_serving(ho_t *t, size_t i, const char *via, const char *owner)
{
    char want[128];
    snprintf(want, sizeof want, "\"state\":\"UP\",\"via\":\"%s\",\"owner\":\"%s\"", via, owner);
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        if (s_http(t, i, "GET", "/status") == 200 && strstr(t->body, want))
            return;
        if (t->app_up)
            test_app_turn(&t->app, test_now_ms() + 10);
        else
            ha_pace(10);
    }
    fail_msg("node %s never served main %s through %s; /status:\n%s", s_ids[i], via, owner,
             t->body);
}

static void s_pair(ho_t *t, const char *max_links)
{
    const char *args[] = {"--max-links", max_links, "--extensions", "101-120", NULL};
    assert_int_equal(test_pbxsim_start(&t->sim, args), 0);
    t->sim_running = true;
    for (size_t i = 0; i < 2; i++)
        t->cluster_port[i] = test_free_port();
    for (size_t i = 0; i < 2; i++)
        s_start_node(t, i);
    s_wait_serving(t, 0, "local", "a");
    s_wait_serving(t, 1, "forwarded", "a");
}

static int setup(void **state)
{
    ho_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    s_t = t;
    *state = t;
    for (size_t i = 0; i < 2; i++)
        t->node[i].proc.pid = -1;
    return test_ctim_dir_make(t->dir, sizeof t->dir, "handover");
}

static int teardown(void **state)
{
    (void) state;
    ho_t *t = s_t;
    if (!t)
        return 0;
    if (t->app_up)
        test_app_destroy(&t->app);
    for (size_t i = 0; i < 2; i++)
        test_node_kill(&t->node[i]);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    test_ctim_dir_remove(t->dir);
    free(t);
    s_t = NULL;
    return 0;
}

//  The value of series (name and labels as rendered) in node i's /metrics; -1 absent.
static double s_metric(ho_t *t, size_t i, const char *series)
{
    if (s_http(t, i, "GET", "/metrics") != 200)
        return -2;
    char pattern[256];
    snprintf(pattern, sizeof pattern, "\n%s ", series);
    const char *p = strstr(t->body, pattern);
    return p ? atof(p + strlen(pattern)) : -1;
}

//  pbxsim's link history through ha_test_util's checker (it reads only sim and links).
static ha_links_t s_links(ho_t *t)
{
    ha_fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->sim = t->sim;
    ha_links_t r = ha_links(f);
    free(f);
    return r;
}

//  --- The application's request loop ---------------------------------------------------------

//  One turn: top up to IN_FLIGHT requests, run the loop, harvest.
static void s_pump(ho_t *t, bool more)
{
    static const char *const lines[] = {"102", "101"};
    if (more)
        ha_load_top_up(&t->load, &t->app, IN_FLIGHT, lines, 2);
    test_app_turn(&t->app, test_now_ms() + 5);
    ha_load_harvest(&t->load, &t->app);
}

static void s_pump_more(void *ctx)
{
    s_pump(ctx, true);
}

//  The tool moves main to `to` while the application keeps asking; returns the ms the tool
//  printed.
static long s_handover(ho_t *t, const char *to)
{
    char http[64];
    snprintf(http, sizeof http, "127.0.0.1:%d,127.0.0.1:%d", t->node[0].http_port,
             t->node[1].http_port);
    size_t before = t->load.n_issued;
    long down_before = t->load.link_down;
    test_tool_t *tool = ha_load_handover(&t->env, to, http, s_pump_more, t, WAIT_MS);
    //  The requests still out get their replies (each within its deadline).
    long long drain = test_now_ms() + 6000;
    while (ha_load_outstanding(&t->load) && test_now_ms() < drain)
        s_pump(t, false);
    assert_int_equal(test_tool_exit(tool), 0);
    char from[8];
    long ms = -1;
    assert_int_equal(sscanf(tool->out, "pbx main handed over from %7s to %*s in %ld ms", from, &ms),
                     2);
    test_tool_free(&tool);
    printf("handover to %s: %ld ms (the tool, from its first /status to %s holding the link "
           "up); %zu requests made meanwhile, %ld answered LINK_DOWN\n", to, ms, to,
           t->load.n_issued - before, t->load.link_down - down_before);
    fflush(stdout);
    assert_int_equal(ha_load_outstanding(&t->load), 0);
    //  No request is lost, none fails: those on their way to the old holder wait for its
    //  answer (it relays them to the new owner); the rest wait and go through.
    assert_int_equal(t->load.link_down - down_before, 0);
    assert_int_equal(t->load.other, 0);
    for (size_t k = 0; k < t->load.n_issued; k++)
        assert_int_equal(t->load.replies[k], 1);
    return ms;
}

//  After a handover to node `to`: it serves main on its link, the other through it, the
//  application's lines are in service, the cluster names it owner with epoch.
static void s_after_handover(ho_t *t, size_t to, int epoch, const char *const *lines)
{
    s_wait_serving(t, to, "local", s_ids[to]);
    s_wait_serving(t, 1 - to, "forwarded", s_ids[to]);
    for (size_t i = 0; i < 2; i++)
        assert_true(test_app_wait_service(&t->app, lines[i], true, test_now_ms() + WAIT_MS));
    char want[64];
    snprintf(want, sizeof want, "\"owner\":\"%s\",\"epoch\":%d", s_ids[to], epoch);
    assert_int_equal(s_http(t, to, "GET", "/status"), 200);
    assert_non_null(strstr(t->body, want));
}

static void handover_there_and_back_answers_every_request(void **state)
{
    ho_t *t = *state;
    s_pair(t, "2");     //  pbxsim would take a second link: only the cluster keeps it at one
    char ep[48];
    test_node_endpoint(&t->node[1], ep, sizeof ep);
    assert_int_equal(test_tool_env(&t->env, CTIM_TOOL, t->dir, &t->node[1]), 0);
    assert_int_equal(test_app_connect(&t->app, ep, HB_MS), 0);
    t->app_up = true;
    static const char *const lines[] = {"101", "102"};
    for (size_t i = 0; i < 2; i++) {
        test_ctim_reply_t r;
        assert_true(test_app_reply(&t->app, ctim_open_line(t->app.ctim, lines[i], NULL), &r));
        assert_int_equal(r.result, CTIM_RESULT_OK);
        assert_true(test_app_wait_service(&t->app, lines[i], true, test_now_ms() + WAIT_MS));
    }

    s_handover(t, "b");
    s_after_handover(t, 1, 2, lines);
    assert_true(s_metric(t, 0, "ctim_ha_handovers_total{pbx=\"main\",result=\"done\"}") == 1);
    double took = s_metric(t, 0, "ctim_ha_handover_duration_seconds{pbx=\"main\"}");
    printf("a's ctim_ha_handover_duration_seconds: %.3f\n", took);
    assert_true(took > 0 && took < 5);
    s_handover(t, "a");
    s_after_handover(t, 0, 3, lines);
    assert_true(s_metric(t, 1, "ctim_ha_handovers_total{pbx=\"main\",result=\"done\"}") == 1);
    assert_true(s_metric(t, 1, "ctim_ha_handovers_total{pbx=\"main\",result=\"timeout\"}") ==
                0);
    //  The standby (b after the way back) answered nothing itself with an error.
    for (size_t i = 0; i < 2; i++) {
        assert_true(s_metric(t, i, "ctim_ha_forward_errors_total{pbx=\"main\","
                                   "reason=\"owner-changed\"}") == 0);
        assert_true(s_metric(t, i, "ctim_ha_forward_errors_total{pbx=\"main\","
                                   "reason=\"timeout\"}") == 0);
    }
    printf("relayed by the old holders (requests that reached them after they let go): a %.0f, "
           "b %.0f\n", s_metric(t, 0, "ctim_ha_forward_relayed_total{pbx=\"main\"}"),
           s_metric(t, 1, "ctim_ha_forward_relayed_total{pbx=\"main\"}"));

    printf("requests: %zu made, %ld OK, %ld LINK_DOWN (retryable), %ld other\n",
           t->load.n_issued, t->load.ok, t->load.link_down, t->load.other);
    fflush(stdout);
    assert_int_equal(t->load.other, 0);
    assert_int_equal(t->load.link_down, 0);
    assert_true(t->load.ok > 0 && (size_t) t->load.ok == t->load.n_issued);
    ha_links_t l = s_links(t);
    assert_int_equal(l.accepted, 3);    //  a, b, a again: never two at once (checked)
    assert_int_equal(l.refused, 0);
    assert_int_equal(l.open, 1);
}

static void s_expect(ho_t *t, size_t i, const char *method, const char *path, int code,
                     const char *text)
{
    int got = s_http(t, i, method, path);
    if (got != code || !strstr(t->body, text))
        fail_msg("%s %s on %s: %d, wanted %d with '%s': %s", method, path, s_ids[i], got, code,
                 text, t->body);
}

static void handover_http_errors(void **state)
{
    ho_t *t = *state;
    s_pair(t, "1");
    s_expect(t, 0, "POST", "/cluster/handover?pbx=main", 400, "give pbx=NAME and to=NODE");
    s_expect(t, 0, "POST", "/cluster/handover?pbx=nope&to=b", 404, "unknown pbx nope");
    s_expect(t, 0, "POST", "/cluster/handover?pbx=main&to=zz", 404, "unknown node zz");
    s_expect(t, 1, "POST", "/cluster/handover?pbx=main&to=b", 409,
             "this node does not hold pbx main: a does");
    assert_non_null(strstr(t->body, "\"owner\":\"a\""));
    s_expect(t, 0, "POST", "/cluster/handover?pbx=main&to=a", 409, "a holds pbx main already");
    assert_true(s_metric(t, 0, "ctim_ha_handovers_total{pbx=\"main\",result=\"refused\"}") == 3);
    assert_true(s_metric(t, 0, "ctim_ha_handovers_total{pbx=\"\",result=\"refused\"}") == 1);

    //  The tool: the owner not among --http (refused, 1); NODE holds it already (0).
    assert_int_equal(test_tool_env(&t->env, CTIM_TOOL, t->dir, &t->node[1]), 0);
    char http[32];
    snprintf(http, sizeof http, "127.0.0.1:%d", t->node[1].http_port);
    test_tool_t *tool = test_tool_run(&t->env, "cluster", "handover", "main", "b", "--http", http,
                                      NULL);
    assert_non_null(tool);
    assert_int_equal(test_tool_exit(tool), 1);
    assert_non_null(strstr(tool->err, "held by a, which is not among --http"));
    test_tool_free(&tool);
    tool = test_tool_run(&t->env, "cluster", "handover", "main", "a", "--http", http, NULL);
    assert_non_null(tool);
    assert_int_equal(test_tool_exit(tool), 0);
    assert_non_null(strstr(tool->out, "a holds it already"));
    test_tool_free(&tool);
    tool = test_tool_run(&t->env, "cluster", "handover", "main", "a", "--http", http, "--json",
                         NULL);
    assert_non_null(tool);
    assert_int_equal(test_tool_exit(tool), 0);
    assert_non_null(strstr(tool->out, "{\"pbx\":\"main\",\"owner\":\"a\",\"ms\":0,"
                                      "\"result\":\"already\"}"));
    test_tool_free(&tool);
    //  Usage: no --http (2).
    tool = test_tool_run(&t->env, "cluster", "handover", "main", "a", NULL);
    assert_non_null(tool);
    assert_int_equal(test_tool_exit(tool), 2);
    test_tool_free(&tool);

    //  A second handover while the first drains: pbxsim holds its answers, so a request
    //  of an application on a stays at the link.
    char ep[48];
    test_node_endpoint(&t->node[0], ep, sizeof ep);
    assert_int_equal(test_app_connect(&t->app, ep, HB_MS), 0);
    t->app_up = true;
    test_ctim_reply_t r;
    assert_true(test_app_reply(&t->app, ctim_open_line(t->app.ctim, "101", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "delay 1500") != 0)
        fail_msg("pbxsim ctl delay: %s", t->reply);
    int id = ctim_get_address_status(t->app.ctim, "101");
    assert_true(id > 0);
    test_app_turn(&t->app, test_now_ms() + 100);    //  at the link now
    s_expect(t, 0, "POST", "/cluster/handover?pbx=main&to=b", 202, "\"state\":\"draining\"");
    s_expect(t, 0, "POST", "/cluster/handover?pbx=main&to=b", 409,
             "a handover of pbx main to b is already running");
    s_expect(t, 0, "GET", "/status", 200, "\"handover\":{\"to\":\"b\",\"stage\":\"draining\"}");
    //  Its answer comes (the drain waits for it), then b takes the link.
    assert_true(test_app_reply(&t->app, id, &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "delay 0") != 0)
        fail_msg("pbxsim ctl delay: %s", t->reply);
    s_wait_serving(t, 1, "local", "b");

    //  A target that is not alive (once b has declared it lost).
    test_app_destroy(&t->app);
    t->app_up = false;
    test_node_kill(&t->node[0]);
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline &&
           !(s_http(t, 1, "GET", "/status") == 200 && strstr(t->body, "{\"id\":\"a\",") &&
             strstr(strstr(t->body, "{\"id\":\"a\","), "\"alive\":false")))
        ha_pace(20);
    s_expect(t, 1, "POST", "/cluster/handover?pbx=main&to=a", 409,
             "a is not alive or does not serve pbx main");
    s_wait_serving(t, 1, "local", "b");     //  b kept the link
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(handover_there_and_back_answers_every_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(handover_http_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
