//  fake_node_pbx: the PBX service's test double (fake_node_pbx.h).  Linked only into the
//  CSTA front end's unit tests, ahead of the node library, so these definitions win.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_node_pbx.h"

const char *node_pbx_state_str(node_pbx_state_t state)
{
    return state == NODE_PBX_UP ? "UP" : "DOWN";
}

node_pbx_t *fake_pbx_new(const node_pbx_listener_t *listener)
{
    node_pbx_t *self = calloc(1, sizeof *self);
    if (self) {
        self->listener = *listener;
        self->state = NODE_PBX_UP;
    }
    return self;
}

void fake_pbx_destroy(node_pbx_t **self_p)
{
    free(*self_p);
    *self_p = NULL;
}

node_pbx_state_t node_pbx_state(const node_pbx_t *self)
{
    return self->state;
}

int node_pbx_request(node_pbx_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                     node_pbx_reply_fn *reply, node_pbx_followup_fn *followup, void *arg)
{
    (void) timeout_ms;
    if (self->request_rc)
        return self->request_rc;
    if (self->requests >= FAKE_PBX_MAX || len > sizeof self->request[0].apdu)
        return -EMSGSIZE;
    fake_pbx_request_t *r = &self->request[self->requests++];
    memcpy(r->apdu, apdu, len);
    r->len = len;
    r->reply = reply;
    r->followup = followup;
    r->arg = arg;
    r->answered = false;
    return 0;
}

node_pbx_watch_t *node_pbx_watch(node_pbx_t *self, const csta_device_t *device,
                                 node_pbx_watch_done_fn *done, void *watch_arg)
{
    if (self->watches >= FAKE_PBX_MAX)
        return NULL;
    node_pbx_watch_t *w = &self->watch[self->watches++];
    memset(w, 0, sizeof *w);
    w->device = *device;
    w->done = done;
    w->arg = watch_arg;
    return w;
}

void node_pbx_unwatch(node_pbx_t *self, node_pbx_watch_t **watch_p)
{
    (void) self;
    if (watch_p && *watch_p)
        (*watch_p)->unwatched = true;
    if (watch_p)
        *watch_p = NULL;
}

int node_pbx_cdr_claim(node_pbx_t *self, void *owner)
{
    if (self->cdr_owner && self->cdr_owner != owner)
        return -EBUSY;
    self->cdr_owner = owner;
    self->cdr_claims++;
    return 0;
}

void node_pbx_cdr_release(node_pbx_t *self, void *owner)
{
    if (self->cdr_owner != owner)
        return;
    self->cdr_owner = NULL;
    self->cdr_releases++;
}

void fake_pbx_set_state(node_pbx_t *self, node_pbx_state_t state)
{
    self->state = state;
    if (self->listener.on_state)
        self->listener.on_state(self->listener.ctx, state);
}

void fake_pbx_reply(node_pbx_t *self, int i, int status, const uint8_t *apdu, size_t len)
{
    fake_pbx_request_t *r = &self->request[i];
    r->answered = true;
    r->reply(r->arg, status, apdu, len);
}

void fake_pbx_followup(node_pbx_t *self, int i, const uint8_t *apdu, size_t len)
{
    fake_pbx_request_t *r = &self->request[i];
    csta_peek_t pk;
    if (r->followup && csta_peek(&pk, apdu, len) == 0)
        r->followup(r->arg, apdu, len, &pk);
}

void fake_pbx_watch_done(node_pbx_t *self, int i, int status, const uint8_t *apdu, size_t len)
{
    node_pbx_watch_t *w = &self->watch[i];
    if (w->unwatched || w->done_called)
        return;
    w->done_called = true;
    w->confirmed = status == 0;
    w->done(w->arg, status, apdu, len);
}

void fake_pbx_watch_monitored(node_pbx_t *self, int i, bool monitored)
{
    node_pbx_watch_t *w = &self->watch[i];
    void (*fn)(void *, node_pbx_watch_t *, void *) =
        monitored ? self->listener.on_watch_monitored : self->listener.on_watch_unmonitored;
    if (!w->unwatched && w->confirmed && fn)
        fn(self->listener.ctx, w, w->arg);
}

void fake_pbx_watch_stale(node_pbx_t *self, int i)
{
    node_pbx_watch_t *w = &self->watch[i];
    if (!w->unwatched && w->confirmed && self->listener.on_watch_stale)
        self->listener.on_watch_stale(self->listener.ctx, w, w->arg);
}

int fake_pbx_event(node_pbx_t *self, const char *digits, const uint8_t *apdu, size_t len)
{
    csta_peek_t pk;
    if (csta_peek(&pk, apdu, len))
        return -1;
    int n = 0;
    for (int i = 0; i < self->watches; i++) {
        node_pbx_watch_t *w = &self->watch[i];
        if (w->unwatched || !w->confirmed || strcmp(w->device.digits, digits) != 0)
            continue;
        self->listener.on_event(self->listener.ctx, w, w->arg, apdu, len, &pk);
        n++;
    }
    return n;
}

void fake_pbx_broadcast(node_pbx_t *self, const uint8_t *apdu, size_t len)
{
    csta_peek_t pk;
    if (csta_peek(&pk, apdu, len) == 0)
        self->listener.on_broadcast(self->listener.ctx, apdu, len, &pk);
}

int fake_pbx_live_watches(const node_pbx_t *self, const char *digits)
{
    int n = 0;
    for (int i = 0; i < self->watches; i++)
        n += !self->watch[i].unwatched && strcmp(self->watch[i].device.digits, digits) == 0;
    return n;
}
