//  node_config tests: defaults, every kind of error with its file, line and key, printing,
//  reloading and the shipped example; the cluster keys at the end.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <czmq.h>

#include "node_config.h"
#include "node_users.h"

#define EXAMPLE CTIM_FIXTURES "/../../deploy/config/ctimd.yaml"

static char s_dir[64];
static char s_file[128];
static char s_err[8192];

static int s_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-config-XXXXXX");
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

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

//  Load text as a config file; returns load's result, errors in s_err.
static int s_load(node_cfg_t *cfg, const char *text)
{
    s_write(s_file, text);
    return node_config_load(cfg, s_file, s_err, sizeof s_err);
}

//  The error text must contain "FILE:LINE: KEY: what".
static void s_expect_error(const char *text, int line, const char *key, const char *what)
{
    node_cfg_t cfg;
    int rc = s_load(&cfg, text);
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s: %s", s_file, line, key, what);
    if (rc != -EINVAL || !strstr(s_err, want))
        fail_msg("expected \"%s\"\n got rc %d: %s", want, rc, s_err);
    assert_int_equal(cfg.pbx_count, 0);     //  left empty
    node_config_free(&cfg);
}

#define MIN_PBX "pbx:\n  - host: 10.0.0.1\n"

static void minimal_config_gets_every_default(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX), 0);
    assert_int_equal(cfg.pbx_count, 1);
    assert_string_equal(cfg.pbx[0].name, "main");
    assert_string_equal(cfg.pbx[0].host, "10.0.0.1");
    assert_int_equal(cfg.pbx[0].port, 33333);
    assert_string_equal(cfg.pbx[0].flavour, "panasonic");
    assert_int_equal(cfg.pbx[0].framing, CSTA_FRAMING_LEN16);
    assert_int_equal(cfg.pbx[0].connect_timeout_ms, 3000);
    assert_int_equal(cfg.pbx[0].backoff_initial_ms, 500);
    assert_int_equal(cfg.pbx[0].backoff_max_ms, 30000);
    assert_int_equal(cfg.pbx[0].silence_timeout_ms, 120000);
    assert_int_equal(cfg.pbx[0].request_timeout_ms, 5000);
    assert_int_equal(cfg.pbx[0].window, 32);
    assert_int_equal(cfg.pbx[0].queue_max, 4096);
    assert_int_equal(cfg.pbx[0].monitor_retry_ms, 30000);
    assert_int_equal(cfg.pbx[0].validate_calls_ms, 60000);
    assert_int_equal(cfg.log_level, NODE_LOG_NOTICE);
    assert_string_equal(cfg.csta_server.listen, "0.0.0.0");
    assert_int_equal(cfg.csta_server.tcp_port, 33333);
    assert_int_equal(cfg.csta_server.tls_port, 0);     //  no cert: TLS stays off
    assert_false(cfg.csta_server.tcp_login_required);
    assert_int_equal(cfg.csta_server.max_apps, 1000);
    assert_int_equal(cfg.csta_server.app_queue_max_bytes, 4 * 1024 * 1024);
    assert_int_equal(cfg.csta_server.login_fail_delay_ms, 1000);
    assert_string_equal(cfg.http.listen, "127.0.0.1");
    assert_int_equal(cfg.http.port, 9120);
    assert_string_equal(cfg.numbers.international_prefix, "00");
    assert_string_equal(cfg.numbers.national_prefix, "0");
    assert_string_equal(cfg.numbers.country_code, "");
    assert_int_equal(cfg.user_count, 0);
    assert_int_equal(cfg.line_count, 0);
    char host[64];
    gethostname(host, sizeof host);
    host[strcspn(host, ".")] = '\0';
    assert_string_equal(cfg.node_id, host);
    node_config_free(&cfg);
    node_config_free(&cfg);     //  harmless twice
}

static void full_config_loads_lists_and_nested_keys(void **state)
{
    (void) state;
    char *hash = node_users_hash_password("secret");
    char cert[160], key[160], text[4096];
    snprintf(cert, sizeof cert, "%s/cert.pem", s_dir);
    snprintf(key, sizeof key, "%s/key.pem", s_dir);
    s_write(cert, "x\n");
    s_write(key, "x\n");
    s_write(strcat(strcpy(text, s_dir), "/lines.txt"), "101,Alice\n");
    snprintf(text, sizeof text,
             "node:\n  id: node-a\n  log_level: debug\n"
             "pbx:\n"
             "- name: main\n  host: pbx.example\n  port: 33335\n  flavour: hipath\n"
             "  user: AMHOST\n  password: \"77777\"\n"
             "- {name: second, host: 10.1.1.1, flavour: raw}\n"
             "csta_server:\n  tls_port: 4433\n  tls_cert: cert.pem\n  tls_key: %s\n"
             "  tcp_login_required: yes\n"
             "users:\n"
             "  - name: crm\n    password_hash: \"%s\"\n    devices: [\"101-199\", \"300\"]\n"
             "  - name: all\n    password_hash: \"%s\"\n"
             "numbers:\n  location:\n    country_code: \"49\"\n    area_code: \"30\"\n"
             "    local_prefix: \"0\"\n"
             "  incoming:\n    - match: '^0(1[5-7][0-9]+)$'\n      replace: '+49\\1'\n"
             "  dialling:\n    - match: '^\\+4930([0-9]+)$'\n      replace: '0\\1'\n"
             "lines:\n  - number: \"101\"\n    name: Alice\n  - {number: \"102\", name: Bob}\n"
             "lines_file: lines.txt\n",
             key, hash, hash);
    node_cfg_t cfg;
    int rc = s_load(&cfg, text);
    if (rc)
        fail_msg("%s", s_err);
    assert_string_equal(cfg.node_id, "node-a");
    assert_int_equal(cfg.log_level, NODE_LOG_DEBUG);
    assert_int_equal(cfg.pbx_count, 2);
    assert_int_equal(cfg.pbx[0].framing, CSTA_FRAMING_HIPATH);
    assert_string_equal(cfg.pbx[0].password, "77777");
    assert_int_equal(cfg.pbx[1].framing, CSTA_FRAMING_RAW);
    assert_int_equal(cfg.pbx[1].port, 33333);
    assert_int_equal(cfg.csta_server.tls_port, 4433);
    char want[200];
    snprintf(want, sizeof want, "%s/cert.pem", s_dir);      //  relative to the config
    assert_string_equal(cfg.csta_server.tls_cert, want);
    assert_true(cfg.csta_server.tcp_login_required);
    assert_int_equal(cfg.user_count, 2);
    assert_int_equal(cfg.users[0].device_count, 2);
    assert_string_equal(cfg.users[0].devices[0].first, "101");
    assert_string_equal(cfg.users[0].devices[0].last, "199");
    assert_string_equal(cfg.users[0].devices[1].first, "300");
    assert_string_equal(cfg.users[0].devices[1].last, "300");
    assert_int_equal(cfg.users[1].device_count, 0);
    assert_string_equal(cfg.numbers.area_code, "30");
    assert_int_equal(cfg.numbers.incoming_count, 1);
    assert_string_equal(cfg.numbers.incoming[0].replace, "+49\\1");
    assert_int_equal(cfg.numbers.outgoing_count, 0);
    assert_int_equal(cfg.numbers.dialling_count, 1);
    assert_int_equal(cfg.line_count, 2);
    assert_string_equal(cfg.lines[1].name, "Bob");
    node_config_free(&cfg);
    free(hash);
}

static void unknown_keys_name_their_line(void **state)
{
    (void) state;
    s_expect_error("# comment\nnode:\n  id: a\n\n  bogus: 1\n" MIN_PBX, 5, "node.bogus",
                   "unknown key");
    s_expect_error(MIN_PBX "    prot: 1\n", 3, "pbx[0].prot", "unknown key");
    s_expect_error(MIN_PBX "  - host: b\n    name: b\n    colour: red\n", 5, "pbx[1].colour",
                   "unknown key");
    s_expect_error(MIN_PBX "htpp:\n  port: 1\n", 3, "htpp", "unknown key");
    s_expect_error(MIN_PBX "http: {port: 1, lisen: x}\n", 3, "http.lisen", "unknown key");
}

static void wrong_types_and_ranges_name_their_line(void **state)
{
    (void) state;
    s_expect_error(MIN_PBX "    port: abc\n", 3, "pbx[0].port", "'abc' is not a whole number");
    s_expect_error(MIN_PBX "    port: 70000\n", 3, "pbx[0].port", "70000 is out of range 1..65535");
    s_expect_error(MIN_PBX "    port: -1\n", 3, "pbx[0].port", "-1 is out of range");
    s_expect_error(MIN_PBX "http:\n  port: [1, 2]\n", 4, "http.port",
                   "wrong type: expected a single value, found a list");
    s_expect_error(MIN_PBX "http: 9120\n", 3, "http", "wrong type: expected a mapping of keys");
    s_expect_error("pbx:\n  host: x\n", 1, "pbx", "wrong type: expected a list");
    s_expect_error(MIN_PBX "csta_server:\n  tcp_login_required: maybe\n", 4,
                   "csta_server.tcp_login_required", "'maybe' is not true or false");
    s_expect_error(MIN_PBX "node:\n  log_level: loud\n", 4, "node.log_level",
                   "'loud' is not one of error|warning|notice|info|debug");
    s_expect_error(MIN_PBX "    flavour: siemens\n", 3, "pbx[0].flavour",
                   "'siemens' is not one of panasonic|raw|hipath");
    s_expect_error(MIN_PBX "http:\n  listen: localhost\n", 4, "http.listen",
                   "'localhost' is not a numeric IPv4 or IPv6 address");
    s_expect_error(MIN_PBX "node:\n  id: \"node a\"\n", 4, "node.id", "'node a' has characters");
    s_expect_error(MIN_PBX "numbers:\n  location:\n    country_code: \"+49\"\n", 5,
                   "numbers.location.country_code", "'+49' has characters other than 0123456789");
    s_expect_error("pbx:\n  - host: \"\"\n", 2, "pbx[0].host", "must not be empty");
    s_expect_error(MIN_PBX "node:\n  id: a\n  id: b\n", 5, "node.id", "given twice");
}

static void missing_pbx_list_is_an_error(void **state)
{
    (void) state;
    s_expect_error("http:\n  port: 9121\n", 1, "pbx", "at least one entry is required");
    s_expect_error("", 1, "pbx", "at least one entry is required");
    s_expect_error("pbx: []\n", 1, "pbx", "at least one entry is required");
    s_expect_error("pbx:\n"
                   "  - {name: a}\n  - {name: b}\n  - {name: c}\n  - {name: d}\n"
                   "  - {name: e}\n  - {name: f}\n  - {name: g}\n  - {name: h}\n  - {name: i}\n",
                   1, "pbx", "at most 8 entries");
    s_expect_error(MIN_PBX "  - host: b\n", 3, "pbx[1].name", "'main' is the name of pbx[0] too");
    s_expect_error(MIN_PBX "    flavour: hipath\n", 2, "pbx[0].user",
                   "the hipath flavour logs in");
    s_expect_error(MIN_PBX "    backoff_initial_ms: 5000\n    backoff_max_ms: 1000\n", 3,
                   "pbx[0].backoff_initial_ms", "5000 is greater than backoff_max_ms (1000)");
}

static void tls_port_needs_cert_and_key(void **state)
{
    (void) state;
    s_expect_error(MIN_PBX "csta_server:\n  tls_port: 4433\n", 3, "csta_server.tls_cert",
                   "required when csta_server.tls_port is set");
    char text[512];
    snprintf(text, sizeof text, "%scsta_server:\n  tls_cert: %s/none.pem\n", MIN_PBX, s_dir);
    char what[200];
    snprintf(what, sizeof what, "cannot read '%s/none.pem': No such file", s_dir);
    s_expect_error(text, 4, "csta_server.tls_cert", what);
    s_expect_error(MIN_PBX "csta_server:\n  tcp_port: 4000\n  tls_port: 0\nhttp:\n  port: 4000\n",
                   7, "http.port", "4000 is a csta_server port too");
    //  tls_port 0 turns TLS off explicitly: no cert needed.
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX "csta_server:\n  tls_port: 0\n"), 0);
    node_config_free(&cfg);
}

static void bad_device_ranges_name_the_entry(void **state)
{
    (void) state;
    char *hash = node_users_hash_password("pw");
    char text[1024];
    const char *cases[][2] = {
        {"[\"101-199\", \"199-101\"]", "users[0].devices[1]: '199-101': FIRST is greater"},
        {"[\"101-1999\"]", "users[0].devices[0]: '101-1999': FIRST and LAST must have the same"},
        {"[abc]", "users[0].devices[0]: 'abc' is not a number or a FIRST-LAST range"},
        {"[\"-5\"]", "users[0].devices[0]: '-5' is not a number"},
        {"[\"5-\"]", "users[0].devices[0]: '5-' is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text,
                 MIN_PBX "users:\n  - name: crm\n    password_hash: \"%s\"\n    devices: %s\n",
                 hash, cases[i][0]);
        node_cfg_t cfg;
        assert_int_equal(s_load(&cfg, text), -EINVAL);
        char want[256];
        snprintf(want, sizeof want, "%s:6: %s", s_file, cases[i][1]);
        if (!strstr(s_err, want))
            fail_msg("expected \"%s\"\n got: %s", want, s_err);
    }
    //  Block-style list entries have lines of their own.
    snprintf(text, sizeof text,
             MIN_PBX "users:\n  - name: crm\n    password_hash: \"%s\"\n    devices:\n"
                     "      - \"101\"\n      - 1x\n",
             hash);
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, text), -EINVAL);
    assert_non_null(strstr(s_err, ":8: users[0].devices[1]: '1x'"));
    s_expect_error(MIN_PBX "users:\n  - name: crm\n    password_hash: plain\n", 5,
                   "users[0].password_hash", "not a hash from `ctimd --hash-password`");
    s_expect_error(MIN_PBX "users:\n  - name: crm\n", 4, "users[0].password_hash", "required");
    free(hash);
}

static void bad_regexes_name_the_rule(void **state)
{
    (void) state;
    s_expect_error(MIN_PBX "numbers:\n  incoming:\n    - match: \"(12\"\n      replace: x\n", 5,
                   "numbers.incoming[0].match", "bad regular expression '(12'");
    s_expect_error(MIN_PBX "numbers:\n  dialling:\n    - match: ^1\n    - match: \"^(1)\"\n"
                           "      replace: '\\2'\n",
                   7, "numbers.dialling[1].replace", "\\2 refers to a group");
    s_expect_error(MIN_PBX "numbers:\n  outgoing:\n    - replace: x\n", 5,
                   "numbers.outgoing[0].match", "required");
}

static void every_problem_is_reported_at_once(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX "    port: 0\n    window: 0\nhttp:\n  port: x\n"),
                     -EINVAL);
    assert_non_null(strstr(s_err, ":3: pbx[0].port:"));
    assert_non_null(strstr(s_err, ":4: pbx[0].window:"));
    assert_non_null(strstr(s_err, ":6: http.port:"));
}

static void syntax_errors_and_missing_files(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX "node:\n  id: \"unterminated\n"), -EINVAL);
    assert_non_null(strstr(s_err, "YAML syntax error"));
    assert_non_null(strstr(s_err, s_file));
    assert_int_equal(node_config_load(&cfg, "/nonexistent/ctimd.yaml", s_err, sizeof s_err),
                     -ENOENT);
    assert_non_null(strstr(s_err, "/nonexistent/ctimd.yaml: cannot read"));
    //  A top level that is not a mapping.
    assert_int_equal(s_load(&cfg, "- a\n- b\n"), -EINVAL);
    assert_non_null(strstr(s_err, "(top level): wrong type"));
}

//  Count the changes node_config_diff reports.
typedef struct {
    int count;
    char text[2048];
} s_changes_t;

static void s_on_change(void *arg, const char *key, const char *old_value, const char *new_value,
                        bool reloadable)
{
    s_changes_t *c = arg;
    c->count++;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof c->text - used, "%s: %s -> %s%s\n", key, old_value,
             new_value, reloadable ? "" : " (restart)");
}

static void print_loads_back_to_the_same_config(void **state)
{
    (void) state;
    node_cfg_t a, b;
    const char *text = "node: {id: n1}\npbx:\n  - {host: 10.0.0.1, port: 1234}\n"
                       "  - {name: two, host: \"x\\\"y\"}\n"
                       "numbers:\n  incoming:\n    - {match: '^0(.*)$', replace: '+49\\1'}\n"
                       "lines:\n  - {number: \"101\", name: Alice}\n";
    assert_int_equal(s_load(&a, text), 0);
    char printed[160];
    snprintf(printed, sizeof printed, "%s/printed.yaml", s_dir);
    FILE *out = fopen(printed, "w");
    node_config_print(&a, out);
    fclose(out);
    int rc = node_config_load(&b, printed, s_err, sizeof s_err);
    if (rc)
        fail_msg("%s", s_err);
    s_changes_t changes = {0};
    node_config_diff(&a, &b, s_on_change, &changes);
    if (changes.count)
        fail_msg("printed config differs:\n%s", changes.text);
    //  The print mentions every default and marks what differs.
    char *buf = NULL;
    size_t len = 0;
    out = open_memstream(&buf, &len);
    node_config_print(&a, out);
    fclose(out);
    assert_non_null(strstr(buf, "    port: 1234    # default 33333\n"));
    assert_non_null(strstr(buf, "  silence_timeout_ms: 120000\n"));
    assert_non_null(strstr(buf, "users: []\n"));
    free(buf);
    node_config_free(&a);
    node_config_free(&b);
}

static void secrets_do_not_print(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX "    password: topsecret\n"), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    node_config_print(&cfg, out);
    fclose(out);
    assert_null(strstr(buf, "topsecret"));
    assert_non_null(strstr(buf, "password: \"***\""));
    free(buf);
    node_config_free(&cfg);
}

static void reload_moves_reloadable_keys_only(void **state)
{
    (void) state;
    node_cfg_t live, fresh;
    assert_int_equal(s_load(&live, MIN_PBX "lines:\n  - {number: \"101\", name: A}\n"), 0);
    assert_int_equal(s_load(&fresh, MIN_PBX "    port: 4000\nnode:\n  log_level: debug\n"
                                            "lines:\n  - {number: \"101\", name: A}\n"
                                            "  - {number: \"102\", name: B}\n"
                                            "http:\n  port: 9999\n"),
                     0);
    s_changes_t changes = {0};
    node_config_diff(&live, &fresh, s_on_change, &changes);
    assert_int_equal(changes.count, 4);
    assert_non_null(strstr(changes.text, "node.log_level: notice -> debug\n"));
    assert_non_null(strstr(changes.text, "pbx[0].port: 33333 -> 4000 (restart)\n"));
    assert_non_null(strstr(changes.text, "http.port: 9120 -> 9999 (restart)\n"));
    assert_non_null(strstr(changes.text, "lines: 1 entries -> 2 entries\n"));
    node_config_apply_reloadable(&live, &fresh);
    assert_int_equal(live.log_level, NODE_LOG_DEBUG);
    assert_int_equal(live.line_count, 2);
    assert_string_equal(live.lines[1].name, "B");
    assert_int_equal(live.http.port, 9120);
    assert_int_equal(live.pbx[0].port, 33333);
    assert_int_equal(fresh.line_count, 1);      //  the old lines, to be freed
    node_config_free(&fresh);
    node_config_free(&live);
}

static void ranges_parse(void **state)
{
    (void) state;
    node_device_range_t r;
    char why[128];
    assert_int_equal(node_config_parse_range("101-199", &r, why, sizeof why), 0);
    assert_string_equal(r.first, "101");
    assert_string_equal(r.last, "199");
    assert_int_equal(node_config_parse_range("0042", &r, why, sizeof why), 0);
    assert_string_equal(r.first, "0042");
    assert_string_equal(r.last, "0042");
    assert_int_equal(node_config_parse_range("100-100", &r, why, sizeof why), 0);
    assert_int_equal(node_config_parse_range("", &r, why, sizeof why), -EINVAL);
    assert_int_equal(node_config_parse_range("1-2-3", &r, why, sizeof why), -EINVAL);
    assert_int_equal(node_config_parse_range("+49", &r, why, sizeof why), -EINVAL);
    assert_int_equal(node_config_parse_range("20-10", &r, why, sizeof why), -EINVAL);
}

//  client_api: defaults, CURVE files relative to the config's folder, a folder of client
//  certificates that must be a folder and needs the server's certificate.
static void client_api_replay_and_curve_keys(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX), 0);
    assert_int_equal(cfg.client_api.replay_events, 1000);
    assert_int_equal(cfg.client_api.replay_bytes, 1048576);
    assert_int_equal(cfg.client_api.send_hwm, 1000);
    assert_string_equal(cfg.client_api.curve_cert, "");
    assert_string_equal(cfg.client_api.curve_clients, "");
    node_config_free(&cfg);

    char path[256], text[512], what[300];
    zcert_t *cert = zcert_new();
    snprintf(path, sizeof path, "%s/server.cert", s_dir);
    assert_int_equal(zcert_save(cert, path), 0);   //  server.cert and server.cert_secret
    zcert_destroy(&cert);
    snprintf(path, sizeof path, "%s/clients", s_dir);
    mkdir(path, 0700);
    assert_int_equal(s_load(&cfg, MIN_PBX "client_api:\n  curve_cert: server.cert_secret\n"
                                          "  curve_clients: clients\n  replay_events: 0\n"),
                     0);
    snprintf(path, sizeof path, "%s/server.cert_secret", s_dir);
    assert_string_equal(cfg.client_api.curve_cert, path);
    snprintf(path, sizeof path, "%s/clients", s_dir);
    assert_string_equal(cfg.client_api.curve_clients, path);
    assert_int_equal(cfg.client_api.replay_events, 0);
    node_config_free(&cfg);

    s_expect_error(MIN_PBX "client_api:\n  curve_clients: clients\n", 4,
                   "client_api.curve_clients", "needs client_api.curve_cert");
    snprintf(text, sizeof text, "%sclient_api:\n  curve_cert: server.cert_secret\n"
             "  curve_clients: server.cert_secret\n", MIN_PBX);
    snprintf(what, sizeof what, "'%s/server.cert_secret' is not a folder", s_dir);
    s_expect_error(text, 5, "client_api.curve_clients", what);
    //  Either file of the pair names the certificate; a file with a public key only does not.
    assert_int_equal(s_load(&cfg, MIN_PBX "client_api:\n  curve_cert: server.cert\n"), 0);
    node_config_free(&cfg);
    cert = zcert_new();
    snprintf(path, sizeof path, "%s/public.cert", s_dir);
    assert_int_equal(zcert_save_public(cert, path), 0);
    zcert_destroy(&cert);
    s_expect_error(MIN_PBX "client_api:\n  curve_cert: public.cert\n", 4,
                   "client_api.curve_cert", "not a CURVE certificate with its secret key");
    s_expect_error(MIN_PBX "client_api:\n  replay_bytes: 1000\n", 4, "client_api.replay_bytes",
                   "");
    s_expect_error(MIN_PBX "client_api:\n  send_hwm: 0\n", 4, "client_api.send_hwm", "");
}

//  The shipped example loads, and explains every key of the table.
static void example_config_loads_and_covers_every_key(void **state)
{
    (void) state;
    node_cfg_t cfg;
    int rc = node_config_load(&cfg, EXAMPLE, s_err, sizeof s_err);
    if (rc)
        fail_msg("%s", s_err);
    node_config_free(&cfg);

    char *keys = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&keys, &len);
    node_config_describe(out);
    fclose(out);
    FILE *f = fopen(EXAMPLE, "r");
    assert_non_null(f);
    char example[65536];
    size_t n = fread(example, 1, sizeof example - 1, f);
    example[n] = '\0';
    fclose(f);
    int checked = 0;
    for (char *line = strtok(keys, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == ' ')
            continue;       //  help text
        char path[128], leaf[128], want[140];
        sscanf(line, "%127s", path);
        char *dot = strrchr(path, '.');
        snprintf(leaf, sizeof leaf, "%s", dot ? dot + 1 : path);
        leaf[strcspn(leaf, "[")] = '\0';
        snprintf(want, sizeof want, "%s:", leaf);
        if (!strstr(example, want))
            fail_msg("deploy/config/ctimd.yaml does not explain %s", path);
        checked++;
    }
    assert_true(checked > 40);
    free(keys);
}

//  --- The cluster keys (cluster:, pbx[].priority; ha/) ---------------------------------------

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
    assert_string_equal(cfg.cluster.state_dir, "/var/lib/ctim");
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

//  cluster.curve_cert and cluster.curve_peers: defaults, paths relative to the file, and
//  every refusal names the key: one without the other, a bad own certificate, a peer
//  without its PEER_ID.cert, a file that is no certificate, a peer with this node's key.
static void cluster_curve_keys_are_checked(void **state)
{
    (void) state;
    node_cfg_t cfg;
    assert_int_equal(s_load(&cfg, MIN_PBX), 0);
    assert_string_equal(cfg.cluster.curve_cert, "");
    assert_string_equal(cfg.cluster.curve_peers, "");
    node_config_free(&cfg);

    char path[256], what[512];
    snprintf(path, sizeof path, "%s/peers", s_dir);
    assert_int_equal(mkdir(path, 0700), 0);
    zcert_t *own = zcert_new(), *b = zcert_new();
    snprintf(path, sizeof path, "%s/node.cert", s_dir);
    assert_int_equal(zcert_save(own, path), 0);         //  node.cert, node.cert_secret
    snprintf(path, sizeof path, "%s/peers/b.cert", s_dir);
    assert_int_equal(zcert_save_public(b, path), 0);
    zcert_destroy(&b);
#define PAIR "node:\n  id: a\npbx:\n  - host: h\ncluster:\n  peers:\n" \
             "    - {id: b, endpoint: \"h:1\"}\n"
    assert_int_equal(s_load(&cfg, PAIR "  curve_cert: node.cert_secret\n  curve_peers: peers\n"),
                     0);
    snprintf(path, sizeof path, "%s/node.cert_secret", s_dir);
    assert_string_equal(cfg.cluster.curve_cert, path);
    snprintf(path, sizeof path, "%s/peers", s_dir);
    assert_string_equal(cfg.cluster.curve_peers, path);
    node_config_free(&cfg);

    s_expect_error(PAIR "  curve_cert: node.cert_secret\n", 5, "cluster.curve_peers",
                   "required with cluster.curve_cert");
    s_expect_error(PAIR "  curve_peers: peers\n", 5, "cluster.curve_cert",
                   "required with cluster.curve_peers");
    s_expect_error(PAIR "  curve_cert: nothere\n  curve_peers: peers\n", 8, "cluster.curve_cert",
                   "");
    s_expect_error(PAIR "  curve_cert: node.cert_secret\n  curve_peers: nothere\n", 9,
                   "cluster.curve_peers", "");
    //  A public file alone is no certificate of this node's.
    s_expect_error(PAIR "  curve_cert: peers/b.cert\n  curve_peers: peers\n", 8,
                   "cluster.curve_cert", "not a CURVE certificate with its secret key");
    //  A second peer without its file; then with a file that is no certificate.
#define TRIO "node:\n  id: a\npbx:\n  - host: h\ncluster:\n  peers:\n" \
             "    - {id: b, endpoint: \"h:1\"}\n    - {id: c, endpoint: \"h:2\"}\n" \
             "  curve_cert: node.cert_secret\n  curve_peers: peers\n"
    snprintf(what, sizeof what, "no certificate for peer c: %s/peers/c.cert is missing", s_dir);
    s_expect_error(TRIO, 10, "cluster.curve_peers", what);
    snprintf(path, sizeof path, "%s/peers/c.cert", s_dir);
    s_write(path, "not a certificate\n");
    snprintf(what, sizeof what, "%s/peers/c.cert is not a CURVE certificate", s_dir);
    s_expect_error(TRIO, 10, "cluster.curve_peers", what);
    //  A peer's file holding this node's own key (copied to the wrong name).
    assert_int_equal(zcert_save_public(own, path), 0);
    snprintf(what, sizeof what, "%s/peers/c.cert holds this node's own key", s_dir);
    s_expect_error(TRIO, 10, "cluster.curve_peers", what);
    zcert_destroy(&own);
    //  Not reloadable: turning CURVE on is two changes that need a restart.
    node_cfg_t plain;
    assert_int_equal(s_load(&plain, PAIR), 0);
    assert_int_equal(s_load(&cfg, PAIR "  curve_cert: node.cert_secret\n  curve_peers: peers\n"),
                     0);
    int changes = 0;
    node_config_diff(&plain, &cfg, s_count_change, &changes);
    assert_int_equal(changes, 2);
    node_config_free(&plain);
    node_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_config_gets_every_default),
        cmocka_unit_test(full_config_loads_lists_and_nested_keys),
        cmocka_unit_test(unknown_keys_name_their_line),
        cmocka_unit_test(wrong_types_and_ranges_name_their_line),
        cmocka_unit_test(missing_pbx_list_is_an_error),
        cmocka_unit_test(tls_port_needs_cert_and_key),
        cmocka_unit_test(bad_device_ranges_name_the_entry),
        cmocka_unit_test(bad_regexes_name_the_rule),
        cmocka_unit_test(every_problem_is_reported_at_once),
        cmocka_unit_test(syntax_errors_and_missing_files),
        cmocka_unit_test(print_loads_back_to_the_same_config),
        cmocka_unit_test(secrets_do_not_print),
        cmocka_unit_test(reload_moves_reloadable_keys_only),
        cmocka_unit_test(ranges_parse),
        cmocka_unit_test(client_api_replay_and_curve_keys),
        cmocka_unit_test(example_config_loads_and_covers_every_key),
        cmocka_unit_test(no_cluster_section_is_a_single_node),
        cmocka_unit_test(cluster_section_loads_and_prints_back),
        cmocka_unit_test(cluster_changes_need_a_restart),
        cmocka_unit_test(cluster_errors_name_file_line_and_key),
        cmocka_unit_test(cluster_curve_keys_are_checked),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
