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
#include <sys/types.h>

#include "ctim.h"
#include "test_pbxsim.h"
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
//  As test_node_start; client_yaml (NULL: none) is more keys under client_api, indented by
//  two spaces ("  curve_cert: /tmp/x/server.cert_secret\n").
int test_node_start_client(test_node_t *node, const char *dir, const char *id, int pbx_port,
                           const char *client_yaml, const char *extra_yaml, bool wait_link);
//  What test_node_start_cfg writes beyond the fixed keys; NULL fields: none, and users_yaml
//  NULL: TEST_CTIM_USERS_YAML.
typedef struct {
    const char *client_yaml;        //  more keys under client_api, as test_node_start_client
    const char *users_yaml;         //  the items of the users list, indented by two spaces
    const char *extra_yaml;         //  top-level keys appended
} test_node_cfg_t;
//  The default users list: crm with devices 101-120.
#define TEST_CTIM_USERS_YAML                                                                     \
    "  - name: " TEST_CTIM_USER "\n    password_hash: \"" TEST_CTIM_HASH "\"\n"                \
    "    devices: [\"101-120\"]\n"
//  As test_node_start, with the keys in cfg.
int test_node_start_cfg(test_node_t *node, const char *dir, const char *id, int pbx_port,
                        const test_node_cfg_t *cfg, bool wait_link);
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
    long long out_at_ms;            //  of the last change to out of service (0: none yet)
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
    int cdr_count;                  //  on_cdr: records got, and the last one's fields
    char cdr_call_id[64], cdr_caller[32], cdr_called[32];
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
//  Run the loop until line has been reported out of service at or after since_ms (it may
//  be back in service already: a takeover can be over within the turn that saw the loss,
//  where test_app_wait_service(false) would miss it).
bool test_app_wait_went_out(test_app_t *app, const char *line, long long since_ms,
                            long long deadline_ms);
//  The line's record (created on its first service change), or NULL.
const test_app_line_t *test_app_line(const test_app_t *app, const char *line);

//  --- The ctim tool as a child process --------------------------------------------------------
//  The command-line tool (client-tsp-shim/tools) run as a user runs it, its stdout and stderr
//  captured:
//
//      test_tool_env_t env;
//      test_tool_env(&env, CTIM_TOOL, dir, &node);      //  --servers, --user, --password-file
//      test_tool_t *mon = test_tool_start(&env, "monitor", "101", NULL);
//      test_tool_expect(mon, NULL, 0, " 101 in-service", NULL);
//      test_tool_t *p = test_tool_run(&env, "call", "101", "102", NULL);
//      ... test_tool_exit(p) == 0, p->out ...
//      test_tool_free(&p);
//      test_tool_signal(mon, SIGTERM) == 0;

#define TEST_TOOL_OUT_MAX (1 << 16)
#define TEST_TOOL_ARGS_MAX 32

typedef struct {
    pid_t pid;                      //  -1 once reaped
    int out_fd, err_fd;             //  -1 at EOF
    char out[TEST_TOOL_OUT_MAX], err[TEST_TOOL_OUT_MAX];
    size_t out_len, err_len;
    size_t seen;                    //  test_tool_expect searches stdout from here
    int status;                     //  waitpid's once ended, else -1
    long long started_at_ms, elapsed_ms;
} test_tool_t;

//  What every run shares: the program, and the options put before the test's own.  The
//  tool takes the last of a repeated option, so a test overrides one by giving it again.
typedef struct {
    const char *path;               //  the ctim program (CTIM_TOOL, given by the build)
    char servers[64];               //  --servers
    char password_file[192];        //  --password-file (TEST_CTIM_PASSWORD)
} test_tool_env_t;

//  Fill env for node's client API, user crm, and write DIR/password.  Returns 0 or -1.
int test_tool_env(test_tool_env_t *env, const char *path, const char *dir,
                  const test_node_t *node);
//  Start the tool with env's options, then the NULL-terminated arguments; no CTIM_* from
//  the test's environment.  Returns the child (free it with test_tool_free), NULL if it
//  could not start.
test_tool_t *test_tool_start(const test_tool_env_t *env, const char *first, ...)
    __attribute__((sentinel));
//  As test_tool_start, then wait for its end (TEST_CTIM_WAIT_MS) and log what it did on
//  stderr.  NULL if it did not start or end in time (then it is killed).
test_tool_t *test_tool_run(const test_tool_env_t *env, const char *first, ...)
    __attribute__((sentinel));
//  Read what the child wrote, waiting at most until deadline (monotonic ms).  false once
//  both its stdout and stderr are at EOF.
bool test_tool_read(test_tool_t *tool, long long deadline_ms);
//  Wait for the child's end, its output all read.  Returns 0, or -1 (killed at deadline).
int test_tool_wait(test_tool_t *tool, long long deadline_ms);
//  Its exit code; -1 while running or when a signal ended it.
int test_tool_exit(const test_tool_t *tool);
//  The next stdout line (from tool->seen on) holding every string of the NULL-terminated
//  list, within TEST_CTIM_WAIT_MS; copied into line (may be NULL).  false (and what was
//  seen on stderr) otherwise.
bool test_tool_expect(test_tool_t *tool, char *line, size_t cap, const char *first, ...)
    __attribute__((sentinel));
//  Send sig and wait for the end (TEST_CTIM_WAIT_MS).  Returns its exit code, or -1.
int test_tool_signal(test_tool_t *tool, int sig);
//  SIGKILL it if it runs, close and free; safe on NULL and twice; sets *tool_p to NULL.
void test_tool_free(test_tool_t **tool_p);
//  The text after key in line, up to a character of stop (or the end), into out.  false
//  when key is absent or the value is empty or does not fit.
bool test_tool_value(const char *line, const char *key, const char *stop, char *out,
                     size_t cap);

//  A temporary folder /tmp/ctim-NAME-XXXXXX into dir (cap >= 32 + strlen(name)).  Returns 0
//  or -1 (dir empty).
int test_dir_make(char *dir, size_t cap, const char *name);
//  Remove it with what it holds; safe on an empty dir, which it leaves empty.
void test_dir_remove(char *dir);

//  A world for the tool's tests: a temporary folder, pbxsim, one ctimd on it (its PBX link
//  up) and the tool's env; background children (a monitor) are killed when it stops.
#define TEST_TOOL_BG_MAX 4

typedef struct {
    char dir[64];
    test_pbxsim_t sim;
    bool sim_running;
    test_node_t node;
    test_tool_env_t env;
    test_tool_t *bg[TEST_TOOL_BG_MAX];
} test_tool_world_t;

//  mkdtemp, pbxsim with sim_args (NULL-terminated; NULL = none), test_node_start_client
//  with client_yaml and extra_yaml (node id "tool"), test_tool_env with the program tool.
//  Returns 0 or -1 (what was started stays for test_tool_world_stop).
int test_tool_world_start(test_tool_world_t *w, const char *tool, const char *const *sim_args,
                          const char *client_yaml, const char *extra_yaml);
//  Free the background children, stop ctimd and pbxsim, remove the folder.  Safe on a
//  world half started or stopped.
void test_tool_world_stop(test_tool_world_t *w);

#endif
