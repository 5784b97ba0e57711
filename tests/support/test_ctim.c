//  test_ctim: ctimd nodes and a libctim application harness for integration tests (see the
//  header).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static int s_write_config(test_node_t *node, const char *id, int pbx_port,
                          const test_node_cfg_t *cfg)
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
            "client_api:\n  listen: 127.0.0.1\n  port: %d\n%s"
            "http:\n  listen: 127.0.0.1\n  port: %d\n"
            "users:\n%s"
            "%s",
            id, pbx_port, node->csta_port, node->client_port,
            cfg->client_yaml ? cfg->client_yaml : "", node->http_port,
            cfg->users_yaml ? cfg->users_yaml : TEST_CTIM_USERS_YAML,
            cfg->extra_yaml ? cfg->extra_yaml : "");
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
    return test_node_start_client(node, dir, id, pbx_port, NULL, extra_yaml, wait_link);
}

int test_node_start_client(test_node_t *node, const char *dir, const char *id, int pbx_port,
                           const char *client_yaml, const char *extra_yaml, bool wait_link)
{
    test_node_cfg_t cfg = {.client_yaml = client_yaml, .extra_yaml = extra_yaml};
    return test_node_start_cfg(node, dir, id, pbx_port, &cfg, wait_link);
}

int test_node_start_cfg(test_node_t *node, const char *dir, const char *id, int pbx_port,
                        const test_node_cfg_t *cfg, bool wait_link)
{
    node->proc.pid = -1;
    snprintf(node->config, sizeof node->config, "%s/%s.yaml", dir, id);
    for (int attempt = 0; attempt < 5; attempt++) {
        //  A port taken between the check and ctimd's bind makes ctimd exit: try others.
        node->client_port = test_free_port();
        node->http_port = test_free_port();
        node->csta_port = test_free_port();
        if (s_write_config(node, id, pbx_port, cfg) != 0)
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
    if (!in_service)
        l->out_at_ms = l->changed_at_ms;
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

static void s_on_cdr(ctim_t *ctim, const ctim_cdr_t *cdr, void *arg)
{
    (void) ctim;
    test_app_t *app = arg;
    app->cdr_count++;
    snprintf(app->cdr_call_id, sizeof app->cdr_call_id, "%s", cdr->call_id);
    snprintf(app->cdr_caller, sizeof app->cdr_caller, "%s", cdr->caller_number);
    snprintf(app->cdr_called, sizeof app->cdr_called, "%s", cdr->called_number);
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
    cfg->on_cdr = s_on_cdr;
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

bool test_app_wait_went_out(test_app_t *app, const char *line, long long since_ms,
                            long long deadline_ms)
{
    for (;;) {
        const test_app_line_t *l = test_app_line(app, line);
        if (l && l->out_at_ms >= since_ms && l->out_at_ms > 0)
            return true;
        if (test_now_ms() >= deadline_ms) {
            fprintf(stderr, "test_ctim: line %s not out of service since %lld ms in time\n",
                    line, since_ms);
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

//  --- The ctim tool as a child process --------------------------------------------------------

int test_tool_env(test_tool_env_t *env, const char *path, const char *dir,
                  const test_node_t *node)
{
    memset(env, 0, sizeof *env);
    env->path = path;
    test_node_endpoint(node, env->servers, sizeof env->servers);
    snprintf(env->password_file, sizeof env->password_file, "%s/password", dir);
    FILE *f = fopen(env->password_file, "w");
    if (!f) {
        fprintf(stderr, "test_ctim: %s: %s\n", env->password_file, strerror(errno));
        return -1;
    }
    fputs(TEST_CTIM_PASSWORD "\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

static test_tool_t *s_tool_start(const test_tool_env_t *env, const char *first, va_list ap)
{
    char *argv[TEST_TOOL_ARGS_MAX + 8] = {(char *) env->path, "--servers", (char *) env->servers,
                                          "--user", TEST_CTIM_USER, "--password-file",
                                          (char *) env->password_file};
    int argc = 7;
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        if (argc == TEST_TOOL_ARGS_MAX + 7) {
            fprintf(stderr, "test_ctim: more than %d arguments for ctim\n", TEST_TOOL_ARGS_MAX);
            return NULL;
        }
        argv[argc++] = (char *) a;
    }
    argv[argc] = NULL;
    test_tool_t *t = calloc(1, sizeof *t);
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (!t || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        fprintf(stderr, "test_ctim: cannot start ctim: %s\n", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
            if (err[i] >= 0)
                close(err[i]);
        }
        free(t);
        return NULL;
    }
    t->started_at_ms = test_now_ms();
    t->status = -1;
    t->pid = fork();
    if (t->pid == 0) {
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
    t->out_fd = out[0];
    t->err_fd = err[0];
    if (t->pid < 0) {
        test_tool_free(&t);
        return NULL;
    }
    return t;
}

test_tool_t *test_tool_start(const test_tool_env_t *env, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    test_tool_t *t = s_tool_start(env, first, ap);
    va_end(ap);
    return t;
}

test_tool_t *test_tool_run(const test_tool_env_t *env, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    test_tool_t *t = s_tool_start(env, first, ap);
    va_end(ap);
    if (!t)
        return NULL;
    int rc = test_tool_wait(t, test_now_ms() + TEST_CTIM_WAIT_MS);
    fprintf(stderr, "ctim %s ...: exit %d in %lld ms\n  stdout: %s\n  stderr: %s\n", first,
            test_tool_exit(t), t->elapsed_ms, t->out, t->err);
    if (rc != 0)
        test_tool_free(&t);
    return t;
}

bool test_tool_read(test_tool_t *t, long long deadline_ms)
{
    if (t->out_fd < 0 && t->err_fd < 0)
        return false;
    struct pollfd f[2] = {{.fd = t->out_fd, .events = POLLIN}, {.fd = t->err_fd, .events = POLLIN}};
    long long left = deadline_ms - test_now_ms();
    if (poll(f, 2, left > 0 ? (int) left : 0) <= 0)
        return true;
    for (int i = 0; i < 2; i++) {
        if (!(f[i].revents & (POLLIN | POLLHUP)))
            continue;
        char *buf = i ? t->err : t->out;
        size_t *len = i ? &t->err_len : &t->out_len;
        ssize_t n = read(f[i].fd, buf + *len, TEST_TOOL_OUT_MAX - 1 - *len);
        if (n <= 0) {
            close(f[i].fd);
            *(i ? &t->err_fd : &t->out_fd) = -1;
            continue;
        }
        *len += (size_t) n;
        buf[*len] = '\0';
    }
    return true;
}

int test_tool_wait(test_tool_t *t, long long deadline_ms)
{
    while (test_now_ms() < deadline_ms && test_tool_read(t, deadline_ms))
        ;
    while (t->pid > 0 && test_now_ms() < deadline_ms) {
        if (waitpid(t->pid, &t->status, WNOHANG) == t->pid) {
            t->elapsed_ms = test_now_ms() - t->started_at_ms;
            t->pid = -1;
            return 0;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  its output is closed: it is exiting; bounded by the deadline
    }
    if (t->pid <= 0)
        return 0;
    fprintf(stderr, "test_ctim: ctim did not end in time; stdout: %s\nstderr: %s\n", t->out,
            t->err);
    kill(t->pid, SIGKILL);
    waitpid(t->pid, &t->status, 0);
    t->pid = -1;
    return -1;
}

int test_tool_exit(const test_tool_t *t)
{
    return t->pid < 0 && t->status != -1 && WIFEXITED(t->status) ? WEXITSTATUS(t->status) : -1;
}

//  Does line hold every string of the list?
static bool s_holds(const char *line, const char *first, va_list ap)
{
    for (const char *w = first; w; w = va_arg(ap, const char *))
        if (!strstr(line, w))
            return false;
    return true;
}

bool test_tool_expect(test_tool_t *t, char *line, size_t cap, const char *first, ...)
{
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    for (;;) {
        char *nl;
        while ((nl = memchr(t->out + t->seen, '\n', t->out_len - t->seen)) != NULL) {
            size_t n = (size_t) (nl - (t->out + t->seen));
            char buf[2048];
            snprintf(buf, sizeof buf, "%.*s", (int) n, t->out + t->seen);
            t->seen += n + 1;
            va_list ap;
            va_start(ap, first);
            bool all = s_holds(buf, first, ap);
            va_end(ap);
            if (all) {
                if (line)
                    snprintf(line, cap, "%s", buf);
                return true;
            }
        }
        if (test_now_ms() >= deadline || !test_tool_read(t, deadline)) {
            fprintf(stderr, "test_ctim: no ctim output line with '%s' ...; stdout:\n%s\n"
                            "stderr:\n%s\n", first, t->out, t->err);
            return false;
        }
    }
}

int test_tool_signal(test_tool_t *t, int sig)
{
    if (t->pid <= 0)
        return test_tool_exit(t);
    kill(t->pid, sig);
    if (test_tool_wait(t, test_now_ms() + TEST_CTIM_WAIT_MS) != 0)
        return -1;
    return test_tool_exit(t);
}

void test_tool_free(test_tool_t **t_p)
{
    test_tool_t *t = *t_p;
    if (!t)
        return;
    if (t->pid > 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
    }
    if (t->out_fd >= 0)
        close(t->out_fd);
    if (t->err_fd >= 0)
        close(t->err_fd);
    free(t);
    *t_p = NULL;
}

bool test_tool_value(const char *line, const char *key, const char *stop, char *out,
                     size_t cap)
{
    const char *v = strstr(line, key);
    if (!v)
        return false;
    v += strlen(key);
    size_t n = strcspn(v, stop);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

int test_dir_make(char *dir, size_t cap, const char *name)
{
    if (snprintf(dir, cap, "/tmp/ctim-%s-XXXXXX", name) >= (int) cap || !mkdtemp(dir)) {
        fprintf(stderr, "test_ctim: no temporary folder for %s: %s\n", name, strerror(errno));
        dir[0] = '\0';
        return -1;
    }
    return 0;
}

void test_dir_remove(char *dir)
{
    if (!dir[0])
        return;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_ctim: could not remove %s\n", dir);
    dir[0] = '\0';
}

int test_tool_world_start(test_tool_world_t *w, const char *tool, const char *const *sim_args,
                          const char *client_yaml, const char *extra_yaml)
{
    memset(w, 0, sizeof *w);
    w->node.proc.pid = -1;
    if (test_dir_make(w->dir, sizeof w->dir, "tool") != 0)
        return -1;
    static const char *const none[] = {NULL};
    if (test_pbxsim_start(&w->sim, sim_args ? sim_args : none) != 0)
        return -1;
    w->sim_running = true;
    if (test_node_start_client(&w->node, w->dir, "tool", w->sim.port, client_yaml, extra_yaml,
                               true) != 0)
        return -1;
    return test_tool_env(&w->env, tool, w->dir, &w->node);
}

void test_tool_world_stop(test_tool_world_t *w)
{
    for (size_t i = 0; i < TEST_TOOL_BG_MAX; i++)
        test_tool_free(&w->bg[i]);
    test_node_stop(&w->node);
    if (w->sim_running)
        test_pbxsim_stop(&w->sim);
    w->sim_running = false;
    test_dir_remove(w->dir);
}
