//  ha_registry: what the replicated state (ha_state) holds about applications, and the two
//  questions the cluster asks of it: which devices must the holder of a PBX link monitor
//  (takeover, DESIGN.md invariant 2), and which session does a resume token belong to
//  (resume on any node).  Keys and values (cluster.proto "Values of the replicated state"):
//
//      s/HASH                 SessionRecord  a client API session
//      l/HASH/PBX/DEVICE      LineRecord     one of its open lines (line number, options)
//      m/PBX/DEVICE           MonitorRecord  the CSTA multiplexer's monitors on that node
//      g/PBX/DEVICE           LineRecord     a line the node guards for a lost node's session
//                                            that expired (call-forward-on-failure)
//
//  HASH is the first 16 bytes of the SHA-256 of the session's resume token, in hex: random,
//  so unique, and it says nothing about the token.  PBX and DEVICE are in the keys so that
//  the device query reads keys only.  DEVICE is ctimd's device registry key ("d:101",
//  "n:17891329").  The source node writes them (node_main.c); everything here only reads.
//
//  A session that moved to another node (resumed there) exists twice until the old copy
//  expires: the copy with more resumes wins, then one whose source is alive.  Only the
//  winning copy's lines count.
#ifndef HA_REGISTRY_H
#define HA_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha_state.h"
#include "proto_cluster.h"

#define HA_REGISTRY_HASH_HEX 33     //  32 hex digits and the NUL

//  --- Keys -----------------------------------------------------------------------------------

//  HASH of a token's SHA-256 (32 bytes).
void ha_registry_hash_hex(const uint8_t sha256[PROTO_CLUSTER_HASH_LEN],
                          char out[HA_REGISTRY_HASH_HEX]);
//  The keys; each returns 0 or -EINVAL (a part empty or holding '/', or too long).
int ha_registry_session_key(const char *hash, char *key, size_t cap);
int ha_registry_line_key(const char *hash, const char *pbx, const char *device, char *key,
                         size_t cap);
int ha_registry_monitor_key(const char *pbx, const char *device, char *key, size_t cap);
int ha_registry_guard_key(const char *pbx, const char *device, char *key, size_t cap);

//  --- Queries ----------------------------------------------------------------------------------

typedef void(ha_registry_device_fn)(void *ctx, const char *device);
//  Every device of pbx that an application anywhere in the cluster has open — the lines of
//  sessions (their winning copy) and the CSTA monitors, of live sources and of lost ones
//  whose keys still linger — each once, to fn.  Returns how many.
size_t ha_registry_devices(const ha_state_t *st, const char *pbx, ha_registry_device_fn *fn,
                           void *ctx);

//  Whether a session anywhere in the cluster (its winning copy, of a live source or a
//  lingering one, this node's own included) has device of pbx open as a line.  Call-
//  forward-on-failure across nodes: a lost node's line is guarded only while nobody has it.
bool ha_registry_line_open(const ha_state_t *st, const char *pbx, const char *device);

//  Every guarded line of pbx (g/ keys) of every source, live or lingering, to fn; a line
//  guarded by two sources (the link moved) comes twice.  Returns how many.  A node that
//  takes the link takes these over: it may have joined after the session expired.
typedef void(ha_registry_line_fn)(void *ctx, const proto_state_record_t *line);
size_t ha_registry_guards(const ha_state_t *st, const char *pbx, ha_registry_line_fn *fn,
                          void *ctx);

typedef struct {
    proto_state_record_t session;   //  its SessionRecord
    size_t source;                  //  the index of the source holding the winning copy
    ha_state_source_t info;         //  that source (node, incarnation, lost ...)
    char hash[HA_REGISTRY_HASH_HEX];
} ha_registry_session_t;

//  The session whose token's SHA-256 is sha256 (its whole 32 bytes compared in constant
//  time), in any source but this node's own current incarnation.  0, or -ENOENT.
int ha_registry_find_session(const ha_state_t *st, const uint8_t sha256[PROTO_CLUSTER_HASH_LEN],
                             ha_registry_session_t *out);
//  The index of the source whose copy of session hash wins (0 is this node's own), -1 when
//  no source has it.  A node whose session wins elsewhere lost it to another node (the
//  application resumed there).
int ha_registry_session_winner(const ha_state_t *st, const char *hash);
//  The lines of session hash in source: fn once per LineRecord.  Returns how many.
size_t ha_registry_session_lines(const ha_state_t *st, size_t source, const char *hash,
                                 ha_registry_line_fn *fn, void *ctx);

#endif
