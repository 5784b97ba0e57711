//  node_pbx_lines: learning line names from the PBX — after the link comes up, ask for the
//  device list (GetSwitchingFunctionDevices, then SwitchingFunctionDevices segments) and add
//  every device that has a dialling number and a name to the node's lines, unless the line
//  is already known: names an operator put in the config win.
#ifndef NODE_PBX_LINES_H
#define NODE_PBX_LINES_H

#include "node_lines.h"
#include "node_pbx.h"

typedef struct node_pbx_lines node_pbx_lines_t;

//  pbx is borrowed; *lines_p is the node's current lines object (SIGHUP replaces it, so the
//  object reads it through the pointer; query again after a reload).
node_pbx_lines_t *node_pbx_lines_new(node_pbx_t *pbx, node_lines_t *const *lines_p,
                                     const char *pbx_name);
void node_pbx_lines_destroy(node_pbx_lines_t **self_p);
//  Ask for the list (once at a time).  Returns 0, -EALREADY while a query runs, or the
//  request's error.  The result is logged: "(node) lines: 100 learned from pbx=main".
int node_pbx_lines_query(node_pbx_lines_t *self);
//  The link went down: a query in progress will get no more segments.
void node_pbx_lines_link_down(node_pbx_lines_t *self);
//  Lines learned by the last complete query.
size_t node_pbx_lines_learned(const node_pbx_lines_t *self);

#endif
