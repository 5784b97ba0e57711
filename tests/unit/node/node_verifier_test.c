//  node_verifier tests: password checks on the worker thread answered from the loop, each
//  exactly once and never from inside the call; identical checks sharing one run;
//  cancelled ones never; a full queue refused at once; destroy with checks out.  The loop runs until a condition or a deadline.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <inttypes.h>

#include "node_users.h"
#include "node_verifier.h"

//  Python's hashlib.pbkdf2_hmac('sha256', b'crm-secret', salt, 100000) (node_users_test).
#define CRM_HASH                                                                                 \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="
#define CHECKS 12
#define WAIT_MS 20000

typedef struct {
    zloop_t *loop;
    int calls[CHECKS];
    bool verified[CHECKS];
    int answered;
    int expect;                     //  answers to wait for
    node_verifier_t *idle;          //  or: until this one has nothing out
    int64_t deadline;
} fx_t;

typedef struct {
    fx_t *f;
    int i;
} s_arg_t;

static void s_done(void *arg, bool verified)
{
    s_arg_t *a = arg;
    a->f->calls[a->i]++;
    a->f->verified[a->i] = verified;
    a->f->answered++;
}

static int s_check(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fx_t *f = arg;
    bool met = f->idle ? node_verifier_queued(f->idle) == 0 : f->answered >= f->expect;
    return met || zclock_mono() >= f->deadline ? -1 : 0;
}

//  Run the loop until expect answers came (or the deadline).
static void s_run(fx_t *f, int expect)
{
    f->expect = expect;
    f->deadline = zclock_mono() + WAIT_MS;
    int t = zloop_timer(f->loop, 1, 0, s_check, f);
    zloop_start(f->loop);
    zloop_timer_end(f->loop, t);
}

//  Odd checks have the wrong password; every answer is right, comes once, and none came
//  from inside node_verifier_check.
static void many_checks_are_answered_once_and_right(void **state)
{
    (void) state;
    fx_t f = {.loop = zloop_new()};
    node_verifier_t *v = node_verifier_new(f.loop, 0);
    assert_non_null(v);
    assert_int_equal(node_verifier_queue_max(v), NODE_VERIFIER_QUEUE_MAX);
    s_arg_t args[CHECKS];
    for (int i = 0; i < CHECKS; i++) {
        args[i] = (s_arg_t){&f, i};
        int64_t id = node_verifier_check(v, CRM_HASH, i % 2 ? "wrong" : "crm-secret", s_done,
                                         &args[i]);
        assert_true(id > 0);
    }
    assert_int_equal(f.answered, 0);
    //  Identical checks join one run: two passwords, two PBKDF2 runs for twelve logins.
    assert_int_equal(node_verifier_queued(v), 2);
    assert_int_equal(node_verifier_waiting(v), CHECKS);
    s_run(&f, CHECKS);
    assert_int_equal(f.answered, CHECKS);
    for (int i = 0; i < CHECKS; i++) {
        assert_int_equal(f.calls[i], 1);
        assert_int_equal(f.verified[i], i % 2 == 0);
    }
    assert_int_equal(node_verifier_queued(v), 0);
    assert_int_equal(node_verifier_waiting(v), 0);
    //  A malformed hash is simply not verified.
    s_arg_t bad = {&f, 0};
    f.calls[0] = 0;
    assert_true(node_verifier_check(v, "pbkdf2-sha256$1$x$y", "crm-secret", s_done, &bad) > 0);
    s_run(&f, CHECKS + 1);
    assert_int_equal(f.calls[0], 1);
    assert_false(f.verified[0]);
    node_verifier_destroy(&v);
    node_verifier_destroy(&v);
    zloop_destroy(&f.loop);
}

//  A cancelled check (its session went) is never answered; the others are, those that
//  joined its run included.  A run nobody wants any more is cancelled at the worker, and a
//  later identical check does not join it (a cancelled run answers "not verified"): it gets
//  its own run and the right answer.
static void cancelled_check_is_never_answered(void **state)
{
    (void) state;
    fx_t f = {.loop = zloop_new()};
    node_verifier_t *v = node_verifier_new(f.loop, 0);
    s_arg_t args[5];
    int64_t id[5];
    for (int i = 0; i < 3; i++) {
        args[i] = (s_arg_t){&f, i};
        id[i] = node_verifier_check(v, CRM_HASH, "crm-secret", s_done, &args[i]);
        assert_true(id[i] > 0);
    }
    node_verifier_cancel(v, id[0]);         //  the one that sent the run: it goes on
    node_verifier_cancel(v, id[1]);
    node_verifier_cancel(v, id[1]);         //  twice, and unknown ids: nothing
    node_verifier_cancel(v, 999999);
    assert_int_equal(node_verifier_queued(v), 1);
    s_run(&f, 1);
    assert_int_equal(f.calls[0], 0);
    assert_int_equal(f.calls[1], 0);
    assert_int_equal(f.calls[2], 1);
    assert_true(f.verified[2]);
    assert_int_equal(node_verifier_queued(v), 0);
    assert_int_equal(node_verifier_waiting(v), 0);

    //  Every check of a run cancelled; the same check again is a run of its own.
    args[3] = (s_arg_t){&f, 3};
    args[4] = (s_arg_t){&f, 4};
    id[3] = node_verifier_check(v, CRM_HASH, "crm-secret", s_done, &args[3]);
    node_verifier_cancel(v, id[3]);
    id[4] = node_verifier_check(v, CRM_HASH, "crm-secret", s_done, &args[4]);
    assert_true(id[4] > 0);
    assert_int_equal(node_verifier_queued(v), 2);
    s_run(&f, 2);
    assert_int_equal(f.calls[3], 0);
    assert_int_equal(f.calls[4], 1);
    assert_true(f.verified[4]);
    f.idle = v;
    s_run(&f, 0);
    assert_int_equal(node_verifier_waiting(v), 0);
    node_verifier_destroy(&v);
    zloop_destroy(&f.loop);
}

//  Many identical checks (a failover's logins) beyond the bound on runs: they all join the
//  one run, none is refused, each is answered once.
static void identical_checks_beyond_the_bound_share_one_run(void **state)
{
    (void) state;
    fx_t f = {.loop = zloop_new()};
    node_verifier_t *v = node_verifier_new(f.loop, 2);
    enum { MANY = 40 };
    int calls[MANY] = {0};
    s_arg_t args[CHECKS];
    for (int i = 0; i < CHECKS; i++)
        args[i] = (s_arg_t){&f, i};
    for (int i = 0; i < MANY; i++)
        assert_true(node_verifier_check(v, CRM_HASH, "crm-secret", s_done,
                                        &args[i % CHECKS]) > 0);
    assert_int_equal(node_verifier_queued(v), 1);
    assert_int_equal(node_verifier_waiting(v), MANY);
    s_run(&f, MANY);
    for (int i = 0; i < MANY; i++)
        calls[i % CHECKS]++;
    for (int i = 0; i < CHECKS; i++) {
        assert_int_equal(f.calls[i], calls[i]);
        assert_true(f.verified[i]);
    }
    assert_int_equal(node_verifier_waiting(v), 0);
    node_verifier_destroy(&v);
    zloop_destroy(&f.loop);
}

//  Beyond the bound a check is refused at once; once answered there is room again.
static void full_queue_is_refused_at_once(void **state)
{
    (void) state;
    fx_t f = {.loop = zloop_new()};
    node_verifier_t *v = node_verifier_new(f.loop, 2);
    s_arg_t args[4] = {{&f, 0}, {&f, 1}, {&f, 2}, {&f, 3}};
    //  Different passwords: a run each (identical ones would join).
    assert_true(node_verifier_check(v, CRM_HASH, "crm-secret", s_done, &args[0]) > 0);
    int64_t second = node_verifier_check(v, CRM_HASH, "wrong-1", s_done, &args[1]);
    assert_true(second > 0);
    node_verifier_cancel(v, second);        //  cancelled still counts: the thread runs it
    assert_int_equal(node_verifier_check(v, CRM_HASH, "wrong-2", s_done, &args[2]), -EBUSY);
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(node_verifier_check(v, CRM_HASH, big, s_done, &args[2]), -EINVAL);
    s_run(&f, 1);
    assert_int_equal(f.calls[0], 1);
    //  The cancelled check's DONE follows: then there is room for two again.
    f.idle = v;
    s_run(&f, 0);
    f.idle = NULL;
    assert_int_equal(node_verifier_queued(v), 0);
    assert_true(node_verifier_check(v, CRM_HASH, "wrong", s_done, &args[3]) > 0);
    s_run(&f, 2);
    assert_int_equal(f.calls[3], 1);
    assert_false(f.verified[3]);
    assert_null(node_verifier_new(f.loop, 501));    //  the pipe could not hold them
    node_verifier_destroy(&v);
    zloop_destroy(&f.loop);
}

//  Destroy with checks queued and running: it waits for the one running (< 1 s) and calls
//  nobody back.
static void destroy_with_checks_out_calls_nobody(void **state)
{
    (void) state;
    fx_t f = {.loop = zloop_new()};
    node_verifier_t *v = node_verifier_new(f.loop, 0);
    s_arg_t args[CHECKS];
    for (int i = 0; i < CHECKS; i++) {
        args[i] = (s_arg_t){&f, i};
        assert_true(node_verifier_check(v, CRM_HASH, "crm-secret", s_done, &args[i]) > 0);
    }
    int64_t t0 = zclock_mono();
    node_verifier_destroy(&v);
    assert_null(v);
    printf("destroy with %d checks out took %" PRId64 " ms\n", CHECKS, zclock_mono() - t0);
    f.deadline = zclock_mono() + 100;
    f.expect = 1;
    int t = zloop_timer(f.loop, 1, 0, s_check, &f);
    zloop_start(f.loop);
    zloop_timer_end(f.loop, t);
    assert_int_equal(f.answered, 0);
    zloop_destroy(&f.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_checks_are_answered_once_and_right),
        cmocka_unit_test(cancelled_check_is_never_answered),
        cmocka_unit_test(identical_checks_beyond_the_bound_share_one_run),
        cmocka_unit_test(full_queue_is_refused_at_once),
        cmocka_unit_test(destroy_with_checks_out_calls_nobody),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
