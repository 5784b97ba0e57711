//  pbxsim_events: the CSTA events of the call model (ECMA-269 clause 17.2 and 21-22),
//  built once and reported to the monitors of every device in the call, each with that
//  device's own local connection state.
#include <stdio.h>
#include <string.h>

#include "pbxsim_switch_int.h"

//  Report ev to the devices of every party of c (and of `extra`, a party that just left),
//  setting *local_state to each device's state in this call first.
static void s_report(pbx_switch_t *sw, const pbx_call_t *c, csta_apdu_t *ev, csta_lcs_t *local_state,
                     const pbx_party_t *extra)
{
    int told[PBX_CALL_PARTIES_MAX + 1];
    int ntold = 0;
    for (int p = 0; p <= c->nparty; p++) {
        const pbx_party_t *party = p < c->nparty ? &c->party[p] : extra;
        if (!party)
            continue;
        bool seen = false;
        for (int i = 0; i < ntold; i++)
            seen |= told[i] == party->device;
        if (seen)
            continue;
        told[ntold++] = party->device;
        if (local_state)
            *local_state = p < c->nparty ? party->state : CSTA_LCS_NULL;
        sw->stats.events++;
        sw->on_event(sw->ctx, party->device, ev);
    }
}

static void s_init(csta_apdu_t *ev, csta_event_type_t type)
{
    csta_apdu_init(ev, CSTA_APDU_INVOKE);
    ev->opcode = CSTA_OP_EVENT_REPORT;
    ev->event.type = type;
}

static void s_calling(const pbx_switch_t *sw, const pbx_call_t *c, csta_device_t *out)
{
    if (c->calling >= 0)
        pbx_party_device_id(sw, &c->party[c->calling], out);
    else
        out->kind = CSTA_DEV_NOT_KNOWN;
}

static void s_called(const pbx_switch_t *sw, const pbx_call_t *c, csta_device_t *out)
{
    int d = pbx_switch_find_number(sw, c->called_number);
    if (d >= 0)
        pbx_switch_device_id(sw, d, out);
    else if (c->called_number[0])
        csta_device_set(out, c->called_number);
    else
        out->kind = CSTA_DEV_NOT_KNOWN;
}

static void s_last_redirection(const pbx_switch_t *sw, const pbx_call_t *c, csta_device_t *out)
{
    if (c->last_redirection >= 0)
        pbx_switch_device_id(sw, c->last_redirection, out);
    else
        out->kind = CSTA_DEV_NOT_REQUIRED;
}

void pbx_ev_service_initiated(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_SERVICE_INITIATED);
    csta_service_initiated_t *e = &ev.event.service_initiated;
    pbx_party_conn(sw, c, &c->party[p], &e->initiated_connection);
    pbx_party_device_id(sw, &c->party[p], &e->initiating);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_originated(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_ORIGINATED);
    csta_originated_t *e = &ev.event.originated;
    pbx_party_conn(sw, c, &c->party[p], &e->originated_connection);
    pbx_party_device_id(sw, &c->party[p], &e->calling);
    s_called(sw, c, &e->called);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_network_reached(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_NETWORK_REACHED);
    csta_network_reached_t *e = &ev.event.network_reached;
    pbx_party_conn(sw, c, &c->party[p], &e->outbound_connection);
    pbx_switch_device_id(sw, c->party[p].device, &e->network_interface_used);
    s_calling(sw, c, &e->calling);
    s_called(sw, c, &e->called);
    s_last_redirection(sw, c, &e->last_redirection);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_delivered(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_DELIVERED);
    csta_delivered_t *e = &ev.event.delivered;
    pbx_party_conn(sw, c, &c->party[p], &e->connection);
    pbx_party_device_id(sw, &c->party[p], &e->alerting);
    s_calling(sw, c, &e->calling);
    s_called(sw, c, &e->called);
    s_last_redirection(sw, c, &e->last_redirection);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_established(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_ESTABLISHED);
    csta_established_t *e = &ev.event.established;
    pbx_party_conn(sw, c, &c->party[p], &e->established_connection);
    pbx_party_device_id(sw, &c->party[p], &e->answering);
    s_calling(sw, c, &e->calling);
    s_called(sw, c, &e->called);
    s_last_redirection(sw, c, &e->last_redirection);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_failed(pbx_switch_t *sw, pbx_call_t *c, const char *failing, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_FAILED);
    csta_failed_t *e = &ev.event.failed;
    //  The failed connection is the one the call could not make: the call at the
    //  unreachable device (ECMA-269 Failed; a Cisco CSTA switch sends the same), which
    //  never got a party here.
    uint8_t id[2] = {(uint8_t) (c->id >> 8), (uint8_t) c->id};
    int d = pbx_switch_find_number(sw, failing);
    csta_conn_set(&e->failed_connection, id, 2, failing);
    if (d >= 0)
        pbx_switch_device_id(sw, d, &e->failing);
    else
        csta_device_set(&e->failing, failing);
    s_calling(sw, c, &e->calling);
    s_called(sw, c, &e->called);
    s_last_redirection(sw, c, &e->last_redirection);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_diverted(pbx_switch_t *sw, pbx_call_t *c, const pbx_party_t *gone,
                     const char *new_destination, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_DIVERTED);
    csta_diverted_t *e = &ev.event.diverted;
    pbx_party_conn(sw, c, gone, &e->connection);
    pbx_party_device_id(sw, gone, &e->diverting);
    int d = pbx_switch_find_number(sw, new_destination);
    if (d >= 0)
        pbx_switch_device_id(sw, d, &e->new_destination);
    else
        csta_device_set(&e->new_destination, new_destination);
    s_calling(sw, c, &e->calling);
    s_called(sw, c, &e->called);
    s_last_redirection(sw, c, &e->last_redirection);
    e->cause = cause;
    //  The diverting device's connection is gone: its monitors see local state null.
    s_report(sw, c, &ev, &e->local_state, gone);
}

void pbx_ev_held(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_HELD);
    csta_held_t *e = &ev.event.held;
    pbx_party_conn(sw, c, &c->party[p], &e->held_connection);
    pbx_party_device_id(sw, &c->party[p], &e->holding);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_retrieved(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_RETRIEVED);
    csta_retrieved_t *e = &ev.event.retrieved;
    pbx_party_conn(sw, c, &c->party[p], &e->retrieved_connection);
    pbx_party_device_id(sw, &c->party[p], &e->retrieving);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_queued(pbx_switch_t *sw, pbx_call_t *c, int p, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_QUEUED);
    csta_queued_t *e = &ev.event.queued;
    pbx_party_conn(sw, c, &c->party[p], &e->queued_connection);
    pbx_party_device_id(sw, &c->party[p], &e->queue);
    s_calling(sw, c, &e->calling);
    s_called(sw, c, &e->called);
    s_last_redirection(sw, c, &e->last_redirection);
    e->has_calls_in_front = true;
    e->calls_in_front = 0;
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_connection_cleared(pbx_switch_t *sw, pbx_call_t *c, const pbx_party_t *gone, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_CONNECTION_CLEARED);
    csta_connection_cleared_t *e = &ev.event.connection_cleared;
    pbx_party_conn(sw, c, gone, &e->dropped_connection);
    pbx_party_device_id(sw, gone, &e->releasing);
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, gone);
}

void pbx_ev_call_cleared(pbx_switch_t *sw, pbx_call_t *c, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_CALL_CLEARED);
    csta_call_cleared_t *e = &ev.event.call_cleared;
    uint8_t id[2] = {(uint8_t) (c->id >> 8), (uint8_t) c->id};
    csta_conn_set(&e->cleared_call, id, 2, NULL);
    e->cause = cause;
    s_report(sw, c, &ev, NULL, NULL);
}

void pbx_ev_transferred(pbx_switch_t *sw, pbx_call_t *c, uint16_t primary_old, uint16_t secondary_old,
                        const pbx_party_t *transferring, const csta_device_t *transferred_to,
                        const csta_conn_list_t *list, int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_TRANSFERRED);
    csta_transferred_t *e = &ev.event.transferred;
    pbx_call_conn(sw, primary_old, transferring, &e->primary_old_call);
    if (secondary_old)
        pbx_call_conn(sw, secondary_old, transferring, &e->secondary_old_call);
    pbx_party_device_id(sw, transferring, &e->transferring);
    e->transferred_to = *transferred_to;
    e->transferred_connections = *list;
    e->transferred_connections.present = true;
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, transferring);
}

void pbx_ev_conferenced(pbx_switch_t *sw, pbx_call_t *c, uint16_t primary_old, uint16_t secondary_old,
                        int conferencing, const csta_device_t *added, const csta_conn_list_t *list,
                        int cause)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_CONFERENCED);
    csta_conferenced_t *e = &ev.event.conferenced;
    const pbx_party_t *conf = &c->party[conferencing];
    pbx_call_conn(sw, primary_old, conf, &e->primary_old_call);
    if (secondary_old)
        pbx_call_conn(sw, secondary_old, conf, &e->secondary_old_call);
    pbx_party_device_id(sw, conf, &e->conferencing);
    e->added_party = *added;
    e->conference_connections = *list;
    e->conference_connections.present = true;
    e->cause = cause;
    s_report(sw, c, &ev, &e->local_state, NULL);
}

void pbx_ev_digits_generated(pbx_switch_t *sw, pbx_call_t *c, int p, const char *digits)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_DIGITS_GENERATED);
    csta_digits_generated_t *e = &ev.event.digits_generated;
    pbx_party_conn(sw, c, &c->party[p], &e->connection);
    snprintf(e->digit_generated_list, sizeof e->digit_generated_list, "%s", digits);
    s_report(sw, c, &ev, NULL, NULL);
}

//  Device events go to the monitors of that one device.
static void s_report_device(pbx_switch_t *sw, int device, const csta_apdu_t *ev)
{
    sw->stats.events++;
    sw->on_event(sw->ctx, device, ev);
}

void pbx_ev_forwarding(pbx_switch_t *sw, int device, int type, bool on, const char *dn)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_FORWARDING);
    csta_forwarding_t *e = &ev.event.forwarding;
    pbx_switch_device_id(sw, device, &e->device);
    e->has_forwarding_type = true;
    e->forwarding_type = type;
    e->forward_status = on;
    if (on && dn && dn[0])
        csta_device_set(&e->forward_to, dn);
    s_report_device(sw, device, &ev);
}

void pbx_ev_do_not_disturb(pbx_switch_t *sw, int device, bool on)
{
    csta_apdu_t ev;
    s_init(&ev, CSTA_EV_DO_NOT_DISTURB);
    csta_do_not_disturb_t *e = &ev.event.do_not_disturb;
    pbx_switch_device_id(sw, device, &e->device);
    e->do_not_disturb_on = on;
    s_report_device(sw, device, &ev);
}

void pbx_ev_service(pbx_switch_t *sw, int device, bool in_service)
{
    csta_apdu_t ev;
    s_init(&ev, in_service ? CSTA_EV_BACK_IN_SERVICE : CSTA_EV_OUT_OF_SERVICE);
    csta_device_maintenance_t *e = in_service ? &ev.event.back_in_service : &ev.event.out_of_service;
    pbx_switch_device_id(sw, device, &e->device);
    e->cause = CSTA_CAUSE_MAINTENANCE;
    s_report_device(sw, device, &ev);
}
