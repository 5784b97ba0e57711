//  ctimd end to end: the real program with a config on 127.0.0.1 — /livez, /readyz (503
//  without a PBX, 200 once the link to a pbxsim is up), /metrics (checked by promtool when installed), /status JSON over a
//  real socket; SIGHUP reloads (applied, refused); SIGTERM stops it cleanly; and the
//  command-line tools: --check-config errors with file, line and key, --format-number,
//  --hash-password.
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_users.h"
#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

static test_proc_t s_ctimd = {.pid = -1};
static test_pbxsim_t s_sim;
static bool s_sim_running;
static char s_dir[64];
static char s_config[128];
static char s_body[65536];

static int s_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-ctimd-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_config, sizeof s_config, "%s/ctimd.yaml", s_dir);
    return 0;
}

//  Runs after each test, also a failed one: no ctimd is left behind.
static int s_teardown(void **state)
{
    (void) state;
    if (s_ctimd.pid > 0)
        test_proc_kill(&s_ctimd);
    if (s_sim_running)
        test_pbxsim_stop(&s_sim);
    s_sim_running = false;
    return 0;
}

static int s_group_teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int s_pbx_port;
static int s_pbx_port_given;    //  a running pbxsim's port; 0: no PBX

static void s_write_config(int http_port, const char *level, const char *extra)
{
    FILE *f = fopen(s_config, "w");
    assert_non_null(f);
    fprintf(f,
            "node:\n  id: itest\n  log_level: %s\n"
            "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
            "csta_server:\n  tcp_port: 0\n"
            "client_api:\n  port: 0\n"  //  off: tests run in parallel
            "http:\n  listen: 127.0.0.1\n  port: %d\n%s",
            level, s_pbx_port, http_port, extra);
    fclose(f);
}

//  Start ctimd on a free HTTP port (a port taken between the check and the bind makes
//  ctimd exit; then another is tried).  Returns the port.
static int s_start(const char *extra)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = test_free_port();
        //  Unless a test started pbxsim, nothing listens on the PBX's port: no PBX.
        s_pbx_port = s_pbx_port_given ? s_pbx_port_given : test_free_port();
        s_write_config(port, "info", extra);
        char *argv[] = {CTIM_CTIMD, "--config", s_config, NULL};
        if (test_proc_start(&s_ctimd, argv, "ctimd ready", 20000) == 0) {
            char want[64];
            snprintf(want, sizeof want, "http=127.0.0.1:%d", port);
            assert_non_null(strstr(s_ctimd.ready, want));
            return port;
        }
    }
    fail_msg("ctimd did not start");
    return -1;
}

static int s_get(int port, const char *path)
{
    int status = -1;
    if (test_http_get("127.0.0.1", port, path, 5000, &status, s_body, sizeof s_body) != 0)
        fail_msg("GET %s failed", path);
    return status;
}

//  Poll GET path until its body contains text (a condition with a deadline, no sleeps
//  in between beyond the request itself).
static void s_wait_body(int port, const char *path, const char *text)
{
    long long deadline = test_now_ms() + 10000;
    while (test_now_ms() < deadline) {
        if (s_get(port, path) == 200 && strstr(s_body, text))
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing the polls; the deadline bounds the wait
    }
    fail_msg("GET %s never contained \"%s\"; last:\n%s", path, text, s_body);
}

//  Poll GET path until it answers `status` with text in the body (deadline, no fixed sleep
//  beyond pacing the polls).
static void s_wait_status(int port, const char *path, int status, const char *text)
{
    long long deadline = test_now_ms() + 30000;
    while (test_now_ms() < deadline) {
        if (s_get(port, path) == status && strstr(s_body, text))
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("GET %s never answered %d with \"%s\"; last:\n%s", path, status, text, s_body);
}

//  Run a shell command; its output (stdout and stderr) into out; returns the exit status.
static int s_shell(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void endpoints_over_http_without_a_pbx(void **state)
{
    (void) state;
    int port = s_start("lines:\n  - {number: \"101\", name: Reception}\n");
    assert_int_equal(s_get(port, "/livez"), 200);
    assert_string_equal(s_body, "ok\n");

    assert_int_equal(s_get(port, "/readyz"), 503);
    assert_non_null(strstr(s_body, "pbx main: "));

    assert_int_equal(s_get(port, "/status"), 200);
    assert_non_null(strstr(s_body, "{\"node\":\"itest\",\"version\":\""));
    assert_non_null(strstr(s_body, "\"ready\":false"));
    assert_non_null(strstr(s_body, "\"pbx\":[{\"name\":\"main\",\"host\":\"127.0.0.1\""));
    assert_non_null(strstr(s_body, "\"lines\":1}"));
    if (system("command -v python3 >/dev/null 2>&1") == 0) {
        char path[160], cmd[256], out[1024];
        snprintf(path, sizeof path, "%s/status.json", s_dir);
        FILE *f = fopen(path, "w");
        fputs(s_body, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "python3 -m json.tool < %s > /dev/null 2>&1", path);
        assert_int_equal(s_shell(cmd, out, sizeof out), 0);
    }

    assert_int_equal(s_get(port, "/metrics"), 200);
    assert_non_null(strstr(s_body, "# TYPE ctim_build_info gauge\nctim_build_info{version=\""));
    assert_non_null(strstr(s_body, "ctim_pbx_link_up{pbx=\"main\"} 0\n"));
    assert_non_null(strstr(s_body, "ctim_lines 1\n"));
    assert_non_null(strstr(s_body, "ctim_http_requests_total{path=\"/readyz\",code=\"503\"} 1\n"));
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[160], cmd[256], out[4096];
        snprintf(path, sizeof path, "%s/metrics.txt", s_dir);
        FILE *f = fopen(path, "w");
        fputs(s_body, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
        int rc = s_shell(cmd, out, sizeof out);
        if (rc != 0 || *out)
            fail_msg("promtool: %s", out);
    }
    assert_int_equal(s_get(port, "/nope"), 404);

    int status = test_proc_stop(&s_ctimd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void sighup_applies_reloadable_keys_and_refuses_a_broken_file(void **state)
{
    (void) state;
    int port = s_start("");
    assert_int_equal(s_get(port, "/status"), 200);
    assert_non_null(strstr(s_body, "\"log_level\":\"info\""));

    //  A changed log level and a new line are applied.
    s_write_config(port, "warning", "lines:\n  - {number: \"201\", name: Sales}\n");
    kill(s_ctimd.pid, SIGHUP);
    s_wait_body(port, "/metrics", "ctim_config_reloads_total{result=\"ok\"} 1\n");
    assert_int_equal(s_get(port, "/status"), 200);
    assert_non_null(strstr(s_body, "\"log_level\":\"warning\""));
    assert_non_null(strstr(s_body, "\"lines\":1}"));

    //  A broken file is refused; the node keeps serving with what it has.
    FILE *f = fopen(s_config, "a");
    fprintf(f, "bogus_key: 1\n");
    fclose(f);
    kill(s_ctimd.pid, SIGHUP);
    s_wait_body(port, "/metrics", "ctim_config_reloads_total{result=\"error\"} 1\n");
    assert_int_equal(s_get(port, "/livez"), 200);
    assert_int_equal(s_get(port, "/status"), 200);
    assert_non_null(strstr(s_body, "\"lines\":1}"));

    int status = test_proc_stop(&s_ctimd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void check_config_names_file_line_and_key(void **state)
{
    (void) state;
    char bad[160], cmd[512], out[8192];
    snprintf(bad, sizeof bad, "%s/bad.yaml", s_dir);
    FILE *f = fopen(bad, "w");
    fprintf(f, "# a broken config\n"
               "pbx:\n"
               "  - name: main\n"
               "    port: 99999\n"
               "csta_server:\n"
               "  tls_port: 4433\n"
               "users:\n"
               "  - name: crm\n"
               "    password_hash: x\n"
               "    devices: [\"199-101\"]\n"
               "numbers:\n"
               "  incoming:\n"
               "    - match: \"[0-9\"\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s --check-config %s 2>&1", CTIM_CTIMD, bad);
    assert_int_equal(s_shell(cmd, out, sizeof out), 1);
    const char *want[] = {":4: pbx[0].port: 99999 is out of range 1..65535",
                          ":10: users[0].devices[0]: '199-101': FIRST is greater than LAST",
                          ":13: numbers.incoming[0].match: bad regular expression"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char line[300];
        snprintf(line, sizeof line, "%s%s", bad, want[i]);
        if (!strstr(out, line))
            fail_msg("expected \"%s\" in:\n%s", line, out);
    }
    assert_non_null(strstr(out, "is not valid"));

    //  Fix those: the cross-key checks come next (TLS without cert, the hash).
    f = fopen(bad, "w");
    fprintf(f, "pbx:\n  - name: main\ncsta_server:\n  tls_port: 4433\n"
               "users:\n  - name: crm\n    password_hash: x\n");
    fclose(f);
    assert_int_equal(s_shell(cmd, out, sizeof out), 1);
    snprintf(cmd, sizeof cmd, "%s:3: csta_server.tls_cert: required when csta_server.tls_port",
             bad);
    assert_non_null(strstr(out, cmd));
    snprintf(cmd, sizeof cmd, "%s:7: users[0].password_hash: not a hash", bad);
    assert_non_null(strstr(out, cmd));

    //  An unknown key, on its own line.
    f = fopen(bad, "w");
    fprintf(f, "pbx:\n  - name: main\n\nhttp:\n  port: 9120\n  adress: 127.0.0.1\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s --check-config %s 2>&1", CTIM_CTIMD, bad);
    assert_int_equal(s_shell(cmd, out, sizeof out), 1);
    snprintf(cmd, sizeof cmd, "%s:6: http.adress: unknown key", bad);
    if (!strstr(out, cmd))
        fail_msg("expected \"%s\" in:\n%s", cmd, out);

    //  The shipped example is valid and prints its resolved values.
    snprintf(cmd, sizeof cmd, "%s --check-config %s/deploy/config/ctimd.yaml 2>/dev/null",
             CTIM_CTIMD, CTIM_SOURCE_DIR);
    assert_int_equal(s_shell(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "    silence_timeout_ms: 120000\n"));
    assert_non_null(strstr(out, "    password_hash: \"***\"\n"));
}

static void format_number_and_hash_password(void **state)
{
    (void) state;
    char cmd[512], out[1024];
    const char *cases[][3] = {{"dialling", "+49301234567", "00301234567\n"},
                              {"incoming", "0301234567", "+49301234567\n"},
                              {"incoming", "101", "101\n"},
                              {"outgoing", "01234567", "+49301234567\n"},
                              {"dialling", "112", "0112\n"}};
    for (size_t i = 0; i < 5; i++) {
        snprintf(cmd, sizeof cmd, "%s --format-number %s '%s' --config %s/deploy/config/ctimd.yaml",
                 CTIM_CTIMD, cases[i][0], cases[i][1], CTIM_SOURCE_DIR);
        assert_int_equal(s_shell(cmd, out, sizeof out), 0);
        assert_string_equal(out, cases[i][2]);
    }
    snprintf(cmd, sizeof cmd, "%s --format-number sideways 1 --config x 2>&1", CTIM_CTIMD);
    assert_int_equal(s_shell(cmd, out, sizeof out), 2);

    snprintf(cmd, sizeof cmd, "printf 'open sesame\\n' | %s --hash-password", CTIM_CTIMD);
    assert_int_equal(s_shell(cmd, out, sizeof out), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_true(node_users_verify_hash(out, "open sesame"));
    assert_false(node_users_verify_hash(out, "open sesame\n"));
    snprintf(cmd, sizeof cmd, "%s --hash-password < /dev/null 2>&1", CTIM_CTIMD);
    assert_int_equal(s_shell(cmd, out, sizeof out), 1);

    snprintf(cmd, sizeof cmd, "%s --version", CTIM_CTIMD);
    assert_int_equal(s_shell(cmd, out, sizeof out), 0);
    assert_int_equal(strncmp(out, "ctimd ", 6), 0);
    snprintf(cmd, sizeof cmd, "%s --bogus 2>&1", CTIM_CTIMD);
    assert_int_equal(s_shell(cmd, out, sizeof out), 2);
}

//  With a PBX the node gets ready: /readyz 200 once the link is up, the link gauge 1, and
//  /status says UP; while pbxsim drops the link and refuses new ones it is 503 again, and
//  ready once the link is back.
static void ready_once_the_pbx_link_is_up(void **state)
{
    (void) state;
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    assert_int_equal(test_pbxsim_start(&s_sim, args), 0);
    s_sim_running = true;
    s_pbx_port_given = s_sim.port;
    int port = s_start("lines:\n  - {number: \"101\", name: Reception}\n");
    s_pbx_port_given = 0;
    s_wait_status(port, "/readyz", 200, "");
    s_wait_status(port, "/metrics", 200, "ctim_pbx_link_up{pbx=\"main\"} 1\n");
    //  The PBX's device list named the other lines; the config's name for 101 wins.
    //  pbxsim: extensions 101..200 and trunks 801..808, all with names.
    s_wait_status(port, "/metrics", 200, "ctim_lines 108\n");
    assert_int_equal(s_get(port, "/lines"), 200);
    assert_non_null(strstr(s_body, "101,Reception\n"));
    assert_non_null(strstr(s_body, "102,Extension 102\n"));
    assert_non_null(strstr(s_body, "801,CO 1\n"));
    assert_int_equal(s_get(port, "/status"), 200);
    assert_non_null(strstr(s_body, "\"state\":\"UP\""));
    assert_non_null(strstr(s_body, "\"ready\":true"));

    char reply[4096];
    assert_int_equal(test_pbxsim_ctl(&s_sim, reply, sizeof reply, "refuse 2"), 0);
    assert_int_equal(test_pbxsim_ctl(&s_sim, reply, sizeof reply, "drop"), 0);
    s_wait_status(port, "/readyz", 503, "pbx main: DOWN");
    s_wait_status(port, "/metrics", 200, "ctim_pbx_link_up{pbx=\"main\"} 0\n");
    s_wait_status(port, "/readyz", 200, "");
    s_wait_status(port, "/metrics", 200, "ctim_pbx_link_up{pbx=\"main\"} 1\n");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(endpoints_over_http_without_a_pbx, s_teardown),
        cmocka_unit_test_teardown(ready_once_the_pbx_link_is_up, s_teardown),
        cmocka_unit_test_teardown(sighup_applies_reloadable_keys_and_refuses_a_broken_file,
                                  s_teardown),
        cmocka_unit_test_teardown(check_config_names_file_line_and_key, s_teardown),
        cmocka_unit_test_teardown(format_number_and_hash_password, s_teardown),
    };
    return cmocka_run_group_tests(tests, s_setup, s_group_teardown);
}
