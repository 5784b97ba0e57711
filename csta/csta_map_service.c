//  csta_map_service: asn1c <-> C mapping of the non-call services (csta_service.h).
#include "csta_map.h"

#include <stdint.h>

#include "CDRInformationItem.h"
#include "CDRReportArgument.h"
#include "ChangeMonitorFilterArgument.h"
#include "ChangeMonitorFilterResult.h"
#include "ChargedDevice.h"
#include "CSTAPrivateData.h"
#include "EscapeArgument.h"
#include "ForwardListItem.h"
#include "GetDoNotDisturbArgument.h"
#include "GetDoNotDisturbResult.h"
#include "GetForwardingArgument.h"
#include "GetForwardingResult.h"
#include "GetSwitchingFunctionDevicesArgument.h"
#include "GetSwitchingFunctionDevicesResult.h"
#include "MonitorFilter.h"
#include "MonitorObject.h"
#include "MonitorStartArgument.h"
#include "MonitorStartResult.h"
#include "MonitorStopArgument.h"
#include "NodeNumber.h"
#include "RequestSysStatArg.h"
#include "RequestSysStatRes.h"
#include "SetDisplayArgument.h"
#include "SetDoNotDisturbArgument.h"
#include "SetForwardingArgument.h"
#include "SnapshotCallArgument.h"
#include "SnapshotCallResponseInfo.h"
#include "SnapshotCallResult.h"
#include "SnapshotDeviceArgument.h"
#include "SnapshotDeviceDataArgument.h"
#include "SnapshotDeviceResponseInfo.h"
#include "SnapshotDeviceResult.h"
#include "StartCDRTransmissionArgument.h"
#include "StartCDRTransmissionResult.h"
#include "StopCDRTransmissionArgument.h"
#include "SvcCallState.h"
#include "SvcChargingInfo.h"
#include "SvcChargingUnits.h"
#include "SvcDeviceListItem.h"
#include "SvcSecurityData.h"
#include "SvcServicesPermitted.h"
#include "SwFunctionDevicesChangedArg.h"
#include "SwitchingFunctionDevicesArgument.h"
#include "SystemRegisterAbortArgument.h"
#include "SystemRegisterArgument.h"
#include "SystemRegisterCancelArgument.h"
#include "SystemRegisterResult.h"
#include "SystemStatusArgument.h"
#include "SystemStatusPhase2Argument.h"

//  --- Helpers -------------------------------------------------------------------------------

//  Allocate a zeroed array of count elements in a's arena (decoded lists live there,
//  csta_service.h).  Arena chunks are malloc'ed with the data after one pointer, so
//  they are aligned for every member type used here (long, pointers).
static int s_arena_array(csta_apdu_t *a, size_t count, size_t size, void **out)
{
    *out = NULL;
    if (count > CSTA_LIST_MAX)
        return -EMSGSIZE;
    if (count == 0)
        return 0;
    void *zero = calloc(count, size);
    if (!zero)
        return -ENOMEM;
    csta_bytes_t b;
    int rc = csta_apdu_set_bytes(a, &b, zero, count * size);
    free(zero);
    if (rc)
        return rc;
    *out = (void *) (uintptr_t) b.data;
    return 0;
}

//  Append a zeroed element of `size` bytes to an asn1c SEQUENCE OF; NULL on ENOMEM.
static void *s_seq_add(void *list, size_t size)
{
    void *el = calloc(1, size);
    if (el && ASN_SEQUENCE_ADD(list, el) != 0) {
        free(el);
        el = NULL;
    }
    return el;
}

//  A list given for encoding must have its items when it claims any.
static int s_list_check(size_t count, const void *items)
{
    return count && !items ? -EINVAL : 0;
}

//  A mandatory OCTET STRING; data NULL encodes as empty.  (asn1c leaves buf NULL for an
//  empty string made from NULL and then hands memcpy a NULL source, which UBSan rejects.)
static int s_bytes_to(const csta_bytes_t *b, OCTET_STRING_t *out)
{
    static const uint8_t empty[1];
    csta_bytes_t e = {empty, 0};
    return csta_map_bytes_to(b->data ? b : &e, out);
}

//  An optional identifier (sysStatRegisterID): length 0 means absent.
static int s_xref_opt_to(const csta_xref_t *xref, OCTET_STRING_t **out)
{
    if (!xref->len)
        return 0;
    CSTA_MAP_NEW(OCTET_STRING_t, out);
    return csta_map_xref_to(xref, *out);
}

static int s_xref_opt_from(const OCTET_STRING_t *in, csta_xref_t *xref)
{
    return in ? csta_map_xref_from(in, xref) : 0;
}

//  SEQUENCE OF DeviceID (callingDeviceList); `list` is the asn1c A_SEQUENCE_OF.
static int s_device_ids_to(const csta_device_ids_t *ids, void *list)
{
    int rc = s_list_check(ids->count, ids->device);
    for (size_t i = 0; !rc && i < ids->count; i++) {
        DeviceID_t *dev = s_seq_add(list, sizeof *dev);
        rc = dev ? csta_map_device_to(&ids->device[i], dev) : -ENOMEM;
    }
    return rc;
}

static int s_device_ids_from(csta_apdu_t *a, const void *list, csta_device_ids_t *ids)
{
    const asn_anonymous_sequence_ *seq = _A_CSEQUENCE_FROM_VOID(list);
    csta_device_t *devs;
    int rc = s_arena_array(a, (size_t) seq->count, sizeof *devs, (void **) &devs);
    if (rc)
        return rc;
    ids->present = true;
    ids->count = (size_t) seq->count;
    ids->device = devs;
    for (int i = 0; !rc && i < seq->count; i++)
        rc = csta_map_device_from(seq->array[i], &devs[i]);
    return rc;
}

//  --- MonitorFilter ---------------------------------------------------------------------------

//  Filter element order in csta_monitor_filter_t and the [n] tag of each.
enum { S_FILTER_COUNT = 8 };
static const int s_filter_tag[S_FILTER_COUNT] = {0, 6, 7, 8, 9, 3, 5, 4};

//  The i-th filter element of the C struct (order of s_filter_tag).
static uint32_t *s_filter_field(csta_monitor_filter_t *f, int i)
{
    uint32_t *fields[S_FILTER_COUNT] = {&f->call_control, &f->call_associated,
                                        &f->media_attachment, &f->physical_device_feature,
                                        &f->logical_device_feature, &f->maintenance,
                                        &f->voice_unit, &f->private_filter};
    return fields[i];
}

//  Fill a MonitorFilter.  An element is encoded when its bits are set or when `sent`
//  says the peer sent it (HiPath sends all eight all-zero); all-zero elements otherwise
//  stay out, as DER's DEFAULT {} rule wants.
static int s_filter_fill(const csta_monitor_filter_t *f, MonitorFilter_t *m)
{
    BIT_STRING_t **asn[S_FILTER_COUNT] = {&m->callControl, &m->callAssociated,
                                          &m->mediaAttachment, &m->physicalDeviceFeature,
                                          &m->logicalDeviceFeature, &m->maintenance,
                                          &m->voiceUnit, &m->private};
    csta_monitor_filter_t copy = *f;
    for (int i = 0; i < S_FILTER_COUNT; i++) {
        uint32_t bits = *s_filter_field(&copy, i);
        if (!bits && !(f->sent & (1u << s_filter_tag[i])))
            continue;
        BIT_STRING_t **bs = asn[i];
        *bs = calloc(1, sizeof(BIT_STRING_t));
        if (!*bs)
            return -ENOMEM;
        int rc = csta_map_bits_to(bits, f->wire_octets[i], *bs);
        if (rc)
            return rc;
        if (f->wire_octets[i] && (*bs)->size == f->wire_octets[i])
            (*bs)->bits_unused = f->wire_unused[i] & 7;
        else if (!bits)
            (*bs)->size = 0;    //  all-zero: the empty string, 80 01 00
    }
    return 0;
}

//  An optional MonitorFilter: allocated only when the C filter is present.
static int s_filter_opt_to(const csta_monitor_filter_t *f, MonitorFilter_t **out)
{
    if (!f->present)
        return 0;
    CSTA_MAP_NEW(MonitorFilter_t, out);
    return s_filter_fill(f, *out);
}

//  Read a MonitorFilter (NULL: absent), keeping each element's wire size for re-encoding.
static void s_filter_from(const MonitorFilter_t *m, csta_monitor_filter_t *f)
{
    memset(f, 0, sizeof *f);
    if (!m)
        return;
    const BIT_STRING_t *asn[S_FILTER_COUNT] = {m->callControl, m->callAssociated,
                                               m->mediaAttachment, m->physicalDeviceFeature,
                                               m->logicalDeviceFeature, m->maintenance,
                                               m->voiceUnit, m->private};
    f->present = true;
    for (int i = 0; i < S_FILTER_COUNT; i++) {
        const BIT_STRING_t *bs = asn[i];
        if (!bs)
            continue;
        f->sent |= (uint16_t) (1u << s_filter_tag[i]);
        *s_filter_field(f, i) = csta_map_bits_from(bs);
        f->wire_octets[i] = (uint8_t) (bs->size > 8 ? 8 : bs->size);
        f->wire_unused[i] = (uint8_t) bs->bits_unused;
    }
}

//  --- MonitorStart (71) ------------------------------------------------------------------------
//  Each operation below has <op>_to (C -> asn1c struct for encoding) and <op>_from
//  (decoded struct -> C), with the contract of csta_op_map_t in csta_map.h.

static int s_monitor_start_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_monitor_start_arg_t *c = &a->svc.monitor_start;
    MonitorStartArgument_t *m;
    CSTA_MAP_NEW(MonitorStartArgument_t, &m);
    *asn_out = m;
    int rc;
    if (c->object_is_call) {
        m->monitorObject.present = MonitorObject_PR_callObject;
        rc = csta_map_conn_to(&c->call, &m->monitorObject.choice.callObject);
    } else {
        m->monitorObject.present = MonitorObject_PR_deviceObject;
        rc = csta_map_device_to(&c->device, &m->monitorObject.choice.deviceObject);
    }
    if (!rc) rc = s_filter_opt_to(&c->filter, &m->requestedMonitorFilter);
    if (!rc) rc = csta_map_long_opt_to(c->monitor_type, c->has_monitor_type, &m->monitorType);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->media_class, &m->requestedMonitorMediaClass);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_monitor_start_from(const void *asn, csta_apdu_t *a)
{
    const MonitorStartArgument_t *m = asn;
    csta_monitor_start_arg_t *c = &a->svc.monitor_start;
    int rc;
    switch (m->monitorObject.present) {
    case MonitorObject_PR_deviceObject:
        rc = csta_map_device_from(&m->monitorObject.choice.deviceObject, &c->device);
        break;
    case MonitorObject_PR_callObject:
        c->object_is_call = true;
        rc = csta_map_conn_from(&m->monitorObject.choice.callObject, &c->call);
        break;
    default:
        return -EBADMSG;
    }
    s_filter_from(m->requestedMonitorFilter, &c->filter);
    csta_map_long_opt_from(m->monitorType, &c->has_monitor_type, &c->monitor_type);
    if (!rc) rc = csta_map_wire_bits_from(m->requestedMonitorMediaClass, &c->media_class);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_monitor_start_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_monitor_start_res_t *c = &a->svc.monitor_start_res;
    MonitorStartResult_t *m;
    CSTA_MAP_NEW(MonitorStartResult_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&c->xref, &m->crossRefIdentifier);
    if (!rc) rc = s_filter_opt_to(&c->filter, &m->actualMonitorFilter);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->media_class, &m->actualMonitorMediaClass);
    if (!rc) rc = csta_map_bool_opt_to(c->monitor_existing_calls, c->has_monitor_existing_calls,
                                &m->monitorExistingCalls);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_monitor_start_res_from(const void *asn, csta_apdu_t *a)
{
    const MonitorStartResult_t *m = asn;
    csta_monitor_start_res_t *c = &a->svc.monitor_start_res;
    int rc = csta_map_xref_from(&m->crossRefIdentifier, &c->xref);
    s_filter_from(m->actualMonitorFilter, &c->filter);
    if (!rc) rc = csta_map_wire_bits_from(m->actualMonitorMediaClass, &c->media_class);
    if (m->monitorExistingCalls) {
        c->has_monitor_existing_calls = true;
        c->monitor_existing_calls = *m->monitorExistingCalls != 0;
    }
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- ChangeMonitorFilter (72) -------------------------------------------------------------------

static int s_change_monitor_filter_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_change_monitor_filter_arg_t *c = &a->svc.change_monitor_filter;
    ChangeMonitorFilterArgument_t *m;
    CSTA_MAP_NEW(ChangeMonitorFilterArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&c->xref, &m->crossRefIdentifier);
    if (!rc) rc = s_filter_fill(&c->filter, &m->requestedFilterList);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_change_monitor_filter_from(const void *asn, csta_apdu_t *a)
{
    const ChangeMonitorFilterArgument_t *m = asn;
    csta_change_monitor_filter_arg_t *c = &a->svc.change_monitor_filter;
    int rc = csta_map_xref_from(&m->crossRefIdentifier, &c->xref);
    s_filter_from(&m->requestedFilterList, &c->filter);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_change_monitor_filter_res_to(const csta_apdu_t *a, void **asn_out)
{
    ChangeMonitorFilterResult_t *m;
    CSTA_MAP_NEW(ChangeMonitorFilterResult_t, &m);
    *asn_out = m;
    int rc = s_filter_opt_to(&a->svc.change_monitor_filter_res.filter, &m->actualFilterList);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_change_monitor_filter_res_from(const void *asn, csta_apdu_t *a)
{
    const ChangeMonitorFilterResult_t *m = asn;
    s_filter_from(m->actualFilterList, &a->svc.change_monitor_filter_res.filter);
    return csta_map_ext_opt_from(m->extensions, a);
}

//  --- MonitorStop (73) -------------------------------------------------------------------------

static int s_monitor_stop_to(const csta_apdu_t *a, void **asn_out)
{
    MonitorStopArgument_t *m;
    CSTA_MAP_NEW(MonitorStopArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&a->svc.monitor_stop.xref, &m->crossRefIdentifier);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_monitor_stop_from(const void *asn, csta_apdu_t *a)
{
    const MonitorStopArgument_t *m = asn;
    int rc = csta_map_xref_from(&m->crossRefIdentifier, &a->svc.monitor_stop.xref);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- Snapshot building blocks (status-reporting) -------------------------------------------

//  CallState <-> csta_call_state_t: compound list, simple value or unknown.
static int s_call_state_to(const csta_call_state_t *cs, SvcCallState_t *out)
{
    switch (cs->kind) {
    case CSTA_CALL_STATE_COMPOUND:
        out->present = SvcCallState_PR_compoundCallState;
        if (cs->compound_count > CSTA_COMPOUND_MAX)
            return -EINVAL;
        for (size_t i = 0; i < cs->compound_count; i++) {
            LocalConnectionState_t *lcs = s_seq_add(&out->choice.compoundCallState.list,
                                                    sizeof *lcs);
            if (!lcs)
                return -ENOMEM;
            *lcs = cs->compound[i];
        }
        return 0;
    case CSTA_CALL_STATE_SIMPLE:
        out->present = SvcCallState_PR_simpleCallState;
        out->choice.simpleCallState = cs->simple;
        return 0;
    case CSTA_CALL_STATE_UNKNOWN:
        out->present = SvcCallState_PR_unknown;
        return 0;
    }
    return -EINVAL;
}

static int s_call_state_from(const SvcCallState_t *in, csta_call_state_t *cs)
{
    memset(cs, 0, sizeof *cs);
    switch (in->present) {
    case SvcCallState_PR_compoundCallState:
        cs->kind = CSTA_CALL_STATE_COMPOUND;
        if (in->choice.compoundCallState.list.count > CSTA_COMPOUND_MAX)
            return -EMSGSIZE;
        for (int i = 0; i < in->choice.compoundCallState.list.count; i++)
            cs->compound[cs->compound_count++] =
                (csta_lcs_t) *in->choice.compoundCallState.list.array[i];
        return 0;
    case SvcCallState_PR_simpleCallState:
        cs->kind = CSTA_CALL_STATE_SIMPLE;
        cs->simple = in->choice.simpleCallState;
        return 0;
    case SvcCallState_PR_unknown:
        cs->kind = CSTA_CALL_STATE_UNKNOWN;
        return 0;
    default:
        return -EBADMSG;    //  mandatory: a form from a newer edition is not usable
    }
}

//  ServicesPermitted <-> csta_services_permitted_t (five bit strings, all mandatory).
static int s_services_opt_to(const csta_services_permitted_t *sp, SvcServicesPermitted_t **out)
{
    if (!sp->present)
        return 0;
    CSTA_MAP_NEW(SvcServicesPermitted_t, out);
    SvcServicesPermitted_t *m = *out;
    int rc = csta_map_wire_bits_to(&sp->call_control_services, &m->callControlServices);
    if (!rc) rc = csta_map_wire_bits_to(&sp->call_associated_services, &m->callAssociatedServices);
    if (!rc) rc = csta_map_wire_bits_to(&sp->media_attachment_services, &m->mediaAttachmentServices);
    if (!rc) rc = csta_map_wire_bits_to(&sp->routeing_services, &m->routeingServices);
    if (!rc) rc = csta_map_wire_bits_to(&sp->voice_unit_services, &m->voiceUnitServices);
    return rc;
}

static int s_services_opt_from(const SvcServicesPermitted_t *in, csta_services_permitted_t *sp)
{
    memset(sp, 0, sizeof *sp);
    if (!in)
        return 0;
    sp->present = true;
    int rc = csta_map_wire_bits_from(&in->callControlServices, &sp->call_control_services);
    if (!rc) rc = csta_map_wire_bits_from(&in->callAssociatedServices, &sp->call_associated_services);
    if (!rc) rc = csta_map_wire_bits_from(&in->mediaAttachmentServices, &sp->media_attachment_services);
    if (!rc) rc = csta_map_wire_bits_from(&in->routeingServices, &sp->routeing_services);
    if (!rc) rc = csta_map_wire_bits_from(&in->voiceUnitServices, &sp->voice_unit_services);
    return rc;
}

//  SnapshotDeviceData <-> items: a call at the device each (connection, state, services).
static int s_snapshot_device_data_to(const csta_snapshot_device_data_t *d,
                                     SnapshotDeviceData_t *out)
{
    int rc = s_list_check(d->count, d->item);
    for (size_t i = 0; !rc && i < d->count; i++) {
        const csta_snapshot_device_item_t *it = &d->item[i];
        SnapshotDeviceResponseInfo_t *r = s_seq_add(&out->list, sizeof *r);
        if (!r)
            return -ENOMEM;
        rc = csta_map_conn_to(&it->connection_identifier, &r->connectionIdentifier);
        if (!rc) rc = csta_map_SubjectDeviceID_opt_to(&it->endpoint_device, &r->endpointDevice);
        if (!rc) rc = s_call_state_to(&it->local_call_state, &r->localCallState);
        if (!rc) rc = s_services_opt_to(&it->services_permitted, &r->servicesPermitted);
    }
    return rc;
}

static int s_snapshot_device_data_from(csta_apdu_t *a, const SnapshotDeviceData_t *in,
                                       csta_snapshot_device_data_t *d)
{
    csta_snapshot_device_item_t *items;
    int rc = s_arena_array(a, (size_t) in->list.count, sizeof *items, (void **) &items);
    if (rc)
        return rc;
    d->count = (size_t) in->list.count;
    d->item = items;
    for (size_t i = 0; !rc && i < d->count; i++) {
        const SnapshotDeviceResponseInfo_t *r = in->list.array[i];
        csta_snapshot_device_item_t *it = &items[i];
        rc = csta_map_conn_from(&r->connectionIdentifier, &it->connection_identifier);
        if (!rc && r->endpointDevice)
            rc = csta_map_SubjectDeviceID_from(r->endpointDevice, &it->endpoint_device);
        if (!rc) rc = s_call_state_from(&r->localCallState, &it->local_call_state);
        if (!rc) rc = s_services_opt_from(r->servicesPermitted, &it->services_permitted);
    }
    return rc;
}

//  SnapshotCallData <-> items: a device on the call each.
static int s_snapshot_call_data_to(const csta_snapshot_call_data_t *d, SnapshotCallData_t *out)
{
    int rc = s_list_check(d->count, d->item);
    for (size_t i = 0; !rc && i < d->count; i++) {
        const csta_snapshot_call_item_t *it = &d->item[i];
        SnapshotCallResponseInfo_t *r = s_seq_add(&out->list, sizeof *r);
        if (!r)
            return -ENOMEM;
        rc = csta_map_SubjectDeviceID_to(&it->device_on_call, &r->deviceOnCall);
        if (!rc) rc = csta_map_conn_opt_to(&it->call_identifier, &r->callIdentifier);
        if (!rc) rc = csta_map_lcs_opt_to(it->local_connection_state, &r->localConnectionState);
        if (!rc) rc = s_services_opt_to(&it->services_permitted, &r->servicesPermitted);
    }
    return rc;
}

static int s_snapshot_call_data_from(csta_apdu_t *a, const SnapshotCallData_t *in,
                                     csta_snapshot_call_data_t *d)
{
    csta_snapshot_call_item_t *items;
    int rc = s_arena_array(a, (size_t) in->list.count, sizeof *items, (void **) &items);
    if (rc)
        return rc;
    d->count = (size_t) in->list.count;
    d->item = items;
    for (size_t i = 0; !rc && i < d->count; i++) {
        const SnapshotCallResponseInfo_t *r = in->list.array[i];
        csta_snapshot_call_item_t *it = &items[i];
        rc = csta_map_SubjectDeviceID_from(&r->deviceOnCall, &it->device_on_call);
        if (!rc && r->callIdentifier)
            rc = csta_map_conn_from(r->callIdentifier, &it->call_identifier);
        it->local_connection_state = csta_map_lcs_opt_from(r->localConnectionState);
        if (!rc) rc = s_services_opt_from(r->servicesPermitted, &it->services_permitted);
    }
    return rc;
}

//  --- SnapshotDevice (74) ------------------------------------------------------------------------

static int s_snapshot_device_to(const csta_apdu_t *a, void **asn_out)
{
    SnapshotDeviceArgument_t *m;
    CSTA_MAP_NEW(SnapshotDeviceArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&a->svc.snapshot_device.snapshot_object, &m->snapshotObject);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_snapshot_device_from(const void *asn, csta_apdu_t *a)
{
    const SnapshotDeviceArgument_t *m = asn;
    int rc = csta_map_device_from(&m->snapshotObject, &a->svc.snapshot_device.snapshot_object);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_snapshot_device_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_snapshot_device_res_t *c = &a->svc.snapshot_device_res;
    SnapshotDeviceResult_t *m;
    CSTA_MAP_NEW(SnapshotDeviceResult_t, &m);
    *asn_out = m;
    int rc;
    if (c->is_xref) {
        m->crossRefIDorSnapshotData.present =
            SnapshotDeviceResult__crossRefIDorSnapshotData_PR_serviceCrossRefID;
        rc = csta_map_xref_to(&c->service_xref,
                              &m->crossRefIDorSnapshotData.choice.serviceCrossRefID);
    } else {
        m->crossRefIDorSnapshotData.present =
            SnapshotDeviceResult__crossRefIDorSnapshotData_PR_snapshotData;
        rc = s_snapshot_device_data_to(&c->snapshot_data,
                                       &m->crossRefIDorSnapshotData.choice.snapshotData);
    }
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_snapshot_device_res_from(const void *asn, csta_apdu_t *a)
{
    const SnapshotDeviceResult_t *m = asn;
    csta_snapshot_device_res_t *c = &a->svc.snapshot_device_res;
    int rc;
    switch (m->crossRefIDorSnapshotData.present) {
    case SnapshotDeviceResult__crossRefIDorSnapshotData_PR_serviceCrossRefID:
        c->is_xref = true;
        rc = csta_map_xref_from(&m->crossRefIDorSnapshotData.choice.serviceCrossRefID,
                                &c->service_xref);
        break;
    case SnapshotDeviceResult__crossRefIDorSnapshotData_PR_snapshotData:
        rc = s_snapshot_device_data_from(a, &m->crossRefIDorSnapshotData.choice.snapshotData,
                                         &c->snapshot_data);
        break;
    default:
        return -EBADMSG;
    }
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SnapshotCall (75) --------------------------------------------------------------------------

static int s_snapshot_call_to(const csta_apdu_t *a, void **asn_out)
{
    SnapshotCallArgument_t *m;
    CSTA_MAP_NEW(SnapshotCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&a->svc.snapshot_call.snapshot_object, &m->snapshotObject);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_snapshot_call_from(const void *asn, csta_apdu_t *a)
{
    const SnapshotCallArgument_t *m = asn;
    int rc = csta_map_conn_from(&m->snapshotObject, &a->svc.snapshot_call.snapshot_object);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_snapshot_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_snapshot_call_res_t *c = &a->svc.snapshot_call_res;
    SnapshotCallResult_t *m;
    CSTA_MAP_NEW(SnapshotCallResult_t, &m);
    *asn_out = m;
    int rc;
    if (c->is_xref) {
        m->crossRefIDorSnapshotData.present =
            SnapshotCallResult__crossRefIDorSnapshotData_PR_serviceCrossRefID;
        rc = csta_map_xref_to(&c->service_xref,
                              &m->crossRefIDorSnapshotData.choice.serviceCrossRefID);
    } else {
        m->crossRefIDorSnapshotData.present =
            SnapshotCallResult__crossRefIDorSnapshotData_PR_snapshotData;
        rc = s_snapshot_call_data_to(&c->snapshot_data,
                                     &m->crossRefIDorSnapshotData.choice.snapshotData);
    }
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_characteristics, &m->callCharacteristics);
    if (!rc) rc = csta_map_CallingDeviceID_opt_to(&c->calling_device, &m->callingDevice);
    if (!rc) rc = csta_map_CalledDeviceID_opt_to(&c->called_device, &m->calledDevice);
    if (!rc) rc = csta_map_AssociatedCallingDeviceID_opt_to(&c->associated_calling_device,
                                                            &m->associatedCallingDeviceID);
    if (!rc) rc = csta_map_AssociatedCalledDeviceID_opt_to(&c->associated_called_device,
                                                           &m->associatedCalledDeviceID);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator_data, &m->correlatorData);
    if (!rc) rc = csta_map_bytes_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = csta_map_bytes_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_snapshot_call_res_from(const void *asn, csta_apdu_t *a)
{
    const SnapshotCallResult_t *m = asn;
    csta_snapshot_call_res_t *c = &a->svc.snapshot_call_res;
    int rc;
    switch (m->crossRefIDorSnapshotData.present) {
    case SnapshotCallResult__crossRefIDorSnapshotData_PR_serviceCrossRefID:
        c->is_xref = true;
        rc = csta_map_xref_from(&m->crossRefIDorSnapshotData.choice.serviceCrossRefID,
                                &c->service_xref);
        break;
    case SnapshotCallResult__crossRefIDorSnapshotData_PR_snapshotData:
        rc = s_snapshot_call_data_from(a, &m->crossRefIDorSnapshotData.choice.snapshotData,
                                       &c->snapshot_data);
        break;
    default:
        return -EBADMSG;
    }
    if (!rc) rc = csta_map_wire_bits_from(m->callCharacteristics, &c->call_characteristics);
    if (!rc && m->callingDevice)
        rc = csta_map_CallingDeviceID_from(m->callingDevice, &c->calling_device);
    if (!rc && m->calledDevice)
        rc = csta_map_CalledDeviceID_from(m->calledDevice, &c->called_device);
    if (!rc && m->associatedCallingDeviceID)
        rc = csta_map_AssociatedCallingDeviceID_from(m->associatedCallingDeviceID,
                                                     &c->associated_calling_device);
    if (!rc && m->associatedCalledDeviceID)
        rc = csta_map_AssociatedCalledDeviceID_from(m->associatedCalledDeviceID,
                                                    &c->associated_called_device);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator_data);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SnapshotDeviceData (77) ------------------------------------------------------------------

static int s_snapshot_device_data_arg_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_snapshot_device_data_arg_t *c = &a->svc.snapshot_device_data;
    SnapshotDeviceDataArgument_t *m;
    CSTA_MAP_NEW(SnapshotDeviceDataArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&c->service_xref, &m->serviceCrossRefID);
    if (!rc) rc = csta_map_long_opt_to(c->segment_id, c->has_segment_id, &m->segmentID);
    m->lastSegment = c->last_segment;
    if (!rc) rc = s_snapshot_device_data_to(&c->snapshot_data, &m->snapshotData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_snapshot_device_data_arg_from(const void *asn, csta_apdu_t *a)
{
    const SnapshotDeviceDataArgument_t *m = asn;
    csta_snapshot_device_data_arg_t *c = &a->svc.snapshot_device_data;
    int rc = csta_map_xref_from(&m->serviceCrossRefID, &c->service_xref);
    csta_map_long_opt_from(m->segmentID, &c->has_segment_id, &c->segment_id);
    c->last_segment = m->lastSegment != 0;
    if (!rc) rc = s_snapshot_device_data_from(a, &m->snapshotData, &c->snapshot_data);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- Escape (51) -------------------------------------------------------------------------------

//  privateData travels in C as the element's complete encoding; here it is decoded into
//  CSTA-Common's CSTAPrivateData (string, or a Panasonic KME alternative kept as an open
//  type) and moved into the argument.
static int s_private_data_to(const csta_bytes_t *b, CSTAPrivateData_t *out)
{
    if (!b->data)
        return -EINVAL;     //  mandatory
    void *value = NULL;
    if (csta_codec_decode_type(&asn_DEF_CSTAPrivateData, b->data, b->len, &value))
        return -EINVAL;
    CSTAPrivateData_t *pd = value;
    if (pd->present == CSTAPrivateData_PR_NOTHING) {
        ASN_STRUCT_FREE(asn_DEF_CSTAPrivateData, pd);
        return -EINVAL;
    }
    *out = *pd;             //  the members' buffers move with the struct
    free(pd);
    return 0;
}

static int s_escape_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_escape_arg_t *c = &a->svc.escape;
    EscapeArgument_t *m;
    CSTA_MAP_NEW(EscapeArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_bytes_opt_to(&c->escape_register_id, &m->escapeRegisterID);
    if (!rc && (c->has_security || c->has_sequence_number || c->timestamp[0] ||
                c->security_info.data)) {
        m->security = calloc(1, sizeof *m->security);
        if (!m->security)
            return -ENOMEM;
        rc = csta_map_long_opt_to(c->sequence_number, c->has_sequence_number,
                                  &m->security->messageSequenceNumber);
        if (!rc) rc = csta_map_text_opt_to(c->timestamp, &m->security->timestamp);
        if (!rc) rc = csta_map_bytes_opt_to(&c->security_info, &m->security->securityInfo);
    }
    if (!rc) rc = s_private_data_to(&c->private_data, &m->privateData);
    return rc;
}

static int s_escape_from(const void *asn, csta_apdu_t *a)
{
    const EscapeArgument_t *m = asn;
    csta_escape_arg_t *c = &a->svc.escape;
    int rc = csta_map_bytes_opt_from(a, m->escapeRegisterID, &c->escape_register_id);
    if (!rc && m->security) {
        c->has_security = true;
        csta_map_long_opt_from(m->security->messageSequenceNumber, &c->has_sequence_number,
                        &c->sequence_number);
        rc = csta_map_text_opt_from(m->security->timestamp, c->timestamp, sizeof c->timestamp);
        if (!rc) rc = csta_map_bytes_opt_from(a, m->security->securityInfo, &c->security_info);
    }
    if (rc)
        return rc;
    //  An alternative CSTA-Common does not know decodes to NOTHING: its bytes are lost,
    //  so the message cannot be passed on faithfully.
    if (m->privateData.present == CSTAPrivateData_PR_NOTHING)
        return -EBADMSG;
    uint8_t *buf;
    size_t len;
    if (csta_codec_encode_type(&asn_DEF_CSTAPrivateData, &m->privateData, &buf, &len))
        return -EBADMSG;
    rc = csta_apdu_set_bytes(a, &c->private_data, buf, len);
    free(buf);
    return rc;
}

//  --- GetSwitchingFunctionDevices (204) ----------------------------------------------------------

static int s_get_sf_devices_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_get_switching_function_devices_arg_t *c = &a->svc.get_switching_function_devices;
    GetSwitchingFunctionDevicesArgument_t *m;
    CSTA_MAP_NEW(GetSwitchingFunctionDevicesArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_opt_to(&c->requested_device_id, &m->requestedDeviceID);
    if (!rc) rc = csta_map_long_opt_to(c->requested_device_category,
                                       c->has_requested_device_category,
                                       &m->requestedDeviceCategory);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_get_sf_devices_from(const void *asn, csta_apdu_t *a)
{
    const GetSwitchingFunctionDevicesArgument_t *m = asn;
    csta_get_switching_function_devices_arg_t *c = &a->svc.get_switching_function_devices;
    int rc = 0;
    if (m->requestedDeviceID)
        rc = csta_map_device_from(m->requestedDeviceID, &c->requested_device_id);
    csta_map_long_opt_from(m->requestedDeviceCategory, &c->has_requested_device_category,
                    &c->requested_device_category);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_get_sf_devices_res_to(const csta_apdu_t *a, void **asn_out)
{
    GetSwitchingFunctionDevicesResult_t *m;
    CSTA_MAP_NEW(GetSwitchingFunctionDevicesResult_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&a->svc.get_switching_function_devices_res.service_xref,
                              &m->serviceCrossRefID);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_get_sf_devices_res_from(const void *asn, csta_apdu_t *a)
{
    const GetSwitchingFunctionDevicesResult_t *m = asn;
    int rc = csta_map_xref_from(&m->serviceCrossRefID,
                                &a->svc.get_switching_function_devices_res.service_xref);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SwitchingFunctionDevices (205) ------------------------------------------------------------

//  DeviceList <-> items: device (with its name), category, type, attributes, model.
static int s_device_list_to(const csta_device_list_t *l, SvcDeviceList_t *out)
{
    int rc = s_list_check(l->count, l->item);
    for (size_t i = 0; !rc && i < l->count; i++) {
        const csta_device_list_item_t *it = &l->item[i];
        SvcDeviceListItem_t *r = s_seq_add(&out->list, sizeof *r);
        if (!r)
            return -ENOMEM;
        rc = csta_map_device_to(&it->device_id, &r->deviceID);
        if (!rc) rc = csta_map_long_opt_to(it->device_category, it->has_device_category,
                                           &r->deviceCategory);
        if (!rc) rc = csta_map_long_opt_to(it->named_device_types, it->has_named_device_types,
                                           &r->namedDeviceTypes);
        if (!rc) rc = csta_map_wire_bits_opt_to(&it->device_attributes, &r->deviceAttributes);
        if (!rc && it->has_device_model_name) {
            r->deviceModelName = calloc(1, sizeof *r->deviceModelName);
            rc = r->deviceModelName ? csta_map_text_to(it->device_model_name, r->deviceModelName)
                                    : -ENOMEM;
        }
        if (!rc) rc = csta_map_device_opt_to(&it->nid_group, &r->nidGroup);
    }
    return rc;
}

static int s_device_list_from(csta_apdu_t *a, const SvcDeviceList_t *in, csta_device_list_t *l)
{
    csta_device_list_item_t *items;
    int rc = s_arena_array(a, (size_t) in->list.count, sizeof *items, (void **) &items);
    if (rc)
        return rc;
    l->count = (size_t) in->list.count;
    l->item = items;
    for (size_t i = 0; !rc && i < l->count; i++) {
        const SvcDeviceListItem_t *r = in->list.array[i];
        csta_device_list_item_t *it = &items[i];
        rc = csta_map_device_from(&r->deviceID, &it->device_id);
        csta_map_long_opt_from(r->deviceCategory, &it->has_device_category, &it->device_category);
        csta_map_long_opt_from(r->namedDeviceTypes, &it->has_named_device_types,
                        &it->named_device_types);
        if (!rc) rc = csta_map_wire_bits_from(r->deviceAttributes, &it->device_attributes);
        if (!rc && r->deviceModelName) {
            it->has_device_model_name = true;
            rc = csta_map_text_from(r->deviceModelName, it->device_model_name,
                                    sizeof it->device_model_name);
        }
        if (!rc && r->nidGroup)
            rc = csta_map_device_from(r->nidGroup, &it->nid_group);
    }
    return rc;
}

static int s_sf_devices_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_switching_function_devices_arg_t *c = &a->svc.switching_function_devices;
    SwitchingFunctionDevicesArgument_t *m;
    CSTA_MAP_NEW(SwitchingFunctionDevicesArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&c->service_xref, &m->serviceCrossRefID);
    if (!rc) rc = csta_map_long_opt_to(c->segment_id, c->has_segment_id, &m->segmentID);
    m->lastSegment = c->last_segment;
    if (!rc) rc = s_device_list_to(&c->device_list, &m->deviceList);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_sf_devices_from(const void *asn, csta_apdu_t *a)
{
    const SwitchingFunctionDevicesArgument_t *m = asn;
    csta_switching_function_devices_arg_t *c = &a->svc.switching_function_devices;
    int rc = csta_map_xref_from(&m->serviceCrossRefID, &c->service_xref);
    csta_map_long_opt_from(m->segmentID, &c->has_segment_id, &c->segment_id);
    c->last_segment = m->lastSegment != 0;
    if (!rc) rc = s_device_list_from(a, &m->deviceList, &c->device_list);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SystemRegister (207), SystemRegisterAbort (208), SystemRegisterCancel (209) ----------------

static int s_system_register_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_system_register_arg_t *c = &a->svc.system_register;
    SystemRegisterArgument_t *m;
    CSTA_MAP_NEW(SystemRegisterArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_wire_bits_to(&c->request_types, &m->requestTypes);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->requested_status_filter, &m->requestedStatusFilter);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_system_register_from(const void *asn, csta_apdu_t *a)
{
    const SystemRegisterArgument_t *m = asn;
    csta_system_register_arg_t *c = &a->svc.system_register;
    int rc = csta_map_wire_bits_from(&m->requestTypes, &c->request_types);
    if (!rc) rc = csta_map_wire_bits_from(m->requestedStatusFilter, &c->requested_status_filter);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_system_register_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_system_register_res_t *c = &a->svc.system_register_res;
    SystemRegisterResult_t *m;
    CSTA_MAP_NEW(SystemRegisterResult_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&c->register_id, &m->sysStatRegisterID);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->actual_status_filter, &m->actualStatusFilter);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_system_register_res_from(const void *asn, csta_apdu_t *a)
{
    const SystemRegisterResult_t *m = asn;
    csta_system_register_res_t *c = &a->svc.system_register_res;
    int rc = csta_map_xref_from(&m->sysStatRegisterID, &c->register_id);
    if (!rc) rc = csta_map_wire_bits_from(m->actualStatusFilter, &c->actual_status_filter);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  Abort and Cancel have the same argument layout; each has its own asn1c type.
static int s_system_register_abort_to(const csta_apdu_t *a, void **asn_out)
{
    SystemRegisterAbortArgument_t *m;
    CSTA_MAP_NEW(SystemRegisterAbortArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&a->svc.system_register_abort.register_id, &m->sysStatRegisterID);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_system_register_abort_from(const void *asn, csta_apdu_t *a)
{
    const SystemRegisterAbortArgument_t *m = asn;
    int rc = csta_map_xref_from(&m->sysStatRegisterID, &a->svc.system_register_abort.register_id);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_system_register_cancel_to(const csta_apdu_t *a, void **asn_out)
{
    SystemRegisterCancelArgument_t *m;
    CSTA_MAP_NEW(SystemRegisterCancelArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&a->svc.system_register_cancel.register_id, &m->sysStatRegisterID);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_system_register_cancel_from(const void *asn, csta_apdu_t *a)
{
    const SystemRegisterCancelArgument_t *m = asn;
    int rc =
        csta_map_xref_from(&m->sysStatRegisterID, &a->svc.system_register_cancel.register_id);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- RequestSystemStatus (210) -----------------------------------------------------------------

static int s_request_system_status_to(const csta_apdu_t *a, void **asn_out)
{
    RequestSysStatArg_t *m;
    CSTA_MAP_NEW(RequestSysStatArg_t, &m);
    *asn_out = m;
    int rc = s_xref_opt_to(&a->svc.request_system_status.register_id, &m->sysStatRegisterID);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_request_system_status_from(const void *asn, csta_apdu_t *a)
{
    const RequestSysStatArg_t *m = asn;
    int rc = s_xref_opt_from(m->sysStatRegisterID, &a->svc.request_system_status.register_id);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_request_system_status_res_to(const csta_apdu_t *a, void **asn_out)
{
    RequestSysStatRes_t *m;
    CSTA_MAP_NEW(RequestSysStatRes_t, &m);
    *asn_out = m;
    m->systemStatus = a->svc.request_system_status_res.status;
    return csta_map_ext_opt_to(&a->ext, &m->extensions);
}

static int s_request_system_status_res_from(const void *asn, csta_apdu_t *a)
{
    const RequestSysStatRes_t *m = asn;
    a->svc.request_system_status_res.status = m->systemStatus;
    return csta_map_ext_opt_from(m->extensions, a);
}

//  --- SystemStatus (211) and Phase II SystemStatus (52) -------------------------------------------

//  SystemStatusArg fill and read, shared by opcodes 211 and 52.
static int s_system_status_fill(const csta_apdu_t *a, SystemStatusArgument_t *m)
{
    const csta_system_status_arg_t *c = &a->svc.system_status;
    int rc = s_xref_opt_to(&c->register_id, &m->sysStatRegisterID);
    m->systemStatus = c->status;
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_system_status_read(const SystemStatusArgument_t *m, csta_apdu_t *a)
{
    csta_system_status_arg_t *c = &a->svc.system_status;
    int rc = s_xref_opt_from(m->sysStatRegisterID, &c->register_id);
    c->status = m->systemStatus;
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_system_status_to(const csta_apdu_t *a, void **asn_out)
{
    SystemStatusArgument_t *m;
    CSTA_MAP_NEW(SystemStatusArgument_t, &m);
    *asn_out = m;
    return s_system_status_fill(a, m);
}

static int s_system_status_from(const void *asn, csta_apdu_t *a)
{
    return s_system_status_read(asn, a);
}

//  Opcode 52: the bare ENUMERATED (Alcatel OXE) or the Phase III SEQUENCE.
static int s_system_status_phase2_to(const csta_apdu_t *a, void **asn_out)
{
    SystemStatusPhase2Argument_t *m;
    CSTA_MAP_NEW(SystemStatusPhase2Argument_t, &m);
    *asn_out = m;
    if (!a->svc.system_status.phase2_bare) {
        m->present = SystemStatusPhase2Argument_PR_phase3;
        return s_system_status_fill(a, &m->choice.phase3);
    }
    //  The bare form has no room for a register id or extensions.
    if (a->svc.system_status.register_id.len || a->ext.present)
        return -EINVAL;
    m->present = SystemStatusPhase2Argument_PR_systemStatus;
    m->choice.systemStatus = a->svc.system_status.status;
    return 0;
}

static int s_system_status_phase2_from(const void *asn, csta_apdu_t *a)
{
    const SystemStatusPhase2Argument_t *m = asn;
    switch (m->present) {
    case SystemStatusPhase2Argument_PR_systemStatus:
        a->svc.system_status.phase2_bare = true;
        a->svc.system_status.status = m->choice.systemStatus;
        return 0;
    case SystemStatusPhase2Argument_PR_phase3:
        return s_system_status_read(&m->choice.phase3, a);
    default:
        return -EBADMSG;
    }
}

//  --- SwitchingFunctionDevicesChanged (213) ---------------------------------------------------------

static int s_sf_devices_changed_to(const csta_apdu_t *a, void **asn_out)
{
    SwFunctionDevicesChangedArg_t *m;
    CSTA_MAP_NEW(SwFunctionDevicesChangedArg_t, &m);
    *asn_out = m;
    int rc = s_xref_opt_to(&a->svc.switching_function_devices_changed.register_id,
                           &m->sysStatRegisterID);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_sf_devices_changed_from(const void *asn, csta_apdu_t *a)
{
    const SwFunctionDevicesChangedArg_t *m = asn;
    int rc = s_xref_opt_from(m->sysStatRegisterID,
                             &a->svc.switching_function_devices_changed.register_id);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SetDisplay (274) ------------------------------------------------------------------------

static int s_set_display_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_set_display_arg_t *c = &a->svc.set_display;
    SetDisplayArgument_t *m;
    CSTA_MAP_NEW(SetDisplayArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&c->device, &m->device);
    if (!rc) rc = csta_map_bytes_opt_to(&c->display, &m->display);
    if (!rc) rc = csta_map_long_opt_to(c->physical_base_row_number,
                                       c->has_physical_base_row_number,
                                       &m->physicalBaseRowNumber);
    if (!rc) rc = csta_map_long_opt_to(c->physical_base_column_number,
                                       c->has_physical_base_column_number,
                                       &m->physicalBaseColumnNumber);
    if (!rc) rc = csta_map_text_to(c->contents_of_display, &m->contentsOfDisplay);
    if (!rc) rc = csta_map_long_opt_to(c->offset, c->has_offset, &m->offset);
    if (!rc) rc = csta_map_long_opt_to(c->character_set, c->has_character_set, &m->characterSet);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_set_display_from(const void *asn, csta_apdu_t *a)
{
    const SetDisplayArgument_t *m = asn;
    csta_set_display_arg_t *c = &a->svc.set_display;
    int rc = csta_map_device_from(&m->device, &c->device);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->display, &c->display);
    csta_map_long_opt_from(m->physicalBaseRowNumber, &c->has_physical_base_row_number,
                    &c->physical_base_row_number);
    csta_map_long_opt_from(m->physicalBaseColumnNumber, &c->has_physical_base_column_number,
                    &c->physical_base_column_number);
    if (!rc) rc = csta_map_text_from(&m->contentsOfDisplay, c->contents_of_display,
                                     sizeof c->contents_of_display);
    csta_map_long_opt_from(m->offset, &c->has_offset, &c->offset);
    csta_map_long_opt_from(m->characterSet, &c->has_character_set, &c->character_set);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- GetDoNotDisturb (308), SetDoNotDisturb (316) -----------------------------------------------

static int s_get_dnd_to(const csta_apdu_t *a, void **asn_out)
{
    GetDoNotDisturbArgument_t *m;
    CSTA_MAP_NEW(GetDoNotDisturbArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&a->svc.get_do_not_disturb.device, &m->device);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_get_dnd_from(const void *asn, csta_apdu_t *a)
{
    const GetDoNotDisturbArgument_t *m = asn;
    int rc = csta_map_device_from(&m->device, &a->svc.get_do_not_disturb.device);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_get_dnd_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_get_do_not_disturb_res_t *c = &a->svc.get_do_not_disturb_res;
    GetDoNotDisturbResult_t *m;
    CSTA_MAP_NEW(GetDoNotDisturbResult_t, &m);
    *asn_out = m;
    m->doNotDisturbOn = c->do_not_disturb_on;
    int rc = csta_map_wire_bits_opt_to(&c->call_origination, &m->callOrigination);
    if (!rc && c->calling_device_list.present) {
        m->callingDeviceList = calloc(1, sizeof *m->callingDeviceList);
        rc = m->callingDeviceList
                 ? s_device_ids_to(&c->calling_device_list, &m->callingDeviceList->list)
                 : -ENOMEM;
    }
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_get_dnd_res_from(const void *asn, csta_apdu_t *a)
{
    const GetDoNotDisturbResult_t *m = asn;
    csta_get_do_not_disturb_res_t *c = &a->svc.get_do_not_disturb_res;
    c->do_not_disturb_on = m->doNotDisturbOn != 0;
    int rc = csta_map_wire_bits_from(m->callOrigination, &c->call_origination);
    if (!rc && m->callingDeviceList)
        rc = s_device_ids_from(a, &m->callingDeviceList->list, &c->calling_device_list);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_set_dnd_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_set_do_not_disturb_arg_t *c = &a->svc.set_do_not_disturb;
    SetDoNotDisturbArgument_t *m;
    CSTA_MAP_NEW(SetDoNotDisturbArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&c->device, &m->device);
    m->doNotDisturbOn = c->do_not_disturb_on;
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_origination, &m->callOrigination);
    if (!rc && c->calling_device_list.present) {
        m->callingDeviceList = calloc(1, sizeof *m->callingDeviceList);
        rc = m->callingDeviceList
                 ? s_device_ids_to(&c->calling_device_list, &m->callingDeviceList->list)
                 : -ENOMEM;
    }
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_set_dnd_from(const void *asn, csta_apdu_t *a)
{
    const SetDoNotDisturbArgument_t *m = asn;
    csta_set_do_not_disturb_arg_t *c = &a->svc.set_do_not_disturb;
    int rc = csta_map_device_from(&m->device, &c->device);
    c->do_not_disturb_on = m->doNotDisturbOn != 0;
    if (!rc) rc = csta_map_wire_bits_from(m->callOrigination, &c->call_origination);
    if (!rc && m->callingDeviceList)
        rc = s_device_ids_from(a, &m->callingDeviceList->list, &c->calling_device_list);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- GetForwarding (309), SetForwarding (317) ---------------------------------------------------

//  ForwardList (CSTA-Common) <-> csta_forward_item_t entries.
static int s_forward_list_to(const csta_forward_list_t *l, ForwardList_t *out)
{
    int rc = s_list_check(l->count, l->item);
    for (size_t i = 0; !rc && i < l->count; i++) {
        const csta_forward_item_t *it = &l->item[i];
        ForwardListItem_t *r = s_seq_add(&out->list, sizeof *r);
        if (!r)
            return -ENOMEM;
        rc = csta_map_long_opt_to(it->forwarding_type, it->has_forwarding_type,
                                  &r->forwardingType);
        r->forwardStatus = it->forward_status;
        if (!rc) rc = csta_map_device_opt_to(&it->forward_dn, &r->forwardDN);
        if (!rc) rc = csta_map_long_opt_to(it->forward_default, it->has_forward_default,
                                           &r->forwardDefault);
        if (!rc) rc = csta_map_long_opt_to(it->ring_duration, it->has_ring_duration,
                                           &r->ringDuration);
        if (!rc) rc = csta_map_long_opt_to(it->ring_count, it->has_ring_count, &r->ringCount);
    }
    return rc;
}

static int s_forward_list_from(csta_apdu_t *a, const ForwardList_t *in, csta_forward_list_t *l)
{
    csta_forward_item_t *items;
    int rc = s_arena_array(a, (size_t) in->list.count, sizeof *items, (void **) &items);
    if (rc)
        return rc;
    l->count = (size_t) in->list.count;
    l->item = items;
    for (size_t i = 0; !rc && i < l->count; i++) {
        const ForwardListItem_t *r = in->list.array[i];
        csta_forward_item_t *it = &items[i];
        csta_map_long_opt_from(r->forwardingType, &it->has_forwarding_type, &it->forwarding_type);
        it->forward_status = r->forwardStatus != 0;
        if (r->forwardDN)
            rc = csta_map_device_from(r->forwardDN, &it->forward_dn);
        csta_map_long_opt_from(r->forwardDefault, &it->has_forward_default, &it->forward_default);
        csta_map_long_opt_from(r->ringDuration, &it->has_ring_duration, &it->ring_duration);
        csta_map_long_opt_from(r->ringCount, &it->has_ring_count, &it->ring_count);
    }
    return rc;
}

static int s_get_forwarding_to(const csta_apdu_t *a, void **asn_out)
{
    GetForwardingArgument_t *m;
    CSTA_MAP_NEW(GetForwardingArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&a->svc.get_forwarding.device, &m->device);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_get_forwarding_from(const void *asn, csta_apdu_t *a)
{
    const GetForwardingArgument_t *m = asn;
    int rc = csta_map_device_from(&m->device, &a->svc.get_forwarding.device);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_get_forwarding_res_to(const csta_apdu_t *a, void **asn_out)
{
    GetForwardingResult_t *m;
    CSTA_MAP_NEW(GetForwardingResult_t, &m);
    *asn_out = m;
    int rc = s_forward_list_to(&a->svc.get_forwarding_res.forwarding_list, &m->forwardingList);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_get_forwarding_res_from(const void *asn, csta_apdu_t *a)
{
    const GetForwardingResult_t *m = asn;
    int rc = s_forward_list_from(a, &m->forwardingList, &a->svc.get_forwarding_res.forwarding_list);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_set_forwarding_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_set_forwarding_arg_t *c = &a->svc.set_forwarding;
    SetForwardingArgument_t *m;
    CSTA_MAP_NEW(SetForwardingArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&c->device, &m->device);
    if (!rc) rc = csta_map_long_opt_to(c->forwarding_type, c->has_forwarding_type,
                                       &m->forwardingType);
    m->activateForward = c->activate_forward;
    if (!rc) rc = csta_map_device_opt_to(&c->forward_dn, &m->forwardDN);
    if (!rc) rc = csta_map_long_opt_to(c->ring_count, c->has_ring_count, &m->ringCount);
    if (!rc) rc = csta_map_long_opt_to(c->ring_duration, c->has_ring_duration, &m->ringDuration);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_set_forwarding_from(const void *asn, csta_apdu_t *a)
{
    const SetForwardingArgument_t *m = asn;
    csta_set_forwarding_arg_t *c = &a->svc.set_forwarding;
    int rc = csta_map_device_from(&m->device, &c->device);
    csta_map_long_opt_from(m->forwardingType, &c->has_forwarding_type, &c->forwarding_type);
    c->activate_forward = m->activateForward != 0;
    if (!rc && m->forwardDN)
        rc = csta_map_device_from(m->forwardDN, &c->forward_dn);
    csta_map_long_opt_from(m->ringCount, &c->has_ring_count, &c->ring_count);
    csta_map_long_opt_from(m->ringDuration, &c->has_ring_duration, &c->ring_duration);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- CallDetailRecordsReport (361) -------------------------------------------------------------

//  ChargingInfo <-> csta_charging_info_t: charge units or currency, subtotal or total.
static int s_charging_to(const csta_charging_info_t *ci, SvcChargingInfo_t **out)
{
    if (!ci->present)
        return 0;
    CSTA_MAP_NEW(SvcChargingInfo_t, out);
    SvcChargingInfo_t *m = *out;
    m->typeOfChargingInfo = (long) ci->type_of_charging_info;
    if (ci->is_currency) {
        SvcCurrencyUnits_t *cu = &m->numberUnits.choice.numberOfCurrencyUnits;
        m->numberUnits.present = SvcNumberUnits_PR_numberOfCurrencyUnits;
        cu->currencyAmount = ci->currency_amount;
        cu->currencyMultiplier = ci->currency_multiplier;
        return s_bytes_to(&ci->currency_type, &cu->currencyType);
    }
    m->numberUnits.present = SvcNumberUnits_PR_numberOfChargeUnits;
    if (ci->unit_count > CSTA_CHARGE_UNITS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < ci->unit_count; i++) {
        SvcChargingUnits_t *u =
            s_seq_add(&m->numberUnits.choice.numberOfChargeUnits.list, sizeof *u);
        if (!u)
            return -ENOMEM;
        u->chargingUnits = ci->units[i].charging_units;
        int rc = csta_map_bytes_opt_to(&ci->units[i].type_of_units, &u->typeOfUnits);
        if (rc)
            return rc;
    }
    return 0;
}

//  A numberUnits form from a newer edition leaves the charging info absent (it is
//  optional) rather than failing the whole report.
static int s_charging_from(csta_apdu_t *a, const SvcChargingInfo_t *m, csta_charging_info_t *ci)
{
    memset(ci, 0, sizeof *ci);
    if (!m)
        return 0;
    ci->type_of_charging_info = (csta_charge_type_t) m->typeOfChargingInfo;
    switch (m->numberUnits.present) {
    case SvcNumberUnits_PR_numberOfCurrencyUnits: {
        const SvcCurrencyUnits_t *cu = &m->numberUnits.choice.numberOfCurrencyUnits;
        ci->present = true;
        ci->is_currency = true;
        ci->currency_amount = cu->currencyAmount;
        ci->currency_multiplier = (csta_currency_multiplier_t) cu->currencyMultiplier;
        return csta_map_bytes_from(a, &cu->currencyType, &ci->currency_type);
    }
    case SvcNumberUnits_PR_numberOfChargeUnits: {
        ci->present = true;
        const struct SvcNumberUnits__numberOfChargeUnits *l =
            &m->numberUnits.choice.numberOfChargeUnits;
        if (l->list.count > CSTA_CHARGE_UNITS_MAX)
            return -EMSGSIZE;
        for (int i = 0; i < l->list.count; i++) {
            ci->units[i].charging_units = l->list.array[i]->chargingUnits;
            int rc = csta_map_bytes_opt_from(a, l->list.array[i]->typeOfUnits,
                                             &ci->units[i].type_of_units);
            if (rc)
                return rc;
            ci->unit_count++;
        }
        return 0;
    }
    default:
        return 0;
    }
}

//  One CDRInformationItem <-> csta_cdr_record_t, field by field in the standard's order.
static int s_cdr_item_to(const csta_cdr_record_t *it, CDRInformationItem_t *r)
{
    int rc = csta_map_long_opt_to(it->record_number, it->has_record_number, &r->recordNumber);
    if (!rc) rc = csta_map_text_to(it->record_creation_time, &r->recordCreationTime);
    if (!rc) rc = csta_map_CallingDeviceID_opt_to(&it->calling_device, &r->callingDevice);
    if (!rc) rc = csta_map_CalledDeviceID_opt_to(&it->called_device, &r->calledDevice);
    if (!rc) rc = csta_map_AssociatedCallingDeviceID_opt_to(&it->associated_calling_device,
                                                            &r->associatedCallingDevice);
    if (!rc) rc = csta_map_AssociatedCalledDeviceID_opt_to(&it->associated_called_device,
                                                           &r->associatedCalledDevice);
    if (!rc) rc = csta_map_NetworkCallingDeviceID_opt_to(&it->network_calling_device,
                                                         &r->networkCallingDevice);
    if (!rc) rc = csta_map_NetworkCalledDeviceID_opt_to(&it->network_called_device,
                                                        &r->networkCalledDevice);
    if (!rc) rc = csta_map_wire_bits_opt_to(&it->call_characteristics, &r->callCharacteristics);
    if (!rc && it->charged_device.kind != CSTA_DEV_ABSENT) {
        r->chargedDevice = calloc(1, sizeof *r->chargedDevice);
        if (!r->chargedDevice)
            return -ENOMEM;
        ChargedDevice_t *cd = r->chargedDevice;
        cd->present = it->charged_device_is_operator ? ChargedDevice_PR_operator
                                                     : ChargedDevice_PR_nonOperator;
        rc = csta_map_device_to(&it->charged_device, it->charged_device_is_operator
                                                         ? &cd->choice.operator
                                                         : &cd->choice.nonOperator);
    }
    if (!rc) rc = csta_map_conn_opt_to(&it->recorded_call, &r->recordedCall);
    if (!rc && it->node_number.present) {
        r->nodeNumber = calloc(1, sizeof *r->nodeNumber);
        if (!r->nodeNumber)
            return -ENOMEM;
        long **area[3] = {&r->nodeNumber->area0, &r->nodeNumber->area1, &r->nodeNumber->area2};
        for (int i = 0; !rc && i < 3; i++)
            rc = csta_map_long_opt_to(it->node_number.area[i], it->node_number.has_area[i],
                                      area[i]);
    }
    if (!rc) rc = csta_map_long_opt_to(it->tariff_table, it->has_tariff_table, &r->tariffTable);
    if (!rc) rc = csta_map_text_opt_to(it->connection_start, &r->connectionStart);
    if (!rc) rc = csta_map_text_opt_to(it->connection_end, &r->connectionEnd);
    if (!rc) rc = csta_map_long_opt_to(it->connection_duration, it->has_connection_duration,
                                       &r->connectionDuration);
    if (!rc) rc = csta_map_bytes_opt_to(&it->access_code, &r->accessCode);
    if (!rc) rc = csta_map_long_opt_to(it->carrier, it->has_carrier, &r->carrier);
    if (!rc) rc = csta_map_long_opt_to(it->selected_route, it->has_selected_route,
                                       &r->selectedRoute);
    if (!rc) rc = csta_map_long_opt_to(it->billing_id, it->has_billing_id, &r->billingID);
    if (!rc) rc = s_charging_to(&it->charging_info, &r->chargingInfo);
    if (!rc) rc = csta_map_wire_bits_opt_to(&it->suppl_service_info, &r->supplServiceInfo);
    if (!rc) rc = csta_map_long_opt_to(it->reason_for_term, it->has_reason_for_term,
                                       &r->reasonForTerm);
    if (!rc) rc = csta_map_bytes_opt_to(&it->auth_code, &r->authCode);
    if (!rc) rc = csta_map_bytes_opt_to(&it->account_info, &r->accountInfo);
    if (!rc) rc = csta_map_long_opt_to(it->device_category, it->has_device_category,
                                       &r->deviceCategory);
    if (!rc) rc = csta_map_long_opt_to(it->named_device_types, it->has_named_device_types,
                                       &r->namedDeviceTypes);
    if (!rc) rc = csta_map_device_opt_to(&it->operator_device, &r->operatorDevice);
    return rc;
}

static int s_cdr_item_from(csta_apdu_t *a, const CDRInformationItem_t *r, csta_cdr_record_t *it)
{
    csta_map_long_opt_from(r->recordNumber, &it->has_record_number, &it->record_number);
    int rc = csta_map_text_from(&r->recordCreationTime, it->record_creation_time,
                                sizeof it->record_creation_time);
    if (!rc && r->callingDevice)
        rc = csta_map_CallingDeviceID_from(r->callingDevice, &it->calling_device);
    if (!rc && r->calledDevice)
        rc = csta_map_CalledDeviceID_from(r->calledDevice, &it->called_device);
    if (!rc && r->associatedCallingDevice)
        rc = csta_map_AssociatedCallingDeviceID_from(r->associatedCallingDevice,
                                                     &it->associated_calling_device);
    if (!rc && r->associatedCalledDevice)
        rc = csta_map_AssociatedCalledDeviceID_from(r->associatedCalledDevice,
                                                    &it->associated_called_device);
    if (!rc && r->networkCallingDevice)
        rc = csta_map_NetworkCallingDeviceID_from(r->networkCallingDevice,
                                                  &it->network_calling_device);
    if (!rc && r->networkCalledDevice)
        rc = csta_map_NetworkCalledDeviceID_from(r->networkCalledDevice,
                                                 &it->network_called_device);
    if (!rc) rc = csta_map_wire_bits_from(r->callCharacteristics, &it->call_characteristics);
    if (!rc && r->chargedDevice) {
        //  A chargedDevice form from a newer edition leaves the field absent.
        if (r->chargedDevice->present == ChargedDevice_PR_operator) {
            it->charged_device_is_operator = true;
            rc = csta_map_device_from(&r->chargedDevice->choice.operator, &it->charged_device);
        } else if (r->chargedDevice->present == ChargedDevice_PR_nonOperator) {
            rc = csta_map_device_from(&r->chargedDevice->choice.nonOperator,
                                      &it->charged_device);
        }
    }
    if (!rc && r->recordedCall)
        rc = csta_map_conn_from(r->recordedCall, &it->recorded_call);
    if (r->nodeNumber) {
        const long *area[3] = {r->nodeNumber->area0, r->nodeNumber->area1,
                               r->nodeNumber->area2};
        it->node_number.present = true;
        for (int i = 0; i < 3; i++)
            csta_map_long_opt_from(area[i], &it->node_number.has_area[i], &it->node_number.area[i]);
    }
    csta_map_long_opt_from(r->tariffTable, &it->has_tariff_table, &it->tariff_table);
    if (!rc) rc = csta_map_text_opt_from(r->connectionStart, it->connection_start,
                                  sizeof it->connection_start);
    if (!rc) rc = csta_map_text_opt_from(r->connectionEnd, it->connection_end,
                                  sizeof it->connection_end);
    csta_map_long_opt_from(r->connectionDuration, &it->has_connection_duration,
                    &it->connection_duration);
    if (!rc) rc = csta_map_bytes_opt_from(a, r->accessCode, &it->access_code);
    csta_map_long_opt_from(r->carrier, &it->has_carrier, &it->carrier);
    csta_map_long_opt_from(r->selectedRoute, &it->has_selected_route, &it->selected_route);
    csta_map_long_opt_from(r->billingID, &it->has_billing_id, &it->billing_id);
    if (!rc) rc = s_charging_from(a, r->chargingInfo, &it->charging_info);
    if (!rc) rc = csta_map_wire_bits_from(r->supplServiceInfo, &it->suppl_service_info);
    csta_map_long_opt_from(r->reasonForTerm, &it->has_reason_for_term, &it->reason_for_term);
    if (!rc) rc = csta_map_bytes_opt_from(a, r->authCode, &it->auth_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, r->accountInfo, &it->account_info);
    csta_map_long_opt_from(r->deviceCategory, &it->has_device_category, &it->device_category);
    csta_map_long_opt_from(r->namedDeviceTypes, &it->has_named_device_types, &it->named_device_types);
    if (!rc && r->operatorDevice)
        rc = csta_map_device_from(r->operatorDevice, &it->operator_device);
    return rc;
}

static int s_cdr_report_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_call_detail_records_report_arg_t *c = &a->svc.call_detail_records_report;
    CDRReportArgument_t *m;
    CSTA_MAP_NEW(CDRReportArgument_t, &m);
    *asn_out = m;
    int rc = s_bytes_to(&c->cdr_xref, &m->cdrCrossRefID);
    m->numberOfRecordsSent = c->number_of_records_sent;
    if (!rc) rc = s_list_check(c->cdr_info.count, c->cdr_info.item);
    for (size_t i = 0; !rc && i < c->cdr_info.count; i++) {
        CDRInformationItem_t *r = s_seq_add(&m->cdrInfo.list, sizeof *r);
        rc = r ? s_cdr_item_to(&c->cdr_info.item[i], r) : -ENOMEM;
    }
    if (!rc) rc = csta_map_bool_opt_to(c->last_stored_cdr_report_sent,
                                c->has_last_stored_cdr_report_sent, &m->lastStoredCDRReportSent);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_cdr_report_from(const void *asn, csta_apdu_t *a)
{
    const CDRReportArgument_t *m = asn;
    csta_call_detail_records_report_arg_t *c = &a->svc.call_detail_records_report;
    int rc = csta_map_bytes_from(a, &m->cdrCrossRefID, &c->cdr_xref);
    c->number_of_records_sent = m->numberOfRecordsSent;
    csta_cdr_record_t *items = NULL;
    //  The standard bounds a report to 128 records; a record is large in C (devices).
    if (!rc && m->cdrInfo.list.count > CSTA_CDR_RECORDS_MAX)
        rc = -EMSGSIZE;
    if (!rc) rc = s_arena_array(a, (size_t) m->cdrInfo.list.count, sizeof *items,
                                (void **) &items);
    if (rc)
        return rc;
    c->cdr_info.count = (size_t) m->cdrInfo.list.count;
    c->cdr_info.item = items;
    for (size_t i = 0; !rc && i < c->cdr_info.count; i++)
        rc = s_cdr_item_from(a, m->cdrInfo.list.array[i], &items[i]);
    if (m->lastStoredCDRReportSent) {
        c->has_last_stored_cdr_report_sent = true;
        c->last_stored_cdr_report_sent = *m->lastStoredCDRReportSent != 0;
    }
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- Start/StopCallDetailRecordsTransmission (363, 364) ------------------------------------------

static int s_start_cdr_to(const csta_apdu_t *a, void **asn_out)
{
    StartCDRTransmissionArgument_t *m;
    CSTA_MAP_NEW(StartCDRTransmissionArgument_t, &m);
    *asn_out = m;
    m->transferMode = a->svc.start_call_detail_records_transmission.transfer_mode;
    return csta_map_ext_opt_to(&a->ext, &m->extensions);
}

static int s_start_cdr_from(const void *asn, csta_apdu_t *a)
{
    const StartCDRTransmissionArgument_t *m = asn;
    a->svc.start_call_detail_records_transmission.transfer_mode = m->transferMode;
    return csta_map_ext_opt_from(m->extensions, a);
}

static int s_start_cdr_res_to(const csta_apdu_t *a, void **asn_out)
{
    StartCDRTransmissionResult_t *m;
    CSTA_MAP_NEW(StartCDRTransmissionResult_t, &m);
    *asn_out = m;
    int rc = s_bytes_to(&a->svc.start_call_detail_records_transmission_res.cdr_xref,
                               &m->cdrCrossRefID);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_start_cdr_res_from(const void *asn, csta_apdu_t *a)
{
    const StartCDRTransmissionResult_t *m = asn;
    int rc = csta_map_bytes_from(a, &m->cdrCrossRefID,
                                 &a->svc.start_call_detail_records_transmission_res.cdr_xref);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_stop_cdr_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_stop_cdr_transmission_arg_t *c = &a->svc.stop_call_detail_records_transmission;
    StopCDRTransmissionArgument_t *m;
    CSTA_MAP_NEW(StopCDRTransmissionArgument_t, &m);
    *asn_out = m;
    int rc = s_bytes_to(&c->cdr_xref, &m->cdrCrossRefID);
    if (!rc) rc = csta_map_long_opt_to(c->cdr_term_reason, c->has_cdr_term_reason,
                                       &m->cdrTermReason);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_stop_cdr_from(const void *asn, csta_apdu_t *a)
{
    const StopCDRTransmissionArgument_t *m = asn;
    csta_stop_cdr_transmission_arg_t *c = &a->svc.stop_call_detail_records_transmission;
    int rc = csta_map_bytes_from(a, &m->cdrCrossRefID, &c->cdr_xref);
    csta_map_long_opt_from(m->cdrTermReason, &c->has_cdr_term_reason, &c->cdr_term_reason);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- Operation table -----------------------------------------------------------------------------
//  A NULL result type with res_no_data false: the operation has no RESULT.  77 and 208 are
//  "ALWAYS RESPONDS FALSE"; 205 is acknowledged by a ReturnResult without result.

#define S_OP(code, name, arg, to, from, res, res_to, res_from, no_data)                        \
    {code, name, &asn_DEF_##arg, to, from, res, res_to, res_from, no_data}

const csta_op_map_t csta_service_ops[] = {
    S_OP(CSTA_OP_ESCAPE, "Escape", EscapeArgument, s_escape_to, s_escape_from,
         NULL, NULL, NULL, true),
    S_OP(CSTA_OP_SYSTEM_STATUS_PHASE2, "SystemStatusPhase2", SystemStatusPhase2Argument,
         s_system_status_phase2_to, s_system_status_phase2_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_MONITOR_START, "MonitorStart", MonitorStartArgument, s_monitor_start_to,
         s_monitor_start_from, &asn_DEF_MonitorStartResult, s_monitor_start_res_to,
         s_monitor_start_res_from, false),
    S_OP(CSTA_OP_CHANGE_MONITOR_FILTER, "ChangeMonitorFilter", ChangeMonitorFilterArgument,
         s_change_monitor_filter_to, s_change_monitor_filter_from,
         &asn_DEF_ChangeMonitorFilterResult, s_change_monitor_filter_res_to,
         s_change_monitor_filter_res_from, false),
    S_OP(CSTA_OP_MONITOR_STOP, "MonitorStop", MonitorStopArgument, s_monitor_stop_to,
         s_monitor_stop_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_SNAPSHOT_DEVICE, "SnapshotDevice", SnapshotDeviceArgument,
         s_snapshot_device_to, s_snapshot_device_from, &asn_DEF_SnapshotDeviceResult,
         s_snapshot_device_res_to, s_snapshot_device_res_from, false),
    S_OP(CSTA_OP_SNAPSHOT_CALL, "SnapshotCall", SnapshotCallArgument, s_snapshot_call_to,
         s_snapshot_call_from, &asn_DEF_SnapshotCallResult, s_snapshot_call_res_to,
         s_snapshot_call_res_from, false),
    S_OP(CSTA_OP_SNAPSHOT_DEVICE_DATA, "SnapshotDeviceData", SnapshotDeviceDataArgument,
         s_snapshot_device_data_arg_to, s_snapshot_device_data_arg_from, NULL, NULL, NULL,
         false),
    S_OP(CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES, "GetSwitchingFunctionDevices",
         GetSwitchingFunctionDevicesArgument, s_get_sf_devices_to, s_get_sf_devices_from,
         &asn_DEF_GetSwitchingFunctionDevicesResult, s_get_sf_devices_res_to,
         s_get_sf_devices_res_from, false),
    S_OP(CSTA_OP_SWITCHING_FUNCTION_DEVICES, "SwitchingFunctionDevices",
         SwitchingFunctionDevicesArgument, s_sf_devices_to, s_sf_devices_from, NULL, NULL, NULL,
         false),
    S_OP(CSTA_OP_SYSTEM_REGISTER, "SystemRegister", SystemRegisterArgument,
         s_system_register_to, s_system_register_from, &asn_DEF_SystemRegisterResult,
         s_system_register_res_to, s_system_register_res_from, false),
    S_OP(CSTA_OP_SYSTEM_REGISTER_ABORT, "SystemRegisterAbort", SystemRegisterAbortArgument,
         s_system_register_abort_to, s_system_register_abort_from, NULL, NULL, NULL, false),
    S_OP(CSTA_OP_SYSTEM_REGISTER_CANCEL, "SystemRegisterCancel", SystemRegisterCancelArgument,
         s_system_register_cancel_to, s_system_register_cancel_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_REQUEST_SYSTEM_STATUS, "RequestSystemStatus", RequestSysStatArg,
         s_request_system_status_to, s_request_system_status_from, &asn_DEF_RequestSysStatRes,
         s_request_system_status_res_to, s_request_system_status_res_from, false),
    S_OP(CSTA_OP_SYSTEM_STATUS, "SystemStatus", SystemStatusArgument, s_system_status_to,
         s_system_status_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_SWITCHING_FUNCTION_DEVICES_CHANGED, "SwitchingFunctionDevicesChanged",
         SwFunctionDevicesChangedArg, s_sf_devices_changed_to, s_sf_devices_changed_from, NULL,
         NULL, NULL, true),
    S_OP(CSTA_OP_SET_DISPLAY, "SetDisplay", SetDisplayArgument, s_set_display_to,
         s_set_display_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_GET_DO_NOT_DISTURB, "GetDoNotDisturb", GetDoNotDisturbArgument, s_get_dnd_to,
         s_get_dnd_from, &asn_DEF_GetDoNotDisturbResult, s_get_dnd_res_to, s_get_dnd_res_from,
         false),
    S_OP(CSTA_OP_GET_FORWARDING, "GetForwarding", GetForwardingArgument, s_get_forwarding_to,
         s_get_forwarding_from, &asn_DEF_GetForwardingResult, s_get_forwarding_res_to,
         s_get_forwarding_res_from, false),
    S_OP(CSTA_OP_SET_DO_NOT_DISTURB, "SetDoNotDisturb", SetDoNotDisturbArgument, s_set_dnd_to,
         s_set_dnd_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_SET_FORWARDING, "SetForwarding", SetForwardingArgument, s_set_forwarding_to,
         s_set_forwarding_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_CDR_REPORT, "CallDetailRecordsReport", CDRReportArgument, s_cdr_report_to,
         s_cdr_report_from, NULL, NULL, NULL, true),
    S_OP(CSTA_OP_START_CDR, "StartCallDetailRecordsTransmission", StartCDRTransmissionArgument,
         s_start_cdr_to, s_start_cdr_from, &asn_DEF_StartCDRTransmissionResult,
         s_start_cdr_res_to, s_start_cdr_res_from, false),
    S_OP(CSTA_OP_STOP_CDR, "StopCallDetailRecordsTransmission", StopCDRTransmissionArgument,
         s_stop_cdr_to, s_stop_cdr_from, NULL, NULL, NULL, true),
};
const size_t csta_service_ops_count = sizeof csta_service_ops / sizeof csta_service_ops[0];
