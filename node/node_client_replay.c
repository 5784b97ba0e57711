//  node_client_replay: a session's bounded replay buffer (see the header).  A ring of
//  frames whose sequence numbers are contiguous, so the frame of seq is found by its
//  distance from the oldest.  The ring grows by doubling up to max_events, so an idle
//  session costs a few entries, not max_events.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node_client_replay.h"

typedef struct {
    uint8_t *data;
    size_t len;
} s_frame_t;

struct node_client_replay {
    size_t max_events, max_bytes;
    s_frame_t *ring;
    size_t cap;                     //  entries allocated (<= max_events)
    size_t head;                    //  index of the oldest
    size_t count;
    size_t bytes;
    uint64_t first;                 //  seq of the oldest held (when count > 0)
    uint64_t newest;                //  highest seq ever added (0: none)
    uint64_t evicted;               //  dropped by the bounds before an ack
};

node_client_replay_t *node_client_replay_new(size_t max_events, size_t max_bytes)
{
    node_client_replay_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_events = max_events;
    self->max_bytes = max_bytes;
    return self;
}

//  Drop the oldest frame.
static void s_pop(node_client_replay_t *self)
{
    s_frame_t *f = &self->ring[self->head];
    self->bytes -= f->len;
    free(f->data);
    *f = (s_frame_t){0};
    self->head = (self->head + 1) % self->cap;
    self->count--;
    self->first++;
}

static void s_clear(node_client_replay_t *self, bool evicting)
{
    if (evicting)
        self->evicted += self->count;
    while (self->count)
        s_pop(self);
}

void node_client_replay_destroy(node_client_replay_t **self_p)
{
    node_client_replay_t *self = *self_p;
    if (!self)
        return;
    s_clear(self, false);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

//  Room for one more entry: grow the ring (up to max_events), unwrapping it.
static int s_grow(node_client_replay_t *self)
{
    if (self->count < self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : 16;
    if (cap > self->max_events)
        cap = self->max_events;
    if (cap <= self->cap)
        return 0;                   //  full at max_events: the caller evicts
    s_frame_t *ring = calloc(cap, sizeof *ring);
    if (!ring)
        return -ENOMEM;
    for (size_t i = 0; i < self->count; i++)
        ring[i] = self->ring[(self->head + i) % self->cap];
    free(self->ring);
    self->ring = ring;
    self->cap = cap;
    self->head = 0;
    return 0;
}

int node_client_replay_add(node_client_replay_t *self, uint64_t seq, const uint8_t *frame,
                           size_t len)
{
    if (seq == 0 || seq <= self->newest)
        return -EINVAL;
    if (self->count && seq != self->first + self->count)
        s_clear(self, true);        //  a hole: what is older cannot be replayed in order
    self->newest = seq;
    if (self->max_events == 0)
        return 0;
    if (len > self->max_bytes) {
        s_clear(self, true);
        self->evicted++;            //  this one is not kept either
        return -EMSGSIZE;
    }
    while (self->count && (self->count == self->max_events || self->bytes + len > self->max_bytes)) {
        s_pop(self);
        self->evicted++;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy || s_grow(self) != 0) {
        free(copy);
        s_clear(self, true);        //  keep the run contiguous: seq is not held
        self->evicted++;
        return -ENOMEM;
    }
    memcpy(copy, frame, len);
    if (self->count == 0)
        self->first = seq;
    self->ring[(self->head + self->count) % self->cap] = (s_frame_t){copy, len};
    self->count++;
    self->bytes += len;
    return 0;
}

void node_client_replay_ack(node_client_replay_t *self, uint64_t acked)
{
    while (self->count && self->first <= acked)
        s_pop(self);
}

int node_client_replay_get(const node_client_replay_t *self, uint64_t seq, const uint8_t **frame,
                           size_t *len)
{
    if (!self->count || seq < self->first || seq - self->first >= self->count)
        return -ENOENT;
    const s_frame_t *f = &self->ring[(self->head + (seq - self->first)) % self->cap];
    *frame = f->data;
    *len = f->len;
    return 0;
}

bool node_client_replay_covers(const node_client_replay_t *self, uint64_t after)
{
    if (self->newest <= after)
        return true;
    return self->count && self->first <= after + 1;
}

uint64_t node_client_replay_first(const node_client_replay_t *self)
{
    return self->count ? self->first : 0;
}

uint64_t node_client_replay_last(const node_client_replay_t *self)
{
    return self->count ? self->first + self->count - 1 : 0;
}

size_t node_client_replay_count(const node_client_replay_t *self)
{
    return self->count;
}

size_t node_client_replay_bytes(const node_client_replay_t *self)
{
    return self->bytes;
}

uint64_t node_client_replay_evicted(const node_client_replay_t *self)
{
    return self->evicted;
}
