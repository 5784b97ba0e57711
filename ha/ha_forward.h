//  ha_forward: forwarding over the cluster bus — any node serves any application, whichever
//  node holds the PBX link (DESIGN.md "PBX service: local csta link or forward to the link
//  owner").  It knows nothing of CSTA: APDUs are bytes, devices are node_pbx's registry
//  keys ("d:101", "n:17891329").
//
//  As a requester (another node holds the link of a PBX):
//  - ha_forward_request sends an encoded invoke to the owner; reply is called exactly once
//    (DESIGN.md invariant 5): with the answer of the node it went to — which still answers
//    when the link moves on meanwhile (it relays the request to the new owner, or says
//    LINK_DOWN when it lost the link) —, or -ENOTCONN when there is no owner to ask (or it
//    cannot be reached), or the node it went to is lost (or restarts) before it answers,
//    or -ETIMEDOUT when that node stays silent past the request's deadline plus slack_ms.
//    Followups (segments the PBX sends after the answer) go to followup until that node is
//    lost or none came for followup_ms; then end (once, always last) frees the arg.
//  - ha_forward_watch keeps the set of devices this node's applications watch; the set is
//    sent to every new owner (WatchDevice), whose answers come to on_watch_result and whose
//    events of those devices come to on_event.  The owner numbers the events it sends this
//    node per link epoch; a jump in the numbers is counted (gaps, events lost) and logged.
//  - on_remote says whether the PBX is reachable through its owner: another node holds the
//    link, this node hears it, and its link is up as its heartbeat says.
//  As the owner (this node holds the link):
//  - peers' requests come to serve_request with a handle; the node answers each exactly
//    once (ha_forward_answer) and passes its followups on (ha_forward_followup);
//  As a node that no longer (or never) held the link but gets a request whose sender
//  thinks it does (the link just moved): the request comes to serve_request all the same,
//  and the node relays it through its PBX service (ha_forward_relay once the service
//  forwards); a relayed request that reaches a node without the link is answered NOT_OWNER
//  (-ENOTCONN), never passed on again (ForwardRequest.relayed, cluster.proto minor 3).
//  - peers' watches come to serve_watch (on / off); the node answers a watch
//    (ha_forward_watch_answer) and publishes each event of the device to that peer
//    (ha_forward_publish).  A peer's watches end (serve_watch off) when it unwatches, is
//    lost or restarts, or this node gives the link up (ha_forward_release, or a new owner).
//
//  Frames go on a DEALER per peer of ha_forward's own (the heartbeat DEALER of ha_cluster
//  keeps its small queue; ha/README.md "Forwarding") to the peer's cluster ROUTER, where
//  ha_cluster hands them back through its extension (ha_forward_attach).  Tests give their
//  own bus instead.  Everything runs on the node's zloop; no callback is called from inside
//  the call of the same object that caused it (request, watch, answer, publish), so
//  callbacks may call ha_forward again; none may destroy it.
#ifndef HA_FORWARD_H
#define HA_FORWARD_H

#include <czmq.h>

#include "ha_cluster.h"
#include "proto_cluster.h"

#define HA_DEVICE_MAX PROTO_CLUSTER_DEVICE_MAX

typedef struct ha_forward ha_forward_t;

typedef struct {
    char node_id[HA_NAME_MAX];
    uint64_t incarnation;               //  ha_cluster_incarnation (ha_forward_attach sets it)
    ha_peer_cfg_t peers[HA_PEERS_MAX];  //  id and endpoint of each peer's cluster ROUTER
    size_t peer_count;
    char pbx[HA_PBX_MAX][HA_NAME_MAX];
    size_t pbx_count;
    int followup_ms;                    //  followups are routed this long after the last one
    int slack_ms;                       //  a request waits its timeout plus this (0: 1000)
    int tick_ms;                        //  deadline checks (0: 100)
} ha_forward_cfg_t;

//  How frames leave: the real bus (NULL) or a test's.
typedef struct {
    void *ctx;
    //  Send m to node.  Returns 0, or a negative errno when it was not queued (-EAGAIN: not
    //  connected or the queue is full).
    int (*send)(void *ctx, const char *node, const proto_cluster_msg_t *m);
} ha_forward_bus_t;

typedef void (ha_forward_reply_fn)(void *arg, int status, const uint8_t *apdu, size_t len);
typedef void (ha_forward_followup_fn)(void *arg, const uint8_t *apdu, size_t len);
typedef void (ha_forward_end_fn)(void *arg);

typedef struct {
    void *ctx;
    //  --- this node uses another node's link
    //  pbx is reachable through another node (up), or not; owner is who holds the link as
    //  this node sees it ("" none; this node's own id when it holds it: up is then false).
    //  Called when either changes.
    void (*on_remote)(void *ctx, size_t pbx, bool up, const char *owner);
    //  How the owner took a watch: 0 (monitored), -ENOTCONN (its link is down: monitored
    //  when it is up; or it is not the owner after all), -EREMOTEIO with the PBX's error
    //  APDU (refused; the owner retries), -ETIMEDOUT / -ENOBUFS.
    void (*on_watch_result)(void *ctx, size_t pbx, const char *device, int status,
                            const uint8_t *apdu, size_t len);
    //  A CSTAEventReport of a device this node watches, as the owner's PBX sent it.
    void (*on_event)(void *ctx, size_t pbx, const char *device, const uint8_t *apdu,
                     size_t len);
    //  --- this node holds the link
    //  Perform a peer's request on the local link (timeout_ms at the PBX), or, when this node
    //  does not hold the link (the peer's view is behind), pass it on with ha_forward_relay
    //  through the PBX service; answer it once with ha_forward_answer(handle, ...), maybe
    //  from inside this call.
    void (*serve_request)(void *ctx, size_t pbx, uint64_t handle, const uint8_t *apdu,
                          size_t len, int timeout_ms);
    //  Peer node watches device (on; again after a failed answer: try once more), or no
    //  longer does (off).  Answer each on with ha_forward_watch_answer.
    void (*serve_watch)(void *ctx, size_t pbx, const char *node, const char *device, bool on);
    //  One log line (the node adds "(ID) ha: ").
    void (*log)(void *ctx, ha_log_level_t level, const char *text);
    //  --- this node uses another node's link (may be NULL)
    //  The owner's event numbers jumped: lost events of pbx were skipped (any watched device
    //  may have missed some).  Called once per gap, before the event that revealed it is
    //  handed on; the node snapshots its devices again (ha/README.md "Forwarding").
    void (*on_events_lost)(void *ctx, size_t pbx, long lost);
    //  A CDR report (CSTA CallDetailRecordsReport as the owner's PBX sent it, already
    //  acknowledged there) for this node's CDR owner: the owner publishes it under the
    //  device HA_FORWARD_CDR, numbered with the events (may be NULL).
    void (*on_cdr)(void *ctx, size_t pbx, const uint8_t *apdu, size_t len);
    //  --- this node holds the link (may be NULL)
    //  Peer node was lost or restarted: what the node serves it beyond watches (its CDR
    //  claim) ends.
    void (*serve_peer_lost)(void *ctx, const char *node);
    //  --- this node uses another node's link (may be NULL)
    //  An invoke the owner's PBX sent for every application (SystemStatus,
    //  SwitchingFunctionDevicesChanged; answered by the owner), under HA_FORWARD_BROADCAST.
    void (*on_broadcast)(void *ctx, size_t pbx, const uint8_t *apdu, size_t len);
} ha_forward_listener_t;

//  The "device" of a LinkEvent that carries a PBX broadcast.
#define HA_FORWARD_BROADCAST "broadcast"

//  The "device" of a LinkEvent that carries a CDR report (no registry key looks like it).
#define HA_FORWARD_CDR "cdr"

//  Forwarding for cfg (copied) on loop.  bus NULL: DEALERs to the peers' endpoints.  NULL
//  when cfg is unusable or memory runs out.
ha_forward_t *ha_forward_new(zloop_t *loop, const ha_forward_cfg_t *cfg,
                             const ha_forward_bus_t *bus, const ha_forward_listener_t *listener);
//  Requests still out get -ENOTCONN and end from here.  Safe on NULL and twice.
void ha_forward_destroy(ha_forward_t **self_p);
//  Connect the DEALERs (the real bus; after ha_forward_attach they use the cluster's CURVE
//  keys, ha_cluster_secure_dealer) and start the deadline checks.  0 or -errno.
int ha_forward_start(ha_forward_t *self);
//  Take ha_cluster's forwarding frames, peer changes and owner changes (ha_cluster_extend,
//  ha_cluster_pbx_owner); sets the incarnation.  The PBX names must be the cluster's, in
//  the same order.  0 or -ENOSPC.
int ha_forward_attach(ha_forward_t *self, ha_cluster_t *cluster);

//  --- Inputs (what ha_forward_attach feeds in; tests call them directly) --------------------

//  The owner of pbx as the cluster sees it now ("" none), its epoch, and whether its link
//  is up.  A different owner or epoch is an owner change.
void ha_forward_owner(ha_forward_t *self, size_t pbx, const char *owner, uint64_t epoch,
                      bool link_up);
//  Peer node was lost (or restarted: false, then true) or is heard (true).
void ha_forward_peer(ha_forward_t *self, const char *node, bool alive);
//  A forwarding frame from the bus (other kinds are ignored).
void ha_forward_receive(ha_forward_t *self, const proto_cluster_msg_t *m);

//  --- Requester ------------------------------------------------------------------------------

//  Forward an encoded invoke for pbx (see above).  timeout_ms > 0 is the deadline at the
//  owner's PBX.  followup and end may be NULL.  Returns 0 (reply will be called), or
//  -EINVAL (pbx unknown, no bytes, timeout_ms <= 0), -EMSGSIZE, -ENOMEM (nothing is called).
int ha_forward_request(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len,
                       int timeout_ms, ha_forward_reply_fn *reply, ha_forward_followup_fn *followup,
                       ha_forward_end_fn *end, void *arg);
//  The same for a peer's request this node passes on (serve_request; marked relayed, so
//  that a receiver without the link refuses it instead of passing it on again).
int ha_forward_relay(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len,
                     int timeout_ms, ha_forward_reply_fn *reply, ha_forward_followup_fn *followup,
                     ha_forward_end_fn *end, void *arg);
//  This node's applications watch device at pbx (on), or no longer do (off): a set, so
//  on twice is one watch.  An on for a device whose last answer was an error asks the owner
//  again.  Returns 0, -EINVAL (pbx unknown, device too long), -ENOMEM.
int ha_forward_watch(ha_forward_t *self, size_t pbx, const char *device, bool on);

//  --- Owner ----------------------------------------------------------------------------------

//  The answer to served request handle: status 0 with the PBX's bytes, or a negative errno
//  (-ETIMEDOUT, -ENOTCONN, -ENOBUFS, another: refused).
void ha_forward_answer(ha_forward_t *self, uint64_t handle, int status, const uint8_t *apdu,
                       size_t len);
//  The peer that asked for served request handle (NULL once it was answered or is gone).
const char *ha_forward_served_node(const ha_forward_t *self, uint64_t handle);
//  A followup of served request handle after its answer (dropped once it expired).
void ha_forward_followup(ha_forward_t *self, uint64_t handle, const uint8_t *apdu, size_t len);
//  How a served watch went (status as on_watch_result's).
void ha_forward_watch_answer(ha_forward_t *self, size_t pbx, const char *node,
                             const char *device, int status, const uint8_t *apdu, size_t len);
//  An event of device, to peer node that watches it (numbered per pbx and node); device
//  HA_FORWARD_CDR: a CDR report for the peer's CDR owner (it need not watch).  apdu NULL:
//  the number is used and nothing is sent — a fault knob for tests only (a lost event the
//  peer sees as a gap; node_forward's CTIM_TEST_DROP_EVENT).
void ha_forward_publish(ha_forward_t *self, size_t pbx, const char *node, const char *device,
                        const uint8_t *apdu, size_t len);
//  A PBX broadcast (HA_FORWARD_BROADCAST) to every peer this node hears, numbered in each
//  peer's stream.
void ha_forward_broadcast(ha_forward_t *self, size_t pbx, const uint8_t *apdu, size_t len);
//  This node gives pbx's link up: every peer's watch of it ends (serve_watch off) now.
void ha_forward_release(ha_forward_t *self, size_t pbx);

//  --- State ----------------------------------------------------------------------------------

typedef struct {
    char owner[HA_NAME_MAX];            //  as last seen ("" none)
    uint64_t epoch;
    bool remote;                        //  another node holds the link
    bool up;                            //  ... and it is reachable with its link up
    //  as a requester
    long requests;                      //  forwarded (accepted by ha_forward_request)
    long replies;                       //  answered by an owner (any status)
    long errors_no_owner;               //  -ENOTCONN: no owner, or it could not be reached
    long errors_owner_changed;          //  -ENOTCONN: the node it went to was lost meanwhile
    long errors_timeout;                //  -ETIMEDOUT: the owner stayed silent
    long pending;                       //  waiting for their reply now
    long watches;                       //  devices this node watches through the owner now
    long events_in;                     //  events received from the owner
    long event_gaps, events_lost;       //  jumps in the owner's numbers, events they skipped
    //  as the owner
    long served;                        //  peers' requests performed (held here)
    long served_watches;                //  peers' device watches now
    long events_out;                    //  events sent to peers
    long send_failures;                 //  frames not queued (peer unreachable, queue full)
    long relayed;                       //  peers' requests served without the link: passed on
} ha_forward_stats_t;
void ha_forward_stats(const ha_forward_t *self, size_t pbx, ha_forward_stats_t *stats);
//  {"pbx":[{name, owner, epoch, via ("local", "forwarded", "none"), up, and the counters}]},
//  a new string the caller frees; NULL when memory runs out.
char *ha_forward_status_json(const ha_forward_t *self);

#endif
