//  ctim_client_bench: libctim end to end with real processes on loopback (issue 5).
//
//    1. Request round trip through the library, one in flight: list_lines (answered by the
//       node) and get_address_status (the node asks the PBX), against a CSTA GetForwarding
//       straight to pbxsim with csta_client (the PBX alone).
//    2. Call events per second delivered to C = 1, 100, 1000 libctim clients in this
//       process (one poll loop), each with 10 of 100 extensions open, while `pbxsim ctl
//       traffic` places calls; the events the clients were told they lost (EventsLost).
//    3. Failover: pbxsim takes one link; ctimd A holds it and ctimd B waits for it; 100
//       clients with the list "A,B" and 10 lines each.  A is killed (SIGKILL): the time
//       until the clients see their lines out of service, and until every line of every
//       client is back in service on B (p50, p99, max), for heartbeats of 300 and 1000 ms.
//
//  Build and run it from a Release tree without sanitizers:
//    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
//    cmake --build build-bench -j2 --target pbxsim ctimd ctim_client_bench
//    build-bench/tests/ctim_client_bench [--quick]
//  It prints a table and one JSON line ({"bench":"ctim_client",...}); the run is bounded
//  (alarm at 300 s, every wait has a deadline) and its children are killed on any exit
//  (bench_util.h).
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "csta.h"
#include "csta_client.h"
#include "ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define S_FIRST_EXT 1000
#define S_EXTENSIONS 100
#define S_LINES_PER_CLIENT 10
#define S_CLIENTS_MAX 1000
#define S_WAIT_MS 30000
#define S_FAILOVER_CLIENTS 100

//  "crm-secret" (the hash in deploy/config/ctimd.yaml).
#define S_HASH                                                                                   \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

//  --- Children, cleaned up on every exit ----------------------------------------------------

typedef struct {
    test_proc_t proc;
    int client_port, http_port, csta_port;
    char config[128];
} s_node_t;

static test_pbxsim_t s_sim = {.proc.pid = -1};
static s_node_t s_nodes[2] = {{.proc.pid = -1}, {.proc.pid = -1}};
static char s_reply[1 << 16];

static void s_sim_start(int max_links)
{
    char range[32], links[16];
    snprintf(range, sizeof range, "%d-%d", S_FIRST_EXT, S_FIRST_EXT + S_EXTENSIONS - 1);
    snprintf(links, sizeof links, "%d", max_links);
    const char *args[] = {"--extensions", range, "--max-links", links,
                          "--status-interval-ms", "3600000", NULL};
    if (test_pbxsim_start(&s_sim, args))
        bench_die("cannot start pbxsim");
}

static void s_sim_stop(void)
{
    test_pbxsim_stop(&s_sim);
    s_sim.proc.pid = -1;
}

//  ctimd `id` on the running pbxsim.  wait_link: return only when /readyz says its link is
//  up (a standby's link is refused by pbxsim until the holder goes).
static void s_node_start(s_node_t *n, const char *id, bool wait_link)
{
    snprintf(n->config, sizeof n->config, "%s/%s.yaml", bench_dir, id);
    for (int attempt = 0; attempt < 5; attempt++) {
        n->client_port = test_free_port();
        n->http_port = test_free_port();
        n->csta_port = test_free_port();
        FILE *f = fopen(n->config, "w");
        if (!f)
            bench_die("cannot write a config");
        fprintf(f,
                "node:\n  id: %s\n  log_level: warning\n"
                "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
                "    backoff_initial_ms: 50\n    backoff_max_ms: 100\n"
                "    validate_calls_ms: 0\n    window: 64\n    queue_max: 100000\n"
                "csta_server:\n  listen: 127.0.0.1\n  tcp_port: %d\n  tls_port: 0\n"
                "client_api:\n  listen: 127.0.0.1\n  port: %d\n"
                "http:\n  listen: 127.0.0.1\n  port: %d\n"
                "users:\n  - name: crm\n    password_hash: \"%s\"\n",
                id, s_sim.port, n->csta_port, n->client_port, n->http_port, S_HASH);
        fclose(f);
        char *argv[] = {CTIM_CTIMD, "--config", n->config, NULL};
        if (test_proc_start(&n->proc, argv, "ctimd ready", 20000) == 0)
            break;
        n->proc.pid = -1;
    }
    if (n->proc.pid <= 0)
        bench_die("cannot start ctimd");
    long long deadline = test_now_ms() + S_WAIT_MS;
    while (wait_link && test_now_ms() < deadline) {
        int status = -1;
        if (test_http_get("127.0.0.1", n->http_port, "/readyz", 2000, &status, s_reply,
                          sizeof s_reply) == 0 && status == 200)
            return;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds it
    }
    if (wait_link)
        bench_die("ctimd's PBX link did not come up");
}

static void s_node_stop(s_node_t *n)
{
    if (n->proc.pid > 0)
        test_proc_stop(&n->proc);
    n->proc.pid = -1;
}

//  --- Clients -------------------------------------------------------------------------------

typedef struct {
    ctim_t *ctim;
    char lines[S_LINES_PER_CLIENT][16];
    bool in_service[S_LINES_PER_CLIENT];
    int in_service_count;
    int last_reply_id;
    ctim_result_t last_result;
    long long first_down_us;            //  first line out of service (failover)
    long long all_up_us;                //  every line in service again (failover)
    long events;
    long long lost;
} s_client_t;

static s_client_t *s_clients;
static int s_client_count;
static bool s_failing_over;

static void s_on_reply(ctim_t *ctim, const ctim_reply_t *reply, void *arg)
{
    (void) ctim;
    s_client_t *c = arg;
    c->last_reply_id = reply->request_id;
    c->last_result = reply->result;
}

static void s_on_call(ctim_t *ctim, const ctim_call_event_t *event, void *arg)
{
    (void) ctim;
    (void) event;
    s_client_t *c = arg;
    c->events++;
}

static void s_on_line(ctim_t *ctim, const char *line, bool in_service, void *arg)
{
    (void) ctim;
    s_client_t *c = arg;
    for (int i = 0; i < S_LINES_PER_CLIENT; i++) {
        if (strcmp(c->lines[i], line) != 0 || c->in_service[i] == in_service)
            continue;
        c->in_service[i] = in_service;
        c->in_service_count += in_service ? 1 : -1;
        long long now = bench_now_us();
        if (!in_service && s_failing_over && !c->first_down_us)
            c->first_down_us = now;
        if (in_service && s_failing_over && c->first_down_us &&
            c->in_service_count == S_LINES_PER_CLIENT)
            c->all_up_us = now;
    }
}

static void s_on_events_lost(ctim_t *ctim, uint64_t count, void *arg)
{
    (void) ctim;
    s_client_t *c = arg;
    c->lost += (long long) count;
}

static ctim_t *s_client_ctim(int i, void *arg)
{
    (void) arg;
    return s_clients[i].ctim;
}

//  One turn of the application loop over every client: poll all fds, dispatch all.
static struct pollfd *s_pfd;

static void s_turn(int max_wait_ms)
{
    bench_turn(s_client_count, s_client_ctim, NULL, s_pfd, max_wait_ms);
}

static void s_clients_new(int count, const char *servers, uint32_t heartbeat_ms)
{
    s_clients = calloc((size_t) count, sizeof *s_clients);
    s_pfd = calloc((size_t) count, sizeof *s_pfd);
    if (!s_clients || !s_pfd)
        bench_die("out of memory");
    s_client_count = count;
    for (int i = 0; i < count; i++) {
        s_client_t *c = &s_clients[i];
        for (int j = 0; j < S_LINES_PER_CLIENT; j++)
            snprintf(c->lines[j], sizeof c->lines[j], "%d",
                     S_FIRST_EXT + (i % (S_EXTENSIONS / S_LINES_PER_CLIENT)) *
                                       S_LINES_PER_CLIENT + j);
        ctim_cfg_t cfg;
        ctim_cfg_init(&cfg);
        cfg.servers = servers;
        cfg.user = "crm";
        cfg.password = "crm-secret";
        cfg.client = "ctim_client_bench";
        cfg.heartbeat_ms = heartbeat_ms;
        cfg.backoff_max_ms = 200;
        cfg.on_reply = s_on_reply;
        cfg.on_call = s_on_call;
        cfg.on_line = s_on_line;
        cfg.on_events_lost = s_on_events_lost;
        cfg.arg = c;
        c->ctim = ctim_new(&cfg);
        if (!c->ctim || ctim_connect(c->ctim) != 0)
            bench_die("ctim_new / ctim_connect");
        for (int j = 0; j < S_LINES_PER_CLIENT; j++)
            if (ctim_open_line(c->ctim, c->lines[j], NULL) <= 0)
                bench_die("ctim_open_line");
    }
    //  Every line of every client in service (logins are PBKDF2: 1000 take seconds).
    long long deadline = test_now_ms() + 120000;
    for (;;) {
        int ready = 0;
        for (int i = 0; i < count; i++)
            ready += s_clients[i].in_service_count == S_LINES_PER_CLIENT;
        if (ready == count)
            break;
        if (test_now_ms() > deadline)
            bench_die("clients' lines did not come in service");
        s_turn(20);
    }
}

static void s_clients_destroy(void)
{
    for (int i = 0; i < s_client_count; i++)
        ctim_destroy(&s_clients[i].ctim);
    free(s_clients);
    free(s_pfd);
    s_clients = NULL;
    s_pfd = NULL;
    s_client_count = 0;
}

//  --- 1. Request round trip ------------------------------------------------------------------

typedef struct {
    double p50_us, p99_us, mean_us;
} s_rtt_t;

static s_rtt_t s_stats(long long *v, int n)
{
    qsort(v, (size_t) n, sizeof *v, bench_cmp_ll);
    long long sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    return (s_rtt_t){(double) v[n / 2], (double) v[(n * 99) / 100], (double) sum / n};
}

typedef enum { S_LIST_LINES, S_ADDRESS_STATUS } s_rtt_op_t;

static s_rtt_t s_rtt_lib(s_rtt_op_t op, int requests)
{
    long long *v = calloc((size_t) requests, sizeof *v);
    if (!v)
        bench_die("out of memory");
    s_client_t *c = &s_clients[0];
    for (int i = 0; i < requests; i++) {
        long long t0 = bench_now_us();
        int id = op == S_LIST_LINES ? ctim_list_lines(c->ctim)
                                    : ctim_get_address_status(c->ctim, c->lines[0]);
        if (id <= 0)
            bench_die("request not made");
        long long deadline = test_now_ms() + S_WAIT_MS;
        while (c->last_reply_id != id) {
            if (test_now_ms() > deadline)
                bench_die("no reply");
            s_turn(10);
        }
        if (c->last_result != CTIM_RESULT_OK)
            bench_die(ctim_result_str(c->last_result));
        v[i] = bench_now_us() - t0;
    }
    s_rtt_t r = s_stats(v, requests);
    free(v);
    return r;
}

//  The PBX alone: GetForwarding on a second pbxsim link, one in flight.
static s_rtt_t s_rtt_direct(int requests)
{
    csta_client_cfg_t cfg = {.host = "127.0.0.1", .port = s_sim.port, .timeout_ms = 5000};
    csta_client_t *cc = csta_client_new(&cfg);
    if (!cc || csta_client_connect(cc) != 0)
        bench_die("csta_client to pbxsim");
    long long *v = calloc((size_t) requests, sizeof *v);
    if (!v)
        bench_die("out of memory");
    for (int i = 0; i < requests; i++) {
        csta_apdu_t invoke, reply;
        csta_apdu_init(&invoke, CSTA_APDU_INVOKE);
        invoke.opcode = CSTA_OP_GET_FORWARDING;
        csta_device_set(&invoke.svc.get_forwarding.device, "1000");
        long long t0 = bench_now_us();
        if (csta_client_call(cc, &invoke, &reply, 5000) != 0)
            bench_die("GetForwarding to pbxsim");
        v[i] = bench_now_us() - t0;
        csta_apdu_clear(&reply);
    }
    csta_client_destroy(&cc);
    s_rtt_t r = s_stats(v, requests);
    free(v);
    return r;
}

//  --- 2. Events to many clients ----------------------------------------------------------------

typedef struct {
    int clients;
    double events_per_s;
    long events;
    long long lost;
    long placed;
} s_fanout_t;

static s_fanout_t s_fanout(int clients, int cps, int seconds)
{
    char servers[64];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d", s_nodes[0].client_port);
    s_clients_new(clients, servers, 1000);
    char arg[64];
    snprintf(arg, sizeof arg, "%d %d 100 300", cps, seconds);
    if (test_pbxsim_ctl(&s_sim, s_reply, sizeof s_reply, "traffic %s", arg))
        bench_die(s_reply);
    long long t0 = bench_now_us(), last_event_us = t0;
    long total = 0;
    //  Until the generator is done and no event came for 500 ms.
    for (;;) {
        s_turn(10);
        long sum = 0;
        for (int i = 0; i < clients; i++)
            sum += s_clients[i].events;
        long long now = bench_now_us();
        if (sum != total) {
            total = sum;
            last_event_us = now;
        }
        if (now - t0 > (long long) (seconds + 30) * 1000000)
            bench_die("traffic did not finish");
        if (now - t0 > (long long) seconds * 1000000 && now - last_event_us > 500000)
            break;
    }
    s_fanout_t f = {.clients = clients, .events = total};
    f.events_per_s = (double) total * 1e6 / (double) (last_event_us - t0);
    for (int i = 0; i < clients; i++)
        f.lost += s_clients[i].lost;
    if (test_pbxsim_ctl(&s_sim, s_reply, sizeof s_reply, "%s", "stats") == 0)
        f.placed = test_json_long(s_reply, "placed", -1);
    s_clients_destroy();
    return f;
}

//  --- 3. Failover ---------------------------------------------------------------------------------

typedef struct {
    int heartbeat_ms;
    double down_p50_ms, down_max_ms;    //  kill -> lines out of service
    double up_p50_ms, up_p99_ms, up_max_ms;     //  kill -> every line in service again
} s_failover_t;

static s_failover_t s_failover(int heartbeat_ms)
{
    s_sim_start(1);                     //  one link at a time, like a real PBX
    s_node_start(&s_nodes[0], "a", true);
    s_node_start(&s_nodes[1], "b", false);
    char servers[128];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d,tcp://127.0.0.1:%d",
             s_nodes[0].client_port, s_nodes[1].client_port);
    s_clients_new(S_FAILOVER_CLIENTS, servers, (uint32_t) heartbeat_ms);
    s_failing_over = true;
    long long t0 = bench_now_us();
    test_proc_kill(&s_nodes[0].proc);
    s_nodes[0].proc.pid = -1;
    long long deadline = test_now_ms() + S_WAIT_MS;
    for (;;) {
        int done = 0;
        for (int i = 0; i < s_client_count; i++)
            done += s_clients[i].all_up_us != 0;
        if (done == s_client_count)
            break;
        if (test_now_ms() > deadline)
            bench_die("not every client came back in service");
        s_turn(10);
    }
    s_failing_over = false;
    long long down[S_FAILOVER_CLIENTS], up[S_FAILOVER_CLIENTS];
    for (int i = 0; i < s_client_count; i++) {
        down[i] = s_clients[i].first_down_us - t0;
        up[i] = s_clients[i].all_up_us - t0;
    }
    int n = s_client_count;
    qsort(down, (size_t) n, sizeof *down, bench_cmp_ll);
    qsort(up, (size_t) n, sizeof *up, bench_cmp_ll);
    s_failover_t f = {.heartbeat_ms = heartbeat_ms};
    f.down_p50_ms = (double) down[n / 2] / 1000.0;
    f.down_max_ms = (double) down[n - 1] / 1000.0;
    f.up_p50_ms = (double) up[n / 2] / 1000.0;
    f.up_p99_ms = (double) up[(n * 99) / 100] / 1000.0;
    f.up_max_ms = (double) up[n - 1] / 1000.0;
    s_clients_destroy();
    s_node_stop(&s_nodes[1]);
    s_sim_stop();
    return f;
}

//  --- Main ----------------------------------------------------------------------------------------

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_begin("ctim_client_bench", 300);
    bench_child(&s_sim.proc);
    bench_child(&s_nodes[0].proc);
    bench_child(&s_nodes[1].proc);

    int requests = quick ? 300 : 3000;
    snprintf(bench_phase, sizeof bench_phase, "rtt");
    s_sim_start(2);
    s_node_start(&s_nodes[0], "a", true);
    char servers[64];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d", s_nodes[0].client_port);
    s_clients_new(1, servers, 1000);
    s_rtt_t lines = s_rtt_lib(S_LIST_LINES, requests);
    s_rtt_t status = s_rtt_lib(S_ADDRESS_STATUS, requests);
    s_clients_destroy();
    s_rtt_t direct = s_rtt_direct(requests);

    snprintf(bench_phase, sizeof bench_phase, "fanout");
    static const int counts[] = {1, 100, 1000};
    s_fanout_t fan[3];
    int fan_n = quick ? 2 : 3;
    for (int i = 0; i < fan_n; i++)
        fan[i] = s_fanout(counts[i], quick ? 20 : 100, quick ? 1 : 3);
    s_node_stop(&s_nodes[0]);
    s_sim_stop();

    snprintf(bench_phase, sizeof bench_phase, "failover");
    s_failover_t fo[2] = {s_failover(300), {0}};
    int fo_n = 1;
    if (!quick)
        fo[fo_n++] = s_failover(1000);

    printf("\nctim_client_bench (loopback; pbxsim, ctimd and the clients share the cores)\n");
    printf("%-44s %10s %10s %10s\n", "request round trip, one in flight", "p50 us", "p99 us",
           "mean us");
    printf("%-44s %10.0f %10.0f %10.1f\n", "libctim list_lines (node only)", lines.p50_us,
           lines.p99_us, lines.mean_us);
    printf("%-44s %10.0f %10.0f %10.1f\n", "libctim get_address_status (node + PBX)",
           status.p50_us, status.p99_us, status.mean_us);
    printf("%-44s %10.0f %10.0f %10.1f\n", "baseline: CSTA GetForwarding to pbxsim",
           direct.p50_us, direct.p99_us, direct.mean_us);
    printf("\n%-10s %14s %12s %10s %10s\n", "clients", "events/s", "events", "lost", "calls");
    for (int i = 0; i < fan_n; i++)
        printf("%-10d %14.0f %12ld %10lld %10ld\n", fan[i].clients, fan[i].events_per_s,
               fan[i].events, fan[i].lost, fan[i].placed);
    printf("\nfailover of %d clients x %d lines, kill -9 of the node holding the PBX link\n",
           S_FAILOVER_CLIENTS, S_LINES_PER_CLIENT);
    printf("%-12s %14s %14s %14s %14s %14s\n", "heartbeat", "down p50 ms", "down max ms",
           "up p50 ms", "up p99 ms", "up max ms");
    for (int i = 0; i < fo_n; i++)
        printf("%-12d %14.1f %14.1f %14.1f %14.1f %14.1f\n", fo[i].heartbeat_ms,
               fo[i].down_p50_ms, fo[i].down_max_ms, fo[i].up_p50_ms, fo[i].up_p99_ms,
               fo[i].up_max_ms);

    printf("{\"bench\":\"ctim_client\",\"rtt_us\":{\"list_lines_p50\":%.0f,\"list_lines_p99\":%.0f,"
           "\"address_status_p50\":%.0f,\"address_status_p99\":%.0f,"
           "\"direct_get_forwarding_p50\":%.0f,\"direct_get_forwarding_p99\":%.0f},"
           "\"fanout\":[",
           lines.p50_us, lines.p99_us, status.p50_us, status.p99_us, direct.p50_us,
           direct.p99_us);
    for (int i = 0; i < fan_n; i++)
        printf("%s{\"clients\":%d,\"events_per_s\":%.0f,\"events\":%ld,\"lost\":%lld}",
               i ? "," : "", fan[i].clients, fan[i].events_per_s, fan[i].events, fan[i].lost);
    printf("],\"failover\":[");
    for (int i = 0; i < fo_n; i++)
        printf("%s{\"heartbeat_ms\":%d,\"down_p50_ms\":%.1f,\"down_max_ms\":%.1f,"
               "\"up_p50_ms\":%.1f,\"up_p99_ms\":%.1f,\"up_max_ms\":%.1f}",
               i ? "," : "", fo[i].heartbeat_ms, fo[i].down_p50_ms, fo[i].down_max_ms,
               fo[i].up_p50_ms, fo[i].up_p99_ms, fo[i].up_max_ms);
    printf("]}\n");
    return 0;
}
