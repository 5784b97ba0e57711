//  node_pbx_lines: line names from the PBX's device list (node_pbx_lines.h).
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"
#include "node_pbx_lines.h"

struct node_pbx_lines {
    node_pbx_t *pbx;
    node_lines_t *const *lines_p;
    char pbx_name[NODE_NAME_MAX];
    bool busy;              //  a query is running
    size_t found;           //  lines added by the running query
    size_t learned;         //  lines added by the last complete query
};

node_pbx_lines_t *node_pbx_lines_new(node_pbx_t *pbx, node_lines_t *const *lines_p,
                                     const char *pbx_name)
{
    node_pbx_lines_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pbx = pbx;
    self->lines_p = lines_p;
    snprintf(self->pbx_name, sizeof self->pbx_name, "%s", pbx_name);
    return self;
}

void node_pbx_lines_destroy(node_pbx_lines_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

size_t node_pbx_lines_learned(const node_pbx_lines_t *self)
{
    return self->learned;
}

void node_pbx_lines_link_down(node_pbx_lines_t *self)
{
    if (self->busy)
        node_info("lines", "device list from pbx=%s cut short by the link (%zu so far)",
                  self->pbx_name, self->found);
    self->busy = false;
}

//  The GetSwitchingFunctionDevices result: the list follows in segments, or it failed.
static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    node_pbx_lines_t *self = arg;
    csta_apdu_t a;
    int rc = status ? status : csta_apdu_decode(&a, apdu, len);
    bool ok = rc == 0 && a.kind == CSTA_APDU_RESULT;
    if (rc == 0)
        csta_apdu_clear(&a);
    if (!ok) {
        //  Not every PBX offers the service; configured lines still work.
        node_info("lines", "pbx=%s gave no device list (%s)", self->pbx_name,
                  rc ? strerror(-rc) : "refused");
        self->busy = false;
    }
}

//  One SwitchingFunctionDevices segment.
static void s_on_segment(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    node_pbx_lines_t *self = arg;
    (void) keys;
    if (!self->busy)
        return;
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len) != 0 || a.opcode != CSTA_OP_SWITCHING_FUNCTION_DEVICES) {
        csta_apdu_clear(&a);
        return;
    }
    const csta_switching_function_devices_arg_t *seg = &a.svc.switching_function_devices;
    for (size_t i = 0; i < seg->device_list.count; i++) {
        const csta_device_t *dev = &seg->device_list.item[i].device_id;
        if (dev->kind != CSTA_DEV_DIALING || !dev->name[0] ||
            node_lines_name(*self->lines_p, dev->digits))
            continue;
        if (node_lines_set(*self->lines_p, dev->digits, dev->name) == 0)
            self->found++;
    }
    if (seg->last_segment) {
        self->learned = self->found;
        self->busy = false;
        node_notice("lines", "%zu learned from pbx=%s (%zu lines known)", self->learned,
                    self->pbx_name, node_lines_count(*self->lines_p));
    }
    csta_apdu_clear(&a);
}

int node_pbx_lines_query(node_pbx_lines_t *self)
{
    if (self->busy)
        return -EALREADY;
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES;
    req.invoke_id = 1;      //  replaced by the PBX service
    uint8_t buf[64];
    size_t len;
    int rc = csta_apdu_encode(&req, buf, sizeof buf, &len);
    if (rc == 0)
        rc = node_pbx_request(self->pbx, buf, len, 30000, s_on_reply, s_on_segment, self);
    if (rc == 0) {
        self->busy = true;
        self->found = 0;
    }
    return rc;
}
