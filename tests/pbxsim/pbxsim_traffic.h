//  pbxsim_traffic: a call generator that loads a switch (and whatever is connected to it)
//  with calls between random extensions at a given rate and hold time.
#ifndef PBXSIM_TRAFFIC_H
#define PBXSIM_TRAFFIC_H

#include "pbxsim.h"

typedef struct pbxsim_traffic pbxsim_traffic_t;

pbxsim_traffic_t *pbxsim_traffic_new(pbxsim_t *sim);
void pbxsim_traffic_destroy(pbxsim_traffic_t **self_p);
//  Start cps calls per second for seconds s (exactly cps * seconds calls, spread evenly),
//  each answered after answer_ms and hung up by the caller hold_ms later.  A call that
//  finds the caller or the callee busy is counted and not retried.  Replaces a running
//  generation (its calls in progress are hung up).  Returns cps or -EINVAL.
int pbxsim_traffic_start(pbxsim_traffic_t *self, int cps, int seconds, int answer_ms, int hold_ms);
//  Stop placing calls; the calls in progress are hung up at once, so none is left.
void pbxsim_traffic_stop(pbxsim_traffic_t *self);
//  The switch forgot every call (restart): drop the pending answers and hang-ups.
void pbxsim_traffic_forget_calls(pbxsim_traffic_t *self);
//  {"running","cps","seconds","placed","busy","answered","completed","in_progress"}
size_t pbxsim_traffic_json(const pbxsim_traffic_t *self, char *buf, size_t cap);

#endif
