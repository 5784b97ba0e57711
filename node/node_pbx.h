//  node_pbx: the "PBX service" that ctimd's front ends talk to, one per configured PBX.
//  It owns the device registry (which devices are monitored at the PBX, and who watches
//  them) and routes requests, replies and events.  Today a local CSTA link backs it
//  (node_pbx_link); the cluster (ha/) will back it by forwarding to the link's owner
//  without this interface changing.
//
//  Everything here runs on the node's one event loop; callbacks are called from it.
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
    //  answered), SwitchingFunctionDevicesChanged.
    void (*on_broadcast)(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys);
} node_pbx_listener_t;

//  The reply to a request: a ROSE result, error or reject from the PBX (invoke id is the
//  PBX's; the front end restores its application's), or status < 0 and no bytes when the
//  request did not reach an answer: -ETIMEDOUT (deadline), -ENOTCONN (link down),
//  -ENOBUFS (too many requests outstanding).  Every request gets exactly one reply.
typedef void (node_pbx_reply_fn)(void *arg, int status, const uint8_t *apdu, size_t len);

//  Unsolicited invokes that belong to one requester (SwitchingFunctionDevices and
//  SnapshotDeviceData segments after a result carrying a serviceCrossRefID, CDR reports to
//  the CDR owner) are delivered here, with the reply callback's arg.
typedef void (node_pbx_followup_fn)(void *arg, const uint8_t *apdu, size_t len,
                                    const csta_peek_t *keys);

node_pbx_t *node_pbx_new(zloop_t *loop, const node_pbx_cfg_t *cfg, const node_pbx_listener_t *listener);
void node_pbx_destroy(node_pbx_t **self_p);
int node_pbx_start(node_pbx_t *self);
node_pbx_state_t node_pbx_state(const node_pbx_t *self);

//  Send an encoded invoke (any invoke id: it is replaced by the PBX-side one).  reply is
//  called exactly once; followup (may be NULL) for segments that belong to this request.
//  Returns 0, or -EMSGSIZE / -EINVAL for an APDU that is not an invoke.
int node_pbx_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                     node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg);

//  Watch a device (device id as dialing number or deviceNumber).  The first watch of a
//  device sends MonitorStart to the PBX; `done` is called once with 0 (monitored: events
//  flow to on_event with watch_arg) or a negative errno / the PBX's error APDU.  A watch
//  survives link loss: the device is monitored again when the link returns.
typedef void (node_pbx_watch_done_fn)(void *watch_arg, int status, const uint8_t *error_apdu,
                                      size_t len);
node_pbx_watch_t *node_pbx_watch(node_pbx_t *self, const csta_device_t *device,
                                 node_pbx_watch_done_fn *done, void *watch_arg);
//  Stop watching; the PBX monitor stops when the last watch of the device goes.
void node_pbx_unwatch(node_pbx_t *self, node_pbx_watch_t **watch_p);

//  CDR ownership: the first caller owns CDR transmission; others get -EBUSY.
int node_pbx_cdr_claim(node_pbx_t *self, void *owner);
void node_pbx_cdr_release(node_pbx_t *self, void *owner);

typedef struct {
    long requests, replies, timeouts;
    long events_in;
    long monitors_pbx;          //  devices monitored at the PBX
    long watches;               //  application-side monitors
    long reconnects;
} node_pbx_stats_t;
void node_pbx_stats(const node_pbx_t *self, node_pbx_stats_t *stats);

#endif
