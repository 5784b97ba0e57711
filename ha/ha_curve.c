//  ha_curve: certificates, the process's ZAP handler by domain, handshake failures (ha_curve.h).
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ha_curve.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"    //  ZeroMQ's, one per context (RFC 27)

//  --- Certificates -----------------------------------------------------------------------------

//  The keys of the zcert file at path as Z85 text (a key that is missing, or not 32 bytes
//  in Z85, is left ""): 0, or -ENOENT.  Read as czmq's zcert_load reads it (path_secret
//  first, then path; a ZPL file with curve/public-key and curve/secret-key), but parsed
//  from memory: zconfig_load leaks its file object on a file that does not parse.
static int s_load(const char *path, char public_txt[HA_CURVE_KEY_TXT],
                  char secret_txt[HA_CURVE_KEY_TXT])
{
    char secret[1024];
    snprintf(secret, sizeof secret, "%s_secret", path);
    const char *file = access(secret, R_OK) == 0 ? secret : path;
    FILE *f = fopen(file, "r");
    if (!f)
        return -ENOENT;
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    zconfig_t *root = zconfig_str_load(text);
    const char *keys[2] = {root ? zconfig_get(root, "/curve/public-key", NULL) : NULL,
                           root ? zconfig_get(root, "/curve/secret-key", NULL) : NULL};
    char *out[2] = {public_txt, secret_txt};
    for (int i = 0; i < 2; i++) {
        uint8_t bin[32];
        static const uint8_t zero[32];
        bool ok = keys[i] && strlen(keys[i]) == HA_CURVE_KEY_TXT - 1 &&
                  zmq_z85_decode(bin, keys[i]) && memcmp(bin, zero, sizeof zero) != 0;
        snprintf(out[i], HA_CURVE_KEY_TXT, "%s", ok ? keys[i] : "");
    }
    zconfig_destroy(&root);
    return 0;
}

int ha_curve_cert_load(const char *path, ha_curve_cert_t *cert)
{
    int rc = s_load(path, cert->public_txt, cert->secret_txt);
    //  A public file alone has no secret key: not ours to serve with.
    if (rc == 0 && (!*cert->public_txt || !*cert->secret_txt))
        rc = -EINVAL;
    if (rc)
        memset(cert, 0, sizeof *cert);
    return rc;
}

int ha_curve_public_load(const char *path, char key[HA_CURVE_KEY_TXT])
{
    char secret[HA_CURVE_KEY_TXT];
    int rc = s_load(path, key, secret);
    return rc ? rc : *key ? 0 : -EINVAL;
}

int ha_curve_make_cert(const char *path)
{
    zcert_t *cert = zcert_new();
    if (!cert)
        return -ENOMEM;
    //  zcert_save writes path (public) and path_secret, the latter readable by its owner only.
    int rc = zcert_save(cert, path) == 0 ? 0 : (errno ? -errno : -EIO);
    zcert_destroy(&cert);
    return rc;
}

void ha_curve_server(zsock_t *sock, const ha_curve_cert_t *cert, const char *domain)
{
    zsock_set_curve_secretkey(sock, cert->secret_txt);
    zsock_set_curve_publickey(sock, cert->public_txt);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, domain);
}

void ha_curve_client(zsock_t *sock, const ha_curve_cert_t *cert, const char *server_key)
{
    zsock_set_curve_secretkey(sock, cert->secret_txt);
    zsock_set_curve_publickey(sock, cert->public_txt);
    zsock_set_curve_serverkey(sock, server_key);
}

//  --- The ZAP handler (an actor) ---------------------------------------------------------------

typedef struct {
    bool any;
    zhashx_t *keys;                 //  Z85 public key -> itself
    zcertstore_t *store;            //  a folder of public certificates, or NULL
} s_policy_t;

static void s_policy_free(void **item)
{
    s_policy_t *p = *item;
    if (!p)
        return;
    zhashx_destroy(&p->keys);
    zcertstore_destroy(&p->store);
    free(p);
    *item = NULL;
}

//  ADD domain any folder key...: signal 0, or 1 when the domain is taken.  DEL domain.
static void s_on_command(zsock_t *pipe, zhashx_t *policies, bool *done)
{
    zmsg_t *msg = zmsg_recv(pipe);
    char *cmd = msg ? zmsg_popstr(msg) : NULL;
    char *domain = msg ? zmsg_popstr(msg) : NULL;
    if (!cmd || streq(cmd, "$TERM")) {
        *done = true;
    } else if (streq(cmd, "ADD") && domain) {
        char *any = zmsg_popstr(msg), *folder = zmsg_popstr(msg);
        s_policy_t *p = calloc(1, sizeof *p);
        int status = 1;
        if (p && !zhashx_lookup(policies, domain)) {
            p->any = any && streq(any, "1");
            p->keys = zhashx_new();
            if (folder && *folder)
                p->store = zcertstore_new(folder);
            char *key;
            while (p->keys && (key = zmsg_popstr(msg))) {
                zhashx_update(p->keys, key, "1");
                free(key);
            }
            zhashx_insert(policies, domain, p);
            p = NULL;
            status = 0;
        }
        free(p);
        free(any);
        free(folder);
        zsock_signal(pipe, (byte) status);
    } else if (streq(cmd, "DEL") && domain) {
        zhashx_delete(policies, domain);
        zsock_signal(pipe, 0);
    }
    free(cmd);
    free(domain);
    zmsg_destroy(&msg);
}

//  One ZAP request (RFC 27: version, request id, domain, address, identity, mechanism,
//  credentials): 200 for a CURVE client key the domain allows, 400 otherwise.  NULL and
//  PLAIN (never configured here) get 400 too, but ZeroMQ asks for them only when a plain
//  socket has a ZAP domain, which ours never do.
static void s_on_request(zsock_t *handler, zhashx_t *policies)
{
    zmsg_t *msg = zmsg_recv(handler);
    if (!msg)
        return;
    char *version = zmsg_popstr(msg), *id = zmsg_popstr(msg), *domain = zmsg_popstr(msg);
    char *address = zmsg_popstr(msg), *identity = zmsg_popstr(msg);
    char *mechanism = zmsg_popstr(msg);
    zframe_t *cred = zmsg_pop(msg);
    bool ok = false;
    if (version && streq(version, "1.0") && domain && mechanism && streq(mechanism, "CURVE") &&
        cred && zframe_size(cred) == 32) {
        s_policy_t *p = zhashx_lookup(policies, domain);
        char key[HA_CURVE_KEY_TXT];
        zmq_z85_encode(key, zframe_data(cred), 32);
        ok = p && (p->any || zhashx_lookup(p->keys, key) ||
                   (p->store && zcertstore_lookup(p->store, key)));
    }
    zstr_sendx(handler, "1.0", id ? id : "", ok ? "200" : "400", ok ? "OK" : "No access", "",
               "", NULL);
    zframe_destroy(&cred);
    free(version);
    free(id);
    free(domain);
    free(address);
    free(identity);
    free(mechanism);
    zmsg_destroy(&msg);
}

static void s_actor(zsock_t *pipe, void *args)
{
    (void) args;
    zhashx_t *policies = zhashx_new();
    zsock_t *handler = zsock_new(ZMQ_REP);
    zpoller_t *poller = NULL;
    if (policies && handler && zsock_bind(handler, S_ZAP_ENDPOINT) == 0)
        poller = zpoller_new(pipe, handler, NULL);
    if (policies)
        zhashx_set_destructor(policies, s_policy_free);
    //  zactor_new swallows the first signal whatever it says; the second tells
    //  ha_curve_auth_new whether the handler runs (0) or not (1: the endpoint is taken).
    zsock_signal(pipe, 0);
    zsock_signal(pipe, poller ? 0 : 1);
    bool done = !poller;
    while (!done) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (which == pipe)
            s_on_command(pipe, policies, &done);
        else if (which == handler)
            s_on_request(handler, policies);
        else if (zpoller_terminated(poller))
            break;
    }
    zpoller_destroy(&poller);
    if (handler)
        zsock_unbind(handler, S_ZAP_ENDPOINT);
    zsock_destroy(&handler);
    zhashx_destroy(&policies);
}

//  The actor and how many domains use it: the node's loop thread alone creates and
//  destroys ha_curve_auth objects, so this needs no lock.
static zactor_t *s_zap;
static size_t s_zap_users;

struct ha_curve_auth {
    char domain[256];
};

ha_curve_auth_t *ha_curve_auth_new(const char *domain, bool any, const char *folder,
                                   const char (*keys)[HA_CURVE_KEY_TXT], size_t count)
{
    ha_curve_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->domain, sizeof self->domain, "%s", domain);
    if (!s_zap) {
        s_zap = zactor_new(s_actor, NULL);
        if (s_zap && zsock_wait(s_zap) != 0)
            zactor_destroy(&s_zap);
        if (!s_zap) {
            free(self);
            return NULL;
        }
    }
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "ADD");
    zmsg_addstr(msg, domain);
    zmsg_addstr(msg, any ? "1" : "0");
    zmsg_addstr(msg, folder ? folder : "");
    for (size_t i = 0; i < count; i++)
        zmsg_addstr(msg, keys[i]);
    zmsg_send(&msg, s_zap);
    if (zsock_wait(s_zap) != 0) {
        if (!s_zap_users)
            zactor_destroy(&s_zap);
        free(self);
        return NULL;
    }
    s_zap_users++;
    return self;
}

void ha_curve_auth_destroy(ha_curve_auth_t **self_p)
{
    ha_curve_auth_t *self = *self_p;
    if (!self)
        return;
    zstr_sendx(s_zap, "DEL", self->domain, NULL);
    zsock_wait(s_zap);
    if (--s_zap_users == 0)
        zactor_destroy(&s_zap);
    free(self);
    *self_p = NULL;
}

//  --- Handshake failures ---------------------------------------------------------------------

ha_curve_reason_t ha_curve_reason(uint16_t event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return HA_CURVE_KEY_REFUSED;
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return HA_CURVE_NOT_CURVE;
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return HA_CURVE_WRONG_KEY;
    return event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? HA_CURVE_PROTOCOL : HA_CURVE_IO_ERROR;
}

const char *ha_curve_reason_str(ha_curve_reason_t reason)
{
    switch (reason) {
    case HA_CURVE_KEY_REFUSED: return "client-key-refused";
    case HA_CURVE_NOT_CURVE: return "not-curve";
    case HA_CURVE_WRONG_KEY: return "wrong-server-key";
    case HA_CURVE_PROTOCOL: return "protocol";
    case HA_CURVE_IO_ERROR: return "io-error";
    case HA_CURVE_REASONS: break;
    }
    return "?";
}

zsock_t *ha_curve_monitor_new(zsock_t *sock, int events)
{
    //  Endpoints must be unique in the process: the loop thread alone makes them.
    static unsigned serial;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://ctim-monitor-%u-%p", ++serial, (void *) sock);
    if (zmq_socket_monitor(zsock_resolve(sock), ep, events) != 0)
        return NULL;
    zsock_t *pair = zsock_new(ZMQ_PAIR);
    if (!pair || zsock_connect(pair, "%s", ep) != 0) {
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        zsock_destroy(&pair);
    }
    return pair;
}

void ha_curve_monitor_destroy(zsock_t *sock, zsock_t **monitor_p)
{
    if (!*monitor_p)
        return;
    if (sock)
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
    zsock_destroy(monitor_p);
}

bool ha_curve_monitor_read(zmsg_t *msg, uint16_t *event, uint32_t *value, char *ep, size_t cap)
{
    zframe_t *f = msg ? zmsg_first(msg) : NULL;
    if (!f || zframe_size(f) != 6)
        return false;
    memcpy(event, zframe_data(f), 2);
    memcpy(value, zframe_data(f) + 2, 4);
    zframe_t *where = zmsg_next(msg);
    if (cap)
        snprintf(ep, cap, "%.*s", where ? (int) zframe_size(where) : 0,
                 where ? (const char *) zframe_data(where) : "");
    return true;
}

bool ha_curve_failure_read(zsock_t *monitor, ha_curve_rate_t *rate, int interval_ms,
                           ha_curve_failure_t *out)
{
    zmsg_t *msg = zmsg_recv(monitor);
    bool ok = ha_curve_monitor_read(msg, &out->event, &out->value, out->endpoint,
                                    sizeof out->endpoint);
    zmsg_destroy(&msg);
    if (!ok)
        return false;
    out->reason = ha_curve_reason(out->event, out->value);
    int64_t now = zclock_mono();
    out->log = now - rate->logged_at >= interval_ms;
    out->quiet = rate->quiet;
    if (out->log) {
        rate->logged_at = now;
        rate->quiet = 0;
    } else {
        rate->quiet++;
    }
    return true;
}

//  --- Dialer -----------------------------------------------------------------------------------

struct ha_curve_dialer {
    zloop_t *loop;
    zsock_t *dealer;                //  borrowed
    zsock_t *monitor;
    char endpoint[300];
    int redial_ms;
    int timer;                      //  a redial pending (0: none)
    ha_curve_dialer_fn *fn;
    void *arg;
};

static int s_on_redial(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ha_curve_dialer_t *self = arg;
    self->timer = 0;
    //  The endpoint's session is gone; a disconnect of it may fail, which is fine.
    zsock_disconnect(self->dealer, "%s", self->endpoint);
    zsock_connect(self->dealer, "%s", self->endpoint);
    return 0;
}

static int s_on_dialer_monitor(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) sock;
    ha_curve_dialer_t *self = arg;
    zmsg_t *msg = zmsg_recv(self->monitor);
    uint16_t event;
    uint32_t value;
    if (ha_curve_monitor_read(msg, &event, &value, NULL, 0)) {
        //  A connection that failed before the handshake (nobody listening, a reset) is
        //  ZeroMQ's to retry; one that failed in it is ours.
        if (event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED && self->timer <= 0) {
            self->timer = zloop_timer(loop, (size_t) self->redial_ms, 1, s_on_redial, self);
            if (self->timer < 0)
                self->timer = 0;
        }
        if (self->fn)
            self->fn(self->arg, event, value);
    }
    zmsg_destroy(&msg);
    return 0;
}

ha_curve_dialer_t *ha_curve_dialer_new(zloop_t *loop, zsock_t *dealer, const char *endpoint,
                                       int redial_ms, ha_curve_dialer_fn *fn, void *arg)
{
    ha_curve_dialer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    *self = (ha_curve_dialer_t){loop, dealer, NULL, "", redial_ms, 0, fn, arg};
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->monitor = ha_curve_monitor_new(dealer, HA_CURVE_FAILED_EVENTS |
                                                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (!self->monitor || zloop_reader(loop, self->monitor, s_on_dialer_monitor, self) != 0 ||
        zsock_connect(dealer, "%s", endpoint) != 0) {
        if (self->monitor)
            zloop_reader_end(loop, self->monitor);
        ha_curve_monitor_destroy(dealer, &self->monitor);
        free(self);
        return NULL;
    }
    return self;
}

void ha_curve_dialer_destroy(ha_curve_dialer_t **self_p)
{
    ha_curve_dialer_t *self = *self_p;
    if (!self)
        return;
    if (self->timer > 0)
        zloop_timer_end(self->loop, self->timer);
    zloop_reader_end(self->loop, self->monitor);
    ha_curve_monitor_destroy(self->dealer, &self->monitor);
    free(self);
    *self_p = NULL;
}
