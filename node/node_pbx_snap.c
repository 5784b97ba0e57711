//  node_pbx_snap: a segmented SnapshotDevice answer collected into one result (node_pbx_snap.h).
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node_pbx_snap.h"

struct node_pbx_snap {
    bool has_xref, last, failed;
    csta_xref_t xref;
    size_t segments;
    size_t count;
    csta_snapshot_device_item_t *items;     //  NODE_PBX_SNAP_ITEMS_MAX at most, grown
    size_t cap;
};

node_pbx_snap_t *node_pbx_snap_new(void)
{
    return calloc(1, sizeof(node_pbx_snap_t));
}

void node_pbx_snap_destroy(node_pbx_snap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

//  The snapshot's cross-reference: the first one seen, then every one must match.
static int s_xref(node_pbx_snap_t *self, const csta_xref_t *xref)
{
    if (!self->has_xref) {
        self->xref = *xref;
        self->has_xref = true;
        return 0;
    }
    return csta_xref_equal(&self->xref, xref) ? 0 : -ESRCH;
}

int node_pbx_snap_expect(node_pbx_snap_t *self, const csta_xref_t *xref)
{
    int rc = s_xref(self, xref);
    if (rc)
        self->failed = true;
    return rc;
}

static int s_append(node_pbx_snap_t *self, const csta_snapshot_device_data_t *data)
{
    if (data->count > NODE_PBX_SNAP_ITEMS_MAX - self->count)
        return -EMSGSIZE;
    size_t need = self->count + data->count;
    if (need > self->cap) {
        size_t cap = self->cap ? self->cap : 8;
        while (cap < need)
            cap *= 2;
        if (cap > NODE_PBX_SNAP_ITEMS_MAX)
            cap = NODE_PBX_SNAP_ITEMS_MAX;
        csta_snapshot_device_item_t *grown = realloc(self->items, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        self->items = grown;
        self->cap = cap;
    }
    //  Plain values (ids, states, bit strings): copied out of the decoded segment.
    if (data->count)
        memcpy(self->items + self->count, data->item, data->count * sizeof *data->item);
    self->count = need;
    return 0;
}

int node_pbx_snap_add(node_pbx_snap_t *self, const uint8_t *apdu, size_t len)
{
    if (self->failed || self->last)
        return -EALREADY;
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    if (rc || a.kind != CSTA_APDU_INVOKE || a.opcode != CSTA_OP_SNAPSHOT_DEVICE_DATA)
        rc = -EBADMSG;
    if (rc == 0) {
        const csta_snapshot_device_data_arg_t *seg = &a.svc.snapshot_device_data;
        rc = s_xref(self, &seg->service_xref);
        if (rc == 0 && ++self->segments > NODE_PBX_SNAP_SEGMENTS_MAX)
            rc = -EMSGSIZE;
        if (rc == 0)
            rc = s_append(self, &seg->snapshot_data);
        if (rc == 0 && seg->last_segment) {
            self->last = true;
            rc = 1;
        }
    }
    csta_apdu_clear(&a);
    if (rc < 0)
        self->failed = true;
    return rc;
}

bool node_pbx_snap_complete(const node_pbx_snap_t *self)
{
    return self->has_xref && self->last && !self->failed;
}

size_t node_pbx_snap_segments(const node_pbx_snap_t *self)
{
    return self->segments;
}

size_t node_pbx_snap_count(const node_pbx_snap_t *self)
{
    return self->count;
}

int node_pbx_snap_result(const node_pbx_snap_t *self, long invoke_id, uint8_t **out,
                         size_t *len)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = invoke_id;
    r.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    r.svc.snapshot_device_res.snapshot_data.count = self->count;
    r.svc.snapshot_device_res.snapshot_data.item = self->items;
    //  A call's item takes well under 256 bytes; the frame limit is 64 KiB.
    size_t cap = 512 + self->count * 256;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    int rc = csta_apdu_encode(&r, buf, cap, len);
    if (rc) {
        free(buf);
        return rc == -ENOSPC ? -EMSGSIZE : rc;
    }
    *out = buf;
    return 0;
}
