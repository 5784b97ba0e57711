//  node_client_calls tests: every ECMA-269 event the client API maps, fed as real decoded
//  csta_event_t values (each event is encoded to BER and decoded back first), checked as
//  the sequence of call states, numbers, names, directions and causes a line's
//  application would see; snapshots; the helpers.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_client_calls.h"

#define SEEN_MAX 32

typedef struct {
    proto_call_info_t seen[SEEN_MAX];
    size_t count;
    node_numfmt_t *numfmt;
    node_lines_t *lines;
} rec_t;

static void s_emit(void *arg, const proto_call_info_t *info)
{
    rec_t *r = arg;
    assert_true(r->count < SEEN_MAX);
    r->seen[r->count++] = *info;
}

static int setup(void **state)
{
    rec_t *r = calloc(1, sizeof *r);
    node_numbers_cfg_t cfg = {0};
    snprintf(cfg.country_code, sizeof cfg.country_code, "49");
    snprintf(cfg.area_code, sizeof cfg.area_code, "30");
    snprintf(cfg.local_prefix, sizeof cfg.local_prefix, "0");
    snprintf(cfg.international_prefix, sizeof cfg.international_prefix, "00");
    snprintf(cfg.national_prefix, sizeof cfg.national_prefix, "0");
    r->numfmt = node_numfmt_new(&cfg, NULL, 0);
    r->lines = node_lines_new();
    assert_int_equal(node_lines_set(r->lines, "101", "Alice"), 0);
    assert_int_equal(node_lines_set(r->lines, "102", "Bob"), 0);
    assert_int_equal(node_lines_set(r->lines, "103", "Carol"), 0);
    assert_int_equal(node_lines_set(r->lines, "801", "CO 1"), 0);
    *state = r;
    return r->numfmt && r->lines ? 0 : -1;
}

static int teardown(void **state)
{
    rec_t *r = *state;
    node_numfmt_destroy(&r->numfmt);
    node_lines_destroy(&r->lines);
    free(r);
    return 0;
}

//  --- Events as the PBX sends them ------------------------------------------------------

static const uint8_t ID1[] = {0x00, 0x2a};
static const uint8_t ID2[] = {0x00, 0x2b};
static const uint8_t ID3[] = {0x00, 0x2c};

static void s_ev_init(csta_apdu_t *a, csta_event_type_t type)
{
    csta_apdu_init(a, CSTA_APDU_INVOKE);
    a->invoke_id = 9;
    a->opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a->event.xref, "\x00\x01", 2);
    a->event.type = type;
}

static void s_dev(csta_device_t *d, const char *digits, const char *name)
{
    csta_device_set(d, digits);
    if (name)
        snprintf(d->name, sizeof d->name, "%s", name);
}

//  Encode, decode (the bytes a real link would carry) and feed to the line's calls.
static void s_feed(node_client_calls_t *calls, rec_t *r, const csta_apdu_t *ev)
{
    uint8_t buf[2048];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(ev, buf, sizeof buf, &n), 0);
    csta_apdu_t d;
    assert_int_equal(csta_apdu_decode(&d, buf, n), 0);
    assert_int_equal(d.event.type, ev->event.type);
    node_client_calls_event(calls, &d.event, s_emit, r);
    csta_apdu_clear(&d);
}

static void s_service_initiated(node_client_calls_t *c, rec_t *r, const uint8_t *id,
                                const char *dev, int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_SERVICE_INITIATED);
    csta_conn_set(&a.event.service_initiated.initiated_connection, id, 2, dev);
    s_dev(&a.event.service_initiated.initiating, dev, NULL);
    a.event.service_initiated.local_state = CSTA_LCS_INITIATED;
    a.event.service_initiated.cause = cause;
    s_feed(c, r, &a);
}

static void s_originated(node_client_calls_t *c, rec_t *r, const uint8_t *id, const char *dev,
                         const char *called)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_ORIGINATED);
    csta_conn_set(&a.event.originated.originated_connection, id, 2, dev);
    s_dev(&a.event.originated.calling, dev, NULL);
    s_dev(&a.event.originated.called, called, NULL);
    a.event.originated.local_state = CSTA_LCS_CONNECTED;
    a.event.originated.cause = CSTA_CAUSE_NEW_CALL;
    s_feed(c, r, &a);
}

static void s_delivered(node_client_calls_t *c, rec_t *r, const uint8_t *id, const char *conn_dev,
                        const char *alerting, const char *calling, const char *calling_name,
                        const char *called, int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_DELIVERED);
    csta_delivered_t *e = &a.event.delivered;
    csta_conn_set(&e->connection, id, 2, conn_dev);
    s_dev(&e->alerting, alerting, NULL);
    s_dev(&e->calling, calling, calling_name);
    s_dev(&e->called, called, NULL);
    e->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    e->local_state = CSTA_LCS_ALERTING;
    e->cause = cause;
    s_feed(c, r, &a);
}

static void s_established(node_client_calls_t *c, rec_t *r, const uint8_t *id,
                          const char *answering, const char *calling, const char *called,
                          int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_ESTABLISHED);
    csta_established_t *e = &a.event.established;
    csta_conn_set(&e->established_connection, id, 2, answering);
    s_dev(&e->answering, answering, NULL);
    s_dev(&e->calling, calling, NULL);
    s_dev(&e->called, called, NULL);
    e->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    e->cause = cause;
    s_feed(c, r, &a);
}

static void s_cleared(node_client_calls_t *c, rec_t *r, const uint8_t *id, const char *conn_dev,
                      const char *releasing, int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_CONNECTION_CLEARED);
    csta_conn_set(&a.event.connection_cleared.dropped_connection, id, 2, conn_dev);
    s_dev(&a.event.connection_cleared.releasing, releasing, NULL);
    a.event.connection_cleared.cause = cause;
    s_feed(c, r, &a);
}

static void s_held(node_client_calls_t *c, rec_t *r, const uint8_t *id, const char *dev, int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_HELD);
    csta_conn_set(&a.event.held.held_connection, id, 2, dev);
    s_dev(&a.event.held.holding, dev, NULL);
    a.event.held.cause = cause;
    s_feed(c, r, &a);
}

static void s_retrieved(node_client_calls_t *c, rec_t *r, const uint8_t *id, const char *dev)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_RETRIEVED);
    csta_conn_set(&a.event.retrieved.retrieved_connection, id, 2, dev);
    s_dev(&a.event.retrieved.retrieving, dev, NULL);
    a.event.retrieved.cause = CSTA_CAUSE_NORMAL;
    s_feed(c, r, &a);
}

static void s_item(csta_conn_list_item_t *it, const uint8_t *old_id, const uint8_t *new_id,
                   const char *conn_dev, const char *endpoint)
{
    memset(it, 0, sizeof *it);
    if (old_id)
        csta_conn_set(&it->old_conn, old_id, 2, conn_dev);
    csta_conn_set(&it->new_conn, new_id, 2, conn_dev);
    s_dev(&it->endpoint, endpoint, NULL);
}

//  --- Checks -----------------------------------------------------------------------------------

static void s_expect(rec_t *r, size_t i, proto_call_state_t state, const char *call_id)
{
    if (i >= r->count)
        fail_msg("only %zu states; wanted %s at %zu", r->count, proto_call_state_str(state), i);
    if (r->seen[i].state != state)
        fail_msg("state %zu: %s, wanted %s", i, proto_call_state_str(r->seen[i].state),
                 proto_call_state_str(state));
    if (call_id)
        assert_string_equal(r->seen[i].call_id, call_id);
}

static void s_expect_states(rec_t *r, const proto_call_state_t *states, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_expect(r, i, states[i], NULL);
    if (r->count != n)
        fail_msg("%zu states, wanted %zu (extra: %s)", r->count, n,
                 proto_call_state_str(r->seen[n].state));
}

//  --- Tests ----------------------------------------------------------------------------------

//  101 calls 102: dial tone, dialling, ringback, connected; 102 hangs up: disconnected, then
//  the PBX clears 101 too: idle (and the call is forgotten).
static void make_call_shows_dial_tone_dialling_ringback_connected_disconnected_idle(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_service_initiated(c, r, ID1, "101", CSTA_CAUSE_MAKE_CALL);
    s_originated(c, r, ID1, "101", "102");
    s_delivered(c, r, ID1, "102", "102", "101", NULL, "102", CSTA_CAUSE_NEW_CALL);
    s_established(c, r, ID1, "102", "101", "102", CSTA_CAUSE_NEW_CALL);
    assert_int_equal(node_client_calls_count(c), 1);
    s_cleared(c, r, ID1, "102", "102", CSTA_CAUSE_NORMAL_CLEARING);
    s_cleared(c, r, ID1, "101", "101", CSTA_CAUSE_NORMAL_CLEARING);
    const proto_call_state_t want[] = {PROTO_CALL_DIAL_TONE, PROTO_CALL_DIALLING,
                                       PROTO_CALL_RINGBACK, PROTO_CALL_CONNECTED,
                                       PROTO_CALL_DISCONNECTED, PROTO_CALL_IDLE};
    s_expect_states(r, want, 6);
    const proto_call_info_t *e = &r->seen[2];
    assert_string_equal(e->call_id, "002a");
    assert_int_equal(e->direction, PROTO_DIR_INTERNAL);
    assert_string_equal(e->caller_number, "101");
    assert_string_equal(e->caller_name, "Alice");
    assert_string_equal(e->called_number, "102");
    assert_string_equal(e->called_name, "Bob");
    assert_string_equal(r->seen[0].cause, "makeCall");
    assert_string_equal(r->seen[4].cause, "normalClearing");
    assert_int_equal(node_client_calls_count(c), 0);
    node_client_calls_destroy(&c);
    node_client_calls_destroy(&c);  //  twice is safe
}

//  The line hangs up first: disconnected then idle; an event of a forgotten call is ignored.
static void own_hang_up_is_disconnected_then_idle(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("102", r->numfmt, r->lines);
    s_delivered(c, r, ID1, "102", "102", "101", NULL, "102", CSTA_CAUSE_NEW_CALL);
    s_established(c, r, ID1, "102", "101", "102", CSTA_CAUSE_NEW_CALL);
    s_cleared(c, r, ID1, "102", "102", CSTA_CAUSE_NORMAL_CLEARING);
    s_cleared(c, r, ID1, "101", "101", CSTA_CAUSE_NORMAL_CLEARING);
    const proto_call_state_t want[] = {PROTO_CALL_OFFERING, PROTO_CALL_CONNECTED,
                                       PROTO_CALL_DISCONNECTED, PROTO_CALL_IDLE};
    s_expect_states(r, want, 4);
    assert_int_equal(r->seen[0].direction, PROTO_DIR_INTERNAL);
    node_client_calls_destroy(&c);
}

//  An outside caller: offering, incoming, the caller through the incoming rules, the name
//  the PBX sent; a known line's name comes from node_lines instead.
static void incoming_outside_call_is_formatted_and_named(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_delivered(c, r, ID1, "101", "101", "0301234567", "John Doe", "101", CSTA_CAUSE_NEW_CALL);
    s_expect(r, 0, PROTO_CALL_OFFERING, "002a");
    assert_int_equal(r->seen[0].direction, PROTO_DIR_INCOMING);
    assert_string_equal(r->seen[0].caller_number, "+49301234567");
    assert_string_equal(r->seen[0].caller_name, "John Doe");
    assert_string_equal(r->seen[0].called_number, "101");
    assert_string_equal(r->seen[0].called_name, "Alice");
    assert_string_equal(r->seen[0].cause, "newCall");
    //  The same call answered: connected, numbers unchanged.
    s_established(c, r, ID1, "101", "0301234567", "101", CSTA_CAUSE_NEW_CALL);
    s_expect(r, 1, PROTO_CALL_CONNECTED, "002a");
    assert_string_equal(r->seen[1].caller_number, "+49301234567");
    const proto_call_info_t *info = node_client_calls_find(c, "002a");
    assert_non_null(info);
    assert_int_equal(info->state, PROTO_CALL_CONNECTED);
    assert_null(node_client_calls_find(c, "00ff"));
    assert_null(node_client_calls_find(c, "xyz"));
    //  After a reload without rules or names, the next event shows raw numbers.
    node_client_calls_set_numbers(c, NULL, NULL);
    s_cleared(c, r, ID1, "801", "0301234567", CSTA_CAUSE_NORMAL_CLEARING);
    s_expect(r, 2, PROTO_CALL_DISCONNECTED, "002a");
    assert_string_equal(r->seen[2].caller_number, "0301234567");
    assert_string_equal(r->seen[2].called_name, "");
    node_client_calls_destroy(&c);
}

//  101 dials out: NetworkReached is proceeding and makes the call outgoing; the called
//  number goes through the outgoing rules (outside-line prefix 0).
static void outgoing_outside_call_is_proceeding_and_outgoing(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_service_initiated(c, r, ID1, "101", CSTA_CAUSE_MAKE_CALL);
    s_originated(c, r, ID1, "101", "00301234567");
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_NETWORK_REACHED);
    csta_network_reached_t *e = &a.event.network_reached;
    csta_conn_set(&e->outbound_connection, ID1, 2, "801");
    s_dev(&e->network_interface_used, "801", NULL);
    s_dev(&e->calling, "101", NULL);
    s_dev(&e->called, "00301234567", NULL);
    e->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    e->cause = CSTA_CAUSE_NORMAL;
    s_feed(c, r, &a);
    s_delivered(c, r, ID1, "801", "00301234567", "101", NULL, "00301234567", CSTA_CAUSE_NEW_CALL);
    const proto_call_state_t want[] = {PROTO_CALL_DIAL_TONE, PROTO_CALL_DIALLING,
                                       PROTO_CALL_PROCEEDING, PROTO_CALL_RINGBACK};
    s_expect_states(r, want, 4);
    assert_int_equal(r->seen[3].direction, PROTO_DIR_OUTGOING);
    assert_string_equal(r->seen[3].called_number, "+49301234567");
    assert_string_equal(r->seen[3].caller_number, "101");
    node_client_calls_destroy(&c);
}

//  Failed: busy when the cause says busy, disconnected otherwise (with the cause's name).
static void failed_is_busy_or_disconnected_by_cause(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    const int causes[] = {CSTA_CAUSE_BUSY, CSTA_CAUSE_TRUNKS_BUSY, CSTA_CAUSE_NUMBER_UNALLOCATED,
                          CSTA_CAUSE_DO_NOT_DISTURB};
    const proto_call_state_t want[] = {PROTO_CALL_BUSY, PROTO_CALL_BUSY, PROTO_CALL_DISCONNECTED,
                                       PROTO_CALL_DISCONNECTED};
    for (size_t i = 0; i < 4; i++) {
        r->count = 0;
        s_service_initiated(c, r, ID1, "101", CSTA_CAUSE_MAKE_CALL);
        s_originated(c, r, ID1, "101", "102");
        csta_apdu_t a;
        s_ev_init(&a, CSTA_EV_FAILED);
        csta_failed_t *e = &a.event.failed;
        csta_conn_set(&e->failed_connection, ID1, 2, "102");
        s_dev(&e->failing, "102", NULL);
        s_dev(&e->calling, "101", NULL);
        s_dev(&e->called, "102", NULL);
        e->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
        e->cause = causes[i];
        s_feed(c, r, &a);
        s_expect(r, 2, want[i], "002a");
        assert_string_equal(r->seen[2].cause, node_client_calls_cause_str(causes[i]));
        //  The line hangs up on busy tone: idle (busy already said the call is over).
        s_cleared(c, r, ID1, "101", "101", CSTA_CAUSE_NORMAL_CLEARING);
        s_expect(r, r->count - 1, PROTO_CALL_IDLE, "002a");
        assert_int_equal(r->count, 4);     //  busy or disconnected, then idle only
    }
    //  A Failed about a call the line is not the caller of, and never saw, says nothing.
    r->count = 0;
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_FAILED);
    csta_conn_set(&a.event.failed.failed_connection, ID2, 2, "101");
    s_dev(&a.event.failed.failing, "101", NULL);
    s_dev(&a.event.failed.calling, "103", NULL);
    s_dev(&a.event.failed.called, "101", NULL);
    a.event.failed.last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    a.event.failed.cause = CSTA_CAUSE_BUSY;
    s_feed(c, r, &a);
    assert_int_equal(r->count, 0);
    node_client_calls_destroy(&c);
}

//  Held by the line: on hold; held for a consultation (cause consultation, or the node
//  said a ConsultationCall is in flight): on hold pending transfer; retrieved: connected.
//  The far end holding the line changes nothing.
static void held_is_on_hold_or_pending_transfer(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_delivered(c, r, ID1, "101", "101", "102", NULL, "101", CSTA_CAUSE_NEW_CALL);
    s_established(c, r, ID1, "101", "102", "101", CSTA_CAUSE_NEW_CALL);
    s_held(c, r, ID1, "101", CSTA_CAUSE_NORMAL);
    s_retrieved(c, r, ID1, "101");
    s_held(c, r, ID1, "102", CSTA_CAUSE_NORMAL);     //  the far end: nothing
    s_held(c, r, ID1, "101", CSTA_CAUSE_CONSULTATION);
    s_retrieved(c, r, ID1, "101");
    node_client_calls_consultation(c, "002a", true);
    s_held(c, r, ID1, "101", CSTA_CAUSE_NORMAL);      //  a PBX that says "normal"
    s_retrieved(c, r, ID1, "101");
    node_client_calls_consultation(c, "002a", true);
    node_client_calls_consultation(c, "002a", false); //  the ConsultationCall failed
    node_client_calls_consultation(c, "zz", true);    //  not a call: ignored
    s_held(c, r, ID1, "101", CSTA_CAUSE_NORMAL);
    const proto_call_state_t want[] = {
        PROTO_CALL_OFFERING, PROTO_CALL_CONNECTED, PROTO_CALL_ON_HOLD, PROTO_CALL_CONNECTED,
        PROTO_CALL_ON_HOLD_PENDING_TRANSFER, PROTO_CALL_CONNECTED,
        PROTO_CALL_ON_HOLD_PENDING_TRANSFER, PROTO_CALL_CONNECTED, PROTO_CALL_ON_HOLD};
    s_expect_states(r, want, 9);
    node_client_calls_destroy(&c);
}

//  Consultation and ConferenceCall at the conferencing line 101 (102 held, 103 consulted):
//  pending transfer, the consultation's dial tone .. connected, then conferenced on the
//  held call and idle for the consultation; a conference held for a consultation is
//  pending conference.  One party leaving a three-party conference leaves a plain call.
static void conference_at_the_conferencing_line(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_delivered(c, r, ID1, "101", "101", "0301234567", NULL, "101", CSTA_CAUSE_NEW_CALL);
    s_established(c, r, ID1, "101", "0301234567", "101", CSTA_CAUSE_NEW_CALL);
    s_held(c, r, ID1, "101", CSTA_CAUSE_CONSULTATION);
    s_service_initiated(c, r, ID2, "101", CSTA_CAUSE_CONSULTATION);
    s_originated(c, r, ID2, "101", "103");
    s_delivered(c, r, ID2, "103", "103", "101", NULL, "103", CSTA_CAUSE_CONSULTATION);
    s_established(c, r, ID2, "103", "101", "103", CSTA_CAUSE_NEW_CALL);
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_CONFERENCED);
    csta_conferenced_t *e = &a.event.conferenced;
    csta_conn_set(&e->primary_old_call, ID1, 2, "101");
    csta_conn_set(&e->secondary_old_call, ID2, 2, "101");
    s_dev(&e->conferencing, "101", NULL);
    s_dev(&e->added_party, "103", NULL);
    e->conference_connections.present = true;
    e->conference_connections.count = 3;
    s_item(&e->conference_connections.item[0], ID1, ID1, "801", "0301234567");
    s_item(&e->conference_connections.item[1], ID1, ID1, "101", "101");
    s_item(&e->conference_connections.item[2], ID2, ID1, "103", "103");
    e->local_state = CSTA_LCS_CONNECTED;
    e->cause = CSTA_CAUSE_CONFERENCE;
    s_feed(c, r, &a);
    const proto_call_state_t want[] = {
        PROTO_CALL_OFFERING, PROTO_CALL_CONNECTED, PROTO_CALL_ON_HOLD_PENDING_TRANSFER,
        PROTO_CALL_DIAL_TONE, PROTO_CALL_DIALLING, PROTO_CALL_RINGBACK, PROTO_CALL_CONNECTED,
        PROTO_CALL_CONFERENCED, PROTO_CALL_IDLE};
    s_expect_states(r, want, 9);
    s_expect(r, 7, PROTO_CALL_CONFERENCED, "002a");
    s_expect(r, 8, PROTO_CALL_IDLE, "002b");
    assert_string_equal(r->seen[8].cause, "conference");
    assert_int_equal(node_client_calls_count(c), 1);
    //  The outside party's connection (its trunk) is what removing it clears.
    const csta_conn_t *party = node_client_calls_party(c, "002a", "+49301234567");
    assert_non_null(party);
    assert_string_equal(party->device.digits, "801");
    assert_non_null(node_client_calls_party(c, "002a", "0301234567"));
    assert_non_null(node_client_calls_party(c, "002a", "103"));
    assert_null(node_client_calls_party(c, "002a", "104"));
    assert_null(node_client_calls_party(c, "002b", "103"));
    //  A conference held for a consultation: pending conference.
    r->count = 0;
    s_held(c, r, ID1, "101", CSTA_CAUSE_CONSULTATION);
    s_retrieved(c, r, ID1, "101");
    //  103 leaves: two parties are left, a plain call; then the outside party goes too.
    s_cleared(c, r, ID1, "103", "103", CSTA_CAUSE_NORMAL_CLEARING);
    s_cleared(c, r, ID1, "801", "0301234567", CSTA_CAUSE_NORMAL_CLEARING);
    const proto_call_state_t want2[] = {PROTO_CALL_ON_HOLD_PENDING_CONFERENCE,
                                        PROTO_CALL_CONFERENCED, PROTO_CALL_CONNECTED,
                                        PROTO_CALL_DISCONNECTED};
    s_expect_states(r, want2, 4);
    assert_string_equal(r->seen[2].caller_number, "+49301234567");
    node_client_calls_destroy(&c);
}

//  The consulted party 103 of a conference gets the conference under the held call's id:
//  conferenced on the new id, then idle for its old call.  A device joined without a
//  call of its own (SingleStepConference, IntrudeCall) gets the conference as a new call.
static void conference_at_the_added_and_joining_lines(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("103", r->numfmt, r->lines);
    s_delivered(c, r, ID2, "103", "103", "101", NULL, "103", CSTA_CAUSE_CONSULTATION);
    s_established(c, r, ID2, "103", "101", "103", CSTA_CAUSE_NEW_CALL);
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_CONFERENCED);
    csta_conferenced_t *e = &a.event.conferenced;
    csta_conn_set(&e->primary_old_call, ID1, 2, "101");
    csta_conn_set(&e->secondary_old_call, ID2, 2, "101");
    s_dev(&e->conferencing, "101", NULL);
    s_dev(&e->added_party, "103", NULL);
    e->conference_connections.present = true;
    e->conference_connections.count = 3;
    s_item(&e->conference_connections.item[0], ID1, ID1, "102", "102");
    s_item(&e->conference_connections.item[1], ID1, ID1, "101", "101");
    s_item(&e->conference_connections.item[2], ID2, ID1, "103", "103");
    e->cause = CSTA_CAUSE_CONFERENCE;
    s_feed(c, r, &a);
    const proto_call_state_t want[] = {PROTO_CALL_OFFERING, PROTO_CALL_CONNECTED,
                                       PROTO_CALL_CONFERENCED, PROTO_CALL_IDLE};
    s_expect_states(r, want, 4);
    s_expect(r, 2, PROTO_CALL_CONFERENCED, "002a");
    assert_string_equal(r->seen[2].caller_number, "101");   //  carried over from 002b
    s_expect(r, 3, PROTO_CALL_IDLE, "002b");
    node_client_calls_destroy(&c);

    //  104 joins call 002c (SingleStepConference by 102): no old connection.
    r->count = 0;
    c = node_client_calls_new("104", r->numfmt, r->lines);
    s_ev_init(&a, CSTA_EV_CONFERENCED);
    csta_conn_set(&e->primary_old_call, ID3, 2, "102");
    s_dev(&e->conferencing, "102", NULL);
    s_dev(&e->added_party, "104", NULL);
    e->conference_connections.present = true;
    e->conference_connections.count = 3;
    s_item(&e->conference_connections.item[0], ID3, ID3, "102", "102");
    s_item(&e->conference_connections.item[1], ID3, ID3, "103", "103");
    s_item(&e->conference_connections.item[2], NULL, ID3, "104", "104");
    e->cause = CSTA_CAUSE_SINGLE_STEP_CONFERENCE;
    s_feed(c, r, &a);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_CONFERENCED}, 1);
    assert_string_equal(r->seen[0].call_id, "002c");
    assert_string_equal(r->seen[0].caller_number, "102");
    assert_string_equal(r->seen[0].cause, "singleStepConference");
    node_client_calls_destroy(&c);
}

static void s_transferred(node_client_calls_t *c, rec_t *r, const uint8_t *primary,
                          const uint8_t *secondary, const char *transferring, const char *to,
                          const csta_conn_list_t *list, csta_lcs_t local, int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_TRANSFERRED);
    csta_transferred_t *e = &a.event.transferred;
    csta_conn_set(&e->primary_old_call, primary, 2, transferring);
    if (secondary)
        csta_conn_set(&e->secondary_old_call, secondary, 2, transferring);
    s_dev(&e->transferring, transferring, NULL);
    s_dev(&e->transferred_to, to, NULL);
    e->transferred_connections = *list;
    e->transferred_connections.present = true;
    e->local_state = local;
    e->cause = cause;
    s_feed(c, r, &a);
}

//  TransferCall seen from each line: the transferring 101 goes idle on both calls; the
//  held 102 keeps its call with 103 as the new far end; 103 gets the call under the held
//  call's id (connected to 102) and idle for its consultation call.
static void transfer_seen_from_every_line(void **state)
{
    rec_t *r = *state;
    csta_conn_list_t list = {.present = true, .count = 2};
    s_item(&list.item[0], ID1, ID1, "102", "102");
    s_item(&list.item[1], ID2, ID1, "103", "103");

    node_client_calls_t *c101 = node_client_calls_new("101", r->numfmt, r->lines);
    s_delivered(c101, r, ID1, "101", "101", "102", NULL, "101", CSTA_CAUSE_NEW_CALL);
    s_established(c101, r, ID1, "101", "102", "101", CSTA_CAUSE_NEW_CALL);
    s_held(c101, r, ID1, "101", CSTA_CAUSE_CONSULTATION);
    s_service_initiated(c101, r, ID2, "101", CSTA_CAUSE_CONSULTATION);
    s_originated(c101, r, ID2, "101", "103");
    s_delivered(c101, r, ID2, "103", "103", "101", NULL, "103", CSTA_CAUSE_CONSULTATION);
    r->count = 0;
    s_transferred(c101, r, ID1, ID2, "101", "103", &list, CSTA_LCS_NULL, CSTA_CAUSE_TRANSFER);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_IDLE, PROTO_CALL_IDLE}, 2);
    assert_string_equal(r->seen[0].cause, "transfer");
    assert_int_equal(node_client_calls_count(c101), 0);
    node_client_calls_destroy(&c101);

    r->count = 0;
    node_client_calls_t *c102 = node_client_calls_new("102", r->numfmt, r->lines);
    s_service_initiated(c102, r, ID1, "102", CSTA_CAUSE_MAKE_CALL);
    s_originated(c102, r, ID1, "102", "101");
    s_delivered(c102, r, ID1, "101", "101", "102", NULL, "101", CSTA_CAUSE_NEW_CALL);
    s_established(c102, r, ID1, "101", "102", "101", CSTA_CAUSE_NEW_CALL);
    r->count = 0;
    s_transferred(c102, r, ID1, ID2, "101", "103", &list, CSTA_LCS_CONNECTED,
                  CSTA_CAUSE_TRANSFER);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_CONNECTED}, 1);
    assert_string_equal(r->seen[0].call_id, "002a");
    assert_string_equal(r->seen[0].called_number, "103");
    assert_string_equal(r->seen[0].called_name, "Carol");
    node_client_calls_destroy(&c102);

    r->count = 0;
    node_client_calls_t *c103 = node_client_calls_new("103", r->numfmt, r->lines);
    s_delivered(c103, r, ID2, "103", "103", "101", NULL, "103", CSTA_CAUSE_CONSULTATION);
    s_established(c103, r, ID2, "103", "101", "103", CSTA_CAUSE_NEW_CALL);
    r->count = 0;
    s_transferred(c103, r, ID1, ID2, "101", "103", &list, CSTA_LCS_CONNECTED,
                  CSTA_CAUSE_TRANSFER);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_CONNECTED, PROTO_CALL_IDLE}, 2);
    s_expect(r, 0, PROTO_CALL_CONNECTED, "002a");
    assert_string_equal(r->seen[0].caller_number, "102");
    s_expect(r, 1, PROTO_CALL_IDLE, "002b");
    node_client_calls_destroy(&c103);
}

//  SingleStepTransfer seen by the party left in the call: the far end is the destination,
//  which then rings (ringback).
static void single_step_transfer_gives_the_remaining_party_a_new_far_end(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("102", r->numfmt, r->lines);
    s_service_initiated(c, r, ID1, "102", CSTA_CAUSE_MAKE_CALL);
    s_originated(c, r, ID1, "102", "101");
    s_delivered(c, r, ID1, "101", "101", "102", NULL, "101", CSTA_CAUSE_NEW_CALL);
    s_established(c, r, ID1, "101", "102", "101", CSTA_CAUSE_NEW_CALL);
    r->count = 0;
    csta_conn_list_t list = {.present = true, .count = 1};
    s_item(&list.item[0], ID1, ID1, "102", "102");
    s_transferred(c, r, ID1, NULL, "101", "103", &list, CSTA_LCS_CONNECTED,
                  CSTA_CAUSE_SINGLE_STEP_TRANSFER);
    s_delivered(c, r, ID1, "103", "103", "102", NULL, "101", CSTA_CAUSE_SINGLE_STEP_TRANSFER);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_CONNECTED, PROTO_CALL_RINGBACK},
                    2);
    assert_string_equal(r->seen[0].called_number, "103");
    assert_string_equal(r->seen[0].cause, "singleStepTransfer");
    node_client_calls_destroy(&c);
}

static void s_diverted(node_client_calls_t *c, rec_t *r, const uint8_t *id, const char *from,
                       const char *to, int cause)
{
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_DIVERTED);
    csta_diverted_t *e = &a.event.diverted;
    csta_conn_set(&e->connection, id, 2, from);
    s_dev(&e->diverting, from, NULL);
    s_dev(&e->new_destination, to, NULL);
    s_dev(&e->calling, "0301234567", NULL);
    s_dev(&e->called, "102", NULL);
    e->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    e->local_state = CSTA_LCS_NULL;
    e->cause = cause;
    s_feed(c, r, &a);
}

//  Diverted: idle at the diverting line with the event's cause (deflection: redirected),
//  offering at the new destination; a call forwarded before it rang here says nothing;
//  the caller's line keeps ringback until the new destination's Delivered.
static void diverted_is_idle_at_the_diverting_line_offering_at_the_new_one(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("102", r->numfmt, r->lines);
    s_delivered(c, r, ID1, "102", "102", "0301234567", NULL, "102", CSTA_CAUSE_NEW_CALL);
    s_diverted(c, r, ID1, "102", "103", CSTA_CAUSE_REDIRECTED);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_OFFERING, PROTO_CALL_IDLE}, 2);
    assert_string_equal(r->seen[1].cause, "redirected");
    s_diverted(c, r, ID2, "102", "103", CSTA_CAUSE_CALL_FORWARD_IMMEDIATE);  //  never rang
    assert_int_equal(r->count, 2);
    node_client_calls_destroy(&c);

    r->count = 0;
    c = node_client_calls_new("103", r->numfmt, r->lines);
    s_diverted(c, r, ID1, "102", "103", CSTA_CAUSE_REDIRECTED);
    s_delivered(c, r, ID1, "103", "103", "0301234567", NULL, "102", CSTA_CAUSE_REDIRECTED);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_OFFERING}, 1);
    assert_int_equal(r->seen[0].direction, PROTO_DIR_INCOMING);
    assert_string_equal(r->seen[0].caller_number, "+49301234567");
    assert_string_equal(r->seen[0].called_number, "102");   //  what the caller dialled
    //  A pickup by 103 is not offered to it: Established follows.
    r->count = 0;
    s_diverted(c, r, ID2, "101", "103", CSTA_CAUSE_CALL_PICKUP);
    s_established(c, r, ID2, "103", "102", "101", CSTA_CAUSE_CALL_PICKUP);
    s_expect_states(r, (const proto_call_state_t[]){PROTO_CALL_CONNECTED}, 1);
    assert_int_equal(r->seen[0].direction, PROTO_DIR_INTERNAL);
    assert_string_equal(r->seen[0].caller_number, "102");
    assert_string_equal(r->seen[0].cause, "callPickup");
    node_client_calls_destroy(&c);
}

//  DigitsDialed is dialling, Queued proceeding; CallCleared ends a call (disconnected,
//  idle); call events of other devices and unmodelled events say nothing.
static void digits_queued_call_cleared_and_others(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_service_initiated(c, r, ID1, "101", CSTA_CAUSE_NEW_CALL);
    csta_apdu_t a;
    s_ev_init(&a, CSTA_EV_DIGITS_DIALED);
    csta_conn_set(&a.event.digits_dialed.dialing_connection, ID1, 2, "101");
    s_dev(&a.event.digits_dialed.dialing, "101", NULL);
    s_dev(&a.event.digits_dialed.dialing_sequence, "10", NULL);
    a.event.digits_dialed.cause = CSTA_CAUSE_NEW_CALL;
    s_feed(c, r, &a);
    s_ev_init(&a, CSTA_EV_QUEUED);
    csta_conn_set(&a.event.queued.queued_connection, ID1, 2, "102");
    s_dev(&a.event.queued.queue, "102", NULL);
    s_dev(&a.event.queued.calling, "101", NULL);
    s_dev(&a.event.queued.called, "102", NULL);
    a.event.queued.last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
    a.event.queued.cause = CSTA_CAUSE_CAMP_ON;
    s_feed(c, r, &a);
    //  Not the line's: another device's dial tone, a device event.
    s_service_initiated(c, r, ID2, "104", CSTA_CAUSE_NEW_CALL);
    s_ev_init(&a, CSTA_EV_DO_NOT_DISTURB);
    s_dev(&a.event.do_not_disturb.device, "101", NULL);
    a.event.do_not_disturb.do_not_disturb_on = true;
    s_feed(c, r, &a);
    s_ev_init(&a, CSTA_EV_CALL_CLEARED);
    csta_conn_set(&a.event.call_cleared.cleared_call, ID1, 2, NULL);
    a.event.call_cleared.cause = CSTA_CAUSE_NORMAL_CLEARING;
    s_feed(c, r, &a);
    const proto_call_state_t want[] = {PROTO_CALL_DIAL_TONE, PROTO_CALL_DIALLING,
                                       PROTO_CALL_PROCEEDING, PROTO_CALL_DISCONNECTED,
                                       PROTO_CALL_IDLE};
    s_expect_states(r, want, 5);
    assert_string_equal(r->seen[2].cause, "campOn");
    assert_int_equal(node_client_calls_count(c), 0);
    node_client_calls_destroy(&c);
}

//  A snapshot: new calls come out with the state the PBX reports (ringing here: offering;
//  connected with the other alerting: ringback; held: on hold), calls the PBX no longer has
//  go idle, unchanged calls say nothing; a second identical snapshot says nothing at all.
//  A result that only announces segments changes nothing.
static void snapshot_adds_updates_and_forgets(void **state)
{
    rec_t *r = *state;
    node_client_calls_t *c = node_client_calls_new("101", r->numfmt, r->lines);
    s_delivered(c, r, ID3, "101", "101", "102", NULL, "101", CSTA_CAUSE_NEW_CALL);  //  gone
    r->count = 0;
    csta_snapshot_device_item_t items[4];
    memset(items, 0, sizeof items);
    csta_conn_set(&items[0].connection_identifier, ID1, 2, "101");
    s_dev(&items[0].endpoint_device, "0301234567", "John Doe");
    items[0].local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
    items[0].local_call_state.compound_count = 1;
    items[0].local_call_state.compound[0] = CSTA_LCS_ALERTING;
    csta_conn_set(&items[1].connection_identifier, ID2, 2, "101");
    s_dev(&items[1].endpoint_device, "103", NULL);
    items[1].local_call_state.kind = CSTA_CALL_STATE_SIMPLE;
    items[1].local_call_state.simple = CSTA_SCS_DELIVERED;     //  0x23: other alerting
    csta_conn_set(&items[2].connection_identifier, (const uint8_t *) "\x00\x2d", 2, "101");
    items[2].local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
    items[2].local_call_state.compound_count = 2;
    items[2].local_call_state.compound[0] = CSTA_LCS_HOLD;
    items[2].local_call_state.compound[1] = CSTA_LCS_CONNECTED;
    csta_conn_set(&items[3].connection_identifier, (const uint8_t *) "\x00\x2e", 2, "101");
    items[3].local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
    items[3].local_call_state.compound_count = 1;
    items[3].local_call_state.compound[0] = CSTA_LCS_NULL;    //  not at the line
    //  Through the codec, as a SnapshotDevice result.
    csta_apdu_t res;
    csta_apdu_init(&res, CSTA_APDU_RESULT);
    res.invoke_id = 3;
    res.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    res.svc.snapshot_device_res.snapshot_data.count = 4;
    res.svc.snapshot_device_res.snapshot_data.item = items;
    uint8_t buf[2048];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&res, buf, sizeof buf, &n), 0);
    csta_apdu_t d;
    assert_int_equal(csta_apdu_decode(&d, buf, n), 0);
    node_client_calls_snapshot(c, &d.svc.snapshot_device_res, s_emit, r);
    const proto_call_state_t want[] = {PROTO_CALL_OFFERING, PROTO_CALL_RINGBACK,
                                       PROTO_CALL_ON_HOLD, PROTO_CALL_IDLE};
    s_expect_states(r, want, 4);
    s_expect(r, 0, PROTO_CALL_OFFERING, "002a");
    assert_int_equal(r->seen[0].direction, PROTO_DIR_INCOMING);
    assert_string_equal(r->seen[0].caller_number, "+49301234567");
    assert_string_equal(r->seen[0].caller_name, "John Doe");
    assert_string_equal(r->seen[0].called_number, "101");
    s_expect(r, 1, PROTO_CALL_RINGBACK, "002b");
    assert_int_equal(r->seen[1].direction, PROTO_DIR_INTERNAL);
    assert_string_equal(r->seen[1].called_number, "103");
    s_expect(r, 2, PROTO_CALL_ON_HOLD, "002d");
    assert_int_equal(r->seen[2].direction, PROTO_DIR_UNSPECIFIED);
    s_expect(r, 3, PROTO_CALL_IDLE, "002c");
    assert_int_equal(node_client_calls_count(c), 3);
    r->count = 0;
    node_client_calls_snapshot(c, &d.svc.snapshot_device_res, s_emit, r);
    assert_int_equal(r->count, 0);
    //  An event moved a call on; a snapshot that agrees says nothing, one that disagrees
    //  corrects it.
    s_established(c, r, ID1, "101", "0301234567", "101", CSTA_CAUSE_NEW_CALL);
    assert_int_equal(r->count, 1);
    node_client_calls_snapshot(c, &d.svc.snapshot_device_res, s_emit, r);
    s_expect(r, 1, PROTO_CALL_OFFERING, "002a");
    assert_int_equal(r->count, 2);
    csta_apdu_clear(&d);

    csta_snapshot_device_res_t xref = {.is_xref = true};
    csta_xref_set(&xref.service_xref, "\x01", 1);
    r->count = 0;
    node_client_calls_snapshot(c, &xref, s_emit, r);
    assert_int_equal(r->count, 0);
    assert_int_equal(node_client_calls_count(c), 3);
    assert_non_null(node_client_calls_at(c, 0));
    assert_null(node_client_calls_at(c, 3));
    node_client_calls_clear(c);
    assert_int_equal(node_client_calls_count(c), 0);
    node_client_calls_destroy(&c);
}

//  The helpers: causes by name, call ids as hex and back, what counts as internal.
static void helpers(void **state)
{
    rec_t *r = *state;
    assert_string_equal(node_client_calls_cause_str(CSTA_CAUSE_REDIRECTED), "redirected");
    assert_string_equal(node_client_calls_cause_str(3), "busy");
    assert_string_equal(node_client_calls_cause_str(121), "lawfulInterception");
    assert_null(node_client_calls_cause_str(34));
    assert_null(node_client_calls_cause_str(-1));
    char text[PROTO_CALL_ID_MAX + 1];
    const uint8_t id[] = {0x00, 0xab, 0x7f};
    node_client_calls_id_text(id, 3, text, sizeof text);
    assert_string_equal(text, "00ab7f");
    uint8_t back[CSTA_CALL_ID_MAX];
    assert_int_equal(node_client_calls_id_parse("00AB7f", back, sizeof back), 3);
    assert_memory_equal(back, id, 3);
    assert_int_equal(node_client_calls_id_parse("", back, sizeof back), -1);
    assert_int_equal(node_client_calls_id_parse("abc", back, sizeof back), -1);
    assert_int_equal(node_client_calls_id_parse("zz", back, sizeof back), -1);
    assert_int_equal(node_client_calls_id_parse("0011223344556677889900112233445566", back,
                                                sizeof back),
                     -1);
    assert_true(node_client_calls_internal(r->lines, "801", 3));
    assert_true(node_client_calls_internal(NULL, "104", 3));
    assert_false(node_client_calls_internal(NULL, "0301234567", 3));
    assert_false(node_client_calls_internal(NULL, "", 3));
    assert_false(node_client_calls_internal(NULL, "sip:x", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            make_call_shows_dial_tone_dialling_ringback_connected_disconnected_idle, setup,
            teardown),
        cmocka_unit_test_setup_teardown(own_hang_up_is_disconnected_then_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(incoming_outside_call_is_formatted_and_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(outgoing_outside_call_is_proceeding_and_outgoing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_is_busy_or_disconnected_by_cause, setup, teardown),
        cmocka_unit_test_setup_teardown(held_is_on_hold_or_pending_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(conference_at_the_conferencing_line, setup, teardown),
        cmocka_unit_test_setup_teardown(conference_at_the_added_and_joining_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transfer_seen_from_every_line, setup, teardown),
        cmocka_unit_test_setup_teardown(
            single_step_transfer_gives_the_remaining_party_a_new_far_end, setup, teardown),
        cmocka_unit_test_setup_teardown(
            diverted_is_idle_at_the_diverting_line_offering_at_the_new_one, setup, teardown),
        cmocka_unit_test_setup_teardown(digits_queued_call_cleared_and_others, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_adds_updates_and_forgets, setup, teardown),
        cmocka_unit_test_setup_teardown(helpers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
