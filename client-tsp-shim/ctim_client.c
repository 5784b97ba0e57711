//  ctim_client: the libctim handle -- session with one node, heartbeats, failover, the
//  request queue, CURVE.
//
//  One DEALER for the handle's life (so ctim_fd() is stable); moving to another server is
//  a disconnect from the old endpoint (dropping what it already queued) and a connect to the
//  next.  A frame from the old server that still slips through is mostly harmless: a reply
//  for a request already answered is dropped, and a Welcome is only taken while a Hello is
//  outstanding.
#include "ctim_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RECV_BURST 256        //  messages per ctim_dispatch before the application's turn
#define S_BACKOFF_MIN_MS 50

void ctim_lock(ctim_t *self)
{
    atomic_fetch_add(&self->lock_waiters, 1);
    pthread_mutex_lock(&self->lock);
    atomic_fetch_sub(&self->lock_waiters, 1);
}

void ctim_unlock(ctim_t *self)
{
    pthread_mutex_unlock(&self->lock);
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
        if (n == 0 || n >= CTIM_ENDPOINT_MAX || self->server_count == CTIM_SERVERS_MAX)
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

//  A CURVE key as text: 40 characters of Z85 that decode (each group of five within 2^32).
//  czmq asserts on a key libzmq refuses, so the library checks before it sets one.
static bool s_curve_key_ok(const char *key)
{
    uint8_t bin[32];
    return key && strlen(key) == CTIM_CURVE_KEY_LEN && zmq_z85_decode(bin, key) != NULL;
}

//  Make the DEALER a CURVE client (before any connect): the servers' public key, and our key
//  pair from cfg.curve_cert or a fresh one.  Returns 0 or -EINVAL (unusable key or cert).
static int s_curve_setup(ctim_t *self)
{
    if (!self->curve_server_key)
        return self->curve_cert ? -EINVAL : 0;      //  a cert without a server key is a slip
    if (!s_curve_key_ok(self->curve_server_key))
        return -EINVAL;
    zcert_t *cert = self->curve_cert ? zcert_load(self->curve_cert) : zcert_new();
    if (!cert)
        return -EINVAL;
    //  A public-only file loads with an all-zero secret key: useless to a client.
    const char *secret = zcert_secret_txt(cert);
    if (!s_curve_key_ok(zcert_public_txt(cert)) || !s_curve_key_ok(secret) ||
        strspn(secret, "0") == CTIM_CURVE_KEY_LEN) {
        zcert_destroy(&cert);
        return -EINVAL;
    }
    zcert_apply(cert, self->dealer);                //  our public and secret key
    zsock_set_curve_serverkey(self->dealer, self->curve_server_key);
    zcert_destroy(&cert);                           //  the socket keeps its own copy
    return 0;
}

//  strdup of an optional string (NULL stays NULL); false when the copy failed.
static bool s_dup_opt(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
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
    self->wake_fd = -1;
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        goto fail;
    //  Recursive: callbacks run under the lock and may call the request functions.
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    self->lock_ready = pthread_mutex_init(&self->lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (!self->lock_ready)
        goto fail;
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
    if (!self->servers_text || !self->user || !self->password || !self->client ||
        !s_dup_opt(&self->curve_server_key, cfg->curve_server_key) ||
        !s_dup_opt(&self->curve_cert, cfg->curve_cert))
        goto fail;
    self->cfg.servers = self->servers_text;
    self->cfg.user = self->user;
    self->cfg.password = self->password;
    self->cfg.client = self->client;
    self->cfg.curve_server_key = self->curve_server_key;
    self->cfg.curve_cert = self->curve_cert;
    if (!s_parse_servers(self, self->servers_text))
        goto fail;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        goto fail;
    //  Nothing queued for a dead server may hold up destroy.
    zsock_set_linger(self->dealer, 0);
    if (s_curve_setup(self) != 0)
        goto fail;
    self->heartbeat_ms = self->cfg.heartbeat_ms;
    self->next_id = 1;
    self->state = CTIM_S_IDLE;
    return self;
fail:
    ctim_destroy(&self);
    return NULL;
}

static int s_send(ctim_t *self, const proto_client_msg_t *m);

//  Tell a server we are logged in to that the application leaves on purpose (client.proto
//  Bye), so that it releases our lines at once and does not take us for a failed
//  application (no failure counted, no call-forward-on-failure redirect).  The socket
//  lingers briefly so that the frame leaves before the process exits.
static void s_bye(ctim_t *self)
{
    if (!self->dealer || (self->state != CTIM_S_UP && self->state != CTIM_S_RESUMING))
        return;
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_BYE);
    snprintf(m.bye.reason, sizeof m.bye.reason, "%s", "the application closed libctim");
    zsock_set_linger(self->dealer, 200);
    (void) s_send(self, &m);
}

void ctim_destroy(ctim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctim_t *self = *self_p;
    if (self->lock_ready)
        ctim_thread_stop(self);     //  before anything the thread may still use goes
    s_bye(self);
    zsock_destroy(&self->dealer);
    while (self->requests) {
        ctim_req_t *r = self->requests;
        self->requests = r->next;
        free(r);
    }
    while (self->lines) {
        ctim_line_t *l = self->lines;
        self->lines = l->next;
        free(l);
    }
    free(self->servers_text);
    free(self->user);
    free(self->password);
    free(self->client);
    free(self->curve_server_key);
    free(self->curve_cert);
    if (self->lock_ready)
        pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int ctim_fd(ctim_t *self)
{
    //  Stable for the handle's life; locked all the same, as reading it is a socket option
    //  call and the library thread may be using the socket.
    ctim_lock(self);
    int fd = zsock_fd(self->dealer);
    ctim_unlock(self);
    return fd;
}

const char *ctim_server(ctim_t *self)
{
    ctim_lock(self);
    const char *server = self->state == CTIM_S_IDLE ? NULL : self->servers[self->server];
    ctim_unlock(self);
    return server;
}

bool ctim_is_up(ctim_t *self)
{
    ctim_lock(self);
    bool up = self->state == CTIM_S_UP;
    ctim_unlock(self);
    return up;
}

bool ctim_session_active(ctim_t *self)
{
    return self->state != CTIM_S_IDLE && self->state != CTIM_S_STOPPED;
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

static void s_send_request(ctim_t *self, ctim_req_t *r)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    m.request = r->req;
    r->sent = s_send(self, &m) == 0;
}

ctim_line_t *ctim_line_find(ctim_t *self, const char *number)
{
    for (ctim_line_t *l = self->lines; l; l = l->next)
        if (strcmp(l->number, number) == 0)
            return l;
    return NULL;
}

void ctim_line_report(ctim_t *self, ctim_line_t *l, bool in_service)
{
    if (l->reported && l->in_service == in_service)
        return;
    l->reported = true;
    l->in_service = in_service;
    if (self->cfg.on_line)
        self->cfg.on_line(self, l->number, in_service, self->cfg.arg);
}

static void s_link_report(ctim_t *self, ctim_link_t link, const char *text)
{
    if (self->cfg.on_link)
        self->cfg.on_link(self, link, self->servers[self->server], text, self->cfg.arg);
}

//  Answer each request of the detached list with result (library-made) and free them.  The
//  list is detached first: a callback may make new requests, which are not answered here.
static void s_answer_all(ctim_t *self, ctim_req_t *list, ctim_result_t result, const char *text)
{
    while (list) {
        ctim_req_t *r = list;
        list = r->next;
        ctim_events_reply_local(self, r, result, text);
        free(r);
    }
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
    self->state = CTIM_S_HELLO;
    //  A server that does not welcome us within two intervals counts as not answering.
    self->deadline = now + 2 * (int64_t)self->cfg.heartbeat_ms;
}

//  This server failed to answer: pause (backoff, doubling) and try the next one.
static void s_next_server(ctim_t *self, int64_t now)
{
    s_leave(self);
    self->server = (self->server + 1) % self->server_count;
    self->state = CTIM_S_WAIT;
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
    for (ctim_line_t *l = self->lines; l; l = l->next)
        ctim_line_report(self, l, false);
    ctim_req_t *lost = NULL, **keep = &self->requests;
    while (*keep) {
        ctim_req_t *r = *keep;
        if (r->sent) {
            *keep = r->next;
            r->next = lost;
            lost = r;
        } else
            keep = &r->next;
    }
    s_answer_all(self, lost, CTIM_RESULT_SERVER_LOST, why);
    self->backoff_ms = 0;
    s_leave(self);          //  before the index moves: it names the endpoint to disconnect
    if (then == S_THEN_FIRST)
        self->server = self->server_count - 1;  //  s_next_server wraps to 0
    else if (then == S_THEN_SAME)
        self->server = (self->server + self->server_count - 1) % self->server_count;
    s_next_server(self, now);
}

//  The library's re-opens of a new session are on their way: the application's requests
//  wait behind them, since most name a line that the node does not know as open until its
//  re-open is answered (it would say LINE_NOT_OPEN to a line the application holds).
static bool s_restoring(const ctim_t *self)
{
    for (const ctim_req_t *r = self->requests; r; r = r->next)
        if (r->internal && r->sent && r->req.op == PROTO_OP_OPEN_LINE)
            return true;
    return false;
}

//  Send what waited, oldest first as the application made them (the list is newest first:
//  reverse, send, reverse back); nothing while re-opens are on their way.
static void s_send_waiting(ctim_t *self)
{
    if (self->state != CTIM_S_UP || s_restoring(self))
        return;
    ctim_req_t *rev = NULL;
    while (self->requests) {
        ctim_req_t *r = self->requests;
        self->requests = r->next;
        r->next = rev;
        rev = r;
    }
    bool pipe_ok = true;
    for (ctim_req_t *r = rev; r && pipe_ok; r = r->next)
        if (!r->sent) {
            s_send_request(self, r);
            pipe_ok = r->sent;  //  a full pipe: the rest wait for their deadline
        }
    while (rev) {
        ctim_req_t *r = rev;
        rev = r->next;
        r->next = self->requests;
        self->requests = r;
    }
}

static void s_restore_session(ctim_t *self);

//  Logged in: on a new session the lines are re-opened first (restore), then what waited
//  is sent.
static void s_up(ctim_t *self, int64_t now, const char *text, bool restore)
{
    self->state = CTIM_S_UP;
    self->up_since = now;
    self->backoff_ms = 0;
    self->next_heartbeat = now + self->heartbeat_ms;
    s_link_report(self, CTIM_LINK_UP, text);
    if (restore)
        s_restore_session(self);
    s_send_waiting(self);
}

static ctim_req_t *s_request_new(ctim_t *self, proto_op_t op, bool internal)
{
    ctim_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = self->next_id;
    self->next_id = self->next_id == INT32_MAX ? 1 : self->next_id + 1;
    r->internal = internal;
    r->expires_at = zclock_mono() + self->cfg.request_timeout_ms;
    r->req.op = op;
    return r;
}

//  Queue r; send it now when logged in.  Returns its id.
static int s_request_submit(ctim_t *self, ctim_req_t *r)
{
    r->req.request_id = (uint32_t)r->id;
    r->next = self->requests;
    self->requests = r;
    if (self->state == CTIM_S_UP && (r->internal || !s_restoring(self)))
        s_send_request(self, r);
    return r->id;
}

int ctim_session_request(ctim_t *self, const proto_request_t *req)
{
    ctim_lock(self);
    int rc = -ENOTCONN;
    if (ctim_session_active(self)) {
        ctim_req_t *r = s_request_new(self, req->op, false);
        rc = -ENOMEM;
        if (r) {
            r->req = *req;
            rc = s_request_submit(self, r);
            //  The send may have taken the ZMQ_FD edge from the library thread.
            ctim_thread_wake(self);
        }
    }
    ctim_unlock(self);
    return rc;
}

//  A new session on this server (the node knows nothing of us): re-open every line we hold
//  and claim CDR again if the application owned it -- as the library's own requests.  Not
//  after a resume: the node kept both.
static void s_restore_session(ctim_t *self)
{
    for (ctim_line_t *l = self->lines; l; l = l->next) {
        ctim_req_t *r = s_request_new(self, PROTO_OP_OPEN_LINE, true);
        if (!r)
            continue;   //  the line stays out of service; the next session retries
        snprintf(r->req.open_line.line, sizeof r->req.open_line.line, "%s", l->number);
        snprintf(r->req.open_line.failure_number, sizeof r->req.open_line.failure_number, "%s",
                 l->failure_number);
        l->open = false;
        s_request_submit(self, r);
    }
    if (self->cdr_claimed) {
        ctim_req_t *r = s_request_new(self, PROTO_OP_SET_CDR, true);
        if (r) {
            r->req.flag.on = true;
            s_request_submit(self, r);
        }
    }
}

//  A new session (first login, or the node did not resume ours): event sequences start over.
static void s_new_session(ctim_t *self, int64_t now, const char *text, bool restore)
{
    self->last_seq = 0;
    s_up(self, now, text, restore);
}

//  The line bookkeeping a successful open or close brings.
static void s_track_line(ctim_t *self, const ctim_req_t *r)
{
    if (r->req.op == PROTO_OP_OPEN_LINE) {
        ctim_line_t *l = ctim_line_find(self, r->req.open_line.line);
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
    } else if (r->req.op == PROTO_OP_CLOSE_LINE) {
        for (ctim_line_t **lp = &self->lines; *lp; lp = &(*lp)->next)
            if (strcmp((*lp)->number, r->req.line.line) == 0) {
                ctim_line_t *l = *lp;
                *lp = l->next;
                free(l);
                break;
            }
    }
}

//  The node's reply: bookkeeping for open/close line and CDR, then tell the application.
static void s_on_reply(ctim_t *self, const proto_reply_t *rep)
{
    ctim_req_t **pp = &self->requests;
    while (*pp && (uint32_t)(*pp)->id != rep->request_id)
        pp = &(*pp)->next;
    if (!*pp)
        return;     //  already answered (timeout or server lost) or never ours
    ctim_req_t *r = *pp;
    *pp = r->next;
    if (ctim_events_result(rep->result) == CTIM_RESULT_OK) {
        s_track_line(self, r);
        //  The application's claim (or release) is what a new session restores; a failed
        //  re-claim keeps the wish for the session after.
        if (r->req.op == PROTO_OP_SET_CDR && !r->internal)
            self->cdr_claimed = r->req.flag.on;
    }
    ctim_events_reply(self, r, rep);
    //  Look the line up again: the reply callback may have closed it.  The node says in
    //  the reply's line whether the line is in service (it opens lines while its PBX link
    //  is down, out of service until the link is back); a node that sends no line info
    //  opened it in service.
    ctim_line_t *l;
    if (r->req.op == PROTO_OP_OPEN_LINE && (l = ctim_line_find(self, r->req.open_line.line)) &&
        l->open) {
        bool in_service = true;
        for (size_t i = 0; i < rep->line_count; i++)
            if (strcmp(rep->lines[i].line, l->number) == 0)
                in_service = rep->lines[i].in_service;
        ctim_line_report(self, l, in_service);
    }
    bool reopened = r->internal && r->req.op == PROTO_OP_OPEN_LINE;
    free(r);
    if (reopened)
        s_send_waiting(self);   //  the last re-open answered: what waited goes now
}

static void s_login_refused(ctim_t *self, const proto_error_t *e)
{
    //  Every server shares the users: trying the next one would only repeat this.
    self->state = CTIM_S_STOPPED;
    s_link_report(self, CTIM_LINK_LOGIN_FAILED, e->text);
    ctim_req_t *all = self->requests;
    self->requests = NULL;
    s_answer_all(self, all, ctim_events_result(e->result), e->text);
}

static void s_on_welcome(ctim_t *self, const proto_welcome_t *w, int64_t now)
{
    self->last_rx = now;
    if (w->heartbeat_ms)
        self->heartbeat_ms = w->heartbeat_ms;
    bool had_token = self->resume_token[0] != '\0';
    snprintf(self->resume_token, sizeof self->resume_token, "%s", w->resume_token);
    if (had_token) {
        //  client.proto: ResumeResult follows the Welcome when Hello had a token.
        self->state = CTIM_S_RESUMING;
        self->deadline = now + 2 * (int64_t)self->heartbeat_ms;
        self->next_heartbeat = now + self->heartbeat_ms;
    } else
        s_new_session(self, now, "new session", false);
}

static void s_on_resume_result(ctim_t *self, const proto_resume_result_t *rr, int64_t now)
{
    self->last_rx = now;
    if (rr->outcome == PROTO_RESUME_RESUMED || rr->outcome == PROTO_RESUME_RESUMED_WITH_GAP) {
        //  The node kept our lines open (and our CDR claim): no re-open storm.  Sequences
        //  go on: replays of what we processed are dropped.  Resumed in full, the lines
        //  are as they were (the replay brings any change); resumed with a gap (another
        //  node adopted the session, or the replay buffer ran short), the node's snapshot
        //  says per line whether it is in service — it may still be monitoring the
        //  devices again, and a line is in service only once it is.
        s_up(self, now, "resumed", false);
        if (rr->outcome == PROTO_RESUME_RESUMED)
            for (ctim_line_t *l = self->lines; l; l = l->next)
                if (l->open)
                    ctim_line_report(self, l, true);
    } else
        s_new_session(self, now, "new session", true);
}

//  One decoded message from the current server.
static void s_on_message(ctim_t *self, const proto_client_msg_t *m, int64_t now)
{
    if (self->state != CTIM_S_HELLO && self->state != CTIM_S_RESUMING &&
        self->state != CTIM_S_UP)
        return;     //  left over from a server we left
    switch (m->kind) {
    case PROTO_MSG_WELCOME:
        if (self->state == CTIM_S_HELLO)
            s_on_welcome(self, &m->welcome, now);
        return;
    case PROTO_MSG_RESUME_RESULT:
        if (self->state == CTIM_S_RESUMING)
            s_on_resume_result(self, &m->resume_result, now);
        return;
    case PROTO_MSG_ERROR:
        if (self->state == CTIM_S_HELLO && (m->error.result == PROTO_RESULT_LOGIN_FAILED ||
                                            m->error.result == PROTO_RESULT_UNSUPPORTED_VERSION)) {
            s_login_refused(self, &m->error);
            return;
        }
        if (self->state == CTIM_S_HELLO && m->error.result == PROTO_RESULT_BUSY) {
            //  The node's login queue is full (a login storm): try the next server after
            //  the back-off now rather than wait out the Hello's deadline here.
            s_next_server(self, now);
            return;
        }
        if ((self->state == CTIM_S_UP || self->state == CTIM_S_RESUMING) &&
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
    if (self->state == CTIM_S_HELLO)
        return;     //  nothing else counts before the Welcome
    self->last_rx = now;
    if (m->kind == PROTO_MSG_REPLY)
        s_on_reply(self, &m->reply);
    else if (m->kind == PROTO_MSG_EVENT)
        ctim_events_event(self, &m->event);
    else if (m->kind == PROTO_MSG_EVENTS_LOST)
        ctim_events_lost(self, &m->events_lost);
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
    case CTIM_S_WAIT:
    case CTIM_S_HELLO:
        due = self->deadline;
        break;
    case CTIM_S_RESUMING:
        due = s_min(self->deadline, self->last_rx + 2 * (int64_t)self->heartbeat_ms);
        due = s_min(due, self->next_heartbeat);
        break;
    case CTIM_S_UP:
        due = s_min(self->next_heartbeat, self->last_rx + 2 * (int64_t)self->heartbeat_ms);
        if (self->cfg.failback_after_ms && self->server != 0)
            due = s_min(due, self->up_since + self->cfg.failback_after_ms);
        break;
    default:
        break;
    }
    for (ctim_req_t *r = self->requests; r; r = r->next)
        due = s_min(due, r->expires_at);
    return due;
}

int ctim_session_timeout(ctim_t *self)
{
    if (!ctim_session_active(self))
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

int ctim_timeout_ms(ctim_t *self)
{
    ctim_lock(self);
    //  In library-thread mode the application has nothing to wait for.
    int rc = self->threaded ? -1 : ctim_session_timeout(self);
    ctim_unlock(self);
    return rc;
}

int ctim_connect(ctim_t *self)
{
    ctim_lock(self);
    int rc = -EALREADY;
    if (self->state == CTIM_S_IDLE) {
        self->backoff_ms = 0;
        s_attempt(self, 0, zclock_mono());
        rc = 0;
    }
    ctim_unlock(self);
    return rc;
}

//  The session's timers that are due at now.
static void s_session_timers(ctim_t *self, int64_t now)
{
    switch (self->state) {
    case CTIM_S_WAIT:
        if (now >= self->deadline)
            s_attempt(self, self->server, now);
        break;
    case CTIM_S_HELLO:
        if (now >= self->deadline)
            s_next_server(self, now);
        break;
    case CTIM_S_RESUMING:
    case CTIM_S_UP:
        //  Two whole intervals without any message: the server is silent.
        if (now >= self->last_rx + 2 * (int64_t)self->heartbeat_ms) {
            s_server_lost(self, now, "server silent", S_THEN_NEXT);
            break;
        }
        if (self->state == CTIM_S_RESUMING && now >= self->deadline) {
            //  A node that welcomes but never says how the resume went: treat as new.
            s_new_session(self, now, "new session (no resume result)", true);
        }
        if (now >= self->next_heartbeat) {
            proto_client_msg_t m;
            proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
            m.heartbeat.sent_ms = (uint64_t)now;
            //  Lets the node trim its replay buffer (client.proto Heartbeat).
            m.heartbeat.last_seq_acked = self->last_seq;
            s_send(self, &m);
            self->next_heartbeat = now + self->heartbeat_ms;
        }
        if (self->state == CTIM_S_UP && self->cfg.failback_after_ms && self->server != 0 &&
            now >= self->up_since + self->cfg.failback_after_ms) {
            //  Back to the preferred server; we leave this one, resume token in hand.
            s_server_lost(self, now, "failback", S_THEN_FIRST);
        }
        break;
    default:
        break;
    }
}

//  Timers due at now, then requests nobody answered in time (TIMEOUT).
static void s_timers(ctim_t *self, int64_t now)
{
    s_session_timers(self, now);
    ctim_req_t *late = NULL, **pp = &self->requests;
    while (*pp) {
        ctim_req_t *r = *pp;
        if (now >= r->expires_at) {
            *pp = r->next;
            r->next = late;
            late = r;
        } else
            pp = &r->next;
    }
    s_answer_all(self, late, CTIM_RESULT_TIMEOUT, "no answer from the server");
    s_send_waiting(self);       //  a re-open that timed out holds nothing back any more
}

int ctim_session_dispatch(ctim_t *self, int burst)
{
    if (!ctim_session_active(self))
        return -ENOTCONN;
    for (int i = 0; i < burst; i++) {
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
        if (self->state == CTIM_S_STOPPED)
            return -ENOTCONN;
    }
    s_timers(self, zclock_mono());
    return self->state == CTIM_S_STOPPED ? -ENOTCONN : 0;
}

int ctim_dispatch(ctim_t *self)
{
    ctim_lock(self);
    int rc = self->threaded ? -EBUSY : ctim_session_dispatch(self, S_RECV_BURST);
    ctim_unlock(self);
    return rc;
}
