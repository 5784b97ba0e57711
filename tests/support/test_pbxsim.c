//  test_pbxsim: pbxsim for integration tests (test_pbxsim.h).
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_pbxsim.h"

int test_pbxsim_start(test_pbxsim_t *sim, const char *const *extra_args)
{
    memset(sim, 0, sizeof *sim);
    static char ctl[100];
    snprintf(ctl, sizeof ctl, "/tmp/pbxsim-test-%d-%ld.sock", (int) getpid(), (long) test_now_ms());
    const char *argv[64] = {CTIM_PBXSIM, "--listen", "127.0.0.1:0", "--ctl", ctl};
    int argc = 5;
    for (int i = 0; extra_args && extra_args[i] && argc < 62; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;
    if (test_proc_start(&sim->proc, (char *const *) argv, "pbxsim ready", 10000))
        return -1;
    char port[16];
    if (!test_proc_ready_value(&sim->proc, "port", port, sizeof port) ||
        !test_proc_ready_value(&sim->proc, "ctl", sim->ctl, sizeof sim->ctl)) {
        test_proc_stop(&sim->proc);
        return -1;
    }
    sim->port = atoi(port);
    return 0;
}

int test_pbxsim_stop(test_pbxsim_t *sim)
{
    return test_proc_stop(&sim->proc);
}

int test_pbxsim_ctl(test_pbxsim_t *sim, char *reply, size_t cap, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int) sizeof line - 1)
        return -1;
    line[n++] = '\n';
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sim->ctl);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0) {
        if (fd >= 0)
            close(fd);
        snprintf(reply, cap, "{\"ok\":false,\"error\":\"cannot reach pbxsim: %s\"}", strerror(errno));
        return -1;
    }
    if (write(fd, line, (size_t) n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got < cap - 1 && (r = read(fd, reply + got, cap - 1 - got)) > 0)
        got += (size_t) r;
    reply[got] = '\0';
    close(fd);
    return strstr(reply, "\"ok\":true") ? 0 : -1;
}

long test_json_long(const char *json, const char *key, long fallback)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(json, pattern);
    return p ? strtol(p + strlen(pattern), NULL, 10) : fallback;
}
