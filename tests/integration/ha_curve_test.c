//  CURVE on the cluster bus (cluster.curve_cert, cluster.curve_peers) with real ctimd
//  processes and pbxsim.  Certificates are made by `ctimd --make-cert`, so this also proves
//  the command's files are what the config wants.  A pair with CURVE forms (one owner,
//  heartbeats: each sees the other alive), a libctim request on the standby is answered
//  through the owner (ha_forward's DEALERs speak CURVE too), and kill -9 of the owner lets
//  the standby take the link.  A third node listed as a peer but plain, then with a
//  certificate the others do not have, is refused in the handshake: never alive to them,
//  never alive itself, the link stays where it is; the refusals are counted
//  (ctim_ha_auth_failures_total) and the owner warns once about the peer; fixed, it joins.
//  That a plain node is refused is the sniffer-free proof that the bus no longer speaks
//  plain text.  The pair scenario also runs plain, and both print the forwarding round
//  trips and the takeover time (ha/README.md "Figures").
#include <sys/stat.h>

#include "ha_test_util.h"

static const int S_PRIO[] = {10, 20, 1};    //  c would rank first, if it were ever heard

//  `ctimd --make-cert path`: path and path_secret.
static void s_make_cert(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --make-cert '%s' > /dev/null", CTIM_CTIMD, path);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char secret[256];
    snprintf(secret, sizeof secret, "%s_secret", path);
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);      //  the secret is the owner's only
}

static void s_copy(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

//  Node id's config with CURVE: its certificate cert_name (in f->dir) and the folder
//  peers-ID, written as ID-curve.yaml from ID.yaml.  Returns nothing; path into out.
static void s_curve_config(ha_fx_t *f, size_t i, const char *cert_name, char *out, size_t cap)
{
    ha_node_t *d = &f->node[i];
    snprintf(out, cap, "%s/%s-curve.yaml", f->dir, d->id);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", d->config, out);
    assert_int_equal(system(cmd), 0);
    FILE *cfg = fopen(out, "a");
    assert_non_null(cfg);
    //  The cluster section is last: these continue it (relative names: the file's folder).
    fprintf(cfg, "  curve_cert: %s_secret\n  curve_peers: peers-%s\n", cert_name, d->id);
    fclose(cfg);
}

//  Start node i with config, its stderr (the log) into DIR/ID.log.
static void s_start(ha_fx_t *f, size_t i, const char *config)
{
    ha_node_t *d = &f->node[i];
    char sh[768];
    snprintf(sh, sizeof sh, "exec '%s' --config '%s' 2>'%s/%s.log'", CTIM_CTIMD, config, f->dir,
             d->id);
    char *argv[] = {"/bin/sh", "-c", sh, NULL};
    assert_int_equal(test_proc_start(&d->proc, argv, "ctimd ready", 20000), 0);
}

//  Lines of node i's log holding text.
static int s_log_count(ha_fx_t *f, size_t i, const char *text)
{
    char path[128], line[1024];
    snprintf(path, sizeof path, "%s/%s.log", f->dir, f->node[i].id);
    FILE *log = fopen(path, "r");
    if (!log)
        return 0;
    int n = 0;
    while (fgets(line, sizeof line, log))
        n += strstr(line, text) != NULL;
    fclose(log);
    return n;
}

//  Node i sees peer alive (its /status), or false when it does not answer.
static bool s_peer_alive(ha_fx_t *f, size_t i, const char *peer)
{
    if (!ha_status(f, i))
        return false;
    char want[32];
    snprintf(want, sizeof want, "{\"id\":\"%s\"", peer);
    const char *p = strstr(f->body, want);
    return p && ha_json_true(p, "alive");
}

//  ctim_ha_auth_failures_total{direction,reason} of node i (0 when absent).
static long s_auth_failures(ha_fx_t *f, size_t i, const char *direction, const char *reason)
{
    int code = 0;
    if (test_http_get("127.0.0.1", f->node[i].http_port, "/metrics", 2000, &code, f->body,
                      sizeof f->body) != 0 || code != 200)
        return -1;
    char want[128];
    snprintf(want, sizeof want, "ctim_ha_auth_failures_total{direction=\"%s\",reason=\"%s",
             direction, reason ? reason : "");
    long sum = 0;
    for (const char *p = strstr(f->body, want); p; p = strstr(p + 1, want))
        sum += atol(strstr(p, "} ") + 2);
    return sum;
}

//  Wait until node i has counted a failure of direction and reason (NULL: any).
static void s_wait_refused(ha_fx_t *f, size_t i, const char *direction, const char *reason)
{
    long long deadline = test_now_ms() + HA_WAIT_MS;
    while (s_auth_failures(f, i, direction, reason) <= 0) {
        if (test_now_ms() > deadline) {
            const char *m = strstr(f->body, "ctim_ha_auth_failures_total");
            fail_msg("node %s never counted a %s %s handshake failure: %.1500s", f->node[i].id,
                     direction, reason ? reason : "any", m ? m : "(none)");
        }
        ha_pace(20);
    }
}

//  For ms: a holds the link, b stands by, and c is alive to nobody and sees nobody.
static void s_intruder_changes_nothing(ha_fx_t *f, int ms)
{
    for (long long until = test_now_ms() + ms; test_now_ms() < until;) {
        assert_false(s_peer_alive(f, 0, "c"));
        assert_false(s_peer_alive(f, 1, "c"));
        assert_false(s_peer_alive(f, 2, "a"));
        assert_false(s_peer_alive(f, 2, "b"));
        assert_true(ha_status(f, 2));       //  c runs (a false above is no dead node)
        ha_view_t v;
        assert_true(ha_view(f, 0, &v));
        assert_true(v.held && v.link_up);
        assert_int_equal(v.epoch, 1);
        assert_true(ha_view(f, 1, &v));
        assert_false(v.held);
        assert_string_equal(v.owner, "a");
        ha_pace(50);
    }
}

//  n nodes (a, b[, c]) with certificates made by ctimd, each one's public file in the
//  others' folders named after it, and each node's config with CURVE into cfg[i] (without
//  curve: the plain configs).  With intruder_cert, the last node runs with that
//  certificate instead of its own, which its peers do not list (the c.cert in their
//  folders is another one): it knows their public keys, but they do not know its.
static ha_fx_t *s_cluster(size_t n, const char *intruder_cert, char cfg[][160], bool curve)
{
    static const char *const args[] = {"--max-links", "2", "--extensions", "101-120", NULL};
    ha_fx_t *f = ha_fx_new_in(n, S_PRIO, args, HA_FX_CLIENTS);
    if (!curve) {
        for (size_t i = 0; i < n; i++)
            snprintf(cfg[i], 160, "%s", f->node[i].config);
        return f;
    }
    char path[160], to[160];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s.cert", f->dir, f->node[i].id);
        s_make_cert(path);
        snprintf(path, sizeof path, "%s/peers-%s", f->dir, f->node[i].id);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            snprintf(path, sizeof path, "%s/%s.cert", f->dir, f->node[j].id);
            snprintf(to, sizeof to, "%s/peers-%s/%s.cert", f->dir, f->node[i].id, f->node[j].id);
            s_copy(path, to);
        }
    if (intruder_cert) {
        snprintf(path, sizeof path, "%s/%s", f->dir, intruder_cert);
        s_make_cert(path);
    }
    for (size_t i = 0; i < n; i++) {
        char own[16];
        snprintf(own, sizeof own, "%s.cert", f->node[i].id);
        s_curve_config(f, i, intruder_cert && i == n - 1 ? intruder_cert : own, cfg[i], 160);
        //  Every file passes --check-config (an intruder's too: its files are consistent).
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "'%s' --check-config '%s' > /dev/null 2>&1", CTIM_CTIMD,
                 cfg[i]);
        assert_int_equal(system(cmd), 0);
    }
    return f;
}

//  The pair forms (over CURVE with curve): a holds the link with epoch 1, b stands by,
//  each hears the other (heartbeats get through); /status says whether CURVE is on.
static void s_pair_forms(ha_fx_t *f, char cfg[][160], bool curve)
{
    s_start(f, 0, cfg[0]);
    s_start(f, 1, cfg[1]);
    ha_wait_holder(f, 0, HA_WAIT_MS);
    ha_wait_standby(f, 1, "a", 1);
    assert_true(s_peer_alive(f, 0, "b"));
    assert_true(s_peer_alive(f, 1, "a"));
    assert_true(ha_status(f, 0));
    const char *cl = strstr(f->body, "\"cluster\":{");
    assert_non_null(cl);
    assert_true(ha_json_true(cl, "curve") == curve);
}

static int s_cmp_us(const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return x < y ? -1 : x > y;
}

#define RTT_SAMPLES 200

//  A libctim application on node i opens line 101 (on the standby its watch goes to the
//  owner and the answer comes back: in service) and asks GetAddressStatus RTT_SAMPLES
//  times, one at a time: every answer OK; the round trips' p50 and p99 in us.
static void s_app_rtt(ha_fx_t *f, size_t i, long long *p50, long long *p99)
{
    test_app_t app;
    char servers[64];
    snprintf(servers, sizeof servers, "tcp://127.0.0.1:%d", f->node[i].client_port);
    assert_int_equal(test_app_connect(&app, servers, 300), 0);
    test_ctim_reply_t r;
    assert_true(test_app_reply(&app, ctim_open_line(app.ctim, "101", NULL), &r));
    assert_int_equal(r.result, CTIM_RESULT_OK);
    assert_true(test_app_wait_service(&app, "101", true, test_now_ms() + HA_WAIT_MS));
    static long long us[RTT_SAMPLES];
    for (int k = 0; k < RTT_SAMPLES; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_true(test_app_reply(&app, ctim_get_address_status(app.ctim, "101"), &r));
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_int_equal(r.result, CTIM_RESULT_OK);
        us[k] = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
    }
    test_app_destroy(&app);
    qsort(us, RTT_SAMPLES, sizeof us[0], s_cmp_us);
    *p50 = us[RTT_SAMPLES / 2];
    *p99 = us[RTT_SAMPLES * 99 / 100];
}

//  The pair scenario, with CURVE or (for the figures) without: forms, forwards, fails over.
static void s_pair_scenario(bool curve)
{
    char cfg[2][160];
    ha_fx_t *f = s_cluster(2, NULL, cfg, curve);
    s_pair_forms(f, cfg, curve);

    //  Forwarding (ha_forward's own DEALERs): an application on the standby is served
    //  through the owner; the same on the owner, for what forwarding adds.
    ha_wait_forwarding(f, 1, "a");
    long long b50, b99, a50, a99;
    s_app_rtt(f, 1, &b50, &b99);
    s_app_rtt(f, 0, &a50, &a99);
    printf("%s pair: GetAddressStatus round trip, %d each: through the standby p50 %lld us "
           "p99 %lld us; on the owner p50 %lld us p99 %lld us; forwarding adds %lld us at "
           "p50\n", curve ? "curve" : "plain", RTT_SAMPLES, b50, b99, a50, a99, b50 - a50);
    fflush(stdout);
    if (curve) {
        //  Nothing failed a handshake on the way.
        assert_int_equal(s_auth_failures(f, 0, "in", NULL), 0);
        assert_int_equal(s_auth_failures(f, 0, "out", NULL), 0);
    }

    //  kill -9 of the owner: b takes the link with epoch 2.
    long long t0 = test_now_ms();
    ha_node_kill(f, 0);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report(curve ? "curve pair: kill -9 of the owner to link up on the backup"
                    : "plain pair: kill -9 of the owner to link up on the backup",
              up - t0);
    ha_view_t v;
    assert_true(ha_view(f, 1, &v));
    assert_int_equal(v.epoch, 2);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 2);
    assert_int_equal(l.open, 1);
    //  a comes back and stands by: the handshakes work again after a restart.
    s_start(f, 0, cfg[0]);
    ha_wait_standby(f, 0, "b", 2);
    assert_int_equal(ha_links(f).open, 1);
}

static void pair_with_curve_forms_forwards_and_fails_over(void **state)
{
    (void) state;
    s_pair_scenario(true);
}

//  The same without CURVE: the figures to compare with.
static void plain_pair_the_same_for_the_figures(void **state)
{
    (void) state;
    s_pair_scenario(false);
}

//  c is listed as a peer by a and b (a trio: a and b are its majority), and c, ranked
//  first, would disturb ownership if it were ever heard.
static void intruder_plain_or_with_another_key_is_never_alive(void **state)
{
    (void) state;
    char cfg[3][160];
    ha_fx_t *f = s_cluster(3, "c-other.cert", cfg, true);
    s_pair_forms(f, cfg, true);

    //  A plain c (its config without the CURVE keys): refused by a and b, never alive.
    s_start(f, 2, f->node[2].config);
    s_wait_refused(f, 0, "in", NULL);
    s_wait_refused(f, 1, "in", NULL);
    s_intruder_changes_nothing(f, 1000);
    assert_true(test_proc_stop(&f->node[2].proc) >= 0);

    //  c with a certificate of its own: a's and b's ZAP refuse its key; c cannot read what
    //  they send with the key they know for c.  Still never alive, nothing moves; a warns
    //  once about peer c however often c retries.
    long before = s_auth_failures(f, 0, "in", "client-key-refused");
    s_start(f, 2, cfg[2]);
    long long deadline = test_now_ms() + HA_WAIT_MS;
    while (s_auth_failures(f, 0, "in", "client-key-refused") <= before)
        assert_true(test_now_ms() < deadline);
    s_intruder_changes_nothing(f, 1500);
    assert_true(s_auth_failures(f, 0, "out", NULL) > 0);
    assert_int_equal(s_log_count(f, 0, "CURVE handshake with peer c at"), 1);
    assert_int_equal(s_log_count(f, 0, "CURVE handshake with peer b"), 0);
    ha_links_t l = ha_links(f);
    assert_int_equal(l.accepted, 1);
    test_proc_kill(&f->node[2].proc);

    //  c fixed (its own certificate, the one a and b list): it joins both ways.  ZeroMQ
    //  gives an endpoint up after a failed handshake; a's and b's DEALERs to c were dialled
    //  again (ha_curve_dialer), or c would never hear them.  c stands by for a (failback is
    //  manual, whatever its rank) and a says the handshake works again.
    char fixed[160];
    s_curve_config(f, 2, "c.cert", fixed, sizeof fixed);
    s_start(f, 2, fixed);
    ha_wait_standby(f, 2, "a", 1);
    deadline = test_now_ms() + HA_WAIT_MS;
    while (!(s_peer_alive(f, 0, "c") && s_peer_alive(f, 1, "c") && s_peer_alive(f, 2, "a") &&
             s_peer_alive(f, 2, "b")))
        assert_true(test_now_ms() < deadline);
    assert_int_equal(s_log_count(f, 0, "CURVE handshake with peer c succeeded"), 1);
    ha_view_t v;
    assert_true(ha_view(f, 0, &v));
    assert_true(v.held && v.epoch == 1);
    assert_int_equal(ha_links(f).accepted, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pair_with_curve_forms_forwards_and_fails_over, ha_teardown),
        cmocka_unit_test_teardown(plain_pair_the_same_for_the_figures, ha_teardown),
        cmocka_unit_test_teardown(intruder_plain_or_with_another_key_is_never_alive,
                                  ha_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
