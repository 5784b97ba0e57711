//  ha_registry: sessions, lines and monitors in the replicated state (ha_registry.h).
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ha_registry.h"

#define S_PART_MAX 96               //  a key part (PBX name, device) we read back

//  --- Keys -----------------------------------------------------------------------------------

void ha_registry_hash_hex(const uint8_t sha256[PROTO_CLUSTER_HASH_LEN],
                          char out[HA_REGISTRY_HASH_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < (HA_REGISTRY_HASH_HEX - 1) / 2; i++) {
        out[2 * i] = digits[sha256[i] >> 4];
        out[2 * i + 1] = digits[sha256[i] & 15];
    }
    out[HA_REGISTRY_HASH_HEX - 1] = '\0';
}

static bool s_part_ok(const char *part)
{
    return part && *part && !strchr(part, '/');
}

//  KIND/A/B[/C] into key: each part non-empty and without '/', the whole a key.
static int s_key(char *key, size_t cap, char kind, const char *a, const char *b, const char *c)
{
    if (!s_part_ok(a) || (b && !s_part_ok(b)) || (c && !s_part_ok(c)))
        return -EINVAL;
    int n = snprintf(key, cap, "%c/%s%s%s%s%s", kind, a, b ? "/" : "", b ? b : "", c ? "/" : "",
                     c ? c : "");
    return n > 0 && (size_t) n < cap && (size_t) n < HA_STATE_KEY_MAX ? 0 : -EINVAL;
}

int ha_registry_session_key(const char *hash, char *key, size_t cap)
{
    return s_key(key, cap, 's', hash, NULL, NULL);
}

int ha_registry_line_key(const char *hash, const char *pbx, const char *device, char *key,
                         size_t cap)
{
    if (!s_part_ok(pbx) || !s_part_ok(device))
        return -EINVAL;
    return s_key(key, cap, 'l', hash, pbx, device);
}

int ha_registry_monitor_key(const char *pbx, const char *device, char *key, size_t cap)
{
    if (!s_part_ok(device))
        return -EINVAL;
    return s_key(key, cap, 'm', pbx, device, NULL);
}

int ha_registry_guard_key(const char *pbx, const char *device, char *key, size_t cap)
{
    if (!s_part_ok(device))
        return -EINVAL;
    return s_key(key, cap, 'g', pbx, device, NULL);
}

//  --- Which copy of a session wins ------------------------------------------------------------

static bool s_session_at(const ha_state_t *st, size_t source, const char *hash,
                         proto_state_record_t *rec)
{
    char key[HA_STATE_KEY_MAX];
    size_t len = 0;
    if (ha_registry_session_key(hash, key, sizeof key) != 0)
        return false;
    const uint8_t *v = ha_state_get(st, source, key, &len, NULL);
    return v && proto_cluster_record_decode(rec, v, len) == 0 && rec->kind == PROTO_RECORD_SESSION;
}

//  a's copy beats b's: more resumes (it moved there later), then a live source.
static bool s_beats(const proto_state_record_t *a, const ha_state_source_t *as,
                    const proto_state_record_t *b, const ha_state_source_t *bs)
{
    if (a->resumes != b->resumes)
        return a->resumes > b->resumes;
    return !as->lost && bs->lost;
}

//  Whether source's copy of session hash is the one that counts: no other source has a
//  better one (a source with lines but no session record counts when nobody has one).
static bool s_wins(const ha_state_t *st, size_t source, const char *hash)
{
    proto_state_record_t mine, other;
    ha_state_source_t ms, os;
    bool have = s_session_at(st, source, hash, &mine);
    ha_state_source(st, source, &ms);
    for (size_t i = 0; i < ha_state_source_count(st); i++) {
        if (i == source || !s_session_at(st, i, hash, &other))
            continue;
        ha_state_source(st, i, &os);
        if (!have || s_beats(&other, &os, &mine, &ms) ||
            (!s_beats(&mine, &ms, &other, &os) && i < source))
            return false;   //  on a full tie the first source counts, once
    }
    return true;
}

int ha_registry_session_winner(const ha_state_t *st, const char *hash)
{
    for (size_t i = 0; i < ha_state_source_count(st); i++) {
        proto_state_record_t rec;
        if (s_session_at(st, i, hash, &rec) && s_wins(st, i, hash))
            return (int) i;
    }
    return -1;
}

//  --- Devices ----------------------------------------------------------------------------------

typedef struct {
    const ha_state_t *st;
    size_t source;
    const char *pbx;
    zhashx_t *seen;                 //  devices given to fn
    zhashx_t *verdict;              //  hash -> (void *) 1 wins / 2 loses, for this source
    ha_registry_device_fn *fn;
    void *ctx;
    size_t count;
    bool lines_only;                //  sessions' lines, not the CSTA monitors
} s_devices_t;

static void s_device(s_devices_t *q, const char *device)
{
    if (zhashx_lookup(q->seen, device))
        return;
    zhashx_insert(q->seen, device, (void *) 1);
    q->count++;
    q->fn(q->ctx, device);
}

//  "PBX/DEVICE" at p: the device when PBX is q->pbx, else NULL.
static const char *s_pbx_device(const s_devices_t *q, const char *p)
{
    size_t n = strlen(q->pbx);
    return strncmp(p, q->pbx, n) == 0 && p[n] == '/' && s_part_ok(p + n + 1) ? p + n + 1 : NULL;
}

static void s_visit_device(void *ctx, const char *key, const uint8_t *value, size_t len,
                           uint32_t linger_ms)
{
    (void) value;
    (void) len;
    (void) linger_ms;
    s_devices_t *q = ctx;
    const char *device;
    if (strncmp(key, "m/", 2) == 0 && !q->lines_only) {
        if ((device = s_pbx_device(q, key + 2)))
            s_device(q, device);
        return;
    }
    if (strncmp(key, "l/", 2) != 0)
        return;
    const char *slash = strchr(key + 2, '/');
    if (!slash || (size_t) (slash - key - 2) != HA_REGISTRY_HASH_HEX - 1 ||
        !(device = s_pbx_device(q, slash + 1)))
        return;
    char hash[HA_REGISTRY_HASH_HEX];
    memcpy(hash, key + 2, sizeof hash - 1);
    hash[sizeof hash - 1] = '\0';
    uintptr_t v = (uintptr_t) zhashx_lookup(q->verdict, hash);
    if (!v) {
        v = s_wins(q->st, q->source, hash) ? 1 : 2;
        zhashx_insert(q->verdict, hash, (void *) v);
    }
    if (v == 1)
        s_device(q, device);
}

//  The devices of pbx, to fn once each (lines_only: sessions' lines alone).
static size_t s_devices(const ha_state_t *st, const char *pbx, bool lines_only,
                        ha_registry_device_fn *fn, void *ctx)
{
    s_devices_t q = {st, 0, pbx, zhashx_new(), NULL, fn, ctx, 0, lines_only};
    if (!q.seen || !pbx || !*pbx) {
        zhashx_destroy(&q.seen);
        return 0;
    }
    for (size_t i = 0; i < ha_state_source_count(st); i++) {
        q.source = i;
        q.verdict = zhashx_new();
        if (q.verdict)
            ha_state_each(st, i, s_visit_device, &q);
        zhashx_destroy(&q.verdict);
    }
    zhashx_destroy(&q.seen);
    return q.count;
}

size_t ha_registry_devices(const ha_state_t *st, const char *pbx, ha_registry_device_fn *fn,
                           void *ctx)
{
    return s_devices(st, pbx, false, fn, ctx);
}

typedef struct {
    const char *device;
    bool found;
} s_line_open_t;

static void s_line_open_visit(void *ctx, const char *device)
{
    s_line_open_t *q = ctx;
    if (strcmp(device, q->device) == 0)
        q->found = true;
}

bool ha_registry_line_open(const ha_state_t *st, const char *pbx, const char *device)
{
    s_line_open_t q = {device, false};
    if (device)
        s_devices(st, pbx, true, s_line_open_visit, &q);
    return q.found;
}

//  --- Sessions ---------------------------------------------------------------------------------

//  Constant time for equal lengths: how much of a guessed hash matched stays unknown.
static bool s_same_hash(const uint8_t *a, const uint8_t *b)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < PROTO_CLUSTER_HASH_LEN; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

int ha_registry_find_session(const ha_state_t *st, const uint8_t sha256[PROTO_CLUSTER_HASH_LEN],
                             ha_registry_session_t *out)
{
    char hash[HA_REGISTRY_HASH_HEX];
    ha_registry_hash_hex(sha256, hash);
    bool found = false;
    for (size_t i = 1; i < ha_state_source_count(st); i++) {
        proto_state_record_t rec;
        ha_state_source_t info;
        if (!s_session_at(st, i, hash, &rec) || !rec.has_token ||
            !s_same_hash(rec.token_sha256, sha256) || !ha_state_source(st, i, &info))
            continue;
        if (found && !s_beats(&rec, &info, &out->session, &out->info))
            continue;
        found = true;
        out->session = rec;
        out->source = i;
        out->info = info;
        snprintf(out->hash, sizeof out->hash, "%s", hash);
    }
    return found ? 0 : -ENOENT;
}

//  LineRecords under a key prefix ("l/HASH/", "g/PBX/").
typedef struct {
    char prefix[S_PART_MAX + 4];
    size_t prefix_len;
    ha_registry_line_fn *fn;
    void *ctx;
    size_t count;
} s_lines_t;

static void s_visit_line(void *ctx, const char *key, const uint8_t *value, size_t len,
                         uint32_t linger_ms)
{
    (void) linger_ms;
    s_lines_t *q = ctx;
    proto_state_record_t rec;
    if (strncmp(key, q->prefix, q->prefix_len) != 0 ||
        proto_cluster_record_decode(&rec, value, len) != 0 || rec.kind != PROTO_RECORD_LINE)
        return;
    q->count++;
    q->fn(q->ctx, &rec);
}

size_t ha_registry_session_lines(const ha_state_t *st, size_t source, const char *hash,
                                 ha_registry_line_fn *fn, void *ctx)
{
    s_lines_t q = {.fn = fn, .ctx = ctx};
    if (!s_part_ok(hash))
        return 0;
    q.prefix_len = (size_t) snprintf(q.prefix, sizeof q.prefix, "l/%s/", hash);
    ha_state_each(st, source, s_visit_line, &q);
    return q.count;
}

//  --- Guarded lines ---------------------------------------------------------------------------

size_t ha_registry_guards(const ha_state_t *st, const char *pbx, ha_registry_line_fn *fn,
                          void *ctx)
{
    s_lines_t q = {.fn = fn, .ctx = ctx};
    if (!s_part_ok(pbx) || strlen(pbx) > S_PART_MAX)
        return 0;
    q.prefix_len = (size_t) snprintf(q.prefix, sizeof q.prefix, "g/%s/", pbx);
    for (size_t i = 0; i < ha_state_source_count(st); i++)
        ha_state_each(st, i, s_visit_line, &q);
    return q.count;
}
