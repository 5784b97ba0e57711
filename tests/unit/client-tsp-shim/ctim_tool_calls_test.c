//  ctim_tool_calls: the calls the ctim tool tracks per line, and which one a command given
//  no CALLID acts on (offering, active or held; the oldest first; idle forgets).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctim_calls.h"

static void s_ev(ctim_calls_t *calls, const char *line, const char *id, ctim_call_state_t s)
{
    ctim_call_event_t ev = {.line = line, .call_id = id, .state = s, .caller_number = "",
                            .caller_name = "", .called_number = "", .called_name = "",
                            .cause = ""};
    assert_int_equal(ctim_calls_update(calls, &ev), 0);
}

static void picks_by_state_per_line(void **state)
{
    (void)state;
    ctim_calls_t *c = ctim_calls_new();
    assert_non_null(c);
    const char *id = "x";
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_ACTIVE, &id), 0);
    assert_null(id);

    s_ev(c, "102", "a", CTIM_CALL_OFFERING);
    s_ev(c, "101", "a", CTIM_CALL_RINGBACK);
    assert_int_equal(ctim_calls_pick(c, "102", CTIM_PICK_OFFERING, &id), 1);
    assert_string_equal(id, "a");
    assert_int_equal(ctim_calls_pick(c, "102", CTIM_PICK_ACTIVE, &id), 0);
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_OFFERING, &id), 0);
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_ACTIVE, &id), 1);
    assert_string_equal(id, "a");

    //  The same call changes state at 102: offering -> connected -> held.
    s_ev(c, "102", "a", CTIM_CALL_CONNECTED);
    assert_int_equal(ctim_calls_pick(c, "102", CTIM_PICK_OFFERING, &id), 0);
    assert_int_equal(ctim_calls_pick(c, "102", CTIM_PICK_ACTIVE, &id), 1);
    s_ev(c, "102", "a", CTIM_CALL_ON_HOLD);
    assert_int_equal(ctim_calls_pick(c, "102", CTIM_PICK_HELD, &id), 1);
    assert_int_equal(ctim_calls_state(c, "102", "a"), CTIM_CALL_ON_HOLD);
    assert_int_equal(ctim_calls_state(c, "101", "a"), CTIM_CALL_RINGBACK);

    //  Idle forgets the call at that line only.
    s_ev(c, "102", "a", CTIM_CALL_IDLE);
    assert_int_equal(ctim_calls_state(c, "102", "a"), CTIM_CALL_IDLE);
    assert_int_equal(ctim_calls_pick(c, "102", CTIM_PICK_HELD, &id), 0);
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_ACTIVE, &id), 1);
    s_ev(c, "101", "zz", CTIM_CALL_IDLE);      //  idle of an unknown call: nothing
    ctim_calls_destroy(&c);
    assert_null(c);
    ctim_calls_destroy(&c);                    //  safe twice
}

static void every_state_has_one_pick(void **state)
{
    (void)state;
    const struct {
        ctim_call_state_t s;
        int pick;       //  -1: none
    } map[] = {
        {CTIM_CALL_UNKNOWN, -1},
        {CTIM_CALL_OFFERING, CTIM_PICK_OFFERING},
        {CTIM_CALL_ACCEPTED, CTIM_PICK_ACTIVE},
        {CTIM_CALL_DIAL_TONE, CTIM_PICK_ACTIVE},
        {CTIM_CALL_DIALLING, CTIM_PICK_ACTIVE},
        {CTIM_CALL_RINGBACK, CTIM_PICK_ACTIVE},
        {CTIM_CALL_BUSY, CTIM_PICK_ACTIVE},
        {CTIM_CALL_CONNECTED, CTIM_PICK_ACTIVE},
        {CTIM_CALL_PROCEEDING, CTIM_PICK_ACTIVE},
        {CTIM_CALL_ON_HOLD, CTIM_PICK_HELD},
        {CTIM_CALL_CONFERENCED, CTIM_PICK_ACTIVE},
        {CTIM_CALL_ON_HOLD_PENDING_CONFERENCE, CTIM_PICK_HELD},
        {CTIM_CALL_ON_HOLD_PENDING_TRANSFER, CTIM_PICK_HELD},
        {CTIM_CALL_DISCONNECTED, CTIM_PICK_ACTIVE},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        ctim_calls_t *c = ctim_calls_new();
        s_ev(c, "101", "c1", map[i].s);
        for (int p = CTIM_PICK_OFFERING; p <= CTIM_PICK_HELD; p++) {
            const char *id;
            size_t n = ctim_calls_pick(c, "101", (ctim_pick_t)p, &id);
            if (n != (p == map[i].pick ? 1u : 0u))
                fail_msg("state %s: pick %d gives %zu calls", ctim_call_state_str(map[i].s), p,
                         n);
        }
        ctim_calls_destroy(&c);
    }
}

static void oldest_first_newest_and_list(void **state)
{
    (void)state;
    ctim_calls_t *c = ctim_calls_new();
    s_ev(c, "101", "held1", CTIM_CALL_ON_HOLD);
    s_ev(c, "101", "ring1", CTIM_CALL_OFFERING);
    s_ev(c, "101", "ring2", CTIM_CALL_OFFERING);
    s_ev(c, "101", "act1", CTIM_CALL_CONNECTED);
    s_ev(c, "101", "act2", CTIM_CALL_RINGBACK);
    s_ev(c, "102", "other", CTIM_CALL_CONNECTED);
    const char *id;
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_OFFERING, &id), 2);
    assert_string_equal(id, "ring1");
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_ACTIVE, &id), 2);
    assert_string_equal(id, "act1");
    char list[64];
    ctim_calls_list(c, "101", CTIM_PICK_ACTIVE, list, sizeof list);
    assert_string_equal(list, "act1, act2");
    ctim_calls_list(c, "103", CTIM_PICK_ACTIVE, list, sizeof list);
    assert_string_equal(list, "");
    char tiny[6];
    ctim_calls_list(c, "101", CTIM_PICK_OFFERING, tiny, sizeof tiny);
    assert_string_equal(tiny, "ring1");     //  cut, still terminated

    //  The consultation call is the newest at the line other than the held one.
    assert_string_equal(ctim_calls_newest(c, "101", "act2"), "act1");
    assert_string_equal(ctim_calls_newest(c, "101", NULL), "act2");
    assert_string_equal(ctim_calls_newest(c, "102", "nothing"), "other");
    assert_null(ctim_calls_newest(c, "102", "other"));
    assert_null(ctim_calls_newest(c, "104", NULL));

    //  Removing from the middle keeps the order of the rest.
    s_ev(c, "101", "ring1", CTIM_CALL_IDLE);
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_OFFERING, &id), 1);
    assert_string_equal(id, "ring2");
    ctim_calls_destroy(&c);
}

static void events_without_a_call_id_are_ignored(void **state)
{
    (void)state;
    ctim_calls_t *c = ctim_calls_new();
    s_ev(c, "101", "", CTIM_CALL_OFFERING);
    ctim_call_event_t ev = {.line = "101", .call_id = NULL, .state = CTIM_CALL_OFFERING};
    assert_int_equal(ctim_calls_update(c, &ev), 0);
    const char *id;
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_OFFERING, &id), 0);
    //  Many calls: the table grows.
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "c%d", i);
        s_ev(c, "101", name, CTIM_CALL_OFFERING);
    }
    assert_int_equal(ctim_calls_pick(c, "101", CTIM_PICK_OFFERING, &id), 100);
    assert_string_equal(id, "c0");
    ctim_calls_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_by_state_per_line),
        cmocka_unit_test(every_state_has_one_pick),
        cmocka_unit_test(oldest_first_newest_and_list),
        cmocka_unit_test(events_without_a_call_id_are_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
