//  ctim_calls: the calls the ctim tool has seen at its lines, to act on "the" call of a line.
#include "ctim_calls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *line;
    char *call_id;
    ctim_call_state_t state;
} s_call_t;

struct ctim_calls_s {
    s_call_t *calls;            //  oldest first
    size_t count, cap;
};

ctim_calls_t *ctim_calls_new(void)
{
    return calloc(1, sizeof(ctim_calls_t));
}

static void s_call_free(s_call_t *c)
{
    free(c->line);
    free(c->call_id);
}

void ctim_calls_destroy(ctim_calls_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctim_calls_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_call_free(&self->calls[i]);
    free(self->calls);
    free(self);
    *self_p = NULL;
}

static s_call_t *s_find(const ctim_calls_t *self, const char *line, const char *call_id)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->calls[i].line, line) == 0 &&
            strcmp(self->calls[i].call_id, call_id) == 0)
            return &self->calls[i];
    return NULL;
}

int ctim_calls_update(ctim_calls_t *self, const ctim_call_event_t *ev)
{
    if (!ev->line || !ev->call_id || !*ev->call_id)
        return 0;               //  nothing to act on later
    s_call_t *c = s_find(self, ev->line, ev->call_id);
    if (ev->state == CTIM_CALL_IDLE) {
        if (c) {
            s_call_free(c);
            size_t i = (size_t)(c - self->calls);
            memmove(c, c + 1, (self->count - i - 1) * sizeof *c);
            self->count--;
        }
        return 0;
    }
    if (c) {
        c->state = ev->state;
        return 0;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_call_t *calls = realloc(self->calls, cap * sizeof *calls);
        if (!calls)
            return -ENOMEM;
        self->calls = calls;
        self->cap = cap;
    }
    c = &self->calls[self->count];
    c->line = strdup(ev->line);
    c->call_id = strdup(ev->call_id);
    c->state = ev->state;
    if (!c->line || !c->call_id) {
        s_call_free(c);
        return -ENOMEM;
    }
    self->count++;
    return 0;
}

static bool s_picks(ctim_pick_t pick, ctim_call_state_t state)
{
    switch (state) {
    case CTIM_CALL_OFFERING:
        return pick == CTIM_PICK_OFFERING;
    case CTIM_CALL_ON_HOLD:
    case CTIM_CALL_ON_HOLD_PENDING_CONFERENCE:
    case CTIM_CALL_ON_HOLD_PENDING_TRANSFER:
        return pick == CTIM_PICK_HELD;
    case CTIM_CALL_ACCEPTED:
    case CTIM_CALL_DIAL_TONE:
    case CTIM_CALL_DIALLING:
    case CTIM_CALL_RINGBACK:
    case CTIM_CALL_BUSY:
    case CTIM_CALL_CONNECTED:
    case CTIM_CALL_PROCEEDING:
    case CTIM_CALL_CONFERENCED:
    case CTIM_CALL_DISCONNECTED:
        return pick == CTIM_PICK_ACTIVE;
    default:
        return false;           //  unknown states are never guessed at
    }
}

size_t ctim_calls_pick(const ctim_calls_t *self, const char *line, ctim_pick_t pick,
                       const char **call_id)
{
    size_t n = 0;
    *call_id = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const s_call_t *c = &self->calls[i];
        if (strcmp(c->line, line) == 0 && s_picks(pick, c->state)) {
            if (n++ == 0)
                *call_id = c->call_id;
        }
    }
    return n;
}

ctim_call_state_t ctim_calls_state(const ctim_calls_t *self, const char *line,
                                   const char *call_id)
{
    const s_call_t *c = s_find(self, line, call_id);
    return c ? c->state : CTIM_CALL_IDLE;
}

const char *ctim_calls_newest(const ctim_calls_t *self, const char *line, const char *except)
{
    for (size_t i = self->count; i-- > 0;) {
        const s_call_t *c = &self->calls[i];
        if (strcmp(c->line, line) == 0 && (!except || strcmp(c->call_id, except) != 0))
            return c->call_id;
    }
    return NULL;
}

void ctim_calls_list(const ctim_calls_t *self, const char *line, ctim_pick_t pick, char *buf,
                     size_t cap)
{
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < self->count && used < cap; i++) {
        const s_call_t *c = &self->calls[i];
        if (strcmp(c->line, line) != 0 || !s_picks(pick, c->state))
            continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", c->call_id);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
