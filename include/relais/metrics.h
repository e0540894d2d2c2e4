/* metrics — counters kept in memory and rendered in the Prometheus text
 * format (version 0.0.4) on GET /metrics.
 *
 * Requests are counted by route pattern (never the raw path, so the label set
 * stays small) and status; latency goes into one histogram per route.
 * Other modules add gauges computed on demand through a render callback
 * (e.g. the outbox depth read from the database).
 */
#ifndef RELAIS_METRICS_H
#define RELAIS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Records one request. ROUTE may be NULL (unmatched: counted as "none"). */
void metrics_request(const char *method, const char *route, int status, double seconds);
/* A named counter with one optional label ("plugin_errors_total",
 * "plugin", "sms"); created on first use. */
void metrics_count(const char *name, const char *label, const char *value, uint64_t n);

typedef void (*metrics_render_fn)(struct evbuffer *out, void *arg);
/* Adds a callback run at each render (≤ 8). */
int metrics_add_renderer(metrics_render_fn fn, void *arg);

/* Appends the whole exposition to OUT. */
void metrics_render(struct evbuffer *out);
/* Frees everything (at exit, and between unit tests). */
void metrics_reset(void);

#endif
