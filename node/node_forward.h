//  node_forward: cluster forwarding on the node's side — the glue between ha_forward (the
//  bus) and the PBX services (node_pbx), so that any node serves any application whichever
//  node holds the PBX link (ha/README.md "Forwarding", node/README.md).
//
//  - Requester: each node_pbx gets its remote backing (node_pbx_remote.h) here: requests and
//    device watches go to ha_forward; the owner's answers, watch results, events and
//    reachability come back into the node_pbx, whose front ends see what they would see
//    from a local link.
//  - Owner: a peer's request is performed on the local node_pbx (node_pbx_request) and its
//    reply and followups handed back to ha_forward; a peer's device watch is a node_pbx
//    watch of its own (the PBX monitor is shared with every local watch), whose done and
//    events (node_main routes them here: node_forward_owns) go back to that peer only.
//    A peer's StartCDR claims CDR here for that peer (refused with operation/generic while
//    another has it); its reports go to that peer (ha_forward_publish, HA_FORWARD_CDR)
//    until its StopCDR, its loss, or node_forward_release.
//
//  Everything runs on the node's zloop.
#ifndef NODE_FORWARD_H
#define NODE_FORWARD_H

#include <czmq.h>

#include "ha.h"
#include "node_config.h"
#include "node_metrics.h"
#include "node_pbx.h"

typedef struct node_forward node_forward_t;

//  Forwarding for the PBX services pbx[0..cfg->pbx_count) (borrowed; they outlive it) of a
//  node in the cluster, attached to cluster (ha_forward_attach: owners come from it).  Sets
//  every service's remote backing.  NULL (logged) when it cannot be made.
node_forward_t *node_forward_new(zloop_t *loop, const node_cfg_t *cfg, ha_cluster_t *cluster,
                                 node_pbx_t *const *pbx);
//  Requests still forwarded get -ENOTCONN; peers' watches are let go.  Call before the PBX
//  services are destroyed.  Safe on NULL and twice.
void node_forward_destroy(node_forward_t **self_p);
//  Connect to the peers.  Returns 0 or a negative errno.
int node_forward_start(node_forward_t *self);
//  This node gives up PBX i's link (ha's drop; before node_pbx_stop): the peers' watches
//  of it end now, so they are not carried over to the node's own set.
void node_forward_release(node_forward_t *self, size_t i);

//  The watch is one of the peers' (its events are for node_forward_event).
bool node_forward_owns(const node_forward_t *self, const node_pbx_watch_t *watch);
//  An event of such a watch (node_pbx's on_event): to the peer that watches the device.
void node_forward_event(node_forward_t *self, node_pbx_watch_t *watch, void *watch_arg,
                        const uint8_t *apdu, size_t len);

//  PBX i's local link changed state (node_pbx's on_state, on the node that holds the link):
//  DOWN tells every peer that watches a device of it that the device is not monitored now
//  (WatchResult LINK_DOWN); the OK follows per device from node_forward_monitored.
void node_forward_state(node_forward_t *self, size_t i, node_pbx_state_t state);
//  Such a watch is monitored again (node_pbx's on_watch_monitored: the re-monitor after the
//  link came back succeeded): WatchResult OK to the peer.
void node_forward_monitored(node_forward_t *self, node_pbx_watch_t *watch, void *watch_arg);

//  A broadcast of PBX i's link (node_pbx's on_broadcast, on the node that holds it): to
//  every peer, whose front ends get it as from their own link.
void node_forward_broadcast(node_forward_t *self, size_t i, const uint8_t *apdu, size_t len);
//  A CSTA application's monitor of PBX i whose events were lost on the bus (node_pbx's
//  on_watch_stale): nothing can give it a snapshot; counted
//  (ctim_ha_forward_csta_stale_monitors_total) and logged at most once a second.
void node_forward_csta_stale(node_forward_t *self, size_t i);

//  /status: ha_forward's JSON (a new string, or NULL).
char *node_forward_status_json(const node_forward_t *self);
//  Register the ctim_ha_forward_* metrics (once) and set them from the counters now.
void node_forward_collect(node_forward_t *self, node_metrics_t *metrics);

#endif
