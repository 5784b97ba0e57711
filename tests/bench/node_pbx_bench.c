//  node_pbx_bench: figures for the PBX side of ctimd against a real pbxsim (not a test).
//    node_pbx_bench [REQUESTS [WINDOW [DEVICES]]]
//  1. REQUESTS SnapshotDevice requests through node_pbx_link, WINDOW at a time: rate and
//     latency percentiles (request to reply, queueing included).
//  2. DEVICES watched through node_pbx, the link dropped by pbxsim: time until every device
//     is monitored and snapshotted again.
//  For figures, build without sanitizers: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release.
//  Prints a line per part and one JSON line (tests/bench/run collects it).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"
#include "node_pbx.h"
#include "node_pbx_link.h"
#include "test_pbxsim.h"

typedef struct {
    zloop_t *loop;
    int ups, downs;
    int replies, errors;
    int64_t *sent_us, *lat_us;
    int dones;
} s_bench_t;

static s_bench_t s_b;

//  The figures, for the JSON line.
static struct {
    double req_per_s, p50_ms, p99_ms, remonitor_ms;
    int errors, backoff_min_ms, backoff_max_ms;
} s_fig;

static int64_t s_now_us(void)
{
    return zclock_usecs();
}

static int s_stop_when(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    bool (*cond)(void) = (bool (*)(void)) arg;
    return cond() ? -1 : 0;
}

static void s_run_until(bool (*cond)(void))
{
    if (cond())
        return;
    int id = zloop_timer(s_b.loop, 1, 0, s_stop_when, (void *) cond);
    zloop_start(s_b.loop);
    zloop_timer_end(s_b.loop, id);
}

static void s_on_up(void *ctx)
{
    (void) ctx;
    s_b.ups++;
}

static void s_on_down(void *ctx, const char *reason)
{
    (void) ctx;
    (void) reason;
    s_b.downs++;
}

static int s_target;
static bool s_up_reached(void) { return s_b.ups >= s_target; }
static bool s_replies_reached(void) { return s_b.replies + s_b.errors >= s_target; }
static bool s_dones_reached(void) { return s_b.dones >= s_target; }

static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len,
                       const csta_peek_t *keys)
{
    (void) apdu;
    (void) len;
    (void) keys;
    intptr_t i = (intptr_t) arg;
    s_b.lat_us[i] = s_now_us() - s_b.sent_us[i];
    if (status == 0)
        s_b.replies++;
    else
        s_b.errors++;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static void s_cfg(node_pbx_cfg_t *c, int port, int window)
{
    memset(c, 0, sizeof *c);
    strcpy(c->name, "bench");
    strcpy(c->host, "127.0.0.1");
    c->port = port;
    c->framing = CSTA_FRAMING_LEN16;
    c->connect_timeout_ms = 3000;
    c->backoff_initial_ms = 50;
    c->backoff_max_ms = 200;
    c->silence_timeout_ms = 60000;
    c->request_timeout_ms = 60000;
    c->window = window;
    c->queue_max = 1 << 20;
    c->monitor_retry_ms = 30000;
}

static void s_requests(int port, int n, int window)
{
    node_pbx_cfg_t cfg;
    s_cfg(&cfg, port, window);
    node_pbx_link_listener_t l = {.on_up = s_on_up, .on_down = s_on_down};
    node_pbx_link_t *link = node_pbx_link_new(s_b.loop, &cfg, &l);
    node_pbx_link_start(link);
    s_target = 1;
    s_run_until(s_up_reached);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&a.svc.snapshot_device.snapshot_object, "101");
    uint8_t buf[128];
    size_t len;
    csta_apdu_encode(&a, buf, sizeof buf, &len);
    s_b.sent_us = calloc((size_t) n, sizeof *s_b.sent_us);
    s_b.lat_us = calloc((size_t) n, sizeof *s_b.lat_us);
    int64_t t0 = s_now_us();
    for (intptr_t i = 0; i < n; i++) {
        s_b.sent_us[i] = s_now_us();
        node_pbx_link_request(link, buf, len, 0, s_on_reply, (void *) i);
    }
    s_target = n;
    s_run_until(s_replies_reached);
    double secs = (double) (s_now_us() - t0) / 1e6;
    qsort(s_b.lat_us, (size_t) n, sizeof *s_b.lat_us, s_cmp);
    s_fig.req_per_s = n / secs;
    s_fig.errors = s_b.errors;
    s_fig.p50_ms = s_b.lat_us[n / 2] / 1000.0;
    s_fig.p99_ms = s_b.lat_us[(n * 99) / 100] / 1000.0;
    printf("requests: %d SnapshotDevice, window %d: %.0f req/s, %d errors; latency "
           "p50 %.2f ms p99 %.2f ms (queueing included)\n",
           n, window, s_fig.req_per_s, s_fig.errors, s_fig.p50_ms, s_fig.p99_ms);
    node_pbx_link_destroy(&link);
    free(s_b.sent_us);
    free(s_b.lat_us);
}

static void s_done(void *arg, int status, const uint8_t *apdu, size_t len)
{
    (void) arg;
    (void) apdu;
    (void) len;
    if (status == 0)
        s_b.dones++;
}

static void s_state(void *ctx, node_pbx_state_t state)
{
    (void) ctx;
    if (state == NODE_PBX_UP)
        s_b.ups++;
    else
        s_b.downs++;
}

static node_pbx_t *s_pbx;
static int s_devices;
static long s_requests_at_drop;

//  Back up, every device monitored, and its MonitorStart and SnapshotDevice answered.
static bool s_all_remonitored(void)
{
    node_pbx_stats_t st;
    node_pbx_stats(s_pbx, &st);
    return s_b.ups >= 2 && st.monitors_pbx == s_devices &&
           st.requests - s_requests_at_drop >= 2L * s_devices && st.replies == st.requests;
}

static void s_remonitor(test_pbxsim_t *sim, int devices, int window)
{
    node_pbx_cfg_t cfg;
    s_cfg(&cfg, sim->port, window);
    node_pbx_listener_t l = {.on_state = s_state};
    s_b.ups = s_b.downs = 0;
    s_pbx = node_pbx_new(s_b.loop, &cfg, &l);
    node_pbx_start(s_pbx);
    s_target = 1;
    s_run_until(s_up_reached);
    node_pbx_watch_t **w = calloc((size_t) devices, sizeof *w);
    for (int i = 0; i < devices; i++) {
        csta_device_t d;
        memset(&d, 0, sizeof d);
        char num[16];
        snprintf(num, sizeof num, "%d", 1001 + i);
        csta_device_set(&d, num);
        w[i] = node_pbx_watch(s_pbx, &d, s_done, NULL);
    }
    s_target = devices;
    s_run_until(s_dones_reached);
    node_pbx_stats_t st;
    node_pbx_stats(s_pbx, &st);
    s_requests_at_drop = st.requests;
    s_devices = devices;
    char reply[4096];
    test_pbxsim_ctl(sim, reply, sizeof reply, "drop");
    int64_t t0 = s_now_us();
    s_run_until(s_all_remonitored);
    s_fig.remonitor_ms = (double) (s_now_us() - t0) / 1000.0;
    s_fig.backoff_min_ms = cfg.backoff_initial_ms * 8 / 10;
    s_fig.backoff_max_ms = cfg.backoff_initial_ms * 12 / 10;
    printf("re-monitor: %d devices, window %d: monitored and snapshotted again %.1f ms after "
           "the drop (back-off %d..%d ms included)\n",
           devices, window, s_fig.remonitor_ms, s_fig.backoff_min_ms, s_fig.backoff_max_ms);
    for (int i = 0; i < devices; i++)
        node_pbx_unwatch(s_pbx, &w[i]);
    free(w);
    node_pbx_destroy(&s_pbx);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    int window = argc > 2 ? atoi(argv[2]) : 32;
    int devices = argc > 3 ? atoi(argv[3]) : 500;
    node_log_init("bench", NODE_LOG_WARNING);
    char range[32];
    snprintf(range, sizeof range, "1001-%d", 1000 + devices);
    const char *args[] = {"--status-interval-ms", "5000", "--extensions", range, NULL};
    test_pbxsim_t sim;
    if (test_pbxsim_start(&sim, args) != 0) {
        fprintf(stderr, "node_pbx_bench: cannot start pbxsim\n");
        return 1;
    }
    s_b.loop = zloop_new();
    s_requests(sim.port, n, window);
    s_remonitor(&sim, devices, window);
    zloop_destroy(&s_b.loop);
    test_pbxsim_stop(&sim);
    printf("{\"bench\":\"node_pbx\",\"requests\":%d,\"window\":%d,\"req_per_s\":%.0f,"
           "\"errors\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"remonitor_devices\":%d,"
           "\"remonitor_ms\":%.1f,\"backoff_ms\":[%d,%d]}\n",
           n, window, s_fig.req_per_s, s_fig.errors, s_fig.p50_ms, s_fig.p99_ms, devices,
           s_fig.remonitor_ms, s_fig.backoff_min_ms, s_fig.backoff_max_ms);
    return 0;
}
