//  ctim_requests: the request functions of ctim.h -- argument checks, then the operation and
//  its argument shape (client.proto Request) handed to the session's queue.
//
//  A bad argument is -EINVAL before anything is queued: no id, no reply.  Lengths are the
//  protocol's (PROTO_NUMBER_MAX for numbers and digits, PROTO_CALL_ID_MAX for call ids), so
//  what the library accepts the node can decode.
#include "ctim_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

//  A required argument: present, not empty, not too long.
static bool s_req(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

//  An optional argument: NULL or "" (not given), or not too long.
static bool s_opt(const char *s, size_t max)
{
    return !s || strlen(s) <= max;
}

#define S_COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static proto_request_t s_request(proto_op_t op)
{
    proto_request_t req;
    memset(&req, 0, sizeof req);
    req.op = op;
    return req;
}

//  LineRef shape (close_line, get_address_status): line.
static int s_line_op(ctim_t *self, proto_op_t op, const char *line)
{
    if (!s_req(line, PROTO_NUMBER_MAX))
        return -EINVAL;
    proto_request_t req = s_request(op);
    S_COPY(req.line.line, line);
    return ctim_session_request(self, &req);
}

//  CallRef shape (answer, hang_up, hold, retrieve, call_back, intrusion, get_call_info).
static int s_call_op(ctim_t *self, proto_op_t op, const char *line, const char *call_id)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_req(call_id, PROTO_CALL_ID_MAX))
        return -EINVAL;
    proto_request_t req = s_request(op);
    S_COPY(req.call.line, line);
    S_COPY(req.call.call_id, call_id);
    return ctim_session_request(self, &req);
}

//  CallTarget shape with every part required (redirect, transfers, conference parties).
static int s_target_op(ctim_t *self, proto_op_t op, const char *line, const char *call_id,
                       const char *number)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_req(call_id, PROTO_CALL_ID_MAX) ||
        !s_req(number, PROTO_NUMBER_MAX))
        return -EINVAL;
    proto_request_t req = s_request(op);
    S_COPY(req.target.line, line);
    S_COPY(req.target.call_id, call_id);
    S_COPY(req.target.number, number);
    return ctim_session_request(self, &req);
}

//  CallPair shape (swap_hold, complete_transfer, complete_conference).
static int s_pair_op(ctim_t *self, proto_op_t op, const char *line, const char *held_call_id,
                     const char *active_call_id)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_req(held_call_id, PROTO_CALL_ID_MAX) ||
        !s_req(active_call_id, PROTO_CALL_ID_MAX))
        return -EINVAL;
    proto_request_t req = s_request(op);
    S_COPY(req.pair.line, line);
    S_COPY(req.pair.held_call_id, held_call_id);
    S_COPY(req.pair.active_call_id, active_call_id);
    return ctim_session_request(self, &req);
}

//  CallDigits shape (dtmf, dial_digits); allowed names the digits the operation takes.
static int s_digits_op(ctim_t *self, proto_op_t op, const char *line, const char *call_id,
                       const char *digits, const char *allowed)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_req(call_id, PROTO_CALL_ID_MAX) ||
        !s_req(digits, PROTO_NUMBER_MAX) || digits[strspn(digits, allowed)] != '\0')
        return -EINVAL;
    proto_request_t req = s_request(op);
    S_COPY(req.digits.line, line);
    S_COPY(req.digits.call_id, call_id);
    S_COPY(req.digits.digits, digits);
    return ctim_session_request(self, &req);
}

int ctim_open_line(ctim_t *self, const char *line, const char *failure_number)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_opt(failure_number, PROTO_NUMBER_MAX))
        return -EINVAL;
    proto_request_t req = s_request(PROTO_OP_OPEN_LINE);
    S_COPY(req.open_line.line, line);
    S_COPY(req.open_line.failure_number, failure_number);
    return ctim_session_request(self, &req);
}

int ctim_close_line(ctim_t *self, const char *line)
{
    return s_line_op(self, PROTO_OP_CLOSE_LINE, line);
}

int ctim_make_call(ctim_t *self, const char *line, const char *number)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_req(number, PROTO_NUMBER_MAX))
        return -EINVAL;
    proto_request_t req = s_request(PROTO_OP_MAKE_CALL);
    S_COPY(req.target.line, line);
    S_COPY(req.target.number, number);
    return ctim_session_request(self, &req);
}

int ctim_answer(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_ANSWER, line, call_id);
}

int ctim_hang_up(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_HANG_UP, line, call_id);
}

int ctim_hold(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_HOLD, line, call_id);
}

int ctim_retrieve(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_RETRIEVE, line, call_id);
}

int ctim_redirect(ctim_t *self, const char *line, const char *call_id, const char *number)
{
    return s_target_op(self, PROTO_OP_REDIRECT, line, call_id, number);
}

int ctim_blind_transfer(ctim_t *self, const char *line, const char *call_id, const char *number)
{
    return s_target_op(self, PROTO_OP_BLIND_TRANSFER, line, call_id, number);
}

int ctim_setup_transfer(ctim_t *self, const char *line, const char *call_id, const char *number)
{
    return s_target_op(self, PROTO_OP_SETUP_TRANSFER, line, call_id, number);
}

int ctim_swap_hold(ctim_t *self, const char *line, const char *held_call_id,
                   const char *active_call_id)
{
    return s_pair_op(self, PROTO_OP_SWAP_HOLD, line, held_call_id, active_call_id);
}

int ctim_complete_transfer(ctim_t *self, const char *line, const char *held_call_id,
                           const char *active_call_id)
{
    return s_pair_op(self, PROTO_OP_COMPLETE_TRANSFER, line, held_call_id, active_call_id);
}

int ctim_complete_conference(ctim_t *self, const char *line, const char *held_call_id,
                             const char *active_call_id)
{
    return s_pair_op(self, PROTO_OP_COMPLETE_CONFERENCE, line, held_call_id, active_call_id);
}

int ctim_add_to_conference(ctim_t *self, const char *line, const char *call_id,
                           const char *number)
{
    return s_target_op(self, PROTO_OP_ADD_TO_CONFERENCE, line, call_id, number);
}

int ctim_remove_from_conference(ctim_t *self, const char *line, const char *call_id,
                                const char *number)
{
    return s_target_op(self, PROTO_OP_REMOVE_FROM_CONFERENCE, line, call_id, number);
}

int ctim_pickup(ctim_t *self, const char *line, const char *ringing_number, const char *call_id)
{
    //  client.proto: number = the ringing device ("" = group pickup), call_id optional.
    if (!s_req(line, PROTO_NUMBER_MAX) || !s_opt(ringing_number, PROTO_NUMBER_MAX) ||
        !s_opt(call_id, PROTO_CALL_ID_MAX))
        return -EINVAL;
    proto_request_t req = s_request(PROTO_OP_PICKUP);
    S_COPY(req.target.line, line);
    S_COPY(req.target.call_id, call_id);
    S_COPY(req.target.number, ringing_number);
    return ctim_session_request(self, &req);
}

int ctim_dtmf(ctim_t *self, const char *line, const char *call_id, const char *digits)
{
    //  The sixteen DTMF tones (ECMA-269 GenerateDigits, char sequence of DTMF digits).
    return s_digits_op(self, PROTO_OP_DTMF, line, call_id, digits, "0123456789*#ABCD");
}

int ctim_dial_digits(ctim_t *self, const char *line, const char *call_id, const char *digits)
{
    //  What a dial string may hold after number formatting (as node_lines' numbers).
    return s_digits_op(self, PROTO_OP_DIAL_DIGITS, line, call_id, digits, "0123456789*#+");
}

int ctim_call_back(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_CALL_BACK, line, call_id);
}

int ctim_intrusion(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_INTRUSION, line, call_id);
}

int ctim_set_forwarding(ctim_t *self, const char *line, ctim_forward_mode_t mode, bool on,
                        const char *destination)
{
    if (!s_req(line, PROTO_NUMBER_MAX) || (int)mode < CTIM_FWD_IMMEDIATE_ALL ||
        (int)mode > CTIM_FWD_NO_ANSWER_EXTERNAL)
        return -EINVAL;
    //  Switching on needs somewhere to forward to; switching off may name the old one.
    if (on ? !s_req(destination, PROTO_NUMBER_MAX) : !s_opt(destination, PROTO_NUMBER_MAX))
        return -EINVAL;
    proto_request_t req = s_request(PROTO_OP_SET_FORWARDING);
    S_COPY(req.forward.line, line);
    req.forward.fwd.mode = (proto_fwd_mode_t)mode;     //  equal values (ctim.h)
    req.forward.fwd.on = on;
    S_COPY(req.forward.fwd.destination, destination);
    return ctim_session_request(self, &req);
}

int ctim_set_do_not_disturb(ctim_t *self, const char *line, bool on)
{
    if (!s_req(line, PROTO_NUMBER_MAX))
        return -EINVAL;
    proto_request_t req = s_request(PROTO_OP_SET_DO_NOT_DISTURB);
    S_COPY(req.flag.line, line);
    req.flag.on = on;
    return ctim_session_request(self, &req);
}

int ctim_get_address_status(ctim_t *self, const char *line)
{
    return s_line_op(self, PROTO_OP_GET_ADDRESS_STATUS, line);
}

int ctim_get_call_info(ctim_t *self, const char *line, const char *call_id)
{
    return s_call_op(self, PROTO_OP_GET_CALL_INFO, line, call_id);
}

int ctim_list_lines(ctim_t *self)
{
    proto_request_t req = s_request(PROTO_OP_LIST_LINES);
    return ctim_session_request(self, &req);
}

int ctim_set_cdr(ctim_t *self, bool on)
{
    proto_request_t req = s_request(PROTO_OP_SET_CDR);
    req.flag.on = on;
    return ctim_session_request(self, &req);
}
