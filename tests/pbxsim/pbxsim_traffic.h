//  pbxsim_traffic: a call generator that loads a switch (and whatever is connected to it)
//  with calls between random extensions at a given rate and hold time.
#ifndef PBXSIM_TRAFFIC_H
#define PBXSIM_TRAFFIC_H

#include "pbxsim.h"

typedef struct pbxsim_traffic pbxsim_traffic_t;

pbxsim_traffic_t *pbxsim_traffic_new(pbxsim_t *sim);
void pbxsim_traffic_destroy(pbxsim_traffic_t **self_p);
//  Start cps calls per second for seconds s, each answered after answer_ms and held for
//  hold_ms.  Replaces a running generation.
int pbxsim_traffic_start(pbxsim_traffic_t *self, int cps, int seconds, int answer_ms, int hold_ms);
void pbxsim_traffic_stop(pbxsim_traffic_t *self);
size_t pbxsim_traffic_json(const pbxsim_traffic_t *self, char *buf, size_t cap);

#endif
