//  test_client: a raw client-protocol DEALER for integration tests (test_client.h).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "test_client.h"
#include "test_proc.h"

#define S_EVENTS_MAX 4096

struct test_client {
    zsock_t *sock;
    uint32_t next_rid;
    uint32_t heartbeat_ms;
    long long last_tx_ms;
    uint64_t last_seq;
    size_t anomalies;
    proto_event_t *ev;              //  queued events, oldest first
    size_t ev_count;
    uint8_t buf[PROTO_FRAME_MAX];
};

test_client_t *test_client_new(int port)
{
    test_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ev = calloc(S_EVENTS_MAX, sizeof *self->ev);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    self->sock = self->ev ? zsock_new_dealer(ep) : NULL;
    if (!self->sock) {
        free(self->ev);
        free(self);
        return NULL;
    }
    zsock_set_linger(self->sock, 0);
    self->next_rid = 1;
    self->heartbeat_ms = 1000;
    return self;
}

void test_client_destroy(test_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->sock);
    free((*self_p)->ev);
    free(*self_p);
    *self_p = NULL;
}

uint32_t test_client_heartbeat_ms(const test_client_t *self)
{
    return self->heartbeat_ms;
}

size_t test_client_queued(const test_client_t *self)
{
    return self->ev_count;
}

size_t test_client_anomalies(const test_client_t *self)
{
    return self->anomalies;
}

int test_client_send_raw(test_client_t *self, const void *data, size_t len)
{
    zframe_t *f = zframe_new(data, len);
    if (!f || zframe_send(&f, self->sock, 0) != 0) {
        zframe_destroy(&f);
        return -1;
    }
    self->last_tx_ms = test_now_ms();
    return 0;
}

static int s_send(test_client_t *self, const proto_client_msg_t *m)
{
    size_t n = 0;
    if (proto_client_encode(m, self->buf, sizeof self->buf, &n) != 0)
        return -1;
    return test_client_send_raw(self, self->buf, n);
}

//  Read one frame (waiting until deadline), heartbeating while waiting.  Events go to the
//  queue and count as read (returns 0 with out->kind EVENT).  -ETIMEDOUT at the deadline.
static int s_read(test_client_t *self, proto_client_msg_t *out, long long deadline)
{
    for (;;) {
        long long now = test_now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        long long hb_due = self->last_tx_ms + self->heartbeat_ms / 2;
        if (now >= hb_due) {
            proto_client_msg_t hb;
            proto_client_msg_init(&hb, PROTO_MSG_HEARTBEAT);
            hb.heartbeat.last_seq_acked = self->last_seq;
            s_send(self, &hb);
            hb_due = now + self->heartbeat_ms / 2;
        }
        long long until = deadline < hb_due ? deadline : hb_due;
        zpoller_t *p = zpoller_new(self->sock, NULL);
        void *which = p ? zpoller_wait(p, (int) (until - now > 0 ? until - now : 0)) : NULL;
        zpoller_destroy(&p);
        if (!which)
            continue;
        zframe_t *f = zframe_recv(self->sock);
        if (!f)
            continue;
        int rc = proto_client_decode(out, zframe_data(f), zframe_size(f));
        zframe_destroy(&f);
        if (rc) {
            fprintf(stderr, "test_client: a frame does not decode: %s\n", strerror(-rc));
            self->anomalies++;
            continue;
        }
        if (out->kind == PROTO_MSG_HEARTBEAT)
            continue;
        if (out->kind == PROTO_MSG_EVENT) {
            if (out->event.seq != self->last_seq + 1) {
                fprintf(stderr, "test_client: event seq %llu after %llu\n",
                        (unsigned long long) out->event.seq, (unsigned long long) self->last_seq);
                self->anomalies++;
            }
            self->last_seq = out->event.seq;
            if (self->ev_count < S_EVENTS_MAX)
                self->ev[self->ev_count++] = out->event;
            else
                self->anomalies++;
        }
        return 0;
    }
}

int test_client_login(test_client_t *self, const char *user, const char *password,
                      uint32_t heartbeat_ms, int timeout_ms)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HELLO);
    snprintf(m.hello.user, sizeof m.hello.user, "%s", user);
    snprintf(m.hello.password, sizeof m.hello.password, "%s", password);
    m.hello.heartbeat_ms = heartbeat_ms;
    snprintf(m.hello.client, sizeof m.hello.client, "test_client");
    if (s_send(self, &m) != 0)
        return -EIO;
    self->last_seq = 0;
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        if (s_read(self, &m, deadline) != 0)
            return -ETIMEDOUT;
        if (m.kind == PROTO_MSG_WELCOME) {
            self->heartbeat_ms = m.welcome.heartbeat_ms;
            return 0;
        }
        if (m.kind == PROTO_MSG_ERROR)
            return (int) m.error.result;
        proto_client_msg_clear(&m);
    }
}

uint32_t test_client_send(test_client_t *self, proto_request_t *rq)
{
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_REQUEST);
    rq->request_id = self->next_rid++;
    m.request = *rq;
    return s_send(self, &m) == 0 ? rq->request_id : 0;
}

int test_client_wait_reply(test_client_t *self, uint32_t request_id, proto_client_msg_t *reply,
                           int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        if (s_read(self, reply, deadline) != 0)
            return -ETIMEDOUT;
        if (reply->kind == PROTO_MSG_REPLY && reply->reply.request_id == request_id)
            return 0;
        if (reply->kind == PROTO_MSG_REPLY || reply->kind == PROTO_MSG_ERROR)
            fprintf(stderr, "test_client: %s (request %u, %s) while waiting for reply %u\n",
                    proto_msg_kind_str(reply->kind), reply->reply.request_id,
                    reply->kind == PROTO_MSG_ERROR ? reply->error.text : reply->reply.text,
                    request_id);
        proto_client_msg_clear(reply);
    }
}

int test_client_call(test_client_t *self, proto_request_t *rq, proto_client_msg_t *reply,
                     int timeout_ms)
{
    proto_client_msg_t local;
    proto_client_msg_t *m = reply ? reply : &local;
    uint32_t id = test_client_send(self, rq);
    if (!id)
        return -EIO;
    int rc = test_client_wait_reply(self, id, m, timeout_ms);
    if (rc)
        return rc;
    int result = (int) m->reply.result;
    if (!reply)
        proto_client_msg_clear(&local);
    return result;
}

int test_client_next_other(test_client_t *self, proto_client_msg_t *out, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        if (s_read(self, out, deadline) != 0)
            return -ETIMEDOUT;
        if (out->kind != PROTO_MSG_EVENT && out->kind != PROTO_MSG_REPLY)
            return 0;
        proto_client_msg_clear(out);
    }
}

//  Take the first queued event at line of kind (NONE: any) off the queue.
static bool s_take(test_client_t *self, const char *line, proto_event_kind_t kind,
                   proto_event_t *out)
{
    for (size_t i = 0; i < self->ev_count; i++) {
        const proto_event_t *e = &self->ev[i];
        if ((line && strcmp(e->line, line) != 0) || (kind != PROTO_EVENT_NONE && e->kind != kind))
            continue;
        *out = *e;
        memmove(&self->ev[i], &self->ev[i + 1], (self->ev_count - i - 1) * sizeof *self->ev);
        self->ev_count--;
        return true;
    }
    return false;
}

int test_client_next_kind(test_client_t *self, const char *line, proto_event_kind_t kind,
                          proto_event_t *out, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        if (s_take(self, line, kind, out))
            return 0;
        proto_client_msg_t m;
        if (s_read(self, &m, deadline) != 0)
            return -ETIMEDOUT;
        if (m.kind == PROTO_MSG_REPLY || m.kind == PROTO_MSG_ERROR)
            fprintf(stderr, "test_client: unexpected %s while waiting for an event\n",
                    proto_msg_kind_str(m.kind));
        proto_client_msg_clear(&m);
    }
}

int test_client_next_event(test_client_t *self, const char *line, proto_event_t *out,
                           int timeout_ms)
{
    return test_client_next_kind(self, line, PROTO_EVENT_NONE, out, timeout_ms);
}

int test_client_next_call(test_client_t *self, const char *line, proto_event_t *out,
                          int timeout_ms)
{
    return test_client_next_kind(self, line, PROTO_EVENT_CALL, out, timeout_ms);
}

void test_client_drain(test_client_t *self, int wait_ms)
{
    long long deadline = test_now_ms() + wait_ms;
    proto_client_msg_t m;
    while (s_read(self, &m, deadline) == 0)
        proto_client_msg_clear(&m);
    self->ev_count = 0;
}
