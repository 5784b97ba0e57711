//  node_client_guard: call-forward-on-failure (see the header).  Guarded lines are kept in
//  two tables (by number, by watch); requests at the PBX (SnapshotDevice, DeflectCall)
//  carry the line's id, never a pointer, so an answer for a line released meanwhile finds
//  nothing.  The lines of a lost node's expired sessions are kept in a third table (by
//  number) on every node, and guarded as the others only while this node holds the link.
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csta.h"
#include "node_client_guard.h"
#include "node_http.h"
#include "node_log.h"
#include "node_ptrmap.h"

#define S_SUB "client"
#define S_RECENT 8                  //  calls remembered per line as deflected already
#define S_NUMBER_MAX CSTA_DIGITS_MAX
#define S_WHY_MAX 160

typedef struct {
    uint8_t bytes[CSTA_CALL_ID_MAX];
    uint8_t len;
} s_call_id_t;

typedef struct {
    node_client_guard_t *guard;
    uint64_t id;
    char line[S_NUMBER_MAX + 1];
    char number[S_NUMBER_MAX + 1];
    char why[S_WHY_MAX];
    node_pbx_watch_t *watch;
    bool monitored;                 //  the watch's done(0) came (for /status)
    bool lost_node;                 //  guarded for a lost node's expired session
    int64_t since_ms;
    long redirects;
    s_call_id_t recent[S_RECENT];   //  calls deflected (or being deflected) from here
    size_t recent_next;
} s_guarded_t;

//  A SnapshotDevice or DeflectCall at the PBX; reply comes exactly once, possibly after
//  the guard went (guard NULL then).
typedef struct s_req {
    node_client_guard_t *guard;
    uint64_t line_id;
    int opcode;
    s_call_id_t call;               //  DeflectCall: the call
    char to[S_NUMBER_MAX + 1];      //  DeflectCall: the failure number asked for
    bool lost_node;                 //  for a line of a lost node's session
    struct s_req *prev, *next;
} s_req_t;

struct node_client_guard {
    node_pbx_t *pbx;
    int request_timeout_ms;
    zhashx_t *by_line;              //  line number -> s_guarded_t * (owned)
    zhashx_t *by_watch;             //  node_pbx_watch_t * -> s_guarded_t * (borrowed)
    uint64_t next_id;
    s_req_t *reqs;
    zhashx_t *lost;                 //  line number -> s_lost_t * (owned): lost nodes' lines
    bool holds;                     //  this node holds the link: it guards the lost lines
    node_metric_t *m_redirects, *m_lines, *m_lost_redirects;
};

//  A line of a lost node's session that expired without resuming anywhere.
typedef struct {
    char number[S_NUMBER_MAX + 1];
    char why[S_WHY_MAX];
} s_lost_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_call_hex(const s_call_id_t *c, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < c->len && j + 2 < cap; i++) {
        out[j++] = digits[c->bytes[i] >> 4];
        out[j++] = digits[c->bytes[i] & 15];
    }
    out[j] = '\0';
}

static s_guarded_t *s_by_id(node_client_guard_t *self, uint64_t id)
{
    for (s_guarded_t *g = zhashx_first(self->by_line); g; g = zhashx_next(self->by_line))
        if (g->id == id)
            return g;
    return NULL;
}

static void s_gauge(node_client_guard_t *self)
{
    if (self->m_lines)
        node_metric_set(self->m_lines, NULL, (double) zhashx_size(self->by_line));
}

//  zhashx destructor of by_line: the line's watch goes with it.
static void s_guarded_free(void **item_p)
{
    s_guarded_t *g = *item_p;
    if (!g)
        return;
    node_client_guard_t *self = g->guard;
    if (g->watch) {
        zhashx_delete(self->by_watch, g->watch);
        if (self->pbx)
            node_pbx_unwatch(self->pbx, &g->watch);
    }
    free(g);
    *item_p = NULL;
}

//  --- Requests ------------------------------------------------------------------------------

static void s_req_unlink(node_client_guard_t *self, s_req_t *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        self->reqs = req->next;
    if (req->next)
        req->next->prev = req->prev;
}

//  Send a built invoke; the reply goes to reply_fn with a request record.
static int s_request(node_client_guard_t *self, s_guarded_t *g, const csta_apdu_t *a,
                     node_pbx_reply_fn *reply_fn, s_req_t **req_out)
{
    uint8_t buf[512];
    size_t n = 0;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &n);
    if (rc)
        return rc;
    s_req_t *req = calloc(1, sizeof *req);
    if (!req)
        return -ENOMEM;
    *req = (s_req_t){.guard = self, .line_id = g->id, .opcode = a->opcode,
                     .lost_node = g->lost_node, .next = self->reqs};
    rc = node_pbx_request(self->pbx, buf, n, self->request_timeout_ms, reply_fn, NULL, req);
    if (rc) {
        free(req);
        return rc;
    }
    if (self->reqs)
        self->reqs->prev = req;
    self->reqs = req;
    if (req_out)
        *req_out = req;
    return 0;
}

static bool s_recent(const s_guarded_t *g, const uint8_t *call_id, size_t len)
{
    for (size_t i = 0; i < S_RECENT; i++)
        if (g->recent[i].len == len && len && memcmp(g->recent[i].bytes, call_id, len) == 0)
            return true;
    return false;
}

static void s_forget(s_guarded_t *g, const s_call_id_t *call)
{
    for (size_t i = 0; i < S_RECENT; i++)
        if (g->recent[i].len == call->len && memcmp(g->recent[i].bytes, call->bytes, call->len) == 0)
            g->recent[i].len = 0;
}

static void s_on_deflect(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_req_t *req = arg;
    node_client_guard_t *self = req->guard;
    if (self) {
        s_req_unlink(self, req);
        s_guarded_t *g = s_by_id(self, req->line_id);
        char cid[2 * CSTA_CALL_ID_MAX + 1];
        s_call_hex(&req->call, cid, sizeof cid);
        csta_apdu_t a;
        csta_apdu_init(&a, CSTA_APDU_NONE);
        bool ok = status == 0 && apdu && csta_apdu_decode(&a, apdu, len) == 0 &&
                  a.kind == CSTA_APDU_RESULT;
        if (ok) {
            //  A lost node's line: nobody else tells the operator where its calls went.
            node_log(req->lost_node ? NODE_LOG_NOTICE : NODE_LOG_INFO, S_SUB,
                     "redirected call=%s line=%s to=%s (%s)", cid, g ? g->line : "?", req->to,
                     g ? g->why : "line released");
            if (g)
                g->redirects++;
        } else {
            char why[64];
            if (status < 0 && status != -EREMOTEIO)
                snprintf(why, sizeof why, "%s", strerror(-status));
            else if (a.kind == CSTA_APDU_ERROR)
                snprintf(why, sizeof why, "CSTA error %d/%ld", (int) a.error.category,
                         a.error.value);
            else
                snprintf(why, sizeof why, "the PBX rejected it");
            node_warning(S_SUB, "could not redirect call=%s line=%s to=%s: %s", cid,
                         g ? g->line : "?", req->to, why);
            if (g)
                s_forget(g, &req->call);    //  a later snapshot (link back) may try again
        }
        csta_apdu_clear(&a);
        if (self->m_redirects)
            node_metric_add(self->m_redirects, (const char *[]){ok ? "ok" : "error"}, 1);
        if (self->m_lost_redirects && req->lost_node)
            node_metric_add(self->m_lost_redirects, (const char *[]){ok ? "ok" : "error"}, 1);
    }
    free(req);
}

//  Deflect the call ringing at g's line to its failure number (ECMA-269 DeflectCall:
//  callToBeDiverted is the line's alerting connection).
static void s_deflect(node_client_guard_t *self, s_guarded_t *g, const uint8_t *call_id,
                      size_t len)
{
    if (!len || len > CSTA_CALL_ID_MAX)
        return;
    char cid[2 * CSTA_CALL_ID_MAX + 1];
    s_call_id_t call = {.len = (uint8_t) len};
    memcpy(call.bytes, call_id, len);
    s_call_hex(&call, cid, sizeof cid);
    if (s_recent(g, call_id, len)) {
        node_debug(S_SUB, "call=%s at line %s: redirected from here already", cid, g->line);
        return;
    }
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;                //  replaced by node_pbx
    a.opcode = CSTA_OP_DEFLECT_CALL;
    csta_conn_set(&a.call.deflect_call.call_to_be_diverted, call_id, len, g->line);
    csta_device_set(&a.call.deflect_call.new_destination, g->number);
    a.call.deflect_call.reason = CSTA_CAUSE_ABSENT;
    s_req_t *req = NULL;
    int rc = s_request(self, g, &a, s_on_deflect, &req);
    if (rc) {
        node_warning(S_SUB, "could not redirect call=%s line=%s to=%s: %s", cid, g->line,
                     g->number, strerror(-rc));
        if (self->m_redirects)
            node_metric_add(self->m_redirects, (const char *[]){"error"}, 1);
        if (self->m_lost_redirects && g->lost_node)
            node_metric_add(self->m_lost_redirects, (const char *[]){"error"}, 1);
        return;
    }
    req->call = call;
    snprintf(req->to, sizeof req->to, "%s", g->number);
    g->recent[g->recent_next] = call;
    g->recent_next = (g->recent_next + 1) % S_RECENT;
}

//  Whether a snapshot item's call is ringing at the device: the local connection is
//  alerting.  compoundCallState lists the device's own connection first; in a
//  simpleCallState the low hex digit is the local connection (callReceived 0x32,
//  receivedOnHold 0x42: ECMA-269 SimpleCallState).
static bool s_item_alerting(const csta_snapshot_device_item_t *it)
{
    const csta_call_state_t *cs = &it->local_call_state;
    if (cs->kind == CSTA_CALL_STATE_COMPOUND)
        return cs->compound_count > 0 && cs->compound[0] == CSTA_LCS_ALERTING;
    if (cs->kind == CSTA_CALL_STATE_SIMPLE)
        return (cs->simple & 0x0f) == CSTA_LCS_ALERTING;
    return false;
}

static void s_on_snapshot(void *arg, int status, const uint8_t *apdu, size_t len)
{
    s_req_t *req = arg;
    node_client_guard_t *self = req->guard;
    s_guarded_t *g = self ? s_by_id(self, req->line_id) : NULL;
    if (self)
        s_req_unlink(self, req);
    free(req);
    if (!g)
        return;
    csta_apdu_t a;
    if (status != 0 || !apdu || csta_apdu_decode(&a, apdu, len) != 0) {
        node_info(S_SUB, "guard of line %s: no snapshot (%s); ringing calls are caught by "
                  "their events", g->line, status ? strerror(-status) : "does not parse");
        return;
    }
    if (a.kind == CSTA_APDU_RESULT && a.has_result && !a.no_data) {
        //  Whole, also when the PBX sent it in segments (node_pbx collects them).
        const csta_snapshot_device_res_t *res = &a.svc.snapshot_device_res;
        for (size_t i = 0; i < res->snapshot_data.count; i++) {
            const csta_snapshot_device_item_t *it = &res->snapshot_data.item[i];
            if (s_item_alerting(it))
                s_deflect(self, g, it->connection_identifier.call_id,
                          it->connection_identifier.call_id_len);
        }
    } else if (a.kind != CSTA_APDU_RESULT) {
        node_info(S_SUB, "guard of line %s: the PBX refused the snapshot", g->line);
    }
    csta_apdu_clear(&a);
}

//  Ask for the calls at g's line now: the ringing ones are deflected when it answers.
static void s_snapshot(node_client_guard_t *self, s_guarded_t *g)
{
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 1;
    a.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&a.svc.snapshot_device.snapshot_object, g->line);
    int rc = s_request(self, g, &a, s_on_snapshot, NULL);
    if (rc)
        node_info(S_SUB, "guard of line %s: snapshot not sent: %s", g->line, strerror(-rc));
}

static void s_on_watch_done(void *watch_arg, int status, const uint8_t *error_apdu, size_t len)
{
    (void) error_apdu;
    (void) len;
    s_guarded_t *g = watch_arg;
    if (status != 0) {
        //  node_pbx keeps the watch and monitors again (link back, monitor_retry_ms).
        node_warning(S_SUB, "guard of line %s: no monitor yet (%s); node_pbx retries",
                     g->line, strerror(-status));
        return;
    }
    g->monitored = true;
    s_snapshot(g->guard, g);
}

static void s_lost_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  Stop guarding line if it is guarded for a lost node (a local failure's guard stays).
static void s_unguard_lost(node_client_guard_t *self, const char *line, const char *how)
{
    s_guarded_t *g = zhashx_lookup(self->by_line, line);
    if (!g || !g->lost_node)
        return;
    node_notice(S_SUB, "line %s of a lost node's application no longer guarded here after "
                "%" PRId64 " ms, %ld redirects: %s", line, s_now_ms() - g->since_ms,
                g->redirects, how);
    zhashx_delete(self->by_line, line);
    s_gauge(self);
}

//  --- Public ----------------------------------------------------------------------------------

node_client_guard_t *node_client_guard_new(node_metrics_t *metrics)
{
    node_client_guard_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_line = zhashx_new();
    self->by_watch = node_ptrmap_new();
    self->lost = zhashx_new();
    if (!self->by_line || !self->by_watch || !self->lost) {
        node_client_guard_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->by_line, s_guarded_free);
    zhashx_set_destructor(self->lost, s_lost_free);
    if (metrics) {
        self->m_redirects = node_metrics_counter(metrics, "client_redirects",
            "Calls deflected to a failed application's failure number, by result.", "result");
        node_metric_add(self->m_redirects, (const char *[]){"ok"}, 0);
        self->m_lines = node_metrics_gauge(metrics, "client_guarded_lines",
            "Lines whose ringing calls go to a failure number (their application failed).",
            NULL);
        node_metric_set(self->m_lines, NULL, 0);
        self->m_lost_redirects = node_metrics_counter(metrics, "client_lost_node_redirects",
            "Calls deflected to the failure number of a lost node's application whose session "
            "expired without resuming (by the link's holder), by result.", "result");
        node_metric_add(self->m_lost_redirects, (const char *[]){"ok"}, 0);
    }
    return self;
}

void node_client_guard_destroy(node_client_guard_t **self_p)
{
    node_client_guard_t *self = *self_p;
    if (!self)
        return;
    for (s_req_t *r = self->reqs; r; r = r->next)
        r->guard = NULL;            //  node_pbx still owes them a reply: it frees them
    zhashx_destroy(&self->by_line); //  unwatches (by_watch is still there for it)
    zhashx_destroy(&self->by_watch);
    zhashx_destroy(&self->lost);
    free(self);
    *self_p = NULL;
}

void node_client_guard_attach(node_client_guard_t *self, node_pbx_t *pbx, int request_timeout_ms)
{
    self->pbx = pbx;
    self->request_timeout_ms = request_timeout_ms;
}

static bool s_number_ok(const char *n)
{
    return n && *n && strlen(n) <= S_NUMBER_MAX;
}

//  Guard line (protect's contract); lost_node: for a lost node's session.
static int s_protect(node_client_guard_t *self, const char *line, const char *failure_number,
                     const char *why, bool lost_node)
{
    if (!line || !*line || strlen(line) > S_NUMBER_MAX || !failure_number || !*failure_number ||
        strlen(failure_number) > S_NUMBER_MAX)
        return -EINVAL;
    if (!self->pbx)
        return -ENOTCONN;
    s_guarded_t *g = zhashx_lookup(self->by_line, line);
    if (g) {
        snprintf(g->number, sizeof g->number, "%s", failure_number);
        snprintf(g->why, sizeof g->why, "%s", why ? why : "");
        g->lost_node = lost_node;
        node_info(S_SUB, "line %s guarded: ringing calls go to %s now (%s)", line,
                  failure_number, g->why);
        if (g->monitored)
            s_snapshot(self, g);
        return 0;
    }
    g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->guard = self;
    g->id = ++self->next_id;
    snprintf(g->line, sizeof g->line, "%s", line);
    snprintf(g->number, sizeof g->number, "%s", failure_number);
    snprintf(g->why, sizeof g->why, "%s", why ? why : "");
    g->since_ms = s_now_ms();
    g->lost_node = lost_node;
    csta_device_t dev;
    csta_device_set(&dev, line);
    g->watch = node_pbx_watch(self->pbx, &dev, s_on_watch_done, g);
    if (!g->watch) {
        free(g);
        return -EINVAL;
    }
    if (zhashx_insert(self->by_watch, g->watch, g) != 0 ||
        zhashx_insert(self->by_line, g->line, g) != 0) {
        zhashx_delete(self->by_watch, g->watch);
        node_pbx_unwatch(self->pbx, &g->watch);
        free(g);
        return -ENOMEM;
    }
    node_log(lost_node ? NODE_LOG_NOTICE : NODE_LOG_INFO, S_SUB,
             "line %s guarded: ringing calls go to %s (%s)", line, failure_number, g->why);
    s_gauge(self);
    return 0;
}

int node_client_guard_protect(node_client_guard_t *self, const char *line,
                              const char *failure_number, const char *why)
{
    return s_protect(self, line, failure_number, why, false);
}

bool node_client_guard_release(node_client_guard_t *self, const char *line)
{
    if (!self || !line)
        return false;
    s_guarded_t *g = zhashx_lookup(self->by_line, line);
    zhashx_delete(self->lost, line);
    if (!g)
        return false;
    node_info(S_SUB, "line %s no longer guarded after %" PRId64 " ms, %ld redirects: an "
              "application holds it", line, s_now_ms() - g->since_ms, g->redirects);
    zhashx_delete(self->by_line, line);     //  the destructor unwatches
    s_gauge(self);
    return true;
}

bool node_client_guard_guards(const node_client_guard_t *self, const char *line)
{
    return self && zhashx_lookup(self->by_line, line) != NULL;
}

size_t node_client_guard_count(const node_client_guard_t *self)
{
    return self ? zhashx_size(self->by_line) : 0;
}

bool node_client_guard_owns(const node_client_guard_t *self, const node_pbx_watch_t *watch)
{
    return self && zhashx_lookup(self->by_watch, watch) != NULL;
}

//  A call that starts ringing at a guarded line (Delivered, the line alerting) goes on.
void node_client_guard_event(node_client_guard_t *self, node_pbx_watch_t *watch,
                             const uint8_t *apdu, size_t len)
{
    //  node_pbx hands a watch events only while the device is monitored (after a failed
    //  MonitorStart too, once a retry or the link's return has monitored it).
    s_guarded_t *g = zhashx_lookup(self->by_watch, watch);
    if (!g)
        return;
    csta_apdu_t a;
    if (csta_apdu_decode(&a, apdu, len) != 0)
        return;
    if (a.kind == CSTA_APDU_INVOKE && a.opcode == CSTA_OP_EVENT_REPORT &&
        a.event.type == CSTA_EV_DELIVERED) {
        const csta_delivered_t *d = &a.event.delivered;
        if (d->alerting.kind != CSTA_DEV_ABSENT && strcmp(d->alerting.digits, g->line) == 0)
            s_deflect(self, g, d->connection.call_id, d->connection.call_id_len);
    }
    csta_apdu_clear(&a);
}

//  Link back: calls may have begun ringing while it was down (their Delivered is gone).
void node_client_guard_state(node_client_guard_t *self, node_pbx_state_t state)
{
    if (state != NODE_PBX_UP || !self->pbx)
        return;
    for (s_guarded_t *g = zhashx_first(self->by_line); g; g = zhashx_next(self->by_line))
        s_snapshot(self, g);
}

void node_client_guard_status_json(const node_client_guard_t *self, FILE *out)
{
    fputc('[', out);
    bool first = true;
    int64_t now = s_now_ms();
    zhashx_t *lines = self ? self->by_line : NULL;
    for (s_guarded_t *g = lines ? zhashx_first(lines) : NULL; g; g = zhashx_next(lines)) {
        fprintf(out, "%s{\"line\":", first ? "" : ",");
        node_http_json_str(out, g->line);
        fprintf(out, ",\"failure_number\":");
        node_http_json_str(out, g->number);
        fprintf(out, ",\"why\":");
        node_http_json_str(out, g->why);
        fprintf(out, ",\"guarded_ms\":%" PRId64 ",\"monitored\":%s,\"redirects\":%ld,"
                "\"lost_node\":%s}", now - g->since_ms, g->monitored ? "true" : "false",
                g->redirects, g->lost_node ? "true" : "false");
        first = false;
    }
    fputc(']', out);
}

//  --- Lines of a lost node's expired sessions ------------------------------------------------

int node_client_guard_lost_line(node_client_guard_t *self, const char *line,
                                const char *failure_number, const char *why)
{
    if (!s_number_ok(line) || !s_number_ok(failure_number))
        return -EINVAL;
    s_lost_t *l = zhashx_lookup(self->lost, line);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l || zhashx_insert(self->lost, line, l) != 0) {
            free(l);
            return -ENOMEM;
        }
    }
    snprintf(l->number, sizeof l->number, "%s", failure_number);
    snprintf(l->why, sizeof l->why, "%s", why ? why : "");
    const s_guarded_t *g = zhashx_lookup(self->by_line, line);
    if (!self->holds || (g && !g->lost_node))
        return 0;   //  the holder guards it; or a local failure's guard does already
    return s_protect(self, line, l->number, l->why, true);
}

bool node_client_guard_forget(node_client_guard_t *self, const char *line)
{
    if (!self || !line || !zhashx_lookup(self->lost, line))
        return false;
    s_unguard_lost(self, line, "open again in the cluster");
    zhashx_delete(self->lost, line);
    return true;
}

void node_client_guard_hold(node_client_guard_t *self, bool holds)
{
    if (!self || self->holds == holds)
        return;
    self->holds = holds;
    zlistx_t *lines = zhashx_keys(self->lost);
    for (const char *line = lines ? zlistx_first(lines) : NULL; line; line = zlistx_next(lines)) {
        const s_lost_t *l = zhashx_lookup(self->lost, line);
        const s_guarded_t *g = zhashx_lookup(self->by_line, line);
        if (!holds) {
            s_unguard_lost(self, line, "this node no longer holds the link");
            continue;
        }
        if (g)
            continue;
        int rc = s_protect(self, line, l->number, l->why, true);
        if (rc)
            node_error(S_SUB, "line %s: calls cannot go to failure number %s: %s", line,
                       l->number, strerror(-rc));
    }
    zlistx_destroy(&lines);
}

size_t node_client_guard_lost_lines(const node_client_guard_t *self,
                                    node_client_guard_line_fn *fn, void *ctx)
{
    if (!self)
        return 0;
    //  A copy of the keys: fn may forget lines.
    zlistx_t *lines = zhashx_keys(self->lost);
    size_t n = 0;
    for (const char *line = lines ? zlistx_first(lines) : NULL; line; line = zlistx_next(lines)) {
        const s_lost_t *l = zhashx_lookup(self->lost, line);
        if (!l)
            continue;               //  forgotten by fn meanwhile
        const s_guarded_t *g = zhashx_lookup(self->by_line, line);
        n++;
        if (fn) {
            char number[S_NUMBER_MAX + 1];
            snprintf(number, sizeof number, "%s", l->number);     //  fn may forget l
            fn(ctx, line, number, g && g->lost_node);
        }
    }
    zlistx_destroy(&lines);
    return n;
}
