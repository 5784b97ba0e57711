//  node_pbx and node_pbx_link against a real pbxsim: a zloop runs in the test process,
//  pbxsim is driven through its control socket, and every wait is on a condition with a
//  deadline (WAIT_MS, generous for a loaded machine), never a fixed sleep.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_log.h"
#include "node_pbx.h"
#include "node_pbx_link.h"
#include "test_pbxsim.h"

#define WAIT_MS 30000
#define WATCHES_MAX 4
#define REQUESTS_MAX 128
#define EVENTS_MAX 256

typedef struct {
    int done_calls;
    int done_status;
    size_t done_error_len;
    int monitored;              //  on_watch_monitored calls (re-monitored after done)
    int events;
    int types[EVENTS_MAX];
} s_watch_rec_t;

typedef struct {
    int calls;
    int status;
    csta_apdu_kind_t kind;
    long invoke_id;
    int followups;
    int followups_before_reply;
    long devices;               //  SwitchingFunctionDevices: devices in all segments
    bool last_segment;
    long cdr_records;
    long snap_calls;            //  SnapshotDevice result: calls in it, -1 a cross-reference
    long long reply_ms;         //  when the reply came (test_now_ms)
} s_req_rec_t;

typedef struct {
    test_pbxsim_t sim;
    bool sim_running;
    zloop_t *loop;
    node_pbx_cfg_t cfg;
    node_pbx_t *pbx;            //  node_pbx tests
    node_pbx_link_t *link;      //  link tests
    struct s_fake *fake;        //  tests with the scripted PBX
    int ups, downs;
    int broadcasts;
    int status_invokes;
    int max_outstanding;
    s_watch_rec_t watch[WATCHES_MAX];
    s_req_rec_t req[REQUESTS_MAX];
    char json[1 << 16];
} fx_t;

static void s_fake_destroy(struct s_fake **k_p);

//  Fixture arguments for tests that talk to the scripted PBX only.
static const char *const S_NO_PBXSIM[] = {NULL};

//  --- Fixture ------------------------------------------------------------------------------------

static fx_t *s_fixture(void **state, const char *const *pbxsim_args)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    f->loop = zloop_new();
    assert_non_null(f->loop);
    if (pbxsim_args != S_NO_PBXSIM) {
        assert_int_equal(test_pbxsim_start(&f->sim, pbxsim_args), 0);
        f->sim_running = true;
    }
    node_pbx_cfg_t *c = &f->cfg;
    strcpy(c->name, "main");
    strcpy(c->host, "127.0.0.1");
    c->port = f->sim.port;
    strcpy(c->flavour, "panasonic");
    c->framing = CSTA_FRAMING_LEN16;
    c->connect_timeout_ms = 3000;
    c->backoff_initial_ms = 100;
    c->backoff_max_ms = 400;
    c->silence_timeout_ms = 10000;      //  pbxsim runs with --status-interval-ms 1000 or less
    c->request_timeout_ms = 10000;
    c->window = 32;
    c->queue_max = 4096;
    c->monitor_retry_ms = 30000;
    c->validate_calls_ms = 0;
    return f;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    if (!f)
        return 0;
    //  Callbacks still due write into f: destroy before freeing it.
    node_pbx_destroy(&f->pbx);
    node_pbx_link_destroy(&f->link);
    s_fake_destroy(&f->fake);
    if (f->sim_running)
        test_pbxsim_stop(&f->sim);
    zloop_destroy(&f->loop);
    free(f);
    *state = NULL;
    return 0;
}

//  --- Waiting on the loop ------------------------------------------------------------------------

typedef bool(s_cond_fn)(fx_t *f, const void *arg);

typedef struct {
    fx_t *f;
    s_cond_fn *cond;
    const void *arg;
    int64_t deadline;
    bool met;
} s_wait_t;

static int s_on_check(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_wait_t *w = arg;
    if (w->cond(w->f, w->arg)) {
        w->met = true;
        return -1;
    }
    return zclock_mono() >= w->deadline ? -1 : 0;
}

//  Run the loop until cond holds (true) or timeout_ms pass (false).
static bool s_wait(fx_t *f, s_cond_fn *cond, const void *arg, int timeout_ms)
{
    if (cond(f, arg))
        return true;
    s_wait_t w = {f, cond, arg, zclock_mono() + timeout_ms, false};
    int id = zloop_timer(f->loop, 10, 0, s_on_check, &w);
    zloop_start(f->loop);
    zloop_timer_end(f->loop, id);
    return w.met;
}

typedef struct {
    const int *value;
    int min;
} s_int_ge_t;

static bool s_cond_int_ge(fx_t *f, const void *arg)
{
    (void) f;
    const s_int_ge_t *c = arg;
    return *c->value >= c->min;
}

static bool s_wait_int(fx_t *f, const int *value, int min)
{
    s_int_ge_t c = {value, min};
    return s_wait(f, s_cond_int_ge, &c, WAIT_MS);
}

//  pbxsim's answer to a control command, value of key in it.
static long s_ctl_long(fx_t *f, const char *key, const char *cmd)
{
    if (test_pbxsim_ctl(&f->sim, f->json, sizeof f->json, "%s", cmd) != 0)
        fail_msg("pbxsim ctl '%s' failed: %s", cmd, f->json);
    long v = test_json_long(f->json, key, -1);
    if (v < 0)
        fail_msg("pbxsim ctl '%s': no \"%s\" in %s", cmd, key, f->json);
    return v;
}

static void s_ctl(fx_t *f, const char *cmd)
{
    if (test_pbxsim_ctl(&f->sim, f->json, sizeof f->json, "%s", cmd) != 0)
        fail_msg("pbxsim ctl '%s' failed: %s", cmd, f->json);
}

typedef struct {
    const char *cmd;
    const char *key;
    long min, max;              //  wanted range
} s_ctl_range_t;

static bool s_cond_ctl(fx_t *f, const void *arg)
{
    const s_ctl_range_t *c = arg;
    long v = s_ctl_long(f, c->key, c->cmd);
    return v >= c->min && v <= c->max;
}

//  Wait until pbxsim's `cmd` answers with key in [min, max].
static bool s_wait_ctl(fx_t *f, const char *cmd, const char *key, long min, long max)
{
    s_ctl_range_t c = {cmd, key, min, max};
    return s_wait(f, s_cond_ctl, &c, WAIT_MS);
}

//  --- Encoding requests --------------------------------------------------------------------------

static size_t s_invoke(uint8_t *buf, size_t cap, int opcode, const char *device)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 4242;     //  the application's id: node_pbx_link replaces it
    a.opcode = opcode;
    if (opcode == CSTA_OP_SNAPSHOT_DEVICE)
        csta_device_set(&a.svc.snapshot_device.snapshot_object, device);
    else if (opcode == CSTA_OP_START_CDR)
        a.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    else if (opcode == CSTA_OP_MONITOR_START)
        csta_device_set(&a.svc.monitor_start.device, device);
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, buf, cap, &n), 0);
    return n;
}

//  --- Link callbacks -----------------------------------------------------------------------------

static void s_link_up(void *ctx)
{
    ((fx_t *) ctx)->ups++;
}

static void s_link_down(void *ctx, const char *reason)
{
    (void) reason;
    ((fx_t *) ctx)->downs++;
}

static void s_link_invoke(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) apdu;
    (void) len;
    fx_t *f = ctx;
    if (keys->opcode == CSTA_OP_SYSTEM_STATUS)
        f->status_invokes++;
}

typedef struct {
    fx_t *f;
    s_req_rec_t *rec;
} s_link_req_t;

static s_link_req_t s_link_reqs[REQUESTS_MAX];

static void s_link_reply(void *arg, int status, const uint8_t *apdu, size_t len,
                         const csta_peek_t *keys)
{
    s_link_req_t *lr = arg;
    s_req_rec_t *r = lr->rec;
    r->calls++;
    r->status = status;
    if (status == 0) {
        assert_non_null(apdu);
        assert_true(len > 0);
        r->kind = keys->kind;
        r->invoke_id = keys->invoke_id;
    }
    node_pbx_link_stats_t st;
    node_pbx_link_stats(lr->f->link, &st);
    if (st.outstanding > lr->f->max_outstanding)
        lr->f->max_outstanding = st.outstanding;
}

static void s_link_start(fx_t *f)
{
    node_pbx_link_listener_t l = {
        .ctx = f, .on_up = s_link_up, .on_down = s_link_down, .on_invoke = s_link_invoke};
    f->link = node_pbx_link_new(f->loop, &f->cfg, &l);
    assert_non_null(f->link);
    assert_int_equal(node_pbx_link_start(f->link), 0);
}

static int s_link_request(fx_t *f, int i, int opcode, int timeout_ms)
{
    uint8_t buf[256];
    size_t n = s_invoke(buf, sizeof buf, opcode, "101");
    s_link_reqs[i] = (s_link_req_t){f, &f->req[i]};
    return node_pbx_link_request(f->link, buf, n, timeout_ms, s_link_reply, &s_link_reqs[i]);
}

//  --- node_pbx callbacks -------------------------------------------------------------------------

static void s_on_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg, const uint8_t *apdu,
                       size_t len, const csta_peek_t *keys)
{
    (void) ctx;
    (void) watch;
    (void) apdu;
    (void) len;
    s_watch_rec_t *w = watch_arg;
    if (w->events < EVENTS_MAX)
        w->types[w->events] = keys->event;
    w->events++;
}

static void s_on_state(void *ctx, node_pbx_state_t state)
{
    fx_t *f = ctx;
    if (state == NODE_PBX_UP)
        f->ups++;
    else
        f->downs++;
}

static void s_on_broadcast(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    (void) apdu;
    (void) len;
    (void) keys;
    ((fx_t *) ctx)->broadcasts++;
}

static void s_on_done(void *watch_arg, int status, const uint8_t *error_apdu, size_t len)
{
    s_watch_rec_t *w = watch_arg;
    w->done_calls++;
    w->done_status = status;
    w->done_error_len = error_apdu ? len : 0;
}

static void s_on_watch_monitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) ctx;
    (void) watch;
    ((s_watch_rec_t *) watch_arg)->monitored++;
}

static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_req_rec_t *r = arg;
    r->calls++;
    r->status = status;
    csta_peek_t pk;
    if (status == 0 && csta_peek(&pk, apdu, len) == 0) {
        r->kind = pk.kind;
        r->invoke_id = pk.invoke_id;
    }
}

static void s_on_followup(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    s_req_rec_t *r = arg;
    r->followups++;
    if (r->calls == 0)
        r->followups_before_reply++;
    csta_apdu_t a;
    assert_int_equal(csta_apdu_decode(&a, apdu, len), 0);
    if (keys->opcode == CSTA_OP_SWITCHING_FUNCTION_DEVICES) {
        r->devices += (long) a.svc.switching_function_devices.device_list.count;
        r->last_segment = a.svc.switching_function_devices.last_segment;
    } else if (keys->opcode == CSTA_OP_CDR_REPORT) {
        r->cdr_records += a.svc.call_detail_records_report.number_of_records_sent;
    }
    csta_apdu_clear(&a);
}

static void s_pbx_start(fx_t *f)
{
    node_pbx_listener_t l = {.ctx = f,
                             .on_event = s_on_event,
                             .on_state = s_on_state,
                             .on_broadcast = s_on_broadcast,
                             .on_watch_monitored = s_on_watch_monitored};
    f->pbx = node_pbx_new(f->loop, &f->cfg, &l);
    assert_non_null(f->pbx);
    assert_int_equal(node_pbx_start(f->pbx), 0);
    assert_true(s_wait_int(f, &f->ups, 1));
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_UP);
}

static int s_pbx_request(fx_t *f, int i, int opcode, const char *device)
{
    uint8_t buf[256];
    size_t n = s_invoke(buf, sizeof buf, opcode, device);
    return node_pbx_request(f->pbx, buf, n, 0, s_on_reply, s_on_followup, &f->req[i]);
}

static node_pbx_watch_t *s_watch(fx_t *f, int i, const char *number)
{
    csta_device_t d;
    memset(&d, 0, sizeof d);
    csta_device_set(&d, number);
    node_pbx_watch_t *w = node_pbx_watch(f->pbx, &d, s_on_done, &f->watch[i]);
    assert_non_null(w);
    return w;
}

//  Watch number and wait until it is monitored (done 0).
static node_pbx_watch_t *s_watch_monitored(fx_t *f, int i, const char *number)
{
    node_pbx_watch_t *w = s_watch(f, i, number);
    assert_true(s_wait_int(f, &f->watch[i].done_calls, 1));
    assert_int_equal(f->watch[i].done_status, 0);
    return w;
}

//  A request's reply is a barrier: the PBX answers in order, so whatever node_pbx sent
//  before it has been handled by pbxsim when it returns.
static void s_barrier(fx_t *f, int i)
{
    f->req[i] = (s_req_rec_t){0};
    assert_int_equal(s_pbx_request(f, i, CSTA_OP_REQUEST_SYSTEM_STATUS, NULL), 0);
    assert_true(s_wait_int(f, &f->req[i].calls, 1));
    assert_int_equal(f->req[i].status, 0);
}

static bool s_saw(const s_watch_rec_t *w, csta_event_type_t type)
{
    for (int i = 0; i < w->events && i < EVENTS_MAX; i++)
        if (w->types[i] == (int) type)
            return true;
    return false;
}

typedef struct {
    const s_watch_rec_t *w;
    csta_event_type_t type;
} s_saw_t;

static bool s_cond_saw(fx_t *f, const void *arg)
{
    (void) f;
    const s_saw_t *c = arg;
    return s_saw(c->w, c->type);
}

static bool s_wait_event(fx_t *f, const s_watch_rec_t *w, csta_event_type_t type)
{
    s_saw_t c = {w, type};
    return s_wait(f, s_cond_saw, &c, WAIT_MS);
}

//  --- A scripted PBX -----------------------------------------------------------------------------
//
//  For what pbxsim does not do: Phase II SystemStatus (52), ABRT, SnapshotDevice answered
//  by serviceCrossRefID and SnapshotDeviceData segments, events from a test's script.  It
//  runs on the test's zloop, so the link and the fake PBX take turns on one thread.

#define FAKE_CALLS_MAX 4

typedef struct s_fake {
    fx_t *f;
    int listen_fd, fd;
    zmq_pollitem_t litem, item;
    csta_framer_t *framer;
    csta_outq_t *outq;
    int accepts;
    int associated;
    long next_invoke_id;
    int monitor_starts, snapshots;
    int status52_answered, status211_answered;
    int call_count;                         //  calls the next snapshots report
    uint8_t calls[FAKE_CALLS_MAX];          //  call ids (second octet; first is 0)
} s_fake_t;

static void s_fake_send(s_fake_t *k, csta_apdu_t *a)
{
    uint8_t buf[2048];
    size_t n;
    assert_int_equal(csta_apdu_encode(a, buf, sizeof buf, &n), 0);
    assert_int_equal(csta_outq_push(k->outq, buf, n), 0);
    int rc = csta_outq_flush(k->outq, k->fd);
    assert_true(rc == 0 || rc == -EAGAIN);
}

static void s_fake_result(s_fake_t *k, const csta_apdu_t *req, csta_apdu_t *res)
{
    res->kind = CSTA_APDU_RESULT;
    res->has_result = true;
    res->invoke_id = req->invoke_id;
    res->opcode = req->opcode;
    s_fake_send(k, res);
}

//  SnapshotDevice: a serviceCrossRefID, then the calls in two SnapshotDeviceData segments.
static void s_fake_snapshot(s_fake_t *k, const csta_apdu_t *req)
{
    k->snapshots++;
    csta_xref_t xref;
    uint8_t xb[2] = {0x05, (uint8_t) k->snapshots};
    csta_xref_set(&xref, xb, 2);
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.snapshot_device_res.is_xref = true;
    res.svc.snapshot_device_res.service_xref = xref;
    s_fake_result(k, req, &res);
    csta_snapshot_device_item_t items[FAKE_CALLS_MAX];
    memset(items, 0, sizeof items);
    for (int i = 0; i < k->call_count; i++) {
        uint8_t id[2] = {0, k->calls[i]};
        csta_conn_set(&items[i].connection_identifier, id, 2, "101");
        items[i].local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
        items[i].local_call_state.compound_count = 1;
        items[i].local_call_state.compound[0] = CSTA_LCS_CONNECTED;
    }
    int first = k->call_count / 2;
    for (int seg = 0; seg < 2; seg++) {
        csta_apdu_t d;
        csta_apdu_init(&d, CSTA_APDU_INVOKE);
        d.opcode = CSTA_OP_SNAPSHOT_DEVICE_DATA;
        d.invoke_id = k->next_invoke_id++;
        csta_snapshot_device_data_arg_t *sd = &d.svc.snapshot_device_data;
        sd->service_xref = xref;
        sd->has_segment_id = true;
        sd->segment_id = seg + 1;
        sd->last_segment = seg == 1;
        sd->snapshot_data.count = (size_t) (seg == 0 ? first : k->call_count - first);
        sd->snapshot_data.item = seg == 0 ? items : items + first;
        s_fake_send(k, &d);
    }
}

static void s_fake_on_apdu(s_fake_t *k, const uint8_t *bytes, size_t len)
{
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, bytes, len);
    assert_true(rc == 0 || rc == -ENOTSUP);
    if (a.kind == CSTA_APDU_AARQ) {
        csta_apdu_t r;
        csta_apdu_init(&r, CSTA_APDU_AARE);
        r.acse.protocol_version = a.acse.protocol_version;
        memcpy(r.acse.context, a.acse.context, sizeof r.acse.context);
        r.acse.result = CSTA_AARE_ACCEPTED;
        r.acse.diag_source = CSTA_DIAG_SERVICE_USER;
        r.acse.diag = CSTA_DIAG_NO_REASON;
        csta_bits_set(&r.acse.csta_version, CSTA_VERSION_FIVE, 2);
        s_fake_send(k, &r);
        k->associated++;
    } else if (a.kind == CSTA_APDU_RESULT && a.opcode == CSTA_OP_SYSTEM_STATUS_PHASE2) {
        k->status52_answered++;
    } else if (a.kind == CSTA_APDU_RESULT && a.opcode == CSTA_OP_SYSTEM_STATUS) {
        k->status211_answered++;
    } else if (a.kind == CSTA_APDU_INVOKE && a.opcode == CSTA_OP_MONITOR_START) {
        k->monitor_starts++;
        csta_apdu_t res;
        csta_apdu_init(&res, CSTA_APDU_RESULT);
        uint8_t xb[2] = {0, 7};
        csta_xref_set(&res.svc.monitor_start_res.xref, xb, 2);
        s_fake_result(k, &a, &res);
    } else if (a.kind == CSTA_APDU_INVOKE && a.opcode == CSTA_OP_SNAPSHOT_DEVICE) {
        s_fake_snapshot(k, &a);
    } else if (a.kind == CSTA_APDU_INVOKE && a.opcode == CSTA_OP_REQUEST_SYSTEM_STATUS) {
        csta_apdu_t res;
        csta_apdu_init(&res, CSTA_APDU_RESULT);
        res.svc.request_system_status_res.status = CSTA_SYS_NORMAL;
        s_fake_result(k, &a, &res);
    }
    csta_apdu_clear(&a);
}

static void s_fake_close(s_fake_t *k)
{
    if (k->fd < 0)
        return;
    zloop_poller_end(k->f->loop, &k->item);
    close(k->fd);
    k->fd = -1;
    csta_framer_destroy(&k->framer);
    csta_outq_destroy(&k->outq);
}

static int s_fake_on_conn(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    s_fake_t *k = arg;
    ssize_t n = csta_framer_read(k->framer, k->fd);
    if (n == 0 || (n < 0 && n != -EAGAIN)) {
        s_fake_close(k);
        return 0;
    }
    const uint8_t *apdu;
    size_t len;
    while (k->fd >= 0 && csta_framer_next(k->framer, &apdu, &len) == 0)
        s_fake_on_apdu(k, apdu, len);
    return 0;
}

static int s_fake_on_accept(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) item;
    s_fake_t *k = arg;
    int fd = accept4(k->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    s_fake_close(k);    //  one link at a time, the newest wins
    k->fd = fd;
    k->accepts++;
    k->framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    k->outq = csta_outq_new(CSTA_FRAMING_LEN16, 0);
    k->item = (zmq_pollitem_t){.fd = fd, .events = ZMQ_POLLIN};
    zloop_poller(loop, &k->item, s_fake_on_conn, k);
    return 0;
}

//  Listen on 127.0.0.1 (a free port) and point the fixture's config at it.
static s_fake_t *s_fake_start(fx_t *f)
{
    s_fake_t *k = calloc(1, sizeof *k);
    assert_non_null(k);
    k->f = f;
    k->fd = -1;
    k->next_invoke_id = 100;
    k->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(k->listen_fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(k->listen_fd, (struct sockaddr *) &sin, sizeof sin), 0);
    assert_int_equal(listen(k->listen_fd, 8), 0);
    socklen_t slen = sizeof sin;
    assert_int_equal(getsockname(k->listen_fd, (struct sockaddr *) &sin, &slen), 0);
    f->cfg.port = ntohs(sin.sin_port);
    k->litem = (zmq_pollitem_t){.fd = k->listen_fd, .events = ZMQ_POLLIN};
    assert_int_equal(zloop_poller(f->loop, &k->litem, s_fake_on_accept, k), 0);
    return k;
}

static void s_fake_destroy(s_fake_t **k_p)
{
    s_fake_t *k = *k_p;
    if (!k)
        return;
    s_fake_close(k);
    zloop_poller_end(k->f->loop, &k->litem);
    close(k->listen_fd);
    free(k);
    *k_p = NULL;
}

//  --- Link tests ---------------------------------------------------------------------------------

//  pbxsim drops a link that leaves a SystemStatus unanswered until the next one: a link
//  that stays up over many 200 ms intervals answers them all.
static void link_answers_system_status_and_stays_up(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "200", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.silence_timeout_ms = 3000;
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    long sent0 = s_ctl_long(f, "status_sent", "stats");
    assert_true(s_wait_ctl(f, "stats", "status_sent", sent0 + 8, 1L << 30));
    assert_int_equal(node_pbx_link_state(f->link), NODE_PBX_LINK_UP);
    assert_int_equal(f->downs, 0);
    assert_int_equal(s_ctl_long(f, "links_accepted", "stats"), 1);
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    assert_true(st.status_answered >= 8);
    assert_int_equal(st.status_answered, f->status_invokes);
    assert_int_equal(st.attempts, 1);
}

//  100 requests at once with window 4: at most 4 at the PBX, all answered, each once, each
//  with its own PBX-side invoke id.
static void link_window_pipelines_100_requests(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.window = 4;
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    for (int i = 0; i < 100; i++)
        assert_int_equal(s_link_request(f, i, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    assert_int_equal(st.outstanding, 4);
    assert_int_equal(st.queued, 96);
    assert_true(s_wait_int(f, &f->req[99].calls, 1));
    for (int i = 0; i < 100; i++) {
        assert_int_equal(f->req[i].calls, 1);
        assert_int_equal(f->req[i].status, 0);
        assert_int_equal(f->req[i].kind, CSTA_APDU_RESULT);
        assert_true(f->req[i].invoke_id != 4242);
        for (int j = 0; j < i; j++)
            assert_true(f->req[i].invoke_id != f->req[j].invoke_id);
    }
    assert_true(f->max_outstanding <= 4);
    node_pbx_link_stats(f->link, &st);
    assert_int_equal(st.replies, 100);
    assert_int_equal(st.outstanding, 0);
    assert_int_equal(st.queued, 0);
}

//  Beyond window + queue_max, requests are answered -ENOBUFS; the others still succeed.
static void link_queue_beyond_max_gets_enobufs(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.window = 2;
    f->cfg.queue_max = 3;
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    for (int i = 0; i < 10; i++)
        assert_int_equal(s_link_request(f, i, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(f->req[i].calls, 0);   //  never from inside the request
    for (int i = 0; i < 10; i++)
        assert_true(s_wait_int(f, &f->req[i].calls, 1));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(f->req[i].calls, 1);
        assert_int_equal(f->req[i].status, i < 5 ? 0 : -ENOBUFS);
    }
}

//  A hung PBX: the request gets -ETIMEDOUT once at its deadline, the silence timeout drops
//  the link, and after the hang the link comes back.
static void link_hang_times_out_once_and_silence_drops_the_link(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "200", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.silence_timeout_ms = 1500;
    f->cfg.connect_timeout_ms = 1000;
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    s_ctl(f, "hang on");
    assert_int_equal(s_link_request(f, 0, CSTA_OP_SNAPSHOT_DEVICE, 300), 0);
    assert_true(s_wait_int(f, &f->req[0].calls, 1));
    assert_int_equal(f->req[0].status, -ETIMEDOUT);
    int64_t t0 = zclock_mono();
    assert_true(s_wait_int(f, &f->downs, 1));
    //  Silence: 1500 ms without an APDU, counted from the last SystemStatus before the hang
    //  (generous slack for a loaded machine; the request timeout would be 10 s).
    assert_true(zclock_mono() - t0 <= 1500 + 4000);
    s_ctl(f, "hang off");
    assert_true(s_wait_int(f, &f->ups, 2));
    //  Still exactly one reply, and the link works again.
    assert_int_equal(f->req[0].calls, 1);
    assert_int_equal(s_link_request(f, 1, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    assert_true(s_wait_int(f, &f->req[1].calls, 1));
    assert_int_equal(f->req[1].status, 0);
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    assert_int_equal(st.timeouts, 1);
}

//  An answer after the deadline is dropped: the requester heard -ETIMEDOUT, and only that.
static void link_late_reply_is_dropped(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    s_ctl(f, "delay 600");
    assert_int_equal(s_link_request(f, 0, CSTA_OP_SNAPSHOT_DEVICE, 200), 0);
    assert_int_equal(s_link_request(f, 1, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    //  pbxsim delays both answers by the same time, in order: when the second arrives,
    //  the first (late) one has arrived too.
    assert_true(s_wait_int(f, &f->req[1].calls, 1));
    assert_int_equal(f->req[1].status, 0);
    assert_int_equal(f->req[0].calls, 1);
    assert_int_equal(f->req[0].status, -ETIMEDOUT);
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    assert_int_equal(st.late_replies, 1);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(f->downs, 0);
}

//  pbxsim refuses links for 2 s: the link retries with growing delays until it connects.
static void link_refused_connects_back_off_until_accepted(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_ctl(f, "refuse 2");
    int64_t t0 = zclock_mono();
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    int64_t took = zclock_mono() - t0;
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    //  Delays 100, 200, 400, 400 ... (+-20 %) over about 2 s: a handful of attempts, where
    //  retrying without a back-off would have made hundreds.
    assert_true(took >= 1500);
    assert_in_range(st.attempts, 4, 15);
    assert_int_equal(f->downs, 0);
}

//  A rejected association (hipath wants a login) is a failed attempt: back off, try again.
static void link_rejected_association_backs_off(void **state)
{
    static const char *const args[] = {"--flavour", "hipath", "--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.framing = CSTA_FRAMING_HIPATH;
    s_link_start(f);
    assert_true(s_wait_ctl(f, "stats", "logins_failed", 3, 1000));
    assert_int_equal(f->ups, 0);
    assert_true(node_pbx_link_state(f->link) != NODE_PBX_LINK_UP);
    //  With the login it associates.
    node_pbx_link_destroy(&f->link);
    strcpy(f->cfg.user, "AMHOST");
    strcpy(f->cfg.password, "77777");
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
}

static bool s_cond_link_state(fx_t *f, const void *arg)
{
    return node_pbx_link_state(f->link) == (node_pbx_link_state_t) *(const int *) arg;
}

//  pbxsim accepts links again (after `refuse`).
static bool s_cond_accepting(fx_t *f, const void *arg)
{
    (void) arg;
    s_ctl(f, "stats");
    return strstr(f->json, "\"refusing\":false") != NULL;
}

//  Stop lets go of the PBX at once (pbxsim sees the link close, peer-closed), the request in
//  flight gets -ENOTCONN, and nothing reconnects until start.  Used by the cluster (ha/).
static void link_stop_lets_go_at_once_and_start_connects_again(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.backoff_initial_ms = 50;
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    s_ctl(f, "delay 3000");
    assert_int_equal(s_link_request(f, 0, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    assert_int_equal(node_pbx_link_stop(f->link), 0);
    assert_int_equal(node_pbx_link_stop(f->link), -EALREADY);
    assert_int_equal(f->downs, 1);
    assert_int_equal(f->req[0].calls, 1);
    assert_int_equal(f->req[0].status, -ENOTCONN);
    assert_int_equal(node_pbx_link_state(f->link), NODE_PBX_LINK_IDLE);
    assert_true(s_wait_ctl(f, "stats", "links_open", 0, 0));
    s_ctl(f, "delay 0");
    //  No attempt while stopped (a back-off would have retried within 50 ms).
    assert_false(s_wait(f, s_cond_link_state, (const int[]){NODE_PBX_LINK_CONNECTING}, 300));
    assert_int_equal(f->ups, 1);
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(node_pbx_link_connect_now(f->link), -EALREADY);
    //  A request while stopped is answered -ENOTCONN, from the loop.
    assert_int_equal(s_link_request(f, 1, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    assert_int_equal(f->req[1].calls, 0);
    assert_true(s_wait_int(f, &f->req[1].calls, 1));
    assert_int_equal(f->req[1].status, -ENOTCONN);
    assert_int_equal(node_pbx_link_start(f->link), 0);
    assert_true(s_wait_int(f, &f->ups, 2));
    assert_int_equal(s_link_request(f, 2, CSTA_OP_SNAPSHOT_DEVICE, 0), 0);
    assert_true(s_wait_int(f, &f->req[2].calls, 1));
    assert_int_equal(f->req[2].status, 0);
    //  pbxsim's history: the first link closed by us, the second open.
    s_ctl(f, "links");
    assert_non_null(strstr(f->json, "\"reason\":\"peer-closed\""));
}

//  A link waiting out a long back-off connects at once when told to.
static void link_connect_now_skips_the_backoff(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.backoff_initial_ms = 20000;
    f->cfg.backoff_max_ms = 20000;
    s_ctl(f, "refuse 1");
    s_link_start(f);
    assert_true(s_wait(f, s_cond_link_state, (const int[]){NODE_PBX_LINK_BACKOFF}, WAIT_MS));
    assert_true(s_wait(f, s_cond_accepting, NULL, WAIT_MS));
    assert_int_equal(node_pbx_link_state(f->link), NODE_PBX_LINK_BACKOFF);
    int64_t t0 = zclock_mono();
    assert_int_equal(node_pbx_link_connect_now(f->link), 0);
    assert_true(s_wait_int(f, &f->ups, 1));
    assert_true(zclock_mono() - t0 < 5000);
}

//  --- node_pbx tests -----------------------------------------------------------------------------

//  Two watches of 101 share one PBX monitor, both see every event, and the monitor stops
//  only with the last watch.
static void pbx_two_watches_share_one_monitor(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    node_pbx_watch_t *w0 = s_watch(f, 0, "101");
    node_pbx_watch_t *w1 = s_watch(f, 1, "101");
    assert_int_equal(f->watch[0].done_calls, 0);    //  never from inside node_pbx_watch
    assert_true(s_wait_int(f, &f->watch[0].done_calls, 1));
    assert_true(s_wait_int(f, &f->watch[1].done_calls, 1));
    assert_int_equal(f->watch[0].done_status, 0);
    assert_int_equal(f->watch[1].done_status, 0);
    assert_int_equal(s_ctl_long(f, "monitor_starts", "stats"), 1);
    assert_int_equal(s_ctl_long(f, "monitors", "monitors 101"), 1);
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.monitors_pbx, 1);
    assert_int_equal(st.watches, 2);

    //  A call from 101 to 102, answered and cleared: both watches see all of it.
    s_ctl(f, "dial 101 102");
    s_ctl(f, "answer 102");
    assert_true(s_wait_event(f, &f->watch[1], CSTA_EV_ESTABLISHED));
    s_ctl(f, "hangup 101");
    assert_true(s_wait_event(f, &f->watch[1], CSTA_EV_CONNECTION_CLEARED));
    s_barrier(f, 10);
    assert_true(f->watch[0].events >= 4);
    assert_int_equal(f->watch[0].events, f->watch[1].events);
    assert_memory_equal(f->watch[0].types, f->watch[1].types,
                        (size_t) f->watch[0].events * sizeof(int));
    assert_true(s_saw(&f->watch[0], CSTA_EV_ORIGINATED));
    assert_true(s_saw(&f->watch[0], CSTA_EV_DELIVERED));
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.events_in, f->watch[0].events);     //  each PBX event once, fanned out

    //  One watch goes: the PBX monitor stays, events go to the other only.
    int before0 = f->watch[0].events;
    node_pbx_unwatch(f->pbx, &w0);
    assert_null(w0);
    s_barrier(f, 11);
    assert_int_equal(s_ctl_long(f, "monitors", "monitors 101"), 1);
    assert_int_equal(s_ctl_long(f, "monitor_stops", "stats"), 0);
    int before1 = f->watch[1].events;
    s_ctl(f, "dial 101 103");
    assert_true(s_wait_int(f, &f->watch[1].events, before1 + 2));
    s_ctl(f, "hangup 101");
    s_barrier(f, 12);
    assert_int_equal(f->watch[0].events, before0);

    //  The last watch goes: MonitorStop.
    node_pbx_unwatch(f->pbx, &w1);
    assert_true(s_wait_ctl(f, "monitors 101", "monitors", 0, 0));
    assert_int_equal(s_ctl_long(f, "monitor_stops", "stats"), 1);
    s_barrier(f, 13);   //  the MonitorStop's result is in: the device is forgotten
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.monitors_pbx, 0);
    assert_int_equal(st.watches, 0);
    assert_int_equal(st.devices, 0);
    assert_int_equal(f->watch[0].done_calls, 1);
    assert_int_equal(f->watch[1].done_calls, 1);
}

//  The link drops: on_state DOWN once, the request in flight gets -ENOTCONN, the link comes
//  back after a back-off, 101 is monitored again, snapshotted (the call that ended while
//  the link was down is found gone, the new one found), and events flow again.
static void pbx_link_drop_fails_requests_and_remonitors(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    node_pbx_watch_t *w = s_watch_monitored(f, 0, "101");
    s_ctl(f, "dial 101 102");
    assert_true(s_wait_event(f, &f->watch[0], CSTA_EV_DELIVERED));
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 1);

    //  A request the PBX sits on (its answer delayed), then the drop.
    s_ctl(f, "delay 5000");
    assert_int_equal(s_pbx_request(f, 0, CSTA_OP_SNAPSHOT_DEVICE, "102"), 0);
    s_ctl(f, "drop");
    s_ctl(f, "delay 0");
    //  While the link is down (the loop does not run, so it cannot come back yet) the call
    //  ends and another begins: their events are lost with the link.
    s_ctl(f, "hangup 101");
    s_ctl(f, "dial 101 103");
    int events_before = f->watch[0].events;
    assert_true(s_wait_int(f, &f->downs, 1));
    assert_true(s_wait_int(f, &f->req[0].calls, 1));
    assert_int_equal(f->req[0].status, -ENOTCONN);

    assert_true(s_wait_int(f, &f->ups, 2));
    assert_true(s_wait_ctl(f, "monitors 101", "monitors", 1, 1));
    //  Re-monitoring ends with a snapshot: call 1 is found gone, call 2 found.
    for (int64_t until = zclock_mono() + WAIT_MS;;) {
        node_pbx_stats(f->pbx, &st);
        if (st.calls_vanished >= 1 && st.calls == 1)
            break;
        assert_true(zclock_mono() < until);
        s_barrier(f, 10);
    }
    assert_int_equal(st.calls_vanished, 1);
    assert_int_equal(st.monitors_pbx, 1);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(s_ctl_long(f, "links_accepted", "stats"), 2);

    //  Events flow again; the watch was not told done a second time.
    s_ctl(f, "answer 103");
    assert_true(s_wait_event(f, &f->watch[0], CSTA_EV_ESTABLISHED));
    assert_true(f->watch[0].events > events_before);
    assert_int_equal(f->watch[0].done_calls, 1);
    assert_int_equal(f->downs, 1);
    assert_int_equal(f->req[0].calls, 1);
    node_pbx_unwatch(f->pbx, &w);
}

//  After a link drop each watch hears on_watch_monitored once its device's MonitorStart is
//  answered again (not at link-up: the answers are held back here), and done only once.
static void pbx_remonitor_after_link_drop_tells_each_watch(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    node_pbx_watch_t *w[3] = {s_watch_monitored(f, 0, "101"), s_watch_monitored(f, 1, "101"),
                              s_watch_monitored(f, 2, "102")};
    for (int i = 0; i < 3; i++)
        assert_int_equal(f->watch[i].monitored, 0);     //  done(0) said it the first time
    s_ctl(f, "drop");
    s_ctl(f, "delay 1500");     //  the association is answered at once, MonitorStarts late
    assert_true(s_wait_int(f, &f->ups, 2));
    assert_true(s_wait_ctl(f, "monitors 102", "monitors", 1, 1));
    assert_true(s_wait_ctl(f, "monitors 101", "monitors", 1, 1));
    //  pbxsim has both monitors, its answers are still on their way: nobody told yet.
    for (int i = 0; i < 3; i++)
        assert_int_equal(f->watch[i].monitored, 0);
    for (int i = 0; i < 3; i++)
        assert_true(s_wait_int(f, &f->watch[i].monitored, 1));
    s_ctl(f, "delay 0");
    s_ctl(f, "dial 101 102");
    assert_true(s_wait_event(f, &f->watch[2], CSTA_EV_DELIVERED));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->watch[i].monitored, 1);
        assert_int_equal(f->watch[i].done_calls, 1);
        node_pbx_unwatch(f->pbx, &w[i]);
    }
}

//  node_pbx_stop: the link goes at once (on_state DOWN, the PBX monitor gone with it), the
//  watch stays; start brings the link back and 101 is monitored again, events flow.
static void pbx_stop_keeps_watches_and_start_remonitors(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    node_pbx_watch_t *w = s_watch_monitored(f, 0, "101");
    assert_int_equal(node_pbx_stop(f->pbx), 0);
    assert_int_equal(node_pbx_stop(f->pbx), -EALREADY);
    assert_int_equal(f->downs, 1);
    assert_int_equal(node_pbx_state(f->pbx), NODE_PBX_DOWN);
    assert_true(s_wait_ctl(f, "stats", "links_open", 0, 0));
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.watches, 1);
    assert_int_equal(st.monitors_pbx, 0);
    assert_int_equal(node_pbx_start(f->pbx), 0);
    assert_true(s_wait_int(f, &f->ups, 2));
    assert_true(s_wait_ctl(f, "monitors 101", "monitors", 1, 1));
    s_ctl(f, "dial 101 102");
    assert_true(s_wait_event(f, &f->watch[0], CSTA_EV_DELIVERED));
    assert_int_equal(f->watch[0].done_calls, 1);
    node_pbx_unwatch(f->pbx, &w);
}

//  GetSwitchingFunctionDevices: the result, then every SwitchingFunctionDevices segment
//  at the requester, each acknowledged to pbxsim by node_pbx.
static void pbx_switching_function_devices_followups_reach_the_requester(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", "--extensions", "101-150",
                                       "--trunks", "8", "--segment-size", "20", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    assert_int_equal(s_pbx_request(f, 0, CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES, NULL), 0);
    s_req_rec_t *r = &f->req[0];
    assert_true(s_wait_int(f, &r->followups, 3));
    s_barrier(f, 1);
    assert_int_equal(r->calls, 1);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->kind, CSTA_APDU_RESULT);
    assert_int_equal(r->followups_before_reply, 0);
    assert_int_equal(r->followups, 3);      //  58 devices, 20 a segment
    assert_int_equal(r->devices, 58);
    assert_true(r->last_segment);
    assert_int_equal(s_ctl_long(f, "rejects_sent", "stats"), 0);   //  our acks were good BER
}

static void s_on_snapshot_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_req_rec_t *r = arg;
    s_on_reply(arg, status, apdu, len);
    r->reply_ms = test_now_ms();
    if (status != 0)
        return;
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len) == 0 && a.kind == CSTA_APDU_RESULT)
        r->snap_calls = a.svc.snapshot_device_res.is_xref
                            ? -1
                            : (long) a.svc.snapshot_device_res.snapshot_data.count;
    csta_apdu_clear(&a);
}

static void s_snapshot_request(fx_t *f, int i, const char *device, int timeout_ms)
{
    uint8_t buf[256];
    size_t n = s_invoke(buf, sizeof buf, CSTA_OP_SNAPSHOT_DEVICE, device);
    f->req[i] = (s_req_rec_t){.snap_calls = -2};
    assert_int_equal(
        node_pbx_request(f->pbx, buf, n, timeout_ms, s_on_snapshot_reply, NULL, &f->req[i]), 0);
}

//  A requester without a followup gets a SnapshotDevice that pbxsim answers in segments
//  (ctl snapshot-segments) as one result with every call; a PBX that never marks the last
//  segment gets it an error once the request's deadline has passed, not a wait without end.
static void pbx_segmented_snapshot_reaches_a_requester_as_one_result(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    s_ctl(f, "dial 101 102");
    s_ctl(f, "answer 102");
    s_ctl(f, "hold 101");
    s_ctl(f, "dial 101 103");   //  a second call at 101
    s_ctl(f, "snapshot-segments 3");
    s_snapshot_request(f, 0, "101", 0);
    assert_true(s_wait_int(f, &f->req[0].calls, 1));
    assert_int_equal(f->req[0].status, 0);
    assert_int_equal(f->req[0].kind, CSTA_APDU_RESULT);
    assert_int_equal(f->req[0].snap_calls, 2);
    //  A requester with a followup still gets the segments themselves.
    f->req[1] = (s_req_rec_t){0};
    assert_int_equal(s_pbx_request(f, 1, CSTA_OP_SNAPSHOT_DEVICE, "101"), 0);
    assert_true(s_wait_int(f, &f->req[1].followups, 3));
    assert_int_equal(f->req[1].followups_before_reply, 0);

    s_ctl(f, "snapshot-segments 2 open");
    long long t0 = test_now_ms();
    s_snapshot_request(f, 2, "101", 400);
    assert_true(s_wait_int(f, &f->req[2].calls, 1));
    assert_int_equal(f->req[2].status, -ETIMEDOUT);
    assert_true(f->req[2].reply_ms - t0 >= 350);
    //  The link is fine: the next snapshot, whole again, is answered.
    s_ctl(f, "snapshot-segments 0");
    s_snapshot_request(f, 3, "101", 0);
    assert_true(s_wait_int(f, &f->req[3].calls, 1));
    assert_int_equal(f->req[3].snap_calls, 2);
}

//  CDR reports go to the receiver the StartCDR result named, and node_pbx acknowledges them.
static void pbx_cdr_reports_reach_their_receiver_and_are_acknowledged(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    void *owner = &f->req[0];
    assert_int_equal(node_pbx_cdr_claim(f->pbx, owner), 0);
    assert_int_equal(node_pbx_cdr_claim(f->pbx, &f->req[1]), -EBUSY);
    assert_int_equal(s_pbx_request(f, 0, CSTA_OP_START_CDR, NULL), 0);
    assert_true(s_wait_int(f, &f->req[0].calls, 1));
    assert_int_equal(f->req[0].kind, CSTA_APDU_RESULT);
    s_ctl(f, "dial 101 102");
    s_ctl(f, "answer 102");
    s_ctl(f, "hangup 101");
    assert_true(s_wait_int(f, &f->req[0].followups, 1));
    assert_true(s_wait_ctl(f, "stats", "cdr_acked", 1, 1));
    assert_int_equal(s_ctl_long(f, "cdr_sent", "stats"), 1);
    assert_int_equal(f->req[0].cdr_records, 1);
    node_pbx_cdr_release(f->pbx, owner);
    assert_int_equal(node_pbx_cdr_claim(f->pbx, &f->req[1]), 0);
    //  MonitorStart through node_pbx_request would bypass the shared monitors.
    assert_int_equal(s_pbx_request(f, 2, CSTA_OP_MONITOR_START, "101"), -EINVAL);
}

//  The PBX forgets CDR transmission with the association: after the link comes back,
//  node_pbx starts it again with the owner's StartCDR and records keep reaching the owner,
//  which never saw the loss.
static void pbx_cdr_restarts_after_link_loss(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_pbx_start(f);
    void *owner = &f->req[0];
    assert_int_equal(node_pbx_cdr_claim(f->pbx, owner), 0);
    assert_int_equal(s_pbx_request(f, 0, CSTA_OP_START_CDR, NULL), 0);
    assert_true(s_wait_int(f, &f->req[0].calls, 1));
    assert_int_equal(f->req[0].kind, CSTA_APDU_RESULT);

    s_ctl(f, "drop");
    assert_true(s_wait_int(f, &f->downs, 1));
    assert_true(s_wait_int(f, &f->ups, 2));
    s_ctl(f, "dial 101 102");
    s_ctl(f, "answer 102");
    s_ctl(f, "hangup 101");
    assert_true(s_wait_int(f, &f->req[0].followups, 1));
    assert_true(s_wait_ctl(f, "stats", "cdr_acked", 1, 1));
    assert_int_equal(f->req[0].cdr_records, 1);
    assert_int_equal(f->req[0].calls, 1);       //  the restart was node_pbx's own request

    //  Stopped by its owner: not restarted after the next loss.
    node_pbx_cdr_release(f->pbx, owner);
    s_ctl(f, "drop");
    assert_true(s_wait_int(f, &f->ups, 3));
    s_ctl(f, "dial 101 102");
    s_ctl(f, "answer 102");
    s_ctl(f, "hangup 101");
    s_barrier(f, 1);            //  pbxsim sends a record as the call ends, before ctl returns
    assert_int_equal(s_ctl_long(f, "cdr_sent", "stats"), 1);
    assert_int_equal(f->req[0].cdr_records, 1);
}

//  A device the PBX refuses to monitor: done reports the PBX's error, and MonitorStart is
//  retried every monitor_retry_ms while the watch remains.
static void pbx_refused_monitor_is_reported_and_retried(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.monitor_retry_ms = 200;
    s_pbx_start(f);
    node_pbx_watch_t *w = s_watch(f, 0, "999");
    assert_true(s_wait_int(f, &f->watch[0].done_calls, 1));
    assert_int_equal(f->watch[0].done_status, -EREMOTEIO);
    assert_true(f->watch[0].done_error_len > 0);
    node_pbx_stats_t st;
    for (int64_t until = zclock_mono() + WAIT_MS;;) {
        node_pbx_stats(f->pbx, &st);
        if (st.monitor_failures >= 3)
            break;
        assert_true(zclock_mono() < until);
        s_barrier(f, 1);
    }
    assert_int_equal(f->watch[0].done_calls, 1);
    //  Once unwatched, the retries stop and the device is forgotten.
    node_pbx_unwatch(f->pbx, &w);
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.devices, 0);
}

//  A MonitorStart the PBX answers after its deadline started a monitor nobody knows of:
//  node_pbx stops it, so that after the retry the PBX monitors the device once, not twice
//  (every event would come twice, once under an unknown cross-reference).
static void pbx_late_monitor_start_is_stopped(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    f->cfg.request_timeout_ms = 200;
    f->cfg.monitor_retry_ms = 300;
    s_pbx_start(f);
    s_ctl(f, "delay 600");
    s_watch(f, 0, "101");
    assert_true(s_wait_int(f, &f->watch[0].done_calls, 1));
    assert_int_equal(f->watch[0].done_status, -ETIMEDOUT);
    //  pbxsim started the monitor at once (only its answer waits).  The retry (after
    //  monitor_retry_ms) is answered in time; the late answer comes after it.
    assert_true(s_wait_ctl(f, "monitors 101", "monitors", 1, 1));
    s_ctl(f, "delay 0");
    node_pbx_stats_t st;
    for (int64_t until = zclock_mono() + WAIT_MS;;) {
        node_pbx_stats(f->pbx, &st);
        if (st.monitors_pbx == 1)
            break;
        assert_true(zclock_mono() < until);
        s_barrier(f, 1);
    }
    //  Two monitors at the PBX for a moment; the stray one is stopped.
    assert_true(s_wait_ctl(f, "monitors 101", "monitors", 1, 1));
    s_ctl(f, "dial 101 102");
    assert_true(s_wait_event(f, &f->watch[0], CSTA_EV_DELIVERED));
    s_barrier(f, 1);
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.events_unrouted, 0);
}

//  A host name is resolved off the loop (getaddrinfo_a); each address is tried in turn
//  (localhost may be ::1 first, where pbxsim does not listen).
static void link_resolves_a_host_name(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    strcpy(f->cfg.host, "localhost");
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    node_pbx_link_stats_t st;
    node_pbx_link_stats(f->link, &st);
    assert_int_equal(st.attempts, 1);
}

//  Broken framing from the PBX (pbxsim's malformed fault) ends the link; it comes back.
static void link_malformed_apdu_drops_and_reconnects(void **state)
{
    static const char *const args[] = {"--status-interval-ms", "1000", NULL};
    fx_t *f = s_fixture(state, args);
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    s_ctl(f, "malformed");
    assert_true(s_wait_int(f, &f->downs, 1));
    assert_true(s_wait_int(f, &f->ups, 2));
    assert_int_equal(s_ctl_long(f, "links_accepted", "stats"), 2);
}

//  Phase II SystemStatus (52, as Alcatel sends it) is answered like 211; an ABRT ends the
//  link at once, and the link associates again.
static void link_answers_phase2_status_and_abort_ends_the_link(void **state)
{
    fx_t *f = s_fixture(state, S_NO_PBXSIM);
    s_fake_t *k = f->fake = s_fake_start(f);
    s_link_start(f);
    assert_true(s_wait_int(f, &f->ups, 1));
    csta_apdu_t st;
    csta_apdu_init(&st, CSTA_APDU_INVOKE);
    st.opcode = CSTA_OP_SYSTEM_STATUS_PHASE2;
    st.invoke_id = k->next_invoke_id++;
    st.svc.system_status.status = CSTA_SYS_NORMAL;
    st.svc.system_status.phase2_bare = true;
    s_fake_send(k, &st);
    st.opcode = CSTA_OP_SYSTEM_STATUS;
    st.invoke_id = k->next_invoke_id++;
    st.svc.system_status.phase2_bare = false;
    s_fake_send(k, &st);
    assert_true(s_wait_int(f, &k->status52_answered, 1));
    assert_true(s_wait_int(f, &k->status211_answered, 1));
    csta_apdu_t abrt;
    csta_apdu_init(&abrt, CSTA_APDU_ABRT);
    abrt.acse.abort_source = 0;
    abrt.acse.has_abort_diag = true;
    abrt.acse.abort_diag = CSTA_ABRT_NO_REASON;
    s_fake_send(k, &abrt);
    assert_true(s_wait_int(f, &f->downs, 1));
    assert_true(s_wait_int(f, &f->ups, 2));
    assert_int_equal(k->associated, 2);
}

//  SnapshotDevice answered by a serviceCrossRefID: the segments reach the requester; the
//  periodic validation snapshot finds the call the PBX no longer has, and the calls it has.
static void pbx_snapshot_segments_and_call_validation(void **state)
{
    fx_t *f = s_fixture(state, S_NO_PBXSIM);
    s_fake_t *k = f->fake = s_fake_start(f);
    f->cfg.validate_calls_ms = 200;
    s_pbx_start(f);
    node_pbx_watch_t *w = s_watch_monitored(f, 0, "101");

    //  A call the PBX reports by an event, then forgets without a clearing event.
    csta_apdu_t ev;
    csta_apdu_init(&ev, CSTA_APDU_INVOKE);
    ev.opcode = CSTA_OP_EVENT_REPORT;
    ev.invoke_id = k->next_invoke_id++;
    uint8_t xb[2] = {0, 7};
    csta_xref_set(&ev.event.xref, xb, 2);
    ev.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &ev.event.delivered;
    uint8_t id[2] = {0, 9};
    csta_conn_set(&d->connection, id, 2, "101");
    csta_device_set(&d->alerting, "101");
    csta_device_set(&d->calling, "102");
    csta_device_set(&d->called, "101");
    d->last_redirection.kind = CSTA_DEV_NOT_KNOWN;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    s_fake_send(k, &ev);
    assert_true(s_wait_event(f, &f->watch[0], CSTA_EV_DELIVERED));
    node_pbx_stats_t st;
    node_pbx_stats(f->pbx, &st);
    assert_int_equal(st.calls, 1);

    //  The next validation snapshot (no calls) finds it gone.
    for (int64_t until = zclock_mono() + WAIT_MS;;) {
        node_pbx_stats(f->pbx, &st);
        if (st.calls_vanished == 1)
            break;
        assert_true(zclock_mono() < until);
        s_barrier(f, 1);
    }
    assert_int_equal(st.calls, 0);
    //  Now the PBX has three calls there: a later snapshot keeps all of them.
    k->call_count = 3;
    k->calls[0] = 0x0a, k->calls[1] = 0x0b, k->calls[2] = 0x0c;
    for (int64_t until = zclock_mono() + WAIT_MS;;) {
        node_pbx_stats(f->pbx, &st);
        if (st.calls == 3)
            break;
        assert_true(zclock_mono() < until);
        s_barrier(f, 1);
    }
    assert_int_equal(st.calls_vanished, 1);

    //  A front end's SnapshotDevice: the result, then both segments, to it.
    int snaps = k->snapshots;
    assert_int_equal(s_pbx_request(f, 2, CSTA_OP_SNAPSHOT_DEVICE, "101"), 0);
    assert_true(s_wait_int(f, &f->req[2].followups, 2));
    assert_int_equal(f->req[2].calls, 1);
    assert_int_equal(f->req[2].followups_before_reply, 0);
    assert_true(k->snapshots > snaps);
    assert_int_equal(k->monitor_starts, 1);
    node_pbx_unwatch(f->pbx, &w);
}

int main(void)
{
    //  TEST_DEBUG=1 in the environment: debug lines too.
    node_log_init("test", getenv("TEST_DEBUG") ? NODE_LOG_DEBUG : NODE_LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(link_answers_system_status_and_stays_up, s_teardown),
        cmocka_unit_test_teardown(link_window_pipelines_100_requests, s_teardown),
        cmocka_unit_test_teardown(link_queue_beyond_max_gets_enobufs, s_teardown),
        cmocka_unit_test_teardown(link_hang_times_out_once_and_silence_drops_the_link, s_teardown),
        cmocka_unit_test_teardown(link_late_reply_is_dropped, s_teardown),
        cmocka_unit_test_teardown(link_refused_connects_back_off_until_accepted, s_teardown),
        cmocka_unit_test_teardown(link_rejected_association_backs_off, s_teardown),
        cmocka_unit_test_teardown(link_resolves_a_host_name, s_teardown),
        cmocka_unit_test_teardown(link_malformed_apdu_drops_and_reconnects, s_teardown),
        cmocka_unit_test_teardown(link_answers_phase2_status_and_abort_ends_the_link, s_teardown),
        cmocka_unit_test_teardown(link_stop_lets_go_at_once_and_start_connects_again, s_teardown),
        cmocka_unit_test_teardown(link_connect_now_skips_the_backoff, s_teardown),
        cmocka_unit_test_teardown(pbx_two_watches_share_one_monitor, s_teardown),
        cmocka_unit_test_teardown(pbx_link_drop_fails_requests_and_remonitors, s_teardown),
        cmocka_unit_test_teardown(pbx_stop_keeps_watches_and_start_remonitors, s_teardown),
        cmocka_unit_test_teardown(pbx_remonitor_after_link_drop_tells_each_watch, s_teardown),
        cmocka_unit_test_teardown(pbx_switching_function_devices_followups_reach_the_requester,
                                  s_teardown),
        cmocka_unit_test_teardown(pbx_cdr_reports_reach_their_receiver_and_are_acknowledged,
                                  s_teardown),
        cmocka_unit_test_teardown(pbx_cdr_restarts_after_link_loss, s_teardown),
        cmocka_unit_test_teardown(pbx_refused_monitor_is_reported_and_retried, s_teardown),
        cmocka_unit_test_teardown(pbx_late_monitor_start_is_stopped, s_teardown),
        cmocka_unit_test_teardown(pbx_snapshot_segments_and_call_validation, s_teardown),
        cmocka_unit_test_teardown(pbx_segmented_snapshot_reaches_a_requester_as_one_result,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
