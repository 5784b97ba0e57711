//  node_client_server: the client API front end (see the header).  One ROUTER socket on
//  the zloop; sessions keyed by the ROUTER identity (a resume moves a session to a new
//  one); requests and watches go to node_pbx.  Output never blocks: the ROUTER is
//  mandatory and every send is non-blocking, events are kept in the session's replay
//  buffer (node_client_replay) and control frames in a small queue until ZeroMQ takes
//  them; a session that failed hands its protected lines to node_client_guard.
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "csta.h"
#include "ha_curve.h"
#include "node_client_calls.h"
#include "node_client_guard.h"
#include "node_client_ops.h"
#include "node_client_replay.h"
#include "node_client_server.h"
#include "node_http.h"
#include "node_lines.h"
#include "node_log.h"
#include "node_ptrmap.h"
#include "node_numfmt.h"
#include "node_pbx_remote.h"
#include "proto.h"

#define S_SUB "client"
#define S_IDENTITY_MAX 256          //  ZeroMQ routing ids are at most 255 bytes
#define S_LINES_MAX NODE_CLIENT_LINES_MAX
#define S_OUT_MAX PROTO_FRAME_MAX   //  an encoded frame (list_lines replies can be long)
#define S_BURST 64                  //  frames read per wake-up before other sockets get a turn
#define S_DRAIN_BURSTS 16           //  bursts read before failing a session (s_on_timer)
#define S_TOKEN_BYTES 16            //  resume token: 128 random bits, sent as hex
#define S_CTL_MAX 4096              //  control frames (replies, errors) held for a slow reader
#define S_RETRY_MS 25               //  a session ZeroMQ took nothing from is retried this often
#define S_HB_SLACK_MS 20            //  node heartbeats due this soon go out on the same turn

typedef struct s_session s_session_t;

//  One line a session opened: a node_pbx watch.  `active` once the PBX monitors it.
typedef struct {
    node_client_server_t *server;   //  lines die before their server: a pointer is safe
    s_session_t *session;
    char number[PROTO_NUMBER_MAX + 1];
    node_pbx_watch_t *watch;
    uint32_t open_request_id;       //  the OpenLine still waiting for the watch's done
    bool active;
    char failure_number[PROTO_NUMBER_MAX + 1];  //  OpenLine's: the guard's if the app fails
    node_client_calls_t *calls;     //  the calls at the line as the application sees them
    bool snapshot;                  //  call events now going out are a snapshot
    bool out_of_service;            //  the PBX said OutOfService (until BackInService)
    bool monitored;                 //  the PBX monitors it now (done(0) or re-monitored;
                                    //  false from link down until node_pbx says so again)
} s_line_t;

//  A control frame (Reply, Error, ...) ZeroMQ would not take yet.  It goes out after the
//  event it followed, so the application sees frames in the order they were made.
typedef struct s_ctl {
    struct s_ctl *next;
    uint64_t after_seq;
    size_t len;
    uint8_t data[];
} s_ctl_t;

struct s_session {
    uint64_t id;
    uint8_t identity[S_IDENTITY_MAX];
    size_t identity_len;
    char peer[64];
    char user[PROTO_NAME_MAX + 1];
    int user_index;
    uint32_t heartbeat_ms;
    int64_t last_rx_ms, last_tx_ms;
    uint64_t seq;                   //  last event sequence made
    s_line_t **lines;
    size_t line_count, line_cap;
    uint8_t token[S_TOKEN_BYTES];   //  resume token (secret); has_token false: no resume
    bool has_token;
    uint8_t token_hash[NODE_CLIENT_HASH_LEN];   //  its SHA-256: the cluster's name for it
    uint64_t seq_limit;             //  published to the cluster: no event goes above it
    uint32_t moves;                 //  times it moved between nodes (SessionRecord.resumes)
    char client[PROTO_TEXT_MAX + 1];
    time_t connected_at;
    uint64_t sent_seq;              //  last event ZeroMQ took for the current identity
    uint64_t acked;                 //  last event the application acknowledged
    node_client_replay_t *replay;
    s_ctl_t *ctl_head, *ctl_tail;
    size_t ctl_count;
    bool blocked;                   //  ZeroMQ took nothing at the last try: the timer retries
    const char *doomed;             //  why the session must close on the timer's next turn
    uint64_t events_lost, resumes;
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
    int timer_id;                   //  one-shot, at timer_at (0: none)
    int64_t timer_at;
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
    node_client_guard_t *guard;     //  lines of failed applications (call-forward-on-failure)
    ha_curve_auth_t *auth;          //  the client keys let in (ha_curve's ZAP), with CURVE
    zsock_t *monitor;               //  handshake failures of the ROUTER, with CURVE
    ha_curve_rate_t handshake_rate; //  handshake failures are logged once a second
    node_metric_t *m_resumes, *m_lost, *m_overflows, *m_handshakes, *m_replay;
    node_client_cluster_t cluster;  //  hooks to the cluster (all NULL: none)
    void (*arrival)(void *ctx);     //  a Hello accepted (node_client_server_arrivals)
    void *arrival_ctx;
    node_metric_t *m_adopted;
    node_verifier_t *verifier;      //  password checks off the loop (NULL: on it)
    struct s_parked *parked;        //  Hellos waiting for their password check
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

//  --- The cluster's view -----------------------------------------------------------------------
//  What the cluster keeps of each session (node_client_session_info_t) goes out through
//  the hooks node_main gives (node_client_server_cluster): the session when it is made,
//  adopted, claims or releases CDR, or comes near its published sequence bound; each line
//  when it is open or closed; the session's end.

static void s_token_set(s_session_t *s, const uint8_t *token)
{
    memcpy(s->token, token, sizeof s->token);
    unsigned int n = 0;
    s->has_token = EVP_Digest(token, sizeof s->token, s->token_hash, &n, EVP_sha256(), NULL) == 1 &&
                   n == sizeof s->token_hash;
}

static bool s_cdr_owned_by(const node_client_server_t *self, const s_session_t *s);

static void s_info(const node_client_server_t *self, const s_session_t *s, char *name, size_t cap,
                   node_client_session_info_t *info)
{
    snprintf(name, cap, "%.40s-%" PRIu64, self->node_id, s->id);
    *info = (node_client_session_info_t){s->token_hash, name,       s->user,
                                         s->client,     s->heartbeat_ms, s->acked,
                                         s->seq_limit,  s_cdr_owned_by(self, s), s->moves};
}

static void s_publish_session(node_client_server_t *self, const s_session_t *s)
{
    if (!self->cluster.session || !s->has_token)
        return;
    char name[PROTO_NAME_MAX + 1];
    node_client_session_info_t info;
    s_info(self, s, name, sizeof name, &info);
    self->cluster.session(self->cluster.ctx, &info);
}

static void s_publish_line(node_client_server_t *self, const s_session_t *s, const char *number,
                           const char *failure_number, bool open)
{
    if (!self->cluster.line || !s->has_token)
        return;
    char name[PROTO_NAME_MAX + 1];
    node_client_session_info_t info;
    s_info(self, s, name, sizeof name, &info);
    self->cluster.line(self->cluster.ctx, &info, number, failure_number, open);
}

//  An event with sequence seq goes out: keep the published bound at least half a block
//  ahead, so that a node adopting the session never numbers below what was sent (the
//  update leaves at the end of this loop turn, with the event already gone).
static void s_seq_bound(node_client_server_t *self, s_session_t *s, uint64_t seq)
{
    if (seq + NODE_CLIENT_SEQ_BLOCK / 2 <= s->seq_limit)
        return;
    s->seq_limit = seq + NODE_CLIENT_SEQ_BLOCK;
    s_publish_session(self, s);
}

//  --- Sending -------------------------------------------------------------------------------

static void s_timer_soon(node_client_server_t *self, int64_t at_ms);
static int s_events_lost(node_client_server_t *self, s_session_t *s);

//  One frame to identity, never blocking: the ROUTER is mandatory, so ZeroMQ answers
//  -EAGAIN for a peer whose pipe is full (send_hwm) and -EHOSTUNREACH for one it does not
//  know (gone, or not connected yet).
static int s_send_bytes(node_client_server_t *self, const uint8_t *identity, size_t identity_len,
                        const uint8_t *data, size_t len)
{
    void *sock = zsock_resolve(self->router);
    if (zmq_send(sock, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -errno;
    //  The identity frame taken, ZeroMQ takes the rest of the message too.
    if (zmq_send(sock, data, len, ZMQ_DONTWAIT) < 0)
        return -errno;
    return 0;
}

static int s_encode(node_client_server_t *self, const proto_client_msg_t *m, size_t *len)
{
    int rc = proto_client_encode(m, self->out, S_OUT_MAX, len);
    if (rc)
        node_error(S_SUB, "cannot encode a %s: %s", proto_msg_kind_str(m->kind), strerror(-rc));
    return rc;
}

//  A frame for a peer that has no session (an Error before login): sent if ZeroMQ takes it
//  now, else dropped (a peer that does not read its errors loses them).
static void s_send_to(node_client_server_t *self, const uint8_t *identity, size_t identity_len,
                      const proto_client_msg_t *m)
{
    size_t n = 0;
    if (s_encode(self, m, &n) != 0)
        return;
    int rc = s_send_bytes(self, identity, identity_len, self->out, n);
    if (rc)
        node_debug(S_SUB, "a %s was not sent: %s", proto_msg_kind_str(m->kind), strerror(-rc));
}

//  ZeroMQ took nothing: keep the rest for the timer's next try.
static void s_blocked(node_client_server_t *self, s_session_t *s, int rc)
{
    if (!s->blocked)
        node_debug(S_SUB, "session=%" PRIu64 " takes no more frames now: %s", s->id,
                   strerror(-rc));
    s->blocked = true;
    s_timer_soon(self, s_now_ms() + S_RETRY_MS);
}

static void s_ctl_push(node_client_server_t *self, s_session_t *s, const uint8_t *data,
                       size_t len)
{
    s_ctl_t *c = s->ctl_count < S_CTL_MAX ? malloc(sizeof *c + len) : NULL;
    if (!c) {
        //  An application that sends requests and reads nothing: cut it off (on the
        //  timer's turn: the caller still holds the session).
        if (!s->doomed)
            s->doomed = "output-overflow";
        s_timer_soon(self, s_now_ms());
        return;
    }
    c->next = NULL;
    c->after_seq = s->seq;
    c->len = len;
    memcpy(c->data, data, len);
    if (s->ctl_tail)
        s->ctl_tail->next = c;
    else
        s->ctl_head = c;
    s->ctl_tail = c;
    s->ctl_count++;
}

static void s_ctl_pop(s_session_t *s)
{
    s_ctl_t *c = s->ctl_head;
    s->ctl_head = c->next;
    if (!s->ctl_head)
        s->ctl_tail = NULL;
    s->ctl_count--;
    free(c);
}

//  Send what the session owes its application in the order it was made: events from the
//  replay buffer, and the control frames queued between them.  An event the buffer no
//  longer holds is a gap: EventsLost and a fresh snapshot (s_events_lost).  Stops at the
//  first frame ZeroMQ will not take now; the timer tries again.
static void s_flush(node_client_server_t *self, s_session_t *s)
{
    s->blocked = false;
    for (;;) {
        uint64_t upto = s->ctl_head ? s->ctl_head->after_seq : s->seq;
        while (s->sent_seq < upto) {
            const uint8_t *frame;
            size_t len;
            int rc;
            if (node_client_replay_get(s->replay, s->sent_seq + 1, &frame, &len) != 0)
                rc = s_events_lost(self, s);
            else if ((rc = s_send_bytes(self, s->identity, s->identity_len, frame, len)) == 0)
                s->sent_seq++;
            if (rc) {
                s_blocked(self, s, rc);
                return;
            }
            s->last_tx_ms = s_now_ms();
        }
        if (!s->ctl_head)
            return;
        int rc = s_send_bytes(self, s->identity, s->identity_len, s->ctl_head->data,
                              s->ctl_head->len);
        if (rc) {
            s_blocked(self, s, rc);
            return;
        }
        s_ctl_pop(s);
        s->last_tx_ms = s_now_ms();
    }
}

//  Every frame to a session goes through here.  An Event is kept in the replay buffer
//  first (callers number it: seq = ++s->seq); a frame that cannot go now waits, in order,
//  behind those that could not go before it.  A Heartbeat that cannot go is dropped: the
//  application has frames to read.  Never closes the session (callers hold it).
static void s_send(node_client_server_t *self, s_session_t *s, const proto_client_msg_t *m)
{
    size_t n = 0;
    if (s->doomed || s_encode(self, m, &n) != 0)
        return;
    bool event = m->kind == PROTO_MSG_EVENT;
    bool direct;
    if (event) {
        uint64_t seq = m->event.seq;
        if (seq > s->seq)
            s->seq = seq;
        s_seq_bound(self, s, seq);
        //  A frame the buffer refuses (too big) shows as a gap if it is ever needed.
        (void) node_client_replay_add(s->replay, seq, self->out, n);
        direct = !s->ctl_head && s->sent_seq + 1 == seq;
    } else {
        direct = !s->ctl_head && s->sent_seq == s->seq;
    }
    if (!direct) {
        if (!event && m->kind != PROTO_MSG_HEARTBEAT)
            s_ctl_push(self, s, self->out, n);
        if (!s->blocked)
            s_flush(self, s);
        return;
    }
    int rc = s_send_bytes(self, s->identity, s->identity_len, self->out, n);
    if (rc == 0) {
        s->last_tx_ms = s_now_ms();
        if (event)
            s->sent_seq = m->event.seq;
        return;
    }
    if (!event && m->kind != PROTO_MSG_HEARTBEAT)
        s_ctl_push(self, s, self->out, n);
    s_blocked(self, s, rc);
}

//  A frame that must lead a (resumed) connection, before anything queued: sent now or lost
//  with the connection.
static void s_send_first(node_client_server_t *self, s_session_t *s, const proto_client_msg_t *m)
{
    size_t n = 0;
    if (s_encode(self, m, &n) != 0)
        return;
    int rc = s_send_bytes(self, s->identity, s->identity_len, self->out, n);
    if (rc == 0)
        s->last_tx_ms = s_now_ms();
    else
        s_blocked(self, s, rc);
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
    if (line->active)
        s_publish_line(self, line->session, line->number, line->failure_number, false);
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
    if (self->cluster.session_gone && s->has_token) {
        char name[PROTO_NAME_MAX + 1];
        node_client_session_info_t info;
        s_info(self, s, name, sizeof name, &info);
        self->cluster.session_gone(self->cluster.ctx, &info);
    }
    free(s->lines);
    node_client_replay_destroy(&s->replay);
    while (s->ctl_head)
        s_ctl_pop(s);
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

//  In service: the link is up AND the device is monitored (again): an application told so
//  before the re-monitor would miss the events in between (DESIGN.md invariant 2).
static bool s_in_service(const node_client_server_t *self, const s_line_t *line)
{
    return self->pbx && node_pbx_state(self->pbx) == NODE_PBX_UP && line->monitored &&
           !line->out_of_service;
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

//  An active line is back in service (link up and monitored again): tell the application,
//  then snapshot it: calls that ended while the link was down go idle.
static void s_back_in_service(node_client_server_t *self, s_session_t *s, s_line_t *line)
{
    proto_client_msg_t m;
    s_event_init(&m, line, PROTO_EVENT_SERVICE);
    m.event.in_service = true;
    s_send_event(self, s, &m);
    s_snapshot_line(self, s, line);
}

//  The link went down: every open line is out of service at once, and unmonitored (the PBX
//  forgot its monitors).  The link came back: a line is in service only when node_pbx has
//  monitored its device again (s_on_watch_monitored), not now.  Through the link's owner
//  (remote backing) the same holds: node_pbx says monitored when the owner's WatchResult
//  does (the owner answers again after its own re-monitor).
static void s_on_state(void *ctx, node_pbx_state_t state)
{
    node_client_server_t *self = ctx;
    for (size_t i = 0; i < self->count; i++) {
        s_session_t *s = self->sessions[i];
        for (size_t j = 0; j < s->line_count; j++) {
            s_line_t *line = s->lines[j];
            if (state == NODE_PBX_DOWN)
                line->monitored = false;
            if (!line->active)
                continue;
            if (state == NODE_PBX_UP && line->monitored)
                s_back_in_service(self, s, line);
            else if (state == NODE_PBX_DOWN) {
                proto_client_msg_t m;
                s_event_init(&m, line, PROTO_EVENT_SERVICE);
                m.event.in_service = false;
                s_send_event(self, s, &m);
            }
        }
    }
}

//  node_pbx monitors a line's device again (after a link loss, or a refused MonitorStart
//  retried): with the link up, the line is back in service.
static void s_on_watch_monitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) watch_arg;
    node_client_server_t *self = ctx;
    s_line_t *line = zhashx_lookup(self->watches, watch);
    if (!line || line->monitored)
        return;
    line->monitored = true;
    line->out_of_service = false;   //  a new monitor: the old OutOfService is history
    if (line->active && self->pbx && node_pbx_state(self->pbx) == NODE_PBX_UP)
        s_back_in_service(self, line->session, line);
}

//  Through the owner (remote backing): the owner no longer monitors the line's device (its
//  link went down, its re-monitor failed): out of service until s_on_watch_monitored.
static void s_on_watch_unmonitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) watch_arg;
    node_client_server_t *self = ctx;
    s_line_t *line = zhashx_lookup(self->watches, watch);
    if (!line || !line->monitored)
        return;
    bool was = s_in_service(self, line);
    line->monitored = false;
    if (line->active && was) {
        proto_client_msg_t m;
        s_event_init(&m, line, PROTO_EVENT_SERVICE);
        m.event.in_service = false;
        s_send_event(self, line->session, &m);
    }
}

//  Events of the line's device were lost between the link's owner and this node (a gap in
//  the owner's numbers): the calls the application was told of may be stale.  A fresh
//  snapshot of the line, as after a re-monitor (issue 6: "a gap triggers a new snapshot").
static void s_on_watch_stale(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) watch_arg;
    node_client_server_t *self = ctx;
    s_line_t *line = zhashx_lookup(self->watches, watch);
    if (!line || !line->active || !s_in_service(self, line))
        return;     //  one coming back in service gets its snapshot then
    node_info(S_SUB, "session=%" PRIu64 " line %s: events lost between the nodes; a snapshot "
              "follows", line->session->id, line->number);
    s_snapshot_line(self, line->session, line);
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
        //  Whole, also when the PBX sent it in segments (node_pbx collects them).
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
        line->monitored = status == 0;
        node_client_guard_release(self->guard, line->number);   //  an application holds it
        s_publish_line(self, s, line->number, line->failure_number, true);
        if (!rid) {
            //  A line of an adopted session: there is no OpenLine to answer.  Its state
            //  comes as after a gap: in service or not, then the calls there now.
            proto_client_msg_t ev;
            s_event_init(&ev, line, PROTO_EVENT_SERVICE);
            ev.event.snapshot = true;
            ev.event.in_service = s_in_service(self, line);
            s_send_event(self, s, &ev);
            if (status == 0)
                s_snapshot_line(self, s, line);
            return;
        }
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
    if (!rid) {
        //  An adopted line the PBX will not monitor here: the application keeps it, out
        //  of service.
        node_warning(S_SUB, "session=%" PRIu64 " adopted line %s cannot be monitored: %s",
                     s->id, line->number, m.reply.text);
        proto_client_msg_t ev;
        s_event_init(&ev, line, PROTO_EVENT_SERVICE);
        ev.event.in_service = false;
        s_send_event(self, s, &ev);
    } else
        node_info(S_SUB, "session=%" PRIu64 " open line %s failed: %s", s->id, line->number,
                  m.reply.text);
    size_t index;
    if (s_line_find(s, line->number, &index) == line)
        s_line_remove(self, s, index);  //  unwatch from inside done: allowed (node_pbx.h)
    if (rid)
        s_reply_msg(self, s, PROTO_OP_OPEN_LINE, &m);
}

static proto_result_t s_refused(const char **why, const char *text, proto_result_t result)
{
    *why = text;
    return result;
}

//  A line of session s, watched at the PBX (done: s_on_watch_done, which answers
//  request_id, 0 for an adopted line).  PROTO_RESULT_OK, or the result and *why.
static proto_result_t s_line_add(node_client_server_t *self, s_session_t *s, const char *number,
                                 const char *failure_number, uint32_t request_id,
                                 const char **why)
{
    csta_device_t dev;
    csta_device_set(&dev, number);
    if (!self->pbx)
        return s_refused(why, "no PBX", PROTO_RESULT_LINK_DOWN);
    if (s->line_count == S_LINES_MAX)
        return s_refused(why, "too many lines open", PROTO_RESULT_RESOURCE_UNAVAILABLE);
    if (s->line_count == s->line_cap) {
        size_t cap = s->line_cap ? s->line_cap * 2 : 8;
        s_line_t **lines = realloc(s->lines, cap * sizeof *lines);
        if (!lines)
            return s_refused(why, "out of memory", PROTO_RESULT_ERROR);
        s->lines = lines;
        s->line_cap = cap;
    }
    s_line_t *line = calloc(1, sizeof *line);
    if (line) {
        line->server = self;
        line->session = s;
        snprintf(line->number, sizeof line->number, "%s", number);
        snprintf(line->failure_number, sizeof line->failure_number, "%s", failure_number);
        line->open_request_id = request_id;
        line->calls = node_client_calls_new(number, self->numfmt, self->lines);
        line->watch = line->calls ? node_pbx_watch(self->pbx, &dev, s_on_watch_done, line) : NULL;
    }
    if (!line || !line->watch) {
        if (line)
            node_client_calls_destroy(&line->calls);
        free(line);
        return s_refused(why, "not a line number", PROTO_RESULT_INVALID_LINE);
    }
    if (zhashx_insert(self->watches, line->watch, line) != 0) {
        node_pbx_unwatch(self->pbx, &line->watch);
        node_client_calls_destroy(&line->calls);
        free(line);
        return s_refused(why, "out of memory", PROTO_RESULT_ERROR);
    }
    s->lines[s->line_count++] = line;
    return PROTO_RESULT_OK;
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
    const char *why = NULL;
    proto_result_t r = s_line_add(self, s, number, rq->open_line.failure_number, rq->request_id,
                                  &why);
    if (r != PROTO_RESULT_OK)
        s_reply(self, s, rq->request_id, rq->op, r, why, NULL);
    //  else the reply comes with the watch's done
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

static bool s_cdr_owned_by(const node_client_server_t *self, const s_session_t *s)
{
    return self->cdr && self->cdr->owner == s->id && self->cdr->started;
}

//  Give the claim back (no more CDR reports reach this front end); the cluster hears that
//  the owner (when it is still here) no longer owns it.
static void s_cdr_release(s_cdr_t *cdr)
{
    if (cdr->pbx)
        node_pbx_cdr_release(cdr->pbx, cdr);
    uint64_t owner = cdr->owner;
    bool started = cdr->started;
    cdr->owner = 0;
    cdr->started = false;
    cdr->xref_len = 0;
    s_session_t *s = cdr->server && started ? s_session_by_id(cdr->server, owner) : NULL;
    if (s)
        s_publish_session(cdr->server, s);
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
        s_publish_session(self, s);
    } else {
        s_cdr_release(cdr);
    }
    m.reply.result = r;
    if (s && m.reply.request_id)    //  0: an adopted session's claim, asked by nobody
        s_reply_msg(self, s, PROTO_OP_SET_CDR, &m);
}

//  Claim CDR for session s and start transmission (StartCDR at end of call); the answer
//  replies to request_id (0: nobody).  0, -EBUSY (another owner), or why it was not sent.
static int s_cdr_start(node_client_server_t *self, s_cdr_t *cdr, s_session_t *s,
                       uint32_t request_id)
{
    if (cdr->owner || node_pbx_cdr_claim(self->pbx, cdr) != 0)
        return -EBUSY;
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
    if (rc) {
        node_pbx_cdr_release(self->pbx, cdr);
        return rc;
    }
    cdr->owner = s->id;
    cdr->pending = true;
    cdr->pending_request_id = request_id;
    return 0;
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
    else {
        int rc = s_cdr_start(self, cdr, s, rq->request_id);
        if (rc == 0)
            return;     //  answered when the PBX answers
        if (rc == -EBUSY)
            why = "another application owns CDR";
        else {
            r = node_client_ops_status(rc);
            why = strerror(-rc);
        }
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
    if (line && !line->active && !line->open_request_id) {
        //  A line of an adopted session whose watch is not answered yet: open for the
        //  application, not yet in service here.  An error it may retry, not "not open".
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINK_DOWN,
                "the line is not in service yet (its device is being monitored again)", NULL);
        return;
    }
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

//  --- Sessions: login, resume, acks ------------------------------------------------------------

static uint32_t s_heartbeat_clamp(uint32_t requested)
{
    uint32_t hb = requested ? requested : NODE_CLIENT_HEARTBEAT_DEFAULT;
    if (hb < NODE_CLIENT_HEARTBEAT_MIN)
        hb = NODE_CLIENT_HEARTBEAT_MIN;
    if (hb > NODE_CLIENT_HEARTBEAT_MAX)
        hb = NODE_CLIENT_HEARTBEAT_MAX;
    return hb;
}

static size_t s_lines_active(const s_session_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->line_count; i++)
        n += s->lines[i]->active;
    return n;
}

//  The live session whose resume token is `text` (hex, as Welcome gave it), for user.
//  Every session's token is compared in constant time (CRYPTO_memcmp), so the time taken
//  tells nothing about how much of a guess was right.
static s_session_t *s_session_by_token(node_client_server_t *self, const char *text,
                                       const char *user, const char *peer)
{
    uint8_t token[S_TOKEN_BYTES];
    if (strlen(text) != 2 * S_TOKEN_BYTES || node_client_calls_id_parse(text, token, sizeof token) != S_TOKEN_BYTES)
        return NULL;
    s_session_t *found = NULL;
    for (size_t i = 0; i < self->count; i++) {
        s_session_t *s = self->sessions[i];
        if (s->has_token && CRYPTO_memcmp(s->token, token, sizeof token) == 0 && !found)
            found = s;
    }
    if (found && strcmp(found->user, user) != 0) {
        node_warning(S_SUB, "peer=%s user=%s presented the resume token of session=%" PRIu64
                     " (user %s): refused", peer, user, found->id, found->user);
        return NULL;
    }
    return found;
}

static void s_welcome(node_client_server_t *self, s_session_t *s, proto_client_msg_t *m)
{
    proto_client_msg_init(m, PROTO_MSG_WELCOME);
    snprintf(m->welcome.session_id, sizeof m->welcome.session_id, "%.40s-%" PRIu64,
             self->node_id, s->id);
    if (s->has_token)
        node_client_calls_id_text(s->token, sizeof s->token, m->welcome.resume_token,
                                  sizeof m->welcome.resume_token);
    m->welcome.heartbeat_ms = s->heartbeat_ms;
    m->welcome.last_seq_acked = s->acked;
    snprintf(m->welcome.node, sizeof m->welcome.node, "%s", self->node_id);
}

//  A new session for a logged-in Hello; NULL when out of memory.
static s_session_t *s_session_new(node_client_server_t *self, const uint8_t *identity,
                                  size_t identity_len, const char *peer, const proto_hello_t *h,
                                  int user_index)
{
    s_session_t *s = calloc(1, sizeof *s);
    if (s)
        s->replay = node_client_replay_new((size_t) self->cfg->replay_events,
                                           (size_t) self->cfg->replay_bytes);
    if (s && s->replay && self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        s_session_t **grown = realloc(self->sessions, cap * sizeof *grown);
        if (grown) {
            self->sessions = grown;
            self->cap = cap;
        }
    }
    if (!s || !s->replay || self->count == self->cap) {
        if (s)
            node_client_replay_destroy(&s->replay);
        free(s);
        return NULL;
    }
    s->id = ++self->next_session_id;
    memcpy(s->identity, identity, identity_len);
    s->identity_len = identity_len;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    snprintf(s->user, sizeof s->user, "%s", h->user);
    snprintf(s->client, sizeof s->client, "%s", h->client);
    s->user_index = user_index;
    s->heartbeat_ms = s_heartbeat_clamp(h->heartbeat_ms);
    s->last_rx_ms = s->last_tx_ms = s_now_ms();
    s->connected_at = time(NULL);
    //  Without random bytes there is no token that cannot be guessed: no resume then.
    uint8_t token[S_TOKEN_BYTES];
    if (RAND_bytes(token, sizeof token) == 1)
        s_token_set(s, token);
    s->seq_limit = NODE_CLIENT_SEQ_BLOCK;
    if (!s->has_token)
        node_error(S_SUB, "no random bytes for a resume token: session=%" PRIu64
                   " cannot be resumed", s->id);
    self->sessions[self->count++] = s;
    if (self->m_sessions)
        node_metric_set(self->m_sessions, NULL, (double) self->count);
    s_timer_soon(self, s->last_rx_ms + s->heartbeat_ms - S_HB_SLACK_MS);
    return s;
}

//  Hello with the token of live session s (same user), typically from a new ZeroMQ
//  identity after the application failed over or reconnected: the session moves there.
//  Welcome (same session id, the last ack the node saw), ResumeResult, then every event
//  after that ack from the replay buffer; when the buffer no longer holds them all,
//  RESUMED_WITH_GAP and s_flush sends EventsLost and a snapshot instead.  Control frames
//  still queued (replies the old connection did not take) follow in their order.
//  An adopted session (s_adopt) comes here too, with adopted true: nothing of its past is
//  in the buffer, so always RESUMED_WITH_GAP.
static void s_resume(node_client_server_t *self, s_session_t *s, const uint8_t *identity,
                     size_t identity_len, const char *peer, const proto_hello_t *h, bool adopted)
{
    bool moved = s->identity_len != identity_len ||
                 memcmp(s->identity, identity, identity_len) != 0;
    memcpy(s->identity, identity, identity_len);
    s->identity_len = identity_len;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    snprintf(s->client, sizeof s->client, "%s", h->client);
    s->heartbeat_ms = s_heartbeat_clamp(h->heartbeat_ms);
    s->last_rx_ms = s_now_ms();
    bool covered = !adopted && node_client_replay_covers(s->replay, s->acked);
    uint64_t from = s->acked + 1;
    s->sent_seq = s->acked;
    s->blocked = false;
    s->doomed = NULL;               //  the connection that read nothing is gone
    s->resumes++;

    proto_client_msg_t m;
    s_welcome(self, s, &m);
    s_send_first(self, s, &m);
    proto_client_msg_init(&m, PROTO_MSG_RESUME_RESULT);
    m.resume_result.outcome = covered ? PROTO_RESUME_RESUMED : PROTO_RESUME_RESUMED_WITH_GAP;
    m.resume_result.next_seq = s->seq + 1;
    //  An adopted session's lines are open for the application, though still being watched
    //  here (their state follows when each is).
    m.resume_result.lines_open = (uint32_t) (adopted ? s->line_count : s_lines_active(s));
    s_send_first(self, s, &m);
    const char *outcome = covered ? "resumed" : "resumed-with-gap";
    s_count(self->m_resumes, outcome, NULL);
    node_notice(S_SUB, "app resumed session=%" PRIu64 " user=%s peer=%s%s outcome=%s "
                "replay=%" PRIu64 "..%" PRIu64 " lines=%zu heartbeat_ms=%" PRIu32
                " client=\"%s\"", s->id, s->user, peer,
                adopted ? " (adopted)" : moved ? "" : " (same connection)",
                outcome, from, s->seq, adopted ? s->line_count : s_lines_active(s),
                s->heartbeat_ms, s->client);
    if (!s->blocked)
        s_flush(self, s);
    s_timer_soon(self, s->last_rx_ms + s->heartbeat_ms - S_HB_SLACK_MS);
}

//  Resume anywhere: a Hello whose token no session here has, of a session the cluster
//  knows on another node (that node lost, or the application moved on its own).  The
//  session is made here with that token and id of this node; its lines are watched again
//  (the application does not re-open them); its events go on a block above the last bound
//  the old node published, since its replay buffer is out of reach: s_resume then says
//  RESUMED_WITH_GAP and EventsLost, and each line's state follows when its watch is done.
//  Returns the session, or NULL (the Hello gets a new session).
static s_session_t *s_adopt(node_client_server_t *self, const uint8_t *identity,
                            size_t identity_len, const char *peer, const proto_hello_t *h,
                            int user_index)
{
    uint8_t token[S_TOKEN_BYTES], hash[NODE_CLIENT_HASH_LEN];
    unsigned int n = 0;
    if (!self->cluster.adopt || strlen(h->resume_token) != 2 * S_TOKEN_BYTES ||
        node_client_calls_id_parse(h->resume_token, token, sizeof token) != S_TOKEN_BYTES ||
        EVP_Digest(token, sizeof token, hash, &n, EVP_sha256(), NULL) != 1)
        return NULL;
    node_client_adopt_t *a = calloc(1, sizeof *a);
    if (!a || self->cluster.adopt(self->cluster.ctx, hash, a) != 0) {
        free(a);
        return NULL;
    }
    if (strcmp(a->user, h->user) != 0) {
        node_warning(S_SUB, "peer=%s user=%s presented the resume token of session %s on node "
                     "%s (user %s): refused", peer, h->user, a->session, a->node, a->user);
        free(a);
        return NULL;
    }
    s_session_t *s = s_session_new(self, identity, identity_len, peer, h, user_index);
    if (!s) {
        free(a);
        return NULL;
    }
    s_token_set(s, token);
    s->acked = a->acked;
    s->seq = a->seq_limit + NODE_CLIENT_SEQ_BLOCK;
    s->sent_seq = s->acked;
    s->seq_limit = s->seq + NODE_CLIENT_SEQ_BLOCK;
    s->moves = a->resumes + 1;
    size_t refused = 0;
    for (size_t i = 0; i < a->line_count; i++) {
        csta_device_t dev;
        csta_device_set(&dev, a->lines[i].number);
        const char *why = "not among the user's devices";
        if (s_line_find(s, a->lines[i].number, NULL) ||
            (node_users_may_use(self->users, user_index, &dev) &&
             s_line_add(self, s, a->lines[i].number, a->lines[i].failure_number, 0, &why) ==
                 PROTO_RESULT_OK))
            continue;
        refused++;
        node_warning(S_SUB, "session=%" PRIu64 " adopted line %s not kept: %s", s->id,
                     a->lines[i].number, why);
    }
    s_publish_session(self, s);
    node_notice(S_SUB, "app adopted session=%" PRIu64 " was=%s node=%s (%s) user=%s lines=%zu "
                "refused=%zu events_from=%" PRIu64 " cdr=%s", s->id, a->session, a->node,
                a->node_lost ? "lost" : "alive: the app moved", s->user, s->line_count, refused,
                s->seq + 1, a->cdr ? "yes" : "no");
    if (self->m_adopted)
        node_metric_add(self->m_adopted, NULL, 1);
    if (a->cdr && self->pbx) {
        s_cdr_t *cdr = s_cdr(self);
        int rc = cdr ? s_cdr_start(self, cdr, s, 0) : -ENOMEM;
        if (rc)
            node_warning(S_SUB, "session=%" PRIu64 " owned CDR on node %s; not here: %s", s->id,
                         a->node, rc == -EBUSY ? "another application owns it" : strerror(-rc));
    }
    free(a);
    return s;
}

//  A Hello waiting while node_verifier checks its password (the server owns it; the
//  check's callback gets it, or the server's end cancels it).  A second Hello from the
//  same identity meanwhile is answered after it, as when the checks ran on the loop.
typedef struct s_parked {
    node_client_server_t *server;
    uint8_t identity[S_IDENTITY_MAX];
    size_t identity_len;
    char peer[64];
    proto_hello_t hello;            //  a copy; its password wiped when it goes
    node_login_check_t check;
    int64_t id;                     //  node_verifier's
    struct s_parked *next;
} s_parked_t;

static void s_parked_free(s_parked_t *p)
{
    explicit_bzero(p->hello.password, sizeof p->hello.password);
    free(p);
}

static void s_parked_unlink(node_client_server_t *self, s_parked_t *p)
{
    for (s_parked_t **at = &self->parked; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            return;
        }
}

//  Cancel every parked Hello (the server goes: nobody is left to answer them).
static void s_parked_drop(node_client_server_t *self)
{
    while (self->parked) {
        s_parked_t *p = self->parked;
        self->parked = p->next;
        node_verifier_cancel(self->verifier, p->id);
        s_parked_free(p);
    }
}

static void s_hello_finish(node_client_server_t *self, const uint8_t *identity,
                           size_t identity_len, const char *peer, const proto_hello_t *h,
                           node_login_t lr, int user_index);

//  node_verifier's answer for a parked Hello.
static void s_on_verified(void *arg, bool verified)
{
    s_parked_t *p = arg;
    node_client_server_t *self = p->server;
    s_parked_unlink(self, p);
    int user_index = -1;
    node_login_t lr = node_users_login_end(self->users, &p->check, verified, p->hello.password,
                                           p->peer, s_now_ms(), &user_index);
    s_hello_finish(self, p->identity, p->identity_len, p->peer, &p->hello, lr, user_index);
    s_parked_free(p);
}

//  Hello: the login is answered now (no worker, the password verified before, throttled),
//  or parked while the worker runs its PBKDF2; a full queue is refused as busy.
static void s_hello(node_client_server_t *self, const uint8_t *identity, size_t identity_len,
                    const char *peer, const proto_hello_t *h)
{
    int user_index = -1;
    if (!self->verifier) {
        node_login_t lr = node_users_login(self->users, h->user, h->password, peer, s_now_ms(),
                                           &user_index);
        s_hello_finish(self, identity, identity_len, peer, h, lr, user_index);
        return;
    }
    s_parked_t *p = calloc(1, sizeof *p);
    node_login_t lr = NODE_LOGIN_BUSY;
    if (p)
        lr = node_users_login_begin(self->users, h->user, h->password, peer, s_now_ms(),
                                    &user_index, &p->check);
    if (lr == NODE_LOGIN_PENDING) {
        p->server = self;
        memcpy(p->identity, identity, identity_len);
        p->identity_len = identity_len;
        snprintf(p->peer, sizeof p->peer, "%s", peer);
        p->hello = *h;
        p->id = node_verifier_check(self->verifier, p->check.hash, h->password, s_on_verified, p);
        if (p->id > 0) {
            p->next = self->parked;
            self->parked = p;
            return;
        }
        node_warning(S_SUB, "login of user=%s peer=%s not checked (%zu waiting): %s", h->user,
                     peer, node_verifier_queued(self->verifier), strerror((int) -p->id));
        lr = NODE_LOGIN_BUSY;
    }
    if (p)
        s_parked_free(p);
    s_hello_finish(self, identity, identity_len, peer, h, lr, user_index);
}

//  The login's answer: refused, or a session (new, resumed here, adopted from the cluster).
static void s_hello_finish(node_client_server_t *self, const uint8_t *identity,
                           size_t identity_len, const char *peer, const proto_hello_t *h,
                           node_login_t lr, int user_index)
{
    s_session_t *old = s_session_by_identity(self, identity, identity_len);
    s_count(self->m_logins, node_login_str(lr), NULL);
    if (lr == NODE_LOGIN_BUSY || lr == NODE_LOGIN_PENDING) {
        //  Not a failure: no back-off, the old session (if any) stays.
        s_send_error(self, identity, identity_len, PROTO_RESULT_BUSY,
                     "too many logins waiting for their password check: try again");
        return;
    }
    if (lr != NODE_LOGIN_OK) {
        if (old)
            s_session_close_ptr(self, old, "hello-again");
        node_warning(S_SUB, "login refused user=%s peer=%s: %s", h->user, peer,
                     node_login_str(lr));
        s_send_error(self, identity, identity_len, PROTO_RESULT_LOGIN_FAILED,
                     lr == NODE_LOGIN_THROTTLED ? "too many failed logins: try later"
                                                : "wrong user or password");
        return;
    }
    s_session_t *s = *h->resume_token
                         ? s_session_by_token(self, h->resume_token, h->user, peer)
                         : NULL;
    if (old && old != s)
        s_session_close_ptr(self, old, "hello-again");
    bool adopted = false;
    if (!s && *h->resume_token)
        adopted = (s = s_adopt(self, identity, identity_len, peer, h, user_index)) != NULL;
    if (s) {
        s->user_index = user_index;
        s_resume(self, s, identity, identity_len, peer, h, adopted);
        if (self->arrival)
            self->arrival(self->arrival_ctx);
        return;
    }
    s = s_session_new(self, identity, identity_len, peer, h, user_index);
    if (!s) {
        s_send_error(self, identity, identity_len, PROTO_RESULT_ERROR, "out of memory");
        return;
    }
    s_publish_session(self, s);
    proto_client_msg_t m;
    s_welcome(self, s, &m);
    s_send(self, s, &m);
    if (*h->resume_token) {
        //  Unknown, expired (the session failed: its lines are closed) or another user's.
        proto_client_msg_init(&m, PROTO_MSG_RESUME_RESULT);
        m.resume_result.outcome = PROTO_RESUME_NEW_SESSION;
        m.resume_result.next_seq = 1;
        s_send(self, s, &m);
        s_count(self->m_resumes, "new-session", NULL);
    }
    node_notice(S_SUB, "app connected session=%" PRIu64 " user=%s peer=%s heartbeat_ms=%" PRIu32
                " client=\"%s\"%s", s->id, s->user, peer, s->heartbeat_ms, s->client,
                *h->resume_token ? " (resume token unknown: new session)" : "");
    if (self->arrival)
        self->arrival(self->arrival_ctx);
}

//  Heartbeat.last_seq_acked: the application has processed every event up to acked, so
//  the replay buffer lets them go.  An ack beyond the last event made is a client bug:
//  taken as the last one.
static void s_ack(s_session_t *s, uint64_t acked)
{
    if (acked > s->seq) {
        node_info(S_SUB, "session=%" PRIu64 " acked event %" PRIu64 ", but the last made is %"
                  PRIu64, s->id, acked, s->seq);
        acked = s->seq;
    }
    if (acked > s->acked) {
        s->acked = acked;
        node_client_replay_ack(s->replay, acked);
    }
}

//  --- After a gap: EventsLost and a fresh snapshot ----------------------------------------------

//  The state of a line now, after events were lost: its service state, then every call at
//  it, all flagged snapshot.  The line's call model has followed every event (only their
//  delivery failed), so it is as fresh as the PBX's answer would be, without a round trip.
static void s_gap_snapshot(node_client_server_t *self, s_session_t *s, s_line_t *line)
{
    proto_client_msg_t m;
    s_event_init(&m, line, PROTO_EVENT_SERVICE);
    m.event.snapshot = true;
    m.event.in_service = s_in_service(self, line);
    s_send_event(self, s, &m);
    line->snapshot = true;
    for (size_t i = 0; i < node_client_calls_count(line->calls); i++)
        s_emit_call(line, node_client_calls_at(line->calls, i));
    line->snapshot = false;
}

//  Events sent_seq+1 .. seq are gone from the replay buffer before the application had
//  them: tell it exactly which (client.proto EventsLost) and snapshot its lines, which
//  replaces them; events still held in that range are skipped (the snapshot is newer).
//  Returns 0, or why ZeroMQ would not take the EventsLost (nothing changed then).
static int s_events_lost(node_client_server_t *self, s_session_t *s)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_EVENTS_LOST);
    m.events_lost.from_seq = s->sent_seq + 1;
    m.events_lost.to_seq = s->seq;
    size_t n = 0;
    if (s_encode(self, &m, &n) == 0) {
        int rc = s_send_bytes(self, s->identity, s->identity_len, self->out, n);
        if (rc)
            return rc;
    }
    uint64_t lost = s->seq - s->sent_seq;
    node_warning(S_SUB, "session=%" PRIu64 " user=%s: events %" PRIu64 "..%" PRIu64 " lost "
                 "(replay buffer holds %" PRIu64 "..%" PRIu64 "); a snapshot of %zu lines follows",
                 s->id, s->user, s->sent_seq + 1, s->seq, node_client_replay_first(s->replay),
                 node_client_replay_last(s->replay), s_lines_active(s));
    s->events_lost += lost;
    if (self->m_lost)
        node_metric_add(self->m_lost, NULL, (double) lost);
    s->sent_seq = s->seq;
    s->last_tx_ms = s_now_ms();
    for (size_t i = 0; i < s->line_count; i++)
        if (s->lines[i]->active)    //  a line still opening gets its state with its reply
            s_gap_snapshot(self, s, s->lines[i]);
    return 0;
}

//  --- Failure and the guard ------------------------------------------------------------------

static bool s_line_held_elsewhere(node_client_server_t *self, const s_session_t *s,
                                  const char *number)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->sessions[i] != s && s_line_find(self->sessions[i], number, NULL))
            return true;
    return false;
}

//  The failed session's lines opened with a failure number, that no other session holds,
//  go to the guard (DESIGN.md invariant 3).  Returns how many.
static size_t s_guard_lines(node_client_server_t *self, s_session_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->line_count; i++) {
        const s_line_t *line = s->lines[i];
        if (!*line->failure_number)
            continue;
        if (s_line_held_elsewhere(self, s, line->number)) {
            node_info(S_SUB, "line %s: another session holds it; its calls stay there",
                      line->number);
            continue;
        }
        char why[160];
        snprintf(why, sizeof why, "app failed: session=%.40s-%" PRIu64 " user=%s",
                 self->node_id, s->id, s->user);
        int rc = node_client_guard_protect(self->guard, line->number, line->failure_number, why);
        if (rc == 0)
            n++;
        else
            node_error(S_SUB, "line %s: calls cannot go to failure number %s: %s",
                       line->number, line->failure_number, strerror(-rc));
    }
    return n;
}

//  Session i has failed: silent for two whole heartbeat intervals, or cut off for not
//  reading.  Its protected lines go to the guard first (so their PBX monitors stay), then
//  the session closes and its watches go.
static void s_fail(node_client_server_t *self, size_t i, int64_t silent_ms)
{
    s_session_t *s = self->sessions[i];
    size_t guarded = s_guard_lines(self, s);
    const char *reason = s->doomed ? s->doomed : "heartbeat-failure";
    if (s->doomed) {
        node_warning(S_SUB, "app cut off session=%" PRIu64 " user=%s peer=%s reason=%s "
                     "queued=%zu lines=%zu guarded=%zu", s->id, s->user, s->peer, reason,
                     s->ctl_count, s->line_count, guarded);
        if (self->m_overflows)
            node_metric_add(self->m_overflows, NULL, 1);
    } else {
        node_notice(S_SUB, "app failed session=%" PRIu64 " user=%s peer=%s silent_ms=%" PRId64
                    " heartbeat_ms=%" PRIu32 " lines=%zu guarded=%zu", s->id, s->user,
                    s->peer, silent_ms, s->heartbeat_ms, s->line_count, guarded);
        if (self->m_failures)
            node_metric_add(self->m_failures, NULL, 1);
    }
    s_session_close(self, i, reason);
}

//  node_pbx's events and link states: the guard's watches to the guard, the rest to the
//  sessions (s_on_event, s_on_state).
static void s_dispatch_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg,
                             const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    node_client_server_t *self = ctx;
    if (node_client_guard_owns(self->guard, watch))
        node_client_guard_event(self->guard, watch, apdu, len);
    else
        s_on_event(ctx, watch, watch_arg, apdu, len, keys);
}

static void s_dispatch_monitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    node_client_server_t *self = ctx;
    if (!node_client_guard_owns(self->guard, watch))
        s_on_watch_monitored(ctx, watch, watch_arg);
}

static void s_dispatch_unmonitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    node_client_server_t *self = ctx;
    if (!node_client_guard_owns(self->guard, watch))
        s_on_watch_unmonitored(ctx, watch, watch_arg);
}

static void s_dispatch_stale(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    node_client_server_t *self = ctx;
    if (!node_client_guard_owns(self->guard, watch))
        s_on_watch_stale(ctx, watch, watch_arg);
}

static void s_dispatch_state(void *ctx, node_pbx_state_t state)
{
    node_client_server_t *self = ctx;
    node_client_guard_state(self->guard, state);
    s_on_state(ctx, state);
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
            s_ack(s, m.heartbeat.last_seq_acked);
            proto_client_msg_t hb;
            proto_client_msg_init(&hb, PROTO_MSG_HEARTBEAT);
            hb.heartbeat.sent_ms = (uint64_t) s_now_ms();
            s_send(self, s, &hb);
        }
        break;
    case PROTO_MSG_BYE:
        //  The application ends on purpose: lines and monitors go as after a failure, but
        //  it is no failure (not counted, no call-forward-on-failure redirect).
        if (s) {
            node_notice(S_SUB, "app left session=%" PRIu64 " user=%s peer=%s lines=%zu "
                        "reason=\"%s\"", s->id, s->user, peer, s->line_count, m.bye.reason);
            s_session_close_ptr(self, s, "bye");
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

//  --- The timer: heartbeats, failures, slow readers --------------------------------------------

static int s_on_timer(zloop_t *loop, int timer_id, void *arg);

//  Keep the one-shot timer at or before at_ms.  A timer that fires early finds nothing due
//  and re-arms, so it is only moved when it would fire too late.
static void s_timer_soon(node_client_server_t *self, int64_t at_ms)
{
    if (!self->router || (self->timer_id > 0 && self->timer_at <= at_ms))
        return;
    if (self->timer_id > 0)
        zloop_timer_end(self->loop, self->timer_id);
    int64_t delay = at_ms - s_now_ms();
    self->timer_id = zloop_timer(self->loop, (size_t) (delay > 0 ? delay : 0), 1, s_on_timer,
                                 self);
    self->timer_at = at_ms;
    if (self->timer_id < 0)
        self->timer_id = 0;
}

//  When the timer is next needed: the first failure deadline (silent for more than two
//  intervals), node heartbeat due, or retry of a session ZeroMQ took nothing from.
static void s_timer_arm(node_client_server_t *self, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->count; i++) {
        const s_session_t *s = self->sessions[i];
        int64_t hb = s->heartbeat_ms;
        int64_t at = s->last_rx_ms + 2 * hb + 1;
        if (s->last_tx_ms + hb - S_HB_SLACK_MS < at)
            at = s->last_tx_ms + hb - S_HB_SLACK_MS;
        if (s->blocked && now + S_RETRY_MS < at)
            at = now + S_RETRY_MS;
        if (s->doomed)
            at = now;
        if (at < next)
            next = at;
    }
    if (next != INT64_MAX)
        s_timer_soon(self, next);
}

static void s_gauges(node_client_server_t *self)
{
    if (!self->m_replay)
        return;
    size_t events = 0;
    for (size_t i = 0; i < self->count; i++)
        events += node_client_replay_count(self->sessions[i]->replay);
    node_metric_set(self->m_replay, NULL, (double) events);
}

//  Whether a session looks silent for more than two whole intervals at now.
static bool s_overdue(const node_client_server_t *self, int64_t now)
{
    for (size_t i = 0; i < self->count; i++) {
        const s_session_t *s = self->sessions[i];
        if (!s->doomed && now - s->last_rx_ms > 2 * (int64_t) s->heartbeat_ms)
            return true;
    }
    return false;
}

//  A session silent for more than two whole intervals has failed (checked at that deadline,
//  to the millisecond of the loop's timer, not on a coarse tick); one the node has sent
//  nothing for an interval gets a Heartbeat, so the application can tell the node lives;
//  one ZeroMQ took nothing from is tried again.
static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_client_server_t *self = arg;
    self->timer_id = 0;             //  one-shot: gone once this returns (README: zloop pitfall)
    int64_t now = s_now_ms();
    if (s_overdue(self, now)) {
        //  zloop runs due timers before the readers of the same turn: after a late turn
        //  (a slow handler, a busy machine) a frame the application sent in time may wait
        //  in ZeroMQ while its deadline is checked.  Read what is there first, so that only
        //  an application silent for two whole intervals fails.
        for (int i = 0; i < S_DRAIN_BURSTS && (zsock_events(self->router) & ZMQ_POLLIN); i++)
            s_on_router(self->loop, self->router, self);
        now = s_now_ms();
    }
    for (size_t i = self->count; i-- > 0;) {
        s_session_t *s = self->sessions[i];
        int64_t silent = now - s->last_rx_ms;
        if (s->doomed || silent > 2 * (int64_t) s->heartbeat_ms) {
            s_fail(self, i, silent);
            continue;
        }
        if (s->blocked)
            s_flush(self, s);
        if (now - s->last_tx_ms >= (int64_t) s->heartbeat_ms - S_HB_SLACK_MS) {
            proto_client_msg_t hb;
            proto_client_msg_init(&hb, PROTO_MSG_HEARTBEAT);
            hb.heartbeat.sent_ms = (uint64_t) now;
            s_send(self, s, &hb);
        }
    }
    s_gauges(self);
    s_timer_arm(self, now);
    return 0;
}

//  --- CURVE -------------------------------------------------------------------------------------

//  ZeroMQ's socket monitor reports connections that failed the CURVE handshake: a plain
//  client, a client with the wrong server key, a client key curve_clients does not allow.
//  The peer learns nothing (its messages are never delivered, it times out); ops get one
//  warning a second and ctim_client_handshake_failures_total{reason}.
static int s_on_monitor(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    node_client_server_t *self = arg;
    ha_curve_failure_t fail;
    if (ha_curve_failure_read(sock, &self->handshake_rate, 1000, &fail)) {
        const char *reason = ha_curve_reason_str(fail.reason);
        s_count(self->m_handshakes, reason, NULL);
        if (fail.log)
            node_warning(S_SUB, "a client failed the CURVE handshake on %s: %s (event 0x%x "
                         "value 0x%x; %ld more in the last second)", fail.endpoint, reason,
                         (unsigned) fail.event, (unsigned) fail.value, fail.quiet);
    }
    return 0;
}

//  CURVE: the ROUTER becomes a CURVE server with the node's certificate, and the process's
//  ZAP handler (ha_curve; czmq's zauth would take the one ZAP endpoint from the cluster
//  bus) lets in, for the domain "ctim-client", any client key (encryption only) or those
//  whose public certificates are in curve_clients (read again when the folder changes).
//  Runs before the bind.  Returns 0 or a negative errno after logging why.
static int s_curve_start(node_client_server_t *self)
{
    const node_client_api_cfg_t *cfg = self->cfg;
    if (!*cfg->curve_cert)
        return 0;
    //  zcert_load reads FILE_secret first, then FILE: either name of the pair works.
    ha_curve_cert_t cert;
    if (ha_curve_cert_load(cfg->curve_cert, &cert) != 0) {
        node_error(S_SUB, "client_api.curve_cert %s is not a CURVE certificate with its "
                   "secret key (zcert_save_secret)", cfg->curve_cert);
        return -EINVAL;
    }
    //  The handler answers at once; this wait happens at start only.
    self->auth = ha_curve_auth_new("ctim-client", !*cfg->curve_clients, cfg->curve_clients,
                                   NULL, 0);
    if (!self->auth)
        return -ENOMEM;
    ha_curve_server(self->router, &cert, "ctim-client");
    node_notice(S_SUB, "client API encrypted with CURVE: server key %s, clients %s",
                cert.public_txt, *cfg->curve_clients ? cfg->curve_clients : "any key");
    self->monitor = ha_curve_monitor_new(self->router, HA_CURVE_FAILED_EVENTS);
    if (self->monitor && zloop_reader(self->loop, self->monitor, s_on_monitor, self) != 0)
        ha_curve_monitor_destroy(self->router, &self->monitor);
    if (!self->monitor)
        node_warning(S_SUB, "no socket monitor: failed CURVE handshakes will not be logged");
    return 0;
}

static void s_curve_stop(node_client_server_t *self)
{
    if (self->monitor)
        zloop_reader_end(self->loop, self->monitor);
    ha_curve_monitor_destroy(self->router, &self->monitor);
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
    self->watches = node_ptrmap_new();
    self->guard = node_client_guard_new(metrics);
    if (!self->out || !self->watches || !self->guard) {
        node_client_guard_destroy(&self->guard);
        zhashx_destroy(&self->watches);
        free(self->out);
        free(self);
        return NULL;
    }
    self->loop = loop;
    self->cfg = cfg;
    self->users = users;
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
        self->m_resumes = node_metrics_counter(metrics, "client_resumes",
            "Hellos with a resume token, by outcome (resumed, resumed-with-gap, new-session).",
            "outcome");
        self->m_lost = node_metrics_counter(metrics, "client_events_lost",
            "Events an application never got (replay buffer overrun), announced by EventsLost.",
            NULL);
        node_metric_add(self->m_lost, NULL, 0);
        self->m_overflows = node_metrics_counter(metrics, "client_output_overflows",
            "Sessions cut off because their application read nothing while replies piled up.",
            NULL);
        self->m_handshakes = node_metrics_counter(metrics, "client_handshake_failures",
            "Connections that failed the CURVE handshake, by reason.", "reason");
        self->m_replay = node_metrics_gauge(metrics, "client_replay_events",
            "Events held in the sessions' replay buffers now.", NULL);
        node_metric_set(self->m_replay, NULL, 0);
        self->m_adopted = node_metrics_counter(metrics, "client_sessions_adopted",
            "Sessions of another node resumed here from the cluster's replicated state.", NULL);
        node_metric_add(self->m_adopted, NULL, 0);
    }
    return self;
}

void node_client_server_destroy(node_client_server_t **self_p)
{
    node_client_server_t *self = *self_p;
    if (!self)
        return;
    s_parked_drop(self);
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
    node_client_guard_destroy(&self->guard);
    if (self->timer_id > 0)
        zloop_timer_end(self->loop, self->timer_id);
    if (self->router) {
        zloop_reader_end(self->loop, self->router);
        s_curve_stop(self);
        zsock_destroy(&self->router);
    }
    ha_curve_auth_destroy(&self->auth);
    zhashx_destroy(&self->watches);
    free(self->sessions);
    free(self->out);
    free(self);
    *self_p = NULL;
}

void node_client_server_listener(node_client_server_t *self, node_pbx_listener_t *listener)
{
    *listener = (node_pbx_listener_t){.ctx = self,
                                      .on_event = s_dispatch_event,
                                      .on_state = s_dispatch_state,
                                      .on_broadcast = s_on_broadcast,
                                      .on_watch_monitored = s_dispatch_monitored,
                                      .on_watch_unmonitored = s_dispatch_unmonitored,
                                      .on_watch_stale = s_dispatch_stale};
}

void node_client_server_attach(node_client_server_t *self, node_pbx_t *pbx, int request_timeout_ms)
{
    self->pbx = pbx;
    self->request_timeout_ms = request_timeout_ms;
    node_client_guard_attach(self->guard, pbx, request_timeout_ms);
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
    //  Mandatory: a send to a full or unknown peer fails (EAGAIN, EHOSTUNREACH) instead of
    //  vanishing, so the session keeps what it could not send (s_send).  Handover: an
    //  application that reconnects under the identity it chose itself takes it over.
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_router_handover(self->router, 1);
    zsock_set_sndhwm(self->router, self->cfg->send_hwm);
    int rc = s_curve_start(self);
    char ep[NODE_NAME_MAX + 32];
    int want = port_override > 0 ? port_override : port_override < 0 ? 0 : self->cfg->port;
    if (want > 0)
        snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:%d" : "tcp://%s:%d", addr, want);
    else
        snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:*" : "tcp://%s:*", addr);
    int port = rc == 0 ? zsock_bind(self->router, "%s", ep) : -1;
    if (rc == 0 && port < 0) {
        rc = errno ? -errno : -EADDRINUSE;
        node_error(S_SUB, "cannot listen on %s: %s", ep, strerror(-rc));
    }
    if (rc == 0 && zloop_reader(self->loop, self->router, s_on_router, self) != 0)
        rc = -ENOMEM;
    if (rc) {
        s_curve_stop(self);
        zsock_destroy(&self->router);
        //  After the ROUTER: ZeroMQ lets any key in while a CURVE server has no ZAP handler.
        ha_curve_auth_destroy(&self->auth);
        return rc;
    }
    self->port = port;
    zloop_reader_set_tolerant(self->loop, self->router);
    node_notice(S_SUB, "client API listening on %s:%d%s", addr, port,
                self->auth ? " (CURVE)" : "");
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
    return self && (zhashx_lookup(self->watches, watch) != NULL ||
                    node_client_guard_owns(self->guard, watch));
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

void node_client_server_cluster(node_client_server_t *self, const node_client_cluster_t *hooks)
{
    self->cluster = hooks ? *hooks : (node_client_cluster_t){0};
    for (size_t i = 0; i < self->count; i++) {
        s_session_t *s = self->sessions[i];
        s_publish_session(self, s);
        for (size_t j = 0; j < s->line_count; j++)
            if (s->lines[j]->active)
                s_publish_line(self, s, s->lines[j]->number, s->lines[j]->failure_number, true);
    }
}

void node_client_server_arrivals(node_client_server_t *self, void (*fn)(void *ctx), void *ctx)
{
    self->arrival = fn;
    self->arrival_ctx = ctx;
}

size_t node_client_server_check_moved(node_client_server_t *self,
                                      bool (*moved)(void *ctx, const char *hash), void *ctx)
{
    size_t n = 0;
    for (size_t i = self->count; i-- > 0;) {
        s_session_t *s = self->sessions[i];
        char hash[NODE_CLIENT_HASH_LEN + 1];  //  16 bytes in hex
        if (!s->has_token)
            continue;
        node_client_calls_id_text(s->token_hash, NODE_CLIENT_HASH_LEN / 2, hash, sizeof hash);
        if (!moved(ctx, hash))
            continue;
        node_notice(S_SUB, "app moved session=%" PRIu64 " user=%s peer=%s lines=%zu: it resumed "
                    "on another node", s->id, s->user, s->peer, s->line_count);
        s_session_close(self, i, "resumed-elsewhere");
        n++;
    }
    return n;
}

size_t node_client_server_guarded_count(const node_client_server_t *self)
{
    return node_client_guard_count(self->guard);
}

void node_client_server_set_verifier(node_client_server_t *self, node_verifier_t *verifier)
{
    self->verifier = verifier;
}

node_client_guard_t *node_client_server_guard(node_client_server_t *self)
{
    return self ? self->guard : NULL;
}

static void s_session_json(const node_client_server_t *self, const s_session_t *s, int64_t now,
                           FILE *out)
{
    char when[32];
    struct tm tm;
    gmtime_r(&s->connected_at, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, "{\"session\":\"%s-%" PRIu64 "\",\"user\":", self->node_id, s->id);
    node_http_json_str(out, s->user);
    fprintf(out, ",\"peer\":");
    node_http_json_str(out, s->peer);
    fprintf(out, ",\"client\":");
    node_http_json_str(out, s->client);
    fprintf(out,
            ",\"connected_at\":\"%s\",\"heartbeat_ms\":%" PRIu32 ",\"idle_ms\":%" PRId64
            ",\"seq\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"acked\":%" PRIu64
            ",\"replay_events\":%zu,\"replay_bytes\":%zu,\"queued\":%zu,\"blocked\":%s"
            ",\"events_lost\":%" PRIu64 ",\"resumes\":%" PRIu64 ",\"lines\":[",
            when, s->heartbeat_ms, now - s->last_rx_ms, s->seq, s->sent_seq, s->acked,
            node_client_replay_count(s->replay), node_client_replay_bytes(s->replay),
            s->ctl_count, s->blocked ? "true" : "false", s->events_lost, s->resumes);
    for (size_t j = 0; j < s->line_count; j++) {
        const s_line_t *line = s->lines[j];
        fprintf(out, "%s{\"line\":", j ? "," : "");
        node_http_json_str(out, line->number);
        fprintf(out, ",\"active\":%s,\"failure_number\":", line->active ? "true" : "false");
        node_http_json_str(out, line->failure_number);
        fputc('}', out);
    }
    fputs("]}", out);
}

char *node_client_server_status_json(const node_client_server_t *self)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    int64_t now = s_now_ms();
    fprintf(out, "{\"port\":%d,\"curve\":%s,\"sessions\":[", node_client_server_port(self),
            self->auth ? "true" : "false");
    for (size_t i = 0; i < self->count; i++) {
        if (i)
            fputc(',', out);
        s_session_json(self, self->sessions[i], now, out);
    }
    fputs("],\"guarded\":", out);
    node_client_guard_status_json(self->guard, out);
    fputc('}', out);
    if (fclose(out)) {
        free(text);
        return NULL;
    }
    return text;
}
