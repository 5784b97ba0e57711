//  Golden vectors from real PBXs and hand-checked encodings: each decodes to the
//  expected fields and re-encodes byte for byte (ACSE, ROSE, and the core services).
#include "csta_test_util.h"

static void aarq_panasonic_decodes_context_and_version_five(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("aarq_panasonic", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_AARQ);
    assert_string_equal(a.acse.context, CSTA_ACN_CSTA3);
    assert_true(csta_bits_test(&a.acse.csta_version, CSTA_VERSION_FIVE));
    assert_false(csta_bits_test(&a.acse.csta_version, CSTA_VERSION_PHASE3_ED1));
    assert_false(a.acse.has_login);
    csta_apdu_clear(&a);
}

static void aare_panasonic_accepted_with_no_reason_diagnostic(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("aare_panasonic", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_AARE);
    assert_int_equal(a.acse.result, CSTA_AARE_ACCEPTED);
    assert_int_equal(a.acse.diag_source, CSTA_DIAG_SERVICE_USER);
    assert_int_equal(a.acse.diag, CSTA_DIAG_NO_REASON);
    assert_true(csta_bits_test(&a.acse.csta_version, CSTA_VERSION_FIVE));
    csta_apdu_clear(&a);
}

static void aarq_hipath_login_carries_user_and_password(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("aarq_hipath_login", &buf);
    decode_and_reencode(&buf, &a);
    assert_true(a.acse.has_login);
    assert_string_equal(a.acse.user, "AMHOST");
    assert_string_equal(a.acse.password, "77777");
    assert_true(csta_bits_test(&a.acse.acse_requirements, 0));
    csta_apdu_clear(&a);
}

static void release_and_abort_round_trip(void **state)
{
    (void) state;
    const char *names[] = {"rlrq_normal", "rlre_normal", "abrt_hipath"};
    const csta_apdu_kind_t kinds[] = {CSTA_APDU_RLRQ, CSTA_APDU_RLRE, CSTA_APDU_ABRT};
    for (int i = 0; i < 3; i++) {
        hexbuf_t buf;
        csta_apdu_t a;
        golden(names[i], &buf);
        decode_and_reencode(&buf, &a);
        assert_int_equal(a.kind, kinds[i]);
        csta_apdu_clear(&a);
    }
    hexbuf_t buf;
    csta_apdu_t a;
    golden("abrt_hipath", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_int_equal(a.acse.abort_source, 0);
    assert_true(a.acse.has_abort_diag);
    assert_int_equal(a.acse.abort_diag, CSTA_ABRT_NO_REASON);
}

static void built_aarq_matches_panasonic_bytes(void **state)
{
    (void) state;
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_AARQ);
    csta_bits_set(&a.acse.protocol_version, 0, 1);
    a.acse.protocol_version.unused = 7;
    strcpy(a.acse.context, CSTA_ACN_CSTA3);
    csta_bits_set(&a.acse.csta_version, CSTA_VERSION_FIVE, 2);
    uint8_t out[256];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), 0);
    hexbuf_t want;
    golden("aarq_panasonic", &want);
    assert_bytes_equal(out, n, want.bytes, want.len);
}

static void monitor_start_invoke_names_device_201(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("monitor_start_invoke", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.invoke_id, 1);
    assert_int_equal(a.opcode, CSTA_OP_MONITOR_START);
    assert_false(a.svc.monitor_start.object_is_call);
    assert_int_equal(a.svc.monitor_start.device.kind, CSTA_DEV_DIALING);
    assert_string_equal(a.svc.monitor_start.device.digits, "201");
    assert_false(a.svc.monitor_start.filter.present);
    csta_apdu_clear(&a);
}

static void monitor_start_by_device_number_keeps_empty_filter(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("monitor_start_device_number", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.svc.monitor_start.device.kind, CSTA_DEV_NUMBER);
    assert_int_equal(a.svc.monitor_start.device.number, 0x01110005);
    assert_true(a.svc.monitor_start.filter.present);
    assert_int_equal(a.svc.monitor_start.filter.sent, 0);
    csta_apdu_clear(&a);
}

static void monitor_start_result_carries_xref(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("monitor_start_result", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_true(a.has_result);
    assert_int_equal(a.opcode, CSTA_OP_MONITOR_START);
    const uint8_t xref[] = {0x00, 0x01};
    assert_int_equal(a.svc.monitor_start_res.xref.len, 2);
    assert_memory_equal(a.svc.monitor_start_res.xref.bytes, xref, 2);
    csta_apdu_clear(&a);
}

static void monitor_stop_invoke_carries_xref(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("monitor_stop_invoke", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.invoke_id, 7);
    assert_int_equal(a.opcode, CSTA_OP_MONITOR_STOP);
    assert_int_equal(a.svc.monitor_stop.xref.len, 2);
    assert_int_equal(a.svc.monitor_stop.xref.bytes[1], 1);
    csta_apdu_clear(&a);
}

static void make_call_invoke_and_result(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("make_call_invoke", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.opcode, CSTA_OP_MAKE_CALL);
    assert_string_equal(a.call.make_call.calling.digits, "201");
    assert_string_equal(a.call.make_call.called.digits, "0123456789");
    assert_false(a.call.make_call.has_auto_originate);
    csta_apdu_clear(&a);

    golden("make_call_result", &buf);
    decode_and_reencode(&buf, &a);
    const csta_conn_t *c = &a.call.make_call_res.calling;
    assert_int_equal(c->call_id_len, 2);
    assert_int_equal(c->call_id[0], 0x00);
    assert_int_equal(c->call_id[1], 0x2a);
    assert_string_equal(c->device.digits, "201");
    csta_apdu_clear(&a);
}

static void built_make_call_matches_golden(void **state)
{
    (void) state;
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 3;
    a.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&a.call.make_call.calling, "201");
    csta_device_set(&a.call.make_call.called, "0123456789");
    uint8_t out[256];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), 0);
    hexbuf_t want;
    golden("make_call_invoke", &want);
    assert_bytes_equal(out, n, want.bytes, want.len);
}

static void clear_connection_invoke_decodes_both_form(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("clear_connection_invoke", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.invoke_id, 8);
    assert_int_equal(a.opcode, CSTA_OP_CLEAR_CONNECTION);
    assert_int_equal(a.call.clear_connection.connection.call_id[1], 0x2a);
    assert_string_equal(a.call.clear_connection.connection.device.digits, "201");
    assert_int_equal(a.call.clear_connection.reason, CSTA_CAUSE_ABSENT);
    csta_apdu_clear(&a);
}

static void system_status_invoke_and_no_data_result(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("system_status_invoke", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_NORMAL);
    assert_int_equal(a.svc.system_status.register_id.len, 0);
    csta_apdu_clear(&a);

    golden("system_status_result", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_true(a.no_data);
    assert_false(a.ext.present);
    csta_apdu_clear(&a);
}

static void universal_failure_decodes_category_and_value(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("universal_failure_invalid_device", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_ERROR);
    assert_int_equal(a.invoke_id, 3);
    assert_int_equal(a.error.errcode, CSTA_ERRCODE_UNIVERSAL_FAILURE);
    assert_int_equal(a.error.category, CSTA_ERR_OPERATION);
    assert_int_equal(a.error.value, CSTA_OPERR_INVALID_DEVICE_ID);
    csta_apdu_clear(&a);
}

static void reject_and_empty_result_round_trip(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    golden("reject_unrecognized_operation", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_REJECT);
    assert_int_equal(a.invoke_id, 9);
    assert_int_equal(a.reject.kind, CSTA_REJECT_INVOKE);
    assert_int_equal(a.reject.problem, CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION);
    csta_apdu_clear(&a);

    golden("result_empty", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_false(a.has_result);
    assert_int_equal(a.invoke_id, 5);
    csta_apdu_clear(&a);
}

static void every_error_category_round_trips(void **state)
{
    (void) state;
    for (int cat = CSTA_ERR_OPERATION; cat <= CSTA_ERR_UNSPECIFIED; cat++) {
        csta_apdu_t a, back;
        csta_apdu_init(&a, CSTA_APDU_ERROR);
        a.invoke_id = 300 + cat;
        a.error.category = (csta_err_category_t) cat;
        a.error.value = cat == CSTA_ERR_UNSPECIFIED ? 0 : 1;
        encode_and_decode(&a, &back);
        assert_int_equal(back.kind, CSTA_APDU_ERROR);
        assert_int_equal(back.invoke_id, 300 + cat);
        assert_int_equal(back.error.category, cat);
        assert_int_equal(back.error.value, a.error.value);
        csta_apdu_clear(&back);
    }
}

static void invoke_ids_use_minimal_twos_complement(void **state)
{
    (void) state;
    const long ids[] = {0, 1, 127, 128, 255, 256, 32767, 32768, 65535, -1};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        csta_apdu_t a, back;
        csta_apdu_init(&a, CSTA_APDU_INVOKE);
        a.invoke_id = ids[i];
        a.opcode = CSTA_OP_SYSTEM_STATUS;
        a.svc.system_status.status = CSTA_SYS_NORMAL;
        encode_and_decode(&a, &back);
        assert_int_equal(back.invoke_id, ids[i]);
        csta_apdu_clear(&back);
    }
}

static void private_data_passes_through_unchanged(void **state)
{
    (void) state;
    //  MonitorStop with extensions carrying a string and a Panasonic KME element.
    const uint8_t kme[] = {0xa6, 0x03, 0x8a, 0x01, 0x02};
    const uint8_t str[] = {0x04, 0x02, 0xca, 0xfe};
    csta_apdu_t a, back;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 4;
    a.opcode = CSTA_OP_MONITOR_STOP;
    csta_xref_set(&a.svc.monitor_stop.xref, "\x00\x07", 2);
    a.ext.present = true;
    a.ext.private_count = 2;
    a.ext.private_data[0] = (csta_bytes_t){str, sizeof str};
    a.ext.private_data[1] = (csta_bytes_t){kme, sizeof kme};
    encode_and_decode(&a, &back);
    assert_true(back.ext.present);
    assert_int_equal(back.ext.private_count, 2);
    assert_int_equal(back.ext.private_data[0].len, sizeof str);
    assert_memory_equal(back.ext.private_data[0].data, str, sizeof str);
    assert_int_equal(back.ext.private_data[1].len, sizeof kme);
    assert_memory_equal(back.ext.private_data[1].data, kme, sizeof kme);
    csta_apdu_clear(&back);
}

static void security_timestamp_survives_any_time_zone(void **state)
{
    (void) state;
    //  asn1c's own GeneralizedTime encoder would rewrite a zone-less time into UTC.
    setenv("TZ", "America/New_York", 1);
    tzset();
    hexbuf_t buf;
    csta_apdu_t a;
    golden("monitor_stop_hipath_timestamp", &buf);
    decode_and_reencode(&buf, &a);
    assert_true(a.ext.present);
    assert_true(a.ext.has_security);
    assert_string_equal(a.ext.timestamp, "20261122120000");
    csta_apdu_clear(&a);
    unsetenv("TZ");
    tzset();
}

static void zero_cause_is_left_out(void **state)
{
    (void) state;
    //  A ClearConnection built from a zeroed APDU has reason 0, which is no EventCause.
    csta_apdu_t a, back;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 8;
    a.opcode = CSTA_OP_CLEAR_CONNECTION;
    csta_conn_set(&a.call.clear_connection.connection, (const uint8_t *) "\x00\x2a", 2, "201");
    uint8_t out[256];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), 0);
    hexbuf_t want;
    golden("clear_connection_invoke", &want);
    assert_bytes_equal(out, n, want.bytes, want.len);
    assert_int_equal(csta_apdu_decode(&back, out, n), 0);
    assert_int_equal(back.call.clear_connection.reason, CSTA_CAUSE_ABSENT);
    csta_apdu_clear(&back);
}

static void empty_octet_strings_encode(void **state)
{
    (void) state;
    //  A MonitorStop with an empty cross-reference: asn1c passes a NULL, zero-length chunk
    //  to the output sink, which must not reach memcpy (UBSan checks this).
    csta_apdu_t a, back;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;
    a.opcode = CSTA_OP_MONITOR_STOP;
    encode_and_decode(&a, &back);
    assert_int_equal(back.svc.monitor_stop.xref.len, 0);
    csta_apdu_clear(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aarq_panasonic_decodes_context_and_version_five),
        cmocka_unit_test(aare_panasonic_accepted_with_no_reason_diagnostic),
        cmocka_unit_test(aarq_hipath_login_carries_user_and_password),
        cmocka_unit_test(release_and_abort_round_trip),
        cmocka_unit_test(built_aarq_matches_panasonic_bytes),
        cmocka_unit_test(monitor_start_invoke_names_device_201),
        cmocka_unit_test(monitor_start_by_device_number_keeps_empty_filter),
        cmocka_unit_test(monitor_start_result_carries_xref),
        cmocka_unit_test(monitor_stop_invoke_carries_xref),
        cmocka_unit_test(make_call_invoke_and_result),
        cmocka_unit_test(built_make_call_matches_golden),
        cmocka_unit_test(clear_connection_invoke_decodes_both_form),
        cmocka_unit_test(system_status_invoke_and_no_data_result),
        cmocka_unit_test(universal_failure_decodes_category_and_value),
        cmocka_unit_test(reject_and_empty_result_round_trip),
        cmocka_unit_test(every_error_category_round_trips),
        cmocka_unit_test(invoke_ids_use_minimal_twos_complement),
        cmocka_unit_test(private_data_passes_through_unchanged),
        cmocka_unit_test(security_timestamp_survives_any_time_zone),
        cmocka_unit_test(zero_cause_is_left_out),
        cmocka_unit_test(empty_octet_strings_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
