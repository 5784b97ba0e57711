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
//  In a cluster (issue 6) the guard also keeps the lines of a lost node's sessions that
//  expired without resuming anywhere (node_main learns of them from the replicated state,
//  on every node): node_client_guard_lost_line remembers one, and the node that holds the
//  PBX link (node_client_guard_hold) guards them as above, so exactly one node deflects.
//  A holder that drops the link stops guarding them and keeps them remembered, so the next
//  holder takes over; node_client_guard_forget (the line is open again somewhere in the
//  cluster) and node_client_guard_release end them.  Their redirects are also counted in
//  ctim_client_lost_node_redirects_total{result}.
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

//  --- Lines of a lost node's expired sessions (the cluster) --------------------------------
//  Remember line (failure_number, why copied) as one whose application's node was lost and
//  whose session expired without resuming: guarded while this node holds the link.  A line
//  guarded for a local failure stays that.  Returns 0, -EINVAL (as protect), -ENOMEM, or
//  protect's error when this node holds the link (the line stays remembered).
int node_client_guard_lost_line(node_client_guard_t *self, const char *line,
                                const char *failure_number, const char *why);
//  The line is open again somewhere in the cluster: forget it (and stop guarding it if this
//  node guards it for a lost node).  Returns true if it was remembered.
bool node_client_guard_forget(node_client_guard_t *self, const char *line);
//  This node holds the PBX link (true) or not: the lost nodes' lines are guarded or not.
void node_client_guard_hold(node_client_guard_t *self, bool holds);
//  The lost nodes' lines remembered, one by one to fn (which may forget them): the line,
//  its failure number, and whether this node guards it for the lost node now.
typedef void(node_client_guard_line_fn)(void *ctx, const char *line, const char *failure_number,
                                        bool guarded);
size_t node_client_guard_lost_lines(const node_client_guard_t *self,
                                    node_client_guard_line_fn *fn, void *ctx);

//  The guarded lines as a JSON array for /status: line, failure number, why, guarded
//  for how long (ms), monitored, redirects made, lost_node (guarded for a lost node).
void node_client_guard_status_json(const node_client_guard_t *self, FILE *out);

#endif
