//  libctim against the real ctimd: pbxsim, ctimd with its client API on a free port, and
//  libctim inside the test, driven like an application (poll on ctim_fd with
//  ctim_timeout_ms, then ctim_dispatch).
//
//  - call_flow: login, lines 101 and 102 opened (in service, one PBX monitor each), a call
//    101 -> 102 made, answered and cleared with the states both lines see; closing a line
//    releases its PBX monitor.
//  - ctimd_restart: ctimd is killed (SIGKILL); libctim reports its lines out of service
//    within two heartbeat intervals plus a tolerance; a new ctimd is started on the same
//    ports with the same config; libctim logs in again (a new session: ctimd does not resume
//    yet), re-opens its lines itself and reports them in service; the PBX monitors are back
//    and a call works.
//  - ctimd_quick_restart: the same, but the new ctimd is up before libctim noticed: the node
//    answers on the same endpoint with Error NOT_LOGGED_IN, which must end the session.
//
//  Every wait is on a condition with a deadline; ctimd and pbxsim are stopped after each
//  test, also a failed one.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctim.h"
#include "test_ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"

#define HB_MS 300
#define TOLERANCE_MS 250    //  ctimd's silence, the library's check tick, ASan, 2 busy cores

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_node_t node;
    test_app_t app;
    bool app_up;
    char reply[1 << 12];
} e2e_t;

static char s_dir[64];

static int group_setup(void **state)
{
    (void) state;
    return test_ctim_dir_make(s_dir, sizeof s_dir, "e2e");
}

static int group_teardown(void **state)
{
    (void) state;
    return test_ctim_dir_remove(s_dir);
}

static int setup(void **state)
{
    e2e_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    t->node.proc.pid = -1;
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120", NULL};
    if (test_pbxsim_start(&t->sim, args) != 0)
        return -1;
    t->sim_running = true;
    return test_node_start(&t->node, s_dir, "e2etest", t->sim.port, NULL, true);
}

static int teardown(void **state)
{
    e2e_t *t = *state;
    if (!t)
        return 0;
    if (t->app_up)
        test_app_destroy(&t->app);
    test_node_stop(&t->node);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    free(t);
    return 0;
}

static void s_connect(e2e_t *t)
{
    char servers[64];
    test_node_endpoint(&t->node, servers, sizeof servers);
    assert_int_equal(test_app_connect(&t->app, servers, HB_MS), 0);
    t->app_up = true;
    assert_int_equal(t->app.link_ups, 1);
}

static test_ctim_reply_t s_wait_reply(e2e_t *t, int id)
{
    test_ctim_reply_t r;
    assert_true(test_app_reply(&t->app, id, &r));
    return r;
}

static test_ctim_event_t s_expect_next(e2e_t *t, const char *line, ctim_call_state_t state)
{
    test_ctim_event_t e;
    assert_true(test_app_expect(&t->app, line, state, &e));
    return e;
}

static long s_monitors(e2e_t *t, const char *dev)
{
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "monitors %s", dev) != 0)
        return -1;
    return test_json_long(t->reply, "monitors", -1);
}

//  Keep the application's loop running while pbxsim's monitor count for dev becomes n.
static void s_wait_monitors(e2e_t *t, const char *dev, long n)
{
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    long got = -1;
    while ((got = s_monitors(t, dev)) != n && test_now_ms() < deadline)
        test_app_turn(&t->app, test_now_ms() + 20);
    assert_int_equal(got, n);
}

static void s_wait_service(e2e_t *t, bool in_service, long long deadline)
{
    assert_true(test_app_wait_service(&t->app, "101", in_service, deadline));
    assert_true(test_app_wait_service(&t->app, "102", in_service, deadline));
}

static long long s_changed_at(e2e_t *t)
{
    return test_app_line(&t->app, "101")->changed_at_ms;
}

static void s_open_both(e2e_t *t)
{
    int a = ctim_open_line(t->app.ctim, "101", NULL);
    int b = ctim_open_line(t->app.ctim, "102", NULL);
    assert_int_equal(s_wait_reply(t, a).result, CTIM_RESULT_OK);
    assert_int_equal(s_wait_reply(t, b).result, CTIM_RESULT_OK);
    s_wait_service(t, true, test_now_ms() + TEST_CTIM_WAIT_MS);
}

//  MakeCall 101 -> 102, Answer at 102, HangUp at 101, with the states both lines see.
static void s_call(e2e_t *t)
{
    test_ctim_reply_t mk = s_wait_reply(t, ctim_make_call(t->app.ctim, "101", "102"));
    assert_int_equal(mk.result, CTIM_RESULT_OK);
    assert_true(mk.call_id[0] != '\0');

    test_ctim_event_t ring;
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_RINGBACK, &ring));
    assert_string_equal(ring.call_id, mk.call_id);
    assert_string_equal(ring.caller, "101");
    assert_string_equal(ring.called, "102");
    test_ctim_event_t offer = s_expect_next(t, "102", CTIM_CALL_OFFERING);
    assert_string_equal(offer.caller, "101");
    assert_string_equal(offer.called, "102");

    assert_int_equal(s_wait_reply(t, ctim_answer(t->app.ctim, "102", offer.call_id)).result,
                     CTIM_RESULT_OK);
    s_expect_next(t, "101", CTIM_CALL_CONNECTED);
    s_expect_next(t, "102", CTIM_CALL_CONNECTED);

    assert_int_equal(s_wait_reply(t, ctim_hang_up(t->app.ctim, "101", mk.call_id)).result,
                     CTIM_RESULT_OK);
    s_expect_next(t, "101", CTIM_CALL_DISCONNECTED);
    s_expect_next(t, "101", CTIM_CALL_IDLE);
    s_expect_next(t, "102", CTIM_CALL_DISCONNECTED);
    s_expect_next(t, "102", CTIM_CALL_IDLE);
}

//  --- Tests -----------------------------------------------------------------------------------

static void test_call_flow(void **state)
{
    e2e_t *t = *state;
    s_connect(t);
    s_open_both(t);
    s_wait_monitors(t, "101", 1);
    s_wait_monitors(t, "102", 1);
    s_call(t);

    assert_int_equal(s_wait_reply(t, ctim_close_line(t->app.ctim, "101")).result, CTIM_RESULT_OK);
    s_wait_monitors(t, "101", 0);
    assert_int_equal(s_monitors(t, "102"), 1);
    assert_int_equal(t->app.link_downs, 0);
    assert_int_equal(t->app.rep_count, 0);          //  no reply nobody asked for
}

//  Both lines back in service after a restart, by the library's own re-opens; one PBX
//  monitor each again; a new call works.
static void s_expect_back(e2e_t *t, long long killed_at, long long ready_at)
{
    long long down_at = s_changed_at(t);
    s_wait_service(t, true, test_now_ms() + TEST_CTIM_WAIT_MS);
    fprintf(stderr, "lines back in service %lld ms after the new ctimd was ready "
            "(%lld ms after out of service, %lld ms after the kill)\n",
            s_changed_at(t) - ready_at, s_changed_at(t) - down_at,
            s_changed_at(t) - killed_at);
    assert_int_equal(t->app.link_downs, 1);
    assert_int_equal(t->app.link_ups, 2);           //  a new session (ctimd does not resume yet)
    assert_int_equal(t->app.rep_count, 0);          //  the re-opens are the library's own
    s_wait_monitors(t, "101", 1);
    s_wait_monitors(t, "102", 1);
    s_call(t);
}

//  ctimd dies and stays dead a while: the library notices the silence, reports its lines
//  out of service, and is back when a new ctimd comes up on the same ports.
static void test_ctimd_restart(void **state)
{
    e2e_t *t = *state;
    s_connect(t);
    s_open_both(t);
    s_wait_monitors(t, "101", 1);

    //  The loop ran up to the kill, so the library's last sign of life from ctimd came at
    //  most about one heartbeat interval before it.
    test_app_turn(&t->app, test_now_ms());
    long long killed_at = test_now_ms();
    test_node_kill(&t->node);
    s_wait_service(t, false, killed_at + TEST_CTIM_WAIT_MS);
    long long out_ms = s_changed_at(t) - killed_at;
    fprintf(stderr, "heartbeat %d ms: lines out of service %lld ms after ctimd was killed\n",
            HB_MS, out_ms);
    //  Not at once: two intervals of silence from a last sign of life that came at most
    //  about an interval (plus a busy machine's reply latency) before the kill.
    assert_true(out_ms >= HB_MS / 2);
    assert_true(out_ms <= 2 * HB_MS + TOLERANCE_MS);
    assert_int_equal(t->app.link_downs, 1);
    s_wait_monitors(t, "101", 0);               //  pbxsim dropped the dead link's monitors

    assert_int_equal(test_node_restart(&t->node, true), 0);      //  same config, same ports
    s_expect_back(t, killed_at, test_now_ms());
}

//  ctimd is killed and a new one is up before the library noticed: the node answers on
//  the same endpoint but knows no session (Error NOT_LOGGED_IN).  The library must take
//  that as a lost session, not as a sign of life.
static void test_ctimd_quick_restart(void **state)
{
    e2e_t *t = *state;
    s_connect(t);
    s_open_both(t);
    s_wait_monitors(t, "101", 1);

    test_app_turn(&t->app, test_now_ms());
    long long killed_at = test_now_ms();
    test_node_kill(&t->node);
    assert_int_equal(test_node_restart(&t->node, true), 0);      //  the loop did not run meanwhile
    long long ready_at = test_now_ms();
    s_wait_service(t, false, ready_at + TEST_CTIM_WAIT_MS);
    long long out_ms = s_changed_at(t) - ready_at;
    fprintf(stderr, "heartbeat %d ms: lines out of service %lld ms after the new ctimd was "
            "ready (%lld ms after the kill)\n", HB_MS, out_ms,
            s_changed_at(t) - killed_at);
    assert_true(out_ms <= 2 * HB_MS + TOLERANCE_MS);
    assert_int_equal(t->app.link_downs, 1);
    s_expect_back(t, killed_at, ready_at);
}

//  A line opened while the node's PBX link is down opens all the same, out of service (as
//  a TAPI line), and comes in service with the link: an application failing over to a node
//  whose link is still coming up keeps its lines.
static void test_line_opened_while_the_pbx_link_is_down(void **state)
{
    e2e_t *t = *state;
    s_connect(t);
    //  pbxsim drops the link and refuses new ones for a while.
    assert_int_equal(test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "refuse 2"), 0);
    assert_int_equal(test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "drop"), 0);
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    static char body[4096];
    int status = 200;
    while (status == 200 && test_now_ms() < deadline) {
        test_app_turn(&t->app, test_now_ms() + 20);
        test_http_get("127.0.0.1", t->node.http_port, "/readyz", 2000, &status, body,
                      sizeof body);
    }
    assert_int_not_equal(status, 200);

    test_ctim_reply_t r = s_wait_reply(t, ctim_open_line(t->app.ctim, "101", NULL));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    const test_app_line_t *l = test_app_line(&t->app, "101");
    assert_non_null(l);
    assert_false(l->in_service);
    assert_int_equal(l->changes, 1);            //  told: open, out of service

    assert_true(test_app_wait_service(&t->app, "101", true, test_now_ms() + TEST_CTIM_WAIT_MS));
    s_wait_monitors(t, "101", 1);
    assert_int_equal(s_wait_reply(t, ctim_open_line(t->app.ctim, "102", NULL)).result,
                     CTIM_RESULT_OK);
    assert_true(test_app_wait_service(&t->app, "102", true, test_now_ms() + TEST_CTIM_WAIT_MS));
    s_call(t);
}

//  The value of a /metrics series (name with labels, as printed), or -1.
static double s_metric(e2e_t *t, const char *series)
{
    static char body[1 << 16];
    int status = 0;
    if (test_http_get("127.0.0.1", t->node.http_port, "/metrics", 2000, &status, body,
                      sizeof body) != 0 || status != 200)
        return -1;
    char key[160];
    snprintf(key, sizeof key, "\n%s ", series);
    const char *p = strstr(body, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

//  An application that closes libctim says Bye: the node closes its session at once, and
//  it is no failure — nothing counted, no call-forward-on-failure redirect.
static void test_bye_is_not_a_failure(void **state)
{
    e2e_t *t = *state;
    s_connect(t);
    test_ctim_reply_t r = s_wait_reply(t, ctim_open_line(t->app.ctim, "101", "103"));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    s_wait_monitors(t, "101", 1);
    assert_true(s_metric(t, "ctim_client_sessions") == 1);
    test_app_destroy(&t->app);
    t->app_up = false;
    //  Closed at once (well before two heartbeat intervals), its monitor released.
    long long deadline = test_now_ms() + HB_MS;
    while (s_metric(t, "ctim_client_sessions") != 0 && test_now_ms() < deadline)
        ;
    assert_true(s_metric(t, "ctim_client_sessions") == 0);
    long long until = test_now_ms() + TEST_CTIM_WAIT_MS;
    while (s_monitors(t, "101") != 0 && test_now_ms() < until)
        ;
    assert_int_equal(s_monitors(t, "101"), 0);
    assert_true(s_metric(t, "ctim_client_failures_total") <= 0);
    assert_true(s_metric(t, "ctim_client_guarded_lines") <= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctimd_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctimd_quick_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_opened_while_the_pbx_link_is_down, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bye_is_not_a_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
