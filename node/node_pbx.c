//  node_pbx: the PBX service over a local CSTA link — shared monitors, routing of replies,
//  events and segments, re-monitoring after link loss (node_pbx.h) — or over its remote
//  backing, forwarding to the node that holds the link (node_pbx_remote.h; the section
//  "Remote backing" at the end).
//
//  A device is monitored at the PBX once, however many watches it has (the estos
//  multiplexer's rule, csta-facts.md 5).  node_pbx's own requests (MonitorStart,
//  MonitorStop, SnapshotDevice) go through one place, s_device_sync, which looks at what a
//  device has (watches, PBX monitor) and what it needs, and sends at most one request per
//  device at a time; at most `window` of them are in flight, the rest wait in a FIFO of
//  devices, so a re-monitor of thousands of devices is pipelined and never fills the
//  link's queue.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"
#include "node_pbx.h"
#include "node_pbx_devices.h"
#include "node_pbx_link.h"
#include "node_pbx_remote.h"
#include "node_pbx_snap.h"

#define S_SUB "pbx"
#define S_GONE_LOGGED 8             //  vanished calls named per snapshot in the log

enum { S_OP_NONE, S_OP_START, S_OP_STOP, S_OP_SNAPSHOT };

//  How the owner took a device's remote watch (node_pbx_device_t.rstate).
enum { S_R_NONE, S_R_PENDING, S_R_OK, S_R_FAILED };

//  Segments expected after a result that carried a serviceCrossRefID.
typedef struct s_followup {
    struct s_followup *next;
    csta_xref_t xref;
    int opcode;                     //  SWITCHING_FUNCTION_DEVICES or SNAPSHOT_DEVICE_DATA
    node_pbx_followup_fn *fn;       //  a requester's; NULL with dev_key: node_pbx's snapshot
    void *arg;
    char dev_key[NODE_PBX_DEVICE_KEY_MAX];
    int64_t expires_at;
} s_followup_t;

//  A SnapshotDevice whose requester takes no segments (followup NULL): node_pbx collects
//  the SnapshotDeviceData segments a serviceCrossRefID result announces and gives the
//  requester one result with every call (section "Segmented snapshots").  Freed once the
//  requester is answered, its reply has come and no followup source can still call it.
typedef struct s_snapreq {
    struct s_snapreq *next;
    node_pbx_t *pbx;
    node_pbx_reply_fn *reply;
    void *arg;
    node_pbx_snap_t *snap;
    long invoke_id;                 //  the result's
    int timeout_ms;
    int timer;                      //  the deadline of the segments, from the result on
    bool reply_pending;             //  its reply (the result) has not come yet
    int channels;                   //  followup sources that may still call it
    bool done;                      //  the requester was answered
} s_snapreq_t;

//  A front end's request on its way.
typedef struct {
    node_pbx_t *pbx;
    node_pbx_reply_fn *reply;
    node_pbx_followup_fn *followup;
    void *arg;
    int opcode;
    uint8_t *start_cdr;             //  a StartCDR's bytes (kept to restart CDR after a
    size_t start_cdr_len;           //  link loss), else NULL
} s_request_t;

//  A front end's request held while the service is paused.
typedef struct s_queued {
    struct s_queued *next;
    node_pbx_reply_fn *reply;
    node_pbx_followup_fn *followup;
    void *arg;
    int timeout_ms;
    bool relay;                     //  a peer's request this node passes on (node_pbx_relay)
    size_t len;
    uint8_t apdu[];
} s_queued_t;

struct node_pbx {
    zloop_t *loop;
    node_pbx_cfg_t cfg;
    node_pbx_listener_t listener;
    node_pbx_link_t *link;
    node_pbx_devices_t *devices;
    node_pbx_state_t state;
    bool started, destroying;

    node_pbx_device_t *work_head, *work_tail;   //  devices waiting for a slot
    int inflight;                               //  node_pbx's own requests at the link

    node_pbx_watch_t *done_head, *done_tail;    //  done calls to make from the loop
    int done_timer;

    s_followup_t *followups;
    s_snapreq_t *snapreqs;
    int housekeeping_timer, retry_timer, validate_timer;

    void *cdr_owner;
    bool cdr_sink;
    node_pbx_followup_fn *cdr_followup;
    void *cdr_arg;
    uint8_t *cdr_start;             //  the StartCDR that made cdr_sink, sent again on link up
    size_t cdr_start_len;
    char cdr_at[NODE_NAME_MAX];     //  the owner that has it (remote backing; "" local)

    int resync_pending, resync_devices, resync_calls, resync_failed;
    int64_t resync_started;

    node_pbx_stats_t stats;

    //  Paused (node_pbx_pause): front ends' requests wait here, in order, until resume.
    int fe_outstanding;             //  front ends' requests at the local link now
    bool paused;
    s_queued_t *queue_head, *queue_tail;
    size_t queued;
    int pause_timer, resume_timer;
    node_pbx_drained_fn *drained;
    void *drained_arg;

    //  The remote backing (node_pbx_remote.h): serves while the link is not started.
    bool has_remote;
    node_pbx_remote_t remote;
    bool remote_up;                 //  reachable through the owner
    char remote_owner[NODE_NAME_MAX];
};

static void s_device_sync(node_pbx_t *self, node_pbx_device_t *dev);
static void s_drain_check(node_pbx_t *self);
static int s_queue(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms, bool relay,
                   node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg);
static void s_remote_sync(node_pbx_t *self, node_pbx_device_t *dev);
static void s_snap_on_segment(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys);
static void s_snap_channel_closed(s_snapreq_t *w, int status);
static int s_snapreq_start(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                           bool relay, node_pbx_reply_fn *reply, void *arg);
static int s_remote_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                            bool relay, const csta_peek_t *keys, node_pbx_reply_fn *reply,
                            node_pbx_followup_fn *followup, void *arg);

//  The remote backing serves: there is one and the link is not started.
static bool s_remote(const node_pbx_t *self)
{
    return self->has_remote && !self->started;
}

const char *node_pbx_state_str(node_pbx_state_t state)
{
    return state == NODE_PBX_UP ? "UP" : "DOWN";
}

static const char *s_dev_str(const node_pbx_device_t *dev)
{
    return dev->key + 2;    //  "d:101" -> "101", "n:17891329" -> "17891329"
}

//  --- Deferred done calls ------------------------------------------------------------------------

static int s_on_done_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_t *self = arg;
    self->done_timer = 0;
    node_pbx_watch_t *w;
    while ((w = self->done_head)) {
        self->done_head = w->done_next;
        if (!self->done_head)
            self->done_tail = NULL;
        w->done_next = NULL;
        w->done_queued = false;
        if (w->done_pending) {
            w->done_pending = false;
            if (w->done)
                w->done(w->arg, w->done_status, NULL, 0);
        }
    }
    return 0;
}

//  Call done(status) from the loop: never from inside node_pbx_watch.
static void s_done_later(node_pbx_t *self, node_pbx_watch_t *w, int status)
{
    if (w->done_queued || !w->done_pending)
        return;
    w->done_status = status;
    w->done_queued = true;
    w->done_next = NULL;
    if (self->done_tail)
        self->done_tail->done_next = w;
    else
        self->done_head = w;
    self->done_tail = w;
    if (self->done_timer <= 0)
        self->done_timer = zloop_timer(self->loop, 0, 1, s_on_done_timer, self);
}

static void s_done_unqueue(node_pbx_t *self, node_pbx_watch_t *w)
{
    if (!w->done_queued)
        return;
    node_pbx_watch_t *prev = NULL;
    for (node_pbx_watch_t *p = self->done_head; p; prev = p, p = p->done_next) {
        if (p != w)
            continue;
        if (prev)
            prev->done_next = p->done_next;
        else
            self->done_head = p->done_next;
        if (self->done_tail == p)
            self->done_tail = prev;
        break;
    }
    w->done_queued = false;
    w->done_next = NULL;
}

//  Free the watches unwatched while the device was handing out an event or a done.
static void s_sweep_dead(node_pbx_device_t *dev)
{
    node_pbx_watch_t *w = dev->watches;
    while (w) {
        node_pbx_watch_t *next = w->next;
        if (w->dead) {
            node_pbx_device_watch_remove(dev, w);
            free(w);
        }
        w = next;
    }
}

//  Tell the device's waiting watches how their MonitorStart went; after a success, the
//  watches told before (a re-monitor after link loss or retry) hear on_watch_monitored.
static void s_watches_done(node_pbx_t *self, node_pbx_device_t *dev, int status,
                           const uint8_t *apdu, size_t len)
{
    dev->dispatching++;
    for (node_pbx_watch_t *w = dev->watches; w; w = w->next) {
        if (w->dead)
            continue;
        if (w->done_queued) {
            if (status == 0)
                w->done_status = 0;     //  its done, still to come, says what holds now
            continue;
        }
        if (w->done_pending) {
            w->done_pending = false;
            if (w->done)
                w->done(w->arg, status, apdu, len);
        } else if (status == 0 && self->listener.on_watch_monitored)
            self->listener.on_watch_monitored(self->listener.ctx, w, w->arg);
    }
    dev->dispatching--;
}

//  --- Work queue: devices waiting for a slot -----------------------------------------------------

static void s_work_push(node_pbx_t *self, node_pbx_device_t *dev)
{
    if (dev->queued)
        return;
    dev->queued = true;
    dev->queue_next = NULL;
    dev->queue_prev = self->work_tail;
    if (self->work_tail)
        self->work_tail->queue_next = dev;
    else
        self->work_head = dev;
    self->work_tail = dev;
}

static void s_work_remove(node_pbx_t *self, node_pbx_device_t *dev)
{
    if (!dev->queued)
        return;
    if (dev->queue_prev)
        dev->queue_prev->queue_next = dev->queue_next;
    else
        self->work_head = dev->queue_next;
    if (dev->queue_next)
        dev->queue_next->queue_prev = dev->queue_prev;
    else
        self->work_tail = dev->queue_prev;
    dev->queue_prev = dev->queue_next = NULL;
    dev->queued = false;
}

static void s_work_pump(node_pbx_t *self)
{
    while (self->work_head && self->inflight < self->cfg.window && !self->destroying) {
        node_pbx_device_t *dev = self->work_head;
        s_work_remove(self, dev);
        s_device_sync(self, dev);
    }
}

//  --- Re-monitor accounting ----------------------------------------------------------------------

static void s_resync_item_done(node_pbx_t *self, node_pbx_device_t *dev, bool failed)
{
    if (!dev->resync)
        return;
    dev->resync = false;
    self->resync_failed += failed;
    if (--self->resync_pending > 0)
        return;
    node_notice(S_SUB, "re-monitored pbx=%s devices=%d failed=%d calls_found=%d in %lld ms",
                self->cfg.name, self->resync_devices, self->resync_failed, self->resync_calls,
                (long long) (zclock_mono() - self->resync_started));
}

//  --- node_pbx's own requests --------------------------------------------------------------------

static void s_on_own_reply(void *arg, int status, const uint8_t *apdu, size_t len,
                           const csta_peek_t *keys);

static int s_send_own(node_pbx_t *self, node_pbx_device_t *dev, int op)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;    //  replaced by the link
    if (op == S_OP_START) {
        //  No filter: every event of the device, since each watch may want any of them.
        a.opcode = CSTA_OP_MONITOR_START;
        a.svc.monitor_start.device = dev->id;
    } else if (op == S_OP_STOP) {
        a.opcode = CSTA_OP_MONITOR_STOP;
        a.svc.monitor_stop.xref = dev->xref;
    } else {
        a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
        a.svc.snapshot_device.snapshot_object = dev->id;
    }
    uint8_t buf[512];
    size_t n;
    int rc = csta_apdu_encode(&a, buf, sizeof buf, &n);
    if (rc == 0)
        rc = node_pbx_link_request(self->link, buf, n, 0, s_on_own_reply, dev);
    if (rc) {
        node_error(S_SUB, "pbx=%s device=%s: %s could not be sent (%s)", self->cfg.name,
                   s_dev_str(dev), csta_op_name(a.opcode), strerror(-rc));
        return rc;
    }
    dev->op = op;
    self->inflight++;
    return 0;
}

//  A MonitorStart answered after its deadline: the PBX monitors the device under a
//  cross-reference nobody knows (the device's retry gets another one), and would send
//  every event twice.  Stop that monitor.
static void s_on_stray_monitor_stopped(void *arg, int status, const uint8_t *apdu, size_t len,
                                       const csta_peek_t *keys)
{
    (void) apdu;
    (void) len;
    node_pbx_t *self = arg;
    if (!self->destroying && (status || keys->kind != CSTA_APDU_RESULT))
        node_warning(S_SUB, "pbx=%s: a stray monitor could not be stopped (%s); its events "
                     "are counted as unrouted", self->cfg.name,
                     status ? strerror(-status) : "the PBX refused");
}

static void s_on_late_reply(void *ctx, int opcode, const uint8_t *apdu, size_t len,
                            const csta_peek_t *keys)
{
    node_pbx_t *self = ctx;
    if (opcode != CSTA_OP_MONITOR_START || keys->kind != CSTA_APDU_RESULT)
        return;
    csta_apdu_t r;
    if (csta_apdu_decode(&r, apdu, len) != 0) {
        node_info(S_SUB, "pbx=%s: a late MonitorStart result does not parse", self->cfg.name);
        return;
    }
    csta_apdu_t stop;
    csta_apdu_init(&stop, CSTA_APDU_INVOKE);
    stop.invoke_id = 1;     //  replaced by the link
    stop.opcode = CSTA_OP_MONITOR_STOP;
    stop.svc.monitor_stop.xref = r.svc.monitor_start_res.xref;
    uint8_t buf[256];
    size_t n;
    int rc = csta_apdu_encode(&stop, buf, sizeof buf, &n);
    csta_apdu_clear(&r);
    if (rc == 0)
        rc = node_pbx_link_request(self->link, buf, n, 0, s_on_stray_monitor_stopped, self);
    node_info(S_SUB, "pbx=%s: a MonitorStart answered after its deadline started a monitor: "
              "%s", self->cfg.name, rc ? "it could not be stopped" : "stopping it");
}

//  Bring the device's PBX monitor in line with its watches: one request at a time per
//  device, and only while the link is up.  May free the device.
static void s_device_sync(node_pbx_t *self, node_pbx_device_t *dev)
{
    if (s_remote(self) && !self->destroying) {
        s_remote_sync(self, dev);
        return;
    }
    if (dev->op != S_OP_NONE || self->destroying)
        return;
    bool want = dev->watch_count > 0;
    if (!want)
        s_resync_item_done(self, dev, false);
    int op = S_OP_NONE;
    if (self->state == NODE_PBX_UP) {
        if (want && dev->mon == NODE_PBX_MON_NONE && !dev->retry_wait)
            op = S_OP_START;
        else if (!want && dev->mon == NODE_PBX_MON_ACTIVE)
            op = S_OP_STOP;
        else if (want && dev->mon == NODE_PBX_MON_ACTIVE && dev->want_snapshot)
            op = S_OP_SNAPSHOT;
    }
    if (op == S_OP_NONE) {
        if (!want && dev->mon == NODE_PBX_MON_NONE && !dev->dispatching) {
            s_work_remove(self, dev);
            node_pbx_devices_remove(self->devices, &dev);
        }
        return;
    }
    if (self->inflight >= self->cfg.window) {
        s_work_push(self, dev);
        return;
    }
    s_work_remove(self, dev);
    if (op == S_OP_STOP) {
        //  Its events have no one to go to from now on.
        node_pbx_devices_set_xref(self->devices, dev, NULL);
        dev->mon = NODE_PBX_MON_STOPPING;
    } else if (op == S_OP_SNAPSHOT) {
        dev->want_snapshot = false;
        dev->snap_count = 0;
        dev->snap_overflow = false;
    }
    if (s_send_own(self, dev, op) != 0) {
        //  Not the PBX's doing (encoding, memory): try again with the retry timer.
        if (op == S_OP_STOP)
            dev->mon = NODE_PBX_MON_NONE;
        else if (op == S_OP_START)
            dev->retry_wait = true;
        return;
    }
    if (op == S_OP_START)
        dev->mon = NODE_PBX_MON_STARTING;
}

static void s_on_monitor_started(node_pbx_t *self, node_pbx_device_t *dev, int status,
                                 const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    if (status == 0 && keys->kind == CSTA_APDU_RESULT && keys->has_xref) {
        if (node_pbx_devices_set_xref(self->devices, dev, &keys->xref) == -EEXIST)
            node_warning(S_SUB, "pbx=%s gave device %s a monitor xref another device had",
                         self->cfg.name, s_dev_str(dev));
        dev->mon = NODE_PBX_MON_ACTIVE;
        node_info(S_SUB, "monitor started pbx=%s device=%s watches=%d", self->cfg.name,
                  s_dev_str(dev), dev->watch_count);
        if (dev->resync)
            dev->want_snapshot = true;      //  the calls that exist now (invariant 2)
        s_watches_done(self, dev, 0, NULL, 0);
        return;
    }
    dev->mon = NODE_PBX_MON_NONE;
    self->stats.monitor_failures += status != -ENOTCONN;
    if (status == -ENOTCONN) {
        s_watches_done(self, dev, status, NULL, 0);
        return;     //  monitored again when the link is back
    }
    dev->retry_wait = true;
    if (status < 0) {
        node_warning(S_SUB, "MonitorStart failed pbx=%s device=%s: %s; retry in %d ms",
                     self->cfg.name, s_dev_str(dev), strerror(-status), self->cfg.monitor_retry_ms);
        s_watches_done(self, dev, status, NULL, 0);
    } else {
        csta_apdu_t e;
        char what[64] = "an unreadable answer";
        if (csta_apdu_decode(&e, apdu, len) == 0) {
            if (e.kind == CSTA_APDU_ERROR)
                snprintf(what, sizeof what, "error category %d value %ld", (int) e.error.category,
                         e.error.value);
            else if (e.kind == CSTA_APDU_REJECT)
                snprintf(what, sizeof what, "a Reject");
            else if (e.kind == CSTA_APDU_RESULT)
                snprintf(what, sizeof what, "a result without cross-reference");
        }
        csta_apdu_clear(&e);
        node_warning(S_SUB, "MonitorStart refused pbx=%s device=%s: %s; retry in %d ms",
                     self->cfg.name, s_dev_str(dev), what, self->cfg.monitor_retry_ms);
        s_watches_done(self, dev, -EREMOTEIO, apdu, len);
    }
    s_resync_item_done(self, dev, true);
}

//  A snapshot is complete: keep its calls, log the ones the PBX no longer has.
static void s_snapshot_finished(node_pbx_t *self, node_pbx_device_t *dev,
                                const node_pbx_call_id_t *calls, int count, bool overflow)
{
    node_pbx_call_id_t gone[S_GONE_LOGGED];
    int n_gone = node_pbx_device_calls_reconcile(dev, calls, count, gone, S_GONE_LOGGED);
    self->stats.calls_vanished += n_gone;
    for (int i = 0; i < n_gone && i < S_GONE_LOGGED; i++) {
        char hex[2 * CSTA_CALL_ID_MAX + 1];
        node_info(S_SUB, "call %s at device %s is gone at the PBX pbx=%s",
                  node_pbx_call_id_str(&gone[i], hex, sizeof hex), s_dev_str(dev), self->cfg.name);
    }
    //  Per device only when something changed: validation snapshots every device each
    //  validate_calls_ms, and re-monitoring ends in one summary line.
    node_log(n_gone ? NODE_LOG_INFO : NODE_LOG_DEBUG, S_SUB,
             "snapshot pbx=%s device=%s calls=%d%s gone=%d", self->cfg.name, s_dev_str(dev),
             count, overflow ? "+" : "", n_gone);
    if (dev->resync) {
        self->resync_calls += count;
        s_resync_item_done(self, dev, false);
    }
}

static void s_snapshot_items(node_pbx_device_t *dev, const csta_snapshot_device_data_t *data)
{
    for (size_t i = 0; i < data->count; i++) {
        const csta_conn_t *c = &data->item[i].connection_identifier;
        if (!c->present || !c->call_id_len)
            continue;
        if (dev->snap_count == NODE_PBX_DEVICE_CALLS_MAX) {
            dev->snap_overflow = true;
            continue;
        }
        node_pbx_call_id_t *s = &dev->snap[dev->snap_count++];
        s->len = c->call_id_len;
        memcpy(s->id, c->call_id, c->call_id_len);
    }
}

static s_followup_t *s_followup_add(node_pbx_t *self, const csta_xref_t *xref, int opcode,
                                    node_pbx_followup_fn *fn, void *arg, const char *dev_key)
{
    s_followup_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->xref = *xref;
    f->opcode = opcode;
    f->fn = fn;
    f->arg = arg;
    if (dev_key)
        snprintf(f->dev_key, sizeof f->dev_key, "%s", dev_key);
    f->expires_at = zclock_mono() + self->cfg.request_timeout_ms;
    f->next = self->followups;
    self->followups = f;
    if (fn == s_snap_on_segment)
        ((s_snapreq_t *) arg)->channels++;
    return f;
}

//  A followup no longer expected (last segment, expired, link down): a collecting
//  SnapshotDevice of it hears that no more segments come from there (status: why).
static void s_followup_free(s_followup_t *f, int status)
{
    if (f->fn == s_snap_on_segment)
        s_snap_channel_closed(f->arg, status);
    free(f);
}

//  The device's watches that had their done hear on_watch_stale (events were lost on the
//  bus, and the owner's snapshot is answered: remote backing).
static void s_watches_stale(node_pbx_t *self, node_pbx_device_t *dev)
{
    if (!dev->stale)
        return;
    dev->stale = false;
    if (!self->listener.on_watch_stale)
        return;
    dev->dispatching++;
    for (node_pbx_watch_t *w = dev->watches; w; w = w->next)
        if (!w->dead && !w->done_pending && !w->done_queued)
            self->listener.on_watch_stale(self->listener.ctx, w, w->arg);
    dev->dispatching--;
}

static void s_on_snapshot(node_pbx_t *self, node_pbx_device_t *dev, int status,
                          const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    s_watches_stale(self, dev);     //  their own refresh follows this one
    csta_apdu_t a;
    int rc = status;
    if (rc == 0)
        rc = keys->kind == CSTA_APDU_RESULT ? csta_apdu_decode(&a, apdu, len) : -EREMOTEIO;
    if (rc != 0) {
        if (status == 0 && keys->kind == CSTA_APDU_RESULT)
            csta_apdu_clear(&a);
        node_info(S_SUB, "SnapshotDevice pbx=%s device=%s failed (%s)", self->cfg.name,
                  s_dev_str(dev), rc == -EREMOTEIO ? "the PBX said no" : strerror(-rc));
        s_resync_item_done(self, dev, true);
        return;
    }
    const csta_snapshot_device_res_t *res = &a.svc.snapshot_device_res;
    if (res->is_xref) {
        //  The calls follow in SnapshotDeviceData segments (ECMA-269 SnapshotDevice).
        if (!s_followup_add(self, &res->service_xref, CSTA_OP_SNAPSHOT_DEVICE_DATA, NULL, NULL,
                            dev->key))
            s_resync_item_done(self, dev, true);
    } else {
        s_snapshot_items(dev, &res->snapshot_data);
        s_snapshot_finished(self, dev, dev->snap, dev->snap_count, dev->snap_overflow);
    }
    csta_apdu_clear(&a);
}

static void s_on_own_reply(void *arg, int status, const uint8_t *apdu, size_t len,
                           const csta_peek_t *keys)
{
    node_pbx_device_t *dev = arg;
    node_pbx_t *self = dev->owner;
    int op = dev->op;
    dev->op = S_OP_NONE;
    self->inflight--;
    if (self->destroying)
        return;
    if (op == S_OP_START)
        s_on_monitor_started(self, dev, status, apdu, len, keys);
    else if (op == S_OP_STOP) {
        dev->mon = NODE_PBX_MON_NONE;
        if (status != 0 || keys->kind != CSTA_APDU_RESULT)
            node_info(S_SUB, "MonitorStop pbx=%s device=%s: %s (the monitor is forgotten)",
                      self->cfg.name, s_dev_str(dev), status ? strerror(-status) : "refused");
    } else if (op == S_OP_SNAPSHOT) {
        s_on_snapshot(self, dev, status, apdu, len, keys);
    }
    s_sweep_dead(dev);      //  the done callbacks above may have unwatched
    s_device_sync(self, dev);   //  may free dev
    s_work_pump(self);
}

//  --- CDR after a link loss -----------------------------------------------------------------------

//  CDR transmission ends: no receiver, nothing to restart.
static void s_cdr_forget(node_pbx_t *self)
{
    self->cdr_sink = false;
    self->cdr_at[0] = '\0';
    free(self->cdr_start);
    self->cdr_start = NULL;
    self->cdr_start_len = 0;
}

//  A StartCDR's result: (followup, arg) receive the CDR reports from now on; its bytes
//  (*start_p, taken) are kept to start CDR again after a link loss or owner change.
static void s_cdr_sink(node_pbx_t *self, node_pbx_followup_fn *followup, void *arg,
                       uint8_t **start_p, size_t len)
{
    self->cdr_sink = true;
    self->cdr_followup = followup;
    self->cdr_arg = arg;
    free(self->cdr_start);
    self->cdr_start = *start_p;
    self->cdr_start_len = len;
    *start_p = NULL;
}

static void s_on_cdr_restarted(void *arg, int status, const uint8_t *apdu, size_t len,
                               const csta_peek_t *keys)
{
    (void) apdu;
    (void) len;
    node_pbx_t *self = arg;
    if (self->destroying)
        return;
    if (status == 0 && keys->kind == CSTA_APDU_RESULT)
        node_info(S_SUB, "pbx=%s: CDR transmission restarted after the link came back",
                  self->cfg.name);
    else
        node_warning(S_SUB, "pbx=%s: CDR transmission not restarted (%s); the CDR owner gets "
                     "no records until the link comes back again or it starts CDR again",
                     self->cfg.name, status ? strerror(-status) : "the PBX refused it");
}

//  The PBX forgot CDR transmission with the association: ask again with the owner's own
//  StartCDR, so the owner keeps getting records without knowing the link was lost.
static void s_cdr_restart(node_pbx_t *self)
{
    if (!self->cdr_sink || !self->cdr_start)
        return;
    self->cdr_at[0] = '\0';     //  held here now: a later owner is asked again
    int rc = node_pbx_link_request(self->link, self->cdr_start, self->cdr_start_len, 0,
                                   s_on_cdr_restarted, self);
    if (rc)
        node_warning(S_SUB, "pbx=%s: CDR transmission not restarted: %s", self->cfg.name,
                     strerror(-rc));
}

//  --- Link events --------------------------------------------------------------------------------

static void s_on_link_up(void *ctx)
{
    node_pbx_t *self = ctx;
    self->state = NODE_PBX_UP;
    if (self->listener.on_state)
        self->listener.on_state(self->listener.ctx, NODE_PBX_UP);
    //  Re-monitor every device someone watches, then snapshot it (DESIGN.md invariant 2).
    self->resync_pending = self->resync_devices = self->resync_calls = self->resync_failed = 0;
    self->resync_started = zclock_mono();
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices); d; d = d->next) {
        d->retry_wait = false;
        if (d->watch_count > 0) {
            d->resync = true;
            self->resync_devices++;
        }
    }
    self->resync_pending = self->resync_devices;
    if (self->resync_devices)
        node_notice(S_SUB, "re-monitoring pbx=%s devices=%d", self->cfg.name, self->resync_devices);
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
        next = d->next;
        s_device_sync(self, d);
    }
    s_cdr_restart(self);
}

static void s_on_link_down(void *ctx, const char *reason)
{
    node_pbx_t *self = ctx;
    (void) reason;      //  the link logged it
    bool was_up = self->state == NODE_PBX_UP;
    self->state = NODE_PBX_DOWN;
    //  The PBX forgot every monitor with the association; the watches stay.
    while (self->work_head)
        s_work_remove(self, self->work_head);
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices); d; d = d->next) {
        node_pbx_devices_set_xref(self->devices, d, NULL);
        d->mon = NODE_PBX_MON_NONE;
        d->want_snapshot = d->retry_wait = d->resync = false;
    }
    self->resync_pending = 0;
    while (self->followups) {
        s_followup_t *f = self->followups;
        self->followups = f->next;
        s_followup_free(f, -ENOTCONN);
    }
    if (was_up && self->listener.on_state)
        self->listener.on_state(self->listener.ctx, NODE_PBX_DOWN);
    //  Devices without watches and requests are forgotten now; the others when the link's
    //  -ENOTCONN replies come, right after this.
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
        next = d->next;
        s_device_sync(self, d);
    }
}

//  An event of dev (from the link or the owner) to each of its watches.
static void s_dispatch_event(node_pbx_t *self, node_pbx_device_t *dev, const uint8_t *apdu,
                             size_t len, const csta_peek_t *keys)
{
    node_pbx_device_track_event(dev, keys, apdu, len);
    dev->dispatching++;
    for (node_pbx_watch_t *w = dev->watches; w; w = w->next)
        if (!w->dead && !w->done_pending && self->listener.on_event)
            self->listener.on_event(self->listener.ctx, w, w->arg, apdu, len, keys);
    dev->dispatching--;
    if (dev->dispatching == 0) {
        s_sweep_dead(dev);
        s_device_sync(self, dev);
    }
}

static void s_on_event(node_pbx_t *self, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    self->stats.events_in++;
    node_pbx_device_t *dev = keys->has_xref ? node_pbx_devices_by_xref(self->devices, &keys->xref)
                                            : NULL;
    if (!dev) {
        //  After a MonitorStop, events of the stopped monitor may still be on their way.
        self->stats.events_unrouted++;
        node_debug(S_SUB, "pbx=%s: %s for no monitored device, dropped", self->cfg.name,
                   csta_event_name(keys->event));
        return;
    }
    s_dispatch_event(self, dev, apdu, len, keys);
}

//  Acknowledge a PBX invoke with an empty ReturnResult (has_result false) or {opcode, NULL}.
static void s_ack(node_pbx_t *self, const csta_peek_t *keys, bool with_opcode)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = keys->invoke_id;
    r.opcode = keys->opcode;
    r.has_result = with_opcode;
    uint8_t buf[64];
    size_t n;
    if (csta_apdu_encode(&r, buf, sizeof buf, &n) == 0)
        node_pbx_link_send(self->link, buf, n);
}

static s_followup_t **s_followup_find(node_pbx_t *self, const csta_xref_t *xref, int opcode)
{
    for (s_followup_t **p = &self->followups; *p; p = &(*p)->next)
        if ((*p)->opcode == opcode && csta_xref_equal(&(*p)->xref, xref))
            return p;
    return NULL;
}

//  The device of node_pbx's own snapshot that a followup belongs to (NULL: gone).
static node_pbx_device_t *s_followup_device(node_pbx_t *self, const s_followup_t *f)
{
    csta_device_t id = {0};
    id.kind = f->dev_key[0] == 'n' ? CSTA_DEV_NUMBER : CSTA_DEV_DIALING;
    if (id.kind == CSTA_DEV_NUMBER)
        id.number = strtol(f->dev_key + 2, NULL, 10);
    else
        snprintf(id.digits, sizeof id.digits, "%s", f->dev_key + 2);
    return node_pbx_devices_find(self->devices, &id);
}

//  A SwitchingFunctionDevices or SnapshotDeviceData segment: to whoever asked.
static void s_on_segment(node_pbx_t *self, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    if (keys->opcode == CSTA_OP_SWITCHING_FUNCTION_DEVICES)
        s_ack(self, keys, false);   //  the PBX waits for it before the next segment
    if (rc != 0) {
        csta_apdu_clear(&a);
        node_warning(S_SUB, "pbx=%s: %s segment that does not decode (%s), dropped",
                     self->cfg.name, csta_op_name(keys->opcode), strerror(-rc));
        return;
    }
    bool sfd = keys->opcode == CSTA_OP_SWITCHING_FUNCTION_DEVICES;
    const csta_xref_t *xref = sfd ? &a.svc.switching_function_devices.service_xref
                                  : &a.svc.snapshot_device_data.service_xref;
    bool last = sfd ? a.svc.switching_function_devices.last_segment
                    : a.svc.snapshot_device_data.last_segment;
    s_followup_t **p = s_followup_find(self, xref, keys->opcode);
    if (!p) {
        node_info(S_SUB, "pbx=%s: %s segment for no request, dropped", self->cfg.name,
                  csta_op_name(keys->opcode));
        csta_apdu_clear(&a);
        return;
    }
    s_followup_t *f = *p;
    f->expires_at = zclock_mono() + self->cfg.request_timeout_ms;
    if (last)
        *p = f->next;   //  unlinked before the callback, which may request again
    if (f->fn) {
        f->fn(f->arg, apdu, len, keys);
    } else if (f->dev_key[0]) {
        node_pbx_device_t *dev = s_followup_device(self, f);
        if (dev) {
            s_snapshot_items(dev, &a.svc.snapshot_device_data.snapshot_data);
            if (last)
                s_snapshot_finished(self, dev, dev->snap, dev->snap_count, dev->snap_overflow);
        }
    }
    if (last)
        s_followup_free(f, -EBADMSG);   //  a collector is complete by now, or failed
    csta_apdu_clear(&a);
}

static void s_on_invoke(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    node_pbx_t *self = ctx;
    switch (keys->opcode) {
    case CSTA_OP_EVENT_REPORT:
        s_on_event(self, apdu, len, keys);
        return;
    case CSTA_OP_SYSTEM_STATUS:
    case CSTA_OP_SYSTEM_STATUS_PHASE2:
        //  Answered by the link already.
        if (self->listener.on_broadcast)
            self->listener.on_broadcast(self->listener.ctx, apdu, len, keys);
        return;
    case CSTA_OP_SWITCHING_FUNCTION_DEVICES_CHANGED:
        s_ack(self, keys, true);
        if (self->listener.on_broadcast)
            self->listener.on_broadcast(self->listener.ctx, apdu, len, keys);
        return;
    case CSTA_OP_SWITCHING_FUNCTION_DEVICES:
    case CSTA_OP_SNAPSHOT_DEVICE_DATA:
        s_on_segment(self, apdu, len, keys);
        return;
    case CSTA_OP_CDR_REPORT:
        //  Acknowledged whoever gets it: the PBX keeps resending otherwise (csta-facts.md 5).
        s_ack(self, keys, true);
        if (self->cdr_sink && self->cdr_followup)
            self->cdr_followup(self->cdr_arg, apdu, len, keys);
        else
            node_info(S_SUB, "pbx=%s: CDR report with no receiver, acknowledged and dropped",
                      self->cfg.name);
        return;
    default:
        node_info(S_SUB, "pbx=%s: unsolicited %s from the PBX, dropped", self->cfg.name,
                  csta_op_name(keys->opcode));
        return;
    }
}

//  --- Timers -------------------------------------------------------------------------------------

static int s_on_retry(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_t *self = arg;
    if (self->state != NODE_PBX_UP)
        return 0;
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
        next = d->next;
        if (d->retry_wait) {
            d->retry_wait = false;
            s_device_sync(self, d);
        }
    }
    return 0;
}

//  estos' "snapshot for active calls": ask the PBX which calls each monitored device has,
//  so that calls whose clearing events were lost do not stay forever.
static int s_on_validate(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_t *self = arg;
    if (self->state != NODE_PBX_UP)
        return 0;
    //  Through the owner (remote backing) the same: a SnapshotDevice forwarded per device
    //  the owner monitors for this node, within the window (s_remote_sync).
    bool remote = s_remote(self);
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
        next = d->next;
        bool monitored = remote ? d->rwatch && d->rstate == S_R_OK
                                : d->mon == NODE_PBX_MON_ACTIVE;
        if (monitored && d->watch_count > 0) {
            d->want_snapshot = true;
            s_device_sync(self, d);
        }
    }
    return 0;
}

static int s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_t *self = arg;
    int64_t now = zclock_mono();
    for (s_followup_t **p = &self->followups; *p;) {
        s_followup_t *f = *p;
        if (f->expires_at > now) {
            p = &f->next;
            continue;
        }
        *p = f->next;
        node_info(S_SUB, "pbx=%s: %s segments stopped coming, no longer expected", self->cfg.name,
                  csta_op_name(f->opcode));
        if (f->dev_key[0] && !f->fn) {
            //  node_pbx's own snapshot: the device's calls stay as they were.
            node_pbx_device_t *dev = s_followup_device(self, f);
            if (dev)
                s_resync_item_done(self, dev, true);
        }
        s_followup_free(f, -ETIMEDOUT);
    }
    return 0;
}

//  --- Front end requests -------------------------------------------------------------------------

static void s_on_request_reply(void *arg, int status, const uint8_t *apdu, size_t len,
                               const csta_peek_t *keys)
{
    s_request_t *req = arg;
    node_pbx_t *self = req->pbx;
    self->fe_outstanding--;
    if (self->paused && self->fe_outstanding == 0 && !self->destroying)
        s_drain_check(self);
    if (!self->destroying && status == 0 && keys->kind == CSTA_APDU_RESULT) {
        csta_apdu_t a;
        switch (req->opcode) {
        case CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES:
        case CSTA_OP_SNAPSHOT_DEVICE:
            //  A serviceCrossRefID announces segments (ECMA-269 GetSwitchingFunctionDevices,
            //  SnapshotDevice): they go to this requester.
            if (csta_apdu_decode(&a, apdu, len) == 0) {
                bool gsfd = req->opcode == CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES;
                if (gsfd || a.svc.snapshot_device_res.is_xref)
                    s_followup_add(self,
                                   gsfd ? &a.svc.get_switching_function_devices_res.service_xref
                                        : &a.svc.snapshot_device_res.service_xref,
                                   gsfd ? CSTA_OP_SWITCHING_FUNCTION_DEVICES
                                        : CSTA_OP_SNAPSHOT_DEVICE_DATA,
                                   req->followup, req->arg, NULL);
            }
            csta_apdu_clear(&a);
            break;
        case CSTA_OP_START_CDR:
            s_cdr_sink(self, req->followup, req->arg, &req->start_cdr, req->start_cdr_len);
            break;
        case CSTA_OP_STOP_CDR:
            s_cdr_forget(self);
            break;
        default:
            break;
        }
    }
    req->reply(req->arg, status, apdu, len);
    free(req->start_cdr);
    free(req);
}

//  A front end's request (relay false) or a peer's that this node passes on (true: it
//  leaves marked relayed when the remote backing serves).
static int s_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                     bool relay, node_pbx_reply_fn *reply, node_pbx_followup_fn *followup,
                     void *arg)
{
    csta_peek_t keys;
    if (!reply || csta_peek(&keys, apdu, len) != 0 || keys.kind != CSTA_APDU_INVOKE)
        return -EINVAL;
    if (keys.opcode == CSTA_OP_MONITOR_START || keys.opcode == CSTA_OP_MONITOR_STOP ||
        keys.opcode == CSTA_OP_CHANGE_MONITOR_FILTER)
        return -EINVAL;     //  PBX monitors are shared: node_pbx_watch
    if (keys.opcode == CSTA_OP_SNAPSHOT_DEVICE && !followup)
        return s_snapreq_start(self, apdu, len, timeout_ms, relay, reply, arg);
    if (self->paused)
        return s_queue(self, apdu, len, timeout_ms, relay, reply, followup, arg);
    if (s_remote(self))
        return s_remote_request(self, apdu, len, timeout_ms, relay, &keys, reply, followup, arg);
    s_request_t *req = calloc(1, sizeof *req);
    if (!req)
        return -ENOMEM;
    *req = (s_request_t){self, reply, followup, arg, keys.opcode, NULL, 0};
    if (keys.opcode == CSTA_OP_START_CDR) {
        req->start_cdr = malloc(len);
        if (!req->start_cdr) {
            free(req);
            return -ENOMEM;
        }
        memcpy(req->start_cdr, apdu, len);
        req->start_cdr_len = len;
    }
    int rc = node_pbx_link_request(self->link, apdu, len, timeout_ms, s_on_request_reply, req);
    if (rc) {
        free(req->start_cdr);
        free(req);
    } else
        self->fe_outstanding++;
    return rc;
}

//  --- Segmented snapshots ------------------------------------------------------------------------
//
//  ECMA-269 lets a PBX answer SnapshotDevice with a serviceCrossRefID and send the calls in
//  SnapshotDeviceData segments, the last marked lastSegment (csta-facts.md).  A requester
//  that gives no followup (the client API's line snapshot, the guard) gets them collected
//  into one SnapshotDevice result, as if the PBX had sent it whole; bounded in segments and
//  calls (node_pbx_snap) and in time (timeout_ms from the result on): a PBX that never
//  sends the last segment gets the requester an error, never a wait without end.

static void s_snapreq_free_if_idle(s_snapreq_t *w)
{
    if (!w->done || w->reply_pending || w->channels > 0)
        return;
    node_pbx_t *self = w->pbx;
    for (s_snapreq_t **p = &self->snapreqs; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    node_pbx_snap_destroy(&w->snap);
    free(w);
}

//  Answer the requester once: the collected result (status 0) or the error.
static void s_snapreq_finish(s_snapreq_t *w, int status)
{
    if (w->done)
        return;
    node_pbx_t *self = w->pbx;
    w->done = true;
    if (w->timer > 0)
        zloop_timer_end(self->loop, w->timer);
    w->timer = 0;
    uint8_t *buf = NULL;
    size_t n = 0;
    if (status == 0)
        status = node_pbx_snap_result(w->snap, w->invoke_id, &buf, &n);
    size_t segments = node_pbx_snap_segments(w->snap), calls = node_pbx_snap_count(w->snap);
    if (status == 0)
        node_debug(S_SUB, "pbx=%s: SnapshotDevice answered in %zu segment%s, %zu call%s",
                   self->cfg.name, segments, segments == 1 ? "" : "s", calls,
                   calls == 1 ? "" : "s");
    else
        node_warning(S_SUB, "pbx=%s: SnapshotDevice answered in segments: %s after %zu segment%s "
                     "(%zu call%s); the requester gets an error", self->cfg.name,
                     status == -EMSGSIZE    ? "more than node_pbx takes"
                     : status == -ETIMEDOUT ? "the last segment did not come in time"
                                            : strerror(-status),
                     segments, segments == 1 ? "" : "s", calls, calls == 1 ? "" : "s");
    w->reply(w->arg, status, buf, n);
    free(buf);
    node_pbx_snap_destroy(&w->snap);
    //  Local followups of it go now (their segments have nobody to go to); through the
    //  owner they end with the forwarded request.  Held meanwhile (channels) so that
    //  closing them does not free it.
    w->channels++;
    for (s_followup_t **p = &self->followups; *p;) {
        s_followup_t *f = *p;
        if (f->fn == s_snap_on_segment && f->arg == w) {
            *p = f->next;
            s_followup_free(f, 0);
        } else
            p = &f->next;
    }
    w->channels--;
    s_snapreq_free_if_idle(w);
}

static int s_snapreq_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_snapreq_t *w = arg;
    w->timer = 0;   //  a one-shot timer: zloop ends it
    s_snapreq_finish(w, -ETIMEDOUT);
    return 0;
}

static void s_snap_channel_closed(s_snapreq_t *w, int status)
{
    w->channels--;
    if (!w->done && !w->reply_pending)
        s_snapreq_finish(w, status ? status : -ETIMEDOUT);     //  frees it if idle
    else
        s_snapreq_free_if_idle(w);
}

static void s_snap_on_segment(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) keys;
    s_snapreq_t *w = arg;
    if (w->done)
        return;
    int rc = node_pbx_snap_add(w->snap, apdu, len);
    if (rc < 0)
        s_snapreq_finish(w, rc);
    else if (rc == 1 && !w->reply_pending)
        s_snapreq_finish(w, 0);
}

static void s_snap_on_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_snapreq_t *w = arg;
    node_pbx_t *self = w->pbx;
    w->reply_pending = false;
    csta_apdu_t a;
    csta_peek_t keys;
    bool xref = false;
    if (status == 0 && csta_peek(&keys, apdu, len) == 0 && keys.kind == CSTA_APDU_RESULT) {
        if (csta_apdu_decode(&a, apdu, len) == 0 && a.has_result &&
            a.svc.snapshot_device_res.is_xref) {
            xref = true;
            w->invoke_id = a.invoke_id;
            if (node_pbx_snap_expect(w->snap, &a.svc.snapshot_device_res.service_xref) != 0)
                status = -ESRCH;
        }
        csta_apdu_clear(&a);
    }
    if (!xref || w->done) {
        //  The whole answer (or an error): the requester gets it as it is.
        if (!w->done) {
            w->done = true;
            w->reply(w->arg, status, apdu, len);
        }
        s_snapreq_free_if_idle(w);
        return;
    }
    if (status)
        s_snapreq_finish(w, status);
    else if (node_pbx_snap_complete(w->snap))
        s_snapreq_finish(w, 0);     //  the segments came first (through the owner)
    else if (self->destroying)
        s_snapreq_finish(w, -ENOTCONN);
    else
        w->timer = zloop_timer(self->loop, (size_t) w->timeout_ms, 1, s_snapreq_on_deadline, w);
}

static int s_snapreq_start(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                           bool relay, node_pbx_reply_fn *reply, void *arg)
{
    s_snapreq_t *w = calloc(1, sizeof *w);
    if (w)
        w->snap = node_pbx_snap_new();
    if (!w || !w->snap) {
        free(w);
        return -ENOMEM;
    }
    w->pbx = self;
    w->reply = reply;
    w->arg = arg;
    w->timeout_ms = timeout_ms > 0 ? timeout_ms : self->cfg.request_timeout_ms;
    w->reply_pending = true;
    w->next = self->snapreqs;
    self->snapreqs = w;
    int rc = s_request(self, apdu, len, timeout_ms, relay, s_snap_on_reply, s_snap_on_segment, w);
    if (rc) {
        w->reply_pending = false;
        w->done = true;     //  the caller hears rc instead
        s_snapreq_free_if_idle(w);
    }
    return rc;
}

int node_pbx_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                     node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg)
{
    return s_request(self, apdu, len, timeout_ms, false, reply, followup, arg);
}

int node_pbx_relay(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                   node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg)
{
    return s_request(self, apdu, len, timeout_ms, true, reply, followup, arg);
}

//  --- Pause (a handover's drain) -------------------------------------------------------------------

static int s_queue(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms, bool relay,
                   node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg)
{
    s_queued_t *q = malloc(sizeof *q + len);
    if (!q)
        return -ENOMEM;
    *q = (s_queued_t){NULL, reply, followup, arg, timeout_ms, relay, len};
    memcpy(q->apdu, apdu, len);
    if (self->queue_tail)
        self->queue_tail->next = q;
    else
        self->queue_head = q;
    self->queue_tail = q;
    self->queued++;
    return 0;
}

static void s_drained(node_pbx_t *self)
{
    if (self->pause_timer > 0)
        zloop_timer_end(self->loop, self->pause_timer);
    self->pause_timer = 0;
    node_pbx_drained_fn *fn = self->drained;
    self->drained = NULL;
    if (fn)
        fn(self->drained_arg, self->fe_outstanding);
}

static int s_on_drained_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_t *self = arg;
    self->pause_timer = 0;      //  a one-shot timer ends itself
    s_drained(self);
    return 0;
}

//  Nothing of the front ends' is at the link any more: tell the pauser from the loop.
static void s_drain_check(node_pbx_t *self)
{
    if (!self->drained)
        return;
    if (self->pause_timer > 0)
        zloop_timer_end(self->loop, self->pause_timer);
    self->pause_timer = zloop_timer(self->loop, 0, 1, s_on_drained_timer, self);
}

int node_pbx_pause(node_pbx_t *self, int timeout_ms, node_pbx_drained_fn *drained, void *arg)
{
    if (self->paused)
        return -EALREADY;
    self->paused = true;
    self->drained = drained;
    self->drained_arg = arg;
    if (self->fe_outstanding == 0 || s_remote(self))
        s_drain_check(self);
    else
        self->pause_timer = zloop_timer(self->loop, (size_t) (timeout_ms > 0 ? timeout_ms : 1), 1,
                                        s_on_drained_timer, self);
    return 0;
}

//  Send what waited, in order, through whichever backing serves now; a request that cannot
//  be sent gets its error here (from the loop, never from inside node_pbx_request).
static int s_on_resume_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_pbx_t *self = arg;
    self->resume_timer = 0;
    while (self->queue_head && !self->paused) {
        s_queued_t *q = self->queue_head;
        self->queue_head = q->next;
        if (!self->queue_head)
            self->queue_tail = NULL;
        self->queued--;
        int rc = s_request(self, q->apdu, q->len, q->timeout_ms, q->relay, q->reply, q->followup,
                           q->arg);
        if (rc < 0)
            q->reply(q->arg, rc, NULL, 0);
        free(q);
    }
    return 0;
}

void node_pbx_resume(node_pbx_t *self)
{
    if (!self->paused)
        return;
    self->paused = false;
    self->drained = NULL;
    if (self->pause_timer > 0)
        zloop_timer_end(self->loop, self->pause_timer);
    self->pause_timer = 0;
    if (self->queue_head && self->resume_timer <= 0)
        self->resume_timer = zloop_timer(self->loop, 0, 1, s_on_resume_timer, self);
}

size_t node_pbx_queued(const node_pbx_t *self)
{
    return self->queued;
}

//  --- Watches ------------------------------------------------------------------------------------

node_pbx_watch_t *node_pbx_watch(node_pbx_t *self, const csta_device_t *device,
                                 node_pbx_watch_done_fn *done, void *watch_arg)
{
    node_pbx_device_t *dev = node_pbx_devices_add(self->devices, device);
    if (!dev)
        return NULL;
    dev->owner = self;
    node_pbx_watch_t *w = calloc(1, sizeof *w);
    if (!w) {
        s_device_sync(self, dev);   //  forgets a device made for nothing
        return NULL;
    }
    w->done = done;
    w->arg = watch_arg;
    w->done_pending = true;
    node_pbx_device_watch_add(dev, w);
    if (self->state != NODE_PBX_UP)
        s_done_later(self, w, -ENOTCONN);   //  monitored when the link comes up
    else if (s_remote(self)) {
        if (dev->rstate == S_R_OK)
            s_done_later(self, w, 0);
        else if (dev->rstate == S_R_FAILED && dev->rwatch) {
            //  A new watch is worth an attempt now: the owner is asked again.
            dev->rstate = S_R_PENDING;
            self->remote.watch(self->remote.ctx, dev->key, true);
        }
    } else if (dev->mon == NODE_PBX_MON_ACTIVE)
        s_done_later(self, w, 0);
    else if (dev->retry_wait)
        dev->retry_wait = false;            //  a new watch is worth an attempt now
    s_device_sync(self, dev);
    return w;
}

void node_pbx_unwatch(node_pbx_t *self, node_pbx_watch_t **watch_p)
{
    if (!watch_p || !*watch_p)
        return;
    node_pbx_watch_t *w = *watch_p;
    *watch_p = NULL;
    node_pbx_device_t *dev = w->device;
    s_done_unqueue(self, w);
    w->done_pending = false;
    if (w->dead)
        return;     //  unwatched twice through copies of the pointer: already going
    if (dev->dispatching) {
        //  An event or done is being handed out on this device's list: free it afterwards.
        w->dead = true;
        dev->watch_count--;
    } else {
        node_pbx_device_watch_remove(dev, w);
        free(w);
    }
    s_device_sync(self, dev);
}

//  --- CDR ----------------------------------------------------------------------------------------

int node_pbx_cdr_claim(node_pbx_t *self, void *owner)
{
    //  Through the owner too: one claimer per node here, one node per PBX at the owner
    //  (node_forward refuses another node's StartCDR).
    if (self->cdr_owner && self->cdr_owner != owner)
        return -EBUSY;
    self->cdr_owner = owner;
    return 0;
}

void node_pbx_cdr_release(node_pbx_t *self, void *owner)
{
    if (self->cdr_owner != owner)
        return;
    self->cdr_owner = NULL;
    s_cdr_forget(self);
    self->cdr_followup = NULL;
    self->cdr_arg = NULL;
}

//  --- Life cycle ---------------------------------------------------------------------------------

node_pbx_t *node_pbx_new(zloop_t *loop, const node_pbx_cfg_t *cfg,
                         const node_pbx_listener_t *listener)
{
    if (!loop || !cfg || cfg->monitor_retry_ms <= 0 || cfg->validate_calls_ms < 0)
        return NULL;
    node_pbx_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->cfg = *cfg;
    if (listener)
        self->listener = *listener;
    self->state = NODE_PBX_DOWN;
    node_pbx_link_listener_t ll = {
        .ctx = self, .on_up = s_on_link_up, .on_down = s_on_link_down, .on_invoke = s_on_invoke,
        .on_late_reply = s_on_late_reply};
    self->link = node_pbx_link_new(loop, cfg, &ll);
    self->devices = node_pbx_devices_new();
    if (!self->link || !self->devices) {
        node_pbx_destroy(&self);
        return NULL;
    }
    return self;
}

void node_pbx_destroy(node_pbx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_pbx_t *self = *self_p;
    *self_p = NULL;
    self->destroying = true;
    int *timers[] = {&self->done_timer, &self->housekeeping_timer, &self->retry_timer,
                     &self->validate_timer, &self->pause_timer, &self->resume_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (*timers[i] > 0)
            zloop_timer_end(self->loop, *timers[i]);
    //  The link answers what is still open (-ENOTCONN), front ends' requests included;
    //  what waited for a resume too.
    node_pbx_link_destroy(&self->link);
    while (self->queue_head) {
        s_queued_t *q = self->queue_head;
        self->queue_head = q->next;
        q->reply(q->arg, -ENOTCONN, NULL, 0);
        free(q);
    }
    while (self->followups) {
        s_followup_t *f = self->followups;
        self->followups = f->next;
        free(f);
    }
    //  Snapshots still collecting segments: their requesters hear -ENOTCONN.
    while (self->snapreqs) {
        s_snapreq_t *w = self->snapreqs;
        self->snapreqs = w->next;
        if (!w->done) {
            w->done = true;
            if (w->timer > 0)
                zloop_timer_end(self->loop, w->timer);
            w->reply(w->arg, -ENOTCONN, NULL, 0);
        }
        node_pbx_snap_destroy(&w->snap);
        free(w);
    }
    node_pbx_devices_destroy(&self->devices);
    free(self->cdr_start);
    free(self);
}

int node_pbx_start(node_pbx_t *self)
{
    if (self->started)
        return -EALREADY;
    if (self->has_remote) {
        //  This node took the link: the owner it forwarded to is gone.  The watches stay
        //  and are monitored on the link when it comes up.
        for (node_pbx_device_t *d = node_pbx_devices_first(self->devices); d; d = d->next) {
            if (d->rwatch)
                self->remote.watch(self->remote.ctx, d->key, false);
            d->rwatch = false;
            d->rstate = S_R_NONE;
        }
        bool was_up = self->state == NODE_PBX_UP;
        self->state = NODE_PBX_DOWN;
        if (was_up && self->listener.on_state)
            self->listener.on_state(self->listener.ctx, NODE_PBX_DOWN);
    }
    self->started = true;
    self->retry_timer =
        zloop_timer(self->loop, (size_t) self->cfg.monitor_retry_ms, 0, s_on_retry, self);
    if (self->cfg.validate_calls_ms > 0 && self->validate_timer <= 0)
        self->validate_timer =
            zloop_timer(self->loop, (size_t) self->cfg.validate_calls_ms, 0, s_on_validate, self);
    int period = self->cfg.request_timeout_ms < 1000 ? self->cfg.request_timeout_ms : 1000;
    self->housekeeping_timer = zloop_timer(self->loop, (size_t) period, 0, s_on_housekeeping, self);
    return node_pbx_link_start(self->link);
}

int node_pbx_stop(node_pbx_t *self)
{
    if (!self->started)
        return -EALREADY;
    self->started = false;
    //  The validation timer (last) goes on through the remote backing (node_pbx_set_remote).
    int *timers[] = {&self->housekeeping_timer, &self->retry_timer, &self->validate_timer};
    size_t n = self->has_remote ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        if (*timers[i] > 0)
            zloop_timer_end(self->loop, *timers[i]);
        *timers[i] = 0;
    }
    //  An UP link calls s_on_link_down from here: monitors forgotten, watches kept.
    int rc = node_pbx_link_stop(self->link);
    if (self->has_remote) {
        //  The remote backing serves from now on: the watched devices go to the owner.
        for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
            next = d->next;
            s_remote_sync(self, d);
        }
        node_pbx_remote_state(self, self->remote_up, self->remote_owner);
    }
    return rc;
}

int node_pbx_connect_now(node_pbx_t *self)
{
    return node_pbx_link_connect_now(self->link);
}

node_pbx_state_t node_pbx_state(const node_pbx_t *self)
{
    return self->state;
}

void node_pbx_stats(const node_pbx_t *self, node_pbx_stats_t *stats)
{
    *stats = self->stats;
    node_pbx_link_stats_t ls;
    node_pbx_link_stats(self->link, &ls);
    stats->requests = ls.requests;
    stats->replies = ls.replies;
    stats->timeouts = ls.timeouts;
    stats->reconnects = ls.ups > 1 ? ls.ups - 1 : 0;
    stats->up = self->state == NODE_PBX_UP;
    stats->monitors_pbx = stats->watches = stats->calls = 0;
    stats->devices = (long) node_pbx_devices_size(self->devices);
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices); d; d = d->next) {
        stats->monitors_pbx += d->mon == NODE_PBX_MON_ACTIVE;
        stats->watches += d->watch_count;
        stats->calls += d->call_count;
    }
}

//  --- Remote backing (node_pbx_remote.h) ---------------------------------------------------------

//  A front end's request forwarded to the owner.
typedef struct {
    node_pbx_reply_fn *reply;
    node_pbx_followup_fn *followup;
    void *arg;
    node_pbx_t *self;
    int opcode;
    uint8_t *start_cdr;             //  a StartCDR's bytes (sent again to a new owner)
    size_t start_cdr_len;
} s_remote_req_t;

static void s_on_remote_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_remote_req_t *r = arg;
    node_pbx_t *self = r->self;
    csta_peek_t keys;
    bool result = status == 0 && csta_peek(&keys, apdu, len) == 0 &&
                  keys.kind == CSTA_APDU_RESULT;
    //  CDR through the owner (issue 6): its reports come as LinkEvents
    //  (node_pbx_remote_cdr) to the receiver its StartCDR made, as on a local link.
    if (result && !self->destroying && r->opcode == CSTA_OP_START_CDR) {
        s_cdr_sink(self, r->followup, r->arg, &r->start_cdr, r->start_cdr_len);
        snprintf(self->cdr_at, sizeof self->cdr_at, "%s", self->remote_owner);
    } else if (result && !self->destroying && r->opcode == CSTA_OP_STOP_CDR)
        s_cdr_forget(self);
    r->reply(r->arg, status, apdu, len);
}

//  A segment of the request, passed on with its routing keys as a local one would be.
static void s_on_remote_followup(void *arg, const uint8_t *apdu, size_t len)
{
    s_remote_req_t *r = arg;
    csta_peek_t keys;
    if (r->followup && csta_peek(&keys, apdu, len) == 0)
        r->followup(r->arg, apdu, len, &keys);
}

static void s_on_remote_end(void *arg)
{
    s_remote_req_t *r = arg;
    if (r->followup == s_snap_on_segment)
        s_snap_channel_closed(r->arg, -ETIMEDOUT);     //  ended without the last segment
    free(r->start_cdr);
    free(r);
}

static int s_remote_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                            bool relay, const csta_peek_t *keys, node_pbx_reply_fn *reply,
                            node_pbx_followup_fn *followup, void *arg)
{
    bool cdr = keys->opcode == CSTA_OP_START_CDR || keys->opcode == CSTA_OP_STOP_CDR;
    s_remote_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    *r = (s_remote_req_t){reply, followup, arg, self, keys->opcode, NULL, 0};
    if (keys->opcode == CSTA_OP_START_CDR) {
        r->start_cdr = malloc(len);
        if (!r->start_cdr) {
            free(r);
            return -ENOMEM;
        }
        memcpy(r->start_cdr, apdu, len);
        r->start_cdr_len = len;
    }
    //  A requester's request an old owner passes on goes out flagged (relayed once).
    int (*send)(void *, const uint8_t *, size_t, int, node_pbx_remote_reply_fn *,
                node_pbx_remote_followup_fn *, node_pbx_remote_end_fn *, void *) =
        relay && self->remote.relay ? self->remote.relay : self->remote.request;
    //  A StartCDR's followups are its reports, which outlive any request: they come as
    //  LinkEvents (node_pbx_remote_cdr), not as the request's followups.
    int rc = send(self->remote.ctx, apdu, len,
                  timeout_ms > 0 ? timeout_ms : self->cfg.request_timeout_ms, s_on_remote_reply,
                  followup && !cdr ? s_on_remote_followup : NULL, s_on_remote_end, r);
    if (rc) {
        free(r->start_cdr);
        free(r);
    } else if (followup == s_snap_on_segment)
        ((s_snapreq_t *) arg)->channels++;     //  until s_on_remote_end
    return rc;
}

static void s_on_remote_cdr_restarted(void *arg, int status, const uint8_t *apdu, size_t len)
{
    node_pbx_t *self = arg;
    csta_peek_t keys;
    if (self->destroying)
        return;
    if (status == 0 && csta_peek(&keys, apdu, len) == 0 && keys.kind == CSTA_APDU_RESULT)
        node_info(S_SUB, "pbx=%s: CDR transmission restarted through the owner %s",
                  self->cfg.name, self->remote_owner);
    else
        node_warning(S_SUB, "pbx=%s: CDR transmission not restarted through the owner %s (%s); "
                     "the CDR owner gets no records until it starts CDR again", self->cfg.name,
                     self->remote_owner, status ? strerror(-status) : "refused");
}

//  A new owner knows nothing of this node's CDR claim: ask it with the CDR owner's own
//  StartCDR, as after a local link loss (s_cdr_restart).
static void s_remote_cdr_restart(node_pbx_t *self)
{
    if (!self->cdr_sink || !self->cdr_start || !*self->remote_owner ||
        strcmp(self->cdr_at, self->remote_owner) == 0)
        return;
    snprintf(self->cdr_at, sizeof self->cdr_at, "%s", self->remote_owner);
    int rc = self->remote.request(self->remote.ctx, self->cdr_start, self->cdr_start_len,
                                  self->cfg.request_timeout_ms, s_on_remote_cdr_restarted,
                                  NULL, NULL, self);
    if (rc)
        node_warning(S_SUB, "pbx=%s: CDR transmission not restarted through the owner: %s",
                     self->cfg.name, strerror(-rc));
}

void node_pbx_remote_broadcast(node_pbx_t *self, const uint8_t *apdu, size_t len)
{
    csta_peek_t keys;
    if (!s_remote(self) || csta_peek(&keys, apdu, len) != 0 || keys.kind != CSTA_APDU_INVOKE) {
        node_debug(S_SUB, "pbx=%s: a forwarded broadcast dropped", self->cfg.name);
        return;
    }
    if (self->listener.on_broadcast)
        self->listener.on_broadcast(self->listener.ctx, apdu, len, &keys);
}

void node_pbx_remote_cdr(node_pbx_t *self, const uint8_t *apdu, size_t len)
{
    csta_peek_t keys;
    if (!s_remote(self) || csta_peek(&keys, apdu, len) != 0 || keys.kind != CSTA_APDU_INVOKE ||
        keys.opcode != CSTA_OP_CDR_REPORT) {
        node_info(S_SUB, "pbx=%s: a forwarded CDR report dropped (not ours or not one)",
                  self->cfg.name);
        return;
    }
    if (self->cdr_sink && self->cdr_followup)
        self->cdr_followup(self->cdr_arg, apdu, len, &keys);
    else
        node_info(S_SUB, "pbx=%s: forwarded CDR report with no receiver, dropped",
                  self->cfg.name);
}

//  node_pbx's own SnapshotDevice through the owner: its answer as a local one's
//  (s_on_own_reply: the device is kept while dev->op says so), its segments as a local
//  link's (s_on_segment finds the device by the snapshot's cross-reference).
typedef struct {
    node_pbx_t *self;
    node_pbx_device_t *dev;
} s_remote_own_t;

static void s_on_remote_own_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_remote_own_t *r = arg;
    csta_peek_t keys;
    memset(&keys, 0, sizeof keys);
    if (status == 0 && csta_peek(&keys, apdu, len) != 0)
        status = -EBADMSG;
    s_on_own_reply(r->dev, status, apdu, len, &keys);
    r->dev = NULL;
}

static void s_on_remote_own_followup(void *arg, const uint8_t *apdu, size_t len)
{
    s_remote_own_t *r = arg;
    csta_peek_t keys;
    if (!r->self->destroying && csta_peek(&keys, apdu, len) == 0 &&
        keys.kind == CSTA_APDU_INVOKE && keys.opcode == CSTA_OP_SNAPSHOT_DEVICE_DATA)
        s_on_segment(r->self, apdu, len, &keys);
}

static void s_on_remote_own_end(void *arg)
{
    free(arg);
}

static int s_remote_snapshot(node_pbx_t *self, node_pbx_device_t *dev)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;    //  replaced by the owner's link
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    a.svc.snapshot_device.snapshot_object = dev->id;
    uint8_t buf[512];
    size_t n = 0;
    s_remote_own_t *r = calloc(1, sizeof *r);
    int rc = r ? csta_apdu_encode(&a, buf, sizeof buf, &n) : -ENOMEM;
    if (rc == 0) {
        *r = (s_remote_own_t){self, dev};
        rc = self->remote.request(self->remote.ctx, buf, n, self->cfg.request_timeout_ms,
                                  s_on_remote_own_reply, s_on_remote_own_followup,
                                  s_on_remote_own_end, r);
    }
    if (rc) {
        free(r);
        node_info(S_SUB, "pbx=%s device=%s: no snapshot through the owner (%s)", self->cfg.name,
                  s_dev_str(dev), strerror(-rc));
        return rc;
    }
    dev->op = S_OP_SNAPSHOT;
    self->inflight++;
    return 0;
}

void node_pbx_remote_events_lost(node_pbx_t *self, long lost)
{
    if (!s_remote(self))
        return;
    int n = 0;
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
        next = d->next;
        if (!d->rwatch || d->rstate != S_R_OK || d->watch_count == 0)
            continue;   //  not monitored: its on_watch_monitored brings the fresh state
        d->want_snapshot = d->stale = true;
        n++;
        s_device_sync(self, d);
    }
    node_warning(S_SUB, "pbx=%s: %ld event%s from the owner %s lost; snapshotting %d device%s "
                 "again", self->cfg.name, lost, lost == 1 ? "" : "s", self->remote_owner, n,
                 n == 1 ? "" : "s");
}

//  Bring the device's registration with the owner in line with its watches.  May free it.
static void s_remote_sync(node_pbx_t *self, node_pbx_device_t *dev)
{
    bool want = dev->watch_count > 0;
    if (want && !dev->rwatch) {
        dev->rwatch = true;
        dev->rstate = S_R_PENDING;
        if (self->remote.watch(self->remote.ctx, dev->key, true) != 0)
            node_error(S_SUB, "pbx=%s device=%s: cannot be watched through the owner",
                       self->cfg.name, s_dev_str(dev));
    } else if (!want && dev->rwatch) {
        dev->rwatch = false;
        dev->rstate = S_R_NONE;
        dev->want_snapshot = dev->stale = false;
        self->remote.watch(self->remote.ctx, dev->key, false);
    }
    //  A snapshot through the owner after lost events, within the window like the
    //  re-monitor's (node_pbx_remote_events_lost).
    if (want && dev->want_snapshot && dev->op == S_OP_NONE) {
        if (self->inflight >= self->cfg.window) {
            s_work_push(self, dev);
            return;
        }
        s_work_remove(self, dev);
        dev->want_snapshot = false;
        dev->snap_count = 0;
        dev->snap_overflow = false;
        if (s_remote_snapshot(self, dev) != 0)
            s_watches_stale(self, dev);
        return;
    }
    //  A local request still to be answered (sent before the link was given up) keeps it.
    if (!want && !dev->rwatch && dev->op == S_OP_NONE && dev->mon == NODE_PBX_MON_NONE &&
        !dev->dispatching)
        node_pbx_devices_remove(self->devices, &dev);
}

void node_pbx_set_remote(node_pbx_t *self, const node_pbx_remote_t *remote)
{
    self->has_remote = remote && remote->request && remote->watch;
    if (self->has_remote)
        self->remote = *remote;
    //  Call validation (validate_calls_ms) runs whichever backing serves: the devices of a
    //  standby are snapshotted through the owner too.
    if (self->has_remote && self->cfg.validate_calls_ms > 0 && self->validate_timer <= 0)
        self->validate_timer =
            zloop_timer(self->loop, (size_t) self->cfg.validate_calls_ms, 0, s_on_validate, self);
}

bool node_pbx_is_remote(const node_pbx_t *self)
{
    return s_remote(self);
}

const char *node_pbx_remote_owner(const node_pbx_t *self)
{
    return self->remote_owner;
}

void node_pbx_remote_state(node_pbx_t *self, bool up, const char *owner)
{
    bool new_owner = strcmp(owner, self->remote_owner) != 0;
    if (new_owner)
        snprintf(self->remote_owner, sizeof self->remote_owner, "%s", owner);
    if (s_remote(self) && (new_owner || !up)) {
        //  Watches still waiting for the old owner's answer get -ENOTCONN, as when a link
        //  goes down with a MonitorStart out (invariant 5: never silence); the devices
        //  stay watched and are registered with whoever owns the link next.
        for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
            next = d->next;
            if (!d->rwatch)
                continue;
            if (new_owner)
                d->rstate = S_R_PENDING;
            s_watches_done(self, d, -ENOTCONN, NULL, 0);
            s_sweep_dead(d);
            s_device_sync(self, d);
        }
    }
    self->remote_up = up;
    if (s_remote(self) && up)
        s_remote_cdr_restart(self);     //  a no-op unless the owner is new to it
    if (!s_remote(self) || (self->state == NODE_PBX_UP) == up)
        return;
    self->state = up ? NODE_PBX_UP : NODE_PBX_DOWN;
    if (up)
        node_notice(S_SUB, "pbx=%s reachable through %s", self->cfg.name, owner);
    else if (*owner)
        node_notice(S_SUB, "pbx=%s unreachable: the owner %s has no link or cannot be reached",
                    self->cfg.name, owner);
    else
        node_notice(S_SUB, "pbx=%s unreachable: no node holds the link", self->cfg.name);
    if (self->listener.on_state)
        self->listener.on_state(self->listener.ctx, self->state);
    if (!up)
        return;
    //  Back UP: the devices the owner says it monitors are monitored for the front ends
    //  again; the others wait for the owner's answer (it answers again once its own
    //  re-monitor of the device succeeds).
    for (node_pbx_device_t *d = node_pbx_devices_first(self->devices), *next; d; d = next) {
        next = d->next;
        if (!d->rwatch || d->rstate != S_R_OK)
            continue;
        s_watches_done(self, d, 0, NULL, 0);
        s_sweep_dead(d);
        s_device_sync(self, d);
    }
}

void node_pbx_remote_watch_result(node_pbx_t *self, const char *device_key, int status,
                                  const uint8_t *apdu, size_t len)
{
    node_pbx_device_t *dev = node_pbx_devices_find_key(self->devices, device_key);
    if (!s_remote(self) || !dev || !dev->rwatch)
        return;
    bool was_ok = dev->rstate == S_R_OK;
    dev->rstate = status == 0 ? S_R_OK : S_R_FAILED;
    if (status)
        node_info(S_SUB, "pbx=%s device=%s: the owner %s could not monitor it (%s)%s",
                  self->cfg.name, s_dev_str(dev), self->remote_owner,
                  status == -EREMOTEIO ? "the PBX refused" : strerror(-status),
                  status == -ENOTCONN ? "" : "; it retries");
    if (status && was_ok && self->listener.on_watch_unmonitored) {
        //  The owner lost the device's monitor (its link went down, its re-monitor failed):
        //  the watches told "monitored" before hear that it no longer is.
        dev->dispatching++;
        for (node_pbx_watch_t *w = dev->watches; w; w = w->next)
            if (!w->dead && !w->done_pending && !w->done_queued)
                self->listener.on_watch_unmonitored(self->listener.ctx, w, w->arg);
        dev->dispatching--;
    }
    s_watches_done(self, dev, status, apdu, len);
    s_sweep_dead(dev);
    s_device_sync(self, dev);
}

void node_pbx_remote_event(node_pbx_t *self, const char *device_key, const uint8_t *apdu,
                           size_t len)
{
    csta_peek_t keys;
    node_pbx_device_t *dev = node_pbx_devices_find_key(self->devices, device_key);
    if (!s_remote(self) || !dev || csta_peek(&keys, apdu, len) != 0 ||
        keys.kind != CSTA_APDU_INVOKE || keys.opcode != CSTA_OP_EVENT_REPORT) {
        node_debug(S_SUB, "pbx=%s: a forwarded event for %s dropped", self->cfg.name, device_key);
        return;
    }
    s_dispatch_event(self, dev, apdu, len, &keys);
}
