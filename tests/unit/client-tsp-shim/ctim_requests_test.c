//  ctim_requests_test: every request of ctim.h reaches a fake node as its client.proto
//  operation with its fields, and the reply's payloads reach on_reply; argument checks;
//  forwarding, DND, CDR and snapshot events; events lost; the event sequence acknowledged in
//  heartbeats and replays dropped; the CDR claim restored after a new session.
#include "fake_node.h"

#define HB_MS 200
#define LINES_MAX 4
#define SEEN_MAX 64

//  --- What the application saw ---------------------------------------------------------------

typedef struct {
    int id;
    ctim_result_t result;
    char text[PROTO_TEXT_MAX + 1];
    char call_id[PROTO_CALL_ID_MAX + 1];
    int line_count;                     //  -1: lines was NULL
    proto_line_info_t lines[LINES_MAX];
    bool has_address;
    proto_address_status_t address;
    bool has_call;
    ctim_call_event_t call;             //  strings point into call_strings
    proto_call_info_t call_strings;
    char call_line[PROTO_NUMBER_MAX + 1];
} seen_reply_t;

typedef struct {
    char line[PROTO_NUMBER_MAX + 1];
    char call_id[PROTO_CALL_ID_MAX + 1];
    ctim_call_state_t state;
    bool snapshot;
} seen_call_t;

struct app_s {
    fake_node_t *nodes[2];
    size_t node_count;
    int replies;
    seen_reply_t reply[SEEN_MAX];
    int calls;
    seen_call_t call[SEEN_MAX];
    int forwards;
    char forward_line[PROTO_NUMBER_MAX + 1];
    ctim_forward_t forward;
    char forward_dest[PROTO_NUMBER_MAX + 1];
    int dnds;
    bool dnd_on;
    char dnd_line[PROTO_NUMBER_MAX + 1];
    int cdrs;
    ctim_cdr_t cdr;
    char cdr_call_id[PROTO_CALL_ID_MAX + 1];
    char cdr_account[PROTO_NAME_MAX + 1];
    int lost_reports;
    uint64_t lost_count;
    int calls_at_lost;                  //  calls seen when on_events_lost ran
    int line_events;
    bool in_service;
};

#define S_COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static void s_on_reply(ctim_t *c, const ctim_reply_t *r, void *arg)
{
    (void)c;
    app_t *app = arg;
    assert_true(app->replies < SEEN_MAX);
    seen_reply_t *s = &app->reply[app->replies++];
    memset(s, 0, sizeof *s);
    s->id = r->request_id;
    s->result = r->result;
    S_COPY(s->text, r->text);
    S_COPY(s->call_id, r->call_id);
    s->line_count = r->lines ? r->line_count : -1;
    for (int i = 0; r->lines && i < r->line_count && i < LINES_MAX; i++) {
        proto_line_info_t *l = &s->lines[i];
        S_COPY(l->line, r->lines[i].line);
        S_COPY(l->name, r->lines[i].name);
        S_COPY(l->failure_number, r->lines[i].failure_number);
        l->open = r->lines[i].open;
        l->in_service = r->lines[i].in_service;
    }
    if ((s->has_address = r->address != NULL)) {
        proto_address_status_t *a = &s->address;
        S_COPY(a->line, r->address->line);
        a->in_service = r->address->in_service;
        a->do_not_disturb = r->address->do_not_disturb;
        a->message_waiting = r->address->message_waiting;
        a->forward_count = (size_t)r->address->forwarding_count;
        for (int i = 0; i < r->address->forwarding_count && i < PROTO_FORWARDS_MAX; i++) {
            a->forward[i].mode = (proto_fwd_mode_t)r->address->forwarding[i].mode;
            a->forward[i].on = r->address->forwarding[i].on;
            S_COPY(a->forward[i].destination, r->address->forwarding[i].destination);
        }
    }
    if ((s->has_call = r->call != NULL)) {
        proto_call_info_t *k = &s->call_strings;
        S_COPY(s->call_line, r->call->line);
        S_COPY(k->call_id, r->call->call_id);
        S_COPY(k->caller_number, r->call->caller_number);
        S_COPY(k->caller_name, r->call->caller_name);
        S_COPY(k->called_number, r->call->called_number);
        S_COPY(k->called_name, r->call->called_name);
        S_COPY(k->cause, r->call->cause);
        s->call = *r->call;
        s->call.line = s->call_line;
        s->call.call_id = k->call_id;
        s->call.caller_number = k->caller_number;
        s->call.caller_name = k->caller_name;
        s->call.called_number = k->called_number;
        s->call.called_name = k->called_name;
        s->call.cause = k->cause;
    }
}

static void s_on_call(ctim_t *c, const ctim_call_event_t *ev, void *arg)
{
    (void)c;
    app_t *app = arg;
    assert_true(app->calls < SEEN_MAX);
    seen_call_t *s = &app->call[app->calls++];
    S_COPY(s->line, ev->line);
    S_COPY(s->call_id, ev->call_id);
    s->state = ev->state;
    s->snapshot = ev->snapshot;
}

static void s_on_forward(ctim_t *c, const char *line, const ctim_forward_t *fwd, void *arg)
{
    (void)c;
    app_t *app = arg;
    app->forwards++;
    S_COPY(app->forward_line, line);
    app->forward = *fwd;
    S_COPY(app->forward_dest, fwd->destination);
    app->forward.destination = app->forward_dest;
}

static void s_on_dnd(ctim_t *c, const char *line, bool on, void *arg)
{
    (void)c;
    app_t *app = arg;
    app->dnds++;
    app->dnd_on = on;
    S_COPY(app->dnd_line, line);
}

static void s_on_cdr(ctim_t *c, const ctim_cdr_t *cdr, void *arg)
{
    (void)c;
    app_t *app = arg;
    app->cdrs++;
    app->cdr = *cdr;
    S_COPY(app->cdr_call_id, cdr->call_id);
    S_COPY(app->cdr_account, cdr->account);
    app->cdr.call_id = app->cdr_call_id;
    app->cdr.account = app->cdr_account;
    app->cdr.caller_number = app->cdr.called_number = NULL;     //  not kept
}

static void s_on_events_lost(ctim_t *c, uint64_t count, void *arg)
{
    (void)c;
    app_t *app = arg;
    app->lost_reports++;
    app->lost_count = count;
    app->calls_at_lost = app->calls;
}

static void s_on_line(ctim_t *c, const char *line, bool in_service, void *arg)
{
    (void)c, (void)line;
    app_t *app = arg;
    app->line_events++;
    app->in_service = in_service;
}

static bool s_run_until(ctim_t *c, app_t *app, cond_fn *cond, void *arg, int timeout_ms)
{
    return fake_run_until(c, app->nodes, app->node_count, app, cond, arg, timeout_ms);
}

static const seen_reply_t *s_find_reply(const app_t *app, int id)
{
    const seen_reply_t *found = NULL;
    for (int i = 0; i < app->replies; i++)
        if (app->reply[i].id == id) {
            assert_null(found);         //  exactly one reply per request
            found = &app->reply[i];
        }
    return found;
}

static bool s_has_reply(app_t *app, void *arg)
{
    return s_find_reply(app, *(int *)arg) != NULL;
}

static bool s_count_reaches(app_t *app, void *arg)
{
    (void)app;
    const int *const *pair = arg;       //  {counter, target}
    return *pair[0] >= *pair[1];
}

//  Run until *counter >= target.
static bool s_wait_count(ctim_t *c, app_t *app, const int *counter, int target, int timeout_ms)
{
    const int *pair[2] = {counter, &target};
    return s_run_until(c, app, s_count_reaches, pair, timeout_ms);
}

static ctim_t *s_new(app_t *app, const char *servers)
{
    ctim_cfg_t cfg;
    fake_cfg(&cfg, servers, HB_MS, app);
    cfg.on_reply = s_on_reply;
    cfg.on_call = s_on_call;
    cfg.on_line = s_on_line;
    cfg.on_forward = s_on_forward;
    cfg.on_dnd = s_on_dnd;
    cfg.on_cdr = s_on_cdr;
    cfg.on_events_lost = s_on_events_lost;
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    return c;
}

//  The request id's reply, after running the loop until it came (OK expected).
static const seen_reply_t *s_await(ctim_t *c, app_t *app, int id, ctim_result_t want)
{
    assert_true(id > 0);
    assert_true(s_run_until(c, app, s_has_reply, &id, 2000));
    const seen_reply_t *r = s_find_reply(app, id);
    assert_int_equal(r->result, want);
    return r;
}

//  Connect and open line 101 (in service).
static void s_login(ctim_t *c, app_t *app)
{
    assert_int_equal(ctim_connect(c), 0);
    s_await(c, app, ctim_open_line(c, "101", "200"), CTIM_RESULT_OK);
    assert_true(app->in_service);
}

//  The payloads a node gives: a call id for the operations that make a call, the line list,
//  an address status (with an entry of a mode this library does not know), call info.
static void s_payloads(fake_node_t *n, const proto_request_t *req, proto_client_msg_t *out)
{
    (void)n;
    proto_reply_t *rep = &out->reply;
    switch (req->op) {
    case PROTO_OP_SETUP_TRANSFER:
        S_COPY(rep->call_id, "c2");
        break;
    case PROTO_OP_PICKUP:
        S_COPY(rep->call_id, "c3");
        break;
    case PROTO_OP_COMPLETE_TRANSFER:
    case PROTO_OP_COMPLETE_CONFERENCE:
        S_COPY(rep->call_id, "c4");
        break;
    case PROTO_OP_LIST_LINES: {
        proto_line_info_t a = {.open = true, .in_service = true}, b = {0};
        S_COPY(a.line, "101");
        S_COPY(a.name, "Reception");
        S_COPY(a.failure_number, "200");
        S_COPY(b.line, "102");
        assert_int_equal(proto_client_msg_add_line(out, &a), 0);
        assert_int_equal(proto_client_msg_add_line(out, &b), 0);
        break;
    }
    case PROTO_OP_GET_ADDRESS_STATUS: {
        rep->has_address = true;
        proto_address_status_t *a = &rep->address;
        S_COPY(a->line, req->line.line);
        a->in_service = true;
        a->do_not_disturb = true;
        a->message_waiting = true;
        a->forward_count = 3;
        a->forward[0] = (proto_forward_t){.mode = PROTO_FWD_BUSY_INTERNAL, .on = true};
        S_COPY(a->forward[0].destination, "300");
        a->forward[1] = (proto_forward_t){.mode = PROTO_FWD_UNSPECIFIED, .on = true};
        a->forward[2] = (proto_forward_t){.mode = PROTO_FWD_NO_ANSWER_ALL, .on = false};
        break;
    }
    case PROTO_OP_GET_CALL_INFO: {
        rep->has_call = true;
        proto_call_info_t *k = &rep->call;
        S_COPY(k->call_id, req->call.call_id);
        k->state = PROTO_CALL_CONNECTED;
        k->direction = PROTO_DIR_INCOMING;
        S_COPY(k->caller_number, "0301234567");
        S_COPY(k->caller_name, "Bob");
        S_COPY(k->called_number, "101");
        S_COPY(k->called_name, "Reception");
        S_COPY(k->cause, "redirected");
        break;
    }
    default:
        break;
    }
}

//  --- Tests ----------------------------------------------------------------------------------

//  Make the request, wait for its reply, return what the node decoded.
#define ROUND_TRIP(call, op)                                                                   \
    (s_await(c, &app, (call), CTIM_RESULT_OK), assert_int_equal(a.last_op, (op)), &a.last_req)

static void every_request_reaches_the_node_with_its_fields(void **state)
{
    (void)state;
    fake_node_t a;
    fake_start(&a, "a");
    a.on_request = s_payloads;
    app_t app = {.nodes = {&a}, .node_count = 1};
    ctim_t *c = s_new(&app, a.endpoint);
    s_login(c, &app);
    const proto_request_t *q;

    q = ROUND_TRIP(ctim_hold(c, "101", "c1"), PROTO_OP_HOLD);
    assert_string_equal(q->call.line, "101");
    assert_string_equal(q->call.call_id, "c1");
    q = ROUND_TRIP(ctim_retrieve(c, "101", "c1"), PROTO_OP_RETRIEVE);
    assert_string_equal(q->call.call_id, "c1");
    q = ROUND_TRIP(ctim_call_back(c, "101", "c5"), PROTO_OP_CALL_BACK);
    assert_string_equal(q->call.call_id, "c5");
    q = ROUND_TRIP(ctim_intrusion(c, "101", "c6"), PROTO_OP_INTRUSION);
    assert_string_equal(q->call.line, "101");
    assert_string_equal(q->call.call_id, "c6");

    q = ROUND_TRIP(ctim_redirect(c, "101", "c1", "0301111"), PROTO_OP_REDIRECT);
    assert_string_equal(q->target.line, "101");
    assert_string_equal(q->target.call_id, "c1");
    assert_string_equal(q->target.number, "0301111");
    q = ROUND_TRIP(ctim_blind_transfer(c, "101", "c1", "102"), PROTO_OP_BLIND_TRANSFER);
    assert_string_equal(q->target.number, "102");
    q = ROUND_TRIP(ctim_add_to_conference(c, "101", "c1", "103"), PROTO_OP_ADD_TO_CONFERENCE);
    assert_string_equal(q->target.number, "103");
    q = ROUND_TRIP(ctim_remove_from_conference(c, "101", "c1", "103"),
                   PROTO_OP_REMOVE_FROM_CONFERENCE);
    assert_string_equal(q->target.call_id, "c1");
    assert_string_equal(q->target.number, "103");

    //  The operations that make a call carry the resulting call's id in the reply.
    int id = ctim_setup_transfer(c, "101", "c1", "104");
    assert_string_equal(s_await(c, &app, id, CTIM_RESULT_OK)->call_id, "c2");
    assert_int_equal(a.last_op, PROTO_OP_SETUP_TRANSFER);
    assert_string_equal(a.last_req.target.number, "104");
    id = ctim_pickup(c, "101", "105", NULL);
    assert_string_equal(s_await(c, &app, id, CTIM_RESULT_OK)->call_id, "c3");
    assert_int_equal(a.last_op, PROTO_OP_PICKUP);
    assert_string_equal(a.last_req.target.number, "105");
    assert_string_equal(a.last_req.target.call_id, "");
    q = ROUND_TRIP(ctim_pickup(c, "101", NULL, "c9"), PROTO_OP_PICKUP);    //  group pickup
    assert_string_equal(q->target.number, "");
    assert_string_equal(q->target.call_id, "c9");

    id = ctim_complete_transfer(c, "101", "c1", "c2");
    assert_string_equal(s_await(c, &app, id, CTIM_RESULT_OK)->call_id, "c4");
    assert_int_equal(a.last_op, PROTO_OP_COMPLETE_TRANSFER);
    assert_string_equal(a.last_req.pair.line, "101");
    assert_string_equal(a.last_req.pair.held_call_id, "c1");
    assert_string_equal(a.last_req.pair.active_call_id, "c2");
    id = ctim_complete_conference(c, "101", "c1", "c2");
    assert_string_equal(s_await(c, &app, id, CTIM_RESULT_OK)->call_id, "c4");
    assert_int_equal(a.last_op, PROTO_OP_COMPLETE_CONFERENCE);
    q = ROUND_TRIP(ctim_swap_hold(c, "101", "c1", "c2"), PROTO_OP_SWAP_HOLD);
    assert_string_equal(q->pair.held_call_id, "c1");
    assert_string_equal(q->pair.active_call_id, "c2");
    //  Others have no call id to give.
    id = ctim_hold(c, "101", "c2");
    assert_string_equal(s_await(c, &app, id, CTIM_RESULT_OK)->call_id, "");

    q = ROUND_TRIP(ctim_dtmf(c, "101", "c1", "12*#AD"), PROTO_OP_DTMF);
    assert_string_equal(q->digits.line, "101");
    assert_string_equal(q->digits.call_id, "c1");
    assert_string_equal(q->digits.digits, "12*#AD");
    q = ROUND_TRIP(ctim_dial_digits(c, "101", "c1", "+4930"), PROTO_OP_DIAL_DIGITS);
    assert_string_equal(q->digits.digits, "+4930");

    //  Forwarding in each of the nine modes, on and off.
    for (int m = CTIM_FWD_IMMEDIATE_ALL; m <= CTIM_FWD_NO_ANSWER_EXTERNAL; m++) {
        q = ROUND_TRIP(ctim_set_forwarding(c, "101", (ctim_forward_mode_t)m, true, "300"),
                       PROTO_OP_SET_FORWARDING);
        assert_string_equal(q->forward.line, "101");
        assert_int_equal(q->forward.fwd.mode, m);
        assert_true(q->forward.fwd.on);
        assert_string_equal(q->forward.fwd.destination, "300");
    }
    q = ROUND_TRIP(ctim_set_forwarding(c, "101", CTIM_FWD_BUSY_EXTERNAL, false, NULL),
                   PROTO_OP_SET_FORWARDING);
    assert_int_equal(q->forward.fwd.mode, PROTO_FWD_BUSY_EXTERNAL);
    assert_false(q->forward.fwd.on);
    assert_string_equal(q->forward.fwd.destination, "");

    q = ROUND_TRIP(ctim_set_do_not_disturb(c, "101", true), PROTO_OP_SET_DO_NOT_DISTURB);
    assert_string_equal(q->flag.line, "101");
    assert_true(q->flag.on);
    q = ROUND_TRIP(ctim_set_do_not_disturb(c, "101", false), PROTO_OP_SET_DO_NOT_DISTURB);
    assert_false(q->flag.on);
    q = ROUND_TRIP(ctim_set_cdr(c, true), PROTO_OP_SET_CDR);
    assert_true(q->flag.on);
    q = ROUND_TRIP(ctim_set_cdr(c, false), PROTO_OP_SET_CDR);
    assert_false(q->flag.on);

    //  Reply payloads: the line list ...
    id = ctim_list_lines(c);
    const seen_reply_t *r = s_await(c, &app, id, CTIM_RESULT_OK);
    assert_int_equal(a.last_op, PROTO_OP_LIST_LINES);
    assert_int_equal(r->line_count, 2);
    assert_string_equal(r->lines[0].line, "101");
    assert_string_equal(r->lines[0].name, "Reception");
    assert_true(r->lines[0].open);
    assert_true(r->lines[0].in_service);
    assert_string_equal(r->lines[0].failure_number, "200");
    assert_string_equal(r->lines[1].line, "102");
    assert_string_equal(r->lines[1].name, "");
    assert_false(r->lines[1].open);
    assert_false(r->lines[1].in_service);
    assert_false(r->has_address);
    assert_false(r->has_call);

    //  ... the address status (the entry of an unknown mode left out) ...
    id = ctim_get_address_status(c, "101");
    r = s_await(c, &app, id, CTIM_RESULT_OK);
    assert_int_equal(a.last_op, PROTO_OP_GET_ADDRESS_STATUS);
    assert_string_equal(a.last_req.line.line, "101");
    assert_true(r->has_address);
    assert_int_equal(r->line_count, -1);
    assert_string_equal(r->address.line, "101");
    assert_true(r->address.in_service);
    assert_true(r->address.do_not_disturb);
    assert_true(r->address.message_waiting);
    assert_int_equal(r->address.forward_count, 2);
    assert_int_equal(r->address.forward[0].mode, CTIM_FWD_BUSY_INTERNAL);
    assert_true(r->address.forward[0].on);
    assert_string_equal(r->address.forward[0].destination, "300");
    assert_int_equal(r->address.forward[1].mode, CTIM_FWD_NO_ANSWER_ALL);
    assert_false(r->address.forward[1].on);
    assert_string_equal(r->address.forward[1].destination, "");

    //  ... and call info, as a snapshot of the call at the line asked about.
    id = ctim_get_call_info(c, "101", "c7");
    r = s_await(c, &app, id, CTIM_RESULT_OK);
    assert_int_equal(a.last_op, PROTO_OP_GET_CALL_INFO);
    assert_string_equal(a.last_req.call.call_id, "c7");
    assert_true(r->has_call);
    assert_false(r->has_address);
    assert_string_equal(r->call.line, "101");
    assert_string_equal(r->call.call_id, "c7");
    assert_int_equal(r->call.state, CTIM_CALL_CONNECTED);
    assert_int_equal(r->call.direction, CTIM_DIR_INCOMING);
    assert_string_equal(r->call.caller_number, "0301234567");
    assert_string_equal(r->call.caller_name, "Bob");
    assert_string_equal(r->call.called_number, "101");
    assert_string_equal(r->call.called_name, "Reception");
    assert_string_equal(r->call.cause, "redirected");
    assert_true(r->call.snapshot);
    assert_string_equal(r->text, "done by a");

    //  A failed request carries no payload, and its result is the node's.
    a.result = PROTO_RESULT_ACCESS_DENIED;
    r = s_await(c, &app, ctim_get_address_status(c, "101"), CTIM_RESULT_ACCESS_DENIED);
    assert_false(r->has_address);
    a.result = PROTO_RESULT_INVALID_CALL;
    r = s_await(c, &app, ctim_get_call_info(c, "101", "c7"), CTIM_RESULT_INVALID_CALL);
    assert_false(r->has_call);
    ctim_destroy(&c);
    fake_stop(&a);
}

static void request_arguments_are_checked(void **state)
{
    (void)state;
    char long_number[PROTO_NUMBER_MAX + 2], long_call[PROTO_CALL_ID_MAX + 2];
    memset(long_number, '1', sizeof long_number - 1);
    long_number[sizeof long_number - 1] = '\0';
    memset(long_call, 'c', sizeof long_call - 1);
    long_call[sizeof long_call - 1] = '\0';
    ctim_cfg_t cfg;
    ctim_cfg_init(&cfg);
    cfg.servers = "tcp://127.0.0.1:1";
    cfg.user = "app";
    ctim_t *c = ctim_new(&cfg);
    assert_non_null(c);
    //  Before ctim_connect: no request.
    assert_int_equal(ctim_list_lines(c), -ENOTCONN);
    assert_int_equal(ctim_set_cdr(c, true), -ENOTCONN);
    assert_int_equal(ctim_hold(c, "101", "c1"), -ENOTCONN);
    assert_int_equal(ctim_connect(c), 0);

    assert_int_equal(ctim_hold(c, NULL, "c1"), -EINVAL);
    assert_int_equal(ctim_hold(c, "101", ""), -EINVAL);
    assert_int_equal(ctim_retrieve(c, long_number, "c1"), -EINVAL);
    assert_int_equal(ctim_call_back(c, "101", long_call), -EINVAL);
    assert_int_equal(ctim_intrusion(c, "101", NULL), -EINVAL);
    assert_int_equal(ctim_get_call_info(c, "", "c1"), -EINVAL);
    assert_int_equal(ctim_redirect(c, "101", "c1", NULL), -EINVAL);
    assert_int_equal(ctim_redirect(c, "101", "c1", long_number), -EINVAL);
    assert_int_equal(ctim_blind_transfer(c, "101", NULL, "102"), -EINVAL);
    assert_int_equal(ctim_setup_transfer(c, "101", "c1", ""), -EINVAL);
    assert_int_equal(ctim_add_to_conference(c, "101", "c1", NULL), -EINVAL);
    assert_int_equal(ctim_remove_from_conference(c, NULL, "c1", "103"), -EINVAL);
    assert_int_equal(ctim_swap_hold(c, "101", "c1", NULL), -EINVAL);
    assert_int_equal(ctim_complete_transfer(c, "101", "", "c2"), -EINVAL);
    assert_int_equal(ctim_complete_conference(c, "101", "c1", long_call), -EINVAL);
    assert_int_equal(ctim_pickup(c, NULL, "105", NULL), -EINVAL);
    assert_int_equal(ctim_pickup(c, "101", long_number, NULL), -EINVAL);
    assert_int_equal(ctim_pickup(c, "101", "105", long_call), -EINVAL);
    assert_int_equal(ctim_dtmf(c, "101", "c1", ""), -EINVAL);
    assert_int_equal(ctim_dtmf(c, "101", "c1", "12E"), -EINVAL);       //  not a DTMF tone
    assert_int_equal(ctim_dtmf(c, "101", "c1", long_number), -EINVAL);
    assert_int_equal(ctim_dial_digits(c, "101", "c1", "12 3"), -EINVAL);
    assert_int_equal(ctim_dial_digits(c, "101", NULL, "123"), -EINVAL);
    assert_int_equal(ctim_set_forwarding(c, "101", (ctim_forward_mode_t)0, true, "300"), -EINVAL);
    assert_int_equal(ctim_set_forwarding(c, "101", (ctim_forward_mode_t)10, true, "300"),
                     -EINVAL);
    assert_int_equal(ctim_set_forwarding(c, "101", CTIM_FWD_BUSY_ALL, true, NULL), -EINVAL);
    assert_int_equal(ctim_set_forwarding(c, "101", CTIM_FWD_BUSY_ALL, true, ""), -EINVAL);
    assert_int_equal(ctim_set_forwarding(c, "101", CTIM_FWD_BUSY_ALL, false, long_number),
                     -EINVAL);
    assert_int_equal(ctim_set_forwarding(c, NULL, CTIM_FWD_BUSY_ALL, false, NULL), -EINVAL);
    assert_int_equal(ctim_set_do_not_disturb(c, "", true), -EINVAL);
    assert_int_equal(ctim_get_address_status(c, long_number), -EINVAL);

    //  Good arguments while no server answers yet: queued, with ids that grow.
    int id1 = ctim_pickup(c, "101", NULL, NULL);
    int id2 = ctim_set_forwarding(c, "101", CTIM_FWD_BUSY_ALL, false, NULL);
    int id3 = ctim_list_lines(c);
    assert_true(id1 > 0);
    assert_int_equal(id2, id1 + 1);
    assert_int_equal(id3, id2 + 1);
    ctim_destroy(&c);
}

static void forward_modes_have_names_and_parse(void **state)
{
    (void)state;
    static const char *const names[] = {
        "immediate-all", "immediate-internal", "immediate-external",
        "busy-all",      "busy-internal",      "busy-external",
        "no-answer-all", "no-answer-internal", "no-answer-external"};
    for (int m = CTIM_FWD_IMMEDIATE_ALL; m <= CTIM_FWD_NO_ANSWER_EXTERNAL; m++) {
        assert_string_equal(ctim_forward_mode_str((ctim_forward_mode_t)m), names[m - 1]);
        ctim_forward_mode_t parsed = 0;
        assert_int_equal(ctim_forward_mode_parse(names[m - 1], &parsed), 0);
        assert_int_equal(parsed, m);
    }
    assert_string_equal(ctim_forward_mode_str((ctim_forward_mode_t)0), "unknown");
    assert_string_equal(ctim_forward_mode_str((ctim_forward_mode_t)10), "unknown");
    ctim_forward_mode_t m = 0;
    assert_int_equal(ctim_forward_mode_parse("immediate", &m), 0);
    assert_int_equal(m, CTIM_FWD_IMMEDIATE_ALL);
    assert_int_equal(ctim_forward_mode_parse("busy", &m), 0);
    assert_int_equal(m, CTIM_FWD_BUSY_ALL);
    assert_int_equal(ctim_forward_mode_parse("no-answer", &m), 0);
    assert_int_equal(m, CTIM_FWD_NO_ANSWER_ALL);
    static const char *const bad[] = {"",          "busy-",        "busyx",      "busy-all-x",
                                      "Busy",      "no_answer",    "no-answer-", "noanswer",
                                      "immediate-everyone", "-all", "all"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m = 0;
        assert_int_equal(ctim_forward_mode_parse(bad[i], &m), -EINVAL);
        assert_int_equal(m, 0);             //  untouched on error
    }
    assert_int_equal(ctim_forward_mode_parse(NULL, &m), -EINVAL);
    assert_string_equal(ctim_link_str(CTIM_LINK_LOGIN_FAILED), "login-failed");
    assert_string_equal(ctim_result_str(CTIM_RESULT_BUSY), "busy");
    assert_string_equal(ctim_result_str((ctim_result_t)99), "unknown");
}

static void events_map_forward_dnd_cdr_and_snapshot_calls(void **state)
{
    (void)state;
    fake_node_t a;
    fake_start(&a, "a");
    app_t app = {.nodes = {&a}, .node_count = 1};
    ctim_t *c = s_new(&app, a.endpoint);
    s_login(c, &app);

    proto_event_t ev = {.kind = PROTO_EVENT_FORWARDING};
    S_COPY(ev.line, "101");
    ev.forwarding = (proto_forward_t){.mode = PROTO_FWD_BUSY_EXTERNAL, .on = true};
    S_COPY(ev.forwarding.destination, "300");
    fake_event(&a, &ev);
    assert_true(s_wait_count(c, &app, &app.forwards, 1, 1000));
    assert_string_equal(app.forward_line, "101");
    assert_int_equal(app.forward.mode, CTIM_FWD_BUSY_EXTERNAL);
    assert_true(app.forward.on);
    assert_string_equal(app.forward.destination, "300");

    //  A mode this library does not know is not passed on as something it is not.
    ev = (proto_event_t){.kind = PROTO_EVENT_FORWARDING};
    S_COPY(ev.line, "101");
    fake_event(&a, &ev);
    ev = (proto_event_t){.kind = PROTO_EVENT_DO_NOT_DISTURB, .do_not_disturb = true};
    S_COPY(ev.line, "101");
    fake_event(&a, &ev);
    assert_true(s_wait_count(c, &app, &app.dnds, 1, 1000));
    assert_true(app.dnd_on);
    assert_string_equal(app.dnd_line, "101");
    assert_int_equal(app.forwards, 1);

    ev = (proto_event_t){.kind = PROTO_EVENT_CDR};
    S_COPY(ev.line, "101");
    S_COPY(ev.cdr.call_id, "c9");
    S_COPY(ev.cdr.caller_number, "101");
    S_COPY(ev.cdr.called_number, "0301234567");
    ev.cdr.direction = PROTO_DIR_OUTGOING;
    ev.cdr.start_ms = 1700000000000ULL;
    ev.cdr.connect_ms = 1700000003000ULL;
    ev.cdr.end_ms = 1700000063000ULL;
    ev.cdr.charge_units = 7;
    S_COPY(ev.cdr.account, "proj-42");
    fake_event(&a, &ev);
    assert_true(s_wait_count(c, &app, &app.cdrs, 1, 1000));
    assert_string_equal(app.cdr_call_id, "c9");
    assert_int_equal(app.cdr.direction, CTIM_DIR_OUTGOING);
    assert_true(app.cdr.start_ms == 1700000000000ULL);
    assert_true(app.cdr.connect_ms == 1700000003000ULL);
    assert_true(app.cdr.end_ms == 1700000063000ULL);
    assert_int_equal(app.cdr.charge_units, 7);
    assert_string_equal(app.cdr_account, "proj-42");

    //  A call event that is part of a snapshot says so; a transition does not.
    ev = (proto_event_t){.kind = PROTO_EVENT_CALL, .snapshot = true};
    S_COPY(ev.line, "101");
    S_COPY(ev.call.call_id, "c8");
    ev.call.state = PROTO_CALL_ON_HOLD;
    fake_event(&a, &ev);
    ev.snapshot = false;
    ev.seq = 0;
    ev.call.state = PROTO_CALL_CONNECTED;
    fake_event(&a, &ev);
    assert_true(s_wait_count(c, &app, &app.calls, 2, 1000));
    assert_string_equal(app.call[0].call_id, "c8");
    assert_int_equal(app.call[0].state, CTIM_CALL_ON_HOLD);
    assert_true(app.call[0].snapshot);
    assert_int_equal(app.call[1].state, CTIM_CALL_CONNECTED);
    assert_false(app.call[1].snapshot);
    ctim_destroy(&c);
    fake_stop(&a);
}

static bool s_acked(app_t *app, void *arg)
{
    return app->nodes[0]->last_ack == *(uint64_t *)arg;
}

static void s_call_event(fake_node_t *n, uint64_t seq, const char *call_id, bool snapshot)
{
    proto_event_t ev = {.kind = PROTO_EVENT_CALL, .seq = seq, .snapshot = snapshot};
    S_COPY(ev.line, "101");
    S_COPY(ev.call.call_id, call_id);
    ev.call.state = PROTO_CALL_OFFERING;
    fake_event(n, &ev);
}

//  EventsLost: the application is told how many, the gap is acknowledged, and the snapshot
//  that follows arrives as snapshot call events.
static void events_lost_reports_count_then_snapshot(void **state)
{
    (void)state;
    fake_node_t a;
    fake_start(&a, "a");
    app_t app = {.nodes = {&a}, .node_count = 1};
    ctim_t *c = s_new(&app, a.endpoint);
    s_login(c, &app);
    s_call_event(&a, 1, "c1", false);
    s_call_event(&a, 2, "c1", false);
    assert_true(s_wait_count(c, &app, &app.calls, 2, 1000));

    proto_client_msg_t m;
    proto_client_msg_init(&m, PROTO_MSG_EVENTS_LOST);
    m.events_lost.from_seq = 3;
    m.events_lost.to_seq = 7;
    fake_send(&a, a.peer, &m);
    assert_true(s_wait_count(c, &app, &app.lost_reports, 1, 1000));
    //  The gap is acknowledged (the node may trim it) before anything follows it.
    assert_true(s_run_until(c, &app, s_acked, &(uint64_t){7}, 10 * HB_MS));
    s_call_event(&a, 8, "c2", true);
    s_call_event(&a, 9, "c3", true);
    assert_true(s_wait_count(c, &app, &app.calls, 4, 1000));
    assert_int_equal(app.lost_reports, 1);
    assert_true(app.lost_count == 5);
    assert_int_equal(app.calls_at_lost, 2);     //  told before the snapshot came
    assert_true(app.call[2].snapshot && app.call[3].snapshot);
    assert_string_equal(app.call[3].call_id, "c3");
    //  The next heartbeat acknowledges through the snapshot.
    assert_true(s_run_until(c, &app, s_acked, &(uint64_t){9}, 10 * HB_MS));
    ctim_destroy(&c);
    fake_stop(&a);
}

//  Heartbeats acknowledge the last event processed; a replay of an event already processed
//  (a resumed session) is dropped; a new session numbers from 1 again and is not dropped.
static void heartbeat_acks_events_and_replays_are_dropped(void **state)
{
    (void)state;
    fake_node_t a, b;
    fake_start(&a, "a");
    fake_start(&b, "b");
    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", a.endpoint, b.endpoint);
    app_t app = {.nodes = {&a, &b}, .node_count = 2};
    ctim_t *c = s_new(&app, servers);
    s_login(c, &app);
    for (uint64_t s = 1; s <= 3; s++)
        s_call_event(&a, s, "c1", false);
    assert_true(s_wait_count(c, &app, &app.calls, 3, 1000));
    assert_true(s_run_until(c, &app, s_acked, &(uint64_t){3}, 10 * HB_MS));

    //  A goes silent; B resumes the session and replays from the ack it has (2).
    a.silent = true;
    b.resume = PROTO_RESUME_RESUMED;
    int lines = app.line_events;
    assert_true(s_wait_count(c, &app, &app.line_events, lines + 2, 3000));     //  out, in
    assert_true(app.in_service);
    assert_int_equal(b.hellos_with_token, 1);
    s_call_event(&b, 3, "c1", false);       //  processed already
    s_call_event(&b, 4, "c4", false);
    assert_true(s_wait_count(c, &app, &app.calls, 4, 1000));
    s_run_until(c, &app, NULL, NULL, 100);
    assert_int_equal(app.calls, 4);
    assert_string_equal(app.call[3].call_id, "c4");
    app.nodes[0] = &b;                      //  s_acked looks at nodes[0]
    assert_true(s_run_until(c, &app, s_acked, &(uint64_t){4}, 10 * HB_MS));

    //  B forgets the session: a new one, whose events start at 1 again.
    b.resume = PROTO_RESUME_NEW_SESSION;
    b.forgot = true;
    lines = app.line_events;
    assert_true(s_wait_count(c, &app, &app.line_events, lines + 2, 3000));
    assert_int_equal(b.hellos, 2);
    s_call_event(&b, 1, "c5", false);
    assert_true(s_wait_count(c, &app, &app.calls, 5, 1000));
    assert_string_equal(app.call[4].call_id, "c5");
    assert_true(s_run_until(c, &app, s_acked, &(uint64_t){1}, 10 * HB_MS));
    ctim_destroy(&c);
    fake_stop(&a);
    fake_stop(&b);
}

//  The node forgets the session (Error NOT_LOGGED_IN) and answers the library's new Hello with
//  outcome: the library logs in again at the same node.
static void s_lose_session(ctim_t *c, app_t *app, fake_node_t *n, proto_resume_outcome_t outcome)
{
    n->resume = outcome;
    n->forgot = true;
    int hellos = n->hellos, lines = app->line_events;
    assert_true(s_wait_count(c, app, &n->hellos, hellos + 1, 3000));
    assert_true(s_wait_count(c, app, &app->line_events, lines + 2, 3000));   //  out, in
    assert_true(app->in_service);
    s_run_until(c, app, NULL, NULL, 100);   //  whatever the library sends, it has sent
}

static void cdr_claim_is_restored_after_new_session_not_after_resume(void **state)
{
    (void)state;
    fake_node_t a;
    fake_start(&a, "a");
    app_t app = {.nodes = {&a}, .node_count = 1};
    ctim_t *c = s_new(&app, a.endpoint);
    s_login(c, &app);
    s_await(c, &app, ctim_set_cdr(c, true), CTIM_RESULT_OK);
    assert_int_equal(a.op_count[PROTO_OP_SET_CDR], 1);
    int replies = app.replies;

    s_lose_session(c, &app, &a, PROTO_RESUME_NEW_SESSION);
    assert_int_equal(a.op_count[PROTO_OP_SET_CDR], 2);      //  claimed again ...
    assert_true(a.last_of_op[PROTO_OP_SET_CDR].flag.on);
    assert_int_equal(a.op_count[PROTO_OP_OPEN_LINE], 2);    //  ... as the line is re-opened
    assert_int_equal(app.replies, replies);                 //  no reply nobody asked for

    s_lose_session(c, &app, &a, PROTO_RESUME_RESUMED);
    assert_int_equal(a.op_count[PROTO_OP_SET_CDR], 2);      //  the node kept it
    assert_int_equal(a.op_count[PROTO_OP_OPEN_LINE], 2);

    //  Given up: not claimed on the next new session.
    s_await(c, &app, ctim_set_cdr(c, false), CTIM_RESULT_OK);
    s_lose_session(c, &app, &a, PROTO_RESUME_NEW_SESSION);
    assert_int_equal(a.op_count[PROTO_OP_SET_CDR], 3);
    assert_int_equal(a.op_count[PROTO_OP_OPEN_LINE], 3);

    //  Refused (another owner): no claim to restore.
    a.result = PROTO_RESULT_BUSY;
    s_await(c, &app, ctim_set_cdr(c, true), CTIM_RESULT_BUSY);
    a.result = PROTO_RESULT_OK;
    s_lose_session(c, &app, &a, PROTO_RESUME_NEW_SESSION);
    assert_int_equal(a.op_count[PROTO_OP_SET_CDR], 4);
    assert_int_equal(app.replies, replies + 2);
    ctim_destroy(&c);
    fake_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_request_reaches_the_node_with_its_fields),
        cmocka_unit_test(request_arguments_are_checked),
        cmocka_unit_test(forward_modes_have_names_and_parse),
        cmocka_unit_test(events_map_forward_dnd_cdr_and_snapshot_calls),
        cmocka_unit_test(events_lost_reports_count_then_snapshot),
        cmocka_unit_test(heartbeat_acks_events_and_replays_are_dropped),
        cmocka_unit_test(cdr_claim_is_restored_after_new_session_not_after_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
