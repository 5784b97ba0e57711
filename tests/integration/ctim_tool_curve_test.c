//  The ctim tool over CURVE: ctimd's client API with client_api.curve_cert (certificates made
//  here with czmq's zcert), the real `ctim` with --curve-server-key (and --curve-cert).
//
//  - any_client_key: the right server key logs in (lines, a call made and hung up while a
//    monitor over CURVE shows it); a wrong server key or plain TCP never gets a session:
//    exit 3 when --timeout is over; a malformed key is a usage error (2).
//  - allowed_client_keys: with client_api.curve_clients only the certificate in that
//    folder is let in: --curve-cert with its secret file logs in, a fresh key pair does not
//    (3); a certificate file that cannot be loaded is refused before connecting (2).
//
//  Every wait has a deadline; children, ctimd and pbxsim are stopped after each test.
#include <czmq.h>

#include "ctim_tool_util.h"

static char s_dir[64];
static char s_server_key[41];       //  the node's public key (Z85)
static char s_stranger_key[41];     //  another certificate's public key
static char s_client_cert[128];     //  the allowed client's secret certificate file
static char s_any_yaml[256], s_allowed_yaml[512];

static int s_cert(const char *name, char *public_key, char *secret_path, size_t cap)
{
    zcert_t *cert = zcert_new();
    if (!cert)
        return -1;
    char path[96];
    snprintf(path, sizeof path, "%s/%s.cert", s_dir, name);
    int rc = zcert_save(cert, path);        //  NAME.cert (public) and NAME.cert_secret
    if (public_key)
        snprintf(public_key, 41, "%s", zcert_public_txt(cert));
    if (secret_path)
        snprintf(secret_path, cap, "%s_secret", path);
    if (rc == 0 && strcmp(name, "client") == 0) {
        //  The allowed clients' folder holds their public certificates.
        snprintf(path, sizeof path, "%s/clients/client.cert", s_dir);
        rc = zcert_save_public(cert, path);
    }
    zcert_destroy(&cert);
    return rc;
}

static int group_setup(void **state)
{
    (void) state;
    zsys_init();
    zsys_handler_set(NULL);
    if (test_dir_make(s_dir, sizeof s_dir, "tool-curve") != 0)
        return -1;
    char clients[96];
    snprintf(clients, sizeof clients, "%s/clients", s_dir);
    if (zsys_dir_create("%s", clients) != 0)
        return -1;
    char server_secret[160];
    if (s_cert("server", s_server_key, server_secret, sizeof server_secret) != 0 ||
        s_cert("stranger", s_stranger_key, NULL, 0) != 0 ||
        s_cert("client", NULL, s_client_cert, sizeof s_client_cert) != 0)
        return -1;
    snprintf(s_any_yaml, sizeof s_any_yaml, "  curve_cert: \"%s\"\n", server_secret);
    snprintf(s_allowed_yaml, sizeof s_allowed_yaml,
             "  curve_cert: \"%s\"\n  curve_clients: \"%s\"\n", server_secret, clients);
    return 0;
}

static int group_teardown(void **state)
{
    (void) state;
    test_dir_remove(s_dir);
    return 0;
}

static int setup_any(void **state)
{
    return tool_setup(state, NULL, s_any_yaml, NULL);
}

static int setup_allowed(void **state)
{
    return tool_setup(state, NULL, s_allowed_yaml, NULL);
}

//  No session: ZeroMQ's handshake fails, no Hello reaches the node, --timeout ends it.
static void s_no_session(test_tool_world_t *w, const char *key_option, const char *key)
{
    test_tool_t *p = key_option ? RUN(w, 3, "--timeout", "600", key_option, key, "lines")
                                : RUN(w, 3, "--timeout", "600", "lines");
    assert_non_null(strstr(p->err, "ctim: no server answered within 600 ms"));
    assert_string_equal(p->out, "");
    assert_true(p->elapsed_ms >= 600);
    test_tool_free(&p);
}

static void test_any_client_key(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *p = RUN(w, 0, "--curve-server-key", s_server_key, "lines");
    assert_non_null(strstr(p->out, "\n101 "));
    test_tool_free(&p);

    test_tool_t *mon = START(w, 0, "--curve-server-key", s_server_key, "monitor", "101");
    SEE(mon, " 101 in-service");
    char id[64], acted[64], want[96];
    tool_take_id(RUN(w, 0, "--curve-server-key", s_server_key, "call", "101", "102"), id,
                 sizeof id);
    snprintf(want, sizeof want, " 101 ringback call=%s ", id);
    SEE(mon, want);
    tool_take_id(RUN(w, 0, "--curve-server-key", s_server_key, "hangup", "101"), acted,
                 sizeof acted);
    assert_string_equal(acted, id);
    snprintf(want, sizeof want, " 101 idle call=%s ", id);
    SEE(mon, want);
    assert_int_equal(test_tool_signal(mon, SIGTERM), 0);

    s_no_session(w, "--curve-server-key", s_stranger_key);
    s_no_session(w, NULL, NULL);
    char bad[41];
    snprintf(bad, sizeof bad, "%s", s_server_key);
    bad[39] = '~';          //  not Z85
    p = RUN(w, 2, "--curve-server-key", bad, "lines");
    assert_non_null(strstr(p->err, "ctim: --curve-server-key: not a CURVE public key"));
    test_tool_free(&p);
}

static void test_allowed_client_keys(void **state)
{
    test_tool_world_t *w = *state;
    test_tool_t *p = RUN(w, 0, "--curve-server-key", s_server_key, "--curve-cert",
                         s_client_cert, "status", "101");
    assert_non_null(strstr(p->out, "\n101 in-service "));
    test_tool_free(&p);
    s_no_session(w, "--curve-server-key", s_server_key);       //  a fresh key pair

    char missing[160];
    snprintf(missing, sizeof missing, "%s/nobody.cert_secret", s_dir);
    p = RUN(w, 2, "--curve-server-key", s_server_key, "--curve-cert", missing, "lines");
    assert_non_null(strstr(p->err, "ctim: unusable settings"));
    test_tool_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_any_client_key, setup_any, tool_teardown),
        cmocka_unit_test_setup_teardown(test_allowed_client_keys, setup_allowed,
                                        tool_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
