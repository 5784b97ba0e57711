//  pbxsim_timers: the switch's one-shot timers, kept in a heap behind one zloop timer.
//  czmq keeps its timers in a list it walks several times per turn of the loop (and once
//  more for each timer ended): with thousands of calls ringing, a zloop timer per switch
//  timer cost pbxsim a third of its CPU.  Here the switch's timers are a binary heap by
//  expiry; one zloop timer is armed for the earliest.  A cancelled timer is only marked
//  (its id leaves the table) and skipped when its time comes.
#include <limits.h>
#include <time.h>

#include "pbxsim_timers.h"

//  Open addressing from zloop timer id to the switch's reference.
typedef struct {
    int id;         //  0: empty slot, -1: deleted
    int ref;
} s_slot_t;

typedef struct {
    long long when_ms;
    int id;
} s_due_t;

struct pbxsim_timers {
    pbxsim_t *sim;
    s_slot_t *slots;
    size_t cap;     //  power of two
    size_t used;    //  live + deleted
    s_due_t *heap;  //  min-heap by when_ms; ids no longer in slots were cancelled
    size_t heap_count, heap_cap;
    int next_id;
    int armed;      //  the zloop timer for heap[0], 0 if none
    long long armed_ms;
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
    free((*self_p)->heap);
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

//  --- The heap ---------------------------------------------------------------------------------

static int s_heap_push(pbxsim_timers_t *self, long long when_ms, int id)
{
    if (self->heap_count == self->heap_cap) {
        size_t cap = self->heap_cap ? self->heap_cap * 2 : 1024;
        s_due_t *grown = realloc(self->heap, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->heap = grown;
        self->heap_cap = cap;
    }
    size_t i = self->heap_count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent].when_ms <= when_ms)
            break;
        self->heap[i] = self->heap[parent];
        i = parent;
    }
    self->heap[i] = (s_due_t){when_ms, id};
    return 0;
}

static s_due_t s_heap_pop(pbxsim_timers_t *self)
{
    s_due_t top = self->heap[0];
    s_due_t last = self->heap[--self->heap_count];
    size_t i = 0, n = self->heap_count;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && self->heap[child + 1].when_ms < self->heap[child].when_ms)
            child++;
        if (last.when_ms <= self->heap[child].when_ms)
            break;
        self->heap[i] = self->heap[child];
        i = child;
    }
    if (n)
        self->heap[i] = last;
    return top;
}

static int s_on_due(zloop_t *loop, int timer_id, void *arg);

//  Arm the zloop timer for the earliest entry, unless it is armed for that time already.
static void s_arm(pbxsim_timers_t *self)
{
    if (!self->heap_count)
        return;
    long long when = self->heap[0].when_ms;
    if (self->armed && self->armed_ms <= when)
        return;
    if (self->armed)
        zloop_timer_end(self->sim->loop, self->armed);
    long long delay = when - pbxsim_now_ms();
    self->armed = zloop_timer(self->sim->loop, (size_t) (delay > 0 ? delay : 0), 1, s_on_due, self);
    if (self->armed < 0)
        self->armed = 0;
    self->armed_ms = when;
}

//  The earliest timers are due: fire each that was not cancelled, then arm for the next.
static int s_on_due(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    pbxsim_timers_t *self = arg;
    if (timer_id != self->armed)
        return 0;       //  replaced by an earlier one (czmq may still call it this turn)
    self->armed = 0;
    long long now = pbxsim_now_ms();
    while (self->heap_count && self->heap[0].when_ms <= now) {
        s_due_t due = s_heap_pop(self);
        s_slot_t *slot = s_find(self, due.id);
        if (!slot)
            continue;   //  cancelled
        int ref = slot->ref;
        slot->id = -1;
        pbx_switch_timer(self->sim->sw, ref);
    }
    s_arm(self);
    return 0;
}

//  --- The switch's interface -------------------------------------------------------------------

static int s_start(void *ctx, int delay_ms, int ref)
{
    pbxsim_timers_t *self = ctx;
    int id;
    do {
        id = self->next_id = self->next_id == INT_MAX ? 1 : self->next_id + 1;
    } while (s_find(self, id));
    long long when = pbxsim_now_ms() + (delay_ms > 0 ? delay_ms : 1);
    if (s_put(self, id, ref))
        return -1;
    if (s_heap_push(self, when, id)) {
        s_find(self, id)->id = -1;
        return -1;
    }
    s_arm(self);
    return id;
}

static void s_cancel(void *ctx, int id)
{
    pbxsim_timers_t *self = ctx;
    s_slot_t *slot = s_find(self, id);
    if (slot)
        slot->id = -1;      //  its heap entry is skipped when it comes up
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
