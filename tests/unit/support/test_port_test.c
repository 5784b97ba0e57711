//  test_port (tests/support/test_port.h): every test's ports come from here, so its promises
//  are checked on their own: outside the ephemeral range, never the same port to two
//  processes at once, bound ports skipped, reservations gone when the holder exits (also
//  by kill -9), and the shell side (test_port.sh) honouring the same locks.
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_port.h"
#include "test_proc.h"

#define PROCS 4
#define PER_PROC 20
#define WINDOW 200          //  ports the processes share: 80 of them wanted, much contention

static char s_dir[64];

static int s_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-port-test-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

//  fork, the child killed when this process ends (a failed assertion leaves no child
//  holding ports, or CTest's output pipe, behind).
static pid_t s_fork(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(3);
    return pid;
}

//  Read a line from fd into buf within timeout_ms; 0, or -1 on timeout or EOF.
static int s_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    size_t used = 0;
    while (used + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - test_now_ms();
        if (left <= 0 || poll(&p, 1, (int) left) != 1)
            return -1;
        ssize_t got = read(fd, buf + used, 1);
        if (got <= 0)
            return -1;
        if (buf[used] == '\n')
            break;
        used++;
    }
    buf[used] = '\0';
    return 0;
}

static int s_bind(int port, bool listening)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    if (listening)
        assert_int_equal(listen(fd, 4), 0);
    return fd;
}

//  The default allocator: distinct ports, all in its range, none in the ephemeral one.
static void test_ports_outside_the_ephemeral_range(void **state)
{
    (void) state;
    int eph_lo = 32768, eph_hi = 60999, lo, hi;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        assert_int_equal(fscanf(f, "%d %d", &eph_lo, &eph_hi), 2);
        fclose(f);
    }
    test_port_range(&lo, &hi);
    assert_true(hi - lo + 1 >= 1000);
    assert_true(hi < eph_lo || lo > eph_hi);
    int got[30];
    for (int i = 0; i < 30; i++) {
        got[i] = test_free_port();
        assert_in_range(got[i], lo, hi);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(got[i], got[j]);
    }
}

//  PROCS processes, let go at once, each take PER_PROC ports of the same small window and
//  hold them: no port twice.
static void test_processes_never_share_a_port(void **state)
{
    (void) state;
    int lo, hi;
    test_port_range(&lo, &hi);
    lo += (int) (test_now_ms() % (hi - lo + 1 - WINDOW));
    hi = lo + WINDOW - 1;
    int go[2], done[2], out[PROCS][2];
    pid_t pid[PROCS];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    for (int c = 0; c < PROCS; c++) {
        assert_int_equal(pipe(out[c]), 0);
        pid[c] = s_fork();
        if (pid[c] == 0) {
            char b;
            close(go[1]);
            close(done[1]);
            if (read(go[0], &b, 1) != 0)        //  EOF: all start together
                _exit(2);
            for (int i = 0; i < PER_PROC; i++)
                dprintf(out[c][1], "%d\n", test_port_take(s_dir, lo, hi));
            if (read(done[0], &b, 1) != 0)      //  hold the ports until the parent has read
                _exit(2);
            _exit(0);
        }
        close(out[c][1]);
    }
    close(go[0]);
    close(done[0]);
    close(go[1]);
    int ports[PROCS * PER_PROC], n = 0;
    for (int c = 0; c < PROCS; c++)
        for (int i = 0; i < PER_PROC; i++) {
            char line[32];
            assert_int_equal(s_read_line(out[c][0], line, sizeof line, 20000), 0);
            int p = atoi(line);
            assert_in_range(p, lo, hi);
            for (int j = 0; j < n; j++)
                if (ports[j] == p)
                    fail_msg("port %d handed out twice", p);
            ports[n++] = p;
        }
    close(done[1]);
    for (int c = 0; c < PROCS; c++) {
        int status;
        assert_int_equal(waitpid(pid[c], &status, 0), pid[c]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(out[c][0]);
    }
}

//  A port something is bound to (listening or only bound) is skipped, free again once
//  the socket is closed.
static void test_bound_port_skipped(void **state)
{
    (void) state;
    int p = test_free_port();       //  held in the shared folder, not in s_dir
    assert_true(p > 0);
    int fd = s_bind(p, true);
    assert_int_equal(test_port_take(s_dir, p, p), -1);
    close(fd);
    fd = s_bind(p, false);
    assert_int_equal(test_port_take(s_dir, p, p), -1);
    close(fd);
    assert_int_equal(test_port_take(s_dir, p, p), p);
}

//  Another process's reservation blocks a port while it lives and ends with it, even when
//  it is killed (the kernel drops flock locks with the last descriptor).
static void test_lock_released_at_exit(void **state)
{
    (void) state;
    int p = test_free_port();
    assert_true(p > 0);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = s_fork();
    if (pid == 0) {
        dprintf(out[1], "%d\n", test_port_take(s_dir, p, p));
        for (;;)
            pause();
    }
    close(out[1]);
    char line[32];
    assert_int_equal(s_read_line(out[0], line, sizeof line, 20000), 0);
    assert_int_equal(atoi(line), p);
    assert_int_equal(test_port_take(s_dir, p, p), -1);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    close(out[0]);
    assert_int_equal(test_port_take(s_dir, p, p), p);
}

//  test_port.sh takes the same locks: ports a shell holds are refused here while it
//  runs, and free once it exited.
static void test_shell_takes_the_same_locks(void **state)
{
    (void) state;
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    pid_t pid = s_fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        setenv("CTIM_TEST_PORT_DIR", s_dir, 1);
        execlp("bash", "bash", "-c",
               ". \"$0\" && test_port a && test_port b && echo \"$a $b\" && "
               "{ read -r _ || true; }",
               CTIM_TEST_PORT_SH, (char *) NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    char line[64];
    assert_int_equal(s_read_line(out[0], line, sizeof line, 20000), 0);
    int a = 0, b = 0, lo, hi;
    assert_int_equal(sscanf(line, "%d %d", &a, &b), 2);
    test_port_range(&lo, &hi);
    assert_in_range(a, lo, hi);
    assert_in_range(b, lo, hi);
    assert_int_not_equal(a, b);
    assert_int_equal(test_port_take(s_dir, a, a), -1);
    assert_int_equal(test_port_take(s_dir, b, b), -1);
    close(in[1]);                   //  the shell's read ends, it exits
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(out[0]);
    assert_int_equal(test_port_take(s_dir, a, a), a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ports_outside_the_ephemeral_range, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_processes_never_share_a_port, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bound_port_skipped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lock_released_at_exit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_shell_takes_the_same_locks, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
