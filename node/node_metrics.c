//  node_metrics: the metrics registry of a node and its Prometheus text rendering
//  (node_metrics.h), text format 0.0.4 (prometheus.io: instrumenting/exposition_formats).
#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "node_metrics.h"

#define S_PREFIX "ctim_"
#define S_SERIES_MAX 10000
#define S_LABELS_MAX 8

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_kind_t;

static const char *const s_kind_names[] = {"counter", "gauge", "histogram"};

typedef struct s_series {
    char **values;              //  label values, family->label_count of them
    double value;               //  counter / gauge
    double sum;                 //  histogram
    unsigned long long count;   //  histogram observations
    unsigned long long *bucket_hits;    //  histogram: observations <= bucket[i] (not cumulative)
    struct s_series *next;
} s_series_t;

struct node_metric {
    s_kind_t kind;
    char *name;                 //  full name, with the ctim_ prefix (and _total for counters)
    char *help;
    char *labels[S_LABELS_MAX];
    size_t label_count;
    double *buckets;            //  upper bounds, ascending, +Inf not included
    size_t bucket_count;
    s_series_t *first, *last;
    size_t series_count;
    zhashx_t *index;            //  series key -> s_series_t (borrowed)
    node_metrics_t *registry;
    node_metric_t *next;
};

struct node_metrics {
    node_metric_t *first, *last;
    unsigned long long dropped;     //  updates refused by the series cap
};

static void s_series_free(s_series_t *series, size_t label_count)
{
    for (size_t i = 0; i < label_count; i++)
        free(series->values[i]);
    free(series->values);
    free(series->bucket_hits);
    free(series);
}

static void s_metric_free(node_metric_t *m)
{
    s_series_t *s = m->first;
    while (s) {
        s_series_t *next = s->next;
        s_series_free(s, m->label_count);
        s = next;
    }
    zhashx_destroy(&m->index);
    for (size_t i = 0; i < m->label_count; i++)
        free(m->labels[i]);
    free(m->buckets);
    free(m->name);
    free(m->help);
    free(m);
}

node_metrics_t *node_metrics_new(void)
{
    return calloc(1, sizeof(node_metrics_t));
}

void node_metrics_destroy(node_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_metric_t *m = (*self_p)->first;
    while (m) {
        node_metric_t *next = m->next;
        s_metric_free(m);
        m = next;
    }
    free(*self_p);
    *self_p = NULL;
}

//  Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'.
static bool s_valid_name(const char *name, bool label)
{
    if (!name || !*name || isdigit((unsigned char) *name))
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char) *p) || *p == '_' || (!label && *p == ':')))
            return false;
    return !(label && strncmp(name, "__", 2) == 0);
}

static bool s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

//  A bad metric or label name is a programming mistake that would break every scrape:
//  stop at once, also in release builds.
static void s_require(bool ok, const char *name)
{
    if (!ok) {
        fprintf(stderr, "node_metrics: invalid metric or label name '%s'\n", name);
        abort();
    }
}

static node_metric_t *s_register(node_metrics_t *self, s_kind_t kind, const char *name,
                                 const char *help, const char *labels, const double *buckets,
                                 size_t bucket_count)
{
    assert(self && name && help && *help);
    char full[256];
    snprintf(full, sizeof full, S_PREFIX "%s%s", name,
             kind == S_COUNTER && !s_ends_with(name, "_total") ? "_total" : "");
    s_require(s_valid_name(full, false), full);
    for (node_metric_t *m = self->first; m; m = m->next)
        if (strcmp(m->name, full) == 0) {
            assert(m->kind == kind);    //  one name, one type
            return m;
        }
    node_metric_t *m = calloc(1, sizeof *m);
    assert(m);
    m->kind = kind;
    m->registry = self;
    m->name = strdup(full);
    m->help = strdup(help);
    if (labels && *labels) {
        char *copy = strdup(labels), *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            assert(m->label_count < S_LABELS_MAX);
            s_require(s_valid_name(tok, true) && !(kind == S_HISTOGRAM && strcmp(tok, "le") == 0),
                      tok);
            m->labels[m->label_count++] = strdup(tok);
        }
        free(copy);
    }
    if (kind == S_HISTOGRAM) {
        //  +Inf is always rendered; a caller's trailing +Inf is not repeated.
        while (bucket_count > 0 && isinf(buckets[bucket_count - 1]))
            bucket_count--;
        m->buckets = calloc(bucket_count + 1, sizeof(double));
        for (size_t i = 0; i < bucket_count; i++) {
            assert(i == 0 || buckets[i] > buckets[i - 1]);
            m->buckets[i] = buckets[i];
        }
        m->bucket_count = bucket_count;
    }
    m->index = zhashx_new();
    if (self->last)
        self->last->next = m;
    else
        self->first = m;
    self->last = m;
    return m;
}

node_metric_t *node_metrics_counter(node_metrics_t *self, const char *name, const char *help,
                                    const char *labels)
{
    return s_register(self, S_COUNTER, name, help, labels, NULL, 0);
}

node_metric_t *node_metrics_gauge(node_metrics_t *self, const char *name, const char *help,
                                  const char *labels)
{
    return s_register(self, S_GAUGE, name, help, labels, NULL, 0);
}

node_metric_t *node_metrics_histogram(node_metrics_t *self, const char *name, const char *help,
                                      const char *labels, const double *buckets, size_t count)
{
    assert(!s_ends_with(name, "_total") && !s_ends_with(name, "_bucket") &&
           !s_ends_with(name, "_sum") && !s_ends_with(name, "_count"));
    return s_register(self, S_HISTOGRAM, name, help, labels, buckets, count);
}

//  The index key of a label value list: each value with its length, so no separator byte
//  inside a value can make two lists collide.
static char *s_series_key(const node_metric_t *m, const char *const *values)
{
    size_t cap = 2;
    for (size_t i = 0; i < m->label_count; i++)
        cap += strlen(values[i]) + 12;
    char *key = malloc(cap);
    size_t used = 0;
    key[0] = '.';       //  zhashx keys are strings; a family without labels has key "."
    key[1] = '\0';
    for (size_t i = 0; i < m->label_count; i++)
        used += (size_t) snprintf(key + used, cap - used, "%zu:%s", strlen(values[i]), values[i]);
    return key;
}

static s_series_t *s_find(const node_metric_t *m, const char *const *values)
{
    assert(m->label_count == 0 || values);
    char *key = s_series_key(m, values);
    s_series_t *series = zhashx_lookup(m->index, key);
    free(key);
    return series;
}

static s_series_t *s_get(node_metric_t *m, const char *const *values)
{
    s_series_t *series = s_find(m, values);
    if (series)
        return series;
    if (m->series_count >= S_SERIES_MAX) {
        m->registry->dropped++;
        return NULL;
    }
    series = calloc(1, sizeof *series);
    series->values = calloc(m->label_count + 1, sizeof(char *));
    for (size_t i = 0; i < m->label_count; i++) {
        assert(values[i]);
        series->values[i] = strdup(values[i]);
    }
    if (m->kind == S_HISTOGRAM)
        series->bucket_hits = calloc(m->bucket_count + 1, sizeof(unsigned long long));
    char *key = s_series_key(m, values);
    zhashx_insert(m->index, key, series);
    free(key);
    if (m->last)
        m->last->next = series;
    else
        m->first = series;
    m->last = series;
    m->series_count++;
    return series;
}

void node_metric_add(node_metric_t *m, const char *const *label_values, double delta)
{
    assert(m && m->kind != S_HISTOGRAM);
    if (m->kind == S_COUNTER && !(delta >= 0))
        return;
    s_series_t *series = s_get(m, label_values);
    if (series)
        series->value += delta;
}

void node_metric_set(node_metric_t *m, const char *const *label_values, double value)
{
    assert(m && m->kind != S_HISTOGRAM);
    s_series_t *series = s_get(m, label_values);
    if (series)
        series->value = value;
}

void node_metric_observe(node_metric_t *m, const char *const *label_values, double value)
{
    assert(m && m->kind == S_HISTOGRAM);
    s_series_t *series = s_get(m, label_values);
    if (!series || isnan(value))
        return;
    size_t i = 0;
    while (i < m->bucket_count && value > m->buckets[i])
        i++;
    series->bucket_hits[i]++;   //  i == bucket_count: only +Inf
    series->sum += value;
    series->count++;
}

double node_metric_value(const node_metric_t *m, const char *const *label_values)
{
    const s_series_t *series = s_find(m, label_values);
    if (!series)
        return 0;
    return m->kind == S_HISTOGRAM ? (double) series->count : series->value;
}

//  --- Rendering ------------------------------------------------------------------------------

//  A sample value as Prometheus parses it (Go ParseFloat): integers without exponent,
//  others in the shortest form that reads back the same, +Inf/-Inf/NaN spelled so.
static void s_format_value(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, cap, "%.0f", v);
    else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, cap, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

//  HELP text escapes backslash and newline; label values also the double quote.
static void s_escape(FILE *out, const char *text, bool quote)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (quote && *p == '"')
            fputs("\\\"", out);
        else
            fputc(*p, out);
    }
}

//  {a="x",b="y"[,le="0.5"]} — nothing when there are no labels at all.
static void s_labels(FILE *out, const node_metric_t *m, const s_series_t *s, const char *le)
{
    if (m->label_count == 0 && !le)
        return;
    fputc('{', out);
    for (size_t i = 0; i < m->label_count; i++) {
        fprintf(out, "%s%s=\"", i ? "," : "", m->labels[i]);
        s_escape(out, s->values[i], true);
        fputc('"', out);
    }
    if (le)
        fprintf(out, "%sle=\"%s\"", m->label_count ? "," : "", le);
    fputc('}', out);
}

static void s_render_family(FILE *out, const node_metric_t *m)
{
    fprintf(out, "# HELP %s ", m->name);
    s_escape(out, m->help, false);
    fprintf(out, "\n# TYPE %s %s\n", m->name, s_kind_names[m->kind]);
    char num[64];
    for (const s_series_t *s = m->first; s; s = s->next) {
        if (m->kind != S_HISTOGRAM) {
            fputs(m->name, out);
            s_labels(out, m, s, NULL);
            s_format_value(num, sizeof num, s->value);
            fprintf(out, " %s\n", num);
            continue;
        }
        unsigned long long cumulative = 0;
        for (size_t i = 0; i <= m->bucket_count; i++) {
            cumulative += s->bucket_hits[i];
            char le[64];
            s_format_value(le, sizeof le, i < m->bucket_count ? m->buckets[i] : INFINITY);
            fprintf(out, "%s_bucket", m->name);
            s_labels(out, m, s, le);
            fprintf(out, " %llu\n", cumulative);
        }
        fprintf(out, "%s_sum", m->name);
        s_labels(out, m, s, NULL);
        s_format_value(num, sizeof num, s->sum);
        fprintf(out, " %s\n%s_count", num, m->name);
        s_labels(out, m, s, NULL);
        fprintf(out, " %llu\n", s->count);
    }
}

char *node_metrics_render(const node_metrics_t *self)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    for (const node_metric_t *m = self->first; m; m = m->next)
        s_render_family(out, m);
    if (self->dropped)
        fprintf(out,
                "# HELP " S_PREFIX "metrics_series_dropped_total Metric updates dropped because "
                "a family reached %d series.\n# TYPE " S_PREFIX "metrics_series_dropped_total "
                "counter\n" S_PREFIX "metrics_series_dropped_total %llu\n",
                S_SERIES_MAX, self->dropped);
    fclose(out);
    return text;
}
