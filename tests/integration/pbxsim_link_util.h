//  pbxsim_link_util: steps the link, fault and traffic tests share — pbxsim started per
//  test with its own options, clients with a chosen framing and login that keep the
//  SystemStatus invokes they answer, plain TCP connections for misbehaving applications,
//  and bounded waits on pbxsim's link history and counters.
#ifndef PBXSIM_LINK_UTIL_H
#define PBXSIM_LINK_UTIL_H

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pbxsim_test_util.h"

#define DEADLINE_MS 15000       //  generous: a loaded 2-core CI machine

//  Start pbxsim with args; the fixture is in *state at once so the teardown stops pbxsim
//  even when a later step fails.
static inline fixture_t *link_start(void **state, const char *const *args)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    assert_int_equal(test_pbxsim_start(&f->sim, args), 0);
    return f;
}

//  A client for this pbxsim with the given framing and login (NULL: none); it keeps the
//  SystemStatus invokes it answers, so tests can see them.
static inline csta_client_t *link_client(fixture_t *f, csta_framing_t framing, const char *user,
                                         const char *password)
{
    csta_client_cfg_t cfg = {.port = f->sim.port, .framing = framing, .user = user,
                             .password = password, .timeout_ms = DEADLINE_MS,
                             .keep_system_status = true};
    csta_client_t *app = csta_client_new(&cfg);
    assert_non_null(app);
    return app;
}

//  Wait for the next unsolicited invoke and require a SystemStatus normal.
static inline void expect_system_status(csta_client_t *app, int timeout_ms)
{
    csta_apdu_t ev;
    int rc = csta_client_next_event(app, &ev, timeout_ms);
    if (rc)
        fail_msg("waiting for SystemStatus: %s", strerror(-rc));
    assert_int_equal(ev.kind, CSTA_APDU_INVOKE);
    if (ev.opcode != CSTA_OP_SYSTEM_STATUS)
        fail_msg("expected SystemStatus, got %s", csta_op_name(ev.opcode));
    assert_int_equal(ev.svc.system_status.status, CSTA_SYS_NORMAL);
    csta_apdu_clear(&ev);
}

//  Read unsolicited invokes until the connection ends; returns what ended it (the events
//  before it, e.g. SystemStatus sent before a fault, are dropped).
static inline int drain_until_error(csta_client_t *app, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        csta_apdu_t ev;
        long long left = deadline - test_now_ms();
        int rc = csta_client_next_event(app, &ev, left > 0 ? (int) left : 0);
        if (rc)
            return rc;
        csta_apdu_clear(&ev);
    }
}

//  Drop the unsolicited invokes that have already arrived.
static inline void drain_arrived(csta_client_t *app)
{
    assert_int_equal(drain_until_error(app, 0), -ETIMEDOUT);
}

//  Polling interval of a bounded wait (never a wait in itself).
static inline void poll_pause(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

//  Poll `pbxsim ctl links` until the record of link `id` is closed; its reason goes to
//  reason.  Fails after timeout_ms.
static inline void wait_link_closed(fixture_t *f, int id, char *reason, size_t cap,
                                    int timeout_ms)
{
    char key[32];
    snprintf(key, sizeof key, "{\"id\":%d,", id);
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "links"), 0);
        const char *rec = strstr(f->reply, key);
        assert_non_null(rec);
        if (test_json_long(rec, "closed_ms", 0) > 0) {
            const char *r = strstr(rec, "\"reason\":\"");
            assert_non_null(r);
            r += strlen("\"reason\":\"");
            snprintf(reason, cap, "%.*s", (int) strcspn(r, "\""), r);
            return;
        }
        if (test_now_ms() > deadline)
            fail_msg("link %d still open after %d ms: %s", id, timeout_ms, f->reply);
        poll_pause();
    }
}

//  The id of the newest link in `pbxsim ctl links`.
static inline int last_link_id(fixture_t *f)
{
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "links"), 0);
    const char *last = NULL;
    for (const char *p = f->reply; (p = strstr(p, "{\"id\":")); p++)
        last = p;
    assert_non_null(last);
    return (int) test_json_long(last, "id", -1);
}

//  A stats counter, read now.
static inline long stat_now(fixture_t *f, const char *key)
{
    assert_int_equal(test_pbxsim_ctl(&f->sim, f->reply, sizeof f->reply, "stats"), 0);
    long v = test_json_long(f->reply, key, -1);
    if (v < 0)
        fail_msg("no counter %s in %s", key, f->reply);
    return v;
}

//  Poll `pbxsim ctl stats` until counter `key` equals want; fails after timeout_ms.
static inline void wait_stat(fixture_t *f, const char *key, long want, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    long v;
    while ((v = stat_now(f, key)) != want) {
        if (test_now_ms() > deadline)
            fail_msg("%s is %ld, not %ld, after %d ms: %s", key, v, want, timeout_ms, f->reply);
        poll_pause();
    }
}

//  A plain TCP connection to pbxsim, for applications that misbehave.
static inline int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    return fd;
}

static inline void raw_send(int fd, csta_framing_t framing, const uint8_t *apdu, size_t len)
{
    uint8_t hdr[CSTA_FRAME_HEADER_MAX];
    int hlen = csta_frame_header(framing, len, hdr);
    assert_true(hlen >= 0);
    assert_int_equal(send(fd, hdr, (size_t) hlen, MSG_NOSIGNAL), hlen);
    assert_int_equal(send(fd, apdu, len, MSG_NOSIGNAL), (ssize_t) len);
}

//  Read the next APDU from a raw connection into *out (decoded).  Returns 0, or
//  -ECONNRESET when pbxsim closed the connection, -ETIMEDOUT.
static inline int raw_next(int fd, csta_framer_t *framer, csta_apdu_t *out, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        const uint8_t *apdu;
        size_t len;
        int rc = csta_framer_next(framer, &apdu, &len);
        if (rc == 0) {
            assert_int_equal(csta_apdu_decode(out, apdu, len), 0);
            return 0;
        }
        assert_int_equal(rc, -EAGAIN);
        long long left = deadline - test_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int) left) == 0)
            return -ETIMEDOUT;
        uint8_t buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return -ECONNRESET;
        assert_int_equal(csta_framer_feed(framer, buf, (size_t) n), 0);
    }
}

#endif
