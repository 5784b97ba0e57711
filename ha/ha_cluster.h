//  ha_cluster: this node's membership in a ctim cluster — the cluster bus (ZeroMQ: one
//  ROUTER bound here, one DEALER to each configured peer), Paranoid Pirate heartbeats,
//  peer liveness, and link ownership through ha_owner with epochs kept by ha_epochs.
//
//  Every heartbeat_ms it sends each peer a Heartbeat (its whole view: quorum, and per PBX
//  the owner it believes in, the epoch, its own link state and priority); a peer silent
//  for more than lost_after intervals is lost.  After each batch of messages and each
//  tick it asks ha_owner what to do per PBX and carries it out through the listener:
//  take (the epoch is on disk and the Claim announced before the link starts), drop (at
//  once, before anything else), retry (the previous holder let go).
//
//  It also carries the replicated state (ha_state, the Clone pattern): this node's own
//  keys go to every peer as StateUpdates (the changes of one loop turn in one frame), the
//  heartbeat says how far this node's sequence has got, and a node that sees a gap asks
//  the source for a snapshot; at start it asks one peer for everything that peer holds.
//  Peers' liveness drives the sources' (a lost or restarted node's keys linger, then
//  expire at the tick).
//
//  Everything runs on the node's zloop.  Listener callbacks are called from ha_cluster's
//  own socket and timer handlers, never from inside ha_cluster_link_state, so the node
//  may start and stop links from them and report link state from its link callbacks.
#ifndef HA_CLUSTER_H
#define HA_CLUSTER_H

#include <czmq.h>

#include "ha_curve.h"
#include "ha_owner.h"
#include "proto_cluster.h"
#include "ha_state.h"

#define HA_ENDPOINT_MAX 256
#define HA_PATH_MAX 256

typedef struct ha_cluster ha_cluster_t;

//  Log levels, in node_log's order (the node maps them one to one).
typedef enum { HA_LOG_ERROR, HA_LOG_WARNING, HA_LOG_NOTICE, HA_LOG_INFO, HA_LOG_DEBUG } ha_log_level_t;

typedef struct {
    char id[HA_NAME_MAX];
    char endpoint[HA_ENDPOINT_MAX];     //  "host:port" of its ROUTER ("[v6addr]:port")
    char curve_key[HA_CURVE_KEY_TXT];   //  its public key (Z85), with CURVE
} ha_peer_cfg_t;

typedef struct {
    char node_id[HA_NAME_MAX];
    char listen[HA_NAME_MAX];           //  numeric address to bind ("0.0.0.0", "::")
    int port;                           //  1..65535
    ha_peer_cfg_t peers[HA_PEERS_MAX];
    size_t peer_count;                  //  >= 1
    int heartbeat_ms;                   //  interval between heartbeats
    int lost_after;                     //  silent intervals before a peer is lost
    char state_dir[HA_PATH_MAX];        //  epochs on disk (ha_epochs)
    size_t pbx_count;
    char pbx[HA_PBX_MAX][HA_NAME_MAX];
    int priority[HA_PBX_MAX];           //  this node's, per PBX (lower preferred)
    bool several_links[HA_PBX_MAX];     //  the PBX accepts several CSTA links (ha_owner.h)
    //  CURVE (ha/README.md "The bus"): this node's certificate, public_txt "" = plain.  With
    //  it the ROUTER is a CURVE server that lets in only the peers' curve_key, and every
    //  DEALER (ha_forward's too) a CURVE client that expects the peer's curve_key.
    ha_curve_cert_t curve;
} ha_cluster_cfg_t;

typedef struct {
    void *ctx;
    //  Start the link to pbx: this node holds it now with epoch (already on disk and
    //  announced).  The link keeps retrying until ha_cluster says drop.
    void (*take)(void *ctx, size_t pbx, uint64_t epoch);
    //  Stop the link to pbx at once (a higher epoch was seen, quorum was lost, shutdown).
    void (*drop)(void *ctx, size_t pbx, const char *why);
    //  The node holding pbx before let go: try to connect now instead of after the link's
    //  back-off.  May be NULL.
    void (*retry)(void *ctx, size_t pbx);
    //  One log line (without node and subsystem; the node adds "(ID) ha: ").
    void (*log)(void *ctx, ha_log_level_t level, const char *text);
    //  The replicated state changed (a key of any source set, removed or expired; this
    //  node's own included).  May be NULL.  It must not change the state from inside
    //  (ha_cluster_state_put / _delete return -EBUSY there): note and act later.
    void (*state_changed)(void *ctx, const ha_state_change_t *change);
    //  Peer `from` released pbx to `to` (a handover; `to` may be this node, which then
    //  takes it at once).  Called before the take.  May be NULL.
    void (*handed_over)(void *ctx, size_t pbx, const char *from, const char *to);
} ha_cluster_listener_t;

//  A cluster member for cfg (copied).  Reads the epochs in cfg->state_dir (making the
//  folder if needed).  NULL when cfg is unusable, the folder cannot be made or an epoch
//  file is unreadable or corrupt (each logged through listener->log).
ha_cluster_t *ha_cluster_new(zloop_t *loop, const ha_cluster_cfg_t *cfg,
                             const ha_cluster_listener_t *listener);
//  Give up every held link (listener drop "shutdown"), tell the peers (Release, flushed
//  for up to 200 ms when the process exits) and close.  Safe on NULL and twice.
void ha_cluster_destroy(ha_cluster_t **self_p);
//  Bind, connect to the peers, start heartbeats.  This node takes nothing until it has
//  heard every peer or lost_after intervals have passed.  Returns 0 or a negative errno
//  (-EADDRINUSE, -EINVAL for an endpoint ZeroMQ refuses).
int ha_cluster_start(ha_cluster_t *self);
//  The node's link to pbx came up or went down (from the link's callbacks: recorded here
//  and announced to the peers in a heartbeat at once; acted on at the next tick or
//  message).
void ha_cluster_link_state(ha_cluster_t *self, size_t pbx, bool up);

//  An application turned to this node (a client API session began here, new, resumed or
//  adopted; a CSTA application associated): the Binary Star vote of a pair on a
//  several-link PBX (ha_owner_app_arrived).  Acted on from ha_cluster's own timer, soon.
void ha_cluster_app_arrived(ha_cluster_t *self);

//  --- Extensions: what later slices hang on the bus (forwarding: ha_forward) ----------------
//  Called from ha_cluster's socket and timer handlers, like the listener.
typedef struct {
    void *ctx;
    //  A decoded message of a kind ha_cluster does not handle itself (anything but
    //  heartbeat, claim and release) from a configured peer, already counted as a sign of
    //  its life.  m is ha_cluster's: nothing may be kept from it.
    void (*on_message)(void *ctx, const proto_cluster_msg_t *m);
    //  A peer was lost (alive false), or heard for the first time or again (true).  A peer
    //  that restarted is reported false, then true.
    void (*on_peer)(void *ctx, const char *node, bool alive);
    //  ha_cluster has handled a batch of frames or a tick and carried out its decisions:
    //  owners, epochs and link states may have changed (ha_cluster_pbx_owner).
    void (*on_change)(void *ctx);
} ha_cluster_ext_t;

#define HA_CLUSTER_EXT_MAX 4
//  Add an extension (copied).  Returns 0 or -ENOSPC.
int ha_cluster_extend(ha_cluster_t *self, const ha_cluster_ext_t *ext);
//  The owner of pbx as this node sees it (itself when it holds the link; else the best
//  claim a live peer names for a live node), into owner[cap], with its epoch and whether
//  the owner's link is up (this node's own link, or what the owner's last heartbeat said).
//  Returns false (owner "", link_up false, epoch the highest seen) when nobody holds it.
bool ha_cluster_pbx_owner(const ha_cluster_t *self, size_t pbx, char *owner, size_t cap,
                          uint64_t *epoch, bool *link_up);
//  Make sock (a DEALER to peer node) speak as this node's DEALERs do: a CURVE client with
//  this node's certificate and the peer's key, or plain.  Before its connect.  1 (CURVE),
//  0 (plain), or -ENOENT for a node that is not a peer.
int ha_cluster_secure_dealer(const ha_cluster_t *self, zsock_t *sock, const char *node);
//  --- Handover (ha/README.md "Handover") --------------------------------------------------------

//  Whether pbx can be handed over from this node to node `to` now: the PBX's index, or a
//  negative errno with a reason in why: -ENOENT unknown PBX, -ESRCH unknown node, -EREMOTE
//  this node does not hold it (why names the holder), -EALREADY `to` is this node (it holds
//  it already), -ENOLINK no quorum, -EHOSTUNREACH `to` is not alive or does not serve pbx.
int ha_cluster_handover_check(const ha_cluster_t *self, const char *pbx, const char *to,
                              char *why, size_t why_cap);
//  Hand pbx over to `to` (checked as above): the listener's drop ("handover to X") stops
//  the link, a Release naming `to` leaves for every peer, and a heartbeat: `to` takes the
//  link at once with the next epoch, the others (this node included) stand aside until
//  it has claimed (or is lost, or sent 3 heartbeats without claiming).  Returns 0 or the
//  check's errno.  Not from inside the listener's callbacks.
int ha_cluster_handover(ha_cluster_t *self, const char *pbx, const char *to, char *why,
                        size_t why_cap);
//  This node holds pbx since it took it as a handover's target (the listener's take may
//  ask: the node holds its applications' requests until the link is up).
bool ha_cluster_took_by_handover(const ha_cluster_t *self, size_t pbx);
//  This process's incarnation (random per start), as its messages carry it.
uint64_t ha_cluster_incarnation(const ha_cluster_t *self);

//  --- Replicated state -------------------------------------------------------------------------

//  Set (or delete) one of this node's own keys (ha_state_put / ha_state_delete: the same
//  returns); the update leaves for every peer at the end of this loop turn, batched.
int64_t ha_cluster_state_put(ha_cluster_t *self, const char *key, const void *value, size_t len,
                             uint32_t linger_ms);
int64_t ha_cluster_state_delete(ha_cluster_t *self, const char *key);
//  The state, for reading (ha_registry's queries).  Borrowed.
const ha_state_t *ha_cluster_state(const ha_cluster_t *self);

//  The running state for /status and metrics.
typedef struct {
    char owner[HA_NAME_MAX];            //  as this node believes ("" none)
    uint64_t epoch;                     //  the owner's, or the highest seen
    bool held;                          //  this node holds it
    bool link_up;                       //  this node's link is up
} ha_cluster_pbx_stats_t;

//  The replicated state's traffic since start.
typedef struct {
    long updates_sent;                  //  own changes sent (entries, once per change)
    long updates_applied;               //  peers' changes applied
    long gaps;                          //  gaps seen (each asks for a snapshot)
    long snapshots_requested, snapshots_sent, snapshots_applied;
    long expired;                       //  keys of lost sources that expired
} ha_cluster_state_counters_t;

typedef struct {
    size_t peers, peers_alive;
    bool quorum, settled;
    long takeovers;                     //  links this node took
    long drops;                         //  links this node dropped (shutdown excluded)
    long bad_messages;                  //  frames that did not decode or came from strangers
    long send_dropped;                  //  heartbeats not queued (peer not connected, HWM)
    //  CURVE handshakes that failed, by reason: "in" of nodes connecting to this one,
    //  "out" of this node's DEALERs (ha_forward's are not watched: they fail alike).
    bool curve;
    long auth_failures_in[HA_CURVE_REASONS], auth_failures_out[HA_CURVE_REASONS];
    //  The replicated state
    uint64_t state_seq;                 //  this node's own last sequence
    size_t state_entries, state_sources;
    ha_cluster_state_counters_t state;
    size_t pbx_count;
    ha_cluster_pbx_stats_t pbx[HA_PBX_MAX];
} ha_cluster_stats_t;
void ha_cluster_stats(const ha_cluster_t *self, ha_cluster_stats_t *stats);
//  Configured node ids: 0 is this node, 1.. the peers in config order; NULL past the end.
const char *ha_cluster_node_id(const ha_cluster_t *self, size_t index);
//  The cluster as a JSON object (node, incarnation, quorum, settled, peers with alive,
//  last seen and incarnation, PBXs with owner, epoch, held, link, and the replicated
//  state: own sequence, keys, counters, sources with node, incarnation, seq, keys and
//  lost_ms_ago), a new string the caller frees; NULL when memory runs out.
char *ha_cluster_status_json(const ha_cluster_t *self);
//  s as a JSON string into out, for ha's /status builders.  Names are config values
//  (letters, digits, '.', '_', '-') and endpoints host:port: nothing needs escaping but a
//  quote, a backslash or a control character, which are written as '?'.
void ha_cluster_json_str(FILE *out, const char *s);

#endif
