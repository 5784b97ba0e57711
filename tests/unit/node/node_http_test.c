//  node_http tests: each endpoint over a real socket while the zloop runs on this thread
//  (a client thread makes the requests), a silent client that must not stall the others,
//  and the request counter.
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_http.h"
#include "test_http.h"

typedef struct {
    const char *path;
    int status;
    char body[8192];
    int rc;
} s_get_t;

typedef struct {
    int port;
    s_get_t *gets;
    size_t count;
    bool silent_peer;           //  first open a connection that never sends a byte
    int done_fd;                //  written when finished: ends the loop
} s_client_t;

static void *s_client(void *arg)
{
    s_client_t *c = arg;
    int silent = -1;
    if (c->silent_peer) {
        silent = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) c->port)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        if (connect(silent, (struct sockaddr *) &sa, sizeof sa) < 0)
            perror("connect");
    }
    for (size_t i = 0; i < c->count; i++)
        c->gets[i].rc = test_http_get("127.0.0.1", c->port, c->gets[i].path, 3000,
                                      &c->gets[i].status, c->gets[i].body,
                                      sizeof c->gets[i].body);
    if (silent >= 0)
        close(silent);
    if (write(c->done_fd, "x", 1) != 1)
        perror("write");
    return NULL;
}

static int s_on_done(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    (void) arg;
    return -1;
}

static int s_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    *(bool *) arg = true;
    return -1;
}

//  Run the loop while a client thread makes the requests; fails the test on a deadline.
static void s_fetch(zloop_t *loop, int port, s_get_t *gets, size_t count, bool silent_peer)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    s_client_t client = {port, gets, count, silent_peer, pipefd[1]};
    zmq_pollitem_t item = {NULL, pipefd[0], ZMQ_POLLIN, 0};
    zloop_poller(loop, &item, s_on_done, NULL);
    bool late = false;
    int timer = zloop_timer(loop, 10000, 1, s_on_deadline, &late);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_client, &client), 0);
    zloop_start(loop);
    pthread_join(thread, NULL);
    zloop_poller_end(loop, &item);
    if (!late)
        zloop_timer_end(loop, timer);
    close(pipefd[0]);
    close(pipefd[1]);
    assert_false(late);
    for (size_t i = 0; i < count; i++)
        if (gets[i].rc != 0)
            fail_msg("GET %s failed", gets[i].path);
}

typedef struct {
    bool ready;
    int status_calls;
} s_node_t;

static bool s_ready(void *ctx, char *why, size_t cap)
{
    s_node_t *n = ctx;
    snprintf(why, cap, "pbx main: link down");
    return n->ready;
}

static char *s_status(void *ctx)
{
    s_node_t *n = ctx;
    n->status_calls++;
    char *json = malloc(64);
    snprintf(json, 64, "{\"node\":\"t\",\"calls\":%d}", n->status_calls);
    return json;
}

static void endpoints_answer_over_a_real_socket(void **state)
{
    (void) state;
    zloop_t *loop = zloop_new();
    node_metrics_t *metrics = node_metrics_new();
    node_metric_t *g = node_metrics_gauge(metrics, "test_gauge", "A test gauge.", NULL);
    node_metric_set(g, NULL, 42);
    s_node_t node = {.ready = false};
    node_http_cfg_t cfg = {.listen = "127.0.0.1", .port = 0};
    node_http_handlers_t h = {&node, s_ready, s_status};
    node_http_t *http = node_http_new(loop, &cfg, metrics, &h);
    assert_int_equal(node_http_start(http), 0);
    int port = node_http_port(http);
    assert_true(port > 0);

    s_get_t gets[] = {{.path = "/livez"},  {.path = "/readyz"},  {.path = "/status"},
                      {.path = "/metrics"}, {.path = "/nothing"}, {.path = "/metrics?x=1"}};
    s_fetch(loop, port, gets, 6, false);
    assert_int_equal(gets[0].status, 200);
    assert_string_equal(gets[0].body, "ok\n");
    assert_int_equal(gets[1].status, 503);
    assert_string_equal(gets[1].body, "pbx main: link down\n");
    assert_int_equal(gets[2].status, 200);
    assert_string_equal(gets[2].body, "{\"node\":\"t\",\"calls\":1}");
    assert_int_equal(gets[3].status, 200);
    assert_non_null(strstr(gets[3].body, "# TYPE ctim_test_gauge gauge\nctim_test_gauge 42\n"));
    //  The counter saw the three requests before this one.
    assert_non_null(
        strstr(gets[3].body, "ctim_http_requests_total{path=\"/readyz\",code=\"503\"} 1\n"));
    assert_int_equal(gets[4].status, 404);
    assert_int_equal(gets[5].status, 200);      //  a query string does not matter

    node.ready = true;
    s_get_t again[] = {{.path = "/readyz"}, {.path = "/metrics"}};
    s_fetch(loop, port, again, 2, false);
    assert_int_equal(again[0].status, 200);
    assert_string_equal(again[0].body, "ready\n");
    assert_non_null(
        strstr(again[1].body, "ctim_http_requests_total{path=\"other\",code=\"404\"} 1\n"));
    assert_non_null(
        strstr(again[1].body, "ctim_http_requests_total{path=\"/readyz\",code=\"200\"} 1\n"));

    node_http_destroy(&http);
    node_http_destroy(&http);
    assert_null(http);
    node_metrics_destroy(&metrics);
    zloop_destroy(&loop);
}

static void a_silent_client_does_not_stall_the_others(void **state)
{
    (void) state;
    zloop_t *loop = zloop_new();
    node_http_cfg_t cfg = {.listen = "127.0.0.1", .port = 0};
    node_http_t *http = node_http_new(loop, &cfg, NULL, NULL);
    assert_int_equal(node_http_start(http), 0);
    s_get_t gets[] = {{.path = "/livez"}, {.path = "/readyz"}, {.path = "/status"},
                      {.path = "/metrics"}};
    s_fetch(loop, node_http_port(http), gets, 4, true);
    assert_int_equal(gets[0].status, 200);
    assert_int_equal(gets[1].status, 503);      //  no readiness callback: not ready
    assert_string_equal(gets[2].body, "{}");
    assert_string_equal(gets[3].body, "");
    node_http_destroy(&http);
    zloop_destroy(&loop);
}

static void a_busy_port_is_reported(void **state)
{
    (void) state;
    zloop_t *loop = zloop_new();
    node_http_cfg_t cfg = {.listen = "127.0.0.1", .port = 0};
    node_http_t *a = node_http_new(loop, &cfg, NULL, NULL);
    assert_int_equal(node_http_start(a), 0);
    cfg.port = node_http_port(a);
    node_http_t *b = node_http_new(loop, &cfg, NULL, NULL);
    assert_int_equal(node_http_start(b), -EADDRINUSE);
    node_http_destroy(&b);
    snprintf(cfg.listen, sizeof cfg.listen, "not-an-address");
    node_http_t *c = node_http_new(loop, &cfg, NULL, NULL);
    assert_int_equal(node_http_start(c), -EINVAL);
    node_http_destroy(&c);
    node_http_destroy(&a);
    zloop_destroy(&loop);
}

int main(void)
{
    zsys_handler_set(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoints_answer_over_a_real_socket),
        cmocka_unit_test(a_silent_client_does_not_stall_the_others),
        cmocka_unit_test(a_busy_port_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
