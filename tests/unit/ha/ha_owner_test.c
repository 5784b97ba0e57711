//  ha_owner tests: the ownership rules as a pure state machine — pair failover, manual
//  failback, no double ownership once a higher epoch is seen, the majority rule with
//  three nodes, settling, epochs that survive a restart — and a randomised cluster of
//  three and five nodes under kills, partitions and restarts.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ha.h"

//  --- A tiny cluster driven by hand ----------------------------------------------------------

#define NODES_MAX 5

static const char *const S_IDS[NODES_MAX] = {"a", "b", "c", "d", "e"};

typedef struct {
    size_t n;                               //  nodes
    ha_owner_t *node[NODES_MAX];
    int priority[NODES_MAX];                //  for pbx "main"
    bool up[NODES_MAX];                     //  running (a dead node sends and hears nothing)
    bool link[NODES_MAX][NODES_MAX];        //  i hears j
    uint64_t disk[NODES_MAX];               //  each node's epoch on disk
    uint64_t issued_max;                    //  highest epoch any node took with
    int takes, drops;
    bool several;                           //  "main" takes several links (pbx[].links)
} sim_t;

//  Exchanges a peer stays joining after it became reachable (ha_cluster: lost_after).
#define S_JOINING_ROUNDS 5

//  Index of node j among node i's peers.
static size_t s_peer_of(size_t i, size_t j)
{
    return j < i ? j : j - 1;
}

static ha_owner_t *s_new_node(sim_t *s, size_t i)
{
    ha_owner_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.self, sizeof cfg.self, "%s", S_IDS[i]);
    for (size_t j = 0; j < s->n && j < NODES_MAX; j++)
        if (j != i)
            snprintf(cfg.peers[cfg.peer_count++], HA_NAME_MAX, "%s", S_IDS[j]);
    cfg.pbx_count = 1;
    snprintf(cfg.pbx[0], HA_NAME_MAX, "main");
    cfg.priority[0] = s->priority[i];
    cfg.epoch[0] = s->disk[i];
    cfg.settle_beats = S_JOINING_ROUNDS;
    cfg.several_links[0] = s->several;
    ha_owner_t *o = ha_owner_new(&cfg);
    assert_non_null(o);
    return o;
}

static void s_sim_init_links(sim_t *s, size_t n, const int *priority, bool several)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->several = several;
    for (size_t i = 0; i < n; i++) {
        s->priority[i] = priority ? priority[i] : 100;
        s->node[i] = s_new_node(s, i);
        s->up[i] = true;
        for (size_t j = 0; j < n; j++)
            s->link[i][j] = true;
    }
}

static void s_sim_init(sim_t *s, size_t n, const int *priority)
{
    s_sim_init_links(s, n, priority, false);
}

static void s_round(sim_t *s);
static void s_settle_all(sim_t *s);

//  A cluster that has started, settled and had its first round (the best node took).
static void s_sim_running_links(sim_t *s, size_t n, const int *priority, bool several)
{
    s_sim_init_links(s, n, priority, several);
    s_settle_all(s);
    s_round(s);
}

static void s_sim_running(sim_t *s, size_t n, const int *priority)
{
    s_sim_running_links(s, n, priority, false);
}

static void s_sim_free(sim_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        ha_owner_destroy(&s->node[i]);
}

//  Node j's heartbeat reaches node i.  (A peer that becomes alive counts as a candidate
//  for its first S_JOINING_ROUNDS heartbeats: cfg.settle_beats, as ha_cluster sets it.)
static void s_deliver(sim_t *s, size_t i, size_t j)
{
    ha_owner_view_t v;
    ha_owner_view(s->node[j], 0, &v);
    const char *names[] = {"main"};
    ha_owner_peer_alive(s->node[i], s_peer_of(i, j), true);
    ha_owner_heartbeat(s->node[i], s_peer_of(i, j), ha_owner_quorum(s->node[j]), names, &v, 1);
}

//  Liveness as node i sees it now, then every heartbeat that can arrive arrives.
static void s_exchange(sim_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!s->up[i])
            continue;
        for (size_t j = 0; j < s->n; j++)
            if (j != i && !(s->up[j] && s->link[i][j]))
                ha_owner_peer_alive(s->node[i], s_peer_of(i, j), false);
    }
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->n; j++)
            if (j != i && s->up[i] && s->up[j] && s->link[i][j])
                s_deliver(s, i, j);
}

//  Node i acts on its decision as ha_cluster does (persist before claiming).
static ha_owner_action_t s_act(sim_t *s, size_t i)
{
    uint64_t epoch = 0;
    char why[256];
    ha_owner_action_t a = ha_owner_decide(s->node[i], 0, &epoch, why, sizeof why);
    if (a == HA_OWNER_DROP) {
        ha_owner_dropped(s->node[i], 0);
        s->drops++;
    } else if (a == HA_OWNER_TAKE) {
        //  Never an epoch this node issued or heard of before, across restarts.  (Two
        //  nodes that cannot hear each other may pick the same number; their claims
        //  still differ by node id, which breaks the tie.)
        assert_true(epoch > s->disk[i]);
        if (epoch > s->issued_max)
            s->issued_max = epoch;
        s->disk[i] = epoch;
        ha_owner_took(s->node[i], 0, epoch);
        s->takes++;
        //  The Claim goes out at once to every node that can hear it.
        for (size_t j = 0; j < s->n; j++)
            if (j != i && s->up[j] && s->link[j][i])
                ha_owner_claim(s->node[j], s_peer_of(j, i), 0, epoch);
    }
    if (ha_owner_max_epoch(s->node[i], 0) > s->disk[i])
        s->disk[i] = ha_owner_max_epoch(s->node[i], 0);
    return a;
}

//  One round: heartbeats, then every running node decides (drops before takes, as
//  ha_cluster does: here each node has one PBX, so one decision each).
static void s_round(sim_t *s)
{
    s_exchange(s);
    for (size_t i = 0; i < s->n; i++)
        if (s->up[i])
            s_act(s, i);
}

static void s_settle_all(sim_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        ha_owner_settle(s->node[i], true);
}

static int s_holders(const sim_t *s, size_t *who)
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->up[i] && ha_owner_held(s->node[i], 0)) {
            if (who)
                *who = i;
            n++;
        }
    return n;
}

static void s_kill(sim_t *s, size_t i)
{
    s->up[i] = false;
}

//  A restart: a fresh state machine that knows only its disk.
static void s_restart(sim_t *s, size_t i)
{
    ha_owner_destroy(&s->node[i]);
    s->node[i] = s_new_node(s, i);
    s->up[i] = true;
}

//  Cut i off from everyone (both directions).
static void s_isolate(sim_t *s, size_t i, bool cut)
{
    for (size_t j = 0; j < s->n; j++)
        if (j != i)
            s->link[i][j] = s->link[j][i] = !cut;
}

//  --- Tests ----------------------------------------------------------------------------------

static void pair_primary_takes_and_backup_takes_over_when_it_is_lost(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_init(&s, 2, prio);
    //  Not settled: nobody takes anything, whatever it sees.
    s_round(&s);
    s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 0);
    s_settle_all(&s);
    s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 0);                       //  priority 10 wins
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);
    s_round(&s);
    s_round(&s);
    assert_int_equal(s.takes, 1);                   //  stable: no churn

    //  The backup sees the primary as owner.
    ha_owner_view_t v;
    ha_owner_view(s.node[1], 0, &v);
    assert_string_equal(v.owner, "a");
    assert_int_equal(v.epoch, 1);

    //  The primary dies: the backup (alone, a pair needs no majority) takes epoch 2.
    s_kill(&s, 0);
    s_round(&s);
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    assert_true(ha_owner_quorum(s.node[1]));
    s_sim_free(&s);
}

static void pair_recovered_primary_does_not_take_the_link_back(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_running(&s, 2, prio);
    s_kill(&s, 0);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    //  The primary restarts (its disk says 1) and settles among the living.
    s_restart(&s, 0);
    s_round(&s);
    ha_owner_settle(s.node[0], true);
    for (int r = 0; r < 5; r++)
        s_round(&s);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);   //  failback is manual
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    ha_owner_view_t v;
    ha_owner_view(s.node[0], 0, &v);
    assert_string_equal(v.owner, "b");
    assert_int_equal(v.epoch, 2);
    assert_int_equal(ha_owner_max_epoch(s.node[0], 0), 2);  //  learnt, so it is kept on disk
    assert_int_equal(s.disk[0], 2);
    s_sim_free(&s);
}

//  A partition of a pair: the backup takes (the PBX refuses its link while the primary
//  holds it); when the nodes hear each other again the primary sees the higher epoch and
//  drops at once, and the backup's link gets a kick to connect now.
static void pair_partition_heals_with_one_owner_the_higher_epoch(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_running(&s, 2, prio);
    ha_owner_link(s.node[0], 0, true);
    s_round(&s);
    s_isolate(&s, 0, true);
    s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 2);           //  the PBX is the tie-breaker now
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    assert_false(ha_owner_take_kick(s.node[1], 0));
    s_isolate(&s, 0, false);
    //  b's heartbeat reaches a: a drops (and only a).
    s_exchange(&s);
    uint64_t epoch = 0;
    char why[256];
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, why, sizeof why), HA_OWNER_DROP);
    assert_int_equal(epoch, 2);
    assert_string_equal(why, "higher epoch 2 from b");
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, why, sizeof why), HA_OWNER_NOTHING);
    ha_owner_dropped(s.node[0], 0);
    ha_owner_link(s.node[0], 0, false);
    //  a's next heartbeat: its link is down; b, holding without a link, retries now.
    s_exchange(&s);
    assert_true(ha_owner_take_kick(s.node[1], 0));
    assert_false(ha_owner_take_kick(s.node[1], 0));     //  once
    for (int r = 0; r < 3; r++)
        s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);

    //  The same after a stop (SIGSTOP) instead of a partition: b, holding with its link,
    //  stops; a declares it lost and takes 3 (the PBX still has b's link: a's is refused).
    //  b continues, sees 3 and drops; its next heartbeat (no link) kicks a.
    ha_owner_link(s.node[1], 0, true);
    s_round(&s);
    s_kill(&s, 1);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[0], 0), 3);
    assert_false(ha_owner_take_kick(s.node[0], 0));
    s.up[1] = true;
    s_exchange(&s);
    assert_int_equal(s_act(&s, 1), HA_OWNER_DROP);
    assert_false(ha_owner_take_kick(s.node[0], 0));
    ha_owner_link(s.node[1], 0, false);
    s_exchange(&s);
    assert_true(ha_owner_take_kick(s.node[0], 0));
    s_sim_free(&s);
}

//  Two holders (a race or a healed partition): whoever sees the other's higher claim
//  drops; with equal epochs the id that sorts first keeps it.  Never both after one
//  exchange.
static void higher_epoch_or_lower_id_wins_no_double_ownership(void **state)
{
    (void) state;
    sim_t s;
    s_sim_init(&s, 3, NULL);
    s_settle_all(&s);
    ha_owner_took(s.node[1], 0, 5);
    ha_owner_took(s.node[2], 0, 5);
    s_exchange(&s);
    uint64_t epoch = 0;
    char why[256];
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, why, sizeof why), HA_OWNER_NOTHING);
    assert_int_equal(ha_owner_decide(s.node[2], 0, &epoch, why, sizeof why), HA_OWNER_DROP);
    assert_int_equal(epoch, 5);
    assert_string_equal(why, "higher epoch 5 from b");
    //  a neither holds nor takes: it sees live owners.
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, why, sizeof why), HA_OWNER_NOTHING);

    //  A claim relayed by a third node counts too: c holds 7, b holds 6, b hears only a,
    //  which names c.
    ha_owner_dropped(s.node[1], 0);
    ha_owner_dropped(s.node[2], 0);
    ha_owner_took(s.node[2], 0, 7);
    ha_owner_took(s.node[1], 0, 6);
    s.link[1][2] = s.link[2][1] = false;
    s_exchange(&s);
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, why, sizeof why), HA_OWNER_DROP);
    assert_int_equal(epoch, 7);
    assert_string_equal(why, "higher epoch 7 from c (via a)");
    s_sim_free(&s);
}

static void claim_and_release_messages_move_ownership_without_waiting(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_running(&s, 2, prio);
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);
    //  a shuts down: it releases; b takes at once although a is still "alive".
    ha_owner_dropped(s.node[0], 0);
    ha_owner_release(s.node[1], 0, 0, 1);
    uint64_t epoch = 0;
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, NULL, 0), HA_OWNER_TAKE);
    assert_int_equal(epoch, 2);
    ha_owner_took(s.node[1], 0, epoch);
    //  A Claim of a higher epoch makes a holder drop before the next heartbeat.
    ha_owner_took(s.node[0], 0, 2);     //  (a bug or a race: a thinks it holds with 2)
    ha_owner_claim(s.node[0], 0, 0, 3);
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_DROP);
    assert_int_equal(epoch, 3);
    assert_int_equal(ha_owner_max_epoch(s.node[0], 0), 3);
    //  A stale release (an older epoch than the claim it would clear) changes nothing.
    ha_owner_dropped(s.node[0], 0);
    ha_owner_release(s.node[0], 0, 0, 2);
    ha_owner_view_t v;
    ha_owner_view(s.node[0], 0, &v);
    assert_string_equal(v.owner, "b");
    assert_int_equal(v.epoch, 3);
    s_sim_free(&s);
}

//  Three nodes: the owner stops cleanly and releases.  b takes at once, although c's last
//  heartbeat still names a (c relays what it saw while a was alive): the Release makes that
//  relay old news.  Before, b and c kept naming a to each other until a was declared lost.
static void three_nodes_release_moves_the_link_at_once(void **state)
{
    (void) state;
    static const int prio[] = {10, 20, 30};
    sim_t s;
    s_sim_running(&s, 3, prio);
    s_round(&s);
    ha_owner_view_t v;
    ha_owner_view(s.node[2], 0, &v);
    assert_string_equal(v.owner, "a");
    ha_owner_dropped(s.node[0], 0);
    ha_owner_release(s.node[1], 0, 0, 1);
    ha_owner_release(s.node[2], s_peer_of(2, 0), 0, 1);
    uint64_t epoch = 0;
    char why[256];
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, why, sizeof why), HA_OWNER_TAKE);
    assert_int_equal(epoch, 2);
    assert_int_equal(ha_owner_decide(s.node[2], 0, &epoch, why, sizeof why), HA_OWNER_NOTHING);
    //  A relay of an older epoch than released is dropped too, a newer claim is not.
    ha_owner_took(s.node[1], 0, 2);
    ha_owner_claim(s.node[2], s_peer_of(2, 1), 0, 2);
    ha_owner_release(s.node[2], s_peer_of(2, 0), 0, 1);     //  a late duplicate
    ha_owner_view(s.node[2], 0, &v);
    assert_string_equal(v.owner, "b");
    s_sim_free(&s);
}

//  A handover: the holder (a, the preferred node) hands the link to c, which ranks last
//  of three; a and b stand aside until c claims, c takes at once with epoch + 1; back
//  from c to a the same way.  A handover whose target never claims ends after its third
//  heartbeat, and one to a node that is lost ends at once (the normal rules resume).
static void release_naming_a_target_makes_it_take_and_the_others_wait(void **state)
{
    (void) state;
    static const int prio[] = {10, 20, 30};
    sim_t s;
    s_sim_running(&s, 3, prio);
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);
    uint64_t epoch = 0;
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, s_peer_of(0, 1) + 5), -EINVAL);
    assert_int_equal(ha_owner_hand_over(s.node[1], 0, s_peer_of(1, 2)), -EPERM);
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, s_peer_of(0, 2)), 0);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);
    assert_int_equal(ha_owner_handover_target(s.node[0], 0), (int) s_peer_of(0, 2));
    //  a, though first in rank and holding nothing now, does not take it back.
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_NOTHING);
    //  The Release naming c reaches b and c.
    ha_owner_release_to(s.node[1], s_peer_of(1, 0), 0, 1, "c");
    ha_owner_release_to(s.node[2], s_peer_of(2, 0), 0, 1, "c");
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, NULL, 0), HA_OWNER_NOTHING);
    char why[128];
    assert_int_equal(ha_owner_decide(s.node[2], 0, &epoch, why, sizeof why), HA_OWNER_TAKE);
    assert_int_equal(epoch, 2);
    assert_string_equal(why, "handed over to this node");
    ha_owner_took(s.node[2], 0, epoch);
    ha_owner_claim(s.node[0], s_peer_of(0, 2), 0, 2);
    ha_owner_claim(s.node[1], s_peer_of(1, 2), 0, 2);
    assert_int_equal(ha_owner_handover_target(s.node[0], 0), -1);
    //  Rounds later c still holds it: failback is manual.
    for (int r = 0; r < 5; r++)
        s_round(&s);
    assert_int_equal(ha_owner_held(s.node[2], 0), 2);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);
    assert_int_equal(ha_owner_held(s.node[1], 0), 0);

    //  Back to a: the manual failback.
    assert_int_equal(ha_owner_hand_over(s.node[2], 0, s_peer_of(2, 0)), 0);
    ha_owner_release_to(s.node[0], s_peer_of(0, 2), 0, 2, "a");
    ha_owner_release_to(s.node[1], s_peer_of(1, 2), 0, 2, "a");
    assert_int_equal(ha_owner_decide(s.node[2], 0, &epoch, NULL, 0), HA_OWNER_NOTHING);
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_TAKE);
    assert_int_equal(epoch, 3);
    ha_owner_took(s.node[0], 0, epoch);
    for (int r = 0; r < 3; r++)
        s_round(&s);
    assert_int_equal(ha_owner_held(s.node[0], 0), 3);
    assert_int_equal(ha_owner_held(s.node[2], 0), 0);

    //  A target that never claims: b stands aside for three of its heartbeats, then the
    //  normal rules give the link to the first in rank (a, which handed it over).
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, s_peer_of(0, 1)), 0);
    ha_owner_release_to(s.node[2], s_peer_of(2, 0), 0, 3, "b");
    for (int beat = 0; beat < 2; beat++) {
        s_deliver(&s, 0, 1);
        assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_NOTHING);
    }
    s_deliver(&s, 0, 1);
    assert_int_equal(ha_owner_handover_target(s.node[0], 0), -1);
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_TAKE);
    assert_int_equal(epoch, 4);
    ha_owner_took(s.node[0], 0, epoch);
    s_round(&s);

    //  A target lost during the handover ends it at once.
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, s_peer_of(0, 2)), 0);
    ha_owner_peer_alive(s.node[0], s_peer_of(0, 2), false);
    assert_int_equal(ha_owner_handover_target(s.node[0], 0), -1);
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_TAKE);
    //  ... and one to a node not alive is refused.
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, s_peer_of(0, 2)), -EPERM);
    ha_owner_took(s.node[0], 0, epoch);
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, s_peer_of(0, 2)), -EHOSTUNREACH);
    s_sim_free(&s);
}

//  Three nodes: the owner cut off from both others has no majority and drops its link;
//  the two others (a majority) take it with a higher epoch; the isolated node never takes
//  it back while isolated, even with the best priority.
static void three_nodes_isolated_owner_drops_and_majority_takes_over(void **state)
{
    (void) state;
    static const int prio[] = {10, 20, 30};
    sim_t s;
    s_sim_running(&s, 3, prio);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 0);
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);

    s_isolate(&s, 0, true);
    s_exchange(&s);
    assert_false(ha_owner_quorum(s.node[0]));
    uint64_t epoch = 0;
    char why[256];
    assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, why, sizeof why), HA_OWNER_DROP);
    assert_string_equal(why, "no quorum (sees 1 of 3 nodes)");
    s_act(&s, 0);
    s_act(&s, 1);
    s_act(&s, 2);
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);                           //  b: the better of the two left
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    for (int r = 0; r < 5; r++)
        s_round(&s);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);
    assert_int_equal(s_holders(&s, NULL), 1);

    //  Healed: a sees b's claim and stays standby (manual failback).
    s_isolate(&s, 0, false);
    for (int r = 0; r < 5; r++)
        s_round(&s);
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);
    assert_int_equal(s.takes, 2);
    s_sim_free(&s);
}

//  Three settled nodes (priorities 10, 20, 30) of which only survivor is left running: it
//  has no quorum and, after a few rounds, nobody holds the link.
static void s_lone_survivor(sim_t *s, size_t survivor)
{
    static const int prio[] = {10, 20, 30};
    s_sim_init(s, 3, prio);
    s_settle_all(s);
    for (size_t i = 0; i < 3; i++)
        if (i != survivor)
            s_kill(s, i);
    for (int r = 0; r < 3; r++)
        s_round(s);
    assert_int_equal(s_holders(s, NULL), 0);
    assert_false(ha_owner_quorum(s->node[survivor]));
}

//  A node without quorum takes nothing, even with no owner anywhere; the nodes with
//  quorum do not count a peer without quorum as a candidate.
static void three_nodes_no_quorum_no_take(void **state)
{
    (void) state;
    sim_t s;
    s_lone_survivor(&s, 0);
    //  c comes up: a and c are a majority, a ranks first.
    s.up[2] = true;
    s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 0);
    s_sim_free(&s);
}

//  A better-ranked node that just came back has no quorum in its first heartbeats (it has
//  not heard a majority yet): a lower-ranked node waits settle_beats of its heartbeats for
//  it instead of racing it to the link — and takes when it never gets quorum.
static void returning_better_node_is_waited_for_while_it_settles(void **state)
{
    (void) state;
    for (int wait = 0; wait <= 1; wait++) {
        ha_owner_cfg_t cfg;
        memset(&cfg, 0, sizeof cfg);
        snprintf(cfg.self, sizeof cfg.self, "c");
        cfg.peer_count = 2;
        snprintf(cfg.peers[0], HA_NAME_MAX, "a");
        snprintf(cfg.peers[1], HA_NAME_MAX, "b");
        cfg.pbx_count = 1;
        snprintf(cfg.pbx[0], HA_NAME_MAX, "main");
        cfg.priority[0] = 30;
        cfg.settle_beats = wait ? 5 : 0;
        ha_owner_t *c = ha_owner_new(&cfg);
        assert_non_null(c);
        ha_owner_settle(c, true);
        const char *names[] = {"main"};
        ha_owner_view_t b_view = {.owner = "", .epoch = 1, .link_up = false, .priority = 20};
        ha_owner_peer_alive(c, 1, true);
        uint64_t epoch = 0;
        for (int beat = 1; beat <= 6; beat++) {
            ha_owner_heartbeat(c, 1, false, names, &b_view, 1);
            ha_owner_action_t a = ha_owner_decide(c, 0, &epoch, NULL, 0);
            //  Without the wait c takes at once; with it, after b's first five heartbeats.
            assert_int_equal(a, !wait || beat > 5 ? HA_OWNER_TAKE : HA_OWNER_NOTHING);
        }
        //  b got quorum in time: it ranks first, c stands by.
        ha_owner_peer_alive(c, 1, false);
        ha_owner_peer_alive(c, 1, true);
        ha_owner_heartbeat(c, 1, false, names, &b_view, 1);
        ha_owner_heartbeat(c, 1, true, names, &b_view, 1);
        assert_int_equal(ha_owner_decide(c, 0, &epoch, NULL, 0), HA_OWNER_NOTHING);
        ha_owner_destroy(&c);
    }
}

//  A peer's "no quorum" can be stale.  b comes back while c is alone; b's first heartbeat,
//  sent before b heard c, reaches c.  c now has a majority, but b ranks first and is still
//  joining: c must not take past it (judged on the stale flag, c took, and b could take a
//  moment later too — found by the partition tests).  b takes once it hears c.
static void three_nodes_joining_better_peer_without_quorum_defers_the_take(void **state)
{
    (void) state;
    sim_t s;
    s_lone_survivor(&s, 2);
    s_restart(&s, 1);
    ha_owner_settle(s.node[1], true);
    s.link[1][2] = false;                   //  b does not hear c yet; c hears b
    s_exchange(&s);
    assert_true(ha_owner_quorum(s.node[2]));
    assert_false(ha_owner_quorum(s.node[1]));
    uint64_t epoch = 0;
    assert_int_equal(s_act(&s, 2), HA_OWNER_NOTHING);
    assert_int_equal(ha_owner_decide(s.node[1], 0, &epoch, NULL, 0), HA_OWNER_NOTHING);
    s.link[1][2] = true;
    s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);
    for (int r = 0; r < 3; r++)
        s_round(&s);
    assert_int_equal(s.takes, 1);
    s_sim_free(&s);
}

//  Joining is bounded: a better peer that keeps announcing no quorum (it hears nobody, a
//  one-way failure) blocks the others only while it is joining, then b takes.
static void three_nodes_better_peer_without_quorum_blocks_only_while_joining(void **state)
{
    (void) state;
    static const int prio[] = {10, 20, 30};
    sim_t s;
    s_sim_init(&s, 3, prio);
    s.link[0][1] = s.link[0][2] = false;    //  a hears nobody; b and c hear everyone
    s_settle_all(&s);
    for (int r = 0; r < S_JOINING_ROUNDS; r++) {
        s_round(&s);
        assert_int_equal(s_holders(&s, NULL), 0);
    }
    s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);
    for (int r = 0; r < 3; r++)
        s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 1);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);
    s_sim_free(&s);
}

//  Epochs survive restarts through the disk: a node that restarts with its stored epoch
//  takes a higher one, and ha_epochs keeps it across a reload (atomic file).
static void epochs_persist_across_restart_and_are_never_reused(void **state)
{
    (void) state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ctim-ha-owner-XXXXXX");
    assert_non_null(mkdtemp(dir));
    uint64_t e = 99;
    assert_int_equal(ha_epochs_load(dir, "main", &e), 0);
    assert_int_equal(e, 0);                             //  no file yet

    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_init(&s, 2, prio);
    s_kill(&s, 1);
    for (int restart = 0; restart < 4; restart++) {
        //  The lone node takes, stores (as ha_cluster would before announcing), dies.
        ha_owner_settle(s.node[0], true);
        uint64_t epoch = 0;
        assert_int_equal(ha_owner_decide(s.node[0], 0, &epoch, NULL, 0), HA_OWNER_TAKE);
        assert_int_equal(ha_epochs_store(dir, "main", epoch), 0);
        ha_owner_took(s.node[0], 0, epoch);
        assert_int_equal(epoch, (uint64_t) restart + 1);
        //  Restart: a fresh state machine fed from the disk.
        assert_int_equal(ha_epochs_load(dir, "main", &s.disk[0]), 0);
        s_restart(&s, 0);
        assert_int_equal(ha_owner_held(s.node[0], 0), 0);
        assert_int_equal(ha_owner_max_epoch(s.node[0], 0), (uint64_t) restart + 1);
    }
    //  The store replaced the file (no .tmp left behind) and holds just the number.
    char path[128], text[64] = "";
    snprintf(path, sizeof path, "%s/epoch-main", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "4\n");
    snprintf(path, sizeof path, "%s/epoch-main.tmp", dir);
    assert_int_not_equal(access(path, F_OK), 0);

    //  A corrupt file is refused, not read as 0.
    snprintf(path, sizeof path, "%s/epoch-bad", dir);
    f = fopen(path, "w");
    fputs("12x\n", f);
    fclose(f);
    assert_int_equal(ha_epochs_load(dir, "bad", &e), -EBADMSG);
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(ha_epochs_load(dir, "bad", &e), -EBADMSG);
    //  A store into a folder that is not there fails cleanly.
    assert_true(ha_epochs_store("/nonexistent/ctim", "main", 5) < 0);
    assert_int_equal(ha_epochs_prepare(dir), 0);        //  exists: fine
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    s_sim_free(&s);
}

static void new_refuses_unusable_config(void **state)
{
    (void) state;
    ha_owner_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.self, sizeof cfg.self, "a");
    assert_null(ha_owner_new(&cfg));                    //  no peer
    cfg.peer_count = 1;
    snprintf(cfg.peers[0], HA_NAME_MAX, "a");
    assert_null(ha_owner_new(&cfg));                    //  itself as a peer
    cfg.peer_count = 2;
    snprintf(cfg.peers[0], HA_NAME_MAX, "b");
    snprintf(cfg.peers[1], HA_NAME_MAX, "b");
    assert_null(ha_owner_new(&cfg));                    //  a peer twice
    cfg.peer_count = 1;
    ha_owner_t *o = ha_owner_new(&cfg);
    assert_non_null(o);
    ha_owner_destroy(&o);
    ha_owner_destroy(&o);
    assert_null(o);
}

//  Randomised: three and five nodes, thousands of rounds of kills, restarts, isolations
//  and heals.  Every take uses an epoch above any its node stored (s_act checks it), a node
//  without quorum never holds after its decision, and whenever every node runs and hears
//  every other, one round later exactly one holds.
static void random_faults_keep_one_owner_and_growing_epochs(void **state)
{
    (void) state;
    for (size_t n = 3; n <= 5; n += 2) {
        srand(7 + (unsigned) n);
        sim_t s;
        s_sim_init(&s, n, NULL);
        s_settle_all(&s);
        for (int r = 0; r < 3000; r++) {
            size_t i = (size_t) rand() % n;
            switch (rand() % 8) {
            case 0:
                s_kill(&s, i);
                break;
            case 1:
                if (!s.up[i]) {
                    s_restart(&s, i);
                    ha_owner_settle(s.node[i], true);
                }
                break;
            case 2:
                s_isolate(&s, i, true);
                break;
            case 3:
            case 4:
                s_isolate(&s, i, false);
                break;
            default:
                break;
            }
            s_round(&s);
            for (size_t k = 0; k < n; k++)
                if (s.up[k] && ha_owner_held(s.node[k], 0))
                    assert_true(ha_owner_quorum(s.node[k]));
            bool whole = true;
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b < n; b++)
                    whole = whole && s.up[a] && s.link[a][b];
            if (whole) {
                s_round(&s);
                assert_int_equal(s_holders(&s, NULL), 1);
            }
        }
        assert_true(s.takes > 10);
        s_sim_free(&s);
    }
}

//  --- A PBX that takes several links ---------------------------------------------------------

//  The decision of node i, with its reason.
static ha_owner_action_t s_decide(sim_t *s, size_t i, uint64_t *epoch, char *why, size_t cap)
{
    return ha_owner_decide(s->node[i], 0, epoch, why, cap);
}

static void pair_several_links_backup_takes_only_once_an_application_turns_to_it(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    //  Both alive: the usual rules, no vote needed (a ranks first).
    s_sim_running_links(&s, 2, prio, true);
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);
    //  An application that turns to b while a is alive says nothing about a's loss later.
    ha_owner_app_arrived(s.node[1]);
    s_round(&s);
    s_kill(&s, 0);
    s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 0);
    char why[256];
    uint64_t epoch = 0;
    assert_int_equal(ha_owner_waiting(s.node[1], 0, why, sizeof why), HA_OWNER_WAIT_VOTE);
    assert_string_equal(why, "a lost; waiting for an application to turn to this node "
                             "(Binary Star, PBX takes several links)");
    assert_string_equal(ha_owner_wait_str(HA_OWNER_WAIT_VOTE), "vote");
    for (int r = 0; r < 20; r++) {
        ha_owner_tick(s.node[1]);
        s_round(&s);
    }
    assert_int_equal(s_holders(&s, NULL), 0);
    //  A new application turns to b: it takes the link with the next epoch.
    ha_owner_app_arrived(s.node[1]);
    assert_int_equal(s_decide(&s, 1, &epoch, why, sizeof why), HA_OWNER_TAKE);
    assert_int_equal(epoch, 2);
    assert_string_equal(why, "a lost; an application turned to this node (Binary Star, PBX "
                             "takes several links)");
    assert_int_equal(ha_owner_waiting(s.node[1], 0, NULL, 0), HA_OWNER_WAIT_NONE);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    //  a comes back: it sees b's claim and stands by (failback stays manual).
    s_restart(&s, 0);
    ha_owner_settle(s.node[0], true);
    for (int r = 0; r < 5; r++)
        s_round(&s);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    s_sim_free(&s);
}

static void pair_several_links_vote_counts_from_the_last_heartbeat_of_the_peer(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_running_links(&s, 2, prio, true);
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);
    //  An application arrives after a's last heartbeat, before b declares a lost (a CSTA
    //  application sees TCP close on kill -9 and reconnects within the lost_after
    //  intervals): it counts, and b takes as soon as a is lost.
    ha_owner_app_arrived(s.node[1]);
    s_kill(&s, 0);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    s_sim_free(&s);

    //  One-link PBX, no application: b takes at once (the PBX arbitrates).
    s_sim_running(&s, 2, prio);
    s_kill(&s, 0);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    s_sim_free(&s);
}

static void pair_several_links_cut_one_link_until_a_vote_then_the_higher_claim_wins(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_running_links(&s, 2, prio, true);
    s_isolate(&s, 0, true);
    for (int r = 0; r < 5; r++)
        s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);       //  one link while nobody turns to b
    assert_int_equal(who, 0);
    //  An application that cannot reach a turns to b: b takes (two links while cut: the
    //  applications chose), and after the heal a sees the higher epoch and drops.
    ha_owner_app_arrived(s.node[1]);
    s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 2);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    s_isolate(&s, 0, false);
    s_round(&s);
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);
    s_sim_free(&s);
}

static void pair_several_links_handover_target_takes_at_once_and_lone_start_waits(void **state)
{
    (void) state;
    static const int prio[] = {10, 20};
    sim_t s;
    s_sim_running_links(&s, 2, prio, true);
    //  A handover needs no vote: its target takes at once.
    assert_int_equal(ha_owner_hand_over(s.node[0], 0, 0), 0);
    ha_owner_release_to(s.node[1], 0, 0, 1, "b");
    uint64_t epoch = 0;
    assert_int_equal(s_decide(&s, 1, &epoch, NULL, 0), HA_OWNER_TAKE);
    assert_int_equal(epoch, 2);
    s_sim_free(&s);

    //  A node starting alone (its peer never heard) waits for a vote too: it cannot know
    //  its rank nor whether the peer holds the link behind a cut.
    s_sim_init_links(&s, 2, prio, true);
    s_kill(&s, 0);
    s_settle_all(&s);
    for (int r = 0; r < 5; r++)
        s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 0);
    char why[256];
    assert_int_equal(ha_owner_waiting(s.node[1], 0, why, sizeof why), HA_OWNER_WAIT_VOTE);
    assert_string_equal(why, "a never heard; waiting for an application to turn to this node "
                             "(Binary Star, PBX takes several links)");
    ha_owner_app_arrived(s.node[1]);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[1], 0), 1);
    s_sim_free(&s);
}

static void three_nodes_several_links_take_waits_two_ticks_after_the_owner_is_lost(void **state)
{
    (void) state;
    static const int prio[] = {10, 20, 30};
    sim_t s;
    s_sim_running_links(&s, 3, prio, true);
    assert_int_equal(ha_owner_held(s.node[0], 0), 1);
    //  A standby lost: nothing to wait for.
    s_kill(&s, 2);
    s_round(&s);
    assert_int_equal(ha_owner_waiting(s.node[1], 0, NULL, 0), HA_OWNER_WAIT_NONE);
    s_restart(&s, 2);
    ha_owner_settle(s.node[2], true);
    for (int r = 0; r < 6; r++)
        s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 1);

    //  The owner cut off: it drops (no quorum); b, first of the majority, waits 2 ticks.
    s_isolate(&s, 0, true);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[0], 0), 0);
    assert_int_equal(s_holders(&s, NULL), 0);
    char why[256];
    assert_int_equal(ha_owner_waiting(s.node[1], 0, why, sizeof why), HA_OWNER_WAIT_MARGIN);
    assert_string_equal(why, "owner a lost; waiting 2 more heartbeat intervals for it to drop "
                             "its link (PBX takes several links)");
    assert_int_equal(ha_owner_waiting(s.node[2], 0, NULL, 0), HA_OWNER_WAIT_NONE);   //  ranks after b
    ha_owner_tick(s.node[1]);
    ha_owner_tick(s.node[2]);
    s_round(&s);
    assert_int_equal(s_holders(&s, NULL), 0);
    assert_int_equal(ha_owner_waiting(s.node[1], 0, why, sizeof why), HA_OWNER_WAIT_MARGIN);
    assert_string_equal(why, "owner a lost; waiting 1 more heartbeat interval for it to drop "
                             "its link (PBX takes several links)");
    ha_owner_tick(s.node[1]);
    ha_owner_tick(s.node[2]);
    s_round(&s);
    size_t who = 9;
    assert_int_equal(s_holders(&s, &who), 1);
    assert_int_equal(who, 1);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    s_sim_free(&s);

    //  One link: the majority takes at once (the PBX refuses it until a's link is gone).
    s_sim_running(&s, 3, prio);
    s_isolate(&s, 0, true);
    s_round(&s);
    assert_int_equal(ha_owner_held(s.node[1], 0), 2);
    s_sim_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pair_primary_takes_and_backup_takes_over_when_it_is_lost),
        cmocka_unit_test(pair_recovered_primary_does_not_take_the_link_back),
        cmocka_unit_test(pair_partition_heals_with_one_owner_the_higher_epoch),
        cmocka_unit_test(higher_epoch_or_lower_id_wins_no_double_ownership),
        cmocka_unit_test(claim_and_release_messages_move_ownership_without_waiting),
        cmocka_unit_test(release_naming_a_target_makes_it_take_and_the_others_wait),
        cmocka_unit_test(three_nodes_isolated_owner_drops_and_majority_takes_over),
        cmocka_unit_test(three_nodes_release_moves_the_link_at_once),
        cmocka_unit_test(three_nodes_no_quorum_no_take),
        cmocka_unit_test(returning_better_node_is_waited_for_while_it_settles),
        cmocka_unit_test(three_nodes_joining_better_peer_without_quorum_defers_the_take),
        cmocka_unit_test(three_nodes_better_peer_without_quorum_blocks_only_while_joining),
        cmocka_unit_test(epochs_persist_across_restart_and_are_never_reused),
        cmocka_unit_test(new_refuses_unusable_config),
        cmocka_unit_test(random_faults_keep_one_owner_and_growing_epochs),
        cmocka_unit_test(pair_several_links_backup_takes_only_once_an_application_turns_to_it),
        cmocka_unit_test(pair_several_links_vote_counts_from_the_last_heartbeat_of_the_peer),
        cmocka_unit_test(pair_several_links_cut_one_link_until_a_vote_then_the_higher_claim_wins),
        cmocka_unit_test(pair_several_links_handover_target_takes_at_once_and_lone_start_waits),
        cmocka_unit_test(three_nodes_several_links_take_waits_two_ticks_after_the_owner_is_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
