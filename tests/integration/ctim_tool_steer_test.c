//  The ctim tool steering calls end to end: the real `ctim` against ctimd on pbxsim, pbxsim
//  ctl acting as the people (dial, answer), a `ctim monitor` showing what a user sees.
//  Commands are given no call id unless a test says so: the tool finds the call.
//
//  - hold_retrieve_dtmf: hold, retrieve, dtmf on the active call; two held calls make
//    retrieve ask for CALLID (exit 1, naming both); retrieve CALLID; nothing left to hang up.
//  - transfer: blind (102 hands 101 to 103), consultation (103 to 104, answered while the
//    tool waits), a consultation to a busy party and one nobody answers: undone (the
//    consultation cleared, the held call retrieved), exit 1 and 4.
//  - conference_and_redirect: single-step conference of a third party; a ringing call
//    deflected; redirect with nothing ringing exit 1.
//  - pickup: directed (the call ringing at 101 taken at 103) and group pickup; with nothing
//    ringing exit 1 (the PBX's invalid-state; the tool's own message for a directed one).
//
//  Every wait has a deadline; children, ctimd and pbxsim are stopped after each test.
#include "ctim_tool_util.h"

static char s_dir[64];
static char s_devices[128];
static const char *s_sim_args[] = {"--devices", s_devices, "--remote-answer-ms", "-1", NULL};

static int group_setup(void **state)
{
    (void) state;
    if (test_dir_make(s_dir, sizeof s_dir, "tool-steer") != 0)
        return -1;
    snprintf(s_devices, sizeof s_devices, "%s/devices.yaml", s_dir);
    FILE *f = fopen(s_devices, "w");
    if (!f)
        return -1;
    //  A pickup group for group pickup.
    fprintf(f, "extensions:\n  - range: 101-110\ntrunks: 2\ngroups:\n"
               "  - number: \"700\"\n    type: pickup\n    members: [\"101\", \"102\", \"103\"]\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void) state;
    test_dir_remove(s_dir);
    return 0;
}

static int setup(void **state)
{
    return tool_setup(state, s_sim_args, NULL, NULL);
}

//  A call from `from` to `to` answered by the person at `to` (pbxsim ctl); the monitor
//  shows both connected.  Its id into id; *at moves past the connected line of `from`.
static void s_talking(test_tool_world_t *w, test_tool_t *mon, size_t *at, const char *from,
                      const char *to, char *id, size_t cap)
{
    char line[1024], want[64];
    tool_ctl(w, "dial %s %s", from, to);
    snprintf(want, sizeof want, " %s ringback call=", from);
    mon->seen = *at;
    EXPECT(mon, line, want);
    assert_true(test_tool_value(line, "call=", " ", id, cap));
    tool_ctl(w, "answer %s", to);
    snprintf(want, sizeof want, " %s connected call=%s ", from, id);
    SEE(mon, want);
    *at = mon->seen;
}

//  --- Tests ---------------------------------------------------------------------------------

static void test_hold_retrieve_dtmf(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *mon = START(w, 0, "monitor", "101", "102", "103");
    SEE(mon, " 103 in-service");
    size_t at = mon->seen;
    char a[64], b[64], acted[64], want[96];
    s_talking(w, mon, &at, "101", "102", a, sizeof a);

    tool_take_id(RUN(w, 0, "hold", "101"), acted, sizeof acted);
    assert_string_equal(acted, a);
    snprintf(want, sizeof want, " 101 on_hold call=%s ", a);
    AT(mon, at, want);
    tool_take_id(RUN(w, 0, "retrieve", "101"), acted, sizeof acted);
    assert_string_equal(acted, a);
    snprintf(want, sizeof want, " 101 connected call=%s ", a);
    AT(mon, at, want);
    tool_take_id(RUN(w, 0, "dtmf", "101", "12#*"), acted, sizeof acted);
    assert_string_equal(acted, a);
    test_tool_t *p = RUN(w, 2, "dtmf", "101", "12x");
    assert_non_null(strstr(p->err, "ctim: dtmf: '12x' is not DTMF digits (0-9 * # A-D)"));
    test_tool_free(&p);

    //  Two calls on hold: which to take back is the user's to say.
    tool_take_id(RUN(w, 0, "hold", "101"), acted, sizeof acted);
    snprintf(want, sizeof want, " 101 on_hold call=%s ", a);
    AT(mon, at, want);
    tool_take_id(RUN(w, 0, "call", "101", "103"), b, sizeof b);
    tool_ctl(w, "answer 103");
    snprintf(want, sizeof want, " 101 connected call=%s ", b);
    AT(mon, at, want);
    tool_take_id(RUN(w, 0, "hold", "101"), acted, sizeof acted);
    assert_string_equal(acted, b);          //  the active one, not the held one
    snprintf(want, sizeof want, " 101 on_hold call=%s ", b);
    AT(mon, at, want);
    p = RUN(w, 1, "retrieve", "101");
    char msg[256];
    snprintf(msg, sizeof msg, "ctim: retrieve 101: 2 held calls (%s, %s): give CALLID\n", a, b);
    assert_string_equal(p->err, msg);
    assert_string_equal(p->out, "");
    test_tool_free(&p);
    tool_take_id(RUN(w, 0, "retrieve", "101", b), acted, sizeof acted);
    assert_string_equal(acted, b);
    snprintf(want, sizeof want, " 101 connected call=%s ", b);
    AT(mon, at, want);
    //  Hang up the active call, then the held one by its id: nothing is left.
    tool_take_id(RUN(w, 0, "hangup", "101"), acted, sizeof acted);
    assert_string_equal(acted, b);
    snprintf(want, sizeof want, " 101 idle call=%s ", b);
    AT(mon, at, want);
    tool_take_id(RUN(w, 0, "hangup", "101", a), acted, sizeof acted);
    snprintf(want, sizeof want, " 101 idle call=%s ", a);
    AT(mon, at, want);
    p = RUN(w, 1, "hangup", "101");
    assert_string_equal(p->err, "ctim: hangup 101: no active call at the line\n");
    test_tool_free(&p);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
}

static void test_transfer(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *mon = START(w, 0, "monitor", "101", "102", "103", "104", "105", "107");
    SEE(mon, " 107 in-service");
    size_t at = mon->seen;
    char a[64], b[64], acted[64], want[128];
    s_talking(w, mon, &at, "101", "102", a, sizeof a);

    //  Blind: 102 hands 101 over to 103 and is out of the call at once.
    tool_take_id(RUN(w, 0, "transfer", "102", "103"), acted, sizeof acted);
    assert_string_equal(acted, a);
    size_t at102 = at, at103 = at;
    snprintf(want, sizeof want, " 102 idle call=%s ", a);
    AT(mon, at102, want, "cause=singleStepTransfer");
    snprintf(want, sizeof want, " 103 offering call=%s ", a);
    AT(mon, at103, want, " from 101 ");
    tool_ctl(w, "answer 103");
    snprintf(want, sizeof want, " 103 connected call=%s ", a);
    AT(mon, at103, want);
    snprintf(want, sizeof want, " 101 connected call=%s ", a);
    AT(mon, at, want, " to 103 ");
    if (at103 > at)
        at = at103;

    //  Consultation: 103 asks 104, who answers while the tool waits; then 101 talks to 104.
    test_tool_t *xfer = START(w, 1, "transfer", "103", "104", "--consult");
    char line[1024];
    at103 = at;
    snprintf(want, sizeof want, " 103 on_hold_pending_transfer call=%s ", a);
    AT(mon, at103, want);
    mon->seen = at103;
    EXPECT(mon, line, " 103 ringback call=", " to 104 ");
    assert_true(test_tool_value(line, "call=", " ", b, sizeof b));
    assert_string_not_equal(b, a);
    size_t at104 = at;
    snprintf(want, sizeof want, " 104 offering call=%s ", b);
    AT(mon, at104, want);
    tool_ctl(w, "answer 104");
    assert_int_equal(test_tool_wait(xfer, test_now_ms() + TEST_CTIM_WAIT_MS), 0);
    assert_int_equal(test_tool_exit(xfer), 0);
    tool_printed_id(xfer, acted, sizeof acted);
    assert_string_equal(acted, a);          //  pbxsim keeps the held call's id
    test_tool_free(&w->bg[1]);
    snprintf(want, sizeof want, " 103 idle call=%s ", a);
    AT(mon, at103, want, "cause=transfer");
    snprintf(want, sizeof want, " 101 connected call=%s ", a);
    AT(mon, at, want, " to 104 ", "cause=transfer");
    snprintf(want, sizeof want, " 104 connected call=%s ", a);
    AT(mon, at104, want);

    //  Consultation to a busy party: undone, 101 back with 104.
    tool_ctl(w, "dial 105 106");
    tool_ctl(w, "answer 106");
    test_tool_t *p = RUN(w, 1, "transfer", "101", "105", "--consult");
    assert_string_equal(p->out, "");
    assert_non_null(strstr(p->err, "ctim: transfer 101: the consultation call "));
    assert_true(test_tool_value(p->err, "the consultation call ", " ", b, sizeof b));
    char msg[256];
    snprintf(msg, sizeof msg, " to 105 ended (busy); call %s cleared, call %s retrieved\n", b,
             a);
    assert_non_null(strstr(p->err, msg));
    test_tool_free(&p);
    snprintf(want, sizeof want, " 101 on_hold_pending_transfer call=%s ", a);
    AT(mon, at, want);
    snprintf(want, sizeof want, " 101 busy call=%s ", b);
    AT(mon, at, want);
    snprintf(want, sizeof want, " 101 idle call=%s ", b);
    AT(mon, at, want);
    snprintf(want, sizeof want, " 101 connected call=%s ", a);
    AT(mon, at, want);

    //  Nobody answers within --timeout: undone too, exit 4.
    p = RUN(w, 4, "--timeout", "1200", "transfer", "101", "107", "--consult");
    assert_true(test_tool_value(p->err, "within 1200 ms; call ", " ", b, sizeof b));
    snprintf(msg, sizeof msg, "ctim: transfer 101: 107 did not answer within 1200 ms; call %s "
                              "cleared, call %s retrieved\n", b, a);
    assert_string_equal(p->err, msg);
    test_tool_free(&p);
    snprintf(want, sizeof want, " 107 offering call=%s ", b);
    mon->seen = at;
    SEE(mon, want);
    snprintf(want, sizeof want, " 107 idle call=%s ", b);
    SEE(mon, want);
    snprintf(want, sizeof want, " 101 connected call=%s ", a);
    AT(mon, at, want);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
}

static void test_conference_and_redirect(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *mon = START(w, 0, "monitor", "101", "102", "103", "104", "105", "106");
    SEE(mon, " 106 in-service");
    size_t at = mon->seen;
    char a[64], acted[64], want[128], line[1024];
    s_talking(w, mon, &at, "101", "102", a, sizeof a);

    tool_take_id(RUN(w, 0, "conference", "101", "103"), acted, sizeof acted);
    assert_string_equal(acted, a);
    const char *lines[] = {"101", "102", "103"};
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, " %s conferenced call=%s ", lines[i], a);
        mon->seen = at;
        SEE(mon, want, "cause=singleStepConference");
    }

    test_tool_t *p = RUN(w, 1, "redirect", "105", "106");
    assert_string_equal(p->err, "ctim: redirect 105: no offering call at the line\n");
    test_tool_free(&p);
    tool_ctl(w, "dial 104 105");
    mon->seen = at;
    EXPECT(mon, line, " 105 offering call=", " from 104 ");
    char b[64];
    assert_true(test_tool_value(line, "call=", " ", b, sizeof b));
    size_t at105 = mon->seen;
    tool_take_id(RUN(w, 0, "redirect", "105", "106"), acted, sizeof acted);
    assert_string_equal(acted, b);
    snprintf(want, sizeof want, " 105 idle call=%s ", b);
    AT(mon, at105, want, "cause=redirected");
    snprintf(want, sizeof want, " 106 offering call=%s ", b);
    AT(mon, at105, want, " from 104 ", " to 105 ", "cause=redirected");
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
}

static void test_pickup(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *mon = START(w, 0, "monitor", "101", "102", "103", "104", "105");
    SEE(mon, " 105 in-service");
    size_t at = mon->seen;
    char a[64], acted[64], want[128], line[1024];

    //  Directed: 103 takes the call ringing at 101.
    tool_ctl(w, "dial 104 101");
    mon->seen = at;
    EXPECT(mon, line, " 101 offering call=", " from 104 ");
    assert_true(test_tool_value(line, "call=", " ", a, sizeof a));
    at = mon->seen;
    tool_take_id(RUN(w, 0, "pickup", "103", "101"), acted, sizeof acted);
    assert_string_equal(acted, a);
    size_t at103 = at;
    snprintf(want, sizeof want, " 101 idle call=%s ", a);
    AT(mon, at, want, "cause=callPickup");
    snprintf(want, sizeof want, " 103 connected call=%s ", a);
    AT(mon, at103, want, " from 104 ");
    tool_ctl(w, "hangup 104");
    snprintf(want, sizeof want, " 103 idle call=%s ", a);
    AT(mon, at103, want);
    at = at103 > at ? at103 : at;

    //  Group: 101 takes whatever rings in its pickup group (102 here).
    tool_ctl(w, "dial 105 102");
    mon->seen = at;
    EXPECT(mon, line, " 102 offering call=", " from 105 ");
    assert_true(test_tool_value(line, "call=", " ", a, sizeof a));
    at = mon->seen;
    tool_take_id(RUN(w, 0, "pickup", "101"), acted, sizeof acted);
    assert_string_equal(acted, a);
    size_t at101 = at;
    snprintf(want, sizeof want, " 102 idle call=%s ", a);
    AT(mon, at, want, "cause=callPickup");
    snprintf(want, sizeof want, " 101 connected call=%s ", a);
    AT(mon, at101, want, " from 105 ");
    tool_ctl(w, "hangup 105");
    snprintf(want, sizeof want, " 101 idle call=%s ", a);
    AT(mon, at101, want);

    //  Nothing rings: the PBX says so for the group, the tool for the directed pickup.
    test_tool_t *p = RUN(w, 1, "pickup", "103");
    assert_non_null(strstr(p->err, "ctim: pickup 103: invalid-state: "));
    test_tool_free(&p);
    p = RUN(w, 1, "pickup", "103", "102");
    assert_string_equal(p->err, "ctim: pickup 103: no offering call at 102\n");
    test_tool_free(&p);
    p = RUN(w, 1, "pickup", "103", "555");
    assert_non_null(strstr(p->err, "ctim: pickup 555: access-denied: "));
    test_tool_free(&p);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hold_retrieve_dtmf, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_transfer, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_conference_and_redirect, setup, tool_teardown),
        cmocka_unit_test_setup_teardown(test_pickup, setup, tool_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
