//  node_lines: lines and their names (node_lines.h).
#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "node_lines.h"

struct node_lines {
    node_line_cfg_t *lines;     //  in the order added
    size_t count, cap;
    zhashx_t *index;            //  number -> index + 1 (as a pointer-sized integer)
};

node_lines_t *node_lines_new(void)
{
    node_lines_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->index = zhashx_new();
    if (!self->index) {
        free(self);
        return NULL;
    }
    return self;
}

void node_lines_destroy(node_lines_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->index);
    free((*self_p)->lines);
    free(*self_p);
    *self_p = NULL;
}

static bool s_valid_number(const char *number)
{
    size_t n = strlen(number);
    return n > 0 && n <= CSTA_DIGITS_MAX && strspn(number, "0123456789*#+") == n;
}

static bool s_valid_name(const char *name)
{
    if (strlen(name) > CSTA_DIGITS_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int node_lines_set(node_lines_t *self, const char *number, const char *name)
{
    if (!number || !name || !s_valid_number(number) || !s_valid_name(name))
        return -EINVAL;
    uintptr_t at = (uintptr_t) zhashx_lookup(self->index, number);
    if (at) {
        snprintf(self->lines[at - 1].name, sizeof self->lines[at - 1].name, "%s", name);
        return 0;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        node_line_cfg_t *lines = realloc(self->lines, cap * sizeof *lines);
        if (!lines)
            return -ENOMEM;
        self->lines = lines;
        self->cap = cap;
    }
    node_line_cfg_t *line = &self->lines[self->count++];
    snprintf(line->number, sizeof line->number, "%s", number);
    snprintf(line->name, sizeof line->name, "%s", name);
    zhashx_insert(self->index, number, (void *) (uintptr_t) self->count);
    return 0;
}

static void s_err(char *err, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_err(char *err, size_t cap, size_t *used, const char *fmt, ...)
{
    if (!err || *used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t) n < cap ? *used + (size_t) n : cap - 1;
}

static char *s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int node_lines_import(node_lines_t *self, const char *text, const char *source, char *err,
                      size_t err_cap)
{
    size_t used = 0;
    if (err && err_cap)
        *err = '\0';
    char *copy = strdup(text ? text : "");
    if (!copy)
        return -ENOMEM;
    //  First pass: check everything (all or nothing); second: apply.
    node_lines_t *seen = node_lines_new();
    zhashx_t *first_line = zhashx_new();        //  number -> line number in this text
    int errors = 0, lineno = 0;
    for (char *line = copy, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *t = s_trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        char *number = s_trim(t);
        char *name = comma ? s_trim(comma + 1) : "";
        if (!s_valid_number(number)) {
            s_err(err, err_cap, &used, "%s:%d: '%s' is not a line number (1..%d of 0-9 * # +)\n",
                  source, lineno, number, CSTA_DIGITS_MAX);
            errors++;
        } else if (!s_valid_name(name)) {
            s_err(err, err_cap, &used, "%s:%d: name of %s is longer than %d characters\n",
                  source, lineno, number, CSTA_DIGITS_MAX);
            errors++;
        } else if (zhashx_lookup(first_line, number)) {
            s_err(err, err_cap, &used, "%s:%d: %s is listed at line %d too\n", source, lineno,
                  number, (int) (uintptr_t) zhashx_lookup(first_line, number));
            errors++;
        } else {
            zhashx_insert(first_line, number, (void *) (uintptr_t) lineno);
            node_lines_set(seen, number, name);
        }
    }
    free(copy);
    zhashx_destroy(&first_line);
    int rc = 0;
    if (errors)
        rc = -EINVAL;
    else
        for (size_t i = 0; i < seen->count && rc == 0; i++)
            rc = node_lines_set(self, seen->lines[i].number, seen->lines[i].name);
    node_lines_destroy(&seen);
    return rc;
}

int node_lines_import_file(node_lines_t *self, const char *path, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s: cannot read: %s\n", path, strerror(errno));
        return -ENOENT;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *buf = open_memstream(&text, &len);
    char chunk[4096];
    size_t n;
    while (buf && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, buf);
    fclose(f);
    if (!buf)
        return -ENOMEM;
    fclose(buf);
    int rc = node_lines_import(self, text, path, err, err_cap);
    free(text);
    return rc;
}

int node_lines_load_cfg(node_lines_t *self, const node_cfg_t *cfg, char *err, size_t err_cap)
{
    for (size_t i = 0; i < cfg->line_count; i++)
        if (node_lines_set(self, cfg->lines[i].number, cfg->lines[i].name) < 0) {
            if (err && err_cap)
                snprintf(err, err_cap, "%s: lines[%zu]: bad number or name\n", cfg->path, i);
            return -EINVAL;
        }
    if (*cfg->lines_file)
        return node_lines_import_file(self, cfg->lines_file, err, err_cap);
    return 0;
}

char *node_lines_export(const node_lines_t *self)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    fprintf(out, "# ctim lines: number,name\n");
    for (size_t i = 0; i < self->count; i++)
        fprintf(out, "%s,%s\n", self->lines[i].number, self->lines[i].name);
    fclose(out);
    return text;
}

const char *node_lines_name(const node_lines_t *self, const char *number)
{
    uintptr_t at = number ? (uintptr_t) zhashx_lookup(self->index, number) : 0;
    return at ? self->lines[at - 1].name : NULL;
}

size_t node_lines_count(const node_lines_t *self)
{
    return self->count;
}

const node_line_cfg_t *node_lines_at(const node_lines_t *self, size_t i)
{
    return i < self->count ? &self->lines[i] : NULL;
}
