//  proto_cluster_wire: the one wall around protobuf-c for cluster.proto.  Encodes
//  proto_cluster_msg_t into a ClusterEnvelope and decodes one back; protobuf-c types never
//  leave this file, and every unpack is freed in the function that made it.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.pb-c.h"
#include "proto_cluster.h"

void proto_cluster_msg_init(proto_cluster_msg_t *m, proto_cluster_kind_t kind)
{
    memset(m, 0, sizeof *m);
    m->version_major = PROTO_CLUSTER_MAJOR;
    m->version_minor = PROTO_CLUSTER_MINOR;
    m->kind = kind;
}

void proto_cluster_msg_clear(proto_cluster_msg_t *m)
{
    free((void *) m->fwd.apdu);
    proto_cluster_msg_init(m, PROTO_CLUSTER_NONE);
}

//  --- Forwarding bodies (ha_forward) -----------------------------------------------------------

const char *proto_fwd_status_str(proto_fwd_status_t status)
{
    static const char *const names[] = {"ok",        "timeout", "link-down", "busy",
                                        "not-owner", "refused", "pbx-error"};
    return (unsigned) status < sizeof names / sizeof names[0] ? names[status] : "unknown";
}

//  The forwarding bodies into env (their messages live in *bodies while packing).
typedef struct {
    Ctim__Cluster__ForwardRequest request;
    Ctim__Cluster__ForwardReply reply;
    Ctim__Cluster__WatchDevice watch;
    Ctim__Cluster__WatchResult result;
    Ctim__Cluster__LinkEvent event;
} s_fwd_bodies_t;

static int s_enc_fwd(const proto_cluster_msg_t *m, Ctim__Cluster__ClusterEnvelope *env,
                     s_fwd_bodies_t *b)
{
    const proto_fwd_t *f = &m->fwd;
    ProtobufCBinaryData apdu = {f->apdu_len, (uint8_t *) f->apdu};
    switch (m->kind) {
    case PROTO_CLUSTER_FORWARD_REQUEST:
        ctim__cluster__forward_request__init(&b->request);
        b->request.node = (char *) m->node;
        b->request.incarnation = m->incarnation;
        b->request.pbx = (char *) f->pbx;
        b->request.id = f->id;
        b->request.apdu = apdu;
        b->request.timeout_ms = f->timeout_ms;
        b->request.relayed = f->relayed;
        env->body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_FORWARD_REQUEST;
        env->forward_request = &b->request;
        return 0;
    case PROTO_CLUSTER_FORWARD_REPLY:
        ctim__cluster__forward_reply__init(&b->reply);
        b->reply.node = (char *) m->node;
        b->reply.incarnation = m->incarnation;
        b->reply.pbx = (char *) f->pbx;
        b->reply.id = f->id;
        b->reply.status = (Ctim__Cluster__ForwardStatus) f->status;
        b->reply.apdu = apdu;
        b->reply.followup = f->followup;
        env->body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_FORWARD_REPLY;
        env->forward_reply = &b->reply;
        return 0;
    case PROTO_CLUSTER_WATCH_DEVICE:
        ctim__cluster__watch_device__init(&b->watch);
        b->watch.node = (char *) m->node;
        b->watch.incarnation = m->incarnation;
        b->watch.pbx = (char *) f->pbx;
        b->watch.device = (char *) f->device;
        b->watch.on = f->on;
        env->body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_WATCH_DEVICE;
        env->watch_device = &b->watch;
        return 0;
    case PROTO_CLUSTER_WATCH_RESULT:
        ctim__cluster__watch_result__init(&b->result);
        b->result.node = (char *) m->node;
        b->result.incarnation = m->incarnation;
        b->result.pbx = (char *) f->pbx;
        b->result.device = (char *) f->device;
        b->result.status = (Ctim__Cluster__ForwardStatus) f->status;
        b->result.apdu = apdu;
        env->body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_WATCH_RESULT;
        env->watch_result = &b->result;
        return 0;
    case PROTO_CLUSTER_LINK_EVENT:
        ctim__cluster__link_event__init(&b->event);
        b->event.node = (char *) m->node;
        b->event.incarnation = m->incarnation;
        b->event.pbx = (char *) f->pbx;
        b->event.epoch = f->epoch;
        b->event.seq = f->seq;
        b->event.device = (char *) f->device;
        b->event.apdu = apdu;
        env->body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_LINK_EVENT;
        env->link_event = &b->event;
        return 0;
    default:
        return -EINVAL;
    }
}

//  --- Encode ------------------------------------------------------------------------------------

int proto_cluster_encode(const proto_cluster_msg_t *m, uint8_t *out, size_t cap,
                         size_t *len_out)
{
    if (m->version_major == 0 || m->pbx_count > PROTO_CLUSTER_PBX_MAX ||
        m->entry_count > PROTO_CLUSTER_ENTRIES_MAX)
        return -EINVAL;
    Ctim__Cluster__ClusterEnvelope env;
    Ctim__Cluster__Heartbeat hb;
    Ctim__Cluster__Claim claim;
    Ctim__Cluster__Release release;
    Ctim__Cluster__StateUpdate update;
    Ctim__Cluster__StateRequest request;
    Ctim__Cluster__StateSnapshot snapshot;
    Ctim__Cluster__PbxState states[PROTO_CLUSTER_PBX_MAX];
    Ctim__Cluster__PbxState *state_p[PROTO_CLUSTER_PBX_MAX];
    s_fwd_bodies_t fwd;
    Ctim__Cluster__StateEntry entries[PROTO_CLUSTER_ENTRIES_MAX];
    Ctim__Cluster__StateEntry *entry_p[PROTO_CLUSTER_ENTRIES_MAX];
    for (size_t i = 0; i < m->entry_count; i++) {
        const proto_state_entry_t *e = &m->entries[i];
        if (e->value_len > PROTO_CLUSTER_VALUE_MAX)
            return -EINVAL;
        ctim__cluster__state_entry__init(&entries[i]);
        entries[i].key = (char *) e->key;
        entries[i].value.data = (uint8_t *) e->value;
        entries[i].value.len = e->value_len;
        entries[i].deleted = e->deleted;
        entries[i].linger_ms = e->linger_ms;
        entry_p[i] = &entries[i];
    }
    ctim__cluster__cluster_envelope__init(&env);
    env.version_major = m->version_major;
    env.version_minor = m->version_minor;
    //  protobuf-c wants char * for strings it only reads while packing.
    switch (m->kind) {
    case PROTO_CLUSTER_HEARTBEAT:
        ctim__cluster__heartbeat__init(&hb);
        hb.node = (char *) m->node;
        hb.incarnation = m->incarnation;
        hb.quorum = m->quorum;
        hb.heartbeat_ms = m->heartbeat_ms;
        hb.state_seq = m->state_seq;
        for (size_t i = 0; i < m->pbx_count; i++) {
            Ctim__Cluster__PbxState *s = &states[i];
            ctim__cluster__pbx_state__init(s);
            s->pbx = (char *) m->pbx[i].pbx;
            s->owner = (char *) m->pbx[i].owner;
            s->epoch = m->pbx[i].epoch;
            s->link_up = m->pbx[i].link_up;
            s->priority = m->pbx[i].priority;
            state_p[i] = s;
        }
        hb.n_pbx = m->pbx_count;
        hb.pbx = state_p;
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        break;
    case PROTO_CLUSTER_CLAIM:
        ctim__cluster__claim__init(&claim);
        claim.node = (char *) m->node;
        claim.incarnation = m->incarnation;
        claim.pbx = (char *) m->link_pbx;
        claim.epoch = m->epoch;
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_CLAIM;
        env.claim = &claim;
        break;
    case PROTO_CLUSTER_RELEASE:
        ctim__cluster__release__init(&release);
        release.node = (char *) m->node;
        release.incarnation = m->incarnation;
        release.pbx = (char *) m->link_pbx;
        release.epoch = m->epoch;
        release.to = (char *) m->release_to;
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_RELEASE;
        env.release = &release;
        break;
    case PROTO_CLUSTER_STATE_UPDATE:
        ctim__cluster__state_update__init(&update);
        update.node = (char *) m->node;
        update.incarnation = m->incarnation;
        update.first_seq = m->seq;
        update.n_entries = m->entry_count;
        update.entries = entry_p;
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_STATE_UPDATE;
        env.state_update = &update;
        break;
    case PROTO_CLUSTER_STATE_REQUEST:
        ctim__cluster__state_request__init(&request);
        request.node = (char *) m->node;
        request.incarnation = m->incarnation;
        request.request_id = m->request_id;
        request.source = (char *) m->source;
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_STATE_REQUEST;
        env.state_request = &request;
        break;
    case PROTO_CLUSTER_STATE_SNAPSHOT:
        ctim__cluster__state_snapshot__init(&snapshot);
        snapshot.node = (char *) m->node;
        snapshot.incarnation = m->incarnation;
        snapshot.request_id = m->request_id;
        snapshot.source = (char *) m->source;
        snapshot.source_incarnation = m->source_incarnation;
        snapshot.seq = m->seq;
        snapshot.lost_ms_ago = m->lost_ms_ago;
        snapshot.n_entries = m->entry_count;
        snapshot.entries = entry_p;
        snapshot.source_done = m->source_done;
        snapshot.done = m->done;
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_STATE_SNAPSHOT;
        env.state_snapshot = &snapshot;
        break;
    default:
        if (s_enc_fwd(m, &env, &fwd) != 0)
            return -EINVAL;
        break;
    }
    size_t need = ctim__cluster__cluster_envelope__get_packed_size(&env);
    if (need > cap || need > PROTO_CLUSTER_FRAME_MAX)
        return -ENOSPC;
    *len_out = ctim__cluster__cluster_envelope__pack(&env, out);
    return 0;
}

//  --- Decode ------------------------------------------------------------------------------------

//  A decoded string into a fixed array: -EMSGSIZE if it does not fit.
static int s_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return -EMSGSIZE;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return 0;
}

//  The sender's name, incarnation and PBX of a forwarding body, and a copy of its bytes.
static int s_dec_fwd_common(proto_cluster_msg_t *m, proto_cluster_kind_t kind, const char *node,
                            uint64_t incarnation, const char *pbx, ProtobufCBinaryData apdu)
{
    m->kind = kind;
    m->incarnation = incarnation;
    if (s_copy(m->node, sizeof m->node, node) < 0 ||
        s_copy(m->fwd.pbx, sizeof m->fwd.pbx, pbx) < 0)
        return -EMSGSIZE;
    if (apdu.len) {
        uint8_t *copy = malloc(apdu.len);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, apdu.data, apdu.len);
        m->fwd.apdu = copy;
        m->fwd.apdu_len = apdu.len;
    }
    return 0;
}

//  A ForwardStatus a newer minor added is an error the requester may retry.
static proto_fwd_status_t s_dec_status(int status)
{
    return status >= PROTO_FWD_OK && status <= PROTO_FWD_PBX_ERROR ? (proto_fwd_status_t) status
                                                                   : PROTO_FWD_LINK_DOWN;
}

static int s_dec_fwd(proto_cluster_msg_t *m, const Ctim__Cluster__ClusterEnvelope *env)
{
    proto_fwd_t *f = &m->fwd;
    switch (env->body_case) {
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_FORWARD_REQUEST: {
        const Ctim__Cluster__ForwardRequest *b = env->forward_request;
        f->id = b->id;
        f->timeout_ms = b->timeout_ms;
        f->relayed = b->relayed;
        return s_dec_fwd_common(m, PROTO_CLUSTER_FORWARD_REQUEST, b->node, b->incarnation, b->pbx,
                                b->apdu);
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_FORWARD_REPLY: {
        const Ctim__Cluster__ForwardReply *b = env->forward_reply;
        f->id = b->id;
        f->status = s_dec_status(b->status);
        f->followup = b->followup;
        return s_dec_fwd_common(m, PROTO_CLUSTER_FORWARD_REPLY, b->node, b->incarnation, b->pbx,
                                b->apdu);
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_WATCH_DEVICE: {
        const Ctim__Cluster__WatchDevice *b = env->watch_device;
        f->on = b->on;
        if (s_copy(f->device, sizeof f->device, b->device) < 0)
            return -EMSGSIZE;
        return s_dec_fwd_common(m, PROTO_CLUSTER_WATCH_DEVICE, b->node, b->incarnation, b->pbx,
                                (ProtobufCBinaryData){0, NULL});
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_WATCH_RESULT: {
        const Ctim__Cluster__WatchResult *b = env->watch_result;
        f->status = s_dec_status(b->status);
        if (s_copy(f->device, sizeof f->device, b->device) < 0)
            return -EMSGSIZE;
        return s_dec_fwd_common(m, PROTO_CLUSTER_WATCH_RESULT, b->node, b->incarnation, b->pbx,
                                b->apdu);
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_LINK_EVENT: {
        const Ctim__Cluster__LinkEvent *b = env->link_event;
        f->epoch = b->epoch;
        f->seq = b->seq;
        if (s_copy(f->device, sizeof f->device, b->device) < 0)
            return -EMSGSIZE;
        return s_dec_fwd_common(m, PROTO_CLUSTER_LINK_EVENT, b->node, b->incarnation, b->pbx,
                                b->apdu);
    }
    default:                        //  no body, or one a newer minor added
        return -EBADMSG;
    }
}

static int s_dec_entries(proto_cluster_msg_t *m, Ctim__Cluster__StateEntry *const *entries,
                         size_t n)
{
    if (n > PROTO_CLUSTER_ENTRIES_MAX)
        return -EMSGSIZE;
    for (size_t i = 0; i < n; i++) {
        const Ctim__Cluster__StateEntry *e = entries[i];
        proto_state_entry_t *d = &m->entries[i];
        if (s_copy(d->key, sizeof d->key, e->key) < 0 || e->value.len > sizeof d->value)
            return -EMSGSIZE;
        if (e->value.len)
            memcpy(d->value, e->value.data, e->value.len);
        d->value_len = e->value.len;
        d->deleted = e->deleted;
        d->linger_ms = e->linger_ms;
    }
    m->entry_count = n;
    return 0;
}

static int s_dec_body(proto_cluster_msg_t *m, const Ctim__Cluster__ClusterEnvelope *env)
{
    switch (env->body_case) {
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_HEARTBEAT: {
        const Ctim__Cluster__Heartbeat *hb = env->heartbeat;
        if (hb->n_pbx > PROTO_CLUSTER_PBX_MAX)
            return -EMSGSIZE;
        m->kind = PROTO_CLUSTER_HEARTBEAT;
        m->incarnation = hb->incarnation;
        m->quorum = hb->quorum;
        m->heartbeat_ms = hb->heartbeat_ms;
        m->state_seq = hb->state_seq;
        int rc = s_copy(m->node, sizeof m->node, hb->node);
        for (size_t i = 0; rc == 0 && i < hb->n_pbx; i++) {
            const Ctim__Cluster__PbxState *s = hb->pbx[i];
            proto_pbx_state_t *d = &m->pbx[i];
            rc = s_copy(d->pbx, sizeof d->pbx, s->pbx);
            if (rc == 0)
                rc = s_copy(d->owner, sizeof d->owner, s->owner);
            d->epoch = s->epoch;
            d->link_up = s->link_up;
            d->priority = s->priority;
        }
        m->pbx_count = hb->n_pbx;
        return rc;
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_CLAIM:
        m->kind = PROTO_CLUSTER_CLAIM;
        m->incarnation = env->claim->incarnation;
        m->epoch = env->claim->epoch;
        if (s_copy(m->node, sizeof m->node, env->claim->node) < 0)
            return -EMSGSIZE;
        return s_copy(m->link_pbx, sizeof m->link_pbx, env->claim->pbx);
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_RELEASE:
        m->kind = PROTO_CLUSTER_RELEASE;
        m->incarnation = env->release->incarnation;
        m->epoch = env->release->epoch;
        if (s_copy(m->node, sizeof m->node, env->release->node) < 0 ||
            s_copy(m->release_to, sizeof m->release_to, env->release->to) < 0)
            return -EMSGSIZE;
        return s_copy(m->link_pbx, sizeof m->link_pbx, env->release->pbx);
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_STATE_UPDATE: {
        const Ctim__Cluster__StateUpdate *u = env->state_update;
        m->kind = PROTO_CLUSTER_STATE_UPDATE;
        m->incarnation = u->incarnation;
        m->seq = u->first_seq;
        if (s_copy(m->node, sizeof m->node, u->node) < 0)
            return -EMSGSIZE;
        return s_dec_entries(m, u->entries, u->n_entries);
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_STATE_REQUEST: {
        const Ctim__Cluster__StateRequest *r = env->state_request;
        m->kind = PROTO_CLUSTER_STATE_REQUEST;
        m->incarnation = r->incarnation;
        m->request_id = r->request_id;
        if (s_copy(m->node, sizeof m->node, r->node) < 0)
            return -EMSGSIZE;
        return s_copy(m->source, sizeof m->source, r->source);
    }
    case CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_STATE_SNAPSHOT: {
        const Ctim__Cluster__StateSnapshot *sn = env->state_snapshot;
        m->kind = PROTO_CLUSTER_STATE_SNAPSHOT;
        m->incarnation = sn->incarnation;
        m->request_id = sn->request_id;
        m->source_incarnation = sn->source_incarnation;
        m->seq = sn->seq;
        m->lost_ms_ago = sn->lost_ms_ago;
        m->source_done = sn->source_done;
        m->done = sn->done;
        if (s_copy(m->node, sizeof m->node, sn->node) < 0 ||
            s_copy(m->source, sizeof m->source, sn->source) < 0)
            return -EMSGSIZE;
        return s_dec_entries(m, sn->entries, sn->n_entries);
    }
    default:
        return s_dec_fwd(m, env);
    }
}

int proto_cluster_decode(proto_cluster_msg_t *m, const uint8_t *buf, size_t len)
{
    proto_cluster_msg_init(m, PROTO_CLUSTER_NONE);
    m->version_major = m->version_minor = 0;
    if (len > PROTO_CLUSTER_FRAME_MAX)
        return -EMSGSIZE;
    //  A higher major may change bodies so that they do not parse: it then shows as
    //  -EBADMSG, which is as good for the receiver (it ignores the frame either way).
    Ctim__Cluster__ClusterEnvelope *env = ctim__cluster__cluster_envelope__unpack(NULL, len, buf);
    if (!env)
        return -EBADMSG;
    uint32_t major = env->version_major, minor = env->version_minor;
    int rc = major == 0                     ? -EBADMSG
             : major > PROTO_CLUSTER_MAJOR ? -EPROTONOSUPPORT
                                           : s_dec_body(m, env);
    ctim__cluster__cluster_envelope__free_unpacked(env, NULL);
    if (rc < 0) {
        proto_cluster_msg_clear(m);
        m->version_minor = 0;
        m->version_major = rc == -EPROTONOSUPPORT ? major : 0;
        return rc;
    }
    m->version_major = major;
    m->version_minor = minor;
    return 0;
}

const char *proto_cluster_kind_str(proto_cluster_kind_t kind)
{
    static const char *const names[] = {"none",           "heartbeat",      "claim",
                                        "release",        "forward-request", "forward-reply",
                                        "watch-device",   "watch-result",   "link-event",
                                        "state-update",   "state-request",  "state-snapshot"};
    return (unsigned) kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

//  --- State records -----------------------------------------------------------------------------

int proto_cluster_record_encode(const proto_state_record_t *r, uint8_t *out, size_t cap,
                                size_t *len_out)
{
    Ctim__Cluster__StateRecord rec;
    Ctim__Cluster__SessionRecord session;
    Ctim__Cluster__LineRecord line;
    Ctim__Cluster__MonitorRecord monitor;
    ctim__cluster__state_record__init(&rec);
    switch (r->kind) {
    case PROTO_RECORD_SESSION:
        ctim__cluster__session_record__init(&session);
        session.session = (char *) r->session;
        session.user = (char *) r->user;
        if (r->has_token) {
            session.token_sha256.data = (uint8_t *) r->token_sha256;
            session.token_sha256.len = sizeof r->token_sha256;
        }
        session.heartbeat_ms = r->heartbeat_ms;
        session.acked = r->acked;
        session.seq_limit = r->seq_limit;
        session.cdr = r->cdr;
        session.resumes = r->resumes;
        session.client = (char *) r->client;
        rec.record_case = CTIM__CLUSTER__STATE_RECORD__RECORD_SESSION;
        rec.session = &session;
        break;
    case PROTO_RECORD_LINE:
        ctim__cluster__line_record__init(&line);
        line.session = (char *) r->session_hash;
        line.pbx = (char *) r->pbx;
        line.line = (char *) r->line;
        line.device = (char *) r->device;
        line.failure_number = (char *) r->failure_number;
        rec.record_case = CTIM__CLUSTER__STATE_RECORD__RECORD_LINE;
        rec.line = &line;
        break;
    case PROTO_RECORD_MONITOR:
        ctim__cluster__monitor_record__init(&monitor);
        monitor.pbx = (char *) r->pbx;
        monitor.device = (char *) r->device;
        monitor.count = r->count;
        rec.record_case = CTIM__CLUSTER__STATE_RECORD__RECORD_MONITOR;
        rec.monitor = &monitor;
        break;
    default:
        return -EINVAL;
    }
    size_t need = ctim__cluster__state_record__get_packed_size(&rec);
    if (need > cap)
        return -ENOSPC;
    *len_out = ctim__cluster__state_record__pack(&rec, out);
    return 0;
}

static int s_dec_record(proto_state_record_t *r, const Ctim__Cluster__StateRecord *rec)
{
    int rc = 0;
    switch (rec->record_case) {
    case CTIM__CLUSTER__STATE_RECORD__RECORD_SESSION: {
        const Ctim__Cluster__SessionRecord *s = rec->session;
        r->kind = PROTO_RECORD_SESSION;
        if (s->token_sha256.len != 0 && s->token_sha256.len != sizeof r->token_sha256)
            return -EMSGSIZE;
        r->has_token = s->token_sha256.len != 0;
        if (r->has_token)
            memcpy(r->token_sha256, s->token_sha256.data, sizeof r->token_sha256);
        r->heartbeat_ms = s->heartbeat_ms;
        r->acked = s->acked;
        r->seq_limit = s->seq_limit;
        r->cdr = s->cdr;
        r->resumes = s->resumes;
        rc = s_copy(r->session, sizeof r->session, s->session);
        if (rc == 0)
            rc = s_copy(r->user, sizeof r->user, s->user);
        if (rc == 0)
            rc = s_copy(r->client, sizeof r->client, s->client);
        return rc;
    }
    case CTIM__CLUSTER__STATE_RECORD__RECORD_LINE: {
        const Ctim__Cluster__LineRecord *l = rec->line;
        r->kind = PROTO_RECORD_LINE;
        rc = s_copy(r->session_hash, sizeof r->session_hash, l->session);
        if (rc == 0)
            rc = s_copy(r->pbx, sizeof r->pbx, l->pbx);
        if (rc == 0)
            rc = s_copy(r->line, sizeof r->line, l->line);
        if (rc == 0)
            rc = s_copy(r->device, sizeof r->device, l->device);
        if (rc == 0)
            rc = s_copy(r->failure_number, sizeof r->failure_number, l->failure_number);
        return rc;
    }
    case CTIM__CLUSTER__STATE_RECORD__RECORD_MONITOR: {
        const Ctim__Cluster__MonitorRecord *mo = rec->monitor;
        r->kind = PROTO_RECORD_MONITOR;
        r->count = mo->count;
        rc = s_copy(r->pbx, sizeof r->pbx, mo->pbx);
        if (rc == 0)
            rc = s_copy(r->device, sizeof r->device, mo->device);
        return rc;
    }
    default:
        return -EBADMSG;
    }
}

int proto_cluster_record_decode(proto_state_record_t *r, const uint8_t *buf, size_t len)
{
    memset(r, 0, sizeof *r);
    Ctim__Cluster__StateRecord *rec = ctim__cluster__state_record__unpack(NULL, len, buf);
    if (!rec)
        return -EBADMSG;
    int rc = s_dec_record(r, rec);
    ctim__cluster__state_record__free_unpacked(rec, NULL);
    if (rc)
        memset(r, 0, sizeof *r);
    return rc;
}

const char *proto_record_kind_str(proto_record_kind_t kind)
{
    static const char *const names[] = {"none", "session", "line", "monitor"};
    return (unsigned) kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}
