//  The ctim tool end to end: the real `ctim` program against the real ctimd on pbxsim
//  (tests/support/test_ctim.h starts them; lines 101 "Alice" and 102 "Bob" in ctimd's config).
//
//  - call_flow: `ctim monitor 101 102` (text) and `ctim --json monitor 102` run in the
//    background while `ctim call 101 102`, `ctim answer 102 ID` and `ctim hangup 101 ID`
//    run; the monitors show link up, the lines in service and every state of the call on
//    both lines in order, with the names from the config; SIGTERM / SIGINT end them with 0.
//  - json_results: --json call and hangup print one result object each, with the call id.
//  - answer_and_hangup_without_call_id: a call that rang before any tool ran; a monitor
//    started then shows it as snapshots; `ctim answer 102` and `ctim hangup 101` find it
//    from the node's snapshot after open.
//  - answer_without_call: no call offering at the line: exit 1 after the short snapshot
//    wait, with a message that says so.
//  - lines: the user's lines with names from the config (and from the PBX), in service,
//    text and --json (which adds open and failure number: none, the tool's session opens
//    no line for it); with the PBX gone, out of service.
//  - exit codes: wrong password 3, no server 3 within --timeout, unknown command 2, a line
//    outside the user's devices 1; forward without a destination 2, transfer with no active
//    call 1, status of a line not allowed 1 with the allowed line's status still printed;
//    with --json a result object for the tool's own failures too; a PBX slower than
//    --timeout 4.
//
//  Every wait has a deadline; ctim children are killed and ctimd and pbxsim stopped after
//  each test, also a failed one.
#include "ctim_tool_util.h"

#define NAMES_YAML "lines:\n  - number: \"101\"\n    name: Alice\n  - number: \"102\"\n    name: Bob\n"

static int setup(void **state)
{
    return tool_setup(state, NULL, NULL, NAMES_YAML);
}

//  --- Tests ---------------------------------------------------------------------------------

static void test_call_flow(void **state)
{
    test_tool_world_t *w = *state;
    char line[1024], call_id[64], offer_id[64], ringback_id[64];
    test_tool_t *mon = START(w, 0, "monitor", "101", "102");
    test_tool_t *jmon = START(w, 1, "--json", "monitor", "102");
    SEE(mon, " link up ", w->env.servers, "(new session)");
    size_t up = mon->seen;
    SEE(mon, " 101 in-service");
    size_t start = mon->seen;
    mon->seen = up;
    SEE(mon, " 102 in-service");
    if (mon->seen > start)
        start = mon->seen;
    SEE(jmon, "{\"type\":\"link\",\"time\":\"", "\"link\":\"up\"");
    SEE(jmon, "{\"type\":\"line\",", "\"line\":\"102\",\"in_service\":true}");

    tool_take_id(RUN(w, 0, "call", "101", "102"), call_id, sizeof call_id);

    //  The two lines' events interleave in any order: each line is followed on its own,
    //  from where its previous state was found.
    size_t at101 = start, at102 = start;
    mon->seen = at101;
    EXPECT(mon, line, " 101 ringback call=", " internal from 101 \"Alice\" to 102 \"Bob\"");
    at101 = mon->seen;
    assert_true(test_tool_value(line, "call=", " ", ringback_id, sizeof ringback_id));
    assert_string_equal(ringback_id, call_id);
    mon->seen = at102;
    EXPECT(mon, line, " 102 offering call=", " internal from 101 \"Alice\" to 102 \"Bob\"");
    at102 = mon->seen;
    assert_true(test_tool_value(line, "call=", " ", offer_id, sizeof offer_id));
    EXPECT(jmon, line, "\"type\":\"call\"", "\"line\":\"102\"", "\"state\":\"offering\"",
           "\"direction\":\"internal\"", "\"caller_number\":\"101\"",
           "\"caller_name\":\"Alice\"", "\"called_number\":\"102\"", "\"called_name\":\"Bob\"",
           "\"snapshot\":false");
    char json_id[64];
    assert_true(test_tool_value(line, "\"call_id\":\"", "\"", json_id, sizeof json_id));
    assert_string_equal(json_id, offer_id);

    char acted[64];
    tool_take_id(RUN(w, 0, "answer", "102", offer_id), acted, sizeof acted);
    assert_string_equal(acted, offer_id);
    AT(mon, at101, " 101 connected call=", call_id);
    AT(mon, at102, " 102 connected call=", offer_id);

    tool_take_id(RUN(w, 0, "hangup", "101", call_id), acted, sizeof acted);
    assert_string_equal(acted, call_id);
    AT(mon, at101, " 101 disconnected call=", call_id);
    AT(mon, at101, " 101 idle call=", call_id);
    AT(mon, at102, " 102 disconnected call=", offer_id);
    AT(mon, at102, " 102 idle call=", offer_id);
    SEE(jmon, "\"line\":\"102\"", "\"state\":\"idle\"");

    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
    assert_int_equal(test_tool_signal(jmon, SIGINT), 0);
}

static void test_json_results(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *p = RUN(w, 0, "--json", "call", "101", "103");
    const char *head = "{\"type\":\"result\",\"command\":\"call\",\"line\":\"101\","
                       "\"result\":\"ok\",\"exit\":0,\"text\":";
    assert_true(strncmp(p->out, head, strlen(head)) == 0);
    char call_id[64];
    assert_true(test_tool_value(p->out, "\"call_id\":\"", "\"", call_id, sizeof call_id));
    assert_string_equal(strchr(p->out, '\n'), "\n");       //  one line
    test_tool_free(&p);

    p = RUN(w, 0, "--json", "hangup", "101", call_id);
    assert_non_null(strstr(p->out, "\"command\":\"hangup\",\"line\":\"101\",\"result\":\"ok\""));
    test_tool_free(&p);
}

//  The call rang before any ctim ran: the tools learn it from the node's snapshot after
//  open_line and act on it without being told its id.
static void test_answer_and_hangup_without_call_id(void **state)
{
    test_tool_world_t *w = *state;
    tool_ctl(w, "dial 101 102");
    test_tool_t *mon = START(w, 0, "monitor", "101", "102");
    char line[1024], id[64], id102[64];
    SEE(mon, " link up ");
    size_t start = mon->seen;
    EXPECT(mon, line, " 101 ringback call=", " from 101 \"Alice\" to 102 \"Bob\"", "(snapshot)");
    assert_true(test_tool_value(line, "call=", " ", id, sizeof id));
    mon->seen = start;
    EXPECT(mon, line, " 102 offering call=", " from 101 \"Alice\" to 102 \"Bob\"", "(snapshot)");
    assert_true(test_tool_value(line, "call=", " ", id102, sizeof id102));
    assert_string_equal(id102, id);
    size_t after = mon->seen;

    char acted[64];
    tool_take_id(RUN(w, 0, "answer", "102"), acted, sizeof acted);
    assert_string_equal(acted, id);
    size_t at101 = after, at102 = after;
    AT(mon, at101, " 101 connected call=", id);
    AT(mon, at102, " 102 connected call=", id);

    tool_take_id(RUN(w, 0, "hangup", "101"), acted, sizeof acted);
    assert_string_equal(acted, id);
    AT(mon, at101, " 101 disconnected call=", id);
    AT(mon, at101, " 101 idle call=", id);
    AT(mon, at102, " 102 disconnected call=", id);
    AT(mon, at102, " 102 idle call=", id);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
}

static void test_answer_without_call(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *p = RUN(w, 1, "answer", "102");
    assert_non_null(strstr(p->err, "ctim: answer 102: no offering call at the line"));
    assert_string_equal(p->out, "");
    test_tool_free(&p);
}

static void test_lines(void **state)
{
    test_tool_world_t *w = *state;
    tool_wait_http(w, "/lines", "\n120,Extension 120\n");    //  names learned from the PBX
    test_tool_t *p = RUN(w, 0, "lines");
    //  A table: the header, then the user's twenty lines (devices 101-120) by number.
    assert_non_null(strstr(p->out, "\n101   Alice "));
    assert_non_null(strstr(p->out, "\n102   Bob "));
    assert_non_null(strstr(p->out, "\n120 "));
    assert_null(strstr(p->out, "\n121 "));
    size_t rows = 0;
    for (const char *c = p->out; (c = strchr(c, '\n')) != NULL; c++)
        rows++;
    assert_int_equal(rows, 1 + 20);
    assert_non_null(strstr(p->out, "LINE  NAME           IN-SERVICE\n"));
    assert_non_null(strstr(p->out, "\n101   Alice          yes\n"));
    assert_non_null(strstr(p->out, "\n103   Extension 103  yes\n"));    //  from the PBX
    test_tool_free(&p);

    p = RUN(w, 0, "--json", "lines");
    const char *head = "{\"type\":\"result\",\"command\":\"lines\",\"result\":\"ok\","
                       "\"exit\":0,\"lines\":[{\"line\":\"101\",\"name\":\"Alice\","
                       "\"open\":false,\"in_service\":true,\"failure_number\":\"\"},"
                       "{\"line\":\"102\",\"name\":\"Bob\",";
    assert_true(strncmp(p->out, head, strlen(head)) == 0);
    assert_non_null(strstr(p->out, "{\"line\":\"120\",\"name\":\"Extension 120\","));
    assert_string_equal(strchr(p->out, '\n'), "\n");       //  one object, one line
    test_tool_free(&p);

    //  The PBX goes away: the node's lines are out of service.  The node sees the link drop
    //  at once, yet a run may come before it; each run is one condition check.
    test_pbxsim_stop(&w->sim);
    w->sim_running = false;
    long long deadline = test_now_ms() + TEST_CTIM_WAIT_MS;
    bool out_of_service = false;
    while (!out_of_service && test_now_ms() < deadline) {
        p = RUN(w, 0, "--json", "lines");
        out_of_service = strstr(p->out, "\"line\":\"101\",\"name\":\"Alice\",\"open\":false,"
                                        "\"in_service\":false") != NULL;
        if (out_of_service)
            assert_null(strstr(p->out, "\"in_service\":true"));
        test_tool_free(&p);
    }
    assert_true(out_of_service);
    p = RUN(w, 0, "lines");
    assert_non_null(strstr(p->out, "\n102   Bob            no\n"));
    assert_null(strstr(p->out, "yes"));
    test_tool_free(&p);
}

static void test_exit_codes(void **state)
{
    test_tool_world_t *w = *state;
    char bad_pw[128];
    snprintf(bad_pw, sizeof bad_pw, "%s/bad-password", w->dir);
    FILE *f = fopen(bad_pw, "w");
    assert_non_null(f);
    fputs("not-the-secret\n", f);
    fclose(f);
    test_tool_t *p = RUN(w, 3, "--password-file", bad_pw, "call", "101", "102");
    assert_non_null(strstr(p->err, "ctim: login refused by "));
    test_tool_free(&p);

    //  Nobody listens: exit 3 when --timeout is over, not later.
    char nobody[64];
    snprintf(nobody, sizeof nobody, "tcp://127.0.0.1:%d", test_free_port());
    p = RUN(w, 3, "--servers", nobody, "--timeout", "400", "call", "101", "102");
    assert_non_null(strstr(p->err, "ctim: no server answered within 400 ms"));
    assert_true(p->elapsed_ms >= 400);
    assert_true(p->elapsed_ms < 400 + 1500);    //  process start and exit, ASan, busy cores
    test_tool_free(&p);

    p = RUN(w, 2, "dial", "101");
    assert_non_null(strstr(p->err, "ctim: unknown command 'dial'"));
    test_tool_free(&p);

    p = RUN(w, 1, "call", "555", "101");
    assert_non_null(strstr(p->err, "ctim: call 555: access-denied"));
    test_tool_free(&p);

    //  The new commands' failures.
    p = RUN(w, 2, "forward", "101", "busy");
    assert_string_equal(p->err, "ctim: forward: missing arguments (ctim forward LINE MODE "
                                "NUMBER|off)\nTry 'ctim --help'.\n");
    test_tool_free(&p);
    p = RUN(w, 1, "transfer", "101", "103");
    assert_string_equal(p->err, "ctim: transfer 101: no active call at the line\n");
    assert_string_equal(p->out, "");
    test_tool_free(&p);
    //  --json: a result object on every outcome, also the tool's own failures.
    p = RUN(w, 1, "--json", "transfer", "101", "103");
    assert_string_equal(p->out, "{\"type\":\"result\",\"command\":\"transfer\",\"line\":\"101\","
                                "\"result\":\"error\",\"exit\":1,\"text\":\"transfer 101: no active "
                                "call at the line\",\"call_id\":\"\"}\n");
    test_tool_free(&p);
    p = RUN(w, 3, "--json", "--servers", nobody, "--timeout", "300", "lines");
    const char *head = "{\"type\":\"result\",\"command\":\"lines\",\"result\":\"not-logged-in\","
                       "\"exit\":3,\"text\":\"no server answered within 300 ms";
    assert_true(strncmp(p->out, head, strlen(head)) == 0);
    test_tool_free(&p);
    p = RUN(w, 1, "status", "101", "555");
    assert_non_null(strstr(p->out, "\n101 in-service dnd=off message-waiting=off "
                                   "forwarding=none\n"));
    assert_null(strstr(p->out, "555"));
    assert_string_equal(p->err, "ctim: status 555: access-denied: the line is not among the "
                                "user's devices\n");
    test_tool_free(&p);
}

//  The PBX answers later than --timeout: the line's open gets no result in time: exit 4.
static void test_timeout_exit(void **state)
{
    test_tool_world_t *w = *state;
    tool_ctl(w, "delay 3000");
    test_tool_t *p = RUN(w, 4, "--timeout", "500", "hangup", "103", "0001");
    assert_non_null(strstr(p->err, "within 500 ms"));
    assert_true(p->elapsed_ms < 500 + 1500 + 1000);     //  + closing, bounded by 1 s
    test_tool_free(&p);
    tool_ctl(w, "delay 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_flow, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_json_results, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_answer_and_hangup_without_call_id, setup,
                                        tool_teardown),
        cmocka_unit_test_setup_teardown(test_answer_without_call, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_lines, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_exit, setup, tool_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
