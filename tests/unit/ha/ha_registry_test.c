//  ha_registry tests: keys; the devices a PBX link holder must monitor (lines of sessions
//  and CSTA monitors of every source, live or lingering, each device once, per PBX; a
//  session that moved counts once, at its winning copy); a session found by its token's
//  hash (the whole hash, not only the key's half; never this node's own); its lines.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_registry.h"
#include "ha_state.h"

static uint8_t s_hash[4][PROTO_CLUSTER_HASH_LEN];

static void s_hashes(void)
{
    for (int h = 0; h < 4; h++)
        for (int i = 0; i < PROTO_CLUSTER_HASH_LEN; i++)
            s_hash[h][i] = (uint8_t) (h * 37 + i);
}

//  Put a record as source (node, inc) update number seq, or as our own when node is NULL.
static void s_put(ha_state_t *st, const char *node, uint64_t inc, uint64_t seq, const char *key,
                  const proto_state_record_t *r)
{
    uint8_t v[PROTO_CLUSTER_VALUE_MAX];
    size_t n = 0;
    assert_int_equal(proto_cluster_record_encode(r, v, sizeof v, &n), 0);
    if (!node) {
        assert_true(ha_state_put(st, key, v, n, 1000) > 0);
        return;
    }
    ha_state_entry_t e = {key, v, n, false, 1000};
    assert_int_equal(ha_state_apply(st, node, inc, seq, &e), HA_STATE_APPLIED);
}

static void s_session(ha_state_t *st, const char *node, uint64_t inc, uint64_t *seq, int h,
                      uint32_t resumes, const char *const *lines)
{
    char hash[HA_REGISTRY_HASH_HEX], key[HA_STATE_KEY_MAX];
    ha_registry_hash_hex(s_hash[h], hash);
    proto_state_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_SESSION;
    snprintf(r.session, sizeof r.session, "%s-%d", node ? node : "self", h);
    strcpy(r.user, "crm");
    r.has_token = true;
    memcpy(r.token_sha256, s_hash[h], sizeof r.token_sha256);
    r.heartbeat_ms = 1000;
    r.resumes = resumes;
    assert_int_equal(ha_registry_session_key(hash, key, sizeof key), 0);
    s_put(st, node, inc, ++*seq, key, &r);
    for (size_t i = 0; lines && lines[i]; i++) {
        memset(&r, 0, sizeof r);
        r.kind = PROTO_RECORD_LINE;
        strcpy(r.session_hash, hash);
        strcpy(r.pbx, "main");
        snprintf(r.line, sizeof r.line, "%s", lines[i]);
        snprintf(r.device, sizeof r.device, "d:%s", lines[i]);
        strcpy(r.failure_number, "199");
        assert_int_equal(ha_registry_line_key(hash, "main", r.device, key, sizeof key), 0);
        s_put(st, node, inc, ++*seq, key, &r);
    }
}

static void s_monitor(ha_state_t *st, const char *node, uint64_t inc, uint64_t *seq,
                      const char *pbx, const char *device)
{
    char key[HA_STATE_KEY_MAX];
    proto_state_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_MONITOR;
    strcpy(r.pbx, pbx);
    strcpy(r.device, device);
    r.count = 1;
    assert_int_equal(ha_registry_monitor_key(pbx, device, key, sizeof key), 0);
    s_put(st, node, inc, ++*seq, key, &r);
}

typedef struct {
    char list[64][32];
    size_t n;
} s_devs_t;

static void s_collect(void *ctx, const char *device)
{
    s_devs_t *d = ctx;
    assert_true(d->n < 64);
    snprintf(d->list[d->n++], sizeof d->list[0], "%s", device);
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

//  The devices of pbx, sorted and joined by ",".
static const char *s_devices(ha_state_t *st, const char *pbx)
{
    static char out[1024];
    s_devs_t d = {.n = 0};
    size_t n = ha_registry_devices(st, pbx, s_collect, &d);
    assert_int_equal(n, d.n);
    qsort(d.list, d.n, sizeof d.list[0], s_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < d.n; i++) {
        strcat(out, i ? "," : "");
        strcat(out, d.list[i]);
    }
    return out;
}

static void keys_are_built_and_bad_parts_refused(void **state)
{
    (void) state;
    s_hashes();
    char hash[HA_REGISTRY_HASH_HEX], key[HA_STATE_KEY_MAX];
    ha_registry_hash_hex(s_hash[0], hash);
    assert_string_equal(hash, "000102030405060708090a0b0c0d0e0f");
    assert_int_equal(ha_registry_session_key(hash, key, sizeof key), 0);
    assert_string_equal(key, "s/000102030405060708090a0b0c0d0e0f");
    assert_int_equal(ha_registry_line_key(hash, "main", "d:101", key, sizeof key), 0);
    assert_string_equal(key, "l/000102030405060708090a0b0c0d0e0f/main/d:101");
    assert_int_equal(ha_registry_monitor_key("main", "n:17891329", key, sizeof key), 0);
    assert_string_equal(key, "m/main/n:17891329");
    assert_int_equal(ha_registry_monitor_key("ma/in", "d:1", key, sizeof key), -EINVAL);
    assert_int_equal(ha_registry_monitor_key("main", "", key, sizeof key), -EINVAL);
    assert_int_equal(ha_registry_line_key(hash, "main", "d:1", key, 20), -EINVAL);
    char big[HA_STATE_KEY_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ha_registry_monitor_key("main", big, key, sizeof key), -EINVAL);
}

//  Our own sessions, a live peer's, a lost peer's (lingering) and CSTA monitors: every
//  device of the PBX once; another PBX's devices are not among them.
static void devices_of_every_source_each_once_per_pbx(void **state)
{
    (void) state;
    s_hashes();
    ha_state_t *st = ha_state_new("b", 2);
    uint64_t own = 0, sa = 0, sc = 0;
    s_session(st, NULL, 0, &own, 0, 0, (const char *[]){"101", "102", NULL});
    s_session(st, "a", 7, &sa, 1, 0, (const char *[]){"102", "103", NULL});
    s_monitor(st, "a", 7, &sa, "main", "d:104");
    s_monitor(st, "a", 7, &sa, "other", "d:900");
    s_session(st, "c", 1, &sc, 2, 0, (const char *[]){"105", NULL});
    ha_state_node_lost(st, "c", 100);           //  lingering: still counts
    assert_string_equal(s_devices(st, "main"), "d:101,d:102,d:103,d:104,d:105");
    assert_string_equal(s_devices(st, "other"), "d:900");
    assert_string_equal(s_devices(st, "none"), "");
    //  Expired: c's devices go.
    ha_state_expire(st, 100 + 1000);
    assert_string_equal(s_devices(st, "main"), "d:101,d:102,d:103,d:104");
    ha_state_destroy(&st);
}

//  a's session 1 resumed on b (resumes 1): a's copy (lost, lingering) no longer counts, so
//  a line b's copy closed is not monitored for it any more; with equal resumes the live
//  copy wins.
static void a_moved_session_counts_once_at_its_winning_copy(void **state)
{
    (void) state;
    s_hashes();
    ha_state_t *st = ha_state_new("c", 3);
    uint64_t sa = 0, sb = 0;
    s_session(st, "a", 7, &sa, 1, 0, (const char *[]){"101", "102", NULL});
    ha_state_node_lost(st, "a", 100);
    s_session(st, "b", 5, &sb, 1, 1, (const char *[]){"101", NULL});
    assert_string_equal(s_devices(st, "main"), "d:101");
    char hash[HA_REGISTRY_HASH_HEX];
    ha_registry_hash_hex(s_hash[1], hash);
    assert_int_equal(ha_registry_session_winner(st, hash),
                     ha_state_source_index(st, "b", 5));
    ha_registry_hash_hex(s_hash[3], hash);
    assert_int_equal(ha_registry_session_winner(st, hash), -1);
    ha_registry_session_t found;
    assert_int_equal(ha_registry_find_session(st, s_hash[1], &found), 0);
    assert_string_equal(found.info.node, "b");
    assert_int_equal(found.session.resumes, 1);
    ha_state_destroy(&st);

    st = ha_state_new("c", 3);
    sa = sb = 0;
    s_session(st, "a", 7, &sa, 1, 0, (const char *[]){"101", "102", NULL});
    s_session(st, "b", 5, &sb, 1, 0, (const char *[]){"103", NULL});
    ha_state_node_lost(st, "a", 100);
    assert_string_equal(s_devices(st, "main"), "d:103");
    //  This node adopted it too (one resume more): its own copy wins over both.
    uint64_t own = 0;
    s_session(st, NULL, 0, &own, 1, 1, NULL);
    ha_registry_hash_hex(s_hash[1], hash);
    assert_int_equal(ha_registry_session_winner(st, hash), 0);
    assert_string_equal(s_devices(st, "main"), "");
    assert_int_equal(ha_registry_find_session(st, s_hash[1], &found), 0);
    assert_string_equal(found.info.node, "b");
    ha_state_destroy(&st);
}


//  Call-forward-on-failure across nodes asks whether a line is open anywhere: sessions'
//  lines of any source (winning copies), never a CSTA monitor, until they expire.
static void line_open_counts_winning_lines_only(void **state)
{
    (void) state;
    s_hashes();
    ha_state_t *st = ha_state_new("b", 2);
    uint64_t own = 0, sa = 0, sc = 0;
    s_session(st, NULL, 0, &own, 0, 0, (const char *[]){"101", NULL});
    s_session(st, "a", 7, &sa, 1, 0, (const char *[]){"102", NULL});
    s_monitor(st, "a", 7, &sa, "main", "d:104");
    s_session(st, "c", 1, &sc, 2, 0, (const char *[]){"105", NULL});
    assert_true(ha_registry_line_open(st, "main", "d:101"));
    assert_true(ha_registry_line_open(st, "main", "d:102"));
    assert_false(ha_registry_line_open(st, "main", "d:104"));   //  a monitor, not a line
    assert_false(ha_registry_line_open(st, "other", "d:101"));
    assert_false(ha_registry_line_open(st, "main", NULL));
    ha_state_node_lost(st, "c", 100);
    assert_true(ha_registry_line_open(st, "main", "d:105"));    //  lingering: still open
    ha_state_expire(st, 100 + 1000);
    assert_false(ha_registry_line_open(st, "main", "d:105"));
    //  a's session moved here without line 102: a's copy loses, 102 is open nowhere.
    s_session(st, NULL, 0, &own, 1, 1, NULL);
    assert_false(ha_registry_line_open(st, "main", "d:102"));
    ha_state_destroy(&st);
}


static void s_count_guard(void *ctx, const proto_state_record_t *r)
{
    assert_string_equal(r->failure_number, "199");
    (*(int *) ctx)++;
}

//  Guarded lines (g/ keys) of every source, live or lingering, of one PBX; they are not
//  lines (nothing else counts them as open) and expire with their source.
static void guards_are_read_from_every_source(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("b", 2);
    char key[HA_STATE_KEY_MAX];
    assert_int_equal(ha_registry_guard_key("main", "d:101", key, sizeof key), 0);
    assert_string_equal(key, "g/main/d:101");
    assert_int_equal(ha_registry_guard_key("main", "", key, sizeof key), -EINVAL);
    proto_state_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = PROTO_RECORD_LINE;
    strcpy(r.pbx, "main");
    strcpy(r.line, "101");
    strcpy(r.device, "d:101");
    strcpy(r.failure_number, "199");
    s_put(st, NULL, 0, 0, key, &r);                 //  ours
    s_put(st, "c", 1, 1, key, &r);                  //  the last holder's, lost below
    assert_int_equal(ha_registry_guard_key("other", "d:102", key, sizeof key), 0);
    s_put(st, "c", 1, 2, key, &r);
    int n = 0;
    assert_int_equal(ha_registry_guards(st, "main", s_count_guard, &n), 2);
    assert_int_equal(n, 2);
    assert_false(ha_registry_line_open(st, "main", "d:101"));
    assert_string_equal(s_devices(st, "main"), "");
    ha_state_node_lost(st, "c", 100);
    ha_state_expire(st, 100 + 1000);
    n = 0;
    assert_int_equal(ha_registry_guards(st, "main", s_count_guard, &n), 1);
    ha_state_destroy(&st);
}

typedef struct {
    char lines[8][PROTO_CLUSTER_NUMBER_MAX];
    char failure[8][PROTO_CLUSTER_NUMBER_MAX];
    size_t n;
} s_lines_t;

static void s_line(void *ctx, const proto_state_record_t *r)
{
    s_lines_t *l = ctx;
    assert_true(l->n < 8);
    snprintf(l->lines[l->n], sizeof l->lines[0], "%s", r->line);
    snprintf(l->failure[l->n++], sizeof l->failure[0], "%s", r->failure_number);
}

//  A session is found by the whole hash: one that shares the key's 16 bytes but not the
//  rest is no match; our own current sessions are not searched (the node has them).
static void find_session_by_the_whole_hash_with_its_lines(void **state)
{
    (void) state;
    s_hashes();
    ha_state_t *st = ha_state_new("b", 2);
    uint64_t own = 0, sa = 0;
    s_session(st, "a", 7, &sa, 1, 0, (const char *[]){"101", "102", NULL});
    s_session(st, NULL, 0, &own, 2, 0, (const char *[]){"103", NULL});
    ha_registry_session_t found;
    assert_int_equal(ha_registry_find_session(st, s_hash[1], &found), 0);
    assert_string_equal(found.session.session, "a-1");
    assert_string_equal(found.session.user, "crm");
    assert_string_equal(found.info.node, "a");
    assert_false(found.info.lost);
    s_lines_t l = {.n = 0};
    assert_int_equal(ha_registry_session_lines(st, found.source, found.hash, s_line, &l), 2);
    qsort(l.lines, l.n, sizeof l.lines[0], s_cmp);
    assert_string_equal(l.lines[0], "101");
    assert_string_equal(l.lines[1], "102");
    assert_string_equal(l.failure[0], "199");
    uint8_t near[PROTO_CLUSTER_HASH_LEN];
    memcpy(near, s_hash[1], sizeof near);
    near[31] ^= 1;
    assert_int_equal(ha_registry_find_session(st, near, &found), -ENOENT);
    assert_int_equal(ha_registry_find_session(st, s_hash[2], &found), -ENOENT);
    assert_int_equal(ha_registry_find_session(st, s_hash[3], &found), -ENOENT);
    ha_state_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_are_built_and_bad_parts_refused),
        cmocka_unit_test(devices_of_every_source_each_once_per_pbx),
        cmocka_unit_test(a_moved_session_counts_once_at_its_winning_copy),
        cmocka_unit_test(find_session_by_the_whole_hash_with_its_lines),
        cmocka_unit_test(line_open_counts_winning_lines_only),
        cmocka_unit_test(guards_are_read_from_every_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
