//  ctim_run: runs one parsed ctim command against the servers, on libctim's poll loop.
//
//  One handle, one thread: poll on ctim_fd and the signal fd with ctim_timeout_ms clamped
//  to the wait's deadline, then ctim_dispatch.  Every wait has a deadline (--timeout) but
//  monitor's wait for events, which ends only by a signal or a refused login.
#include "ctim_run.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ctim_calls.h"
#include "ctim_print.h"

//  How long closing the lines may take on the way out (the node answers at once).
#define S_CLOSE_WAIT_MS 1000
#define S_REQS_MAX (CTIM_CMD_LINES_MAX + 8)

//  What the reply of a request prints itself, while its payload is still borrowed.
typedef enum { S_PRINT_NONE, S_PRINT_LINES, S_PRINT_ADDRESS } s_print_t;

typedef struct {
    int id;                         //  0 = free
    bool done;
    s_print_t print;
    ctim_result_t result;
    char text[257];
    char call_id[33];
} s_req_t;

typedef struct {
    const ctim_cmd_t *cmd;
    const char *name;               //  the command's name, for messages
    ctim_t *ctim;
    FILE *out, *err;
    int signal_fd;
    ctim_calls_t *calls;
    bool monitor;                   //  print events
    bool up;
    bool refused;                   //  login refused: the library stopped
    char refused_text[257];
    int signals;                    //  how many SIGINT / SIGTERM arrived
    int signal_no;                  //  the first one's number
    int signals_allowed;            //  a wait is interrupted when signals exceed this
    s_req_t reqs[S_REQS_MAX];
    const char *opened[CTIM_CMD_LINES_MAX];     //  lines to close on the way out
    size_t opened_count;
    bool cdr_claimed;               //  monitor --cdr: given up on the way out
    bool result_printed;            //  --json: a "result" object is out
    char error[512];                //  the last message on err, without "ctim: "
    char call_id[64];               //  the call a command acts on
} s_run_t;

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t s_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

//  Say what went wrong on err ("ctim: ..."), and keep it for --json's result object.
static void s_err(s_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_err(s_run_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    fprintf(r->err, "ctim: %s\n", r->error);
}

//  A command's outcome on out: text, the call id on success; --json, the "result" object.
static void s_result(s_run_t *r, const char *line, ctim_result_t result, const char *text,
                     const char *call_id)
{
    ctim_print_result(r->out, r->cmd->json, r->name, line, result, text, call_id);
    r->result_printed |= r->cmd->json;
}

//  --json: a failure the node did not report (no call to act on, no server, no answer in
//  time) still ends with a "result" object, so that a script reads one on every outcome but
//  a usage error or a signal.  The result names the kind, the text is what err said.
static void s_json_failure(s_run_t *r, int code)
{
    if (!r->cmd->json || r->result_printed || code == CTIM_EXIT_OK)
        return;
    ctim_result_t result = code == CTIM_EXIT_FAILED    ? CTIM_RESULT_ERROR
                           : code == CTIM_EXIT_TIMEOUT ? CTIM_RESULT_TIMEOUT
                           : code == CTIM_EXIT_CONNECT ? (r->refused ? CTIM_RESULT_LOGIN_FAILED
                                                                     : CTIM_RESULT_NOT_LOGGED_IN)
                                                       : 0;
    if (result)
        s_result(r, r->cmd->line_count ? r->cmd->lines[0] : NULL, result, r->error, "");
}

//  --- libctim callbacks ----------------------------------------------------------------------

static s_req_t *s_req_find(s_run_t *r, int id)
{
    for (size_t i = 0; i < S_REQS_MAX; i++)
        if (r->reqs[i].id == id)
            return &r->reqs[i];
    return NULL;
}

static void s_on_reply(ctim_t *ctim, const ctim_reply_t *reply, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    s_req_t *q = s_req_find(r, reply->request_id);
    if (!q || q->done)
        return;
    q->done = true;
    q->result = reply->result;
    s_copy(q->text, sizeof q->text, reply->text);
    s_copy(q->call_id, sizeof q->call_id, reply->call_id);
    if (reply->result != CTIM_RESULT_OK)
        return;
    //  The payload is borrowed for this callback only: print it now.
    if (q->print == S_PRINT_LINES) {
        ctim_print_lines(r->out, r->cmd->json, reply->lines, reply->lines ? reply->line_count : 0);
        r->result_printed |= r->cmd->json;
    }
    else if (q->print == S_PRINT_ADDRESS && reply->address)
        ctim_print_address(r->out, r->cmd->json, reply->address);
}

static void s_on_call(ctim_t *ctim, const ctim_call_event_t *ev, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    if (ctim_calls_update(r->calls, ev) != 0)
        s_err(r, "out of memory; call %s at %s not tracked", ev->call_id,
                ev->line);
    if (r->monitor)
        ctim_print_call(r->out, r->cmd->json, s_unix_ms(), ev);
}

static void s_on_line(ctim_t *ctim, const char *line, bool in_service, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    if (r->monitor)
        ctim_print_service(r->out, r->cmd->json, s_unix_ms(), line, in_service);
}

static void s_on_link(ctim_t *ctim, ctim_link_t link, const char *server, const char *text,
                      void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    r->up = link == CTIM_LINK_UP;
    if (link == CTIM_LINK_LOGIN_FAILED) {
        r->refused = true;
        s_copy(r->refused_text, sizeof r->refused_text, text);
    }
    if (r->monitor)
        ctim_print_link(r->out, r->cmd->json, s_unix_ms(), link, server, text);
}

static void s_on_forward(ctim_t *ctim, const char *line, const ctim_forward_t *forward, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    if (r->monitor)
        ctim_print_forward(r->out, r->cmd->json, s_unix_ms(), line, forward);
}

static void s_on_dnd(ctim_t *ctim, const char *line, bool on, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    if (r->monitor)
        ctim_print_dnd(r->out, r->cmd->json, s_unix_ms(), line, on);
}

static void s_on_cdr(ctim_t *ctim, const ctim_cdr_t *cdr, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    if (r->monitor)
        ctim_print_cdr(r->out, r->cmd->json, s_unix_ms(), cdr);
}

static void s_on_events_lost(ctim_t *ctim, uint64_t count, void *arg)
{
    (void)ctim;
    s_run_t *r = arg;
    if (r->monitor)
        ctim_print_events_lost(r->out, r->cmd->json, s_unix_ms(), count);
}

//  --- The loop -------------------------------------------------------------------------------

typedef bool(s_cond_fn)(s_run_t *r, void *arg);

//  Run libctim until cond holds (NULL: never), deadline passes (monotonic ms; 0 = none) or
//  a signal arrives.  Returns 0 (cond), -ETIMEDOUT, -EINTR (signal) or -ENOTCONN (login
//  refused: the library stopped).
static int s_loop(s_run_t *r, int64_t deadline, s_cond_fn *cond, void *arg)
{
    for (;;) {
        if (r->refused)
            return -ENOTCONN;
        if (cond && cond(r, arg))
            return 0;
        if (r->signals > r->signals_allowed)
            return -EINTR;
        int64_t now = s_mono_ms();
        if (deadline && now >= deadline)
            return -ETIMEDOUT;
        //  Ask before every poll: libctim's fd is edge-triggered (ctim.h).
        int wait = ctim_timeout_ms(r->ctim);
        if (deadline && (wait < 0 || wait > deadline - now))
            wait = (int)(deadline - now);
        struct pollfd p[2] = {{.fd = ctim_fd(r->ctim), .events = POLLIN},
                              {.fd = r->signal_fd, .events = POLLIN}};
        if (poll(p, r->signal_fd >= 0 ? 2 : 1, wait) < 0 && errno != EINTR)
            return -errno;
        if (r->signal_fd >= 0 && (p[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(r->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (r->signals++ == 0)
                    r->signal_no = (int)si.ssi_signo;
            }
        }
        if (ctim_dispatch(r->ctim) == -ENOTCONN)
            r->refused = true;
    }
}

static bool s_is_up(s_run_t *r, void *arg)
{
    (void)arg;
    return r->up;
}

//  Request ids waited for together.
typedef struct {
    const int *ids;
    size_t n;
} s_ids_t;

static bool s_all_done(s_run_t *r, void *arg)
{
    const s_ids_t *ids = arg;
    for (size_t i = 0; i < ids->n; i++) {
        const s_req_t *q = s_req_find(r, ids->ids[i]);
        if (q && !q->done)
            return false;
    }
    return true;
}

//  The exit code for a wait that did not reach its condition.
static int s_wait_failed(s_run_t *r, int rc, const char *what)
{
    if (rc == -EINTR)
        return 128 + r->signal_no;
    if (rc == -ENOTCONN) {
        s_err(r, "%s: login refused: %s", r->name, r->refused_text);
        return CTIM_EXIT_CONNECT;
    }
    if (rc == -ETIMEDOUT) {
        s_err(r, "%s: %s within %u ms", r->name, what, r->cmd->timeout_ms);
        return CTIM_EXIT_TIMEOUT;
    }
    s_err(r, "%s: %s", r->name, strerror(-rc));
    return CTIM_EXIT_FAILED;
}

//  --- Requests -------------------------------------------------------------------------------

//  Track request id (a library function's return).  Returns the slot, or NULL with *code
//  set when no request was made.
static s_req_t *s_track(s_run_t *r, int id, s_print_t print, int *code)
{
    if (id < 0) {
        if (id == -ENOSYS)
            s_err(r, "%s: not available in this libctim", r->name);
        else if (id == -EINVAL)
            s_err(r, "%s: an argument the library refuses (too long?)", r->name);
        else
            s_err(r, "%s: %s", r->name, strerror(-id));
        *code = id == -EINVAL ? CTIM_EXIT_USAGE
                : id == -ENOTCONN ? CTIM_EXIT_CONNECT
                                  : CTIM_EXIT_FAILED;
        return NULL;
    }
    for (size_t i = 0; i < S_REQS_MAX; i++) {
        s_req_t *q = &r->reqs[i];
        if (q->id == 0 || q->done) {
            *q = (s_req_t){.id = id, .print = print};
            return q;
        }
    }
    //  More requests in flight than a command ever makes: a bug, but never a hang.
    s_err(r, "%s: too many requests at once", r->name);
    *code = CTIM_EXIT_FAILED;
    return NULL;
}

//  A finished request's outcome: on failure the message on err, the JSON result on out.
static int s_outcome(s_run_t *r, const s_req_t *q, const char *line)
{
    if (q->result == CTIM_RESULT_OK)
        return CTIM_EXIT_OK;
    if (q->result == CTIM_RESULT_TIMEOUT)       //  the library's deadline is --timeout
        s_err(r, "%s%s%s: no result within %u ms", r->name, line ? " " : "",
                line ? line : "", r->cmd->timeout_ms);
    else
        ctim_print_failure(r->err, r->name, line, q->result, q->text);
    if (r->cmd->json)
        s_result(r, line, q->result, q->text, q->call_id);
    return (int)ctim_cmd_exit_for(q->result);
}

//  Make a request (id is the library function's return) and wait for its reply within
//  --timeout.  Returns the exit code; *reply_out (may be NULL) the answered slot.
static int s_request(s_run_t *r, const char *line, int id, s_print_t print,
                     const s_req_t **reply_out)
{
    int code = CTIM_EXIT_OK;
    s_req_t *q = s_track(r, id, print, &code);
    if (!q)
        return code;
    s_ids_t ids = {&q->id, 1};
    int rc = s_loop(r, s_mono_ms() + r->cmd->timeout_ms, s_all_done, &ids);
    if (rc != 0)
        return s_wait_failed(r, rc, "no result");
    if (reply_out)
        *reply_out = q;
    return s_outcome(r, q, line);
}

//  Open lines[0..n) together and wait for every reply; ids[i] is line i's request (0: none
//  made).  Each opened line is closed on the way out.  Returns CTIM_EXIT_OK when every
//  request was answered (refused or not: see s_open_result), else the exit code.
static int s_open_all(s_run_t *r, const char *const *lines, size_t n, int *ids)
{
    memset(ids, 0, n * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        int code = CTIM_EXIT_OK;
        int id = ctim_open_line(r->ctim, lines[i], NULL);
        if (!s_track(r, id, S_PRINT_NONE, &code))
            return code;
        ids[i] = id;
    }
    s_ids_t wait = {ids, n};
    int rc = s_loop(r, s_mono_ms() + r->cmd->timeout_ms, s_all_done, &wait);
    for (size_t i = 0; i < n; i++) {
        const s_req_t *q = s_req_find(r, ids[i]);
        if (q && q->done && q->result == CTIM_RESULT_OK)
            r->opened[r->opened_count++] = lines[i];
    }
    return rc == 0 ? CTIM_EXIT_OK : s_wait_failed(r, rc, "line not opened");
}

//  The outcome of line i's open after s_open_all: CTIM_EXIT_OK, or the failure reported.
static int s_open_result(s_run_t *r, const char *line, int id)
{
    const s_req_t *q = s_req_find(r, id);
    return q && q->result != CTIM_RESULT_OK ? s_outcome(r, q, line) : CTIM_EXIT_OK;
}

//  Open lines[0..n) together; all or nothing: the first refusal names its line.
static int s_open(s_run_t *r, const char *const *lines, size_t n)
{
    int ids[CTIM_CMD_LINES_MAX];
    int code = s_open_all(r, lines, n, ids);
    for (size_t i = 0; code == CTIM_EXIT_OK && i < n; i++)
        code = s_open_result(r, lines[i], ids[i]);
    return code;
}

//  Close what we opened and give up the CDR claim (a session has no logout: this spares the
//  node a PBX monitor, and another application the CDR stream, until it declares us
//  failed two heartbeats later).  Bounded; a second signal cuts it short.
static void s_close(s_run_t *r)
{
    if (r->refused || !r->up)
        return;
    int ids[CTIM_CMD_LINES_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < r->opened_count; i++) {
        int code;
        int id = ctim_close_line(r->ctim, r->opened[i]);
        if (s_track(r, id, S_PRINT_NONE, &code))
            ids[n++] = id;
    }
    r->opened_count = 0;
    if (r->cdr_claimed) {
        int code;
        int id = ctim_set_cdr(r->ctim, false);
        if (s_track(r, id, S_PRINT_NONE, &code))
            ids[n++] = id;
        r->cdr_claimed = false;
    }
    r->signals_allowed = r->signals;
    uint32_t wait = r->cmd->timeout_ms < S_CLOSE_WAIT_MS ? r->cmd->timeout_ms : S_CLOSE_WAIT_MS;
    s_ids_t all = {ids, n};
    s_loop(r, s_mono_ms() + wait, s_all_done, &all);
}

//  --- Finding the call to act on ---------------------------------------------------------------

//  Make a request and wait for its reply within --timeout, printing nothing.  Returns 0
//  with its result in *result, -ETIMEDOUT, -EINTR (a signal), -ENOTCONN (login refused) or
//  -EINVAL (no request made; said on err).
static int s_quiet(s_run_t *r, int id, ctim_result_t *result)
{
    int code;
    s_req_t *q = s_track(r, id, S_PRINT_NONE, &code);
    if (!q)
        return -EINVAL;
    s_ids_t ids = {&q->id, 1};
    int rc = s_loop(r, s_mono_ms() + r->cmd->timeout_ms, s_all_done, &ids);
    if (rc == 0 && q->result == CTIM_RESULT_TIMEOUT)
        rc = -ETIMEDOUT;        //  the library's deadline is --timeout too
    *result = q->result;
    return rc;
}

static const char *s_pick_words[] = {
    [CTIM_PICK_OFFERING] = "offering",
    [CTIM_PICK_ACTIVE] = "active",
    [CTIM_PICK_HELD] = "held",
};

//  The call the command acts on: call_id (NULL: none given), or the line's call that pick
//  selects.  Sets r->call_id.  Returns the exit code.
//
//  The node follows open_line OK with a SnapshotDevice of the line and its calls as snapshot
//  events, with no end marker.  A request that the node sends on to the PBX after that
//  marks the end: an address status (GetForwarding, GetDoNotDisturb) asked now is queued at
//  the PBX behind the snapshot, which the PBX answers first, so its reply comes after every
//  snapshot event -- and libctim runs callbacks in the order the frames came.  Without it a
//  line with two held calls could look like one with one, and a line with none would need
//  a guessed wait.
static int s_resolve(s_run_t *r, const char *line, ctim_pick_t pick, const char *call_id)
{
    if (call_id) {
        s_copy(r->call_id, sizeof r->call_id, call_id);
        return CTIM_EXIT_OK;
    }
    ctim_result_t barrier;
    int rc = s_quiet(r, ctim_get_address_status(r->ctim, line), &barrier);
    if (rc == -ETIMEDOUT) {
        s_err(r, "%s %s: the calls at %s not known within %u ms", r->name,
                r->cmd->lines[0], line, r->cmd->timeout_ms);
        return CTIM_EXIT_TIMEOUT;
    }
    if (rc == -EINVAL)
        return CTIM_EXIT_FAILED;
    if (rc != 0)
        return s_wait_failed(r, rc, "no call");
    const char *id;
    size_t n = ctim_calls_pick(r->calls, line, pick, &id);
    if (n == 0) {
        s_err(r, "%s %s: no %s call at %s", r->name, r->cmd->lines[0],
                s_pick_words[pick], strcmp(line, r->cmd->lines[0]) ? line : "the line");
        return CTIM_EXIT_FAILED;
    }
    if (n > 1 && pick != CTIM_PICK_OFFERING) {
        //  Which of two active calls to clear is not ours to guess; the oldest offering
        //  call is the one a person would answer first.
        char list[256];
        ctim_calls_list(r->calls, line, pick, list, sizeof list);
        s_err(r, "%s %s: %zu %s calls (%s): give CALLID", r->name, line, n,
                s_pick_words[pick], list);
        return CTIM_EXIT_FAILED;
    }
    s_copy(r->call_id, sizeof r->call_id, id);
    return CTIM_EXIT_OK;
}

//  --- Commands -------------------------------------------------------------------------------

//  The request of a command that acts on one call at lines[0], after open and resolve.
static int s_call_request(s_run_t *r)
{
    const ctim_cmd_t *c = r->cmd;
    const char *line = c->lines[0];
    const char *id = r->call_id;
    switch (c->kind) {
    case CTIM_CMD_ANSWER:
        return ctim_answer(r->ctim, line, id);
    case CTIM_CMD_HANGUP:
        return ctim_hang_up(r->ctim, line, id);
    case CTIM_CMD_HOLD:
        return ctim_hold(r->ctim, line, id);
    case CTIM_CMD_RETRIEVE:
        return ctim_retrieve(r->ctim, line, id);
    case CTIM_CMD_TRANSFER:
        return ctim_blind_transfer(r->ctim, line, id, c->number);
    case CTIM_CMD_CONFERENCE:
        return ctim_add_to_conference(r->ctim, line, id, c->number);
    case CTIM_CMD_REDIRECT:
        return ctim_redirect(r->ctim, line, id, c->number);
    case CTIM_CMD_DTMF:
        return ctim_dtmf(r->ctim, line, id, c->digits);
    default:
        return -EINVAL;
    }
}

static ctim_pick_t s_pick_for(ctim_cmd_kind_t kind)
{
    switch (kind) {
    case CTIM_CMD_ANSWER:
    case CTIM_CMD_REDIRECT:
        return CTIM_PICK_OFFERING;
    case CTIM_CMD_RETRIEVE:
        return CTIM_PICK_HELD;
    default:
        return CTIM_PICK_ACTIVE;
    }
}

typedef struct {
    const char *line;
    const char *call_id;            //  NULL: any call but except
    const char *except;
    bool seen;                      //  call_id has had an event at the line
} s_call_arg_t;

//  The consultation call is connected, or failed, or gone after it was seen (ctim_calls
//  reports a call it does not know as idle: before its first event too).
static bool s_consult_settled(s_run_t *r, void *arg)
{
    s_call_arg_t *a = arg;
    ctim_call_state_t s = ctim_calls_state(r->calls, a->line, a->call_id);
    if (s != CTIM_CALL_IDLE)
        a->seen = true;
    return s == CTIM_CALL_CONNECTED || s == CTIM_CALL_BUSY || s == CTIM_CALL_DISCONNECTED ||
           (a->seen && s == CTIM_CALL_IDLE);
}

//  A call other than except is at the line.
static bool s_other_call(s_run_t *r, void *arg)
{
    const s_call_arg_t *a = arg;
    return ctim_calls_newest(r->calls, a->line, a->except) != NULL;
}

//  One step of an undo: the request's result, TIMEOUT or INTERRUPTED when none came.
static void s_undo_step(s_run_t *r, int id, ctim_result_t *result)
{
    int rc = s_quiet(r, id, result);
    if (rc == -ETIMEDOUT)
        *result = CTIM_RESULT_TIMEOUT;
    else if (rc == -EINVAL)
        *result = CTIM_RESULT_ERROR;
    else if (rc != 0)
        *result = CTIM_RESULT_INTERRUPTED;
}

//  A consultation that did not reach a connected party: clear it if it is still there and
//  take the held call back, as a telephone's "cancel transfer" does, so that nobody is left
//  on hold behind a ringing or busy consultation.  Says on err what happened; code is the
//  command's exit code, returned.
static int s_consult_undo(s_run_t *r, const char *why, const char *held, const char *consult,
                          int code)
{
    const char *line = r->cmd->lines[0];
    char cleared[96] = "";
    ctim_result_t res;
    if (ctim_calls_state(r->calls, line, consult) != CTIM_CALL_IDLE) {
        s_undo_step(r, ctim_hang_up(r->ctim, line, consult), &res);
        if (res == CTIM_RESULT_OK)
            snprintf(cleared, sizeof cleared, "call %s cleared, ", consult);
        else
            snprintf(cleared, sizeof cleared, "call %s not cleared (%s), ", consult,
                     ctim_result_str(res));
    }
    s_undo_step(r, ctim_retrieve(r->ctim, line, held), &res);
    if (res == CTIM_RESULT_OK)
        s_err(r, "transfer %s: %s; %scall %s retrieved", line, why, cleared,
                held);
    else
        s_err(r, "transfer %s: %s; %scall %s stays on hold (retrieve: %s)",
                line, why, cleared, held, ctim_result_str(res));
    return code;
}

//  transfer --consult: consultation call, wait until connected, complete the transfer.
//  A consultation that fails (busy, cleared, unanswered within --timeout) is undone.
static int s_consult_transfer(s_run_t *r)
{
    const ctim_cmd_t *c = r->cmd;
    const char *line = c->lines[0];
    char held[64], consult[64], why[160];
    s_copy(held, sizeof held, r->call_id);
    const s_req_t *q = NULL;
    int code = s_request(r, line, ctim_setup_transfer(r->ctim, line, held, c->number),
                         S_PRINT_NONE, &q);
    if (code != CTIM_EXIT_OK)
        return code;
    s_copy(consult, sizeof consult, q->call_id);
    int64_t deadline = s_mono_ms() + c->timeout_ms;
    if (!*consult) {
        //  The PBX gave no id: the consultation call is the line's newest other call.
        s_call_arg_t other = {.line = line, .except = held};
        int rc = s_loop(r, deadline, s_other_call, &other);
        if (rc != 0 && rc != -ETIMEDOUT)
            return s_wait_failed(r, rc, "no consultation call");
        s_copy(consult, sizeof consult, ctim_calls_newest(r->calls, line, held));
    }
    if (!*consult) {
        s_err(r, "transfer %s: the consultation call to %s is not known; call %s "
                        "stays on hold", line, c->number, held);
        return CTIM_EXIT_FAILED;
    }
    s_call_arg_t a = {.line = line, .call_id = consult};
    int rc = s_loop(r, deadline, s_consult_settled, &a);
    if (rc == -ETIMEDOUT) {
        snprintf(why, sizeof why, "%s did not answer within %u ms", c->number, c->timeout_ms);
        return s_consult_undo(r, why, held, consult, CTIM_EXIT_TIMEOUT);
    }
    if (rc != 0)
        return s_wait_failed(r, rc, "no answer");
    ctim_call_state_t s = ctim_calls_state(r->calls, line, consult);
    if (s != CTIM_CALL_CONNECTED) {
        snprintf(why, sizeof why, "the consultation call %s to %s ended (%s)", consult,
                 c->number, ctim_call_state_str(s));
        return s_consult_undo(r, why, held, consult, CTIM_EXIT_FAILED);
    }
    code = s_request(r, line, ctim_complete_transfer(r->ctim, line, held, consult),
                     S_PRINT_NONE, &q);
    if (code == CTIM_EXIT_OK)
        s_result(r, line, CTIM_RESULT_OK, q->text,
                          *q->call_id ? q->call_id : held);
    return code;
}

static int s_status(s_run_t *r)
{
    const ctim_cmd_t *c = r->cmd;
    ctim_print_server(r->out, c->json, ctim_server(r->ctim), ctim_is_up(r->ctim), c->user);
    if (c->line_count == 0)
        return CTIM_EXIT_OK;
    int ids[CTIM_CMD_LINES_MAX];
    int code = s_open_all(r, c->lines, c->line_count, ids);
    if (code != CTIM_EXIT_OK)
        return code;
    //  One line's failure (a line not the user's, say) does not hide the others' status;
    //  the first failure's code is the exit.
    for (size_t i = 0; i < c->line_count; i++) {
        int rc = s_open_result(r, c->lines[i], ids[i]);
        if (rc == CTIM_EXIT_OK)
            rc = s_request(r, c->lines[i], ctim_get_address_status(r->ctim, c->lines[i]),
                           S_PRINT_ADDRESS, NULL);
        if (rc >= 128)
            return rc;      //  interrupted
        if (code == CTIM_EXIT_OK)
            code = rc;
    }
    return code;
}

static int s_monitor(s_run_t *r)
{
    const ctim_cmd_t *c = r->cmd;
    int code = s_open(r, c->lines, c->line_count);
    if (code != CTIM_EXIT_OK)
        return code;
    if (c->cdr) {
        code = s_request(r, NULL, ctim_set_cdr(r->ctim, true), S_PRINT_NONE, NULL);
        if (code != CTIM_EXIT_OK)
            return code;
        r->cdr_claimed = true;
    }
    int rc = s_loop(r, 0, NULL, NULL);
    if (rc == -EINTR)
        return CTIM_EXIT_OK;        //  Ctrl-C or SIGTERM is how a monitor ends
    return s_wait_failed(r, rc, "stopped");
}

//  The command after login.  Returns the exit code.
static int s_command(s_run_t *r)
{
    const ctim_cmd_t *c = r->cmd;
    const char *line = c->line_count ? c->lines[0] : NULL;
    const s_req_t *q = NULL;
    int code;
    switch (c->kind) {
    case CTIM_CMD_MONITOR:
        return s_monitor(r);
    case CTIM_CMD_STATUS:
        return s_status(r);
    case CTIM_CMD_LINES:
        code = s_request(r, NULL, ctim_list_lines(r->ctim), S_PRINT_LINES, &q);
        return code;
    default:
        break;
    }
    //  A directed pickup opens the ringing line too, to learn the call ringing there: the
    //  node finds it only at a line this session has open, and a PBX may refuse a pickup
    //  that names the device alone (pbxsim does: invalidConnectionID).  The user must be
    //  allowed that line anyway: the node checks it for the pickup itself.
    bool directed = c->kind == CTIM_CMD_PICKUP && c->number && strcmp(c->number, line) != 0;
    const char *open[2] = {line, c->number};
    code = s_open(r, open, directed ? 2 : 1);
    if (code != CTIM_EXIT_OK)
        return code;
    switch (c->kind) {
    case CTIM_CMD_CALL:
        code = s_request(r, line, ctim_make_call(r->ctim, line, c->number), S_PRINT_NONE, &q);
        break;
    case CTIM_CMD_PICKUP:
        if (directed) {
            code = s_resolve(r, c->number, CTIM_PICK_OFFERING, NULL);
            if (code != CTIM_EXIT_OK)
                return code;
        }
        code = s_request(r, line, ctim_pickup(r->ctim, line, c->number, directed ? r->call_id
                                                                                 : NULL),
                         S_PRINT_NONE, &q);
        break;
    case CTIM_CMD_FORWARD:
        code = s_request(r, line, ctim_set_forwarding(r->ctim, line, c->mode, c->on, c->number),
                         S_PRINT_NONE, &q);
        break;
    case CTIM_CMD_DND:
        code = s_request(r, line, ctim_set_do_not_disturb(r->ctim, line, c->on), S_PRINT_NONE,
                         &q);
        break;
    default:
        code = s_resolve(r, line, s_pick_for(c->kind), c->call_id);
        if (code != CTIM_EXIT_OK)
            return code;
        if (c->kind == CTIM_CMD_TRANSFER && c->consult)
            return s_consult_transfer(r);
        code = s_request(r, line, s_call_request(r), S_PRINT_NONE, &q);
        break;
    }
    if (code != CTIM_EXIT_OK)
        return code;
    //  Commands on a call print its id; call and pickup the new call's.
    const char *id = c->kind == CTIM_CMD_CALL || c->kind == CTIM_CMD_PICKUP ? q->call_id
                     : c->kind == CTIM_CMD_FORWARD || c->kind == CTIM_CMD_DND ? ""
                                                                                : r->call_id;
    s_result(r, line, CTIM_RESULT_OK, q->text, id);
    return CTIM_EXIT_OK;
}

int ctim_run(const ctim_cmd_t *cmd, const char *password, int signal_fd, FILE *out, FILE *err)
{
    s_run_t r = {.cmd = cmd, .name = ctim_cmd_name(cmd->kind), .out = out, .err = err,
                 .signal_fd = signal_fd, .monitor = cmd->kind == CTIM_CMD_MONITOR};
    r.calls = ctim_calls_new();
    if (!r.calls) {
        fprintf(err, "ctim: out of memory\n");
        return CTIM_EXIT_FAILED;
    }
    char client[64];
    snprintf(client, sizeof client, "ctim %d.%d.%d %s", CTIM_VERSION_MAJOR, CTIM_VERSION_MINOR,
             CTIM_VERSION_PATCH, r.name);
    ctim_cfg_t cfg;
    ctim_cfg_init(&cfg);
    cfg.servers = cmd->servers;
    cfg.user = cmd->user;
    cfg.password = password;
    cfg.client = client;
    if (cmd->heartbeat_ms)
        cfg.heartbeat_ms = cmd->heartbeat_ms;
    cfg.request_timeout_ms = cmd->timeout_ms;
    cfg.curve_server_key = cmd->curve_server_key;
    cfg.curve_cert = cmd->curve_cert;
    cfg.on_reply = s_on_reply;
    cfg.on_call = s_on_call;
    cfg.on_line = s_on_line;
    cfg.on_link = s_on_link;
    cfg.on_forward = s_on_forward;
    cfg.on_dnd = s_on_dnd;
    cfg.on_cdr = s_on_cdr;
    cfg.on_events_lost = s_on_events_lost;
    cfg.arg = &r;
    r.ctim = ctim_new(&cfg);
    if (!r.ctim) {
        fprintf(err, "ctim: unusable settings: --servers '%s' (tcp://host:port,...), --user, "
                     "password or CURVE files\n", cmd->servers);
        ctim_calls_destroy(&r.calls);
        return CTIM_EXIT_USAGE;
    }
    int code;
    if (ctim_connect(r.ctim) != 0) {
        s_err(&r, "cannot start connecting");
        code = CTIM_EXIT_CONNECT;
    } else {
        int rc = s_loop(&r, s_mono_ms() + cmd->timeout_ms, s_is_up, NULL);
        if (rc == -ETIMEDOUT) {
            s_err(&r, "no server answered within %u ms (%s)", cmd->timeout_ms,
                    cmd->servers);
            code = CTIM_EXIT_CONNECT;
        } else if (rc == -ENOTCONN) {
            s_err(&r, "login refused by %s: %s", ctim_server(r.ctim),
                    r.refused_text);
            code = CTIM_EXIT_CONNECT;
        } else if (rc != 0)
            code = s_wait_failed(&r, rc, "not connected");
        else
            code = s_command(&r);
    }
    s_json_failure(&r, code);
    s_close(&r);
    ctim_destroy(&r.ctim);
    ctim_calls_destroy(&r.calls);
    return code;
}
