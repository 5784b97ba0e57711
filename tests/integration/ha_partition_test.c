//  Network partitions: every ctimd in a network namespace of its own (test_netns.h), all of
//  them on pbxsim's network, and the cluster bus cut BETWEEN nodes while every node still
//  reaches the PBX.  A cut is a pulled cable (frames vanish, no reset), healed by putting
//  the cable back: the nodes' TCP connections survive it and carry on after their next
//  retransmission.
//
//  What the rules promise (ha/README.md) and these tests hold them to:
//  - a pair with a PBX that takes one link: the backup claims the link with a higher epoch
//    but the PBX refuses it while the owner's link is up; after the heal the owner sees the
//    higher epoch and drops, and the backup connects at once — never two links;
//  - a pair with a PBX that takes several links (links: several, the Binary Star rule): the
//    backup waits for an application to turn to it — one link as long as none does; a
//    libctim application that reaches only the backup makes it take (two links while the
//    cut lasts: the applications chose); after the heal the lower claim drops;
//  - three nodes: the isolated owner has no majority and drops; the majority takes over
//    with the next epoch; an isolated standby never takes; with every node isolated nobody
//    holds the link, and after the heal exactly one keeps it, with a higher epoch.
//  After every heal: exactly one owner, every node agrees on it and its epoch.  pbxsim's
//  link history: never two links at once, except in the pair above while an application
//  chose the cut-off backup.  With a PBX that takes one link the PBX breaks every tie;
//  with several and three nodes the majority's take waits 2 heartbeat intervals after it
//  declared the owner lost, so that the isolated owner, which drops by its own clock when
//  it declares the majority lost, has let go first (ha/README.md "The rules"); the tests
//  print the time between the old link's close and the new one's open.
//
//  Needs root and network namespaces: exits 77 (CTest: skipped) with the reason otherwise.
#include "ha_test_util.h"

static const int S_PAIR[] = {10, 20};
static const int S_TRIO[] = {10, 20, 30};
#define S_STEADY_MS 1500            //  "nothing changes" is watched this long

//  pbxsim's link history once the cluster had settled: what a test's cut changes is
//  counted from here (three nodes starting at once may both take epoch 1 for a moment).
static ha_links_t s_base;

//  Wait until node i's view satisfies cond (an expression over v).
#define S_WAIT_VIEW(f, i, v, cond, what)                                                         \
    do {                                                                                         \
        long long deadline_ = test_now_ms() + HA_WAIT_MS;                                        \
        while (!(ha_view((f), (i), &(v)) && (cond))) {                                           \
            if (test_now_ms() > deadline_)                                                       \
                fail_msg("node %s: never %s; last /status:\n%s", (f)->node[i].id, what,          \
                         (f)->body);                                                             \
            ha_pace(10);                                                                         \
        }                                                                                        \
    } while (0)

//  A cluster in namespaces; pbxsim takes max_links links, and the nodes' files say so
//  (links: several when more than one).
static ha_fx_t *s_cluster_in(size_t n, const int *prio, const char *max_links, unsigned flags)
{
    const char *args[] = {"--max-links", max_links, "--status-interval-ms", "1000", NULL};
    if (strcmp(max_links, "1") != 0)
        flags |= HA_FX_SEVERAL;
    ha_fx_t *f = ha_fx_new_in(n, prio, args, HA_FX_NETNS | flags);
    ha_start_all(f);
    s_base = ha_links_scan(f);
    return f;
}

static ha_fx_t *s_cluster(size_t n, const int *prio, const char *max_links)
{
    return s_cluster_in(n, prio, max_links, 0);
}

//  Links accepted since the cluster settled.
static int s_new_links(const ha_links_t *l)
{
    return l->accepted - s_base.accepted;
}

//  Never two links open at once since the cluster settled; prints the shortest time from
//  a link's close to the next one's open (what), the margin the rules kept.
static void s_no_overlap(ha_fx_t *f, const char *what)
{
    ha_links_t l = ha_links(f);                 //  fails on any overlap
    if (l.accepted - s_base.accepted > 0) {
        printf("%s: the old link closed %lld ms before the new one opened\n", what,
               l.min_gap_ms);
        fflush(stdout);
    }
}

static void s_cut(ha_fx_t *f, size_t i)
{
    assert_int_equal(test_netns_cut(&f->net, (int) i), 0);
}

static void s_heal(ha_fx_t *f, size_t i)
{
    assert_int_equal(test_netns_heal(&f->net, (int) i), 0);
}

//  Every node names owner with epoch; only the owner holds the link, and its link is up.
static void s_agree(ha_fx_t *f, size_t owner, long epoch)
{
    ha_wait_holder(f, owner, HA_WAIT_MS);
    for (size_t i = 0; i < f->n; i++)
        if (i != owner)
            ha_wait_standby(f, i, f->node[owner].id, epoch);
    ha_view_t v;
    assert_true(ha_view(f, owner, &v));
    assert_int_equal(v.epoch, epoch);
}

//  For ms, node i holds no link (and, with check_quorum, has no quorum).
static void s_never_holds(ha_fx_t *f, size_t i, int ms, bool check_quorum)
{
    ha_view_t v;
    for (long long until = test_now_ms() + ms; test_now_ms() < until;) {
        assert_true(ha_view(f, i, &v));
        if (v.held)
            fail_msg("node %s took the link: %s", f->node[i].id, f->body);
        if (check_quorum)
            assert_false(v.quorum);
        ha_pace(20);
    }
}

//  --- A pair ----------------------------------------------------------------------------------

//  pbxsim takes one link.  The bus is cut: b loses a, claims epoch 2 and tries, and pbxsim
//  refuses it while a's link is up; a, which cannot tell b's death from a cut, keeps its
//  link.  After the heal a sees epoch 2 and drops; b, told that a let go, connects at once.
static void pair_one_link_pbx_refuses_the_backup_and_the_higher_epoch_wins_after_heal(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster(2, S_PAIR, "1");
    long long t_cut = test_now_ms();
    s_cut(f, 0);
    ha_view_t v;
    S_WAIT_VIEW(f, 1, v, v.held && v.epoch == 2 && ha_links(f).refused >= 1,
                "claimed epoch 2 and was refused by pbxsim");
    ha_report("pair, one link: cut to the backup's claim refused by the PBX",
              test_now_ms() - t_cut);
    //  During the cut: a keeps its up link with epoch 1, b's claim never gets a link.
    for (long long until = test_now_ms() + S_STEADY_MS; test_now_ms() < until; ha_pace(50)) {
        assert_true(ha_view(f, 0, &v));
        assert_true(v.held && v.link_up);
        assert_int_equal(v.epoch, 1);
        assert_true(ha_view(f, 1, &v));
        assert_true(v.held);
        assert_false(v.link_up);
    }
    ha_links_t during = ha_links(f);
    assert_int_equal(s_new_links(&during), 0);
    assert_int_equal(during.open, 1);

    long long t_heal = test_now_ms();
    s_heal(f, 0);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    ha_report("pair, one link: heal to the link up on the higher epoch's node", up - t_heal);
    s_agree(f, 1, 2);
    assert_true(ha_view(f, 0, &v));
    assert_int_equal(v.drops, 1);
    ha_hold_steady(f, 1, S_STEADY_MS);
    ha_links_t after = ha_links(f);             //  fails on any overlap
    assert_int_equal(s_new_links(&after), 1);
    assert_int_equal(after.open, 1);
    assert_non_null(strstr(f->links, "\"peer\":\"10.77.0.12:"));     //  b's link, from b
}

//  pbxsim takes several links and the pair's files say so: the PBX breaks no tie, Binary
//  Star does.  The bus is cut: b loses a and waits for an application to turn to it, so
//  pbxsim has one link (a's) as long as none does.  A libctim application that reaches
//  only b logs in there: b takes epoch 2 (two links now — the applications chose, as a
//  Binary Star's clients do).  After the heal a sees epoch 2 and drops: one link again.
static void pair_several_links_backup_waits_for_an_application_then_the_higher_epoch_wins(
    void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster_in(2, S_PAIR, "3", HA_FX_CLIENTS);
    long long t_cut = test_now_ms();
    s_cut(f, 0);
    ha_view_t v;
    S_WAIT_VIEW(f, 1, v, strcmp(v.waiting, "vote") == 0 && !v.held,
                "waited for an application to turn to it");
    long long t_wait = test_now_ms();
    //  As long as no application turns to b: a keeps its link, b takes nothing.
    for (long long until = test_now_ms() + S_STEADY_MS; test_now_ms() < until; ha_pace(50)) {
        assert_true(ha_view(f, 0, &v));
        assert_true(v.held && v.link_up);
        assert_int_equal(v.epoch, 1);
        assert_true(ha_view(f, 1, &v));
        assert_false(v.held);
        assert_string_equal(v.waiting, "vote");
    }
    ha_links_t during = ha_links(f);            //  fails on any overlap
    assert_int_equal(s_new_links(&during), 0);
    assert_int_equal(during.open, 1);

    //  An application that reaches b only (its list: b) logs in there.
    char servers[64];
    snprintf(servers, sizeof servers, "tcp://%s:%d", f->node[1].host, f->node[1].client_port);
    test_app_t *app = ha_app_new();
    long long t_app0 = test_now_ms();
    assert_int_equal(test_app_connect(app, servers, 1000), 0);
    long long t_app = app->link_up_at_ms;
    long long t_up = -1, deadline = test_now_ms() + HA_WAIT_MS;
    while (!(ha_view(f, 1, &v) && v.held && v.link_up)) {
        if (test_now_ms() > deadline)
            fail_msg("b never took the link after the application came; /status:\n%s",
                     f->body);
        test_app_turn(app, test_now_ms() + 10);
    }
    t_up = test_now_ms();
    assert_int_equal(v.epoch, 2);
    assert_string_equal(v.waiting, "");
    ha_links_t chosen = ha_links_scan(f);
    assert_int_equal(chosen.open, 2);
    assert_int_equal(s_new_links(&chosen), 1);
    printf("pair, several links, timeline from the cut (ms): b waits for a vote %lld; "
           "application connects to b %lld, logged in %lld; b's link up %lld\n",
           t_wait - t_cut, t_app0 - t_cut, t_app - t_cut, t_up - t_cut);
    fflush(stdout);
    ha_app_free();

    long long t_heal = test_now_ms();
    s_heal(f, 0);
    S_WAIT_VIEW(f, 0, v, !v.held && v.drops == 1, "dropped its link after the heal");
    long long t_drop = test_now_ms();
    ha_report("pair, several links: heal to the lower claim's drop", t_drop - t_heal);
    s_agree(f, 1, 2);
    ha_hold_steady(f, 1, S_STEADY_MS);
    ha_links_t after = ha_links_scan(f);
    assert_int_equal(s_new_links(&after), 1);
    assert_int_equal(after.open, 1);
    //  Two links only from the application's choice to the heal's drop.
    long long overlap = after.overlap_ms - s_base.overlap_ms;
    assert_true(overlap > 0 && overlap <= t_drop - t_app0 + 50);
    printf("pair, several links: two links for %lld ms, from the application's arrival at b "
           "to the drop after the heal (cut %lld ms)\n", overlap, t_heal - t_cut);
    fflush(stdout);
}

//  --- Three nodes -----------------------------------------------------------------------------

//  The owner is cut off: it sees one node of three and drops its link (no quorum); b and c
//  are a majority and b takes epoch 2.  pbxsim takes several links, so only the cluster can
//  keep them to one: the minority must let go before the majority takes.  After the heal a
//  stands by for b (failback is manual) and nothing moves.
static void s_isolated_owner(const char *max_links)
{
    ha_fx_t *f = s_cluster(3, S_TRIO, max_links);
    long long t_cut = test_now_ms();
    s_cut(f, 0);
    long long up = ha_wait_holder(f, 1, HA_WAIT_MS);
    char what[128];
    snprintf(what, sizeof what, "trio, %s link(s): cut of the owner to link up on the majority",
             max_links);
    ha_report(what, up - t_cut);
    ha_view_t v;
    S_WAIT_VIEW(f, 0, v, !v.held && !v.quorum && v.drops == 1, "dropped without quorum");
    ha_wait_standby(f, 2, "b", 2);
    s_never_holds(f, 0, S_STEADY_MS, true);     //  the minority takes nothing
    ha_links_t during = ha_links(f);
    snprintf(what, sizeof what, "trio, %s link(s): isolated owner's drop before the majority's "
             "take", max_links);
    s_no_overlap(f, what);
    assert_int_equal(s_new_links(&during), 1);
    assert_int_equal(during.open, 1);

    long long t_heal = test_now_ms();
    s_heal(f, 0);
    S_WAIT_VIEW(f, 0, v, v.quorum && !v.held && strcmp(v.owner, "b") == 0 && v.epoch == 2,
                "rejoined as standby for b epoch 2");
    ha_report("trio: heal to the old owner standing by for the new one", test_now_ms() - t_heal);
    s_agree(f, 1, 2);
    ha_hold_steady(f, 1, S_STEADY_MS);
    ha_links_t after = ha_links_scan(f);
    assert_int_equal(after.entries, during.entries);
    assert_int_equal(after.overlap_ms, during.overlap_ms);
    assert_int_equal(after.open, 1);
}

static void trio_several_links_isolated_owner_drops_and_the_majority_takes_over(void **state)
{
    (void) state;
    s_isolated_owner("3");
}

static void trio_one_link_isolated_owner_drops_and_the_majority_takes_over(void **state)
{
    (void) state;
    s_isolated_owner("1");
}

//  A standby is cut off: it has no majority and takes nothing although it sees no owner;
//  the owner keeps its link all along (it still sees two of three).
static void trio_isolated_standby_takes_nothing(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster(3, S_TRIO, "3");
    ha_links_t before = ha_links_scan(f);
    s_cut(f, 2);
    ha_view_t v;
    S_WAIT_VIEW(f, 2, v, !v.quorum, "lost quorum");
    assert_true(ha_view(f, 0, &v));
    assert_true(v.held && v.link_up && v.quorum);
    s_never_holds(f, 2, S_STEADY_MS, true);
    s_heal(f, 2);
    S_WAIT_VIEW(f, 2, v, v.quorum, "regained quorum");
    s_agree(f, 0, 1);
    ha_links_t after = ha_links_scan(f);
    assert_int_equal(after.entries, before.entries);
    assert_int_equal(after.open, 1);
    assert_true(ha_view(f, 0, &v));
    assert_int_equal(v.drops, 0);
}

//  Every node cut off from every other: none has a majority, the owner drops, and nobody
//  holds the link however long it lasts.  After the heal exactly one node takes it, with a
//  higher epoch than before.  The nodes hear each other again at different moments (each
//  TCP connection resumes at its own next retransmission, in each direction); a node back
//  in a majority listens for lost_after intervals before taking anything, so the best
//  node takes once they all hear each other.
static void trio_every_node_isolated_nobody_holds_then_one_takes_after_heal(void **state)
{
    (void) state;
    ha_fx_t *f = s_cluster(3, S_TRIO, "3");
    for (size_t i = 0; i < 3; i++)
        s_cut(f, i);
    ha_view_t v;
    S_WAIT_VIEW(f, 0, v, !v.held && v.drops == 1, "dropped without quorum");
    for (size_t i = 0; i < 3; i++)
        S_WAIT_VIEW(f, i, v, !v.quorum, "lost quorum");
    for (long long until = test_now_ms() + S_STEADY_MS; test_now_ms() < until; ha_pace(50))
        for (size_t i = 0; i < 3; i++) {
            assert_true(ha_view(f, i, &v));
            assert_false(v.held);
        }
    ha_links_t during = ha_links_scan(f);
    assert_int_equal(during.open, 0);

    long long t_heal = test_now_ms();
    for (size_t i = 0; i < 3; i++)
        s_heal(f, i);
    //  One node holds an up link and the two others name it, with epoch 2.
    long long deadline = test_now_ms() + HA_WAIT_MS;
    size_t owner = 3;
    for (bool agreed = false; !agreed; ha_pace(5)) {
        if (test_now_ms() > deadline)
            fail_msg("no single owner after the heal; last /status:\n%s", f->body);
        ha_view_t w[3];
        owner = 3;
        int holders = 0;
        for (size_t i = 0; i < 3; i++) {
            if (!ha_view(f, i, &w[i]))
                break;
            if (w[i].held && w[i].link_up && w[i].epoch == 2) {
                owner = i;
                holders++;
            }
        }
        agreed = holders == 1;
        for (size_t i = 0; agreed && i < 3; i++)
            agreed = i == owner || (!w[i].held && w[i].epoch == 2 &&
                                    strcmp(w[i].owner, f->node[owner].id) == 0);
    }
    ha_report("trio, all isolated: heal to one owner that all agree on", test_now_ms() - t_heal);
    s_agree(f, owner, 2);
    ha_hold_steady(f, owner, S_STEADY_MS);
    s_no_overlap(f, "trio, all isolated: the heal");
    ha_links_t after = ha_links_scan(f);
    assert_true(s_new_links(&after) >= 1);
    assert_int_equal(after.open, 1);
}

int main(void)
{
    if (test_netns_check() != 0)
        return 77;      //  the reason is printed
    //  HA_TEST_FILTER=trio_* runs some of them (cmocka's glob), e.g. to repeat one.
    if (getenv("HA_TEST_FILTER"))
        cmocka_set_test_filter(getenv("HA_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            pair_one_link_pbx_refuses_the_backup_and_the_higher_epoch_wins_after_heal,
            ha_teardown),
        cmocka_unit_test_teardown(
            pair_several_links_backup_waits_for_an_application_then_the_higher_epoch_wins,
            ha_app_teardown),
        cmocka_unit_test_teardown(
            trio_several_links_isolated_owner_drops_and_the_majority_takes_over, ha_teardown),
        cmocka_unit_test_teardown(trio_one_link_isolated_owner_drops_and_the_majority_takes_over,
                                  ha_teardown),
        cmocka_unit_test_teardown(trio_isolated_standby_takes_nothing, ha_teardown),
        cmocka_unit_test_teardown(trio_every_node_isolated_nobody_holds_then_one_takes_after_heal,
                                  ha_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
