//  proto_cluster: the cluster bus protocol (proto/cluster.proto, node <-> node) as plain C
//  values, and its codec.  Like proto.h for client.proto: fixed-size NUL-terminated
//  strings ("" = none), no heap memory, and no protobuf-c type outside
//  proto_cluster_wire.c (STYLE.md).
//
//  Encode:  proto_cluster_msg_t m; proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
//           snprintf(m.node, ...); ...; rc = proto_cluster_encode(&m, buf, sizeof buf, &n);
//  Decode:  rc = proto_cluster_decode(&m, buf, n);   (nothing to free)
#ifndef PROTO_CLUSTER_H
#define PROTO_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_CLUSTER_MAJOR 1           //  envelope major this library speaks
#define PROTO_CLUSTER_MINOR 3           //  1: forwarding bodies, replicated state; 2: Release.to;
                                        //  3: ForwardRequest.relayed
#define PROTO_CLUSTER_PORT 2749         //  default cluster ROUTER port
#define PROTO_CLUSTER_NAME_MAX 64       //  node ids and PBX names (as NODE_NAME_MAX)
#define PROTO_CLUSTER_PBX_MAX 32        //  PBX entries in one heartbeat
#define PROTO_CLUSTER_DEVICE_MAX 72     //  device keys of forwarding ("d:" + 64 digits)
//  Longest frame decoded (and encoded): a forwarded APDU of CSTA_FRAME_MAX_DEFAULT (64 KiB)
//  and its envelope fit.
#define PROTO_CLUSTER_FRAME_MAX (65536 + 1024)
#define PROTO_CLUSTER_KEY_MAX 192       //  a state key with its NUL
#define PROTO_CLUSTER_VALUE_MAX 512     //  a state value (an encoded record)
#define PROTO_CLUSTER_ENTRIES_MAX 64    //  state entries in one frame
#define PROTO_CLUSTER_HASH_LEN 32       //  SessionRecord.token_sha256
#define PROTO_CLUSTER_NUMBER_MAX 65     //  line and failure numbers with their NUL

typedef enum {
    PROTO_CLUSTER_NONE = 0,
    PROTO_CLUSTER_HEARTBEAT,
    PROTO_CLUSTER_CLAIM,
    PROTO_CLUSTER_RELEASE,
    //  Forwarding (ha_forward; proto_fwd_t below)
    PROTO_CLUSTER_FORWARD_REQUEST,
    PROTO_CLUSTER_FORWARD_REPLY,
    PROTO_CLUSTER_WATCH_DEVICE,
    PROTO_CLUSTER_WATCH_RESULT,
    PROTO_CLUSTER_LINK_EVENT,
    //  Replicated state (ha_state; proto_state_entry_t below)
    PROTO_CLUSTER_STATE_UPDATE,
    PROTO_CLUSTER_STATE_REQUEST,
    PROTO_CLUSTER_STATE_SNAPSHOT,
} proto_cluster_kind_t;

//  cluster.proto ForwardStatus (values as on the wire; one a newer minor adds decodes as
//  PROTO_FWD_LINK_DOWN: an error the requester may retry).
typedef enum {
    PROTO_FWD_OK = 0,
    PROTO_FWD_TIMEOUT = 1,
    PROTO_FWD_LINK_DOWN = 2,
    PROTO_FWD_BUSY = 3,
    PROTO_FWD_NOT_OWNER = 4,
    PROTO_FWD_REFUSED = 5,
    PROTO_FWD_PBX_ERROR = 6,
} proto_fwd_status_t;

const char *proto_fwd_status_str(proto_fwd_status_t status);

//  The forwarding bodies (cluster.proto ForwardRequest, ForwardReply, WatchDevice,
//  WatchResult, LinkEvent): each uses the fields its comment names.
typedef struct {
    char pbx[PROTO_CLUSTER_NAME_MAX];       //  every kind
    uint64_t id;                            //  FORWARD_REQUEST, FORWARD_REPLY
    uint32_t timeout_ms;                    //  FORWARD_REQUEST
    bool relayed;                           //  FORWARD_REQUEST: passed on by a non-requester
    proto_fwd_status_t status;              //  FORWARD_REPLY, WATCH_RESULT
    bool followup;                          //  FORWARD_REPLY
    char device[PROTO_CLUSTER_DEVICE_MAX];  //  WATCH_DEVICE, WATCH_RESULT, LINK_EVENT
    bool on;                                //  WATCH_DEVICE
    uint64_t epoch, seq;                    //  LINK_EVENT
    //  FORWARD_REQUEST, FORWARD_REPLY, WATCH_RESULT, LINK_EVENT: CSTA bytes.  Encoding
    //  reads them (borrowed); a decoded message owns them (proto_cluster_msg_clear).
    const uint8_t *apdu;
    size_t apdu_len;
} proto_fwd_t;

//  One key of the replicated state (cluster.proto StateEntry).
typedef struct {
    char key[PROTO_CLUSTER_KEY_MAX];
    uint8_t value[PROTO_CLUSTER_VALUE_MAX];
    size_t value_len;
    bool deleted;
    uint32_t linger_ms;
} proto_state_entry_t;

//  What the sender knows about one PBX (cluster.proto PbxState).
typedef struct {
    char pbx[PROTO_CLUSTER_NAME_MAX];
    char owner[PROTO_CLUSTER_NAME_MAX]; //  "" none
    uint64_t epoch;                     //  the owner's, or the highest seen when no owner
    bool link_up;                       //  the sender's own link is up
    int32_t priority;                   //  the sender's priority (lower preferred)
} proto_pbx_state_t;

typedef struct {
    uint32_t version_major, version_minor;
    proto_cluster_kind_t kind;
    char node[PROTO_CLUSTER_NAME_MAX];  //  every kind: the sender
    uint64_t incarnation;               //  every kind
    //  PROTO_CLUSTER_HEARTBEAT
    bool quorum;
    uint32_t heartbeat_ms;
    proto_pbx_state_t pbx[PROTO_CLUSTER_PBX_MAX];
    size_t pbx_count;
    uint64_t state_seq;
    //  PROTO_CLUSTER_CLAIM, PROTO_CLUSTER_RELEASE
    char link_pbx[PROTO_CLUSTER_NAME_MAX];
    uint64_t epoch;
    char release_to[PROTO_CLUSTER_NAME_MAX];    //  PROTO_CLUSTER_RELEASE: a handover's target
    //  The forwarding kinds
    proto_fwd_t fwd;
    //  PROTO_CLUSTER_STATE_*: request_id (request, snapshot); source (request: "" all;
    //  snapshot); seq (update: the first entry's; snapshot: the source's); entries
    //  (update, snapshot); the rest snapshot only
    uint64_t request_id;
    char source[PROTO_CLUSTER_NAME_MAX];
    uint64_t source_incarnation;
    uint64_t seq;
    uint64_t lost_ms_ago;
    bool source_done, done;
    proto_state_entry_t entries[PROTO_CLUSTER_ENTRIES_MAX];
    size_t entry_count;
} proto_cluster_msg_t;

//  A value of the replicated state (cluster.proto StateRecord and its three kinds).
typedef enum {
    PROTO_RECORD_NONE = 0,
    PROTO_RECORD_SESSION,
    PROTO_RECORD_LINE,
    PROTO_RECORD_MONITOR,
} proto_record_kind_t;

typedef struct {
    proto_record_kind_t kind;
    //  PROTO_RECORD_SESSION
    char session[PROTO_CLUSTER_NAME_MAX];
    char user[PROTO_CLUSTER_NAME_MAX];
    uint8_t token_sha256[PROTO_CLUSTER_HASH_LEN];
    bool has_token;                     //  token_sha256 set (32 bytes on the wire)
    uint32_t heartbeat_ms;
    uint64_t acked, seq_limit;
    bool cdr;
    uint32_t resumes;
    char client[PROTO_CLUSTER_NAME_MAX];
    //  PROTO_RECORD_LINE: session, pbx, line, device, failure_number
    //  PROTO_RECORD_MONITOR: pbx, device, count
    char session_hash[PROTO_CLUSTER_NAME_MAX];
    char pbx[PROTO_CLUSTER_NAME_MAX];
    char line[PROTO_CLUSTER_NUMBER_MAX];
    char device[PROTO_CLUSTER_NUMBER_MAX + 2];
    char failure_number[PROTO_CLUSTER_NUMBER_MAX];
    uint32_t count;
} proto_state_record_t;

//  Zero the message and set the versions and the kind.
void proto_cluster_msg_init(proto_cluster_msg_t *m, proto_cluster_kind_t kind);
//  Free what a decode allocated (a forwarding message's APDU) and zero the message.  Safe
//  on any decoded or initialised message, and twice.  Not for a message whose fwd.apdu
//  the caller set for encoding (that memory is the caller's).
void proto_cluster_msg_clear(proto_cluster_msg_t *m);
//  Returns 0, -EINVAL (no kind, major 0, pbx_count too large), -ENOSPC (does not fit cap).
int proto_cluster_encode(const proto_cluster_msg_t *m, uint8_t *out, size_t cap,
                         size_t *len_out);
//  Returns 0, -EBADMSG (not a ClusterEnvelope, major 0, no body or one this minor does
//  not know), -EPROTONOSUPPORT (a higher major; m->version_major says which), -EMSGSIZE
//  (a frame over PROTO_CLUSTER_FRAME_MAX, a string or a PBX list too long), -ENOMEM.  On
//  an error *m holds no body and nothing to free.  *m is overwritten: clear a decoded
//  message before decoding into it again.
int proto_cluster_decode(proto_cluster_msg_t *m, const uint8_t *buf, size_t len);
const char *proto_cluster_kind_str(proto_cluster_kind_t kind);

//  A record as a state value: 0, -EINVAL (no kind), -ENOSPC (more than cap).
int proto_cluster_record_encode(const proto_state_record_t *r, uint8_t *out, size_t cap,
                                size_t *len_out);
//  A state value as a record: 0, -EBADMSG (not a StateRecord, or a kind this minor does
//  not know), -EMSGSIZE (a string too long, a hash not 32 bytes).
int proto_cluster_record_decode(proto_state_record_t *r, const uint8_t *buf, size_t len);
const char *proto_record_kind_str(proto_record_kind_t kind);

#endif
