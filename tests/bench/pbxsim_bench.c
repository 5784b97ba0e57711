//  pbxsim_bench: what one pbxsim (one thread, one core) sustains on one CSTA link —
//  MonitorStart and MonitorStop per second with requests pipelined, and CSTA events per
//  second delivered to monitors on every extension while `pbxsim ctl traffic` places
//  calls at rising rates.  Prints a table and one JSON line.
//
//  Build it in Release without sanitizers, then run it (it starts its own pbxsim, the one
//  built beside it):
//      cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCTIM_SANITIZE=OFF
//      cmake --build build-bench -j2 --target pbxsim pbxsim_bench
//      build-bench/tests/pbxsim_bench [--seconds S] [--window W] [--extensions N]
//                                     [--cps C1,C2,...] [--no-pin]
//  Defaults: 3 s per measurement, 1000 requests in flight, 20000 extensions, traffic at
//  2000, 8000, 32000 and 64000 calls/s (answered after 20 ms, held 50 ms); pbxsim pinned
//  to CPU 1 and the bench to CPU 0 when there are two.
//
//  The client side is kept cheap so that pbxsim is what is measured: requests are encoded
//  before the clock starts, replies and events are classified by their first BER octets,
//  and reads and writes go in large blocks.  pbxsim's CPU use is read from /proc, so the
//  table shows whether pbxsim was saturated (about 100%) or waiting for the client.
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csta.h"
#include "test_pbxsim.h"

#define S_FIRST_EXT 1000
#define S_MAX_REQUESTS 30000            //  invoke ids stay within two octets

typedef struct {
    int seconds;                        //  per traffic level, and the MonitorStart budget
    int window;                         //  requests in flight
    int extensions;
    int cps[16];
    int cps_count;
    bool pin;
} s_opts_t;

//  One CSTA link, driven without csta_client so that reading costs next to nothing.
typedef struct {
    int fd;
    csta_framer_t *framer;
    csta_outq_t *outq;
    long results, errors, events, others;
} s_link_t;

static test_pbxsim_t s_sim;
static char s_reply[1 << 16];

static void s_die(const char *what, int rc)
{
    fprintf(stderr, "pbxsim_bench: %s%s%s\n", what, rc ? ": " : "", rc ? strerror(-rc) : "");
    if (s_sim.proc.pid > 0)
        test_pbxsim_stop(&s_sim);
    exit(1);
}

static const char *s_ctl(const char *fmt, const char *arg)
{
    if (test_pbxsim_ctl(&s_sim, s_reply, sizeof s_reply, fmt, arg))
        s_die(s_reply, 0);
    return s_reply;
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

//  --- BER at a glance ----------------------------------------------------------------------------

//  Tag and definite length at p; returns the header length, or -1.
static int s_tlv(const uint8_t *p, size_t len, uint8_t *tag, size_t *clen)
{
    if (len < 2 || (p[0] & 0x1f) == 0x1f)
        return -1;
    *tag = p[0];
    if (p[1] < 0x80) {
        *clen = p[1];
        return *clen + 2 <= len ? 2 : -1;
    }
    int n = p[1] & 0x7f;
    if (n == 0 || n > 3 || (size_t) n + 2 > len)
        return -1;
    size_t l = 0;
    for (int i = 0; i < n; i++)
        l = l << 8 | p[2 + i];
    *clen = l;
    return l + 2 + (size_t) n <= len ? 2 + n : -1;
}

static long s_int(const uint8_t *p, size_t len)
{
    long v = len && (p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

//  ROSE kind (the APDU's first octet), invoke id and opcode of an APDU; for a
//  MonitorStart result also the cross reference (xref, 2 octets).  Returns 0 or -1.
static int s_glance(const uint8_t *a, size_t len, uint8_t *kind, long *invoke_id, long *opcode,
                    uint8_t xref[2])
{
    uint8_t tag;
    size_t clen;
    int h = s_tlv(a, len, &tag, &clen);
    if (h < 0)
        return -1;
    *kind = tag;
    const uint8_t *p = a + h, *end = p + clen;
    *opcode = -1;
    if (tag != 0xa1 && tag != 0xa2)
        return 0;
    h = s_tlv(p, (size_t) (end - p), &tag, &clen);
    if (h < 0 || tag != 0x02)
        return -1;
    *invoke_id = s_int(p + h, clen);
    p += h + clen;
    if (*kind == 0xa2) {
        //  result: SEQUENCE { opcode, result }
        h = s_tlv(p, (size_t) (end - p), &tag, &clen);
        if (h < 0)
            return 0;           //  a result without content
        end = p + h + clen;
        p += h;
    }
    h = s_tlv(p, (size_t) (end - p), &tag, &clen);
    if (h < 0 || tag != 0x02)
        return -1;
    *opcode = s_int(p + h, clen);
    p += h + clen;
    if (*kind == 0xa2 && *opcode == CSTA_OP_MONITOR_START && xref) {
        //  MonitorStartResult ::= SEQUENCE { crossRefIdentifier [APPLICATION 21] ... }
        h = s_tlv(p, (size_t) (end - p), &tag, &clen);
        if (h < 0 || tag != 0x30)
            return -1;
        p += h;
        h = s_tlv(p, (size_t) (end - p), &tag, &clen);
        if (h < 0 || tag != 0x55 || clen != 2)
            return -1;
        memcpy(xref, p + h, 2);
    }
    return 0;
}

//  --- The link -----------------------------------------------------------------------------------

static void s_push(s_link_t *l, const csta_apdu_t *a)
{
    uint8_t buf[4096];
    size_t len;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &len);
    if (rc == 0)
        rc = csta_outq_push(l->outq, buf, len);
    if (rc)
        s_die("encode", rc);
}

//  Answer SystemStatus as an application must (csta-facts.md 5).
static void s_answer_status(s_link_t *l, long invoke_id)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = invoke_id;
    r.opcode = CSTA_OP_SYSTEM_STATUS;
    s_push(l, &r);
}

typedef void (s_on_reply_fn)(void *ctx, const uint8_t *apdu, size_t len, long invoke_id,
                             const uint8_t xref[2]);

//  Write what is queued and read what has come, waiting up to timeout_ms; replies go to
//  on_reply, events are counted, SystemStatus is answered.  Returns the frames handled.
static long s_pump(s_link_t *l, int timeout_ms, s_on_reply_fn *on_reply, void *ctx)
{
    struct pollfd p = {.fd = l->fd,
                       .events = (short) (POLLIN | (csta_outq_size(l->outq) ? POLLOUT : 0))};
    if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
        s_die("poll", -errno);
    if (p.revents & POLLOUT) {
        int rc = csta_outq_flush(l->outq, l->fd);
        if (rc && rc != -EAGAIN)
            s_die("write", rc);
    }
    long handled = 0;
    if (!(p.revents & (POLLIN | POLLERR | POLLHUP)))
        return 0;
    ssize_t n = csta_framer_read(l->framer, l->fd);
    if (n == 0 || (n < 0 && n != -EAGAIN))
        s_die("pbxsim closed the link", n ? (int) n : -ECONNRESET);
    for (;;) {
        const uint8_t *a;
        size_t len;
        int rc = csta_framer_next(l->framer, &a, &len);
        if (rc == -EAGAIN)
            break;
        if (rc)
            s_die("framing", rc);
        uint8_t kind, xref[2] = {0, 0};
        long invoke_id = 0, opcode = -1;
        if (s_glance(a, len, &kind, &invoke_id, &opcode, xref))
            s_die("an APDU the bench cannot read", -EBADMSG);
        handled++;
        if (kind == 0xa1 && opcode == CSTA_OP_EVENT_REPORT) {
            l->events++;
        } else if (kind == 0xa1 && opcode == CSTA_OP_SYSTEM_STATUS) {
            s_answer_status(l, invoke_id);
            l->others++;
        } else if (kind == 0xa2 || kind == 0xa3 || kind == 0xa4) {
            if (kind == 0xa2)
                l->results++;
            else
                l->errors++;
            if (on_reply)
                on_reply(ctx, a, len, invoke_id, xref);
        } else {
            l->others++;
        }
    }
    if (csta_outq_size(l->outq)) {
        int rc = csta_outq_flush(l->outq, l->fd);
        if (rc && rc != -EAGAIN)
            s_die("write", rc);
    }
    return handled;
}

static void s_link_open(s_link_t *l, int port)
{
    memset(l, 0, sizeof *l);
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (l->fd < 0 || connect(l->fd, (struct sockaddr *) &sin, sizeof sin) < 0)
        s_die("connect", -errno);
    int one = 1, big = 4 << 20;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    l->framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    l->outq = csta_outq_new(CSTA_FRAMING_LEN16, 0);
    if (!l->framer || !l->outq)
        s_die("out of memory", -ENOMEM);
    //  The AARQ a Panasonic application sends (csta-facts.md 1.2).
    csta_apdu_t aarq;
    csta_apdu_init(&aarq, CSTA_APDU_AARQ);
    csta_bits_set(&aarq.acse.protocol_version, 0, 1);
    aarq.acse.protocol_version.unused = 7;
    snprintf(aarq.acse.context, sizeof aarq.acse.context, "%s", CSTA_ACN_CSTA3);
    csta_bits_set(&aarq.acse.csta_version, CSTA_VERSION_FIVE, 2);
    s_push(l, &aarq);
    long long deadline = test_now_ms() + 10000;
    while (l->others == 0 && test_now_ms() < deadline)
        s_pump(l, 100, NULL, NULL);         //  the AARE counts as "other"
    if (l->others == 0)
        s_die("no AARE", -ETIMEDOUT);
}

static void s_link_close(s_link_t *l)
{
    close(l->fd);
    csta_framer_destroy(&l->framer);
    csta_outq_destroy(&l->outq);
}

//  --- Pipelined requests -------------------------------------------------------------------------

typedef struct {
    uint8_t (*frames)[64];              //  encoded requests, len16 header included
    uint8_t *lens;
    int count;
    uint8_t (*xrefs)[2];                //  MonitorStart results: the cross references
    int replies, failed;
} s_batch_t;

static void s_on_batch_reply(void *ctx, const uint8_t *apdu, size_t len, long invoke_id,
                             const uint8_t xref[2])
{
    (void) len;
    s_batch_t *b = ctx;
    b->replies++;
    if (apdu[0] != 0xa2) {
        b->failed++;
        return;
    }
    if (invoke_id >= 1 && invoke_id <= b->count && b->xrefs)
        memcpy(b->xrefs[invoke_id - 1], xref, 2);
}

//  Encode request i of a batch (invoke id i + 1) into its frame slot.
static void s_batch_put(s_batch_t *b, int i, csta_apdu_t *req)
{
    req->kind = CSTA_APDU_INVOKE;
    req->invoke_id = i + 1;
    size_t len;
    int rc = csta_apdu_encode(req, b->frames[i] + 2, sizeof b->frames[i] - 2, &len);
    if (rc)
        s_die("encode", rc);
    b->frames[i][0] = (uint8_t) (len >> 8);
    b->frames[i][1] = (uint8_t) len;
    b->lens[i] = (uint8_t) (len + 2);
}

//  Send the batch with at most `window` requests unanswered; returns the elapsed ms.
static double s_batch_run(s_link_t *l, s_batch_t *b, int window)
{
    struct timespec t0, t1;
    b->replies = b->failed = 0;
    int sent = 0;
    //  Frames are written as they are (the header is in the slot): a raw outq.
    csta_outq_t *raw = csta_outq_new(CSTA_FRAMING_RAW, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (b->replies < b->count) {
        while (sent < b->count && sent - b->replies < window) {
            if (csta_outq_push(raw, b->frames[sent], b->lens[sent]))
                s_die("queue", -ENOMEM);
            sent++;
        }
        int rc = csta_outq_flush(raw, l->fd);
        if (rc && rc != -EAGAIN)
            s_die("write", rc);
        s_pump(l, 1000, s_on_batch_reply, b);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    csta_outq_destroy(&raw);
    return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

typedef struct {
    long starts, stops;
    double start_ms, stop_ms;
    long long sim_cpu_start_ms, sim_cpu_stop_ms, self_cpu_start_ms;
} s_monitor_result_t;

//  Rounds of `round` MonitorStarts (spread over the extensions), then as many
//  MonitorStops, until the MonitorStarts have had `seconds` of clock.
static void s_bench_monitors(s_link_t *l, const s_opts_t *o, s_monitor_result_t *r)
{
    int round = S_MAX_REQUESTS;
    s_batch_t start = {.count = round}, stop = {.count = round};
    start.frames = calloc((size_t) round, sizeof *start.frames);
    start.lens = calloc((size_t) round, 1);
    start.xrefs = calloc((size_t) round, sizeof *start.xrefs);
    stop.frames = calloc((size_t) round, sizeof *stop.frames);
    stop.lens = calloc((size_t) round, 1);
    if (!start.frames || !start.lens || !start.xrefs || !stop.frames || !stop.lens)
        s_die("out of memory", -ENOMEM);
    for (int i = 0; i < round; i++) {
        csta_apdu_t req;
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_MONITOR_START;
        char number[16];
        snprintf(number, sizeof number, "%d", S_FIRST_EXT + i % o->extensions);
        csta_device_set(&req.svc.monitor_start.device, number);
        s_batch_put(&start, i, &req);
    }
    memset(r, 0, sizeof *r);
    while (r->start_ms < o->seconds * 1000.0) {
        long long c0 = s_proc_cpu_ms(s_sim.proc.pid), s0 = s_self_cpu_ms();
        r->start_ms += s_batch_run(l, &start, o->window);
        r->sim_cpu_start_ms += s_proc_cpu_ms(s_sim.proc.pid) - c0;
        r->self_cpu_start_ms += s_self_cpu_ms() - s0;
        if (start.failed)
            s_die("MonitorStart failed", -EPROTO);
        r->starts += round;
        for (int i = 0; i < round; i++) {
            csta_apdu_t req;
            csta_apdu_init(&req, CSTA_APDU_INVOKE);
            req.opcode = CSTA_OP_MONITOR_STOP;
            req.svc.monitor_stop.xref.len = 2;
            memcpy(req.svc.monitor_stop.xref.bytes, start.xrefs[i], 2);
            s_batch_put(&stop, i, &req);
        }
        c0 = s_proc_cpu_ms(s_sim.proc.pid);
        r->stop_ms += s_batch_run(l, &stop, o->window);
        r->sim_cpu_stop_ms += s_proc_cpu_ms(s_sim.proc.pid) - c0;
        if (stop.failed)
            s_die("MonitorStop failed", -EPROTO);
        r->stops += round;
    }
    free(start.frames);
    free(start.lens);
    free(start.xrefs);
    free(stop.frames);
    free(stop.lens);
}

//  --- Events under traffic -----------------------------------------------------------------------

typedef struct {
    int cps;
    long placed, busy, events;
    double events_per_s;
    double sim_cpu_pct, self_cpu_pct;
} s_traffic_result_t;

static void s_bench_traffic(s_link_t *l, const s_opts_t *o, int cps, s_traffic_result_t *r)
{
    memset(r, 0, sizeof *r);
    r->cps = cps;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%d %d 20 50", cps, o->seconds + 1);
    //  Measure over [1 s, seconds + 1 s): the first second fills the switch with calls.
    long long t_start = test_now_ms();
    s_ctl("traffic %s", cmd);
    while (test_now_ms() < t_start + 1000)
        s_pump(l, 50, NULL, NULL);
    long e0 = l->events;
    long long c0 = s_proc_cpu_ms(s_sim.proc.pid), s0 = s_self_cpu_ms(), t0 = test_now_ms();
    while (test_now_ms() < t0 + o->seconds * 1000LL)
        s_pump(l, 50, NULL, NULL);
    long long t1 = test_now_ms();
    r->events = l->events - e0;
    r->events_per_s = r->events * 1000.0 / (double) (t1 - t0);
    r->sim_cpu_pct = (s_proc_cpu_ms(s_sim.proc.pid) - c0) * 100.0 / (double) (t1 - t0);
    r->self_cpu_pct = (s_self_cpu_ms() - s0) * 100.0 / (double) (t1 - t0);
    //  Let the run end and every event arrive before the next level.
    long long deadline = test_now_ms() + 60000;
    for (;;) {
        s_pump(l, 50, NULL, NULL);
        s_ctl("%s", "stats");
        if (strstr(s_reply, "\"running\":false") &&
            test_json_long(s_reply, "events_sent", -1) == l->events)
            break;
        if (test_now_ms() > deadline)
            s_die("traffic did not settle", -ETIMEDOUT);
    }
    r->placed = test_json_long(s_reply, "placed", 0);
    r->busy = test_json_long(s_reply, "busy", 0);
}

//  --- Main ---------------------------------------------------------------------------------------

static void s_pin(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(pid, sizeof set, &set);
}

static void s_usage(void)
{
    fprintf(stderr, "usage: pbxsim_bench [--seconds S] [--window W] [--extensions N] "
                    "[--cps C1,C2,...] [--no-pin]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    s_opts_t o = {.seconds = 3, .window = 1000, .extensions = 20000, .pin = true};
    const int default_cps[] = {2000, 8000, 32000, 64000};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            o.seconds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            o.window = atoi(argv[++i]);
        else if (strcmp(argv[i], "--extensions") == 0 && i + 1 < argc)
            o.extensions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cps") == 0 && i + 1 < argc) {
            char *tok = strtok(argv[++i], ",");
            for (; tok && o.cps_count < 16; tok = strtok(NULL, ","))
                o.cps[o.cps_count++] = atoi(tok);
        } else if (strcmp(argv[i], "--no-pin") == 0)
            o.pin = false;
        else
            s_usage();
    }
    if (o.seconds < 1 || o.window < 1 || o.extensions < 2 || o.extensions > 50000)
        s_usage();
    if (!o.cps_count)
        for (size_t i = 0; i < sizeof default_cps / sizeof default_cps[0]; i++)
            o.cps[o.cps_count++] = default_cps[i];

    char range[32];
    snprintf(range, sizeof range, "%d-%d", S_FIRST_EXT, S_FIRST_EXT + o.extensions - 1);
    //  No SystemStatus during a measurement (it is answered when it comes all the same).
    const char *args[] = {"--extensions", range, "--status-interval-ms", "3600000", NULL};
    if (test_pbxsim_start(&s_sim, args))
        s_die("cannot start pbxsim", 0);
    bool pinned = o.pin && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    if (pinned) {
        s_pin(s_sim.proc.pid, 1);       //  pbxsim on one core, the bench on another
        s_pin(0, 0);
    }
    s_link_t link;
    s_link_open(&link, s_sim.port);

    s_monitor_result_t m;
    s_bench_monitors(&link, &o, &m);
    //  pbxsim's own count must agree with the replies the bench took for results.
    s_ctl("%s", "stats");
    if (test_json_long(s_reply, "monitor_starts", -1) != m.starts ||
        test_json_long(s_reply, "monitor_stops", -1) != m.stops ||
        test_json_long(s_reply, "monitors_active", -1) != 0) {
        fprintf(stderr, "bench: %ld starts, %ld stops; pbxsim: %s\n", m.starts, m.stops, s_reply);
        s_die("pbxsim's counters disagree with the bench", 0);
    }

    //  Monitors on every extension, then traffic at each rate.
    s_batch_t all = {.count = o.extensions};
    all.frames = calloc((size_t) o.extensions, sizeof *all.frames);
    all.lens = calloc((size_t) o.extensions, 1);
    if (!all.frames || !all.lens || o.extensions > S_MAX_REQUESTS)
        s_die("too many extensions for one batch", -EINVAL);
    for (int i = 0; i < o.extensions; i++) {
        csta_apdu_t req;
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_MONITOR_START;
        char number[16];
        snprintf(number, sizeof number, "%d", S_FIRST_EXT + i);
        csta_device_set(&req.svc.monitor_start.device, number);
        s_batch_put(&all, i, &req);
    }
    s_batch_run(&link, &all, o.window);
    if (all.failed)
        s_die("MonitorStart on every extension failed", -EPROTO);
    free(all.frames);
    free(all.lens);
    s_traffic_result_t t[16];
    int best = 0;
    for (int i = 0; i < o.cps_count; i++) {
        s_bench_traffic(&link, &o, o.cps[i], &t[i]);
        if (t[i].events_per_s > t[best].events_per_s)
            best = i;
    }
    s_link_close(&link);
    test_pbxsim_stop(&s_sim);

    double start_rate = m.starts * 1000.0 / m.start_ms, stop_rate = m.stops * 1000.0 / m.stop_ms;
    double start_cpu = m.sim_cpu_start_ms * 100.0 / m.start_ms;
    double stop_cpu = m.sim_cpu_stop_ms * 100.0 / m.stop_ms;
    double self_cpu = m.self_cpu_start_ms * 100.0 / m.start_ms;
    printf("pbxsim bench: one link, %d extensions, %d requests in flight, %s\n", o.extensions,
           o.window, pinned ? "pbxsim on CPU 1, bench on CPU 0" : "not pinned");
    printf("%-22s %12s %12s %12s\n", "requests", "per second", "pbxsim CPU", "bench CPU");
    printf("%-22s %12.0f %11.0f%% %11.0f%%\n", "MonitorStart", start_rate, start_cpu, self_cpu);
    printf("%-22s %12.0f %11.0f%% %12s\n", "MonitorStop", stop_rate, stop_cpu, "");
    printf("\n%-10s %10s %10s %14s %12s %12s\n", "traffic", "placed", "busy", "events/s",
           "pbxsim CPU", "bench CPU");
    for (int i = 0; i < o.cps_count; i++)
        printf("%6d cps %10ld %10ld %14.0f %11.0f%% %11.0f%%\n", t[i].cps, t[i].placed,
               t[i].busy, t[i].events_per_s, t[i].sim_cpu_pct, t[i].self_cpu_pct);
    printf("{\"bench\":\"pbxsim\",\"extensions\":%d,\"window\":%d,\"monitor_start_per_s\":%.0f,"
           "\"monitor_start_pbxsim_cpu_pct\":%.0f,\"monitor_stop_per_s\":%.0f,"
           "\"events_per_s\":%.0f,\"events_at_cps\":%d,\"events_pbxsim_cpu_pct\":%.0f,"
           "\"traffic\":[",
           o.extensions, o.window, start_rate, start_cpu, stop_rate, t[best].events_per_s,
           t[best].cps, t[best].sim_cpu_pct);
    for (int i = 0; i < o.cps_count; i++)
        printf("%s{\"cps\":%d,\"placed\":%ld,\"busy\":%ld,\"events_per_s\":%.0f,"
               "\"pbxsim_cpu_pct\":%.0f}",
               i ? "," : "", t[i].cps, t[i].placed, t[i].busy, t[i].events_per_s,
               t[i].sim_cpu_pct);
    printf("]}\n");
    return 0;
}
