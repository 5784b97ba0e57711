//  node_log tests: the line format, levels, the journal prefix and one line per call.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_log.h"

static char s_buf[8192];

//  Everything logged since the last call.
static const char *s_captured(FILE *f)
{
    fflush(f);
    long len = ftell(f);
    rewind(f);
    size_t want = (size_t) len < sizeof s_buf - 1 ? (size_t) len : sizeof s_buf - 1;
    size_t n = fread(s_buf, 1, want, f);
    s_buf[n] = '\0';
    rewind(f);
    if (ftruncate(fileno(f), 0) != 0)
        fail();
    return s_buf;
}

static void lines_carry_node_subsystem_and_level(void **state)
{
    (void) state;
    unsetenv("JOURNAL_STREAM");
    FILE *f = tmpfile();
    node_log_set_stream(f);
    node_log_init("node-a", NODE_LOG_INFO);
    node_notice("link", "ASSOCIATED pbx=%s host=%s:%d", "main", "127.0.0.1", 33333);
    const char *out = s_captured(f);
    assert_non_null(
        strstr(out, " notice  (node-a) link: ASSOCIATED pbx=main host=127.0.0.1:33333\n"));
    //  "YYYY-MM-DD HH:MM:SS.mmm " in front.
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], ' ');
    assert_int_equal(out[19], '.');
    node_log_set_stream(NULL);
    fclose(f);
}

static void levels_filter_and_change(void **state)
{
    (void) state;
    FILE *f = tmpfile();
    node_log_set_stream(f);
    node_log_init("n", NODE_LOG_WARNING);
    node_info("x", "hidden");
    node_debug("x", "hidden too");
    node_warning("x", "shown");
    node_error("x", "shown too");
    const char *out = s_captured(f);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "warning (n) x: shown\n"));
    assert_non_null(strstr(out, "error   (n) x: shown too\n"));
    assert_false(node_log_enabled(NODE_LOG_NOTICE));
    node_log_set_level(NODE_LOG_DEBUG);
    assert_int_equal(node_log_level(), NODE_LOG_DEBUG);
    node_debug("x", "now %d", 1);
    assert_non_null(strstr(s_captured(f), "debug   (n) x: now 1\n"));
    node_log_set_stream(NULL);
    fclose(f);
}

static void journal_gets_priority_prefix(void **state)
{
    (void) state;
    FILE *f = tmpfile();
    node_log_set_stream(f);
    node_log_init("node-b", NODE_LOG_DEBUG);
    setenv("JOURNAL_STREAM", "8:1234", 1);
    node_error("ha", "e");
    node_warning("ha", "w");
    node_notice("ha", "n");
    node_info("ha", "i");
    node_debug("ha", "d");
    unsetenv("JOURNAL_STREAM");
    assert_string_equal(s_captured(f), "<3>(node-b) ha: e\n<4>(node-b) ha: w\n"
                                       "<5>(node-b) ha: n\n<6>(node-b) ha: i\n"
                                       "<7>(node-b) ha: d\n");
    node_log_set_stream(NULL);
    fclose(f);
}

static void peer_text_cannot_break_the_line(void **state)
{
    (void) state;
    FILE *f = tmpfile();
    node_log_set_stream(f);
    node_log_init("n", NODE_LOG_INFO);
    setenv("JOURNAL_STREAM", "1:1", 1);
    node_notice("csta", "login user=%s", "evil\n<3>(n) fake: line\x1b[31m");
    unsetenv("JOURNAL_STREAM");
    assert_string_equal(s_captured(f),
                        "<5>(n) csta: login user=evil\\x0a<3>(n) fake: line\\x1b[31m\n");
    //  A very long message is cut, still one line.
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    node_notice("csta", "%s", big);
    const char *out = s_captured(f);
    assert_int_equal(strchr(out, '\n') - out + 1, (long) strlen(out));
    assert_non_null(strstr(out, "...\n"));
    assert_true(strlen(out) < 2300);
    node_log_set_stream(NULL);
    fclose(f);
}

static void level_names(void **state)
{
    (void) state;
    assert_string_equal(node_log_level_str(NODE_LOG_ERROR), "error");
    assert_string_equal(node_log_level_str(NODE_LOG_NOTICE), "notice");
    assert_string_equal(node_log_level_str(NODE_LOG_DEBUG), "debug");
    assert_string_equal(node_log_level_str((node_log_level_t) 42), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_carry_node_subsystem_and_level),
        cmocka_unit_test(levels_filter_and_change),
        cmocka_unit_test(journal_gets_priority_prefix),
        cmocka_unit_test(peer_text_cannot_break_the_line),
        cmocka_unit_test(level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
