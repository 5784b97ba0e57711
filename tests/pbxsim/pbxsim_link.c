//  pbxsim_link: one CSTA link as the switch sees it — association per flavour,
//  SystemStatus keep-alive, monitors with filters, requests to the switch, events and
//  CDR records to the application.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pbxsim.h"
#include "pbxsim_link_services.h"

#define S_OUTQ_MAX (16u << 20)      //  a link that falls this far behind is dropped
#define S_APDU_MAX 65536

static void s_record_close(pbxsim_t *sim, int record, const char *reason);

//  --- Output --------------------------------------------------------------------------------------

static int s_poll_events(pbx_link_t *link);

//  Why a write failed: an application that went away (reset: it closed with data unread)
//  or a real error.
static const char *s_write_failure(int rc)
{
    return rc == -ECONNRESET || rc == -EPIPE ? "peer-reset" : "write-error";
}

//  Write what the link has queued; what the socket does not take waits for POLLOUT.  A
//  link whose write fails is closed.
static void s_flush(pbx_link_t *link)
{
    link->dirty = false;
    int rc = csta_outq_flush(link->outq, link->fd);
    if (rc == -EAGAIN) {
        if (!link->want_write) {
            link->want_write = true;
            s_poll_events(link);
        }
    } else if (rc) {
        pbx_link_close(link, s_write_failure(rc));
    }
}

void pbx_link_flush_all(pbxsim_t *sim)
{
    if (sim->faults.hang)
        return;     //  a hung switch writes nothing: the output waits for the resume
    for (pbx_link_t *l = sim->links, *next; l; l = next) {
        next = l->next;
        if (l->dirty)
            s_flush(l);
    }
}

static int s_on_flush(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    pbxsim_t *sim = arg;
    sim->flush_timer = 0;
    pbx_link_flush_all(sim);
    return 0;
}

//  Queue an encoded APDU; a link whose queue overflows is closed (the caller must not
//  touch the link afterwards when this returns -ENOBUFS).  Output is coalesced: what a
//  turn of the loop queues leaves in one write per link at the end of the turn (a
//  zero-delay timer), not in one send() per APDU: with a busy link most of pbxsim's time
//  went into the kernel's per-send work and the wake-ups of the reader.
int pbx_link_send_bytes(pbx_link_t *link, const uint8_t *apdu, size_t len)
{
    int rc = csta_outq_push(link->outq, apdu, len);
    if (rc == -ENOBUFS) {
        zsys_warning("pbxsim: link %d to %s: output queue over %u bytes, dropping the link",
                     link->id, link->peer, S_OUTQ_MAX);
        pbx_link_close(link, "output-overflow");
        return rc;
    }
    if (rc)
        return rc;
    pbxsim_t *sim = link->sim;
    link->dirty = true;
    if (!sim->flush_timer && !sim->faults.hang) {
        sim->flush_timer = zloop_timer(sim->loop, 0, 1, s_on_flush, sim);
        if (sim->flush_timer < 0) {
            sim->flush_timer = 0;
            s_flush(link);      //  no timer: write now, as before coalescing
            return 0;
        }
    }
    return 0;
}

//  --verbose: one log line per APDU, in (<) or out (>).
static void s_trace(const pbx_link_t *link, char dir, const csta_apdu_t *a, size_t len)
{
    if (!link->sim->cfg.verbose)
        return;
    const char *what = a->kind == CSTA_APDU_INVOKE && a->opcode == CSTA_OP_EVENT_REPORT
                           ? csta_event_name(a->event.type)
                       : a->kind == CSTA_APDU_INVOKE || a->kind == CSTA_APDU_RESULT
                           ? csta_op_name(a->opcode)
                           : "";
    zsys_info("pbxsim: link %d %c %s %s invoke %ld (%zu bytes)", link->id, dir,
              csta_apdu_kind_str(a->kind), what, a->invoke_id, len);
}

int pbx_link_send(pbx_link_t *link, const csta_apdu_t *a)
{
    uint8_t buf[S_APDU_MAX];
    size_t len;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &len);
    if (rc) {
        zsys_error("pbxsim: link %d: cannot encode %s %s: %s", link->id,
                   csta_apdu_kind_str(a->kind), csta_op_name(a->opcode), strerror(-rc));
        return rc;
    }
    s_trace(link, '>', a, len);
    return pbx_link_send_bytes(link, buf, len);
}

//  A response held back by the delay fault.
typedef struct s_delayed {
    struct s_delayed *next;
    pbxsim_t *sim;
    int link_id;
    int timer;
    size_t len;
    uint8_t bytes[];
} s_delayed_t;

static s_delayed_t *s_delayed_list;

static int s_on_delayed(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_delayed_t *d = arg;
    for (s_delayed_t **p = &s_delayed_list; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    for (pbx_link_t *l = d->sim->links; l; l = l->next)
        if (l->id == d->link_id) {
            pbx_link_send_bytes(l, d->bytes, d->len);
            break;
        }
    free(d);
    return 0;
}

void pbx_link_free_delayed(void)
{
    while (s_delayed_list) {
        s_delayed_t *d = s_delayed_list;
        s_delayed_list = d->next;
        free(d);
    }
}

//  Send a response (result, error, reject) now or after the delay fault's time.
int pbx_link_respond(pbx_link_t *link, const csta_apdu_t *a)
{
    pbxsim_t *sim = link->sim;
    if (sim->faults.delay_ms <= 0)
        return pbx_link_send(link, a);
    uint8_t buf[S_APDU_MAX];
    size_t len;
    int rc = csta_apdu_encode(a, buf, sizeof buf, &len);
    if (rc)
        return rc;
    s_trace(link, '>', a, len);
    s_delayed_t *d = malloc(sizeof *d + len);
    if (!d)
        return -ENOMEM;
    d->sim = sim;
    d->link_id = link->id;
    d->len = len;
    memcpy(d->bytes, buf, len);
    d->timer = zloop_timer(sim->loop, (size_t) sim->faults.delay_ms, 1, s_on_delayed, d);
    d->next = s_delayed_list;
    s_delayed_list = d;
    return 0;
}

int pbx_link_reject(pbx_link_t *link, long invoke_id, csta_reject_kind_t kind, long problem)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_REJECT);
    r.invoke_id = invoke_id;
    r.reject.kind = kind;
    r.reject.problem = problem;
    link->sim->stats.rejects_sent++;
    return pbx_link_respond(link, &r);
}

int pbx_link_error(pbx_link_t *link, long invoke_id, csta_err_category_t category, long value)
{
    csta_apdu_t e;
    csta_apdu_init(&e, CSTA_APDU_ERROR);
    e.invoke_id = invoke_id;
    e.error.category = category;
    e.error.value = value;
    return pbx_link_respond(link, &e);
}

long pbx_link_next_invoke_id(pbx_link_t *link)
{
    long id = link->next_invoke_id;
    link->next_invoke_id = id >= 32767 ? 1 : id + 1;
    return id;
}

//  --- SystemStatus keep-alive ---------------------------------------------------------------------

//  Send SystemStatus normal; a link that has not answered the previous one is dead.
static void s_status(pbx_link_t *link)
{
    if (link->sim->faults.hang)
        return;
    if (link->status_pending) {
        zsys_notice("pbxsim: link %d to %s: SystemStatus %ld not answered, dropping the link",
                    link->id, link->peer, link->status_invoke_id);
        pbx_link_close(link, "status-unanswered");
        return;
    }
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = pbx_link_next_invoke_id(link);
    a.opcode = CSTA_OP_SYSTEM_STATUS;
    a.svc.system_status.status = CSTA_SYS_NORMAL;
    link->status_pending = true;
    link->status_invoke_id = a.invoke_id;
    link->sim->stats.status_sent++;
    pbx_link_send(link, &a);
}

//  The status timer of one link.  Its argument is the simulator, not the link: the loop
//  may call a timer that was just ended once more in the same turn (czmq restarts its
//  walk over the timers when a handler adds one), and the link may be gone by then.
static int s_on_status_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    pbxsim_t *sim = arg;
    for (pbx_link_t *l = sim->links; l; l = l->next)
        if (l->status_timer == timer_id) {
            s_status(l);
            break;
        }
    return 0;
}

static void s_status_timer_start(pbx_link_t *link)
{
    pbxsim_t *sim = link->sim;
    link->status_timer = zloop_timer(sim->loop, (size_t) sim->cfg.status_interval_ms, 0,
                                     s_on_status_timer, sim);
}

//  --- Association ---------------------------------------------------------------------------------

static bool s_context_ok(const char *context)
{
    return strcmp(context, CSTA_ACN_CSTA3) == 0 || strcmp(context, CSTA_ACN_CSTA3_ALT) == 0 ||
           strcmp(context, CSTA_ACN_CSTA3_ED) == 0 || strcmp(context, CSTA_ACN_CSTA1) == 0;
}

static void s_aare(pbx_link_t *link, const csta_apdu_t *aarq, long result, long diag)
{
    csta_apdu_t r;
    csta_apdu_init(&r, CSTA_APDU_AARE);
    r.acse.protocol_version = aarq->acse.protocol_version;
    //  Echo the application context the application asked for (csta-facts.md 1.2).
    memcpy(r.acse.context, aarq->acse.context, sizeof r.acse.context);
    r.acse.result = result;
    r.acse.diag_source = CSTA_DIAG_SERVICE_USER;
    r.acse.diag = diag;
    csta_bits_set(&r.acse.csta_version, CSTA_VERSION_FIVE, 2);
    pbx_link_send(link, &r);
}

static void s_associate(pbx_link_t *link, const csta_apdu_t *aarq)
{
    pbxsim_t *sim = link->sim;
    if (!s_context_ok(aarq->acse.context)) {
        zsys_warning("pbxsim: link %d to %s: AARQ with unknown application context %s",
                     link->id, link->peer, aarq->acse.context);
        s_aare(link, aarq, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_ACN_NOT_SUPPORTED);
        pbx_link_close(link, "bad-context");
        return;
    }
    if (link->refused) {
        //  A real Panasonic takes one CSTA link (csta-facts.md 5); the second is told no.
        s_aare(link, aarq, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_NO_REASON);
        pbx_link_close(link, "link-limit");
        return;
    }
    if (sim->cfg.flavour == PBX_FLAVOUR_HIPATH) {
        if (!aarq->acse.has_login) {
            sim->stats.logins_failed++;
            zsys_warning("pbxsim: link %d to %s: AARQ without login", link->id, link->peer);
            s_aare(link, aarq, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_AUTH_REQUIRED);
            pbx_link_close(link, "login-required");
            return;
        }
        if (strcmp(aarq->acse.user, sim->cfg.login_user) != 0 ||
            strcmp(aarq->acse.password, sim->cfg.login_password) != 0) {
            sim->stats.logins_failed++;
            zsys_warning("pbxsim: link %d to %s: wrong login for user '%s'", link->id,
                         link->peer, aarq->acse.user);
            s_aare(link, aarq, CSTA_AARE_REJECTED_PERMANENT, CSTA_DIAG_AUTH_FAILURE);
            pbx_link_close(link, "login-failed");
            return;
        }
    }
    //  Panasonic answers "accepted" with the diagnostic no-reason-given (csta-facts.md 1.2).
    s_aare(link, aarq, CSTA_AARE_ACCEPTED, CSTA_DIAG_NO_REASON);
    link->state = PBX_LINK_ASSOCIATED;
    zsys_notice("pbxsim: link %d to %s: associated (%s, context %s)", link->id, link->peer,
                pbx_flavour_str(sim->cfg.flavour), aarq->acse.context);
    //  Right after the AARE the PBX sends SystemStatus, then repeats it (csta-facts.md 5).
    s_status(link);
    s_status_timer_start(link);
}

//  --- Input ------------------------------------------------------------------------------------------

static void s_on_apdu(pbx_link_t *link, const uint8_t *bytes, size_t len)
{
    pbxsim_t *sim = link->sim;
    csta_apdu_t a;
    int rc = csta_apdu_decode(&a, bytes, len);
    s_trace(link, '<', &a, len);
    if (link->state == PBX_LINK_AWAIT_AARQ) {
        if (rc == 0 && a.kind == CSTA_APDU_AARQ)
            s_associate(link, &a);
        else {
            zsys_warning("pbxsim: link %d to %s: expected an AARQ, got %s (%s)", link->id,
                         link->peer, csta_apdu_kind_str(a.kind), rc ? strerror(-rc) : "ok");
            pbx_link_close(link, "no-aarq");
        }
        csta_apdu_clear(&a);
        return;
    }
    if (rc == -ENOTSUP && a.kind == CSTA_APDU_INVOKE) {
        zsys_info("pbxsim: link %d: unknown operation %d, rejected", link->id, a.opcode);
        pbx_link_reject(link, a.invoke_id, CSTA_REJECT_INVOKE,
                        CSTA_REJ_INVOKE_UNRECOGNIZED_OPERATION);
    } else if (rc && a.kind == CSTA_APDU_INVOKE) {
        zsys_info("pbxsim: link %d: %s with a mistyped argument, rejected", link->id,
                  csta_op_name(a.opcode));
        pbx_link_reject(link, a.invoke_id, CSTA_REJECT_INVOKE, CSTA_REJ_INVOKE_MISTYPED_ARGUMENT);
    } else if (rc) {
        zsys_info("pbxsim: link %d: undecodable APDU (%s), rejected", link->id, strerror(-rc));
        csta_apdu_t r;
        csta_apdu_init(&r, CSTA_APDU_REJECT);
        r.reject.invoke_id_absent = true;
        r.reject.kind = CSTA_REJECT_GENERAL;
        r.reject.problem = CSTA_REJ_GENERAL_BADLY_STRUCTURED_PDU;
        sim->stats.rejects_sent++;
        pbx_link_respond(link, &r);
    } else {
        switch (a.kind) {
        case CSTA_APDU_INVOKE:
            sim->stats.requests++;
            pbx_link_service(link, &a);
            break;
        case CSTA_APDU_RESULT:
        case CSTA_APDU_ERROR:
        case CSTA_APDU_REJECT:
            if (link->status_pending && a.invoke_id == link->status_invoke_id)
                link->status_pending = false;
            else
                pbx_link_on_reply(link, &a);
            break;
        case CSTA_APDU_RLRQ: {
            csta_apdu_t r;
            csta_apdu_init(&r, CSTA_APDU_RLRE);
            r.acse.has_reason = true;
            pbx_link_send(link, &r);
            pbx_link_close(link, "released");
            break;
        }
        case CSTA_APDU_ABRT:
            pbx_link_close(link, "aborted");
            break;
        default:
            zsys_info("pbxsim: link %d: unexpected %s ignored", link->id,
                      csta_apdu_kind_str(a.kind));
        }
    }
    csta_apdu_clear(&a);
}

static int s_on_socket(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    pbx_link_t *link = arg;
    int id = link->id;
    pbxsim_t *sim = link->sim;
    if (item->revents & ZMQ_POLLOUT) {
        int rc = csta_outq_flush(link->outq, link->fd);
        if (rc == 0 && link->want_write) {
            link->want_write = false;
            s_poll_events(link);
            return 0;       //  the poller was replaced; read on the next round
        }
        if (rc && rc != -EAGAIN) {
            pbx_link_close(link, s_write_failure(rc));
            return 0;
        }
    }
    if (!(item->revents & (ZMQ_POLLIN | ZMQ_POLLERR)) || sim->faults.hang)
        return 0;
    ssize_t n = csta_framer_read(link->framer, link->fd);
    if (n == 0 || (n < 0 && n != -EAGAIN)) {
        //  An application that closes with data unread leaves a reset, not an end of stream.
        pbx_link_close(link, n == 0              ? "peer-closed"
                             : n == -ECONNRESET ? "peer-reset"
                                                : "read-error");
        return 0;
    }
    for (;;) {
        const uint8_t *apdu;
        size_t len;
        int rc = csta_framer_next(link->framer, &apdu, &len);
        if (rc == -EAGAIN)
            break;
        if (rc) {
            zsys_warning("pbxsim: link %d to %s: framing lost (%s), dropping the link", link->id,
                         link->peer, strerror(-rc));
            pbx_link_close(link, "bad-framing");
            break;
        }
        s_on_apdu(link, apdu, len);
        //  The APDU may have closed the link.
        bool alive = false;
        for (pbx_link_t *l = sim->links; l; l = l->next)
            alive |= l->id == id;
        if (!alive || sim->faults.hang)
            break;
    }
    return 0;
}

//  (Re)register the link's socket with the loop: readable always, writable while output
//  waits.  A hung switch watches nothing (a readable socket it will not read would make
//  the loop spin).
static int s_poll_events(pbx_link_t *link)
{
    zloop_poller_end(link->sim->loop, &link->item);
    if (link->sim->faults.hang)
        return 0;
    link->item = (zmq_pollitem_t){.fd = link->fd,
                                  .events = (short) (ZMQ_POLLIN | (link->want_write ? ZMQ_POLLOUT : 0))};
    return zloop_poller(link->sim->loop, &link->item, s_on_socket, link);
}

//  --- Life cycle ---------------------------------------------------------------------------------------

int pbx_link_accept(pbxsim_t *sim, int fd, const char *peer)
{
    pbx_link_t *link = calloc(1, sizeof *link);
    if (!link) {
        close(fd);
        return -ENOMEM;
    }
    csta_framing_t framing = sim->cfg.flavour == PBX_FLAVOUR_HIPATH ? CSTA_FRAMING_HIPATH
                             : sim->cfg.flavour == PBX_FLAVOUR_RAW  ? CSTA_FRAMING_RAW
                                                                    : CSTA_FRAMING_LEN16;
    link->sim = sim;
    link->id = ++sim->next_link_id;
    link->fd = fd;
    link->next_invoke_id = 1;
    link->next_xref = 1;
    snprintf(link->peer, sizeof link->peer, "%s", peer);
    link->framer = csta_framer_new(framing, 0);
    link->outq = csta_outq_new(framing, S_OUTQ_MAX);
    link->refused = sim->link_count >= sim->cfg.max_links;
    link->next = sim->links;
    sim->links = link;
    sim->link_count++;

    pbx_link_record_t *rec = &sim->history[sim->history_count % PBX_HISTORY_MAX];
    memset(rec, 0, sizeof *rec);
    rec->id = link->id;
    snprintf(rec->peer, sizeof rec->peer, "%s", peer);
    rec->opened_ms = pbxsim_now_ms();
    rec->refused = link->refused;
    link->record = sim->history_count++;
    if (link->refused) {
        sim->stats.links_refused++;
        zsys_notice("pbxsim: link %d from %s refused: %d CSTA link(s) already open (max %d)",
                    link->id, peer, sim->link_count - 1, sim->cfg.max_links);
    } else {
        sim->stats.links_accepted++;
        zsys_notice("pbxsim: link %d from %s connected", link->id, peer);
    }
    if (!link->framer || !link->outq || s_poll_events(link)) {
        pbx_link_close(link, "no-memory");
        return -ENOMEM;
    }
    return 0;
}

static void s_record_close(pbxsim_t *sim, int record, const char *reason)
{
    if (record < sim->history_count - PBX_HISTORY_MAX)
        return;     //  rotated out of the history
    pbx_link_record_t *rec = &sim->history[record % PBX_HISTORY_MAX];
    rec->closed_ms = pbxsim_now_ms();
    snprintf(rec->reason, sizeof rec->reason, "%s", reason);
}

void pbx_link_close(pbx_link_t *link, const char *reason)
{
    pbxsim_t *sim = link->sim;
    for (pbx_link_t **p = &sim->links; *p; p = &(*p)->next)
        if (*p == link) {
            *p = link->next;
            break;
        }
    sim->link_count--;
    if (!link->refused)
        zsys_notice("pbxsim: link %d to %s closed: %s (%d monitors released)", link->id,
                    link->peer, reason, link->monitor_count);
    sim->stats.monitors_active -= link->monitor_count;
    s_record_close(sim, link->record, reason);
    zloop_poller_end(sim->loop, &link->item);
    if (link->status_timer > 0)
        zloop_timer_end(sim->loop, link->status_timer);
    pbx_link_services_close(link);
    //  Flush what is queued (e.g. a rejecting AARE) before the close, best effort; a hung
    //  switch sends nothing.
    if (link->outq && !sim->faults.hang)
        csta_outq_flush(link->outq, link->fd);
    close(link->fd);
    csta_framer_destroy(&link->framer);
    csta_outq_destroy(&link->outq);
    free(link);
}

void pbx_link_close_all(pbxsim_t *sim, const char *reason)
{
    while (sim->links)
        pbx_link_close(sim->links, reason);
}

//  Hang fault: a hung switch neither reads nor writes on its CTI links (the TCP
//  connections stay up); what it owes waits in the output queues until it resumes.
void pbx_link_set_hang(pbxsim_t *sim, bool hang)
{
    if (sim->faults.hang == hang)
        return;
    sim->faults.hang = hang;
    for (pbx_link_t *l = sim->links, *next; l; l = next) {
        next = l->next;
        if (hang) {
            s_poll_events(l);
            continue;
        }
        //  The application could not get its SystemStatus answers through while the switch
        //  was not reading: it gets a whole period from the resume before it is judged.
        if (l->status_timer > 0) {
            zloop_timer_end(sim->loop, l->status_timer);
            s_status_timer_start(l);
        }
        l->dirty = false;
        int rc = csta_outq_flush(l->outq, l->fd);
        if (rc && rc != -EAGAIN) {
            pbx_link_close(l, s_write_failure(rc));
            continue;
        }
        l->want_write = rc == -EAGAIN;
        s_poll_events(l);
    }
}

//  A deliberately malformed APDU: an invoke whose outer length runs past its content.
void pbx_link_send_malformed(pbxsim_t *sim)
{
    static const uint8_t bad[] = {0xa1, 0x0c, 0x02, 0x01, 0x01, 0x02, 0x01, 0x15, 0x30, 0x09, 0x55, 0x02};
    for (pbx_link_t *l = sim->links, *next; l; l = next) {
        next = l->next;
        if (l->state == PBX_LINK_ASSOCIATED)
            pbx_link_send_bytes(l, bad, sizeof bad);
    }
}
