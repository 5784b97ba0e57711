//  node_log: ctimd's log lines on stderr, with syslog priority prefixes under systemd
//  (node_log.h).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"

static char s_node_id[NODE_NAME_MAX] = "ctimd";
static node_log_level_t s_level = NODE_LOG_NOTICE;
static int s_journal = -1;      //  -1: not looked at yet

void node_log_init(const char *node_id, node_log_level_t level)
{
    snprintf(s_node_id, sizeof s_node_id, "%s", node_id && *node_id ? node_id : "ctimd");
    s_level = level;
    s_journal = getenv("JOURNAL_STREAM") != NULL;
}

void node_log_set_level(node_log_level_t level)
{
    s_level = level;
}

bool node_log_enabled(node_log_level_t level)
{
    return level <= s_level;
}

void node_log(node_log_level_t level, const char *subsystem, const char *fmt, ...)
{
    if (!node_log_enabled(level))
        return;
    if (s_journal < 0)
        s_journal = getenv("JOURNAL_STREAM") != NULL;
    //  syslog priorities: err 3, warning 4, notice 5, info 6, debug 7 (sd-daemon(3) prefixes).
    static const int priority[] = {3, 4, 5, 6, 7};
    static const char *const name[] = {"ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};
    char line[2048];
    size_t n = 0;
    int w;
    if (s_journal)
        w = snprintf(line, sizeof line, "<%d>(%s) %s: ", priority[level], s_node_id, subsystem);
    else
        w = snprintf(line, sizeof line, "%s (%s) %s: ", name[level], s_node_id, subsystem);
    n = w > 0 ? (size_t) w : 0;
    va_list ap;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    n += w > 0 ? (size_t) w : 0;
    if (n > sizeof line - 2)
        n = sizeof line - 2;    //  truncated: keep room for the newline
    line[n++] = '\n';
    //  One write per line, so lines of several processes on one stderr do not interleave.
    fwrite(line, 1, n, stderr);
}
