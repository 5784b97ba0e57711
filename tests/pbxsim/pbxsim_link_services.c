//  pbxsim_link_services: the services a link answers itself, and delivery of events and
//  CDR records to the links' monitors.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbxsim_kme.h"
#include "pbxsim_link_services.h"

//  --- Monitor filters (csta-facts.md 2.3: filter bits differ from event tags) -------------------

static const int8_t s_call_control_bit[18] = {
    15,     //  bridged
    0,      //  callCleared
    1,      //  conferenced
    2,      //  connectionCleared
    3,      //  delivered
    14,     //  digitsDialed
    4,      //  diverted
    5,      //  established
    6,      //  failed
    7,      //  held
    16,     //  networkCapabilitiesChanged
    8,      //  networkReached
    17,     //  offered
    9,      //  originated
    10,     //  queued
    11,     //  retrieved
    12,     //  serviceInitiated
    13,     //  transferred
};

bool pbx_filter_allows(const csta_monitor_filter_t *filter, csta_event_type_t type)
{
    if (!filter->present)
        return true;
    int tag = CSTA_EV_TAG(type);
    switch (CSTA_EV_CATEGORY(type)) {
    case 0:
        return tag < 18 ? !(filter->call_control & (1u << s_call_control_bit[tag])) : true;
    case 1:
        return !(filter->call_associated & (1u << tag));
    case 4:
        return !(filter->logical_device_feature & (1u << tag));
    case 5: {
        //  deviceCapabilityChanged is tag 1 but bit 2; outOfService tag 2 but bit 1.
        int bit = tag == 1 ? 2 : tag == 2 ? 1 : tag;
        return !(filter->maintenance & (1u << bit));
    }
    default:
        return true;
    }
}

//  --- Monitors ------------------------------------------------------------------------------------------

static void s_xref_of(uint16_t v, csta_xref_t *xref)
{
    xref->len = 2;
    xref->bytes[0] = (uint8_t) (v >> 8);
    xref->bytes[1] = (uint8_t) v;
}

//  The monitor with this cross reference, or NULL.  O(1): a monitor start, stop or event
//  costs the same with 10 or 60000 monitors on the link.
static pbx_monitor_t *s_monitor_find(pbx_link_t *link, const csta_xref_t *xref)
{
    if (xref->len != 2 || !link->xref_index)
        return NULL;
    int i = link->xref_index[xref->bytes[0] << 8 | xref->bytes[1]] - 1;
    return i >= 0 ? &link->monitors[i] : NULL;
}

//  A new monitor of `device` with a fresh cross reference, or NULL at the link's limit
//  (or out of memory).
static pbx_monitor_t *s_monitor_add(pbx_link_t *link, int device)
{
    if (link->monitor_count >= PBX_LINK_MONITORS_MAX)
        return NULL;
    if (!link->xref_index) {
        link->xref_index = calloc(65536, sizeof *link->xref_index);
        if (!link->xref_index)
            return NULL;
    }
    if (device >= link->device_cap) {
        int cap = pbx_switch_device_count(link->sim->sw);
        if (device >= cap)
            return NULL;
        int *first = realloc(link->device_first, (size_t) cap * sizeof *first);
        if (first)
            link->device_first = first;
        int *last = realloc(link->device_last, (size_t) cap * sizeof *last);
        if (last)
            link->device_last = last;
        if (!first || !last)
            return NULL;
        for (int d = link->device_cap; d < cap; d++)
            first[d] = last[d] = -1;
        link->device_cap = cap;
    }
    if (link->monitor_count == link->monitor_cap) {
        int cap = link->monitor_cap ? link->monitor_cap * 2 : 64;
        pbx_monitor_t *grown = realloc(link->monitors, (size_t) cap * sizeof *grown);
        if (!grown)
            return NULL;
        link->monitors = grown;
        link->monitor_cap = cap;
    }
    //  Two-byte cross-reference ids, never 0, never one still in use on this link (one is
    //  free: the count is below the limit).
    uint16_t xref;
    do {
        xref = link->next_xref++;
        if (!link->next_xref)
            link->next_xref = 1;
    } while (xref == 0 || link->xref_index[xref]);
    int i = link->monitor_count++;
    pbx_monitor_t *m = &link->monitors[i];
    memset(m, 0, sizeof *m);
    m->xref = xref;
    m->device = device;
    m->next = -1;
    m->prev = link->device_last[device];
    if (m->prev >= 0)
        link->monitors[m->prev].next = i;
    else
        link->device_first[device] = i;
    link->device_last[device] = i;
    link->xref_index[xref] = i + 1;
    link->sim->stats.monitors_active++;
    return m;
}

//  Point the neighbours of the monitor now at index i to it.
static void s_monitor_relink(pbx_link_t *link, int i)
{
    pbx_monitor_t *m = &link->monitors[i];
    if (m->prev >= 0)
        link->monitors[m->prev].next = i;
    else
        link->device_first[m->device] = i;
    if (m->next >= 0)
        link->monitors[m->next].prev = i;
    else
        link->device_last[m->device] = i;
    link->xref_index[m->xref] = i + 1;
}

static void s_monitor_remove(pbx_link_t *link, pbx_monitor_t *m)
{
    int i = (int) (m - link->monitors);
    if (m->prev >= 0)
        link->monitors[m->prev].next = m->next;
    else
        link->device_first[m->device] = m->next;
    if (m->next >= 0)
        link->monitors[m->next].prev = m->prev;
    else
        link->device_last[m->device] = m->prev;
    link->xref_index[m->xref] = 0;
    int last = --link->monitor_count;
    if (i != last) {
        link->monitors[i] = link->monitors[last];
        s_monitor_relink(link, i);
    }
    link->sim->stats.monitors_active--;
}

static void s_result(pbx_link_t *link, const csta_apdu_t *req, csta_apdu_t *res)
{
    res->kind = CSTA_APDU_RESULT;
    res->has_result = true;
    res->invoke_id = req->invoke_id;
    res->opcode = req->opcode;
    pbx_link_respond(link, res);
}

static void s_ack(pbx_link_t *link, const csta_apdu_t *req)
{
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    s_result(link, req, &res);
}

static void s_monitor_start(pbx_link_t *link, const csta_apdu_t *req)
{
    pbxsim_t *sim = link->sim;
    const csta_monitor_start_arg_t *arg = &req->svc.monitor_start;
    //  Like the Panasonic, pbxsim monitors devices, not calls.
    int device = arg->object_is_call ? -1 : pbx_switch_find(sim->sw, &arg->device);
    if (device < 0) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_MONITOR_OBJECT);
        return;
    }
    pbx_monitor_t *m = s_monitor_add(link, device);
    if (!m) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_SYSTEM_RESOURCE,
                       CSTA_SYSERR_OVERALL_MONITOR_LIMIT_EXCEEDED);
        return;
    }
    m->filter = arg->filter;
    sim->stats.monitor_starts++;
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    s_xref_of(m->xref, &res.svc.monitor_start_res.xref);
    if (arg->filter.present)
        res.svc.monitor_start_res.filter = arg->filter;     //  every filter is honoured
    s_result(link, req, &res);
}

static void s_monitor_stop(pbx_link_t *link, const csta_apdu_t *req)
{
    pbx_monitor_t *m = s_monitor_find(link, &req->svc.monitor_stop.xref);
    if (!m) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION,
                       CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
        return;
    }
    s_monitor_remove(link, m);
    link->sim->stats.monitor_stops++;
    s_ack(link, req);
}

static void s_change_monitor_filter(pbx_link_t *link, const csta_apdu_t *req)
{
    const csta_change_monitor_filter_arg_t *arg = &req->svc.change_monitor_filter;
    pbx_monitor_t *m = s_monitor_find(link, &arg->xref);
    if (!m) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION,
                       CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
        return;
    }
    m->filter = arg->filter;
    m->filter.present = true;
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.change_monitor_filter_res.filter = m->filter;
    s_result(link, req, &res);
}

//  --- Snapshots -------------------------------------------------------------------------------------

static bool s_link_alive(const pbxsim_t *sim, int link_id)
{
    for (const pbx_link_t *l = sim->links; l; l = l->next)
        if (l->id == link_id)
            return true;
    return false;
}

//  ECMA-269 SnapshotDevice answered with a serviceCrossRefID, the calls following in
//  SnapshotDeviceData invokes (no response), the last one marked lastSegment (ctl
//  `snapshot-segments`): the calls spread over the segments, some of which may be empty.
//  The segments go right after the result, not held by the `delay` fault.
static void s_snapshot_segments(pbx_link_t *link, const csta_apdu_t *req,
                                const csta_snapshot_device_item_t *items, int n)
{
    pbxsim_t *sim = link->sim;
    static uint16_t next_xref;
    csta_xref_t xref;
    s_xref_of((uint16_t) (0x5000 | (++next_xref & 0x0fff)), &xref);
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.snapshot_device_res.is_xref = true;
    res.svc.snapshot_device_res.service_xref = xref;
    s_result(link, req, &res);
    int segments = sim->snapshot_segments, link_id = link->id;
    for (int k = 0; k < segments; k++) {
        int from = k * n / segments, to = (k + 1) * n / segments;
        csta_apdu_t seg;
        csta_apdu_init(&seg, CSTA_APDU_INVOKE);
        seg.opcode = CSTA_OP_SNAPSHOT_DEVICE_DATA;
        seg.invoke_id = pbx_link_next_invoke_id(link);
        csta_snapshot_device_data_arg_t *s = &seg.svc.snapshot_device_data;
        s->service_xref = xref;
        s->has_segment_id = true;
        s->segment_id = k + 1;
        s->last_segment = k == segments - 1 && !sim->snapshot_open;
        s->snapshot_data.count = (size_t) (to - from);
        s->snapshot_data.item = items + from;
        if (pbx_link_send(link, &seg) == -ENOBUFS || !s_link_alive(sim, link_id))
            return;
    }
}

static void s_snapshot_device(pbx_link_t *link, const csta_apdu_t *req)
{
    pbx_switch_t *sw = link->sim->sw;
    int device = pbx_switch_find(sw, &req->svc.snapshot_device.snapshot_object);
    if (device < 0) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
        return;
    }
    pbx_snapshot_item_t calls[PBX_CALL_PARTIES_MAX * 4];
    int n = pbx_switch_snapshot(sw, device, calls, (int) (sizeof calls / sizeof calls[0]));
    csta_snapshot_device_item_t items[sizeof calls / sizeof calls[0]];
    memset(items, 0, sizeof items);
    for (int i = 0; i < n; i++) {
        uint8_t id[2] = {(uint8_t) (calls[i].call_id >> 8), (uint8_t) calls[i].call_id};
        csta_conn_set(&items[i].connection_identifier, id, 2,
                      pbx_switch_device(sw, device)->number);
        if (calls[i].other_device >= 0)
            pbx_switch_device_id(sw, calls[i].other_device, &items[i].endpoint_device);
        //  ECMA-269 compoundCallState: the local connection's state first, then the other
        //  connections' -- a caller's connected with the far end alerting is ringback, not a
        //  call in progress; an application opening the line then sees which it is.
        items[i].local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
        items[i].local_call_state.compound_count = 1;
        items[i].local_call_state.compound[0] = calls[i].state;
        if (calls[i].other_device >= 0) {
            items[i].local_call_state.compound_count = 2;
            items[i].local_call_state.compound[1] = calls[i].other_state;
        }
    }
    if (link->sim->snapshot_segments > 0) {
        s_snapshot_segments(link, req, items, n);
        return;
    }
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.snapshot_device_res.snapshot_data.count = (size_t) n;
    res.svc.snapshot_device_res.snapshot_data.item = items;
    s_result(link, req, &res);
}

static void s_snapshot_call(pbx_link_t *link, const csta_apdu_t *req)
{
    pbx_switch_t *sw = link->sim->sw;
    const csta_conn_t *conn = &req->svc.snapshot_call.snapshot_object;
    csta_snapshot_call_item_t items[PBX_CALL_PARTIES_MAX];
    int n = conn->call_id_len == 2
                ? pbx_switch_call_snapshot(sw, (uint16_t) (conn->call_id[0] << 8 | conn->call_id[1]),
                                           items, PBX_CALL_PARTIES_MAX)
                : -1;
    if (n < 0) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALL_ID);
        return;
    }
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.snapshot_call_res.snapshot_data.count = (size_t) n;
    res.svc.snapshot_call_res.snapshot_data.item = items;
    s_result(link, req, &res);
}

//  --- System status and registration ------------------------------------------------------------------

static void s_system_register(pbx_link_t *link, const csta_apdu_t *req)
{
    link->system_registered = true;
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    csta_xref_set(&res.svc.system_register_res.register_id, "SR", 2);
    s_result(link, req, &res);
}

static void s_request_system_status(pbx_link_t *link, const csta_apdu_t *req)
{
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.request_system_status_res.status = CSTA_SYS_NORMAL;
    s_result(link, req, &res);
}

//  --- The device list (GetSwitchingFunctionDevices, then segments) ----------------------------------

//  The ReqDeviceCategory a GetSwitchingFunctionDevices asks for to get this kind of device.
static long s_req_category(pbx_dev_type_t type)
{
    switch (type) {
    case PBX_DEV_EXTENSION: return CSTA_REQ_DEV_STATION;
    case PBX_DEV_TRUNK: return CSTA_REQ_DEV_NETWORK_INTERFACE;
    case PBX_DEV_HUNT_GROUP: return CSTA_REQ_DEV_GROUP_HUNT;
    case PBX_DEV_PICKUP_GROUP: return CSTA_REQ_DEV_GROUP_PICK;
    }
    return CSTA_REQ_DEV_OTHER;
}

//  The DeviceCategory the list reports: a different enumeration (capability-exchange:
//  station 5, networkInterface 2, group 1) from the one the request uses.
static long s_category(pbx_dev_type_t type)
{
    switch (type) {
    case PBX_DEV_EXTENSION: return CSTA_DEVCAT_STATION;
    case PBX_DEV_TRUNK: return CSTA_DEVCAT_NETWORK_INTERFACE;
    case PBX_DEV_HUNT_GROUP:
    case PBX_DEV_PICKUP_GROUP: return CSTA_DEVCAT_GROUP;
    }
    return CSTA_DEVCAT_OTHER;
}

static void s_get_devices(pbx_link_t *link, const csta_apdu_t *req)
{
    pbxsim_t *sim = link->sim;
    const csta_get_switching_function_devices_arg_t *arg = &req->svc.get_switching_function_devices;
    int only = -1;
    if (arg->requested_device_id.kind != CSTA_DEV_ABSENT) {
        only = pbx_switch_find(sim->sw, &arg->requested_device_id);
        if (only < 0) {
            pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
            return;
        }
    }
    static uint16_t next_xref;
    csta_xref_t xref;
    s_xref_of(++next_xref, &xref);
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.get_switching_function_devices_res.service_xref = xref;
    s_result(link, req, &res);

    //  The list follows in SwitchingFunctionDevices invokes, segment by segment; the last
    //  segment says so (an empty list is one empty last segment).
    int count = pbx_switch_device_count(sim->sw);
    int per = sim->cfg.segment_size;
    csta_device_list_item_t *items = calloc((size_t) per, sizeof *items);
    if (!items)
        return;
    long segment = 1;
    int d = 0;
    int link_id = link->id;
    do {
        int n = 0;
        for (; d < count && n < per; d++) {
            const pbx_device_cfg_t *dev = pbx_switch_device(sim->sw, d);
            if ((only >= 0 && d != only) ||
                (arg->has_requested_device_category &&
                 s_req_category(dev->type) != arg->requested_device_category))
                continue;
            memset(&items[n], 0, sizeof items[n]);
            pbx_switch_device_id(sim->sw, d, &items[n].device_id);
            items[n].has_device_category = true;
            items[n].device_category = s_category(dev->type);
            n++;
        }
        csta_apdu_t seg;
        csta_apdu_init(&seg, CSTA_APDU_INVOKE);
        seg.opcode = CSTA_OP_SWITCHING_FUNCTION_DEVICES;
        seg.invoke_id = pbx_link_next_invoke_id(link);
        csta_switching_function_devices_arg_t *s = &seg.svc.switching_function_devices;
        s->service_xref = xref;
        s->has_segment_id = true;
        s->segment_id = segment++;
        s->last_segment = d >= count;
        s->device_list.count = (size_t) n;
        s->device_list.item = items;
        if (pbx_link_send(link, &seg) == -ENOBUFS || !s_link_alive(sim, link_id))
            break;
    } while (d < count);
    free(items);
}

//  --- CDR --------------------------------------------------------------------------------------------

static void s_start_cdr(pbx_link_t *link, const csta_apdu_t *req)
{
    //  One application owns CDR (csta-facts.md 5); another gets operation/generic.
    for (pbx_link_t *l = link->sim->links; l; l = l->next)
        if (l->cdr_on && l != link) {
            pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC);
            return;
        }
    if (req->svc.start_call_detail_records_transmission.transfer_mode != CSTA_CDR_AT_END_OF_CALL) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_VALUE_OUT_OF_RANGE);
        return;
    }
    link->cdr_on = true;
    static const uint8_t xref[] = {0x00, 0x01};
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.svc.start_call_detail_records_transmission_res.cdr_xref = (csta_bytes_t){xref, sizeof xref};
    s_result(link, req, &res);
}

static void s_stop_cdr(pbx_link_t *link, const csta_apdu_t *req)
{
    if (!link->cdr_on) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_STATE, CSTA_STERR_INVALID_OBJECT_STATE);
        return;
    }
    link->cdr_on = false;
    s_ack(link, req);
}

//  --- Escape: the Panasonic KME device list (csta-facts.md 5) ---------------------------------------

//  GetSystemData with a device category: the result carries getSystemDataPosAck with a
//  crossRefID in its extensions, then Escape invokes carry the list in segments
//  (systemDataLinkedReply) until lastSegment.  Other private services are not simulated.
static void s_escape(pbx_link_t *link, const csta_apdu_t *req)
{
    pbxsim_t *sim = link->sim;
    const csta_bytes_t *priv = &req->svc.escape.private_data;
    long category;
    if (!priv->data || !pbx_kme_is_get_device_list(priv->data, priv->len, &category)) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION,
                       CSTA_OPERR_PRIVATE_DATA_NOT_SUPPORTED);
        return;
    }
    static uint16_t next_xref;
    ++next_xref;
    const uint8_t xref[2] = {(uint8_t) (next_xref >> 8), (uint8_t) next_xref};
    uint8_t ack[32];
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.ext.present = true;
    res.ext.has_private = true;
    res.ext.private_count = 1;
    res.ext.private_data[0] = (csta_bytes_t){ack, pbx_kme_pos_ack(ack, sizeof ack, xref, 2)};
    s_result(link, req, &res);

    int count = pbx_switch_device_count(sim->sw);
    pbx_dev_type_t want = category == PBX_KME_CATEGORY_CO ? PBX_DEV_TRUNK : PBX_DEV_EXTENSION;
    bool known = category == PBX_KME_CATEGORY_CO || category == PBX_KME_CATEGORY_EXTENSION;
    int per = sim->cfg.segment_size;
    pbx_kme_device_t *devices = calloc((size_t) per, sizeof *devices);
    uint8_t *buf = malloc(65536);
    if (!devices || !buf) {
        free(devices);
        free(buf);
        return;
    }
    int link_id = link->id;
    long segment = 1;
    int d = 0;
    do {
        size_t n = 0;
        for (; known && d < count && (int) n < per; d++) {
            const pbx_device_cfg_t *dev = pbx_switch_device(sim->sw, d);
            if (dev->type == want)
                devices[n++] = (pbx_kme_device_t){dev->device_number, dev->number};
        }
        bool last = !known || d >= count;
        csta_apdu_t seg;
        csta_apdu_init(&seg, CSTA_APDU_INVOKE);
        seg.opcode = CSTA_OP_ESCAPE;
        seg.invoke_id = pbx_link_next_invoke_id(link);
        size_t len = pbx_kme_linked_reply(buf, 65536, xref, 2, segment++, last, devices, n);
        seg.svc.escape.private_data = (csta_bytes_t){buf, len};
        if (!len || pbx_link_send(link, &seg) == -ENOBUFS)
            break;
        bool alive = false;
        for (pbx_link_t *l = sim->links; l; l = l->next)
            alive |= l->id == link_id;
        if (!alive || last)
            break;
    } while (true);
    free(devices);
    free(buf);
}

//  --- Requests ------------------------------------------------------------------------------------------

void pbx_link_service(pbx_link_t *link, const csta_apdu_t *req)
{
    switch (req->opcode) {
    case CSTA_OP_MONITOR_START: s_monitor_start(link, req); return;
    case CSTA_OP_MONITOR_STOP: s_monitor_stop(link, req); return;
    case CSTA_OP_CHANGE_MONITOR_FILTER: s_change_monitor_filter(link, req); return;
    case CSTA_OP_SNAPSHOT_DEVICE: s_snapshot_device(link, req); return;
    case CSTA_OP_SNAPSHOT_CALL: s_snapshot_call(link, req); return;
    case CSTA_OP_SYSTEM_REGISTER: s_system_register(link, req); return;
    case CSTA_OP_SYSTEM_REGISTER_CANCEL:
        link->system_registered = false;
        s_ack(link, req);
        return;
    case CSTA_OP_REQUEST_SYSTEM_STATUS: s_request_system_status(link, req); return;
    case CSTA_OP_SYSTEM_STATUS:
    case CSTA_OP_SYSTEM_STATUS_PHASE2:
        //  An application may report its own status; acknowledge it.
        s_ack(link, req);
        return;
    case CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES: s_get_devices(link, req); return;
    case CSTA_OP_START_CDR: s_start_cdr(link, req); return;
    case CSTA_OP_STOP_CDR: s_stop_cdr(link, req); return;
    case CSTA_OP_ESCAPE: s_escape(link, req); return;
    default:
        break;
    }
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_NONE);
    int rc = pbx_switch_request(link->sim->sw, req, &res);
    if (rc == -ENOTSUP) {
        pbx_link_error(link, req->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_SERVICE_NOT_SUPPORTED);
    } else {
        res.invoke_id = req->invoke_id;
        if (res.kind == CSTA_APDU_RESULT)
            res.has_result = true;
        pbx_link_respond(link, &res);
    }
    csta_apdu_clear(&res);
}

void pbx_link_on_reply(pbx_link_t *link, const csta_apdu_t *reply)
{
    //  CDR reports must be acknowledged (csta-facts.md 2.1): a result to one of them counts.
    //  Segment acknowledgements and anything else need no action.
    if (reply->kind != CSTA_APDU_RESULT)
        return;
    for (int i = 0; i < link->cdr_pending_count; i++)
        if (link->cdr_pending[i] == reply->invoke_id) {
            link->cdr_pending[i] = link->cdr_pending[--link->cdr_pending_count];
            link->sim->stats.cdr_acked++;
            return;
        }
}

void pbx_link_services_close(pbx_link_t *link)
{
    free(link->monitors);
    free(link->xref_index);
    free(link->device_first);
    free(link->device_last);
    link->monitors = NULL;
    link->xref_index = link->device_first = link->device_last = NULL;
    link->monitor_count = link->monitor_cap = link->device_cap = 0;
}

//  --- Delivery ------------------------------------------------------------------------------------------

void pbx_link_dispatch_event(pbxsim_t *sim, int device, const csta_apdu_t *event)
{
    for (pbx_link_t *link = sim->links, *next; link; link = next) {
        next = link->next;
        if (link->state != PBX_LINK_ASSOCIATED || device < 0 || device >= link->device_cap)
            continue;
        for (int i = link->device_first[device]; i >= 0; i = link->monitors[i].next) {
            pbx_monitor_t *m = &link->monitors[i];
            if (!pbx_filter_allows(&m->filter, event->event.type))
                continue;
            csta_apdu_t a = *event;
            a.kind = CSTA_APDU_INVOKE;
            a.opcode = CSTA_OP_EVENT_REPORT;
            a.has_argument = true;
            a.invoke_id = pbx_link_next_invoke_id(link);
            a.event.xref.len = 2;
            a.event.xref.bytes[0] = (uint8_t) (m->xref >> 8);
            a.event.xref.bytes[1] = (uint8_t) m->xref;
            sim->stats.events_sent++;
            if (pbx_link_send(link, &a) == -ENOBUFS)
                break;      //  the link is gone
        }
    }
}

void pbx_link_dispatch_cdr(pbxsim_t *sim, const csta_apdu_t *report)
{
    for (pbx_link_t *link = sim->links; link; link = link->next) {
        if (!link->cdr_on)
            continue;
        csta_apdu_t a = *report;
        a.kind = CSTA_APDU_INVOKE;
        a.opcode = CSTA_OP_CDR_REPORT;
        a.has_argument = true;
        a.invoke_id = pbx_link_next_invoke_id(link);
        int cap = (int) (sizeof link->cdr_pending / sizeof link->cdr_pending[0]);
        if (link->cdr_pending_count == cap) {
            memmove(link->cdr_pending, link->cdr_pending + 1,
                    (size_t) (cap - 1) * sizeof link->cdr_pending[0]);
            link->cdr_pending_count--;
        }
        link->cdr_pending[link->cdr_pending_count++] = a.invoke_id;
        sim->stats.cdr_sent++;
        pbx_link_send(link, &a);
        return;     //  CDR goes to one application only (csta-facts.md 5)
    }
}

int pbx_link_monitor_count(const pbxsim_t *sim, int device)
{
    int n = 0;
    for (const pbx_link_t *link = sim->links; link; link = link->next)
        if (device >= 0 && device < link->device_cap)
            for (int i = link->device_first[device]; i >= 0; i = link->monitors[i].next)
                n++;
    return n;
}

size_t pbx_link_json(const pbxsim_t *sim, char *buf, size_t cap)
{
    size_t n = 0;
#define S_PUT(...)                                                                               \
    do {                                                                                         \
        int w = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                           \
        if (w > 0)                                                                               \
            n += (size_t) w;                                                                     \
    } while (0)
    S_PUT("[");
    for (int i = 0; i < sim->history_count && i < PBX_HISTORY_MAX; i++) {
        int idx = sim->history_count > PBX_HISTORY_MAX ? (sim->history_count + i) % PBX_HISTORY_MAX : i;
        const pbx_link_record_t *r = &sim->history[idx];
        S_PUT("%s{\"id\":%d,\"peer\":\"%s\",\"opened_ms\":%lld,\"closed_ms\":%lld,\"refused\":%s,"
              "\"reason\":\"%s\"}",
              i ? "," : "", r->id, r->peer, r->opened_ms, r->closed_ms,
              r->refused ? "true" : "false", r->reason);
    }
    S_PUT("]");
#undef S_PUT
    return n < cap ? n : cap;
}
