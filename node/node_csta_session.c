//  node_csta_session: one CSTA application of the multiplexer (node_csta_session.h).
#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node_csta_session.h"
#include "node_log.h"

#define S_SUB "csta"
#define S_APDU_MAX 0x10000              //  largest APDU len16 frames carry, plus room
#define S_LOCAL_APDU_MAX 4096           //  APDUs this file builds itself
#define S_TLS_CHUNK 16384               //  one TLS record
#define S_READ_ROUNDS 16                //  TLS reads per wake-up (fairness between apps)
#define S_XREF_LEN 2                    //  the application's cross-reference ids

_Static_assert(sizeof(uintptr_t) >= 8, "tokens need 64-bit pointers");

//  --- Tokens and the session registry -----------------------------------------------------
//
//  zloop pollers and timers, replies, followups and watch callbacks of the PBX service all
//  carry a token instead of a pointer: the session id (40 bits, never reused), and for a
//  request or monitor its slot (16 bits) and the slot's generation (8 bits).  A callback
//  for a session that has closed, or a slot that was reused, finds nothing and is dropped;
//  no callback can reach freed memory whatever the order in which zloop or node_pbx call.
//  The registry is per process: everything runs on the one loop thread.

#define S_SLOT_BITS 16
#define S_GEN_BITS 8
#define S_ID_SHIFT (S_SLOT_BITS + S_GEN_BITS)

static void *s_token(uint64_t id, unsigned gen, unsigned slot)
{
    return (void *) (uintptr_t) (id << S_ID_SHIFT | (uint64_t) (gen & 0xFF) << S_SLOT_BITS |
                                 (slot & 0xFFFF));
}

static uint64_t s_token_id(const void *token)
{
    return (uint64_t) (uintptr_t) token >> S_ID_SHIFT;
}

static unsigned s_token_gen(const void *token)
{
    return (unsigned) ((uintptr_t) token >> S_SLOT_BITS) & 0xFF;
}

static unsigned s_token_slot(const void *token)
{
    return (unsigned) (uintptr_t) token & 0xFFFF;
}

//  A request forwarded to the PBX, waiting for its reply.
typedef struct {
    bool used;
    uint8_t gen;
    int next_free;
    long app_invoke_id;                 //  the application's id, restored in the reply
    int opcode;
    long long started_ms;
} s_req_t;

typedef enum { S_MON_FREE, S_MON_PENDING, S_MON_ACTIVE, S_MON_FAILED } s_mon_state_t;

//  One monitor of the application: its xref is slot + 1 as 2 bytes.
typedef struct {
    s_mon_state_t state;
    uint8_t gen;
    bool in_watch;                      //  inside node_pbx_watch (done may come at once)
    int next_free;
    long app_invoke_id;                 //  MonitorStart's, until done
    node_pbx_watch_t *watch;
    csta_device_t device;
    csta_monitor_filter_t filter;       //  the application's own; applied here
    //  In service (s_mon_service): node_pbx monitors the device for this watch now (done(0)
    //  or on_watch_monitored; not after the link went down or the owner lost the monitor),
    //  and whether the application was told OutOfService with no BackInService since.
    bool monitored;
    bool told_out;
} s_mon_t;

struct node_csta_session {
    node_csta_env_t *env;
    uint64_t id;
    node_csta_session_t *hash_next;
    node_csta_state_t state;
    const char *close_reason;           //  for CLOSING: the reason once flushed
    int fd;
    SSL *ssl;
    char peer[64];
    char peer_ip[48];
    time_t connected_at;
    long long connected_ms;

    //  I/O
    zmq_pollitem_t item;
    bool polling;
    int timer;                          //  association or linger deadline
    csta_framer_t *framer;
    csta_outq_t *outq;
    bool write_blocked;                 //  the socket took less than we had
    bool write_wants_read;              //  SSL_write needs the peer's bytes first
    bool read_wants_write;              //  SSL_read needs to write first
    bool handshake_wants_write;
    bool read_again;                    //  TLS bytes left in OpenSSL after a read burst
    bool service_scheduled;             //  on_output called, flush not yet run

    //  Association
    struct s_login *login;              //  the AARQ waiting for its password check
    int user_index;                     //  -1: anonymous (open TCP port)
    bool associated;                    //  got as far as an accepted AARQ
    bool restricted;                    //  the user has a device list
    char user[CSTA_LOGIN_MAX + 1];
    char context[CSTA_OID_MAX];
    long next_invoke_id;                //  ctimd -> application invokes
    bool status_sent;
    node_pbx_state_t status_state;      //  last SystemStatus told the application

    //  Requests and monitors
    s_req_t *reqs;
    int req_cap, req_free, req_count;
    s_mon_t *mons;
    int mon_cap, mon_free, mon_count, mon_active;
    bool mon_failed;                    //  some monitor waits for its unwatch

    //  CDR ownership (node_pbx_cdr_claim)
    bool cdr_owner;
    bool cdr_started;
    uint8_t cdr_xref[CSTA_XREF_MAX];
    size_t cdr_xref_len;

    //  Counters (the totals in the metrics are updated per flush)
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out, events_out;
    uint64_t reported_msgs_in, reported_msgs_out, reported_bytes_in, reported_bytes_out,
        reported_events;
};

static node_csta_session_t **s_table;
static size_t s_table_size, s_table_count;
static uint64_t s_next_id = 1;

static size_t s_bucket(uint64_t id)
{
    return (size_t) ((id * 0x9E3779B97F4A7C15ull) >> 32) & (s_table_size - 1);
}

static int s_registry_add(node_csta_session_t *self)
{
    if (s_table_count >= s_table_size) {
        size_t size = s_table_size ? s_table_size * 2 : 64;
        node_csta_session_t **table = calloc(size, sizeof *table);
        if (!table)
            return -ENOMEM;
        node_csta_session_t **old = s_table;
        size_t old_size = s_table_size;
        s_table = table;
        s_table_size = size;
        for (size_t i = 0; i < old_size; i++)
            while (old[i]) {
                node_csta_session_t *s = old[i];
                old[i] = s->hash_next;
                s->hash_next = s_table[s_bucket(s->id)];
                s_table[s_bucket(s->id)] = s;
            }
        free(old);
    }
    size_t b = s_bucket(self->id);
    self->hash_next = s_table[b];
    s_table[b] = self;
    s_table_count++;
    return 0;
}

static void s_registry_remove(node_csta_session_t *self)
{
    if (!s_table_size)
        return;
    for (node_csta_session_t **p = &s_table[s_bucket(self->id)]; *p; p = &(*p)->hash_next)
        if (*p == self) {
            *p = self->hash_next;
            self->hash_next = NULL;
            if (--s_table_count == 0) {
                free(s_table);      //  nothing left: no memory held between test cases
                s_table = NULL;
                s_table_size = 0;
            }
            return;
        }
}

static node_csta_session_t *s_find(uint64_t id)
{
    if (!s_table_size)
        return NULL;
    for (node_csta_session_t *s = s_table[s_bucket(id)]; s; s = s->hash_next)
        if (s->id == id)
            return s;
    return NULL;
}

//  --- Small helpers -----------------------------------------------------------------------

const char *node_csta_state_str(node_csta_state_t state)
{
    switch (state) {
    case NODE_CSTA_HANDSHAKE: return "handshake";
    case NODE_CSTA_AWAIT_AARQ: return "await-aarq";
    case NODE_CSTA_ASSOCIATED: return "associated";
    case NODE_CSTA_CLOSING: return "closing";
    case NODE_CSTA_CLOSED: return "closed";
    }
    return "?";
}

static const char *s_transport(const node_csta_session_t *self)
{
    return self->ssl ? "tls" : "tcp";
}

static const char *s_user(const node_csta_session_t *self)
{
    return self->user[0] ? self->user : "-";
}

static void s_metric_add(node_metric_t *m, const char *l1, const char *l2, double delta)
{
    if (!m)
        return;
    const char *values[2] = {l1, l2};
    node_metric_add(m, l1 ? values : NULL, delta);
}

//  Operation names as metric labels: the known ones, and "other" for any code an
//  application may make up (a label set an application could grow without end).
static const char *s_op_label(int opcode)
{
    const char *name = csta_op_name(opcode);
    return strncmp(name, "op-", 3) == 0 ? "other" : name;
}

static void s_device_str(const csta_device_t *d, char *out, size_t cap)
{
    if (d->kind == CSTA_DEV_NUMBER)
        snprintf(out, cap, "#%ld", d->number);
    else if (d->kind == CSTA_DEV_ABSENT)
        snprintf(out, cap, "(none)");
    else
        snprintf(out, cap, "%s", d->digits);
}

static void s_xref_of(int slot, csta_xref_t *xref)
{
    uint8_t b[S_XREF_LEN] = {(uint8_t) ((slot + 1) >> 8), (uint8_t) (slot + 1)};
    csta_xref_set(xref, b, sizeof b);
}

//  The monitor slot an application's xref names, or -1.
static int s_slot_of(const node_csta_session_t *self, const csta_xref_t *xref)
{
    if (xref->len != S_XREF_LEN)
        return -1;
    int slot = (xref->bytes[0] << 8 | xref->bytes[1]) - 1;
    return slot >= 0 && slot < self->mon_cap ? slot : -1;
}

static long s_next_out_id(node_csta_session_t *self)
{
    long id = self->next_invoke_id;
    self->next_invoke_id = id >= 32767 ? 1 : id + 1;
    return id;
}

node_csta_state_t node_csta_session_state(const node_csta_session_t *self)
{
    return self->state;
}

uint64_t node_csta_session_id(const node_csta_session_t *self)
{
    return self->id;
}

bool node_csta_session_is_tls(const node_csta_session_t *self)
{
    return self->ssl != NULL;
}

const char *node_csta_session_peer_ip(const node_csta_session_t *self)
{
    return self->peer_ip;
}

//  --- Closing ------------------------------------------------------------------------------

static void s_poll_update(node_csta_session_t *self);

static void s_end_timer(node_csta_session_t *self)
{
    if (self->timer > 0)
        zloop_timer_end(self->env->loop, self->timer);
    self->timer = 0;
}

//  An AARQ parked while node_verifier checks its password (the session reads nothing more
//  meanwhile: what follows the AARQ waits in the framer).
typedef struct s_login {
    csta_apdu_t aarq;                   //  decoded, owned: cleared (password wiped) at the end
    node_login_check_t check;
    int64_t id;                         //  node_verifier's
} s_login_t;

static void s_login_free(s_login_t **login_p)
{
    s_login_t *l = *login_p;
    if (!l)
        return;
    explicit_bzero(l->aarq.acse.password, sizeof l->aarq.acse.password);
    csta_apdu_clear(&l->aarq);
    free(l);
    *login_p = NULL;
}

//  The session goes while its check is out: the answer will find nothing.
static void s_login_drop(node_csta_session_t *self)
{
    if (!self->login)
        return;
    node_verifier_cancel(self->env->verifier, self->login->id);
    s_login_free(&self->login);
}

//  Stop at once: no more reading or writing, unreachable for callbacks; the server
//  destroys the session later (watches are released then, outside any node_pbx callback).
static void s_close(node_csta_session_t *self, const char *reason, bool tell_server)
{
    if (self->state == NODE_CSTA_CLOSED)
        return;
    self->state = NODE_CSTA_CLOSED;
    s_login_drop(self);
    s_end_timer(self);
    if (self->polling)
        zloop_poller_end(self->env->loop, &self->item);
    self->polling = false;
    s_registry_remove(self);
    if (self->ssl) {
        ERR_clear_error();
        SSL_shutdown(self->ssl);    //  close_notify, best effort: we do not wait for the peer's
        ERR_clear_error();
    }
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
    long long secs = (zclock_mono() - self->connected_ms) / 1000;
    if (self->associated)
        node_notice(S_SUB, "app %" PRIu64 " %s user=%s: disconnected (%s) after %llds, "
                    "%" PRIu64 " messages in, %" PRIu64 " out, %d monitors released",
                    self->id, self->peer, s_user(self), reason, secs, self->msgs_in,
                    self->msgs_out, self->mon_count);
    else
        node_info(S_SUB, "app %" PRIu64 " %s: closed before association (%s)", self->id,
                  self->peer, reason);
    s_metric_add(self->env->m.disconnects, reason, NULL, 1);
    s_metric_add(self->env->m.apps, s_transport(self), NULL, -1);
    if (tell_server && self->env->on_closed)
        self->env->on_closed(self->env->server, self);
}

void node_csta_session_close(node_csta_session_t *self, const char *reason)
{
    s_close(self, reason, true);
}

static int s_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    node_csta_session_t *self = s_find(s_token_id(arg));
    if (!self || self->timer != timer_id)
        return 0;
    self->timer = 0;
    if (self->state == NODE_CSTA_CLOSING)
        s_close(self, self->close_reason, true);
    else if (self->state == NODE_CSTA_HANDSHAKE || self->state == NODE_CSTA_AWAIT_AARQ) {
        node_warning(S_SUB, "app %" PRIu64 " %s: no %s within %d ms, dropped", self->id,
                     self->peer, self->state == NODE_CSTA_HANDSHAKE ? "TLS handshake" : "AARQ",
                     NODE_CSTA_ASSOCIATE_TIMEOUT_MS);
        s_metric_add(self->env->m.bad_input, "associate-timeout", NULL, 1);
        s_close(self, "associate-timeout", true);
    }
    return 0;
}

static void s_set_timer(node_csta_session_t *self, int ms)
{
    s_end_timer(self);
    self->timer =
        zloop_timer(self->env->loop, (size_t) ms, 1, s_on_deadline, s_token(self->id, 0, 0));
    if (self->timer < 0)
        self->timer = 0;
}

static void s_write(node_csta_session_t *self);

//  Close once the last APDU (a rejecting AARE, an RLRE) is written, or after
//  NODE_CSTA_LINGER_MS.
static void s_linger_close(node_csta_session_t *self, const char *reason)
{
    if (self->state == NODE_CSTA_CLOSED)
        return;
    self->state = NODE_CSTA_CLOSING;
    self->close_reason = reason;
    s_set_timer(self, NODE_CSTA_LINGER_MS);
    s_write(self);
}

//  --- Output ------------------------------------------------------------------------------

//  Ask the server for a flush soon: output of one loop iteration goes out in one write.
static void s_schedule(node_csta_session_t *self)
{
    if (self->service_scheduled || self->state == NODE_CSTA_CLOSED)
        return;
    self->service_scheduled = true;
    if (self->env->on_output)
        self->env->on_output(self->env->server, self);
    else
        node_csta_session_flush(self);
}

//  Queue one APDU.  The queue is bounded: an application that does not read is cut off
//  here, so it never holds memory or anyone else up.  Returns 0 or a negative errno.
static int s_push(node_csta_session_t *self, const uint8_t *apdu, size_t len)
{
    if (self->state == NODE_CSTA_CLOSED)
        return -ENOTCONN;
    int rc = csta_outq_push(self->outq, apdu, len);
    if (rc == -ENOBUFS) {
        node_warning(S_SUB, "app %" PRIu64 " %s user=%s: output queue full (%zu bytes waiting, "
                     "max %d): the application does not read, disconnecting it",
                     self->id, self->peer, s_user(self), csta_outq_size(self->outq),
                     self->env->cfg->app_queue_max_bytes);
        s_metric_add(self->env->m.overflows, NULL, NULL, 1);
        s_close(self, "queue-overflow", true);
        return rc;
    }
    if (rc) {
        node_error(S_SUB, "app %" PRIu64 " %s: cannot queue %zu bytes (%s), disconnecting",
                   self->id, self->peer, len, strerror(-rc));
        s_close(self, "queue-error", true);
        return rc;
    }
    self->msgs_out++;
    s_schedule(self);
    return 0;
}

static int s_send(node_csta_session_t *self, const csta_apdu_t *a)
{
    uint8_t buf[S_LOCAL_APDU_MAX];
    size_t len;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &len);
    if (rc) {
        node_error(S_SUB, "app %" PRIu64 ": cannot encode %s %s (%s)", self->id,
                   csta_apdu_kind_str(a->kind), csta_op_name(a->opcode), strerror(-rc));
        return rc;
    }
    return s_push(self, buf, len);
}

//  Forward PBX bytes with the invoke id and/or xref replaced (csta_peek_rewrite: no
//  re-encode; private data and everything else stay as the PBX sent them).
static int s_push_rewritten(node_csta_session_t *self, const csta_peek_t *pk,
                            const uint8_t *apdu, size_t len, const long *invoke_id,
                            const csta_xref_t *xref)
{
    static uint8_t out[S_APDU_MAX + 64];    //  one loop thread; pushed (copied) at once
    size_t n;
    int rc = csta_peek_rewrite(pk, apdu, len, invoke_id, xref, out, sizeof out, &n);
    if (rc) {
        node_warning(S_SUB, "app %" PRIu64 ": cannot rewrite a %s from the PBX (%s), dropped",
                     self->id, csta_apdu_kind_str(pk->kind), strerror(-rc));
        return rc;
    }
    return s_push(self, out, n);
}

static void s_send_error(node_csta_session_t *self, long invoke_id, csta_err_category_t category,
                         long value)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_ERROR);
    a.invoke_id = invoke_id;
    a.error.errcode = CSTA_ERRCODE_UNIVERSAL_FAILURE;
    a.error.has_parameter = true;
    a.error.category = category;
    a.error.value = value;
    s_send(self, &a);
}

static void s_send_reject(node_csta_session_t *self, bool has_id, long invoke_id,
                          csta_reject_kind_t kind, long problem)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_REJECT);
    a.invoke_id = invoke_id;
    a.reject.invoke_id_absent = !has_id;
    a.reject.kind = kind;
    a.reject.problem = problem;
    s_send(self, &a);
}

static void s_send_no_data(node_csta_session_t *self, long invoke_id, int opcode)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_RESULT);
    a.invoke_id = invoke_id;
    a.opcode = opcode;
    a.no_data = true;
    s_send(self, &a);
}

//  A request that got no answer from the PBX: a UniversalFailure that says why.
static void s_send_status_error(node_csta_session_t *self, long invoke_id, int status)
{
    switch (status) {
    case -ENOTCONN:     //  the link is down
        s_send_error(self, invoke_id, CSTA_ERR_SYSTEM_RESOURCE,
                     CSTA_SYSERR_RESOURCE_OUT_OF_SERVICE);
        break;
    case -ENOBUFS:      //  too many requests outstanding at the PBX
        s_send_error(self, invoke_id, CSTA_ERR_SUBSCRIBED_RESOURCE,
                     CSTA_SUBERR_OUTSTANDING_REQ_LIMIT_EXCEEDED);
        break;
    case -ETIMEDOUT:    //  the PBX did not answer in time
        s_send_error(self, invoke_id, CSTA_ERR_PERFORMANCE,
                     CSTA_PERFERR_PERFORMANCE_LIMIT_EXCEEDED);
        break;
    default:
        s_send_error(self, invoke_id, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_GENERIC);
    }
}

static const char *s_status_label(int status)
{
    switch (status) {
    case -ENOTCONN: return "link-down";
    case -ENOBUFS: return "busy";
    case -ETIMEDOUT: return "timeout";
    default: return "failed";
    }
}

//  Write what the socket takes now (TCP: csta_outq_flush; TLS: SSL_write).  Never waits.
static int s_tls_write(node_csta_session_t *self)
{
    for (;;) {
        const uint8_t *data;
        size_t n = csta_outq_peek(self->outq, &data);
        if (!n)
            return 0;
        if (n > S_TLS_CHUNK)
            n = S_TLS_CHUNK;
        ERR_clear_error();
        int w = SSL_write(self->ssl, data, (int) n);
        if (w > 0) {
            csta_outq_consume(self->outq, (size_t) w);
            continue;
        }
        switch (SSL_get_error(self->ssl, w)) {
        case SSL_ERROR_WANT_WRITE:
            self->write_wants_read = false;
            return -EAGAIN;
        case SSL_ERROR_WANT_READ:
            self->write_wants_read = true;
            return -EAGAIN;
        default:
            ERR_clear_error();
            return -EPIPE;
        }
    }
}

static void s_write(node_csta_session_t *self)
{
    if (self->state == NODE_CSTA_CLOSED || self->state == NODE_CSTA_HANDSHAKE)
        return;
    size_t before = csta_outq_size(self->outq);
    int rc = self->ssl ? s_tls_write(self) : csta_outq_flush(self->outq, self->fd);
    self->bytes_out += before - csta_outq_size(self->outq);
    if (rc == 0) {
        self->write_blocked = false;
        self->write_wants_read = false;
        if (self->state == NODE_CSTA_CLOSING) {
            s_close(self, self->close_reason, true);
            return;
        }
    } else if (rc == -EAGAIN)
        self->write_blocked = true;
    else {
        s_close(self, self->state == NODE_CSTA_CLOSING ? self->close_reason : "write-error", true);
        return;
    }
    s_poll_update(self);
}

//  --- Input ---------------------------------------------------------------------------------

static void s_on_apdu(node_csta_session_t *self, const uint8_t *apdu, size_t len);

static void s_process_frames(node_csta_session_t *self)
{
    for (;;) {
        const uint8_t *apdu;
        size_t len;
        int rc = csta_framer_next(self->framer, &apdu, &len);
        if (rc == -EAGAIN)
            return;
        if (rc) {
            //  The stream has lost its framing: nothing after this can be trusted.
            node_warning(S_SUB, "app %" PRIu64 " %s user=%s: framing lost (%s), disconnecting",
                         self->id, self->peer, s_user(self),
                         rc == -EMSGSIZE ? "frame too long" : "not a BER APDU");
            s_metric_add(self->env->m.bad_input, "framing", NULL, 1);
            s_close(self, "bad-framing", true);
            return;
        }
        self->msgs_in++;
        s_on_apdu(self, apdu, len);
        if ((self->state != NODE_CSTA_AWAIT_AARQ && self->state != NODE_CSTA_ASSOCIATED) ||
            self->login)
            return;
    }
}

static ssize_t s_tls_read(node_csta_session_t *self, uint8_t *buf, size_t cap)
{
    ERR_clear_error();
    int n = SSL_read(self->ssl, buf, (int) cap);
    if (n > 0) {
        self->read_wants_write = false;
        return n;
    }
    switch (SSL_get_error(self->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        self->read_wants_write = false;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        self->read_wants_write = true;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        return errno ? -errno : 0;      //  EOF without close_notify
    default:
        ERR_clear_error();
        return -EPROTO;
    }
}

static void s_read_input(node_csta_session_t *self)
{
    for (int round = 0; round < S_READ_ROUNDS; round++) {
        ssize_t n;
        if (self->ssl) {
            uint8_t buf[S_TLS_CHUNK];
            n = s_tls_read(self, buf, sizeof buf);
            if (n > 0 && csta_framer_feed(self->framer, buf, (size_t) n)) {
                s_close(self, "no-memory", true);
                return;
            }
        } else
            n = csta_framer_read(self->framer, self->fd);
        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            s_close(self, n == 0 ? "peer-closed" : n == -EPROTO ? "tls-error" : "read-error",
                    true);
            return;
        }
        self->bytes_in += (uint64_t) n;
        s_process_frames(self);
        if ((self->state != NODE_CSTA_AWAIT_AARQ && self->state != NODE_CSTA_ASSOCIATED) ||
            self->login)
            return;
        if (!self->ssl)
            return;     //  level-triggered poll: the rest on the next wake-up
    }
    //  OpenSSL may hold decrypted bytes that poll cannot see: read them on the next tick.
    if (SSL_pending(self->ssl) > 0) {
        self->read_again = true;
        s_schedule(self);
    }
}

static void s_tls_handshake(node_csta_session_t *self)
{
    ERR_clear_error();
    int rc = SSL_accept(self->ssl);
    if (rc == 1) {
        self->handshake_wants_write = false;
        self->state = NODE_CSTA_AWAIT_AARQ;
        node_info(S_SUB, "app %" PRIu64 " %s: TLS established (%s, %s)", self->id, self->peer,
                  SSL_get_version(self->ssl), SSL_get_cipher_name(self->ssl));
        return;
    }
    int err = SSL_get_error(self->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        self->handshake_wants_write = err == SSL_ERROR_WANT_WRITE;
        return;
    }
    char why[160] = "connection closed";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();      //  one thread, one error queue: leave nothing for the next session
    node_warning(S_SUB, "app %" PRIu64 " %s: TLS handshake failed: %s", self->id, self->peer, why);
    s_metric_add(self->env->m.bad_input, "tls-handshake", NULL, 1);
    s_close(self, "tls-handshake", true);
}

static int s_on_socket(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    node_csta_session_t *self = s_find(s_token_id(arg));
    if (!self || self->state == NODE_CSTA_CLOSED)
        return 0;
    short revents = item->revents;
    if (self->state == NODE_CSTA_HANDSHAKE) {
        s_tls_handshake(self);
        if (self->state != NODE_CSTA_AWAIT_AARQ) {
            if (self->state != NODE_CSTA_CLOSED)
                s_poll_update(self);
            return 0;
        }
        revents |= ZMQ_POLLIN;  //  the AARQ may have come with the handshake's last flight
    }
    if ((revents & (ZMQ_POLLOUT | ZMQ_POLLERR)) ||
        (self->write_wants_read && (revents & ZMQ_POLLIN)))
        s_write(self);
    if (self->state == NODE_CSTA_AWAIT_AARQ || self->state == NODE_CSTA_ASSOCIATED) {
        if ((revents & (ZMQ_POLLIN | ZMQ_POLLERR)) ||
            (self->read_wants_write && (revents & ZMQ_POLLOUT)))
            s_read_input(self);
    }
    if (self->state != NODE_CSTA_CLOSED)
        s_poll_update(self);
    return 0;
}

//  Poll for what the session waits for; the poller is replaced only when that changes
//  (zloop rebuilds its poll set on every change).
static void s_poll_update(node_csta_session_t *self)
{
    short events = 0;
    switch (self->state) {
    case NODE_CSTA_HANDSHAKE:
        events = (short) (ZMQ_POLLIN | (self->handshake_wants_write ? ZMQ_POLLOUT : 0));
        break;
    case NODE_CSTA_AWAIT_AARQ:
    case NODE_CSTA_ASSOCIATED:
        events = self->login ? 0 : ZMQ_POLLIN;     //  parked: read on after the check
        if ((self->write_blocked && !self->write_wants_read) || self->read_wants_write)
            events |= ZMQ_POLLOUT;
        break;
    case NODE_CSTA_CLOSING:
        events = self->write_wants_read ? ZMQ_POLLIN : ZMQ_POLLOUT;
        break;
    case NODE_CSTA_CLOSED:
        return;
    }
    if (self->polling && self->item.events == events)
        return;
    if (self->polling)
        zloop_poller_end(self->env->loop, &self->item);
    self->polling = false;
    self->item = (zmq_pollitem_t){.fd = self->fd, .events = events};
    if (zloop_poller(self->env->loop, &self->item, s_on_socket, s_token(self->id, 0, 0))) {
        s_close(self, "no-memory", true);
        return;
    }
    zloop_poller_set_tolerant(self->env->loop, &self->item);
    self->polling = true;
}

//  --- Association --------------------------------------------------------------------------

static void s_send_aare(node_csta_session_t *self, const csta_apdu_t *aarq, long result, long diag)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_AARE);
    r.acse.protocol_version = aarq->acse.protocol_version;
    if (!r.acse.protocol_version.present) {
        csta_bits_set(&r.acse.protocol_version, 0, 1);
        r.acse.protocol_version.unused = 7;
    }
    //  Echo the application's context; accepted with no-reason-given as a Panasonic
    //  answers, CSTA versionFive (csta-facts.md 1.2).
    memcpy(r.acse.context, aarq->acse.context, sizeof r.acse.context);
    r.acse.result = result;
    r.acse.diag_source = CSTA_DIAG_SERVICE_USER;
    r.acse.diag = diag;
    csta_bits_set(&r.acse.csta_version, CSTA_VERSION_FIVE, 2);
    s_send(self, &r);
}

static void s_send_system_status(node_csta_session_t *self, node_pbx_state_t state)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = s_next_out_id(self);
    a.opcode = CSTA_OP_SYSTEM_STATUS;
    a.svc.system_status.status = state == NODE_PBX_UP ? CSTA_SYS_NORMAL : CSTA_SYS_DISABLED;
    self->status_sent = true;
    self->status_state = state;
    s_send(self, &a);
}

static void s_reject_login(node_csta_session_t *self, const csta_apdu_t *aarq, long result,
                           long diag, const char *label, const char *why)
{
    node_warning(S_SUB, "app %" PRIu64 " %s (%s): association refused: %s", self->id,
                 self->peer, s_transport(self), why);
    s_metric_add(self->env->m.logins, label, NULL, 1);
    s_send_aare(self, aarq, result, diag);
    s_linger_close(self, label);
}

//  The association is accepted: AARE, SystemStatus (as a Panasonic does right after it).
static void s_associate(node_csta_session_t *self, const csta_apdu_t *aarq)
{
    //  Whether the user has a device list: may it use a device that has no number?
    csta_device_t nothing = {.kind = CSTA_DEV_ABSENT};
    self->restricted = self->user_index >= 0 &&
                       !node_users_may_use(self->env->users, self->user_index, &nothing);
    snprintf(self->context, sizeof self->context, "%s", aarq->acse.context);
    s_send_aare(self, aarq, CSTA_AARE_ACCEPTED, CSTA_DIAG_NO_REASON);
    if (self->state == NODE_CSTA_CLOSED)
        return;
    self->state = NODE_CSTA_ASSOCIATED;
    self->associated = true;
    s_end_timer(self);
    s_metric_add(self->env->m.logins, self->user_index >= 0 ? "ok" : "anonymous", NULL, 1);
    node_notice(S_SUB, "app %" PRIu64 " %s (%s) associated: user=%s context=%s%s", self->id,
                self->peer, s_transport(self), s_user(self), self->context,
                self->restricted ? " (device list applies)" : "");
    if (self->env->on_associated)
        self->env->on_associated(self->env->server);
    //  As a Panasonic does right after the AARE: SystemStatus, here with the link's state.
    s_send_system_status(self, self->env->pbx ? node_pbx_state(self->env->pbx) : NODE_PBX_DOWN);
}

//  The login's answer: associate, or refuse the AARQ.
static void s_login_finish(node_csta_session_t *self, const csta_apdu_t *a, node_login_t result,
                           int index)
{
    char user[CSTA_LOGIN_MAX + 1];
    snprintf(user, sizeof user, "%s", a->acse.user);
    char why[CSTA_LOGIN_MAX + 128];
    snprintf(why, sizeof why, "login of user '%s' failed (%s)", user, node_login_str(result));
    switch (result) {
    case NODE_LOGIN_OK:
        self->user_index = index;
        snprintf(self->user, sizeof self->user, "%s", user);
        s_associate(self, a);
        return;
    case NODE_LOGIN_UNKNOWN_USER:
    case NODE_LOGIN_WRONG_PASSWORD:
        //  Both look the same to the peer: no hint which user names exist.
        s_reject_login(self, a, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_AUTH_FAILURE,
                       result == NODE_LOGIN_UNKNOWN_USER ? "unknown-user" : "wrong-password",
                       why);
        return;
    case NODE_LOGIN_THROTTLED:
        s_reject_login(self, a, CSTA_AARE_REJECTED_TRANSIENT, CSTA_DIAG_NO_REASON, "throttled",
                       why);
        return;
    case NODE_LOGIN_BUSY:
    case NODE_LOGIN_PENDING:
        snprintf(why, sizeof why, "login of user '%s' not checked: too many logins waiting "
                 "for their password check, try again", user);
        s_reject_login(self, a, CSTA_AARE_REJECTED_TRANSIENT, CSTA_DIAG_NO_REASON, "busy", why);
        return;
    }
}

//  node_verifier's answer for a parked AARQ (arg: the session's token; it may be gone).
static void s_on_verified(void *arg, bool verified)
{
    node_csta_session_t *self = s_find(s_token_id(arg));
    if (!self || !self->login || self->state != NODE_CSTA_AWAIT_AARQ)
        return;
    s_login_t *l = self->login;
    self->login = NULL;
    int index = -1;
    node_login_t result =
        self->env->users ? node_users_login_end(self->env->users, &l->check, verified,
                                                l->aarq.acse.password, self->peer_ip,
                                                zclock_mono(), &index)
                         : NODE_LOGIN_UNKNOWN_USER;
    s_login_finish(self, &l->aarq, result, index);
    s_login_free(&l);
    //  What the application sent after its AARQ, then more from the socket (TLS: OpenSSL
    //  may hold decrypted bytes that poll cannot see).
    if (self->state == NODE_CSTA_ASSOCIATED)
        s_process_frames(self);
    if (self->state == NODE_CSTA_ASSOCIATED && self->ssl && SSL_pending(self->ssl) > 0) {
        self->read_again = true;
        s_schedule(self);
    }
    if (self->state != NODE_CSTA_CLOSED)
        s_poll_update(self);
}

//  Check the AARQ's login: answered now, or PENDING with *a moved into the parked login
//  (node_verifier runs the PBKDF2; s_on_verified goes on).
static node_login_t s_login_begin(node_csta_session_t *self, csta_apdu_t *a, int *index)
{
    node_users_t *users = self->env->users;
    if (!users)
        return NODE_LOGIN_UNKNOWN_USER;
    if (!self->env->verifier)
        return node_users_login(users, a->acse.user, a->acse.password, self->peer_ip,
                                zclock_mono(), index);
    s_login_t *l = calloc(1, sizeof *l);
    if (!l)
        return NODE_LOGIN_BUSY;
    node_login_t r = node_users_login_begin(users, a->acse.user, a->acse.password,
                                            self->peer_ip, zclock_mono(), index, &l->check);
    if (r == NODE_LOGIN_PENDING) {
        l->id = node_verifier_check(self->env->verifier, l->check.hash, a->acse.password,
                                    s_on_verified, s_token(self->id, 0, 0));
        if (l->id > 0) {
            l->aarq = *a;       //  moved: the caller neither clears nor wipes it
            self->login = l;
            s_poll_update(self);
            return NODE_LOGIN_PENDING;
        }
        node_warning(S_SUB, "app %" PRIu64 " %s: password check not queued (%zu waiting): %s",
                     self->id, self->peer, node_verifier_queued(self->env->verifier),
                     strerror((int) -l->id));
        r = NODE_LOGIN_BUSY;
    }
    free(l);
    return r;
}

static void s_on_aarq(node_csta_session_t *self, const uint8_t *apdu, size_t len)
{
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    if (rc || a.kind != CSTA_APDU_AARQ) {
        node_warning(S_SUB, "app %" PRIu64 " %s: expected an AARQ, got %s (%s), disconnecting",
                     self->id, self->peer,
                     rc ? "bytes that do not decode" : csta_apdu_kind_str(a.kind),
                     rc ? strerror(-rc) : "out of order");
        s_metric_add(self->env->m.bad_input, "no-aarq", NULL, 1);
        csta_apdu_clear(&a);
        s_close(self, "no-aarq", true);
        return;
    }
    //  Any CSTA application context (ECMA's arc 1.3.12.0: .218, .218.200, .285.200, .180.1).
    if (strncmp(a.acse.context, "1.3.12.0.", 9) != 0) {
        char why[96];
        snprintf(why, sizeof why, "application context %s is not CSTA", a.acse.context);
        s_reject_login(self, &a, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_ACN_NOT_SUPPORTED,
                       "bad-context", why);
        goto done;
    }
    bool required = self->ssl || self->env->cfg->tcp_login_required;
    self->user_index = -1;
    if (!a.acse.has_login) {
        if (required) {
            s_reject_login(self, &a, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_AUTH_REQUIRED,
                           "login-required", "no login in the AARQ (required here)");
            goto done;
        }
    } else {
        int index = -1;
        node_login_t result = s_login_begin(self, &a, &index);
        if (result == NODE_LOGIN_PENDING)
            return;             //  a is the parked login's now
        s_login_finish(self, &a, result, index);
        goto done;
    }
    s_associate(self, &a);
done:
    explicit_bzero(a.acse.password, sizeof a.acse.password);
    csta_apdu_clear(&a);
}

//  --- Permissions ---------------------------------------------------------------------------

typedef struct {
    const csta_device_t *device;
    long error;                         //  OperationErrors value when it is not permitted
} s_controlled_t;

#define S_CONTROLLED_MAX 4

static void s_add_device(s_controlled_t *c, size_t *n, const csta_device_t *d, long error)
{
    if (*n < S_CONTROLLED_MAX)
        c[(*n)++] = (s_controlled_t){d, error};
}

//  A ConnectionID names the device on the call; one without a device (callID only) cannot
//  be checked and counts as the ABSENT device, which users with a device list may not use.
static void s_add_conn(s_controlled_t *c, size_t *n, const csta_conn_t *conn)
{
    static const csta_device_t absent = {.kind = CSTA_DEV_ABSENT};
    s_add_device(c, n,
                 conn->present && conn->device.kind != CSTA_DEV_ABSENT ? &conn->device : &absent,
                 CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE);
}

//  The devices a request acts on, per ECMA-269 service: the device of each ConnectionID,
//  the calling or requesting device, the device of a device feature.  Destinations (called,
//  consulted, deflected-to, forwarded-to ... numbers) are not controlled and not checked.
//  Returns false for an operation not listed here.
static bool s_controlled(const csta_apdu_t *a, s_controlled_t *c, size_t *n)
{
    const long specified = CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE;
    *n = 0;
    switch (a->opcode) {
    case CSTA_OP_ALTERNATE_CALL:
        s_add_conn(c, n, &a->call.alternate_call.held_call);
        s_add_conn(c, n, &a->call.alternate_call.active_call);
        return true;
    case CSTA_OP_ANSWER_CALL:
        s_add_conn(c, n, &a->call.answer_call.call_to_be_answered);
        return true;
    case CSTA_OP_CLEAR_CALL: s_add_conn(c, n, &a->call.clear_call.call_to_be_cleared); return true;
    case CSTA_OP_CLEAR_CONNECTION:
        s_add_conn(c, n, &a->call.clear_connection.connection);
        return true;
    case CSTA_OP_CONFERENCE_CALL:
        s_add_conn(c, n, &a->call.conference_call.held_call);
        s_add_conn(c, n, &a->call.conference_call.active_call);
        return true;
    case CSTA_OP_CONSULTATION_CALL:
        s_add_conn(c, n, &a->call.consultation_call.existing_call);
        return true;
    case CSTA_OP_HOLD_CALL: s_add_conn(c, n, &a->call.hold_call.call_to_be_held); return true;
    case CSTA_OP_MAKE_CALL:
        s_add_device(c, n, &a->call.make_call.calling,
                     CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE);
        return true;
    case CSTA_OP_RECONNECT_CALL:
        s_add_conn(c, n, &a->call.reconnect_call.active_call);
        s_add_conn(c, n, &a->call.reconnect_call.held_call);
        return true;
    case CSTA_OP_RETRIEVE_CALL:
        s_add_conn(c, n, &a->call.retrieve_call.call_to_be_retrieved);
        return true;
    case CSTA_OP_TRANSFER_CALL:
        s_add_conn(c, n, &a->call.transfer_call.held_call);
        s_add_conn(c, n, &a->call.transfer_call.active_call);
        return true;
    case CSTA_OP_SINGLE_STEP_CONFERENCE:
        s_add_conn(c, n, &a->call.single_step_conference.active_call);
        return true;
    case CSTA_OP_SINGLE_STEP_TRANSFER:
        s_add_conn(c, n, &a->call.single_step_transfer.active_call);
        return true;
    case CSTA_OP_ACCEPT_CALL:
        s_add_conn(c, n, &a->call.accept_call.call_to_be_accepted);
        return true;
    case CSTA_OP_CALL_BACK: s_add_conn(c, n, &a->call.call_back.callback_connection); return true;
    case CSTA_OP_CAMP_ON_CALL:
        s_add_conn(c, n, &a->call.camp_on_call.campon_connection);
        return true;
    case CSTA_OP_DEFLECT_CALL:
        s_add_conn(c, n, &a->call.deflect_call.call_to_be_diverted);
        return true;
    case CSTA_OP_DIAL_DIGITS:
        s_add_conn(c, n, &a->call.dial_digits.dialling_connection);
        return true;
    case CSTA_OP_DIRECTED_PICKUP_CALL:
        //  The call rings at another device: the user must be allowed both.
        s_add_conn(c, n, &a->call.directed_pickup_call.call_to_be_picked_up);
        s_add_device(c, n, &a->call.directed_pickup_call.requesting_device,
                     CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE);
        return true;
    case CSTA_OP_GROUP_PICKUP_CALL:
        s_add_device(c, n, &a->call.group_pickup_call.new_destination, specified);
        return true;
    case CSTA_OP_INTRUDE_CALL: s_add_conn(c, n, &a->call.intrude_call.intrude); return true;
    case CSTA_OP_GENERATE_DIGITS:
        s_add_conn(c, n, &a->call.generate_digits.connection_to_send_digits);
        return true;
    case CSTA_OP_CALL_BACK_NON_CALL_RELATED:
        s_add_device(c, n, &a->call.call_back_non_call_related.originating_device,
                     CSTA_OPERR_PRIVILEGE_VIOLATION_CALLING_DEVICE);
        return true;
    case CSTA_OP_SNAPSHOT_DEVICE:
        s_add_device(c, n, &a->svc.snapshot_device.snapshot_object, specified);
        return true;
    case CSTA_OP_SNAPSHOT_CALL:
        s_add_conn(c, n, &a->svc.snapshot_call.snapshot_object);
        return true;
    case CSTA_OP_SET_FORWARDING:
        s_add_device(c, n, &a->svc.set_forwarding.device, specified);
        return true;
    case CSTA_OP_GET_FORWARDING:
        s_add_device(c, n, &a->svc.get_forwarding.device, specified);
        return true;
    case CSTA_OP_SET_DO_NOT_DISTURB:
        s_add_device(c, n, &a->svc.set_do_not_disturb.device, specified);
        return true;
    case CSTA_OP_GET_DO_NOT_DISTURB:
        s_add_device(c, n, &a->svc.get_do_not_disturb.device, specified);
        return true;
    case CSTA_OP_SET_DISPLAY:
        s_add_device(c, n, &a->svc.set_display.device, specified);
        return true;
    case CSTA_OP_MONITOR_START:
        if (a->svc.monitor_start.object_is_call)
            s_add_conn(c, n, &a->svc.monitor_start.call);
        else
            s_add_device(c, n, &a->svc.monitor_start.device, specified);
        return true;
    case CSTA_OP_ESCAPE:                        //  private data is opaque: passes through
    case CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES:    //  a query, controls nothing
    case CSTA_OP_START_CDR:
    case CSTA_OP_STOP_CDR:
        return true;
    }
    return false;
}

static bool s_may_use(const node_csta_session_t *self, const csta_device_t *device)
{
    return self->env->users ? node_users_may_use(self->env->users, self->user_index, device)
                            : self->user_index < 0;
}

//  Check a request against the user's device list.  Returns true if it may go on; else
//  the application has got its UniversalFailure and the refusal is logged and counted.
static bool s_permitted(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                        const csta_peek_t *pk)
{
    if (!self->restricted)
        return true;
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    s_controlled_t
        c[CSTA_PEEK_DEVICES_MAX > S_CONTROLLED_MAX ? CSTA_PEEK_DEVICES_MAX : S_CONTROLLED_MAX];
    size_t n = 0;
    csta_device_t peeked[CSTA_PEEK_DEVICES_MAX];
    if (rc != 0 || !s_controlled(&a, c, &n)) {
        //  An operation ctim does not model (or bytes it cannot decode) cannot say which of
        //  its devices it controls: every device it names must be permitted.
        n = 0;
        for (size_t i = 0; i < pk->device_count && i < CSTA_PEEK_DEVICES_MAX; i++) {
            memset(&peeked[i], 0, sizeof peeked[i]);
            peeked[i].kind = pk->device[i].kind;
            peeked[i].number = pk->device[i].number;
            memcpy(peeked[i].digits, pk->device[i].digits, sizeof peeked[i].digits);
            c[n++] = (s_controlled_t){&peeked[i], CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE};
        }
        if (pk->devices_dropped) {
            static const csta_device_t absent = {.kind = CSTA_DEV_ABSENT};
            c[0] = (s_controlled_t){&absent, CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE};
        }
    }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (s_may_use(self, c[i].device))
            continue;
        ok = false;
        char dev[CSTA_DIGITS_MAX + 8];
        s_device_str(c[i].device, dev, sizeof dev);
        node_warning(S_SUB, "app %" PRIu64 " %s user=%s: %s refused: device %s is not permitted",
                     self->id, self->peer, s_user(self), csta_op_name(pk->opcode), dev);
        s_metric_add(self->env->m.denied, s_op_label(pk->opcode), NULL, 1);
        s_metric_add(self->env->m.requests, s_op_label(pk->opcode), "denied", 1);
        s_send_error(self, pk->invoke_id, CSTA_ERR_OPERATION, c[i].error);
    }
    csta_apdu_clear(&a);
    return ok;
}

//  --- Requests forwarded to the PBX -----------------------------------------------------------

static int s_req_alloc(node_csta_session_t *self)
{
    if (self->req_free < 0) {
        int cap = self->req_cap ? self->req_cap * 2 : 8;
        if (cap > NODE_CSTA_PENDING_MAX)
            cap = NODE_CSTA_PENDING_MAX;
        if (cap <= self->req_cap)
            return -1;
        s_req_t *grown = realloc(self->reqs, (size_t) cap * sizeof *grown);
        if (!grown)
            return -1;
        for (int i = self->req_cap; i < cap; i++)
            grown[i] = (s_req_t){.next_free = i + 1 < cap ? i + 1 : -1};
        self->reqs = grown;
        self->req_free = self->req_cap;
        self->req_cap = cap;
    }
    int slot = self->req_free;
    s_req_t *r = &self->reqs[slot];
    self->req_free = r->next_free;
    r->used = true;
    r->gen++;
    self->req_count++;
    return slot;
}

static void s_req_release(node_csta_session_t *self, int slot)
{
    s_req_t *r = &self->reqs[slot];
    r->used = false;
    r->next_free = self->req_free;
    self->req_free = slot;
    self->req_count--;
}

static void s_cdr_release(node_csta_session_t *self)
{
    if (self->cdr_owner && self->env->pbx)
        node_pbx_cdr_release(self->env->pbx, self);
    self->cdr_owner = false;
    self->cdr_started = false;
    self->cdr_xref_len = 0;
}

//  What a reply means for CDR ownership (ECMA-269 Start/StopCallDetailRecordsTransmission).
static void s_cdr_reply(node_csta_session_t *self, int opcode, const csta_peek_t *pk,
                        const uint8_t *apdu, size_t len)
{
    bool ok = pk && pk->kind == CSTA_APDU_RESULT;
    if (opcode == CSTA_OP_START_CDR) {
        if (!ok) {
            if (!self->cdr_started)
                s_cdr_release(self);
            return;
        }
        self->cdr_started = true;
        csta_apdu_t a;
        if (csta_apdu_decode(&a, apdu, len) == 0 && a.has_result) {
            const csta_bytes_t *x = &a.svc.start_call_detail_records_transmission_res.cdr_xref;
            self->cdr_xref_len = x->data && x->len <= sizeof self->cdr_xref ? x->len : 0;
            if (self->cdr_xref_len)
                memcpy(self->cdr_xref, x->data, x->len);
        }
        csta_apdu_clear(&a);
        node_info(S_SUB, "app %" PRIu64 " %s user=%s: owns CDR transmission", self->id,
                  self->peer, s_user(self));
    } else if (opcode == CSTA_OP_STOP_CDR && ok)
        s_cdr_release(self);
}

static void s_on_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    node_csta_session_t *self = s_find(s_token_id(arg));
    if (!self || self->state != NODE_CSTA_ASSOCIATED)
        return;     //  the application has gone: its reply goes nowhere
    int slot = (int) s_token_slot(arg);
    if (slot >= self->req_cap || !self->reqs[slot].used || self->reqs[slot].gen != s_token_gen(arg))
        return;
    s_req_t r = self->reqs[slot];
    s_req_release(self, slot);
    double seconds = (double) (zclock_mono() - r.started_ms) / 1000.0;
    if (self->env->m.request_seconds)
        node_metric_observe(self->env->m.request_seconds, NULL, seconds);
    csta_peek_t pk;
    if (status < 0 || !apdu || csta_peek(&pk, apdu, len) || !pk.has_invoke_id ||
        (pk.kind != CSTA_APDU_RESULT && pk.kind != CSTA_APDU_ERROR &&
         pk.kind != CSTA_APDU_REJECT)) {
        if (status >= 0)
            node_warning(S_SUB, "app %" PRIu64 ": unusable reply to %s from the PBX", self->id,
                         csta_op_name(r.opcode));
        else
            node_info(S_SUB, "app %" PRIu64 " user=%s: %s (invoke %ld) got no answer: %s",
                      self->id, s_user(self), csta_op_name(r.opcode), r.app_invoke_id,
                      s_status_label(status));
        s_metric_add(self->env->m.requests, s_op_label(r.opcode), s_status_label(status), 1);
        s_send_status_error(self, r.app_invoke_id, status);
        if (r.opcode == CSTA_OP_START_CDR || r.opcode == CSTA_OP_STOP_CDR)
            s_cdr_reply(self, r.opcode, NULL, NULL, 0);
        return;
    }
    s_metric_add(self->env->m.requests, s_op_label(r.opcode),
                 pk.kind == CSTA_APDU_RESULT  ? "ok"
                 : pk.kind == CSTA_APDU_ERROR ? "error"
                                              : "reject",
                 1);
    if (r.opcode == CSTA_OP_START_CDR || r.opcode == CSTA_OP_STOP_CDR)
        s_cdr_reply(self, r.opcode, &pk, apdu, len);
    s_push_rewritten(self, &pk, apdu, len, &r.app_invoke_id, NULL);
}

//  Invokes of the PBX that belong to this application's request (SwitchingFunctionDevices
//  and SnapshotDeviceData segments, CDR reports to the CDR owner, Panasonic Escape replies):
//  forwarded with an invoke id of ours.  The application's answers to them stay here (the
//  PBX service acknowledges the PBX itself).
static void s_on_followup(void *arg, const uint8_t *apdu, size_t len, const csta_peek_t *keys)
{
    node_csta_session_t *self = s_find(s_token_id(arg));
    if (!self || self->state != NODE_CSTA_ASSOCIATED || !keys || keys->kind != CSTA_APDU_INVOKE)
        return;
    if (keys->opcode == CSTA_OP_CDR_REPORT && !self->cdr_owner)
        return;
    long id = s_next_out_id(self);
    s_push_rewritten(self, keys, apdu, len, &id, NULL);
}

static void s_forward(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                      const csta_peek_t *pk)
{
    if (!self->env->pbx) {
        s_send_status_error(self, pk->invoke_id, -ENOTCONN);
        return;
    }
    int slot = s_req_alloc(self);
    if (slot < 0) {
        node_warning(S_SUB, "app %" PRIu64 " %s user=%s: %d requests outstanding, %s rejected",
                     self->id, self->peer, s_user(self), self->req_count, csta_op_name(pk->opcode));
        s_metric_add(self->env->m.requests, s_op_label(pk->opcode), "too-many", 1);
        s_send_reject(self, true, pk->invoke_id, CSTA_REJECT_INVOKE,
                      CSTA_REJ_INVOKE_RESOURCE_LIMITATION);
        return;
    }
    s_req_t *r = &self->reqs[slot];
    r->app_invoke_id = pk->invoke_id;
    r->opcode = pk->opcode;
    r->started_ms = zclock_mono();
    uint8_t gen = r->gen;
    int rc = node_pbx_request(self->env->pbx, apdu, len, self->env->request_timeout_ms,
                              s_on_reply, s_on_followup,
                              s_token(self->id, gen, (unsigned) slot));
    if (rc) {
        //  Not sent, so no reply will come (unless it already did).
        if (slot < self->req_cap && self->reqs[slot].used && self->reqs[slot].gen == gen)
            s_req_release(self, slot);
        node_warning(S_SUB, "app %" PRIu64 ": %s not sent to the PBX (%s)", self->id,
                     csta_op_name(pk->opcode), strerror(-rc));
        s_send_reject(self, true, pk->invoke_id, CSTA_REJECT_INVOKE,
                      CSTA_REJ_INVOKE_MISTYPED_ARGUMENT);
    }
}

//  --- CDR -------------------------------------------------------------------------------------

static void s_start_cdr(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                        const csta_peek_t *pk)
{
    if (!self->cdr_owner) {
        if (!self->env->pbx || node_pbx_cdr_claim(self->env->pbx, self) != 0) {
            //  One owner at a time, as estos' Panasonic multiplexer (csta-facts.md 2.6, 5).
            node_info(S_SUB, "app %" PRIu64 " %s user=%s: StartCDR refused: another "
                      "application owns CDR transmission", self->id, self->peer, s_user(self));
            s_metric_add(self->env->m.requests, s_op_label(pk->opcode), "busy", 1);
            s_send_error(self, pk->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC);
            return;
        }
        self->cdr_owner = true;
    }
    s_forward(self, apdu, len, pk);
}

static void s_stop_cdr(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                       const csta_peek_t *pk)
{
    if (!self->cdr_owner) {
        s_metric_add(self->env->m.requests, s_op_label(pk->opcode), "busy", 1);
        s_send_error(self, pk->invoke_id, CSTA_ERR_OPERATION, CSTA_OPERR_GENERIC);
        return;
    }
    s_forward(self, apdu, len, pk);
}

static void s_ignore_reply(void *arg, int status, const uint8_t *apdu, size_t len)
{
    (void) arg;
    (void) status;
    (void) apdu;
    (void) len;
}

//  The CDR owner went away: stop the transmission it started, give the claim back.
static void s_cdr_abandon(node_csta_session_t *self)
{
    if (!self->cdr_owner)
        return;
    if (self->cdr_started && self->env->pbx) {
        csta_apdu_t a;
        csta_apdu_init(&a, CSTA_APDU_INVOKE);
        a.invoke_id = 1;
        a.opcode = CSTA_OP_STOP_CDR;
        a.svc.stop_call_detail_records_transmission.cdr_xref =
            (csta_bytes_t){self->cdr_xref, self->cdr_xref_len};
        uint8_t buf[256];
        size_t len;
        if (self->cdr_xref_len && csta_apdu_encode(&a, buf, sizeof buf, &len) == 0)
            node_pbx_request(self->env->pbx, buf, len, 0, s_ignore_reply, NULL, NULL);
    }
    s_cdr_release(self);
}

//  --- Monitors --------------------------------------------------------------------------------

//  MonitorFilter call control bit of each CallControlEvents tag (csta-facts.md 2.3: the
//  filter bits are not the event tags).
static const int s_call_control_bit[18] = {15, 0,  1, 2,  3, 14, 4,  5,  6,
                                           7,  16, 8, 17, 9, 10, 11, 12, 13};

//  Whether the application's filter lets an event of this category and tag through.  A set
//  filter bit means "do not report" (ECMA-269 MonitorFilter); unknown events pass.
static bool s_filter_allows(const csta_monitor_filter_t *f, int category, int tag)
{
    if (!f->present || category < 0 || tag < 0)
        return true;
    uint32_t bits;
    int bit = tag;
    switch (category) {
    case 0:
        bits = f->call_control;
        bit = tag < 18 ? s_call_control_bit[tag] : -1;
        break;
    case 1: bits = f->call_associated; break;
    case 2: bits = f->media_attachment; break;
    case 3: bits = f->physical_device_feature; break;
    case 4: bits = f->logical_device_feature; break;
    case 5:
        bits = f->maintenance;      //  outOfService is tag 2 but bit 1, capabilities the reverse
        bit = tag == 1 ? 2 : tag == 2 ? 1 : tag;
        break;
    case 6: bits = f->voice_unit; break;
    case 7: bits = f->private_filter; break;
    default: return true;
    }
    return bit < 0 || bit >= 32 || !(bits & (1u << bit));
}

static int s_mon_alloc(node_csta_session_t *self)
{
    if (self->mon_free < 0) {
        int cap = self->mon_cap ? self->mon_cap * 2 : 8;
        if (cap > NODE_CSTA_MONITORS_MAX)
            cap = NODE_CSTA_MONITORS_MAX;
        if (cap <= self->mon_cap)
            return -1;
        s_mon_t *grown = realloc(self->mons, (size_t) cap * sizeof *grown);
        if (!grown)
            return -1;
        for (int i = self->mon_cap; i < cap; i++)
            grown[i] = (s_mon_t){.state = S_MON_FREE, .next_free = i + 1 < cap ? i + 1 : -1};
        self->mons = grown;
        self->mon_free = self->mon_cap;
        self->mon_cap = cap;
    }
    int slot = self->mon_free;
    s_mon_t *m = &self->mons[slot];
    self->mon_free = m->next_free;
    uint8_t gen = (uint8_t) (m->gen + 1);
    *m = (s_mon_t){.state = S_MON_PENDING, .gen = gen};
    self->mon_count++;
    return slot;
}

static void s_mon_release(node_csta_session_t *self, int slot)
{
    s_mon_t *m = &self->mons[slot];
    if (m->watch && self->env->pbx)
        node_pbx_unwatch(self->env->pbx, &m->watch);
    if (m->state == S_MON_ACTIVE) {
        self->mon_active--;
        s_metric_add(self->env->m.monitors, NULL, NULL, -1);
        if (self->env->on_monitor)
            self->env->on_monitor(self->env->server, &m->device, false);
    }
    m->state = S_MON_FREE;
    m->watch = NULL;
    m->next_free = self->mon_free;
    self->mon_free = slot;
    self->mon_count--;
}

static void s_on_watch_done(void *watch_arg, int status, const uint8_t *error_apdu, size_t len)
{
    node_csta_session_t *self = s_find(s_token_id(watch_arg));
    if (!self || self->state != NODE_CSTA_ASSOCIATED)
        return;
    int slot = (int) s_token_slot(watch_arg);
    if (slot >= self->mon_cap || self->mons[slot].gen != s_token_gen(watch_arg) ||
        self->mons[slot].state != S_MON_PENDING)
        return;
    s_mon_t *m = &self->mons[slot];
    char dev[CSTA_DIGITS_MAX + 8];
    s_device_str(&m->device, dev, sizeof dev);
    if (status == 0) {
        m->state = S_MON_ACTIVE;
        m->monitored = true;
        self->mon_active++;
        s_metric_add(self->env->m.monitors, NULL, NULL, 1);
        if (self->env->on_monitor)
            self->env->on_monitor(self->env->server, &m->device, true);
        s_metric_add(self->env->m.requests, "MonitorStart", "ok", 1);
        csta_apdu_t a;
        csta_apdu_init(&a, CSTA_APDU_RESULT);
        a.invoke_id = m->app_invoke_id;
        a.opcode = CSTA_OP_MONITOR_START;
        s_xref_of(slot, &a.svc.monitor_start_res.xref);
        //  The application's filter is applied here, so it is the actual one.
        if (m->filter.present)
            a.svc.monitor_start_res.filter = m->filter;
        node_info(S_SUB, "app %" PRIu64 " user=%s: monitoring %s as xref %04x", self->id,
                  s_user(self), dev, slot + 1);
        s_send(self, &a);
        return;
    }
    //  Refused (by the PBX, or no answer): tell the application; the watch goes after this
    //  callback, outside the PBX service's own loop.
    csta_peek_t pk;
    if (error_apdu && len && csta_peek(&pk, error_apdu, len) == 0 && pk.has_invoke_id &&
        (pk.kind == CSTA_APDU_ERROR || pk.kind == CSTA_APDU_REJECT)) {
        s_metric_add(self->env->m.requests, "MonitorStart",
                     pk.kind == CSTA_APDU_ERROR ? "error" : "reject", 1);
        s_push_rewritten(self, &pk, error_apdu, len, &m->app_invoke_id, NULL);
    } else {
        s_metric_add(self->env->m.requests, "MonitorStart",
                     s_status_label(status < 0 ? status : -EIO), 1);
        s_send_status_error(self, m->app_invoke_id, status < 0 ? status : -EIO);
    }
    node_info(S_SUB, "app %" PRIu64 " user=%s: MonitorStart %s failed (%s)", self->id,
              s_user(self), dev, status < 0 ? s_status_label(status) : "refused by the PBX");
    if (self->state == NODE_CSTA_CLOSED)
        return;
    self->mons[slot].state = S_MON_FAILED;
    self->mon_failed = true;
    s_schedule(self);
}

static void s_monitor_start(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                            const csta_peek_t *pk)
{
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, apdu, len);
    if (rc) {
        s_metric_add(self->env->m.bad_input, "mistyped-argument", NULL, 1);
        s_send_reject(self, true, pk->invoke_id, CSTA_REJECT_INVOKE,
                      CSTA_REJ_INVOKE_MISTYPED_ARGUMENT);
        csta_apdu_clear(&a);
        return;
    }
    const csta_monitor_start_arg_t *arg = &a.svc.monitor_start;
    long err = 0;
    csta_err_category_t category = CSTA_ERR_OPERATION;
    if (arg->object_is_call)
        err = CSTA_OPERR_INVALID_MONITOR_OBJECT;    //  the PBX monitors devices, shared
    else if (arg->device.kind != CSTA_DEV_DIALING && arg->device.kind != CSTA_DEV_NUMBER)
        err = CSTA_OPERR_INVALID_DEVICE_ID;
    else if (!s_may_use(self, &arg->device)) {
        err = CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE;
        char dev[CSTA_DIGITS_MAX + 8];
        s_device_str(&arg->device, dev, sizeof dev);
        node_warning(S_SUB, "app %" PRIu64 " %s user=%s: MonitorStart refused: device %s is not "
                     "permitted", self->id, self->peer, s_user(self), dev);
        s_metric_add(self->env->m.denied, "MonitorStart", NULL, 1);
    } else if (!self->env->pbx || node_pbx_state(self->env->pbx) != NODE_PBX_UP) {
        category = CSTA_ERR_SYSTEM_RESOURCE;        //  as the PBX itself would be: unreachable
        err = CSTA_SYSERR_RESOURCE_OUT_OF_SERVICE;
    }
    int slot = err ? -1 : s_mon_alloc(self);
    if (!err && slot < 0) {
        category = CSTA_ERR_SUBSCRIBED_RESOURCE;
        err = CSTA_SUBERR_OBJECT_MONITOR_LIMIT_EXCEEDED;
    }
    if (err) {
        s_metric_add(self->env->m.requests, "MonitorStart",
                     err == CSTA_OPERR_PRIVILEGE_VIOLATION_SPECIFIED_DEVICE &&
                             category == CSTA_ERR_OPERATION ? "denied" : "error", 1);
        s_send_error(self, pk->invoke_id, category, err);
        csta_apdu_clear(&a);
        return;
    }
    s_mon_t *m = &self->mons[slot];
    m->app_invoke_id = pk->invoke_id;
    m->device = arg->device;
    m->filter = arg->filter;
    uint8_t gen = m->gen;
    csta_apdu_clear(&a);
    //  The PBX monitor is shared: node_pbx starts it for the first watch of the device.
    m->in_watch = true;
    node_pbx_watch_t *watch = node_pbx_watch(self->env->pbx, &m->device, s_on_watch_done,
                                             s_token(self->id, gen, (unsigned) slot));
    m = &self->mons[slot];
    m->in_watch = false;
    m->watch = watch;
    if (!watch) {
        if (m->state == S_MON_PENDING)
            s_send_error(self, pk->invoke_id, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_GENERIC);
        s_mon_release(self, slot);
    }
}

static void s_change_monitor_filter(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                                    const csta_peek_t *pk)
{
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len)) {
        s_send_reject(self, true, pk->invoke_id, CSTA_REJECT_INVOKE,
                      CSTA_REJ_INVOKE_MISTYPED_ARGUMENT);
        csta_apdu_clear(&a);
        return;
    }
    int slot = s_slot_of(self, &a.svc.change_monitor_filter.xref);
    if (slot < 0 || self->mons[slot].state != S_MON_ACTIVE) {
        s_send_error(self, pk->invoke_id, CSTA_ERR_OPERATION,
                     CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
        csta_apdu_clear(&a);
        return;
    }
    self->mons[slot].filter = a.svc.change_monitor_filter.filter;
    self->mons[slot].filter.present = true;
    csta_apdu_clear(&a);
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_RESULT);
    r.invoke_id = pk->invoke_id;
    r.opcode = CSTA_OP_CHANGE_MONITOR_FILTER;
    r.svc.change_monitor_filter_res.filter = self->mons[slot].filter;
    s_send(self, &r);
}

static void s_monitor_stop(node_csta_session_t *self, const csta_peek_t *pk)
{
    int slot = pk->has_xref ? s_slot_of(self, &pk->xref) : -1;
    if (slot < 0 || self->mons[slot].state != S_MON_ACTIVE) {
        s_send_error(self, pk->invoke_id, CSTA_ERR_OPERATION,
                     CSTA_OPERR_INVALID_MONITOR_CROSS_REF_ID);
        return;
    }
    //  The PBX monitor stops when its last watch goes (node_pbx).
    s_mon_release(self, slot);
    s_send_no_data(self, pk->invoke_id, CSTA_OP_MONITOR_STOP);
}

//  The monitor behind a watch_arg, or -1 if the session or the monitor has gone.
static int s_active_slot(void *watch_arg, node_csta_session_t **self_p)
{
    node_csta_session_t *self = s_find(s_token_id(watch_arg));
    if (!self || self->state != NODE_CSTA_ASSOCIATED)
        return -1;
    int slot = (int) s_token_slot(watch_arg);
    if (slot >= self->mon_cap || self->mons[slot].gen != s_token_gen(watch_arg) ||
        self->mons[slot].state != S_MON_ACTIVE)
        return -1;
    *self_p = self;
    return slot;
}

void node_csta_session_event(void *watch_arg, const uint8_t *apdu, size_t len,
                             const csta_peek_t *keys)
{
    node_csta_session_t *self = NULL;
    int slot = keys ? s_active_slot(watch_arg, &self) : -1;
    if (slot < 0)
        return;
    if (!s_filter_allows(&self->mons[slot].filter, keys->event_category, keys->event_tag))
        return;
    csta_xref_t xref;
    s_xref_of(slot, &xref);
    long id = s_next_out_id(self);
    if (s_push_rewritten(self, keys, apdu, len, &id, &xref) == 0)
        self->events_out++;
}

//  OutOfService / BackInService for one monitor, built here: the PBX cannot say it.
static void s_send_maintenance(node_csta_session_t *self, int slot, csta_event_type_t type)
{
    s_mon_t *m = &self->mons[slot];
    if (!s_filter_allows(&m->filter, CSTA_EV_CATEGORY(type), CSTA_EV_TAG(type)))
        return;
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = s_next_out_id(self);
    a.opcode = CSTA_OP_EVENT_REPORT;
    s_xref_of(slot, &a.event.xref);
    a.event.type = type;
    csta_device_maintenance_t *body =
        type == CSTA_EV_OUT_OF_SERVICE ? &a.event.out_of_service : &a.event.back_in_service;
    body->device = m->device;
    body->cause = CSTA_CAUSE_ABSENT;
    if (s_send(self, &a) == 0)
        self->events_out++;
}

//  Tell the application what holds for one monitor now: in service while the PBX service
//  is up and the device is monitored for it (ECMA-269 deviceMaintenance events: what a PBX
//  sends of a device it loses and gets back).  BackInService goes out only after an
//  OutOfService, once the device is monitored again — locally after the link's re-monitor
//  (its MonitorStart answered), through the owner once the owner has monitored it again
//  (its WatchResult OK) — not when the link comes up: events of a device not yet monitored
//  again would be missing while the application believes it in service.
static void s_mon_service(node_csta_session_t *self, int slot, node_pbx_state_t state)
{
    s_mon_t *m = &self->mons[slot];
    if (m->state != S_MON_ACTIVE)
        return;
    bool in = m->monitored && state == NODE_PBX_UP;
    if (in == !m->told_out)
        return;
    m->told_out = !in;
    s_send_maintenance(self, slot, in ? CSTA_EV_BACK_IN_SERVICE : CSTA_EV_OUT_OF_SERVICE);
}

static node_pbx_state_t s_pbx_state_now(const node_csta_session_t *self)
{
    return self->env->pbx ? node_pbx_state(self->env->pbx) : NODE_PBX_DOWN;
}

void node_csta_session_pbx_state(node_csta_session_t *self, node_pbx_state_t state)
{
    if (self->state != NODE_CSTA_ASSOCIATED || (self->status_sent && self->status_state == state))
        return;
    //  ECMA-269 SystemStatus disabled / normal, then each monitored device out of service
    //  at once; back in service each when it is monitored again (s_mon_service): what an
    //  application sees of a PBX that restarts.  A link that went down took its monitors.
    s_send_system_status(self, state);
    for (int slot = 0; slot < self->mon_cap && self->state == NODE_CSTA_ASSOCIATED; slot++) {
        if (state == NODE_PBX_DOWN)
            self->mons[slot].monitored = false;
        s_mon_service(self, slot, state);
    }
}

void node_csta_session_watch_monitored(void *watch_arg, bool monitored)
{
    node_csta_session_t *self = NULL;
    int slot = s_active_slot(watch_arg, &self);
    if (slot < 0)
        return;
    self->mons[slot].monitored = monitored;
    s_mon_service(self, slot, s_pbx_state_now(self));
}

void node_csta_session_watch_stale(void *watch_arg)
{
    node_csta_session_t *self = NULL;
    int slot = s_active_slot(watch_arg, &self);
    if (slot < 0 || self->mons[slot].told_out || s_pbx_state_now(self) != NODE_PBX_UP)
        return;     //  one out of service gets its BackInService when monitored again
    //  Events of the device were lost between the nodes: what a PBX does around its own
    //  restart, OutOfService then BackInService, so that the application takes a fresh
    //  SnapshotDevice as CSTA applications do on BackInService (ha/README.md "Forwarding").
    char dev[CSTA_DIGITS_MAX + 8];
    s_device_str(&self->mons[slot].device, dev, sizeof dev);
    node_info(S_SUB, "app %" PRIu64 " user=%s: events of %s were lost between the nodes; "
              "OutOfService and BackInService on xref %04x", self->id, s_user(self), dev,
              slot + 1);
    s_send_maintenance(self, slot, CSTA_EV_OUT_OF_SERVICE);
    if (self->state == NODE_CSTA_ASSOCIATED)
        s_send_maintenance(self, slot, CSTA_EV_BACK_IN_SERVICE);
}

void node_csta_session_broadcast(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                                 const csta_peek_t *keys)
{
    if (self->state != NODE_CSTA_ASSOCIATED || !keys || keys->kind != CSTA_APDU_INVOKE)
        return;
    long id = s_next_out_id(self);
    s_push_rewritten(self, keys, apdu, len, &id, NULL);
}

//  --- Dispatch --------------------------------------------------------------------------------

static void s_answer_locally(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                             const csta_peek_t *pk)
{
    csta_apdu_t r;
    switch (pk->opcode) {
    case CSTA_OP_REQUEST_SYSTEM_STATUS:
        csta_apdu_init(&r, CSTA_APDU_RESULT);
        r.invoke_id = pk->invoke_id;
        r.opcode = pk->opcode;
        r.svc.request_system_status_res.status =
            self->env->pbx && node_pbx_state(self->env->pbx) == NODE_PBX_UP ? CSTA_SYS_NORMAL
                                                                           : CSTA_SYS_DISABLED;
        s_send(self, &r);
        break;
    case CSTA_OP_SYSTEM_REGISTER: {
        //  Registered with ctimd: SystemStatus reaches every application anyway.
        csta_apdu_t a;
        if (csta_apdu_decode(&a, apdu, len)) {
            s_send_reject(self, true, pk->invoke_id, CSTA_REJECT_INVOKE,
                          CSTA_REJ_INVOKE_MISTYPED_ARGUMENT);
            csta_apdu_clear(&a);
            break;
        }
        csta_apdu_clear(&a);
        csta_apdu_init(&r, CSTA_APDU_RESULT);
        r.invoke_id = pk->invoke_id;
        r.opcode = pk->opcode;
        uint8_t id[4] = {(uint8_t) (self->id >> 24), (uint8_t) (self->id >> 16),
                         (uint8_t) (self->id >> 8), (uint8_t) self->id};
        csta_xref_set(&r.svc.system_register_res.register_id, id, sizeof id);
        s_send(self, &r);
        break;
    }
    default:        //  SystemStatus (211, Phase II 52), SystemRegisterCancel: noData
        s_send_no_data(self, pk->invoke_id, pk->opcode);
    }
    s_metric_add(self->env->m.requests, s_op_label(pk->opcode), "local", 1);
}

static void s_on_invoke(node_csta_session_t *self, const uint8_t *apdu, size_t len,
                        const csta_peek_t *pk)
{
    node_debug(S_SUB, "app %" PRIu64 ": %s invoke %ld (%zu bytes)", self->id,
               csta_op_name(pk->opcode), pk->invoke_id, len);
    switch (pk->opcode) {
    case CSTA_OP_SYSTEM_STATUS:
    case CSTA_OP_SYSTEM_STATUS_PHASE2:
    case CSTA_OP_REQUEST_SYSTEM_STATUS:
    case CSTA_OP_SYSTEM_REGISTER:
    case CSTA_OP_SYSTEM_REGISTER_CANCEL:
        //  ctimd is the switch towards the application: the link's status is ours to say.
        s_answer_locally(self, apdu, len, pk);
        return;
    case CSTA_OP_EVENT_REPORT:
    case CSTA_OP_SNAPSHOT_DEVICE_DATA:
    case CSTA_OP_SYSTEM_REGISTER_ABORT:
        //  Operations that never get an answer, and make no sense towards the switch.
        node_info(S_SUB, "app %" PRIu64 ": %s from the application ignored", self->id,
                  csta_op_name(pk->opcode));
        return;
    case CSTA_OP_MONITOR_START:
        s_monitor_start(self, apdu, len, pk);
        return;
    case CSTA_OP_CHANGE_MONITOR_FILTER:
        s_change_monitor_filter(self, apdu, len, pk);
        return;
    case CSTA_OP_MONITOR_STOP:
        s_monitor_stop(self, pk);
        return;
    }
    if (!s_permitted(self, apdu, len, pk))
        return;
    if (pk->opcode == CSTA_OP_START_CDR)
        s_start_cdr(self, apdu, len, pk);
    else if (pk->opcode == CSTA_OP_STOP_CDR)
        s_stop_cdr(self, apdu, len, pk);
    else
        s_forward(self, apdu, len, pk);     //  unknown operations too: the PBX answers them
}

static void s_on_apdu(node_csta_session_t *self, const uint8_t *apdu, size_t len)
{
    if (self->state == NODE_CSTA_AWAIT_AARQ) {
        s_on_aarq(self, apdu, len);
        return;
    }
    csta_peek_t pk;
    int rc = csta_peek(&pk, apdu, len);
    if (rc) {
        //  Well framed but not a well-formed APDU: a ROSE Reject, and the session goes on.
        node_warning(S_SUB,
                     "app %" PRIu64 " %s user=%s: malformed APDU of %zu bytes (%s), rejected",
                     self->id, self->peer, s_user(self), len, strerror(-rc));
        s_metric_add(self->env->m.bad_input, "malformed", NULL, 1);
        s_send_reject(self, false, 0, CSTA_REJECT_GENERAL, CSTA_REJ_GENERAL_BADLY_STRUCTURED_PDU);
        return;
    }
    switch (pk.kind) {
    case CSTA_APDU_INVOKE:
        s_on_invoke(self, apdu, len, &pk);
        return;
    case CSTA_APDU_RESULT:
    case CSTA_APDU_ERROR:
    case CSTA_APDU_REJECT:
        //  Answers to our invokes (SystemStatus, events, CDR reports): nothing waits for them.
        node_debug(S_SUB, "app %" PRIu64 ": %s for invoke %ld", self->id,
                   csta_apdu_kind_str(pk.kind), pk.invoke_id);
        return;
    case CSTA_APDU_RLRQ: {
        csta_apdu_t r;
        csta_apdu_init(&r, CSTA_APDU_RLRE);
        r.acse.has_reason = true;
        s_send(self, &r);
        s_linger_close(self, "released");
        return;
    }
    case CSTA_APDU_ABRT:
        s_close(self, "aborted", true);
        return;
    default:
        node_warning(S_SUB, "app %" PRIu64 " %s: unexpected %s ignored", self->id, self->peer,
                     csta_apdu_kind_str(pk.kind));
        s_metric_add(self->env->m.bad_input, "unexpected", NULL, 1);
        return;
    }
}

//  --- Life cycle --------------------------------------------------------------------------------

node_csta_session_t *node_csta_session_new(node_csta_env_t *env, int fd, SSL *ssl,
                                           const char *peer, const char *peer_ip)
{
    node_csta_session_t *self = calloc(1, sizeof *self);
    if (!self) {
        close(fd);
        SSL_free(ssl);
        return NULL;
    }
    self->env = env;
    self->id = s_next_id++;
    self->fd = fd;
    self->ssl = ssl;
    self->state = ssl ? NODE_CSTA_HANDSHAKE : NODE_CSTA_AWAIT_AARQ;
    self->user_index = -1;
    self->next_invoke_id = 1;
    self->req_free = self->mon_free = -1;
    self->connected_at = time(NULL);
    self->connected_ms = zclock_mono();
    snprintf(self->peer, sizeof self->peer, "%s", peer ? peer : "?");
    snprintf(self->peer_ip, sizeof self->peer_ip, "%s", peer_ip ? peer_ip : "");
    int max = env->cfg->app_queue_max_bytes;
    self->framer = csta_framer_new(CSTA_FRAMING_LEN16, 0);
    self->outq = csta_outq_new(CSTA_FRAMING_LEN16, max > 0 ? (size_t) max : 0);
    if (!self->framer || !self->outq || s_registry_add(self)) {
        csta_framer_destroy(&self->framer);
        csta_outq_destroy(&self->outq);
        close(fd);
        SSL_free(ssl);
        free(self);
        return NULL;
    }
    s_metric_add(env->m.connections, s_transport(self), NULL, 1);
    s_metric_add(env->m.apps, s_transport(self), NULL, 1);
    node_notice(S_SUB, "app %" PRIu64 " connected from %s (%s)", self->id, self->peer,
                s_transport(self));
    s_set_timer(self, NODE_CSTA_ASSOCIATE_TIMEOUT_MS);
    s_poll_update(self);
    return self;
}

static void s_report_counters(node_csta_session_t *self)
{
    const node_csta_metrics_t *m = &self->env->m;
    s_metric_add(m->messages, "in", NULL, (double) (self->msgs_in - self->reported_msgs_in));
    s_metric_add(m->messages, "out", NULL, (double) (self->msgs_out - self->reported_msgs_out));
    s_metric_add(m->bytes, "in", NULL, (double) (self->bytes_in - self->reported_bytes_in));
    s_metric_add(m->bytes, "out", NULL, (double) (self->bytes_out - self->reported_bytes_out));
    s_metric_add(m->events, NULL, NULL, (double) (self->events_out - self->reported_events));
    self->reported_msgs_in = self->msgs_in;
    self->reported_msgs_out = self->msgs_out;
    self->reported_bytes_in = self->bytes_in;
    self->reported_bytes_out = self->bytes_out;
    self->reported_events = self->events_out;
}

void node_csta_session_flush(node_csta_session_t *self)
{
    self->service_scheduled = false;
    if (self->state == NODE_CSTA_CLOSED)
        return;
    if (self->mon_failed) {
        self->mon_failed = false;
        for (int slot = 0; slot < self->mon_cap; slot++)
            if (self->mons[slot].state == S_MON_FAILED)
                s_mon_release(self, slot);
    }
    if (csta_outq_size(self->outq) && !self->write_blocked)
        s_write(self);
    if (self->state != NODE_CSTA_CLOSED && self->read_again && !self->login) {
        self->read_again = false;
        s_read_input(self);
        if (self->state != NODE_CSTA_CLOSED)
            s_poll_update(self);
    }
    s_report_counters(self);
}

void node_csta_session_users_changed(node_csta_session_t *self)
{
    if (self->state == NODE_CSTA_CLOSED || self->user_index < 0)
        return;
    int index = self->env->users ? node_users_find(self->env->users, self->user) : -1;
    if (index < 0) {
        node_notice(S_SUB, "app %" PRIu64 " %s: user %s is no longer configured, disconnecting",
                    self->id, self->peer, s_user(self));
        s_close(self, "user-removed", true);
        return;
    }
    self->user_index = index;
    csta_device_t nothing = {.kind = CSTA_DEV_ABSENT};
    self->restricted = !node_users_may_use(self->env->users, index, &nothing);
}

void node_csta_session_destroy(node_csta_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_csta_session_t *self = *self_p;
    s_close(self, "shutdown", false);
    s_report_counters(self);
    for (int slot = 0; slot < self->mon_cap; slot++)
        if (self->mons[slot].state != S_MON_FREE)
            s_mon_release(self, slot);
    s_cdr_abandon(self);
    SSL_free(self->ssl);
    csta_framer_destroy(&self->framer);
    csta_outq_destroy(&self->outq);
    free(self->reqs);
    free(self->mons);
    free(self);
    *self_p = NULL;
}

//  --- /status ------------------------------------------------------------------------------------

static void s_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void node_csta_session_status_json(const node_csta_session_t *self, FILE *out)
{
    char when[32];
    struct tm tm;
    gmtime_r(&self->connected_at, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, "{\"id\":%" PRIu64 ",\"address\":", self->id);
    s_json_str(out, self->peer);
    fprintf(out, ",\"transport\":\"%s\",\"user\":", s_transport(self));
    s_json_str(out, self->user);
    fprintf(out, ",\"state\":\"%s\",\"connected_at\":\"%s\",\"messages_in\":%" PRIu64
                 ",\"messages_out\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
                 ",\"events_out\":%" PRIu64 ",\"queue_bytes\":%zu,\"requests_pending\":%d,"
                 "\"cdr_owner\":%s,\"monitors\":[",
            node_csta_state_str(self->state), when, self->msgs_in, self->msgs_out, self->bytes_in,
            self->bytes_out, self->events_out, self->outq ? csta_outq_size(self->outq) : 0,
            self->req_count, self->cdr_owner ? "true" : "false");
    bool first = true;
    for (int slot = 0; slot < self->mon_cap; slot++) {
        const s_mon_t *m = &self->mons[slot];
        if (m->state == S_MON_FREE)
            continue;
        char dev[CSTA_DIGITS_MAX + 8];
        s_device_str(&m->device, dev, sizeof dev);
        fprintf(out, "%s{\"xref\":\"%04x\",\"device\":", first ? "" : ",", slot + 1);
        s_json_str(out, dev);
        fprintf(out, ",\"state\":\"%s\"}",
                m->state == S_MON_ACTIVE    ? "active"
                : m->state == S_MON_PENDING ? "pending"
                                            : "failed");
        first = false;
    }
    fputs("]}", out);
}
