//  node_pbx_devices: the registry's bookkeeping — keys, cross-references, watches, and the
//  calls followed from events and reconciled with snapshots.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_pbx_devices.h"

static csta_device_t s_dialing(const char *digits)
{
    csta_device_t d;
    memset(&d, 0, sizeof d);
    csta_device_set(&d, digits);
    return d;
}

static csta_xref_t s_xref(uint8_t hi, uint8_t lo)
{
    csta_xref_t x;
    memset(&x, 0, sizeof x);
    uint8_t b[2] = {hi, lo};
    csta_xref_set(&x, b, 2);
    return x;
}

static void key_names_dialing_number_and_device_number_only(void **state)
{
    (void) state;
    char key[NODE_PBX_DEVICE_KEY_MAX];
    csta_device_t d = s_dialing("101");
    assert_int_equal(node_pbx_device_key(&d, key, sizeof key), 0);
    assert_string_equal(key, "d:101");
    csta_device_set_number(&d, 0x01110005);
    assert_int_equal(node_pbx_device_key(&d, key, sizeof key), 0);
    assert_string_equal(key, "n:17891333");
    d.kind = CSTA_DEV_IMPLICIT_PUBLIC;
    assert_int_equal(node_pbx_device_key(&d, key, sizeof key), -EINVAL);
    d = s_dialing("");
    assert_int_equal(node_pbx_device_key(&d, key, sizeof key), -EINVAL);
}

static void add_finds_the_same_device_and_ignores_names(void **state)
{
    (void) state;
    node_pbx_devices_t *reg = node_pbx_devices_new();
    assert_non_null(reg);
    csta_device_t d = s_dialing("101");
    node_pbx_device_t *a = node_pbx_devices_add(reg, &d);
    assert_non_null(a);
    strcpy(d.name, "Alice");        //  a name is not part of a device's identity
    assert_ptr_equal(node_pbx_devices_add(reg, &d), a);
    assert_ptr_equal(node_pbx_devices_find(reg, &d), a);
    assert_string_equal(a->id.name, "");
    csta_device_t other = s_dialing("102");
    assert_null(node_pbx_devices_find(reg, &other));
    node_pbx_device_t *b = node_pbx_devices_add(reg, &other);
    assert_ptr_not_equal(a, b);
    assert_int_equal(node_pbx_devices_size(reg), 2);
    assert_ptr_equal(node_pbx_devices_first(reg), a);
    assert_ptr_equal(a->next, b);
    node_pbx_devices_remove(reg, &a);
    assert_null(a);
    assert_null(node_pbx_devices_find(reg, &d));
    assert_ptr_equal(node_pbx_devices_first(reg), b);
    assert_int_equal(node_pbx_devices_size(reg), 1);
    d.kind = CSTA_DEV_OTHER;
    assert_null(node_pbx_devices_add(reg, &d));
    node_pbx_devices_destroy(&reg);
    assert_null(reg);
    node_pbx_devices_destroy(&reg);
}

static void xref_routes_to_its_device_until_unmapped(void **state)
{
    (void) state;
    node_pbx_devices_t *reg = node_pbx_devices_new();
    csta_device_t d1 = s_dialing("101"), d2 = s_dialing("102");
    node_pbx_device_t *a = node_pbx_devices_add(reg, &d1);
    node_pbx_device_t *b = node_pbx_devices_add(reg, &d2);
    csta_xref_t x1 = s_xref(0, 1), x2 = s_xref(0, 2);
    assert_int_equal(node_pbx_devices_set_xref(reg, a, &x1), 0);
    assert_ptr_equal(node_pbx_devices_by_xref(reg, &x1), a);
    assert_null(node_pbx_devices_by_xref(reg, &x2));
    //  A new xref replaces the old one.
    assert_int_equal(node_pbx_devices_set_xref(reg, a, &x2), 0);
    assert_null(node_pbx_devices_by_xref(reg, &x1));
    assert_ptr_equal(node_pbx_devices_by_xref(reg, &x2), a);
    //  The PBX handing out an xref another device holds: the newer word wins.
    assert_int_equal(node_pbx_devices_set_xref(reg, b, &x2), -EEXIST);
    assert_ptr_equal(node_pbx_devices_by_xref(reg, &x2), b);
    assert_false(a->has_xref);
    //  Clearing a's (no longer held) xref leaves b's mapping alone.
    assert_int_equal(node_pbx_devices_set_xref(reg, a, NULL), 0);
    assert_ptr_equal(node_pbx_devices_by_xref(reg, &x2), b);
    //  Removing a device unmaps its xref.
    node_pbx_devices_remove(reg, &b);
    assert_null(node_pbx_devices_by_xref(reg, &x2));
    node_pbx_devices_destroy(&reg);
}

static void watches_count_and_die_with_the_registry(void **state)
{
    (void) state;
    node_pbx_devices_t *reg = node_pbx_devices_new();
    csta_device_t d = s_dialing("101");
    node_pbx_device_t *dev = node_pbx_devices_add(reg, &d);
    node_pbx_watch_t *w1 = calloc(1, sizeof *w1), *w2 = calloc(1, sizeof *w2);
    node_pbx_device_watch_add(dev, w1);
    node_pbx_device_watch_add(dev, w2);
    assert_int_equal(dev->watch_count, 2);
    assert_ptr_equal(w1->device, dev);
    node_pbx_device_watch_remove(dev, w1);
    assert_int_equal(dev->watch_count, 1);
    assert_null(w1->device);
    assert_ptr_equal(dev->watches, w2);
    assert_null(w2->next);
    free(w1);
    //  A dead watch (unwatched during a dispatch) was already uncounted.
    w2->dead = true;
    dev->watch_count--;
    node_pbx_device_watch_remove(dev, w2);
    assert_int_equal(dev->watch_count, 0);
    free(w2);
    node_pbx_watch_t *w3 = calloc(1, sizeof *w3);
    node_pbx_device_watch_add(dev, w3);
    node_pbx_devices_destroy(&reg);     //  frees w3 (ASan sees a leak otherwise)
}

//  --- Calls from events --------------------------------------------------------------------------

typedef struct {
    uint8_t bytes[1024];
    size_t len;
    csta_peek_t keys;
} s_event_t;

static void s_encode(csta_apdu_t *a, s_event_t *ev)
{
    a->kind = CSTA_APDU_INVOKE;
    a->opcode = CSTA_OP_EVENT_REPORT;
    a->invoke_id = 9;
    a->event.xref = s_xref(0, 1);
    assert_int_equal(csta_apdu_encode(a, ev->bytes, sizeof ev->bytes, &ev->len), 0);
    assert_int_equal(csta_peek(&ev->keys, ev->bytes, ev->len), 0);
}

static void s_delivered(s_event_t *ev, uint8_t call, const char *at)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    uint8_t id[2] = {0, call};
    csta_conn_set(&d->connection, id, 2, at);
    csta_device_set(&d->alerting, at);
    csta_device_set(&d->calling, "199");
    csta_device_set(&d->called, at);
    d->last_redirection.kind = CSTA_DEV_NOT_KNOWN;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    s_encode(&a, ev);
}

static void s_connection_cleared(s_event_t *ev, uint8_t call, const char *dropped)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.event.type = CSTA_EV_CONNECTION_CLEARED;
    csta_connection_cleared_t *c = &a.event.connection_cleared;
    uint8_t id[2] = {0, call};
    csta_conn_set(&c->dropped_connection, id, 2, dropped);
    csta_device_set(&c->releasing, dropped);
    c->local_state = CSTA_LCS_NULL;
    c->cause = CSTA_CAUSE_NORMAL_CLEARING;
    s_encode(&a, ev);
}

static void s_call_cleared(s_event_t *ev, uint8_t call)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.event.type = CSTA_EV_CALL_CLEARED;
    uint8_t id[2] = {0, call};
    csta_conn_set(&a.event.call_cleared.cleared_call, id, 2, NULL);
    a.event.call_cleared.cause = CSTA_CAUSE_NORMAL_CLEARING;
    s_encode(&a, ev);
}

//  101 transfers: primary old call `old1` (101-102) and secondary `old2` (101-103) become
//  `joined` between 102 and 103.
static void s_transferred(s_event_t *ev, uint8_t old1, uint8_t old2, uint8_t joined)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.event.type = CSTA_EV_TRANSFERRED;
    csta_transferred_t *t = &a.event.transferred;
    uint8_t id1[2] = {0, old1}, id2[2] = {0, old2}, idn[2] = {0, joined};
    csta_conn_set(&t->primary_old_call, id1, 2, "101");
    csta_conn_set(&t->secondary_old_call, id2, 2, "101");
    csta_device_set(&t->transferring, "101");
    csta_device_set(&t->transferred_to, "103");
    t->transferred_connections.present = true;
    t->transferred_connections.count = 2;
    csta_conn_set(&t->transferred_connections.item[0].new_conn, idn, 2, "102");
    csta_conn_set(&t->transferred_connections.item[0].old_conn, id1, 2, "102");
    csta_conn_set(&t->transferred_connections.item[1].new_conn, idn, 2, "103");
    csta_conn_set(&t->transferred_connections.item[1].old_conn, id2, 2, "103");
    t->local_state = CSTA_LCS_CONNECTED;
    t->cause = CSTA_CAUSE_TRANSFER;
    s_encode(&a, ev);
}

static bool s_has(const node_pbx_device_t *dev, uint8_t call)
{
    uint8_t id[2] = {0, call};
    return node_pbx_device_has_call(dev, id, 2);
}

static void calls_follow_delivered_clears_and_transfers(void **state)
{
    (void) state;
    node_pbx_devices_t *reg = node_pbx_devices_new();
    csta_device_t d101 = s_dialing("101"), d102 = s_dialing("102");
    node_pbx_device_t *a = node_pbx_devices_add(reg, &d101);
    node_pbx_device_t *b = node_pbx_devices_add(reg, &d102);
    s_event_t ev;

    s_delivered(&ev, 1, "101");
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);     //  twice: kept once
    assert_int_equal(a->call_count, 1);
    assert_true(s_has(a, 1));

    //  The other party's connection clears: the call is still at 101.
    s_connection_cleared(&ev, 1, "199");
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    assert_true(s_has(a, 1));
    //  101's own connection clears: gone from 101.
    s_connection_cleared(&ev, 1, "101");
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    assert_false(s_has(a, 1));

    //  CallCleared ends the call everywhere.
    s_delivered(&ev, 2, "101");
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    s_call_cleared(&ev, 2);
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    assert_int_equal(a->call_count, 0);

    //  A transfer by 101: its two calls leave it; at 102 the old call becomes the new one.
    s_delivered(&ev, 3, "101");
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    s_delivered(&ev, 4, "101");
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    s_delivered(&ev, 3, "102");
    node_pbx_device_track_event(b, &ev.keys, ev.bytes, ev.len);
    s_transferred(&ev, 3, 4, 5);
    node_pbx_device_track_event(a, &ev.keys, ev.bytes, ev.len);
    node_pbx_device_track_event(b, &ev.keys, ev.bytes, ev.len);
    assert_int_equal(a->call_count, 0);
    assert_int_equal(b->call_count, 1);
    assert_true(s_has(b, 5));
    node_pbx_devices_destroy(&reg);
}

static void calls_are_bounded_per_device(void **state)
{
    (void) state;
    node_pbx_devices_t *reg = node_pbx_devices_new();
    csta_device_t d = s_dialing("101");
    node_pbx_device_t *dev = node_pbx_devices_add(reg, &d);
    for (int i = 0; i < NODE_PBX_DEVICE_CALLS_MAX + 5; i++) {
        uint8_t id[2] = {1, (uint8_t) i};
        node_pbx_device_call_add(dev, id, 2);
    }
    assert_int_equal(dev->call_count, NODE_PBX_DEVICE_CALLS_MAX);
    uint8_t too_long[CSTA_CALL_ID_MAX + 1] = {0};
    node_pbx_device_call_remove(dev, (const uint8_t *) "\x01\x00", 2);
    node_pbx_device_call_add(dev, too_long, sizeof too_long);
    assert_int_equal(dev->call_count, NODE_PBX_DEVICE_CALLS_MAX - 1);
    node_pbx_devices_destroy(&reg);
}

static void reconcile_names_the_calls_the_pbx_no_longer_has(void **state)
{
    (void) state;
    node_pbx_devices_t *reg = node_pbx_devices_new();
    csta_device_t d = s_dialing("101");
    node_pbx_device_t *dev = node_pbx_devices_add(reg, &d);
    for (uint8_t i = 1; i <= 3; i++) {
        uint8_t id[2] = {0, i};
        node_pbx_device_call_add(dev, id, 2);
    }
    //  The PBX has calls 2 and 7: 1 and 3 are gone, 7 is new.
    node_pbx_call_id_t snap[2] = {{2, {0, 2}}, {2, {0, 7}}};
    node_pbx_call_id_t gone[1];
    int n = node_pbx_device_calls_reconcile(dev, snap, 2, gone, 1);
    assert_int_equal(n, 2);     //  more than gone_cap: counted, one copied
    assert_int_equal(gone[0].len, 2);
    assert_true(gone[0].id[1] == 1 || gone[0].id[1] == 3);
    assert_int_equal(dev->call_count, 2);
    assert_true(s_has(dev, 2));
    assert_true(s_has(dev, 7));
    assert_false(s_has(dev, 1));
    char hex[8];
    assert_string_equal(node_pbx_call_id_str(&snap[1], hex, sizeof hex), "0007");
    //  An empty snapshot: everything is gone.
    assert_int_equal(node_pbx_device_calls_reconcile(dev, NULL, 0, gone, 1), 2);
    assert_int_equal(dev->call_count, 0);
    node_pbx_devices_destroy(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_names_dialing_number_and_device_number_only),
        cmocka_unit_test(add_finds_the_same_device_and_ignores_names),
        cmocka_unit_test(xref_routes_to_its_device_until_unmapped),
        cmocka_unit_test(watches_count_and_die_with_the_registry),
        cmocka_unit_test(calls_follow_delivered_clears_and_transfers),
        cmocka_unit_test(calls_are_bounded_per_device),
        cmocka_unit_test(reconcile_names_the_calls_the_pbx_no_longer_has),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
