//  node_http: the HTTP endpoints (node_http.h) on libmicrohttpd's external epoll mode.
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_http.h"
#include "node_log.h"

#define S_CONN_MAX 64
#define S_CONN_TIMEOUT_S 10

struct node_http {
    zloop_t *loop;                  //  borrowed
    node_http_cfg_t cfg;
    node_metrics_t *metrics;        //  borrowed
    node_http_handlers_t handlers;
    node_metric_t *requests;
    struct MHD_Daemon *daemon;
    zmq_pollitem_t item;            //  MHD's epoll fd in the loop
    bool polling;
    int timer_id;                   //  0: none
    int port;
};

static void s_schedule(node_http_t *self);

//  Let MHD do what is ready, then arm the timer for what it has to do later.
static void s_run(node_http_t *self)
{
    MHD_run(self->daemon);
    s_schedule(self);
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_http_t *self = arg;
    self->timer_id = 0;
    s_run(self);
    return 0;
}

static int s_on_ready(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    s_run(arg);
    return 0;
}

static void s_schedule(node_http_t *self)
{
    if (self->timer_id) {
        zloop_timer_end(self->loop, self->timer_id);
        self->timer_id = 0;
    }
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(self->daemon, &ms) != MHD_YES)
        return;         //  nothing pending but socket events
    //  0: MHD has work that no fd event will announce (data already read); run it from
    //  the loop's next turn rather than here, so one connection cannot starve the loop.
    size_t delay = ms < 1 ? 1 : ms > 1000 ? 1000 : (size_t) ms;
    self->timer_id = zloop_timer(self->loop, delay, 1, s_on_timer, self);
    if (self->timer_id < 0)
        self->timer_id = 0;
}

static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned code, const char *type,
                               char *body)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    (void) version;
    (void) upload_data;
    (void) req_cls;
    node_http_t *self = cls;
    const char *path = "other";
    unsigned code;
    enum MHD_Result rc;
    const char *text = "text/plain; charset=utf-8";
    if (strcmp(method, "POST") == 0 && strcmp(url, "/cluster/handover") == 0 &&
        self->handlers.handover) {
        *upload_data_size = 0;      //  the query says it all; a body is dropped unread
        path = "/cluster/handover";
        char *body = NULL;
        const char *pbx = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pbx");
        const char *to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
        code = (unsigned) self->handlers.handover(self->handlers.ctx, pbx, to, &body);
        rc = s_reply(conn, code, "application/json", body ? body : strdup("{}\n"));
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *upload_data_size = 0;      //  any body is dropped unread
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
        rc = s_reply(conn, code, text, strdup("only GET (and POST /cluster/handover)\n"));
    } else if (strcmp(url, "/metrics") == 0) {
        path = "/metrics";
        code = MHD_HTTP_OK;
        if (self->handlers.collect)
            self->handlers.collect(self->handlers.ctx);
        char *body = self->metrics ? node_metrics_render(self->metrics) : strdup("");
        rc = s_reply(conn, code, "text/plain; version=0.0.4; charset=utf-8", body);
    } else if (strcmp(url, "/lines") == 0 && self->handlers.lines) {
        path = "/lines";
        code = MHD_HTTP_OK;
        rc = s_reply(conn, code, text, self->handlers.lines(self->handlers.ctx));
    } else if (strcmp(url, "/livez") == 0) {
        path = "/livez";
        code = MHD_HTTP_OK;
        rc = s_reply(conn, code, text, strdup("ok\n"));
    } else if (strcmp(url, "/readyz") == 0) {
        path = "/readyz";
        char why[256] = "no readiness check";
        bool ready = self->handlers.ready && self->handlers.ready(self->handlers.ctx, why,
                                                                  sizeof why);
        code = ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        char *body = malloc(strlen(why) + 16);
        if (body)
            sprintf(body, "%s\n", ready ? "ready" : why);
        rc = s_reply(conn, code, text, body);
    } else if (strcmp(url, "/status") == 0) {
        path = "/status";
        code = MHD_HTTP_OK;
        char *body = self->handlers.status ? self->handlers.status(self->handlers.ctx)
                                           : strdup("{}");
        rc = s_reply(conn, code, "application/json", body);
    } else {
        code = MHD_HTTP_NOT_FOUND;
        rc = s_reply(conn, code, text, strdup("not found: try /metrics /livez /readyz /status\n"));
    }
    if (self->requests) {
        char code_text[8];
        snprintf(code_text, sizeof code_text, "%u", code);
        node_metric_add(self->requests, (const char *[]){path, code_text}, 1);
    }
    node_debug("http", "%s %s -> %u", method, url, code);
    return rc;
}

static void s_mhd_log(void *arg, const char *fmt, va_list ap)
{
    (void) arg;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    node_info("http", "libmicrohttpd: %s", line);
}

node_http_t *node_http_new(zloop_t *loop, const node_http_cfg_t *cfg, node_metrics_t *metrics,
                           const node_http_handlers_t *handlers)
{
    node_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->cfg = *cfg;
    self->metrics = metrics;
    if (handlers)
        self->handlers = *handlers;
    if (metrics)
        self->requests = node_metrics_counter(metrics, "http_requests",
                                              "HTTP requests served, by path and status code.",
                                              "path,code");
    return self;
}

void node_http_destroy(node_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_http_t *self = *self_p;
    if (self->timer_id)
        zloop_timer_end(self->loop, self->timer_id);
    if (self->polling)
        zloop_poller_end(self->loop, &self->item);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);      //  closes the listening socket too
    free(self);
    *self_p = NULL;
}

int node_http_start(node_http_t *self)
{
    char port[8];
    snprintf(port, sizeof port, "%d", self->cfg.port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(self->cfg.listen, port, &hints, &ai) != 0 || !ai)
        return -EINVAL;
    int family = ai->ai_family;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    int rc = 0;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0)
        rc = -errno;
    freeaddrinfo(ai);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *) &ss, &len);
    self->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                          : ((struct sockaddr_in *) &ss)->sin_port);

    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    //  The logger first, so that MHD reports problems with the other options through it.
    self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, s_handler, self,
                                    MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
                                    MHD_OPTION_LISTEN_SOCKET, fd,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned) S_CONN_MAX,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) S_CONN_TIMEOUT_S,
                                    MHD_OPTION_END);
    if (!self->daemon) {
        close(fd);
        return -EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        MHD_stop_daemon(self->daemon);
        self->daemon = NULL;
        return -EIO;
    }
    self->item = (zmq_pollitem_t){.socket = NULL, .fd = info->epoll_fd, .events = ZMQ_POLLIN};
    if (zloop_poller(self->loop, &self->item, s_on_ready, self) != 0) {
        MHD_stop_daemon(self->daemon);
        self->daemon = NULL;
        return -EIO;
    }
    self->polling = true;
    s_schedule(self);
    return 0;
}

int node_http_port(const node_http_t *self)
{
    return self->port;
}

void node_http_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char) *s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}
