//  test_netns: network namespaces for partition tests (test_netns.h).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_netns.h"

//  Run test_netns.sh with arguments; its exit code, or -1.
static int s_script(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_script(const char *fmt, ...)
{
    char args[256], cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", CTIM_NETNS_SH, args);
    int status = system(cmd);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int test_netns_check(void)
{
    int rc = s_script("check");
    if (rc == 0)
        return 0;
    if (rc != 77)
        printf("test_netns: %s check failed (exit %d)\n", CTIM_NETNS_SH, rc);
    fflush(stdout);
    return 77;
}

int test_netns_up(test_netns_t *net, int nodes)
{
    static int counter;
    memset(net, 0, sizeof *net);
    net->home_fd = -1;
    if (nodes < 1 || nodes > TEST_NETNS_NODES_MAX)
        return -1;
    snprintf(net->name, sizeof net->name, "ctimt-%d-%d", (int) getpid(), ++counter);
    net->nodes = nodes;
    if (s_script("up %s %d", net->name, nodes) != 0) {
        fprintf(stderr, "test_netns: cannot set up %s\n", net->name);
        net->name[0] = '\0';
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s-hub", net->name);
    net->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int hub = open(path, O_RDONLY | O_CLOEXEC);
    if (net->home_fd < 0 || hub < 0 || setns(hub, CLONE_NEWNET) != 0) {
        fprintf(stderr, "test_netns: cannot enter %s: %s\n", path, strerror(errno));
        if (hub >= 0)
            close(hub);
        test_netns_down(net);
        return -1;
    }
    close(hub);
    return 0;
}

void test_netns_down(test_netns_t *net)
{
    if (net->home_fd >= 0) {
        if (setns(net->home_fd, CLONE_NEWNET) != 0)
            fprintf(stderr, "test_netns: cannot go home: %s\n", strerror(errno));
        close(net->home_fd);
        net->home_fd = -1;
    }
    if (net->name[0] && s_script("down %s", net->name) != 0)
        fprintf(stderr, "test_netns: could not remove %s-*\n", net->name);
    net->name[0] = '\0';
}

int test_netns_cut(test_netns_t *net, int node)
{
    return net->name[0] && node >= 0 && node < net->nodes &&
                   s_script("cut %s %d", net->name, node) == 0
               ? 0
               : -1;
}

int test_netns_heal(test_netns_t *net, int node)
{
    return net->name[0] && node >= 0 && node < net->nodes &&
                   s_script("heal %s %d", net->name, node) == 0
               ? 0
               : -1;
}

void test_netns_node(const test_netns_t *net, int node, char *ns, size_t ns_cap)
{
    snprintf(ns, ns_cap, "%s-n%d", net->name, node);
}

void test_netns_pbx_addr(int node, char *out, size_t cap)
{
    snprintf(out, cap, "10.77.0.%d", 11 + node);
}

void test_netns_bus_addr(int node, char *out, size_t cap)
{
    snprintf(out, cap, "10.78.0.%d", 11 + node);
}

const char *test_netns_ip(void)
{
    static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}
