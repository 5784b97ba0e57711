//  ctim_private: what the files of libctim share and applications never see -- the handle's
//  state and the calls between the session, the requests, the event translation and the
//  library thread.  Nothing here is exported (libctim.map lists ctim.h's functions only).
//
//  Locking: every public entry point takes self->lock (recursive) for its whole run, and the
//  dispatch logic (ctim_session_dispatch) and every callback run under it, so a callback may
//  call the request functions.  Functions declared here expect the lock held.
#ifndef CTIM_PRIVATE_H
#define CTIM_PRIVATE_H

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ctim.h"
#include "proto.h"

#define CTIM_SERVERS_MAX 16
#define CTIM_ENDPOINT_MAX 256
#define CTIM_SEND_MAX 4096      //  our messages are small; encode reports -ENOSPC otherwise
#define CTIM_CURVE_KEY_LEN 40   //  a Z85 CURVE key as text

typedef enum {
    CTIM_S_IDLE,                //  ctim_connect not called yet
    CTIM_S_WAIT,                //  pausing before the next attempt (backoff)
    CTIM_S_HELLO,               //  Hello sent, waiting for Welcome
    CTIM_S_RESUMING,            //  Welcome taken, waiting for ResumeResult
    CTIM_S_UP,                  //  logged in
    CTIM_S_STOPPED,             //  login refused
} ctim_state_t;

//  One request, queued until sent and kept until answered (by the node, SERVER_LOST or
//  TIMEOUT).
typedef struct ctim_req_s {
    struct ctim_req_s *next;
    int id;
    bool internal;              //  made by the library itself (re-open, CDR re-claim): the
                                //  application gets no reply
    bool sent;
    int64_t expires_at;         //  monotonic ms
    proto_request_t req;
} ctim_req_t;

//  A line the application opened (the node confirmed it).
typedef struct ctim_line_s {
    struct ctim_line_s *next;
    char number[PROTO_NUMBER_MAX + 1];
    char failure_number[PROTO_NUMBER_MAX + 1];
    bool open;                  //  the node confirmed it (or a session resumed with it)
    bool in_service;            //  as last reported to the application
    bool reported;              //  the application was told its state at least once
} ctim_line_t;

struct ctim_s {
    ctim_cfg_t cfg;             //  strings below are ours
    char *servers_text;
    char *user;
    char *password;
    char *client;
    char *curve_server_key;
    char *curve_cert;
    char servers[CTIM_SERVERS_MAX][CTIM_ENDPOINT_MAX];
    size_t server_count;
    size_t server;              //  index in use
    bool connected;             //  the DEALER is connected to servers[server]
    zsock_t *dealer;
    ctim_state_t state;
    uint32_t heartbeat_ms;      //  negotiated
    int64_t last_rx;            //  monotonic ms of the last message from the server
    int64_t next_heartbeat;
    int64_t deadline;           //  HELLO, RESUMING: give up; WAIT: next attempt
    int64_t up_since;
    uint32_t backoff_ms;        //  pause before the next attempt (doubles, capped)
    char resume_token[PROTO_TOKEN_MAX + 1];
    uint64_t last_seq;          //  highest event sequence processed in this session (acked
                                //  in every Heartbeat)
    bool cdr_claimed;           //  the application owns CDR: claimed again on a new session
    int next_id;
    ctim_req_t *requests;       //  newest first
    ctim_line_t *lines;
    uint8_t buf[CTIM_SEND_MAX];
    //  Locking and the library thread (ctim_thread.c).
    pthread_mutex_t lock;       //  recursive
    atomic_int lock_waiters;    //  threads in ctim_lock: the library thread lets them in
    bool lock_ready;            //  initialised (destroy copes with a half-built handle)
    bool threaded;              //  ctim_start_thread succeeded: the thread dispatches
    bool stopping;              //  destroy asked the thread to end
    pthread_t thread;
    int wake_fd;                //  eventfd: another thread touched the socket; -1 = none
};

//  --- ctim_client.c: the session -------------------------------------------------------------
//  Every entry point but the library thread's loop takes the lock through ctim_lock, which
//  counts the waiters so that the loop can let them in between its turns.
void ctim_lock(ctim_t *self);
void ctim_unlock(ctim_t *self);
//  Queue a request the application made (a copy of *req, op and arguments filled in): assigns
//  the id, sends it now when logged in, wakes the library thread.  Takes the lock itself.
//  Returns the id, -ENOTCONN or -ENOMEM.
int ctim_session_request(ctim_t *self, const proto_request_t *req);
//  The dispatch logic: at most burst messages in, due timers, callbacks.  Returns 0 or
//  -ENOTCONN (stopped).
int ctim_session_dispatch(ctim_t *self, int burst);
//  Milliseconds until ctim_session_dispatch has work (0 = now), -1 = nothing scheduled.
int ctim_session_timeout(ctim_t *self);
//  True while the DEALER has a server to hear from (not IDLE, not STOPPED).
bool ctim_session_active(ctim_t *self);
//  Tell the application a line's service state, once per change.
void ctim_line_report(ctim_t *self, ctim_line_t *l, bool in_service);
ctim_line_t *ctim_line_find(ctim_t *self, const char *number);

//  --- ctim_events.c: node messages to the application's callbacks ---------------------------
//  The node's result as the public code; a value out of range (a newer node) is ERROR.
ctim_result_t ctim_events_result(proto_result_t r);
//  An Event: sequence bookkeeping (replays already processed are dropped), then the callback.
void ctim_events_event(ctim_t *self, const proto_event_t *ev);
//  EventsLost: the gap is acknowledged and on_events_lost says how many.
void ctim_events_lost(ctim_t *self, const proto_events_lost_t *lost);
//  The node's reply to r: payloads translated, on_reply called (not for internal requests).
void ctim_events_reply(ctim_t *self, const ctim_req_t *r, const proto_reply_t *rep);
//  A reply the library makes itself (SERVER_LOST, TIMEOUT, LOGIN_FAILED ...).
void ctim_events_reply_local(ctim_t *self, const ctim_req_t *r, ctim_result_t result,
                             const char *text);

//  --- ctim_thread.c: the library-thread mode -------------------------------------------------
//  A thread other than the library's touched the socket: make the library thread look again
//  (ZMQ_FD is edge-triggered, and that thread may have taken the edge).  No-op otherwise.
void ctim_thread_wake(ctim_t *self);
//  Stop and join the library thread, if any (ctim_destroy; not from a callback).
void ctim_thread_stop(ctim_t *self);

#endif
