//  node_client_server: ctimd's client API front end for libctim applications (issue 5).
//  Applications connect a ZeroMQ DEALER to this ROUTER (client_api.listen:port, default
//  127.0.0.1:2748) and speak proto/client.proto: one Envelope per ZeroMQ frame after the
//  ROUTER's identity frame (proto/README.md).  A session is one identity that logged in
//  with Hello (the CSTA front end's users, node_users_login); it opens lines (a
//  node_pbx_watch each, permission checked with node_users_may_use), sends requests that
//  become CSTA invokes through node_pbx_request, and gets the lines' call events as proto
//  Events with a per-session sequence number, kept in a bounded replay buffer
//  (node_client_replay, client_api.replay_events/replay_bytes) until the application
//  acknowledges them.  A Hello with the resume token of a live session (same user) moves
//  the session to the new ZeroMQ identity and replays what the application missed, or
//  says EventsLost and sends a fresh snapshot of its lines.  Output never blocks the node:
//  what ZeroMQ will not take (send_hwm) waits in the session and goes when the application
//  reads.  An application silent for two whole heartbeat intervals is declared failed:
//  logged at notice, counted (ctim_client_failures_total), its protected lines handed to
//  node_client_guard (calls ringing there go to its failure number), its session closed
//  and its watches released.  With client_api.curve_cert the ROUTER is a CURVE server
//  (ha_curve: the certificate, and the process's ZAP handler for the domain "ctim-client";
//  client_api.curve_clients limits the client keys).
//
//  Wiring (node_main.c), as node_csta_server:
//      node_client_server_t *cs = node_client_server_new(loop, &cfg->client_api, users,
//                                                        metrics, cfg->node_id);
//      node_client_server_listener(cs, &listener);     //  fanned out from the PBX listener;
//                                  //  events of watches node_client_server_owns go here only
//      node_client_server_attach(cs, pbx, cfg->pbx[0].request_timeout_ms);
//      node_client_server_set_numbers(cs, numfmt, lines);   //  again after each SIGHUP
//      if (node_client_server_start(cs)) ... (the reason is logged)
//  and node_client_server_destroy BEFORE node_pbx_destroy (sessions release their watches).
//  In a cluster node_main also gives it node_client_server_cluster: the cluster learns of
//  every session and line (ha/ha_registry.h), and a Hello whose resume token is not known
//  here may adopt a session of another node (resume anywhere).
//  Everything runs on the node's one zloop.
#ifndef NODE_CLIENT_SERVER_H
#define NODE_CLIENT_SERVER_H

#include <czmq.h>

#include "node_config.h"
#include "node_lines.h"
#include "node_metrics.h"
#include "node_numfmt.h"
#include "node_client_guard.h"
#include "node_pbx.h"
#include "node_users.h"
#include "node_verifier.h"
#include "proto.h"

typedef struct node_client_server node_client_server_t;

//  Heartbeat negotiation (ms): a Hello's request is clamped to [MIN, MAX]; 0 asks for
//  the default.
#define NODE_CLIENT_HEARTBEAT_MIN 200
#define NODE_CLIENT_HEARTBEAT_MAX 10000
#define NODE_CLIENT_HEARTBEAT_DEFAULT 1000

//  A server for cfg (borrowed; it must outlive the server).  users is borrowed (see
//  node_client_server_set_users); metrics is borrowed and may be NULL; node_id is copied
//  (Welcome.node).  Returns NULL when out of memory.
node_client_server_t *node_client_server_new(zloop_t *loop, const node_client_api_cfg_t *cfg,
                                             node_users_t *users, node_metrics_t *metrics,
                                             const char *node_id);
//  Close every session (their watches are released) and the socket.  Requests still at
//  the PBX are answered into nothing.  Safe on NULL and twice; sets *self_p to NULL.
void node_client_server_destroy(node_client_server_t **self_p);

//  Fill *listener with the callbacks through which the PBX service reaches this server.
void node_client_server_listener(node_client_server_t *self, node_pbx_listener_t *listener);
//  The PBX service the sessions use (borrowed), and each request's deadline (<= 0: the
//  PBX's request_timeout_ms).
void node_client_server_attach(node_client_server_t *self, node_pbx_t *pbx, int request_timeout_ms);

//  Bind the ROUTER.  port_override > 0 binds that port instead of cfg's, -1 an
//  OS-chosen one (tests), 0 cfg's.  Returns 0 or a negative errno after logging why.
int node_client_server_start(node_client_server_t *self, int port_override);
//  The port bound (after start), or 0.
int node_client_server_port(const node_client_server_t *self);

//  Users after a configuration reload (borrowed).  Sessions keep their login; their
//  user's index is looked up again by name, and a session whose user is gone is closed.
void node_client_server_set_users(node_client_server_t *self, node_users_t *users);

//  Number rules and line names (borrowed; either may be NULL): numbers in events are
//  formatted and named with them (node_client_calls.h), destinations dialled through the
//  dialling rules, list_lines lists the lines.  Call again after a configuration reload
//  replaced them; calls in progress keep their state.
void node_client_server_set_numbers(node_client_server_t *self, const node_numfmt_t *numfmt,
                                    const node_lines_t *lines);

//  Whether watch is one of this server's (node_main routes the first PBX's events by it:
//  the front ends share one node_pbx listener).
bool node_client_server_owns(const node_client_server_t *self, const node_pbx_watch_t *watch);

//  --- The cluster (node_main.c wires these to ha/; without them sessions stay here) -----------

#define NODE_CLIENT_HASH_LEN 32         //  SHA-256 of a resume token
#define NODE_CLIENT_LINES_MAX 1024      //  lines one session may open
//  Event sequence numbers a session reserves ahead in the cluster: its SessionRecord is
//  published again when fewer than half remain, and an adopting node starts a block above
//  the last one published (EventsLost then says at most that many too many).
#define NODE_CLIENT_SEQ_BLOCK 256

//  A session as the cluster keeps it.
typedef struct {
    const uint8_t *token_sha256;        //  NODE_CLIENT_HASH_LEN bytes
    const char *session;                //  its id ("a-3")
    const char *user, *client;
    uint32_t heartbeat_ms;
    uint64_t acked;                     //  the last event the application acknowledged
    uint64_t seq_limit;                 //  no event has a higher sequence
    bool cdr;                           //  owns CDR transmission
    uint32_t resumes;                   //  times it moved to another node
} node_client_session_info_t;

//  What the cluster knows of a session of another node, for adopting it.
typedef struct {
    char session[PROTO_NAME_MAX + 1];   //  its id on its node
    char node[PROTO_NAME_MAX + 1];      //  the node it was on
    char user[PROTO_NAME_MAX + 1];
    bool node_lost;                     //  that node is lost (else the app just moved)
    uint32_t heartbeat_ms;
    uint64_t acked, seq_limit;
    bool cdr;
    uint32_t resumes;
    size_t line_count;
    struct {
        char number[PROTO_NUMBER_MAX + 1];
        char failure_number[PROTO_NUMBER_MAX + 1];
    } lines[NODE_CLIENT_LINES_MAX];
} node_client_adopt_t;

typedef struct {
    void *ctx;
    //  A session was made, adopted, or changed what the cluster keeps of it.
    void (*session)(void *ctx, const node_client_session_info_t *info);
    //  A session ended here (closed, failed, left, or moved to another node).
    void (*session_gone)(void *ctx, const node_client_session_info_t *info);
    //  A line of the session is open (with its failure number; opening out of service
    //  counts), or was closed.
    void (*line)(void *ctx, const node_client_session_info_t *info, const char *line,
                 const char *failure_number, bool open);
    //  The session of another node whose token hashes to token_sha256: fill *out and
    //  return 0, or -ENOENT.  May be NULL (no resume anywhere).
    int (*adopt)(void *ctx, const uint8_t *token_sha256, node_client_adopt_t *out);
} node_client_cluster_t;

//  Hooks (copied) through which the cluster learns of sessions; NULL: none.  Sessions
//  that exist already are told at once.
void node_client_server_cluster(node_client_server_t *self, const node_client_cluster_t *hooks);
//  Tell fn(ctx) each time an application turns to this node: a Hello accepted (a new
//  session, a resumed or an adopted one).  The cluster's Binary Star vote (ha_owner.h).
//  fn NULL: nobody.
void node_client_server_arrivals(node_client_server_t *self, void (*fn)(void *ctx), void *ctx);
//  Close, quietly (no failure, no guard), every session for which moved(ctx, hash) says
//  that another node has it now (the application resumed there); hash is the session's
//  registry HASH (hex of the first 16 bytes of its token's SHA-256).  Returns how many.
size_t node_client_server_check_moved(node_client_server_t *self,
                                      bool (*moved)(void *ctx, const char *hash), void *ctx);

//  Sessions logged in now; lines guarded for failed applications (node_client_guard).
size_t node_client_server_session_count(const node_client_server_t *self);
size_t node_client_server_guarded_count(const node_client_server_t *self);
//  The password checks' worker (borrowed, may be NULL: checks on the loop); it must
//  outlive the server.  A Hello that needs a PBKDF2 run waits for it; when the worker's
//  queue is full the Hello gets Error BUSY ("try again").
void node_client_server_set_verifier(node_client_server_t *self, node_verifier_t *verifier);
//  The guard (borrowed): node_main hands it the lines of a lost node's expired sessions.
node_client_guard_t *node_client_server_guard(node_client_server_t *self);

//  The client API for /status, as one JSON object (the caller frees it; NULL when out of
//  memory): port, curve, sessions (session id, user, peer, client, connected_at,
//  heartbeat_ms, idle_ms, seq, sent, acked, replay_events, replay_bytes, queued, blocked,
//  events_lost, resumes, lines with failure numbers) and the guarded lines.
char *node_client_server_status_json(const node_client_server_t *self);

#endif
