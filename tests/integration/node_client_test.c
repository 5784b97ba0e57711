//  The client API end to end: pbxsim, ctimd, and applications that are raw ZeroMQ DEALER
//  sockets speaking proto.h (no libctim yet).  Logins, errors for bad input and requests
//  before login, a call 101 -> 102 made, answered and cleared with the call states each
//  line sees, and an application that stops heartbeating declared failed in time with its
//  PBX monitor released.
//
//  Every wait is on a condition with a deadline; ctimd and pbxsim are stopped after each
//  test, also a failed one.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <czmq.h>

#include "csta.h"
#include "csta_client.h"
#include "proto.h"
#include "node_client_util.h"

#define WAIT_MS 10000
#define EVENTS_MAX 256
#define APPS_MAX 8

//  One application: a DEALER and the events it has read but not yet consumed.
typedef struct {
    zsock_t *sock;
    proto_event_t ev[EVENTS_MAX];
    size_t ev_count;
    uint64_t last_seq;
    uint32_t next_rid;
    uint32_t heartbeat_ms;
    long long sent_ms;              //  when the last frame went out (test_now_ms)
} app_t;

typedef struct {
    nc_world_t w;                   //  pbxsim and ctimd
    csta_client_t *csta_app;
    app_t app[APPS_MAX];
} ct_t;

static int group_setup(void **state)
{
    (void) state;
    return nc_group_setup("client");
}

static int group_teardown(void **state)
{
    (void) state;
    return nc_group_teardown();
}

static int setup(void **state)
{
    ct_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120", NULL};
    return nc_start(&t->w, "clienttest", args, NULL, "101-103", NULL);
}

static int teardown(void **state)
{
    ct_t *t = *state;
    if (!t)
        return 0;
    for (int i = 0; i < APPS_MAX; i++)
        zsock_destroy(&t->app[i].sock);
    csta_client_destroy(&t->csta_app);
    nc_stop(&t->w);
    free(t);
    return 0;
}

//  --- An application on a raw DEALER -------------------------------------------------------

static app_t *s_app(ct_t *t, int i)
{
    app_t *a = &t->app[i];
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", t->w.node.client_port);
    a->sock = zsock_new_dealer(ep);
    assert_non_null(a->sock);
    zsock_set_linger(a->sock, 0);
    a->next_rid = 1;
    return a;
}

static void s_send_raw(app_t *a, const void *data, size_t len)
{
    zframe_t *f = zframe_new(data, len);
    a->sent_ms = test_now_ms();     //  before the send: the node cannot read it earlier
    assert_int_equal(zframe_send(&f, a->sock, 0), 0);
}

static void s_send(app_t *a, const proto_client_msg_t *m)
{
    static uint8_t buf[65536];
    size_t n = 0;
    assert_int_equal(proto_client_encode(m, buf, sizeof buf, &n), 0);
    s_send_raw(a, buf, n);
}

//  The next frame from the node that is not a Heartbeat, decoded; -ETIMEDOUT when none
//  comes before deadline.  Events are queued in a->ev instead of returned.
static int s_recv(app_t *a, proto_client_msg_t *m, long long deadline, bool events_too)
{
    for (;;) {
        long long left = deadline - test_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        zpoller_t *p = zpoller_new(a->sock, NULL);
        void *which = zpoller_wait(p, (int) left);
        zpoller_destroy(&p);
        if (!which)
            continue;
        zframe_t *f = zframe_recv(a->sock);
        assert_non_null(f);
        int rc = proto_client_decode(m, zframe_data(f), zframe_size(f));
        zframe_destroy(&f);
        assert_int_equal(rc, 0);
        if (m->kind == PROTO_MSG_HEARTBEAT)
            continue;
        if (m->kind == PROTO_MSG_EVENT) {
            assert_true(m->event.seq > a->last_seq);    //  per-session order
            a->last_seq = m->event.seq;
            if (!events_too) {
                assert_true(a->ev_count < EVENTS_MAX);
                a->ev[a->ev_count++] = m->event;
                continue;
            }
        }
        return 0;
    }
}

static void s_expect_error(app_t *a, proto_result_t result)
{
    proto_client_msg_t m;
    assert_int_equal(s_recv(a, &m, test_now_ms() + WAIT_MS, false), 0);
    assert_int_equal(m.kind, PROTO_MSG_ERROR);
    assert_int_equal(m.error.result, result);
    assert_true(m.error.text[0] != '\0');
}

static void s_hello(app_t *a, const char *user, const char *password, uint32_t heartbeat_ms)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HELLO);
    snprintf(m.hello.user, sizeof m.hello.user, "%s", user);
    snprintf(m.hello.password, sizeof m.hello.password, "%s", password);
    m.hello.heartbeat_ms = heartbeat_ms;
    snprintf(m.hello.client, sizeof m.hello.client, "node_client_test");
    s_send(a, &m);
}

static void s_login(app_t *a, const char *user, uint32_t heartbeat_ms)
{
    s_hello(a, user, "crm-secret", heartbeat_ms);
    proto_client_msg_t m;
    assert_int_equal(s_recv(a, &m, test_now_ms() + WAIT_MS, false), 0);
    assert_int_equal(m.kind, PROTO_MSG_WELCOME);
    assert_true(m.welcome.session_id[0] != '\0');
    assert_int_equal(strlen(m.welcome.resume_token), 32);
    assert_string_equal(m.welcome.node, "clienttest");
    a->heartbeat_ms = m.welcome.heartbeat_ms;
}

//  Send a request and wait for its Reply (events meanwhile are queued).
static proto_result_t s_call(app_t *a, proto_request_t *rq, proto_reply_t *out)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    rq->request_id = a->next_rid++;
    m.request = *rq;
    s_send(a, &m);
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        assert_int_equal(s_recv(a, &m, deadline, false), 0);
        if (m.kind == PROTO_MSG_REPLY && m.reply.request_id == rq->request_id)
            break;
        fail_msg("unexpected %s while waiting for reply %u", proto_msg_kind_str(m.kind),
                 rq->request_id);
    }
    if (out)
        *out = m.reply;
    proto_result_t r = m.reply.result;
    proto_client_msg_clear(&m);
    return r;
}

static proto_result_t s_open(app_t *a, const char *line)
{
    proto_request_t rq = {.op = PROTO_OP_OPEN_LINE};
    snprintf(rq.open_line.line, sizeof rq.open_line.line, "%s", line);
    return s_call(a, &rq, NULL);
}

//  Wait for (and consume) the first queued or arriving event at line in state; earlier
//  events of other lines and states stay queued, earlier ones of this line are dropped.
static proto_event_t s_expect_state(app_t *a, const char *line, proto_call_state_t state)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < a->ev_count; i++) {
            proto_event_t *e = &a->ev[i];
            if (e->kind != PROTO_EVENT_CALL || strcmp(e->line, line) != 0)
                continue;
            proto_event_t got = *e;
            memmove(e, e + 1, (a->ev_count - i - 1) * sizeof *e);
            a->ev_count--;
            if (got.call.state == state)
                return got;
            i--;
        }
        proto_client_msg_t m;
        if (s_recv(a, &m, deadline, false) == -ETIMEDOUT)
            fail_msg("no %s at line %s", proto_call_state_str(state), line);
        fail_msg("unexpected %s", proto_msg_kind_str(m.kind));
    }
}

//  The next call event at line (queued or arriving), consumed.
static proto_event_t s_next_at(app_t *a, const char *line)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < a->ev_count; i++) {
            proto_event_t *e = &a->ev[i];
            if (e->kind != PROTO_EVENT_CALL || strcmp(e->line, line) != 0)
                continue;
            proto_event_t got = *e;
            memmove(e, e + 1, (a->ev_count - i - 1) * sizeof *e);
            a->ev_count--;
            return got;
        }
        proto_client_msg_t m;
        if (s_recv(a, &m, deadline, false) == -ETIMEDOUT)
            fail_msg("no event at line %s", line);
        fail_msg("unexpected %s", proto_msg_kind_str(m.kind));
    }
}

static void s_expect_next(app_t *a, const char *line, proto_call_state_t state)
{
    proto_event_t e = s_next_at(a, line);
    if (e.call.state != state)
        fail_msg("line %s: %s where %s was expected", line, proto_call_state_str(e.call.state),
                 proto_call_state_str(state));
}

//  --- Tests ---------------------------------------------------------------------------------

//  Wrong password, requests before login and garbage get Error bodies; the session that
//  logged in carries on after garbage; a user may open only the lines it is given.
static void test_login_and_bad_input(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);

    proto_request_t rq = {.op = PROTO_OP_OPEN_LINE, .request_id = 9};
    snprintf(rq.open_line.line, sizeof rq.open_line.line, "101");
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    m.request = rq;
    s_send(a, &m);
    s_expect_error(a, PROTO_RESULT_NOT_LOGGED_IN);

    s_hello(a, "crm", "wrong", 0);
    s_expect_error(a, PROTO_RESULT_LOGIN_FAILED);
    s_hello(a, "nobody", "crm-secret", 0);
    s_expect_error(a, PROTO_RESULT_LOGIN_FAILED);

    static const uint8_t garbage[] = {0xff, 0x00, 0x13, 0x37, 0x42};
    s_send_raw(a, garbage, sizeof garbage);
    s_expect_error(a, PROTO_RESULT_BAD_REQUEST);

    //  Envelope major 2 (field 1 = 2) with an empty Hello (field 10): refused by version.
    static const uint8_t major2[] = {0x08, 0x02, 0x52, 0x00};
    s_send_raw(a, major2, sizeof major2);
    proto_client_msg_t v;
    assert_int_equal(s_recv(a, &v, test_now_ms() + WAIT_MS, false), 0);
    assert_int_equal(v.kind, PROTO_MSG_ERROR);
    assert_int_equal(v.error.result, PROTO_RESULT_UNSUPPORTED_VERSION);
    assert_int_equal(v.error.supported_major, PROTO_VERSION_MAJOR);

    s_login(a, "crm", 0);
    assert_int_equal(a->heartbeat_ms, 1000);       //  the default
    s_send_raw(a, garbage, sizeof garbage);
    s_expect_error(a, PROTO_RESULT_BAD_REQUEST);
    assert_int_equal(s_open(a, "101"), PROTO_RESULT_OK);   //  the session carries on
    nc_wait_monitors(&t->w, "101", 1);

    //  A heartbeat is answered.
    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    s_send(a, &m);
    zpoller_t *p = zpoller_new(a->sock, NULL);
    assert_non_null(zpoller_wait(p, WAIT_MS));
    zpoller_destroy(&p);
    zframe_t *f = zframe_recv(a->sock);
    assert_int_equal(proto_client_decode(&m, zframe_data(f), zframe_size(f)), 0);
    zframe_destroy(&f);
    assert_int_equal(m.kind, PROTO_MSG_HEARTBEAT);

    //  Heartbeat requests are clamped; permissions come from the users.
    app_t *d = s_app(t, 1);
    s_login(d, "desk", 50);
    assert_int_equal(d->heartbeat_ms, 200);
    assert_int_equal(s_open(d, "104"), PROTO_RESULT_ACCESS_DENIED);
    assert_int_equal(s_open(d, "103"), PROTO_RESULT_OK);
    app_t *e = s_app(t, 2);
    s_login(e, "crm", 60000);
    assert_int_equal(e->heartbeat_ms, 10000);
    proto_request_t close = {.op = PROTO_OP_CLOSE_LINE};
    snprintf(close.line.line, sizeof close.line.line, "101");
    assert_int_equal(s_call(e, &close, NULL), PROTO_RESULT_LINE_NOT_OPEN);
    proto_request_t hold = {.op = PROTO_OP_HOLD};
    snprintf(hold.call.line, sizeof hold.call.line, "101");
    assert_int_equal(s_call(e, &hold, NULL), PROTO_RESULT_LINE_NOT_OPEN);

    assert_true(nc_metric(&t->w, "ctim_client_logins_total{result=\"wrong-password\"}") >= 1);
    assert_true(nc_metric(&t->w, "ctim_client_bad_input_total{reason=\"undecodable\"}") >= 2);
}

//  MakeCall 101 -> 102, Answer at 102, HangUp at 101: the replies and the call states both
//  lines see, with caller and called numbers.
static void test_call(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    s_login(a, "crm", 0);
    assert_int_equal(s_open(a, "101"), PROTO_RESULT_OK);
    assert_int_equal(s_open(a, "102"), PROTO_RESULT_OK);

    proto_request_t rq = {.op = PROTO_OP_MAKE_CALL};
    snprintf(rq.target.line, sizeof rq.target.line, "101");
    snprintf(rq.target.number, sizeof rq.target.number, "102");
    proto_reply_t rep;
    assert_int_equal(s_call(a, &rq, &rep), PROTO_RESULT_OK);
    assert_true(rep.call_id[0] != '\0');

    proto_event_t ring = s_expect_state(a, "101", PROTO_CALL_RINGBACK);
    assert_string_equal(ring.call.caller_number, "101");
    assert_string_equal(ring.call.called_number, "102");
    assert_string_equal(ring.call.call_id, rep.call_id);
    proto_event_t offer = s_next_at(a, "102");     //  102's first event
    assert_int_equal(offer.call.state, PROTO_CALL_OFFERING);
    assert_string_equal(offer.call.caller_number, "101");
    assert_string_equal(offer.call.called_number, "102");

    proto_request_t ans = {.op = PROTO_OP_ANSWER};
    snprintf(ans.call.line, sizeof ans.call.line, "102");
    snprintf(ans.call.call_id, sizeof ans.call.call_id, "%s", offer.call.call_id);
    assert_int_equal(s_call(a, &ans, NULL), PROTO_RESULT_OK);
    s_expect_next(a, "101", PROTO_CALL_CONNECTED);  //  from here both lines exactly
    s_expect_next(a, "102", PROTO_CALL_CONNECTED);

    proto_request_t hang = {.op = PROTO_OP_HANG_UP};
    snprintf(hang.call.line, sizeof hang.call.line, "101");
    snprintf(hang.call.call_id, sizeof hang.call.call_id, "%s", rep.call_id);
    assert_int_equal(s_call(a, &hang, NULL), PROTO_RESULT_OK);
    s_expect_next(a, "101", PROTO_CALL_DISCONNECTED);
    s_expect_next(a, "101", PROTO_CALL_IDLE);
    s_expect_next(a, "102", PROTO_CALL_DISCONNECTED);   //  101 left
    s_expect_next(a, "102", PROTO_CALL_IDLE);           //  the PBX cleared 102 too, once
    //  A call id that is no longer there: the PBX's error comes back as a Result.
    proto_request_t again = hang;
    assert_int_not_equal(s_call(a, &again, NULL), PROTO_RESULT_OK);
    //  A call id that is not hex is refused here.
    snprintf(again.call.call_id, sizeof again.call.call_id, "zz");
    assert_int_equal(s_call(a, &again, NULL), PROTO_RESULT_INVALID_CALL);
    //  Closing releases the PBX monitor.
    proto_request_t close = {.op = PROTO_OP_CLOSE_LINE};
    snprintf(close.line.line, sizeof close.line.line, "102");
    assert_int_equal(s_call(a, &close, NULL), PROTO_RESULT_OK);
    nc_wait_monitors(&t->w, "102", 0);
}

//  An application that stops sending (heartbeat 300 ms) is declared failed after two whole
//  intervals, within a tolerance, and its line's PBX monitor goes; one that keeps
//  heartbeating at the same interval stays.
static void test_heartbeat_failure(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    app_t *b = s_app(t, 1);
    s_login(a, "crm", 300);
    s_login(b, "crm", 300);
    assert_int_equal(a->heartbeat_ms, 300);
    assert_int_equal(s_open(b, "102"), PROTO_RESULT_OK);
    assert_int_equal(s_open(a, "101"), PROTO_RESULT_OK);
    //  The rule counts from the node's read of a's last frame (the OpenLine): not before a
    //  sent it, and maybe well before the reply came (after a PBX round trip).
    long long silent_since = a->sent_ms;
    nc_wait_monitors(&t->w, "101", 1);

    //  b heartbeats every 150 ms while a is silent; a's failure is watched on /metrics.
    long long deadline = silent_since + WAIT_MS, next_hb = 0, failed_at = 0;
    while (test_now_ms() < deadline && !failed_at) {
        if (test_now_ms() >= next_hb) {
            proto_client_msg_t m;
            proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
            s_send(b, &m);
            next_hb = test_now_ms() + 150;
        }
        if (nc_metric(&t->w, "ctim_client_failures_total") >= 1)
            failed_at = test_now_ms();
        else
            nc_pace();
    }
    assert_true(failed_at > 0);
    long long took = failed_at - silent_since;
    fprintf(stderr, "heartbeat 300 ms: failure declared %lld ms after the last frame\n", took);
    //  More than two whole intervals in whole ms (the node's now - last read > 600, on the
    //  same monotonic clock).
    assert_true(took >= 600 + 1);
    assert_true(took <= 600 + 250);     //  delivery, the timer, scrape polling, a busy machine
    nc_wait_monitors(&t->w, "101", 0);
    assert_int_equal(nc_metric(&t->w, "ctim_client_failures_total"), 1);
    assert_int_equal(nc_metric(&t->w, "ctim_client_sessions"), 1);
    assert_int_equal(nc_monitors(&t->w, "102"), 1);
    //  The failed application's next request finds no session.
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    m.request.request_id = 77;
    m.request.op = PROTO_OP_LIST_LINES;
    s_send(a, &m);
    s_expect_error(a, PROTO_RESULT_NOT_LOGGED_IN);
}

//  A CSTA application and a client API application watch the same line: one PBX monitor,
//  and each front end gets the events of its own watch only, in its own form.
static void test_both_front_ends(void **state)
{
    ct_t *t = *state;
    csta_client_cfg_t cfg = {.host = "127.0.0.1", .port = t->w.node.csta_port, .timeout_ms = WAIT_MS};
    t->csta_app = csta_client_new(&cfg);
    assert_non_null(t->csta_app);
    assert_int_equal(csta_client_connect(t->csta_app), 0);
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "101");
    assert_int_equal(csta_client_call(t->csta_app, &req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&res);

    app_t *a = s_app(t, 0);
    s_login(a, "crm", 0);
    assert_int_equal(s_open(a, "101"), PROTO_RESULT_OK);
    assert_int_equal(nc_monitors(&t->w, "101"), 1);      //  shared

    proto_request_t rq = {.op = PROTO_OP_MAKE_CALL};
    snprintf(rq.target.line, sizeof rq.target.line, "101");
    snprintf(rq.target.number, sizeof rq.target.number, "103");
    assert_int_equal(s_call(a, &rq, NULL), PROTO_RESULT_OK);
    s_expect_state(a, "101", PROTO_CALL_RINGBACK);
    bool delivered = false;
    long long deadline = test_now_ms() + WAIT_MS;
    while (!delivered && test_now_ms() < deadline) {
        csta_apdu_t ev;
        int rc = csta_client_next_event(t->csta_app, &ev, (int) (deadline - test_now_ms()));
        if (rc == -ETIMEDOUT)
            break;
        assert_int_equal(rc, 0);
        delivered = ev.kind == CSTA_APDU_INVOKE && ev.opcode == CSTA_OP_EVENT_REPORT &&
                    ev.event.type == CSTA_EV_DELIVERED;
        csta_apdu_clear(&ev);
    }
    assert_true(delivered);
    //  The client application's session ends; the CSTA application keeps the monitor.
    zsock_destroy(&a->sock);
    csta_client_destroy(&t->csta_app);
    nc_wait_monitors(&t->w, "101", 0);
}


//  Seven applications say Hello at once to a fresh node: none is remembered yet, so every
//  login is checked on ctimd's worker thread, one after the other, and each gets its
//  Welcome; the sessions work.  Then a wrong password gets LOGIN_FAILED.  (The wrong one
//  is not sent with the others: the order in which the ROUTER gets them is not fixed, and
//  a failure from the address throttles the checks still out.)
static void test_concurrent_first_logins(void **state)
{
    ct_t *t = *state;
    for (int i = 0; i < APPS_MAX - 1; i++)
        s_hello(s_app(t, i), "crm", "crm-secret", 0);
    for (int i = 0; i < APPS_MAX; i++) {
        if (i == APPS_MAX - 1)
            s_hello(s_app(t, i), "crm", "wrong", 0);
        proto_client_msg_t m;
        assert_int_equal(s_recv(&t->app[i], &m, test_now_ms() + WAIT_MS, false), 0);
        if (i == APPS_MAX - 1) {
            assert_int_equal(m.kind, PROTO_MSG_ERROR);
            assert_int_equal(m.error.result, PROTO_RESULT_LOGIN_FAILED);
        } else {
            assert_int_equal(m.kind, PROTO_MSG_WELCOME);
        }
    }
    t->app[0].heartbeat_ms = 1000;
    assert_int_equal(s_open(&t->app[0], "101"), PROTO_RESULT_OK);
    assert_true(nc_metric(&t->w, "ctim_client_logins_total{result=\"ok\"}") == APPS_MAX - 1);
    assert_true(nc_metric(&t->w, "ctim_client_logins_total{result=\"wrong-password\"}") == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login_and_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_first_logins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_front_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
