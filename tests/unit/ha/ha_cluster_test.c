//  ha_cluster tests: a real cluster member on a zloop in the test process, over loopback
//  TCP on free ports, against a scripted peer (a ROUTER and a DEALER speaking
//  cluster.proto from the test) and against a second real member.  Every wait is a
//  condition with a deadline, run on the loop.  The replicated state: keys both ways in a
//  pair, a gap and a heartbeat ahead each ask the source for a snapshot, a lost member's
//  keys linger then expire, a restarted member gets its old keys back from its peer.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ha.h"
#include "proto_cluster.h"
#include "test_http.h"

#define WAIT_MS 10000
#define HB_MS 100
#define LOST_AFTER 5

typedef struct {
    ha_cluster_t *cluster;
    int takes, drops, retries;
    uint64_t took_epoch;
    uint64_t disk_at_take;          //  the epoch file's value when take was called
    int64_t took_at;
    char drop_why[256];
    char state_dir[64];
    char log[64][256];              //  the last lines, for checks
    int log_count;
    int state_set, state_removed, state_expired;    //  what state_changed reported
    int64_t expired_at;
    int handed_over;                //  Releases naming a target heard
    char handed_over_from[16], handed_over_to[16];
    int takes_at_handed_over;       //  takes when the last one was heard (before its take)
} member_t;

typedef struct {
    zloop_t *loop;
    zsock_t *router;                //  the scripted peer's ROUTER (the member sends here)
    zsock_t *dealer;                //  ... and its DEALER to the member's ROUTER
    int port;                       //  the scripted peer's port
    proto_cluster_msg_t last[16];   //  the last message of each kind it received
    int received[16];
    member_t m[2];
    int ports[2];
    bool several;                   //  members made from now on: pbx main takes several links
} fx_t;

//  --- The member's listener ------------------------------------------------------------------

static void s_take(void *ctx, size_t pbx, uint64_t epoch)
{
    member_t *m = ctx;
    assert_int_equal(pbx, 0);
    m->takes++;
    m->took_epoch = epoch;
    m->took_at = zclock_mono();
    assert_int_equal(ha_epochs_load(m->state_dir, "main", &m->disk_at_take), 0);
}

static void s_drop(void *ctx, size_t pbx, const char *why)
{
    member_t *m = ctx;
    assert_int_equal(pbx, 0);
    m->drops++;
    snprintf(m->drop_why, sizeof m->drop_why, "%s", why);
    //  The node reports its link down from the link's callback, inside this call.
    ha_cluster_link_state(m->cluster, pbx, false);
}

static void s_retry(void *ctx, size_t pbx)
{
    (void) pbx;
    ((member_t *) ctx)->retries++;
}

static void s_handed_over(void *ctx, size_t pbx, const char *from, const char *to)
{
    member_t *m = ctx;
    assert_int_equal(pbx, 0);
    m->handed_over++;
    snprintf(m->handed_over_from, sizeof m->handed_over_from, "%s", from);
    snprintf(m->handed_over_to, sizeof m->handed_over_to, "%s", to);
    m->takes_at_handed_over = m->takes;
}

static void s_log(void *ctx, ha_log_level_t level, const char *text)
{
    member_t *m = ctx;
    fprintf(stderr, "  [%s] %d %s\n", m->state_dir + strlen(m->state_dir) - 1, (int) level, text);
    snprintf(m->log[m->log_count % 64], sizeof m->log[0], "%s", text);
    m->log_count++;
}

static void s_state_changed(void *ctx, const ha_state_change_t *c)
{
    member_t *m = ctx;
    if (c->kind == HA_STATE_SET)
        m->state_set++;
    else if (c->kind == HA_STATE_REMOVED)
        m->state_removed++;
    else {
        m->state_expired++;
        m->expired_at = zclock_mono();
    }
    //  Changing the state from in here is refused.
    assert_int_equal(ha_cluster_state_put(m->cluster, "inside", "x", 1, 0), -EBUSY);
}

static bool s_logged(const member_t *m, const char *text)
{
    for (int i = 0; i < m->log_count && i < 64; i++)
        if (strstr(m->log[i], text))
            return true;
    return false;
}

//  --- Fixture --------------------------------------------------------------------------------

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->loop = zloop_new();
    for (int i = 0; i < 2; i++) {
        snprintf(f->m[i].state_dir, sizeof f->m[i].state_dir, "/tmp/ctim-ha-cl-XXXXXX");
        assert_non_null(mkdtemp(f->m[i].state_dir));
        //  The last character tells the members apart in the log.
        size_t n = strlen(f->m[i].state_dir);
        char renamed[64];
        snprintf(renamed, sizeof renamed, "%.*s%c", (int) n - 1, f->m[i].state_dir, 'n' + i);
        assert_int_equal(rename(f->m[i].state_dir, renamed), 0);
        snprintf(f->m[i].state_dir, sizeof f->m[i].state_dir, "%s", renamed);
        f->ports[i] = test_free_port();
    }
    f->port = test_free_port();
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    for (int i = 0; i < 2; i++) {
        ha_cluster_destroy(&f->m[i].cluster);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->m[i].state_dir);
        if (system(cmd) != 0)
            return -1;
    }
    if (f->router)
        zloop_reader_end(f->loop, f->router);
    zsock_destroy(&f->router);
    zsock_destroy(&f->dealer);
    zloop_destroy(&f->loop);
    free(f);
    return 0;
}

//  CURVE for the members made from now on (NULL: plain): member i's certificate and the
//  public key it expects of its peer.
static const ha_curve_cert_t *s_curve_cert[2];
static const char *s_curve_peer_key[2];

//  Member i of a cluster with one peer (id peer_id on peer_port), priority prio; with
//  silent_peer, also a third node "x" that never answers (a port nobody listens on).
static void s_member_of(fx_t *f, int i, const char *id, int prio, const char *peer_id,
                        int peer_port, bool silent_peer)
{
    ha_cluster_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.node_id, sizeof cfg.node_id, "%s", id);
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1");
    cfg.port = f->ports[i];
    cfg.peer_count = silent_peer ? 2 : 1;
    snprintf(cfg.peers[0].id, sizeof cfg.peers[0].id, "%s", peer_id);
    snprintf(cfg.peers[0].endpoint, sizeof cfg.peers[0].endpoint, "127.0.0.1:%d", peer_port);
    snprintf(cfg.peers[1].id, sizeof cfg.peers[1].id, "x");
    snprintf(cfg.peers[1].endpoint, sizeof cfg.peers[1].endpoint, "127.0.0.1:%d",
             f->ports[1]);
    cfg.heartbeat_ms = HB_MS;
    cfg.lost_after = LOST_AFTER;
    snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", f->m[i].state_dir);
    cfg.pbx_count = 1;
    snprintf(cfg.pbx[0], sizeof cfg.pbx[0], "main");
    cfg.priority[0] = prio;
    cfg.several_links[0] = f->several;
    if (s_curve_cert[i]) {
        cfg.curve = *s_curve_cert[i];
        snprintf(cfg.peers[0].curve_key, sizeof cfg.peers[0].curve_key, "%s",
                 s_curve_peer_key[i]);
        snprintf(cfg.peers[1].curve_key, sizeof cfg.peers[1].curve_key, "%s",
                 s_curve_peer_key[i]);
    }
    member_t *m = &f->m[i];
    ha_cluster_listener_t l = {m, s_take, s_drop, s_retry, s_log, s_state_changed,
                               s_handed_over};
    //  A port just closed by a member that stopped is released by ZeroMQ's I/O thread a
    //  moment later: try again for a while.
    for (int attempt = 0;; attempt++) {
        m->cluster = ha_cluster_new(f->loop, &cfg, &l);
        assert_non_null(m->cluster);
        int rc = ha_cluster_start(m->cluster);
        if (rc == 0)
            return;
        ha_cluster_destroy(&m->cluster);
        assert_int_equal(rc, -EADDRINUSE);
        assert_true(attempt < 40);
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void s_member(fx_t *f, int i, const char *id, int prio, const char *peer_id, int peer_port)
{
    s_member_of(f, i, id, prio, peer_id, peer_port, false);
}

//  --- The scripted peer ----------------------------------------------------------------------

static int s_on_peer_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    fx_t *f = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    zframe_t *id = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    proto_cluster_msg_t m;
    if (body && proto_cluster_decode(&m, zframe_data(body), zframe_size(body)) == 0 &&
        (size_t) m.kind < sizeof f->received / sizeof f->received[0]) {
        f->last[m.kind] = m;
        f->received[m.kind]++;
    }
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    return 0;
}

//  The scripted peer "f" listens on f->port and connects to member 0.
static void s_peer_start(fx_t *f)
{
    f->router = zsock_new(ZMQ_ROUTER);
    assert_true(zsock_bind(f->router, "tcp://127.0.0.1:%d", f->port) >= 0);
    assert_int_equal(zloop_reader(f->loop, f->router, s_on_peer_router, f), 0);
    f->dealer = zsock_new(ZMQ_DEALER);
    zsock_set_linger(f->dealer, 0);
    assert_int_equal(zsock_connect(f->dealer, "tcp://127.0.0.1:%d", f->ports[0]), 0);
}

static void s_peer_send_raw(fx_t *f, const void *buf, size_t len)
{
    assert_true(zmq_send(zsock_resolve(f->dealer), buf, len, 0) == (int) len);
}

static void s_peer_send(fx_t *f, const proto_cluster_msg_t *m)
{
    uint8_t buf[PROTO_CLUSTER_FRAME_MAX];
    size_t n = 0;
    assert_int_equal(proto_cluster_encode(m, buf, sizeof buf, &n), 0);
    s_peer_send_raw(f, buf, n);
}

//  A heartbeat of peer "f": its priority, and the owner it names (NULL none) with epoch.
static void s_peer_heartbeat(fx_t *f, int prio, const char *owner, uint64_t epoch, bool link_up)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.quorum = true;
    m.heartbeat_ms = HB_MS;
    m.pbx_count = 1;
    strcpy(m.pbx[0].pbx, "main");
    snprintf(m.pbx[0].owner, sizeof m.pbx[0].owner, "%s", owner ? owner : "");
    m.pbx[0].epoch = epoch;
    m.pbx[0].priority = prio;
    m.pbx[0].link_up = link_up;
    s_peer_send(f, &m);
}

static void s_peer_link(fx_t *f, proto_cluster_kind_t kind, uint64_t epoch)
{
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, kind);
    strcpy(m.node, "f");
    m.incarnation = 77;
    strcpy(m.link_pbx, "main");
    m.epoch = epoch;
    s_peer_send(f, &m);
}

//  --- Waiting on the loop --------------------------------------------------------------------

typedef bool(s_cond_fn)(fx_t *f, const void *arg);

typedef struct {
    fx_t *f;
    s_cond_fn *cond;
    const void *arg;
    int64_t deadline;
    bool met;
    //  The scripted peer keeps beating while waiting (NULL owner and prio 0: silent).
    int beat_prio;
    const char *beat_owner;
    uint64_t beat_epoch;
    int64_t next_beat;
} s_wait_t;

static s_wait_t *s_beat;            //  the scripted peer's heartbeat while it is "alive"
static s_wait_t s_beats;

//  The scripted peer beats from now on (prio; owner NULL: none) until s_beat = NULL.
static void s_peer_beats(int prio, const char *owner, uint64_t epoch)
{
    s_beats = (s_wait_t){.beat_prio = prio, .beat_owner = owner, .beat_epoch = epoch};
    s_beat = &s_beats;
}

static int s_on_check(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_wait_t *w = arg;
    if (s_beat && zclock_mono() >= s_beat->next_beat) {
        s_peer_heartbeat(w->f, s_beat->beat_prio, s_beat->beat_owner, s_beat->beat_epoch,
                         s_beat->beat_owner != NULL);
        s_beat->next_beat = zclock_mono() + HB_MS;
    }
    if (w->cond(w->f, w->arg)) {
        w->met = true;
        return -1;
    }
    return zclock_mono() >= w->deadline ? -1 : 0;
}

static bool s_wait(fx_t *f, s_cond_fn *cond, const void *arg, int timeout_ms)
{
    s_wait_t w = {f, cond, arg, zclock_mono() + timeout_ms, false, 0, NULL, 0, 0};
    int id = zloop_timer(f->loop, 5, 0, s_on_check, &w);
    zloop_start(f->loop);
    zloop_timer_end(f->loop, id);
    return w.met;
}

static bool s_cond_int(fx_t *f, const void *arg)
{
    (void) f;
    const int *const *p = arg;
    return *p[0] >= *p[1];
}

static bool s_wait_int(fx_t *f, const int *value, int min, int timeout_ms)
{
    const int *args[2] = {value, &min};
    return s_wait(f, s_cond_int, args, timeout_ms);
}

static bool s_never(fx_t *f, const void *arg)
{
    (void) f;
    (void) arg;
    return false;
}

//  Run the loop for ms (the cluster's own timers and sockets work meanwhile).
static void s_run(fx_t *f, int ms)
{
    s_wait(f, s_never, NULL, ms);
}

//  Member 0 ("n", priority 20) with the scripted peer "f" (priority 10) beating as the
//  owner of main with epoch; after settling, n stands by.
static void s_standby_behind(fx_t *f, uint64_t epoch)
{
    s_peer_start(f);
    s_peer_beats(10, "f", epoch);
    s_member(f, 0, "n", 20, "f", f->port);
    s_run(f, 2 * HB_MS * LOST_AFTER);
    assert_int_equal(f->m[0].takes, 0);
}

//  --- Tests ----------------------------------------------------------------------------------

//  Alone (the peer never answers): after lost_after intervals the member takes epoch 1,
//  with the epoch on disk before its take callback, and the Claim reaches the peer.
static void lone_member_settles_then_takes_with_epoch_on_disk(void **state)
{
    fx_t *f = *state;
    s_peer_start(f);
    int64_t t0 = zclock_mono();
    s_member(f, 0, "n", 20, "f", f->port);
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    int64_t waited = f->m[0].took_at - t0;
    assert_true(waited >= HB_MS * LOST_AFTER);
    assert_true(waited < HB_MS * LOST_AFTER + 1000);
    assert_int_equal(f->m[0].took_epoch, 1);
    assert_int_equal(f->m[0].disk_at_take, 1);
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_CLAIM], 1, WAIT_MS));
    assert_string_equal(f->last[PROTO_CLUSTER_CLAIM].node, "n");
    assert_int_equal(f->last[PROTO_CLUSTER_CLAIM].epoch, 1);
    assert_true(s_logged(&f->m[0], "took link pbx=main epoch=1 reason=no live owner"));
    //  Heartbeats name it the owner; its link state follows what the node reports.
    ha_cluster_link_state(f->m[0].cluster, 0, true);
    int before = f->received[PROTO_CLUSTER_HEARTBEAT];
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_HEARTBEAT], before + 2, WAIT_MS));
    const proto_cluster_msg_t *hb = &f->last[PROTO_CLUSTER_HEARTBEAT];
    assert_string_equal(hb->pbx[0].owner, "n");
    assert_int_equal(hb->pbx[0].epoch, 1);
    assert_true(hb->pbx[0].link_up);
    assert_int_equal(hb->pbx[0].priority, 20);
    assert_true(hb->quorum);
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.takeovers, 1);
    assert_true(st.pbx[0].held);
    assert_true(st.pbx[0].link_up);
    assert_int_equal(st.peers_alive, 0);
    char *json = ha_cluster_status_json(f->m[0].cluster);
    assert_non_null(strstr(json, "\"pbx\":[{\"name\":\"main\",\"owner\":\"n\",\"epoch\":1,"
                                 "\"held\":true,\"link_up\":true,\"priority\":20,"
                                 "\"links\":\"one\",\"waiting\":null}]"));
    assert_non_null(strstr(json, "{\"id\":\"f\",\"endpoint\":\"127.0.0.1:"));
    free(json);
}

//  A live owner with a better priority keeps the link; when it goes silent the member
//  declares it lost after lost_after intervals and takes with the next epoch.
static void member_waits_for_live_owner_and_takes_over_when_it_is_lost(void **state)
{
    fx_t *f = *state;
    s_standby_behind(f, 41);
    assert_true(s_logged(&f->m[0], "peer joined peer=f"));
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_string_equal(st.pbx[0].owner, "f");
    assert_int_equal(st.pbx[0].epoch, 41);
    assert_true(st.settled);
    //  The owner stops (as a kill -9 would).
    s_beat = NULL;
    int64_t silent_from = zclock_mono();
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    int64_t took = f->m[0].took_at - silent_from;
    fprintf(stderr, "  takeover %lld ms after the owner's last heartbeat\n", (long long) took);
    assert_true(took >= HB_MS * (LOST_AFTER - 1));
    assert_true(took <= HB_MS * (LOST_AFTER + 3));
    assert_int_equal(f->m[0].took_epoch, 42);
    assert_int_equal(f->m[0].disk_at_take, 42);
    assert_true(s_logged(&f->m[0], "peer lost peer=f"));
    //  It comes back naming no owner: the member keeps the link.
    s_peer_beats(10, NULL, 41);
    s_run(f, 3 * HB_MS);
    assert_true(s_logged(&f->m[0], "peer back peer=f"));
    assert_int_equal(f->m[0].drops, 0);
    s_beat = NULL;
}

//  A Claim of a higher epoch makes the holder drop at once; its next heartbeat names the
//  new owner.  An equal epoch from an id that sorts first wins too.
static void higher_epoch_claim_makes_the_holder_drop_at_once(void **state)
{
    fx_t *f = *state;
    s_peer_start(f);
    s_member(f, 0, "n", 20, "f", f->port);
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    ha_cluster_link_state(f->m[0].cluster, 0, true);
    s_peer_link(f, PROTO_CLUSTER_CLAIM, 5);
    int64_t sent = zclock_mono();
    assert_true(s_wait_int(f, &f->m[0].drops, 1, WAIT_MS));
    int64_t dropped = zclock_mono() - sent;
    assert_true(dropped < HB_MS);       //  on the message, not at a tick
    assert_string_equal(f->m[0].drop_why, "higher epoch 5 from f");
    assert_true(s_logged(&f->m[0], "dropped link pbx=main epoch=1 reason=higher epoch 5 from f"));
    int before = f->received[PROTO_CLUSTER_HEARTBEAT];
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_HEARTBEAT], before + 1, WAIT_MS));
    assert_string_equal(f->last[PROTO_CLUSTER_HEARTBEAT].pbx[0].owner, "f");
    assert_int_equal(f->last[PROTO_CLUSTER_HEARTBEAT].pbx[0].epoch, 5);
    assert_false(f->last[PROTO_CLUSTER_HEARTBEAT].pbx[0].link_up);
    //  The highest epoch seen is on disk: a restart cannot claim 5 again.
    uint64_t disk = 0;
    assert_int_equal(ha_epochs_load(f->m[0].state_dir, "main", &disk), 0);
    assert_int_equal(disk, 5);
}

//  A Release lets the member take at once (no waiting for lost_after); a Release received
//  while it holds the link without being connected makes it retry now.
static void release_lets_the_standby_take_at_once(void **state)
{
    fx_t *f = *state;
    s_standby_behind(f, 3);
    s_beat = NULL;
    s_peer_link(f, PROTO_CLUSTER_RELEASE, 3);
    int64_t sent = zclock_mono();
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    assert_true(zclock_mono() - sent < 2 * HB_MS);
    assert_int_equal(f->m[0].took_epoch, 4);
    //  Its link is not up yet; the peer (still alive) says its own link is down: retry.
    s_peer_heartbeat(f, 10, "n", 4, true);
    s_run(f, HB_MS);
    s_peer_heartbeat(f, 10, "n", 4, false);
    assert_true(s_wait_int(f, &f->m[0].retries, 1, WAIT_MS));
}

//  Garbage, an unknown node and a higher major are counted and logged; nothing changes.
static void bad_frames_are_counted_and_ignored(void **state)
{
    fx_t *f = *state;
    s_peer_start(f);
    s_member(f, 0, "n", 20, "f", f->port);
    s_peer_send_raw(f, "garbage!", 8);
    proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_CLAIM);
    strcpy(m.node, "stranger");
    strcpy(m.link_pbx, "main");
    m.epoch = 1000;
    s_peer_send(f, &m);
    m.version_major = PROTO_CLUSTER_MAJOR + 1;
    strcpy(m.node, "f");
    s_peer_send(f, &m);
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.bad_messages, 3);
    assert_int_equal(st.peers_alive, 0);        //  none of it counted as f's life
    assert_int_equal(f->m[0].took_epoch, 1);    //  the stranger's epoch was not believed
    assert_true(s_logged(&f->m[0], "bad cluster frame"));
}

//  A loop that did not run for longer than lost_after intervals does not declare its
//  peers lost on waking (their silence was its own) and takes nothing until it has
//  listened again.
static int s_on_block(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    (void) arg;
    struct timespec ts = {0, 800 * 1000 * 1000};
    nanosleep(&ts, NULL);       //  the stall under test, on purpose
    return 0;
}

static void stalled_loop_keeps_peers_and_listens_again(void **state)
{
    fx_t *f = *state;
    s_standby_behind(f, 9);
    int block = zloop_timer(f->loop, 1, 1, s_on_block, NULL);
    s_run(f, 4 * HB_MS);
    (void) block;
    assert_true(s_logged(&f->m[0], "loop stalled for"));
    assert_false(s_logged(&f->m[0], "peer lost"));
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.peers_alive, 1);
    s_beat = NULL;
}

//  Three nodes; n (priority 10) settles alone, without quorum.  The scripted peer f comes
//  back: its first heartbeat (a backlog from the partition) names no owner, the next ones
//  name f as the owner with epoch 3.  n, back in a majority, listens for lost_after
//  intervals before taking anything: it never takes, and stands by for f.  (Before, it
//  took epoch 1 on the first, stale heartbeat.)
static void regained_quorum_listens_again_before_taking(void **state)
{
    fx_t *f = *state;
    s_peer_start(f);
    s_member_of(f, 0, "n", 10, "f", f->port, true);
    s_run(f, (LOST_AFTER + 2) * HB_MS);
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_true(st.settled);
    assert_false(st.quorum);
    s_peer_heartbeat(f, 20, NULL, 0, false);
    s_run(f, HB_MS / 2);
    s_peer_beats(20, "f", 3);
    s_run(f, 2 * LOST_AFTER * HB_MS);
    s_beat = NULL;
    assert_int_equal(f->m[0].takes, 0);
    assert_true(s_logged(&f->m[0], "quorum again (sees 2 of 3 nodes)"));
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_true(st.quorum);
    assert_string_equal(st.pbx[0].owner, "f");
    assert_int_equal(st.pbx[0].epoch, 3);
}

//  Two real members n (preferred) and o; n has taken the link, o has not.
static void s_pair_running(fx_t *f)
{
    s_member(f, 0, "n", 10, "o", f->ports[1]);
    s_member(f, 1, "o", 20, "n", f->ports[0]);
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    s_run(f, 3 * HB_MS);
    assert_int_equal(f->m[1].takes, 0);
}

//  Two real members: the preferred one takes; destroying it (a clean stop) releases the
//  link and the other takes over at once; a restart of the first never reuses an epoch
//  and does not take the link back.
static void pair_of_members_hands_over_on_clean_stop(void **state)
{
    fx_t *f = *state;
    s_pair_running(f);
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[1].cluster, &st);
    assert_string_equal(st.pbx[0].owner, "n");
    assert_int_equal(st.peers_alive, 1);
    //  n stops cleanly.
    int64_t t0 = zclock_mono();
    ha_cluster_destroy(&f->m[0].cluster);
    assert_int_equal(f->m[0].drops, 1);
    assert_string_equal(f->m[0].drop_why, "shutdown");
    assert_true(s_wait_int(f, &f->m[1].takes, 1, WAIT_MS));
    fprintf(stderr, "  clean handover in %lld ms\n", (long long) (f->m[1].took_at - t0));
    assert_true(f->m[1].took_at - t0 < HB_MS * LOST_AFTER);
    assert_int_equal(f->m[1].took_epoch, 2);
    //  n restarts with its disk: it learns epoch 2 and stays standby.
    f->m[0].takes = 0;
    s_member(f, 0, "n", 10, "o", f->ports[1]);
    s_run(f, 3 * HB_MS * LOST_AFTER);
    assert_int_equal(f->m[0].takes, 0);
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_string_equal(st.pbx[0].owner, "o");
    assert_int_equal(st.pbx[0].epoch, 2);
    uint64_t disk = 0;
    assert_int_equal(ha_epochs_load(f->m[0].state_dir, "main", &disk), 0);
    assert_int_equal(disk, 2);
}

//  Two real members hand the link over on request and back: the refusals first, then
//  n -> o (o, last in rank, takes at once with epoch 2; n does not take it back) and
//  o -> n (epoch 3).
static void pair_of_members_hands_over_on_request_and_back(void **state)
{
    fx_t *f = *state;
    s_pair_running(f);
    char why[256];
    assert_int_equal(ha_cluster_handover_check(f->m[0].cluster, "nope", "o", why, sizeof why),
                     -ENOENT);
    assert_int_equal(ha_cluster_handover_check(f->m[0].cluster, "main", "zz", why, sizeof why),
                     -ESRCH);
    assert_int_equal(ha_cluster_handover(f->m[0].cluster, "main", "n", why, sizeof why),
                     -EALREADY);
    assert_int_equal(ha_cluster_handover(f->m[1].cluster, "main", "n", why, sizeof why),
                     -EREMOTE);
    assert_string_equal(why, "this node does not hold pbx main: n does");
    assert_int_equal(f->m[0].drops, 0);

    int64_t t0 = zclock_mono();
    assert_int_equal(ha_cluster_handover(f->m[0].cluster, "main", "o", why, sizeof why), 0);
    assert_int_equal(f->m[0].drops, 1);
    assert_string_equal(f->m[0].drop_why, "handover to o");
    assert_true(s_wait_int(f, &f->m[1].takes, 1, WAIT_MS));
    fprintf(stderr, "  handover on request in %lld ms\n", (long long) (f->m[1].took_at - t0));
    assert_true(f->m[1].took_at - t0 < HB_MS);
    assert_int_equal(f->m[1].took_epoch, 2);
    assert_true(s_logged(&f->m[1], "pbx=main handed over by n to o (epoch 1)"));
    assert_true(s_logged(&f->m[1], "reason=handed over to this node"));
    //  The node hears of the handover before it takes (node_main pauses its service).
    assert_int_equal(f->m[1].handed_over, 1);
    assert_string_equal(f->m[1].handed_over_from, "n");
    assert_string_equal(f->m[1].handed_over_to, "o");
    assert_int_equal(f->m[1].takes_at_handed_over, 0);
    assert_int_equal(f->m[0].handed_over, 0);   //  not the releaser itself
    s_run(f, 2 * HB_MS * LOST_AFTER);
    assert_int_equal(f->m[0].takes, 1);         //  failback is manual
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_string_equal(st.pbx[0].owner, "o");

    assert_int_equal(ha_cluster_handover(f->m[1].cluster, "main", "n", why, sizeof why), 0);
    assert_true(s_wait_int(f, &f->m[0].takes, 2, WAIT_MS));
    assert_int_equal(f->m[0].took_epoch, 3);
    s_run(f, 2 * HB_MS);
    assert_int_equal(f->m[1].takes, 1);
    assert_int_equal(f->m[1].drops, 1);
}

static void new_refuses_a_corrupt_epoch_file(void **state)
{
    fx_t *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/epoch-main", f->m[0].state_dir);
    FILE *file = fopen(path, "w");
    fputs("seven\n", file);
    fclose(file);
    ha_cluster_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.node_id, "n");
    strcpy(cfg.listen, "127.0.0.1");
    cfg.port = f->ports[0];
    cfg.peer_count = 1;
    strcpy(cfg.peers[0].id, "f");
    snprintf(cfg.peers[0].endpoint, sizeof cfg.peers[0].endpoint, "127.0.0.1:%d", f->port);
    cfg.heartbeat_ms = HB_MS;
    cfg.lost_after = LOST_AFTER;
    snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", f->m[0].state_dir);
    cfg.pbx_count = 1;
    strcpy(cfg.pbx[0], "main");
    ha_cluster_listener_t l = {&f->m[0], s_take, s_drop, s_retry, s_log};
    assert_null(ha_cluster_new(f->loop, &cfg, &l));
    assert_true(s_logged(&f->m[0], "not a number"));
    //  A peer with this node's own id is refused too.
    unlink(path);
    strcpy(cfg.peers[0].id, "n");
    assert_null(ha_cluster_new(f->loop, &cfg, &l));
}

//  --- Replicated state -----------------------------------------------------------------------

//  The value of key in member i's state as held of node (any incarnation), "" when absent;
//  *lost whether that source is lost.
static const char *s_held(fx_t *f, int i, const char *node, const char *key, bool *lost)
{
    static char out[HA_STATE_VALUE_MAX + 1];
    const ha_state_t *st = ha_cluster_state(f->m[i].cluster);
    ha_state_source_t info;
    out[0] = '\0';
    for (size_t k = 0; ha_state_source(st, k, &info); k++) {
        size_t len = 0;
        const uint8_t *v = strcmp(info.node, node) == 0 ? ha_state_get(st, k, key, &len, NULL)
                                                         : NULL;
        if (v) {
            snprintf(out, sizeof out, "%.*s", (int) len, (const char *) v);
            if (lost)
                *lost = info.lost;
        }
    }
    return out;
}

typedef struct {
    int member;
    const char *node, *key, *value;     //  value NULL: the key is gone
} s_key_cond_t;

static bool s_cond_key(fx_t *f, const void *arg)
{
    const s_key_cond_t *c = arg;
    const char *v = s_held(f, c->member, c->node, c->key, NULL);
    return c->value ? strcmp(v, c->value) == 0 : *v == '\0';
}

static bool s_wait_key(fx_t *f, int member, const char *node, const char *key, const char *value)
{
    s_key_cond_t c = {member, node, key, value};
    return s_wait(f, s_cond_key, &c, WAIT_MS);
}

//  A pair: keys n put before o started reach o with its first snapshot; later changes go
//  as updates both ways.  n stops: its keys stay at o, lost, for their linger, then expire.
static void pair_replicates_keys_and_a_lost_members_keys_linger_then_expire(void **state)
{
    fx_t *f = *state;
    s_member(f, 0, "n", 10, "o", f->ports[1]);
    assert_true(ha_cluster_state_put(f->m[0].cluster, "early", "1", 1, 600) > 0);
    s_run(f, 2 * HB_MS);
    s_member(f, 1, "o", 20, "n", f->ports[0]);
    assert_true(s_wait_key(f, 1, "n", "early", "1"));
    assert_true(s_logged(&f->m[1], "asked n for a snapshot of everything it holds"));
    assert_true(ha_cluster_state_put(f->m[0].cluster, "late", "2", 1, 600) > 0);
    assert_true(ha_cluster_state_put(f->m[0].cluster, "early", "3", 1, 600) > 0);
    assert_true(ha_cluster_state_delete(f->m[0].cluster, "late") > 0);
    assert_true(ha_cluster_state_put(f->m[1].cluster, "from-o", "4", 1, 600) > 0);
    assert_true(s_wait_key(f, 1, "n", "early", "3"));
    assert_true(s_wait_key(f, 0, "o", "from-o", "4"));
    assert_string_equal(s_held(f, 1, "n", "late", NULL), "");
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[1].cluster, &st);
    assert_true(st.state.updates_applied >= 3);
    assert_int_equal(st.state.gaps, 0);
    assert_int_equal(st.state_seq, 1);
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.state_seq, 4);
    assert_int_equal(st.state.updates_sent, 4);
    assert_int_equal(st.state.snapshots_sent, 1);
    int before = f->m[1].state_expired;
    //  n goes; o declares it lost after lost_after intervals and keeps its key 600 ms more.
    int64_t t0 = zclock_mono();
    ha_cluster_destroy(&f->m[0].cluster);
    assert_true(s_wait_key(f, 1, "n", "early", NULL));
    int64_t gone = zclock_mono() - t0;
    fprintf(stderr, "  a stopped member's key expired %lld ms after it stopped\n",
            (long long) gone);
    assert_true(gone >= HB_MS * (LOST_AFTER - 1) + 600);
    assert_true(gone <= HB_MS * (LOST_AFTER + 3) + 600 + 200);
    assert_int_equal(f->m[1].state_expired, before + 1);
    char *json = ha_cluster_status_json(f->m[1].cluster);
    assert_non_null(strstr(json, "\"state\":{\"seq\":1,\"keys\":1,"));
    free(json);
}

//  The scripted peer f answers requests itself.  Its first update is applied; a skipped
//  number makes the member ask f for its keys (not before the first snapshot of
//  everything is answered); f's snapshot replaces what it held; a heartbeat announcing
//  more than it holds asks again.
static void gap_and_heartbeat_ahead_ask_the_source_for_a_snapshot(void **state)
{
    fx_t *f = *state;
    s_peer_start(f);
    s_peer_beats(10, NULL, 0);
    s_member(f, 0, "n", 20, "f", f->port);
    //  The member asks f for everything it holds: nothing.
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_STATE_REQUEST], 1, WAIT_MS));
    assert_string_equal(f->last[PROTO_CLUSTER_STATE_REQUEST].source, "");
    static proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_SNAPSHOT);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.request_id = f->last[PROTO_CLUSTER_STATE_REQUEST].request_id;
    m.done = true;
    s_peer_send(f, &m);

    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_UPDATE);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.seq = 1;
    m.entry_count = 1;
    strcpy(m.entries[0].key, "a");
    memcpy(m.entries[0].value, "A", 1);
    m.entries[0].value_len = 1;
    s_peer_send(f, &m);
    assert_true(s_wait_key(f, 0, "f", "a", "A"));
    m.seq = 3;                      //  2 was lost
    strcpy(m.entries[0].key, "c");
    s_peer_send(f, &m);
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_STATE_REQUEST], 2, WAIT_MS));
    assert_string_equal(f->last[PROTO_CLUSTER_STATE_REQUEST].source, "f");
    assert_string_equal(s_held(f, 0, "f", "c", NULL), "");
    //  f answers with its keys at 3 in two frames.
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_SNAPSHOT);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.request_id = f->last[PROTO_CLUSTER_STATE_REQUEST].request_id;
    strcpy(m.source, "f");
    m.source_incarnation = 77;
    m.seq = 3;
    m.entry_count = 1;
    strcpy(m.entries[0].key, "b");
    memcpy(m.entries[0].value, "B", 1);
    m.entries[0].value_len = 1;
    s_peer_send(f, &m);
    strcpy(m.entries[0].key, "c");
    m.source_done = m.done = true;
    s_peer_send(f, &m);
    assert_true(s_wait_key(f, 0, "f", "c", "B"));
    assert_string_equal(s_held(f, 0, "f", "b", NULL), "B");
    assert_string_equal(s_held(f, 0, "f", "a", NULL), "");  //  not in the snapshot: gone
    assert_int_equal(ha_state_seq(ha_cluster_state(f->m[0].cluster), "f", 77), 3);
    //  A heartbeat says f is at 5: the member asks again.
    proto_cluster_msg_init(&m, PROTO_CLUSTER_HEARTBEAT);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.quorum = true;
    m.state_seq = 5;
    s_peer_send(f, &m);
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_STATE_REQUEST], 3, WAIT_MS));
    assert_string_equal(f->last[PROTO_CLUSTER_STATE_REQUEST].source, "f");
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.state.gaps, 2);
    assert_int_equal(st.state.snapshots_applied, 1);
    //  A request for f's keys to the member is answered with nothing but done; one for
    //  everything gets the member's own keys and f's copy.
    assert_true(ha_cluster_state_put(f->m[0].cluster, "mine", "M", 1, 100) > 0);
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_REQUEST);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.request_id = 500;
    s_peer_send(f, &m);
    int got = f->received[PROTO_CLUSTER_STATE_SNAPSHOT];
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_STATE_SNAPSHOT], got + 2, WAIT_MS));
    const proto_cluster_msg_t *last = &f->last[PROTO_CLUSTER_STATE_SNAPSHOT];
    assert_true(last->done && last->source_done);
    assert_int_equal(last->request_id, 500);
    s_beat = NULL;
}

//  State frames from a peer never heard otherwise do not make it alive: only its
//  heartbeat says whether it has quorum (a peer alive without it would be no candidate for
//  the link, and the member could take the link in its place).  They are still answered.
static void state_frames_do_not_bring_a_peer_to_life(void **state)
{
    fx_t *f = *state;
    s_peer_start(f);
    s_member(f, 0, "n", 20, "f", f->port);
    static proto_cluster_msg_t m;
    proto_cluster_msg_init(&m, PROTO_CLUSTER_STATE_REQUEST);
    strcpy(m.node, "f");
    m.incarnation = 77;
    m.request_id = 9;
    strcpy(m.source, "n");
    for (int i = 0; i < 3; i++) {
        s_peer_send(f, &m);
        s_run(f, HB_MS);
    }
    assert_true(s_wait_int(f, &f->received[PROTO_CLUSTER_STATE_SNAPSHOT], 1, WAIT_MS));
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.peers_alive, 0);
    assert_false(s_logged(&f->m[0], "peer joined peer=f"));
}

//  A member restarted with a new incarnation asks its peer for everything and gets its
//  own old keys back (lost, lingering): an application of the old incarnation may resume
//  on the restarted node.  The peer holds the old incarnation lost from the moment it
//  heard the new one.
static void restarted_member_gets_its_old_keys_back_from_its_peer(void **state)
{
    fx_t *f = *state;
    s_member(f, 0, "n", 10, "o", f->ports[1]);
    s_member(f, 1, "o", 20, "n", f->ports[0]);
    assert_true(ha_cluster_state_put(f->m[0].cluster, "s/old", "session", 7, 5000) > 0);
    assert_true(s_wait_key(f, 1, "n", "s/old", "session"));
    ha_cluster_destroy(&f->m[0].cluster);
    s_member(f, 0, "n", 10, "o", f->ports[1]);
    assert_true(s_wait_key(f, 0, "n", "s/old", "session"));
    bool lost = false;
    s_held(f, 0, "n", "s/old", &lost);
    assert_true(lost);
    s_run(f, 3 * HB_MS);
    s_held(f, 1, "n", "s/old", &lost);
    assert_true(lost);
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.state_seq, 0);      //  the new incarnation made nothing yet
    assert_int_equal(st.state_sources, 3);  //  its own, its old one, o's
}

//  A pair on a PBX that takes several links (Binary Star): alone, the member settles but
//  takes nothing — /status says it waits for a vote, logged once — until an application
//  turns to it (ha_cluster_app_arrived); then it takes at once, from the loop, not at the
//  next tick.
static void several_links_member_alone_takes_only_once_an_application_arrives(void **state)
{
    fx_t *f = *state;
    f->several = true;
    s_peer_start(f);
    s_member(f, 0, "n", 20, "f", f->port);
    s_run(f, 3 * HB_MS * LOST_AFTER);
    assert_int_equal(f->m[0].takes, 0);
    int waits = 0;
    for (int k = 0; k < f->m[0].log_count && k < 64; k++)
        waits += strstr(f->m[0].log[k], "pbx=main: f never heard; waiting for an application "
                                        "to turn to this node (Binary Star, PBX takes several "
                                        "links)") != NULL;
    assert_int_equal(waits, 1);
    char *json = ha_cluster_status_json(f->m[0].cluster);
    assert_non_null(strstr(json, "\"links\":\"several\",\"waiting\":\"vote\"}"));
    free(json);
    int64_t t0 = zclock_mono();
    ha_cluster_app_arrived(f->m[0].cluster);
    assert_int_equal(f->m[0].takes, 0);             //  not from inside the call
    assert_true(s_wait_int(f, &f->m[0].takes, 1, WAIT_MS));
    assert_true(f->m[0].took_at - t0 < HB_MS / 2);
    assert_int_equal(f->m[0].took_epoch, 1);
    assert_true(s_logged(&f->m[0], "took link pbx=main epoch=1 reason=f never heard; an "
                                   "application turned to this node"));
    json = ha_cluster_status_json(f->m[0].cluster);
    assert_non_null(strstr(json, "\"links\":\"several\",\"waiting\":null}"));
    free(json);
}

static ha_curve_cert_t s_new_cert(void)
{
    zcert_t *z = zcert_new();
    ha_curve_cert_t c;
    snprintf(c.public_txt, sizeof c.public_txt, "%s", zcert_public_txt(z));
    snprintf(c.secret_txt, sizeof c.secret_txt, "%s", zcert_secret_txt(z));
    zcert_destroy(&z);
    return c;
}

//  Two real members with CURVE (each its own ZAP domain in this one process) hear each
//  other: n takes, o stands by, no handshake fails.  o restarted with a certificate n does
//  not list (it still knows n's key): n refuses it in the handshake and never hears it
//  (peers_alive 0, ctim_ha_auth_failures in); o cannot talk to n either (out); n warns once
//  about o and keeps its link.  A member without a peer's key is refused at new.
static void pair_of_members_with_curve_hear_only_each_other(void **state)
{
    fx_t *f = *state;
    ha_curve_cert_t n = s_new_cert(), o = s_new_cert(), other = s_new_cert();
    s_curve_cert[0] = &n;
    s_curve_peer_key[0] = o.public_txt;
    s_curve_cert[1] = &o;
    s_curve_peer_key[1] = n.public_txt;
    s_pair_running(f);
    ha_cluster_stats_t st;
    ha_cluster_stats(f->m[1].cluster, &st);
    assert_true(st.curve);
    assert_int_equal(st.peers_alive, 1);
    assert_string_equal(st.pbx[0].owner, "n");
    ha_cluster_stats(f->m[0].cluster, &st);
    for (int r = 0; r < HA_CURVE_REASONS; r++)
        assert_int_equal(st.auth_failures_in[r] + st.auth_failures_out[r], 0);
    char *json = ha_cluster_status_json(f->m[0].cluster);
    assert_non_null(strstr(json, "\"curve\":true"));
    free(json);

    ha_cluster_destroy(&f->m[1].cluster);
    s_curve_cert[1] = &other;
    s_member(f, 1, "o", 20, "n", f->ports[0]);
    s_run(f, 3 * HB_MS * LOST_AFTER);
    ha_cluster_stats(f->m[0].cluster, &st);
    assert_int_equal(st.peers_alive, 0);
    assert_true(st.auth_failures_in[HA_CURVE_KEY_REFUSED] > 0);
    assert_int_equal(st.pbx[0].owner[0], 'n');
    assert_int_equal(f->m[0].drops, 0);
    ha_cluster_stats(f->m[1].cluster, &st);
    assert_int_equal(st.peers_alive, 0);
    assert_true(st.auth_failures_out[HA_CURVE_KEY_REFUSED] > 0);
    int warned = 0;
    for (int i = 0; i < f->m[0].log_count && i < 64; i++)
        warned += strstr(f->m[0].log[i], "CURVE handshake with peer o at") != NULL;
    assert_int_equal(warned, 1);

    //  CURVE on, a peer without a key: unusable.
    ha_cluster_destroy(&f->m[1].cluster);
    s_curve_peer_key[1] = "";
    ha_cluster_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.node_id, sizeof cfg.node_id, "o");
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1");
    cfg.port = f->ports[1];
    cfg.peer_count = 1;
    snprintf(cfg.peers[0].id, sizeof cfg.peers[0].id, "n");
    snprintf(cfg.peers[0].endpoint, sizeof cfg.peers[0].endpoint, "127.0.0.1:%d", f->ports[0]);
    cfg.heartbeat_ms = HB_MS;
    cfg.lost_after = LOST_AFTER;
    snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", f->m[1].state_dir);
    cfg.curve = o;
    ha_cluster_listener_t l = {&f->m[1], s_take, s_drop, s_retry, s_log, s_state_changed};
    assert_null(ha_cluster_new(f->loop, &cfg, &l));
    assert_true(s_logged(&f->m[1], "CURVE on but no public key for peer n"));
    s_curve_cert[0] = s_curve_cert[1] = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            several_links_member_alone_takes_only_once_an_application_arrives, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(lone_member_settles_then_takes_with_epoch_on_disk,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            member_waits_for_live_owner_and_takes_over_when_it_is_lost, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(higher_epoch_claim_makes_the_holder_drop_at_once,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(release_lets_the_standby_take_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(bad_frames_are_counted_and_ignored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(stalled_loop_keeps_peers_and_listens_again, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(regained_quorum_listens_again_before_taking, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(pair_of_members_hands_over_on_request_and_back, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(pair_of_members_with_curve_hear_only_each_other, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(pair_of_members_hands_over_on_clean_stop, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(new_refuses_a_corrupt_epoch_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            pair_replicates_keys_and_a_lost_members_keys_linger_then_expire, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(gap_and_heartbeat_ahead_ask_the_source_for_a_snapshot,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(restarted_member_gets_its_old_keys_back_from_its_peer,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(state_frames_do_not_bring_a_peer_to_life, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
