//  ha: the cluster side of ctim — membership and heartbeats between nodes, link ownership
//  with epochs that only grow, forwarding to the link's owner, the replicated state
//  (sessions, lines, monitors) — the one header others include.  ha/README.md has the
//  design, the rules, config keys and metrics, and what later slices add.
#ifndef HA_H
#define HA_H

#include "ha_cluster.h"
#include "ha_curve.h"
#include "ha_epochs.h"
#include "ha_forward.h"
#include "ha_owner.h"
#include "ha_registry.h"
#include "ha_state.h"

#endif
