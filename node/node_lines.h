//  node_lines: the lines (extensions) a node knows by name — from the config's `lines:` list
//  and `lines_file`, imported and exported as text ("number,name" per line), looked up by
//  number (screen pop, /status, applications that ask for names).
//
//  Text format: one line per entry, "NUMBER,NAME"; the name is everything after the first
//  comma (it may hold commas), both trimmed of blanks; "NUMBER" alone has an empty name;
//  blank lines and lines starting with '#' are skipped; CRLF line ends are fine.
//  NUMBER: 1..64 of 0-9 * # +; NAME: up to 64 characters, no control characters.
#ifndef NODE_LINES_H
#define NODE_LINES_H

#include <stddef.h>

#include "node_config.h"

typedef struct node_lines node_lines_t;

node_lines_t *node_lines_new(void);
void node_lines_destroy(node_lines_t **self_p);

//  Add a line or rename an existing one.  Returns 0 or -EINVAL (bad number or name).
int node_lines_set(node_lines_t *self, const char *number, const char *name);
//  Import text (see above).  All or nothing: on any error nothing changes and err gets one
//  "SOURCE:LINE: problem" line per problem; a number listed twice in the text is an error;
//  numbers already known are renamed.  Returns 0 or -EINVAL.
int node_lines_import(node_lines_t *self, const char *text, const char *source, char *err,
                      size_t err_cap);
//  Import a file; -ENOENT (with the reason in err) if it cannot be read.
int node_lines_import_file(node_lines_t *self, const char *path, char *err, size_t err_cap);
//  The config's lines, then its lines_file (if set).
int node_lines_load_cfg(node_lines_t *self, const node_cfg_t *cfg, char *err, size_t err_cap);
//  All lines as text, in the order they were added (a "#" header first); import reads it
//  back.  Returns a new string (the caller frees it).
char *node_lines_export(const node_lines_t *self);

//  The name of number (borrowed), or NULL if the number is not a known line.
const char *node_lines_name(const node_lines_t *self, const char *number);
size_t node_lines_count(const node_lines_t *self);
//  Line i (0 <= i < count) in the order added, borrowed until the next change; NULL past the
//  end.  For listing every line (the client API's list_lines).
const node_line_cfg_t *node_lines_at(const node_lines_t *self, size_t i);

#endif
