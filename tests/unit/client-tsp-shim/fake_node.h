//  fake_node: a ctim node inside a libctim test -- a czmq ROUTER speaking proto.h (Welcome,
//  ResumeResult, heartbeats, replies, events), with knobs for the failures a test needs and
//  a record of what the library sent.  Also the application's loop the tests drive
//  (poll on ctim_fd with ctim_timeout_ms, then ctim_dispatch), pumping the fake nodes.
//
//  Header-only and static inline, so each test file (one executable each) takes what it uses.
#ifndef FAKE_NODE_H
#define FAKE_NODE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctim.h"
#include "proto.h"

typedef struct fake_node_s fake_node_t;
//  Fill in the payload of the OK reply to req (call id, lines, address, call).
typedef void(fake_reply_fn)(fake_node_t *n, const proto_request_t *req, proto_client_msg_t *out);

struct fake_node_s {
    zsock_t *router;
    char endpoint[64];
    char name[16];
    bool silent;                        //  read and drop everything, answer nothing
    bool reject_login;                  //  answer Hello with Error LOGIN_FAILED
    bool busy_login;                    //  answer Hello with Error BUSY (login queue full)
    bool hold_requests;                 //  take requests, never reply
    bool forgot;                        //  sessions lost (a restart): Error NOT_LOGGED_IN to
                                        //  heartbeats and requests until the next Hello
    zframe_t *peer;                     //  the last client's identity (for events)
    proto_resume_outcome_t resume;      //  answer to a Hello with a token
    proto_result_t result;              //  of every reply (OK unless a test says otherwise)
    fake_reply_fn *on_request;          //  payloads for replies; NULL = none
    proto_op_t last_op;
    proto_request_t last_req;           //  the last request, as decoded
    proto_request_t last_of_op[PROTO_OP_COUNT_];    //  the last request of each operation
    int op_count[PROTO_OP_COUNT_];
    int hellos;
    int hellos_with_token;
    int opens;
    int requests;
    int heartbeats;
    uint64_t last_ack;                  //  last_seq_acked of the last Heartbeat
    uint64_t seq;                       //  last event sequence sent in this session
    char last_open_failure[PROTO_NUMBER_MAX + 1];
    int64_t last_tx;                    //  monotonic ms of the last frame sent
};

//  Bind the ROUTER on a free loopback port; cert (may be NULL) makes it a CURVE server.
static inline void fake_start_curve(fake_node_t *n, const char *name, zcert_t *cert)
{
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(n->router);
    zsock_set_linger(n->router, 0);
    if (cert) {
        zcert_apply(cert, n->router);
        zsock_set_curve_server(n->router, 1);
    }
    int port = zsock_bind(n->router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    snprintf(n->endpoint, sizeof n->endpoint, "tcp://127.0.0.1:%d", port);
    n->resume = PROTO_RESUME_RESUMED;
    n->result = PROTO_RESULT_OK;
}

static inline void fake_start(fake_node_t *n, const char *name)
{
    fake_start_curve(n, name, NULL);
}

//  An endpoint where nothing listens, for as long as the returned fd stays open (close it at
//  the end): the port is bound but not listening, so a connect is refused and no other
//  process (tests run in parallel) can take the port meanwhile -- a freed port could be.
static inline int fake_dead_endpoint(char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(out, cap, "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

static inline void fake_stop(fake_node_t *n)
{
    zframe_destroy(&n->peer);
    zsock_destroy(&n->router);
}

static inline void fake_send(fake_node_t *n, zframe_t *identity, const proto_client_msg_t *m)
{
    static uint8_t buf[PROTO_FRAME_MAX];
    size_t len = 0;
    assert_int_equal(proto_client_encode(m, buf, sizeof buf, &len), 0);
    zmsg_t *out = zmsg_new();
    zmsg_append(out, &(zframe_t *){zframe_dup(identity)});
    zmsg_addmem(out, buf, len);
    assert_int_equal(zmsg_send(&out, n->router), 0);
    n->last_tx = zclock_mono();
}

//  An event to the last client; seq 0 takes the session's next sequence.
static inline void fake_event(fake_node_t *n, proto_event_t *ev)
{
    assert_non_null(n->peer);
    if (ev->seq == 0)
        ev->seq = ++n->seq;
    else if (ev->seq > n->seq)
        n->seq = ev->seq;
    proto_client_msg_t out;
    proto_client_msg_init(&out, PROTO_MSG_EVENT);
    out.event = *ev;
    fake_send(n, n->peer, &out);
}

//  An unsolicited Service event to the last client.
static inline void fake_service_event(fake_node_t *n, const char *line, bool in_service)
{
    proto_event_t ev = {.kind = PROTO_EVENT_SERVICE, .in_service = in_service};
    snprintf(ev.line, sizeof ev.line, "%s", line);
    fake_event(n, &ev);
}

static inline void fake_on_hello(fake_node_t *n, zframe_t *id, const proto_hello_t *h)
{
    proto_client_msg_t out;
    n->hellos++;
    n->forgot = false;
    if (n->reject_login) {
        proto_client_msg_init(&out, PROTO_MSG_ERROR);
        out.error.result = PROTO_RESULT_LOGIN_FAILED;
        snprintf(out.error.text, sizeof out.error.text, "wrong password");
        fake_send(n, id, &out);
        return;
    }
    if (n->busy_login) {
        proto_client_msg_init(&out, PROTO_MSG_ERROR);
        out.error.result = PROTO_RESULT_BUSY;
        snprintf(out.error.text, sizeof out.error.text, "login queue full, try again");
        fake_send(n, id, &out);
        return;
    }
    proto_client_msg_init(&out, PROTO_MSG_WELCOME);
    snprintf(out.welcome.session_id, sizeof out.welcome.session_id, "s-%s", n->name);
    snprintf(out.welcome.resume_token, sizeof out.welcome.resume_token, "tok-%s", n->name);
    out.welcome.heartbeat_ms = h->heartbeat_ms;
    snprintf(out.welcome.node, sizeof out.welcome.node, "%s", n->name);
    fake_send(n, id, &out);
    if (!h->resume_token[0] || n->resume == PROTO_RESUME_NEW_SESSION)
        n->seq = 0;         //  a new session numbers its events from 1
    if (h->resume_token[0]) {
        n->hellos_with_token++;
        proto_client_msg_init(&out, PROTO_MSG_RESUME_RESULT);
        out.resume_result.outcome = n->resume;
        out.resume_result.next_seq = n->seq + 1;
        fake_send(n, id, &out);
    }
}

static inline void fake_on_request(fake_node_t *n, zframe_t *id, const proto_request_t *req)
{
    n->requests++;
    n->last_op = req->op;
    n->last_req = *req;
    if (req->op > PROTO_OP_NONE && req->op < PROTO_OP_COUNT_) {
        n->op_count[req->op]++;
        n->last_of_op[req->op] = *req;
    }
    if (req->op == PROTO_OP_OPEN_LINE) {
        n->opens++;
        snprintf(n->last_open_failure, sizeof n->last_open_failure, "%s",
                 req->open_line.failure_number);
    }
    if (n->hold_requests)
        return;
    proto_client_msg_t out;
    proto_client_msg_init(&out, PROTO_MSG_REPLY);
    out.reply.request_id = req->request_id;
    out.reply.result = n->result;
    snprintf(out.reply.text, sizeof out.reply.text, "done by %s", n->name);
    if (req->op == PROTO_OP_MAKE_CALL)
        snprintf(out.reply.call_id, sizeof out.reply.call_id, "c1");
    if (n->on_request)
        n->on_request(n, req, &out);
    fake_send(n, id, &out);
    proto_client_msg_clear(&out);
    if (req->op == PROTO_OP_MAKE_CALL && n->result == PROTO_RESULT_OK) {
        //  The call the application placed, as the node would report it.
        proto_event_t ev = {.kind = PROTO_EVENT_CALL};
        snprintf(ev.line, sizeof ev.line, "%s", req->target.line);
        snprintf(ev.call.call_id, sizeof ev.call.call_id, "c1");
        ev.call.state = PROTO_CALL_RINGBACK;
        ev.call.direction = PROTO_DIR_OUTGOING;
        snprintf(ev.call.caller_number, sizeof ev.call.caller_number, "%s", req->target.line);
        snprintf(ev.call.called_number, sizeof ev.call.called_number, "%s",
                 req->target.number);
        snprintf(ev.call.called_name, sizeof ev.call.called_name, "Alice");
        fake_event(n, &ev);
    }
}

//  Answer everything waiting on the node's ROUTER.
static inline void fake_pump(fake_node_t *n)
{
    while (zsock_events(n->router) & ZMQ_POLLIN) {
        zmsg_t *in = zmsg_recv(n->router);
        assert_non_null(in);
        zframe_t *id = zmsg_pop(in);
        zframe_t *body = zmsg_pop(in);
        proto_client_msg_t m, out;
        int rc = body ? proto_client_decode(&m, zframe_data(body), zframe_size(body)) : -EBADMSG;
        if (rc == 0 && !n->silent && id) {
            zframe_destroy(&n->peer);
            n->peer = zframe_dup(id);
        }
        if (rc == 0 && !n->silent) {
            switch (m.kind) {
            case PROTO_MSG_HELLO:
                fake_on_hello(n, id, &m.hello);
                break;
            case PROTO_MSG_HEARTBEAT:
                n->heartbeats++;
                n->last_ack = m.heartbeat.last_seq_acked;
                if (n->forgot) {
                    proto_client_msg_init(&out, PROTO_MSG_ERROR);
                    out.error.result = PROTO_RESULT_NOT_LOGGED_IN;
                    snprintf(out.error.text, sizeof out.error.text, "send Hello first");
                } else {
                    proto_client_msg_init(&out, PROTO_MSG_HEARTBEAT);
                    out.heartbeat.sent_ms = (uint64_t)zclock_mono();
                }
                fake_send(n, id, &out);
                break;
            case PROTO_MSG_REQUEST:
                fake_on_request(n, id, &m.request);
                break;
            default:
                break;
            }
        }
        if (rc == 0)
            proto_client_msg_clear(&m);
        zframe_destroy(&id);
        zframe_destroy(&body);
        zmsg_destroy(&in);
    }
}

//  --- The application's side ----------------------------------------------------------------

//  A configuration for user "app" (password "secret") at servers with heartbeat_ms and the
//  callbacks' arg; the test adds its callbacks.
static inline void fake_cfg(ctim_cfg_t *cfg, const char *servers, uint32_t heartbeat_ms, void *arg)
{
    ctim_cfg_init(cfg);
    cfg->servers = servers;
    cfg->user = "app";
    cfg->password = "secret";
    cfg->heartbeat_ms = heartbeat_ms;
    cfg->arg = arg;
}

typedef struct app_s app_t;     //  what the application saw: each test file has its own
typedef bool(cond_fn)(app_t *app, void *arg);

//  Run the application's loop (and the fake nodes) until cond holds or timeout_ms passes.
static inline bool fake_run_until(ctim_t *c, fake_node_t *const *nodes, size_t node_count,
                                  app_t *app, cond_fn *cond, void *arg, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    for (;;) {
        for (size_t i = 0; i < node_count; i++)
            fake_pump(nodes[i]);
        ctim_dispatch(c);
        if (cond && cond(app, arg))
            return true;
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return false;
        zmq_pollitem_t items[5] = {{.fd = ctim_fd(c), .events = ZMQ_POLLIN}};
        int n = 1;
        for (size_t i = 0; i < node_count && i < 4; i++)
            items[n++] = (zmq_pollitem_t){.socket = zsock_resolve(nodes[i]->router),
                                          .events = ZMQ_POLLIN};
        int wait = ctim_timeout_ms(c);
        if (wait < 0 || wait > left)
            wait = (int)left;
        zmq_poll(items, n, wait);
    }
}

#endif
