//  node_metrics tests: the exposition text line by line, escaping, histograms, the series
//  cap, and promtool's verdict on a render when promtool is installed.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_metrics.h"

#define ASSERT_HAS(text, line)                                                                   \
    do {                                                                                         \
        if (!strstr(text, line))                                                                 \
            fail_msg("missing \"%s\" in:\n%s", line, text);                                      \
    } while (0)

static void counters_get_total_suffix_and_type_lines(void **state)
{
    (void) state;
    node_metrics_t *m = node_metrics_new();
    node_metric_t *c = node_metrics_counter(m, "pbx_requests", "Requests sent to a PBX.", "pbx");
    node_metric_t *same = node_metrics_counter(m, "pbx_requests", "Requests sent to a PBX.", "pbx");
    assert_ptr_equal(c, same);
    node_metric_t *up = node_metrics_gauge(m, "pbx_link_up", "1 while the link is up.", "pbx");
    node_metric_t *plain = node_metrics_counter(m, "config_reloads_total", "Reloads.", NULL);
    node_metric_add(c, (const char *[]){"main"}, 1);
    node_metric_add(c, (const char *[]){"main"}, 2);
    node_metric_add(c, (const char *[]){"main"}, -5);   //  counters never go down
    node_metric_add(c, (const char *[]){"second"}, 1);
    node_metric_set(up, (const char *[]){"main"}, 1);
    node_metric_add(plain, NULL, 1);
    assert_true(node_metric_value(c, (const char *[]){"main"}) == 3);
    assert_true(node_metric_value(c, (const char *[]){"none"}) == 0);
    char *text = node_metrics_render(m);
    assert_string_equal(text, "# HELP ctim_pbx_requests_total Requests sent to a PBX.\n"
                              "# TYPE ctim_pbx_requests_total counter\n"
                              "ctim_pbx_requests_total{pbx=\"main\"} 3\n"
                              "ctim_pbx_requests_total{pbx=\"second\"} 1\n"
                              "# HELP ctim_pbx_link_up 1 while the link is up.\n"
                              "# TYPE ctim_pbx_link_up gauge\n"
                              "ctim_pbx_link_up{pbx=\"main\"} 1\n"
                              "# HELP ctim_config_reloads_total Reloads.\n"
                              "# TYPE ctim_config_reloads_total counter\n"
                              "ctim_config_reloads_total 1\n");
    free(text);
    node_metrics_destroy(&m);
    node_metrics_destroy(&m);
    assert_null(m);
}

static void label_values_and_help_are_escaped(void **state)
{
    (void) state;
    node_metrics_t *m = node_metrics_new();
    node_metric_t *g = node_metrics_gauge(m, "app_info", "Help with \\ and\nnewline.", "user,addr");
    node_metric_set(g, (const char *[]){"a\"b\\c\nd", "1.2.3.4"}, 1);
    char *text = node_metrics_render(m);
    ASSERT_HAS(text, "# HELP ctim_app_info Help with \\\\ and\\nnewline.\n");
    ASSERT_HAS(text, "ctim_app_info{user=\"a\\\"b\\\\c\\nd\",addr=\"1.2.3.4\"} 1\n");
    free(text);
    node_metrics_destroy(&m);
}

static void values_print_as_prometheus_reads_them(void **state)
{
    (void) state;
    node_metrics_t *m = node_metrics_new();
    node_metric_t *g = node_metrics_gauge(m, "v", "Values.", "k");
    node_metric_set(g, (const char *[]){"a"}, 0.1);
    node_metric_set(g, (const char *[]){"b"}, -2.5e-7);
    node_metric_set(g, (const char *[]){"c"}, INFINITY);
    node_metric_set(g, (const char *[]){"d"}, NAN);
    node_metric_set(g, (const char *[]){"e"}, 1234567890123.0);
    node_metric_set(g, (const char *[]){"f"}, 1e20);
    char *text = node_metrics_render(m);
    ASSERT_HAS(text, "ctim_v{k=\"a\"} 0.1\n");
    ASSERT_HAS(text, "ctim_v{k=\"b\"} -2.5e-07\n");
    ASSERT_HAS(text, "ctim_v{k=\"c\"} +Inf\n");
    ASSERT_HAS(text, "ctim_v{k=\"d\"} NaN\n");
    ASSERT_HAS(text, "ctim_v{k=\"e\"} 1234567890123\n");
    ASSERT_HAS(text, "ctim_v{k=\"f\"} 1e+20\n");
    free(text);
    node_metrics_destroy(&m);
}

static void histograms_have_cumulative_buckets_sum_and_count(void **state)
{
    (void) state;
    node_metrics_t *m = node_metrics_new();
    const double buckets[] = {0.005, 0.05, 0.5, INFINITY};
    node_metric_t *h = node_metrics_histogram(m, "pbx_request_seconds",
                                              "Time to the PBX's answer.", "pbx", buckets, 4);
    const char *main_pbx[] = {"main"};
    node_metric_observe(h, main_pbx, 0.001);
    node_metric_observe(h, main_pbx, 0.005);    //  le is inclusive
    node_metric_observe(h, main_pbx, 0.2);
    node_metric_observe(h, main_pbx, 7);
    char *text = node_metrics_render(m);
    assert_string_equal(text, "# HELP ctim_pbx_request_seconds Time to the PBX's answer.\n"
                              "# TYPE ctim_pbx_request_seconds histogram\n"
                              "ctim_pbx_request_seconds_bucket{pbx=\"main\",le=\"0.005\"} 2\n"
                              "ctim_pbx_request_seconds_bucket{pbx=\"main\",le=\"0.05\"} 2\n"
                              "ctim_pbx_request_seconds_bucket{pbx=\"main\",le=\"0.5\"} 3\n"
                              "ctim_pbx_request_seconds_bucket{pbx=\"main\",le=\"+Inf\"} 4\n"
                              "ctim_pbx_request_seconds_sum{pbx=\"main\"} 7.206\n"
                              "ctim_pbx_request_seconds_count{pbx=\"main\"} 4\n");
    assert_true(node_metric_value(h, main_pbx) == 4);
    free(text);
    //  Without labels the le label stands alone.
    node_metric_t *h2 = node_metrics_histogram(m, "login_seconds", "Login checks.", NULL,
                                               (const double[]){1}, 1);
    node_metric_observe(h2, NULL, 2);
    text = node_metrics_render(m);
    ASSERT_HAS(text, "ctim_login_seconds_bucket{le=\"1\"} 0\n"
                     "ctim_login_seconds_bucket{le=\"+Inf\"} 1\n");
    ASSERT_HAS(text, "ctim_login_seconds_sum 2\nctim_login_seconds_count 1\n");
    free(text);
    node_metrics_destroy(&m);
}

static void peer_chosen_labels_cannot_grow_without_bound(void **state)
{
    (void) state;
    node_metrics_t *m = node_metrics_new();
    node_metric_t *c = node_metrics_counter(m, "logins", "Logins.", "user");
    char name[32];
    for (int i = 0; i < 10050; i++) {
        snprintf(name, sizeof name, "u%d", i);
        node_metric_add(c, (const char *[]){name}, 1);
    }
    node_metric_add(c, (const char *[]){"u5"}, 1);      //  existing series still count
    assert_true(node_metric_value(c, (const char *[]){"u5"}) == 2);
    assert_true(node_metric_value(c, (const char *[]){"u10049"}) == 0);
    char *text = node_metrics_render(m);
    ASSERT_HAS(text, "\nctim_metrics_series_dropped_total 50\n");
    free(text);
    node_metrics_destroy(&m);
}

//  promtool (Debian package prometheus) checks the exposition format and its lint rules.
static void promtool_accepts_a_render(void **state)
{
    (void) state;
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        skip();
    node_metrics_t *m = node_metrics_new();
    node_metric_t *c = node_metrics_counter(m, "apps_connected", "Applications that connected.",
                                            "pbx,transport");
    node_metric_add(c, (const char *[]){"main", "tcp"}, 3);
    node_metric_add(c, (const char *[]){"we\"ird\\\nname", "tls"}, 1);
    node_metric_t *g = node_metrics_gauge(m, "apps", "Applications connected now.", NULL);
    node_metric_set(g, NULL, 2);
    node_metrics_gauge(m, "unused", "A family without series yet.", "x");
    const double b[] = {0.001, 0.01, 0.1, 1};
    node_metric_t *h =
        node_metrics_histogram(m, "request_seconds", "Request latency.", "pbx", b, 4);
    node_metric_observe(h, (const char *[]){"main"}, 0.02);
    node_metric_observe(h, (const char *[]){"second"}, 3);
    char *text = node_metrics_render(m);
    char path[] = "/tmp/ctim-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    unlink(path);
    if (status != 0 || n != 0)
        fail_msg("promtool: %s\non:\n%s", out, text);
    free(text);
    node_metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_get_total_suffix_and_type_lines),
        cmocka_unit_test(label_values_and_help_are_escaped),
        cmocka_unit_test(values_print_as_prometheus_reads_them),
        cmocka_unit_test(histograms_have_cumulative_buckets_sum_and_count),
        cmocka_unit_test(peer_chosen_labels_cannot_grow_without_bound),
        cmocka_unit_test(promtool_accepts_a_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
