//  node_ptrmap: a czmq zhashx keyed by pointer identity — the key is the pointer itself,
//  never copied nor freed.  The client API, the failure guard and the takeover find their
//  own node_pbx watches with one (node_pbx hands out events by watch).
#ifndef NODE_PTRMAP_H
#define NODE_PTRMAP_H

#include <czmq.h>

//  A new table (zhashx_destroy frees it; items are the caller's).  NULL when out of memory.
zhashx_t *node_ptrmap_new(void);

#endif
