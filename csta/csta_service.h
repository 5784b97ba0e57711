//  csta_service: arguments and results of the non-call services: monitoring
//  (ECMA-269 clause 15), snapshot, system status and registration, escape, CDR,
//  switching function devices, device features (forwarding, do-not-disturb, display).
//
//  Field names follow the standard's in snake_case.  Optional fields: a `has_` flag, an
//  ABSENT device kind, `present == false` on a connection or bit string, data NULL on
//  csta_bytes_t, "" on text, CSTA_LCS_ABSENT.  Lists (device lists, snapshot items, CDR
//  records, forwarding entries) are a count and a pointer: in a decoded message the
//  array lives in the message's arena (freed by csta_apdu_clear), in a message being
//  built it may point anywhere that outlives the encode call.
#ifndef CSTA_SERVICE_H
#define CSTA_SERVICE_H

#include "csta_acse.h"      //  csta_bits_t: a BIT STRING kept exactly as on the wire
#include "csta_types.h"

#define CSTA_LIST_MAX 4096          //  longest list decoded from a peer (-EMSGSIZE beyond)
#define CSTA_CDR_RECORDS_MAX 128    //  CDR records per report: numberOfRecordsSent (1..128)
#define CSTA_COMPOUND_MAX 4         //  connection states in a compound call state
#define CSTA_DISPLAY_MAX 240        //  SetDisplay contentsOfDisplay, IA5String (SIZE(0..240))
#define CSTA_MODEL_NAME_MAX 64      //  deviceModelName, IA5String (SIZE(0..64))

//  --- Monitoring ------------------------------------------------------------------------------

//  MonitorFilter: one bit string per event category; a set bit means "do not report"
//  (filter bit positions differ from event tags: csta-facts.md 2.3).
typedef struct {
    bool present;                       //  requestedMonitorFilter given at all
    uint32_t call_control;              //  [0]
    uint32_t call_associated;           //  [6]
    uint32_t media_attachment;          //  [7]
    uint32_t physical_device_feature;   //  [8]
    uint32_t logical_device_feature;    //  [9]
    uint32_t maintenance;               //  [3]
    uint32_t voice_unit;                //  [5]
    uint32_t private_filter;            //  [4]
    uint16_t sent;                      //  bit per [n] tag: element present on the wire
    //  Wire form of each element as decoded (in the field order above), so that a
    //  peer's padding re-encodes byte for byte; 0 octets = shortest form.
    uint8_t wire_octets[8];
    uint8_t wire_unused[8];
} csta_monitor_filter_t;

//  MonitorMediaClass bits (status-reporting).
enum {
    CSTA_MEDIA_VOICE = 0, CSTA_MEDIA_DATA = 1, CSTA_MEDIA_IMAGE = 2, CSTA_MEDIA_OTHER = 3,
    CSTA_MEDIA_AUDIO = 4, CSTA_MEDIA_NOT_KNOWN = 5, CSTA_MEDIA_CHAT = 6, CSTA_MEDIA_EMAIL = 7,
    CSTA_MEDIA_MESSAGE = 8, CSTA_MEDIA_IM = 9, CSTA_MEDIA_SMS = 10, CSTA_MEDIA_MMS = 11,
};

//  MonitorStart (71)
typedef struct {
    bool object_is_call;                //  monitorObject: callObject instead of deviceObject
    csta_device_t device;               //  deviceObject
    csta_conn_t call;                   //  callObject
    csta_monitor_filter_t filter;       //  [0] requestedMonitorFilter
    bool has_monitor_type;
    long monitor_type;                  //  0 call, 1 device
    csta_bits_t media_class;            //  [1] requestedMonitorMediaClass
} csta_monitor_start_arg_t;

typedef struct {
    csta_xref_t xref;                   //  crossRefIdentifier
    csta_monitor_filter_t filter;       //  [0] actualmonitorFilter
    csta_bits_t media_class;            //  [1] actualMonitorMediaClass
    bool has_monitor_existing_calls;
    bool monitor_existing_calls;
} csta_monitor_start_res_t;

//  ChangeMonitorFilter (72)
typedef struct {
    csta_xref_t xref;                   //  crossRefIdentifier
    csta_monitor_filter_t filter;       //  requestedFilterList (mandatory; `present` ignored)
} csta_change_monitor_filter_arg_t;

typedef struct {
    csta_monitor_filter_t filter;       //  actualFilterList (optional)
} csta_change_monitor_filter_res_t;

//  MonitorStop (73); result: noData/extensions
typedef struct {
    csta_xref_t xref;
} csta_monitor_stop_arg_t;

//  --- Snapshot ----------------------------------------------------------------------------

//  CallState of a snapshot item.
typedef enum {
    CSTA_CALL_STATE_COMPOUND = 0,       //  [0] compoundCallState: a list of connection states
    CSTA_CALL_STATE_SIMPLE,             //  [1] simpleCallState
    CSTA_CALL_STATE_UNKNOWN,            //  [2] unknown
} csta_call_state_kind_t;

//  SimpleCallState: the two connection states in hex (0x33 connected-connected).
enum {
    CSTA_SCS_NULL = 0, CSTA_SCS_PENDING = 1, CSTA_SCS_ORIGINATED = 3, CSTA_SCS_DELIVERED = 35,
    CSTA_SCS_DELIVERED_HELD = 36, CSTA_SCS_RECEIVED = 50, CSTA_SCS_ESTABLISHED = 51,
    CSTA_SCS_ESTABLISHED_HELD = 52, CSTA_SCS_RECEIVED_ON_HOLD = 66,
    CSTA_SCS_ESTABLISHED_ON_HOLD = 67, CSTA_SCS_QUEUED = 83, CSTA_SCS_QUEUED_HELD = 84,
    CSTA_SCS_FAILED = 99, CSTA_SCS_FAILED_HELD = 100, CSTA_SCS_BLOCKED = 96,
};

typedef struct {
    csta_call_state_kind_t kind;
    long simple;                        //  SimpleCallState
    size_t compound_count;
    csta_lcs_t compound[CSTA_COMPOUND_MAX];
} csta_call_state_t;

//  ServicesPermitted: bits of CallControlServices, CallAssociatedServices, ...
typedef struct {
    bool present;
    csta_bits_t call_control_services;
    csta_bits_t call_associated_services;
    csta_bits_t media_attachment_services;
    csta_bits_t routeing_services;
    csta_bits_t voice_unit_services;
} csta_services_permitted_t;

//  One SnapshotDeviceResponseInfo: a call at the device.  mediaServiceInfoList,
//  mediaCallCharacteristics and callLinkageData are skipped on decode.
typedef struct {
    csta_conn_t connection_identifier;
    csta_device_t endpoint_device;      //  [3] SubjectDeviceID, ABSENT if not sent
    csta_call_state_t local_call_state;
    csta_services_permitted_t services_permitted;   //  [0]
} csta_snapshot_device_item_t;

typedef struct {
    size_t count;
    const csta_snapshot_device_item_t *item;
} csta_snapshot_device_data_t;

//  One SnapshotCallResponseInfo: a device on the call.
typedef struct {
    csta_device_t device_on_call;       //  SubjectDeviceID
    csta_conn_t call_identifier;        //  optional
    csta_lcs_t local_connection_state;  //  CSTA_LCS_ABSENT if not sent
    csta_services_permitted_t services_permitted;   //  [0]
} csta_snapshot_call_item_t;

typedef struct {
    size_t count;
    const csta_snapshot_call_item_t *item;
} csta_snapshot_call_data_t;

//  SnapshotDevice (74)
typedef struct {
    csta_device_t snapshot_object;
} csta_snapshot_device_arg_t;

//  The result carries either a serviceCrossRefID (the items follow in SnapshotDeviceData
//  invokes, opcode 77) or the snapshot itself.
typedef struct {
    bool is_xref;
    csta_xref_t service_xref;           //  serviceCrossRefID
    csta_snapshot_device_data_t snapshot_data;
} csta_snapshot_device_res_t;

//  SnapshotCall (75)
typedef struct {
    csta_conn_t snapshot_object;
} csta_snapshot_call_arg_t;

//  mediaCallCharacteristics, callLinkageData, messageInfo and deviceHistory are
//  skipped on decode.
typedef struct {
    bool is_xref;
    csta_xref_t service_xref;           //  [0] serviceCrossRefID
    csta_snapshot_call_data_t snapshot_data;
    csta_bits_t call_characteristics;
    csta_device_t calling_device;
    csta_device_t called_device;
    csta_device_t associated_calling_device;
    csta_device_t associated_called_device;
    csta_bytes_t correlator_data;       //  [1]
    csta_bytes_t subject_of_call;       //  [3] IA5String
    csta_bytes_t language_preferences;  //  [5] IA5String
} csta_snapshot_call_res_t;

//  SnapshotDeviceData (77): one segment of a snapshot announced by a serviceCrossRefID.
//  No response.
typedef struct {
    csta_xref_t service_xref;           //  serviceCrossRefID
    bool has_segment_id;
    long segment_id;
    bool last_segment;
    csta_snapshot_device_data_t snapshot_data;
} csta_snapshot_device_data_arg_t;

//  --- Escape (51) ----------------------------------------------------------------------------
//  privateData is kept as the complete encoding of the CSTAPrivateData element (the
//  string form 04 .., or a vendor alternative such as Panasonic kmeSystemData A4 ..), so
//  that KME requests pass through a multiplexer unchanged.  Result: noData/extensions.
typedef struct {
    csta_bytes_t escape_register_id;    //  [0] EscapeRegisterID
    bool has_security;                  //  security (CSTASecurityData)
    bool has_sequence_number;
    long sequence_number;               //  security.messageSequenceNumber [0]
    char timestamp[CSTA_TIME_MAX + 1];  //  security.timestamp, "" if absent
    csta_bytes_t security_info;         //  security.securityInfo (string form)
    csta_bytes_t private_data;          //  the CSTAPrivateData element, tag included
} csta_escape_arg_t;

//  --- Switching function devices -------------------------------------------------------

//  ReqDeviceCategory (get-switching-function-devices).
enum {
    CSTA_REQ_DEV_ACD = 0, CSTA_REQ_DEV_GROUP_ACD = 1, CSTA_REQ_DEV_GROUP_HUNT = 2,
    CSTA_REQ_DEV_GROUP_PICK = 3, CSTA_REQ_DEV_GROUP_OTHER = 4,
    CSTA_REQ_DEV_NETWORK_INTERFACE = 5, CSTA_REQ_DEV_PARK = 6, CSTA_REQ_DEV_ROUTEING = 7,
    CSTA_REQ_DEV_STATION = 8, CSTA_REQ_DEV_VOICE_UNIT = 9, CSTA_REQ_DEV_OTHER = 10,
    CSTA_REQ_DEV_CONFERENCE = 11,
};

//  DeviceCategory (capability-exchange); the device list's default is station.
enum {
    CSTA_DEVCAT_ACD = 0, CSTA_DEVCAT_GROUP = 1, CSTA_DEVCAT_NETWORK_INTERFACE = 2,
    CSTA_DEVCAT_PARK = 3, CSTA_DEVCAT_ROUTEING = 4, CSTA_DEVCAT_STATION = 5,
    CSTA_DEVCAT_VOICE_UNIT = 6, CSTA_DEVCAT_OTHER = 7, CSTA_DEVCAT_CONFERENCE = 14,
};

//  NamedDeviceTypes (capability-exchange), the ones a PBX model uses.
enum {
    CSTA_NAMED_ACD = 0, CSTA_NAMED_ACD_GROUP = 1, CSTA_NAMED_LINE = 5,
    CSTA_NAMED_OPERATOR = 7, CSTA_NAMED_PARKING = 9, CSTA_NAMED_STATION = 10,
    CSTA_NAMED_STATION_GROUP = 11, CSTA_NAMED_TRUNK = 12, CSTA_NAMED_TRUNK_GROUP = 13,
    CSTA_NAMED_OTHER = 14,
};

//  GetSwitchingFunctionDevices (204)
typedef struct {
    csta_device_t requested_device_id;  //  ABSENT if not sent
    bool has_requested_device_category;
    long requested_device_category;     //  ReqDeviceCategory
} csta_get_switching_function_devices_arg_t;

typedef struct {
    csta_xref_t service_xref;           //  serviceCrossRefID
} csta_get_switching_function_devices_res_t;

//  One entry of a DeviceList.  The device's name travels as device_id.name
//  (privateName).
typedef struct {
    csta_device_t device_id;
    bool has_device_category;           //  [0] DEFAULT station
    long device_category;               //  DeviceCategory
    bool has_named_device_types;
    long named_device_types;            //  [1] NamedDeviceTypes
    csta_bits_t device_attributes;      //  mediaAccessDevice 0, routeingDevice 1, groupACD 2, ...
    bool has_device_model_name;
    char device_model_name[CSTA_MODEL_NAME_MAX + 1];
    csta_device_t nid_group;            //  ABSENT if not sent
} csta_device_list_item_t;

typedef struct {
    size_t count;
    const csta_device_list_item_t *item;
} csta_device_list_t;

//  SwitchingFunctionDevices (205), switch -> application, one segment of the list
//  announced by a GetSwitchingFunctionDevices result.  Acknowledged by an empty
//  ReturnResult (has_result false).
typedef struct {
    csta_xref_t service_xref;           //  serviceCrossRefID
    bool has_segment_id;
    long segment_id;
    bool last_segment;
    csta_device_list_t device_list;
} csta_switching_function_devices_arg_t;

//  --- System status and registration -----------------------------------------------------

enum {
    CSTA_SYS_INITIALIZING = 0,
    CSTA_SYS_ENABLED = 1,
    CSTA_SYS_NORMAL = 2,
    CSTA_SYS_MESSAGES_LOST = 3,
    CSTA_SYS_DISABLED = 4,
    CSTA_SYS_OVERLOAD_IMMINENT = 5,
    CSTA_SYS_OVERLOAD_REACHED = 6,
    CSTA_SYS_OVERLOAD_RELIEVED = 7,
    CSTA_SYS_PARTIALLY_DISABLED = 8,
};

//  RequestTypes bits of SystemRegister.
enum {
    CSTA_REG_SYSTEM_STATUS = 0, CSTA_REG_REQUEST_SYSTEM_STATUS = 1,
    CSTA_REG_SW_FUNCTION_CAPS_CHANGED = 2, CSTA_REG_SW_FUNCTION_DEVICES_CHANGED = 3,
};

//  SystemStatus (211), and the Phase II SystemStatus (52); result: noData/extensions.
typedef struct {
    csta_xref_t register_id;            //  sysStatRegisterID, len 0 if absent
    long status;                        //  SystemStatus enum (2 = normal)
    //  Opcode 52 only: the argument was (or is to be sent as) the bare Phase II
    //  ENUMERATED that Alcatel OXE sends, not the Phase III SEQUENCE.
    bool phase2_bare;
} csta_system_status_arg_t;

//  SystemRegister (207).  StatusFilter bits are SystemStatus values; a set bit filters
//  that status out.
typedef struct {
    csta_bits_t request_types;          //  RequestTypes (mandatory)
    csta_bits_t requested_status_filter;
} csta_system_register_arg_t;

typedef struct {
    csta_xref_t register_id;            //  sysStatRegisterID
    csta_bits_t actual_status_filter;
} csta_system_register_res_t;

//  SystemRegisterAbort (208, no response) and SystemRegisterCancel (209, noData).
typedef struct {
    csta_xref_t register_id;            //  sysStatRegisterID
} csta_system_register_id_arg_t;

//  RequestSystemStatus (210)
typedef struct {
    csta_xref_t register_id;            //  sysStatRegisterID, len 0 if absent
} csta_request_system_status_arg_t;

typedef struct {
    long status;                        //  systemStatus
} csta_request_system_status_res_t;

//  SwitchingFunctionDevicesChanged (213); result: noData/extensions.
typedef struct {
    csta_xref_t register_id;            //  sysStatRegisterID, len 0 if absent
} csta_switching_function_devices_changed_arg_t;

//  --- Device features ------------------------------------------------------------------------

//  SetDisplay (274); result: noData/extensions.
typedef struct {
    csta_device_t device;
    csta_bytes_t display;               //  DisplayID
    bool has_physical_base_row_number;
    long physical_base_row_number;      //  [0]
    bool has_physical_base_column_number;
    long physical_base_column_number;   //  [1]
    char contents_of_display[CSTA_DISPLAY_MAX + 1];
    bool has_offset;
    long offset;                        //  [2]
    bool has_character_set;
    long character_set;                 //  [3] 0 ascii, 1 unicode, 2 proprietary
} csta_set_display_arg_t;

//  CallOrigination bits of the do-not-disturb services.
enum { CSTA_ORIGINATION_INTERNAL = 0, CSTA_ORIGINATION_EXTERNAL = 1 };

//  A callingDeviceList (SEQUENCE OF DeviceID) that may be absent.
typedef struct {
    bool present;
    size_t count;
    const csta_device_t *device;
} csta_device_ids_t;

//  GetDoNotDisturb (308)
typedef struct {
    csta_device_t device;
} csta_get_do_not_disturb_arg_t;

typedef struct {
    bool do_not_disturb_on;
    csta_bits_t call_origination;
    csta_device_ids_t calling_device_list;
} csta_get_do_not_disturb_res_t;

//  SetDoNotDisturb (316); result: noData/extensions.
typedef struct {
    csta_device_t device;
    bool do_not_disturb_on;
    csta_bits_t call_origination;
    csta_device_ids_t calling_device_list;
} csta_set_do_not_disturb_arg_t;

//  ForwardingType (device-feature-types).
enum {
    CSTA_FWD_IMMEDIATE = 0, CSTA_FWD_BUSY = 1, CSTA_FWD_NO_ANS = 2, CSTA_FWD_BUSY_INT = 3,
    CSTA_FWD_BUSY_EXT = 4, CSTA_FWD_NO_ANS_INT = 5, CSTA_FWD_NO_ANS_EXT = 6,
    CSTA_FWD_IMM_INT = 7, CSTA_FWD_IMM_EXT = 8, CSTA_FWD_DND = 9, CSTA_FWD_DND_INT = 10,
    CSTA_FWD_DND_EXT = 11,
};

//  One ForwardList entry.
typedef struct {
    bool has_forwarding_type;
    long forwarding_type;
    bool forward_status;
    csta_device_t forward_dn;           //  ABSENT if not sent
    bool has_forward_default;
    long forward_default;               //  0 type and DN, 1 type, 2 DN
    bool has_ring_duration;
    long ring_duration;                 //  [0]
    bool has_ring_count;
    long ring_count;                    //  1..100
} csta_forward_item_t;

typedef struct {
    size_t count;
    const csta_forward_item_t *item;
} csta_forward_list_t;

//  GetForwarding (309)
typedef struct {
    csta_device_t device;
} csta_get_forwarding_arg_t;

typedef struct {
    csta_forward_list_t forwarding_list;
} csta_get_forwarding_res_t;

//  SetForwarding (317); result: noData/extensions.
typedef struct {
    csta_device_t device;
    bool has_forwarding_type;
    long forwarding_type;
    bool activate_forward;
    csta_device_t forward_dn;           //  ABSENT if not sent
    bool has_ring_count;
    long ring_count;                    //  1..100
    bool has_ring_duration;
    long ring_duration;                 //  [3]
} csta_set_forwarding_arg_t;

//  --- Call detail records ------------------------------------------------------------------

//  ReasonForTerm, BillingID, CDRTransferMode, CDRTermReason (call-detail-record).
enum {
    CSTA_CDR_NORMAL_CLEARING = 0, CSTA_CDR_UNSUCCESSFUL_CALL_ATTEMPT = 1,
    CSTA_CDR_ABNORMAL_TERMINATION = 2, CSTA_CDR_CALL_TRANSFERRED = 3, CSTA_CDR_TERM_OTHER = 4,
};
enum {
    CSTA_BILLING_NORMAL = 0, CSTA_BILLING_REVERSE = 1, CSTA_BILLING_CREDIT_CARD = 2,
    CSTA_BILLING_CALL_FORWARDING = 3, CSTA_BILLING_CALL_DEFLECTION = 4,
    CSTA_BILLING_CALL_TRANSFER = 5, CSTA_BILLING_OTHER = 6,
};
enum {
    CSTA_CDR_AT_END_OF_CALL = 0, CSTA_CDR_ON_REQUEST = 1, CSTA_CDR_ON_THRESHOLD = 2,
};
enum {
    CSTA_CDR_END_OF_DATA = 0, CSTA_CDR_ERROR_DETECTED = 1, CSTA_CDR_THRESHOLD_REACHED = 2,
    CSTA_CDR_STOP_OTHER = 3,
};

//  One CDRInformationItem.  mediaCallCharacteristics [1] is skipped on decode.
typedef struct {
    bool has_record_number;
    long record_number;                 //  1..128
    char record_creation_time[CSTA_TIME_MAX + 1];   //  GeneralizedTime, mandatory
    csta_device_t calling_device;
    csta_device_t called_device;
    csta_device_t associated_calling_device;
    csta_device_t associated_called_device;
    csta_device_t network_calling_device;
    csta_device_t network_called_device;
    csta_bits_t call_characteristics;   //  [0]
    csta_device_t charged_device;       //  [2] ABSENT if not sent
    bool charged_device_is_operator;    //  operator [0] rather than nonOperator [1]
    csta_conn_t recorded_call;
    struct {
        bool present;
        bool has_area[3];
        long area[3];
    } node_number;                      //  [3]
    bool has_tariff_table;
    long tariff_table;                  //  [4]
    char connection_start[CSTA_TIME_MAX + 1];       //  [5], "" if absent
    char connection_end[CSTA_TIME_MAX + 1];         //  [6], "" if absent
    bool has_connection_duration;
    long connection_duration;           //  [7]; Panasonic: 0.1 s units (LinTcMon)
    csta_bytes_t access_code;           //  [8]
    bool has_carrier;
    long carrier;                       //  [9]
    bool has_selected_route;
    long selected_route;                //  [10]
    bool has_billing_id;
    long billing_id;                    //  [11]
    csta_charging_info_t charging_info; //  [12]
    csta_bits_t suppl_service_info;     //  [13]
    bool has_reason_for_term;
    long reason_for_term;               //  [14]
    csta_bytes_t auth_code;             //  [15]
    csta_bytes_t account_info;          //  [16]
    bool has_device_category;
    long device_category;               //  [17]
    bool has_named_device_types;
    long named_device_types;            //  [18]
    csta_device_t operator_device;      //  [19]
} csta_cdr_record_t;

typedef struct {
    size_t count;
    const csta_cdr_record_t *item;
} csta_cdr_info_t;

//  CallDetailRecordsReport (361), switch -> application; must be acknowledged with
//  noData ({361, NULL}).
typedef struct {
    csta_bytes_t cdr_xref;              //  cdrCrossRefID
    long number_of_records_sent;        //  1..128
    csta_cdr_info_t cdr_info;
    bool has_last_stored_cdr_report_sent;
    bool last_stored_cdr_report_sent;
} csta_call_detail_records_report_arg_t;

//  StartCallDetailRecordsTransmission (363)
typedef struct {
    long transfer_mode;                 //  CDRTransferMode
} csta_start_cdr_transmission_arg_t;

typedef struct {
    csta_bytes_t cdr_xref;              //  cdrCrossRefID
} csta_start_cdr_transmission_res_t;

//  StopCallDetailRecordsTransmission (364); result: noData/extensions.
typedef struct {
    csta_bytes_t cdr_xref;              //  cdrCrossRefID
    bool has_cdr_term_reason;
    long cdr_term_reason;               //  CDRTermReason
} csta_stop_cdr_transmission_arg_t;

//  The body of a service invoke or result: `<service>` for the argument, `<service>_res`
//  for the result; which member is valid follows from the opcode and the APDU kind.
//  Opcode 52 (Phase II SystemStatus) uses system_status.
typedef union {
    csta_monitor_start_arg_t monitor_start;
    csta_monitor_start_res_t monitor_start_res;
    csta_change_monitor_filter_arg_t change_monitor_filter;
    csta_change_monitor_filter_res_t change_monitor_filter_res;
    csta_monitor_stop_arg_t monitor_stop;
    csta_snapshot_device_arg_t snapshot_device;
    csta_snapshot_device_res_t snapshot_device_res;
    csta_snapshot_call_arg_t snapshot_call;
    csta_snapshot_call_res_t snapshot_call_res;
    csta_snapshot_device_data_arg_t snapshot_device_data;
    csta_escape_arg_t escape;
    csta_get_switching_function_devices_arg_t get_switching_function_devices;
    csta_get_switching_function_devices_res_t get_switching_function_devices_res;
    csta_switching_function_devices_arg_t switching_function_devices;
    csta_system_register_arg_t system_register;
    csta_system_register_res_t system_register_res;
    csta_system_register_id_arg_t system_register_abort;
    csta_system_register_id_arg_t system_register_cancel;
    csta_request_system_status_arg_t request_system_status;
    csta_request_system_status_res_t request_system_status_res;
    csta_system_status_arg_t system_status;
    csta_switching_function_devices_changed_arg_t switching_function_devices_changed;
    csta_set_display_arg_t set_display;
    csta_get_do_not_disturb_arg_t get_do_not_disturb;
    csta_get_do_not_disturb_res_t get_do_not_disturb_res;
    csta_get_forwarding_arg_t get_forwarding;
    csta_get_forwarding_res_t get_forwarding_res;
    csta_set_do_not_disturb_arg_t set_do_not_disturb;
    csta_set_forwarding_arg_t set_forwarding;
    csta_call_detail_records_report_arg_t call_detail_records_report;
    csta_start_cdr_transmission_arg_t start_call_detail_records_transmission;
    csta_start_cdr_transmission_res_t start_call_detail_records_transmission_res;
    csta_stop_cdr_transmission_arg_t stop_call_detail_records_transmission;
} csta_service_u;

#endif
