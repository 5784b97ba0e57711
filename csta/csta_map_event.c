//  csta_map_event: asn1c <-> C mapping of CSTAEventReport (opcode 21) and its events
//  (csta_event.h).  The report has no result ("ALWAYS RESPONDS FALSE").
#include "csta_map.h"

#include "CSTAEventReportArgument.h"
#include "CallControlEvents.h"
#include "DeliveredEvent.h"
#include "EventSpecificInfo.h"

//  --- Delivered ---------------------------------------------------------------------------------

static int s_delivered_to(const csta_delivered_t *e, const csta_apdu_t *a, DeliveredEvent_t *m)
{
    int rc = csta_map_conn_to(&e->connection, &m->connection);
    if (!rc) rc = csta_map_SubjectDeviceID_to(&e->alerting, &m->alertingDevice);
    if (!rc) rc = csta_map_CallingDeviceID_to(&e->calling, &m->callingDevice);
    if (!rc) rc = csta_map_CalledDeviceID_to(&e->called, &m->calledDevice);
    if (!rc) rc = csta_map_RedirectionDeviceID_to(&e->last_redirection, &m->lastRedirectionDevice);
    if (!rc) rc = csta_map_conn_opt_to(&e->originating_nid, &m->originatingNIDConnection);
    if (!rc) rc = csta_map_lcs_opt_to(e->local_state, &m->localConnectionInfo);
    if (!rc) rc = csta_map_bytes_opt_to(&e->correlator, &m->correlatorData);
    if (!rc) rc = csta_map_bytes_opt_to(&e->user_data, (OCTET_STRING_t **) &m->userData);
    m->cause = e->cause;
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_delivered_from(const DeliveredEvent_t *m, csta_apdu_t *a)
{
    csta_delivered_t *e = &a->event.delivered;
    int rc = csta_map_conn_from(&m->connection, &e->connection);
    if (!rc) rc = csta_map_SubjectDeviceID_from(&m->alertingDevice, &e->alerting);
    if (!rc) rc = csta_map_CallingDeviceID_from(&m->callingDevice, &e->calling);
    if (!rc) rc = csta_map_CalledDeviceID_from(&m->calledDevice, &e->called);
    if (!rc) rc = csta_map_RedirectionDeviceID_from(&m->lastRedirectionDevice, &e->last_redirection);
    if (!rc && m->originatingNIDConnection)
        rc = csta_map_conn_from(m->originatingNIDConnection, &e->originating_nid);
    e->local_state = csta_map_lcs_opt_from(m->localConnectionInfo);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &e->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &e->user_data);
    e->cause = (int) m->cause;
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- The report --------------------------------------------------------------------------------

static int s_call_control_to(const csta_apdu_t *a, CallControlEvents_t *m)
{
    switch (a->event.type) {
    case CSTA_EV_DELIVERED:
        m->present = CallControlEvents_PR_delivered;
        return s_delivered_to(&a->event.delivered, a, &m->choice.delivered);
    default:
        return -EINVAL;
    }
}

static int s_call_control_from(const CallControlEvents_t *m, csta_apdu_t *a)
{
    switch (m->present) {
    case CallControlEvents_PR_delivered:
        a->event.type = CSTA_EV_DELIVERED;
        return s_delivered_from(&m->choice.delivered, a);
    default:
        return 0;   //  an event ctim does not model: type stays CSTA_EV_NONE
    }
}

static int s_event_report_to(const csta_apdu_t *a, void **asn_out)
{
    CSTAEventReportArgument_t *m;
    CSTA_MAP_NEW(CSTAEventReportArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&a->event.xref, &m->crossRefIdentifier);
    if (rc)
        return rc;
    switch (CSTA_EV_CATEGORY(a->event.type)) {
    case 0:
        m->eventSpecificInfo.present = EventSpecificInfo_PR_callControlEvents;
        return s_call_control_to(a, &m->eventSpecificInfo.choice.callControlEvents);
    default:
        return -EINVAL;
    }
}

static int s_event_report_from(const void *asn, csta_apdu_t *a)
{
    const CSTAEventReportArgument_t *m = asn;
    a->event.type = CSTA_EV_NONE;
    int rc = csta_map_xref_from(&m->crossRefIdentifier, &a->event.xref);
    if (rc)
        return rc;
    switch (m->eventSpecificInfo.present) {
    case EventSpecificInfo_PR_callControlEvents:
        return s_call_control_from(&m->eventSpecificInfo.choice.callControlEvents, a);
    default:
        return 0;   //  a category ctim does not model: type stays CSTA_EV_NONE
    }
}

const csta_op_map_t csta_event_ops[] = {
    {CSTA_OP_EVENT_REPORT, "CSTAEventReport", &asn_DEF_CSTAEventReportArgument,
     s_event_report_to, s_event_report_from, NULL, NULL, NULL, false},
};
const size_t csta_event_ops_count = sizeof csta_event_ops / sizeof csta_event_ops[0];
