//  node_login_bench: how long the node's event loop is held while N applications log in
//  at once for the first time (each user's first login runs PBKDF2, 100 000 iterations),
//  with the checks on the loop (the baseline: no node_verifier, as before) and on the
//  worker thread (node_verifier, as ctimd runs).
//
//  In one process: the client API front end (node_client_server) on a zloop with N users,
//  each with a password hash of its own, and N DEALER applications on the same loop that
//  say Hello at once.  A 1 ms timer measures the loop: its longest gap between two ticks
//  (minus the 1 ms) is the longest turn, the time the loop could not serve anything else.
//  Also: the time until every application has its Welcome.
//
//      node_login_bench [N]        (default 50)
//  Prints a table and a JSON line ({"bench":"node_login",...}) for tests/bench/report.py.
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_client_server.h"
#include "node_log.h"
#include "node_metrics.h"
#include "node_users.h"
#include "node_verifier.h"
#include "proto.h"

#define S_APPS_MAX 500

typedef struct {
    zloop_t *loop;
    zsock_t *app[S_APPS_MAX];
    int n, welcomed, refused;
    int64_t last_tick_us, longest_gap_us, started_us, done_us;
} s_run_t;

static int64_t s_now_us(void)
{
    return zclock_usecs();
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_run_t *r = arg;
    int64_t now = s_now_us();
    if (now - r->last_tick_us > r->longest_gap_us)
        r->longest_gap_us = now - r->last_tick_us;
    r->last_tick_us = now;
    //  Stop once everyone is answered, or after 60 s.
    return r->welcomed + r->refused == r->n || now - r->started_us > 60000000 ? -1 : 0;
}

static int s_on_app(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    s_run_t *r = arg;
    zframe_t *f = zframe_recv(sock);
    proto_client_msg_t m;
    if (f && proto_client_decode(&m, zframe_data(f), zframe_size(f)) == 0) {
        if (m.kind == PROTO_MSG_WELCOME)
            r->welcomed++;
        else if (m.kind == PROTO_MSG_ERROR)
            r->refused++;
        proto_client_msg_clear(&m);
        if (r->welcomed + r->refused == r->n)
            r->done_us = s_now_us();
    }
    zframe_destroy(&f);
    return 0;
}

//  One round: a fresh server and fresh users (nothing remembered), N Hellos at once.
static void s_round(const node_user_cfg_t *users_cfg, int n, bool worker, s_run_t *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->loop = zloop_new();
    node_users_t *users = node_users_new(users_cfg, (size_t) n);
    node_metrics_t *metrics = node_metrics_new();
    node_client_api_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1");
    cfg.replay_events = 1000;
    cfg.replay_bytes = 1 << 20;
    cfg.send_hwm = 1000;
    node_client_server_t *srv = node_client_server_new(r->loop, &cfg, users, metrics, "bench");
    node_verifier_t *v = worker ? node_verifier_new(r->loop, 0) : NULL;
    if (!users || !metrics || !srv || (worker && !v) || node_client_server_start(srv, -1)) {
        fprintf(stderr, "node_login_bench: setup failed\n");
        exit(1);
    }
    node_client_server_set_verifier(srv, v);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", node_client_server_port(srv));
    for (int i = 0; i < n; i++) {
        r->app[i] = zsock_new_dealer(ep);
        zsock_set_linger(r->app[i], 0);
        zloop_reader(r->loop, r->app[i], s_on_app, r);
    }
    zclock_sleep(200);      //  let the connections settle before the burst (not measured)
    r->started_us = s_now_us();
    for (int i = 0; i < n; i++) {
        proto_client_msg_t m;
        proto_client_msg_init(&m, PROTO_MSG_HELLO);
        snprintf(m.hello.user, sizeof m.hello.user, "%s", users_cfg[i].name);
        snprintf(m.hello.password, sizeof m.hello.password, "pw-%d", i);
        snprintf(m.hello.client, sizeof m.hello.client, "node_login_bench");
        uint8_t buf[1024];
        size_t len = 0;
        if (proto_client_encode(&m, buf, sizeof buf, &len) == 0) {
            zframe_t *f = zframe_new(buf, len);
            zframe_send(&f, r->app[i], 0);
        }
    }
    //  The first gap counts from the burst: the loop's first turn may be the long one.
    r->last_tick_us = r->started_us;
    zloop_timer(r->loop, 1, 0, s_on_tick, r);
    zloop_start(r->loop);
    for (int i = 0; i < n; i++) {
        zloop_reader_end(r->loop, r->app[i]);
        zsock_destroy(&r->app[i]);
    }
    node_client_server_destroy(&srv);
    node_verifier_destroy(&v);
    node_users_destroy(&users);
    node_metrics_destroy(&metrics);
    zloop_destroy(&r->loop);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;
    if (n < 1 || n > S_APPS_MAX) {
        fprintf(stderr, "usage: node_login_bench [N 1..%d]\n", S_APPS_MAX);
        return 2;
    }
    node_log_init("bench", NODE_LOG_WARNING);
    zsys_set_max_sockets(4 * S_APPS_MAX + 64);
    node_user_cfg_t *users = calloc((size_t) n, sizeof *users);
    for (int i = 0; i < n; i++) {
        char pw[16];
        snprintf(pw, sizeof pw, "pw-%d", i);
        char *hash = node_users_hash_password(pw);
        if (!hash) {
            fprintf(stderr, "node_login_bench: no hash\n");
            return 1;
        }
        snprintf(users[i].name, sizeof users[i].name, "app%d", i);
        snprintf(users[i].password_hash, sizeof users[i].password_hash, "%s", hash);
        free(hash);
    }
    s_run_t loop_run, worker_run;
    s_round(users, n, false, &loop_run);
    s_round(users, n, true, &worker_run);
    free(users);
    const s_run_t *runs[2] = {&loop_run, &worker_run};
    const char *names[2] = {"on the loop (before)", "on the worker thread"};
    printf("%d first logins at once (PBKDF2-SHA256, 100000 iterations, one user each)\n", n);
    printf("%-24s %10s %14s %10s\n", "checks", "welcomed", "longest turn", "all in");
    for (int i = 0; i < 2; i++)
        printf("%-24s %10d %11.1f ms %7.1f ms\n", names[i], runs[i]->welcomed,
               (double) (runs[i]->longest_gap_us - 1000) / 1000.0,
               (double) (runs[i]->done_us - runs[i]->started_us) / 1000.0);
    printf("{\"bench\":\"node_login\",\"logins\":%d,\"loop\":{\"welcomed\":%d,"
           "\"longest_turn_ms\":%.1f,\"all_in_ms\":%.1f},\"worker\":{\"welcomed\":%d,"
           "\"longest_turn_ms\":%.1f,\"all_in_ms\":%.1f}}\n",
           n, loop_run.welcomed, (double) (loop_run.longest_gap_us - 1000) / 1000.0,
           (double) (loop_run.done_us - loop_run.started_us) / 1000.0, worker_run.welcomed,
           (double) (worker_run.longest_gap_us - 1000) / 1000.0,
           (double) (worker_run.done_us - worker_run.started_us) / 1000.0);
    return loop_run.welcomed == n && worker_run.welcomed == n ? 0 : 1;
}
