//  node_systemd: tells systemd how ctimd is doing, for a Type=notify unit (sd_notify(3)):
//  READY=1 once the node serves, STATUS= lines that `systemctl status` shows, WATCHDOG=1
//  from a timer on the node's own zloop at half of WatchdogSec= (a loop that stops turning
//  stops the pings, and systemd restarts the node), STOPPING=1 on the way out.
//
//  The notify socket is one per process (NOTIFY_SOCKET, WATCHDOG_USEC in the environment),
//  so this is a module with one process-wide state rather than a class.  Not under systemd
//  (no NOTIFY_SOCKET) every call is a cheap no-op.  All calls come from the loop's thread.
#ifndef NODE_SYSTEMD_H
#define NODE_SYSTEMD_H

#include <czmq.h>

//  READY=1 with a STATUS= line (printf format); when the unit has a watchdog
//  (sd_watchdog_enabled), WATCHDOG=1 at once and then every half interval from a timer on
//  loop.  Returns 0, or a negative errno when the timer cannot be made (logged).
int node_systemd_ready(zloop_t *loop, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

//  A new STATUS= line (printf format), e.g. on a PBX link going up or down.
void node_systemd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

//  STOPPING=1 and no more watchdog pings (the timer is ended).  Call before the loop given
//  to node_systemd_ready is destroyed; safe without a ready and twice.
void node_systemd_stopping(void);

#endif
