//  node_e2e_bench: ctimd end to end with real processes on loopback — pbxsim, ctimd and N
//  CSTA applications (raw TCP sockets in this process, one epoll) — against the same
//  applications on pbxsim directly and a raw TCP fan-out of the same bytes (issue 4).
//
//    1. Events/s delivered to N = 1, 10, 100, 1000 applications, each monitoring the same
//       100 extensions while `pbxsim ctl traffic` places calls; p50/p99 latency of a
//       Delivered event from `pbxsim ctl dial A B` to every application.
//    2. Baselines: the same applications on pbxsim directly (--max-links N), and one writer
//       copying captured event frames to N sockets (no CSTA work at all).
//    3. SnapshotDevice round trip, one in flight, through ctimd and directly.
//    4. ctimd's VmRSS with 0 .. 1000 applications and with 0, 1000, 10000 monitored devices.
//
//  Build and run it from a Release tree without sanitizers:
//    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
//    cmake --build build-bench -j2 --target pbxsim ctimd node_e2e_bench
//    build-bench/tests/node_e2e_bench [--quick]
//  It prints a table and one JSON line; the whole run is bounded (alarm at 170 s, every wait
//  has a deadline) and its children are killed on any failure.
//
//  The applications are deliberately cheap: frames are classified by their first BER octets,
//  only latency rounds peek at events, and SystemStatus is answered.  All three programs
//  share the machine's cores, so the table also shows ctimd's and pbxsim's CPU.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "csta.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define S_FIRST_EXT 1000
#define S_DEVICES 100                   //  extensions every application monitors
#define S_APPS_MAX 1000
#define S_WAIT_MS 30000
#define S_TRAFFIC_S 2
#define S_RTT_REQUESTS 3000
#define S_CAPTURE_MAX 4096

//  --- Children, cleaned up on every exit --------------------------------------------------------

static test_pbxsim_t s_sim;
static test_proc_t s_ctimd = {.pid = -1};
static char s_dir[64];
static char s_reply[1 << 16];
static int s_http_port, s_app_port;

static void s_cleanup(void)
{
    if (s_ctimd.pid > 0)
        test_proc_stop(&s_ctimd);
    if (s_sim.proc.pid > 0)
        test_pbxsim_stop(&s_sim);
    if (s_dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/ctimd.yaml", s_dir);
        unlink(path);
        rmdir(s_dir);
        s_dir[0] = '\0';
    }
}

//  The overall deadline (and ^C): kill the children and go.
static void s_on_signal(int sig)
{
    if (s_ctimd.pid > 0)
        kill(s_ctimd.pid, SIGKILL);
    if (s_sim.proc.pid > 0)
        kill(s_sim.proc.pid, SIGKILL);
    static const char msg[] = "node_e2e_bench: time limit or signal; children killed\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(sig == SIGALRM ? 4 : 3);
}

static char s_phase[64] = "setup";

static void s_die(const char *what, int rc)
{
    fprintf(stderr, "node_e2e_bench: [%s] %s%s%s\n", s_phase, what, rc ? ": " : "",
            rc ? strerror(-rc) : "");
    exit(1);        //  atexit: s_cleanup
}

static long long s_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000000000LL + t.tv_nsec;
}

//  CPU time (user + system) of a process in ms, from /proc.
static long long s_proc_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2)
        return 0;
    return (long long) (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

static long long s_self_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static long s_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static const char *s_ctl(const char *fmt, const char *arg)
{
    if (test_pbxsim_ctl(&s_sim, s_reply, sizeof s_reply, fmt, arg))
        s_die(s_reply, 0);
    return s_reply;
}

static long s_sim_stat(const char *key)
{
    s_ctl("%s", "stats");
    return test_json_long(s_reply, key, -1);
}

static void s_sim_start(int extensions, int max_links)
{
    char range[32], links[16];
    snprintf(range, sizeof range, "%d-%d", S_FIRST_EXT, S_FIRST_EXT + extensions - 1);
    snprintf(links, sizeof links, "%d", max_links);
    //  No periodic SystemStatus during a measurement (answered all the same if one comes).
    const char *args[] = {"--extensions", range, "--max-links", links,
                          "--status-interval-ms", "3600000", NULL};
    if (test_pbxsim_start(&s_sim, args))
        s_die("cannot start pbxsim", 0);
}

static void s_sim_stop(void)
{
    test_pbxsim_stop(&s_sim);
    s_sim.proc.pid = -1;
}

//  ctimd on the running pbxsim; returns when /readyz says the PBX link is up.
static void s_ctimd_start(void)
{
    char config[128];
    snprintf(config, sizeof config, "%s/ctimd.yaml", s_dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        s_app_port = test_free_port();
        s_http_port = test_free_port();
        FILE *f = fopen(config, "w");
        if (!f)
            s_die("config", -errno);
        fprintf(f,
                "node:\n  id: bench\n  log_level: warning\n"
                "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
                "    backoff_initial_ms: 50\n    backoff_max_ms: 200\n"
                "    validate_calls_ms: 0\n    window: 64\n    queue_max: 100000\n"
                "csta_server:\n  listen: 127.0.0.1\n  tcp_port: %d\n  tls_port: 0\n"
                "  max_apps: %d\n  max_apps_per_address: 0\n  app_queue_max_bytes: 67108864\n"
                "client_api:\n  port: 0\n"  //  off: tests run in parallel
            "http:\n  listen: 127.0.0.1\n  port: %d\n",
                s_sim.port, s_app_port, S_APPS_MAX + 10, s_http_port);
        fclose(f);
        char *argv[] = {CTIM_CTIMD, "--config", config, NULL};
        if (test_proc_start(&s_ctimd, argv, "ctimd ready", 20000) == 0)
            break;
        s_ctimd.pid = -1;
    }
    if (s_ctimd.pid <= 0)
        s_die("cannot start ctimd", 0);
    long long deadline = test_now_ms() + S_WAIT_MS;
    static char body[4096];
    for (;;) {
        int status = 0;
        if (test_http_get("127.0.0.1", s_http_port, "/readyz", 2000, &status, body,
                          sizeof body) == 0 && status == 200)
            return;
        if (test_now_ms() > deadline)
            s_die("ctimd never became ready", -ETIMEDOUT);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);       //  polling another process; bounded by the deadline
    }
}

static void s_ctimd_stop(void)
{
    test_proc_stop(&s_ctimd);
    s_ctimd.pid = -1;
}

//  --- Applications: raw sockets on one epoll -----------------------------------------------------

typedef struct {
    int fd;
    csta_framer_t *fr;
    csta_outq_t *oq;
    bool associated;
    long results, errors, events;
    int round_seen;                     //  the latency round whose Delivered has arrived
    long last_reply_id;
} s_app_t;

typedef struct {
    s_app_t *app;
    int n, ep;
    int associated;
    long long last_event_ns, first_event_ns;
    //  latency rounds
    int round;
    long long round_t0_ns;
    int round_hits;
    double *lat_us;
    size_t lat_n, lat_cap;
    //  a copy of the first events app 0 receives (for the raw fan-out)
    uint8_t (*capture)[512];
    size_t *capture_len;
    size_t capture_n;
} s_apps_t;

static void s_push(s_app_t *a, const csta_apdu_t *apdu)
{
    uint8_t buf[1024];
    size_t len;
    int rc = csta_apdu_encode(apdu, buf, sizeof buf, &len);
    if (rc == 0)
        rc = csta_outq_push(a->oq, buf, len);
    if (rc == 0) {
        rc = csta_outq_flush(a->oq, a->fd);
        if (rc == -EAGAIN)
            rc = 0;                     //  s_pump writes the rest
    }
    if (rc)
        s_die("application write", rc);
}

static void s_push_request(s_app_t *a, long invoke_id, int opcode, const char *device)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_INVOKE);
    r.invoke_id = invoke_id;
    r.opcode = opcode;
    if (opcode == CSTA_OP_MONITOR_START)
        csta_device_set(&r.svc.monitor_start.device, device);
    else
        csta_device_set(&r.svc.snapshot_device.snapshot_object, device);
    s_push(a, &r);
}

//  First octets of an APDU: kind, invoke id, opcode (-1 when absent).
static int s_glance(const uint8_t *p, size_t len, uint8_t *kind, long *invoke_id, long *opcode)
{
    *kind = len ? p[0] : 0;
    *opcode = -1;
    *invoke_id = -1;
    if (len < 2 || (p[0] != 0xa1 && p[0] != 0xa2 && p[0] != 0xa3 && p[0] != 0xa4))
        return 0;
    size_t i = 1, hdr;
    hdr = p[i] < 0x80 ? 1 : 1 + (p[i] & 0x7f);
    i += hdr;
    if (i + 2 > len || p[i] != 0x02 || p[i + 1] > 4 || i + 2 + p[i + 1] > len)
        return -1;
    long v = 0;
    for (size_t k = 0; k < p[i + 1]; k++)
        v = v << 8 | p[i + 2 + k];
    *invoke_id = v;
    i += 2 + p[i + 1];
    if (p[0] == 0xa2 && i + 2 <= len && p[i] == 0x30)  //  result: SEQUENCE { opcode, .. }
        i += p[i + 1] < 0x80 ? 2 : 2 + (p[i + 1] & 0x7f);
    if (i + 2 <= len && p[i] == 0x02 && p[i + 1] <= 2 && i + 2 + p[i + 1] <= len) {
        v = 0;
        for (size_t k = 0; k < p[i + 1]; k++)
            v = v << 8 | p[i + 2 + k];
        *opcode = v;
    }
    return 0;
}

static void s_on_frame(s_apps_t *as, s_app_t *a, int idx, const uint8_t *p, size_t len,
                       long long now)
{
    uint8_t kind;
    long invoke_id, opcode;
    if (s_glance(p, len, &kind, &invoke_id, &opcode))
        s_die("an APDU the bench cannot read", -EBADMSG);
    if (kind == 0x61) {                 //  AARE
        if (!a->associated) {
            a->associated = true;
            as->associated++;
        }
    } else if (kind == 0x64 || kind == 0x62) {
        s_die("the peer aborted or released an application", -ECONNRESET);
    } else if (kind == 0xa1 && opcode == CSTA_OP_EVENT_REPORT) {
        a->events++;
        if (!as->first_event_ns)
            as->first_event_ns = now;
        as->last_event_ns = now;
        if (idx == 0 && as->capture && as->capture_n < S_CAPTURE_MAX && len <= 512) {
            memcpy(as->capture[as->capture_n], p, len);
            as->capture_len[as->capture_n++] = len;
        }
        if (as->round && a->round_seen != as->round) {
            csta_peek_t pk;
            if (csta_peek(&pk, p, len) == 0 && pk.event == CSTA_EV_DELIVERED) {
                a->round_seen = as->round;
                as->round_hits++;
                if (as->lat_n < as->lat_cap)
                    as->lat_us[as->lat_n++] = (double) (now - as->round_t0_ns) / 1000.0;
            }
        }
    } else if (kind == 0xa1 && opcode == CSTA_OP_SYSTEM_STATUS) {
        csta_apdu_t r;
        csta_apdu_init(&r, CSTA_APDU_RESULT);
        r.invoke_id = invoke_id;
        r.opcode = CSTA_OP_SYSTEM_STATUS;
        s_push(a, &r);
    } else if (kind == 0xa2) {
        a->results++;
        a->last_reply_id = invoke_id;
    } else if (kind == 0xa3 || kind == 0xa4) {
        a->errors++;
        a->last_reply_id = invoke_id;
    }
}

//  One epoll round: read what has come (up to timeout_ms of waiting), write what is queued.
static void s_pump(s_apps_t *as, int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(as->ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR)
        s_die("epoll_wait", -errno);
    long long now = s_now_ns();
    for (int k = 0; k < n; k++) {
        int i = (int) evs[k].data.u32;
        s_app_t *a = &as->app[i];
        ssize_t got = csta_framer_read(a->fr, a->fd);
        if (got == 0 || (got < 0 && got != -EAGAIN))
            s_die("an application's connection closed", got ? (int) got : -ECONNRESET);
        const uint8_t *p;
        size_t len;
        int rc;
        while ((rc = csta_framer_next(a->fr, &p, &len)) == 0)
            s_on_frame(as, a, i, p, len, now);
        if (rc != -EAGAIN)
            s_die("framing", rc);
        if (csta_outq_size(a->oq)) {
            rc = csta_outq_flush(a->oq, a->fd);
            if (rc && rc != -EAGAIN)
                s_die("application write", rc);
        }
    }
}

typedef bool (s_cond_fn)(s_apps_t *as, void *arg);

static void s_wait(s_apps_t *as, s_cond_fn *cond, void *arg, int timeout_ms, const char *what)
{
    long long deadline = test_now_ms() + timeout_ms;
    while (!cond(as, arg)) {
        if (test_now_ms() > deadline)
            s_die(what, -ETIMEDOUT);
        s_pump(as, 20);
        //  A request written while the socket was full goes out here.
        for (int i = 0; i < as->n; i++)
            if (csta_outq_size(as->app[i].oq)) {
                int rc = csta_outq_flush(as->app[i].oq, as->app[i].fd);
                if (rc && rc != -EAGAIN)
                    s_die("application write", rc);
            }
    }
}

static bool s_all_associated(s_apps_t *as, void *arg)
{
    (void) arg;
    return as->associated == as->n;
}

static void s_apps_open(s_apps_t *as, int n, int port)
{
    memset(as, 0, sizeof *as);
    as->n = n;
    as->app = calloc((size_t) n, sizeof *as->app);
    as->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!as->app || as->ep < 0)
        s_die("out of memory", -ENOMEM);
    for (int i = 0; i < n; i++) {
        s_app_t *a = &as->app[i];
        a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct timeval tv = {5, 0};     //  connect() gives up after this, not after 2 min
        setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (a->fd < 0 || connect(a->fd, (struct sockaddr *) &sin, sizeof sin) < 0)
            s_die("connect", -errno);
        int one = 1;
        setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(a->fd, F_SETFL, fcntl(a->fd, F_GETFL) | O_NONBLOCK);
        a->fr = csta_framer_new(CSTA_FRAMING_LEN16, 0);
        a->oq = csta_outq_new(CSTA_FRAMING_LEN16, 0);
        if (!a->fr || !a->oq)
            s_die("out of memory", -ENOMEM);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
        if (epoll_ctl(as->ep, EPOLL_CTL_ADD, a->fd, &ev))
            s_die("epoll_ctl", -errno);
        //  The AARQ a Panasonic application sends (csta-facts.md 1.2), as csta_client's.
        csta_apdu_t aarq;
        csta_apdu_init(&aarq, CSTA_APDU_AARQ);
        csta_bits_set(&aarq.acse.protocol_version, 0, 1);
        aarq.acse.protocol_version.unused = 7;
        snprintf(aarq.acse.context, sizeof aarq.acse.context, "%s", CSTA_ACN_CSTA3);
        csta_bits_set(&aarq.acse.csta_version, CSTA_VERSION_FIVE, 2);
        s_push(a, &aarq);
        if (i % 100 == 99)
            s_pump(as, 0);              //  keep the accept queue short
    }
    s_wait(as, s_all_associated, NULL, S_WAIT_MS, "applications did not associate");
}

static void s_apps_close(s_apps_t *as)
{
    for (int i = 0; i < as->n; i++) {
        close(as->app[i].fd);
        csta_framer_destroy(&as->app[i].fr);
        csta_outq_destroy(&as->app[i].oq);
    }
    close(as->ep);
    free(as->app);
    as->app = NULL;
    as->n = 0;
}

typedef struct {
    int from, to;
    long want;
} s_range_t;

static bool s_replies_in(s_apps_t *as, void *arg)
{
    const s_range_t *r = arg;
    for (int i = r->from; i < r->to; i++)
        if (as->app[i].results + as->app[i].errors < r->want)
            return false;
    return true;
}

//  Applications [from, to) monitor extensions first .. first + count - 1 (at most 200 of
//  their requests outstanding: ctimd allows 256 per application).
static void s_monitor(s_apps_t *as, int from, int to, int first, int count)
{
    const int window = 200;
    long base = as->app[from].results + as->app[from].errors;
    for (int done = 0; done < count; done += window) {
        int k = count - done < window ? count - done : window;
        for (int i = from; i < to; i++)
            for (int j = 0; j < k; j++) {
                char dev[16];
                snprintf(dev, sizeof dev, "%d", first + done + j);
                s_push_request(&as->app[i], 10000 + done + j, CSTA_OP_MONITOR_START, dev);
            }
        s_range_t r = {from, to, base + done + k};
        s_wait(as, s_replies_in, &r, S_WAIT_MS * 2, "MonitorStart replies");
    }
    for (int i = from; i < to; i++)
        if (as->app[i].errors)
            s_die("a MonitorStart failed", -EPROTO);
}

static int s_cmp(const void *x, const void *y)
{
    double a = *(const double *) x, b = *(const double *) y;
    return a < b ? -1 : a > b;
}

static double s_pct(double *v, size_t n, int pct)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, s_cmp);
    size_t i = n * (size_t) pct / 100;
    return v[i < n ? i : n - 1];
}

//  --- Measurements -----------------------------------------------------------------------------

typedef struct {
    const char *via;                    //  "ctimd", "pbxsim", "raw-tcp"
    int n;
    int cps;
    double offered_per_s;               //  events/s the PBX sent (per application)
    double events_per_s;                //  delivered, all applications together
    double p50_us, p99_us, ctl_p50_us;
    double ctimd_cpu, sim_cpu, self_cpu;
    long rss_idle, rss_assoc, rss_mon, rss_traffic;
} s_fan_t;

typedef struct {
    long want;
} s_events_t;

static bool s_all_have_events(s_apps_t *as, void *arg)
{
    long want = ((s_events_t *) arg)->want;
    for (int i = 0; i < as->n; i++)
        if (as->app[i].events < want)
            return false;
    return true;
}

static bool s_round_done(s_apps_t *as, void *arg)
{
    (void) arg;
    return as->round_hits == as->n;
}

//  Traffic for S_TRAFFIC_S seconds, then until every application has every event.
static void s_traffic(s_apps_t *as, s_fan_t *f, bool via_ctimd)
{
    long sent0 = s_sim_stat("events_sent");
    for (int i = 0; i < as->n; i++)
        as->app[i].events = 0;
    as->first_event_ns = as->last_event_ns = 0;
    pid_t busy = via_ctimd ? s_ctimd.pid : s_sim.proc.pid;
    long long c0 = s_proc_cpu_ms(busy), sc0 = s_proc_cpu_ms(s_sim.proc.pid);
    long long self0 = s_self_cpu_ms(), t0 = test_now_ms();
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%d %d 20 50", f->cps, S_TRAFFIC_S);
    s_ctl("traffic %s", cmd);
    long long deadline = t0 + S_WAIT_MS * 2;
    for (;;) {
        long long until = test_now_ms() + 100;
        while (test_now_ms() < until)
            s_pump(as, 10);
        s_ctl("%s", "stats");
        if (strstr(s_reply, "\"running\":false") && test_json_long(s_reply, "in_progress", 1) == 0)
            break;
        if (test_now_ms() > deadline)
            s_die("traffic did not end", -ETIMEDOUT);
    }
    long sent = s_sim_stat("events_sent") - sent0;
    //  pbxsim counts events per link: ctimd's one link, or every direct application's.
    s_events_t want = {via_ctimd ? sent : sent / as->n};
    s_wait(as, s_all_have_events, &want, S_WAIT_MS, "events did not all arrive");
    long long t1 = test_now_ms();
    double busy_s = (double) (as->last_event_ns - as->first_event_ns) / 1e9;
    f->offered_per_s = (double) want.want / S_TRAFFIC_S;
    f->events_per_s = (double) want.want * as->n / (busy_s > 0.001 ? busy_s : 0.001);
    f->ctimd_cpu = via_ctimd ? (double) (s_proc_cpu_ms(busy) - c0) * 100.0 / (double) (t1 - t0) : 0;
    f->sim_cpu = (double) (s_proc_cpu_ms(s_sim.proc.pid) - sc0) * 100.0 / (double) (t1 - t0);
    f->self_cpu = (double) (s_self_cpu_ms() - self0) * 100.0 / (double) (t1 - t0);
}

//  Single calls at a steady pace: latency of the first Delivered at every application,
//  measured from just before the bench writes `dial A B` to pbxsim's control socket.
static void s_latency(s_apps_t *as, s_fan_t *f, int rounds)
{
    as->lat_cap = (size_t) rounds * (size_t) as->n;
    as->lat_us = malloc(as->lat_cap * sizeof *as->lat_us);
    double *ctl_us = malloc((size_t) rounds * sizeof *ctl_us);
    if (!as->lat_us || !ctl_us)
        s_die("out of memory", -ENOMEM);
    as->lat_n = 0;
    for (int r = 1; r <= rounds; r++) {
        char cmd[32];
        int a = S_FIRST_EXT + (2 * r) % S_DEVICES;
        snprintf(cmd, sizeof cmd, "%d %d", a, a + 1);
        as->round_hits = 0;
        as->round = r;
        as->round_t0_ns = s_now_ns();
        s_ctl("dial %s", cmd);
        ctl_us[r - 1] = (double) (s_now_ns() - as->round_t0_ns) / 1000.0;
        s_wait(as, s_round_done, NULL, S_WAIT_MS, "a Delivered event did not arrive");
        snprintf(cmd, sizeof cmd, "%d", a);
        s_ctl("hangup %s", cmd);
    }
    as->round = 0;
    f->p50_us = s_pct(as->lat_us, as->lat_n, 50);
    f->p99_us = s_pct(as->lat_us, as->lat_n, 99);
    f->ctl_p50_us = s_pct(ctl_us, (size_t) rounds, 50);
    free(as->lat_us);
    as->lat_us = NULL;
    free(ctl_us);
}

typedef struct {
    const char *via;
    double p50_us, p99_us, per_s;
} s_rtt_t;

typedef struct {
    long id;
} s_reply_t;

static bool s_reply_in(s_apps_t *as, void *arg)
{
    return as->app[0].last_reply_id == ((s_reply_t *) arg)->id;
}

//  SnapshotDevice on a monitored extension, one in flight, from application 0.
static void s_rtt(s_apps_t *as, s_rtt_t *r)
{
    double *us = malloc(S_RTT_REQUESTS * sizeof *us);
    if (!us)
        s_die("out of memory", -ENOMEM);
    long errors0 = as->app[0].errors;
    long long t0 = s_now_ns();
    for (int i = 0; i < S_RTT_REQUESTS; i++) {
        long long s = s_now_ns();
        s_reply_t want = {20000 + i};
        s_push_request(&as->app[0], want.id, CSTA_OP_SNAPSHOT_DEVICE, "1000");
        s_wait(as, s_reply_in, &want, S_WAIT_MS, "SnapshotDevice reply");
        us[i] = (double) (s_now_ns() - s) / 1000.0;
    }
    r->per_s = S_RTT_REQUESTS / ((double) (s_now_ns() - t0) / 1e9);
    if (as->app[0].errors != errors0)
        s_die("SnapshotDevice failed", -EPROTO);
    r->p50_us = s_pct(us, S_RTT_REQUESTS, 50);
    r->p99_us = s_pct(us, S_RTT_REQUESTS, 99);
    free(us);
}

static int s_cps_for(int n)
{
    //  About 10 events per call for the 100 monitored extensions; the offered deliveries
    //  (events x applications) are kept near 10^6/s so that a slow run stays bounded.
    int cps = 1000000 / (10 * n);
    return cps > 500 ? 500 : cps;
}

static int s_rounds_for(int n)
{
    return n >= 1000 ? 20 : n >= 100 ? 50 : 200;
}

//  One fan-out level through ctimd (fresh pbxsim and ctimd) or directly on pbxsim.
static void s_fanout(int n, bool via_ctimd, s_fan_t *f, s_apps_t *keep_capture, s_rtt_t *rtt)
{
    memset(f, 0, sizeof *f);
    f->via = via_ctimd ? "ctimd" : "pbxsim";
    f->n = n;
    f->cps = s_cps_for(n);
    snprintf(s_phase, sizeof s_phase, "%s N=%d", f->via, n);
    s_sim_start(S_DEVICES, via_ctimd ? 2 : n);
    int port = s_sim.port;
    if (via_ctimd) {
        s_ctimd_start();
        port = s_app_port;
        f->rss_idle = s_rss_kib(s_ctimd.pid);
    }
    s_apps_t as;
    s_apps_open(&as, n, port);
    if (via_ctimd)
        f->rss_assoc = s_rss_kib(s_ctimd.pid);
    //  The first application alone, then the others (their watches share its monitors).
    s_monitor(&as, 0, 1, S_FIRST_EXT, S_DEVICES);
    if (n > 1)
        s_monitor(&as, 1, n, S_FIRST_EXT, S_DEVICES);
    if (via_ctimd)
        f->rss_mon = s_rss_kib(s_ctimd.pid);
    if (keep_capture) {
        as.capture = keep_capture->capture;
        as.capture_len = keep_capture->capture_len;
    }
    s_traffic(&as, f, via_ctimd);
    if (keep_capture)
        keep_capture->capture_n = as.capture_n;
    if (via_ctimd)
        f->rss_traffic = s_rss_kib(s_ctimd.pid);
    s_latency(&as, f, s_rounds_for(n));
    if (rtt)
        s_rtt(&as, rtt);
    s_apps_close(&as);
    if (via_ctimd)
        s_ctimd_stop();
    s_sim_stop();
}

//  --- The raw TCP fan-out: one writer thread, N sockets, the captured event frames ----------------

typedef struct {
    int n;
    int *peer;
    const s_apps_t *cap;
    long rounds;
} s_raw_t;

static void *s_raw_writer(void *arg)
{
    s_raw_t *w = arg;
    uint8_t buf[1 << 16];
    for (long r = 0; r < w->rounds; r++)
        for (size_t k = 0; k < w->cap->capture_n;) {
            //  A batch of frames, len16-framed, to every socket (blocking writes).
            size_t used = 0;
            while (k < w->cap->capture_n && used + w->cap->capture_len[k] + 2 <= sizeof buf) {
                size_t len = w->cap->capture_len[k];
                buf[used] = (uint8_t) (len >> 8);
                buf[used + 1] = (uint8_t) len;
                memcpy(buf + used + 2, w->cap->capture[k], len);
                used += len + 2;
                k++;
            }
            for (int i = 0; i < w->n; i++)
                for (size_t off = 0; off < used;) {
                    ssize_t s = send(w->peer[i], buf + off, used - off, MSG_NOSIGNAL);
                    if (s <= 0)
                        return NULL;
                    off += (size_t) s;
                }
        }
    return NULL;
}

static void s_raw_fanout(int n, const s_apps_t *cap, s_fan_t *f)
{
    memset(f, 0, sizeof *f);
    f->via = "raw-tcp";
    f->n = n;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    if (bind(lfd, (struct sockaddr *) &sin, sizeof sin) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *) &sin, &sl))
        s_die("listen", -errno);
    s_apps_t as;
    memset(&as, 0, sizeof as);
    as.n = n;
    as.app = calloc((size_t) n, sizeof *as.app);
    as.ep = epoll_create1(EPOLL_CLOEXEC);
    s_raw_t w = {.n = n, .peer = calloc((size_t) n, sizeof(int)), .cap = cap};
    if (!as.app || !w.peer || as.ep < 0)
        s_die("out of memory", -ENOMEM);
    for (int i = 0; i < n; i++) {
        s_app_t *a = &as.app[i];
        a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (a->fd < 0 || connect(a->fd, (struct sockaddr *) &sin, sizeof sin) ||
            (w.peer[i] = accept(lfd, NULL, NULL)) < 0)
            s_die("raw connect", -errno);
        int sndbuf = 131072;            //  ctimd's fixed per-application send buffer
        setsockopt(w.peer[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        fcntl(a->fd, F_SETFL, fcntl(a->fd, F_GETFL) | O_NONBLOCK);
        a->fr = csta_framer_new(CSTA_FRAMING_LEN16, 0);
        a->oq = csta_outq_new(CSTA_FRAMING_LEN16, 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
        epoll_ctl(as.ep, EPOLL_CTL_ADD, a->fd, &ev);
    }
    //  About as many deliveries as the ctimd run of the same N, at least 2 x 10^5.
    long per_round = (long) cap->capture_n * n;
    w.rounds = (200000 + per_round - 1) / per_round;
    pthread_t th;
    long long self0 = s_self_cpu_ms(), t0 = test_now_ms();
    pthread_create(&th, NULL, s_raw_writer, &w);
    s_events_t want = {(long) cap->capture_n * w.rounds};
    s_wait(&as, s_all_have_events, &want, S_WAIT_MS, "raw fan-out did not finish");
    pthread_join(th, NULL);
    long long t1 = test_now_ms();
    double busy_s = (double) (as.last_event_ns - as.first_event_ns) / 1e9;
    f->events_per_s = (double) want.want * n / (busy_s > 0.001 ? busy_s : 0.001);
    f->self_cpu = (double) (s_self_cpu_ms() - self0) * 100.0 / (double) (t1 - t0 ? t1 - t0 : 1);
    for (int i = 0; i < n; i++)
        close(w.peer[i]);
    s_apps_close(&as);
    free(w.peer);
    close(lfd);
}

//  --- Memory per monitored device ---------------------------------------------------------------

typedef struct {
    int devices;
    long rss_kib;
} s_mem_t;

static void s_device_memory(s_mem_t *m, int count)
{
    s_sim_start(10000, 2);
    s_ctimd_start();
    s_apps_t as;
    s_apps_open(&as, 1, s_app_port);
    int done = 0;
    for (int i = 0; i < count; i++) {
        if (m[i].devices > done)
            s_monitor(&as, 0, 1, S_FIRST_EXT + done, m[i].devices - done);
        done = m[i].devices;
        m[i].rss_kib = s_rss_kib(s_ctimd.pid);
    }
    s_apps_close(&as);
    s_ctimd_stop();
    s_sim_stop();
}

//  --- Main ---------------------------------------------------------------------------------------

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 1 && !quick) {
        fprintf(stderr, "usage: node_e2e_bench [--quick]   (--quick: N = 1, 10, 100)\n");
        return 2;
    }
    atexit(s_cleanup);
    signal(SIGALRM, s_on_signal);
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    signal(SIGPIPE, SIG_IGN);
    alarm(170);
    //  1000 applications here, 1000 sessions in ctimd or 1000 links in pbxsim.
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-e2e-XXXXXX");
    if (!mkdtemp(s_dir))
        s_die("mkdtemp", -errno);

    static uint8_t capture[S_CAPTURE_MAX][512];
    static size_t capture_len[S_CAPTURE_MAX];
    s_apps_t cap = {.capture = capture, .capture_len = capture_len};
    const int ns[] = {1, 10, 100, 1000};
    int levels = quick ? 3 : 4;
    s_fan_t fan[12];
    int nfan = 0;
    s_rtt_t rtt[2] = {{.via = "ctimd"}, {.via = "pbxsim"}};
    for (int i = 0; i < levels; i++) {
        s_fanout(ns[i], true, &fan[nfan++], i == 0 ? &cap : NULL, i == 0 ? &rtt[0] : NULL);
        //  pbxsim listens with a backlog of 64 and 1000 quick connects time out there; a
        //  real PBX takes one link anyway.  The direct baseline stops at 100.
        if (ns[i] <= 100)
            s_fanout(ns[i], false, &fan[nfan++], NULL, i == 0 ? &rtt[1] : NULL);
        if (!cap.capture_n)
            s_die("no events captured for the raw fan-out", -ENODATA);
        s_raw_fanout(ns[i], &cap, &fan[nfan++]);
        fprintf(stderr, "node_e2e_bench: N=%d done\n", ns[i]);
    }
    s_mem_t mem[] = {{0, 0}, {1000, 0}, {10000, 0}};
    s_device_memory(mem, 3);

    printf("node_e2e_bench: pbxsim + ctimd + applications on loopback, %d monitored "
           "extensions per application, %d s of traffic per level (answer 20 ms, hold 50 ms)\n",
           S_DEVICES, S_TRAFFIC_S);
    printf("%-8s %5s %5s %12s %14s %9s %9s %8s %8s %8s %8s\n", "via", "apps", "cps",
           "offered/app", "delivered/s", "p50 us", "p99 us", "ctl us", "ctimd%", "pbxsim%",
           "bench%");
    for (int i = 0; i < nfan; i++) {
        const s_fan_t *f = &fan[i];
        bool raw = strcmp(f->via, "raw-tcp") == 0;
        printf("%-8s %5d %5d %12.0f %14.0f %9.0f %9.0f %8.0f %8.0f %8.0f %8.0f\n", f->via, f->n,
               f->cps, f->offered_per_s, f->events_per_s, raw ? 0 : f->p50_us,
               raw ? 0 : f->p99_us, f->ctl_p50_us, f->ctimd_cpu, f->sim_cpu, f->self_cpu);
    }
    printf("\nSnapshotDevice, one in flight (%d requests):\n", S_RTT_REQUESTS);
    for (int i = 0; i < 2; i++)
        printf("  %-8s p50 %6.0f us  p99 %6.0f us  %8.0f requests/s\n", rtt[i].via,
               rtt[i].p50_us, rtt[i].p99_us, rtt[i].per_s);
    printf("\nctimd VmRSS KiB:\n  apps  idle  associated  +100 monitors each  after traffic\n");
    for (int i = 0; i < nfan; i++)
        if (strcmp(fan[i].via, "ctimd") == 0)
            printf("  %4d %6ld %11ld %19ld %14ld\n", fan[i].n, fan[i].rss_idle, fan[i].rss_assoc,
                   fan[i].rss_mon, fan[i].rss_traffic);
    printf("  monitored devices (one application): ");
    for (int i = 0; i < 3; i++)
        printf("%s%d -> %ld KiB", i ? ", " : "", mem[i].devices, mem[i].rss_kib);
    printf("\n");

    printf("{\"bench\":\"node_e2e\",\"devices_per_app\":%d,\"traffic_s\":%d,\"fanout\":[",
           S_DEVICES, S_TRAFFIC_S);
    for (int i = 0; i < nfan; i++) {
        const s_fan_t *f = &fan[i];
        printf("%s{\"via\":\"%s\",\"apps\":%d,\"cps\":%d,\"offered_per_app_per_s\":%.0f,"
               "\"events_per_s\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"ctl_p50_us\":%.0f,"
               "\"ctimd_cpu_pct\":%.0f,\"pbxsim_cpu_pct\":%.0f,\"bench_cpu_pct\":%.0f,"
               "\"ctimd_rss_kib\":[%ld,%ld,%ld,%ld]}",
               i ? "," : "", f->via, f->n, f->cps, f->offered_per_s, f->events_per_s, f->p50_us,
               f->p99_us, f->ctl_p50_us, f->ctimd_cpu, f->sim_cpu, f->self_cpu, f->rss_idle,
               f->rss_assoc, f->rss_mon, f->rss_traffic);
    }
    printf("],\"snapshot_rtt\":[");
    for (int i = 0; i < 2; i++)
        printf("%s{\"via\":\"%s\",\"p50_us\":%.0f,\"p99_us\":%.0f,\"per_s\":%.0f}", i ? "," : "",
               rtt[i].via, rtt[i].p50_us, rtt[i].p99_us, rtt[i].per_s);
    printf("],\"ctimd_rss_kib_by_devices\":[");
    for (int i = 0; i < 3; i++)
        printf("%s{\"devices\":%d,\"rss_kib\":%ld}", i ? "," : "", mem[i].devices,
               mem[i].rss_kib);
    printf("]}\n");
    return 0;
}
