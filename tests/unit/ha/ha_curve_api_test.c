//  ha_curve tests (the class; tests/integration/ha_curve_test.c runs a cluster with CURVE):
//  certificate files (made, loaded by either name, refused when wrong), the process's ZAP
//  handler with a policy per domain, handshake failure names, and the dialer that connects
//  a DEALER again after a failed handshake.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ha_curve.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/ctim-curve-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", s_dir, name);
}

//  --- Certificates --------------------------------------------------------------------------

static void make_cert_writes_a_pair_that_loads_by_either_name(void **state)
{
    (void) state;
    char path[128], secret[160];
    s_path(path, sizeof path, "node.cert");
    assert_int_equal(ha_curve_make_cert(path), 0);
    snprintf(secret, sizeof secret, "%s_secret", path);
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    ha_curve_cert_t a, b;
    assert_int_equal(ha_curve_cert_load(path, &a), 0);
    assert_int_equal(ha_curve_cert_load(secret, &b), 0);
    assert_int_equal(strlen(a.public_txt), 40);
    assert_int_equal(strlen(a.secret_txt), 40);
    assert_string_equal(a.public_txt, b.public_txt);
    assert_string_equal(a.secret_txt, b.secret_txt);
    //  czmq reads what we wrote: the same keys.
    zcert_t *z = zcert_load(secret);
    assert_non_null(z);
    assert_string_equal(zcert_public_txt(z), a.public_txt);
    assert_string_equal(zcert_secret_txt(z), a.secret_txt);
    zcert_destroy(&z);
    char key[HA_CURVE_KEY_TXT];
    assert_int_equal(ha_curve_public_load(path, key), 0);
    assert_string_equal(key, a.public_txt);
}

static void wrong_files_are_refused(void **state)
{
    (void) state;
    char path[128], key[HA_CURVE_KEY_TXT];
    ha_curve_cert_t c;
    s_path(path, sizeof path, "missing.cert");
    assert_int_equal(ha_curve_cert_load(path, &c), -ENOENT);
    assert_int_equal(ha_curve_public_load(path, key), -ENOENT);
    //  A public file alone is no certificate to serve with.
    zcert_t *z = zcert_new();
    s_path(path, sizeof path, "public.cert");
    assert_int_equal(zcert_save_public(z, path), 0);
    assert_int_equal(ha_curve_cert_load(path, &c), -EINVAL);
    assert_int_equal(ha_curve_public_load(path, key), 0);
    assert_string_equal(key, zcert_public_txt(z));
    zcert_destroy(&z);
    //  Not ZPL, a key of the wrong length, characters outside Z85: refused, no leak.
    static const char *const bad[] = {
        "not a certificate\n",
        "curve\n    public-key = \"abc\"\n",
        "curve\n    public-key = \"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\"\n",
    };
    s_path(path, sizeof path, "bad.cert");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        assert_int_equal(ha_curve_public_load(path, key), -EINVAL);
        assert_int_equal(ha_curve_cert_load(path, &c), -EINVAL);
    }
}

//  --- ZAP by domain ---------------------------------------------------------------------------

//  A new certificate; its public file saved as path too, when path is given.
static ha_curve_cert_t s_cert_saved(const char *path)
{
    zcert_t *z = zcert_new();
    ha_curve_cert_t c;
    snprintf(c.public_txt, sizeof c.public_txt, "%s", zcert_public_txt(z));
    snprintf(c.secret_txt, sizeof c.secret_txt, "%s", zcert_secret_txt(z));
    if (path)
        assert_int_equal(zcert_save_public(z, path), 0);
    zcert_destroy(&z);
    return c;
}

static ha_curve_cert_t s_cert(void)
{
    return s_cert_saved(NULL);
}

//  Whether a CURVE client with cert gets a frame through to a server in domain (a ROUTER
//  with server cert) within ms.
static bool s_gets_through(const ha_curve_cert_t *server, const char *domain,
                           const ha_curve_cert_t *client, int ms)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    ha_curve_server(router, server, domain);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    ha_curve_client(dealer, client, server->public_txt);
    assert_int_equal(zsock_connect(dealer, "tcp://127.0.0.1:%d", port), 0);
    zstr_send(dealer, "hello");
    zpoller_t *poller = zpoller_new(router, NULL);
    bool got = zpoller_wait(poller, ms) == router;
    zpoller_destroy(&poller);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    return got;
}

static void zap_answers_each_domain_by_its_own_policy(void **state)
{
    (void) state;
    char folder[128], path[160];
    s_path(folder, sizeof folder, "allowed");
    assert_int_equal(mkdir(folder, 0700), 0);
    snprintf(path, sizeof path, "%s/stranger.cert", folder);
    ha_curve_cert_t server = s_cert(), known = s_cert(), stranger = s_cert_saved(path);
    char keys[1][HA_CURVE_KEY_TXT];
    snprintf(keys[0], sizeof keys[0], "%s", known.public_txt);
    ha_curve_auth_t *any = ha_curve_auth_new("t-any", true, NULL, NULL, 0);
    ha_curve_auth_t *list = ha_curve_auth_new("t-list", false, NULL,
                                              (const char (*)[HA_CURVE_KEY_TXT]) keys, 1);
    assert_non_null(any);
    assert_non_null(list);
    assert_null(ha_curve_auth_new("t-list", true, NULL, NULL, 0));     //  taken
    //  A folder of public certificates counts too (stranger's is in it).
    ha_curve_auth_t *dir = ha_curve_auth_new("t-dir", false, folder, NULL, 0);
    assert_non_null(dir);

    assert_true(s_gets_through(&server, "t-any", &stranger, 2000));
    assert_true(s_gets_through(&server, "t-list", &known, 2000));
    assert_false(s_gets_through(&server, "t-list", &stranger, 300));
    assert_true(s_gets_through(&server, "t-dir", &stranger, 2000));
    assert_false(s_gets_through(&server, "t-dir", &known, 300));
    //  A domain nobody registered, or one forgotten, lets nobody in.
    assert_false(s_gets_through(&server, "t-nobody", &known, 300));
    ha_curve_auth_destroy(&list);
    assert_null(list);
    ha_curve_auth_destroy(&list);
    assert_false(s_gets_through(&server, "t-list", &known, 300));
    ha_curve_auth_destroy(&any);
    ha_curve_auth_destroy(&dir);
    //  The last one stopped the handler; a new one starts it again.
    any = ha_curve_auth_new("t-any", true, NULL, NULL, 0);
    assert_non_null(any);
    assert_true(s_gets_through(&server, "t-any", &known, 2000));
    ha_curve_auth_destroy(&any);
}

static void failure_reasons_have_names(void **state)
{
    (void) state;
    assert_string_equal(ha_curve_reason_str(ha_curve_reason(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                                                            400)),
                        "client-key-refused");
    assert_string_equal(ha_curve_reason_str(ha_curve_reason(
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                            ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)),
                        "not-curve");
    assert_string_equal(ha_curve_reason_str(ha_curve_reason(
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                            ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)),
                        "wrong-server-key");
    assert_string_equal(ha_curve_reason_str(ha_curve_reason(
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND)),
                        "protocol");
    assert_string_equal(ha_curve_reason_str(ha_curve_reason(
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0)),
                        "io-error");
}

//  --- Dialer --------------------------------------------------------------------------------

typedef struct {
    int failures, successes;
    zsock_t *router;
    int got;
} s_dial_t;

static void s_on_handshake(void *arg, uint16_t event, uint32_t value)
{
    (void) value;
    s_dial_t *d = arg;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        d->successes++;
    else
        d->failures++;
}

static int s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    s_dial_t *d = arg;
    zmsg_t *msg = zmsg_recv(sock);
    zmsg_destroy(&msg);
    d->got = 1;
    return -1;                      //  done: end the loop
}

static int s_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    (void) arg;
    return -1;
}

//  Turn loop until *flag or ms pass.
static void s_run_until(zloop_t *loop, const int *counter, int ms)
{
    int64_t deadline = zclock_mono() + ms;
    while (!*counter && zclock_mono() < deadline) {
        int t = zloop_timer(loop, 20, 1, s_on_deadline, NULL);
        zloop_start(loop);
        zloop_timer_end(loop, t);
    }
}

//  A CURVE DEALER first meets a plain ROUTER (the handshake fails: ZeroMQ gives the
//  endpoint up), then a CURVE server on the same port: the dialer connected it again and
//  a frame gets through.
static void dialer_connects_again_after_a_failed_handshake(void **state)
{
    (void) state;
    ha_curve_cert_t server = s_cert(), client = s_cert();
    ha_curve_auth_t *auth = ha_curve_auth_new("t-dial", true, NULL, NULL, 0);
    zloop_t *loop = zloop_new();
    zsock_t *plain = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(plain, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_immediate(dealer, 1);
    zsock_set_reconnect_ivl(dealer, 20);
    ha_curve_client(dealer, &client, server.public_txt);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    s_dial_t d = {0};
    ha_curve_dialer_t *dialer = ha_curve_dialer_new(loop, dealer, ep, 50, s_on_handshake, &d);
    assert_non_null(dialer);
    s_run_until(loop, &d.failures, 5000);
    assert_true(d.failures > 0);
    zsock_destroy(&plain);
    //  The port is released by ZeroMQ's I/O thread a moment later: try again for a while.
    d.router = zsock_new(ZMQ_ROUTER);
    ha_curve_server(d.router, &server, "t-dial");
    int64_t deadline = zclock_mono() + 5000;
    while (zsock_bind(d.router, "%s", ep) < 0) {
        assert_true(zclock_mono() < deadline);
        zclock_sleep(20);
    }
    assert_int_equal(zloop_reader(loop, d.router, s_on_router, &d), 0);
    //  Sent once connected (ZMQ_IMMEDIATE: nothing is queued before).
    deadline = zclock_mono() + 5000;
    while (!d.got && zclock_mono() < deadline) {
        s_run_until(loop, &d.successes, 100);
        if (d.successes && !d.got) {
            zstr_send(dealer, "hello");
            s_run_until(loop, &d.got, 1000);
        }
    }
    assert_true(d.successes > 0);
    assert_true(d.got);
    ha_curve_dialer_destroy(&dialer);
    ha_curve_dialer_destroy(&dialer);
    zloop_reader_end(loop, d.router);
    zsock_destroy(&d.router);
    zsock_destroy(&dealer);
    zloop_destroy(&loop);
    ha_curve_auth_destroy(&auth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(make_cert_writes_a_pair_that_loads_by_either_name),
        cmocka_unit_test(wrong_files_are_refused),
        cmocka_unit_test(zap_answers_each_domain_by_its_own_policy),
        cmocka_unit_test(failure_reasons_have_names),
        cmocka_unit_test(dialer_connects_again_after_a_failed_handshake),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
