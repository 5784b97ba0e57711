//  The SERVICES group of the CSTA codec: every operation's invoke and result built from
//  C values round-trips field by field, encodes to the vector in csta-service.hex, and
//  the vector decodes to the same fields and re-encodes byte for byte; plus the real
//  Panasonic, HiPath and Alcatel messages.
//  setenv, tzset: the time-zone test.
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "csta_test_util.h"

#define S_FIXTURES "csta-service.hex"

//  --- Values shared by the builders -----------------------------------------------------------

static const uint8_t s_call_2a[] = {0x00, 0x2a};
static const uint8_t s_call_2b[] = {0x00, 0x2b};
static const uint8_t s_private_string[] = {0x04, 0x02, 0xca, 0xfe};
//  Panasonic Escape GetSystemData privateData (csta-facts.md 5): kmeSystemData [4] ->
//  getSystemData [0] -> request.deviceList [4] -> category [1] -> standardDevice [0] ENUM 5.
static const uint8_t s_kme_get_system_data[] = {0xa4, 0x0b, 0xa0, 0x09, 0xa4, 0x07, 0xa1, 0x05,
                                                0xa0, 0x03, 0x0a, 0x01, 0x05};
//  A getSystemDataPosAck-shaped KME element: kmeSystemData [4] -> [4] -> crossRefID 00 11.
static const uint8_t s_kme_pos_ack[] = {0xa4, 0x06, 0xa4, 0x04, 0x04, 0x02, 0x00, 0x11};
static const uint8_t s_escape_string[] = {0x04, 0x03, 0x01, 0x02, 0x03};

static csta_bits_t s_bits(uint8_t len, uint8_t unused, uint8_t b0, uint8_t b1, uint8_t b2,
                          uint8_t b3)
{
    csta_bits_t b = {.present = true, .len = len, .unused = unused, .bytes = {b0, b1, b2, b3}};
    return b;
}

static csta_bytes_t s_text_bytes(const char *text)
{
    return (csta_bytes_t){(const uint8_t *) text, strlen(text)};
}

static void s_invoke(csta_apdu_t *a, long id, int opcode)
{
    csta_apdu_init(a, CSTA_APDU_INVOKE);
    a->invoke_id = id;
    a->opcode = opcode;
}

static void s_result(csta_apdu_t *a, long id, int opcode)
{
    csta_apdu_init(a, CSTA_APDU_RESULT);
    a->invoke_id = id;
    a->opcode = opcode;
}

static void s_ext_private(csta_apdu_t *a, const uint8_t *data, size_t len)
{
    a->ext.present = true;
    a->ext.has_private = true;
    a->ext.private_count = 1;
    a->ext.private_data[0] = (csta_bytes_t){data, len};
}

//  --- Field comparison -------------------------------------------------------------------------

static void s_cmp_bytes(const csta_bytes_t *want, const csta_bytes_t *got)
{
    assert_int_equal(want->data == NULL, got->data == NULL);
    assert_int_equal(want->len, got->len);
    if (want->len)
        assert_memory_equal(want->data, got->data, want->len);
}

static void s_cmp_bits(const csta_bits_t *want, const csta_bits_t *got)
{
    assert_int_equal(want->present, got->present);
    if (!want->present)
        return;
    assert_int_equal(want->len, got->len);
    assert_int_equal(want->unused, got->unused);
    assert_memory_equal(want->bytes, got->bytes, want->len);
}

static void s_cmp_device(const csta_device_t *want, const csta_device_t *got)
{
    assert_int_equal(want->kind, got->kind);
    assert_true(csta_device_equal(want, got));
    assert_string_equal(want->name, got->name);
    assert_string_equal(want->private_number, got->private_number);
}

static void s_cmp_conn(const csta_conn_t *want, const csta_conn_t *got)
{
    assert_int_equal(want->present, got->present);
    if (want->present)
        assert_true(csta_conn_equal(want, got));
}

static void s_cmp_xref(const csta_xref_t *want, const csta_xref_t *got)
{
    assert_true(csta_xref_equal(want, got));
}

static void s_cmp_opt_long(bool want_has, long want, bool got_has, long got)
{
    assert_int_equal(want_has, got_has);
    if (want_has)
        assert_int_equal(want, got);
}

#define S_CMP_OPT(w, g, field) s_cmp_opt_long((w)->has_##field, (w)->field, (g)->has_##field, (g)->field)

static void s_cmp_ext(const csta_ext_t *want, const csta_ext_t *got)
{
    assert_int_equal(want->present, got->present);
    assert_int_equal(want->private_count, got->private_count);
    for (size_t i = 0; i < want->private_count; i++)
        s_cmp_bytes(&want->private_data[i], &got->private_data[i]);
}

static void s_cmp_common(const csta_apdu_t *want, const csta_apdu_t *got)
{
    assert_int_equal(want->kind, got->kind);
    assert_int_equal(want->invoke_id, got->invoke_id);
    assert_int_equal(want->has_result, got->has_result);
    if (want->kind == CSTA_APDU_INVOKE || want->has_result)
        assert_int_equal(want->opcode, got->opcode);
    s_cmp_ext(&want->ext, &got->ext);
}

//  A result of the form CHOICE { extensions, noData }: noData unless extensions are set.
static void s_cmp_no_data(const csta_apdu_t *want, const csta_apdu_t *got)
{
    assert_int_equal(!want->ext.present, got->no_data);
}

static void s_cmp_filter(const csta_monitor_filter_t *want, const csta_monitor_filter_t *got)
{
    assert_int_equal(want->present, got->present);
    assert_int_equal(want->call_control, got->call_control);
    assert_int_equal(want->call_associated, got->call_associated);
    assert_int_equal(want->media_attachment, got->media_attachment);
    assert_int_equal(want->physical_device_feature, got->physical_device_feature);
    assert_int_equal(want->logical_device_feature, got->logical_device_feature);
    assert_int_equal(want->maintenance, got->maintenance);
    assert_int_equal(want->voice_unit, got->voice_unit);
    assert_int_equal(want->private_filter, got->private_filter);
}

static void s_cmp_services_permitted(const csta_services_permitted_t *want,
                                     const csta_services_permitted_t *got)
{
    assert_int_equal(want->present, got->present);
    if (!want->present)
        return;
    s_cmp_bits(&want->call_control_services, &got->call_control_services);
    s_cmp_bits(&want->call_associated_services, &got->call_associated_services);
    s_cmp_bits(&want->media_attachment_services, &got->media_attachment_services);
    s_cmp_bits(&want->routeing_services, &got->routeing_services);
    s_cmp_bits(&want->voice_unit_services, &got->voice_unit_services);
}

static void s_cmp_call_state(const csta_call_state_t *want, const csta_call_state_t *got)
{
    assert_int_equal(want->kind, got->kind);
    if (want->kind == CSTA_CALL_STATE_SIMPLE)
        assert_int_equal(want->simple, got->simple);
    assert_int_equal(want->compound_count, got->compound_count);
    for (size_t i = 0; i < want->compound_count; i++)
        assert_int_equal(want->compound[i], got->compound[i]);
}

static void s_cmp_snapshot_device_data(const csta_snapshot_device_data_t *want,
                                       const csta_snapshot_device_data_t *got)
{
    assert_int_equal(want->count, got->count);
    for (size_t i = 0; i < want->count; i++) {
        const csta_snapshot_device_item_t *w = &want->item[i], *g = &got->item[i];
        s_cmp_conn(&w->connection_identifier, &g->connection_identifier);
        s_cmp_device(&w->endpoint_device, &g->endpoint_device);
        s_cmp_call_state(&w->local_call_state, &g->local_call_state);
        s_cmp_services_permitted(&w->services_permitted, &g->services_permitted);
    }
}

static void s_cmp_device_ids(const csta_device_ids_t *want, const csta_device_ids_t *got)
{
    assert_int_equal(want->present, got->present);
    assert_int_equal(want->count, got->count);
    for (size_t i = 0; i < want->count; i++)
        s_cmp_device(&want->device[i], &got->device[i]);
}

//  --- MonitorStart (71) -------------------------------------------------------------------------

static void s_build_monitor_start_call(csta_apdu_t *a)
{
    s_invoke(a, 11, CSTA_OP_MONITOR_START);
    csta_monitor_start_arg_t *c = &a->svc.monitor_start;
    c->object_is_call = true;
    csta_conn_set(&c->call, s_call_2a, sizeof s_call_2a, "201");
    c->filter.present = true;
    c->filter.call_control = 1u << 3 | 1u << 5;    //  no delivered, no established
    c->has_monitor_type = true;
    c->monitor_type = 0;                            //  call
    c->media_class = s_bits(1, 3, 0x88, 0, 0, 0);   //  voice (0), audio (4)
}

static void s_cmp_monitor_start(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_monitor_start_arg_t *want = &w->svc.monitor_start, *got = &g->svc.monitor_start;
    assert_int_equal(want->object_is_call, got->object_is_call);
    if (want->object_is_call)
        s_cmp_conn(&want->call, &got->call);
    else
        s_cmp_device(&want->device, &got->device);
    s_cmp_filter(&want->filter, &got->filter);
    S_CMP_OPT(want, got, monitor_type);
    s_cmp_bits(&want->media_class, &got->media_class);
}

static void s_build_monitor_start_result(csta_apdu_t *a)
{
    s_result(a, 11, CSTA_OP_MONITOR_START);
    csta_monitor_start_res_t *c = &a->svc.monitor_start_res;
    csta_xref_set(&c->xref, "\x00\x01", 2);
    c->filter.present = true;
    c->filter.call_associated = 1u << 1;            //  no charging
    c->media_class = s_bits(1, 7, 0x80, 0, 0, 0);   //  voice
    c->has_monitor_existing_calls = true;
    c->monitor_existing_calls = true;
    s_ext_private(a, s_private_string, sizeof s_private_string);
}

static void s_cmp_monitor_start_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_monitor_start_res_t *want = &w->svc.monitor_start_res;
    const csta_monitor_start_res_t *got = &g->svc.monitor_start_res;
    s_cmp_xref(&want->xref, &got->xref);
    s_cmp_filter(&want->filter, &got->filter);
    s_cmp_bits(&want->media_class, &got->media_class);
    S_CMP_OPT(want, got, monitor_existing_calls);
}

//  --- ChangeMonitorFilter (72), MonitorStop (73) ---------------------------------------------------

static void s_build_change_monitor_filter(csta_apdu_t *a)
{
    s_invoke(a, 12, CSTA_OP_CHANGE_MONITOR_FILTER);
    csta_change_monitor_filter_arg_t *c = &a->svc.change_monitor_filter;
    csta_xref_set(&c->xref, "\x00\x01", 2);
    c->filter.present = true;
    c->filter.call_control = 1u << 0 | 1u << 2;     //  no callCleared, no connectionCleared
    c->filter.logical_device_feature = 1u << 11;    //  no doNotDisturb
}

static void s_cmp_change_monitor_filter(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.change_monitor_filter.xref, &g->svc.change_monitor_filter.xref);
    s_cmp_filter(&w->svc.change_monitor_filter.filter, &g->svc.change_monitor_filter.filter);
}

static void s_build_change_monitor_filter_result(csta_apdu_t *a)
{
    s_result(a, 12, CSTA_OP_CHANGE_MONITOR_FILTER);
    a->svc.change_monitor_filter_res.filter.present = true;
    a->svc.change_monitor_filter_res.filter.call_control = 1u << 0 | 1u << 2;
}

static void s_build_change_monitor_filter_result_empty(csta_apdu_t *a)
{
    s_result(a, 12, CSTA_OP_CHANGE_MONITOR_FILTER);
}

static void s_cmp_change_monitor_filter_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_filter(&w->svc.change_monitor_filter_res.filter,
                 &g->svc.change_monitor_filter_res.filter);
}

static void s_build_monitor_stop(csta_apdu_t *a)
{
    s_invoke(a, 7, CSTA_OP_MONITOR_STOP);
    csta_xref_set(&a->svc.monitor_stop.xref, "\x00\x01", 2);
}

static void s_cmp_monitor_stop(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.monitor_stop.xref, &g->svc.monitor_stop.xref);
}

static void s_build_monitor_stop_result(csta_apdu_t *a)
{
    s_result(a, 7, CSTA_OP_MONITOR_STOP);
}

//  --- SnapshotDevice (74), SnapshotCall (75), SnapshotDeviceData (77) ------------------------------

static csta_snapshot_device_item_t s_snapshot_items[2];

static void s_fill_snapshot_items(void)
{
    memset(s_snapshot_items, 0, sizeof s_snapshot_items);
    csta_snapshot_device_item_t *i0 = &s_snapshot_items[0], *i1 = &s_snapshot_items[1];
    csta_conn_set(&i0->connection_identifier, s_call_2a, sizeof s_call_2a, "201");
    i0->local_call_state.kind = CSTA_CALL_STATE_SIMPLE;
    i0->local_call_state.simple = CSTA_SCS_ESTABLISHED;
    i0->services_permitted.present = true;
    //  CallControlServices clearConnection (7), holdCall (14), transferCall (24): 25 bits.
    i0->services_permitted.call_control_services = s_bits(4, 7, 0x01, 0x02, 0x00, 0x80);
    i0->services_permitted.call_associated_services = s_bits(0, 0, 0, 0, 0, 0);
    i0->services_permitted.media_attachment_services = s_bits(0, 0, 0, 0, 0, 0);
    i0->services_permitted.routeing_services = s_bits(0, 0, 0, 0, 0, 0);
    i0->services_permitted.voice_unit_services = s_bits(0, 0, 0, 0, 0, 0);
    csta_conn_set(&i1->connection_identifier, s_call_2b, sizeof s_call_2b, "201");
    csta_device_set(&i1->endpoint_device, "202");
    i1->local_call_state.kind = CSTA_CALL_STATE_COMPOUND;
    i1->local_call_state.compound_count = 2;
    i1->local_call_state.compound[0] = CSTA_LCS_CONNECTED;
    i1->local_call_state.compound[1] = CSTA_LCS_ALERTING;
}

static void s_build_snapshot_device(csta_apdu_t *a)
{
    s_invoke(a, 13, CSTA_OP_SNAPSHOT_DEVICE);
    csta_device_set(&a->svc.snapshot_device.snapshot_object, "201");
}

static void s_cmp_snapshot_device(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_device(&w->svc.snapshot_device.snapshot_object, &g->svc.snapshot_device.snapshot_object);
}

static void s_build_snapshot_device_result_data(csta_apdu_t *a)
{
    s_result(a, 13, CSTA_OP_SNAPSHOT_DEVICE);
    s_fill_snapshot_items();
    a->svc.snapshot_device_res.snapshot_data.count = 2;
    a->svc.snapshot_device_res.snapshot_data.item = s_snapshot_items;
}

static void s_build_snapshot_device_result_xref(csta_apdu_t *a)
{
    s_result(a, 13, CSTA_OP_SNAPSHOT_DEVICE);
    a->svc.snapshot_device_res.is_xref = true;
    csta_xref_set(&a->svc.snapshot_device_res.service_xref, "\x00\x07", 2);
}

static void s_cmp_snapshot_device_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_snapshot_device_res_t *want = &w->svc.snapshot_device_res;
    const csta_snapshot_device_res_t *got = &g->svc.snapshot_device_res;
    assert_int_equal(want->is_xref, got->is_xref);
    if (want->is_xref)
        s_cmp_xref(&want->service_xref, &got->service_xref);
    s_cmp_snapshot_device_data(&want->snapshot_data, &got->snapshot_data);
}

static void s_build_snapshot_device_data(csta_apdu_t *a)
{
    s_invoke(a, 300, CSTA_OP_SNAPSHOT_DEVICE_DATA);
    csta_snapshot_device_data_arg_t *c = &a->svc.snapshot_device_data;
    csta_xref_set(&c->service_xref, "\x00\x07", 2);
    c->has_segment_id = true;
    c->segment_id = 1;
    c->last_segment = true;
    s_fill_snapshot_items();
    c->snapshot_data.count = 1;
    c->snapshot_data.item = &s_snapshot_items[1];
}

static void s_cmp_snapshot_device_data_arg(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_snapshot_device_data_arg_t *want = &w->svc.snapshot_device_data;
    const csta_snapshot_device_data_arg_t *got = &g->svc.snapshot_device_data;
    s_cmp_xref(&want->service_xref, &got->service_xref);
    S_CMP_OPT(want, got, segment_id);
    assert_int_equal(want->last_segment, got->last_segment);
    s_cmp_snapshot_device_data(&want->snapshot_data, &got->snapshot_data);
}

static csta_snapshot_call_item_t s_call_items[2];

static void s_build_snapshot_call(csta_apdu_t *a)
{
    s_invoke(a, 14, CSTA_OP_SNAPSHOT_CALL);
    csta_conn_set(&a->svc.snapshot_call.snapshot_object, s_call_2a, sizeof s_call_2a, NULL);
}

static void s_cmp_snapshot_call(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_conn(&w->svc.snapshot_call.snapshot_object, &g->svc.snapshot_call.snapshot_object);
}

static void s_build_snapshot_call_result_data(csta_apdu_t *a)
{
    s_result(a, 14, CSTA_OP_SNAPSHOT_CALL);
    memset(s_call_items, 0, sizeof s_call_items);
    csta_device_set(&s_call_items[0].device_on_call, "201");
    csta_conn_set(&s_call_items[0].call_identifier, s_call_2a, sizeof s_call_2a, "201");
    s_call_items[0].local_connection_state = CSTA_LCS_CONNECTED;
    csta_device_set(&s_call_items[1].device_on_call, "202");
    s_call_items[1].local_connection_state = CSTA_LCS_ALERTING;
    csta_snapshot_call_res_t *c = &a->svc.snapshot_call_res;
    c->snapshot_data.count = 2;
    c->snapshot_data.item = s_call_items;
    csta_device_set(&c->calling_device, "201");
    csta_device_set(&c->called_device, "202");
    c->correlator_data = s_text_bytes("ab");
    c->subject_of_call = s_text_bytes("Support");
    c->language_preferences = s_text_bytes("de");
}

static void s_build_snapshot_call_result_xref(csta_apdu_t *a)
{
    s_result(a, 14, CSTA_OP_SNAPSHOT_CALL);
    a->svc.snapshot_call_res.is_xref = true;
    csta_xref_set(&a->svc.snapshot_call_res.service_xref, "\x00\x08", 2);
}

static void s_cmp_snapshot_call_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_snapshot_call_res_t *want = &w->svc.snapshot_call_res;
    const csta_snapshot_call_res_t *got = &g->svc.snapshot_call_res;
    assert_int_equal(want->is_xref, got->is_xref);
    if (want->is_xref)
        s_cmp_xref(&want->service_xref, &got->service_xref);
    assert_int_equal(want->snapshot_data.count, got->snapshot_data.count);
    for (size_t i = 0; i < want->snapshot_data.count; i++) {
        const csta_snapshot_call_item_t *wi = &want->snapshot_data.item[i];
        const csta_snapshot_call_item_t *gi = &got->snapshot_data.item[i];
        s_cmp_device(&wi->device_on_call, &gi->device_on_call);
        s_cmp_conn(&wi->call_identifier, &gi->call_identifier);
        assert_int_equal(wi->local_connection_state, gi->local_connection_state);
        s_cmp_services_permitted(&wi->services_permitted, &gi->services_permitted);
    }
    s_cmp_bits(&want->call_characteristics, &got->call_characteristics);
    s_cmp_device(&want->calling_device, &got->calling_device);
    s_cmp_device(&want->called_device, &got->called_device);
    s_cmp_device(&want->associated_calling_device, &got->associated_calling_device);
    s_cmp_device(&want->associated_called_device, &got->associated_called_device);
    s_cmp_bytes(&want->correlator_data, &got->correlator_data);
    s_cmp_bytes(&want->subject_of_call, &got->subject_of_call);
    s_cmp_bytes(&want->language_preferences, &got->language_preferences);
}

//  --- Escape (51) -------------------------------------------------------------------------------

static void s_build_escape_panasonic(csta_apdu_t *a)
{
    s_invoke(a, 0x0602, CSTA_OP_ESCAPE);
    a->svc.escape.private_data = (csta_bytes_t){s_kme_get_system_data, sizeof s_kme_get_system_data};
}

static void s_build_escape_string(csta_apdu_t *a)
{
    s_invoke(a, 15, CSTA_OP_ESCAPE);
    csta_escape_arg_t *c = &a->svc.escape;
    c->escape_register_id = (csta_bytes_t){(const uint8_t *) "\x01", 1};
    c->has_security = true;
    c->has_sequence_number = true;
    c->sequence_number = 7;
    strcpy(c->timestamp, "20240102030405");    //  local time, no zone: kept as sent
    c->private_data = (csta_bytes_t){s_escape_string, sizeof s_escape_string};
}

static void s_cmp_escape(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_escape_arg_t *want = &w->svc.escape, *got = &g->svc.escape;
    s_cmp_bytes(&want->escape_register_id, &got->escape_register_id);
    assert_int_equal(want->has_security, got->has_security);
    S_CMP_OPT(want, got, sequence_number);
    assert_string_equal(want->timestamp, got->timestamp);
    s_cmp_bytes(&want->security_info, &got->security_info);
    s_cmp_bytes(&want->private_data, &got->private_data);
}

static void s_build_escape_result(csta_apdu_t *a)
{
    s_result(a, 15, CSTA_OP_ESCAPE);
}

static void s_build_escape_result_pos_ack(csta_apdu_t *a)
{
    s_result(a, 0x0602, CSTA_OP_ESCAPE);
    s_ext_private(a, s_kme_pos_ack, sizeof s_kme_pos_ack);
}

//  --- GetSwitchingFunctionDevices (204), SwitchingFunctionDevices (205) -------------------------------

static void s_build_get_sf_devices(csta_apdu_t *a)
{
    s_invoke(a, 16, CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES);
    a->svc.get_switching_function_devices.has_requested_device_category = true;
    a->svc.get_switching_function_devices.requested_device_category = CSTA_REQ_DEV_STATION;
}

static void s_cmp_get_sf_devices(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_get_switching_function_devices_arg_t *want = &w->svc.get_switching_function_devices;
    const csta_get_switching_function_devices_arg_t *got = &g->svc.get_switching_function_devices;
    s_cmp_device(&want->requested_device_id, &got->requested_device_id);
    S_CMP_OPT(want, got, requested_device_category);
}

static void s_build_get_sf_devices_result(csta_apdu_t *a)
{
    s_result(a, 16, CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES);
    csta_xref_set(&a->svc.get_switching_function_devices_res.service_xref, "\x00\x09", 2);
}

static void s_cmp_get_sf_devices_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.get_switching_function_devices_res.service_xref,
               &g->svc.get_switching_function_devices_res.service_xref);
}

static csta_device_list_item_t s_device_list[3];

static void s_build_sf_devices(csta_apdu_t *a)
{
    s_invoke(a, 301, CSTA_OP_SWITCHING_FUNCTION_DEVICES);
    memset(s_device_list, 0, sizeof s_device_list);
    csta_device_list_item_t *d0 = &s_device_list[0], *d1 = &s_device_list[1];
    csta_device_list_item_t *d2 = &s_device_list[2];
    csta_device_set_number(&d0->device_id, 0x01110005);        //  Panasonic EXT
    strcpy(d0->device_id.name, "Reception");
    d0->has_device_category = true;                             //  the default, sent anyway
    d0->device_category = CSTA_DEVCAT_STATION;
    d0->has_named_device_types = true;
    d0->named_device_types = CSTA_NAMED_STATION;
    d0->device_attributes = s_bits(1, 7, 0x80, 0, 0, 0);        //  mediaAccessDevice
    d0->has_device_model_name = true;
    strcpy(d0->device_model_name, "KX-T7636");
    csta_device_set(&d1->device_id, "202");
    strcpy(d1->device_id.name, "Sales");
    csta_device_set_number(&d2->device_id, 0x01310001);        //  Panasonic CO line
    d2->has_device_category = true;
    d2->device_category = CSTA_DEVCAT_NETWORK_INTERFACE;
    d2->has_named_device_types = true;
    d2->named_device_types = CSTA_NAMED_TRUNK;
    csta_device_set(&d2->nid_group, "9");
    csta_switching_function_devices_arg_t *c = &a->svc.switching_function_devices;
    csta_xref_set(&c->service_xref, "\x00\x09", 2);
    c->has_segment_id = true;
    c->segment_id = 1;
    c->last_segment = true;
    c->device_list.count = 3;
    c->device_list.item = s_device_list;
}

static void s_cmp_sf_devices(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_switching_function_devices_arg_t *want = &w->svc.switching_function_devices;
    const csta_switching_function_devices_arg_t *got = &g->svc.switching_function_devices;
    s_cmp_xref(&want->service_xref, &got->service_xref);
    S_CMP_OPT(want, got, segment_id);
    assert_int_equal(want->last_segment, got->last_segment);
    assert_int_equal(want->device_list.count, got->device_list.count);
    for (size_t i = 0; i < want->device_list.count; i++) {
        const csta_device_list_item_t *wi = &want->device_list.item[i];
        const csta_device_list_item_t *gi = &got->device_list.item[i];
        s_cmp_device(&wi->device_id, &gi->device_id);
        S_CMP_OPT(wi, gi, device_category);
        S_CMP_OPT(wi, gi, named_device_types);
        s_cmp_bits(&wi->device_attributes, &gi->device_attributes);
        assert_int_equal(wi->has_device_model_name, gi->has_device_model_name);
        assert_string_equal(wi->device_model_name, gi->device_model_name);
        s_cmp_device(&wi->nid_group, &gi->nid_group);
    }
}

//  The switch's SwitchingFunctionDevices is acknowledged by a ReturnResult without result.
static void s_build_sf_devices_ack(csta_apdu_t *a)
{
    csta_apdu_init(a, CSTA_APDU_RESULT);
    a->invoke_id = 301;
    a->has_result = false;
}

//  --- System registration and status (207..213) ------------------------------------------------

static void s_build_system_register(csta_apdu_t *a)
{
    s_invoke(a, 17, CSTA_OP_SYSTEM_REGISTER);
    //  systemStatus (0), switchingFunctionDevicesChanged (3); filter out initializing, enabled.
    a->svc.system_register.request_types = s_bits(1, 4, 0x90, 0, 0, 0);
    a->svc.system_register.requested_status_filter = s_bits(1, 6, 0xc0, 0, 0, 0);
}

static void s_cmp_system_register(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_bits(&w->svc.system_register.request_types, &g->svc.system_register.request_types);
    s_cmp_bits(&w->svc.system_register.requested_status_filter,
               &g->svc.system_register.requested_status_filter);
}

static void s_build_system_register_result(csta_apdu_t *a)
{
    s_result(a, 17, CSTA_OP_SYSTEM_REGISTER);
    csta_xref_set(&a->svc.system_register_res.register_id, "\x00\x01", 2);
    a->svc.system_register_res.actual_status_filter = s_bits(1, 6, 0xc0, 0, 0, 0);
}

static void s_cmp_system_register_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.system_register_res.register_id, &g->svc.system_register_res.register_id);
    s_cmp_bits(&w->svc.system_register_res.actual_status_filter,
               &g->svc.system_register_res.actual_status_filter);
}

static void s_build_system_register_abort(csta_apdu_t *a)
{
    s_invoke(a, 302, CSTA_OP_SYSTEM_REGISTER_ABORT);
    csta_xref_set(&a->svc.system_register_abort.register_id, "\x00\x01", 2);
}

static void s_cmp_system_register_abort(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.system_register_abort.register_id, &g->svc.system_register_abort.register_id);
}

static void s_build_system_register_cancel(csta_apdu_t *a)
{
    s_invoke(a, 18, CSTA_OP_SYSTEM_REGISTER_CANCEL);
    csta_xref_set(&a->svc.system_register_cancel.register_id, "\x00\x01", 2);
}

static void s_cmp_system_register_cancel(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.system_register_cancel.register_id,
               &g->svc.system_register_cancel.register_id);
}

static void s_build_system_register_cancel_result(csta_apdu_t *a)
{
    s_result(a, 18, CSTA_OP_SYSTEM_REGISTER_CANCEL);
}

static void s_build_request_system_status(csta_apdu_t *a)
{
    s_invoke(a, 19, CSTA_OP_REQUEST_SYSTEM_STATUS);
    csta_xref_set(&a->svc.request_system_status.register_id, "\x00\x01", 2);
}

static void s_build_request_system_status_empty(csta_apdu_t *a)
{
    s_invoke(a, 20, CSTA_OP_REQUEST_SYSTEM_STATUS);
}

static void s_cmp_request_system_status(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.request_system_status.register_id, &g->svc.request_system_status.register_id);
}

static void s_build_request_system_status_result(csta_apdu_t *a)
{
    s_result(a, 19, CSTA_OP_REQUEST_SYSTEM_STATUS);
    a->svc.request_system_status_res.status = CSTA_SYS_NORMAL;
}

static void s_cmp_request_system_status_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    assert_int_equal(w->svc.request_system_status_res.status,
                     g->svc.request_system_status_res.status);
}

static void s_build_system_status_registered(csta_apdu_t *a)
{
    s_invoke(a, 303, CSTA_OP_SYSTEM_STATUS);
    csta_xref_set(&a->svc.system_status.register_id, "\x00\x01", 2);
    a->svc.system_status.status = CSTA_SYS_OVERLOAD_IMMINENT;
}

static void s_cmp_system_status(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.system_status.register_id, &g->svc.system_status.register_id);
    assert_int_equal(w->svc.system_status.status, g->svc.system_status.status);
    assert_int_equal(w->svc.system_status.phase2_bare, g->svc.system_status.phase2_bare);
}

static void s_build_system_status_result(csta_apdu_t *a)
{
    s_result(a, 303, CSTA_OP_SYSTEM_STATUS);
}

//  Alcatel OXE keep-alive: Phase II opcode 52, the argument a bare ENUMERATED.
static void s_build_system_status_phase2_alcatel(csta_apdu_t *a)
{
    s_invoke(a, 0x0105, CSTA_OP_SYSTEM_STATUS_PHASE2);
    a->svc.system_status.phase2_bare = true;
    a->svc.system_status.status = CSTA_SYS_NORMAL;
}

static void s_build_system_status_phase2_result(csta_apdu_t *a)
{
    s_result(a, 0x0105, CSTA_OP_SYSTEM_STATUS_PHASE2);
}

//  A Phase III-style client (LinTcMon) sending the SEQUENCE on opcode 52.
static void s_build_system_status_phase2_sequence(csta_apdu_t *a)
{
    s_invoke(a, 1, CSTA_OP_SYSTEM_STATUS_PHASE2);
    a->svc.system_status.status = CSTA_SYS_NORMAL;
}

static void s_build_sf_devices_changed(csta_apdu_t *a)
{
    s_invoke(a, 304, CSTA_OP_SWITCHING_FUNCTION_DEVICES_CHANGED);
    csta_xref_set(&a->svc.switching_function_devices_changed.register_id, "\x00\x01", 2);
}

static void s_cmp_sf_devices_changed(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_xref(&w->svc.switching_function_devices_changed.register_id,
               &g->svc.switching_function_devices_changed.register_id);
}

static void s_build_sf_devices_changed_result(csta_apdu_t *a)
{
    s_result(a, 304, CSTA_OP_SWITCHING_FUNCTION_DEVICES_CHANGED);
}

//  --- SetDisplay (274), do-not-disturb (308, 316), forwarding (309, 317) -------------------------

static void s_build_set_display(csta_apdu_t *a)
{
    s_invoke(a, 21, CSTA_OP_SET_DISPLAY);
    csta_set_display_arg_t *c = &a->svc.set_display;
    csta_device_set(&c->device, "201");
    c->has_physical_base_row_number = true;
    c->physical_base_row_number = 1;
    c->has_physical_base_column_number = true;
    c->physical_base_column_number = 0;
    strcpy(c->contents_of_display, "Hello 201");
    c->has_character_set = true;
    c->character_set = 0;   //  ascii
}

static void s_cmp_set_display(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_set_display_arg_t *want = &w->svc.set_display, *got = &g->svc.set_display;
    s_cmp_device(&want->device, &got->device);
    s_cmp_bytes(&want->display, &got->display);
    S_CMP_OPT(want, got, physical_base_row_number);
    S_CMP_OPT(want, got, physical_base_column_number);
    assert_string_equal(want->contents_of_display, got->contents_of_display);
    S_CMP_OPT(want, got, offset);
    S_CMP_OPT(want, got, character_set);
}

static void s_build_set_display_result(csta_apdu_t *a)
{
    s_result(a, 21, CSTA_OP_SET_DISPLAY);
}

static void s_build_get_dnd(csta_apdu_t *a)
{
    s_invoke(a, 22, CSTA_OP_GET_DO_NOT_DISTURB);
    csta_device_set(&a->svc.get_do_not_disturb.device, "201");
}

static void s_cmp_get_dnd(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_device(&w->svc.get_do_not_disturb.device, &g->svc.get_do_not_disturb.device);
}

static csta_device_t s_dnd_callers[1];

static void s_build_get_dnd_result(csta_apdu_t *a)
{
    s_result(a, 22, CSTA_OP_GET_DO_NOT_DISTURB);
    csta_get_do_not_disturb_res_t *c = &a->svc.get_do_not_disturb_res;
    c->do_not_disturb_on = true;
    c->call_origination = s_bits(1, 6, 0x40, 0, 0, 0);     //  external
    memset(s_dnd_callers, 0, sizeof s_dnd_callers);
    csta_device_set(&s_dnd_callers[0], "0123456789");
    c->calling_device_list.present = true;
    c->calling_device_list.count = 1;
    c->calling_device_list.device = s_dnd_callers;
}

static void s_cmp_get_dnd_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_get_do_not_disturb_res_t *want = &w->svc.get_do_not_disturb_res;
    const csta_get_do_not_disturb_res_t *got = &g->svc.get_do_not_disturb_res;
    assert_int_equal(want->do_not_disturb_on, got->do_not_disturb_on);
    s_cmp_bits(&want->call_origination, &got->call_origination);
    s_cmp_device_ids(&want->calling_device_list, &got->calling_device_list);
}

static void s_build_set_dnd(csta_apdu_t *a)
{
    s_invoke(a, 23, CSTA_OP_SET_DO_NOT_DISTURB);
    csta_set_do_not_disturb_arg_t *c = &a->svc.set_do_not_disturb;
    csta_device_set(&c->device, "201");
    c->do_not_disturb_on = true;
    c->call_origination = s_bits(1, 6, 0xc0, 0, 0, 0);     //  internal and external
}

static void s_cmp_set_dnd(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_set_do_not_disturb_arg_t *want = &w->svc.set_do_not_disturb;
    const csta_set_do_not_disturb_arg_t *got = &g->svc.set_do_not_disturb;
    s_cmp_device(&want->device, &got->device);
    assert_int_equal(want->do_not_disturb_on, got->do_not_disturb_on);
    s_cmp_bits(&want->call_origination, &got->call_origination);
    s_cmp_device_ids(&want->calling_device_list, &got->calling_device_list);
}

static void s_build_set_dnd_result(csta_apdu_t *a)
{
    s_result(a, 23, CSTA_OP_SET_DO_NOT_DISTURB);
}

static void s_build_get_forwarding(csta_apdu_t *a)
{
    s_invoke(a, 24, CSTA_OP_GET_FORWARDING);
    csta_device_set(&a->svc.get_forwarding.device, "201");
}

static void s_cmp_get_forwarding(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_device(&w->svc.get_forwarding.device, &g->svc.get_forwarding.device);
}

static csta_forward_item_t s_forwards[3];

static void s_build_get_forwarding_result(csta_apdu_t *a)
{
    s_result(a, 24, CSTA_OP_GET_FORWARDING);
    memset(s_forwards, 0, sizeof s_forwards);
    s_forwards[0].has_forwarding_type = true;
    s_forwards[0].forwarding_type = CSTA_FWD_IMMEDIATE;
    s_forwards[0].forward_status = true;
    csta_device_set(&s_forwards[0].forward_dn, "0123456789");
    s_forwards[1].has_forwarding_type = true;
    s_forwards[1].forwarding_type = CSTA_FWD_BUSY;
    s_forwards[1].forward_status = false;
    s_forwards[2].has_forwarding_type = true;
    s_forwards[2].forwarding_type = CSTA_FWD_NO_ANS;
    s_forwards[2].forward_status = true;
    csta_device_set(&s_forwards[2].forward_dn, "202");
    s_forwards[2].has_forward_default = true;
    s_forwards[2].forward_default = 0;
    s_forwards[2].has_ring_duration = true;
    s_forwards[2].ring_duration = 20;
    s_forwards[2].has_ring_count = true;
    s_forwards[2].ring_count = 4;
    a->svc.get_forwarding_res.forwarding_list.count = 3;
    a->svc.get_forwarding_res.forwarding_list.item = s_forwards;
}

static void s_cmp_get_forwarding_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_forward_list_t *want = &w->svc.get_forwarding_res.forwarding_list;
    const csta_forward_list_t *got = &g->svc.get_forwarding_res.forwarding_list;
    assert_int_equal(want->count, got->count);
    for (size_t i = 0; i < want->count; i++) {
        const csta_forward_item_t *wi = &want->item[i], *gi = &got->item[i];
        S_CMP_OPT(wi, gi, forwarding_type);
        assert_int_equal(wi->forward_status, gi->forward_status);
        s_cmp_device(&wi->forward_dn, &gi->forward_dn);
        S_CMP_OPT(wi, gi, forward_default);
        S_CMP_OPT(wi, gi, ring_duration);
        S_CMP_OPT(wi, gi, ring_count);
    }
}

static void s_build_set_forwarding(csta_apdu_t *a)
{
    s_invoke(a, 25, CSTA_OP_SET_FORWARDING);
    csta_set_forwarding_arg_t *c = &a->svc.set_forwarding;
    csta_device_set(&c->device, "201");
    c->has_forwarding_type = true;
    c->forwarding_type = CSTA_FWD_NO_ANS;
    c->activate_forward = true;
    csta_device_set(&c->forward_dn, "202");
    c->has_ring_count = true;
    c->ring_count = 4;
    c->has_ring_duration = true;
    c->ring_duration = 20;
}

static void s_cmp_set_forwarding(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_set_forwarding_arg_t *want = &w->svc.set_forwarding;
    const csta_set_forwarding_arg_t *got = &g->svc.set_forwarding;
    s_cmp_device(&want->device, &got->device);
    S_CMP_OPT(want, got, forwarding_type);
    assert_int_equal(want->activate_forward, got->activate_forward);
    s_cmp_device(&want->forward_dn, &got->forward_dn);
    S_CMP_OPT(want, got, ring_count);
    S_CMP_OPT(want, got, ring_duration);
}

static void s_build_set_forwarding_result(csta_apdu_t *a)
{
    s_result(a, 25, CSTA_OP_SET_FORWARDING);
}

//  --- Call detail records (361, 363, 364) -----------------------------------------------------

static csta_cdr_record_t s_cdrs[2];

static void s_fill_cdrs(void)
{
    memset(s_cdrs, 0, sizeof s_cdrs);
    csta_cdr_record_t *r0 = &s_cdrs[0], *r1 = &s_cdrs[1];
    //  An answered outgoing call: 201 -> 0123456789, 330 s (Panasonic counts 0.1 s).
    r0->has_record_number = true;
    r0->record_number = 1;
    strcpy(r0->record_creation_time, "20240102101530");
    csta_device_set(&r0->calling_device, "201");
    csta_device_set(&r0->called_device, "0123456789");
    csta_device_set(&r0->charged_device, "201");
    csta_conn_set(&r0->recorded_call, s_call_2a, sizeof s_call_2a, "201");
    strcpy(r0->connection_start, "20240102101000");
    strcpy(r0->connection_end, "20240102101530");
    r0->has_connection_duration = true;
    r0->connection_duration = 3300;
    r0->charging_info.present = true;
    r0->charging_info.unit_count = 1;
    r0->charging_info.units[0].charging_units = 12;
    r0->charging_info.units[0].type_of_units = s_text_bytes("unit");
    r0->charging_info.type_of_charging_info = 1;   //  total
    r0->has_reason_for_term = true;
    r0->reason_for_term = CSTA_CDR_NORMAL_CLEARING;
    r0->account_info = s_text_bytes("4711");
    //  An unanswered incoming call, forwarded, charged to the operator, every other field.
    r1->has_record_number = true;
    r1->record_number = 2;
    strcpy(r1->record_creation_time, "20240102102000.5+0100");
    csta_device_set(&r1->calling_device, "0301234567");
    csta_device_set(&r1->called_device, "202");
    r1->associated_calling_device.kind = CSTA_DEV_NOT_KNOWN;
    csta_device_set(&r1->associated_called_device, "9");
    r1->network_calling_device.kind = CSTA_DEV_RESTRICTED;
    csta_device_set(&r1->network_called_device, "0301234");
    r1->call_characteristics = s_bits(1, 6, 0x40, 0, 0, 0);     //  priorityCall (1)
    csta_device_set(&r1->charged_device, "200");
    r1->charged_device_is_operator = true;
    r1->node_number.present = true;
    r1->node_number.has_area[0] = true;
    r1->node_number.area[0] = 1;
    r1->node_number.has_area[2] = true;
    r1->node_number.area[2] = 300;
    r1->has_tariff_table = true;
    r1->tariff_table = 2;
    r1->access_code = s_text_bytes("0");
    r1->has_carrier = true;
    r1->carrier = 1;
    r1->has_selected_route = true;
    r1->selected_route = 3;
    r1->has_billing_id = true;
    r1->billing_id = CSTA_BILLING_CALL_FORWARDING;
    r1->charging_info.present = true;
    r1->charging_info.is_currency = true;
    r1->charging_info.currency_type = s_text_bytes("EUR");
    r1->charging_info.currency_amount = 150;
    r1->charging_info.currency_multiplier = 1;     //  oneHundredth
    r1->charging_info.type_of_charging_info = 0;   //  subTotal
    r1->suppl_service_info = s_bits(1, 3, 0x08, 0, 0, 0);       //  callForwarding (4)
    r1->has_reason_for_term = true;
    r1->reason_for_term = CSTA_CDR_UNSUCCESSFUL_CALL_ATTEMPT;
    r1->auth_code = s_text_bytes("99");
    r1->has_device_category = true;
    r1->device_category = CSTA_DEVCAT_STATION;
    r1->has_named_device_types = true;
    r1->named_device_types = CSTA_NAMED_STATION;
    csta_device_set(&r1->operator_device, "200");
}

static void s_build_cdr_report(csta_apdu_t *a)
{
    s_invoke(a, 305, CSTA_OP_CDR_REPORT);
    s_fill_cdrs();
    csta_call_detail_records_report_arg_t *c = &a->svc.call_detail_records_report;
    c->cdr_xref = (csta_bytes_t){(const uint8_t *) "\x00\x03", 2};
    c->number_of_records_sent = 2;
    c->cdr_info.count = 2;
    c->cdr_info.item = s_cdrs;
    c->has_last_stored_cdr_report_sent = true;
    c->last_stored_cdr_report_sent = false;
}

static void s_cmp_charging(const csta_charging_info_t *want, const csta_charging_info_t *got)
{
    assert_int_equal(want->present, got->present);
    if (!want->present)
        return;
    assert_int_equal(want->is_currency, got->is_currency);
    assert_int_equal(want->type_of_charging_info, got->type_of_charging_info);
    assert_int_equal(want->unit_count, got->unit_count);
    for (size_t i = 0; i < want->unit_count; i++) {
        assert_int_equal(want->units[i].charging_units, got->units[i].charging_units);
        s_cmp_bytes(&want->units[i].type_of_units, &got->units[i].type_of_units);
    }
    if (want->is_currency) {
        s_cmp_bytes(&want->currency_type, &got->currency_type);
        assert_int_equal(want->currency_amount, got->currency_amount);
        assert_int_equal(want->currency_multiplier, got->currency_multiplier);
    }
}

static void s_cmp_cdr(const csta_cdr_record_t *w, const csta_cdr_record_t *g)
{
    S_CMP_OPT(w, g, record_number);
    assert_string_equal(w->record_creation_time, g->record_creation_time);
    s_cmp_device(&w->calling_device, &g->calling_device);
    s_cmp_device(&w->called_device, &g->called_device);
    s_cmp_device(&w->associated_calling_device, &g->associated_calling_device);
    s_cmp_device(&w->associated_called_device, &g->associated_called_device);
    s_cmp_device(&w->network_calling_device, &g->network_calling_device);
    s_cmp_device(&w->network_called_device, &g->network_called_device);
    s_cmp_bits(&w->call_characteristics, &g->call_characteristics);
    s_cmp_device(&w->charged_device, &g->charged_device);
    assert_int_equal(w->charged_device_is_operator, g->charged_device_is_operator);
    s_cmp_conn(&w->recorded_call, &g->recorded_call);
    assert_int_equal(w->node_number.present, g->node_number.present);
    for (int i = 0; i < 3; i++)
        s_cmp_opt_long(w->node_number.has_area[i], w->node_number.area[i],
                       g->node_number.has_area[i], g->node_number.area[i]);
    S_CMP_OPT(w, g, tariff_table);
    assert_string_equal(w->connection_start, g->connection_start);
    assert_string_equal(w->connection_end, g->connection_end);
    S_CMP_OPT(w, g, connection_duration);
    s_cmp_bytes(&w->access_code, &g->access_code);
    S_CMP_OPT(w, g, carrier);
    S_CMP_OPT(w, g, selected_route);
    S_CMP_OPT(w, g, billing_id);
    s_cmp_charging(&w->charging_info, &g->charging_info);
    s_cmp_bits(&w->suppl_service_info, &g->suppl_service_info);
    S_CMP_OPT(w, g, reason_for_term);
    s_cmp_bytes(&w->auth_code, &g->auth_code);
    s_cmp_bytes(&w->account_info, &g->account_info);
    S_CMP_OPT(w, g, device_category);
    S_CMP_OPT(w, g, named_device_types);
    s_cmp_device(&w->operator_device, &g->operator_device);
}

static void s_cmp_cdr_report(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_call_detail_records_report_arg_t *want = &w->svc.call_detail_records_report;
    const csta_call_detail_records_report_arg_t *got = &g->svc.call_detail_records_report;
    s_cmp_bytes(&want->cdr_xref, &got->cdr_xref);
    assert_int_equal(want->number_of_records_sent, got->number_of_records_sent);
    assert_int_equal(want->cdr_info.count, got->cdr_info.count);
    for (size_t i = 0; i < want->cdr_info.count; i++)
        s_cmp_cdr(&want->cdr_info.item[i], &got->cdr_info.item[i]);
    S_CMP_OPT(want, got, last_stored_cdr_report_sent);
}

static void s_build_cdr_report_result(csta_apdu_t *a)
{
    s_result(a, 305, CSTA_OP_CDR_REPORT);
}

static void s_build_start_cdr(csta_apdu_t *a)
{
    s_invoke(a, 26, CSTA_OP_START_CDR);
    a->svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
}

static void s_cmp_start_cdr(const csta_apdu_t *w, const csta_apdu_t *g)
{
    assert_int_equal(w->svc.start_call_detail_records_transmission.transfer_mode,
                     g->svc.start_call_detail_records_transmission.transfer_mode);
}

static void s_build_start_cdr_result(csta_apdu_t *a)
{
    s_result(a, 26, CSTA_OP_START_CDR);
    a->svc.start_call_detail_records_transmission_res.cdr_xref =
        (csta_bytes_t){(const uint8_t *) "\x00\x03", 2};
}

static void s_cmp_start_cdr_res(const csta_apdu_t *w, const csta_apdu_t *g)
{
    s_cmp_bytes(&w->svc.start_call_detail_records_transmission_res.cdr_xref,
                &g->svc.start_call_detail_records_transmission_res.cdr_xref);
}

static void s_build_stop_cdr(csta_apdu_t *a)
{
    s_invoke(a, 27, CSTA_OP_STOP_CDR);
    csta_stop_cdr_transmission_arg_t *c = &a->svc.stop_call_detail_records_transmission;
    c->cdr_xref = (csta_bytes_t){(const uint8_t *) "\x00\x03", 2};
    c->has_cdr_term_reason = true;
    c->cdr_term_reason = CSTA_CDR_END_OF_DATA;
}

static void s_cmp_stop_cdr(const csta_apdu_t *w, const csta_apdu_t *g)
{
    const csta_stop_cdr_transmission_arg_t *want = &w->svc.stop_call_detail_records_transmission;
    const csta_stop_cdr_transmission_arg_t *got = &g->svc.stop_call_detail_records_transmission;
    s_cmp_bytes(&want->cdr_xref, &got->cdr_xref);
    S_CMP_OPT(want, got, cdr_term_reason);
}

static void s_build_stop_cdr_result(csta_apdu_t *a)
{
    s_result(a, 27, CSTA_OP_STOP_CDR);
}

//  --- The vector table and its driver -----------------------------------------------------------

typedef struct {
    const char *name;                   //  vector name in csta-service.hex
    void (*build)(csta_apdu_t *a);
    void (*cmp)(const csta_apdu_t *want, const csta_apdu_t *got);
} s_vector_t;

static const s_vector_t s_vectors[] = {
    {"monitor_start_call_media", s_build_monitor_start_call, s_cmp_monitor_start},
    {"monitor_start_result_filter", s_build_monitor_start_result, s_cmp_monitor_start_res},
    {"change_monitor_filter_invoke", s_build_change_monitor_filter, s_cmp_change_monitor_filter},
    {"change_monitor_filter_result", s_build_change_monitor_filter_result,
     s_cmp_change_monitor_filter_res},
    {"change_monitor_filter_result_empty", s_build_change_monitor_filter_result_empty,
     s_cmp_change_monitor_filter_res},
    {"monitor_stop_invoke", s_build_monitor_stop, s_cmp_monitor_stop},
    {"monitor_stop_result", s_build_monitor_stop_result, s_cmp_no_data},
    {"snapshot_device_invoke", s_build_snapshot_device, s_cmp_snapshot_device},
    {"snapshot_device_result_data", s_build_snapshot_device_result_data, s_cmp_snapshot_device_res},
    {"snapshot_device_result_xref", s_build_snapshot_device_result_xref, s_cmp_snapshot_device_res},
    {"snapshot_device_data_invoke", s_build_snapshot_device_data, s_cmp_snapshot_device_data_arg},
    {"snapshot_call_invoke", s_build_snapshot_call, s_cmp_snapshot_call},
    {"snapshot_call_result_data", s_build_snapshot_call_result_data, s_cmp_snapshot_call_res},
    {"snapshot_call_result_xref", s_build_snapshot_call_result_xref, s_cmp_snapshot_call_res},
    {"escape_panasonic_get_system_data", s_build_escape_panasonic, s_cmp_escape},
    {"escape_string_with_security", s_build_escape_string, s_cmp_escape},
    {"escape_result", s_build_escape_result, s_cmp_no_data},
    {"escape_result_pos_ack", s_build_escape_result_pos_ack, s_cmp_no_data},
    {"get_sf_devices_invoke", s_build_get_sf_devices, s_cmp_get_sf_devices},
    {"get_sf_devices_result", s_build_get_sf_devices_result, s_cmp_get_sf_devices_res},
    {"sf_devices_invoke", s_build_sf_devices, s_cmp_sf_devices},
    {"sf_devices_ack", s_build_sf_devices_ack, NULL},
    {"system_register_invoke", s_build_system_register, s_cmp_system_register},
    {"system_register_result", s_build_system_register_result, s_cmp_system_register_res},
    {"system_register_abort_invoke", s_build_system_register_abort, s_cmp_system_register_abort},
    {"system_register_cancel_invoke", s_build_system_register_cancel,
     s_cmp_system_register_cancel},
    {"system_register_cancel_result", s_build_system_register_cancel_result, s_cmp_no_data},
    {"request_system_status_invoke", s_build_request_system_status, s_cmp_request_system_status},
    {"request_system_status_invoke_empty", s_build_request_system_status_empty,
     s_cmp_request_system_status},
    {"request_system_status_result", s_build_request_system_status_result,
     s_cmp_request_system_status_res},
    {"system_status_registered_invoke", s_build_system_status_registered, s_cmp_system_status},
    {"system_status_result", s_build_system_status_result, s_cmp_no_data},
    {"system_status_phase2_alcatel", s_build_system_status_phase2_alcatel, s_cmp_system_status},
    {"system_status_phase2_result", s_build_system_status_phase2_result, s_cmp_no_data},
    {"system_status_phase2_sequence", s_build_system_status_phase2_sequence, s_cmp_system_status},
    {"sf_devices_changed_invoke", s_build_sf_devices_changed, s_cmp_sf_devices_changed},
    {"sf_devices_changed_result", s_build_sf_devices_changed_result, s_cmp_no_data},
    {"set_display_invoke", s_build_set_display, s_cmp_set_display},
    {"set_display_result", s_build_set_display_result, s_cmp_no_data},
    {"get_dnd_invoke", s_build_get_dnd, s_cmp_get_dnd},
    {"get_dnd_result", s_build_get_dnd_result, s_cmp_get_dnd_res},
    {"set_dnd_invoke", s_build_set_dnd, s_cmp_set_dnd},
    {"set_dnd_result", s_build_set_dnd_result, s_cmp_no_data},
    {"get_forwarding_invoke", s_build_get_forwarding, s_cmp_get_forwarding},
    {"get_forwarding_result", s_build_get_forwarding_result, s_cmp_get_forwarding_res},
    {"set_forwarding_invoke", s_build_set_forwarding, s_cmp_set_forwarding},
    {"set_forwarding_result", s_build_set_forwarding_result, s_cmp_no_data},
    {"cdr_report_invoke", s_build_cdr_report, s_cmp_cdr_report},
    {"cdr_report_result", s_build_cdr_report_result, s_cmp_no_data},
    {"start_cdr_invoke", s_build_start_cdr, s_cmp_start_cdr},
    {"start_cdr_result", s_build_start_cdr_result, s_cmp_start_cdr_res},
    {"stop_cdr_invoke", s_build_stop_cdr, s_cmp_stop_cdr},
    {"stop_cdr_result", s_build_stop_cdr_result, s_cmp_no_data},
};

static const s_vector_t *s_vector(const char *name)
{
    for (size_t i = 0; i < sizeof s_vectors / sizeof s_vectors[0]; i++)
        if (strcmp(s_vectors[i].name, name) == 0)
            return &s_vectors[i];
    fail_msg("no vector %s in the table", name);
    return NULL;
}

static void s_cmp_all(const s_vector_t *v, const csta_apdu_t *want, const csta_apdu_t *got)
{
    s_cmp_common(want, got);
    if (v->cmp)
        v->cmp(want, got);
}

//  Build the message from C values; encode, decode and compare it field by field; check
//  that the encoding is the vector; decode the vector, compare, re-encode byte for byte.
static void s_run_vector(const char *name)
{
    const s_vector_t *v = s_vector(name);
    csta_apdu_t want, back, dec;
    v->build(&want);
    uint8_t out[CSTA_TEST_MAX];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(&want, out, sizeof out, &n), 0);
    assert_int_equal(csta_apdu_decode(&back, out, n), 0);
    s_cmp_all(v, &want, &back);
    csta_apdu_clear(&back);

    hexbuf_t vec;
    fixture(S_FIXTURES, name, &vec);
    assert_bytes_equal(out, n, vec.bytes, vec.len);
    decode_and_reencode(&vec, &dec);
    s_cmp_all(v, &want, &dec);
    csta_apdu_clear(&dec);
}

//  --- Tests: every operation ----------------------------------------------------------------------

static void monitor_start_by_call_with_filter_type_and_media_class_round_trips(void **state)
{
    (void) state;
    s_run_vector("monitor_start_call_media");
    s_run_vector("monitor_start_result_filter");
}

static void change_monitor_filter_invoke_and_results_round_trip(void **state)
{
    (void) state;
    s_run_vector("change_monitor_filter_invoke");
    s_run_vector("change_monitor_filter_result");
    s_run_vector("change_monitor_filter_result_empty");
}

static void monitor_stop_invoke_and_no_data_result_round_trip(void **state)
{
    (void) state;
    s_run_vector("monitor_stop_invoke");
    s_run_vector("monitor_stop_result");
}

static void snapshot_device_returns_items_or_a_cross_reference(void **state)
{
    (void) state;
    s_run_vector("snapshot_device_invoke");
    s_run_vector("snapshot_device_result_data");
    s_run_vector("snapshot_device_result_xref");
}

static void snapshot_device_data_segment_round_trips(void **state)
{
    (void) state;
    s_run_vector("snapshot_device_data_invoke");
}

static void snapshot_call_returns_devices_on_the_call_or_a_cross_reference(void **state)
{
    (void) state;
    s_run_vector("snapshot_call_invoke");
    s_run_vector("snapshot_call_result_data");
    s_run_vector("snapshot_call_result_xref");
}

static void escape_keeps_private_data_and_security_as_sent(void **state)
{
    (void) state;
    s_run_vector("escape_panasonic_get_system_data");
    s_run_vector("escape_string_with_security");
    s_run_vector("escape_result");
    s_run_vector("escape_result_pos_ack");
}

static void get_switching_function_devices_returns_a_cross_reference(void **state)
{
    (void) state;
    s_run_vector("get_sf_devices_invoke");
    s_run_vector("get_sf_devices_result");
}

static void switching_function_devices_carries_names_categories_and_is_acked_empty(void **state)
{
    (void) state;
    s_run_vector("sf_devices_invoke");
    s_run_vector("sf_devices_ack");
}

static void system_register_abort_and_cancel_round_trip(void **state)
{
    (void) state;
    s_run_vector("system_register_invoke");
    s_run_vector("system_register_result");
    s_run_vector("system_register_abort_invoke");
    s_run_vector("system_register_cancel_invoke");
    s_run_vector("system_register_cancel_result");
}

static void request_system_status_with_and_without_register_id_round_trips(void **state)
{
    (void) state;
    s_run_vector("request_system_status_invoke");
    s_run_vector("request_system_status_invoke_empty");
    s_run_vector("request_system_status_result");
}

static void system_status_with_register_id_round_trips(void **state)
{
    (void) state;
    s_run_vector("system_status_registered_invoke");
    s_run_vector("system_status_result");
}

static void switching_function_devices_changed_round_trips(void **state)
{
    (void) state;
    s_run_vector("sf_devices_changed_invoke");
    s_run_vector("sf_devices_changed_result");
}

static void set_display_round_trips(void **state)
{
    (void) state;
    s_run_vector("set_display_invoke");
    s_run_vector("set_display_result");
}

static void do_not_disturb_get_and_set_round_trip(void **state)
{
    (void) state;
    s_run_vector("get_dnd_invoke");
    s_run_vector("get_dnd_result");
    s_run_vector("set_dnd_invoke");
    s_run_vector("set_dnd_result");
}

static void forwarding_get_and_set_round_trip(void **state)
{
    (void) state;
    s_run_vector("get_forwarding_invoke");
    s_run_vector("get_forwarding_result");
    s_run_vector("set_forwarding_invoke");
    s_run_vector("set_forwarding_result");
}

static void cdr_report_carries_every_record_field_and_is_acked_with_no_data(void **state)
{
    (void) state;
    s_run_vector("cdr_report_invoke");
    s_run_vector("cdr_report_result");
}

static void cdr_transmission_start_and_stop_round_trip(void **state)
{
    (void) state;
    s_run_vector("start_cdr_invoke");
    s_run_vector("start_cdr_result");
    s_run_vector("stop_cdr_invoke");
    s_run_vector("stop_cdr_result");
}

//  --- Tests: real PBX messages and edge cases --------------------------------------------------------

static void panasonic_escape_get_system_data_decodes_and_reencodes(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    hex_parse("A1 16 02 02 06 02 02 01 33 30 0D A4 0B A0 09 A4 07 A1 05 A0 03 0A 01 05", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.invoke_id, 0x0602);
    assert_int_equal(a.opcode, CSTA_OP_ESCAPE);
    assert_null(a.svc.escape.escape_register_id.data);
    assert_false(a.svc.escape.has_security);
    assert_int_equal(a.svc.escape.private_data.len, sizeof s_kme_get_system_data);
    assert_memory_equal(a.svc.escape.private_data.data, s_kme_get_system_data,
                        sizeof s_kme_get_system_data);
    assert_string_equal(csta_op_name(a.opcode), "Escape");
    csta_apdu_clear(&a);
}

static void hipath_monitor_start_with_eight_zero_filters_reencodes_byte_for_byte(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture(S_FIXTURES, "monitor_start_hipath_all_filters", &buf);
    decode_and_reencode(&buf, &a);
    const csta_monitor_start_arg_t *c = &a.svc.monitor_start;
    assert_int_equal(a.opcode, CSTA_OP_MONITOR_START);
    assert_string_equal(c->device.digits, "201");
    assert_true(c->filter.present);
    //  All eight elements were sent, every bit zero ("report everything").
    const uint16_t all = 1u << 0 | 1u << 6 | 1u << 7 | 1u << 8 | 1u << 9 | 1u << 3 | 1u << 5 |
                         1u << 4;
    assert_int_equal(c->filter.sent, all);
    assert_int_equal(c->filter.call_control | c->filter.call_associated |
                         c->filter.media_attachment | c->filter.physical_device_feature |
                         c->filter.logical_device_feature | c->filter.maintenance |
                         c->filter.voice_unit | c->filter.private_filter,
                     0);
    //  callControl: three octets with 6 unused bits, i.e. the 18 bits HiPath uses.
    assert_int_equal(c->filter.wire_octets[0], 3);
    assert_int_equal(c->filter.wire_unused[0], 6);
    assert_false(c->has_monitor_type);
    assert_false(c->media_class.present);
    csta_apdu_clear(&a);
}

static void hipath_timestamp_in_extensions_reencodes_as_sent_in_any_time_zone(void **state)
{
    (void) state;
    //  MonitorStart result with HiPath's extensions {security {timestamp local time}}
    //  (7E 12 A0 10 18 0E YYYYMMDDhhmmss, csta-facts.md 2.2).
    const char *zones[] = {"UTC", "Europe/Berlin", "America/New_York"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        setenv("TZ", zones[i], 1);
        tzset();
        hexbuf_t buf;
        csta_apdu_t a;
        fixture(S_FIXTURES, "monitor_start_result_hipath_timestamp", &buf);
        decode_and_reencode(&buf, &a);
        assert_true(a.ext.has_security);
        assert_string_equal(a.ext.timestamp, "20240102030405");
        csta_apdu_clear(&a);
    }
    unsetenv("TZ");
    tzset();
}

static void alcatel_phase2_system_status_decodes_bare_enumerated(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture(S_FIXTURES, "system_status_phase2_alcatel", &buf);
    decode_and_reencode(&buf, &a);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS_PHASE2);
    assert_true(a.svc.system_status.phase2_bare);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_NORMAL);
    assert_string_equal(csta_op_name(a.opcode), "SystemStatusPhase2");
    csta_apdu_clear(&a);

    //  Alcatel always sends a 2-byte invoke id, also below 128 (02 02 00 05): it decodes;
    //  ctim's answer carries the minimal INTEGER 02 01 05 (DER), the same value.
    hex_parse("a1 0a 02 02 00 05 02 01 34 0a 01 02", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), 0);
    assert_int_equal(a.invoke_id, 5);
    assert_true(a.svc.system_status.phase2_bare);
    csta_apdu_clear(&a);

    //  The same opcode carrying the Phase III SEQUENCE decodes into the same struct.
    fixture(S_FIXTURES, "system_status_phase2_sequence", &buf);
    decode_and_reencode(&buf, &a);
    assert_false(a.svc.system_status.phase2_bare);
    assert_int_equal(a.svc.system_status.status, CSTA_SYS_NORMAL);
    csta_apdu_clear(&a);
}

static void phase2_bare_system_status_cannot_carry_extensions(void **state)
{
    (void) state;
    csta_apdu_t a;
    s_build_system_status_phase2_alcatel(&a);
    s_ext_private(&a, s_private_string, sizeof s_private_string);
    uint8_t out[64];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
}

static void operations_without_result_refuse_one(void **state)
{
    (void) state;
    const int ops[] = {CSTA_OP_SNAPSHOT_DEVICE_DATA, CSTA_OP_SYSTEM_REGISTER_ABORT,
                       CSTA_OP_SWITCHING_FUNCTION_DEVICES};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        csta_apdu_t a;
        s_result(&a, 9, ops[i]);
        uint8_t out[64];
        size_t n;
        assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);
    }
    //  A peer's result for SnapshotDeviceData (77, ALWAYS RESPONDS FALSE) is not decoded.
    hexbuf_t buf;
    csta_apdu_t a;
    hex_parse("a2 0a 02 01 09 30 05 02 01 4d 05 00", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), -ENOTSUP);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    csta_apdu_clear(&a);
}

static void escape_with_private_data_that_is_not_one_element_is_refused(void **state)
{
    (void) state;
    const uint8_t two[] = {0x04, 0x01, 0x00, 0x04, 0x01, 0x00};
    csta_apdu_t a;
    s_invoke(&a, 1, CSTA_OP_ESCAPE);
    uint8_t out[64];
    size_t n;
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);    //  missing
    a.svc.escape.private_data = (csta_bytes_t){two, sizeof two};
    assert_int_equal(csta_apdu_encode(&a, out, sizeof out, &n), -EINVAL);    //  two elements
}

static void escape_with_unknown_private_alternative_is_refused_not_altered(void **state)
{
    (void) state;
    //  privateData [14]: no CSTAPrivateData alternative, so its bytes cannot be kept.
    hexbuf_t buf;
    csta_apdu_t a;
    hex_parse("a1 0c 02 01 01 02 01 33 30 04 ae 02 05 00", &buf);
    assert_int_equal(csta_apdu_decode(&a, buf.bytes, buf.len), -EBADMSG);
    assert_null(a.arena);
}

static void truncated_cdr_report_is_rejected_without_leaks(void **state)
{
    (void) state;
    hexbuf_t buf;
    csta_apdu_t a;
    fixture(S_FIXTURES, "cdr_report_invoke", &buf);
    for (size_t cut = 1; cut < buf.len; cut += 7) {
        int rc = csta_apdu_decode(&a, buf.bytes, buf.len - cut);
        assert_int_equal(rc, -EBADMSG);
        assert_null(a.arena);
    }
}

//  Encode `a` into a heap buffer large enough for long lists, then decode it into *back.
static int s_encode_big_and_decode(const csta_apdu_t *a, csta_apdu_t *back)
{
    size_t cap = 1 << 17, n = 0;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(csta_apdu_encode(a, out, cap, &n), 0);
    int rc = csta_apdu_decode(back, out, n);
    free(out);
    return rc;
}

static void cdr_report_over_128_records_is_refused_on_decode(void **state)
{
    (void) state;
    csta_cdr_record_t *recs = calloc(CSTA_CDR_RECORDS_MAX + 1, sizeof *recs);
    assert_non_null(recs);
    for (size_t i = 0; i <= CSTA_CDR_RECORDS_MAX; i++)
        strcpy(recs[i].record_creation_time, "20240102101530");
    csta_apdu_t a, back;
    s_invoke(&a, 1, CSTA_OP_CDR_REPORT);
    a.svc.call_detail_records_report.number_of_records_sent = 128;
    a.svc.call_detail_records_report.cdr_info.item = recs;
    a.svc.call_detail_records_report.cdr_info.count = CSTA_CDR_RECORDS_MAX;
    assert_int_equal(s_encode_big_and_decode(&a, &back), 0);
    assert_int_equal(back.svc.call_detail_records_report.cdr_info.count, CSTA_CDR_RECORDS_MAX);
    //  cdr_xref was left NULL: it travels as an empty OCTET STRING.
    assert_int_equal(back.svc.call_detail_records_report.cdr_xref.len, 0);
    csta_apdu_clear(&back);
    a.svc.call_detail_records_report.cdr_info.count = CSTA_CDR_RECORDS_MAX + 1;
    assert_int_equal(s_encode_big_and_decode(&a, &back), -EMSGSIZE);
    assert_null(back.arena);
    free(recs);
}

static void device_list_longer_than_the_limit_is_refused_on_decode(void **state)
{
    (void) state;
    csta_device_t *devs = calloc(CSTA_LIST_MAX + 1, sizeof *devs);
    assert_non_null(devs);
    for (size_t i = 0; i <= CSTA_LIST_MAX; i++)
        csta_device_set(&devs[i], "1");
    csta_apdu_t a, back;
    s_result(&a, 1, CSTA_OP_GET_DO_NOT_DISTURB);
    a.svc.get_do_not_disturb_res.calling_device_list.present = true;
    a.svc.get_do_not_disturb_res.calling_device_list.device = devs;
    a.svc.get_do_not_disturb_res.calling_device_list.count = CSTA_LIST_MAX;
    assert_int_equal(s_encode_big_and_decode(&a, &back), 0);
    assert_int_equal(back.svc.get_do_not_disturb_res.calling_device_list.count, CSTA_LIST_MAX);
    csta_apdu_clear(&back);
    a.svc.get_do_not_disturb_res.calling_device_list.count = CSTA_LIST_MAX + 1;
    assert_int_equal(s_encode_big_and_decode(&a, &back), -EMSGSIZE);
    assert_null(back.arena);
    free(devs);
}

static void cdr_times_keep_local_time_and_fractions_as_sent(void **state)
{
    (void) state;
    csta_apdu_t a;
    hexbuf_t buf;
    fixture(S_FIXTURES, "cdr_report_invoke", &buf);
    decode_and_reencode(&buf, &a);
    const csta_cdr_record_t *r = a.svc.call_detail_records_report.cdr_info.item;
    assert_string_equal(r[0].record_creation_time, "20240102101530");
    assert_string_equal(r[1].record_creation_time, "20240102102000.5+0100");
    assert_string_equal(r[0].connection_end, "20240102101530");
    assert_int_equal(r[0].connection_duration, 3300);
    csta_apdu_clear(&a);
}

static void every_service_opcode_has_its_name(void **state)
{
    (void) state;
    const struct {
        int op;
        const char *name;
    } names[] = {
        {CSTA_OP_ESCAPE, "Escape"},
        {CSTA_OP_SYSTEM_STATUS_PHASE2, "SystemStatusPhase2"},
        {CSTA_OP_MONITOR_START, "MonitorStart"},
        {CSTA_OP_CHANGE_MONITOR_FILTER, "ChangeMonitorFilter"},
        {CSTA_OP_MONITOR_STOP, "MonitorStop"},
        {CSTA_OP_SNAPSHOT_DEVICE, "SnapshotDevice"},
        {CSTA_OP_SNAPSHOT_CALL, "SnapshotCall"},
        {CSTA_OP_SNAPSHOT_DEVICE_DATA, "SnapshotDeviceData"},
        {CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES, "GetSwitchingFunctionDevices"},
        {CSTA_OP_SWITCHING_FUNCTION_DEVICES, "SwitchingFunctionDevices"},
        {CSTA_OP_SYSTEM_REGISTER, "SystemRegister"},
        {CSTA_OP_SYSTEM_REGISTER_ABORT, "SystemRegisterAbort"},
        {CSTA_OP_SYSTEM_REGISTER_CANCEL, "SystemRegisterCancel"},
        {CSTA_OP_REQUEST_SYSTEM_STATUS, "RequestSystemStatus"},
        {CSTA_OP_SYSTEM_STATUS, "SystemStatus"},
        {CSTA_OP_SWITCHING_FUNCTION_DEVICES_CHANGED, "SwitchingFunctionDevicesChanged"},
        {CSTA_OP_SET_DISPLAY, "SetDisplay"},
        {CSTA_OP_GET_DO_NOT_DISTURB, "GetDoNotDisturb"},
        {CSTA_OP_GET_FORWARDING, "GetForwarding"},
        {CSTA_OP_SET_DO_NOT_DISTURB, "SetDoNotDisturb"},
        {CSTA_OP_SET_FORWARDING, "SetForwarding"},
        {CSTA_OP_CDR_REPORT, "CallDetailRecordsReport"},
        {CSTA_OP_START_CDR, "StartCallDetailRecordsTransmission"},
        {CSTA_OP_STOP_CDR, "StopCallDetailRecordsTransmission"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(csta_op_name(names[i].op), names[i].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(monitor_start_by_call_with_filter_type_and_media_class_round_trips),
        cmocka_unit_test(change_monitor_filter_invoke_and_results_round_trip),
        cmocka_unit_test(monitor_stop_invoke_and_no_data_result_round_trip),
        cmocka_unit_test(snapshot_device_returns_items_or_a_cross_reference),
        cmocka_unit_test(snapshot_device_data_segment_round_trips),
        cmocka_unit_test(snapshot_call_returns_devices_on_the_call_or_a_cross_reference),
        cmocka_unit_test(escape_keeps_private_data_and_security_as_sent),
        cmocka_unit_test(get_switching_function_devices_returns_a_cross_reference),
        cmocka_unit_test(switching_function_devices_carries_names_categories_and_is_acked_empty),
        cmocka_unit_test(system_register_abort_and_cancel_round_trip),
        cmocka_unit_test(request_system_status_with_and_without_register_id_round_trips),
        cmocka_unit_test(system_status_with_register_id_round_trips),
        cmocka_unit_test(switching_function_devices_changed_round_trips),
        cmocka_unit_test(set_display_round_trips),
        cmocka_unit_test(do_not_disturb_get_and_set_round_trip),
        cmocka_unit_test(forwarding_get_and_set_round_trip),
        cmocka_unit_test(cdr_report_carries_every_record_field_and_is_acked_with_no_data),
        cmocka_unit_test(cdr_transmission_start_and_stop_round_trip),
        cmocka_unit_test(panasonic_escape_get_system_data_decodes_and_reencodes),
        cmocka_unit_test(hipath_monitor_start_with_eight_zero_filters_reencodes_byte_for_byte),
        cmocka_unit_test(hipath_timestamp_in_extensions_reencodes_as_sent_in_any_time_zone),
        cmocka_unit_test(alcatel_phase2_system_status_decodes_bare_enumerated),
        cmocka_unit_test(phase2_bare_system_status_cannot_carry_extensions),
        cmocka_unit_test(operations_without_result_refuse_one),
        cmocka_unit_test(escape_with_private_data_that_is_not_one_element_is_refused),
        cmocka_unit_test(escape_with_unknown_private_alternative_is_refused_not_altered),
        cmocka_unit_test(truncated_cdr_report_is_rejected_without_leaks),
        cmocka_unit_test(cdr_report_over_128_records_is_refused_on_decode),
        cmocka_unit_test(device_list_longer_than_the_limit_is_refused_on_decode),
        cmocka_unit_test(cdr_times_keep_local_time_and_fractions_as_sent),
        cmocka_unit_test(every_service_opcode_has_its_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
