//  proto_client_wire: the one wall around protobuf-c for client.proto.  Encodes
//  proto_client_msg_t into an Envelope and decodes an Envelope back; protobuf-c types
//  never leave this file, and every unpack is freed in the function that made it.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.pb-c.h"
#include "proto.h"

//  Several operations share one argument message (client.proto "shape").  The protobuf-c
//  oneof is a union of pointers, all to message structs: a shape is written and read
//  through one representative member whatever the case (C11 6.5.2.3 allows the pun).
typedef enum {
    S_SHAPE_NONE = 0,
    S_SHAPE_OPEN,               //  OpenLine via open_line
    S_SHAPE_LINE,               //  LineRef via close_line
    S_SHAPE_CALL,               //  CallRef via hang_up
    S_SHAPE_TARGET,             //  CallTarget via make_call
    S_SHAPE_PAIR,               //  CallPair via swap_hold
    S_SHAPE_DIGITS,             //  CallDigits via dtmf
    S_SHAPE_FORWARD,            //  SetForwarding via set_forwarding
    S_SHAPE_EMPTY,              //  ListLines via list_lines
    S_SHAPE_FLAG,               //  LineFlag via set_do_not_disturb
} s_shape_t;

typedef struct {
    Ctim__Client__Request__OpCase pb_case;
    s_shape_t shape;
    const char *name;
} s_op_t;

#define S_OP(op, pb, shape, name) [PROTO_OP_##op] = {CTIM__CLIENT__REQUEST__OP_##pb, shape, name}
static const s_op_t s_ops[PROTO_OP_COUNT_] = {
    [PROTO_OP_NONE] = {CTIM__CLIENT__REQUEST__OP__NOT_SET, S_SHAPE_NONE, "none"},
    S_OP(OPEN_LINE, OPEN_LINE, S_SHAPE_OPEN, "open_line"),
    S_OP(CLOSE_LINE, CLOSE_LINE, S_SHAPE_LINE, "close_line"),
    S_OP(MAKE_CALL, MAKE_CALL, S_SHAPE_TARGET, "make_call"),
    S_OP(HANG_UP, HANG_UP, S_SHAPE_CALL, "hang_up"),
    S_OP(ANSWER, ANSWER, S_SHAPE_CALL, "answer"),
    S_OP(HOLD, HOLD, S_SHAPE_CALL, "hold"),
    S_OP(RETRIEVE, RETRIEVE, S_SHAPE_CALL, "retrieve"),
    S_OP(REDIRECT, REDIRECT, S_SHAPE_TARGET, "redirect"),
    S_OP(BLIND_TRANSFER, BLIND_TRANSFER, S_SHAPE_TARGET, "blind_transfer"),
    S_OP(SETUP_TRANSFER, SETUP_TRANSFER, S_SHAPE_TARGET, "setup_transfer"),
    S_OP(SWAP_HOLD, SWAP_HOLD, S_SHAPE_PAIR, "swap_hold"),
    S_OP(COMPLETE_TRANSFER, COMPLETE_TRANSFER, S_SHAPE_PAIR, "complete_transfer"),
    S_OP(COMPLETE_CONFERENCE, COMPLETE_CONFERENCE, S_SHAPE_PAIR, "complete_conference"),
    S_OP(ADD_TO_CONFERENCE, ADD_TO_CONFERENCE, S_SHAPE_TARGET, "add_to_conference"),
    S_OP(REMOVE_FROM_CONFERENCE, REMOVE_FROM_CONFERENCE, S_SHAPE_TARGET,
         "remove_from_conference"),
    S_OP(PICKUP, PICKUP, S_SHAPE_TARGET, "pickup"),
    S_OP(DTMF, DTMF, S_SHAPE_DIGITS, "dtmf"),
    S_OP(DIAL_DIGITS, DIAL_DIGITS, S_SHAPE_DIGITS, "dial_digits"),
    S_OP(CALL_BACK, CALL_BACK, S_SHAPE_CALL, "call_back"),
    S_OP(INTRUSION, INTRUSION, S_SHAPE_CALL, "intrusion"),
    S_OP(SET_FORWARDING, SET_FORWARDING, S_SHAPE_FORWARD, "set_forwarding"),
    S_OP(GET_ADDRESS_STATUS, GET_ADDRESS_STATUS, S_SHAPE_LINE, "get_address_status"),
    S_OP(GET_CALL_INFO, GET_CALL_INFO, S_SHAPE_CALL, "get_call_info"),
    S_OP(LIST_LINES, LIST_LINES, S_SHAPE_EMPTY, "list_lines"),
    S_OP(SET_DO_NOT_DISTURB, SET_DO_NOT_DISTURB, S_SHAPE_FLAG, "set_do_not_disturb"),
    S_OP(SET_CDR, SET_CDR, S_SHAPE_FLAG, "set_cdr"),
};

//  --- Message helpers ---------------------------------------------------------------------------

void proto_client_msg_init(proto_client_msg_t *m, proto_msg_kind_t kind)
{
    memset(m, 0, sizeof *m);
    m->version_major = PROTO_VERSION_MAJOR;
    m->version_minor = PROTO_VERSION_MINOR;
    m->kind = kind;
}

void proto_client_msg_clear(proto_client_msg_t *m)
{
    if (m->kind == PROTO_MSG_REPLY)
        free(m->reply.lines);
    proto_client_msg_init(m, PROTO_MSG_NONE);
}

int proto_client_msg_add_line(proto_client_msg_t *m, const proto_line_info_t *line)
{
    if (m->kind != PROTO_MSG_REPLY)
        return -EINVAL;
    proto_reply_t *r = &m->reply;
    if (r->line_count >= PROTO_LINES_MAX)
        return -EMSGSIZE;
    if (r->line_count == r->line_cap) {
        size_t cap = r->line_cap < 4 ? 4 : r->line_cap * 2;     //  <= 2 * PROTO_LINES_MAX
        proto_line_info_t *grown = realloc(r->lines, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        r->lines = grown;
        r->line_cap = cap;
    }
    r->lines[r->line_count++] = *line;
    return 0;
}

//  --- Encode ------------------------------------------------------------------------------------

//  Point a protobuf-c string at one of our fixed arrays; an unterminated array is the
//  caller's mistake (-EINVAL), never read past.
#define S_ENC(dst, src)                                                                            \
    do {                                                                                           \
        if (!memchr((src), 0, sizeof(src)))                                                        \
            return -EINVAL;                                                                        \
        (dst) = (char *) (src);                                                                    \
    } while (0)

//  Every protobuf-c struct an encode may use, on the encoder's stack.
typedef struct {
    Ctim__Client__Envelope env;
    Ctim__Client__Hello hello;
    Ctim__Client__Welcome welcome;
    Ctim__Client__Heartbeat heartbeat;
    Ctim__Client__Request request;
    Ctim__Client__OpenLine open_line;
    Ctim__Client__LineRef line_ref;
    Ctim__Client__CallRef call_ref;
    Ctim__Client__CallTarget target;
    Ctim__Client__CallPair pair;
    Ctim__Client__CallDigits digits;
    Ctim__Client__SetForwarding set_fwd;
    Ctim__Client__ListLines list_lines;
    Ctim__Client__LineFlag flag;
    Ctim__Client__Reply reply;
    Ctim__Client__AddressStatus address;
    Ctim__Client__ForwardEntry fwd[PROTO_FORWARDS_MAX];
    Ctim__Client__ForwardEntry *fwd_p[PROTO_FORWARDS_MAX];
    Ctim__Client__CallInfo call_info;
    Ctim__Client__LineInfo *lines;      //  heap, freed by proto_client_encode
    Ctim__Client__LineInfo **lines_p;   //  heap, freed by proto_client_encode
    Ctim__Client__Event event;
    Ctim__Client__ForwardEntry ev_fwd;
    Ctim__Client__Cdr cdr;
    Ctim__Client__EventsLost lost;
    Ctim__Client__ResumeResult resume;
    Ctim__Client__Error error;
    Ctim__Client__Bye bye;
} s_enc_t;

static int s_enc_forward(Ctim__Client__ForwardEntry *pb, const proto_forward_t *f)
{
    ctim__client__forward_entry__init(pb);
    pb->mode = (Ctim__Client__ForwardMode) f->mode;
    pb->on = f->on;
    S_ENC(pb->destination, f->destination);
    return 0;
}

static int s_enc_call_info(Ctim__Client__CallInfo *pb, const proto_call_info_t *c)
{
    ctim__client__call_info__init(pb);
    S_ENC(pb->call_id, c->call_id);
    pb->state = (Ctim__Client__CallState) c->state;
    S_ENC(pb->caller_number, c->caller_number);
    S_ENC(pb->caller_name, c->caller_name);
    S_ENC(pb->called_number, c->called_number);
    S_ENC(pb->called_name, c->called_name);
    pb->direction = (Ctim__Client__Direction) c->direction;
    S_ENC(pb->cause, c->cause);
    return 0;
}

static int s_enc_hello(s_enc_t *s, const proto_hello_t *h)
{
    ctim__client__hello__init(&s->hello);
    S_ENC(s->hello.user, h->user);
    S_ENC(s->hello.password, h->password);
    s->hello.heartbeat_ms = h->heartbeat_ms;
    S_ENC(s->hello.resume_token, h->resume_token);
    S_ENC(s->hello.client, h->client);
    s->hello.highest_major = h->highest_major;
    s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_HELLO;
    s->env.hello = &s->hello;
    return 0;
}

static int s_enc_welcome(s_enc_t *s, const proto_welcome_t *w)
{
    ctim__client__welcome__init(&s->welcome);
    S_ENC(s->welcome.session_id, w->session_id);
    S_ENC(s->welcome.resume_token, w->resume_token);
    s->welcome.heartbeat_ms = w->heartbeat_ms;
    s->welcome.last_seq_acked = w->last_seq_acked;
    S_ENC(s->welcome.node, w->node);
    s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_WELCOME;
    s->env.welcome = &s->welcome;
    return 0;
}

static int s_enc_request(s_enc_t *s, const proto_request_t *q)
{
    if (q->op <= PROTO_OP_NONE || q->op >= PROTO_OP_COUNT_ || q->request_id == 0)
        return -EINVAL;
    Ctim__Client__Request *pb = &s->request;
    ctim__client__request__init(pb);
    pb->request_id = q->request_id;
    pb->op_case = s_ops[q->op].pb_case;
    switch (s_ops[q->op].shape) {
    case S_SHAPE_OPEN:
        ctim__client__open_line__init(&s->open_line);
        S_ENC(s->open_line.line, q->open_line.line);
        S_ENC(s->open_line.failure_number, q->open_line.failure_number);
        pb->open_line = &s->open_line;
        break;
    case S_SHAPE_LINE:
        ctim__client__line_ref__init(&s->line_ref);
        S_ENC(s->line_ref.line, q->line.line);
        pb->close_line = &s->line_ref;
        break;
    case S_SHAPE_CALL:
        ctim__client__call_ref__init(&s->call_ref);
        S_ENC(s->call_ref.line, q->call.line);
        S_ENC(s->call_ref.call_id, q->call.call_id);
        pb->hang_up = &s->call_ref;
        break;
    case S_SHAPE_TARGET:
        ctim__client__call_target__init(&s->target);
        S_ENC(s->target.line, q->target.line);
        S_ENC(s->target.call_id, q->target.call_id);
        S_ENC(s->target.number, q->target.number);
        pb->make_call = &s->target;
        break;
    case S_SHAPE_PAIR:
        ctim__client__call_pair__init(&s->pair);
        S_ENC(s->pair.line, q->pair.line);
        S_ENC(s->pair.held_call_id, q->pair.held_call_id);
        S_ENC(s->pair.active_call_id, q->pair.active_call_id);
        pb->swap_hold = &s->pair;
        break;
    case S_SHAPE_DIGITS:
        ctim__client__call_digits__init(&s->digits);
        S_ENC(s->digits.line, q->digits.line);
        S_ENC(s->digits.call_id, q->digits.call_id);
        S_ENC(s->digits.digits, q->digits.digits);
        pb->dtmf = &s->digits;
        break;
    case S_SHAPE_FORWARD:
        ctim__client__set_forwarding__init(&s->set_fwd);
        S_ENC(s->set_fwd.line, q->forward.line);
        s->set_fwd.mode = (Ctim__Client__ForwardMode) q->forward.fwd.mode;
        s->set_fwd.on = q->forward.fwd.on;
        S_ENC(s->set_fwd.destination, q->forward.fwd.destination);
        pb->set_forwarding = &s->set_fwd;
        break;
    case S_SHAPE_EMPTY:
        ctim__client__list_lines__init(&s->list_lines);
        pb->list_lines = &s->list_lines;
        break;
    case S_SHAPE_FLAG:
        ctim__client__line_flag__init(&s->flag);
        S_ENC(s->flag.line, q->flag.line);
        s->flag.on = q->flag.on;
        pb->set_do_not_disturb = &s->flag;
        break;
    case S_SHAPE_NONE:
        return -EINVAL;
    }
    s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_REQUEST;
    s->env.request = pb;
    return 0;
}

//  The line list goes to heap arrays in s (freed by proto_client_encode, also on error).
static int s_enc_reply(s_enc_t *s, const proto_reply_t *r)
{
    Ctim__Client__Reply *pb = &s->reply;
    ctim__client__reply__init(pb);
    pb->request_id = r->request_id;
    pb->result = (Ctim__Client__Result) r->result;
    S_ENC(pb->text, r->text);
    S_ENC(pb->call_id, r->call_id);
    if (r->line_count > PROTO_LINES_MAX)
        return -EINVAL;
    if (r->line_count > 0) {
        s->lines = calloc(r->line_count, sizeof *s->lines);
        s->lines_p = calloc(r->line_count, sizeof *s->lines_p);
        if (!s->lines || !s->lines_p)
            return -ENOMEM;
        for (size_t i = 0; i < r->line_count; i++) {
            const proto_line_info_t *l = &r->lines[i];
            Ctim__Client__LineInfo *li = &s->lines[i];
            ctim__client__line_info__init(li);
            S_ENC(li->line, l->line);
            S_ENC(li->name, l->name);
            li->open = l->open;
            li->in_service = l->in_service;
            S_ENC(li->failure_number, l->failure_number);
            s->lines_p[i] = li;
        }
        pb->n_lines = r->line_count;
        pb->lines = s->lines_p;
    }
    if (r->has_address) {
        const proto_address_status_t *a = &r->address;
        if (a->forward_count > PROTO_FORWARDS_MAX)
            return -EINVAL;
        ctim__client__address_status__init(&s->address);
        S_ENC(s->address.line, a->line);
        s->address.in_service = a->in_service;
        s->address.do_not_disturb = a->do_not_disturb;
        s->address.message_waiting = a->message_waiting;
        for (size_t i = 0; i < a->forward_count; i++) {
            int rc = s_enc_forward(&s->fwd[i], &a->forward[i]);
            if (rc < 0)
                return rc;
            s->fwd_p[i] = &s->fwd[i];
        }
        s->address.n_forwarding = a->forward_count;
        s->address.forwarding = s->fwd_p;
        pb->address = &s->address;
    }
    if (r->has_call) {
        int rc = s_enc_call_info(&s->call_info, &r->call);
        if (rc < 0)
            return rc;
        pb->call = &s->call_info;
    }
    s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_REPLY;
    s->env.reply = pb;
    return 0;
}

static int s_enc_event(s_enc_t *s, const proto_event_t *e)
{
    Ctim__Client__Event *pb = &s->event;
    ctim__client__event__init(pb);
    pb->seq = e->seq;
    S_ENC(pb->line, e->line);
    pb->snapshot = e->snapshot;
    int rc = 0;
    switch (e->kind) {
    case PROTO_EVENT_CALL:
        rc = s_enc_call_info(&s->call_info, &e->call);
        pb->kind_case = CTIM__CLIENT__EVENT__KIND_CALL;
        pb->call = &s->call_info;
        break;
    case PROTO_EVENT_SERVICE:
        pb->kind_case = CTIM__CLIENT__EVENT__KIND_IN_SERVICE;
        pb->in_service = e->in_service;
        break;
    case PROTO_EVENT_DO_NOT_DISTURB:
        pb->kind_case = CTIM__CLIENT__EVENT__KIND_DO_NOT_DISTURB;
        pb->do_not_disturb = e->do_not_disturb;
        break;
    case PROTO_EVENT_FORWARDING:
        rc = s_enc_forward(&s->ev_fwd, &e->forwarding);
        pb->kind_case = CTIM__CLIENT__EVENT__KIND_FORWARDING;
        pb->forwarding = &s->ev_fwd;
        break;
    case PROTO_EVENT_CDR: {
        const proto_cdr_t *c = &e->cdr;
        Ctim__Client__Cdr *d = &s->cdr;
        ctim__client__cdr__init(d);
        S_ENC(d->call_id, c->call_id);
        S_ENC(d->caller_number, c->caller_number);
        S_ENC(d->called_number, c->called_number);
        d->direction = (Ctim__Client__Direction) c->direction;
        d->start_ms = c->start_ms;
        d->connect_ms = c->connect_ms;
        d->end_ms = c->end_ms;
        d->charge_units = c->charge_units;
        S_ENC(d->account, c->account);
        pb->kind_case = CTIM__CLIENT__EVENT__KIND_CDR;
        pb->cdr = d;
        break;
    }
    default:
        return -EINVAL;
    }
    s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_EVENT;
    s->env.event = pb;
    return rc;
}

//  Fill s->env from m.  Returns 0 or -EINVAL / -ENOMEM.
static int s_enc_body(s_enc_t *s, const proto_client_msg_t *m)
{
    switch (m->kind) {
    case PROTO_MSG_HELLO:
        return s_enc_hello(s, &m->hello);
    case PROTO_MSG_WELCOME:
        return s_enc_welcome(s, &m->welcome);
    case PROTO_MSG_HEARTBEAT:
        ctim__client__heartbeat__init(&s->heartbeat);
        s->heartbeat.sent_ms = m->heartbeat.sent_ms;
        s->heartbeat.last_seq_acked = m->heartbeat.last_seq_acked;
        s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_HEARTBEAT;
        s->env.heartbeat = &s->heartbeat;
        return 0;
    case PROTO_MSG_REQUEST:
        return s_enc_request(s, &m->request);
    case PROTO_MSG_REPLY:
        return s_enc_reply(s, &m->reply);
    case PROTO_MSG_EVENT:
        return s_enc_event(s, &m->event);
    case PROTO_MSG_EVENTS_LOST:
        ctim__client__events_lost__init(&s->lost);
        s->lost.from_seq = m->events_lost.from_seq;
        s->lost.to_seq = m->events_lost.to_seq;
        s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_EVENTS_LOST;
        s->env.events_lost = &s->lost;
        return 0;
    case PROTO_MSG_RESUME_RESULT:
        ctim__client__resume_result__init(&s->resume);
        s->resume.outcome = (Ctim__Client__ResumeOutcome) m->resume_result.outcome;
        s->resume.next_seq = m->resume_result.next_seq;
        s->resume.lines_open = m->resume_result.lines_open;
        s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_RESUME_RESULT;
        s->env.resume_result = &s->resume;
        return 0;
    case PROTO_MSG_ERROR:
        ctim__client__error__init(&s->error);
        s->error.result = (Ctim__Client__Result) m->error.result;
        S_ENC(s->error.text, m->error.text);
        s->error.supported_major = m->error.supported_major;
        s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_ERROR;
        s->env.error = &s->error;
        return 0;
    case PROTO_MSG_BYE:
        ctim__client__bye__init(&s->bye);
        S_ENC(s->bye.reason, m->bye.reason);
        s->env.body_case = CTIM__CLIENT__ENVELOPE__BODY_BYE;
        s->env.bye = &s->bye;
        return 0;
    case PROTO_MSG_NONE:
        break;
    }
    return -EINVAL;
}

int proto_client_encode(const proto_client_msg_t *m, uint8_t *out, size_t cap, size_t *len_out)
{
    s_enc_t s;
    memset(&s, 0, sizeof s);
    ctim__client__envelope__init(&s.env);
    s.env.version_major = m->version_major;
    s.env.version_minor = m->version_minor;
    int rc = m->version_major == 0 ? -EINVAL : s_enc_body(&s, m);
    if (rc == 0) {
        size_t need = ctim__client__envelope__get_packed_size(&s.env);
        if (need > cap || need > PROTO_FRAME_MAX)
            rc = -ENOSPC;
        else
            *len_out = ctim__client__envelope__pack(&s.env, out);
    }
    free(s.lines);
    free(s.lines_p);
    return rc;
}

//  --- Decode ------------------------------------------------------------------------------------

//  Copy a decoded protobuf-c string into a fixed array: -EMSGSIZE if it does not fit.
static int s_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return -EMSGSIZE;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return 0;
}

#define S_DEC(dst, src)                                                                            \
    do {                                                                                           \
        int s_rc_ = s_copy((dst), sizeof(dst), (src));                                             \
        if (s_rc_ < 0)                                                                             \
            return s_rc_;                                                                          \
    } while (0)

//  Enum values a newer minor may add: unknown ones fall back to a value we know.
static int s_enum(int v, int count, int fallback)
{
    return v >= 0 && v < count ? v : fallback;
}

static int s_dec_forward(proto_forward_t *f, const Ctim__Client__ForwardEntry *pb)
{
    f->mode = (proto_fwd_mode_t) s_enum((int) pb->mode, PROTO_FWD_COUNT_, 0);
    f->on = pb->on;
    S_DEC(f->destination, pb->destination);
    return 0;
}

static int s_dec_call_info(proto_call_info_t *c, const Ctim__Client__CallInfo *pb)
{
    S_DEC(c->call_id, pb->call_id);
    c->state = (proto_call_state_t) s_enum((int) pb->state, PROTO_CALL_COUNT_, 0);
    S_DEC(c->caller_number, pb->caller_number);
    S_DEC(c->caller_name, pb->caller_name);
    S_DEC(c->called_number, pb->called_number);
    S_DEC(c->called_name, pb->called_name);
    c->direction = (proto_direction_t) s_enum((int) pb->direction, PROTO_DIR_COUNT_, 0);
    S_DEC(c->cause, pb->cause);
    return 0;
}

static proto_result_t s_dec_result(Ctim__Client__Result r)
{
    return (proto_result_t) s_enum((int) r, PROTO_RESULT_COUNT_, PROTO_RESULT_ERROR);
}

static int s_dec_request(proto_request_t *q, const Ctim__Client__Request *pb)
{
    if (pb->request_id == 0)
        return -EBADMSG;
    q->request_id = pb->request_id;
    q->op = PROTO_OP_NONE;
    for (int op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++)
        if (s_ops[op].pb_case == pb->op_case)
            q->op = (proto_op_t) op;
    if (q->op == PROTO_OP_NONE)     //  no operation, or one a newer minor added
        return -EBADMSG;
    switch (s_ops[q->op].shape) {
    case S_SHAPE_OPEN:
        S_DEC(q->open_line.line, pb->open_line->line);
        S_DEC(q->open_line.failure_number, pb->open_line->failure_number);
        break;
    case S_SHAPE_LINE:
        S_DEC(q->line.line, pb->close_line->line);
        break;
    case S_SHAPE_CALL:
        S_DEC(q->call.line, pb->hang_up->line);
        S_DEC(q->call.call_id, pb->hang_up->call_id);
        break;
    case S_SHAPE_TARGET:
        S_DEC(q->target.line, pb->make_call->line);
        S_DEC(q->target.call_id, pb->make_call->call_id);
        S_DEC(q->target.number, pb->make_call->number);
        break;
    case S_SHAPE_PAIR:
        S_DEC(q->pair.line, pb->swap_hold->line);
        S_DEC(q->pair.held_call_id, pb->swap_hold->held_call_id);
        S_DEC(q->pair.active_call_id, pb->swap_hold->active_call_id);
        break;
    case S_SHAPE_DIGITS:
        S_DEC(q->digits.line, pb->dtmf->line);
        S_DEC(q->digits.call_id, pb->dtmf->call_id);
        S_DEC(q->digits.digits, pb->dtmf->digits);
        break;
    case S_SHAPE_FORWARD:
        S_DEC(q->forward.line, pb->set_forwarding->line);
        q->forward.fwd.mode =
            (proto_fwd_mode_t) s_enum((int) pb->set_forwarding->mode, PROTO_FWD_COUNT_, 0);
        q->forward.fwd.on = pb->set_forwarding->on;
        S_DEC(q->forward.fwd.destination, pb->set_forwarding->destination);
        break;
    case S_SHAPE_FLAG:
        S_DEC(q->flag.line, pb->set_do_not_disturb->line);
        q->flag.on = pb->set_do_not_disturb->on;
        break;
    case S_SHAPE_EMPTY:
    case S_SHAPE_NONE:
        break;
    }
    return 0;
}

static int s_dec_reply(proto_client_msg_t *m, const Ctim__Client__Reply *pb)
{
    proto_reply_t *r = &m->reply;
    r->request_id = pb->request_id;
    r->result = s_dec_result(pb->result);
    S_DEC(r->text, pb->text);
    S_DEC(r->call_id, pb->call_id);
    if (pb->n_lines > PROTO_LINES_MAX)
        return -EMSGSIZE;
    if (pb->n_lines > 0) {
        r->lines = calloc(pb->n_lines, sizeof *r->lines);
        if (!r->lines)
            return -ENOMEM;
        r->line_cap = pb->n_lines;
        for (size_t i = 0; i < pb->n_lines; i++) {
            proto_line_info_t *l = &r->lines[i];
            const Ctim__Client__LineInfo *li = pb->lines[i];
            S_DEC(l->line, li->line);
            S_DEC(l->name, li->name);
            l->open = li->open;
            l->in_service = li->in_service;
            S_DEC(l->failure_number, li->failure_number);
            r->line_count = i + 1;
        }
    }
    if (pb->address) {
        const Ctim__Client__AddressStatus *a = pb->address;
        if (a->n_forwarding > PROTO_FORWARDS_MAX)
            return -EMSGSIZE;
        r->has_address = true;
        S_DEC(r->address.line, a->line);
        r->address.in_service = a->in_service;
        r->address.do_not_disturb = a->do_not_disturb;
        r->address.message_waiting = a->message_waiting;
        for (size_t i = 0; i < a->n_forwarding; i++) {
            int rc = s_dec_forward(&r->address.forward[i], a->forwarding[i]);
            if (rc < 0)
                return rc;
        }
        r->address.forward_count = a->n_forwarding;
    }
    if (pb->call) {
        r->has_call = true;
        return s_dec_call_info(&r->call, pb->call);
    }
    return 0;
}

static int s_dec_event(proto_event_t *e, const Ctim__Client__Event *pb)
{
    e->seq = pb->seq;
    S_DEC(e->line, pb->line);
    e->snapshot = pb->snapshot;
    switch (pb->kind_case) {
    case CTIM__CLIENT__EVENT__KIND_CALL:
        e->kind = PROTO_EVENT_CALL;
        return s_dec_call_info(&e->call, pb->call);
    case CTIM__CLIENT__EVENT__KIND_IN_SERVICE:
        e->kind = PROTO_EVENT_SERVICE;
        e->in_service = pb->in_service;
        return 0;
    case CTIM__CLIENT__EVENT__KIND_DO_NOT_DISTURB:
        e->kind = PROTO_EVENT_DO_NOT_DISTURB;
        e->do_not_disturb = pb->do_not_disturb;
        return 0;
    case CTIM__CLIENT__EVENT__KIND_FORWARDING:
        e->kind = PROTO_EVENT_FORWARDING;
        return s_dec_forward(&e->forwarding, pb->forwarding);
    case CTIM__CLIENT__EVENT__KIND_CDR: {
        const Ctim__Client__Cdr *d = pb->cdr;
        proto_cdr_t *c = &e->cdr;
        e->kind = PROTO_EVENT_CDR;
        S_DEC(c->call_id, d->call_id);
        S_DEC(c->caller_number, d->caller_number);
        S_DEC(c->called_number, d->called_number);
        c->direction = (proto_direction_t) s_enum((int) d->direction, PROTO_DIR_COUNT_, 0);
        c->start_ms = d->start_ms;
        c->connect_ms = d->connect_ms;
        c->end_ms = d->end_ms;
        c->charge_units = d->charge_units;
        S_DEC(c->account, d->account);
        return 0;
    }
    default:                        //  no kind, or one a newer minor added
        return -EBADMSG;
    }
}

//  Copy the unpacked envelope's body into m (kind already NONE).
static int s_dec_body(proto_client_msg_t *m, const Ctim__Client__Envelope *env)
{
    switch (env->body_case) {
    case CTIM__CLIENT__ENVELOPE__BODY_HELLO: {
        const Ctim__Client__Hello *pb = env->hello;
        m->kind = PROTO_MSG_HELLO;
        S_DEC(m->hello.user, pb->user);
        S_DEC(m->hello.password, pb->password);
        m->hello.heartbeat_ms = pb->heartbeat_ms;
        S_DEC(m->hello.resume_token, pb->resume_token);
        S_DEC(m->hello.client, pb->client);
        m->hello.highest_major = pb->highest_major;
        return 0;
    }
    case CTIM__CLIENT__ENVELOPE__BODY_WELCOME: {
        const Ctim__Client__Welcome *pb = env->welcome;
        m->kind = PROTO_MSG_WELCOME;
        S_DEC(m->welcome.session_id, pb->session_id);
        S_DEC(m->welcome.resume_token, pb->resume_token);
        m->welcome.heartbeat_ms = pb->heartbeat_ms;
        m->welcome.last_seq_acked = pb->last_seq_acked;
        S_DEC(m->welcome.node, pb->node);
        return 0;
    }
    case CTIM__CLIENT__ENVELOPE__BODY_HEARTBEAT:
        m->kind = PROTO_MSG_HEARTBEAT;
        m->heartbeat.sent_ms = env->heartbeat->sent_ms;
        m->heartbeat.last_seq_acked = env->heartbeat->last_seq_acked;
        return 0;
    case CTIM__CLIENT__ENVELOPE__BODY_REQUEST:
        m->kind = PROTO_MSG_REQUEST;
        return s_dec_request(&m->request, env->request);
    case CTIM__CLIENT__ENVELOPE__BODY_REPLY:
        m->kind = PROTO_MSG_REPLY;  //  before the line list, so that clear frees it
        return s_dec_reply(m, env->reply);
    case CTIM__CLIENT__ENVELOPE__BODY_EVENT:
        m->kind = PROTO_MSG_EVENT;
        return s_dec_event(&m->event, env->event);
    case CTIM__CLIENT__ENVELOPE__BODY_EVENTS_LOST:
        m->kind = PROTO_MSG_EVENTS_LOST;
        m->events_lost.from_seq = env->events_lost->from_seq;
        m->events_lost.to_seq = env->events_lost->to_seq;
        return 0;
    case CTIM__CLIENT__ENVELOPE__BODY_RESUME_RESULT:
        m->kind = PROTO_MSG_RESUME_RESULT;
        m->resume_result.outcome = (proto_resume_outcome_t) s_enum(
            (int) env->resume_result->outcome, PROTO_RESUME_COUNT_, 0);
        m->resume_result.next_seq = env->resume_result->next_seq;
        m->resume_result.lines_open = env->resume_result->lines_open;
        return 0;
    case CTIM__CLIENT__ENVELOPE__BODY_ERROR:
        m->kind = PROTO_MSG_ERROR;
        m->error.result = s_dec_result(env->error->result);
        S_DEC(m->error.text, env->error->text);
        m->error.supported_major = env->error->supported_major;
        return 0;
    case CTIM__CLIENT__ENVELOPE__BODY_BYE:
        m->kind = PROTO_MSG_BYE;
        S_DEC(m->bye.reason, env->bye->reason);
        return 0;
    default:                        //  no body, or one a newer minor added
        return -EBADMSG;
    }
}

//  Read one base-128 varint at *pos (protobuf encoding).  Returns 0 or -EBADMSG.
static int s_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -EBADMSG;
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t) (b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -EBADMSG;
}

//  The envelope's version_major (field 1, varint; the last one wins, as in protobuf)
//  read without parsing the body: a higher major may change bodies in ways this
//  library cannot parse, and must still be told apart from garbage.  Returns the major,
//  0 if absent or if the top level does not scan.
static uint64_t s_peek_major(const uint8_t *buf, size_t len)
{
    uint64_t major = 0;
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, v;
        if (s_varint(buf, len, &pos, &tag) < 0)
            return 0;
        switch (tag & 7) {
        case 0:                     //  varint
            if (s_varint(buf, len, &pos, &v) < 0)
                return 0;
            if (tag >> 3 == 1)
                major = v;
            break;
        case 1:                     //  64-bit
            if (len - pos < 8)
                return 0;
            pos += 8;
            break;
        case 2:                     //  length-delimited
            if (s_varint(buf, len, &pos, &v) < 0 || v > len - pos)
                return 0;
            pos += (size_t) v;
            break;
        case 5:                     //  32-bit
            if (len - pos < 4)
                return 0;
            pos += 4;
            break;
        default:                    //  groups (3, 4) are not used by client.proto
            return 0;
        }
    }
    return major;
}

int proto_client_decode(proto_client_msg_t *m, const uint8_t *buf, size_t len)
{
    proto_client_msg_init(m, PROTO_MSG_NONE);
    m->version_major = 0;
    m->version_minor = 0;
    if (len > PROTO_FRAME_MAX)
        return -EMSGSIZE;
    uint64_t peeked = s_peek_major(buf, len);
    if (peeked > PROTO_VERSION_MAJOR) {
        m->version_major = peeked > UINT32_MAX ? UINT32_MAX : (uint32_t) peeked;
        return -EPROTONOSUPPORT;
    }
    Ctim__Client__Envelope *env = ctim__client__envelope__unpack(NULL, len, buf);
    if (!env)
        return -EBADMSG;
    int rc;
    m->version_major = env->version_major;
    m->version_minor = env->version_minor;
    if (env->version_major == 0)
        rc = -EBADMSG;
    else if (env->version_major > PROTO_VERSION_MAJOR)
        rc = -EPROTONOSUPPORT;
    else
        rc = s_dec_body(m, env);
    ctim__client__envelope__free_unpacked(env, NULL);
    if (rc < 0) {
        uint32_t major = m->version_major;
        proto_client_msg_clear(m);
        m->version_major = rc == -EPROTONOSUPPORT ? major : 0;
        m->version_minor = 0;
    }
    return rc;
}

//  --- Names for logs ----------------------------------------------------------------------------

const char *proto_msg_kind_str(proto_msg_kind_t kind)
{
    static const char *const names[] = {"none",  "hello",       "welcome",       "heartbeat",
                                        "request", "reply",     "event",         "events_lost",
                                        "resume_result", "error",   "bye"};
    return (unsigned) kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

const char *proto_op_str(proto_op_t op)
{
    return (unsigned) op < PROTO_OP_COUNT_ ? s_ops[op].name : "unknown";
}

const char *proto_result_str(proto_result_t result)
{
    static const char *const names[PROTO_RESULT_COUNT_] = {
        "unspecified",         "ok",          "error",         "bad_request",
        "unsupported_version", "login_failed", "not_logged_in", "access_denied",
        "line_not_open",       "invalid_line", "invalid_call",  "invalid_destination",
        "invalid_state",       "busy",         "resource_unavailable", "not_supported",
        "pbx_timeout",         "link_down",    "interrupted"};
    return (unsigned) result < PROTO_RESULT_COUNT_ ? names[result] : "unknown";
}

const char *proto_call_state_str(proto_call_state_t state)
{
    static const char *const names[PROTO_CALL_COUNT_] = {
        "unspecified", "offering",  "accepted",    "dial_tone",
        "dialling",    "ringback",  "busy",        "connected",
        "proceeding",  "on_hold",   "conferenced", "on_hold_pending_conference",
        "on_hold_pending_transfer", "disconnected", "idle"};
    return (unsigned) state < PROTO_CALL_COUNT_ ? names[state] : "unknown";
}

const char *proto_fwd_mode_str(proto_fwd_mode_t mode)
{
    static const char *const names[PROTO_FWD_COUNT_] = {
        "unspecified",       "immediate_all",      "immediate_internal",
        "immediate_external", "busy_all",          "busy_internal",
        "busy_external",     "no_answer_all",      "no_answer_internal",
        "no_answer_external"};
    return (unsigned) mode < PROTO_FWD_COUNT_ ? names[mode] : "unknown";
}
