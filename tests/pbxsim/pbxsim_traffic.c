//  pbxsim_traffic: calls between random extensions at a steady rate (pbxsim_traffic.h).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbxsim_traffic.h"

#define S_TICK_MS 10

//  A call the generator placed: who answers when, who hangs up when.
typedef struct s_step {
    struct s_step *next;
    long long at_ms;
    bool hangup;                //  false: answer at `number`; true: hang up at `number`
    char number[PBX_NUMBER_MAX];
} s_step_t;

struct pbxsim_traffic {
    pbxsim_t *sim;
    int tick_timer;
    int cps, answer_ms, hold_ms;
    long long started_ms, until_ms;
    double due;                 //  calls owed since start (fractional)
    long placed, failed;
    s_step_t *steps;            //  sorted by at_ms
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

static void s_free_steps(pbxsim_traffic_t *self)
{
    while (self->steps) {
        s_step_t *s = self->steps;
        self->steps = s->next;
        free(s);
    }
}

void pbxsim_traffic_stop(pbxsim_traffic_t *self)
{
    if (self->tick_timer > 0)
        zloop_timer_end(self->sim->loop, self->tick_timer);
    self->tick_timer = 0;
    self->until_ms = 0;
    s_free_steps(self);
}

void pbxsim_traffic_destroy(pbxsim_traffic_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pbxsim_traffic_stop(*self_p);
    free((*self_p)->extensions);
    free(*self_p);
    *self_p = NULL;
}

static void s_schedule(pbxsim_traffic_t *self, long long at_ms, bool hangup, const char *number)
{
    s_step_t *step = calloc(1, sizeof *step);
    if (!step)
        return;
    step->at_ms = at_ms;
    step->hangup = hangup;
    snprintf(step->number, sizeof step->number, "%s", number);
    s_step_t **p = &self->steps;
    while (*p && (*p)->at_ms <= at_ms)
        p = &(*p)->next;
    step->next = *p;
    *p = step;
}

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
        self->failed++;     //  a busy extension: a real caller would try later
        return;
    }
    s_schedule(self, now + self->answer_ms, false, nb);
    s_schedule(self, now + self->answer_ms + self->hold_ms, true, na);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    pbxsim_traffic_t *self = arg;
    long long now = pbxsim_now_ms();
    while (self->steps && self->steps->at_ms <= now) {
        s_step_t *step = self->steps;
        self->steps = step->next;
        if (step->hangup)
            pbx_switch_hangup(self->sim->sw, step->number);
        else
            pbx_switch_answer(self->sim->sw, step->number);
        free(step);
    }
    if (now < self->until_ms) {
        double owed = (double) (now - self->started_ms) * self->cps / 1000.0;
        while (self->due < owed) {
            s_place_call(self, now);
            self->due += 1.0;
        }
    } else if (!self->steps) {
        zsys_notice("pbxsim: traffic done: %ld calls placed, %ld found the callee busy",
                    self->placed, self->failed);
        zloop_timer_end(self->sim->loop, self->tick_timer);
        self->tick_timer = 0;
    }
    return 0;
}

int pbxsim_traffic_start(pbxsim_traffic_t *self, int cps, int seconds, int answer_ms, int hold_ms)
{
    if (cps <= 0 || cps > 100000 || seconds <= 0 || answer_ms < 0 || hold_ms < 0)
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
    self->answer_ms = answer_ms;
    self->hold_ms = hold_ms;
    self->started_ms = pbxsim_now_ms();
    self->until_ms = self->started_ms + seconds * 1000LL;
    self->due = 0;
    self->placed = self->failed = 0;
    self->tick_timer = zloop_timer(self->sim->loop, S_TICK_MS, 0, s_on_tick, self);
    zsys_notice("pbxsim: traffic: %d calls/s for %d s, answered after %d ms, held %d ms", cps,
                seconds, answer_ms, hold_ms);
    return cps;
}

size_t pbxsim_traffic_json(const pbxsim_traffic_t *self, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "{\"running\":%s,\"cps\":%d,\"placed\":%ld,\"busy\":%ld}",
                     self->tick_timer > 0 ? "true" : "false", self->cps, self->placed, self->failed);
    return n > 0 ? ((size_t) n < cap ? (size_t) n : cap) : 0;
}
