//  ha_owner: who holds each PBX link — the ownership rules of a ctim cluster as a pure
//  state machine.  No sockets, no clock, no disk: ha_cluster feeds it what the bus says
//  (peers alive or lost, their heartbeats, claims and releases) and what the local link
//  does, asks it per PBX what to do (take, drop, nothing), and carries the answer out.
//  Unit tests drive it directly (tests/unit/ha/ha_owner_test.c).
//
//  The rules (ha/README.md explains why):
//  - Rank: for each PBX every node has a priority (lower is preferred); ties go to the
//    node id that sorts first.  Claims are ordered by (epoch, node id): a higher epoch
//    wins, an equal epoch goes to the id that sorts first.
//  - Quorum: with three or more configured nodes a node has quorum while it sees a strict
//    majority of them, itself included.  A pair always has quorum: the PBX's one-link
//    rule breaks the tie (the backup's link is refused while the primary holds it), or on
//    a several-link PBX the applications do (below).
//  - Drop (checked first, whatever else holds): a node holding a link drops it at once
//    when any live peer announces an owner with a higher claim, or when it has no quorum.
//  - Take: a node that holds nothing takes the link with epoch = highest seen + 1 when it
//    has settled (after a start or a stall it first listens for lost_after intervals),
//    has quorum, no live peer names a live owner (failback is manual: a recovered
//    preferred node does not take the link from a live owner), and it ranks first among
//    the candidates: itself and the live peers that have quorum and this PBX configured —
//    and, for their first settle_beats heartbeats, live peers without quorum yet (a node
//    that just came back would otherwise lose a race it is meant to win).
//  - Handover: a Release naming a target makes the target take at once whatever its rank;
//    every other node (the releaser too) stands aside until the target claims, is lost, or
//    has sent 3 heartbeats without claiming.
//  - A PBX that takes several links (cfg.several_links) cannot break a tie itself:
//    - a pair follows the Binary Star rule (clients as the tie-breaker): a node whose peer
//      is not alive takes the link only once an application has turned to it since the
//      peer was last heard (ha_owner_app_arrived); a handover's target still takes at once;
//    - with three or more nodes a take that follows the owner's loss waits
//      HA_OWNER_MARGIN_BEATS more ticks (ha_owner_tick), so that the owner, cut off from the
//      majority, has dropped its link on losing quorum first.
//  - The epoch to take with must be on disk before the claim is announced (the caller
//    does that between ha_owner_decide and ha_owner_took).
#ifndef HA_OWNER_H
#define HA_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_NAME_MAX 64          //  node ids and PBX names
#define HA_PEERS_MAX 15         //  peers of one node (16 nodes in a cluster)
#define HA_PBX_MAX 32           //  PBXs of one node
//  Ticks a take waits after the owner's loss on a several-link PBX with three or more
//  nodes (ha/README.md "The rules": last heard up to 1 interval apart + 1 of detection).
#define HA_OWNER_MARGIN_BEATS 2

typedef struct ha_owner ha_owner_t;

typedef struct {
    char self[HA_NAME_MAX];                 //  this node's id
    size_t peer_count;                      //  1..HA_PEERS_MAX
    char peers[HA_PEERS_MAX][HA_NAME_MAX];  //  the other configured nodes
    size_t pbx_count;                       //  0..HA_PBX_MAX
    char pbx[HA_PBX_MAX][HA_NAME_MAX];      //  this node's PBXs
    int priority[HA_PBX_MAX];               //  this node's priority per PBX
    uint64_t epoch[HA_PBX_MAX];             //  the highest epoch on disk per PBX
    //  A peer that ranks before this node and is alive but without quorum yet (it just
    //  started or came back, and has not heard a majority) still blocks this node's take
    //  for its first settle_beats heartbeats: it will rank first once it has settled.
    //  0: only peers with quorum are candidates.  ha_cluster sets lost_after.
    unsigned settle_beats;
    //  The PBX accepts several CSTA links at once (pbx[].links several): it does not
    //  refuse a second node's link, so the cluster alone keeps it to one (rules above).
    bool several_links[HA_PBX_MAX];
} ha_owner_cfg_t;

//  What one node announced about one PBX (a heartbeat's PbxState).
typedef struct {
    char owner[HA_NAME_MAX];    //  "" none
    uint64_t epoch;
    bool link_up;               //  the announcing node's own link
    int priority;
} ha_owner_view_t;

typedef enum {
    HA_OWNER_NOTHING,           //  keep going as we are
    HA_OWNER_TAKE,              //  persist `epoch`, then ha_owner_took, announce, start the link
    HA_OWNER_DROP,              //  stop the link now, then ha_owner_dropped
} ha_owner_action_t;

const char *ha_owner_action_str(ha_owner_action_t action);

//  Why a node that would take a link waits (several-link PBXs only).
typedef enum {
    HA_OWNER_WAIT_NONE,
    HA_OWNER_WAIT_VOTE,         //  a pair, the peer not alive: for an application to turn here
    HA_OWNER_WAIT_MARGIN,       //  three or more nodes: the lost owner's drop, a few ticks
} ha_owner_wait_t;

const char *ha_owner_wait_str(ha_owner_wait_t wait);

//  NULL if cfg is unusable (no peer, too many, an id twice, self among the peers).
ha_owner_t *ha_owner_new(const ha_owner_cfg_t *cfg);
void ha_owner_destroy(ha_owner_t **self_p);

//  --- Inputs (peer = index into cfg.peers, pbx = index into cfg.pbx) -------------------------

//  A peer became reachable (its first message) or was lost.  A lost peer's announcements
//  are forgotten, but not the epochs they carried.
void ha_owner_peer_alive(ha_owner_t *self, size_t peer, bool alive);
//  A peer's heartbeat: its quorum flag and its view of each PBX, matched by name (PBXs
//  this node does not have are ignored; a PBX it does not list has no view from it).
//  The caller marks the peer alive first.
void ha_owner_heartbeat(ha_owner_t *self, size_t peer, bool quorum, const char *const *pbx_names,
                        const ha_owner_view_t *views, size_t count);
//  A peer's Claim: it took pbx with epoch.
void ha_owner_claim(ha_owner_t *self, size_t peer, size_t pbx, uint64_t epoch);
//  A peer's Release: it gave pbx up (it held it with epoch).  Until its next heartbeat it
//  is no candidate for pbx, so the next in rank takes the link at once.
void ha_owner_release(ha_owner_t *self, size_t peer, size_t pbx, uint64_t epoch);
//  A Release naming a target node (a handover; `to` NULL or "": ha_owner_release).  The
//  target, if it is this node, takes pbx at once whatever its rank (settled and with
//  quorum, no live peer naming an owner); any other node is no candidate for pbx until
//  the target claims it, is lost, or has sent 3 heartbeats without claiming it.
void ha_owner_release_to(ha_owner_t *self, size_t peer, size_t pbx, uint64_t epoch,
                         const char *to);
//  This node's link to pbx is up (associated) or not.
void ha_owner_link(ha_owner_t *self, size_t pbx, bool up);
//  An application turned to this node: a client API session began here (new, resumed or
//  adopted) or a CSTA application associated.  In a pair on a several-link PBX it is the
//  vote that lets a node whose peer is not alive take the link, if it came after the
//  peer was last heard (applications that were here before say nothing about the peer).
void ha_owner_app_arrived(ha_owner_t *self);
//  One heartbeat interval passed (ha_cluster calls it first thing at each tick): counts
//  down the margin after an owner's loss.
void ha_owner_tick(ha_owner_t *self);
//  Settled: this node has listened long enough since it started (or since its loop
//  stalled) to know the cluster; until then it takes nothing.
void ha_owner_settle(ha_owner_t *self, bool settled);

//  --- Decisions ------------------------------------------------------------------------------

//  What this node should do about pbx now.  TAKE sets *epoch to the epoch to claim; DROP
//  sets it to the higher epoch seen (or to the held one when quorum is lost).  why
//  (may be NULL) gets a reason for the log: "higher epoch 7 from node-b (via node-c)".
ha_owner_action_t ha_owner_decide(const ha_owner_t *self, size_t pbx, uint64_t *epoch, char *why,
                                  size_t why_cap);
//  Whether this node would take pbx now but waits for a vote or the margin (rules above);
//  why (may be NULL) gets a sentence for the log.
ha_owner_wait_t ha_owner_waiting(const ha_owner_t *self, size_t pbx, char *why, size_t why_cap);
//  The caller persisted epoch and now holds pbx (announce it, start the link).
void ha_owner_took(ha_owner_t *self, size_t pbx, uint64_t epoch);
//  The caller stopped the link: pbx is no longer held.
void ha_owner_dropped(ha_owner_t *self, size_t pbx);
//  This node hands pbx over to peer: it is no longer held (as ha_owner_dropped; the caller
//  stopped the link and sends a Release naming the peer), and this node is no candidate
//  until the peer claims it, is lost, or has sent 3 heartbeats without claiming it.
//  Returns 0, -EPERM (not held), -EHOSTUNREACH (peer not alive), -EINVAL.
int ha_owner_hand_over(ha_owner_t *self, size_t pbx, size_t peer);
//  This node holds pbx since it took it as a handover's target.
bool ha_owner_took_by_handover(const ha_owner_t *self, size_t pbx);
//  The peer a handover of pbx is waiting for (this node's or a peer's), -1 none.
int ha_owner_handover_target(const ha_owner_t *self, size_t pbx);
//  True once after a peer let go of pbx (its link went down, it released it, or it came
//  back without a link) while this node holds it without a link: the caller retries its
//  link now rather than after its back-off.
bool ha_owner_take_kick(ha_owner_t *self, size_t pbx);

//  --- State ----------------------------------------------------------------------------------

bool ha_owner_quorum(const ha_owner_t *self);
size_t ha_owner_alive_count(const ha_owner_t *self);   //  live peers (without this node)
bool ha_owner_peer_is_alive(const ha_owner_t *self, size_t peer);
//  The epoch this node holds pbx with, 0 when it does not hold it.
uint64_t ha_owner_held(const ha_owner_t *self, size_t pbx);
//  The highest epoch seen or issued for pbx (what must be on disk).
uint64_t ha_owner_max_epoch(const ha_owner_t *self, size_t pbx);
//  What live peer `peer` last announced about pbx (its heartbeat or claim); false when it
//  is not alive or announced nothing about pbx.
bool ha_owner_peer_view(const ha_owner_t *self, size_t peer, size_t pbx, ha_owner_view_t *view);
//  This node's view of pbx, as its heartbeat announces it: itself when it holds the link;
//  else the highest claim a live peer names for a node that is itself alive here; else
//  no owner and the highest epoch seen.
void ha_owner_view(const ha_owner_t *self, size_t pbx, ha_owner_view_t *view);

#endif
