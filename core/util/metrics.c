/* metrics — in-memory counters in the Prometheus text format
 * (see core/util/metrics.h).
 *
 * Memory is bounded whatever callers pass: at most MAX_SERIES series per
 * table. Past that, requests are counted under route="other" (a few extra
 * series are kept in reserve for it) and counters under value="other"; a
 * sample that still finds no room is counted in
 * relais_metrics_dropped_total, so the loss shows instead of growing.
 * Lookups are linear: a running server has a few hundred series at most.
 */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#define MAX_SERIES    1024
#define RESERVE       128     /* extra room for the "other" series */
#define MAX_RENDERERS 8
#define NBUCKETS      11      /* finite bounds; +Inf is the count */

static const double bucket_le[NBUCKETS] = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};
static const char *const bucket_txt[NBUCKETS] = {
    "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"
};

struct req_series {
    char *method, *route;
    int status;
    uint64_t n;
};

struct hist_series {
    char *route;
    uint64_t bucket[NBUCKETS];   /* per bucket, made cumulative at render */
    uint64_t count;
    double sum;
};

struct counter {
    char *name, *label, *value;  /* LABEL and VALUE are NULL together */
    uint64_t n;
};

struct renderer {
    metrics_render_fn fn;
    void *arg;
};

static struct req_series reqs[MAX_SERIES + RESERVE];
static int nreqs;
static struct hist_series hists[MAX_SERIES + RESERVE];
static int nhists;
static struct counter counters[MAX_SERIES + RESERVE];
static int ncounters;
static struct renderer renderers[MAX_RENDERERS];
static int nrenderers;
static uint64_t dropped;

static int eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The slot for a new series, or -1: the first MAX_SERIES for anything,
 * the reserve only for the overflow series itself. */
static int room(int n, int overflow)
{
    return n < (overflow ? MAX_SERIES + RESERVE : MAX_SERIES);
}

static struct req_series *req_find(const char *method, const char *route, int status)
{
    for (int i = 0; i < nreqs; i++)
        if (reqs[i].status == status && eq(reqs[i].route, route)
            && eq(reqs[i].method, method))
            return &reqs[i];
    return NULL;
}

static struct req_series *req_get(const char *method, const char *route, int status)
{
    struct req_series *s = req_find(method, route, status);
    int overflow = strcmp(route, "other") == 0;

    if (s)
        return s;
    if (!room(nreqs, overflow))
        return overflow ? NULL : req_get(method, "other", status);
    s = &reqs[nreqs];
    s->method = strdup(method);
    s->route = strdup(route);
    if (!s->method || !s->route) {
        free(s->method);
        free(s->route);
        memset(s, 0, sizeof *s);
        return NULL;
    }
    s->status = status;
    s->n = 0;
    nreqs++;
    return s;
}

static struct hist_series *hist_get(const char *route)
{
    int overflow = strcmp(route, "other") == 0;
    struct hist_series *h;

    for (int i = 0; i < nhists; i++)
        if (strcmp(hists[i].route, route) == 0)
            return &hists[i];
    if (!room(nhists, overflow))
        return overflow ? NULL : hist_get("other");
    h = &hists[nhists];
    memset(h, 0, sizeof *h);
    if (!(h->route = strdup(route)))
        return NULL;
    nhists++;
    return h;
}

/* Methods come from a fixed set; anything else shares one label. */
static const char *method_label(const char *m)
{
    static const char *const known[] = {
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL
    };
    for (int i = 0; m && known[i]; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER";
}

void metrics_request(const char *method, const char *route, int status, double seconds)
{
    struct req_series *r;
    struct hist_series *h;
    const char *m = method_label(method);

    if (!route)
        route = "none";
    if (status < 100 || status > 599)
        status = 0;
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    r = req_get(m, route, status);
    if (r)
        r->n++;
    else
        dropped++;
    h = hist_get(route);
    if (!h) {
        dropped++;
        return;
    }
    for (int i = 0; i < NBUCKETS; i++) {
        if (seconds <= bucket_le[i]) {
            h->bucket[i]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

/* Metric and label names per the exposition format. */
static int valid_name(const char *s, int colon_ok)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || (colon_ok && c == ':')))
            return 0;
    }
    return 1;
}

/* Names that would collide with the families rendered here. */
static int reserved(const char *name)
{
    return strncmp(name, "http_request", 12) == 0 || strcmp(name, "metrics_dropped_total") == 0;
}

static struct counter *counter_get(const char *name, const char *label, const char *value)
{
    int overflow = value && strcmp(value, "other") == 0;
    struct counter *c;

    for (int i = 0; i < ncounters; i++) {
        c = &counters[i];
        if (strcmp(c->name, name) == 0 && eq(c->label, label) && eq(c->value, value))
            return c;
    }
    if (!room(ncounters, overflow))
        return (value && !overflow) ? counter_get(name, label, "other") : NULL;
    c = &counters[ncounters];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->label = label ? strdup(label) : NULL;
    c->value = value ? strdup(value) : NULL;
    if (!c->name || (label && !c->label) || (value && !c->value)) {
        free(c->name);
        free(c->label);
        free(c->value);
        memset(c, 0, sizeof *c);
        return NULL;
    }
    ncounters++;
    return c;
}

void metrics_count(const char *name, const char *label, const char *value, uint64_t n)
{
    struct counter *c;

    /* A label needs a value and the other way round; a bad name would make
     * the whole exposition unreadable to Prometheus, so it is refused. */
    if (!valid_name(name, 1) || reserved(name) || (!label != !value)
        || (label && !valid_name(label, 0))) {
        dropped++;
        return;
    }
    c = counter_get(name, label, value);
    if (!c) {
        dropped++;
        return;
    }
    c->n += n;
}

int metrics_add_renderer(metrics_render_fn fn, void *arg)
{
    if (!fn || nrenderers == MAX_RENDERERS)
        return -1;
    renderers[nrenderers].fn = fn;
    renderers[nrenderers].arg = arg;
    nrenderers++;
    return 0;
}

void metrics_remove_renderer(metrics_render_fn fn, void *arg)
{
    for (int i = 0; i < nrenderers; i++) {
        if (renderers[i].fn == fn && renderers[i].arg == arg) {
            memmove(&renderers[i], &renderers[i + 1],
                    (size_t)(nrenderers - i - 1) * sizeof renderers[0]);
            nrenderers--;
            return;
        }
    }
}

/* A label value inside double quotes: backslash, quote and newline escaped. */
static void add_escaped(struct evbuffer *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            evbuffer_add(out, "\\\\", 2);
        else if (*s == '"')
            evbuffer_add(out, "\\\"", 2);
        else if (*s == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, s, 1);
    }
}

static void render_requests(struct evbuffer *out)
{
    evbuffer_add_printf(out, "# HELP relais_http_requests_total HTTP requests by method, "
                        "route pattern and status.\n"
                        "# TYPE relais_http_requests_total counter\n");
    for (int i = 0; i < nreqs; i++) {
        evbuffer_add_printf(out, "relais_http_requests_total{method=\"");
        add_escaped(out, reqs[i].method);
        evbuffer_add_printf(out, "\",route=\"");
        add_escaped(out, reqs[i].route);
        evbuffer_add_printf(out, "\",status=\"%d\"} %llu\n", reqs[i].status,
                            (unsigned long long)reqs[i].n);
    }
}

static void render_histograms(struct evbuffer *out)
{
    const char *fam = "relais_http_request_duration_seconds";

    evbuffer_add_printf(out, "# HELP %s Time from request to reply, by route pattern.\n"
                        "# TYPE %s histogram\n", fam, fam);
    for (int i = 0; i < nhists; i++) {
        struct hist_series *h = &hists[i];
        uint64_t cum = 0;

        for (int b = 0; b <= NBUCKETS; b++) {
            cum += b < NBUCKETS ? h->bucket[b] : 0;
            evbuffer_add_printf(out, "%s_bucket{route=\"", fam);
            add_escaped(out, h->route);
            evbuffer_add_printf(out, "\",le=\"%s\"} %llu\n",
                                b < NBUCKETS ? bucket_txt[b] : "+Inf",
                                (unsigned long long)(b < NBUCKETS ? cum : h->count));
        }
        evbuffer_add_printf(out, "%s_sum{route=\"", fam);
        add_escaped(out, h->route);
        evbuffer_add_printf(out, "\"} %.9g\n%s_count{route=\"", h->sum, fam);
        add_escaped(out, h->route);
        evbuffer_add_printf(out, "\"} %llu\n", (unsigned long long)h->count);
    }
}

/* Counters grouped by name, each family introduced once. */
static void render_counters(struct evbuffer *out)
{
    for (int i = 0; i < ncounters; i++) {
        int seen = 0;

        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(counters[j].name, counters[i].name) == 0;
        if (seen)
            continue;
        evbuffer_add_printf(out, "# HELP relais_%s Counter %s.\n# TYPE relais_%s counter\n",
                            counters[i].name, counters[i].name, counters[i].name);
        for (int j = i; j < ncounters; j++) {
            struct counter *c = &counters[j];

            if (strcmp(c->name, counters[i].name) != 0)
                continue;
            evbuffer_add_printf(out, "relais_%s", c->name);
            if (c->label) {
                evbuffer_add_printf(out, "{%s=\"", c->label);
                add_escaped(out, c->value);
                evbuffer_add(out, "\"}", 2);
            }
            evbuffer_add_printf(out, " %llu\n", (unsigned long long)c->n);
        }
    }
}

void metrics_render(struct evbuffer *out)
{
    render_requests(out);
    render_histograms(out);
    render_counters(out);
    evbuffer_add_printf(out, "# HELP relais_metrics_dropped_total Samples not recorded "
                        "(series limit reached or bad name).\n"
                        "# TYPE relais_metrics_dropped_total counter\n"
                        "relais_metrics_dropped_total %llu\n", (unsigned long long)dropped);
    for (int i = 0; i < nrenderers; i++)
        renderers[i].fn(out, renderers[i].arg);
}

void metrics_reset(void)
{
    for (int i = 0; i < nreqs; i++) {
        free(reqs[i].method);
        free(reqs[i].route);
    }
    for (int i = 0; i < nhists; i++)
        free(hists[i].route);
    for (int i = 0; i < ncounters; i++) {
        free(counters[i].name);
        free(counters[i].label);
        free(counters[i].value);
    }
    memset(reqs, 0, sizeof reqs);
    memset(hists, 0, sizeof hists);
    memset(counters, 0, sizeof counters);
    nreqs = nhists = ncounters = nrenderers = 0;
    dropped = 0;
}
