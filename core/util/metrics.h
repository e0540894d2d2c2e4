/* metrics — counters kept in memory and rendered in the Prometheus text
 * format (version 0.0.4) on GET /metrics.
 *
 * Requests are counted by route pattern (never the raw path, so the label set
 * stays small) and status; latency goes into one histogram per route.
 * Other modules add gauges computed on demand through a render callback
 * (e.g. the outbox depth read from the database).
 *
 * Memory is bounded: past 1024 series per table, requests count under
 * route="other" and counters under value "other"; what still finds no room,
 * or has a malformed name, is counted in relais_metrics_dropped_total.
 */
#ifndef RELAIS_METRICS_H
#define RELAIS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Records one request. ROUTE may be NULL (unmatched: counted as "none"). */
void metrics_request(const char *method, const char *route, int status, double seconds);
/* A named counter with one optional label ("plugin_errors_total",
 * "plugin", "sms"); created on first use, rendered as relais_NAME. LABEL and
 * VALUE are both NULL or both set; NAME and LABEL must be Prometheus names. */
void metrics_count(const char *name, const char *label, const char *value, uint64_t n);

typedef void (*metrics_render_fn)(struct evbuffer *out, void *arg);
/* Adds a callback run at each render (≤ 8). */
int metrics_add_renderer(metrics_render_fn fn, void *arg);
/* Removes the renderer FN(ARG), before ARG is freed; absent is fine. */
void metrics_remove_renderer(metrics_render_fn fn, void *arg);

/* Appends the whole exposition to OUT. */
void metrics_render(struct evbuffer *out);
/* Frees everything (at exit, and between unit tests). */
void metrics_reset(void);

#endif
