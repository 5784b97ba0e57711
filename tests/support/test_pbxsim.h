//  test_pbxsim: a pbxsim child process for integration tests: start it on a free port,
//  drive its control socket, read its JSON answers.
#ifndef TEST_PBXSIM_H
#define TEST_PBXSIM_H

#include "test_proc.h"

typedef struct {
    test_proc_t proc;
    int port;
    char ctl[100];                  //  fits sockaddr_un.sun_path
} test_pbxsim_t;

//  Start pbxsim (path from the CTIM_PBXSIM compile definition) with extra arguments
//  (NULL-terminated list), listening on 127.0.0.1 on a port it picks.  Returns 0 or -1.
int test_pbxsim_start(test_pbxsim_t *sim, const char *const *extra_args);
int test_pbxsim_stop(test_pbxsim_t *sim);

//  Send a control command ("answer 102"); the JSON reply goes into reply.  Returns 0 if
//  the reply says ok.
int test_pbxsim_ctl(test_pbxsim_t *sim, char *reply, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

//  Integer value of "key": in a JSON reply (first occurrence), or `fallback`.
long test_json_long(const char *json, const char *key, long fallback);

#endif
