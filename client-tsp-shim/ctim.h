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
//  ctim_destroy().
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

//  The connection to the server, as reported to on_link.
typedef enum {
    CTIM_LINK_UP = 1,                       //  logged in (new session or resumed)
    CTIM_LINK_DOWN = 2,                     //  server silent or left; looking for the next one
    CTIM_LINK_LOGIN_FAILED = 3,             //  the server refused the login; the library stops
} ctim_link_t;

//  A reply, borrowed for the callback's duration.
typedef struct {
    int request_id;
    ctim_result_t result;
    const char *text;                       //  "" when the node gave none
    const char *call_id;                    //  make call: the new call's id; else ""
} ctim_reply_t;

//  A call event, borrowed for the callback's duration.  Numbers are formatted by the node.
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
} ctim_call_event_t;

typedef void(ctim_reply_fn)(ctim_t *ctim, const ctim_reply_t *reply, void *arg);
typedef void(ctim_call_fn)(ctim_t *ctim, const ctim_call_event_t *event, void *arg);
//  A line went in service (usable) or out of service (the server is gone, or the node says so).
typedef void(ctim_line_fn)(ctim_t *ctim, const char *line, bool in_service, void *arg);
//  The connection changed; server is the endpoint, text says why.
typedef void(ctim_link_fn)(ctim_t *ctim, ctim_link_t link, const char *server, const char *text,
                           void *arg);

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

//  The endpoint in use (logged in or trying), or NULL before ctim_connect.
const char *ctim_server(ctim_t *self);
//  True when logged in to a server.
bool ctim_is_up(ctim_t *self);

const char *ctim_result_str(ctim_result_t result);
const char *ctim_call_state_str(ctim_call_state_t state);
const char *ctim_link_str(ctim_link_t link);

#ifdef __cplusplus
}
#endif

#endif
