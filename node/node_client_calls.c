//  node_client_calls: the calls at one line as its application sees them (the header has
//  the mapping from ECMA-269 events to client.proto call states).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_client_calls.h"

#define S_CALLS_MAX 256             //  calls remembered per line (a phone has a handful)
#define S_PARTIES_MAX CSTA_CONN_LIST_MAX

//  Who the line is in the call: it placed it (the far end is the called party) or it was
//  offered it (the far end is the caller), or not known (a call found by a snapshot).
typedef enum { S_ROLE_UNKNOWN, S_ROLE_CALLER, S_ROLE_CALLED } s_role_t;

typedef struct {
    csta_conn_t conn;               //  the party's connection (an outside party: its trunk's)
    csta_device_t device;           //  the party itself
} s_party_t;

typedef struct {
    proto_call_info_t info;         //  what the application was told last
    bool told;                      //  info went out at least once
    uint8_t cid[CSTA_CALL_ID_MAX];
    size_t cid_len;
    s_role_t role;
    csta_device_t caller, called;   //  as the PBX reported them
    bool external;                  //  a network interface was reached (NetworkReached)
    bool conference;                //  a conference at the line
    bool consultation;              //  a ConsultationCall for this call is in flight
    size_t party_count;             //  far parties known (Delivered/Established elsewhere,
    s_party_t party[S_PARTIES_MAX]; //  connection lists, snapshot endpoints)
} s_call_t;

struct node_client_calls {
    char line[CSTA_DIGITS_MAX + 1];
    const node_numfmt_t *numfmt;
    const node_lines_t *lines;
    s_call_t **calls;               //  oldest first
    size_t count, cap;
};

//  --- Names and ids ----------------------------------------------------------------------------

static const struct {
    int value;
    const char *name;
} s_causes[] = {
    {1, "activeParticipation"}, {2, "alternate"}, {3, "busy"}, {4, "callBack"},
    {5, "callCancelled"}, {6, "callForwardImmediate"}, {7, "callForwardBusy"},
    {8, "callForwardNoAnswer"}, {9, "callForward"}, {10, "callNotAnswered"},
    {11, "callPickup"}, {12, "campOn"}, {13, "destNotObtainable"}, {14, "doNotDisturb"},
    {15, "incompatibleDestination"}, {16, "invalidAccountCode"}, {17, "keyOperation"},
    {18, "lockout"}, {19, "maintenance"}, {20, "networkCongestion"},
    {21, "networkNotObtainable"}, {22, "newCall"}, {23, "noAvailableAgents"},
    {24, "override"}, {25, "park"}, {26, "overflow"}, {27, "recall"}, {28, "redirected"},
    {29, "reorderTone"}, {30, "resourcesNotAvailable"}, {31, "silentParticipation"},
    {32, "transfer"}, {33, "trunksBusy"}, {35, "blocked"}, {36, "characterCountReached"},
    {37, "consultation"}, {38, "distributed"}, {39, "dTMFDigitDetected"},
    {40, "durationExceeded"}, {41, "endOfMessageDetected"}, {42, "enteringDistribution"},
    {43, "forcedPause"}, {44, "makeCall"}, {45, "messageSizeExceeded"},
    {46, "networkSignal"}, {47, "nextMessage"}, {48, "normalClearing"},
    {49, "noSpeechDetected"}, {50, "numberChanged"}, {51, "singleStepConference"},
    {52, "singleStepTransfer"}, {53, "speechDetected"}, {54, "switchingFunctionTerminated"},
    {55, "terminationCharacterReceived"}, {56, "timeout"}, {57, "aCDBusy"},
    {58, "aCDForward"}, {59, "aCDSaturated"}, {60, "alertTimeExpired"}, {61, "autoWork"},
    {62, "campOnTrunks"}, {63, "conference"}, {64, "destDetected"},
    {65, "destOutOfOrder"}, {66, "distributionDelay"}, {67, "forcedTransition"},
    {68, "intrude"}, {69, "invalidNumberFormat"}, {70, "joinCall"},
    {71, "keyOperationInUse"}, {72, "makePredictiveCall"}, {73, "messageDurationExceeded"},
    {74, "multipleAlerting"}, {75, "multipleQueuing"}, {76, "networkDialling"},
    {77, "networkOutOfOrder"}, {78, "normal"}, {79, "notAvaliableBearerService"},
    {80, "notSupportedBearerService"}, {81, "numberUnallocated"}, {82, "queueCleared"},
    {83, "remainsInQueue"}, {84, "reserved"}, {85, "selectedTrunkBusy"}, {86, "suspend"},
    {87, "unauthorisedBearerService"}, {88, "activation"}, {116, "callInterception"},
    {121, "lawfulInterception"},
};

const char *node_client_calls_cause_str(int cause)
{
    for (size_t i = 0; i < sizeof s_causes / sizeof *s_causes; i++)
        if (s_causes[i].value == cause)
            return s_causes[i].name;
    return NULL;
}

void node_client_calls_id_text(const uint8_t *call_id, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < len && j + 2 < cap; i++) {
        out[j++] = digits[call_id[i] >> 4];
        out[j++] = digits[call_id[i] & 15];
    }
    if (cap)
        out[j] = '\0';
}

static int s_nibble(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int node_client_calls_id_parse(const char *text, uint8_t *out, size_t cap)
{
    size_t n = strlen(text);
    if (n == 0 || n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = s_nibble(text[i]), lo = s_nibble(text[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t) (hi << 4 | lo);
    }
    return (int) (n / 2);
}

bool node_client_calls_internal(const node_lines_t *lines, const char *number, size_t line_len)
{
    if (!number || !*number)
        return false;
    if (lines && node_lines_name(lines, number))
        return true;
    size_t n = strlen(number);
    return n <= line_len && strspn(number, "0123456789*#") == n;
}

//  --- Devices -------------------------------------------------------------------------------

//  The number a device id carries, or "" (not known, restricted, a deviceNumber).
static const char *s_digits(const csta_device_t *d)
{
    switch (d->kind) {
    case CSTA_DEV_DIALING:
    case CSTA_DEV_IMPLICIT_PUBLIC:
    case CSTA_DEV_EXPLICIT_PUBLIC:
    case CSTA_DEV_IMPLICIT_PRIVATE:
    case CSTA_DEV_EXPLICIT_PRIVATE:
        return d->digits;
    default:
        return "";
    }
}

static bool s_is_line(const node_client_calls_t *self, const csta_device_t *d)
{
    return *s_digits(d) && strcmp(s_digits(d), self->line) == 0;
}

static bool s_same_device(const csta_device_t *a, const csta_device_t *b)
{
    return *s_digits(a) && strcmp(s_digits(a), s_digits(b)) == 0;
}

//  --- Calls -------------------------------------------------------------------------------

static s_call_t *s_find_id(const node_client_calls_t *self, const uint8_t *cid, size_t len,
                           size_t *index)
{
    for (size_t i = 0; i < self->count; i++) {
        s_call_t *c = self->calls[i];
        if (c->cid_len == len && memcmp(c->cid, cid, len) == 0) {
            if (index)
                *index = i;
            return c;
        }
    }
    return NULL;
}

static s_call_t *s_find(const node_client_calls_t *self, const csta_conn_t *conn)
{
    if (!conn->present || !conn->call_id_len)
        return NULL;
    return s_find_id(self, conn->call_id, conn->call_id_len, NULL);
}

//  A new call for conn (NULL: no call id, or the table is full).
static s_call_t *s_add(node_client_calls_t *self, const csta_conn_t *conn)
{
    if (!conn->present || !conn->call_id_len || self->count == S_CALLS_MAX)
        return NULL;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_call_t **grown = realloc(self->calls, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->calls = grown;
        self->cap = cap;
    }
    s_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cid_len = conn->call_id_len;
    memcpy(c->cid, conn->call_id, conn->call_id_len);
    node_client_calls_id_text(c->cid, c->cid_len, c->info.call_id, sizeof c->info.call_id);
    self->calls[self->count++] = c;
    return c;
}

static s_call_t *s_get(node_client_calls_t *self, const csta_conn_t *conn, bool *is_new)
{
    s_call_t *c = s_find(self, conn);
    *is_new = !c;
    return c ? c : s_add(self, conn);
}

static void s_forget(node_client_calls_t *self, s_call_t *c)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->calls[i] == c) {
            memmove(&self->calls[i], &self->calls[i + 1],
                    (self->count - i - 1) * sizeof *self->calls);
            self->count--;
            free(c);
            return;
        }
}

static void s_party_add(s_call_t *c, const csta_conn_t *conn, const csta_device_t *device)
{
    for (size_t i = 0; i < c->party_count; i++)
        if (s_same_device(&c->party[i].device, device)) {
            if (conn && conn->present)
                c->party[i].conn = *conn;
            return;
        }
    if (c->party_count == S_PARTIES_MAX || !*s_digits(device))
        return;
    s_party_t *p = &c->party[c->party_count++];
    memset(p, 0, sizeof *p);
    if (conn)
        p->conn = *conn;
    p->device = *device;
}

//  Take the party of `device` (or whose connection names it) out; true if it was known.
static bool s_party_remove(s_call_t *c, const csta_device_t *device)
{
    for (size_t i = 0; i < c->party_count; i++)
        if (s_same_device(&c->party[i].device, device) ||
            s_same_device(&c->party[i].conn.device, device)) {
            memmove(&c->party[i], &c->party[i + 1],
                    (c->party_count - i - 1) * sizeof c->party[0]);
            c->party_count--;
            return true;
        }
    return false;
}

//  --- What the application sees --------------------------------------------------------

static void s_number(const node_client_calls_t *self, const csta_device_t *d,
                     bool format, node_numfmt_dir_t dir, char *out, size_t cap,
                     char *name, size_t name_cap)
{
    const char *raw = s_digits(d);
    const char *known = self->lines && *raw ? node_lines_name(self->lines, raw) : NULL;
    snprintf(name, name_cap, "%s", known && *known ? known : d->name);
    if (!format || !self->numfmt || !*raw ||
        node_numfmt_format(self->numfmt, dir, raw, out, cap) != 0)
        snprintf(out, cap, "%s", raw);
}

//  The call's info for state and cause, numbers and names from its parties.
static void s_compose(const node_client_calls_t *self, const s_call_t *c,
                      proto_call_state_t state, const char *cause, proto_call_info_t *info)
{
    *info = c->info;
    info->state = state;
    snprintf(info->cause, sizeof info->cause, "%s", cause ? cause : "");
    //  Only the far end goes through the number rules: incoming rules for whoever calls
    //  the line, outgoing rules for whom the line calls (node_numfmt.h).
    s_number(self, &c->caller, c->role == S_ROLE_CALLED, NODE_NUMFMT_INCOMING,
             info->caller_number, sizeof info->caller_number, info->caller_name,
             sizeof info->caller_name);
    s_number(self, &c->called, c->role == S_ROLE_CALLER, NODE_NUMFMT_OUTGOING,
             info->called_number, sizeof info->called_number, info->called_name,
             sizeof info->called_name);
    const csta_device_t *far = c->role == S_ROLE_CALLER ? &c->called : &c->caller;
    bool internal = !c->external &&
                    node_client_calls_internal(self->lines, s_digits(far), strlen(self->line));
    info->direction = c->role == S_ROLE_UNKNOWN ? PROTO_DIR_UNSPECIFIED
                      : internal                ? PROTO_DIR_INTERNAL
                      : c->role == S_ROLE_CALLER ? PROTO_DIR_OUTGOING
                                                 : PROTO_DIR_INCOMING;
}

static bool s_differs(const proto_call_info_t *a, const proto_call_info_t *b)
{
    return a->state != b->state || a->direction != b->direction ||
           strcmp(a->call_id, b->call_id) || strcmp(a->caller_number, b->caller_number) ||
           strcmp(a->caller_name, b->caller_name) || strcmp(a->called_number, b->called_number) ||
           strcmp(a->called_name, b->called_name);
}

//  Move call c to state (with the event's cause) and tell the application if anything it
//  sees changed.  Idle is the call's last event: the call is forgotten after it.
static void s_state(node_client_calls_t *self, s_call_t *c, proto_call_state_t state, int cause,
                    node_client_call_emit_fn *emit, void *arg)
{
    proto_call_info_t info;
    s_compose(self, c, state, cause >= 0 ? node_client_calls_cause_str(cause) : NULL, &info);
    if (!c->told || s_differs(&info, &c->info)) {
        c->info = info;
        c->told = true;
        if (emit)
            emit(arg, &c->info);
    } else {
        c->info = info;     //  the cause of the latest event, for get_call_info
    }
    if (state == PROTO_CALL_IDLE)
        s_forget(self, c);
}

//  The call is over at the line: disconnected (unless said, or the line hears busy tone),
//  then idle.
static void s_end(node_client_calls_t *self, s_call_t *c, int cause,
                  node_client_call_emit_fn *emit, void *arg)
{
    proto_call_state_t now = c->info.state;
    if (c->told && now != PROTO_CALL_DISCONNECTED && now != PROTO_CALL_BUSY)
        s_state(self, c, PROTO_CALL_DISCONNECTED, cause, emit, arg);
    s_state(self, c, PROTO_CALL_IDLE, cause, emit, arg);
}

//  The line's active state in call c: conferenced for a conference, else connected.
static proto_call_state_t s_active(const s_call_t *c)
{
    return c->conference ? PROTO_CALL_CONFERENCED : PROTO_CALL_CONNECTED;
}

static void s_set_role(s_call_t *c, s_role_t role)
{
    if (c->role == S_ROLE_UNKNOWN)
        c->role = role;
}

//  Take the calling/called devices an event reports (those it has).
static void s_parties(s_call_t *c, const csta_device_t *calling, const csta_device_t *called)
{
    if (calling && calling->kind != CSTA_DEV_ABSENT)
        c->caller = *calling;
    if (called && called->kind != CSTA_DEV_ABSENT)
        c->called = *called;
}

//  --- Events ----------------------------------------------------------------------------------

static void s_delivered(node_client_calls_t *self, const csta_delivered_t *e,
                        node_client_call_emit_fn *emit, void *arg)
{
    bool is_new;
    s_call_t *c = s_get(self, &e->connection, &is_new);
    if (!c)
        return;
    s_parties(c, &e->calling, &e->called);
    if (s_is_line(self, &e->alerting)) {
        s_set_role(c, S_ROLE_CALLED);
        s_state(self, c, PROTO_CALL_OFFERING, e->cause, emit, arg);
    } else {
        if (s_is_line(self, &e->calling))
            s_set_role(c, S_ROLE_CALLER);
        s_party_add(c, &e->connection, &e->alerting);
        s_state(self, c, PROTO_CALL_RINGBACK, e->cause, emit, arg);
    }
}

static void s_established(node_client_calls_t *self, const csta_established_t *e,
                          node_client_call_emit_fn *emit, void *arg)
{
    bool is_new;
    s_call_t *c = s_get(self, &e->established_connection, &is_new);
    if (!c)
        return;
    s_parties(c, &e->calling, &e->called);
    if (s_is_line(self, &e->answering)) {
        //  A call the line never saw ring: picked up from another device.
        s_set_role(c, s_is_line(self, &e->calling) ? S_ROLE_CALLER : S_ROLE_CALLED);
    } else {
        if (s_is_line(self, &e->calling))
            s_set_role(c, S_ROLE_CALLER);
        s_party_add(c, &e->established_connection, &e->answering);
    }
    s_state(self, c, s_active(c), e->cause, emit, arg);
}

static void s_failed(node_client_calls_t *self, const csta_failed_t *e,
                     node_client_call_emit_fn *emit, void *arg)
{
    s_call_t *c = s_find(self, &e->failed_connection);
    if (!c && !s_is_line(self, &e->calling))
        return;     //  not the line's call (a PBX that tells the unreachable device)
    bool is_new = false;
    if (!c)
        c = s_get(self, &e->failed_connection, &is_new);
    if (!c)
        return;
    s_set_role(c, S_ROLE_CALLER);
    s_parties(c, &e->calling, &e->called);
    bool busy = e->cause == CSTA_CAUSE_BUSY || e->cause == CSTA_CAUSE_TRUNKS_BUSY ||
                e->cause == 85 /* selectedTrunkBusy */;
    s_state(self, c, busy ? PROTO_CALL_BUSY : PROTO_CALL_DISCONNECTED, e->cause, emit, arg);
}

static void s_held(node_client_calls_t *self, const csta_held_t *e,
                   node_client_call_emit_fn *emit, void *arg)
{
    if (!s_is_line(self, &e->holding))
        return;     //  the far end holding the line changes nothing the line sees
    bool is_new;
    s_call_t *c = s_get(self, &e->held_connection, &is_new);
    if (!c)
        return;
    proto_call_state_t state = PROTO_CALL_ON_HOLD;
    if (c->consultation || e->cause == CSTA_CAUSE_CONSULTATION)
        state = c->conference ? PROTO_CALL_ON_HOLD_PENDING_CONFERENCE
                              : PROTO_CALL_ON_HOLD_PENDING_TRANSFER;
    c->consultation = false;
    s_state(self, c, state, e->cause, emit, arg);
}

static void s_retrieved(node_client_calls_t *self, const csta_retrieved_t *e,
                        node_client_call_emit_fn *emit, void *arg)
{
    if (!s_is_line(self, &e->retrieving))
        return;
    bool is_new;
    s_call_t *c = s_get(self, &e->retrieved_connection, &is_new);
    if (c)
        s_state(self, c, s_active(c), e->cause, emit, arg);
}

//  The line's entry in a connection list (Conferenced, Transferred), or NULL.
static const csta_conn_list_item_t *s_list_item(const node_client_calls_t *self,
                                                const csta_conn_list_t *list)
{
    for (size_t i = 0; i < list->count; i++) {
        const csta_conn_list_item_t *it = &list->item[i];
        if (s_is_line(self, &it->endpoint) || s_is_line(self, &it->new_conn.device))
            return it;
    }
    return NULL;
}

//  The far parties of a connection list become the call's parties.
static void s_list_parties(const node_client_calls_t *self, s_call_t *c,
                           const csta_conn_list_t *list)
{
    c->party_count = 0;
    for (size_t i = 0; i < list->count; i++) {
        const csta_conn_list_item_t *it = &list->item[i];
        const csta_device_t *who = it->endpoint.kind != CSTA_DEV_ABSENT ? &it->endpoint
                                                                        : &it->new_conn.device;
        if (!s_is_line(self, who) && !s_is_line(self, &it->new_conn.device))
            s_party_add(c, &it->new_conn, who);
    }
}

//  The call the line has after a Conferenced or Transferred: `into` (the resulting
//  connection), created from `from` (the line's call before) when the PBX gave the result
//  a new call id.  NULL when the line has no call in it.
static s_call_t *s_moved(node_client_calls_t *self, const csta_conn_t *into, s_call_t *from)
{
    s_call_t *c = s_find(self, into);
    if (c || !from)
        return c;
    c = s_add(self, into);
    if (!c)
        return NULL;
    char id[PROTO_CALL_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", c->info.call_id);
    uint8_t cid[CSTA_CALL_ID_MAX];
    size_t cid_len = c->cid_len;
    memcpy(cid, c->cid, cid_len);
    *c = *from;                     //  role, numbers, parties carry over
    memcpy(c->cid, cid, cid_len);
    c->cid_len = cid_len;
    snprintf(c->info.call_id, sizeof c->info.call_id, "%s", id);
    c->told = false;
    return c;
}

static void s_conferenced(node_client_calls_t *self, const csta_conferenced_t *e,
                          node_client_call_emit_fn *emit, void *arg)
{
    const csta_conn_list_item_t *it = s_list_item(self, &e->conference_connections);
    s_call_t *primary = s_find(self, &e->primary_old_call);
    s_call_t *secondary = s_find(self, &e->secondary_old_call);
    s_call_t *old = it && it->old_conn.present ? s_find(self, &it->old_conn) : NULL;
    const csta_conn_t *into = it && it->new_conn.present ? &it->new_conn : &e->primary_old_call;
    s_call_t *from = old ? old : primary ? primary : secondary;
    s_call_t *c = s_moved(self, into, from);
    if (!c) {
        bool is_new;    //  the line joined without a call of its own (SingleStepConference)
        c = s_get(self, into, &is_new);
        if (!c)
            return;
        s_set_role(c, S_ROLE_CALLED);
        c->caller = e->conferencing;
    }
    c->conference = true;
    c->consultation = false;
    s_list_parties(self, c, &e->conference_connections);
    s_state(self, c, PROTO_CALL_CONFERENCED, e->cause, emit, arg);
    //  The line's calls that were merged into the conference end here.
    s_call_t *merged[3] = {old, primary, secondary};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < i; j++)
            if (merged[j] == merged[i])
                merged[i] = NULL;
    for (int i = 0; i < 3; i++)
        if (merged[i] && merged[i] != c)
            s_state(self, merged[i], PROTO_CALL_IDLE, e->cause, emit, arg);
}

//  A connection state from the event (local connection info) as the line's call state.
static proto_call_state_t s_from_lcs(const s_call_t *c, csta_lcs_t lcs, proto_call_state_t keep)
{
    switch (lcs) {
    case CSTA_LCS_INITIATED: return PROTO_CALL_DIAL_TONE;
    case CSTA_LCS_ALERTING: return PROTO_CALL_OFFERING;
    case CSTA_LCS_CONNECTED: return s_active(c);
    case CSTA_LCS_HOLD: return PROTO_CALL_ON_HOLD;
    case CSTA_LCS_QUEUED: return PROTO_CALL_PROCEEDING;
    case CSTA_LCS_FAIL: return PROTO_CALL_BUSY;
    default: return keep;
    }
}

static void s_transferred(node_client_calls_t *self, const csta_transferred_t *e,
                          node_client_call_emit_fn *emit, void *arg)
{
    s_call_t *primary = s_find(self, &e->primary_old_call);
    s_call_t *secondary = s_find(self, &e->secondary_old_call);
    if (s_is_line(self, &e->transferring)) {
        //  The line handed its call(s) over and is out of them.
        if (primary)
            s_state(self, primary, PROTO_CALL_IDLE, e->cause, emit, arg);
        if (secondary && secondary != primary)
            s_state(self, secondary, PROTO_CALL_IDLE, e->cause, emit, arg);
        return;
    }
    const csta_conn_list_item_t *it = s_list_item(self, &e->transferred_connections);
    s_call_t *old = it && it->old_conn.present ? s_find(self, &it->old_conn) : NULL;
    if (!old)
        old = primary ? primary : secondary;
    const csta_conn_t *into = it && it->new_conn.present ? &it->new_conn : &e->primary_old_call;
    s_call_t *c = s_moved(self, into, old);
    if (!c)
        return;
    //  The far end is now the party the call was transferred to (for the one left in it),
    //  or whoever else the resulting call holds.
    s_list_parties(self, c, &e->transferred_connections);
    const csta_device_t *far = c->party_count ? &c->party[0].device : &e->transferred_to;
    if (!c->party_count)
        s_party_add(c, NULL, far);
    if (c->role == S_ROLE_CALLER)
        c->called = *far;
    else
        c->caller = *far;
    c->conference = c->party_count > 1;
    s_state(self, c, s_from_lcs(c, e->local_state, c->info.state), e->cause, emit, arg);
    if (old && old != c)
        s_state(self, old, PROTO_CALL_IDLE, e->cause, emit, arg);
}

static void s_diverted(node_client_calls_t *self, const csta_diverted_t *e,
                       node_client_call_emit_fn *emit, void *arg)
{
    s_call_t *c = s_find(self, &e->connection);
    if (s_is_line(self, &e->diverting)) {
        //  Deflected, forwarded or picked up elsewhere: gone from the line.  A call
        //  forwarded before it rang here was never the line's (nothing to say).
        if (c)
            s_state(self, c, PROTO_CALL_IDLE, e->cause >= 0 ? e->cause : CSTA_CAUSE_REDIRECTED,
                    emit, arg);
        return;
    }
    if (s_is_line(self, &e->new_destination) && e->cause != CSTA_CAUSE_CALL_PICKUP) {
        bool is_new;
        c = s_get(self, &e->connection, &is_new);
        if (!c)
            return;
        s_set_role(c, S_ROLE_CALLED);
        s_parties(c, &e->calling, &e->called);
        s_state(self, c, PROTO_CALL_OFFERING, e->cause, emit, arg);
        return;
    }
    if (c)
        s_party_remove(c, &e->diverting);   //  a Delivered at the new destination follows
}

static void s_connection_cleared(node_client_calls_t *self, const csta_connection_cleared_t *e,
                                 node_client_call_emit_fn *emit, void *arg)
{
    s_call_t *c = s_find(self, &e->dropped_connection);
    if (!c)
        return;
    if (s_is_line(self, &e->releasing) || s_is_line(self, &e->dropped_connection.device)) {
        s_end(self, c, e->cause, emit, arg);
        return;
    }
    //  A far party left.  In a conference the others stay (a conference of two is a plain
    //  call again); the last one leaving disconnects the line.
    bool known = s_party_remove(c, &e->releasing) ||
                 s_party_remove(c, &e->dropped_connection.device);
    if (c->conference && known && c->party_count >= 1) {
        if (c->party_count == 1) {
            c->conference = false;
            const csta_device_t *far = &c->party[0].device;
            if (c->role == S_ROLE_CALLER)
                c->called = *far;
            else
                c->caller = *far;
            s_state(self, c, PROTO_CALL_CONNECTED, e->cause, emit, arg);
        }
        return;
    }
    s_state(self, c, PROTO_CALL_DISCONNECTED, e->cause, emit, arg);
}

void node_client_calls_event(node_client_calls_t *self, const csta_event_t *e,
                             node_client_call_emit_fn *emit, void *arg)
{
    bool is_new;
    s_call_t *c;
    switch (e->type) {
    case CSTA_EV_DELIVERED:
        s_delivered(self, &e->delivered, emit, arg);
        break;
    case CSTA_EV_ESTABLISHED:
        s_established(self, &e->established, emit, arg);
        break;
    case CSTA_EV_SERVICE_INITIATED:
        if (!s_is_line(self, &e->service_initiated.initiating))
            break;
        c = s_get(self, &e->service_initiated.initiated_connection, &is_new);
        if (!c)
            break;
        s_set_role(c, S_ROLE_CALLER);
        c->caller = e->service_initiated.initiating;
        s_parties(c, NULL, &e->service_initiated.called);
        s_state(self, c, PROTO_CALL_DIAL_TONE, e->service_initiated.cause, emit, arg);
        break;
    case CSTA_EV_ORIGINATED:
        if (!s_is_line(self, &e->originated.calling))
            break;
        c = s_get(self, &e->originated.originated_connection, &is_new);
        if (!c)
            break;
        s_set_role(c, S_ROLE_CALLER);
        s_parties(c, &e->originated.calling, &e->originated.called);
        s_state(self, c, PROTO_CALL_DIALLING, e->originated.cause, emit, arg);
        break;
    case CSTA_EV_DIGITS_DIALED:
        c = s_find(self, &e->digits_dialed.dialing_connection);
        if (c && s_is_line(self, &e->digits_dialed.dialing))
            s_state(self, c, PROTO_CALL_DIALLING, e->digits_dialed.cause, emit, arg);
        break;
    case CSTA_EV_NETWORK_REACHED:
        c = s_get(self, &e->network_reached.outbound_connection, &is_new);
        if (!c)
            break;
        if (s_is_line(self, &e->network_reached.calling))
            s_set_role(c, S_ROLE_CALLER);
        c->external = true;
        s_parties(c, &e->network_reached.calling, &e->network_reached.called);
        s_state(self, c, PROTO_CALL_PROCEEDING, e->network_reached.cause, emit, arg);
        break;
    case CSTA_EV_QUEUED:
        c = s_get(self, &e->queued.queued_connection, &is_new);
        if (!c)
            break;
        s_set_role(c, s_is_line(self, &e->queued.queue) ? S_ROLE_CALLED : S_ROLE_CALLER);
        s_parties(c, &e->queued.calling, &e->queued.called);
        s_state(self, c, PROTO_CALL_PROCEEDING, e->queued.cause, emit, arg);
        break;
    case CSTA_EV_FAILED:
        s_failed(self, &e->failed, emit, arg);
        break;
    case CSTA_EV_HELD:
        s_held(self, &e->held, emit, arg);
        break;
    case CSTA_EV_RETRIEVED:
        s_retrieved(self, &e->retrieved, emit, arg);
        break;
    case CSTA_EV_CONFERENCED:
        s_conferenced(self, &e->conferenced, emit, arg);
        break;
    case CSTA_EV_TRANSFERRED:
        s_transferred(self, &e->transferred, emit, arg);
        break;
    case CSTA_EV_DIVERTED:
        s_diverted(self, &e->diverted, emit, arg);
        break;
    case CSTA_EV_CONNECTION_CLEARED:
        s_connection_cleared(self, &e->connection_cleared, emit, arg);
        break;
    case CSTA_EV_CALL_CLEARED:
        c = s_find(self, &e->call_cleared.cleared_call);
        if (c)
            s_end(self, c, e->call_cleared.cause, emit, arg);
        break;
    default:
        break;      //  not a call state (device features are the server's)
    }
}

//  --- Snapshot ------------------------------------------------------------------------------

//  Which of three classes a state is in: ringing at the line, held by it, or anything
//  else.  A snapshot only corrects a known call whose class changed, so that what the
//  events told (pending transfer, conferenced, ringback) is not flattened.
static int s_class(proto_call_state_t s)
{
    switch (s) {
    case PROTO_CALL_OFFERING:
    case PROTO_CALL_ACCEPTED: return 1;
    case PROTO_CALL_ON_HOLD:
    case PROTO_CALL_ON_HOLD_PENDING_CONFERENCE:
    case PROTO_CALL_ON_HOLD_PENDING_TRANSFER: return 2;
    default: return 0;
    }
}

//  The line's own connection state and the other one's (ABSENT) in a snapshot item:
//  compound states list the local connection first (ECMA-269 SnapshotDevice); a simple
//  state packs them as two hex digits, the other connection's high (0x23 callDelivered:
//  other alerting, local connected).
static void s_item_states(const csta_call_state_t *cs, csta_lcs_t *local, csta_lcs_t *other)
{
    *local = *other = CSTA_LCS_ABSENT;
    if (cs->kind == CSTA_CALL_STATE_COMPOUND) {
        if (cs->compound_count > 0)
            *local = cs->compound[0];
        if (cs->compound_count > 1)
            *other = cs->compound[1];
    } else if (cs->kind == CSTA_CALL_STATE_SIMPLE && cs->simple >= 0 && cs->simple <= 0x66) {
        *local = (csta_lcs_t) (cs->simple & 0x0f);
        *other = (csta_lcs_t) (cs->simple >> 4);
    }
}

void node_client_calls_snapshot(node_client_calls_t *self, const csta_snapshot_device_res_t *res,
                                node_client_call_emit_fn *emit, void *arg)
{
    if (res->is_xref)
        return;
    const csta_snapshot_device_data_t *data = &res->snapshot_data;
    bool *seen = calloc(self->count + 1, sizeof *seen);
    if (!seen)
        return;
    size_t known = self->count;     //  calls before this snapshot: 0..known-1
    s_call_t **before = malloc((known + 1) * sizeof *before);
    if (!before) {
        free(seen);
        return;
    }
    if (known)
        memcpy(before, self->calls, known * sizeof *before);
    for (size_t i = 0; i < data->count; i++) {
        const csta_snapshot_device_item_t *it = &data->item[i];
        csta_lcs_t local, other;
        s_item_states(&it->local_call_state, &local, &other);
        if (local == CSTA_LCS_NULL || !it->connection_identifier.call_id_len)
            continue;
        bool is_new;
        s_call_t *c = s_get(self, &it->connection_identifier, &is_new);
        if (!c)
            continue;
        for (size_t k = 0; k < known; k++)
            if (before[k] == c)
                seen[k] = true;
        proto_call_state_t state = s_from_lcs(c, local, PROTO_CALL_CONNECTED);
        if (local == CSTA_LCS_CONNECTED && other == CSTA_LCS_ALERTING)
            state = PROTO_CALL_RINGBACK;
        else if (local == CSTA_LCS_CONNECTED && other == CSTA_LCS_QUEUED)
            state = PROTO_CALL_PROCEEDING;
        else if (local == CSTA_LCS_CONNECTED && other == CSTA_LCS_FAIL)
            state = PROTO_CALL_BUSY;
        if (is_new) {
            //  Who called whom follows from the states where it can: the line rings (it
            //  was called), has dial tone or hears ringback (it called).
            if (local == CSTA_LCS_ALERTING)
                c->role = S_ROLE_CALLED;
            else if (local == CSTA_LCS_INITIATED || state == PROTO_CALL_RINGBACK)
                c->role = S_ROLE_CALLER;
            csta_device_set(c->role == S_ROLE_CALLER ? &c->caller : &c->called, self->line);
            if (it->endpoint_device.kind != CSTA_DEV_ABSENT) {
                if (c->role == S_ROLE_CALLER)
                    c->called = it->endpoint_device;
                else
                    c->caller = it->endpoint_device;
                s_party_add(c, NULL, &it->endpoint_device);
            }
            s_state(self, c, state, CSTA_CAUSE_ABSENT, emit, arg);
        } else if (s_class(state) != s_class(c->info.state)) {
            if (state == PROTO_CALL_ON_HOLD && s_class(c->info.state) == 2)
                state = c->info.state;
            s_state(self, c, state, CSTA_CAUSE_ABSENT, emit, arg);
        }
    }
    //  Calls the PBX no longer has at the line are gone.
    for (size_t k = 0; k < known; k++)
        if (!seen[k])
            s_state(self, before[k], PROTO_CALL_IDLE, CSTA_CAUSE_ABSENT, emit, arg);
    free(before);
    free(seen);
}

//  --- Life cycle and queries ---------------------------------------------------------------

node_client_calls_t *node_client_calls_new(const char *line, const node_numfmt_t *numfmt,
                                           const node_lines_t *lines)
{
    node_client_calls_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->line, sizeof self->line, "%s", line ? line : "");
    self->numfmt = numfmt;
    self->lines = lines;
    return self;
}

void node_client_calls_clear(node_client_calls_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->calls[i]);
    self->count = 0;
}

void node_client_calls_destroy(node_client_calls_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_client_calls_clear(*self_p);
    free((*self_p)->calls);
    free(*self_p);
    *self_p = NULL;
}

void node_client_calls_set_numbers(node_client_calls_t *self, const node_numfmt_t *numfmt,
                                   const node_lines_t *lines)
{
    self->numfmt = numfmt;
    self->lines = lines;
}

void node_client_calls_consultation(node_client_calls_t *self, const char *call_id,
                                    bool pending)
{
    uint8_t cid[CSTA_CALL_ID_MAX];
    int n = node_client_calls_id_parse(call_id, cid, sizeof cid);
    s_call_t *c = n > 0 ? s_find_id(self, cid, (size_t) n, NULL) : NULL;
    if (c)
        c->consultation = pending;
}

size_t node_client_calls_count(const node_client_calls_t *self)
{
    return self->count;
}

const proto_call_info_t *node_client_calls_at(const node_client_calls_t *self, size_t i)
{
    return i < self->count ? &self->calls[i]->info : NULL;
}

static s_call_t *s_by_text(const node_client_calls_t *self, const char *call_id)
{
    uint8_t cid[CSTA_CALL_ID_MAX];
    int n = call_id ? node_client_calls_id_parse(call_id, cid, sizeof cid) : -1;
    return n > 0 ? s_find_id(self, cid, (size_t) n, NULL) : NULL;
}

const proto_call_info_t *node_client_calls_find(const node_client_calls_t *self,
                                                const char *call_id)
{
    s_call_t *c = s_by_text(self, call_id);
    return c ? &c->info : NULL;
}

const csta_conn_t *node_client_calls_party(const node_client_calls_t *self, const char *call_id,
                                           const char *number)
{
    s_call_t *c = s_by_text(self, call_id);
    if (!c || !number || !*number)
        return NULL;
    for (size_t i = 0; i < c->party_count; i++) {
        const s_party_t *p = &c->party[i];
        const char *raw = s_digits(&p->device);
        char in[PROTO_NUMBER_MAX + 1] = "", out[PROTO_NUMBER_MAX + 1] = "";
        if (self->numfmt) {
            node_numfmt_format(self->numfmt, NODE_NUMFMT_INCOMING, raw, in, sizeof in);
            node_numfmt_format(self->numfmt, NODE_NUMFMT_OUTGOING, raw, out, sizeof out);
        }
        if (p->conn.present &&
            (strcmp(raw, number) == 0 || strcmp(in, number) == 0 || strcmp(out, number) == 0))
            return &p->conn;
    }
    return NULL;
}
