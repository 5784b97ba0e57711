//  pbxsim_traffic: calls between random extensions at a steady rate (pbxsim_traffic.h).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbxsim_traffic.h"

#define S_TICK_MS 10

//  What a person does at a time: answer the call ringing at `number`, or hang up there.
typedef struct s_step {
    struct s_step *next;
    long long at_ms;
    char number[PBX_NUMBER_MAX];
} s_step_t;

//  Steps in time order.  Within one run every call is answered answer_ms and hung up
//  answer_ms + hold_ms after it was placed, so appending keeps each queue sorted.
typedef struct {
    s_step_t *head, *tail;
    long count;
} s_queue_t;

struct pbxsim_traffic {
    pbxsim_t *sim;
    int tick_timer;
    int cps, seconds, answer_ms, hold_ms;
    long long started_ms, until_ms;
    long due;                   //  calls placed or found busy so far (of cps * seconds)
    long placed, busy, answered, completed;
    s_queue_t answers, hangups;
    int *extensions;
    int extension_count;
    unsigned seed;
};

pbxsim_traffic_t *pbxsim_traffic_new(pbxsim_t *sim)
{
    pbxsim_traffic_t *self = calloc(1, sizeof *self);
    if (self) {
        self->sim = sim;
        self->seed = 12345;
    }
    return self;
}

static void s_push(s_queue_t *q, long long at_ms, const char *number)
{
    s_step_t *step = malloc(sizeof *step);
    if (!step)
        return;
    step->next = NULL;
    step->at_ms = at_ms;
    snprintf(step->number, sizeof step->number, "%s", number);
    if (q->tail)
        q->tail->next = step;
    else
        q->head = step;
    q->tail = step;
    q->count++;
}

//  The first step of q if it is due by now (any step if now < 0), unlinked; the caller
//  frees it.
static s_step_t *s_pop_due(s_queue_t *q, long long now)
{
    s_step_t *step = q->head;
    if (!step || (now >= 0 && step->at_ms > now))
        return NULL;
    q->head = step->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    return step;
}

//  Run the steps due by now (every step if now < 0: the people hang up at once).
static void s_run_steps(pbxsim_traffic_t *self, long long now)
{
    s_step_t *step;
    //  Answers first: a call answered and hung up in the same tick is still answered.
    while ((step = s_pop_due(&self->answers, now))) {
        if (now >= 0 && pbx_switch_answer(self->sim->sw, step->number) >= 0)
            self->answered++;
        free(step);
    }
    while ((step = s_pop_due(&self->hangups, now))) {
        if (pbx_switch_hangup(self->sim->sw, step->number) >= 0)
            self->completed++;
        free(step);
    }
}

//  Stop placing calls; the calls in progress are hung up now, so none is left behind.
void pbxsim_traffic_stop(pbxsim_traffic_t *self)
{
    if (self->tick_timer > 0)
        zloop_timer_end(self->sim->loop, self->tick_timer);
    self->tick_timer = 0;
    self->until_ms = 0;
    s_run_steps(self, -1);
}

static void s_queue_free(s_queue_t *q)
{
    while (q->head) {
        s_step_t *step = q->head;
        q->head = step->next;
        free(step);
    }
    q->tail = NULL;
    q->count = 0;
}

void pbxsim_traffic_forget_calls(pbxsim_traffic_t *self)
{
    s_queue_free(&self->answers);
    s_queue_free(&self->hangups);
}

void pbxsim_traffic_destroy(pbxsim_traffic_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pbxsim_traffic_t *self = *self_p;
    if (self->tick_timer > 0)
        zloop_timer_end(self->sim->loop, self->tick_timer);
    //  At shutdown the switch goes too: the steps are freed, not run.
    pbxsim_traffic_forget_calls(self);
    free(self->extensions);
    free(self);
    *self_p = NULL;
}

//  A person at a random extension dials another one.  A busy caller or callee (busy tone,
//  the caller hangs up) counts as busy; a real caller would try again later.
static void s_place_call(pbxsim_traffic_t *self, long long now)
{
    if (self->extension_count < 2)
        return;
    int a = self->extensions[rand_r(&self->seed) % self->extension_count];
    int b;
    do
        b = self->extensions[rand_r(&self->seed) % self->extension_count];
    while (b == a);
    const char *na = pbx_switch_device(self->sim->sw, a)->number;
    const char *nb = pbx_switch_device(self->sim->sw, b)->number;
    self->placed++;
    if (pbx_switch_dial(self->sim->sw, na, nb) < 0) {
        self->busy++;
        return;
    }
    s_push(&self->answers, now + self->answer_ms, nb);
    s_push(&self->hangups, now + self->answer_ms + self->hold_ms, na);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg);

static void s_arm(pbxsim_traffic_t *self)
{
    self->tick_timer = zloop_timer(self->sim->loop, S_TICK_MS, 1, s_on_tick, self);
    if (self->tick_timer < 0)
        self->tick_timer = 0;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    pbxsim_traffic_t *self = arg;
    //  Each tick arms the next one (one-shot timers).  A repeating timer comes round again
    //  in the same turn when its handler outlasts the period, because czmq restarts its
    //  walk over the timers whenever a handler adds one (every call step does): at high
    //  rates the tick then ran for ever and starved the sockets.  Only the live timer's
    //  tick counts.
    if (timer_id != self->tick_timer)
        return 0;
    self->tick_timer = 0;       //  a one-shot timer ends by itself
    long long now = pbxsim_now_ms();
    s_run_steps(self, now);
    //  Exactly cps * seconds calls, spread evenly; a late tick catches up.
    long long t = now < self->until_ms ? now : self->until_ms;
    long total = (long) self->cps * self->seconds;
    long owed = (long) ((t - self->started_ms) * self->cps / 1000);
    if (owed > total)
        owed = total;
    while (self->due < owed) {
        s_place_call(self, now);
        self->due++;
    }
    if (now >= self->until_ms && !self->answers.head && !self->hangups.head)
        zsys_notice("pbxsim: traffic done: %ld calls placed, %ld found a busy extension, "
                    "%ld answered, %ld completed",
                    self->placed, self->busy, self->answered, self->completed);
    else
        s_arm(self);
    return 0;
}

int pbxsim_traffic_start(pbxsim_traffic_t *self, int cps, int seconds, int answer_ms, int hold_ms)
{
    if (cps <= 0 || cps > 100000 || seconds <= 0 || seconds > 86400 || answer_ms < 0 ||
        hold_ms < 0)
        return -EINVAL;
    pbxsim_traffic_stop(self);
    free(self->extensions);
    int count = pbx_switch_device_count(self->sim->sw);
    self->extensions = calloc((size_t) count + 1, sizeof *self->extensions);
    if (!self->extensions)
        return -ENOMEM;
    self->extension_count = 0;
    for (int i = 0; i < count; i++)
        if (pbx_switch_device(self->sim->sw, i)->type == PBX_DEV_EXTENSION)
            self->extensions[self->extension_count++] = i;
    self->cps = cps;
    self->seconds = seconds;
    self->answer_ms = answer_ms;
    self->hold_ms = hold_ms;
    self->started_ms = pbxsim_now_ms();
    self->until_ms = self->started_ms + seconds * 1000LL;
    self->due = 0;
    self->placed = self->busy = self->answered = self->completed = 0;
    s_arm(self);
    zsys_notice("pbxsim: traffic: %d calls/s for %d s, answered after %d ms, held %d ms", cps,
                seconds, answer_ms, hold_ms);
    return cps;
}

size_t pbxsim_traffic_json(const pbxsim_traffic_t *self, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "{\"running\":%s,\"cps\":%d,\"seconds\":%d,\"placed\":%ld,\"busy\":%ld,"
                     "\"answered\":%ld,\"completed\":%ld,\"in_progress\":%ld}",
                     self->tick_timer > 0 ? "true" : "false", self->cps, self->seconds,
                     self->placed, self->busy, self->answered, self->completed,
                     self->hangups.count);
    return n > 0 ? ((size_t) n < cap ? (size_t) n : cap) : 0;
}
