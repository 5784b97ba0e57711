//  A real Prometheus (the Debian package) scrapes a running ctimd every second, with
//  deploy/prometheus/ctim-alerts.yml loaded, and the test reads ctim_ series back through
//  Prometheus' HTTP API: ctim_pbx_link_up 1 while pbxsim runs and 0 once it is gone,
//  ctim_build_info with ctimd's version and node, the target up, the rules loaded.
//  Everything runs on 127.0.0.1 on free ports with a scratch storage directory; every wait
//  has a deadline; pbxsim, ctimd and Prometheus are stopped after each run, also a failed
//  one.  Without a prometheus binary the test is skipped (exit 77).
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_http.h"
#include "test_pbxsim.h"
#include "ship_util.h"
#include "test_proc.h"

#define S_PROMETHEUS "/usr/bin/prometheus"

static test_proc_t s_ctimd = {.pid = -1};
static test_pbxsim_t s_sim;
static bool s_sim_running;
static pid_t s_prom = -1;
static int s_prom_port;
static char s_dir[64];
static char s_body[65536];

//  Start Prometheus with its output in DIR/prometheus.log; it dies with the test.
static pid_t s_spawn_prometheus(const char *config, int port)
{
    char cfg_arg[160], data_arg[160], listen_arg[64], log[128];
    snprintf(cfg_arg, sizeof cfg_arg, "--config.file=%s", config);
    snprintf(data_arg, sizeof data_arg, "--storage.tsdb.path=%s/data", s_dir);
    snprintf(listen_arg, sizeof listen_arg, "--web.listen-address=127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/prometheus.log", s_dir);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
    }
    execl(S_PROMETHEUS, S_PROMETHEUS, cfg_arg, data_arg, listen_arg, "--log.level=warn",
          (char *) NULL);
    _exit(127);
}

static void s_prometheus_stop(void)
{
    if (s_prom <= 0)
        return;
    kill(s_prom, SIGTERM);
    long long deadline = test_now_ms() + 5000;
    while (test_now_ms() < deadline && waitpid(s_prom, NULL, WNOHANG) == 0) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  polling the child's exit; bounded by the deadline
    }
    if (waitpid(s_prom, NULL, WNOHANG) == 0) {
        kill(s_prom, SIGKILL);
        waitpid(s_prom, NULL, 0);
    }
    s_prom = -1;
}

//  After the test, also a failed one: nothing left running, the scratch directory gone.
static int s_teardown(void **state)
{
    (void) state;
    s_prometheus_stop();
    if (s_ctimd.pid > 0)
        test_proc_kill(&s_ctimd);
    if (s_sim_running)
        test_pbxsim_stop(&s_sim);
    s_sim_running = false;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

//  The last lines Prometheus logged, for a failure message.
static const char *s_prom_log(void)
{
    static char tail[2048];
    char path[128];
    snprintf(path, sizeof path, "%s/prometheus.log", s_dir);
    FILE *f = fopen(path, "r");
    tail[0] = '\0';
    if (f) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size > (long) sizeof tail - 1 ? size - (long) sizeof tail + 1 : 0, SEEK_SET);
        size_t n = fread(tail, 1, sizeof tail - 1, f);
        tail[n] = '\0';
        fclose(f);
    }
    return tail;
}

//  GET path on Prometheus until the body holds every one of the NULL-terminated texts or
//  the deadline passes; polls 10 times a second.
static void s_wait_prom(const char *path, int timeout_ms, ...)
{
    long long deadline = test_now_ms() + timeout_ms;
    int status = -1;
    while (test_now_ms() < deadline) {
        if (test_http_get("127.0.0.1", s_prom_port, path, 2000, &status, s_body, sizeof s_body) ==
                0 &&
            status == 200) {
            va_list ap;
            va_start(ap, timeout_ms);
            bool all = true;
            for (const char *t = va_arg(ap, const char *); t && all; t = va_arg(ap, const char *))
                all = strstr(s_body, t) != NULL;
            va_end(ap);
            if (all)
                return;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing the polls; the deadline bounds the wait
    }
    fail_msg("GET %s within %d ms: status %d, body:\n%.2000s\nprometheus log:\n%s", path,
             timeout_ms, status, s_body, s_prom_log());
}

static void prometheus_scrapes_ctim_series(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-prom-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    const char *args[] = {NULL};
    assert_int_equal(test_pbxsim_start(&s_sim, args), 0);
    s_sim_running = true;

    int http_port = ship_start_ctimd(&s_ctimd, s_dir, "prom", s_sim.port);
    assert_true(http_port > 0);

    //  The shipped rules, loaded by a real server: they must evaluate, not only parse.
    char prom_cfg[128];
    snprintf(prom_cfg, sizeof prom_cfg, "%s/prometheus.yml", s_dir);
    FILE *f = fopen(prom_cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "rule_files:\n  - %s/deploy/prometheus/ctim-alerts.yml\n"
            "scrape_configs:\n  - job_name: ctimd\n    static_configs:\n"
            "      - targets: [\"127.0.0.1:%d\"]\n        labels: {cluster: test}\n",
            CTIM_SOURCE_DIR, http_port);
    fclose(f);
    //  A port taken between the check and Prometheus' bind shows as a failed /-/ready.
    s_prom_port = test_free_port();
    s_prom = s_spawn_prometheus(prom_cfg, s_prom_port);
    assert_true(s_prom > 0);
    long long t0 = test_now_ms();
    s_wait_prom("/-/ready", 20000, "Ready", NULL);
    long long ready_ms = test_now_ms() - t0;

    //  The link to pbxsim is up: a sample of 1 with the PBX's name.
    s_wait_prom("/api/v1/query?query=ctim_pbx_link_up", 20000, "\"status\":\"success\"",
                "\"__name__\":\"ctim_pbx_link_up\"", "\"pbx\":\"main\"",
                "\"cluster\":\"test\"", ",\"1\"]", NULL);
    long long first_ms = test_now_ms() - t0;
    s_wait_prom("/api/v1/query?query=ctim_build_info", 5000, "\"node\":\"prom\"",
                "\"version\":\"", ",\"1\"]", NULL);
    s_wait_prom("/api/v1/query?query=up%7Bjob%3D%22ctimd%22%7D", 5000, "\"job\":\"ctimd\"",
                ",\"1\"]", NULL);
    s_wait_prom("/api/v1/rules", 5000, "\"name\":\"CtimPbxLinkDown\"",
                "\"name\":\"CtimClientLoginFailures\"", "\"health\":\"ok\"", NULL);
    assert_null(strstr(s_body, "\"health\":\"err"));

    //  The PBX goes away: the next scrapes say so.
    long long stopped = test_now_ms();
    test_pbxsim_stop(&s_sim);
    s_sim_running = false;
    s_wait_prom("/api/v1/query?query=ctim_pbx_link_up", 20000, "\"pbx\":\"main\"", ",\"0\"]",
                NULL);
    printf("prometheus: ready after %lld ms, first ctim_pbx_link_up 1 after %lld ms, "
           "0 seen %lld ms after pbxsim stopped\n",
           ready_ms, first_ms, test_now_ms() - stopped);

    s_prometheus_stop();
    int status = test_proc_stop(&s_ctimd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    if (access(S_PROMETHEUS, X_OK) != 0) {
        printf("skip: no %s (apt install prometheus; deploy/install-deps.sh test)\n",
               S_PROMETHEUS);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(prometheus_scrapes_ctim_series, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
