//  csta_client: a CSTA application's connection to a switch (a PBX, pbxsim or a ctim
//  node): connect, associate (AARQ/AARE with optional login), invoke with reply
//  matching, events.  Calls block up to a deadline, which suits tools and tests; the
//  node's PBX link is non-blocking and lives in node/.
#ifndef CSTA_CLIENT_H
#define CSTA_CLIENT_H

#include "csta_apdu.h"
#include "csta_frame.h"

typedef struct {
    const char *host;               //  numeric address or name; default 127.0.0.1
    int port;                       //  default 33333
    csta_framing_t framing;         //  default len16
    const char *context;            //  application context; default 1.3.12.0.218
    const char *user;               //  login in the AARQ (NULL: none, as on a Panasonic link)
    const char *password;
    int timeout_ms;                 //  connect + association deadline; default 5000
    bool keep_system_status;        //  queue SystemStatus invokes as events (they are
                                    //  always answered); default false: answered, dropped
    //  TLS (OpenSSL, TLS 1.2 or later) around the CSTA stream, as a ctim node's TLS port
    //  (csta_server.tls_port) speaks it.  The handshake counts against timeout_ms.  A peer
    //  that vanishes must not kill the program: connect ignores SIGPIPE if it is at its
    //  default (OpenSSL writes with write(2)).
    bool tls;
    const char *tls_ca;             //  PEM file the server's certificate must chain to, with
                                    //  the host name checked; NULL: not verified (tests)
} csta_client_cfg_t;

typedef struct csta_client csta_client_t;

csta_client_t *csta_client_new(const csta_client_cfg_t *cfg);
void csta_client_destroy(csta_client_t **self_p);

//  Connect and associate.  Returns 0, or -ECONNREFUSED / -ETIMEDOUT / -ECONNRESET, or
//  -EACCES when the switch rejects the association (the AARE is kept: csta_client_aare),
//  or -EPROTO when the TLS handshake fails (certificate not trusted ...).
int csta_client_connect(csta_client_t *self);
const csta_acse_t *csta_client_aare(const csta_client_t *self);

//  Send an invoke (kind INVOKE); its invoke id is chosen here and returned (> 0), or a
//  negative errno (-ENOTCONN, -EINVAL encode failure, -EPIPE).
long csta_client_invoke(csta_client_t *self, csta_apdu_t *invoke);

//  Wait until the reply (result, error or reject) to invoke_id arrives; events that come
//  first are queued.  Returns 0 (reply decoded into *reply, caller clears it),
//  -ETIMEDOUT, -ECONNRESET (link closed), -EBADMSG (undecodable frame).
int csta_client_wait_reply(csta_client_t *self, long invoke_id, csta_apdu_t *reply,
                           int timeout_ms);

//  Invoke and wait for its reply in one call.
int csta_client_call(csta_client_t *self, csta_apdu_t *invoke, csta_apdu_t *reply,
                     int timeout_ms);

//  The next unsolicited invoke (events, SystemStatus if kept, CDR reports ...), in
//  arrival order.  Returns 0, -ETIMEDOUT, -ECONNRESET, -EBADMSG.
int csta_client_next_event(csta_client_t *self, csta_apdu_t *event, int timeout_ms);

//  Send an already encoded APDU as one frame (tests send malformed bytes this way).
int csta_client_send_raw(csta_client_t *self, const uint8_t *apdu, size_t len);
//  Send a reply (result/error) built by the caller, e.g. a CDR acknowledgement.
int csta_client_reply(csta_client_t *self, const csta_apdu_t *reply);

//  Release the association (RLRQ, wait for RLRE up to timeout_ms) and close.
int csta_client_release(csta_client_t *self, int timeout_ms);
void csta_client_close(csta_client_t *self);
bool csta_client_connected(const csta_client_t *self);
int csta_client_fd(const csta_client_t *self);

#endif
