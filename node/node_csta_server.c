//  node_csta_server: listeners, TLS, the application limit and the fan-out of the CSTA
//  multiplexer (node_csta_server.h).
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_csta_server.h"
#include "node_csta_session.h"
#include "node_log.h"

#define S_SUB "csta"
#define S_ACCEPTS_PER_WAKE 64           //  then the other sockets get their turn
#define S_ACCEPT_PAUSE_MS 100           //  out of file descriptors: stop accepting briefly
#define S_REFUSED_LOG_MS 1000           //  one log line per second for refused connections
//  The kernel's send buffer per application, fixed (Linux doubles it and stops autotuning
//  it, which would grow it to tcp_wmem's 4 MiB): memory per application stays within
//  app_queue_max_bytes plus this, and an application that stops reading fills its queue
//  after at most that much.
#define S_SNDBUF 131072

typedef struct {
    int fd;
    int port;                           //  bound port
    bool pick;                          //  bind port 0 instead of cfg's
    bool tls;
    zmq_pollitem_t item;
    bool polling;
    int pause_timer;
} s_listener_t;

struct node_csta_server {
    zloop_t *loop;
    const node_csta_server_cfg_t *cfg;
    node_csta_env_t env;
    node_metric_t *refused;
    SSL_CTX *tls_ctx;
    s_listener_t tcp, tls;

    node_csta_session_t **sessions;     //  every session, closed ones until the next tick
    size_t count, cap;
    node_csta_session_t **soon;         //  sessions with output to flush on the next tick
    size_t soon_count, soon_cap;
    bool reap;                          //  some session closed
    int tick_timer;

    long long refused_logged_ms;
    long refused_unlogged;
    node_csta_monitor_fn *monitor_fn;   //  the cluster's device registry (node_main)
    void *monitor_ctx;
    void (*arrival_fn)(void *ctx);      //  an application associated (the cluster's vote)
    void *arrival_ctx;
};

//  --- Sessions: flushing and reaping on the loop's next turn ------------------------------

static int s_on_tick(zloop_t *loop, int timer_id, void *arg);

static void s_want_tick(node_csta_server_t *self)
{
    if (self->tick_timer > 0)
        return;
    self->tick_timer = zloop_timer(self->loop, 0, 1, s_on_tick, self);
    if (self->tick_timer < 0)
        self->tick_timer = 0;
}

static void s_on_output(void *server, node_csta_session_t *session)
{
    node_csta_server_t *self = server;
    if (self->soon_count == self->soon_cap) {
        size_t cap = self->soon_cap ? self->soon_cap * 2 : 64;
        node_csta_session_t **grown = realloc(self->soon, cap * sizeof *grown);
        if (!grown) {
            node_csta_session_flush(session);   //  no memory to batch: write now
            return;
        }
        self->soon = grown;
        self->soon_cap = cap;
    }
    self->soon[self->soon_count++] = session;
    s_want_tick(self);
}

static void s_on_monitor(void *server, const csta_device_t *device, bool added)
{
    node_csta_server_t *self = server;
    if (self->monitor_fn)
        self->monitor_fn(self->monitor_ctx, device, added);
}

static void s_on_associated(void *server)
{
    node_csta_server_t *self = server;
    if (self->arrival_fn)
        self->arrival_fn(self->arrival_ctx);
}

static void s_on_closed(void *server, node_csta_session_t *session)
{
    (void) session;
    node_csta_server_t *self = server;
    self->reap = true;
    s_want_tick(self);
}

//  Destroy closed sessions, outside of any callback that could still hold them.
static void s_reap(node_csta_server_t *self)
{
    self->reap = false;
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        node_csta_session_t *s = self->sessions[i];
        if (node_csta_session_state(s) != NODE_CSTA_CLOSED) {
            self->sessions[kept++] = s;
            continue;
        }
        for (size_t j = 0; j < self->soon_count; j++)
            if (self->soon[j] == s)
                self->soon[j] = NULL;
        node_csta_session_destroy(&s);
    }
    self->count = kept;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_csta_server_t *self = arg;
    self->tick_timer = 0;
    //  Flush the sessions scheduled so far; what they schedule now waits for the next tick.
    node_csta_session_t **batch = self->soon;
    size_t n = self->soon_count;
    self->soon = NULL;
    self->soon_count = self->soon_cap = 0;
    for (size_t i = 0; i < n; i++)
        if (batch[i])
            node_csta_session_flush(batch[i]);
    if (self->reap) {
        //  batch is done with, but a session may sit in it as well as in the new list.
        s_reap(self);
    }
    free(batch);
    return 0;
}

void node_csta_server_arrivals(node_csta_server_t *self, void (*fn)(void *ctx), void *ctx)
{
    self->arrival_fn = fn;
    self->arrival_ctx = ctx;
}

void node_csta_server_monitors(node_csta_server_t *self, node_csta_monitor_fn *fn, void *ctx)
{
    self->monitor_fn = fn;
    self->monitor_ctx = ctx;
}

size_t node_csta_server_app_count(const node_csta_server_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        n += node_csta_session_state(self->sessions[i]) != NODE_CSTA_CLOSED;
    return n;
}

//  --- Accepting -------------------------------------------------------------------------------

static int s_listen(node_csta_server_t *self, s_listener_t *l);
static int s_on_accept(zloop_t *loop, zmq_pollitem_t *item, void *arg);

static int s_poll_listener(node_csta_server_t *self, s_listener_t *l)
{
    l->item = (zmq_pollitem_t){.fd = l->fd, .events = ZMQ_POLLIN};
    if (zloop_poller(self->loop, &l->item, s_on_accept, self))
        return -ENOMEM;
    zloop_poller_set_tolerant(self->loop, &l->item);
    l->polling = true;
    return 0;
}

static int s_on_resume(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    node_csta_server_t *self = arg;
    s_listener_t *l = self->tcp.pause_timer == timer_id ? &self->tcp : &self->tls;
    l->pause_timer = 0;
    if (l->fd >= 0 && !l->polling)
        s_poll_listener(self, l);
    return 0;
}

//  reason: "max-apps" or "max-apps-per-address".
static void s_refused(node_csta_server_t *self, const char *peer, const char *reason,
                      size_t from_peer)
{
    if (self->refused) {
        const char *label[] = {reason};
        node_metric_add(self->refused, label, 1);
    }
    self->refused_unlogged++;
    long long now = zclock_mono();
    if (now - self->refused_logged_ms < S_REFUSED_LOG_MS)
        return;     //  a flood of connections must not become a flood of log lines
    node_warning(S_SUB, "refused %ld connection(s) (last from %s, %s): %zu applications "
                 "connected, %zu from that address; csta_server.max_apps is %d, "
                 "max_apps_per_address %d", self->refused_unlogged, peer, reason,
                 node_csta_server_app_count(self), from_peer, self->cfg->max_apps,
                 self->cfg->max_apps_per_address);
    self->refused_logged_ms = now;
    self->refused_unlogged = 0;
}

static size_t s_apps_from(const node_csta_server_t *self, const char *ip)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        if (node_csta_session_state(self->sessions[i]) != NODE_CSTA_CLOSED &&
            strcmp(node_csta_session_peer_ip(self->sessions[i]), ip) == 0)
            n++;
    return n;
}

static void s_peer_name(const struct sockaddr_storage *ss, socklen_t len, char *peer,
                        size_t peer_cap, char *ip, size_t ip_cap)
{
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
    getnameinfo((const struct sockaddr *) ss, len, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(ip, ip_cap, "%s", host);
    if (ss->ss_family == AF_INET6)
        snprintf(peer, peer_cap, "[%s]:%s", host, serv);
    else
        snprintf(peer, peer_cap, "%s:%s", host, serv);
}

static void s_accept_one(node_csta_server_t *self, s_listener_t *l, int fd,
                         const struct sockaddr_storage *ss, socklen_t len)
{
    char peer[80], ip[NI_MAXHOST];
    s_peer_name(ss, len, peer, sizeof peer, ip, sizeof ip);
    size_t from_peer = s_apps_from(self, ip);
    const char *refusal = NULL;
    if (self->cfg->max_apps > 0 &&
        node_csta_server_app_count(self) >= (size_t) self->cfg->max_apps)
        refusal = "max-apps";
    else if (self->cfg->max_apps_per_address > 0 &&
             from_peer >= (size_t) self->cfg->max_apps_per_address)
        refusal = "max-apps-per-address";
    if (refusal) {
        close(fd);
        s_refused(self, peer, refusal, from_peer);
        return;
    }
    //  Small APDUs that must not wait for Nagle; a dead peer found by TCP keep-alive.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int sndbuf = S_SNDBUF;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    SSL *ssl = NULL;
    if (l->tls) {
        ssl = SSL_new(self->tls_ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1) {
            node_error(S_SUB, "cannot set up TLS for %s", peer);
            SSL_free(ssl);
            close(fd);
            return;
        }
        SSL_set_accept_state(ssl);
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        node_csta_session_t **grown = realloc(self->sessions, cap * sizeof *grown);
        if (!grown) {
            SSL_free(ssl);
            close(fd);
            return;
        }
        self->sessions = grown;
        self->cap = cap;
    }
    node_csta_session_t *s = node_csta_session_new(&self->env, fd, ssl, peer, ip);
    if (s)
        self->sessions[self->count++] = s;
}

static int s_on_accept(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    node_csta_server_t *self = arg;
    s_listener_t *l = item->fd == self->tcp.fd ? &self->tcp : &self->tls;
    for (int i = 0; i < S_ACCEPTS_PER_WAKE; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *) &ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            s_accept_one(self, l, fd, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        //  EMFILE and friends: the listener stays readable, so stop polling it for a moment
        //  rather than spin.
        node_error(S_SUB, "accept on port %d failed: %s; pausing %d ms", l->port, strerror(errno),
                   S_ACCEPT_PAUSE_MS);
        zloop_poller_end(self->loop, &l->item);
        l->polling = false;
        l->pause_timer = zloop_timer(self->loop, S_ACCEPT_PAUSE_MS, 1, s_on_resume, self);
        break;
    }
    return 0;
}

static int s_listen(node_csta_server_t *self, s_listener_t *l)
{
    int want = l->pick ? 0 : l->tls ? self->cfg->tls_port : self->cfg->tcp_port;
    char port[16];
    snprintf(port, sizeof port, "%d", want);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    const char *host = self->cfg->listen[0] ? self->cfg->listen : NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai || !res) {
        node_error(S_SUB, "csta_server.listen '%s': %s", self->cfg->listen, gai_strerror(gai));
        return -EINVAL;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    int one = 1;
    if (!rc)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!rc && (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, SOMAXCONN)))
        rc = -errno;
    freeaddrinfo(res);
    if (rc) {
        node_error(S_SUB, "cannot listen for CSTA applications (%s) on %s port %d: %s",
                   l->tls ? "TLS" : "TCP", self->cfg->listen, want, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *) &ss, &len);
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                             : ((struct sockaddr_in *) &ss)->sin_port);
    l->fd = fd;
    if ((rc = s_poll_listener(self, l)))
        return rc;
    node_notice(S_SUB, "listening for CSTA applications on %s port %d (%s%s)", self->cfg->listen,
                l->port, l->tls ? "TLS, login required" : "TCP",
                l->tls                          ? ""
                : self->cfg->tcp_login_required ? ", login required"
                                                : ", login optional");
    return 0;
}

static void s_close_listener(node_csta_server_t *self, s_listener_t *l)
{
    if (l->polling)
        zloop_poller_end(self->loop, &l->item);
    l->polling = false;
    if (l->pause_timer > 0)
        zloop_timer_end(self->loop, l->pause_timer);
    l->pause_timer = 0;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

//  --- TLS -------------------------------------------------------------------------------------

static void s_log_ssl_error(const char *what, const char *path)
{
    char why[200] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    node_error(S_SUB, "%s %s: %s", what, path, why);
}

static SSL_CTX *s_tls_context(const node_csta_server_cfg_t *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    //  TLS 1.2 at least; no renegotiation (a peer could make us spend CPU on demand), no
    //  compression (CRIME).  Partial writes and a moving buffer: SSL_write drains the
    //  session's output queue, which may grow and move between two tries.
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        s_log_ssl_error("csta_server.tls_cert: cannot load", cfg->tls_cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        s_log_ssl_error("csta_server.tls_key: cannot load or does not match the certificate:",
                        cfg->tls_key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

//  --- What the PBX service reports
//  ----------------------------------------------------------------

static void s_pbx_event(void *ctx, node_pbx_watch_t *watch, void *watch_arg, const uint8_t *apdu,
                        size_t len, const csta_peek_t *keys)
{
    (void) ctx;
    (void) watch;
    node_csta_session_event(watch_arg, apdu, len, keys);
}

static void s_pbx_state(void *ctx, node_pbx_state_t state)
{
    node_csta_server_t *self = ctx;
    size_t n = node_csta_server_app_count(self);
    if (n)
        node_info(S_SUB, "PBX %s: telling %zu application(s) (SystemStatus %s)",
                  node_pbx_state_str(state), n, state == NODE_PBX_UP ? "normal" : "disabled");
    for (size_t i = 0; i < self->count; i++)
        node_csta_session_pbx_state(self->sessions[i], state);
}

//  Per monitor: in service only once its device is monitored again (node_csta_session.h).
static void s_pbx_watch_monitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) ctx;
    (void) watch;
    node_csta_session_watch_monitored(watch_arg, true);
}

static void s_pbx_watch_unmonitored(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) ctx;
    (void) watch;
    node_csta_session_watch_monitored(watch_arg, false);
}

static void s_pbx_watch_stale(void *ctx, node_pbx_watch_t *watch, void *watch_arg)
{
    (void) ctx;
    (void) watch;
    node_csta_session_watch_stale(watch_arg);
}

static void s_pbx_broadcast(void *ctx, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    node_csta_server_t *self = ctx;
    for (size_t i = 0; i < self->count; i++)
        node_csta_session_broadcast(self->sessions[i], apdu, len, keys);
}

void node_csta_server_listener(node_csta_server_t *self, node_pbx_listener_t *listener)
{
    *listener = (node_pbx_listener_t){.ctx = self,
                                      .on_event = s_pbx_event,
                                      .on_state = s_pbx_state,
                                      .on_broadcast = s_pbx_broadcast,
                                      .on_watch_monitored = s_pbx_watch_monitored,
                                      .on_watch_unmonitored = s_pbx_watch_unmonitored,
                                      .on_watch_stale = s_pbx_watch_stale};
}

//  --- Life cycle ------------------------------------------------------------------------------

static void s_register_metrics(node_csta_server_t *self, node_metrics_t *metrics)
{
    if (!metrics)
        return;
    node_csta_metrics_t *m = &self->env.m;
    m->apps = node_metrics_gauge(metrics, "csta_apps", "CSTA applications connected", "transport");
    m->connections = node_metrics_counter(metrics, "csta_app_connections_total",
                                          "CSTA application connections accepted", "transport");
    self->refused = node_metrics_counter(metrics, "csta_app_refused_total",
                                         "CSTA application connections refused", "reason");
    m->disconnects = node_metrics_counter(metrics, "csta_app_disconnects_total",
                                          "CSTA applications disconnected, by reason", "reason");
    m->logins = node_metrics_counter(metrics, "csta_logins_total",
                                     "CSTA associations by login result", "result");
    m->messages = node_metrics_counter(metrics, "csta_messages_total",
                                       "APDUs from and to CSTA applications", "direction");
    m->bytes = node_metrics_counter(metrics, "csta_bytes_total",
                                    "Bytes from and to CSTA applications", "direction");
    m->requests = node_metrics_counter(metrics, "csta_requests_total",
                                       "Requests of CSTA applications by operation and result",
                                       "operation,result");
    static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1,    2.5,   5};
    m->request_seconds =
        node_metrics_histogram(metrics, "csta_request_duration_seconds",
                               "Round trip of application requests through the PBX", NULL, buckets,
                               sizeof buckets / sizeof buckets[0]);
    m->events = node_metrics_counter(metrics, "csta_events_out_total",
                                     "Events delivered to CSTA applications", NULL);
    m->monitors = node_metrics_gauge(metrics, "csta_app_monitors",
                                     "Monitors that CSTA applications hold", NULL);
    m->overflows =
        node_metrics_counter(metrics, "csta_queue_overflows_total",
                             "CSTA applications cut off because they did not read", NULL);
    m->bad_input = node_metrics_counter(metrics, "csta_bad_input_total",
                                        "Bad input from CSTA applications, by kind", "reason");
    m->denied = node_metrics_counter(metrics, "csta_permission_denied_total",
                                     "Requests refused for a device outside the user's set",
                                     "operation");
    //  Series that exist from the start, so that dashboards see zeros rather than nothing.
    const char *tcp[] = {"tcp"}, *tls[] = {"tls"};
    node_metric_set(m->apps, tcp, 0);
    node_metric_set(m->apps, tls, 0);
    node_metric_set(m->monitors, NULL, 0);
    node_metric_add(m->overflows, NULL, 0);
    node_metric_add(m->events, NULL, 0);
}

node_csta_server_t *node_csta_server_new(zloop_t *loop, const node_csta_server_cfg_t *cfg,
                                         node_users_t *users, node_metrics_t *metrics)
{
    node_csta_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->cfg = cfg;
    self->tcp = (s_listener_t){.fd = -1};
    self->tls = (s_listener_t){.fd = -1, .tls = true};
    self->env = (node_csta_env_t){.loop = loop,
                                  .cfg = cfg,
                                  .users = users,
                                  .server = self,
                                  .on_closed = s_on_closed,
                                  .on_output = s_on_output,
                                  .on_monitor = s_on_monitor,
                                  .on_associated = s_on_associated};
    s_register_metrics(self, metrics);
    if (cfg->tls_port > 0 && !(self->tls_ctx = s_tls_context(cfg))) {
        free(self);
        return NULL;
    }
    return self;
}

void node_csta_server_attach(node_csta_server_t *self, node_pbx_t *pbx, int request_timeout_ms)
{
    self->env.pbx = pbx;
    self->env.request_timeout_ms = request_timeout_ms;
}

void node_csta_server_pick_ports(node_csta_server_t *self, bool tcp, bool tls)
{
    self->tcp.pick = tcp;
    self->tls.pick = tls;
}

int node_csta_server_start(node_csta_server_t *self)
{
    int rc = 0;
    if (self->cfg->tcp_port > 0 || self->tcp.pick)
        rc = s_listen(self, &self->tcp);
    if (!rc && self->tls_ctx && (self->cfg->tls_port > 0 || self->tls.pick)) {
        //  OpenSSL writes with write(2): a peer that vanished must not SIGPIPE the node.
        signal(SIGPIPE, SIG_IGN);
        rc = s_listen(self, &self->tls);
    }
    if (rc) {
        s_close_listener(self, &self->tcp);
        s_close_listener(self, &self->tls);
    }
    return rc;
}

int node_csta_server_port(const node_csta_server_t *self, bool tls)
{
    const s_listener_t *l = tls ? &self->tls : &self->tcp;
    return l->fd >= 0 ? l->port : 0;
}

void node_csta_server_set_users(node_csta_server_t *self, node_users_t *users)
{
    self->env.users = users;
    for (size_t i = 0; i < self->count; i++)
        node_csta_session_users_changed(self->sessions[i]);
}

void node_csta_server_set_verifier(node_csta_server_t *self, node_verifier_t *verifier)
{
    self->env.verifier = verifier;
}

char *node_csta_server_status_json(const node_csta_server_t *self)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    fputc('[', out);
    bool first = true;
    for (size_t i = 0; i < self->count; i++) {
        if (node_csta_session_state(self->sessions[i]) == NODE_CSTA_CLOSED)
            continue;
        if (!first)
            fputc(',', out);
        node_csta_session_status_json(self->sessions[i], out);
        first = false;
    }
    fputc(']', out);
    if (fclose(out)) {
        free(text);
        return NULL;
    }
    return text;
}

void node_csta_server_destroy(node_csta_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_csta_server_t *self = *self_p;
    s_close_listener(self, &self->tcp);
    s_close_listener(self, &self->tls);
    if (self->tick_timer > 0)
        zloop_timer_end(self->loop, self->tick_timer);
    for (size_t i = 0; i < self->count; i++)
        node_csta_session_destroy(&self->sessions[i]);
    free(self->sessions);
    free(self->soon);
    SSL_CTX_free(self->tls_ctx);
    free(self);
    *self_p = NULL;
}
