//  node_numfmt: number formatting rules and canonical numbers (node_numfmt.h has the
//  algorithm).
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_numfmt.h"

#define S_WORK_MAX 512

typedef struct {
    regex_t re;
    char *replace;
} s_rule_t;

typedef struct {
    s_rule_t *rules;
    size_t count;
} s_rules_t;

struct node_numfmt {
    s_rules_t dirs[3];
    char cc[8], area[16], local[16], intl[8], national[8];
};

static const char *const s_dir_names[] = {"incoming", "outgoing", "dialling"};

const char *node_numfmt_dir_str(node_numfmt_dir_t dir)
{
    return dir <= NODE_NUMFMT_DIALLING ? s_dir_names[dir] : "?";
}

int node_numfmt_dir_parse(const char *name, node_numfmt_dir_t *dir)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, s_dir_names[i]) == 0) {
            *dir = (node_numfmt_dir_t) i;
            return 0;
        }
    if (strcmp(name, "dialing") == 0) {
        *dir = NODE_NUMFMT_DIALLING;
        return 0;
    }
    return -EINVAL;
}

static void s_rules_free(s_rules_t *rules)
{
    for (size_t i = 0; i < rules->count; i++) {
        regfree(&rules->rules[i].re);
        free(rules->rules[i].replace);
    }
    free(rules->rules);
    rules->rules = NULL;
    rules->count = 0;
}

void node_numfmt_destroy(node_numfmt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (int i = 0; i < 3; i++)
        s_rules_free(&(*self_p)->dirs[i]);
    free(*self_p);
    *self_p = NULL;
}

static int s_rules_compile(s_rules_t *rules, const node_numrule_t *src, size_t count,
                           const char *dir, char *err, size_t err_cap)
{
    rules->rules = calloc(count + 1, sizeof(s_rule_t));
    if (!rules->rules)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        int rc = regcomp(&rules->rules[i].re, src[i].match, REG_EXTENDED);
        if (rc != 0) {
            char why[128];
            regerror(rc, &rules->rules[i].re, why, sizeof why);
            snprintf(err, err_cap, "numbers.%s[%zu].match: %s", dir, i, why);
            return -EINVAL;
        }
        rules->count++;
        rules->rules[i].replace = strdup(src[i].replace);
        if (!rules->rules[i].replace)
            return -ENOMEM;
    }
    return 0;
}

node_numfmt_t *node_numfmt_new(const node_numbers_cfg_t *cfg, char *err, size_t err_cap)
{
    node_numfmt_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    char dummy[8];
    if (!err || !err_cap) {
        err = dummy;
        err_cap = sizeof dummy;
    }
    *err = '\0';
    snprintf(self->cc, sizeof self->cc, "%s", cfg->country_code);
    snprintf(self->area, sizeof self->area, "%s", cfg->area_code);
    snprintf(self->local, sizeof self->local, "%s", cfg->local_prefix);
    snprintf(self->intl, sizeof self->intl, "%s", cfg->international_prefix);
    snprintf(self->national, sizeof self->national, "%s", cfg->national_prefix);
    if (s_rules_compile(&self->dirs[0], cfg->incoming, cfg->incoming_count, "incoming", err,
                        err_cap) ||
        s_rules_compile(&self->dirs[1], cfg->outgoing, cfg->outgoing_count, "outgoing", err,
                        err_cap) ||
        s_rules_compile(&self->dirs[2], cfg->dialling, cfg->dialling_count, "dialling", err,
                        err_cap)) {
        node_numfmt_destroy(&self);
        return NULL;
    }
    return self;
}

//  Step 1: drop separators; false if what is left is not a telephone number.
static bool s_clean(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    bool number = true;
    for (const char *p = in; *p && n + 1 < cap; p++) {
        if (strchr(" \t-/().", *p))
            continue;
        bool dialable = (*p >= '0' && *p <= '9') || *p == '*' || *p == '#' || (*p == '+' && n == 0);
        if (!dialable)
            number = false;
        out[n++] = *p;
    }
    out[n] = '\0';
    return number && n > 0 && strcmp(out, "+") != 0;
}

//  Step 2: the first rule found in number rewrites it into out; false if none matched.
static bool s_apply_rules(const s_rules_t *rules, const char *number, char *out, size_t cap)
{
    for (size_t i = 0; i < rules->count; i++) {
        regmatch_t m[10];
        if (regexec(&rules->rules[i].re, number, 10, m, 0) != 0)
            continue;
        size_t n = 0;
        //  Text before the match, the expanded replacement, text after it.
        n += (size_t) snprintf(out, cap, "%.*s", (int) m[0].rm_so, number);
        for (const char *r = rules->rules[i].replace; *r && n + 1 < cap; r++) {
            if (*r == '\\' && r[1] >= '0' && r[1] <= '9') {
                int g = r[1] - '0';
                r++;
                if (m[g].rm_so >= 0)
                    n += (size_t) snprintf(out + n, cap - n, "%.*s",
                                           (int) (m[g].rm_eo - m[g].rm_so), number + m[g].rm_so);
            } else if (*r == '\\' && r[1]) {
                out[n++] = *++r;
            } else
                out[n++] = *r;
            if (n >= cap)
                n = cap - 1;
        }
        out[n < cap ? n : cap - 1] = '\0';
        if (n + 1 < cap)
            snprintf(out + n, cap - n, "%s", number + m[0].rm_eo);
        return true;
    }
    return false;
}

static bool s_starts(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return n > 0 && strncmp(s, prefix, n) == 0 && s[n] != '\0';
}

//  Step 3, incoming: to canonical when a prefix says what the number is.
static void s_canonical(const node_numfmt_t *self, const char *n, char *out, size_t cap)
{
    if (n[0] == '+')
        snprintf(out, cap, "%s", n);
    else if (s_starts(n, self->intl))
        snprintf(out, cap, "+%s", n + strlen(self->intl));
    else if (s_starts(n, self->national))
        snprintf(out, cap, "+%s%s", self->cc, n + strlen(self->national));
    else
        snprintf(out, cap, "%s", n);
}

static void s_outgoing(const node_numfmt_t *self, const char *n, char *out, size_t cap)
{
    if (!s_starts(n, self->local)) {
        s_canonical(self, n, out, cap);
        return;
    }
    const char *rest = n + strlen(self->local);
    if (rest[0] == '+' || s_starts(rest, self->intl) || s_starts(rest, self->national))
        s_canonical(self, rest, out, cap);
    else
        snprintf(out, cap, "+%s%s%s", self->cc, self->area, rest);     //  our own area
}

static void s_dialling(const node_numfmt_t *self, const char *n, char *out, size_t cap)
{
    if (n[0] != '+')
        snprintf(out, cap, "%s", n);
    else if (s_starts(n + 1, self->cc))
        snprintf(out, cap, "%s%s%s", self->local, self->national, n + 1 + strlen(self->cc));
    else
        snprintf(out, cap, "%s%s%s", self->local, self->intl, n + 1);
}

int node_numfmt_format(const node_numfmt_t *self, node_numfmt_dir_t dir, const char *number,
                       char *out, size_t out_cap)
{
    if (!number || dir > NODE_NUMFMT_DIALLING || !out || out_cap == 0)
        return -EINVAL;
    char clean[S_WORK_MAX], ruled[S_WORK_MAX], result[S_WORK_MAX];
    bool phone = s_clean(number, clean, sizeof clean);
    const char *n = phone ? clean : number;
    if (phone) {
        bool matched = s_apply_rules(&self->dirs[dir], clean, ruled, sizeof ruled);
        if (matched)
            n = ruled;
        if (*self->cc && *n && !(matched && dir == NODE_NUMFMT_DIALLING)) {
            if (dir == NODE_NUMFMT_INCOMING)
                s_canonical(self, n, result, sizeof result);
            else if (dir == NODE_NUMFMT_OUTGOING)
                s_outgoing(self, n, result, sizeof result);
            else
                s_dialling(self, n, result, sizeof result);
            n = result;
        }
    }
    if (strlen(n) >= out_cap) {
        *out = '\0';
        return -ENOSPC;
    }
    memcpy(out, n, strlen(n) + 1);
    return 0;
}
