//  A primary/backup pair of real ctimd processes and pbxsim: kill -9 the owner (the backup
//  takes the link; the time from the kill to the link up on the backup is printed), the
//  restarted primary does not take it back; SIGSTOP the owner until the backup takes over
//  and SIGCONT it (it drops its link on seeing the higher epoch); a clean stop hands the
//  link over at once.  A pair on a PBX that takes several links (Binary Star): after a
//  kill -9 the backup takes the link only once the owner's application turns to it.
//  pbxsim's link history must never show two links open at once.
#include "ha_test_util.h"

#include "csta_client.h"

static const int S_PRIO[] = {10, 20};

//  When tool is installed, f->body written to a file must pass cmd_fmt (%s: the file).
static void s_check_with(ha_fx_t *f, const char *tool, const char *cmd_fmt)
{
    char cmd[256], path[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    if (system(cmd) != 0)
        return;
    snprintf(path, sizeof path, "%s/%s.txt", f->dir, tool);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(f->body, file);
    fclose(file);
    snprintf(cmd, sizeof cmd, cmd_fmt, path);
    if (system(cmd) != 0)
        fail_msg("%s refused: %s", tool, f->body);
}

//  pbxsim accepts two links here: only the cluster keeps ctimd to one.
static void kill_owner_backup_takes_the_link_and_primary_does_not_take_it_back(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "2", "--status-interval-ms", "1000",
                                       NULL};
    ha_fx_t *f = ha_fx_new(2, S_PRIO, args);
    ha_start_all(f);
    ha_wait_forwarding(f, 1, "a");

    long long t0 = test_now_ms();
    ha_node_kill(f, 0);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("pair: kill -9 of the owner to link up on the backup", up - t0);
    assert_true(up - t0 < 3000);
    ha_view_t v;
    assert_true(ha_view(f, 1, &v));
    assert_int_equal(v.epoch, 2);
    assert_int_equal(v.takeovers, 1);

    //  The primary restarts: it learns epoch 2 from the backup and stands by (failback is
    //  manual); pbxsim sees no third link.
    ha_node_start(f, 0);
    ha_wait_standby(f, 0, "b", 2);
    ha_hold_steady(f, 1, 1500);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
    assert_int_equal(l.refused, 0);
    //  Its epoch file holds 2: a later restart cannot reuse 1 or 2.
    char path[128], text[32] = "";
    snprintf(path, sizeof path, "%s/state-a/epoch-main", f->dir);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    assert_non_null(fgets(text, sizeof text, file));
    fclose(file);
    assert_string_equal(text, "2\n");
    //  Metrics on the backup: it owns main with epoch 2.
    int code = 0;
    assert_int_equal(test_http_get("127.0.0.1", f->node[1].http_port, "/metrics", 2000, &code,
                                   f->body, sizeof f->body), 0);
    assert_non_null(strstr(f->body, "ctim_ha_pbx_owner{pbx=\"main\",node=\"b\"} 1\n"));
    assert_non_null(strstr(f->body, "ctim_ha_pbx_owner{pbx=\"main\",node=\"a\"} 0\n"));
    assert_non_null(strstr(f->body, "ctim_ha_epoch{pbx=\"main\"} 2\n"));
    assert_non_null(strstr(f->body, "ctim_ha_takeovers_total 1\n"));
    assert_non_null(strstr(f->body, "ctim_ha_peers_alive 1\n"));
    s_check_with(f, "promtool", "promtool check metrics < %s");
    //  /status is JSON.
    assert_true(ha_status(f, 1));
    s_check_with(f, "python3", "python3 -m json.tool < %s > /dev/null");
}

//  pbxsim takes one link and drops a link that leaves a SystemStatus unanswered (200 ms):
//  the stopped owner's link goes, the backup's gets in.  SIGCONT: the old owner sees epoch
//  2 and drops what it holds; it does not connect again.
static void sigstop_owner_backup_takes_over_and_the_owner_drops_on_sigcont(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "1", "--status-interval-ms", "200", NULL};
    ha_fx_t *f = ha_fx_new(2, S_PRIO, args);
    ha_start_all(f);

    long long t0 = test_now_ms();
    ha_node_signal(f, 0, SIGSTOP);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("pair: SIGSTOP of the owner to link up on the backup", up - t0);
    ha_links_t before = ha_links(f);
    assert_int_equal(before.open, 1);

    ha_node_signal(f, 0, SIGCONT);
    ha_wait_standby(f, 0, "b", 2);
    ha_view_t v;
    assert_true(ha_view(f, 0, &v));
    assert_int_equal(v.drops, 1);
    //  From now on nothing moves: b keeps its link, a makes no attempt.
    ha_hold_steady(f, 1, 1500);
    ha_links_t after = ha_links(f);
    assert_int_equal(after.entries, before.entries);
    assert_int_equal(after.open, 1);
    assert_non_null(strstr(f->links, "\"reason\":\"status-unanswered\""));
}

//  pbxsim keeps the stopped owner's link (SystemStatus every 20 s): the backup takes the
//  link logically but the PBX refuses it.  On SIGCONT the old owner sees the higher epoch
//  and drops its link at once; the backup, told that it let go, connects without waiting
//  out its back-off.
static void sigcont_owner_drops_on_higher_epoch_and_backup_connects_at_once(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "1", "--status-interval-ms", "20000",
                                       NULL};
    ha_fx_t *f = ha_fx_new(2, S_PRIO, args);
    ha_start_all(f);

    ha_node_signal(f, 0, SIGSTOP);
    //  b claims epoch 2 and tries; pbxsim refuses it while a's link is open.  After six
    //  refusals b's back-off has grown to 3.2 s (100 ms doubling, +-20 %).
    long long deadline = test_now_ms() + HA_WAIT_MS;
    ha_view_t v;
    while (!(ha_view(f, 1, &v) && v.held && ha_links(f).refused >= 6)) {
        assert_true(test_now_ms() < deadline);
        ha_pace(20);
    }
    assert_false(v.link_up);
    assert_int_equal(v.epoch, 2);

    long long t0 = test_now_ms();
    ha_node_signal(f, 0, SIGCONT);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("pair: SIGCONT of the old owner to link up on the new one", up - t0);
    //  Well below the back-off b had reached after its refused attempts.
    assert_true(up - t0 < 1000);
    ha_wait_standby(f, 0, "b", 2);
    assert_true(ha_view(f, 0, &v));
    assert_int_equal(v.drops, 1);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
}

//  SIGTERM on the owner: it stops its link and releases it; the backup takes it at once,
//  without waiting lost_after intervals.
static void clean_stop_hands_the_link_over_at_once(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "1", "--status-interval-ms", "1000", NULL};
    ha_fx_t *f = ha_fx_new(2, S_PRIO, args);
    ha_start_all(f);
    long long t0 = test_now_ms();
    int status = test_proc_stop(&f->node[0].proc);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("pair: SIGTERM of the owner to link up on the backup", up - t0);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
}

//  No cluster section: ctimd holds the link as it always did (checked by the other
//  integration tests too); with one, /status has the cluster, and a standby is ready while
//  it reaches the PBX through the owner (forwarding) — not once the owner is gone.
static void standby_is_ready_through_the_owner_and_not_without_one(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "1", NULL};
    ha_fx_t *f = ha_fx_new(2, S_PRIO, args);
    ha_start_all(f);
    ha_wait_forwarding(f, 1, "a");
    int code = 0;
    assert_int_equal(test_http_get("127.0.0.1", f->node[1].http_port, "/readyz", 2000, &code,
                                   f->body, sizeof f->body), 0);
    assert_int_equal(code, 200);
    assert_int_equal(test_http_get("127.0.0.1", f->node[0].http_port, "/readyz", 2000, &code,
                                   f->body, sizeof f->body), 0);
    assert_int_equal(code, 200);
    assert_true(ha_status(f, 0));
    assert_non_null(strstr(f->body, "\"state\":\"UP\",\"via\":\"local\",\"owner\":\"a\""));
    assert_true(ha_status(f, 1));
    assert_non_null(strstr(f->body, "\"peers\":[{\"id\":\"a\",\"endpoint\":\"127.0.0.1:"));
    assert_non_null(strstr(f->body, "\"alive\":true"));
    //  The PBX goes away: the owner's link is down, so the standby cannot reach it either.
    test_pbxsim_stop(&f->sim);
    f->sim_running = false;
    long long deadline = test_now_ms() + HA_WAIT_MS;
    do {
        assert_true(test_now_ms() < deadline);
        ha_pace(10);
        assert_int_equal(test_http_get("127.0.0.1", f->node[1].http_port, "/readyz", 2000,
                                       &code, f->body, sizeof f->body), 0);
    } while (code != 503);
    assert_non_null(strstr(f->body, "pbx main: standby, owner unreachable"));
}

//  --- A PBX that takes several links: Binary Star -------------------------------------------

//  Node i's log on stderr (HA_FX_LOGS), before a failure is reported.
static void s_dump_log(ha_fx_t *f, size_t i)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat '%s' >&2", f->node[i].log);
    if (system(cmd) != 0)
        fprintf(stderr, "(no log of node %s)\n", f->node[i].id);
}

//  Wait until node i holds at least keys keys of node source's in the replicated state
//  (its /status): a session and its line, before the node that made them is killed.
static void s_wait_keys(ha_fx_t *f, size_t i, const char *source, long keys)
{
    char want[32];
    snprintf(want, sizeof want, "{\"node\":\"%s\",", source);
    long long deadline = test_now_ms() + HA_WAIT_MS;
    for (;;) {
        const char *src = ha_status(f, i) ? strstr(f->body, "\"sources\":[") : NULL;
        const char *p = src ? strstr(src, want) : NULL;
        if (p && test_json_long(p, "keys", -1) >= keys)
            return;
        if (test_now_ms() > deadline)
            fail_msg("node %s never held %ld keys of %s: %s", f->node[i].id, keys, source,
                     f->body);
        ha_pace(10);
    }
}

//  Node b's log line with text at or after line from (HA_FX_LOGS); its number, the line in
//  out, or a failed test.
static int s_log_line(ha_fx_t *f, int from, const char *text, char *out, size_t cap)
{
    int n = ha_log_find(f, 1, from, text, out, cap);
    if (n < 0)
        fail_msg("node b never logged '%s' (from line %d of %s)", text, from, f->node[1].log);
    return n;
}

//  pbxsim takes two links and the pair's files say links: several, so the PBX breaks no tie
//  and ctimd must not take a second link while the owner may live.  A libctim application
//  on a (server list a,b, heartbeat 1 s) with a line open.  kill -9 of a: b declares a lost
//  after 500..600 ms and waits; the application notices a's silence after two of its
//  heartbeats, turns to b (which adopts its session), and only then b takes the link with
//  epoch 2, monitors the line again and the application sees it back in service.  The
//  order comes from b's log; the timeline from the kill is printed.
static void several_links_kill_owner_backup_takes_once_the_application_turns_to_it(void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "2", "--status-interval-ms", "1000",
                                       NULL};
    ha_fx_t *f = ha_fx_new_in(2, S_PRIO, args, HA_FX_CLIENTS | HA_FX_SEVERAL | HA_FX_LOGS);
    ha_start_all(f);
    ha_wait_forwarding(f, 1, "a");
    char servers[128], on_b[64];
    snprintf(servers, sizeof servers, "tcp://%s:%d,tcp://%s:%d", f->node[0].host,
             f->node[0].client_port, f->node[1].host, f->node[1].client_port);
    snprintf(on_b, sizeof on_b, ":%d", f->node[1].client_port);
    test_app_t *app = ha_app_new();
    assert_int_equal(test_app_connect(app, servers, 1000), 0);
    test_ctim_reply_t r;
    assert_true(test_app_reply(app, ctim_open_line(app->ctim, "101", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_wait_service(app, "101", true, test_now_ms() + HA_WAIT_MS));
    assert_null(strstr(ctim_server(app->ctim), on_b));
    s_wait_keys(f, 1, "a", 2);                  //  b knows the session and its line
    int ups = app->link_ups;
    int changes = test_app_line(app, "101")->changes;

    long long t_kill = test_now_ms(), wall_kill = ha_wall_ms();
    ha_node_kill(f, 0);
    //  Until the application is up again (on b), b holds nothing and says it waits.
    long long t_waiting = -1, deadline = t_kill + HA_WAIT_MS;
    ha_view_t v;
    while (app->link_ups == ups) {
        if (test_now_ms() > deadline)
            fail_msg("the application never came back; b's /status:\n%s", f->body);
        test_app_turn(app, test_now_ms() + 10);
        if (ha_view(f, 1, &v) && t_waiting < 0 && strcmp(v.waiting, "vote") == 0) {
            t_waiting = test_now_ms();
            assert_false(v.held);
        }
    }
    assert_non_null(strstr(ctim_server(app->ctim), on_b));
    assert_true(t_waiting > 0);
    long long t_app = app->link_up_at_ms;
    //  b takes the link now, and the line comes back in service there.
    long long t_up = -1;
    while (t_up < 0 || !(test_app_line(app, "101")->in_service &&
                         test_app_line(app, "101")->changes > changes)) {
        if (test_now_ms() > deadline) {
            s_dump_log(f, 0);
            s_dump_log(f, 1);
            fail_msg("b never held the link with the line in service; /status:\n%s", f->body);
        }
        test_app_turn(app, test_now_ms() + 10);
        if (t_up < 0 && ha_view(f, 1, &v) && v.held && v.link_up)
            t_up = test_now_ms();
    }
    long long t_service = test_app_line(app, "101")->changed_at_ms;
    assert_true(ha_view(f, 1, &v));
    assert_int_equal(v.epoch, 2);
    assert_string_equal(v.waiting, "");

    //  b's log: lost, waiting, the application, the take — in this order.
    char lost[2048], waiting[2048], arrived[2048], took[2048];
    int n_lost = s_log_line(f, 0, "ha: peer lost peer=a", lost, sizeof lost);
    int n_wait = s_log_line(f, n_lost, "ha: pbx=main: a lost; waiting for an application to "
                                       "turn to this node (Binary Star, PBX takes several links)",
                            waiting, sizeof waiting);
    int n_app = s_log_line(f, n_wait, "client: app ", arrived, sizeof arrived);
    int n_took = s_log_line(f, n_app, "ha: took link pbx=main epoch=2 reason=a lost; an "
                                      "application turned to this node", took, sizeof took);
    assert_true(n_lost < n_wait && n_wait < n_app && n_app < n_took);
    assert_int_equal(ha_log_find(f, 1, 0, "took link pbx=main epoch=2", NULL, 0), n_took);
    printf("pair, several links, timeline from kill -9 of the owner (ms):\n"
           "  b declares a lost (log)            %6lld\n"
           "  b waits for a vote (log)           %6lld  (/status: %lld)\n"
           "  application down (libctim)         %6lld\n"
           "  application arrives at b (log)     %6lld  (libctim up: %lld)\n"
           "  b takes the link, epoch 2 (log)    %6lld\n"
           "  b's link up (/status)              %6lld\n"
           "  line 101 in service (libctim)      %6lld\n",
           ha_log_ms(lost) - wall_kill, ha_log_ms(waiting) - wall_kill, t_waiting - t_kill,
           app->link_down_at_ms - t_kill, ha_log_ms(arrived) - wall_kill, t_app - t_kill,
           ha_log_ms(took) - wall_kill, t_up - t_kill, t_service - t_kill);
    fflush(stdout);
    //  pbxsim: a's link, then b's, never both.
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
    assert_int_equal(l.refused, 0);
}

//  The same with a CSTA application: on a's kill -9 it sees its TCP connection close and
//  associates with b at once — before b has declared a lost.  That arrival counts (it came
//  after a's last heartbeat), so b takes the link as soon as a is lost, without waiting.
static void several_links_kill_owner_csta_application_reconnecting_at_once_is_the_vote(
    void **state)
{
    (void) state;
    static const char *const args[] = {"--max-links", "2", "--status-interval-ms", "1000",
                                       NULL};
    ha_fx_t *f = ha_fx_new_in(2, S_PRIO, args, HA_FX_CSTA | HA_FX_SEVERAL | HA_FX_LOGS);
    ha_start_all(f);
    csta_client_cfg_t cfg = {.host = "127.0.0.1",
                             .port = f->node[0].csta_port,
                             .user = TEST_CTIM_USER,
                             .password = TEST_CTIM_PASSWORD,
                             .timeout_ms = 5000};
    csta_client_t *app = csta_client_new(&cfg);
    assert_non_null(app);
    assert_int_equal(csta_client_connect(app), 0);
    csta_client_destroy(&app);          //  (it would see the close; we reconnect for it)

    long long t_kill = test_now_ms(), wall_kill = ha_wall_ms();
    ha_node_kill(f, 0);
    cfg.port = f->node[1].csta_port;
    app = csta_client_new(&cfg);
    assert_non_null(app);
    assert_int_equal(csta_client_connect(app), 0);
    long long t_assoc = test_now_ms();
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    csta_client_destroy(&app);
    char assoc[2048], lost[2048], took[2048];
    int n_assoc = s_log_line(f, 0, ") associated: user=" TEST_CTIM_USER, assoc, sizeof assoc);
    int n_lost = s_log_line(f, n_assoc, "ha: peer lost peer=a", lost, sizeof lost);
    int n_took = s_log_line(f, n_lost, "ha: took link pbx=main epoch=2 reason=a lost; an "
                                       "application turned to this node", took, sizeof took);
    assert_true(n_assoc < n_lost && n_lost < n_took);
    //  No wait was logged: the vote was in before the loss.
    assert_int_equal(ha_log_find(f, 1, 0, "waiting for an application", NULL, 0), -1);
    printf("pair, several links, CSTA application, timeline from kill -9 of the owner (ms):\n"
           "  the application associated with b  %6lld  (log %lld)\n"
           "  b declares a lost (log)            %6lld\n"
           "  b takes the link, epoch 2 (log)    %6lld\n"
           "  b's link up (/status)              %6lld\n",
           t_assoc - t_kill, ha_log_ms(assoc) - wall_kill, ha_log_ms(lost) - wall_kill,
           ha_log_ms(took) - wall_kill, up - t_kill);
    fflush(stdout);
    assert_true(up - t_kill < 3000);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
}

int main(void)
{
    //  HA_TEST_FILTER=several_* runs some of them (cmocka's glob), e.g. to repeat one.
    if (getenv("HA_TEST_FILTER"))
        cmocka_set_test_filter(getenv("HA_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            kill_owner_backup_takes_the_link_and_primary_does_not_take_it_back, ha_teardown),
        cmocka_unit_test_teardown(sigstop_owner_backup_takes_over_and_the_owner_drops_on_sigcont,
                                  ha_teardown),
        cmocka_unit_test_teardown(
            sigcont_owner_drops_on_higher_epoch_and_backup_connects_at_once, ha_teardown),
        cmocka_unit_test_teardown(clean_stop_hands_the_link_over_at_once, ha_teardown),
        cmocka_unit_test_teardown(standby_is_ready_through_the_owner_and_not_without_one,
                                  ha_teardown),
        cmocka_unit_test_teardown(
            several_links_kill_owner_backup_takes_once_the_application_turns_to_it,
            ha_app_teardown),
        cmocka_unit_test_teardown(
            several_links_kill_owner_csta_application_reconnecting_at_once_is_the_vote,
            ha_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
