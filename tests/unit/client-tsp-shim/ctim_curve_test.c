//  ctim_curve_test: libctim as a CURVE client against a fake node whose ROUTER is a CURVE
//  server (zcert) with a ZAP handler (zauth) -- the right server key gives a session, a wrong
//  one or none gives no session at all (the request gets TIMEOUT), a client certificate file
//  is the key pair the node sees, and unusable keys or files are refused by ctim_new.
#include <stdlib.h>
#include <unistd.h>

#include "fake_node.h"

#define HB_MS 200
#define REQUEST_TIMEOUT_MS 600

struct app_s {
    fake_node_t *nodes[1];
    int replies;
    int reply_id;
    ctim_result_t result;
    int ups;
};

static void s_on_reply(ctim_t *c, const ctim_reply_t *r, void *arg)
{
    (void)c;
    app_t *app = arg;
    app->replies++;
    app->reply_id = r->request_id;
    app->result = r->result;
}

static void s_on_link(ctim_t *c, ctim_link_t link, const char *server, const char *text,
                      void *arg)
{
    (void)c, (void)server, (void)text;
    app_t *app = arg;
    app->ups += link == CTIM_LINK_UP;
}

static bool s_replied(app_t *app, void *arg)
{
    (void)arg;
    return app->replies > 0;
}

static ctim_t *s_new(app_t *app, const char *server_key, const char *cert_file)
{
    ctim_cfg_t cfg;
    fake_cfg(&cfg, app->nodes[0]->endpoint, HB_MS, app);
    cfg.request_timeout_ms = REQUEST_TIMEOUT_MS;
    cfg.on_reply = s_on_reply;
    cfg.on_link = s_on_link;
    cfg.curve_server_key = server_key;
    cfg.curve_cert = cert_file;
    return ctim_new(&cfg);
}

//  Connect, open a line, run until its reply; the result.
static ctim_result_t s_open(ctim_t *c, app_t *app)
{
    app->replies = 0;
    assert_int_equal(ctim_connect(c), 0);
    int id = ctim_open_line(c, "101", NULL);
    assert_true(id > 0);
    assert_true(fake_run_until(c, app->nodes, 1, app, s_replied, NULL, REQUEST_TIMEOUT_MS + 2000));
    assert_int_equal(app->reply_id, id);
    return app->result;
}

static zactor_t *s_auth(const char *curve_arg)
{
    zactor_t *auth = zactor_new(zauth, NULL);
    assert_non_null(auth);
    assert_int_equal(zstr_sendx(auth, "CURVE", curve_arg, NULL), 0);
    assert_int_equal(zsock_wait(auth), 0);
    return auth;
}

static void right_server_key_logs_in(void **state)
{
    (void)state;
    zactor_t *auth = s_auth(CURVE_ALLOW_ANY);
    zcert_t *server = zcert_new();
    fake_node_t n;
    fake_start_curve(&n, "a", server);
    app_t app = {.nodes = {&n}};
    ctim_t *c = s_new(&app, zcert_public_txt(server), NULL);    //  a fresh key pair
    assert_non_null(c);
    assert_int_equal(s_open(c, &app), CTIM_RESULT_OK);
    assert_int_equal(app.ups, 1);
    assert_int_equal(n.hellos, 1);
    assert_true(ctim_is_up(c));
    ctim_destroy(&c);
    fake_stop(&n);
    zcert_destroy(&server);
    zactor_destroy(&auth);
}

//  A wrong server key (or none: plain text) never gets through the handshake: no Hello
//  reaches the node, the link never comes up, and the request is answered TIMEOUT.
static void wrong_or_no_server_key_gets_no_session(void **state)
{
    (void)state;
    zactor_t *auth = s_auth(CURVE_ALLOW_ANY);
    zcert_t *server = zcert_new(), *other = zcert_new();
    fake_node_t n;
    fake_start_curve(&n, "a", server);
    app_t app = {.nodes = {&n}};
    ctim_t *c = s_new(&app, zcert_public_txt(other), NULL);
    assert_non_null(c);
    int64_t t0 = zclock_mono();
    assert_int_equal(s_open(c, &app), CTIM_RESULT_TIMEOUT);
    assert_true(zclock_mono() - t0 >= REQUEST_TIMEOUT_MS - 1);
    assert_int_equal(app.ups, 0);
    assert_int_equal(n.hellos, 0);
    assert_false(ctim_is_up(c));
    ctim_destroy(&c);

    c = s_new(&app, NULL, NULL);
    assert_non_null(c);
    assert_int_equal(s_open(c, &app), CTIM_RESULT_TIMEOUT);
    assert_int_equal(app.ups, 0);
    assert_int_equal(n.hellos, 0);
    ctim_destroy(&c);
    fake_stop(&n);
    zcert_destroy(&server);
    zcert_destroy(&other);
    zactor_destroy(&auth);
}

//  The node admits only the client keys in its certificate folder: the handle whose
//  curve_cert is that key pair's secret file logs in, one with a fresh key pair does not.
static void client_cert_file_is_the_key_pair_used(void **state)
{
    (void)state;
    char dir[] = "/tmp/ctim_curve_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char allowed[64], priv[64], public_path[96], secret_path[96], priv_path[96];
    snprintf(allowed, sizeof allowed, "%s/allowed", dir);
    snprintf(priv, sizeof priv, "%s/private", dir);
    assert_int_equal(zsys_dir_create("%s", allowed), 0);
    assert_int_equal(zsys_dir_create("%s", priv), 0);
    zcert_t *client = zcert_new();
    snprintf(public_path, sizeof public_path, "%s/app.cert", allowed);
    snprintf(priv_path, sizeof priv_path, "%s/app.cert", priv);
    snprintf(secret_path, sizeof secret_path, "%s/app.cert_secret", priv);
    assert_int_equal(zcert_save_public(client, public_path), 0);
    assert_int_equal(zcert_save(client, priv_path), 0);    //  app.cert and app.cert_secret

    zactor_t *auth = s_auth(allowed);
    zcert_t *server = zcert_new();
    fake_node_t n;
    fake_start_curve(&n, "a", server);
    app_t app = {.nodes = {&n}};
    ctim_t *c = s_new(&app, zcert_public_txt(server), secret_path);
    assert_non_null(c);
    assert_int_equal(s_open(c, &app), CTIM_RESULT_OK);
    assert_int_equal(n.hellos, 1);
    ctim_destroy(&c);

    c = s_new(&app, zcert_public_txt(server), NULL);       //  a key the node does not know
    assert_non_null(c);
    assert_int_equal(s_open(c, &app), CTIM_RESULT_TIMEOUT);
    assert_int_equal(n.hellos, 1);
    ctim_destroy(&c);
    fake_stop(&n);
    zcert_destroy(&server);
    zactor_destroy(&auth);

    //  Unusable CURVE settings are refused up front (czmq would assert on a bad key).
    app_t none = {.nodes = {&n}};
    const char *key = zcert_public_txt(client);
    char short_key[40], bad_char[41];
    snprintf(short_key, sizeof short_key, "%s", key);               //  39 characters
    snprintf(bad_char, sizeof bad_char, "%s", key);
    bad_char[7] = '~';                                              //  not Z85
    assert_null(s_new(&none, short_key, NULL));
    assert_null(s_new(&none, bad_char, NULL));
    assert_null(s_new(&none, "", NULL));
    char missing[96];
    snprintf(missing, sizeof missing, "%s/none.cert", priv);
    assert_null(s_new(&none, key, missing));                        //  no such file
    assert_null(s_new(&none, key, public_path));                    //  no secret key in it
    assert_null(s_new(&none, NULL, secret_path));                   //  a cert, no server key
    c = s_new(&none, key, priv_path);       //  the public name finds app.cert_secret beside it
    assert_non_null(c);
    ctim_destroy(&c);
    zcert_destroy(&client);

    unlink(public_path);
    unlink(priv_path);
    unlink(secret_path);
    rmdir(allowed);
    rmdir(priv);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(right_server_key_logs_in),
        cmocka_unit_test(wrong_or_no_server_key_gets_no_session),
        cmocka_unit_test(client_cert_file_is_the_key_pair_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
