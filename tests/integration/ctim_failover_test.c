//  libctim with two servers in its list, against two real ctimd on one pbxsim that accepts
//  one CSTA link at a time (as a Panasonic does): node A holds the PBX link, node B tries
//  and is refused until A is gone.
//
//  - second_node_takes_over: A is killed (SIGKILL) with a request in flight.  The request
//    gets a reply (never silence); the application's lines go out of service within two
//    heartbeat intervals (plus a tolerance); B gets the PBX link and the library, now on
//    B, has its lines in service again without the application re-opening them; the PBX
//    monitors its lines once (B's), and a call works through B.  pbxsim never had two
//    links at once.
//  - no_failback: A comes back; the library stays on B (failback is off by default).
//
//  Every wait is on a condition with a deadline; processes are stopped after each test.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_ctim.h"
#include "test_pbxsim.h"

#define HB_MS 300
#define TOLERANCE_MS 250    //  the library's check tick, ASan, two busy cores

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_node_t a, b;
    test_app_t app;
    bool app_up;
    char reply[1 << 12];
} fo_t;

static char s_dir[64];

static int group_setup(void **state)
{
    (void) state;
    return test_ctim_dir_make(s_dir, sizeof s_dir, "failover");
}

static int group_teardown(void **state)
{
    (void) state;
    return test_ctim_dir_remove(s_dir);
}

static int setup(void **state)
{
    fo_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    t->a.proc.pid = t->b.proc.pid = -1;
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    if (test_pbxsim_start(&t->sim, args) != 0)
        return -1;
    t->sim_running = true;
    if (test_node_start(&t->a, s_dir, "a", t->sim.port, NULL, true) != 0)
        return -1;
    //  B starts while A holds the link: pbxsim refuses B's attempts.
    return test_node_start(&t->b, s_dir, "b", t->sim.port, NULL, false);
}

static int teardown(void **state)
{
    fo_t *t = *state;
    if (!t)
        return 0;
    if (t->app_up)
        test_app_destroy(&t->app);
    test_node_stop(&t->a);
    test_node_stop(&t->b);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    free(t);
    return 0;
}

static long s_sim_value(fo_t *t, const char *command, const char *key)
{
    if (test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "%s", command) != 0)
        return -1;
    return test_json_long(t->reply, key, -1);
}

//  Keep the application's loop running while pbxsim's monitor count for dev becomes n.
static void s_wait_monitors(fo_t *t, const char *dev, long n)
{
    char command[32];
    snprintf(command, sizeof command, "monitors %s", dev);
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    long got = -1;
    while ((got = s_sim_value(t, command, "monitors")) != n && test_now_ms() < deadline)
        test_app_turn(&t->app, test_now_ms() + 20);
    assert_int_equal(got, n);
}

//  Connected to A with lines 101 and 102 open and in service.
static void s_connect_and_open(fo_t *t)
{
    char servers[128], ea[48], eb[48];
    test_node_endpoint(&t->a, ea, sizeof ea);
    test_node_endpoint(&t->b, eb, sizeof eb);
    snprintf(servers, sizeof servers, "%s,%s", ea, eb);
    assert_int_equal(test_app_connect(&t->app, servers, HB_MS), 0);
    t->app_up = true;
    assert_string_equal(ctim_server(t->app.ctim), ea);
    test_ctim_reply_t r;
    assert_true(test_app_reply(&t->app, ctim_open_line(t->app.ctim, "101", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_reply(&t->app, ctim_open_line(t->app.ctim, "102", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    assert_true(test_app_wait_service(&t->app, "101", true, deadline));
    assert_true(test_app_wait_service(&t->app, "102", true, deadline));
    s_wait_monitors(t, "101", 1);
}

//  A call 101 -> 102 through whichever node the library is on, answered and cleared.
static void s_call(fo_t *t)
{
    test_ctim_reply_t mk, r;
    test_ctim_event_t e, offer;
    assert_true(test_app_reply(&t->app, ctim_make_call(t->app.ctim, "101", "102"), &mk));
    assert_int_equal(mk.result, CTIM_RESULT_OK);
    //  Events of an earlier call may still be queued (the call in flight at a kill comes
    //  back as a snapshot, ringback too): skip to this call's ringback.
    do
        assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_RINGBACK, &e));
    while (strcmp(e.call_id, mk.call_id) != 0);
    assert_true(test_app_skip_to(&t->app, "102", CTIM_CALL_OFFERING, &offer));
    assert_string_equal(offer.caller, "101");
    assert_true(test_app_reply(&t->app, ctim_answer(t->app.ctim, "102", offer.call_id), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_CONNECTED, NULL));
    assert_true(test_app_reply(&t->app, ctim_hang_up(t->app.ctim, "101", mk.call_id), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_skip_to(&t->app, "101", CTIM_CALL_IDLE, NULL));
    assert_true(test_app_skip_to(&t->app, "102", CTIM_CALL_IDLE, NULL));
}

static void test_second_node_takes_over(void **state)
{
    fo_t *t = *state;
    s_connect_and_open(t);
    long refused_before = s_sim_value(t, "stats", "links_refused");
    assert_true(refused_before >= 1);           //  B was knocking all along

    //  A request leaves for A, and A dies before the loop runs again.
    int in_flight = ctim_make_call(t->app.ctim, "101", "119");
    assert_true(in_flight > 0);
    long long killed_at = test_now_ms();
    test_node_kill(&t->a);

    test_ctim_reply_t r;
    assert_true(test_app_reply(&t->app, in_flight, &r));
    fprintf(stderr, "request in flight at the kill: %s\n", ctim_result_str(r.result));
    assert_true(r.result == CTIM_RESULT_SERVER_LOST || r.result == CTIM_RESULT_OK);

    long long deadline = killed_at + TEST_CTIM_WAIT_MS;
    assert_true(test_app_wait_service(&t->app, "101", false, deadline));
    long long out_ms = test_app_line(&t->app, "101")->changed_at_ms - killed_at;
    assert_true(test_app_wait_service(&t->app, "101", true, deadline));
    assert_true(test_app_wait_service(&t->app, "102", true, deadline));
    long long back_ms = test_app_line(&t->app, "102")->changed_at_ms - killed_at;
    fprintf(stderr, "heartbeat %d ms: lines out of service %lld ms after the kill, back in "
            "service on the second node %lld ms after it\n", HB_MS, out_ms, back_ms);
    assert_true(out_ms <= 2 * HB_MS + TOLERANCE_MS);

    char eb[48];
    test_node_endpoint(&t->b, eb, sizeof eb);
    assert_string_equal(ctim_server(t->app.ctim), eb);
    assert_int_equal(t->app.link_downs, 1);
    assert_int_equal(t->app.link_ups, 2);
    assert_int_equal(t->app.rep_count, 0);      //  the re-opens were the library's own
    assert_int_equal(test_node_wait_link(&t->b, TEST_CTIM_WAIT_MS), 0);
    s_wait_monitors(t, "101", 1);
    s_wait_monitors(t, "102", 1);
    assert_int_equal(s_sim_value(t, "stats", "links_open"), 1);

    //  The in-flight call exists when A passed it on before dying, whatever reply the
    //  library gave (SERVER_LOST only says the answer was lost): 101 hangs up, and an
    //  error because there was nothing to hang up is fine.  Then a call works through B.
    (void) test_pbxsim_ctl(&t->sim, t->reply, sizeof t->reply, "hangup 101");
    s_call(t);
    assert_false(t->app.overflow);
}

static void test_no_failback(void **state)
{
    fo_t *t = *state;
    s_connect_and_open(t);
    test_node_kill(&t->a);
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    assert_true(test_app_wait_service(&t->app, "101", false, deadline));
    assert_true(test_app_wait_service(&t->app, "101", true, deadline));
    char eb[48];
    test_node_endpoint(&t->b, eb, sizeof eb);
    assert_string_equal(ctim_server(t->app.ctim), eb);

    //  A is back (its link is refused now: B holds the PBX).  Six heartbeat intervals on:
    //  still on B, no link change.
    assert_int_equal(test_node_restart(&t->a, false), 0);
    long long until = test_now_ms() + 6 * HB_MS;
    while (test_now_ms() < until)
        test_app_turn(&t->app, until);
    assert_string_equal(ctim_server(t->app.ctim), eb);
    assert_int_equal(t->app.link_downs, 1);
    assert_int_equal(t->app.link_ups, 2);
    assert_true(test_app_line(&t->app, "101")->in_service);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_node_takes_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_failback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
