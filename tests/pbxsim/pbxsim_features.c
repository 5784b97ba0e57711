//  pbxsim_features: device features of the switch — call forwarding and do-not-disturb
//  (ECMA-269 22.2) — and the CDR record of a finished call.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pbxsim_switch_int.h"

static int s_fail(csta_apdu_t *res, csta_err_category_t category, long value)
{
    csta_apdu_init(res, CSTA_APDU_ERROR);
    res->error.category = category;
    res->error.value = value;
    return -1;
}

static int s_extension(pbx_switch_t *sw, const csta_device_t *dev)
{
    int d = pbx_switch_find(sw, dev);
    return d >= 0 && sw->devices[d].cfg.type == PBX_DEV_EXTENSION ? d : -1;
}

//  SetForwarding: activate or cancel one forwarding type; a forwarding to an unknown
//  internal number, or to the device itself, is refused as a real PBX does.
static int s_set_forwarding(pbx_switch_t *sw, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_set_forwarding_arg_t *arg = &req->svc.set_forwarding;
    int d = s_extension(sw, &arg->device);
    if (d < 0)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    long type = arg->has_forwarding_type ? arg->forwarding_type : CSTA_FWD_IMMEDIATE;
    if (type < 0 || type >= PBX_FWD_TYPES)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_VALUE_OUT_OF_RANGE);
    pbx_forward_t *fwd = &sw->devices[d].fwd[type];
    if (arg->activate_forward) {
        const csta_device_t *dn = &arg->forward_dn;
        if (dn->kind != CSTA_DEV_DIALING || !dn->digits[0] ||
            strcmp(dn->digits, sw->devices[d].cfg.number) == 0 ||
            (pbx_switch_find_number(sw, dn->digits) < 0 &&
             strncmp(dn->digits, sw->cfg.outside_prefix, strlen(sw->cfg.outside_prefix)) != 0))
            return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_FORWARDING_DESTINATION);
        fwd->active = true;
        snprintf(fwd->dn, sizeof fwd->dn, "%s", dn->digits);
    } else {
        fwd->active = false;
        fwd->dn[0] = '\0';
    }
    csta_apdu_init(res, CSTA_APDU_RESULT);
    res->opcode = CSTA_OP_SET_FORWARDING;
    pbx_ev_forwarding(sw, d, (int) type, fwd->active, fwd->dn);
    return 0;
}

static int s_get_forwarding(pbx_switch_t *sw, const csta_apdu_t *req, csta_apdu_t *res)
{
    int d = s_extension(sw, &req->svc.get_forwarding.device);
    if (d < 0)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    //  The list lives in the result APDU's arena, as decoded lists do.
    csta_apdu_init(res, CSTA_APDU_RESULT);
    res->opcode = CSTA_OP_GET_FORWARDING;
    csta_forward_item_t items[PBX_FWD_TYPES];
    size_t n = 0;
    for (int t = 0; t < PBX_FWD_TYPES; t++) {
        const pbx_forward_t *fwd = &sw->devices[d].fwd[t];
        if (!fwd->active)
            continue;
        memset(&items[n], 0, sizeof items[n]);
        items[n].has_forwarding_type = true;
        items[n].forwarding_type = t;
        items[n].forward_status = true;
        csta_device_set(&items[n].forward_dn, fwd->dn);
        n++;
    }
    csta_bytes_t copy = {0};
    if (n && csta_apdu_set_bytes(res, &copy, items, n * sizeof items[0]))
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_GENERIC);
    res->svc.get_forwarding_res.forwarding_list.count = n;
    res->svc.get_forwarding_res.forwarding_list.item = (const csta_forward_item_t *) copy.data;
    return 0;
}

static int s_set_dnd(pbx_switch_t *sw, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_set_do_not_disturb_arg_t *arg = &req->svc.set_do_not_disturb;
    int d = s_extension(sw, &arg->device);
    if (d < 0)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    sw->devices[d].dnd = arg->do_not_disturb_on;
    csta_apdu_init(res, CSTA_APDU_RESULT);
    res->opcode = CSTA_OP_SET_DO_NOT_DISTURB;
    pbx_ev_do_not_disturb(sw, d, arg->do_not_disturb_on);
    return 0;
}

static int s_get_dnd(pbx_switch_t *sw, const csta_apdu_t *req, csta_apdu_t *res)
{
    int d = s_extension(sw, &req->svc.get_do_not_disturb.device);
    if (d < 0)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    csta_apdu_init(res, CSTA_APDU_RESULT);
    res->opcode = CSTA_OP_GET_DO_NOT_DISTURB;
    res->svc.get_do_not_disturb_res.do_not_disturb_on = sw->devices[d].dnd;
    return 0;
}

int pbx_switch_feature_request(pbx_switch_t *sw, const csta_apdu_t *req, csta_apdu_t *res)
{
    int rc;
    switch (req->opcode) {
    case CSTA_OP_SET_FORWARDING: rc = s_set_forwarding(sw, req, res); break;
    case CSTA_OP_GET_FORWARDING: rc = s_get_forwarding(sw, req, res); break;
    case CSTA_OP_SET_DO_NOT_DISTURB: rc = s_set_dnd(sw, req, res); break;
    case CSTA_OP_GET_DO_NOT_DISTURB: rc = s_get_dnd(sw, req, res); break;
    default: return -ENOTSUP;
    }
    if (rc)
        sw->stats.requests_failed++;
    return rc;
}

//  --- CDR -----------------------------------------------------------------------------------------

static void s_time(long long wall_s, char *out, size_t cap)
{
    time_t t = (time_t) wall_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y%m%d%H%M%SZ", &tm);
}

//  One CallDetailRecordsReport with the record of call c: who called whom, who pays,
//  start, end and duration in 0.1 s as Panasonic reports it (csta-facts.md 2.1).
void pbx_cdr_record(pbx_switch_t *sw, const pbx_call_t *c, int reason_for_term)
{
    if (!sw->on_cdr || c->charged_device < 0)
        return;
    long long now_ms = sw->timers.now_ms(sw->timers.ctx);
    long long now_wall = sw->timers.wall_s(sw->timers.ctx);
    csta_cdr_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.has_record_number = true;
    rec.record_number = (sw->cdr_record++ % 128) + 1;
    s_time(now_wall, rec.record_creation_time, sizeof rec.record_creation_time);
    if (c->cdr_caller[0])
        csta_device_set(&rec.calling_device, c->cdr_caller);    //  an outside caller
    else
        pbx_switch_device_id(sw, c->charged_device, &rec.calling_device);
    int called = pbx_switch_find_number(sw, c->called_number);
    if (called >= 0)
        pbx_switch_device_id(sw, called, &rec.called_device);
    else if (c->called_number[0])
        csta_device_set(&rec.called_device, c->called_number);
    else
        rec.called_device.kind = CSTA_DEV_NOT_KNOWN;
    pbx_switch_device_id(sw, c->charged_device, &rec.charged_device);
    uint8_t id[2] = {(uint8_t) (c->id >> 8), (uint8_t) c->id};
    csta_conn_set(&rec.recorded_call, id, 2, NULL);
    //  The connection starts when it is answered (the duration counts from there); an
    //  unanswered attempt gives the time it was placed and a duration of 0.
    s_time(c->cdr_answered ? c->answered_wall : c->started_wall, rec.connection_start,
           sizeof rec.connection_start);
    s_time(now_wall, rec.connection_end, sizeof rec.connection_end);
    rec.has_connection_duration = true;
    rec.connection_duration = c->cdr_answered ? (long) ((now_ms - c->answered_ms) / 100) : 0;
    rec.has_reason_for_term = true;
    rec.reason_for_term = c->cdr_answered ? (reason_for_term ? reason_for_term : CSTA_CDR_NORMAL_CLEARING)
                                          : CSTA_CDR_UNSUCCESSFUL_CALL_ATTEMPT;
    csta_apdu_t report;
    csta_apdu_init(&report, CSTA_APDU_INVOKE);
    report.opcode = CSTA_OP_CDR_REPORT;
    csta_call_detail_records_report_arg_t *arg = &report.svc.call_detail_records_report;
    static const uint8_t xref[] = {0x00, 0x01};
    arg->cdr_xref = (csta_bytes_t){xref, sizeof xref};
    arg->number_of_records_sent = 1;
    arg->cdr_info.count = 1;
    arg->cdr_info.item = &rec;
    sw->on_cdr(sw->ctx, &report);
}
