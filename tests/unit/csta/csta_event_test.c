//  CSTAEventReport (opcode 21): every event ctim models is built from C values, encoded,
//  decoded and compared field by field, and has a vector in tests/fixtures/csta-event.hex
//  that decodes to the same fields and re-encodes byte for byte.  Hand-built vectors in
//  the layouts of real PBXs (HiPath templates, csta-facts.md 2.3 and 5) check the tags
//  independently of our encoder.
//
//  `csta_event_test --dump` prints the built events as "name: hex" lines; that is how the
//  generated part of the fixture file was produced (then checked with `unber -p`).
#include <errno.h>

#include "csta_test_util.h"

//  --- Values for the fields --------------------------------------------------------------
//  Every filled field takes the next number n from a counter, so that no two fields of an
//  event hold the same value and a field mapped to the wrong member shows up.

static char s_pool[128][24];    //  storage for csta_bytes_t values of the event being built
static int s_pool_used;

static void s_dialing(csta_device_t *d, int n)
{
    char digits[16];
    snprintf(digits, sizeof digits, "2%02d", n);
    csta_device_set(d, digits);
}

//  SubjectDeviceID, CallingDeviceID, ... (APPLICATION-tagged DeviceID CHOICEs).
static void s_dev(csta_device_t *d, int n)
{
    s_dialing(d, n);
}

//  RedirectionDeviceID: notKnown as real PBXs send it (csta-facts.md 2.3), or a number.
static void s_redir(csta_device_t *d, int n)
{
    if (n % 2) {
        memset(d, 0, sizeof *d);
        d->kind = CSTA_DEV_NOT_KNOWN;
    } else {
        s_dialing(d, n);
    }
}

//  A plain DeviceID: a dialing number, or a Panasonic-style deviceNumber (csta-facts.md 5).
static void s_devid(csta_device_t *d, int n)
{
    if (n % 2)
        csta_device_set_number(d, 0x01110000 + n);
    else
        s_dialing(d, n);
}

//  ConnectionID: the `both` form for mandatory connections, the callID form otherwise.
static void s_conn(csta_conn_t *c, int n, bool both)
{
    const uint8_t call_id[] = {0x00, (uint8_t) n};
    char digits[16];
    snprintf(digits, sizeof digits, "2%02d", n);
    csta_conn_set(c, call_id, sizeof call_id, both ? digits : NULL);
}

static void s_bytes(csta_bytes_t *b, int n)
{
    assert_true(s_pool_used < (int) (sizeof s_pool / sizeof s_pool[0]));
    char *p = s_pool[s_pool_used++];
    int len = snprintf(p, sizeof s_pool[0], "b%d", n);
    *b = (csta_bytes_t){(const uint8_t *) p, (size_t) len};
}

//  An EventCause value (1..121; 34 is retired).
static int s_cause(int n)
{
    int cause = n % 120 + 1;
    return cause == 34 ? 35 : cause;
}

static void s_conn_list(csta_conn_list_t *l, int *n)
{
    l->present = true;
    l->count = 2;
    for (size_t i = 0; i < l->count; i++) {
        s_conn(&l->item[i].new_conn, (*n)++, true);
        s_conn(&l->item[i].old_conn, (*n)++, true);
        s_devid(&l->item[i].endpoint, (*n)++);
    }
}

//  ChargingInfo: charge units for even n, an amount of money for odd n.
static void s_charge(csta_charging_info_t *ci, int *n)
{
    ci->present = true;
    ci->type_of_charging_info = (*n % 2) ? CSTA_CHARGE_TOTAL : CSTA_CHARGE_SUB_TOTAL;
    if ((*n)++ % 2) {
        ci->is_currency = true;
        s_bytes(&ci->currency_type, (*n)++);
        ci->currency_amount = (*n)++ * 100;
        ci->currency_multiplier = CSTA_CURRENCY_ONE_HUNDREDTH;
    } else {
        ci->unit_count = 2;
        ci->units[0].charging_units = (*n)++;
        s_bytes(&ci->units[0].type_of_units, (*n)++);
        ci->units[1].charging_units = (*n)++;
    }
}

static void s_netcap(csta_network_capability_t *nc, int *n)
{
    nc->present = true;
    nc->network_type = (*n)++ % 5;
    nc->has_events_provided = true;
    //  delivered, established, transferred
    nc->events_provided = (1u << 4) | (1u << 7) | (1u << 17);
}

static void s_party(csta_call_party_t *p, int *n)
{
    s_devid(&p->device_id, (*n)++);
    s_conn(&p->connection_id, (*n)++, true);
    p->local_connection_state = (csta_lcs_t) ((*n)++ % 7);
}

static void s_party_list(csta_call_party_list_t *l, int *n)
{
    l->present = true;
    l->count = 2;
    s_party(&l->item[0], n);
    s_party(&l->item[1], n);
    l->item[1].local_connection_state = CSTA_LCS_ABSENT;    //  optional in OtherCall
}

//  --- Field kinds: how a field is filled and compared ------------------------------------------
//  FILL_<kind>(f) sets e->f from the counter *n (optional kinds only when `all`);
//  CHECK_<kind>(f) compares w->f (wanted) with g->f (got).

static void s_check_dev(const csta_device_t *w, const csta_device_t *g)
{
    assert_int_equal(g->kind, w->kind);
    assert_true(csta_device_equal(w, g));
}

static void s_check_conn(const csta_conn_t *w, const csta_conn_t *g)
{
    assert_int_equal(g->present, w->present);
    if (w->present)
        assert_true(csta_conn_equal(w, g));
}

static void s_check_bytes(const csta_bytes_t *w, const csta_bytes_t *g)
{
    if (!w->data) {
        assert_null(g->data);
        return;
    }
    assert_non_null(g->data);
    assert_int_equal(g->len, w->len);
    assert_memory_equal(g->data, w->data, w->len);
}

static void s_check_conn_list(const csta_conn_list_t *w, const csta_conn_list_t *g)
{
    assert_int_equal(g->count, w->count);
    for (size_t i = 0; i < w->count; i++) {
        s_check_conn(&w->item[i].new_conn, &g->item[i].new_conn);
        s_check_conn(&w->item[i].old_conn, &g->item[i].old_conn);
        s_check_dev(&w->item[i].endpoint, &g->item[i].endpoint);
    }
}

static void s_check_charge(const csta_charging_info_t *w, const csta_charging_info_t *g)
{
    assert_int_equal(g->present, w->present);
    if (!w->present)
        return;
    assert_int_equal(g->type_of_charging_info, w->type_of_charging_info);
    assert_int_equal(g->is_currency, w->is_currency);
    if (w->is_currency) {
        s_check_bytes(&w->currency_type, &g->currency_type);
        assert_int_equal(g->currency_amount, w->currency_amount);
        assert_int_equal(g->currency_multiplier, w->currency_multiplier);
        return;
    }
    assert_int_equal(g->unit_count, w->unit_count);
    for (size_t i = 0; i < w->unit_count; i++) {
        assert_int_equal(g->units[i].charging_units, w->units[i].charging_units);
        s_check_bytes(&w->units[i].type_of_units, &g->units[i].type_of_units);
    }
}

static void s_check_netcap(const csta_network_capability_t *w, const csta_network_capability_t *g)
{
    assert_int_equal(g->present, w->present);
    assert_int_equal(g->network_type, w->network_type);
    assert_int_equal(g->has_events_provided, w->has_events_provided);
    assert_int_equal(g->events_provided, w->events_provided);
}

static void s_check_party(const csta_call_party_t *w, const csta_call_party_t *g)
{
    s_check_dev(&w->device_id, &g->device_id);
    if (w->device_id.kind == CSTA_DEV_ABSENT)
        return;
    s_check_conn(&w->connection_id, &g->connection_id);
    assert_int_equal(g->local_connection_state, w->local_connection_state);
}

static void s_check_party_list(const csta_call_party_list_t *w, const csta_call_party_list_t *g)
{
    assert_int_equal(g->present, w->present);
    assert_int_equal(g->count, w->count);
    for (size_t i = 0; i < w->count; i++)
        s_check_party(&w->item[i], &g->item[i]);
}

#define FILL_CONN(f) s_conn(&e->f, (*n)++, true)
#define CHECK_CONN(f) s_check_conn(&w->f, &g->f)
#define FILL_CONN_OPT(f) if (all) s_conn(&e->f, (*n)++, false)
#define CHECK_CONN_OPT(f) s_check_conn(&w->f, &g->f)
#define FILL_DEV(f) s_dev(&e->f, (*n)++)
#define CHECK_DEV(f) s_check_dev(&w->f, &g->f)
#define FILL_DEV_OPT(f) if (all) s_dev(&e->f, (*n)++)
#define CHECK_DEV_OPT(f) s_check_dev(&w->f, &g->f)
#define FILL_REDIR(f) s_redir(&e->f, (*n)++)
#define CHECK_REDIR(f) s_check_dev(&w->f, &g->f)
#define FILL_DEVID(f) s_devid(&e->f, (*n)++)
#define CHECK_DEVID(f) s_check_dev(&w->f, &g->f)
#define FILL_DEVID_OPT(f) if (all) s_devid(&e->f, (*n)++)
#define CHECK_DEVID_OPT(f) s_check_dev(&w->f, &g->f)
#define FILL_LCS_OPT(f) e->f = all ? (csta_lcs_t) ((*n)++ % 7) : CSTA_LCS_ABSENT
#define CHECK_LCS_OPT(f) assert_int_equal(g->f, w->f)
#define FILL_BYTES_OPT(f) if (all) s_bytes(&e->f, (*n)++)
#define CHECK_BYTES_OPT(f) s_check_bytes(&w->f, &g->f)
#define FILL_CAUSE(f) e->f = s_cause((*n)++)
#define CHECK_CAUSE(f) assert_int_equal(g->f, w->f)
#define FILL_CAUSE_OPT(f) e->f = all ? s_cause((*n)++) : CSTA_CAUSE_ABSENT
#define CHECK_CAUSE_OPT(f) assert_int_equal(g->f, w->f)
#define FILL_BOOL(f) e->f = (*n)++ % 2 == 1
#define CHECK_BOOL(f) assert_int_equal(g->f, w->f)
#define FILL_LONG(f) e->f = (*n)++ * 3
#define CHECK_LONG(f) assert_int_equal(g->f, w->f)
#define FILL_LONG_OPT(f) if (all) { e->has_##f = true; e->f = (*n)++ * 3; }
#define CHECK_LONG_OPT(f) assert_int_equal(g->has_##f, w->has_##f); assert_int_equal(g->f, w->f)
#define FILL_ENUM_OPT(f) if (all) { e->has_##f = true; e->f = (*n)++ % 3; }
#define CHECK_ENUM_OPT(f) CHECK_LONG_OPT(f)
#define FILL_BITS(f) e->f = 0x1u | ((uint32_t) ((*n)++ & 1) << 1)
#define CHECK_BITS(f) assert_int_equal(g->f, w->f)
#define FILL_BITS_OPT(f)                                                                  \
    if (all) {                                                                            \
        e->has_##f = true;                                                                \
        e->f = 0x1u | ((uint32_t) ((*n)++ & 1) << 1);                                     \
    }
#define CHECK_BITS_OPT(f) CHECK_LONG_OPT(f)
#define FILL_TEXT(f) snprintf(e->f, sizeof e->f, "%d*#", (*n)++)
#define CHECK_TEXT(f) assert_string_equal(g->f, w->f)
#define FILL_TIME_OPT(f) if (all) snprintf(e->f, sizeof e->f, "202611221200%02d", (*n)++ % 60)
#define CHECK_TIME_OPT(f) assert_string_equal(g->f, w->f)
#define FILL_CONN_LIST(f) s_conn_list(&e->f, n)
#define CHECK_CONN_LIST(f) s_check_conn_list(&w->f, &g->f)
#define FILL_CHARGE(f) s_charge(&e->f, n)
#define CHECK_CHARGE(f) s_check_charge(&w->f, &g->f)
#define FILL_CHARGE_OPT(f) if (all) s_charge(&e->f, n)
#define CHECK_CHARGE_OPT(f) s_check_charge(&w->f, &g->f)
#define FILL_NETCAP_OPT(f) if (all) s_netcap(&e->f, n)
#define CHECK_NETCAP_OPT(f) s_check_netcap(&w->f, &g->f)
#define FILL_PROGRESS(f) e->f##_location = (*n)++ % 10; e->f##_description = (*n)++ % 3
#define CHECK_PROGRESS(f)                                                                 \
    assert_int_equal(g->f##_location, w->f##_location);                                   \
    assert_int_equal(g->f##_description, w->f##_description)
#define FILL_PARTY(f) s_party(&e->f, n)
#define CHECK_PARTY(f) s_check_party(&w->f, &g->f)
#define FILL_PARTY_OPT(f)                                                                 \
    if (all)                                                                              \
        s_party(&e->f, n);                                                                \
    else                                                                                  \
        e->f.local_connection_state = CSTA_LCS_ABSENT
#define CHECK_PARTY_OPT(f) s_check_party(&w->f, &g->f)
#define FILL_PARTY_LIST_OPT(f) if (all) s_party_list(&e->f, n)
#define CHECK_PARTY_LIST_OPT(f) s_check_party_list(&w->f, &g->f)
#define FILL_LONGS_OPT(f)                                                                 \
    if (all) {                                                                            \
        e->has_##f##_list = true;                                                         \
        e->f##_count = 3;                                                                 \
        for (int i = 0; i < 3; i++)                                                       \
            e->f##_list[i] = 40 + (*n)++;                                                 \
    }
#define CHECK_LONGS_OPT(f)                                                                \
    assert_int_equal(g->has_##f##_list, w->has_##f##_list);                               \
    assert_int_equal(g->f##_count, w->f##_count);                                         \
    for (size_t i = 0; i < w->f##_count; i++)                                             \
        assert_int_equal(g->f##_list[i], w->f##_list[i])
#define FILL_DEVICES_OPT(f)                                                               \
    if (all) {                                                                            \
        e->has_##f##_list = true;                                                         \
        e->f##_count = 2;                                                                 \
        s_devid(&e->f##_list[0], (*n)++);                                                 \
        s_devid(&e->f##_list[1], (*n)++);                                                 \
    }
#define CHECK_DEVICES_OPT(f)                                                              \
    assert_int_equal(g->has_##f##_list, w->has_##f##_list);                               \
    assert_int_equal(g->f##_count, w->f##_count);                                         \
    for (size_t i = 0; i < w->f##_count; i++)                                             \
        s_check_dev(&w->f##_list[i], &g->f##_list[i])

//  --- The events, field by field (ECMA-285 order; csta_event.h names) ---------------------------

#define T_BRIDGED(K)                                                                      \
    K(CONN, bridged_connection) K(DEV, bridged_appearance) K(LCS_OPT, local_state)        \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(BITS_OPT, call_characteristics)
#define T_CALL_CLEARED(K)                                                                 \
    K(CONN, cleared_call) K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause) \
    K(BITS_OPT, call_characteristics)
#define T_CONFERENCED(K)                                                                  \
    K(CONN, primary_old_call) K(CONN_OPT, secondary_old_call) K(DEV, conferencing)        \
    K(DEV, added_party) K(CONN_LIST, conference_connections) K(LCS_OPT, local_state)      \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(BITS_OPT, call_characteristics)
#define T_CONNECTION_CLEARED(K)                                                           \
    K(CONN, dropped_connection) K(DEV, releasing) K(LCS_OPT, local_state)                 \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CHARGE_OPT, charging_info)         \
    K(CAUSE, cause) K(BITS_OPT, call_characteristics)
#define T_DELIVERED(K)                                                                    \
    K(CONN, connection) K(DEV, alerting) K(DEV, calling) K(DEV, called)                   \
    K(REDIR, last_redirection) K(CONN_OPT, originating_nid) K(LCS_OPT, local_state)       \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_DIGITS_DIALED(K)                                                                \
    K(CONN, dialing_connection) K(DEV, dialing) K(DEVID, dialing_sequence)                \
    K(LCS_OPT, local_state) K(BYTES_OPT, correlator) K(CAUSE, cause)                      \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_DIVERTED(K)                                                                     \
    K(CONN, connection) K(DEV, diverting) K(DEV, new_destination) K(DEV_OPT, calling)     \
    K(DEV_OPT, called) K(REDIR, last_redirection) K(LCS_OPT, local_state)                 \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(BITS_OPT, call_characteristics) K(DEV_OPT, network_calling)                         \
    K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) K(DEV_OPT, associated_called)
#define T_ESTABLISHED(K)                                                                  \
    K(CONN, established_connection) K(DEV, answering) K(DEV, calling) K(DEV, called)      \
    K(REDIR, last_redirection) K(CONN_OPT, originating_nid) K(LCS_OPT, local_state)       \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_FAILED(K)                                                                       \
    K(CONN, failed_connection) K(DEV, failing) K(DEV, calling) K(DEV, called)             \
    K(REDIR, last_redirection) K(CONN_OPT, originating_nid) K(LCS_OPT, local_state)       \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_HELD(K)                                                                         \
    K(CONN, held_connection) K(DEV, holding) K(LCS_OPT, local_state)                      \
    K(BYTES_OPT, correlator) K(CAUSE, cause) K(BITS_OPT, call_characteristics)
#define T_NETWORK_CAPABILITIES_CHANGED(K)                                                 \
    K(CONN, outbound_connection) K(DEV, network_interface_used) K(DEV, called)            \
    K(PROGRESS, progress) K(LCS_OPT, local_state) K(BYTES_OPT, correlator)                \
    K(BYTES_OPT, user_data) K(NETCAP_OPT, network_capability) K(CAUSE, cause)             \
    K(BITS_OPT, call_characteristics)
#define T_NETWORK_REACHED(K)                                                              \
    K(CONN, outbound_connection) K(DEV, network_interface_used) K(DEV, calling)           \
    K(DEV, called) K(REDIR, last_redirection) K(CONN_OPT, originating_nid)                \
    K(LCS_OPT, local_state) K(BYTES_OPT, correlator) K(BYTES_OPT, user_data)              \
    K(NETCAP_OPT, network_capability) K(CAUSE, cause) K(BITS_OPT, call_characteristics)   \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling)
#define T_OFFERED(K)                                                                      \
    K(CONN, offered_connection) K(DEV, offered) K(DEV, calling) K(DEV, called)            \
    K(REDIR, last_redirection) K(CONN_OPT, originating_nid) K(LCS_OPT, local_state)       \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause)                      \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_ORIGINATED(K)                                                                   \
    K(CONN, originated_connection) K(DEV, calling) K(DEV, called) K(DEVID_OPT, originating) \
    K(LCS_OPT, local_state) K(BYTES_OPT, correlator) K(CAUSE, cause)                      \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_QUEUED(K)                                                                       \
    K(CONN, queued_connection) K(DEV, queue) K(DEV, calling) K(DEV, called)               \
    K(REDIR, last_redirection) K(LONG_OPT, number_queued) K(LONG_OPT, calls_in_front)     \
    K(LCS_OPT, local_state) K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CAUSE, cause) \
    K(DEV_OPT, network_calling) K(DEV_OPT, network_called) K(DEV_OPT, associated_calling) \
    K(DEV_OPT, associated_called) K(BITS_OPT, call_characteristics)
#define T_RETRIEVED(K)                                                                    \
    K(CONN, retrieved_connection) K(DEV, retrieving) K(LCS_OPT, local_state)              \
    K(BYTES_OPT, correlator) K(CAUSE, cause) K(BITS_OPT, call_characteristics)
#define T_SERVICE_INITIATED(K)                                                            \
    K(CONN, initiated_connection) K(DEV, initiating) K(DEV_OPT, called)                   \
    K(LCS_OPT, local_state) K(BYTES_OPT, correlator) K(CAUSE, cause)                      \
    K(BITS_OPT, call_characteristics) K(DEV_OPT, network_calling)                         \
    K(DEV_OPT, network_called) K(DEV_OPT, associated_calling)
#define T_TRANSFERRED(K)                                                                  \
    K(CONN, primary_old_call) K(CONN_OPT, secondary_old_call) K(DEV, transferring)        \
    K(DEV, transferred_to) K(CONN_LIST, transferred_connections) K(LCS_OPT, local_state)  \
    K(BYTES_OPT, correlator) K(BYTES_OPT, user_data) K(CHARGE_OPT, charging_info)         \
    K(CAUSE, cause) K(BITS_OPT, call_characteristics)

#define T_CALL_INFORMATION(K)                                                             \
    K(CONN, connection) K(DEV, device) K(DEV_OPT, calling) K(BYTES_OPT, account_info)     \
    K(BYTES_OPT, auth_code) K(BYTES_OPT, correlator) K(BYTES_OPT, user_data)              \
    K(BYTES_OPT, call_qualifying_data) K(BITS_OPT, call_characteristics)                  \
    K(DEVID_OPT, device_info)
#define T_CHARGING(K)                                                                     \
    K(CONN, connection) K(DEVID, charged_device) K(CHARGE, charging_info) K(CAUSE_OPT, cause)
#define T_DIGITS_GENERATED(K)                                                             \
    K(CONN, connection) K(TEXT, digit_generated_list) K(LONGS_OPT, digit_duration)        \
    K(LONGS_OPT, pause_duration)
#define T_TELEPHONY_TONES_GENERATED(K)                                                    \
    K(CONN, connection) K(ENUM_OPT, tone_generated) K(LONG_OPT, tone_frequency)           \
    K(LONG_OPT, tone_duration) K(LONG_OPT, pause_duration)
#define T_SERVICE_COMPLETION_FAILURE(K)                                                   \
    K(PARTY, primary_call) K(PARTY_OPT, secondary_call)                                   \
    K(PARTY_LIST_OPT, other_devs_primary_call_list)                                       \
    K(PARTY_LIST_OPT, other_devs_secondary_call_list) K(CAUSE, cause)

#define T_AGENT_PENDING(K)                                                                \
    K(DEV, agent_device) K(BYTES_OPT, agent_id) K(DEVID_OPT, acd_group)                   \
    K(ENUM_OPT, pending_agent_state) K(CAUSE_OPT, cause)
#define T_AGENT_LOGGED(K)                                                                 \
    K(DEV, agent_device) K(BYTES_OPT, agent_id) K(DEVID_OPT, acd_group)                   \
    K(BYTES_OPT, agent_password) K(CAUSE_OPT, cause)
#define T_AGENT(K)                                                                        \
    K(DEV, agent_device) K(BYTES_OPT, agent_id) K(DEVID_OPT, acd_group) K(CAUSE_OPT, cause)
#define T_AUTO_ANSWER(K)                                                                  \
    K(DEV, invoking_device) K(BOOL, auto_answer_on) K(LONG_OPT, number_of_rings)
#define T_AUTO_WORK_MODE(K)                                                               \
    K(DEV, invoking_device) K(BOOL, auto_work_on) K(LONG, auto_work_interval)
#define T_CALL_BACK(K) K(DEV, originating_device) K(DEV, target_device) K(BOOL, set_canceled)
#define T_CALLER_ID_STATUS(K) K(DEVID, device) K(BOOL, caller_id_provided)
#define T_DO_NOT_DISTURB(K)                                                               \
    K(DEV, device) K(BOOL, do_not_disturb_on) K(BITS_OPT, call_origination)               \
    K(DEVICES_OPT, calling_device)
#define T_FORWARDING(K)                                                                   \
    K(DEV, device) K(ENUM_OPT, forwarding_type) K(BOOL, forward_status)                   \
    K(DEVID_OPT, forward_to) K(ENUM_OPT, forward_default) K(LONG_OPT, ring_count)         \
    K(LONG_OPT, ring_duration)
#define T_ROUTEING_MODE(K) K(DEV, device) K(BOOL, routeing_mode)
#define T_PRESENCE_STATE(K)                                                               \
    K(DEV, device) K(BITS, presence_state) K(TIME_OPT, from_time) K(TIME_OPT, until_time) \
    K(BYTES_OPT, place) K(BYTES_OPT, mood) K(BYTES_OPT, named_presence_state)
#define T_DEVICE_MAINTENANCE(K) K(DEV, device) K(CAUSE_OPT, cause)

//  E(type, union member, C type, field list)
#define T_ALL_EVENTS(E)                                                                   \
    E(CSTA_EV_BRIDGED, bridged, csta_bridged_t, T_BRIDGED)                                \
    E(CSTA_EV_CALL_CLEARED, call_cleared, csta_call_cleared_t, T_CALL_CLEARED)            \
    E(CSTA_EV_CONFERENCED, conferenced, csta_conferenced_t, T_CONFERENCED)                \
    E(CSTA_EV_CONNECTION_CLEARED, connection_cleared, csta_connection_cleared_t,          \
      T_CONNECTION_CLEARED)                                                               \
    E(CSTA_EV_DELIVERED, delivered, csta_delivered_t, T_DELIVERED)                        \
    E(CSTA_EV_DIGITS_DIALED, digits_dialed, csta_digits_dialed_t, T_DIGITS_DIALED)        \
    E(CSTA_EV_DIVERTED, diverted, csta_diverted_t, T_DIVERTED)                            \
    E(CSTA_EV_ESTABLISHED, established, csta_established_t, T_ESTABLISHED)                \
    E(CSTA_EV_FAILED, failed, csta_failed_t, T_FAILED)                                    \
    E(CSTA_EV_HELD, held, csta_held_t, T_HELD)                                            \
    E(CSTA_EV_NETWORK_CAPABILITIES_CHANGED, network_capabilities_changed,                 \
      csta_network_capabilities_changed_t, T_NETWORK_CAPABILITIES_CHANGED)                \
    E(CSTA_EV_NETWORK_REACHED, network_reached, csta_network_reached_t, T_NETWORK_REACHED) \
    E(CSTA_EV_OFFERED, offered, csta_offered_t, T_OFFERED)                                \
    E(CSTA_EV_ORIGINATED, originated, csta_originated_t, T_ORIGINATED)                    \
    E(CSTA_EV_QUEUED, queued, csta_queued_t, T_QUEUED)                                    \
    E(CSTA_EV_RETRIEVED, retrieved, csta_retrieved_t, T_RETRIEVED)                        \
    E(CSTA_EV_SERVICE_INITIATED, service_initiated, csta_service_initiated_t,             \
      T_SERVICE_INITIATED)                                                                \
    E(CSTA_EV_TRANSFERRED, transferred, csta_transferred_t, T_TRANSFERRED)                \
    E(CSTA_EV_CALL_INFORMATION, call_information, csta_call_information_t,                \
      T_CALL_INFORMATION)                                                                 \
    E(CSTA_EV_CHARGING, charging, csta_charging_t, T_CHARGING)                            \
    E(CSTA_EV_DIGITS_GENERATED, digits_generated, csta_digits_generated_t,                \
      T_DIGITS_GENERATED)                                                                 \
    E(CSTA_EV_TELEPHONY_TONES_GENERATED, telephony_tones_generated,                       \
      csta_telephony_tones_generated_t, T_TELEPHONY_TONES_GENERATED)                      \
    E(CSTA_EV_SERVICE_COMPLETION_FAILURE, service_completion_failure,                     \
      csta_service_completion_failure_t, T_SERVICE_COMPLETION_FAILURE)                    \
    E(CSTA_EV_AGENT_BUSY, agent_busy, csta_agent_event_t, T_AGENT_PENDING)                \
    E(CSTA_EV_AGENT_LOGGED_ON, agent_logged_on, csta_agent_event_t, T_AGENT_LOGGED)       \
    E(CSTA_EV_AGENT_LOGGED_OFF, agent_logged_off, csta_agent_event_t, T_AGENT_LOGGED)     \
    E(CSTA_EV_AGENT_NOT_READY, agent_not_ready, csta_agent_event_t, T_AGENT)              \
    E(CSTA_EV_AGENT_READY, agent_ready, csta_agent_event_t, T_AGENT)                      \
    E(CSTA_EV_AGENT_WORKING_AFTER_CALL, agent_working_after_call, csta_agent_event_t,     \
      T_AGENT_PENDING)                                                                    \
    E(CSTA_EV_AUTO_ANSWER, auto_answer, csta_auto_answer_t, T_AUTO_ANSWER)                \
    E(CSTA_EV_AUTO_WORK_MODE, auto_work_mode, csta_auto_work_mode_t, T_AUTO_WORK_MODE)    \
    E(CSTA_EV_CALL_BACK, call_back, csta_call_back_event_t, T_CALL_BACK)                  \
    E(CSTA_EV_CALL_BACK_MESSAGE, call_back_message, csta_call_back_event_t, T_CALL_BACK)  \
    E(CSTA_EV_CALLER_ID_STATUS, caller_id_status, csta_caller_id_status_t,                \
      T_CALLER_ID_STATUS)                                                                 \
    E(CSTA_EV_DO_NOT_DISTURB, do_not_disturb, csta_do_not_disturb_t, T_DO_NOT_DISTURB)    \
    E(CSTA_EV_FORWARDING, forwarding, csta_forwarding_t, T_FORWARDING)                    \
    E(CSTA_EV_ROUTEING_MODE, routeing_mode, csta_routeing_mode_t, T_ROUTEING_MODE)        \
    E(CSTA_EV_PRESENCE_STATE, presence_state, csta_presence_state_t, T_PRESENCE_STATE)    \
    E(CSTA_EV_BACK_IN_SERVICE, back_in_service, csta_device_maintenance_t,                \
      T_DEVICE_MAINTENANCE)                                                               \
    E(CSTA_EV_DEVICE_CAPABILITIES_CHANGED, device_capabilities_changed,                   \
      csta_device_maintenance_t, T_DEVICE_MAINTENANCE)                                    \
    E(CSTA_EV_OUT_OF_SERVICE, out_of_service, csta_device_maintenance_t,                  \
      T_DEVICE_MAINTENANCE)                                                               \
    E(CSTA_EV_PARTIALLY_IN_SERVICE, partially_in_service, csta_device_maintenance_t,      \
      T_DEVICE_MAINTENANCE)

#define S_FILL(kind, f) FILL_##kind(f);
#define S_CHECK(kind, f) CHECK_##kind(f);

//  s_fill_<member>: set the event's fields (optional ones only when `all`) from the
//  counter *n.  s_check_<member>: compare every field of two events.
#define S_DEFINE_CASE(ev, member, ctype, FIELDS)                                          \
    static void s_fill_##member(csta_event_t *event, bool all, int *n)                   \
    {                                                                                     \
        ctype *e = &event->member;                                                        \
        (void) all;                                                                       \
        FIELDS(S_FILL)                                                                    \
    }                                                                                     \
    static void s_check_##member(const csta_event_t *want, const csta_event_t *got)      \
    {                                                                                     \
        const ctype *w = &want->member, *g = &got->member;                                \
        FIELDS(S_CHECK)                                                                   \
    }
T_ALL_EVENTS(S_DEFINE_CASE)

typedef struct {
    csta_event_type_t type;
    const char *member;
    void (*fill)(csta_event_t *event, bool all, int *n);
    void (*check)(const csta_event_t *want, const csta_event_t *got);
} s_case_t;

#define S_CASE_ENTRY(ev, member, ctype, FIELDS) {ev, #member, s_fill_##member, s_check_##member},
static const s_case_t s_cases[] = {T_ALL_EVENTS(S_CASE_ENTRY)};
#define S_CASE_COUNT (sizeof s_cases / sizeof s_cases[0])

//  An event report invoke (invoke id 0x11, xref 00 01) holding the case's event.
static void s_build(const s_case_t *c, bool all, csta_apdu_t *a)
{
    csta_apdu_init(a, CSTA_APDU_INVOKE);
    a->invoke_id = 0x11;
    a->opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a->event.xref, "\x00\x01", 2);
    a->event.type = c->type;
    s_pool_used = 0;
    int n = 1;
    c->fill(&a->event, all, &n);
}

static void s_check_event(const s_case_t *c, const csta_apdu_t *want, const csta_apdu_t *got)
{
    assert_int_equal(got->kind, CSTA_APDU_INVOKE);
    assert_int_equal(got->invoke_id, want->invoke_id);
    assert_int_equal(got->opcode, CSTA_OP_EVENT_REPORT);
    assert_int_equal(got->event.type, c->type);
    assert_true(csta_xref_equal(&got->event.xref, &want->event.xref));
    assert_int_equal(got->ext.present, want->ext.present);
    c->check(&want->event, &got->event);
}

//  --- Tests over every event (one cmocka test per event and behaviour) -------------------------

//  Built with every modelled field, encoded, decoded: the same fields come back.
static void s_round_trips_every_field(void **state)
{
    const s_case_t *c = *state;
    csta_apdu_t a, back;
    s_build(c, true, &a);
    encode_and_decode(&a, &back);
    s_check_event(c, &a, &back);
    csta_apdu_clear(&back);
}

//  Built with the mandatory fields only: the optional ones come back absent.
static void s_round_trips_mandatory_fields_only(void **state)
{
    const s_case_t *c = *state;
    csta_apdu_t a, back;
    s_build(c, false, &a);
    encode_and_decode(&a, &back);
    s_check_event(c, &a, &back);
    csta_apdu_clear(&back);
}

//  The fixture vector named after the event decodes to the fields s_build gives it and
//  re-encodes byte for byte.
static void s_fixture_decodes_and_reencodes(void **state)
{
    const s_case_t *c = *state;
    hexbuf_t buf;
    csta_apdu_t want, got;
    fixture("csta-event.hex", c->member, &buf);
    s_build(c, true, &want);
    decode_and_reencode(&buf, &got);
    s_check_event(c, &want, &got);
    csta_apdu_clear(&got);
}

//  The encoding carries the category and event tags that the enum value encodes:
//  ... 30 { 55 02 00 01, [category] { [tag] IMPLICIT SEQUENCE ... } }.
static void s_encodes_under_category_and_tag_of_its_type(void **state)
{
    const s_case_t *c = *state;
    csta_apdu_t a;
    s_build(c, false, &a);
    uint8_t out[CSTA_TEST_MAX];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), 0);
    //  a1 L 02 01 11 02 01 15 30 L 55 02 00 01 <category> L <event> ...; every length here
    //  is one octet except possibly the outer ones, so find the xref and step over it.
    size_t i = 0;
    while (i + 3 < n && !(out[i] == 0x55 && out[i + 1] == 0x02 && out[i + 2] == 0x00))
        i++;
    i += 4;
    assert_true(i + 2 < n);
    assert_int_equal(out[i], 0xa0 + CSTA_EV_CATEGORY(c->type));
    size_t j = i + 1 + ((out[i + 1] & 0x80) ? 1 + (out[i + 1] & 0x7f) : 1);
    assert_int_equal(out[j], 0xa0 + CSTA_EV_TAG(c->type));
}

//  csta_event_name gives a distinct name per modelled type.
static void event_names_are_distinct_and_known(void **state)
{
    (void) state;
    for (size_t i = 0; i < S_CASE_COUNT; i++) {
        const char *name = csta_event_name(s_cases[i].type);
        assert_string_not_equal(name, "?");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, csta_event_name(s_cases[j].type));
    }
    assert_string_equal(csta_event_name(CSTA_EV_DELIVERED), "Delivered");
    assert_string_equal(csta_event_name(CSTA_EV_DEVICE_CAPABILITIES_CHANGED),
                        "DeviceCapabilitiesChanged");
    assert_string_equal(csta_event_name(CSTA_EV_NONE), "none");
    assert_string_equal(csta_event_name((csta_event_type_t) 399), "?");
}

//  --- Hand-checked vectors ----------------------------------------------------------------------

//  csta-facts.md 2.3 Delivered in the HiPath layout (Net::CSTAv3 template, assembled with
//  enber): A0 { A4 { 6B 63 61 62 64{87 00} 4E 01 02 0A 01 16 7E{A0{18 time}} } }.
static void delivered_hipath_layout_alerts_with_cause_new_call(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "delivered_hipath", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.opcode, CSTA_OP_EVENT_REPORT);
    assert_int_equal(a.event.type, CSTA_EV_DELIVERED);
    assert_int_equal(a.event.xref.len, 2);
    assert_int_equal(a.event.xref.bytes[1], 0x05);
    const csta_delivered_t *d = &a.event.delivered;
    assert_int_equal(d->connection.call_id_len, 2);
    assert_int_equal(d->connection.call_id[1], 0x2a);
    assert_string_equal(d->connection.device.digits, "201");
    assert_string_equal(d->alerting.digits, "201");
    assert_string_equal(d->calling.digits, "202");
    assert_string_equal(d->called.digits, "201");
    assert_int_equal(d->last_redirection.kind, CSTA_DEV_NOT_KNOWN);
    assert_false(d->originating_nid.present);
    assert_int_equal(d->local_state, CSTA_LCS_ALERTING);
    assert_int_equal(d->cause, CSTA_CAUSE_NEW_CALL);
    assert_null(d->correlator.data);
    assert_int_equal(d->network_calling.kind, CSTA_DEV_ABSENT);
    assert_false(d->has_call_characteristics);
    assert_true(a.ext.present);
    assert_string_equal(a.ext.timestamp, "20261122031400");
    csta_apdu_clear(&a);
}

//  The same event built from C values encodes to exactly those bytes.
static void delivered_built_from_values_matches_hipath_layout(void **state)
{
    (void) state;
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 0x12;
    a.opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a.event.xref, "\x00\x05", 2);
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    csta_conn_set(&d->connection, (const uint8_t *) "\x00\x2a", 2, "201");
    csta_device_set(&d->alerting, "201");
    csta_device_set(&d->calling, "202");
    csta_device_set(&d->called, "201");
    d->last_redirection.kind = CSTA_DEV_NOT_KNOWN;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    a.ext.present = true;
    strcpy(a.ext.timestamp, "20261122031400");
    uint8_t out[256];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), 0);
    hexbuf_t want;
    fixture("csta-event.hex", "delivered_hipath", &want);
    assert_bytes_equal(out, n, want.bytes, want.len);
}

static void established_hipath_layout_answers_connection(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "established_hipath", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.event.type, CSTA_EV_ESTABLISHED);
    const csta_established_t *e = &a.event.established;
    assert_int_equal(e->established_connection.call_id[1], 0x2a);
    assert_string_equal(e->answering.digits, "201");
    assert_string_equal(e->calling.digits, "202");
    assert_string_equal(e->called.digits, "201");
    assert_int_equal(e->last_redirection.kind, CSTA_DEV_NOT_KNOWN);
    assert_int_equal(e->local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(e->cause, CSTA_CAUSE_NEW_CALL);
    csta_apdu_clear(&a);
}

static void connection_cleared_hipath_layout_releases_device(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "connection_cleared_hipath", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.event.type, CSTA_EV_CONNECTION_CLEARED);
    const csta_connection_cleared_t *e = &a.event.connection_cleared;
    assert_int_equal(e->dropped_connection.call_id[1], 0x2a);
    assert_string_equal(e->dropped_connection.device.digits, "202");
    assert_string_equal(e->releasing.digits, "202");
    assert_int_equal(e->local_state, CSTA_LCS_NULL);
    assert_int_equal(e->cause, CSTA_CAUSE_NORMAL_CLEARING);
    assert_false(e->charging_info.present);
    csta_apdu_clear(&a);
}

//  HiPath's Transferred carries callLinkageDataList [7] and associatedNID in the connection
//  list, which ctim does not model: the event still decodes with every later field.
static void transferred_hipath_layout_decodes_past_unmodelled_fields(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "transferred_hipath", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_int_equal(a.event.type, CSTA_EV_TRANSFERRED);
    const csta_transferred_t *t = &a.event.transferred;
    assert_int_equal(t->primary_old_call.call_id[1], 0x2a);
    assert_string_equal(t->primary_old_call.device.digits, "201");
    assert_true(t->secondary_old_call.present);
    assert_int_equal(t->secondary_old_call.call_id[1], 0x2b);
    assert_string_equal(t->secondary_old_call.device.digits, "201");
    assert_string_equal(t->transferring.digits, "201");
    assert_string_equal(t->transferred_to.digits, "203");
    assert_int_equal(t->transferred_connections.count, 2);
    const csta_conn_list_item_t *i0 = &t->transferred_connections.item[0];
    assert_int_equal(i0->new_conn.call_id[1], 0x2c);
    assert_string_equal(i0->new_conn.device.digits, "0123");
    assert_int_equal(i0->old_conn.call_id[1], 0x2a);
    assert_string_equal(i0->endpoint.digits, "01234567890");
    const csta_conn_list_item_t *i1 = &t->transferred_connections.item[1];
    assert_string_equal(i1->new_conn.device.digits, "203");
    assert_int_equal(i1->old_conn.call_id[1], 0x2b);
    assert_string_equal(i1->endpoint.digits, "203");
    //  Fields after the unmodelled ones: cause, localConnectionInfo and the extensions.
    assert_int_equal(t->local_state, CSTA_LCS_NULL);
    assert_int_equal(t->cause, CSTA_CAUSE_TRANSFER);
    assert_true(a.ext.present);
    assert_string_equal(a.ext.timestamp, "20261122031500");
    csta_apdu_clear(&a);
}

//  Panasonic KME private data (csta-facts.md 5) in the extensions of an event survives
//  decode and re-encode byte for byte: 7E { A1 { A6 { 8A 01 02 } } }.
static void kme_private_data_in_event_survives_byte_for_byte(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "connection_cleared_kme", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.event.type, CSTA_EV_CONNECTION_CLEARED);
    assert_int_equal(a.event.connection_cleared.releasing.kind, CSTA_DEV_NUMBER);
    assert_int_equal(a.event.connection_cleared.releasing.number, 0x01110005);
    assert_true(a.ext.present);
    assert_true(a.ext.has_private);
    assert_int_equal(a.ext.private_count, 1);
    const uint8_t kme[] = {0xa6, 0x03, 0x8a, 0x01, 0x02};
    assert_int_equal(a.ext.private_data[0].len, sizeof kme);
    assert_memory_equal(a.ext.private_data[0].data, kme, sizeof kme);
    csta_apdu_clear(&a);
}

//  Conferenced carries its extensions as [5] IMPLICIT (A5), not 7E (csta-facts.md 2.3).
static void conferenced_extensions_under_tag_5_keep_kme_data(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "conferenced_kme_extensions", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.event.type, CSTA_EV_CONFERENCED);
    const csta_conferenced_t *c = &a.event.conferenced;
    assert_string_equal(c->conferencing.digits, "201");
    assert_string_equal(c->added_party.digits, "203");
    assert_false(c->secondary_old_call.present);
    assert_int_equal(c->conference_connections.count, 1);
    assert_int_equal(c->conference_connections.item[0].old_conn.call_id[1], 0x2b);
    assert_string_equal(c->conference_connections.item[0].endpoint.digits, "203");
    assert_int_equal(c->local_state, CSTA_LCS_CONNECTED);
    assert_int_equal(c->cause, CSTA_CAUSE_CONFERENCE);
    assert_true(a.ext.present);
    assert_int_equal(a.ext.private_count, 1);
    const uint8_t kme[] = {0xa6, 0x03, 0x8a, 0x01, 0x01};
    assert_int_equal(a.ext.private_data[0].len, sizeof kme);
    assert_memory_equal(a.ext.private_data[0].data, kme, sizeof kme);
    csta_apdu_clear(&a);
}

//  A physicalDeviceFeature [3] event (MessageWaiting [5]) and a call control event tag of
//  a later edition decode to CSTA_EV_NONE with the cross-reference set.
static void unmodelled_category_decodes_to_none_with_xref(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "message_waiting_unmodelled", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.opcode, CSTA_OP_EVENT_REPORT);
    assert_int_equal(a.event.type, CSTA_EV_NONE);
    assert_int_equal(a.event.xref.len, 2);
    assert_int_equal(a.event.xref.bytes[1], 0x07);
    csta_apdu_clear(&a);

    fixture("csta-event.hex", "call_control_tag_20_unmodelled", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_int_equal(a.event.type, CSTA_EV_NONE);
    assert_int_equal(a.event.xref.bytes[1], 0x01);
    csta_apdu_clear(&a);
}

static void encoding_event_none_fails(void **state)
{
    (void) state;
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a.event.xref, "\x00\x01", 2);
    a.event.type = CSTA_EV_NONE;
    uint8_t out[64];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
    a.event.type = (csta_event_type_t) 300;    //  physicalDeviceFeature: not modelled
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
    a.event.type = (csta_event_type_t) 18;     //  no call control event 18
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
}

static void missing_mandatory_field_fails_to_encode(void **state)
{
    (void) state;
    csta_apdu_t a;
    uint8_t out[CSTA_TEST_MAX];
    size_t n;
    const s_case_t *delivered = NULL;
    for (size_t i = 0; i < S_CASE_COUNT; i++)
        if (s_cases[i].type == CSTA_EV_DELIVERED)
            delivered = &s_cases[i];
    assert_non_null(delivered);

    s_build(delivered, false, &a);
    a.event.delivered.cause = CSTA_CAUSE_ABSENT;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
    s_build(delivered, false, &a);
    a.event.delivered.connection.present = false;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
    s_build(delivered, false, &a);
    a.event.delivered.calling.kind = CSTA_DEV_ABSENT;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
}

//  ChargingInfo with an empty currencyType ("size 0 indicates default currency") and a
//  Forwarding event that switches forwarding off, both as an application sees them.
static void charging_default_currency_and_forwarding_off_round_trip(void **state)
{
    (void) state;
    csta_apdu_t a, back;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 3;
    a.opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a.event.xref, "\x00\x02", 2);
    a.event.type = CSTA_EV_CHARGING;
    csta_charging_t *c = &a.event.charging;
    csta_conn_set(&c->connection, (const uint8_t *) "\x00\x2a", 2, "201");
    csta_device_set(&c->charged_device, "201");
    c->charging_info.present = true;
    c->charging_info.is_currency = true;
    c->charging_info.currency_amount = 150;
    c->charging_info.currency_multiplier = CSTA_CURRENCY_ONE_HUNDREDTH;
    c->charging_info.type_of_charging_info = CSTA_CHARGE_TOTAL;
    c->cause = CSTA_CAUSE_ABSENT;
    encode_and_decode(&a, &back);
    assert_int_equal(back.event.type, CSTA_EV_CHARGING);
    assert_true(back.event.charging.charging_info.is_currency);
    assert_int_equal(back.event.charging.charging_info.currency_type.len, 0);
    assert_int_equal(back.event.charging.charging_info.currency_amount, 150);
    assert_int_equal(back.event.charging.cause, CSTA_CAUSE_ABSENT);
    csta_apdu_clear(&back);

    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a.event.xref, "\x00\x02", 2);
    a.event.type = CSTA_EV_FORWARDING;
    csta_device_set(&a.event.forwarding.device, "201");
    a.event.forwarding.has_forwarding_type = true;
    a.event.forwarding.forwarding_type = 1;     //  forwardBusy
    a.event.forwarding.forward_status = false;
    encode_and_decode(&a, &back);
    assert_int_equal(back.event.type, CSTA_EV_FORWARDING);
    assert_true(back.event.forwarding.has_forwarding_type);
    assert_int_equal(back.event.forwarding.forwarding_type, 1);
    assert_false(back.event.forwarding.forward_status);
    assert_int_equal(back.event.forwarding.forward_to.kind, CSTA_DEV_ABSENT);
    assert_false(back.event.forwarding.has_ring_count);
    csta_apdu_clear(&back);
}

//  A list longer than ctim keeps is refused, not cut: -EMSGSIZE on decode, -EINVAL on
//  encode (DoNotDisturb callingDeviceList with nine devices).
static void calling_device_list_over_limit_is_refused(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "do_not_disturb_nine_devices", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), -EMSGSIZE);
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_EVENT_REPORT;
    a.event.type = CSTA_EV_DO_NOT_DISTURB;
    csta_device_set(&a.event.do_not_disturb.device, "201");
    a.event.do_not_disturb.has_calling_device_list = true;
    a.event.do_not_disturb.calling_device_count = CSTA_EV_LIST_MAX + 1;
    uint8_t out[CSTA_TEST_MAX];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
}

//  A BIT STRING claiming more than 7 unused bits is malformed BER: refused, not read past
//  its end.
static void bit_string_with_bad_unused_count_is_refused(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture("csta-event.hex", "held_bad_unused_bits", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), -EBADMSG);
}

//  --- Runner ---------------------------------------------------------------------------------

//  Print every built event as a fixture line (how csta-event.hex was produced).
static int s_dump(void)
{
    for (size_t i = 0; i < S_CASE_COUNT; i++) {
        csta_apdu_t a;
        s_build(&s_cases[i], true, &a);
        uint8_t out[CSTA_TEST_MAX];
        size_t n;
        int rc = csta_apdu_encode(&a, out, sizeof out, &n);
        if (rc) {
            fprintf(stderr, "%s: encode failed (%d)\n", s_cases[i].member, rc);
            return 1;
        }
        printf("%s:", s_cases[i].member);
        for (size_t j = 0; j < n; j++)
            printf(" %02x", out[j]);
        printf("\n");
    }
    return 0;
}

#define S_PER_EVENT_TESTS 4

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0)
        return s_dump();

    static const struct {
        const char *suffix;
        CMUnitTestFunction func;
    } per_event[S_PER_EVENT_TESTS] = {
        {"round_trips_every_field", s_round_trips_every_field},
        {"round_trips_mandatory_fields_only", s_round_trips_mandatory_fields_only},
        {"fixture_decodes_and_reencodes_byte_for_byte", s_fixture_decodes_and_reencodes},
        {"encodes_under_category_and_tag_of_its_type",
         s_encodes_under_category_and_tag_of_its_type},
    };
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(event_names_are_distinct_and_known),
        cmocka_unit_test(delivered_hipath_layout_alerts_with_cause_new_call),
        cmocka_unit_test(delivered_built_from_values_matches_hipath_layout),
        cmocka_unit_test(established_hipath_layout_answers_connection),
        cmocka_unit_test(connection_cleared_hipath_layout_releases_device),
        cmocka_unit_test(transferred_hipath_layout_decodes_past_unmodelled_fields),
        cmocka_unit_test(kme_private_data_in_event_survives_byte_for_byte),
        cmocka_unit_test(conferenced_extensions_under_tag_5_keep_kme_data),
        cmocka_unit_test(unmodelled_category_decodes_to_none_with_xref),
        cmocka_unit_test(encoding_event_none_fails),
        cmocka_unit_test(missing_mandatory_field_fails_to_encode),
        cmocka_unit_test(charging_default_currency_and_forwarding_off_round_trip),
        cmocka_unit_test(calling_device_list_over_limit_is_refused),
        cmocka_unit_test(bit_string_with_bad_unused_count_is_refused),
    };
    enum { FIXED = sizeof fixed / sizeof fixed[0] };
    static struct CMUnitTest tests[S_CASE_COUNT * S_PER_EVENT_TESTS + FIXED];
    static char names[S_CASE_COUNT * S_PER_EVENT_TESTS][96];
    size_t count = 0;
    for (size_t i = 0; i < S_CASE_COUNT; i++) {
        for (size_t k = 0; k < S_PER_EVENT_TESTS; k++) {
            snprintf(names[count], sizeof names[count], "%s_%s", s_cases[i].member,
                     per_event[k].suffix);
            tests[count] = (struct CMUnitTest){names[count], per_event[k].func, NULL, NULL,
                                               (void *) &s_cases[i]};
            count++;
        }
    }
    for (size_t i = 0; i < FIXED; i++)
        tests[count++] = fixed[i];
    return _cmocka_run_group_tests("csta_event", tests, count, NULL, NULL);
}
