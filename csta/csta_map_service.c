//  csta_map_service: asn1c <-> C mapping of the non-call services (csta_service.h).
#include "csta_map.h"

#include "MonitorFilter.h"
#include "MonitorObject.h"
#include "MonitorStartArgument.h"
#include "MonitorStartResult.h"
#include "MonitorStopArgument.h"
#include "SystemStatusArgument.h"

//  --- MonitorFilter ---------------------------------------------------------------------------

//  Filter element order in csta_monitor_filter_t and the [n] tag of each.
enum { S_FILTER_COUNT = 8 };
static const int s_filter_tag[S_FILTER_COUNT] = {0, 6, 7, 8, 9, 3, 5, 4};

static uint32_t *s_filter_field(csta_monitor_filter_t *f, int i)
{
    uint32_t *fields[S_FILTER_COUNT] = {&f->call_control, &f->call_associated,
                                        &f->media_attachment, &f->physical_device_feature,
                                        &f->logical_device_feature, &f->maintenance,
                                        &f->voice_unit, &f->private_filter};
    return fields[i];
}

static BIT_STRING_t **s_filter_asn(MonitorFilter_t *m, int i)
{
    BIT_STRING_t **fields[S_FILTER_COUNT] = {&m->callControl, &m->callAssociated,
                                             &m->mediaAttachment, &m->physicalDeviceFeature,
                                             &m->logicalDeviceFeature, &m->maintenance,
                                             &m->voiceUnit, &m->private};
    return fields[i];
}

//  A filter element is encoded when its bits are set or when `sent` says the peer sent
//  it (HiPath sends all eight all-zero); all-zero elements otherwise stay out, as DER's
//  DEFAULT {} rule wants.
static int s_filter_to(const csta_monitor_filter_t *f, MonitorFilter_t **out)
{
    if (!f->present)
        return 0;
    CSTA_MAP_NEW(MonitorFilter_t, out);
    csta_monitor_filter_t copy = *f;
    for (int i = 0; i < S_FILTER_COUNT; i++) {
        uint32_t bits = *s_filter_field(&copy, i);
        if (!bits && !(f->sent & (1u << s_filter_tag[i])))
            continue;
        BIT_STRING_t **bs = s_filter_asn(*out, i);
        *bs = calloc(1, sizeof(BIT_STRING_t));
        if (!*bs)
            return -ENOMEM;
        int rc = csta_map_bits_to(bits, f->wire_octets[i], *bs);
        if (rc)
            return rc;
        if (f->wire_octets[i] && (*bs)->size == f->wire_octets[i])
            (*bs)->bits_unused = f->wire_unused[i];
        else if (!bits)
            (*bs)->size = 0;    //  all-zero: the empty string, 80 01 00
    }
    return 0;
}

static void s_filter_from(MonitorFilter_t *m, csta_monitor_filter_t *f)
{
    memset(f, 0, sizeof *f);
    if (!m)
        return;
    f->present = true;
    for (int i = 0; i < S_FILTER_COUNT; i++) {
        BIT_STRING_t *bs = *s_filter_asn(m, i);
        if (!bs)
            continue;
        f->sent |= (uint16_t) (1u << s_filter_tag[i]);
        *s_filter_field(f, i) = csta_map_bits_from(bs);
        f->wire_octets[i] = (uint8_t) (bs->size > 8 ? 8 : bs->size);
        f->wire_unused[i] = (uint8_t) bs->bits_unused;
    }
}

//  --- MonitorStart (71) ------------------------------------------------------------------------

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
    if (!rc) rc = s_filter_to(&c->filter, &m->requestedMonitorFilter);
    if (!rc) rc = csta_map_long_opt_to(c->monitor_type, c->has_monitor_type, &m->monitorType);
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
    if (m->monitorType) {
        c->has_monitor_type = true;
        c->monitor_type = *m->monitorType;
    }
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
    if (!rc) rc = s_filter_to(&c->filter, &m->actualMonitorFilter);
    if (!rc && c->has_monitor_existing_calls) {
        m->monitorExistingCalls = calloc(1, sizeof(BOOLEAN_t));
        if (!m->monitorExistingCalls)
            return -ENOMEM;
        *m->monitorExistingCalls = c->monitor_existing_calls;
    }
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_monitor_start_res_from(const void *asn, csta_apdu_t *a)
{
    const MonitorStartResult_t *m = asn;
    csta_monitor_start_res_t *c = &a->svc.monitor_start_res;
    int rc = csta_map_xref_from(&m->crossRefIdentifier, &c->xref);
    s_filter_from(m->actualMonitorFilter, &c->filter);
    if (m->monitorExistingCalls) {
        c->has_monitor_existing_calls = true;
        c->monitor_existing_calls = *m->monitorExistingCalls != 0;
    }
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
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

//  --- SystemStatus (211) ------------------------------------------------------------------------

static int s_system_status_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_system_status_arg_t *c = &a->svc.system_status;
    SystemStatusArgument_t *m;
    CSTA_MAP_NEW(SystemStatusArgument_t, &m);
    *asn_out = m;
    int rc = 0;
    if (c->register_id.len) {
        m->sysStatRegisterID = calloc(1, sizeof(OCTET_STRING_t));
        rc = m->sysStatRegisterID ? csta_map_xref_to(&c->register_id, m->sysStatRegisterID)
                                  : -ENOMEM;
    }
    m->systemStatus = c->status;
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_system_status_from(const void *asn, csta_apdu_t *a)
{
    const SystemStatusArgument_t *m = asn;
    csta_system_status_arg_t *c = &a->svc.system_status;
    int rc = 0;
    if (m->sysStatRegisterID)
        rc = csta_map_xref_from(m->sysStatRegisterID, &c->register_id);
    c->status = m->systemStatus;
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

const csta_op_map_t csta_service_ops[] = {
    {CSTA_OP_MONITOR_START, "MonitorStart", &asn_DEF_MonitorStartArgument, s_monitor_start_to,
     s_monitor_start_from, &asn_DEF_MonitorStartResult, s_monitor_start_res_to,
     s_monitor_start_res_from, false},
    {CSTA_OP_MONITOR_STOP, "MonitorStop", &asn_DEF_MonitorStopArgument, s_monitor_stop_to,
     s_monitor_stop_from, NULL, NULL, NULL, true},
    {CSTA_OP_SYSTEM_STATUS, "SystemStatus", &asn_DEF_SystemStatusArgument, s_system_status_to,
     s_system_status_from, NULL, NULL, NULL, true},
};
const size_t csta_service_ops_count = sizeof csta_service_ops / sizeof csta_service_ops[0];
