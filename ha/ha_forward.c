//  ha_forward: requests, device watches and events over the cluster bus (ha_forward.h).
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ha_forward.h"

#define S_SNDHWM 10000              //  frames queued per peer (events come in bursts)
#define S_RECONNECT_MS 50           //  ZeroMQ's reconnect interval to a peer (no back-off)
#define S_LOG_EVERY_MS 1000         //  at most one warning a second about lost events

//  A request this node forwarded, from ha_forward_request to its end.
typedef struct s_req {
    uint64_t id;
    size_t pbx;
    char owner[HA_NAME_MAX];        //  the node it went to
    ha_forward_reply_fn *reply;
    ha_forward_followup_fn *followup;
    ha_forward_end_fn *end;
    void *arg;
    int64_t deadline;               //  the owner's answer is due before this
    bool replied;
    int64_t route_until;            //  after the reply: followups are routed until then
    int fail_status;                //  queued to fail from the loop with this
    struct s_req *next;             //  the fail queue, or a list being ended
} s_req_t;

//  A device this node watches through the owner.
typedef struct {
    char device[HA_DEVICE_MAX];
    bool sent;                      //  WatchDevice(on) went to the current owner
    bool answered;                  //  ... and its WatchResult came
    int64_t sent_at;
    bool failed;                    //  its last answer was an error: ask again on the next on
    bool link_down;                 //  ... LINK_DOWN: the owner's link was down
    int64_t answered_at;
} s_watch_t;

//  A peer's request this node performs on its link.
typedef struct {
    uint64_t handle;
    uint64_t id;                    //  the peer's request id
    size_t pbx;
    char node[HA_NAME_MAX];
    bool answered;
    int64_t expires_at;             //  forgotten then (answered: followups stop)
} s_served_t;

//  A peer's watch of a device.
typedef struct {
    size_t pbx;
    char node[HA_NAME_MAX];
    char device[HA_DEVICE_MAX];
} s_served_watch_t;

typedef struct {
    char owner[HA_NAME_MAX];
    uint64_t epoch;
    bool link_up;
    int64_t link_up_at;             //  when link_up last turned true
    bool reported, reported_up;     //  what on_remote said last
    char reported_owner[HA_NAME_MAX];
    zhashx_t *watches;              //  device -> s_watch_t
    //  The event stream from the owner: (node, epoch) and the last number seen.
    bool stream;
    char stream_node[HA_NAME_MAX];
    uint64_t stream_epoch, last_seq;
    uint64_t pub_seq[HA_PEERS_MAX]; //  events this node (as owner) sent each peer
    long gaps_unlogged, lost_unlogged;
    int64_t gap_logged_at;
    ha_forward_stats_t st;          //  the counters (the rest is filled on demand)
} s_pbx_t;

struct ha_forward {
    zloop_t *loop;
    ha_forward_cfg_t cfg;
    ha_forward_bus_t bus;
    ha_forward_listener_t listener;
    zsock_t *dealers[HA_PEERS_MAX];
    ha_curve_dialer_t *dialers[HA_PEERS_MAX];   //  with CURVE: dial again after a failed handshake
    uint8_t *buf;                   //  one encoded frame
    s_pbx_t pbx[HA_PBX_MAX];
    zhashx_t *reqs;                 //  id -> s_req_t (waiting for the reply or routing followups)
    zhashx_t *served;               //  handle -> s_served_t
    zhashx_t *served_watches;       //  "PBX NODE DEVICE" -> s_served_watch_t
    s_req_t *fail_head, *fail_tail; //  replies to make from the loop
    int fail_timer, tick_timer;
    uint64_t next_id, next_handle;
    bool started;
    ha_cluster_t *cluster;          //  attached to (owner views come from it)
    bool peer_lost[HA_PEERS_MAX];   //  lost (ha_forward_peer false) and not heard since
    bool alive[HA_PEERS_MAX];       //  peers heard (ha_forward_peer)
};

static void s_log(ha_forward_t *self, ha_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_log(ha_forward_t *self, ha_log_level_t level, const char *fmt, ...)
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

//  Integer keys (request ids, handles) stored as the key pointer itself.
static size_t s_id_hash(const void *key)
{
    uint64_t v = (uint64_t) (uintptr_t) key;
    return (size_t) (v ^ (v >> 29));
}

static int s_id_cmp(const void *a, const void *b)
{
    return a == b ? 0 : (uintptr_t) a < (uintptr_t) b ? -1 : 1;
}

static zhashx_t *s_id_table(void)
{
    zhashx_t *h = zhashx_new();
    if (h) {
        zhashx_set_key_hasher(h, s_id_hash);
        zhashx_set_key_comparator(h, s_id_cmp);
        zhashx_set_key_duplicator(h, NULL);
        zhashx_set_key_destructor(h, NULL);
    }
    return h;
}

static void *s_key(uint64_t id)
{
    return (void *) (uintptr_t) id;
}

static int s_peer_index(const ha_forward_t *self, const char *node)
{
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        if (strcmp(self->cfg.peers[i].id, node) == 0)
            return (int) i;
    return -1;
}

static int s_pbx_index(const ha_forward_t *self, const char *name)
{
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        if (strcmp(self->cfg.pbx[i], name) == 0)
            return (int) i;
    return -1;
}

static bool s_is_self(const ha_forward_t *self, const char *node)
{
    return strcmp(node, self->cfg.node_id) == 0;
}

static bool s_peer_is_lost(const ha_forward_t *self, const char *node)
{
    int peer = s_peer_index(self, node);
    return peer < 0 || self->peer_lost[peer];
}

//  Another node holds pbx's link (as this node sees it).
static bool s_remote(const s_pbx_t *p, const ha_forward_t *self)
{
    return *p->owner && !s_is_self(self, p->owner);
}

//  Wire status <-> errno (ha_forward.h lists the errnos).
static proto_fwd_status_t s_status_out(int status)
{
    switch (status) {
    case 0: return PROTO_FWD_OK;
    case -ETIMEDOUT: return PROTO_FWD_TIMEOUT;
    case -ENOTCONN: return PROTO_FWD_LINK_DOWN;
    case -ENOBUFS: return PROTO_FWD_BUSY;
    case -EREMOTEIO: return PROTO_FWD_PBX_ERROR;
    default: return PROTO_FWD_REFUSED;
    }
}

static int s_status_in(proto_fwd_status_t status)
{
    switch (status) {
    case PROTO_FWD_OK: return 0;
    case PROTO_FWD_TIMEOUT: return -ETIMEDOUT;
    case PROTO_FWD_BUSY: return -ENOBUFS;
    case PROTO_FWD_PBX_ERROR: return -EREMOTEIO;
    case PROTO_FWD_REFUSED: return -EINVAL;
    case PROTO_FWD_LINK_DOWN:
    case PROTO_FWD_NOT_OWNER:
    default: return -ENOTCONN;
    }
}

//  --- Sending --------------------------------------------------------------------------------

//  m (kind and body set) to node, signed with this node's name; counted against pbx when it
//  was not queued.
static int s_send(ha_forward_t *self, size_t pbx, const char *node, proto_cluster_msg_t *m)
{
    snprintf(m->node, sizeof m->node, "%s", self->cfg.node_id);
    m->incarnation = self->cfg.incarnation;
    snprintf(m->fwd.pbx, sizeof m->fwd.pbx, "%s", self->cfg.pbx[pbx]);
    int rc = self->bus.send ? self->bus.send(self->bus.ctx, node, m) : -ENOTCONN;
    if (rc)
        self->pbx[pbx].st.send_failures++;
    return rc;
}

//  The real bus: one DEALER per peer, frames never wait for a peer that is not connected.
static int s_zmq_send(void *ctx, const char *node, const proto_cluster_msg_t *m)
{
    ha_forward_t *self = ctx;
    int peer = s_peer_index(self, node);
    if (peer < 0 || !self->dealers[peer])
        return -ENOTCONN;
    size_t n = 0;
    int rc = proto_cluster_encode(m, self->buf, PROTO_CLUSTER_FRAME_MAX, &n);
    if (rc)
        return rc == -ENOSPC ? -EMSGSIZE : rc;
    if (zmq_send(zsock_resolve(self->dealers[peer]), self->buf, n, ZMQ_DONTWAIT) < 0)
        return -EAGAIN;
    return 0;
}

//  --- Requester: ending requests -------------------------------------------------------------

static void s_req_free(s_req_t *r)
{
    if (r->end)
        r->end(r->arg);
    free(r);
}

//  Reply (unless it was) and end each request of the list; the list is no longer in reqs.
static void s_end_list(ha_forward_t *self, s_req_t *list, int status, bool owner_changed)
{
    while (list) {
        s_req_t *r = list;
        list = r->next;
        if (!r->replied) {
            s_pbx_t *p = &self->pbx[r->pbx];
            if (status == -ETIMEDOUT)
                p->st.errors_timeout++;
            else if (owner_changed)
                p->st.errors_owner_changed++;
            r->replied = true;
            r->reply(r->arg, status, NULL, 0);
        }
        s_req_free(r);
    }
}

static int s_on_fail_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_forward_t *self = arg;
    self->fail_timer = 0;
    s_req_t *list = self->fail_head;
    self->fail_head = self->fail_tail = NULL;
    while (list) {
        s_req_t *r = list;
        list = r->next;
        r->replied = true;
        r->reply(r->arg, r->fail_status, NULL, 0);
        s_req_free(r);
    }
    return 0;
}

//  Reply status from the loop (never from inside ha_forward_request).
static void s_fail_later(ha_forward_t *self, s_req_t *r, int status)
{
    r->fail_status = status;
    r->next = NULL;
    if (self->fail_tail)
        self->fail_tail->next = r;
    else
        self->fail_head = r;
    self->fail_tail = r;
    if (self->fail_timer <= 0)
        self->fail_timer = zloop_timer(self->loop, 0, 1, s_on_fail_timer, self);
}

//  Every request of pbx that went to owner (any owner when NULL): out of reqs, into a list.
static s_req_t *s_take_reqs(ha_forward_t *self, size_t pbx, const char *owner)
{
    s_req_t *list = NULL;
    zlistx_t *keys = zhashx_keys(self->reqs);
    for (void *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_req_t *r = zhashx_lookup(self->reqs, k);
        if (!r || r->pbx != pbx || (owner && strcmp(r->owner, owner) != 0))
            continue;
        zhashx_delete(self->reqs, k);
        r->next = list;
        list = r;
    }
    zlistx_destroy(&keys);
    return list;
}

//  --- Requester: watches --------------------------------------------------------------------

static void s_watch_send(ha_forward_t *self, size_t pbx, s_watch_t *w, bool on)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_WATCH_DEVICE);
    snprintf(m.fwd.device, sizeof m.fwd.device, "%s", w->device);
    m.fwd.on = on;
    int rc = s_send(self, pbx, self->pbx[pbx].owner, &m);
    if (on) {
        w->sent = rc == 0;      //  not queued: the tick sends it again
        w->answered = w->failed = false;
        w->sent_at = zclock_mono();
    }
}

//  Send every watch of pbx the current owner has not had, or whose answer is overdue: the
//  owner's answer can be lost (its DEALER to this node not connected yet, a full queue),
//  and the applications waiting for it must hear something.
static void s_watches_flush(ha_forward_t *self, size_t pbx)
{
    s_pbx_t *p = &self->pbx[pbx];
    if (!s_remote(p, self))
        return;
    int64_t now = zclock_mono();
    //  A LINK_DOWN answer is followed by an OK once the owner monitors the device again;
    //  should that be lost (a full queue), the watch is asked again once the owner's link
    //  has been up for followup_ms (the new answer says how it stands).
    for (s_watch_t *w = zhashx_first(p->watches); w; w = zhashx_next(p->watches))
        if (!w->sent || (!w->answered && now - w->sent_at > self->cfg.followup_ms) ||
            (w->answered && w->link_down && p->link_up &&
             now - (w->answered_at > p->link_up_at ? w->answered_at : p->link_up_at) >
                 self->cfg.followup_ms))
            s_watch_send(self, pbx, w, true);
}

//  --- Owner: peers' watches -------------------------------------------------------------------

static void s_served_watch_key(char *key, size_t cap, size_t pbx, const char *node,
                               const char *device)
{
    snprintf(key, cap, "%zu %s %s", pbx, node, device);
}

//  End the peers' watches of pbx (node NULL: every peer's): serve_watch off for each.
static void s_release_watches(ha_forward_t *self, size_t pbx, const char *node, bool any_pbx)
{
    zlistx_t *keys = zhashx_keys(self->served_watches);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_served_watch_t *sw = zhashx_lookup(self->served_watches, k);
        if (!sw || (!any_pbx && sw->pbx != pbx) || (node && strcmp(sw->node, node) != 0))
            continue;
        s_served_watch_t copy = *sw;
        zhashx_delete(self->served_watches, k);
        self->pbx[copy.pbx].st.served_watches--;
        if (self->listener.serve_watch)
            self->listener.serve_watch(self->listener.ctx, copy.pbx, copy.node, copy.device,
                                       false);
    }
    zlistx_destroy(&keys);
}

//  --- Owner changes ---------------------------------------------------------------------------

static void s_report(ha_forward_t *self, size_t pbx)
{
    s_pbx_t *p = &self->pbx[pbx];
    bool up = s_remote(p, self) && p->link_up;
    if (p->reported && up == p->reported_up && strcmp(p->owner, p->reported_owner) == 0)
        return;
    p->reported = true;
    p->reported_up = up;
    memcpy(p->reported_owner, p->owner, sizeof p->reported_owner);  //  same size, terminated
    if (self->listener.on_remote)
        self->listener.on_remote(self->listener.ctx, pbx, up, p->owner);
}

void ha_forward_owner(ha_forward_t *self, size_t pbx, const char *owner, uint64_t epoch,
                      bool link_up)
{
    if (pbx >= self->cfg.pbx_count)
        return;
    s_pbx_t *p = &self->pbx[pbx];
    bool changed = strcmp(p->owner, owner) != 0 || (*owner && p->epoch != epoch);
    if (changed) {
        char old[HA_NAME_MAX];
        snprintf(old, sizeof old, "%s", p->owner);
        snprintf(p->owner, sizeof p->owner, "%s", owner);
        p->epoch = epoch;
        p->stream = false;
        if (s_is_self(self, owner))
            memset(p->pub_seq, 0, sizeof p->pub_seq);
        s_log(self, HA_LOG_INFO, "pbx=%s: %s%s epoch=%" PRIu64 " (was %s)", self->cfg.pbx[pbx],
              !*owner ? "no owner" : s_is_self(self, owner) ? "held here" : "forwarding to ",
              s_remote(p, self) ? owner : "", epoch, *old ? old : "none");
        //  Requests out to an old owner that is still alive stay with it: it answers each
        //  one itself — with the PBX's answer, through the new owner when it handed the
        //  link over (it relays what it kept while draining), or LINK_DOWN when it lost
        //  its link.  Only a lost old owner's requests end here (ha_forward_peer ends them
        //  when the loss is reported; this covers one lost before it was an owner here),
        //  and a silent one's at their deadline.  Invariant 5 either way.
        if (*old && !s_is_self(self, old) && s_peer_is_lost(self, old))
            s_end_list(self, s_take_reqs(self, pbx, old), -ENOTCONN, true);
        if (*old && s_is_self(self, old))
            s_release_watches(self, pbx, NULL, false);
        for (s_watch_t *w = zhashx_first(p->watches); w; w = zhashx_next(p->watches))
            w->sent = w->failed = false;
        s_watches_flush(self, pbx);
    } else if (!*owner)
        p->epoch = epoch;
    if (link_up && !p->link_up)
        p->link_up_at = zclock_mono();
    p->link_up = link_up;
    s_report(self, pbx);
}

void ha_forward_peer(ha_forward_t *self, const char *node, bool alive)
{
    int peer = s_peer_index(self, node);
    if (peer < 0)
        return;
    self->peer_lost[peer] = !alive;
    self->alive[peer] = alive;
    if (alive)
        return;
    //  What this node asked of it will not be answered now (a restarted node does not know
    //  the old one's requests): an error the application may retry, whether or not it
    //  still owns the link (invariant 5).
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        s_end_list(self, s_take_reqs(self, i, node), -ENOTCONN, true);
    //  Its watches end here; a peer that comes back sends its set again.  Its requests
    //  still being performed are answered into the void.
    s_release_watches(self, 0, node, true);
    if (self->listener.serve_peer_lost)
        self->listener.serve_peer_lost(self->listener.ctx, node);
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        self->pbx[i].pub_seq[peer] = 0;
    zlistx_t *keys = zhashx_keys(self->served);
    for (void *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_served_t *s = zhashx_lookup(self->served, k);
        if (s && strcmp(s->node, node) == 0)
            zhashx_delete(self->served, k);
    }
    zlistx_destroy(&keys);
}

void ha_forward_release(ha_forward_t *self, size_t pbx)
{
    if (pbx < self->cfg.pbx_count)
        s_release_watches(self, pbx, NULL, false);
}

//  --- Receiving ------------------------------------------------------------------------------

static void s_on_forward_request(ha_forward_t *self, size_t pbx, const proto_cluster_msg_t *m)
{
    s_pbx_t *p = &self->pbx[pbx];
    proto_cluster_msg_t r;
    proto_cluster_msg_init(&r, PROTO_CLUSTER_FORWARD_REPLY);
    r.fwd.id = m->fwd.id;
    //  A node that does not hold the link passes a requester's request on, once: the
    //  requester's view is behind (a handover just moved the link; the requester waits for
    //  this node's answer, which the new owner's will be).  The node relays it through its
    //  PBX service, so it waits in order with the rest while a handover drains.  A relayed
    //  request is not passed on again: no loops while the views differ.
    bool owner = s_is_self(self, p->owner);
    if (!self->listener.serve_request || (!owner && m->fwd.relayed)) {
        r.fwd.status = PROTO_FWD_NOT_OWNER;
        s_send(self, pbx, m->node, &r);
        return;
    }
    s_served_t *s = calloc(1, sizeof *s);
    if (!s) {
        r.fwd.status = PROTO_FWD_BUSY;
        s_send(self, pbx, m->node, &r);
        return;
    }
    s->handle = ++self->next_handle;
    s->id = m->fwd.id;
    s->pbx = pbx;
    snprintf(s->node, sizeof s->node, "%s", m->node);
    //  A guard only: the node answers every request (its PBX service replies once).
    int timeout = m->fwd.timeout_ms > 0 ? (int) m->fwd.timeout_ms : self->cfg.followup_ms;
    s->expires_at = zclock_mono() + timeout + self->cfg.followup_ms + self->cfg.slack_ms;
    zhashx_insert(self->served, s_key(s->handle), s);
    if (owner)
        p->st.served++;
    else
        p->st.relayed++;
    self->listener.serve_request(self->listener.ctx, pbx, s->handle, m->fwd.apdu,
                                 m->fwd.apdu_len, timeout);
}

static void s_on_forward_reply(ha_forward_t *self, size_t pbx, const proto_cluster_msg_t *m)
{
    s_req_t *r = zhashx_lookup(self->reqs, s_key(m->fwd.id));
    if (!r || r->pbx != pbx || strcmp(r->owner, m->node) != 0)
        return;     //  ended already (deadline, owner change): the answer comes too late
    if (m->fwd.followup) {
        if (r->replied && r->followup) {
            r->route_until = zclock_mono() + self->cfg.followup_ms;
            r->followup(r->arg, m->fwd.apdu, m->fwd.apdu_len);
        }
        return;
    }
    if (r->replied)
        return;
    r->replied = true;
    self->pbx[pbx].st.replies++;
    if (!r->followup)
        zhashx_delete(self->reqs, s_key(r->id));
    else
        r->route_until = zclock_mono() + self->cfg.followup_ms;
    r->reply(r->arg, s_status_in(m->fwd.status), m->fwd.apdu, m->fwd.apdu_len);
    if (!r->followup)
        s_req_free(r);
}

static void s_on_watch_device(ha_forward_t *self, size_t pbx, const proto_cluster_msg_t *m)
{
    char key[HA_NAME_MAX + HA_DEVICE_MAX + 32];
    s_served_watch_key(key, sizeof key, pbx, m->node, m->fwd.device);
    s_served_watch_t *sw = zhashx_lookup(self->served_watches, key);
    if (!m->fwd.on) {
        if (sw) {
            zhashx_delete(self->served_watches, key);
            self->pbx[pbx].st.served_watches--;
            if (self->listener.serve_watch)
                self->listener.serve_watch(self->listener.ctx, pbx, m->node, m->fwd.device,
                                           false);
        }
        return;
    }
    if (!s_is_self(self, self->pbx[pbx].owner) || !self->listener.serve_watch) {
        ha_forward_watch_answer(self, pbx, m->node, m->fwd.device, -ENOTCONN, NULL, 0);
        return;
    }
    if (!sw) {
        sw = calloc(1, sizeof *sw);
        if (!sw)
            return;     //  the peer asks again after its next owner change
        sw->pbx = pbx;
        snprintf(sw->node, sizeof sw->node, "%s", m->node);
        snprintf(sw->device, sizeof sw->device, "%s", m->fwd.device);
        zhashx_insert(self->served_watches, key, sw);
        self->pbx[pbx].st.served_watches++;
    }
    self->listener.serve_watch(self->listener.ctx, pbx, m->node, m->fwd.device, true);
}

static void s_on_watch_result(ha_forward_t *self, size_t pbx, const proto_cluster_msg_t *m)
{
    s_pbx_t *p = &self->pbx[pbx];
    if (strcmp(p->owner, m->node) != 0)
        return;     //  from an owner this node no longer asks
    s_watch_t *w = zhashx_lookup(p->watches, m->fwd.device);
    if (!w)
        return;     //  unwatched meanwhile
    int status = s_status_in(m->fwd.status);
    //  The owner keeps a watch whose MonitorStart failed or whose link is down, and
    //  monitors when it can; one that says it is not the owner keeps nothing.  After any
    //  error, the next on asks again (the owner answers how the watch stands now).
    if (m->fwd.status == PROTO_FWD_NOT_OWNER)
        w->sent = false;
    w->answered = true;
    w->failed = status != 0;
    w->link_down = m->fwd.status == PROTO_FWD_LINK_DOWN;
    w->answered_at = zclock_mono();
    if (self->listener.on_watch_result)
        self->listener.on_watch_result(self->listener.ctx, pbx, m->fwd.device, status,
                                       m->fwd.apdu, m->fwd.apdu_len);
}

static void s_on_link_event(ha_forward_t *self, size_t pbx, const proto_cluster_msg_t *m)
{
    s_pbx_t *p = &self->pbx[pbx];
    if (strcmp(p->owner, m->node) != 0)
        return;     //  an old owner still talking: its events are not this link's
    uint64_t seq = m->fwd.seq;
    if (!p->stream || strcmp(p->stream_node, m->node) != 0 || p->stream_epoch != m->fwd.epoch) {
        //  A new stream (owner, epoch): its first event sets the count.
        p->stream = true;
        snprintf(p->stream_node, sizeof p->stream_node, "%s", m->node);
        p->stream_epoch = m->fwd.epoch;
    } else if (seq > p->last_seq + 1) {
        uint64_t lost = seq - p->last_seq - 1;
        p->st.event_gaps++;
        p->st.events_lost += (long) lost;
        p->gaps_unlogged++;
        p->lost_unlogged += (long) lost;
        int64_t now = zclock_mono();
        if (now - p->gap_logged_at >= S_LOG_EVERY_MS) {
            s_log(self, HA_LOG_WARNING, "pbx=%s: lost %ld event%s from %s in %ld gap%s (last: "
                  "seq %" PRIu64 "..%" PRIu64 ", epoch %" PRIu64 ")", self->cfg.pbx[pbx],
                  p->lost_unlogged, p->lost_unlogged == 1 ? "" : "s", m->node, p->gaps_unlogged,
                  p->gaps_unlogged == 1 ? "" : "s", p->last_seq + 1, seq - 1, m->fwd.epoch);
            p->gaps_unlogged = p->lost_unlogged = 0;
            p->gap_logged_at = now;
        }
        //  What this node's applications were told may be stale: the node snapshots the
        //  devices again (issue 6: "a gap triggers a new snapshot").
        p->last_seq = seq;
        if (self->listener.on_events_lost)
            self->listener.on_events_lost(self->listener.ctx, pbx, (long) lost);
    } else if (seq <= p->last_seq && seq != 1) {
        return;     //  seen already
    }
    //  seq 1 again: the owner started counting afresh (it thought this node was lost).
    p->last_seq = seq;
    p->st.events_in++;
    if (strcmp(m->fwd.device, HA_FORWARD_BROADCAST) == 0) {
        if (self->listener.on_broadcast)
            self->listener.on_broadcast(self->listener.ctx, pbx, m->fwd.apdu, m->fwd.apdu_len);
        return;
    }
    if (strcmp(m->fwd.device, HA_FORWARD_CDR) == 0) {
        if (self->listener.on_cdr)
            self->listener.on_cdr(self->listener.ctx, pbx, m->fwd.apdu, m->fwd.apdu_len);
        return;
    }
    if (!zhashx_lookup(p->watches, m->fwd.device))
        return;     //  unwatched while the event was on its way
    if (self->listener.on_event)
        self->listener.on_event(self->listener.ctx, pbx, m->fwd.device, m->fwd.apdu,
                                m->fwd.apdu_len);
}

void ha_forward_receive(ha_forward_t *self, const proto_cluster_msg_t *m)
{
    int pbx = s_pbx_index(self, m->fwd.pbx);
    if (pbx < 0 || s_peer_index(self, m->node) < 0)
        return;     //  a PBX this node does not serve, or a stranger
    switch (m->kind) {
    case PROTO_CLUSTER_FORWARD_REQUEST: s_on_forward_request(self, (size_t) pbx, m); break;
    case PROTO_CLUSTER_FORWARD_REPLY: s_on_forward_reply(self, (size_t) pbx, m); break;
    case PROTO_CLUSTER_WATCH_DEVICE: s_on_watch_device(self, (size_t) pbx, m); break;
    case PROTO_CLUSTER_WATCH_RESULT: s_on_watch_result(self, (size_t) pbx, m); break;
    case PROTO_CLUSTER_LINK_EVENT: s_on_link_event(self, (size_t) pbx, m); break;
    default: break;
    }
}

//  --- The tick -------------------------------------------------------------------------------

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_forward_t *self = arg;
    int64_t now = zclock_mono();
    s_req_t *late = NULL, *done = NULL;
    zlistx_t *keys = zhashx_keys(self->reqs);
    for (void *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_req_t *r = zhashx_lookup(self->reqs, k);
        if (!r)
            continue;
        if (!r->replied && now >= r->deadline) {
            zhashx_delete(self->reqs, k);
            r->next = late;
            late = r;
        } else if (r->replied && now >= r->route_until) {
            zhashx_delete(self->reqs, k);
            r->next = done;
            done = r;
        }
    }
    zlistx_destroy(&keys);
    if (late)
        s_log(self, HA_LOG_INFO, "requests forwarded to the owner got no answer in time");
    s_end_list(self, late, -ETIMEDOUT, false);
    s_end_list(self, done, 0, false);
    keys = zhashx_keys(self->served);
    for (void *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_served_t *s = zhashx_lookup(self->served, k);
        if (s && now >= s->expires_at)
            zhashx_delete(self->served, k);
    }
    zlistx_destroy(&keys);
    //  Watches a new owner did not get (its connection was not up yet).
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        s_watches_flush(self, i);
    return 0;
}

//  --- Requester API --------------------------------------------------------------------------

static int s_request(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len,
                     int timeout_ms, bool relayed, ha_forward_reply_fn *reply,
                     ha_forward_followup_fn *followup, ha_forward_end_fn *end, void *arg)
{
    if (pbx >= self->cfg.pbx_count || !apdu || !len || timeout_ms <= 0 || !reply)
        return -EINVAL;
    if (len > PROTO_CLUSTER_FRAME_MAX - 1024)
        return -EMSGSIZE;
    s_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    s_pbx_t *p = &self->pbx[pbx];
    r->id = ++self->next_id;
    r->pbx = pbx;
    r->reply = reply;
    r->followup = followup;
    r->end = end;
    r->arg = arg;
    p->st.requests++;
    if (!s_remote(p, self)) {
        p->st.errors_no_owner++;
        s_fail_later(self, r, -ENOTCONN);
        return 0;
    }
    snprintf(r->owner, sizeof r->owner, "%s", p->owner);
    r->deadline = zclock_mono() + timeout_ms + self->cfg.slack_ms;
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_FORWARD_REQUEST);
    m.fwd.id = r->id;
    m.fwd.timeout_ms = (uint32_t) timeout_ms;
    m.fwd.relayed = relayed;
    m.fwd.apdu = apdu;
    m.fwd.apdu_len = len;
    int rc = s_send(self, pbx, p->owner, &m);
    if (rc) {
        p->st.errors_no_owner++;
        s_fail_later(self, r, rc == -EMSGSIZE ? -EMSGSIZE : -ENOTCONN);
        return 0;
    }
    zhashx_insert(self->reqs, s_key(r->id), r);
    return 0;
}

int ha_forward_request(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len,
                       int timeout_ms, ha_forward_reply_fn *reply, ha_forward_followup_fn *followup,
                       ha_forward_end_fn *end, void *arg)
{
    return s_request(self, pbx, apdu, len, timeout_ms, false, reply, followup, end, arg);
}

int ha_forward_relay(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len,
                     int timeout_ms, ha_forward_reply_fn *reply, ha_forward_followup_fn *followup,
                     ha_forward_end_fn *end, void *arg)
{
    return s_request(self, pbx, apdu, len, timeout_ms, true, reply, followup, end, arg);
}

int ha_forward_watch(ha_forward_t *self, size_t pbx, const char *device, bool on)
{
    if (pbx >= self->cfg.pbx_count || !device || !*device || strlen(device) >= HA_DEVICE_MAX)
        return -EINVAL;
    s_pbx_t *p = &self->pbx[pbx];
    s_watch_t *w = zhashx_lookup(p->watches, device);
    if (!on) {
        if (!w)
            return 0;
        if (w->sent && s_remote(p, self))
            s_watch_send(self, pbx, w, false);
        zhashx_delete(p->watches, device);
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return -ENOMEM;
        snprintf(w->device, sizeof w->device, "%s", device);
        zhashx_insert(p->watches, device, w);
    } else if (!w->failed)
        return 0;
    if (s_remote(p, self))
        s_watch_send(self, pbx, w, true);
    return 0;
}

//  --- Owner API ------------------------------------------------------------------------------

void ha_forward_answer(ha_forward_t *self, uint64_t handle, int status, const uint8_t *apdu,
                       size_t len)
{
    s_served_t *s = zhashx_lookup(self->served, s_key(handle));
    if (!s || s->answered)
        return;
    s->answered = true;
    s->expires_at = zclock_mono() + self->cfg.followup_ms;
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_FORWARD_REPLY);
    m.fwd.id = s->id;
    m.fwd.status = s_status_out(status);
    if (status == 0) {
        m.fwd.apdu = apdu;
        m.fwd.apdu_len = len;
    }
    s_send(self, s->pbx, s->node, &m);
}

const char *ha_forward_served_node(const ha_forward_t *self, uint64_t handle)
{
    const s_served_t *s = zhashx_lookup(self->served, s_key(handle));
    return s && !s->answered ? s->node : NULL;
}

void ha_forward_followup(ha_forward_t *self, uint64_t handle, const uint8_t *apdu, size_t len)
{
    s_served_t *s = zhashx_lookup(self->served, s_key(handle));
    if (!s || !s->answered)
        return;
    s->expires_at = zclock_mono() + self->cfg.followup_ms;
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_FORWARD_REPLY);
    m.fwd.id = s->id;
    m.fwd.followup = true;
    m.fwd.apdu = apdu;
    m.fwd.apdu_len = len;
    s_send(self, s->pbx, s->node, &m);
}

void ha_forward_watch_answer(ha_forward_t *self, size_t pbx, const char *node,
                             const char *device, int status, const uint8_t *apdu, size_t len)
{
    if (pbx >= self->cfg.pbx_count)
        return;
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_WATCH_RESULT);
    snprintf(m.fwd.device, sizeof m.fwd.device, "%s", device);
    m.fwd.status = s_is_self(self, self->pbx[pbx].owner) || status != -ENOTCONN
                       ? s_status_out(status)
                       : PROTO_FWD_NOT_OWNER;
    if (status == -EREMOTEIO) {
        m.fwd.apdu = apdu;
        m.fwd.apdu_len = len;
    }
    s_send(self, pbx, node, &m);
}

void ha_forward_publish(ha_forward_t *self, size_t pbx, const char *node, const char *device,
                        const uint8_t *apdu, size_t len)
{
    int peer = s_peer_index(self, node);
    if (pbx >= self->cfg.pbx_count || peer < 0)
        return;
    s_pbx_t *p = &self->pbx[pbx];
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_LINK_EVENT);
    snprintf(m.fwd.device, sizeof m.fwd.device, "%s", device);
    m.fwd.epoch = p->epoch;
    //  Numbered whether or not it leaves: a frame the queue refused is a gap the peer sees.
    m.fwd.seq = ++p->pub_seq[peer];
    if (!apdu)
        return;     //  the test's fault knob: numbered, never sent (ha_forward.h)
    m.fwd.apdu = apdu;
    m.fwd.apdu_len = len;
    if (s_send(self, pbx, node, &m) == 0)
        p->st.events_out++;
}

void ha_forward_broadcast(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len)
{
    if (pbx >= self->cfg.pbx_count || !apdu)
        return;
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        if (self->alive[i])
            ha_forward_publish(self, pbx, self->cfg.peers[i].id, HA_FORWARD_BROADCAST, apdu,
                               len);
}

//  --- Life cycle -----------------------------------------------------------------------------

static void s_free_watch(void **item)
{
    free(*item);
    *item = NULL;
}

ha_forward_t *ha_forward_new(zloop_t *loop, const ha_forward_cfg_t *cfg,
                             const ha_forward_bus_t *bus, const ha_forward_listener_t *listener)
{
    if (!loop || !cfg || cfg->pbx_count > HA_PBX_MAX || cfg->peer_count > HA_PEERS_MAX ||
        cfg->followup_ms <= 0 || !*cfg->node_id)
        return NULL;
    ha_forward_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->cfg = *cfg;
    if (self->cfg.slack_ms <= 0)
        self->cfg.slack_ms = 1000;
    if (self->cfg.tick_ms <= 0)
        self->cfg.tick_ms = 100;
    if (listener)
        self->listener = *listener;
    self->bus = bus ? *bus : (ha_forward_bus_t){self, s_zmq_send};
    self->buf = bus ? NULL : malloc(PROTO_CLUSTER_FRAME_MAX);
    self->reqs = s_id_table();
    self->served = s_id_table();
    self->served_watches = zhashx_new();
    bool ok = (bus || self->buf) && self->reqs && self->served && self->served_watches;
    if (self->served)
        zhashx_set_destructor(self->served, s_free_watch);
    if (self->served_watches)
        zhashx_set_destructor(self->served_watches, s_free_watch);
    for (size_t i = 0; ok && i < cfg->pbx_count; i++) {
        self->pbx[i].watches = zhashx_new();
        ok = self->pbx[i].watches != NULL;
        if (ok)
            zhashx_set_destructor(self->pbx[i].watches, s_free_watch);
    }
    if (!ok)
        ha_forward_destroy(&self);
    return self;
}

void ha_forward_destroy(ha_forward_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ha_forward_t *self = *self_p;
    *self_p = NULL;
    if (self->tick_timer > 0)
        zloop_timer_end(self->loop, self->tick_timer);
    if (self->fail_timer > 0)
        zloop_timer_end(self->loop, self->fail_timer);
    //  Every request still out gets its one reply.
    s_req_t *list = self->fail_head;
    self->fail_head = self->fail_tail = NULL;
    for (size_t i = 0; self->reqs && i < self->cfg.pbx_count; i++) {
        s_req_t *more = s_take_reqs(self, i, NULL);
        while (more) {
            s_req_t *r = more;
            more = r->next;
            r->next = list;
            list = r;
        }
    }
    while (list) {
        s_req_t *r = list;
        list = r->next;
        if (!r->replied)
            r->reply(r->arg, -ENOTCONN, NULL, 0);
        s_req_free(r);
    }
    zhashx_destroy(&self->reqs);
    zhashx_destroy(&self->served);
    zhashx_destroy(&self->served_watches);
    for (size_t i = 0; i < HA_PBX_MAX; i++)
        zhashx_destroy(&self->pbx[i].watches);
    for (size_t i = 0; i < HA_PEERS_MAX; i++) {
        ha_curve_dialer_destroy(&self->dialers[i]);
        zsock_destroy(&self->dealers[i]);
    }
    free(self->buf);
    free(self);
}

int ha_forward_start(ha_forward_t *self)
{
    if (self->started)
        return -EALREADY;
    self->started = true;
    if (self->buf) {
        for (size_t i = 0; i < self->cfg.peer_count; i++) {
            zsock_t *d = zsock_new(ZMQ_DEALER);
            if (!d)
                return -ENOMEM;
            self->dealers[i] = d;
            //  A frame for a peer that is not connected is refused at once (the request
            //  gets -ENOTCONN) rather than queued for a node that may be gone.
            zsock_set_immediate(d, 1);
            zsock_set_sndhwm(d, S_SNDHWM);
            zsock_set_linger(d, 0);
            zsock_set_ipv6(d, 1);
            zsock_set_reconnect_ivl(d, S_RECONNECT_MS);
            zsock_set_reconnect_ivl_max(d, 0);
            //  CURVE as ha_cluster's own DEALERs, when the bus has it (ha/README.md "The bus").
            int curve = self->cluster ? ha_cluster_secure_dealer(self->cluster, d,
                                                                 self->cfg.peers[i].id)
                                      : 0;
            if (curve < 0) {
                s_log(self, HA_LOG_ERROR, "peer %s is not one of the cluster's",
                      self->cfg.peers[i].id);
                return -EINVAL;
            }
            char ep[HA_ENDPOINT_MAX + 8];
            snprintf(ep, sizeof ep, "tcp://%s", self->cfg.peers[i].endpoint);
            //  With CURVE a dialer connects it, and again after a failed handshake
            //  (ha_cluster counts and logs them).
            if (curve == 1)
                self->dialers[i] = ha_curve_dialer_new(self->loop, d, ep, S_RECONNECT_MS, NULL,
                                                       NULL);
            if (curve == 1 ? !self->dialers[i] : zsock_connect(d, "%s", ep) < 0) {
                s_log(self, HA_LOG_ERROR, "cannot connect to peer %s at %s: %s",
                      self->cfg.peers[i].id, self->cfg.peers[i].endpoint,
                      zmq_strerror(zmq_errno()));
                return -EINVAL;
            }
        }
    }
    self->tick_timer = zloop_timer(self->loop, (size_t) self->cfg.tick_ms, 0, s_on_tick, self);
    return self->tick_timer < 0 ? -ENOMEM : 0;
}

//  --- ha_cluster's extension ----------------------------------------------------------------

static void s_ext_message(void *ctx, const proto_cluster_msg_t *m)
{
    ha_forward_receive(ctx, m);
}

static void s_ext_peer(void *ctx, const char *node, bool alive)
{
    ha_forward_peer(ctx, node, alive);
}

//  Owners, epochs and link states as ha_cluster sees them after its latest batch or tick.
static void s_ext_change(void *ctx)
{
    ha_forward_t *self = ctx;
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        char owner[HA_NAME_MAX];
        uint64_t epoch = 0;
        bool up = false;
        ha_cluster_pbx_owner(self->cluster, i, owner, sizeof owner, &epoch, &up);
        ha_forward_owner(self, i, owner, epoch, up);
    }
}

int ha_forward_attach(ha_forward_t *self, ha_cluster_t *cluster)
{
    self->cluster = cluster;
    self->cfg.incarnation = ha_cluster_incarnation(cluster);
    ha_cluster_ext_t ext = {self, s_ext_message, s_ext_peer, s_ext_change};
    return ha_cluster_extend(cluster, &ext);
}

//  --- State ----------------------------------------------------------------------------------

void ha_forward_stats(const ha_forward_t *self, size_t pbx, ha_forward_stats_t *st)
{
    memset(st, 0, sizeof *st);
    if (pbx >= self->cfg.pbx_count)
        return;
    const s_pbx_t *p = &self->pbx[pbx];
    *st = p->st;
    snprintf(st->owner, sizeof st->owner, "%s", p->owner);
    st->epoch = p->epoch;
    st->remote = s_remote(p, self);
    st->up = st->remote && p->link_up;
    st->watches = (long) zhashx_size(p->watches);
    st->pending = 0;
    //  zhashx's cursor is the only thing the walk changes.
    zhashx_t *reqs = self->reqs;
    for (s_req_t *r = zhashx_first(reqs); r; r = zhashx_next(reqs))
        st->pending += r->pbx == pbx && !r->replied;
}

char *ha_forward_status_json(const ha_forward_t *self)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    fprintf(out, "{\"pbx\":[");
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        ha_forward_stats_t st;
        ha_forward_stats(self, i, &st);
        fprintf(out, "%s{\"name\":", i ? "," : "");
        ha_cluster_json_str(out, self->cfg.pbx[i]);
        fprintf(out, ",\"owner\":");
        ha_cluster_json_str(out, st.owner);
        fprintf(out, ",\"epoch\":%" PRIu64 ",\"via\":\"%s\",\"up\":%s,\"requests\":%ld,"
                "\"replies\":%ld,\"errors_no_owner\":%ld,\"errors_owner_changed\":%ld,"
                "\"errors_timeout\":%ld,\"pending\":%ld,\"watches\":%ld,\"events_in\":%ld,"
                "\"event_gaps\":%ld,\"events_lost\":%ld,\"served\":%ld,"
                "\"served_watches\":%ld,\"events_out\":%ld,\"send_failures\":%ld,"
                "\"relayed\":%ld}",
                st.epoch, st.remote ? "forwarded" : *st.owner ? "local" : "none",
                st.up ? "true" : "false", st.requests, st.replies, st.errors_no_owner,
                st.errors_owner_changed, st.errors_timeout, st.pending, st.watches, st.events_in,
                st.event_gaps, st.events_lost, st.served, st.served_watches, st.events_out,
                st.send_failures, st.relayed);
    }
    fprintf(out, "]}");
    fclose(out);
    return text;
}
