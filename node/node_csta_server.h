//  node_csta_server: the CSTA multiplexer front end of ctimd.  Existing CSTA applications
//  (CRM connectors, CDR and hotel systems, TAPI drivers) connect to it exactly as they
//  would to a Panasonic PBX — CSTA Phase III BER with a 2-byte length on TCP
//  (csta_server.tcp_port, default 33333) or on TLS 1.2+ with an ACSE login (tls_port,
//  default 33334) — and share the node's one PBX link as if each had the PBX to itself
//  (csta-facts.md 1.2, 5).  One node_csta_session per application does the protocol work;
//  this class owns the listeners, the TLS context, the application limit, the fan-out of
//  what the PBX service reports, the metrics and the /status view.
//
//  Wiring (node_main.c):
//      node_csta_server_t *srv = node_csta_server_new(loop, &cfg->csta_server, users, metrics);
//      node_pbx_listener_t listener;
//      node_csta_server_listener(srv, &listener);
//      node_pbx_t *pbx = node_pbx_new(loop, &cfg->pbx[0], &listener);
//      node_csta_server_attach(srv, pbx, cfg->pbx[0].request_timeout_ms);
//      if (node_csta_server_start(srv)) ... (the reason is logged)
//  and at the end, node_csta_server_destroy BEFORE node_pbx_destroy (sessions release
//  their watches and the CDR claim).  Everything runs on the node's one zloop.
#ifndef NODE_CSTA_SERVER_H
#define NODE_CSTA_SERVER_H

#include <czmq.h>

#include "node_config.h"
#include "node_metrics.h"
#include "node_pbx.h"
#include "node_users.h"
#include "node_verifier.h"

typedef struct node_csta_server node_csta_server_t;

//  A server for cfg (borrowed: it must outlive the server; only its users may change at
//  run time, see node_csta_server_set_users).  users is borrowed; metrics is borrowed and
//  may be NULL (no metrics).  Returns NULL if the TLS port is configured and the
//  certificate or key cannot be loaded (logged), or out of memory.
node_csta_server_t *node_csta_server_new(zloop_t *loop, const node_csta_server_cfg_t *cfg,
                                         node_users_t *users, node_metrics_t *metrics);
//  Close every application (their watches and CDR claim are released) and the listeners.
//  Safe on NULL and twice; sets *self_p to NULL.
void node_csta_server_destroy(node_csta_server_t **self_p);

//  Fill *listener with the callbacks through which the PBX service reaches this server
//  (ctx is the server).
void node_csta_server_listener(node_csta_server_t *self, node_pbx_listener_t *listener);
//  The PBX service that applications use (borrowed), and the deadline of each request
//  forwarded to it (<= 0: the PBX's request_timeout_ms).
void node_csta_server_attach(node_csta_server_t *self, node_pbx_t *pbx, int request_timeout_ms);

//  Open the listeners (TCP and/or TLS, per cfg; port 0 in cfg means off).  Returns 0, or
//  a negative errno after logging why (-EADDRINUSE ...).  node_csta_server_attach first.
int node_csta_server_start(node_csta_server_t *self);
//  For tests that listen on port 0: open a listener on an OS-chosen port instead of cfg's.
//  tls selects which; call before node_csta_server_start.
void node_csta_server_pick_ports(node_csta_server_t *self, bool tcp, bool tls);
//  The port a listener is bound to (after start), or 0 if it is off.
int node_csta_server_port(const node_csta_server_t *self, bool tls);

//  Users after a configuration reload (borrowed).  Sessions keep their login: each one's
//  user is looked up again by name, and an application whose user is gone is disconnected.
void node_csta_server_set_users(node_csta_server_t *self, node_users_t *users);
//  The password checks' worker (borrowed, may be NULL: checks on the loop), for logins
//  from now on; it must outlive the server.
void node_csta_server_set_verifier(node_csta_server_t *self, node_verifier_t *verifier);

//  Applications connected (in any state).
size_t node_csta_server_app_count(const node_csta_server_t *self);

//  Tell fn each time an application's monitor of a device becomes active (added) or an
//  active one goes: node_main keeps the cluster's device registry with it (ha/).  fn NULL:
//  nobody.  Monitors active already are not replayed.
typedef void(node_csta_monitor_fn)(void *ctx, const csta_device_t *device, bool added);
void node_csta_server_monitors(node_csta_server_t *self, node_csta_monitor_fn *fn, void *ctx);

//  Tell fn(ctx) each time an application's association is accepted (after its login):
//  the cluster's Binary Star vote (ha_owner.h).  fn NULL: nobody.
void node_csta_server_arrivals(node_csta_server_t *self, void (*fn)(void *ctx), void *ctx);

//  The applications for /status, as a JSON array (a new string; the caller frees it):
//  [{"id":7,"address":"127.0.0.1:40122","transport":"tls","user":"crm","state":"associated",
//    "connected_at":"2026-11-22T03:14:00Z","messages_in":12,"messages_out":40,
//    "bytes_in":..,"bytes_out":..,"queue_bytes":0,"requests_pending":0,"cdr_owner":false,
//    "monitors":[{"xref":"0001","device":"101","state":"active"}]}, ...]
//  Returns NULL only when out of memory.
char *node_csta_server_status_json(const node_csta_server_t *self);

#endif
