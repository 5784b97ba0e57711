//  node_http: ctimd's HTTP endpoints for operators and orchestrators (libmicrohttpd):
//    GET /metrics   the metrics registry, Prometheus text format
//    GET /livez     200 while the process runs its loop
//    GET /readyz    200 when the ready callback says so, else 503 with the reason
//    GET /status    the JSON the status callback returns
//    POST /cluster/handover?pbx=NAME&to=NODE   the handover callback's code and JSON
//  anything else 404 (405 for other methods; POST on other paths).
//
//  libmicrohttpd runs in its external epoll mode: one epoll fd in the node's zloop and a
//  timer for its connection timeouts, so every callback runs on the loop's thread and
//  nothing is shared across threads; sockets are non-blocking, responses are built in
//  memory, idle connections are closed after 10 s and at most 64 are open at once.
#ifndef NODE_HTTP_H
#define NODE_HTTP_H

#include <czmq.h>

#include "node_config.h"
#include "node_metrics.h"

typedef struct node_http node_http_t;

typedef struct {
    void *ctx;
    //  Whether the node serves traffic; if not, a reason for the 503 body.
    bool (*ready)(void *ctx, char *why, size_t why_cap);
    //  The node's state as a JSON object: a new string the caller frees.
    char *(*status)(void *ctx);
    //  Called before /metrics is rendered, so figures kept elsewhere (the PBX service's
    //  stats) are current in the scrape.  May be NULL.
    void (*collect)(void *ctx);
    //  GET /lines: the node's lines as text ("number,name" per line), a new string the caller
    //  frees.  May be NULL (404).
    char *(*lines)(void *ctx);
    //  POST /cluster/handover: pbx and to are the query's (NULL when absent); returns the
    //  HTTP code and sets *body to a new JSON string the caller frees.  May be NULL (404).
    int (*handover)(void *ctx, const char *pbx, const char *to, char **body);
} node_http_handlers_t;

//  Serve cfg->listen:cfg->port (port 0: a free port, see node_http_port; ctimd does not
//  create the server at all when http.port is 0).  metrics may be NULL (empty /metrics).
//  Requests are counted in ctim_http_requests_total{path,code}.
node_http_t *node_http_new(zloop_t *loop, const node_http_cfg_t *cfg, node_metrics_t *metrics,
                           const node_http_handlers_t *handlers);
void node_http_destroy(node_http_t **self_p);
//  Bind and listen.  Returns 0, or a negative errno (-EADDRINUSE, -EINVAL bad address).
int node_http_start(node_http_t *self);
//  The port bound (after start).
int node_http_port(const node_http_t *self);

//  Write s to out as a JSON string (quoted; quote, backslash and control characters
//  escaped), for the /status builders.
void node_http_json_str(FILE *out, const char *s);

#endif
