//  node_client_util: what the client API integration tests (node_client*_test.c) share on
//  top of tests/support/test_ctim.h -- a folder per group, pbxsim and one ctimd per test
//  (users crm with every device and desk with a few), and waits on ctimd's HTTP endpoints
//  and pbxsim's monitors.  These assert (cmocka): a wait that passes its deadline fails.
#ifndef NODE_CLIENT_UTIL_H
#define NODE_CLIENT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <czmq.h>

#include "test_ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define NC_WAIT_MS 10000

//  The group's folder (configs, certificates, pbxsim's device file).
static char nc_dir[64];

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_node_t node;               //  pid -1 while not running
    char reply[1 << 16];            //  pbxsim's last ctl answer
    char body[1 << 18];             //  the last HTTP body
} nc_world_t;

static inline int nc_group_setup(const char *name)
{
    if (test_ctim_dir_make(nc_dir, sizeof nc_dir, name) != 0)
        return -1;
    zsys_init();
    zsys_handler_set(NULL);
    return 0;
}

static inline int nc_group_teardown(void)
{
    return test_ctim_dir_remove(nc_dir);
}

//  pbxsim with sim_args (NULL-terminated), then ctimd (node id) in nc_dir with client_yaml
//  and extra_yaml (test_node_cfg_t), users crm (no device list: every device) and desk
//  (desk_devices, e.g. "101-103"); waits until the PBX link is up.  Returns 0 or -1 (what
//  was started stays for nc_stop).
static inline int nc_start(nc_world_t *w, const char *id, const char *const *sim_args,
                           const char *client_yaml, const char *desk_devices,
                           const char *extra_yaml)
{
    w->node.proc.pid = -1;
    if (test_pbxsim_start(&w->sim, sim_args) != 0)
        return -1;
    w->sim_running = true;
    char users[512];
    snprintf(users, sizeof users,
             "  - name: " TEST_CTIM_USER "\n    password_hash: \"" TEST_CTIM_HASH "\"\n"
             "  - name: desk\n    password_hash: \"" TEST_CTIM_HASH "\"\n"
             "    devices: [\"%s\"]\n",
             desk_devices);
    test_node_cfg_t cfg = {.client_yaml = client_yaml, .users_yaml = users,
                           .extra_yaml = extra_yaml};
    return test_node_start_cfg(&w->node, nc_dir, id, w->sim.port, &cfg, true);
}

//  Stop ctimd and pbxsim; safe on a world half started.
static inline void nc_stop(nc_world_t *w)
{
    test_node_stop(&w->node);
    if (w->sim_running)
        test_pbxsim_stop(&w->sim);
    w->sim_running = false;
}

//  GET path from ctimd's HTTP server into w->body: the status, or -1.
static inline int nc_get(nc_world_t *w, const char *path)
{
    int status = -1;
    if (test_http_get("127.0.0.1", w->node.http_port, path, 5000, &status, w->body,
                      sizeof w->body))
        return -1;
    return status;
}

static inline void nc_pace(void)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds the wait
}

//  GET path until it answers 200 with text in the body.
static inline void nc_wait_http(nc_world_t *w, const char *path, const char *text)
{
    long long deadline = test_now_ms() + NC_WAIT_MS;
    while (test_now_ms() < deadline) {
        if (nc_get(w, path) == 200 && strstr(w->body, text))
            return;
        nc_pace();
    }
    fail_msg("GET %s never held \"%s\"; last:\n%s", path, text, w->body);
}

//  The value of a series (name and labels as exposed) on /metrics; 0 when absent, -1 when
//  /metrics did not answer.
static inline double nc_metric(nc_world_t *w, const char *series)
{
    if (nc_get(w, "/metrics") != 200)
        return -1;
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(w->body, needle);
    return p ? strtod(p + strlen(needle), NULL) : 0;
}

static inline void nc_wait_metric(nc_world_t *w, const char *series, double at_least)
{
    long long deadline = test_now_ms() + NC_WAIT_MS;
    double v = -1;
    while (test_now_ms() < deadline && (v = nc_metric(w, series)) < at_least)
        nc_pace();
    if (v < at_least)
        fail_msg("%s is %g, expected at least %g", series, v, at_least);
}

//  How many monitors pbxsim has on dev, or -1.
static inline long nc_monitors(nc_world_t *w, const char *dev)
{
    if (test_pbxsim_ctl(&w->sim, w->reply, sizeof w->reply, "monitors %s", dev) != 0)
        return -1;
    return test_json_long(w->reply, "monitors", -1);
}

static inline void nc_wait_monitors(nc_world_t *w, const char *dev, long n)
{
    long long deadline = test_now_ms() + NC_WAIT_MS;
    long got = -1;
    while (test_now_ms() < deadline && (got = nc_monitors(w, dev)) != n)
        nc_pace();
    assert_int_equal(got, n);
}

//  A pbxsim ctl command: fmt with two %s (b NULL: ""); it must succeed.
static inline void nc_ctl(nc_world_t *w, const char *fmt, const char *a, const char *b)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, fmt, a, b ? b : "");
    if (test_pbxsim_ctl(&w->sim, w->reply, sizeof w->reply, "%s", cmd) != 0)
        fail_msg("pbxsim ctl %s: %s", cmd, w->reply);
}

#endif
