//  node_log: ctimd's log lines, as an operator reads them at 3 a.m.:
//  "(node-a) link: ASSOCIATED pbx=main host=127.0.0.1:33333" — the node, the subsystem,
//  the object.  Goes to stderr; under systemd (JOURNAL_STREAM set) each line carries its
//  syslog priority prefix ("<5>") so the journal keeps the level.
#ifndef NODE_LOG_H
#define NODE_LOG_H

#include "node_config.h"

#include <stdio.h>

//  Set the node id every line carries and the most verbose level written.  Lines logged
//  before init carry "-" as the node.
void node_log_init(const char *node_id, node_log_level_t level);
void node_log_set_level(node_log_level_t level);
node_log_level_t node_log_level(void);
bool node_log_enabled(node_log_level_t level);
//  Where lines go (default stderr; tests pass a tmpfile).  NULL restores stderr.
void node_log_set_stream(FILE *stream);
//  "error", "warning", "notice", "info", "debug".
const char *node_log_level_str(node_log_level_t level);

//  One line: "(NODE) SUBSYSTEM: MESSAGE".  Control characters in the message (peer input
//  such as a user name) are written as \xNN so one call stays one line; lines longer than
//  2 KiB are cut and end in "...".
void node_log(node_log_level_t level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define node_error(sub, ...) node_log(NODE_LOG_ERROR, sub, __VA_ARGS__)
#define node_warning(sub, ...) node_log(NODE_LOG_WARNING, sub, __VA_ARGS__)
#define node_notice(sub, ...) node_log(NODE_LOG_NOTICE, sub, __VA_ARGS__)
#define node_info(sub, ...) node_log(NODE_LOG_INFO, sub, __VA_ARGS__)
#define node_debug(sub, ...)                                                                     \
    do {                                                                                         \
        if (node_log_enabled(NODE_LOG_DEBUG))                                                    \
            node_log(NODE_LOG_DEBUG, sub, __VA_ARGS__);                                          \
    } while (0)

#endif
