//  libctim: the application side of ctim's client protocol -- lines, calls and server failover.
//
//  A TAPI-like line API over ZeroMQ (proto/client.proto).  The library is asynchronous and
//  runs inside the application's own event loop:
//
//      ctim_cfg_t cfg;  ctim_cfg_init(&cfg);
//      cfg.servers = "tcp://a:2748,tcp://b:2748";  cfg.user = "app";  cfg.password = "secret";
//      cfg.on_reply = my_reply;  cfg.on_call = my_call;  cfg.on_line = my_line;  cfg.arg = me;
//      ctim_t *ctim = ctim_new(&cfg);
//      ctim_connect(ctim);
//      int id = ctim_open_line(ctim, "101", NULL);     //  > 0; its reply arrives later
//      for (;;) {
//          struct pollfd p = {.fd = ctim_fd(ctim), .events = POLLIN};
//          poll(&p, 1, ctim_timeout_ms(ctim));        //  ask for the timeout before EVERY poll
//          ctim_dispatch(ctim);                        //  timers, input, callbacks
//      }
//      ctim_destroy(&ctim);
//
//  Threading: one thread owns a handle; every function and every callback runs on it.
//  Callbacks run only inside ctim_dispatch().  A callback may call any ctim function except
//  ctim_destroy().  Or, after ctim_start_thread(), a thread of the library runs the callbacks
//  and any thread may make requests (see there).
//
//  Requests: each request function returns a request id (> 0) and the on_reply callback is
//  later called exactly once for that id -- with the node's result, or with
//  CTIM_RESULT_SERVER_LOST when the server went silent while it was in flight, or
//  CTIM_RESULT_TIMEOUT when no server answered it within request_timeout_ms.  A request
//  made while the library looks for a server is queued and sent when one answers.  A request
//  function that returns a negative errno made no request and no reply will follow.
//  ctim_destroy() drops outstanding requests without calling back.
#ifndef CTIM_H
#define CTIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CTIM_VERSION_MAJOR 0
#define CTIM_VERSION_MINOR 1
#define CTIM_VERSION_PATCH 0

typedef struct ctim_s ctim_t;

//  The result of a request.  Values 1..18 equal the node's result codes (client.proto
//  Result); 100 and up are the library's own.  Values are stable.
typedef enum {
    CTIM_RESULT_OK = 1,
    CTIM_RESULT_ERROR = 2,                  //  any other failure (text says which)
    CTIM_RESULT_BAD_REQUEST = 3,
    CTIM_RESULT_UNSUPPORTED_VERSION = 4,
    CTIM_RESULT_LOGIN_FAILED = 5,
    CTIM_RESULT_NOT_LOGGED_IN = 6,
    CTIM_RESULT_ACCESS_DENIED = 7,          //  the user may not use that line
    CTIM_RESULT_LINE_NOT_OPEN = 8,
    CTIM_RESULT_INVALID_LINE = 9,
    CTIM_RESULT_INVALID_CALL = 10,
    CTIM_RESULT_INVALID_DESTINATION = 11,
    CTIM_RESULT_INVALID_STATE = 12,
    CTIM_RESULT_BUSY = 13,
    CTIM_RESULT_RESOURCE_UNAVAILABLE = 14,
    CTIM_RESULT_NOT_SUPPORTED = 15,
    CTIM_RESULT_PBX_TIMEOUT = 16,
    CTIM_RESULT_LINK_DOWN = 17,             //  the node's PBX link is down
    CTIM_RESULT_INTERRUPTED = 18,
    CTIM_RESULT_SERVER_LOST = 100,          //  the server went silent with the request in flight
    CTIM_RESULT_TIMEOUT = 101,              //  no answer within request_timeout_ms
} ctim_result_t;

//  Call states an application sees (client.proto CallState).
typedef enum {
    CTIM_CALL_UNKNOWN = 0,                  //  a state this library does not know
    CTIM_CALL_OFFERING = 1,
    CTIM_CALL_ACCEPTED = 2,
    CTIM_CALL_DIAL_TONE = 3,
    CTIM_CALL_DIALLING = 4,
    CTIM_CALL_RINGBACK = 5,
    CTIM_CALL_BUSY = 6,
    CTIM_CALL_CONNECTED = 7,
    CTIM_CALL_PROCEEDING = 8,
    CTIM_CALL_ON_HOLD = 9,
    CTIM_CALL_CONFERENCED = 10,
    CTIM_CALL_ON_HOLD_PENDING_CONFERENCE = 11,
    CTIM_CALL_ON_HOLD_PENDING_TRANSFER = 12,
    CTIM_CALL_DISCONNECTED = 13,
    CTIM_CALL_IDLE = 14,
} ctim_call_state_t;

typedef enum {
    CTIM_DIR_UNKNOWN = 0,
    CTIM_DIR_INCOMING = 1,
    CTIM_DIR_OUTGOING = 2,
    CTIM_DIR_INTERNAL = 3,
} ctim_direction_t;

//  The nine forwarding modes (client.proto ForwardMode): trigger x which callers.
typedef enum {
    CTIM_FWD_IMMEDIATE_ALL = 1,
    CTIM_FWD_IMMEDIATE_INTERNAL = 2,
    CTIM_FWD_IMMEDIATE_EXTERNAL = 3,
    CTIM_FWD_BUSY_ALL = 4,
    CTIM_FWD_BUSY_INTERNAL = 5,
    CTIM_FWD_BUSY_EXTERNAL = 6,
    CTIM_FWD_NO_ANSWER_ALL = 7,
    CTIM_FWD_NO_ANSWER_INTERNAL = 8,
    CTIM_FWD_NO_ANSWER_EXTERNAL = 9,
} ctim_forward_mode_t;

//  The connection to the server, as reported to on_link.
typedef enum {
    CTIM_LINK_UP = 1,                       //  logged in (new session or resumed)
    CTIM_LINK_DOWN = 2,                     //  server silent or left; looking for the next one
    CTIM_LINK_LOGIN_FAILED = 3,             //  the server refused the login; the library stops
} ctim_link_t;

//  A call event, borrowed for the callback's duration.  Numbers are formatted by the node.
//  Also the call of a get_call_info reply.
typedef struct {
    const char *line;
    const char *call_id;
    ctim_call_state_t state;
    ctim_direction_t direction;
    const char *caller_number;
    const char *caller_name;
    const char *called_number;
    const char *called_name;
    const char *cause;                      //  "" unless the node gave one
    bool snapshot;                          //  the state now (after an open or lost events),
                                            //  not a transition
} ctim_call_event_t;

//  One line (ctim_list_lines).
typedef struct {
    const char *line;
    const char *name;                       //  "" when the node knows none
    bool open;                              //  opened by this application
    bool in_service;
    const char *failure_number;             //  "" = none
} ctim_line_info_t;

//  One forwarding mode of a line.
typedef struct {
    ctim_forward_mode_t mode;
    bool on;
    const char *destination;                //  "" when off
} ctim_forward_t;

//  A line's address status (ctim_get_address_status).
typedef struct {
    const char *line;
    bool in_service;
    bool do_not_disturb;
    bool message_waiting;
    const ctim_forward_t *forwarding;       //  forwarding_count entries, at most one per mode
    int forwarding_count;
} ctim_address_status_t;

//  A reply, borrowed for the callback's duration.
typedef struct {
    int request_id;
    ctim_result_t result;
    const char *text;                       //  "" when the node gave none
    const char *call_id;                    //  make call, setup transfer, pickup,
                                            //  complete transfer/conference: the resulting
                                            //  call's id when the PBX gave one; else ""
    const ctim_line_info_t *lines;          //  list lines: line_count lines; else NULL
    int line_count;
    const ctim_address_status_t *address;   //  get address status (OK): the status; else NULL
    const ctim_call_event_t *call;          //  get call info (OK): the call; else NULL
} ctim_reply_t;

//  A call detail record (only while this application owns CDR: ctim_set_cdr).
typedef struct {
    const char *call_id;
    const char *caller_number;
    const char *called_number;
    ctim_direction_t direction;
    uint64_t start_ms;                      //  Unix ms
    uint64_t connect_ms;                    //  Unix ms; 0 = never answered
    uint64_t end_ms;                        //  Unix ms
    uint32_t charge_units;
    const char *account;                    //  "" = none
} ctim_cdr_t;

typedef void(ctim_reply_fn)(ctim_t *ctim, const ctim_reply_t *reply, void *arg);
typedef void(ctim_call_fn)(ctim_t *ctim, const ctim_call_event_t *event, void *arg);
//  A line went in service (usable) or out of service (the server is gone, or the node says so).
typedef void(ctim_line_fn)(ctim_t *ctim, const char *line, bool in_service, void *arg);
//  The connection changed; server is the endpoint, text says why.
typedef void(ctim_link_fn)(ctim_t *ctim, ctim_link_t link, const char *server, const char *text,
                           void *arg);
//  A forwarding mode of a line changed (at the PBX, by anyone).
typedef void(ctim_forward_fn)(ctim_t *ctim, const char *line, const ctim_forward_t *forward,
                              void *arg);
//  Do not disturb of a line changed.
typedef void(ctim_dnd_fn)(ctim_t *ctim, const char *line, bool on, void *arg);
typedef void(ctim_cdr_fn)(ctim_t *ctim, const ctim_cdr_t *cdr, void *arg);
//  The node could not replay events after a failover or a slow read: count events are
//  gone.  Snapshot call events (ctim_call_event_t.snapshot) of every open line follow;
//  a call the application knew and that is not in them is gone.
typedef void(ctim_events_lost_fn)(ctim_t *ctim, uint64_t count, void *arg);

typedef struct {
    const char *servers;            //  comma-separated endpoints, tried in order (copied)
    const char *user;               //  (copied)
    const char *password;           //  (copied)
    const char *client;             //  free text shown by the node; NULL = "libctim"
    uint32_t heartbeat_ms;          //  requested heartbeat interval; default 1000
    uint32_t failback_after_ms;     //  back to the first server after this long; 0 = never
    uint32_t request_timeout_ms;    //  a request unanswered this long fails; default 10000
    uint32_t backoff_max_ms;        //  longest pause between connection attempts; default 5000
    ctim_reply_fn *on_reply;        //  any callback may be NULL
    ctim_call_fn *on_call;
    ctim_line_fn *on_line;
    ctim_link_fn *on_link;
    void *arg;                      //  passed to every callback
    ctim_forward_fn *on_forward;
    ctim_dnd_fn *on_dnd;
    ctim_cdr_fn *on_cdr;
    ctim_events_lost_fn *on_events_lost;
    //  CURVE (ZeroMQ's encryption): the servers' public key (40 characters Z85; every node
    //  of a cluster shares the server certificate); NULL = plain TCP.  curve_cert is a
    //  czmq certificate file with this application's key pair (zcert, the secret file);
    //  NULL = a fresh key pair per handle (the node must then accept any client key).
    const char *curve_server_key;   //  (copied)
    const char *curve_cert;         //  (copied)
} ctim_cfg_t;

//  Zero cfg and set the defaults.
void ctim_cfg_init(ctim_cfg_t *cfg);

//  Create a handle from cfg (strings are copied).  Returns NULL if cfg is unusable: no
//  server, an endpoint that is not tcp:// or ipc:// or inproc://, no user, too long a field.
ctim_t *ctim_new(const ctim_cfg_t *cfg);
//  Destroy; safe on NULL and twice; sets the caller's pointer to NULL.  Not from a callback.
void ctim_destroy(ctim_t **self_p);

//  Start looking for a server (the first in the list that answers).  Returns 0, -EALREADY.
int ctim_connect(ctim_t *self);

//  The pollable fd (readable means "call ctim_dispatch"); stable for the handle's life.
//  It is edge-triggered (ZeroMQ's ZMQ_FD): always poll with ctim_timeout_ms().
int ctim_fd(ctim_t *self);
//  How long the application may wait before the next ctim_dispatch(): 0 when work is ready,
//  -1 when nothing is scheduled.
int ctim_timeout_ms(ctim_t *self);
//  Run due timers, process input and call the callbacks.  Returns 0, or -ENOTCONN when the
//  library has stopped (never connected, or the login was refused).
int ctim_dispatch(ctim_t *self);

//  Library-thread mode, instead of ctim_fd/ctim_timeout_ms/ctim_dispatch: a thread of the
//  library dispatches and runs every callback.  From then on any thread may call the
//  request functions, ctim_server and ctim_is_up (they take the handle's lock; callbacks
//  run under it, so a callback may call them too); ctim_dispatch returns -EBUSY and
//  ctim_timeout_ms -1.  An application lock taken in a callback must not be held while
//  calling a ctim function (the two locks would be taken in both orders).
//  ctim_destroy (not from a callback) stops and joins the thread.  Call after
//  ctim_connect.  Returns 0, -EALREADY, -ENOTCONN (not connected) or -errno.
int ctim_start_thread(ctim_t *self);

//  Requests: return the request id (> 0), or -EINVAL (a missing or too long argument) or
//  -ENOTCONN (ctim_connect was not called, or the login was refused).
//  Open a line (a device number); failure_number (NULL or "" = none) is where the node
//  deflects calls ringing there while this application is gone.  The library re-opens its
//  open lines on a new server session by itself.
int ctim_open_line(ctim_t *self, const char *line, const char *failure_number);
int ctim_close_line(ctim_t *self, const char *line);
int ctim_make_call(ctim_t *self, const char *line, const char *number);
int ctim_answer(ctim_t *self, const char *line, const char *call_id);
int ctim_hang_up(ctim_t *self, const char *line, const char *call_id);
int ctim_hold(ctim_t *self, const char *line, const char *call_id);
int ctim_retrieve(ctim_t *self, const char *line, const char *call_id);
//  Deflect a call ringing at line to number.
int ctim_redirect(ctim_t *self, const char *line, const char *call_id, const char *number);
//  Single-step transfer of the call to number.
int ctim_blind_transfer(ctim_t *self, const char *line, const char *call_id, const char *number);
//  Consultation call to number (call_id goes on hold); the reply's call_id is the new call.
int ctim_setup_transfer(ctim_t *self, const char *line, const char *call_id, const char *number);
//  Alternate between the held and the active call.
int ctim_swap_hold(ctim_t *self, const char *line, const char *held_call_id,
                   const char *active_call_id);
//  Join the two far ends and leave (transfer) or stay (conference).
int ctim_complete_transfer(ctim_t *self, const char *line, const char *held_call_id,
                           const char *active_call_id);
int ctim_complete_conference(ctim_t *self, const char *line, const char *held_call_id,
                             const char *active_call_id);
//  Single-step conference: bring number into the call; remove: drop number's party.
int ctim_add_to_conference(ctim_t *self, const char *line, const char *call_id,
                           const char *number);
int ctim_remove_from_conference(ctim_t *self, const char *line, const char *call_id,
                                const char *number);
//  Pick up at line the call ringing at ringing_number (NULL or "": group pickup); call_id
//  may be NULL.  The reply's call_id is the picked-up call.
int ctim_pickup(ctim_t *self, const char *line, const char *ringing_number, const char *call_id);
//  Send DTMF digits (0-9 * # A-D) in a connected call.
int ctim_dtmf(ctim_t *self, const char *line, const char *call_id, const char *digits);
//  Dial digits in dial-tone mode (after going off-hook, overlap dialling).
int ctim_dial_digits(ctim_t *self, const char *line, const char *call_id, const char *digits);
//  Call completion: have the PBX call back when the busy / unanswered far end is free.
int ctim_call_back(ctim_t *self, const char *line, const char *call_id);
//  Intrude into the call of the busy far end of call_id.
int ctim_intrusion(ctim_t *self, const char *line, const char *call_id);
//  Switch a forwarding mode on (destination required) or off (destination may be NULL).
int ctim_set_forwarding(ctim_t *self, const char *line, ctim_forward_mode_t mode, bool on,
                        const char *destination);
int ctim_set_do_not_disturb(ctim_t *self, const char *line, bool on);
//  Address status (forwarding, DND, message waiting) of a line the application has open.
int ctim_get_address_status(ctim_t *self, const char *line);
int ctim_get_call_info(ctim_t *self, const char *line, const char *call_id);
//  Every line the user may open, with names and whether this application has it open.
int ctim_list_lines(ctim_t *self);
//  Claim (on) or give up (off) the node's CDR stream; on_cdr gets the records while the
//  claim holds.  Another owner (a CSTA application or another libctim one): BUSY.  The
//  claim is made again by the library after a new session.
int ctim_set_cdr(ctim_t *self, bool on);

//  The endpoint in use (logged in or trying), or NULL before ctim_connect.
const char *ctim_server(ctim_t *self);
//  True when logged in to a server.
bool ctim_is_up(ctim_t *self);

const char *ctim_result_str(ctim_result_t result);
const char *ctim_call_state_str(ctim_call_state_t state);
const char *ctim_link_str(ctim_link_t link);
const char *ctim_forward_mode_str(ctim_forward_mode_t mode);    //  "immediate-all" ...
//  Parse "immediate", "busy", "no-answer" (all callers) or with "-all", "-internal",
//  "-external".  Returns 0 or -EINVAL.
int ctim_forward_mode_parse(const char *text, ctim_forward_mode_t *mode);

#ifdef __cplusplus
}
#endif

#endif
