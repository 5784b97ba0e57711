//  csta_map_acse: asn1c <-> C mapping of the ACSE APDUs (csta_acse.h), including the
//  CSTA login in the authentication value and the CSTA version in the user information.
#include "csta_map.h"

#include <stdio.h>

#include "ACSEUserInformationForCSTA.h"
#include "ACSEapdu.h"
#include "Association-information.h"
#include "Authentication-value.h"
#include "CSTA-Authentication.h"
#include "External.h"


#define S_OID_ARCS_MAX 16

//  --- Small pieces ---------------------------------------------------------------------------

static int s_oid_from(const OBJECT_IDENTIFIER_t *oid, char *text, size_t cap)
{
    unsigned long arcs[S_OID_ARCS_MAX];
    int count = OBJECT_IDENTIFIER_get_arcs(oid, arcs, sizeof arcs[0], S_OID_ARCS_MAX);
    if (count < 2 || count > S_OID_ARCS_MAX)
        return -EBADMSG;
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i < count; i++) {
        int n = snprintf(text + used, cap - used, i ? ".%lu" : "%lu", arcs[i]);
        if (n < 0 || (size_t) n >= cap - used)
            return -EMSGSIZE;
        used += (size_t) n;
    }
    return 0;
}

static int s_oid_to(const char *text, OBJECT_IDENTIFIER_t *oid)
{
    unsigned long arcs[S_OID_ARCS_MAX];
    int count = 0;
    const char *p = text;
    while (*p && count < S_OID_ARCS_MAX) {
        char *end;
        arcs[count++] = strtoul(p, &end, 10);
        if (end == p || (*end && *end != '.'))
            return -EINVAL;
        p = *end ? end + 1 : end;
    }
    if (count < 2 || *p)
        return -EINVAL;
    return OBJECT_IDENTIFIER_set_arcs(oid, arcs, sizeof arcs[0], count) == 0 ? 0 : -ENOMEM;
}

//  --- Authentication (calling: sender-authentication; responding: receiver) -----------------

static int s_auth_from(const Authentication_value_t *av, csta_acse_t *acse)
{
    if (av->present != Authentication_value_PR_external)
        return 0;   //  charstring / bitstring logins are not CSTA's: ignore
    const External_t *ext = &av->choice.external;
    if (ext->encoding.present != External__encoding_PR_single_ASN1_type)
        return 0;
    CSTA_Authentication_t *auth = NULL;
    int rc = csta_codec_decode_type(&asn_DEF_CSTA_Authentication,
                                    ext->encoding.choice.single_ASN1_type.buf,
                                    (size_t) ext->encoding.choice.single_ASN1_type.size,
                                    (void **) &auth);
    if (rc)
        return rc;
    if (auth->present == CSTA_Authentication_PR_sender_authentication) {
        acse->has_login = true;
        rc = csta_map_text_from(&auth->choice.sender_authentication.authentication_name,
                                acse->user, sizeof acse->user);
        if (!rc)
            rc = csta_map_text_from(&auth->choice.sender_authentication.authentication_password,
                                    acse->password, sizeof acse->password);
    } else if (auth->present == CSTA_Authentication_PR_receiver_authentication) {
        acse->has_receiver_auth = true;
        rc = csta_map_text_from(&auth->choice.receiver_authentication.aps_stamp,
                                acse->aps_stamp, sizeof acse->aps_stamp);
        if (!rc)
            rc = csta_map_text_from(&auth->choice.receiver_authentication.system_version,
                                    acse->system_version, sizeof acse->system_version);
    }
    ASN_STRUCT_FREE(asn_DEF_CSTA_Authentication, auth);
    return rc;
}

static int s_auth_to(const csta_acse_t *acse, bool receiver, Authentication_value_t **out)
{
    if (receiver ? !acse->has_receiver_auth : !acse->has_login)
        return 0;
    CSTA_Authentication_t auth = {0};
    int rc;
    if (receiver) {
        auth.present = CSTA_Authentication_PR_receiver_authentication;
        rc = csta_map_text_to(acse->aps_stamp, &auth.choice.receiver_authentication.aps_stamp);
        if (!rc)
            rc = csta_map_text_to(acse->system_version,
                                  &auth.choice.receiver_authentication.system_version);
    } else {
        auth.present = CSTA_Authentication_PR_sender_authentication;
        rc = csta_map_text_to(acse->user, &auth.choice.sender_authentication.authentication_name);
        if (!rc)
            rc = csta_map_text_to(acse->password,
                                  &auth.choice.sender_authentication.authentication_password);
    }
    if (!rc) {
        *out = calloc(1, sizeof(Authentication_value_t));
        if (!*out)
            rc = -ENOMEM;
    }
    if (!rc) {
        (*out)->present = Authentication_value_PR_external;
        External_t *ext = &(*out)->choice.external;
        ext->encoding.present = External__encoding_PR_single_ASN1_type;
        rc = csta_codec_any_from_type(&asn_DEF_CSTA_Authentication, &auth,
                                      &ext->encoding.choice.single_ASN1_type);
    }
    ASN_STRUCT_FREE_CONTENTS_ONLY(asn_DEF_CSTA_Authentication, &auth);
    return rc;
}

//  --- User information: the CSTA version ------------------------------------------------------

static int s_user_info_from(const Association_information_t *info, csta_acse_t *acse)
{
    if (!info)
        return 0;
    for (int i = 0; i < info->list.count; i++) {
        const External_t *ext = info->list.array[i];
        char oid[CSTA_OID_MAX];
        if (!ext->direct_reference || s_oid_from(ext->direct_reference, oid, sizeof oid) ||
            strcmp(oid, CSTA_USER_INFO_OID) != 0 ||
            ext->encoding.present != External__encoding_PR_single_ASN1_type)
            continue;   //  another user information: not ours to read
        ACSEUserInformationForCSTA_t *ui = NULL;
        int rc = csta_codec_decode_type(&asn_DEF_ACSEUserInformationForCSTA,
                                        ext->encoding.choice.single_ASN1_type.buf,
                                        (size_t) ext->encoding.choice.single_ASN1_type.size,
                                        (void **) &ui);
        if (rc)
            return rc;
        if (ui->present == ACSEUserInformationForCSTA_PR_newDefinition)
            rc = csta_map_wire_bits_from(&ui->choice.newDefinition.cSTAVersion, &acse->csta_version);
        ASN_STRUCT_FREE(asn_DEF_ACSEUserInformationForCSTA, ui);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_user_info_to(const csta_acse_t *acse, Association_information_t **out)
{
    if (!acse->csta_version.present)
        return 0;
    ACSEUserInformationForCSTA_t ui = {0};
    ui.present = ACSEUserInformationForCSTA_PR_newDefinition;
    int rc = csta_map_wire_bits_to(&acse->csta_version, &ui.choice.newDefinition.cSTAVersion);
    if (rc)
        return rc;
    External_t *ext = calloc(1, sizeof *ext);
    *out = calloc(1, sizeof(Association_information_t));
    if (!ext || !*out) {
        free(ext);
        rc = -ENOMEM;
        goto done;
    }
    if (ASN_SEQUENCE_ADD(&(*out)->list, ext) != 0) {
        free(ext);
        rc = -ENOMEM;
        goto done;
    }
    ext->direct_reference = calloc(1, sizeof(OBJECT_IDENTIFIER_t));
    rc = ext->direct_reference ? s_oid_to(CSTA_USER_INFO_OID, ext->direct_reference) : -ENOMEM;
    if (!rc) {
        ext->encoding.present = External__encoding_PR_single_ASN1_type;
        rc = csta_codec_any_from_type(&asn_DEF_ACSEUserInformationForCSTA, &ui,
                                      &ext->encoding.choice.single_ASN1_type);
    }
done:
    ASN_STRUCT_FREE_CONTENTS_ONLY(asn_DEF_ACSEUserInformationForCSTA, &ui);
    return rc;
}

//  --- The APDUs ----------------------------------------------------------------------------------

int csta_map_acse_from(const ACSEapdu_t *in, csta_apdu_t *a)
{
    csta_acse_t *acse = &a->acse;
    int rc = 0;
    switch (in->present) {
    case ACSEapdu_PR_aarq: {
        const AARQ_apdu_t *q = &in->choice.aarq;
        a->kind = CSTA_APDU_AARQ;
        rc = csta_map_wire_bits_from(q->protocol_version, &acse->protocol_version);
        if (!rc) rc = s_oid_from(&q->application_context_name, acse->context, sizeof acse->context);
        if (!rc) rc = csta_map_wire_bits_from(q->sender_acse_requirements, &acse->acse_requirements);
        if (!rc && q->calling_authentication_value)
            rc = s_auth_from(q->calling_authentication_value, acse);
        if (!rc)
            rc = s_user_info_from(q->user_information, acse);
        return rc;
    }
    case ACSEapdu_PR_aare: {
        const AARE_apdu_t *r = &in->choice.aare;
        a->kind = CSTA_APDU_AARE;
        rc = csta_map_wire_bits_from(r->protocol_version, &acse->protocol_version);
        if (!rc) rc = s_oid_from(&r->application_context_name, acse->context, sizeof acse->context);
        acse->result = r->result;
        switch (r->result_source_diagnostic.present) {
        case Associate_source_diagnostic_PR_acse_service_user:
            acse->diag_source = CSTA_DIAG_SERVICE_USER;
            acse->diag = r->result_source_diagnostic.choice.acse_service_user;
            break;
        case Associate_source_diagnostic_PR_acse_service_provider:
            acse->diag_source = CSTA_DIAG_SERVICE_PROVIDER;
            acse->diag = r->result_source_diagnostic.choice.acse_service_provider;
            break;
        default:
            return -EBADMSG;
        }
        if (!rc) rc = csta_map_wire_bits_from(r->responder_acse_requirements, &acse->acse_requirements);
        if (!rc && r->responding_authentication_value)
            rc = s_auth_from(r->responding_authentication_value, acse);
        if (!rc)
            rc = s_user_info_from(r->user_information, acse);
        return rc;
    }
    case ACSEapdu_PR_rlrq:
        a->kind = CSTA_APDU_RLRQ;
        if (in->choice.rlrq.reason) {
            acse->has_reason = true;
            acse->reason = *in->choice.rlrq.reason;
        }
        return 0;
    case ACSEapdu_PR_rlre:
        a->kind = CSTA_APDU_RLRE;
        if (in->choice.rlre.reason) {
            acse->has_reason = true;
            acse->reason = *in->choice.rlre.reason;
        }
        return 0;
    case ACSEapdu_PR_abrt:
        a->kind = CSTA_APDU_ABRT;
        acse->abort_source = in->choice.abrt.abort_source;
        if (in->choice.abrt.abort_diagnostic) {
            acse->has_abort_diag = true;
            acse->abort_diag = *in->choice.abrt.abort_diagnostic;
        }
        return 0;
    default:
        return -EBADMSG;
    }
}

int csta_map_acse_to(const csta_apdu_t *a, ACSEapdu_t *out)
{
    const csta_acse_t *acse = &a->acse;
    int rc;
    switch (a->kind) {
    case CSTA_APDU_AARQ: {
        AARQ_apdu_t *q = &out->choice.aarq;
        out->present = ACSEapdu_PR_aarq;
        rc = csta_map_wire_bits_opt_to(&acse->protocol_version, &q->protocol_version);
        if (!rc) rc = s_oid_to(acse->context, &q->application_context_name);
        if (!rc) rc = csta_map_wire_bits_opt_to(&acse->acse_requirements, &q->sender_acse_requirements);
        if (!rc) rc = s_auth_to(acse, false, &q->calling_authentication_value);
        if (!rc) rc = s_user_info_to(acse, &q->user_information);
        return rc;
    }
    case CSTA_APDU_AARE: {
        AARE_apdu_t *r = &out->choice.aare;
        out->present = ACSEapdu_PR_aare;
        rc = csta_map_wire_bits_opt_to(&acse->protocol_version, &r->protocol_version);
        if (!rc) rc = s_oid_to(acse->context, &r->application_context_name);
        r->result = acse->result;
        if (acse->diag_source == CSTA_DIAG_SERVICE_PROVIDER) {
            r->result_source_diagnostic.present = Associate_source_diagnostic_PR_acse_service_provider;
            r->result_source_diagnostic.choice.acse_service_provider = acse->diag;
        } else {
            r->result_source_diagnostic.present = Associate_source_diagnostic_PR_acse_service_user;
            r->result_source_diagnostic.choice.acse_service_user = acse->diag;
        }
        if (!rc) rc = csta_map_wire_bits_opt_to(&acse->acse_requirements, &r->responder_acse_requirements);
        if (!rc) rc = s_auth_to(acse, true, &r->responding_authentication_value);
        if (!rc) rc = s_user_info_to(acse, &r->user_information);
        return rc;
    }
    case CSTA_APDU_RLRQ:
        out->present = ACSEapdu_PR_rlrq;
        return csta_map_long_opt_to(acse->reason, acse->has_reason, &out->choice.rlrq.reason);
    case CSTA_APDU_RLRE:
        out->present = ACSEapdu_PR_rlre;
        return csta_map_long_opt_to(acse->reason, acse->has_reason, &out->choice.rlre.reason);
    case CSTA_APDU_ABRT:
        out->present = ACSEapdu_PR_abrt;
        out->choice.abrt.abort_source = acse->abort_source;
        return csta_map_long_opt_to(acse->abort_diag, acse->has_abort_diag,
                                    &out->choice.abrt.abort_diagnostic);
    default:
        return -EINVAL;
    }
}
