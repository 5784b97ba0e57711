//  pbxsim_steps: call-level steps of the call-model integration tests (hold, transfer,
//  forwarding, pickup, CDR ...): requests that must succeed, the control socket, a basic
//  call set up and checked, and "nothing else happened" proven by a round trip.
#ifndef PBXSIM_STEPS_H
#define PBXSIM_STEPS_H

#include <stdarg.h>
#include <unistd.h>

#include "pbxsim_test_util.h"

//  The connection of `device` in the call of `conn` (same call id).
static inline csta_conn_t conn_at(const csta_conn_t *conn, const char *device)
{
    csta_conn_t out = *conn;
    csta_device_set(&out.device, device);
    return out;
}

//  A control command that must succeed; its JSON reply stays in f->reply.
static inline void ctl_ok(fixture_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ctl_ok(fixture_t *f, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "%s", line))
        fail_msg("ctl '%s': %s", line, f->reply);
}

//  A pbxsim counter from `ctl stats`.
static inline long stat_of(fixture_t *f, const char *key)
{
    ctl_ok(f, "stats");
    long v = test_json_long(f->reply, key, -1);
    if (v < 0)
        fail_msg("stats has no %s: %s", key, f->reply);
    return v;
}

//  Every event pbxsim produced before now has reached the client: a request's reply
//  comes after the events of everything the switch did before it (one link, in order).
static inline void sync_link(csta_client_t *app)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    request_ok(app, &req, &res);
    csta_apdu_clear(&res);
}

//  Nothing more: no event is queued or on its way.
static inline void expect_quiet(csta_client_t *app)
{
    sync_link(app);
    expect_no_event(app, 0);
}

//  A request on one connection (HoldCall, RetrieveCall, AnswerCall, ClearConnection,
//  ClearCall) that must succeed.
static inline void conn_request_ok(csta_client_t *app, int opcode, const csta_conn_t *conn)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = opcode;
    switch (opcode) {
    case CSTA_OP_HOLD_CALL:
        req.call.hold_call.call_to_be_held = *conn;
        break;
    case CSTA_OP_RETRIEVE_CALL:
        req.call.retrieve_call.call_to_be_retrieved = *conn;
        break;
    case CSTA_OP_ANSWER_CALL:
        req.call.answer_call.call_to_be_answered = *conn;
        break;
    case CSTA_OP_CLEAR_CONNECTION:
        req.call.clear_connection.connection = *conn;
        req.call.clear_connection.reason = CSTA_CAUSE_ABSENT;
        break;
    case CSTA_OP_CLEAR_CALL:
        req.call.clear_call.call_to_be_cleared = *conn;
        req.call.clear_call.reason = CSTA_CAUSE_ABSENT;
        break;
    default:
        fail_msg("conn_request_ok: opcode %d", opcode);
    }
    request_ok(app, &req, &res);
    csta_apdu_clear(&res);
}

//  MakeCall from -> to; returns the caller's connection.
static inline csta_conn_t make_call(csta_client_t *app, const char *from, const char *to)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, from);
    csta_device_set(&req.call.make_call.called, to);
    request_ok(app, &req, &res);
    csta_conn_t conn = res.call.make_call_res.calling;
    csta_apdu_clear(&res);
    assert_int_equal(conn.call_id_len, 2);
    assert_device(&conn.device, from);
    return conn;
}

//  A two-party call placed by MakeCall and answered by AnswerCall, with a monitor on
//  each side (xa at `a`, xb at `b`; either may be NULL for no monitor).  The events of
//  the set-up are checked on the way.  Returns the caller's connection.
static inline csta_conn_t call_established(csta_client_t *app, const char *a, const csta_xref_t *xa,
                                           const char *b, const csta_xref_t *xb)
{
    csta_apdu_t ev;
    csta_conn_t ca = make_call(app, a, b);
    csta_conn_t cb = conn_at(&ca, b);
    if (xa) {
        expect_event(app, xa, CSTA_EV_SERVICE_INITIATED, &ev);
        assert_conn(&ev.event.service_initiated.initiated_connection, &ca);
        csta_apdu_clear(&ev);
        expect_event(app, xa, CSTA_EV_ORIGINATED, &ev);
        assert_conn(&ev.event.originated.originated_connection, &ca);
        csta_apdu_clear(&ev);
        expect_event(app, xa, CSTA_EV_DELIVERED, &ev);
        assert_conn(&ev.event.delivered.connection, &cb);
        csta_apdu_clear(&ev);
    }
    if (xb) {
        expect_event(app, xb, CSTA_EV_DELIVERED, &ev);
        assert_conn(&ev.event.delivered.connection, &cb);
        assert_int_equal(ev.event.delivered.local_state, CSTA_LCS_ALERTING);
        csta_apdu_clear(&ev);
    }
    conn_request_ok(app, CSTA_OP_ANSWER_CALL, &cb);
    if (xa) {
        expect_event(app, xa, CSTA_EV_ESTABLISHED, &ev);
        assert_conn(&ev.event.established.established_connection, &cb);
        csta_apdu_clear(&ev);
    }
    if (xb) {
        expect_event(app, xb, CSTA_EV_ESTABLISHED, &ev);
        assert_conn(&ev.event.established.established_connection, &cb);
        assert_int_equal(ev.event.established.local_state, CSTA_LCS_CONNECTED);
        csta_apdu_clear(&ev);
    }
    return ca;
}

//  SnapshotCall on conn: the state of each listed device in the call, in any order;
//  the call must have exactly `count` parties.
static inline void assert_call_parties(csta_client_t *app, const csta_conn_t *conn, int count, ...)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_CALL;
    req.svc.snapshot_call.snapshot_object = *conn;
    request_ok(app, &req, &res);
    const csta_snapshot_call_data_t *data = &res.svc.snapshot_call_res.snapshot_data;
    if ((int)data->count != count)
        fail_msg("call %02x%02x has %zu parties, expected %d", conn->call_id[0], conn->call_id[1],
                 data->count, count);
    va_list ap;
    va_start(ap, count);
    for (int i = 0; i < count; i++) {
        const char *device = va_arg(ap, const char *);
        int state = va_arg(ap, int);
        bool found = false;
        for (size_t k = 0; k < data->count; k++) {
            const csta_snapshot_call_item_t *item = &data->item[k];
            if (strcmp(item->device_on_call.digits, device) != 0)
                continue;
            found = true;
            assert_int_equal(item->call_identifier.call_id_len, 2);
            assert_memory_equal(item->call_identifier.call_id, conn->call_id, 2);
            if ((int)item->local_connection_state != state)
                fail_msg("%s is in state %d in the call, expected %d", device,
                         item->local_connection_state, state);
        }
        if (!found)
            fail_msg("%s is not in the call", device);
    }
    va_end(ap);
    csta_apdu_clear(&res);
}

//  A YAML device file for --devices, written to a temporary file whose path goes into
//  path (cap >= 64).  pbxsim reads it before it says ready; the caller unlinks it then.
static inline void write_devices_file(char *path, size_t cap, const char *yaml)
{
    snprintf(path, cap, "/tmp/pbxsim-devices-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(yaml);
    assert_int_equal(write(fd, yaml, len), (ssize_t)len);
    close(fd);
}

#endif
