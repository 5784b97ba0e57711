//  pbxsim_test_util: shared steps of the pbxsim integration tests — a running pbxsim, an
//  associated CSTA client, monitors, requests, and waiting for one event with its fields.
#ifndef PBXSIM_TEST_UTIL_H
#define PBXSIM_TEST_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "csta.h"
#include "csta_client.h"
#include "test_pbxsim.h"

#define WAIT_MS 5000

typedef struct {
    test_pbxsim_t sim;
    csta_client_t *app;
    char reply[1 << 16];
} fixture_t;

//  Start pbxsim with extra arguments and associate one application.
static inline fixture_t *fixture_start(const char *const *args)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_pbxsim_start(&f->sim, args), 0);
    csta_client_cfg_t cfg = {.port = f->sim.port};
    f->app = csta_client_new(&cfg);
    assert_non_null(f->app);
    assert_int_equal(csta_client_connect(f->app), 0);
    return f;
}

static inline int fixture_teardown(void **state)
{
    fixture_t *f = *state;
    if (!f)
        return 0;
    csta_client_destroy(&f->app);
    test_pbxsim_stop(&f->sim);
    free(f);
    return 0;
}

//  MonitorStart on `number`; returns the cross-reference.
static inline csta_xref_t monitor(csta_client_t *app, const char *number)
{
    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, number);
    assert_int_equal(csta_client_call(app, &req, &res, WAIT_MS), 0);
    assert_int_equal(res.kind, CSTA_APDU_RESULT);
    csta_xref_t xref = res.svc.monitor_start_res.xref;
    csta_apdu_clear(&res);
    return xref;
}

//  Send a request and expect a result; *res is the caller's to clear.
static inline void request_ok(csta_client_t *app, csta_apdu_t *req, csta_apdu_t *res)
{
    assert_int_equal(csta_client_call(app, req, res, WAIT_MS), 0);
    if (res->kind != CSTA_APDU_RESULT)
        fail_msg("%s: expected a result, got %s (category %d value %ld)", csta_op_name(req->opcode),
                 csta_apdu_kind_str(res->kind), res->error.category, res->error.value);
}

//  Send a request and expect a ReturnError with this category and value.
static inline void request_fails(csta_client_t *app, csta_apdu_t *req, csta_err_category_t category,
                                 long value)
{
    csta_apdu_t res;
    assert_int_equal(csta_client_call(app, req, &res, WAIT_MS), 0);
    if (res.kind != CSTA_APDU_ERROR || res.error.category != category || res.error.value != value)
        fail_msg("%s: expected error %d/%ld, got %s %d/%ld", csta_op_name(req->opcode), category,
                 value, csta_apdu_kind_str(res.kind), res.error.category, res.error.value);
    csta_apdu_clear(&res);
}

//  The next event must be `type` for monitor `xref`; it is decoded into *ev.
static inline void expect_event(csta_client_t *app, const csta_xref_t *xref, csta_event_type_t type,
                                csta_apdu_t *ev)
{
    int rc = csta_client_next_event(app, ev, WAIT_MS);
    if (rc)
        fail_msg("waiting for %s: %s", csta_event_name(type), strerror(-rc));
    assert_int_equal(ev->kind, CSTA_APDU_INVOKE);
    assert_int_equal(ev->opcode, CSTA_OP_EVENT_REPORT);
    if (ev->event.type != type || !csta_xref_equal(&ev->event.xref, xref))
        fail_msg("expected %s on xref %02x%02x, got %s on xref %02x%02x", csta_event_name(type),
                 xref->bytes[0], xref->bytes[1], csta_event_name(ev->event.type),
                 ev->event.xref.bytes[0], ev->event.xref.bytes[1]);
}

//  No event arrives within ms.
static inline void expect_no_event(csta_client_t *app, int ms)
{
    csta_apdu_t ev;
    int rc = csta_client_next_event(app, &ev, ms);
    if (rc == 0)
        fail_msg("unexpected %s", csta_event_name(ev.event.type));
    assert_int_equal(rc, -ETIMEDOUT);
}

static inline void assert_device(const csta_device_t *dev, const char *digits)
{
    if (strcmp(dev->digits, digits) != 0)
        fail_msg("device '%s' (kind %d), expected '%s'", dev->digits, dev->kind, digits);
}

static inline void assert_conn(const csta_conn_t *conn, const csta_conn_t *want)
{
    assert_true(conn->present);
    assert_int_equal(conn->call_id_len, want->call_id_len);
    assert_memory_equal(conn->call_id, want->call_id, want->call_id_len);
    assert_device(&conn->device, want->device.digits);
}

#endif
