//  ctim_cluster: `ctim cluster handover PBX NODE --http HOST:PORT[,...]` -- an operator's
//  command that talks HTTP to ctimd nodes (node/node_http.h), not the client API: it
//  finds the PBX's owner in the nodes' /status, asks it to hand the link over
//  (POST /cluster/handover), then polls /status until NODE holds the link with it up.
//  HTTP/1.0 over a plain socket, every step bounded by the command's deadline.
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctim_cluster.h"
#include "ctim_cmd.h"

#define S_NODES_MAX 16
#define S_POLL_MS 20
#define S_BODY_MAX (1024 * 1024)

typedef struct {
    char host[256];
    char port[8];
    char node[64];          //  its id, from /status ("" not heard)
} s_endpoint_t;

static long long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Wait until fd is ready for events or the deadline passes: 0 or -ETIMEDOUT.
static int s_ready(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - s_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int) left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int s_connect(const s_endpoint_t *e, long long deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(e->host, e->port, &hints, &ai) != 0 || !ai)
        return -EHOSTUNREACH;
    int rc = -ECONNREFUSED;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && s_ready(fd, POLLOUT, deadline) == 0)) {
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
                rc = fd;
                break;
            }
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

//  One HTTP/1.0 exchange: the status code, and the body in *body (the caller frees).
//  Returns 0 or a negative errno (-ETIMEDOUT past the deadline).
static int s_http(const s_endpoint_t *e, const char *method, const char *path,
                  long long deadline, int *code, char **body)
{
    *body = NULL;
    int fd = s_connect(e, deadline);
    if (fd < 0)
        return fd;
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: 0\r\n\r\n",
                     method, path, e->host);
    int rc = 0;
    for (int sent = 0; sent < n && rc == 0;) {
        rc = s_ready(fd, POLLOUT, deadline);
        ssize_t k = rc ? -1 : send(fd, req + sent, (size_t) (n - sent), MSG_NOSIGNAL);
        if (k > 0)
            sent += (int) k;
        else if (rc == 0 && errno != EAGAIN && errno != EINTR)
            rc = -errno;
    }
    size_t used = 0, cap = 8192;
    char *buf = rc ? NULL : malloc(cap);
    if (!rc && !buf)
        rc = -ENOMEM;
    while (rc == 0) {
        rc = s_ready(fd, POLLIN, deadline);
        if (rc)
            break;
        if (used + 1 == cap) {
            char *more = cap < S_BODY_MAX ? realloc(buf, cap * 2) : NULL;
            if (!more) {
                rc = -EMSGSIZE;
                break;
            }
            buf = more;
            cap *= 2;
        }
        ssize_t k = recv(fd, buf + used, cap - used - 1, 0);
        if (k == 0)
            break;      //  HTTP/1.0: the end of the body is the end of the connection
        if (k > 0)
            used += (size_t) k;
        else if (errno != EAGAIN && errno != EINTR)
            rc = -errno;
    }
    close(fd);
    if (rc == 0) {
        buf[used] = '\0';
        const char *sep = strstr(buf, "\r\n\r\n");
        if (sscanf(buf, "HTTP/1.%*d %d", code) != 1 || !sep)
            rc = -EBADMSG;
        else {
            memmove(buf, sep + 4, strlen(sep + 4) + 1);
            *body = buf;
            return 0;
        }
    }
    free(buf);
    return rc;
}

//  The string value of "key" at or after from in a JSON text we made ourselves (ctimd's
//  /status: names need no escapes), into out.  Returns where it ends, or NULL.
static const char *s_json_str(const char *from, const char *end, const char *key, char *out,
                              size_t cap)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(from, pat);
    if (!p || (end && p >= end))
        return NULL;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    if (!q)
        return NULL;
    snprintf(out, cap, "%.*s", (int) (q - p), p);
    return q;
}

//  What one node's /status says of pbx: its own id, the owner it serves through and the
//  service's state.  0 or -ENOENT (the PBX is not in its list).
static int s_pbx_of(const char *status, const char *pbx, char *node, char *owner,
                    char *state, size_t cap)
{
    if (!s_json_str(status, NULL, "node", node, cap))
        return -ENOENT;
    char pat[160];
    snprintf(pat, sizeof pat, "{\"name\":\"%s\"", pbx);
    const char *p = strstr(status, pat);
    if (!p)
        return -ENOENT;
    const char *next = strstr(p + 1, "{\"name\":");
    if (!s_json_str(p, next, "state", state, cap) || !s_json_str(p, next, "owner", owner, cap))
        return -ENOENT;
    return 0;
}

typedef struct {
    const char *pbx, *to;
    s_endpoint_t ep[S_NODES_MAX];
    size_t n;
    unsigned timeout_ms;
    bool json;
} s_args_t;

static int s_usage(FILE *err, const char *why)
{
    fprintf(err, "ctim: %s\nusage: ctim cluster handover PBX NODE --http HOST:PORT[,HOST:PORT...] "
            "[--timeout MS] [--json]\n", why);
    return CTIM_EXIT_USAGE;
}

static int s_parse_http(s_args_t *a, const char *list)
{
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(t, ':');
        if (!colon || colon == t || !colon[1] || strlen(colon + 1) > 5 || a->n == S_NODES_MAX)
            return -EINVAL;
        s_endpoint_t *e = &a->ep[a->n++];
        *colon = '\0';
        //  "[::1]:8080": the brackets only delimit the address.
        if (*t == '[' && colon[-1] == ']') {
            colon[-1] = '\0';
            t++;
        }
        snprintf(e->host, sizeof e->host, "%s", t);
        snprintf(e->port, sizeof e->port, "%s", colon + 1);
        char *end;
        long port = strtol(e->port, &end, 10);
        if (*end || port < 1 || port > 65535)
            return -EINVAL;
    }
    return a->n ? 0 : -EINVAL;
}

//  The client API's options that take a value: accepted anywhere and ignored here (a
//  shell's CTIM_* settings or an alias do not get in the way of a cluster command).
static bool s_client_option(const char *arg)
{
    static const char *const names[] = {"-s", "--servers", "-u", "--user", "--password-file",
                                        "--heartbeat", "--curve-server-key", "--curve-cert"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i]) == 0)
            return true;
    return false;
}

bool ctim_cluster_is_cluster(int argc, char *const argv[])
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            return i + 1 < argc && strcmp(argv[i + 1], "cluster") == 0;
        if (arg[0] != '-')
            return strcmp(arg, "cluster") == 0;
        if (!strchr(arg, '=') && (s_client_option(arg) || strcmp(arg, "-t") == 0 ||
                                  strcmp(arg, "--timeout") == 0 || strcmp(arg, "--http") == 0))
            i++;
    }
    return false;
}

int ctim_cluster_main(int argc, char *const argv[], FILE *out, FILE *err)
{
    s_args_t a = {.timeout_ms = 10000};
    const char *words[4];
    size_t nw = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;
        if (strcmp(arg, "--") == 0)
            continue;
        if (s_client_option(arg) || (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') &&
                                     strncmp(arg, "--http=", 7) != 0 &&
                                     strncmp(arg, "--timeout=", 10) != 0)) {
            i += !strchr(arg, '=');
            continue;
        }
        if (strcmp(arg, "-t") == 0 || strncmp(arg, "--http", 6) == 0 ||
            strncmp(arg, "--timeout", 9) == 0) {
            const char *eq = strchr(arg, '=');
            val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!val || !*val)
                return s_usage(err, "an option needs a value");
            if (arg[2] == 'h') {
                if (s_parse_http(&a, val) != 0)
                    return s_usage(err, "--http: HOST:PORT[,HOST:PORT...] (at most 16)");
            } else {
                char *end;
                unsigned long ms = strtoul(val, &end, 10);
                if (*end || ms < 1 || ms > 3600000)
                    return s_usage(err, "--timeout: milliseconds from 1 to 3600000");
                a.timeout_ms = (unsigned) ms;
            }
        } else if (strcmp(arg, "--json") == 0 || strcmp(arg, "-j") == 0)
            a.json = true;
        else if (arg[0] == '-')
            return s_usage(err, "unknown option for cluster");
        else if (nw < 4)
            words[nw++] = arg;
        else
            return s_usage(err, "too many operands");
    }
    if (nw != 4 || strcmp(words[0], "cluster") != 0 || strcmp(words[1], "handover") != 0)
        return s_usage(err, "cluster: the command is 'cluster handover PBX NODE'");
    if (!a.n)
        return s_usage(err, "cluster handover needs --http");
    a.pbx = words[2];
    a.to = words[3];
    if (strlen(a.pbx) > 63 || strlen(a.to) > 63 || strpbrk(a.pbx, "\"&?= %/") ||
        strpbrk(a.to, "\"&?= %/"))
        return s_usage(err, "PBX and NODE are config names (letters, digits, '.', '_', '-')");

    long long start = s_now_ms(), deadline = start + a.timeout_ms;
    //  1. Who holds the link: a node that serves it through its own link says so itself;
    //  any other names the owner it forwards to.
    char owner[64] = "";
    int owner_ep = -1;
    bool reached = false;
    for (size_t i = 0; i < a.n; i++) {
        char *body = NULL;
        int code = 0;
        if (s_http(&a.ep[i], "GET", "/status", deadline, &code, &body) != 0 || code != 200) {
            fprintf(err, "ctim: %s:%s: no /status\n", a.ep[i].host, a.ep[i].port);
            free(body);
            continue;
        }
        reached = true;
        char node[64], own[64], state[64];
        if (s_pbx_of(body, a.pbx, node, own, state, sizeof node) == 0) {
            snprintf(a.ep[i].node, sizeof a.ep[i].node, "%s", node);
            if (*own && !*owner)
                snprintf(owner, sizeof owner, "%s", own);
        } else if (s_json_str(body, NULL, "node", node, sizeof node))
            snprintf(a.ep[i].node, sizeof a.ep[i].node, "%s", node);
        free(body);
    }
    if (!reached) {
        fprintf(err, "ctim: no node answered on --http\n");
        return s_now_ms() >= deadline ? CTIM_EXIT_TIMEOUT : CTIM_EXIT_FAILED;
    }
    if (!*owner) {
        fprintf(err, "ctim: no node names an owner of pbx %s\n", a.pbx);
        return CTIM_EXIT_FAILED;
    }
    if (strcmp(owner, a.to) == 0) {
        fprintf(out, a.json ? "{\"pbx\":\"%s\",\"owner\":\"%s\",\"ms\":0,\"result\":\"already\"}\n"
                            : "pbx %s: %s holds it already\n", a.pbx, owner);
        return CTIM_EXIT_OK;
    }
    for (size_t i = 0; i < a.n; i++)
        if (strcmp(a.ep[i].node, owner) == 0)
            owner_ep = (int) i;
    if (owner_ep < 0) {
        fprintf(err, "ctim: pbx %s is held by %s, which is not among --http\n", a.pbx, owner);
        return CTIM_EXIT_FAILED;
    }
    //  2. Ask the owner.
    char path[256];
    snprintf(path, sizeof path, "/cluster/handover?pbx=%s&to=%s", a.pbx, a.to);
    char *body = NULL;
    int code = 0;
    int rc = s_http(&a.ep[owner_ep], "POST", path, deadline, &code, &body);
    if (rc != 0 || code != 202) {
        if (rc)
            fprintf(err, "ctim: %s (%s:%s): %s\n", owner, a.ep[owner_ep].host,
                    a.ep[owner_ep].port, strerror(-rc));
        else
            fprintf(err, "ctim: %s refused the handover (HTTP %d): %s", owner, code,
                    body ? body : "\n");
        free(body);
        return rc == -ETIMEDOUT ? CTIM_EXIT_TIMEOUT : CTIM_EXIT_FAILED;
    }
    free(body);
    //  3. Until a node says the target serves the PBX over its link, up (the target's own
    //  /status, or another's through it).
    while (s_now_ms() < deadline) {
        for (size_t i = 0; i < a.n; i++) {
            code = 0;
            if (s_http(&a.ep[i], "GET", "/status", deadline, &code, &body) == 0 && code == 200) {
                char node[64], own[64], state[64];
                bool done = s_pbx_of(body, a.pbx, node, own, state, sizeof node) == 0 &&
                            strcmp(own, a.to) == 0 && strcmp(state, "UP") == 0;
                free(body);
                if (done) {
                    long long ms = s_now_ms() - start;
                    fprintf(out, a.json ? "{\"pbx\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
                                          "\"ms\":%lld,\"result\":\"done\"}\n"
                                        : "pbx %s handed over from %s to %s in %lld ms\n",
                            a.pbx, owner, a.to, ms);
                    return CTIM_EXIT_OK;
                }
            } else
                free(body);
        }
        struct timespec ts = {0, S_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);   //  the poll interval of a status query, not a condition
    }
    fprintf(err, "ctim: pbx %s: %s does not hold it with its link up after %u ms\n", a.pbx, a.to,
            a.timeout_ms);
    return CTIM_EXIT_TIMEOUT;
}
