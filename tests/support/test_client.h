//  test_client: a raw client-protocol application for integration tests — a ZeroMQ DEALER
//  speaking proto.h to ctimd's client API (no libctim): log in, send requests, wait for the
//  reply of one request with a deadline, and collect the events that arrive meanwhile.
//
//      test_client_t *c = test_client_new(port);
//      assert_int_equal(test_client_login(c, "crm", "crm-secret", 10000, 5000), 0);
//      proto_request_t rq = {.op = PROTO_OP_OPEN_LINE};  ... line ...
//      assert_int_equal(test_client_call(c, &rq, NULL, 5000), PROTO_RESULT_OK);
//      proto_event_t e;
//      assert_int_equal(test_client_next_call(c, "101", &e, 5000), 0);
//      test_client_destroy(&c);
//
//  Every wait has a deadline; while waiting the client heartbeats at half the negotiated
//  interval, so a long wait does not get the session declared failed.  Events are checked
//  for per-session order (sequence numbers rise) as they arrive.
#ifndef TEST_CLIENT_H
#define TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct test_client test_client_t;

//  A DEALER connected to tcp://127.0.0.1:port (connecting is asynchronous).  NULL on error.
test_client_t *test_client_new(int port);
void test_client_destroy(test_client_t **self_p);

//  Hello, then wait for Welcome.  Returns 0, the Error's Result (> 0) when the node refused,
//  or -ETIMEDOUT.
int test_client_login(test_client_t *self, const char *user, const char *password,
                      uint32_t heartbeat_ms, int timeout_ms);
//  The negotiated heartbeat (ms) after a login.
uint32_t test_client_heartbeat_ms(const test_client_t *self);

//  Send an encoded frame as it is (garbage, other versions).  Returns 0 or -1.
int test_client_send_raw(test_client_t *self, const void *data, size_t len);
//  Send rq with the next request id (set in rq->request_id, returned).  0 on error.
uint32_t test_client_send(test_client_t *self, proto_request_t *rq);
//  Wait for the Reply to request_id; events meanwhile are queued, other frames (heartbeats)
//  skipped.  Returns 0 with *reply filled (the caller clears it with proto_client_msg_clear),
//  or -ETIMEDOUT.
int test_client_wait_reply(test_client_t *self, uint32_t request_id, proto_client_msg_t *reply,
                           int timeout_ms);
//  Send and wait: the reply's Result, or -ETIMEDOUT.  reply may be NULL.
int test_client_call(test_client_t *self, proto_request_t *rq, proto_client_msg_t *reply,
                     int timeout_ms);
//  The next frame that is not a Heartbeat, Reply or Event (an Error...).  Returns 0 or
//  -ETIMEDOUT.
int test_client_next_other(test_client_t *self, proto_client_msg_t *out, int timeout_ms);

//  The next queued or arriving event at line (any kind), taken off the queue; events of
//  other lines stay queued.  line NULL: any line.  Returns 0 or -ETIMEDOUT.
int test_client_next_event(test_client_t *self, const char *line, proto_event_t *out,
                           int timeout_ms);
//  The same for call events only (other kinds at the line stay queued).
int test_client_next_call(test_client_t *self, const char *line, proto_event_t *out,
                          int timeout_ms);
//  The same for events of one kind.
int test_client_next_kind(test_client_t *self, const char *line, proto_event_kind_t kind,
                          proto_event_t *out, int timeout_ms);
//  Read what has arrived within wait_ms and forget every queued event.
void test_client_drain(test_client_t *self, int wait_ms);
//  Events queued now.
size_t test_client_queued(const test_client_t *self);
//  Frames that did not decode and events whose sequence did not rise by one: 0 when the
//  node kept the protocol.
size_t test_client_anomalies(const test_client_t *self);

#endif
