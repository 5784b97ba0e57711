//  node_client_calls: the calls at one line as that line's application sees them (issue 5).
//
//  The client API's call model.  node_client_server keeps one per open line and feeds it
//  the CSTA events of the line's watch (and SnapshotDevice results); this class turns them
//  into client.proto call states (ECMA-269 connection states seen from the line, plus the
//  TAPI distinctions an application expects: offering vs ringback, on hold pending
//  transfer/conference, busy, conferenced, idle as the last event of a call), with the
//  caller and called numbers after number formatting and their names, and remembers every
//  call present at the line so that a snapshot (after open_line, after EventsLost), a
//  get_call_info, and the failure redirect (calls ringing now) need no PBX round trip.
//
//      node_client_calls_t *calls = node_client_calls_new("101", numfmt, lines);
//      node_client_calls_event(calls, &apdu.event, emit, arg);   //  emit per state change
//      for (size_t i = 0; i < node_client_calls_count(calls); i++)
//          ... node_client_calls_at(calls, i) ...                 //  snapshot
//      node_client_calls_destroy(&calls);
//
//  Pure bookkeeping: no I/O, no timers, unit tested on its own.
#ifndef NODE_CLIENT_CALLS_H
#define NODE_CLIENT_CALLS_H

#include <stdbool.h>
#include <stddef.h>

#include "csta.h"
#include "node_lines.h"
#include "node_numfmt.h"
#include "proto.h"

typedef struct node_client_calls node_client_calls_t;

//  Called once per state change of a call at the line, in order.  info is borrowed.
typedef void(node_client_call_emit_fn)(void *arg, const proto_call_info_t *info);

//  The calls at line (copied).  numfmt and lines are borrowed and may be NULL (numbers
//  then go out as the PBX gave them, without names); see node_client_calls_set_numbers.
node_client_calls_t *node_client_calls_new(const char *line, const node_numfmt_t *numfmt,
                                           const node_lines_t *lines);
void node_client_calls_destroy(node_client_calls_t **self_p);
//  New number rules / names after a configuration reload (borrowed).
void node_client_calls_set_numbers(node_client_calls_t *self, const node_numfmt_t *numfmt,
                                   const node_lines_t *lines);

//  One CSTAEventReport of the line's monitor.  Events that change nothing the application
//  sees emit nothing.  A call that reaches idle is forgotten after its emit.
void node_client_calls_event(node_client_calls_t *self, const csta_event_t *event,
                             node_client_call_emit_fn *emit, void *arg);
//  The answer to a SnapshotDevice of the line: the calls now.  Calls not in it are
//  forgotten (emitted as idle, snapshot flag left to the caller), new ones are added;
//  nothing is emitted for calls that are unchanged.
void node_client_calls_snapshot(node_client_calls_t *self, const csta_snapshot_device_res_t *res,
                                node_client_call_emit_fn *emit, void *arg);
//  Forget every call (the link went down for good, the line closed).
void node_client_calls_clear(node_client_calls_t *self);

//  The calls at the line now, oldest first; i < count.
size_t node_client_calls_count(const node_client_calls_t *self);
const proto_call_info_t *node_client_calls_at(const node_client_calls_t *self, size_t i);
//  The call with call_id (the hex text of the CSTA call id), or NULL.
const proto_call_info_t *node_client_calls_find(const node_client_calls_t *self,
                                                const char *call_id);
//  The CSTA identity of a known call's far end at this line (for call back and intrusion,
//  which act on the other party's connection), or NULL when unknown.
const csta_device_t *node_client_calls_far_end(const node_client_calls_t *self,
                                               const char *call_id);

#endif
