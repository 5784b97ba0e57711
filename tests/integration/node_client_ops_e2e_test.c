//  Every client API operation end to end: pbxsim (the reference PBX model), ctimd, and raw
//  client-protocol applications (tests/support/test_client).  For each operation the test
//  checks the Reply and the call states the application sees at every line involved, in
//  order: make call / answer / hold / retrieve / DTMF / hang up, the snapshot after
//  open_line, consultation with swap hold and complete transfer, conference with add and
//  remove, blind transfer, redirect, directed and group pickup, dial in dial-tone mode,
//  busy with call back and intrusion, forwarding in its nine modes with the forwarding
//  events and a forwarded call, do not disturb, address status, call info, list lines,
//  CDR to its owner only, number formatting both ways, and the errors: bad call id, line
//  not open, forbidden device, a PBX error mapped.
//
//  Every wait is on a condition with a deadline; ctimd and pbxsim are stopped after each
//  test, also a failed one.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <czmq.h>

#include "proto.h"
#include "node_client_util.h"
#include "test_client.h"

#define WAIT_MS 10000
#define APPS_MAX 3

typedef struct {
    nc_world_t w;                   //  pbxsim and ctimd
    test_client_t *app[APPS_MAX];
} ct_t;

static char s_devices[128];

static int group_setup(void **state)
{
    (void) state;
    if (nc_group_setup("clientops") != 0)
        return -1;
    snprintf(s_devices, sizeof s_devices, "%s/devices.yaml", nc_dir);
    FILE *f = fopen(s_devices, "w");
    if (!f)
        return -1;
    //  A pickup group for group pickup; two CO lines for calls outside.
    fprintf(f, "extensions:\n  - range: 101-110\ntrunks: 2\ngroups:\n"
               "  - number: \"700\"\n    type: pickup\n    members: [\"101\", \"102\", \"103\"]\n");
    fclose(f);
    return 0;
}

static int group_teardown(void **state)
{
    (void) state;
    return nc_group_teardown();
}

static int setup(void **state)
{
    ct_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    const char *const args[] = {"--devices", s_devices, "--remote-answer-ms", "-1", NULL};
    return nc_start(&t->w, "opstest", args, NULL, "101-103",
                    "numbers:\n  location:\n    country_code: \"49\"\n    area_code: \"30\"\n"
                    "    local_prefix: \"0\"\n");
}

static int teardown(void **state)
{
    ct_t *t = *state;
    if (!t)
        return 0;
    for (int i = 0; i < APPS_MAX; i++)
        if (t->app[i]) {
            if (test_client_anomalies(t->app[i]))
                fprintf(stderr, "app %d: %zu protocol anomalies\n", i,
                        test_client_anomalies(t->app[i]));
            test_client_destroy(&t->app[i]);
        }
    nc_stop(&t->w);
    free(t);
    return 0;
}

//  --- Requests -------------------------------------------------------------------------------

static test_client_t *s_app_hb(ct_t *t, int i, const char *user, uint32_t heartbeat_ms)
{
    t->app[i] = test_client_new(t->w.node.client_port);
    assert_non_null(t->app[i]);
    assert_int_equal(test_client_login(t->app[i], user, "crm-secret", heartbeat_ms, WAIT_MS), 0);
    return t->app[i];
}

static test_client_t *s_app(ct_t *t, int i, const char *user)
{
    return s_app_hb(t, i, user, 10000);
}

//  Send rq and return its Result; the reply's call id (if any) goes to call_id.
static int s_do(test_client_t *c, proto_request_t rq, char *call_id)
{
    proto_client_msg_t m;
    int r = test_client_call(c, &rq, &m, WAIT_MS);
    if (r < 0)
        fail_msg("no reply to %s", proto_op_str(rq.op));
    if (call_id)
        snprintf(call_id, PROTO_CALL_ID_MAX + 1, "%s", m.reply.call_id);
    if (r != PROTO_RESULT_OK)
        fprintf(stderr, "%s: %s (%s)\n", proto_op_str(rq.op), proto_result_str(r), m.reply.text);
    proto_client_msg_clear(&m);
    return r;
}

static proto_request_t s_line_rq(proto_op_t op, const char *line)
{
    proto_request_t rq = {.op = op};
    if (op == PROTO_OP_OPEN_LINE)
        snprintf(rq.open_line.line, sizeof rq.open_line.line, "%s", line);
    else
        snprintf(rq.line.line, sizeof rq.line.line, "%s", line);
    return rq;
}

static proto_request_t s_call_rq(proto_op_t op, const char *line, const char *call_id)
{
    proto_request_t rq = {.op = op};
    snprintf(rq.call.line, sizeof rq.call.line, "%s", line);
    snprintf(rq.call.call_id, sizeof rq.call.call_id, "%s", call_id);
    return rq;
}

static proto_request_t s_target_rq(proto_op_t op, const char *line, const char *call_id,
                                   const char *number)
{
    proto_request_t rq = {.op = op};
    snprintf(rq.target.line, sizeof rq.target.line, "%s", line);
    snprintf(rq.target.call_id, sizeof rq.target.call_id, "%s", call_id);
    snprintf(rq.target.number, sizeof rq.target.number, "%s", number);
    return rq;
}

static proto_request_t s_pair_rq(proto_op_t op, const char *line, const char *held,
                                 const char *active)
{
    proto_request_t rq = {.op = op};
    snprintf(rq.pair.line, sizeof rq.pair.line, "%s", line);
    snprintf(rq.pair.held_call_id, sizeof rq.pair.held_call_id, "%s", held);
    snprintf(rq.pair.active_call_id, sizeof rq.pair.active_call_id, "%s", active);
    return rq;
}

static proto_request_t s_digits_rq(proto_op_t op, const char *line, const char *call_id,
                                   const char *digits)
{
    proto_request_t rq = {.op = op};
    snprintf(rq.digits.line, sizeof rq.digits.line, "%s", line);
    snprintf(rq.digits.call_id, sizeof rq.digits.call_id, "%s", call_id);
    snprintf(rq.digits.digits, sizeof rq.digits.digits, "%s", digits);
    return rq;
}

static void s_open(test_client_t *c, const char *line)
{
    assert_int_equal(s_do(c, s_line_rq(PROTO_OP_OPEN_LINE, line), NULL), PROTO_RESULT_OK);
}

//  The next call event at line must be in state (and on call_id when given).
static proto_call_info_t s_expect(test_client_t *c, const char *line, proto_call_state_t state,
                                  const char *call_id)
{
    proto_event_t e;
    if (test_client_next_call(c, line, &e, WAIT_MS) != 0)
        fail_msg("line %s: no event; %s expected", line, proto_call_state_str(state));
    if (e.call.state != state)
        fail_msg("line %s: %s (call %s, cause %s) where %s was expected", line,
                 proto_call_state_str(e.call.state), e.call.call_id, e.call.cause,
                 proto_call_state_str(state));
    if (call_id && strcmp(e.call.call_id, call_id) != 0)
        fail_msg("line %s: %s on call %s, expected on %s", line, proto_call_state_str(state),
                 e.call.call_id, call_id);
    assert_false(e.snapshot);
    return e.call;
}

//  from calls to (both lines open in c): the states each sees up to ringing.  Returns the
//  call id (from the reply; the events carry the same).
static void s_make_call(test_client_t *c, const char *from, const char *to, char *call_id)
{
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_MAKE_CALL, from, "", to), call_id),
                     PROTO_RESULT_OK);
    assert_true(call_id[0] != '\0');
    s_expect(c, from, PROTO_CALL_DIAL_TONE, call_id);
    s_expect(c, from, PROTO_CALL_DIALLING, call_id);
    proto_call_info_t ring = s_expect(c, from, PROTO_CALL_RINGBACK, call_id);
    assert_string_equal(ring.caller_number, from);
    assert_string_equal(ring.called_number, to);
    assert_int_equal(ring.direction, PROTO_DIR_INTERNAL);
    proto_call_info_t offer = s_expect(c, to, PROTO_CALL_OFFERING, call_id);
    assert_string_equal(offer.caller_number, from);
    assert_int_equal(offer.direction, PROTO_DIR_INTERNAL);
}

//  from calls to and to answers: both connected.
static void s_connected_call(test_client_t *c, const char *from, const char *to, char *call_id)
{
    s_make_call(c, from, to, call_id);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, to, call_id), NULL), PROTO_RESULT_OK);
    s_expect(c, from, PROTO_CALL_CONNECTED, call_id);
    s_expect(c, to, PROTO_CALL_CONNECTED, call_id);
}

static void s_hang_up(test_client_t *c, const char *line, const char *call_id)
{
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_HANG_UP, line, call_id), NULL), PROTO_RESULT_OK);
}

//  `line` hangs up the two-party call with `other`: both see disconnected, then idle.
static void s_end_call(test_client_t *c, const char *line, const char *other, const char *id)
{
    s_hang_up(c, line, id);
    s_expect(c, line, PROTO_CALL_DISCONNECTED, id);
    s_expect(c, line, PROTO_CALL_IDLE, id);
    s_expect(c, other, PROTO_CALL_DISCONNECTED, id);
    s_expect(c, other, PROTO_CALL_IDLE, id);
}

//  --- Tests ---------------------------------------------------------------------------------

//  Make call, answer, call info, hold, retrieve, DTMF, hang up: states at both lines.
static void test_basic_call(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    s_open(c, "101");
    s_open(c, "102");
    char id[PROTO_CALL_ID_MAX + 1];
    s_make_call(c, "101", "102", id);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, "102", id), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, id);
    proto_call_info_t conn = s_expect(c, "102", PROTO_CALL_CONNECTED, id);
    assert_string_equal(conn.caller_name, "Extension 101");     //  learned from the PBX
    assert_string_equal(conn.called_name, "Extension 102");

    proto_request_t rq = s_call_rq(PROTO_OP_GET_CALL_INFO, "102", id);
    proto_client_msg_t m;
    assert_int_equal(test_client_call(c, &rq, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_true(m.reply.has_call);
    assert_string_equal(m.reply.call.call_id, id);
    assert_int_equal(m.reply.call.state, PROTO_CALL_CONNECTED);
    assert_string_equal(m.reply.call.caller_number, "101");
    assert_int_equal(m.reply.call.direction, PROTO_DIR_INTERNAL);
    proto_client_msg_clear(&m);

    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_HOLD, "101", id), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_ON_HOLD, id);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_RETRIEVE, "101", id), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, id);
    assert_int_equal(s_do(c, s_digits_rq(PROTO_OP_DTMF, "101", id, "12#"), NULL),
                     PROTO_RESULT_OK);
    //  Retrieving a call that is not held: the PBX's stateIncompatibility, mapped.
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_RETRIEVE, "101", id), NULL),
                     PROTO_RESULT_INVALID_STATE);

    s_end_call(c, "101", "102", id);
    rq = s_call_rq(PROTO_OP_GET_CALL_INFO, "102", id);
    assert_int_equal(s_do(c, rq, NULL), PROTO_RESULT_INVALID_CALL);
    //  The call is gone at the PBX too.
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_HANG_UP, "101", id), NULL),
                     PROTO_RESULT_INVALID_CALL);
    assert_int_equal(test_client_anomalies(c), 0);
}

//  A call ringing before the line is opened comes as a snapshot event right after the
//  open_line reply, and can be answered (what `ctim answer 101` needs).
static void test_snapshot_after_open(void **state)
{
    ct_t *t = *state;
    nc_ctl(&t->w, "dial %s %s", "101", "102");
    test_client_t *c = s_app(t, 0, "crm");
    proto_request_t rq = s_line_rq(PROTO_OP_OPEN_LINE, "102");
    snprintf(rq.open_line.failure_number, sizeof rq.open_line.failure_number, "109");
    proto_client_msg_t m;
    assert_int_equal(test_client_call(c, &rq, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_int_equal(m.reply.line_count, 1);
    assert_string_equal(m.reply.lines[0].line, "102");
    assert_string_equal(m.reply.lines[0].name, "Extension 102");
    assert_true(m.reply.lines[0].open);
    assert_true(m.reply.lines[0].in_service);
    assert_string_equal(m.reply.lines[0].failure_number, "109");
    proto_client_msg_clear(&m);
    proto_event_t e;
    assert_int_equal(test_client_next_call(c, "102", &e, WAIT_MS), 0);
    assert_true(e.snapshot);
    assert_int_equal(e.call.state, PROTO_CALL_OFFERING);
    assert_string_equal(e.call.caller_number, "101");
    assert_string_equal(e.call.caller_name, "Extension 101");
    assert_int_equal(e.call.direction, PROTO_DIR_INTERNAL);
    char id[PROTO_CALL_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", e.call.call_id);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, "102", id), NULL), PROTO_RESULT_OK);
    s_expect(c, "102", PROTO_CALL_CONNECTED, id);
    //  The other end, opened now: its connected call as a snapshot.
    s_open(c, "101");
    assert_int_equal(test_client_next_call(c, "101", &e, WAIT_MS), 0);
    assert_true(e.snapshot);
    assert_int_equal(e.call.state, PROTO_CALL_CONNECTED);
    assert_string_equal(e.call.call_id, id);
}

//  Consultation (setup_transfer), swap hold twice, complete transfer: every line's view.
static void test_consultation_transfer(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    s_open(c, "101");
    s_open(c, "102");
    s_open(c, "103");
    char a[PROTO_CALL_ID_MAX + 1], b[PROTO_CALL_ID_MAX + 1], r[PROTO_CALL_ID_MAX + 1];
    s_connected_call(c, "101", "102", a);
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_SETUP_TRANSFER, "101", a, "103"), b),
                     PROTO_RESULT_OK);
    assert_true(b[0] != '\0' && strcmp(a, b) != 0);     //  the consultation call
    s_expect(c, "101", PROTO_CALL_ON_HOLD_PENDING_TRANSFER, a);
    s_expect(c, "101", PROTO_CALL_DIAL_TONE, b);
    s_expect(c, "101", PROTO_CALL_DIALLING, b);
    s_expect(c, "101", PROTO_CALL_RINGBACK, b);
    s_expect(c, "103", PROTO_CALL_OFFERING, b);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, "103", b), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, b);
    s_expect(c, "103", PROTO_CALL_CONNECTED, b);
    //  Swap: back to 102, then to 103 again.
    assert_int_equal(s_do(c, s_pair_rq(PROTO_OP_SWAP_HOLD, "101", a, b), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_ON_HOLD, b);
    s_expect(c, "101", PROTO_CALL_CONNECTED, a);
    assert_int_equal(s_do(c, s_pair_rq(PROTO_OP_SWAP_HOLD, "101", b, a), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_ON_HOLD, a);
    s_expect(c, "101", PROTO_CALL_CONNECTED, b);
    assert_int_equal(s_do(c, s_pair_rq(PROTO_OP_COMPLETE_TRANSFER, "101", a, b), r),
                     PROTO_RESULT_OK);
    assert_string_equal(r, a);      //  pbxsim keeps the held call's id
    s_expect(c, "101", PROTO_CALL_IDLE, a);
    s_expect(c, "101", PROTO_CALL_IDLE, b);
    proto_call_info_t at102 = s_expect(c, "102", PROTO_CALL_CONNECTED, a);
    assert_string_equal(at102.caller_number, "103");    //  102's far end is 103 now
    proto_call_info_t at103 = s_expect(c, "103", PROTO_CALL_CONNECTED, a);
    assert_string_equal(at103.caller_number, "102");
    s_expect(c, "103", PROTO_CALL_IDLE, b);
    s_end_call(c, "102", "103", a);
}

//  Consultation, complete conference, add a fourth party, remove parties again.
static void test_conference(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    const char *lines[] = {"101", "102", "103", "104"};
    for (int i = 0; i < 4; i++)
        s_open(c, lines[i]);
    char a[PROTO_CALL_ID_MAX + 1], b[PROTO_CALL_ID_MAX + 1], r[PROTO_CALL_ID_MAX + 1];
    s_connected_call(c, "101", "102", a);
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_SETUP_TRANSFER, "101", a, "103"), b),
                     PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_ON_HOLD_PENDING_TRANSFER, a);
    s_expect(c, "101", PROTO_CALL_DIAL_TONE, b);
    s_expect(c, "101", PROTO_CALL_DIALLING, b);
    s_expect(c, "101", PROTO_CALL_RINGBACK, b);
    s_expect(c, "103", PROTO_CALL_OFFERING, b);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, "103", b), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, b);
    s_expect(c, "103", PROTO_CALL_CONNECTED, b);
    assert_int_equal(s_do(c, s_pair_rq(PROTO_OP_COMPLETE_CONFERENCE, "101", a, b), r),
                     PROTO_RESULT_OK);
    assert_string_equal(r, a);
    s_expect(c, "101", PROTO_CALL_CONFERENCED, a);
    s_expect(c, "101", PROTO_CALL_IDLE, b);
    s_expect(c, "102", PROTO_CALL_CONFERENCED, a);
    s_expect(c, "103", PROTO_CALL_CONFERENCED, a);
    s_expect(c, "103", PROTO_CALL_IDLE, b);
    //  A fourth party joins at once (SingleStepConference).
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_ADD_TO_CONFERENCE, "101", a, "104"), r),
                     PROTO_RESULT_OK);
    assert_string_equal(r, a);
    s_expect(c, "104", PROTO_CALL_CONFERENCED, a);
    //  It leaves again: the three others stay conferenced (no event for them).
    assert_int_equal(
        s_do(c, s_target_rq(PROTO_OP_REMOVE_FROM_CONFERENCE, "101", a, "104"), NULL),
        PROTO_RESULT_OK);
    s_expect(c, "104", PROTO_CALL_DISCONNECTED, a);
    s_expect(c, "104", PROTO_CALL_IDLE, a);
    //  103 is removed: a plain call of two is left.
    assert_int_equal(
        s_do(c, s_target_rq(PROTO_OP_REMOVE_FROM_CONFERENCE, "101", a, "103"), NULL),
        PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, a);
    s_expect(c, "102", PROTO_CALL_CONNECTED, a);
    s_expect(c, "103", PROTO_CALL_DISCONNECTED, a);
    s_expect(c, "103", PROTO_CALL_IDLE, a);
    //  Removing a party that is not there: the PBX's error.
    assert_int_equal(
        s_do(c, s_target_rq(PROTO_OP_REMOVE_FROM_CONFERENCE, "101", a, "105"), NULL),
        PROTO_RESULT_INVALID_CALL);
}

//  Blind transfer, redirect of a ringing call, directed and group pickup.
static void test_transfer_redirect_pickup(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    const char *lines[] = {"101", "102", "103", "104", "105", "106"};
    for (int i = 0; i < 6; i++)
        s_open(c, lines[i]);
    char a[PROTO_CALL_ID_MAX + 1], r[PROTO_CALL_ID_MAX + 1];
    //  102 hands 101 over to 103 in one step.
    s_connected_call(c, "101", "102", a);
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_BLIND_TRANSFER, "102", a, "103"), r),
                     PROTO_RESULT_OK);
    s_expect(c, "102", PROTO_CALL_IDLE, a);
    proto_call_info_t at101 = s_expect(c, "101", PROTO_CALL_CONNECTED, a);
    assert_string_equal(at101.called_number, "103");
    s_expect(c, "101", PROTO_CALL_RINGBACK, a);
    proto_call_info_t at103 = s_expect(c, "103", PROTO_CALL_OFFERING, a);
    assert_string_equal(at103.caller_number, "101");
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, "103", a), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, a);
    s_expect(c, "103", PROTO_CALL_CONNECTED, a);
    s_end_call(c, "101", "103", a);

    //  105 deflects 104's ringing call to 106.
    s_make_call(c, "104", "105", a);
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_REDIRECT, "105", a, "106"), NULL),
                     PROTO_RESULT_OK);
    proto_call_info_t gone = s_expect(c, "105", PROTO_CALL_IDLE, a);
    assert_string_equal(gone.cause, "redirected");
    proto_call_info_t offer = s_expect(c, "106", PROTO_CALL_OFFERING, a);
    assert_string_equal(offer.caller_number, "104");
    assert_string_equal(offer.called_number, "105");    //  what 104 dialled
    assert_string_equal(offer.cause, "redirected");
    s_end_call(c, "104", "106", a);

    //  103 picks up the call ringing at 101 (the node finds its call id).
    s_make_call(c, "104", "101", a);
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_PICKUP, "103", "", "101"), r),
                     PROTO_RESULT_OK);
    assert_string_equal(r, a);
    gone = s_expect(c, "101", PROTO_CALL_IDLE, a);
    assert_string_equal(gone.cause, "callPickup");
    s_expect(c, "104", PROTO_CALL_CONNECTED, a);
    proto_call_info_t picked = s_expect(c, "103", PROTO_CALL_CONNECTED, a);
    assert_string_equal(picked.caller_number, "104");
    s_end_call(c, "103", "104", a);

    //  101 picks up whatever rings in its pickup group (102 here).
    s_make_call(c, "105", "102", a);
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_PICKUP, "101", "", ""), r), PROTO_RESULT_OK);
    assert_string_equal(r, a);
    s_expect(c, "102", PROTO_CALL_IDLE, a);
    s_expect(c, "105", PROTO_CALL_CONNECTED, a);
    s_expect(c, "101", PROTO_CALL_CONNECTED, a);
    //  Nothing rings in the group now: the PBX's error.
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_PICKUP, "103", "", ""), NULL),
                     PROTO_RESULT_INVALID_STATE);
}

//  Dial tone then DialDigits; a busy destination; call back and intrusion on it.
static void test_dial_digits_busy_callback_intrusion(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    const char *lines[] = {"101", "102", "103", "104"};
    for (int i = 0; i < 4; i++)
        s_open(c, lines[i]);
    //  Off-hook at 101 (dial tone), the number dialled through the client API.
    nc_ctl(&t->w, "dial %s%s", "101", "");
    proto_call_info_t tone = s_expect(c, "101", PROTO_CALL_DIAL_TONE, NULL);
    char a[PROTO_CALL_ID_MAX + 1], r[PROTO_CALL_ID_MAX + 1];
    snprintf(a, sizeof a, "%s", tone.call_id);
    assert_int_equal(s_do(c, s_digits_rq(PROTO_OP_DIAL_DIGITS, "101", a, "102"), NULL),
                     PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_DIALLING, a);
    s_expect(c, "101", PROTO_CALL_RINGBACK, a);
    s_expect(c, "102", PROTO_CALL_OFFERING, a);
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_ANSWER, "102", a), NULL), PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_CONNECTED, a);
    s_expect(c, "102", PROTO_CALL_CONNECTED, a);

    //  103 calls the busy 102: busy; it intrudes into 101-102.
    char b[PROTO_CALL_ID_MAX + 1];
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_MAKE_CALL, "103", "", "102"), b),
                     PROTO_RESULT_OK);
    s_expect(c, "103", PROTO_CALL_DIAL_TONE, b);
    s_expect(c, "103", PROTO_CALL_DIALLING, b);
    proto_call_info_t busy = s_expect(c, "103", PROTO_CALL_BUSY, b);
    assert_string_equal(busy.cause, "busy");
    assert_int_equal(s_do(c, s_call_rq(PROTO_OP_INTRUSION, "103", b), r), PROTO_RESULT_OK);
    assert_string_equal(r, a);
    s_expect(c, "103", PROTO_CALL_IDLE, b);
    proto_call_info_t in = s_expect(c, "103", PROTO_CALL_CONFERENCED, a);
    assert_string_equal(in.cause, "intrude");
    s_expect(c, "101", PROTO_CALL_CONFERENCED, a);
    s_expect(c, "102", PROTO_CALL_CONFERENCED, a);

    //  104 finds 102 busy too and asks for a call back, then hangs up.
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_MAKE_CALL, "104", "", "102"), b),
                     PROTO_RESULT_OK);
    s_expect(c, "104", PROTO_CALL_DIAL_TONE, b);
    s_expect(c, "104", PROTO_CALL_DIALLING, b);
    s_expect(c, "104", PROTO_CALL_BUSY, b);
    proto_request_t rq = s_call_rq(PROTO_OP_CALL_BACK, "104", b);
    proto_client_msg_t m;
    assert_int_equal(test_client_call(c, &rq, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_non_null(strstr(m.reply.text, "102"));
    proto_client_msg_clear(&m);
    s_hang_up(c, "104", b);
    s_expect(c, "104", PROTO_CALL_IDLE, b);
    //  The conference ends (101 leaves: a plain call of 102 and 103; then 102 leaves).
    s_hang_up(c, "101", a);
    s_expect(c, "101", PROTO_CALL_DISCONNECTED, a);
    s_expect(c, "101", PROTO_CALL_IDLE, a);
    s_expect(c, "102", PROTO_CALL_CONNECTED, a);
    s_expect(c, "103", PROTO_CALL_CONNECTED, a);
    s_end_call(c, "102", "103", a);
    //  102 is free: the PBX rings 104 on 102's behalf.
    proto_call_info_t back = s_expect(c, "104", PROTO_CALL_OFFERING, NULL);
    assert_string_equal(back.cause, "callBack");
    assert_string_equal(back.caller_number, "102");
    s_expect(c, "102", PROTO_CALL_RINGBACK, back.call_id);
}

//  The nine forwarding modes on and off with their events, address status, a call that is
//  forwarded, do not disturb; a destination the PBX refuses.
static void test_forwarding_dnd_address_status(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    s_open(c, "101");
    s_open(c, "102");
    s_open(c, "103");
    proto_request_t rq = {.op = PROTO_OP_SET_FORWARDING};
    snprintf(rq.forward.line, sizeof rq.forward.line, "101");
    for (int mode = PROTO_FWD_IMMEDIATE_ALL; mode < PROTO_FWD_COUNT_; mode++) {
        rq.forward.fwd.mode = (proto_fwd_mode_t) mode;
        rq.forward.fwd.on = true;
        snprintf(rq.forward.fwd.destination, sizeof rq.forward.fwd.destination, "103");
        assert_int_equal(s_do(c, rq, NULL), PROTO_RESULT_OK);
        proto_event_t e;
        assert_int_equal(test_client_next_kind(c, "101", PROTO_EVENT_FORWARDING, &e, WAIT_MS), 0);
        assert_int_equal(e.forwarding.mode, mode);
        assert_true(e.forwarding.on);
        assert_string_equal(e.forwarding.destination, "103");
    }
    proto_request_t as = s_line_rq(PROTO_OP_GET_ADDRESS_STATUS, "101");
    proto_client_msg_t m;
    assert_int_equal(test_client_call(c, &as, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_true(m.reply.has_address);
    assert_string_equal(m.reply.address.line, "101");
    assert_true(m.reply.address.in_service);
    assert_false(m.reply.address.do_not_disturb);
    assert_false(m.reply.address.message_waiting);
    assert_int_equal(m.reply.address.forward_count, 9);
    bool seen[PROTO_FWD_COUNT_] = {false};
    for (size_t i = 0; i < m.reply.address.forward_count; i++) {
        assert_true(m.reply.address.forward[i].on);
        assert_string_equal(m.reply.address.forward[i].destination, "103");
        seen[m.reply.address.forward[i].mode] = true;
    }
    for (int mode = PROTO_FWD_IMMEDIATE_ALL; mode < PROTO_FWD_COUNT_; mode++)
        assert_true(seen[mode]);
    proto_client_msg_clear(&m);

    //  Forwarded immediately: 102's call rings at 103, 101 hears nothing of it.
    char a[PROTO_CALL_ID_MAX + 1];
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_MAKE_CALL, "102", "", "101"), a),
                     PROTO_RESULT_OK);
    s_expect(c, "102", PROTO_CALL_DIAL_TONE, a);
    s_expect(c, "102", PROTO_CALL_DIALLING, a);
    s_expect(c, "102", PROTO_CALL_RINGBACK, a);
    proto_call_info_t fwd = s_expect(c, "103", PROTO_CALL_OFFERING, a);
    assert_string_equal(fwd.cause, "callForwardImmediate");
    assert_string_equal(fwd.called_number, "101");
    s_end_call(c, "102", "103", a);

    for (int mode = PROTO_FWD_IMMEDIATE_ALL; mode < PROTO_FWD_COUNT_; mode++) {
        rq.forward.fwd.mode = (proto_fwd_mode_t) mode;
        rq.forward.fwd.on = false;
        rq.forward.fwd.destination[0] = '\0';
        assert_int_equal(s_do(c, rq, NULL), PROTO_RESULT_OK);
        proto_event_t e;
        assert_int_equal(test_client_next_kind(c, "101", PROTO_EVENT_FORWARDING, &e, WAIT_MS), 0);
        assert_int_equal(e.forwarding.mode, mode);
        assert_false(e.forwarding.on);
    }
    assert_int_equal(test_client_call(c, &as, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_int_equal(m.reply.address.forward_count, 0);
    proto_client_msg_clear(&m);
    //  No call event reached 101 through all of this.
    proto_event_t e;
    assert_int_equal(test_client_next_call(c, "101", &e, 100), -ETIMEDOUT);

    //  A destination the PBX refuses (101 itself): invalidForwardingDestination.
    rq.forward.fwd.mode = PROTO_FWD_BUSY_ALL;
    rq.forward.fwd.on = true;
    snprintf(rq.forward.fwd.destination, sizeof rq.forward.fwd.destination, "101");
    assert_int_equal(s_do(c, rq, NULL), PROTO_RESULT_INVALID_DESTINATION);

    proto_request_t dnd = {.op = PROTO_OP_SET_DO_NOT_DISTURB};
    snprintf(dnd.flag.line, sizeof dnd.flag.line, "101");
    dnd.flag.on = true;
    assert_int_equal(s_do(c, dnd, NULL), PROTO_RESULT_OK);
    assert_int_equal(test_client_next_kind(c, "101", PROTO_EVENT_DO_NOT_DISTURB, &e, WAIT_MS), 0);
    assert_true(e.do_not_disturb);
    assert_int_equal(test_client_call(c, &as, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_true(m.reply.address.do_not_disturb);
    proto_client_msg_clear(&m);
    dnd.flag.on = false;
    assert_int_equal(s_do(c, dnd, NULL), PROTO_RESULT_OK);
    assert_int_equal(test_client_next_kind(c, "101", PROTO_EVENT_DO_NOT_DISTURB, &e, WAIT_MS), 0);
    assert_false(e.do_not_disturb);
}

//  list_lines: the user's lines only, with names, open flag, service and failure number;
//  a line taken out of service shows so, in its event and in the list.
static void test_list_lines(void **state)
{
    ct_t *t = *state;
    nc_wait_http(&t->w, "/lines", "Extension 110");     //  names learned from the PBX
    test_client_t *d = s_app(t, 0, "desk");
    proto_request_t rq = s_line_rq(PROTO_OP_OPEN_LINE, "102");
    snprintf(rq.open_line.failure_number, sizeof rq.open_line.failure_number, "0301234567");
    assert_int_equal(s_do(d, rq, NULL), PROTO_RESULT_OK);
    nc_ctl(&t->w, "out-of-service %s%s", "102", "");
    proto_event_t e;
    assert_int_equal(test_client_next_kind(d, "102", PROTO_EVENT_SERVICE, &e, WAIT_MS), 0);
    assert_false(e.in_service);
    proto_request_t ll = {.op = PROTO_OP_LIST_LINES};
    proto_client_msg_t m;
    assert_int_equal(test_client_call(d, &ll, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_int_equal(m.reply.line_count, 3);
    for (size_t i = 0; i < 3; i++) {
        const proto_line_info_t *l = &m.reply.lines[i];
        char want[96];
        snprintf(want, sizeof want, "Extension %s", l->line);
        assert_string_equal(l->name, want);
        bool is102 = strcmp(l->line, "102") == 0;
        assert_int_equal(l->open, is102);
        assert_int_equal(l->in_service, !is102);
        assert_string_equal(l->failure_number, is102 ? "0301234567" : "");
    }
    proto_client_msg_clear(&m);
    nc_ctl(&t->w, "in-service %s%s", "102", "");
    assert_int_equal(test_client_next_kind(d, "102", PROTO_EVENT_SERVICE, &e, WAIT_MS), 0);
    assert_true(e.in_service);

    test_client_t *c = s_app(t, 1, "crm");
    assert_int_equal(test_client_call(c, &ll, &m, WAIT_MS), PROTO_RESULT_OK);
    assert_true(m.reply.line_count >= 12);      //  ten extensions, two CO lines, the group
    bool has110 = false;
    for (size_t i = 0; i < m.reply.line_count; i++)
        has110 |= strcmp(m.reply.lines[i].line, "110") == 0;
    assert_true(has110);
    proto_client_msg_clear(&m);
}

//  After a link drop a line is out of service at once and back in service only when its
//  device is monitored again (DESIGN.md invariant 2): pbxsim holds its answers back, so the
//  MonitorStart it has taken is not answered yet, and neither the event nor list_lines may
//  say "in service" before the answer.
static void test_in_service_after_remonitor(void **state)
{
    ct_t *t = *state;
    test_client_t *d = s_app(t, 0, "desk");
    s_open(d, "101");
    nc_ctl(&t->w, "drop%s%s", "", "");
    nc_ctl(&t->w, "delay %s%s", "2000", "");     //  the association is answered at once
    proto_event_t e;
    assert_int_equal(test_client_next_kind(d, "101", PROTO_EVENT_SERVICE, &e, WAIT_MS), 0);
    assert_false(e.in_service);
    //  pbxsim has taken the MonitorStart of the new link (monitors counts it).
    long long deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        nc_ctl(&t->w, "monitors %s%s", "101", "");
        if (test_json_long(t->w.reply, "monitors", -1) == 1)
            break;
        assert_true(test_now_ms() < deadline);
        nc_pace();
    }
    long long answer_at = test_now_ms() + 2000;    //  not before: pbxsim holds it 2 s
    proto_request_t ll = {.op = PROTO_OP_LIST_LINES};
    proto_client_msg_t m;
    assert_int_equal(test_client_call(d, &ll, &m, WAIT_MS), PROTO_RESULT_OK);
    for (size_t i = 0; i < m.reply.line_count; i++)
        if (strcmp(m.reply.lines[i].line, "101") == 0) {
            assert_true(m.reply.lines[i].open);
            assert_false(m.reply.lines[i].in_service);
        }
    proto_client_msg_clear(&m);
    assert_int_equal(test_client_next_kind(d, "101", PROTO_EVENT_SERVICE, &e, WAIT_MS), 0);
    assert_true(e.in_service);
    assert_true(test_now_ms() >= answer_at - 1000);     //  slack for our own polling
    nc_ctl(&t->w, "delay %s%s", "0", "");
    //  Monitored: events flow again (after the line's snapshot, flagged so).
    nc_ctl(&t->w, "dial %s %s", "101", "102");
    do
        assert_int_equal(test_client_next_call(d, "101", &e, WAIT_MS), 0);
    while (e.snapshot);
}

//  CDR: one owner at a time; records go to the owner only; released with the session.
static void test_cdr(void **state)
{
    ct_t *t = *state;
    test_client_t *a = s_app(t, 0, "crm");
    test_client_t *b = s_app_hb(t, 1, "crm", 200);
    proto_request_t on = {.op = PROTO_OP_SET_CDR};
    on.flag.on = true;
    proto_request_t off = on;
    off.flag.on = false;
    assert_int_equal(s_do(a, on, NULL), PROTO_RESULT_OK);
    assert_int_equal(s_do(b, on, NULL), PROTO_RESULT_BUSY);
    assert_int_equal(s_do(b, off, NULL), PROTO_RESULT_OK);     //  owns nothing: nothing to do
    s_open(b, "101");
    s_open(b, "102");
    char id[PROTO_CALL_ID_MAX + 1];
    s_connected_call(b, "101", "102", id);
    s_hang_up(b, "101", id);
    proto_event_t e;
    assert_int_equal(test_client_next_kind(a, NULL, PROTO_EVENT_CDR, &e, WAIT_MS), 0);
    assert_string_equal(e.line, "101");
    assert_string_equal(e.cdr.call_id, id);
    assert_string_equal(e.cdr.caller_number, "101");
    assert_string_equal(e.cdr.called_number, "102");
    assert_int_equal(e.cdr.direction, PROTO_DIR_INTERNAL);
    assert_true(e.cdr.connect_ms > 0);
    assert_true(e.cdr.end_ms >= e.cdr.connect_ms);
    test_client_drain(b, 200);
    assert_int_equal(test_client_next_kind(b, NULL, PROTO_EVENT_CDR, &e, 0), -ETIMEDOUT);
    //  a gives it up; b may have it now, and loses it when its session goes.
    assert_int_equal(s_do(a, off, NULL), PROTO_RESULT_OK);
    assert_int_equal(s_do(b, on, NULL), PROTO_RESULT_OK);
    assert_int_equal(s_do(a, on, NULL), PROTO_RESULT_BUSY);
    test_client_destroy(&t->app[1]);    //  b goes silent: failed after two heartbeats
    long long deadline = test_now_ms() + 3 * WAIT_MS;
    int r = PROTO_RESULT_BUSY;
    while (r == PROTO_RESULT_BUSY && test_now_ms() < deadline) {
        r = s_do(a, on, NULL);
        if (r == PROTO_RESULT_BUSY)
            test_client_drain(a, 200);
    }
    assert_int_equal(r, PROTO_RESULT_OK);
}

//  Outside calls: numbers through the incoming and outgoing rules (country 49, area 30,
//  outside line 0), the application's "+49..." dialled as the PBX wants it.
static void test_outside_calls_and_numbers(void **state)
{
    ct_t *t = *state;
    test_client_t *c = s_app(t, 0, "crm");
    s_open(c, "101");
    char a[PROTO_CALL_ID_MAX + 1];
    assert_int_equal(s_do(c, s_target_rq(PROTO_OP_MAKE_CALL, "101", "", "+49301234567"), a),
                     PROTO_RESULT_OK);
    s_expect(c, "101", PROTO_CALL_DIAL_TONE, a);
    s_expect(c, "101", PROTO_CALL_DIALLING, a);
    s_expect(c, "101", PROTO_CALL_PROCEEDING, a);
    proto_call_info_t ring = s_expect(c, "101", PROTO_CALL_RINGBACK, a);
    assert_int_equal(ring.direction, PROTO_DIR_OUTGOING);
    assert_string_equal(ring.called_number, "+49301234567");
    assert_int_equal(test_pbxsim_ctl(&t->w.sim, t->w.reply, sizeof t->w.reply, "calls"), 0);
    assert_non_null(strstr(t->w.reply, "00301234567"));   //  what the PBX was asked to dial
    s_hang_up(c, "101", a);
    s_expect(c, "101", PROTO_CALL_DISCONNECTED, a);
    s_expect(c, "101", PROTO_CALL_IDLE, a);

    if (test_pbxsim_ctl(&t->w.sim, t->w.reply, sizeof t->w.reply, "call-in 0401234567 101 John Doe"))
        fail_msg("call-in: %s", t->w.reply);
    proto_call_info_t in = s_expect(c, "101", PROTO_CALL_OFFERING, NULL);
    assert_int_equal(in.direction, PROTO_DIR_INCOMING);
    assert_string_equal(in.caller_number, "+49401234567");
    assert_string_equal(in.caller_name, "John Doe");
    assert_string_equal(in.called_number, "101");
}

//  Errors: a call id that is not one, a line not open, a device not the user's, a PBX
//  error; every request answered, the session carries on.
static void test_errors(void **state)
{
    ct_t *t = *state;
    test_client_t *d = s_app(t, 0, "desk");
    assert_int_equal(s_do(d, s_line_rq(PROTO_OP_OPEN_LINE, "104"), NULL),
                     PROTO_RESULT_ACCESS_DENIED);
    assert_int_equal(s_do(d, s_call_rq(PROTO_OP_HOLD, "104", "0001"), NULL),
                     PROTO_RESULT_LINE_NOT_OPEN);
    assert_int_equal(s_do(d, s_call_rq(PROTO_OP_HOLD, "101", "0001"), NULL),
                     PROTO_RESULT_LINE_NOT_OPEN);
    s_open(d, "101");
    assert_int_equal(s_do(d, s_call_rq(PROTO_OP_HOLD, "101", "not-hex"), NULL),
                     PROTO_RESULT_INVALID_CALL);
    assert_int_equal(s_do(d, s_call_rq(PROTO_OP_HOLD, "101", "7777"), NULL),
                     PROTO_RESULT_INVALID_CALL);   //  the PBX's invalidConnectionID
    assert_int_equal(s_do(d, s_call_rq(PROTO_OP_ANSWER, "101", ""), NULL),
                     PROTO_RESULT_BAD_REQUEST);
    assert_int_equal(s_do(d, s_target_rq(PROTO_OP_PICKUP, "101", "", "104"), NULL),
                     PROTO_RESULT_ACCESS_DENIED);
    assert_int_equal(s_do(d, s_digits_rq(PROTO_OP_DTMF, "101", "0001", "12x"), NULL),
                     PROTO_RESULT_BAD_REQUEST);
    assert_int_equal(s_do(d, s_target_rq(PROTO_OP_MAKE_CALL, "101", "", "999"), NULL),
                     PROTO_RESULT_OK);     //  pbxsim accepts, then the call fails
    s_expect(d, "101", PROTO_CALL_DIAL_TONE, NULL);
    s_expect(d, "101", PROTO_CALL_DIALLING, NULL);
    proto_call_info_t f = s_expect(d, "101", PROTO_CALL_DISCONNECTED, NULL);
    assert_string_equal(f.cause, "numberUnallocated");
    proto_request_t rq = s_call_rq(PROTO_OP_GET_CALL_INFO, "101", f.call_id);
    assert_int_equal(s_do(d, rq, NULL), PROTO_RESULT_OK);
    //  Requests on the failed call the PBX refuses: mapped.
    assert_int_equal(s_do(d, s_call_rq(PROTO_OP_HOLD, "101", f.call_id), NULL),
                     PROTO_RESULT_INVALID_STATE);
    assert_int_equal(test_client_anomalies(d), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_after_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consultation_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_redirect_pickup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_digits_busy_callback_intrusion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forwarding_dnd_address_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_service_after_remonitor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cdr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_calls_and_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
