//  node_pbx_remote: the second backing of the PBX service — forwarding to the node that holds
//  the PBX's link (DESIGN.md "one interface, two backings").  Front ends see node_pbx.h
//  only and cannot tell the backings apart; node_main and node_forward (the glue to
//  ha_forward) use this header.
//
//  A node_pbx given a remote backing (node_pbx_set_remote, in a cluster) uses it while its
//  own link is not started: from the start until node_pbx_start (this node took the link),
//  and again after node_pbx_stop (it gave the link up).  Then
//  - node_pbx_request goes to the owner through remote.request; the reply comes back with
//    the same exactly-once rule (-ENOTCONN when the node it went to is lost meanwhile; an
//    old owner that lives on answers it, relaying it to the new one);
//    followups (segments) too.  CDR too (issue 6): node_pbx_cdr_claim is this node's
//    claim, the owner refuses another node's StartCDR while one holds CDR; once a
//    StartCDR's result is in, the owner's CDR reports (node_pbx_remote_cdr) go to its
//    followup as a local link's do, and a new owner is sent the same StartCDR again;
//  - node_pbx_watch registers the device with the owner (remote.watch, once per device
//    however many watches it has); the owner's answer (node_pbx_remote_watch_result) calls
//    the watches' done as a MonitorStart result would, and its events
//    (node_pbx_remote_event) go to the device's watches exactly as a local link's;
//  - the service is UP while node_pbx_remote_state says the PBX is reachable through its
//    owner (on_state tells the front ends, as for a link going down and up).
//  Switching backings keeps every watch: node_pbx_start unregisters the devices from the
//  owner and monitors them on the new link when it comes up; node_pbx_stop registers them
//  with the owner.
#ifndef NODE_PBX_REMOTE_H
#define NODE_PBX_REMOTE_H

#include "node_pbx.h"

typedef void (node_pbx_remote_reply_fn)(void *arg, int status, const uint8_t *apdu, size_t len);
typedef void (node_pbx_remote_followup_fn)(void *arg, const uint8_t *apdu, size_t len);
typedef void (node_pbx_remote_end_fn)(void *arg);

//  What the remote backing does (node_forward: ha_forward for this PBX).
typedef struct {
    void *ctx;
    //  Forward an invoke with a deadline at the owner: reply once (never from inside this
    //  call), then followups, then end once.  Returns 0 or a negative errno (nothing called).
    int (*request)(void *ctx, const uint8_t *apdu, size_t len, int timeout_ms,
                   node_pbx_remote_reply_fn *reply, node_pbx_remote_followup_fn *followup,
                   node_pbx_remote_end_fn *end, void *arg);
    //  This node watches the device (registry key "d:101", "n:17891329") or no longer does.
    //  An on for a device whose last answer was an error asks the owner again.
    int (*watch)(void *ctx, const char *device_key, bool on);
    //  The same for a peer's request this node passes on (node_pbx_relay); NULL: request.
    //  ha_forward marks it relayed, so that a node without the link does not pass it on
    //  once more (ha/README.md "Handover").
    int (*relay)(void *ctx, const uint8_t *apdu, size_t len, int timeout_ms,
                 node_pbx_remote_reply_fn *reply, node_pbx_remote_followup_fn *followup,
                 node_pbx_remote_end_fn *end, void *arg);
} node_pbx_remote_t;

//  Give self its remote backing (copied).  Call before the front ends use the service
//  and before node_pbx_start.  The backing must outlive the service's remote requests:
//  destroy it (every request gets its reply and end) before node_pbx_destroy.
void node_pbx_set_remote(node_pbx_t *self, const node_pbx_remote_t *remote);
//  node_pbx_request for a request a peer forwarded to this node (node_forward): the same on
//  the local link and while paused (kept in order with the front ends'), but when the
//  remote backing serves it leaves through remote.relay — a request passed on, which the
//  next node performs only if it holds the link.
int node_pbx_relay(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                   node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg);
//  True while the remote backing serves (a remote backing is set and the link is not
//  started).
bool node_pbx_is_remote(const node_pbx_t *self);
//  The PBX is reachable through its owner (up: another node holds the link, this node hears
//  it, its link is up) or not; owner names it ("" none).  A new owner means every device
//  is registered with it afresh (ha_forward sends the set).
void node_pbx_remote_state(node_pbx_t *self, bool up, const char *owner);
//  The owner (the one now current) took the watch of device: 0, or -ENOTCONN, -ETIMEDOUT,
//  -ENOBUFS, or -EREMOTEIO with the PBX's error APDU.  The owner answers again whenever
//  that changes (its link lost: -ENOTCONN; monitored again: 0): watches already done hear
//  on_watch_unmonitored / on_watch_monitored.  While the service is DOWN the answers are
//  kept; when it turns UP, the watches of devices the owner monitors hear
//  on_watch_monitored (after on_state UP), the others wait for the owner's 0.
void node_pbx_remote_watch_result(node_pbx_t *self, const char *device_key, int status,
                                  const uint8_t *apdu, size_t len);
//  Events from the owner were lost on the bus (a gap of `lost` in its numbers): every device
//  the owner monitors for this node is snapshotted again through it (SnapshotDevice, at most
//  `window` at a time; node_pbx's call bookkeeping follows the answer), and once each answer
//  is in, the device's watches hear on_watch_stale so that the front ends refresh their
//  applications.  A no-op while the local link serves.
void node_pbx_remote_events_lost(node_pbx_t *self, long lost);
//  An event of device from the owner's link (a CSTAEventReport as its PBX sent it).
void node_pbx_remote_event(node_pbx_t *self, const char *device_key, const uint8_t *apdu,
                           size_t len);
//  A CDR report the owner forwarded for this node's CDR receiver (the followup of the
//  StartCDR whose result made it); dropped (info) when there is none.
void node_pbx_remote_cdr(node_pbx_t *self, const uint8_t *apdu, size_t len);
//  A PBX broadcast the owner forwarded (SystemStatus, SwitchingFunctionDevicesChanged;
//  answered there): to the front ends' on_broadcast as a local link's.
void node_pbx_remote_broadcast(node_pbx_t *self, const uint8_t *apdu, size_t len);
//  The owner as the last node_pbx_remote_state named it ("" none).
const char *node_pbx_remote_owner(const node_pbx_t *self);

#endif
