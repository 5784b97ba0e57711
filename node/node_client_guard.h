//  node_client_guard: call-forward-on-failure for the client API (issue 5, DESIGN.md
//  invariant 3).  An application opens a line with a failure number (client.proto
//  OpenLine.failure_number); when the application is declared failed and no other session
//  holds the line, node_client_server hands the line to the guard, which
//    - deflects every call ringing at the line now (a SnapshotDevice of the line: calls
//      whose local connection is alerting; ECMA-269 DeflectCall, opcode 218 in csta-facts.md),
//    - and every call that starts ringing there later (Delivered with the line alerting),
//  to the failure number, until an application opens the line again (release).  The guard
//  owns one node_pbx watch per guarded line, so the PBX monitor stays while it guards;
//  node_pbx re-monitors it after the link comes back, and the guard snapshots the line
//  again then (calls that began ringing while the link was down).  Each redirect is logged
//  (info) and counted (ctim_client_redirects_total{result}).  A call the guard already
//  deflected from a line is not deflected from that line again (two guarded lines that
//  point at each other would pass a call back and forth forever).
//
//      node_client_guard_t *g = node_client_guard_new(metrics);
//      node_client_guard_attach(g, pbx, request_timeout_ms);
//      node_client_guard_protect(g, "101", "105", "session=ctim-3");   //  app failed
//      ... node_pbx events of watches node_client_guard_owns: node_client_guard_event
//      ... link state changes: node_client_guard_state
//      node_client_guard_release(g, "101");                            //  line opened again
//      node_client_guard_destroy(&g);          //  before node_pbx_destroy
//  Everything runs on the node's one zloop.
#ifndef NODE_CLIENT_GUARD_H
#define NODE_CLIENT_GUARD_H

#include <stdbool.h>
#include <stdio.h>

#include "node_metrics.h"
#include "node_pbx.h"

typedef struct node_client_guard node_client_guard_t;

//  A guard with no lines.  metrics is borrowed and may be NULL.  NULL when out of memory.
node_client_guard_t *node_client_guard_new(node_metrics_t *metrics);
//  Release every watch; requests still at the PBX are answered into nothing.  Safe on
//  NULL and twice; sets *self_p to NULL.
void node_client_guard_destroy(node_client_guard_t **self_p);
//  The PBX service (borrowed) and each request's deadline (<= 0: the PBX's own).
void node_client_guard_attach(node_client_guard_t *self, node_pbx_t *pbx, int request_timeout_ms);

//  Guard line (a device number): calls ringing there go to failure_number (both copied)
//  until release.  why is copied into the log lines (e.g. "session=ctim-3").  A line
//  guarded already takes the new number.  Returns 0, -EINVAL (empty or too long a number,
//  not a line node_pbx can watch), -ENOTCONN (not attached), -ENOMEM.
int node_client_guard_protect(node_client_guard_t *self, const char *line,
                              const char *failure_number, const char *why);
//  Stop guarding line (an application holds it again): its watch goes (and the PBX
//  monitor with it, if nobody else watches the device).  Returns true if it was guarded.
bool node_client_guard_release(node_client_guard_t *self, const char *line);
bool node_client_guard_guards(const node_client_guard_t *self, const char *line);
size_t node_client_guard_count(const node_client_guard_t *self);

//  Whether watch is one of the guard's: its events go to node_client_guard_event.
bool node_client_guard_owns(const node_client_guard_t *self, const node_pbx_watch_t *watch);
//  An event of one of the guard's watches (node_pbx_listener_t.on_event's bytes).
void node_client_guard_event(node_client_guard_t *self, node_pbx_watch_t *watch,
                             const uint8_t *apdu, size_t len);
//  The PBX link went down or came back (node_pbx_listener_t.on_state).
void node_client_guard_state(node_client_guard_t *self, node_pbx_state_t state);

//  The guarded lines as a JSON array for /status: line, failure number, why, guarded
//  for how long (ms), monitored, redirects made.
void node_client_guard_status_json(const node_client_guard_t *self, FILE *out);

#endif
