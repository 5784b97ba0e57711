//  node_client_server's heartbeat failure rule (issue 5) when the node's own loop is late:
//  an application is failed only after two whole silent intervals since its last frame,
//  even when that frame waits unread in ZeroMQ because the loop was busy when it came.
//  The server and the application's DEALER share one zloop here, so a handler of the test
//  can hold that loop up the way a slow handler or a starved CPU would.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <czmq.h>

#include "fake_node_pbx.h"
#include "node_client_server.h"
#include "node_metrics.h"
#include "node_users.h"
#include "proto.h"

#define HEARTBEAT_MS 200
#define SEND_AFTER_MS 150       //  after the Welcome: the application's one more frame
#define BUSY_MS 320             //  then the loop is held up: 470 > 2 * 200 after the Hello,
                                //  but only 320 < 2 * 200 after that frame
#define CHECK_AFTER_MS 100      //  after the hold-up: the node has had its turn

typedef struct {
    zloop_t *loop;
    node_pbx_t *pbx;
    node_metrics_t *metrics;
    node_users_t *users;
    node_client_api_cfg_t cfg;
    node_client_server_t *server;
    zsock_t *app;
    bool welcomed;
    int64_t sent_ms;            //  the application's last frame went out (zclock_mono)
    size_t sessions_after;      //  sessions at the check
    int64_t failed_ms;          //  when the session was found gone after that
} fx_t;

static void s_on_state(void *ctx, node_pbx_state_t state)
{
    (void) ctx;
    (void) state;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    zsys_init();
    zsys_handler_set(NULL);
    f->loop = zloop_new();
    node_pbx_listener_t l = {.ctx = f, .on_state = s_on_state};
    f->pbx = fake_pbx_new(&l);
    f->metrics = node_metrics_new();
    node_user_cfg_t user = {.name = "crm"};
    char *hash = node_users_hash_password("crm-secret");
    assert_non_null(hash);
    snprintf(user.password_hash, sizeof user.password_hash, "%s", hash);
    free(hash);
    f->users = node_users_new(&user, 1);
    snprintf(f->cfg.listen, sizeof f->cfg.listen, "127.0.0.1");
    f->cfg.replay_events = 100;
    f->cfg.replay_bytes = 1 << 20;
    f->cfg.send_hwm = 1000;
    f->server = node_client_server_new(f->loop, &f->cfg, f->users, f->metrics, "hbtest");
    assert_non_null(f->server);
    node_pbx_listener_t sl;
    node_client_server_listener(f->server, &sl);
    f->pbx->listener = sl;
    node_client_server_attach(f->server, f->pbx, 0);
    assert_int_equal(node_client_server_start(f->server, -1), 0);
    f->app = zsock_new_dealer(NULL);
    assert_non_null(f->app);
    assert_int_equal(zsock_connect(f->app, "tcp://127.0.0.1:%d",
                                   node_client_server_port(f->server)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    zsock_destroy(&f->app);
    node_client_server_destroy(&f->server);
    node_users_destroy(&f->users);
    node_metrics_destroy(&f->metrics);
    fake_pbx_destroy(&f->pbx);
    zloop_destroy(&f->loop);
    free(f);
    return 0;
}

static void s_send(fx_t *f, proto_client_msg_t *m)
{
    static uint8_t buf[4096];
    size_t n = 0;
    assert_int_equal(proto_client_encode(m, buf, sizeof buf, &n), 0);
    zframe_t *frame = zframe_new(buf, n);
    f->sent_ms = zclock_mono();
    assert_int_equal(zframe_send(&frame, f->app, 0), 0);
}

//  Then the application stays silent: polled every ms until the node failed it.
static int s_on_poll(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fx_t *f = arg;
    if (node_client_server_session_count(f->server) > 0)
        return 0;
    f->failed_ms = zclock_mono();
    return -1;                  //  ends zloop_start
}

static int s_on_check(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    fx_t *f = arg;
    f->sessions_after = node_client_server_session_count(f->server);
    zloop_timer(loop, 1, 0, s_on_poll, f);
    return 0;
}

//  The application sends a Heartbeat, and right after it the loop is busy for BUSY_MS: the
//  frame reaches the node's ROUTER meanwhile (ZeroMQ's I/O thread), but nobody reads it.
static int s_on_send_then_busy(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    fx_t *f = arg;
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    s_send(f, &m);
    //  Not a wait for a condition: the hold-up itself is what this test is about.
    int64_t until = zclock_mono() + BUSY_MS;
    while (zclock_mono() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    zloop_timer(loop, CHECK_AFTER_MS, 1, s_on_check, f);
    return 0;
}

//  The application reads what the node sends (Welcome, the node's Heartbeats).
static int s_on_app(zloop_t *loop, zsock_t *sock, void *arg)
{
    fx_t *f = arg;
    zframe_t *frame = zframe_recv(sock);
    assert_non_null(frame);
    proto_client_msg_t m;
    assert_int_equal(proto_client_decode(&m, zframe_data(frame), zframe_size(frame)), 0);
    if (m.kind == PROTO_MSG_WELCOME && !f->welcomed) {
        f->welcomed = true;
        assert_int_equal(m.welcome.heartbeat_ms, HEARTBEAT_MS);
        zloop_timer(loop, SEND_AFTER_MS, 1, s_on_send_then_busy, f);
    }
    proto_client_msg_clear(&m);
    zframe_destroy(&frame);
    return 0;
}

static int s_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    (void) arg;
    return -1;
}

//  Hello, Welcome, one more frame SEND_AFTER_MS later, then the loop held up past the
//  Hello's deadline but not that frame's: the session lives on, and fails only two whole
//  intervals after that frame.
static void frame_waiting_in_zeromq_keeps_the_session(void **state)
{
    fx_t *f = *state;
    zloop_reader(f->loop, f->app, s_on_app, f);
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HELLO);
    snprintf(m.hello.user, sizeof m.hello.user, "crm");
    snprintf(m.hello.password, sizeof m.hello.password, "crm-secret");
    m.hello.heartbeat_ms = HEARTBEAT_MS;
    snprintf(m.hello.client, sizeof m.hello.client, "node_client_heartbeat_test");
    s_send(f, &m);
    zloop_timer(f->loop, 10000, 1, s_on_deadline, f);     //  the whole test's bound
    zloop_start(f->loop);
    assert_true(f->welcomed);
    assert_int_equal(f->sessions_after, 1);
    assert_true(f->failed_ms > 0);
    int64_t silent = f->failed_ms - f->sent_ms;
    fprintf(stderr, "failed %" PRId64 " ms after the last frame (heartbeat %d ms)\n", silent,
            HEARTBEAT_MS);
    assert_true(silent > 2 * HEARTBEAT_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(frame_waiting_in_zeromq_keeps_the_session, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
