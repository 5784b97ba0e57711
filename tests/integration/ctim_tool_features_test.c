//  The ctim tool's line features end to end: forwarding, do not disturb, address status and
//  CDR, with the real `ctim` against ctimd on pbxsim and monitors showing the events.
//
//  - forward_and_status: forward in three of the nine modes on and off; text and --json
//    monitors show each forwarding event in order; `status` (text and --json) lists what is
//    on; an immediate forward sends a call on (the monitor sees it ring at the
//    destination); a destination the PBX refuses exit 1, an unknown mode exit 2.
//  - dnd: dnd on and off with their events, status showing it, a call to the line failing
//    meanwhile (cause doNotDisturb; `ctim hangup` clears it); a value other than on/off
//    exit 2.
//  - monitor_cdr: `monitor --cdr` claims the CDR stream (a second claim is refused, exit
//    1) and prints the record of a call when it ends; stopped by SIGTERM it gives the claim
//    up at once, so a `--json monitor --cdr` started then gets it and the next record.
//
//  Every wait has a deadline; children, ctimd and pbxsim are stopped after each test.
#include "ctim_tool_util.h"

static int setup(void **state)
{
    static const char *const args[] = {"--remote-answer-ms", "-1", NULL};
    return tool_setup(state, args, NULL, NULL);
}

//  `ctim forward 101 ...` succeeds and prints nothing.
static void s_forward(test_tool_world_t *w, const char *mode, const char *to)
{
    test_tool_t *p = RUN(w, 0, "forward", "101", mode, to);
    assert_string_equal(p->out, "");
    assert_string_equal(p->err, "");
    test_tool_free(&p);
}

//  `ctim status 101`: its address line (the second line of the output).
static void s_status(test_tool_world_t *w, char *out, size_t cap)
{
    test_tool_t *p = RUN(w, 0, "status", "101");
    char head[128];
    snprintf(head, sizeof head, "server %s up user " TEST_CTIM_USER "\n", w->env.servers);
    assert_true(strncmp(p->out, head, strlen(head)) == 0);
    snprintf(out, cap, "%s", p->out + strlen(head));
    test_tool_free(&p);
}

static void test_forward_and_status(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *mon = START(w, 0, "monitor", "101", "103");
    test_tool_t *jmon = START(w, 1, "--json", "monitor", "101");
    SEE(mon, " 103 in-service");
    SEE(jmon, "\"type\":\"line\"", "\"line\":\"101\",\"in_service\":true");

    s_forward(w, "busy", "103");
    s_forward(w, "no-answer-external", "104");
    s_forward(w, "immediate-internal", "105");
    SEE(mon, " 101 forward busy-all on -> 103");
    SEE(mon, " 101 forward no-answer-external on -> 104");
    SEE(mon, " 101 forward immediate-internal on -> 105");
    SEE(jmon, "{\"type\":\"forward\",\"time\":\"", "\"line\":\"101\",\"mode\":\"busy-all\","
              "\"on\":true,\"destination\":\"103\"}");
    SEE(jmon, "\"mode\":\"no-answer-external\",\"on\":true,\"destination\":\"104\"}");
    SEE(jmon, "\"mode\":\"immediate-internal\",\"on\":true,\"destination\":\"105\"}");

    char st[512];
    s_status(w, st, sizeof st);
    const char *st_head = "101 in-service dnd=off message-waiting=off forwarding=";
    assert_true(strncmp(st, st_head, strlen(st_head)) == 0);
    assert_non_null(strstr(st, "busy-all:103"));
    assert_non_null(strstr(st, "no-answer-external:104"));
    assert_non_null(strstr(st, "immediate-internal:105"));
    assert_string_equal(strchr(st, '\n'), "\n");        //  one line per line
    test_tool_t *p = RUN(w, 0, "--json", "status", "101");
    char head[256];
    snprintf(head, sizeof head, "{\"type\":\"server\",\"server\":\"%s\",\"up\":true,"
                                "\"user\":\"crm\"}\n{\"type\":\"address\",\"line\":\"101\","
                                "\"in_service\":true,\"do_not_disturb\":false,"
                                "\"message_waiting\":false,\"forwarding\":[", w->env.servers);
    assert_true(strncmp(p->out, head, strlen(head)) == 0);
    assert_non_null(strstr(p->out, "{\"mode\":\"busy-all\",\"on\":true,\"destination\":\"103\"}"));
    assert_non_null(strstr(p->out, "{\"mode\":\"no-answer-external\",\"on\":true,"
                                   "\"destination\":\"104\"}"));
    assert_non_null(strstr(p->out, "{\"mode\":\"immediate-internal\",\"on\":true,"
                                   "\"destination\":\"105\"}"));
    test_tool_free(&p);

    s_forward(w, "busy", "off");
    SEE(mon, " 101 forward busy-all off");
    SEE(jmon, "\"mode\":\"busy-all\",\"on\":false");
    s_status(w, st, sizeof st);
    assert_null(strstr(st, "busy-all"));
    assert_non_null(strstr(st, "immediate-internal:105"));

    //  Forwarded at once: 102's call to 101 rings at 103.
    s_forward(w, "immediate", "103");
    SEE(mon, " 101 forward immediate-all on -> 103");
    size_t at = mon->seen;
    tool_ctl(w, "dial 102 101");
    SEE(mon, " 103 offering call=", " from 102 ", " to 101 ", "cause=callForwardImmediate");
    tool_ctl(w, "hangup 102");
    SEE(mon, " 103 idle call=");
    assert_null(strstr(mon->out + at, " 101 offering "));     //  101 itself never rang

    s_forward(w, "immediate", "off");
    s_forward(w, "immediate-internal", "off");
    s_forward(w, "no-answer-external", "off");
    SEE(mon, " 101 forward immediate-all off");
    SEE(mon, " 101 forward immediate-internal off");
    SEE(mon, " 101 forward no-answer-external off");
    s_status(w, st, sizeof st);
    assert_string_equal(st, "101 in-service dnd=off message-waiting=off forwarding=none\n");

    p = RUN(w, 1, "forward", "101", "busy", "101");
    assert_non_null(strstr(p->err, "ctim: forward 101: invalid-destination: "));
    test_tool_free(&p);
    p = RUN(w, 2, "forward", "101", "sideways", "103");
    assert_non_null(strstr(p->err, "ctim: forward: unknown mode 'sideways'"));
    test_tool_free(&p);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
    assert_int_equal(test_tool_signal(jmon, SIGTERM), 0);
}

static void test_dnd(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *mon = START(w, 0, "monitor", "101", "102");
    SEE(mon, " 102 in-service");
    test_tool_t *p = RUN(w, 0, "dnd", "101", "on");
    assert_string_equal(p->out, "");
    test_tool_free(&p);
    SEE(mon, " 101 dnd on");
    char st[512];
    s_status(w, st, sizeof st);
    assert_string_equal(st, "101 in-service dnd=on message-waiting=off forwarding=none\n");
    //  Meanwhile a caller cannot reach 101 (the tool clears the failed call), and 101 hears
    //  nothing of it.
    size_t at = mon->seen;
    char id[64], acted[64], want[96];
    tool_take_id(RUN(w, 0, "call", "102", "101"), id, sizeof id);
    snprintf(want, sizeof want, " 102 disconnected call=%s ", id);
    SEE(mon, want, "cause=doNotDisturb");
    tool_take_id(RUN(w, 0, "hangup", "102"), acted, sizeof acted);
    assert_string_equal(acted, id);
    snprintf(want, sizeof want, " 102 idle call=%s ", id);
    SEE(mon, want);
    assert_null(strstr(mon->out + at, " 101 offering "));

    p = RUN(w, 0, "dnd", "101", "off");
    test_tool_free(&p);
    SEE(mon, " 101 dnd off");
    s_status(w, st, sizeof st);
    assert_string_equal(st, "101 in-service dnd=off message-waiting=off forwarding=none\n");
    p = RUN(w, 2, "dnd", "101", "maybe");
    assert_non_null(strstr(p->err, "ctim: dnd: 'maybe' is neither on nor off"));
    test_tool_free(&p);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
}

//  Make a call 101 -> 102, answered and hung up by the people; its id.
static void s_call_and_end(test_tool_world_t *w, char *id, size_t cap)
{
    tool_take_id(RUN(w, 0, "call", "101", "102"), id, cap);
    tool_ctl(w, "answer 102");
    tool_ctl(w, "hangup 101");
}

//  Wait until the node has answered `count` set_cdr requests OK (/metrics).
static void s_wait_cdr_oks(test_tool_world_t *w, int count)
{
    char want[128];
    snprintf(want, sizeof want, "ctim_client_requests_total{operation=\"set_cdr\",result=\"ok\"} "
                                "%d\n", count);
    tool_wait_http(w, "/metrics", want);
}

static void test_monitor_cdr(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *cdr = START(w, 0, "monitor", "--cdr");
    s_wait_cdr_oks(w, 1);
    //  One owner: a second claim is refused.
    test_tool_t *p = RUN(w, 1, "monitor", "--cdr", "101");
    assert_non_null(strstr(p->err, "ctim: monitor: busy"));
    test_tool_free(&p);

    char id[64], line[1024], want[128];
    s_call_and_end(w, id, sizeof id);
    snprintf(want, sizeof want, " cdr call=%s internal from 101 to 102 start=", id);
    EXPECT(cdr, line, want);
    assert_non_null(strstr(line, " talk="));
    assert_non_null(strstr(line, " units="));
    assert_null(strstr(line, "unanswered"));
    assert_int_equal(test_tool_signal(cdr, SIGTERM), 0);

    //  Given up on the way out (the second OK): the next monitor has the stream at once, not
    //  after the node declares the first session failed (it would exit 1, busy).
    s_wait_cdr_oks(w, 2);
    test_tool_t *jcdr = START(w, 1, "--json", "monitor", "--cdr");
    s_wait_cdr_oks(w, 3);
    s_call_and_end(w, id, sizeof id);
    snprintf(want, sizeof want, "\"call_id\":\"%s\"", id);
    EXPECT(jcdr, line, "{\"type\":\"cdr\",\"time\":\"", want);
    assert_non_null(strstr(line, "\"caller_number\":\"101\",\"called_number\":\"102\","
                                 "\"direction\":\"internal\",\"start_ms\":"));
    assert_non_null(strstr(line, "\"account\":\"\"}"));
    assert_int_equal(test_tool_signal(jcdr, SIGINT), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_and_status, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_dnd, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_monitor_cdr, setup, tool_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
