//  test_port: ports outside the ephemeral range, reserved across processes (test_port.h).
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_port.h"

#define S_LOW 20000         //  below: registered ports, services a machine may run
#define S_MIN_SPAN 1000     //  a range smaller than this is not worth drawing from

void test_port_range(int *lo, int *hi)
{
    int eph_lo = 32768, eph_hi = 60999;        //  Linux's default when /proc is not there
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &eph_lo, &eph_hi) != 2)
            eph_lo = 32768, eph_hi = 60999;
        fclose(f);
    }
    if (eph_lo - S_LOW >= S_MIN_SPAN)
        *lo = S_LOW, *hi = eph_lo - 1;
    else if (65535 - eph_hi >= S_MIN_SPAN)
        *lo = eph_hi + 1, *hi = 65535;
    else if (eph_lo - 1024 >= S_MIN_SPAN)
        *lo = 1024, *hi = eph_lo - 1;
    else
        *lo = S_LOW, *hi = 32767;               //  no room outside: the old default range
}

//  xorshift64, seeded per process: processes starting together scan from different ports,
//  so they seldom even meet on a lock (rand() is left to the tests).
static uint64_t s_random(void)
{
    static uint64_t x;
    if (!x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = ((uint64_t) getpid() << 32) ^ (uint64_t) ts.tv_nsec ^ (uint64_t) ts.tv_sec ^ 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

//  Open DIR/PORT.lock read-only (flock needs no write access, and a file another user made
//  can be opened as it is: never O_CREAT on an existing file, which protected_regular may
//  refuse in a sticky folder).  Returns the fd, or -1.
static int s_lock_open(const char *dir, int port)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%d.lock", dir, port);
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

//  Whether anything holds the port: a socket bound to it on any IPv4 (or IPv6) address,
//  listening or not, or a connection in TIME_WAIT on it.  A bind without SO_REUSEADDR on
//  the wildcard address fails on each of these.
static int s_bound(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                             .sin_addr.s_addr = htonl(INADDR_ANY)};
    int taken = bind(fd, (struct sockaddr *) &sa, sizeof sa) != 0;
    close(fd);
    if (taken)
        return 1;
    fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;       //  no IPv6 here: nobody can hold the port over it
    int one = 1;
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port),
                               .sin6_addr = IN6ADDR_ANY_INIT};
    taken = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0 &&
            bind(fd, (struct sockaddr *) &sa6, sizeof sa6) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

int test_port_take(const char *dir, int lo, int hi)
{
    if (lo < 1 || hi > 65535 || lo > hi)
        return -1;
    if (mkdir(dir, 01777) == 0)
        chmod(dir, 01777);      //  every user's tests share the folder (umask took bits off)
    int span = hi - lo + 1;
    int start = (int) (s_random() % (uint64_t) span);
    for (int i = 0; i < span; i++) {
        int port = lo + (start + i) % span;
        int fd = s_lock_open(dir, port);
        if (fd < 0) {
            //  No lock folder to share (read-only /tmp?): the range and the bind check alone.
            static int warned;
            if (!warned++)
                fprintf(stderr, "test_port: cannot use %s/%d.lock (%s): ports unreserved\n",
                        dir, port, strerror(errno));
            if (!s_bound(port))
                return port;
            continue;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0 || s_bound(port)) {
            close(fd);
            continue;
        }
        return port;            //  fd stays open, and the lock held, until the process exits
    }
    return -1;
}

int test_free_port(void)
{
    const char *dir = getenv("CTIM_TEST_PORT_DIR");
    int lo, hi;
    test_port_range(&lo, &hi);
    return test_port_take(dir && *dir ? dir : TEST_PORT_DIR, lo, hi);
}
