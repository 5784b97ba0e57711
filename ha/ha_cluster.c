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

//  Frames queued per connected peer (nothing is queued for one that is not connected).
//  A snapshot of 10 000 keys is about 160 frames; heartbeats beyond are dropped, and a
//  snapshot that does not fit is given up (the requester asks again after its timeout).
#define S_SNDHWM 1024
#define S_RCVHWM 4096               //  frames from all peers waiting to be read
#define S_RECONNECT_MAX_MS 100      //  ZeroMQ's reconnect interval to a peer, at most
#define S_LINGER_MS 200             //  how long a Release may take to leave at exit
#define S_BAD_LOG_MS 1000           //  at most one warning per second about bad frames
#define S_SNAP_TIMEOUT_MIN_MS 1000  //  a snapshot not complete by then is asked for again

typedef struct {
    ha_peer_cfg_t cfg;
    zsock_t *dealer;
    ha_curve_dialer_t *dialer;      //  the DEALER's handshakes, with CURVE
    bool auth_warned;               //  its failure was logged (until a handshake succeeds)
    struct ha_cluster *cluster;     //  for the dialer's callback
    bool seen;                      //  heard at least once since this node started
    int64_t last_seen;              //  zclock_mono of its last frame
    uint64_t incarnation;
    //  Replicated state: our request for its own keys, and what it is sending us
    uint64_t snap_request;          //  0: none pending
    int64_t snap_deadline;
    ha_state_snap_t *stage;         //  the source being received from this peer
    char stage_node[HA_NAME_MAX];
    uint64_t stage_incarnation;
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
    ha_owner_wait_t waiting[HA_PBX_MAX];    //  as last logged
    int vote_timer;                 //  an application arrived: evaluate soon
    long takeovers, drops, bad_messages, send_dropped;
    long bad_unlogged;              //  bad frames since the last warning about them
    int64_t bad_logged_at;
    ha_cluster_ext_t ext[HA_CLUSTER_EXT_MAX];   //  extensions (forwarding)
    size_t ext_count;
    //  The replicated state
    ha_state_t *state;
    proto_cluster_msg_t *out;       //  own updates not yet sent (one frame's worth)
    proto_cluster_msg_t *rx;        //  the frame being read
    proto_cluster_msg_t *snap_tx;   //  a snapshot frame being built
    int flush_timer;
    uint64_t next_request;
    bool full_done;                 //  a peer's whole state arrived once since start
    int full_peer;                  //  -1, or the peer asked for everything
    uint64_t full_request;
    int64_t full_deadline;
    ha_cluster_state_counters_t counters;
    //  CURVE (section "CURVE" below)
    ha_curve_auth_t *auth;          //  this ROUTER's ZAP domain: the peers' keys
    zsock_t *router_monitor;
    long auth_in[HA_CURVE_REASONS], auth_out[HA_CURVE_REASONS];
    ha_curve_rate_t auth_rate;      //  failed handshakes in: a warning a second
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

//  --- Extensions -----------------------------------------------------------------------------

static void s_ext_peer(ha_cluster_t *self, const char *node, bool alive)
{
    for (size_t i = 0; i < self->ext_count; i++)
        if (self->ext[i].on_peer)
            self->ext[i].on_peer(self->ext[i].ctx, node, alive);
}

static void s_ext_change(ha_cluster_t *self)
{
    for (size_t i = 0; i < self->ext_count; i++)
        if (self->ext[i].on_change)
            self->ext[i].on_change(self->ext[i].ctx);
}

//  --- Sending --------------------------------------------------------------------------------

//  m into buf (PROTO_CLUSTER_FRAME_MAX bytes); 0, or the codec's error after logging it.
static int s_encode(ha_cluster_t *self, const proto_cluster_msg_t *m, uint8_t *buf, size_t *len)
{
    int rc = proto_cluster_encode(m, buf, PROTO_CLUSTER_FRAME_MAX, len);
    if (rc)
        s_log(self, HA_LOG_ERROR, "cannot encode a %s: %s", proto_cluster_kind_str(m->kind),
              strerror(-rc));
    return rc;
}

//  One frame to every peer that has a connection; a peer without one (or with a full
//  queue) misses it, which heartbeats are made for.
static void s_broadcast(ha_cluster_t *self, const proto_cluster_msg_t *m)
{
    uint8_t buf[PROTO_CLUSTER_FRAME_MAX];
    size_t len = 0;
    if (s_encode(self, m, buf, &len) != 0)
        return;
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        if (!self->peers[i].dealer)
            continue;
        if (zmq_send(zsock_resolve(self->peers[i].dealer), buf, len, ZMQ_DONTWAIT) < 0)
            self->send_dropped++;
    }
}

static void s_flush_updates(ha_cluster_t *self);

static void s_send_heartbeat(ha_cluster_t *self)
{
    //  Updates first: a heartbeat ahead of them would look like a gap.
    s_flush_updates(self);
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    snprintf(m.node, sizeof m.node, "%s", self->cfg.node_id);
    m.incarnation = self->incarnation;
    m.state_seq = ha_state_own_seq(self->state);
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

//  A Claim or a Release (to: a handover's target, "" none) of pbx to every peer.
static void s_send_link(ha_cluster_t *self, proto_cluster_kind_t kind, size_t pbx, uint64_t epoch,
                        const char *to)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, kind);
    snprintf(m.node, sizeof m.node, "%s", self->cfg.node_id);
    m.incarnation = self->incarnation;
    snprintf(m.link_pbx, sizeof m.link_pbx, "%s", self->cfg.pbx[pbx]);
    m.epoch = epoch;
    snprintf(m.release_to, sizeof m.release_to, "%s", to);
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

//  Say once why this node, which would take pbx, waits (a several-link PBX).
static void s_log_waiting(ha_cluster_t *self, size_t pbx)
{
    char why[256];
    ha_owner_wait_t wait = ha_owner_waiting(self->owner, pbx, why, sizeof why);
    if (wait != self->waiting[pbx] && wait != HA_OWNER_WAIT_NONE)
        s_log(self, wait == HA_OWNER_WAIT_VOTE ? HA_LOG_NOTICE : HA_LOG_INFO, "pbx=%s: %s",
              self->cfg.pbx[pbx], why);
    self->waiting[pbx] = wait;
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
        ha_owner_action_t action = ha_owner_decide(self->owner, i, &epoch, why, sizeof why);
        s_log_waiting(self, i);
        if (action == HA_OWNER_TAKE) {
            //  On disk before anyone hears of it: a restart never reuses the epoch.
            if (s_persist(self, i, epoch) != 0)
                continue;       //  logged; tried again at the next tick
            ha_owner_took(self->owner, i, epoch);
            self->takeovers++;
            s_log(self, HA_LOG_NOTICE, "took link pbx=%s epoch=%" PRIu64 " reason=%s",
                  self->cfg.pbx[i], epoch, why);
            s_send_link(self, PROTO_CLUSTER_CLAIM, i, epoch, "");
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

//  Any valid frame from a peer is a sign of life.
static void s_peer_heard(ha_cluster_t *self, size_t i, uint64_t incarnation)
{
    s_peer_t *p = &self->peers[i];
    int64_t now = zclock_mono();
    if (p->seen && incarnation != p->incarnation)
        s_log(self, HA_LOG_NOTICE, "peer restarted peer=%s", p->cfg.id);
    bool was_alive = ha_owner_peer_is_alive(self->owner, i);
    if (!was_alive) {
        if (p->seen)
            s_log(self, HA_LOG_NOTICE, "peer back peer=%s after_ms=%" PRId64, p->cfg.id,
                  now - p->last_seen);
        else
            s_log(self, HA_LOG_NOTICE, "peer joined peer=%s", p->cfg.id);
        ha_owner_peer_alive(self->owner, i, true);
        s_ext_peer(self, p->cfg.id, true);
    } else if (p->seen && incarnation != p->incarnation) {
        //  Restarted faster than it could be declared lost: forget what it said before.
        ha_owner_peer_alive(self->owner, i, false);
        ha_owner_peer_alive(self->owner, i, true);
        s_ext_peer(self, p->cfg.id, false);
        s_ext_peer(self, p->cfg.id, true);
    }
    //  (A peer that just joined, came back or restarted says "no quorum" in its first
    //  heartbeats; ha_owner keeps it a candidate meanwhile: settle_beats.)
    bool news = !was_alive || !p->seen || incarnation != p->incarnation;
    if (p->seen && incarnation != p->incarnation) {
        //  A new incarnation answers nothing the old one was asked.
        p->snap_request = 0;
        ha_state_snap_destroy(&p->stage);
        p->stage_node[0] = '\0';
    }
    p->seen = true;
    p->incarnation = incarnation;
    p->last_seen = now;
    //  Its keys are live (a restart leaves the older incarnation's to linger).
    if (news)
        ha_state_node_alive(self->state, p->cfg.id, incarnation, now);
}

//  --- Replicated state (Clone) -----------------------------------------------------------------
//  Own changes go out batched (s_queue_update, s_flush_updates); a peer's updates are
//  applied in sequence (s_on_update); a gap, or a heartbeat announcing more than we hold,
//  asks that peer for its own keys (s_want_snapshot); at start one peer is asked for
//  everything it holds (s_full_maybe).  Answers come in frames of at most 64 keys per
//  source (s_send_snapshot), staged per sender and applied at each source's last frame.

static void s_on_state_change(void *ctx, const ha_state_change_t *change)
{
    ha_cluster_t *self = ctx;
    if (self->listener.state_changed)
        self->listener.state_changed(self->listener.ctx, change);
}

//  One frame to peer i only.  Returns 0 or a negative errno (not connected, queue full).
static int s_send_peer(ha_cluster_t *self, size_t i, const proto_cluster_msg_t *m)
{
    uint8_t buf[PROTO_CLUSTER_FRAME_MAX];
    size_t len = 0;
    int rc = s_encode(self, m, buf, &len);
    if (rc)
        return rc;
    if (!self->peers[i].dealer)
        return -ENOTCONN;
    if (zmq_send(zsock_resolve(self->peers[i].dealer), buf, len, ZMQ_DONTWAIT) < 0)
        return -zmq_errno();
    return 0;
}

static void s_flush_updates(ha_cluster_t *self)
{
    proto_cluster_msg_t *o = self->out;
    if (!o || o->entry_count == 0)
        return;
    //  Before start there is nobody to tell: peers get these keys from a snapshot.
    if (self->started)
        s_broadcast(self, o);
    self->counters.updates_sent += (long) o->entry_count;
    o->entry_count = 0;
}

static int s_on_flush_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_cluster_t *self = arg;
    self->flush_timer = 0;      //  one-shot: gone once this returns (node/README: zloop)
    s_flush_updates(self);
    return 0;
}

//  Own change number seq, to go to every peer at the end of this loop turn (the changes
//  of one turn share a frame, up to PROTO_CLUSTER_ENTRIES_MAX).
static void s_queue_update(ha_cluster_t *self, uint64_t seq, const char *key, const void *value,
                           size_t len, bool deleted, uint32_t linger_ms)
{
    proto_cluster_msg_t *o = self->out;
    if (o->entry_count && o->seq + o->entry_count != seq)
        s_flush_updates(self);  //  never expected: every own change comes through here
    if (o->entry_count == 0)
        o->seq = seq;
    proto_state_entry_t *e = &o->entries[o->entry_count++];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->value_len = len;
    if (len)
        memcpy(e->value, value, len);
    e->deleted = deleted;
    e->linger_ms = linger_ms;
    if (o->entry_count == PROTO_CLUSTER_ENTRIES_MAX)
        s_flush_updates(self);
    else if (!self->flush_timer && self->started) {
        self->flush_timer = zloop_timer(self->loop, 0, 1, s_on_flush_timer, self);
        if (self->flush_timer < 0)
            self->flush_timer = 0;      //  the next heartbeat flushes
    }
}

static int64_t s_snap_timeout_ms(const ha_cluster_t *self)
{
    int64_t t = 10 * (int64_t) self->cfg.heartbeat_ms;
    return t < S_SNAP_TIMEOUT_MIN_MS ? S_SNAP_TIMEOUT_MIN_MS : t;
}

//  Ask peer i for its own keys, or for everything it holds.
static void s_request_snapshot(ha_cluster_t *self, size_t i, bool everything)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_REQUEST);
    snprintf(m.node, sizeof m.node, "%s", self->cfg.node_id);
    m.incarnation = self->incarnation;
    m.request_id = ++self->next_request;
    snprintf(m.source, sizeof m.source, "%s", everything ? "" : self->peers[i].cfg.id);
    if (s_send_peer(self, i, &m) != 0)
        return;     //  not connected yet: asked again at a tick
    int64_t deadline = zclock_mono() + s_snap_timeout_ms(self);
    if (everything) {
        self->full_peer = (int) i;
        self->full_request = m.request_id;
        self->full_deadline = deadline;
    } else {
        self->peers[i].snap_request = m.request_id;
        self->peers[i].snap_deadline = deadline;
    }
    self->counters.snapshots_requested++;
    s_log(self, HA_LOG_INFO, "asked %s for a snapshot of %s", self->peers[i].cfg.id,
          everything ? "everything it holds" : "its keys");
}

//  Peer i's keys are behind: ask it for them, unless an answer is on its way.
static void s_want_snapshot(ha_cluster_t *self, size_t i, uint64_t held, uint64_t seen)
{
    s_peer_t *p = &self->peers[i];
    if (p->snap_request || self->full_peer >= 0)
        return;
    self->counters.gaps++;
    s_log(self, HA_LOG_INFO, "state of %s: holding %" PRIu64 ", it is at %" PRIu64,
          p->cfg.id, held, seen);
    s_request_snapshot(self, i, false);
}

//  Once after start, ask the first live peer for everything it holds (other nodes' keys,
//  lost ones' included, and this node's own previous incarnation's).
static void s_full_maybe(ha_cluster_t *self)
{
    if (self->full_done || self->full_peer >= 0 || !self->started)
        return;
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        if (ha_owner_peer_is_alive(self->owner, i)) {
            s_request_snapshot(self, i, true);
            return;
        }
}

//  Sources follow the peers: alive with the incarnation heard, or lost.
static void s_liveness(ha_cluster_t *self)
{
    int64_t now = zclock_mono();
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        if (p->seen && ha_owner_peer_is_alive(self->owner, i))
            ha_state_node_alive(self->state, p->cfg.id, p->incarnation, now);
        else
            ha_state_node_lost(self->state, p->cfg.id, now);
    }
}

static void s_stage_drop(s_peer_t *p)
{
    ha_state_snap_destroy(&p->stage);
    p->stage_node[0] = '\0';
}

static void s_on_update(ha_cluster_t *self, size_t i, const proto_cluster_msg_t *m)
{
    for (size_t k = 0; k < m->entry_count; k++) {
        const proto_state_entry_t *pe = &m->entries[k];
        ha_state_entry_t e = {pe->key, pe->value, pe->value_len, pe->deleted, pe->linger_ms};
        uint64_t held = ha_state_seq(self->state, m->node, m->incarnation);
        ha_state_result_t r = ha_state_apply(self->state, m->node, m->incarnation, m->seq + k, &e);
        if (r == HA_STATE_APPLIED)
            self->counters.updates_applied++;
        else if (r == HA_STATE_GAP) {
            s_want_snapshot(self, i, held, m->seq + k);
            return;     //  the snapshot brings the rest
        } else if (r == HA_STATE_REFUSED) {
            s_bad(self, "state update refused");
            return;
        }
    }
}

typedef struct {
    ha_cluster_t *self;
    size_t peer;
    int rc;
} s_snap_ctx_t;

//  Send the snapshot frame built so far and start the next one.
static int s_snap_frame(ha_cluster_t *self, size_t peer, bool source_done, bool done)
{
    proto_cluster_msg_t *m = self->snap_tx;
    m->source_done = source_done;
    m->done = done;
    int rc = s_send_peer(self, peer, m);
    m->entry_count = 0;
    return rc;
}

static void s_snap_visit(void *ctx, const char *key, const uint8_t *value, size_t len,
                         uint32_t linger_ms)
{
    s_snap_ctx_t *c = ctx;
    proto_cluster_msg_t *m = c->self->snap_tx;
    if (c->rc)
        return;
    proto_state_entry_t *e = &m->entries[m->entry_count++];
    snprintf(e->key, sizeof e->key, "%s", key);
    memcpy(e->value, value, len);
    e->value_len = len;
    e->deleted = false;
    e->linger_ms = linger_ms;
    if (m->entry_count == PROTO_CLUSTER_ENTRIES_MAX)
        c->rc = s_snap_frame(c->self, c->peer, false, false);
}

//  Answer peer i's StateRequest: this node's own keys (source = our id), or every source
//  held (source ""); a source we are not is answered with nothing but done.
static void s_send_snapshot(ha_cluster_t *self, size_t i, uint64_t request_id, const char *source)
{
    s_flush_updates(self);      //  the snapshot's seq must not run ahead of our updates
    size_t idx[HA_STATE_SOURCES_MAX], n = 0;
    if (!*source)
        for (; n < ha_state_source_count(self->state); n++)
            idx[n] = n;
    else if (strcmp(source, self->cfg.node_id) == 0)
        idx[n++] = 0;
    proto_cluster_msg_t *m = self->snap_tx;
    proto_cluster_msg_init(m, PROTO_CLUSTER_STATE_SNAPSHOT);
    snprintf(m->node, sizeof m->node, "%s", self->cfg.node_id);
    m->incarnation = self->incarnation;
    m->request_id = request_id;
    int64_t now = zclock_mono();
    s_snap_ctx_t c = {self, i, 0};
    size_t keys = 0;
    for (size_t k = 0; k < n && c.rc == 0; k++) {
        ha_state_source_t info;
        ha_state_source(self->state, idx[k], &info);
        snprintf(m->source, sizeof m->source, "%s", info.node);
        m->source_incarnation = info.incarnation;
        m->seq = info.seq;
        m->lost_ms_ago = info.lost ? (uint64_t) (now > info.lost_at ? now - info.lost_at : 1) : 0;
        ha_state_each(self->state, idx[k], s_snap_visit, &c);
        if (c.rc == 0)
            c.rc = s_snap_frame(self, i, true, k + 1 == n);
        keys += info.entries;
    }
    if (n == 0)
        c.rc = s_snap_frame(self, i, false, true);
    if (c.rc) {
        s_log(self, HA_LOG_WARNING, "snapshot for %s given up: %s (it will ask again)",
              self->peers[i].cfg.id, strerror(-c.rc));
        return;
    }
    self->counters.snapshots_sent++;
    s_log(self, HA_LOG_INFO, "sent %s a snapshot: %zu source%s, %zu keys", self->peers[i].cfg.id,
          n, n == 1 ? "" : "s", keys);
}

static void s_on_snapshot(ha_cluster_t *self, size_t i, const proto_cluster_msg_t *m)
{
    s_peer_t *p = &self->peers[i];
    bool for_full = self->full_peer == (int) i && m->request_id == self->full_request;
    bool for_own = p->snap_request && m->request_id == p->snap_request;
    if (!for_full && !for_own)
        return;     //  late, or never asked for
    if (*m->source) {
        if (p->stage && (strcmp(p->stage_node, m->source) != 0 ||
                         p->stage_incarnation != m->source_incarnation))
            s_stage_drop(p);    //  a source left unfinished: not applied
        if (!p->stage) {
            p->stage = ha_state_snap_new(m->source, m->source_incarnation);
            snprintf(p->stage_node, sizeof p->stage_node, "%s", m->source);
            p->stage_incarnation = m->source_incarnation;
        }
        for (size_t k = 0; p->stage && k < m->entry_count; k++) {
            const proto_state_entry_t *pe = &m->entries[k];
            ha_state_entry_t e = {pe->key, pe->value, pe->value_len, false, pe->linger_ms};
            if (ha_state_snap_add(p->stage, &e) != 0) {
                s_bad(self, "snapshot entry refused");
                s_stage_drop(p);
            }
        }
        if (m->source_done && p->stage) {
            ha_state_result_t r = ha_state_snap_apply(self->state, &p->stage, m->seq,
                                                      m->lost_ms_ago, zclock_mono());
            if (r == HA_STATE_APPLIED)
                self->counters.snapshots_applied++;
            s_log(self, HA_LOG_DEBUG, "snapshot of %s/%016" PRIx64 " at %" PRIu64 " from %s: %s",
                  m->source, m->source_incarnation, m->seq, p->cfg.id, ha_state_result_str(r));
            s_stage_drop(p);
            s_liveness(self);
        }
    }
    if (m->done) {
        s_stage_drop(p);
        if (for_full) {
            self->full_done = true;
            self->full_peer = -1;
        }
        p->snap_request = 0;
        p->snap_deadline = 0;
        s_log(self, HA_LOG_INFO, "state from %s: %zu keys held in %zu sources", p->cfg.id,
              ha_state_entry_count(self->state), ha_state_source_count(self->state));
    }
}

//  At the tick: expire lingering keys, give up answers that did not come.
static void s_state_tick(ha_cluster_t *self, int64_t now)
{
    size_t n = ha_state_expire(self->state, now);
    if (n) {
        self->counters.expired += (long) n;
        s_log(self, HA_LOG_INFO, "%zu key%s of lost nodes expired", n, n == 1 ? "" : "s");
    }
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        s_peer_t *p = &self->peers[i];
        if (p->snap_request && now > p->snap_deadline) {
            s_log(self, HA_LOG_WARNING, "no snapshot from %s in time", p->cfg.id);
            p->snap_request = 0;
            s_stage_drop(p);
        }
    }
    if (self->full_peer >= 0 && now > self->full_deadline) {
        s_log(self, HA_LOG_WARNING, "no snapshot of everything from %s in time",
              self->peers[self->full_peer].cfg.id);
        s_stage_drop(&self->peers[self->full_peer]);
        self->full_peer = -1;
    }
    s_full_maybe(self);
}

static void s_on_frame(ha_cluster_t *self, const uint8_t *buf, size_t len)
{
    proto_cluster_msg_t *m = self->rx;
    int rc = proto_cluster_decode(m, buf, len);
    if (rc) {
        char what[64];
        snprintf(what, sizeof what, "%s (%zu bytes)",
                 rc == -EPROTONOSUPPORT ? "unsupported major" : strerror(-rc), len);
        s_bad(self, what);
        return;
    }
    int peer = s_peer_index(self, m->node);
    if (peer < 0) {
        char what[128];
        snprintf(what, sizeof what, "%s from unknown node '%.64s'", proto_cluster_kind_str(m->kind),
                 m->node);
        s_bad(self, what);
        return;
    }
    bool state = m->kind == PROTO_CLUSTER_STATE_UPDATE || m->kind == PROTO_CLUSTER_STATE_REQUEST ||
                 m->kind == PROTO_CLUSTER_STATE_SNAPSHOT;
    s_peer_t *p = &self->peers[peer];
    if (!state)
        s_peer_heard(self, (size_t) peer, m->incarnation);
    else if (p->seen && p->incarnation == m->incarnation &&
             ha_owner_peer_is_alive(self->owner, (size_t) peer))
        p->last_seen = zclock_mono();
    //  else: state frames keep a live peer alive but never bring one to life.  Only its
    //  heartbeat tells whether it has quorum: a peer taken alive without it would be no
    //  candidate for a link, and this node could take the link in its place.
    if (!state && m->kind != PROTO_CLUSTER_HEARTBEAT && m->kind != PROTO_CLUSTER_CLAIM &&
        m->kind != PROTO_CLUSTER_RELEASE) {
        for (size_t i = 0; i < self->ext_count; i++)
            if (self->ext[i].on_message)
                self->ext[i].on_message(self->ext[i].ctx, m);
        proto_cluster_msg_clear(m);
        return;
    }
    if (m->kind == PROTO_CLUSTER_HEARTBEAT) {
        const char *names[PROTO_CLUSTER_PBX_MAX];
        ha_owner_view_t views[PROTO_CLUSTER_PBX_MAX];
        for (size_t k = 0; k < m->pbx_count; k++) {
            names[k] = m->pbx[k].pbx;
            snprintf(views[k].owner, sizeof views[k].owner, "%s", m->pbx[k].owner);
            views[k].epoch = m->pbx[k].epoch;
            views[k].link_up = m->pbx[k].link_up;
            views[k].priority = m->pbx[k].priority;
        }
        ha_owner_heartbeat(self->owner, (size_t) peer, m->quorum, names, views, m->pbx_count);
        //  The first snapshot of everything covers this peer's keys too.
        s_full_maybe(self);
        uint64_t held = ha_state_seq(self->state, m->node, m->incarnation);
        if (held < m->state_seq)
            s_want_snapshot(self, (size_t) peer, held, m->state_seq);
        return;
    }
    if (m->kind == PROTO_CLUSTER_STATE_UPDATE) {
        s_on_update(self, (size_t) peer, m);
        return;
    }
    if (m->kind == PROTO_CLUSTER_STATE_REQUEST) {
        s_send_snapshot(self, (size_t) peer, m->request_id, m->source);
        return;
    }
    if (m->kind == PROTO_CLUSTER_STATE_SNAPSHOT) {
        s_on_snapshot(self, (size_t) peer, m);
        return;
    }
    int pbx = s_pbx_index(self, m->link_pbx);
    if (pbx < 0)
        return;     //  a PBX this node does not serve
    if (m->kind == PROTO_CLUSTER_CLAIM) {
        s_log(self, HA_LOG_INFO, "claim pbx=%s epoch=%" PRIu64 " by %s", m->link_pbx, m->epoch,
              m->node);
        ha_owner_claim(self->owner, (size_t) peer, (size_t) pbx, m->epoch);
    } else {
        s_log(self, HA_LOG_INFO, "release pbx=%s epoch=%" PRIu64 " by %s", m->link_pbx, m->epoch,
              m->node);
        if (*m->release_to)
            s_log(self, HA_LOG_NOTICE, "pbx=%s handed over by %s to %s (epoch %" PRIu64 ")",
                  m->link_pbx, m->node, m->release_to, m->epoch);
        ha_owner_release_to(self->owner, (size_t) peer, (size_t) pbx, m->epoch, m->release_to);
        if (*m->release_to && self->listener.handed_over)
            self->listener.handed_over(self->listener.ctx, (size_t) pbx, m->node, m->release_to);
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
    s_ext_change(self);
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

//  Keys held of node's sources (all incarnations).
static size_t s_keys_of(const ha_cluster_t *self, const char *node)
{
    size_t n = 0;
    ha_state_source_t info;
    for (size_t i = 0; ha_state_source(self->state, i, &info); i++)
        if (strcmp(info.node, node) == 0)
            n += info.entries;
    return n;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_cluster_t *self = arg;
    int64_t now = zclock_mono();
    int64_t lost_ms = (int64_t) self->cfg.heartbeat_ms * self->cfg.lost_after;
    ha_owner_tick(self->owner);
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
            s_log(self, HA_LOG_NOTICE, "peer lost peer=%s silent_ms=%" PRId64 " keys=%zu "
                  "(they stay for their linger)", p->cfg.id, now - p->last_seen,
                  s_keys_of(self, p->cfg.id));
            ha_owner_peer_alive(self->owner, i, false);
            s_ext_peer(self, p->cfg.id, false);
            ha_state_node_lost(self->state, p->cfg.id, now);
            p->snap_request = 0;
            s_stage_drop(p);
            if (self->full_peer == (int) i)
                self->full_peer = -1;
        }
    }
    s_state_tick(self, now);
    s_settle(self, now);
    s_evaluate(self);
    s_send_heartbeat(self);
    s_ext_change(self);
    return 0;
}

static int s_on_vote(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_cluster_t *self = arg;
    self->vote_timer = 0;
    s_evaluate(self);
    s_ext_change(self);
    return 0;
}

void ha_cluster_app_arrived(ha_cluster_t *self)
{
    if (!self)
        return;
    ha_owner_app_arrived(self->owner);
    //  From the loop, not from inside the front end that told us: a take starts a link.
    if (self->started && self->vote_timer <= 0)
        self->vote_timer = zloop_timer(self->loop, 1, 1, s_on_vote, self);
}

//  --- Life cycle -----------------------------------------------------------------------------

static uint64_t s_incarnation(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t) sizeof v)
        v = (uint64_t) zclock_time() ^ ((uint64_t) getpid() << 40);
    return v ? v : 1;
}

//  --- CURVE ----------------------------------------------------------------------------------

//  A node failed the handshake with this ROUTER (a plain node, one with a key that is not a
//  peer's, or one that has the wrong key for this node).  It never gets a frame through, so
//  it is never alive; we do not learn which node it was: counted, warned once a second.
static int s_on_router_monitor(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    ha_cluster_t *self = arg;
    ha_curve_failure_t fail;
    if (ha_curve_failure_read(sock, &self->auth_rate, S_BAD_LOG_MS, &fail)) {
        self->auth_in[fail.reason]++;
        if (fail.log)
            s_log(self, HA_LOG_WARNING, "a node failed the CURVE handshake on the cluster bus "
                  "%s: %s (%ld more in the last second)", fail.endpoint,
                  ha_curve_reason_str(fail.reason), fail.quiet);
    }
    return 0;
}

//  This node's DEALER to a peer failed the handshake (the peer refuses this node's key, is
//  plain, or has another key than cluster.curve_peers says) or passed it.  A failure is
//  logged once until a handshake with that peer succeeds again: the dialer tries again
//  every few milliseconds.
static void s_on_dealer_handshake(void *arg, uint16_t event, uint32_t value)
{
    s_peer_t *p = arg;
    ha_cluster_t *self = p->cluster;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (p->auth_warned)
            s_log(self, HA_LOG_NOTICE, "CURVE handshake with peer %s succeeded", p->cfg.id);
        p->auth_warned = false;
        return;
    }
    ha_curve_reason_t why = ha_curve_reason(event, value);
    self->auth_out[why]++;
    if (!p->auth_warned)
        s_log(self, HA_LOG_WARNING, "CURVE handshake with peer %s at %s failed: %s (its key "
              "in cluster.curve_peers or this node's in its folder is not right, or it is "
              "plain): it stays lost", p->cfg.id, p->cfg.endpoint, ha_curve_reason_str(why));
    p->auth_warned = true;
}

//  With CURVE the ROUTER is a server with this node's certificate whose ZAP domain (one
//  per node: tests run several in one process) lets in the peers' keys only.  Before the
//  bind.  0 or -ENOMEM.
static int s_curve_server(ha_cluster_t *self)
{
    if (!*self->cfg.curve.public_txt)
        return 0;
    char keys[HA_PEERS_MAX][HA_CURVE_KEY_TXT];
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        snprintf(keys[i], sizeof keys[i], "%s", self->cfg.peers[i].curve_key);
    char domain[HA_NAME_MAX + 16];
    snprintf(domain, sizeof domain, "ctim-cluster/%s", self->cfg.node_id);
    self->auth = ha_curve_auth_new(domain, false, NULL, (const char (*)[HA_CURVE_KEY_TXT]) keys,
                                   self->cfg.peer_count);
    if (!self->auth) {
        s_log(self, HA_LOG_ERROR, "cannot start the CURVE authenticator for %s", domain);
        return -ENOMEM;
    }
    ha_curve_server(self->router, &self->cfg.curve, domain);
    self->router_monitor = ha_curve_monitor_new(self->router, HA_CURVE_FAILED_EVENTS);
    if (self->router_monitor &&
        zloop_reader(self->loop, self->router_monitor, s_on_router_monitor, self) != 0)
        ha_curve_monitor_destroy(self->router, &self->router_monitor);
    if (!self->router_monitor)
        s_log(self, HA_LOG_WARNING, "no socket monitor: failed CURVE handshakes go unlogged");
    return 0;
}

//  Connect p's DEALER to ep.  With CURVE it is a client with this node's certificate and
//  the peer's key, and its handshakes are watched: failures counted and logged, and the
//  endpoint dialled again ivl_ms after each (ha_curve_dialer).  0 or -1 (zmq_errno).
static int s_curve_connect(ha_cluster_t *self, s_peer_t *p, const char *ep, int ivl_ms)
{
    if (!self->auth)
        return zsock_connect(p->dealer, "%s", ep);
    ha_curve_client(p->dealer, &self->cfg.curve, p->cfg.curve_key);
    p->cluster = self;
    p->dialer = ha_curve_dialer_new(self->loop, p->dealer, ep, ivl_ms, s_on_dealer_handshake, p);
    return p->dialer ? 0 : -1;
}

//  The monitors and dialers (before their sockets go).
static void s_curve_stop(ha_cluster_t *self)
{
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        ha_curve_dialer_destroy(&self->peers[i].dialer);
    if (self->router_monitor)
        zloop_reader_end(self->loop, self->router_monitor);
    ha_curve_monitor_destroy(self->router, &self->router_monitor);
}

int ha_cluster_secure_dealer(const ha_cluster_t *self, zsock_t *sock, const char *node)
{
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        if (strcmp(self->cfg.peers[i].id, node) != 0)
            continue;
        if (!*self->cfg.curve.public_txt)
            return 0;
        ha_curve_client(sock, &self->cfg.curve, self->cfg.peers[i].curve_key);
        return 1;
    }
    return -ENOENT;
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
    self->full_peer = -1;
    self->state = ha_state_new(cfg->node_id, self->incarnation);
    self->out = malloc(sizeof *self->out);
    self->rx = malloc(sizeof *self->rx);
    self->snap_tx = malloc(sizeof *self->snap_tx);
    if (!self->state || !self->out || !self->rx || !self->snap_tx) {
        s_log(self, HA_LOG_ERROR, "out of memory");
        goto fail;
    }
    ha_state_listen(self->state, s_on_state_change, self);
    proto_cluster_msg_init(self->out, PROTO_CLUSTER_STATE_UPDATE);
    snprintf(self->out->node, sizeof self->out->node, "%s", cfg->node_id);
    self->out->incarnation = self->incarnation;
    if (!loop || cfg->heartbeat_ms < 1 || cfg->lost_after < 1 || cfg->port < 1 ||
        cfg->port > 65535 || cfg->pbx_count > HA_PBX_MAX || cfg->peer_count > HA_PEERS_MAX) {
        s_log(self, HA_LOG_ERROR, "cluster config unusable");
        goto fail;
    }
    for (size_t i = 0; *cfg->curve.public_txt && i < cfg->peer_count; i++)
        if (strlen(cfg->peers[i].curve_key) != HA_CURVE_KEY_TXT - 1) {
            s_log(self, HA_LOG_ERROR, "CURVE on but no public key for peer %s",
                  cfg->peers[i].id);
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
    oc.settle_beats = cfg->lost_after;
    oc.pbx_count = cfg->pbx_count;
    for (size_t i = 0; i < cfg->pbx_count; i++) {
        snprintf(oc.pbx[i], sizeof oc.pbx[i], "%s", cfg->pbx[i]);
        oc.priority[i] = cfg->priority[i];
        oc.several_links[i] = cfg->several_links[i];
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
    if (self->vote_timer > 0)
        zloop_timer_end(self->loop, self->vote_timer);
    if (self->flush_timer > 0)
        zloop_timer_end(self->loop, self->flush_timer);
    //  Changes of this last turn still reach the peers.
    if (self->started)
        s_flush_updates(self);
    if (self->router && self->started)
        zloop_reader_end(self->loop, self->router);
    for (size_t i = 0; self->owner && i < self->cfg.pbx_count; i++) {
        uint64_t held = ha_owner_held(self->owner, i);
        if (!held)
            continue;
        s_drop(self, i, "shutdown");
        //  Standbys take over at once instead of after lost_after intervals.
        s_send_link(self, PROTO_CLUSTER_RELEASE, i, held, "");
    }
    s_curve_stop(self);
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        if (self->peers[i].dealer)
            zsock_set_linger(self->peers[i].dealer, S_LINGER_MS);
        zsock_destroy(&self->peers[i].dealer);
        s_stage_drop(&self->peers[i]);
    }
    zsock_destroy(&self->router);
    //  After the ROUTER: ZeroMQ lets any key in while a CURVE server has no ZAP handler.
    ha_curve_auth_destroy(&self->auth);
    ha_owner_destroy(&self->owner);
    //  The listener hears nothing of the state going away with the process.
    if (self->state)
        ha_state_listen(self->state, NULL, NULL);
    ha_state_destroy(&self->state);
    free(self->out);
    free(self->rx);
    free(self->snap_tx);
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
    int rc = s_curve_server(self);
    if (rc)
        return rc;
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
        if (s_curve_connect(self, p, ep, ivl) < 0) {
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
          "%d, incarnation %016" PRIx64 "%s", self->cfg.listen, self->cfg.port,
          self->cfg.peer_count, self->cfg.peer_count == 1 ? "" : "s", self->cfg.heartbeat_ms,
          self->cfg.lost_after, self->incarnation, self->auth ? ", CURVE" : "");
    s_send_heartbeat(self);
    return 0;
}

void ha_cluster_link_state(ha_cluster_t *self, size_t pbx, bool up)
{
    if (!self || pbx >= self->cfg.pbx_count)
        return;
    bool changed = self->link_up[pbx] != up;
    self->link_up[pbx] = up;
    ha_owner_link(self->owner, pbx, up);
    //  Peers learn at once: nodes that forward to this one serve again as soon as its link
    //  is up, rather than at the next tick.  (Sending calls no listener.)
    if (changed && self->started)
        s_send_heartbeat(self);
}

//  --- Extensions -----------------------------------------------------------------------------

int ha_cluster_extend(ha_cluster_t *self, const ha_cluster_ext_t *ext)
{
    if (self->ext_count == HA_CLUSTER_EXT_MAX)
        return -ENOSPC;
    self->ext[self->ext_count++] = *ext;
    return 0;
}

bool ha_cluster_pbx_owner(const ha_cluster_t *self, size_t pbx, char *owner, size_t cap,
                          uint64_t *epoch, bool *link_up)
{
    ha_owner_view_t v;
    ha_owner_view(self->owner, pbx, &v);
    snprintf(owner, cap, "%s", v.owner);
    *epoch = v.epoch;
    *link_up = false;
    if (!*v.owner)
        return false;
    if (ha_owner_held(self->owner, pbx)) {
        *link_up = self->link_up[pbx];
        return true;
    }
    int peer = s_peer_index(self, v.owner);
    ha_owner_view_t pv;
    if (peer >= 0 && ha_owner_peer_view(self->owner, (size_t) peer, pbx, &pv))
        *link_up = pv.link_up && strcmp(pv.owner, v.owner) == 0;
    return true;
}

//  --- Handover ---------------------------------------------------------------------------------

int ha_cluster_handover_check(const ha_cluster_t *self, const char *pbx, const char *to,
                              char *why, size_t why_cap)
{
    int i = s_pbx_index(self, pbx);
    if (i < 0) {
        snprintf(why, why_cap, "unknown pbx %s", pbx);
        return -ENOENT;
    }
    int peer = s_peer_index(self, to);
    if (peer < 0 && strcmp(to, self->cfg.node_id) != 0) {
        snprintf(why, why_cap, "unknown node %s", to);
        return -ESRCH;
    }
    if (!ha_owner_held(self->owner, (size_t) i)) {
        char owner[HA_NAME_MAX];
        uint64_t epoch;
        bool up;
        if (ha_cluster_pbx_owner(self, (size_t) i, owner, sizeof owner, &epoch, &up))
            snprintf(why, why_cap, "this node does not hold pbx %s: %s does", pbx, owner);
        else
            snprintf(why, why_cap, "this node does not hold pbx %s: nobody does", pbx);
        return -EREMOTE;
    }
    if (peer < 0) {
        snprintf(why, why_cap, "%s holds pbx %s already", to, pbx);
        return -EALREADY;
    }
    if (!ha_owner_quorum(self->owner)) {
        snprintf(why, why_cap, "no quorum");
        return -ENOLINK;
    }
    ha_owner_view_t v;
    if (!ha_owner_peer_view(self->owner, (size_t) peer, (size_t) i, &v)) {
        snprintf(why, why_cap, "%s is not alive or does not serve pbx %s", to, pbx);
        return -EHOSTUNREACH;
    }
    *why = '\0';
    return i;
}

bool ha_cluster_took_by_handover(const ha_cluster_t *self, size_t pbx)
{
    return ha_owner_took_by_handover(self->owner, pbx);
}

int ha_cluster_handover(ha_cluster_t *self, const char *pbx, const char *to, char *why,
                        size_t why_cap)
{
    int i = ha_cluster_handover_check(self, pbx, to, why, why_cap);
    if (i < 0)
        return i;
    uint64_t held = ha_owner_held(self->owner, (size_t) i);
    char reason[HA_NAME_MAX + 32];
    snprintf(reason, sizeof reason, "handover to %s", to);
    //  The link goes before anyone hears of it: the target's link must find the PBX free
    //  (a PBX with one connection refuses a second one).
    if (self->listener.drop)
        self->listener.drop(self->listener.ctx, (size_t) i, reason);
    int rc = ha_owner_hand_over(self->owner, (size_t) i, (size_t) s_peer_index(self, to));
    if (rc < 0)
        ha_owner_dropped(self->owner, (size_t) i);     //  (checked above: not reached)
    self->link_up[i] = false;
    s_log(self, HA_LOG_NOTICE, "dropped link pbx=%s epoch=%" PRIu64 " reason=%s",
          self->cfg.pbx[i], held, reason);
    s_send_link(self, PROTO_CLUSTER_RELEASE, (size_t) i, held, to);
    s_send_heartbeat(self);
    s_ext_change(self);
    return 0;
}

uint64_t ha_cluster_incarnation(const ha_cluster_t *self)
{
    return self->incarnation;
}

//  --- Replicated state: the node's side -------------------------------------------------------

int64_t ha_cluster_state_put(ha_cluster_t *self, const char *key, const void *value, size_t len,
                             uint32_t linger_ms)
{
    int64_t seq = ha_state_put(self->state, key, value, len, linger_ms);
    if (seq > 0)
        s_queue_update(self, (uint64_t) seq, key, value, len, false, linger_ms);
    return seq;
}

int64_t ha_cluster_state_delete(ha_cluster_t *self, const char *key)
{
    int64_t seq = ha_state_delete(self->state, key);
    if (seq > 0)
        s_queue_update(self, (uint64_t) seq, key, NULL, 0, true, 0);
    return seq;
}

const ha_state_t *ha_cluster_state(const ha_cluster_t *self)
{
    return self->state;
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
    st->curve = self->auth != NULL;
    memcpy(st->auth_failures_in, self->auth_in, sizeof self->auth_in);
    memcpy(st->auth_failures_out, self->auth_out, sizeof self->auth_out);
    st->state_seq = ha_state_own_seq(self->state);
    st->state_entries = ha_state_entry_count(self->state);
    st->state_sources = ha_state_source_count(self->state);
    st->state = self->counters;
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

void ha_cluster_json_str(FILE *out, const char *s)
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
    ha_cluster_json_str(out, self->cfg.node_id);
    fprintf(out, ",\"incarnation\":\"%016" PRIx64 "\",\"quorum\":%s,\"settled\":%s,"
            "\"heartbeat_ms\":%d,\"lost_after\":%d,\"takeovers\":%ld,\"drops\":%ld,"
            "\"bad_messages\":%ld,\"curve\":%s,\"peers\":[",
            self->incarnation, ha_owner_quorum(self->owner) ? "true" : "false",
            self->settled ? "true" : "false", self->cfg.heartbeat_ms, self->cfg.lost_after,
            self->takeovers, self->drops, self->bad_messages, self->auth ? "true" : "false");
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        fprintf(out, "%s{\"id\":", i ? "," : "");
        ha_cluster_json_str(out, p->cfg.id);
        fprintf(out, ",\"endpoint\":");
        ha_cluster_json_str(out, p->cfg.endpoint);
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
        ha_cluster_json_str(out, self->cfg.pbx[i]);
        fprintf(out, ",\"owner\":");
        ha_cluster_json_str(out, v.owner);
        fprintf(out, ",\"epoch\":%" PRIu64 ",\"held\":%s,\"link_up\":%s,\"priority\":%d",
                v.epoch, ha_owner_held(self->owner, i) ? "true" : "false",
                self->link_up[i] ? "true" : "false", self->cfg.priority[i]);
        //  A several-link PBX: what this node waits for before it takes the link, if anything.
        ha_owner_wait_t wait = ha_owner_waiting(self->owner, i, NULL, 0);
        fprintf(out, ",\"links\":\"%s\",\"waiting\":", self->cfg.several_links[i] ? "several"
                                                                                   : "one");
        if (wait == HA_OWNER_WAIT_NONE)
            fprintf(out, "null}");
        else
            fprintf(out, "\"%s\"}", ha_owner_wait_str(wait));
    }
    const ha_cluster_state_counters_t *c = &self->counters;
    fprintf(out, "],\"state\":{\"seq\":%" PRIu64 ",\"keys\":%zu,\"updates_sent\":%ld,"
            "\"updates_applied\":%ld,\"gaps\":%ld,\"snapshots_requested\":%ld,"
            "\"snapshots_sent\":%ld,\"snapshots_applied\":%ld,\"expired\":%ld,"
            "\"sources\":[", ha_state_own_seq(self->state), ha_state_entry_count(self->state),
            c->updates_sent, c->updates_applied, c->gaps, c->snapshots_requested,
            c->snapshots_sent, c->snapshots_applied, c->expired);
    ha_state_source_t info;
    for (size_t i = 0; ha_state_source(self->state, i, &info); i++) {
        fprintf(out, "%s{\"node\":", i ? "," : "");
        ha_cluster_json_str(out, info.node);
        fprintf(out, ",\"incarnation\":\"%016" PRIx64 "\",\"seq\":%" PRIu64 ",\"keys\":%zu,"
                "\"lost_ms_ago\":", info.incarnation, info.seq, info.entries);
        if (info.lost)
            fprintf(out, "%" PRId64 "}", now - info.lost_at);
        else
            fprintf(out, "null}");
    }
    fprintf(out, "]}}");
    fclose(out);
    return text;
}
