//  ship_util: what the shipping tests share — a ctimd on a free HTTP port in front of a
//  running pbxsim, with the front ends off (tests run in parallel).
#ifndef SHIP_UTIL_H
#define SHIP_UTIL_H

#include <stdio.h>

#include "test_http.h"
#include "test_proc.h"

//  Write DIR/ctimd.yaml for node_id and the PBX on pbx_port, start CTIM_CTIMD and wait for
//  its ready line; a port taken between the check and the bind makes ctimd exit, and then
//  another is tried.  Returns the HTTP port, or -1 (ctimd not running).
static inline int ship_start_ctimd(test_proc_t *proc, const char *dir, const char *node_id,
                                   int pbx_port)
{
    char config[160];
    snprintf(config, sizeof config, "%s/ctimd.yaml", dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = test_free_port();
        FILE *f = fopen(config, "w");
        if (!f)
            return -1;
        fprintf(f,
                "node:\n  id: %s\n  log_level: info\n"
                "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
                "csta_server:\n  tcp_port: 0\nclient_api:\n  port: 0\n"
                "http:\n  listen: 127.0.0.1\n  port: %d\n",
                node_id, pbx_port, port);
        fclose(f);
        char *argv[] = {CTIM_CTIMD, "--config", config, NULL};
        if (test_proc_start(proc, argv, "ctimd ready", 20000) == 0)
            return port;
    }
    return -1;
}

#endif
