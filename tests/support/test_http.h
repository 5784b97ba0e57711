//  test_http: a tiny blocking HTTP/1.0 GET over a plain socket for tests (every step has
//  a deadline), so tests need no HTTP client library.
#ifndef TEST_HTTP_H
#define TEST_HTTP_H

#include <stddef.h>

#include "test_port.h"     //  test_free_port, which tests took from here

//  GET http://host:port/path (host numeric).  On success returns 0 with the status code
//  and the body (NUL-terminated, cut to cap) filled in; -1 on a connect, send, receive or
//  parse failure or when timeout_ms passed.
int test_http_get(const char *host, int port, const char *path, int timeout_ms, int *status,
                  char *body, size_t cap);

//  As test_http_get with another method (no body: Content-Length 0), e.g. "POST".
int test_http_request(const char *host, int port, const char *method, const char *path,
                      int timeout_ms, int *status, char *body, size_t cap);

#endif
