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
} test_proc_t;

//  Start argv[0] (a path) with argv; wait up to timeout_ms for a stdout line starting with
//  ready_prefix.  Returns 0, or -1 (the child is stopped, the reason printed).
int test_proc_start(test_proc_t *proc, char *const argv[], const char *ready_prefix,
                    int timeout_ms);
//  SIGTERM, wait up to 3 s, then SIGKILL.  Returns the exit status (as waitpid's), or -1.
int test_proc_stop(test_proc_t *proc);
//  SIGKILL at once (a node's sudden death).
void test_proc_kill(test_proc_t *proc);
//  Value of "key=" in the ready line (e.g. "port"), copied into out; false if absent.
bool test_proc_ready_value(const test_proc_t *proc, const char *key, char *out, size_t cap);

//  Monotonic milliseconds, for deadlines.
long long test_now_ms(void);

#endif
