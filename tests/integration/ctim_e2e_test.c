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
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define WAIT_MS 10000
#define HB_MS 300
#define TOLERANCE_MS 250    //  ctimd's silence, the library's check tick, ASan, 2 busy cores
#define EVENTS_MAX 128
#define REPLIES_MAX 64

//  "crm-secret" (the hash in deploy/config/ctimd.yaml).
#define CRM_HASH                                                                                 \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

//  A call event, copied out of the callback.
typedef struct {
    char line[32];
    char call_id[64];
    ctim_call_state_t state;
    char caller[32];
    char called[32];
} ev_t;

typedef struct {
    int request_id;
    ctim_result_t result;
    char call_id[64];
} rep_t;

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_proc_t ctimd;
    int client_port, http_port, csta_port;
    char reply[1 << 12];
    ctim_t *ctim;
    ev_t ev[EVENTS_MAX];
    size_t ev_count;
    rep_t rep[REPLIES_MAX];
    size_t rep_count;
    bool in_service[2];                 //  lines 101, 102
    long long service_change_at[2];     //  monotonic ms of the last change
    int link_ups, link_downs;
} e2e_t;

static char s_dir[64];
static char s_config[128];

static int group_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-e2e-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_config, sizeof s_config, "%s/ctimd.yaml", s_dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_write_config(e2e_t *t)
{
    FILE *f = fopen(s_config, "w");
    assert_non_null(f);
    fprintf(f,
            "node:\n  id: e2etest\n  log_level: info\n"
            "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
            "    backoff_initial_ms: 100\n    backoff_max_ms: 400\n"
            "    validate_calls_ms: 0\n"
            "csta_server:\n  listen: 127.0.0.1\n  tcp_port: %d\n  login_fail_delay_ms: 0\n"
            "client_api:\n  listen: 127.0.0.1\n  port: %d\n"
            "http:\n  listen: 127.0.0.1\n  port: %d\n"
            "users:\n"
            "  - name: crm\n    password_hash: \"%s\"\n    devices: [\"101-103\"]\n",
            t->sim.port, t->csta_port, t->client_port, t->http_port, CRM_HASH);
    fclose(f);
}

//  Start ctimd and wait until /readyz says ready (its PBX link is up).
static int s_ctimd_start(e2e_t *t)
{
    char *argv[] = {CTIM_CTIMD, "--config", s_config, NULL};
    if (test_proc_start(&t->ctimd, argv, "ctimd ready", 20000) != 0)
        return -1;
    static char body[4096];
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        int status = -1;
        if (test_http_get("127.0.0.1", t->http_port, "/readyz", 2000, &status, body,
                          sizeof body) == 0 && status == 200 && strstr(body, "ready"))
            return 0;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds it
    }
    return -1;
}

static int setup(void **state)
{
    e2e_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    t->ctimd.pid = -1;
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120", NULL};
    if (test_pbxsim_start(&t->sim, args) != 0)
        return -1;
    t->sim_running = true;
    for (int attempt = 0; attempt < 5; attempt++) {
        //  A port taken between the check and ctimd's bind makes ctimd exit: try others.
        t->client_port = test_free_port();
        t->http_port = test_free_port();
        t->csta_port = test_free_port();
        s_write_config(t);
        if (s_ctimd_start(t) == 0)
            return 0;
    }
    return -1;
}

static int teardown(void **state)
{
    e2e_t *t = *state;
    if (!t)
        return 0;
    ctim_destroy(&t->ctim);
    if (t->ctimd.pid > 0)
        test_proc_stop(&t->ctimd);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    free(t);
    return 0;
}

//  --- libctim callbacks ----------------------------------------------------------------------

static int s_line_index(const char *line)
{
    return strcmp(line, "101") == 0 ? 0 : strcmp(line, "102") == 0 ? 1 : -1;
}

static void s_on_reply(ctim_t *ctim, const ctim_reply_t *reply, void *arg)
{
    (void) ctim;
    e2e_t *t = arg;
    assert_true(t->rep_count < REPLIES_MAX);
    rep_t *r = &t->rep[t->rep_count++];
    r->request_id = reply->request_id;
    r->result = reply->result;
    snprintf(r->call_id, sizeof r->call_id, "%s", reply->call_id);
}

static void s_on_call(ctim_t *ctim, const ctim_call_event_t *event, void *arg)
{
    (void) ctim;
    e2e_t *t = arg;
    assert_true(t->ev_count < EVENTS_MAX);
    ev_t *e = &t->ev[t->ev_count++];
    snprintf(e->line, sizeof e->line, "%s", event->line);
    snprintf(e->call_id, sizeof e->call_id, "%s", event->call_id);
    e->state = event->state;
    snprintf(e->caller, sizeof e->caller, "%s", event->caller_number);
    snprintf(e->called, sizeof e->called, "%s", event->called_number);
}

static void s_on_line(ctim_t *ctim, const char *line, bool in_service, void *arg)
{
    (void) ctim;
    e2e_t *t = arg;
    int i = s_line_index(line);
    assert_true(i >= 0);
    assert_true(t->in_service[i] != in_service);     //  once per change
    t->in_service[i] = in_service;
    t->service_change_at[i] = test_now_ms();
}

static void s_on_link(ctim_t *ctim, ctim_link_t link, const char *server, const char *text,
                      void *arg)
{
    (void) ctim;
    e2e_t *t = arg;
    fprintf(stderr, "libctim: %s %s (%s)\n", ctim_link_str(link), server, text);
    assert_int_not_equal(link, CTIM_LINK_LOGIN_FAILED);
    if (link == CTIM_LINK_UP)
        t->link_ups++;
    else if (link == CTIM_LINK_DOWN)
        t->link_downs++;
}

//  --- The application's loop ------------------------------------------------------------------

//  One turn: poll on the library's fd until its timeout or until deadline, then dispatch.
static void s_turn(e2e_t *t, long long deadline)
{
    int wait = ctim_timeout_ms(t->ctim);
    long long left = deadline - test_now_ms();
    if (left < 0)
        left = 0;
    if (wait < 0 || wait > left)
        wait = (int) left;
    if (wait > 50)
        wait = 50;      //  pbxsim is polled between turns by some waits
    struct pollfd p = {.fd = ctim_fd(t->ctim), .events = POLLIN};
    assert_true(poll(&p, 1, wait) >= 0);
    assert_int_equal(ctim_dispatch(t->ctim), 0);
}

static void s_connect(e2e_t *t)
{
    char servers[64];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d", t->client_port);
    ctim_cfg_t cfg;
    ctim_cfg_init(&cfg);
    cfg.servers = servers;
    cfg.user = "crm";
    cfg.password = "crm-secret";
    cfg.client = "ctim_e2e_test";
    cfg.heartbeat_ms = HB_MS;
    cfg.backoff_max_ms = 200;
    cfg.on_reply = s_on_reply;
    cfg.on_call = s_on_call;
    cfg.on_line = s_on_line;
    cfg.on_link = s_on_link;
    cfg.arg = t;
    t->ctim = ctim_new(&cfg);
    assert_non_null(t->ctim);
    assert_int_equal(ctim_connect(t->ctim), 0);
    long long deadline = test_now_ms() + WAIT_MS;
    while (!ctim_is_up(t->ctim) && test_now_ms() < deadline)
        s_turn(t, deadline);
    assert_true(ctim_is_up(t->ctim));
}

//  Run the loop until request id is answered; its reply, consumed.
static rep_t s_wait_reply(e2e_t *t, int id)
{
    assert_true(id > 0);
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < t->rep_count; i++)
            if (t->rep[i].request_id == id) {
                rep_t r = t->rep[i];
                memmove(&t->rep[i], &t->rep[i + 1], (t->rep_count - i - 1) * sizeof r);
                t->rep_count--;
                return r;
            }
        if (test_now_ms() >= deadline)
            fail_msg("no reply to request %d", id);
        s_turn(t, deadline);
    }
}

//  The next call event at line, consumed (events of other lines stay queued).
static ev_t s_next_at(e2e_t *t, const char *line)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < t->ev_count; i++)
            if (strcmp(t->ev[i].line, line) == 0) {
                ev_t e = t->ev[i];
                memmove(&t->ev[i], &t->ev[i + 1], (t->ev_count - i - 1) * sizeof e);
                t->ev_count--;
                return e;
            }
        if (test_now_ms() >= deadline)
            fail_msg("no call event at line %s", line);
        s_turn(t, deadline);
    }
}

static ev_t s_expect_next(e2e_t *t, const char *line, ctim_call_state_t state)
{
    ev_t e = s_next_at(t, line);
    if (e.state != state)
        fail_msg("line %s: %s where %s was expected", line, ctim_call_state_str(e.state),
                 ctim_call_state_str(state));
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
    long long deadline = test_now_ms() + WAIT_MS;
    long got = -1;
    while ((got = s_monitors(t, dev)) != n && test_now_ms() < deadline)
        s_turn(t, test_now_ms() + 20);
    assert_int_equal(got, n);
}

static void s_wait_service(e2e_t *t, bool in_service, long long deadline)
{
    while (test_now_ms() < deadline &&
           (t->in_service[0] != in_service || t->in_service[1] != in_service))
        s_turn(t, deadline);
    assert_int_equal(t->in_service[0], in_service);
    assert_int_equal(t->in_service[1], in_service);
}

static void s_open_both(e2e_t *t)
{
    int a = ctim_open_line(t->ctim, "101", NULL);
    int b = ctim_open_line(t->ctim, "102", NULL);
    assert_int_equal(s_wait_reply(t, a).result, CTIM_RESULT_OK);
    assert_int_equal(s_wait_reply(t, b).result, CTIM_RESULT_OK);
    s_wait_service(t, true, test_now_ms() + WAIT_MS);
}

//  MakeCall 101 -> 102, Answer at 102, HangUp at 101, with the states both lines see.
static void s_call(e2e_t *t)
{
    rep_t mk = s_wait_reply(t, ctim_make_call(t->ctim, "101", "102"));
    assert_int_equal(mk.result, CTIM_RESULT_OK);
    assert_true(mk.call_id[0] != '\0');

    ev_t ring;
    do
        ring = s_next_at(t, "101");     //  dial tone / dialling may come first
    while (ring.state != CTIM_CALL_RINGBACK);
    assert_string_equal(ring.call_id, mk.call_id);
    assert_string_equal(ring.caller, "101");
    assert_string_equal(ring.called, "102");
    ev_t offer = s_expect_next(t, "102", CTIM_CALL_OFFERING);
    assert_string_equal(offer.caller, "101");
    assert_string_equal(offer.called, "102");

    assert_int_equal(s_wait_reply(t, ctim_answer(t->ctim, "102", offer.call_id)).result,
                     CTIM_RESULT_OK);
    s_expect_next(t, "101", CTIM_CALL_CONNECTED);
    s_expect_next(t, "102", CTIM_CALL_CONNECTED);

    assert_int_equal(s_wait_reply(t, ctim_hang_up(t->ctim, "101", mk.call_id)).result,
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
    assert_int_equal(t->link_ups, 1);
    s_open_both(t);
    s_wait_monitors(t, "101", 1);
    s_wait_monitors(t, "102", 1);
    s_call(t);

    assert_int_equal(s_wait_reply(t, ctim_close_line(t->ctim, "101")).result, CTIM_RESULT_OK);
    s_wait_monitors(t, "101", 0);
    assert_int_equal(s_monitors(t, "102"), 1);
    assert_int_equal(t->link_downs, 0);
    assert_int_equal(t->rep_count, 0);          //  no reply nobody asked for
}

//  Both lines back in service after a restart, by the library's own re-opens; one PBX
//  monitor each again; a new call works.
static void s_expect_back(e2e_t *t, long long killed_at, long long ready_at)
{
    long long down_at = t->service_change_at[0];
    s_wait_service(t, true, test_now_ms() + WAIT_MS);
    fprintf(stderr, "lines back in service %lld ms after the new ctimd was ready "
            "(%lld ms after out of service, %lld ms after the kill)\n",
            t->service_change_at[0] - ready_at, t->service_change_at[0] - down_at,
            t->service_change_at[0] - killed_at);
    assert_int_equal(t->link_downs, 1);
    assert_int_equal(t->link_ups, 2);           //  a new session (ctimd does not resume yet)
    assert_int_equal(t->rep_count, 0);          //  the re-opens are the library's own
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
    s_turn(t, test_now_ms());
    long long killed_at = test_now_ms();
    test_proc_kill(&t->ctimd);
    s_wait_service(t, false, killed_at + WAIT_MS);
    long long out_ms = t->service_change_at[0] - killed_at;
    fprintf(stderr, "heartbeat %d ms: lines out of service %lld ms after ctimd was killed\n",
            HB_MS, out_ms);
    //  Not at once: two intervals of silence from a last sign of life that came at most
    //  about an interval (plus a busy machine's reply latency) before the kill.
    assert_true(out_ms >= HB_MS / 2);
    assert_true(out_ms <= 2 * HB_MS + TOLERANCE_MS);
    assert_int_equal(t->link_downs, 1);
    s_wait_monitors(t, "101", 0);               //  pbxsim dropped the dead link's monitors

    assert_int_equal(s_ctimd_start(t), 0);      //  same config, same ports
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

    s_turn(t, test_now_ms());
    long long killed_at = test_now_ms();
    test_proc_kill(&t->ctimd);
    assert_int_equal(s_ctimd_start(t), 0);      //  the loop did not run meanwhile
    long long ready_at = test_now_ms();
    s_wait_service(t, false, ready_at + WAIT_MS);
    long long out_ms = t->service_change_at[0] - ready_at;
    fprintf(stderr, "heartbeat %d ms: lines out of service %lld ms after the new ctimd was "
            "ready (%lld ms after the kill)\n", HB_MS, out_ms,
            t->service_change_at[0] - killed_at);
    assert_true(out_ms <= 2 * HB_MS + TOLERANCE_MS);
    assert_int_equal(t->link_downs, 1);
    s_expect_back(t, killed_at, ready_at);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctimd_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctimd_quick_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
