//  Graceful handover in a trio (issue 6): three ctimd a, b, c on pbxsim at ONE link, a
//  libctim application on c (a standby all along) with IN_FLIGHT requests out at all times,
//  and `ctim cluster handover` a -> b, then b -> c (c takes the link its application is
//  served through).  The test holds the cluster to:
//  - one link at every moment: pbxsim's link history never shows two open at once, and no
//    /status sample (every SAMPLE_MS, on all three nodes) shows two nodes with an up link;
//  - every request answered exactly once, and OK: those in flight to the old holder at the
//    owner change wait for its answer (it relays what reached it after it let go, marked
//    relayed: ha/README.md "Handover"), none LINK_DOWN, none timed out, none silent;
//  - c's lines in service after each handover, out of service at most while no node
//    monitors their devices (the PBX takes one link: between the old holder's close and
//    the new holder's MonitorStart nobody sees the PBX's events, and the notice plus the
//    snapshot after it is how the application learns that; the longest such span is
//    printed and must stay below OUTAGE_MAX_MS);
//  - the watches moved: each of c's devices monitored exactly once at pbxsim, and a call
//    between them placed at pbxsim after each handover reaches c's application (offering,
//    ringback, idle), through b and then on c's own link;
//  - epochs 1, 2, 3, never going down in a sample; the holder's handover metrics.
//  Prints each handover's time (the tool's, and the holder's drain-to-reachable gauge).
#include "ha_test_util.h"
#include "ha_load.h"

#define IN_FLIGHT 16                //  the application's requests out at once
#define SAMPLE_MS 20
#define HB_MS 1000                  //  the application's heartbeat
#define OUTAGE_MAX_MS 500           //  a line out of service during a handover, at most

static const int S_PRIO[] = {10, 20, 30};
static const char *const S_LINES[] = {"101", "102"};

typedef struct {
    ha_fx_t *f;
    test_app_t app;
    bool app_up;
    test_tool_env_t env;
    ha_load_t load;                 //  the application's requests and their replies
    long long last_sample;
    long long out_since[2];         //  a line of c out of service since (0: in service)
    long long longest_out_ms;
    long last_epoch;
    int samples;
    char metrics[1 << 17];
} trio_t;

static trio_t *s_t;

static int teardown(void **state)
{
    (void) state;
    if (s_t && s_t->app_up)
        test_app_destroy(&s_t->app);
    free(s_t);
    s_t = NULL;
    return ha_teardown(state);
}

//  At most one node with an up link in this sample; epochs never go down.
static void s_sample(trio_t *t)
{
    int holders = 0;
    for (size_t i = 0; i < t->f->n; i++) {
        ha_view_t v;
        if (!ha_view(t->f, i, &v))
            continue;
        if (v.held && v.link_up) {
            holders++;
            if (v.epoch < t->last_epoch)
                fail_msg("node %s holds epoch %ld after epoch %ld", t->f->node[i].id, v.epoch,
                         t->last_epoch);
            t->last_epoch = v.epoch;
        }
    }
    t->samples++;
    if (holders > 1)
        fail_msg("two nodes hold an up link at once: %s", t->f->body);
}

//  One turn: top up to IN_FLIGHT requests (more), run the application's loop, harvest, and
//  sample the cluster every SAMPLE_MS.
static void s_pump(trio_t *t, bool more)
{
    if (more)
        ha_load_top_up(&t->load, &t->app, IN_FLIGHT, S_LINES, 2);
    test_app_turn(&t->app, test_now_ms() + 5);
    ha_load_harvest(&t->load, &t->app);
    for (size_t k = 0; k < 2; k++) {
        const test_app_line_t *l = test_app_line(&t->app, S_LINES[k]);
        if (!l->in_service && !t->out_since[k])
            t->out_since[k] = l->changed_at_ms;
        else if (l->in_service && t->out_since[k]) {
            long long span = l->changed_at_ms - t->out_since[k];
            if (span > t->longest_out_ms)
                t->longest_out_ms = span;
            t->out_since[k] = 0;
        }
    }
    if (test_now_ms() - t->last_sample >= SAMPLE_MS) {
        s_sample(t);
        t->last_sample = test_now_ms();
    }
}

static double s_metric(trio_t *t, size_t i, const char *series)
{
    int code = 0;
    if (test_http_get(t->f->node[i].host, t->f->node[i].http_port, "/metrics", 2000, &code,
                      t->metrics, sizeof t->metrics) != 0 || code != 200)
        return -2;
    char pattern[256];
    snprintf(pattern, sizeof pattern, "\n%s ", series);
    const char *p = strstr(t->metrics, pattern);
    return p ? atof(p + strlen(pattern)) : -1;
}

//  Node i's /status says it serves main as via through owner, UP.
static bool s_serving(trio_t *t, size_t i, const char *via, const char *owner)
{
    char want[128];
    snprintf(want, sizeof want, "\"state\":\"UP\",\"via\":\"%s\",\"owner\":\"%s\"", via, owner);
    return ha_status(t->f, i) && strstr(t->f->body, want);
}

//  Every line's device monitored once at pbxsim (the cluster shares one monitor), and a
//  call 101 -> 102 placed at pbxsim shows on both of c's lines, hung up again.
static void s_watches_moved(trio_t *t)
{
    char reply[256];
    long long until = test_now_ms() + HA_WAIT_MS;
    for (size_t k = 0; k < 2; k++)
        while (test_pbxsim_ctl(&t->f->sim, reply, sizeof reply, "monitors %s", S_LINES[k]) != 0 ||
               test_json_long(reply, "monitors", -1) != 1) {
            if (test_now_ms() > until)
                fail_msg("device %s not monitored once at pbxsim: %s", S_LINES[k], reply);
            s_pump(t, false);
        }
    t->app.ev_count = 0;
    test_ctim_event_t e;
    if (test_pbxsim_ctl(&t->f->sim, reply, sizeof reply, "dial 101 102") != 0)
        fail_msg("pbxsim ctl dial: %s", reply);
    assert_true(test_app_skip_to(&t->app, "102", CTIM_CALL_OFFERING, &e));
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_RINGBACK, &e));
    if (test_pbxsim_ctl(&t->f->sim, reply, sizeof reply, "hangup 101") != 0)
        fail_msg("pbxsim ctl hangup: %s", reply);
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_IDLE, &e));
    assert_true(test_app_skip_to(&t->app, "102", CTIM_CALL_IDLE, &e));
    ha_load_harvest(&t->load, &t->app);
}

static void s_pump_more(void *ctx)
{
    s_pump(ctx, true);
}

//  `ctim cluster handover main TO` from holder `from` while the application keeps asking;
//  then everything answered, OK, once; c's lines in service; the epoch as expected.
static void s_handover(trio_t *t, size_t from, size_t to, long epoch)
{
    ha_fx_t *f = t->f;
    char http[160];
    snprintf(http, sizeof http, "%s:%d,%s:%d,%s:%d", f->node[0].host, f->node[0].http_port,
             f->node[1].host, f->node[1].http_port, f->node[2].host, f->node[2].http_port);
    size_t before = t->load.n_issued;
    t->longest_out_ms = 0;
    int changes[2];
    for (size_t k = 0; k < 2; k++)
        changes[k] = test_app_line(&t->app, S_LINES[k])->changes;
    test_tool_t *tool = ha_load_handover(&t->env, f->node[to].id, http, s_pump_more, t,
                                         HA_WAIT_MS);
    assert_int_equal(test_tool_exit(tool), 0);
    char was[8];
    long ms = -1;
    assert_int_equal(sscanf(tool->out, "pbx main handed over from %7s to %*s in %ld ms", was, &ms),
                     2);
    assert_string_equal(was, f->node[from].id);
    test_tool_free(&tool);
    //  Keep asking a while through the new owner, then let what is out come back.
    for (long long until = test_now_ms() + 300; test_now_ms() < until;)
        s_pump(t, true);
    long long drain = test_now_ms() + 6000;
    while (ha_load_outstanding(&t->load) && test_now_ms() < drain)
        s_pump(t, false);
    assert_int_equal(ha_load_outstanding(&t->load), 0);
    for (size_t k = 0; k < t->load.n_issued; k++)
        assert_int_equal(t->load.replies[k], 1);
    assert_int_equal(t->load.link_down, 0);
    assert_int_equal(t->load.other, 0);

    //  The new holder holds it with the next epoch; the others serve through it.
    ha_view_t v;
    assert_true(ha_view(f, to, &v));
    assert_true(v.held && v.link_up);
    assert_int_equal(v.epoch, epoch);
    long long until = test_now_ms() + HA_WAIT_MS;
    for (size_t i = 0; i < f->n; i++)
        while (!s_serving(t, i, i == to ? "local" : "forwarded", f->node[to].id)) {
            if (test_now_ms() > until)
                fail_msg("node %s does not serve main through %s: %s", f->node[i].id,
                         f->node[to].id, f->body);
            s_pump(t, false);
        }
    for (size_t k = 0; k < 2; k++)
        while (!test_app_line(&t->app, S_LINES[k])->in_service || t->out_since[k]) {
            if (test_now_ms() > until)
                fail_msg("line %s of c not back in service", S_LINES[k]);
            s_pump(t, false);
        }
    assert_true(t->longest_out_ms < OUTAGE_MAX_MS);
    s_watches_moved(t);
    double took = s_metric(t, from, "ctim_ha_handover_duration_seconds{pbx=\"main\"}");
    assert_true(took > 0 && took < 5);
    assert_true(s_metric(t, from, "ctim_ha_handovers_total{pbx=\"main\",result=\"done\"}") == 1);
    printf("trio: handover %s -> %s: %ld ms by the tool, %.1f ms drain to reachable on %s; "
           "%zu requests meanwhile, all OK; c's lines out of service for at most %lld ms "
           "(service changes %d, %d); relayed by %s: %.0f\n",
           f->node[from].id, f->node[to].id, ms, took * 1000.0, f->node[from].id,
           t->load.n_issued - before, t->longest_out_ms,
           test_app_line(&t->app, S_LINES[0])->changes - changes[0],
           test_app_line(&t->app, S_LINES[1])->changes - changes[1], f->node[from].id,
           s_metric(t, from, "ctim_ha_forward_relayed_total{pbx=\"main\"}"));
    fflush(stdout);
}

static void handover_a_to_b_to_c_under_load_from_c(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    s_t = calloc(1, sizeof *s_t);
    assert_non_null(s_t);
    trio_t *t = s_t;
    ha_fx_t *f = t->f = ha_fx_new_in(3, S_PRIO, args, HA_FX_CLIENTS);
    ha_start_all(f);
    ha_wait_forwarding(f, 2, "a");
    t->last_epoch = 1;

    char servers[64];
    snprintf(servers, sizeof servers, "tcp://%s:%d", f->node[2].host, f->node[2].client_port);
    assert_int_equal(test_app_connect(&t->app, servers, HB_MS), 0);
    t->app_up = true;
    for (size_t k = 0; k < 2; k++) {
        test_ctim_reply_t r;
        assert_true(test_app_reply(&t->app, ctim_open_line(t->app.ctim, S_LINES[k], NULL), &r));
        assert_int_equal(r.result, CTIM_RESULT_OK);
        assert_true(test_app_wait_service(&t->app, S_LINES[k], true, test_now_ms() + HA_WAIT_MS));
    }
    test_node_t tool_node = {.proc.pid = -1, .client_port = f->node[2].client_port};
    assert_int_equal(test_tool_env(&t->env, CTIM_TOOL, f->dir, &tool_node), 0);

    s_handover(t, 0, 1, 2);
    s_handover(t, 1, 2, 3);

    printf("trio: requests %zu made, %ld OK, %ld LINK_DOWN, %ld other; %d samples of /status\n",
           t->load.n_issued, t->load.ok, t->load.link_down, t->load.other, t->samples);
    fflush(stdout);
    assert_true(t->load.ok > 0 && (size_t) t->load.ok == t->load.n_issued);
    ha_links_t l = ha_links(f);     //  fails on two links open at once
    printf("trio: pbxsim links accepted %d, refused %d, open %d\n", l.accepted, l.refused,
           l.open);
    assert_int_equal(l.accepted, 3);    //  a, b, c
    assert_int_equal(l.open, 1);
    //  c's standby view before and after: nobody else holds it.
    for (size_t i = 0; i < 2; i++) {
        ha_view_t v;
        assert_true(ha_view(f, i, &v));
        assert_false(v.held);
        assert_string_equal(v.owner, "c");
        assert_int_equal(v.epoch, 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(handover_a_to_b_to_c_under_load_from_c, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
