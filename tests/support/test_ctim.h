//  test_ctim: what libctim integration tests share — ctimd nodes on a running pbxsim, and an
//  application harness that drives libctim like an application does (poll on ctim_fd with
//  ctim_timeout_ms, then ctim_dispatch) and records what its callbacks saw.
//
//      test_node_t a;
//      test_node_start(&a, dir, "a", sim.port, NULL, true);    //  waits for its PBX link
//      test_app_t app;
//      test_app_connect(&app, "tcp://127.0.0.1:PORT", 300);   //  user crm, logged in
//      test_ctim_reply_t r;
//      test_app_reply(&app, ctim_open_line(app.ctim, "101", NULL), &r);
//      test_ctim_event_t e;
//      test_app_expect(&app, "101", CTIM_CALL_RINGBACK, &e);
//      test_app_destroy(&app);
//      test_node_stop(&a);
//
//  Every wait has a deadline (TEST_CTIM_WAIT_MS unless given) and returns false when it
//  passes, with the reason on stderr; the test asserts.  Nothing here asserts.
#ifndef TEST_CTIM_H
#define TEST_CTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "ctim.h"
#include "test_proc.h"

#define TEST_CTIM_WAIT_MS 10000
#define TEST_CTIM_USER "crm"
#define TEST_CTIM_PASSWORD "crm-secret"
//  TEST_CTIM_PASSWORD's hash (as in deploy/config/ctimd.yaml).
#define TEST_CTIM_HASH                                                                           \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

//  --- Nodes ------------------------------------------------------------------------------------

//  A fresh folder /tmp/ctim-NAME-XXXXXX for a test group's configs and state, into dir
//  (at least 64 bytes).  Returns 0 or -1.  test_ctim_dir_remove removes it and all inside.
int test_ctim_dir_make(char *dir, size_t cap, const char *name);
int test_ctim_dir_remove(const char *dir);

typedef struct {
    test_proc_t proc;               //  pid -1 while not running
    int client_port, http_port, csta_port;
    char config[160];
} test_node_t;

//  Write DIR/ID.yaml (node ID; the PBX at 127.0.0.1:pbx_port with a 100..400 ms back-off;
//  client API, CSTA TCP and HTTP on free loopback ports; user crm with devices 101-120;
//  extra_yaml, if any, appended as top-level keys) and start ctimd (path CTIM_CTIMD given
//  by the build) with it.  wait_link: also wait until /readyz says the PBX link is up.
//  Returns 0 or -1.  A port taken meanwhile is retried with others.
int test_node_start(test_node_t *node, const char *dir, const char *id, int pbx_port,
                    const char *extra_yaml, bool wait_link);
//  Start again with the same config and ports (after a kill).  Returns 0 or -1.
int test_node_restart(test_node_t *node, bool wait_link);
//  Wait until /readyz answers 200 (the PBX link is up).  Returns 0 or -1.
int test_node_wait_link(test_node_t *node, int timeout_ms);
//  SIGTERM (then SIGKILL) / SIGKILL at once.  Safe on a stopped node.
void test_node_stop(test_node_t *node);
void test_node_kill(test_node_t *node);
//  "tcp://127.0.0.1:PORT" of the node's client API into out.
void test_node_endpoint(const test_node_t *node, char *out, size_t cap);

//  --- The application --------------------------------------------------------------------------

#define TEST_APP_EVENTS_MAX 256
#define TEST_APP_REPLIES_MAX 64
#define TEST_APP_LINES_MAX 16

typedef struct {
    char line[32];
    char call_id[64];
    ctim_call_state_t state;
    ctim_direction_t direction;
    char caller[32], caller_name[64];
    char called[32], called_name[64];
    char cause[64];
    bool snapshot;
} test_ctim_event_t;

typedef struct {
    int request_id;
    ctim_result_t result;
    char text[256];
    char call_id[64];
} test_ctim_reply_t;

typedef struct {
    char line[32];
    bool in_service;
    long long changed_at_ms;        //  monotonic (test_now_ms) of the last change
    int changes;
} test_app_line_t;

typedef struct {
    ctim_t *ctim;
    test_ctim_event_t ev[TEST_APP_EVENTS_MAX];
    size_t ev_count;
    test_ctim_reply_t rep[TEST_APP_REPLIES_MAX];
    size_t rep_count;
    test_app_line_t lines[TEST_APP_LINES_MAX];
    size_t line_count;
    int link_ups, link_downs, login_failures;
    long long link_down_at_ms, link_up_at_ms;
    unsigned long long events_lost;     //  on_events_lost: the counts summed
    int events_lost_calls;
    bool overflow;                  //  a queue was full: the test lost track (it fails)
} test_app_t;

//  ctim_new with servers, user crm, the given heartbeat and a 200 ms back-off, callbacks
//  into app, then ctim_connect and wait until logged in.  Returns 0 or -1.
int test_app_connect(test_app_t *app, const char *servers, int heartbeat_ms);
//  As test_app_connect, with cfg's fields (servers, user ...) as given; callbacks and arg
//  are set here.  wait_up false: return right after ctim_connect.
int test_app_connect_cfg(test_app_t *app, ctim_cfg_t *cfg, bool wait_up);
void test_app_destroy(test_app_t *app);

//  One turn of the application loop: poll until the library's timeout, deadline (monotonic
//  ms) or 50 ms, whichever is first; then ctim_dispatch.
void test_app_turn(test_app_t *app, long long deadline_ms);
//  Run the loop until request id is answered; its reply, consumed.  false: id <= 0 or no
//  reply in time.
bool test_app_reply(test_app_t *app, int id, test_ctim_reply_t *out);
//  The next call event at line, consumed (events of other lines stay queued).
bool test_app_next(test_app_t *app, const char *line, test_ctim_event_t *out);
//  The next call event at line must be in state; false (and why on stderr) otherwise.
bool test_app_expect(test_app_t *app, const char *line, ctim_call_state_t state,
                     test_ctim_event_t *out);
//  Skip events at line until one in state (others consumed); false if none in time.
bool test_app_skip_to(test_app_t *app, const char *line, ctim_call_state_t state,
                      test_ctim_event_t *out);
//  Run the loop until line is (out of) service; deadline is monotonic ms.
bool test_app_wait_service(test_app_t *app, const char *line, bool in_service,
                           long long deadline_ms);
//  The line's record (created on its first service change), or NULL.
const test_app_line_t *test_app_line(const test_app_t *app, const char *line);

#endif
