//  proto_cluster_wire: the one wall around protobuf-c for cluster.proto.  Encodes
//  proto_cluster_msg_t into a ClusterEnvelope and decodes one back; protobuf-c types never
//  leave this file, and every unpack is freed in the function that made it.
#include <errno.h>
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

//  --- Encode ------------------------------------------------------------------------------------

int proto_cluster_encode(const proto_cluster_msg_t *m, uint8_t *out, size_t cap,
                         size_t *len_out)
{
    if (m->version_major == 0 || m->pbx_count > PROTO_CLUSTER_PBX_MAX)
        return -EINVAL;
    Ctim__Cluster__ClusterEnvelope env;
    Ctim__Cluster__Heartbeat hb;
    Ctim__Cluster__Claim claim;
    Ctim__Cluster__Release release;
    Ctim__Cluster__PbxState states[PROTO_CLUSTER_PBX_MAX];
    Ctim__Cluster__PbxState *state_p[PROTO_CLUSTER_PBX_MAX];
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
        env.body_case = CTIM__CLUSTER__CLUSTER_ENVELOPE__BODY_RELEASE;
        env.release = &release;
        break;
    default:
        return -EINVAL;
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
        if (s_copy(m->node, sizeof m->node, env->release->node) < 0)
            return -EMSGSIZE;
        return s_copy(m->link_pbx, sizeof m->link_pbx, env->release->pbx);
    default:                        //  no body, or one a newer minor added
        return -EBADMSG;
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
        proto_cluster_msg_init(m, PROTO_CLUSTER_NONE);
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
    static const char *const names[] = {"none", "heartbeat", "claim", "release"};
    return (unsigned) kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}
