//  ctim_calls: the calls the ctim tool has seen at its lines, to act on "the" call of a line.
//
//  Fed every call event (snapshot or transition); a call that reaches idle is forgotten.
//  Commands given no CALLID ask for the line's call in the state they need.  Pure
//  bookkeeping, unit tested.
#ifndef CTIM_CALLS_H
#define CTIM_CALLS_H

#include <stddef.h>

#include "ctim.h"

typedef struct ctim_calls_s ctim_calls_t;

//  Which calls a command acts on.
typedef enum {
    CTIM_PICK_OFFERING,     //  ringing at the line (answer, redirect)
    CTIM_PICK_ACTIVE,       //  the line is in it and not holding it (hangup, hold, transfer,
                            //  conference, dtmf): accepted, dial tone, dialling, ringback,
                            //  busy, connected, proceeding, conferenced, disconnected
    CTIM_PICK_HELD,         //  on hold, also pending a transfer or conference (retrieve)
} ctim_pick_t;

ctim_calls_t *ctim_calls_new(void);
void ctim_calls_destroy(ctim_calls_t **self_p);

//  Take a call event (borrowed).  Returns 0, or -ENOMEM.
int ctim_calls_update(ctim_calls_t *self, const ctim_call_event_t *ev);

//  How many calls at line pick selects; *call_id (borrowed until the next update) is the
//  oldest of them, NULL when none.
size_t ctim_calls_pick(const ctim_calls_t *self, const char *line, ctim_pick_t pick,
                       const char **call_id);
//  The state of call_id at line; CTIM_CALL_IDLE when the call is not (or no longer) there.
ctim_call_state_t ctim_calls_state(const ctim_calls_t *self, const char *line,
                                   const char *call_id);
//  The newest call at line other than except (may be NULL); NULL when none.
const char *ctim_calls_newest(const ctim_calls_t *self, const char *line, const char *except);
//  The ids of the calls at line that pick selects, separated by ", ", into buf.
void ctim_calls_list(const ctim_calls_t *self, const char *line, ctim_pick_t pick, char *buf,
                     size_t cap);

#endif
