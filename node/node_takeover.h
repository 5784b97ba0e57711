//  node_takeover: the devices a node monitors for the whole cluster while it holds a PBX
//  link (DESIGN.md invariant 2) — every device that an application anywhere has open, as
//  the replicated state says (ha_registry_devices: client API lines and CSTA multiplexer
//  monitors, of every node, a lost node's included until its sessions expire).  One
//  node_pbx watch per device: node_pbx shares the PBX monitor with the node's own
//  applications' watches, monitors every watched device again (pipelined) when the link
//  comes up, and snapshots each.  So a node that takes a link over monitors the devices of
//  the lost node's applications before they arrive to resume here.  Events of these
//  watches are for nobody (node_main drops them: node_takeover_owns).
//
//      node_takeover_begin(t, i);
//      ha_registry_devices(state, pbx_name, each device -> node_takeover_add(t, i, pbx, dev))
//      node_takeover_end(t, i, pbx);     //  devices not added since begin are unwatched
//
//  and node_takeover_clear(t, i, pbx) when the link is given up.  Everything on the loop.
#ifndef NODE_TAKEOVER_H
#define NODE_TAKEOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "node_config.h"
#include "node_pbx.h"

typedef struct node_takeover node_takeover_t;

//  NULL when out of memory.
node_takeover_t *node_takeover_new(void);
//  Unwatch everything (each PBX service must still exist: call before node_pbx_destroy).
//  pbx[i] is PBX i's service (NULL: skip).  Safe on NULL; sets *self_p to NULL.
void node_takeover_destroy(node_takeover_t **self_p, node_pbx_t *const *pbx, size_t pbx_count);

//  A new set of devices for PBX i (i < NODE_PBX_MAX) starts.
void node_takeover_begin(node_takeover_t *self, size_t i);
//  device (a registry key: "d:DIGITS" or "n:NUMBER") is in PBX i's set: watched from now
//  on.  Returns 0, -EINVAL (not such a key), -ENOMEM.
int node_takeover_add(node_takeover_t *self, size_t i, node_pbx_t *pbx, const char *device);
//  Unwatch PBX i's devices not added since begin.  Returns how many are watched.
size_t node_takeover_end(node_takeover_t *self, size_t i, node_pbx_t *pbx);
//  Unwatch every device of PBX i.
void node_takeover_clear(node_takeover_t *self, size_t i, node_pbx_t *pbx);

//  The watch is one of these.
bool node_takeover_owns(const node_takeover_t *self, const node_pbx_watch_t *watch);
//  Devices watched for PBX i.
size_t node_takeover_count(const node_takeover_t *self, size_t i);

#endif
