//  node_client_server: the client API front end (see the header).  One ROUTER socket on
//  the zloop; sessions keyed by the ROUTER identity; requests and watches go to node_pbx.
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "csta.h"
#include "node_client_server.h"
#include "node_log.h"
#include "proto.h"

#define S_SUB "client"
#define S_IDENTITY_MAX 256          //  ZeroMQ routing ids are at most 255 bytes
#define S_LINES_MAX 1024            //  lines one session may open
#define S_TICK_MS 25                //  heartbeat check granularity: failure is this late at most
#define S_OUT_MAX (64 * 1024)       //  an encoded frame (no line lists are sent yet)
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
    char disconnected[PROTO_CALL_ID_MAX + 1];   //  the call last reported disconnected
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

//  A request at the PBX.  Its reply comes exactly once, possibly after the session or
//  even the server went (server NULL then): it carries the session id, never a pointer.
typedef struct s_req {
    node_client_server_t *server;
    uint64_t session_id;
    uint32_t request_id;
    proto_op_t op;
    struct s_req *prev, *next;
} s_req_t;

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

//  Hex text back to a CSTA call id.  Returns the length, or -1 for text that is not one.
static int s_unhex(const char *text, uint8_t *out, size_t cap)
{
    size_t n = strlen(text);
    if (n == 0 || n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(text + i, "%2x", &v) != 1 || !isxdigit((unsigned char) text[i]) ||
            !isxdigit((unsigned char) text[i + 1]))
            return -1;
        out[i / 2] = (uint8_t) v;
    }
    return (int) (n / 2);
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
static void s_session_close(node_client_server_t *self, size_t i, const char *reason)
{
    s_session_t *s = self->sessions[i];
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

//  --- CSTA → proto ---------------------------------------------------------------------------

//  A CSTA UniversalFailure as a Result (client.proto's Result comments).
static proto_result_t s_result_of_error(const csta_error_t *e)
{
    if (!e->has_parameter)
        return PROTO_RESULT_ERROR;
    switch (e->category) {
    case CSTA_ERR_OPERATION:
        switch (e->value) {
        case CSTA_OPERR_INVALID_DEVICE_ID:
        case CSTA_OPERR_INVALID_CALLING_DEVICE:
            return PROTO_RESULT_INVALID_LINE;
        case CSTA_OPERR_INVALID_CALL_ID:
        case CSTA_OPERR_INVALID_CONNECTION_ID:
            return PROTO_RESULT_INVALID_CALL;
        case CSTA_OPERR_INVALID_CALLED_DEVICE:
        case CSTA_OPERR_INVALID_FORWARDING_DESTINATION:
        case CSTA_OPERR_INVALID_DESTINATION:
            return PROTO_RESULT_INVALID_DESTINATION;
        case CSTA_OPERR_SERVICE_NOT_SUPPORTED:
            return PROTO_RESULT_NOT_SUPPORTED;
        case CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE:
        case CSTA_OPERR_PRIVILEGE_VIOLATION_CALLED_DEVICE:
        case CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE:
        case CSTA_OPERR_SECURITY_VIOLATION:
            return PROTO_RESULT_ACCESS_DENIED;
        default:
            return PROTO_RESULT_ERROR;
        }
    case CSTA_ERR_SECURITY:
        return PROTO_RESULT_ACCESS_DENIED;
    case CSTA_ERR_STATE:
        return PROTO_RESULT_INVALID_STATE;
    case CSTA_ERR_SYSTEM_RESOURCE:
        return e->value == CSTA_SYSERR_RESOURCE_BUSY ? PROTO_RESULT_BUSY
                                                     : PROTO_RESULT_RESOURCE_UNAVAILABLE;
    case CSTA_ERR_SUBSCRIBED_RESOURCE:
        return PROTO_RESULT_RESOURCE_UNAVAILABLE;
    case CSTA_ERR_PERFORMANCE:
        return PROTO_RESULT_PBX_TIMEOUT;
    default:
        return PROTO_RESULT_ERROR;
    }
}

static const char *s_category_str(csta_err_category_t c)
{
    static const char *const names[] = {"operation", "security", "stateIncompatibility",
                                        "systemResourceAvailability",
                                        "subscribedResourceAvailability",
                                        "performanceManagement", "privateData", "unspecified"};
    return (unsigned) c < sizeof names / sizeof *names ? names[c] : "?";
}

//  The Result of a node_pbx status < 0 (no answer from the PBX).
static proto_result_t s_result_of_status(int status)
{
    switch (status) {
    case -ETIMEDOUT: return PROTO_RESULT_PBX_TIMEOUT;
    case -ENOTCONN: return PROTO_RESULT_LINK_DOWN;
    case -ENOBUFS: return PROTO_RESULT_BUSY;
    default: return PROTO_RESULT_ERROR;
    }
}

//  The Result and text of a PBX answer (status, apdu) to a request; *apdu_out holds the
//  decoded answer when the result is OK (the caller clears it).
static proto_result_t s_result_of_answer(int status, const uint8_t *apdu, size_t len,
                                         csta_apdu_t *decoded, char *text, size_t cap)
{
    csta_apdu_init(decoded, CSTA_APDU_NONE);
    if (status < 0 && status != -EREMOTEIO) {
        snprintf(text, cap, "no answer from the PBX: %s", strerror(-status));
        return s_result_of_status(status);
    }
    if (!apdu || csta_apdu_decode(decoded, apdu, len) != 0) {
        csta_apdu_clear(decoded);
        snprintf(text, cap, "the PBX's answer does not parse");
        return PROTO_RESULT_ERROR;
    }
    switch (decoded->kind) {
    case CSTA_APDU_RESULT:
        *text = '\0';
        return PROTO_RESULT_OK;
    case CSTA_APDU_ERROR:
        snprintf(text, cap, "CSTA error %s/%ld", s_category_str(decoded->error.category),
                 decoded->error.value);
        return s_result_of_error(&decoded->error);
    default:
        snprintf(text, cap, "the PBX rejected the request (%s)",
                 csta_apdu_kind_str(decoded->kind));
        return PROTO_RESULT_ERROR;
    }
}

//  --- Events ----------------------------------------------------------------------------------

static void s_call_id_text(const csta_conn_t *c, char *out, size_t cap)
{
    s_hex(c->call_id, c->call_id_len, out, cap);
}

static bool s_is_line(const csta_device_t *d, const char *number)
{
    return d->kind != CSTA_DEV_ABSENT && strcmp(d->digits, number) == 0;
}

static void s_send_state(node_client_server_t *self, s_line_t *line, const csta_conn_t *conn,
                         proto_call_state_t state, const csta_device_t *calling,
                         const csta_device_t *called)
{
    s_session_t *s = line->session;
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_EVENT);
    m.event.seq = ++s->seq;
    m.event.kind = PROTO_EVENT_CALL;
    snprintf(m.event.line, sizeof m.event.line, "%s", line->number);
    proto_call_info_t *c = &m.event.call;
    s_call_id_text(conn, c->call_id, sizeof c->call_id);
    c->state = state;
    if (calling && calling->kind != CSTA_DEV_ABSENT)
        snprintf(c->caller_number, sizeof c->caller_number, "%s", calling->digits);
    if (called && called->kind != CSTA_DEV_ABSENT)
        snprintf(c->called_number, sizeof c->called_number, "%s", called->digits);
    s_send(self, s, &m);
    if (self->m_events)
        node_metric_add(self->m_events, NULL, 1);
}

//  A CSTAEventReport of a watched line as call states (ECMA-269 connection states, seen
//  from the line): Delivered is offering where it alerts and ringback elsewhere;
//  ConnectionCleared is disconnected, and idle too where the line's own connection went.
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
    const char *n = line->number;
    switch (e->type) {
    case CSTA_EV_DELIVERED:
        s_send_state(self, line, &e->delivered.connection,
                     s_is_line(&e->delivered.alerting, n) ? PROTO_CALL_OFFERING
                                                           : PROTO_CALL_RINGBACK,
                     &e->delivered.calling, &e->delivered.called);
        break;
    case CSTA_EV_ESTABLISHED:
        s_send_state(self, line, &e->established.established_connection, PROTO_CALL_CONNECTED,
                     &e->established.calling, &e->established.called);
        break;
    case CSTA_EV_CONNECTION_CLEARED: {
        //  The far end left: disconnected (the line is still in the call).  The line's own
        //  connection went: idle, after disconnected unless that was already said.
        const csta_connection_cleared_t *cc = &e->connection_cleared;
        char cid[PROTO_CALL_ID_MAX + 1];
        s_call_id_text(&cc->dropped_connection, cid, sizeof cid);
        bool own = s_is_line(&cc->releasing, n) || s_is_line(&cc->dropped_connection.device, n);
        if (!own || strcmp(line->disconnected, cid) != 0)
            s_send_state(self, line, &cc->dropped_connection, PROTO_CALL_DISCONNECTED, NULL,
                         NULL);
        snprintf(line->disconnected, sizeof line->disconnected, "%s", own ? "" : cid);
        if (own)
            s_send_state(self, line, &cc->dropped_connection, PROTO_CALL_IDLE, NULL, NULL);
        break;
    }
    case CSTA_EV_HELD:
        if (s_is_line(&e->held.holding, n))
            s_send_state(self, line, &e->held.held_connection, PROTO_CALL_ON_HOLD, NULL, NULL);
        break;
    case CSTA_EV_RETRIEVED:
        if (s_is_line(&e->retrieved.retrieving, n))
            s_send_state(self, line, &e->retrieved.retrieved_connection, PROTO_CALL_CONNECTED,
                         NULL, NULL);
        break;
    case CSTA_EV_SERVICE_INITIATED:
        s_send_state(self, line, &e->service_initiated.initiated_connection,
                     PROTO_CALL_DIAL_TONE, NULL, &e->service_initiated.called);
        break;
    case CSTA_EV_ORIGINATED:
        s_send_state(self, line, &e->originated.originated_connection, PROTO_CALL_DIALLING,
                     &e->originated.calling, &e->originated.called);
        break;
    default:
        node_debug(S_SUB, "line %s: %s not mapped", n, csta_event_name(e->type));
        break;
    }
    csta_apdu_clear(&a);
}

//  The link went down or came back: every open line is out of / back in service.
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
        }
    }
}

static void s_on_broadcast(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) ctx;
    (void) apdu;
    (void) len;
    (void) keys;
}

//  --- Requests ------------------------------------------------------------------------------

static void s_on_watch_done(void *watch_arg, int status, const uint8_t *error_apdu, size_t len)
{
    s_line_t *line = watch_arg;
    s_session_t *s = line->session;
    node_client_server_t *self = line->server;
    uint32_t rid = line->open_request_id;
    line->open_request_id = 0;
    if (status == 0) {
        line->active = true;
        s_reply(self, s, rid, PROTO_OP_OPEN_LINE, PROTO_RESULT_OK, NULL, NULL);
        return;
    }
    csta_apdu_t a;
    char text[PROTO_TEXT_MAX + 1];
    proto_result_t r = s_result_of_answer(status, error_apdu, len, &a, text, sizeof text);
    csta_apdu_clear(&a);
    if (r == PROTO_RESULT_OK)
        r = PROTO_RESULT_ERROR;
    node_info(S_SUB, "session=%" PRIu64 " open line %s failed: %s", s->id, line->number, text);
    size_t index;
    if (s_line_find(s, line->number, &index) == line)
        s_line_remove(self, s, index);  //  unwatch from inside done: allowed (node_pbx.h)
    s_reply(self, s, rid, PROTO_OP_OPEN_LINE, r, text, NULL);
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
    }
    s_session_t *s = self ? s_session_by_id(self, req->session_id) : NULL;
    if (s) {
        csta_apdu_t a;
        char text[PROTO_TEXT_MAX + 1];
        char call_id[PROTO_CALL_ID_MAX + 1] = "";
        proto_result_t r = s_result_of_answer(status, apdu, len, &a, text, sizeof text);
        if (r == PROTO_RESULT_OK && req->op == PROTO_OP_MAKE_CALL && a.has_result &&
            !a.no_data)
            s_call_id_text(&a.call.make_call_res.calling, call_id, sizeof call_id);
        csta_apdu_clear(&a);
        if (r != PROTO_RESULT_OK)
            node_info(S_SUB, "session=%" PRIu64 " request=%" PRIu32 " %s: %s: %s", s->id,
                      req->request_id, proto_op_str(req->op), proto_result_str(r), text);
        s_reply(self, s, req->request_id, req->op, r, text, call_id);
    }
    free(req);
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
        line->open_request_id = rq->request_id;
        line->watch = node_pbx_watch(self->pbx, &dev, s_on_watch_done, line);
    }
    if (!line || !line->watch) {
        free(line);
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_INVALID_LINE,
                "not a line number", NULL);
        return;
    }
    if (zhashx_insert(self->watches, line->watch, line) != 0) {
        node_pbx_unwatch(self->pbx, &line->watch);
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

//  MakeCall, HangUp (ClearConnection) and Answer as CSTA invokes (ECMA-269 17.2.10,
//  17.2.5, 17.2.2), sent for an open line of the session.
static void s_call_request(node_client_server_t *self, s_session_t *s, const proto_request_t *rq)
{
    const proto_call_ref_t *ref = rq->op == PROTO_OP_MAKE_CALL ? &rq->target : &rq->call;
    s_line_t *line = s_line_find(s, ref->line, NULL);
    if (!line || !line->active) {
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINE_NOT_OPEN, NULL, NULL);
        return;
    }
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;    //  replaced by node_pbx
    if (rq->op == PROTO_OP_MAKE_CALL) {
        if (!*ref->number) {
            s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_BAD_REQUEST,
                    "no number to call", NULL);
            return;
        }
        a.opcode = CSTA_OP_MAKE_CALL;
        csta_device_set(&a.call.make_call.calling, line->number);
        csta_device_set(&a.call.make_call.called, ref->number);
    } else {
        uint8_t cid[CSTA_CALL_ID_MAX];
        int n = s_unhex(ref->call_id, cid, sizeof cid);
        if (n < 0) {
            s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_INVALID_CALL,
                    "not a call id of this node", NULL);
            return;
        }
        if (rq->op == PROTO_OP_HANG_UP) {
            a.opcode = CSTA_OP_CLEAR_CONNECTION;
            csta_conn_set(&a.call.clear_connection.connection, cid, (size_t) n, line->number);
            a.call.clear_connection.reason = CSTA_CAUSE_ABSENT;
        } else {
            a.opcode = CSTA_OP_ANSWER_CALL;
            csta_conn_set(&a.call.answer_call.call_to_be_answered, cid, (size_t) n,
                          line->number);
        }
    }
    uint8_t buf[1024];
    size_t n = 0;
    s_req_t *req = NULL;
    int rc = csta_apdu_encode(&a, buf, sizeof buf, &n);
    if (rc == 0) {
        req = calloc(1, sizeof *req);
        rc = req ? 0 : -ENOMEM;
    }
    if (rc == 0) {
        *req = (s_req_t){self, s->id, rq->request_id, rq->op, NULL, self->reqs};
        rc = node_pbx_request(self->pbx, buf, n, self->request_timeout_ms, s_on_reply, NULL, req);
        if (rc == 0) {
            if (self->reqs)
                self->reqs->prev = req;
            self->reqs = req;
            return;
        }
        free(req);
    }
    node_warning(S_SUB, "session=%" PRIu64 " %s not sent: %s", s->id, proto_op_str(rq->op),
                 strerror(-rc));
    s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_ERROR, strerror(-rc), NULL);
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
    case PROTO_OP_MAKE_CALL:
    case PROTO_OP_HANG_UP:
    case PROTO_OP_ANSWER:
        if (self->pbx)
            s_call_request(self, s, rq);
        else
            s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_LINK_DOWN, "no PBX", NULL);
        break;
    default:
        s_reply(self, s, rq->request_id, rq->op, PROTO_RESULT_NOT_SUPPORTED,
                "not implemented by this node yet", NULL);
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
