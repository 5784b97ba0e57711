//  ctim_tool_print: what the ctim tool prints -- every event and result kind as text and as
//  JSON, exactly; JSON string escaping (quotes, backslashes, control characters, UTF-8 kept,
//  bytes that are not UTF-8 replaced); one event is always one line.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ctim_print.h"

//  2026-11-22 05:37:59.123 UTC; TZ is UTC in these tests, so text shows the same clock.
#define T0 1795325879123ull

static char *s_buf;
static size_t s_len;

static FILE *s_open(void)
{
    free(s_buf);
    s_buf = NULL;
    FILE *f = open_memstream(&s_buf, &s_len);
    assert_non_null(f);
    return f;
}

//  Close f and compare what was written with want.
static void s_is(FILE *f, const char *want)
{
    fclose(f);
    if (strcmp(s_buf, want) != 0)
        fail_msg("printed\n%s\nexpected\n%s", s_buf, want);
}

static int group_setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(s_buf);
    s_buf = NULL;
    return 0;
}

static const ctim_call_event_t s_offering = {
    .line = "102",
    .call_id = "00a1",
    .state = CTIM_CALL_OFFERING,
    .direction = CTIM_DIR_INTERNAL,
    .caller_number = "101",
    .caller_name = "Alice",
    .called_number = "102",
    .called_name = "Bob",
    .cause = "",
    .snapshot = false,
};

static void json_string_escaping(void **state)
{
    (void)state;
    FILE *f = s_open();
    ctim_print_json_string(f, "a\"b\\c/d");
    s_is(f, "\"a\\\"b\\\\c/d\"");
    f = s_open();
    ctim_print_json_string(f, "\b\f\n\r\t\x01\x1f\x7f");
    s_is(f, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"");
    f = s_open();
    ctim_print_json_string(f, "M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x93\x9e");    //  Müller € 📞
    s_is(f, "\"M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x93\x9e\"");
    f = s_open();
    //  Latin-1 ü, a lone continuation byte, an overlong '/', a surrogate, a cut sequence.
    ctim_print_json_string(f, "M\xfcller \x80 \xc0\xaf \xed\xa0\x80 \xe2\x82");
    s_is(f, "\"M\\ufffdller \\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"");
    f = s_open();
    ctim_print_json_string(f, NULL);
    ctim_print_json_string(f, "");
    s_is(f, "\"\"\"\"");
}

static void call_event_text_and_json(void **state)
{
    (void)state;
    FILE *f = s_open();
    ctim_print_call(f, false, T0, &s_offering);
    s_is(f, "2026-11-22 05:37:59.123 102 offering call=00a1 internal from 101 \"Alice\" to 102 "
            "\"Bob\"\n");
    f = s_open();
    ctim_print_call(f, true, T0, &s_offering);
    s_is(f, "{\"type\":\"call\",\"time\":\"2026-11-22T05:37:59.123Z\",\"line\":\"102\","
            "\"call_id\":\"00a1\",\"state\":\"offering\",\"direction\":\"internal\","
            "\"caller_number\":\"101\",\"caller_name\":\"Alice\",\"called_number\":\"102\","
            "\"called_name\":\"Bob\",\"cause\":\"\",\"snapshot\":false}\n");

    //  Unknown parties and direction, a cause, a snapshot, a name that would break lines.
    ctim_call_event_t ev = {.line = "101", .call_id = "7", .state = CTIM_CALL_DISCONNECTED,
                            .caller_number = "", .caller_name = "", .called_number = "0301",
                            .called_name = "Evil\nName \"x\"", .cause = "call\tcleared",
                            .snapshot = true};
    f = s_open();
    ctim_print_call(f, false, T0 + 1, &ev);
    s_is(f, "2026-11-22 05:37:59.124 101 disconnected call=7 from ? to 0301 "
            "\"Evil\\nName \\\"x\\\"\" cause=call?cleared (snapshot)\n");
    f = s_open();
    ctim_print_call(f, true, T0 + 1, &ev);
    s_is(f, "{\"type\":\"call\",\"time\":\"2026-11-22T05:37:59.124Z\",\"line\":\"101\","
            "\"call_id\":\"7\",\"state\":\"disconnected\",\"direction\":\"unknown\","
            "\"caller_number\":\"\",\"caller_name\":\"\",\"called_number\":\"0301\","
            "\"called_name\":\"Evil\\nName \\\"x\\\"\",\"cause\":\"call\\tcleared\","
            "\"snapshot\":true}\n");

    //  Every state has its name (the library's), never a number.
    for (int s = CTIM_CALL_OFFERING; s <= CTIM_CALL_IDLE; s++) {
        ev.state = (ctim_call_state_t)s;
        f = s_open();
        ctim_print_call(f, true, T0, &ev);
        fclose(f);
        char want[96];
        snprintf(want, sizeof want, "\"state\":\"%s\"", ctim_call_state_str(ev.state));
        assert_non_null(strstr(s_buf, want));
        assert_string_not_equal(ctim_call_state_str(ev.state), "unknown");
    }
}

static void line_link_forward_dnd_lost_events(void **state)
{
    (void)state;
    FILE *f = s_open();
    ctim_print_service(f, false, T0, "101", true);
    ctim_print_service(f, false, T0, "101", false);
    s_is(f, "2026-11-22 05:37:59.123 101 in-service\n"
            "2026-11-22 05:37:59.123 101 out-of-service\n");
    f = s_open();
    ctim_print_service(f, true, T0, "101", false);
    s_is(f, "{\"type\":\"line\",\"time\":\"2026-11-22T05:37:59.123Z\",\"line\":\"101\","
            "\"in_service\":false}\n");

    f = s_open();
    ctim_print_link(f, false, T0, CTIM_LINK_UP, "tcp://a:2748", "new session");
    ctim_print_link(f, false, T0, CTIM_LINK_DOWN, "tcp://a:2748", "server silent");
    ctim_print_link(f, false, T0, CTIM_LINK_LOGIN_FAILED, "tcp://b:2748", "");
    s_is(f, "2026-11-22 05:37:59.123 link up tcp://a:2748 (new session)\n"
            "2026-11-22 05:37:59.123 link down tcp://a:2748 (server silent)\n"
            "2026-11-22 05:37:59.123 link login-failed tcp://b:2748\n");
    f = s_open();
    ctim_print_link(f, true, T0, CTIM_LINK_DOWN, "tcp://a:2748", "server \"silent\"");
    s_is(f, "{\"type\":\"link\",\"time\":\"2026-11-22T05:37:59.123Z\",\"link\":\"down\","
            "\"server\":\"tcp://a:2748\",\"text\":\"server \\\"silent\\\"\"}\n");

    ctim_forward_t on = {.mode = CTIM_FWD_BUSY_INTERNAL, .on = true, .destination = "102"};
    ctim_forward_t off = {.mode = CTIM_FWD_NO_ANSWER_ALL, .on = false, .destination = ""};
    f = s_open();
    ctim_print_forward(f, false, T0, "101", &on);
    ctim_print_forward(f, false, T0, "101", &off);
    s_is(f, "2026-11-22 05:37:59.123 101 forward busy-internal on -> 102\n"
            "2026-11-22 05:37:59.123 101 forward no-answer-all off\n");
    f = s_open();
    ctim_print_forward(f, true, T0, "101", &on);
    s_is(f, "{\"type\":\"forward\",\"time\":\"2026-11-22T05:37:59.123Z\",\"line\":\"101\","
            "\"mode\":\"busy-internal\",\"on\":true,\"destination\":\"102\"}\n");

    f = s_open();
    ctim_print_dnd(f, false, T0, "103", true);
    ctim_print_dnd(f, true, T0, "103", false);
    s_is(f, "2026-11-22 05:37:59.123 103 dnd on\n"
            "{\"type\":\"dnd\",\"time\":\"2026-11-22T05:37:59.123Z\",\"line\":\"103\","
            "\"on\":false}\n");

    f = s_open();
    ctim_print_events_lost(f, false, T0, 42);
    ctim_print_events_lost(f, true, T0, 18446744073709551615ull);
    s_is(f, "2026-11-22 05:37:59.123 events-lost 42 (the calls now follow as snapshots)\n"
            "{\"type\":\"events_lost\",\"time\":\"2026-11-22T05:37:59.123Z\","
            "\"count\":18446744073709551615}\n");
}

static void cdr_event(void **state)
{
    (void)state;
    ctim_cdr_t cdr = {.call_id = "00a1", .caller_number = "101", .called_number = "0301234",
                      .direction = CTIM_DIR_OUTGOING, .start_ms = T0, .connect_ms = T0 + 4000,
                      .end_ms = T0 + 65500, .charge_units = 3, .account = "proj-7"};
    FILE *f = s_open();
    ctim_print_cdr(f, false, T0 + 65600, &cdr);
    s_is(f, "2026-11-22 05:39:04.723 cdr call=00a1 outgoing from 101 to 0301234 "
            "start=2026-11-22T05:37:59.123 talk=61.500s units=3 account=proj-7\n");
    f = s_open();
    ctim_print_cdr(f, true, T0 + 65600, &cdr);
    s_is(f, "{\"type\":\"cdr\",\"time\":\"2026-11-22T05:39:04.723Z\",\"call_id\":\"00a1\","
            "\"caller_number\":\"101\",\"called_number\":\"0301234\",\"direction\":\"outgoing\","
            "\"start_ms\":1795325879123,\"connect_ms\":1795325883123,\"end_ms\":1795325944623,"
            "\"charge_units\":3,\"account\":\"proj-7\"}\n");
    cdr.connect_ms = 0;
    cdr.account = "";
    cdr.direction = CTIM_DIR_UNKNOWN;
    f = s_open();
    ctim_print_cdr(f, false, T0, &cdr);
    s_is(f, "2026-11-22 05:37:59.123 cdr call=00a1 from 101 to 0301234 "
            "start=2026-11-22T05:37:59.123 unanswered units=3\n");
}

static void results_and_failures(void **state)
{
    (void)state;
    //  Text: the call id alone on success, nothing without one, nothing on failure.
    FILE *f = s_open();
    ctim_print_result(f, false, "call", "101", CTIM_RESULT_OK, "", "00a1");
    ctim_print_result(f, false, "dnd", "101", CTIM_RESULT_OK, "", "");
    ctim_print_result(f, false, "call", "101", CTIM_RESULT_BUSY, "busy", "");
    s_is(f, "00a1\n");
    f = s_open();
    ctim_print_result(f, true, "call", "101", CTIM_RESULT_OK, "", "00a1");
    ctim_print_result(f, true, "answer", "102", CTIM_RESULT_INVALID_STATE, "held \"call\"", "");
    ctim_print_result(f, true, "lines", NULL, CTIM_RESULT_TIMEOUT, "no answer", NULL);
    ctim_print_result(f, true, "call", "101", CTIM_RESULT_LOGIN_FAILED, "", "");
    s_is(f, "{\"type\":\"result\",\"command\":\"call\",\"line\":\"101\",\"result\":\"ok\","
            "\"exit\":0,\"text\":\"\",\"call_id\":\"00a1\"}\n"
            "{\"type\":\"result\",\"command\":\"answer\",\"line\":\"102\","
            "\"result\":\"invalid-state\",\"exit\":1,\"text\":\"held \\\"call\\\"\","
            "\"call_id\":\"\"}\n"
            "{\"type\":\"result\",\"command\":\"lines\",\"result\":\"timeout\",\"exit\":4,"
            "\"text\":\"no answer\",\"call_id\":\"\"}\n"
            "{\"type\":\"result\",\"command\":\"call\",\"line\":\"101\","
            "\"result\":\"login-failed\",\"exit\":3,\"text\":\"\",\"call_id\":\"\"}\n");

    f = s_open();
    ctim_print_failure(f, "answer", "102", CTIM_RESULT_INVALID_STATE, "the call is held");
    ctim_print_failure(f, "lines", NULL, CTIM_RESULT_SERVER_LOST, "");
    ctim_print_failure(f, "call", "101", CTIM_RESULT_ERROR, "two\nlines");
    s_is(f, "ctim: answer 102: invalid-state: the call is held\n"
            "ctim: lines: server-lost\n"
            "ctim: call 101: error: two?lines\n");
}

static void lines_table_and_json(void **state)
{
    (void)state;
    const ctim_line_info_t lines[] = {
        {.line = "101", .name = "Reception", .open = true, .in_service = true,
         .failure_number = "199"},
        {.line = "10234", .name = "", .open = false, .in_service = false,
         .failure_number = ""},
    };
    FILE *f = s_open();
    ctim_print_lines(f, false, lines, 2);
    //  Text leaves out open and the failure number: they are the tool's own session's,
    //  which opens no line for this command (JSON keeps every field).
    s_is(f, "LINE   NAME       IN-SERVICE\n"
            "101    Reception  yes\n"
            "10234             no\n");
    f = s_open();
    ctim_print_lines(f, true, lines, 2);
    s_is(f, "{\"type\":\"result\",\"command\":\"lines\",\"result\":\"ok\",\"exit\":0,"
            "\"lines\":[{\"line\":\"101\",\"name\":\"Reception\",\"open\":true,"
            "\"in_service\":true,\"failure_number\":\"199\"},{\"line\":\"10234\","
            "\"name\":\"\",\"open\":false,\"in_service\":false,\"failure_number\":\"\"}]}\n");
    f = s_open();
    ctim_print_lines(f, true, NULL, 0);
    s_is(f, "{\"type\":\"result\",\"command\":\"lines\",\"result\":\"ok\",\"exit\":0,"
            "\"lines\":[]}\n");
    f = s_open();
    ctim_print_lines(f, false, NULL, 0);
    s_is(f, "LINE  NAME  IN-SERVICE\n");
}

static void status_server_and_address(void **state)
{
    (void)state;
    FILE *f = s_open();
    ctim_print_server(f, false, "tcp://b:2748", true, "crm");
    ctim_print_server(f, true, "tcp://b:2748", false, "crm");
    s_is(f, "server tcp://b:2748 up user crm\n"
            "{\"type\":\"server\",\"server\":\"tcp://b:2748\",\"up\":false,\"user\":\"crm\"}\n");

    const ctim_forward_t fwd[] = {
        {.mode = CTIM_FWD_BUSY_ALL, .on = true, .destination = "102"},
        {.mode = CTIM_FWD_IMMEDIATE_EXTERNAL, .on = false, .destination = ""},
        {.mode = CTIM_FWD_NO_ANSWER_ALL, .on = true, .destination = "103"},
    };
    ctim_address_status_t a = {.line = "101", .in_service = true, .do_not_disturb = true,
                               .message_waiting = false, .forwarding = fwd,
                               .forwarding_count = 3};
    f = s_open();
    ctim_print_address(f, false, &a);
    s_is(f, "101 in-service dnd=on message-waiting=off forwarding=busy-all:102,"
            "no-answer-all:103\n");
    f = s_open();
    ctim_print_address(f, true, &a);
    s_is(f, "{\"type\":\"address\",\"line\":\"101\",\"in_service\":true,"
            "\"do_not_disturb\":true,\"message_waiting\":false,\"forwarding\":["
            "{\"mode\":\"busy-all\",\"on\":true,\"destination\":\"102\"},"
            "{\"mode\":\"immediate-external\",\"on\":false,\"destination\":\"\"},"
            "{\"mode\":\"no-answer-all\",\"on\":true,\"destination\":\"103\"}]}\n");
    ctim_address_status_t none = {.line = "102", .in_service = false, .message_waiting = true};
    f = s_open();
    ctim_print_address(f, false, &none);
    ctim_print_address(f, true, &none);
    s_is(f, "102 out-of-service dnd=off message-waiting=on forwarding=none\n"
            "{\"type\":\"address\",\"line\":\"102\",\"in_service\":false,"
            "\"do_not_disturb\":false,\"message_waiting\":true,\"forwarding\":[]}\n");
}

static void directions_have_names(void **state)
{
    (void)state;
    assert_string_equal(ctim_print_direction_str(CTIM_DIR_INCOMING), "incoming");
    assert_string_equal(ctim_print_direction_str(CTIM_DIR_OUTGOING), "outgoing");
    assert_string_equal(ctim_print_direction_str(CTIM_DIR_INTERNAL), "internal");
    assert_string_equal(ctim_print_direction_str(CTIM_DIR_UNKNOWN), "unknown");
    assert_string_equal(ctim_print_direction_str((ctim_direction_t)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_string_escaping),
        cmocka_unit_test(call_event_text_and_json),
        cmocka_unit_test(line_link_forward_dnd_lost_events),
        cmocka_unit_test(cdr_event),
        cmocka_unit_test(results_and_failures),
        cmocka_unit_test(lines_table_and_json),
        cmocka_unit_test(status_server_and_address),
        cmocka_unit_test(directions_have_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
