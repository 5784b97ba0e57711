//  test_proc: integration tests start real programs (pbxsim, ctimd, ctim) as child
//  processes, wait for their ready line (never a fixed sleep), and stop them afterwards,
//  also when the test failed.
#ifndef TEST_PROC_H
#define TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int out_fd;                 //  the child's stdout (stderr goes to the test's stderr)
    char ready[512];            //  the ready line, without the newline
    char line[512];             //  a stdout line being read (test_proc_poll_ready)
    size_t line_used;
} test_proc_t;

//  Start argv[0] (a path) with argv; wait up to timeout_ms for a stdout line starting with
//  ready_prefix.  Returns 0, or -1 (the child is stopped, the reason printed).
int test_proc_start(test_proc_t *proc, char *const argv[], const char *ready_prefix,
                    int timeout_ms);
//  The same in two steps, for a test that must keep its own loop turning meanwhile (a
//  libctim application whose heartbeats must not stop): spawn returns at once (0 or -1);
//  poll reads what stdout has and returns 1 once the ready line came, 0 not yet, -1 when
//  the child exited or closed stdout first.
int test_proc_spawn(test_proc_t *proc, char *const argv[]);
int test_proc_poll_ready(test_proc_t *proc, const char *ready_prefix);
//  Exited yet?  Non-blocking: 1 (reaped, *status as waitpid's, the pipe closed, pid -1),
//  0 still running, -1 no such child.
int test_proc_reap(test_proc_t *proc, int *status);
//  SIGTERM, wait up to 3 s, then SIGKILL.  Returns the exit status (as waitpid's), or -1.
int test_proc_stop(test_proc_t *proc);
//  SIGKILL at once (a node's sudden death).
void test_proc_kill(test_proc_t *proc);
//  Value of "key=" in the ready line (e.g. "port"), copied into out; false if absent.
bool test_proc_ready_value(const test_proc_t *proc, const char *key, char *out, size_t cap);

//  Monotonic milliseconds, for deadlines.
long long test_now_ms(void);

#endif
