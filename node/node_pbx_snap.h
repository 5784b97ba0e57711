//  node_pbx_snap: one SnapshotDevice answered in segments, collected into the single result
//  its requester reads.  ECMA-269 SnapshotDevice: the result carries either the snapshot or
//  a serviceCrossRefID; with the latter the calls follow in SnapshotDeviceData invokes
//  (opcode 77, no response) carrying that cross-reference, the last one marked lastSegment
//  (csta-facts.md, services table).  Bookkeeping only (no I/O, no loop): node_pbx feeds it
//  and bounds the wait in time.
//
//      node_pbx_snap_t *snap = node_pbx_snap_new();
//      node_pbx_snap_expect(snap, &res->service_xref);     //  the result
//      rc = node_pbx_snap_add(snap, apdu, len);            //  each segment: 1 = last
//      node_pbx_snap_result(snap, invoke_id, &buf, &n);    //  one SnapshotDevice result
//
//  A PBX that sends segments without end must not hold memory: more than
//  NODE_PBX_SNAP_SEGMENTS_MAX segments or NODE_PBX_SNAP_ITEMS_MAX calls is an error.
#ifndef NODE_PBX_SNAP_H
#define NODE_PBX_SNAP_H

#include <stdbool.h>
#include <stddef.h>

#include "csta.h"

#define NODE_PBX_SNAP_SEGMENTS_MAX 64       //  segments of one snapshot
#define NODE_PBX_SNAP_ITEMS_MAX 256         //  calls at one device, all segments together

typedef struct node_pbx_snap node_pbx_snap_t;

node_pbx_snap_t *node_pbx_snap_new(void);
void node_pbx_snap_destroy(node_pbx_snap_t **self_p);

//  The result's serviceCrossRefID (segments may come before it, through the cluster).
//  Returns 0, or -ESRCH when segments of another cross-reference came first.
int node_pbx_snap_expect(node_pbx_snap_t *self, const csta_xref_t *xref);

//  One SnapshotDeviceData invoke.  Returns 1 when it was the last segment, 0 when more are
//  to come, or -EBADMSG (not a SnapshotDeviceData that decodes), -ESRCH (another
//  snapshot's cross-reference), -EMSGSIZE (beyond the bounds), -ENOMEM.  After an error,
//  or after the last segment, further segments return -EALREADY.
int node_pbx_snap_add(node_pbx_snap_t *self, const uint8_t *apdu, size_t len);

//  The cross-reference is known and the last segment came.
bool node_pbx_snap_complete(const node_pbx_snap_t *self);
size_t node_pbx_snap_segments(const node_pbx_snap_t *self);
size_t node_pbx_snap_count(const node_pbx_snap_t *self);

//  The calls collected as one SnapshotDevice result (snapshotData, no cross-reference) with
//  invoke_id, encoded into *out (the caller frees it).  Returns 0, -ENOMEM, or -EMSGSIZE.
int node_pbx_snap_result(const node_pbx_snap_t *self, long invoke_id, uint8_t **out,
                         size_t *len);

#endif
