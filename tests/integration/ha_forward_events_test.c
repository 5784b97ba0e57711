//  The event side of forwarding end to end (issue 6): a pair of ctimd on pbxsim (one link at
//  a time), a holding the link, a libctim application on the standby b.
//
//  - a_lost_event_makes_the_standby_snapshot_its_lines: a runs with the test-only knob
//    CTIM_TEST_DROP_EVENT=Established (node/README.md "Test knobs"): the Established of the
//    call answered at 101 is numbered but never sent to b.  The application still sees the
//    call offering; the next event b gets (a call at 102) reveals the gap, b snapshots the
//    devices through a and the application's line 101 turns connected (a snapshot event) —
//    without the snapshot it would stay offering.  b counts one gap of one event.
//  - owner_link_drop_keeps_standby_lines_out_until_monitored_again: pbxsim drops a's link
//    while it holds every answer back for 1 s; a reconnects at once but its MonitorStarts are
//    answered a second later.  The application's lines on b go out of service and come back
//    only once a has monitored the devices again (a's WatchResult after its own re-monitor):
//    not when a's link is up (what b reported before).
//
//  - standby_application_gets_cdr_records_through_the_owner: set_cdr on b is a StartCDR on
//    a's link for b; the PBX's record of a call finished later reaches b's application;
//    an application on a is refused CDR while b's holds it and gets it after; kill -9 of a:
//    b takes the link and its application's CDR with it.
//
//  - csta_app_on_the_standby_is_back_in_service_only_once_monitored_again: the same link
//    drop for a CSTA application on b: OutOfService on its monitor, then BackInService only
//    once pbxsim has the device monitored again (`monitors`), DELAY_MS after a's link is up.
//  - a_lost_event_takes_a_csta_monitor_out_of_and_back_in_service: the Established of 101
//    lost on the way to b: b's CSTA application hears OutOfService then BackInService on its
//    monitor of 101 (so that it snapshots, as CSTA applications do on BackInService), and
//    b counts the stale monitor.
//
//  - standby_line_opened_during_a_call_reads_a_segmented_snapshot: pbxsim answers
//    SnapshotDevice in segments; a line opened on b during a call gets it as a snapshot
//    event (the segments come through a, b's node_pbx collects them).
//
//  Each checks pbxsim's link history for two links at once.  Every wait has a deadline.
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
#include "csta_client.h"
#include "ha_test_util.h"

#define WAIT_MS 15000
#define HB_MS 1000                  //  the application's heartbeat
#define DELAY_MS 1000               //  pbxsim's held answers in the link drop test

static test_app_t s_app;
static bool s_app_up;
static csta_client_t *s_csta_app;

static int teardown(void **state)
{
    if (s_app_up)
        test_app_destroy(&s_app);
    s_app_up = false;
    csta_client_destroy(&s_csta_app);
    return ha_teardown(state);
}

static void s_ctl(ha_fx_t *f, const char *command, char *reply, size_t cap)
{
    if (test_pbxsim_ctl(&f->sim, reply, cap, "%s", command) != 0)
        fail_msg("pbxsim ctl %s: %s", command, reply);
}

//  A pair on pbxsim (one link) made with flags (HA_FX_CLIENTS, HA_FX_CSTA); a holds the
//  link (started with drop_event as CTIM_TEST_DROP_EVENT, NULL: none) and b forwards.
static ha_fx_t *s_pair_of(const char *drop_event, unsigned flags)
{
    static const char *const args[] = {"--max-links", "1", "--extensions", "101-120", NULL};
    static const int prio[] = {1, 2};
    ha_fx_t *f = ha_fx_new_in(2, prio, args, flags);
    if (drop_event)
        setenv("CTIM_TEST_DROP_EVENT", drop_event, 1);
    ha_node_start(f, 0);
    unsetenv("CTIM_TEST_DROP_EVENT");
    ha_node_start(f, 1);
    ha_wait_holder(f, 0, HA_WAIT_MS);
    ha_wait_standby(f, 1, "a", 1);
    ha_wait_forwarding(f, 1, "a");
    return f;
}

//  s_pair_of with the client API; the application on b has lines 101 and 102 open, in
//  service.
static ha_fx_t *s_pair(const char *drop_event)
{
    ha_fx_t *f = s_pair_of(drop_event, HA_FX_CLIENTS);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", f->node[1].client_port);
    assert_int_equal(test_app_connect(&s_app, ep, HB_MS), 0);
    s_app_up = true;
    static const char *const lines[] = {"101", "102"};
    for (size_t i = 0; i < 2; i++) {
        test_ctim_reply_t r;
        assert_true(test_app_reply(&s_app, ctim_open_line(s_app.ctim, lines[i], NULL), &r));
        assert_int_equal(r.result, CTIM_RESULT_OK);
    }
    for (size_t i = 0; i < 2; i++)
        assert_true(test_app_wait_service(&s_app, lines[i], true, test_now_ms() + WAIT_MS));
    return f;
}

//  A counter in node i's /metrics (the whole series name with its labels), or -1.
static double s_metric(ha_fx_t *f, size_t i, const char *series)
{
    int code = 0;
    if (test_http_get(f->node[i].host, f->node[i].http_port, "/metrics", 2000, &code, f->body,
                      sizeof f->body) != 0 || code != 200)
        return -1;
    const char *p = strstr(f->body, series);
    return p ? strtod(p + strlen(series), NULL) : -1;
}

static void a_lost_event_makes_the_standby_snapshot_its_lines(void **state)
{
    (void) state;
    ha_fx_t *f = s_pair("Established");
    char reply[4096];
    s_ctl(f, "dial 104 101", reply, sizeof reply);
    test_ctim_event_t offer;
    assert_true(test_app_skip_to(&s_app, "101", CTIM_CALL_OFFERING, &offer));
    assert_string_equal(offer.caller, "104");
    assert_false(offer.snapshot);
    //  101 answers: its Established never reaches b.  pbxsim has the call connected.
    s_ctl(f, "answer 101", reply, sizeof reply);
    long long quiet = test_now_ms() + 300;
    while (test_now_ms() < quiet)
        test_app_turn(&s_app, quiet);
    test_ctim_event_t e;
    for (size_t k = 0; k < s_app.ev_count; k++)
        assert_true(strcmp(s_app.ev[k].line, "101") != 0 ||
                    s_app.ev[k].state != CTIM_CALL_CONNECTED);
    assert_true(s_metric(f, 1, "ctim_ha_forward_event_gaps_total{pbx=\"main\"} ") == 0);

    //  The next event for b (a call at 102) shows the gap: b snapshots 101 and 102 through
    //  a, and the application's 101 is connected — told by a snapshot event.
    s_ctl(f, "dial 105 102", reply, sizeof reply);
    assert_true(test_app_skip_to(&s_app, "101", CTIM_CALL_CONNECTED, &e));
    assert_true(e.snapshot);
    assert_string_equal(e.call_id, offer.call_id);
    test_ctim_event_t ring;
    assert_true(test_app_skip_to(&s_app, "102", CTIM_CALL_OFFERING, &ring));
    assert_string_equal(ring.caller, "105");
    assert_true(s_metric(f, 1, "ctim_ha_forward_event_gaps_total{pbx=\"main\"} ") == 1);
    assert_true(s_metric(f, 1, "ctim_ha_forward_events_lost_total{pbx=\"main\"} ") == 1);
    //  The call ends as it should from there on (events flow again).
    s_ctl(f, "hangup 104", reply, sizeof reply);
    assert_true(test_app_skip_to(&s_app, "101", CTIM_CALL_IDLE, &e));
    assert_string_equal(e.call_id, offer.call_id);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 1);
}

//  pbxsim's monitor count for dev (the application keeps running meanwhile).
static long s_monitors(ha_fx_t *f, const char *dev)
{
    char reply[4096];
    if (test_pbxsim_ctl(&f->sim, reply, sizeof reply, "monitors %s", dev) != 0)
        fail_msg("pbxsim ctl monitors %s: %s", dev, reply);
    return test_json_long(reply, "monitors", -1);
}

//  pbxsim drops a's link (101 was monitored) and holds every answer DELAY_MS from now on.
//  Returns when it dropped it.
static long long s_drop_held(ha_fx_t *f)
{
    assert_int_equal(s_monitors(f, "101"), 1);
    char reply[4096], delay[32];
    snprintf(delay, sizeof delay, "delay %d", DELAY_MS);
    s_ctl(f, delay, reply, sizeof reply);
    long long t0 = test_now_ms();
    s_ctl(f, "drop", reply, sizeof reply);
    return t0;
}

static void owner_link_drop_keeps_standby_lines_out_until_monitored_again(void **state)
{
    (void) state;
    ha_fx_t *f = s_pair(NULL);
    long long t0 = s_drop_held(f);
    char reply[4096];
    assert_true(test_app_wait_service(&s_app, "101", false, test_now_ms() + WAIT_MS));
    long long out_ms = test_now_ms() - t0;
    //  a is back on the PBX long before its MonitorStarts are answered.
    long long up_at = ha_wait_holder(f, 0, WAIT_MS);
    assert_true(test_app_wait_service(&s_app, "101", true, test_now_ms() + WAIT_MS));
    long long in_at = test_now_ms();
    //  Monitored again at pbxsim, and the answers (held DELAY_MS) came first.
    assert_int_equal(s_monitors(f, "101"), 1);
    assert_true(test_app_wait_service(&s_app, "102", true, test_now_ms() + WAIT_MS));
    assert_int_equal(s_monitors(f, "102"), 1);
    printf("owner's link dropped: the standby's line out of service after %lld ms; a's link "
           "up after %lld ms; the line in service after %lld ms (pbxsim holds answers %d ms)\n",
           out_ms, up_at - t0, in_at - t0, DELAY_MS);
    fflush(stdout);
    assert_true(in_at - up_at >= DELAY_MS - 250);
    s_ctl(f, "delay 0", reply, sizeof reply);
    //  The lines work: a call at 101 shows on b.
    s_ctl(f, "dial 104 101", reply, sizeof reply);
    test_ctim_event_t offer;
    assert_true(test_app_skip_to(&s_app, "101", CTIM_CALL_OFFERING, &offer));
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
}

//  s_pair_of with CSTA servers; a CSTA application on b monitors 101 and 102 (*x101, *x102).
static ha_fx_t *s_csta_pair(const char *drop_event, csta_xref_t *x101, csta_xref_t *x102)
{
    ha_fx_t *f = s_pair_of(drop_event, HA_FX_CSTA);
    csta_client_cfg_t cfg = {.host = "127.0.0.1",
                             .port = f->node[1].csta_port,
                             .user = TEST_CTIM_USER,
                             .password = TEST_CTIM_PASSWORD,
                             .timeout_ms = WAIT_MS,
                             .keep_system_status = true};
    s_csta_app = csta_client_new(&cfg);
    assert_non_null(s_csta_app);
    assert_int_equal(csta_client_connect(s_csta_app), 0);
    csta_xref_t *x[] = {x101, x102};
    const char *dev[] = {"101", "102"};
    for (size_t i = 0; i < 2; i++) {
        csta_apdu_t req, res;
        csta_apdu_init(&req, CSTA_APDU_INVOKE);
        req.opcode = CSTA_OP_MONITOR_START;
        csta_device_set(&req.svc.monitor_start.device, dev[i]);
        assert_int_equal(csta_client_call(s_csta_app, &req, &res, WAIT_MS), 0);
        assert_int_equal(res.kind, CSTA_APDU_RESULT);
        *x[i] = res.svc.monitor_start_res.xref;
        csta_apdu_clear(&res);
    }
    return f;
}

//  Read the CSTA application's events until both monitors had OutOfService then
//  BackInService (other events skipped; anything else on them fails), checking pbxsim's
//  monitor of each device when its BackInService arrives.  Returns when the first
//  BackInService came (test_now_ms), and in *up_at when SystemStatus normal followed
//  SystemStatus disabled (the owner's link up, as b sees it), if it did.  Fails after
//  WAIT_MS.
static long long s_out_then_in(ha_fx_t *f, const csta_xref_t *x101, const csta_xref_t *x102,
                               long long *up_at)
{
    const csta_xref_t *x[2] = {x101, x102};
    const char *dev[2] = {"101", "102"};
    int seen[2] = {0, 0};       //  0 nothing, 1 OutOfService, 2 then BackInService
    long long first_in = 0, deadline = test_now_ms() + WAIT_MS;
    bool disabled = false;
    *up_at = 0;
    while (seen[0] < 2 || seen[1] < 2) {
        long long left = deadline - test_now_ms();
        assert_true(left > 0);
        csta_apdu_t ev;
        assert_int_equal(csta_client_next_event(s_csta_app, &ev, (int) left), 0);
        if (ev.kind == CSTA_APDU_INVOKE && ev.opcode == CSTA_OP_SYSTEM_STATUS) {
            if (ev.svc.system_status.status == CSTA_SYS_DISABLED)
                disabled = true;
            else if (disabled && !*up_at && ev.svc.system_status.status == CSTA_SYS_NORMAL)
                *up_at = test_now_ms();
        }
        for (size_t k = 0; k < 2; k++) {
            if (ev.kind != CSTA_APDU_INVOKE || ev.opcode != CSTA_OP_EVENT_REPORT ||
                !csta_xref_equal(&ev.event.xref, x[k]))
                continue;
            if (ev.event.type == CSTA_EV_OUT_OF_SERVICE) {
                assert_int_equal(seen[k], 0);
                seen[k] = 1;
            } else if (ev.event.type == CSTA_EV_BACK_IN_SERVICE) {
                assert_int_equal(seen[k], 1);
                seen[k] = 2;
                if (!first_in)
                    first_in = test_now_ms();
                assert_int_equal(s_monitors(f, dev[k]), 1);
            }
        }
        csta_apdu_clear(&ev);
    }
    return first_in;
}

static void csta_app_on_the_standby_is_back_in_service_only_once_monitored_again(void **state)
{
    (void) state;
    csta_xref_t x101, x102;
    ha_fx_t *f = s_csta_pair(NULL, &x101, &x102);
    long long t0 = s_drop_held(f);
    char reply[4096];
    //  Out of service at once, back in service only once pbxsim monitors each device again
    //  (its MonitorStart held DELAY_MS after a's link is up).
    long long up_at;
    long long in_at = s_out_then_in(f, &x101, &x102, &up_at);
    assert_true(up_at > 0);
    printf("owner's link dropped: a's link up after %lld ms; the standby's CSTA application's "
           "first BackInService after %lld ms (pbxsim holds answers %d ms)\n", up_at - t0,
           in_at - t0, DELAY_MS);
    fflush(stdout);
    assert_true(in_at - up_at >= DELAY_MS - 250);
    s_ctl(f, "delay 0", reply, sizeof reply);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
}

static double s_metric(ha_fx_t *f, size_t i, const char *series);

static void a_lost_event_takes_a_csta_monitor_out_of_and_back_in_service(void **state)
{
    (void) state;
    csta_xref_t x101, x102;
    ha_fx_t *f = s_csta_pair("Established", &x101, &x102);
    char reply[4096];
    s_ctl(f, "dial 104 101", reply, sizeof reply);
    s_ctl(f, "answer 101", reply, sizeof reply);
    //  The next event for b (a call at 102) shows the gap.
    s_ctl(f, "dial 105 102", reply, sizeof reply);
    long long up_at;
    s_out_then_in(f, &x101, &x102, &up_at);
    assert_true(s_metric(f, 1, "ctim_ha_forward_csta_stale_monitors_total{pbx=\"main\"} ") >= 1);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 1);
}

//  Through the owner, a SnapshotDevice that pbxsim answers in segments (ctl
//  snapshot-segments) reaches the standby's line snapshot as one result: a line opened on b
//  during a call shows it.
static void standby_line_opened_during_a_call_reads_a_segmented_snapshot(void **state)
{
    (void) state;
    ha_fx_t *f = s_pair(NULL);
    char reply[4096];
    s_ctl(f, "snapshot-segments 3", reply, sizeof reply);
    s_ctl(f, "dial 104 103", reply, sizeof reply);
    s_ctl(f, "answer 103", reply, sizeof reply);
    test_ctim_reply_t r;
    assert_true(test_app_reply(&s_app, ctim_open_line(s_app.ctim, "103", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    test_ctim_event_t e;
    assert_true(test_app_skip_to(&s_app, "103", CTIM_CALL_CONNECTED, &e));
    assert_true(e.snapshot);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 1);
}

//  Run the application's loop until it has `n` CDR records (or fail).
static void s_wait_cdrs(int n)
{
    long long deadline = test_now_ms() + WAIT_MS;
    while (s_app.cdr_count < n && test_now_ms() < deadline)
        test_app_turn(&s_app, deadline);
    assert_int_equal(s_app.cdr_count, n);
}

//  CDR for an application on the standby: its set_cdr goes to the owner, which runs CDR on
//  its link and forwards the PBX's records to b, whose application gets the record of a
//  finished call.  The claim is the cluster's one: an application on a is refused while
//  b's holds it, and gets it once b's gives it up.
static void standby_application_gets_cdr_records_through_the_owner(void **state)
{
    (void) state;
    ha_fx_t *f = s_pair(NULL);
    test_ctim_reply_t r;
    assert_true(test_app_reply(&s_app, ctim_set_cdr(s_app.ctim, true), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    //  a's own application cannot claim it meanwhile.
    test_app_t on_a;
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", f->node[0].client_port);
    assert_int_equal(test_app_connect(&on_a, ep, HB_MS), 0);
    assert_true(test_app_reply(&on_a, ctim_set_cdr(on_a.ctim, true), &r));
    assert_int_equal(r.result, CTIM_RESULT_BUSY);

    char reply[4096];
    s_ctl(f, "dial 101 102", reply, sizeof reply);
    test_ctim_event_t offer;
    assert_true(test_app_skip_to(&s_app, "102", CTIM_CALL_OFFERING, &offer));
    s_ctl(f, "answer 102", reply, sizeof reply);
    assert_true(test_app_skip_to(&s_app, "102", CTIM_CALL_CONNECTED, &offer));
    s_ctl(f, "hangup 101", reply, sizeof reply);
    s_wait_cdrs(1);
    assert_string_equal(s_app.cdr_caller, "101");
    assert_string_equal(s_app.cdr_called, "102");
    assert_string_equal(s_app.cdr_call_id, offer.call_id);
    assert_int_equal(on_a.cdr_count, 0);

    //  b's application gives CDR up: a's may have it now, and b's gets no more records.
    assert_true(test_app_reply(&s_app, ctim_set_cdr(s_app.ctim, false), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_reply(&on_a, ctim_set_cdr(on_a.ctim, true), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    s_ctl(f, "dial 103 104", reply, sizeof reply);
    s_ctl(f, "answer 104", reply, sizeof reply);
    s_ctl(f, "hangup 103", reply, sizeof reply);
    long long deadline = test_now_ms() + WAIT_MS;
    while (on_a.cdr_count < 1 && test_now_ms() < deadline) {
        test_app_turn(&on_a, test_now_ms() + 20);
        test_app_turn(&s_app, test_now_ms() + 5);
    }
    assert_int_equal(on_a.cdr_count, 1);
    assert_string_equal(on_a.cdr_caller, "103");
    assert_int_equal(s_app.cdr_count, 1);

    //  Back to b's application; then a is killed and b takes the link: its CDR claim goes
    //  with it (StartCDR again on b's own link) and the records keep coming.
    assert_true(test_app_reply(&on_a, ctim_set_cdr(on_a.ctim, false), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    test_app_destroy(&on_a);
    assert_true(test_app_reply(&s_app, ctim_set_cdr(s_app.ctim, true), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    ha_node_kill(f, 0);
    ha_wait_holder(f, 1, HA_WAIT_MS);
    assert_true(test_app_wait_service(&s_app, "101", true, test_now_ms() + WAIT_MS));
    s_ctl(f, "dial 105 106", reply, sizeof reply);
    s_ctl(f, "answer 106", reply, sizeof reply);
    s_ctl(f, "hangup 105", reply, sizeof reply);
    s_wait_cdrs(2);
    assert_string_equal(s_app.cdr_caller, "105");
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(a_lost_event_makes_the_standby_snapshot_its_lines, teardown),
        cmocka_unit_test_teardown(owner_link_drop_keeps_standby_lines_out_until_monitored_again,
                                  teardown),
        cmocka_unit_test_teardown(standby_application_gets_cdr_records_through_the_owner,
                                  teardown),
        cmocka_unit_test_teardown(standby_line_opened_during_a_call_reads_a_segmented_snapshot,
                                  teardown),
        cmocka_unit_test_teardown(
            csta_app_on_the_standby_is_back_in_service_only_once_monitored_again, teardown),
        cmocka_unit_test_teardown(a_lost_event_takes_a_csta_monitor_out_of_and_back_in_service,
                                  teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
