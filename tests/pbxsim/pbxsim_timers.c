//  pbxsim_timers: zloop one-shot timers carrying the switch's timer references.
#include <time.h>

#include "pbxsim_timers.h"

//  Open addressing from zloop timer id to the switch's reference.
typedef struct {
    int id;         //  0: empty slot, -1: deleted
    int ref;
} s_slot_t;

struct pbxsim_timers {
    pbxsim_t *sim;
    s_slot_t *slots;
    size_t cap;     //  power of two
    size_t used;    //  live + deleted
};

pbxsim_timers_t *pbxsim_timers_new(pbxsim_t *sim)
{
    pbxsim_timers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sim = sim;
    self->cap = 1024;
    self->slots = calloc(self->cap, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    return self;
}

void pbxsim_timers_destroy(pbxsim_timers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

static size_t s_hash(int id, size_t cap)
{
    return ((unsigned) id * 2654435761u) & (cap - 1);
}

static s_slot_t *s_find(pbxsim_timers_t *self, int id)
{
    for (size_t i = s_hash(id, self->cap), n = 0; n < self->cap; i = (i + 1) & (self->cap - 1), n++) {
        if (self->slots[i].id == id)
            return &self->slots[i];
        if (self->slots[i].id == 0)
            return NULL;
    }
    return NULL;
}

static int s_put(pbxsim_timers_t *self, int id, int ref);

static int s_grow(pbxsim_timers_t *self)
{
    //  Rehash the live timers; deleted slots are dropped, so the table only doubles when
    //  live timers fill a quarter of it.
    s_slot_t *old = self->slots;
    size_t old_cap = self->cap, live = 0;
    for (size_t i = 0; i < old_cap; i++)
        live += old[i].id > 0;
    if (live * 4 > old_cap)
        self->cap *= 2;
    self->slots = calloc(self->cap, sizeof *self->slots);
    if (!self->slots) {
        self->slots = old;
        self->cap = old_cap;
        return -1;
    }
    self->used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].id > 0)
            s_put(self, old[i].id, old[i].ref);
    free(old);
    return 0;
}

static int s_put(pbxsim_timers_t *self, int id, int ref)
{
    if ((self->used + 1) * 2 > self->cap && s_grow(self))
        return -1;
    size_t i = s_hash(id, self->cap);
    while (self->slots[i].id > 0)
        i = (i + 1) & (self->cap - 1);
    if (self->slots[i].id == 0)
        self->used++;
    self->slots[i].id = id;
    self->slots[i].ref = ref;
    return 0;
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    pbxsim_timers_t *self = arg;
    s_slot_t *slot = s_find(self, timer_id);
    if (!slot)
        return 0;
    int ref = slot->ref;
    slot->id = -1;
    pbx_switch_timer(self->sim->sw, ref);
    return 0;
}

static int s_start(void *ctx, int delay_ms, int ref)
{
    pbxsim_timers_t *self = ctx;
    int id = zloop_timer(self->sim->loop, (size_t) (delay_ms > 0 ? delay_ms : 1), 1, s_on_timer, self);
    if (id < 0)
        return -1;
    if (s_put(self, id, ref)) {
        zloop_timer_end(self->sim->loop, id);
        return -1;
    }
    return id;
}

static void s_cancel(void *ctx, int id)
{
    pbxsim_timers_t *self = ctx;
    s_slot_t *slot = s_find(self, id);
    if (!slot)
        return;
    slot->id = -1;
    zloop_timer_end(self->sim->loop, id);
}

static long long s_now(void *ctx)
{
    (void) ctx;
    return pbxsim_now_ms();
}

static long long s_wall(void *ctx)
{
    (void) ctx;
    return (long long) time(NULL);
}

pbx_timers_t pbxsim_timers_iface(pbxsim_timers_t *self)
{
    return (pbx_timers_t){.ctx = self, .start = s_start, .cancel = s_cancel, .now_ms = s_now,
                          .wall_s = s_wall};
}
