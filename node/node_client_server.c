//  node_client_server: the client API front end (see the header).  One ROUTER socket on
//  the zloop; sessions keyed by the ROUTER identity; requests and watches go to node_pbx.
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "csta.h"
#include "node_client_calls.h"
#include "node_client_ops.h"
#include "node_client_server.h"
#include "node_lines.h"
#include "node_log.h"
#include "node_numfmt.h"
#include "proto.h"

#define S_SUB "client"
#define S_IDENTITY_MAX 256          //  ZeroMQ routing ids are at most 255 bytes
#define S_LINES_MAX 1024            //  lines one session may open
#define S_TICK_MS 25                //  heartbeat check granularity: failure is this late at most
#define S_OUT_MAX PROTO_FRAME_MAX   //  an encoded frame (list_lines replies can be long)
#define S_BURST 64                  //  frames read per wake-up before other sockets get a turn

typedef struct s_session s_session_t;

//  One line a session opened: a node_pbx watch.  `active` once the PBX monitors it.
typedef struct {
    node_client_server_t *server;   //  lines die before their server: a pointer is safe
    s_session_t *session;
    char number[PROTO_NUMBER_MAX + 1];
    node_pbx_watch_t *watch;
    uint32_t open_request_id;       //  the OpenLine still waiting for the watch's done
    bool active;
    char failure_number[PROTO_NUMBER_MAX + 1];  //  OpenLine's call-forward-on-failure
    node_client_calls_t *calls;     //  the calls at the line as the application sees them
    bool snapshot;                  //  call events now going out are a snapshot
    bool out_of_service;            //  the PBX said OutOfService (until BackInService)
} s_line_t;

struct s_session {
    uint64_t id;
    uint8_t identity[S_IDENTITY_MAX];
    size_t identity_len;
    char peer[64];
    char user[PROTO_NAME_MAX + 1];
    int user_index;
    uint32_t heartbeat_ms;
    int64_t last_rx_ms, last_tx_ms;
    uint64_t seq;                   //  last event sequence sent
    s_line_t **lines;
    size_t line_count, line_cap;
};

//  What a request at the PBX is for: an application's request (one Reply when the last of
//  its invokes is answered), the snapshot of a line (no Reply), or the node's own (a StopCDR
//  for an owner that left: the answer is only logged).
typedef enum { S_REQ_OP, S_REQ_SNAPSHOT, S_REQ_QUIET } s_req_kind_t;

//  A request at the PBX.  Its reply comes exactly once, possibly after the session or
//  even the server went (server NULL then): it carries the session id, never a pointer.
typedef struct s_req {
    node_client_server_t *server;
    uint64_t session_id;
    uint32_t request_id;
    proto_op_t op;
    s_req_kind_t kind;
    int step;                       //  which of the operation's invokes is at the PBX
    proto_request_t rq;             //  the request (S_REQ_SNAPSHOT: rq.line.line)
    proto_reply_t reply;            //  the payload gathered so far (no line list)
    struct s_req *prev, *next;
} s_req_t;

//  CDR ownership of this front end (node_pbx_cdr_claim's owner, node_pbx's followup arg for
//  the CDR reports): one session at a time.  Separate from the server because a StartCDR
//  may still owe its answer when the server goes (server NULL then; the answer frees it).
typedef struct {
    node_client_server_t *server;
    node_pbx_t *pbx;
    uint64_t owner;                 //  the owning session, 0 none
    bool pending;                   //  the owner's StartCDR is at the PBX
    uint32_t pending_request_id;
    bool started;                   //  the PBX sends CDR reports
    uint8_t xref[CSTA_XREF_MAX];    //  cdrCrossRefID for the StopCDR
    size_t xref_len;
} s_cdr_t;

struct node_client_server {
    zloop_t *loop;
    const node_client_api_cfg_t *cfg;
    node_users_t *users;
    node_pbx_t *pbx;
    int request_timeout_ms;
    char node_id[PROTO_NAME_MAX + 1];
    zsock_t *router;
    int port;
    int tick_id;
    s_session_t **sessions;
    size_t count, cap;
    uint64_t next_session_id;
    s_req_t *reqs;                  //  outstanding requests
    zhashx_t *watches;              //  node_pbx_watch_t * -> s_line_t *: ours, for routing
    const node_numfmt_t *numfmt;    //  number rules and names (borrowed; may be NULL)
    const node_lines_t *lines;
    s_cdr_t *cdr;                   //  made by the first set_cdr
    uint8_t *out;
    node_metric_t *m_sessions, *m_failures, *m_logins, *m_bad_input, *m_requests, *m_events;
};

//  --- Helpers ------------------------------------------------------------------------------

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_count(node_metric_t *m, const char *a, const char *b)
{
    if (m)
        node_metric_add(m, (const char *[]){a, b}, 1);
}

static void s_hex(const uint8_t *bytes, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < len && j + 2 < cap; i++) {
        out[j++] = digits[bytes[i] >> 4];
        out[j++] = digits[bytes[i] & 15];
    }
    out[j] = '\0';
}

static s_session_t *s_session_by_identity(node_client_server_t *self, const uint8_t *id,
                                          size_t len)
{
    for (size_t i = 0; i < self->count; i++) {
        s_session_t *s = self->sessions[i];
        if (s->identity_len == len && memcmp(s->identity, id, len) == 0)
            return s;
    }
    return NULL;
}

static s_session_t *s_session_by_id(node_client_server_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->sessions[i]->id == id)
            return self->sessions[i];
    return NULL;
}

static s_line_t *s_line_find(s_session_t *s, const char *number, size_t *index)
{
    for (size_t i = 0; i < s->line_count; i++)
        if (strcmp(s->lines[i]->number, number) == 0) {
            if (index)
                *index = i;
            return s->lines[i];
        }
    return NULL;
}

//  --- Sending -------------------------------------------------------------------------------

//  Encode m and send it to identity.  ROUTER never blocks: a peer that is gone or whose
//  queue is full loses the frame (ZeroMQ's high-water mark), nobody else notices.
static void s_send_to(node_client_server_t *self, const uint8_t *identity, size_t identity_len,
                      const proto_client_msg_t *m)
{
    size_t n = 0;
    int rc = proto_client_encode(m, self->out, S_OUT_MAX, &n);
    if (rc) {
        node_error(S_SUB, "cannot encode a %s: %s", proto_msg_kind_str(m->kind), strerror(-rc));
        return;
    }
    zmsg_t *msg = zmsg_new();
    if (!msg || zmsg_addmem(msg, identity, identity_len) || zmsg_addmem(msg, self->out, n) ||
        zmsg_send(&msg, self->router))
        node_debug(S_SUB, "a %s was not sent: %s", proto_msg_kind_str(m->kind), strerror(errno));
    zmsg_destroy(&msg);
}

static void s_send(node_client_server_t *self, s_session_t *s, const proto_client_msg_t *m)
{
    s_send_to(self, s->identity, s->identity_len, m);
    s->last_tx_ms = s_now_ms();
}

static void s_send_error(node_client_server_t *self, const uint8_t *identity, size_t len,
                         proto_result_t result, const char *text)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_ERROR);
    m.error.result = result;
    m.error.supported_major = PROTO_VERSION_MAJOR;
    snprintf(m.error.text, sizeof m.error.text, "%s", text);
    s_send_to(self, identity, len, &m);
}

static void s_reply(node_client_server_t *self, s_session_t *s, uint32_t request_id,
                    proto_op_t op, proto_result_t result, const char *text, const char *call_id)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    m.reply.request_id = request_id;
    m.reply.result = result;
    snprintf(m.reply.text, sizeof m.reply.text, "%s", text ? text : "");
    if (call_id)
        snprintf(m.reply.call_id, sizeof m.reply.call_id, "%s", call_id);
    s_send(self, s, &m);
    s_count(self->m_requests, proto_op_str(op), proto_result_str(result));
}

//  --- Sessions ------------------------------------------------------------------------------

static void s_line_free(node_client_server_t *self, s_line_t **line_p)
{
    s_line_t *line = *line_p;
    if (!line)
        return;
    if (line->watch)
        zhashx_delete(self->watches, line->watch);
    if (line->watch && self->pbx)
        node_pbx_unwatch(self->pbx, &line->watch);
    node_client_calls_destroy(&line->calls);
    free(line);
    *line_p = NULL;
}

static void s_line_remove(node_client_server_t *self, s_session_t *s, size_t index)
{
    s_line_free(self, &s->lines[index]);
    s->lines[index] = s->lines[--s->line_count];
}

//  Close session number i: its watches go (the PBX monitor with the last one); requests
//  still at the PBX find no session when they are answered.
static void s_cdr_session_gone(node_client_server_t *self, s_session_t *s);

static void s_session_close(node_client_server_t *self, size_t i, const char *reason)
{
    s_session_t *s = self->sessions[i];
    s_cdr_session_gone(self, s);
    node_info(S_SUB, "session closed session=%" PRIu64 " user=%s reason=%s lines=%zu", s->id,
              s->user, reason, s->line_count);
    for (size_t j = 0; j < s->line_count; j++)
        s_line_free(self, &s->lines[j]);
    free(s->lines);
    free(s);
    self->sessions[i] = self->sessions[--self->count];
    if (self->m_sessions)
        node_metric_set(self->m_sessions, NULL, (double) self->count);
}

static void s_session_close_ptr(node_client_server_t *self, s_session_t *s, const char *reason)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->sessions[i] == s) {
            s_session_close(self, i, reason);
            return;
        }
}

//  --- Replies and events ----------------------------------------------------------------------

//  Send a Reply built by the caller (request_id, result, text and payload set).
static void s_reply_msg(node_client_server_t *self, s_session_t *s, proto_op_t op,
                        proto_client_msg_t *m)
{
    s_send(self, s, m);
    s_count(self->m_requests, proto_op_str(op), proto_result_str(m->reply.result));
}

//  An Event with the session's next sequence number.
static void s_send_event(node_client_server_t *self, s_session_t *s, proto_client_msg_t *m)
{
    m->event.seq = ++s->seq;
    s_send(self, s, m);
    if (self->m_events)
        node_metric_add(self->m_events, NULL, 1);
}

static void s_event_init(proto_client_msg_t *m, const s_line_t *line, proto_event_kind_t kind)
{
    proto_client_msg_init(m, PROTO_MSG_EVENT);
    m->event.kind = kind;
    snprintf(m->event.line, sizeof m->event.line, "%s", line->number);
}

//  node_client_calls' emit: a call changed state at the line.
static void s_emit_call(void *arg, const proto_call_info_t *info)
{
    s_line_t *line = arg;
    proto_client_msg_t m;
    s_event_init(&m, line, PROTO_EVENT_CALL);
    m.event.snapshot = line->snapshot;
    m.event.call = *info;
    s_send_event(line->server, line->session, &m);
}

static bool s_in_service(const node_client_server_t *self, const s_line_t *line)
{
    return self->pbx && node_pbx_state(self->pbx) == NODE_PBX_UP && !line->out_of_service;
}

//  --- Events ----------------------------------------------------------------------------------

//  A CSTAEventReport of a watched line: call events through the line's call model
//  (node_client_calls.h has the mapping); device feature events as their own Events:
//  Forwarding (ECMA-269 22.2.11) as forwarding, DoNotDisturb as do_not_disturb,
//  OutOfService / BackInService as in_service.
static void s_on_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg, const uint8_t *apdu,
                       size_t len, const csta_peek_t *keys)
{
    (void) watch_arg;
    (void) keys;
    node_client_server_t *self = ctx;
    //  The watch, not watch_arg, says whose event this is: the CSTA front end's watch_args
    //  are tokens, not lines.
    s_line_t *line = zhashx_lookup(self->watches, watch);
    if (!line || !line->active)
        return;
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len) != 0) {
        node_info(S_SUB, "an event for line %s does not parse", line->number);
        return;
    }
    if (a.kind != CSTA_APDU_INVOKE || a.opcode != CSTA_OP_EVENT_REPORT) {
        csta_apdu_clear(&a);
        return;
    }
    const csta_event_t *e = &a.event;
    proto_client_msg_t m;
    node_debug(S_SUB, "line %s: %s", line->number, csta_event_name(e->type));
    switch (e->type) {
    case CSTA_EV_FORWARDING: {
        proto_fwd_mode_t mode = node_client_ops_fwd_mode(
            e->forwarding.has_forwarding_type ? e->forwarding.forwarding_type : CSTA_FWD_IMMEDIATE);
        if (mode == PROTO_FWD_UNSPECIFIED)
            break;  //  forwarding on do-not-disturb: not one of the protocol's nine modes
        s_event_init(&m, line, PROTO_EVENT_FORWARDING);
        m.event.forwarding.mode = mode;
        m.event.forwarding.on = e->forwarding.forward_status;
        if (e->forwarding.forward_status && e->forwarding.forward_to.kind != CSTA_DEV_ABSENT)
            snprintf(m.event.forwarding.destination, sizeof m.event.forwarding.destination, "%s",
                     e->forwarding.forward_to.digits);
        s_send_event(self, line->session, &m);
        break;
    }
    case CSTA_EV_DO_NOT_DISTURB:
        s_event_init(&m, line, PROTO_EVENT_DO_NOT_DISTURB);
        m.event.do_not_disturb = e->do_not_disturb.do_not_disturb_on;
        s_send_event(self, line->session, &m);
        break;
    case CSTA_EV_OUT_OF_SERVICE:
    case CSTA_EV_BACK_IN_SERVICE:
        line->out_of_service = e->type == CSTA_EV_OUT_OF_SERVICE;
        s_event_init(&m, line, PROTO_EVENT_SERVICE);
        m.event.in_service = s_in_service(self, line);
        s_send_event(self, line->session, &m);
        break;
    default:
        node_client_calls_event(line->calls, e, s_emit_call, line);
        break;
    }
    csta_apdu_clear(&a);
}

static void s_snapshot_line(node_client_server_t *self, s_session_t *s, s_line_t *line);

//  The link went down or came back: every open line is out of / back in service.  Back
//  up, each line is snapshotted: calls that ended while the link was down go idle.
static void s_on_state(void *ctx, node_pbx_state_t state)
{
    node_client_server_t *self = ctx;
    for (size_t i = 0; i < self->count; i++) {
        s_session_t *s = self->sessions[i];
        for (size_t j = 0; j < s->line_count; j++) {
            if (!s->lines[j]->active)
                continue;
            proto_client_msg_t m;
            proto_client_msg_init(&m, PROTO_MSG_EVENT);
            m.event.seq = ++s->seq;
            m.event.kind = PROTO_EVENT_SERVICE;
            m.event.in_service = state == NODE_PBX_UP;
            snprintf(m.event.line, sizeof m.event.line, "%s", s->lines[j]->number);
            s_send(self, s, &m);
            if (state == NODE_PBX_UP)
                s_snapshot_line(self, s, s->lines[j]);
        }
    }
}

//  The PBX's SystemStatus reaches the applications as in_service (on_state); a
//  SwitchingFunctionDevicesChanged changes names, which node_pbx_lines learns: nothing to
//  forward to client applications.
static void s_on_broadcast(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) ctx;
    (void) apdu;
    (void) len;
    node_debug(S_SUB, "broadcast %s not forwarded to client applications",
               csta_op_name(keys->opcode));
}

//  --- Requests at the PBX ---------------------------------------------------------------------

static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len);

//  Send an invoke for req (which the reply frees).  Returns 0 or a negative errno (req is
//  then the caller's).
static int s_pbx_send(node_client_server_t *self, s_req_t *req, const csta_apdu_t *a)
{
    uint8_t buf[1024];
    size_t n = 0;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &n);
    if (rc == 0)
        rc = node_pbx_request(self->pbx, buf, n, self->request_timeout_ms, s_on_reply, NULL, req);
    if (rc == 0) {
        req->server = self;
        req->prev = NULL;
        req->next = self->reqs;
        if (self->reqs)
            self->reqs->prev = req;
        self->reqs = req;
    }
    return rc;
}

static s_req_t *s_req_new(const s_session_t *s, s_req_kind_t kind, const proto_request_t *rq)
{
    s_req_t *req = calloc(1, sizeof *req);
    if (req) {
        req->kind = kind;
        req->session_id = s ? s->id : 0;
        if (rq) {
            req->rq = *rq;
            req->request_id = rq->request_id;
            req->op = rq->op;
        }
    }
    return req;
}

//  SnapshotDevice of an active line (ECMA-269 SnapshotDevice): its answer brings the calls
//  at the line now into its call model, as snapshot events.
static void s_snapshot_line(node_client_server_t *self, s_session_t *s, s_line_t *line)
{
    if (!self->pbx)
        return;
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&a.svc.snapshot_device.snapshot_object, line->number);
    s_req_t *req = s_req_new(s, S_REQ_SNAPSHOT, NULL);
    if (req)
        snprintf(req->rq.line.line, sizeof req->rq.line.line, "%s", line->number);
    int rc = req ? s_pbx_send(self, req, &a) : -ENOMEM;
    if (rc) {
        free(req);
        node_info(S_SUB, "session=%" PRIu64 " line %s: no snapshot: %s", s->id, line->number,
                  strerror(-rc));
    }
}

static void s_on_snapshot(node_client_server_t *self, s_req_t *req, int status,
                          const uint8_t *apdu, size_t len)
{
    s_session_t *s = s_session_by_id(self, req->session_id);
    s_line_t *line = s ? s_line_find(s, req->rq.line.line, NULL) : NULL;
    csta_apdu_t a;
    if (!line || !line->active || status != 0 || csta_apdu_decode(&a, apdu, len) != 0) {
        if (line)
            node_info(S_SUB, "session=%" PRIu64 " line %s: snapshot failed: %s", s->id,
                      line->number, status ? strerror(-status) : "bad answer");
        return;
    }
    if (a.kind == CSTA_APDU_RESULT && a.has_result && !a.no_data) {
        if (a.svc.snapshot_device_res.is_xref)
            node_info(S_SUB, "line %s: the PBX sends the snapshot in segments, which the "
                      "client API does not read; events will tell the calls", line->number);
        line->snapshot = true;
        node_client_calls_snapshot(line->calls, &a.svc.snapshot_device_res, s_emit_call, line);
        line->snapshot = false;
    } else if (a.kind != CSTA_APDU_RESULT) {
        node_info(S_SUB, "session=%" PRIu64 " line %s: the PBX refused the snapshot (%s)",
                  s->id, line->number, csta_apdu_kind_str(a.kind));
    }
    csta_apdu_clear(&a);
}

//  What an application's request changed in the line's call model once answered.
static void s_after(node_client_server_t *self, s_session_t *s, const s_req_t *req,
                    proto_result_t r)
{
    (void) self;
    if (req->op != PROTO_OP_SETUP_TRANSFER || r == PROTO_RESULT_OK)
        return;
    s_line_t *line = s_line_find(s, req->rq.target.line, NULL);
    if (line)   //  no consultation: a later Held is a plain hold
        node_client_calls_consultation(line->calls, req->rq.target.call_id, false);
}

static void s_on_op_reply(node_client_server_t *self, s_req_t *req, int status,
                          const uint8_t *apdu, size_t len)
{
    s_session_t *s = s_session_by_id(self, req->session_id);
    if (!s)
        return;     //  the session is gone: nobody to answer
    proto_result_t r = node_client_ops_answer(&req->rq, req->step, status, apdu, len, &req->reply);
    if (r == PROTO_RESULT_OK && req->step + 1 < node_client_ops_invokes(req->op) && self->pbx) {
        //  The operation's next invoke (get_address_status: GetDoNotDisturb).
        s_req_t *next = s_req_new(s, S_REQ_OP, &req->rq);
        csta_apdu_t a;
        char text[PROTO_TEXT_MAX + 1];
        if (next) {
            next->step = req->step + 1;
            next->reply = req->reply;
            r = node_client_ops_build(&next->rq, next->step, NULL, &a, text, sizeof text);
            int rc = r == PROTO_RESULT_OK ? s_pbx_send(self, next, &a) : 0;
            if (r == PROTO_RESULT_OK && rc == 0)
                return;     //  that one answers the application
            if (rc)
                r = node_client_ops_status(rc);
            snprintf(req->reply.text, sizeof req->reply.text, "%s",
                     rc ? strerror(-rc) : text);
            free(next);
        } else {
            r = PROTO_RESULT_ERROR;
            snprintf(req->reply.text, sizeof req->reply.text, "out of memory");
        }
    }
    s_after(self, s, req, r);
    if (r != PROTO_RESULT_OK)
        node_info(S_SUB, "session=%" PRIu64 " request=%" PRIu32 " %s: %s: %s", s->id,
                  req->request_id, proto_op_str(req->op), proto_result_str(r), req->reply.text);
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    m.reply = req->reply;
    m.reply.lines = NULL;
    m.reply.line_count = m.reply.line_cap = 0;
    m.reply.request_id = req->request_id;
    m.reply.result = r;
    if (r != PROTO_RESULT_OK) {
        m.reply.call_id[0] = '\0';
        m.reply.has_address = m.reply.has_call = false;
    } else if (m.reply.has_address) {
        s_line_t *line = s_line_find(s, req->rq.line.line, NULL);
        m.reply.address.in_service = line && s_in_service(self, line);
    }
    s_reply_msg(self, s, req->op, &m);
}

static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_req_t *req = arg;
    node_client_server_t *self = req->server;
    if (self) {
        if (req->prev)
            req->prev->next = req->next;
        else
            self->reqs = req->next;
        if (req->next)
            req->next->prev = req->prev;
        if (req->kind == S_REQ_OP)
            s_on_op_reply(self, req, status, apdu, len);
        else if (req->kind == S_REQ_SNAPSHOT)
            s_on_snapshot(self, req, status, apdu, len);
        else if (status)
            node_info(S_SUB, "%s for a session that left: %s", proto_op_str(req->op),
                      strerror(-status));
    }
    free(req);
}

//  --- Lines ---------------------------------------------------------------------------------

static void s_line_info(const node_client_server_t *self, const char *number,
                        const s_line_t *line, proto_line_info_t *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->line, sizeof info->line, "%s", number);
    const char *name = self->lines ? node_lines_name(self->lines, number) : NULL;
    snprintf(info->name, sizeof info->name, "%s", name ? name : "");
    info->open = line && line->active;
    info->in_service = line ? s_in_service(self, line)
                            : self->pbx && node_pbx_state(self->pbx) == NODE_PBX_UP;
    if (line)
        snprintf(info->failure_number, sizeof info->failure_number, "%s",
                 line->failure_number);
}

static void s_on_watch_done(void *watch_arg, int status, const uint8_t *error_apdu, size_t len)
{
    s_line_t *line = watch_arg;
    s_session_t *s = line->session;
    node_client_server_t *self = line->server;
    uint32_t rid = line->open_request_id;
    line->open_request_id = 0;
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    m.reply.request_id = rid;
    if (status == 0 || status == -ENOTCONN) {
        //  OK with the line opened, then the calls at it now as snapshot events, so that
        //  an application can act on a call that was ringing before it opened the line.
        //  With the PBX link down the line opens all the same, out of service (as a TAPI
        //  line does): node_pbx keeps the watch and monitors the device when the link
        //  returns, and on_state then reports the line in service with a snapshot.  An
        //  application failing over to a node whose link is still coming up keeps its lines.
        line->active = true;
        proto_line_info_t info;
        s_line_info(self, line->number, line, &info);
        m.reply.result = PROTO_RESULT_OK;
        if (status)
            snprintf(m.reply.text, sizeof m.reply.text, "%s",
                     "open, out of service until the PBX link is up");
        if (proto_client_msg_add_line(&m, &info) != 0)
            node_warning(S_SUB, "open line %s: reply without its line info", line->number);
        s_reply_msg(self, s, PROTO_OP_OPEN_LINE, &m);
        proto_client_msg_clear(&m);
        if (status == 0)
            s_snapshot_line(self, s, line);
        return;
    }
    proto_request_t rq = {.op = PROTO_OP_OPEN_LINE, .request_id = rid};
    proto_result_t r = node_client_ops_answer(&rq, 0, status, error_apdu, len, &m.reply);
    m.reply.result = r == PROTO_RESULT_OK ? PROTO_RESULT_ERROR : r;
    node_info(S_SUB, "session=%" PRIu64 " open line %s failed: %s", s->id, line->number,
              m.reply.text);
    size_t index;
    if (s_line_find(s, line->number, &index) == line)
        s_line_remove(self, s, index);  //  unwatch from inside done: allowed (node_pbx.h)
    s_reply_msg(self, s, PROTO_OP_OPEN_LINE, &m);
}

static void s_open_line(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    const char *number = rq->open_line.line;
    if (!*number) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_BAD_REQUEST, "no line", NULL);
        return;
    }
    if (s_line_find(s, number, NULL)) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_OK, "already open", NULL);
        return;
    }
    csta_device_t dev;
    csta_device_set(&dev, number);
    if (!node_users_may_use(self->users, s->user_index, &dev)) {
        node_warning(S_SUB, "session=%" PRIu64 " user=%s may not use line %s", s->id, s->user,
                     number);
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_ACCESS_DENIED,
                "the line is not among the user's devices", NULL);
        return;
    }
    if (!self->pbx) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINK_DOWN, "no PBX", NULL);
        return;
    }
    if (s->line_count == S_LINES_MAX) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_RESOURCE_UNAVAILABLE,
                "too many lines open", NULL);
        return;
    }
    if (s->line_count == s->line_cap) {
        size_t cap = s->line_cap ? s->line_cap * 2 : 8;
        s_line_t **lines = realloc(s->lines, cap * sizeof *lines);
        if (!lines) {
            s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_ERROR, "out of memory", NULL);
            return;
        }
        s->lines = lines;
        s->line_cap = cap;
    }
    s_line_t *line = calloc(1, sizeof *line);
    if (line) {
        line->server = self;
        line->session = s;
        snprintf(line->number, sizeof line->number, "%s", number);
        snprintf(line->failure_number, sizeof line->failure_number, "%s",
                 rq->open_line.failure_number);
        line->open_request_id = rq->request_id;
        line->calls = node_client_calls_new(number, self->numfmt, self->lines);
        line->watch = line->calls ? node_pbx_watch(self->pbx, &dev, s_on_watch_done, line) : NULL;
    }
    if (!line || !line->watch) {
        if (line)
            node_client_calls_destroy(&line->calls);
        free(line);
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_INVALID_LINE,
                "not a line number", NULL);
        return;
    }
    if (zhashx_insert(self->watches, line->watch, line) != 0) {
        node_pbx_unwatch(self->pbx, &line->watch);
        node_client_calls_destroy(&line->calls);
        free(line);
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_ERROR, "out of memory", NULL);
        return;
    }
    s->lines[s->line_count++] = line;   //  the reply comes with the watch's done
}

static void s_close_line(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    size_t index;
    if (!s_line_find(s, rq->line.line, &index)) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINE_NOT_OPEN, NULL, NULL);
        return;
    }
    //  An OpenLine still waiting is answered first, so every request gets its reply.
    uint32_t pending = s->lines[index]->open_request_id;
    s_line_remove(self, s, index);
    if (pending)
        s_reply(self, s, pending, PROTO_OP_OPEN_LINE, PROTO_RESULT_INTERRUPTED,
                "closed before the PBX answered", NULL);
    s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_OK, NULL, NULL);
}

//  list_lines: every line the user may use (node_lines: the configured lines and those
//  learned from the PBX's device list, then any open line they lack), with name, whether
//  this session has it open, in service, and its failure number.
static void s_list_lines(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    m.reply.request_id = rq->request_id;
    m.reply.result = PROTO_RESULT_OK;
    int rc = 0;
    size_t total = self->lines ? node_lines_count(self->lines) : 0;
    for (size_t i = 0; i < total && rc == 0; i++) {
        const node_line_cfg_t *l = node_lines_at(self->lines, i);
        csta_device_t dev;
        csta_device_set(&dev, l->number);
        if (!node_users_may_use(self->users, s->user_index, &dev))
            continue;
        proto_line_info_t info;
        s_line_info(self, l->number, s_line_find(s, l->number, NULL), &info);
        rc = proto_client_msg_add_line(&m, &info);
    }
    for (size_t i = 0; i < s->line_count && rc == 0; i++) {
        const s_line_t *line = s->lines[i];
        if (self->lines && node_lines_name(self->lines, line->number))
            continue;   //  listed above
        proto_line_info_t info;
        s_line_info(self, line->number, line, &info);
        rc = proto_client_msg_add_line(&m, &info);
    }
    if (rc == -EMSGSIZE)
        snprintf(m.reply.text, sizeof m.reply.text, "the first %d lines only", PROTO_LINES_MAX);
    else if (rc) {
        proto_client_msg_clear(&m);
        proto_client_msg_init(&m, PROTO_MSG_REPLY);
        m.reply.request_id = rq->request_id;
        m.reply.result = PROTO_RESULT_ERROR;
        snprintf(m.reply.text, sizeof m.reply.text, "out of memory");
    }
    s_reply_msg(self, s, rq->op, &m);
    proto_client_msg_clear(&m);
}

//  --- CDR ------------------------------------------------------------------------------------

static s_cdr_t *s_cdr(node_client_server_t *self)
{
    if (!self->cdr) {
        self->cdr = calloc(1, sizeof *self->cdr);
        if (self->cdr) {
            self->cdr->server = self;
            self->cdr->pbx = self->pbx;
        }
    }
    return self->cdr;
}

//  Give the claim back (no more CDR reports reach this front end).
static void s_cdr_release(s_cdr_t *cdr)
{
    if (cdr->pbx)
        node_pbx_cdr_release(cdr->pbx, cdr);
    cdr->owner = 0;
    cdr->started = false;
    cdr->xref_len = 0;
}

//  StopCallDetailRecordsTransmission for the transmission this front end started.  With a
//  session and request the answer goes to that application; without, it is only logged.
static int s_cdr_stop(node_client_server_t *self, s_cdr_t *cdr, s_session_t *s,
                      const proto_request_t *rq)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;
    a.opcode = CSTA_OP_STOP_CDR;
    a.svc.stop_call_detail_records_transmission.cdr_xref = (csta_bytes_t){cdr->xref, cdr->xref_len};
    s_req_t *req = s_req_new(s, rq ? S_REQ_OP : S_REQ_QUIET, rq);
    if (req && !rq)
        req->op = PROTO_OP_SET_CDR;
    int rc = req ? s_pbx_send(self, req, &a) : -ENOMEM;
    if (rc)
        free(req);
    s_cdr_release(cdr);
    return rc;
}

//  A CallDetailRecordsReport (ECMA-269 CDR services): one Event.cdr per record, to the
//  owning session only.  node_pbx has acknowledged it to the PBX.
static void s_on_cdr_report(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) keys;
    s_cdr_t *cdr = arg;
    node_client_server_t *self = cdr->server;
    s_session_t *s = self ? s_session_by_id(self, cdr->owner) : NULL;
    csta_apdu_t a;
    if (!s || !cdr->started || csta_apdu_decode(&a, apdu, len) != 0)
        return;
    if (a.kind == CSTA_APDU_INVOKE && a.opcode == CSTA_OP_CDR_REPORT) {
        const csta_cdr_info_t *info = &a.svc.call_detail_records_report.cdr_info;
        for (size_t i = 0; i < info->count; i++) {
            const csta_cdr_record_t *rec = &info->item[i];
            proto_client_msg_t m;
            proto_client_msg_init(&m, PROTO_MSG_EVENT);
            m.event.kind = PROTO_EVENT_CDR;
            if (rec->charged_device.kind == CSTA_DEV_DIALING)
                snprintf(m.event.line, sizeof m.event.line, "%s", rec->charged_device.digits);
            node_client_ops_cdr(rec, self->numfmt, self->lines, &m.event.cdr);
            s_send_event(self, s, &m);
        }
    }
    csta_apdu_clear(&a);
}

static void s_on_cdr_started(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_cdr_t *cdr = arg;
    node_client_server_t *self = cdr->server;
    cdr->pending = false;
    if (!self) {
        //  The server went while the StartCDR was out: give the claim back, and go.
        if (cdr->pbx)
            node_pbx_cdr_release(cdr->pbx, cdr);
        free(cdr);
        return;
    }
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    m.reply.request_id = cdr->pending_request_id;
    proto_request_t rq = {.op = PROTO_OP_SET_CDR};
    proto_result_t r = node_client_ops_answer(&rq, 0, status, apdu, len, &m.reply);
    s_session_t *s = s_session_by_id(self, cdr->owner);
    if (r == PROTO_RESULT_OK) {
        csta_apdu_t a;
        if (csta_apdu_decode(&a, apdu, len) == 0) {
            const csta_bytes_t *x = &a.svc.start_call_detail_records_transmission_res.cdr_xref;
            cdr->xref_len = a.has_result && !a.no_data && x->data && x->len <= sizeof cdr->xref
                                ? x->len
                                : 0;
            if (cdr->xref_len)
                memcpy(cdr->xref, x->data, x->len);
            csta_apdu_clear(&a);
        }
        cdr->started = true;
        if (!s) {
            s_cdr_stop(self, cdr, NULL, NULL);  //  the owner left meanwhile
            return;
        }
        node_info(S_SUB, "session=%" PRIu64 " user=%s owns CDR transmission", s->id, s->user);
    } else {
        s_cdr_release(cdr);
    }
    m.reply.result = r;
    if (s)
        s_reply_msg(self, s, PROTO_OP_SET_CDR, &m);
}

//  set_cdr: claim (node_pbx_cdr_claim, shared with the CSTA front end) and
//  StartCallDetailRecordsTransmission at end of call, or stop and give it back.
static void s_set_cdr(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    s_cdr_t *cdr = s_cdr(self);
    const char *why = NULL;
    proto_result_t r = PROTO_RESULT_BUSY;
    if (!self->pbx)
        r = PROTO_RESULT_LINK_DOWN, why = "no PBX";
    else if (!cdr)
        r = PROTO_RESULT_ERROR, why = "out of memory";
    else if (cdr->pending)
        why = "a CDR claim is in progress";
    else if (!rq->flag.on) {
        r = PROTO_RESULT_OK;
        if (cdr->owner != s->id)
            why = "this session does not own CDR";
        else if (cdr->started && s_cdr_stop(self, cdr, s, rq) == 0)
            return;     //  the StopCDR's answer is the reply
        else
            s_cdr_release(cdr);
    } else if (cdr->owner == s->id)
        r = PROTO_RESULT_OK, why = "already owns CDR";
    else if (cdr->owner || node_pbx_cdr_claim(self->pbx, cdr) != 0)
        why = "another application owns CDR";
    else {
        csta_apdu_t a;
        csta_apdu_init(&a, CSTA_APDU_INVOKE);
        a.invoke_id = 1;
        a.opcode = CSTA_OP_START_CDR;
        a.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
        uint8_t buf[128];
        size_t n = 0;
        int rc = csta_apdu_encode(&a, buf, sizeof buf, &n);
        if (rc == 0)
            rc = node_pbx_request(self->pbx, buf, n, self->request_timeout_ms, s_on_cdr_started,
                                  s_on_cdr_report, cdr);
        if (rc == 0) {
            cdr->owner = s->id;
            cdr->pending = true;
            cdr->pending_request_id = rq->request_id;
            return;     //  answered when the PBX answers
        }
        node_pbx_cdr_release(self->pbx, cdr);
        r = node_client_ops_status(rc);
        why = strerror(-rc);
    }
    s_reply(self, s, rq->request_id, rq->op, r, why, NULL);
}

//  A session goes: its CDR transmission is stopped and the claim given back (a StartCDR
//  still at the PBX does that when it is answered).
static void s_cdr_session_gone(node_client_server_t *self, s_session_t *s)
{
    s_cdr_t *cdr = self->cdr;
    if (!cdr || cdr->owner != s->id || cdr->pending)
        return;
    if (cdr->started && self->pbx)
        s_cdr_stop(self, cdr, NULL, NULL);
    else
        s_cdr_release(cdr);
}

//  --- Requests ------------------------------------------------------------------------------

//  The call ringing at `number`, if this session has that line open (a directed pickup
//  names the ringing device; the call id is the node's to find).
static const char *s_ringing_at(s_session_t *s, const char *number)
{
    s_line_t *line = s_line_find(s, number, NULL);
    for (size_t i = 0; line && i < node_client_calls_count(line->calls); i++) {
        const proto_call_info_t *c = node_client_calls_at(line->calls, i);
        if (c->state == PROTO_CALL_OFFERING)
            return c->call_id;
    }
    return NULL;
}

//  An operation on an open line: checked here, built and mapped by node_client_ops,
//  answered when the PBX answers (get_call_info at once, from the line's call model).
static void s_line_request(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    const char *number = node_client_ops_line(rq);
    s_line_t *line = s_line_find(s, number, NULL);
    if (!line || !line->active) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINE_NOT_OPEN,
                *number ? "open the line first" : "no line", NULL);
        return;
    }
    csta_device_t dev;
    csta_device_set(&dev, number);
    bool allowed = node_users_may_use(self->users, s->user_index, &dev);
    proto_request_t copy = *rq;
    if (allowed && rq->op == PROTO_OP_PICKUP && *rq->target.number) {
        //  A directed pickup takes the call of another device: that one too must be the
        //  user's (as the CSTA front end checks every ConnectionID's device).
        csta_device_set(&dev, rq->target.number);
        allowed = node_users_may_use(self->users, s->user_index, &dev);
        const char *ringing = *rq->target.call_id ? NULL : s_ringing_at(s, rq->target.number);
        if (ringing)
            snprintf(copy.target.call_id, sizeof copy.target.call_id, "%s", ringing);
    }
    if (!allowed) {
        node_warning(S_SUB, "session=%" PRIu64 " user=%s: %s on a device not the user's",
                     s->id, s->user, proto_op_str(rq->op));
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_ACCESS_DENIED,
                "the device is not among the user's devices", NULL);
        return;
    }
    if (rq->op == PROTO_OP_GET_CALL_INFO) {
        const proto_call_info_t *info = node_client_calls_find(line->calls, rq->call.call_id);
        proto_client_msg_t m;
        proto_client_msg_init(&m, PROTO_MSG_REPLY);
        m.reply.request_id = rq->request_id;
        m.reply.result = info ? PROTO_RESULT_OK : PROTO_RESULT_INVALID_CALL;
        if (info) {
            m.reply.has_call = true;
            m.reply.call = *info;
        } else {
            snprintf(m.reply.text, sizeof m.reply.text, "no such call at line %s", number);
        }
        s_reply_msg(self, s, rq->op, &m);
        return;
    }
    if (!self->pbx) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINK_DOWN, "no PBX", NULL);
        return;
    }
    node_client_ops_ctx_t ctx = {line->calls, self->numfmt};
    csta_apdu_t a;
    char text[PROTO_TEXT_MAX + 1];
    proto_result_t r = node_client_ops_build(&copy, 0, &ctx, &a, text, sizeof text);
    if (r != PROTO_RESULT_OK) {
        s_reply(self, s, rq->request_id, rq->op, r, text, NULL);
        return;
    }
    if (rq->op == PROTO_OP_SETUP_TRANSFER)
        node_client_calls_consultation(line->calls, rq->target.call_id, true);
    s_req_t *req = s_req_new(s, S_REQ_OP, &copy);
    int rc = req ? s_pbx_send(self, req, &a) : -ENOMEM;
    if (rc == 0)
        return;
    free(req);
    node_warning(S_SUB, "session=%" PRIu64 " %s not sent: %s", s->id, proto_op_str(rq->op),
                 strerror(-rc));
    r = node_client_ops_status(rc);
    s_reply(self, s, rq->request_id, rq->op, r, strerror(-rc), NULL);
    if (rq->op == PROTO_OP_SETUP_TRANSFER)
        node_client_calls_consultation(line->calls, rq->target.call_id, false);
}

static void s_request(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    if (rq->request_id == 0) {
        s_send_error(self, s->identity, s->identity_len, PROTO_RESULT_BAD_REQUEST,
                     "request id 0");
        s_count(self->m_bad_input, "no-request-id", NULL);
        return;
    }
    switch (rq->op) {
    case PROTO_OP_OPEN_LINE:
        s_open_line(self, s, rq);
        break;
    case PROTO_OP_CLOSE_LINE:
        s_close_line(self, s, rq);
        break;
    case PROTO_OP_LIST_LINES:
        s_list_lines(self, s, rq);
        break;
    case PROTO_OP_SET_CDR:
        s_set_cdr(self, s, rq);
        break;
    case PROTO_OP_NONE:
    case PROTO_OP_COUNT_:
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_BAD_REQUEST, "no operation", NULL);
        break;
    default:
        s_line_request(self, s, rq);
        break;
    }
}

//  --- Login ---------------------------------------------------------------------------------

static void s_hello(node_client_server_t *self, const uint8_t *identity, size_t identity_len,
                    const char *peer, const proto_hello_t *h)
{
    s_session_t *old = s_session_by_identity(self, identity, identity_len);
    if (old)
        s_session_close_ptr(self, old, "hello-again");
    int user_index = -1;
    node_login_t lr = node_users_login(self->users, h->user, h->password, peer, s_now_ms(),
                                       &user_index);
    s_count(self->m_logins, node_login_str(lr), NULL);
    if (lr != NODE_LOGIN_OK) {
        node_warning(S_SUB, "login refused user=%s peer=%s: %s", h->user, peer,
                     node_login_str(lr));
        s_send_error(self, identity, identity_len, PROTO_RESULT_LOGIN_FAILED,
                     lr == NODE_LOGIN_THROTTLED ? "too many failed logins: try later"
                                                : "wrong user or password");
        return;
    }
    s_session_t *s = calloc(1, sizeof *s);
    s_session_t **grown = self->sessions;
    if (s && self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        grown = realloc(self->sessions, cap * sizeof *grown);
        if (grown) {
            self->sessions = grown;
            self->cap = cap;
        }
    }
    if (!s || !grown) {
        free(s);
        s_send_error(self, identity, identity_len, PROTO_RESULT_ERROR, "out of memory");
        return;
    }
    s->id = ++self->next_session_id;
    memcpy(s->identity, identity, identity_len);
    s->identity_len = identity_len;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    snprintf(s->user, sizeof s->user, "%s", h->user);
    s->user_index = user_index;
    uint32_t hb = h->heartbeat_ms ? h->heartbeat_ms : NODE_CLIENT_HEARTBEAT_DEFAULT;
    if (hb < NODE_CLIENT_HEARTBEAT_MIN)
        hb = NODE_CLIENT_HEARTBEAT_MIN;
    if (hb > NODE_CLIENT_HEARTBEAT_MAX)
        hb = NODE_CLIENT_HEARTBEAT_MAX;
    s->heartbeat_ms = hb;
    s->last_rx_ms = s_now_ms();
    self->sessions[self->count++] = s;
    if (self->m_sessions)
        node_metric_set(self->m_sessions, NULL, (double) self->count);

    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_WELCOME);
    snprintf(m.welcome.session_id, sizeof m.welcome.session_id, "%.40s-%" PRIu64, self->node_id,
             s->id);
    uint8_t token[16];
    if (RAND_bytes(token, sizeof token) != 1)
        node_error(S_SUB, "no random bytes for a resume token");  //  sessions still work
    s_hex(token, sizeof token, m.welcome.resume_token, sizeof m.welcome.resume_token);
    m.welcome.heartbeat_ms = hb;
    snprintf(m.welcome.node, sizeof m.welcome.node, "%s", self->node_id);
    s_send(self, s, &m);
    if (*h->resume_token) {
        //  Resume is not implemented yet: say so rather than leave the client guessing.
        proto_client_msg_init(&m, PROTO_MSG_RESUME_RESULT);
        m.resume_result.outcome = PROTO_RESUME_NEW_SESSION;
        m.resume_result.next_seq = 1;
        s_send(self, s, &m);
    }
    node_notice(S_SUB, "app connected session=%" PRIu64 " user=%s peer=%s heartbeat_ms=%" PRIu32
                " client=\"%s\"", s->id, s->user, peer, hb, h->client);
}

//  --- Frames ----------------------------------------------------------------------------------

static void s_frame(node_client_server_t *self, const uint8_t *identity, size_t identity_len,
                    const char *peer, const uint8_t *data, size_t len)
{
    s_session_t *s = s_session_by_identity(self, identity, identity_len);
    if (s)
        s->last_rx_ms = s_now_ms();     //  any frame shows the application is alive
    proto_client_msg_t m;
    int rc = proto_client_decode(&m, data, len);
    if (rc) {
        const char *reason = rc == -EPROTONOSUPPORT ? "version"
                             : rc == -EMSGSIZE      ? "too-big"
                                                    : "undecodable";
        node_warning(S_SUB, "bad frame from peer=%s session=%" PRIu64 " len=%zu: %s", peer,
                     s ? s->id : 0, len, strerror(-rc));
        s_count(self->m_bad_input, reason, NULL);
        char text[PROTO_TEXT_MAX + 1];
        if (rc == -EPROTONOSUPPORT)
            snprintf(text, sizeof text, "protocol major %u not supported",
                     (unsigned) m.version_major);
        else
            snprintf(text, sizeof text, "frame not understood: %s", strerror(-rc));
        s_send_error(self, identity, identity_len,
                     rc == -EPROTONOSUPPORT ? PROTO_RESULT_UNSUPPORTED_VERSION
                                            : PROTO_RESULT_BAD_REQUEST,
                     text);
        if (s)
            s->last_tx_ms = s_now_ms();
        return;
    }
    switch (m.kind) {
    case PROTO_MSG_HELLO:
        s_hello(self, identity, identity_len, peer, &m.hello);
        break;
    case PROTO_MSG_HEARTBEAT:
    case PROTO_MSG_REQUEST:
        if (!s) {
            node_warning(S_SUB, "%s before login from peer=%s", proto_msg_kind_str(m.kind), peer);
            s_count(self->m_bad_input, "not-logged-in", NULL);
            s_send_error(self, identity, identity_len, PROTO_RESULT_NOT_LOGGED_IN,
                         "send Hello first");
        } else if (m.kind == PROTO_MSG_REQUEST) {
            s_request(self, s, &m.request);
        } else {
            proto_client_msg_t hb;
            proto_client_msg_init(&hb, PROTO_MSG_HEARTBEAT);
            hb.heartbeat.sent_ms = (uint64_t) s_now_ms();
            s_send(self, s, &hb);
        }
        break;
    default:
        node_warning(S_SUB, "peer=%s sent a %s, which applications do not send", peer,
                     proto_msg_kind_str(m.kind));
        s_count(self->m_bad_input, "wrong-kind", NULL);
        s_send_error(self, identity, identity_len, PROTO_RESULT_BAD_REQUEST,
                     "not a message an application sends");
        break;
    }
    proto_client_msg_clear(&m);
}

static int s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    node_client_server_t *self = arg;
    for (int i = 0; i < S_BURST && (zsock_events(sock) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(sock);
        if (!msg)
            break;
        zframe_t *id = zmsg_first(msg);
        zframe_t *body = zmsg_next(msg);
        const char *addr = body ? zframe_meta(body, "Peer-Address") : NULL;
        char peer[64];
        snprintf(peer, sizeof peer, "%s", addr ? addr : "unknown");
        if (id && zframe_size(id) <= S_IDENTITY_MAX) {
            if (body && zmsg_size(msg) == 2)
                s_frame(self, zframe_data(id), zframe_size(id), peer, zframe_data(body),
                        zframe_size(body));
            else {
                node_warning(S_SUB, "peer=%s sent %zu frames in one message (one envelope "
                             "per message)", peer, zmsg_size(msg) - 1);
                s_count(self->m_bad_input, "multipart", NULL);
                s_send_error(self, zframe_data(id), zframe_size(id), PROTO_RESULT_BAD_REQUEST,
                             "one envelope per ZeroMQ message");
            }
        }
        zmsg_destroy(&msg);
    }
    return 0;
}

//  Heartbeats: a session silent for more than two intervals has failed; one that has sent
//  nothing for an interval gets a Heartbeat, so the application can tell the node is alive.
static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_client_server_t *self = arg;
    int64_t now = s_now_ms();
    for (size_t i = self->count; i-- > 0;) {
        s_session_t *s = self->sessions[i];
        int64_t silent = now - s->last_rx_ms;
        if (silent > 2 * (int64_t) s->heartbeat_ms) {
            node_notice(S_SUB, "app failed session=%" PRIu64 " user=%s peer=%s silent_ms=%" PRId64
                        " heartbeat_ms=%" PRIu32 " lines=%zu", s->id, s->user, s->peer, silent,
                        s->heartbeat_ms, s->line_count);
            if (self->m_failures)
                node_metric_add(self->m_failures, NULL, 1);
            s_session_close(self, i, "heartbeat-failure");
        } else if (now - s->last_tx_ms >= (int64_t) s->heartbeat_ms) {
            proto_client_msg_t hb;
            proto_client_msg_init(&hb, PROTO_MSG_HEARTBEAT);
            hb.heartbeat.sent_ms = (uint64_t) now;
            s_send(self, s, &hb);
        }
    }
    return 0;
}

static size_t s_ptr_hash(const void *key)
{
    uintptr_t v = (uintptr_t) key;
    return (size_t) (v ^ (v >> 17) ^ (v >> 31));
}

static int s_ptr_cmp(const void *a, const void *b)
{
    return a == b ? 0 : (uintptr_t) a < (uintptr_t) b ? -1 : 1;
}

//  --- Public ----------------------------------------------------------------------------------

node_client_server_t *node_client_server_new(zloop_t *loop, const node_client_api_cfg_t *cfg,
                                             node_users_t *users, node_metrics_t *metrics,
                                             const char *node_id)
{
    node_client_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->out = malloc(S_OUT_MAX);
    self->watches = zhashx_new();
    if (!self->out || !self->watches) {
        zhashx_destroy(&self->watches);
        free(self->out);
        free(self);
        return NULL;
    }
    zhashx_set_key_hasher(self->watches, s_ptr_hash);
    zhashx_set_key_comparator(self->watches, s_ptr_cmp);
    zhashx_set_key_duplicator(self->watches, NULL);
    zhashx_set_key_destructor(self->watches, NULL);
    self->loop = loop;
    self->cfg = cfg;
    self->users = users;
    self->tick_id = -1;
    snprintf(self->node_id, sizeof self->node_id, "%s", node_id ? node_id : "ctimd");
    if (metrics) {
        self->m_sessions = node_metrics_gauge(metrics, "client_sessions",
                                              "Client API sessions logged in now.", NULL);
        node_metric_set(self->m_sessions, NULL, 0);
        self->m_failures = node_metrics_counter(metrics, "client_failures",
            "Client API applications declared failed (silent for two heartbeat intervals).",
            NULL);
        node_metric_add(self->m_failures, NULL, 0);
        self->m_logins = node_metrics_counter(metrics, "client_logins",
                                              "Client API logins, by result.", "result");
        self->m_bad_input = node_metrics_counter(metrics, "client_bad_input",
            "Client API frames refused (undecodable, before login, ...), by reason.", "reason");
        self->m_requests = node_metrics_counter(metrics, "client_requests",
                                                "Client API requests, by operation and result.",
                                                "operation,result");
        self->m_events = node_metrics_counter(metrics, "client_events_out",
                                              "Client API call events sent.", NULL);
    }
    return self;
}

void node_client_server_destroy(node_client_server_t **self_p)
{
    node_client_server_t *self = *self_p;
    if (!self)
        return;
    while (self->count)
        s_session_close(self, self->count - 1, "shutdown");
    for (s_req_t *r = self->reqs; r; r = r->next)
        r->server = NULL;   //  node_pbx still owes them a reply: it frees them
    if (self->cdr && self->cdr->pending)
        self->cdr->server = NULL;   //  its StartCDR's answer frees it
    else if (self->cdr) {
        s_cdr_release(self->cdr);
        free(self->cdr);
    }
    if (self->tick_id >= 0)
        zloop_timer_end(self->loop, self->tick_id);
    if (self->router) {
        zloop_reader_end(self->loop, self->router);
        zsock_destroy(&self->router);
    }
    zhashx_destroy(&self->watches);
    free(self->sessions);
    free(self->out);
    free(self);
    *self_p = NULL;
}

void node_client_server_listener(node_client_server_t *self, node_pbx_listener_t *listener)
{
    *listener = (node_pbx_listener_t){.ctx = self,
                                      .on_event = s_on_event,
                                      .on_state = s_on_state,
                                      .on_broadcast = s_on_broadcast};
}

void node_client_server_attach(node_client_server_t *self, node_pbx_t *pbx, int request_timeout_ms)
{
    self->pbx = pbx;
    self->request_timeout_ms = request_timeout_ms;
}

int node_client_server_start(node_client_server_t *self, int port_override)
{
    if (self->router)
        return -EALREADY;
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return -ENOMEM;
    const char *addr = self->cfg->listen;
    bool v6 = strchr(addr, ':') != NULL;
    if (v6)
        zsock_set_ipv6(self->router, 1);
    zsock_set_linger(self->router, 0);
    char ep[NODE_NAME_MAX + 32];
    int want = port_override > 0 ? port_override : port_override < 0 ? 0 : self->cfg->port;
    if (want > 0)
        snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:%d" : "tcp://%s:%d", addr, want);
    else
        snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:*" : "tcp://%s:*", addr);
    int port = zsock_bind(self->router, "%s", ep);
    if (port < 0) {
        int err = errno;
        node_error(S_SUB, "cannot listen on %s: %s", ep, strerror(err));
        zsock_destroy(&self->router);
        return err ? -err : -EADDRINUSE;
    }
    self->port = port;
    if (zloop_reader(self->loop, self->router, s_on_router, self) != 0) {
        zsock_destroy(&self->router);
        return -ENOMEM;
    }
    zloop_reader_set_tolerant(self->loop, self->router);
    self->tick_id = zloop_timer(self->loop, S_TICK_MS, 0, s_on_tick, self);
    node_notice(S_SUB, "client API listening on %s:%d", addr, port);
    return 0;
}

int node_client_server_port(const node_client_server_t *self)
{
    return self->router ? self->port : 0;
}

void node_client_server_set_users(node_client_server_t *self, node_users_t *users)
{
    self->users = users;
    for (size_t i = self->count; i-- > 0;) {
        s_session_t *s = self->sessions[i];
        s->user_index = node_users_find(users, s->user);
        if (s->user_index < 0)
            s_session_close(self, i, "user-removed");
    }
}

bool node_client_server_owns(const node_client_server_t *self, const node_pbx_watch_t *watch)
{
    return self && zhashx_lookup(self->watches, watch) != NULL;
}

size_t node_client_server_session_count(const node_client_server_t *self)
{
    return self->count;
}

void node_client_server_set_numbers(node_client_server_t *self, const node_numfmt_t *numfmt,
                                    const node_lines_t *lines)
{
    self->numfmt = numfmt;
    self->lines = lines;
    for (size_t i = 0; i < self->count; i++)
        for (size_t j = 0; j < self->sessions[i]->line_count; j++)
            node_client_calls_set_numbers(self->sessions[i]->lines[j]->calls, numfmt, lines);
}
