//  node_main: the `ctimd` program — options, the one zloop, signals (SIGTERM/SIGINT stop,
//  SIGHUP reloads), the HTTP endpoints, and the hook points where the PBX service and the
//  CSTA server start.
//
//    ctimd --config FILE                  run
//    ctimd --check-config FILE            validate, print the resolved config; exit 0 or 1
//    ctimd --hash-password                read a password on stdin, print its hash
//    ctimd --make-cert PATH               a new CURVE certificate: PATH (public), PATH_secret
//    ctimd --format-number DIR NUMBER --config FILE
//                                         DIR: incoming | outgoing | dialling
//    ctimd --config-keys                  every config key with type, range, default, help
//    ctimd --version
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "ha.h"
#include "node_config.h"
#include "node_client_server.h"
#include "node_csta_server.h"
#include "node_forward.h"
#include "node_http.h"
#include "node_lines.h"
#include "node_log.h"
#include "node_metrics.h"
#include "node_pbx_lines.h"
#include "node_numfmt.h"
#include "node_pbx.h"
#include "node_pbx_remote.h"
#include "node_pbx_devices.h"
#include "node_systemd.h"
#include "node_takeover.h"
#include "node_users.h"

#ifndef CTIM_VERSION
#define CTIM_VERSION "0.0.0"
#endif

#define S_ERR_MAX 16384

typedef struct ctimd ctimd_t;

//  A handover of one PBX link to another node (section "Handover" below).
typedef enum {
    S_HO_NONE,
    S_HO_DRAINING,          //  the service is paused: requests at the link complete
    S_HO_HANDED,            //  the link is given up: requests wait for the new owner
    S_HO_TAKING,            //  the target: requests wait for this node's link
    S_HO_PASSING,           //  another node: requests wait for the target's link
} s_ho_stage_t;

typedef struct {
    s_ho_stage_t stage;
    char to[NODE_NAME_MAX];
    int64_t started;        //  zclock_mono at the request
    int timer;              //  S_HO_HANDED: the deadline for the new owner
} s_handover_t;

//  What a PBX service's listener needs to find its PBX: the program and the index.
typedef struct {
    ctimd_t *self;
    size_t i;
} s_pbx_ctx_t;

struct ctimd {
    node_cfg_t cfg;
    zloop_t *loop;
    int signal_fd;
    zmq_pollitem_t signal_item;
    node_metrics_t *metrics;
    node_metric_t *reloads;         //  ctim_config_reloads_total{result}
    node_metric_t *pbx_up;          //  ctim_pbx_link_up{pbx}
    //  The PBX service's own figures, refreshed from node_pbx_stats at each scrape.
    node_metric_t *pbx_reconnects, *pbx_requests, *pbx_timeouts, *pbx_events_in;
    node_metric_t *pbx_monitors, *pbx_watches, *pbx_monitor_failures, *pbx_calls;
    node_metric_t *lines_gauge, *users_gauge;
    node_http_t *http;
    node_users_t *users;            //  the reloadable objects, rebuilt on SIGHUP
    node_numfmt_t *numfmt;
    node_lines_t *lines;
    node_pbx_lines_t *pbx_lines[NODE_PBX_MAX];  //  names learned from each PBX's device list
    time_t started;
    //  Filled by the hooks below.
    node_pbx_t *pbx[NODE_PBX_MAX];
    s_pbx_ctx_t pbx_ctx[NODE_PBX_MAX];
    node_csta_server_t *csta_server;
    node_pbx_listener_t csta_listener;  //  the CSTA server's, for the first PBX
    node_client_server_t *client_server;
    node_pbx_listener_t client_listener;    //  the client API's, for the first PBX
    //  The cluster (ha/; section "The cluster" below): NULL for a single node.
    ha_cluster_t *cluster;
    node_forward_t *forward;        //  requests and watches to the link's owner, and theirs
    node_metric_t *ha_peers_alive, *ha_quorum, *ha_owner, *ha_epoch, *ha_takeovers;
    node_metric_t *ha_bad_messages;
    //  The replicated state (section "The cluster's state" below)
    node_takeover_t *takeover;      //  watches for the cluster's applications, per held PBX
    zhashx_t *csta_monitors;        //  device key -> count of this node's CSTA monitors
    int state_timer;                //  one-shot: act on state changes after the turn
    bool state_moved;               //  another node's session changed: did ours move?
    node_metric_t *ha_state_keys, *ha_state_updates, *ha_state_gaps, *ha_state_snapshots;
    node_metric_t *ha_state_expired, *ha_takeover_devices, *ha_auth_failures;
    s_handover_t handover[NODE_PBX_MAX];
    node_metric_t *ha_handovers, *ha_handover_seconds;  //  see s_handover_count
    node_verifier_t *verifier;      //  PBKDF2 of first logins, off the loop (both front ends)
    zlistx_t *expired_lines;        //  lost nodes' lines that expired this turn (s_expired_t)
    zhashx_t *expired_sessions;     //  session hash -> "session=.. user=.." expired this turn
    zhashx_t *guard_keys;           //  this node's g/ keys put (key -> failure number)
};

static void s_cluster_collect(ctimd_t *self);
static bool s_cluster_standby(const ctimd_t *self, size_t i);
static void s_handover_state(ctimd_t *self, size_t i, bool up);
static void s_handover_taking(ctimd_t *self, size_t i);
static void s_handover_finish(ctimd_t *self, size_t i, const char *how);

//  The first PBX's listener callbacks go to both front ends (CSTA, then client API).
static void s_front_ends(const ctimd_t *self, size_t i, size_t *count,
                         const node_pbx_listener_t **out)
{
    *count = 0;
    if (i == 0) {
        out[(*count)++] = &self->csta_listener;
        out[(*count)++] = &self->client_listener;
    }
}

//  --- Hook points ----------------------------------------------------------------------------
//  The PBX service (node_pbx.c) and the CSTA server (node_csta_server.c) are written by
//  other helpers; these functions are where they plug in.  Each runs on the loop thread.

//  /metrics: the PBX services' figures as they are now.
static void s_collect_metrics(void *ctx)
{
    ctimd_t *self = ctx;
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        if (!self->pbx[i])
            continue;
        node_pbx_stats_t st;
        node_pbx_stats(self->pbx[i], &st);
        const char *const pbx[] = {self->cfg.pbx[i].name};
        node_metric_set(self->pbx_reconnects, pbx, (double) st.reconnects);
        node_metric_set(self->pbx_requests, pbx, (double) st.requests);
        node_metric_set(self->pbx_timeouts, pbx, (double) st.timeouts);
        node_metric_set(self->pbx_events_in, pbx, (double) st.events_in);
        node_metric_set(self->pbx_monitors, pbx, (double) st.monitors_pbx);
        node_metric_set(self->pbx_watches, pbx, (double) st.watches);
        node_metric_set(self->pbx_monitor_failures, pbx, (double) st.monitor_failures);
        node_metric_set(self->pbx_calls, pbx, (double) st.calls);
    }
    node_metric_set(self->lines_gauge, NULL, (double) node_lines_count(self->lines));
    s_cluster_collect(self);
}

//  GET /lines: the export format node_lines_import reads back.
static char *s_lines_text(void *ctx)
{
    ctimd_t *self = ctx;
    return node_lines_export(self->lines);
}

//  The PBX listener's on_state: ctim_pbx_link_up follows the link, and the CSTA server is
//  told (it serves the first PBX).  Reaching the PBX through its owner is not this node's
//  link: the metric and the cluster hear of the local link only.
static void s_pbx_state_changed(ctimd_t *self, size_t i, bool up)
{
    bool remote = self->pbx[i] && node_pbx_is_remote(self->pbx[i]);
    node_metric_set(self->pbx_up, (const char *[]){self->cfg.pbx[i].name}, up && !remote ? 1 : 0);
    if (remote) {
        const char *owner = node_pbx_remote_owner(self->pbx[i]);
        node_systemd_status("pbx %s %s through %s", self->cfg.pbx[i].name,
                            up ? "reachable" : "unreachable", *owner ? owner : "no owner");
    } else {
        node_systemd_status("pbx %s link %s", self->cfg.pbx[i].name, up ? "up" : "down");
        ha_cluster_link_state(self->cluster, i, up);    //  (a no-op for a single node)
    }
    s_handover_state(self, i, up);
}

static void s_pbx_on_state(void *ctx, node_pbx_state_t state)
{
    s_pbx_ctx_t *c = ctx;
    s_pbx_state_changed(c->self, c->i, state == NODE_PBX_UP);
    if (!node_pbx_is_remote(c->self->pbx[c->i]))
        node_forward_state(c->self->forward, c->i, state);  //  the peers' watches hear it
    node_pbx_lines_t *pl = c->self->pbx_lines[c->i];
    if (pl && state == NODE_PBX_UP && c->self->cfg.lines_from_pbx)
        node_pbx_lines_query(pl);
    else if (pl && state == NODE_PBX_DOWN)
        node_pbx_lines_link_down(pl);
    const node_pbx_listener_t *fe[2];
    size_t n;
    s_front_ends(c->self, c->i, &n, fe);
    for (size_t k = 0; k < n; k++)
        if (fe[k]->on_state)
            fe[k]->on_state(fe[k]->ctx, state);
}

//  Events and broadcasts of the first PBX go to the CSTA multiplexer and the client API.
//  node_pbx calls on_event once per watch with that watch's arg, and the two front ends'
//  args mean different things: each event goes to the front end that owns the watch.
static void s_pbx_on_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg,
                           const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    s_pbx_ctx_t *c = ctx;
    if (node_forward_owns(c->self->forward, watch)) {
        node_forward_event(c->self->forward, watch, watch_arg, apdu, len);
        return;
    }
    if (c->i != 0 || node_takeover_owns(c->self->takeover, watch))
        return;     //  a device watched for the cluster: its applications have their own
    const node_pbx_listener_t *l = node_client_server_owns(c->self->client_server, watch)
                                       ? &c->self->client_listener
                                       : &c->self->csta_listener;
    if (l->on_event)
        l->on_event(l->ctx, watch, watch_arg, apdu, len, keys);
}

//  A watch monitored again after a link loss: to the front end that owns it, as events go;
//  a peer's watch (node_forward) to that peer (WatchResult OK), so that its applications
//  are in service only once the device is monitored again.  The cluster's (node_takeover)
//  need no word.
static void s_pbx_on_watch_monitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    s_pbx_ctx_t *c = ctx;
    if (node_forward_owns(c->self->forward, watch)) {
        node_forward_monitored(c->self->forward, watch, watch_arg);
        return;
    }
    if (c->i != 0 || node_takeover_owns(c->self->takeover, watch))
        return;
    const node_pbx_listener_t *l = node_client_server_owns(c->self->client_server, watch)
                                       ? &c->self->client_listener
                                       : &c->self->csta_listener;
    if (l->on_watch_monitored)
        l->on_watch_monitored(l->ctx, watch, watch_arg);
}

//  Through the owner: a watch no longer monitored, or whose events were lost on the bus
//  (node_pbx.h) — to the front end that owns it.  A CSTA application cannot be given a
//  snapshot: its stale monitors are counted and logged (node_forward), and it hears
//  OutOfService then BackInService on them (node_csta_session_watch_stale).
static void s_pbx_on_watch_unmonitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    s_pbx_ctx_t *c = ctx;
    if (c->i != 0 || node_forward_owns(c->self->forward, watch) ||
        node_takeover_owns(c->self->takeover, watch))
        return;
    const node_pbx_listener_t *l = node_client_server_owns(c->self->client_server, watch)
                                       ? &c->self->client_listener
                                       : &c->self->csta_listener;
    if (l->on_watch_unmonitored)
        l->on_watch_unmonitored(l->ctx, watch, watch_arg);
}

static void s_pbx_on_watch_stale(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    s_pbx_ctx_t *c = ctx;
    if (c->i != 0 || node_forward_owns(c->self->forward, watch) ||
        node_takeover_owns(c->self->takeover, watch))
        return;
    bool client = node_client_server_owns(c->self->client_server, watch);
    if (!client)
        node_forward_csta_stale(c->self->forward, c->i);
    const node_pbx_listener_t *l = client ? &c->self->client_listener : &c->self->csta_listener;
    if (l->on_watch_stale)
        l->on_watch_stale(l->ctx, watch, watch_arg);
}

static void s_pbx_on_broadcast(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    s_pbx_ctx_t *c = ctx;
    if (!node_pbx_is_remote(c->self->pbx[c->i]))
        node_forward_broadcast(c->self->forward, c->i, apdu, len);  //  the peers' applications
    const node_pbx_listener_t *fe[2];
    size_t n;
    s_front_ends(c->self, c->i, &n, fe);
    for (size_t k = 0; k < n; k++)
        if (fe[k]->on_broadcast)
            fe[k]->on_broadcast(fe[k]->ctx, apdu, len, keys);
}

//  HOOK pbx: one PBX service per configured PBX, each connecting at once (node_pbx.h).
//  The CSTA server adds its on_event / on_broadcast to the listener.  Returns 0 or a
//  negative errno (ctimd then exits 1).
static int s_pbx_start(ctimd_t *self)
{
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        self->pbx_ctx[i] = (s_pbx_ctx_t){self, i};
        node_pbx_listener_t listener = {.ctx = &self->pbx_ctx[i],
                                        .on_event = s_pbx_on_event,
                                        .on_state = s_pbx_on_state,
                                        .on_broadcast = s_pbx_on_broadcast,
                                        .on_watch_monitored = s_pbx_on_watch_monitored,
                                        .on_watch_unmonitored = s_pbx_on_watch_unmonitored,
                                        .on_watch_stale = s_pbx_on_watch_stale};
        self->pbx[i] = node_pbx_new(self->loop, &self->cfg.pbx[i], &listener);
        if (!self->pbx[i]) {
            node_error("main", "pbx %s: the PBX service cannot be made from its config",
                       self->cfg.pbx[i].name);
            return -EINVAL;
        }
        self->pbx_lines[i] = node_pbx_lines_new(self->pbx[i], &self->lines, self->cfg.pbx[i].name);
        //  In a cluster the link starts only when this node takes it (s_cluster_take).
        bool clustered = self->cfg.cluster.peer_count > 0;
        int rc = !self->pbx_lines[i] ? -ENOMEM : clustered ? 0 : node_pbx_start(self->pbx[i]);
        if (rc)
            return rc;
    }
    return 0;
}

//  HOOK pbx: destroy the PBX services before the loop goes (open requests get -ENOTCONN).
static void s_pbx_stop(ctimd_t *self)
{
    for (size_t i = 0; i < NODE_PBX_MAX; i++) {
        node_pbx_destroy(&self->pbx[i]);
        node_pbx_lines_destroy(&self->pbx_lines[i]);
    }
}

//  HOOK pbx: the state of PBX i as /status and /readyz report it.  A node in a cluster that
//  does not hold the link serves through the owner: UP while it reaches the PBX that way.
static const char *s_pbx_state(const ctimd_t *self, size_t i)
{
    if (!self->pbx[i])
        return "not started";
    if (s_cluster_standby(self, i) && node_pbx_state(self->pbx[i]) != NODE_PBX_UP)
        return *node_pbx_remote_owner(self->pbx[i]) ? "standby, owner unreachable"
                                                    : "standby, no owner";
    return node_pbx_state_str(node_pbx_state(self->pbx[i]));
}

static bool s_pbx_is_up(const ctimd_t *self, size_t i)
{
    return self->pbx[i] && node_pbx_state(self->pbx[i]) == NODE_PBX_UP;
}

//  HOOK csta: create and start the CSTA multiplexer on cfg.csta_server with self->pbx,
//  self->users, self->numfmt and self->lines.  Returns 0 or a negative errno.
static int s_csta_server_start(ctimd_t *self)
{
    const node_csta_server_cfg_t *cfg = &self->cfg.csta_server;
    if (cfg->tcp_port <= 0 && cfg->tls_port <= 0)
        return 0;       //  both ports off: no multiplexer
    self->csta_server = node_csta_server_new(self->loop, cfg, self->users, self->metrics);
    if (!self->csta_server)
        return -EINVAL;     //  the TLS certificate or key (logged)
    node_csta_server_listener(self->csta_server, &self->csta_listener);
    node_csta_server_set_verifier(self->csta_server, self->verifier);
    node_csta_server_attach(self->csta_server, self->pbx[0], self->cfg.pbx[0].request_timeout_ms);
    return node_csta_server_start(self->csta_server);
}

//  The client API front end (node_client_server) on cfg.client_api for the first PBX.
static int s_client_server_start(ctimd_t *self)
{
    if (self->cfg.client_api.port <= 0)
        return 0;
    self->client_server = node_client_server_new(self->loop, &self->cfg.client_api, self->users,
                                                 self->metrics, self->cfg.node_id);
    if (!self->client_server)
        return -ENOMEM;
    node_client_server_listener(self->client_server, &self->client_listener);
    node_client_server_set_verifier(self->client_server, self->verifier);
    node_client_server_attach(self->client_server, self->pbx[0],
                              self->cfg.pbx[0].request_timeout_ms);
    node_client_server_set_numbers(self->client_server, self->numfmt, self->lines);
    return node_client_server_start(self->client_server, 0);
}

static void s_client_server_stop(ctimd_t *self)
{
    self->client_listener = (node_pbx_listener_t){0};
    node_client_server_destroy(&self->client_server);
}

//  HOOK csta: stop it (close applications, listening sockets), before the PBX services.
static void s_csta_server_stop(ctimd_t *self)
{
    self->csta_listener = (node_pbx_listener_t){0};
    node_csta_server_destroy(&self->csta_server);
}

//  HOOK csta: SIGHUP replaced self->users, self->numfmt and self->lines (the old ones are
//  destroyed right after this returns): hand the new ones over.
static void s_csta_server_reload(ctimd_t *self)
{
    if (self->csta_server)
        node_csta_server_set_users(self->csta_server, self->users);
    if (self->client_server) {
        node_client_server_set_users(self->client_server, self->users);
        node_client_server_set_numbers(self->client_server, self->numfmt, self->lines);
    }
}

//  --- The cluster (ha/, issue 6) -------------------------------------------------------------
//  With cluster.peers listed, ha_cluster decides which node holds each PBX link: the PBX
//  services are created but not started (s_pbx_start), and ha's take / drop / retry start
//  and stop them.  Without peers none of this runs and ctimd holds every link itself.

static void s_cluster_log(void *ctx, ha_log_level_t level, const char *text)
{
    (void) ctx;
    node_log((node_log_level_t) level, "ha", "%s", text);
}

static size_t s_takeover_sync(ctimd_t *self, size_t i);
static void s_lost_lines_hold(ctimd_t *self, bool holds);

//  Take PBX i's link: first watch every device an application anywhere in the cluster has
//  open (the lost holder's applications' too: they will resume here or elsewhere), so that
//  node_pbx monitors them all, pipelined, and snapshots them as soon as the link is up
//  (DESIGN.md invariant 2); then connect.
static void s_cluster_take(void *ctx, size_t i, uint64_t epoch)
{
    ctimd_t *self = ctx;
    if (i >= self->cfg.pbx_count || !self->pbx[i])
        return;
    size_t n = s_takeover_sync(self, i);
    node_notice("ha", "pbx=%s epoch=%" PRIu64 ": monitoring %zu devices of the cluster's "
                "applications once the link is up", self->cfg.pbx[i].name, epoch, n);
    if (ha_cluster_took_by_handover(self->cluster, i))
        s_handover_taking(self, i);
    if (i == 0)     //  the lost nodes' lines of the client API's PBX: this node guards them
        s_lost_lines_hold(self, true);
    node_pbx_start(self->pbx[i]);
}

static void s_cluster_drop(void *ctx, size_t i, const char *why)
{
    ctimd_t *self = ctx;
    (void) why;         //  logged by ha
    //  The peers' watches go first: they are theirs to move to the new owner, not this
    //  node's to carry over when its service turns to forwarding.
    node_forward_release(self->forward, i);
    if (i >= self->cfg.pbx_count || !self->pbx[i])
        return;
    node_pbx_stop(self->pbx[i]);
    if (i == 0)     //  the next holder guards the lost nodes' lines
        s_lost_lines_hold(self, false);
    //  Taken by a handover and dropped before its link came up: what waited goes on.
    if (self->handover[i].stage == S_HO_TAKING)
        s_handover_finish(self, i, "given up");
    //  The new holder monitors them now; our own applications keep their watches.
    node_takeover_clear(self->takeover, i, self->pbx[i]);
}

static void s_cluster_retry(void *ctx, size_t i)
{
    ctimd_t *self = ctx;
    if (i < self->cfg.pbx_count && self->pbx[i])
        node_pbx_connect_now(self->pbx[i]);
}

//  --- Handover (ha/README.md "Handover") ------------------------------------------------------
//  POST /cluster/handover?pbx=NAME&to=NODE on the holder: pause the PBX service (requests
//  wait, those at the link complete, bounded by request_timeout_ms), then give the link up
//  with a Release naming NODE (ha_cluster_handover: NODE takes at once), then, once the
//  service reaches the PBX through the new owner (or after request_timeout_ms), send the
//  requests that waited through it.  Every request gets one reply: the owner's answer, or
//  a retryable error (-ENOTCONN) when forwarding fails.

//  ctim_ha_handovers_total{pbx,result}: one per handover asked of this node (the holder's
//  view; the target logs its side).  result: done, taken_back (the link came back here),
//  abandoned (the target went away while draining), timeout (the PBX not reachable through
//  the new owner in request_timeout_ms), refused (the HTTP request; pbx "" when unknown).
static void s_handover_count(ctimd_t *self, const char *pbx, const char *result)
{
    if (self->ha_handovers)
        node_metric_add(self->ha_handovers, (const char *[]){pbx, result}, 1);
}

static void s_handover_finish(ctimd_t *self, size_t i, const char *how)
{
    s_handover_t *h = &self->handover[i];
    if (h->stage == S_HO_NONE)
        return;
    int64_t took_ms = zclock_mono() - h->started;
    if (h->stage == S_HO_HANDED || h->stage == S_HO_DRAINING) {
        const char *result = strcmp(how, "done") == 0         ? "done"
                             : strcmp(how, "taken back") == 0 ? "taken_back"
                             : strcmp(how, "abandoned") == 0  ? "abandoned"
                                                              : "timeout";
        s_handover_count(self, self->cfg.pbx[i].name, result);
        if (strcmp(result, "done") == 0 && self->ha_handover_seconds)
            node_metric_set(self->ha_handover_seconds, (const char *[]){self->cfg.pbx[i].name},
                            (double) took_ms / 1000.0);
    }
    if (h->timer > 0)
        zloop_timer_end(self->loop, h->timer);
    h->timer = 0;
    size_t queued = node_pbx_queued(self->pbx[i]);
    node_pbx_resume(self->pbx[i]);
    if (h->stage == S_HO_PASSING)
        node_info("ha", "handover pbx=%s to %s: %s after %" PRId64 " ms; %zu requests that "
                  "waited go on", self->cfg.pbx[i].name, h->to, how, took_ms, queued);
    else
        node_notice("ha", "handover pbx=%s to %s %s in %" PRId64 " ms; %zu requests that waited "
                    "go on", self->cfg.pbx[i].name, h->stage == S_HO_TAKING ? "this node" : h->to,
                    how, took_ms, queued);
    h->stage = S_HO_NONE;
}

//  The service is up again: through the new owner, or on this node's own link (the target
//  could not take and the link came back here).
static void s_handover_state(ctimd_t *self, size_t i, bool up)
{
    s_handover_t *h = &self->handover[i];
    if (up && h->stage == S_HO_HANDED)
        s_handover_finish(self, i, node_pbx_is_remote(self->pbx[i]) ? "done" : "taken back");
    else if (up && h->stage == S_HO_TAKING && !node_pbx_is_remote(self->pbx[i]))
        s_handover_finish(self, i, "link up");
    else if (up && h->stage == S_HO_PASSING)
        s_handover_finish(self, i, strcmp(node_pbx_remote_owner(self->pbx[i]), h->to) == 0
                                       ? "reachable" : "reachable elsewhere");
}

static int s_on_handover_deadline(zloop_t *loop, int timer_id, void *arg);

//  The target of a handover: its applications' requests (and the peers') wait for its
//  link, which comes up in a few ms, instead of failing while it connects.  Bounded by
//  request_timeout_ms like the holder's wait.
static void s_handover_taking(ctimd_t *self, size_t i)
{
    s_handover_t *h = &self->handover[i];
    if (h->stage != S_HO_NONE || node_pbx_pause(self->pbx[i], 0, NULL, NULL) != 0)
        return;
    h->stage = S_HO_TAKING;
    snprintf(h->to, sizeof h->to, "%s", self->cfg.node_id);
    h->started = zclock_mono();
    h->timer = zloop_timer(self->loop, (size_t) self->cfg.pbx[i].request_timeout_ms, 1,
                           s_on_handover_deadline, &self->pbx_ctx[i]);
}

//  Another node hands the link to a third (a Release naming the target): this node's
//  applications' requests made until the PBX is reachable through the target wait for it
//  instead of failing in the few ms nobody holds the link; those already out to the old
//  holder are its to answer (ha_forward).  Bounded by request_timeout_ms like the others.
static void s_cluster_handed_over(void *ctx, size_t i, const char *from, const char *to)
{
    ctimd_t *self = ctx;
    if (i >= self->cfg.pbx_count || strcmp(to, self->cfg.node_id) == 0)
        return;     //  the target: s_handover_taking
    s_handover_t *h = &self->handover[i];
    if (h->stage != S_HO_NONE || !node_pbx_is_remote(self->pbx[i]) ||
        node_pbx_pause(self->pbx[i], 0, NULL, NULL) != 0)
        return;
    h->stage = S_HO_PASSING;
    snprintf(h->to, sizeof h->to, "%s", to);
    h->started = zclock_mono();
    h->timer = zloop_timer(self->loop, (size_t) self->cfg.pbx[i].request_timeout_ms, 1,
                           s_on_handover_deadline, &self->pbx_ctx[i]);
    node_info("ha", "pbx=%s moves from %s to %s: requests wait until it is reachable there",
              self->cfg.pbx[i].name, from, to);
}

static int s_on_handover_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_pbx_ctx_t *c = arg;
    c->self->handover[c->i].timer = 0;  //  one-shot
    node_warning("ha", "handover pbx=%s to %s: the PBX is not reachable after %d ms; the "
                 "requests that waited go on and may fail (retryable)", c->self->cfg.pbx[c->i].name,
                 c->self->handover[c->i].to, c->self->cfg.pbx[c->i].request_timeout_ms);
    s_handover_finish(c->self, c->i, "timed out");
    return 0;
}

static void s_on_drained(void *arg, int outstanding)
{
    s_pbx_ctx_t *c = arg;
    ctimd_t *self = c->self;
    s_handover_t *h = &self->handover[c->i];
    if (h->stage != S_HO_DRAINING)
        return;
    if (outstanding > 0)
        node_warning("ha", "handover pbx=%s: %d requests still at the link after %d ms get a "
                     "retryable error", self->cfg.pbx[c->i].name, outstanding,
                     self->cfg.pbx[c->i].request_timeout_ms);
    char why[256];
    int rc = ha_cluster_handover(self->cluster, self->cfg.pbx[c->i].name, h->to, why, sizeof why);
    if (rc < 0) {
        //  The target went away while draining: keep the link, let the requests go.
        node_warning("ha", "handover pbx=%s to %s abandoned: %s", self->cfg.pbx[c->i].name, h->to,
                     why);
        h->stage = S_HO_HANDED;
        s_handover_finish(self, c->i, "abandoned");
        return;
    }
    node_info("ha", "handover pbx=%s: drained in %" PRId64 " ms, link released to %s",
              self->cfg.pbx[c->i].name, zclock_mono() - h->started, h->to);
    h->stage = S_HO_HANDED;
    h->timer = zloop_timer(self->loop, (size_t) self->cfg.pbx[c->i].request_timeout_ms, 1,
                           s_on_handover_deadline, c);
    if (s_pbx_is_up(self, c->i))
        s_handover_finish(self, c->i, "done");
}

//  HTTP POST /cluster/handover: the answer's code and a JSON body (*body, the caller frees).
static int s_handover(void *ctx, const char *pbx, const char *to, char **body)
{
    ctimd_t *self = ctx;
    char why[256] = "";
    int code = 202;
    int i = -1;
    if (!pbx || !*pbx || !to || !*to) {
        code = 400;
        snprintf(why, sizeof why, "give pbx=NAME and to=NODE");
    } else if (!self->cluster) {
        code = 409;
        snprintf(why, sizeof why, "this node is not in a cluster");
    } else {
        i = ha_cluster_handover_check(self->cluster, pbx, to, why, sizeof why);
        if (i >= 0 && self->handover[i].stage != S_HO_NONE) {
            snprintf(why, sizeof why, "a handover of pbx %s to %s is already running", pbx,
                     self->handover[i].to);
            i = -EINPROGRESS;
        }
        code = i >= 0 ? 202 : i == -ENOENT || i == -ESRCH ? 404 : 409;
    }
    char owner[HA_NAME_MAX] = "";
    if (self->cluster && pbx) {
        for (size_t k = 0; k < self->cfg.pbx_count; k++) {
            uint64_t epoch;
            bool up;
            if (strcmp(self->cfg.pbx[k].name, pbx) == 0)
                ha_cluster_pbx_owner(self->cluster, k, owner, sizeof owner, &epoch, &up);
        }
    }
    size_t len = 0;
    FILE *out = open_memstream(body, &len);
    if (!out)
        return 500;
    fprintf(out, "{\"node\":");
    node_http_json_str(out, self->cfg.node_id);
    fprintf(out, ",\"pbx\":");
    node_http_json_str(out, pbx ? pbx : "");
    fprintf(out, ",\"to\":");
    node_http_json_str(out, to ? to : "");
    fprintf(out, ",\"owner\":");
    node_http_json_str(out, owner);
    if (code != 202) {
        fprintf(out, ",\"error\":");
        node_http_json_str(out, why);
        fprintf(out, "}\n");
        fclose(out);
        node_warning("ha", "handover pbx=%s to %s refused (%d): %s", pbx ? pbx : "",
                     to ? to : "", code, why);
        //  Only a configured PBX's name becomes a label (a request's text must not make
        //  series without bound).
        const char *known = "";
        for (size_t k = 0; pbx && k < self->cfg.pbx_count; k++)
            if (strcmp(self->cfg.pbx[k].name, pbx) == 0)
                known = self->cfg.pbx[k].name;
        s_handover_count(self, known, "refused");
        return code;
    }
    fprintf(out, ",\"state\":\"draining\"}\n");
    fclose(out);
    s_handover_t *h = &self->handover[i];
    h->stage = S_HO_DRAINING;
    snprintf(h->to, sizeof h->to, "%s", to);
    h->started = zclock_mono();
    node_notice("ha", "handover pbx=%s to %s: draining (at most %d ms)", pbx, to,
                self->cfg.pbx[i].request_timeout_ms);
    if (node_pbx_pause(self->pbx[i], self->cfg.pbx[i].request_timeout_ms, s_on_drained,
                       &self->pbx_ctx[i]) != 0)
        s_on_drained(&self->pbx_ctx[i], 0);     //  (not reached: one handover at a time)
    return code;
}

//  --- The cluster's state (ha_registry) -------------------------------------------------------
//  Sessions and lines of the client API and the CSTA multiplexer's monitors (of the first
//  PBX, which both front ends serve) go into the replicated state as this node's keys,
//  each with how long it outlives this node: a session and its lines two of its heartbeat
//  intervals plus cluster.resume_grace_ms (its application notices the loss after two
//  intervals, then fails over and resumes on another node), a CSTA monitor the grace
//  alone (a CSTA application reconnects and monitors again).  Changes of the state are
//  acted on after the loop turn (s_on_state_timer): the takeover watches of each held PBX
//  follow the devices, and a session of ours that resumed on another node is closed here.

static uint32_t s_linger(const ctimd_t *self, uint32_t heartbeat_ms)
{
    return 2 * heartbeat_ms + (uint32_t) self->cfg.cluster.resume_grace_ms;
}

static void s_state_put(ctimd_t *self, const char *key, const proto_state_record_t *r,
                        uint32_t linger_ms)
{
    uint8_t v[PROTO_CLUSTER_VALUE_MAX];
    size_t n = 0;
    int64_t rc = proto_cluster_record_encode(r, v, sizeof v, &n);
    if (rc == 0)
        rc = ha_cluster_state_put(self->cluster, key, v, n, linger_ms);
    if (rc < 0)
        node_warning("ha", "state key %s not kept: %s", key, strerror((int) -rc));
}

static void s_state_delete(ctimd_t *self, const char *key)
{
    int64_t rc = ha_cluster_state_delete(self->cluster, key);
    if (rc < 0)
        node_warning("ha", "state key %s not deleted: %s", key, strerror((int) -rc));
}

static bool s_session_key(const node_client_session_info_t *info, char *hash, char *key,
                          size_t cap)
{
    ha_registry_hash_hex(info->token_sha256, hash);
    return ha_registry_session_key(hash, key, cap) == 0;
}

static void s_state_session(void *ctx, const node_client_session_info_t *info)
{
    ctimd_t *self = ctx;
    char hash[HA_REGISTRY_HASH_HEX], key[HA_STATE_KEY_MAX];
    if (!self->cluster || !s_session_key(info, hash, key, sizeof key))
        return;
    proto_state_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_SESSION;
    snprintf(r.session, sizeof r.session, "%s", info->session);
    snprintf(r.user, sizeof r.user, "%s", info->user);
    r.has_token = true;
    memcpy(r.token_sha256, info->token_sha256, sizeof r.token_sha256);
    r.heartbeat_ms = info->heartbeat_ms;
    r.acked = info->acked;
    r.seq_limit = info->seq_limit;
    r.cdr = info->cdr;
    r.resumes = info->resumes;
    snprintf(r.client, sizeof r.client, "%.63s", info->client);
    s_state_put(self, key, &r, s_linger(self, info->heartbeat_ms));
}

static void s_state_session_gone(void *ctx, const node_client_session_info_t *info)
{
    ctimd_t *self = ctx;
    char hash[HA_REGISTRY_HASH_HEX], key[HA_STATE_KEY_MAX];
    if (self->cluster && s_session_key(info, hash, key, sizeof key))
        s_state_delete(self, key);
}

//  node_pbx's registry key of a device given as digits ("101" -> "d:101").
static bool s_device_key(const csta_device_t *dev, char *out, size_t cap)
{
    return node_pbx_device_key(dev, out, cap) == 0;
}

static void s_state_line(void *ctx, const node_client_session_info_t *info, const char *line,
                         const char *failure_number, bool open)
{
    ctimd_t *self = ctx;
    char hash[HA_REGISTRY_HASH_HEX], key[HA_STATE_KEY_MAX], device[NODE_PBX_DEVICE_KEY_MAX];
    csta_device_t dev;
    csta_device_set(&dev, line);
    if (!self->cluster || !s_device_key(&dev, device, sizeof device))
        return;
    ha_registry_hash_hex(info->token_sha256, hash);
    if (ha_registry_line_key(hash, self->cfg.pbx[0].name, device, key, sizeof key) != 0)
        return;
    if (!open) {
        s_state_delete(self, key);
        return;
    }
    proto_state_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_LINE;
    snprintf(r.session_hash, sizeof r.session_hash, "%s", hash);
    snprintf(r.pbx, sizeof r.pbx, "%s", self->cfg.pbx[0].name);
    snprintf(r.line, sizeof r.line, "%s", line);
    snprintf(r.device, sizeof r.device, "%s", device);
    snprintf(r.failure_number, sizeof r.failure_number, "%s", failure_number);
    s_state_put(self, key, &r, s_linger(self, info->heartbeat_ms));
}

static void s_adopt_line(void *ctx, const proto_state_record_t *line)
{
    node_client_adopt_t *a = ctx;
    if (a->line_count == NODE_CLIENT_LINES_MAX)
        return;
    snprintf(a->lines[a->line_count].number, sizeof a->lines[0].number, "%s", line->line);
    snprintf(a->lines[a->line_count].failure_number, sizeof a->lines[0].failure_number, "%s",
             line->failure_number);
    a->line_count++;
}

//  Resume anywhere: what the cluster knows of the session whose token hashes to sha256.
static int s_state_adopt(void *ctx, const uint8_t *sha256, node_client_adopt_t *out)
{
    ctimd_t *self = ctx;
    ha_registry_session_t found;
    if (!self->cluster ||
        ha_registry_find_session(ha_cluster_state(self->cluster), sha256, &found) != 0)
        return -ENOENT;
    const proto_state_record_t *r = &found.session;
    snprintf(out->session, sizeof out->session, "%s", r->session);
    snprintf(out->node, sizeof out->node, "%s", found.info.node);
    snprintf(out->user, sizeof out->user, "%s", r->user);
    out->node_lost = found.info.lost;
    out->heartbeat_ms = r->heartbeat_ms;
    out->acked = r->acked;
    out->seq_limit = r->seq_limit;
    out->cdr = r->cdr;
    out->resumes = r->resumes;
    out->line_count = 0;
    ha_registry_session_lines(ha_cluster_state(self->cluster), found.source, found.hash,
                              s_adopt_line, out);
    return 0;
}

//  The CSTA multiplexer's monitors of the first PBX: one key per device while any is on.
static void s_state_csta_monitor(void *ctx, const csta_device_t *dev, bool added)
{
    ctimd_t *self = ctx;
    char device[NODE_PBX_DEVICE_KEY_MAX], key[HA_STATE_KEY_MAX];
    if (!self->cluster || !s_device_key(dev, device, sizeof device) ||
        ha_registry_monitor_key(self->cfg.pbx[0].name, device, key, sizeof key) != 0)
        return;
    uintptr_t n = (uintptr_t) zhashx_lookup(self->csta_monitors, device);
    n = added ? n + 1 : n ? n - 1 : 0;
    if (n == 0) {
        zhashx_delete(self->csta_monitors, device);
        s_state_delete(self, key);
        return;
    }
    zhashx_update(self->csta_monitors, device, (void *) n);
    proto_state_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_MONITOR;
    snprintf(r.pbx, sizeof r.pbx, "%s", self->cfg.pbx[0].name);
    snprintf(r.device, sizeof r.device, "%s", device);
    r.count = (uint32_t) n;
    s_state_put(self, key, &r, (uint32_t) self->cfg.cluster.resume_grace_ms);
}

typedef struct {
    ctimd_t *self;
    size_t i;
} s_sync_t;

static void s_takeover_add(void *ctx, const char *device)
{
    s_sync_t *c = ctx;
    int rc = node_takeover_add(c->self->takeover, c->i, c->self->pbx[c->i], device);
    if (rc)
        node_warning("ha", "pbx=%s device %s not watched for the cluster: %s",
                     c->self->cfg.pbx[c->i].name, device, strerror(-rc));
}

//  PBX i's takeover watches become the devices the cluster's applications have open.
static size_t s_takeover_sync(ctimd_t *self, size_t i)
{
    if (!self->takeover || !self->pbx[i])
        return 0;
    s_sync_t c = {self, i};
    node_takeover_begin(self->takeover, i);
    ha_registry_devices(ha_cluster_state(self->cluster), self->cfg.pbx[i].name, s_takeover_add,
                        &c);
    return node_takeover_end(self->takeover, i, self->pbx[i]);
}

//  --- Call-forward-on-failure across nodes -------------------------------------------------
//  A lost node's session that expires without resuming anywhere leaves its lines unguarded:
//  its node would have handed them to its guard on a heartbeat failure, but that node is
//  gone.  Every node remembers such lines with a failure number in its client API's guard
//  (node_client_guard_lost_line), and the one holding the link guards them (take / drop
//  above), so exactly one node deflects; the holder writes them as g/ keys, which a new
//  holder reads at its take (it may have joined after the expiry).  A line is forgotten
//  once a session anywhere in the cluster has it open again (ha_registry_line_open).  Only
//  the first PBX: the client API serves it alone.

typedef struct {
    char hash[HA_REGISTRY_HASH_HEX];
    char node[64];
    char line[PROTO_NUMBER_MAX + 1];
    char device[NODE_PBX_DEVICE_KEY_MAX];
    char failure_number[PROTO_NUMBER_MAX + 1];
} s_expired_t;

static void s_expired_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  From the state listener: a lost node's line or session expired (acted on after the turn).
static void s_note_expired(ctimd_t *self, const ha_state_change_t *c)
{
    proto_state_record_t r;
    if (c->kind != HA_STATE_EXPIRED || c->own || !self->client_server ||
        proto_cluster_record_decode(&r, c->value, c->len) != 0)
        return;
    if (r.kind == PROTO_RECORD_SESSION && r.has_token) {
        char hash[HA_REGISTRY_HASH_HEX], why[160];
        ha_registry_hash_hex(r.token_sha256, hash);
        snprintf(why, sizeof why, "session=%.60s user=%.60s", r.session, r.user);
        char *copy = strdup(why);
        if (copy)
            zhashx_update(self->expired_sessions, hash, copy);
        return;
    }
    if (r.kind != PROTO_RECORD_LINE || !*r.failure_number ||
        strcmp(r.pbx, self->cfg.pbx[0].name) != 0)
        return;
    s_expired_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    snprintf(e->hash, sizeof e->hash, "%.32s", r.session_hash);
    snprintf(e->node, sizeof e->node, "%s", c->node);
    snprintf(e->line, sizeof e->line, "%s", r.line);
    snprintf(e->device, sizeof e->device, "%s", r.device);
    snprintf(e->failure_number, sizeof e->failure_number, "%s", r.failure_number);
    zlistx_add_end(self->expired_lines, e);
}

static void s_lost_line_check(void *ctx, const char *line, const char *failure_number,
                              bool guarded)
{
    (void) failure_number;
    (void) guarded;
    ctimd_t *self = ctx;
    csta_device_t dev;
    char device[NODE_PBX_DEVICE_KEY_MAX];
    csta_device_set(&dev, line);
    if (s_device_key(&dev, device, sizeof device) &&
        ha_registry_line_open(ha_cluster_state(self->cluster), self->cfg.pbx[0].name, device))
        node_client_guard_forget(node_client_server_guard(self->client_server), line);
}

//  The lines this node guards for lost nodes are its g/ keys too (ha_registry.h), so that
//  the next holder takes them over even if it joined after the session expired.  A key
//  goes when the line is forgotten (open again in the cluster), not when the link goes;
//  of a lost node it lingers cluster.resume_grace_ms: the next holder takes the link well
//  within it.
typedef struct {
    ctimd_t *self;
    zhashx_t *want;                 //  key -> failure number
} s_guard_sync_t;

static void s_guard_want(void *ctx, const char *line, const char *failure_number, bool guarded)
{
    s_guard_sync_t *q = ctx;
    csta_device_t dev;
    char device[NODE_PBX_DEVICE_KEY_MAX], key[HA_STATE_KEY_MAX];
    csta_device_set(&dev, line);
    if (!s_device_key(&dev, device, sizeof device) ||
        ha_registry_guard_key(q->self->cfg.pbx[0].name, device, key, sizeof key) != 0)
        return;
    //  Put while guarding; kept after a drop as long as the line is remembered (a handover
    //  drops here before the next holder takes and reads the keys).
    if (!guarded && !zhashx_lookup(q->self->guard_keys, key))
        return;
    char *copy = strdup(failure_number);
    if (copy)
        zhashx_update(q->want, key, copy);
    proto_state_record_t r;
    const char *had = zhashx_lookup(q->self->guard_keys, key);
    if (had && strcmp(had, failure_number) == 0)
        return;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_LINE;
    snprintf(r.pbx, sizeof r.pbx, "%s", q->self->cfg.pbx[0].name);
    snprintf(r.line, sizeof r.line, "%s", line);
    snprintf(r.device, sizeof r.device, "%s", device);
    snprintf(r.failure_number, sizeof r.failure_number, "%s", failure_number);
    s_state_put(q->self, key, &r, (uint32_t) q->self->cfg.cluster.resume_grace_ms);
}

static void s_guard_keys_sync(ctimd_t *self)
{
    node_client_guard_t *guard = node_client_server_guard(self->client_server);
    s_guard_sync_t q = {self, zhashx_new()};
    if (!guard || !q.want || !self->guard_keys) {
        zhashx_destroy(&q.want);
        return;
    }
    zhashx_set_destructor(q.want, s_expired_free);
    node_client_guard_lost_lines(guard, s_guard_want, &q);
    for (const char *had = zhashx_first(self->guard_keys); had;
         had = zhashx_next(self->guard_keys)) {
        const char *key = zhashx_cursor(self->guard_keys);
        if (!zhashx_lookup(q.want, key))
            s_state_delete(self, key);
    }
    //  What is put now (the table takes the copies).
    zhashx_destroy(&self->guard_keys);
    self->guard_keys = q.want;
}

//  Taking the link: the lines the last holder guarded (its g/ keys, lingering if it was
//  lost) are this node's to guard, unless they are open again.
static void s_guard_adopt(void *ctx, const proto_state_record_t *r)
{
    ctimd_t *self = ctx;
    node_client_guard_t *guard = node_client_server_guard(self->client_server);
    if (ha_registry_line_open(ha_cluster_state(self->cluster), self->cfg.pbx[0].name, r->device))
        return;
    char why[160];
    snprintf(why, sizeof why, "taken over with the link: the last holder guarded it");
    int rc = node_client_guard_lost_line(guard, r->line, r->failure_number, why);
    if (rc)
        node_error("client", "line %s: calls cannot go to failure number %s: %s", r->line,
                   r->failure_number, strerror(-rc));
}

//  This node takes the first PBX's link (holds) or drops it: the lost nodes' lines are its
//  to guard (the last holder's too) or the next holder's.
static void s_lost_lines_hold(ctimd_t *self, bool holds)
{
    node_client_guard_t *guard = node_client_server_guard(self->client_server);
    if (!guard)
        return;
    if (holds)
        ha_registry_guards(ha_cluster_state(self->cluster), self->cfg.pbx[0].name,
                           s_guard_adopt, self);
    node_client_guard_hold(guard, holds);
    s_guard_keys_sync(self);
}

//  After a turn with state changes: the lines that expired with their session (which
//  resumed nowhere, and nobody else has them open) are remembered; remembered lines open
//  again somewhere are forgotten.  Before the takeover sync, so that a guarded device's
//  PBX monitor stays when its takeover watch goes.
static void s_lost_lines_sync(ctimd_t *self)
{
    node_client_guard_t *guard = node_client_server_guard(self->client_server);
    if (!guard)
        return;
    const ha_state_t *st = ha_cluster_state(self->cluster);
    for (s_expired_t *e = zlistx_first(self->expired_lines); e;
         e = zlistx_next(self->expired_lines)) {
        if (ha_registry_session_winner(st, e->hash) >= 0 ||
            ha_registry_line_open(st, self->cfg.pbx[0].name, e->device))
            continue;       //  the session moved, or another session has the line
        const char *who = zhashx_lookup(self->expired_sessions, e->hash);
        char why[160];
        snprintf(why, sizeof why, "node %s lost, %s expired", e->node,
                 who ? who : "its session");
        node_notice("client", "line %s: node %s lost and its application did not resume: "
                    "calls go to %s while no application holds the line (%s)", e->line,
                    e->node, e->failure_number,
                    s_cluster_standby(self, 0) ? "the link's holder deflects them"
                                               : "this node holds the link");
        int rc = node_client_guard_lost_line(guard, e->line, e->failure_number, why);
        if (rc)
            node_error("client", "line %s: calls cannot go to failure number %s: %s", e->line,
                       e->failure_number, strerror(-rc));
    }
    zlistx_purge(self->expired_lines);
    zhashx_purge(self->expired_sessions);
    node_client_guard_lost_lines(guard, s_lost_line_check, self);
    s_guard_keys_sync(self);
}

static bool s_moved(void *ctx, const char *hash)
{
    ctimd_t *self = ctx;
    return ha_registry_session_winner(ha_cluster_state(self->cluster), hash) > 0;
}

static int s_on_state_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ctimd_t *self = arg;
    self->state_timer = 0;      //  one-shot: gone once this returns (node/README: zloop)
    if (!self->cluster)
        return 0;
    if (self->state_moved && self->client_server)
        node_client_server_check_moved(self->client_server, s_moved, self);
    self->state_moved = false;
    s_lost_lines_sync(self);
    ha_cluster_stats_t st;
    ha_cluster_stats(self->cluster, &st);
    for (size_t i = 0; i < st.pbx_count; i++)
        if (st.pbx[i].held)
            s_takeover_sync(self, i);
    return 0;
}

//  ha_cluster's state_changed: note what to do, do it after this turn (the state must not
//  change from inside, and a burst of changes is one sync).
static void s_cluster_state_changed(void *ctx, const ha_state_change_t *c)
{
    ctimd_t *self = ctx;
    bool session = strncmp(c->key, "s/", 2) == 0;
    s_note_expired(self, c);
    if (!c->own && c->kind == HA_STATE_SET && session)
        self->state_moved = true;
    //  Our own sessions' records change with their sequence bound (every 128 events): the
    //  devices do not (a session's lines are keys of their own).
    if (session && c->own && c->kind == HA_STATE_SET)
        return;
    if (self->state_timer <= 0) {
        self->state_timer = zloop_timer(self->loop, 0, 1, s_on_state_timer, self);
        if (self->state_timer < 0)
            self->state_timer = 0;
    }
}

//  This node is in a cluster and does not hold PBX i's link.
static bool s_cluster_standby(const ctimd_t *self, size_t i)
{
    if (!self->cluster)
        return false;
    ha_cluster_stats_t st;
    ha_cluster_stats(self->cluster, &st);
    return i < st.pbx_count && !st.pbx[i].held;
}

static void s_cluster_metrics(ctimd_t *self)
{
    node_metrics_t *m = self->metrics;
    self->ha_peers_alive = node_metrics_gauge(m, "ha_peers_alive",
        "Cluster peers this node hears now.", NULL);
    self->ha_quorum = node_metrics_gauge(m, "ha_quorum",
        "1 while this node sees a majority of the cluster (a pair always does).", NULL);
    self->ha_owner = node_metrics_gauge(m, "ha_pbx_owner",
        "1 for the node that holds the PBX link as this node sees it, else 0.", "pbx,node");
    self->ha_epoch = node_metrics_gauge(m, "ha_epoch",
        "Epoch of the PBX link's owner (or the highest seen while nobody holds it).", "pbx");
    self->ha_takeovers = node_metrics_counter(m, "ha_takeovers",
        "PBX links this node took (at start or from a lost or stopped node).", NULL);
    self->ha_bad_messages = node_metrics_counter(m, "ha_bad_messages",
        "Cluster frames ignored: undecodable, another major, or from an unknown node.", NULL);
    self->ha_state_keys = node_metrics_gauge(m, "ha_state_keys",
        "Keys of the replicated state held (every node's sessions, lines, CSTA monitors).",
        NULL);
    self->ha_state_updates = node_metrics_counter(m, "ha_state_updates",
        "Replicated state changes: this node's sent, other nodes' applied.", "direction");
    self->ha_state_gaps = node_metrics_counter(m, "ha_state_gaps",
        "Missed state updates seen (each asks the source for a snapshot).", NULL);
    self->ha_state_snapshots = node_metrics_counter(m, "ha_state_snapshots",
        "State snapshots requested, sent and applied.", "direction");
    self->ha_state_expired = node_metrics_counter(m, "ha_state_expired",
        "Keys of lost nodes that expired (their sessions did not resume in time).", NULL);
    self->ha_auth_failures = node_metrics_counter(m, "ha_auth_failures",
        "CURVE handshakes on the cluster bus that failed: in (a node connecting here) or out "
        "(this node to a peer), by reason.", "direction,reason");
    self->ha_takeover_devices = node_metrics_gauge(m, "ha_takeover_devices",
        "Devices this node keeps monitored for the cluster's applications (while it holds "
        "the link).", "pbx");
    self->ha_handovers = node_metrics_counter(m, "ha_handovers",
        "Handovers asked of this node (POST /cluster/handover), by how they ended: done, "
        "taken_back, abandoned, timeout, refused.", "pbx,result");
    self->ha_handover_seconds = node_metrics_gauge(m, "ha_handover_duration_seconds",
        "The last handover done by this node: from the drain's start to the PBX reachable "
        "through the new owner.", "pbx");
    //  Every result from the start (0), so that increase() sees the first one.
    static const char *const results[] = {"done", "taken_back", "abandoned", "timeout",
                                          "refused"};
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        for (size_t k = 0; k < sizeof results / sizeof results[0]; k++)
            node_metric_add(self->ha_handovers, (const char *[]){self->cfg.pbx[i].name,
                                                                 results[k]}, 0);
}

static void s_cluster_collect(ctimd_t *self)
{
    if (!self->cluster)
        return;
    ha_cluster_stats_t st;
    ha_cluster_stats(self->cluster, &st);
    node_metric_set(self->ha_peers_alive, NULL, (double) st.peers_alive);
    node_metric_set(self->ha_quorum, NULL, st.quorum ? 1 : 0);
    node_metric_set(self->ha_takeovers, NULL, (double) st.takeovers);
    node_metric_set(self->ha_bad_messages, NULL, (double) st.bad_messages);
    if (self->forward)
        node_forward_collect(self->forward, self->metrics);
    node_metric_set(self->ha_state_keys, NULL, (double) st.state_entries);
    node_metric_set(self->ha_state_updates, (const char *[]){"sent"},
                    (double) st.state.updates_sent);
    node_metric_set(self->ha_state_updates, (const char *[]){"applied"},
                    (double) st.state.updates_applied);
    node_metric_set(self->ha_state_gaps, NULL, (double) st.state.gaps);
    node_metric_set(self->ha_state_snapshots, (const char *[]){"requested"},
                    (double) st.state.snapshots_requested);
    node_metric_set(self->ha_state_snapshots, (const char *[]){"sent"},
                    (double) st.state.snapshots_sent);
    node_metric_set(self->ha_state_snapshots, (const char *[]){"applied"},
                    (double) st.state.snapshots_applied);
    node_metric_set(self->ha_state_expired, NULL, (double) st.state.expired);
    for (int r = 0; st.curve && r < HA_CURVE_REASONS; r++) {
        const char *why = ha_curve_reason_str((ha_curve_reason_t) r);
        node_metric_set(self->ha_auth_failures, (const char *[]){"in", why},
                        (double) st.auth_failures_in[r]);
        node_metric_set(self->ha_auth_failures, (const char *[]){"out", why},
                        (double) st.auth_failures_out[r]);
    }
    for (size_t i = 0; i < st.pbx_count; i++) {
        const char *pbx = self->cfg.pbx[i].name;
        node_metric_set(self->ha_epoch, (const char *[]){pbx}, (double) st.pbx[i].epoch);
        node_metric_set(self->ha_takeover_devices, (const char *[]){pbx},
                        (double) node_takeover_count(self->takeover, i));
        const char *node;
        for (size_t k = 0; (node = ha_cluster_node_id(self->cluster, k)); k++)
            node_metric_set(self->ha_owner, (const char *[]){pbx, node},
                            strcmp(node, st.pbx[i].owner) == 0 ? 1 : 0);
    }
}

//  An application turned to this node (a front end's hook): ha_cluster counts the vote.
static void s_cluster_app_arrived(void *ctx)
{
    ctimd_t *self = ctx;
    ha_cluster_app_arrived(self->cluster);
}

//  CURVE on the bus (cluster.curve_cert, cluster.curve_peers): this node's certificate and
//  each peer's public key into hc.  0, or -1 after logging why (the files changed since the
//  config was checked).
static int s_cluster_curve(const node_cluster_cfg_t *cl, ha_cluster_cfg_t *hc)
{
    if (!*cl->curve_cert)
        return 0;
    int rc = ha_curve_cert_load(cl->curve_cert, &hc->curve);
    if (rc)
        node_error("main", "cluster.curve_cert %s: %s", cl->curve_cert, strerror(-rc));
    for (size_t i = 0; rc == 0 && i < cl->peer_count; i++) {
        char file[2 * NODE_PATH_MAX];
        snprintf(file, sizeof file, "%s/%s.cert", cl->curve_peers, cl->peers[i].id);
        rc = ha_curve_public_load(file, hc->peers[i].curve_key);
        if (rc)
            node_error("main", "cluster.curve_peers: %s: %s", file, strerror(-rc));
    }
    return rc ? -1 : 0;
}

//  Join the cluster (cluster.peers listed).  Returns 0, or -1 after logging why.
static int s_cluster_start(ctimd_t *self)
{
    const node_cluster_cfg_t *cl = &self->cfg.cluster;
    if (cl->peer_count == 0)
        return 0;
    _Static_assert(NODE_PEERS_MAX <= HA_PEERS_MAX, "cluster.peers fit ha");
    _Static_assert(NODE_PBX_MAX <= HA_PBX_MAX, "pbx fit ha");
    ha_cluster_cfg_t hc;
    memset(&hc, 0, sizeof hc);
    snprintf(hc.node_id, sizeof hc.node_id, "%s", self->cfg.node_id);
    snprintf(hc.listen, sizeof hc.listen, "%s", cl->listen);
    hc.port = cl->port;
    hc.peer_count = cl->peer_count;
    for (size_t i = 0; i < cl->peer_count; i++) {
        snprintf(hc.peers[i].id, sizeof hc.peers[i].id, "%s", cl->peers[i].id);
        snprintf(hc.peers[i].endpoint, sizeof hc.peers[i].endpoint, "%s", cl->peers[i].endpoint);
    }
    if (s_cluster_curve(cl, &hc) != 0)
        return -1;
    hc.heartbeat_ms = cl->heartbeat_ms;
    hc.lost_after = cl->lost_after;
    snprintf(hc.state_dir, sizeof hc.state_dir, "%s", cl->state_dir);
    hc.pbx_count = self->cfg.pbx_count;
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        snprintf(hc.pbx[i], sizeof hc.pbx[i], "%s", self->cfg.pbx[i].name);
        hc.priority[i] = self->cfg.pbx[i].priority;
        hc.several_links[i] = self->cfg.pbx[i].links == NODE_PBX_LINKS_SEVERAL;
    }
    s_cluster_metrics(self);
    ha_cluster_listener_t l = {self,          s_cluster_take, s_cluster_drop,
                               s_cluster_retry, s_cluster_log, s_cluster_state_changed,
                               s_cluster_handed_over};
    self->takeover = node_takeover_new();
    self->csta_monitors = zhashx_new();
    self->expired_lines = zlistx_new();
    self->expired_sessions = zhashx_new();
    self->guard_keys = zhashx_new();
    if (self->expired_lines)
        zlistx_set_destructor(self->expired_lines, s_expired_free);
    if (self->expired_sessions)
        zhashx_set_destructor(self->expired_sessions, s_expired_free);
    if (self->guard_keys)
        zhashx_set_destructor(self->guard_keys, s_expired_free);
    bool made = self->takeover && self->csta_monitors && self->expired_lines &&
                self->expired_sessions && self->guard_keys;
    self->cluster = made ? ha_cluster_new(self->loop, &hc, &l) : NULL;
    //  Forwarding first: it serves the PBXs while this node holds no link (from now on).
    if (self->cluster)
        self->forward = node_forward_new(self->loop, &self->cfg, self->cluster, self->pbx);
    int rc = !self->cluster || !self->forward ? -EINVAL : node_forward_start(self->forward);
    if (rc == 0)
        rc = ha_cluster_start(self->cluster);
    if (rc != 0) {
        node_error("main", "cannot start the cluster: %s", strerror(-rc));
        return -1;
    }
    node_forward_collect(self->forward, self->metrics);
    //  The front ends' sessions, lines and monitors become this node's keys.
    if (self->client_server) {
        node_client_cluster_t hooks = {self, s_state_session, s_state_session_gone, s_state_line,
                                       s_state_adopt};
        node_client_server_cluster(self->client_server, &hooks);
    }
    if (self->csta_server)
        node_csta_server_monitors(self->csta_server, s_state_csta_monitor, self);
    //  Applications turning to this node are the Binary Star vote (pbx[].links several).
    if (self->client_server)
        node_client_server_arrivals(self->client_server, s_cluster_app_arrived, self);
    if (self->csta_server)
        node_csta_server_arrivals(self->csta_server, s_cluster_app_arrived, self);
    return 0;
}

//  Leave the cluster: held links are stopped and released to the standbys; then requests
//  still forwarded get their error while the front ends are there to pass it on.  This
//  node's keys are not deleted: its peers keep them for their linger, so that its
//  applications resume on another node.
static void s_cluster_stop(ctimd_t *self)
{
    if (self->client_server)
        node_client_server_cluster(self->client_server, NULL);
    if (self->csta_server)
        node_csta_server_monitors(self->csta_server, NULL, NULL);
    if (self->client_server)
        node_client_server_arrivals(self->client_server, NULL, NULL);
    if (self->csta_server)
        node_csta_server_arrivals(self->csta_server, NULL, NULL);
    if (self->state_timer > 0)
        zloop_timer_end(self->loop, self->state_timer);
    self->state_timer = 0;
    //  The g/ keys stay (as every key of ours): the next holder takes the guard over.
    zhashx_destroy(&self->guard_keys);
    ha_cluster_destroy(&self->cluster);
    node_forward_destroy(&self->forward);
    node_takeover_destroy(&self->takeover, self->pbx, self->cfg.pbx_count);
    zhashx_destroy(&self->csta_monitors);
    zlistx_destroy(&self->expired_lines);
    zhashx_destroy(&self->expired_sessions);
}

//  --- HTTP callbacks -------------------------------------------------------------------------

//  Ready when every configured PBX link is up.
static bool s_ready(void *ctx, char *why, size_t cap)
{
    ctimd_t *self = ctx;
    size_t used = 0;
    *why = '\0';
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        if (!s_pbx_is_up(self, i) && used < cap)
            used += (size_t) snprintf(why + used, cap - used, "%spbx %s: %s", used ? "; " : "",
                                      self->cfg.pbx[i].name, s_pbx_state(self, i));
    return used == 0;
}

static char *s_status(void *ctx)
{
    ctimd_t *self = ctx;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    char why[512];
    bool ready = s_ready(self, why, sizeof why);
    fprintf(out, "{\"node\":");
    node_http_json_str(out, self->cfg.node_id);
    fprintf(out,
            ",\"version\":\"%s\",\"uptime_s\":%ld,\"ready\":%s,\"log_level\":\"%s\","
            "\"config\":",
            CTIM_VERSION, (long) (time(NULL) - self->started), ready ? "true" : "false",
            node_log_level_str(node_log_level()));
    node_http_json_str(out, self->cfg.path);
    fprintf(out, ",\"pbx\":[");
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        const node_pbx_cfg_t *p = &self->cfg.pbx[i];
        fprintf(out, "%s{\"name\":", i ? "," : "");
        node_http_json_str(out, p->name);
        fprintf(out, ",\"host\":");
        node_http_json_str(out, p->host);
        fprintf(out, ",\"port\":%d,\"flavour\":\"%s\",\"state\":", p->port, p->flavour);
        node_http_json_str(out, s_pbx_state(self, i));
        //  Who serves it: this node's own link, or the owner's through the cluster bus.
        bool remote = self->pbx[i] && node_pbx_is_remote(self->pbx[i]);
        fprintf(out, ",\"via\":\"%s\",\"owner\":", remote ? "forwarded" : "local");
        node_http_json_str(out, remote ? node_pbx_remote_owner(self->pbx[i]) : self->cfg.node_id);
        const s_handover_t *h = &self->handover[i];
        if (h->stage != S_HO_NONE) {
            fprintf(out, ",\"handover\":{\"to\":");
            node_http_json_str(out, h->to);
            fprintf(out, ",\"stage\":\"%s\"}", h->stage == S_HO_DRAINING ? "draining"
                                                 : h->stage == S_HO_HANDED  ? "handed"
                                                 : h->stage == S_HO_TAKING  ? "taking"
                                                                            : "passing");
        }
        fprintf(out, "}");
    }
    fprintf(out, "],\"csta_server\":{\"running\":%s,\"tcp_port\":%d,\"tls_port\":%d",
            self->csta_server ? "true" : "false", self->cfg.csta_server.tcp_port,
            self->cfg.csta_server.tls_port);
    char *apps = self->csta_server ? node_csta_server_status_json(self->csta_server) : NULL;
    fprintf(out, ",\"apps\":%s}", apps ? apps : "[]");
    free(apps);
    char *clients = self->client_server ? node_client_server_status_json(self->client_server)
                                        : NULL;
    fprintf(out, ",\"clients\":%s", clients ? clients : "null");
    free(clients);
    char *cluster = self->cluster ? ha_cluster_status_json(self->cluster) : NULL;
    fprintf(out, ",\"cluster\":%s", cluster ? cluster : "null");
    free(cluster);
    char *forward = self->forward ? node_forward_status_json(self->forward) : NULL;
    fprintf(out, ",\"forward\":%s", forward ? forward : "null");
    free(forward);
    fprintf(out, ",\"users\":%zu,\"lines\":%zu}\n", node_users_count(self->users),
            node_lines_count(self->lines));
    fclose(out);
    return text;
}

//  --- Reload ---------------------------------------------------------------------------------

static void s_on_change(void *arg, const char *key, const char *old_value, const char *new_value,
                        bool reloadable)
{
    (void) arg;
    if (reloadable)
        node_notice("config", "%s: %s -> %s (applied)", key, old_value, new_value);
    else
        node_warning("config", "%s: %s -> %s (needs a restart; still %s)", key, old_value,
                     new_value, old_value);
}

//  Log every line of a multi-line error text.
static void s_log_errors(const char *what, const char *errors)
{
    char *copy = strdup(errors);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        node_error("config", "%s: %s", what, line);
    free(copy);
}

//  The reloadable objects of a config; 0, or -EINVAL with the reason in err.
static int s_build(const node_cfg_t *cfg, node_users_t **users, node_numfmt_t **numfmt,
                   node_lines_t **lines, char *err, size_t cap)
{
    *users = node_users_new(cfg->users, cfg->user_count);
    *numfmt = node_numfmt_new(&cfg->numbers, err, cap);
    *lines = node_lines_new();
    int rc = *users && *numfmt && *lines ? node_lines_load_cfg(*lines, cfg, err, cap) : -ENOMEM;
    if (rc == 0)
        node_users_set_backoff(*users, cfg->csta_server.login_fail_delay_ms, 60000);
    else {
        node_users_destroy(users);
        node_numfmt_destroy(numfmt);
        node_lines_destroy(lines);
    }
    return rc;
}

static void s_set_gauges(ctimd_t *self)
{
    node_metric_set(self->lines_gauge, NULL, (double) node_lines_count(self->lines));
    node_metric_set(self->users_gauge, NULL, (double) node_users_count(self->users));
}

static void s_reload(ctimd_t *self)
{
    node_notice("config", "SIGHUP: reloading %s", self->cfg.path);
    node_cfg_t fresh;
    char *err = malloc(S_ERR_MAX);
    node_users_t *users = NULL;
    node_numfmt_t *numfmt = NULL;
    node_lines_t *lines = NULL;
    if (node_config_load(&fresh, self->cfg.path, err, S_ERR_MAX) != 0 ||
        s_build(&fresh, &users, &numfmt, &lines, err, S_ERR_MAX) != 0) {
        s_log_errors("reload refused, the running config stays", err);
        node_config_free(&fresh);
        node_metric_add(self->reloads, (const char *[]){"error"}, 1);
        free(err);
        return;
    }
    free(err);
    node_config_diff(&self->cfg, &fresh, s_on_change, NULL);
    node_config_apply_reloadable(&self->cfg, &fresh);
    node_config_free(&fresh);
    node_log_set_level(self->cfg.log_level);
    node_users_t *old_users = self->users;
    node_numfmt_t *old_numfmt = self->numfmt;
    node_lines_t *old_lines = self->lines;
    self->users = users;
    self->numfmt = numfmt;
    self->lines = lines;
    s_csta_server_reload(self);
    node_users_destroy(&old_users);
    node_numfmt_destroy(&old_numfmt);
    node_lines_destroy(&old_lines);
    //  The fresh lines hold the config's names only: learn the PBX's again.
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        if (self->pbx_lines[i] && self->cfg.lines_from_pbx && s_pbx_is_up(self, i))
            node_pbx_lines_query(self->pbx_lines[i]);
    s_set_gauges(self);
    node_metric_add(self->reloads, (const char *[]){"ok"}, 1);
    node_notice("config", "reloaded: %zu users, %zu lines", node_users_count(self->users),
                node_lines_count(self->lines));
}

//  Signals arrive as loop events (signalfd), so handlers run on the loop like the rest.
static int s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    ctimd_t *self = arg;
    struct signalfd_siginfo si;
    while (read(item->fd, &si, sizeof si) == (ssize_t) sizeof si) {
        if (si.ssi_signo == SIGHUP)
            s_reload(self);
        else {
            node_notice("main", "%s: stopping", strsignal((int) si.ssi_signo));
            return -1;      //  ends zloop_start
        }
    }
    return 0;
}

//  --- Commands -------------------------------------------------------------------------------

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ctimd --config FILE              run the node\n"
            "       ctimd --check-config FILE        validate FILE, print the resolved config\n"
            "       ctimd --hash-password            read a password on stdin, print its hash\n"
            "       ctimd --make-cert PATH           write a CURVE certificate: PATH (public) "
            "and PATH_secret\n"
            "       ctimd --format-number incoming|outgoing|dialling NUMBER --config FILE\n"
            "       ctimd --config-keys              list every config key\n"
            "       ctimd --version\n"
            "signals: SIGTERM/SIGINT stop, SIGHUP reloads users, numbers, lines and the log "
            "level\n");
}

//  --make-cert PATH: czmq's zmakecert is not packaged in Debian; the public file goes to the
//  other nodes' cluster.curve_peers folder (as NODE_ID.cert), PATH_secret stays here.
static int s_make_cert(const char *path)
{
    int rc = ha_curve_make_cert(path);
    if (rc) {
        fprintf(stderr, "ctimd: cannot write %s and %s_secret: %s\n", path, path, strerror(-rc));
        return 1;
    }
    ha_curve_cert_t cert;
    rc = ha_curve_cert_load(path, &cert);
    printf("wrote %s (public key %s) and %s_secret\n", path, rc ? "?" : cert.public_txt, path);
    return rc ? 1 : 0;
}

//  Load path or print its errors; 0 or 1 (the exit status).
static int s_load(node_cfg_t *cfg, const char *path)
{
    char *err = malloc(S_ERR_MAX);
    int rc = node_config_load(cfg, path, err, S_ERR_MAX);
    if (rc != 0)
        fprintf(stderr, "%s", err);
    free(err);
    return rc == 0 ? 0 : 1;
}

static int s_check_config(const char *path)
{
    node_cfg_t cfg;
    if (s_load(&cfg, path) != 0) {
        fprintf(stderr, "ctimd: %s is not valid\n", path);
        return 1;
    }
    char err[4096];
    node_users_t *users;
    node_numfmt_t *numfmt;
    node_lines_t *lines;
    if (s_build(&cfg, &users, &numfmt, &lines, err, sizeof err) != 0) {
        fprintf(stderr, "%sctimd: %s is not valid\n", err, path);
        node_config_free(&cfg);
        return 1;
    }
    node_config_print(&cfg, stdout);
    fprintf(stderr, "ctimd: %s is valid (%zu PBX, %zu users, %zu lines)\n", path, cfg.pbx_count,
            node_users_count(users), node_lines_count(lines));
    node_users_destroy(&users);
    node_numfmt_destroy(&numfmt);
    node_lines_destroy(&lines);
    node_config_free(&cfg);
    return 0;
}

static int s_hash_password(void)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "password: ");
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char buf[1024];
    bool got = fgets(buf, sizeof buf, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    buf[got ? strcspn(buf, "\r\n") : 0] = '\0';
    if (!*buf) {
        fprintf(stderr, "ctimd: no password on stdin\n");
        return 1;
    }
    char *hash = node_users_hash_password(buf);
    memset(buf, 0, sizeof buf);
    if (!hash) {
        fprintf(stderr, "ctimd: hashing failed\n");
        return 1;
    }
    printf("%s\n", hash);
    free(hash);
    return 0;
}

static int s_format_number(const char *config, const char *dir_name, const char *number)
{
    node_numfmt_dir_t dir;
    if (node_numfmt_dir_parse(dir_name, &dir) != 0) {
        fprintf(stderr, "ctimd: --format-number wants incoming, outgoing or dialling\n");
        return 2;
    }
    node_cfg_t cfg;
    if (s_load(&cfg, config) != 0)
        return 1;
    char err[512], out[CSTA_DIGITS_MAX + 1];
    node_numfmt_t *f = node_numfmt_new(&cfg.numbers, err, sizeof err);
    int rc = f ? node_numfmt_format(f, dir, number, out, sizeof out) : -EINVAL;
    if (rc == 0)
        printf("%s\n", out);
    else
        fprintf(stderr, "ctimd: %s\n", f ? strerror(-rc) : err);
    node_numfmt_destroy(&f);
    node_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}

//  --- Run ------------------------------------------------------------------------------------

static void s_teardown(ctimd_t *self)
{
    node_systemd_stopping();
    s_cluster_stop(self);       //  first: held links are released while the services exist
    s_csta_server_stop(self);
    s_client_server_stop(self);
    node_verifier_destroy(&self->verifier);     //  after the front ends: they cancel first
    s_pbx_stop(self);
    node_http_destroy(&self->http);
    if (self->loop && self->signal_fd >= 0)
        zloop_poller_end(self->loop, &self->signal_item);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    zloop_destroy(&self->loop);
    node_users_destroy(&self->users);
    node_numfmt_destroy(&self->numfmt);
    node_lines_destroy(&self->lines);
    node_metrics_destroy(&self->metrics);
    node_config_free(&self->cfg);
}

static int s_run(const char *path)
{
    ctimd_t self_s, *self = &self_s;
    memset(self, 0, sizeof *self);
    self->signal_fd = -1;
    self->started = time(NULL);
    if (s_load(&self->cfg, path) != 0)
        return 1;
    node_log_init(self->cfg.node_id, self->cfg.log_level);
    node_notice("main", "ctimd %s starting: config=%s pbx=%zu", CTIM_VERSION, path,
                self->cfg.pbx_count);

    //  Block the signals before any thread exists, so only the signalfd sees them; czmq
    //  must not install its own SIGINT/SIGTERM handler.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL);
    self->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    self->loop = zloop_new();
    int rc = 1;
    char err[4096];
    if (self->signal_fd < 0 || !self->loop) {
        node_error("main", "cannot set up the event loop: %s", strerror(errno));
        goto done;
    }
    self->signal_item = (zmq_pollitem_t){NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &self->signal_item, s_on_signal, self);

    self->metrics = node_metrics_new();
    node_metric_t *info = node_metrics_gauge(self->metrics, "build_info",
                                             "ctimd's version (always 1).", "version,node");
    node_metric_set(info, (const char *[]){CTIM_VERSION, self->cfg.node_id}, 1);
    node_metric_set(node_metrics_gauge(self->metrics, "start_time_seconds",
                                       "When ctimd started (Unix time).", NULL),
                    NULL, (double) self->started);
    self->reloads = node_metrics_counter(self->metrics, "config_reloads",
                                         "SIGHUP reloads, by result (ok, error).", "result");
    node_metric_add(self->reloads, (const char *[]){"ok"}, 0);
    node_metric_add(self->reloads, (const char *[]){"error"}, 0);
    self->pbx_up = node_metrics_gauge(self->metrics, "pbx_link_up",
                                      "1 while the CSTA link to the PBX is up.", "pbx");
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        node_metric_set(self->pbx_up, (const char *[]){self->cfg.pbx[i].name}, 0);
    self->pbx_reconnects = node_metrics_counter(self->metrics, "pbx_reconnects",
        "Times the CSTA link came back after it was first up.", "pbx");
    self->pbx_requests = node_metrics_counter(self->metrics, "pbx_requests",
        "Requests sent to the PBX (the node's own included).", "pbx");
    self->pbx_timeouts = node_metrics_counter(self->metrics, "pbx_request_timeouts",
        "Requests to the PBX that passed their deadline.", "pbx");
    self->pbx_events_in = node_metrics_counter(self->metrics, "pbx_events",
        "CSTAEventReports received from the PBX.", "pbx");
    self->pbx_monitors = node_metrics_gauge(self->metrics, "pbx_monitors",
        "Devices monitored at the PBX now (one per device, shared by applications).", "pbx");
    self->pbx_watches = node_metrics_gauge(self->metrics, "pbx_watches",
        "Application-side monitors on the PBX's devices now.", "pbx");
    self->pbx_monitor_failures = node_metrics_counter(self->metrics, "pbx_monitor_failures",
        "MonitorStarts the PBX refused or that timed out.", "pbx");
    self->pbx_calls = node_metrics_gauge(self->metrics, "pbx_calls",
        "Calls known at monitored devices now.", "pbx");
    self->lines_gauge = node_metrics_gauge(self->metrics, "lines", "Lines known by name.", NULL);
    self->users_gauge = node_metrics_gauge(self->metrics, "users", "Application users.", NULL);

    if (s_build(&self->cfg, &self->users, &self->numfmt, &self->lines, err, sizeof err) != 0) {
        s_log_errors("cannot start", err);
        goto done;
    }
    s_set_gauges(self);

    char http_where[NODE_NAME_MAX + 16] = "off";
    if (self->cfg.http.port != 0) {
        node_http_handlers_t handlers = {self, s_ready, s_status, s_collect_metrics, s_lines_text,
                                         s_handover};
        self->http = node_http_new(self->loop, &self->cfg.http, self->metrics, &handlers);
        int hrc = self->http ? node_http_start(self->http) : -ENOMEM;
        if (hrc != 0) {
            node_error("http", "cannot listen on %s:%d: %s", self->cfg.http.listen,
                       self->cfg.http.port, strerror(-hrc));
            goto done;
        }
        snprintf(http_where, sizeof http_where, "%.63s:%d", self->cfg.http.listen,
                 node_http_port(self->http));
    }
    int prc = s_pbx_start(self);
    //  One worker thread for the front ends' password checks (node_verifier.h).
    self->verifier = prc == 0 ? node_verifier_new(self->loop, 0) : NULL;
    if (prc == 0 && !self->verifier)
        prc = -ENOMEM;
    int crc = prc == 0 ? s_csta_server_start(self) : 0;
    int lrc = prc == 0 && crc == 0 ? s_client_server_start(self) : 0;
    if (prc != 0 || crc != 0 || lrc != 0) {
        node_error("main", "cannot start the %s: %s",
                   prc ? "PBX service" : crc ? "CSTA server" : "client API",
                   strerror(-(prc ? prc : crc ? crc : lrc)));
        goto done;
    }
    if (s_cluster_start(self) != 0)
        goto done;      //  logged
    node_notice("main", "ready: http=%s", http_where);
    printf("ctimd ready node=%s http=%s\n", self->cfg.node_id, http_where);
    fflush(stdout);
    if (node_systemd_ready(self->loop, "ready: http=%s, %zu PBX", http_where,
                           self->cfg.pbx_count) != 0)
        goto done;
    zloop_start(self->loop);
    rc = 0;
done:
    s_teardown(self);
    node_notice("main", "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},  {"check-config", required_argument, 0, 'k'},
        {"hash-password", no_argument, 0, 'p'}, {"format-number", required_argument, 0, 'f'},
        {"config-keys", no_argument, 0, 'K'},   {"version", no_argument, 0, 'V'},
        {"make-cert", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *config = NULL, *check = NULL, *format = NULL, *cert = NULL;
    bool hash = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'k': check = optarg; break;
        case 'p': hash = true; break;
        case 'f': format = optarg; break;
        case 'm': cert = optarg; break;
        case 'K': node_config_describe(stdout); return 0;
        case 'V': printf("ctimd %s\n", CTIM_VERSION); return 0;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (check && optind == argc)
        return s_check_config(check);
    if (hash && optind == argc)
        return s_hash_password();
    if (cert && !config && !check && optind == argc)
        return s_make_cert(cert);
    if (format && config && optind == argc - 1)
        return s_format_number(config, format, argv[optind]);
    if (config && !format && !hash && optind == argc)
        return s_run(config);
    s_usage(stderr);
    return 2;
}
