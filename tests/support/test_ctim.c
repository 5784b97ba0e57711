//  test_ctim: ctimd nodes and a libctim application harness for integration tests (see the
//  header).
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_ctim.h"
#include "test_http.h"

//  --- Nodes ------------------------------------------------------------------------------------

int test_ctim_dir_make(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "/tmp/ctim-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

int test_ctim_dir_remove(const char *dir)
{
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int s_write_config(test_node_t *node, const char *id, int pbx_port, const char *extra)
{
    FILE *f = fopen(node->config, "w");
    if (!f) {
        fprintf(stderr, "test_ctim: %s: %s\n", node->config, strerror(errno));
        return -1;
    }
    fprintf(f,
            "node:\n  id: %s\n  log_level: info\n"
            "pbx:\n  - name: main\n    host: 127.0.0.1\n    port: %d\n"
            "    backoff_initial_ms: 100\n    backoff_max_ms: 400\n"
            "    validate_calls_ms: 0\n"
            "csta_server:\n  listen: 127.0.0.1\n  tcp_port: %d\n  tls_port: 0\n"
            "  login_fail_delay_ms: 0\n"
            "client_api:\n  listen: 127.0.0.1\n  port: %d\n"
            "http:\n  listen: 127.0.0.1\n  port: %d\n"
            "users:\n"
            "  - name: " TEST_CTIM_USER "\n    password_hash: \"" TEST_CTIM_HASH "\"\n"
            "    devices: [\"101-120\"]\n"
            "%s",
            id, pbx_port, node->csta_port, node->client_port, node->http_port,
            extra ? extra : "");
    return fclose(f) == 0 ? 0 : -1;
}

int test_node_wait_link(test_node_t *node, int timeout_ms)
{
    static char body[4096];
    long long deadline = test_now_ms() + timeout_ms;
    while (test_now_ms() < deadline) {
        int status = -1;
        if (test_http_get("127.0.0.1", node->http_port, "/readyz", 2000, &status, body,
                          sizeof body) == 0 && status == 200)
            return 0;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  pacing polls of another process; the deadline bounds it
    }
    fprintf(stderr, "test_ctim: %s: the PBX link did not come up\n", node->config);
    return -1;
}

static int s_start(test_node_t *node, bool wait_link)
{
    char *argv[] = {CTIM_CTIMD, "--config", node->config, NULL};
    if (test_proc_start(&node->proc, argv, "ctimd ready", 20000) != 0) {
        node->proc.pid = -1;
        return -1;
    }
    return wait_link ? test_node_wait_link(node, TEST_CTIM_WAIT_MS) : 0;
}

int test_node_start(test_node_t *node, const char *dir, const char *id, int pbx_port,
                    const char *extra_yaml, bool wait_link)
{
    node->proc.pid = -1;
    snprintf(node->config, sizeof node->config, "%s/%s.yaml", dir, id);
    for (int attempt = 0; attempt < 5; attempt++) {
        //  A port taken between the check and ctimd's bind makes ctimd exit: try others.
        node->client_port = test_free_port();
        node->http_port = test_free_port();
        node->csta_port = test_free_port();
        if (s_write_config(node, id, pbx_port, extra_yaml) != 0)
            return -1;
        if (s_start(node, false) == 0)
            return wait_link ? test_node_wait_link(node, TEST_CTIM_WAIT_MS) : 0;
    }
    return -1;
}

int test_node_restart(test_node_t *node, bool wait_link)
{
    return s_start(node, wait_link);
}

void test_node_stop(test_node_t *node)
{
    if (node->proc.pid > 0)
        test_proc_stop(&node->proc);
    node->proc.pid = -1;
}

void test_node_kill(test_node_t *node)
{
    if (node->proc.pid > 0)
        test_proc_kill(&node->proc);
    node->proc.pid = -1;
}

void test_node_endpoint(const test_node_t *node, char *out, size_t cap)
{
    snprintf(out, cap, "tcp://127.0.0.1:%d", node->client_port);
}

//  --- Callbacks ------------------------------------------------------------------------------------

static void s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void s_on_reply(ctim_t *ctim, const ctim_reply_t *reply, void *arg)
{
    (void) ctim;
    test_app_t *app = arg;
    if (app->rep_count == TEST_APP_REPLIES_MAX) {
        app->overflow = true;
        return;
    }
    test_ctim_reply_t *r = &app->rep[app->rep_count++];
    r->request_id = reply->request_id;
    r->result = reply->result;
    s_copy(r->text, sizeof r->text, reply->text);
    s_copy(r->call_id, sizeof r->call_id, reply->call_id);
}

static void s_on_call(ctim_t *ctim, const ctim_call_event_t *event, void *arg)
{
    (void) ctim;
    test_app_t *app = arg;
    if (app->ev_count == TEST_APP_EVENTS_MAX) {
        app->overflow = true;
        return;
    }
    test_ctim_event_t *e = &app->ev[app->ev_count++];
    s_copy(e->line, sizeof e->line, event->line);
    s_copy(e->call_id, sizeof e->call_id, event->call_id);
    e->state = event->state;
    e->direction = event->direction;
    s_copy(e->caller, sizeof e->caller, event->caller_number);
    s_copy(e->caller_name, sizeof e->caller_name, event->caller_name);
    s_copy(e->called, sizeof e->called, event->called_number);
    s_copy(e->called_name, sizeof e->called_name, event->called_name);
    s_copy(e->cause, sizeof e->cause, event->cause);
    e->snapshot = event->snapshot;
}

static test_app_line_t *s_line(test_app_t *app, const char *line)
{
    for (size_t i = 0; i < app->line_count; i++)
        if (strcmp(app->lines[i].line, line) == 0)
            return &app->lines[i];
    if (app->line_count == TEST_APP_LINES_MAX)
        return NULL;
    test_app_line_t *l = &app->lines[app->line_count++];
    s_copy(l->line, sizeof l->line, line);
    return l;
}

static void s_on_line(ctim_t *ctim, const char *line, bool in_service, void *arg)
{
    (void) ctim;
    test_app_t *app = arg;
    test_app_line_t *l = s_line(app, line);
    if (!l) {
        app->overflow = true;
        return;
    }
    if (l->changes > 0 && l->in_service == in_service)
        fprintf(stderr, "test_ctim: line %s reported %s twice in a row\n", line,
                in_service ? "in service" : "out of service");
    l->in_service = in_service;
    l->changed_at_ms = test_now_ms();
    l->changes++;
}

static void s_on_link(ctim_t *ctim, ctim_link_t link, const char *server, const char *text,
                      void *arg)
{
    (void) ctim;
    test_app_t *app = arg;
    fprintf(stderr, "libctim: %s %s (%s)\n", ctim_link_str(link), server, text);
    if (link == CTIM_LINK_UP) {
        app->link_ups++;
        app->link_up_at_ms = test_now_ms();
    }
    else if (link == CTIM_LINK_DOWN) {
        app->link_downs++;
        app->link_down_at_ms = test_now_ms();
    } else
        app->login_failures++;
}

static void s_on_events_lost(ctim_t *ctim, uint64_t count, void *arg)
{
    (void) ctim;
    test_app_t *app = arg;
    app->events_lost += count;
    app->events_lost_calls++;
}

//  --- The application loop ---------------------------------------------------------------------

int test_app_connect_cfg(test_app_t *app, ctim_cfg_t *cfg, bool wait_up)
{
    memset(app, 0, sizeof *app);
    cfg->on_reply = s_on_reply;
    cfg->on_call = s_on_call;
    cfg->on_line = s_on_line;
    cfg->on_link = s_on_link;
    cfg->on_events_lost = s_on_events_lost;
    cfg->arg = app;
    app->ctim = ctim_new(cfg);
    if (!app->ctim || ctim_connect(app->ctim) != 0) {
        fprintf(stderr, "test_ctim: ctim_new / ctim_connect failed\n");
        return -1;
    }
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    while (wait_up && !ctim_is_up(app->ctim) && test_now_ms() < deadline &&
           app->login_failures == 0)
        test_app_turn(app, deadline);
    if (wait_up && !ctim_is_up(app->ctim)) {
        fprintf(stderr, "test_ctim: not logged in\n");
        return -1;
    }
    return 0;
}

int test_app_connect(test_app_t *app, const char *servers, int heartbeat_ms)
{
    ctim_cfg_t cfg;
    ctim_cfg_init(&cfg);
    cfg.servers = servers;
    cfg.user = TEST_CTIM_USER;
    cfg.password = TEST_CTIM_PASSWORD;
    cfg.client = "test_ctim";
    cfg.heartbeat_ms = (uint32_t) heartbeat_ms;
    cfg.backoff_max_ms = 200;
    return test_app_connect_cfg(app, &cfg, true);
}

void test_app_destroy(test_app_t *app)
{
    ctim_destroy(&app->ctim);
}

void test_app_turn(test_app_t *app, long long deadline_ms)
{
    int wait = ctim_timeout_ms(app->ctim);
    long long left = deadline_ms - test_now_ms();
    if (left < 0)
        left = 0;
    if (wait < 0 || wait > left)
        wait = (int) left;
    if (wait > 50)
        wait = 50;
    struct pollfd p = {.fd = ctim_fd(app->ctim), .events = POLLIN};
    if (poll(&p, 1, wait) < 0 && errno != EINTR)
        fprintf(stderr, "test_ctim: poll: %s\n", strerror(errno));
    ctim_dispatch(app->ctim);
}

bool test_app_reply(test_app_t *app, int id, test_ctim_reply_t *out)
{
    if (id <= 0) {
        fprintf(stderr, "test_ctim: the request was not made (%d)\n", id);
        return false;
    }
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < app->rep_count; i++)
            if (app->rep[i].request_id == id) {
                *out = app->rep[i];
                memmove(&app->rep[i], &app->rep[i + 1],
                        (app->rep_count - i - 1) * sizeof *out);
                app->rep_count--;
                return true;
            }
        if (test_now_ms() >= deadline) {
            fprintf(stderr, "test_ctim: no reply to request %d\n", id);
            return false;
        }
        test_app_turn(app, deadline);
    }
}

bool test_app_next(test_app_t *app, const char *line, test_ctim_event_t *out)
{
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < app->ev_count; i++)
            if (strcmp(app->ev[i].line, line) == 0) {
                *out = app->ev[i];
                memmove(&app->ev[i], &app->ev[i + 1], (app->ev_count - i - 1) * sizeof *out);
                app->ev_count--;
                return true;
            }
        if (test_now_ms() >= deadline) {
            fprintf(stderr, "test_ctim: no call event at line %s\n", line);
            return false;
        }
        test_app_turn(app, deadline);
    }
}

bool test_app_expect(test_app_t *app, const char *line, ctim_call_state_t state,
                     test_ctim_event_t *out)
{
    test_ctim_event_t e;
    if (!test_app_next(app, line, &e))
        return false;
    if (out)
        *out = e;
    if (e.state == state)
        return true;
    fprintf(stderr, "test_ctim: line %s: %s where %s was expected\n", line,
            ctim_call_state_str(e.state), ctim_call_state_str(state));
    return false;
}

bool test_app_skip_to(test_app_t *app, const char *line, ctim_call_state_t state,
                      test_ctim_event_t *out)
{
    test_ctim_event_t e;
    do
        if (!test_app_next(app, line, &e))
            return false;
    while (e.state != state);
    if (out)
        *out = e;
    return true;
}

bool test_app_wait_service(test_app_t *app, const char *line, bool in_service,
                           long long deadline_ms)
{
    for (;;) {
        const test_app_line_t *l = test_app_line(app, line);
        if (l && l->changes > 0 && l->in_service == in_service)
            return true;
        if (test_now_ms() >= deadline_ms) {
            fprintf(stderr, "test_ctim: line %s not %s in time\n", line,
                    in_service ? "in service" : "out of service");
            return false;
        }
        test_app_turn(app, deadline_ms);
    }
}

const test_app_line_t *test_app_line(const test_app_t *app, const char *line)
{
    for (size_t i = 0; i < app->line_count; i++)
        if (strcmp(app->lines[i].line, line) == 0)
            return &app->lines[i];
    return NULL;
}
