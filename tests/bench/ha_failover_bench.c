//  ha_failover_bench: the failover of a ctimd pair under load, from kill -9 of the link
//  owner to every application back in service (issue 6).
//
//  pbxsim takes one link (a real PBX's rule: the pair's tie-breaker).  ctimd a (priority
//  10) holds it, ctimd b (20) stands by; cluster heartbeat 100 ms, peer lost after 5.
//  100 libctim applications in this process (one poll loop over all of them, heartbeat
//  300 ms, server list "a,b") share D monitored extensions, D/100 lines each, for D =
//  1000 and then 10000; `pbxsim ctl traffic` places calls between those extensions all
//  along.  Then a is killed (SIGKILL) and the bench times, from the kill:
//    detected      b's /metrics says it hears no peer (ctim_ha_peers_alive 0); b's log
//                  line "peer lost ... silent_ms=N" gives how long a had been silent
//    link up       b's /readyz is 200 (b took the link and pbxsim accepted it)
//    monitors      pbxsim's `stats` counts D active monitors again
//    apps down     each application's first line out of service (p50, max)
//    in service    each application's every line back in service (p50, p99, max)
//  and what the applications missed: calls pbxsim placed between the kill and the last
//  application back in service (their events went nowhere), the events libctim reported
//  lost by sequence number (on_events_lost), and the call events delivered meanwhile.
//  An application's move to b resumes its session from the replicated state
//  (RESUMED_WITH_GAP): b can only bound the gap (512 a session), so the calls placed in
//  the gap are the measure of what the applications missed.
//
//  Build and run it from a Release tree without sanitizers:
//    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
//    cmake --build build-bench -j2 --target pbxsim ctimd ha_failover_bench
//    build-bench/tests/ha_failover_bench [--quick]      (--quick: 1000 devices only)
//  It prints a table and one JSON line ({"bench":"ha_failover",...}); the run is bounded
//  (alarm at 600 s, every wait has a deadline) and its children are killed on any exit
//  (bench_util.h).
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "ctim.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define S_APPS 100
#define S_APP_HEARTBEAT_MS 300
#define S_HEARTBEAT_MS 100
#define S_LOST_AFTER 5
#define S_WAIT_MS 60000
#define S_TRAFFIC_CPS 20
#define S_RUNS_MAX 2

//  "crm-secret" (the hash in deploy/config/ctimd.yaml).
#define S_HASH                                                                                   \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

//  --- Children, killed on every exit ----------------------------------------------------------

typedef struct {
    test_proc_t proc;
    const char *id;
    int prio;
    int client_port, http_port, cluster_port;
    char config[128], log[128];
} s_node_t;

static test_pbxsim_t s_sim = {.proc.pid = -1};
static s_node_t s_nodes[2] = {{.proc.pid = -1, .id = "a", .prio = 10},
                              {.proc.pid = -1, .id = "b", .prio = 20}};
static char s_buf[1 << 16];

//  ctimd with its stderr (the log) into node->log.
static void s_node_start(s_node_t *n, int first_ext, int last_ext)
{
    const s_node_t *peer = &s_nodes[n == &s_nodes[0]];
    FILE *f = fopen(n->config, "w");
    if (!f)
        bench_die("cannot write a config");
    fprintf(f,
            "node:\n  id: %s\n  log_level: notice\n"
            "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n    priority: %d\n"
            "    backoff_initial_ms: 50\n    backoff_max_ms: 200\n"
            "    validate_calls_ms: 0\n    window: 64\n    queue_max: 100000\n"
            "csta_server:\n  tcp_port: 0\n"
            "client_api:\n  listen: 127.0.0.1\n  port: %d\n"
            "http:\n  listen: 127.0.0.1\n  port: %d\n"
            "users:\n  - name: crm\n    password_hash: \"%s\"\n    devices: [\"%d-%d\"]\n"
            "cluster:\n  listen: 127.0.0.1\n  port: %d\n  heartbeat_ms: %d\n  lost_after: %d\n"
            "  state_dir: %s/state-%s\n"
            "  peers:\n    - {id: %s, endpoint: \"127.0.0.1:%d\"}\n",
            n->id, s_sim.port, n->prio, n->client_port, n->http_port, S_HASH, first_ext,
            last_ext, n->cluster_port, S_HEARTBEAT_MS, S_LOST_AFTER, bench_dir, n->id, peer->id,
            peer->cluster_port);
    fclose(f);
    int log = open(n->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int saved = dup(STDERR_FILENO);
    if (log < 0 || saved < 0)
        bench_die("cannot open a node log");
    dup2(log, STDERR_FILENO);
    char *argv[] = {CTIM_CTIMD, "--config", n->config, NULL};
    int rc = test_proc_start(&n->proc, argv, "ctimd ready", 20000);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(log);
    if (rc != 0) {
        n->proc.pid = -1;
        bench_die("cannot start ctimd");
    }
}

static int s_http(const s_node_t *n, const char *path)
{
    int code = 0;
    if (test_http_get("127.0.0.1", n->http_port, path, 2000, &code, s_buf, sizeof s_buf) != 0)
        return -1;
    return code;
}

//  pbxsim's stats, key as a number (-1 if not there).
static long s_sim_stat(const char *key)
{
    if (test_pbxsim_ctl(&s_sim, s_buf, sizeof s_buf, "stats") != 0)
        bench_die("pbxsim ctl stats");
    return test_json_long(s_buf, key, -1);
}

//  Calls the traffic generator placed so far.
static long s_sim_placed(void)
{
    s_sim_stat("placed");
    const char *traffic = strstr(s_buf, "\"traffic\"");
    return traffic ? test_json_long(traffic, "placed", -1) : -1;
}

//  --- Applications --------------------------------------------------------------------------

typedef struct {
    ctim_t *ctim;
    int first, count;               //  lines first .. first + count - 1
    int in_service;
    bool *up;                       //  per line
    long long down_us, back_us;     //  first line out of service, all back (failover)
    long events;
    long long lost;
} s_app_t;

static s_app_t s_apps[S_APPS];
static struct pollfd s_pfd[S_APPS];
static bool s_failing_over;

static void s_on_line(ctim_t *ctim, const char *line, bool in_service, void *arg)
{
    (void) ctim;
    s_app_t *a = arg;
    int i = atoi(line) - a->first;
    if (i < 0 || i >= a->count || a->up[i] == in_service)
        return;
    a->up[i] = in_service;
    a->in_service += in_service ? 1 : -1;
    long long now = bench_now_us();
    if (s_failing_over && !in_service && !a->down_us)
        a->down_us = now;
    if (s_failing_over && in_service && a->down_us && a->in_service == a->count)
        a->back_us = now;
}

static void s_on_call(ctim_t *ctim, const ctim_call_event_t *event, void *arg)
{
    (void) ctim;
    (void) event;
    ((s_app_t *) arg)->events++;
}

static void s_on_events_lost(ctim_t *ctim, uint64_t count, void *arg)
{
    (void) ctim;
    ((s_app_t *) arg)->lost += (long long) count;
}

static ctim_t *s_app_ctim(int i, void *arg)
{
    (void) arg;
    return s_apps[i].ctim;
}

//  One turn over every application: poll all (at most max_wait_ms), dispatch all.
static void s_turn(int max_wait_ms)
{
    bench_turn(S_APPS, s_app_ctim, NULL, s_pfd, max_wait_ms);
}

static int s_apps_in_service(void)
{
    int n = 0;
    for (int i = 0; i < S_APPS; i++)
        n += s_apps[i].in_service == s_apps[i].count;
    return n;
}

//  Applications whose lines all went out of service and came back since the kill.
static int s_apps_back(void)
{
    int n = 0;
    for (int i = 0; i < S_APPS; i++)
        n += s_apps[i].back_us != 0;
    return n;
}

static void s_apps_new(int first_ext, int devices)
{
    char servers[128];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d,tcp://127.0.0.1:%d",
             s_nodes[0].client_port, s_nodes[1].client_port);
    int per = devices / S_APPS;
    for (int i = 0; i < S_APPS; i++) {
        s_app_t *a = &s_apps[i];
        memset(a, 0, sizeof *a);
        a->first = first_ext + i * per;
        a->count = per;
        a->up = calloc((size_t) per, sizeof *a->up);
        ctim_cfg_t cfg;
        ctim_cfg_init(&cfg);
        cfg.servers = servers;
        cfg.user = "crm";
        cfg.password = "crm-secret";
        cfg.client = "ha_failover_bench";
        cfg.heartbeat_ms = S_APP_HEARTBEAT_MS;
        cfg.backoff_max_ms = 200;
        cfg.request_timeout_ms = 30000;
        cfg.on_line = s_on_line;
        cfg.on_call = s_on_call;
        cfg.on_events_lost = s_on_events_lost;
        cfg.arg = a;
        a->ctim = ctim_new(&cfg);
        if (!a->up || !a->ctim || ctim_connect(a->ctim) != 0)
            bench_die("ctim_new / ctim_connect");
        for (int j = 0; j < per; j++) {
            char line[16];
            snprintf(line, sizeof line, "%d", a->first + j);
            if (ctim_open_line(a->ctim, line, NULL) <= 0)
                bench_die("ctim_open_line");
        }
    }
    long long deadline = test_now_ms() + 120000;
    while (s_apps_in_service() < S_APPS) {
        if (test_now_ms() > deadline)
            bench_die("the applications' lines did not come in service");
        s_turn(20);
    }
}

static void s_apps_destroy(void)
{
    for (int i = 0; i < S_APPS; i++) {
        ctim_destroy(&s_apps[i].ctim);
        free(s_apps[i].up);
        s_apps[i].up = NULL;
    }
}

//  --- One run ---------------------------------------------------------------------------------

typedef struct {
    int devices;
    double detect_ms, link_up_ms, monitors_ms;
    double down_p50_ms, down_max_ms;
    double up_p50_ms, up_p99_ms, up_max_ms;
    long silent_ms;                 //  b's "peer lost ... silent_ms="
    long placed_in_gap;             //  calls pbxsim placed from the kill to the last app back
    long events_in_gap;             //  call events the applications got meanwhile
    long long events_lost;          //  reported by libctim (sequence numbers)
    long monitor_starts;            //  MonitorStart requests pbxsim saw for the restore
} s_result_t;

static long s_log_value(const char *path, const char *line_has, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    long v = -1;
    while (v < 0 && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, line_has) ? strstr(line, key) : NULL;
        if (p)
            v = strtol(p + strlen(key), NULL, 10);
    }
    fclose(f);
    return v;
}

static s_result_t s_run(int devices)
{
    s_result_t r = {.devices = devices};
    int first = devices >= 10000 ? 10000 : 1000, last = first + devices - 1;
    char range[32];
    snprintf(range, sizeof range, "%d-%d", first, last);
    snprintf(bench_phase, sizeof bench_phase, "%d devices: setup", devices);
    const char *args[] = {"--extensions", range, "--max-links", "1", "--status-interval-ms",
                          "3600000", NULL};
    if (test_pbxsim_start(&s_sim, args))
        bench_die("cannot start pbxsim");
    for (int i = 0; i < 2; i++) {
        s_node_t *n = &s_nodes[i];
        n->client_port = test_free_port();
        n->http_port = test_free_port();
        n->cluster_port = test_free_port();
        snprintf(n->config, sizeof n->config, "%s/%s-%d.yaml", bench_dir, n->id, devices);
        snprintf(n->log, sizeof n->log, "%s/%s-%d.log", bench_dir, n->id, devices);
    }
    s_node_start(&s_nodes[0], first, last);
    s_node_start(&s_nodes[1], first, last);
    long long deadline = test_now_ms() + S_WAIT_MS;
    while (s_http(&s_nodes[0], "/readyz") != 200)
        if (test_now_ms() > deadline)
            bench_die("a never held the link");
    s_apps_new(first, devices);
    deadline = test_now_ms() + S_WAIT_MS;
    while (s_sim_stat("monitors_active") != devices) {
        if (test_now_ms() > deadline)
            bench_die("not every device monitored");
        s_turn(10);
    }

    //  Calls all along; a second of them before the kill.
    snprintf(bench_phase, sizeof bench_phase, "%d devices: failover", devices);
    if (test_pbxsim_ctl(&s_sim, s_buf, sizeof s_buf, "traffic %d 60 200 1000", S_TRAFFIC_CPS))
        bench_die(s_buf);
    for (long long until = test_now_ms() + 1000; test_now_ms() < until;)
        s_turn(10);
    long starts_before = s_sim_stat("monitor_starts");
    long placed_before = s_sim_placed(), placed_back = -1;
    long events_before = 0;
    for (int i = 0; i < S_APPS; i++)
        events_before += s_apps[i].events;

    s_failing_over = true;
    long long t0 = bench_now_us(), detect = 0, link = 0, monitors = 0;
    test_proc_kill(&s_nodes[0].proc);
    deadline = test_now_ms() + S_WAIT_MS;
    long long last_http = 0;
    while (s_apps_back() < S_APPS || !monitors) {
        if (test_now_ms() > deadline)
            bench_die("the failover did not complete");
        s_turn(5);
        if (placed_back < 0 && s_apps_back() == S_APPS)
            placed_back = s_sim_placed();
        long long now = bench_now_us();
        if (now - last_http < 5000)
            continue;
        last_http = now;
        if (!detect) {
            if (s_http(&s_nodes[1], "/metrics") == 200 &&
                strstr(s_buf, "\nctim_ha_peers_alive 0\n"))
                detect = bench_now_us();
        } else if (!link) {
            if (s_http(&s_nodes[1], "/readyz") == 200)
                link = bench_now_us();
        } else if (!monitors && s_sim_stat("monitors_active") == devices)
            monitors = bench_now_us();
    }
    long long down[S_APPS], up[S_APPS];
    for (int i = 0; i < S_APPS; i++) {
        down[i] = s_apps[i].down_us - t0;
        up[i] = s_apps[i].back_us - t0;
        r.events_lost += s_apps[i].lost;
        r.events_in_gap += s_apps[i].events;
    }
    s_failing_over = false;
    r.events_in_gap -= events_before;
    r.monitor_starts = s_sim_stat("monitor_starts") - starts_before;
    r.placed_in_gap = placed_back - placed_before;
    qsort(down, S_APPS, sizeof *down, bench_cmp_ll);
    qsort(up, S_APPS, sizeof *up, bench_cmp_ll);
    r.detect_ms = (double) (detect - t0) / 1000.0;
    r.link_up_ms = (double) (link - t0) / 1000.0;
    r.monitors_ms = (double) (monitors - t0) / 1000.0;
    r.down_p50_ms = (double) down[S_APPS / 2] / 1000.0;
    r.down_max_ms = (double) down[S_APPS - 1] / 1000.0;
    r.up_p50_ms = (double) up[S_APPS / 2] / 1000.0;
    r.up_p99_ms = (double) up[(S_APPS * 99) / 100] / 1000.0;
    r.up_max_ms = (double) up[S_APPS - 1] / 1000.0;
    r.silent_ms = s_log_value(s_nodes[1].log, "peer lost peer=a", "silent_ms=");

    if (test_pbxsim_ctl(&s_sim, s_buf, sizeof s_buf, "traffic stop"))
        bench_die(s_buf);
    s_apps_destroy();
    for (int i = 0; i < 2; i++)
        if (s_nodes[i].proc.pid > 0)
            test_proc_stop(&s_nodes[i].proc);
    test_pbxsim_stop(&s_sim);
    s_sim.proc.pid = -1;
    return r;
}

//  --- Main ------------------------------------------------------------------------------------

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_begin("ha_failover_bench", 600);
    bench_child(&s_sim.proc);
    bench_child(&s_nodes[0].proc);
    bench_child(&s_nodes[1].proc);

    static const int counts[S_RUNS_MAX] = {1000, 10000};
    s_result_t r[S_RUNS_MAX];
    int runs = quick ? 1 : S_RUNS_MAX;
    for (int i = 0; i < runs; i++)
        r[i] = s_run(counts[i]);

    printf("\nha_failover_bench: a pair (heartbeat %d ms, lost after %d), pbxsim at one link, "
           "%d libctim applications (heartbeat %d ms), %d calls/s; kill -9 of the owner\n",
           S_HEARTBEAT_MS, S_LOST_AFTER, S_APPS, S_APP_HEARTBEAT_MS, S_TRAFFIC_CPS);
    printf("%-44s", "ms from the kill to");
    for (int i = 0; i < runs; i++)
        printf(" %10d dev", r[i].devices);
    printf("\n");
#define S_ROW(label, fmt, field)                                                                 \
    do {                                                                                         \
        printf("%-44s", label);                                                              \
        for (int i = 0; i < runs; i++)                                                           \
            printf(" " fmt, r[i].field);                                                         \
        printf("\n");                                                                            \
    } while (0)
    S_ROW("loss detected by the standby", "%14.1f", detect_ms);
    S_ROW("  (the owner silent for, its log)", "%14ld", silent_ms);
    S_ROW("link up on the standby", "%14.1f", link_up_ms);
    S_ROW("applications' lines out of service, p50", "%14.1f", down_p50_ms);
    S_ROW("applications' lines out of service, max", "%14.1f", down_max_ms);
    S_ROW("all monitors restored at pbxsim", "%14.1f", monitors_ms);
    S_ROW("an application's lines in service, p50", "%14.1f", up_p50_ms);
    S_ROW("an application's lines in service, p99", "%14.1f", up_p99_ms);
    S_ROW("all applications in service", "%14.1f", up_max_ms);
    S_ROW("MonitorStart requests for the restore", "%14ld", monitor_starts);
    S_ROW("calls placed during the gap", "%14ld", placed_in_gap);
    S_ROW("call events delivered during the gap", "%14ld", events_in_gap);
    S_ROW("events reported lost (on_events_lost)", "%14lld", events_lost);
#undef S_ROW

    printf("{\"bench\":\"ha_failover\",\"heartbeat_ms\":%d,\"lost_after\":%d,\"apps\":%d,"
           "\"app_heartbeat_ms\":%d,\"cps\":%d,\"runs\":[",
           S_HEARTBEAT_MS, S_LOST_AFTER, S_APPS, S_APP_HEARTBEAT_MS, S_TRAFFIC_CPS);
    for (int i = 0; i < runs; i++)
        printf("%s{\"devices\":%d,\"detect_ms\":%.1f,\"silent_ms\":%ld,\"link_up_ms\":%.1f,"
               "\"down_p50_ms\":%.1f,\"down_max_ms\":%.1f,\"monitors_ms\":%.1f,"
               "\"up_p50_ms\":%.1f,\"up_p99_ms\":%.1f,\"up_max_ms\":%.1f,"
               "\"monitor_starts\":%ld,\"placed_in_gap\":%ld,\"events_in_gap\":%ld,"
               "\"events_lost\":%lld}",
               i ? "," : "", r[i].devices, r[i].detect_ms, r[i].silent_ms, r[i].link_up_ms,
               r[i].down_p50_ms, r[i].down_max_ms, r[i].monitors_ms, r[i].up_p50_ms,
               r[i].up_p99_ms, r[i].up_max_ms, r[i].monitor_starts, r[i].placed_in_gap,
               r[i].events_in_gap, r[i].events_lost);
    printf("]}\n");
    return 0;
}
