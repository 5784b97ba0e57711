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
//  The mapping (node/README.md has it as a table): Delivered is offering where the line
//  alerts and ringback elsewhere; Established connected (conferenced in a conference);
//  ServiceInitiated dial tone; Originated and DigitsDialed dialling; NetworkReached and
//  Queued proceeding; Failed busy when the cause is busy (busy, trunksBusy,
//  selectedTrunkBusy), else disconnected; Held at the line on hold, or on hold pending
//  transfer when it was held for a consultation (cause consultation, or
//  node_client_calls_consultation said one is in flight), pending conference when the held
//  call was a conference; Retrieved connected (conferenced); Conferenced conferenced, the
//  line's old calls merged into the conference go idle; Transferred idle at the
//  transferring line, the others see their (possibly new) call with its new far end;
//  Diverted idle at the diverting line (cause from the event, "redirected" when none),
//  offering at the new destination; ConnectionCleared of the last far party disconnected
//  (of one party of a conference: connected again when one far party is left), of the
//  line's own connection idle (after disconnected unless already said); CallCleared
//  disconnected and idle.  Direction: incoming or outgoing seen from the line, internal
//  when the far end is a line of the PBX (known to node_lines, or a digit string no longer
//  than the line's own number) and no network interface was reached.  Numbers: the far end
//  of an incoming call through the incoming rules, of an outgoing call through the
//  outgoing rules; the line's own number and the number an incoming call dialled as the
//  PBX gives them.  Names: node_lines, else the name the PBX sent (privateName).
//
//  Pure bookkeeping: no I/O, no timers, unit tested on its own.
#ifndef NODE_CLIENT_CALLS_H
#define NODE_CLIENT_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csta.h"
#include "node_lines.h"
#include "node_numfmt.h"
#include "proto.h"

typedef struct node_client_calls node_client_calls_t;

//  Called once per state change of a call at the line, in order.  info is borrowed.
typedef void(node_client_call_emit_fn)(void *arg, const proto_call_info_t *info);

//  The calls at line (copied).  numfmt and lines are borrowed and may be NULL (numbers
//  then go out as the PBX gave them, without names); see node_client_calls_set_numbers.
//  Returns NULL when out of memory.
node_client_calls_t *node_client_calls_new(const char *line, const node_numfmt_t *numfmt,
                                           const node_lines_t *lines);
void node_client_calls_destroy(node_client_calls_t **self_p);
//  New number rules / names after a configuration reload (borrowed).  The calls known keep
//  their state; their numbers and names are formatted again for what comes next.
void node_client_calls_set_numbers(node_client_calls_t *self, const node_numfmt_t *numfmt,
                                   const node_lines_t *lines);

//  One CSTAEventReport of the line's monitor.  Events that change nothing the application
//  sees emit nothing.  A call that reaches idle is forgotten after its emit.
void node_client_calls_event(node_client_calls_t *self, const csta_event_t *event,
                             node_client_call_emit_fn *emit, void *arg);
//  The answer to a SnapshotDevice of the line: the calls now.  Calls not in it are
//  forgotten (emitted as idle, snapshot flag left to the caller), new ones are added;
//  nothing is emitted for calls that are unchanged.  A result that only announces segments
//  (serviceCrossRefID) changes nothing.
void node_client_calls_snapshot(node_client_calls_t *self, const csta_snapshot_device_res_t *res,
                                node_client_call_emit_fn *emit, void *arg);
//  Forget every call (the link went down for good, the line closed).
void node_client_calls_clear(node_client_calls_t *self);

//  A ConsultationCall from the line for call_id is in flight (pending true) or failed
//  (false): the Held that follows is reported as on hold pending transfer whatever cause
//  the PBX gives.  Unknown call ids are ignored.
void node_client_calls_consultation(node_client_calls_t *self, const char *call_id,
                                    bool pending);

//  The calls at the line now, oldest first; i < count.
size_t node_client_calls_count(const node_client_calls_t *self);
const proto_call_info_t *node_client_calls_at(const node_client_calls_t *self, size_t i);
//  The call with call_id (the hex text of the CSTA call id), or NULL.
const proto_call_info_t *node_client_calls_find(const node_client_calls_t *self,
                                                const char *call_id);
//  The connection of the far party `number` in call call_id (a conference member, for
//  remove_from_conference: ClearConnection needs the party's ConnectionID, which for an
//  outside party names its trunk), or NULL when the line does not know that party.
//  number is matched as the PBX gave it and as formatted for the application.
const csta_conn_t *node_client_calls_party(const node_client_calls_t *self, const char *call_id,
                                           const char *number);

//  A CSTA call id as the client protocol names calls: lower-case hex ("002a"); "" for none.
void node_client_calls_id_text(const uint8_t *call_id, size_t len, char *out, size_t cap);
//  Hex text back to a CSTA call id.  Returns the length, or -1 for text that is not one.
int node_client_calls_id_parse(const char *text, uint8_t *out, size_t cap);

//  The ECMA-285 EventCause name ("redirected", "busy", ...), or NULL for a value it lacks.
const char *node_client_calls_cause_str(int cause);
//  Whether number is a line of the PBX rather than an outside party: known to lines, or a
//  digit string no longer than line_len (extensions are short; lines may be NULL).
bool node_client_calls_internal(const node_lines_t *lines, const char *number, size_t line_len);

#endif
