//  ha_curve: CURVE on the node's ZeroMQ sockets, shared by the cluster bus and the client
//  API — certificates (czmq zcert files), the process's one ZAP handler with a policy per
//  ZAP domain, and the names of failed handshakes as ZeroMQ's socket monitor reports them.
//
//  Why one ZAP handler of our own rather than czmq's zauth: ZeroMQ has one ZAP endpoint per
//  context (inproc://zeromq.zap.01), and a zauth actor binds it with one CURVE policy for
//  every socket of the process.  The client API may allow any client key while the cluster
//  bus allows only its peers' keys, so the policy is chosen by the server socket's ZAP
//  domain.  The handler is an actor (its own thread, reached only by messages), started
//  by the first ha_curve_auth_new and stopped with the last ha_curve_auth_destroy; a CURVE
//  request for a domain nobody registered is refused.
#ifndef HA_CURVE_H
#define HA_CURVE_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define HA_CURVE_KEY_TXT 41             //  a Z85 key: 40 characters and the NUL

//  A node's certificate as Z85 text; public_txt "" means plain text (no CURVE).
typedef struct {
    char public_txt[HA_CURVE_KEY_TXT];
    char secret_txt[HA_CURVE_KEY_TXT];
} ha_curve_cert_t;

//  Load a certificate with its secret key from path (zcert_load reads path_secret first,
//  then path: either name of zcert_save's pair).  0, -ENOENT (no such file), -EINVAL (not
//  a certificate, or no secret key in it).
int ha_curve_cert_load(const char *path, ha_curve_cert_t *cert);
//  The public key of the certificate at path (a public file as zcert_save writes PATH, or
//  a secret one).  0, -ENOENT, -EINVAL.
int ha_curve_public_load(const char *path, char key[HA_CURVE_KEY_TXT]);
//  Make a new certificate: path (public) and path_secret (mode 0600), as czmq's zmakecert
//  would (Debian does not package it).  0 or a negative errno.
int ha_curve_make_cert(const char *path);

//  sock becomes a CURVE server with cert (before its bind); ZAP asks domain's policy.
void ha_curve_server(zsock_t *sock, const ha_curve_cert_t *cert, const char *domain);
//  sock becomes a CURVE client with cert, talking to the server whose public key is
//  server_key (before its connect).
void ha_curve_client(zsock_t *sock, const ha_curve_cert_t *cert, const char *server_key);

//  --- ZAP ---------------------------------------------------------------------------------------

typedef struct ha_curve_auth ha_curve_auth_t;
//  Answer CURVE handshakes of the server sockets in domain: any client key when any is
//  true; else the keys (count Z85 public keys), plus the public certificates in folder
//  when folder is set (read again when it changes, as zauth does).  Waits for the handler
//  (start only).  NULL when memory runs out or domain is registered already.
ha_curve_auth_t *ha_curve_auth_new(const char *domain, bool any, const char *folder,
                                   const char (*keys)[HA_CURVE_KEY_TXT], size_t count);
//  Forget the domain (its handshakes are refused from now on).  Safe on NULL and twice.
void ha_curve_auth_destroy(ha_curve_auth_t **self_p);

//  --- Handshake failures --------------------------------------------------------------------------

typedef enum {
    HA_CURVE_KEY_REFUSED,       //  the client's key is not allowed (ZAP said no)
    HA_CURVE_NOT_CURVE,         //  the other side speaks plain text (mechanism mismatch)
    HA_CURVE_WRONG_KEY,         //  a cryptographic error: a server key that is not the server's
    HA_CURVE_PROTOCOL,          //  another protocol error
    HA_CURVE_IO_ERROR,          //  the other side hung up during the handshake
    HA_CURVE_REASONS
} ha_curve_reason_t;

//  The events a monitor needs to see failed handshakes (zmq_socket_monitor).
#define HA_CURVE_FAILED_EVENTS                                                                    \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |               \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
//  Why a handshake failed, from a monitor event and its value.
ha_curve_reason_t ha_curve_reason(uint16_t event, uint32_t value);
//  "client-key-refused", "not-curve", "wrong-server-key", "protocol", "io-error".
const char *ha_curve_reason_str(ha_curve_reason_t reason);
//  A socket monitor of sock for events (zmq_socket_monitor on a fresh inproc endpoint):
//  the PAIR socket its events arrive on, for the caller's loop; NULL when ZeroMQ refused.
zsock_t *ha_curve_monitor_new(zsock_t *sock, int events);
//  Stop monitoring sock and destroy the PAIR (*monitor_p NULL after).  Safe on NULL.
void ha_curve_monitor_destroy(zsock_t *sock, zsock_t **monitor_p);
//  One monitor message (zmq_socket_monitor's two frames) into event, value and the
//  endpoint (into ep[cap]).  false when the message is not one.
bool ha_curve_monitor_read(zmsg_t *msg, uint16_t *event, uint32_t *value, char *ep, size_t cap);

//  A server's failed handshakes, warned about at most once per interval: ha_curve_failure_read
//  reads one message of monitor (a PAIR from ha_curve_monitor_new); true when it was a
//  failure, with out filled in: out->log says whether to warn about this one, and
//  out->quiet how many were not warned about since the last warning.
typedef struct {
    int64_t logged_at;              //  zclock_mono of the last warning
    long quiet;
} ha_curve_rate_t;
typedef struct {
    uint16_t event;
    uint32_t value;
    ha_curve_reason_t reason;
    char endpoint[256];             //  the server's endpoint (the peer is not known there)
    bool log;
    long quiet;
} ha_curve_failure_t;
bool ha_curve_failure_read(zsock_t *monitor, ha_curve_rate_t *rate, int interval_ms,
                           ha_curve_failure_t *out);

//  --- Dialer: a DEALER that keeps dialling after failed handshakes ------------------------------

//  ZeroMQ gives an endpoint up for good after a handshake that failed (a protocol error:
//  a plain peer, a key refused): its DEALER would never reach that peer again, even once
//  the peer's certificates are fixed.  A dialer watches the DEALER's handshakes on the
//  loop and, after a failure, disconnects and connects the endpoint again redial_ms later.
typedef struct ha_curve_dialer ha_curve_dialer_t;
//  A handshake of the DEALER failed (event, value as the monitor reports them) or, with
//  event ZMQ_EVENT_HANDSHAKE_SUCCEEDED, passed.
typedef void(ha_curve_dialer_fn)(void *arg, uint16_t event, uint32_t value);
//  Watch dealer (borrowed) and connect it to endpoint — in this order, or the first
//  handshake could fail unseen, and ZeroMQ would never try again.  fn may be NULL.  NULL
//  when ZeroMQ refuses the monitor or the endpoint, or memory runs out.
ha_curve_dialer_t *ha_curve_dialer_new(zloop_t *loop, zsock_t *dealer, const char *endpoint,
                                       int redial_ms, ha_curve_dialer_fn *fn, void *arg);
//  Stop watching (before the DEALER is destroyed).  Safe on NULL and twice.
void ha_curve_dialer_destroy(ha_curve_dialer_t **self_p);

#endif
