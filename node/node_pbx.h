//  node_pbx: the "PBX service" that ctimd's front ends talk to, one per configured PBX.
//  It owns the device registry (which devices are monitored at the PBX, and who watches
//  them) and routes requests, replies and events.  Today a local CSTA link backs it
//  (node_pbx_link); the cluster (ha/) will back it by forwarding to the link's owner
//  without this interface changing.
//
//  Everything here runs on the node's one event loop; callbacks are called from it, never
//  from inside the call that caused them (node_pbx_request, node_pbx_watch).  A callback
//  may request, watch and unwatch; it must not destroy the node_pbx.
#ifndef NODE_PBX_H
#define NODE_PBX_H

#include <czmq.h>

#include "csta.h"
#include "node_config.h"

typedef struct node_pbx node_pbx_t;

typedef enum {
    NODE_PBX_DOWN,          //  no usable link (connecting, associating, or lost)
    NODE_PBX_UP,            //  associated: requests and monitors work
} node_pbx_state_t;

const char *node_pbx_state_str(node_pbx_state_t state);

//  A front end's interest in one device (one per application monitor).  The PBX monitor
//  of the device is started with the first watch and stopped after the last one goes.
typedef struct node_pbx_watch node_pbx_watch_t;

//  What a front end hears from the PBX service.
typedef struct {
    void *ctx;
    //  An event of a watched device: the PBX's CSTAEventReport bytes (with the PBX's own
    //  cross-reference; the front end rewrites it) and their routing keys.
    void (*on_event)(void *ctx, node_pbx_watch_t *watch, void *watch_arg, const uint8_t *apdu,
                     size_t len, const csta_peek_t *keys);
    //  The link went down or came back (the front end tells its applications:
    //  SystemStatus disabled / normal, OutOfService / BackInService).
    void (*on_state)(void *ctx, node_pbx_state_t state);
    //  An invoke from the PBX meant for every application: SystemStatus (already
    //  answered), SwitchingFunctionDevicesChanged (already answered).
    void (*on_broadcast)(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys);
    //  A watch whose done came earlier is monitored again (may be NULL): its device's
    //  MonitorStart succeeded after a link loss (re-monitor after link-up, DESIGN.md
    //  invariant 2), after a refused or failed one was retried, or the owner answered OK
    //  (remote backing).  on_state UP comes before the re-monitoring, so a front end that
    //  tells its applications "in service" waits for this per watch.
    void (*on_watch_monitored)(void *ctx, node_pbx_watch_t *watch, void *watch_arg);
    //  Remote backing only (node_pbx_remote.h; may be NULL): a watch whose done came earlier
    //  is no longer monitored — the owner said so (its link went down, its re-monitor of the
    //  device failed); on_watch_monitored follows when the owner monitors it again.
    void (*on_watch_unmonitored)(void *ctx, node_pbx_watch_t *watch, void *watch_arg);
    //  Remote backing only (may be NULL): events of the watch's device may have been lost on
    //  their way from the owner (a gap in its numbers); node_pbx has asked the owner for a
    //  snapshot of the device.  A front end refreshes what its application knows (the client
    //  API snapshots its line; a CSTA application cannot be given one).
    void (*on_watch_stale)(void *ctx, node_pbx_watch_t *watch, void *watch_arg);
} node_pbx_listener_t;

//  The reply to a request: a ROSE result, error or reject from the PBX (invoke id is the
//  PBX's; the front end restores its application's), or status < 0 and no bytes when the
//  request did not reach an answer: -ETIMEDOUT (deadline), -ENOTCONN (link down),
//  -ENOBUFS (too many requests outstanding).  Every request gets exactly one reply.
typedef void (node_pbx_reply_fn)(void *arg, int status, const uint8_t *apdu, size_t len);

//  Unsolicited invokes that belong to one requester (SwitchingFunctionDevices and
//  SnapshotDeviceData segments after a result carrying a serviceCrossRefID, CDR reports to
//  the CDR owner) are delivered here, with the reply callback's arg.  SwitchingFunction-
//  Devices and CDR reports are acknowledged to the PBX by node_pbx.  Segments stop after
//  the one marked lastSegment, when the link goes down, or when none came for
//  request_timeout_ms; the requester bounds its own wait.
typedef void (node_pbx_followup_fn)(void *arg, const uint8_t *apdu, size_t len,
                                    const csta_peek_t *keys);

//  A PBX service for cfg (copied); NULL if cfg is unusable.  Nothing happens until start.
node_pbx_t *node_pbx_new(zloop_t *loop, const node_pbx_cfg_t *cfg,
                         const node_pbx_listener_t *listener);
//  Destroy: requests still open get their reply (-ENOTCONN) from here; watches are freed
//  (their pointers die with it).  Safe on NULL and twice.
void node_pbx_destroy(node_pbx_t **self_p);
//  Connect to the PBX (the link then keeps itself up).  Returns 0 or -EALREADY.
int node_pbx_start(node_pbx_t *self);
//  Let go of the PBX at once (the cluster moved the link to another node;
//  node_pbx_link_stop): on_state DOWN if it was up, open requests get -ENOTCONN, watches
//  stay and are monitored again after the next node_pbx_start.  Not from inside this
//  service's callbacks.  Returns 0 or -EALREADY (not started).
int node_pbx_stop(node_pbx_t *self);
//  The link is waiting out a back-off: try now instead (node_pbx_link_connect_now).
//  Returns 0 or -EALREADY.
int node_pbx_connect_now(node_pbx_t *self);
node_pbx_state_t node_pbx_state(const node_pbx_t *self);

//  Send an encoded invoke (any invoke id: it is replaced by the PBX-side one).  reply is
//  called exactly once; followup (may be NULL) for segments that belong to this request.
//  timeout_ms <= 0: the configured request_timeout_ms.  Returns 0, or -EMSGSIZE / -EINVAL
//  for an APDU that is not an invoke; MonitorStart, MonitorStop and ChangeMonitorFilter
//  are -EINVAL too, since PBX monitors are shared: use node_pbx_watch.  The result of a
//  StartCallDetailRecordsTransmission makes (followup, arg) the receiver of CDR reports,
//  until the result of a StopCallDetailRecordsTransmission or node_pbx_cdr_release.  A
//  SnapshotDevice with followup NULL is answered with the whole snapshot even when the PBX
//  sends it in SnapshotDeviceData segments (ECMA-269): reply gets one SnapshotDevice result
//  with every segment's calls, or -ETIMEDOUT (the last segment not within timeout_ms of the
//  result), -EMSGSIZE (over 64 segments or 256 calls), -ENOTCONN, -EBADMSG / -ESRCH (a
//  segment that does not decode / names another snapshot).
int node_pbx_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                     node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg);

//  Pause (a handover's drain, ha/README.md "Handover"): from now on front ends'
//  requests are kept here, in order, not sent (node_pbx_request returns 0 for them as
//  usual), while those already at the link complete.  drained(arg, outstanding) is called
//  once, from the loop, when none is left at the link (outstanding 0) or after timeout_ms
//  (how many are still out).  Watches, monitors and node_pbx's own requests go on as
//  before.  Returns 0 or -EALREADY (paused already).
typedef void (node_pbx_drained_fn)(void *arg, int outstanding);
int node_pbx_pause(node_pbx_t *self, int timeout_ms, node_pbx_drained_fn *drained, void *arg);
//  Resume: the kept requests go out, in order, through whichever backing serves now (the
//  remote one after node_pbx_stop: forwarding to the new owner); one that cannot be sent
//  gets its error as its reply, from the loop.  The drained callback is not called any
//  more.  Requests still kept at node_pbx_destroy get -ENOTCONN.  A no-op when not paused.
void node_pbx_resume(node_pbx_t *self);
//  Requests kept by a pause now.
size_t node_pbx_queued(const node_pbx_t *self);

//  Watch a device (device id as dialing number or deviceNumber).  The first watch of a
//  device sends MonitorStart to the PBX; `done` is called once with 0 (monitored: events
//  flow to on_event with watch_arg) or a negative errno: -ENOTCONN (link down),
//  -ETIMEDOUT, -ENOBUFS, or -EREMOTEIO with the PBX's ReturnError/Reject APDU.  A watch
//  survives link loss and failure: the device is monitored again when the link returns,
//  and a refused MonitorStart is retried every monitor_retry_ms while watches remain.
//  Events reach a watch only after its done(0).  Once done was called, each later
//  successful MonitorStart of the device (a re-monitor) is told by on_watch_monitored
//  instead.  Returns NULL for a device id of another
//  form, or when memory runs out.
typedef void (node_pbx_watch_done_fn)(void *watch_arg, int status, const uint8_t *error_apdu,
                                      size_t len);
node_pbx_watch_t *node_pbx_watch(node_pbx_t *self, const csta_device_t *device,
                                 node_pbx_watch_done_fn *done, void *watch_arg);
//  Stop watching (done is not called any more); the PBX monitor stops when the last watch
//  of the device goes.  Sets *watch_p to NULL.
void node_pbx_unwatch(node_pbx_t *self, node_pbx_watch_t **watch_p);

//  CDR ownership: the first caller owns CDR transmission; others get -EBUSY (the front end
//  answers their StartCDR with operation/generic as estos does, csta-facts.md 5).
int node_pbx_cdr_claim(node_pbx_t *self, void *owner);
void node_pbx_cdr_release(node_pbx_t *self, void *owner);

//  The running state for /status and metrics.  Counters count since node_pbx_new.
typedef struct {
    long requests, replies, timeouts;   //  every request to the PBX, node_pbx's own included
    long events_in;                     //  CSTAEventReports from the PBX
    long events_unrouted;               //  ... with a cross-reference no device has
    long monitors_pbx;                  //  devices monitored at the PBX now
    long monitor_failures;              //  MonitorStarts refused, timed out or failed
    long watches;                       //  application-side monitors now
    long devices;                       //  devices in the registry now
    long calls;                         //  calls believed to be at watched devices now
    long calls_vanished;                //  calls a snapshot showed gone at the PBX
    long reconnects;                    //  times the link came back after the first
    bool up;                            //  the link is up
} node_pbx_stats_t;
void node_pbx_stats(const node_pbx_t *self, node_pbx_stats_t *stats);

#endif
