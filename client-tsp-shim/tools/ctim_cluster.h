//  ctim_cluster: `ctim cluster handover PBX NODE --http HOST:PORT[,HOST:PORT...]
//  [--timeout MS] [--json]` (client-tsp-shim/README.md): move a PBX link to NODE through
//  the nodes' HTTP endpoints.  Exit codes as ctim_cmd.h: 0 done (or NODE held it already),
//  1 refused or failed (the reason on err), 2 usage, 4 NODE did not hold the link with
//  its link up within --timeout (default 10000 ms).
#ifndef CTIM_CLUSTER_H
#define CTIM_CLUSTER_H

#include <stdbool.h>
#include <stdio.h>

//  Whether the command (the first operand after the options) is "cluster".
bool ctim_cluster_is_cluster(int argc, char *const argv[]);
//  Run it; the client API's options (--servers, --user, --password-file ...) are ignored.
int ctim_cluster_main(int argc, char *const argv[], FILE *out, FILE *err);

#endif
