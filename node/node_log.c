//  node_log: ctimd's log lines (node_log.h) — one formatted line per call, to stderr or
//  the journal, with the node id and subsystem an operator greps for.
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "node_log.h"

#define S_LINE_MAX 2048

static char s_node_id[NODE_NAME_MAX] = "-";
static node_log_level_t s_level = NODE_LOG_NOTICE;
static FILE *s_stream;

//  syslog priorities (sd-daemon(3)): err 3, warning 4, notice 5, info 6, debug 7.
static const int s_priority[] = {3, 4, 5, 6, 7};
static const char *const s_names[] = {"error", "warning", "notice", "info", "debug"};

void node_log_init(const char *node_id, node_log_level_t level)
{
    snprintf(s_node_id, sizeof s_node_id, "%s", node_id && *node_id ? node_id : "-");
    node_log_set_level(level);
}

void node_log_set_level(node_log_level_t level)
{
    if (level >= NODE_LOG_ERROR && level <= NODE_LOG_DEBUG)
        s_level = level;
}

node_log_level_t node_log_level(void)
{
    return s_level;
}

bool node_log_enabled(node_log_level_t level)
{
    return level <= s_level;
}

void node_log_set_stream(FILE *stream)
{
    s_stream = stream;
}

const char *node_log_level_str(node_log_level_t level)
{
    if (level < NODE_LOG_ERROR || level > NODE_LOG_DEBUG)
        return "?";
    return s_names[level];
}

//  Copy src into dst[used..cap), writing control characters as \xNN.  Returns the new used.
static size_t s_append_clean(char *dst, size_t used, size_t cap, const char *src)
{
    for (const unsigned char *p = (const unsigned char *) src; *p && used + 5 < cap; p++) {
        if (*p < 0x20 || *p == 0x7f)
            used += (size_t) snprintf(dst + used, cap - used, "\\x%02x", *p);
        else
            dst[used++] = (char) *p;
    }
    dst[used] = '\0';
    return used;
}

void node_log(node_log_level_t level, const char *subsystem, const char *fmt, ...)
{
    if (!node_log_enabled(level))
        return;
    char msg[S_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool cut = n >= (int) sizeof msg;

    char line[S_LINE_MAX + 128];
    size_t used;
    //  Under systemd the journal stamps the time and reads the level from the "<N>" prefix
    //  (JOURNAL_STREAM is set for a service whose stderr is the journal).
    if (getenv("JOURNAL_STREAM"))
        used = (size_t) snprintf(line, sizeof line, "<%d>(%s) %s: ", s_priority[level],
                                 s_node_id, subsystem);
    else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        used = (size_t) snprintf(line, sizeof line, "%s.%03ld %-7s (%s) %s: ", stamp,
                                 (long) tv.tv_usec / 1000, s_names[level], s_node_id, subsystem);
    }
    if (used >= sizeof line - 8)
        used = sizeof line - 8;
    used = s_append_clean(line, used, sizeof line - 5, msg);
    if (cut || used >= sizeof line - 10)
        used += (size_t) snprintf(line + used, sizeof line - used, "...");
    line[used++] = '\n';
    FILE *out = s_stream ? s_stream : stderr;
    fwrite(line, 1, used, out);
    fflush(out);
}
