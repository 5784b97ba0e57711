//  csta_error: ROSE ReturnError with the CSTA UniversalFailure parameter
//  (ECMA-285 CSTA-error-definition, csta-facts.md 2.6) and ROSE Reject problems.
#ifndef CSTA_ERROR_H
#define CSTA_ERROR_H

#include <stdbool.h>

//  ROSE errcode of every CSTA error.
#define CSTA_ERRCODE_UNIVERSAL_FAILURE 1

//  UniversalFailure CHOICE alternatives; the value is the tag.
typedef enum {
    CSTA_ERR_OPERATION = 0,
    CSTA_ERR_SECURITY = 1,
    CSTA_ERR_STATE = 2,                 //  stateIncompatibility
    CSTA_ERR_SYSTEM_RESOURCE = 3,       //  systemResourceAvailability
    CSTA_ERR_SUBSCRIBED_RESOURCE = 4,   //  subscribedResourceAvailability
    CSTA_ERR_PERFORMANCE = 5,           //  performanceManagement
    CSTA_ERR_PRIVATE_DATA = 6,
    CSTA_ERR_UNSPECIFIED = 7,           //  NULL; value ignored
} csta_err_category_t;

//  Values ctim uses; the wire carries any value of the category.
enum {
    //  OperationErrors
    CSTA_OPERR_GENERIC = 1,
    CSTA_OPERR_REQUEST_INCOMPATIBLE_WITH_OBJECT = 2,
    CSTA_OPERR_VALUE_OUT_OF_RANGE = 3,
    CSTA_OPERR_OBJECT_NOT_KNOWN = 4,
    CSTA_OPERR_INVALID_CALLING_DEVICE = 5,
    CSTA_OPERR_INVALID_CALLED_DEVICE = 6,
    CSTA_OPERR_INVALID_FORWARDING_DESTINATION = 7,
    CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE = 8,
    CSTA_OPERR_PRIVILEGE_VIOLATION_CALLED_DEVICE = 9,
    CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE = 10,
    CSTA_OPERR_INVALID_CALL_ID = 11,
    CSTA_OPERR_INVALID_DEVICE_ID = 12,
    CSTA_OPERR_INVALID_CONNECTION_ID = 13,
    CSTA_OPERR_INVALID_DESTINATION = 14,
    CSTA_OPERR_INVALID_FEATURE = 15,
    CSTA_OPERR_INVALID_CROSS_REF_ID = 17,
    CSTA_OPERR_SECURITY_VIOLATION = 19,
    CSTA_OPERR_FEATURE_ALREADY_SET = 30,
    CSTA_OPERR_INVALID_PARAMETER_VALUE = 31,
    CSTA_OPERR_SERVICE_NOT_SUPPORTED = 50,
    CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID = 60,
    CSTA_OPERR_INVALID_MONITOR_FILTER = 61,
    CSTA_OPERR_INVALID_MONITOR_OBJECT = 62,
    CSTA_OPERR_PARAMETER_NOT_SUPPORTED = 98,
    //  SecurityErrors
    CSTA_SECERR_GENERIC = 0,
    //  StateIncompatibilityErrors
    CSTA_STERR_GENERIC = 1,
    CSTA_STERR_INVALID_OBJECT_STATE = 2,
    CSTA_STERR_INVALID_CONNECTION_ID_FOR_ACTIVE_CALL = 3,
    CSTA_STERR_NO_ACTIVE_CALL = 4,
    CSTA_STERR_NO_HELD_CALL = 5,
    CSTA_STERR_NO_CALL_TO_CLEAR = 6,
    CSTA_STERR_NO_CONNECTION_TO_CLEAR = 7,
    CSTA_STERR_NO_CALL_TO_ANSWER = 8,
    CSTA_STERR_NO_CALL_TO_COMPLETE = 9,
    CSTA_STERR_INVALID_DEVICE_STATE = 15,
    CSTA_STERR_CONNECTED_CALL_EXISTS = 16,
    CSTA_STERR_INVALID_CALLED_DEVICE_STATE = 18,
    CSTA_STERR_INVALID_CALLING_DEVICE_STATE = 19,
    CSTA_STERR_INVALID_CONNECTION_STATE = 25,
    //  SystemResourceAvailabilityErrors
    CSTA_SYSERR_GENERIC = 1,
    CSTA_SYSERR_RESOURCE_BUSY = 2,
    CSTA_SYSERR_RESOURCE_OUT_OF_SERVICE = 4,
    CSTA_SYSERR_OVERALL_MONITOR_LIMIT_EXCEEDED = 7,
    CSTA_SYSERR_DEVICE_OUT_OF_SERVICE = 15,
    CSTA_SYSERR_RESOURCE_LIMIT_EXCEEDED = 26,
    //  SubscribedResourceAvailabilityErrors
    CSTA_SUBERR_GENERIC = 1,
    CSTA_SUBERR_OBJECT_MONITOR_LIMIT_EXCEEDED = 2,
    CSTA_SUBERR_OUTSTANDING_REQ_LIMIT_EXCEEDED = 4,
    //  PerformanceManagementErrors
    CSTA_PERFERR_GENERIC = 1,
    CSTA_PERFERR_PERFORMANCE_LIMIT_EXCEEDED = 2,
};

//  A ReturnError.  errcode is 1 (universalFailure) for every CSTA error; any other
//  errcode is carried with has_parameter false.
typedef struct {
    long errcode;
    bool has_parameter;
    csta_err_category_t category;
    long value;
} csta_error_t;

//  ROSE Reject problem kinds (the tag of the problem CHOICE).
typedef enum {
    CSTA_REJECT_GENERAL = 0,
    CSTA_REJECT_INVOKE = 1,
    CSTA_REJECT_RETURN_RESULT = 2,
    CSTA_REJECT_RETURN_ERROR = 3,
} csta_reject_kind_t;

enum {
    CSTA_REJ_GENERAL_UNRECOGNIZED_PDU = 0,
    CSTA_REJ_GENERAL_MISTYPED_PDU = 1,
    CSTA_REJ_GENERAL_BADLY_STRUCTURED_PDU = 2,
    CSTA_REJ_INVOKE_DUPLICATE_INVOCATION = 0,
    CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION = 1,
    CSTA_REJ_INVOKE_MISTYPED_ARGUMENT = 2,
    CSTA_REJ_INVOKE_RESOURCE_LIMITATION = 3,
    CSTA_REJ_RESULT_UNRECOGNIZED_INVOCATION = 0,
    CSTA_REJ_RESULT_MISTYPED_RESULT = 2,
};

typedef struct {
    bool invoke_id_absent;              //  the invokeId CHOICE is `absent` (NULL)
    csta_reject_kind_t kind;
    long problem;
} csta_reject_t;

const char *csta_err_category_str(csta_err_category_t category);

#endif
