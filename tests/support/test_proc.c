//  test_proc: child processes for integration tests (test_proc.h).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_proc.h"

long long test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int test_proc_spawn(test_proc_t *proc, char *const argv[])
{
    memset(proc, 0, sizeof *proc);
    proc->pid = -1;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        //  Die with the test runner (CTest's timeout kills only the test), so a killed test
        //  leaves no process behind.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], argv);
        fprintf(stderr, "test_proc: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    proc->pid = pid;
    proc->out_fd = pipefd[0];
    return 0;
}

int test_proc_poll_ready(test_proc_t *proc, const char *ready_prefix)
{
    for (;;) {
        struct pollfd p = {.fd = proc->out_fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            return 0;
        char ch;
        if (read(proc->out_fd, &ch, 1) != 1)
            return -1;      //  the child exited before it was ready
        if (ch != '\n') {
            if (proc->line_used < sizeof proc->line - 1)
                proc->line[proc->line_used++] = ch;
            continue;
        }
        proc->line[proc->line_used] = '\0';
        proc->line_used = 0;
        if (strncmp(proc->line, ready_prefix, strlen(ready_prefix)) == 0) {
            snprintf(proc->ready, sizeof proc->ready, "%s", proc->line);
            return 1;
        }
    }
}

int test_proc_start(test_proc_t *proc, char *const argv[], const char *ready_prefix,
                    int timeout_ms)
{
    if (test_proc_spawn(proc, argv) != 0)
        return -1;
    long long deadline = test_now_ms() + timeout_ms;
    while (test_now_ms() < deadline) {
        struct pollfd p = {.fd = proc->out_fd, .events = POLLIN};
        if (poll(&p, 1, (int) (deadline - test_now_ms())) <= 0)
            break;
        int rc = test_proc_poll_ready(proc, ready_prefix);
        if (rc == 1)
            return 0;
        if (rc < 0)
            break;
    }
    fprintf(stderr, "test_proc: %s did not print '%s' within %d ms\n", argv[0], ready_prefix,
            timeout_ms);
    test_proc_stop(proc);
    return -1;
}

int test_proc_reap(test_proc_t *proc, int *status)
{
    if (proc->pid <= 0)
        return -1;
    int st = 0;
    pid_t r = waitpid(proc->pid, &st, WNOHANG);
    if (r == 0)
        return 0;
    if (r != proc->pid)
        return -1;
    if (status)
        *status = st;
    close(proc->out_fd);
    proc->pid = -1;
    return 1;
}

int test_proc_stop(test_proc_t *proc)
{
    if (proc->pid <= 0)
        return -1;
    int status = -1;
    kill(proc->pid, SIGTERM);
    long long deadline = test_now_ms() + 3000;
    while (test_now_ms() < deadline) {
        pid_t r = waitpid(proc->pid, &status, WNOHANG);
        if (r == proc->pid)
            goto done;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);   //  polling the child's exit; bounded by the deadline
    }
    kill(proc->pid, SIGKILL);
    waitpid(proc->pid, &status, 0);
done:
    close(proc->out_fd);
    proc->pid = -1;
    return status;
}

void test_proc_kill(test_proc_t *proc)
{
    if (proc->pid <= 0)
        return;
    kill(proc->pid, SIGKILL);
    waitpid(proc->pid, NULL, 0);
    close(proc->out_fd);
    proc->pid = -1;
}

bool test_proc_ready_value(const test_proc_t *proc, const char *key, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s=", key);
    const char *p = strstr(proc->ready, pattern);
    if (!p)
        return false;
    p += strlen(pattern);
    size_t n = strcspn(p, " ");
    if (n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}
