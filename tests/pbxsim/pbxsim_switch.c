//  pbxsim_switch: the call model — devices, calls, parties, routing, and the CSTA call
//  control and device feature services (ECMA-269 clause 17 and 22 behaviour).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbxsim_switch_int.h"

#define S_TIMER_SLOT_BITS 16
//  ECMA-285 SystemResourceAvailabilityErrors conferenceMemberLimitExceeded (not in
//  csta_error.h, which lists the values ctim itself uses).
#define S_SYSERR_CONFERENCE_MEMBER_LIMIT 8

const char *pbx_dev_type_str(pbx_dev_type_t type)
{
    switch (type) {
    case PBX_DEV_EXTENSION: return "extension";
    case PBX_DEV_TRUNK: return "trunk";
    case PBX_DEV_HUNT_GROUP: return "hunt-group";
    case PBX_DEV_PICKUP_GROUP: return "pickup-group";
    }
    return "?";
}

//  --- Life cycle ----------------------------------------------------------------------------------

pbx_switch_t *pbx_switch_new(const pbx_switch_cfg_t *cfg, const pbx_timers_t *timers,
                             pbx_event_fn *on_event, pbx_cdr_fn *on_cdr, void *ctx)
{
    pbx_switch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    if (self->cfg.max_calls <= 0 || self->cfg.max_calls > (1 << S_TIMER_SLOT_BITS))
        self->cfg.max_calls = 4096;
    if (self->cfg.no_answer_ms <= 0)
        self->cfg.no_answer_ms = 20000;
    self->timers = *timers;
    self->on_event = on_event;
    self->on_cdr = on_cdr;
    self->ctx = ctx;
    self->calls = calloc((size_t) self->cfg.max_calls, sizeof *self->calls);
    self->slot_of_id = malloc(65536 * sizeof *self->slot_of_id);
    if (!self->calls || !self->slot_of_id) {
        pbx_switch_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < 65536; i++)
        self->slot_of_id[i] = -1;
    self->next_call_id = 1;
    return self;
}

void pbx_switch_destroy(pbx_switch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pbx_switch_t *self = *self_p;
    free(self->devices);
    free(self->by_number);
    free(self->by_device_number);
    free(self->calls);
    free(self->slot_of_id);
    free(self);
    *self_p = NULL;
}

//  --- Devices -------------------------------------------------------------------------------------

//  Device lookup tables: a number or deviceNumber finds its device without a walk over
//  every device (thousands of extensions, looked up for every request and call step).
static unsigned s_hash_number(const char *number)
{
    unsigned h = 2166136261u;       //  FNV-1a
    for (; *number; number++)
        h = (h ^ (unsigned char) *number) * 16777619u;
    return h;
}

static unsigned s_hash_device_number(long device_number)
{
    return (unsigned) ((unsigned long) device_number * 2654435761u);
}

static void s_index_put(pbx_switch_t *self, int index)
{
    unsigned mask = (unsigned) self->index_cap - 1;
    const pbx_device_cfg_t *cfg = &self->devices[index].cfg;
    unsigned i = s_hash_number(cfg->number) & mask;
    while (self->by_number[i] >= 0)
        i = (i + 1) & mask;
    self->by_number[i] = index;
    //  Two devices with one deviceNumber: the first keeps it, as the walk found it.
    for (i = s_hash_device_number(cfg->device_number) & mask; self->by_device_number[i] >= 0;
         i = (i + 1) & mask)
        if (self->devices[self->by_device_number[i]].cfg.device_number == cfg->device_number)
            return;
    self->by_device_number[i] = index;
}

static int s_index_grow(pbx_switch_t *self, int cap)
{
    int *by_number = malloc((size_t) cap * sizeof *by_number);
    int *by_device_number = malloc((size_t) cap * sizeof *by_device_number);
    if (!by_number || !by_device_number) {
        free(by_number);
        free(by_device_number);
        return -ENOMEM;
    }
    free(self->by_number);
    free(self->by_device_number);
    self->by_number = by_number;
    self->by_device_number = by_device_number;
    self->index_cap = cap;
    for (int i = 0; i < cap; i++)
        by_number[i] = by_device_number[i] = -1;
    for (int d = 0; d < self->device_count; d++)
        s_index_put(self, d);
    return 0;
}

int pbx_switch_add_device(pbx_switch_t *self, const pbx_device_cfg_t *cfg)
{
    if (pbx_switch_find_number(self, cfg->number) >= 0)
        return -EEXIST;
    if ((self->device_count + 1) * 2 > self->index_cap &&
        s_index_grow(self, self->index_cap ? self->index_cap * 2 : 512))
        return -ENOMEM;
    if (self->device_count == self->device_cap) {
        int cap = self->device_cap ? self->device_cap * 2 : 256;
        pbx_device_t *grown = realloc(self->devices, (size_t) cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        self->devices = grown;
        self->device_cap = cap;
    }
    int index = self->device_count++;
    pbx_device_t *dev = &self->devices[index];
    memset(dev, 0, sizeof *dev);
    dev->cfg = *cfg;
    dev->callback_from = -1;
    dev->camp_on_call = -1;
    dev->pickup_group = -1;
    if (cfg->type == PBX_DEV_PICKUP_GROUP)
        for (int m = 0; m < cfg->member_count; m++)
            self->devices[cfg->members[m]].pickup_group = index;
    s_index_put(self, index);
    return index;
}

int pbx_switch_device_count(const pbx_switch_t *self)
{
    return self->device_count;
}

const pbx_device_cfg_t *pbx_switch_device(const pbx_switch_t *self, int index)
{
    return index >= 0 && index < self->device_count ? &self->devices[index].cfg : NULL;
}

int pbx_switch_find_number(const pbx_switch_t *self, const char *number)
{
    if (!self->index_cap)
        return -1;
    unsigned mask = (unsigned) self->index_cap - 1;
    for (unsigned i = s_hash_number(number) & mask; self->by_number[i] >= 0; i = (i + 1) & mask)
        if (strcmp(self->devices[self->by_number[i]].cfg.number, number) == 0)
            return self->by_number[i];
    return -1;
}

int pbx_switch_find(const pbx_switch_t *self, const csta_device_t *dev)
{
    if (dev->kind == CSTA_DEV_NUMBER) {
        if (!self->index_cap)
            return -1;
        unsigned mask = (unsigned) self->index_cap - 1;
        for (unsigned i = s_hash_device_number(dev->number) & mask;
             self->by_device_number[i] >= 0; i = (i + 1) & mask)
            if (self->devices[self->by_device_number[i]].cfg.device_number == dev->number)
                return self->by_device_number[i];
        return -1;
    }
    if (dev->kind == CSTA_DEV_ABSENT || dev->kind >= CSTA_DEV_NOT_KNOWN)
        return -1;
    return pbx_switch_find_number(self, dev->digits);
}

void pbx_switch_device_id(const pbx_switch_t *self, int index, csta_device_t *out)
{
    csta_device_set(out, self->devices[index].cfg.number);
    snprintf(out->name, sizeof out->name, "%s", self->devices[index].cfg.name);
}

//  --- Parties and calls ---------------------------------------------------------------------------

static bool s_counts_active(csta_lcs_t state)
{
    return state == CSTA_LCS_INITIATED || state == CSTA_LCS_ALERTING ||
           state == CSTA_LCS_CONNECTED || state == CSTA_LCS_QUEUED || state == CSTA_LCS_FAIL;
}

//  Every state change goes through here so that device busy counts stay right.
//  An external party counts on its trunk: a CO line carries one call at a time.
static void s_set_state(pbx_switch_t *self, pbx_party_t *party, csta_lcs_t state)
{
    pbx_device_t *dev = &self->devices[party->device];
    dev->active -= s_counts_active(party->state);
    dev->held -= party->state == CSTA_LCS_HOLD;
    dev->active += s_counts_active(state);
    dev->held += state == CSTA_LCS_HOLD;
    party->state = state;
}

static void s_cancel_timer(pbx_switch_t *self, pbx_party_t *party)
{
    if (party->timer > 0)
        self->timers.cancel(self->timers.ctx, party->timer);
    party->timer = 0;
    party->timer_kind = 0;
}

static void s_start_timer(pbx_switch_t *self, pbx_call_t *c, pbx_party_t *party, int kind,
                          int delay_ms)
{
    static unsigned seq;
    s_cancel_timer(self, party);
    int slot = (int) (c - self->calls);
    seq = (seq + 1) & 0x7FFF;
    int ref = (int) (seq << S_TIMER_SLOT_BITS) | slot;
    party->timer = self->timers.start(self->timers.ctx, delay_ms, ref);
    party->timer_kind = kind;
    party->timer_ref = ref;
}

static bool s_busy(const pbx_switch_t *self, int device)
{
    return self->devices[device].active > 0;
}

static pbx_call_t *s_call_new(pbx_switch_t *self)
{
    for (int slot = 0; slot < self->cfg.max_calls; slot++) {
        pbx_call_t *c = &self->calls[slot];
        if (c->used)
            continue;
        memset(c, 0, sizeof *c);
        c->used = true;
        //  Call ids: 2 octets as Panasonic and HiPath use, never 0, not in use.
        while (self->next_call_id == 0 || self->slot_of_id[self->next_call_id] >= 0)
            self->next_call_id++;
        c->id = self->next_call_id++;
        self->slot_of_id[c->id] = slot;
        c->calling = -1;
        c->last_redirection = -1;
        c->charged_device = -1;
        c->started_ms = self->timers.now_ms(self->timers.ctx);
        c->started_wall = self->timers.wall_s(self->timers.ctx);
        self->stats.calls_started++;
        self->stats.calls_active++;
        return c;
    }
    return NULL;
}

static void s_call_free(pbx_switch_t *self, pbx_call_t *c, int reason_for_term)
{
    if (!c->used)
        return;
    for (int p = 0; p < c->nparty; p++) {
        s_cancel_timer(self, &c->party[p]);
        s_set_state(self, &c->party[p], CSTA_LCS_NULL);
    }
    if (c->charged_device >= 0)
        pbx_cdr_record(self, c, reason_for_term);
    for (int d = 0; self->waiters && d < self->device_count; d++)
        if (self->devices[d].camp_on_call == (int) (c - self->calls))
            self->devices[d].camp_on_call = -1;
    self->slot_of_id[c->id] = -1;
    c->used = false;
    c->nparty = 0;
    self->stats.calls_active--;
    self->stats.calls_completed++;
}

static int s_party_add(pbx_call_t *c, int device, bool external, const char *number,
                       const char *name)
{
    if (c->nparty >= PBX_CALL_PARTIES_MAX)
        return -ENOSPC;
    pbx_party_t *party = &c->party[c->nparty];
    memset(party, 0, sizeof *party);
    party->device = device;
    party->external = external;
    party->state = CSTA_LCS_NULL;
    if (number)
        snprintf(party->number, sizeof party->number, "%s", number);
    if (name)
        snprintf(party->name, sizeof party->name, "%s", name);
    return c->nparty++;
}

//  Remove party p (already reported), keeping indexes of the calling party right.
static void s_party_remove(pbx_switch_t *self, pbx_call_t *c, int p)
{
    s_cancel_timer(self, &c->party[p]);
    s_set_state(self, &c->party[p], CSTA_LCS_NULL);
    for (int i = p; i + 1 < c->nparty; i++)
        c->party[i] = c->party[i + 1];
    c->nparty--;
    if (c->calling == p)
        c->calling = -1;
    else if (c->calling > p)
        c->calling--;
}

void pbx_party_device_id(const pbx_switch_t *sw, const pbx_party_t *party, csta_device_t *out)
{
    if (party->external) {
        csta_device_set(out, party->number);
        snprintf(out->name, sizeof out->name, "%s", party->name);
    } else {
        pbx_switch_device_id(sw, party->device, out);
    }
}

void pbx_call_conn(const pbx_switch_t *sw, uint16_t call_id, const pbx_party_t *party,
                   csta_conn_t *out)
{
    uint8_t id[2] = {(uint8_t) (call_id >> 8), (uint8_t) call_id};
    //  The connection of an external party is its trunk's (the network interface device).
    csta_conn_set(out, id, 2, sw->devices[party->device].cfg.number);
}

void pbx_party_conn(const pbx_switch_t *sw, const pbx_call_t *c, const pbx_party_t *party,
                    csta_conn_t *out)
{
    pbx_call_conn(sw, c->id, party, out);
}

//  Find the call and party a CSTA ConnectionID names.  Returns 0, or -ENOENT.
static int s_find_conn(pbx_switch_t *self, const csta_conn_t *conn, pbx_call_t **c_out,
                       int *p_out)
{
    if (!conn->present || conn->call_id_len != 2)
        return -ENOENT;
    int slot = self->slot_of_id[conn->call_id[0] << 8 | conn->call_id[1]];
    if (slot < 0)
        return -ENOENT;
    pbx_call_t *c = &self->calls[slot];
    int device = pbx_switch_find(self, &conn->device);
    for (int p = 0; p < c->nparty; p++) {
        const pbx_party_t *party = &c->party[p];
        bool match = conn->device.kind == CSTA_DEV_ABSENT ? c->nparty == 1
                                                          : party->device == device ||
                         (party->external && strcmp(party->number, conn->device.digits) == 0);
        if (match) {
            *c_out = c;
            *p_out = p;
            return 0;
        }
    }
    return -ENOENT;
}

static int s_other_party(const pbx_call_t *c, int p)
{
    for (int i = 0; i < c->nparty; i++)
        if (i != p)
            return i;
    return -1;
}

//  --- Routing ------------------------------------------------------------------------------------

static bool s_is_outside(const pbx_switch_t *self, const char *number)
{
    size_t n = strlen(self->cfg.outside_prefix);
    return n > 0 && strncmp(number, self->cfg.outside_prefix, n) == 0 && strlen(number) > n;
}

static int s_free_trunk(const pbx_switch_t *self)
{
    for (int i = 0; i < self->device_count; i++)
        if (self->devices[i].cfg.type == PBX_DEV_TRUNK && !self->devices[i].out_of_service &&
            self->devices[i].active == 0 && self->devices[i].held == 0)
            return i;
    return -1;
}

//  The forwarding entry that applies: the general type, or its internal/external variant.
static const pbx_forward_t *s_forward(const pbx_device_t *dev, int general, int internal_type,
                                      int external_type, bool from_outside)
{
    if (dev->fwd[general].active)
        return &dev->fwd[general];
    const pbx_forward_t *f = &dev->fwd[from_outside ? external_type : internal_type];
    return f->active ? f : NULL;
}

static bool s_calling_is_external(const pbx_call_t *c)
{
    return c->calling >= 0 && c->party[c->calling].external;
}

static void s_alert(pbx_switch_t *self, pbx_call_t *c, int p, int cause);
static void s_wake_waiters(pbx_switch_t *self);

//  The call cannot reach `number`: the calling party hears busy or reorder tone (its
//  connection enters the fail state, and the phone stays busy until it hangs up), and
//  every party hears of it in a Failed event.
static void s_fail_call(pbx_switch_t *self, pbx_call_t *c, const char *number, int cause)
{
    if (c->calling >= 0)
        s_set_state(self, &c->party[c->calling], CSTA_LCS_FAIL);
    pbx_ev_failed(self, c, number, cause);
}

//  Offer the call to `number` on behalf of the calling party.  Adds the new party and
//  reports what happened (Delivered, Diverted+Delivered, NetworkReached+Delivered, or
//  Failed).  Returns the new party's index, or a negative errno after a Failed event.
//  depth 0 is the number the caller asked for, which the call keeps as its called
//  device; hunting and forwarding (depth > 0) do not change it (ECMA-269 calledDevice).
static int s_route(pbx_switch_t *self, pbx_call_t *c, const char *number, int cause, int depth)
{
    if (depth == 0)
        snprintf(c->called_number, sizeof c->called_number, "%s", number);
    if (s_is_outside(self, number)) {
        int trunk = s_free_trunk(self);
        if (trunk < 0) {
            s_fail_call(self, c, number, CSTA_CAUSE_TRUNKS_BUSY);
            return -EBUSY;
        }
        int p = s_party_add(c, trunk, true, number, "");
        if (p < 0)
            return p;
        s_set_state(self, &c->party[p], CSTA_LCS_ALERTING);
        pbx_ev_network_reached(self, c, p, CSTA_CAUSE_NORMAL);
        pbx_ev_delivered(self, c, p, cause);
        if (self->cfg.remote_answer_ms >= 0)
            s_start_timer(self, c, &c->party[p], PBX_TIMER_REMOTE_ANSWER, self->cfg.remote_answer_ms);
        return p;
    }
    int device = pbx_switch_find_number(self, number);
    if (device < 0 || self->devices[device].cfg.type == PBX_DEV_TRUNK ||
        self->devices[device].cfg.type == PBX_DEV_PICKUP_GROUP) {
        s_fail_call(self, c, number, CSTA_CAUSE_NUMBER_UNALLOCATED);
        return -ENOENT;
    }
    pbx_device_t *dev = &self->devices[device];
    if (dev->cfg.type == PBX_DEV_HUNT_GROUP) {
        //  A hunt group rings its first idle member, in the configured order.
        for (int m = 0; m < dev->cfg.member_count; m++) {
            int member = dev->cfg.members[m];
            if (!s_busy(self, member) && !self->devices[member].dnd &&
                !self->devices[member].out_of_service)
                return s_route(self, c, self->devices[member].cfg.number, CSTA_CAUSE_DISTRIBUTED,
                               depth + 1);
        }
        s_fail_call(self, c, number, CSTA_CAUSE_BUSY);
        return -EBUSY;
    }
    bool outside = s_calling_is_external(c);
    const pbx_forward_t *fwd = s_forward(dev, 0, 7, 8, outside);
    int fwd_cause = CSTA_CAUSE_CALL_FORWARD_IMMEDIATE;
    if (!fwd && dev->dnd) {
        fwd = s_forward(dev, 9, 10, 11, outside);
        fwd_cause = CSTA_CAUSE_DO_NOT_DISTURB;
    }
    if (!fwd && s_busy(self, device)) {
        fwd = s_forward(dev, 1, 3, 4, outside);
        fwd_cause = CSTA_CAUSE_CALL_FORWARD_BUSY;
    }
    if (fwd && depth < 5) {
        //  Forwarded before it rings: the forwarding device reports the diversion (its
        //  connection goes straight to null), then the target is offered the call.
        pbx_party_t gone = {.device = device, .state = CSTA_LCS_NULL};
        pbx_ev_diverted(self, c, &gone, fwd->dn, fwd_cause);
        c->last_redirection = device;
        char dn[PBX_NUMBER_MAX];
        snprintf(dn, sizeof dn, "%s", fwd->dn);
        return s_route(self, c, dn, fwd_cause, depth + 1);
    }
    if (dev->out_of_service || dev->dnd || s_busy(self, device)) {
        int fail_cause = dev->out_of_service ? CSTA_CAUSE_DEST_OUT_OF_ORDER
                         : dev->dnd           ? CSTA_CAUSE_DO_NOT_DISTURB
                                              : CSTA_CAUSE_BUSY;
        s_fail_call(self, c, number, fail_cause);
        return -EBUSY;
    }
    int p = s_party_add(c, device, false, NULL, NULL);
    if (p < 0)
        return p;
    s_alert(self, c, p, cause);
    return p;
}

//  Ring party p: Delivered, then the person answers (auto-answer) or nobody does.
static void s_alert(pbx_switch_t *self, pbx_call_t *c, int p, int cause)
{
    pbx_party_t *party = &c->party[p];
    s_set_state(self, party, CSTA_LCS_ALERTING);
    pbx_ev_delivered(self, c, p, cause);
    int aa = self->devices[party->device].cfg.auto_answer_ms;
    if (aa >= 0)
        s_start_timer(self, c, party, PBX_TIMER_AUTO_ANSWER, aa);
    else
        s_start_timer(self, c, party, PBX_TIMER_NO_ANSWER, self->cfg.no_answer_ms);
}

static void s_connect(pbx_switch_t *self, pbx_call_t *c, int p, int cause)
{
    pbx_party_t *party = &c->party[p];
    s_cancel_timer(self, party);
    s_set_state(self, party, CSTA_LCS_CONNECTED);
    if (!c->answered_ms) {
        c->answered_ms = self->timers.now_ms(self->timers.ctx);
        c->answered_wall = self->timers.wall_s(self->timers.ctx);
    }
    c->cdr_answered = true;
    pbx_ev_established(self, c, p, cause);
}

//  Party p leaves the call (hang-up, ClearConnection).  A call left with one party ends:
//  that party is cleared as well, as a two-party call ends when either side hangs up.
static void s_clear_party(pbx_switch_t *self, pbx_call_t *c, int p, int cause)
{
    pbx_party_t gone = c->party[p];
    s_party_remove(self, c, p);     //  takes the party out of its device's busy count
    gone.state = CSTA_LCS_NULL;     //  the copy only tells the event: not counted again
    pbx_ev_connection_cleared(self, c, &gone, cause);
    if (c->nparty == 1) {
        pbx_party_t last = c->party[0];
        s_party_remove(self, c, 0);
        pbx_ev_connection_cleared(self, c, &last, cause);
    }
    if (c->nparty == 0)
        s_call_free(self, c, 0);
    s_wake_waiters(self);
}

//  --- Requests -----------------------------------------------------------------------------------

static int s_fail(csta_apdu_t *res, csta_err_category_t category, long value)
{
    csta_apdu_init(res, CSTA_APDU_ERROR);
    res->error.category = category;
    res->error.value = value;
    return -1;
}

static void s_ok(csta_apdu_t *res, int opcode)
{
    csta_apdu_init(res, CSTA_APDU_RESULT);
    res->opcode = opcode;
}

//  Find the party a request's connection names, or fill the error a PBX gives.
#define S_CONN(conn, c, p)                                                                      \
    do {                                                                                        \
        if (s_find_conn(self, (conn), &(c), &(p)))                                              \
            return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CONNECTION_ID);            \
    } while (0)

static int s_make_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_make_call_arg_t *arg = &req->call.make_call;
    int caller = pbx_switch_find(self, &arg->calling);
    if (caller < 0 || self->devices[caller].cfg.type != PBX_DEV_EXTENSION)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALLING_DEVICE);
    if (arg->called.kind == CSTA_DEV_ABSENT || arg->called.kind >= CSTA_DEV_NOT_KNOWN)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALLED_DEVICE);
    if (self->devices[caller].out_of_service)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_DEVICE_OUT_OF_SERVICE);
    if (s_busy(self, caller))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CALLING_DEVICE_STATE);
    pbx_call_t *c = s_call_new(self);
    if (!c)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_LIMIT_EXCEEDED);
    int p = s_party_add(c, caller, false, NULL, NULL);
    c->calling = p;
    c->charged_device = caller;
    //  pbxsim originates at once (autoOriginate doNotPrompt): the phone goes off-hook on
    //  the speaker, then dials.
    s_set_state(self, &c->party[p], CSTA_LCS_INITIATED);
    pbx_ev_service_initiated(self, c, p, CSTA_CAUSE_MAKE_CALL);
    s_set_state(self, &c->party[p], CSTA_LCS_CONNECTED);
    char called[CSTA_DIGITS_MAX + 1];
    if (arg->called.kind == CSTA_DEV_NUMBER) {
        int d = pbx_switch_find(self, &arg->called);
        snprintf(called, sizeof called, "%s", d >= 0 ? self->devices[d].cfg.number : "?");
    } else {
        snprintf(called, sizeof called, "%s", arg->called.digits);
    }
    snprintf(c->called_number, sizeof c->called_number, "%s", called);
    pbx_ev_originated(self, c, p, CSTA_CAUSE_MAKE_CALL);
    s_route(self, c, called, CSTA_CAUSE_NEW_CALL, 0);
    s_ok(res, CSTA_OP_MAKE_CALL);
    pbx_party_conn(self, c, &c->party[c->calling >= 0 ? c->calling : 0], &res->call.make_call_res.calling);
    return 0;
}

static int s_answer_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.answer_call.call_to_be_answered, c, p);
    if (c->party[p].state != CSTA_LCS_ALERTING)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_CALL_TO_ANSWER);
    s_connect(self, c, p, CSTA_CAUSE_NEW_CALL);
    s_ok(res, CSTA_OP_ANSWER_CALL);
    return 0;
}

static int s_clear_connection(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.clear_connection.connection, c, p);
    s_clear_party(self, c, p, CSTA_CAUSE_NORMAL_CLEARING);
    s_ok(res, CSTA_OP_CLEAR_CONNECTION);
    return 0;
}

static int s_clear_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.clear_call.call_to_be_cleared, c, p);
    pbx_ev_call_cleared(self, c, CSTA_CAUSE_NORMAL_CLEARING);
    s_call_free(self, c, 0);
    s_ok(res, CSTA_OP_CLEAR_CALL);
    return 0;
}

static int s_hold(pbx_switch_t *self, pbx_call_t *c, int p, int cause)
{
    if (c->party[p].state != CSTA_LCS_CONNECTED)
        return -1;
    s_set_state(self, &c->party[p], CSTA_LCS_HOLD);
    pbx_ev_held(self, c, p, cause);
    return 0;
}

static int s_retrieve(pbx_switch_t *self, pbx_call_t *c, int p, int cause)
{
    if (c->party[p].state != CSTA_LCS_HOLD)
        return -1;
    s_set_state(self, &c->party[p], CSTA_LCS_CONNECTED);
    pbx_ev_retrieved(self, c, p, cause);
    return 0;
}

static int s_hold_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.hold_call.call_to_be_held, c, p);
    if (s_hold(self, c, p, CSTA_CAUSE_NORMAL))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_ACTIVE_CALL);
    s_ok(res, CSTA_OP_HOLD_CALL);
    return 0;
}

//  RetrieveCall: only a held connection can be retrieved, and only while the device has
//  no other call in progress (no call waiting: it would have two talking paths).
static int s_retrieve_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.retrieve_call.call_to_be_retrieved, c, p);
    if (c->party[p].state != CSTA_LCS_HOLD)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_HELD_CALL);
    if (s_busy(self, c->party[p].device))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_CONNECTED_CALL_EXISTS);
    s_retrieve(self, c, p, CSTA_CAUSE_NORMAL);
    s_ok(res, CSTA_OP_RETRIEVE_CALL);
    return 0;
}

//  Both connections of a two-call operation must belong to the same device: one held,
//  one active (connected; for ReconnectCall also a consultation that failed, whose
//  connection is in the fail state).  Returns 0 or fills the error.
static int s_held_and_active(pbx_switch_t *self, const csta_conn_t *held, const csta_conn_t *active,
                             bool active_may_fail, pbx_call_t **hc, int *hp, pbx_call_t **ac,
                             int *ap, csta_apdu_t *res)
{
    if (s_find_conn(self, held, hc, hp))
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_HELD_CONNECTION_ID);
    if (s_find_conn(self, active, ac, ap))
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_ACTIVE_CONNECTION_ID);
    if (*hc == *ac || (*hc)->party[*hp].device != (*ac)->party[*ap].device)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_NOT_SAME_DEVICE);
    if ((*hc)->party[*hp].state != CSTA_LCS_HOLD)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_HELD_CONNECTION_STATE);
    csta_lcs_t as = (*ac)->party[*ap].state;
    if (as != CSTA_LCS_CONNECTED && !(active_may_fail && as == CSTA_LCS_FAIL))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_ACTIVE_CONNECTION_STATE);
    return 0;
}

static int s_consultation_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_consultation_call_arg_t *arg = &req->call.consultation_call;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->existing_call, c, p);
    if (c->party[p].state != CSTA_LCS_CONNECTED)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_ACTIVE_CALL);
    if (arg->consulted_device.kind == CSTA_DEV_ABSENT || !arg->consulted_device.digits[0])
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_CALLED_DEVICE);
    pbx_call_t *n = s_call_new(self);
    if (!n)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_LIMIT_EXCEEDED);
    int device = c->party[p].device;
    s_hold(self, c, p, CSTA_CAUSE_CONSULTATION);
    int np = s_party_add(n, device, false, NULL, NULL);
    n->calling = np;
    n->charged_device = device;
    s_set_state(self, &n->party[np], CSTA_LCS_INITIATED);
    pbx_ev_service_initiated(self, n, np, CSTA_CAUSE_CONSULTATION);
    s_set_state(self, &n->party[np], CSTA_LCS_CONNECTED);
    snprintf(n->called_number, sizeof n->called_number, "%s", arg->consulted_device.digits);
    pbx_ev_originated(self, n, np, CSTA_CAUSE_CONSULTATION);
    s_route(self, n, arg->consulted_device.digits, CSTA_CAUSE_CONSULTATION, 0);
    s_ok(res, CSTA_OP_CONSULTATION_CALL);
    pbx_party_conn(self, n, &n->party[n->calling >= 0 ? n->calling : 0],
                   &res->call.consultation_call_res.initiated_call);
    return 0;
}

static int s_alternate_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *hc, *ac;
    int hp, ap;
    if (s_held_and_active(self, &req->call.alternate_call.held_call,
                          &req->call.alternate_call.active_call, false, &hc, &hp, &ac, &ap, res))
        return -1;
    s_hold(self, ac, ap, CSTA_CAUSE_ALTERNATE);
    s_retrieve(self, hc, hp, CSTA_CAUSE_ALTERNATE);
    s_ok(res, CSTA_OP_ALTERNATE_CALL);
    return 0;
}

//  ReconnectCall: the active call is cleared (a consultation that failed too), the held
//  one retrieved.
static int s_reconnect_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *hc, *ac;
    int hp, ap;
    if (s_held_and_active(self, &req->call.reconnect_call.held_call,
                          &req->call.reconnect_call.active_call, true, &hc, &hp, &ac, &ap, res))
        return -1;
    s_clear_party(self, ac, ap, CSTA_CAUSE_NORMAL_CLEARING);
    s_retrieve(self, hc, hp, CSTA_CAUSE_NORMAL);
    s_ok(res, CSTA_OP_RECONNECT_CALL);
    return 0;
}

//  Restart the timers a ringing party had in its old call (answer by itself, the far end
//  answering, forwarding on no answer).
static void s_restart_ringing(pbx_switch_t *self, pbx_call_t *c, int p)
{
    pbx_party_t *party = &c->party[p];
    party->timer = 0;
    party->timer_kind = 0;
    if (party->state != CSTA_LCS_ALERTING)
        return;
    if (party->external) {
        if (self->cfg.remote_answer_ms >= 0)
            s_start_timer(self, c, party, PBX_TIMER_REMOTE_ANSWER, self->cfg.remote_answer_ms);
        return;
    }
    int aa = self->devices[party->device].cfg.auto_answer_ms;
    if (aa >= 0)
        s_start_timer(self, c, party, PBX_TIMER_AUTO_ANSWER, aa);
    else
        s_start_timer(self, c, party, PBX_TIMER_NO_ANSWER, self->cfg.no_answer_ms);
}

//  Move every party of `from` except party `skip` (whose connection ends) to the end of
//  `into`, which keeps its call id; `from` is freed (one CDR for the merged call).
//  Returns the index in `into` of the first moved party.
static int s_merge(pbx_switch_t *self, pbx_call_t *into, pbx_call_t *from, int skip)
{
    int first = into->nparty;
    for (int i = 0; i < from->nparty; i++) {
        if (i == skip) {
            //  The transferring / conferencing device's connection in `from` ends here
            //  (s_call_free below sees no parties): its busy count must go too.
            s_cancel_timer(self, &from->party[i]);
            s_set_state(self, &from->party[i], CSTA_LCS_NULL);
            continue;
        }
        pbx_party_t moved = from->party[i];
        s_cancel_timer(self, &from->party[i]);
        if (into->nparty >= PBX_CALL_PARTIES_MAX)
            continue;   //  callers check the room first
        into->party[into->nparty++] = moved;
        s_restart_ringing(self, into, into->nparty - 1);
        from->party[i].state = CSTA_LCS_NULL;   //  the busy counts moved with the party
    }
    from->nparty = 0;
    if (from->charged_device >= 0 && into->charged_device < 0)
        into->charged_device = from->charged_device;
    from->charged_device = -1;
    s_call_free(self, from, 0);
    return first;
}

//  The connection list of a call made of two (Transferred, Conferenced, their results):
//  every connection of the resulting call, with the one it had before.  Parties from
//  index `first_moved` on came from call `moved_from`; the others were in c already.
static void s_conn_list(pbx_switch_t *self, const pbx_call_t *c, int first_moved,
                        uint16_t moved_from, csta_conn_list_t *list)
{
    memset(list, 0, sizeof *list);
    for (int p = 0; p < c->nparty && list->count < CSTA_CONN_LIST_MAX; p++) {
        csta_conn_list_item_t *item = &list->item[list->count++];
        pbx_call_conn(self, p >= first_moved ? moved_from : c->id, &c->party[p], &item->old_conn);
        pbx_party_conn(self, c, &c->party[p], &item->new_conn);
        pbx_party_device_id(self, &c->party[p], &item->endpoint);
    }
    list->present = list->count > 0;
}

//  TransferCall: the transferring device leaves both calls; the party it held and the
//  party of its active call are joined in the held call (ECMA-269 TransferCall).
static int s_transfer_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *hc, *ac;
    int hp, ap;
    if (s_held_and_active(self, &req->call.transfer_call.held_call,
                          &req->call.transfer_call.active_call, false, &hc, &hp, &ac, &ap, res))
        return -1;
    int to = s_other_party(ac, ap);
    if (to < 0 || s_other_party(hc, hp) < 0)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    if (hc->nparty - 1 + ac->nparty - 1 > PBX_CALL_PARTIES_MAX)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_LIMIT_EXCEEDED);
    pbx_party_t transferring = hc->party[hp];
    uint16_t primary = hc->id, secondary = ac->id;
    csta_device_t transferred_to;
    pbx_party_device_id(self, &ac->party[to], &transferred_to);
    //  The resulting call is the held party calling the transferred-to party: events
    //  after the transfer (the Established of a party that was still ringing) say so.
    snprintf(hc->called_number, sizeof hc->called_number, "%s", ac->called_number);
    s_party_remove(self, hc, hp);
    transferring.state = CSTA_LCS_NULL;
    if (hc->calling < 0)
        hc->calling = 0;
    int first = s_merge(self, hc, ac, ap);
    csta_conn_list_t list;
    s_conn_list(self, hc, first, secondary, &list);
    s_ok(res, CSTA_OP_TRANSFER_CALL);
    pbx_ev_transferred(self, hc, primary, secondary, &transferring, &transferred_to, &list,
                       CSTA_CAUSE_TRANSFER);
    pbx_party_conn(self, hc, &hc->party[first], &res->call.transfer_call_res.transferred_call);
    res->call.transfer_call_res.connections = list;
    return 0;
}

//  ConferenceCall: the party of the active call joins the held call, which the
//  conferencing device retrieves; everyone is connected.
static int s_conference_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *hc, *ac;
    int hp, ap;
    if (s_held_and_active(self, &req->call.conference_call.held_call,
                          &req->call.conference_call.active_call, false, &hc, &hp, &ac, &ap, res))
        return -1;
    int added = s_other_party(ac, ap);
    if (added < 0 || hc->nparty + ac->nparty - 1 > PBX_CALL_PARTIES_MAX)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, S_SYSERR_CONFERENCE_MEMBER_LIMIT);
    csta_device_t added_party;
    pbx_party_device_id(self, &ac->party[added], &added_party);
    uint16_t primary = hc->id, secondary = ac->id;
    int first = s_merge(self, hc, ac, ap);
    s_set_state(self, &hc->party[hp], CSTA_LCS_CONNECTED);
    csta_conn_list_t list;
    s_conn_list(self, hc, first, secondary, &list);
    pbx_ev_conferenced(self, hc, primary, secondary, hp, &added_party, &list,
                       CSTA_CAUSE_CONFERENCE);
    s_ok(res, CSTA_OP_CONFERENCE_CALL);
    pbx_party_conn(self, hc, &hc->party[hp], &res->call.conference_call_res.conference_call);
    res->call.conference_call_res.connections = list;
    return 0;
}

//  Whether a call could be offered to `number` at all (a device that takes calls, or an
//  outside number): a transfer to anything else is refused before anything changes.
static bool s_routable(const pbx_switch_t *self, const char *number)
{
    if (!number[0])
        return false;
    if (s_is_outside(self, number))
        return true;
    int d = pbx_switch_find_number(self, number);
    return d >= 0 && (self->devices[d].cfg.type == PBX_DEV_EXTENSION ||
                      self->devices[d].cfg.type == PBX_DEV_HUNT_GROUP);
}

//  SingleStepTransfer: the transferring device leaves at once; the remaining party is
//  offered to the new destination in the same call.  The result names the connection
//  at the transferred-to device (ECMA-269 SingleStepTransferCall).
static int s_single_step_transfer(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_single_step_transfer_arg_t *arg = &req->call.single_step_transfer;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->active_call, c, p);
    int other = s_other_party(c, p);
    if (c->party[p].state != CSTA_LCS_CONNECTED || other < 0 || c->nparty != 2)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_ACTIVE_CALL);
    if (arg->transferred_to.kind != CSTA_DEV_DIALING || !s_routable(self, arg->transferred_to.digits))
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DESTINATION);
    pbx_party_t transferring = c->party[p];
    char to[PBX_NUMBER_MAX];
    snprintf(to, sizeof to, "%s", arg->transferred_to.digits);
    csta_device_t transferred_to;
    int to_device = pbx_switch_find_number(self, to);
    if (to_device >= 0)
        pbx_switch_device_id(self, to_device, &transferred_to);
    else
        csta_device_set(&transferred_to, to);
    s_party_remove(self, c, p);
    transferring.state = CSTA_LCS_NULL;
    c->calling = 0;     //  the remaining party now calls the new destination
    c->last_redirection = transferring.device;
    csta_conn_list_t list;
    s_conn_list(self, c, c->nparty, 0, &list);
    pbx_ev_transferred(self, c, c->id, 0, &transferring, &transferred_to, &list,
                       CSTA_CAUSE_SINGLE_STEP_TRANSFER);
    int np = s_route(self, c, to, CSTA_CAUSE_SINGLE_STEP_TRANSFER, 0);
    s_ok(res, CSTA_OP_SINGLE_STEP_TRANSFER);
    if (np >= 0) {
        pbx_party_conn(self, c, &c->party[np], &res->call.single_step_transfer_res.transferred_call);
    } else {
        uint8_t id[2] = {(uint8_t) (c->id >> 8), (uint8_t) c->id};
        csta_conn_set(&res->call.single_step_transfer_res.transferred_call, id, 2, to);
    }
    res->call.single_step_transfer_res.connections = list;
    return 0;
}

//  SingleStepConference: a device joins an active call at once, without ringing.
static int s_single_step_conference(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_single_step_conference_arg_t *arg = &req->call.single_step_conference;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->active_call, c, p);
    if (c->party[p].state != CSTA_LCS_CONNECTED)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_ACTIVE_CALL);
    int joining = pbx_switch_find(self, &arg->device_to_join);
    if (joining < 0 || self->devices[joining].cfg.type != PBX_DEV_EXTENSION)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    if (s_busy(self, joining))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_DEVICE_STATE);
    int jp = s_party_add(c, joining, false, NULL, NULL);
    if (jp < 0)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, S_SYSERR_CONFERENCE_MEMBER_LIMIT);
    s_set_state(self, &c->party[jp], CSTA_LCS_CONNECTED);
    csta_device_t added;
    pbx_switch_device_id(self, joining, &added);
    csta_conn_list_t list;
    s_conn_list(self, c, c->nparty, 0, &list);
    list.item[jp].old_conn.present = false;     //  the joining device had no connection
    pbx_ev_conferenced(self, c, c->id, 0, p, &added, &list, CSTA_CAUSE_SINGLE_STEP_CONFERENCE);
    s_ok(res, CSTA_OP_SINGLE_STEP_CONFERENCE);
    pbx_party_conn(self, c, &c->party[jp], &res->call.single_step_conference_res.conferenced_call);
    return 0;
}

//  Move a ringing call from party p to `number` (deflection, forwarding on no answer):
//  Diverted, then the new destination is offered the call.  The call keeps the number
//  the caller dialled as its called device.
static int s_divert(pbx_switch_t *self, pbx_call_t *c, int p, const char *number, int cause)
{
    pbx_party_t gone = c->party[p];
    s_party_remove(self, c, p);
    gone.state = CSTA_LCS_NULL;
    pbx_ev_diverted(self, c, &gone, number, cause);
    c->last_redirection = gone.device;
    return s_route(self, c, number, cause, 1);
}

static int s_deflect_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_deflect_call_arg_t *arg = &req->call.deflect_call;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->call_to_be_diverted, c, p);
    if (c->party[p].state != CSTA_LCS_ALERTING)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    if (arg->new_destination.kind != CSTA_DEV_DIALING || !arg->new_destination.digits[0])
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DESTINATION);
    s_divert(self, c, p, arg->new_destination.digits, CSTA_CAUSE_REDIRECTED);
    s_ok(res, CSTA_OP_DEFLECT_CALL);
    return 0;
}

//  The person at `device` takes the call ringing at party p: Diverted (callPickup) from
//  the ringing device, then Established at the picker, which never rang.
static int s_pickup(pbx_switch_t *self, pbx_call_t *c, int p, int device, csta_conn_t *picked)
{
    pbx_party_t gone = c->party[p];
    s_party_remove(self, c, p);
    gone.state = CSTA_LCS_NULL;
    pbx_ev_diverted(self, c, &gone, self->devices[device].cfg.number, CSTA_CAUSE_CALL_PICKUP);
    c->last_redirection = gone.device;
    int np = s_party_add(c, device, false, NULL, NULL);
    if (np < 0)
        return np;
    s_connect(self, c, np, CSTA_CAUSE_CALL_PICKUP);
    pbx_party_conn(self, c, &c->party[np], picked);
    return 0;
}

static int s_directed_pickup(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_directed_pickup_call_arg_t *arg = &req->call.directed_pickup_call;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->call_to_be_picked_up, c, p);
    int device = pbx_switch_find(self, &arg->requesting_device);
    if (device < 0 || self->devices[device].cfg.type != PBX_DEV_EXTENSION)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_PICKUP_DEVICE_ID);
    if (c->party[p].state != CSTA_LCS_ALERTING)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    if (s_busy(self, device))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_DEVICE_STATE);
    s_ok(res, CSTA_OP_DIRECTED_PICKUP_CALL);
    s_pickup(self, c, p, device, &res->call.directed_pickup_call_res.picked_call);
    return 0;
}

static int s_group_pickup(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_group_pickup_call_arg_t *arg = &req->call.group_pickup_call;
    int device = pbx_switch_find(self, &arg->new_destination);
    if (device < 0 || self->devices[device].cfg.type != PBX_DEV_EXTENSION)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_PICKUP_DEVICE_ID);
    int group = arg->pick_group.kind != CSTA_DEV_ABSENT ? pbx_switch_find(self, &arg->pick_group)
                                                        : self->devices[device].pickup_group;
    if (group < 0 || self->devices[group].cfg.type != PBX_DEV_PICKUP_GROUP)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    if (s_busy(self, device))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_DEVICE_STATE);
    const pbx_device_cfg_t *g = &self->devices[group].cfg;
    for (int slot = 0; slot < self->cfg.max_calls; slot++) {
        pbx_call_t *c = &self->calls[slot];
        if (!c->used)
            continue;
        for (int p = 0; p < c->nparty; p++) {
            if (c->party[p].state != CSTA_LCS_ALERTING || c->party[p].external)
                continue;
            for (int m = 0; m < g->member_count; m++)
                if (g->members[m] == c->party[p].device && c->party[p].device != device) {
                    s_ok(res, CSTA_OP_GROUP_PICKUP_CALL);
                    s_pickup(self, c, p, device, &res->call.group_pickup_call_res.picked_call);
                    return 0;
                }
        }
    }
    return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_CALL_TO_ANSWER);
}

static int s_generate_digits(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_generate_digits_arg_t *arg = &req->call.generate_digits;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->connection_to_send_digits, c, p);
    if (c->party[p].state != CSTA_LCS_CONNECTED)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    pbx_ev_digits_generated(self, c, p, arg->characters_to_send);
    s_ok(res, CSTA_OP_GENERATE_DIGITS);
    return 0;
}

static int s_dial_digits(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_dial_digits_arg_t *arg = &req->call.dial_digits;
    pbx_call_t *c;
    int p;
    S_CONN(&arg->dialling_connection, c, p);
    const char *digits = arg->dialling_sequence.digits;
    if (!digits[0])
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DESTINATION);
    if (c->party[p].state == CSTA_LCS_INITIATED && c->nparty == 1) {
        //  Dial-tone mode: the digits are the number.
        s_set_state(self, &c->party[p], CSTA_LCS_CONNECTED);
        snprintf(c->called_number, sizeof c->called_number, "%s", digits);
        pbx_ev_originated(self, c, p, CSTA_CAUSE_NEW_CALL);
        s_route(self, c, digits, CSTA_CAUSE_NEW_CALL, 0);
    } else if (c->party[p].state == CSTA_LCS_CONNECTED) {
        pbx_ev_digits_generated(self, c, p, digits);
    } else {
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    }
    s_ok(res, CSTA_OP_DIAL_DIGITS);
    return 0;
}

//  CallBack: when the busy or unanswering device becomes free, the requester is called.
static int s_call_back(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.call_back.callback_connection, c, p);
    int target = pbx_switch_find_number(self, c->called_number);
    if (target < 0 || self->devices[target].cfg.type != PBX_DEV_EXTENSION ||
        c->party[p].external)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_CALL_TO_COMPLETE);
    self->devices[target].callback_from = c->party[p].device;
    self->waiters = true;
    s_ok(res, CSTA_OP_CALL_BACK);
    pbx_switch_device_id(self, target, &res->call.call_back_res.target_device);
    return 0;
}

static int s_call_back_non_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    const csta_call_back_non_call_related_arg_t *arg = &req->call.call_back_non_call_related;
    int from = pbx_switch_find(self, &arg->originating_device);
    int target = pbx_switch_find(self, &arg->target_device);
    if (from < 0 || target < 0 || self->devices[target].cfg.type != PBX_DEV_EXTENSION)
        return s_fail(res, CSTA_ERR_OPERATION, CSTA_OPERR_INVALID_DEVICE_ID);
    self->devices[target].callback_from = from;
    self->waiters = true;
    s_ok(res, CSTA_OP_CALL_BACK_NON_CALL_RELATED);
    return 0;
}

static int s_camp_on(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.camp_on_call.campon_connection, c, p);
    int target = pbx_switch_find_number(self, c->called_number);
    if (target < 0 || !s_busy(self, target) || self->devices[target].camp_on_call >= 0)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CALLED_DEVICE_STATE);
    int tp = s_party_add(c, target, false, NULL, NULL);
    if (tp < 0)
        return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_LIMIT_EXCEEDED);
    s_set_state(self, &c->party[tp], CSTA_LCS_QUEUED);
    //  The caller stops hearing busy tone: it waits for the target (ringback).
    if (c->party[p].state == CSTA_LCS_FAIL)
        s_set_state(self, &c->party[p], CSTA_LCS_CONNECTED);
    self->devices[target].camp_on_call = (int) (c - self->calls);
    self->waiters = true;
    pbx_ev_queued(self, c, tp, CSTA_CAUSE_CAMP_ON);
    s_ok(res, CSTA_OP_CAMP_ON_CALL);
    return 0;
}

static int s_intrude(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.intrude_call.intrude, c, p);
    int target = pbx_switch_find_number(self, c->called_number);
    if (target < 0 || !s_busy(self, target))
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CALLED_DEVICE_STATE);
    //  Join the busy device's active call.
    for (int slot = 0; slot < self->cfg.max_calls; slot++) {
        pbx_call_t *t = &self->calls[slot];
        if (!t->used || t == c)
            continue;
        for (int tp = 0; tp < t->nparty; tp++) {
            if (t->party[tp].external || t->party[tp].device != target ||
                t->party[tp].state != CSTA_LCS_CONNECTED)
                continue;
            int intruder = c->party[p].device;
            if (t->nparty >= PBX_CALL_PARTIES_MAX)
                return s_fail(res, CSTA_ERR_SYSTEM_RESOURCE, CSTA_SYSERR_RESOURCE_LIMIT_EXCEEDED);
            //  The intruder leaves its own (busy) call and joins.
            while (c->used && c->nparty > 0) {
                int q;
                for (q = 0; q < c->nparty && c->party[q].device != intruder; q++)
                    ;
                if (q == c->nparty)
                    break;
                s_clear_party(self, c, q, CSTA_CAUSE_INTRUDE);
            }
            int ip = s_party_add(t, intruder, false, NULL, NULL);
            s_set_state(self, &t->party[ip], CSTA_LCS_CONNECTED);
            csta_device_t added;
            pbx_switch_device_id(self, intruder, &added);
            csta_conn_list_t list;
            s_conn_list(self, t, t->nparty, 0, &list);
            list.item[ip].old_conn.present = false;
            pbx_ev_conferenced(self, t, t->id, 0, tp, &added, &list, CSTA_CAUSE_INTRUDE);
            s_ok(res, CSTA_OP_INTRUDE_CALL);
            pbx_party_conn(self, t, &t->party[ip], &res->call.intrude_call_res.conferenced_call);
            return 0;
        }
    }
    return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_NO_ACTIVE_CALL);
}

static int s_accept_call(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    pbx_call_t *c;
    int p;
    S_CONN(&req->call.accept_call.call_to_be_accepted, c, p);
    //  pbxsim offers every call straight into alerting, so accepting changes nothing.
    if (c->party[p].state != CSTA_LCS_ALERTING)
        return s_fail(res, CSTA_ERR_STATE, CSTA_STERR_INVALID_CONNECTION_STATE);
    s_ok(res, CSTA_OP_ACCEPT_CALL);
    return 0;
}

int pbx_switch_request(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res)
{
    int rc;
    self->stats.requests++;
    switch (req->opcode) {
    case CSTA_OP_MAKE_CALL: rc = s_make_call(self, req, res); break;
    case CSTA_OP_ANSWER_CALL: rc = s_answer_call(self, req, res); break;
    case CSTA_OP_CLEAR_CONNECTION: rc = s_clear_connection(self, req, res); break;
    case CSTA_OP_CLEAR_CALL: rc = s_clear_call(self, req, res); break;
    case CSTA_OP_HOLD_CALL: rc = s_hold_call(self, req, res); break;
    case CSTA_OP_RETRIEVE_CALL: rc = s_retrieve_call(self, req, res); break;
    case CSTA_OP_CONSULTATION_CALL: rc = s_consultation_call(self, req, res); break;
    case CSTA_OP_ALTERNATE_CALL: rc = s_alternate_call(self, req, res); break;
    case CSTA_OP_RECONNECT_CALL: rc = s_reconnect_call(self, req, res); break;
    case CSTA_OP_TRANSFER_CALL: rc = s_transfer_call(self, req, res); break;
    case CSTA_OP_CONFERENCE_CALL: rc = s_conference_call(self, req, res); break;
    case CSTA_OP_SINGLE_STEP_TRANSFER: rc = s_single_step_transfer(self, req, res); break;
    case CSTA_OP_SINGLE_STEP_CONFERENCE: rc = s_single_step_conference(self, req, res); break;
    case CSTA_OP_DEFLECT_CALL: rc = s_deflect_call(self, req, res); break;
    case CSTA_OP_DIRECTED_PICKUP_CALL: rc = s_directed_pickup(self, req, res); break;
    case CSTA_OP_GROUP_PICKUP_CALL: rc = s_group_pickup(self, req, res); break;
    case CSTA_OP_GENERATE_DIGITS: rc = s_generate_digits(self, req, res); break;
    case CSTA_OP_DIAL_DIGITS: rc = s_dial_digits(self, req, res); break;
    case CSTA_OP_CALL_BACK: rc = s_call_back(self, req, res); break;
    case CSTA_OP_CALL_BACK_NON_CALL_RELATED: rc = s_call_back_non_call(self, req, res); break;
    case CSTA_OP_CAMP_ON_CALL: rc = s_camp_on(self, req, res); break;
    case CSTA_OP_INTRUDE_CALL: rc = s_intrude(self, req, res); break;
    case CSTA_OP_ACCEPT_CALL: rc = s_accept_call(self, req, res); break;
    default:
        rc = pbx_switch_feature_request(self, req, res);
        if (rc == -ENOTSUP)
            self->stats.requests--;
        return rc;
    }
    if (rc)
        self->stats.requests_failed++;
    return rc;
}

//  --- Timers -------------------------------------------------------------------------------------------

void pbx_switch_timer(pbx_switch_t *self, int timer_ref)
{
    int slot = timer_ref & ((1 << S_TIMER_SLOT_BITS) - 1);
    if (slot >= self->cfg.max_calls || !self->calls[slot].used)
        return;
    pbx_call_t *c = &self->calls[slot];
    for (int p = 0; p < c->nparty; p++) {
        pbx_party_t *party = &c->party[p];
        if (party->timer_ref != timer_ref || !party->timer)
            continue;
        int kind = party->timer_kind;
        party->timer = 0;
        party->timer_kind = 0;
        if (party->state != CSTA_LCS_ALERTING)
            return;
        if (kind == PBX_TIMER_AUTO_ANSWER || kind == PBX_TIMER_REMOTE_ANSWER) {
            s_connect(self, c, p, CSTA_CAUSE_NEW_CALL);
        } else if (kind == PBX_TIMER_NO_ANSWER) {
            //  Forward on no answer if set; otherwise the phone keeps ringing.
            const pbx_device_t *dev = &self->devices[party->device];
            const pbx_forward_t *fwd = s_forward(dev, 2, 5, 6, s_calling_is_external(c));
            if (fwd) {
                char dn[PBX_NUMBER_MAX];
                snprintf(dn, sizeof dn, "%s", fwd->dn);
                s_divert(self, c, p, dn, CSTA_CAUSE_CALL_FORWARD_NO_ANSWER);
            } else {
                s_start_timer(self, c, party, PBX_TIMER_NO_ANSWER, self->cfg.no_answer_ms);
            }
        }
        return;
    }
}

//  A device went idle: ring the camped-on call, or set up the pending call-back (the
//  requester is called first; answering rings the target).
static void s_device_idle(pbx_switch_t *self, int device)
{
    pbx_device_t *dev = &self->devices[device];
    if (dev->active > 0 || dev->cfg.type != PBX_DEV_EXTENSION)
        return;
    if (dev->camp_on_call >= 0) {
        pbx_call_t *c = &self->calls[dev->camp_on_call];
        dev->camp_on_call = -1;
        for (int p = 0; c->used && p < c->nparty; p++)
            if (c->party[p].device == device && c->party[p].state == CSTA_LCS_QUEUED) {
                s_alert(self, c, p, CSTA_CAUSE_CAMP_ON);
                return;
            }
    }
    if (dev->callback_from >= 0 && !s_busy(self, dev->callback_from)) {
        int from = dev->callback_from;
        dev->callback_from = -1;
        pbx_call_t *c = s_call_new(self);
        if (!c)
            return;
        //  The call-back rings the requester on behalf of the target.
        int tp = s_party_add(c, device, false, NULL, NULL);
        c->calling = tp;
        c->charged_device = from;
        s_set_state(self, &c->party[tp], CSTA_LCS_CONNECTED);
        s_route(self, c, self->devices[from].cfg.number, CSTA_CAUSE_CALL_BACK, 0);
        if (c->nparty < 2)
            s_clear_party(self, c, 0, CSTA_CAUSE_CALL_BACK);
    }
}

//  After a release: devices that are idle now and owe a camped-on call or a call-back.
static void s_wake_waiters(pbx_switch_t *self)
{
    static bool waking;
    if (waking || !self->waiters)
        return;     //  s_device_idle releases calls itself; no recursion
    waking = true;
    //  Without a camp-on or call-back pending nothing is walked (thousands of devices, a
    //  walk per released call); the walk notes whether any is still pending.
    bool any = false;
    for (int d = 0; d < self->device_count; d++) {
        pbx_device_t *dev = &self->devices[d];
        if ((dev->camp_on_call >= 0 || dev->callback_from >= 0) && dev->active == 0)
            s_device_idle(self, d);
        any |= dev->camp_on_call >= 0 || dev->callback_from >= 0;
    }
    self->waiters = any;
    waking = false;
}

//  --- People and the network ---------------------------------------------------------------------

int pbx_switch_inbound(pbx_switch_t *self, const char *caller, const char *name, const char *called)
{
    int trunk = s_free_trunk(self);
    if (trunk < 0)
        return -EBUSY;
    if (pbx_switch_find_number(self, called) < 0)
        return -ENOENT;
    pbx_call_t *c = s_call_new(self);
    if (!c)
        return -ENOSPC;
    int p = s_party_add(c, trunk, true, caller, name);
    c->calling = p;
    //  An incoming CO call is recorded too: the outside caller, charged to the CO line.
    c->charged_device = trunk;
    snprintf(c->cdr_caller, sizeof c->cdr_caller, "%s", caller);
    s_set_state(self, &c->party[p], CSTA_LCS_CONNECTED);
    int rc = s_route(self, c, called, CSTA_CAUSE_NEW_CALL, 0);
    int id = c->id;
    if (rc < 0 && c->used) {
        //  Busy or unreachable: the network clears the caller.
        s_clear_party(self, c, 0, CSTA_CAUSE_BUSY);
        return rc;
    }
    return id;
}

//  The call and party of a device in the given state (any call), or -ENOENT.  For a
//  trunk that is the external party on it (the far end), which `number` names too when
//  it is not a device: an outside number in a call.
static int s_find_device_party(pbx_switch_t *self, int device, const char *number,
                               csta_lcs_t state, pbx_call_t **c_out, int *p_out)
{
    for (int slot = 0; slot < self->cfg.max_calls; slot++) {
        pbx_call_t *c = &self->calls[slot];
        if (!c->used)
            continue;
        for (int p = 0; p < c->nparty; p++)
            if ((device >= 0 ? c->party[p].device == device
                             : c->party[p].external && strcmp(c->party[p].number, number) == 0) &&
                c->party[p].state == state) {
                *c_out = c;
                *p_out = p;
                return 0;
            }
    }
    return -ENOENT;
}

int pbx_switch_answer(pbx_switch_t *self, const char *number)
{
    int device = pbx_switch_find_number(self, number);
    pbx_call_t *c;
    int p;
    if (s_find_device_party(self, device, number, CSTA_LCS_ALERTING, &c, &p))
        return -ENOENT;
    s_connect(self, c, p, CSTA_CAUSE_NEW_CALL);
    return c->id;
}

int pbx_switch_hangup(pbx_switch_t *self, const char *number)
{
    int device = pbx_switch_find_number(self, number);
    pbx_call_t *c;
    int p;
    //  Hanging up ends the active call, or the one still being set up.
    const csta_lcs_t order[] = {CSTA_LCS_CONNECTED, CSTA_LCS_INITIATED, CSTA_LCS_FAIL,
                                CSTA_LCS_QUEUED};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (s_find_device_party(self, device, number, order[i], &c, &p) == 0) {
            int id = c->id;
            s_clear_party(self, c, p, CSTA_CAUSE_NORMAL_CLEARING);
            return id;
        }
    return -ENOENT;
}

int pbx_switch_hold(pbx_switch_t *self, const char *number)
{
    int device = pbx_switch_find_number(self, number);
    pbx_call_t *c;
    int p;
    if (device < 0 || self->devices[device].cfg.type != PBX_DEV_EXTENSION ||
        s_find_device_party(self, device, number, CSTA_LCS_CONNECTED, &c, &p))
        return -ENOENT;
    s_hold(self, c, p, CSTA_CAUSE_KEY_OPERATION);
    return c->id;
}

int pbx_switch_dial(pbx_switch_t *self, const char *number, const char *called)
{
    int device = pbx_switch_find_number(self, number);
    if (device < 0 || self->devices[device].cfg.type != PBX_DEV_EXTENSION)
        return -ENOENT;
    if (s_busy(self, device) || self->devices[device].out_of_service)
        return -EBUSY;
    pbx_call_t *c = s_call_new(self);
    if (!c)
        return -ENOSPC;
    int p = s_party_add(c, device, false, NULL, NULL);
    c->calling = p;
    c->charged_device = device;
    //  Off-hook: ServiceInitiated; then the number is dialled: Originated.
    s_set_state(self, &c->party[p], CSTA_LCS_INITIATED);
    pbx_ev_service_initiated(self, c, p, CSTA_CAUSE_NEW_CALL);
    if (!called || !called[0])
        return c->id;   //  dial tone: DialDigits or `dial` again completes it
    s_set_state(self, &c->party[p], CSTA_LCS_CONNECTED);
    snprintf(c->called_number, sizeof c->called_number, "%s", called);
    pbx_ev_originated(self, c, p, CSTA_CAUSE_NEW_CALL);
    int id = c->id;
    int rc = s_route(self, c, called, CSTA_CAUSE_NEW_CALL, 0);
    if (rc < 0 && c->used && c->nparty == 1)
        s_clear_party(self, c, 0, CSTA_CAUSE_NORMAL_CLEARING);  //  hangs up on busy tone
    return rc < 0 ? rc : id;
}

int pbx_switch_set_in_service(pbx_switch_t *self, const char *number, bool in_service)
{
    int device = pbx_switch_find_number(self, number);
    if (device < 0)
        return -ENOENT;
    if (self->devices[device].out_of_service == !in_service)
        return device;
    self->devices[device].out_of_service = !in_service;
    pbx_ev_service(self, device, in_service);
    return device;
}

int pbx_switch_set_auto_answer(pbx_switch_t *self, const char *number, int delay_ms)
{
    int device = pbx_switch_find_number(self, number);
    if (device < 0)
        return -ENOENT;
    self->devices[device].cfg.auto_answer_ms = delay_ms < 0 ? -1 : delay_ms;
    return device;
}

void pbx_switch_reset(pbx_switch_t *self)
{
    for (int slot = 0; slot < self->cfg.max_calls; slot++)
        if (self->calls[slot].used) {
            self->calls[slot].charged_device = -1;      //  a restart writes no CDR
            s_call_free(self, &self->calls[slot], 0);
        }
    for (int d = 0; d < self->device_count; d++) {
        self->devices[d].callback_from = -1;
        self->devices[d].camp_on_call = -1;
    }
    self->waiters = false;
}

//  --- Views --------------------------------------------------------------------------------------------

int pbx_switch_snapshot(const pbx_switch_t *self, int device, pbx_snapshot_item_t *items, int max)
{
    int n = 0;
    for (int slot = 0; slot < self->cfg.max_calls && n < max; slot++) {
        const pbx_call_t *c = &self->calls[slot];
        if (!c->used)
            continue;
        for (int p = 0; p < c->nparty && n < max; p++) {
            if (c->party[p].device != device)
                continue;
            int other = s_other_party(c, p);
            items[n].call_id = c->id;
            items[n].state = c->party[p].state;
            items[n].other_device = c->nparty == 2 && other >= 0 ? c->party[other].device : -1;
            items[n].other_state = items[n].other_device >= 0 ? c->party[other].state
                                                              : CSTA_LCS_NULL;
            n++;
        }
    }
    return n;
}

static const char *s_lcs_str(csta_lcs_t state)
{
    switch (state) {
    case CSTA_LCS_ABSENT: return "absent";
    case CSTA_LCS_NULL: return "null";
    case CSTA_LCS_INITIATED: return "initiated";
    case CSTA_LCS_ALERTING: return "alerting";
    case CSTA_LCS_CONNECTED: return "connected";
    case CSTA_LCS_HOLD: return "hold";
    case CSTA_LCS_QUEUED: return "queued";
    case CSTA_LCS_FAIL: return "fail";
    }
    return "?";
}

#define S_PUT(...)                                                                               \
    do {                                                                                         \
        int w_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                          \
        if (w_ > 0)                                                                              \
            n += (size_t) w_;                                                                    \
    } while (0)

size_t pbx_switch_calls_json(const pbx_switch_t *self, char *buf, size_t cap)
{
    size_t n = 0;
    bool first = true;
    S_PUT("[");
    for (int slot = 0; slot < self->cfg.max_calls; slot++) {
        const pbx_call_t *c = &self->calls[slot];
        if (!c->used)
            continue;
        S_PUT("%s{\"id\":%u,\"called\":\"%s\",\"parties\":[", first ? "" : ",", c->id,
              c->called_number);
        first = false;
        for (int p = 0; p < c->nparty; p++) {
            const pbx_party_t *party = &c->party[p];
            S_PUT("%s{\"device\":\"%s\",\"number\":\"%s\",\"state\":\"%s\"%s}", p ? "," : "",
                  self->devices[party->device].cfg.number,
                  party->external ? party->number : self->devices[party->device].cfg.number,
                  s_lcs_str(party->state), party->external ? ",\"external\":true" : "");
        }
        S_PUT("]}");
    }
    S_PUT("]");
    return n < cap ? n : cap;
}

size_t pbx_switch_devices_json(const pbx_switch_t *self, char *buf, size_t cap)
{
    size_t n = 0;
    S_PUT("[");
    for (int d = 0; d < self->device_count; d++) {
        const pbx_device_t *dev = &self->devices[d];
        S_PUT("%s{\"number\":\"%s\",\"name\":\"%s\",\"type\":\"%s\",\"device_number\":%ld,"
              "\"dnd\":%s,\"in_service\":%s,\"active\":%d,\"held\":%d,\"forwarding\":[",
              d ? "," : "", dev->cfg.number, dev->cfg.name, pbx_dev_type_str(dev->cfg.type),
              dev->cfg.device_number, dev->dnd ? "true" : "false",
              dev->out_of_service ? "false" : "true", dev->active, dev->held);
        bool first = true;
        for (int t = 0; t < PBX_FWD_TYPES; t++)
            if (dev->fwd[t].active) {
                S_PUT("%s{\"type\":%d,\"dn\":\"%s\"}", first ? "" : ",", t, dev->fwd[t].dn);
                first = false;
            }
        S_PUT("]}");
    }
    S_PUT("]");
    return n < cap ? n : cap;
}

#undef S_PUT

void pbx_switch_stats(const pbx_switch_t *self, pbx_switch_stats_t *stats)
{
    *stats = self->stats;
}

int pbx_switch_call_snapshot(const pbx_switch_t *self, uint16_t call_id,
                             csta_snapshot_call_item_t *items, int max)
{
    int slot = self->slot_of_id[call_id];
    if (slot < 0)
        return -ENOENT;
    const pbx_call_t *c = &self->calls[slot];
    int n = 0;
    for (int p = 0; p < c->nparty && n < max; p++, n++) {
        memset(&items[n], 0, sizeof items[n]);
        pbx_party_device_id(self, &c->party[p], &items[n].device_on_call);
        pbx_party_conn(self, c, &c->party[p], &items[n].call_identifier);
        items[n].local_connection_state = c->party[p].state;
    }
    return n;
}
