//  node_pbx_link: the CSTA link to one PBX — connect with back-off, associate, keep alive,
//  track requests — on the node's zloop, without a blocking call.
//
//  The link is the client side of a CSTA association (csta-facts.md 1, 5): TCP connect
//  (non-blocking, deadline connect_timeout_ms), AARQ with ACN 1.3.12.0.218 and CSTA
//  versionFive (and the login, when configured), AARE.  It answers every SystemStatus
//  (211, Phase II 52) itself and declares the link dead when nothing arrives for
//  silence_timeout_ms, on a read or write error, an ABRT or broken framing.  Then it
//  reconnects after an exponential back-off (backoff_initial_ms doubling up to
//  backoff_max_ms, each delay +-20 % jitter).
//
//  Requests are encoded invokes; the link gives each a PBX-side invoke id (rewriting the
//  caller's with csta_peek_rewrite), keeps at most `window` outstanding and queues up to
//  `queue_max` more in FIFO order.  Every request gets exactly one reply (DESIGN.md
//  invariant 5): the PBX's result/error/reject, or -ETIMEDOUT at its deadline (a late
//  answer is then dropped), -ENOTCONN when the link is not up or goes down, -ENOBUFS when
//  the queue is full.  Replies are never called from inside node_pbx_link_request.
#ifndef NODE_PBX_LINK_H
#define NODE_PBX_LINK_H

#include <czmq.h>

#include "csta.h"
#include "node_config.h"

typedef struct node_pbx_link node_pbx_link_t;

typedef enum {
    NODE_PBX_LINK_IDLE,         //  not started
    NODE_PBX_LINK_RESOLVING,    //  looking up the host name (getaddrinfo_a)
    NODE_PBX_LINK_CONNECTING,   //  TCP connect in progress
    NODE_PBX_LINK_ASSOCIATING,  //  AARQ sent, waiting for the AARE
    NODE_PBX_LINK_UP,           //  associated
    NODE_PBX_LINK_BACKOFF,      //  waiting before the next attempt
} node_pbx_link_state_t;

const char *node_pbx_link_state_str(node_pbx_link_state_t state);

//  What the link's owner hears.  Callbacks run on the loop; they may send requests, but
//  must not destroy the link.
typedef struct {
    void *ctx;
    //  Associated (again).
    void (*on_up)(void *ctx);
    //  An UP link was lost (reason for logs: "silence", "peer-closed", "abort", ...).
    //  Called before the outstanding requests get their -ENOTCONN.
    void (*on_down)(void *ctx, const char *reason);
    //  An invoke from the PBX: events, segments, CDR reports, SystemStatus (already
    //  answered), anything else.  keys is the csta_peek of apdu.
    void (*on_invoke)(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys);
    //  Optional: the PBX answered a request after its deadline (the requester already got
    //  -ETIMEDOUT).  opcode is the request's.  The PBX may have done what was asked — a
    //  late MonitorStart result is a monitor nobody knows of — so the owner may undo it.
    void (*on_late_reply)(void *ctx, int opcode, const uint8_t *apdu, size_t len,
                          const csta_peek_t *keys);
} node_pbx_link_listener_t;

//  A request's one reply: status 0 with the PBX's result, error or reject (apdu, len,
//  keys; the invoke id is the PBX-side one), or status < 0 with no bytes (apdu NULL,
//  keys NULL).
typedef void (node_pbx_link_reply_fn)(void *arg, int status, const uint8_t *apdu, size_t len,
                                      const csta_peek_t *keys);

typedef struct {
    long requests;              //  accepted by node_pbx_link_request
    long replies;               //  answered by the PBX (result, error or reject)
    long timeouts;              //  -ETIMEDOUT replies
    long late_replies;          //  PBX answers after the deadline, dropped
    long rejected;              //  -ENOBUFS replies (queue full)
    long status_answered;       //  SystemStatus invokes answered
    long apdus_in, apdus_out;
    long bad_apdus;             //  APDUs from the PBX that did not peek (dropped)
    long attempts;              //  connection attempts
    long ups;                   //  associations made
    int outstanding;            //  requests at the PBX now
    int queued;                 //  requests waiting for the window now
} node_pbx_link_stats_t;

//  A link to cfg's PBX (cfg is copied).  Callbacks of listener run on loop.  Returns NULL
//  if cfg is unusable (window < 1, ...) or memory runs out.
node_pbx_link_t *node_pbx_link_new(zloop_t *loop, const node_pbx_cfg_t *cfg,
                                   const node_pbx_link_listener_t *listener);
//  Close the link; outstanding and queued requests get -ENOTCONN (their replies are
//  called from here).  Safe on NULL and twice.
void node_pbx_link_destroy(node_pbx_link_t **self_p);

//  Start connecting (first attempt at once).  Returns 0, or -EALREADY.
int node_pbx_link_start(node_pbx_link_t *self);
//  Let go of the PBX now (the cluster gave the link to another node): close the socket
//  without a release (the point is to be gone at once), cancel any attempt or back-off,
//  and stay IDLE until node_pbx_link_start.  An UP link reports on_down("stopped") and its
//  requests get -ENOTCONN, as for a lost link.  Not from inside the link's own callbacks.
//  Returns 0, or -EALREADY when it is not started.
int node_pbx_link_stop(node_pbx_link_t *self);
//  In BACKOFF: end the back-off and try now (the node that held the PBX let go).  The
//  back-off starts afresh: should this attempt fail too, the next comes after
//  backoff_initial_ms.  Returns 0, or -EALREADY in any other state.
int node_pbx_link_connect_now(node_pbx_link_t *self);
node_pbx_link_state_t node_pbx_link_state(const node_pbx_link_t *self);

//  Send the encoded invoke apdu[0..len) (any invoke id; it is replaced).  reply(arg, ...)
//  is called exactly once, later, from the loop.  timeout_ms <= 0 means the configured
//  request_timeout_ms.  Returns 0, -EINVAL (not an invoke: the bytes do not peek as one),
//  -EMSGSIZE (too long for the link's framing), -ENOMEM; on an error reply is not called.
int node_pbx_link_request(node_pbx_link_t *self, const uint8_t *apdu, size_t len, int timeout_ms,
                          node_pbx_link_reply_fn *reply, void *arg);

//  Send an APDU that needs no answer (a result acknowledging a PBX invoke).  Returns 0,
//  or -ENOTCONN when the link is not up (a failed write is handled as a link loss).
int node_pbx_link_send(node_pbx_link_t *self, const uint8_t *apdu, size_t len);

void node_pbx_link_stats(const node_pbx_link_t *self, node_pbx_link_stats_t *stats);

//  The delay before retry number `failures` (1 = after the first failure): backoff_initial_ms
//  doubled per failure, capped at backoff_max_ms, times a jitter factor in [0.8, 1.2]
//  given as `jitter` in [0, 1).  Exposed for tests.
int node_pbx_link_backoff_ms(const node_pbx_cfg_t *cfg, int failures, double jitter);

#endif
