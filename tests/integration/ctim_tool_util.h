//  ctim_tool_util: what the ctim tool's integration tests (ctim_tool*_test.c) share on top
//  of tests/support/test_ctim.h -- the world per test (pbxsim, ctimd, the tool's options),
//  runs of the tool with their exit code checked, monitor lines expected, pbxsim ctl.
#ifndef CTIM_TOOL_UTIL_H
#define CTIM_TOOL_UTIL_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "test_ctim.h"
#include "test_http.h"

//  Run ctim with the world's options and the arguments; it must exit with `code`.  The
//  child, ended (free it with test_tool_free).
#define RUN(w, code, ...) tool_exited(test_tool_run(&(w)->env, __VA_ARGS__, NULL), (code))
//  Start ctim in the background as the world's child i (killed at teardown).
#define START(w, i, ...) tool_started(&(w)->bg[i], test_tool_start(&(w)->env, __VA_ARGS__, NULL))
//  The next line of p's stdout holding every string (into line, a char array).
#define EXPECT(p, line, ...)                                                                     \
    assert_true(test_tool_expect((p), (line), sizeof(line), __VA_ARGS__, NULL))
#define SEE(p, ...) assert_true(test_tool_expect((p), NULL, 0, __VA_ARGS__, NULL))

static inline test_tool_t *tool_exited(test_tool_t *p, int code)
{
    assert_non_null(p);
    if (test_tool_exit(p) != code)
        fail_msg("ctim exited %d, not %d; stderr: %s", test_tool_exit(p), code, p->err);
    return p;
}

static inline test_tool_t *tool_started(test_tool_t **slot, test_tool_t *p)
{
    assert_non_null(p);
    assert_null(*slot);
    *slot = p;
    return p;
}

//  A world for each test: pbxsim with sim_args, ctimd with client_yaml and extra_yaml
//  (test_tool_world_start).
static inline int tool_setup(void **state, const char *const *sim_args, const char *client_yaml,
                             const char *extra_yaml)
{
    test_tool_world_t *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    *state = w;
    return test_tool_world_start(w, CTIM_TOOL, sim_args, client_yaml, extra_yaml);
}

static inline int tool_teardown(void **state)
{
    test_tool_world_t *w = *state;
    if (w)
        test_tool_world_stop(w);
    free(w);
    return 0;
}

//  The call id a successful command printed: its whole stdout, one line.
static inline void tool_printed_id(const test_tool_t *p, char *id, size_t cap)
{
    assert_string_equal(p->err, "");
    assert_true(p->out_len > 1 && p->out[p->out_len - 1] == '\n');
    snprintf(id, cap, "%.*s", (int) p->out_len - 1, p->out);
    assert_null(strchr(id, '\n'));      //  the id alone, for scripts
}

//  tool_printed_id, then free p.
static inline void tool_take_id(test_tool_t *p, char *id, size_t cap)
{
    tool_printed_id(p, id, cap);
    test_tool_free(&p);
}

//  pbxsim ctl: a person acts (answer N, hangup N, dial N M, call-in ...).
static inline void tool_ctl(test_tool_world_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void tool_ctl(test_tool_world_t *w, const char *fmt, ...)
{
    char cmd[256], reply[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (test_pbxsim_ctl(&w->sim, reply, sizeof reply, "%s", cmd) != 0)
        fail_msg("pbxsim ctl %s: %s", cmd, reply);
}

//  Wait until the node's HTTP `path` (/lines, /metrics) holds text.
static inline void tool_wait_http(test_tool_world_t *w, const char *path, const char *text)
{
    static char body[1 << 17];
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    while (test_now_ms() < deadline) {
        int status = -1;
        if (test_http_get("127.0.0.1", w->node.http_port, path, 2000, &status, body,
                          sizeof body) == 0 && status == 200 && strstr(body, text))
            return;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds it
    }
    fail_msg("GET %s never held \"%s\"", path, text);
}

//  Search the monitor's output for line's events from `at` on (events of different lines
//  interleave in any order): the next line with every string; at moves past it.
#define AT(mon, at, ...)                                                                         \
    do {                                                                                         \
        (mon)->seen = (at);                                                                      \
        SEE((mon), __VA_ARGS__);                                                                 \
        (at) = (mon)->seen;                                                                      \
    } while (0)

#endif
