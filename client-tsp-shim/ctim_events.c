//  ctim_events: what the node sends, as the application sees it -- events and replies from
//  proto's values to ctim.h's borrowed structs and the callbacks, and the event sequence.
//
//  Every event carries the session's sequence (client.proto Event.seq: 1, 2, 3 ... without
//  gaps).  The library remembers the highest it processed (acknowledged in each Heartbeat),
//  so that events a resumed session replays and the application already had are dropped:
//  the node replays from the last ack it saw, which trails ours by up to a heartbeat.
#include "ctim_private.h"

#include <stdlib.h>

ctim_result_t ctim_events_result(proto_result_t r)
{
    if (r >= PROTO_RESULT_OK && r <= PROTO_RESULT_INTERRUPTED)
        return (ctim_result_t)r;
    return CTIM_RESULT_ERROR;
}

static ctim_call_state_t s_call_state(proto_call_state_t s)
{
    if (s > PROTO_CALL_UNSPECIFIED && s <= PROTO_CALL_IDLE)
        return (ctim_call_state_t)s;
    return CTIM_CALL_UNKNOWN;
}

static ctim_direction_t s_direction(proto_direction_t d)
{
    if (d > PROTO_DIR_UNSPECIFIED && d <= PROTO_DIR_INTERNAL)
        return (ctim_direction_t)d;
    return CTIM_DIR_UNKNOWN;
}

//  A forwarding entry; false for a mode this library does not know (a newer node's), which
//  the application could not tell apart and so does not get.
static bool s_forward(const proto_forward_t *in, ctim_forward_t *out)
{
    if (in->mode <= PROTO_FWD_UNSPECIFIED || in->mode >= PROTO_FWD_COUNT_)
        return false;
    //  ctim_forward_mode_t's values equal client.proto's ForwardMode.
    *out = (ctim_forward_t){
        .mode = (ctim_forward_mode_t)in->mode, .on = in->on, .destination = in->destination};
    return true;
}

static ctim_call_event_t s_call(const char *line, const proto_call_info_t *c, bool snapshot)
{
    return (ctim_call_event_t){
        .line = line,
        .call_id = c->call_id,
        .state = s_call_state(c->state),
        .direction = s_direction(c->direction),
        .caller_number = c->caller_number,
        .caller_name = c->caller_name,
        .called_number = c->called_number,
        .called_name = c->called_name,
        .cause = c->cause,
        .snapshot = snapshot,
    };
}

static void s_cdr(ctim_t *self, const proto_cdr_t *c)
{
    if (!self->cfg.on_cdr)
        return;
    ctim_cdr_t cdr = {
        .call_id = c->call_id,
        .caller_number = c->caller_number,
        .called_number = c->called_number,
        .direction = s_direction(c->direction),
        .start_ms = c->start_ms,
        .connect_ms = c->connect_ms,
        .end_ms = c->end_ms,
        .charge_units = c->charge_units,
        .account = c->account,
    };
    self->cfg.on_cdr(self, &cdr, self->cfg.arg);
}

void ctim_events_event(ctim_t *self, const proto_event_t *ev)
{
    if (ev->seq && ev->seq <= self->last_seq)
        return;     //  a replay of what the application already processed
    switch (ev->kind) {
    case PROTO_EVENT_CALL:
        if (self->cfg.on_call) {
            ctim_call_event_t ce = s_call(ev->line, &ev->call, ev->snapshot);
            self->cfg.on_call(self, &ce, self->cfg.arg);
        }
        break;
    case PROTO_EVENT_SERVICE: {
        ctim_line_t *l = ctim_line_find(self, ev->line);
        if (l && l->open)
            ctim_line_report(self, l, ev->in_service);
        break;
    }
    case PROTO_EVENT_FORWARDING: {
        ctim_forward_t fwd;
        if (self->cfg.on_forward && s_forward(&ev->forwarding, &fwd))
            self->cfg.on_forward(self, ev->line, &fwd, self->cfg.arg);
        break;
    }
    case PROTO_EVENT_DO_NOT_DISTURB:
        if (self->cfg.on_dnd)
            self->cfg.on_dnd(self, ev->line, ev->do_not_disturb, self->cfg.arg);
        break;
    case PROTO_EVENT_CDR:
        s_cdr(self, &ev->cdr);
        break;
    default:
        break;
    }
    //  Processed (the callback returned): the next Heartbeat acknowledges it.
    if (ev->seq > self->last_seq)
        self->last_seq = ev->seq;
}

void ctim_events_lost(ctim_t *self, const proto_events_lost_t *lost)
{
    //  The gap is acknowledged too, so the node can trim; snapshot events follow it.
    if (lost->to_seq > self->last_seq)
        self->last_seq = lost->to_seq;
    uint64_t count = lost->to_seq >= lost->from_seq ? lost->to_seq - lost->from_seq + 1 : 0;
    if (self->cfg.on_events_lost)
        self->cfg.on_events_lost(self, count, self->cfg.arg);
}

void ctim_events_reply_local(ctim_t *self, const ctim_req_t *r, ctim_result_t result,
                             const char *text)
{
    if (r->internal || !self->cfg.on_reply)
        return;
    ctim_reply_t reply = {.request_id = r->id, .result = result, .text = text, .call_id = ""};
    self->cfg.on_reply(self, &reply, self->cfg.arg);
}

void ctim_events_reply(ctim_t *self, const ctim_req_t *r, const proto_reply_t *rep)
{
    if (r->internal || !self->cfg.on_reply)
        return;
    ctim_reply_t reply = {.request_id = r->id,
                          .result = ctim_events_result(rep->result),
                          .text = rep->text,
                          .call_id = rep->call_id};
    bool ok = reply.result == CTIM_RESULT_OK;
    ctim_line_info_t *lines = NULL;
    if (r->req.op == PROTO_OP_LIST_LINES && rep->line_count) {
        lines = calloc(rep->line_count, sizeof *lines);
        //  Out of memory: the reply still comes, with no lines (line_count 0).
        for (size_t i = 0; lines && i < rep->line_count; i++) {
            const proto_line_info_t *in = &rep->lines[i];
            lines[i] = (ctim_line_info_t){.line = in->line,
                                          .name = in->name,
                                          .open = in->open,
                                          .in_service = in->in_service,
                                          .failure_number = in->failure_number};
        }
        reply.lines = lines;
        reply.line_count = lines ? (int)rep->line_count : 0;
    }
    ctim_forward_t fwd[PROTO_FORWARDS_MAX];
    ctim_address_status_t address;
    if (r->req.op == PROTO_OP_GET_ADDRESS_STATUS && ok && rep->has_address) {
        const proto_address_status_t *a = &rep->address;
        int n = 0;
        for (size_t i = 0; i < a->forward_count && i < PROTO_FORWARDS_MAX; i++)
            n += s_forward(&a->forward[i], &fwd[n]);
        address = (ctim_address_status_t){.line = a->line,
                                          .in_service = a->in_service,
                                          .do_not_disturb = a->do_not_disturb,
                                          .message_waiting = a->message_waiting,
                                          .forwarding = n ? fwd : NULL,
                                          .forwarding_count = n};
        reply.address = &address;
    }
    ctim_call_event_t call;
    if (r->req.op == PROTO_OP_GET_CALL_INFO && ok && rep->has_call) {
        //  The call as it is now at the line asked about: a snapshot, not a transition.
        call = s_call(r->req.call.line, &rep->call, true);
        reply.call = &call;
    }
    self->cfg.on_reply(self, &reply, self->cfg.arg);
    free(lines);
}
