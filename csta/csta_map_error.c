//  csta_map_error: asn1c <-> C mapping of the UniversalFailure error parameter.
#include "csta_map.h"

#include "UniversalFailure.h"

//  The CHOICE alternatives follow the category tags 0..7 in order, and every
//  alternative but `unspecified` is an ENUMERATED held as a long in the union.
int csta_map_error_to(const csta_error_t *err, UniversalFailure_t *out)
{
    if (err->category < CSTA_ERR_OPERATION || err->category > CSTA_ERR_UNSPECIFIED)
        return -EINVAL;
    out->present = (UniversalFailure_PR) (UniversalFailure_PR_operation + (int) err->category);
    switch (err->category) {
    case CSTA_ERR_OPERATION: out->choice.operation = err->value; break;
    case CSTA_ERR_SECURITY: out->choice.security = err->value; break;
    case CSTA_ERR_STATE: out->choice.stateIncompatibility = err->value; break;
    case CSTA_ERR_SYSTEM_RESOURCE: out->choice.systemResourceAvailability = err->value; break;
    case CSTA_ERR_SUBSCRIBED_RESOURCE:
        out->choice.subscribedResourceAvailability = err->value;
        break;
    case CSTA_ERR_PERFORMANCE: out->choice.performanceManagement = err->value; break;
    case CSTA_ERR_PRIVATE_DATA: out->choice.privateData = err->value; break;
    case CSTA_ERR_UNSPECIFIED: break;
    }
    return 0;
}

int csta_map_error_from(const UniversalFailure_t *in, csta_error_t *err)
{
    switch (in->present) {
    case UniversalFailure_PR_operation: err->value = in->choice.operation; break;
    case UniversalFailure_PR_security: err->value = in->choice.security; break;
    case UniversalFailure_PR_stateIncompatibility:
        err->value = in->choice.stateIncompatibility;
        break;
    case UniversalFailure_PR_systemResourceAvailability:
        err->value = in->choice.systemResourceAvailability;
        break;
    case UniversalFailure_PR_subscribedResourceAvailability:
        err->value = in->choice.subscribedResourceAvailability;
        break;
    case UniversalFailure_PR_performanceManagement:
        err->value = in->choice.performanceManagement;
        break;
    case UniversalFailure_PR_privateData: err->value = in->choice.privateData; break;
    case UniversalFailure_PR_unspecified: err->value = 0; break;
    default: return -EBADMSG;
    }
    err->category = (csta_err_category_t) (in->present - UniversalFailure_PR_operation);
    return 0;
}
