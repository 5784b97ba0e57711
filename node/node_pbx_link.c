//  node_pbx_link: the CSTA link to one PBX on the node's zloop (node_pbx_link.h).
//
//  States: IDLE -> (RESOLVING ->) CONNECTING -> ASSOCIATING -> UP; a failed attempt goes to
//  BACKOFF and tries again when its timer fires; an UP link that is lost goes to BACKOFF
//  too.  One deadline covers resolving, connecting and associating (connect_timeout_ms).
//  Requests live in one of three lists: `waiting` (FIFO beyond the window), `sent` (at the
//  PBX, found by invoke id) and `done` (answered locally, replied from the kick timer so
//  that no reply runs inside node_pbx_link_request); `waiting` and `sent` ones are also in
//  a list ordered by deadline, watched by one zloop timer (zloop timers are not meant to
//  be had by the thousand).
//
//  Every timer here is one-shot and forgets its id first thing in its handler; what must
//  repeat re-arms itself.  czmq's zloop frees a timer at once on zloop_timer_end once any
//  zloop_start has returned, so a timer that ended itself from its own handler would be
//  used after free by the loop.
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_log.h"
#include "node_pbx_link.h"

#define S_SUB "link"
#define S_OUTQ_MAX (8u << 20)       //  a PBX that leaves this much unread is as good as dead
#define S_EXPIRED_MAX 64            //  invoke ids of timed-out requests, to spot late answers
#define S_INVOKE_ID_MAX 32767       //  two-octet invoke ids, as Panasonic and HiPath use
#define S_WINDOW_MAX 16384          //  half the id space, so an id is never reused in flight
#define S_RESOLVE_POLL_MS 20        //  how often a pending getaddrinfo_a is looked at
#define S_REWRITE_SLACK 16          //  a rewritten invoke id may be longer than the caller's

typedef struct s_req s_req_t;
struct s_req {
    s_req_t *next, *prev;           //  in waiting, sent or done
    s_req_t *dnext, *dprev;         //  in the deadline list (waiting and sent only)
    bool in_deadlines;
    long invoke_id;                 //  PBX-side, once sent
    int opcode;
    int status;                     //  done: the status to reply with
    int64_t expires_at;
    node_pbx_link_reply_fn *reply;
    void *arg;
    size_t len;
    uint8_t apdu[];                 //  the caller's bytes (caller's invoke id)
};

typedef struct {
    s_req_t *head, *tail;
    int count;
} s_list_t;

//  A host name lookup in flight.  Allocated on its own: a lookup that cannot be cancelled
//  still writes into it when it ends, so it is left behind (and leaked) in that case.
typedef struct {
    struct gaicb cb;
    struct addrinfo hints;
    char name[NODE_PATH_MAX];
    char service[8];
} s_lookup_t;

struct node_pbx_link {
    zloop_t *loop;
    node_pbx_cfg_t cfg;
    node_pbx_link_listener_t listener;
    node_pbx_link_state_t state;
    bool started, destroying;

    int fd;
    zmq_pollitem_t item;
    short poll_events;              //  registered with the loop; 0: none
    csta_framer_t *framer;
    csta_outq_t *outq;

    s_lookup_t *lookup;
    struct addrinfo *addrs;         //  the current attempt's addresses
    bool addrs_from_lookup;         //  freed with freeaddrinfo either way
    struct addrinfo *addr_next;
    char attempt_error[96];         //  why the current attempt's last address failed

    int attempt_timer, backoff_timer, resolve_timer, silence_timer, deadline_timer, kick_timer;
    int64_t deadline_armed_at;
    int64_t last_rx_ms;

    int failures;                   //  attempts failed since the link was last up
    int attempts_series;            //  attempts since the link was last up (for the log)
    const char *broken;             //  a send failed: drop the link at the next safe point

    long next_invoke_id;
    long expired[S_EXPIRED_MAX];    //  invoke ids ...
    int expired_opcode[S_EXPIRED_MAX];  //  ... and their operations
    int expired_next;

    s_list_t waiting, sent, done;
    s_req_t *dhead, *dtail;

    uint64_t rng;
    uint8_t *scratch;               //  a request with the PBX-side invoke id
    size_t scratch_cap;
    node_pbx_link_stats_t stats;
};

static void s_attempt_start(node_pbx_link_t *self);
static void s_attempt_failed(node_pbx_link_t *self, const char *why);
static void s_link_lost(node_pbx_link_t *self, const char *reason);
static void s_pump(node_pbx_link_t *self);
static int s_on_socket(zloop_t *loop, zmq_pollitem_t *item, void *arg);

const char *node_pbx_link_state_str(node_pbx_link_state_t state)
{
    switch (state) {
    case NODE_PBX_LINK_IDLE: return "IDLE";
    case NODE_PBX_LINK_RESOLVING: return "RESOLVING";
    case NODE_PBX_LINK_CONNECTING: return "CONNECTING";
    case NODE_PBX_LINK_ASSOCIATING: return "ASSOCIATING";
    case NODE_PBX_LINK_UP: return "UP";
    case NODE_PBX_LINK_BACKOFF: return "BACKOFF";
    }
    return "?";
}

int node_pbx_link_backoff_ms(const node_pbx_cfg_t *cfg, int failures, double jitter)
{
    double d = cfg->backoff_initial_ms;
    for (int i = 1; i < failures && d < cfg->backoff_max_ms; i++)
        d *= 2;
    if (d > cfg->backoff_max_ms)
        d = cfg->backoff_max_ms;
    if (jitter < 0)
        jitter = 0;
    if (jitter >= 1)
        jitter = 0.999999;
    d *= 0.8 + 0.4 * jitter;    //  +-20 %: links of many nodes do not retry in step
    return d < 1 ? 1 : (int) d;
}

//  xorshift64*: jitter needs no quality, only independence between processes.
static double s_random(node_pbx_link_t *self)
{
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return (double) ((self->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

//  --- Request lists ------------------------------------------------------------------------------

static void s_list_append(s_list_t *list, s_req_t *r)
{
    r->next = NULL;
    r->prev = list->tail;
    if (list->tail)
        list->tail->next = r;
    else
        list->head = r;
    list->tail = r;
    list->count++;
}

static void s_list_remove(s_list_t *list, s_req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        list->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        list->tail = r->prev;
    r->next = r->prev = NULL;
    list->count--;
}

//  Take the whole list (the caller replies to each; new requests meanwhile go elsewhere).
static s_list_t s_list_take(s_list_t *list)
{
    s_list_t all = *list;
    *list = (s_list_t){0};
    return all;
}

static s_req_t *s_sent_find(node_pbx_link_t *self, long invoke_id)
{
    for (s_req_t *r = self->sent.head; r; r = r->next)
        if (r->invoke_id == invoke_id)
            return r;
    return NULL;
}

//  Insert by deadline; most requests carry the same timeout, so the place is at the tail.
static void s_deadline_insert(node_pbx_link_t *self, s_req_t *r)
{
    s_req_t *after = self->dtail;
    while (after && after->expires_at > r->expires_at)
        after = after->dprev;
    r->dprev = after;
    r->dnext = after ? after->dnext : self->dhead;
    if (r->dnext)
        r->dnext->dprev = r;
    else
        self->dtail = r;
    if (after)
        after->dnext = r;
    else
        self->dhead = r;
    r->in_deadlines = true;
}

static void s_deadline_remove(node_pbx_link_t *self, s_req_t *r)
{
    if (!r->in_deadlines)
        return;
    if (r->dprev)
        r->dprev->dnext = r->dnext;
    else
        self->dhead = r->dnext;
    if (r->dnext)
        r->dnext->dprev = r->dprev;
    else
        self->dtail = r->dprev;
    r->dnext = r->dprev = NULL;
    r->in_deadlines = false;
}

static void s_timer_end(node_pbx_link_t *self, int *timer_id)
{
    if (*timer_id > 0)
        zloop_timer_end(self->loop, *timer_id);
    *timer_id = 0;
}

static int s_on_deadline(zloop_t *loop, int timer_id, void *arg);

//  Keep the deadline timer at or before the earliest deadline.  A timer that fires early
//  finds nothing due and re-arms, so it is only moved when it would fire too late.
static void s_deadline_arm(node_pbx_link_t *self)
{
    if (!self->dhead) {
        s_timer_end(self, &self->deadline_timer);
        return;
    }
    if (self->deadline_timer > 0 && self->deadline_armed_at <= self->dhead->expires_at)
        return;
    s_timer_end(self, &self->deadline_timer);
    int64_t delay = self->dhead->expires_at - zclock_mono();
    self->deadline_timer = zloop_timer(self->loop, (size_t) (delay > 0 ? delay : 0), 1,
                                       s_on_deadline, self);
    self->deadline_armed_at = self->dhead->expires_at;
}

static void s_expired_remember(node_pbx_link_t *self, long invoke_id, int opcode)
{
    self->expired[self->expired_next] = invoke_id;
    self->expired_opcode[self->expired_next] = opcode;
    self->expired_next = (self->expired_next + 1) % S_EXPIRED_MAX;
}

//  The operation of a timed-out request with invoke_id, or -1 when none is remembered.
//  The entry is forgotten: a PBX answers once.
static int s_expired_take(node_pbx_link_t *self, long invoke_id)
{
    for (int i = 0; i < S_EXPIRED_MAX; i++)
        if (self->expired[i] == invoke_id) {
            self->expired[i] = 0;
            return self->expired_opcode[i];
        }
    return -1;
}

static int s_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_link_t *self = arg;
    self->deadline_timer = 0;
    int64_t now = zclock_mono();
    while (self->dhead && self->dhead->expires_at <= now) {
        s_req_t *r = self->dhead;
        s_deadline_remove(self, r);
        bool was_sent = r->invoke_id > 0;
        if (was_sent) {
            s_list_remove(&self->sent, r);
            s_expired_remember(self, r->invoke_id, r->opcode);
        } else {
            s_list_remove(&self->waiting, r);
        }
        self->stats.timeouts++;
        node_info(S_SUB, "request timed out pbx=%s op=%s invoke=%ld %s", self->cfg.name,
                  csta_op_name(r->opcode), r->invoke_id,
                  was_sent ? "(no answer from the PBX)" : "(still waiting for the window)");
        //  The window has room again: the PBX's late answer, if any, is dropped.
        s_pump(self);
        r->reply(r->arg, -ETIMEDOUT, NULL, 0, NULL);
        free(r);
        now = zclock_mono();
    }
    s_deadline_arm(self);
    return 0;
}

//  --- Deferred work: local replies, a broken link ------------------------------------------------

static int s_on_kick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_link_t *self = arg;
    self->kick_timer = 0;
    if (self->broken) {
        const char *why = self->broken;
        if (self->state == NODE_PBX_LINK_UP)
            s_link_lost(self, why);
        else if (self->state == NODE_PBX_LINK_CONNECTING ||
                 self->state == NODE_PBX_LINK_ASSOCIATING)
            s_attempt_failed(self, why);
        self->broken = NULL;
    }
    s_req_t *r;
    while ((r = self->done.head)) {
        s_list_remove(&self->done, r);
        r->reply(r->arg, r->status, NULL, 0, NULL);
        free(r);
    }
    return 0;
}

static void s_kick(node_pbx_link_t *self)
{
    if (self->kick_timer <= 0)
        self->kick_timer = zloop_timer(self->loop, 0, 1, s_on_kick, self);
}

//  Reply later, from the loop, with a local status.
static void s_complete_later(node_pbx_link_t *self, s_req_t *r, int status)
{
    r->status = status;
    s_list_append(&self->done, r);
    s_kick(self);
}

//  --- Socket -------------------------------------------------------------------------------------

static void s_poll(node_pbx_link_t *self, short events)
{
    if (self->poll_events == events)
        return;
    if (self->poll_events)
        zloop_poller_end(self->loop, &self->item);
    self->poll_events = 0;
    if (!events || self->fd < 0)
        return;
    self->item = (zmq_pollitem_t){.fd = self->fd, .events = events};
    if (zloop_poller(self->loop, &self->item, s_on_socket, self) == 0) {
        //  Errors (a refused connect) are ours to handle, not a reason to drop the poller.
        zloop_poller_set_tolerant(self->loop, &self->item);
        self->poll_events = events;
    }
}

static void s_close_socket(node_pbx_link_t *self)
{
    s_poll(self, 0);
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
    csta_framer_destroy(&self->framer);
    csta_outq_destroy(&self->outq);
}

static void s_free_addrs(node_pbx_link_t *self)
{
    if (self->addrs)
        freeaddrinfo(self->addrs);
    self->addrs = self->addr_next = NULL;
}

static void s_lookup_cancel(node_pbx_link_t *self)
{
    if (!self->lookup)
        return;
    if (gai_cancel(&self->lookup->cb) == EAI_NOTCANCELED)
        node_debug(S_SUB, "pbx=%s: a host lookup could not be cancelled; it is left to end",
                   self->cfg.name);   //  the lookup still writes into it: leave it
    else {
        if (self->lookup->cb.ar_result)
            freeaddrinfo(self->lookup->cb.ar_result);
        free(self->lookup);
    }
    self->lookup = NULL;
}

//  Queue and write.  A failure to write is not handled here (the caller may be inside a
//  callback): the link is marked broken and dropped from the kick timer or the read loop.
static int s_send_raw(node_pbx_link_t *self, const uint8_t *apdu, size_t len)
{
    if (self->broken)
        return 0;   //  going down anyway: the bytes would not arrive
    int rc = csta_outq_push(self->outq, apdu, len);
    if (rc == -ENOBUFS) {
        self->broken = "output-backlog";
        s_kick(self);
        return 0;
    }
    if (rc)
        return rc;
    self->stats.apdus_out++;
    rc = csta_outq_flush(self->outq, self->fd);
    if (rc == 0 || rc == -EAGAIN) {
        s_poll(self, (short) (ZMQ_POLLIN | (rc == -EAGAIN ? ZMQ_POLLOUT : 0)));
        return 0;
    }
    self->broken = "write-error";
    s_kick(self);
    return 0;
}

static int s_send_apdu(node_pbx_link_t *self, const csta_apdu_t *a)
{
    uint8_t buf[512];
    size_t n;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &n);
    return rc ? rc : s_send_raw(self, buf, n);
}

//  --- Connecting and associating -----------------------------------------------------------------

static void s_send_aarq(node_pbx_link_t *self)
{
    //  AARQ as Panasonic clients send it (csta-facts.md 1.2): version1, ACN 1.3.12.0.218,
    //  CSTA versionFive in the user information, the login only when configured (HiPath).
    csta_apdu_t aarq;
    csta_apdu_init(&aarq, CSTA_APDU_AARQ);
    csta_bits_set(&aarq.acse.protocol_version, 0, 1);
    aarq.acse.protocol_version.unused = 7;
    snprintf(aarq.acse.context, sizeof aarq.acse.context, "%s", CSTA_ACN_CSTA3);
    csta_bits_set(&aarq.acse.csta_version, CSTA_VERSION_FIVE, 2);
    if (self->cfg.user[0]) {
        csta_bits_set(&aarq.acse.acse_requirements, 0, 1);
        aarq.acse.acse_requirements.unused = 7;
        aarq.acse.has_login = true;
        memcpy(aarq.acse.user, self->cfg.user, sizeof aarq.acse.user);
        memcpy(aarq.acse.password, self->cfg.password, sizeof aarq.acse.password);
    }
    int rc = s_send_apdu(self, &aarq);
    if (rc)
        self->broken = "aarq-encode";
}

static void s_connected(node_pbx_link_t *self)
{
    s_free_addrs(self);
    self->framer = csta_framer_new(self->cfg.framing, 0);
    self->outq = csta_outq_new(self->cfg.framing, S_OUTQ_MAX);
    if (!self->framer || !self->outq) {
        s_attempt_failed(self, "out of memory");
        return;
    }
    self->state = NODE_PBX_LINK_ASSOCIATING;
    node_debug(S_SUB, "pbx=%s: connected, AARQ sent", self->cfg.name);
    s_poll(self, ZMQ_POLLIN);
    s_send_aarq(self);
    if (self->broken) {
        const char *why = self->broken;
        self->broken = NULL;
        s_attempt_failed(self, why);
    }
}

//  Try the attempt's next address; when none is left the attempt has failed.
static void s_connect_next(node_pbx_link_t *self)
{
    while (self->addr_next) {
        struct addrinfo *ai = self->addr_next;
        self->addr_next = ai->ai_next;
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(self->attempt_error, sizeof self->attempt_error, "socket: %s",
                     strerror(errno));
            continue;
        }
        self->fd = fd;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            s_connected(self);
            return;
        }
        if (errno == EINPROGRESS) {
            self->state = NODE_PBX_LINK_CONNECTING;
            s_poll(self, ZMQ_POLLOUT);
            return;
        }
        snprintf(self->attempt_error, sizeof self->attempt_error, "%s", strerror(errno));
        close(fd);
        self->fd = -1;
    }
    s_attempt_failed(self, self->attempt_error[0] ? self->attempt_error : "no address");
}

static void s_on_connect_ready(node_pbx_link_t *self)
{
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(self->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err == 0) {
        s_connected(self);
        return;
    }
    snprintf(self->attempt_error, sizeof self->attempt_error, "%s", strerror(err));
    s_close_socket(self);
    s_connect_next(self);
}

static int s_on_resolve_poll(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    node_pbx_link_t *self = arg;
    self->resolve_timer = 0;
    int rc = gai_error(&self->lookup->cb);
    if (rc == EAI_INPROGRESS) {
        self->resolve_timer = zloop_timer(loop, S_RESOLVE_POLL_MS, 1, s_on_resolve_poll, self);
        return 0;
    }
    if (rc != 0) {
        char why[96];
        snprintf(why, sizeof why, "cannot resolve: %s", gai_strerror(rc));
        s_lookup_cancel(self);
        s_attempt_failed(self, why);
        return 0;
    }
    self->addrs = self->lookup->cb.ar_result;
    self->lookup->cb.ar_result = NULL;
    free(self->lookup);
    self->lookup = NULL;
    self->addr_next = self->addrs;
    s_connect_next(self);
    return 0;
}

static int s_on_attempt_timeout(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_link_t *self = arg;
    self->attempt_timer = 0;
    char why[96];
    snprintf(why, sizeof why, "timeout after %d ms while %s", self->cfg.connect_timeout_ms,
             self->state == NODE_PBX_LINK_ASSOCIATING ? "waiting for the AARE"
             : self->state == NODE_PBX_LINK_RESOLVING ? "resolving the host"
                                                      : "connecting");
    s_attempt_failed(self, why);
    return 0;
}

static int s_on_backoff(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_link_t *self = arg;
    self->backoff_timer = 0;
    s_attempt_start(self);
    return 0;
}

static void s_attempt_start(node_pbx_link_t *self)
{
    self->stats.attempts++;
    self->attempts_series++;
    node_debug(S_SUB, "pbx=%s: attempt %d to %s:%d", self->cfg.name, self->attempts_series,
               self->cfg.host, self->cfg.port);
    self->attempt_error[0] = '\0';
    self->broken = NULL;
    self->attempt_timer = zloop_timer(self->loop, (size_t) self->cfg.connect_timeout_ms, 1,
                                      s_on_attempt_timeout, self);
    char service[8];
    snprintf(service, sizeof service, "%d", self->cfg.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, self->cfg.host, probe) == 1 ||
        inet_pton(AF_INET6, self->cfg.host, probe) == 1) {
        //  A numeric address: getaddrinfo only parses it, nothing blocks.
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        int rc = getaddrinfo(self->cfg.host, service, &hints, &self->addrs);
        if (rc != 0) {
            s_attempt_failed(self, gai_strerror(rc));
            return;
        }
        self->addr_next = self->addrs;
        s_connect_next(self);
        return;
    }
    //  A name: resolved by glibc's getaddrinfo_a on its own thread, polled from the loop.
    s_lookup_t *lk = calloc(1, sizeof *lk);
    if (!lk) {
        s_attempt_failed(self, "out of memory");
        return;
    }
    lk->hints = hints;
    snprintf(lk->name, sizeof lk->name, "%s", self->cfg.host);
    memcpy(lk->service, service, sizeof lk->service);
    lk->cb.ar_name = lk->name;
    lk->cb.ar_service = lk->service;
    lk->cb.ar_request = &lk->hints;
    struct gaicb *list[1] = {&lk->cb};
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
    if (rc != 0) {
        free(lk);
        s_attempt_failed(self, gai_strerror(rc));
        return;
    }
    self->lookup = lk;
    self->state = NODE_PBX_LINK_RESOLVING;
    self->resolve_timer = zloop_timer(self->loop, S_RESOLVE_POLL_MS, 1, s_on_resolve_poll, self);
}

//  This attempt did not reach UP: close what it opened and try again after a back-off.
static void s_attempt_failed(node_pbx_link_t *self, const char *why)
{
    s_close_socket(self);
    s_timer_end(self, &self->attempt_timer);
    s_timer_end(self, &self->resolve_timer);
    s_lookup_cancel(self);
    s_free_addrs(self);
    self->failures++;
    int delay = node_pbx_link_backoff_ms(&self->cfg, self->failures, s_random(self));
    //  The first failure of a series is worth a warning; the retries that follow are not.
    node_log(self->failures == 1 ? NODE_LOG_WARNING : NODE_LOG_INFO, S_SUB,
             "connect failed pbx=%s host=%s:%d attempt=%d reason=%s retry_in_ms=%d",
             self->cfg.name, self->cfg.host, self->cfg.port, self->attempts_series, why, delay);
    self->state = NODE_PBX_LINK_BACKOFF;
    self->backoff_timer = zloop_timer(self->loop, (size_t) delay, 1, s_on_backoff, self);
}

//  Fires when the link may have been silent for silence_timeout_ms; if an APDU came since,
//  it waits for the rest of the time from that APDU.
static int s_on_silence(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    node_pbx_link_t *self = arg;
    self->silence_timer = 0;
    int64_t left = self->last_rx_ms + self->cfg.silence_timeout_ms - zclock_mono();
    if (left > 0) {
        self->silence_timer = zloop_timer(loop, (size_t) left, 1, s_on_silence, self);
        return 0;
    }
    char why[64];
    snprintf(why, sizeof why, "silence (nothing for %d ms)", self->cfg.silence_timeout_ms);
    s_link_lost(self, why);
    return 0;
}

static void s_up(node_pbx_link_t *self)
{
    s_timer_end(self, &self->attempt_timer);
    self->state = NODE_PBX_LINK_UP;
    self->stats.ups++;
    node_notice(S_SUB, "UP pbx=%s host=%s:%d after %d attempt%s", self->cfg.name, self->cfg.host,
                self->cfg.port, self->attempts_series, self->attempts_series == 1 ? "" : "s");
    self->failures = 0;
    self->attempts_series = 0;
    memset(self->expired, 0, sizeof self->expired);
    self->last_rx_ms = zclock_mono();
    self->silence_timer = zloop_timer(self->loop, (size_t) self->cfg.silence_timeout_ms, 1,
                                      s_on_silence, self);
    if (self->listener.on_up)
        self->listener.on_up(self->listener.ctx);
    s_pump(self);
}

//  The first APDU of an association must be the AARE (or an ABRT).
static void s_on_association_apdu(node_pbx_link_t *self, const uint8_t *apdu, size_t len)
{
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    if (rc == 0 && a.kind == CSTA_APDU_AARE && a.acse.result == CSTA_AARE_ACCEPTED) {
        //  Panasonic accepts with diagnostic no-reason-given: only the result counts
        //  (csta-facts.md 1.2).
        csta_apdu_clear(&a);
        s_up(self);
        return;
    }
    char why[128];
    if (rc == 0 && a.kind == CSTA_APDU_AARE) {
        node_warning(S_SUB, "AARE rejected pbx=%s host=%s:%d result=%s diag_source=%ld diag=%ld%s",
                     self->cfg.name, self->cfg.host, self->cfg.port,
                     a.acse.result == CSTA_AARE_REJECTED_PERMANENT ? "rejected-permanent"
                                                                   : "rejected-transient",
                     a.acse.diag_source, a.acse.diag,
                     a.acse.diag == CSTA_DIAG_AUTH_FAILURE || a.acse.diag == CSTA_DIAG_AUTH_REQUIRED
                         ? " (check pbx user and password)"
                         : "");
        snprintf(why, sizeof why, "AARE rejected (result %ld, diagnostic %ld)", a.acse.result,
                 a.acse.diag);
    } else if (rc == 0 && a.kind == CSTA_APDU_ABRT) {
        snprintf(why, sizeof why, "ABRT instead of the AARE (source %ld, diagnostic %ld)",
                 a.acse.abort_source, a.acse.abort_diag);
    } else {
        snprintf(why, sizeof why, "%s instead of the AARE",
                 rc ? "an undecodable APDU" : csta_apdu_kind_str(a.kind));
    }
    csta_apdu_clear(&a);
    s_attempt_failed(self, why);
}

//  --- Traffic on an UP link ----------------------------------------------------------------------

//  Answer SystemStatus with {opcode, NULL}: a switch drops a link that stops answering
//  (csta-facts.md 5; Phase II 52 as Alcatel and older firmware send it).
static void s_answer_system_status(node_pbx_link_t *self, const csta_peek_t *pk)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = pk->invoke_id;
    r.opcode = pk->opcode;
    if (s_send_apdu(self, &r) == 0)
        self->stats.status_answered++;
}

static void s_on_reply(node_pbx_link_t *self, const uint8_t *apdu, size_t len,
                       const csta_peek_t *pk)
{
    if (!pk->has_invoke_id) {
        //  A Reject without invoke id: the PBX could not even read which request it was.
        node_warning(S_SUB, "pbx=%s sent a Reject without invoke id (an APDU of ours it could "
                     "not parse)", self->cfg.name);
        return;
    }
    s_req_t *r = s_sent_find(self, pk->invoke_id);
    if (!r) {
        int opcode = s_expired_take(self, pk->invoke_id);
        if (opcode >= 0) {
            self->stats.late_replies++;
            node_debug(S_SUB, "pbx=%s: late %s for invoke %ld dropped (its request timed out)",
                       self->cfg.name, csta_apdu_kind_str(pk->kind), pk->invoke_id);
            if (self->listener.on_late_reply)
                self->listener.on_late_reply(self->listener.ctx, opcode, apdu, len, pk);
        } else {
            node_info(S_SUB, "pbx=%s: %s for unknown invoke %ld dropped", self->cfg.name,
                      csta_apdu_kind_str(pk->kind), pk->invoke_id);
        }
        return;
    }
    s_list_remove(&self->sent, r);
    s_deadline_remove(self, r);
    self->stats.replies++;
    s_pump(self);   //  the oldest waiting request takes the free slot first
    r->reply(r->arg, 0, apdu, len, pk);
    free(r);
}

static void s_on_apdu(node_pbx_link_t *self, const uint8_t *apdu, size_t len)
{
    csta_peek_t pk;
    int rc = csta_peek(&pk, apdu, len);
    if (rc) {
        //  Peer input: dropped with a line, the link carries on (DESIGN.md invariant 6).
        self->stats.bad_apdus++;
        node_warning(S_SUB, "pbx=%s sent an APDU that does not parse (%s, %zu bytes), dropped",
                     self->cfg.name, strerror(-rc), len);
        return;
    }
    switch (pk.kind) {
    case CSTA_APDU_RESULT:
    case CSTA_APDU_ERROR:
    case CSTA_APDU_REJECT:
        s_on_reply(self, apdu, len, &pk);
        return;
    case CSTA_APDU_INVOKE:
        if (pk.opcode == CSTA_OP_SYSTEM_STATUS || pk.opcode == CSTA_OP_SYSTEM_STATUS_PHASE2)
            s_answer_system_status(self, &pk);
        if (self->listener.on_invoke)
            self->listener.on_invoke(self->listener.ctx, apdu, len, &pk);
        return;
    case CSTA_APDU_ABRT: {
        csta_apdu_t a;
        char why[64] = "abort";
        if (csta_apdu_decode(&a, apdu, len) == 0)
            snprintf(why, sizeof why, "abort (source %ld, diagnostic %ld)", a.acse.abort_source,
                     a.acse.abort_diag);
        csta_apdu_clear(&a);
        s_link_lost(self, why);
        return;
    }
    case CSTA_APDU_RLRQ: {
        //  The PBX ends the association: agree (RLRE normal), then the link is gone.
        csta_apdu_t r;
        csta_apdu_init(&r, CSTA_APDU_RLRE);
        r.acse.has_reason = true;
        s_send_apdu(self, &r);
        csta_outq_flush(self->outq, self->fd);
        s_link_lost(self, "released by the PBX");
        return;
    }
    default:
        node_warning(S_SUB, "pbx=%s sent an unexpected %s, dropped", self->cfg.name,
                     csta_apdu_kind_str(pk.kind));
        return;
    }
}

static void s_on_readable(node_pbx_link_t *self)
{
    ssize_t n = csta_framer_read(self->framer, self->fd);
    if (n == 0 || (n < 0 && n != -EAGAIN)) {
        char why[96];
        snprintf(why, sizeof why, "%s", n == 0 ? "closed by the PBX" : strerror((int) -n));
        if (self->state == NODE_PBX_LINK_UP)
            s_link_lost(self, why);
        else
            s_attempt_failed(self, why);
        return;
    }
    for (;;) {
        node_pbx_link_state_t before = self->state;
        if (before != NODE_PBX_LINK_UP && before != NODE_PBX_LINK_ASSOCIATING)
            return;
        const uint8_t *apdu;
        size_t len;
        int rc = csta_framer_next(self->framer, &apdu, &len);
        if (rc == -EAGAIN)
            break;
        if (rc < 0) {
            char why[64];
            snprintf(why, sizeof why, "framing lost (%s)", strerror(-rc));
            if (before == NODE_PBX_LINK_UP)
                s_link_lost(self, why);
            else
                s_attempt_failed(self, why);
            return;
        }
        self->last_rx_ms = zclock_mono();
        self->stats.apdus_in++;
        if (before == NODE_PBX_LINK_ASSOCIATING)
            s_on_association_apdu(self, apdu, len);
        else
            s_on_apdu(self, apdu, len);
        if (self->broken)
            break;
    }
    if (self->broken) {
        const char *why = self->broken;
        self->broken = NULL;
        if (self->state == NODE_PBX_LINK_UP)
            s_link_lost(self, why);
        else if (self->state == NODE_PBX_LINK_ASSOCIATING)
            s_attempt_failed(self, why);
    }
}

static int s_on_socket(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    node_pbx_link_t *self = arg;
    if (self->state == NODE_PBX_LINK_CONNECTING) {
        if (item->revents & (ZMQ_POLLOUT | ZMQ_POLLERR))
            s_on_connect_ready(self);
        return 0;
    }
    if (self->fd < 0)
        return 0;
    if (item->revents & ZMQ_POLLOUT) {
        int rc = csta_outq_flush(self->outq, self->fd);
        if (rc == 0)
            s_poll(self, ZMQ_POLLIN);
        else if (rc != -EAGAIN) {
            if (self->state == NODE_PBX_LINK_UP)
                s_link_lost(self, "write-error");
            else
                s_attempt_failed(self, "write-error");
            return 0;
        }
    }
    if (item->revents & (ZMQ_POLLIN | ZMQ_POLLERR))
        s_on_readable(self);
    return 0;
}

//  Reply -ENOTCONN to every request of the list (taken beforehand).
static void s_fail_all(node_pbx_link_t *self, s_list_t list, int status)
{
    s_req_t *r;
    while ((r = list.head)) {
        list.head = r->next;
        s_deadline_remove(self, r);
        r->reply(r->arg, status, NULL, 0, NULL);
        free(r);
    }
}

//  An UP link is gone: tell the owner, fail every request, try again after a back-off.
static void s_link_lost(node_pbx_link_t *self, const char *reason)
{
    s_close_socket(self);
    s_timer_end(self, &self->silence_timer);
    self->broken = NULL;
    self->state = NODE_PBX_LINK_BACKOFF;
    self->failures = 1;
    int delay = node_pbx_link_backoff_ms(&self->cfg, self->failures, s_random(self));
    node_notice(S_SUB, "DOWN pbx=%s host=%s:%d reason=%s outstanding=%d queued=%d retry_in_ms=%d",
                self->cfg.name, self->cfg.host, self->cfg.port, reason, self->sent.count,
                self->waiting.count, delay);
    self->backoff_timer = zloop_timer(self->loop, (size_t) delay, 1, s_on_backoff, self);
    if (self->listener.on_down)
        self->listener.on_down(self->listener.ctx, reason);
    s_list_t sent = s_list_take(&self->sent);
    s_list_t waiting = s_list_take(&self->waiting);
    s_fail_all(self, sent, -ENOTCONN);
    s_fail_all(self, waiting, -ENOTCONN);
    s_deadline_arm(self);
}

//  --- Requests -----------------------------------------------------------------------------------

static long s_next_invoke_id(node_pbx_link_t *self)
{
    for (;;) {
        long id = self->next_invoke_id;
        self->next_invoke_id = id >= S_INVOKE_ID_MAX ? 1 : id + 1;
        if (!s_sent_find(self, id))
            return id;      //  the window is at most half the id space: this ends
    }
}

//  Send waiting requests while the window has room.
static void s_pump(node_pbx_link_t *self)
{
    while (self->state == NODE_PBX_LINK_UP && !self->broken && self->waiting.head &&
           self->sent.count < self->cfg.window) {
        s_req_t *r = self->waiting.head;
        s_list_remove(&self->waiting, r);
        r->invoke_id = s_next_invoke_id(self);
        s_list_append(&self->sent, r);
        csta_peek_t pk;
        size_t n = 0;
        int rc = csta_peek(&pk, r->apdu, r->len);
        if (rc == 0)
            rc = csta_peek_rewrite(&pk, r->apdu, r->len, &r->invoke_id, NULL, self->scratch,
                                   self->scratch_cap, &n);
        if (rc == 0)
            rc = s_send_raw(self, self->scratch, n);
        if (rc) {
            //  Checked when it was accepted, so this is ours: answer it, keep the link.
            node_error(S_SUB, "pbx=%s: request op=%s could not be sent (%s)", self->cfg.name,
                       csta_op_name(r->opcode), strerror(-rc));
            s_list_remove(&self->sent, r);
            s_deadline_remove(self, r);
            s_complete_later(self, r, rc);
        }
    }
}

int node_pbx_link_request(node_pbx_link_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                          node_pbx_link_reply_fn *reply, void *arg)
{
    if (self->destroying)
        return -ESHUTDOWN;
    csta_peek_t pk;
    if (!reply || csta_peek(&pk, apdu, len) != 0 || pk.kind != CSTA_APDU_INVOKE ||
        !pk.has_invoke_id)
        return -EINVAL;
    uint8_t hdr[CSTA_FRAME_HEADER_MAX];
    if (len + S_REWRITE_SLACK > self->scratch_cap ||
        csta_frame_header(self->cfg.framing, len + S_REWRITE_SLACK, hdr) < 0)
        return -EMSGSIZE;
    s_req_t *r = calloc(1, sizeof *r + len);
    if (!r)
        return -ENOMEM;
    memcpy(r->apdu, apdu, len);
    r->len = len;
    r->opcode = pk.opcode;
    r->reply = reply;
    r->arg = arg;
    r->expires_at = zclock_mono() + (timeout_ms > 0 ? timeout_ms : self->cfg.request_timeout_ms);
    self->stats.requests++;
    if (self->state != NODE_PBX_LINK_UP) {
        s_complete_later(self, r, -ENOTCONN);
        return 0;
    }
    if (self->waiting.count >= self->cfg.queue_max && self->sent.count >= self->cfg.window) {
        self->stats.rejected++;
        node_debug(S_SUB, "pbx=%s: queue full (%d waiting), op=%s refused", self->cfg.name,
                   self->waiting.count, csta_op_name(pk.opcode));
        s_complete_later(self, r, -ENOBUFS);
        return 0;
    }
    s_list_append(&self->waiting, r);
    s_deadline_insert(self, r);
    s_deadline_arm(self);
    s_pump(self);
    return 0;
}

int node_pbx_link_send(node_pbx_link_t *self, const uint8_t *apdu, size_t len)
{
    if (self->state != NODE_PBX_LINK_UP || self->destroying)
        return -ENOTCONN;
    return s_send_raw(self, apdu, len);
}

//  --- Life cycle ---------------------------------------------------------------------------------

node_pbx_link_t *node_pbx_link_new(zloop_t *loop, const node_pbx_cfg_t *cfg,
                                   const node_pbx_link_listener_t *listener)
{
    if (!loop || !cfg || !cfg->host[0] || cfg->port <= 0 || cfg->port > 65535 || cfg->window < 1 ||
        cfg->window > S_WINDOW_MAX || cfg->queue_max < 0 || cfg->connect_timeout_ms <= 0 ||
        cfg->backoff_initial_ms <= 0 || cfg->backoff_max_ms < cfg->backoff_initial_ms ||
        cfg->silence_timeout_ms <= 0 || cfg->request_timeout_ms <= 0)
        return NULL;
    node_pbx_link_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->cfg = *cfg;
    if (listener)
        self->listener = *listener;
    self->fd = -1;
    self->next_invoke_id = 1;
    self->rng =
        (uint64_t) zclock_time() ^ ((uint64_t) getpid() << 32) ^ (uint64_t) (uintptr_t) self;
    if (!self->rng)
        self->rng = 0x9E3779B97F4A7C15ULL;
    self->scratch_cap = CSTA_FRAME_MAX_DEFAULT + S_REWRITE_SLACK;
    self->scratch = malloc(self->scratch_cap);
    if (!self->scratch) {
        free(self);
        return NULL;
    }
    return self;
}

void node_pbx_link_destroy(node_pbx_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_pbx_link_t *self = *self_p;
    *self_p = NULL;
    self->destroying = true;
    s_timer_end(self, &self->attempt_timer);
    s_timer_end(self, &self->backoff_timer);
    s_timer_end(self, &self->resolve_timer);
    s_timer_end(self, &self->silence_timer);
    s_timer_end(self, &self->deadline_timer);
    s_timer_end(self, &self->kick_timer);
    s_close_socket(self);
    s_lookup_cancel(self);
    s_free_addrs(self);
    self->state = NODE_PBX_LINK_IDLE;
    //  Invariant 5 holds to the end: every request still here gets its one reply.
    s_fail_all(self, s_list_take(&self->sent), -ENOTCONN);
    s_fail_all(self, s_list_take(&self->waiting), -ENOTCONN);
    s_req_t *r;
    while ((r = self->done.head)) {
        s_list_remove(&self->done, r);
        r->reply(r->arg, r->status, NULL, 0, NULL);
        free(r);
    }
    free(self->scratch);
    free(self);
}

int node_pbx_link_start(node_pbx_link_t *self)
{
    if (self->started)
        return -EALREADY;
    self->started = true;
    s_attempt_start(self);
    return 0;
}

int node_pbx_link_stop(node_pbx_link_t *self)
{
    if (!self->started)
        return -EALREADY;
    self->started = false;
    bool was_up = self->state == NODE_PBX_LINK_UP;
    s_timer_end(self, &self->attempt_timer);
    s_timer_end(self, &self->backoff_timer);
    s_timer_end(self, &self->resolve_timer);
    s_timer_end(self, &self->silence_timer);
    s_close_socket(self);
    s_lookup_cancel(self);
    s_free_addrs(self);
    self->broken = NULL;
    self->state = NODE_PBX_LINK_IDLE;
    self->failures = 0;
    self->attempts_series = 0;
    if (!was_up) {
        node_info(S_SUB, "stopped pbx=%s (was not up)", self->cfg.name);
        return 0;
    }
    node_notice(S_SUB, "STOPPED pbx=%s host=%s:%d outstanding=%d queued=%d", self->cfg.name,
                self->cfg.host, self->cfg.port, self->sent.count, self->waiting.count);
    if (self->listener.on_down)
        self->listener.on_down(self->listener.ctx, "stopped");
    s_list_t sent = s_list_take(&self->sent);
    s_list_t waiting = s_list_take(&self->waiting);
    s_fail_all(self, sent, -ENOTCONN);
    s_fail_all(self, waiting, -ENOTCONN);
    s_deadline_arm(self);
    return 0;
}

int node_pbx_link_connect_now(node_pbx_link_t *self)
{
    if (!self->started || self->state != NODE_PBX_LINK_BACKOFF)
        return -EALREADY;
    s_timer_end(self, &self->backoff_timer);
    //  A fresh series: if the PBX still refuses (it has not seen the old link close yet),
    //  the next try comes after backoff_initial_ms, not after the long delay just skipped.
    self->failures = 0;
    s_attempt_start(self);
    return 0;
}

node_pbx_link_state_t node_pbx_link_state(const node_pbx_link_t *self)
{
    return self->state;
}

void node_pbx_link_stats(const node_pbx_link_t *self, node_pbx_link_stats_t *stats)
{
    *stats = self->stats;
    stats->outstanding = self->sent.count;
    stats->queued = self->waiting.count;
}
