//  node_client_ops tests: every client.proto operation builds the CSTA invoke it should
//  (checked after a BER round trip, as the PBX would read it), destinations go through the
//  dialling rules, malformed arguments are refused before the PBX; answers map to Result
//  and payloads (call ids, address status in two steps), every CSTA error category maps as
//  client.proto says; CDR records become Event.cdr.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_client_ops.h"

typedef struct {
    node_numfmt_t *numfmt;
    node_client_calls_t *calls;
} ctx_t;

static int setup(void **state)
{
    ctx_t *t = calloc(1, sizeof *t);
    node_numbers_cfg_t cfg = {0};
    snprintf(cfg.country_code, sizeof cfg.country_code, "49");
    snprintf(cfg.area_code, sizeof cfg.area_code, "30");
    snprintf(cfg.local_prefix, sizeof cfg.local_prefix, "0");
    snprintf(cfg.international_prefix, sizeof cfg.international_prefix, "00");
    snprintf(cfg.national_prefix, sizeof cfg.national_prefix, "0");
    t->numfmt = node_numfmt_new(&cfg, NULL, 0);
    t->calls = node_client_calls_new("101", t->numfmt, NULL);
    *state = t;
    return t->numfmt && t->calls ? 0 : -1;
}

static int teardown(void **state)
{
    ctx_t *t = *state;
    node_client_calls_destroy(&t->calls);
    node_numfmt_destroy(&t->numfmt);
    free(t);
    return 0;
}

//  Build step of rq, encode, decode: the invoke as the PBX reads it.
static proto_result_t s_build(ctx_t *t, const proto_request_t *rq, int step, csta_apdu_t *out)
{
    node_client_ops_ctx_t ctx = {t->calls, t->numfmt};
    csta_apdu_t a;
    char text[PROTO_TEXT_MAX + 1];
    proto_result_t r = node_client_ops_build(rq, step, &ctx, &a, text, sizeof text);
    if (r != PROTO_RESULT_OK) {
        assert_true(text[0] != '\0');   //  every refusal says why
        return r;
    }
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    uint8_t buf[1024];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&a, buf, sizeof buf, &n), 0);
    assert_int_equal(csta_apdu_decode(out, buf, n), 0);
    assert_int_equal(out->kind, CSTA_APDU_INVOKE);
    return r;
}

static proto_request_t s_call(proto_op_t op, const char *call_id)
{
    proto_request_t rq = {.op = op, .request_id = 1};
    snprintf(rq.call.line, sizeof rq.call.line, "101");
    snprintf(rq.call.call_id, sizeof rq.call.call_id, "%s", call_id);
    return rq;
}

static proto_request_t s_target(proto_op_t op, const char *call_id, const char *number)
{
    proto_request_t rq = {.op = op, .request_id = 1};
    snprintf(rq.target.line, sizeof rq.target.line, "101");
    snprintf(rq.target.call_id, sizeof rq.target.call_id, "%s", call_id);
    snprintf(rq.target.number, sizeof rq.target.number, "%s", number);
    return rq;
}

static void s_conn_is(const csta_conn_t *c, const char *call_hex, const char *device)
{
    assert_true(c->present);
    char text[PROTO_CALL_ID_MAX + 1];
    node_client_calls_id_text(c->call_id, c->call_id_len, text, sizeof text);
    assert_string_equal(text, call_hex);
    assert_string_equal(c->device.digits, device);
}

//  --- Building -------------------------------------------------------------------------------

//  The CallRef operations: each its service, on the call at the line.
static void call_operations_build_their_services(void **state)
{
    ctx_t *t = *state;
    const struct {
        proto_op_t op;
        int opcode;
    } cases[] = {
        {PROTO_OP_HANG_UP, CSTA_OP_CLEAR_CONNECTION}, {PROTO_OP_ANSWER, CSTA_OP_ANSWER_CALL},
        {PROTO_OP_HOLD, CSTA_OP_HOLD_CALL},           {PROTO_OP_RETRIEVE, CSTA_OP_RETRIEVE_CALL},
        {PROTO_OP_CALL_BACK, CSTA_OP_CALL_BACK},      {PROTO_OP_INTRUSION, CSTA_OP_INTRUDE_CALL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        proto_request_t rq = s_call(cases[i].op, "002a");
        assert_int_equal(node_client_ops_invokes(rq.op), 1);
        assert_string_equal(node_client_ops_line(&rq), "101");
        csta_apdu_t a;
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
        assert_int_equal(a.opcode, cases[i].opcode);
        const csta_call_u *u = &a.call;
        const csta_conn_t *conns[] = {
            &u->clear_connection.connection,      &u->answer_call.call_to_be_answered,
            &u->hold_call.call_to_be_held,        &u->retrieve_call.call_to_be_retrieved,
            &u->call_back.callback_connection,    &u->intrude_call.intrude,
        };
        const csta_conn_t *c = conns[i];    //  in the order of cases[]
        s_conn_is(c, "002a", "101");
        csta_apdu_clear(&a);
        //  No call id, or one that is not hex: refused here.
        rq = s_call(cases[i].op, "");
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
        rq = s_call(cases[i].op, "zz");
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_INVALID_CALL);
    }
}

//  The CallTarget operations, with destinations through the dialling rules.
static void target_operations_build_their_services(void **state)
{
    ctx_t *t = *state;
    csta_apdu_t a;
    proto_request_t rq = s_target(PROTO_OP_MAKE_CALL, "", "+49301234567");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_MAKE_CALL);
    assert_string_equal(a.call.make_call.calling.digits, "101");
    assert_string_equal(a.call.make_call.called.digits, "00301234567");
    csta_apdu_clear(&a);

    rq = s_target(PROTO_OP_REDIRECT, "002a", "103");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_DEFLECT_CALL);
    s_conn_is(&a.call.deflect_call.call_to_be_diverted, "002a", "101");
    assert_string_equal(a.call.deflect_call.new_destination.digits, "103");
    csta_apdu_clear(&a);

    rq = s_target(PROTO_OP_BLIND_TRANSFER, "002a", "+442071234567");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_SINGLE_STEP_TRANSFER);
    s_conn_is(&a.call.single_step_transfer.active_call, "002a", "101");
    assert_string_equal(a.call.single_step_transfer.transferred_to.digits, "000442071234567");
    csta_apdu_clear(&a);

    rq = s_target(PROTO_OP_SETUP_TRANSFER, "002a", "103");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_CONSULTATION_CALL);
    s_conn_is(&a.call.consultation_call.existing_call, "002a", "101");
    assert_string_equal(a.call.consultation_call.consulted_device.digits, "103");
    csta_apdu_clear(&a);

    rq = s_target(PROTO_OP_ADD_TO_CONFERENCE, "002a", "104");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_SINGLE_STEP_CONFERENCE);
    s_conn_is(&a.call.single_step_conference.active_call, "002a", "101");
    assert_string_equal(a.call.single_step_conference.device_to_join.digits, "104");
    csta_apdu_clear(&a);

    //  A party the line does not know: its connection is (call, number).
    rq = s_target(PROTO_OP_REMOVE_FROM_CONFERENCE, "002a", "103");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_CLEAR_CONNECTION);
    s_conn_is(&a.call.clear_connection.connection, "002a", "103");
    csta_apdu_clear(&a);

    rq = s_target(PROTO_OP_PICKUP, "002b", "102");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_DIRECTED_PICKUP_CALL);
    s_conn_is(&a.call.directed_pickup_call.call_to_be_picked_up, "002b", "102");
    assert_string_equal(a.call.directed_pickup_call.requesting_device.digits, "101");
    csta_apdu_clear(&a);
    rq = s_target(PROTO_OP_PICKUP, "", "102");   //  the ringing device only
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_DIRECTED_PICKUP_CALL);
    assert_int_equal(a.call.directed_pickup_call.call_to_be_picked_up.call_id_len, 0);
    assert_string_equal(a.call.directed_pickup_call.call_to_be_picked_up.device.digits, "102");
    csta_apdu_clear(&a);
    rq = s_target(PROTO_OP_PICKUP, "", "");      //  the line's pickup group
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_GROUP_PICKUP_CALL);
    assert_string_equal(a.call.group_pickup_call.new_destination.digits, "101");
    assert_int_equal(a.call.group_pickup_call.pick_group.kind, CSTA_DEV_ABSENT);
    csta_apdu_clear(&a);

    //  Missing numbers are refused here.
    const proto_op_t need_number[] = {PROTO_OP_MAKE_CALL, PROTO_OP_REDIRECT,
                                      PROTO_OP_BLIND_TRANSFER, PROTO_OP_SETUP_TRANSFER,
                                      PROTO_OP_ADD_TO_CONFERENCE,
                                      PROTO_OP_REMOVE_FROM_CONFERENCE};
    for (size_t i = 0; i < sizeof need_number / sizeof *need_number; i++) {
        rq = s_target(need_number[i], "002a", "");
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
    }
    rq = s_target(PROTO_OP_REDIRECT, "nothex", "103");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_INVALID_CALL);
}

//  remove_from_conference clears the connection the line learned for that party: an
//  outside party's is its trunk's, whatever number the application shows.
static void remove_from_conference_uses_the_party_connection(void **state)
{
    ctx_t *t = *state;
    csta_apdu_t ev;
    csta_apdu_init(&ev, CSTA_APDU_INVOKE);
    ev.opcode = CSTA_OP_EVENT_REPORT;
    ev.event.type = CSTA_EV_CONFERENCED;
    csta_conferenced_t *e = &ev.event.conferenced;
    const uint8_t id[] = {0x00, 0x2a};
    csta_conn_set(&e->primary_old_call, id, 2, "101");
    csta_device_set(&e->conferencing, "101");
    csta_device_set(&e->added_party, "103");
    e->conference_connections.present = true;
    e->conference_connections.count = 3;
    const char *dev[] = {"101", "801", "103"}, *who[] = {"101", "0301234567", "103"};
    for (int i = 0; i < 3; i++) {
        csta_conn_set(&e->conference_connections.item[i].new_conn, id, 2, dev[i]);
        csta_device_set(&e->conference_connections.item[i].endpoint, who[i]);
    }
    e->cause = CSTA_CAUSE_CONFERENCE;
    node_client_calls_event(t->calls, &ev.event, NULL, NULL);
    proto_request_t rq = s_target(PROTO_OP_REMOVE_FROM_CONFERENCE, "002a", "+49301234567");
    csta_apdu_t a;
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    s_conn_is(&a.call.clear_connection.connection, "002a", "801");
    csta_apdu_clear(&a);
}

static void pair_and_digit_operations_build_their_services(void **state)
{
    ctx_t *t = *state;
    const struct {
        proto_op_t op;
        int opcode;
    } pairs[] = {{PROTO_OP_SWAP_HOLD, CSTA_OP_ALTERNATE_CALL},
                 {PROTO_OP_COMPLETE_TRANSFER, CSTA_OP_TRANSFER_CALL},
                 {PROTO_OP_COMPLETE_CONFERENCE, CSTA_OP_CONFERENCE_CALL}};
    for (size_t i = 0; i < 3; i++) {
        proto_request_t rq = {.op = pairs[i].op, .request_id = 1};
        snprintf(rq.pair.line, sizeof rq.pair.line, "101");
        snprintf(rq.pair.held_call_id, sizeof rq.pair.held_call_id, "002a");
        snprintf(rq.pair.active_call_id, sizeof rq.pair.active_call_id, "002b");
        csta_apdu_t a;
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
        assert_int_equal(a.opcode, pairs[i].opcode);
        //  The three argument types put held and active first, in that order.
        const csta_conn_t *held = i == 0   ? &a.call.alternate_call.held_call
                                  : i == 1 ? &a.call.transfer_call.held_call
                                           : &a.call.conference_call.held_call;
        const csta_conn_t *active = i == 0   ? &a.call.alternate_call.active_call
                                    : i == 1 ? &a.call.transfer_call.active_call
                                             : &a.call.conference_call.active_call;
        s_conn_is(held, "002a", "101");
        s_conn_is(active, "002b", "101");
        csta_apdu_clear(&a);
        rq.pair.active_call_id[0] = '\0';
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
    }
    proto_request_t rq = {.op = PROTO_OP_DTMF, .request_id = 1};
    snprintf(rq.digits.line, sizeof rq.digits.line, "101");
    snprintf(rq.digits.call_id, sizeof rq.digits.call_id, "002a");
    snprintf(rq.digits.digits, sizeof rq.digits.digits, "12*#A");
    csta_apdu_t a;
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_GENERATE_DIGITS);
    assert_true(a.call.generate_digits.has_digit_mode);
    assert_int_equal(a.call.generate_digits.digit_mode, CSTA_DIGIT_MODE_DTMF);
    assert_string_equal(a.call.generate_digits.characters_to_send, "12*#A");
    s_conn_is(&a.call.generate_digits.connection_to_send_digits, "002a", "101");
    csta_apdu_clear(&a);
    snprintf(rq.digits.digits, sizeof rq.digits.digits, "12x");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);

    rq.op = PROTO_OP_DIAL_DIGITS;
    snprintf(rq.digits.digits, sizeof rq.digits.digits, "102");
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_DIAL_DIGITS);
    assert_string_equal(a.call.dial_digits.dialling_sequence.digits, "102");
    s_conn_is(&a.call.dial_digits.dialling_connection, "002a", "101");
    csta_apdu_clear(&a);
    snprintf(rq.digits.digits, sizeof rq.digits.digits, "A");  //  not dialable
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
    rq.digits.digits[0] = '\0';
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
}

//  The nine forwarding modes are the nine ECMA-269 ForwardingTypes besides DND; on needs a
//  destination (dialling rules applied), off does not.
static void forwarding_modes_and_device_features(void **state)
{
    ctx_t *t = *state;
    const long want[] = {-1,
                         CSTA_FWD_IMMEDIATE,  CSTA_FWD_IMM_INT,    CSTA_FWD_IMM_EXT,
                         CSTA_FWD_BUSY,       CSTA_FWD_BUSY_INT,   CSTA_FWD_BUSY_EXT,
                         CSTA_FWD_NO_ANS,     CSTA_FWD_NO_ANS_INT, CSTA_FWD_NO_ANS_EXT};
    for (int mode = PROTO_FWD_IMMEDIATE_ALL; mode < PROTO_FWD_COUNT_; mode++) {
        assert_int_equal(node_client_ops_fwd_type((proto_fwd_mode_t) mode), want[mode]);
        assert_int_equal(node_client_ops_fwd_mode(want[mode]), mode);
        proto_request_t rq = {.op = PROTO_OP_SET_FORWARDING, .request_id = 1};
        snprintf(rq.forward.line, sizeof rq.forward.line, "101");
        rq.forward.fwd.mode = (proto_fwd_mode_t) mode;
        rq.forward.fwd.on = true;
        snprintf(rq.forward.fwd.destination, sizeof rq.forward.fwd.destination, "+49301234567");
        csta_apdu_t a;
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
        assert_int_equal(a.opcode, CSTA_OP_SET_FORWARDING);
        assert_string_equal(a.svc.set_forwarding.device.digits, "101");
        assert_true(a.svc.set_forwarding.has_forwarding_type);
        assert_int_equal(a.svc.set_forwarding.forwarding_type, want[mode]);
        assert_true(a.svc.set_forwarding.activate_forward);
        assert_string_equal(a.svc.set_forwarding.forward_dn.digits, "00301234567");
        csta_apdu_clear(&a);
        rq.forward.fwd.on = false;
        rq.forward.fwd.destination[0] = '\0';
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
        assert_false(a.svc.set_forwarding.activate_forward);
        assert_int_equal(a.svc.set_forwarding.forward_dn.kind, CSTA_DEV_ABSENT);
        csta_apdu_clear(&a);
        rq.forward.fwd.on = true;
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
    }
    assert_int_equal(node_client_ops_fwd_type(PROTO_FWD_UNSPECIFIED), -1);
    assert_int_equal(node_client_ops_fwd_mode(CSTA_FWD_DND), PROTO_FWD_UNSPECIFIED);
    proto_request_t rq = {.op = PROTO_OP_SET_FORWARDING, .request_id = 1};
    snprintf(rq.forward.line, sizeof rq.forward.line, "101");
    csta_apdu_t a;
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);   //  no mode

    rq = (proto_request_t){.op = PROTO_OP_SET_DO_NOT_DISTURB, .request_id = 1};
    snprintf(rq.flag.line, sizeof rq.flag.line, "101");
    rq.flag.on = true;
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_SET_DO_NOT_DISTURB);
    assert_string_equal(a.svc.set_do_not_disturb.device.digits, "101");
    assert_true(a.svc.set_do_not_disturb.do_not_disturb_on);
    csta_apdu_clear(&a);

    //  Address status: GetForwarding, then GetDoNotDisturb.
    rq = (proto_request_t){.op = PROTO_OP_GET_ADDRESS_STATUS, .request_id = 1};
    snprintf(rq.line.line, sizeof rq.line.line, "101");
    assert_int_equal(node_client_ops_invokes(rq.op), 2);
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_GET_FORWARDING);
    assert_string_equal(a.svc.get_forwarding.device.digits, "101");
    csta_apdu_clear(&a);
    assert_int_equal(s_build(t, &rq, 1, &a), PROTO_RESULT_OK);
    assert_int_equal(a.opcode, CSTA_OP_GET_DO_NOT_DISTURB);
    assert_string_equal(a.svc.get_do_not_disturb.device.digits, "101");
    csta_apdu_clear(&a);
    assert_int_equal(s_build(t, &rq, 2, &a), PROTO_RESULT_NOT_SUPPORTED);
}

//  The operations the server answers alone are not PBX services; no line is refused.
static void local_operations_and_missing_lines(void **state)
{
    ctx_t *t = *state;
    const proto_op_t local[] = {PROTO_OP_OPEN_LINE, PROTO_OP_CLOSE_LINE, PROTO_OP_GET_CALL_INFO,
                                PROTO_OP_LIST_LINES, PROTO_OP_SET_CDR, PROTO_OP_NONE};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        assert_int_equal(node_client_ops_invokes(local[i]), 0);
        proto_request_t rq = s_call(local[i], "002a");
        csta_apdu_t a;
        assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_NOT_SUPPORTED);
    }
    proto_request_t rq = {.op = PROTO_OP_LIST_LINES};
    assert_string_equal(node_client_ops_line(&rq), "");
    rq = s_call(PROTO_OP_HOLD, "002a");
    rq.call.line[0] = '\0';
    csta_apdu_t a;
    assert_int_equal(s_build(t, &rq, 0, &a), PROTO_RESULT_BAD_REQUEST);
    //  A NULL context works (no rules, no calls).
    rq = s_target(PROTO_OP_MAKE_CALL, "", "+49301234567");
    char text[PROTO_TEXT_MAX + 1];
    assert_int_equal(node_client_ops_build(&rq, 0, NULL, &a, text, sizeof text), PROTO_RESULT_OK);
    assert_string_equal(a.call.make_call.called.digits, "+49301234567");
}

//  --- Answers ----------------------------------------------------------------------------------

static size_t s_encode(const csta_apdu_t *a, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(a, buf, cap, &n), 0);
    return n;
}

static void s_result(csta_apdu_t *a, int opcode)
{
    csta_apdu_init(a, CSTA_APDU_RESULT);
    a->invoke_id = 5;
    a->opcode = opcode;
}

//  Results carry the resulting call where the operation makes one.
static void results_give_call_ids_and_address_status(void **state)
{
    (void) state;
    uint8_t buf[1024];
    const uint8_t id[] = {0x01, 0x02};
    const struct {
        proto_op_t op;
        int opcode;
    } cases[] = {{PROTO_OP_MAKE_CALL, CSTA_OP_MAKE_CALL},
                 {PROTO_OP_SETUP_TRANSFER, CSTA_OP_CONSULTATION_CALL},
                 {PROTO_OP_COMPLETE_CONFERENCE, CSTA_OP_CONFERENCE_CALL},
                 {PROTO_OP_COMPLETE_TRANSFER, CSTA_OP_TRANSFER_CALL},
                 {PROTO_OP_PICKUP, CSTA_OP_DIRECTED_PICKUP_CALL},
                 {PROTO_OP_ADD_TO_CONFERENCE, CSTA_OP_SINGLE_STEP_CONFERENCE},
                 {PROTO_OP_INTRUSION, CSTA_OP_INTRUDE_CALL}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        csta_apdu_t a;
        s_result(&a, cases[i].opcode);
        csta_conn_t *c = i == 0   ? &a.call.make_call_res.calling
                         : i == 1 ? &a.call.consultation_call_res.initiated_call
                         : i == 2 ? &a.call.conference_call_res.conference_call
                         : i == 3 ? &a.call.transfer_call_res.transferred_call
                         : i == 4 ? &a.call.directed_pickup_call_res.picked_call
                         : i == 5 ? &a.call.single_step_conference_res.conferenced_call
                                  : &a.call.intrude_call_res.conferenced_call;
        csta_conn_set(c, id, 2, "101");
        size_t n = s_encode(&a, buf, sizeof buf);
        proto_request_t rq = s_target(cases[i].op, "002a", "102");
        proto_reply_t reply = {0};
        assert_int_equal(node_client_ops_answer(&rq, 0, 0, buf, n, &reply), PROTO_RESULT_OK);
        assert_string_equal(reply.call_id, "0102");
    }
    //  Hold's result is noData: OK without payload.
    csta_apdu_t a;
    s_result(&a, CSTA_OP_HOLD_CALL);
    a.no_data = true;
    size_t n = s_encode(&a, buf, sizeof buf);
    proto_request_t rq = s_call(PROTO_OP_HOLD, "002a");
    proto_reply_t reply = {0};
    assert_int_equal(node_client_ops_answer(&rq, 0, 0, buf, n, &reply), PROTO_RESULT_OK);
    assert_string_equal(reply.call_id, "");

    //  Address status in two steps: the forwarding list (DND entries left to step two),
    //  then do-not-disturb.
    csta_forward_item_t items[3];
    memset(items, 0, sizeof items);
    items[0].has_forwarding_type = true;
    items[0].forwarding_type = CSTA_FWD_BUSY_EXT;
    items[0].forward_status = true;
    csta_device_set(&items[0].forward_dn, "103");
    items[1].has_forwarding_type = true;
    items[1].forwarding_type = CSTA_FWD_DND;
    items[1].forward_status = true;
    items[2].has_forwarding_type = true;
    items[2].forwarding_type = CSTA_FWD_NO_ANS;
    items[2].forward_status = false;
    s_result(&a, CSTA_OP_GET_FORWARDING);
    a.svc.get_forwarding_res.forwarding_list.count = 3;
    a.svc.get_forwarding_res.forwarding_list.item = items;
    n = s_encode(&a, buf, sizeof buf);
    rq = (proto_request_t){.op = PROTO_OP_GET_ADDRESS_STATUS, .request_id = 1};
    snprintf(rq.line.line, sizeof rq.line.line, "101");
    memset(&reply, 0, sizeof reply);
    assert_int_equal(node_client_ops_answer(&rq, 0, 0, buf, n, &reply), PROTO_RESULT_OK);
    assert_true(reply.has_address);
    assert_string_equal(reply.address.line, "101");
    assert_int_equal(reply.address.forward_count, 2);
    assert_int_equal(reply.address.forward[0].mode, PROTO_FWD_BUSY_EXTERNAL);
    assert_true(reply.address.forward[0].on);
    assert_string_equal(reply.address.forward[0].destination, "103");
    assert_int_equal(reply.address.forward[1].mode, PROTO_FWD_NO_ANSWER_ALL);
    assert_false(reply.address.forward[1].on);
    s_result(&a, CSTA_OP_GET_DO_NOT_DISTURB);
    a.svc.get_do_not_disturb_res.do_not_disturb_on = true;
    n = s_encode(&a, buf, sizeof buf);
    assert_int_equal(node_client_ops_answer(&rq, 1, 0, buf, n, &reply), PROTO_RESULT_OK);
    assert_true(reply.address.do_not_disturb);
    assert_false(reply.address.message_waiting);
    assert_int_equal(reply.address.forward_count, 2);   //  step one's list kept
}

//  Every UniversalFailure category, the operation errors client.proto names, a Reject, no
//  answer at all, and an answer that does not parse.
static void errors_map_to_results(void **state)
{
    (void) state;
    const struct {
        csta_err_category_t category;
        long value;
        proto_result_t result;
    } cases[] = {
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID, PROTO_RESULT_INVALID_LINE},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALLING_DEVICE, PROTO_RESULT_INVALID_LINE},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALL_ID, PROTO_RESULT_INVALID_CALL},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CONNECTION_ID, PROTO_RESULT_INVALID_CALL},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_HELD_CONNECTION_ID, PROTO_RESULT_INVALID_CALL},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALLED_DEVICE, PROTO_RESULT_INVALID_DESTINATION},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_FORWARDING_DESTINATION,
         PROTO_RESULT_INVALID_DESTINATION},
        {CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DESTINATION, PROTO_RESULT_INVALID_DESTINATION},
        {CSTA_ERR_OPERATION, CSTA_OPERR_SERVICE_NOT_SUPPORTED, PROTO_RESULT_NOT_SUPPORTED},
        {CSTA_ERR_OPERATION, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE,
         PROTO_RESULT_ACCESS_DENIED},
        {CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC, PROTO_RESULT_ERROR},
        {CSTA_ERR_SECURITY, CSTA_SECERR_GENERIC, PROTO_RESULT_ACCESS_DENIED},
        {CSTA_ERR_STATE, CSTA_STERR_NO_ACTIVE_CALL, PROTO_RESULT_INVALID_STATE},
        {CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_BUSY, PROTO_RESULT_BUSY},
        {CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_DEVICE_OUT_OF_SERVICE,
         PROTO_RESULT_RESOURCE_UNAVAILABLE},
        {CSTA_ERR_SUBSCRIBED_RESOURCE, CSTA_SUBERR_GENERIC, PROTO_RESULT_RESOURCE_UNAVAILABLE},
        {CSTA_ERR_PERFORMANCE, CSTA_PERFERR_GENERIC, PROTO_RESULT_PBX_TIMEOUT},
        {CSTA_ERR_PRIVATE_DATA, 1, PROTO_RESULT_ERROR},
        {CSTA_ERR_UNSPECIFIED, 0, PROTO_RESULT_ERROR},
    };
    uint8_t buf[256];
    proto_request_t rq = s_call(PROTO_OP_HOLD, "002a");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        csta_apdu_t a;
        csta_apdu_init(&a, CSTA_APDU_ERROR);
        a.invoke_id = 5;
        a.error.errcode = CSTA_ERRCODE_UNIVERSAL_FAILURE;
        a.error.has_parameter = true;
        a.error.category = cases[i].category;
        a.error.value = cases[i].value;
        size_t n = s_encode(&a, buf, sizeof buf);
        proto_reply_t reply = {0};
        int r = node_client_ops_answer(&rq, 0, 0, buf, n, &reply);
        if (r != (int) cases[i].result)
            fail_msg("%s/%ld: %s, wanted %s", csta_err_category_str(cases[i].category),
                     cases[i].value, proto_result_str(r), proto_result_str(cases[i].result));
        assert_non_null(strstr(reply.text, "CSTA error "));
        assert_non_null(strstr(reply.text, csta_err_category_str(cases[i].category)));
    }
    //  A PBX without the service rejects the operation.
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_REJECT);
    a.invoke_id = 5;
    a.reject.kind = CSTA_REJECT_INVOKE;
    a.reject.problem = CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION;
    size_t n = s_encode(&a, buf, sizeof buf);
    proto_reply_t reply = {0};
    assert_int_equal(node_client_ops_answer(&rq, 0, 0, buf, n, &reply), PROTO_RESULT_NOT_SUPPORTED);
    a.reject.problem = CSTA_REJ_INVOKE_MISTYPED_ARGUMENT;
    n = s_encode(&a, buf, sizeof buf);
    assert_int_equal(node_client_ops_answer(&rq, 0, 0, buf, n, &reply), PROTO_RESULT_ERROR);
    //  No answer.
    assert_int_equal(node_client_ops_answer(&rq, 0, -ETIMEDOUT, NULL, 0, &reply),
                     PROTO_RESULT_PBX_TIMEOUT);
    assert_non_null(strstr(reply.text, "no answer"));
    assert_int_equal(node_client_ops_answer(&rq, 0, -ENOTCONN, NULL, 0, &reply),
                     PROTO_RESULT_LINK_DOWN);
    assert_int_equal(node_client_ops_answer(&rq, 0, -ENOBUFS, NULL, 0, &reply), PROTO_RESULT_BUSY);
    assert_int_equal(node_client_ops_status(-EIO), PROTO_RESULT_ERROR);
    static const uint8_t junk[] = {0xa2, 0x05, 0xff};
    assert_int_equal(node_client_ops_answer(&rq, 0, 0, junk, sizeof junk, &reply),
                     PROTO_RESULT_ERROR);
    csta_error_t bare = {.errcode = 7, .has_parameter = false};
    char text[PROTO_TEXT_MAX + 1];
    assert_int_equal(node_client_ops_error(&bare, text, sizeof text), PROTO_RESULT_ERROR);
}

//  --- CDR ---------------------------------------------------------------------------------------

static void cdr_records_become_events(void **state)
{
    ctx_t *t = *state;
    csta_cdr_record_t rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.record_creation_time, sizeof rec.record_creation_time, "20261122031500Z");
    csta_device_set(&rec.calling_device, "101");
    csta_device_set(&rec.called_device, "00301234567");
    csta_device_set(&rec.charged_device, "101");
    const uint8_t id[] = {0x00, 0x2a};
    csta_conn_set(&rec.recorded_call, id, 2, NULL);
    snprintf(rec.connection_start, sizeof rec.connection_start, "20261122031400Z");
    snprintf(rec.connection_end, sizeof rec.connection_end, "20261122031430.5Z");
    rec.has_reason_for_term = true;
    rec.reason_for_term = CSTA_CDR_NORMAL_CLEARING;
    rec.charging_info.present = true;
    rec.charging_info.unit_count = 2;
    rec.charging_info.units[0].charging_units = 3;
    rec.charging_info.units[1].charging_units = 4;
    rec.account_info = (csta_bytes_t){(const uint8_t *) "PRJ7", 4};
    proto_cdr_t out;
    node_client_ops_cdr(&rec, t->numfmt, NULL, &out);
    assert_string_equal(out.call_id, "002a");
    assert_int_equal(out.direction, PROTO_DIR_OUTGOING);
    assert_string_equal(out.caller_number, "101");
    assert_string_equal(out.called_number, "+49301234567");
    assert_int_equal(out.start_ms, 1795317240000ull);  //  2026-11-22 03:14:00 UTC
    assert_int_equal(out.connect_ms, out.start_ms);
    assert_int_equal(out.end_ms, 1795317270500ull);
    assert_int_equal(out.charge_units, 7);
    assert_string_equal(out.account, "PRJ7");

    //  An outside caller charged to a CO line, never answered.
    csta_device_set(&rec.calling_device, "0301234567");
    csta_device_set(&rec.called_device, "102");
    csta_device_set(&rec.charged_device, "801");
    rec.reason_for_term = CSTA_CDR_UNSUCCESSFUL_CALL_ATTEMPT;
    rec.connection_start[0] = '\0';
    rec.charging_info.present = false;
    rec.account_info = (csta_bytes_t){0};
    node_client_ops_cdr(&rec, t->numfmt, NULL, &out);
    assert_int_equal(out.direction, PROTO_DIR_INCOMING);
    assert_string_equal(out.caller_number, "+49301234567");
    assert_string_equal(out.called_number, "102");
    assert_int_equal(out.start_ms, 1795317300000ull);  //  the record's creation time
    assert_int_equal(out.connect_ms, 0);
    assert_int_equal(out.charge_units, 0);
    assert_string_equal(out.account, "");

    csta_device_set(&rec.calling_device, "102");
    snprintf(rec.connection_end, sizeof rec.connection_end, "garbage");
    node_client_ops_cdr(&rec, NULL, NULL, &out);
    assert_int_equal(out.direction, PROTO_DIR_INTERNAL);
    assert_int_equal(out.end_ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(call_operations_build_their_services, setup, teardown),
        cmocka_unit_test_setup_teardown(target_operations_build_their_services, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_from_conference_uses_the_party_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pair_and_digit_operations_build_their_services, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(forwarding_modes_and_device_features, setup, teardown),
        cmocka_unit_test_setup_teardown(local_operations_and_missing_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(results_give_call_ids_and_address_status, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(errors_map_to_results, setup, teardown),
        cmocka_unit_test_setup_teardown(cdr_records_become_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
