//  ctim_client_test: libctim against fake nodes (a ROUTER speaking proto.h inside the test).
//
//  The test drives the library the way an application does: poll on ctim_fd() with
//  ctim_timeout_ms(), then ctim_dispatch().  Timing is measured on the monotonic clock.
#include "fake_node.h"

#define HB_MS 200
#define TOLERANCE_MS 150    //  scheduling slack under ASan on a shared 2-core machine
#define EVENTS_MAX 64

//  --- What the application saw ---------------------------------------------------------------

struct app_s {
    int replies;
    int reply_id[EVENTS_MAX];
    ctim_result_t reply_result[EVENTS_MAX];
    char reply_call_id[EVENTS_MAX][PROTO_CALL_ID_MAX + 1];
    int line_events;
    bool line_in_service[EVENTS_MAX];
    int64_t line_at[EVENTS_MAX];
    int links;
    ctim_link_t link[EVENTS_MAX];
    int calls;
    ctim_call_state_t call_state;
    char call_called[PROTO_NUMBER_MAX + 1];
    char call_called_name[PROTO_NAME_MAX + 1];
    fake_node_t *nodes[4];
    size_t node_count;
};

static void s_on_reply(ctim_t *c, const ctim_reply_t *r, void *arg)
{
    (void)c;
    app_t *app = arg;
    assert_true(app->replies < EVENTS_MAX);
    app->reply_id[app->replies] = r->request_id;
    app->reply_result[app->replies] = r->result;
    snprintf(app->reply_call_id[app->replies], PROTO_CALL_ID_MAX + 1, "%s", r->call_id);
    app->replies++;
}

static void s_on_line(ctim_t *c, const char *line, bool in_service, void *arg)
{
    (void)c;
    app_t *app = arg;
    assert_string_equal(line, "101");
    assert_true(app->line_events < EVENTS_MAX);
    app->line_in_service[app->line_events] = in_service;
    app->line_at[app->line_events] = zclock_mono();
    app->line_events++;
}

static void s_on_link(ctim_t *c, ctim_link_t link, const char *server, const char *text,
                      void *arg)
{
    (void)c, (void)server, (void)text;
    app_t *app = arg;
    assert_true(app->links < EVENTS_MAX);
    app->link[app->links++] = link;
}

static void s_on_call(ctim_t *c, const ctim_call_event_t *ev, void *arg)
{
    (void)c;
    app_t *app = arg;
    app->calls++;
    app->call_state = ev->state;
    snprintf(app->call_called, sizeof app->call_called, "%s", ev->called_number);
    snprintf(app->call_called_name, sizeof app->call_called_name, "%s", ev->called_name);
}

//  The reply for id, or NULL-ish (-1) when none yet; fails on a second reply for one id.
static int s_reply_index(const app_t *app, int id)
{
    int found = -1;
    for (int i = 0; i < app->replies; i++)
        if (app->reply_id[i] == id) {
            assert_int_equal(found, -1);    //  exactly one reply per request
            found = i;
        }
    return found;
}

//  Run the application's loop (and the fake nodes) until cond holds or timeout_ms passes.
static bool s_run_until(ctim_t *c, app_t *app, cond_fn *cond, void *arg, int timeout_ms)
{
    return fake_run_until(c, app->nodes, app->node_count, app, cond, arg, timeout_ms);
}

static bool s_has_reply(app_t *app, void *arg)
{
    return s_reply_index(app, *(int *)arg) >= 0;
}

static bool s_line_is(app_t *app, void *arg)
{
    bool want = *(bool *)arg;
    return app->line_events > 0 && app->line_in_service[app->line_events - 1] == want;
}

static bool s_has_call(app_t *app, void *arg)
{
    (void)arg;
    return app->calls > 0;
}

static ctim_t *s_new(app_t *app, const char *servers)
{
    ctim_cfg_t cfg;
    fake_cfg(&cfg, servers, HB_MS, app);
    cfg.on_reply = s_on_reply;
    cfg.on_line = s_on_line;
    cfg.on_link = s_on_link;
    cfg.on_call = s_on_call;
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    return c;
}

//  Connect, open line 101 (failure number 200) and wait until it is in service.
static void s_login_and_open(ctim_t *c, app_t *app)
{
    assert_int_equal(ctim_connect(c), 0);
    //  Opened before the Welcome: queued, sent once logged in.
    int id = ctim_open_line(c, "101", "200");
    assert_true(id > 0);
    bool in = true;
    assert_true(s_run_until(c, app, s_has_reply, &id, 3000));
    assert_int_equal(app->reply_result[s_reply_index(app, id)], CTIM_RESULT_OK);
    assert_true(s_run_until(c, app, s_line_is, &in, 1000));
    assert_int_equal(app->link[0], CTIM_LINK_UP);
}

//  --- Tests ----------------------------------------------------------------------------------

static void new_rejects_unusable_config(void **state)
{
    (void)state;
    ctim_cfg_t cfg;
    ctim_cfg_init(&cfg);
    assert_int_equal(cfg.heartbeat_ms, 1000);
    assert_int_equal(cfg.failback_after_ms, 0);
    cfg.user = "app";
    assert_null(ctim_new(&cfg));                        //  no servers
    cfg.servers = "tcp://a:2748,";
    assert_null(ctim_new(&cfg));                        //  trailing comma
    cfg.servers = "http://a:2748";
    assert_null(ctim_new(&cfg));                        //  not a ZeroMQ endpoint
    cfg.servers = "tcp://a:2748, tcp://b:2748";
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    assert_null(ctim_server(c));
    //  Before ctim_connect a request cannot be made: an error, not a silent id.
    assert_int_equal(ctim_open_line(c, "101", NULL), -ENOTCONN);
    assert_int_equal(ctim_dispatch(c), -ENOTCONN);
    assert_int_equal(ctim_connect(c), 0);
    assert_int_equal(ctim_connect(c), -EALREADY);
    assert_string_equal(ctim_server(c), "tcp://a:2748");
    assert_int_equal(ctim_open_line(c, "", NULL), -EINVAL);
    assert_int_equal(ctim_make_call(c, "101", NULL), -EINVAL);
    ctim_destroy(&c);
    ctim_destroy(&c);
    assert_null(c);
    assert_string_equal(ctim_result_str(CTIM_RESULT_SERVER_LOST), "server-lost");
    assert_string_equal(ctim_call_state_str(CTIM_CALL_RINGBACK), "ringback");
}

static void connect_login_request_gets_reply_and_call_event(void **state)
{
    (void)state;
    fake_node_t a;
    fake_start(&a, "a");
    app_t app = {.nodes = {&a}, .node_count = 1};
    ctim_t *c = s_new(&app, a.endpoint);
    s_login_and_open(c, &app);
    assert_int_equal(a.hellos, 1);
    assert_int_equal(a.opens, 1);
    assert_string_equal(a.last_open_failure, "200");
    assert_true(ctim_is_up(c));

    int id = ctim_make_call(c, "101", "0301234567");
    assert_true(id > 0);
    assert_true(s_run_until(c, &app, s_has_reply, &id, 2000));
    int i = s_reply_index(&app, id);
    assert_int_equal(app.reply_result[i], CTIM_RESULT_OK);
    assert_string_equal(app.reply_call_id[i], "c1");
    //  The call event arrives right behind the reply.
    assert_true(s_run_until(c, &app, s_has_call, NULL, 1000));
    assert_int_equal(app.calls, 1);
    assert_int_equal(app.call_state, CTIM_CALL_RINGBACK);
    assert_string_equal(app.call_called, "0301234567");
    assert_string_equal(app.call_called_name, "Alice");

    //  Heartbeats keep the session up well beyond two intervals.
    s_run_until(c, &app, NULL, NULL, 5 * HB_MS);
    assert_true(ctim_is_up(c));
    assert_int_equal(app.links, 1);
    ctim_destroy(&c);
    fake_stop(&a);
}

//  A silent server: lines out of service within two intervals, the request in flight gets
//  SERVER_LOST, the library resumes on the second server and stays there.
static void s_failover(proto_resume_outcome_t outcome)
{
    fake_node_t a, b;
    fake_start(&a, "a");
    fake_start(&b, "b");
    b.resume = outcome;
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    ctim_t *c = s_new(&app, servers);
    s_login_and_open(c, &app);
    assert_string_equal(ctim_server(c), a.endpoint);
    int lines_before = app.line_events;

    a.silent = true;
    int id = ctim_make_call(c, "101", "0301234567");
    assert_true(id > 0);
    bool out = false;
    assert_true(s_run_until(c, &app, s_line_is, &out, 2 * HB_MS + 1000));
    int64_t silent_for = app.line_at[app.line_events - 1] - a.last_tx;
    printf("# lines out of service %lld ms after the server's last message (limit %d + %d)\n",
           (long long)silent_for, 2 * HB_MS, TOLERANCE_MS);
    //  Not before two whole intervals after the last message, not much after.
    assert_true(silent_for >= 2 * HB_MS - 1);
    assert_true(silent_for <= 2 * HB_MS + TOLERANCE_MS);
    assert_int_equal(app.line_events, lines_before + 1);
    //  The request in flight was answered, not left in silence.
    int i = s_reply_index(&app, id);
    assert_true(i >= 0);
    assert_int_equal(app.reply_result[i], CTIM_RESULT_SERVER_LOST);
    assert_int_equal(app.link[app.links - 1], CTIM_LINK_DOWN);

    bool in = true;
    assert_true(s_run_until(c, &app, s_line_is, &in, 3000));
    printf("# line back in service %lld ms after it went out (%s)\n",
           (long long)(app.line_at[app.line_events - 1] - app.line_at[app.line_events - 2]),
           outcome == PROTO_RESUME_NEW_SESSION ? "new session, re-open" : "resumed");
    assert_string_equal(ctim_server(c), b.endpoint);
    assert_int_equal(b.hellos, 1);
    assert_int_equal(b.hellos_with_token, 1);
    if (outcome == PROTO_RESUME_NEW_SESSION) {
        //  A new session: the library re-opened its line, failure number and all.
        assert_int_equal(b.opens, 1);
        assert_string_equal(b.last_open_failure, "200");
    } else
        assert_int_equal(b.opens, 0);           //  resumed: no re-open
    //  The re-open is the library's own: the application saw no extra reply.
    assert_int_equal(app.replies, 2);

    //  A is back, but the library does not fail back on its own (failback_after_ms 0).
    a.silent = false;
    int links = app.links, line_events = app.line_events;
    s_run_until(c, &app, NULL, NULL, 6 * HB_MS);
    assert_int_equal(a.hellos, 1);
    assert_string_equal(ctim_server(c), b.endpoint);
    assert_int_equal(app.links, links);
    assert_int_equal(app.line_events, line_events);
    assert_true(ctim_is_up(c));

    //  And requests go to B.
    id = ctim_make_call(c, "101", "102");
    assert_true(s_run_until(c, &app, s_has_reply, &id, 2000));
    assert_int_equal(app.reply_result[s_reply_index(&app, id)], CTIM_RESULT_OK);
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

static void silent_server_fails_over_and_resumes_without_reopen(void **state)
{
    (void)state;
    s_failover(PROTO_RESUME_RESUMED);
}

static void silent_server_fails_over_and_new_session_reopens_lines(void **state)
{
    (void)state;
    s_failover(PROTO_RESUME_NEW_SESSION);
}

//  The first server in the list does not answer at all: the library logs in to the second.
static void first_server_dead_connects_to_second(void **state)
{
    (void)state;
    fake_node_t b;
    char dead_endpoint[64];
    int dead = fake_dead_endpoint(dead_endpoint, sizeof dead_endpoint);
    fake_start(&b, "b");
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", dead_endpoint, b.endpoint);
    app_t app = {.nodes = {&b}, .node_count = 1};
    ctim_t *c = s_new(&app, servers);
    int64_t t0 = zclock_mono();
    s_login_and_open(c, &app);
    assert_string_equal(ctim_server(c), b.endpoint);
    assert_true(zclock_mono() - t0 < 2 * HB_MS + 1000);
    ctim_destroy(&c);
    fake_stop(&b);
    close(dead);
}

//  With failback_after_ms the library returns to the first server after that long, and
//  really leaves the one it was on (three servers, so that one is not the list's last).
static void failback_after_returns_to_first_server(void **state)
{
    (void)state;
    fake_node_t a, b, c3;
    fake_start(&a, "a");
    fake_start(&b, "b");
    fake_start(&c3, "c");
    char servers[240];
    snprintf(servers, sizeof servers, "%s,%s,%s", a.endpoint, b.endpoint, c3.endpoint);
    app_t app = {.nodes = {&a, &b, &c3}, .node_count = 3};
    ctim_cfg_t cfg;
    fake_cfg(&cfg, servers, HB_MS, &app);
    cfg.failback_after_ms = 600;
    cfg.on_reply = s_on_reply;
    cfg.on_line = s_on_line;
    cfg.on_link = s_on_link;
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    s_login_and_open(c, &app);
    a.silent = true;
    bool in = true;
    //  Out of service, then in service on B.
    assert_true(s_run_until(c, &app, s_line_is, &(bool){false}, 2000));
    assert_true(s_run_until(c, &app, s_line_is, &in, 3000));
    assert_string_equal(ctim_server(c), b.endpoint);
    a.silent = false;
    //  After failback_after_ms on B it goes back to A and resumes there.
    assert_true(s_run_until(c, &app, s_line_is, &(bool){false}, 2000));
    assert_true(s_run_until(c, &app, s_line_is, &in, 3000));
    assert_string_equal(ctim_server(c), a.endpoint);
    assert_int_equal(a.hellos_with_token, 1);
    assert_int_equal(a.opens, 1);       //  only the first open: resumed on the way back
    //  B is left for good: requests go to A only, and C was never needed.
    int b_requests = b.requests;
    for (int k = 0; k < 4; k++) {
        int id = ctim_make_call(c, "101", "102");
        assert_true(s_run_until(c, &app, s_has_reply, &id, 2000));
        assert_int_equal(app.reply_result[s_reply_index(&app, id)], CTIM_RESULT_OK);
    }
    assert_int_equal(a.last_op, PROTO_OP_MAKE_CALL);
    assert_int_equal(b.requests, b_requests);
    assert_int_equal(c3.hellos, 0);
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
    fake_stop(&c3);
}

static bool s_link_is(app_t *app, void *arg)
{
    return app->links > 0 && app->link[app->links - 1] == *(ctim_link_t *)arg;
}

//  A refused login stops the library: no next server, outstanding requests answered.
static void login_refused_stops_and_answers_outstanding_requests(void **state)
{
    (void)state;
    fake_node_t a, b;
    fake_start(&a, "a");
    fake_start(&b, "b");
    a.reject_login = true;
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    ctim_t *c = s_new(&app, servers);
    assert_int_equal(ctim_connect(c), 0);
    int id = ctim_open_line(c, "101", NULL);
    assert_true(id > 0);
    ctim_link_t failed = CTIM_LINK_LOGIN_FAILED;
    assert_true(s_run_until(c, &app, s_link_is, &failed, 2000));
    int i = s_reply_index(&app, id);
    assert_true(i >= 0);
    assert_int_equal(app.reply_result[i], CTIM_RESULT_LOGIN_FAILED);
    assert_int_equal(ctim_dispatch(c), -ENOTCONN);
    assert_int_equal(ctim_make_call(c, "101", "102"), -ENOTCONN);
    assert_int_equal(ctim_timeout_ms(c), -1);
    s_run_until(c, &app, NULL, NULL, 3 * HB_MS);
    assert_int_equal(a.hellos, 1);
    assert_int_equal(b.hellos, 0);
    assert_int_equal(app.replies, 1);
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

//  A node whose login queue is full answers Hello with BUSY: the library goes on to the next
//  server at once (well before the Hello's deadline of two heartbeats) and logs in there.
static void busy_login_goes_to_the_next_server(void **state)
{
    (void)state;
    fake_node_t a, b;
    fake_start(&a, "a");
    fake_start(&b, "b");
    a.busy_login = true;
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    ctim_t *c = s_new(&app, servers);
    int64_t t0 = zclock_mono();
    s_login_and_open(c, &app);
    int64_t took = zclock_mono() - t0;
    assert_string_equal(ctim_server(c), b.endpoint);
    assert_int_equal(a.hellos, 1);
    assert_true(took < 2 * HB_MS);
    printf("Hello answered BUSY by a: logged in on b after %" PRId64 " ms\n", took);
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

//  No server answers: a request still gets its reply, TIMEOUT, after request_timeout_ms.
static void request_without_any_server_times_out(void **state)
{
    (void)state;
    char endpoint[64];
    int dead = fake_dead_endpoint(endpoint, sizeof endpoint);
    app_t app = {.node_count = 0};
    ctim_cfg_t cfg;
    fake_cfg(&cfg, endpoint, HB_MS, &app);
    cfg.request_timeout_ms = 500;
    cfg.on_reply = s_on_reply;
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    assert_int_equal(ctim_connect(c), 0);
    int64_t t0 = zclock_mono();
    int id = ctim_make_call(c, "101", "102");
    assert_true(s_run_until(c, &app, s_has_reply, &id, 2000));
    int64_t took = zclock_mono() - t0;
    assert_int_equal(app.reply_result[s_reply_index(&app, id)], CTIM_RESULT_TIMEOUT);
    assert_true(took >= 500 - 1 && took <= 500 + TOLERANCE_MS);
    assert_false(ctim_is_up(c));
    ctim_destroy(&c);
    close(dead);
}

//  A request made while the library looks for the next server waits and goes there.
static void request_during_failover_is_sent_to_next_server(void **state)
{
    (void)state;
    fake_node_t a, b;
    fake_start(&a, "a");
    fake_start(&b, "b");
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    ctim_t *c = s_new(&app, servers);
    s_login_and_open(c, &app);
    a.silent = true;
    assert_true(s_run_until(c, &app, s_line_is, &(bool){false}, 2000));
    assert_false(ctim_is_up(c));
    int id = ctim_make_call(c, "101", "102");
    assert_true(id > 0);
    assert_true(s_run_until(c, &app, s_has_reply, &id, 3000));
    int i = s_reply_index(&app, id);
    assert_int_equal(app.reply_result[i], CTIM_RESULT_OK);
    assert_string_equal(app.reply_call_id[i], "c1");
    assert_int_equal(b.last_op, PROTO_OP_MAKE_CALL);
    assert_int_equal(a.requests, 1);    //  only the first open reached A
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

//  A new session after a failover: the library re-opens its line, and a request the
//  application made meanwhile waits until that re-open is answered -- the node would
//  answer LINE_NOT_OPEN for a line it does not know as open yet (found by the rolling
//  restart test against real nodes).
static void request_waits_for_the_reopen_of_a_new_session(void **state)
{
    (void)state;
    fake_node_t a, b;
    fake_start(&a, "a");
    fake_start(&b, "b");
    b.resume = PROTO_RESUME_NEW_SESSION;
    b.hold_requests = true;             //  the re-open stays unanswered until we say so
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    ctim_t *c = s_new(&app, servers);
    s_login_and_open(c, &app);
    a.silent = true;
    assert_true(s_run_until(c, &app, s_line_is, &(bool){false}, 2000));
    int id = ctim_get_address_status(c, "101");
    assert_true(id > 0);
    s_run_until(c, &app, NULL, NULL, 3 * HB_MS);
    assert_int_equal(b.opens, 1);
    assert_int_equal(b.requests, 1);    //  only the re-open: the request waits behind it
    assert_int_equal(s_reply_index(&app, id), -1);
    //  Made while the re-open is on its way: it waits too.
    int id2 = ctim_list_lines(c);
    s_run_until(c, &app, NULL, NULL, HB_MS);
    assert_int_equal(b.requests, 1);
    //  The re-open is answered: both go, oldest first, and are answered.
    b.hold_requests = false;
    proto_client_msg_t out;
    proto_client_msg_init(&out, PROTO_MSG_REPLY);
    out.reply.request_id = b.last_of_op[PROTO_OP_OPEN_LINE].request_id;
    out.reply.result = PROTO_RESULT_OK;
    fake_send(&b, b.peer, &out);
    assert_true(s_run_until(c, &app, s_has_reply, &id2, 2000));
    assert_true(s_run_until(c, &app, s_has_reply, &id, 2000));
    assert_int_equal(app.reply_result[s_reply_index(&app, id)], CTIM_RESULT_OK);
    assert_int_equal(b.op_count[PROTO_OP_GET_ADDRESS_STATUS], 1);
    assert_int_equal(b.last_op, PROTO_OP_LIST_LINES);
    assert_true(s_run_until(c, &app, s_line_is, &(bool){true}, 1000));
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

//  Service events move a line; answer and hang up reach the node; a closed line is no
//  longer reported on a server loss.
static void service_events_call_ops_and_close_line(void **state)
{
    (void)state;
    fake_node_t a;
    fake_start(&a, "a");
    app_t app = {.nodes = {&a}, .node_count = 1};
    ctim_t *c = s_new(&app, a.endpoint);
    s_login_and_open(c, &app);
    fake_service_event(&a, "101", false);
    assert_true(s_run_until(c, &app, s_line_is, &(bool){false}, 1000));
    fake_service_event(&a, "101", true);
    assert_true(s_run_until(c, &app, s_line_is, &(bool){true}, 1000));

    int id = ctim_answer(c, "101", "c7");
    assert_true(s_run_until(c, &app, s_has_reply, &id, 1000));
    assert_int_equal(a.last_op, PROTO_OP_ANSWER);
    id = ctim_hang_up(c, "101", "c7");
    assert_true(s_run_until(c, &app, s_has_reply, &id, 1000));
    assert_int_equal(a.last_op, PROTO_OP_HANG_UP);
    id = ctim_close_line(c, "101");
    assert_true(s_run_until(c, &app, s_has_reply, &id, 1000));
    assert_int_equal(a.last_op, PROTO_OP_CLOSE_LINE);
    assert_int_equal(app.reply_result[s_reply_index(&app, id)], CTIM_RESULT_OK);

    int line_events = app.line_events;
    a.silent = true;
    ctim_link_t down = CTIM_LINK_DOWN;
    assert_true(s_run_until(c, &app, s_link_is, &down, 2000));
    assert_int_equal(app.line_events, line_events);
    ctim_destroy(&c);
    fake_stop(&a);
}

//  The node restarted under the library (ctimd killed and started again on the same
//  endpoint): it answers, but with Error NOT_LOGGED_IN.  That is a lost session, not a sign
//  of life: line out of service within an interval or so, a new login at the SAME server
//  (it is alive), the line re-opened by the library and back in service.
static void server_that_forgot_the_session_is_logged_in_again(void **state)
{
    (void)state;
    fake_node_t a, b;
    fake_start(&a, "A");
    fake_start(&b, "B");
    a.resume = PROTO_RESUME_NEW_SESSION;
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    ctim_t *c = s_new(&app, servers);
    s_login_and_open(c, &app);
    assert_int_equal(a.opens, 1);

    a.forgot = true;
    int64_t forgot_at = zclock_mono();
    bool out = false, in = true;
    assert_true(s_run_until(c, &app, s_line_is, &out, 3000));
    int64_t took = app.line_at[app.line_events - 1] - forgot_at;
    assert_true(took <= HB_MS + TOLERANCE_MS);      //  the next heartbeat's answer tells
    assert_int_equal(app.link[app.links - 1], CTIM_LINK_DOWN);
    assert_true(s_run_until(c, &app, s_line_is, &in, 3000));
    printf("# forgotten session: line out %lld ms after the node forgot, back in %lld ms later\n",
           (long long)took,
           (long long)(app.line_at[app.line_events - 1] - app.line_at[app.line_events - 2]));
    assert_string_equal(ctim_server(c), a.endpoint);
    assert_int_equal(a.hellos, 2);
    assert_int_equal(b.hellos, 0);
    assert_int_equal(a.opens, 2);                   //  re-opened by the library
    assert_int_equal(app.replies, 1);               //  no reply the application did not ask for
    assert_int_equal(app.link[app.links - 1], CTIM_LINK_UP);
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_rejects_unusable_config),
        cmocka_unit_test(connect_login_request_gets_reply_and_call_event),
        cmocka_unit_test(silent_server_fails_over_and_resumes_without_reopen),
        cmocka_unit_test(silent_server_fails_over_and_new_session_reopens_lines),
        cmocka_unit_test(first_server_dead_connects_to_second),
        cmocka_unit_test(failback_after_returns_to_first_server),
        cmocka_unit_test(login_refused_stops_and_answers_outstanding_requests),
        cmocka_unit_test(busy_login_goes_to_the_next_server),
        cmocka_unit_test(request_without_any_server_times_out),
        cmocka_unit_test(request_during_failover_is_sent_to_next_server),
        cmocka_unit_test(request_waits_for_the_reopen_of_a_new_session),
        cmocka_unit_test(service_events_call_ops_and_close_line),
        cmocka_unit_test(server_that_forgot_the_session_is_logged_in_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
