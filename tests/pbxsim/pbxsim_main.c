//  pbxsim_main: the pbxsim program — options, the CSTA listening socket, the event loop,
//  and the `pbxsim ctl` client.
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pbxsim.h"
#include "pbxsim_ctl.h"
#include "pbxsim_link_services.h"
#include "pbxsim_timers.h"
#include "pbxsim_traffic.h"

long long pbxsim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *pbx_flavour_str(pbx_flavour_t flavour)
{
    switch (flavour) {
    case PBX_FLAVOUR_PANASONIC: return "panasonic";
    case PBX_FLAVOUR_RAW: return "raw";
    case PBX_FLAVOUR_HIPATH: return "hipath";
    }
    return "?";
}

//  --- Listening ------------------------------------------------------------------------------------

static int s_on_accept(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    pbxsim_t *self = arg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(self->listen_fd, (struct sockaddr *) &ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char host[INET6_ADDRSTRLEN] = "?", peer[64];
    int port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        port = ntohs(sin6->sin6_port);
    }
    snprintf(peer, sizeof peer, "%s:%d", host, port);
    pbx_link_accept(self, fd, peer);
    return 0;
}

int pbxsim_listen(pbxsim_t *self)
{
    if (self->listen_fd >= 0)
        return 0;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) self->cfg.port)};
    if (inet_pton(AF_INET, self->cfg.listen_host, &sin.sin_addr) != 1) {
        zsys_error("pbxsim: --listen host '%s' is not an IPv4 address", self->cfg.listen_host);
        return -EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(fd, 64) < 0) {
        int err = errno;
        zsys_error("pbxsim: cannot listen on %s:%d: %s", self->cfg.listen_host, self->cfg.port,
                   strerror(err));
        if (fd >= 0)
            close(fd);
        return -err;
    }
    //  Port 0 lets the kernel choose (tests); the ready line reports the real port.
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *) &bound, &blen) == 0)
        self->cfg.port = ntohs(bound.sin_port);
    self->listen_fd = fd;
    self->listen_item = (zmq_pollitem_t){.fd = fd, .events = ZMQ_POLLIN};
    zloop_poller(self->loop, &self->listen_item, s_on_accept, self);
    return 0;
}

void pbxsim_unlisten(pbxsim_t *self)
{
    if (self->listen_fd < 0)
        return;
    zloop_poller_end(self->loop, &self->listen_item);
    close(self->listen_fd);
    self->listen_fd = -1;
}

//  --- Switch callbacks ----------------------------------------------------------------------------

static void s_on_event(void *ctx, int device, const csta_apdu_t *event)
{
    pbx_link_dispatch_event(ctx, device, event);
}

static void s_on_cdr(void *ctx, const csta_apdu_t *report)
{
    pbx_link_dispatch_cdr(ctx, report);
}

static int s_run(pbxsim_cfg_t *cfg)
{
    pbxsim_t sim = {.cfg = *cfg, .listen_fd = -1};
    int rc = 0;
    sim.loop = zloop_new();
    sim.timers = pbxsim_timers_new(&sim);
    pbx_timers_t timers = pbxsim_timers_iface(sim.timers);
    sim.sw = pbx_switch_new(&cfg->sw, &timers, s_on_event, s_on_cdr, &sim);
    if (!sim.loop || !sim.timers || !sim.sw) {
        rc = -ENOMEM;
        goto done;
    }
    rc = pbxsim_cfg_load_devices(cfg, sim.sw);
    if (rc)
        goto done;
    rc = pbxsim_listen(&sim);
    if (rc)
        goto done;
    if (!sim.cfg.ctl_path[0])
        snprintf(sim.cfg.ctl_path, sizeof sim.cfg.ctl_path, "/tmp/pbxsim-%d.sock", sim.cfg.port);
    sim.ctl = pbxsim_ctl_new(&sim, sim.cfg.ctl_path);
    if (!sim.ctl) {
        rc = -EINVAL;
        goto done;
    }
    sim.traffic = pbxsim_traffic_new(&sim);
    zsys_notice("pbxsim: %s switch with %d devices listening on %s:%d (max %d link%s), "
                "control socket %s",
                pbx_flavour_str(cfg->flavour), pbx_switch_device_count(sim.sw), cfg->listen_host,
                sim.cfg.port, cfg->max_links, cfg->max_links == 1 ? "" : "s", sim.cfg.ctl_path);
    //  Ready line on stdout: scripts wait for it rather than sleeping.
    printf("pbxsim ready port=%d ctl=%s\n", sim.cfg.port, sim.cfg.ctl_path);
    fflush(stdout);
    zloop_start(sim.loop);
    zsys_notice("pbxsim: shutting down");
done:
    pbx_link_close_all(&sim, "shutdown");
    pbxsim_unlisten(&sim);
    pbxsim_traffic_destroy((pbxsim_traffic_t **) &sim.traffic);
    pbxsim_ctl_destroy((pbxsim_ctl_t **) &sim.ctl);
    pbx_switch_destroy(&sim.sw);
    pbxsim_timers_destroy((pbxsim_timers_t **) &sim.timers);
    pbx_link_free_delayed();
    zloop_destroy(&sim.loop);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ctl") == 0)
        return pbxsim_ctl_client(argc - 1, argv + 1);
    zsys_init();
    zsys_set_logident("pbxsim");
    pbxsim_cfg_t cfg;
    if (pbxsim_cfg_parse(&cfg, argc, argv))
        return 2;
    return s_run(&cfg);
}
