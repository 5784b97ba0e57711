//  ha_state tests: own keys numbered in sequence, other sources applied in sequence with
//  duplicates and gaps told apart, snapshots that replace a source, per-source sequences,
//  a node restarted with a new incarnation, lingering keys of lost sources and their
//  expiry, the listener, and a randomised Clone run (lossy updates + snapshots on gaps
//  converge on the source's keys).
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_state.h"

//  What the listener saw.
typedef struct {
    int set, removed, expired;
    char last_key[HA_STATE_KEY_MAX];
    char last_value[HA_STATE_VALUE_MAX + 1];
    char last_node[64];
    bool last_own;
    ha_state_t *state;              //  to try changes from inside
    int64_t busy_rc;
} seen_t;

static void s_listen(void *ctx, const ha_state_change_t *c)
{
    seen_t *s = ctx;
    if (c->kind == HA_STATE_SET)
        s->set++;
    else if (c->kind == HA_STATE_REMOVED)
        s->removed++;
    else
        s->expired++;
    snprintf(s->last_key, sizeof s->last_key, "%s", c->key);
    snprintf(s->last_value, sizeof s->last_value, "%.*s", (int) c->len, (const char *) c->value);
    snprintf(s->last_node, sizeof s->last_node, "%s", c->node);
    s->last_own = c->own;
    if (s->state)
        s->busy_rc = ha_state_put(s->state, "inside", "x", 1, 0);
}

static ha_state_entry_t s_entry(const char *key, const char *value, uint32_t linger_ms)
{
    return (ha_state_entry_t){key, (const uint8_t *) value, value ? strlen(value) : 0,
                              value == NULL, linger_ms};
}

//  The value of key in source (node, inc) as text, "" when absent.
static const char *s_get(ha_state_t *st, const char *node, uint64_t inc, const char *key)
{
    static char out[HA_STATE_VALUE_MAX + 1];
    int i = ha_state_source_index(st, node, inc);
    size_t len = 0;
    const uint8_t *v = i >= 0 ? ha_state_get(st, (size_t) i, key, &len, NULL) : NULL;
    snprintf(out, sizeof out, "%.*s", v ? (int) len : 0, v ? (const char *) v : "");
    return out;
}

static void own_changes_are_numbered_and_unchanged_values_make_none(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("a", 1);
    seen_t seen = {0};
    ha_state_listen(st, s_listen, &seen);
    assert_int_equal(ha_state_own_seq(st), 0);
    assert_int_equal(ha_state_put(st, "s/1", "one", 3, 1000), 1);
    assert_int_equal(ha_state_put(st, "s/2", "two", 3, 1000), 2);
    assert_int_equal(ha_state_put(st, "s/1", "one", 3, 1000), 0);     //  same: nothing
    assert_int_equal(ha_state_put(st, "s/1", "one", 3, 2000), 3);     //  a new linger counts
    assert_int_equal(ha_state_put(st, "s/1", "uno", 3, 2000), 4);
    assert_int_equal(seen.set, 4);
    assert_true(seen.last_own);
    assert_string_equal(seen.last_value, "uno");
    assert_int_equal(ha_state_delete(st, "s/2"), 5);
    assert_int_equal(seen.removed, 1);
    assert_string_equal(seen.last_value, "two");    //  the listener sees what went
    assert_int_equal(ha_state_delete(st, "s/2"), 0);
    assert_int_equal(ha_state_own_seq(st), 5);
    assert_string_equal(s_get(st, "a", 1, "s/1"), "uno");
    assert_int_equal(ha_state_entry_count(st), 1);
    //  Bad keys and values; an empty value is a value.
    char long_key[HA_STATE_KEY_MAX + 1];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(ha_state_put(st, long_key, "v", 1, 0), -EINVAL);
    long_key[HA_STATE_KEY_MAX - 1] = '\0';
    assert_int_equal(ha_state_put(st, long_key, "v", 1, 0), 6);
    assert_int_equal(ha_state_put(st, "", "v", 1, 0), -EINVAL);
    static char big[HA_STATE_VALUE_MAX + 1];
    assert_int_equal(ha_state_put(st, "big", big, sizeof big, 0), -EINVAL);
    assert_int_equal(ha_state_put(st, "big", big, sizeof big - 1, 0), 7);
    assert_int_equal(ha_state_put(st, "empty", NULL, 0, 0), 8);
    //  Inside the listener nothing may change.
    seen.state = st;
    assert_int_equal(ha_state_put(st, "s/3", "x", 1, 0), 9);
    assert_int_equal(seen.busy_rc, -EBUSY);
    assert_int_equal(ha_state_own_seq(st), 9);
    ha_state_destroy(&st);
    ha_state_destroy(&st);
}

static void updates_apply_in_sequence_and_gaps_and_duplicates_change_nothing(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("b", 2);
    seen_t seen = {0};
    ha_state_listen(st, s_listen, &seen);
    ha_state_entry_t e = s_entry("s/1", "one", 500);
    //  An unknown source starts at 1: a first update with 2 is a gap.
    assert_int_equal(ha_state_apply(st, "a", 7, 2, &e), HA_STATE_GAP);
    assert_int_equal(ha_state_seq(st, "a", 7), 0);
    assert_int_equal(ha_state_apply(st, "a", 7, 1, &e), HA_STATE_APPLIED);
    assert_int_equal(seen.set, 1);
    assert_string_equal(seen.last_node, "a");
    assert_false(seen.last_own);
    assert_int_equal(ha_state_apply(st, "a", 7, 1, &e), HA_STATE_DUPLICATE);
    e = s_entry("s/2", "two", 500);
    assert_int_equal(ha_state_apply(st, "a", 7, 3, &e), HA_STATE_GAP);
    assert_string_equal(s_get(st, "a", 7, "s/2"), "");
    assert_int_equal(ha_state_apply(st, "a", 7, 2, &e), HA_STATE_APPLIED);
    e = s_entry("s/1", NULL, 0);
    assert_int_equal(ha_state_apply(st, "a", 7, 3, &e), HA_STATE_APPLIED);
    assert_int_equal(seen.removed, 1);
    //  Deleting a key that is not there still takes the number.
    assert_int_equal(ha_state_apply(st, "a", 7, 4, &e), HA_STATE_APPLIED);
    assert_int_equal(seen.removed, 1);
    assert_int_equal(ha_state_seq(st, "a", 7), 4);
    assert_string_equal(s_get(st, "a", 7, "s/2"), "two");
    //  Our own updates echoed back, and bad entries, are refused.
    e = s_entry("x", "y", 0);
    assert_int_equal(ha_state_apply(st, "b", 2, 1, &e), HA_STATE_REFUSED);
    assert_int_equal(ha_state_apply(st, "a", 7, 0, &e), HA_STATE_REFUSED);
    e = s_entry("", "y", 0);
    assert_int_equal(ha_state_apply(st, "a", 7, 5, &e), HA_STATE_REFUSED);
    assert_int_equal(ha_state_seq(st, "a", 7), 4);
    assert_string_equal(ha_state_result_str(HA_STATE_GAP), "gap");
    ha_state_destroy(&st);
}

static void sources_keep_their_own_sequences(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("c", 3);
    ha_state_entry_t e = s_entry("k", "from-a", 0);
    assert_int_equal(ha_state_apply(st, "a", 1, 1, &e), HA_STATE_APPLIED);
    e = s_entry("k", "from-b", 0);
    assert_int_equal(ha_state_apply(st, "b", 1, 1, &e), HA_STATE_APPLIED);
    e = s_entry("k2", "b2", 0);
    assert_int_equal(ha_state_apply(st, "b", 1, 2, &e), HA_STATE_APPLIED);
    assert_int_equal(ha_state_apply(st, "a", 1, 3, &e), HA_STATE_GAP);
    assert_int_equal(ha_state_seq(st, "a", 1), 1);
    assert_int_equal(ha_state_seq(st, "b", 1), 2);
    //  The same key in two sources is two keys.
    assert_string_equal(s_get(st, "a", 1, "k"), "from-a");
    assert_string_equal(s_get(st, "b", 1, "k"), "from-b");
    assert_int_equal(ha_state_source_count(st), 3);
    ha_state_source_t info;
    assert_true(ha_state_source(st, 0, &info));
    assert_true(info.own);
    assert_string_equal(info.node, "c");
    assert_false(ha_state_source(st, 3, &info));
    ha_state_destroy(&st);
}

static void snapshot_replaces_the_source_and_updates_go_on_from_it(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("b", 2);
    seen_t seen = {0};
    ha_state_listen(st, s_listen, &seen);
    ha_state_entry_t e = s_entry("old", "x", 0);
    assert_int_equal(ha_state_apply(st, "a", 7, 1, &e), HA_STATE_APPLIED);
    e = s_entry("same", "s", 0);
    assert_int_equal(ha_state_apply(st, "a", 7, 2, &e), HA_STATE_APPLIED);
    //  Updates 3..9 were missed: the snapshot at 9 has "same", "new" and not "old".
    ha_state_snap_t *snap = ha_state_snap_new("a", 7);
    e = s_entry("same", "s", 0);
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    e = s_entry("new", "n1", 0);
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    e = s_entry("new", "n2", 0);        //  a key twice: the last counts
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    e = s_entry("skipped", NULL, 0);    //  deleted entries are no keys
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    seen = (seen_t){0};
    assert_int_equal(ha_state_snap_apply(st, &snap, 9, 0, 1000), HA_STATE_APPLIED);
    assert_null(snap);
    assert_int_equal(seen.removed, 1);  //  "old"
    assert_int_equal(seen.set, 1);      //  "new" only: "same" did not change
    assert_int_equal(ha_state_seq(st, "a", 7), 9);
    assert_string_equal(s_get(st, "a", 7, "new"), "n2");
    assert_string_equal(s_get(st, "a", 7, "old"), "");
    assert_string_equal(s_get(st, "a", 7, "skipped"), "");
    e = s_entry("after", "10", 0);
    assert_int_equal(ha_state_apply(st, "a", 7, 10, &e), HA_STATE_APPLIED);
    //  A snapshot older than what updates brought changes nothing.
    snap = ha_state_snap_new("a", 7);
    assert_int_equal(ha_state_snap_apply(st, &snap, 8, 0, 1000), HA_STATE_DUPLICATE);
    assert_string_equal(s_get(st, "a", 7, "after"), "10");
    //  Our own current incarnation comes from us, never from a snapshot.
    snap = ha_state_snap_new("b", 2);
    assert_int_equal(ha_state_snap_apply(st, &snap, 100, 0, 1000), HA_STATE_REFUSED);
    assert_int_equal(ha_state_own_seq(st), 0);
    ha_state_destroy(&st);
}

//  Node a restarts (incarnation 7 -> 8): 7 is lost from then on, its keys linger for their
//  own linger_ms and expire; 8 starts at sequence 1.  Expiry leaves a partly expired source
//  with sequence 0, so a snapshot fills it if it comes back.
static void restarted_node_lingers_then_expires_and_the_new_incarnation_starts_at_one(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("b", 2);
    seen_t seen = {0};
    ha_state_listen(st, s_listen, &seen);
    ha_state_node_alive(st, "a", 7, 0);
    ha_state_entry_t e = s_entry("s/short", "1", 1000);
    assert_int_equal(ha_state_apply(st, "a", 7, 1, &e), HA_STATE_APPLIED);
    e = s_entry("s/long", "2", 5000);
    assert_int_equal(ha_state_apply(st, "a", 7, 2, &e), HA_STATE_APPLIED);
    assert_int_equal(ha_state_next_expiry(st), INT64_MAX);  //  alive: nothing expires
    assert_int_equal(ha_state_expire(st, 1000000), 0);

    ha_state_node_alive(st, "a", 8, 10000);     //  heard with a new incarnation
    e = s_entry("s/new", "3", 1000);
    assert_int_equal(ha_state_apply(st, "a", 8, 1, &e), HA_STATE_APPLIED);
    int old = ha_state_source_index(st, "a", 7);
    ha_state_source_t info;
    assert_true(ha_state_source(st, (size_t) old, &info));
    assert_true(info.lost);
    assert_int_equal(info.lost_at, 10000);
    assert_int_equal(ha_state_next_expiry(st), 11000);
    assert_int_equal(ha_state_expire(st, 10999), 0);
    assert_int_equal(ha_state_expire(st, 11000), 1);
    assert_int_equal(seen.expired, 1);
    assert_string_equal(seen.last_key, "s/short");
    assert_string_equal(s_get(st, "a", 7, "s/long"), "2");
    assert_int_equal(ha_state_seq(st, "a", 7), 0);      //  incomplete now
    assert_int_equal(ha_state_next_expiry(st), 15000);
    //  Seeing the old incarnation lost again does not move its time.
    ha_state_node_lost(st, "a", 12000);
    assert_int_equal(ha_state_next_expiry(st), 13000);  //  a's new incarnation: 12000 + 1000
    assert_int_equal(ha_state_expire(st, 13000), 1);    //  s/new of incarnation 8
    assert_int_equal(ha_state_expire(st, 15000), 1);
    assert_int_equal(ha_state_source_index(st, "a", 7), -1);    //  empty and lost: gone
    assert_int_equal(ha_state_source_index(st, "a", 8), -1);
    assert_int_equal(ha_state_entry_count(st), 0);
    assert_int_equal(ha_state_source_count(st), 1);
    assert_int_equal(ha_state_next_expiry(st), INT64_MAX);
    ha_state_destroy(&st);
}

//  A lost node that comes back (same incarnation, a healed partition) before its keys
//  expire is alive again and keeps them.
static void lost_node_back_before_expiry_keeps_its_keys(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("b", 2);
    ha_state_entry_t e = s_entry("k", "v", 1000);
    assert_int_equal(ha_state_apply(st, "a", 7, 1, &e), HA_STATE_APPLIED);
    ha_state_node_lost(st, "a", 100);
    ha_state_node_alive(st, "a", 7, 600);
    assert_int_equal(ha_state_expire(st, 5000), 0);
    assert_string_equal(s_get(st, "a", 7, "k"), "v");
    assert_int_equal(ha_state_seq(st, "a", 7), 1);
    ha_state_destroy(&st);
}

//  A node that restarts gets everything from a peer: other nodes' keys and its own old
//  incarnation's, which is lost at once (linger counted from the sender's loss time when
//  it says so).
static void snapshot_of_a_lost_source_and_of_our_own_old_incarnation(void **state)
{
    (void) state;
    ha_state_t *st = ha_state_new("a", 9);
    ha_state_snap_t *snap = ha_state_snap_new("a", 8);
    ha_state_entry_t e = s_entry("s/mine", "m", 3000);
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    assert_int_equal(ha_state_snap_apply(st, &snap, 4, 0, 10000), HA_STATE_APPLIED);
    snap = ha_state_snap_new("c", 1);
    e = s_entry("s/c", "c", 3000);
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    assert_int_equal(ha_state_snap_apply(st, &snap, 2, 500, 10000), HA_STATE_APPLIED);
    snap = ha_state_snap_new("b", 1);
    e = s_entry("s/b", "b", 3000);
    assert_int_equal(ha_state_snap_add(snap, &e), 0);
    assert_int_equal(ha_state_snap_apply(st, &snap, 2, 0, 10000), HA_STATE_APPLIED);
    ha_state_source_t info;
    assert_true(ha_state_source(st, (size_t) ha_state_source_index(st, "a", 8), &info));
    assert_true(info.lost);
    assert_int_equal(info.lost_at, 10000);
    assert_true(ha_state_source(st, (size_t) ha_state_source_index(st, "c", 1), &info));
    assert_true(info.lost);
    assert_int_equal(info.lost_at, 9500);
    assert_true(ha_state_source(st, (size_t) ha_state_source_index(st, "b", 1), &info));
    assert_false(info.lost);
    assert_int_equal(ha_state_expire(st, 12500), 1);    //  c's
    assert_int_equal(ha_state_expire(st, 13000), 1);    //  our old incarnation's
    assert_string_equal(s_get(st, "b", 1, "s/b"), "b");
    ha_state_destroy(&st);
}

//  --- Clone, randomised --------------------------------------------------------------------

typedef struct {
    ha_state_entry_t e;
    char key[16], value[32];
    uint64_t seq;
} s_update_t;

static s_update_t s_log[20000];
static size_t s_log_count;

static void s_record(void *ctx, const ha_state_change_t *c)
{
    ha_state_t *src = ctx;
    if (!c->own)
        return;
    s_update_t *u = &s_log[s_log_count++];
    snprintf(u->key, sizeof u->key, "%s", c->key);
    snprintf(u->value, sizeof u->value, "%.*s", (int) c->len, (const char *) c->value);
    u->e = s_entry(u->key, c->kind == HA_STATE_SET ? u->value : NULL, 100);
    u->seq = ha_state_own_seq(src);
}

typedef struct {
    ha_state_snap_t *snap;
} s_copy_t;

static void s_copy(void *ctx, const char *key, const uint8_t *value, size_t len, uint32_t linger)
{
    s_copy_t *c = ctx;
    ha_state_entry_t e = {key, value, len, false, linger};
    assert_int_equal(ha_state_snap_add(c->snap, &e), 0);
}

static void s_visit_compare(void *ctx, const char *key, const uint8_t *value, size_t len,
                            uint32_t linger)
{
    (void) linger;
    ha_state_t *rx = ctx;
    int i = ha_state_source_index(rx, "src", 1);
    assert_true(i >= 0);
    size_t got_len = 0;
    const uint8_t *got = ha_state_get(rx, (size_t) i, key, &got_len, NULL);
    assert_non_null(got);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, value, len);
}

//  The source makes random puts and deletes; the receiver gets each update with 2.5 %
//  loss and, on a gap, a snapshot of the source as it is then.  At every checkpoint (a
//  heartbeat carrying the source's sequence) the receiver holds exactly the source's keys.
static void lossy_updates_and_snapshots_on_gaps_converge(void **state)
{
    (void) state;
    ha_state_t *src = ha_state_new("src", 1);
    ha_state_t *rx = ha_state_new("rx", 1);
    ha_state_listen(src, s_record, src);
    srand(7);
    int gaps = 0, snapshots = 0, checkpoints = 0;
    for (int round = 0; round < 200; round++) {
        s_log_count = 0;
        for (int k = 0; k < 50; k++) {
            char key[16], value[32];
            snprintf(key, sizeof key, "k%d", rand() % 40);
            snprintf(value, sizeof value, "v%d", rand());
            if (rand() % 4 == 0)
                ha_state_delete(src, key);
            else
                ha_state_put(src, key, value, strlen(value), 100);
        }
        for (size_t u = 0; u < s_log_count; u++) {
            if (rand() % 40 == 0)
                continue;   //  lost on the way
            ha_state_result_t r = ha_state_apply(rx, "src", 1, s_log[u].seq, &s_log[u].e);
            if (r == HA_STATE_GAP) {
                gaps++;
                //  The snapshot is of the source now, which is ahead of this update: the
                //  updates still to come are then duplicates.
                s_copy_t c = {ha_state_snap_new("src", 1)};
                ha_state_each(src, 0, s_copy, &c);
                assert_int_equal(ha_state_snap_apply(rx, &c.snap, ha_state_own_seq(src), 0, 0),
                                 HA_STATE_APPLIED);
                snapshots++;
                break;
            }
            assert_true(r == HA_STATE_APPLIED || r == HA_STATE_DUPLICATE);
        }
        //  The checkpoint: a heartbeat says where the source is.
        if (ha_state_seq(rx, "src", 1) < ha_state_own_seq(src)) {
            s_copy_t c = {ha_state_snap_new("src", 1)};
            ha_state_each(src, 0, s_copy, &c);
            assert_int_equal(ha_state_snap_apply(rx, &c.snap, ha_state_own_seq(src), 0, 0),
                             HA_STATE_APPLIED);
            checkpoints++;
        }
        assert_int_equal(ha_state_seq(rx, "src", 1), ha_state_own_seq(src));
        int i = ha_state_source_index(rx, "src", 1);
        ha_state_source_t a, b;
        assert_true(ha_state_source(src, 0, &a));
        assert_true(ha_state_source(rx, (size_t) i, &b));
        assert_int_equal(a.entries, b.entries);
        ha_state_each(src, 0, s_visit_compare, rx);
    }
    assert_true(gaps > 10 && gaps < 200 && checkpoints > 0);
    printf("200 rounds of 50 changes, 2.5 %% lost: %d gaps, %d snapshots, %d caught by the "
           "heartbeat's sequence\n", gaps, snapshots, checkpoints);
    ha_state_destroy(&src);
    ha_state_destroy(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(own_changes_are_numbered_and_unchanged_values_make_none),
        cmocka_unit_test(updates_apply_in_sequence_and_gaps_and_duplicates_change_nothing),
        cmocka_unit_test(sources_keep_their_own_sequences),
        cmocka_unit_test(snapshot_replaces_the_source_and_updates_go_on_from_it),
        cmocka_unit_test(
            restarted_node_lingers_then_expires_and_the_new_incarnation_starts_at_one),
        cmocka_unit_test(lost_node_back_before_expiry_keeps_its_keys),
        cmocka_unit_test(snapshot_of_a_lost_source_and_of_our_own_old_incarnation),
        cmocka_unit_test(lossy_updates_and_snapshots_on_gaps_converge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
