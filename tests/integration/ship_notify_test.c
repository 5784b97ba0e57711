//  ctimd under a Type=notify unit, without systemd: the test plays systemd's part.  It owns
//  a unix datagram socket, starts ctimd with NOTIFY_SOCKET pointing at it (and WATCHDOG_USEC
//  as WatchdogSec= sets it) and reads what ctimd says: READY=1 with a STATUS= line once the
//  HTTP port answers, WATCHDOG=1 well within every watchdog interval, a STATUS= line when the
//  PBX link comes up, STOPPING=1 on SIGTERM — and no WATCHDOG=1 when the unit has none.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_http.h"
#include "test_pbxsim.h"
#include "ship_util.h"
#include "test_proc.h"

#define S_MSGS_MAX 256

typedef struct {
    char text[512];
    long long at_ms;            //  when the test received it (monotonic)
} s_msg_t;

static test_proc_t s_ctimd = {.pid = -1};
static test_pbxsim_t s_sim;
static bool s_sim_running;
static char s_dir[64];
static char s_sock_path[96];
static int s_sock = -1;
static s_msg_t s_msgs[S_MSGS_MAX];
static size_t s_msg_count;

static int s_group_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-notify-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_sock_path, sizeof s_sock_path, "%s/notify", s_dir);
    s_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s_sock_path);
    if (s_sock < 0 || bind(s_sock, (struct sockaddr *) &sa, sizeof sa) != 0)
        return -1;
    return 0;
}

static int s_group_teardown(void **state)
{
    (void) state;
    if (s_sock >= 0)
        close(s_sock);
    unlink(s_sock_path);
    char config[96];
    snprintf(config, sizeof config, "%s/ctimd.yaml", s_dir);
    unlink(config);
    return rmdir(s_dir) == 0 ? 0 : -1;
}

//  After each test, also a failed one: nothing is left running.
static int s_teardown(void **state)
{
    (void) state;
    if (s_ctimd.pid > 0)
        test_proc_kill(&s_ctimd);
    if (s_sim_running)
        test_pbxsim_stop(&s_sim);
    s_sim_running = false;
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    return 0;
}

//  Read datagrams until one contains `text` or the deadline passes; every datagram read is
//  kept in s_msgs.  Returns the index of the match, or -1.
static int s_wait_msg(const char *text, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        for (;;) {
            char buf[512];
            ssize_t n = recv(s_sock, buf, sizeof buf - 1, 0);
            if (n < 0)
                break;
            assert_true(s_msg_count < S_MSGS_MAX);
            buf[n] = '\0';
            s_msg_t *m = &s_msgs[s_msg_count++];
            snprintf(m->text, sizeof m->text, "%s", buf);
            m->at_ms = test_now_ms();
            if (text && strstr(buf, text))
                return (int) s_msg_count - 1;
        }
        long long left = deadline - test_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = s_sock, .events = POLLIN};
        poll(&p, 1, (int) left);
    }
}

//  Start pbxsim and ctimd (with the environment as the test set it).  Returns the HTTP port.
static int s_start(void)
{
    const char *args[] = {NULL};
    assert_int_equal(test_pbxsim_start(&s_sim, args), 0);
    s_sim_running = true;
    s_msg_count = 0;
    int port = ship_start_ctimd(&s_ctimd, s_dir, "notify", s_sim.port);
    if (port < 0)
        fail_msg("ctimd did not start");
    return port;
}

static void ready_watchdog_status_and_stopping(void **state)
{
    (void) state;
    //  WatchdogSec=1s: ctimd must ping every 500 ms; systemd would kill it after 1000 ms.
    setenv("NOTIFY_SOCKET", s_sock_path, 1);
    setenv("WATCHDOG_USEC", "1000000", 1);
    unsetenv("WATCHDOG_PID");
    int port = s_start();

    int ready = s_wait_msg("READY=1", 5000);
    assert_true(ready >= 0);
    char want[64];
    snprintf(want, sizeof want, "STATUS=ready: http=127.0.0.1:%d", port);
    if (!strstr(s_msgs[ready].text, want))
        fail_msg("READY=1 without \"%s\": %s", want, s_msgs[ready].text);
    //  Nothing before READY=1 but status lines: systemd counts the start from READY.
    for (int i = 0; i < ready; i++)
        assert_non_null(strstr(s_msgs[i].text, "STATUS="));
    //  READY=1 means serving: the HTTP port answers now.
    int status = 0;
    char body[256];
    assert_int_equal(test_http_get("127.0.0.1", port, "/livez", 5000, &status, body, sizeof body),
                     0);
    assert_int_equal(status, 200);

    //  The link to pbxsim comes up: systemctl status shows it.
    assert_true(s_wait_msg("STATUS=pbx main link up", 10000) >= 0);

    //  Watch the pings for 2.6 s: the first right after READY, then every 500 ms; no gap may
    //  reach WatchdogSec (the bound systemd enforces).
    long long from = s_msgs[ready].at_ms;
    while (test_now_ms() < from + 2600)
        s_wait_msg(NULL, (int) (from + 2600 - test_now_ms()));
    int pings = 0;
    long long last = from, max_gap = 0;
    for (size_t i = (size_t) ready; i < s_msg_count; i++) {
        if (!strstr(s_msgs[i].text, "WATCHDOG=1"))
            continue;
        long long gap = s_msgs[i].at_ms - last;
        if (pings > 0 && gap > max_gap)
            max_gap = gap;
        last = s_msgs[i].at_ms;
        pings++;
    }
    long long tail = test_now_ms() - last;
    printf("watchdog: %d pings in %lld ms, largest gap %lld ms, %lld ms since the last\n", pings,
           test_now_ms() - from, max_gap, tail);
    assert_true(pings >= 4);
    assert_true(max_gap < 1000);
    assert_true(tail < 1000);

    status = test_proc_stop(&s_ctimd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(s_wait_msg("STOPPING=1", 2000) >= 0);
}

static void no_watchdog_pings_without_watchdog_sec(void **state)
{
    (void) state;
    setenv("NOTIFY_SOCKET", s_sock_path, 1);
    unsetenv("WATCHDOG_USEC");
    s_start();
    int ready = s_wait_msg("READY=1", 5000);
    assert_true(ready >= 0);
    //  A ping would come at once after READY if a timer were armed; give it a second.
    assert_int_equal(s_wait_msg("WATCHDOG=1", 1000), -1);
    int status = test_proc_stop(&s_ctimd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(s_wait_msg("STOPPING=1", 2000) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(ready_watchdog_status_and_stopping, s_teardown),
        cmocka_unit_test_teardown(no_watchdog_pings_without_watchdog_sec, s_teardown),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
