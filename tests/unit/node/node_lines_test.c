//  node_lines tests: import with its errors, export round trip, lookups, the config's lines.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_lines.h"

static void import_skips_comments_and_keeps_commas_in_names(void **state)
{
    (void) state;
    node_lines_t *l = node_lines_new();
    char err[512];
    int rc = node_lines_import(l,
                               "# our lines\n\n101,Reception\r\n 102 , Smith, John \n103\n"
                               "*55,Voicemail\n+4930123,Berlin office",
                               "t", err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(node_lines_count(l), 5);
    assert_string_equal(node_lines_name(l, "101"), "Reception");
    assert_string_equal(node_lines_name(l, "102"), "Smith, John");
    assert_string_equal(node_lines_name(l, "103"), "");
    assert_string_equal(node_lines_name(l, "*55"), "Voicemail");
    assert_string_equal(node_lines_name(l, "+4930123"), "Berlin office");
    assert_null(node_lines_name(l, "104"));
    assert_null(node_lines_name(l, NULL));
    node_lines_destroy(&l);
    node_lines_destroy(&l);
}

static void import_errors_name_source_and_line_and_change_nothing(void **state)
{
    (void) state;
    node_lines_t *l = node_lines_new();
    assert_int_equal(node_lines_set(l, "101", "Old"), 0);
    char err[1024];
    char long_name[100];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char text[512];
    snprintf(text, sizeof text, "101,New\n\n# c\nabc,Bad\n102,A\n102,B\n103,%s\n,empty\n",
             long_name);
    assert_int_equal(node_lines_import(l, text, "lines.txt", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "lines.txt:4: 'abc' is not a line number"));
    assert_non_null(strstr(err, "lines.txt:6: 102 is listed at line 5 too"));
    assert_non_null(strstr(err, "lines.txt:7: name of 103 is longer than 64"));
    assert_non_null(strstr(err, "lines.txt:8: '' is not a line number"));
    assert_string_equal(node_lines_name(l, "101"), "Old");     //  all or nothing
    assert_int_equal(node_lines_count(l), 1);
    node_lines_destroy(&l);
}

static void export_reads_back_and_import_renames(void **state)
{
    (void) state;
    node_lines_t *a = node_lines_new();
    assert_int_equal(node_lines_set(a, "201", "Alice"), 0);
    assert_int_equal(node_lines_set(a, "200", "Bob, Jr."), 0);
    assert_int_equal(node_lines_set(a, "201", "Alice B."), 0);     //  a rename keeps its place
    assert_int_equal(node_lines_set(a, "20 1", "x"), -EINVAL);
    assert_int_equal(node_lines_set(a, "202", "tab\there"), -EINVAL);
    char *text = node_lines_export(a);
    assert_string_equal(text, "# ctim lines: number,name\n201,Alice B.\n200,Bob, Jr.\n");
    node_lines_t *b = node_lines_new();
    assert_int_equal(node_lines_set(b, "200", "Someone else"), 0);
    assert_int_equal(node_lines_import(b, text, "export", NULL, 0), 0);
    char *again = node_lines_export(b);
    assert_string_equal(again, "# ctim lines: number,name\n200,Bob, Jr.\n201,Alice B.\n");
    free(text);
    free(again);
    node_lines_destroy(&a);
    node_lines_destroy(&b);
}

static void lines_from_config_and_file(void **state)
{
    (void) state;
    char path[] = "/tmp/ctim-lines-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *file = "102,From file\n103,Third\n";
    assert_int_equal(write(fd, file, strlen(file)), (ssize_t) strlen(file));
    close(fd);
    node_line_cfg_t lines[] = {{"101", "From config"}, {"102", "Config name"}};
    node_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.lines = lines;
    cfg.line_count = 2;
    snprintf(cfg.lines_file, sizeof cfg.lines_file, "%s", path);
    node_lines_t *l = node_lines_new();
    char err[256];
    assert_int_equal(node_lines_load_cfg(l, &cfg, err, sizeof err), 0);
    assert_int_equal(node_lines_count(l), 3);
    assert_string_equal(node_lines_name(l, "101"), "From config");
    assert_string_equal(node_lines_name(l, "102"), "From file");   //  the file comes second
    unlink(path);
    node_lines_t *m = node_lines_new();
    assert_int_equal(node_lines_load_cfg(m, &cfg, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "cannot read"));
    node_lines_destroy(&l);
    node_lines_destroy(&m);
}

static void many_lines_look_up(void **state)
{
    (void) state;
    node_lines_t *l = node_lines_new();
    char number[16], name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(number, sizeof number, "%d", 100000 + i);
        snprintf(name, sizeof name, "Line %d", i);
        assert_int_equal(node_lines_set(l, number, name), 0);
    }
    assert_string_equal(node_lines_name(l, "119999"), "Line 19999");
    assert_string_equal(node_lines_name(l, "100000"), "Line 0");
    node_lines_destroy(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(import_skips_comments_and_keeps_commas_in_names),
        cmocka_unit_test(import_errors_name_source_and_line_and_change_nothing),
        cmocka_unit_test(export_reads_back_and_import_renames),
        cmocka_unit_test(lines_from_config_and_file),
        cmocka_unit_test(many_lines_look_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
