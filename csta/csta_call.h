//  csta_call: arguments and results of the CSTA call control services
//  (ECMA-269 clause 17; ECMA-285 modules make-call, clear-connection, ...).
//  Field names follow the standard's; optional fields are marked by a `has_` flag,
//  an ABSENT kind, `present == false`, an empty buffer, or CSTA_CAUSE_ABSENT.
//  Services whose result is CHOICE { extensions, noData } have no `_res` member: the
//  result travels as the APDU's no_data / ext.
#ifndef CSTA_CALL_H
#define CSTA_CALL_H

#include "csta_types.h"

//  ECMA-269 ConsultOptions (AlternateCall, ConsultationCall); DEFAULT unrestricted.
enum {
    CSTA_CONSULT_UNRESTRICTED = 0,
    CSTA_CONSULT_CONSULT_ONLY = 1,
    CSTA_CONSULT_TRANSFER_ONLY = 2,
    CSTA_CONSULT_CONFERENCE_ONLY = 3,
};

//  ECMA-269 ParticipationType (SingleStepConference, IntrudeCall); DEFAULT active.
enum {
    CSTA_PARTICIPATION_SILENT = 0,
    CSTA_PARTICIPATION_ACTIVE = 1,
    CSTA_PARTICIPATION_NONE = 2,
};

//  ECMA-269 DigitMode (GenerateDigits).
enum { CSTA_DIGIT_MODE_ROTARY_PULSE = 0, CSTA_DIGIT_MODE_DTMF = 1 };

//  ECMA-269 CallCharacteristics bit numbers (for csta_bits_test / csta_bits_set).
enum {
    CSTA_CALL_CHAR_ACD = 0,
    CSTA_CALL_CHAR_PRIORITY = 1,
    CSTA_CALL_CHAR_MAINTAINANCE = 2,
    CSTA_CALL_CHAR_DIRECT_AGENT = 3,
    CSTA_CALL_CHAR_ASSIST = 4,
    CSTA_CALL_CHAR_VOICE_UNIT = 5,
    CSTA_CALL_CHAR_PRIVATE = 6,
    CSTA_CALL_CHAR_PERSONAL = 7,
    CSTA_CALL_CHAR_SENSITIVE = 8,
    CSTA_CALL_CHAR_CONFIDENTIAL = 9,
    CSTA_CALL_CHAR_ENCRYPTED = 10,
    CSTA_CALL_CHAR_LOW_PRIORITY = 11,
    CSTA_CALL_CHAR_HIGH_PRIORITY = 12,
};

//  AlternateCall (1); result: noData/extensions
typedef struct {
    csta_conn_t held_call;              //  heldCall
    csta_conn_t active_call;            //  activeCall
    bool has_connection_reservation;
    bool connection_reservation;        //  connectionReservation
    bool has_consult_options;           //  consultOptions, DEFAULT unrestricted
    long consult_options;               //  CSTA_CONSULT_*
} csta_alternate_call_arg_t;

//  AnswerCall (2); result: noData/extensions
typedef struct {
    csta_conn_t call_to_be_answered;    //  callToBeAnswered
    csta_bytes_t correlator;            //  correlatorData
    csta_bytes_t user_data;             //  userData
} csta_answer_call_arg_t;

//  ClearCall (4); result: noData/extensions
typedef struct {
    csta_conn_t call_to_be_cleared;     //  callToBeCleared
    csta_bytes_t user_data;             //  userData
    int reason;                         //  EventCause, CSTA_CAUSE_ABSENT if absent
} csta_clear_call_arg_t;

//  ClearConnection (5); result: noData/extensions
typedef struct {
    csta_conn_t connection;             //  connectionToBeCleared
    csta_bytes_t correlator;
    csta_bytes_t user_data;
    int reason;                         //  EventCause, CSTA_CAUSE_ABSENT if absent
} csta_clear_connection_arg_t;

//  ConferenceCall (6)
typedef struct {
    csta_conn_t held_call;              //  heldCall
    csta_conn_t active_call;            //  activeCall
} csta_conference_call_arg_t;

typedef struct {
    csta_conn_t conference_call;        //  conferenceCall: the resulting call
    csta_conn_list_t connections;       //  [0] connections: old -> new per party
} csta_conference_call_res_t;

//  ConsultationCall (7)
typedef struct {
    csta_conn_t existing_call;          //  [0] existingCall: the call to be held
    csta_device_t consulted_device;     //  [1] consultedDevice
    bool has_connection_reservation;
    bool connection_reservation;        //  [2] connectionReservation
    csta_bytes_t account_code;          //  [3] accountCode
    csta_bytes_t auth_code;             //  [4] authCode
    csta_bytes_t correlator;            //  [5] correlatorData
    csta_bytes_t user_data;             //  [6] userData
    csta_bits_t call_characteristics;   //  [7] callCharacteristics (CSTA_CALL_CHAR_*)
    bool has_consult_options;           //  [10] consultOptions, DEFAULT unrestricted
    long consult_options;               //  CSTA_CONSULT_*
    csta_bytes_t subject_of_call;       //  [11] subjectOfCall (IA5)
    csta_bytes_t language_preferences;  //  [12] languagePreferences (IA5)
} csta_consultation_call_arg_t;

typedef struct {
    csta_conn_t initiated_call;         //  initiatedCall: the consultation call
} csta_consultation_call_res_t;

//  HoldCall (9); result: noData/extensions
typedef struct {
    csta_conn_t call_to_be_held;        //  callToBeHeld
    bool has_connection_reservation;
    bool connection_reservation;        //  connectionReservation
} csta_hold_call_arg_t;

//  MakeCall (10)
typedef struct {
    csta_device_t calling;              //  callingDevice
    csta_device_t called;               //  calledDirectoryNumber
    csta_bytes_t account_code;          //  [0] accountCode
    csta_bytes_t auth_code;             //  [1] authCode
    bool has_auto_originate;            //  [3] autoOriginate, DEFAULT prompt
    long auto_originate;                //  0 prompt, 1 doNotPrompt
    csta_bytes_t correlator;            //  [2] correlatorData
    csta_bytes_t user_data;             //  userData
    csta_bits_t call_characteristics;   //  callCharacteristics (CSTA_CALL_CHAR_*)
    csta_bytes_t subject_of_call;       //  [6] subjectOfCall (IA5)
    csta_bytes_t language_preferences;  //  [7] languagePreferences (IA5)
    //  [8] reason.  A has_ flag rather than CSTA_CAUSE_ABSENT, because MakeCall is built
    //  from a zeroed APDU by existing callers that do not know this field.
    bool has_reason;
    int reason;                         //  EventCause
} csta_make_call_arg_t;

typedef struct {
    csta_conn_t calling;                //  callingDevice (the new connection)
} csta_make_call_res_t;

//  ReconnectCall (13); result: noData/extensions
typedef struct {
    csta_conn_t active_call;            //  activeCall: the connection to clear
    csta_conn_t held_call;              //  heldCall: the connection to retrieve
} csta_reconnect_call_arg_t;

//  RetrieveCall (14); result: noData/extensions
typedef struct {
    csta_conn_t call_to_be_retrieved;   //  callToBeRetrieved
} csta_retrieve_call_arg_t;

//  TransferCall (16)
typedef struct {
    csta_conn_t held_call;              //  heldCall
    csta_conn_t active_call;            //  activeCall
} csta_transfer_call_arg_t;

typedef struct {
    csta_conn_t transferred_call;       //  transferredCall: the resulting call
    csta_conn_list_t connections;       //  [0] connections
} csta_transfer_call_res_t;

//  SingleStepConference (20)
typedef struct {
    csta_conn_t active_call;            //  activeCall
    csta_device_t device_to_join;       //  deviceToJoin
    bool has_participation_type;        //  participationType, DEFAULT active
    long participation_type;            //  CSTA_PARTICIPATION_*
    csta_bytes_t account_code;          //  [0] accountCode
    csta_bytes_t auth_code;             //  [1] authCode
    csta_bytes_t correlator;            //  [2] correlatorData
    csta_bytes_t user_data;             //  userData
    csta_bytes_t subject_of_call;       //  [3] subjectOfCall (IA5)
    csta_bytes_t language_preferences;  //  [4] languagePreferences (IA5)
} csta_single_step_conference_arg_t;

typedef struct {
    csta_conn_t conferenced_call;       //  conferencedCall: the joining device's connection
} csta_single_step_conference_res_t;

//  SingleStepTransfer (50)
typedef struct {
    csta_conn_t active_call;            //  activeCall
    csta_device_t transferred_to;       //  transferredTo
    csta_bytes_t account_code;          //  [0] accountCode
    csta_bytes_t auth_code;             //  [1] authCode
    csta_bytes_t correlator;            //  [2] correlatorData
    csta_bytes_t user_data;             //  userData
    csta_bits_t call_characteristics;   //  [3] callCharacteristics (CSTA_CALL_CHAR_*)
    csta_bytes_t subject_of_call;       //  [4] subjectOfCall (IA5)
    csta_bytes_t language_preferences;  //  [5] languagePreferences (IA5)
    int reason;                         //  [6] reason, CSTA_CAUSE_ABSENT if absent
} csta_single_step_transfer_arg_t;

typedef struct {
    csta_conn_t transferred_call;       //  transferredCall
    csta_conn_list_t connections;       //  [0] connections
} csta_single_step_transfer_res_t;

//  AcceptCall (214); result: noData/extensions
typedef struct {
    csta_conn_t call_to_be_accepted;    //  callToBeAccepted
    csta_bytes_t correlator;            //  correlatorData
    csta_bytes_t user_data;             //  userData
} csta_accept_call_arg_t;

//  CallBack, call-related (215)
typedef struct {
    csta_conn_t callback_connection;    //  callbackConnection
    csta_bits_t call_characteristics;   //  callCharacteristics (CSTA_CALL_CHAR_*)
    csta_bytes_t subject_of_call;       //  [0] subjectOfCall (IA5)
    csta_bytes_t language_preferences;  //  [1] languagePreferences (IA5)
} csta_call_back_arg_t;

typedef struct {
    csta_device_t target_device;        //  targetDevice, kind ABSENT if absent
} csta_call_back_res_t;

//  CampOnCall (217); result: noData/extensions
typedef struct {
    csta_conn_t campon_connection;      //  camponConnection
} csta_camp_on_call_arg_t;

//  DeflectCall (218); result: noData/extensions
#define CSTA_DEFLECT_DESTINATIONS_MAX 4
typedef struct {
    csta_conn_t call_to_be_diverted;    //  callToBeDiverted
    csta_device_t new_destination;      //  newDestination
    bool has_add_new_destinations;      //  addNewDestinationsList given (may be empty)
    size_t add_new_destinations_count;
    csta_device_t add_new_destinations[CSTA_DEFLECT_DESTINATIONS_MAX];
    csta_bytes_t correlator;            //  correlatorData
    csta_bytes_t user_data;             //  userData
    csta_bits_t call_characteristics;   //  [0] callCharacteristics (CSTA_CALL_CHAR_*)
    csta_bytes_t subject_of_call;       //  [1] subjectOfCall (IA5)
    csta_bytes_t language_preferences;  //  [2] languagePreferences (IA5)
    int reason;                         //  [3] reason, CSTA_CAUSE_ABSENT if absent
} csta_deflect_call_arg_t;

//  DialDigits (219); result: noData/extensions
typedef struct {
    csta_conn_t dialling_connection;    //  diallingConnection
    csta_device_t dialling_sequence;    //  diallingSequence: the digits, as a DeviceID
    csta_bytes_t correlator;            //  correlatorData
} csta_dial_digits_arg_t;

//  DirectedPickupCall (220)
typedef struct {
    csta_conn_t call_to_be_picked_up;   //  callToBePickedUp
    csta_device_t requesting_device;    //  requestingDevice
    csta_bytes_t correlator;            //  correlatorData
    csta_bytes_t user_data;             //  userData
} csta_directed_pickup_call_arg_t;

typedef struct {
    csta_conn_t picked_call;            //  pickedCall, present false if absent
} csta_directed_pickup_call_res_t;

//  GroupPickupCall (221)
typedef struct {
    csta_device_t new_destination;      //  newDestination: the device picking up
    csta_device_t pick_group;           //  pickGroup, kind ABSENT if absent
    csta_bytes_t correlator;            //  correlatorData
    csta_bytes_t user_data;             //  userData
} csta_group_pickup_call_arg_t;

typedef struct {
    csta_conn_t picked_call;            //  pickedCall, present false if absent
} csta_group_pickup_call_res_t;

//  IntrudeCall (222)
typedef struct {
    csta_conn_t intrude;                //  intrude: the connection to intrude into
    bool has_participation_type;        //  participationType, DEFAULT active
    long participation_type;            //  CSTA_PARTICIPATION_*
    csta_bytes_t user_data;             //  userData
} csta_intrude_call_arg_t;

typedef struct {
    csta_conn_t conferenced_call;       //  conferencedCall, present false if absent
} csta_intrude_call_res_t;

//  GenerateDigits (232); result: noData/extensions
typedef struct {
    csta_conn_t connection_to_send_digits;  //  connectionToSendDigits
    bool has_digit_mode;
    long digit_mode;                        //  digitMode, CSTA_DIGIT_MODE_*
    char characters_to_send[CSTA_DIGITS_MAX + 1];  //  charactersToSend (IA5)
    bool has_tone_duration;
    long tone_duration;                     //  [0] toneDuration (ms)
    bool has_pulse_rate;
    long pulse_rate;                        //  [1] pulseRate (pulses per second)
    bool has_pause_duration;
    long pause_duration;                    //  [2] pauseDuration (ms)
} csta_generate_digits_arg_t;

//  CallBackNonCallRelated (300); result: noData/extensions
typedef struct {
    csta_device_t originating_device;   //  originatingDevice: who wants the call back
    csta_device_t target_device;        //  targetDevice: who is to be called back
} csta_call_back_non_call_related_arg_t;

//  The body of a call control invoke or result; which member is valid follows
//  from the opcode and the APDU kind.
typedef union {
    csta_alternate_call_arg_t alternate_call;
    csta_answer_call_arg_t answer_call;
    csta_clear_call_arg_t clear_call;
    csta_clear_connection_arg_t clear_connection;
    csta_conference_call_arg_t conference_call;
    csta_conference_call_res_t conference_call_res;
    csta_consultation_call_arg_t consultation_call;
    csta_consultation_call_res_t consultation_call_res;
    csta_hold_call_arg_t hold_call;
    csta_make_call_arg_t make_call;
    csta_make_call_res_t make_call_res;
    csta_reconnect_call_arg_t reconnect_call;
    csta_retrieve_call_arg_t retrieve_call;
    csta_transfer_call_arg_t transfer_call;
    csta_transfer_call_res_t transfer_call_res;
    csta_single_step_conference_arg_t single_step_conference;
    csta_single_step_conference_res_t single_step_conference_res;
    csta_single_step_transfer_arg_t single_step_transfer;
    csta_single_step_transfer_res_t single_step_transfer_res;
    csta_accept_call_arg_t accept_call;
    csta_call_back_arg_t call_back;
    csta_call_back_res_t call_back_res;
    csta_camp_on_call_arg_t camp_on_call;
    csta_deflect_call_arg_t deflect_call;
    csta_dial_digits_arg_t dial_digits;
    csta_directed_pickup_call_arg_t directed_pickup_call;
    csta_directed_pickup_call_res_t directed_pickup_call_res;
    csta_group_pickup_call_arg_t group_pickup_call;
    csta_group_pickup_call_res_t group_pickup_call_res;
    csta_intrude_call_arg_t intrude_call;
    csta_intrude_call_res_t intrude_call_res;
    csta_generate_digits_arg_t generate_digits;
    csta_call_back_non_call_related_arg_t call_back_non_call_related;
} csta_call_u;

#endif
