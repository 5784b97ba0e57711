//  ctim_print: what the ctim tool prints -- events and results, as text or as JSON lines.
//
//  Every function writes exactly one line (text) or one JSON object on one line (json) to
//  out, except ctim_print_lines in text mode (a table).  Strings from the node are escaped
//  (JSON: RFC 8259 escapes, bytes that are not UTF-8 become U+FFFD; text: control
//  characters become '?'), so one event is always one line.  Times are Unix ms; text shows
//  them in local time ("2026-11-22 05:37:59.123"), JSON in UTC ("2026-11-22T05:37:59.123Z").
//  Pure formatting: unit tested with open_memstream.
#ifndef CTIM_PRINT_H
#define CTIM_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctim.h"

//  s as a JSON string, quotes included (NULL prints "").
void ctim_print_json_string(FILE *out, const char *s);

//  Events (monitor).
void ctim_print_call(FILE *out, bool json, uint64_t unix_ms, const ctim_call_event_t *ev);
void ctim_print_service(FILE *out, bool json, uint64_t unix_ms, const char *line,
                        bool in_service);
void ctim_print_link(FILE *out, bool json, uint64_t unix_ms, ctim_link_t link,
                     const char *server, const char *text);
void ctim_print_forward(FILE *out, bool json, uint64_t unix_ms, const char *line,
                        const ctim_forward_t *forward);
void ctim_print_dnd(FILE *out, bool json, uint64_t unix_ms, const char *line, bool on);
void ctim_print_events_lost(FILE *out, bool json, uint64_t unix_ms, uint64_t count);
void ctim_print_cdr(FILE *out, bool json, uint64_t unix_ms, const ctim_cdr_t *cdr);

//  The result of a command on line (NULL: none).  Text: on success the call id (when
//  not empty), nothing else -- a failure is told by ctim_print_failure; JSON: one "result"
//  object, success or not, with the exit code the tool returns.
void ctim_print_result(FILE *out, bool json, const char *command, const char *line,
                       ctim_result_t result, const char *text, const char *call_id);
//  "ctim: COMMAND LINE: RESULT: TEXT" (for stderr).
void ctim_print_failure(FILE *out, const char *command, const char *line, ctim_result_t result,
                        const char *text);
//  The lines command: text, a table with a header (line, name, in service); JSON, one
//  "result" object with "lines" (every field of ctim_line_info_t).
void ctim_print_lines(FILE *out, bool json, const ctim_line_info_t *lines, int count);
//  The status command: the server in use, whether logged in, the user.
void ctim_print_server(FILE *out, bool json, const char *server, bool up, const char *user);
//  The status command: one line's address status.
void ctim_print_address(FILE *out, bool json, const ctim_address_status_t *address);

//  "incoming", "outgoing", "internal", "unknown".
const char *ctim_print_direction_str(ctim_direction_t direction);

#endif
