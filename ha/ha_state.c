//  ha_state: the replicated key-value state, one source per node incarnation (ha_state.h).
//  Each source holds its keys in a czmq zhashx (key text -> s_entry_t); the sources are a
//  small array, this node's own first.
#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ha_owner.h"
#include "ha_state.h"

typedef struct {
    uint32_t linger_ms;
    size_t len;
    uint8_t value[];
} s_entry_t;

typedef struct {
    char node[HA_NAME_MAX];
    uint64_t incarnation;
    uint64_t seq;
    bool lost;
    int64_t lost_at;
    int64_t expires_next;           //  lost: the earliest expiry among its keys
    zhashx_t *entries;
} s_source_t;

struct ha_state {
    s_source_t *sources[HA_STATE_SOURCES_MAX];
    size_t count;                   //  sources[0] is this node's own
    ha_state_change_fn *listener;
    void *listener_ctx;
    bool busy;                      //  inside the listener: no changes
};

struct ha_state_snap {
    char node[HA_NAME_MAX];
    uint64_t incarnation;
    zhashx_t *entries;
};

const char *ha_state_result_str(ha_state_result_t result)
{
    static const char *const names[] = {"applied", "duplicate", "gap", "refused"};
    return (unsigned) result < sizeof names / sizeof names[0] ? names[result] : "unknown";
}

//  --- Entries and sources ------------------------------------------------------------------

//  Tables own their entries but have no destructor: czmq would free an entry inside
//  zhashx_update and zhashx_delete, before the listener has seen the old value.
static zhashx_t *s_table_new(void)
{
    return zhashx_new();
}

static void s_table_destroy(zhashx_t **t_p)
{
    if (!*t_p)
        return;
    for (void *e = zhashx_first(*t_p); e; e = zhashx_next(*t_p))
        free(e);
    zhashx_destroy(t_p);
}

//  Take key out of t; the caller frees the entry it returns.
static s_entry_t *s_take(zhashx_t *t, const char *key)
{
    s_entry_t *e = zhashx_lookup(t, key);
    if (e)
        zhashx_delete(t, key);
    return e;
}

static s_entry_t *s_entry_new(const void *value, size_t len, uint32_t linger_ms)
{
    s_entry_t *e = malloc(sizeof *e + len);
    if (e) {
        e->linger_ms = linger_ms;
        e->len = len;
        if (len)
            memcpy(e->value, value, len);
    }
    return e;
}

static bool s_key_ok(const char *key)
{
    return key && *key && strlen(key) < HA_STATE_KEY_MAX;
}

static s_source_t *s_source_new(const char *node, uint64_t incarnation)
{
    s_source_t *src = calloc(1, sizeof *src);
    if (!src)
        return NULL;
    snprintf(src->node, sizeof src->node, "%s", node);
    src->incarnation = incarnation;
    src->expires_next = INT64_MAX;
    src->entries = s_table_new();
    if (!src->entries) {
        free(src);
        return NULL;
    }
    return src;
}

static void s_source_free(s_source_t **src_p)
{
    if (!*src_p)
        return;
    s_table_destroy(&(*src_p)->entries);
    free(*src_p);
    *src_p = NULL;
}

static int s_find(const ha_state_t *self, const char *node, uint64_t incarnation)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->sources[i]->incarnation == incarnation &&
            strcmp(self->sources[i]->node, node) == 0)
            return (int) i;
    return -1;
}

static s_source_t *s_add_source(ha_state_t *self, const char *node, uint64_t incarnation)
{
    if (self->count == HA_STATE_SOURCES_MAX)
        return NULL;
    s_source_t *src = s_source_new(node, incarnation);
    if (src)
        self->sources[self->count++] = src;
    return src;
}

static void s_remove_source(ha_state_t *self, size_t i)
{
    s_source_free(&self->sources[i]);
    memmove(&self->sources[i], &self->sources[i + 1],
            (self->count - i - 1) * sizeof self->sources[0]);
    self->count--;
}

static void s_notify(ha_state_t *self, ha_state_change_kind_t kind, const s_source_t *src,
                     const char *key, const s_entry_t *e)
{
    if (!self->listener)
        return;
    ha_state_change_t c = {kind, src->node, src->incarnation, src == self->sources[0], key,
                           e ? e->value : NULL, e ? e->len : 0};
    self->busy = true;
    self->listener(self->listener_ctx, &c);
    self->busy = false;
}

//  Set or delete key in src, telling the listener.  Returns true when something changed.
static bool s_set(ha_state_t *self, s_source_t *src, const char *key, const void *value,
                  size_t len, uint32_t linger_ms, bool deleted, bool *oom)
{
    s_entry_t *old = zhashx_lookup(src->entries, key);
    if (deleted) {
        if (!old)
            return false;
        s_take(src->entries, key);
        s_notify(self, HA_STATE_REMOVED, src, key, old);
        free(old);
        return true;
    }
    if (old && old->len == len && old->linger_ms == linger_ms &&
        (len == 0 || memcmp(old->value, value, len) == 0))
        return false;
    s_entry_t *e = s_entry_new(value, len, linger_ms);
    if (!e) {
        *oom = true;
        return false;
    }
    zhashx_update(src->entries, key, e);
    s_notify(self, HA_STATE_SET, src, key, e);
    free(old);
    return true;
}

//  --- Life cycle -----------------------------------------------------------------------------

ha_state_t *ha_state_new(const char *node, uint64_t incarnation)
{
    if (!node || !*node || strlen(node) >= HA_NAME_MAX)
        return NULL;
    ha_state_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!s_add_source(self, node, incarnation)) {
        free(self);
        return NULL;
    }
    return self;
}

void ha_state_destroy(ha_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ha_state_t *self = *self_p;
    *self_p = NULL;
    for (size_t i = 0; i < self->count; i++)
        s_source_free(&self->sources[i]);
    free(self);
}

void ha_state_listen(ha_state_t *self, ha_state_change_fn *fn, void *ctx)
{
    self->listener = fn;
    self->listener_ctx = ctx;
}

//  --- Own keys -------------------------------------------------------------------------------

int64_t ha_state_put(ha_state_t *self, const char *key, const void *value, size_t len,
                     uint32_t linger_ms)
{
    if (self->busy)
        return -EBUSY;
    if (!s_key_ok(key) || len > HA_STATE_VALUE_MAX || (len && !value))
        return -EINVAL;
    s_source_t *own = self->sources[0];
    bool oom = false;
    //  The sequence number is taken before the listener hears of the change, so that it
    //  already counts when the listener asks.
    own->seq++;
    if (!s_set(self, own, key, value, len, linger_ms, false, &oom)) {
        own->seq--;
        return oom ? -ENOMEM : 0;
    }
    return (int64_t) own->seq;
}

int64_t ha_state_delete(ha_state_t *self, const char *key)
{
    if (self->busy)
        return -EBUSY;
    if (!s_key_ok(key))
        return -EINVAL;
    s_source_t *own = self->sources[0];
    bool oom = false;
    own->seq++;
    if (!s_set(self, own, key, NULL, 0, 0, true, &oom)) {
        own->seq--;
        return 0;
    }
    return (int64_t) own->seq;
}

uint64_t ha_state_own_seq(const ha_state_t *self)
{
    return self->sources[0]->seq;
}

//  --- Other sources --------------------------------------------------------------------------

ha_state_result_t ha_state_apply(ha_state_t *self, const char *node, uint64_t incarnation,
                                 uint64_t seq, const ha_state_entry_t *entry)
{
    if (self->busy || !node || !*node || strlen(node) >= HA_NAME_MAX || seq == 0 ||
        !s_key_ok(entry->key) || entry->len > HA_STATE_VALUE_MAX)
        return HA_STATE_REFUSED;
    int i = s_find(self, node, incarnation);
    if (i == 0)
        return HA_STATE_REFUSED;        //  our own updates, echoed: we are their source
    s_source_t *src = i > 0 ? self->sources[i] : NULL;
    uint64_t held = src ? src->seq : 0;
    if (seq <= held)
        return HA_STATE_DUPLICATE;
    if (seq > held + 1)
        return HA_STATE_GAP;
    if (!src && !(src = s_add_source(self, node, incarnation)))
        return HA_STATE_REFUSED;
    bool oom = false;
    s_set(self, src, entry->key, entry->value, entry->len, entry->linger_ms, entry->deleted, &oom);
    if (oom) {
        //  The change is not held: take it as missed, so that a snapshot brings it.
        return HA_STATE_GAP;
    }
    src->seq = seq;
    return HA_STATE_APPLIED;
}

uint64_t ha_state_seq(const ha_state_t *self, const char *node, uint64_t incarnation)
{
    int i = s_find(self, node, incarnation);
    return i >= 0 ? self->sources[i]->seq : 0;
}

//  --- Snapshots ------------------------------------------------------------------------------

ha_state_snap_t *ha_state_snap_new(const char *node, uint64_t incarnation)
{
    if (!node || !*node || strlen(node) >= HA_NAME_MAX)
        return NULL;
    ha_state_snap_t *snap = calloc(1, sizeof *snap);
    if (!snap)
        return NULL;
    snprintf(snap->node, sizeof snap->node, "%s", node);
    snap->incarnation = incarnation;
    snap->entries = s_table_new();
    if (!snap->entries) {
        free(snap);
        return NULL;
    }
    return snap;
}

int ha_state_snap_add(ha_state_snap_t *snap, const ha_state_entry_t *entry)
{
    if (!s_key_ok(entry->key) || entry->len > HA_STATE_VALUE_MAX)
        return -EINVAL;
    if (entry->deleted)
        return 0;
    s_entry_t *e = s_entry_new(entry->value, entry->len, entry->linger_ms);
    if (!e)
        return -ENOMEM;
    free(s_take(snap->entries, entry->key));
    zhashx_insert(snap->entries, entry->key, e);
    return 0;
}

void ha_state_snap_destroy(ha_state_snap_t **snap_p)
{
    if (!snap_p || !*snap_p)
        return;
    s_table_destroy(&(*snap_p)->entries);
    free(*snap_p);
    *snap_p = NULL;
}

static bool s_same(const s_entry_t *a, const s_entry_t *b)
{
    return a->len == b->len && a->linger_ms == b->linger_ms &&
           (a->len == 0 || memcmp(a->value, b->value, a->len) == 0);
}

static void s_expiry_refresh(s_source_t *src);

ha_state_result_t ha_state_snap_apply(ha_state_t *self, ha_state_snap_t **snap_p, uint64_t seq,
                                      uint64_t lost_ms_ago, int64_t now)
{
    ha_state_snap_t *snap = *snap_p;
    *snap_p = NULL;
    ha_state_result_t result = HA_STATE_APPLIED;
    int i = snap && !self->busy ? s_find(self, snap->node, snap->incarnation) : 0;
    s_source_t *src = i > 0 ? self->sources[i] : NULL;
    if (!snap || self->busy || i == 0)
        result = HA_STATE_REFUSED;
    else if (src && src->seq > seq)
        result = HA_STATE_DUPLICATE;    //  updates already took it further
    else if (!src && !(src = s_add_source(self, snap->node, snap->incarnation)))
        result = HA_STATE_REFUSED;
    if (result != HA_STATE_APPLIED) {
        ha_state_snap_destroy(&snap);
        return result;
    }
    bool was_known = i > 0;
    //  Keys the snapshot no longer has go first, then the new and changed ones.
    zlistx_t *gone = zhashx_keys(src->entries);
    for (const char *key = gone ? zlistx_first(gone) : NULL; key; key = zlistx_next(gone)) {
        if (zhashx_lookup(snap->entries, key))
            continue;
        s_entry_t *old = s_take(src->entries, key);
        s_notify(self, HA_STATE_REMOVED, src, key, old);
        free(old);
    }
    zlistx_destroy(&gone);
    zlistx_t *keys = zhashx_keys(snap->entries);
    for (const char *key = keys ? zlistx_first(keys) : NULL; key; key = zlistx_next(keys)) {
        s_entry_t *e = zhashx_lookup(snap->entries, key);
        s_entry_t *old = zhashx_lookup(src->entries, key);
        if (old && s_same(old, e))
            continue;
        s_take(snap->entries, key);     //  the entry moves to the source
        zhashx_update(src->entries, key, e);
        s_notify(self, HA_STATE_SET, src, key, e);
        free(old);
    }
    zlistx_destroy(&keys);
    src->seq = seq;
    //  The sender's word on liveness counts for a source this node did not know; one it
    //  knows keeps what this node saw itself.
    bool own_node = strcmp(src->node, self->sources[0]->node) == 0;
    if (own_node || (!was_known && lost_ms_ago > 0)) {
        src->lost = true;
        src->lost_at = own_node && lost_ms_ago == 0 ? now : now - (int64_t) lost_ms_ago;
    }
    s_expiry_refresh(src);
    ha_state_snap_destroy(&snap);
    return HA_STATE_APPLIED;
}

//  --- Liveness and expiry --------------------------------------------------------------------

//  The earliest time a key of a lost source expires.
static void s_expiry_refresh(s_source_t *src)
{
    src->expires_next = INT64_MAX;
    if (!src->lost)
        return;
    for (s_entry_t *e = zhashx_first(src->entries); e; e = zhashx_next(src->entries)) {
        int64_t at = src->lost_at + (int64_t) e->linger_ms;
        if (at < src->expires_next)
            src->expires_next = at;
    }
    if (zhashx_size(src->entries) == 0)
        src->expires_next = src->lost_at;   //  nothing to keep: goes at the next expire
}

static void s_lose(s_source_t *src, int64_t now)
{
    if (src->lost)
        return;
    src->lost = true;
    src->lost_at = now;
    s_expiry_refresh(src);
}

void ha_state_node_alive(ha_state_t *self, const char *node, uint64_t incarnation, int64_t now)
{
    if (!node || !*node || strlen(node) >= HA_NAME_MAX)
        return;
    bool found = false;
    for (size_t i = 1; i < self->count; i++) {
        s_source_t *src = self->sources[i];
        if (strcmp(src->node, node) != 0)
            continue;
        if (src->incarnation == incarnation) {
            found = true;
            src->lost = false;
            src->expires_next = INT64_MAX;
        } else {
            s_lose(src, now);       //  the node restarted: that incarnation is gone
        }
    }
    if (!found && strcmp(node, self->sources[0]->node) != 0)
        s_add_source(self, node, incarnation);
}

void ha_state_node_lost(ha_state_t *self, const char *node, int64_t now)
{
    for (size_t i = 1; i < self->count; i++)
        if (strcmp(self->sources[i]->node, node) == 0)
            s_lose(self->sources[i], now);
}

size_t ha_state_expire(ha_state_t *self, int64_t now)
{
    if (self->busy)
        return 0;
    size_t expired = 0;
    for (size_t i = self->count; i-- > 1;) {
        s_source_t *src = self->sources[i];
        if (!src->lost || now < src->expires_next)
            continue;
        zlistx_t *keys = zhashx_keys(src->entries);
        size_t before = expired;
        for (const char *key = keys ? zlistx_first(keys) : NULL; key; key = zlistx_next(keys)) {
            s_entry_t *e = zhashx_lookup(src->entries, key);
            if (src->lost_at + (int64_t) e->linger_ms > now)
                continue;
            s_take(src->entries, key);
            s_notify(self, HA_STATE_EXPIRED, src, key, e);
            free(e);
            expired++;
        }
        zlistx_destroy(&keys);
        if (zhashx_size(src->entries) == 0) {
            s_remove_source(self, i);
            continue;
        }
        if (expired > before)
            src->seq = 0;       //  incomplete now: a snapshot fills it if it comes back
        s_expiry_refresh(src);
    }
    return expired;
}

int64_t ha_state_next_expiry(const ha_state_t *self)
{
    int64_t next = INT64_MAX;
    for (size_t i = 1; i < self->count; i++)
        if (self->sources[i]->lost && self->sources[i]->expires_next < next)
            next = self->sources[i]->expires_next;
    return next;
}

//  --- Reading --------------------------------------------------------------------------------

size_t ha_state_source_count(const ha_state_t *self)
{
    return self->count;
}

bool ha_state_source(const ha_state_t *self, size_t index, ha_state_source_t *out)
{
    if (index >= self->count)
        return false;
    const s_source_t *src = self->sources[index];
    *out = (ha_state_source_t){src->node,    src->incarnation, src->seq,
                               index == 0,   src->lost,        src->lost_at,
                               zhashx_size(src->entries)};
    return true;
}

int ha_state_source_index(const ha_state_t *self, const char *node, uint64_t incarnation)
{
    return s_find(self, node, incarnation);
}

const uint8_t *ha_state_get(const ha_state_t *self, size_t index, const char *key, size_t *len,
                            uint32_t *linger_ms)
{
    if (index >= self->count || !s_key_ok(key))
        return NULL;
    const s_entry_t *e = zhashx_lookup(self->sources[index]->entries, key);
    if (!e)
        return NULL;
    if (len)
        *len = e->len;
    if (linger_ms)
        *linger_ms = e->linger_ms;
    return e->value;
}

void ha_state_each(const ha_state_t *self, size_t index, ha_state_visit_fn *fn, void *ctx)
{
    if (index >= self->count)
        return;
    //  zhashx keeps its cursor inside the table: walking it is no change of the state.
    zhashx_t *t = self->sources[index]->entries;
    for (const s_entry_t *e = zhashx_first(t); e; e = zhashx_next(t))
        fn(ctx, zhashx_cursor(t), e->value, e->len, e->linger_ms);
}

size_t ha_state_entry_count(const ha_state_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        n += zhashx_size(self->sources[i]->entries);
    return n;
}
