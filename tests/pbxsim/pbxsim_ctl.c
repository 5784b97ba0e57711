//  pbxsim_ctl: the control socket (one command line in, one JSON line out, per connection)
//  and its command-line client.
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pbxsim_ctl.h"
#include "pbxsim_traffic.h"

#define S_LINE_MAX 1024
#define S_REPLY_MAX (1 << 20)

struct pbxsim_ctl {
    pbxsim_t *sim;
    char path[108];
    int fd;
    zmq_pollitem_t item;
};

//  --- Commands ------------------------------------------------------------------------------------

static int s_fail(char *reply, size_t cap, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    snprintf(reply, cap, "{\"ok\":false,\"error\":\"%s\"}", msg);
    return -1;
}

static int s_result(int rc, char *reply, size_t cap, const char *what)
{
    if (rc < 0)
        return s_fail(reply, cap, "%s", rc == -ENOENT   ? "no such device or call"
                                        : rc == -EBUSY   ? "device busy"
                                        : rc == -EINVAL  ? "invalid arguments"
                                        : rc == -ENOSPC  ? "no resources"
                                                         : strerror(-rc));
    snprintf(reply, cap, "{\"ok\":true,\"%s\":%d}", what, rc);
    return 0;
}

static int s_refuse_end(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    pbxsim_t *sim = arg;
    sim->refuse_timer = 0;
    sim->faults.refuse_until_ms = 0;
    zsys_notice("pbxsim: fault: accepting CSTA links again");
    pbxsim_listen(sim);
    return 0;
}

static size_t s_stats_json(pbxsim_t *sim, char *buf, size_t cap)
{
    pbx_switch_stats_t sw;
    pbx_switch_stats(sim->sw, &sw);
    const pbxsim_stats_t *s = &sim->stats;
    int n = snprintf(buf, cap,
        "{\"ok\":true,\"links_open\":%d,\"links_accepted\":%ld,\"links_refused\":%ld,"
        "\"logins_failed\":%ld,\"monitor_starts\":%ld,\"monitor_stops\":%ld,"
        "\"monitors_active\":%ld,\"events_sent\":%ld,\"requests\":%ld,\"rejects_sent\":%ld,"
        "\"cdr_sent\":%ld,\"cdr_acked\":%ld,\"status_sent\":%ld,\"calls_started\":%ld,"
        "\"calls_completed\":%ld,\"calls_active\":%ld,\"switch_requests\":%ld,"
        "\"switch_requests_failed\":%ld,\"switch_events\":%ld,\"hang\":%s,\"delay_ms\":%d,"
        "\"refusing\":%s,\"traffic\":",
        sim->link_count, s->links_accepted, s->links_refused, s->logins_failed, s->monitor_starts,
        s->monitor_stops, s->monitors_active, s->events_sent, s->requests, s->rejects_sent,
        s->cdr_sent, s->cdr_acked, s->status_sent, sw.calls_started, sw.calls_completed,
        sw.calls_active, sw.requests, sw.requests_failed, sw.events,
        sim->faults.hang ? "true" : "false", sim->faults.delay_ms,
        sim->listen_fd < 0 ? "true" : "false");
    size_t used = n > 0 ? (size_t) n : 0;
    if (used < cap)
        used += pbxsim_traffic_json(sim->traffic, buf + used, cap - used);
    if (used + 2 < cap) {
        buf[used++] = '}';
        buf[used] = '\0';
    }
    return used;
}

int pbxsim_ctl_execute(pbxsim_t *sim, char *line, char *reply, size_t cap)
{
    char *argv[8];
    int argc = 0;
    char *save = NULL;
    //  The first words are split on blanks; call-in's name is the rest of the line.
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < 4;
         tok = strtok_r(NULL, argc == 3 ? "\r\n" : " \t\r\n", &save))
        argv[argc++] = tok;
    if (argc == 0)
        return s_fail(reply, cap, "%s", "empty command");
    const char *cmd = argv[0];
    const char *a1 = argc > 1 ? argv[1] : NULL, *a2 = argc > 2 ? argv[2] : NULL;
    const char *a3 = argc > 3 ? argv[3] : NULL;

    if (strcmp(cmd, "call-in") == 0 && a2)
        return s_result(pbx_switch_inbound(sim->sw, a1, a3 ? a3 : "", a2), reply, cap, "call");
    if (strcmp(cmd, "answer") == 0 && a1)
        return s_result(pbx_switch_answer(sim->sw, a1), reply, cap, "call");
    if (strcmp(cmd, "hangup") == 0 && a1)
        return s_result(pbx_switch_hangup(sim->sw, a1), reply, cap, "call");
    if (strcmp(cmd, "hold") == 0 && a1)
        return s_result(pbx_switch_hold(sim->sw, a1), reply, cap, "call");
    if (strcmp(cmd, "dial") == 0 && a1)     //  no number: off-hook, dial tone
        return s_result(pbx_switch_dial(sim->sw, a1, a2 ? a2 : ""), reply, cap, "call");
    if (strcmp(cmd, "auto-answer") == 0 && a2)
        return s_result(pbx_switch_set_auto_answer(sim->sw, a1, atoi(a2)), reply, cap, "device");
    if ((strcmp(cmd, "out-of-service") == 0 || strcmp(cmd, "in-service") == 0) && a1)
        return s_result(pbx_switch_set_in_service(sim->sw, a1, cmd[0] == 'i'), reply, cap, "device");
    if (strcmp(cmd, "monitors") == 0 && a1) {
        int dev = pbx_switch_find_number(sim->sw, a1);
        if (dev < 0)
            return s_fail(reply, cap, "no device %s", a1);
        snprintf(reply, cap, "{\"ok\":true,\"device\":\"%s\",\"monitors\":%d}", a1,
                 pbx_link_monitor_count(sim, dev));
        return 0;
    }
    if (strcmp(cmd, "calls") == 0 || strcmp(cmd, "devices") == 0 || strcmp(cmd, "links") == 0) {
        int n = snprintf(reply, cap, "{\"ok\":true,\"%s\":", cmd);
        size_t used = (size_t) n;
        if (cmd[0] == 'c')
            used += pbx_switch_calls_json(sim->sw, reply + used, cap - used);
        else if (cmd[0] == 'd')
            used += pbx_switch_devices_json(sim->sw, reply + used, cap - used);
        else
            used += pbx_link_json(sim, reply + used, cap - used);
        if (used + 2 < cap) {
            reply[used++] = '}';
            reply[used] = '\0';
        }
        return 0;
    }
    if (strcmp(cmd, "stats") == 0) {
        s_stats_json(sim, reply, cap);
        return 0;
    }
    //  Faults.
    if (strcmp(cmd, "drop") == 0) {
        zsys_notice("pbxsim: fault: dropping every CSTA link");
        pbx_link_close_all(sim, "fault-drop");
        snprintf(reply, cap, "{\"ok\":true}");
        return 0;
    }
    if (strcmp(cmd, "hang") == 0 && a1) {
        if (strcmp(a1, "on") != 0 && strcmp(a1, "off") != 0)
            return s_fail(reply, cap, "hang wants on or off, got %s", a1);
        pbx_link_set_hang(sim, strcmp(a1, "on") == 0);
        zsys_notice("pbxsim: fault: hang %s", sim->faults.hang ? "on (no reading, no answers)" : "off");
        snprintf(reply, cap, "{\"ok\":true,\"hang\":%s}", sim->faults.hang ? "true" : "false");
        return 0;
    }
    if (strcmp(cmd, "delay") == 0 && a1) {
        sim->faults.delay_ms = atoi(a1) > 0 ? atoi(a1) : 0;
        zsys_notice("pbxsim: fault: every response delayed by %d ms", sim->faults.delay_ms);
        snprintf(reply, cap, "{\"ok\":true,\"delay_ms\":%d}", sim->faults.delay_ms);
        return 0;
    }
    if (strcmp(cmd, "snapshot-segments") == 0 && a1) {
        int n = atoi(a1);
        if (n < 0 || n > 100)
            return s_fail(reply, cap, "snapshot-segments wants 0..100, got %s", a1);
        sim->snapshot_segments = n;
        sim->snapshot_open = a2 && strcmp(a2, "open") == 0;
        zsys_notice("pbxsim: SnapshotDevice answered in %d segment%s%s", n, n == 1 ? "" : "s",
                    sim->snapshot_open ? ", the last never marked" : "");
        snprintf(reply, cap, "{\"ok\":true,\"snapshot_segments\":%d,\"open\":%s}", n,
                 sim->snapshot_open ? "true" : "false");
        return 0;
    }
    if (strcmp(cmd, "malformed") == 0) {
        zsys_notice("pbxsim: fault: sending a malformed APDU on every link");
        pbx_link_send_malformed(sim);
        snprintf(reply, cap, "{\"ok\":true}");
        return 0;
    }
    if (strcmp(cmd, "refuse") == 0 && a1) {
        int seconds = atoi(a1);
        if (seconds <= 0)
            return s_fail(reply, cap, "refuse wants seconds > 0, got %s", a1);
        zsys_notice("pbxsim: fault: refusing CSTA links for %d s", seconds);
        pbxsim_unlisten(sim);
        if (sim->refuse_timer > 0)
            zloop_timer_end(sim->loop, sim->refuse_timer);
        sim->faults.refuse_until_ms = pbxsim_now_ms() + seconds * 1000LL;
        sim->refuse_timer = zloop_timer(sim->loop, (size_t) seconds * 1000, 1, s_refuse_end, sim);
        snprintf(reply, cap, "{\"ok\":true,\"refuse_s\":%d}", seconds);
        return 0;
    }
    if (strcmp(cmd, "restart") == 0) {
        //  A PBX restart: links drop, calls vanish, nothing is remembered.
        zsys_notice("pbxsim: fault: restart");
        pbx_link_close_all(sim, "fault-restart");
        pbx_switch_reset(sim->sw);
        pbxsim_traffic_forget_calls(sim->traffic);
        snprintf(reply, cap, "{\"ok\":true}");
        return 0;
    }
    if (strcmp(cmd, "traffic") == 0 && a1) {
        if (strcmp(a1, "stop") == 0) {
            pbxsim_traffic_stop(sim->traffic);
            snprintf(reply, cap, "{\"ok\":true}");
            return 0;
        }
        int cps = 0, seconds = 0, answer_ms = 1000, hold_ms = 5000;
        if (sscanf(a1, "%d", &cps) != 1 || !a2 || sscanf(a2, "%d", &seconds) != 1 ||
            (a3 && sscanf(a3, "%d %d", &answer_ms, &hold_ms) < 1))
            return s_fail(reply, cap, "%s", "usage: traffic CPS SECONDS [ANSWER_MS HOLD_MS] | traffic stop");
        int rc = pbxsim_traffic_start(sim->traffic, cps, seconds, answer_ms, hold_ms);
        return s_result(rc, reply, cap, "cps");
    }
    if (strcmp(cmd, "quit") == 0) {
        zsys_notice("pbxsim: quit requested on the control socket");
        zsys_interrupted = 1;
        snprintf(reply, cap, "{\"ok\":true}");
        return 0;
    }
    return s_fail(reply, cap, "unknown or incomplete command '%s'", cmd);
}

//  --- Socket -------------------------------------------------------------------------------------------

//  One connection: read a line (the client sends it at once; a short deadline keeps a
//  stuck client from holding the loop), answer, close.
static int s_on_connection(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    pbxsim_ctl_t *self = arg;
    int fd = accept4(self->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    char line[S_LINE_MAX];
    size_t used = 0;
    while (used < sizeof line - 1 && !memchr(line, '\n', used)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            break;
        ssize_t n = read(fd, line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t) n;
    }
    line[used] = '\0';
    static char reply[S_REPLY_MAX];
    //  What pbxsim sent before the command, and what the command made it send (events of
    //  a call, a malformed APDU ...), is on the wire before the reply: a test that acts on
    //  the reply finds it there.
    pbx_link_flush_all(self->sim);
    pbxsim_ctl_execute(self->sim, line, reply, sizeof reply - 1);
    pbx_link_flush_all(self->sim);
    size_t len = strlen(reply);
    reply[len++] = '\n';
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, reply + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t) n;
    }
    close(fd);
    if (zsys_interrupted)
        return -1;      //  `quit`: leave the loop
    return 0;
}

pbxsim_ctl_t *pbxsim_ctl_new(pbxsim_t *sim, const char *path)
{
    pbxsim_ctl_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sim = sim;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        zsys_error("pbxsim: control socket path too long: %s", path);
        free(self);
        return NULL;
    }
    snprintf(self->path, sizeof self->path, "%s", path);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    unlink(path);
    self->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (self->fd < 0 || bind(self->fd, (struct sockaddr *) &sun, sizeof sun) < 0 ||
        listen(self->fd, 16) < 0) {
        zsys_error("pbxsim: cannot open control socket %s: %s", path, strerror(errno));
        if (self->fd >= 0)
            close(self->fd);
        free(self);
        return NULL;
    }
    self->item = (zmq_pollitem_t){.fd = self->fd, .events = ZMQ_POLLIN};
    zloop_poller(sim->loop, &self->item, s_on_connection, self);
    return self;
}

void pbxsim_ctl_destroy(pbxsim_ctl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pbxsim_ctl_t *self = *self_p;
    zloop_poller_end(self->sim->loop, &self->item);
    close(self->fd);
    unlink(self->path);
    free(self);
    *self_p = NULL;
}

//  --- Client ------------------------------------------------------------------------------------------

int pbxsim_ctl_client(int argc, char **argv)
{
    char path[108] = "";
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc)
            snprintf(path, sizeof path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            snprintf(path, sizeof path, "/tmp/pbxsim-%s.sock", argv[++i]);
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: pbxsim ctl [--ctl PATH | --port N] COMMAND [ARGS]\n"
                        "commands: call-in CALLER CALLED [NAME], answer N, hangup N, hold N,\n"
                        "  dial N [CALLED], auto-answer N MS, out-of-service N, in-service N,\n"
                        "  calls, devices, links, monitors N, stats, drop, hang on|off,\n"
                        "  delay MS, malformed, refuse SECONDS, restart,\n"
                        "  traffic CPS SECONDS [ANSWER_MS HOLD_MS] | traffic stop, quit\n");
        return 2;
    }
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/pbxsim-33333.sock");
    char line[S_LINE_MAX] = "";
    size_t used = 0;
    for (; i < argc; i++)
        used += (size_t) snprintf(line + used, sizeof line - used, "%s%s", used ? " " : "", argv[i]);
    if (used + 2 >= sizeof line) {
        fprintf(stderr, "pbxsim ctl: command too long\n");
        return 2;
    }
    line[used++] = '\n';
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0) {
        fprintf(stderr, "pbxsim ctl: cannot reach %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (write(fd, line, used) != (ssize_t) used) {
        fprintf(stderr, "pbxsim ctl: write failed: %s\n", strerror(errno));
        close(fd);
        return 2;
    }
    static char reply[S_REPLY_MAX];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof reply - 1 && (n = read(fd, reply + got, sizeof reply - 1 - got)) > 0)
        got += (size_t) n;
    close(fd);
    reply[got] = '\0';
    fputs(reply, stdout);
    return strstr(reply, "\"ok\":true") ? 0 : 1;
}
