//  node_mux_bench: the CSTA multiplexer's event fan-out — events per second delivered to N
//  applications and the latency from the PBX service handing an event over to the
//  application reading it, against a raw loopback TCP fan-out of the same bytes (one
//  writer, N sockets, no CSTA work).  The PBX service is the unit tests' fake, so what is
//  measured is node_csta_server/session (peek, rewrite per application, bounded queues,
//  one write per application per loop turn) and the kernel.
//
//    node_mux_bench [EVENTS_PER_RUN] [N ...]        default 20000 events, N = 1 10 100 1000
//
//  Both ends run in this process: the server on its zloop in the main thread, the
//  applications in a reader thread (epoll).  Each run is closed-loop: a burst of 16 events,
//  then the next once every application has all of them.  Prints a table and one JSON line.
//  Figures want a Release tree without sanitizers:
//    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench
//    build-bench/tests/node_mux_bench
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "csta.h"
#include "fake_node_pbx.h"
#include "node_csta_server.h"
#include "node_log.h"

#define S_BURST 16
#define S_SAMPLES_MAX 4000000

typedef struct {
    int n;                      //  applications
    long events;                //  per run
    bool raw;                   //  the raw TCP baseline instead of ctimd
    int port;
    //  reader side
    int *fd;
    csta_framer_t **framer;
    atomic_int ready;           //  applications associated and monitoring
    atomic_long delivered;      //  events read by all applications together
    atomic_bool stop;
    //  The reader tells the writer through an eventfd: every application is ready, or the
    //  delivered count reached target (then target goes back to 0).
    int efd;
    atomic_long target;
    long rss_ready_kib;         //  resident memory once every application is in
    double *lat_us;
    size_t lat_count;
    //  writer side (raw baseline)
    int *peer;
} s_run_t;

static long s_rss_kib(void);

static double s_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static uint64_t s_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

static void s_die(const char *what)
{
    fprintf(stderr, "node_mux_bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

//  A Delivered event whose callID carries the time it was made (8 bytes, ns).
static size_t s_event(uint8_t *out, size_t cap, long invoke_id)
{
    uint64_t ns = s_now_ns();
    uint8_t call[8];
    for (int i = 0; i < 8; i++)
        call[i] = (uint8_t) (ns >> (56 - 8 * i));
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = invoke_id;
    a.opcode = CSTA_OP_EVENT_REPORT;
    uint8_t x[3] = {0xAB, 0xCD, 0xEF};
    csta_xref_set(&a.event.xref, x, sizeof x);
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    csta_conn_set(&d->connection, call, sizeof call, "101");
    csta_device_set(&d->alerting, "101");
    csta_device_set(&d->calling, "0301234567");
    csta_device_set(&d->called, "101");
    d->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    size_t len;
    if (csta_apdu_encode(&a, out, cap, &len))
        s_die("encode");
    return len;
}

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *) &sin, sizeof sin))
        s_die("connect");
    return fd;
}

static void s_send_apdu(int fd, const csta_apdu_t *a)
{
    uint8_t buf[512];
    size_t len;
    if (csta_apdu_encode(a, buf + 2, sizeof buf - 2, &len))
        s_die("encode");
    buf[0] = (uint8_t) (len >> 8);
    buf[1] = (uint8_t) len;
    if (send(fd, buf, len + 2, MSG_NOSIGNAL) != (ssize_t) len + 2)
        s_die("send");
}

//  --- The applications (reader thread) --------------------------------------------------------

static void s_signal(s_run_t *r)
{
    uint64_t one = 1;
    if (write(r->efd, &one, sizeof one) != sizeof one)
        s_die("eventfd write");
}

static void s_check_target(s_run_t *r)
{
    long t = atomic_load(&r->target);
    if (t && atomic_load(&r->delivered) >= t && atomic_compare_exchange_strong(&r->target, &t, 0))
        s_signal(r);
}

static void *s_reader(void *arg)
{
    s_run_t *r = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < r->n; i++) {
        if (!r->raw) {
            csta_apdu_t a;
            csta_apdu_init(&a, CSTA_APDU_AARQ);
            snprintf(a.acse.context, sizeof a.acse.context, "%s", CSTA_ACN_CSTA3);
            csta_bits_set(&a.acse.csta_version, CSTA_VERSION_FIVE, 2);
            s_send_apdu(r->fd[i], &a);
            csta_apdu_init(&a, CSTA_APDU_INVOKE);
            a.invoke_id = 1;
            a.opcode = CSTA_OP_MONITOR_START;
            csta_device_set(&a.svc.monitor_start.device, "101");
            s_send_apdu(r->fd[i], &a);
        } else if (atomic_fetch_add(&r->ready, 1) + 1 == r->n)
            s_signal(r);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, r->fd[i], &ev))
            s_die("epoll_ctl");
    }
    struct epoll_event evs[256];
    while (!atomic_load(&r->stop)) {
        int n = epoll_wait(ep, evs, 256, 50);
        for (int k = 0; k < n; k++) {
            int i = (int) evs[k].data.u32;
            ssize_t got = csta_framer_read(r->framer[i], r->fd[i]);
            if (got <= 0)
                continue;
            const uint8_t *apdu;
            size_t len;
            uint64_t now = s_now_ns();
            long events = 0;
            while (csta_framer_next(r->framer[i], &apdu, &len) == 0) {
                csta_peek_t pk;
                if (csta_peek(&pk, apdu, len))
                    continue;
                if (pk.kind == CSTA_APDU_RESULT && pk.opcode == CSTA_OP_MONITOR_START &&
                    atomic_fetch_add(&r->ready, 1) + 1 == r->n)
                    s_signal(r);
                if (pk.event != CSTA_EV_DELIVERED || pk.call_id_len != 8)
                    continue;
                uint64_t ts = 0;
                for (int b = 0; b < 8; b++)
                    ts = ts << 8 | pk.call_id[b];
                if (r->lat_count < S_SAMPLES_MAX)
                    r->lat_us[r->lat_count++] = (double) (now - ts) / 1000.0;
                events++;
            }
            atomic_fetch_add(&r->delivered, events);
        }
        s_check_target(r);
    }
    close(ep);
    return NULL;
}

//  --- Driving the server (main thread, zloop) ---------------------------------------------------

typedef struct {
    s_run_t *r;
    node_pbx_t *pbx;
    int confirmed;
    long emitted;
    long invoke_id;
    double started;
    double elapsed;
} s_drive_t;

//  The fake PBX confirms every MonitorStart (while the applications come in).
static int s_on_confirm(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_drive_t *d = arg;
    while (d->confirmed < d->pbx->watches)
        fake_pbx_watch_done(d->pbx, d->confirmed++, 0, NULL, 0);
    return 0;
}

//  The reader says: all ready, or the last burst reached everyone.  Closed loop: the next
//  burst goes out now.
static int s_on_reader(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    s_drive_t *d = arg;
    uint64_t v;
    if (read(item->fd, &v, sizeof v) != sizeof v)
        return 0;
    if (d->started == 0) {
        d->r->rss_ready_kib = s_rss_kib();
        d->started = s_now_s();
    }
    if (d->emitted >= d->r->events) {
        d->elapsed = s_now_s() - d->started;
        return -1;
    }
    long burst = d->r->events - d->emitted < S_BURST ? d->r->events - d->emitted : S_BURST;
    atomic_store(&d->r->target, (d->emitted + burst) * d->r->n);
    uint8_t ev[512];
    for (long i = 0; i < burst; i++, d->emitted++) {
        size_t len = s_event(ev, sizeof ev, ++d->invoke_id);
        fake_pbx_event(d->pbx, "101", ev, len);
    }
    return 0;
}

//  --- The raw baseline: one writer, N sockets, the same bytes framed -----------------------------

static void *s_raw_writer(void *arg)
{
    s_run_t *r = arg;
    uint8_t ev[512];
    long emitted = 0, invoke_id = 0;
    uint64_t v;
    if (read(r->efd, &v, sizeof v) != sizeof v)     //  every application is there
        s_die("eventfd read");
    r->rss_ready_kib = s_rss_kib();
    while (emitted < r->events) {
        long burst = r->events - emitted < S_BURST ? r->events - emitted : S_BURST;
        atomic_store(&r->target, (emitted + burst) * r->n);
        for (int k = 0; k < burst; k++, emitted++) {
            size_t len = s_event(ev + 2, sizeof ev - 2, ++invoke_id);
            ev[0] = (uint8_t) (len >> 8);
            ev[1] = (uint8_t) len;
            for (int i = 0; i < r->n; i++)
                if (send(r->peer[i], ev, len + 2, MSG_NOSIGNAL) != (ssize_t) len + 2)
                    s_die("raw send");
        }
        if (read(r->efd, &v, sizeof v) != sizeof v)     //  closed loop, as for ctimd
            s_die("eventfd read");
    }
    return NULL;
}

static long s_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    int n;
    bool raw;
    double events_per_s;        //  delivered, all applications together
    double p50_us, p99_us;
    double rss_kib_per_app;
} s_result_t;

static s_result_t s_run(int n, long events, bool raw)
{
    s_run_t r = {.n = n, .events = events, .raw = raw};
    r.fd = calloc((size_t) n, sizeof *r.fd);
    r.peer = calloc((size_t) n, sizeof *r.peer);
    r.framer = calloc((size_t) n, sizeof *r.framer);
    r.lat_us = malloc(S_SAMPLES_MAX * sizeof *r.lat_us);
    r.efd = eventfd(0, EFD_CLOEXEC | (raw ? 0 : EFD_NONBLOCK));
    long rss0 = s_rss_kib();
    s_result_t res = {.n = n, .raw = raw};
    zloop_t *loop = zloop_new();
    node_csta_server_cfg_t cfg = {.listen = "127.0.0.1", .tcp_port = 1, .max_apps = n + 10,
                                  .app_queue_max_bytes = 4 << 20};
    node_csta_server_t *srv = NULL;
    node_pbx_t *pbx = NULL;
    int lfd = -1;
    if (!raw) {
        srv = node_csta_server_new(loop, &cfg, NULL, NULL);
        node_pbx_listener_t l;
        node_csta_server_listener(srv, &l);
        pbx = fake_pbx_new(&l);
        node_csta_server_attach(srv, pbx, 0);
        node_csta_server_pick_ports(srv, true, false);
        if (node_csta_server_start(srv))
            s_die("server start");
        r.port = node_csta_server_port(srv, false);
    } else {
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof sin;
        if (bind(lfd, (struct sockaddr *) &sin, sizeof sin) || listen(lfd, 4096) ||
            getsockname(lfd, (struct sockaddr *) &sin, &sl))
            s_die("listen");
        r.port = ntohs(sin.sin_port);
    }
    for (int i = 0; i < n; i++) {
        r.fd[i] = s_connect(r.port);
        r.framer[i] = csta_framer_new(CSTA_FRAMING_LEN16, 0);
        if (raw && (r.peer[i] = accept(lfd, NULL, NULL)) < 0)
            s_die("accept");
        if (raw) {
            //  The same fixed kernel buffer as ctimd's sessions.
            int sndbuf = 131072;
            setsockopt(r.peer[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        }
    }
    pthread_t reader, writer;
    pthread_create(&reader, NULL, s_reader, &r);
    double elapsed;
    if (!raw) {
        s_drive_t d = {.r = &r, .pbx = pbx};
        zloop_timer(loop, 1, 0, s_on_confirm, &d);
        zmq_pollitem_t item = {.fd = r.efd, .events = ZMQ_POLLIN};
        zloop_poller(loop, &item, s_on_reader, &d);
        zloop_start(loop);
        zloop_poller_end(loop, &item);
        elapsed = d.elapsed;
        res.rss_kib_per_app = (double) (r.rss_ready_kib - rss0) / n;
    } else {
        double t0 = s_now_s();
        pthread_create(&writer, NULL, s_raw_writer, &r);
        pthread_join(writer, NULL);
        elapsed = s_now_s() - t0;
        res.rss_kib_per_app = (double) (r.rss_ready_kib - rss0) / n;
    }
    atomic_store(&r.stop, true);
    pthread_join(reader, NULL);
    res.events_per_s = (double) atomic_load(&r.delivered) / elapsed;
    qsort(r.lat_us, r.lat_count, sizeof *r.lat_us, s_cmp);
    if (r.lat_count) {
        res.p50_us = r.lat_us[r.lat_count / 2];
        res.p99_us = r.lat_us[r.lat_count * 99 / 100];
    }
    for (int i = 0; i < n; i++) {
        close(r.fd[i]);
        if (raw)
            close(r.peer[i]);
        csta_framer_destroy(&r.framer[i]);
    }
    node_csta_server_destroy(&srv);
    if (pbx)
        fake_pbx_destroy(&pbx);
    if (lfd >= 0)
        close(lfd);
    zloop_destroy(&loop);
    free(r.fd);
    free(r.peer);
    free(r.framer);
    free(r.lat_us);
    close(r.efd);
    return res;
}

int main(int argc, char **argv)
{
    long events = argc > 1 ? atol(argv[1]) : 20000;
    int ns[16] = {1, 10, 100, 1000};
    int count = 4;
    if (argc > 2)
        for (count = 0; count + 2 < argc && count < 16; count++)
            ns[count] = atoi(argv[count + 2]);
    node_log_init("bench", NODE_LOG_ERROR);
    s_result_t res[32];
    int nres = 0;
    printf("%-8s %6s %16s %10s %10s %14s\n", "fan-out", "apps", "events/s", "p50 us", "p99 us",
           "RSS KiB/app");
    for (int i = 0; i < count; i++)
        for (int raw = 0; raw < 2; raw++) {
            //  The largest fan-outs get fewer events, so every run takes seconds, not minutes.
            long e = ns[i] >= 1000 ? events / 10 : events;
            s_result_t r = s_run(ns[i], e, raw);
            res[nres++] = r;
            printf("%-8s %6d %16.0f %10.1f %10.1f %14.1f\n", raw ? "raw-tcp" : "ctimd", r.n,
                   r.events_per_s, r.p50_us, r.p99_us, r.rss_kib_per_app);
            fflush(stdout);
        }
    printf("{\"bench\":\"node_mux\",\"burst\":%d,\"runs\":[", S_BURST);
    for (int i = 0; i < nres; i++)
        printf("%s{\"fanout\":\"%s\",\"apps\":%d,\"events_per_s\":%.0f,\"p50_us\":%.1f,"
               "\"p99_us\":%.1f,\"rss_kib_per_app\":%.1f}",
               i ? "," : "", res[i].raw ? "raw-tcp" : "ctimd", res[i].n, res[i].events_per_s,
               res[i].p50_us, res[i].p99_us, res[i].rss_kib_per_app);
    printf("]}\n");
    return 0;
}
