//  test_http: HTTP GET for tests (test_http.h).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_http.h"
#include "test_proc.h"

static int s_wait(int fd, short events, long long deadline)
{
    long long left = deadline - test_now_ms();
    if (left <= 0)
        return -1;
    struct pollfd p = {.fd = fd, .events = events};
    return poll(&p, 1, (int) left) == 1 ? 0 : -1;
}

int test_http_get(const char *host, int port, const char *path, int timeout_ms, int *status,
                  char *body, size_t cap)
{
    return test_http_request(host, port, "GET", path, timeout_ms, status, body, cap);
}

int test_http_request(const char *host, int port, const char *method, const char *path,
                      int timeout_ms, int *status, char *body, size_t cap)
{
    long long deadline = test_now_ms() + timeout_ms;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    char *resp = NULL;
    int rc = -1;
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 &&
        (errno != EINPROGRESS || s_wait(fd, POLLOUT, deadline) < 0))
        goto done;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
        goto done;
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: 0\r\n\r\n",
                     method, path, host);
    if (s_wait(fd, POLLOUT, deadline) < 0 || send(fd, req, (size_t) n, MSG_NOSIGNAL) != n)
        goto done;
    size_t used = 0, size = 65536;
    resp = malloc(size);
    for (;;) {
        if (s_wait(fd, POLLIN, deadline) < 0)
            goto done;
        ssize_t got = recv(fd, resp + used, size - used - 1, 0);
        if (got < 0 && errno == EAGAIN)
            continue;
        if (got < 0)
            goto done;
        if (got == 0)
            break;      //  HTTP/1.0: the server closes after the body
        used += (size_t) got;
        if (used + 1 == size) {
            size *= 2;
            resp = realloc(resp, size);
        }
    }
    resp[used] = '\0';
    int code;
    const char *sep = strstr(resp, "\r\n\r\n");
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1 || !sep)
        goto done;
    *status = code;
    snprintf(body, cap, "%s", sep + 4);
    rc = 0;
done:
    free(resp);
    close(fd);
    return rc;
}
