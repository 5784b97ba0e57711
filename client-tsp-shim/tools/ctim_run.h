//  ctim_run: runs one parsed ctim command against the servers, on libctim's poll loop.
#ifndef CTIM_RUN_H
#define CTIM_RUN_H

#include <stdio.h>

#include "ctim_cmd.h"

//  Run cmd (not help or version) logged in with password (NULL = none; the library copies
//  it).  signal_fd is readable when SIGINT or SIGTERM arrived (a signalfd): monitor then
//  ends with 0, any other command with 128 + the signal's number.  Results and events go
//  to out, errors to err.  Returns the exit code (ctim_exit_t).
int ctim_run(const ctim_cmd_t *cmd, const char *password, int signal_fd, FILE *out, FILE *err);

#endif
