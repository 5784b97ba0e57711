//  ctim_thread_test: the library-thread mode -- the fake node on a thread of its own, the
//  library's thread running every callback, requests from several application threads at
//  once and from callbacks, the wake-up when a request brings a deadline nearer, destroy
//  while callbacks run, and no spinning once the login was refused.
//
//  What the callbacks record is guarded by the test's own mutex; the node's counters are
//  read only after its thread has been joined.
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "fake_node.h"

#define TOLERANCE_MS 150    //  scheduling slack under ASan on a shared 2-core machine
#define PER_THREAD 300      //  requests each application thread makes
#define IDS_MAX 2048
#ifdef __SANITIZE_ADDRESS__
#define S_BUILD ", ASan build"
#else
#define S_BUILD ""
#endif

//  --- The fake node on its own thread ---------------------------------------------------------

typedef struct {
    fake_node_t node;
    pthread_t thread;
    atomic_bool stop;
} node_thread_t;

static void *s_node_run(void *arg)
{
    node_thread_t *nt = arg;
    while (!atomic_load(&nt->stop)) {
        zmq_pollitem_t item = {.socket = zsock_resolve(nt->node.router), .events = ZMQ_POLLIN};
        zmq_poll(&item, 1, 10);
        fake_pump(&nt->node);
    }
    return NULL;
}

static void s_node_start(node_thread_t *nt)
{
    atomic_store(&nt->stop, false);
    assert_int_equal(pthread_create(&nt->thread, NULL, s_node_run, nt), 0);
}

static void s_node_join(node_thread_t *nt)
{
    atomic_store(&nt->stop, true);
    pthread_join(nt->thread, NULL);
}

//  --- What the application saw ---------------------------------------------------------------

struct app_s {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ctim_t *ctim;
    int replies;
    int reply_count[IDS_MAX];           //  per request id
    ctim_result_t reply_result[IDS_MAX];
    int not_ok;
    int64_t reply_at[IDS_MAX];
    bool have_cb_thread;
    pthread_t cb_thread;                //  the thread of the first callback
    int foreign_callbacks;              //  callbacks on any other thread
    int open_id;                        //  its reply's callback makes a request
    int from_callback_id;
    int calls;
    int cb_sleep_ms;                    //  each call callback takes this long
    bool destroyed;
    int after_destroy;                  //  callbacks after ctim_destroy returned
    ctim_link_t link;
    int links;
};

static void s_callback_thread(app_t *app)
{
    if (app->destroyed)
        app->after_destroy++;
    if (!app->have_cb_thread) {
        app->have_cb_thread = true;
        app->cb_thread = pthread_self();
    } else if (!pthread_equal(app->cb_thread, pthread_self()))
        app->foreign_callbacks++;
}

static void s_on_reply(ctim_t *c, const ctim_reply_t *r, void *arg)
{
    app_t *app = arg;
    pthread_mutex_lock(&app->mu);
    s_callback_thread(app);
    assert_true(r->request_id > 0 && r->request_id < IDS_MAX);
    app->reply_count[r->request_id]++;
    app->reply_result[r->request_id] = r->result;
    app->reply_at[r->request_id] = zclock_mono();
    app->not_ok += r->result != CTIM_RESULT_OK;
    app->replies++;
    bool request_now = r->request_id == app->open_id;
    pthread_mutex_unlock(&app->mu);
    //  A callback may make requests: the handle's lock is recursive.
    if (request_now) {
        int id = ctim_list_lines(c);
        pthread_mutex_lock(&app->mu);
        app->from_callback_id = id;
        pthread_mutex_unlock(&app->mu);
    }
    pthread_cond_broadcast(&app->cv);
}

static void s_on_call(ctim_t *c, const ctim_call_event_t *ev, void *arg)
{
    (void)c, (void)ev;
    app_t *app = arg;
    pthread_mutex_lock(&app->mu);
    s_callback_thread(app);
    app->calls++;
    int sleep_ms = app->cb_sleep_ms;
    pthread_mutex_unlock(&app->mu);
    pthread_cond_broadcast(&app->cv);
    if (sleep_ms)
        zclock_sleep(sleep_ms);         //  a slow application callback
}

static void s_on_link(ctim_t *c, ctim_link_t link, const char *server, const char *text,
                      void *arg)
{
    (void)c, (void)server, (void)text;
    app_t *app = arg;
    pthread_mutex_lock(&app->mu);
    s_callback_thread(app);
    app->link = link;
    app->links++;
    pthread_mutex_unlock(&app->mu);
    pthread_cond_broadcast(&app->cv);
}

static app_t *s_app_new(void)
{
    app_t *app = calloc(1, sizeof *app);
    assert_non_null(app);
    pthread_mutex_init(&app->mu, NULL);
    pthread_cond_init(&app->cv, NULL);
    return app;
}

static void s_app_destroy(app_t *app)
{
    pthread_cond_destroy(&app->cv);
    pthread_mutex_destroy(&app->mu);
    free(app);
}

//  Wait (on the condition variable, with a deadline) until cond holds; app->mu is held
//  while cond is evaluated.
static bool s_wait(app_t *app, cond_fn *cond, void *arg, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&app->mu);
    bool ok;
    while (!(ok = cond(app, arg)))
        if (pthread_cond_timedwait(&app->cv, &app->mu, &until) != 0) {
            ok = cond(app, arg);
            break;
        }
    pthread_mutex_unlock(&app->mu);
    return ok;
}

static bool s_has_reply(app_t *app, void *arg)
{
    int id = *(int *)arg;
    return id > 0 && id < IDS_MAX && app->reply_count[id] > 0;
}

static bool s_replies_reach(app_t *app, void *arg)
{
    return app->replies >= *(int *)arg;
}

static bool s_calls_reach(app_t *app, void *arg)
{
    return app->calls >= *(int *)arg;
}

static bool s_link_is(app_t *app, void *arg)
{
    return app->links > 0 && app->link == *(ctim_link_t *)arg;
}

static bool s_callback_made_request_answered(app_t *app, void *arg)
{
    (void)arg;
    return app->from_callback_id > 0 && app->from_callback_id < IDS_MAX &&
           app->reply_count[app->from_callback_id] > 0;
}

static ctim_t *s_new(app_t *app, const char *endpoint, uint32_t heartbeat_ms)
{
    ctim_cfg_t cfg;
    fake_cfg(&cfg, endpoint, heartbeat_ms, app);
    cfg.on_reply = s_on_reply;
    cfg.on_call = s_on_call;
    cfg.on_link = s_on_link;
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    app->ctim = c;
    return c;
}

//  --- Tests ----------------------------------------------------------------------------------

typedef struct {
    ctim_t *ctim;
    pthread_barrier_t *start;
    int ids[PER_THREAD];
    pthread_t self;
} worker_t;

static void *s_worker(void *arg)
{
    worker_t *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < PER_THREAD; i++)
        w->ids[i] = i % 2 ? ctim_hold(w->ctim, "101", "c1") : ctim_make_call(w->ctim, "101", "102");
    return NULL;
}

static int s_int_cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void two_threads_make_requests_at_once(void **state)
{
    (void)state;
    node_thread_t nt;
    fake_start(&nt.node, "a");
    app_t *app = s_app_new();
    ctim_t *c = s_new(app, nt.node.endpoint, 500);
    assert_int_equal(ctim_start_thread(c), -ENOTCONN);         //  connect first
    s_node_start(&nt);
    assert_int_equal(ctim_connect(c), 0);
    //  The open's reply callback makes a request of its own.  (No ctim call with app->mu
    //  held: callbacks take app->mu under the handle's lock, the other order would deadlock.)
    int open_id = ctim_open_line(c, "101", NULL);
    pthread_mutex_lock(&app->mu);
    app->open_id = open_id;         //  no reply before the thread runs: nothing dispatches
    pthread_mutex_unlock(&app->mu);
    assert_true(open_id > 0);
    assert_int_equal(ctim_start_thread(c), 0);
    assert_int_equal(ctim_start_thread(c), -EALREADY);
    assert_int_equal(ctim_dispatch(c), -EBUSY);
    assert_int_equal(ctim_timeout_ms(c), -1);
    assert_true(s_wait(app, s_has_reply, &open_id, 3000));
    assert_true(s_wait(app, s_callback_made_request_answered, NULL, 2000));

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    worker_t w[2] = {{.ctim = c, .start = &start}, {.ctim = c, .start = &start}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&w[i].self, NULL, s_worker, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i].self, NULL);
    pthread_barrier_destroy(&start);
    int total = 2 + 2 * PER_THREAD;     //  open, list lines from the callback, the workers'
    int64_t t0 = zclock_mono();
    assert_true(s_wait(app, s_replies_reach, &total, 20000));
    printf("# %d requests from two threads answered %lld ms after the last was made\n",
           2 * PER_THREAD, (long long)(zclock_mono() - t0));

    //  Every id distinct, every one answered exactly once, OK, on the library's thread.
    int ids[2 * PER_THREAD];
    memcpy(ids, w[0].ids, sizeof w[0].ids);
    memcpy(ids + PER_THREAD, w[1].ids, sizeof w[1].ids);
    qsort(ids, 2 * PER_THREAD, sizeof *ids, s_int_cmp);
    pthread_mutex_lock(&app->mu);
    for (int i = 0; i < 2 * PER_THREAD; i++) {
        assert_true(ids[i] > 0 && ids[i] < IDS_MAX);
        if (i)
            assert_true(ids[i] > ids[i - 1]);
        assert_int_equal(app->reply_count[ids[i]], 1);
        assert_int_equal(app->reply_result[ids[i]], CTIM_RESULT_OK);
    }
    assert_int_equal(app->replies, total);
    assert_int_equal(app->not_ok, 0);
    assert_int_equal(app->foreign_callbacks, 0);
    assert_true(app->have_cb_thread);
    assert_false(pthread_equal(app->cb_thread, pthread_self()));
    assert_false(pthread_equal(app->cb_thread, w[0].self));
    assert_false(pthread_equal(app->cb_thread, w[1].self));
    pthread_mutex_unlock(&app->mu);
    assert_true(ctim_is_up(c));
    ctim_destroy(&c);
    s_node_join(&nt);
    assert_int_equal(nt.node.requests, total);
    assert_int_equal(nt.node.op_count[PROTO_OP_LIST_LINES], 1);
    fake_stop(&nt.node);
    s_app_destroy(app);
}

//  A request made while the library thread sleeps toward a far timer (the next heartbeat, two
//  seconds away) brings a nearer deadline: the thread must wake and answer TIMEOUT on time.
//  Then the round trip of requests made from this thread, through the library thread.
static void request_from_another_thread_wakes_library_thread(void **state)
{
    (void)state;
    node_thread_t nt;
    fake_start(&nt.node, "a");
    nt.node.hold_requests = true;
    app_t *app = s_app_new();
    ctim_cfg_t cfg;
    fake_cfg(&cfg, nt.node.endpoint, 2000, app);
    cfg.request_timeout_ms = 300;
    cfg.on_reply = s_on_reply;
    cfg.on_link = s_on_link;
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    s_node_start(&nt);
    assert_int_equal(ctim_connect(c), 0);
    assert_int_equal(ctim_start_thread(c), 0);
    ctim_link_t up = CTIM_LINK_UP;
    assert_true(s_wait(app, s_link_is, &up, 3000));
    zclock_sleep(50);       //  let the library thread settle into its long poll
    int64_t t0 = zclock_mono();
    int id = ctim_make_call(c, "101", "102");
    assert_true(s_wait(app, s_has_reply, &id, 3000));
    pthread_mutex_lock(&app->mu);
    int64_t took = app->reply_at[id] - t0;
    assert_int_equal(app->reply_result[id], CTIM_RESULT_TIMEOUT);
    pthread_mutex_unlock(&app->mu);
    printf("# TIMEOUT %lld ms after the request (request_timeout_ms 300, heartbeat 2000)\n",
           (long long)took);
    assert_true(took >= 300 - 1 && took <= 300 + TOLERANCE_MS);
    ctim_destroy(&c);
    s_node_join(&nt);
    fake_stop(&nt.node);
    s_app_destroy(app);
}

static int64_t s_mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int s_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void round_trip_through_library_thread(void **state)
{
    (void)state;
    node_thread_t nt;
    fake_start(&nt.node, "a");
    app_t *app = s_app_new();
    ctim_t *c = s_new(app, nt.node.endpoint, 1000);
    s_node_start(&nt);
    assert_int_equal(ctim_connect(c), 0);
    assert_int_equal(ctim_start_thread(c), 0);
    enum { N = 200 };
    int64_t rtt_us[N];
    for (int i = 0; i < N; i++) {
        int64_t t0 = s_mono_us();
        int id = ctim_hold(c, "101", "c1");
        assert_true(s_wait(app, s_has_reply, &id, 3000));
        rtt_us[i] = s_mono_us() - t0;
    }
    qsort(rtt_us, N, sizeof *rtt_us, s_i64_cmp);
    printf("# request round trip through the library thread: median %lld us, p99 %lld us, "
           "max %lld us (%d requests%s)\n",
           (long long)rtt_us[N / 2], (long long)rtt_us[N * 99 / 100], (long long)rtt_us[N - 1],
           N, S_BUILD);
    //  Far below a heartbeat: a reply is never left waiting for the next timer.
    assert_true(rtt_us[N * 99 / 100] < 500 * 1000);
    ctim_destroy(&c);
    s_node_join(&nt);
    fake_stop(&nt.node);
    s_app_destroy(app);
}

//  ctim_destroy while the library thread is in the middle of slow callbacks: it waits for the
//  turn under way (a few callbacks, not the whole backlog), stops the thread, and no callback
//  runs after it returned.
static void destroy_while_callbacks_run(void **state)
{
    (void)state;
    node_thread_t nt;
    fake_start(&nt.node, "a");
    app_t *app = s_app_new();
    app->cb_sleep_ms = 5;
    ctim_t *c = s_new(app, nt.node.endpoint, 500);
    s_node_start(&nt);
    assert_int_equal(ctim_connect(c), 0);
    assert_int_equal(ctim_start_thread(c), 0);
    //  Each make call brings a reply and a call event (whose callback is slow).
    for (int i = 0; i < 200; i++)
        assert_true(ctim_make_call(c, "101", "102") > 0);
    int some = 10;
    assert_true(s_wait(app, s_calls_reach, &some, 5000));
    int64_t t0 = zclock_mono();
    ctim_destroy(&c);
    int64_t took = zclock_mono() - t0;
    pthread_mutex_lock(&app->mu);
    app->destroyed = true;
    int calls = app->calls;
    pthread_mutex_unlock(&app->mu);
    printf("# destroy with callbacks running took %lld ms (%d of 200 call events seen)\n",
           (long long)took, calls);
    assert_null(c);
    //  The backlog (about 190 slow callbacks, near a second) is not worked off first.
    assert_true(took < 400);
    assert_true(calls < 100);
    zclock_sleep(100);
    pthread_mutex_lock(&app->mu);
    assert_int_equal(app->after_destroy, 0);
    assert_int_equal(app->calls, calls);
    assert_int_equal(app->foreign_callbacks, 0);
    pthread_mutex_unlock(&app->mu);
    s_node_join(&nt);
    fake_stop(&nt.node);
    s_app_destroy(app);
}

//  A refused login stops the session; the library thread then waits quietly for destroy
//  (the unread DEALER must not make it spin).
static void login_refused_thread_waits_without_spinning(void **state)
{
    (void)state;
    node_thread_t nt;
    fake_start(&nt.node, "a");
    nt.node.reject_login = true;
    app_t *app = s_app_new();
    ctim_t *c = s_new(app, nt.node.endpoint, 200);
    s_node_start(&nt);
    assert_int_equal(ctim_connect(c), 0);
    assert_int_equal(ctim_start_thread(c), 0);
    ctim_link_t failed = CTIM_LINK_LOGIN_FAILED;
    assert_true(s_wait(app, s_link_is, &failed, 3000));
    assert_int_equal(ctim_make_call(c, "101", "102"), -ENOTCONN);
    //  The node still says something: frames nobody will read must not keep the thread
    //  busy.
    s_node_join(&nt);
    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_HEARTBEAT);
    fake_send(&nt.node, nt.node.peer, &m);
    fake_send(&nt.node, nt.node.peer, &m);
    pthread_mutex_lock(&app->mu);
    pthread_t lib = app->cb_thread;
    pthread_mutex_unlock(&app->mu);
    clockid_t cpu;
    assert_int_equal(pthread_getcpuclockid(lib, &cpu), 0);
    struct timespec a, b;
    clock_gettime(cpu, &a);
    zclock_sleep(300);
    clock_gettime(cpu, &b);
    int64_t used_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("# library thread used %lld ms of CPU in 300 ms after the refused login\n",
           (long long)used_ms);
    assert_true(used_ms < 30);
    ctim_destroy(&c);
    assert_int_equal(nt.node.hellos, 1);
    fake_stop(&nt.node);
    s_app_destroy(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_threads_make_requests_at_once),
        cmocka_unit_test(request_from_another_thread_wakes_library_thread),
        cmocka_unit_test(round_trip_through_library_thread),
        cmocka_unit_test(destroy_while_callbacks_run),
        cmocka_unit_test(login_refused_thread_waits_without_spinning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
