//  csta_event: CSTAEventReport (opcode 21) and its events (ECMA-269 clause 17.2 and
//  the call-associated, logical device feature and maintenance events).
//
//  Field names are the standard's in snake_case.  In the call events the device fields
//  drop their "Device" suffix as Delivered always did (alertingDevice -> alerting), and
//  correlatorData / localConnectionInfo are `correlator` / `local_state`.  Optional
//  fields: a `has_` flag, CSTA_DEV_ABSENT, conn.present false, bytes.data NULL,
//  CSTA_LCS_ABSENT or CSTA_CAUSE_ABSENT.  Fields the standard has and ctim does not
//  model (servicesPermitted, mediaCallCharacteristics, connection information, call
//  linkage data, subjectOfCall, messageInfo, languagePreferences, deviceHistory,
//  locationInfo) are accepted when decoding and not re-encoded.
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

#define CSTA_EV_LIST_MAX 8          //  devices in a DoNotDisturb callingDeviceList
#define CSTA_EV_PARTIES_MAX 4       //  parties per list of a ServiceCompletionFailure
#define CSTA_EV_DURATIONS_MAX 32    //  digit / pause durations of DigitsGenerated

//  --- Building blocks of the events -----------------------------------------------------


//  ECMA-285 call-control NetworkCapability (NetworkReached, NetworkCapabilitiesChanged).
typedef struct {
    bool present;
    //  iSDNPublic 0, nonISDNPublic 1, iSDNPrivate 2, nonISDNPrivate 3, other 4
    int network_type;
    bool has_events_provided;
    uint32_t events_provided;           //  bit n: call control event tag n (bridged 0 ...)
} csta_network_capability_t;

//  ServiceCompletionFailure's PrimaryOrSecondaryCall and OtherCall: a device, its
//  connection and that connection's state (mandatory in PrimaryOrSecondaryCall).
typedef struct {
    csta_device_t device_id;            //  DeviceID; kind ABSENT: the whole party is absent
    csta_conn_t connection_id;
    csta_lcs_t local_connection_state;
} csta_call_party_t;

typedef struct {
    bool present;
    size_t count;
    csta_call_party_t item[CSTA_EV_PARTIES_MAX];
} csta_call_party_list_t;

//  --- Call control events (category [0]) ---------------------------------------------------

//  Bridged [0]: a call appears at a bridged appearance.
typedef struct {
    csta_conn_t bridged_connection;
    csta_device_t bridged_appearance;   //  SubjectDeviceID
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    csta_bytes_t user_data;
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;      //  bit n = CallCharacteristics bit n (acdCall 0 ...)
} csta_bridged_t;

//  CallCleared [1]: the whole call is gone.
typedef struct {
    csta_conn_t cleared_call;
    csta_bytes_t correlator;            //  [1]
    csta_bytes_t user_data;
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_call_cleared_t;

//  Conferenced [2]: two calls were joined.  conference_connections maps the old
//  connections onto the conference call.
typedef struct {
    csta_conn_t primary_old_call;
    csta_conn_t secondary_old_call;     //  optional
    csta_device_t conferencing;         //  SubjectDeviceID
    csta_device_t added_party;          //  SubjectDeviceID
    csta_conn_list_t conference_connections;
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [1]
    csta_bytes_t user_data;
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_conferenced_t;

//  ConnectionCleared [3]: one device left the call.
typedef struct {
    csta_conn_t dropped_connection;
    csta_device_t releasing;            //  SubjectDeviceID
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    csta_bytes_t user_data;
    csta_charging_info_t charging_info; //  [1]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_connection_cleared_t;

//  Delivered [4]: a call is alerting at a device.
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
    csta_device_t network_calling;      //  optional NetworkCallingDeviceID
    csta_device_t network_called;       //  optional NetworkCalledDeviceID
    csta_device_t associated_calling;   //  optional AssociatedCallingDeviceID
    csta_device_t associated_called;    //  optional AssociatedCalledDeviceID
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_delivered_t;

//  DigitsDialed [5]: a device dialled digits on a connection.
typedef struct {
    csta_conn_t dialing_connection;
    csta_device_t dialing;              //  SubjectDeviceID
    csta_device_t dialing_sequence;     //  DeviceID: the digits
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    int cause;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_digits_dialed_t;

//  Diverted [6]: a call left a device for another one (forwarding, deflection, pickup).
typedef struct {
    csta_conn_t connection;
    csta_device_t diverting;            //  SubjectDeviceID
    csta_device_t new_destination;      //  SubjectDeviceID
    csta_device_t calling;              //  optional CallingDeviceID
    csta_device_t called;               //  optional CalledDeviceID
    csta_device_t last_redirection;
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    csta_bytes_t user_data;
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
} csta_diverted_t;

//  Established [7]: a device answered.
typedef struct {
    csta_conn_t established_connection;
    csta_device_t answering;            //  SubjectDeviceID
    csta_device_t calling;
    csta_device_t called;
    csta_device_t last_redirection;
    csta_conn_t originating_nid;
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [1]
    csta_bytes_t user_data;
    int cause;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_established_t;

//  Failed [8]: a call cannot complete (busy, unobtainable, ...).
typedef struct {
    csta_conn_t failed_connection;
    csta_device_t failing;              //  SubjectDeviceID
    csta_device_t calling;
    csta_device_t called;
    csta_device_t last_redirection;
    csta_conn_t originating_nid;
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    csta_bytes_t user_data;
    int cause;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_failed_t;

//  Held [9]: a connection was put on hold.
typedef struct {
    csta_conn_t held_connection;
    csta_device_t holding;              //  SubjectDeviceID
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_held_t;

//  NetworkCapabilitiesChanged [10]: the network reported progress on an outbound call.
typedef struct {
    csta_conn_t outbound_connection;
    csta_device_t network_interface_used;   //  SubjectDeviceID
    csta_device_t called;               //  CalledDeviceID
    int progress_location;              //  ProgressIndicator: user 0 ... other 9
    int progress_description;           //  iSDNProgressDesc 0, qSIGProgressDesc 1, other 2
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  untagged here
    csta_bytes_t user_data;
    csta_network_capability_t network_capability;   //  [0]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_network_capabilities_changed_t;

//  NetworkReached [11]: an outbound call left the switch through a trunk.
typedef struct {
    csta_conn_t outbound_connection;
    csta_device_t network_interface_used;   //  SubjectDeviceID
    csta_device_t calling;
    csta_device_t called;
    csta_device_t last_redirection;
    csta_conn_t originating_nid;
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    csta_bytes_t user_data;
    csta_network_capability_t network_capability;   //  [1]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
} csta_network_reached_t;

//  Offered [12]: a call is offered to a device before it alerts.
typedef struct {
    csta_conn_t offered_connection;
    csta_device_t offered;              //  SubjectDeviceID
    csta_device_t calling;
    csta_device_t called;
    csta_device_t last_redirection;
    csta_conn_t originating_nid;
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  untagged here
    csta_bytes_t user_data;
    int cause;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_offered_t;

//  Originated [13]: a device placed a call (the number is complete).
typedef struct {
    csta_conn_t originated_connection;
    csta_device_t calling;              //  a SubjectDeviceID in this event
    csta_device_t called;               //  CalledDeviceID
    csta_device_t originating;          //  optional DeviceID
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [2]
    int cause;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_originated_t;

//  Queued [14]: a call waits in a queue (ACD group, hunt group, busy device).
typedef struct {
    csta_conn_t queued_connection;
    csta_device_t queue;                //  SubjectDeviceID
    csta_device_t calling;
    csta_device_t called;
    csta_device_t last_redirection;
    bool has_number_queued;
    long number_queued;                 //  [0]
    bool has_calls_in_front;
    long calls_in_front;                //  [1]
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [2]
    csta_bytes_t user_data;
    int cause;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
    csta_device_t associated_called;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_queued_t;

//  Retrieved [15]: a held connection is active again.
typedef struct {
    csta_conn_t retrieved_connection;
    csta_device_t retrieving;           //  SubjectDeviceID
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_retrieved_t;

//  ServiceInitiated [16]: a device went off-hook or a call is being set up for it.
typedef struct {
    csta_conn_t initiated_connection;
    csta_device_t initiating;           //  SubjectDeviceID
    csta_device_t called;               //  optional CalledDeviceID
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [0]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
    csta_device_t network_calling;
    csta_device_t network_called;
    csta_device_t associated_calling;
} csta_service_initiated_t;

//  Transferred [17]: a call moved to another device; transferred_connections maps the
//  old connections onto the resulting call.
typedef struct {
    csta_conn_t primary_old_call;
    csta_conn_t secondary_old_call;     //  [0] IMPLICIT, optional
    csta_device_t transferring;         //  SubjectDeviceID
    csta_device_t transferred_to;       //  SubjectDeviceID
    csta_conn_list_t transferred_connections;   //  [1] IMPLICIT, mandatory
    csta_lcs_t local_state;
    csta_bytes_t correlator;            //  [2]
    csta_bytes_t user_data;
    csta_charging_info_t charging_info; //  [3]
    int cause;
    bool has_call_characteristics;
    uint32_t call_characteristics;
} csta_transferred_t;

//  --- Call associated events (category [1]) -----------------------------------------------

//  CallInformation [0]: account, authorisation or user data entered for a call.
typedef struct {
    csta_conn_t connection;
    csta_device_t device;               //  SubjectDeviceID
    csta_device_t calling;              //  optional CallingDeviceID
    csta_bytes_t account_info;          //  [0]
    csta_bytes_t auth_code;             //  [1]
    csta_bytes_t correlator;            //  [2]
    csta_bytes_t user_data;
    csta_bytes_t call_qualifying_data;  //  [4]
    bool has_call_characteristics;
    uint32_t call_characteristics;      //  [6]
    csta_device_t device_info;          //  [9] IMPLICIT DeviceID, optional
} csta_call_information_t;

//  Charging [1]: charge information for a call.
typedef struct {
    csta_conn_t connection;
    csta_device_t charged_device;       //  DeviceID
    csta_charging_info_t charging_info; //  mandatory here
    int cause;                          //  optional
} csta_charging_t;

//  DigitsGenerated [2]: the switch sent DTMF or pulse digits on a connection.
typedef struct {
    csta_conn_t connection;
    char digit_generated_list[CSTA_DIGITS_MAX + 1];
    bool has_digit_duration_list;       //  [0], ms per digit
    size_t digit_duration_count;
    long digit_duration_list[CSTA_EV_DURATIONS_MAX];
    bool has_pause_duration_list;       //  [1], ms between digits
    size_t pause_duration_count;
    long pause_duration_list[CSTA_EV_DURATIONS_MAX];
} csta_digits_generated_t;

//  TelephonyTonesGenerated [3]: the switch played a tone on a connection.
typedef struct {
    csta_conn_t connection;
    bool has_tone_generated;
    //  TelephonyTone: beep 0 ... sitNC 19, then switchSpec0..switchSpec100 = 20..120
    int tone_generated;
    bool has_tone_frequency;
    long tone_frequency;                //  [0]
    bool has_tone_duration;
    long tone_duration;                 //  [1]
    bool has_pause_duration;
    long pause_duration;                //  [2]
} csta_telephony_tones_generated_t;

//  ServiceCompletionFailure [4]: a service on a call failed and left the connections
//  in the states given here.
typedef struct {
    csta_call_party_t primary_call;
    csta_call_party_t secondary_call;   //  [0], optional (device_id kind ABSENT)
    csta_call_party_list_t other_devs_primary_call_list;    //  [1]
    csta_call_party_list_t other_devs_secondary_call_list;  //  [2]
    int cause;
} csta_service_completion_failure_t;

//  --- Logical device feature events (category [4]) -----------------------------------------

//  One shape for the six agent events (AgentBusy, AgentLoggedOn, AgentLoggedOff,
//  AgentNotReady, AgentReady, AgentWorkingAfterCall).  Not every event has every field:
//  pending_agent_state only in AgentBusy and AgentWorkingAfterCall, agent_password only in
//  AgentLoggedOn/Off; a field the event lacks is not encoded and stays absent when
//  decoding.
typedef struct {
    csta_device_t agent_device;         //  SubjectDeviceID
    csta_bytes_t agent_id;
    csta_device_t acd_group;            //  optional DeviceID
    bool has_pending_agent_state;
    //  AgentBusy: agentNotReady 0, agentNull 1, agentReady 2, agentWorkingAfterCall 3;
    //  AgentWorkingAfterCall has its own enumeration: notReady 0, ready 1, null 2.
    int pending_agent_state;
    csta_bytes_t agent_password;
    int cause;                          //  optional
} csta_agent_event_t;

//  AutoAnswer [6].
typedef struct {
    csta_device_t invoking_device;      //  SubjectDeviceID
    bool auto_answer_on;
    bool has_number_of_rings;
    long number_of_rings;
} csta_auto_answer_t;

//  AutoWorkMode [7].
typedef struct {
    csta_device_t invoking_device;
    bool auto_work_on;
    long auto_work_interval;
} csta_auto_work_mode_t;

//  One shape for CallBack [8] and CallBackMessage [9]; set_canceled is callBackSetCanceled
//  or callBackMsgSetCanceled (true: the request was cancelled).
typedef struct {
    csta_device_t originating_device;   //  SubjectDeviceID
    csta_device_t target_device;        //  SubjectDeviceID
    bool set_canceled;
} csta_call_back_event_t;

//  CallerIDStatus [10].
typedef struct {
    csta_device_t device;               //  a plain DeviceID here
    bool caller_id_provided;
} csta_caller_id_status_t;

//  DoNotDisturb [11]: DND switched on or off at a device.
typedef struct {
    csta_device_t device;               //  SubjectDeviceID
    bool do_not_disturb_on;
    bool has_call_origination;
    uint32_t call_origination;          //  bit 0 internal, bit 1 external
    bool has_calling_device_list;
    size_t calling_device_count;
    csta_device_t calling_device_list[CSTA_EV_LIST_MAX];
} csta_do_not_disturb_t;

//  Forwarding [12]: a forwarding of a device was set or cleared.
typedef struct {
    csta_device_t device;               //  SubjectDeviceID
    bool has_forwarding_type;
    int forwarding_type;                //  forwardImmediate 0 ... (csta-facts.md 2.1)
    bool forward_status;                //  true: active
    csta_device_t forward_to;           //  optional DeviceID
    bool has_forward_default;
    //  forwardingTypeAndForwardDN 0, forwardingType 1, forwardDN 2
    int forward_default;
    bool has_ring_count;
    long ring_count;                    //  1..100
    bool has_ring_duration;
    long ring_duration;                 //  [4]
} csta_forwarding_t;

//  RouteingMode [13].
typedef struct {
    csta_device_t device;               //  SubjectDeviceID
    bool routeing_mode;
} csta_routeing_mode_t;

//  PresenceState [14].
typedef struct {
    csta_device_t device;               //  SubjectDeviceID
    uint32_t presence_state;            //  bit n: available 0, away 1, busy 2, ... vacation 8
    char from_time[CSTA_TIME_MAX + 1];  //  [0] GeneralizedTime, "" if absent
    char until_time[CSTA_TIME_MAX + 1]; //  [1]
    csta_bytes_t place;                 //  [2]
    csta_bytes_t mood;                  //  [3]
    csta_bytes_t named_presence_state;  //  [4]
} csta_presence_state_t;

//  --- Device maintenance events (category [5]) ----------------------------------------------

//  One shape for BackInService, DeviceCapabilitiesChanged, OutOfService and
//  PartiallyInService.
typedef struct {
    csta_device_t device;               //  SubjectDeviceID
    int cause;                          //  optional
} csta_device_maintenance_t;

//  --- The report -------------------------------------------------------------------------------

//  A decoded event of a category or tag ctim does not model has type CSTA_EV_NONE and
//  only xref set; encoding a CSTA_EV_NONE event fails with -EINVAL.
typedef struct {
    csta_xref_t xref;                   //  crossRefIdentifier
    csta_event_type_t type;
    union {
        csta_bridged_t bridged;
        csta_call_cleared_t call_cleared;
        csta_conferenced_t conferenced;
        csta_connection_cleared_t connection_cleared;
        csta_delivered_t delivered;
        csta_digits_dialed_t digits_dialed;
        csta_diverted_t diverted;
        csta_established_t established;
        csta_failed_t failed;
        csta_held_t held;
        csta_network_capabilities_changed_t network_capabilities_changed;
        csta_network_reached_t network_reached;
        csta_offered_t offered;
        csta_originated_t originated;
        csta_queued_t queued;
        csta_retrieved_t retrieved;
        csta_service_initiated_t service_initiated;
        csta_transferred_t transferred;

        csta_call_information_t call_information;
        csta_charging_t charging;
        csta_digits_generated_t digits_generated;
        csta_telephony_tones_generated_t telephony_tones_generated;
        csta_service_completion_failure_t service_completion_failure;

        csta_agent_event_t agent_busy;
        csta_agent_event_t agent_logged_on;
        csta_agent_event_t agent_logged_off;
        csta_agent_event_t agent_not_ready;
        csta_agent_event_t agent_ready;
        csta_agent_event_t agent_working_after_call;
        csta_auto_answer_t auto_answer;
        csta_auto_work_mode_t auto_work_mode;
        csta_call_back_event_t call_back;
        csta_call_back_event_t call_back_message;
        csta_caller_id_status_t caller_id_status;
        csta_do_not_disturb_t do_not_disturb;
        csta_forwarding_t forwarding;
        csta_routeing_mode_t routeing_mode;
        csta_presence_state_t presence_state;

        csta_device_maintenance_t back_in_service;
        csta_device_maintenance_t device_capabilities_changed;
        csta_device_maintenance_t out_of_service;
        csta_device_maintenance_t partially_in_service;
    };
} csta_event_t;

//  "Delivered", "Established", ... for logs; "none" for CSTA_EV_NONE, "?" otherwise.
const char *csta_event_name(csta_event_type_t type);

#endif
