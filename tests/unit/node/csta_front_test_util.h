//  csta_front_test_util: shared steps of the CSTA front end's unit tests — a zloop with a
//  node_csta_server on loopback ports, the fake PBX service (fake_node_pbx.h), real users
//  and metrics, and test clients (TCP or TLS) whose every step runs the loop until it is
//  done or a deadline passes (never a fixed sleep).
#ifndef CSTA_FRONT_TEST_UTIL_H
#define CSTA_FRONT_TEST_UTIL_H

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_node_pbx.h"
#include "node_csta_server.h"
#include "node_csta_session.h"
#include "node_log.h"
#include "node_metrics.h"
#include "node_users.h"

#define WAIT_MS 10000
#define CLI_MAX 8

//  Python's hashlib.pbkdf2_hmac('sha256', b'crm-secret', salt, 100000) (node_users_test).
#define CRM_HASH                                                                                 \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

typedef struct fx fx_t;

typedef struct {
    fx_t *f;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    bool tls_up;
    csta_framer_t *framer;
    uint8_t out[70000];
    size_t out_len, out_off;
    uint8_t last[70000];            //  the last APDU received
    size_t last_len;
    bool eof;
} cli_t;

typedef bool(cond_fn)(void *arg);

struct fx {
    zloop_t *loop;
    node_pbx_t *pbx;
    node_csta_server_t *srv;
    node_csta_server_cfg_t cfg;
    node_device_range_t range;
    node_user_cfg_t user_cfg[2];
    node_users_t *users;
    node_metrics_t *metrics;
    node_verifier_t *verifier;      //  NULL unless a test gives the server one
    char dir[64];
    char log_path[128];
    FILE *log;
    cli_t cli[CLI_MAX];
    //  run_until's condition (the check timer lives on after a run: it finds nothing then)
    cond_fn *cond;
    void *cond_arg;
    int64_t deadline;
    bool met;
    int check_timer;
};

//  --- TLS files: a self-signed P-256 certificate made with OpenSSL's API ------------------------

static inline void fx_make_cert(fx_t *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/ctim-front-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cfg.tls_cert, sizeof f->cfg.tls_cert, "%s/cert.pem", f->dir);
    snprintf(f->cfg.tls_key, sizeof f->cfg.tls_key, "%s/key.pem", f->dir);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *out = fopen(f->cfg.tls_cert, "w");
    assert_non_null(out);
    PEM_write_X509(out, x);
    fclose(out);
    out = fopen(f->cfg.tls_key, "w");
    assert_non_null(out);
    PEM_write_PrivateKey(out, key, NULL, NULL, 0, NULL, NULL);
    fclose(out);
    X509_free(x);
    EVP_PKEY_free(key);
}

//  --- The fixture --------------------------------------------------------------------------------

//  Users: "crm" (password crm-secret, every device) and "desk" (crm-secret, 101-103).
static inline fx_t *fx_new(int queue_max_bytes, bool tcp_login_required, int max_apps)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->log_path, sizeof f->log_path, "/tmp/ctim-front-log-%d-%p", (int) getpid(),
             (void *) f);
    f->log = fopen(f->log_path, "w+");
    assert_non_null(f->log);
    node_log_init("test", NODE_LOG_INFO);
    node_log_set_stream(f->log);
    f->loop = zloop_new();
    f->metrics = node_metrics_new();
    snprintf(f->cfg.listen, sizeof f->cfg.listen, "127.0.0.1");
    f->cfg.tcp_port = 1;            //  on: node_csta_server_pick_ports chooses the real ports
    f->cfg.tls_port = 1;
    f->cfg.tcp_login_required = tcp_login_required;
    f->cfg.max_apps = max_apps;
    f->cfg.app_queue_max_bytes = queue_max_bytes;
    f->cfg.login_fail_delay_ms = 1000;
    fx_make_cert(f);
    snprintf(f->user_cfg[0].name, sizeof f->user_cfg[0].name, "crm");
    snprintf(f->user_cfg[0].password_hash, sizeof f->user_cfg[0].password_hash, "%s", CRM_HASH);
    snprintf(f->user_cfg[1].name, sizeof f->user_cfg[1].name, "desk");
    snprintf(f->user_cfg[1].password_hash, sizeof f->user_cfg[1].password_hash, "%s", CRM_HASH);
    snprintf(f->range.first, sizeof f->range.first, "101");
    snprintf(f->range.last, sizeof f->range.last, "103");
    f->user_cfg[1].devices = &f->range;
    f->user_cfg[1].device_count = 1;
    f->users = node_users_new(f->user_cfg, 2);
    assert_non_null(f->users);
    //  A back-off longer than any test: a slow run (valgrind) still sees the throttle.
    node_users_set_backoff(f->users, 60000, 60000);
    f->srv = node_csta_server_new(f->loop, &f->cfg, f->users, f->metrics);
    assert_non_null(f->srv);
    node_pbx_listener_t listener;
    node_csta_server_listener(f->srv, &listener);
    f->pbx = fake_pbx_new(&listener);
    node_csta_server_attach(f->srv, f->pbx, 0);
    node_csta_server_pick_ports(f->srv, true, true);
    assert_int_equal(node_csta_server_start(f->srv), 0);
    assert_true(node_csta_server_port(f->srv, false) > 0);
    assert_true(node_csta_server_port(f->srv, true) > 0);
    return f;
}

static inline void cli_close(cli_t *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->fd > 0)
        close(c->fd);
    csta_framer_destroy(&c->framer);
    memset(c, 0, sizeof *c);
}

static inline int fx_free(void **state)
{
    fx_t *f = *state;
    if (!f)
        return 0;
    for (int i = 0; i < CLI_MAX; i++)
        cli_close(&f->cli[i]);
    node_csta_server_destroy(&f->srv);
    node_verifier_destroy(&f->verifier);    //  after the server: its sessions cancel first
    fake_pbx_destroy(&f->pbx);
    node_users_destroy(&f->users);
    node_metrics_destroy(&f->metrics);
    zloop_destroy(&f->loop);
    node_log_set_stream(NULL);
    if (getenv("CTIM_TEST_LOG")) {     //  show what the node said (debugging a failure)
        rewind(f->log);
        char line[4096];
        while (fgets(line, sizeof line, f->log))
            fputs(line, stderr);
    }
    fclose(f->log);
    unlink(f->log_path);
    unlink(f->cfg.tls_cert);
    unlink(f->cfg.tls_key);
    rmdir(f->dir);
    free(f);
    *state = NULL;
    return 0;
}

//  Whether the log holds a line with this text.
static inline bool fx_logged(fx_t *f, const char *text)
{
    fflush(f->log);
    rewind(f->log);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f->log))
        found = strstr(line, text) != NULL;
    fseek(f->log, 0, SEEK_END);
    return found;
}

static inline double fx_metric(fx_t *f, const char *family_line)
{
    //  A line of the text exposition: "ctim_csta_logins_total{result=\"ok\"} 1".
    char *text = node_metrics_render(f->metrics);
    char needle[512];
    snprintf(needle, sizeof needle, "\n%s", family_line);     //  not the # HELP line
    const char *p = strstr(text, needle);
    double v = p ? strtod(p + strlen(needle), NULL) : 0;
    free(text);
    return v;
}

//  --- Running the loop until something holds
//  --------------------------------------------------------

static inline int fx_on_check(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fx_t *f = arg;
    if (!f->cond)
        return 0;
    if (f->cond(f->cond_arg)) {
        f->met = true;
        return -1;
    }
    return zclock_mono() >= f->deadline ? -1 : 0;
}

static inline bool fx_run_until(fx_t *f, cond_fn *cond, void *arg, int ms)
{
    f->cond = cond;
    f->cond_arg = arg;
    f->met = false;
    f->deadline = zclock_mono() + ms;
    if (cond(arg))
        f->met = true;
    else {
        if (!f->check_timer)
            f->check_timer = zloop_timer(f->loop, 1, 0, fx_on_check, f);
        zloop_start(f->loop);
    }
    f->cond = NULL;
    return f->met;
}

static inline bool fx_false(void *arg)
{
    (void) arg;
    return false;
}

//  Let the loop run for ms (to show that something does NOT happen).
static inline void fx_run_for(fx_t *f, int ms)
{
    fx_run_until(f, fx_false, NULL, ms);
}

//  --- Test clients
//  ----------------------------------------------------------------------------------

static inline cli_t *cli_new(fx_t *f, int index, bool tls)
{
    cli_t *c = &f->cli[index];
    cli_close(c);
    c->f = f;
    c->framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(c->fd > 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t) node_csta_server_port(f->srv, tls)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(c->fd, (struct sockaddr *) &sin, sizeof sin);
    assert_true(rc == 0 || errno == EINPROGRESS);
    if (tls) {
        c->ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);  //  self-signed test certificate
        c->ssl = SSL_new(c->ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_connect_state(c->ssl);
    }
    return c;
}

//  Move bytes: write what is pending, read what came; a complete APDU ends up in last.
static inline bool cli_pump(cli_t *c, bool want_apdu)
{
    if (c->ssl && !c->tls_up) {
        ERR_clear_error();      //  the server shares this thread's OpenSSL error queue
        int rc = SSL_do_handshake(c->ssl);
        if (rc == 1)
            c->tls_up = true;
        else {
            int e = SSL_get_error(c->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                c->eof = true;
            return false;
        }
    }
    while (c->out_off < c->out_len) {
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int w = SSL_write(c->ssl, c->out + c->out_off, (int) (c->out_len - c->out_off));
            n = w > 0 ? w : -1;
        } else
            n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        c->out_off += (size_t) n;
    }
    if (!want_apdu)
        return c->out_off == c->out_len;
    for (;;) {
        const uint8_t *apdu;
        size_t len;
        int rc = csta_framer_next(c->framer, &apdu, &len);
        if (rc == 0) {
            memcpy(c->last, apdu, len);
            c->last_len = len;
            return true;
        }
        uint8_t buf[16384];
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, buf, sizeof buf);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                    c->eof = true;
                return false;
            }
            n = r;
        } else {
            n = recv(c->fd, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                c->eof = true;
                return false;
            }
            if (n < 0)
                return false;
        }
        csta_framer_feed(c->framer, buf, (size_t) n);
    }
}

static inline bool cli_cond_sent(void *arg)
{
    cli_t *c = arg;
    return cli_pump(c, false) || c->eof;
}

static inline bool cli_cond_apdu(void *arg)
{
    cli_t *c = arg;
    return cli_pump(c, true) || c->eof;
}

static inline bool cli_cond_eof(void *arg)
{
    cli_t *c = arg;
    while (!c->eof && cli_pump(c, true))
        ;
    return c->eof;
}

static inline bool cli_cond_tls(void *arg)
{
    cli_t *c = arg;
    cli_pump(c, false);
    return c->tls_up || c->eof;
}

static inline void cli_send_raw(cli_t *c, const uint8_t *bytes, size_t len)
{
    assert_true(c->out_len + len <= sizeof c->out);
    memcpy(c->out + c->out_len, bytes, len);
    c->out_len += len;
    assert_true(fx_run_until(c->f, cli_cond_sent, c, WAIT_MS));
    assert_false(c->eof);
}

static inline void cli_send_apdu(cli_t *c, const uint8_t *apdu, size_t len)
{
    uint8_t hdr[2] = {(uint8_t) (len >> 8), (uint8_t) len};
    cli_send_raw(c, hdr, 2);
    cli_send_raw(c, apdu, len);
}

static inline void cli_send(cli_t *c, const csta_apdu_t *a)
{
    uint8_t buf[8192];
    size_t len;
    assert_int_equal(csta_apdu_encode(a, buf, sizeof buf, &len), 0);
    cli_send_apdu(c, buf, len);
}

//  The next APDU from the server, decoded into *a (the caller clears it).
static inline void cli_recv(cli_t *c, csta_apdu_t *a)
{
    bool got = fx_run_until(c->f, cli_cond_apdu, c, WAIT_MS);
    assert_false(c->eof);
    assert_true(got);
    int rc = csta_apdu_decode(a, c->last, c->last_len);
    assert_true(rc == 0 || rc == -ENOTSUP);
}

//  No APDU arrives within ms.
static inline void cli_recv_nothing(cli_t *c, int ms)
{
    assert_false(fx_run_until(c->f, cli_cond_apdu, c, ms));
    assert_false(c->eof);
}

static inline void cli_expect_closed(cli_t *c)
{
    assert_true(fx_run_until(c->f, cli_cond_eof, c, WAIT_MS));
}

//  An AARQ (with a login if user is not NULL) in *a.
static inline void cli_aarq_make(const char *context, const char *user, const char *password,
                                 csta_apdu_t *out)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_AARQ);
    csta_bits_set(&a.acse.protocol_version, 0, 1);
    a.acse.protocol_version.unused = 7;
    snprintf(a.acse.context, sizeof a.acse.context, "%s", context ? context : CSTA_ACN_CSTA3);
    csta_bits_set(&a.acse.csta_version, CSTA_VERSION_FIVE, 2);
    if (user) {
        csta_bits_set(&a.acse.acse_requirements, 0, 1);
        a.acse.acse_requirements.unused = 7;
        a.acse.has_login = true;
        snprintf(a.acse.user, sizeof a.acse.user, "%s", user);
        snprintf(a.acse.password, sizeof a.acse.password, "%s", password ? password : "");
    }
    *out = a;
}

//  AARQ (with a login if user is not NULL); returns the AARE (the caller clears it).
static inline void cli_aarq(cli_t *c, const char *context, const char *user, const char *password,
                            csta_apdu_t *aare)
{
    if (c->ssl)
        assert_true(fx_run_until(c->f, cli_cond_tls, c, WAIT_MS) && c->tls_up);
    csta_apdu_t a;
    cli_aarq_make(context, user, password, &a);
    cli_send(c, &a);
    cli_recv(c, aare);
    assert_int_equal(aare->kind, CSTA_APDU_AARE);
}

//  Connect and associate; the SystemStatus that follows the AARE is checked and read.
static inline cli_t *cli_associated(fx_t *f, int index, bool tls, const char *user)
{
    cli_t *c = cli_new(f, index, tls);
    csta_apdu_t a;
    cli_aarq(c, NULL, user, user ? "crm-secret" : NULL, &a);
    assert_int_equal(a.acse.result, CSTA_AARE_ACCEPTED);
    csta_apdu_clear(&a);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_INVOKE);
    assert_int_equal(a.opcode, CSTA_OP_SYSTEM_STATUS);
    csta_apdu_clear(&a);
    return c;
}

static inline void cli_invoke(cli_t *c, csta_apdu_t *a, long invoke_id)
{
    a->kind = CSTA_APDU_INVOKE;
    a->invoke_id = invoke_id;
    cli_send(c, a);
}

typedef struct {
    fx_t *f;
    int n;
} s_count_wait_t;

static inline bool fx_cond_requests(void *arg)
{
    s_count_wait_t *w = arg;
    return w->f->pbx->requests >= w->n;
}

static inline bool fx_cond_watches(void *arg)
{
    s_count_wait_t *w = arg;
    return w->f->pbx->watches >= w->n;
}

//  Wait until the fake PBX has seen n requests / n watches in all (and no more).
static inline void fx_wait_requests(fx_t *f, int n)
{
    s_count_wait_t w = {f, n};
    assert_true(fx_run_until(f, fx_cond_requests, &w, WAIT_MS));
    assert_int_equal(f->pbx->requests, n);
}

static inline void fx_wait_watches(fx_t *f, int n)
{
    s_count_wait_t w = {f, n};
    assert_true(fx_run_until(f, fx_cond_watches, &w, WAIT_MS));
    assert_int_equal(f->pbx->watches, n);
}

//  MonitorStart for digits; the fake PBX confirms watch number watch_index; returns the xref.
static inline csta_xref_t cli_monitor(cli_t *c, const char *digits, long invoke_id, int watch_index)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&a.svc.monitor_start.device, digits);
    cli_invoke(c, &a, invoke_id);
    fx_wait_watches(c->f, watch_index + 1);
    assert_string_equal(c->f->pbx->watch[watch_index].device.digits, digits);
    fake_pbx_watch_done(c->f->pbx, watch_index, 0, NULL, 0);
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_RESULT);
    assert_int_equal(a.invoke_id, invoke_id);
    assert_int_equal(a.opcode, CSTA_OP_MONITOR_START);
    csta_xref_t x = a.svc.monitor_start_res.xref;
    assert_int_equal(x.len, 2);
    csta_apdu_clear(&a);
    return x;
}

static inline void expect_error(cli_t *c, long invoke_id, csta_err_category_t category, long value)
{
    csta_apdu_t a;
    cli_recv(c, &a);
    assert_int_equal(a.kind, CSTA_APDU_ERROR);
    assert_int_equal(a.invoke_id, invoke_id);
    assert_int_equal(a.error.category, category);
    assert_int_equal(a.error.value, value);
    csta_apdu_clear(&a);
}

//  --- APDUs the fake PBX sends
//  ------------------------------------------------------------------------

//  A Delivered event as a PBX sends it: PBX invoke id and cross-reference (3 bytes, unlike
//  the applications' 2), call 00 2a at `at`, and a Panasonic-style private data element.
static inline size_t pbx_delivered(uint8_t *out, size_t cap, long invoke_id, const char *at,
                                   csta_event_type_t type)
{
    static const uint8_t kme[] = {0xA6, 0x03, 0x8A, 0x01, 0x02};   //  kmeAdditionalData
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = invoke_id;
    a.opcode = CSTA_OP_EVENT_REPORT;
    uint8_t x[3] = {0xAB, 0xCD, 0xEF};
    csta_xref_set(&a.event.xref, x, sizeof x);
    a.event.type = type;
    uint8_t call[2] = {0x00, 0x2a};
    if (type == CSTA_EV_DELIVERED) {
        csta_delivered_t *d = &a.event.delivered;
        csta_conn_set(&d->connection, call, 2, at);
        csta_device_set(&d->alerting, at);
        csta_device_set(&d->calling, "0301234567");
        csta_device_set(&d->called, at);
        d->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
        d->local_state = CSTA_LCS_ALERTING;
        d->cause = CSTA_CAUSE_NEW_CALL;
    } else {
        csta_established_t *e = &a.event.established;
        csta_conn_set(&e->established_connection, call, 2, at);
        csta_device_set(&e->answering, at);
        csta_device_set(&e->calling, "0301234567");
        csta_device_set(&e->called, at);
        e->last_redirection.kind = CSTA_DEV_NOT_REQUIRED;
        e->local_state = CSTA_LCS_CONNECTED;
        e->cause = CSTA_CAUSE_NEW_CALL;
    }
    a.ext.present = true;
    a.ext.has_private = true;
    a.ext.private_count = 1;
    a.ext.private_data[0] = (csta_bytes_t){kme, sizeof kme};
    size_t len;
    assert_int_equal(csta_apdu_encode(&a, out, cap, &len), 0);
    return len;
}

#endif
