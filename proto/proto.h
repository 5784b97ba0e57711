//  proto: the ctim client protocol (proto/client.proto) as plain C values, and its codec.
//
//  Decode:  proto_client_msg_t m; int rc = proto_client_decode(&m, buf, len);
//           ... proto_client_msg_clear(&m);
//  Encode:  proto_client_msg_init(&m, PROTO_MSG_REQUEST); m.request.request_id = 7;
//           m.request.op = PROTO_OP_ANSWER; snprintf(m.request.call.line, ...);
//           uint8_t out[PROTO_FRAME_MAX]; size_t n; rc = proto_client_encode(&m, out, ...);
//
//  Strings are fixed-size, NUL-terminated arrays; "" means "not given".  They are UTF-8 by
//  contract; the codec does not validate that, and a NUL inside a wire string ends it.  The only heap
//  memory is the reply's line list, owned by the message (proto_client_msg_add_line) and
//  freed by proto_client_msg_clear.  No protobuf-c type appears here: generated code stays
//  behind proto_client_wire.c (STYLE.md).
#ifndef PROTO_H
#define PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION_MAJOR 1       //  envelope major this library speaks
#define PROTO_VERSION_MINOR 0       //  additive revisions within the major
#define PROTO_CLIENT_PORT 2748      //  default node ROUTER port

#define PROTO_NUMBER_MAX 64         //  line / party numbers, digits (as CSTA_DIGITS_MAX)
#define PROTO_NAME_MAX 64           //  display names, user names, node names
#define PROTO_PASSWORD_MAX 128
#define PROTO_TOKEN_MAX 64          //  session id, resume token
#define PROTO_CALL_ID_MAX 32        //  call id text
#define PROTO_TEXT_MAX 256          //  reply / error text, client description, cause
#define PROTO_LINES_MAX 4096        //  lines in one reply
#define PROTO_FORWARDS_MAX 9        //  forwarding entries in an address status (one per mode)
#define PROTO_FRAME_MAX (1024 * 1024)   //  longest frame decoded (and encoded)

typedef enum {
    PROTO_MSG_NONE = 0,
    PROTO_MSG_HELLO,                //  app -> node
    PROTO_MSG_WELCOME,              //  node -> app
    PROTO_MSG_HEARTBEAT,            //  both ways
    PROTO_MSG_REQUEST,              //  app -> node
    PROTO_MSG_REPLY,                //  node -> app
    PROTO_MSG_EVENT,                //  node -> app
    PROTO_MSG_EVENTS_LOST,          //  node -> app
    PROTO_MSG_RESUME_RESULT,        //  node -> app
    PROTO_MSG_ERROR,                //  node -> app
    PROTO_MSG_BYE,                  //  app -> node
} proto_msg_kind_t;

//  Request operations (client.proto Request.op); the comment names the argument member.
typedef enum {
    PROTO_OP_NONE = 0,
    PROTO_OP_OPEN_LINE,             //  open_line
    PROTO_OP_CLOSE_LINE,            //  line
    PROTO_OP_MAKE_CALL,             //  target (call_id "")
    PROTO_OP_HANG_UP,               //  call
    PROTO_OP_ANSWER,                //  call
    PROTO_OP_HOLD,                  //  call
    PROTO_OP_RETRIEVE,              //  call
    PROTO_OP_REDIRECT,              //  target
    PROTO_OP_BLIND_TRANSFER,        //  target
    PROTO_OP_SETUP_TRANSFER,        //  target
    PROTO_OP_SWAP_HOLD,             //  pair
    PROTO_OP_COMPLETE_TRANSFER,     //  pair
    PROTO_OP_COMPLETE_CONFERENCE,   //  pair
    PROTO_OP_ADD_TO_CONFERENCE,     //  target
    PROTO_OP_REMOVE_FROM_CONFERENCE,    //  target
    PROTO_OP_PICKUP,                //  target (number = the ringing device)
    PROTO_OP_DTMF,                  //  digits
    PROTO_OP_DIAL_DIGITS,           //  digits (dial in dial-tone mode)
    PROTO_OP_CALL_BACK,             //  call
    PROTO_OP_INTRUSION,             //  call
    PROTO_OP_SET_FORWARDING,        //  forward
    PROTO_OP_GET_ADDRESS_STATUS,    //  line
    PROTO_OP_GET_CALL_INFO,         //  call
    PROTO_OP_LIST_LINES,            //  (none)
    PROTO_OP_SET_DO_NOT_DISTURB,    //  flag (line, on)
    PROTO_OP_SET_CDR,               //  flag (on; line unused)
    PROTO_OP_COUNT_
} proto_op_t;

//  Values equal client.proto's Result.  A value a newer node sends that this library
//  does not know decodes as PROTO_RESULT_ERROR.
typedef enum {
    PROTO_RESULT_UNSPECIFIED = 0,
    PROTO_RESULT_OK = 1,
    PROTO_RESULT_ERROR = 2,
    PROTO_RESULT_BAD_REQUEST = 3,
    PROTO_RESULT_UNSUPPORTED_VERSION = 4,
    PROTO_RESULT_LOGIN_FAILED = 5,
    PROTO_RESULT_NOT_LOGGED_IN = 6,
    PROTO_RESULT_ACCESS_DENIED = 7,
    PROTO_RESULT_LINE_NOT_OPEN = 8,
    PROTO_RESULT_INVALID_LINE = 9,
    PROTO_RESULT_INVALID_CALL = 10,
    PROTO_RESULT_INVALID_DESTINATION = 11,
    PROTO_RESULT_INVALID_STATE = 12,
    PROTO_RESULT_BUSY = 13,
    PROTO_RESULT_RESOURCE_UNAVAILABLE = 14,
    PROTO_RESULT_NOT_SUPPORTED = 15,
    PROTO_RESULT_PBX_TIMEOUT = 16,
    PROTO_RESULT_LINK_DOWN = 17,
    PROTO_RESULT_INTERRUPTED = 18,
    PROTO_RESULT_COUNT_
} proto_result_t;

//  Values equal client.proto's CallState; unknown values decode as UNSPECIFIED.
typedef enum {
    PROTO_CALL_UNSPECIFIED = 0,
    PROTO_CALL_OFFERING,
    PROTO_CALL_ACCEPTED,
    PROTO_CALL_DIAL_TONE,
    PROTO_CALL_DIALLING,
    PROTO_CALL_RINGBACK,
    PROTO_CALL_BUSY,
    PROTO_CALL_CONNECTED,
    PROTO_CALL_PROCEEDING,
    PROTO_CALL_ON_HOLD,
    PROTO_CALL_CONFERENCED,
    PROTO_CALL_ON_HOLD_PENDING_CONFERENCE,
    PROTO_CALL_ON_HOLD_PENDING_TRANSFER,
    PROTO_CALL_DISCONNECTED,
    PROTO_CALL_IDLE,
    PROTO_CALL_COUNT_
} proto_call_state_t;

//  Values equal client.proto's ForwardMode (trigger x callers); unknown -> UNSPECIFIED.
typedef enum {
    PROTO_FWD_UNSPECIFIED = 0,
    PROTO_FWD_IMMEDIATE_ALL,
    PROTO_FWD_IMMEDIATE_INTERNAL,
    PROTO_FWD_IMMEDIATE_EXTERNAL,
    PROTO_FWD_BUSY_ALL,
    PROTO_FWD_BUSY_INTERNAL,
    PROTO_FWD_BUSY_EXTERNAL,
    PROTO_FWD_NO_ANSWER_ALL,
    PROTO_FWD_NO_ANSWER_INTERNAL,
    PROTO_FWD_NO_ANSWER_EXTERNAL,
    PROTO_FWD_COUNT_
} proto_fwd_mode_t;

typedef enum {
    PROTO_DIR_UNSPECIFIED = 0,
    PROTO_DIR_INCOMING,
    PROTO_DIR_OUTGOING,
    PROTO_DIR_INTERNAL,
    PROTO_DIR_COUNT_
} proto_direction_t;

typedef enum {
    PROTO_RESUME_UNSPECIFIED = 0,
    PROTO_RESUME_RESUMED,           //  session found, missed events replay
    PROTO_RESUME_RESUMED_WITH_GAP,  //  session found, EventsLost follows
    PROTO_RESUME_NEW_SESSION,       //  token unknown or expired
    PROTO_RESUME_COUNT_
} proto_resume_outcome_t;

typedef enum {
    PROTO_EVENT_NONE = 0,
    PROTO_EVENT_CALL,               //  call
    PROTO_EVENT_SERVICE,            //  in_service
    PROTO_EVENT_FORWARDING,         //  forwarding
    PROTO_EVENT_CDR,                //  cdr
    PROTO_EVENT_DO_NOT_DISTURB,     //  do_not_disturb
} proto_event_kind_t;

//  --- Messages (client.proto has the meaning of every field) ---------------------------------

typedef struct {
    char user[PROTO_NAME_MAX + 1];
    char password[PROTO_PASSWORD_MAX + 1];
    uint32_t heartbeat_ms;          //  requested; 0 = node default
    char resume_token[PROTO_TOKEN_MAX + 1];
    char client[PROTO_TEXT_MAX + 1];
    uint32_t highest_major;
} proto_hello_t;

typedef struct {
    char session_id[PROTO_TOKEN_MAX + 1];
    char resume_token[PROTO_TOKEN_MAX + 1];
    uint32_t heartbeat_ms;          //  negotiated
    uint64_t last_seq_acked;
    char node[PROTO_NAME_MAX + 1];
} proto_welcome_t;

typedef struct {
    uint64_t sent_ms;               //  sender's monotonic ms
    uint64_t last_seq_acked;        //  app -> node
} proto_heartbeat_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    char failure_number[PROTO_NUMBER_MAX + 1];
} proto_open_line_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    char call_id[PROTO_CALL_ID_MAX + 1];
    char number[PROTO_NUMBER_MAX + 1];  //  target only
} proto_call_ref_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    char held_call_id[PROTO_CALL_ID_MAX + 1];
    char active_call_id[PROTO_CALL_ID_MAX + 1];
} proto_call_pair_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    char call_id[PROTO_CALL_ID_MAX + 1];
    char digits[PROTO_NUMBER_MAX + 1];
} proto_call_digits_t;

typedef struct {
    proto_fwd_mode_t mode;
    bool on;
    char destination[PROTO_NUMBER_MAX + 1];
} proto_forward_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    proto_forward_t fwd;
} proto_set_forwarding_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    bool on;
} proto_line_flag_t;

//  The argument member follows from op (see proto_op_t): open_line; line (close_line,
//  get_address_status: only line.line is used); call (CallRef shape: line, call_id);
//  target (CallTarget: line, call_id, number); pair; digits; forward; flag (LineFlag:
//  set_do_not_disturb, set_cdr); list_lines has none.
typedef struct {
    uint32_t request_id;            //  non-zero
    proto_op_t op;
    union {
        proto_open_line_t open_line;
        proto_call_ref_t line;
        proto_call_ref_t call;
        proto_call_ref_t target;
        proto_call_pair_t pair;
        proto_call_digits_t digits;
        proto_set_forwarding_t forward;
        proto_line_flag_t flag;
    };
} proto_request_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    bool open;
    bool in_service;
    char failure_number[PROTO_NUMBER_MAX + 1];
} proto_line_info_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    bool in_service;
    bool do_not_disturb;
    bool message_waiting;
    size_t forward_count;
    proto_forward_t forward[PROTO_FORWARDS_MAX];
} proto_address_status_t;

typedef struct {
    char call_id[PROTO_CALL_ID_MAX + 1];
    proto_call_state_t state;
    char caller_number[PROTO_NUMBER_MAX + 1];
    char caller_name[PROTO_NAME_MAX + 1];
    char called_number[PROTO_NUMBER_MAX + 1];
    char called_name[PROTO_NAME_MAX + 1];
    proto_direction_t direction;
    char cause[PROTO_NAME_MAX + 1];
} proto_call_info_t;

typedef struct {
    uint32_t request_id;
    proto_result_t result;
    char text[PROTO_TEXT_MAX + 1];
    char call_id[PROTO_CALL_ID_MAX + 1];
    proto_line_info_t *lines;       //  owned by the message: proto_client_msg_add_line
    size_t line_count;
    size_t line_cap;                //  entries allocated (internal to add_line)
    bool has_address;
    proto_address_status_t address;
    bool has_call;
    proto_call_info_t call;
} proto_reply_t;

typedef struct {
    char call_id[PROTO_CALL_ID_MAX + 1];
    char caller_number[PROTO_NUMBER_MAX + 1];
    char called_number[PROTO_NUMBER_MAX + 1];
    proto_direction_t direction;
    uint64_t start_ms;              //  Unix ms
    uint64_t connect_ms;            //  Unix ms; 0 = never answered
    uint64_t end_ms;                //  Unix ms
    uint32_t charge_units;
    char account[PROTO_NAME_MAX + 1];
} proto_cdr_t;

typedef struct {
    uint64_t seq;
    char line[PROTO_NUMBER_MAX + 1];
    bool snapshot;                  //  the state now (snapshot), not a transition
    proto_event_kind_t kind;
    union {
        proto_call_info_t call;
        bool in_service;
        bool do_not_disturb;
        proto_forward_t forwarding;
        proto_cdr_t cdr;
    };
} proto_event_t;

typedef struct {
    uint64_t from_seq;              //  inclusive
    uint64_t to_seq;                //  inclusive
} proto_events_lost_t;

typedef struct {
    proto_resume_outcome_t outcome;
    uint64_t next_seq;
    uint32_t lines_open;
} proto_resume_result_t;

typedef struct {
    proto_result_t result;
    char text[PROTO_TEXT_MAX + 1];
    uint32_t supported_major;
} proto_error_t;

typedef struct {
    char reason[PROTO_TEXT_MAX + 1];
} proto_bye_t;

//  One frame.  Which body member is valid follows from kind.
typedef struct {
    uint32_t version_major;         //  init: PROTO_VERSION_MAJOR; decode: the sender's
    uint32_t version_minor;         //  init: PROTO_VERSION_MINOR; decode: the sender's
    proto_msg_kind_t kind;
    union {
        proto_hello_t hello;
        proto_welcome_t welcome;
        proto_heartbeat_t heartbeat;
        proto_request_t request;
        proto_reply_t reply;
        proto_event_t event;
        proto_events_lost_t events_lost;
        proto_resume_result_t resume_result;
        proto_error_t error;
        proto_bye_t bye;
    };
} proto_client_msg_t;

//  Zero the message, set kind and this library's version.
void proto_client_msg_init(proto_client_msg_t *m, proto_msg_kind_t kind);
//  Free the reply's line list and re-init to NONE.  Safe on a zeroed or cleared message.
void proto_client_msg_clear(proto_client_msg_t *m);
//  Append a copy of *line to a reply's line list.  Returns 0, -EINVAL (not a reply),
//  -EMSGSIZE (PROTO_LINES_MAX reached) or -ENOMEM.
int proto_client_msg_add_line(proto_client_msg_t *m, const proto_line_info_t *line);

//  Encode into out[0..cap).  Returns 0 and the length in *len_out, or
//   -ENOSPC  out is too small
//   -EINVAL  the message is incomplete: kind or op NONE, an unterminated string
int proto_client_encode(const proto_client_msg_t *m, uint8_t *out, size_t cap, size_t *len_out);

//  Decode one frame into *m (which need not be initialised).  Returns 0, or
//   -EBADMSG         malformed protobuf, no body, version major 0, unknown body or op
//                    (a newer minor's addition this library lacks)
//   -EPROTONOSUPPORT a major above PROTO_VERSION_MAJOR (read before the body is parsed, so
//                    a new major's bodies need not parse); m->version_major is the sender's
//   -EMSGSIZE        a frame above PROTO_FRAME_MAX or a field above its limit
//   -ENOMEM
//  Fields this library does not know are skipped (forward compatibility within a major).
//  On error *m holds no heap memory (kind NONE; version_major set as said above).
int proto_client_decode(proto_client_msg_t *m, const uint8_t *buf, size_t len);

const char *proto_msg_kind_str(proto_msg_kind_t kind);
const char *proto_op_str(proto_op_t op);
const char *proto_result_str(proto_result_t result);
const char *proto_call_state_str(proto_call_state_t state);
const char *proto_fwd_mode_str(proto_fwd_mode_t mode);

#endif
