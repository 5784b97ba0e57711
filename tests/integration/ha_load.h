//  ha_load: an application's steady request load for the handover tests — requests kept
//  in flight (GetAddressStatus on its lines), every reply matched to its request, each
//  request answered exactly once (a second reply fails the test), results counted.
//  Include after cmocka.h.
#ifndef HA_LOAD_H
#define HA_LOAD_H

#include <stddef.h>
#include <stdio.h>

#include "test_ctim.h"

#define HA_LOAD_MAX 20000           //  requests one test makes at the most

typedef struct {
    int issued[HA_LOAD_MAX];        //  request ids, in order
    unsigned char replies[HA_LOAD_MAX];
    size_t n_issued;
    long ok, link_down, other;
} ha_load_t;

//  Requests not answered yet.
static inline size_t ha_load_outstanding(const ha_load_t *l)
{
    size_t n = 0;
    for (size_t k = 0; k < l->n_issued; k++)
        n += l->replies[k] == 0;
    return n;
}

//  Take every reply app got: each to its request, once; OK, LINK_DOWN and the rest
//  counted, anything but OK printed.  Call events are dropped (not the subject here).
static inline void ha_load_harvest(ha_load_t *l, test_app_t *app)
{
    for (size_t r = 0; r < app->rep_count; r++) {
        const test_ctim_reply_t *rep = &app->rep[r];
        size_t k = l->n_issued;
        while (k > 0 && l->issued[k - 1] != rep->request_id)
            k--;
        if (k == 0)
            fail_msg("a reply to request %d, which was not made", rep->request_id);
        if (++l->replies[k - 1] > 1)
            fail_msg("request %d answered twice", rep->request_id);
        if (rep->result == CTIM_RESULT_OK)
            l->ok++;
        else if (rep->result == CTIM_RESULT_LINK_DOWN)
            l->link_down++;
        else
            l->other++;
        if (rep->result != CTIM_RESULT_OK)
            fprintf(stderr, "request %d: %s (%s)\n", rep->request_id,
                    ctim_result_str(rep->result), rep->text);
    }
    app->rep_count = 0;
    app->ev_count = 0;
}

//  Make requests until in_flight are out, alternating over lines.
static inline void ha_load_top_up(ha_load_t *l, test_app_t *app, size_t in_flight,
                                  const char *const *lines, size_t line_count)
{
    while (ha_load_outstanding(l) < in_flight && l->n_issued < HA_LOAD_MAX) {
        int id = ctim_get_address_status(app->ctim, lines[l->n_issued % line_count]);
        assert_true(id > 0);
        l->issued[l->n_issued++] = id;
    }
}

//  `ctim cluster handover main TO --http HTTP --timeout 10000` while pump(ctx) keeps the
//  application asking (5 turns first, so that requests are at the link when the drain
//  starts); returns the tool once it ended or wait_ms passed (the caller frees it), after
//  logging what it printed.
static inline test_tool_t *ha_load_handover(const test_tool_env_t *env, const char *to,
                                            const char *http, void (*pump)(void *ctx),
                                            void *ctx, int wait_ms)
{
    for (int k = 0; k < 5; k++)
        pump(ctx);
    test_tool_t *tool = test_tool_start(env, "cluster", "handover", "main", to, "--http", http,
                                        "--timeout", "10000", NULL);
    assert_non_null(tool);
    long long deadline = test_now_ms() + wait_ms;
    while (tool->pid > 0 && test_now_ms() < deadline) {
        pump(ctx);
        test_tool_read(tool, test_now_ms());
        if (tool->out_fd < 0 && tool->err_fd < 0)
            test_tool_wait(tool, test_now_ms() + 100);
    }
    test_tool_wait(tool, deadline);
    fprintf(stderr, "ctim cluster handover main %s: exit %d\n  stdout: %s  stderr: %s\n", to,
            test_tool_exit(tool), tool->out, tool->err);
    return tool;
}

#endif
