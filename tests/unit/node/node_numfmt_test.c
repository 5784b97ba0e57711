//  node_numfmt tests: canonical numbers from the location, dialable numbers, rules (first
//  match wins, groups), and what is not a telephone number.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_numfmt.h"

typedef struct {
    node_numfmt_dir_t dir;
    const char *in;
    const char *out;
} s_case_t;

static void s_location(node_numbers_cfg_t *cfg, const char *cc, const char *area,
                       const char *local)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->country_code, sizeof cfg->country_code, "%s", cc);
    snprintf(cfg->area_code, sizeof cfg->area_code, "%s", area);
    snprintf(cfg->local_prefix, sizeof cfg->local_prefix, "%s", local);
    snprintf(cfg->international_prefix, sizeof cfg->international_prefix, "00");
    snprintf(cfg->national_prefix, sizeof cfg->national_prefix, "0");
}

static void s_check(const node_numfmt_t *f, const s_case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char out[CSTA_DIGITS_MAX + 1];
        int rc = node_numfmt_format(f, cases[i].dir, cases[i].in, out, sizeof out);
        if (rc != 0 || strcmp(out, cases[i].out) != 0)
            fail_msg("%s '%s': want '%s', got '%s' (rc %d)", node_numfmt_dir_str(cases[i].dir),
                     cases[i].in, cases[i].out, out, rc);
    }
}

#define IN NODE_NUMFMT_INCOMING
#define OUT NODE_NUMFMT_OUTGOING
#define DIAL NODE_NUMFMT_DIALLING

static void berlin_with_outside_line_zero(void **state)
{
    (void) state;
    node_numbers_cfg_t cfg;
    s_location(&cfg, "49", "30", "0");
    node_numfmt_t *f = node_numfmt_new(&cfg, NULL, 0);
    assert_non_null(f);
    const s_case_t cases[] = {
        //  The brief's examples.
        {IN, "0301234567", "+49301234567"},
        {IN, "01701234567", "+491701234567"},
        {IN, "101", "101"},
        //  More callers.
        {IN, "00442071234567", "+442071234567"},
        {IN, "+49301234567", "+49301234567"},
        {IN, "0", "0"},                         //  only a prefix: not a national number
        {IN, "1234567", "1234567"},             //  no prefix: cannot tell, unchanged
        {IN, "030 / 123-45 67", "+49301234567"},//  separators dropped
        {IN, "(030) 1234567", "+49301234567"},
        {IN, "*21#", "*21#"},
        //  What extensions dialled, with the outside-line digit.
        {OUT, "00301234567", "+49301234567"},
        {OUT, "01234567", "+49301234567"},      //  a subscriber in our own area
        {OUT, "000442071234567", "+442071234567"},
        {OUT, "101", "101"},
        {OUT, "0", "0"},
        //  Dialling: the outside-line digit, then the national or international form; the
        //  area code is dialled within the area too (node_numfmt.h says why).
        {DIAL, "+49301234567", "00301234567"},
        {DIAL, "+494012345678", "004012345678"},
        {DIAL, "+442071234567", "000442071234567"},
        {DIAL, "+1 (212) 555-1234", "00012125551234"},
        {DIAL, "101", "101"},
        {DIAL, "0301234567", "0301234567"},     //  already dialable: unchanged
        {DIAL, "+49 30 1234567", "00301234567"},
    };
    s_check(f, cases, sizeof cases / sizeof cases[0]);
    node_numfmt_destroy(&f);
    node_numfmt_destroy(&f);
    assert_null(f);
}

//  The brief's dialling example as a PBX that seizes the outside line itself sees it.
static void berlin_without_outside_line_prefix(void **state)
{
    (void) state;
    node_numbers_cfg_t cfg;
    s_location(&cfg, "49", "30", "");
    node_numfmt_t *f = node_numfmt_new(&cfg, NULL, 0);
    const s_case_t cases[] = {
        {DIAL, "+49301234567", "0301234567"},
        {DIAL, "+442071234567", "00442071234567"},
        {IN, "0301234567", "+49301234567"},
        {OUT, "0301234567", "+49301234567"},    //  no outside-line digit to strip
        {OUT, "101", "101"},
    };
    s_check(f, cases, sizeof cases / sizeof cases[0]);
    node_numfmt_destroy(&f);
}

static void other_locations(void **state)
{
    (void) state;
    node_numbers_cfg_t cfg;
    //  A US PBX: outside line 9, international 011, national (long distance) 1.
    s_location(&cfg, "1", "212", "9");
    snprintf(cfg.international_prefix, sizeof cfg.international_prefix, "011");
    snprintf(cfg.national_prefix, sizeof cfg.national_prefix, "1");
    node_numfmt_t *f = node_numfmt_new(&cfg, NULL, 0);
    const s_case_t us[] = {
        {IN, "12125551234", "+12125551234"},
        {IN, "011442071234567", "+442071234567"},
        {OUT, "915551234567", "+15551234567"},
        {OUT, "95551234", "+12125551234"},      //  a local number: our area
        {DIAL, "+12125551234", "912125551234"},
        {DIAL, "+442071234567", "9011442071234567"},
    };
    s_check(f, us, sizeof us / sizeof us[0]);
    node_numfmt_destroy(&f);
    //  No country code: the location is off; only rules apply.
    s_location(&cfg, "", "", "0");
    f = node_numfmt_new(&cfg, NULL, 0);
    const s_case_t off[] = {
        {IN, "0301234567", "0301234567"},
        {DIAL, "+49301234567", "+49301234567"},
    };
    s_check(f, off, sizeof off / sizeof off[0]);
    node_numfmt_destroy(&f);
}

static void rules_first_match_wins_with_groups(void **state)
{
    (void) state;
    node_numbers_cfg_t cfg;
    s_location(&cfg, "49", "30", "0");
    node_numrule_t incoming[] = {
        //  This PBX puts its outside-line digit before external callers.
        {"^0(0[1-9][0-9]+)$", "\\1"},
        //  Never reached for these numbers: the first rule already matched.
        {"^00", "X"},
        //  Swap two groups, keep the unmatched tail.
        {"^([0-9])([0-9])#", "\\2\\1-"},
    };
    node_numrule_t dialling[] = {
        {"^\\+4930([0-9]+)$", "0\\1"},          //  local dialling within Berlin
        {"^(110|112)$", "0\\1"},                //  emergency through the outside line
        {"^9([0-9]+)$", "\\\\\\1\\9"},          //  \\ is a backslash, \9 unmatched: empty
    };
    cfg.incoming = incoming;
    cfg.incoming_count = 3;
    cfg.dialling = dialling;
    cfg.dialling_count = 3;
    node_numfmt_t *f = node_numfmt_new(&cfg, NULL, 0);
    assert_non_null(f);
    const s_case_t cases[] = {
        {IN, "00301234567", "+49301234567"},    //  rule 1, then the location
        {IN, "000123", "X0123"},                //  rule 1 does not match, rule 2 does
        {IN, "12#345", "21-345"},               //  rule 3: "21-345" then no prefix
        {IN, "101", "101"},
        {DIAL, "+49301234567", "01234567"},     //  a dialling rule is final
        {DIAL, "+494012345678", "004012345678"},
        {DIAL, "112", "0112"},
        {DIAL, "1120", "1120"},
        {DIAL, "95", "\\5"},
    };
    s_check(f, cases, sizeof cases / sizeof cases[0]);
    node_numfmt_destroy(&f);
}

static void not_numbers_pass_unchanged(void **state)
{
    (void) state;
    node_numbers_cfg_t cfg;
    s_location(&cfg, "49", "30", "0");
    node_numrule_t all[] = {{".*", "ruled"}};
    cfg.incoming = all;
    cfg.incoming_count = 1;
    node_numfmt_t *f = node_numfmt_new(&cfg, NULL, 0);
    const s_case_t cases[] = {
        {IN, "anonymous", "anonymous"},
        {IN, "sip:alice@example.com", "sip:alice@example.com"},
        {IN, "", ""},
        {IN, "+", "+"},
        {IN, "12+3", "12+3"},
        {DIAL, "Alice Smith", "Alice Smith"},
    };
    s_check(f, cases, sizeof cases / sizeof cases[0]);
    node_numfmt_destroy(&f);
}

static void small_buffers_and_bad_input(void **state)
{
    (void) state;
    node_numbers_cfg_t cfg;
    s_location(&cfg, "49", "30", "0");
    node_numfmt_t *f = node_numfmt_new(&cfg, NULL, 0);
    char out[8];
    assert_int_equal(node_numfmt_format(f, IN, "0301234567", out, sizeof out), -ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(node_numfmt_format(f, IN, "101", out, sizeof out), 0);
    assert_int_equal(node_numfmt_format(f, IN, NULL, out, sizeof out), -EINVAL);
    char big[2000];
    memset(big, '5', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char res[CSTA_DIGITS_MAX + 1];
    assert_int_equal(node_numfmt_format(f, DIAL, big, res, sizeof res), -ENOSPC);
    node_numfmt_destroy(&f);
    //  A pattern that does not compile (the loader rejects it first) is refused here too.
    node_numrule_t bad[] = {{"(", ""}};
    cfg.outgoing = bad;
    cfg.outgoing_count = 1;
    char err[128];
    assert_null(node_numfmt_new(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "numbers.outgoing[0].match"));
}

static void direction_names(void **state)
{
    (void) state;
    node_numfmt_dir_t d;
    assert_int_equal(node_numfmt_dir_parse("incoming", &d), 0);
    assert_int_equal(d, IN);
    assert_int_equal(node_numfmt_dir_parse("dialing", &d), 0);
    assert_int_equal(d, DIAL);
    assert_int_equal(node_numfmt_dir_parse("outgoing", &d), 0);
    assert_int_equal(d, OUT);
    assert_int_equal(node_numfmt_dir_parse("sideways", &d), -EINVAL);
    assert_string_equal(node_numfmt_dir_str(DIAL), "dialling");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(berlin_with_outside_line_zero),
        cmocka_unit_test(berlin_without_outside_line_prefix),
        cmocka_unit_test(other_locations),
        cmocka_unit_test(rules_first_match_wins_with_groups),
        cmocka_unit_test(not_numbers_pass_unchanged),
        cmocka_unit_test(small_buffers_and_bad_input),
        cmocka_unit_test(direction_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
