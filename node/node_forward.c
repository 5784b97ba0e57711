//  node_forward: ha_forward <-> node_pbx, both ways (node_forward.h).
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "node_forward.h"
#include "node_log.h"
#include "node_pbx_remote.h"

#define S_SUB "fwd"
//  A served request whose answer may announce segments is kept this long after its last
//  activity beyond request_timeout_ms: node_pbx stops routing segments request_timeout_ms
//  after the last one (its housekeeping runs at least every second), so no followup can
//  reach it after that.
#define S_FOLLOWUP_GRACE_MS 2000

typedef struct node_forward node_forward_t;

//  What the callbacks of one PBX service's remote backing need.
typedef struct {
    node_forward_t *self;
    size_t i;
} s_pbx_ctx_t;

//  A peer's request on the local PBX service.
typedef struct s_served {
    node_forward_t *self;
    size_t pbx;
    uint64_t handle;
    bool segments;                  //  its answer may announce segments (kept after it)
    bool answered;
    int64_t last_at;                //  answer or latest followup
    struct s_served *prev, *next;   //  kept ones
} s_served_t;

//  A peer's watch of a device on the local PBX service.
typedef struct {
    node_forward_t *self;
    size_t pbx;
    char node[HA_NAME_MAX];
    char device[HA_DEVICE_MAX];
    node_pbx_watch_t *watch;
} s_served_watch_t;

//  A peer's CDR claim on one PBX (issue 6): node_pbx's claim is exclusive, so at most one
//  node — this one's applications or one peer — has CDR at a time.
typedef struct {
    node_forward_t *self;
    size_t pbx;
    char node[HA_NAME_MAX];         //  the peer that holds it ("" none)
    uint64_t handle;                //  its Start/StopCDR being performed (0: none)
    int opcode;                     //  ... which
    bool was_held;                  //  the claim was the peer's before this StartCDR
    uint8_t xref[CSTA_XREF_MAX];    //  cdrCrossRefID of its StartCDR's result (StopCDR)
    size_t xref_len;
} s_cdr_t;

struct node_forward {
    zloop_t *loop;
    ha_forward_t *fwd;
    node_pbx_t *pbx[NODE_PBX_MAX];
    size_t pbx_count;
    s_pbx_ctx_t ctx[NODE_PBX_MAX];
    int request_timeout_ms[NODE_PBX_MAX];
    zhashx_t *watches;              //  "PBX NODE DEVICE" -> s_served_watch_t
    zhashx_t *by_watch;             //  node_pbx_watch_t * -> s_served_watch_t (borrowed)
    s_served_t *kept;               //  answered requests that may still get segments
    int gc_timer;
    node_metric_t *m_requests, *m_replies, *m_errors, *m_events_in, *m_gaps, *m_lost;
    node_metric_t *m_served, *m_events_out, *m_watches, *m_served_watches, *m_send_failures;
    node_metric_t *m_up;
    node_metric_t *m_relayed;
    char names[NODE_PBX_MAX][NODE_NAME_MAX];
    s_cdr_t *cdr[NODE_PBX_MAX];     //  peers' CDR claims (node_pbx keeps them as args)
    long csta_stale[NODE_PBX_MAX];  //  CSTA monitors that missed events (node_forward_csta_stale)
    long csta_stale_unlogged;
    int64_t csta_stale_logged_at;
    node_metric_t *m_csta_stale;
    char test_drop[64];             //  CTIM_TEST_DROP_EVENT (tests only; s_test_drop)
};

//  --- The remote backing of each node_pbx (requester) ----------------------------------------

static int s_remote_request(void *ctx, const uint8_t *apdu, size_t len, int timeout_ms,
                            node_pbx_remote_reply_fn *reply, node_pbx_remote_followup_fn *followup,
                            node_pbx_remote_end_fn *end, void *arg)
{
    s_pbx_ctx_t *c = ctx;
    return ha_forward_request(c->self->fwd, c->i, apdu, len, timeout_ms, reply, followup, end,
                              arg);
}

static int s_remote_relay(void *ctx, const uint8_t *apdu, size_t len, int timeout_ms,
                          node_pbx_remote_reply_fn *reply, node_pbx_remote_followup_fn *followup,
                          node_pbx_remote_end_fn *end, void *arg)
{
    s_pbx_ctx_t *c = ctx;
    return ha_forward_relay(c->self->fwd, c->i, apdu, len, timeout_ms, reply, followup, end, arg);
}

static int s_remote_watch(void *ctx, const char *device_key, bool on)
{
    s_pbx_ctx_t *c = ctx;
    return ha_forward_watch(c->self->fwd, c->i, device_key, on);
}

static void s_on_remote(void *ctx, size_t pbx, bool up, const char *owner)
{
    node_forward_t *self = ctx;
    if (pbx < self->pbx_count)
        node_pbx_remote_state(self->pbx[pbx], up, owner);
}

static void s_on_watch_result(void *ctx, size_t pbx, const char *device, int status,
                              const uint8_t *apdu, size_t len)
{
    node_forward_t *self = ctx;
    if (pbx < self->pbx_count)
        node_pbx_remote_watch_result(self->pbx[pbx], device, status, apdu, len);
}

static void s_on_event(void *ctx, size_t pbx, const char *device, const uint8_t *apdu, size_t len)
{
    node_forward_t *self = ctx;
    if (pbx < self->pbx_count)
        node_pbx_remote_event(self->pbx[pbx], device, apdu, len);
}

static void s_on_events_lost(void *ctx, size_t pbx, long lost)
{
    node_forward_t *self = ctx;
    if (pbx < self->pbx_count)
        node_pbx_remote_events_lost(self->pbx[pbx], lost);
}

static void s_on_cdr(void *ctx, size_t pbx, const uint8_t *apdu, size_t len)
{
    node_forward_t *self = ctx;
    if (pbx < self->pbx_count)
        node_pbx_remote_cdr(self->pbx[pbx], apdu, len);
}

static void s_on_broadcast(void *ctx, size_t pbx, const uint8_t *apdu, size_t len)
{
    node_forward_t *self = ctx;
    if (pbx < self->pbx_count)
        node_pbx_remote_broadcast(self->pbx[pbx], apdu, len);
}

//  --- Peers' requests (owner) ----------------------------------------------------------------

static void s_kept_remove(node_forward_t *self, s_served_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else if (self->kept == s)
        self->kept = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void s_serve_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_served_t *s = arg;
    s->answered = true;
    s->last_at = zclock_mono();
    ha_forward_answer(s->self->fwd, s->handle, status, apdu, len);
    if (!s->segments)
        free(s);
    //  else on the kept list until its segments can no longer come (s_on_gc)
}

static void s_serve_followup(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) keys;
    s_served_t *s = arg;
    s->last_at = zclock_mono();
    ha_forward_followup(s->self->fwd, s->handle, apdu, len);
}

static int s_on_gc(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_forward_t *self = arg;
    int64_t now = zclock_mono();
    for (s_served_t *s = self->kept, *next; s; s = next) {
        next = s->next;
        if (s->answered &&
            now - s->last_at > self->request_timeout_ms[s->pbx] + S_FOLLOWUP_GRACE_MS) {
            s_kept_remove(self, s);
            free(s);
        }
    }
    return 0;
}

//  --- Peers' CDR (owner) ---------------------------------------------------------------------

//  ECMA-269 operation/generic for invoke_id, as a PBX would refuse (estos answers a second
//  StartCDR so; csta-facts.md 5).
static void s_answer_generic(node_forward_t *self, uint64_t handle, long invoke_id)
{
    csta_apdu_t e;
    csta_apdu_init(&e, CSTA_APDU_ERROR);
    e.invoke_id = invoke_id;
    e.error.has_parameter = true;
    e.error.category = CSTA_ERR_OPERATION;
    e.error.value = CSTA_OPERR_GENERIC;
    uint8_t buf[64];
    size_t n = 0;
    if (csta_apdu_encode(&e, buf, sizeof buf, &n) == 0)
        ha_forward_answer(self->fwd, handle, 0, buf, n);
    else
        ha_forward_answer(self->fwd, handle, -EINVAL, NULL, 0);
}

static void s_ignore_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    (void) arg;
    (void) status;
    (void) apdu;
    (void) len;
}

//  The peer that held c is gone, or this node gives the link up: stop the transmission it
//  started (while this node holds the link) and give the claim back.
static void s_cdr_abandon(node_forward_t *self, s_cdr_t *c, bool stop)
{
    if (!*c->node)
        return;
    node_info(S_SUB, "pbx=%s: CDR of peer %s ends here", self->names[c->pbx], c->node);
    if (stop && c->xref_len && !node_pbx_is_remote(self->pbx[c->pbx])) {
        csta_apdu_t a;
        csta_apdu_init(&a, CSTA_APDU_INVOKE);
        a.invoke_id = 1;
        a.opcode = CSTA_OP_STOP_CDR;
        a.svc.stop_call_detail_records_transmission.cdr_xref =
            (csta_bytes_t){c->xref, c->xref_len};
        uint8_t buf[256];
        size_t n = 0;
        if (csta_apdu_encode(&a, buf, sizeof buf, &n) == 0)
            node_pbx_request(self->pbx[c->pbx], buf, n, 0, s_ignore_reply, NULL, NULL);
    }
    node_pbx_cdr_release(self->pbx[c->pbx], c);
    c->node[0] = '\0';
    c->xref_len = 0;
}

//  A CDR report for the peer's claimer: numbered with its events (HA_FORWARD_CDR).
static void s_on_cdr_report(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) keys;
    s_cdr_t *c = arg;
    if (*c->node)
        ha_forward_publish(c->self->fwd, c->pbx, c->node, HA_FORWARD_CDR, apdu, len);
}

static void s_on_cdr_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_cdr_t *c = arg;
    node_forward_t *self = c->self;
    if (!self) {
        free(c);    //  node_forward went while this was out (node_forward_destroy)
        return;
    }
    uint64_t handle = c->handle;
    c->handle = 0;
    csta_apdu_t a;
    bool result = status == 0 && csta_apdu_decode(&a, apdu, len) == 0 &&
                  a.kind == CSTA_APDU_RESULT;
    if (c->opcode == CSTA_OP_START_CDR && result && *c->node) {
        const csta_bytes_t *x = &a.svc.start_call_detail_records_transmission_res.cdr_xref;
        c->xref_len = x->len <= sizeof c->xref ? x->len : 0;
        if (c->xref_len)
            memcpy(c->xref, x->data, c->xref_len);
        node_info(S_SUB, "pbx=%s: CDR records go to peer %s", self->names[c->pbx], c->node);
    } else if (c->opcode == CSTA_OP_START_CDR && result) {
        //  The peer went while its StartCDR was out: the PBX sends records now; stop them.
        c->xref_len = 0;
        node_pbx_cdr_release(self->pbx[c->pbx], c);
    } else if (c->opcode == CSTA_OP_START_CDR && !c->was_held) {
        node_pbx_cdr_release(self->pbx[c->pbx], c);
        c->node[0] = '\0';
    } else if (c->opcode == CSTA_OP_STOP_CDR && result) {
        node_pbx_cdr_release(self->pbx[c->pbx], c);
        c->node[0] = '\0';
        c->xref_len = 0;
    }
    if (status == 0)
        csta_apdu_clear(&a);
    ha_forward_answer(self->fwd, handle, status, apdu, len);
}

//  A peer's Start/StopCallDetailRecordsTransmission: CDR on this node's link for that peer,
//  its reports published to it (s_on_cdr_report); another node's claim, or an application
//  of this node's, refuses it with operation/generic.
static void s_serve_cdr(node_forward_t *self, size_t pbx, uint64_t handle, const uint8_t *apdu,
                        size_t len, int timeout_ms, const csta_peek_t *keys)
{
    s_cdr_t *c = self->cdr[pbx];
    const char *node = ha_forward_served_node(self->fwd, handle);
    if (!node) {
        ha_forward_answer(self->fwd, handle, -EINVAL, NULL, 0);
        return;
    }
    if (c->handle) {
        ha_forward_answer(self->fwd, handle, -ENOBUFS, NULL, 0);   //  one at a time
        return;
    }
    bool mine = strcmp(c->node, node) == 0;
    bool start = keys->opcode == CSTA_OP_START_CDR;
    if (start ? (*c->node && !mine) || node_pbx_cdr_claim(self->pbx[pbx], c) != 0 : !mine) {
        node_info(S_SUB, "pbx=%s: peer %s's %s refused: %s", self->names[pbx], node,
                  csta_op_name(keys->opcode),
                  start ? "CDR belongs to another application" : "it does not own CDR");
        s_answer_generic(self, handle, keys->invoke_id);
        return;
    }
    c->was_held = mine;
    snprintf(c->node, sizeof c->node, "%s", node);
    c->handle = handle;
    c->opcode = keys->opcode;
    int rc = node_pbx_request(self->pbx[pbx], apdu, len, timeout_ms, s_on_cdr_reply,
                              start ? s_on_cdr_report : NULL, c);
    if (rc) {
        c->handle = 0;
        if (start && !c->was_held) {
            node_pbx_cdr_release(self->pbx[pbx], c);
            c->node[0] = '\0';
        }
        ha_forward_answer(self->fwd, handle, rc, NULL, 0);
    }
}

static void s_serve_peer_lost(void *ctx, const char *node)
{
    node_forward_t *self = ctx;
    for (size_t i = 0; i < self->pbx_count; i++)
        if (strcmp(self->cdr[i]->node, node) == 0)
            s_cdr_abandon(self, self->cdr[i], true);
}

static void s_serve_request(void *ctx, size_t pbx, uint64_t handle, const uint8_t *apdu,
                            size_t len, int timeout_ms)
{
    node_forward_t *self = ctx;
    csta_peek_t keys;
    if (pbx >= self->pbx_count || csta_peek(&keys, apdu, len) != 0 ||
        keys.kind != CSTA_APDU_INVOKE) {
        node_warning(S_SUB, "a peer forwarded bytes that are no CSTA invoke; refused");
        ha_forward_answer(self->fwd, handle, -EINVAL, NULL, 0);
        return;
    }
    if (keys.opcode == CSTA_OP_START_CDR || keys.opcode == CSTA_OP_STOP_CDR) {
        s_serve_cdr(self, pbx, handle, apdu, len, timeout_ms, &keys);
        return;
    }
    s_served_t *s = calloc(1, sizeof *s);
    if (!s) {
        ha_forward_answer(self->fwd, handle, -ENOBUFS, NULL, 0);
        return;
    }
    s->self = self;
    s->pbx = pbx;
    s->handle = handle;
    //  ECMA-269 GetSwitchingFunctionDevices and SnapshotDevice may answer with a
    //  serviceCrossRefID and send their data in segments afterwards.
    s->segments = keys.opcode == CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES ||
                  keys.opcode == CSTA_OP_SNAPSHOT_DEVICE;
    if (s->segments) {
        s->next = self->kept;
        if (self->kept)
            self->kept->prev = s;
        self->kept = s;
    }
    //  node_pbx_relay: performed on the link if this node holds it; kept in order while a
    //  handover drains; passed on (marked relayed) if the link is elsewhere by then.
    int rc = node_pbx_relay(self->pbx[pbx], apdu, len, timeout_ms, s_serve_reply,
                            s->segments ? s_serve_followup : NULL, s);
    if (rc) {
        if (s->segments)
            s_kept_remove(self, s);
        free(s);
        ha_forward_answer(self->fwd, handle, rc, NULL, 0);
    }
}

//  --- Peers' watches (owner) -----------------------------------------------------------------

//  "d:101" / "n:17891329" back into a device id; -EINVAL for anything else.
static int s_device_from_key(const char *key, csta_device_t *id)
{
    memset(id, 0, sizeof *id);
    if (strncmp(key, "d:", 2) == 0 && key[2] && strlen(key + 2) <= CSTA_DIGITS_MAX) {
        id->kind = CSTA_DEV_DIALING;
        snprintf(id->digits, sizeof id->digits, "%s", key + 2);
        return 0;
    }
    if (strncmp(key, "n:", 2) == 0 && key[2]) {
        char *end = NULL;
        errno = 0;
        long v = strtol(key + 2, &end, 10);
        if (errno || *end || v < 0)
            return -EINVAL;
        id->kind = CSTA_DEV_NUMBER;
        id->number = v;
        return 0;
    }
    return -EINVAL;
}

static void s_watch_key(char *key, size_t cap, size_t pbx, const char *node, const char *device)
{
    snprintf(key, cap, "%zu %s %s", pbx, node, device);
}

static void s_on_served_done(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_served_watch_t *w = arg;
    ha_forward_watch_answer(w->self->fwd, w->pbx, w->node, w->device, status, apdu, len);
}

static void s_served_watch_free(node_forward_t *self, s_served_watch_t *w)
{
    if (w->watch) {
        zhashx_delete(self->by_watch, w->watch);
        node_pbx_unwatch(self->pbx[w->pbx], &w->watch);
    }
    free(w);
}

static void s_serve_watch(void *ctx, size_t pbx, const char *node, const char *device, bool on)
{
    node_forward_t *self = ctx;
    if (pbx >= self->pbx_count)
        return;
    char key[HA_NAME_MAX + HA_DEVICE_MAX + 32];
    s_watch_key(key, sizeof key, pbx, node, device);
    s_served_watch_t *w = zhashx_lookup(self->watches, key);
    if (!on) {
        if (w) {
            zhashx_delete(self->watches, key);
            s_served_watch_free(self, w);
        }
        return;
    }
    csta_device_t id;
    if (s_device_from_key(device, &id) != 0) {
        node_warning(S_SUB, "peer %s watches '%.80s' at pbx=%s: not a device; refused", node,
                     device, self->names[pbx]);
        ha_forward_watch_answer(self->fwd, pbx, node, device, -EINVAL, NULL, 0);
        return;
    }
    bool fresh = !w;
    if (fresh) {
        w = calloc(1, sizeof *w);
        if (!w) {
            ha_forward_watch_answer(self->fwd, pbx, node, device, -ENOBUFS, NULL, 0);
            return;
        }
        w->self = self;
        w->pbx = pbx;
        snprintf(w->node, sizeof w->node, "%s", node);
        snprintf(w->device, sizeof w->device, "%s", device);
    }
    //  Asked again (its last answer was an error): a new watch first, so the device stays
    //  wanted and its PBX monitor is not stopped, then the old one goes; the new one's done
    //  answers.
    node_pbx_watch_t *old = w->watch;
    node_pbx_watch_t *watch = node_pbx_watch(self->pbx[pbx], &id, s_on_served_done, w);
    if (!watch) {
        if (fresh)
            free(w);
        ha_forward_watch_answer(self->fwd, pbx, node, device, -ENOBUFS, NULL, 0);
        return;
    }
    if (old) {
        zhashx_delete(self->by_watch, old);
        node_pbx_unwatch(self->pbx[pbx], &old);
    }
    w->watch = watch;
    zhashx_insert(self->by_watch, watch, w);
    if (fresh)
        zhashx_insert(self->watches, key, w);
}

bool node_forward_owns(const node_forward_t *self, const node_pbx_watch_t *watch)
{
    return self && zhashx_lookup(self->by_watch, watch) != NULL;
}

//  TEST ONLY (CTIM_TEST_DROP_EVENT, node/README.md "Test knobs"): the first event of the
//  named type (ECMA-269 event name as csta_event_name gives it) that would go to a peer is
//  numbered but not sent, so that the peer sees a gap.  Never set in production.
static bool s_test_drop(node_forward_t *self, const uint8_t *apdu, size_t len)
{
    if (!self->test_drop[0])
        return false;
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len) != 0)
        return false;
    bool drop = a.kind == CSTA_APDU_INVOKE && a.opcode == CSTA_OP_EVENT_REPORT &&
                strcmp(csta_event_name(a.event.type), self->test_drop) == 0;
    csta_apdu_clear(&a);
    if (drop) {
        node_warning(S_SUB, "TEST: CTIM_TEST_DROP_EVENT dropped a %s event to a peer",
                     self->test_drop);
        self->test_drop[0] = '\0';
    }
    return drop;
}

void node_forward_event(node_forward_t *self, node_pbx_watch_t *watch, void *watch_arg,
                        const uint8_t *apdu, size_t len)
{
    (void) watch;
    s_served_watch_t *w = watch_arg;
    if (s_test_drop(self, apdu, len))
        apdu = NULL;    //  numbered, not sent (ha_forward_publish)
    ha_forward_publish(self->fwd, w->pbx, w->node, w->device, apdu, len);
}

void node_forward_state(node_forward_t *self, size_t i, node_pbx_state_t state)
{
    if (!self || i >= self->pbx_count || state != NODE_PBX_DOWN)
        return;
    for (s_served_watch_t *w = zhashx_first(self->watches); w; w = zhashx_next(self->watches))
        if (w->pbx == i)
            ha_forward_watch_answer(self->fwd, i, w->node, w->device, -ENOTCONN, NULL, 0);
}

void node_forward_monitored(node_forward_t *self, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) watch;
    s_served_watch_t *w = watch_arg;
    ha_forward_watch_answer(self->fwd, w->pbx, w->node, w->device, 0, NULL, 0);
}

void node_forward_broadcast(node_forward_t *self, size_t i, const uint8_t *apdu, size_t len)
{
    if (self && i < self->pbx_count)
        ha_forward_broadcast(self->fwd, i, apdu, len);
}

void node_forward_csta_stale(node_forward_t *self, size_t i)
{
    if (!self || i >= self->pbx_count)
        return;
    self->csta_stale[i]++;
    self->csta_stale_unlogged++;
    int64_t now = zclock_mono();
    if (now - self->csta_stale_logged_at < 1000)
        return;
    node_warning(S_SUB, "pbx=%s: %ld CSTA application monitor%s missed events lost between the "
                 "nodes; each hears OutOfService then BackInService and should snapshot again",
                 self->names[i], self->csta_stale_unlogged,
                 self->csta_stale_unlogged == 1 ? "" : "s");
    self->csta_stale_unlogged = 0;
    self->csta_stale_logged_at = now;
}

void node_forward_release(node_forward_t *self, size_t i)
{
    if (!self || i >= self->pbx_count)
        return;
    ha_forward_release(self->fwd, i);
    //  The peer asks the next owner itself (node_pbx's remote CDR restart).
    s_cdr_abandon(self, self->cdr[i], true);
}

//  --- Life cycle -----------------------------------------------------------------------------

static void s_log(void *ctx, ha_log_level_t level, const char *text)
{
    (void) ctx;
    node_log((node_log_level_t) level, "ha", "%s", text);
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

node_forward_t *node_forward_new(zloop_t *loop, const node_cfg_t *cfg, ha_cluster_t *cluster,
                                 node_pbx_t *const *pbx)
{
    node_forward_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->pbx_count = cfg->pbx_count;
    const char *drop = getenv("CTIM_TEST_DROP_EVENT");
    if (drop && *drop) {
        snprintf(self->test_drop, sizeof self->test_drop, "%s", drop);
        node_warning(S_SUB, "TEST KNOB CTIM_TEST_DROP_EVENT=%s is set: one %s event to a peer "
                     "will be dropped (tests only)", self->test_drop, self->test_drop);
    }
    ha_forward_cfg_t fc;
    memset(&fc, 0, sizeof fc);
    snprintf(fc.node_id, sizeof fc.node_id, "%s", cfg->node_id);
    fc.peer_count = cfg->cluster.peer_count;
    for (size_t i = 0; i < cfg->cluster.peer_count; i++) {
        snprintf(fc.peers[i].id, sizeof fc.peers[i].id, "%s", cfg->cluster.peers[i].id);
        snprintf(fc.peers[i].endpoint, sizeof fc.peers[i].endpoint, "%s",
                 cfg->cluster.peers[i].endpoint);
    }
    fc.pbx_count = cfg->pbx_count;
    fc.followup_ms = 1;
    for (size_t i = 0; i < cfg->pbx_count; i++) {
        self->pbx[i] = pbx[i];
        self->ctx[i] = (s_pbx_ctx_t){self, i};
        self->cdr[i] = calloc(1, sizeof *self->cdr[i]);
        if (self->cdr[i])
            *self->cdr[i] = (s_cdr_t){.self = self, .pbx = i};
        self->request_timeout_ms[i] = cfg->pbx[i].request_timeout_ms;
        snprintf(self->names[i], sizeof self->names[i], "%s", cfg->pbx[i].name);
        snprintf(fc.pbx[i], sizeof fc.pbx[i], "%s", cfg->pbx[i].name);
        //  Segments are routed as long as the owner's PBX service routes them.
        if (cfg->pbx[i].request_timeout_ms > fc.followup_ms)
            fc.followup_ms = cfg->pbx[i].request_timeout_ms;
    }
    ha_forward_listener_t l = {self,           s_on_remote,   s_on_watch_result, s_on_event,
                               s_serve_request, s_serve_watch, s_log,             s_on_events_lost,
                               s_on_cdr,        s_serve_peer_lost, s_on_broadcast};
    self->fwd = ha_forward_new(loop, &fc, NULL, &l);
    self->watches = zhashx_new();
    self->by_watch = zhashx_new();
    bool cdr_ok = true;
    for (size_t i = 0; i < cfg->pbx_count; i++)
        cdr_ok = cdr_ok && self->cdr[i];
    if (!cdr_ok || !self->fwd || !self->watches || !self->by_watch ||
        ha_forward_attach(self->fwd, cluster) != 0) {
        node_error(S_SUB, "cluster forwarding cannot be set up");
        node_forward_destroy(&self);
        return NULL;
    }
    zhashx_set_key_hasher(self->by_watch, s_ptr_hash);
    zhashx_set_key_comparator(self->by_watch, s_ptr_cmp);
    zhashx_set_key_duplicator(self->by_watch, NULL);
    zhashx_set_key_destructor(self->by_watch, NULL);
    for (size_t i = 0; i < cfg->pbx_count; i++) {
        node_pbx_remote_t r = {&self->ctx[i], s_remote_request, s_remote_watch, s_remote_relay};
        node_pbx_set_remote(pbx[i], &r);
    }
    return self;
}

void node_forward_destroy(node_forward_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_forward_t *self = *self_p;
    *self_p = NULL;
    if (self->gc_timer > 0)
        zloop_timer_end(self->loop, self->gc_timer);
    //  Requests forwarded by this node get their reply (-ENOTCONN) and end here.
    ha_forward_destroy(&self->fwd);
    //  The PBX services outlive this: whatever they still do (a front end's watch released
    //  at its own teardown) must not reach the freed backing.
    for (size_t i = 0; i < self->pbx_count; i++)
        if (self->pbx[i])
            node_pbx_set_remote(self->pbx[i], NULL);
    if (self->watches) {
        for (s_served_watch_t *w = zhashx_first(self->watches); w; w = zhashx_next(self->watches))
            s_served_watch_free(self, w);
        zhashx_destroy(&self->watches);
    }
    zhashx_destroy(&self->by_watch);
    //  Peers' CDR claims end; one whose Start/StopCDR is still at the PBX service is freed by
    //  its reply (node_pbx_destroy answers it).
    for (size_t i = 0; i < self->pbx_count; i++) {
        s_cdr_t *c = self->cdr[i];
        if (!c)
            continue;
        if (*c->node && self->pbx[i])
            node_pbx_cdr_release(self->pbx[i], c);
        c->node[0] = '\0';
        if (c->handle)
            c->self = NULL;
        else
            free(c);
    }
    //  Kept requests: their PBX service let its segments go when it stopped (before this).
    while (self->kept) {
        s_served_t *s = self->kept;
        s_kept_remove(self, s);
        free(s);
    }
    free(self);
}

int node_forward_start(node_forward_t *self)
{
    self->gc_timer = zloop_timer(self->loop, 1000, 0, s_on_gc, self);
    if (self->gc_timer < 0)
        return -ENOMEM;
    return ha_forward_start(self->fwd);
}

//  --- State ----------------------------------------------------------------------------------

char *node_forward_status_json(const node_forward_t *self)
{
    return ha_forward_status_json(self->fwd);
}

void node_forward_collect(node_forward_t *self, node_metrics_t *m)
{
    if (!self->m_requests) {
        self->m_requests = node_metrics_counter(m, "ha_forward_requests",
            "Requests this node forwarded to the PBX link's owner.", "pbx");
        self->m_replies = node_metrics_counter(m, "ha_forward_replies",
            "Forwarded requests the owner answered (any result).", "pbx");
        self->m_errors = node_metrics_counter(m, "ha_forward_errors",
            "Forwarded requests answered here with an error: no-owner (none, or unreachable), "
            "owner-changed (the node it went to was lost or restarted meanwhile), timeout.",
            "pbx,reason");
        self->m_events_in = node_metrics_counter(m, "ha_forward_events",
            "Events of watched devices received from the owner over the cluster bus.", "pbx");
        self->m_gaps = node_metrics_counter(m, "ha_forward_event_gaps",
            "Jumps in the owner's event numbers (events lost on the bus).", "pbx");
        self->m_lost = node_metrics_counter(m, "ha_forward_events_lost",
            "Events the owner sent that never arrived (counted from its numbers).", "pbx");
        self->m_served = node_metrics_counter(m, "ha_forward_served",
            "Peers' requests this node performed on its PBX link.", "pbx");
        self->m_events_out = node_metrics_counter(m, "ha_forward_events_out",
            "Events this node sent to peers that watch the devices.", "pbx");
        self->m_send_failures = node_metrics_counter(m, "ha_forward_send_failures",
            "Forwarding frames not queued (peer unreachable or its queue full).", "pbx");
        self->m_watches = node_metrics_gauge(m, "ha_forward_watches",
            "Devices this node watches through the owner now.", "pbx");
        self->m_served_watches = node_metrics_gauge(m, "ha_forward_served_watches",
            "Peers' device watches this node serves now.", "pbx");
        self->m_csta_stale = node_metrics_counter(m, "ha_forward_csta_stale_monitors",
            "CSTA application monitors that missed events lost between the nodes (no "
            "snapshot can be given to them).", "pbx");
        self->m_up = node_metrics_gauge(m, "ha_forward_up",
            "1 while the PBX is reachable through another node that holds its link.", "pbx");
        self->m_relayed = node_metrics_counter(m, "ha_forward_relayed",
            "Peers' requests this node passed on to the new owner: it no longer held the "
            "link (a handover).", "pbx");
    }
    for (size_t i = 0; i < self->pbx_count; i++) {
        ha_forward_stats_t st;
        ha_forward_stats(self->fwd, i, &st);
        const char *const pbx[] = {self->names[i]};
        node_metric_set(self->m_requests, pbx, (double) st.requests);
        node_metric_set(self->m_replies, pbx, (double) st.replies);
        node_metric_set(self->m_errors, (const char *[]){self->names[i], "no-owner"},
                        (double) st.errors_no_owner);
        node_metric_set(self->m_errors, (const char *[]){self->names[i], "owner-changed"},
                        (double) st.errors_owner_changed);
        node_metric_set(self->m_errors, (const char *[]){self->names[i], "timeout"},
                        (double) st.errors_timeout);
        node_metric_set(self->m_events_in, pbx, (double) st.events_in);
        node_metric_set(self->m_gaps, pbx, (double) st.event_gaps);
        node_metric_set(self->m_lost, pbx, (double) st.events_lost);
        node_metric_set(self->m_served, pbx, (double) st.served);
        node_metric_set(self->m_events_out, pbx, (double) st.events_out);
        node_metric_set(self->m_send_failures, pbx, (double) st.send_failures);
        node_metric_set(self->m_watches, pbx, (double) st.watches);
        node_metric_set(self->m_served_watches, pbx, (double) st.served_watches);
        node_metric_set(self->m_up, pbx, st.up ? 1 : 0);
        node_metric_set(self->m_relayed, pbx, (double) st.relayed);
        node_metric_set(self->m_csta_stale, pbx, (double) self->csta_stale[i]);
    }
}
