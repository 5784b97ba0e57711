//  ctim_client: the libctim handle -- session with one node, heartbeats, failover, requests.
//
//  One DEALER for the handle's life (so ctim_fd() is stable); moving to another server is
//  a disconnect from the old endpoint (dropping what it already queued) and a connect to the
//  next.  A frame from the old server that still slips through is mostly harmless: a reply
//  for a request already answered is dropped, and a Welcome is only taken while a Hello is
//  outstanding.
#include "ctim.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define S_SERVERS_MAX 16
#define S_ENDPOINT_MAX 256
#define S_SEND_MAX 4096         //  our messages are small; encode reports -ENOSPC otherwise
#define S_RECV_BURST 256        //  messages per dispatch before giving the application a turn
#define S_BACKOFF_MIN_MS 50

typedef enum {
    S_IDLE,                     //  ctim_connect not called yet
    S_WAIT,                     //  pausing before the next attempt (backoff)
    S_HELLO,                    //  Hello sent, waiting for Welcome
    S_RESUMING,                 //  Welcome taken, waiting for ResumeResult
    S_UP,                       //  logged in
    S_STOPPED,                  //  login refused
} s_state_t;

typedef struct s_request_s {
    struct s_request_s *next;
    int id;
    bool internal;              //  a re-open the library made itself: no application reply
    bool sent;
    int64_t expires_at;         //  monotonic ms
    proto_request_t req;
} s_request_t;

typedef struct s_line_s {
    struct s_line_s *next;
    char number[PROTO_NUMBER_MAX + 1];
    char failure_number[PROTO_NUMBER_MAX + 1];
    bool open;                  //  the node confirmed it (or a session resumed with it)
    bool in_service;            //  as last reported to the application
} s_line_t;

struct ctim_s {
    ctim_cfg_t cfg;             //  strings below are ours
    char *servers_text;
    char *user;
    char *password;
    char *client;
    char servers[S_SERVERS_MAX][S_ENDPOINT_MAX];
    size_t server_count;
    size_t server;              //  index in use
    bool connected;             //  the DEALER is connected to servers[server]
    zsock_t *dealer;
    s_state_t state;
    uint32_t heartbeat_ms;      //  negotiated
    int64_t last_rx;            //  monotonic ms of the last message from the server
    int64_t next_heartbeat;
    int64_t deadline;           //  S_HELLO, S_RESUMING: give up; S_WAIT: next attempt
    int64_t up_since;
    uint32_t backoff_ms;        //  pause before the next attempt (doubles, capped)
    char resume_token[PROTO_TOKEN_MAX + 1];
    uint64_t last_seq;
    int next_id;
    s_request_t *requests;      //  newest first
    s_line_t *lines;
    uint8_t buf[S_SEND_MAX];
};

static const char *s_result_names[] = {
    [CTIM_RESULT_OK] = "ok",
    [CTIM_RESULT_ERROR] = "error",
    [CTIM_RESULT_BAD_REQUEST] = "bad-request",
    [CTIM_RESULT_UNSUPPORTED_VERSION] = "unsupported-version",
    [CTIM_RESULT_LOGIN_FAILED] = "login-failed",
    [CTIM_RESULT_NOT_LOGGED_IN] = "not-logged-in",
    [CTIM_RESULT_ACCESS_DENIED] = "access-denied",
    [CTIM_RESULT_LINE_NOT_OPEN] = "line-not-open",
    [CTIM_RESULT_INVALID_LINE] = "invalid-line",
    [CTIM_RESULT_INVALID_CALL] = "invalid-call",
    [CTIM_RESULT_INVALID_DESTINATION] = "invalid-destination",
    [CTIM_RESULT_INVALID_STATE] = "invalid-state",
    [CTIM_RESULT_BUSY] = "busy",
    [CTIM_RESULT_RESOURCE_UNAVAILABLE] = "resource-unavailable",
    [CTIM_RESULT_NOT_SUPPORTED] = "not-supported",
    [CTIM_RESULT_PBX_TIMEOUT] = "pbx-timeout",
    [CTIM_RESULT_LINK_DOWN] = "link-down",
    [CTIM_RESULT_INTERRUPTED] = "interrupted",
};

const char *ctim_result_str(ctim_result_t result)
{
    if (result == CTIM_RESULT_SERVER_LOST)
        return "server-lost";
    if (result == CTIM_RESULT_TIMEOUT)
        return "timeout";
    if ((int)result > 0 && (size_t)result < sizeof s_result_names / sizeof *s_result_names &&
        s_result_names[result])
        return s_result_names[result];
    return "unknown";
}

const char *ctim_call_state_str(ctim_call_state_t state)
{
    //  The public values equal proto's, which equal client.proto's CallState.
    if ((int)state > 0 && (int)state < PROTO_CALL_COUNT_)
        return proto_call_state_str((proto_call_state_t)state);
    return "unknown";
}

const char *ctim_link_str(ctim_link_t link)
{
    switch (link) {
    case CTIM_LINK_UP:
        return "up";
    case CTIM_LINK_DOWN:
        return "down";
    case CTIM_LINK_LOGIN_FAILED:
        return "login-failed";
    }
    return "unknown";
}

//  Map the node's result onto the public code; a value out of range (a newer node) is ERROR.
static ctim_result_t s_result(proto_result_t r)
{
    if (r >= PROTO_RESULT_OK && r <= PROTO_RESULT_INTERRUPTED)
        return (ctim_result_t)r;
    return CTIM_RESULT_ERROR;
}

static ctim_call_state_t s_call_state(proto_call_state_t s)
{
    if (s > PROTO_CALL_UNSPECIFIED && s <= PROTO_CALL_IDLE)
        return (ctim_call_state_t)s;
    return CTIM_CALL_UNKNOWN;
}

static ctim_direction_t s_direction(proto_direction_t d)
{
    if (d > PROTO_DIR_UNSPECIFIED && d <= PROTO_DIR_INTERNAL)
        return (ctim_direction_t)d;
    return CTIM_DIR_UNKNOWN;
}

void ctim_cfg_init(ctim_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->heartbeat_ms = 1000;
    cfg->request_timeout_ms = 10000;
    cfg->backoff_max_ms = 5000;
}

static bool s_endpoint_ok(const char *e)
{
    return (strncmp(e, "tcp://", 6) == 0 && e[6]) || (strncmp(e, "ipc://", 6) == 0 && e[6]) ||
           (strncmp(e, "inproc://", 9) == 0 && e[9]);
}

//  Split "a,b,c" into self->servers; false on an empty, unusable or too long entry.
static bool s_parse_servers(ctim_t *self, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= S_ENDPOINT_MAX || self->server_count == S_SERVERS_MAX)
            return false;
        char *dst = self->servers[self->server_count];
        memcpy(dst, p, n);
        dst[n] = '\0';
        if (!s_endpoint_ok(dst))
            return false;
        self->server_count++;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return false;           //  a trailing comma is a typo, not an empty server
    }
    return self->server_count > 0;
}

ctim_t *ctim_new(const ctim_cfg_t *cfg)
{
    if (!cfg || !cfg->servers || !cfg->user || !*cfg->user)
        return NULL;
    if (strlen(cfg->user) > PROTO_NAME_MAX ||
        (cfg->password && strlen(cfg->password) > PROTO_PASSWORD_MAX) ||
        (cfg->client && strlen(cfg->client) > PROTO_TEXT_MAX))
        return NULL;
    ctim_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    if (!self->cfg.heartbeat_ms)
        self->cfg.heartbeat_ms = 1000;
    if (!self->cfg.request_timeout_ms)
        self->cfg.request_timeout_ms = 10000;
    if (!self->cfg.backoff_max_ms)
        self->cfg.backoff_max_ms = 5000;
    self->servers_text = strdup(cfg->servers);
    self->user = strdup(cfg->user);
    self->password = strdup(cfg->password ? cfg->password : "");
    self->client = strdup(cfg->client ? cfg->client : "libctim");
    if (!self->servers_text || !self->user || !self->password || !self->client)
        goto fail;
    self->cfg.servers = self->servers_text;
    self->cfg.user = self->user;
    self->cfg.password = self->password;
    self->cfg.client = self->client;
    if (!s_parse_servers(self, self->servers_text))
        goto fail;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        goto fail;
    //  Nothing queued for a dead server may hold up destroy.
    zsock_set_linger(self->dealer, 0);
    self->heartbeat_ms = self->cfg.heartbeat_ms;
    self->next_id = 1;
    self->state = S_IDLE;
    return self;
fail:
    ctim_destroy(&self);
    return NULL;
}

void ctim_destroy(ctim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctim_t *self = *self_p;
    zsock_destroy(&self->dealer);
    while (self->requests) {
        s_request_t *r = self->requests;
        self->requests = r->next;
        free(r);
    }
    while (self->lines) {
        s_line_t *l = self->lines;
        self->lines = l->next;
        free(l);
    }
    free(self->servers_text);
    free(self->user);
    free(self->password);
    free(self->client);
    free(self);
    *self_p = NULL;
}

int ctim_fd(ctim_t *self)
{
    return zsock_fd(self->dealer);
}

const char *ctim_server(ctim_t *self)
{
    if (self->state == S_IDLE)
        return NULL;
    return self->servers[self->server];
}

bool ctim_is_up(ctim_t *self)
{
    return self->state == S_UP;
}

//  Encode and queue one message to the server.  Returns 0 or a negative errno.
static int s_send(ctim_t *self, const proto_client_msg_t *m)
{
    size_t len = 0;
    int rc = proto_client_encode(m, self->buf, sizeof self->buf, &len);
    if (rc < 0)
        return rc;
    zframe_t *f = zframe_new(self->buf, len);
    if (!f)
        return -ENOMEM;
    //  DONTWAIT: never block the application's loop; a full pipe means the server is not
    //  reading, which the heartbeat will notice.
    if (zframe_send(&f, self->dealer, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&f);
        return -EAGAIN;
    }
    return 0;
}

static void s_send_request(ctim_t *self, s_request_t *r)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    m.request = r->req;
    r->sent = s_send(self, &m) == 0;
}

static s_line_t *s_line_find(ctim_t *self, const char *number)
{
    for (s_line_t *l = self->lines; l; l = l->next)
        if (strcmp(l->number, number) == 0)
            return l;
    return NULL;
}

//  Tell the application a line's service state, once per change.
static void s_line_report(ctim_t *self, s_line_t *l, bool in_service)
{
    if (l->in_service == in_service)
        return;
    l->in_service = in_service;
    if (self->cfg.on_line)
        self->cfg.on_line(self, l->number, in_service, self->cfg.arg);
}

static void s_link_report(ctim_t *self, ctim_link_t link, const char *text)
{
    if (self->cfg.on_link)
        self->cfg.on_link(self, link, self->servers[self->server], text, self->cfg.arg);
}

//  Answer one request to the application (not for internal ones) and free it.
static void s_reply_local(ctim_t *self, s_request_t *r, ctim_result_t result, const char *text)
{
    if (!r->internal && self->cfg.on_reply) {
        ctim_reply_t reply = {
            .request_id = r->id, .result = result, .text = text, .call_id = ""};
        self->cfg.on_reply(self, &reply, self->cfg.arg);
    }
    free(r);
}

//  Leave the current server: disconnect and drop what it already queued to us, so that a
//  late Welcome or reply from it is not taken for the next server's.
static void s_leave(ctim_t *self)
{
    if (!self->connected)
        return;
    zsock_disconnect(self->dealer, "%s", self->servers[self->server]);
    self->connected = false;
    while (zsock_events(self->dealer) & ZMQ_POLLIN) {
        zframe_t *f = zframe_recv(self->dealer);
        if (!f)
            break;
        zframe_destroy(&f);
    }
}

//  Connect the DEALER to servers[index] and say Hello (with the resume token if we have one).
static void s_attempt(ctim_t *self, size_t index, int64_t now)
{
    s_leave(self);
    self->server = index;
    self->connected = zsock_connect(self->dealer, "%s", self->servers[index]) == 0;
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HELLO);
    snprintf(m.hello.user, sizeof m.hello.user, "%s", self->user);
    snprintf(m.hello.password, sizeof m.hello.password, "%s", self->password);
    snprintf(m.hello.client, sizeof m.hello.client, "%s", self->client);
    snprintf(m.hello.resume_token, sizeof m.hello.resume_token, "%s", self->resume_token);
    m.hello.heartbeat_ms = self->cfg.heartbeat_ms;
    m.hello.highest_major = PROTO_VERSION_MAJOR;
    s_send(self, &m);
    self->state = S_HELLO;
    //  A server that does not welcome us within two intervals counts as not answering.
    self->deadline = now + 2 * (int64_t)self->cfg.heartbeat_ms;
}

//  This server failed to answer: pause (backoff, doubling) and try the next one.
static void s_next_server(ctim_t *self, int64_t now)
{
    s_leave(self);
    self->server = (self->server + 1) % self->server_count;
    self->state = S_WAIT;
    self->deadline = now + self->backoff_ms;
    uint32_t next = self->backoff_ms ? self->backoff_ms * 2 : S_BACKOFF_MIN_MS;
    self->backoff_ms = next > self->cfg.backoff_max_ms ? self->cfg.backoff_max_ms : next;
}

//  Where s_server_lost goes next.
typedef enum { S_THEN_NEXT, S_THEN_FIRST, S_THEN_SAME } s_then_t;

//  The session's server is gone (silent, or we leave it, or it forgot us): lines out of
//  service, every request in flight answered SERVER_LOST, and on to the next server (or the
//  first, or the same one) at once.
static void s_server_lost(ctim_t *self, int64_t now, const char *why, s_then_t then)
{
    s_link_report(self, CTIM_LINK_DOWN, why);
    for (s_line_t *l = self->lines; l; l = l->next)
        s_line_report(self, l, false);
    //  Detach first: a callback may issue new requests, which must not be answered here.
    s_request_t *lost = NULL, **keep = &self->requests;
    while (*keep) {
        s_request_t *r = *keep;
        if (r->sent) {
            *keep = r->next;
            r->next = lost;
            lost = r;
        } else
            keep = &r->next;
    }
    while (lost) {
        s_request_t *r = lost;
        lost = r->next;
        s_reply_local(self, r, CTIM_RESULT_SERVER_LOST, why);
    }
    self->backoff_ms = 0;
    s_leave(self);          //  before the index moves: it names the endpoint to disconnect
    if (then == S_THEN_FIRST)
        self->server = self->server_count - 1;  //  s_next_server wraps to 0
    else if (then == S_THEN_SAME)
        self->server = (self->server + self->server_count - 1) % self->server_count;
    s_next_server(self, now);
}

//  Logged in: send what waited, report lines.
static void s_up(ctim_t *self, int64_t now, const char *text)
{
    self->state = S_UP;
    self->up_since = now;
    self->backoff_ms = 0;
    self->next_heartbeat = now + self->heartbeat_ms;
    s_link_report(self, CTIM_LINK_UP, text);
    //  Send what waited, oldest first as the application made them (the list is newest
    //  first: reverse, send, reverse back).
    s_request_t *rev = NULL;
    while (self->requests) {
        s_request_t *r = self->requests;
        self->requests = r->next;
        r->next = rev;
        rev = r;
    }
    bool pipe_ok = true;
    for (s_request_t *r = rev; r && pipe_ok; r = r->next)
        if (!r->sent) {
            s_send_request(self, r);
            pipe_ok = r->sent;  //  a full pipe: the rest wait for their deadline
        }
    while (rev) {
        s_request_t *r = rev;
        rev = r->next;
        r->next = self->requests;
        self->requests = r;
    }
}

static s_request_t *s_request_new(ctim_t *self, proto_op_t op, bool internal)
{
    s_request_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = self->next_id;
    self->next_id = self->next_id == INT32_MAX ? 1 : self->next_id + 1;
    r->internal = internal;
    r->expires_at = zclock_mono() + self->cfg.request_timeout_ms;
    r->req.request_id = (uint32_t)r->id;
    r->req.op = op;
    return r;
}

//  Queue r; send it now when logged in.  Returns its id.
static int s_request_submit(ctim_t *self, s_request_t *r)
{
    r->next = self->requests;
    self->requests = r;
    if (self->state == S_UP)
        s_send_request(self, r);
    return r->id;
}

//  A new session on this server: re-open every line we hold (internal requests).
static void s_reopen_lines(ctim_t *self)
{
    for (s_line_t *l = self->lines; l; l = l->next) {
        s_request_t *r = s_request_new(self, PROTO_OP_OPEN_LINE, true);
        if (!r)
            continue;   //  the line stays out of service; the next session retries
        snprintf(r->req.open_line.line, sizeof r->req.open_line.line, "%s", l->number);
        snprintf(r->req.open_line.failure_number, sizeof r->req.open_line.failure_number, "%s",
                 l->failure_number);
        l->open = false;
        s_request_submit(self, r);
    }
}

//  The reply to request r: update lines for open/close, then tell the application.
static void s_on_reply(ctim_t *self, const proto_reply_t *rep)
{
    s_request_t **pp = &self->requests;
    while (*pp && (uint32_t)(*pp)->id != rep->request_id)
        pp = &(*pp)->next;
    if (!*pp)
        return;     //  already answered (timeout or server lost) or never ours
    s_request_t *r = *pp;
    *pp = r->next;
    ctim_result_t result = s_result(rep->result);
    if (r->req.op == PROTO_OP_OPEN_LINE && result == CTIM_RESULT_OK) {
        s_line_t *l = s_line_find(self, r->req.open_line.line);
        if (!l && (l = calloc(1, sizeof *l))) {
            snprintf(l->number, sizeof l->number, "%s", r->req.open_line.line);
            l->next = self->lines;
            self->lines = l;
        }
        if (l) {
            snprintf(l->failure_number, sizeof l->failure_number, "%s",
                     r->req.open_line.failure_number);
            l->open = true;
        }
        if (!r->internal && self->cfg.on_reply) {
            ctim_reply_t reply = {.request_id = r->id, .result = result, .text = rep->text,
                                  .call_id = rep->call_id};
            self->cfg.on_reply(self, &reply, self->cfg.arg);
        }
        //  Look the line up again: the reply callback may have closed it.
        if ((l = s_line_find(self, r->req.open_line.line)) && l->open)
            s_line_report(self, l, true);
        free(r);
        return;
    }
    if (r->req.op == PROTO_OP_CLOSE_LINE && result == CTIM_RESULT_OK) {
        for (s_line_t **lp = &self->lines; *lp; lp = &(*lp)->next)
            if (strcmp((*lp)->number, r->req.line.line) == 0) {
                s_line_t *l = *lp;
                *lp = l->next;
                free(l);
                break;
            }
    }
    if (!r->internal && self->cfg.on_reply) {
        ctim_reply_t reply = {.request_id = r->id, .result = result, .text = rep->text,
                              .call_id = rep->call_id};
        self->cfg.on_reply(self, &reply, self->cfg.arg);
    }
    free(r);
}

static void s_on_event(ctim_t *self, const proto_event_t *ev)
{
    if (ev->seq > self->last_seq)
        self->last_seq = ev->seq;
    if (ev->kind == PROTO_EVENT_CALL) {
        if (!self->cfg.on_call)
            return;
        ctim_call_event_t ce = {
            .line = ev->line,
            .call_id = ev->call.call_id,
            .state = s_call_state(ev->call.state),
            .direction = s_direction(ev->call.direction),
            .caller_number = ev->call.caller_number,
            .caller_name = ev->call.caller_name,
            .called_number = ev->call.called_number,
            .called_name = ev->call.called_name,
            .cause = ev->call.cause,
        };
        self->cfg.on_call(self, &ce, self->cfg.arg);
    } else if (ev->kind == PROTO_EVENT_SERVICE) {
        s_line_t *l = s_line_find(self, ev->line);
        if (l && l->open)
            s_line_report(self, l, ev->in_service);
    }
    //  Forwarding and CDR events: not in this version's API (README: what is left).
}

//  One decoded message from the current server.
static void s_on_message(ctim_t *self, const proto_client_msg_t *m, int64_t now)
{
    if (self->state != S_HELLO && self->state != S_RESUMING && self->state != S_UP)
        return;     //  left over from a server we left
    switch (m->kind) {
    case PROTO_MSG_WELCOME:
        if (self->state != S_HELLO)
            return;
        self->last_rx = now;
        if (m->welcome.heartbeat_ms)
            self->heartbeat_ms = m->welcome.heartbeat_ms;
        {
            bool had_token = self->resume_token[0] != '\0';
            snprintf(self->resume_token, sizeof self->resume_token, "%s",
                     m->welcome.resume_token);
            if (had_token) {
                //  client.proto: ResumeResult follows the Welcome when Hello had a token.
                self->state = S_RESUMING;
                self->deadline = now + 2 * (int64_t)self->heartbeat_ms;
                self->next_heartbeat = now + self->heartbeat_ms;
            } else {
                self->last_seq = 0;
                s_up(self, now, "new session");
            }
        }
        return;
    case PROTO_MSG_RESUME_RESULT:
        if (self->state != S_RESUMING)
            return;
        self->last_rx = now;
        if (m->resume_result.outcome == PROTO_RESUME_RESUMED ||
            m->resume_result.outcome == PROTO_RESUME_RESUMED_WITH_GAP) {
            //  The node kept our lines open: report them in service, no re-open storm.
            s_up(self, now, "resumed");
            for (s_line_t *l = self->lines; l; l = l->next)
                if (l->open)
                    s_line_report(self, l, true);
        } else {
            self->last_seq = 0;
            s_up(self, now, "new session");
            s_reopen_lines(self);
        }
        return;
    case PROTO_MSG_ERROR:
        if (self->state == S_HELLO && (m->error.result == PROTO_RESULT_LOGIN_FAILED ||
                                       m->error.result == PROTO_RESULT_UNSUPPORTED_VERSION)) {
            //  Every server shares the users: trying the next one would only repeat this.
            self->state = S_STOPPED;
            s_link_report(self, CTIM_LINK_LOGIN_FAILED, m->error.text);
            s_request_t *all = self->requests;
            self->requests = NULL;
            while (all) {
                s_request_t *r = all;
                all = r->next;
                s_reply_local(self, r, s_result(m->error.result), m->error.text);
            }
            return;
        }
        if ((self->state == S_UP || self->state == S_RESUMING) &&
            m->error.result == PROTO_RESULT_NOT_LOGGED_IN) {
            //  The server answers but no longer knows our session (it restarted, or it
            //  declared us failed): the session is lost although the server is alive, so
            //  log in there again rather than take the Error as a sign of life forever.
            s_server_lost(self, now, "server forgot the session", S_THEN_SAME);
            return;
        }
        self->last_rx = now;
        return;
    default:
        break;
    }
    if (self->state == S_HELLO)
        return;     //  nothing else counts before the Welcome
    self->last_rx = now;
    if (m->kind == PROTO_MSG_REPLY)
        s_on_reply(self, &m->reply);
    else if (m->kind == PROTO_MSG_EVENT)
        s_on_event(self, &m->event);
}

static int64_t s_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

//  The earliest monotonic ms at which dispatch has timer work, or INT64_MAX.
static int64_t s_next_due(ctim_t *self)
{
    int64_t due = INT64_MAX;
    switch (self->state) {
    case S_WAIT:
    case S_HELLO:
        due = self->deadline;
        break;
    case S_RESUMING:
        due = s_min(self->deadline, self->last_rx + 2 * (int64_t)self->heartbeat_ms);
        due = s_min(due, self->next_heartbeat);
        break;
    case S_UP:
        due = s_min(self->next_heartbeat, self->last_rx + 2 * (int64_t)self->heartbeat_ms);
        if (self->cfg.failback_after_ms && self->server != 0)
            due = s_min(due, self->up_since + self->cfg.failback_after_ms);
        break;
    default:
        break;
    }
    for (s_request_t *r = self->requests; r; r = r->next)
        due = s_min(due, r->expires_at);
    return due;
}

int ctim_timeout_ms(ctim_t *self)
{
    if (self->state == S_IDLE || self->state == S_STOPPED)
        return -1;
    //  ZMQ_FD is edge-triggered: a frame may already wait with the fd quiet.
    if (zsock_events(self->dealer) & ZMQ_POLLIN)
        return 0;
    int64_t due = s_next_due(self);
    if (due == INT64_MAX)
        return -1;
    int64_t wait = due - zclock_mono();
    if (wait <= 0)
        return 0;
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

int ctim_connect(ctim_t *self)
{
    if (self->state != S_IDLE)
        return -EALREADY;
    self->backoff_ms = 0;
    s_attempt(self, 0, zclock_mono());
    return 0;
}

//  Timers that are due at now.
static void s_timers(ctim_t *self, int64_t now)
{
    switch (self->state) {
    case S_WAIT:
        if (now >= self->deadline)
            s_attempt(self, self->server, now);
        break;
    case S_HELLO:
        if (now >= self->deadline)
            s_next_server(self, now);
        break;
    case S_RESUMING:
    case S_UP:
        //  Two whole intervals without any message: the server is silent.
        if (now >= self->last_rx + 2 * (int64_t)self->heartbeat_ms) {
            s_server_lost(self, now, "server silent", S_THEN_NEXT);
            break;
        }
        if (self->state == S_RESUMING && now >= self->deadline) {
            //  A node that welcomes but never says how the resume went: treat as new.
            self->last_seq = 0;
            s_up(self, now, "new session (no resume result)");
            s_reopen_lines(self);
        }
        if (now >= self->next_heartbeat) {
            proto_client_msg_t m;
            proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
            m.heartbeat.sent_ms = (uint64_t)now;
            m.heartbeat.last_seq_acked = self->last_seq;
            s_send(self, &m);
            self->next_heartbeat = now + self->heartbeat_ms;
        }
        if (self->state == S_UP && self->cfg.failback_after_ms && self->server != 0 &&
            now >= self->up_since + self->cfg.failback_after_ms) {
            //  Back to the preferred server; we leave this one, resume token in hand.
            s_server_lost(self, now, "failback", S_THEN_FIRST);
        }
        break;
    default:
        break;
    }
    //  Requests nobody answered in time get TIMEOUT (detached first, see s_server_lost).
    s_request_t *late = NULL, **pp = &self->requests;
    while (*pp) {
        s_request_t *r = *pp;
        if (now >= r->expires_at) {
            *pp = r->next;
            r->next = late;
            late = r;
        } else
            pp = &r->next;
    }
    while (late) {
        s_request_t *r = late;
        late = r->next;
        s_reply_local(self, r, CTIM_RESULT_TIMEOUT, "no answer from the server");
    }
}

int ctim_dispatch(ctim_t *self)
{
    if (self->state == S_IDLE || self->state == S_STOPPED)
        return -ENOTCONN;
    for (int i = 0; i < S_RECV_BURST; i++) {
        if (!(zsock_events(self->dealer) & ZMQ_POLLIN))
            break;
        zframe_t *f = zframe_recv(self->dealer);
        if (!f)
            break;
        proto_client_msg_t m;
        int rc = proto_client_decode(&m, zframe_data(f), zframe_size(f));
        zframe_destroy(&f);
        //  A frame we cannot read is dropped; it still is not silence, but only a message
        //  we understand proves the server is alive, so it does not reset the timer.
        if (rc == 0)
            s_on_message(self, &m, zclock_mono());
        proto_client_msg_clear(&m);
        if (self->state == S_STOPPED)
            return -ENOTCONN;
    }
    s_timers(self, zclock_mono());
    return self->state == S_STOPPED ? -ENOTCONN : 0;
}

static bool s_arg_ok(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

static int s_usable(ctim_t *self)
{
    return self->state == S_IDLE || self->state == S_STOPPED ? -ENOTCONN : 0;
}

int ctim_open_line(ctim_t *self, const char *line, const char *failure_number)
{
    if (!s_arg_ok(line, PROTO_NUMBER_MAX) ||
        (failure_number && strlen(failure_number) > PROTO_NUMBER_MAX))
        return -EINVAL;
    if (s_usable(self))
        return -ENOTCONN;
    s_request_t *r = s_request_new(self, PROTO_OP_OPEN_LINE, false);
    if (!r)
        return -ENOMEM;
    snprintf(r->req.open_line.line, sizeof r->req.open_line.line, "%s", line);
    snprintf(r->req.open_line.failure_number, sizeof r->req.open_line.failure_number, "%s",
             failure_number ? failure_number : "");
    return s_request_submit(self, r);
}

int ctim_close_line(ctim_t *self, const char *line)
{
    if (!s_arg_ok(line, PROTO_NUMBER_MAX))
        return -EINVAL;
    if (s_usable(self))
        return -ENOTCONN;
    s_request_t *r = s_request_new(self, PROTO_OP_CLOSE_LINE, false);
    if (!r)
        return -ENOMEM;
    snprintf(r->req.line.line, sizeof r->req.line.line, "%s", line);
    return s_request_submit(self, r);
}

int ctim_make_call(ctim_t *self, const char *line, const char *number)
{
    if (!s_arg_ok(line, PROTO_NUMBER_MAX) || !s_arg_ok(number, PROTO_NUMBER_MAX))
        return -EINVAL;
    if (s_usable(self))
        return -ENOTCONN;
    s_request_t *r = s_request_new(self, PROTO_OP_MAKE_CALL, false);
    if (!r)
        return -ENOMEM;
    snprintf(r->req.target.line, sizeof r->req.target.line, "%s", line);
    snprintf(r->req.target.number, sizeof r->req.target.number, "%s", number);
    return s_request_submit(self, r);
}

//  Answer and hang up share the CallRef shape (line + call id).
static int s_call_op(ctim_t *self, proto_op_t op, const char *line, const char *call_id)
{
    if (!s_arg_ok(line, PROTO_NUMBER_MAX) || !s_arg_ok(call_id, PROTO_CALL_ID_MAX))
        return -EINVAL;
    if (s_usable(self))
        return -ENOTCONN;
    s_request_t *r = s_request_new(self, op, false);
    if (!r)
        return -ENOMEM;
    snprintf(r->req.call.line, sizeof r->req.call.line, "%s", line);
    snprintf(r->req.call.call_id, sizeof r->req.call.call_id, "%s", call_id);
    return s_request_submit(self, r);
}

int ctim_answer(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_ANSWER, line, call_id);
}

int ctim_hang_up(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_HANG_UP, line, call_id);
}
