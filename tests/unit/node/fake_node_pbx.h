//  fake_node_pbx: a test double of the PBX service (node_pbx.h) for the CSTA front end's
//  unit tests.  It records requests and watches; the test answers them, sends events and
//  broadcasts, and moves the link up and down.  Like the real one, it never calls back from
//  inside the call that caused the callback: only when the test says so.
#ifndef FAKE_NODE_PBX_H
#define FAKE_NODE_PBX_H

#include "node_pbx.h"

#define FAKE_PBX_MAX 1100            //  requests and watches kept (the bench has 1000 apps)

typedef struct {
    uint8_t apdu[4096];
    size_t len;
    node_pbx_reply_fn *reply;
    node_pbx_followup_fn *followup;
    void *arg;
    bool answered;
} fake_pbx_request_t;

struct node_pbx_watch {
    csta_device_t device;
    node_pbx_watch_done_fn *done;
    void *arg;
    bool done_called;
    bool confirmed;             //  done(0) was called: events flow
    bool unwatched;
};

struct node_pbx {
    node_pbx_listener_t listener;
    node_pbx_state_t state;
    fake_pbx_request_t request[FAKE_PBX_MAX];
    int requests;
    node_pbx_watch_t watch[FAKE_PBX_MAX];
    int watches;
    void *cdr_owner;
    int cdr_claims, cdr_releases;
    int request_rc;             //  what node_pbx_request returns (0)
};

//  A fake PBX service in state UP (nothing to destroy but free()).
node_pbx_t *fake_pbx_new(const node_pbx_listener_t *listener);
void fake_pbx_destroy(node_pbx_t **self_p);
//  Move the link; the listener hears of it.
void fake_pbx_set_state(node_pbx_t *self, node_pbx_state_t state);
//  Answer request i: status < 0 without bytes, or the PBX's reply APDU.
void fake_pbx_reply(node_pbx_t *self, int i, int status, const uint8_t *apdu, size_t len);
//  A followup invoke (CDR report, segment) for request i.
void fake_pbx_followup(node_pbx_t *self, int i, const uint8_t *apdu, size_t len);
//  Finish watch i: done(status, error APDU).
void fake_pbx_watch_done(node_pbx_t *self, int i, int status, const uint8_t *apdu, size_t len);
//  Watch i is monitored again (true: on_watch_monitored) or no longer (false:
//  on_watch_unmonitored), or its events were lost (fake_pbx_watch_stale: on_watch_stale).
void fake_pbx_watch_monitored(node_pbx_t *self, int i, bool monitored);
void fake_pbx_watch_stale(node_pbx_t *self, int i);
//  An event for every confirmed, live watch of the device with these digits.  Returns how
//  many watches got it.
int fake_pbx_event(node_pbx_t *self, const char *digits, const uint8_t *apdu, size_t len);
//  A broadcast invoke (SystemStatus, SwitchingFunctionDevicesChanged).
void fake_pbx_broadcast(node_pbx_t *self, const uint8_t *apdu, size_t len);
//  Live watches (not unwatched) of a device.
int fake_pbx_live_watches(const node_pbx_t *self, const char *digits);

#endif
