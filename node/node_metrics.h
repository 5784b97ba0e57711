//  node_metrics: counters, gauges and histograms with labels, rendered in the Prometheus
//  text exposition format 0.0.4 (names prefixed ctim_, base units, counters end in _total:
//  a counter registered without the suffix gets it).  Families render in registration
//  order, series in creation order.  A family holds at most 10000 series; updates for
//  further label combinations are dropped and counted in
//  ctim_metrics_series_dropped_total (so a peer-chosen label cannot exhaust memory).
//  Bad names, label names or label counts are programming mistakes (assert).
#ifndef NODE_METRICS_H
#define NODE_METRICS_H

#include <stddef.h>
#include <stdio.h>

typedef struct node_metrics node_metrics_t;
typedef struct node_metric node_metric_t;

node_metrics_t *node_metrics_new(void);
void node_metrics_destroy(node_metrics_t **self_p);

//  Register a metric family (name without the ctim_ prefix; help text; label names
//  comma separated or NULL).  Returns a handle, stable for the registry's life; registering
//  the same name and type again returns the same handle.
node_metric_t *node_metrics_counter(node_metrics_t *self, const char *name, const char *help,
                                    const char *labels);
node_metric_t *node_metrics_gauge(node_metrics_t *self, const char *name, const char *help,
                                  const char *labels);
//  Buckets in the metric's base unit (seconds for latencies), ascending, count given.
node_metric_t *node_metrics_histogram(node_metrics_t *self, const char *name, const char *help,
                                      const char *labels, const double *buckets, size_t count);

//  Update the series with these label values (as many as the family has labels, in order;
//  NULL when it has none).  Series are created on first use.  Label values may hold any
//  text (they are escaped when rendered).  add ignores negative deltas on counters.
void node_metric_add(node_metric_t *m, const char *const *label_values, double delta);
void node_metric_set(node_metric_t *m, const char *const *label_values, double value);
void node_metric_observe(node_metric_t *m, const char *const *label_values, double value);

//  Current value of a series (counter/gauge; a histogram's count), 0 if it does not exist.
double node_metric_value(const node_metric_t *m, const char *const *label_values);

//  The whole registry in the text format; returns a new string (the caller frees it).
char *node_metrics_render(const node_metrics_t *self);

#endif
