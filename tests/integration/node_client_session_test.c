//  Client API sessions end to end (issue 5): pbxsim, ctimd, and applications that are raw
//  ZeroMQ DEALER sockets speaking proto.h.
//    - resume from a new identity replays exactly the events made while away;
//    - a gap beyond the replay buffer gives RESUMED_WITH_GAP, EventsLost and a snapshot;
//    - a line opened during a call gets it from a SnapshotDevice answered in segments;
//    - an unknown, malformed or another user's token gives NEW_SESSION;
//    - an application that reads nothing gets EventsLost and a snapshot when it drains;
//    - heartbeat failure is declared on time (the figure is printed) and calls ringing at a
//      line opened with a failure number are deflected there, also calls arriving later
//      and after the PBX link dropped, until an application opens the line again;
//    - CURVE: the right server key works; a plain client, a wrong server key and a client
//      key not allowed get nothing (and are counted); any key when curve_clients is unset;
//    - garbage and unknown protocol majors get Errors while another session carries on.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <czmq.h>

#include "proto.h"
#include "node_client_util.h"

#define WAIT_MS 10000
#define EVENTS_MAX 20000
#define LOST_MAX 64
#define APPS_MAX 4

//  One event as an application saw it.
typedef struct {
    uint64_t seq;
    char line[PROTO_NUMBER_MAX + 1];
    proto_event_kind_t kind;
    proto_call_state_t state;
    bool in_service;
    bool snapshot;
    char call_id[PROTO_CALL_ID_MAX + 1];
} ev_t;

//  One application: a DEALER, and every event and EventsLost it has read, in order.
typedef struct {
    zsock_t *sock;
    ev_t ev[EVENTS_MAX];
    size_t ev_count;
    size_t cursor;                  //  events before it are consumed by s_expect_*
    proto_events_lost_t lost[LOST_MAX];
    size_t lost_before[LOST_MAX];   //  how many events had been read when it came
    size_t lost_count;
    uint64_t last_seq;
    size_t duplicates;              //  events whose seq was not above the last one
    uint32_t next_rid;
    uint32_t heartbeat_ms;
    char token[PROTO_TOKEN_MAX + 1];
    char session_id[PROTO_TOKEN_MAX + 1];
    long long sent_ms;              //  when the last frame went out (test_now_ms)
} app_t;

typedef struct {
    int replay_events;
    int send_hwm;
    bool curve;
    bool curve_any_key;
} opts_t;

typedef struct {
    opts_t opts;
    nc_world_t w;                   //  pbxsim and ctimd
    app_t app[APPS_MAX];
    zcert_t *server_cert, *client_cert, *stranger_cert;
} ct_t;

static int group_setup(void **state)
{
    (void) state;
    return nc_group_setup("session");
}

static int group_teardown(void **state)
{
    (void) state;
    return nc_group_teardown();
}

//  pbxsim's call list holds `text` (e.g. the failure number alerting).
static void s_wait_calls(ct_t *t, const char *text)
{
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        if (test_pbxsim_ctl(&t->w.sim, t->w.reply, sizeof t->w.reply, "calls") == 0 &&
            strstr(t->w.reply, text))
            return;
        nc_pace();
    }
    fail_msg("pbxsim calls never held %s; last: %s", text, t->w.reply);
}

static void s_wait_no_calls(ct_t *t)
{
    s_wait_calls(t, "\"calls\":[]");
}

//  Server and client certificates for CURVE: the server's pair, an allowed client's
//  (its public half in clients/), and a stranger's (not there).
static int s_make_certs(ct_t *t)
{
    char path[256];
    snprintf(path, sizeof path, "%s/clients", nc_dir);
    mkdir(path, 0700);
    t->server_cert = zcert_new();
    t->client_cert = zcert_new();
    t->stranger_cert = zcert_new();
    if (!t->server_cert || !t->client_cert || !t->stranger_cert)
        return -1;
    snprintf(path, sizeof path, "%s/server.cert", nc_dir);
    if (zcert_save(t->server_cert, path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/clients/app.cert", nc_dir);
    return zcert_save_public(t->client_cert, path);
}

static int s_setup(void **state, opts_t opts)
{
    ct_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    t->opts = opts;
    t->w.node.proc.pid = -1;
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120", NULL};
    if (opts.curve && s_make_certs(t) != 0)
        return -1;
    char client[512];
    int n = snprintf(client, sizeof client, "  replay_events: %d\n  send_hwm: %d\n",
                     opts.replay_events, opts.send_hwm);
    if (opts.curve) {
        n += snprintf(client + n, sizeof client - (size_t) n,
                      "  curve_cert: \"%s/server.cert_secret\"\n", nc_dir);
        if (!opts.curve_any_key)
            snprintf(client + n, sizeof client - (size_t) n, "  curve_clients: \"%s/clients\"\n",
                     nc_dir);
    }
    return nc_start(&t->w, "sessiontest", args, client, "101-110", NULL);
}

static int setup(void **state)
{
    return s_setup(state, (opts_t){.replay_events = 1000, .send_hwm = 1000});
}

static int setup_small_replay(void **state)
{
    return s_setup(state, (opts_t){.replay_events = 4, .send_hwm = 1000});
}

static int setup_slow_reader(void **state)
{
    return s_setup(state, (opts_t){.replay_events = 50, .send_hwm = 4});
}

static int setup_curve(void **state)
{
    return s_setup(state, (opts_t){.replay_events = 1000, .send_hwm = 1000, .curve = true});
}

static int setup_curve_any(void **state)
{
    return s_setup(state, (opts_t){.replay_events = 1000, .send_hwm = 1000, .curve = true,
                                   .curve_any_key = true});
}

static int teardown(void **state)
{
    ct_t *t = *state;
    if (!t)
        return 0;
    for (int i = 0; i < APPS_MAX; i++)
        zsock_destroy(&t->app[i].sock);
    nc_stop(&t->w);
    zcert_destroy(&t->server_cert);
    zcert_destroy(&t->client_cert);
    zcert_destroy(&t->stranger_cert);
    free(t);
    return 0;
}

//  --- An application on a raw DEALER -------------------------------------------------------

//  A new connection for app i (the old one, if any, goes: a new ZeroMQ identity).  With
//  cert, a CURVE client of server_key.
static app_t *s_connect(ct_t *t, int i, zcert_t *cert, const char *server_key)
{
    app_t *a = &t->app[i];
    zsock_destroy(&a->sock);
    a->sock = zsock_new(ZMQ_DEALER);
    assert_non_null(a->sock);
    zsock_set_linger(a->sock, 0);
    if (cert) {
        zcert_apply(cert, a->sock);
        zsock_set_curve_serverkey(a->sock, server_key);
    }
    assert_int_equal(zsock_connect(a->sock, "tcp://127.0.0.1:%d", t->w.node.client_port), 0);
    if (!a->next_rid)
        a->next_rid = 1;
    return a;
}

static app_t *s_app(ct_t *t, int i)
{
    return s_connect(t, i, NULL, NULL);
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

static void s_log_event(app_t *a, const proto_event_t *e)
{
    if (e->seq <= a->last_seq)
        a->duplicates++;
    else
        a->last_seq = e->seq;
    assert_true(a->ev_count < EVENTS_MAX);
    ev_t *v = &a->ev[a->ev_count++];
    *v = (ev_t){.seq = e->seq, .kind = e->kind, .snapshot = e->snapshot};
    snprintf(v->line, sizeof v->line, "%s", e->line);
    if (e->kind == PROTO_EVENT_CALL) {
        v->state = e->call.state;
        snprintf(v->call_id, sizeof v->call_id, "%s", e->call.call_id);
    } else if (e->kind == PROTO_EVENT_SERVICE) {
        v->in_service = e->in_service;
    }
}

//  The next frame from the node that is neither a Heartbeat (unless heartbeats) nor an
//  Event or EventsLost (those are logged in a, and returned as such only if events);
//  -ETIMEDOUT when none comes by deadline.
static int s_recv_any(app_t *a, proto_client_msg_t *m, long long deadline, bool heartbeats,
                      bool events)
{
    for (;;) {
        zframe_t *f = NULL;
        if (zsock_events(a->sock) & ZMQ_POLLIN)
            f = zframe_recv(a->sock);       //  queued already: no poller needed
        else {
            long long left = deadline - test_now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            zpoller_t *p = zpoller_new(a->sock, NULL);
            void *which = zpoller_wait(p, (int) left);
            zpoller_destroy(&p);
            if (!which)
                continue;
            f = zframe_recv(a->sock);
        }
        assert_non_null(f);
        int rc = proto_client_decode(m, zframe_data(f), zframe_size(f));
        zframe_destroy(&f);
        assert_int_equal(rc, 0);
        if (m->kind == PROTO_MSG_HEARTBEAT && !heartbeats)
            continue;
        if (m->kind == PROTO_MSG_EVENT) {
            s_log_event(a, &m->event);
            if (events)
                return 0;
            continue;
        }
        if (m->kind == PROTO_MSG_EVENTS_LOST) {
            assert_true(a->lost_count < LOST_MAX);
            a->lost[a->lost_count] = m->events_lost;
            a->lost_before[a->lost_count++] = a->ev_count;
            a->last_seq = m->events_lost.to_seq;
            if (events)
                return 0;
            continue;
        }
        return 0;
    }
}

static int s_recv(app_t *a, proto_client_msg_t *m, long long deadline, bool heartbeats)
{
    return s_recv_any(a, m, deadline, heartbeats, false);
}

//  Read one more event (or EventsLost) by deadline; any other frame fails the test.
static void s_next_event(app_t *a, long long deadline, const char *waiting_for)
{
    proto_client_msg_t m;
    if (s_recv_any(a, &m, deadline, false, true) == -ETIMEDOUT)
        fail_msg("timed out waiting for %s", waiting_for);
    if (m.kind != PROTO_MSG_EVENT && m.kind != PROTO_MSG_EVENTS_LOST)
        fail_msg("unexpected %s while waiting for %s", proto_msg_kind_str(m.kind), waiting_for);
}

//  Read whatever arrives for ms (events and EventsLost are logged).
static void s_drain(app_t *a, int ms)
{
    proto_client_msg_t m;
    long long deadline = test_now_ms() + ms;
    while (s_recv(a, &m, deadline, false) == 0)
        proto_client_msg_clear(&m);
}

static void s_hello(app_t *a, const char *user, uint32_t heartbeat_ms, const char *token)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HELLO);
    snprintf(m.hello.user, sizeof m.hello.user, "%s", user);
    snprintf(m.hello.password, sizeof m.hello.password, "crm-secret");
    m.hello.heartbeat_ms = heartbeat_ms;
    snprintf(m.hello.resume_token, sizeof m.hello.resume_token, "%s", token ? token : "");
    snprintf(m.hello.client, sizeof m.hello.client, "node_client_session_test");
    s_send(a, &m);
}

static proto_welcome_t s_welcome(app_t *a)
{
    proto_client_msg_t m;
    assert_int_equal(s_recv(a, &m, test_now_ms() + WAIT_MS, false), 0);
    if (m.kind != PROTO_MSG_WELCOME)
        fail_msg("%s where Welcome was expected", proto_msg_kind_str(m.kind));
    a->heartbeat_ms = m.welcome.heartbeat_ms;
    snprintf(a->token, sizeof a->token, "%s", m.welcome.resume_token);
    snprintf(a->session_id, sizeof a->session_id, "%s", m.welcome.session_id);
    return m.welcome;
}

static proto_resume_result_t s_resume_result(app_t *a)
{
    proto_client_msg_t m;
    assert_int_equal(s_recv(a, &m, test_now_ms() + WAIT_MS, false), 0);
    if (m.kind != PROTO_MSG_RESUME_RESULT)
        fail_msg("%s where ResumeResult was expected", proto_msg_kind_str(m.kind));
    return m.resume_result;
}

static void s_login(app_t *a, const char *user, uint32_t heartbeat_ms)
{
    s_hello(a, user, heartbeat_ms, NULL);
    proto_welcome_t w = s_welcome(a);
    assert_int_equal(strlen(w.resume_token), 32);
    assert_string_equal(w.node, "sessiontest");
    assert_int_equal(w.last_seq_acked, 0);
}

//  Send a request and wait for its Reply (events meanwhile are logged).
static proto_result_t s_call(app_t *a, proto_request_t *rq)
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
    proto_result_t r = m.reply.result;
    proto_client_msg_clear(&m);
    return r;
}

static proto_result_t s_open(app_t *a, const char *line, const char *failure_number)
{
    proto_request_t rq = {.op = PROTO_OP_OPEN_LINE};
    snprintf(rq.open_line.line, sizeof rq.open_line.line, "%s", line);
    snprintf(rq.open_line.failure_number, sizeof rq.open_line.failure_number, "%s",
             failure_number ? failure_number : "");
    return s_call(a, &rq);
}

//  Acknowledge every event read so far, and wait until the node answered that Heartbeat
//  (so the ack has been taken).
static void s_ack(app_t *a)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    m.heartbeat.last_seq_acked = a->last_seq;
    s_send(a, &m);
    assert_int_equal(s_recv(a, &m, test_now_ms() + WAIT_MS, true), 0);
    assert_int_equal(m.kind, PROTO_MSG_HEARTBEAT);
}

//  Wait until an event at line in state (kind CALL) has been read after the cursor; the
//  cursor moves past it.  Returns its index.
static size_t s_expect_state(app_t *a, const char *line, proto_call_state_t state)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = a->cursor; i < a->ev_count; i++) {
            const ev_t *e = &a->ev[i];
            if (e->kind == PROTO_EVENT_CALL && strcmp(e->line, line) == 0 && e->state == state) {
                a->cursor = i + 1;
                return i;
            }
        }
        char what[64];
        snprintf(what, sizeof what, "%s at line %s", proto_call_state_str(state), line);
        s_next_event(a, deadline, what);
    }
}

//  Wait until the app has read events up to seq.
static void s_wait_seq(app_t *a, uint64_t seq)
{
    long long deadline = test_now_ms() + WAIT_MS;
    while (a->last_seq < seq)
        s_next_event(a, deadline, "the replayed events");
}

//  Every event's seq follows the one before, or an EventsLost that covers exactly the
//  numbers between; and nothing came twice.
static void s_check_continuous(const app_t *a)
{
    assert_int_equal(a->duplicates, 0);
    size_t l = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < a->ev_count; i++) {
        while (l < a->lost_count && a->lost_before[l] == i) {
            if (a->lost[l].from_seq != prev + 1)
                fail_msg("EventsLost from %llu after event %llu",
                         (unsigned long long) a->lost[l].from_seq, (unsigned long long) prev);
            assert_true(a->lost[l].to_seq >= a->lost[l].from_seq);
            prev = a->lost[l].to_seq;
            l++;
        }
        if (a->ev[i].seq != prev + 1)
            fail_msg("event %llu after %llu", (unsigned long long) a->ev[i].seq,
                     (unsigned long long) prev);
        prev = a->ev[i].seq;
    }
}

static void s_expect_error(app_t *a, proto_result_t result)
{
    proto_client_msg_t m;
    assert_int_equal(s_recv(a, &m, test_now_ms() + WAIT_MS, false), 0);
    assert_int_equal(m.kind, PROTO_MSG_ERROR);
    assert_int_equal(m.error.result, result);
}

//  --- Resume ----------------------------------------------------------------------------------

//  A call while the application is away: it comes back from a new identity and gets exactly
//  the events it missed (those a second application saw meanwhile), numbered on from its
//  last ack, then live events go on from ResumeResult.next_seq.
static void test_resume_replays_missed_events(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    app_t *b = s_app(t, 1);
    s_login(a, "crm", 5000);
    s_login(b, "crm", 5000);
    const char *lines[] = {"101", "102"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_open(a, lines[i], NULL), PROTO_RESULT_OK);
        assert_int_equal(s_open(b, lines[i], NULL), PROTO_RESULT_OK);
    }
    nc_ctl(&t->w, "dial %s %s", "101", "102");
    s_expect_state(a, "101", PROTO_CALL_RINGBACK);
    s_expect_state(a, "102", PROTO_CALL_OFFERING);
    s_expect_state(b, "101", PROTO_CALL_RINGBACK);
    s_expect_state(b, "102", PROTO_CALL_OFFERING);
    s_ack(a);
    uint64_t acked = a->last_seq;
    size_t b_from = b->ev_count;
    zsock_destroy(&a->sock);                   //  a is away

    nc_ctl(&t->w, "answer %s%s", "102", NULL);
    nc_ctl(&t->w, "hangup %s%s", "101", NULL);
    s_expect_state(b, "101", PROTO_CALL_IDLE);
    s_expect_state(b, "102", PROTO_CALL_IDLE);
    s_wait_no_calls(t);
    size_t missed = b->ev_count - b_from;
    assert_true(missed >= 4);                  //  connected x2, idle x2 at least

    a = s_connect(t, 0, NULL, NULL);           //  a new ZeroMQ identity
    char old_session[sizeof a->session_id];
    snprintf(old_session, sizeof old_session, "%s", a->session_id);
    s_hello(a, "crm", 5000, a->token);
    proto_welcome_t w = s_welcome(a);
    assert_string_equal(w.session_id, old_session);
    assert_int_equal(w.last_seq_acked, acked);
    proto_resume_result_t r = s_resume_result(a);
    assert_int_equal(r.outcome, PROTO_RESUME_RESUMED);
    assert_int_equal(r.next_seq, acked + missed + 1);
    assert_int_equal(r.lines_open, 2);
    size_t a_from = a->ev_count;
    s_wait_seq(a, r.next_seq - 1);
    assert_int_equal(a->ev_count - a_from, missed);
    for (size_t i = 0; i < missed; i++) {
        const ev_t *x = &a->ev[a_from + i], *y = &b->ev[b_from + i];
        assert_int_equal(x->seq, acked + 1 + i);
        assert_string_equal(x->line, y->line);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->state, y->state);
        assert_string_equal(x->call_id, y->call_id);
        assert_false(x->snapshot);
    }
    //  Nothing more was replayed, and live events go on from next_seq.
    s_drain(a, 200);
    assert_int_equal(a->ev_count - a_from, missed);
    nc_ctl(&t->w, "dial %s %s", "102", "101");
    a->cursor = a->ev_count;
    s_expect_state(a, "101", PROTO_CALL_OFFERING);
    assert_int_equal(a->ev[a_from + missed].seq, r.next_seq);
    s_check_continuous(a);
    assert_int_equal(a->lost_count, 0);

    assert_int_equal(nc_metric(&t->w, "ctim_client_resumes_total{outcome=\"resumed\"}"), 1);
    assert_int_equal(nc_metric(&t->w, "ctim_client_sessions"), 2);
    assert_int_equal(nc_metric(&t->w, "ctim_client_events_lost_total"), 0);
    nc_wait_http(&t->w, "/status", "\"resumes\":1");
    assert_non_null(strstr(t->w.body, "\"clients\":{"));
    //  The old identity's session moved: the monitors are still one per line.
    assert_int_equal(nc_monitors(&t->w, "101"), 1);
}

//  Away longer than the replay buffer holds (replay_events 4): RESUMED_WITH_GAP, EventsLost
//  naming exactly the events missed, then a snapshot of each line: in service, and the
//  call there now.
static void test_resume_gap_gives_events_lost_and_snapshot(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    app_t *b = s_app(t, 1);
    s_login(a, "crm", 5000);
    s_login(b, "crm", 5000);
    const char *lines[] = {"101", "102"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_open(a, lines[i], NULL), PROTO_RESULT_OK);
        assert_int_equal(s_open(b, lines[i], NULL), PROTO_RESULT_OK);
    }
    s_drain(a, 50);
    s_ack(a);
    uint64_t acked = a->last_seq;
    zsock_destroy(&a->sock);

    //  Dial tone, dialling, ringback, offering, connected x2 at least: more than the 4
    //  events a's buffer keeps.  b sees them too, so once b has both connected, so has a's
    //  session.
    nc_ctl(&t->w, "dial %s %s", "101", "102");
    s_expect_state(b, "102", PROTO_CALL_OFFERING);
    nc_ctl(&t->w, "answer %s%s", "102", NULL);
    s_expect_state(b, "101", PROTO_CALL_CONNECTED);
    s_expect_state(b, "102", PROTO_CALL_CONNECTED);

    a = s_connect(t, 0, NULL, NULL);
    s_hello(a, "crm", 5000, a->token);
    proto_welcome_t w = s_welcome(a);
    assert_int_equal(w.last_seq_acked, acked);
    proto_resume_result_t r = s_resume_result(a);
    assert_int_equal(r.outcome, PROTO_RESUME_RESUMED_WITH_GAP);
    assert_true(r.next_seq > acked + 4);
    size_t a_from = a->ev_count;
    //  EventsLost, then the snapshot: per line in_service then its call, both flagged.
    long long deadline = test_now_ms() + WAIT_MS;
    bool in_service[2] = {false, false}, call[2] = {false, false};
    size_t seen = a_from;
    while (!(in_service[0] && in_service[1] && call[0] && call[1])) {
        if (seen == a->ev_count)
            s_next_event(a, deadline, "the snapshot");
        for (; seen < a->ev_count; seen++) {
            const ev_t *e = &a->ev[seen];
            int l = strcmp(e->line, "101") == 0 ? 0 : 1;
            assert_true(e->snapshot);
            if (e->kind == PROTO_EVENT_SERVICE) {
                assert_true(e->in_service);
                assert_false(call[l]);          //  in_service comes first
                in_service[l] = true;
            } else if (e->kind == PROTO_EVENT_CALL) {
                assert_true(in_service[l]);
                assert_int_equal(e->state, PROTO_CALL_CONNECTED);
                call[l] = true;
            }
        }
    }
    assert_true(in_service[0] && in_service[1] && call[0] && call[1]);
    assert_int_equal(a->lost_count, 1);
    assert_int_equal(a->lost_before[0], a_from);
    assert_int_equal(a->lost[0].from_seq, acked + 1);
    assert_int_equal(a->lost[0].to_seq, r.next_seq - 1);
    assert_int_equal(a->ev[a_from].seq, r.next_seq);
    s_check_continuous(a);
    assert_int_equal(nc_metric(&t->w, "ctim_client_events_lost_total"), r.next_seq - 1 - acked);
    assert_int_equal(nc_metric(&t->w, "ctim_client_resumes_total{outcome=\"resumed-with-gap\"}"), 1);
}

//  A line opened during a call gets the call as a snapshot event (the PBX's SnapshotDevice
//  answer) — also when pbxsim answers with a serviceCrossRefID and sends the call in the
//  last of three SnapshotDeviceData segments (ctl snapshot-segments; ECMA-269): node_pbx
//  collects them for the client API.  Without that the line would show no call.
static void test_open_line_snapshot_from_segments(void **state)
{
    ct_t *t = *state;
    nc_ctl(&t->w, "snapshot-segments %s%s", "3", NULL);
    nc_ctl(&t->w, "dial %s %s", "101", "102");
    nc_ctl(&t->w, "answer %s%s", "102", NULL);
    s_wait_calls(t, "102");
    app_t *a = s_app(t, 0);
    s_login(a, "crm", 5000);
    assert_int_equal(s_open(a, "101", NULL), PROTO_RESULT_OK);
    size_t i = s_expect_state(a, "101", PROTO_CALL_CONNECTED);
    assert_true(a->ev[i].snapshot);
    //  The same call as the PBX's: its events carry on from there.
    char call_id[PROTO_CALL_ID_MAX + 1];
    snprintf(call_id, sizeof call_id, "%s", a->ev[i].call_id);
    nc_ctl(&t->w, "hangup %s%s", "102", NULL);
    i = s_expect_state(a, "101", PROTO_CALL_IDLE);
    assert_string_equal(a->ev[i].call_id, call_id);
    assert_false(a->ev[i].snapshot);
}

//  A token nobody has, one that is not even hex, and another user's: a new session with no
//  lines; the session that owns the token carries on.
static void test_unknown_token_gives_new_session(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    s_login(a, "crm", 5000);
    assert_int_equal(s_open(a, "101", NULL), PROTO_RESULT_OK);
    const char *tokens[] = {"00112233445566778899aabbccddeeff", "not a token", a->token};
    const char *users[] = {"crm", "crm", "desk"};
    for (int i = 0; i < 3; i++) {
        app_t *c = s_app(t, 1 + (i % 2));
        s_hello(c, users[i], 5000, tokens[i]);
        proto_welcome_t w = s_welcome(c);
        assert_string_not_equal(w.session_id, a->session_id);
        assert_int_equal(w.last_seq_acked, 0);
        proto_resume_result_t r = s_resume_result(c);
        assert_int_equal(r.outcome, PROTO_RESUME_NEW_SESSION);
        assert_int_equal(r.next_seq, 1);
        assert_int_equal(r.lines_open, 0);
    }
    assert_int_equal(nc_metric(&t->w, "ctim_client_resumes_total{outcome=\"new-session\"}"), 3);
    //  a's session is untouched.
    proto_request_t rq = {.op = PROTO_OP_CLOSE_LINE};
    snprintf(rq.line.line, sizeof rq.line.line, "101");
    assert_int_equal(s_call(a, &rq), PROTO_RESULT_OK);
}

//  --- A slow reader -----------------------------------------------------------------------------

//  The value of "key": in app a's session object of /status ("" when not found).
static const char *s_session_value(ct_t *t, const app_t *a, const char *key, char *out,
                                   size_t cap)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\"session\":\"%s\"", a->session_id);
    *out = '\0';
    const char *p = nc_get(&t->w, "/status") == 200 ? strstr(t->w.body, needle) : NULL;
    snprintf(needle, sizeof needle, "\"%s\":", key);
    p = p ? strstr(p, needle) : NULL;
    if (p)
        snprintf(out, cap, "%.*s", (int) strcspn(p + strlen(needle), ",}"), p + strlen(needle));
    return out;
}

//  An application that reads nothing while a lot happens (send_hwm 4, replay_events 50):
//  the node is not held up (another application is served throughout); when the
//  application reads at last it gets what is still in the buffer, EventsLost for what is
//  not, and a snapshot of its lines, all in sequence, and then live events again.
static void test_slow_reader_gets_events_lost(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    zsock_set_rcvhwm(a->sock, 1);
    app_t *b = s_app(t, 1);
    s_login(a, "crm", 10000);
    s_login(b, "crm", 10000);
    char line[8];
    for (int n = 101; n <= 110; n++) {
        snprintf(line, sizeof line, "%d", n);
        assert_int_equal(s_open(a, line, NULL), PROTO_RESULT_OK);
    }
    assert_int_equal(s_open(b, "101", NULL), PROTO_RESULT_OK);
    //  Calls between 20 extensions for 3 s; a reads nothing (but heartbeats), b all along.
    nc_ctl(&t->w, "traffic %s %s", "100", "3 10 20");
    long long deadline = test_now_ms() + WAIT_MS + 5000, next_hb = 0;
    for (;;) {
        assert_true(test_now_ms() < deadline);
        if (test_now_ms() >= next_hb) {
            proto_client_msg_t m;
            proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
            s_send(a, &m);
            next_hb = test_now_ms() + 1000;
        }
        s_drain(b, 20);
        if (test_pbxsim_ctl(&t->w.sim, t->w.reply, sizeof t->w.reply, "stats") == 0 &&
            strstr(t->w.reply, "\"running\":false") && test_json_long(t->w.reply, "in_progress", 1) == 0)
            break;
    }
    assert_true(b->ev_count > 100);
    s_check_continuous(b);
    char value[64];
    assert_string_equal(s_session_value(t, a, "blocked", value, sizeof value), "true");
    //  a reads now: until the snapshot after the last EventsLost is complete (one
    //  in_service per line; every gap is followed by exactly one answer per line).
    long long t0 = test_now_ms();
    deadline = t0 + WAIT_MS;
    size_t services = 0;
    for (;;) {
        s_drain(a, 200);
        assert_true(a->lost_count >= 1);
        services = 0;
        for (size_t i = a->lost_before[a->lost_count - 1]; i < a->ev_count; i++)
            services += a->ev[i].kind == PROTO_EVENT_SERVICE && a->ev[i].snapshot;
        if (services >= 10 || test_now_ms() > deadline)
            break;
    }
    fprintf(stderr, "slow reader: %zu events read, %zu EventsLost, last seq %llu, in %lld ms\n",
            a->ev_count, a->lost_count, (unsigned long long) a->last_seq, test_now_ms() - t0);
    assert_int_equal(services, 10);
    s_check_continuous(a);
    //  (Live events may come between EventsLost and the snapshot's answers: the snapshot,
    //  answered later, is newer than they are.)
    uint64_t lost = 0;
    for (size_t l = 0; l < a->lost_count; l++)
        lost += a->lost[l].to_seq - a->lost[l].from_seq + 1;
    assert_int_equal(nc_metric(&t->w, "ctim_client_events_lost_total"), lost);
    //  The node catches up on its next retry (every 25 ms) once a has read everything.
    deadline = test_now_ms() + WAIT_MS;
    while (strcmp(s_session_value(t, a, "blocked", value, sizeof value), "false") != 0 &&
           test_now_ms() < deadline) {
        s_drain(a, 5);
    }
    assert_string_equal(value, "false");
    assert_string_equal(s_session_value(t, a, "queued", value, sizeof value), "0");
    //  Live again.
    a->cursor = a->ev_count;
    nc_ctl(&t->w, "call-in %s %s", "0306666666", "105");
    s_expect_state(a, "105", PROTO_CALL_OFFERING);
    assert_false(a->ev[a->ev_count - 1].snapshot);
    s_check_continuous(a);
}

//  --- Failure and the guard ---------------------------------------------------------------------

//  An application (heartbeat 400 ms) opens 101 with failure number 105 and 102 without,
//  a call rings at 101, and the application goes silent: it is declared failed after two
//  whole intervals (the figure is printed), the ringing call goes to 105, and so do calls
//  that arrive later, also after the PBX link dropped and came back; when another
//  application opens 101, calls ring there again.  pbxsim answers SnapshotDevice in two
//  segments (ctl snapshot-segments): the guard finds the ringing call in them.
static void test_failure_redirects_to_failure_number(void **state)
{
    ct_t *t = *state;
    nc_ctl(&t->w, "snapshot-segments %s%s", "2", NULL);
    app_t *a = s_app(t, 0);
    s_login(a, "crm", 400);
    assert_int_equal(s_open(a, "102", NULL), PROTO_RESULT_OK);
    assert_int_equal(s_open(a, "101", "105"), PROTO_RESULT_OK);
    nc_ctl(&t->w, "call-in %s %s", "0301234567", "101");
    s_expect_state(a, "101", PROTO_CALL_OFFERING);
    //  The rule counts from the node's read of a's last frame (the OpenLine of 101): not
    //  before a sent it, and maybe well before the reply came back (the node answers after
    //  a MonitorStart round trip to the PBX), so the reply's arrival is no reference.
    long long silent_since = a->sent_ms;

    long long deadline = silent_since + WAIT_MS, failed_at = 0;
    while (test_now_ms() < deadline && !failed_at)
        if (nc_metric(&t->w, "ctim_client_failures_total") >= 1)
            failed_at = test_now_ms();      //  polled back to back: ~1 ms apart
    assert_true(failed_at > 0);
    long long took = failed_at - silent_since;
    fprintf(stderr, "heartbeat 400 ms: failure declared %lld ms after the last frame "
            "(two intervals: 800)\n", took);
    //  More than two whole intervals in whole ms: the node fails a session when now - last
    //  read > 800 on the same monotonic clock, and its read came at or after silent_since.
    assert_true(took >= 800 + 1);
    assert_true(took <= 800 + 150);     //  delivery, the loop's timer, scrape latency, load

    //  The call ringing at 101 went to 105; 101 stays monitored (the guard), 102 does not.
    s_wait_calls(t, "\"number\":\"105\",\"state\":\"alerting\"");
    nc_wait_metric(&t->w, "ctim_client_redirects_total{result=\"ok\"}", 1);
    assert_int_equal(nc_metric(&t->w, "ctim_client_guarded_lines"), 1);
    assert_int_equal(nc_monitors(&t->w, "101"), 1);
    nc_wait_monitors(&t->w, "102", 0);
    nc_wait_http(&t->w, "/status", "\"guarded\":[{\"line\":\"101\",\"failure_number\":\"105\"");

    //  A call arriving after the failure goes there too.
    nc_ctl(&t->w, "hangup %s%s", "0301234567", NULL);
    s_wait_no_calls(t);
    nc_ctl(&t->w, "call-in %s %s", "0307654321", "101");
    s_wait_calls(t, "\"number\":\"105\",\"state\":\"alerting\"");
    nc_wait_metric(&t->w, "ctim_client_redirects_total{result=\"ok\"}", 2);

    //  The link drops and comes back: the guard's line is monitored again and guarded.
    nc_ctl(&t->w, "hangup %s%s", "0307654321", NULL);
    s_wait_no_calls(t);
    nc_ctl(&t->w, "drop%s%s", "", NULL);
    nc_wait_http(&t->w, "/readyz", "ready");
    nc_wait_monitors(&t->w, "101", 1);
    nc_ctl(&t->w, "call-in %s %s", "0301111111", "101");
    s_wait_calls(t, "\"number\":\"105\",\"state\":\"alerting\"");
    nc_wait_metric(&t->w, "ctim_client_redirects_total{result=\"ok\"}", 3);
    nc_ctl(&t->w, "hangup %s%s", "0301111111", NULL);
    s_wait_no_calls(t);

    //  Another application opens 101: the guard stops, calls ring at 101.
    app_t *b = s_app(t, 1);
    s_login(b, "crm", 5000);
    assert_int_equal(s_open(b, "101", NULL), PROTO_RESULT_OK);
    assert_int_equal(nc_metric(&t->w, "ctim_client_guarded_lines"), 0);
    assert_int_equal(nc_monitors(&t->w, "101"), 1);
    nc_ctl(&t->w, "call-in %s %s", "0302222222", "101");
    s_expect_state(b, "101", PROTO_CALL_OFFERING);
    s_wait_calls(t, "\"number\":\"101\",\"state\":\"alerting\"");
    assert_int_equal(nc_metric(&t->w, "ctim_client_redirects_total{result=\"ok\"}"), 3);
    assert_int_equal(nc_metric(&t->w, "ctim_client_failures_total"), 1);
}

//  A failed application's protected line that another session still holds is not guarded:
//  that application takes the calls.
static void test_failure_leaves_line_held_elsewhere(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    app_t *b = s_app(t, 1);
    s_login(a, "crm", 300);
    s_login(b, "crm", 5000);
    assert_int_equal(s_open(a, "103", "105"), PROTO_RESULT_OK);
    assert_int_equal(s_open(b, "103", NULL), PROTO_RESULT_OK);
    nc_wait_metric(&t->w, "ctim_client_failures_total", 1);
    assert_int_equal(nc_metric(&t->w, "ctim_client_guarded_lines"), 0);
    nc_ctl(&t->w, "call-in %s %s", "0303333333", "103");
    s_expect_state(b, "103", PROTO_CALL_OFFERING);
    s_wait_calls(t, "\"number\":\"103\",\"state\":\"alerting\"");
    assert_int_equal(nc_metric(&t->w, "ctim_client_redirects_total{result=\"ok\"}"), 0);
}

//  --- CURVE -------------------------------------------------------------------------------------

//  Nothing comes back to a within ms (a handshake that failed).
static void s_expect_silence(app_t *a, int ms)
{
    proto_client_msg_t m;
    assert_int_equal(s_recv(a, &m, test_now_ms() + ms, true), -ETIMEDOUT);
}

static void test_curve_allowed_clients(void **state)
{
    ct_t *t = *state;
    const char *key = zcert_public_txt(t->server_cert);
    app_t *a = s_connect(t, 0, t->client_cert, key);
    s_login(a, "crm", 5000);
    assert_int_equal(s_open(a, "101", NULL), PROTO_RESULT_OK);

    app_t *plain = s_app(t, 1);
    s_hello(plain, "crm", 5000, NULL);
    s_expect_silence(plain, 1000);
    //  Seen by the node as a mechanism mismatch, or as the peer hanging up mid-handshake.
    assert_true(nc_metric(&t->w, "ctim_client_handshake_failures_total{reason=\"not-curve\"}") +
                    nc_metric(&t->w, "ctim_client_handshake_failures_total{reason=\"io-error\"}") >= 1);

    app_t *wrong = s_connect(t, 2, t->client_cert, zcert_public_txt(t->stranger_cert));
    s_hello(wrong, "crm", 5000, NULL);
    s_expect_silence(wrong, 1000);
    nc_wait_metric(&t->w, "ctim_client_handshake_failures_total{reason=\"wrong-server-key\"}", 1);

    app_t *stranger = s_connect(t, 3, t->stranger_cert, key);
    s_hello(stranger, "crm", 5000, NULL);
    s_expect_silence(stranger, 1000);
    nc_wait_metric(&t->w, "ctim_client_handshake_failures_total{reason=\"client-key-refused\"}", 1);

    assert_int_equal(nc_metric(&t->w, "ctim_client_sessions"), 1);
    nc_wait_http(&t->w, "/status", "\"curve\":true");
    //  The allowed client carries on.
    nc_ctl(&t->w, "call-in %s %s", "0304444444", "101");
    s_expect_state(a, "101", PROTO_CALL_OFFERING);
}

//  curve_clients unset: any client key is accepted (encryption only); plain is not.
static void test_curve_any_client_key(void **state)
{
    ct_t *t = *state;
    const char *key = zcert_public_txt(t->server_cert);
    app_t *a = s_connect(t, 0, t->stranger_cert, key);
    s_login(a, "crm", 5000);
    app_t *plain = s_app(t, 1);
    s_hello(plain, "crm", 5000, NULL);
    s_expect_silence(plain, 1000);
    assert_int_equal(nc_metric(&t->w, "ctim_client_sessions"), 1);
}

//  --- Bad input -----------------------------------------------------------------------------

//  Garbage, an unknown protocol major and a node-only message from one application get
//  Errors; its own session and another application's call carry on.
static void test_bad_input_while_another_session_carries_on(void **state)
{
    ct_t *t = *state;
    app_t *a = s_app(t, 0);
    app_t *b = s_app(t, 1);
    s_login(a, "crm", 5000);
    s_login(b, "desk", 5000);
    assert_int_equal(s_open(b, "104", NULL), PROTO_RESULT_OK);
    nc_ctl(&t->w, "call-in %s %s", "0305555555", "104");
    s_expect_state(b, "104", PROTO_CALL_OFFERING);

    static const uint8_t garbage[] = {0xff, 0x00, 0x13, 0x37, 0x42};
    s_send_raw(a, garbage, sizeof garbage);
    s_expect_error(a, PROTO_RESULT_BAD_REQUEST);
    static const uint8_t major7[] = {0x08, 0x07, 0x52, 0x00};   //  major 7, an empty Hello
    s_send_raw(a, major7, sizeof major7);
    s_expect_error(a, PROTO_RESULT_UNSUPPORTED_VERSION);
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_WELCOME);
    snprintf(m.welcome.session_id, sizeof m.welcome.session_id, "fake");
    s_send(a, &m);
    s_expect_error(a, PROTO_RESULT_BAD_REQUEST);
    zframe_t *two = zframe_new(garbage, 2);
    zmsg_t *multi = zmsg_new();
    zmsg_addmem(multi, garbage, 1);
    zmsg_append(multi, &two);
    assert_int_equal(zmsg_send(&multi, a->sock), 0);
    s_expect_error(a, PROTO_RESULT_BAD_REQUEST);

    nc_ctl(&t->w, "answer %s%s", "104", NULL);
    s_expect_state(b, "104", PROTO_CALL_CONNECTED);
    assert_int_equal(s_open(a, "101", NULL), PROTO_RESULT_OK);   //  a's session too
    assert_int_equal(nc_metric(&t->w, "ctim_client_sessions"), 2);
    s_check_continuous(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resume_replays_missed_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_gap_gives_events_lost_and_snapshot,
                                        setup_small_replay, teardown),
        cmocka_unit_test_setup_teardown(test_open_line_snapshot_from_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_token_gives_new_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader_gets_events_lost, setup_slow_reader,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure_redirects_to_failure_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure_leaves_line_held_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_curve_allowed_clients, setup_curve, teardown),
        cmocka_unit_test_setup_teardown(test_curve_any_client_key, setup_curve_any, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_while_another_session_carries_on, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
