//  node_client_ops: client.proto requests as CSTA invokes and the PBX's answers as Results
//  (node_client_ops.h has the table of operations and services).
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_client_ops.h"

//  --- Requests --------------------------------------------------------------------------------

const char *node_client_ops_line(const proto_request_t *rq)
{
    switch (rq->op) {
    case PROTO_OP_OPEN_LINE: return rq->open_line.line;
    case PROTO_OP_CLOSE_LINE:
    case PROTO_OP_GET_ADDRESS_STATUS: return rq->line.line;
    case PROTO_OP_HANG_UP:
    case PROTO_OP_ANSWER:
    case PROTO_OP_HOLD:
    case PROTO_OP_RETRIEVE:
    case PROTO_OP_CALL_BACK:
    case PROTO_OP_INTRUSION:
    case PROTO_OP_GET_CALL_INFO: return rq->call.line;
    case PROTO_OP_MAKE_CALL:
    case PROTO_OP_REDIRECT:
    case PROTO_OP_BLIND_TRANSFER:
    case PROTO_OP_SETUP_TRANSFER:
    case PROTO_OP_ADD_TO_CONFERENCE:
    case PROTO_OP_REMOVE_FROM_CONFERENCE:
    case PROTO_OP_PICKUP: return rq->target.line;
    case PROTO_OP_SWAP_HOLD:
    case PROTO_OP_COMPLETE_TRANSFER:
    case PROTO_OP_COMPLETE_CONFERENCE: return rq->pair.line;
    case PROTO_OP_DTMF:
    case PROTO_OP_DIAL_DIGITS: return rq->digits.line;
    case PROTO_OP_SET_FORWARDING: return rq->forward.line;
    case PROTO_OP_SET_DO_NOT_DISTURB: return rq->flag.line;
    default: return "";
    }
}

int node_client_ops_invokes(proto_op_t op)
{
    switch (op) {
    case PROTO_OP_NONE:
    case PROTO_OP_OPEN_LINE:
    case PROTO_OP_CLOSE_LINE:
    case PROTO_OP_GET_CALL_INFO:
    case PROTO_OP_LIST_LINES:
    case PROTO_OP_SET_CDR:
    case PROTO_OP_COUNT_: return 0;
    case PROTO_OP_GET_ADDRESS_STATUS: return 2;
    default: return 1;
    }
}

static const struct {
    proto_fwd_mode_t mode;
    long type;
} s_fwd[] = {
    {PROTO_FWD_IMMEDIATE_ALL, CSTA_FWD_IMMEDIATE},
    {PROTO_FWD_IMMEDIATE_INTERNAL, CSTA_FWD_IMM_INT},
    {PROTO_FWD_IMMEDIATE_EXTERNAL, CSTA_FWD_IMM_EXT},
    {PROTO_FWD_BUSY_ALL, CSTA_FWD_BUSY},
    {PROTO_FWD_BUSY_INTERNAL, CSTA_FWD_BUSY_INT},
    {PROTO_FWD_BUSY_EXTERNAL, CSTA_FWD_BUSY_EXT},
    {PROTO_FWD_NO_ANSWER_ALL, CSTA_FWD_NO_ANS},
    {PROTO_FWD_NO_ANSWER_INTERNAL, CSTA_FWD_NO_ANS_INT},
    {PROTO_FWD_NO_ANSWER_EXTERNAL, CSTA_FWD_NO_ANS_EXT},
};

long node_client_ops_fwd_type(proto_fwd_mode_t mode)
{
    for (size_t i = 0; i < sizeof s_fwd / sizeof *s_fwd; i++)
        if (s_fwd[i].mode == mode)
            return s_fwd[i].type;
    return -1;
}

proto_fwd_mode_t node_client_ops_fwd_mode(long forwarding_type)
{
    for (size_t i = 0; i < sizeof s_fwd / sizeof *s_fwd; i++)
        if (s_fwd[i].type == forwarding_type)
            return s_fwd[i].mode;
    return PROTO_FWD_UNSPECIFIED;
}

//  The connection (call_id at device): INVALID_CALL for text that is not a call id.
static proto_result_t s_conn(csta_conn_t *conn, const char *call_id, const char *device,
                             char *text, size_t cap)
{
    uint8_t cid[CSTA_CALL_ID_MAX];
    int n = node_client_calls_id_parse(call_id, cid, sizeof cid);
    if (n < 0) {
        snprintf(text, cap, "%s", *call_id ? "not a call id of this node" : "no call id");
        return *call_id ? PROTO_RESULT_INVALID_CALL : PROTO_RESULT_BAD_REQUEST;
    }
    csta_conn_set(conn, cid, (size_t) n, device);
    return PROTO_RESULT_OK;
}

//  A number the application dials, through the dialling rules.
static proto_result_t s_dest(const node_client_ops_ctx_t *ctx, const char *number,
                             csta_device_t *out, char *text, size_t cap)
{
    if (!*number) {
        snprintf(text, cap, "no number");
        return PROTO_RESULT_BAD_REQUEST;
    }
    char dial[CSTA_DIGITS_MAX + 1];
    if (!ctx->numfmt ||
        node_numfmt_format(ctx->numfmt, NODE_NUMFMT_DIALLING, number, dial, sizeof dial) != 0)
        snprintf(dial, sizeof dial, "%s", number);
    csta_device_set(out, dial);
    return PROTO_RESULT_OK;
}

static proto_result_t s_digits(const char *digits, const char *allowed, char *text, size_t cap)
{
    size_t n = strlen(digits);
    if (n == 0 || strspn(digits, allowed) != n) {
        snprintf(text, cap, "digits must be one or more of %s", allowed);
        return PROTO_RESULT_BAD_REQUEST;
    }
    return PROTO_RESULT_OK;
}

//  The operations acting on one call at the line (CallRef shape and the call-only ones).
static proto_result_t s_build_call(const proto_request_t *rq, csta_apdu_t *a, char *text,
                                   size_t cap)
{
    const proto_call_ref_t *r = &rq->call;
    csta_conn_t *conn;
    switch (rq->op) {
    case PROTO_OP_HANG_UP:
        a->opcode = CSTA_OP_CLEAR_CONNECTION;
        a->call.clear_connection.reason = CSTA_CAUSE_ABSENT;
        conn = &a->call.clear_connection.connection;
        break;
    case PROTO_OP_ANSWER:
        a->opcode = CSTA_OP_ANSWER_CALL;
        conn = &a->call.answer_call.call_to_be_answered;
        break;
    case PROTO_OP_HOLD:
        a->opcode = CSTA_OP_HOLD_CALL;
        conn = &a->call.hold_call.call_to_be_held;
        break;
    case PROTO_OP_RETRIEVE:
        a->opcode = CSTA_OP_RETRIEVE_CALL;
        conn = &a->call.retrieve_call.call_to_be_retrieved;
        break;
    case PROTO_OP_CALL_BACK:
        a->opcode = CSTA_OP_CALL_BACK;
        conn = &a->call.call_back.callback_connection;
        break;
    default:    //  PROTO_OP_INTRUSION
        a->opcode = CSTA_OP_INTRUDE_CALL;
        conn = &a->call.intrude_call.intrude;
        break;
    }
    return s_conn(conn, r->call_id, r->line, text, cap);
}

static proto_result_t s_build_target(const proto_request_t *rq, const node_client_ops_ctx_t *ctx,
                                     csta_apdu_t *a, char *text, size_t cap)
{
    const proto_call_ref_t *t = &rq->target;
    proto_result_t r;
    switch (rq->op) {
    case PROTO_OP_MAKE_CALL:
        a->opcode = CSTA_OP_MAKE_CALL;
        csta_device_set(&a->call.make_call.calling, t->line);
        return s_dest(ctx, t->number, &a->call.make_call.called, text, cap);
    case PROTO_OP_REDIRECT:
        a->opcode = CSTA_OP_DEFLECT_CALL;
        a->call.deflect_call.reason = CSTA_CAUSE_ABSENT;
        r = s_conn(&a->call.deflect_call.call_to_be_diverted, t->call_id, t->line, text, cap);
        return r != PROTO_RESULT_OK
                   ? r
                   : s_dest(ctx, t->number, &a->call.deflect_call.new_destination, text, cap);
    case PROTO_OP_BLIND_TRANSFER:
        a->opcode = CSTA_OP_SINGLE_STEP_TRANSFER;
        a->call.single_step_transfer.reason = CSTA_CAUSE_ABSENT;
        r = s_conn(&a->call.single_step_transfer.active_call, t->call_id, t->line, text, cap);
        return r != PROTO_RESULT_OK ? r
                 : s_dest(ctx, t->number, &a->call.single_step_transfer.transferred_to, text, cap);
    case PROTO_OP_SETUP_TRANSFER:
        a->opcode = CSTA_OP_CONSULTATION_CALL;
        r = s_conn(&a->call.consultation_call.existing_call, t->call_id, t->line, text, cap);
        return r != PROTO_RESULT_OK ? r
                 : s_dest(ctx, t->number, &a->call.consultation_call.consulted_device, text, cap);
    case PROTO_OP_ADD_TO_CONFERENCE:
        a->opcode = CSTA_OP_SINGLE_STEP_CONFERENCE;
        r = s_conn(&a->call.single_step_conference.active_call, t->call_id, t->line, text, cap);
        return r != PROTO_RESULT_OK ? r
                 : s_dest(ctx, t->number, &a->call.single_step_conference.device_to_join, text,
                          cap);
    case PROTO_OP_REMOVE_FROM_CONFERENCE: {
        //  ClearConnection of the party's connection (ECMA-269 17.2.5: clearing one
        //  connection of a conference leaves the others in the call).
        a->opcode = CSTA_OP_CLEAR_CONNECTION;
        a->call.clear_connection.reason = CSTA_CAUSE_ABSENT;
        if (!*t->number) {
            snprintf(text, cap, "no party to remove");
            return PROTO_RESULT_BAD_REQUEST;
        }
        const csta_conn_t *party =
            ctx->calls ? node_client_calls_party(ctx->calls, t->call_id, t->number) : NULL;
        if (party) {
            a->call.clear_connection.connection = *party;
            return PROTO_RESULT_OK;
        }
        return s_conn(&a->call.clear_connection.connection, t->call_id, t->number, text, cap);
    }
    default:    //  PROTO_OP_PICKUP
        if (!*t->number) {
            //  No device named: whatever rings in the line's pickup group.
            a->opcode = CSTA_OP_GROUP_PICKUP_CALL;
            csta_device_set(&a->call.group_pickup_call.new_destination, t->line);
            return PROTO_RESULT_OK;
        }
        a->opcode = CSTA_OP_DIRECTED_PICKUP_CALL;
        csta_device_set(&a->call.directed_pickup_call.requesting_device, t->line);
        if (!*t->call_id) {
            //  ConnectionID's deviceID form: the call ringing at that device, whichever.
            a->call.directed_pickup_call.call_to_be_picked_up.present = true;
            csta_device_set(&a->call.directed_pickup_call.call_to_be_picked_up.device,
                            t->number);
            return PROTO_RESULT_OK;
        }
        return s_conn(&a->call.directed_pickup_call.call_to_be_picked_up, t->call_id, t->number,
                      text, cap);
    }
}

static proto_result_t s_build_pair(const proto_request_t *rq, csta_apdu_t *a, char *text,
                                   size_t cap)
{
    const proto_call_pair_t *p = &rq->pair;
    csta_conn_t *held, *active;
    switch (rq->op) {
    case PROTO_OP_SWAP_HOLD:
        a->opcode = CSTA_OP_ALTERNATE_CALL;
        held = &a->call.alternate_call.held_call;
        active = &a->call.alternate_call.active_call;
        break;
    case PROTO_OP_COMPLETE_TRANSFER:
        a->opcode = CSTA_OP_TRANSFER_CALL;
        held = &a->call.transfer_call.held_call;
        active = &a->call.transfer_call.active_call;
        break;
    default:    //  PROTO_OP_COMPLETE_CONFERENCE
        a->opcode = CSTA_OP_CONFERENCE_CALL;
        held = &a->call.conference_call.held_call;
        active = &a->call.conference_call.active_call;
        break;
    }
    proto_result_t r = s_conn(held, p->held_call_id, p->line, text, cap);
    return r != PROTO_RESULT_OK ? r : s_conn(active, p->active_call_id, p->line, text, cap);
}

static proto_result_t s_build_digits(const proto_request_t *rq, csta_apdu_t *a, char *text,
                                     size_t cap)
{
    const proto_call_digits_t *d = &rq->digits;
    if (rq->op == PROTO_OP_DTMF) {
        proto_result_t r = s_digits(d->digits, "0123456789*#ABCDabcd", text, cap);
        if (r != PROTO_RESULT_OK)
            return r;
        a->opcode = CSTA_OP_GENERATE_DIGITS;
        csta_generate_digits_arg_t *g = &a->call.generate_digits;
        g->has_digit_mode = true;
        g->digit_mode = CSTA_DIGIT_MODE_DTMF;
        snprintf(g->characters_to_send, sizeof g->characters_to_send, "%s", d->digits);
        return s_conn(&g->connection_to_send_digits, d->call_id, d->line, text, cap);
    }
    proto_result_t r = s_digits(d->digits, "0123456789*#", text, cap);
    if (r != PROTO_RESULT_OK)
        return r;
    a->opcode = CSTA_OP_DIAL_DIGITS;
    csta_device_set(&a->call.dial_digits.dialling_sequence, d->digits);
    return s_conn(&a->call.dial_digits.dialling_connection, d->call_id, d->line, text, cap);
}

static proto_result_t s_build_forwarding(const proto_request_t *rq,
                                         const node_client_ops_ctx_t *ctx, csta_apdu_t *a,
                                         char *text, size_t cap)
{
    const proto_set_forwarding_t *f = &rq->forward;
    long type = node_client_ops_fwd_type(f->fwd.mode);
    if (type < 0) {
        snprintf(text, cap, "no forwarding mode");
        return PROTO_RESULT_BAD_REQUEST;
    }
    a->opcode = CSTA_OP_SET_FORWARDING;
    csta_set_forwarding_arg_t *s = &a->svc.set_forwarding;
    csta_device_set(&s->device, f->line);
    s->has_forwarding_type = true;
    s->forwarding_type = type;
    s->activate_forward = f->fwd.on;
    if (!f->fwd.on && !*f->fwd.destination)
        return PROTO_RESULT_OK;     //  cancelling needs no destination
    proto_result_t r = s_dest(ctx, f->fwd.destination, &s->forward_dn, text, cap);
    if (r != PROTO_RESULT_OK)
        snprintf(text, cap, "forwarding on needs a destination");
    return r;
}

proto_result_t node_client_ops_build(const proto_request_t *rq, int step,
                                     const node_client_ops_ctx_t *ctx, csta_apdu_t *a,
                                     char *text, size_t cap)
{
    static const node_client_ops_ctx_t none = {0};
    if (!ctx)
        ctx = &none;
    csta_apdu_init(a, CSTA_APDU_INVOKE);
    a->invoke_id = 1;   //  replaced by node_pbx
    *text = '\0';
    if (step < 0 || step >= node_client_ops_invokes(rq->op)) {
        snprintf(text, cap, "%s is not a PBX service", proto_op_str(rq->op));
        return PROTO_RESULT_NOT_SUPPORTED;
    }
    const char *line = node_client_ops_line(rq);
    if (!*line) {
        snprintf(text, cap, "no line");
        return PROTO_RESULT_BAD_REQUEST;
    }
    switch (rq->op) {
    case PROTO_OP_HANG_UP:
    case PROTO_OP_ANSWER:
    case PROTO_OP_HOLD:
    case PROTO_OP_RETRIEVE:
    case PROTO_OP_CALL_BACK:
    case PROTO_OP_INTRUSION:
        return s_build_call(rq, a, text, cap);
    case PROTO_OP_MAKE_CALL:
    case PROTO_OP_REDIRECT:
    case PROTO_OP_BLIND_TRANSFER:
    case PROTO_OP_SETUP_TRANSFER:
    case PROTO_OP_ADD_TO_CONFERENCE:
    case PROTO_OP_REMOVE_FROM_CONFERENCE:
    case PROTO_OP_PICKUP:
        return s_build_target(rq, ctx, a, text, cap);
    case PROTO_OP_SWAP_HOLD:
    case PROTO_OP_COMPLETE_TRANSFER:
    case PROTO_OP_COMPLETE_CONFERENCE:
        return s_build_pair(rq, a, text, cap);
    case PROTO_OP_DTMF:
    case PROTO_OP_DIAL_DIGITS:
        return s_build_digits(rq, a, text, cap);
    case PROTO_OP_SET_FORWARDING:
        return s_build_forwarding(rq, ctx, a, text, cap);
    case PROTO_OP_SET_DO_NOT_DISTURB:
        a->opcode = CSTA_OP_SET_DO_NOT_DISTURB;
        csta_device_set(&a->svc.set_do_not_disturb.device, line);
        a->svc.set_do_not_disturb.do_not_disturb_on = rq->flag.on;
        return PROTO_RESULT_OK;
    case PROTO_OP_GET_ADDRESS_STATUS:
        if (step == 0) {
            a->opcode = CSTA_OP_GET_FORWARDING;
            csta_device_set(&a->svc.get_forwarding.device, line);
        } else {
            a->opcode = CSTA_OP_GET_DO_NOT_DISTURB;
            csta_device_set(&a->svc.get_do_not_disturb.device, line);
        }
        return PROTO_RESULT_OK;
    default:
        snprintf(text, cap, "%s is not a PBX service", proto_op_str(rq->op));
        return PROTO_RESULT_NOT_SUPPORTED;
    }
}

//  --- Answers ---------------------------------------------------------------------------------

proto_result_t node_client_ops_status(int status)
{
    switch (status) {
    case -ETIMEDOUT: return PROTO_RESULT_PBX_TIMEOUT;
    case -ENOTCONN: return PROTO_RESULT_LINK_DOWN;
    case -ENOBUFS: return PROTO_RESULT_BUSY;
    default: return PROTO_RESULT_ERROR;
    }
}

proto_result_t node_client_ops_error(const csta_error_t *e, char *text, size_t cap)
{
    if (!e->has_parameter) {
        snprintf(text, cap, "CSTA error code %ld", e->errcode);
        return PROTO_RESULT_ERROR;
    }
    snprintf(text, cap, "CSTA error %s/%ld", csta_err_category_str(e->category), e->value);
    switch (e->category) {
    case CSTA_ERR_OPERATION:
        switch (e->value) {
        case CSTA_OPERR_INVALID_DEVICE_ID:
        case CSTA_OPERR_INVALID_CALLING_DEVICE:
            return PROTO_RESULT_INVALID_LINE;
        case CSTA_OPERR_INVALID_CALL_ID:
        case CSTA_OPERR_INVALID_CONNECTION_ID:
        case CSTA_OPERR_INVALID_ACTIVE_CONNECTION_ID:
        case CSTA_OPERR_INVALID_HELD_CONNECTION_ID:
            return PROTO_RESULT_INVALID_CALL;
        case CSTA_OPERR_INVALID_CALLED_DEVICE:
        case CSTA_OPERR_INVALID_FORWARDING_DESTINATION:
        case CSTA_OPERR_INVALID_DESTINATION:
            return PROTO_RESULT_INVALID_DESTINATION;
        case CSTA_OPERR_SERVICE_NOT_SUPPORTED:
        case CSTA_OPERR_PARAMETER_NOT_SUPPORTED:
            return PROTO_RESULT_NOT_SUPPORTED;
        case CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE:
        case CSTA_OPERR_PRIVILEGE_VIOLATION_CALLED_DEVICE:
        case CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE:
        case CSTA_OPERR_SECURITY_VIOLATION:
            return PROTO_RESULT_ACCESS_DENIED;
        default:
            return PROTO_RESULT_ERROR;
        }
    case CSTA_ERR_SECURITY:
        return PROTO_RESULT_ACCESS_DENIED;
    case CSTA_ERR_STATE:
        return PROTO_RESULT_INVALID_STATE;
    case CSTA_ERR_SYSTEM_RESOURCE:
        return e->value == CSTA_SYSERR_RESOURCE_BUSY ? PROTO_RESULT_BUSY
                                                     : PROTO_RESULT_RESOURCE_UNAVAILABLE;
    case CSTA_ERR_SUBSCRIBED_RESOURCE:
        return PROTO_RESULT_RESOURCE_UNAVAILABLE;
    case CSTA_ERR_PERFORMANCE:
        return PROTO_RESULT_PBX_TIMEOUT;
    default:
        return PROTO_RESULT_ERROR;
    }
}

static void s_call_id(const csta_conn_t *c, proto_reply_t *reply)
{
    if (c->present)
        node_client_calls_id_text(c->call_id, c->call_id_len, reply->call_id,
                                  sizeof reply->call_id);
}

//  The payload of a successful answer.
static void s_payload(const proto_request_t *rq, int step, const csta_apdu_t *a,
                      proto_reply_t *reply)
{
    if (rq->op == PROTO_OP_GET_ADDRESS_STATUS) {
        proto_address_status_t *as = &reply->address;
        reply->has_address = true;
        snprintf(as->line, sizeof as->line, "%s", rq->line.line);
        if (!a->has_result || a->no_data)
            return;
        if (step == 1) {
            as->do_not_disturb = a->svc.get_do_not_disturb_res.do_not_disturb_on;
            return;
        }
        const csta_forward_list_t *l = &a->svc.get_forwarding_res.forwarding_list;
        as->forward_count = 0;
        for (size_t i = 0; i < l->count && as->forward_count < PROTO_FORWARDS_MAX; i++) {
            const csta_forward_item_t *it = &l->item[i];
            proto_fwd_mode_t mode = node_client_ops_fwd_mode(
                it->has_forwarding_type ? it->forwarding_type : CSTA_FWD_IMMEDIATE);
            if (mode == PROTO_FWD_UNSPECIFIED)
                continue;   //  the do-not-disturb types: do_not_disturb says that
            proto_forward_t *f = &as->forward[as->forward_count++];
            f->mode = mode;
            f->on = it->forward_status;
            snprintf(f->destination, sizeof f->destination, "%s",
                     it->forward_dn.kind != CSTA_DEV_ABSENT ? it->forward_dn.digits : "");
        }
        return;
    }
    if (!a->has_result || a->no_data)
        return;
    switch (rq->op) {
    case PROTO_OP_MAKE_CALL: s_call_id(&a->call.make_call_res.calling, reply); break;
    case PROTO_OP_SETUP_TRANSFER:
        s_call_id(&a->call.consultation_call_res.initiated_call, reply);
        break;
    case PROTO_OP_COMPLETE_TRANSFER:
        s_call_id(&a->call.transfer_call_res.transferred_call, reply);
        break;
    case PROTO_OP_COMPLETE_CONFERENCE:
        s_call_id(&a->call.conference_call_res.conference_call, reply);
        break;
    case PROTO_OP_BLIND_TRANSFER:
        s_call_id(&a->call.single_step_transfer_res.transferred_call, reply);
        break;
    case PROTO_OP_ADD_TO_CONFERENCE:
        s_call_id(&a->call.single_step_conference_res.conferenced_call, reply);
        break;
    case PROTO_OP_INTRUSION: s_call_id(&a->call.intrude_call_res.conferenced_call, reply); break;
    case PROTO_OP_PICKUP:
        s_call_id(rq->target.number[0] ? &a->call.directed_pickup_call_res.picked_call
                                       : &a->call.group_pickup_call_res.picked_call,
                  reply);
        break;
    case PROTO_OP_CALL_BACK:
        if (a->call.call_back_res.target_device.kind != CSTA_DEV_ABSENT)
            snprintf(reply->text, sizeof reply->text, "call back from %s",
                     a->call.call_back_res.target_device.digits);
        break;
    default:
        break;
    }
}

proto_result_t node_client_ops_answer(const proto_request_t *rq, int step, int status,
                                      const uint8_t *apdu, size_t len, proto_reply_t *reply)
{
    char *text = reply->text;
    size_t cap = sizeof reply->text;
    if (status < 0 && status != -EREMOTEIO) {
        snprintf(text, cap, "no answer from the PBX: %s", strerror(-status));
        return node_client_ops_status(status);
    }
    csta_apdu_t a;
    if (!apdu || csta_apdu_decode(&a, apdu, len) != 0) {
        snprintf(text, cap, "the PBX's answer does not parse");
        return PROTO_RESULT_ERROR;
    }
    proto_result_t r;
    switch (a.kind) {
    case CSTA_APDU_RESULT:
        r = PROTO_RESULT_OK;
        s_payload(rq, step, &a, reply);
        break;
    case CSTA_APDU_ERROR:
        r = node_client_ops_error(&a.error, text, cap);
        break;
    case CSTA_APDU_REJECT:
        //  A PBX that does not know the service says so with a ROSE Reject.
        snprintf(text, cap, "the PBX rejected the request (problem %d/%ld)", (int) a.reject.kind,
                 a.reject.problem);
        r = a.reject.kind == CSTA_REJECT_INVOKE &&
                    a.reject.problem == CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION
                ? PROTO_RESULT_NOT_SUPPORTED
                : PROTO_RESULT_ERROR;
        break;
    default:
        snprintf(text, cap, "the PBX answered with a %s", csta_apdu_kind_str(a.kind));
        r = PROTO_RESULT_ERROR;
        break;
    }
    csta_apdu_clear(&a);
    return r;
}

//  --- CDR -------------------------------------------------------------------------------------

//  GeneralizedTime ("YYYYMMDDhhmmss[.fff][Z]") as Unix ms; 0 when absent or malformed.
//  Without a Z the time is the PBX's local time (X.680), taken as this node's.
static uint64_t s_time_ms(const char *t)
{
    struct tm tm = {0};
    int frac = 0, n = 0;
    if (sscanf(t, "%4d%2d%2d%2d%2d%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 14)
        return 0;
    const char *p = t + 14;
    if (*p == '.' || *p == ',') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += scale > 0 ? (*p - '0') * scale : 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    time_t s = *p == 'Z' ? timegm(&tm) : mktime(&tm);
    return s < 0 ? 0 : (uint64_t) s * 1000 + (uint64_t) frac;
}

void node_client_ops_cdr(const csta_cdr_record_t *rec, const node_numfmt_t *numfmt,
                         const node_lines_t *lines, proto_cdr_t *out)
{
    memset(out, 0, sizeof *out);
    if (rec->recorded_call.present)
        node_client_calls_id_text(rec->recorded_call.call_id, rec->recorded_call.call_id_len,
                                  out->call_id, sizeof out->call_id);
    const csta_device_t *cd = &rec->calling_device, *dd = &rec->called_device;
    const char *calling = cd->kind == CSTA_DEV_DIALING ? cd->digits : "";
    const char *called = dd->kind == CSTA_DEV_DIALING ? dd->digits : "";
    //  Extensions are as long as the charged device's number at most (node_client_calls.h).
    size_t ext_len = rec->charged_device.kind == CSTA_DEV_DIALING
                         ? strlen(rec->charged_device.digits)
                         : 0;
    bool in_calling = node_client_calls_internal(lines, calling, ext_len);
    bool in_called = node_client_calls_internal(lines, called, ext_len);
    out->direction = !in_calling ? PROTO_DIR_INCOMING
                     : !in_called ? PROTO_DIR_OUTGOING
                                  : PROTO_DIR_INTERNAL;
    if (in_calling || !numfmt ||
        node_numfmt_format(numfmt, NODE_NUMFMT_INCOMING, calling, out->caller_number,
                           sizeof out->caller_number) != 0)
        snprintf(out->caller_number, sizeof out->caller_number, "%s", calling);
    if (in_called || !numfmt ||
        node_numfmt_format(numfmt, NODE_NUMFMT_OUTGOING, called, out->called_number,
                           sizeof out->called_number) != 0)
        snprintf(out->called_number, sizeof out->called_number, "%s", called);
    bool answered = !(rec->has_reason_for_term &&
                      rec->reason_for_term == CSTA_CDR_UNSUCCESSFUL_CALL_ATTEMPT);
    out->start_ms = s_time_ms(rec->connection_start);
    if (!out->start_ms)
        out->start_ms = s_time_ms(rec->record_creation_time);
    out->connect_ms = answered ? out->start_ms : 0;
    out->end_ms = s_time_ms(rec->connection_end);
    if (rec->charging_info.present && !rec->charging_info.is_currency)
        for (size_t i = 0; i < rec->charging_info.unit_count; i++)
            out->charge_units += (uint32_t) rec->charging_info.units[i].charging_units;
    if (rec->account_info.data) {
        size_t n = rec->account_info.len < sizeof out->account - 1 ? rec->account_info.len
                                                                   : sizeof out->account - 1;
        memcpy(out->account, rec->account_info.data, n);
        out->account[n] = '\0';
    }
}
