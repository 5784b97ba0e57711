//  node_pbx_devices: node_pbx's device registry (node_pbx_devices.h).
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_pbx_devices.h"

struct node_pbx_devices {
    zhashx_t *by_key;               //  key -> device (not owned)
    zhashx_t *by_xref;              //  hex xref -> device (not owned)
    node_pbx_device_t *head, *tail; //  owns the devices
    size_t size;
};

const char *node_pbx_mon_str(node_pbx_mon_t mon)
{
    switch (mon) {
    case NODE_PBX_MON_NONE: return "NONE";
    case NODE_PBX_MON_STARTING: return "STARTING";
    case NODE_PBX_MON_ACTIVE: return "ACTIVE";
    case NODE_PBX_MON_STOPPING: return "STOPPING";
    }
    return "?";
}

node_pbx_devices_t *node_pbx_devices_new(void)
{
    node_pbx_devices_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_key = zhashx_new();
    self->by_xref = zhashx_new();
    if (!self->by_key || !self->by_xref) {
        node_pbx_devices_destroy(&self);
        return NULL;
    }
    return self;
}

static void s_device_free(node_pbx_device_t *dev)
{
    node_pbx_watch_t *w = dev->watches;
    while (w) {
        node_pbx_watch_t *next = w->next;
        free(w);
        w = next;
    }
    free(dev);
}

void node_pbx_devices_destroy(node_pbx_devices_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_pbx_devices_t *self = *self_p;
    node_pbx_device_t *dev = self->head;
    while (dev) {
        node_pbx_device_t *next = dev->next;
        s_device_free(dev);
        dev = next;
    }
    zhashx_destroy(&self->by_key);
    zhashx_destroy(&self->by_xref);
    free(self);
    *self_p = NULL;
}

int node_pbx_device_key(const csta_device_t *id, char *key, size_t cap)
{
    int n;
    if (id->kind == CSTA_DEV_DIALING && id->digits[0])
        n = snprintf(key, cap, "d:%s", id->digits);
    else if (id->kind == CSTA_DEV_NUMBER)
        n = snprintf(key, cap, "n:%ld", id->number);
    else
        return -EINVAL;
    return n > 0 && (size_t) n < cap ? 0 : -EINVAL;
}

static void s_xref_hex(const csta_xref_t *xref, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    size_t len = xref->len > CSTA_XREF_MAX ? CSTA_XREF_MAX : xref->len;
    hex[0] = 'x';   //  an empty xref is a key too
    for (size_t i = 0; i < len; i++) {
        hex[1 + 2 * i] = digits[xref->bytes[i] >> 4];
        hex[2 + 2 * i] = digits[xref->bytes[i] & 15];
    }
    hex[1 + 2 * len] = '\0';
}

node_pbx_device_t *node_pbx_devices_find(node_pbx_devices_t *self, const csta_device_t *id)
{
    char key[NODE_PBX_DEVICE_KEY_MAX];
    if (node_pbx_device_key(id, key, sizeof key))
        return NULL;
    return zhashx_lookup(self->by_key, key);
}

node_pbx_device_t *node_pbx_devices_find_key(node_pbx_devices_t *self, const char *key)
{
    return zhashx_lookup(self->by_key, key);
}

node_pbx_device_t *node_pbx_devices_add(node_pbx_devices_t *self, const csta_device_t *id)
{
    char key[NODE_PBX_DEVICE_KEY_MAX];
    if (node_pbx_device_key(id, key, sizeof key))
        return NULL;
    node_pbx_device_t *dev = zhashx_lookup(self->by_key, key);
    if (dev)
        return dev;
    dev = calloc(1, sizeof *dev);
    if (!dev)
        return NULL;
    memcpy(dev->key, key, sizeof key);
    //  Only the routing form is kept: a name or private number is not part of the identity.
    dev->id.kind = id->kind;
    memcpy(dev->id.digits, id->digits, sizeof dev->id.digits);
    dev->id.number = id->number;
    if (zhashx_insert(self->by_key, dev->key, dev) != 0) {
        free(dev);
        return NULL;
    }
    dev->prev = self->tail;
    if (self->tail)
        self->tail->next = dev;
    else
        self->head = dev;
    self->tail = dev;
    self->size++;
    return dev;
}

void node_pbx_devices_remove(node_pbx_devices_t *self, node_pbx_device_t **dev_p)
{
    node_pbx_device_t *dev = *dev_p;
    if (!dev)
        return;
    node_pbx_devices_set_xref(self, dev, NULL);
    zhashx_delete(self->by_key, dev->key);
    if (dev->prev)
        dev->prev->next = dev->next;
    else
        self->head = dev->next;
    if (dev->next)
        dev->next->prev = dev->prev;
    else
        self->tail = dev->prev;
    self->size--;
    s_device_free(dev);
    *dev_p = NULL;
}

node_pbx_device_t *node_pbx_devices_first(node_pbx_devices_t *self)
{
    return self->head;
}

size_t node_pbx_devices_size(const node_pbx_devices_t *self)
{
    return self->size;
}

int node_pbx_devices_set_xref(node_pbx_devices_t *self, node_pbx_device_t *dev,
                              const csta_xref_t *xref)
{
    char hex[2 * CSTA_XREF_MAX + 2];
    if (dev->has_xref) {
        s_xref_hex(&dev->xref, hex);
        if (zhashx_lookup(self->by_xref, hex) == dev)
            zhashx_delete(self->by_xref, hex);
        dev->has_xref = false;
    }
    if (!xref)
        return 0;
    s_xref_hex(xref, hex);
    int rc = 0;
    node_pbx_device_t *other = zhashx_lookup(self->by_xref, hex);
    if (other) {
        //  The PBX gave out an xref it still had given us: its newer word wins.
        other->has_xref = false;
        zhashx_delete(self->by_xref, hex);
        rc = -EEXIST;
    }
    if (zhashx_insert(self->by_xref, hex, dev) != 0)
        return -ENOMEM;
    dev->xref = *xref;
    dev->has_xref = true;
    return rc;
}

node_pbx_device_t *node_pbx_devices_by_xref(node_pbx_devices_t *self, const csta_xref_t *xref)
{
    char hex[2 * CSTA_XREF_MAX + 2];
    s_xref_hex(xref, hex);
    return zhashx_lookup(self->by_xref, hex);
}

void node_pbx_device_watch_add(node_pbx_device_t *dev, node_pbx_watch_t *watch)
{
    watch->device = dev;
    watch->prev = NULL;
    watch->next = dev->watches;
    if (dev->watches)
        dev->watches->prev = watch;
    dev->watches = watch;
    dev->watch_count++;
}

void node_pbx_device_watch_remove(node_pbx_device_t *dev, node_pbx_watch_t *watch)
{
    if (watch->prev)
        watch->prev->next = watch->next;
    else
        dev->watches = watch->next;
    if (watch->next)
        watch->next->prev = watch->prev;
    watch->prev = watch->next = NULL;
    watch->device = NULL;
    if (!watch->dead)
        dev->watch_count--;
}

//  --- Calls --------------------------------------------------------------------------------------

static int s_call_index(const node_pbx_device_t *dev, const uint8_t *id, size_t len)
{
    for (int i = 0; i < dev->call_count; i++)
        if (dev->calls[i].len == len && memcmp(dev->calls[i].id, id, len) == 0)
            return i;
    return -1;
}

bool node_pbx_device_has_call(const node_pbx_device_t *dev, const uint8_t *id, size_t len)
{
    return s_call_index(dev, id, len) >= 0;
}

void node_pbx_device_call_add(node_pbx_device_t *dev, const uint8_t *id, size_t len)
{
    if (len == 0 || len > CSTA_CALL_ID_MAX || s_call_index(dev, id, len) >= 0 ||
        dev->call_count == NODE_PBX_DEVICE_CALLS_MAX)
        return;
    node_pbx_call_id_t *c = &dev->calls[dev->call_count++];
    c->len = (uint8_t) len;
    memcpy(c->id, id, len);
}

void node_pbx_device_call_remove(node_pbx_device_t *dev, const uint8_t *id, size_t len)
{
    int i = s_call_index(dev, id, len);
    if (i >= 0)
        dev->calls[i] = dev->calls[--dev->call_count];
}

static void s_conn_remove(node_pbx_device_t *dev, const csta_conn_t *conn)
{
    if (conn->present && conn->call_id_len)
        node_pbx_device_call_remove(dev, conn->call_id, conn->call_id_len);
}

//  Same device in the same form (a number and a deviceNumber cannot be compared here).
static bool s_same_device(const node_pbx_device_t *dev, const csta_device_t *d)
{
    if (d->kind != dev->id.kind)
        return false;
    return d->kind == CSTA_DEV_NUMBER ? d->number == dev->id.number
                                      : strcmp(d->digits, dev->id.digits) == 0;
}

//  Transferred, Conferenced, Diverted: the keys name one call, the event moves several.
static void s_track_decoded(node_pbx_device_t *dev, const uint8_t *apdu, size_t len)
{
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len) != 0 || a.kind != CSTA_APDU_INVOKE) {
        csta_apdu_clear(&a);
        return;
    }
    const csta_event_t *ev = &a.event;
    if (ev->type == CSTA_EV_TRANSFERRED) {
        const csta_transferred_t *t = &ev->transferred;
        s_conn_remove(dev, &t->primary_old_call);
        s_conn_remove(dev, &t->secondary_old_call);
        if (!s_same_device(dev, &t->transferring))
            for (size_t i = 0; i < t->transferred_connections.count; i++) {
                const csta_conn_t *c = &t->transferred_connections.item[i].new_conn;
                if (c->present && c->call_id_len)
                    node_pbx_device_call_add(dev, c->call_id, c->call_id_len);
            }
    } else if (ev->type == CSTA_EV_CONFERENCED) {
        const csta_conferenced_t *c = &ev->conferenced;
        s_conn_remove(dev, &c->primary_old_call);
        s_conn_remove(dev, &c->secondary_old_call);
        for (size_t i = 0; i < c->conference_connections.count; i++) {
            const csta_conn_t *n = &c->conference_connections.item[i].new_conn;
            if (n->present && n->call_id_len)
                node_pbx_device_call_add(dev, n->call_id, n->call_id_len);
        }
    } else if (ev->type == CSTA_EV_DIVERTED) {
        const csta_diverted_t *d = &ev->diverted;
        if (s_same_device(dev, &d->diverting))
            s_conn_remove(dev, &d->connection);
        else if (d->connection.present && d->connection.call_id_len)
            node_pbx_device_call_add(dev, d->connection.call_id, d->connection.call_id_len);
    }
    csta_apdu_clear(&a);
}

void node_pbx_device_track_event(node_pbx_device_t *dev, const csta_peek_t *keys,
                                 const uint8_t *apdu, size_t len)
{
    switch (keys->event) {
    case CSTA_EV_TRANSFERRED:
    case CSTA_EV_CONFERENCED:
    case CSTA_EV_DIVERTED:
        s_track_decoded(dev, apdu, len);
        return;
    default:
        break;
    }
    if (keys->call_id_len == 0)
        return;
    switch (keys->event) {
    case CSTA_EV_CALL_CLEARED:
        node_pbx_device_call_remove(dev, keys->call_id, keys->call_id_len);
        return;
    case CSTA_EV_CONNECTION_CLEARED: {
        //  droppedConnection comes first, so its device is the first the peek found.
        if (keys->device_count == 0)
            return;
        const csta_peek_device_t *d = &keys->device[0];
        bool mine = d->kind == dev->id.kind &&
                    (d->kind == CSTA_DEV_NUMBER ? d->number == dev->id.number
                                                : strcmp(d->digits, dev->id.digits) == 0);
        if (mine)
            node_pbx_device_call_remove(dev, keys->call_id, keys->call_id_len);
        return;
    }
    default:
        //  Only call events carry a connection; a device event (Forwarding ...) has none.
        if (keys->event != CSTA_EV_NONE && CSTA_EV_CATEGORY(keys->event) <= 1)
            node_pbx_device_call_add(dev, keys->call_id, keys->call_id_len);
        return;
    }
}

int node_pbx_device_calls_reconcile(node_pbx_device_t *dev, const node_pbx_call_id_t *snap,
                                    int count, node_pbx_call_id_t *gone, int gone_cap)
{
    int n_gone = 0;
    for (int i = 0; i < dev->call_count; i++) {
        bool still = false;
        for (int j = 0; j < count && !still; j++)
            still = snap[j].len == dev->calls[i].len &&
                    memcmp(snap[j].id, dev->calls[i].id, snap[j].len) == 0;
        if (!still) {
            if (n_gone < gone_cap)
                gone[n_gone] = dev->calls[i];
            n_gone++;
        }
    }
    dev->call_count = 0;
    for (int j = 0; j < count; j++)
        node_pbx_device_call_add(dev, snap[j].id, snap[j].len);
    return n_gone;
}

const char *node_pbx_call_id_str(const node_pbx_call_id_t *call, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < call->len && n + 3 <= cap; i++)
        n += (size_t) snprintf(buf + n, cap - n, "%02x", call->id[i]);
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return buf;
}
