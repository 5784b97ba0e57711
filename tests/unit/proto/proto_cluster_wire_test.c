//  proto_cluster_wire tests: every cluster message round-trips field by field; truncated,
//  random and oversized frames give clean errors; a higher major is refused.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto_cluster.h"

static uint8_t s_buf[PROTO_CLUSTER_FRAME_MAX];

static size_t s_encode(const proto_cluster_msg_t *m)
{
    size_t n = 0;
    assert_int_equal(proto_cluster_encode(m, s_buf, sizeof s_buf, &n), 0);
    assert_true(n > 0);
    return n;
}

static void heartbeat_round_trips(void **state)
{
    (void) state;
    proto_cluster_msg_t m, d;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    strcpy(m.node, "node-a");
    m.incarnation = 0xfedcba9876543210ULL;
    m.quorum = true;
    m.heartbeat_ms = 100;
    m.pbx_count = 3;
    strcpy(m.pbx[0].pbx, "main");
    strcpy(m.pbx[0].owner, "node-a");
    m.pbx[0].epoch = 7;
    m.pbx[0].link_up = true;
    m.pbx[0].priority = 10;
    strcpy(m.pbx[1].pbx, "second");
    m.pbx[1].epoch = UINT64_MAX;
    m.pbx[1].priority = -5;
    strcpy(m.pbx[2].pbx, "third");
    strcpy(m.pbx[2].owner, "node-c");
    m.pbx[2].epoch = 1;
    size_t n = s_encode(&m);
    assert_int_equal(proto_cluster_decode(&d, s_buf, n), 0);
    assert_int_equal(d.kind, PROTO_CLUSTER_HEARTBEAT);
    assert_int_equal(d.version_major, PROTO_CLUSTER_MAJOR);
    assert_int_equal(d.version_minor, PROTO_CLUSTER_MINOR);
    assert_string_equal(d.node, "node-a");
    assert_true(d.incarnation == 0xfedcba9876543210ULL);
    assert_true(d.quorum);
    assert_int_equal(d.heartbeat_ms, 100);
    assert_int_equal(d.pbx_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(d.pbx[i].pbx, m.pbx[i].pbx);
        assert_string_equal(d.pbx[i].owner, m.pbx[i].owner);
        assert_true(d.pbx[i].epoch == m.pbx[i].epoch);
        assert_int_equal(d.pbx[i].link_up, m.pbx[i].link_up);
        assert_int_equal(d.pbx[i].priority, m.pbx[i].priority);
    }
    assert_string_equal(proto_cluster_kind_str(d.kind), "heartbeat");
}

static void claim_and_release_round_trip(void **state)
{
    (void) state;
    for (int k = 0; k < 2; k++) {
        proto_cluster_kind_t kind = k ? PROTO_CLUSTER_RELEASE : PROTO_CLUSTER_CLAIM;
        proto_cluster_msg_t m, d;
        proto_cluster_msg_init(&m, kind);
        strcpy(m.node, "b");
        m.incarnation = 42;
        strcpy(m.link_pbx, "main");
        m.epoch = 12345678901ULL;
        if (k)
            strcpy(m.release_to, "c");      //  a handover (minor 2)
        size_t n = s_encode(&m);
        assert_int_equal(proto_cluster_decode(&d, s_buf, n), 0);
        assert_int_equal(d.kind, kind);
        assert_string_equal(d.release_to, k ? "c" : "");
        assert_string_equal(d.node, "b");
        assert_true(d.incarnation == 42);
        assert_string_equal(d.link_pbx, "main");
        assert_true(d.epoch == 12345678901ULL);
        assert_int_equal(d.pbx_count, 0);
    }
    assert_string_equal(proto_cluster_kind_str(PROTO_CLUSTER_CLAIM), "claim");
    assert_string_equal(proto_cluster_kind_str(PROTO_CLUSTER_RELEASE), "release");
    assert_string_equal(proto_cluster_kind_str((proto_cluster_kind_t) 99), "unknown");
}

static void encode_refuses_what_it_cannot_send(void **state)
{
    (void) state;
    proto_cluster_msg_t m;
    size_t n;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_NONE);
    assert_int_equal(proto_cluster_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    m.pbx_count = PROTO_CLUSTER_PBX_MAX + 1;
    assert_int_equal(proto_cluster_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
    proto_cluster_msg_init(&m, PROTO_CLUSTER_CLAIM);
    m.version_major = 0;
    assert_int_equal(proto_cluster_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
    proto_cluster_msg_init(&m, PROTO_CLUSTER_CLAIM);
    strcpy(m.node, "a-node-with-a-name");
    assert_int_equal(proto_cluster_encode(&m, s_buf, 4, &n), -ENOSPC);
}

//  Hand-made protobuf bytes: field 1 (major), field 2 (minor), then a body.
static size_t s_raw(uint8_t *out, unsigned major, const uint8_t *body, size_t body_len)
{
    size_t n = 0;
    out[n++] = 0x08;        //  field 1, varint
    out[n++] = (uint8_t) major;
    if (body_len)
        memcpy(out + n, body, body_len);
    return n + body_len;
}

static void decode_refuses_bad_frames(void **state)
{
    (void) state;
    proto_cluster_msg_t m, d;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    strcpy(m.node, "node-a");
    m.pbx_count = 2;
    strcpy(m.pbx[0].pbx, "main");
    strcpy(m.pbx[1].pbx, "other");
    strcpy(m.pbx[1].owner, "node-b");
    m.pbx[1].epoch = 300;
    size_t n = s_encode(&m);
    //  Every truncation: an error or a shorter valid message, never a crash.
    for (size_t cut = 0; cut < n; cut++) {
        int rc = proto_cluster_decode(&d, s_buf, cut);
        assert_true(rc == 0 || rc == -EBADMSG);
        if (rc)
            assert_int_equal(d.kind, PROTO_CLUSTER_NONE);
    }
    //  Random bytes.
    srand(11);
    uint8_t junk[256];
    for (int r = 0; r < 20000; r++) {
        size_t len = (size_t) rand() % sizeof junk;
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t) rand();
        int rc = proto_cluster_decode(&d, junk, len);
        assert_true(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -EPROTONOSUPPORT);
        proto_cluster_msg_clear(&d);    //  a forwarding body owns its bytes
    }
    //  No body, major 0, a higher major.
    uint8_t raw[128];
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 1, NULL, 0)), -EBADMSG);
    static const uint8_t claim[] = {0x5a, 0x03, 0x0a, 0x01, 'b'};   //  field 11: Claim{node b}
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 0, claim, sizeof claim)),
                     -EBADMSG);
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 1, claim, sizeof claim)), 0);
    assert_string_equal(d.node, "b");
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 2, claim, sizeof claim)),
                     -EPROTONOSUPPORT);
    assert_int_equal(d.version_major, 2);
    assert_int_equal(d.kind, PROTO_CLUSTER_NONE);
    //  An unknown body (field 40, a newer minor's) is no message for us.
    static const uint8_t unknown[] = {0xc2, 0x02, 0x00};
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 1, unknown, sizeof unknown)),
                     -EBADMSG);
    //  Unknown fields inside a known body are skipped.
    static const uint8_t extra[] = {0x5a, 0x06, 0x0a, 0x01, 'b', 0xa8, 0x06, 0x01};
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 1, extra, sizeof extra)), 0);
    //  A frame over the limit.
    static uint8_t big[PROTO_CLUSTER_FRAME_MAX + 1];
    assert_int_equal(proto_cluster_decode(&d, big, sizeof big), -EMSGSIZE);
}

static void decode_refuses_oversized_strings_and_lists(void **state)
{
    (void) state;
    //  A Claim whose node is 64 characters (the limit is 63).
    uint8_t raw[512];
    size_t n = 0;
    raw[n++] = 0x08;
    raw[n++] = 1;
    raw[n++] = 0x5a;            //  Claim
    raw[n++] = 2 + 64;
    raw[n++] = 0x0a;            //  node
    raw[n++] = 64;
    memset(raw + n, 'x', 64);
    n += 64;
    proto_cluster_msg_t d;
    assert_int_equal(proto_cluster_decode(&d, raw, n), -EMSGSIZE);
    raw[3] = 2 + 63;
    raw[5] = 63;
    assert_int_equal(proto_cluster_decode(&d, raw, n - 1), 0);
    //  A heartbeat with more PBX entries than PROTO_CLUSTER_PBX_MAX.
    n = 0;
    raw[n++] = 0x08;
    raw[n++] = 1;
    raw[n++] = 0x52;            //  Heartbeat
    raw[n++] = (uint8_t) (2 * (PROTO_CLUSTER_PBX_MAX + 1));
    for (int i = 0; i <= PROTO_CLUSTER_PBX_MAX; i++) {
        raw[n++] = 0x22;        //  pbx (field 4), an empty PbxState
        raw[n++] = 0;
    }
    assert_int_equal(proto_cluster_decode(&d, raw, n), -EMSGSIZE);
}

//  --- Forwarding bodies ------------------------------------------------------------------------

static const uint8_t s_apdu[] = {0xa1, 0x0c, 0x02, 0x01, 0x07, 0x02, 0x01, 0x0a,
                                 0x30, 0x04, 0x80, 0x02, 0x01, 0x01};

//  m encoded and decoded into d (which the caller clears).
static void s_round_trip(const proto_cluster_msg_t *m, proto_cluster_msg_t *d)
{
    size_t n = s_encode(m);
    assert_int_equal(proto_cluster_decode(d, s_buf, n), 0);
    assert_int_equal(d->kind, m->kind);
    assert_string_equal(d->node, m->node);
    assert_true(d->incarnation == m->incarnation);
    assert_string_equal(d->fwd.pbx, m->fwd.pbx);
    assert_int_equal(d->fwd.apdu_len, m->fwd.apdu_len);
    if (m->fwd.apdu_len) {
        assert_memory_equal(d->fwd.apdu, m->fwd.apdu, m->fwd.apdu_len);
        assert_ptr_not_equal(d->fwd.apdu, m->fwd.apdu);
    } else
        assert_null(d->fwd.apdu);
}

static void s_fwd_init(proto_cluster_msg_t *m, proto_cluster_kind_t kind, bool with_apdu)
{
    proto_cluster_msg_init(m, kind);
    strcpy(m->node, "node-b");
    m->incarnation = 0x1122334455667788ULL;
    strcpy(m->fwd.pbx, "main");
    if (with_apdu) {
        m->fwd.apdu = s_apdu;
        m->fwd.apdu_len = sizeof s_apdu;
    }
}

static void forwarding_bodies_round_trip(void **state)
{
    (void) state;
    proto_cluster_msg_t m, d;
    s_fwd_init(&m, PROTO_CLUSTER_FORWARD_REQUEST, true);
    m.fwd.id = UINT64_MAX - 3;
    m.fwd.timeout_ms = 5000;
    s_round_trip(&m, &d);
    assert_true(d.fwd.id == UINT64_MAX - 3);
    assert_int_equal(d.fwd.timeout_ms, 5000);
    assert_false(d.fwd.relayed);                //  minor 3's flag: absent means a requester's
    proto_cluster_msg_clear(&d);
    m.fwd.relayed = true;
    s_round_trip(&m, &d);
    assert_true(d.fwd.relayed);
    proto_cluster_msg_clear(&d);
    assert_null(d.fwd.apdu);
    assert_int_equal(d.kind, PROTO_CLUSTER_NONE);
    proto_cluster_msg_clear(&d);                //  twice is harmless

    for (int st = PROTO_FWD_OK; st <= PROTO_FWD_PBX_ERROR; st++) {
        s_fwd_init(&m, PROTO_CLUSTER_FORWARD_REPLY, st == PROTO_FWD_OK);
        m.fwd.id = 42;
        m.fwd.status = (proto_fwd_status_t) st;
        m.fwd.followup = st == PROTO_FWD_OK;
        s_round_trip(&m, &d);
        assert_int_equal(d.fwd.status, st);
        assert_int_equal(d.fwd.followup, st == PROTO_FWD_OK);
        assert_true(d.fwd.id == 42);
        proto_cluster_msg_clear(&d);
    }

    for (int on = 0; on < 2; on++) {
        s_fwd_init(&m, PROTO_CLUSTER_WATCH_DEVICE, false);
        strcpy(m.fwd.device, on ? "d:101" : "n:17891329");
        m.fwd.on = on;
        s_round_trip(&m, &d);
        assert_string_equal(d.fwd.device, m.fwd.device);
        assert_int_equal(d.fwd.on, on);
        proto_cluster_msg_clear(&d);
    }

    s_fwd_init(&m, PROTO_CLUSTER_WATCH_RESULT, true);
    strcpy(m.fwd.device, "d:102");
    m.fwd.status = PROTO_FWD_PBX_ERROR;
    s_round_trip(&m, &d);
    assert_string_equal(d.fwd.device, "d:102");
    assert_int_equal(d.fwd.status, PROTO_FWD_PBX_ERROR);
    proto_cluster_msg_clear(&d);

    s_fwd_init(&m, PROTO_CLUSTER_LINK_EVENT, true);
    strcpy(m.fwd.device, "d:103");
    m.fwd.epoch = 9;
    m.fwd.seq = 123456789012ULL;
    s_round_trip(&m, &d);
    assert_string_equal(d.fwd.device, "d:103");
    assert_true(d.fwd.epoch == 9 && d.fwd.seq == 123456789012ULL);
    proto_cluster_msg_clear(&d);

    assert_string_equal(proto_cluster_kind_str(PROTO_CLUSTER_LINK_EVENT), "link-event");
    assert_string_equal(proto_fwd_status_str(PROTO_FWD_NOT_OWNER), "not-owner");
    assert_string_equal(proto_fwd_status_str((proto_fwd_status_t) 77), "unknown");
}

//  The largest APDU a PBX link carries (64 KiB) fits a frame; a device key too long for
//  PROTO_CLUSTER_DEVICE_MAX and a status from a newer minor are handled.
static void forwarding_limits(void **state)
{
    (void) state;
    static uint8_t big[65536];
    memset(big, 0x5a, sizeof big);
    proto_cluster_msg_t m, d;
    s_fwd_init(&m, PROTO_CLUSTER_LINK_EVENT, false);
    m.fwd.apdu = big;
    m.fwd.apdu_len = sizeof big;
    strcpy(m.fwd.device, "d:101");
    s_round_trip(&m, &d);
    proto_cluster_msg_clear(&d);

    //  ForwardReply{status 99}: decodes as LINK_DOWN, an error the requester may retry.
    uint8_t raw[256];
    static const uint8_t reply99[] = {0xfa, 0x01, 0x04, 0x20, 0x07, 0x28, 0x63};  //  field 31
    assert_int_equal(proto_cluster_decode(&d, raw, s_raw(raw, 1, reply99, sizeof reply99)), 0);
    assert_int_equal(d.kind, PROTO_CLUSTER_FORWARD_REPLY);
    assert_true(d.fwd.id == 7);
    assert_int_equal(d.fwd.status, PROTO_FWD_LINK_DOWN);
    proto_cluster_msg_clear(&d);

    //  WatchDevice whose device is 72 characters (the limit is 71).
    size_t n = 0;
    raw[n++] = 0x08;
    raw[n++] = 1;
    raw[n++] = 0x82;            //  field 32, length-delimited: tag 0x102 as a varint
    raw[n++] = 0x02;
    raw[n++] = 2 + 72;
    raw[n++] = 0x22;            //  device (field 4)
    raw[n++] = 72;
    memset(raw + n, '1', 72);
    n += 72;
    assert_int_equal(proto_cluster_decode(&d, raw, n), -EMSGSIZE);
    assert_int_equal(d.kind, PROTO_CLUSTER_NONE);
    raw[4] = 2 + 71;
    raw[6] = 71;
    assert_int_equal(proto_cluster_decode(&d, raw, n - 1), 0);
    assert_int_equal(strlen(d.fwd.device), 71);
    proto_cluster_msg_clear(&d);
    //  Every truncation of an event with bytes: an error or a shorter message, no leak.
    s_fwd_init(&m, PROTO_CLUSTER_LINK_EVENT, true);
    strcpy(m.fwd.device, "d:101");
    n = s_encode(&m);
    for (size_t cut = 0; cut < n; cut++) {
        int rc = proto_cluster_decode(&d, s_buf, cut);
        assert_true(rc == 0 || rc == -EBADMSG);
        proto_cluster_msg_clear(&d);
    }
}

//  A StateUpdate with a full batch of entries (long keys, the largest values, deletes)
//  round-trips field by field and fits one frame; a heartbeat carries state_seq.
static void state_update_round_trips_and_a_full_batch_fits_one_frame(void **state)
{
    (void) state;
    static proto_cluster_msg_t m, d;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_UPDATE);
    strcpy(m.node, "node-a");
    m.incarnation = 0x1122334455667788ULL;
    m.seq = 1000;
    m.entry_count = PROTO_CLUSTER_ENTRIES_MAX;
    for (size_t i = 0; i < m.entry_count; i++) {
        proto_state_entry_t *e = &m.entries[i];
        memset(e->key, 'k', sizeof e->key - 1);     //  the longest key, distinct per entry
        e->key[sizeof e->key - 1] = '\0';
        e->key[0] = (char) ('A' + i % 26);
        e->key[1] = (char) ('A' + i / 26);
        e->deleted = i % 5 == 4;
        e->value_len = e->deleted ? 0 : PROTO_CLUSTER_VALUE_MAX - i;
        for (size_t k = 0; k < e->value_len; k++)
            e->value[k] = (uint8_t) (i * 7 + k);
        e->linger_ms = (uint32_t) (i * 1000);
    }
    size_t n = s_encode(&m);
    assert_true(n <= PROTO_CLUSTER_FRAME_MAX);
    assert_int_equal(proto_cluster_decode(&d, s_buf, n), 0);
    assert_int_equal(d.kind, PROTO_CLUSTER_STATE_UPDATE);
    assert_string_equal(d.node, "node-a");
    assert_true(d.incarnation == m.incarnation);
    assert_true(d.seq == 1000);
    assert_int_equal(d.entry_count, m.entry_count);
    for (size_t i = 0; i < m.entry_count; i++) {
        assert_string_equal(d.entries[i].key, m.entries[i].key);
        assert_int_equal(d.entries[i].value_len, m.entries[i].value_len);
        assert_memory_equal(d.entries[i].value, m.entries[i].value, m.entries[i].value_len);
        assert_int_equal(d.entries[i].deleted, m.entries[i].deleted);
        assert_int_equal(d.entries[i].linger_ms, m.entries[i].linger_ms);
    }
    assert_string_equal(proto_cluster_kind_str(d.kind), "state-update");
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    strcpy(m.node, "b");
    m.state_seq = 77;
    n = s_encode(&m);
    assert_int_equal(proto_cluster_decode(&d, s_buf, n), 0);
    assert_true(d.state_seq == 77);
    //  More entries than a frame may carry, or a value too long: refused.
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_UPDATE);
    m.entry_count = PROTO_CLUSTER_ENTRIES_MAX + 1;
    assert_int_equal(proto_cluster_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
    m.entry_count = 1;
    m.entries[0].value_len = PROTO_CLUSTER_VALUE_MAX + 1;
    assert_int_equal(proto_cluster_encode(&m, s_buf, sizeof s_buf, &n), -EINVAL);
}

static void state_request_and_snapshot_round_trip(void **state)
{
    (void) state;
    static proto_cluster_msg_t m, d;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_REQUEST);
    strcpy(m.node, "c");
    m.incarnation = 5;
    m.request_id = 9;
    strcpy(m.source, "a");
    size_t n = s_encode(&m);
    assert_int_equal(proto_cluster_decode(&d, s_buf, n), 0);
    assert_int_equal(d.kind, PROTO_CLUSTER_STATE_REQUEST);
    assert_string_equal(d.node, "c");
    assert_true(d.incarnation == 5 && d.request_id == 9);
    assert_string_equal(d.source, "a");

    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_SNAPSHOT);
    strcpy(m.node, "b");
    m.incarnation = 6;
    m.request_id = 9;
    strcpy(m.source, "a");
    m.source_incarnation = 44;
    m.seq = 123456;
    m.lost_ms_ago = 1500;
    m.source_done = true;
    m.done = true;
    m.entry_count = 2;
    strcpy(m.entries[0].key, "s/00");
    m.entries[0].value_len = 3;
    memcpy(m.entries[0].value, "abc", 3);
    m.entries[0].linger_ms = 7000;
    strcpy(m.entries[1].key, "m/main/d:101");
    n = s_encode(&m);
    assert_int_equal(proto_cluster_decode(&d, s_buf, n), 0);
    assert_int_equal(d.kind, PROTO_CLUSTER_STATE_SNAPSHOT);
    assert_string_equal(d.node, "b");
    assert_true(d.incarnation == 6 && d.request_id == 9);
    assert_string_equal(d.source, "a");
    assert_true(d.source_incarnation == 44 && d.seq == 123456 && d.lost_ms_ago == 1500);
    assert_true(d.source_done && d.done);
    assert_int_equal(d.entry_count, 2);
    assert_string_equal(d.entries[0].key, "s/00");
    assert_int_equal(d.entries[0].value_len, 3);
    assert_memory_equal(d.entries[0].value, "abc", 3);
    assert_int_equal(d.entries[0].linger_ms, 7000);
    assert_string_equal(d.entries[1].key, "m/main/d:101");
    assert_int_equal(d.entries[1].value_len, 0);
    //  Every truncation of a snapshot: an error or a shorter valid message.
    for (size_t cut = 0; cut < n; cut++) {
        int rc = proto_cluster_decode(&d, s_buf, cut);
        assert_true(rc == 0 || rc == -EBADMSG);
    }
}

static void records_round_trip_and_bad_records_are_refused(void **state)
{
    (void) state;
    uint8_t buf[PROTO_CLUSTER_VALUE_MAX];
    size_t n = 0;
    proto_state_record_t r, d;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_SESSION;
    strcpy(r.session, "a-3");
    strcpy(r.user, "crm");
    r.has_token = true;
    for (int i = 0; i < PROTO_CLUSTER_HASH_LEN; i++)
        r.token_sha256[i] = (uint8_t) (255 - i);
    r.heartbeat_ms = 1000;
    r.acked = 41;
    r.seq_limit = 256;
    r.cdr = true;
    r.resumes = 2;
    strcpy(r.client, "crm-connector 1.0");
    assert_int_equal(proto_cluster_record_encode(&r, buf, sizeof buf, &n), 0);
    assert_int_equal(proto_cluster_record_decode(&d, buf, n), 0);
    assert_memory_equal(&d, &r, sizeof r);      //  every field, padding zeroed alike
    assert_string_equal(proto_record_kind_str(d.kind), "session");

    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_LINE;
    strcpy(r.session_hash, "00112233445566778899aabbccddeeff");
    strcpy(r.pbx, "main");
    strcpy(r.line, "101");
    strcpy(r.device, "d:101");
    strcpy(r.failure_number, "199");
    assert_int_equal(proto_cluster_record_encode(&r, buf, sizeof buf, &n), 0);
    assert_int_equal(proto_cluster_record_decode(&d, buf, n), 0);
    assert_memory_equal(&d, &r, sizeof r);

    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_MONITOR;
    strcpy(r.pbx, "main");
    strcpy(r.device, "n:17891329");
    r.count = 3;
    assert_int_equal(proto_cluster_record_encode(&r, buf, sizeof buf, &n), 0);
    assert_int_equal(proto_cluster_record_decode(&d, buf, n), 0);
    assert_memory_equal(&d, &r, sizeof r);

    r.kind = PROTO_RECORD_NONE;
    assert_int_equal(proto_cluster_record_encode(&r, buf, sizeof buf, &n), -EINVAL);
    r.kind = PROTO_RECORD_MONITOR;
    assert_int_equal(proto_cluster_record_encode(&r, buf, 3, &n), -ENOSPC);
    //  Not a record, an empty one (no kind), a token hash of 31 bytes.
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(proto_cluster_record_decode(&d, junk, sizeof junk), -EBADMSG);
    assert_int_equal(proto_cluster_record_decode(&d, buf, 0), -EBADMSG);
    static const uint8_t short_hash[] = {0x0a, 0x21, 0x1a, 0x1f};   //  session{token: 31 bytes}
    uint8_t raw[64];
    memcpy(raw, short_hash, sizeof short_hash);
    memset(raw + sizeof short_hash, 1, 31);
    assert_int_equal(proto_cluster_record_decode(&d, raw, sizeof short_hash + 31), -EMSGSIZE);
    assert_int_equal(d.kind, PROTO_RECORD_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heartbeat_round_trips),
        cmocka_unit_test(claim_and_release_round_trip),
        cmocka_unit_test(encode_refuses_what_it_cannot_send),
        cmocka_unit_test(decode_refuses_bad_frames),
        cmocka_unit_test(decode_refuses_oversized_strings_and_lists),
        cmocka_unit_test(forwarding_bodies_round_trip),
        cmocka_unit_test(forwarding_limits),
        cmocka_unit_test(state_update_round_trips_and_a_full_batch_fits_one_frame),
        cmocka_unit_test(state_request_and_snapshot_round_trip),
        cmocka_unit_test(records_round_trip_and_bad_records_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
