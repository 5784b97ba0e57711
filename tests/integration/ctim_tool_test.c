//  The ctim tool end to end: the real `ctim` program against the real ctimd on pbxsim.
//
//  - call_flow: `ctim monitor 101 102` (text) and `ctim --json monitor 102` run in the
//    background while `ctim call 101 102`, `ctim answer 102 ID` and `ctim hangup 101 ID`
//    run; the monitors show link up, the lines in service and every state of the call on
//    both lines in order; SIGTERM / SIGINT end them with exit 0.
//  - json_results: --json call and hangup print one result object each, with the call id.
//  - answer_without_call: no call offering at the line: exit 1 after the short snapshot
//    wait, with a message that says so.
//  - exit codes: wrong password 3, no server 3 within --timeout, unknown command 2, a line
//    outside the user's devices 1, a PBX slower than --timeout 4.
//
//  Every wait has a deadline; ctim children are killed and ctimd and pbxsim stopped after
//  each test, also a failed one.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_http.h"
#include "test_pbxsim.h"
#include "test_proc.h"

#define WAIT_MS 10000
#define ARGS_MAX 24
#define OUT_MAX (1 << 16)

//  "crm-secret" (the hash in deploy/config/ctimd.yaml).
#define CRM_HASH                                                                                 \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

//  A ctim child: its output as it came, and how it ended.
typedef struct {
    pid_t pid;
    int out_fd, err_fd;             //  -1 once at EOF
    char out[OUT_MAX], err[OUT_MAX];
    size_t out_len, err_len;
    size_t seen;                    //  s_expect_out: how far out was searched
    int status;                     //  waitpid's, once ended
    long long elapsed_ms;
    long long started_at;
} tool_t;

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    test_proc_t ctimd;
    int client_port, http_port, csta_port;
    char servers[64];
    tool_t *bg[2];                  //  background monitors, killed in teardown
} tt_t;

static char s_dir[64];
static char s_config[128];
static char s_pw[128];              //  the right password
static char s_bad_pw[128];          //  a wrong one

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-tool-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_config, sizeof s_config, "%s/ctimd.yaml", s_dir);
    snprintf(s_pw, sizeof s_pw, "%s/pw", s_dir);
    snprintf(s_bad_pw, sizeof s_bad_pw, "%s/bad-pw", s_dir);
    s_write(s_pw, "crm-secret\n");
    s_write(s_bad_pw, "not-the-secret\n");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

//  --- ctimd on pbxsim (as ctim_e2e_test) -------------------------------------------------------

static int s_ctimd_start(tt_t *t)
{
    FILE *f = fopen(s_config, "w");
    if (!f)
        return -1;
    fprintf(f,
            "node:\n  id: tooltest\n  log_level: info\n"
            "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
            "    backoff_initial_ms: 100\n    backoff_max_ms: 400\n    validate_calls_ms: 0\n"
            "csta_server:\n  listen: 127.0.0.1\n  tcp_port: %d\n  login_fail_delay_ms: 0\n"
            "client_api:\n  listen: 127.0.0.1\n  port: %d\n"
            "http:\n  listen: 127.0.0.1\n  port: %d\n"
            "users:\n  - name: crm\n    password_hash: \"%s\"\n    devices: [\"101-103\"]\n",
            t->sim.port, t->csta_port, t->client_port, t->http_port, CRM_HASH);
    fclose(f);
    char *argv[] = {CTIM_CTIMD, "--config", s_config, NULL};
    if (test_proc_start(&t->ctimd, argv, "ctimd ready", 20000) != 0)
        return -1;
    static char body[4096];
    long long deadline = test_now_ms() + WAIT_MS;
    while (test_now_ms() < deadline) {
        int status = -1;
        if (test_http_get("127.0.0.1", t->http_port, "/readyz", 2000, &status, body,
                          sizeof body) == 0 && status == 200 && strstr(body, "ready"))
            return 0;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds it
    }
    return -1;
}

static int setup(void **state)
{
    tt_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    t->ctimd.pid = -1;
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120", NULL};
    if (test_pbxsim_start(&t->sim, args) != 0)
        return -1;
    t->sim_running = true;
    for (int attempt = 0; attempt < 5; attempt++) {
        //  A port taken between the check and ctimd's bind makes ctimd exit: try others.
        t->client_port = test_free_port();
        t->http_port = test_free_port();
        t->csta_port = test_free_port();
        if (s_ctimd_start(t) == 0) {
            snprintf(t->servers, sizeof t->servers, "tcp://127.0.0.1:%d", t->client_port);
            return 0;
        }
    }
    return -1;
}

static void s_tool_kill(tool_t **tp);

static int teardown(void **state)
{
    tt_t *t = *state;
    if (!t)
        return 0;
    for (size_t i = 0; i < 2; i++)
        s_tool_kill(&t->bg[i]);
    if (t->ctimd.pid > 0)
        test_proc_stop(&t->ctimd);
    if (t->sim_running)
        test_pbxsim_stop(&t->sim);
    free(t);
    return 0;
}

//  --- ctim children --------------------------------------------------------------------------

//  Start CTIM_TOOL with the NULL-terminated argument list ap (after "ctim").
static tool_t *s_tool_start_v(const char *first, va_list ap)
{
    char *argv[ARGS_MAX + 2] = {CTIM_TOOL};
    int argc = 1;
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(argc < ARGS_MAX);
        argv[argc++] = (char *)a;
    }
    argv[argc] = NULL;
    tool_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    int out[2], err[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    p->started_at = test_now_ms();
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        //  Only what the test says: no CTIM_* from the developer's shell.
        unsetenv("CTIM_SERVERS");
        unsetenv("CTIM_USER");
        unsetenv("CTIM_PASSWORD");
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    p->out_fd = out[0];
    p->err_fd = err[0];
    p->status = -1;
    return p;
}

//  Read what the child wrote, waiting at most until deadline.  False at EOF on both.
static bool s_tool_read(tool_t *p, long long deadline)
{
    struct pollfd f[2] = {{.fd = p->out_fd, .events = POLLIN}, {.fd = p->err_fd, .events = POLLIN}};
    if (p->out_fd < 0 && p->err_fd < 0)
        return false;
    long long left = deadline - test_now_ms();
    if (poll(f, 2, left > 0 ? (int)left : 0) <= 0)
        return true;
    for (int i = 0; i < 2; i++) {
        if (!(f[i].revents & (POLLIN | POLLHUP)))
            continue;
        char *buf = i ? p->err : p->out;
        size_t *len = i ? &p->err_len : &p->out_len;
        ssize_t n = read(f[i].fd, buf + *len, OUT_MAX - 1 - *len);
        if (n <= 0) {
            close(f[i].fd);
            if (i)
                p->err_fd = -1;
            else
                p->out_fd = -1;
            continue;
        }
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return true;
}

//  Wait for the child's end (all its output read); SIGKILL and fail after the deadline.
static void s_tool_wait(tool_t *p, long long deadline)
{
    while (test_now_ms() < deadline && s_tool_read(p, deadline))
        ;
    while (test_now_ms() < deadline) {
        if (waitpid(p->pid, &p->status, WNOHANG) == p->pid) {
            p->elapsed_ms = test_now_ms() - p->started_at;
            p->pid = -1;
            return;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  its output is closed: it is exiting; bounded by deadline
    }
    fail_msg("ctim did not end in time; stdout: %s stderr: %s", p->out, p->err);
}

static void s_tool_kill(tool_t **tp)
{
    tool_t *p = *tp;
    if (!p)
        return;
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    free(p);
    *tp = NULL;
}

static int s_exit_code(const tool_t *p)
{
    if (!WIFEXITED(p->status))
        fail_msg("ctim did not exit normally (status %#x); stderr: %s", p->status, p->err);
    return WEXITSTATUS(p->status);
}

//  Run ctim to its end; returns the child, output and status filled in (free it).
static tool_t *s_run(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    tool_t *p = s_tool_start_v(first, ap);
    va_end(ap);
    s_tool_wait(p, test_now_ms() + WAIT_MS);
    fprintf(stderr, "ctim %s ...: exit %d in %lld ms\n  stdout: %s  stderr: %s\n", first,
            WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1, p->elapsed_ms, p->out, p->err);
    return p;
}

static tool_t *s_start(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    tool_t *p = s_tool_start_v(first, ap);
    va_end(ap);
    return p;
}

//  Wait for the next stdout line (after the last one found) containing every string of
//  the NULL-terminated list; the line, copied into line.
static void s_expect_out(tool_t *p, char *line, size_t cap, const char *first, ...)
{
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        char *nl;
        while ((nl = memchr(p->out + p->seen, '\n', p->out_len - p->seen)) != NULL) {
            size_t n = (size_t)(nl - (p->out + p->seen));
            char buf[1024];
            snprintf(buf, sizeof buf, "%.*s", (int)n, p->out + p->seen);
            p->seen += n + 1;
            bool all = true;
            va_list ap;
            va_start(ap, first);
            for (const char *w = first; w && all; w = va_arg(ap, const char *))
                all = strstr(buf, w) != NULL;
            va_end(ap);
            if (all) {
                if (line)
                    snprintf(line, cap, "%s", buf);
                return;
            }
        }
        if (test_now_ms() >= deadline || !s_tool_read(p, deadline))
            fail_msg("no output line with '%s' ...; stdout so far:\n%s\nstderr:\n%s", first,
                     p->out, p->err);
    }
}

//  The value of "key" in a line ("call=X " in text, "\"call_id\":\"X\"" in JSON).
static void s_value(const char *line, const char *key, const char *stop, char *out,
                    size_t cap)
{
    const char *v = strstr(line, key);
    assert_non_null(v);
    v += strlen(key);
    size_t n = strcspn(v, stop);
    assert_true(n > 0 && n < cap);
    memcpy(out, v, n);
    out[n] = '\0';
}

//  Signal a background monitor and expect exit 0 within the deadline.
static void s_stop_monitor(tool_t **tp, int sig)
{
    tool_t *p = *tp;
    kill(p->pid, sig);
    long long sent = test_now_ms();
    s_tool_wait(p, sent + WAIT_MS);
    fprintf(stderr, "monitor ended %lld ms after signal %d\n", test_now_ms() - sent, sig);
    assert_int_equal(s_exit_code(p), 0);
    s_tool_kill(tp);
}

//  --- Tests -------------------------------------------------------------------------------------

static void test_call_flow(void **state)
{
    tt_t *t = *state;
    char line[1024], call_id[64], offer_id[64], ringback_id[64];
    tool_t *mon = t->bg[0] = s_start("--servers", t->servers, "--user", "crm",
                                     "--password-file", s_pw, "monitor", "101", "102", NULL);
    tool_t *jmon = t->bg[1] = s_start("--servers", t->servers, "-u", "crm", "--password-file",
                                      s_pw, "--json", "monitor", "102", NULL);
    s_expect_out(mon, NULL, 0, " link up ", t->servers, "(new session)", NULL);
    size_t up = mon->seen;
    s_expect_out(mon, NULL, 0, " 101 in-service", NULL);
    size_t start = mon->seen;
    mon->seen = up;
    s_expect_out(mon, NULL, 0, " 102 in-service", NULL);
    if (mon->seen > start)
        start = mon->seen;
    s_expect_out(jmon, NULL, 0, "{\"type\":\"link\",\"time\":\"", "\"link\":\"up\"", NULL);
    s_expect_out(jmon, NULL, 0, "{\"type\":\"line\",", "\"line\":\"102\",\"in_service\":true}",
                 NULL);

    tool_t *p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw,
                      "call", "101", "102", NULL);
    assert_int_equal(s_exit_code(p), 0);
    assert_string_equal(p->err, "");
    assert_true(p->out_len > 1 && p->out[p->out_len - 1] == '\n');
    snprintf(call_id, sizeof call_id, "%.*s", (int)p->out_len - 1, p->out);
    assert_null(strchr(call_id, '\n'));     //  the id alone, for scripts
    free(p);

    //  The two lines' events interleave in any order: each line is followed on its own,
    //  from where its previous state was found.
    size_t at101 = start, at102 = start;
    mon->seen = at101;
    s_expect_out(mon, line, sizeof line, " 101 ringback call=", " from 101", " to 102",
                 NULL);
    at101 = mon->seen;
    s_value(line, "call=", " ", ringback_id, sizeof ringback_id);
    assert_string_equal(ringback_id, call_id);
    mon->seen = at102;
    s_expect_out(mon, line, sizeof line, " 102 offering call=", " from 101", " to 102", NULL);
    at102 = mon->seen;
    s_value(line, "call=", " ", offer_id, sizeof offer_id);
    s_expect_out(jmon, line, sizeof line, "\"type\":\"call\"", "\"line\":\"102\"",
                 "\"state\":\"offering\"", "\"caller_number\":\"101\"",
                 "\"called_number\":\"102\"", "\"snapshot\":false", NULL);
    char json_id[64];
    s_value(line, "\"call_id\":\"", "\"", json_id, sizeof json_id);
    assert_string_equal(json_id, offer_id);

    p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw, "answer", "102",
              offer_id, NULL);
    assert_int_equal(s_exit_code(p), 0);
    assert_true(strncmp(p->out, offer_id, strlen(offer_id)) == 0);
    free(p);
    mon->seen = at101;
    s_expect_out(mon, NULL, 0, " 101 connected call=", call_id, NULL);
    at101 = mon->seen;
    mon->seen = at102;
    s_expect_out(mon, NULL, 0, " 102 connected call=", offer_id, NULL);
    at102 = mon->seen;

    p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw, "hangup", "101",
              call_id, NULL);
    assert_int_equal(s_exit_code(p), 0);
    free(p);
    mon->seen = at101;
    s_expect_out(mon, NULL, 0, " 101 disconnected call=", call_id, NULL);
    s_expect_out(mon, NULL, 0, " 101 idle call=", call_id, NULL);
    mon->seen = at102;
    s_expect_out(mon, NULL, 0, " 102 disconnected call=", offer_id, NULL);
    s_expect_out(mon, NULL, 0, " 102 idle call=", offer_id, NULL);
    s_expect_out(jmon, NULL, 0, "\"line\":\"102\"", "\"state\":\"idle\"", NULL);

    s_stop_monitor(&t->bg[0], SIGTERM);
    s_stop_monitor(&t->bg[1], SIGINT);
}

static void test_json_results(void **state)
{
    tt_t *t = *state;
    tool_t *p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw,
                      "--json", "call", "101", "103", NULL);
    assert_int_equal(s_exit_code(p), 0);
    const char *head = "{\"type\":\"result\",\"command\":\"call\",\"line\":\"101\","
                       "\"result\":\"ok\",\"exit\":0,\"text\":";
    assert_true(strncmp(p->out, head, strlen(head)) == 0);
    char call_id[64];
    s_value(p->out, "\"call_id\":\"", "\"", call_id, sizeof call_id);
    assert_string_equal(strchr(p->out, '\n'), "\n");       //  one line
    free(p);

    p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw, "--json",
              "hangup", "101", call_id, NULL);
    assert_int_equal(s_exit_code(p), 0);
    assert_non_null(strstr(p->out, "\"command\":\"hangup\",\"line\":\"101\",\"result\":\"ok\""));
    free(p);
}

static void test_answer_without_call(void **state)
{
    tt_t *t = *state;
    tool_t *p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw,
                      "answer", "102", NULL);
    assert_int_equal(s_exit_code(p), 1);
    assert_non_null(strstr(p->err, "ctim: answer 102: no offering call at the line"));
    assert_string_equal(p->out, "");
    free(p);
}

static void test_exit_codes(void **state)
{
    tt_t *t = *state;
    tool_t *p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_bad_pw,
                      "call", "101", "102", NULL);
    assert_int_equal(s_exit_code(p), 3);
    assert_non_null(strstr(p->err, "ctim: login refused by "));
    free(p);

    //  Nobody listens: exit 3 when --timeout is over, not later.
    char nobody[64];
    snprintf(nobody, sizeof nobody, "tcp://127.0.0.1:%d", test_free_port());
    p = s_run("--servers", nobody, "--user", "crm", "--password-file", s_pw, "--timeout", "400",
              "call", "101", "102", NULL);
    assert_int_equal(s_exit_code(p), 3);
    assert_non_null(strstr(p->err, "ctim: no server answered within 400 ms"));
    assert_true(p->elapsed_ms >= 400);
    assert_true(p->elapsed_ms < 400 + 1500);    //  process start and exit, ASan, busy cores
    free(p);

    p = s_run("--servers", t->servers, "--user", "crm", "dial", "101", NULL);
    assert_int_equal(s_exit_code(p), 2);
    assert_non_null(strstr(p->err, "ctim: unknown command 'dial'"));
    free(p);

    p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw, "call", "555",
              "101", NULL);
    assert_int_equal(s_exit_code(p), 1);
    assert_non_null(strstr(p->err, "ctim: call 555: access-denied"));
    free(p);
}

//  The PBX answers later than --timeout: the line's open gets no result in time: exit 4.
static void test_timeout_exit(void **state)
{
    tt_t *t = *state;
    char reply[512];
    assert_int_equal(test_pbxsim_ctl(&t->sim, reply, sizeof reply, "delay 3000"), 0);
    tool_t *p = s_run("--servers", t->servers, "--user", "crm", "--password-file", s_pw,
                      "--timeout", "500", "hangup", "103", "0001", NULL);
    assert_int_equal(s_exit_code(p), 4);
    assert_non_null(strstr(p->err, "within 500 ms"));
    assert_true(p->elapsed_ms < 500 + 1500 + 1000);     //  + closing, bounded by 1 s
    free(p);
    assert_int_equal(test_pbxsim_ctl(&t->sim, reply, sizeof reply, "delay 0"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_without_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_exit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
