/* Unit tests for the Prometheus metrics (core/util/metrics.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <event2/buffer.h>

#include "metrics.h"

/* The whole exposition as a malloc'd string. */
static char *render(void)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *s;

    assert_non_null(b);
    metrics_render(b);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    assert_non_null(s);
    assert_int_equal(evbuffer_remove(b, s, n), (int)n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The value on the line that starts with SERIES (followed by a space). */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; ) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NAN;
}

static int reset(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

static void test_empty(void **state)
{
    char *t;

    (void)state;
    t = render();
    assert_int_equal(count(t, "# TYPE relais_http_requests_total counter\n"), 1);
    assert_int_equal(count(t, "# TYPE relais_http_request_duration_seconds histogram\n"), 1);
    assert_int_equal(count(t, "# HELP relais_http_requests_total "), 1);
    assert_true(value_of(t, "relais_metrics_dropped_total") == 0);
    assert_int_equal(count(t, "relais_http_requests_total{"), 0);
    free(t);
}

static void test_request_counter_and_histogram(void **state)
{
    const char *h = "relais_http_request_duration_seconds";
    char series[200], *t;
    static const char *const le[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1",
                                     "0.25", "0.5", "1", "2.5", "5", "+Inf"};
    static const int want[] = {0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3};

    (void)state;
    metrics_request("GET", "/api/v1/venues", 200, 0.003);
    metrics_request("GET", "/api/v1/venues", 200, 0.07);
    metrics_request("POST", "/api/v1/venues", 422, 7.0);
    metrics_request("GET", NULL, 404, 0.0001);
    t = render();
    assert_true(value_of(t, "relais_http_requests_total{method=\"GET\",route=\"/api/v1/venues\","
                            "status=\"200\"}") == 2);
    assert_true(value_of(t, "relais_http_requests_total{method=\"POST\",route=\"/api/v1/venues\","
                            "status=\"422\"}") == 1);
    assert_true(value_of(t, "relais_http_requests_total{method=\"GET\",route=\"none\","
                            "status=\"404\"}") == 1);
    /* One histogram per route, methods and statuses together, cumulative. */
    for (int i = 0; i < 12; i++) {
        snprintf(series, sizeof series, "%s_bucket{route=\"/api/v1/venues\",le=\"%s\"}", h, le[i]);
        assert_true(value_of(t, series) == want[i]);
    }
    snprintf(series, sizeof series, "%s_count{route=\"/api/v1/venues\"}", h);
    assert_true(value_of(t, series) == 3);
    snprintf(series, sizeof series, "%s_sum{route=\"/api/v1/venues\"}", h);
    assert_true(fabs(value_of(t, series) - 7.073) < 1e-9);
    snprintf(series, sizeof series, "%s_bucket{route=\"none\",le=\"0.001\"}", h);
    assert_true(value_of(t, series) == 1);
    /* HELP and TYPE once per family, whatever the number of series. */
    assert_int_equal(count(t, "# TYPE relais_http_requests_total"), 1);
    assert_int_equal(count(t, "# TYPE relais_http_request_duration_seconds"), 1);
    assert_int_equal(count(t, "# HELP relais_http_request_duration_seconds"), 1);
    free(t);
}

static void test_odd_inputs(void **state)
{
    char *t;

    (void)state;
    metrics_request("BREW", "/x", 999, -1.0);
    metrics_request(NULL, "/x", 42, NAN);
    metrics_request("GET", "/x", 200, INFINITY);
    t = render();
    /* Unknown methods share one label; impossible statuses read 0. */
    assert_true(value_of(t, "relais_http_requests_total{method=\"OTHER\",route=\"/x\","
                            "status=\"0\"}") == 2);
    assert_true(value_of(t, "relais_http_request_duration_seconds_bucket{route=\"/x\","
                            "le=\"0.001\"}") == 3);
    assert_true(value_of(t, "relais_http_request_duration_seconds_sum{route=\"/x\"}") == 0);
    free(t);
}

static void test_label_escaping(void **state)
{
    char *t;

    (void)state;
    metrics_request("GET", "/a\\b\"c\nd", 200, 0.01);
    metrics_count("plugin_errors_total", "plugin", "we\"ird\\na\nme", 1);
    t = render();
    assert_non_null(strstr(t, "route=\"/a\\\\b\\\"c\\nd\""));
    assert_non_null(strstr(t, "relais_plugin_errors_total{plugin=\"we\\\"ird\\\\na\\nme\"} 1\n"));
    /* No raw newline inside any label: every line starts a comment or a name. */
    for (const char *p = t; *p; p = strchr(p, '\n') + 1) {
        assert_true(strncmp(p, "# ", 2) == 0 || strncmp(p, "relais_", 7) == 0);
        assert_non_null(strchr(p, '\n'));
    }
    free(t);
}

static void test_counters(void **state)
{
    char *t;

    (void)state;
    metrics_count("plugin_errors_total", "plugin", "sms", 1);
    metrics_count("notifications_total", NULL, NULL, 5);
    metrics_count("plugin_errors_total", "plugin", "email", 2);
    metrics_count("plugin_errors_total", "plugin", "sms", 3);
    metrics_count("notifications_total", NULL, NULL, 1);
    t = render();
    assert_true(value_of(t, "relais_plugin_errors_total{plugin=\"sms\"}") == 4);
    assert_true(value_of(t, "relais_plugin_errors_total{plugin=\"email\"}") == 2);
    assert_true(value_of(t, "relais_notifications_total") == 6);
    assert_int_equal(count(t, "# TYPE relais_plugin_errors_total counter\n"), 1);
    assert_int_equal(count(t, "# HELP relais_plugin_errors_total "), 1);
    assert_int_equal(count(t, "# TYPE relais_notifications_total counter\n"), 1);
    /* A family's series follow its TYPE line, not another family's. */
    {
        const char *type = strstr(t, "# TYPE relais_plugin_errors_total");
        const char *sms = strstr(t, "relais_plugin_errors_total{plugin=\"sms\"}");
        const char *email = strstr(t, "relais_plugin_errors_total{plugin=\"email\"}");
        const char *other = strstr(t, "# TYPE relais_notifications_total");
        assert_true(type < sms && type < email);
        assert_true((sms < other && email < other) || (sms > other && email > other && type > other));
    }
    assert_true(value_of(t, "relais_metrics_dropped_total") == 0);
    free(t);
}

static void test_bad_counters_are_dropped(void **state)
{
    char *t;

    (void)state;
    metrics_count("bad name", NULL, NULL, 1);
    metrics_count("9lives", NULL, NULL, 1);
    metrics_count("", NULL, NULL, 1);
    metrics_count(NULL, NULL, NULL, 1);
    metrics_count("ok_total", "plugin", NULL, 1);          /* label without value */
    metrics_count("ok_total", NULL, "sms", 1);             /* value without label */
    metrics_count("ok_total", "bad-label", "sms", 1);
    metrics_count("ok_total", "le:x", "sms", 1);           /* no ':' in label names */
    metrics_count("http_requests_total", NULL, NULL, 1);   /* would clash */
    metrics_count("metrics_dropped_total", NULL, NULL, 1);
    t = render();
    assert_true(value_of(t, "relais_metrics_dropped_total") == 10);
    assert_null(strstr(t, "ok_total"));
    assert_null(strstr(t, "relais_bad name"));
    assert_null(strstr(t, "relais_9lives"));
    free(t);
}

static void test_series_are_capped(void **state)
{
    char route[32], *t;
    double total = 0;

    (void)state;
    for (int i = 0; i < 1100; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        metrics_request("GET", route, 200, 0.01);
    }
    t = render();
    assert_true(value_of(t, "relais_http_requests_total{method=\"GET\",route=\"/r0\","
                            "status=\"200\"}") == 1);
    assert_int_equal(count(t, "relais_http_requests_total{"), 1025);
    assert_true(value_of(t, "relais_http_requests_total{method=\"GET\",route=\"other\","
                            "status=\"200\"}") == 1100 - 1024);
    assert_true(value_of(t, "relais_http_request_duration_seconds_count{route=\"other\"}")
                == 1100 - 1024);
    assert_true(isnan(value_of(t, "relais_http_requests_total{method=\"GET\",route=\"/r1050\","
                                  "status=\"200\"}")));
    /* Nothing lost: every request is counted somewhere. */
    for (int i = 0; i < 1024; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        char series[128];
        snprintf(series, sizeof series,
                 "relais_http_requests_total{method=\"GET\",route=\"%s\",status=\"200\"}", route);
        total += value_of(t, series);
    }
    assert_true(total == 1024);
    free(t);
    /* Past the reserve for "other" too, samples are dropped and counted:
     * status 200 has its "other" series already, 127 more fit. */
    for (int s = 100; s < 600; s++)
        metrics_request("GET", "/yet-another", s, 0.01);
    t = render();
    assert_int_equal(count(t, "relais_http_requests_total{"), 1024 + 128);
    assert_true(value_of(t, "relais_metrics_dropped_total") == 500 - 1 - 127);
    free(t);
}

static void test_counter_values_are_capped(void **state)
{
    char v[32], *t;

    (void)state;
    for (int i = 0; i < 1030; i++) {
        snprintf(v, sizeof v, "p%d", i);
        metrics_count("plugin_errors_total", "plugin", v, 1);
    }
    t = render();
    assert_int_equal(count(t, "relais_plugin_errors_total{"), 1025);
    assert_true(value_of(t, "relais_plugin_errors_total{plugin=\"other\"}") == 6);
    assert_int_equal(count(t, "# TYPE relais_plugin_errors_total"), 1);
    free(t);
}

static void extra_gauge(struct evbuffer *out, void *arg)
{
    evbuffer_add_printf(out, "# TYPE relais_outbox_depth gauge\nrelais_outbox_depth %d\n",
                        *(int *)arg);
}

static void test_renderers(void **state)
{
    static int depth = 17;
    char *t;

    (void)state;
    for (int i = 0; i < 8; i++)
        assert_int_equal(metrics_add_renderer(extra_gauge, &depth), 0);
    assert_int_equal(metrics_add_renderer(extra_gauge, &depth), -1);
    assert_int_equal(metrics_add_renderer(NULL, NULL), -1);
    t = render();
    assert_int_equal(count(t, "relais_outbox_depth 17\n"), 8);
    free(t);
    metrics_reset();
    t = render();
    assert_null(strstr(t, "relais_outbox_depth"));
    free(t);
    assert_int_equal(metrics_add_renderer(extra_gauge, &depth), 0);
}

static void test_reset_clears(void **state)
{
    char *t;

    (void)state;
    metrics_request("GET", "/x", 200, 0.1);
    metrics_count("a_total", NULL, NULL, 1);
    metrics_count("bad name", NULL, NULL, 1);
    metrics_reset();
    t = render();
    assert_null(strstr(t, "route=\"/x\""));
    assert_null(strstr(t, "a_total"));
    assert_true(value_of(t, "relais_metrics_dropped_total") == 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, reset, reset),
        cmocka_unit_test_setup_teardown(test_request_counter_and_histogram, reset, reset),
        cmocka_unit_test_setup_teardown(test_odd_inputs, reset, reset),
        cmocka_unit_test_setup_teardown(test_label_escaping, reset, reset),
        cmocka_unit_test_setup_teardown(test_counters, reset, reset),
        cmocka_unit_test_setup_teardown(test_bad_counters_are_dropped, reset, reset),
        cmocka_unit_test_setup_teardown(test_series_are_capped, reset, reset),
        cmocka_unit_test_setup_teardown(test_counter_values_are_capped, reset, reset),
        cmocka_unit_test_setup_teardown(test_renderers, reset, reset),
        cmocka_unit_test_setup_teardown(test_reset_clears, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
