//  node_takeover: watches kept for the cluster's applications while holding a link
//  (node_takeover.h).  Per PBX a table device key -> watch, swept by generation.
#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"
#include "node_ptrmap.h"
#include "node_pbx_devices.h"
#include "node_takeover.h"

#define S_SUB "takeover"

typedef struct {
    node_pbx_watch_t *watch;
    uint64_t gen;                   //  the set it was last added in
    char key[NODE_PBX_DEVICE_KEY_MAX];  //  names the device in logs
} s_dev_t;

struct node_takeover {
    zhashx_t *devices[NODE_PBX_MAX];    //  device key -> s_dev_t *
    uint64_t gen[NODE_PBX_MAX];
    zhashx_t *watches;                  //  node_pbx_watch_t * -> (void *) 1
};

//  The done of a takeover watch: nobody waits for it; a refused MonitorStart is retried
//  by node_pbx while the watch lasts.
static void s_done(void *arg, int status, const uint8_t *error_apdu, size_t len)
{
    (void) error_apdu;
    (void) len;
    if (status && status != -ENOTCONN)
        node_debug(S_SUB, "device %s: not monitored yet: %s", (const char *) arg,
                   strerror(-status));
}

node_takeover_t *node_takeover_new(void)
{
    node_takeover_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->watches = node_ptrmap_new();
    for (size_t i = 0; self->watches && i < NODE_PBX_MAX; i++)
        if (!(self->devices[i] = zhashx_new())) {
            node_takeover_destroy(&self, NULL, 0);
            return NULL;
        }
    if (!self->watches) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_unwatch(node_takeover_t *self, size_t i, node_pbx_t *pbx, const char *key)
{
    s_dev_t *d = zhashx_lookup(self->devices[i], key);
    if (!d)
        return;
    zhashx_delete(self->watches, d->watch);
    if (pbx)
        node_pbx_unwatch(pbx, &d->watch);
    free(d);
    zhashx_delete(self->devices[i], key);
}

void node_takeover_clear(node_takeover_t *self, size_t i, node_pbx_t *pbx)
{
    if (!self || i >= NODE_PBX_MAX || !self->devices[i])
        return;
    zlistx_t *keys = zhashx_keys(self->devices[i]);
    for (const char *key = keys ? zlistx_first(keys) : NULL; key; key = zlistx_next(keys))
        s_unwatch(self, i, pbx, key);
    zlistx_destroy(&keys);
}

void node_takeover_destroy(node_takeover_t **self_p, node_pbx_t *const *pbx, size_t pbx_count)
{
    if (!self_p || !*self_p)
        return;
    node_takeover_t *self = *self_p;
    *self_p = NULL;
    for (size_t i = 0; i < NODE_PBX_MAX; i++) {
        node_takeover_clear(self, i, pbx && i < pbx_count ? pbx[i] : NULL);
        zhashx_destroy(&self->devices[i]);
    }
    zhashx_destroy(&self->watches);
    free(self);
}

void node_takeover_begin(node_takeover_t *self, size_t i)
{
    if (i < NODE_PBX_MAX)
        self->gen[i]++;
}

int node_takeover_add(node_takeover_t *self, size_t i, node_pbx_t *pbx, const char *device)
{
    if (i >= NODE_PBX_MAX || !pbx)
        return -EINVAL;
    s_dev_t *d = zhashx_lookup(self->devices[i], device);
    if (d) {
        d->gen = self->gen[i];
        return 0;
    }
    csta_device_t dev;
    char *end = NULL;
    if (strncmp(device, "d:", 2) == 0 && device[2])
        csta_device_set(&dev, device + 2);
    else if (strncmp(device, "n:", 2) == 0 && device[2]) {
        long number = strtol(device + 2, &end, 10);
        if (*end)
            return -EINVAL;
        csta_device_set_number(&dev, number);
    } else
        return -EINVAL;
    d = calloc(1, sizeof *d);
    if (!d || strlen(device) >= sizeof d->key) {
        free(d);
        return d ? -EINVAL : -ENOMEM;
    }
    d->gen = self->gen[i];
    snprintf(d->key, sizeof d->key, "%s", device);
    if (zhashx_insert(self->devices[i], device, d) != 0) {
        free(d);
        return -ENOMEM;
    }
    d->watch = node_pbx_watch(pbx, &dev, s_done, d->key);
    if (!d->watch || zhashx_insert(self->watches, d->watch, (void *) 1) != 0) {
        if (d->watch)
            node_pbx_unwatch(pbx, &d->watch);
        zhashx_delete(self->devices[i], device);
        free(d);
        return -ENOMEM;
    }
    return 0;
}

size_t node_takeover_end(node_takeover_t *self, size_t i, node_pbx_t *pbx)
{
    if (i >= NODE_PBX_MAX)
        return 0;
    zlistx_t *keys = zhashx_keys(self->devices[i]);
    for (const char *key = keys ? zlistx_first(keys) : NULL; key; key = zlistx_next(keys)) {
        s_dev_t *d = zhashx_lookup(self->devices[i], key);
        if (d->gen != self->gen[i])
            s_unwatch(self, i, pbx, key);
    }
    zlistx_destroy(&keys);
    return zhashx_size(self->devices[i]);
}

bool node_takeover_owns(const node_takeover_t *self, const node_pbx_watch_t *watch)
{
    return self && zhashx_lookup(self->watches, watch) != NULL;
}

size_t node_takeover_count(const node_takeover_t *self, size_t i)
{
    return self && i < NODE_PBX_MAX ? zhashx_size(self->devices[i]) : 0;
}
