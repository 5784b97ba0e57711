//  csta_map_event: asn1c <-> C mapping of CSTAEventReport (opcode 21) and its events
//  (csta_event.h).  The report has no result ("ALWAYS RESPONDS FALSE").
//
//  Each event is a list of fields, F(kind, type, c, m), in the order of its ECMA-285
//  SEQUENCE: `c` is the member of the C struct (csta_event.h), `m` the member of the
//  asn1c struct (CSTA-Events.asn1), `kind` says how the two convert, and `type` names
//  the asn1c device type for the DEV kinds (`_` otherwise).  S_DEFINE_EVENT turns a list
//  into the pair s_<event>_to / s_<event>_from, and the category lists at the end turn
//  into the CHOICE dispatch and csta_event_name().
#include "csta_map.h"

#include "asn_SEQUENCE_OF.h"
#include "CSTAEventReportArgument.h"
#include "CallAssociatedEvents.h"
#include "CallControlEvents.h"
#include "DeviceMaintenanceEvents.h"
#include "EvChargingInfo.h"
#include "EvChargingUnitsItem.h"
#include "EvDeviceList.h"
#include "EvIntegerList.h"
#include "EvNetworkCapability.h"
#include "EvOtherCall.h"
#include "EvOtherCallList.h"
#include "EvPrimaryOrSecondaryCall.h"
#include "EventSpecificInfo.h"
#include "LogicalDeviceFeatureEvents.h"

//  --- Building blocks -------------------------------------------------------------------------

//  A mandatory ConnectionID: the C value must be present.
static int s_conn_to(const csta_conn_t *conn, ConnectionID_t *out)
{
    return conn->present ? csta_map_conn_to(conn, out) : -EINVAL;
}

//  A mandatory EventCause: CSTA_CAUSE_ABSENT (or any negative value) is a caller error.
static int s_cause_to(int cause, long *out)
{
    if (cause < 0)
        return -EINVAL;
    *out = cause;
    return 0;
}

//  A mandatory OCTET STRING; data NULL encodes as an empty string.
static int s_bytes_to(const csta_bytes_t *b, OCTET_STRING_t *out)
{
    const char *data = b->data ? (const char *) b->data : "";
    return OCTET_STRING_fromBuf(out, data, (int) b->len) == 0 ? 0 : -ENOMEM;
}

//  An optional BIT STRING of named bits, encoded in the fewest octets.
static int s_bits_opt_to(uint32_t bits, bool has, BIT_STRING_t **out)
{
    if (!has)
        return 0;
    CSTA_MAP_NEW(BIT_STRING_t, out);
    return csta_map_bits_to(bits, 0, *out);
}

//  A BIT STRING of named bits from a peer.  asn1c 0.9.28 does not check the unused-bits
//  octet, and csta_map_bits_from would read past a short buffer when it exceeds 7.
static int s_bits_from(const BIT_STRING_t *in, uint32_t *bits)
{
    if (in->bits_unused < 0 || in->bits_unused > 7)
        return -EBADMSG;
    *bits = csta_map_bits_from(in);
    return 0;
}

//  An optional one: sets *has when present.
static int s_bits_opt_from(const BIT_STRING_t *in, bool *has, uint32_t *bits)
{
    if (!in)
        return 0;
    *has = true;
    return s_bits_from(in, bits);
}

//  ECMA-285 charge-info ChargingInfo.
static int s_charge_info_to(const csta_charging_info_t *ci, EvChargingInfo_t *out)
{
    int rc = 0;
    out->typeOfChargingInfo = ci->type_of_charging_info;
    if (ci->is_currency) {
        EvNumberOfCurrencyUnits_t *cu = &out->numberUnits.choice.numberOfCurrencyUnits;
        out->numberUnits.present = EvNumberUnits_PR_numberOfCurrencyUnits;
        cu->currencyAmount = ci->currency_amount;
        cu->currencyMultiplier = ci->currency_multiplier;
        return s_bytes_to(&ci->currency_type, &cu->currencyType);
    }
    out->numberUnits.present = EvNumberUnits_PR_numberOfChargeUnits;
    if (ci->unit_count > CSTA_CHARGE_UNITS_MAX)
        return -EINVAL;
    for (size_t i = 0; rc == 0 && i < ci->unit_count; i++) {
        EvChargingUnitsItem_t *item = calloc(1, sizeof *item);
        if (!item)
            return -ENOMEM;
        if (ASN_SEQUENCE_ADD(&out->numberUnits.choice.numberOfChargeUnits.list, item) != 0) {
            free(item);
            return -ENOMEM;
        }
        item->chargingUnits = ci->units[i].charging_units;
        rc = csta_map_bytes_opt_to(&ci->units[i].type_of_units, &item->typeOfUnits);
    }
    return rc;
}

//  Optional ChargingInfo (ConnectionCleared, Transferred): only when ci->present.
static int s_charge_info_opt_to(const csta_charging_info_t *ci, EvChargingInfo_t **out)
{
    if (!ci->present)
        return 0;
    CSTA_MAP_NEW(EvChargingInfo_t, out);
    return s_charge_info_to(ci, *out);
}

//  Decoded ChargingInfo; currencyType and typeOfUnits go into a's arena.
static int s_charge_info_from(csta_apdu_t *a, const EvChargingInfo_t *in,
                              csta_charging_info_t *ci)
{
    int rc = 0;
    memset(ci, 0, sizeof *ci);
    ci->type_of_charging_info = (csta_charge_type_t) in->typeOfChargingInfo;
    switch (in->numberUnits.present) {
    case EvNumberUnits_PR_numberOfCurrencyUnits: {
        const EvNumberOfCurrencyUnits_t *cu = &in->numberUnits.choice.numberOfCurrencyUnits;
        ci->present = true;
        ci->is_currency = true;
        ci->currency_amount = cu->currencyAmount;
        ci->currency_multiplier = (csta_currency_multiplier_t) cu->currencyMultiplier;
        return csta_map_bytes_from(a, &cu->currencyType, &ci->currency_type);
    }
    case EvNumberUnits_PR_numberOfChargeUnits: {
        const EvNumberOfChargingUnits_t *nu = &in->numberUnits.choice.numberOfChargeUnits;
        ci->present = true;
        if (nu->list.count > CSTA_CHARGE_UNITS_MAX)
            return -EMSGSIZE;
        for (int i = 0; rc == 0 && i < nu->list.count; i++) {
            ci->units[i].charging_units = nu->list.array[i]->chargingUnits;
            rc = csta_map_bytes_opt_from(a, nu->list.array[i]->typeOfUnits,
                                         &ci->units[i].type_of_units);
            ci->unit_count++;
        }
        return rc;
    }
    default:
        return 0;   //  unknown form: no charging information (asn1c fails the SEQUENCE first)
    }
}

//  Optional ChargingInfo from a peer: absent leaves ci->present false.
static int s_charge_info_opt_from(csta_apdu_t *a, const EvChargingInfo_t *in,
                               csta_charging_info_t *ci)
{
    return in ? s_charge_info_from(a, in, ci) : 0;
}

//  ECMA-285 call-control NetworkCapability.
static int s_netcap_opt_to(const csta_network_capability_t *nc, EvNetworkCapability_t **out)
{
    if (!nc->present)
        return 0;
    CSTA_MAP_NEW(EvNetworkCapability_t, out);
    (*out)->networkType = nc->network_type;
    return s_bits_opt_to(nc->events_provided, nc->has_events_provided, &(*out)->eventsProvided);
}

//  Optional NetworkCapability from a peer: absent leaves nc->present false.
static int s_netcap_opt_from(const EvNetworkCapability_t *in, csta_network_capability_t *nc)
{
    if (!in)
        return 0;
    nc->present = true;
    nc->network_type = (int) in->networkType;
    return s_bits_opt_from(in->eventsProvided, &nc->has_events_provided, &nc->events_provided);
}

//  ServiceCompletionFailure's PrimaryOrSecondaryCall (state mandatory) and OtherCall
//  (state optional).
static int s_party_to(const csta_call_party_t *p, EvPrimaryOrSecondaryCall_t *out)
{
    if (p->local_connection_state == CSTA_LCS_ABSENT)
        return -EINVAL;
    out->localConnectionState = p->local_connection_state;
    int rc = csta_map_device_to(&p->device_id, &out->deviceID);
    return rc ? rc : s_conn_to(&p->connection_id, &out->connectionID);
}

//  The optional secondaryCall: absent when the party's device is ABSENT.
static int s_party_opt_to(const csta_call_party_t *p, EvPrimaryOrSecondaryCall_t **out)
{
    if (p->device_id.kind == CSTA_DEV_ABSENT)
        return 0;
    CSTA_MAP_NEW(EvPrimaryOrSecondaryCall_t, out);
    return s_party_to(p, *out);
}

//  A decoded PrimaryOrSecondaryCall.
static int s_party_from(const EvPrimaryOrSecondaryCall_t *in, csta_call_party_t *p)
{
    p->local_connection_state = (csta_lcs_t) in->localConnectionState;
    int rc = csta_map_device_from(&in->deviceID, &p->device_id);
    return rc ? rc : csta_map_conn_from(&in->connectionID, &p->connection_id);
}

//  The optional secondaryCall from a peer; absent: device ABSENT, state CSTA_LCS_ABSENT.
static int s_party_opt_from(const EvPrimaryOrSecondaryCall_t *in, csta_call_party_t *p)
{
    if (in)
        return s_party_from(in, p);
    p->local_connection_state = CSTA_LCS_ABSENT;
    return 0;
}

//  otherDevs...CallList: SEQUENCE OF OtherCall, at most CSTA_EV_PARTIES_MAX items.
static int s_party_list_opt_to(const csta_call_party_list_t *list, EvOtherCallList_t **out)
{
    if (!list->present)
        return 0;
    if (list->count > CSTA_EV_PARTIES_MAX)
        return -EINVAL;
    CSTA_MAP_NEW(EvOtherCallList_t, out);
    for (size_t i = 0; i < list->count; i++) {
        const csta_call_party_t *p = &list->item[i];
        EvOtherCall_t *item = calloc(1, sizeof *item);
        if (!item)
            return -ENOMEM;
        if (ASN_SEQUENCE_ADD(&(*out)->list, item) != 0) {
            free(item);
            return -ENOMEM;
        }
        int rc = csta_map_device_to(&p->device_id, &item->deviceID);
        if (!rc)
            rc = s_conn_to(&p->connection_id, &item->connectionID);
        if (!rc)
            rc = csta_map_lcs_opt_to(p->local_connection_state, &item->localConnectionState);
        if (rc)
            return rc;
    }
    return 0;
}

//  The reverse; a longer list from a peer is refused with -EMSGSIZE, not cut.
static int s_party_list_opt_from(const EvOtherCallList_t *in, csta_call_party_list_t *list)
{
    if (!in)
        return 0;
    list->present = true;
    if (in->list.count > CSTA_EV_PARTIES_MAX)
        return -EMSGSIZE;
    for (int i = 0; i < in->list.count; i++) {
        const EvOtherCall_t *item = in->list.array[i];
        csta_call_party_t *p = &list->item[list->count++];
        p->local_connection_state = csta_map_lcs_opt_from(item->localConnectionState);
        int rc = csta_map_device_from(&item->deviceID, &p->device_id);
        if (!rc)
            rc = csta_map_conn_from(&item->connectionID, &p->connection_id);
        if (rc)
            return rc;
    }
    return 0;
}

//  SEQUENCE OF INTEGER (DigitsGenerated durations).
static int s_longs_opt_to(bool has, size_t count, const long *values, EvIntegerList_t **out)
{
    if (!has)
        return 0;
    if (count > CSTA_EV_DURATIONS_MAX)
        return -EINVAL;
    CSTA_MAP_NEW(EvIntegerList_t, out);
    for (size_t i = 0; i < count; i++) {
        long *v = malloc(sizeof *v);
        if (!v)
            return -ENOMEM;
        *v = values[i];
        if (ASN_SEQUENCE_ADD(&(*out)->list, v) != 0) {
            free(v);
            return -ENOMEM;
        }
    }
    return 0;
}

//  The reverse; more than CSTA_EV_DURATIONS_MAX values is -EMSGSIZE.
static int s_longs_opt_from(const EvIntegerList_t *in, bool *has, size_t *count, long *values)
{
    if (!in)
        return 0;
    if (in->list.count > CSTA_EV_DURATIONS_MAX)
        return -EMSGSIZE;
    *has = true;
    for (int i = 0; i < in->list.count; i++)
        values[(*count)++] = *in->list.array[i];
    return 0;
}

//  SEQUENCE OF DeviceID (DoNotDisturb callingDeviceList).
static int s_devices_opt_to(bool has, size_t count, const csta_device_t *devs,
                            EvDeviceList_t **out)
{
    if (!has)
        return 0;
    if (count > CSTA_EV_LIST_MAX)
        return -EINVAL;
    CSTA_MAP_NEW(EvDeviceList_t, out);
    for (size_t i = 0; i < count; i++) {
        DeviceID_t *d = calloc(1, sizeof *d);
        if (!d)
            return -ENOMEM;
        if (ASN_SEQUENCE_ADD(&(*out)->list, d) != 0) {
            free(d);
            return -ENOMEM;
        }
        int rc = csta_map_device_to(&devs[i], d);
        if (rc)
            return rc;
    }
    return 0;
}

//  The reverse; more than CSTA_EV_LIST_MAX devices is -EMSGSIZE.
static int s_devices_opt_from(const EvDeviceList_t *in, bool *has, size_t *count,
                              csta_device_t *devs)
{
    if (!in)
        return 0;
    if (in->list.count > CSTA_EV_LIST_MAX)
        return -EMSGSIZE;
    *has = true;
    for (int i = 0; i < in->list.count; i++) {
        int rc = csta_map_device_from(in->list.array[i], &devs[(*count)++]);
        if (rc)
            return rc;
    }
    return 0;
}

//  A mandatory ConnectionList (Transferred, Conferenced).
static int s_conn_list_to(const csta_conn_list_t *list, ConnectionList_t *out)
{
    return list->count > CSTA_CONN_LIST_MAX ? -EINVAL : csta_map_conn_list_to(list, out);
}

//  --- Field kinds ----------------------------------------------------------------------------
//  S_TO_<kind>(type, c, m) and S_FROM_<kind>(type, c, m) are expressions of value 0 or a
//  negative errno; e is the C event, m the asn1c event, a the APDU.  _OPT kinds are
//  OPTIONAL in the standard; the others are mandatory.

#define S_TO_CONN(T, c, f) s_conn_to(&e->c, &m->f)
#define S_FROM_CONN(T, c, f) csta_map_conn_from(&m->f, &e->c)
#define S_TO_CONN_OPT(T, c, f) csta_map_conn_opt_to(&e->c, &m->f)
#define S_FROM_CONN_OPT(T, c, f) (m->f ? csta_map_conn_from(m->f, &e->c) : 0)

//  The APPLICATION-tagged device CHOICEs (SubjectDeviceID, CallingDeviceID, ...).
#define S_TO_DEV(T, c, f) csta_map_##T##_to(&e->c, &m->f)
#define S_FROM_DEV(T, c, f) csta_map_##T##_from(&m->f, &e->c)
#define S_TO_DEV_OPT(T, c, f) csta_map_##T##_opt_to(&e->c, &m->f)
#define S_FROM_DEV_OPT(T, c, f) (m->f ? csta_map_##T##_from(m->f, &e->c) : 0)

//  A plain DeviceID.
#define S_TO_DEVID(T, c, f) csta_map_device_to(&e->c, &m->f)
#define S_FROM_DEVID(T, c, f) csta_map_device_from(&m->f, &e->c)
#define S_TO_DEVID_OPT(T, c, f) csta_map_device_opt_to(&e->c, &m->f)
#define S_FROM_DEVID_OPT(T, c, f) (m->f ? csta_map_device_from(m->f, &e->c) : 0)

#define S_TO_LCS_OPT(T, c, f) csta_map_lcs_opt_to(e->c, &m->f)
#define S_FROM_LCS_OPT(T, c, f) (e->c = csta_map_lcs_opt_from(m->f), 0)

#define S_TO_CAUSE(T, c, f) s_cause_to(e->c, &m->f)
#define S_FROM_CAUSE(T, c, f) (e->c = (int) m->f, 0)
#define S_TO_CAUSE_OPT(T, c, f) csta_map_cause_opt_to(e->c, &m->f)
#define S_FROM_CAUSE_OPT(T, c, f) (e->c = csta_map_cause_opt_from(m->f), 0)

//  OCTET STRING (CorrelatorData, UserData, AgentID, ...) as csta_bytes_t in a's arena.
#define S_TO_BYTES_OPT(T, c, f) csta_map_bytes_opt_to(&e->c, &m->f)
#define S_FROM_BYTES_OPT(T, c, f) csta_map_bytes_opt_from(a, m->f, &e->c)

//  IA5String / GeneralizedTime as C text.
#define S_TO_TEXT(T, c, f) csta_map_text_to(e->c, &m->f)
#define S_FROM_TEXT(T, c, f) csta_map_text_from(&m->f, e->c, sizeof e->c)
#define S_TO_TEXT_OPT(T, c, f) csta_map_text_opt_to(e->c, &m->f)
#define S_FROM_TEXT_OPT(T, c, f) csta_map_text_opt_from(m->f, e->c, sizeof e->c)

#define S_TO_BOOL(T, c, f) (m->f = e->c ? 1 : 0, 0)
#define S_FROM_BOOL(T, c, f) (e->c = m->f != 0, 0)

//  INTEGER or ENUMERATED; the _OPT form pairs `c` with `has_c`.
#define S_TO_LONG(T, c, f) (m->f = e->c, 0)
#define S_FROM_LONG(T, c, f) (e->c = m->f, 0)
#define S_TO_LONG_OPT(T, c, f) csta_map_long_opt_to(e->c, e->has_##c, &m->f)
#define S_FROM_LONG_OPT(T, c, f) (m->f ? (e->has_##c = true, e->c = *m->f, 0) : 0)

//  BIT STRING of named bits as uint32_t; the _OPT form pairs `c` with `has_c`.
#define S_TO_BITS(T, c, f) csta_map_bits_to(e->c, 0, &m->f)
#define S_FROM_BITS(T, c, f) s_bits_from(&m->f, &e->c)
#define S_TO_BITS_OPT(T, c, f) s_bits_opt_to(e->c, e->has_##c, &m->f)
#define S_FROM_BITS_OPT(T, c, f) s_bits_opt_from(m->f, &e->has_##c, &e->c)

#define S_TO_CONN_LIST(T, c, f) s_conn_list_to(&e->c, &m->f)
#define S_FROM_CONN_LIST(T, c, f) csta_map_conn_list_from(&m->f, &e->c)

#define S_TO_CHARGE(T, c, f) s_charge_info_to(&e->c, &m->f)
#define S_FROM_CHARGE(T, c, f) s_charge_info_from(a, &m->f, &e->c)
#define S_TO_CHARGE_OPT(T, c, f) s_charge_info_opt_to(&e->c, &m->f)
#define S_FROM_CHARGE_OPT(T, c, f) s_charge_info_opt_from(a, m->f, &e->c)

#define S_TO_NETCAP_OPT(T, c, f) s_netcap_opt_to(&e->c, &m->f)
#define S_FROM_NETCAP_OPT(T, c, f) s_netcap_opt_from(m->f, &e->c)

//  ProgressIndicator: two enumerations, C members c_location and c_description.
#define S_TO_PROGRESS(T, c, f)                                                            \
    (m->f.progressLocation = e->c##_location, m->f.progressDescription = e->c##_description, 0)
#define S_FROM_PROGRESS(T, c, f)                                                          \
    (e->c##_location = (int) m->f.progressLocation,                                       \
     e->c##_description = (int) m->f.progressDescription, 0)

#define S_TO_PARTY(T, c, f) s_party_to(&e->c, &m->f)
#define S_FROM_PARTY(T, c, f) s_party_from(&m->f, &e->c)
#define S_TO_PARTY_OPT(T, c, f) s_party_opt_to(&e->c, &m->f)
#define S_FROM_PARTY_OPT(T, c, f) s_party_opt_from(m->f, &e->c)
#define S_TO_PARTY_LIST_OPT(T, c, f) s_party_list_opt_to(&e->c, &m->f)
#define S_FROM_PARTY_LIST_OPT(T, c, f) s_party_list_opt_from(m->f, &e->c)

//  Lists held as has_c_list + c_count + c_list[].
#define S_TO_LONGS_OPT(T, c, f)                                                           \
    s_longs_opt_to(e->has_##c##_list, e->c##_count, e->c##_list, &m->f)
#define S_FROM_LONGS_OPT(T, c, f)                                                         \
    s_longs_opt_from(m->f, &e->has_##c##_list, &e->c##_count, e->c##_list)
#define S_TO_DEVICES_OPT(T, c, f)                                                         \
    s_devices_opt_to(e->has_##c##_list, e->c##_count, e->c##_list, &m->f)
#define S_FROM_DEVICES_OPT(T, c, f)                                                       \
    s_devices_opt_from(m->f, &e->has_##c##_list, &e->c##_count, e->c##_list)

//  extensions (CSTACommonArguments) always map to the APDU's ext.
#define S_TO_EXT(T, c, f) csta_map_ext_opt_to(&a->ext, &m->f)
#define S_FROM_EXT(T, c, f) csta_map_ext_opt_from(m->f, a)

#define S_FIELD_TO(kind, T, c, f)                                                         \
    if (rc == 0)                                                                          \
        rc = S_TO_##kind(T, c, f);
#define S_FIELD_FROM(kind, T, c, f)                                                       \
    if (rc == 0)                                                                          \
        rc = S_FROM_##kind(T, c, f);

//  s_<name>_to fills the asn1c struct m from the C event e; s_<name>_from fills e from m.
//  Both return 0 or a negative errno (csta_map.h).
#define S_DEFINE_EVENT(name, ctype, atype, FIELDS)                                        \
    static int s_##name##_to(const ctype *e, const csta_apdu_t *a, atype##_t *m)          \
    {                                                                                     \
        int rc = 0;                                                                       \
        FIELDS(S_FIELD_TO)                                                                \
        return rc;                                                                        \
    }                                                                                     \
    static int s_##name##_from(const atype##_t *m, ctype *e, csta_apdu_t *a)              \
    {                                                                                     \
        int rc = 0;                                                                       \
        FIELDS(S_FIELD_FROM)                                                              \
        return rc;                                                                        \
    }

//  --- Call control events (ECMA-285 <name>-event modules) --------------------------------------

#define S_BRIDGED_FIELDS(F)                                                               \
    F(CONN, _, bridged_connection, bridgedConnection)                                     \
    F(DEV, SubjectDeviceID, bridged_appearance, bridgedAppearance)                        \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_CALL_CLEARED_FIELDS(F)                                                          \
    F(CONN, _, cleared_call, clearedCall)                                                 \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_CONFERENCED_FIELDS(F)                                                           \
    F(CONN, _, primary_old_call, primaryOldCall)                                          \
    F(CONN_OPT, _, secondary_old_call, secondaryOldCall)                                  \
    F(DEV, SubjectDeviceID, conferencing, conferencingDevice)                             \
    F(DEV, SubjectDeviceID, added_party, addedParty)                                      \
    F(CONN_LIST, _, conference_connections, conferenceConnections)                        \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_CONNECTION_CLEARED_FIELDS(F)                                                    \
    F(CONN, _, dropped_connection, droppedConnection)                                     \
    F(DEV, SubjectDeviceID, releasing, releasingDevice)                                   \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CHARGE_OPT, _, charging_info, chargingInfo)                                         \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_DELIVERED_FIELDS(F)                                                             \
    F(CONN, _, connection, connection)                                                    \
    F(DEV, SubjectDeviceID, alerting, alertingDevice)                                     \
    F(DEV, CallingDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(CONN_OPT, _, originating_nid, originatingNIDConnection)                             \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_DIGITS_DIALED_FIELDS(F)                                                         \
    F(CONN, _, dialing_connection, dialingConnection)                                     \
    F(DEV, SubjectDeviceID, dialing, dialingDevice)                                       \
    F(DEVID, _, dialing_sequence, dialingSequence)                                        \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_DIVERTED_FIELDS(F)                                                              \
    F(CONN, _, connection, connection)                                                    \
    F(DEV, SubjectDeviceID, diverting, divertingDevice)                                   \
    F(DEV, SubjectDeviceID, new_destination, newDestination)                              \
    F(DEV_OPT, CallingDeviceID, calling, callingDevice)                                   \
    F(DEV_OPT, CalledDeviceID, called, calledDevice)                                      \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(EXT, _, ext, extensions)

#define S_ESTABLISHED_FIELDS(F)                                                           \
    F(CONN, _, established_connection, establishedConnection)                             \
    F(DEV, SubjectDeviceID, answering, answeringDevice)                                   \
    F(DEV, CallingDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(CONN_OPT, _, originating_nid, originatingNIDConnection)                             \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_FAILED_FIELDS(F)                                                                \
    F(CONN, _, failed_connection, failedConnection)                                       \
    F(DEV, SubjectDeviceID, failing, failingDevice)                                       \
    F(DEV, CallingDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(CONN_OPT, _, originating_nid, originatingNIDConnection)                             \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_HELD_FIELDS(F)                                                                  \
    F(CONN, _, held_connection, heldConnection)                                           \
    F(DEV, SubjectDeviceID, holding, holdingDevice)                                       \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_NETWORK_CAPABILITIES_CHANGED_FIELDS(F)                                          \
    F(CONN, _, outbound_connection, outboundConnection)                                   \
    F(DEV, SubjectDeviceID, network_interface_used, networkInterfaceUsed)                 \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(PROGRESS, _, progress, progressIndicator)                                           \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(NETCAP_OPT, _, network_capability, networkCapability)                               \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_NETWORK_REACHED_FIELDS(F)                                                       \
    F(CONN, _, outbound_connection, outboundConnection)                                   \
    F(DEV, SubjectDeviceID, network_interface_used, networkInterfaceUsed)                 \
    F(DEV, CallingDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(CONN_OPT, _, originating_nid, originatingNIDConnection)                             \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(NETCAP_OPT, _, network_capability, networkCapability)                               \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(EXT, _, ext, extensions)

#define S_OFFERED_FIELDS(F)                                                               \
    F(CONN, _, offered_connection, offeredConnection)                                     \
    F(DEV, SubjectDeviceID, offered, offeredDevice)                                       \
    F(DEV, CallingDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(CONN_OPT, _, originating_nid, originatingNIDConnection)                             \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_ORIGINATED_FIELDS(F)                                                            \
    F(CONN, _, originated_connection, originatedConnection)                               \
    F(DEV, SubjectDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEVID_OPT, _, originating, originatingDevice)                                       \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_QUEUED_FIELDS(F)                                                                \
    F(CONN, _, queued_connection, queuedConnection)                                       \
    F(DEV, SubjectDeviceID, queue, queue)                                                 \
    F(DEV, CallingDeviceID, calling, callingDevice)                                       \
    F(DEV, CalledDeviceID, called, calledDevice)                                          \
    F(DEV, RedirectionDeviceID, last_redirection, lastRedirectionDevice)                  \
    F(LONG_OPT, _, number_queued, numberQueued)                                           \
    F(LONG_OPT, _, calls_in_front, callsInFront)                                          \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CAUSE, _, cause, cause)                                                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(DEV_OPT, AssociatedCalledDeviceID, associated_called, associatedCalledDevice)       \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_RETRIEVED_FIELDS(F)                                                             \
    F(CONN, _, retrieved_connection, retrievedConnection)                                 \
    F(DEV, SubjectDeviceID, retrieving, retrievingDevice)                                 \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

#define S_SERVICE_INITIATED_FIELDS(F)                                                     \
    F(CONN, _, initiated_connection, initiatedConnection)                                 \
    F(DEV, SubjectDeviceID, initiating, initiatingDevice)                                 \
    F(DEV_OPT, CalledDeviceID, called, calledDevice)                                      \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(DEV_OPT, NetworkCallingDeviceID, network_calling, networkCallingDevice)             \
    F(DEV_OPT, NetworkCalledDeviceID, network_called, networkCalledDevice)                \
    F(DEV_OPT, AssociatedCallingDeviceID, associated_calling, associatedCallingDevice)    \
    F(EXT, _, ext, extensions)

#define S_TRANSFERRED_FIELDS(F)                                                           \
    F(CONN, _, primary_old_call, primaryOldCall)                                          \
    F(CONN_OPT, _, secondary_old_call, secondaryOldCall)                                  \
    F(DEV, SubjectDeviceID, transferring, transferringDevice)                             \
    F(DEV, SubjectDeviceID, transferred_to, transferredToDevice)                          \
    F(CONN_LIST, _, transferred_connections, transferredConnections)                      \
    F(LCS_OPT, _, local_state, localConnectionInfo)                                       \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(CHARGE_OPT, _, charging_info, chargingInfo)                                         \
    F(CAUSE, _, cause, cause)                                                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(EXT, _, ext, extensions)

//  --- Call associated events --------------------------------------------------------------------

#define S_CALL_INFORMATION_FIELDS(F)                                                      \
    F(CONN, _, connection, connection)                                                    \
    F(DEV, SubjectDeviceID, device, device)                                               \
    F(DEV_OPT, CallingDeviceID, calling, callingDevice)                                   \
    F(BYTES_OPT, _, account_info, accountInfo)                                            \
    F(BYTES_OPT, _, auth_code, authCode)                                                  \
    F(BYTES_OPT, _, correlator, correlatorData)                                           \
    F(BYTES_OPT, _, user_data, userData)                                                  \
    F(BYTES_OPT, _, call_qualifying_data, callQualifyingData)                             \
    F(BITS_OPT, _, call_characteristics, callCharacteristics)                             \
    F(DEVID_OPT, _, device_info, deviceInfo)                                              \
    F(EXT, _, ext, extensions)

#define S_CHARGING_FIELDS(F)                                                              \
    F(CONN, _, connection, connection)                                                    \
    F(DEVID, _, charged_device, chargedDevice)                                            \
    F(CHARGE, _, charging_info, chargingInfo)                                             \
    F(CAUSE_OPT, _, cause, cause)                                                         \
    F(EXT, _, ext, extensions)

#define S_DIGITS_GENERATED_FIELDS(F)                                                      \
    F(CONN, _, connection, connection)                                                    \
    F(TEXT, _, digit_generated_list, digitGeneratedList)                                  \
    F(LONGS_OPT, _, digit_duration, digitDurationList)                                    \
    F(LONGS_OPT, _, pause_duration, pauseDurationList)                                    \
    F(EXT, _, ext, extensions)

#define S_TELEPHONY_TONES_GENERATED_FIELDS(F)                                             \
    F(CONN, _, connection, connection)                                                    \
    F(LONG_OPT, _, tone_generated, toneGenerated)                                         \
    F(LONG_OPT, _, tone_frequency, toneFrequency)                                         \
    F(LONG_OPT, _, tone_duration, toneDuration)                                           \
    F(LONG_OPT, _, pause_duration, pauseDuration)                                         \
    F(EXT, _, ext, extensions)

#define S_SERVICE_COMPLETION_FAILURE_FIELDS(F)                                            \
    F(PARTY, _, primary_call, primaryCall)                                                \
    F(PARTY_OPT, _, secondary_call, secondaryCall)                                        \
    F(PARTY_LIST_OPT, _, other_devs_primary_call_list, otherDevsPrimaryCallList)          \
    F(PARTY_LIST_OPT, _, other_devs_secondary_call_list, otherDevsSecondaryCallList)      \
    F(CAUSE, _, cause, cause)                                                             \
    F(EXT, _, ext, extensions)

//  --- Logical device feature events -------------------------------------------------------------

//  AgentBusy and AgentWorkingAfterCall (pendingAgentState [2], cause [3]).
#define S_AGENT_PENDING_FIELDS(F)                                                         \
    F(DEV, SubjectDeviceID, agent_device, agentDevice)                                    \
    F(BYTES_OPT, _, agent_id, agentID)                                                    \
    F(DEVID_OPT, _, acd_group, acdGroup)                                                  \
    F(LONG_OPT, _, pending_agent_state, pendingAgentState)                                \
    F(CAUSE_OPT, _, cause, cause)                                                         \
    F(EXT, _, ext, extensions)

//  AgentLoggedOn and AgentLoggedOff (agentID [2], agentPassword [3]).
#define S_AGENT_LOGGED_FIELDS(F)                                                          \
    F(DEV, SubjectDeviceID, agent_device, agentDevice)                                    \
    F(BYTES_OPT, _, agent_id, agentID)                                                    \
    F(DEVID_OPT, _, acd_group, acdGroup)                                                  \
    F(BYTES_OPT, _, agent_password, agentPassword)                                        \
    F(CAUSE_OPT, _, cause, cause)                                                         \
    F(EXT, _, ext, extensions)

//  AgentNotReady and AgentReady.
#define S_AGENT_FIELDS(F)                                                                 \
    F(DEV, SubjectDeviceID, agent_device, agentDevice)                                    \
    F(BYTES_OPT, _, agent_id, agentID)                                                    \
    F(DEVID_OPT, _, acd_group, acdGroup)                                                  \
    F(CAUSE_OPT, _, cause, cause)                                                         \
    F(EXT, _, ext, extensions)

#define S_AUTO_ANSWER_FIELDS(F)                                                           \
    F(DEV, SubjectDeviceID, invoking_device, invokingDevice)                              \
    F(BOOL, _, auto_answer_on, autoAnswerOn)                                              \
    F(LONG_OPT, _, number_of_rings, numberOfRings)                                        \
    F(EXT, _, ext, extensions)

#define S_AUTO_WORK_MODE_FIELDS(F)                                                        \
    F(DEV, SubjectDeviceID, invoking_device, invokingDevice)                              \
    F(BOOL, _, auto_work_on, autoWorkOn)                                                  \
    F(LONG, _, auto_work_interval, autoWorkInterval)                                      \
    F(EXT, _, ext, extensions)

#define S_CALL_BACK_FIELDS(F)                                                             \
    F(DEV, SubjectDeviceID, originating_device, originatingDevice)                        \
    F(DEV, SubjectDeviceID, target_device, targetDevice)                                  \
    F(BOOL, _, set_canceled, callBackSetCanceled)                                         \
    F(EXT, _, ext, extensions)

#define S_CALL_BACK_MESSAGE_FIELDS(F)                                                     \
    F(DEV, SubjectDeviceID, originating_device, originatingDevice)                        \
    F(DEV, SubjectDeviceID, target_device, targetDevice)                                  \
    F(BOOL, _, set_canceled, callBackMsgSetCanceled)                                      \
    F(EXT, _, ext, extensions)

#define S_CALLER_ID_STATUS_FIELDS(F)                                                      \
    F(DEVID, _, device, device)                                                           \
    F(BOOL, _, caller_id_provided, callerIDProvided)                                      \
    F(EXT, _, ext, extensions)

#define S_DO_NOT_DISTURB_FIELDS(F)                                                        \
    F(DEV, SubjectDeviceID, device, device)                                               \
    F(BOOL, _, do_not_disturb_on, doNotDisturbOn)                                         \
    F(BITS_OPT, _, call_origination, callOrigination)                                     \
    F(DEVICES_OPT, _, calling_device, callingDeviceList)                                  \
    F(EXT, _, ext, extensions)

#define S_FORWARDING_FIELDS(F)                                                            \
    F(DEV, SubjectDeviceID, device, device)                                               \
    F(LONG_OPT, _, forwarding_type, forwardingType)                                       \
    F(BOOL, _, forward_status, forwardStatus)                                             \
    F(DEVID_OPT, _, forward_to, forwardTo)                                                \
    F(LONG_OPT, _, forward_default, forwardDefault)                                       \
    F(LONG_OPT, _, ring_count, ringCount)                                                 \
    F(LONG_OPT, _, ring_duration, ringDuration)                                           \
    F(EXT, _, ext, extensions)

#define S_ROUTEING_MODE_FIELDS(F)                                                         \
    F(DEV, SubjectDeviceID, device, device)                                               \
    F(BOOL, _, routeing_mode, routeingMode)                                               \
    F(EXT, _, ext, extensions)

#define S_PRESENCE_STATE_FIELDS(F)                                                        \
    F(DEV, SubjectDeviceID, device, device)                                               \
    F(BITS, _, presence_state, presenceState)                                             \
    F(TEXT_OPT, _, from_time, fromTime)                                                   \
    F(TEXT_OPT, _, until_time, untilTime)                                                 \
    F(BYTES_OPT, _, place, place)                                                         \
    F(BYTES_OPT, _, mood, mood)                                                           \
    F(BYTES_OPT, _, named_presence_state, namedPresenceState)                             \
    F(EXT, _, ext, extensions)

//  --- Device maintenance events (one shape) -----------------------------------------------------

#define S_DEVICE_MAINTENANCE_FIELDS(F)                                                    \
    F(DEV, SubjectDeviceID, device, device)                                               \
    F(CAUSE_OPT, _, cause, cause)                                                         \
    F(EXT, _, ext, extensions)

//  --- Categories ------------------------------------------------------------------------------
//  X(type, "Name", union member, C type, asn1c type, CHOICE alternative, field list)

#define S_CALL_CONTROL_EVENTS(X)                                                                   \
    X(CSTA_EV_BRIDGED, "Bridged", bridged, csta_bridged_t, BridgedEvent, bridged,                  \
      S_BRIDGED_FIELDS)                                                                            \
    X(CSTA_EV_CALL_CLEARED, "CallCleared", call_cleared, csta_call_cleared_t, CallClearedEvent,    \
      callCleared, S_CALL_CLEARED_FIELDS)                                                          \
    X(CSTA_EV_CONFERENCED, "Conferenced", conferenced, csta_conferenced_t, ConferencedEvent,       \
      conferenced, S_CONFERENCED_FIELDS)                                                           \
    X(CSTA_EV_CONNECTION_CLEARED, "ConnectionCleared", connection_cleared,                         \
      csta_connection_cleared_t, ConnectionClearedEvent, connectionCleared,                        \
      S_CONNECTION_CLEARED_FIELDS)                                                                 \
    X(CSTA_EV_DELIVERED, "Delivered", delivered, csta_delivered_t, DeliveredEvent, delivered,      \
      S_DELIVERED_FIELDS)                                                                          \
    X(CSTA_EV_DIGITS_DIALED, "DigitsDialed", digits_dialed, csta_digits_dialed_t,                  \
      DigitsDialedEvent, digitsDialed, S_DIGITS_DIALED_FIELDS)                                     \
    X(CSTA_EV_DIVERTED, "Diverted", diverted, csta_diverted_t, DivertedEvent, diverted,            \
      S_DIVERTED_FIELDS)                                                                           \
    X(CSTA_EV_ESTABLISHED, "Established", established, csta_established_t, EstablishedEvent,       \
      established, S_ESTABLISHED_FIELDS)                                                           \
    X(CSTA_EV_FAILED, "Failed", failed, csta_failed_t, FailedEvent, failed, S_FAILED_FIELDS)       \
    X(CSTA_EV_HELD, "Held", held, csta_held_t, HeldEvent, held, S_HELD_FIELDS)                     \
    X(CSTA_EV_NETWORK_CAPABILITIES_CHANGED, "NetworkCapabilitiesChanged",                          \
      network_capabilities_changed, csta_network_capabilities_changed_t,                           \
      NetworkCapabilitiesChangedEvent, networkCapabilitiesChanged,                                 \
      S_NETWORK_CAPABILITIES_CHANGED_FIELDS)                                                       \
    X(CSTA_EV_NETWORK_REACHED, "NetworkReached", network_reached, csta_network_reached_t,          \
      NetworkReachedEvent, networkReached, S_NETWORK_REACHED_FIELDS)                               \
    X(CSTA_EV_OFFERED, "Offered", offered, csta_offered_t, OfferedEvent, offered,                  \
      S_OFFERED_FIELDS)                                                                            \
    X(CSTA_EV_ORIGINATED, "Originated", originated, csta_originated_t, OriginatedEvent,            \
      originated, S_ORIGINATED_FIELDS)                                                             \
    X(CSTA_EV_QUEUED, "Queued", queued, csta_queued_t, QueuedEvent, queued, S_QUEUED_FIELDS)       \
    X(CSTA_EV_RETRIEVED, "Retrieved", retrieved, csta_retrieved_t, RetrievedEvent, retrieved,      \
      S_RETRIEVED_FIELDS)                                                                          \
    X(CSTA_EV_SERVICE_INITIATED, "ServiceInitiated", service_initiated, csta_service_initiated_t,  \
      ServiceInitiatedEvent, serviceInitiated, S_SERVICE_INITIATED_FIELDS)                         \
    X(CSTA_EV_TRANSFERRED, "Transferred", transferred, csta_transferred_t, TransferredEvent,       \
      transferred, S_TRANSFERRED_FIELDS)

#define S_CALL_ASSOCIATED_EVENTS(X)                                                                \
    X(CSTA_EV_CALL_INFORMATION, "CallInformation", call_information, csta_call_information_t,      \
      CallInformationEvent, callInformation, S_CALL_INFORMATION_FIELDS)                            \
    X(CSTA_EV_CHARGING, "Charging", charging, csta_charging_t, ChargingEvent, charging,            \
      S_CHARGING_FIELDS)                                                                           \
    X(CSTA_EV_DIGITS_GENERATED, "DigitsGenerated", digits_generated, csta_digits_generated_t,      \
      DigitsGeneratedEvent, digitsGeneratedEvent, S_DIGITS_GENERATED_FIELDS)                       \
    X(CSTA_EV_TELEPHONY_TONES_GENERATED, "TelephonyTonesGenerated", telephony_tones_generated,     \
      csta_telephony_tones_generated_t, TelephonyTonesGeneratedEvent,                              \
      telephonyTonesGeneratedEvent, S_TELEPHONY_TONES_GENERATED_FIELDS)                            \
    X(CSTA_EV_SERVICE_COMPLETION_FAILURE, "ServiceCompletionFailure", service_completion_failure,  \
      csta_service_completion_failure_t, ServiceCompletionFailureEvent, serviceCompletionFailure,  \
      S_SERVICE_COMPLETION_FAILURE_FIELDS)

#define S_LOGICAL_DEVICE_EVENTS(X)                                                                 \
    X(CSTA_EV_AGENT_BUSY, "AgentBusy", agent_busy, csta_agent_event_t, AgentBusyEvent, agentBusy,  \
      S_AGENT_PENDING_FIELDS)                                                                      \
    X(CSTA_EV_AGENT_LOGGED_ON, "AgentLoggedOn", agent_logged_on, csta_agent_event_t,               \
      AgentLoggedOnEvent, agentLoggedOn, S_AGENT_LOGGED_FIELDS)                                    \
    X(CSTA_EV_AGENT_LOGGED_OFF, "AgentLoggedOff", agent_logged_off, csta_agent_event_t,            \
      AgentLoggedOffEvent, agentLoggedOff, S_AGENT_LOGGED_FIELDS)                                  \
    X(CSTA_EV_AGENT_NOT_READY, "AgentNotReady", agent_not_ready, csta_agent_event_t,               \
      AgentNotReadyEvent, agentNotReady, S_AGENT_FIELDS)                                           \
    X(CSTA_EV_AGENT_READY, "AgentReady", agent_ready, csta_agent_event_t, AgentReadyEvent,         \
      agentReady, S_AGENT_FIELDS)                                                                  \
    X(CSTA_EV_AGENT_WORKING_AFTER_CALL, "AgentWorkingAfterCall", agent_working_after_call,         \
      csta_agent_event_t, AgentWorkingAfterCallEvent, agentWorkingAfterCall,                       \
      S_AGENT_PENDING_FIELDS)                                                                      \
    X(CSTA_EV_AUTO_ANSWER, "AutoAnswer", auto_answer, csta_auto_answer_t, AutoAnswerEvent,         \
      autoAnswer, S_AUTO_ANSWER_FIELDS)                                                            \
    X(CSTA_EV_AUTO_WORK_MODE, "AutoWorkMode", auto_work_mode, csta_auto_work_mode_t,               \
      AutoWorkModeEvent, autoWorkMode, S_AUTO_WORK_MODE_FIELDS)                                    \
    X(CSTA_EV_CALL_BACK, "CallBack", call_back, csta_call_back_event_t, CallBackEvent, callBack,   \
      S_CALL_BACK_FIELDS)                                                                          \
    X(CSTA_EV_CALL_BACK_MESSAGE, "CallBackMessage", call_back_message, csta_call_back_event_t,     \
      CallBackMessageEvent, callBackMessage, S_CALL_BACK_MESSAGE_FIELDS)                           \
    X(CSTA_EV_CALLER_ID_STATUS, "CallerIDStatus", caller_id_status, csta_caller_id_status_t,       \
      CallerIDStatusEvent, callerIDStatus, S_CALLER_ID_STATUS_FIELDS)                              \
    X(CSTA_EV_DO_NOT_DISTURB, "DoNotDisturb", do_not_disturb, csta_do_not_disturb_t,               \
      DoNotDisturbEvent, doNotDisturb, S_DO_NOT_DISTURB_FIELDS)                                    \
    X(CSTA_EV_FORWARDING, "Forwarding", forwarding, csta_forwarding_t, ForwardingEvent,            \
      forwarding, S_FORWARDING_FIELDS)                                                             \
    X(CSTA_EV_ROUTEING_MODE, "RouteingMode", routeing_mode, csta_routeing_mode_t,                  \
      RouteingModeEvent, routeingMode, S_ROUTEING_MODE_FIELDS)                                     \
    X(CSTA_EV_PRESENCE_STATE, "PresenceState", presence_state, csta_presence_state_t,              \
      PresenceStateEvent, presenceState, S_PRESENCE_STATE_FIELDS)

#define S_DEVICE_MAINTENANCE_EVENTS(X)                                                             \
    X(CSTA_EV_BACK_IN_SERVICE, "BackInService", back_in_service, csta_device_maintenance_t,        \
      BackInServiceEvent, backInService, S_DEVICE_MAINTENANCE_FIELDS)                              \
    X(CSTA_EV_DEVICE_CAPABILITIES_CHANGED, "DeviceCapabilitiesChanged",                            \
      device_capabilities_changed, csta_device_maintenance_t, DeviceCapsChangedEvent,              \
      deviceCapabilityChanged, S_DEVICE_MAINTENANCE_FIELDS)                                        \
    X(CSTA_EV_OUT_OF_SERVICE, "OutOfService", out_of_service, csta_device_maintenance_t,           \
      OutOfServiceEvent, outOfService, S_DEVICE_MAINTENANCE_FIELDS)                                \
    X(CSTA_EV_PARTIALLY_IN_SERVICE, "PartiallyInService", partially_in_service,                    \
      csta_device_maintenance_t, PartiallyInServiceEvent, partiallyInService,                      \
      S_DEVICE_MAINTENANCE_FIELDS)

#define S_ALL_EVENTS(X)                                                                   \
    S_CALL_CONTROL_EVENTS(X)                                                              \
    S_CALL_ASSOCIATED_EVENTS(X)                                                           \
    S_LOGICAL_DEVICE_EVENTS(X)                                                            \
    S_DEVICE_MAINTENANCE_EVENTS(X)

//  One to/from pair per event.
#define S_DEFINE_EVENT_X(ev, name, member, ctype, atype, alt, FIELDS)                \
    S_DEFINE_EVENT(member, ctype, atype, FIELDS)
S_ALL_EVENTS(S_DEFINE_EVENT_X)

//  s_<category>_to / _from: the CHOICE of one EventSpecificInfo category.  An event of
//  another category cannot be encoded (-EINVAL); an alternative ctim does not know
//  decodes to type CSTA_EV_NONE.
#define S_CASE_TO(ev, name, member, ctype, atype, alt, FIELDS)                       \
    case ev:                                                                              \
        m->present = S_CHOICE_PR(alt);                                                 \
        return s_##member##_to(&a->event.member, a, &m->choice.alt);
#define S_CASE_FROM(ev, name, member, ctype, atype, alt, FIELDS)                     \
    case S_CHOICE_PR(alt):                                                             \
        a->event.type = ev;                                                               \
        return s_##member##_from(&m->choice.alt, &a->event.member, a);
#define S_DEFINE_CATEGORY(cat, asn_t, LIST)                                               \
    static int s_##cat##_to(const csta_apdu_t *a, asn_t##_t *m)                           \
    {                                                                                     \
        switch (a->event.type) {                                                          \
            LIST(S_CASE_TO)                                                               \
        default:                                                                          \
            return -EINVAL;                                                               \
        }                                                                                 \
    }                                                                                     \
    static int s_##cat##_from(const asn_t##_t *m, csta_apdu_t *a)                         \
    {                                                                                     \
        switch (m->present) {                                                             \
            LIST(S_CASE_FROM)                                                             \
        default:                                                                          \
            return 0;                                                                     \
        }                                                                                 \
    }

#define S_CHOICE_PR(alt) CallControlEvents_PR_##alt
S_DEFINE_CATEGORY(call_control, CallControlEvents, S_CALL_CONTROL_EVENTS)
#undef S_CHOICE_PR
#define S_CHOICE_PR(alt) CallAssociatedEvents_PR_##alt
S_DEFINE_CATEGORY(call_associated, CallAssociatedEvents, S_CALL_ASSOCIATED_EVENTS)
#undef S_CHOICE_PR
#define S_CHOICE_PR(alt) LogicalDeviceFeatureEvents_PR_##alt
S_DEFINE_CATEGORY(logical_device, LogicalDeviceFeatureEvents, S_LOGICAL_DEVICE_EVENTS)
#undef S_CHOICE_PR
#define S_CHOICE_PR(alt) DeviceMaintenanceEvents_PR_##alt
S_DEFINE_CATEGORY(device_maintenance, DeviceMaintenanceEvents, S_DEVICE_MAINTENANCE_EVENTS)
#undef S_CHOICE_PR

//  --- The report --------------------------------------------------------------------------------

//  CSTAEventReportArgument from a->event: the xref, then the event under its category.
static int s_event_report_to(const csta_apdu_t *a, void **asn_out)
{
    CSTAEventReportArgument_t *m;
    CSTA_MAP_NEW(CSTAEventReportArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_xref_to(&a->event.xref, &m->crossRefIdentifier);
    if (rc)
        return rc;
    EventSpecificInfo_t *info = &m->eventSpecificInfo;
    if (a->event.type == CSTA_EV_NONE)
        return -EINVAL;
    switch (CSTA_EV_CATEGORY(a->event.type)) {
    case 0:
        info->present = EventSpecificInfo_PR_callControlEvents;
        return s_call_control_to(a, &info->choice.callControlEvents);
    case 1:
        info->present = EventSpecificInfo_PR_callAssociatedEvents;
        return s_call_associated_to(a, &info->choice.callAssociatedEvents);
    case 4:
        info->present = EventSpecificInfo_PR_logicalDeviceFeatureEvents;
        return s_logical_device_to(a, &info->choice.logicalDeviceFeatureEvents);
    case 5:
        info->present = EventSpecificInfo_PR_deviceMaintenanceEvents;
        return s_device_maintenance_to(a, &info->choice.deviceMaintenanceEvents);
    default:
        return -EINVAL;
    }
}

//  The reverse; an event ctim does not model leaves type CSTA_EV_NONE and returns 0.
static int s_event_report_from(const void *asn, csta_apdu_t *a)
{
    const CSTAEventReportArgument_t *m = asn;
    const EventSpecificInfo_t *info = &m->eventSpecificInfo;
    a->event.type = CSTA_EV_NONE;
    int rc = csta_map_xref_from(&m->crossRefIdentifier, &a->event.xref);
    if (rc)
        return rc;
    switch (info->present) {
    case EventSpecificInfo_PR_callControlEvents:
        return s_call_control_from(&info->choice.callControlEvents, a);
    case EventSpecificInfo_PR_callAssociatedEvents:
        return s_call_associated_from(&info->choice.callAssociatedEvents, a);
    case EventSpecificInfo_PR_logicalDeviceFeatureEvents:
        return s_logical_device_from(&info->choice.logicalDeviceFeatureEvents, a);
    case EventSpecificInfo_PR_deviceMaintenanceEvents:
        return s_device_maintenance_from(&info->choice.deviceMaintenanceEvents, a);
    default:
        return 0;   //  a category ctim does not model: type stays CSTA_EV_NONE
    }
}

#define S_CASE_NAME(ev, name, member, ctype, atype, alt, FIELDS)                     \
    case ev:                                                                              \
        return name;

//  The event's ECMA-269 name for logs (csta_event.h).
const char *csta_event_name(csta_event_type_t type)
{
    switch (type) {
    case CSTA_EV_NONE:
        return "none";
        S_ALL_EVENTS(S_CASE_NAME)
    }
    return "?";
}

const csta_op_map_t csta_event_ops[] = {
    {CSTA_OP_EVENT_REPORT, "CSTAEventReport", &asn_DEF_CSTAEventReportArgument,
     s_event_report_to, s_event_report_from, NULL, NULL, NULL, false},
};
const size_t csta_event_ops_count = sizeof csta_event_ops / sizeof csta_event_ops[0];
