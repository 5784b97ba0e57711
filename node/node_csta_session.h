//  node_csta_session: one CSTA application connected to the multiplexer (TCP or TLS).
//
//  It plays the switch towards its application (csta-facts.md 1.2, 1.3, 5):
//  - association: AARQ -> AARE, any CSTA application context echoed, CSTA versionFive,
//    result accepted with diagnostic no-reason-given as a Panasonic answers; the login of
//    the AARQ checked with node_users (required on TLS, and on TCP when configured);
//  - requests: forwarded to the PBX service with the application's invoke id restored in
//    the reply (csta_peek_rewrite: the bytes travel unchanged otherwise, private data
//    included); devices outside the user's permitted set get a UniversalFailure;
//  - monitors: MonitorStart becomes a shared node_pbx watch and the application gets a
//    2-byte cross-reference of its own; events are rewritten to it and filtered by the
//    application's own MonitorFilter;
//  - SystemStatus and friends answered locally; CDR transmission owned by one application;
//  - a bounded output queue: an application that does not read is cut off, never waited for.
//
//  The server (node_csta_server) owns the sessions; this header is the seam between the
//  two and for unit tests.  Callbacks that zloop or the PBX service make carry the
//  session's id, not its address, so a session that has gone is simply not found.
#ifndef NODE_CSTA_SESSION_H
#define NODE_CSTA_SESSION_H

#include <czmq.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>

#include "node_config.h"
#include "node_metrics.h"
#include "node_pbx.h"
#include "node_users.h"
#include "node_verifier.h"

typedef struct node_csta_session node_csta_session_t;

//  Deadline for the TLS handshake plus the AARQ; the application is dropped after it.
#define NODE_CSTA_ASSOCIATE_TIMEOUT_MS 10000
//  Time given to a closing session to flush its last APDU (a rejecting AARE, an RLRE).
#define NODE_CSTA_LINGER_MS 1000
//  Requests of one application waiting for the PBX; beyond, ROSE Reject resourceLimitation.
#define NODE_CSTA_PENDING_MAX 256
//  Monitors of one application (its cross-reference ids are 2 bytes).
#define NODE_CSTA_MONITORS_MAX 65535

//  Metric handles the server registers (any may be NULL).
typedef struct {
    node_metric_t *apps;                //  gauge csta_apps{transport}
    node_metric_t *connections;         //  counter csta_app_connections_total{transport}
    node_metric_t *disconnects;         //  counter csta_app_disconnects_total{reason}
    node_metric_t *logins;              //  counter csta_logins_total{result}
    node_metric_t *messages;            //  counter csta_messages_total{direction}
    node_metric_t *bytes;               //  counter csta_bytes_total{direction}
    node_metric_t *requests;            //  counter csta_requests_total{operation,result}
    node_metric_t *request_seconds;     //  histogram csta_request_duration_seconds
    node_metric_t *events;              //  counter csta_events_out_total
    node_metric_t *monitors;            //  gauge csta_app_monitors
    node_metric_t *overflows;           //  counter csta_queue_overflows_total
    node_metric_t *bad_input;           //  counter csta_bad_input_total{reason}
    node_metric_t *denied;              //  counter csta_permission_denied_total{operation}
} node_csta_metrics_t;

//  What every session of a server shares (owned by the server).
typedef struct {
    zloop_t *loop;
    const node_csta_server_cfg_t *cfg;
    node_pbx_t *pbx;                    //  NULL until attached: requests fail with
                                        //  systemResourceAvailability
    node_users_t *users;
    //  The password checks' worker (borrowed; NULL: PBKDF2 runs on the loop, as in unit
    //  tests): a login that needs a run waits for it with its input parked.
    node_verifier_t *verifier;
    int request_timeout_ms;             //  <= 0: the PBX's configured request_timeout_ms
    node_csta_metrics_t m;
    //  The server's hooks: a session that closed wants to be destroyed (never from inside
    //  the callback that closed it), a session with output wants a flush soon.
    void *server;
    void (*on_closed)(void *server, node_csta_session_t *session);
    void (*on_output)(void *server, node_csta_session_t *session);
    //  A monitor became active (added true: the PBX monitors the device for it) or an
    //  active one went (stopped, or the session closed).  May be NULL.
    void (*on_monitor)(void *server, const csta_device_t *device, bool added);
    //  The application's association was accepted (after its login, if any).  May be NULL.
    void (*on_associated)(void *server);
} node_csta_env_t;

typedef enum {
    NODE_CSTA_HANDSHAKE,                //  TLS handshake under way
    NODE_CSTA_AWAIT_AARQ,
    NODE_CSTA_ASSOCIATED,
    NODE_CSTA_CLOSING,                  //  flushing a last APDU, then closed
    NODE_CSTA_CLOSED,                   //  waiting for the server to destroy it
} node_csta_state_t;

const char *node_csta_state_str(node_csta_state_t state);

//  A session for the connected, non-blocking socket fd (owned from now on) from peer
//  ("ip:port"; peer_ip without the port is what logins are throttled by).  ssl (owned,
//  may be NULL for TCP) is a server-mode SSL bound to fd.  Returns NULL (fd closed, ssl
//  freed) when out of memory.
node_csta_session_t *node_csta_session_new(node_csta_env_t *env, int fd, SSL *ssl,
                                           const char *peer, const char *peer_ip);
//  Release the watches and the CDR claim, close the socket, free.  Safe on NULL.
void node_csta_session_destroy(node_csta_session_t **self_p);

//  Close: the session stops reading and writing at once and asks the server (on_closed) to
//  destroy it later.  reason is a static string (logs, metric label).
void node_csta_session_close(node_csta_session_t *self, const char *reason);
node_csta_state_t node_csta_session_state(const node_csta_session_t *self);
uint64_t node_csta_session_id(const node_csta_session_t *self);
bool node_csta_session_is_tls(const node_csta_session_t *self);
//  The peer's IP address without the port.
const char *node_csta_session_peer_ip(const node_csta_session_t *self);

//  Write queued output now (the server calls it after on_output).
void node_csta_session_flush(node_csta_session_t *self);

//  The PBX service's reports, fanned out by the server.
void node_csta_session_pbx_state(node_csta_session_t *self, node_pbx_state_t state);
void node_csta_session_broadcast(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                                 const csta_peek_t *keys);
//  An event for a watch: watch_arg identifies the session and its monitor (nothing happens
//  if either has gone).
void node_csta_session_event(void *watch_arg, const uint8_t *apdu, size_t len,
                             const csta_peek_t *keys);
//  A watch's device is monitored again (monitored true: node_pbx's on_watch_monitored) or
//  no longer (false: on_watch_unmonitored, the owner lost it): the monitor's BackInService
//  / OutOfService (ECMA-269 deviceMaintenance), each only once per change.
void node_csta_session_watch_monitored(void *watch_arg, bool monitored);
//  Events of a watch's device were lost between the nodes (on_watch_stale): OutOfService
//  then BackInService on its monitor, so that the application snapshots it again.
void node_csta_session_watch_stale(void *watch_arg);

//  The users changed (reload; env->users is the new set): look the session's user up again
//  by name, since indexes may have moved; a session whose user has gone is closed.
void node_csta_session_users_changed(node_csta_session_t *self);

//  The session as one JSON object (see node_csta_server_status_json).
void node_csta_session_status_json(const node_csta_session_t *self, FILE *out);

#endif
