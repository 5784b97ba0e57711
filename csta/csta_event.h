//  csta_event: CSTAEventReport (opcode 21) and its events (ECMA-269 clause 17.2 and
//  the call-associated, logical device feature and maintenance events).
#ifndef CSTA_EVENT_H
#define CSTA_EVENT_H

#include "csta_types.h"

//  Event types.  The value encodes the category (EventSpecificInfo CHOICE tag) times 100
//  plus the event's tag inside its category, so the wire tags can be derived from it.
typedef enum {
    CSTA_EV_NONE = -1,
    //  callControlEvents [0]
    CSTA_EV_BRIDGED = 0,
    CSTA_EV_CALL_CLEARED = 1,
    CSTA_EV_CONFERENCED = 2,
    CSTA_EV_CONNECTION_CLEARED = 3,
    CSTA_EV_DELIVERED = 4,
    CSTA_EV_DIGITS_DIALED = 5,
    CSTA_EV_DIVERTED = 6,
    CSTA_EV_ESTABLISHED = 7,
    CSTA_EV_FAILED = 8,
    CSTA_EV_HELD = 9,
    CSTA_EV_NETWORK_CAPABILITIES_CHANGED = 10,
    CSTA_EV_NETWORK_REACHED = 11,
    CSTA_EV_OFFERED = 12,
    CSTA_EV_ORIGINATED = 13,
    CSTA_EV_QUEUED = 14,
    CSTA_EV_RETRIEVED = 15,
    CSTA_EV_SERVICE_INITIATED = 16,
    CSTA_EV_TRANSFERRED = 17,
    //  callAssociatedEvents [1]
    CSTA_EV_CALL_INFORMATION = 100,
    CSTA_EV_CHARGING = 101,
    CSTA_EV_DIGITS_GENERATED = 102,
    CSTA_EV_TELEPHONY_TONES_GENERATED = 103,
    CSTA_EV_SERVICE_COMPLETION_FAILURE = 104,
    //  logicalDeviceFeatureEvents [4]
    CSTA_EV_AGENT_BUSY = 400,
    CSTA_EV_AGENT_LOGGED_ON = 401,
    CSTA_EV_AGENT_LOGGED_OFF = 402,
    CSTA_EV_AGENT_NOT_READY = 403,
    CSTA_EV_AGENT_READY = 404,
    CSTA_EV_AGENT_WORKING_AFTER_CALL = 405,
    CSTA_EV_AUTO_ANSWER = 406,
    CSTA_EV_AUTO_WORK_MODE = 407,
    CSTA_EV_CALL_BACK = 408,
    CSTA_EV_CALL_BACK_MESSAGE = 409,
    CSTA_EV_CALLER_ID_STATUS = 410,
    CSTA_EV_DO_NOT_DISTURB = 411,
    CSTA_EV_FORWARDING = 412,
    CSTA_EV_ROUTEING_MODE = 413,
    CSTA_EV_PRESENCE_STATE = 414,
    //  deviceMaintenanceEvents [5]
    CSTA_EV_BACK_IN_SERVICE = 500,
    CSTA_EV_DEVICE_CAPABILITIES_CHANGED = 501,
    CSTA_EV_OUT_OF_SERVICE = 502,
    CSTA_EV_PARTIALLY_IN_SERVICE = 503,
} csta_event_type_t;

#define CSTA_EV_CATEGORY(type) ((int)(type) / 100)
#define CSTA_EV_TAG(type) ((int)(type) % 100)

//  Delivered: a call is alerting at a device.
typedef struct {
    csta_conn_t connection;
    csta_device_t alerting;             //  SubjectDeviceID
    csta_device_t calling;              //  CallingDeviceID
    csta_device_t called;               //  CalledDeviceID
    csta_device_t last_redirection;     //  RedirectionDeviceID
    csta_conn_t originating_nid;        //  originatingNIDConnection (optional)
    csta_lcs_t local_state;             //  localConnectionInfo (optional)
    csta_bytes_t correlator;            //  [0] correlatorData
    csta_bytes_t user_data;
    int cause;
} csta_delivered_t;

typedef struct {
    csta_xref_t xref;                   //  crossRefIdentifier
    csta_event_type_t type;
    union {
        csta_delivered_t delivered;
    };
} csta_event_t;

//  "Delivered", "Established", ... for logs.
const char *csta_event_name(csta_event_type_t type);

#endif
