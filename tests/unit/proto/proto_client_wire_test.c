//  proto_client_wire: every message kind and every request operation survives encode and
//  decode field by field; truncated, garbage and oversized frames give clean errors; a
//  higher major is refused; unknown fields within the major are skipped.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static uint8_t s_buf[PROTO_FRAME_MAX];

//  Encode m, decode into *out, and return the encoded length.
static size_t s_round_trip(const proto_client_msg_t *m, proto_client_msg_t *out)
{
    size_t n = 0;
    assert_int_equal(proto_client_encode(m, s_buf, sizeof s_buf, &n), 0);
    assert_true(n > 0);
    assert_int_equal(proto_client_decode(out, s_buf, n), 0);
    assert_int_equal(out->kind, m->kind);
    assert_int_equal(out->version_major, PROTO_VERSION_MAJOR);
    assert_int_equal(out->version_minor, PROTO_VERSION_MINOR);
    return n;
}

//  Fill a fixed string with "<tag>-<n>" padded to its full capacity with 'x', so that
//  limits are exercised and a field swap shows.
#define S_FILL(dst, tag)                                                                           \
    do {                                                                                           \
        memset((dst), 'x', sizeof(dst) - 1);                                                       \
        (dst)[sizeof(dst) - 1] = '\0';                                                             \
        memcpy((dst), (tag), strlen(tag));                                                         \
    } while (0)

//  --- Round trips -------------------------------------------------------------------------------

static void hello_round_trips(void **state)
{
    (void) state;
    proto_client_msg_t m, d;
    proto_client_msg_init(&m, PROTO_MSG_HELLO);
    S_FILL(m.hello.user, "alice");
    S_FILL(m.hello.password, "s3cret");
    m.hello.heartbeat_ms = 1500;
    S_FILL(m.hello.resume_token, "tok");
    snprintf(m.hello.client, sizeof m.hello.client, "libctim 0.1.0 host=pc7");
    m.hello.highest_major = 1;
    s_round_trip(&m, &d);
    assert_string_equal(d.hello.user, m.hello.user);
    assert_string_equal(d.hello.password, m.hello.password);
    assert_int_equal(d.hello.heartbeat_ms, 1500);
    assert_string_equal(d.hello.resume_token, m.hello.resume_token);
    assert_string_equal(d.hello.client, "libctim 0.1.0 host=pc7");
    assert_int_equal(d.hello.highest_major, 1);
    proto_client_msg_clear(&d);
}

static void welcome_heartbeat_lost_resume_error_round_trip(void **state)
{
    (void) state;
    proto_client_msg_t m, d;
    proto_client_msg_init(&m, PROTO_MSG_WELCOME);
    S_FILL(m.welcome.session_id, "sess");
    S_FILL(m.welcome.resume_token, "resume");
    m.welcome.heartbeat_ms = 1000;
    m.welcome.last_seq_acked = UINT64_MAX - 1;
    S_FILL(m.welcome.node, "node-a");
    s_round_trip(&m, &d);
    assert_string_equal(d.welcome.session_id, m.welcome.session_id);
    assert_string_equal(d.welcome.resume_token, m.welcome.resume_token);
    assert_int_equal(d.welcome.heartbeat_ms, 1000);
    assert_true(d.welcome.last_seq_acked == UINT64_MAX - 1);
    assert_string_equal(d.welcome.node, m.welcome.node);

    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    m.heartbeat.sent_ms = 123456789012ULL;
    m.heartbeat.last_seq_acked = 42;
    s_round_trip(&m, &d);
    assert_true(d.heartbeat.sent_ms == 123456789012ULL);
    assert_true(d.heartbeat.last_seq_acked == 42);

    //  An all-default heartbeat encodes to the envelope alone plus an empty body, and
    //  still decodes as a heartbeat (the body's presence is the oneof case).
    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    s_round_trip(&m, &d);
    assert_true(d.heartbeat.sent_ms == 0);

    proto_client_msg_init(&m, PROTO_MSG_EVENTS_LOST);
    m.events_lost.from_seq = 17;
    m.events_lost.to_seq = 4242;
    s_round_trip(&m, &d);
    assert_true(d.events_lost.from_seq == 17);
    assert_true(d.events_lost.to_seq == 4242);

    proto_client_msg_init(&m, PROTO_MSG_RESUME_RESULT);
    m.resume_result.outcome = PROTO_RESUME_RESUMED_WITH_GAP;
    m.resume_result.next_seq = 99;
    m.resume_result.lines_open = 12;
    s_round_trip(&m, &d);
    assert_int_equal(d.resume_result.outcome, PROTO_RESUME_RESUMED_WITH_GAP);
    assert_true(d.resume_result.next_seq == 99);
    assert_int_equal(d.resume_result.lines_open, 12);

    proto_client_msg_init(&m, PROTO_MSG_BYE);
    S_FILL(m.bye.reason, "exit");
    s_round_trip(&m, &d);
    assert_int_equal(d.kind, PROTO_MSG_BYE);
    assert_string_equal(d.bye.reason, m.bye.reason);
    assert_string_equal(proto_msg_kind_str(PROTO_MSG_BYE), "bye");
    proto_client_msg_clear(&d);

    proto_client_msg_init(&m, PROTO_MSG_ERROR);
    m.error.result = PROTO_RESULT_LOGIN_FAILED;
    S_FILL(m.error.text, "wrong user or password");
    m.error.supported_major = PROTO_VERSION_MAJOR;
    s_round_trip(&m, &d);
    assert_int_equal(d.error.result, PROTO_RESULT_LOGIN_FAILED);
    assert_string_equal(d.error.text, m.error.text);
    assert_int_equal(d.error.supported_major, PROTO_VERSION_MAJOR);
    proto_client_msg_clear(&d);
}

//  Every operation, with every field of its argument shape set to a distinct value.
static void every_request_op_round_trips(void **state)
{
    (void) state;
    for (int op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
        proto_client_msg_t m, d;
        proto_client_msg_init(&m, PROTO_MSG_REQUEST);
        m.request.request_id = 1000u + (unsigned) op;
        m.request.op = (proto_op_t) op;
        proto_request_t *q = &m.request;
        switch (op) {
        case PROTO_OP_OPEN_LINE:
            S_FILL(q->open_line.line, "101");
            S_FILL(q->open_line.failure_number, "0800");
            break;
        case PROTO_OP_SWAP_HOLD:
        case PROTO_OP_COMPLETE_TRANSFER:
        case PROTO_OP_COMPLETE_CONFERENCE:
            S_FILL(q->pair.line, "102");
            S_FILL(q->pair.held_call_id, "held");
            S_FILL(q->pair.active_call_id, "active");
            break;
        case PROTO_OP_DTMF:
        case PROTO_OP_DIAL_DIGITS:
            S_FILL(q->digits.line, "103");
            S_FILL(q->digits.call_id, "c7");
            snprintf(q->digits.digits, sizeof q->digits.digits, "12*#");
            break;
        case PROTO_OP_SET_FORWARDING:
            S_FILL(q->forward.line, "104");
            q->forward.fwd.mode = PROTO_FWD_NO_ANSWER_EXTERNAL;
            q->forward.fwd.on = true;
            S_FILL(q->forward.fwd.destination, "0301234567");
            break;
        case PROTO_OP_LIST_LINES:
            break;
        case PROTO_OP_SET_DO_NOT_DISTURB:
        case PROTO_OP_SET_CDR:
            S_FILL(q->flag.line, "106");
            q->flag.on = true;
            break;
        default:                    //  line, call and target shapes share proto_call_ref_t
            S_FILL(q->target.line, "105");
            S_FILL(q->target.call_id, "c9");
            S_FILL(q->target.number, "0049");
            break;
        }
        s_round_trip(&m, &d);
        const proto_request_t *r = &d.request;
        assert_int_equal(r->request_id, 1000u + (unsigned) op);
        assert_int_equal(r->op, op);
        switch (op) {
        case PROTO_OP_OPEN_LINE:
            assert_string_equal(r->open_line.line, q->open_line.line);
            assert_string_equal(r->open_line.failure_number, q->open_line.failure_number);
            break;
        case PROTO_OP_SWAP_HOLD:
        case PROTO_OP_COMPLETE_TRANSFER:
        case PROTO_OP_COMPLETE_CONFERENCE:
            assert_string_equal(r->pair.line, q->pair.line);
            assert_string_equal(r->pair.held_call_id, q->pair.held_call_id);
            assert_string_equal(r->pair.active_call_id, q->pair.active_call_id);
            break;
        case PROTO_OP_DTMF:
        case PROTO_OP_DIAL_DIGITS:
            assert_string_equal(r->digits.line, q->digits.line);
            assert_string_equal(r->digits.call_id, q->digits.call_id);
            assert_string_equal(r->digits.digits, "12*#");
            break;
        case PROTO_OP_SET_FORWARDING:
            assert_string_equal(r->forward.line, q->forward.line);
            assert_int_equal(r->forward.fwd.mode, PROTO_FWD_NO_ANSWER_EXTERNAL);
            assert_true(r->forward.fwd.on);
            assert_string_equal(r->forward.fwd.destination, q->forward.fwd.destination);
            break;
        case PROTO_OP_LIST_LINES:
            break;
        case PROTO_OP_SET_DO_NOT_DISTURB:
        case PROTO_OP_SET_CDR:
            assert_string_equal(r->flag.line, q->flag.line);
            assert_true(r->flag.on);
            break;
        case PROTO_OP_CLOSE_LINE:
        case PROTO_OP_GET_ADDRESS_STATUS:
            //  LineRef carries the line only.
            assert_string_equal(r->line.line, q->line.line);
            assert_string_equal(r->line.call_id, "");
            assert_string_equal(r->line.number, "");
            break;
        case PROTO_OP_HANG_UP:
        case PROTO_OP_ANSWER:
        case PROTO_OP_HOLD:
        case PROTO_OP_RETRIEVE:
        case PROTO_OP_CALL_BACK:
        case PROTO_OP_INTRUSION:
        case PROTO_OP_GET_CALL_INFO:
            //  CallRef carries line and call.
            assert_string_equal(r->call.line, q->call.line);
            assert_string_equal(r->call.call_id, q->call.call_id);
            assert_string_equal(r->call.number, "");
            break;
        default:
            assert_string_equal(r->target.line, q->target.line);
            assert_string_equal(r->target.call_id, q->target.call_id);
            assert_string_equal(r->target.number, q->target.number);
            break;
        }
        assert_string_not_equal(proto_op_str((proto_op_t) op), "unknown");
        proto_client_msg_clear(&d);
    }
}

static void every_forward_mode_round_trips(void **state)
{
    (void) state;
    for (int mode = PROTO_FWD_IMMEDIATE_ALL; mode < PROTO_FWD_COUNT_; mode++) {
        for (int on = 0; on <= 1; on++) {
            proto_client_msg_t m, d;
            proto_client_msg_init(&m, PROTO_MSG_REQUEST);
            m.request.request_id = 5;
            m.request.op = PROTO_OP_SET_FORWARDING;
            snprintf(m.request.forward.line, sizeof m.request.forward.line, "101");
            m.request.forward.fwd.mode = (proto_fwd_mode_t) mode;
            m.request.forward.fwd.on = on;
            snprintf(m.request.forward.fwd.destination, PROTO_NUMBER_MAX, "102");
            s_round_trip(&m, &d);
            assert_int_equal(d.request.forward.fwd.mode, mode);
            assert_int_equal(d.request.forward.fwd.on, on);
        }
    }
}

static void reply_with_lines_address_and_call_round_trips(void **state)
{
    (void) state;
    proto_client_msg_t m, d;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    proto_reply_t *r = &m.reply;
    r->request_id = 77;
    r->result = PROTO_RESULT_INVALID_STATE;
    S_FILL(r->text, "stateIncompatibility");
    S_FILL(r->call_id, "call");
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        proto_line_info_t l = {.open = i % 2, .in_service = i % 3 == 0};
        snprintf(l.line, sizeof l.line, "%d", 100 + i);
        snprintf(l.name, sizeof l.name, "Line %d", i);
        if (i % 5 == 0)
            snprintf(l.failure_number, sizeof l.failure_number, "9%d", i);
        assert_int_equal(proto_client_msg_add_line(&m, &l), 0);
    }
    r->has_address = true;
    S_FILL(r->address.line, "101");
    r->address.in_service = true;
    r->address.do_not_disturb = true;
    r->address.message_waiting = false;
    r->address.forward_count = PROTO_FORWARDS_MAX;
    for (int i = 0; i < PROTO_FORWARDS_MAX; i++) {
        r->address.forward[i].mode = (proto_fwd_mode_t) (i + 1);
        r->address.forward[i].on = i % 2;
        snprintf(r->address.forward[i].destination, PROTO_NUMBER_MAX, "20%d", i);
    }
    r->has_call = true;
    S_FILL(r->call.call_id, "cid");
    r->call.state = PROTO_CALL_ON_HOLD_PENDING_TRANSFER;
    S_FILL(r->call.caller_number, "0301234567");
    S_FILL(r->call.caller_name, "Alice");
    S_FILL(r->call.called_number, "101");
    S_FILL(r->call.called_name, "Bob");
    r->call.direction = PROTO_DIR_INCOMING;
    S_FILL(r->call.cause, "transferred");

    s_round_trip(&m, &d);
    const proto_reply_t *g = &d.reply;
    assert_int_equal(g->request_id, 77);
    assert_int_equal(g->result, PROTO_RESULT_INVALID_STATE);
    assert_string_equal(g->text, r->text);
    assert_string_equal(g->call_id, r->call_id);
    assert_int_equal(g->line_count, N);
    for (int i = 0; i < N; i++) {
        assert_string_equal(g->lines[i].line, r->lines[i].line);
        assert_string_equal(g->lines[i].name, r->lines[i].name);
        assert_int_equal(g->lines[i].open, r->lines[i].open);
        assert_int_equal(g->lines[i].in_service, r->lines[i].in_service);
        assert_string_equal(g->lines[i].failure_number, r->lines[i].failure_number);
    }
    assert_true(g->has_address);
    assert_string_equal(g->address.line, r->address.line);
    assert_true(g->address.in_service && g->address.do_not_disturb);
    assert_false(g->address.message_waiting);
    assert_int_equal(g->address.forward_count, PROTO_FORWARDS_MAX);
    for (int i = 0; i < PROTO_FORWARDS_MAX; i++) {
        assert_int_equal(g->address.forward[i].mode, i + 1);
        assert_int_equal(g->address.forward[i].on, i % 2);
        assert_string_equal(g->address.forward[i].destination, r->address.forward[i].destination);
    }
    assert_true(g->has_call);
    assert_string_equal(g->call.call_id, r->call.call_id);
    assert_int_equal(g->call.state, PROTO_CALL_ON_HOLD_PENDING_TRANSFER);
    assert_string_equal(g->call.caller_number, r->call.caller_number);
    assert_string_equal(g->call.caller_name, r->call.caller_name);
    assert_string_equal(g->call.called_number, r->call.called_number);
    assert_string_equal(g->call.called_name, r->call.called_name);
    assert_int_equal(g->call.direction, PROTO_DIR_INCOMING);
    assert_string_equal(g->call.cause, r->call.cause);

    //  A decoded list can grow (its capacity is exact after decode).
    proto_line_info_t extra = {.line = "999"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(proto_client_msg_add_line(&d, &extra), 0);
    assert_int_equal(d.reply.line_count, N + 5);
    assert_string_equal(d.reply.lines[N + 4].line, "999");
    proto_client_msg_clear(&d);
    proto_client_msg_clear(&m);

    //  A bare reply: no payloads.
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    m.reply.request_id = 3;
    m.reply.result = PROTO_RESULT_OK;
    s_round_trip(&m, &d);
    assert_int_equal(d.reply.result, PROTO_RESULT_OK);
    assert_int_equal(d.reply.line_count, 0);
    assert_null(d.reply.lines);
    assert_false(d.reply.has_address);
    assert_false(d.reply.has_call);
    proto_client_msg_clear(&d);
}

static void every_event_kind_and_call_state_round_trips(void **state)
{
    (void) state;
    proto_client_msg_t m, d;
    for (int st = PROTO_CALL_OFFERING; st < PROTO_CALL_COUNT_; st++) {
        proto_client_msg_init(&m, PROTO_MSG_EVENT);
        m.event.seq = 1000 + (uint64_t) st;
        S_FILL(m.event.line, "101");
        m.event.kind = PROTO_EVENT_CALL;
        S_FILL(m.event.call.call_id, "c1");
        m.event.call.state = (proto_call_state_t) st;
        S_FILL(m.event.call.caller_number, "0301234567");
        S_FILL(m.event.call.caller_name, "Alice");
        S_FILL(m.event.call.called_number, "101");
        S_FILL(m.event.call.called_name, "Bob");
        m.event.call.direction = PROTO_DIR_OUTGOING;
        S_FILL(m.event.call.cause, "newCall");
        s_round_trip(&m, &d);
        assert_true(d.event.seq == 1000 + (uint64_t) st);
        assert_string_equal(d.event.line, m.event.line);
        assert_int_equal(d.event.kind, PROTO_EVENT_CALL);
        assert_int_equal(d.event.call.state, st);
        assert_string_equal(d.event.call.call_id, m.event.call.call_id);
        assert_string_equal(d.event.call.caller_number, m.event.call.caller_number);
        assert_string_equal(d.event.call.caller_name, m.event.call.caller_name);
        assert_string_equal(d.event.call.called_number, m.event.call.called_number);
        assert_string_equal(d.event.call.called_name, m.event.call.called_name);
        assert_int_equal(d.event.call.direction, PROTO_DIR_OUTGOING);
        assert_string_equal(d.event.call.cause, m.event.call.cause);
        assert_string_not_equal(proto_call_state_str((proto_call_state_t) st), "unknown");
    }

    //  in_service false is proto3's default value, yet the oneof case keeps it apart
    //  from "no kind".
    for (int on = 0; on <= 1; on++) {
        proto_client_msg_init(&m, PROTO_MSG_EVENT);
        m.event.seq = 5;
        snprintf(m.event.line, sizeof m.event.line, "102");
        m.event.kind = PROTO_EVENT_SERVICE;
        m.event.in_service = on;
        s_round_trip(&m, &d);
        assert_int_equal(d.event.kind, PROTO_EVENT_SERVICE);
        assert_int_equal(d.event.in_service, on);
        assert_string_equal(d.event.line, "102");
        assert_false(d.event.snapshot);

        proto_client_msg_init(&m, PROTO_MSG_EVENT);
        m.event.seq = 9;
        m.event.snapshot = true;
        m.event.kind = PROTO_EVENT_DO_NOT_DISTURB;
        m.event.do_not_disturb = on;
        s_round_trip(&m, &d);
        assert_int_equal(d.event.kind, PROTO_EVENT_DO_NOT_DISTURB);
        assert_int_equal(d.event.do_not_disturb, on);
        assert_true(d.event.snapshot);
    }

    proto_client_msg_init(&m, PROTO_MSG_EVENT);
    m.event.seq = 6;
    m.event.kind = PROTO_EVENT_FORWARDING;
    m.event.forwarding.mode = PROTO_FWD_BUSY_INTERNAL;
    m.event.forwarding.on = true;
    S_FILL(m.event.forwarding.destination, "555");
    s_round_trip(&m, &d);
    assert_int_equal(d.event.kind, PROTO_EVENT_FORWARDING);
    assert_int_equal(d.event.forwarding.mode, PROTO_FWD_BUSY_INTERNAL);
    assert_true(d.event.forwarding.on);
    assert_string_equal(d.event.forwarding.destination, m.event.forwarding.destination);

    proto_client_msg_init(&m, PROTO_MSG_EVENT);
    m.event.seq = 7;
    m.event.kind = PROTO_EVENT_CDR;
    proto_cdr_t *c = &m.event.cdr;
    S_FILL(c->call_id, "c3");
    S_FILL(c->caller_number, "101");
    S_FILL(c->called_number, "0301234567");
    c->direction = PROTO_DIR_INTERNAL;
    c->start_ms = 1763782440000ULL;
    c->connect_ms = 1763782445000ULL;
    c->end_ms = 1763782500000ULL;
    c->charge_units = 4;
    S_FILL(c->account, "proj-9");
    s_round_trip(&m, &d);
    const proto_cdr_t *g = &d.event.cdr;
    assert_int_equal(d.event.kind, PROTO_EVENT_CDR);
    assert_string_equal(g->call_id, c->call_id);
    assert_string_equal(g->caller_number, c->caller_number);
    assert_string_equal(g->called_number, c->called_number);
    assert_int_equal(g->direction, PROTO_DIR_INTERNAL);
    assert_true(g->start_ms == c->start_ms);
    assert_true(g->connect_ms == c->connect_ms);
    assert_true(g->end_ms == c->end_ms);
    assert_int_equal(g->charge_units, 4);
    assert_string_equal(g->account, c->account);
}

//  --- Bad input ---------------------------------------------------------------------------------

static void truncated_frames_give_ebadmsg(void **state)
{
    (void) state;
    proto_client_msg_t m, d;
    proto_client_msg_init(&m, PROTO_MSG_EVENT);
    m.event.seq = 9;
    snprintf(m.event.line, sizeof m.event.line, "101");
    m.event.kind = PROTO_EVENT_CALL;
    m.event.call.state = PROTO_CALL_CONNECTED;
    snprintf(m.event.call.caller_name, sizeof m.event.call.caller_name, "Alice");
    size_t n = 0;
    static uint8_t full[4096];
    assert_int_equal(proto_client_encode(&m, full, sizeof full, &n), 0);
    //  The body is the envelope's last, length-delimited field: every proper prefix
    //  either lacks the body or cuts it short.
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *part = malloc(cut ? cut : 1);     //  exact size, so ASan sees overreads
        memcpy(part, full, cut);
        assert_int_equal(proto_client_decode(&d, part, cut), -EBADMSG);
        assert_int_equal(d.kind, PROTO_MSG_NONE);
        free(part);
    }
}

static void garbage_frames_give_clean_errors(void **state)
{
    (void) state;
    srand(20261122);
    static uint8_t junk[2048];
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t) (rand() % (int) sizeof junk);
        for (size_t k = 0; k < len; k++)
            junk[k] = (uint8_t) rand();
        //  Half the time a valid envelope head, so the body parser gets garbage too.
        if (i % 2 && len > 4) {
            junk[0] = 0x08;
            junk[1] = 0x01;
            junk[2] = (uint8_t) (0x52 + 8 * (rand() % 9));  //  one of the body fields
        }
        proto_client_msg_t d;
        int rc = proto_client_decode(&d, junk, len);
        assert_true(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -EPROTONOSUPPORT);
        if (rc == 0)
            ok++;
        else
            assert_int_equal(d.kind, PROTO_MSG_NONE);
        proto_client_msg_clear(&d);
    }
    (void) ok;
}

static void oversized_fields_give_emsgsize(void **state)
{
    (void) state;
    proto_client_msg_t d;
    //  Hello (field 10) whose user (field 1) is 100 bytes: longer than PROTO_NAME_MAX.
    uint8_t f[128] = {0x08, 0x01, 0x52, 102, 0x0a, 100};
    memset(f + 6, 'a', 100);
    assert_int_equal(proto_client_decode(&d, f, 106), -EMSGSIZE);
    assert_int_equal(d.kind, PROTO_MSG_NONE);
    //  Exactly PROTO_NAME_MAX fits.
    f[3] = 2 + PROTO_NAME_MAX;
    f[5] = PROTO_NAME_MAX;
    assert_int_equal(proto_client_decode(&d, f, 6 + PROTO_NAME_MAX), 0);
    assert_int_equal(strlen(d.hello.user), PROTO_NAME_MAX);

    //  A reply (field 14) with PROTO_LINES_MAX + 1 empty LineInfo entries (field 5).
    size_t lines = PROTO_LINES_MAX + 1, body = 2 * lines;
    uint8_t *big = calloc(8 + body, 1);
    size_t n = 0;
    big[n++] = 0x08;
    big[n++] = 0x01;
    big[n++] = 0x72;
    big[n++] = (uint8_t) (0x80 | (body & 0x7f));
    big[n++] = (uint8_t) (body >> 7);
    assert_true(body >> 14 == 0);
    for (size_t i = 0; i < lines; i++) {
        big[n++] = 0x2a;
        big[n++] = 0x00;
    }
    assert_int_equal(proto_client_decode(&d, big, n), -EMSGSIZE);
    assert_int_equal(d.kind, PROTO_MSG_NONE);
    assert_null(d.reply.lines);
    free(big);

    //  A frame above PROTO_FRAME_MAX is refused before parsing.
    assert_int_equal(proto_client_decode(&d, s_buf, PROTO_FRAME_MAX + 1u), -EMSGSIZE);

    //  add_line stops at the limit.
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REPLY);
    proto_line_info_t l = {.line = "1"};
    for (int i = 0; i < PROTO_LINES_MAX; i++)
        assert_int_equal(proto_client_msg_add_line(&m, &l), 0);
    assert_int_equal(proto_client_msg_add_line(&m, &l), -EMSGSIZE);
    proto_client_msg_clear(&m);
}

static void higher_major_is_refused_and_zero_major_is_malformed(void **state)
{
    (void) state;
    proto_client_msg_t m, d;
    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    m.version_major = PROTO_VERSION_MAJOR + 1;
    m.heartbeat.sent_ms = 1;
    size_t n = 0;
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), 0);
    assert_int_equal(proto_client_decode(&d, s_buf, n), -EPROTONOSUPPORT);
    assert_int_equal(d.version_major, PROTO_VERSION_MAJOR + 1);   //  for the Error text
    assert_int_equal(d.kind, PROTO_MSG_NONE);

    //  A major-2 frame whose body this library cannot parse (field 12 retyped as a
    //  varint): still told apart from garbage by its major.
    const uint8_t v2[] = {0x08, 0x02, 0x60, 0x05, 0x62, 0x01, 0xff};
    assert_int_equal(proto_client_decode(&d, v2, sizeof v2), -EPROTONOSUPPORT);
    assert_int_equal(d.version_major, 2);
    //  The same bytes with major 1 are malformed.
    const uint8_t v1[] = {0x08, 0x01, 0x60, 0x05, 0x62, 0x01, 0xff};
    assert_int_equal(proto_client_decode(&d, v1, sizeof v1), -EBADMSG);
    assert_int_equal(d.version_major, 0);

    //  No version at all (an empty frame, or a body without an envelope version).
    assert_int_equal(proto_client_decode(&d, s_buf, 0), -EBADMSG);
    const uint8_t no_major[] = {0x62, 0x02, 0x08, 0x01};
    assert_int_equal(proto_client_decode(&d, no_major, sizeof no_major), -EBADMSG);
    //  A version but no body.
    const uint8_t no_body[] = {0x08, 0x01, 0x10, 0x00};
    assert_int_equal(proto_client_decode(&d, no_body, sizeof no_body), -EBADMSG);
}

//  A sender of another minor within major 1 adds fields this library does not know (at
//  the envelope and inside a body); they are skipped and the rest decodes.
static void unknown_fields_within_the_major_are_skipped(void **state)
{
    (void) state;
    const uint8_t minors[] = {0, 7};
    for (size_t i = 0; i < sizeof minors; i++) {
        const uint8_t frame[] = {
            0x08, 0x01,                 //  version_major 1
            0x10, minors[i],            //  version_minor
            0x98, 0x06, 0x2a,           //  field 99 (varint 42): unknown
            0x62, 0x09,                 //  heartbeat (field 12), 9 bytes:
            0x08, 0x05,                 //    sent_ms 5
            0x92, 0x03, 0x02, 'h', 'i', //    field 50 (string "hi"): unknown
            0x10, 0x03,                 //    last_seq_acked 3
            0xa5, 0x06, 1, 2, 3, 4,     //  field 100 (fixed32): unknown
        };
        proto_client_msg_t d;
        assert_int_equal(proto_client_decode(&d, frame, sizeof frame), 0);
        assert_int_equal(d.kind, PROTO_MSG_HEARTBEAT);
        assert_int_equal(d.version_minor, minors[i]);
        assert_true(d.heartbeat.sent_ms == 5);
        assert_true(d.heartbeat.last_seq_acked == 3);
    }
    //  Enum values of a newer minor fall back to values this library knows.
    const uint8_t reply[] = {0x08, 0x01, 0x72, 0x04, 0x08, 0x01, 0x10, 0x63};  //  result 99
    proto_client_msg_t d;
    assert_int_equal(proto_client_decode(&d, reply, sizeof reply), 0);
    assert_int_equal(d.reply.result, PROTO_RESULT_ERROR);
    //  A body (oneof member) a newer minor added is unknown: nothing to decode into.
    const uint8_t new_body[] = {0x08, 0x01, 0xa2, 0x01, 0x00};   //  field 20, empty
    assert_int_equal(proto_client_decode(&d, new_body, sizeof new_body), -EBADMSG);
}

static void encode_refuses_incomplete_messages(void **state)
{
    (void) state;
    proto_client_msg_t m;
    size_t n = 0;
    proto_client_msg_init(&m, PROTO_MSG_NONE);
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    m.request.request_id = 1;
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);    //  no op
    m.request.op = PROTO_OP_ANSWER;
    m.request.request_id = 0;
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);    //  id 0
    m.request.request_id = 1;
    memset(m.request.call.line, '1', sizeof m.request.call.line);    //  unterminated
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
    m.request.call.line[3] = '\0';
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), 0);
    assert_int_equal(proto_client_encode(&m, s_buf, n - 1, &n), -ENOSPC);
    proto_client_msg_init(&m, PROTO_MSG_EVENT);
    assert_int_equal(proto_client_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);    //  no kind
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_round_trips),
        cmocka_unit_test(welcome_heartbeat_lost_resume_error_round_trip),
        cmocka_unit_test(every_request_op_round_trips),
        cmocka_unit_test(every_forward_mode_round_trips),
        cmocka_unit_test(reply_with_lines_address_and_call_round_trips),
        cmocka_unit_test(every_event_kind_and_call_state_round_trips),
        cmocka_unit_test(truncated_frames_give_ebadmsg),
        cmocka_unit_test(garbage_frames_give_clean_errors),
        cmocka_unit_test(oversized_fields_give_emsgsize),
        cmocka_unit_test(higher_major_is_refused_and_zero_major_is_malformed),
        cmocka_unit_test(unknown_fields_within_the_major_are_skipped),
        cmocka_unit_test(encode_refuses_incomplete_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
