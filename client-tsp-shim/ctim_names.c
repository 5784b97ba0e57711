//  ctim_names: the public enums as text (for logs and tools) and forwarding modes parsed.
#include "ctim_private.h"

#include <errno.h>
#include <string.h>

static const char *s_result_names[] = {
    [CTIM_RESULT_OK] = "ok",
    [CTIM_RESULT_ERROR] = "error",
    [CTIM_RESULT_BAD_REQUEST] = "bad-request",
    [CTIM_RESULT_UNSUPPORTED_VERSION] = "unsupported-version",
    [CTIM_RESULT_LOGIN_FAILED] = "login-failed",
    [CTIM_RESULT_NOT_LOGGED_IN] = "not-logged-in",
    [CTIM_RESULT_ACCESS_DENIED] = "access-denied",
    [CTIM_RESULT_LINE_NOT_OPEN] = "line-not-open",
    [CTIM_RESULT_INVALID_LINE] = "invalid-line",
    [CTIM_RESULT_INVALID_CALL] = "invalid-call",
    [CTIM_RESULT_INVALID_DESTINATION] = "invalid-destination",
    [CTIM_RESULT_INVALID_STATE] = "invalid-state",
    [CTIM_RESULT_BUSY] = "busy",
    [CTIM_RESULT_RESOURCE_UNAVAILABLE] = "resource-unavailable",
    [CTIM_RESULT_NOT_SUPPORTED] = "not-supported",
    [CTIM_RESULT_PBX_TIMEOUT] = "pbx-timeout",
    [CTIM_RESULT_LINK_DOWN] = "link-down",
    [CTIM_RESULT_INTERRUPTED] = "interrupted",
};

const char *ctim_result_str(ctim_result_t result)
{
    if (result == CTIM_RESULT_SERVER_LOST)
        return "server-lost";
    if (result == CTIM_RESULT_TIMEOUT)
        return "timeout";
    if ((int)result > 0 && (size_t)result < sizeof s_result_names / sizeof *s_result_names &&
        s_result_names[result])
        return s_result_names[result];
    return "unknown";
}

const char *ctim_call_state_str(ctim_call_state_t state)
{
    //  The public values equal proto's, which equal client.proto's CallState.
    if ((int)state > 0 && (int)state < PROTO_CALL_COUNT_)
        return proto_call_state_str((proto_call_state_t)state);
    return "unknown";
}

const char *ctim_link_str(ctim_link_t link)
{
    switch (link) {
    case CTIM_LINK_UP:
        return "up";
    case CTIM_LINK_DOWN:
        return "down";
    case CTIM_LINK_LOGIN_FAILED:
        return "login-failed";
    }
    return "unknown";
}

//  The modes are trigger x callers, in that order (ctim_forward_mode_t = 1 + 3 * t + c).
static const char *const s_triggers[] = {"immediate", "busy", "no-answer"};
static const char *const s_callers[] = {"all", "internal", "external"};

const char *ctim_forward_mode_str(ctim_forward_mode_t mode)
{
    static const char *const names[] = {
        [CTIM_FWD_IMMEDIATE_ALL] = "immediate-all",
        [CTIM_FWD_IMMEDIATE_INTERNAL] = "immediate-internal",
        [CTIM_FWD_IMMEDIATE_EXTERNAL] = "immediate-external",
        [CTIM_FWD_BUSY_ALL] = "busy-all",
        [CTIM_FWD_BUSY_INTERNAL] = "busy-internal",
        [CTIM_FWD_BUSY_EXTERNAL] = "busy-external",
        [CTIM_FWD_NO_ANSWER_ALL] = "no-answer-all",
        [CTIM_FWD_NO_ANSWER_INTERNAL] = "no-answer-internal",
        [CTIM_FWD_NO_ANSWER_EXTERNAL] = "no-answer-external",
    };
    if ((int)mode >= CTIM_FWD_IMMEDIATE_ALL && (int)mode <= CTIM_FWD_NO_ANSWER_EXTERNAL)
        return names[mode];
    return "unknown";
}

int ctim_forward_mode_parse(const char *text, ctim_forward_mode_t *mode)
{
    if (!text || !mode)
        return -EINVAL;
    for (int t = 0; t < 3; t++) {
        size_t n = strlen(s_triggers[t]);
        if (strncmp(text, s_triggers[t], n) != 0)
            continue;
        const char *rest = text + n;
        if (*rest == '\0') {
            *mode = (ctim_forward_mode_t)(1 + 3 * t);       //  all callers
            return 0;
        }
        if (*rest != '-')
            continue;       //  not this trigger after all ("busy" vs "busyx")
        for (int c = 0; c < 3; c++)
            if (strcmp(rest + 1, s_callers[c]) == 0) {
                *mode = (ctim_forward_mode_t)(1 + 3 * t + c);
                return 0;
            }
    }
    return -EINVAL;
}
