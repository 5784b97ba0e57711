//  node_pbx's remote backing (node_pbx_remote.h) against a fake seam: what a front end sees
//  of a PBX service that forwards to the link's owner — requests and replies passed through
//  once, one registration per device whatever its watches, done calls as a MonitorStart
//  result would make them (and -ENOTCONN when the owner goes, never silence), events to
//  every watch with their routing keys, UP / DOWN as the owner is reachable, CDR through
//  the owner — and the switch to the local link and back keeping every watch.
//  The link itself is never started here (its PBX port is closed).
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_pbx.h"
#include "node_pbx_remote.h"

#define CALLS_MAX 16

//  The fake seam and the front end's listener.
typedef struct {
    zloop_t *loop;
    node_pbx_t *pbx;
    //  seam: requests as the backing got them, their callbacks for the test to call
    int requests;
    int timeout_ms;
    node_pbx_remote_reply_fn *reply;
    node_pbx_remote_followup_fn *followup;
    node_pbx_remote_end_fn *end;
    void *req_arg;
    int request_rc;
    //  seam: watches
    int watch_on, watch_off;
    char last_watch[32];
    //  front end
    int states[8];
    size_t state_count;
    int done[CALLS_MAX];
    int done_status[CALLS_MAX];
    int events[CALLS_MAX];
    int last_event_type;
    int replies, reply_status, followups;
    int drained, drained_outstanding;
    void *req_args[CALLS_MAX];      //  every request's arg, in order
    int relays;                     //  of the requests, those that came through relay
    char req_dev[CALLS_MAX][72];    //  ... and the device of each SnapshotDevice
    //  front end: per watch tag
    int monitored[CALLS_MAX], unmonitored[CALLS_MAX], stale[CALLS_MAX];
    char trace[256];                //  "U" state UP, "D" DOWN, "m<tag>", "u<tag>", "s<tag>"
    int broadcasts, last_broadcast_op;
    int validate_calls_ms;          //  setup_validate: 40
} fx_t;

static fx_t *s_fx;

static int s_request(void *ctx, const uint8_t *apdu, size_t len, int timeout_ms,
                     node_pbx_remote_reply_fn *reply, node_pbx_remote_followup_fn *followup,
                     node_pbx_remote_end_fn *end, void *arg)
{
    fx_t *f = ctx;
    assert_true(len > 0 && apdu);
    if (f->request_rc)
        return f->request_rc;
    f->requests++;
    f->timeout_ms = timeout_ms;
    f->reply = reply;
    f->followup = followup;
    f->end = end;
    f->req_arg = arg;
    if (f->requests <= CALLS_MAX) {
        f->req_args[f->requests - 1] = arg;
        csta_apdu_t a;
        if (csta_apdu_decode(&a, apdu, len) == 0 && a.opcode == CSTA_OP_SNAPSHOT_DEVICE)
            snprintf(f->req_dev[f->requests - 1], sizeof f->req_dev[0], "%s",
                     a.svc.snapshot_device.snapshot_object.digits);
        csta_apdu_clear(&a);
    }
    return 0;
}

//  The seam's relay: counted, then as a request.
static int s_relay(void *ctx, const uint8_t *apdu, size_t len, int timeout_ms,
                   node_pbx_remote_reply_fn *reply, node_pbx_remote_followup_fn *followup,
                   node_pbx_remote_end_fn *end, void *arg)
{
    fx_t *f = ctx;
    int rc = s_request(ctx, apdu, len, timeout_ms, reply, followup, end, arg);
    f->relays += rc == 0;
    return rc;
}

static void s_trace(fx_t *f, char what, intptr_t tag)
{
    size_t n = strlen(f->trace);
    if (n + 3 < sizeof f->trace)
        snprintf(f->trace + n, sizeof f->trace - n, tag < 0 ? "%c" : "%c%d", what, (int) tag);
}

static void s_on_monitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    fx_t *f = ctx;
    (void) watch;
    f->monitored[(intptr_t) watch_arg]++;
    s_trace(f, 'm', (intptr_t) watch_arg);
}

static void s_on_unmonitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    fx_t *f = ctx;
    (void) watch;
    f->unmonitored[(intptr_t) watch_arg]++;
    s_trace(f, 'u', (intptr_t) watch_arg);
}

static void s_on_broadcast(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    fx_t *f = ctx;
    (void) apdu;
    (void) len;
    f->broadcasts++;
    f->last_broadcast_op = keys->opcode;
}

static void s_on_stale(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    fx_t *f = ctx;
    (void) watch;
    f->stale[(intptr_t) watch_arg]++;
    s_trace(f, 's', (intptr_t) watch_arg);
}

static int s_watch(void *ctx, const char *key, bool on)
{
    fx_t *f = ctx;
    if (on)
        f->watch_on++;
    else
        f->watch_off++;
    snprintf(f->last_watch, sizeof f->last_watch, "%s", key);
    return 0;
}

static void s_on_state(void *ctx, node_pbx_state_t state)
{
    fx_t *f = ctx;
    assert_true(f->state_count < 8);
    f->states[f->state_count++] = (int) state;
    s_trace(f, state == NODE_PBX_UP ? 'U' : 'D', -1);
}

static void s_on_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg, const uint8_t *apdu,
                       size_t len, const csta_peek_t *keys)
{
    fx_t *f = ctx;
    (void) watch;
    (void) apdu;
    (void) len;
    f->events[(intptr_t) watch_arg]++;
    f->last_event_type = (int) keys->event;
}

static void s_done(void *arg, int status, const uint8_t *apdu, size_t len)
{
    (void) apdu;
    (void) len;
    s_fx->done[(intptr_t) arg]++;
    s_fx->done_status[(intptr_t) arg] = status;
}

static void s_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    fx_t *f = arg;
    (void) apdu;
    (void) len;
    f->replies++;
    f->reply_status = status;
}

static void s_followup(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    fx_t *f = arg;
    (void) apdu;
    (void) len;
    assert_int_equal(keys->kind, CSTA_APDU_INVOKE);
    f->followups++;
}

static int s_on_stop(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    (void) arg;
    return -1;
}

//  Let the loop run the deferred done calls.
static void s_turn(fx_t *f)
{
    zloop_timer(f->loop, 5, 1, s_on_stop, NULL);
    zloop_start(f->loop);
}

static int s_setup(void **state, int validate_calls_ms)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->validate_calls_ms = validate_calls_ms;
    s_fx = f;
    *state = f;
    f->loop = zloop_new();
    node_pbx_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.name, sizeof cfg.name, "main");
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    cfg.port = 1;                   //  never connected: the link is not started
    cfg.framing = CSTA_FRAMING_LEN16;
    cfg.connect_timeout_ms = 1000;
    cfg.backoff_initial_ms = 100;
    cfg.backoff_max_ms = 1000;
    cfg.silence_timeout_ms = 10000;
    cfg.request_timeout_ms = 4321;
    cfg.window = 4;
    cfg.queue_max = 16;
    cfg.monitor_retry_ms = 30000;
    node_pbx_listener_t l = {.ctx = f,
                             .on_event = s_on_event,
                             .on_state = s_on_state,
                             .on_watch_monitored = s_on_monitored,
                             .on_watch_unmonitored = s_on_unmonitored,
                             .on_watch_stale = s_on_stale,
                             .on_broadcast = s_on_broadcast};
    cfg.validate_calls_ms = f->validate_calls_ms;
    f->pbx = node_pbx_new(f->loop, &cfg, &l);
    assert_non_null(f->pbx);
    node_pbx_remote_t r = {f, s_request, s_watch, s_relay};
    node_pbx_set_remote(f->pbx, &r);
    return 0;
}

static int setup(void **state)
{
    return s_setup(state, 0);
}

static int setup_validate(void **state)
{
    return s_setup(state, 40);
}

static int teardown(void **state)
{
    fx_t *f = *state;
    node_pbx_destroy(&f->pbx);
    zloop_destroy(&f->loop);
    free(f);
    s_fx = NULL;
    return 0;
}

static node_pbx_watch_t *s_watch_dev(fx_t *f, const char *dev, intptr_t tag)
{
    csta_device_t d;
    memset(&d, 0, sizeof d);
    csta_device_set(&d, dev);
    node_pbx_watch_t *w = node_pbx_watch(f->pbx, &d, s_done, (void *) tag);
    assert_non_null(w);
    return w;
}

static size_t s_encode(csta_apdu_t *a, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(a, buf, cap, &n), 0);
    return n;
}

static size_t s_delivered(uint8_t *buf, size_t cap, const char *at)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_EVENT_REPORT;
    a.invoke_id = 5;
    a.event.xref.len = 2;
    a.event.xref.bytes[1] = 7;      //  the owner's cross-reference
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    uint8_t id[2] = {0, 9};
    csta_conn_set(&d->connection, id, 2, at);
    csta_device_set(&d->alerting, at);
    csta_device_set(&d->calling, "199");
    csta_device_set(&d->called, at);
    d->last_redirection.kind = CSTA_DEV_NOT_KNOWN;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    return s_encode(&a, buf, cap);
}

static size_t s_invoke(uint8_t *buf, size_t cap, int opcode)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = opcode;
    a.invoke_id = 3;
    if (opcode == CSTA_OP_SNAPSHOT_DEVICE)
        csta_device_set(&a.svc.snapshot_device.snapshot_object, "101");
    if (opcode == CSTA_OP_MONITOR_START)
        csta_device_set(&a.svc.monitor_start.device, "101");
    if (opcode == CSTA_OP_START_CDR)
        a.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    return s_encode(&a, buf, cap);
}

//  --- Tests ----------------------------------------------------------------------------------

static void watches_register_once_per_device_and_done_follows_the_owner(void **state)
{
    fx_t *f = *state;
    assert_true(node_pbx_is_remote(f->pbx));
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_DOWN);
    //  No owner: the watch is answered -ENOTCONN (from the loop) and registered all the same.
    node_pbx_watch_t *w0 = s_watch_dev(f, "101", 0);
    assert_int_equal(f->done[0], 0);
    s_turn(f);
    assert_int_equal(f->done[0], 1);
    assert_int_equal(f->done_status[0], -ENOTCONN);
    assert_int_equal(f->watch_on, 1);
    assert_string_equal(f->last_watch, "d:101");

    node_pbx_remote_state(f->pbx, true, "a");
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_UP);
    assert_int_equal(f->state_count, 1);
    assert_int_equal(f->states[0], NODE_PBX_UP);
    assert_string_equal(node_pbx_remote_owner(f->pbx), "a");
    //  A second watch of the device: no second registration; it waits for the answer.
    node_pbx_watch_t *w1 = s_watch_dev(f, "101", 1);
    s_turn(f);
    assert_int_equal(f->watch_on, 1);
    assert_int_equal(f->done[1], 0);
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    assert_int_equal(f->done[1], 1);
    assert_int_equal(f->done_status[1], 0);
    assert_int_equal(f->done[0], 1);        //  done once only
    //  Monitored through the owner: a third watch is answered at once.
    node_pbx_watch_t *w2 = s_watch_dev(f, "101", 2);
    s_turn(f);
    assert_int_equal(f->done_status[2], 0);

    //  Events go to every watch that had its done, with their keys.
    uint8_t ev[256];
    size_t n = s_delivered(ev, sizeof ev, "101");
    node_pbx_remote_event(f->pbx, "d:101", ev, n);
    assert_int_equal(f->events[0], 1);
    assert_int_equal(f->events[1], 1);
    assert_int_equal(f->events[2], 1);
    assert_int_equal(f->last_event_type, CSTA_EV_DELIVERED);
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 1);          //  followed from the owner's events
    node_pbx_remote_event(f->pbx, "d:199", ev, n);          //  a device nobody watches
    node_pbx_remote_event(f->pbx, "d:101", ev, 3);          //  bytes that do not peek
    assert_int_equal(f->events[0], 1);

    //  The last watch of the device unregisters it.
    node_pbx_unwatch(f->pbx, &w0);
    node_pbx_unwatch(f->pbx, &w1);
    assert_int_equal(f->watch_off, 0);
    node_pbx_unwatch(f->pbx, &w2);
    assert_int_equal(f->watch_off, 1);
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.devices, 0);
}

//  A watch waiting for the owner's answer when the owner goes: -ENOTCONN, never silence.
//  A refused watch is asked again by the next watch of the device.
static void owner_loss_answers_waiting_watches_and_a_refusal_is_asked_again(void **state)
{
    fx_t *f = *state;
    node_pbx_remote_state(f->pbx, true, "a");
    s_watch_dev(f, "101", 0);
    s_turn(f);
    assert_int_equal(f->done[0], 0);
    node_pbx_remote_state(f->pbx, false, "");
    assert_int_equal(f->done[0], 1);
    assert_int_equal(f->done_status[0], -ENOTCONN);
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_DOWN);
    assert_int_equal(f->states[f->state_count - 1], NODE_PBX_DOWN);

    node_pbx_remote_state(f->pbx, true, "b");
    s_watch_dev(f, "102", 1);
    uint8_t err[64];
    csta_apdu_t e;
    csta_apdu_init(&e, CSTA_APDU_ERROR);
    e.invoke_id = 1;
    e.error.has_parameter = true;
    e.error.category = CSTA_ERR_OPERATION;
    e.error.value = CSTA_OPERR_INVALID_DEVICE_ID;
    size_t n = s_encode(&e, err, sizeof err);
    node_pbx_remote_watch_result(f->pbx, "d:102", -EREMOTEIO, err, n);
    assert_int_equal(f->done_status[1], -EREMOTEIO);
    int before = f->watch_on;
    s_watch_dev(f, "102", 2);
    assert_int_equal(f->watch_on, before + 1);              //  asked again
    node_pbx_remote_watch_result(f->pbx, "d:102", 0, NULL, 0);
    assert_int_equal(f->done_status[2], 0);
}

static void requests_are_forwarded_with_their_deadline_and_replied_once(void **state)
{
    fx_t *f = *state;
    node_pbx_remote_state(f->pbx, true, "a");
    uint8_t buf[128];
    size_t n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE);
    assert_int_equal(node_pbx_request(f->pbx, buf, n, 0, s_reply, s_followup, f), 0);
    assert_int_equal(f->requests, 1);
    assert_int_equal(f->timeout_ms, 4321);      //  the configured request_timeout_ms
    static const uint8_t result[] = {0xa2, 0x03, 0x02, 0x01, 0x03};
    f->reply(f->req_arg, 0, result, sizeof result);
    assert_int_equal(f->replies, 1);
    assert_int_equal(f->reply_status, 0);
    //  A segment after the answer reaches the requester's followup with its keys.
    uint8_t seg[256];
    size_t sn = s_delivered(seg, sizeof seg, "101");       //  any invoke will do
    f->followup(f->req_arg, seg, sn);
    assert_int_equal(f->followups, 1);
    f->end(f->req_arg);                         //  frees the backing's record (ASan)
    //  The seam refuses: the caller hears it, nothing else is called.
    f->request_rc = -EMSGSIZE;
    n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE);
    assert_int_equal(node_pbx_request(f->pbx, buf, n, 100, s_reply, NULL, f), -EMSGSIZE);
    assert_int_equal(f->replies, 1);
    //  Monitors are shared (node_pbx_watch).
    f->request_rc = 0;
    n = s_invoke(buf, sizeof buf, CSTA_OP_MONITOR_START);
    assert_int_equal(node_pbx_request(f->pbx, buf, n, 0, s_reply, NULL, f), -EINVAL);
    assert_int_equal(f->requests, 1);
}

//  CDR through the owner (issue 6): the claim is this node's, StartCDR is forwarded (its
//  reports are not the request's followups), its result makes the receiver of the reports
//  the owner forwards; a new owner is sent the same StartCDR; StopCDR's result ends it.
static void cdr_goes_through_the_owner_and_is_asked_again_of_a_new_one(void **state)
{
    fx_t *f = *state;
    node_pbx_remote_state(f->pbx, true, "a");
    assert_int_equal(node_pbx_cdr_claim(f->pbx, f), 0);
    assert_int_equal(node_pbx_cdr_claim(f->pbx, &f->requests), -EBUSY);    //  one per node
    uint8_t start[128], rep[256];
    size_t sn = s_invoke(start, sizeof start, CSTA_OP_START_CDR);
    assert_int_equal(node_pbx_request(f->pbx, start, sn, 0, s_reply, s_followup, f), 0);
    assert_int_equal(f->requests, 1);
    assert_null(f->followup);               //  reports come as node_pbx_remote_cdr
    size_t rn = s_invoke(rep, sizeof rep, CSTA_OP_CDR_REPORT);
    node_pbx_remote_cdr(f->pbx, rep, rn);   //  before the result: nobody to give it to
    assert_int_equal(f->followups, 0);
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_RESULT);
    a.invoke_id = 3;
    a.opcode = CSTA_OP_START_CDR;
    a.has_result = true;
    static const uint8_t xref[] = {0, 7};
    a.svc.start_call_detail_records_transmission_res.cdr_xref = (csta_bytes_t){xref, 2};
    uint8_t res[128];
    size_t n = s_encode(&a, res, sizeof res);
    f->reply(f->req_arg, 0, res, n);
    f->end(f->req_arg);
    assert_int_equal(f->replies, 1);
    node_pbx_remote_cdr(f->pbx, rep, rn);
    assert_int_equal(f->followups, 1);
    uint8_t ev[256];
    size_t en = s_delivered(ev, sizeof ev, "101");
    node_pbx_remote_cdr(f->pbx, ev, en);    //  not a CDR report
    assert_int_equal(f->followups, 1);

    //  The same owner again asks nothing; a new one gets the same StartCDR.
    node_pbx_remote_state(f->pbx, false, "a");
    node_pbx_remote_state(f->pbx, true, "a");
    assert_int_equal(f->requests, 1);
    node_pbx_remote_state(f->pbx, true, "b");
    assert_int_equal(f->requests, 2);
    assert_null(f->followup);
    f->reply(f->req_arg, 0, res, n);        //  its answer is logged, nobody is replied
    assert_int_equal(f->replies, 1);
    node_pbx_remote_cdr(f->pbx, rep, rn);
    assert_int_equal(f->followups, 2);

    //  StopCDR's result: the reports stop reaching the receiver.
    uint8_t stop[128];
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 4;
    a.opcode = CSTA_OP_STOP_CDR;
    a.svc.stop_call_detail_records_transmission.cdr_xref = (csta_bytes_t){xref, 2};
    size_t tn = s_encode(&a, stop, sizeof stop);
    assert_int_equal(node_pbx_request(f->pbx, stop, tn, 0, s_reply, NULL, f), 0);
    assert_int_equal(f->requests, 3);
    static const uint8_t no_data[] = {0xa2, 0x03, 0x02, 0x01, 0x04};
    f->reply(f->req_arg, 0, no_data, sizeof no_data);
    f->end(f->req_arg);
    node_pbx_remote_cdr(f->pbx, rep, rn);
    assert_int_equal(f->followups, 2);
    node_pbx_cdr_release(f->pbx, f);
    node_pbx_remote_state(f->pbx, true, "c");
    assert_int_equal(f->requests, 3);       //  nothing to restart
}

//  This node takes the link: the owner is forgotten, the service goes DOWN until its own
//  link is up, the watch stays.  It gives the link up again: the watch is registered with
//  the owner once more and the service is UP through it at once.
static void switching_backings_keeps_the_watches(void **state)
{
    fx_t *f = *state;
    node_pbx_remote_state(f->pbx, true, "a");
    node_pbx_watch_t *w = s_watch_dev(f, "101", 0);
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    assert_int_equal(f->done_status[0], 0);
    assert_int_equal(f->watch_on, 1);

    assert_int_equal(node_pbx_start(f->pbx), 0);
    assert_false(node_pbx_is_remote(f->pbx));
    assert_int_equal(f->watch_off, 1);
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_DOWN);
    assert_int_equal(f->states[f->state_count - 1], NODE_PBX_DOWN);
    //  The owner's word no longer counts.
    node_pbx_remote_state(f->pbx, true, "b");
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_DOWN);
    uint8_t ev[256];
    size_t n = s_delivered(ev, sizeof ev, "101");
    node_pbx_remote_event(f->pbx, "d:101", ev, n);
    assert_int_equal(f->events[0], 0);

    assert_int_equal(node_pbx_stop(f->pbx), 0);
    assert_true(node_pbx_is_remote(f->pbx));
    assert_int_equal(f->watch_on, 2);
    assert_string_equal(f->last_watch, "d:101");
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_UP);  //  b is reachable
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    node_pbx_remote_event(f->pbx, "d:101", ev, n);
    assert_int_equal(f->events[0], 1);
    node_pbx_unwatch(f->pbx, &w);
    assert_int_equal(f->watch_off, 2);
}

static void s_drained(void *arg, int outstanding)
{
    fx_t *f = arg;
    f->drained++;
    f->drained_outstanding = outstanding;
}

//  A handover's drain: paused, the service keeps the front ends' requests (no reply, the
//  backing hears nothing) and says drained from the loop; after the switch to the remote
//  backing, resume sends them, in order, from the loop; one the backing refuses gets its
//  error as its reply; a request still kept when the service goes gets -ENOTCONN.
static void pause_keeps_requests_and_resume_sends_them_through_the_new_backing(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_pbx_start(f->pbx), 0);    //  this node holds the link
    assert_int_equal(node_pbx_pause(f->pbx, 1000, s_drained, f), 0);
    assert_int_equal(node_pbx_pause(f->pbx, 1000, s_drained, f), -EALREADY);
    assert_int_equal(f->drained, 0);                //  never from inside the call
    uint8_t buf[128];
    size_t n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE);
    for (int k = 0; k < 3; k++)
        assert_int_equal(node_pbx_request(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    assert_int_equal(node_pbx_queued(f->pbx), 3);
    s_turn(f);
    assert_int_equal(f->drained, 1);
    assert_int_equal(f->drained_outstanding, 0);
    assert_int_equal(f->replies, 0);
    assert_int_equal(f->requests, 0);

    //  The link is handed over: the owner is b; what waited goes to it.
    assert_int_equal(node_pbx_stop(f->pbx), 0);
    node_pbx_remote_state(f->pbx, true, "b");
    node_pbx_resume(f->pbx);
    assert_int_equal(f->requests, 0);               //  from the loop, not from resume
    s_turn(f);
    assert_int_equal(f->requests, 3);
    assert_int_equal(node_pbx_queued(f->pbx), 0);
    for (int k = 0; k < 3; k++) {                   //  answered: one reply each
        f->reply(f->req_args[k], k == 2 ? -ENOTCONN : 0, NULL, 0);
        f->end(f->req_args[k]);
    }
    assert_int_equal(f->replies, 3);

    //  Refused by the backing at resume: the error is its reply.
    assert_int_equal(node_pbx_pause(f->pbx, 1000, s_drained, f), 0);
    assert_int_equal(node_pbx_request(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    f->request_rc = -ENOBUFS;
    node_pbx_resume(f->pbx);
    s_turn(f);
    assert_int_equal(f->replies, 4);
    assert_int_equal(f->reply_status, -ENOBUFS);

    //  Kept at destroy: -ENOTCONN.
    assert_int_equal(node_pbx_pause(f->pbx, 1000, s_drained, f), 0);
    assert_int_equal(node_pbx_request(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    node_pbx_destroy(&f->pbx);
    assert_int_equal(f->replies, 5);
    assert_int_equal(f->reply_status, -ENOTCONN);
}

//  A peer's request (node_pbx_relay) waits in order with the front ends' while paused and,
//  once the remote backing serves, leaves through relay (marked relayed on the bus); a
//  front end's request through request.  On the local link both are plain requests.
static void relayed_requests_wait_in_order_and_leave_through_relay(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_pbx_start(f->pbx), 0);    //  this node holds the link
    assert_int_equal(node_pbx_pause(f->pbx, 1000, s_drained, f), 0);
    uint8_t buf[128];
    size_t n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE);
    assert_int_equal(node_pbx_relay(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    assert_int_equal(node_pbx_request(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    assert_int_equal(node_pbx_relay(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    assert_int_equal(node_pbx_queued(f->pbx), 3);
    s_turn(f);
    assert_int_equal(f->requests, 0);
    assert_int_equal(node_pbx_stop(f->pbx), 0);
    node_pbx_remote_state(f->pbx, true, "b");
    node_pbx_resume(f->pbx);
    s_turn(f);
    assert_int_equal(f->requests, 3);
    assert_int_equal(f->relays, 2);                 //  the first and the third
    for (int k = 0; k < 3; k++) {
        f->reply(f->req_args[k], 0, NULL, 0);
        f->end(f->req_args[k]);
    }
    assert_int_equal(f->replies, 3);
    //  Not paused, remote: straight through relay, and the reply comes back once.
    assert_int_equal(node_pbx_relay(f->pbx, buf, n, 0, s_reply, NULL, f), 0);
    assert_int_equal(f->relays, 3);
    assert_int_equal(f->timeout_ms, 4321);          //  the configured deadline
    f->reply(f->req_arg, -ENOTCONN, NULL, 0);
    f->end(f->req_arg);
    assert_int_equal(f->replies, 4);
    assert_int_equal(f->reply_status, -ENOTCONN);
    //  Not an invoke: refused in the call, as node_pbx_request.
    assert_int_equal(node_pbx_relay(f->pbx, buf, 2, 0, s_reply, NULL, f), -EINVAL);
}

//  Answer the seam's request k with a SnapshotDevice result holding `calls` calls.
static void s_answer_snapshot(fx_t *f, int k, int calls)
{
    csta_snapshot_device_item_t items[4];
    memset(items, 0, sizeof items);
    for (int i = 0; i < calls && i < 4; i++) {
        uint8_t id[2] = {1, (uint8_t) (i + 1)};
        csta_conn_set(&items[i].connection_identifier, id, 2, f->req_dev[k]);
    }
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_RESULT);
    a.invoke_id = 9;
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    a.has_result = true;
    a.svc.snapshot_device_res.snapshot_data.count = (size_t) calls;
    a.svc.snapshot_device_res.snapshot_data.item = items;
    uint8_t buf[512];
    size_t n = s_encode(&a, buf, sizeof buf);
    f->reply(f->req_args[k], 0, buf, n);
    f->end(f->req_args[k]);
}

//  Issue 6: "a gap triggers a new snapshot".  Events lost on the bus: each device the owner
//  monitors for this node is snapshotted through it (at most `window` at a time), node_pbx's
//  calls follow the answers, and each device's watches hear on_watch_stale after its answer;
//  a device the owner does not monitor is left to its on_watch_monitored.
static void lost_events_snapshot_each_monitored_device_then_its_watches_hear_it(void **state)
{
    fx_t *f = *state;
    node_pbx_remote_state(f->pbx, true, "a");
    static const char *const devs[] = {"101", "102", "103", "104", "105", "106"};
    node_pbx_watch_t *extra = s_watch_dev(f, "101", 6);     //  a second watch of 101
    for (int i = 0; i < 6; i++)
        s_watch_dev(f, devs[i], i);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "d:%s", devs[i]);
        node_pbx_remote_watch_result(f->pbx, key, 0, NULL, 0);
    }
    node_pbx_remote_watch_result(f->pbx, "d:106", -EREMOTEIO, NULL, 0);     //  refused
    s_turn(f);
    assert_int_equal(f->requests, 0);
    //  101 had a call the lost events would have ended.
    uint8_t ev[256];
    size_t n = s_delivered(ev, sizeof ev, "101");
    node_pbx_remote_event(f->pbx, "d:101", ev, n);
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 1);

    node_pbx_remote_events_lost(f->pbx, 3);
    assert_int_equal(f->requests, 4);           //  window 4: five devices, four at once
    assert_int_equal(f->timeout_ms, 4321);
    assert_string_equal(f->req_dev[0], "101");
    assert_int_equal(f->stale[0], 0);           //  not before the owner's answer
    s_answer_snapshot(f, 0, 0);                 //  101: no call any more
    assert_int_equal(f->stale[0], 1);
    assert_int_equal(f->stale[6], 1);
    assert_int_equal(f->requests, 5);           //  the fifth device got the free slot
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 0);
    assert_int_equal(st.calls_vanished, 1);
    for (int k = 1; k < 5; k++)
        s_answer_snapshot(f, k, 1);
    for (int i = 1; i < 5; i++)
        assert_int_equal(f->stale[i], 1);
    assert_int_equal(f->stale[5], 0);           //  106: the owner does not monitor it
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 4);
    assert_int_equal(f->requests, 5);
    //  A failed snapshot still lets the watches refresh themselves.
    node_pbx_remote_events_lost(f->pbx, 1);
    assert_int_equal(f->requests, 9);
    f->reply(f->req_args[5], -ENOTCONN, NULL, 0);
    f->end(f->req_args[5]);
    assert_int_equal(f->stale[0], 2);
    assert_int_equal(f->requests, 10);
    for (int k = 6; k < 10; k++)
        s_answer_snapshot(f, k, 1);
    assert_int_equal(f->requests, 10);
    for (int i = 1; i < 5; i++)
        assert_int_equal(f->stale[i], 2);
    node_pbx_unwatch(f->pbx, &extra);
}

//  The owner's link drops and comes back without an owner change: the owner says LINK_DOWN
//  for the device, then OK once its re-monitor succeeded.  The front end hears unmonitored,
//  and monitored only after both the service is UP and the owner's OK — not at UP.
static void a_line_follows_the_owners_answers_across_its_link_loss(void **state)
{
    fx_t *f = *state;
    node_pbx_remote_state(f->pbx, true, "a");
    s_watch_dev(f, "101", 0);
    s_watch_dev(f, "102", 1);
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    node_pbx_remote_watch_result(f->pbx, "d:102", 0, NULL, 0);
    s_turn(f);
    assert_int_equal(f->done_status[0], 0);
    f->trace[0] = '\0';
    //  The owner's heartbeat: its link is down; its WatchResults follow.
    node_pbx_remote_state(f->pbx, false, "a");
    node_pbx_remote_watch_result(f->pbx, "d:101", -ENOTCONN, NULL, 0);
    node_pbx_remote_watch_result(f->pbx, "d:102", -ENOTCONN, NULL, 0);
    assert_string_equal(f->trace, "Du0u1");
    assert_int_equal(f->done[0], 1);            //  done once only
    //  Its link is up again: UP, but nothing is monitored until the owner says so.
    node_pbx_remote_state(f->pbx, true, "a");
    assert_string_equal(f->trace, "Du0u1U");
    node_pbx_remote_watch_result(f->pbx, "d:102", 0, NULL, 0);
    assert_string_equal(f->trace, "Du0u1Um1");
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    assert_string_equal(f->trace, "Du0u1Um1m0");
    //  A DOWN / UP the owner's answers did not follow (its link state only): the devices it
    //  said it monitors are monitored again right after UP.
    f->trace[0] = '\0';
    node_pbx_remote_state(f->pbx, false, "a");
    node_pbx_remote_state(f->pbx, true, "a");
    assert_string_equal(f->trace, "DUm0m1");
    //  An OK while DOWN: monitored is told at once, UP follows.
    f->trace[0] = '\0';
    node_pbx_remote_state(f->pbx, false, "a");
    node_pbx_remote_watch_result(f->pbx, "d:101", -ENOTCONN, NULL, 0);
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    assert_string_equal(f->trace, "Du0m0");
    assert_int_equal(f->done[0], 1);
}

//  The owner's PBX broadcasts reach the front ends as a local link's; call validation
//  (validate_calls_ms) snapshots the devices the owner monitors through it, and reconciles
//  node_pbx's calls without bothering the front ends.
static void broadcasts_pass_and_validation_snapshots_through_the_owner(void **state)
{
    fx_t *f = *state;
    uint8_t buf[128];
    size_t n = s_invoke(buf, sizeof buf, CSTA_OP_SYSTEM_STATUS);
    node_pbx_remote_broadcast(f->pbx, buf, n);
    assert_int_equal(f->broadcasts, 1);
    assert_int_equal(f->last_broadcast_op, CSTA_OP_SYSTEM_STATUS);
    node_pbx_remote_broadcast(f->pbx, buf, 2);          //  bytes that do not peek
    assert_int_equal(f->broadcasts, 1);

    s_turn(f);
    assert_int_equal(f->requests, 0);                   //  DOWN: nothing validated
    node_pbx_remote_state(f->pbx, true, "a");
    s_watch_dev(f, "101", 0);
    s_watch_dev(f, "102", 1);
    node_pbx_remote_watch_result(f->pbx, "d:101", 0, NULL, 0);
    uint8_t ev[256];
    size_t en = s_delivered(ev, sizeof ev, "101");
    node_pbx_remote_event(f->pbx, "d:101", ev, en);
    for (int i = 0; i < 40 && f->requests == 0; i++)
        s_turn(f);                                      //  the 40 ms period, within 200 ms
    assert_int_equal(f->requests, 1);
    assert_string_equal(f->req_dev[0], "101");          //  102: not monitored by the owner
    s_answer_snapshot(f, 0, 0);
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 0);
    assert_int_equal(st.calls_vanished, 1);
    assert_int_equal(f->stale[0], 0);                   //  the front ends are not told
    for (int i = 0; i < 40 && f->requests == 1; i++)
        s_turn(f);                                      //  the next round
    assert_int_equal(f->requests, 2);
    assert_string_equal(f->req_dev[1], "101");
    s_answer_snapshot(f, 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(watches_register_once_per_device_and_done_follows_the_owner,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            owner_loss_answers_waiting_watches_and_a_refusal_is_asked_again, setup, teardown),
        cmocka_unit_test_setup_teardown(requests_are_forwarded_with_their_deadline_and_replied_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            cdr_goes_through_the_owner_and_is_asked_again_of_a_new_one, setup, teardown),
        cmocka_unit_test_setup_teardown(switching_backings_keeps_the_watches, setup, teardown),
        cmocka_unit_test_setup_teardown(broadcasts_pass_and_validation_snapshots_through_the_owner,
                                        setup_validate, teardown),
        cmocka_unit_test_setup_teardown(
            lost_events_snapshot_each_monitored_device_then_its_watches_hear_it, setup, teardown),
        cmocka_unit_test_setup_teardown(a_line_follows_the_owners_answers_across_its_link_loss,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            pause_keeps_requests_and_resume_sends_them_through_the_new_backing, setup, teardown),
        cmocka_unit_test_setup_teardown(relayed_requests_wait_in_order_and_leave_through_relay,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
