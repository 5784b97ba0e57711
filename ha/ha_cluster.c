//  ha_cluster: the cluster bus, heartbeats, liveness and ownership actions (ha_cluster.h).
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ha_cluster.h"
#include "ha_epochs.h"
#include "proto_cluster.h"

#define S_SNDHWM 64                 //  frames queued per peer; heartbeats beyond are dropped
#define S_RCVHWM 4096               //  frames from all peers waiting to be read
#define S_RECONNECT_MAX_MS 100      //  ZeroMQ's reconnect interval to a peer, at most
#define S_LINGER_MS 200             //  how long a Release may take to leave at exit
#define S_BAD_LOG_MS 1000           //  at most one warning per second about bad frames

typedef struct {
    ha_peer_cfg_t cfg;
    zsock_t *dealer;
    bool seen;                      //  heard at least once since this node started
    int64_t last_seen;              //  zclock_mono of its last frame
    int64_t joined_at;              //  zclock_mono when it became alive here (or restarted)
    bool joining;                   //  ha_owner_peer_joining said so, not yet undone
    uint64_t incarnation;
} s_peer_t;

struct ha_cluster {
    zloop_t *loop;
    ha_cluster_cfg_t cfg;
    ha_cluster_listener_t listener;
    ha_owner_t *owner;
    uint64_t incarnation;
    uint64_t stored[HA_PBX_MAX];    //  the epoch on disk per PBX
    s_peer_t peers[HA_PEERS_MAX];
    zsock_t *router;
    int tick_timer;
    bool started;
    int64_t last_tick;
    int64_t settle_until;           //  settled at this time at the latest
    bool settle_by_peers;           //  ... or once every peer was heard (not after a stall)
    bool settled;
    bool had_quorum;                //  at the last evaluation
    bool link_up[HA_PBX_MAX];
    long takeovers, drops, bad_messages, send_dropped;
    long bad_unlogged;              //  bad frames since the last warning about them
    int64_t bad_logged_at;
};

static void s_log(ha_cluster_t *self, ha_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_log(ha_cluster_t *self, ha_log_level_t level, const char *fmt, ...)
{
    if (!self->listener.log)
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    self->listener.log(self->listener.ctx, level, text);
}

//  --- Sending --------------------------------------------------------------------------------

//  One frame to every peer that has a connection; a peer without one (or with a full
//  queue) misses it, which heartbeats are made for.
static void s_broadcast(ha_cluster_t *self, const proto_cluster_msg_t *m)
{
    uint8_t buf[PROTO_CLUSTER_FRAME_MAX];
    size_t len = 0;
    int rc = proto_cluster_encode(m, buf, sizeof buf, &len);
    if (rc) {
        s_log(self, HA_LOG_ERROR, "cannot encode a %s: %s", proto_cluster_kind_str(m->kind),
              strerror(-rc));
        return;
    }
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        if (!self->peers[i].dealer)
            continue;
        if (zmq_send(zsock_resolve(self->peers[i].dealer), buf, len, ZMQ_DONTWAIT) < 0)
            self->send_dropped++;
    }
}

static void s_send_heartbeat(ha_cluster_t *self)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    snprintf(m.node, sizeof m.node, "%s", self->cfg.node_id);
    m.incarnation = self->incarnation;
    m.quorum = ha_owner_quorum(self->owner);
    m.heartbeat_ms = (uint32_t) self->cfg.heartbeat_ms;
    m.pbx_count = self->cfg.pbx_count;
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        ha_owner_view_t v;
        ha_owner_view(self->owner, i, &v);
        proto_pbx_state_t *s = &m.pbx[i];
        snprintf(s->pbx, sizeof s->pbx, "%s", self->cfg.pbx[i]);
        snprintf(s->owner, sizeof s->owner, "%s", v.owner);
        s->epoch = v.epoch;
        s->link_up = v.link_up;
        s->priority = v.priority;
    }
    s_broadcast(self, &m);
}

static void s_send_link(ha_cluster_t *self, proto_cluster_kind_t kind, size_t pbx, uint64_t epoch)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, kind);
    snprintf(m.node, sizeof m.node, "%s", self->cfg.node_id);
    m.incarnation = self->incarnation;
    snprintf(m.link_pbx, sizeof m.link_pbx, "%s", self->cfg.pbx[pbx]);
    m.epoch = epoch;
    s_broadcast(self, &m);
}

//  --- Ownership ------------------------------------------------------------------------------

//  Keep the highest epoch seen on disk (a restarted node must not reuse one).
static int s_persist(ha_cluster_t *self, size_t pbx, uint64_t epoch)
{
    if (epoch <= self->stored[pbx])
        return 0;
    int rc = ha_epochs_store(self->cfg.state_dir, self->cfg.pbx[pbx], epoch);
    if (rc) {
        s_log(self, HA_LOG_ERROR, "cannot store epoch %" PRIu64 " pbx=%s in %s: %s", epoch,
              self->cfg.pbx[pbx], self->cfg.state_dir, strerror(-rc));
        return rc;
    }
    self->stored[pbx] = epoch;
    return 0;
}

static void s_drop(ha_cluster_t *self, size_t pbx, const char *why)
{
    uint64_t held = ha_owner_held(self->owner, pbx);
    if (self->listener.drop)
        self->listener.drop(self->listener.ctx, pbx, why);
    ha_owner_dropped(self->owner, pbx);
    self->link_up[pbx] = false;
    s_log(self, HA_LOG_NOTICE, "dropped link pbx=%s epoch=%" PRIu64 " reason=%s",
          self->cfg.pbx[pbx], held, why);
}

//  Take nothing until lost_after intervals from now have passed (settled again then).
static void s_unsettle(ha_cluster_t *self, int64_t now)
{
    self->settled = false;
    self->settle_by_peers = false;
    self->settle_until = now + (int64_t) self->cfg.heartbeat_ms * self->cfg.lost_after;
    ha_owner_settle(self->owner, false);
}

//  Ask ha_owner about every PBX and carry its answers out.  Drops first, so that a link
//  is never taken here while another is being given up.
static void s_evaluate(ha_cluster_t *self)
{
    bool changed = false;
    //  Back in a majority (a partition healed): the first frames of a peer heard again can
    //  be its backlog from while the network was cut — who held what back then.  Taken at
    //  their word, a node cut off from the majority took the link again with the epoch the
    //  majority's owner already had, and kept it on the tie (its id sorted first).  So it
    //  listens again before taking anything, as after a stall.
    bool quorum = ha_owner_quorum(self->owner);
    if (quorum && !self->had_quorum && self->settled) {
        s_log(self, HA_LOG_INFO, "quorum again (sees %zu of %zu nodes): listening before "
              "taking any link", ha_owner_alive_count(self->owner) + 1, self->cfg.peer_count + 1);
        s_unsettle(self, zclock_mono());
    }
    self->had_quorum = quorum;
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        uint64_t epoch = 0;
        char why[256];
        if (ha_owner_decide(self->owner, i, &epoch, why, sizeof why) == HA_OWNER_DROP) {
            self->drops++;
            s_drop(self, i, why);
            changed = true;
        }
    }
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        uint64_t epoch = 0;
        char why[256];
        if (ha_owner_decide(self->owner, i, &epoch, why, sizeof why) == HA_OWNER_TAKE) {
            //  On disk before anyone hears of it: a restart never reuses the epoch.
            if (s_persist(self, i, epoch) != 0)
                continue;       //  logged; tried again at the next tick
            ha_owner_took(self->owner, i, epoch);
            self->takeovers++;
            s_log(self, HA_LOG_NOTICE, "took link pbx=%s epoch=%" PRIu64 " reason=%s",
                  self->cfg.pbx[i], epoch, why);
            s_send_link(self, PROTO_CLUSTER_CLAIM, i, epoch);
            if (self->listener.take)
                self->listener.take(self->listener.ctx, i, epoch);
            changed = true;
        } else if (ha_owner_take_kick(self->owner, i)) {
            s_log(self, HA_LOG_INFO, "pbx=%s: the previous holder let go, connecting now",
                  self->cfg.pbx[i]);
            if (self->listener.retry)
                self->listener.retry(self->listener.ctx, i);
        }
        s_persist(self, i, ha_owner_max_epoch(self->owner, i));
    }
    //  Peers learn at once that this node let a link go or took one.
    if (changed)
        s_send_heartbeat(self);
}

//  --- Receiving ------------------------------------------------------------------------------

static void s_bad(ha_cluster_t *self, const char *what)
{
    self->bad_messages++;
    self->bad_unlogged++;
    int64_t now = zclock_mono();
    if (now - self->bad_logged_at < S_BAD_LOG_MS)
        return;
    s_log(self, HA_LOG_WARNING, "ignored %ld bad cluster frame%s, last: %s", self->bad_unlogged,
          self->bad_unlogged == 1 ? "" : "s", what);
    self->bad_unlogged = 0;
    self->bad_logged_at = now;
}

static int s_peer_index(const ha_cluster_t *self, const char *id)
{
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        if (strcmp(self->peers[i].cfg.id, id) == 0)
            return (int) i;
    return -1;
}

static int s_pbx_index(const ha_cluster_t *self, const char *name)
{
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        if (strcmp(self->cfg.pbx[i], name) == 0)
            return (int) i;
    return -1;
}

//  A peer that just became alive here may not hear this node yet: for lost_after intervals
//  its "no quorum" does not rule it out as a candidate (ha_owner_peer_joining).
static void s_joining(ha_cluster_t *self, size_t i, int64_t now)
{
    self->peers[i].joined_at = now;
    self->peers[i].joining = true;
    ha_owner_peer_joining(self->owner, i, true);
}

//  Any valid frame from a peer is a sign of life.
static void s_peer_heard(ha_cluster_t *self, size_t i, uint64_t incarnation)
{
    s_peer_t *p = &self->peers[i];
    int64_t now = zclock_mono();
    if (p->seen && incarnation != p->incarnation)
        s_log(self, HA_LOG_NOTICE, "peer restarted peer=%s", p->cfg.id);
    if (!ha_owner_peer_is_alive(self->owner, i)) {
        if (p->seen)
            s_log(self, HA_LOG_NOTICE, "peer back peer=%s after_ms=%" PRId64, p->cfg.id,
                  now - p->last_seen);
        else
            s_log(self, HA_LOG_NOTICE, "peer joined peer=%s", p->cfg.id);
        ha_owner_peer_alive(self->owner, i, true);
        s_joining(self, i, now);
    } else if (p->seen && incarnation != p->incarnation) {
        //  Restarted faster than it could be declared lost: forget what it said before.
        ha_owner_peer_alive(self->owner, i, false);
        ha_owner_peer_alive(self->owner, i, true);
        s_joining(self, i, now);
    }
    p->seen = true;
    p->incarnation = incarnation;
    p->last_seen = now;
}

static void s_on_frame(ha_cluster_t *self, const uint8_t *buf, size_t len)
{
    proto_cluster_msg_t m;
    int rc = proto_cluster_decode(&m, buf, len);
    if (rc) {
        char what[64];
        snprintf(what, sizeof what, "%s (%zu bytes)",
                 rc == -EPROTONOSUPPORT ? "unsupported major" : strerror(-rc), len);
        s_bad(self, what);
        return;
    }
    int peer = s_peer_index(self, m.node);
    if (peer < 0) {
        char what[128];
        snprintf(what, sizeof what, "%s from unknown node '%.64s'", proto_cluster_kind_str(m.kind),
                 m.node);
        s_bad(self, what);
        return;
    }
    s_peer_heard(self, (size_t) peer, m.incarnation);
    if (m.kind == PROTO_CLUSTER_HEARTBEAT) {
        const char *names[PROTO_CLUSTER_PBX_MAX];
        ha_owner_view_t views[PROTO_CLUSTER_PBX_MAX];
        for (size_t k = 0; k < m.pbx_count; k++) {
            names[k] = m.pbx[k].pbx;
            snprintf(views[k].owner, sizeof views[k].owner, "%s", m.pbx[k].owner);
            views[k].epoch = m.pbx[k].epoch;
            views[k].link_up = m.pbx[k].link_up;
            views[k].priority = m.pbx[k].priority;
        }
        ha_owner_heartbeat(self->owner, (size_t) peer, m.quorum, names, views, m.pbx_count);
        return;
    }
    int pbx = s_pbx_index(self, m.link_pbx);
    if (pbx < 0)
        return;     //  a PBX this node does not serve
    if (m.kind == PROTO_CLUSTER_CLAIM) {
        s_log(self, HA_LOG_INFO, "claim pbx=%s epoch=%" PRIu64 " by %s", m.link_pbx, m.epoch,
              m.node);
        ha_owner_claim(self->owner, (size_t) peer, (size_t) pbx, m.epoch);
    } else {
        s_log(self, HA_LOG_INFO, "release pbx=%s epoch=%" PRIu64 " by %s", m.link_pbx, m.epoch,
              m.node);
        ha_owner_release(self->owner, (size_t) peer, (size_t) pbx, m.epoch);
    }
}

//  Read every frame waiting, then decide once: a burst (a peer's queue after this node was
//  stopped) is judged by its end, not by its first, oldest frames.
static int s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    ha_cluster_t *self = arg;
    void *handle = zsock_resolve(sock);
    for (int n = 0; n < 10000; n++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            break;
        }
        bool more = zmq_msg_more(&id);
        zmq_msg_close(&id);
        if (!more) {
            s_bad(self, "no body");
            continue;
        }
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            break;
        }
        if (zmq_msg_more(&body)) {
            s_bad(self, "more than one frame");
            while (zmq_msg_more(&body)) {
                zmq_msg_close(&body);
                zmq_msg_init(&body);
                if (zmq_msg_recv(&body, handle, ZMQ_DONTWAIT) < 0)
                    break;
            }
        } else
            s_on_frame(self, zmq_msg_data(&body), zmq_msg_size(&body));
        zmq_msg_close(&body);
    }
    s_evaluate(self);
    return 0;
}

//  --- The tick -------------------------------------------------------------------------------

static void s_settle(ha_cluster_t *self, int64_t now)
{
    if (self->settled)
        return;
    bool all = self->settle_by_peers;
    for (size_t i = 0; all && i < self->cfg.peer_count; i++)
        all = ha_owner_peer_is_alive(self->owner, i);
    if (!all && now < self->settle_until)
        return;
    self->settled = true;
    ha_owner_settle(self->owner, true);
    s_log(self, HA_LOG_INFO, "settled: %zu of %zu peers alive%s",
          ha_owner_alive_count(self->owner), self->cfg.peer_count,
          ha_owner_quorum(self->owner) ? "" : ", no quorum");
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_cluster_t *self = arg;
    int64_t now = zclock_mono();
    int64_t lost_ms = (int64_t) self->cfg.heartbeat_ms * self->cfg.lost_after;
    if (self->last_tick && now - self->last_tick > lost_ms) {
        //  This node did not run (SIGSTOP, a stalled machine): its peers' silence is its
        //  own deafness, and what it knows is old.  Give them a fresh interval and take
        //  nothing until it has listened again; links held are kept until a higher epoch
        //  or a lost quorum says otherwise.
        s_log(self, HA_LOG_WARNING, "loop stalled for %" PRId64 " ms: listening again before "
              "taking any link", now - self->last_tick);
        for (size_t i = 0; i < self->cfg.peer_count; i++)
            self->peers[i].last_seen = now;
        s_unsettle(self, now);
    }
    self->last_tick = now;
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        s_peer_t *p = &self->peers[i];
        if (ha_owner_peer_is_alive(self->owner, i) && now - p->last_seen > lost_ms) {
            s_log(self, HA_LOG_NOTICE, "peer lost peer=%s silent_ms=%" PRId64, p->cfg.id,
                  now - p->last_seen);
            ha_owner_peer_alive(self->owner, i, false);
            p->joining = false;
        }
        if (p->joining && now - p->joined_at > lost_ms) {
            p->joining = false;
            ha_owner_peer_joining(self->owner, i, false);
        }
    }
    s_settle(self, now);
    s_evaluate(self);
    s_send_heartbeat(self);
    return 0;
}

//  --- Life cycle -----------------------------------------------------------------------------

static uint64_t s_incarnation(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t) sizeof v)
        v = (uint64_t) zclock_time() ^ ((uint64_t) getpid() << 40);
    return v ? v : 1;
}

ha_cluster_t *ha_cluster_new(zloop_t *loop, const ha_cluster_cfg_t *cfg,
                             const ha_cluster_listener_t *listener)
{
    ha_cluster_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->cfg = *cfg;
    if (listener)
        self->listener = *listener;
    self->incarnation = s_incarnation();
    if (!loop || cfg->heartbeat_ms < 1 || cfg->lost_after < 1 || cfg->port < 1 ||
        cfg->port > 65535 || cfg->pbx_count > HA_PBX_MAX || cfg->peer_count > HA_PEERS_MAX) {
        s_log(self, HA_LOG_ERROR, "cluster config unusable");
        goto fail;
    }
    int rc = ha_epochs_prepare(cfg->state_dir);
    if (rc) {
        s_log(self, HA_LOG_ERROR, "cluster.state_dir %s: %s", cfg->state_dir, strerror(-rc));
        goto fail;
    }
    ha_owner_cfg_t oc;
    memset(&oc, 0, sizeof oc);
    snprintf(oc.self, sizeof oc.self, "%s", cfg->node_id);
    oc.peer_count = cfg->peer_count;
    for (size_t i = 0; i < cfg->peer_count; i++) {
        snprintf(oc.peers[i], sizeof oc.peers[i], "%s", cfg->peers[i].id);
        self->peers[i].cfg = cfg->peers[i];
    }
    oc.pbx_count = cfg->pbx_count;
    for (size_t i = 0; i < cfg->pbx_count; i++) {
        snprintf(oc.pbx[i], sizeof oc.pbx[i], "%s", cfg->pbx[i]);
        oc.priority[i] = cfg->priority[i];
        rc = ha_epochs_load(cfg->state_dir, cfg->pbx[i], &oc.epoch[i]);
        if (rc) {
            s_log(self, HA_LOG_ERROR, "cluster.state_dir %s: epoch of pbx=%s: %s",
                  cfg->state_dir, cfg->pbx[i],
                  rc == -EBADMSG ? "not a number (fix or remove the file; never lower it)"
                                 : strerror(-rc));
            goto fail;
        }
        self->stored[i] = oc.epoch[i];
    }
    self->owner = ha_owner_new(&oc);
    if (!self->owner) {
        s_log(self, HA_LOG_ERROR, "cluster peers unusable (none, an id twice, or this node's)");
        goto fail;
    }
    return self;
fail:
    ha_cluster_destroy(&self);
    return NULL;
}

void ha_cluster_destroy(ha_cluster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ha_cluster_t *self = *self_p;
    *self_p = NULL;
    if (self->tick_timer > 0)
        zloop_timer_end(self->loop, self->tick_timer);
    if (self->router && self->started)
        zloop_reader_end(self->loop, self->router);
    for (size_t i = 0; self->owner && i < self->cfg.pbx_count; i++) {
        uint64_t held = ha_owner_held(self->owner, i);
        if (!held)
            continue;
        s_drop(self, i, "shutdown");
        //  Standbys take over at once instead of after lost_after intervals.
        s_send_link(self, PROTO_CLUSTER_RELEASE, i, held);
    }
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        if (self->peers[i].dealer)
            zsock_set_linger(self->peers[i].dealer, S_LINGER_MS);
        zsock_destroy(&self->peers[i].dealer);
    }
    zsock_destroy(&self->router);
    ha_owner_destroy(&self->owner);
    free(self);
}

//  "tcp://HOST:PORT" for ZeroMQ; IPv6 addresses go in brackets.
static void s_tcp(char *out, size_t cap, const char *host, int port)
{
    snprintf(out, cap, strchr(host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", host, port);
}

int ha_cluster_start(ha_cluster_t *self)
{
    if (self->started)
        return -EALREADY;
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return -ENOMEM;
    char ep[HA_ENDPOINT_MAX + 16];
    s_tcp(ep, sizeof ep, self->cfg.listen, self->cfg.port);
    zsock_set_ipv6(self->router, strchr(self->cfg.listen, ':') != NULL);
    zsock_set_rcvhwm(self->router, S_RCVHWM);
    zsock_set_linger(self->router, 0);
    if (zsock_bind(self->router, "%s", ep) < 0) {
        int e = zmq_errno();
        s_log(self, HA_LOG_ERROR, "cannot bind the cluster bus on %s: %s", ep, zmq_strerror(e));
        return e == EADDRINUSE ? -EADDRINUSE : -EINVAL;
    }
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        s_peer_t *p = &self->peers[i];
        p->dealer = zsock_new(ZMQ_DEALER);
        if (!p->dealer)
            return -ENOMEM;
        //  Nothing is queued for a peer that is not connected: a heartbeat delivered late
        //  would only be old news.
        zsock_set_immediate(p->dealer, 1);
        zsock_set_sndhwm(p->dealer, S_SNDHWM);
        zsock_set_linger(p->dealer, 0);
        zsock_set_ipv6(p->dealer, 1);
        //  A fixed, short reconnect interval (no exponential back-off): a restarted peer
        //  must hear this node well within its settling time (lost_after intervals), or it
        //  would settle without knowing who holds the links.
        int ivl = self->cfg.heartbeat_ms / 2;
        ivl = ivl < 10 ? 10 : ivl > S_RECONNECT_MAX_MS ? S_RECONNECT_MAX_MS : ivl;
        zsock_set_reconnect_ivl(p->dealer, ivl);
        zsock_set_reconnect_ivl_max(p->dealer, 0);
        snprintf(ep, sizeof ep, "tcp://%s", p->cfg.endpoint);
        if (zsock_connect(p->dealer, "%s", ep) < 0) {
            s_log(self, HA_LOG_ERROR, "cannot connect to peer %s at %s: %s", p->cfg.id, ep,
                  zmq_strerror(zmq_errno()));
            return -EINVAL;
        }
    }
    if (zloop_reader(self->loop, self->router, s_on_router, self) != 0)
        return -ENOMEM;
    zloop_reader_set_tolerant(self->loop, self->router);
    self->started = true;
    int64_t now = zclock_mono();
    self->settle_until = now + (int64_t) self->cfg.heartbeat_ms * self->cfg.lost_after;
    self->settle_by_peers = true;
    self->tick_timer = zloop_timer(self->loop, (size_t) self->cfg.heartbeat_ms, 0, s_on_tick, self);
    if (self->tick_timer < 0)
        return -ENOMEM;
    s_log(self, HA_LOG_NOTICE, "cluster bus on %s:%d, %zu peer%s, heartbeat %d ms, lost after "
          "%d, incarnation %016" PRIx64, self->cfg.listen, self->cfg.port, self->cfg.peer_count,
          self->cfg.peer_count == 1 ? "" : "s", self->cfg.heartbeat_ms, self->cfg.lost_after,
          self->incarnation);
    s_send_heartbeat(self);
    return 0;
}

void ha_cluster_link_state(ha_cluster_t *self, size_t pbx, bool up)
{
    if (!self || pbx >= self->cfg.pbx_count)
        return;
    self->link_up[pbx] = up;
    ha_owner_link(self->owner, pbx, up);
}

//  --- State ----------------------------------------------------------------------------------

void ha_cluster_stats(const ha_cluster_t *self, ha_cluster_stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->peers = self->cfg.peer_count;
    st->peers_alive = ha_owner_alive_count(self->owner);
    st->quorum = ha_owner_quorum(self->owner);
    st->settled = self->settled;
    st->takeovers = self->takeovers;
    st->drops = self->drops;
    st->bad_messages = self->bad_messages;
    st->send_dropped = self->send_dropped;
    st->pbx_count = self->cfg.pbx_count;
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        ha_owner_view_t v;
        ha_owner_view(self->owner, i, &v);
        snprintf(st->pbx[i].owner, sizeof st->pbx[i].owner, "%s", v.owner);
        st->pbx[i].epoch = v.epoch;
        st->pbx[i].held = ha_owner_held(self->owner, i) != 0;
        st->pbx[i].link_up = self->link_up[i];
    }
}

const char *ha_cluster_node_id(const ha_cluster_t *self, size_t index)
{
    if (index == 0)
        return self->cfg.node_id;
    return index <= self->cfg.peer_count ? self->cfg.peers[index - 1].id : NULL;
}

//  Names are config values (letters, digits, '.', '_', '-'), endpoints host:port: nothing
//  needs escaping but a quote or backslash, which are written as '?'.
static void s_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++)
        fputc(*s == '"' || *s == '\\' || (unsigned char) *s < 0x20 ? '?' : *s, out);
    fputc('"', out);
}

char *ha_cluster_status_json(const ha_cluster_t *self)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    int64_t now = zclock_mono();
    fprintf(out, "{\"node\":");
    s_json_str(out, self->cfg.node_id);
    fprintf(out, ",\"incarnation\":\"%016" PRIx64 "\",\"quorum\":%s,\"settled\":%s,"
            "\"heartbeat_ms\":%d,\"lost_after\":%d,\"takeovers\":%ld,\"drops\":%ld,"
            "\"bad_messages\":%ld,\"peers\":[",
            self->incarnation, ha_owner_quorum(self->owner) ? "true" : "false",
            self->settled ? "true" : "false", self->cfg.heartbeat_ms, self->cfg.lost_after,
            self->takeovers, self->drops, self->bad_messages);
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        fprintf(out, "%s{\"id\":", i ? "," : "");
        s_json_str(out, p->cfg.id);
        fprintf(out, ",\"endpoint\":");
        s_json_str(out, p->cfg.endpoint);
        fprintf(out, ",\"alive\":%s", ha_owner_peer_is_alive(self->owner, i) ? "true" : "false");
        if (p->seen)
            fprintf(out, ",\"last_seen_ms_ago\":%" PRId64 ",\"incarnation\":\"%016" PRIx64 "\"",
                    now - p->last_seen, p->incarnation);
        else
            fprintf(out, ",\"last_seen_ms_ago\":null,\"incarnation\":null");
        fprintf(out, "}");
    }
    fprintf(out, "],\"pbx\":[");
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        ha_owner_view_t v;
        ha_owner_view(self->owner, i, &v);
        fprintf(out, "%s{\"name\":", i ? "," : "");
        s_json_str(out, self->cfg.pbx[i]);
        fprintf(out, ",\"owner\":");
        s_json_str(out, v.owner);
        fprintf(out, ",\"epoch\":%" PRIu64 ",\"held\":%s,\"link_up\":%s,\"priority\":%d}",
                v.epoch, ha_owner_held(self->owner, i) ? "true" : "false",
                self->link_up[i] ? "true" : "false", self->cfg.priority[i]);
    }
    fprintf(out, "]}");
    fclose(out);
    return text;
}
