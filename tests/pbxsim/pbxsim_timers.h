//  pbxsim_timers: one-shot timers for the switch on top of the zloop, mapping zloop timer
//  ids to the switch's timer references.
#ifndef PBXSIM_TIMERS_H
#define PBXSIM_TIMERS_H

#include "pbxsim.h"

typedef struct pbxsim_timers pbxsim_timers_t;

pbxsim_timers_t *pbxsim_timers_new(pbxsim_t *sim);
void pbxsim_timers_destroy(pbxsim_timers_t **self_p);
//  The pbx_timers_t the switch is built with.
pbx_timers_t pbxsim_timers_iface(pbxsim_timers_t *self);

#endif
