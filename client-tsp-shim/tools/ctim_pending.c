//  ctim_pending: TEMPORARY stand-ins for libctim functions that ctim.h declares but that
//  this branch's library does not define yet, so that the ctim tool links and its commands
//  can be written against the header now.
//
//  delete at merge: the library defines these.
//
//  Request functions return -ENOSYS ("made no request", as ctim.h allows a negative errno),
//  which the tool reports as exit 1.  The two forwarding-mode helpers are pure and have a
//  real body here: with an -ENOSYS stub `ctim forward` could not even be parsed and its
//  tests would prove nothing; the library's own definitions (ctim.h: "immediate-all" ...)
//  replace them at merge and the same unit tests then hold them to it.
//  Listed in tools/CMakeLists.txt only, never in the library's.
#include <errno.h>
#include <string.h>

#include "ctim.h"

int ctim_hold(ctim_t *self, const char *line, const char *call_id)
{
    (void)self, (void)line, (void)call_id;
    return -ENOSYS;
}

int ctim_retrieve(ctim_t *self, const char *line, const char *call_id)
{
    (void)self, (void)line, (void)call_id;
    return -ENOSYS;
}

int ctim_redirect(ctim_t *self, const char *line, const char *call_id, const char *number)
{
    (void)self, (void)line, (void)call_id, (void)number;
    return -ENOSYS;
}

int ctim_blind_transfer(ctim_t *self, const char *line, const char *call_id, const char *number)
{
    (void)self, (void)line, (void)call_id, (void)number;
    return -ENOSYS;
}

int ctim_setup_transfer(ctim_t *self, const char *line, const char *call_id, const char *number)
{
    (void)self, (void)line, (void)call_id, (void)number;
    return -ENOSYS;
}

int ctim_complete_transfer(ctim_t *self, const char *line, const char *held_call_id,
                           const char *active_call_id)
{
    (void)self, (void)line, (void)held_call_id, (void)active_call_id;
    return -ENOSYS;
}

int ctim_add_to_conference(ctim_t *self, const char *line, const char *call_id,
                           const char *number)
{
    (void)self, (void)line, (void)call_id, (void)number;
    return -ENOSYS;
}

int ctim_pickup(ctim_t *self, const char *line, const char *ringing_number, const char *call_id)
{
    (void)self, (void)line, (void)ringing_number, (void)call_id;
    return -ENOSYS;
}

int ctim_dtmf(ctim_t *self, const char *line, const char *call_id, const char *digits)
{
    (void)self, (void)line, (void)call_id, (void)digits;
    return -ENOSYS;
}

int ctim_set_forwarding(ctim_t *self, const char *line, ctim_forward_mode_t mode, bool on,
                        const char *destination)
{
    (void)self, (void)line, (void)mode, (void)on, (void)destination;
    return -ENOSYS;
}

int ctim_set_do_not_disturb(ctim_t *self, const char *line, bool on)
{
    (void)self, (void)line, (void)on;
    return -ENOSYS;
}

int ctim_get_address_status(ctim_t *self, const char *line)
{
    (void)self, (void)line;
    return -ENOSYS;
}

int ctim_list_lines(ctim_t *self)
{
    (void)self;
    return -ENOSYS;
}

int ctim_set_cdr(ctim_t *self, bool on)
{
    (void)self, (void)on;
    return -ENOSYS;
}

static const char *const s_fwd_names[] = {
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

#define S_FWD_COUNT (sizeof s_fwd_names / sizeof *s_fwd_names)

const char *ctim_forward_mode_str(ctim_forward_mode_t mode)
{
    if ((int)mode > 0 && (size_t)mode < S_FWD_COUNT)
        return s_fwd_names[mode];
    return "unknown";
}

int ctim_forward_mode_parse(const char *text, ctim_forward_mode_t *mode)
{
    if (!text || !mode)
        return -EINVAL;
    for (size_t m = 1; m < S_FWD_COUNT; m++) {
        size_t n = strlen(s_fwd_names[m]);
        //  "busy" alone is "busy-all": the trigger without "-all".
        bool is_all = strcmp(s_fwd_names[m] + n - 4, "-all") == 0;
        if (strcmp(text, s_fwd_names[m]) == 0 ||
            (is_all && strlen(text) == n - 4 && strncmp(text, s_fwd_names[m], n - 4) == 0)) {
            *mode = (ctim_forward_mode_t)m;
            return 0;
        }
    }
    return -EINVAL;
}
