//  node_pbx_devices: the device registry of node_pbx — every device that has watches or a
//  PBX monitor, its watches, the PBX's cross-reference of its monitor, and the calls
//  believed to be at it.  Bookkeeping only (no I/O, no loop), so that it is unit tested
//  on its own; node_pbx decides when monitors start and stop.
#ifndef NODE_PBX_DEVICES_H
#define NODE_PBX_DEVICES_H

#include "csta.h"
#include "node_pbx.h"

#define NODE_PBX_DEVICE_CALLS_MAX 16        //  calls tracked per device; more are not kept
#define NODE_PBX_DEVICE_KEY_MAX (CSTA_DIGITS_MAX + 3)

//  The PBX monitor of a device.
typedef enum {
    NODE_PBX_MON_NONE,          //  not monitored at the PBX
    NODE_PBX_MON_STARTING,      //  MonitorStart sent, no answer yet
    NODE_PBX_MON_ACTIVE,        //  monitored; xref routes its events
    NODE_PBX_MON_STOPPING,      //  MonitorStop sent, no answer yet
} node_pbx_mon_t;

const char *node_pbx_mon_str(node_pbx_mon_t mon);

//  A call id as the PBX gave it (ECMA-269 CallID is opaque octets).
typedef struct {
    uint8_t len;
    uint8_t id[CSTA_CALL_ID_MAX];
} node_pbx_call_id_t;

typedef struct node_pbx_device node_pbx_device_t;

//  One front end's watch of a device (node_pbx.h).  device is set while it is attached.
struct node_pbx_watch {
    node_pbx_device_t *device;
    node_pbx_watch_t *prev, *next;      //  the device's watches
    node_pbx_watch_done_fn *done;
    void *arg;
    bool done_pending;                  //  done not called yet
    bool dead;                          //  unwatched while its device dispatched an event
    //  node_pbx's queue of done calls to make from the loop
    node_pbx_watch_t *done_next;
    bool done_queued;
    int done_status;
};

struct node_pbx_device {
    char key[NODE_PBX_DEVICE_KEY_MAX];  //  "d:101" (dialingNumber), "n:17891329" (deviceNumber)
    csta_device_t id;                   //  as the first watch named it
    node_pbx_device_t *prev, *next;     //  registry order (oldest first)

    node_pbx_watch_t *watches;          //  newest first
    int watch_count;                    //  live watches (dead ones excluded)

    node_pbx_mon_t mon;
    bool has_xref;
    csta_xref_t xref;

    int call_count;
    node_pbx_call_id_t calls[NODE_PBX_DEVICE_CALLS_MAX];

    //  Left to node_pbx: its work on the device.
    void *owner;                        //  the node_pbx (replies to its requests find it)
    int op;                             //  the internal request in flight (0: none)
    bool queued;                        //  waiting for a free slot in the window
    node_pbx_device_t *queue_prev, *queue_next;
    bool want_snapshot;                 //  SnapshotDevice once monitored
    bool retry_wait;                    //  MonitorStart failed: wait for the retry timer
    bool resync;                        //  part of the re-monitor after a link came up
    //  The remote backing (forwarding to the link's owner; node_pbx_remote.h)
    bool rwatch;                        //  watched through the owner (ha_forward's set)
    int rstate;                         //  how the owner took it (node_pbx.c's S_R_*)
    bool stale;                         //  events lost: its watches hear on_watch_stale
                                        //  once the owner's snapshot is answered
    int dispatching;                    //  events being handed to watches (no freeing)
    int snap_count;                     //  snapshot segments gathered so far
    bool snap_overflow;
    node_pbx_call_id_t snap[NODE_PBX_DEVICE_CALLS_MAX];
};

typedef struct node_pbx_devices node_pbx_devices_t;

node_pbx_devices_t *node_pbx_devices_new(void);
//  Destroy the registry with its devices and their watches.  Safe on NULL and twice.
void node_pbx_devices_destroy(node_pbx_devices_t **self_p);

//  The registry key of a device id: dialing number or deviceNumber; -EINVAL for other
//  forms (not routing keys: csta_peek.h).
int node_pbx_device_key(const csta_device_t *id, char *key, size_t cap);

node_pbx_device_t *node_pbx_devices_find(node_pbx_devices_t *self, const csta_device_t *id);
//  The same by registry key ("d:101"); NULL when there is no such device.
node_pbx_device_t *node_pbx_devices_find_key(node_pbx_devices_t *self, const char *key);
//  Find or create the device; NULL for an id of another form or when memory runs out.
node_pbx_device_t *node_pbx_devices_add(node_pbx_devices_t *self, const csta_device_t *id);
//  Forget a device (it must have no watches; its xref is unmapped).  Sets *dev_p to NULL.
void node_pbx_devices_remove(node_pbx_devices_t *self, node_pbx_device_t **dev_p);
node_pbx_device_t *node_pbx_devices_first(node_pbx_devices_t *self);
size_t node_pbx_devices_size(const node_pbx_devices_t *self);

//  Map the device's monitor cross-reference (NULL: unmap).  Returns 0, or -EEXIST when
//  another device holds that xref (the PBX reused one: the other loses it), -ENOMEM.
int node_pbx_devices_set_xref(node_pbx_devices_t *self, node_pbx_device_t *dev,
                              const csta_xref_t *xref);
node_pbx_device_t *node_pbx_devices_by_xref(node_pbx_devices_t *self, const csta_xref_t *xref);

//  Attach / detach a watch (watch_count follows).
void node_pbx_device_watch_add(node_pbx_device_t *dev, node_pbx_watch_t *watch);
void node_pbx_device_watch_remove(node_pbx_device_t *dev, node_pbx_watch_t *watch);

//  --- Calls at a device --------------------------------------------------------------------------

bool node_pbx_device_has_call(const node_pbx_device_t *dev, const uint8_t *id, size_t len);
void node_pbx_device_call_add(node_pbx_device_t *dev, const uint8_t *id, size_t len);
void node_pbx_device_call_remove(node_pbx_device_t *dev, const uint8_t *id, size_t len);

//  Follow the calls at the device from one of its events (keys from csta_peek, apdu the
//  event's bytes): a call appears with any call event and leaves with CallCleared, the
//  device's own ConnectionCleared, a diversion away, or a transfer by the device;
//  Transferred and Conferenced replace old calls by the resulting ones (decoded for that).
void node_pbx_device_track_event(node_pbx_device_t *dev, const csta_peek_t *keys,
                                 const uint8_t *apdu, size_t len);

//  A snapshot of the device says which calls it has (snap[0..count)): the calls kept
//  become exactly those; the ones the PBX no longer has are copied to gone[0..gone_cap).
//  Returns how many are gone (may exceed gone_cap).
int node_pbx_device_calls_reconcile(node_pbx_device_t *dev, const node_pbx_call_id_t *snap,
                                    int count, node_pbx_call_id_t *gone, int gone_cap);

//  Call id as hex for logs ("0a1f"), into buf.
const char *node_pbx_call_id_str(const node_pbx_call_id_t *call, char *buf, size_t cap);

#endif
