//  csta_map_call: asn1c <-> C mapping of the call control services (csta_call.h).
#include "csta_map.h"

#include "AcceptCallArgument.h"
#include "AlternateCallArgument.h"
#include "AnswerCallArgument.h"
#include "CallBackArgument.h"
#include "CallBackNonCallRelatedArgument.h"
#include "CallBackResult.h"
#include "CallDeviceIDList.h"
#include "CamponCallArgument.h"
#include "ClearCallArgument.h"
#include "ClearConnectionArgument.h"
#include "ConferenceCallArgument.h"
#include "ConferenceCallResult.h"
#include "ConsultationCallArgument.h"
#include "ConsultationCallResult.h"
#include "DeflectCallArgument.h"
#include "DialDigitsArgument.h"
#include "DirectedPickupCallArgument.h"
#include "DirectedPickupCallResult.h"
#include "GenerateDigitsArgument.h"
#include "GroupPickupCallArgument.h"
#include "GroupPickupCallResult.h"
#include "HoldCallArgument.h"
#include "IntrudeCallArgument.h"
#include "IntrudeCallResult.h"
#include "MakeCallArgument.h"
#include "MakeCallResult.h"
#include "ReconnectCallArgument.h"
#include "RetrieveCallArgument.h"
#include "SingleStepConfArgument.h"
#include "SingleStepConfResult.h"
#include "SingleStepTransArgument.h"
#include "SingleStepTransResult.h"
#include "TransferCallArgument.h"
#include "TransferCallResult.h"

//  --- Helpers for the field types only call control uses -------------------------------------

//  Optional BOOLEAN into has + value (BER: any non-zero octet is TRUE).
static void s_bool_opt_from(const BOOLEAN_t *in, bool *has, bool *value)
{
    *has = in != NULL;
    *value = in && *in;
}

//  Optional IA5String (subjectOfCall, languagePreferences) from bytes: IA5String_t is an
//  OCTET_STRING_t, and these texts are passed through, not interpreted.
static int s_ia5_opt_to(const csta_bytes_t *b, IA5String_t **out)
{
    return csta_map_bytes_opt_to(b, (OCTET_STRING_t **) out);
}

//  Optional UserData ([APPLICATION 29] OCTET STRING, or implicitly retagged) from bytes.
static int s_user_data_opt_to(const csta_bytes_t *b, UserData_t **out)
{
    return csta_map_bytes_opt_to(b, (OCTET_STRING_t **) out);
}

//  Optional ConnectionList ([0] IMPLICIT connections of Transfer/Conference results).
static int s_conn_list_opt_to(const csta_conn_list_t *list, ConnectionList_t **out)
{
    if (!list->present)
        return 0;
    CSTA_MAP_NEW(ConnectionList_t, out);
    return csta_map_conn_list_to(list, *out);
}

static int s_conn_list_opt_from(const ConnectionList_t *in, csta_conn_list_t *list)
{
    if (!in) {
        memset(list, 0, sizeof *list);
        return 0;
    }
    return csta_map_conn_list_from(in, list);
}

//  Optional connection (pickedCall, conferencedCall of some results).
static int s_conn_opt_from(const ConnectionID_t *in, csta_conn_t *conn)
{
    if (!in) {
        memset(conn, 0, sizeof *conn);
        return 0;
    }
    return csta_map_conn_from(in, conn);
}

//  Optional device (pickGroup, targetDevice).
static int s_device_opt_from(const DeviceID_t *in, csta_device_t *dev)
{
    if (!in) {
        memset(dev, 0, sizeof *dev);
        return 0;
    }
    return csta_map_device_from(in, dev);
}

//  --- AlternateCall (1) ------------------------------------------------------------------------

static int s_alternate_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_alternate_call_arg_t *c = &a->call.alternate_call;
    AlternateCallArgument_t *m;
    CSTA_MAP_NEW(AlternateCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->held_call, &m->heldCall);
    if (!rc) rc = csta_map_conn_to(&c->active_call, &m->activeCall);
    if (!rc) rc = csta_map_bool_opt_to(c->connection_reservation, c->has_connection_reservation,
                                &m->connectionReservation);
    if (!rc) rc = csta_map_long_opt_to(c->consult_options, c->has_consult_options,
                                       &m->consultOptions);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_alternate_call_from(const void *asn, csta_apdu_t *a)
{
    const AlternateCallArgument_t *m = asn;
    csta_alternate_call_arg_t *c = &a->call.alternate_call;
    int rc = csta_map_conn_from(&m->heldCall, &c->held_call);
    if (!rc) rc = csta_map_conn_from(&m->activeCall, &c->active_call);
    s_bool_opt_from(m->connectionReservation, &c->has_connection_reservation,
                    &c->connection_reservation);
    csta_map_long_opt_from(m->consultOptions, &c->has_consult_options, &c->consult_options);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- AnswerCall (2) ---------------------------------------------------------------------------

static int s_answer_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_answer_call_arg_t *c = &a->call.answer_call;
    AnswerCallArgument_t *m;
    CSTA_MAP_NEW(AnswerCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->call_to_be_answered, &m->callToBeAnswered);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_answer_call_from(const void *asn, csta_apdu_t *a)
{
    const AnswerCallArgument_t *m = asn;
    csta_answer_call_arg_t *c = &a->call.answer_call;
    int rc = csta_map_conn_from(&m->callToBeAnswered, &c->call_to_be_answered);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- ClearCall (4) ----------------------------------------------------------------------------

static int s_clear_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_clear_call_arg_t *c = &a->call.clear_call;
    ClearCallArgument_t *m;
    CSTA_MAP_NEW(ClearCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->call_to_be_cleared, &m->callToBeCleared);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_cause_opt_to(c->reason, &m->reason);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_clear_call_from(const void *asn, csta_apdu_t *a)
{
    const ClearCallArgument_t *m = asn;
    csta_clear_call_arg_t *c = &a->call.clear_call;
    int rc = csta_map_conn_from(&m->callToBeCleared, &c->call_to_be_cleared);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    c->reason = csta_map_cause_opt_from(m->reason);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- ClearConnection (5) ----------------------------------------------------------------------

static int s_clear_connection_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_clear_connection_arg_t *c = &a->call.clear_connection;
    ClearConnectionArgument_t *m;
    CSTA_MAP_NEW(ClearConnectionArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->connection, &m->connectionToBeCleared);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_cause_opt_to(c->reason, &m->reason);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_clear_connection_from(const void *asn, csta_apdu_t *a)
{
    const ClearConnectionArgument_t *m = asn;
    csta_clear_connection_arg_t *c = &a->call.clear_connection;
    int rc = csta_map_conn_from(&m->connectionToBeCleared, &c->connection);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    c->reason = csta_map_cause_opt_from(m->reason);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- ConferenceCall (6) -----------------------------------------------------------------------

static int s_conference_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_conference_call_arg_t *c = &a->call.conference_call;
    ConferenceCallArgument_t *m;
    CSTA_MAP_NEW(ConferenceCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->held_call, &m->heldCall);
    if (!rc) rc = csta_map_conn_to(&c->active_call, &m->activeCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_conference_call_from(const void *asn, csta_apdu_t *a)
{
    const ConferenceCallArgument_t *m = asn;
    csta_conference_call_arg_t *c = &a->call.conference_call;
    int rc = csta_map_conn_from(&m->heldCall, &c->held_call);
    if (!rc) rc = csta_map_conn_from(&m->activeCall, &c->active_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_conference_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_conference_call_res_t *c = &a->call.conference_call_res;
    ConferenceCallResult_t *m;
    CSTA_MAP_NEW(ConferenceCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->conference_call, &m->conferenceCall);
    if (!rc) rc = s_conn_list_opt_to(&c->connections, &m->connections);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_conference_call_res_from(const void *asn, csta_apdu_t *a)
{
    const ConferenceCallResult_t *m = asn;
    csta_conference_call_res_t *c = &a->call.conference_call_res;
    int rc = csta_map_conn_from(&m->conferenceCall, &c->conference_call);
    if (!rc) rc = s_conn_list_opt_from(m->connections, &c->connections);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- ConsultationCall (7) ---------------------------------------------------------------------

static int s_consultation_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_consultation_call_arg_t *c = &a->call.consultation_call;
    ConsultationCallArgument_t *m;
    CSTA_MAP_NEW(ConsultationCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->existing_call, &m->existingCall);
    if (!rc) rc = csta_map_device_to(&c->consulted_device, &m->consultedDevice);
    if (!rc) rc = csta_map_bool_opt_to(c->connection_reservation, c->has_connection_reservation,
                                &m->connectionReservation);
    if (!rc) rc = csta_map_bytes_opt_to(&c->account_code, &m->accountCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->auth_code, &m->authCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_characteristics, &m->callCharacteristics);
    if (!rc) rc = csta_map_long_opt_to(c->consult_options, c->has_consult_options,
                                       &m->consultOptions);
    if (!rc) rc = s_ia5_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = s_ia5_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_consultation_call_from(const void *asn, csta_apdu_t *a)
{
    const ConsultationCallArgument_t *m = asn;
    csta_consultation_call_arg_t *c = &a->call.consultation_call;
    int rc = csta_map_conn_from(&m->existingCall, &c->existing_call);
    if (!rc) rc = csta_map_device_from(&m->consultedDevice, &c->consulted_device);
    s_bool_opt_from(m->connectionReservation, &c->has_connection_reservation,
                    &c->connection_reservation);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->accountCode, &c->account_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->authCode, &c->auth_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_wire_bits_from(m->callCharacteristics, &c->call_characteristics);
    csta_map_long_opt_from(m->consultOptions, &c->has_consult_options, &c->consult_options);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_consultation_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    ConsultationCallResult_t *m;
    CSTA_MAP_NEW(ConsultationCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&a->call.consultation_call_res.initiated_call, &m->initiatedCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_consultation_call_res_from(const void *asn, csta_apdu_t *a)
{
    const ConsultationCallResult_t *m = asn;
    int rc = csta_map_conn_from(&m->initiatedCall, &a->call.consultation_call_res.initiated_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- HoldCall (9) -----------------------------------------------------------------------------

static int s_hold_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_hold_call_arg_t *c = &a->call.hold_call;
    HoldCallArgument_t *m;
    CSTA_MAP_NEW(HoldCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->call_to_be_held, &m->callToBeHeld);
    if (!rc) rc = csta_map_bool_opt_to(c->connection_reservation, c->has_connection_reservation,
                                &m->connectionReservation);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_hold_call_from(const void *asn, csta_apdu_t *a)
{
    const HoldCallArgument_t *m = asn;
    csta_hold_call_arg_t *c = &a->call.hold_call;
    int rc = csta_map_conn_from(&m->callToBeHeld, &c->call_to_be_held);
    s_bool_opt_from(m->connectionReservation, &c->has_connection_reservation,
                    &c->connection_reservation);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- MakeCall (10) ----------------------------------------------------------------------------

static int s_make_call_arg_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_make_call_arg_t *c = &a->call.make_call;
    MakeCallArgument_t *m;
    CSTA_MAP_NEW(MakeCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&c->calling, &m->callingDevice);
    if (!rc) rc = csta_map_device_to(&c->called, &m->calledDirectoryNumber);
    if (!rc) rc = csta_map_bytes_opt_to(&c->account_code, &m->accountCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->auth_code, &m->authCode);
    if (!rc) rc = csta_map_long_opt_to(c->auto_originate, c->has_auto_originate, &m->autoOriginate);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_characteristics, &m->callCharacteristics);
    if (!rc) rc = s_ia5_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = s_ia5_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_long_opt_to(c->reason, c->has_reason, &m->reason);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_make_call_arg_from(const void *asn, csta_apdu_t *a)
{
    const MakeCallArgument_t *m = asn;
    csta_make_call_arg_t *c = &a->call.make_call;
    int rc = csta_map_device_from(&m->callingDevice, &c->calling);
    if (!rc) rc = csta_map_device_from(&m->calledDirectoryNumber, &c->called);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->accountCode, &c->account_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->authCode, &c->auth_code);
    csta_map_long_opt_from(m->autoOriginate, &c->has_auto_originate, &c->auto_originate);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_wire_bits_from(m->callCharacteristics, &c->call_characteristics);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    c->has_reason = m->reason != NULL;
    c->reason = csta_map_cause_opt_from(m->reason);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_make_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    MakeCallResult_t *m;
    CSTA_MAP_NEW(MakeCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&a->call.make_call_res.calling, &m->callingDevice);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_make_call_res_from(const void *asn, csta_apdu_t *a)
{
    const MakeCallResult_t *m = asn;
    int rc = csta_map_conn_from(&m->callingDevice, &a->call.make_call_res.calling);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- ReconnectCall (13) -----------------------------------------------------------------------

static int s_reconnect_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_reconnect_call_arg_t *c = &a->call.reconnect_call;
    ReconnectCallArgument_t *m;
    CSTA_MAP_NEW(ReconnectCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->active_call, &m->activeCall);
    if (!rc) rc = csta_map_conn_to(&c->held_call, &m->heldCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_reconnect_call_from(const void *asn, csta_apdu_t *a)
{
    const ReconnectCallArgument_t *m = asn;
    csta_reconnect_call_arg_t *c = &a->call.reconnect_call;
    int rc = csta_map_conn_from(&m->activeCall, &c->active_call);
    if (!rc) rc = csta_map_conn_from(&m->heldCall, &c->held_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- RetrieveCall (14) ------------------------------------------------------------------------

static int s_retrieve_call_to(const csta_apdu_t *a, void **asn_out)
{
    RetrieveCallArgument_t *m;
    CSTA_MAP_NEW(RetrieveCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&a->call.retrieve_call.call_to_be_retrieved, &m->callToBeRetrieved);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_retrieve_call_from(const void *asn, csta_apdu_t *a)
{
    const RetrieveCallArgument_t *m = asn;
    int rc = csta_map_conn_from(&m->callToBeRetrieved, &a->call.retrieve_call.call_to_be_retrieved);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- TransferCall (16) ------------------------------------------------------------------------

static int s_transfer_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_transfer_call_arg_t *c = &a->call.transfer_call;
    TransferCallArgument_t *m;
    CSTA_MAP_NEW(TransferCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->held_call, &m->heldCall);
    if (!rc) rc = csta_map_conn_to(&c->active_call, &m->activeCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_transfer_call_from(const void *asn, csta_apdu_t *a)
{
    const TransferCallArgument_t *m = asn;
    csta_transfer_call_arg_t *c = &a->call.transfer_call;
    int rc = csta_map_conn_from(&m->heldCall, &c->held_call);
    if (!rc) rc = csta_map_conn_from(&m->activeCall, &c->active_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_transfer_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_transfer_call_res_t *c = &a->call.transfer_call_res;
    TransferCallResult_t *m;
    CSTA_MAP_NEW(TransferCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->transferred_call, &m->transferredCall);
    if (!rc) rc = s_conn_list_opt_to(&c->connections, &m->connections);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_transfer_call_res_from(const void *asn, csta_apdu_t *a)
{
    const TransferCallResult_t *m = asn;
    csta_transfer_call_res_t *c = &a->call.transfer_call_res;
    int rc = csta_map_conn_from(&m->transferredCall, &c->transferred_call);
    if (!rc) rc = s_conn_list_opt_from(m->connections, &c->connections);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SingleStepConference (20) ----------------------------------------------------------------

static int s_single_step_conference_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_single_step_conference_arg_t *c = &a->call.single_step_conference;
    SingleStepConfArgument_t *m;
    CSTA_MAP_NEW(SingleStepConfArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->active_call, &m->activeCall);
    if (!rc) rc = csta_map_device_to(&c->device_to_join, &m->deviceToJoin);
    if (!rc) rc = csta_map_long_opt_to(c->participation_type, c->has_participation_type,
                                       &m->participationType);
    if (!rc) rc = csta_map_bytes_opt_to(&c->account_code, &m->accountCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->auth_code, &m->authCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = s_ia5_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = s_ia5_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_single_step_conference_from(const void *asn, csta_apdu_t *a)
{
    const SingleStepConfArgument_t *m = asn;
    csta_single_step_conference_arg_t *c = &a->call.single_step_conference;
    int rc = csta_map_conn_from(&m->activeCall, &c->active_call);
    if (!rc) rc = csta_map_device_from(&m->deviceToJoin, &c->device_to_join);
    csta_map_long_opt_from(m->participationType, &c->has_participation_type, &c->participation_type);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->accountCode, &c->account_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->authCode, &c->auth_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_single_step_conference_res_to(const csta_apdu_t *a, void **asn_out)
{
    SingleStepConfResult_t *m;
    CSTA_MAP_NEW(SingleStepConfResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&a->call.single_step_conference_res.conferenced_call,
                              &m->conferencedCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_single_step_conference_res_from(const void *asn, csta_apdu_t *a)
{
    const SingleStepConfResult_t *m = asn;
    int rc = csta_map_conn_from(&m->conferencedCall,
                                &a->call.single_step_conference_res.conferenced_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- SingleStepTransfer (50) ------------------------------------------------------------------

static int s_single_step_transfer_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_single_step_transfer_arg_t *c = &a->call.single_step_transfer;
    SingleStepTransArgument_t *m;
    CSTA_MAP_NEW(SingleStepTransArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->active_call, &m->activeCall);
    if (!rc) rc = csta_map_device_to(&c->transferred_to, &m->transferredTo);
    if (!rc) rc = csta_map_bytes_opt_to(&c->account_code, &m->accountCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->auth_code, &m->authCode);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_characteristics, &m->callCharacteristics);
    if (!rc) rc = s_ia5_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = s_ia5_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_cause_opt_to(c->reason, &m->reason);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_single_step_transfer_from(const void *asn, csta_apdu_t *a)
{
    const SingleStepTransArgument_t *m = asn;
    csta_single_step_transfer_arg_t *c = &a->call.single_step_transfer;
    int rc = csta_map_conn_from(&m->activeCall, &c->active_call);
    if (!rc) rc = csta_map_device_from(&m->transferredTo, &c->transferred_to);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->accountCode, &c->account_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->authCode, &c->auth_code);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_wire_bits_from(m->callCharacteristics, &c->call_characteristics);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    c->reason = csta_map_cause_opt_from(m->reason);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_single_step_transfer_res_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_single_step_transfer_res_t *c = &a->call.single_step_transfer_res;
    SingleStepTransResult_t *m;
    CSTA_MAP_NEW(SingleStepTransResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->transferred_call, &m->transferredCall);
    if (!rc) rc = s_conn_list_opt_to(&c->connections, &m->connections);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_single_step_transfer_res_from(const void *asn, csta_apdu_t *a)
{
    const SingleStepTransResult_t *m = asn;
    csta_single_step_transfer_res_t *c = &a->call.single_step_transfer_res;
    int rc = csta_map_conn_from(&m->transferredCall, &c->transferred_call);
    if (!rc) rc = s_conn_list_opt_from(m->connections, &c->connections);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- AcceptCall (214) -------------------------------------------------------------------------

static int s_accept_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_accept_call_arg_t *c = &a->call.accept_call;
    AcceptCallArgument_t *m;
    CSTA_MAP_NEW(AcceptCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->call_to_be_accepted, &m->callToBeAccepted);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_accept_call_from(const void *asn, csta_apdu_t *a)
{
    const AcceptCallArgument_t *m = asn;
    csta_accept_call_arg_t *c = &a->call.accept_call;
    int rc = csta_map_conn_from(&m->callToBeAccepted, &c->call_to_be_accepted);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- CallBack, call-related (215) -------------------------------------------------------------

static int s_call_back_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_call_back_arg_t *c = &a->call.call_back;
    CallBackArgument_t *m;
    CSTA_MAP_NEW(CallBackArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->callback_connection, &m->callbackConnection);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_characteristics, &m->callCharacteristics);
    if (!rc) rc = s_ia5_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = s_ia5_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_call_back_from(const void *asn, csta_apdu_t *a)
{
    const CallBackArgument_t *m = asn;
    csta_call_back_arg_t *c = &a->call.call_back;
    int rc = csta_map_conn_from(&m->callbackConnection, &c->callback_connection);
    if (!rc) rc = csta_map_wire_bits_from(m->callCharacteristics, &c->call_characteristics);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_call_back_res_to(const csta_apdu_t *a, void **asn_out)
{
    CallBackResult_t *m;
    CSTA_MAP_NEW(CallBackResult_t, &m);
    *asn_out = m;
    int rc = csta_map_device_opt_to(&a->call.call_back_res.target_device, &m->targetDevice);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_call_back_res_from(const void *asn, csta_apdu_t *a)
{
    const CallBackResult_t *m = asn;
    int rc = s_device_opt_from(m->targetDevice, &a->call.call_back_res.target_device);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- CampOnCall (217) -------------------------------------------------------------------------

static int s_camp_on_call_to(const csta_apdu_t *a, void **asn_out)
{
    CamponCallArgument_t *m;
    CSTA_MAP_NEW(CamponCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&a->call.camp_on_call.campon_connection, &m->camponConnection);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_camp_on_call_from(const void *asn, csta_apdu_t *a)
{
    const CamponCallArgument_t *m = asn;
    int rc = csta_map_conn_from(&m->camponConnection, &a->call.camp_on_call.campon_connection);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- DeflectCall (218) ------------------------------------------------------------------------

//  addNewDestinationsList: a SEQUENCE OF DeviceID, allocated only when given.
static int s_destinations_to(const csta_deflect_call_arg_t *c, CallDeviceIDList_t **out)
{
    if (!c->has_add_new_destinations)
        return 0;
    if (c->add_new_destinations_count > CSTA_DEFLECT_DESTINATIONS_MAX)
        return -EINVAL;
    CSTA_MAP_NEW(CallDeviceIDList_t, out);
    for (size_t i = 0; i < c->add_new_destinations_count; i++) {
        DeviceID_t *dev = calloc(1, sizeof *dev);
        if (!dev)
            return -ENOMEM;
        if (ASN_SEQUENCE_ADD(&(*out)->list, dev) != 0) {
            free(dev);
            return -ENOMEM;
        }
        int rc = csta_map_device_to(&c->add_new_destinations[i], dev);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_destinations_from(const CallDeviceIDList_t *in, csta_deflect_call_arg_t *c)
{
    c->has_add_new_destinations = in != NULL;
    c->add_new_destinations_count = 0;
    if (!in)
        return 0;
    if (in->list.count > CSTA_DEFLECT_DESTINATIONS_MAX)
        return -EMSGSIZE;
    for (int i = 0; i < in->list.count; i++) {
        int rc = csta_map_device_from(in->list.array[i], &c->add_new_destinations[i]);
        if (rc)
            return rc;
        c->add_new_destinations_count++;
    }
    return 0;
}

static int s_deflect_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_deflect_call_arg_t *c = &a->call.deflect_call;
    DeflectCallArgument_t *m;
    CSTA_MAP_NEW(DeflectCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->call_to_be_diverted, &m->callToBeDiverted);
    if (!rc) rc = csta_map_device_to(&c->new_destination, &m->newDestination);
    if (!rc) rc = s_destinations_to(c, &m->addNewDestinationsList);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_wire_bits_opt_to(&c->call_characteristics, &m->callCharacteristics);
    if (!rc) rc = s_ia5_opt_to(&c->subject_of_call, &m->subjectOfCall);
    if (!rc) rc = s_ia5_opt_to(&c->language_preferences, &m->languagePreferences);
    if (!rc) rc = csta_map_cause_opt_to(c->reason, &m->reason);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_deflect_call_from(const void *asn, csta_apdu_t *a)
{
    const DeflectCallArgument_t *m = asn;
    csta_deflect_call_arg_t *c = &a->call.deflect_call;
    int rc = csta_map_conn_from(&m->callToBeDiverted, &c->call_to_be_diverted);
    if (!rc) rc = csta_map_device_from(&m->newDestination, &c->new_destination);
    if (!rc) rc = s_destinations_from(m->addNewDestinationsList, c);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_wire_bits_from(m->callCharacteristics, &c->call_characteristics);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->subjectOfCall, &c->subject_of_call);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->languagePreferences, &c->language_preferences);
    c->reason = csta_map_cause_opt_from(m->reason);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- DialDigits (219) -------------------------------------------------------------------------

static int s_dial_digits_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_dial_digits_arg_t *c = &a->call.dial_digits;
    DialDigitsArgument_t *m;
    CSTA_MAP_NEW(DialDigitsArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->dialling_connection, &m->diallingConnection);
    if (!rc) rc = csta_map_device_to(&c->dialling_sequence, &m->diallingSequence);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_dial_digits_from(const void *asn, csta_apdu_t *a)
{
    const DialDigitsArgument_t *m = asn;
    csta_dial_digits_arg_t *c = &a->call.dial_digits;
    int rc = csta_map_conn_from(&m->diallingConnection, &c->dialling_connection);
    if (!rc) rc = csta_map_device_from(&m->diallingSequence, &c->dialling_sequence);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- DirectedPickupCall (220) -----------------------------------------------------------------

static int s_directed_pickup_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_directed_pickup_call_arg_t *c = &a->call.directed_pickup_call;
    DirectedPickupCallArgument_t *m;
    CSTA_MAP_NEW(DirectedPickupCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->call_to_be_picked_up, &m->callToBePickedUp);
    if (!rc) rc = csta_map_device_to(&c->requesting_device, &m->requestingDevice);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_directed_pickup_call_from(const void *asn, csta_apdu_t *a)
{
    const DirectedPickupCallArgument_t *m = asn;
    csta_directed_pickup_call_arg_t *c = &a->call.directed_pickup_call;
    int rc = csta_map_conn_from(&m->callToBePickedUp, &c->call_to_be_picked_up);
    if (!rc) rc = csta_map_device_from(&m->requestingDevice, &c->requesting_device);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_directed_pickup_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    DirectedPickupCallResult_t *m;
    CSTA_MAP_NEW(DirectedPickupCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_opt_to(&a->call.directed_pickup_call_res.picked_call, &m->pickedCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_directed_pickup_call_res_from(const void *asn, csta_apdu_t *a)
{
    const DirectedPickupCallResult_t *m = asn;
    int rc = s_conn_opt_from(m->pickedCall, &a->call.directed_pickup_call_res.picked_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- GroupPickupCall (221) --------------------------------------------------------------------

static int s_group_pickup_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_group_pickup_call_arg_t *c = &a->call.group_pickup_call;
    GroupPickupCallArgument_t *m;
    CSTA_MAP_NEW(GroupPickupCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&c->new_destination, &m->newDestination);
    if (!rc) rc = csta_map_device_opt_to(&c->pick_group, &m->pickGroup);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_group_pickup_call_from(const void *asn, csta_apdu_t *a)
{
    const GroupPickupCallArgument_t *m = asn;
    csta_group_pickup_call_arg_t *c = &a->call.group_pickup_call;
    int rc = csta_map_device_from(&m->newDestination, &c->new_destination);
    if (!rc) rc = s_device_opt_from(m->pickGroup, &c->pick_group);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_group_pickup_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    GroupPickupCallResult_t *m;
    CSTA_MAP_NEW(GroupPickupCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_opt_to(&a->call.group_pickup_call_res.picked_call, &m->pickedCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_group_pickup_call_res_from(const void *asn, csta_apdu_t *a)
{
    const GroupPickupCallResult_t *m = asn;
    int rc = s_conn_opt_from(m->pickedCall, &a->call.group_pickup_call_res.picked_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- IntrudeCall (222) ------------------------------------------------------------------------

static int s_intrude_call_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_intrude_call_arg_t *c = &a->call.intrude_call;
    IntrudeCallArgument_t *m;
    CSTA_MAP_NEW(IntrudeCallArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->intrude, &m->intrude);
    if (!rc) rc = csta_map_long_opt_to(c->participation_type, c->has_participation_type,
                                       &m->participationType);
    if (!rc) rc = s_user_data_opt_to(&c->user_data, &m->userData);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_intrude_call_from(const void *asn, csta_apdu_t *a)
{
    const IntrudeCallArgument_t *m = asn;
    csta_intrude_call_arg_t *c = &a->call.intrude_call;
    int rc = csta_map_conn_from(&m->intrude, &c->intrude);
    csta_map_long_opt_from(m->participationType, &c->has_participation_type, &c->participation_type);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

static int s_intrude_call_res_to(const csta_apdu_t *a, void **asn_out)
{
    IntrudeCallResult_t *m;
    CSTA_MAP_NEW(IntrudeCallResult_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_opt_to(&a->call.intrude_call_res.conferenced_call,
                                  &m->conferencedCall);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_intrude_call_res_from(const void *asn, csta_apdu_t *a)
{
    const IntrudeCallResult_t *m = asn;
    int rc = s_conn_opt_from(m->conferencedCall, &a->call.intrude_call_res.conferenced_call);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- GenerateDigits (232) ---------------------------------------------------------------------

static int s_generate_digits_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_generate_digits_arg_t *c = &a->call.generate_digits;
    GenerateDigitsArgument_t *m;
    CSTA_MAP_NEW(GenerateDigitsArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->connection_to_send_digits, &m->connectionToSendDigits);
    if (!rc) rc = csta_map_long_opt_to(c->digit_mode, c->has_digit_mode, &m->digitMode);
    if (!rc) rc = csta_map_text_to(c->characters_to_send, &m->charactersToSend);
    if (!rc) rc = csta_map_long_opt_to(c->tone_duration, c->has_tone_duration, &m->toneDuration);
    if (!rc) rc = csta_map_long_opt_to(c->pulse_rate, c->has_pulse_rate, &m->pulseRate);
    if (!rc) rc = csta_map_long_opt_to(c->pause_duration, c->has_pause_duration,
                                       &m->pauseDuration);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_generate_digits_from(const void *asn, csta_apdu_t *a)
{
    const GenerateDigitsArgument_t *m = asn;
    csta_generate_digits_arg_t *c = &a->call.generate_digits;
    int rc = csta_map_conn_from(&m->connectionToSendDigits, &c->connection_to_send_digits);
    csta_map_long_opt_from(m->digitMode, &c->has_digit_mode, &c->digit_mode);
    if (!rc) rc = csta_map_text_from(&m->charactersToSend, c->characters_to_send,
                                     sizeof c->characters_to_send);
    csta_map_long_opt_from(m->toneDuration, &c->has_tone_duration, &c->tone_duration);
    csta_map_long_opt_from(m->pulseRate, &c->has_pulse_rate, &c->pulse_rate);
    csta_map_long_opt_from(m->pauseDuration, &c->has_pause_duration, &c->pause_duration);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- CallBackNonCallRelated (300) -------------------------------------------------------------

static int s_call_back_non_call_related_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_call_back_non_call_related_arg_t *c = &a->call.call_back_non_call_related;
    CallBackNonCallRelatedArgument_t *m;
    CSTA_MAP_NEW(CallBackNonCallRelatedArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_device_to(&c->originating_device, &m->originatingDevice);
    if (!rc) rc = csta_map_device_to(&c->target_device, &m->targetDevice);
    if (!rc) rc = csta_map_ext_opt_to(&a->ext, &m->extensions);
    return rc;
}

static int s_call_back_non_call_related_from(const void *asn, csta_apdu_t *a)
{
    const CallBackNonCallRelatedArgument_t *m = asn;
    csta_call_back_non_call_related_arg_t *c = &a->call.call_back_non_call_related;
    int rc = csta_map_device_from(&m->originatingDevice, &c->originating_device);
    if (!rc) rc = csta_map_device_from(&m->targetDevice, &c->target_device);
    if (!rc) rc = csta_map_ext_opt_from(m->extensions, a);
    return rc;
}

//  --- Op table ---------------------------------------------------------------------------------

//  An operation whose result is CHOICE { extensions, noData } (NoDataResult).
#define S_OP_NO_DATA(code, name, arg, fn)                                                    \
    {code, name, &asn_DEF_##arg, s_##fn##_to, s_##fn##_from, NULL, NULL, NULL, true}
//  An operation with a result SEQUENCE of its own.
#define S_OP_RESULT(code, name, arg, fn, res)                                                \
    {code, name, &asn_DEF_##arg, s_##fn##_to, s_##fn##_from, &asn_DEF_##res, s_##fn##_res_to, \
     s_##fn##_res_from, false}

//  csta-facts.md 2.1, the call control rows with a Phase III definition.
const csta_op_map_t csta_call_ops[] = {
    S_OP_NO_DATA(CSTA_OP_ALTERNATE_CALL, "AlternateCall", AlternateCallArgument, alternate_call),
    S_OP_NO_DATA(CSTA_OP_ANSWER_CALL, "AnswerCall", AnswerCallArgument, answer_call),
    S_OP_NO_DATA(CSTA_OP_CLEAR_CALL, "ClearCall", ClearCallArgument, clear_call),
    S_OP_NO_DATA(CSTA_OP_CLEAR_CONNECTION, "ClearConnection", ClearConnectionArgument,
                 clear_connection),
    S_OP_RESULT(CSTA_OP_CONFERENCE_CALL, "ConferenceCall", ConferenceCallArgument,
                conference_call, ConferenceCallResult),
    S_OP_RESULT(CSTA_OP_CONSULTATION_CALL, "ConsultationCall", ConsultationCallArgument,
                consultation_call, ConsultationCallResult),
    S_OP_NO_DATA(CSTA_OP_HOLD_CALL, "HoldCall", HoldCallArgument, hold_call),
    {CSTA_OP_MAKE_CALL, "MakeCall", &asn_DEF_MakeCallArgument, s_make_call_arg_to,
     s_make_call_arg_from, &asn_DEF_MakeCallResult, s_make_call_res_to, s_make_call_res_from,
     false},
    S_OP_NO_DATA(CSTA_OP_RECONNECT_CALL, "ReconnectCall", ReconnectCallArgument, reconnect_call),
    S_OP_NO_DATA(CSTA_OP_RETRIEVE_CALL, "RetrieveCall", RetrieveCallArgument, retrieve_call),
    S_OP_RESULT(CSTA_OP_TRANSFER_CALL, "TransferCall", TransferCallArgument, transfer_call,
                TransferCallResult),
    S_OP_RESULT(CSTA_OP_SINGLE_STEP_CONFERENCE, "SingleStepConference", SingleStepConfArgument,
                single_step_conference, SingleStepConfResult),
    S_OP_RESULT(CSTA_OP_SINGLE_STEP_TRANSFER, "SingleStepTransfer", SingleStepTransArgument,
                single_step_transfer, SingleStepTransResult),
    S_OP_NO_DATA(CSTA_OP_ACCEPT_CALL, "AcceptCall", AcceptCallArgument, accept_call),
    S_OP_RESULT(CSTA_OP_CALL_BACK, "CallBack", CallBackArgument, call_back, CallBackResult),
    S_OP_NO_DATA(CSTA_OP_CAMP_ON_CALL, "CampOnCall", CamponCallArgument, camp_on_call),
    S_OP_NO_DATA(CSTA_OP_DEFLECT_CALL, "DeflectCall", DeflectCallArgument, deflect_call),
    S_OP_NO_DATA(CSTA_OP_DIAL_DIGITS, "DialDigits", DialDigitsArgument, dial_digits),
    S_OP_RESULT(CSTA_OP_DIRECTED_PICKUP_CALL, "DirectedPickupCall", DirectedPickupCallArgument,
                directed_pickup_call, DirectedPickupCallResult),
    S_OP_RESULT(CSTA_OP_GROUP_PICKUP_CALL, "GroupPickupCall", GroupPickupCallArgument,
                group_pickup_call, GroupPickupCallResult),
    S_OP_RESULT(CSTA_OP_INTRUDE_CALL, "IntrudeCall", IntrudeCallArgument, intrude_call,
                IntrudeCallResult),
    S_OP_NO_DATA(CSTA_OP_GENERATE_DIGITS, "GenerateDigits", GenerateDigitsArgument,
                 generate_digits),
    S_OP_NO_DATA(CSTA_OP_CALL_BACK_NON_CALL_RELATED, "CallBackNonCallRelated",
                 CallBackNonCallRelatedArgument, call_back_non_call_related),
};
const size_t csta_call_ops_count = sizeof csta_call_ops / sizeof csta_call_ops[0];
