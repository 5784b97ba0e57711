//  csta_client: an application-side CSTA connection with deadlines (csta_client.h).
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "csta_client.h"

#define S_APDU_MAX 65536
#define S_TLS_CHUNK 16384

//  A frame kept for later: a queued event or a reply nobody waits for yet.
typedef struct s_frame {
    struct s_frame *next;
    long invoke_id;
    size_t len;
    uint8_t bytes[];
} s_frame_t;

struct csta_client {
    csta_client_cfg_t cfg;
    char host[256];
    char context[CSTA_OID_MAX];
    char user[CSTA_LOGIN_MAX + 1];
    char password[CSTA_LOGIN_MAX + 1];
    char tls_ca[512];
    int fd;
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    bool read_wants_write;              //  SSL_read needs to write first (TLS)
    csta_framer_t *framer;
    csta_outq_t *outq;
    long next_invoke_id;
    csta_apdu_t aare;
    s_frame_t *events, **events_tail;
    s_frame_t *replies;
};

static long long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_remaining(long long deadline)
{
    long long left = deadline - s_now_ms();
    return left > 0 ? (int) left : 0;
}

csta_client_t *csta_client_new(const csta_client_cfg_t *cfg)
{
    csta_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    snprintf(self->host, sizeof self->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
    snprintf(self->context, sizeof self->context, "%s",
             cfg->context ? cfg->context : CSTA_ACN_CSTA3);
    if (cfg->user) {
        snprintf(self->user, sizeof self->user, "%s", cfg->user);
        snprintf(self->password, sizeof self->password, "%s", cfg->password ? cfg->password : "");
    }
    if (!self->cfg.port)
        self->cfg.port = 33333;
    if (!self->cfg.timeout_ms)
        self->cfg.timeout_ms = 5000;
    snprintf(self->tls_ca, sizeof self->tls_ca, "%s", cfg->tls_ca ? cfg->tls_ca : "");
    self->fd = -1;
    self->next_invoke_id = 1;
    self->events_tail = &self->events;
    return self;
}

static void s_free_frames(s_frame_t *f)
{
    while (f) {
        s_frame_t *next = f->next;
        free(f);
        f = next;
    }
}

void csta_client_close(csta_client_t *self)
{
    if (self->ssl) {
        ERR_clear_error();
        SSL_shutdown(self->ssl);    //  close_notify, best effort
        SSL_free(self->ssl);
        self->ssl = NULL;
    }
    SSL_CTX_free(self->ssl_ctx);
    self->ssl_ctx = NULL;
    ERR_clear_error();
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
    csta_framer_destroy(&self->framer);
    csta_outq_destroy(&self->outq);
    s_free_frames(self->events);
    s_free_frames(self->replies);
    self->events = self->replies = NULL;
    self->events_tail = &self->events;
}

void csta_client_destroy(csta_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csta_client_close(*self_p);
    csta_apdu_clear(&(*self_p)->aare);
    free(*self_p);
    *self_p = NULL;
}

bool csta_client_connected(const csta_client_t *self)
{
    return self->fd >= 0;
}

int csta_client_fd(const csta_client_t *self)
{
    return self->fd;
}

const csta_acse_t *csta_client_aare(const csta_client_t *self)
{
    return &self->aare.acse;
}

//  --- Sending -----------------------------------------------------------------------------------

//  Write queued bytes through TLS; -EAGAIN with *events set to what to wait for.
static int s_tls_flush(csta_client_t *self, short *events)
{
    for (;;) {
        const uint8_t *data;
        size_t n = csta_outq_peek(self->outq, &data);
        if (!n)
            return 0;
        ERR_clear_error();
        int w = SSL_write(self->ssl, data, (int) (n > S_TLS_CHUNK ? S_TLS_CHUNK : n));
        if (w > 0) {
            csta_outq_consume(self->outq, (size_t) w);
            continue;
        }
        int e = SSL_get_error(self->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            return -EAGAIN;
        }
        ERR_clear_error();
        return -EPIPE;
    }
}

static int s_flush(csta_client_t *self, long long deadline)
{
    for (;;) {
        short events = POLLOUT;
        int rc = self->ssl ? s_tls_flush(self, &events) : csta_outq_flush(self->outq, self->fd);
        if (rc != -EAGAIN)
            return rc;
        struct pollfd p = {.fd = self->fd, .events = events};
        int n = poll(&p, 1, s_remaining(deadline));
        if (n == 0)
            return -ETIMEDOUT;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

int csta_client_send_raw(csta_client_t *self, const uint8_t *apdu, size_t len)
{
    if (self->fd < 0)
        return -ENOTCONN;
    int rc = csta_outq_push(self->outq, apdu, len);
    return rc ? rc : s_flush(self, s_now_ms() + self->cfg.timeout_ms);
}

static int s_send(csta_client_t *self, const csta_apdu_t *a)
{
    uint8_t buf[S_APDU_MAX];
    size_t len;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &len);
    return rc ? rc : csta_client_send_raw(self, buf, len);
}

int csta_client_reply(csta_client_t *self, const csta_apdu_t *reply)
{
    return s_send(self, reply);
}

long csta_client_invoke(csta_client_t *self, csta_apdu_t *invoke)
{
    if (self->fd < 0)
        return -ENOTCONN;
    invoke->kind = CSTA_APDU_INVOKE;
    invoke->invoke_id = self->next_invoke_id;
    //  Two-byte ids as Panasonic and HiPath use; 0 is avoided (some peers treat it as none).
    self->next_invoke_id = self->next_invoke_id >= 32767 ? 1 : self->next_invoke_id + 1;
    int rc = s_send(self, invoke);
    return rc ? rc : invoke->invoke_id;
}

//  --- Receiving ---------------------------------------------------------------------------------

static s_frame_t *s_frame_new(long invoke_id, const uint8_t *apdu, size_t len)
{
    s_frame_t *f = malloc(sizeof *f + len);
    if (!f)
        return NULL;
    f->next = NULL;
    f->invoke_id = invoke_id;
    f->len = len;
    memcpy(f->bytes, apdu, len);
    return f;
}

//  Answer a SystemStatus (Phase III 211, or Phase II 52 as Alcatel and old firmware
//  send it) with {opcode, NULL}: a switch drops a link that stops answering
//  (csta-facts.md 5).
static int s_answer_system_status(csta_client_t *self, long invoke_id, int opcode)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = invoke_id;
    r.opcode = opcode;
    return s_send(self, &r);
}

//  Read what the socket has into the framer (TLS: decrypted).  Returns bytes (> 0), 0 at
//  the end of the stream, -EAGAIN, or another negative errno.
static ssize_t s_read(csta_client_t *self)
{
    if (!self->ssl)
        return csta_framer_read(self->framer, self->fd);
    uint8_t buf[S_TLS_CHUNK];
    ERR_clear_error();
    int n = SSL_read(self->ssl, buf, sizeof buf);
    self->read_wants_write = false;
    if (n > 0) {
        int rc = csta_framer_feed(self->framer, buf, (size_t) n);
        return rc ? rc : n;
    }
    switch (SSL_get_error(self->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        self->read_wants_write = true;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        return -ECONNRESET;
    }
}

//  Wait until there is something to read, or the deadline.  Returns 1, 0 (deadline) or a
//  negative errno.  Bytes OpenSSL has decrypted already are invisible to poll.
static int s_wait_readable(csta_client_t *self, long long deadline)
{
    if (self->ssl && SSL_pending(self->ssl) > 0)
        return 1;
    for (;;) {
        struct pollfd p = {.fd = self->fd, .events = self->read_wants_write ? POLLOUT : POLLIN};
        int n = poll(&p, 1, s_remaining(deadline));
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

//  Read frames until one arrives or the deadline passes; dispatch it.  Returns 0 after
//  handling one frame, or an error.
static int s_pump(csta_client_t *self, long long deadline)
{
    if (self->fd < 0)
        return -ECONNRESET;
    for (;;) {
        const uint8_t *apdu;
        size_t len;
        int rc = csta_framer_next(self->framer, &apdu, &len);
        if (rc == 0) {
            csta_apdu_t a;
            rc = csta_apdu_decode(&a, apdu, len);
            csta_apdu_kind_t kind = a.kind;
            long invoke_id = a.invoke_id;
            int opcode = a.opcode;
            csta_apdu_clear(&a);
            if (rc && rc != -ENOTSUP)
                return -EBADMSG;
            if (kind == CSTA_APDU_INVOKE &&
                (opcode == CSTA_OP_SYSTEM_STATUS || opcode == CSTA_OP_SYSTEM_STATUS_PHASE2)) {
                int src = s_answer_system_status(self, invoke_id, opcode);
                if (src)
                    return src;
                if (!self->cfg.keep_system_status)
                    return 0;
            }
            s_frame_t *f = s_frame_new(invoke_id, apdu, len);
            if (!f)
                return -ENOMEM;
            if (kind == CSTA_APDU_RESULT || kind == CSTA_APDU_ERROR || kind == CSTA_APDU_REJECT) {
                f->next = self->replies;
                self->replies = f;
            } else {
                *self->events_tail = f;
                self->events_tail = &f->next;
            }
            return 0;
        }
        if (rc != -EAGAIN)
            return -EBADMSG;
        int n = s_wait_readable(self, deadline);
        if (n == 0)
            return -ETIMEDOUT;
        if (n < 0)
            return n;
        ssize_t got = s_read(self);
        if (got == 0 || (got < 0 && got != -EAGAIN)) {
            csta_client_close(self);
            return -ECONNRESET;
        }
    }
}

//  Take the first frame of *list (any) or the one for invoke_id, decoded into *out.
static bool s_take(s_frame_t **list, long invoke_id, bool any, csta_apdu_t *out, int *rc,
                   s_frame_t ***tail)
{
    for (s_frame_t **p = list; *p; p = &(*p)->next) {
        if (!any && (*p)->invoke_id != invoke_id)
            continue;
        s_frame_t *f = *p;
        *p = f->next;
        if (tail && !f->next)
            *tail = p;      //  f was the last frame: the list now ends at p
        *rc = csta_apdu_decode(out, f->bytes, f->len);
        if (*rc == -ENOTSUP)
            *rc = 0;    //  unknown operation: kind, invoke id and opcode are still set
        free(f);
        return true;
    }
    return false;
}

int csta_client_wait_reply(csta_client_t *self, long invoke_id, csta_apdu_t *reply,
                           int timeout_ms)
{
    long long deadline = s_now_ms() + timeout_ms;
    for (;;) {
        int rc;
        if (s_take(&self->replies, invoke_id, false, reply, &rc, NULL))
            return rc;
        rc = s_pump(self, deadline);
        if (rc)
            return rc;
    }
}

int csta_client_call(csta_client_t *self, csta_apdu_t *invoke, csta_apdu_t *reply,
                     int timeout_ms)
{
    long id = csta_client_invoke(self, invoke);
    if (id < 0)
        return (int) id;
    return csta_client_wait_reply(self, id, reply, timeout_ms);
}

int csta_client_next_event(csta_client_t *self, csta_apdu_t *event, int timeout_ms)
{
    long long deadline = s_now_ms() + timeout_ms;
    for (;;) {
        int rc;
        if (s_take(&self->events, 0, true, event, &rc, &self->events_tail))
            return rc;
        rc = s_pump(self, deadline);
        if (rc)
            return rc;
    }
}

//  --- Connection and association
//  ------------------------------------------------------------------

static int s_connect_socket(csta_client_t *self, long long deadline)
{
    char port[16];
    snprintf(port, sizeof port, "%d", self->cfg.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(self->host, port, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    int rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, s_remaining(deadline));
        int err = 0;
        socklen_t elen = sizeof err;
        if (n <= 0) {
            rc = -ETIMEDOUT;
            close(fd);
            continue;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err) {
            rc = -err;
            close(fd);
            continue;
        }
        self->fd = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    return rc;
}

//  TLS client handshake on the connected socket, with the connect deadline.
static int s_tls_handshake(csta_client_t *self, long long deadline)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);   //  OpenSSL writes with write(2): EPIPE, not a dead program
    self->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!self->ssl_ctx)
        return -ENOMEM;
    SSL_CTX_set_min_proto_version(self->ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(self->ssl_ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (self->tls_ca[0]) {
        if (SSL_CTX_load_verify_locations(self->ssl_ctx, self->tls_ca, NULL) != 1)
            return -EPROTO;
        SSL_CTX_set_verify(self->ssl_ctx, SSL_VERIFY_PEER, NULL);
    } else
        SSL_CTX_set_verify(self->ssl_ctx, SSL_VERIFY_NONE, NULL);
    self->ssl = SSL_new(self->ssl_ctx);
    if (!self->ssl || SSL_set_fd(self->ssl, self->fd) != 1)
        return -ENOMEM;
    //  SNI carries host names only (RFC 6066 3); the certificate must name the host we asked
    //  for, an address (IP subjectAltName) or a DNS name.
    unsigned char addr[16];
    bool numeric =
        inet_pton(AF_INET, self->host, addr) == 1 || inet_pton(AF_INET6, self->host, addr) == 1;
    if (!numeric)
        SSL_set_tlsext_host_name(self->ssl, self->host);
    if (self->tls_ca[0]) {
        X509_VERIFY_PARAM *param = SSL_get0_param(self->ssl);
        if (numeric)
            X509_VERIFY_PARAM_set1_ip_asc(param, self->host);
        else
            X509_VERIFY_PARAM_set1_host(param, self->host, 0);
    }
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(self->ssl);
        if (rc == 1)
            return 0;
        int e = SSL_get_error(self->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            return -EPROTO;
        }
        struct pollfd p = {.fd = self->fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        int n = poll(&p, 1, s_remaining(deadline));
        if (n == 0)
            return -ETIMEDOUT;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

int csta_client_connect(csta_client_t *self)
{
    long long deadline = s_now_ms() + self->cfg.timeout_ms;
    csta_client_close(self);
    csta_apdu_clear(&self->aare);
    int rc = s_connect_socket(self, deadline);
    if (rc)
        return rc;
    if (self->cfg.tls && (rc = s_tls_handshake(self, deadline))) {
        csta_client_close(self);
        return rc;
    }
    self->framer = csta_framer_new(self->cfg.framing, 0);
    self->outq = csta_outq_new(self->cfg.framing, 0);
    if (!self->framer || !self->outq) {
        csta_client_close(self);
        return -ENOMEM;
    }

    //  AARQ as Panasonic clients send it (csta-facts.md 1.2): version1, the context,
    //  CSTA versionFive in the user information; a login only when configured.
    csta_apdu_t aarq;
    csta_apdu_init(&aarq, CSTA_APDU_AARQ);
    csta_bits_set(&aarq.acse.protocol_version, 0, 1);
    aarq.acse.protocol_version.unused = 7;
    snprintf(aarq.acse.context, sizeof aarq.acse.context, "%s", self->context);
    csta_bits_set(&aarq.acse.csta_version, CSTA_VERSION_FIVE, 2);
    if (self->user[0]) {
        csta_bits_set(&aarq.acse.acse_requirements, 0, 1);
        aarq.acse.acse_requirements.unused = 7;
        aarq.acse.has_login = true;
        memcpy(aarq.acse.user, self->user, sizeof aarq.acse.user);
        memcpy(aarq.acse.password, self->password, sizeof aarq.acse.password);
    }
    rc = s_send(self, &aarq);
    if (rc) {
        csta_client_close(self);
        return rc;
    }
    //  The first frame must be the AARE (or an ABRT).
    for (;;) {
        const uint8_t *apdu;
        size_t len;
        rc = csta_framer_next(self->framer, &apdu, &len);
        if (rc == 0) {
            rc = csta_apdu_decode(&self->aare, apdu, len);
            if (rc == 0 && self->aare.kind == CSTA_APDU_AARE &&
                self->aare.acse.result == CSTA_AARE_ACCEPTED)
                return 0;
            csta_client_close(self);
            return rc ? -EBADMSG : -EACCES;
        }
        if (rc != -EAGAIN) {
            csta_client_close(self);
            return -EBADMSG;
        }
        int n = s_wait_readable(self, deadline);
        if (n <= 0) {
            csta_client_close(self);
            return n == 0 ? -ETIMEDOUT : n;
        }
        ssize_t got = s_read(self);
        if (got == 0 || (got < 0 && got != -EAGAIN)) {
            csta_client_close(self);
            return -ECONNRESET;
        }
    }
}

int csta_client_release(csta_client_t *self, int timeout_ms)
{
    if (self->fd < 0)
        return -ENOTCONN;
    csta_apdu_t rlrq;
    csta_apdu_init(&rlrq, CSTA_APDU_RLRQ);
    rlrq.acse.has_reason = true;
    int rc = s_send(self, &rlrq);
    long long deadline = s_now_ms() + timeout_ms;
    while (rc == 0) {
        //  Anything but the RLRE is dropped: the association is ending.
        const uint8_t *apdu;
        size_t len;
        int frc = csta_framer_next(self->framer, &apdu, &len);
        if (frc == 0) {
            if ((apdu[0] & 0xE0) == 0x60 && (apdu[0] & 0x1F) == 3)
                break;
            continue;
        }
        if (s_wait_readable(self, deadline) <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        ssize_t got = s_read(self);
        if (got <= 0 && got != -EAGAIN)
            break;
    }
    csta_client_close(self);
    return rc;
}
