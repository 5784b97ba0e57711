//  csta_map_call: asn1c <-> C mapping of the call control services (csta_call.h).
#include "csta_map.h"

#include "ClearConnectionArgument.h"
#include "MakeCallArgument.h"
#include "MakeCallResult.h"

//  --- MakeCall (10) -------------------------------------------------------------------------

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
    if (!rc) rc = csta_map_bytes_opt_to(&c->user_data, (OCTET_STRING_t **) &m->userData);
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
    if (!rc && m->autoOriginate) {
        c->has_auto_originate = true;
        c->auto_originate = *m->autoOriginate;
    }
    if (!rc) rc = csta_map_bytes_opt_from(a, m->correlatorData, &c->correlator);
    if (!rc) rc = csta_map_bytes_opt_from(a, m->userData, &c->user_data);
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

//  --- ClearConnection (5) ---------------------------------------------------------------------

static int s_clear_connection_to(const csta_apdu_t *a, void **asn_out)
{
    const csta_clear_connection_arg_t *c = &a->call.clear_connection;
    ClearConnectionArgument_t *m;
    CSTA_MAP_NEW(ClearConnectionArgument_t, &m);
    *asn_out = m;
    int rc = csta_map_conn_to(&c->connection, &m->connectionToBeCleared);
    if (!rc) rc = csta_map_bytes_opt_to(&c->correlator, &m->correlatorData);
    if (!rc) rc = csta_map_bytes_opt_to(&c->user_data, (OCTET_STRING_t **) &m->userData);
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

const csta_op_map_t csta_call_ops[] = {
    {CSTA_OP_MAKE_CALL, "MakeCall", &asn_DEF_MakeCallArgument, s_make_call_arg_to,
     s_make_call_arg_from, &asn_DEF_MakeCallResult, s_make_call_res_to, s_make_call_res_from,
     false},
    {CSTA_OP_CLEAR_CONNECTION, "ClearConnection", &asn_DEF_ClearConnectionArgument,
     s_clear_connection_to, s_clear_connection_from, NULL, NULL, NULL, true},
};
const size_t csta_call_ops_count = sizeof csta_call_ops / sizeof csta_call_ops[0];
