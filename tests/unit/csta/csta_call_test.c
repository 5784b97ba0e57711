//  Call control services (csta_call.h): every operation's invoke and result survives
//  encode -> decode field by field, and the hex vectors of tests/fixtures/csta-call.hex
//  decode to the expected fields and re-encode byte for byte.
#include <errno.h>

#include "csta_test_util.h"

//  --- Values and comparisons ------------------------------------------------------------------

//  Bytes pointing at a string literal (outlives every encode call).
static csta_bytes_t s_bytes(const char *text)
{
    return (csta_bytes_t){(const uint8_t *) text, strlen(text)};
}

//  A connection with call id 00 <id> at device `dev` (NULL: callID form only).
static void s_conn(csta_conn_t *conn, uint8_t id, const char *dev)
{
    const uint8_t call_id[] = {0x00, id};
    csta_conn_set(conn, call_id, sizeof call_id, dev);
}

static void s_assert_device(const csta_device_t *want, const csta_device_t *got)
{
    assert_int_equal(got->kind, want->kind);
    assert_string_equal(got->digits, want->digits);
    assert_int_equal(got->number, want->number);
    assert_int_equal(got->ton, want->ton);
    assert_string_equal(got->private_number, want->private_number);
    assert_string_equal(got->name, want->name);
}

static void s_assert_conn(const csta_conn_t *want, const csta_conn_t *got)
{
    assert_int_equal(got->present, want->present);
    assert_int_equal(got->call_id_len, want->call_id_len);
    assert_memory_equal(got->call_id, want->call_id, want->call_id_len);
    s_assert_device(&want->device, &got->device);
}

static void s_assert_bytes(const csta_bytes_t *want, const csta_bytes_t *got)
{
    if (!want->data) {
        assert_null(got->data);
        return;
    }
    assert_non_null(got->data);
    assert_int_equal(got->len, want->len);
    assert_memory_equal(got->data, want->data, want->len);
}

static void s_assert_bits(const csta_bits_t *want, const csta_bits_t *got)
{
    assert_int_equal(got->present, want->present);
    assert_int_equal(got->len, want->len);
    assert_int_equal(got->unused, want->unused);
    assert_memory_equal(got->bytes, want->bytes, want->len);
}

static void s_assert_conn_list(const csta_conn_list_t *want, const csta_conn_list_t *got)
{
    assert_int_equal(got->present, want->present);
    assert_int_equal(got->count, want->count);
    for (size_t i = 0; i < want->count; i++) {
        s_assert_conn(&want->item[i].new_conn, &got->item[i].new_conn);
        s_assert_conn(&want->item[i].old_conn, &got->item[i].old_conn);
        s_assert_device(&want->item[i].endpoint, &got->item[i].endpoint);
    }
}

static void s_assert_ext(const csta_ext_t *want, const csta_ext_t *got)
{
    assert_int_equal(got->present, want->present);
    assert_int_equal(got->has_sequence_number, want->has_sequence_number);
    assert_int_equal(got->sequence_number, want->sequence_number);
    assert_string_equal(got->timestamp, want->timestamp);
    assert_int_equal(got->private_count, want->private_count);
    for (size_t i = 0; i < want->private_count; i++)
        s_assert_bytes(&want->private_data[i], &got->private_data[i]);
}

//  The ROSE envelope and the extensions, common to every operation.
static void s_assert_envelope(const csta_apdu_t *want, const csta_apdu_t *got)
{
    assert_int_equal(got->kind, want->kind);
    assert_int_equal(got->invoke_id, want->invoke_id);
    assert_int_equal(got->opcode, want->opcode);
    assert_int_equal(got->has_result, want->has_result);
    s_assert_ext(&want->ext, &got->ext);
}

static void s_invoke(csta_apdu_t *a, long invoke_id, int opcode)
{
    csta_apdu_init(a, CSTA_APDU_INVOKE);
    a->invoke_id = invoke_id;
    a->opcode = opcode;
}

static void s_result(csta_apdu_t *a, long invoke_id, int opcode)
{
    csta_apdu_init(a, CSTA_APDU_RESULT);
    a->invoke_id = invoke_id;
    a->opcode = opcode;
}

//  A private data element (CSTAPrivateData string form) for extension tests.
static const uint8_t s_private[] = {0x04, 0x02, 0xab, 0xcd};

typedef void (*s_build_fn)(csta_apdu_t *a);
typedef void (*s_check_fn)(const csta_apdu_t *want, const csta_apdu_t *got);

//  Build, encode, decode, compare field by field.
static void s_round_trip(s_build_fn build, s_check_fn check)
{
    csta_apdu_t want, got;
    build(&want);
    encode_and_decode(&want, &got);
    s_assert_envelope(&want, &got);
    check(&want, &got);
    csta_apdu_clear(&got);
}

//  Decode vector `name`, re-encode it byte for byte, compare with what `build` makes.
static void s_vector(const char *name, s_build_fn build, s_check_fn check)
{
    hexbuf_t buf;
    csta_apdu_t want, got;
    fixture("csta-call.hex", name, &buf);
    decode_and_reencode(&buf, &got);
    build(&want);
    s_assert_envelope(&want, &got);
    check(&want, &got);
    csta_apdu_clear(&got);
}

//  --- AlternateCall (1) ------------------------------------------------------------------------

static void s_build_alternate_call(csta_apdu_t *a)
{
    s_invoke(a, 1, CSTA_OP_ALTERNATE_CALL);
    csta_alternate_call_arg_t *c = &a->call.alternate_call;
    s_conn(&c->held_call, 0x2a, "201");
    s_conn(&c->active_call, 0x2b, "201");
    c->has_connection_reservation = true;
    c->connection_reservation = true;
    c->has_consult_options = true;
    c->consult_options = CSTA_CONSULT_TRANSFER_ONLY;
}

static void s_check_alternate_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_alternate_call_arg_t *w = &want->call.alternate_call, *g = &got->call.alternate_call;
    s_assert_conn(&w->held_call, &g->held_call);
    s_assert_conn(&w->active_call, &g->active_call);
    assert_int_equal(g->has_connection_reservation, w->has_connection_reservation);
    assert_int_equal(g->connection_reservation, w->connection_reservation);
    assert_int_equal(g->has_consult_options, w->has_consult_options);
    assert_int_equal(g->consult_options, w->consult_options);
}

//  --- AnswerCall (2) ---------------------------------------------------------------------------

static void s_build_answer_call(csta_apdu_t *a)
{
    s_invoke(a, 2, CSTA_OP_ANSWER_CALL);
    csta_answer_call_arg_t *c = &a->call.answer_call;
    s_conn(&c->call_to_be_answered, 0x2c, "202");
    c->correlator = s_bytes("corr-1");
    c->user_data = s_bytes("hello");
}

static void s_check_answer_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_answer_call_arg_t *w = &want->call.answer_call, *g = &got->call.answer_call;
    s_assert_conn(&w->call_to_be_answered, &g->call_to_be_answered);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
}

//  --- ClearCall (4) ----------------------------------------------------------------------------

static void s_build_clear_call(csta_apdu_t *a)
{
    s_invoke(a, 4, CSTA_OP_CLEAR_CALL);
    csta_clear_call_arg_t *c = &a->call.clear_call;
    s_conn(&c->call_to_be_cleared, 0x2a, NULL);     //  callID form: the whole call
    c->user_data = s_bytes("bye");
    c->reason = CSTA_CAUSE_NORMAL_CLEARING;
}

static void s_check_clear_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_clear_call_arg_t *w = &want->call.clear_call, *g = &got->call.clear_call;
    s_assert_conn(&w->call_to_be_cleared, &g->call_to_be_cleared);
    s_assert_bytes(&w->user_data, &g->user_data);
    assert_int_equal(g->reason, w->reason);
}

//  --- ClearConnection (5) ----------------------------------------------------------------------

static void s_build_clear_connection(csta_apdu_t *a)
{
    s_invoke(a, 5, CSTA_OP_CLEAR_CONNECTION);
    csta_clear_connection_arg_t *c = &a->call.clear_connection;
    s_conn(&c->connection, 0x2a, "201");
    c->correlator = s_bytes("cc");
    c->user_data = s_bytes("drop");
    c->reason = CSTA_CAUSE_BUSY;
}

static void s_check_clear_connection(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_clear_connection_arg_t *w = &want->call.clear_connection;
    const csta_clear_connection_arg_t *g = &got->call.clear_connection;
    s_assert_conn(&w->connection, &g->connection);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
    assert_int_equal(g->reason, w->reason);
}

//  --- ConferenceCall (6) -----------------------------------------------------------------------

static void s_build_conference_call(csta_apdu_t *a)
{
    s_invoke(a, 6, CSTA_OP_CONFERENCE_CALL);
    s_conn(&a->call.conference_call.held_call, 0x2a, "201");
    s_conn(&a->call.conference_call.active_call, 0x2b, "201");
}

static void s_check_conference_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.conference_call.held_call, &got->call.conference_call.held_call);
    s_assert_conn(&want->call.conference_call.active_call, &got->call.conference_call.active_call);
}

//  Three parties: 201 (the conferencing device), 202 from the held call, 203 from the
//  consultation call, all now on call 00 3a.
static void s_build_conference_call_res(csta_apdu_t *a)
{
    s_result(a, 6, CSTA_OP_CONFERENCE_CALL);
    csta_conference_call_res_t *c = &a->call.conference_call_res;
    s_conn(&c->conference_call, 0x3a, "201");
    c->connections.present = true;
    c->connections.count = 3;
    const char *party[] = {"201", "202", "203"};
    const uint8_t old_id[] = {0x2a, 0x2a, 0x2b};
    for (int i = 0; i < 3; i++) {
        s_conn(&c->connections.item[i].new_conn, 0x3a, party[i]);
        s_conn(&c->connections.item[i].old_conn, old_id[i], party[i]);
        csta_device_set(&c->connections.item[i].endpoint, party[i]);
    }
}

static void s_check_conference_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_conference_call_res_t *w = &want->call.conference_call_res;
    const csta_conference_call_res_t *g = &got->call.conference_call_res;
    s_assert_conn(&w->conference_call, &g->conference_call);
    s_assert_conn_list(&w->connections, &g->connections);
}

//  --- ConsultationCall (7) ---------------------------------------------------------------------

static void s_build_consultation_call(csta_apdu_t *a)
{
    s_invoke(a, 7, CSTA_OP_CONSULTATION_CALL);
    csta_consultation_call_arg_t *c = &a->call.consultation_call;
    s_conn(&c->existing_call, 0x2a, "201");
    csta_device_set(&c->consulted_device, "203");
    c->has_connection_reservation = true;
    c->connection_reservation = false;
    c->account_code = s_bytes("4711");
    c->auth_code = s_bytes("1234");
    c->correlator = s_bytes("c7");
    c->user_data = s_bytes("consult");
    csta_bits_set(&c->call_characteristics, CSTA_CALL_CHAR_PRIORITY, 1);
    c->has_consult_options = true;
    c->consult_options = CSTA_CONSULT_CONSULT_ONLY;
    c->subject_of_call = s_bytes("Offer");
    c->language_preferences = s_bytes("de");
}

static void s_check_consultation_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_consultation_call_arg_t *w = &want->call.consultation_call;
    const csta_consultation_call_arg_t *g = &got->call.consultation_call;
    s_assert_conn(&w->existing_call, &g->existing_call);
    s_assert_device(&w->consulted_device, &g->consulted_device);
    assert_int_equal(g->has_connection_reservation, w->has_connection_reservation);
    assert_int_equal(g->connection_reservation, w->connection_reservation);
    s_assert_bytes(&w->account_code, &g->account_code);
    s_assert_bytes(&w->auth_code, &g->auth_code);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
    s_assert_bits(&w->call_characteristics, &g->call_characteristics);
    assert_int_equal(g->has_consult_options, w->has_consult_options);
    assert_int_equal(g->consult_options, w->consult_options);
    s_assert_bytes(&w->subject_of_call, &g->subject_of_call);
    s_assert_bytes(&w->language_preferences, &g->language_preferences);
}

static void s_build_consultation_call_res(csta_apdu_t *a)
{
    s_result(a, 7, CSTA_OP_CONSULTATION_CALL);
    s_conn(&a->call.consultation_call_res.initiated_call, 0x2b, "201");
}

static void s_check_consultation_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.consultation_call_res.initiated_call,
                  &got->call.consultation_call_res.initiated_call);
}

//  --- HoldCall (9) -----------------------------------------------------------------------------

static void s_build_hold_call(csta_apdu_t *a)
{
    s_invoke(a, 9, CSTA_OP_HOLD_CALL);
    s_conn(&a->call.hold_call.call_to_be_held, 0x2a, "201");
    a->call.hold_call.has_connection_reservation = true;
    a->call.hold_call.connection_reservation = true;
}

static void s_check_hold_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_hold_call_arg_t *w = &want->call.hold_call, *g = &got->call.hold_call;
    s_assert_conn(&w->call_to_be_held, &g->call_to_be_held);
    assert_int_equal(g->has_connection_reservation, w->has_connection_reservation);
    assert_int_equal(g->connection_reservation, w->connection_reservation);
}

//  --- MakeCall (10) ----------------------------------------------------------------------------

static void s_build_make_call(csta_apdu_t *a)
{
    s_invoke(a, 10, CSTA_OP_MAKE_CALL);
    csta_make_call_arg_t *c = &a->call.make_call;
    csta_device_set(&c->calling, "201");
    csta_device_set(&c->called, "0123456789");
    c->account_code = s_bytes("99");
    c->auth_code = s_bytes("12");
    c->has_auto_originate = true;
    c->auto_originate = 1;      //  doNotPrompt
    c->correlator = s_bytes("mc");
    c->user_data = s_bytes("ud");
    csta_bits_set(&c->call_characteristics, CSTA_CALL_CHAR_ASSIST, 1);
    c->subject_of_call = s_bytes("Hi");
    c->language_preferences = s_bytes("en");
    c->has_reason = true;
    c->reason = CSTA_CAUSE_MAKE_CALL;
}

static void s_check_make_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_make_call_arg_t *w = &want->call.make_call, *g = &got->call.make_call;
    s_assert_device(&w->calling, &g->calling);
    s_assert_device(&w->called, &g->called);
    s_assert_bytes(&w->account_code, &g->account_code);
    s_assert_bytes(&w->auth_code, &g->auth_code);
    assert_int_equal(g->has_auto_originate, w->has_auto_originate);
    assert_int_equal(g->auto_originate, w->auto_originate);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
    s_assert_bits(&w->call_characteristics, &g->call_characteristics);
    s_assert_bytes(&w->subject_of_call, &g->subject_of_call);
    s_assert_bytes(&w->language_preferences, &g->language_preferences);
    assert_int_equal(g->has_reason, w->has_reason);
    assert_int_equal(g->reason, w->reason);
}

//  The result carries extensions too: a security sequence number and one private data
//  element.  (Not a timestamp: asn1c 0.9.28 rewrites a GeneralizedTime without "Z" as
//  UTC in the local time zone, so it would not re-encode byte for byte.)
static void s_build_make_call_res(csta_apdu_t *a)
{
    s_result(a, 10, CSTA_OP_MAKE_CALL);
    s_conn(&a->call.make_call_res.calling, 0x2a, "201");
    a->ext.present = true;
    a->ext.has_security = true;
    a->ext.has_sequence_number = true;
    a->ext.sequence_number = 7;
    a->ext.has_private = true;
    a->ext.private_count = 1;
    a->ext.private_data[0] = (csta_bytes_t){s_private, sizeof s_private};
}

static void s_check_make_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.make_call_res.calling, &got->call.make_call_res.calling);
}

//  --- ReconnectCall (13) -----------------------------------------------------------------------

static void s_build_reconnect_call(csta_apdu_t *a)
{
    s_invoke(a, 13, CSTA_OP_RECONNECT_CALL);
    s_conn(&a->call.reconnect_call.active_call, 0x2b, "201");
    s_conn(&a->call.reconnect_call.held_call, 0x2a, "201");
}

static void s_check_reconnect_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.reconnect_call.active_call, &got->call.reconnect_call.active_call);
    s_assert_conn(&want->call.reconnect_call.held_call, &got->call.reconnect_call.held_call);
}

//  --- RetrieveCall (14) ------------------------------------------------------------------------

//  The connection names its device by a dynamicID (LocalDeviceID [3]).
static void s_build_retrieve_call(csta_apdu_t *a)
{
    s_invoke(a, 14, CSTA_OP_RETRIEVE_CALL);
    csta_conn_t *conn = &a->call.retrieve_call.call_to_be_retrieved;
    s_conn(conn, 0x2a, NULL);
    conn->device.kind = CSTA_DEV_DYNAMIC;
    strcpy(conn->device.digits, "d1");
}

static void s_check_retrieve_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.retrieve_call.call_to_be_retrieved,
                  &got->call.retrieve_call.call_to_be_retrieved);
}

//  --- TransferCall (16) ------------------------------------------------------------------------

static void s_build_transfer_call(csta_apdu_t *a)
{
    s_invoke(a, 16, CSTA_OP_TRANSFER_CALL);
    s_conn(&a->call.transfer_call.held_call, 0x2a, "201");
    s_conn(&a->call.transfer_call.active_call, 0x2b, "201");
}

static void s_check_transfer_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.transfer_call.held_call, &got->call.transfer_call.held_call);
    s_assert_conn(&want->call.transfer_call.active_call, &got->call.transfer_call.active_call);
}

//  201 transferred 202 (held call 2a) to 203 (consultation call 2b): both remain on 2b.
static void s_build_transfer_call_res(csta_apdu_t *a)
{
    s_result(a, 16, CSTA_OP_TRANSFER_CALL);
    csta_transfer_call_res_t *c = &a->call.transfer_call_res;
    s_conn(&c->transferred_call, 0x2b, "202");
    c->connections.present = true;
    c->connections.count = 2;
    s_conn(&c->connections.item[0].new_conn, 0x2b, "202");
    s_conn(&c->connections.item[0].old_conn, 0x2a, "202");
    csta_device_set(&c->connections.item[0].endpoint, "202");
    s_conn(&c->connections.item[1].new_conn, 0x2b, "203");
    s_conn(&c->connections.item[1].old_conn, 0x2b, "203");
    c->connections.item[1].endpoint.kind = CSTA_DEV_RESTRICTED;
}

static void s_check_transfer_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_transfer_call_res_t *w = &want->call.transfer_call_res;
    const csta_transfer_call_res_t *g = &got->call.transfer_call_res;
    s_assert_conn(&w->transferred_call, &g->transferred_call);
    s_assert_conn_list(&w->connections, &g->connections);
}

//  --- SingleStepConference (20) ----------------------------------------------------------------

static void s_build_single_step_conference(csta_apdu_t *a)
{
    s_invoke(a, 20, CSTA_OP_SINGLE_STEP_CONFERENCE);
    csta_single_step_conference_arg_t *c = &a->call.single_step_conference;
    s_conn(&c->active_call, 0x2a, "201");
    csta_device_set(&c->device_to_join, "204");
    c->has_participation_type = true;
    c->participation_type = CSTA_PARTICIPATION_SILENT;
    c->account_code = s_bytes("77");
    c->auth_code = s_bytes("88");
    c->correlator = s_bytes("sc");
    c->user_data = s_bytes("join");
    c->subject_of_call = s_bytes("Conf");
    c->language_preferences = s_bytes("fr");
}

static void s_check_single_step_conference(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_single_step_conference_arg_t *w = &want->call.single_step_conference;
    const csta_single_step_conference_arg_t *g = &got->call.single_step_conference;
    s_assert_conn(&w->active_call, &g->active_call);
    s_assert_device(&w->device_to_join, &g->device_to_join);
    assert_int_equal(g->has_participation_type, w->has_participation_type);
    assert_int_equal(g->participation_type, w->participation_type);
    s_assert_bytes(&w->account_code, &g->account_code);
    s_assert_bytes(&w->auth_code, &g->auth_code);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
    s_assert_bytes(&w->subject_of_call, &g->subject_of_call);
    s_assert_bytes(&w->language_preferences, &g->language_preferences);
}

static void s_build_single_step_conference_res(csta_apdu_t *a)
{
    s_result(a, 20, CSTA_OP_SINGLE_STEP_CONFERENCE);
    s_conn(&a->call.single_step_conference_res.conferenced_call, 0x2a, "204");
}

static void s_check_single_step_conference_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.single_step_conference_res.conferenced_call,
                  &got->call.single_step_conference_res.conferenced_call);
}

//  --- SingleStepTransfer (50) ------------------------------------------------------------------

static void s_build_single_step_transfer(csta_apdu_t *a)
{
    s_invoke(a, 50, CSTA_OP_SINGLE_STEP_TRANSFER);
    csta_single_step_transfer_arg_t *c = &a->call.single_step_transfer;
    s_conn(&c->active_call, 0x2a, "201");
    csta_device_set(&c->transferred_to, "205");
    c->account_code = s_bytes("55");
    c->auth_code = s_bytes("66");
    c->correlator = s_bytes("st");
    c->user_data = s_bytes("xfer");
    csta_bits_set(&c->call_characteristics, CSTA_CALL_CHAR_HIGH_PRIORITY, 2);
    c->subject_of_call = s_bytes("Sales");
    c->language_preferences = s_bytes("es");
    c->reason = CSTA_CAUSE_SINGLE_STEP_TRANSFER;
}

static void s_check_single_step_transfer(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_single_step_transfer_arg_t *w = &want->call.single_step_transfer;
    const csta_single_step_transfer_arg_t *g = &got->call.single_step_transfer;
    s_assert_conn(&w->active_call, &g->active_call);
    s_assert_device(&w->transferred_to, &g->transferred_to);
    s_assert_bytes(&w->account_code, &g->account_code);
    s_assert_bytes(&w->auth_code, &g->auth_code);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
    s_assert_bits(&w->call_characteristics, &g->call_characteristics);
    s_assert_bytes(&w->subject_of_call, &g->subject_of_call);
    s_assert_bytes(&w->language_preferences, &g->language_preferences);
    assert_int_equal(g->reason, w->reason);
}

static void s_build_single_step_transfer_res(csta_apdu_t *a)
{
    s_result(a, 50, CSTA_OP_SINGLE_STEP_TRANSFER);
    csta_single_step_transfer_res_t *c = &a->call.single_step_transfer_res;
    s_conn(&c->transferred_call, 0x2c, "205");
    c->connections.present = true;
    c->connections.count = 1;
    s_conn(&c->connections.item[0].new_conn, 0x2c, "205");
    s_conn(&c->connections.item[0].old_conn, 0x2a, "202");
}

static void s_check_single_step_transfer_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_single_step_transfer_res_t *w = &want->call.single_step_transfer_res;
    const csta_single_step_transfer_res_t *g = &got->call.single_step_transfer_res;
    s_assert_conn(&w->transferred_call, &g->transferred_call);
    s_assert_conn_list(&w->connections, &g->connections);
}

//  --- AcceptCall (214) -------------------------------------------------------------------------

static void s_build_accept_call(csta_apdu_t *a)
{
    s_invoke(a, 214, CSTA_OP_ACCEPT_CALL);
    csta_accept_call_arg_t *c = &a->call.accept_call;
    s_conn(&c->call_to_be_accepted, 0x2a, "201");
    c->correlator = s_bytes("ac");
    c->user_data = s_bytes("ok");
}

static void s_check_accept_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_accept_call_arg_t *w = &want->call.accept_call, *g = &got->call.accept_call;
    s_assert_conn(&w->call_to_be_accepted, &g->call_to_be_accepted);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
}

//  --- CallBack, call-related (215) -------------------------------------------------------------

static void s_build_call_back(csta_apdu_t *a)
{
    s_invoke(a, 215, CSTA_OP_CALL_BACK);
    csta_call_back_arg_t *c = &a->call.call_back;
    s_conn(&c->callback_connection, 0x2a, "201");
    csta_bits_set(&c->call_characteristics, CSTA_CALL_CHAR_ACD, 1);
    c->subject_of_call = s_bytes("cb");
    c->language_preferences = s_bytes("it");
}

static void s_check_call_back(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_call_back_arg_t *w = &want->call.call_back, *g = &got->call.call_back;
    s_assert_conn(&w->callback_connection, &g->callback_connection);
    s_assert_bits(&w->call_characteristics, &g->call_characteristics);
    s_assert_bytes(&w->subject_of_call, &g->subject_of_call);
    s_assert_bytes(&w->language_preferences, &g->language_preferences);
}

static void s_build_call_back_res(csta_apdu_t *a)
{
    s_result(a, 215, CSTA_OP_CALL_BACK);
    csta_device_set(&a->call.call_back_res.target_device, "206");
}

static void s_check_call_back_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_device(&want->call.call_back_res.target_device,
                    &got->call.call_back_res.target_device);
}

//  --- CampOnCall (217) -------------------------------------------------------------------------

static void s_build_camp_on_call(csta_apdu_t *a)
{
    s_invoke(a, 217, CSTA_OP_CAMP_ON_CALL);
    s_conn(&a->call.camp_on_call.campon_connection, 0x2a, "201");
}

static void s_check_camp_on_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.camp_on_call.campon_connection,
                  &got->call.camp_on_call.campon_connection);
}

//  --- DeflectCall (218) ------------------------------------------------------------------------

static void s_build_deflect_call(csta_apdu_t *a)
{
    s_invoke(a, 218, CSTA_OP_DEFLECT_CALL);
    csta_deflect_call_arg_t *c = &a->call.deflect_call;
    s_conn(&c->call_to_be_diverted, 0x2a, "201");
    csta_device_set(&c->new_destination, "207");
    c->has_add_new_destinations = true;
    c->add_new_destinations_count = 2;
    csta_device_set(&c->add_new_destinations[0], "208");
    csta_device_set_number(&c->add_new_destinations[1], 0x01110009);
    c->correlator = s_bytes("dc");
    c->user_data = s_bytes("away");
    csta_bits_set(&c->call_characteristics, CSTA_CALL_CHAR_PRIVATE, 1);
    c->subject_of_call = s_bytes("Fwd");
    c->language_preferences = s_bytes("nl");
    c->reason = CSTA_CAUSE_REDIRECTED;
}

static void s_check_deflect_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_deflect_call_arg_t *w = &want->call.deflect_call, *g = &got->call.deflect_call;
    s_assert_conn(&w->call_to_be_diverted, &g->call_to_be_diverted);
    s_assert_device(&w->new_destination, &g->new_destination);
    assert_int_equal(g->has_add_new_destinations, w->has_add_new_destinations);
    assert_int_equal(g->add_new_destinations_count, w->add_new_destinations_count);
    for (size_t i = 0; i < w->add_new_destinations_count; i++)
        s_assert_device(&w->add_new_destinations[i], &g->add_new_destinations[i]);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
    s_assert_bits(&w->call_characteristics, &g->call_characteristics);
    s_assert_bytes(&w->subject_of_call, &g->subject_of_call);
    s_assert_bytes(&w->language_preferences, &g->language_preferences);
    assert_int_equal(g->reason, w->reason);
}

//  --- DialDigits (219) -------------------------------------------------------------------------

static void s_build_dial_digits(csta_apdu_t *a)
{
    s_invoke(a, 219, CSTA_OP_DIAL_DIGITS);
    csta_dial_digits_arg_t *c = &a->call.dial_digits;
    s_conn(&c->dialling_connection, 0x2a, "201");
    csta_device_set(&c->dialling_sequence, "0049891234");
    c->correlator = s_bytes("dd");
}

static void s_check_dial_digits(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_dial_digits_arg_t *w = &want->call.dial_digits, *g = &got->call.dial_digits;
    s_assert_conn(&w->dialling_connection, &g->dialling_connection);
    s_assert_device(&w->dialling_sequence, &g->dialling_sequence);
    s_assert_bytes(&w->correlator, &g->correlator);
}

//  --- DirectedPickupCall (220) -----------------------------------------------------------------

static void s_build_directed_pickup_call(csta_apdu_t *a)
{
    s_invoke(a, 220, CSTA_OP_DIRECTED_PICKUP_CALL);
    csta_directed_pickup_call_arg_t *c = &a->call.directed_pickup_call;
    s_conn(&c->call_to_be_picked_up, 0x2a, "202");
    csta_device_set(&c->requesting_device, "201");
    c->correlator = s_bytes("dp");
    c->user_data = s_bytes("mine");
}

static void s_check_directed_pickup_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_directed_pickup_call_arg_t *w = &want->call.directed_pickup_call;
    const csta_directed_pickup_call_arg_t *g = &got->call.directed_pickup_call;
    s_assert_conn(&w->call_to_be_picked_up, &g->call_to_be_picked_up);
    s_assert_device(&w->requesting_device, &g->requesting_device);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
}

static void s_build_directed_pickup_call_res(csta_apdu_t *a)
{
    s_result(a, 220, CSTA_OP_DIRECTED_PICKUP_CALL);
    s_conn(&a->call.directed_pickup_call_res.picked_call, 0x2a, "201");
}

static void s_check_directed_pickup_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.directed_pickup_call_res.picked_call,
                  &got->call.directed_pickup_call_res.picked_call);
}

//  --- GroupPickupCall (221) --------------------------------------------------------------------

static void s_build_group_pickup_call(csta_apdu_t *a)
{
    s_invoke(a, 221, CSTA_OP_GROUP_PICKUP_CALL);
    csta_group_pickup_call_arg_t *c = &a->call.group_pickup_call;
    csta_device_set(&c->new_destination, "201");
    csta_device_set(&c->pick_group, "600");
    c->correlator = s_bytes("gp");
    c->user_data = s_bytes("grab");
}

static void s_check_group_pickup_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_group_pickup_call_arg_t *w = &want->call.group_pickup_call;
    const csta_group_pickup_call_arg_t *g = &got->call.group_pickup_call;
    s_assert_device(&w->new_destination, &g->new_destination);
    s_assert_device(&w->pick_group, &g->pick_group);
    s_assert_bytes(&w->correlator, &g->correlator);
    s_assert_bytes(&w->user_data, &g->user_data);
}

static void s_build_group_pickup_call_res(csta_apdu_t *a)
{
    s_result(a, 221, CSTA_OP_GROUP_PICKUP_CALL);
    s_conn(&a->call.group_pickup_call_res.picked_call, 0x2d, "201");
}

static void s_check_group_pickup_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.group_pickup_call_res.picked_call,
                  &got->call.group_pickup_call_res.picked_call);
}

//  --- IntrudeCall (222) ------------------------------------------------------------------------

static void s_build_intrude_call(csta_apdu_t *a)
{
    s_invoke(a, 222, CSTA_OP_INTRUDE_CALL);
    csta_intrude_call_arg_t *c = &a->call.intrude_call;
    s_conn(&c->intrude, 0x2a, "202");
    c->has_participation_type = true;
    c->participation_type = CSTA_PARTICIPATION_ACTIVE;  //  the DEFAULT, sent explicitly
    c->user_data = s_bytes("urgent");
}

static void s_check_intrude_call(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_intrude_call_arg_t *w = &want->call.intrude_call, *g = &got->call.intrude_call;
    s_assert_conn(&w->intrude, &g->intrude);
    assert_int_equal(g->has_participation_type, w->has_participation_type);
    assert_int_equal(g->participation_type, w->participation_type);
    s_assert_bytes(&w->user_data, &g->user_data);
}

static void s_build_intrude_call_res(csta_apdu_t *a)
{
    s_result(a, 222, CSTA_OP_INTRUDE_CALL);
    s_conn(&a->call.intrude_call_res.conferenced_call, 0x2a, "201");
}

static void s_check_intrude_call_res(const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_assert_conn(&want->call.intrude_call_res.conferenced_call,
                  &got->call.intrude_call_res.conferenced_call);
}

//  --- GenerateDigits (232) ---------------------------------------------------------------------

static void s_build_generate_digits(csta_apdu_t *a)
{
    s_invoke(a, 232, CSTA_OP_GENERATE_DIGITS);
    csta_generate_digits_arg_t *c = &a->call.generate_digits;
    s_conn(&c->connection_to_send_digits, 0x2a, "201");
    c->has_digit_mode = true;
    c->digit_mode = CSTA_DIGIT_MODE_DTMF;
    strcpy(c->characters_to_send, "123#");
    c->has_tone_duration = true;
    c->tone_duration = 100;
    c->has_pulse_rate = true;
    c->pulse_rate = 10;
    c->has_pause_duration = true;
    c->pause_duration = 300;
}

static void s_check_generate_digits(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_generate_digits_arg_t *w = &want->call.generate_digits;
    const csta_generate_digits_arg_t *g = &got->call.generate_digits;
    s_assert_conn(&w->connection_to_send_digits, &g->connection_to_send_digits);
    assert_int_equal(g->has_digit_mode, w->has_digit_mode);
    assert_int_equal(g->digit_mode, w->digit_mode);
    assert_string_equal(g->characters_to_send, w->characters_to_send);
    assert_int_equal(g->has_tone_duration, w->has_tone_duration);
    assert_int_equal(g->tone_duration, w->tone_duration);
    assert_int_equal(g->has_pulse_rate, w->has_pulse_rate);
    assert_int_equal(g->pulse_rate, w->pulse_rate);
    assert_int_equal(g->has_pause_duration, w->has_pause_duration);
    assert_int_equal(g->pause_duration, w->pause_duration);
}

//  --- CallBackNonCallRelated (300) -------------------------------------------------------------

static void s_build_call_back_non_call_related(csta_apdu_t *a)
{
    s_invoke(a, 300, CSTA_OP_CALL_BACK_NON_CALL_RELATED);
    csta_device_set(&a->call.call_back_non_call_related.originating_device, "201");
    csta_device_set_number(&a->call.call_back_non_call_related.target_device, 0x01110005);
}

static void s_check_call_back_non_call_related(const csta_apdu_t *want, const csta_apdu_t *got)
{
    const csta_call_back_non_call_related_arg_t *w = &want->call.call_back_non_call_related;
    const csta_call_back_non_call_related_arg_t *g = &got->call.call_back_non_call_related;
    s_assert_device(&w->originating_device, &g->originating_device);
    s_assert_device(&w->target_device, &g->target_device);
}

//  --- Results of the form CHOICE { extensions, noData } ---------------------------------------

//  Each operation whose result is NoDataResult, with its vector name.
static const struct {
    int opcode;
    const char *vector;
} s_no_data_ops[] = {
    {CSTA_OP_ALTERNATE_CALL, "alternate_call_result"},
    {CSTA_OP_ANSWER_CALL, "answer_call_result"},
    {CSTA_OP_CLEAR_CALL, "clear_call_result"},
    {CSTA_OP_CLEAR_CONNECTION, "clear_connection_result"},
    {CSTA_OP_HOLD_CALL, "hold_call_result"},
    {CSTA_OP_RECONNECT_CALL, "reconnect_call_result"},
    {CSTA_OP_RETRIEVE_CALL, "retrieve_call_result"},
    {CSTA_OP_ACCEPT_CALL, "accept_call_result"},
    {CSTA_OP_CAMP_ON_CALL, "camp_on_call_result"},
    {CSTA_OP_DEFLECT_CALL, "deflect_call_result"},
    {CSTA_OP_DIAL_DIGITS, "dial_digits_result"},
    {CSTA_OP_GENERATE_DIGITS, "generate_digits_result"},
    {CSTA_OP_CALL_BACK_NON_CALL_RELATED, "call_back_non_call_related_result"},
};
#define S_NO_DATA_OPS (sizeof s_no_data_ops / sizeof s_no_data_ops[0])


//  --- Tests: invokes round trip ----------------------------------------------------------------

static void alternate_call_invoke_round_trips_reservation_and_consult_options(void **state)
{
    (void) state;
    s_round_trip(s_build_alternate_call, s_check_alternate_call);
}

static void answer_call_invoke_round_trips_correlator_and_user_data(void **state)
{
    (void) state;
    s_round_trip(s_build_answer_call, s_check_answer_call);
}

static void clear_call_invoke_round_trips_call_id_and_reason(void **state)
{
    (void) state;
    s_round_trip(s_build_clear_call, s_check_clear_call);
}

static void clear_connection_invoke_round_trips_correlator_user_data_and_reason(void **state)
{
    (void) state;
    s_round_trip(s_build_clear_connection, s_check_clear_connection);
}

static void conference_call_invoke_round_trips_held_and_active_call(void **state)
{
    (void) state;
    s_round_trip(s_build_conference_call, s_check_conference_call);
}

static void consultation_call_invoke_round_trips_consulted_device_and_options(void **state)
{
    (void) state;
    s_round_trip(s_build_consultation_call, s_check_consultation_call);
}

static void hold_call_invoke_round_trips_connection_reservation(void **state)
{
    (void) state;
    s_round_trip(s_build_hold_call, s_check_hold_call);
}

static void make_call_invoke_round_trips_every_modelled_field(void **state)
{
    (void) state;
    s_round_trip(s_build_make_call, s_check_make_call);
}

static void reconnect_call_invoke_round_trips_active_and_held_call(void **state)
{
    (void) state;
    s_round_trip(s_build_reconnect_call, s_check_reconnect_call);
}

static void retrieve_call_invoke_round_trips_dynamic_device_id(void **state)
{
    (void) state;
    s_round_trip(s_build_retrieve_call, s_check_retrieve_call);
}

static void transfer_call_invoke_round_trips_held_and_active_call(void **state)
{
    (void) state;
    s_round_trip(s_build_transfer_call, s_check_transfer_call);
}

static void single_step_conference_invoke_round_trips_joining_device_and_silence(void **state)
{
    (void) state;
    s_round_trip(s_build_single_step_conference, s_check_single_step_conference);
}

static void single_step_transfer_invoke_round_trips_transferred_to_and_reason(void **state)
{
    (void) state;
    s_round_trip(s_build_single_step_transfer, s_check_single_step_transfer);
}

static void accept_call_invoke_round_trips_correlator_and_user_data(void **state)
{
    (void) state;
    s_round_trip(s_build_accept_call, s_check_accept_call);
}

static void call_back_invoke_round_trips_connection_and_characteristics(void **state)
{
    (void) state;
    s_round_trip(s_build_call_back, s_check_call_back);
}

static void camp_on_call_invoke_round_trips_campon_connection(void **state)
{
    (void) state;
    s_round_trip(s_build_camp_on_call, s_check_camp_on_call);
}

static void deflect_call_invoke_round_trips_new_destination_and_list(void **state)
{
    (void) state;
    s_round_trip(s_build_deflect_call, s_check_deflect_call);
}

static void dial_digits_invoke_round_trips_dialling_sequence(void **state)
{
    (void) state;
    s_round_trip(s_build_dial_digits, s_check_dial_digits);
}

static void directed_pickup_call_invoke_round_trips_requesting_device(void **state)
{
    (void) state;
    s_round_trip(s_build_directed_pickup_call, s_check_directed_pickup_call);
}

static void group_pickup_call_invoke_round_trips_new_destination_and_pick_group(void **state)
{
    (void) state;
    s_round_trip(s_build_group_pickup_call, s_check_group_pickup_call);
}

static void intrude_call_invoke_round_trips_participation_and_user_data(void **state)
{
    (void) state;
    s_round_trip(s_build_intrude_call, s_check_intrude_call);
}

static void generate_digits_invoke_round_trips_digits_and_timing(void **state)
{
    (void) state;
    s_round_trip(s_build_generate_digits, s_check_generate_digits);
}

static void call_back_non_call_related_invoke_round_trips_both_devices(void **state)
{
    (void) state;
    s_round_trip(s_build_call_back_non_call_related, s_check_call_back_non_call_related);
}

//  --- Tests: results round trip ----------------------------------------------------------------

static void conference_call_result_round_trips_connection_list(void **state)
{
    (void) state;
    s_round_trip(s_build_conference_call_res, s_check_conference_call_res);
}

static void consultation_call_result_round_trips_initiated_call(void **state)
{
    (void) state;
    s_round_trip(s_build_consultation_call_res, s_check_consultation_call_res);
}

static void make_call_result_round_trips_calling_connection_and_extensions(void **state)
{
    (void) state;
    s_round_trip(s_build_make_call_res, s_check_make_call_res);
}

static void transfer_call_result_round_trips_connection_list(void **state)
{
    (void) state;
    s_round_trip(s_build_transfer_call_res, s_check_transfer_call_res);
}

static void single_step_conference_result_round_trips_conferenced_call(void **state)
{
    (void) state;
    s_round_trip(s_build_single_step_conference_res, s_check_single_step_conference_res);
}

static void single_step_transfer_result_round_trips_transferred_call_and_list(void **state)
{
    (void) state;
    s_round_trip(s_build_single_step_transfer_res, s_check_single_step_transfer_res);
}

static void call_back_result_round_trips_target_device(void **state)
{
    (void) state;
    s_round_trip(s_build_call_back_res, s_check_call_back_res);
}

static void directed_pickup_call_result_round_trips_picked_call(void **state)
{
    (void) state;
    s_round_trip(s_build_directed_pickup_call_res, s_check_directed_pickup_call_res);
}

static void group_pickup_call_result_round_trips_picked_call(void **state)
{
    (void) state;
    s_round_trip(s_build_group_pickup_call_res, s_check_group_pickup_call_res);
}

static void intrude_call_result_round_trips_conferenced_call(void **state)
{
    (void) state;
    s_round_trip(s_build_intrude_call_res, s_check_intrude_call_res);
}

static void no_data_results_round_trip_as_no_data(void **state)
{
    (void) state;
    for (size_t i = 0; i < S_NO_DATA_OPS; i++) {
        csta_apdu_t want, got;
        s_result(&want, (long) i + 1, s_no_data_ops[i].opcode);
        encode_and_decode(&want, &got);
        s_assert_envelope(&want, &got);
        assert_true(got.no_data);
        csta_apdu_clear(&got);
    }
}

static void no_data_results_round_trip_extensions_instead(void **state)
{
    (void) state;
    for (size_t i = 0; i < S_NO_DATA_OPS; i++) {
        csta_apdu_t want, got;
        s_result(&want, (long) i + 1, s_no_data_ops[i].opcode);
        want.ext.present = true;
        want.ext.has_private = true;
        want.ext.private_count = 1;
        want.ext.private_data[0] = (csta_bytes_t){s_private, sizeof s_private};
        encode_and_decode(&want, &got);
        s_assert_envelope(&want, &got);
        assert_false(got.no_data);
        csta_apdu_clear(&got);
    }
}

//  --- Tests: optional fields left out, DEFAULTs, limits ---------------------------------------

static void alternate_call_invoke_without_options_decodes_them_absent(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_build_alternate_call(&want);
    want.call.alternate_call.has_connection_reservation = false;
    want.call.alternate_call.has_consult_options = false;
    want.call.alternate_call.consult_options = 0;
    want.call.alternate_call.connection_reservation = false;
    encode_and_decode(&want, &got);
    s_check_alternate_call(&want, &got);
    csta_apdu_clear(&got);
}

static void consultation_call_invoke_with_only_mandatory_fields_round_trips(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_invoke(&want, 70, CSTA_OP_CONSULTATION_CALL);
    s_conn(&want.call.consultation_call.existing_call, 0x2a, "201");
    csta_device_set_number(&want.call.consultation_call.consulted_device, 0x01110007);
    encode_and_decode(&want, &got);
    s_check_consultation_call(&want, &got);
    assert_false(got.call.consultation_call.call_characteristics.present);
    assert_false(got.call.consultation_call.has_consult_options);
    csta_apdu_clear(&got);
}

static void intrude_call_invoke_without_participation_type_means_default(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_build_intrude_call(&want);
    want.call.intrude_call.has_participation_type = false;
    want.call.intrude_call.participation_type = 0;
    want.call.intrude_call.user_data = (csta_bytes_t){0};
    encode_and_decode(&want, &got);
    s_check_intrude_call(&want, &got);
    csta_apdu_clear(&got);
}

static void clear_call_invoke_without_reason_decodes_cause_absent(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_build_clear_call(&want);
    want.call.clear_call.reason = CSTA_CAUSE_ABSENT;
    want.call.clear_call.user_data = (csta_bytes_t){0};
    encode_and_decode(&want, &got);
    s_check_clear_call(&want, &got);
    csta_apdu_clear(&got);
}

static void deflect_call_invoke_with_empty_destination_list_keeps_the_list(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_build_deflect_call(&want);
    want.call.deflect_call.add_new_destinations_count = 0;
    encode_and_decode(&want, &got);
    s_check_deflect_call(&want, &got);
    csta_apdu_clear(&got);
}

static void deflect_call_invoke_with_too_many_destinations_is_refused(void **state)
{
    (void) state;
    csta_apdu_t a;
    s_build_deflect_call(&a);
    a.call.deflect_call.add_new_destinations_count = CSTA_DEFLECT_DESTINATIONS_MAX + 1;
    uint8_t out[CSTA_TEST_MAX];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
}

static void pickup_intrude_and_call_back_results_may_leave_everything_out(void **state)
{
    (void) state;
    const int ops[] = {CSTA_OP_DIRECTED_PICKUP_CALL, CSTA_OP_GROUP_PICKUP_CALL,
                       CSTA_OP_INTRUDE_CALL, CSTA_OP_CALL_BACK};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        csta_apdu_t want, got;
        s_result(&want, 9, ops[i]);     //  every member left absent: an empty SEQUENCE
        encode_and_decode(&want, &got);
        s_assert_envelope(&want, &got);
        switch (ops[i]) {
        case CSTA_OP_DIRECTED_PICKUP_CALL:
            assert_false(got.call.directed_pickup_call_res.picked_call.present);
            break;
        case CSTA_OP_GROUP_PICKUP_CALL:
            assert_false(got.call.group_pickup_call_res.picked_call.present);
            break;
        case CSTA_OP_INTRUDE_CALL:
            assert_false(got.call.intrude_call_res.conferenced_call.present);
            break;
        default:
            assert_int_equal(got.call.call_back_res.target_device.kind, CSTA_DEV_ABSENT);
            break;
        }
        csta_apdu_clear(&got);
    }
}

static void transfer_call_result_without_connections_decodes_list_absent(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_build_transfer_call_res(&want);
    memset(&want.call.transfer_call_res.connections, 0, sizeof(csta_conn_list_t));
    encode_and_decode(&want, &got);
    s_check_transfer_call_res(&want, &got);
    csta_apdu_clear(&got);
}

static void generate_digits_carries_64_characters_and_refuses_65(void **state)
{
    (void) state;
    csta_apdu_t want, got;
    s_build_generate_digits(&want);
    char *text = want.call.generate_digits.characters_to_send;
    memset(text, '1', CSTA_DIGITS_MAX);
    text[CSTA_DIGITS_MAX] = '\0';
    encode_and_decode(&want, &got);
    s_check_generate_digits(&want, &got);
    csta_apdu_clear(&got);

    //  The same invoke with 65 characters (hand-assembled vector): too long for ctim.
    hexbuf_t buf;
    fixture("csta-call.hex", "generate_digits_invoke_65_characters", &buf);
    assert_int_equal(csta_apdu_decode(&got, buf.bytes, buf.len), -EMSGSIZE);
}

//  --- Tests: hex vectors (tests/fixtures/csta-call.hex) ----------------------------------------

#define S_VECTOR_TEST(test, vector, fn)                                                      \
    static void test(void **state)                                                           \
    {                                                                                        \
        (void) state;                                                                        \
        s_vector(vector, s_build_##fn, s_check_##fn);                                        \
    }

S_VECTOR_TEST(alternate_call_invoke_vector_decodes_and_reencodes, "alternate_call_invoke",
              alternate_call)
S_VECTOR_TEST(answer_call_invoke_vector_decodes_and_reencodes, "answer_call_invoke", answer_call)
S_VECTOR_TEST(clear_call_invoke_vector_decodes_and_reencodes, "clear_call_invoke", clear_call)
S_VECTOR_TEST(clear_connection_invoke_vector_decodes_and_reencodes, "clear_connection_invoke",
              clear_connection)
S_VECTOR_TEST(conference_call_invoke_vector_decodes_and_reencodes, "conference_call_invoke",
              conference_call)
S_VECTOR_TEST(conference_call_result_vector_decodes_connection_list, "conference_call_result",
              conference_call_res)
S_VECTOR_TEST(consultation_call_invoke_vector_has_implicit_existing_call,
              "consultation_call_invoke", consultation_call)
S_VECTOR_TEST(consultation_call_result_vector_decodes_initiated_call, "consultation_call_result",
              consultation_call_res)
S_VECTOR_TEST(hold_call_invoke_vector_decodes_and_reencodes, "hold_call_invoke", hold_call)
S_VECTOR_TEST(make_call_invoke_vector_decodes_every_modelled_field, "make_call_invoke",
              make_call)
S_VECTOR_TEST(make_call_result_vector_decodes_extensions, "make_call_result", make_call_res)
S_VECTOR_TEST(reconnect_call_invoke_vector_decodes_and_reencodes, "reconnect_call_invoke",
              reconnect_call)
S_VECTOR_TEST(retrieve_call_invoke_vector_decodes_dynamic_device_id, "retrieve_call_invoke",
              retrieve_call)
S_VECTOR_TEST(transfer_call_invoke_vector_decodes_and_reencodes, "transfer_call_invoke",
              transfer_call)
S_VECTOR_TEST(transfer_call_result_vector_decodes_connection_list, "transfer_call_result",
              transfer_call_res)
S_VECTOR_TEST(single_step_conference_invoke_vector_decodes_and_reencodes,
              "single_step_conference_invoke", single_step_conference)
S_VECTOR_TEST(single_step_conference_result_vector_decodes_conferenced_call,
              "single_step_conference_result", single_step_conference_res)
S_VECTOR_TEST(single_step_transfer_invoke_vector_decodes_and_reencodes,
              "single_step_transfer_invoke", single_step_transfer)
S_VECTOR_TEST(single_step_transfer_result_vector_decodes_connection_list,
              "single_step_transfer_result", single_step_transfer_res)
S_VECTOR_TEST(accept_call_invoke_vector_decodes_and_reencodes, "accept_call_invoke", accept_call)
S_VECTOR_TEST(call_back_invoke_vector_decodes_and_reencodes, "call_back_invoke", call_back)
S_VECTOR_TEST(call_back_result_vector_decodes_target_device, "call_back_result", call_back_res)
S_VECTOR_TEST(camp_on_call_invoke_vector_decodes_and_reencodes, "camp_on_call_invoke",
              camp_on_call)
S_VECTOR_TEST(deflect_call_invoke_vector_decodes_destination_list, "deflect_call_invoke",
              deflect_call)
S_VECTOR_TEST(dial_digits_invoke_vector_decodes_and_reencodes, "dial_digits_invoke", dial_digits)
S_VECTOR_TEST(directed_pickup_call_invoke_vector_decodes_and_reencodes,
              "directed_pickup_call_invoke", directed_pickup_call)
S_VECTOR_TEST(directed_pickup_call_result_vector_decodes_picked_call,
              "directed_pickup_call_result", directed_pickup_call_res)
S_VECTOR_TEST(group_pickup_call_invoke_vector_decodes_and_reencodes, "group_pickup_call_invoke",
              group_pickup_call)
S_VECTOR_TEST(group_pickup_call_result_vector_decodes_picked_call, "group_pickup_call_result",
              group_pickup_call_res)
S_VECTOR_TEST(intrude_call_invoke_vector_keeps_explicit_default_participation,
              "intrude_call_invoke", intrude_call)
S_VECTOR_TEST(intrude_call_result_vector_decodes_conferenced_call, "intrude_call_result",
              intrude_call_res)
S_VECTOR_TEST(generate_digits_invoke_vector_decodes_and_reencodes, "generate_digits_invoke",
              generate_digits)
S_VECTOR_TEST(call_back_non_call_related_invoke_vector_decodes_and_reencodes,
              "call_back_non_call_related_invoke", call_back_non_call_related)

//  Fields ctim does not model are declared with their tags, so asn1c skips them and still
//  decodes the fields after them (asn1c drops every later field after an unknown one).
static void unmodelled_fields_are_skipped_and_later_fields_still_decode(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;

    fixture("csta-call.hex", "consultation_call_invoke_with_media_characteristics", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_string_equal(a.call.consultation_call.consulted_device.digits, "203");
    assert_true(a.call.consultation_call.has_consult_options);
    assert_int_equal(a.call.consultation_call.consult_options, CSTA_CONSULT_TRANSFER_ONLY);
    assert_int_equal(a.call.consultation_call.subject_of_call.len, 1);
    assert_memory_equal(a.call.consultation_call.subject_of_call.data, "x", 1);
    csta_apdu_clear(&a);

    fixture("csta-call.hex", "single_step_conference_result_with_call_info", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_string_equal(a.call.single_step_conference_res.conferenced_call.device.digits, "204");
    assert_true(a.ext.present);
    assert_int_equal(a.ext.private_count, 1);
    assert_memory_equal(a.ext.private_data[0].data, s_private, sizeof s_private);
    csta_apdu_clear(&a);

    fixture("csta-call.hex", "make_call_result_with_call_info_and_linkage", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_int_equal(a.call.make_call_res.calling.call_id[1], 0x2a);
    assert_true(a.ext.present);
    assert_int_equal(a.ext.private_count, 1);
    csta_apdu_clear(&a);
}

static void no_data_result_vectors_decode_as_no_data_and_reencode(void **state)
{
    (void) state;
    for (size_t i = 0; i < S_NO_DATA_OPS; i++) {
        hexbuf_t buf;
        csta_apdu_t a;
        fixture("csta-call.hex", s_no_data_ops[i].vector, &buf);
        decode_and_reencode(&buf, &a);
        assert_int_equal(a.kind, CSTA_APDU_RESULT);
        assert_true(a.has_result);
        assert_int_equal(a.opcode, s_no_data_ops[i].opcode);
        assert_true(a.no_data);
        assert_false(a.ext.present);
        csta_apdu_clear(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alternate_call_invoke_round_trips_reservation_and_consult_options),
        cmocka_unit_test(answer_call_invoke_round_trips_correlator_and_user_data),
        cmocka_unit_test(clear_call_invoke_round_trips_call_id_and_reason),
        cmocka_unit_test(clear_connection_invoke_round_trips_correlator_user_data_and_reason),
        cmocka_unit_test(conference_call_invoke_round_trips_held_and_active_call),
        cmocka_unit_test(consultation_call_invoke_round_trips_consulted_device_and_options),
        cmocka_unit_test(hold_call_invoke_round_trips_connection_reservation),
        cmocka_unit_test(make_call_invoke_round_trips_every_modelled_field),
        cmocka_unit_test(reconnect_call_invoke_round_trips_active_and_held_call),
        cmocka_unit_test(retrieve_call_invoke_round_trips_dynamic_device_id),
        cmocka_unit_test(transfer_call_invoke_round_trips_held_and_active_call),
        cmocka_unit_test(single_step_conference_invoke_round_trips_joining_device_and_silence),
        cmocka_unit_test(single_step_transfer_invoke_round_trips_transferred_to_and_reason),
        cmocka_unit_test(accept_call_invoke_round_trips_correlator_and_user_data),
        cmocka_unit_test(call_back_invoke_round_trips_connection_and_characteristics),
        cmocka_unit_test(camp_on_call_invoke_round_trips_campon_connection),
        cmocka_unit_test(deflect_call_invoke_round_trips_new_destination_and_list),
        cmocka_unit_test(dial_digits_invoke_round_trips_dialling_sequence),
        cmocka_unit_test(directed_pickup_call_invoke_round_trips_requesting_device),
        cmocka_unit_test(group_pickup_call_invoke_round_trips_new_destination_and_pick_group),
        cmocka_unit_test(intrude_call_invoke_round_trips_participation_and_user_data),
        cmocka_unit_test(generate_digits_invoke_round_trips_digits_and_timing),
        cmocka_unit_test(call_back_non_call_related_invoke_round_trips_both_devices),
        cmocka_unit_test(conference_call_result_round_trips_connection_list),
        cmocka_unit_test(consultation_call_result_round_trips_initiated_call),
        cmocka_unit_test(make_call_result_round_trips_calling_connection_and_extensions),
        cmocka_unit_test(transfer_call_result_round_trips_connection_list),
        cmocka_unit_test(single_step_conference_result_round_trips_conferenced_call),
        cmocka_unit_test(single_step_transfer_result_round_trips_transferred_call_and_list),
        cmocka_unit_test(call_back_result_round_trips_target_device),
        cmocka_unit_test(directed_pickup_call_result_round_trips_picked_call),
        cmocka_unit_test(group_pickup_call_result_round_trips_picked_call),
        cmocka_unit_test(intrude_call_result_round_trips_conferenced_call),
        cmocka_unit_test(no_data_results_round_trip_as_no_data),
        cmocka_unit_test(no_data_results_round_trip_extensions_instead),
        cmocka_unit_test(alternate_call_invoke_without_options_decodes_them_absent),
        cmocka_unit_test(consultation_call_invoke_with_only_mandatory_fields_round_trips),
        cmocka_unit_test(intrude_call_invoke_without_participation_type_means_default),
        cmocka_unit_test(clear_call_invoke_without_reason_decodes_cause_absent),
        cmocka_unit_test(deflect_call_invoke_with_empty_destination_list_keeps_the_list),
        cmocka_unit_test(deflect_call_invoke_with_too_many_destinations_is_refused),
        cmocka_unit_test(pickup_intrude_and_call_back_results_may_leave_everything_out),
        cmocka_unit_test(transfer_call_result_without_connections_decodes_list_absent),
        cmocka_unit_test(generate_digits_carries_64_characters_and_refuses_65),
        cmocka_unit_test(alternate_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(answer_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(clear_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(clear_connection_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(conference_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(conference_call_result_vector_decodes_connection_list),
        cmocka_unit_test(consultation_call_invoke_vector_has_implicit_existing_call),
        cmocka_unit_test(consultation_call_result_vector_decodes_initiated_call),
        cmocka_unit_test(hold_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(make_call_invoke_vector_decodes_every_modelled_field),
        cmocka_unit_test(make_call_result_vector_decodes_extensions),
        cmocka_unit_test(reconnect_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(retrieve_call_invoke_vector_decodes_dynamic_device_id),
        cmocka_unit_test(transfer_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(transfer_call_result_vector_decodes_connection_list),
        cmocka_unit_test(single_step_conference_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(single_step_conference_result_vector_decodes_conferenced_call),
        cmocka_unit_test(single_step_transfer_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(single_step_transfer_result_vector_decodes_connection_list),
        cmocka_unit_test(accept_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(call_back_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(call_back_result_vector_decodes_target_device),
        cmocka_unit_test(camp_on_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(deflect_call_invoke_vector_decodes_destination_list),
        cmocka_unit_test(dial_digits_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(directed_pickup_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(directed_pickup_call_result_vector_decodes_picked_call),
        cmocka_unit_test(group_pickup_call_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(group_pickup_call_result_vector_decodes_picked_call),
        cmocka_unit_test(intrude_call_invoke_vector_keeps_explicit_default_participation),
        cmocka_unit_test(intrude_call_result_vector_decodes_conferenced_call),
        cmocka_unit_test(generate_digits_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(call_back_non_call_related_invoke_vector_decodes_and_reencodes),
        cmocka_unit_test(no_data_result_vectors_decode_as_no_data_and_reencode),
        cmocka_unit_test(unmodelled_fields_are_skipped_and_later_fields_still_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
