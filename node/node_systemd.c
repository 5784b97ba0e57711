//  node_systemd: sd_notify for ctimd's Type=notify unit (node_systemd.h).
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "node_log.h"
#include "node_systemd.h"

#define S_SUB "systemd"

static zloop_t *s_loop;         //  the loop the watchdog timer is on, or NULL
static int s_timer_id = -1;

//  WATCHDOG=1 on every turn of the timer: it only fires while the loop runs.
static int s_on_watchdog(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    (void) arg;
    sd_notify(0, "WATCHDOG=1");
    return 0;
}

//  Send "PREFIX STATUS=<fmt...>" in one datagram (so READY and its status arrive together).
static void s_notify_status(const char *prefix, const char *fmt, va_list ap)
{
    char status[256];
    vsnprintf(status, sizeof status, fmt, ap);
    //  STATUS= is one line: the notify protocol separates assignments by newlines.
    status[strcspn(status, "\n")] = '\0';
    int rc = sd_notifyf(0, "%sSTATUS=%s", prefix, status);
    if (rc < 0)
        node_warning(S_SUB, "sd_notify failed: %s", strerror(-rc));
}

int node_systemd_ready(zloop_t *loop, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_notify_status("READY=1\n", fmt, ap);
    va_end(ap);

    uint64_t usec = 0;
    //  > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours).
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0 || s_timer_id >= 0)
        return 0;
    //  Half the interval, as sd_watchdog_enabled(3) advises; at least 1 ms for the timer.
    size_t every_ms = (size_t) (usec / 2000);
    if (every_ms == 0)
        every_ms = 1;
    s_timer_id = zloop_timer(loop, every_ms, 0, s_on_watchdog, NULL);
    if (s_timer_id < 0) {
        node_error(S_SUB, "cannot start the watchdog timer: systemd will restart the node");
        return -ENOMEM;
    }
    s_loop = loop;
    sd_notify(0, "WATCHDOG=1");
    node_info(S_SUB, "watchdog: WATCHDOG=1 every %zu ms (WatchdogSec=%llu ms)", every_ms,
              (unsigned long long) (usec / 1000));
    return 0;
}

void node_systemd_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_notify_status("", fmt, ap);
    va_end(ap);
}

void node_systemd_stopping(void)
{
    //  Ended outside its own handler, so czmq may free it at once (node/README.md).
    if (s_loop && s_timer_id >= 0)
        zloop_timer_end(s_loop, s_timer_id);
    s_loop = NULL;
    s_timer_id = -1;
    sd_notify(0, "STOPPING=1");
}
