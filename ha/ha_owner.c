//  ha_owner: the ownership rules as a pure state machine (ha_owner.h has the rules).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ha_owner.h"

typedef struct {
    bool alive;
    bool ever;                              //  heard at least once since this node started
    uint64_t heard_at;                      //  the input clock when last heard
    bool quorum;                            //  as its last heartbeat said
    unsigned beats;                         //  heartbeats since it (last) came alive
    bool yielded[HA_PBX_MAX];               //  released it; no candidate until it speaks again
    uint64_t yielded_epoch[HA_PBX_MAX];     //  ... the epoch it released
    bool has[HA_PBX_MAX];                   //  it announced a view of this PBX
    ha_owner_view_t view[HA_PBX_MAX];
} s_peer_t;

struct ha_owner {
    ha_owner_cfg_t cfg;
    bool settled;
    s_peer_t peers[HA_PEERS_MAX];
    uint64_t max_epoch[HA_PBX_MAX];
    uint64_t held[HA_PBX_MAX];              //  0: not held
    bool link_up[HA_PBX_MAX];
    bool kick[HA_PBX_MAX];
    //  A handover of the PBX is under way to this peer (index; -1 none): this node is no
    //  candidate until the target claims it, is lost, or has spoken S_HANDOVER_BEATS times
    //  without claiming (it could not take: the normal rules resume).
    int handover_to[HA_PBX_MAX];
    unsigned handover_beats[HA_PBX_MAX];
    bool handed_to_me[HA_PBX_MAX];          //  the holder released it naming this node
    bool took_handed[HA_PBX_MAX];           //  held since a take of a handover
    //  Several-link PBXs: the order of inputs (peers heard, applications arriving) for
    //  the Binary Star vote, and the ticks left before a take after the owner's loss.
    uint64_t clock;
    uint64_t arrived_at;                    //  the clock at the last application's arrival
    unsigned margin[HA_PBX_MAX];
    char margin_owner[HA_PBX_MAX][HA_NAME_MAX];     //  the lost owner (for the log)
};

#define S_HANDOVER_BEATS 3

const char *ha_owner_action_str(ha_owner_action_t action)
{
    static const char *const names[] = {"nothing", "take", "drop"};
    return (unsigned) action < 3 ? names[action] : "unknown";
}

const char *ha_owner_wait_str(ha_owner_wait_t wait)
{
    static const char *const names[] = {"none", "vote", "margin"};
    return (unsigned) wait < 3 ? names[wait] : "unknown";
}

ha_owner_t *ha_owner_new(const ha_owner_cfg_t *cfg)
{
    if (!cfg || !*cfg->self || cfg->peer_count < 1 || cfg->peer_count > HA_PEERS_MAX ||
        cfg->pbx_count > HA_PBX_MAX)
        return NULL;
    for (size_t i = 0; i < cfg->peer_count; i++) {
        if (!*cfg->peers[i] || strcmp(cfg->peers[i], cfg->self) == 0)
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->peers[i], cfg->peers[j]) == 0)
                return NULL;
    }
    ha_owner_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    memcpy(self->max_epoch, cfg->epoch, sizeof self->max_epoch);
    for (size_t i = 0; i < HA_PBX_MAX; i++)
        self->handover_to[i] = -1;
    return self;
}

void ha_owner_destroy(ha_owner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static int s_peer_index(const ha_owner_t *self, const char *id);

//  --- Inputs ---------------------------------------------------------------------------------

static void s_see_epoch(ha_owner_t *self, size_t pbx, uint64_t epoch)
{
    if (epoch > self->max_epoch[pbx])
        self->max_epoch[pbx] = epoch;
}

//  A peer let go of pbx (link down, released, lost): a holder without a link retries now.
static void s_let_go(ha_owner_t *self, size_t pbx)
{
    if (self->held[pbx] && !self->link_up[pbx])
        self->kick[pbx] = true;
}

//  The peer spoke: an application that arrived before this says nothing about its loss.
static void s_heard(ha_owner_t *self, s_peer_t *p)
{
    p->ever = true;
    p->heard_at = ++self->clock;
}

void ha_owner_peer_alive(ha_owner_t *self, size_t peer, bool alive)
{
    if (peer >= self->cfg.peer_count)
        return;
    s_peer_t *p = &self->peers[peer];
    if (p->alive && !alive && self->cfg.peer_count >= 2) {
        //  The owner of a several-link PBX lost: it drops its link only when it notices
        //  its own loss of quorum, by its clock; wait for it (ha/README.md "The rules").
        for (size_t i = 0; i < self->cfg.pbx_count; i++) {
            ha_owner_view_t v;
            ha_owner_view(self, i, &v);
            if (self->cfg.several_links[i] && !self->held[i] &&
                strcmp(v.owner, self->cfg.peers[peer]) == 0) {
                self->margin[i] = HA_OWNER_MARGIN_BEATS;
                snprintf(self->margin_owner[i], sizeof self->margin_owner[i], "%s", v.owner);
            }
        }
    }
    if (p->alive && !alive) {
        for (size_t i = 0; i < self->cfg.pbx_count; i++)
            if (p->has[i] && p->view[i].link_up)
                s_let_go(self, i);
        memset(p->has, 0, sizeof p->has);
        memset(p->view, 0, sizeof p->view);
        memset(p->yielded, 0, sizeof p->yielded);
        p->quorum = false;
        for (size_t i = 0; i < self->cfg.pbx_count; i++)
            if (self->handover_to[i] == (int) peer)
                self->handover_to[i] = -1;
        //  The holder that named this node is gone: the normal rules decide.
        memset(self->handed_to_me, 0, sizeof self->handed_to_me);
    }
    if (!p->alive && alive) {
        p->beats = 0;
        s_heard(self, p);
    }
    p->alive = alive;
}


static int s_pbx_index(const ha_owner_t *self, const char *name)
{
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        if (strcmp(self->cfg.pbx[i], name) == 0)
            return (int) i;
    return -1;
}

void ha_owner_heartbeat(ha_owner_t *self, size_t peer, bool quorum, const char *const *pbx_names,
                        const ha_owner_view_t *views, size_t count)
{
    if (peer >= self->cfg.peer_count)
        return;
    s_peer_t *p = &self->peers[peer];
    bool had[HA_PBX_MAX], was_up[HA_PBX_MAX];
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        had[i] = p->has[i];
        was_up[i] = p->has[i] && p->view[i].link_up;
    }
    memset(p->has, 0, sizeof p->has);
    memset(p->yielded, 0, sizeof p->yielded);
    p->quorum = quorum;
    s_heard(self, p);
    if (p->beats < UINT32_MAX)
        p->beats++;
    for (size_t k = 0; k < count; k++) {
        int i = s_pbx_index(self, pbx_names[k]);
        if (i < 0)
            continue;
        p->has[i] = true;
        p->view[i] = views[k];
        p->view[i].owner[HA_NAME_MAX - 1] = '\0';
        s_see_epoch(self, (size_t) i, views[k].epoch);
    }
    for (size_t i = 0; i < self->cfg.pbx_count; i++) {
        //  A handover to this peer ends when it names itself owner, or after a few of its
        //  heartbeats without (it could not take; the normal rules resume).
        if (self->handover_to[i] == (int) peer &&
            ((p->has[i] && strcmp(p->view[i].owner, self->cfg.peers[peer]) == 0) ||
             ++self->handover_beats[i] >= S_HANDOVER_BEATS))
            self->handover_to[i] = -1;
        if (had[i] && !p->has[i])
            memset(&p->view[i], 0, sizeof p->view[i]);
        //  Its link went down, or it speaks again (back from a stop or a partition) without
        //  a link: whatever it held, the PBX may accept a link now.
        if ((was_up[i] || !had[i]) && p->has[i] && !p->view[i].link_up)
            s_let_go(self, i);
        else if (was_up[i] && !p->has[i])
            s_let_go(self, i);
    }
}

void ha_owner_claim(ha_owner_t *self, size_t peer, size_t pbx, uint64_t epoch)
{
    if (peer >= self->cfg.peer_count || pbx >= self->cfg.pbx_count)
        return;
    s_peer_t *p = &self->peers[peer];
    s_see_epoch(self, pbx, epoch);
    s_heard(self, p);
    //  Its next heartbeat says the same; until then the claim stands for it (priority and
    //  link state as it last announced them).
    p->has[pbx] = true;
    memcpy(p->view[pbx].owner, self->cfg.peers[peer], sizeof p->view[pbx].owner);
    p->view[pbx].epoch = epoch;
    if (self->handover_to[pbx] == (int) peer)
        self->handover_to[pbx] = -1;
    self->handed_to_me[pbx] = false;
}

void ha_owner_release(ha_owner_t *self, size_t peer, size_t pbx, uint64_t epoch)
{
    ha_owner_release_to(self, peer, pbx, epoch, NULL);
}

void ha_owner_release_to(ha_owner_t *self, size_t peer, size_t pbx, uint64_t epoch,
                         const char *to)
{
    if (peer >= self->cfg.peer_count || pbx >= self->cfg.pbx_count)
        return;
    if (to && *to) {
        //  A handover: the target takes at once whatever its rank; every other node stands
        //  aside until the target has claimed (or could not).
        int target = s_peer_index(self, to);
        if (strcmp(to, self->cfg.self) == 0)
            self->handed_to_me[pbx] = true;
        else if (target >= 0 && self->peers[target].alive) {
            self->handover_to[pbx] = target;
            self->handover_beats[pbx] = 0;
        }
    }
    s_peer_t *p = &self->peers[peer];
    s_see_epoch(self, pbx, epoch);
    s_heard(self, p);
    if (p->has[pbx] && strcmp(p->view[pbx].owner, self->cfg.peers[peer]) == 0 &&
        p->view[pbx].epoch <= epoch) {
        p->view[pbx].owner[0] = '\0';
        p->view[pbx].link_up = false;
    }
    //  What the other peers relay of its claim is old news too: they name it only because
    //  they see it alive, and with three nodes two standbys relaying each other's "owner
    //  is X" kept the released link from being taken until X was declared lost.
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        s_peer_t *q = &self->peers[i];
        if (q != p && q->has[pbx] && strcmp(q->view[pbx].owner, self->cfg.peers[peer]) == 0 &&
            q->view[pbx].epoch <= epoch)
            q->view[pbx].owner[0] = '\0';
    }
    //  It is stopping (or handing over): not a candidate until its next heartbeat, so the
    //  next in rank takes the link now rather than after declaring it lost.
    p->yielded[pbx] = true;
    p->yielded_epoch[pbx] = epoch;
    s_let_go(self, pbx);
}

void ha_owner_link(ha_owner_t *self, size_t pbx, bool up)
{
    if (pbx < self->cfg.pbx_count)
        self->link_up[pbx] = up;
}

void ha_owner_app_arrived(ha_owner_t *self)
{
    self->arrived_at = ++self->clock;
}

void ha_owner_tick(ha_owner_t *self)
{
    for (size_t i = 0; i < self->cfg.pbx_count; i++)
        if (self->margin[i])
            self->margin[i]--;
}

void ha_owner_settle(ha_owner_t *self, bool settled)
{
    self->settled = settled;
}

//  --- Decisions ------------------------------------------------------------------------------

//  Claim (ea, a) beats claim (eb, b): a higher epoch, or the same epoch and an id that
//  sorts first.
static bool s_beats(uint64_t ea, const char *a, uint64_t eb, const char *b)
{
    return ea > eb || (ea == eb && strcmp(a, b) < 0);
}

//  Rank (pa, a) before (pb, b): a lower priority, or the same and an id that sorts first.
static bool s_ranks_before(int pa, const char *a, int pb, const char *b)
{
    return pa < pb || (pa == pb && strcmp(a, b) < 0);
}

bool ha_owner_quorum(const ha_owner_t *self)
{
    size_t nodes = self->cfg.peer_count + 1;
    if (nodes == 2)
        return true;
    return 2 * (ha_owner_alive_count(self) + 1) > nodes;
}

size_t ha_owner_alive_count(const ha_owner_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        n += self->peers[i].alive;
    return n;
}

bool ha_owner_peer_is_alive(const ha_owner_t *self, size_t peer)
{
    return peer < self->cfg.peer_count && self->peers[peer].alive;
}

//  ha_owner_decide, and why a node that would take waits (*wait).
static ha_owner_action_t s_decide(const ha_owner_t *self, size_t pbx, uint64_t *epoch, char *why,
                                  size_t why_cap, ha_owner_wait_t *wait)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        why_cap = sizeof dummy;
    }
    *why = '\0';
    *wait = HA_OWNER_WAIT_NONE;
    if (pbx >= self->cfg.pbx_count)
        return HA_OWNER_NOTHING;
    const char *me = self->cfg.self;
    size_t nodes = self->cfg.peer_count + 1;
    bool quorum = ha_owner_quorum(self);

    //  The best claim a live peer names for another node (the relayer's view included:
    //  it names an owner only while it sees that owner alive).
    const s_peer_t *via = NULL;
    const ha_owner_view_t *best = NULL;
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        if (!p->alive || !p->has[pbx] || !*p->view[pbx].owner ||
            strcmp(p->view[pbx].owner, me) == 0)
            continue;
        //  A claim relayed for a node that has since released it (its own word, newer than
        //  the relayer's heartbeat) is over.
        int o = s_peer_index(self, p->view[pbx].owner);
        if (o >= 0 && self->peers[o].yielded[pbx] &&
            p->view[pbx].epoch <= self->peers[o].yielded_epoch[pbx])
            continue;
        //  Of equal claims the owner's own word is kept (for the log line).
        bool direct = strcmp(p->view[pbx].owner, self->cfg.peers[i]) == 0;
        if (!best || s_beats(p->view[pbx].epoch, p->view[pbx].owner, best->epoch, best->owner) ||
            (direct && p->view[pbx].epoch == best->epoch &&
             strcmp(p->view[pbx].owner, best->owner) == 0)) {
            best = &p->view[pbx];
            via = p;
        }
    }

    if (self->held[pbx]) {
        if (best && s_beats(best->epoch, best->owner, self->held[pbx], me)) {
            *epoch = best->epoch;
            const char *relayer = self->cfg.peers[via - self->peers];
            if (strcmp(relayer, best->owner) == 0)
                snprintf(why, why_cap, "higher epoch %llu from %s",
                         (unsigned long long) best->epoch, best->owner);
            else
                snprintf(why, why_cap, "higher epoch %llu from %s (via %s)",
                         (unsigned long long) best->epoch, best->owner, relayer);
            return HA_OWNER_DROP;
        }
        if (!quorum) {
            *epoch = self->held[pbx];
            snprintf(why, why_cap, "no quorum (sees %zu of %zu nodes)",
                     ha_owner_alive_count(self) + 1, nodes);
            return HA_OWNER_DROP;
        }
        return HA_OWNER_NOTHING;
    }

    if (!self->settled || !quorum || best || self->handover_to[pbx] >= 0)
        return HA_OWNER_NOTHING;
    if (self->handed_to_me[pbx]) {
        *epoch = self->max_epoch[pbx] + 1;
        snprintf(why, why_cap, "handed over to this node");
        return HA_OWNER_TAKE;
    }
    //  Rank first among the candidates: this node and the live peers that have quorum (or
    //  were just heard, and may not have heard the others yet) and announce this PBX.
    int mine = self->cfg.priority[pbx];
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        bool settling = !p->quorum && p->beats <= self->cfg.settle_beats;
        if (p->alive && (p->quorum || settling) && p->has[pbx] && !p->yielded[pbx] &&
            s_ranks_before(p->view[pbx].priority, self->cfg.peers[i], mine, me))
            return HA_OWNER_NOTHING;
    }
    if (self->cfg.several_links[pbx] && nodes == 2 && !self->peers[0].alive) {
        //  Binary Star: the PBX would take this node's link while the peer may still hold
        //  its own behind a cut; only an application that turned here since the peer was
        //  last heard says the peer is gone for it too.
        const s_peer_t *p = &self->peers[0];
        const char *lost = p->ever ? "lost" : "never heard";
        if (self->arrived_at <= p->heard_at) {
            *wait = HA_OWNER_WAIT_VOTE;
            snprintf(why, why_cap, "%s %s; waiting for an application to turn to this node "
                     "(Binary Star, PBX takes several links)", self->cfg.peers[0], lost);
            return HA_OWNER_NOTHING;
        }
        *epoch = self->max_epoch[pbx] + 1;
        snprintf(why, why_cap, "%s %s; an application turned to this node (Binary Star, PBX "
                 "takes several links)", self->cfg.peers[0], lost);
        return HA_OWNER_TAKE;
    }
    if (self->margin[pbx]) {
        //  The lost owner drops its link when it notices it has no quorum, by its own
        //  clock: up to 2 intervals after this node noticed its loss.
        *wait = HA_OWNER_WAIT_MARGIN;
        snprintf(why, why_cap, "owner %s lost; waiting %u more heartbeat interval%s for it to "
                 "drop its link (PBX takes several links)", self->margin_owner[pbx],
                 self->margin[pbx], self->margin[pbx] == 1 ? "" : "s");
        return HA_OWNER_NOTHING;
    }
    *epoch = self->max_epoch[pbx] + 1;
    snprintf(why, why_cap, "no live owner, first of %zu live node%s (priority %d)",
             ha_owner_alive_count(self) + 1, ha_owner_alive_count(self) ? "s" : "", mine);
    return HA_OWNER_TAKE;
}

ha_owner_action_t ha_owner_decide(const ha_owner_t *self, size_t pbx, uint64_t *epoch, char *why,
                                  size_t why_cap)
{
    ha_owner_wait_t wait;
    return s_decide(self, pbx, epoch, why, why_cap, &wait);
}

ha_owner_wait_t ha_owner_waiting(const ha_owner_t *self, size_t pbx, char *why, size_t why_cap)
{
    ha_owner_wait_t wait;
    uint64_t epoch = 0;
    if (s_decide(self, pbx, &epoch, why, why_cap, &wait) != HA_OWNER_NOTHING)
        wait = HA_OWNER_WAIT_NONE;
    return wait;
}

void ha_owner_took(ha_owner_t *self, size_t pbx, uint64_t epoch)
{
    if (pbx >= self->cfg.pbx_count)
        return;
    self->held[pbx] = epoch;
    self->link_up[pbx] = false;
    self->kick[pbx] = false;
    self->margin[pbx] = 0;
    self->took_handed[pbx] = self->handed_to_me[pbx];
    self->handed_to_me[pbx] = false;
    s_see_epoch(self, pbx, epoch);
}

void ha_owner_dropped(ha_owner_t *self, size_t pbx)
{
    if (pbx >= self->cfg.pbx_count)
        return;
    self->held[pbx] = 0;
    self->link_up[pbx] = false;
    self->kick[pbx] = false;
}

int ha_owner_hand_over(ha_owner_t *self, size_t pbx, size_t peer)
{
    if (pbx >= self->cfg.pbx_count || peer >= self->cfg.peer_count)
        return -EINVAL;
    if (!self->held[pbx])
        return -EPERM;
    if (!self->peers[peer].alive)
        return -EHOSTUNREACH;
    ha_owner_dropped(self, pbx);
    self->handover_to[pbx] = (int) peer;
    self->handover_beats[pbx] = 0;
    return 0;
}

bool ha_owner_took_by_handover(const ha_owner_t *self, size_t pbx)
{
    return pbx < self->cfg.pbx_count && self->held[pbx] && self->took_handed[pbx];
}

int ha_owner_handover_target(const ha_owner_t *self, size_t pbx)
{
    return pbx < self->cfg.pbx_count ? self->handover_to[pbx] : -1;
}

bool ha_owner_take_kick(ha_owner_t *self, size_t pbx)
{
    if (pbx >= self->cfg.pbx_count || !self->kick[pbx])
        return false;
    self->kick[pbx] = false;
    return self->held[pbx] && !self->link_up[pbx];
}

//  --- State ----------------------------------------------------------------------------------

uint64_t ha_owner_held(const ha_owner_t *self, size_t pbx)
{
    return pbx < self->cfg.pbx_count ? self->held[pbx] : 0;
}

uint64_t ha_owner_max_epoch(const ha_owner_t *self, size_t pbx)
{
    return pbx < self->cfg.pbx_count ? self->max_epoch[pbx] : 0;
}

static int s_peer_index(const ha_owner_t *self, const char *id)
{
    for (size_t i = 0; i < self->cfg.peer_count; i++)
        if (strcmp(self->cfg.peers[i], id) == 0)
            return (int) i;
    return -1;
}

bool ha_owner_peer_view(const ha_owner_t *self, size_t peer, size_t pbx, ha_owner_view_t *view)
{
    memset(view, 0, sizeof *view);
    if (peer >= self->cfg.peer_count || pbx >= self->cfg.pbx_count || !self->peers[peer].alive ||
        !self->peers[peer].has[pbx])
        return false;
    *view = self->peers[peer].view[pbx];
    return true;
}

void ha_owner_view(const ha_owner_t *self, size_t pbx, ha_owner_view_t *view)
{
    memset(view, 0, sizeof *view);
    if (pbx >= self->cfg.pbx_count)
        return;
    view->priority = self->cfg.priority[pbx];
    view->link_up = self->link_up[pbx];
    if (self->held[pbx]) {
        snprintf(view->owner, sizeof view->owner, "%s", self->cfg.self);
        view->epoch = self->held[pbx];
        return;
    }
    const ha_owner_view_t *best = NULL;
    for (size_t i = 0; i < self->cfg.peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        if (!p->alive || !p->has[pbx] || !*p->view[pbx].owner)
            continue;
        int owner = s_peer_index(self, p->view[pbx].owner);
        if (owner < 0 || !self->peers[owner].alive)
            continue;       //  not a node this one sees alive (or this node itself)
        if (!best || s_beats(p->view[pbx].epoch, p->view[pbx].owner, best->epoch, best->owner))
            best = &p->view[pbx];
    }
    if (best) {
        snprintf(view->owner, sizeof view->owner, "%s", best->owner);
        view->epoch = best->epoch;
    } else
        view->epoch = self->max_epoch[pbx];
}
