//  node_client_guard against the PBX service's test double (fake_node_pbx): what it asks
//  the PBX (SnapshotDevice, DeflectCall with the right connection and destination), when,
//  and that late answers after release or destroy find nothing.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csta.h"
#include "fake_node_pbx.h"
#include "node_client_guard.h"
#include "node_metrics.h"

typedef struct {
    node_pbx_t *pbx;
    node_client_guard_t *guard;
    node_metrics_t *metrics;
} fx_t;

//  The fake PBX's listener: the guard's watches to the guard, as node_client_server does.
static void s_on_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg, const uint8_t *apdu,
                       size_t len, const csta_peek_t *keys)
{
    (void) watch_arg;
    (void) keys;
    fx_t *f = ctx;
    if (node_client_guard_owns(f->guard, watch))
        node_client_guard_event(f->guard, watch, apdu, len);
}

static void s_on_state(void *ctx, node_pbx_state_t state)
{
    fx_t *f = ctx;
    node_client_guard_state(f->guard, state);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    node_pbx_listener_t l = {.ctx = f, .on_event = s_on_event, .on_state = s_on_state};
    f->pbx = fake_pbx_new(&l);
    f->metrics = node_metrics_new();
    f->guard = node_client_guard_new(f->metrics);
    if (!f->pbx || !f->metrics || !f->guard)
        return -1;
    node_client_guard_attach(f->guard, f->pbx, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    node_client_guard_destroy(&f->guard);
    //  As node_pbx_destroy does: every request still open gets its one reply.
    for (int i = 0; i < f->pbx->requests; i++)
        if (!f->pbx->request[i].answered)
            fake_pbx_reply(f->pbx, i, -ENOTCONN, NULL, 0);
    node_metrics_destroy(&f->metrics);
    fake_pbx_destroy(&f->pbx);
    free(f);
    return 0;
}

static double s_redirects(fx_t *f, const char *result)
{
    node_metric_t *m = node_metrics_counter(f->metrics, "client_redirects", "", "result");
    return node_metric_value(m, (const char *[]){result});
}

//  The guard's /status JSON (the caller frees it).
static char *s_status(fx_t *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    node_client_guard_status_json(f->guard, out);
    fclose(out);
    return text;
}

//  Request i decoded (the caller clears it).
static void s_request(fx_t *f, int i, csta_apdu_t *a)
{
    assert_true(i < f->pbx->requests);
    assert_int_equal(csta_apdu_decode(a, f->pbx->request[i].apdu, f->pbx->request[i].len), 0);
    assert_int_equal(a->kind, CSTA_APDU_INVOKE);
}

//  Request i is a DeflectCall of call (2 octets) at line to `to`.
static void s_expect_deflect(fx_t *f, int i, uint8_t call, const char *line, const char *to)
{
    csta_apdu_t a;
    s_request(f, i, &a);
    assert_int_equal(a.opcode, CSTA_OP_DEFLECT_CALL);
    const csta_deflect_call_arg_t *d = &a.call.deflect_call;
    assert_int_equal(d->call_to_be_diverted.call_id_len, 2);
    assert_int_equal(d->call_to_be_diverted.call_id[1], call);
    assert_string_equal(d->call_to_be_diverted.device.digits, line);
    assert_string_equal(d->new_destination.digits, to);
    csta_apdu_clear(&a);
}

static void s_expect_snapshot(fx_t *f, int i, const char *line)
{
    csta_apdu_t a;
    s_request(f, i, &a);
    assert_int_equal(a.opcode, CSTA_OP_SNAPSHOT_DEVICE);
    assert_string_equal(a.svc.snapshot_device.snapshot_object.digits, line);
    csta_apdu_clear(&a);
}

//  Answer request i with a result for opcode (noData, or a snapshot with items).
static void s_answer(fx_t *f, int i, int opcode, const csta_snapshot_device_item_t *items,
                     size_t count)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_RESULT);
    a.invoke_id = 7;
    a.opcode = opcode;
    a.has_result = true;
    if (opcode == CSTA_OP_SNAPSHOT_DEVICE) {
        a.svc.snapshot_device_res.snapshot_data.count = count;
        a.svc.snapshot_device_res.snapshot_data.item = items;
    } else {
        a.no_data = true;
    }
    uint8_t buf[1024];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, buf, sizeof buf, &n), 0);
    fake_pbx_reply(f->pbx, i, 0, buf, n);
}

static void s_answer_error(fx_t *f, int i)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_ERROR);
    a.invoke_id = 7;
    a.error.has_parameter = true;
    a.error.category = CSTA_ERR_STATE;
    a.error.value = CSTA_STERR_INVALID_CONNECTION_STATE;
    uint8_t buf[256];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, buf, sizeof buf, &n), 0);
    fake_pbx_reply(f->pbx, i, -EREMOTEIO, buf, n);
}

static void s_item(csta_snapshot_device_item_t *it, uint8_t call, const char *line,
                   csta_lcs_t local)
{
    memset(it, 0, sizeof *it);
    uint8_t id[2] = {0, call};
    csta_conn_set(&it->connection_identifier, id, 2, line);
    it->endpoint_device.kind = CSTA_DEV_ABSENT;
    it->local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
    it->local_call_state.compound_count = 1;
    it->local_call_state.compound[0] = local;
}

//  A Delivered of call at the line's monitor, alerting at `alerting`.
static void s_delivered(fx_t *f, const char *line, uint8_t call, const char *alerting)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;
    a.opcode = CSTA_OP_EVENT_REPORT;
    uint8_t x[2] = {0, 1};
    csta_xref_set(&a.event.xref, x, sizeof x);
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    uint8_t id[2] = {0, call};
    csta_conn_set(&d->connection, id, 2, alerting);
    csta_device_set(&d->alerting, alerting);
    csta_device_set(&d->calling, "0301234567");
    csta_device_set(&d->called, alerting);
    d->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    uint8_t buf[512];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, buf, sizeof buf, &n), 0);
    fake_pbx_event(f->pbx, line, buf, n);
}

//  --- Tests -----------------------------------------------------------------------------------

static void ringing_calls_are_deflected_once_monitored(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_client_guard_protect(f->guard, "101", "105", "test"), 0);
    assert_true(node_client_guard_guards(f->guard, "101"));
    assert_int_equal(node_client_guard_count(f->guard), 1);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 1);
    assert_true(node_client_guard_owns(f->guard, &f->pbx->watch[0]));
    assert_int_equal(f->pbx->requests, 0);      //  nothing before the monitor is there
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    assert_int_equal(f->pbx->requests, 1);
    s_expect_snapshot(f, 0, "101");
    //  Three calls at 101: ringing, connected, ringing (simple state callReceived 0x32).
    csta_snapshot_device_item_t items[3];
    s_item(&items[0], 1, "101", CSTA_LCS_ALERTING);
    s_item(&items[1], 2, "101", CSTA_LCS_CONNECTED);
    s_item(&items[2], 3, "101", CSTA_LCS_NULL);
    items[2].local_call_state.kind = CSTA_CALL_STATE_SIMPLE;
    items[2].local_call_state.simple = CSTA_SCS_RECEIVED;
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, items, 3);
    assert_int_equal(f->pbx->requests, 3);
    s_expect_deflect(f, 1, 1, "101", "105");
    s_expect_deflect(f, 2, 3, "101", "105");
    s_answer(f, 1, CSTA_OP_DEFLECT_CALL, NULL, 0);
    s_answer(f, 2, CSTA_OP_DEFLECT_CALL, NULL, 0);
    assert_int_equal(s_redirects(f, "ok"), 2);
}

static void delivered_here_is_deflected_and_only_once(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "test");
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, NULL, 0);     //  nothing ringing yet
    assert_int_equal(f->pbx->requests, 1);
    s_delivered(f, "101", 9, "101");
    assert_int_equal(f->pbx->requests, 2);
    s_expect_deflect(f, 1, 9, "101", "105");
    //  The same call again (a loop back from a guarded 105): not deflected a second time.
    s_delivered(f, "101", 9, "101");
    assert_int_equal(f->pbx->requests, 2);
    //  A call 101 makes, ringing at 102: not 101's to deflect.
    s_delivered(f, "101", 10, "102");
    assert_int_equal(f->pbx->requests, 2);
    s_answer(f, 1, CSTA_OP_DEFLECT_CALL, NULL, 0);
    assert_int_equal(s_redirects(f, "ok"), 1);
}

static void a_failed_redirect_may_be_tried_again(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "test");
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, NULL, 0);
    s_delivered(f, "101", 9, "101");
    s_answer_error(f, 1);
    assert_int_equal(s_redirects(f, "error"), 1);
    s_delivered(f, "101", 9, "101");
    assert_int_equal(f->pbx->requests, 3);
    s_expect_deflect(f, 2, 9, "101", "105");
    fake_pbx_reply(f->pbx, 2, -ENOTCONN, NULL, 0);   //  link down meanwhile
    assert_int_equal(s_redirects(f, "error"), 2);
}

static void link_back_snapshots_again(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "test");
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, NULL, 0);
    fake_pbx_set_state(f->pbx, NODE_PBX_DOWN);
    assert_int_equal(f->pbx->requests, 1);
    fake_pbx_set_state(f->pbx, NODE_PBX_UP);
    assert_int_equal(f->pbx->requests, 2);
    s_expect_snapshot(f, 1, "101");
}

//  A watch whose MonitorStart failed still gets events once node_pbx monitors the device
//  again: the guard acts on them.
static void events_after_a_failed_monitor_are_acted_on(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "test");
    fake_pbx_watch_done(f->pbx, 0, -ENOTCONN, NULL, 0);
    assert_int_equal(f->pbx->requests, 0);
    f->pbx->watch[0].confirmed = true;          //  node_pbx monitored it after all
    s_delivered(f, "101", 4, "101");
    assert_int_equal(f->pbx->requests, 1);
    s_expect_deflect(f, 0, 4, "101", "105");
}

static void release_unwatches_and_late_answers_find_nothing(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "test");
    node_client_guard_protect(f->guard, "102", "105", "test");
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, NULL, 0);
    s_delivered(f, "101", 5, "101");            //  request 1: deflect, not answered yet
    assert_true(node_client_guard_release(f->guard, "101"));
    assert_false(node_client_guard_release(f->guard, "101"));
    assert_false(node_client_guard_guards(f->guard, "101"));
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 0);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "102"), 1);
    s_delivered(f, "101", 6, "101");            //  the watch is gone: nothing
    assert_int_equal(f->pbx->requests, 2);
    s_answer(f, 1, CSTA_OP_DEFLECT_CALL, NULL, 0);   //  late: the call went all the same
    assert_int_equal(s_redirects(f, "ok"), 1);
    //  The status lists what is left.
    char *text = s_status(f);
    assert_non_null(strstr(text, "{\"line\":\"102\",\"failure_number\":\"105\",\"why\":\"test\""));
    assert_null(strstr(text, "\"101\""));
    free(text);
}

static void protect_again_takes_the_new_number(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "first");
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, NULL, 0);
    assert_int_equal(node_client_guard_protect(f->guard, "101", "106", "second"), 0);
    assert_int_equal(node_client_guard_count(f->guard), 1);
    assert_int_equal(f->pbx->watches, 1);       //  the same watch
    s_expect_snapshot(f, 1, "101");             //  calls ringing now go to the new number
    s_delivered(f, "101", 8, "101");
    s_expect_deflect(f, 2, 8, "101", "106");
}

static void bad_arguments_are_refused(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_client_guard_protect(f->guard, "", "105", NULL), -EINVAL);
    assert_int_equal(node_client_guard_protect(f->guard, "101", "", NULL), -EINVAL);
    assert_int_equal(node_client_guard_protect(f->guard, "101", NULL, NULL), -EINVAL);
    node_client_guard_t *alone = node_client_guard_new(NULL);
    assert_int_equal(node_client_guard_protect(alone, "101", "105", NULL), -ENOTCONN);
    node_client_guard_destroy(&alone);
    assert_null(alone);
    node_client_guard_destroy(&alone);
    assert_int_equal(node_client_guard_count(f->guard), 0);
}

//  Destroyed with a snapshot and a deflect at the PBX: their answers come into nothing.
static void answers_after_destroy_find_nothing(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "105", "test");
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_delivered(f, "101", 5, "101");
    assert_int_equal(f->pbx->requests, 2);
    node_client_guard_destroy(&f->guard);
    assert_true(f->pbx->watch[0].unwatched);
    csta_snapshot_device_item_t it;
    s_item(&it, 1, "101", CSTA_LCS_ALERTING);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, &it, 1);
    s_answer(f, 1, CSTA_OP_DEFLECT_CALL, NULL, 0);
    assert_int_equal(f->pbx->requests, 2);
}


//  --- Lines of a lost node's expired sessions (the cluster) ---------------------------------

static double s_lost_redirects(fx_t *f, const char *result)
{
    node_metric_t *m = node_metrics_counter(f->metrics, "client_lost_node_redirects", "",
                                            "result");
    return node_metric_value(m, (const char *[]){result});
}

static void s_count_line(void *ctx, const char *line, const char *failure_number, bool guarded)
{
    assert_string_equal(line, "101");
    assert_string_equal(failure_number, "105");
    assert_false(guarded);          //  not holding the link
    (*(int *) ctx)++;
}

//  Every node remembers the line; only the link's holder watches it and deflects.
static void lost_line_is_guarded_only_while_holding_the_link(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_client_guard_lost_line(f->guard, "101", "105", "node a lost"), 0);
    assert_false(node_client_guard_guards(f->guard, "101"));
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 0);
    int n = 0;
    assert_int_equal(node_client_guard_lost_lines(f->guard, s_count_line, &n), 1);
    assert_int_equal(n, 1);
    node_client_guard_hold(f->guard, true);
    assert_true(node_client_guard_guards(f->guard, "101"));
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 1);
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    csta_snapshot_device_item_t item;
    s_item(&item, 1, "101", CSTA_LCS_ALERTING);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, &item, 1);  //  ringing already: deflected
    s_expect_deflect(f, 1, 1, "101", "105");
    s_answer(f, 1, CSTA_OP_DEFLECT_CALL, NULL, 0);
    s_delivered(f, "101", 2, "101");                    //  a later call too
    s_expect_deflect(f, 2, 2, "101", "105");
    s_answer(f, 2, CSTA_OP_DEFLECT_CALL, NULL, 0);
    assert_int_equal(s_redirects(f, "ok"), 2);
    assert_int_equal(s_lost_redirects(f, "ok"), 2);
    char *text = s_status(f);
    assert_non_null(strstr(text, "\"lost_node\":true"));
    free(text);
}

//  The link moves: the old holder stops (and keeps the line in mind), the new one guards.
static void lost_line_follows_the_link(void **state)
{
    fx_t *f = *state;
    node_client_guard_hold(f->guard, true);
    assert_int_equal(node_client_guard_lost_line(f->guard, "101", "105", "node a lost"), 0);
    assert_true(node_client_guard_guards(f->guard, "101"));     //  holder: at once
    node_client_guard_hold(f->guard, false);
    assert_false(node_client_guard_guards(f->guard, "101"));
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 0);
    s_delivered(f, "101", 3, "101");
    assert_int_equal(f->pbx->requests, 0);
    assert_int_equal(node_client_guard_lost_lines(f->guard, NULL, NULL), 1);
    node_client_guard_hold(f->guard, true);                     //  the link back here
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 1);
}

//  Open again somewhere in the cluster (forget) or here (release): no more redirects.
static void lost_line_forgotten_or_released_stops(void **state)
{
    fx_t *f = *state;
    node_client_guard_hold(f->guard, true);
    node_client_guard_lost_line(f->guard, "101", "105", "node a lost");
    node_client_guard_lost_line(f->guard, "102", "105", "node a lost");
    assert_true(node_client_guard_forget(f->guard, "101"));
    assert_false(node_client_guard_forget(f->guard, "101"));
    assert_false(node_client_guard_guards(f->guard, "101"));
    assert_int_equal(fake_pbx_live_watches(f->pbx, "101"), 0);
    assert_true(node_client_guard_release(f->guard, "102"));
    assert_int_equal(node_client_guard_lost_lines(f->guard, NULL, NULL), 0);
    node_client_guard_hold(f->guard, false);
    node_client_guard_hold(f->guard, true);
    assert_int_equal(node_client_guard_count(f->guard), 0);
    assert_int_equal(fake_pbx_live_watches(f->pbx, "102"), 0);
}

//  A line guarded for a local failure stays so when it is also a lost node's, and when the
//  link goes; forgetting the lost node's copy leaves it.
static void local_failure_guard_is_not_taken_by_a_lost_line(void **state)
{
    fx_t *f = *state;
    node_client_guard_protect(f->guard, "101", "106", "app failed here");
    node_client_guard_hold(f->guard, true);
    assert_int_equal(node_client_guard_lost_line(f->guard, "101", "105", "node a lost"), 0);
    node_client_guard_hold(f->guard, false);
    assert_true(node_client_guard_guards(f->guard, "101"));
    assert_true(node_client_guard_forget(f->guard, "101"));
    assert_true(node_client_guard_guards(f->guard, "101"));
    fake_pbx_watch_done(f->pbx, 0, 0, NULL, 0);
    s_answer(f, 0, CSTA_OP_SNAPSHOT_DEVICE, NULL, 0);
    s_delivered(f, "101", 4, "101");
    s_expect_deflect(f, 1, 4, "101", "106");
    s_answer(f, 1, CSTA_OP_DEFLECT_CALL, NULL, 0);
    assert_int_equal(s_lost_redirects(f, "ok"), 0);
    assert_int_equal(node_client_guard_lost_line(f->guard, "", "105", "x"), -EINVAL);
    assert_int_equal(node_client_guard_lost_line(f->guard, "101", NULL, "x"), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ringing_calls_are_deflected_once_monitored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(delivered_here_is_deflected_and_only_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_redirect_may_be_tried_again, setup, teardown),
        cmocka_unit_test_setup_teardown(link_back_snapshots_again, setup, teardown),
        cmocka_unit_test_setup_teardown(events_after_a_failed_monitor_are_acted_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(release_unwatches_and_late_answers_find_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(protect_again_takes_the_new_number, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(answers_after_destroy_find_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_line_is_guarded_only_while_holding_the_link, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lost_line_follows_the_link, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_line_forgotten_or_released_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(local_failure_guard_is_not_taken_by_a_lost_line, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
