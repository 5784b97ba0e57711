//  ha_test_util: a cluster of real ctimd processes for the ha integration tests — pbxsim on
//  a free port, nodes with free cluster and HTTP ports and their own state folders, /status
//  read over HTTP, pbxsim's link history checked for overlaps.  On 127.0.0.1 (ha_fx_new),
//  or each node in a network namespace of its own whose cluster wire a test can cut
//  (ha_fx_new_netns, test_netns.h).  Every wait is a condition polled with a deadline;
//  teardown kills what is left, stopped processes included, also after a failed test.
#ifndef HA_TEST_UTIL_H
#define HA_TEST_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_ctim.h"
#include "test_http.h"
#include "test_netns.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define HA_NODES_MAX 3
#define HA_WAIT_MS 20000

typedef struct {
    test_proc_t proc;
    char id[8];
    int prio;
    int cluster_port, http_port;
    int client_port;                //  0: no client API
    int csta_port;                  //  0: no CSTA server (HA_FX_CSTA: plain TCP, login)
    char config[128];
    bool stopped;                   //  SIGSTOP sent, no SIGCONT yet
    char host[32];                  //  its HTTP address (the test reaches it there)
    char bus_host[32];              //  its cluster bus address
    char netns[64];                 //  "" = the test's own network
    char log[160];                  //  its stderr goes here (HA_FX_LOGS), "" = inherited
} ha_node_t;

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    size_t n;
    ha_node_t node[HA_NODES_MAX];
    char dir[64];
    char pbx_host[32];              //  where pbxsim listens
    test_netns_t net;               //  name "" without namespaces
    char body[65536];
    char links[65536];
} ha_fx_t;

static ha_fx_t *s_fx;               //  for teardown after a failed assertion

//  Sleep a little between polls (the deadline bounds every wait).
static inline void ha_pace(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

#define HA_FX_NETNS 1u                //  each node in a namespace of its own (test_netns.h)
#define HA_FX_CLIENTS 2u              //  client API on a free port, user crm (test_ctim.h)
#define HA_FX_SEVERAL 4u              //  pbx main says links: several (Binary Star, margin)
#define HA_FX_LOGS 8u                 //  each node's log in DIR/ID.log (ha_log_find)
#define HA_FX_CSTA 16u                //  CSTA server on a free TCP port (user crm may log in)

//  n nodes a, b, c with the given priorities, and pbxsim with extra arguments.  With
//  HA_FX_NETNS the test moves into the namespaces' hub.
static inline ha_fx_t *ha_fx_new_in(size_t n, const int *prio, const char *const *pbxsim_args,
                                    unsigned flags)
{
    bool netns = flags & HA_FX_NETNS;
    ha_fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->net.home_fd = -1;
    s_fx = f;
    f->n = n;
    snprintf(f->dir, sizeof f->dir, "/tmp/ctim-ha-it-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->pbx_host, sizeof f->pbx_host, "127.0.0.1");
    const char *args[32];
    size_t argc = 0;
    for (; pbxsim_args && pbxsim_args[argc] && argc < 28; argc++)
        args[argc] = pbxsim_args[argc];
    if (netns) {
        assert_int_equal(test_netns_up(&f->net, (int) n), 0);
        snprintf(f->pbx_host, sizeof f->pbx_host, "%s", TEST_NETNS_PBX_HOST);
        args[argc++] = "--listen";      //  the last --listen wins
        args[argc++] = TEST_NETNS_PBX_HOST ":0";
    }
    args[argc] = NULL;
    assert_int_equal(test_pbxsim_start(&f->sim, args), 0);
    f->sim_running = true;
    for (size_t i = 0; i < n; i++) {
        ha_node_t *d = &f->node[i];
        d->proc.pid = -1;
        snprintf(d->id, sizeof d->id, "%c", (char) ('a' + i));
        d->prio = prio[i];
        d->cluster_port = test_free_port();
        d->http_port = test_free_port();
        d->client_port = flags & HA_FX_CLIENTS ? test_free_port() : 0;
        d->csta_port = flags & HA_FX_CSTA ? test_free_port() : 0;
        snprintf(d->config, sizeof d->config, "%s/%s.yaml", f->dir, d->id);
        if (flags & HA_FX_LOGS)
            snprintf(d->log, sizeof d->log, "%s/%s.log", f->dir, d->id);
        snprintf(d->host, sizeof d->host, "127.0.0.1");
        snprintf(d->bus_host, sizeof d->bus_host, "127.0.0.1");
        if (netns) {
            test_netns_node(&f->net, (int) i, d->netns, sizeof d->netns);
            test_netns_pbx_addr((int) i, d->host, sizeof d->host);
            test_netns_bus_addr((int) i, d->bus_host, sizeof d->bus_host);
        }
    }
    //  Every node's file lists the others, so every port is known before any starts.
    for (size_t i = 0; i < n; i++) {
        ha_node_t *d = &f->node[i];
        FILE *cfg = fopen(d->config, "w");
        assert_non_null(cfg);
        fprintf(cfg,
                "node: {id: %s, log_level: notice}\n"
                "pbx:\n  - name: main\n    host: %s\n    port: %d\n    priority: %d\n"
                "    backoff_initial_ms: 100\n    backoff_max_ms: 5000\n"
                "    connect_timeout_ms: 2000\n%s"
                "csta_server: {listen: %s, tcp_port: %d}\nclient_api: {listen: %s, port: %d}\n"
                "http: {listen: %s, port: %d}\n"
                "users:\n  - name: " TEST_CTIM_USER "\n    password_hash: \"" TEST_CTIM_HASH
                "\"\n    devices: [\"101-120\"]\n"
                "cluster:\n  listen: %s\n  port: %d\n  state_dir: %s/state-%s\n"
                "  peers:\n",
                d->id, f->pbx_host, f->sim.port, d->prio,
                flags & HA_FX_SEVERAL ? "    links: several\n" : "", d->host, d->csta_port,
                d->host, d->client_port, d->host,
                d->http_port, d->bus_host, d->cluster_port, f->dir, d->id);
        for (size_t j = 0; j < n; j++)
            if (j != i)
                fprintf(cfg, "    - {id: %s, endpoint: \"%s:%d\"}\n", f->node[j].id,
                        f->node[j].bus_host, f->node[j].cluster_port);
        fclose(cfg);
    }
    return f;
}

static inline ha_fx_t *ha_fx_new(size_t n, const int *prio, const char *const *pbxsim_args)
{
    return ha_fx_new_in(n, prio, pbxsim_args, 0);
}

static inline void ha_fx_free(ha_fx_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        if (f->node[i].proc.pid > 0)
            test_proc_kill(&f->node[i].proc);   //  SIGKILL ends stopped ones too
    if (f->sim_running)
        test_pbxsim_stop(&f->sim);
    test_netns_down(&f->net);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    s_fx = NULL;
}

static inline int ha_teardown(void **state)
{
    (void) state;
    ha_fx_free(s_fx);
    return 0;
}

//  A libctim application of a test (test_ctim.h), destroyed by ha_app_teardown also after
//  a failed assertion.
static test_app_t *s_ha_app;

static inline test_app_t *ha_app_new(void)
{
    s_ha_app = calloc(1, sizeof *s_ha_app);
    assert_non_null(s_ha_app);
    return s_ha_app;
}

static inline void ha_app_free(void)
{
    if (s_ha_app)
        test_app_destroy(s_ha_app);
    free(s_ha_app);
    s_ha_app = NULL;
}

static inline int ha_app_teardown(void **state)
{
    ha_app_free();
    return ha_teardown(state);
}

static inline void ha_node_start(ha_fx_t *f, size_t i)
{
    ha_node_t *d = &f->node[i];
    char *argv[] = {CTIM_CTIMD, "--config", d->config, NULL};
    //  ip netns exec runs ctimd in place (exec, no fork): the pid is ctimd's.
    char *in_ns[] = {(char *) test_netns_ip(), "netns", "exec", d->netns,
                     CTIM_CTIMD, "--config", d->config, NULL};
    //  With a log file: the shell execs ctimd in place too, its stderr appended to the file.
    char *logged[] = {"/bin/sh", "-c", "exec \"$0\" --config \"$1\" 2>>\"$2\"", CTIM_CTIMD,
                      d->config, d->log, NULL};
    assert_true(!d->log[0] || !d->netns[0]);    //  (not needed in namespaces yet)
    char *const *run = d->netns[0] ? in_ns : d->log[0] ? logged : argv;
    assert_int_equal(test_proc_start(&d->proc, run, "ctimd ready", 20000), 0);
}

static inline void ha_node_kill(ha_fx_t *f, size_t i)
{
    test_proc_kill(&f->node[i].proc);
}

static inline void ha_node_signal(ha_fx_t *f, size_t i, int sig)
{
    assert_int_equal(kill(f->node[i].proc.pid, sig), 0);
    f->node[i].stopped = sig == SIGSTOP;
}

//  GET /status of node i into f->body; false if it did not answer 200.
static inline bool ha_status(ha_fx_t *f, size_t i)
{
    int code = 0;
    return test_http_get(f->node[i].host, f->node[i].http_port, "/status", 2000, &code, f->body,
                         sizeof f->body) == 0 &&
           code == 200;
}

//  The cluster's view of pbx main in node i's /status: owner, epoch, held, link_up.
typedef struct {
    char owner[16];
    long epoch;
    bool held, link_up;
    bool quorum;
    long drops, takeovers;
    char waiting[16];               //  what it waits for before taking (vote, margin), "" none
} ha_view_t;

//  The first "key": in json is true.
static inline bool ha_json_true(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(json, pattern);
    return p && strncmp(p + strlen(pattern), "true", 4) == 0;
}

static inline bool ha_view(ha_fx_t *f, size_t i, ha_view_t *v)
{
    memset(v, 0, sizeof *v);
    if (!ha_status(f, i))
        return false;
    const char *cl = strstr(f->body, "\"cluster\":{");
    const char *pbx = cl ? strstr(cl, "\"pbx\":[{\"name\":\"main\",\"owner\":\"") : NULL;
    if (!pbx)
        return false;
    pbx += strlen("\"pbx\":[{\"name\":\"main\",\"owner\":\"");
    size_t n = strcspn(pbx, "\"");
    snprintf(v->owner, sizeof v->owner, "%.*s", (int) (n < sizeof v->owner ? n : 0), pbx);
    v->epoch = test_json_long(pbx, "epoch", -1);
    v->held = ha_json_true(pbx, "held");
    v->link_up = ha_json_true(pbx, "link_up");
    const char *w = strstr(pbx, "\"waiting\":\"");
    const char *wnull = strstr(pbx, "\"waiting\":null");
    if (w && (!wnull || w < wnull)) {
        w += strlen("\"waiting\":\"");
        snprintf(v->waiting, sizeof v->waiting, "%.*s", (int) strcspn(w, "\""), w);
    }
    v->quorum = ha_json_true(cl, "quorum");
    v->drops = test_json_long(cl, "drops", -1);
    v->takeovers = test_json_long(cl, "takeovers", -1);
    return true;
}

//  Wait until node i holds the link and it is up; returns the time it was seen (ms), or
//  fails the test.
static inline long long ha_wait_holder(ha_fx_t *f, size_t i, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    ha_view_t v;
    while (test_now_ms() < deadline) {
        if (ha_view(f, i, &v) && v.held && v.link_up)
            return test_now_ms();
        ha_pace(5);
    }
    fail_msg("node %s never held an up link; last /status:\n%s", f->node[i].id, f->body);
    return -1;
}

//  Wait until node i sees owner with epoch (and does not hold the link itself).
static inline void ha_wait_standby(ha_fx_t *f, size_t i, const char *owner, long epoch)
{
    long long deadline = test_now_ms() + HA_WAIT_MS;
    ha_view_t v;
    while (test_now_ms() < deadline) {
        if (ha_view(f, i, &v) && !v.held && strcmp(v.owner, owner) == 0 && v.epoch == epoch)
            return;
        ha_pace(10);
    }
    fail_msg("node %s never stood by for %s epoch %ld; last /status:\n%s", f->node[i].id, owner,
             epoch, f->body);
}

//  Wait until node i serves pbx main through owner (forwarding up: /status says UP, via
//  forwarded, owner).
static inline void ha_wait_forwarding(ha_fx_t *f, size_t i, const char *owner)
{
    char want[96];
    snprintf(want, sizeof want, "\"state\":\"UP\",\"via\":\"forwarded\",\"owner\":\"%s\"",
             owner);
    long long deadline = test_now_ms() + HA_WAIT_MS;
    while (test_now_ms() < deadline) {
        if (ha_status(f, i) && strstr(f->body, want))
            return;
        ha_pace(10);
    }
    fail_msg("node %s never served main through %s; last /status:\n%s", f->node[i].id, owner,
             f->body);
}

//  Start every node; a (the best priority) takes the link with epoch 1, the others stand
//  by for it.
static inline void ha_start_all(ha_fx_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        ha_node_start(f, i);
    ha_wait_holder(f, 0, HA_WAIT_MS);
    for (size_t i = 1; i < f->n; i++)
        ha_wait_standby(f, i, "a", 1);
}

//  For ms, node holder keeps an up link and no other running node holds it.
static inline void ha_hold_steady(ha_fx_t *f, size_t holder, int ms)
{
    ha_view_t v;
    for (long long until = test_now_ms() + ms; test_now_ms() < until;) {
        for (size_t i = 0; i < f->n; i++) {
            if (f->node[i].proc.pid <= 0)
                continue;
            assert_true(ha_view(f, i, &v));
            if (i == holder)
                assert_true(v.held && v.link_up);
            else
                assert_false(v.held);
        }
        ha_pace(50);
    }
}

//  The first line of node i's log (HA_FX_LOGS) at or after line `from` (0-based) that
//  contains text: its number, with the line in out; -1 if none.
static inline int ha_log_find(ha_fx_t *f, size_t i, int from, const char *text, char *out,
                              size_t cap)
{
    FILE *file = fopen(f->node[i].log, "r");
    if (!file)
        return -1;
    char line[2048];
    int n = 0, found = -1;
    while (found < 0 && fgets(line, sizeof line, file)) {
        if (n >= from && strstr(line, text)) {
            found = n;
            if (out)
                snprintf(out, cap, "%s", line);
        }
        n++;
    }
    fclose(file);
    return found;
}

//  The time of day of a log line ("2026-11-22 08:14:50.123 notice ..."), in ms since local
//  midnight; -1 if it has none.
static inline long long ha_log_ms(const char *line)
{
    int h, m, sec, ms;
    if (sscanf(line, "%*d-%*d-%*d %d:%d:%d.%d", &h, &m, &sec, &ms) != 4)
        return -1;
    return ((h * 60LL + m) * 60 + sec) * 1000 + ms;
}

//  Now, as ha_log_ms counts.
static inline long long ha_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    return ((tm.tm_hour * 60LL + tm.tm_min) * 60 + tm.tm_sec) * 1000 + ts.tv_nsec / 1000000;
}

//  One measured figure on stdout (ctest --output-on-failure and the logs show it).
static inline void ha_report(const char *what, long long ms)
{
    printf("%s: %lld ms\n", what, ms);
    fflush(stdout);
}

//  pbxsim's link history: how many links it accepted and refused, how many are open, and
//  for how long two accepted links were open at the same time (a link still open counts
//  as open until now; overlaps summed over every pair).  first_overlap names the first
//  pair that overlapped, "" if none.
typedef struct {
    int accepted, refused, open;
    int entries;
    long long overlap_ms;
    char first_overlap[96];
    //  The shortest time from a link's close to the open of the next link accepted after
    //  it (negative: they overlapped); 0 with fewer than two links.
    long long min_gap_ms;
} ha_links_t;

static inline ha_links_t ha_links_scan(ha_fx_t *f)
{
    if (test_pbxsim_ctl(&f->sim, f->links, sizeof f->links, "links") != 0)
        fail_msg("pbxsim ctl links: %s", f->links);
    //  pbxsim's times are CLOCK_MONOTONIC milliseconds, as test_now_ms.
    struct {
        int id;
        long long opened, closed;
    } acc[256];
    ha_links_t r = {0};
    long long now = test_now_ms() + 1;
    for (const char *p = strstr(f->links, "{\"id\":"); p; p = strstr(p + 1, "{\"id\":")) {
        r.entries++;
        long long opened = test_json_long(p, "opened_ms", -1);
        long long closed = test_json_long(p, "closed_ms", 0);
        if (ha_json_true(p, "refused")) {
            r.refused++;
            continue;
        }
        if (r.accepted < 256) {
            acc[r.accepted].id = (int) test_json_long(p, "id", -1);
            acc[r.accepted].opened = opened;
            acc[r.accepted].closed = closed ? closed : -1;
            r.open += closed == 0;
        }
        r.accepted++;
    }
    for (int a = 0; a < r.accepted && a < 256; a++)
        if (acc[a].closed < 0)
            acc[a].closed = now;
    bool gap_seen = false;
    for (int b = 0; b < r.accepted && b < 256; b++) {
        int prev = -1;
        for (int a = 0; a < r.accepted && a < 256; a++)
            if (a != b && acc[a].opened <= acc[b].opened &&
                (prev < 0 || acc[a].opened > acc[prev].opened))
                prev = a;
        long long gap = prev >= 0 ? acc[b].opened - acc[prev].closed : 0;
        if (prev >= 0 && (!gap_seen || gap < r.min_gap_ms)) {
            r.min_gap_ms = gap;
            gap_seen = true;
        }
    }
    for (int a = 0; a < r.accepted && a < 256; a++)
        for (int b = a + 1; b < r.accepted && b < 256; b++) {
            long long from = acc[a].opened > acc[b].opened ? acc[a].opened : acc[b].opened;
            long long to = acc[a].closed < acc[b].closed ? acc[a].closed : acc[b].closed;
            if (from >= to)
                continue;
            if (!r.first_overlap[0])
                snprintf(r.first_overlap, sizeof r.first_overlap,
                         "links %d and %d open together for %lld ms", acc[a].id, acc[b].id,
                         to - from);
            r.overlap_ms += to - from;
        }
    return r;
}

//  As ha_links_scan, and fails the test if two accepted links were ever open at once.
static inline ha_links_t ha_links(ha_fx_t *f)
{
    ha_links_t r = ha_links_scan(f);
    if (r.first_overlap[0])
        fail_msg("%s: %s", r.first_overlap, f->links);
    return r;
}

#endif
