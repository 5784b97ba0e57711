//  node_pbx_link: what can be checked without a PBX — back-off figures, config checks,
//  and requests on a link that is not up (each still gets its one reply, later).
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node_pbx_link.h"

static node_pbx_cfg_t s_cfg(void)
{
    node_pbx_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "main");
    strcpy(cfg.host, "127.0.0.1");
    cfg.port = 9;
    cfg.connect_timeout_ms = 3000;
    cfg.backoff_initial_ms = 500;
    cfg.backoff_max_ms = 30000;
    cfg.silence_timeout_ms = 120000;
    cfg.request_timeout_ms = 5000;
    cfg.window = 32;
    cfg.queue_max = 4096;
    cfg.monitor_retry_ms = 30000;
    return cfg;
}

static void backoff_doubles_up_to_the_maximum(void **state)
{
    (void) state;
    node_pbx_cfg_t cfg = s_cfg();
    //  jitter 0.5 is the middle of [0.8, 1.2]: the plain figure.
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 1, 0.5), 500);
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 2, 0.5), 1000);
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 3, 0.5), 2000);
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 7, 0.5), 30000);    //  32000 capped
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 1000, 0.5), 30000);
}

static void backoff_jitter_stays_within_twenty_percent(void **state)
{
    (void) state;
    node_pbx_cfg_t cfg = s_cfg();
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 1, 0.0), 400);
    int high = node_pbx_link_backoff_ms(&cfg, 1, 0.999999);
    assert_in_range(high, 599, 600);
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 100, 0.0), 24000);
    assert_in_range(node_pbx_link_backoff_ms(&cfg, 100, 0.999999), 35999, 36000);
    //  Out-of-range jitter is clamped, never a negative or zero delay.
    assert_int_equal(node_pbx_link_backoff_ms(&cfg, 1, -3), 400);
    assert_in_range(node_pbx_link_backoff_ms(&cfg, 1, 7), 599, 600);
    cfg.backoff_initial_ms = cfg.backoff_max_ms = 1;
    assert_true(node_pbx_link_backoff_ms(&cfg, 1, 0.0) >= 1);
}

static void new_refuses_unusable_config(void **state)
{
    (void) state;
    zloop_t *loop = zloop_new();
    node_pbx_cfg_t cfg = s_cfg();
    node_pbx_link_t *link = node_pbx_link_new(loop, &cfg, NULL);
    assert_non_null(link);
    assert_int_equal(node_pbx_link_state(link), NODE_PBX_LINK_IDLE);
    node_pbx_link_destroy(&link);
    assert_null(link);
    node_pbx_link_destroy(&link);
    cfg.window = 0;
    assert_null(node_pbx_link_new(loop, &cfg, NULL));
    cfg = s_cfg();
    cfg.backoff_max_ms = 100;       //  below backoff_initial_ms
    assert_null(node_pbx_link_new(loop, &cfg, NULL));
    cfg = s_cfg();
    cfg.host[0] = '\0';
    assert_null(node_pbx_link_new(loop, &cfg, NULL));
    zloop_destroy(&loop);
}

typedef struct {
    int calls;
    int status;
} s_reply_t;

static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len,
                       const csta_peek_t *keys)
{
    s_reply_t *r = arg;
    r->calls++;
    r->status = status;
    assert_null(apdu);
    assert_int_equal(len, 0);
    assert_null(keys);
}

static int s_stop(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    (void) arg;
    return -1;
}

static size_t s_invoke(uint8_t *buf, size_t cap, int opcode)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 77;
    a.opcode = opcode;
    csta_device_set(&a.svc.snapshot_device.snapshot_object, "101");
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, buf, cap, &n), 0);
    return n;
}

static void request_while_down_gets_enotconn_from_the_loop(void **state)
{
    (void) state;
    zloop_t *loop = zloop_new();
    node_pbx_cfg_t cfg = s_cfg();
    node_pbx_link_t *link = node_pbx_link_new(loop, &cfg, NULL);
    uint8_t buf[256];
    size_t n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE);
    s_reply_t r = {0};
    assert_int_equal(node_pbx_link_request(link, buf, n, 0, s_on_reply, &r), 0);
    assert_int_equal(r.calls, 0);   //  never from inside the request
    zloop_timer(loop, 50, 1, s_stop, NULL);
    zloop_start(loop);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, -ENOTCONN);
    //  Not an invoke: refused at once, no reply.
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.invoke_id = 3;
    res.opcode = CSTA_OP_SYSTEM_STATUS;
    assert_int_equal(csta_apdu_encode(&res, buf, sizeof buf, &n), 0);
    assert_int_equal(node_pbx_link_request(link, buf, n, 0, s_on_reply, &r), -EINVAL);
    assert_int_equal(node_pbx_link_request(link, buf, 1, 0, s_on_reply, &r), -EINVAL);
    //  A request still waiting for the loop when the link goes: answered by destroy.
    n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE);
    s_reply_t r2 = {0};
    assert_int_equal(node_pbx_link_request(link, buf, n, 0, s_on_reply, &r2), 0);
    node_pbx_link_destroy(&link);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.status, -ENOTCONN);
    assert_int_equal(r.calls, 1);
    zloop_destroy(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_up_to_the_maximum),
        cmocka_unit_test(backoff_jitter_stays_within_twenty_percent),
        cmocka_unit_test(new_refuses_unusable_config),
        cmocka_unit_test(request_while_down_gets_enotconn_from_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
