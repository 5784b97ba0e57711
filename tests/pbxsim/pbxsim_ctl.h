//  pbxsim_ctl: the control socket through which scripts and tests act as the people
//  and the network around the switch (calls in, answer, hang up, hold), read its state
//  (calls, devices, links, stats as JSON) and inject faults.
#ifndef PBXSIM_CTL_H
#define PBXSIM_CTL_H

#include "pbxsim.h"

typedef struct pbxsim_ctl pbxsim_ctl_t;

pbxsim_ctl_t *pbxsim_ctl_new(pbxsim_t *sim, const char *path);
void pbxsim_ctl_destroy(pbxsim_ctl_t **self_p);

//  Execute one command line; writes a one-line JSON reply into reply.  Returns 0 if the
//  command succeeded.
int pbxsim_ctl_execute(pbxsim_t *sim, char *line, char *reply, size_t cap);

//  `pbxsim ctl [--ctl PATH | --port N] COMMAND ARGS...`: send, print the reply.
int pbxsim_ctl_client(int argc, char **argv);

#endif
