//  node_config tests for the cluster keys (cluster:, pbx[].priority): defaults (no peers:
//  a single node), a full cluster section, the errors with their file, line and key, and
//  printing that loads back.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_config.h"

static char s_dir[64];
static char s_file[128];
static char s_err[8192];

static int s_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-config-cl-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    snprintf(s_file, sizeof s_file, "%s/ctimd.yaml", s_dir);
    return 0;
}

static int s_teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int s_load(node_cfg_t *cfg, const char *text)
{
    FILE *f = fopen(s_file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return node_config_load(cfg, s_file, s_err, sizeof s_err);
}

static void s_expect_error(const char *text, int line, const char *key, const char *what)
{
    node_cfg_t cfg;
    int rc = s_load(&cfg, text);
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s: %s", s_file, line, key, what);
    if (rc != -EINVAL || !strstr(s_err, want))
        fail_msg("expected \"%s\"\n got rc %d: %s", want, rc, s_err);
    node_config_free(&cfg);
}

static void no_cluster_section_is_a_single_node(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, "pbx:\n  - host: 10.0.0.1\n"), 0);
    assert_int_equal(cfg.cluster.peer_count, 0);
    assert_null(cfg.cluster.peers);
    assert_string_equal(cfg.cluster.listen, "0.0.0.0");
    assert_int_equal(cfg.cluster.port, 2749);
    assert_int_equal(cfg.cluster.heartbeat_ms, 100);
    assert_int_equal(cfg.cluster.lost_after, 5);
    assert_string_equal(cfg.cluster.state_dir, "/var/lib/ctimd");
    assert_int_equal(cfg.pbx[0].priority, 100);
    node_config_free(&cfg);
}

static void s_no_change(void *arg, const char *key, const char *old_value, const char *new_value,
                        bool reloadable)
{
    (void) arg;
    (void) reloadable;
    fail_msg("%s changed: %s -> %s", key, old_value, new_value);
}

static void cluster_section_loads_and_prints_back(void **state)
{
    (void) state;
    node_cfg_t cfg;
    const char *text = "node:\n  id: node-a\n"
                       "pbx:\n  - name: main\n    priority: 10\n  - name: second\n"
                       "cluster:\n  listen: 127.0.0.1\n  port: 4749\n"
                       "  peers:\n"
                       "    - id: node-b\n      endpoint: 10.0.0.2:2749\n"
                       "    - {id: node-c, endpoint: \"[fd00::3]:2749\"}\n"
                       "  heartbeat_ms: 50\n  lost_after: 4\n  state_dir: /tmp/ctim-state\n";
    int rc = s_load(&cfg, text);
    if (rc)
        fail_msg("%s", s_err);
    assert_int_equal(cfg.pbx[0].priority, 10);
    assert_int_equal(cfg.pbx[1].priority, 100);
    assert_string_equal(cfg.cluster.listen, "127.0.0.1");
    assert_int_equal(cfg.cluster.port, 4749);
    assert_int_equal(cfg.cluster.peer_count, 2);
    assert_string_equal(cfg.cluster.peers[0].id, "node-b");
    assert_string_equal(cfg.cluster.peers[0].endpoint, "10.0.0.2:2749");
    assert_string_equal(cfg.cluster.peers[1].id, "node-c");
    assert_string_equal(cfg.cluster.peers[1].endpoint, "[fd00::3]:2749");
    assert_int_equal(cfg.cluster.heartbeat_ms, 50);
    assert_int_equal(cfg.cluster.lost_after, 4);
    assert_string_equal(cfg.cluster.state_dir, "/tmp/ctim-state");

    //  What --check-config prints loads back to the same values.
    char printed[128];
    snprintf(printed, sizeof printed, "%s/printed.yaml", s_dir);
    FILE *out = fopen(printed, "w");
    node_config_print(&cfg, out);
    fclose(out);
    node_cfg_t again;
    rc = node_config_load(&again, printed, s_err, sizeof s_err);
    if (rc)
        fail_msg("%s", s_err);
    assert_int_equal(again.cluster.peer_count, 2);
    assert_string_equal(again.cluster.peers[1].endpoint, "[fd00::3]:2749");
    assert_int_equal(again.cluster.port, 4749);
    assert_int_equal(again.pbx[0].priority, 10);
    //  Nothing differs.
    node_config_diff(&cfg, &again, s_no_change, NULL);
    node_config_free(&again);
    node_config_free(&cfg);
}

static void s_count_change(void *arg, const char *key, const char *old_value,
                           const char *new_value, bool reloadable)
{
    (void) old_value;
    (void) new_value;
    assert_false(reloadable);       //  cluster keys need a restart
    assert_true(strncmp(key, "cluster.", 8) == 0);
    (*(int *) arg)++;
}

static void cluster_changes_need_a_restart(void **state)
{
    (void) state;
    node_cfg_t a, b;
    assert_int_equal(s_load(&a, "pbx:\n  - host: h\ncluster:\n  peers:\n"
                                "    - {id: b, endpoint: \"h:1\"}\n"), 0);
    assert_int_equal(s_load(&b, "pbx:\n  - host: h\ncluster:\n  heartbeat_ms: 200\n  peers:\n"
                                "    - {id: b, endpoint: \"h:2\"}\n"), 0);
    int changes = 0;
    node_config_diff(&a, &b, s_count_change, &changes);
    assert_int_equal(changes, 2);
    node_config_free(&a);
    node_config_free(&b);
}

static void cluster_errors_name_file_line_and_key(void **state)
{
    (void) state;
    s_expect_error("node:\n  id: a\npbx:\n  - host: h\ncluster:\n  peers:\n"
                   "    - id: a\n      endpoint: h:1\n",
                   7, "cluster.peers[0].id", "'a' is this node's id");
    s_expect_error("node:\n  id: a\npbx:\n  - host: h\ncluster:\n  peers:\n"
                   "    - id: b\n      endpoint: h:1\n    - id: b\n      endpoint: h:2\n",
                   9, "cluster.peers[1].id", "'b' is the id of cluster.peers[0] too");
    s_expect_error("pbx:\n  - host: h\ncluster:\n  peers:\n    - id: b\n      endpoint: h\n", 6,
                   "cluster.peers[0].endpoint", "'h' is not HOST:PORT");
    s_expect_error("pbx:\n  - host: h\ncluster:\n  peers:\n    - id: b\n"
                   "      endpoint: \"fd00::1:2749\"\n",
                   6, "cluster.peers[0].endpoint", "'fd00::1:2749' is not HOST:PORT");
    s_expect_error("pbx:\n  - host: h\ncluster:\n  peers:\n    - id: b\n      endpoint: h:70000\n",
                   6, "cluster.peers[0].endpoint", "'h:70000' is not HOST:PORT");
    s_expect_error("pbx:\n  - host: h\ncluster:\n  peers:\n    - endpoint: h:1\n", 5,
                   "cluster.peers[0].id", "required");
    s_expect_error("pbx:\n  - host: h\ncluster:\n  heartbeat_ms: 5\n", 4, "cluster.heartbeat_ms",
                   "5 is out of range 10..10000");
    s_expect_error("pbx:\n  - host: h\n    priority: -1\n", 3, "pbx[0].priority",
                   "-1 is out of range 0..1000");
    s_expect_error("pbx:\n  - host: h\nhttp:\n  port: 2749\ncluster:\n  peers:\n"
                   "    - {id: b, endpoint: \"h:1\"}\n",
                   5, "cluster.port", "2749 is a csta_server, client_api or http port too");
    //  Without peers the port is not used, so it may equal another.
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, "pbx:\n  - host: h\nhttp:\n  port: 2749\n"), 0);
    node_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_cluster_section_is_a_single_node),
        cmocka_unit_test(cluster_section_loads_and_prints_back),
        cmocka_unit_test(cluster_changes_need_a_restart),
        cmocka_unit_test(cluster_errors_name_file_line_and_key),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
