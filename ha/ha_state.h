//  ha_state: the cluster's replicated key-value state, kept the way the ZeroMQ guide's
//  Clone pattern keeps it (a snapshot plus sequenced updates), with one source per node
//  incarnation: every node is the only writer of its own keys, numbers each change of
//  them 1, 2, 3 ... within its incarnation, and holds a copy of every other source.
//
//  Pure: no sockets, no clock (callers pass `now`, monotonic ms), no disk.  ha_cluster
//  carries updates and snapshots over the bus and reports liveness; ha_registry gives the
//  keys and values their meaning; tests drive it directly (tests/unit/ha/ha_state_test.c).
//
//  - Own keys: put / delete make the next sequence number; the caller sends the update.
//  - Other sources: an update is applied only in sequence (APPLIED); one already held is a
//    DUPLICATE; one beyond the next is a GAP (nothing changes: the caller asks the source
//    for a snapshot).  A snapshot replaces what is held of its source at once.
//  - Liveness: a source is (node, incarnation).  A node heard with a new incarnation
//    restarted: its older incarnations are lost.  The keys of a lost source stay for
//    their own linger_ms (given by the source with each key), so that a lost node's
//    applications can resume elsewhere, then expire; a source that lost keys this way
//    holds sequence 0 again, so that a snapshot fills it if it ever comes back.
//  - Every change of what is held (set, removed, expired) is reported to one listener.
//    The listener must not change the state from inside (put, delete, apply ... return
//    -EBUSY / REFUSED then).
#ifndef HA_STATE_H
#define HA_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_STATE_KEY_MAX 192        //  a key with its NUL (cluster.proto: 191 bytes)
#define HA_STATE_VALUE_MAX 512      //  a value
#define HA_STATE_SOURCES_MAX 128    //  sources held (nodes x incarnations still lingering)

typedef struct ha_state ha_state_t;

typedef enum {
    HA_STATE_SET,                   //  a key is new or has a new value
    HA_STATE_REMOVED,               //  deleted by its source, or gone with a snapshot
    HA_STATE_EXPIRED,               //  its source was lost linger_ms ago
} ha_state_change_kind_t;

typedef struct {
    ha_state_change_kind_t kind;
    const char *node;               //  the source
    uint64_t incarnation;
    bool own;                       //  this node's current incarnation
    const char *key;
    const uint8_t *value;           //  SET: the new value; else the value it had
    size_t len;
} ha_state_change_t;

typedef void(ha_state_change_fn)(void *ctx, const ha_state_change_t *change);

typedef enum {
    HA_STATE_APPLIED,
    HA_STATE_DUPLICATE,             //  held already (or a stale snapshot): nothing changed
    HA_STATE_GAP,                   //  an update was missed: ask the source for a snapshot
    HA_STATE_REFUSED,               //  this node's own incarnation, a bad entry, or busy
} ha_state_result_t;

const char *ha_state_result_str(ha_state_result_t result);

//  One key as an update or a snapshot carries it.
typedef struct {
    const char *key;
    const uint8_t *value;
    size_t len;
    bool deleted;                   //  updates only
    uint32_t linger_ms;
} ha_state_entry_t;

//  The state of this node (node id, incarnation).  NULL when out of memory or node is
//  empty.
ha_state_t *ha_state_new(const char *node, uint64_t incarnation);
void ha_state_destroy(ha_state_t **self_p);
//  The one listener (fn NULL: none).
void ha_state_listen(ha_state_t *self, ha_state_change_fn *fn, void *ctx);

//  --- This node's own keys ------------------------------------------------------------------

//  Set key to value (len bytes); linger_ms: how long the key outlives this incarnation.
//  Returns the update's sequence number (> 0); 0 when nothing changed (same value and
//  linger); -EINVAL (key empty or too long, value too long), -ENOMEM, -EBUSY (from inside
//  a change callback).
int64_t ha_state_put(ha_state_t *self, const char *key, const void *value, size_t len,
                     uint32_t linger_ms);
//  Delete key: its sequence number, 0 when it was not there, -EBUSY.
int64_t ha_state_delete(ha_state_t *self, const char *key);
//  The last sequence number this incarnation made (0: none).
uint64_t ha_state_own_seq(const ha_state_t *self);

//  --- Other sources ---------------------------------------------------------------------------

//  Update number seq of source (node, incarnation).  An unknown source starts with seq 1.
ha_state_result_t ha_state_apply(ha_state_t *self, const char *node, uint64_t incarnation,
                                 uint64_t seq, const ha_state_entry_t *entry);
//  The sequence held for (node, incarnation): what it has applied; 0 when unknown.
uint64_t ha_state_seq(const ha_state_t *self, const char *node, uint64_t incarnation);

//  A snapshot being received: entries are staged here, then applied at once.
typedef struct ha_state_snap ha_state_snap_t;
ha_state_snap_t *ha_state_snap_new(const char *node, uint64_t incarnation);
//  Stage one entry (a deleted one is ignored).  0, -EINVAL, -ENOMEM.
int ha_state_snap_add(ha_state_snap_t *snap, const ha_state_entry_t *entry);
void ha_state_snap_destroy(ha_state_snap_t **snap_p);
//  Replace what is held of the snapshot's source with its entries, at seq (takes *snap_p
//  and sets it NULL).  lost_ms_ago > 0: the sender has seen the source lost for that long
//  (a source this node knows alive stays alive).  APPLIED; DUPLICATE when this node holds
//  a later sequence of that source already (nothing changes); REFUSED for this node's own
//  incarnation, too many sources, or from inside a callback.
ha_state_result_t ha_state_snap_apply(ha_state_t *self, ha_state_snap_t **snap_p, uint64_t seq,
                                      uint64_t lost_ms_ago, int64_t now);

//  --- Liveness and expiry ---------------------------------------------------------------------

//  node is alive as incarnation: that source is live (made empty when unknown); every
//  other incarnation of node is lost from now (the node restarted).
void ha_state_node_alive(ha_state_t *self, const char *node, uint64_t incarnation, int64_t now);
//  node is lost: its sources are lost from now (those lost before keep their time).
void ha_state_node_lost(ha_state_t *self, const char *node, int64_t now);
//  Remove the keys of lost sources whose linger has passed (HA_STATE_EXPIRED); a lost
//  source left without keys goes.  Returns how many keys expired.
size_t ha_state_expire(ha_state_t *self, int64_t now);
//  When the next key of a lost source expires; INT64_MAX when none will.
int64_t ha_state_next_expiry(const ha_state_t *self);

//  --- Reading ---------------------------------------------------------------------------------

typedef struct {
    const char *node;
    uint64_t incarnation;
    uint64_t seq;
    bool own;                       //  this node's current incarnation
    bool lost;
    int64_t lost_at;                //  when lost (monotonic ms)
    size_t entries;
} ha_state_source_t;

//  Sources held, this node's own first (index 0).  Indexes hold until the state changes.
size_t ha_state_source_count(const ha_state_t *self);
bool ha_state_source(const ha_state_t *self, size_t index, ha_state_source_t *out);
//  The index of source (node, incarnation), or -1.
int ha_state_source_index(const ha_state_t *self, const char *node, uint64_t incarnation);
//  The value of key in source index, NULL when absent; *len and *linger_ms (may be NULL)
//  get its length and linger.  Borrowed until the state changes.
const uint8_t *ha_state_get(const ha_state_t *self, size_t index, const char *key, size_t *len,
                            uint32_t *linger_ms);
//  fn for every key of source index, in no particular order.  fn must not change the
//  state nor walk the same source again.
typedef void(ha_state_visit_fn)(void *ctx, const char *key, const uint8_t *value, size_t len,
                                uint32_t linger_ms);
void ha_state_each(const ha_state_t *self, size_t index, ha_state_visit_fn *fn, void *ctx);
//  Keys held, all sources.
size_t ha_state_entry_count(const ha_state_t *self);

#endif
