//  bench_util: what the benches that run pbxsim, ctimd and libctim clients share — their
//  children stopped on every exit (atexit; SIGALRM, SIGINT and SIGTERM kill them), a
//  scratch folder removed, a fatal error that names the phase, the monotonic clock in
//  microseconds, and one poll loop over many libctim handles.
//
//      bench_begin("ha_failover_bench", 600);     //  handlers, alarm, bench_dir made
//      bench_child(&sim.proc);                     //  pid -1 while not running
//      snprintf(bench_phase, sizeof bench_phase, "failover");
//      if (...) bench_die("no reply");             //  exit(1): children stopped
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctim.h"
#include "test_proc.h"

#define BENCH_CHILDREN_MAX 8

static const char *bench_name = "bench";
static char bench_dir[64];
static char bench_phase[64] = "setup";
static test_proc_t *bench_children[BENCH_CHILDREN_MAX];
static int bench_child_count;

//  proc is stopped at exit if it runs then (its pid > 0).
static inline void bench_child(test_proc_t *proc)
{
    if (bench_child_count < BENCH_CHILDREN_MAX)
        bench_children[bench_child_count++] = proc;
}

static inline void bench_cleanup(void)
{
    for (int i = 0; i < bench_child_count; i++)
        if (bench_children[i]->pid > 0)
            test_proc_stop(bench_children[i]);
    if (bench_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", bench_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "%s: could not remove %s\n", bench_name, bench_dir);
        bench_dir[0] = '\0';
    }
}

static inline void bench_on_signal(int sig)
{
    for (int i = 0; i < bench_child_count; i++)
        if (bench_children[i]->pid > 0)
            kill(bench_children[i]->pid, SIGKILL);
    static const char msg[] = "bench: time limit or signal; children killed\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(sig == SIGALRM ? 4 : 3);
}

static inline void bench_die(const char *what)
{
    fprintf(stderr, "%s: [%s] %s\n", bench_name, bench_phase, what);
    exit(1);        //  atexit: bench_cleanup
}

//  Handlers, the alarm after alarm_s seconds, and bench_dir (/tmp/NAME-XXXXXX).
static inline void bench_begin(const char *name, unsigned alarm_s)
{
    bench_name = name;
    signal(SIGALRM, bench_on_signal);
    signal(SIGINT, bench_on_signal);
    signal(SIGTERM, bench_on_signal);
    alarm(alarm_s);
    snprintf(bench_dir, sizeof bench_dir, "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(bench_dir)) {
        bench_dir[0] = '\0';
        bench_die("mkdtemp");
    }
    atexit(bench_cleanup);
}

static inline long long bench_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static inline int bench_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return x < y ? -1 : x > y;
}

//  One turn of an application loop over n libctim handles (at(i, arg) is the i-th): poll
//  every fd for at most max_wait_ms (less when a library's timer is due), then dispatch
//  every handle.  pfd has room for n.
static inline void bench_turn(int n, ctim_t *(*at)(int i, void *arg), void *arg,
                              struct pollfd *pfd, int max_wait_ms)
{
    int wait = max_wait_ms;
    for (int i = 0; i < n; i++) {
        int t = ctim_timeout_ms(at(i, arg));
        if (t >= 0 && t < wait)
            wait = t;
        pfd[i] = (struct pollfd){.fd = ctim_fd(at(i, arg)), .events = POLLIN};
    }
    if (poll(pfd, (nfds_t) n, wait) < 0 && errno != EINTR)
        bench_die("poll");
    for (int i = 0; i < n; i++)
        ctim_dispatch(at(i, arg));
}

#endif
