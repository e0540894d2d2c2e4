/* ops — the core routes of one Relais (see ops.h): the domain resources,
 * and the operations endpoints /health and /metrics with gauges read from
 * the database at each scrape. */
#include "ops.h"

#include "app.h"
#include "config.h"

#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "domain.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "pages.h"
#include "records.h"
#include "store.h"
#include "tokens.h"
#include "relais_build.h"
#include "domain_fields.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The database answers when a statement that reads the file succeeds; a
 * bare "SELECT 1" would not touch the file at all. */
static void h_health(struct http_req *req)
{
    int64_t one = 0;
    cJSON *body = cJSON_CreateObject();

    if (!body) {
        http_reply_json(req, 500, NULL);
        return;
    }
    if (store_int_query(req->app->store, "SELECT 1 FROM schema_migrations LIMIT 1", 0,
                        &one) == 1) {
        if (!cJSON_AddStringToObject(body, "status", "ok"))
            goto oom;
        http_reply_json(req, 200, body);
        return;
    }
    if (!cJSON_AddStringToObject(body, "status", "unavailable") ||
        !cJSON_AddStringToObject(body, "detail", "the database does not answer"))
        goto oom;
    http_reply_json(req, 503, body);
    return;
oom:
    cJSON_Delete(body);
    http_reply_json(req, 500, NULL);
}

/* With metrics = {token = …}: the token, as a bearer token, compared in
 * constant time; 401 otherwise. Without: public (the contract). */
static int metrics_allowed(struct http_req *req)
{
    const char *want = req->app && req->app->cfg ? req->app->cfg->metrics_token : NULL;
    const char *h = http_header(req, "Authorization");
    unsigned char a[32], b[32];

    if (!want)
        return 1;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        /* Hashes of both, so that the comparison takes the same time
         * whatever the lengths. */
        h += 7;
        while (*h == ' ')
            h++;
        tokens_sha256(h, strlen(h), a);
        tokens_sha256(want, strlen(want), b);
        if (tokens_equal(a, b, sizeof a))
            return 1;
    }
    http_problem(req, 401, "/metrics wants its bearer token (metrics.token)");
    http_reply_header(req, "WWW-Authenticate", "Bearer realm=\"metrics\"");
    return 0;
}

static void h_metrics(struct http_req *req)
{
    struct evbuffer *buf;
    const unsigned char *data;
    size_t len;

    if (!metrics_allowed(req))
        return;
    buf = evbuffer_new();
    if (!buf) {
        http_problem(req, 500, "out of memory");
        return;
    }
    metrics_render(buf);
    len = evbuffer_get_length(buf);
    data = evbuffer_pullup(buf, -1);
    if (len > 0 && !data)
        http_problem(req, 500, "out of memory");
    else
        http_reply_data(req, 200, METRICS_TYPE, (const char *)data, len);
    evbuffer_free(buf);
}

/* Counts rows by status with SQL ("SELECT status, count(*) … GROUP BY
 * status") into COUNTS, in the order of STATUSES, so that every known status
 * is exported, 0 included (a series that comes and goes breaks rate()).
 * 0 or -1. */
static int count_by_status(struct store *st, const char *sql, const char *const *statuses,
                           int n, int64_t *counts)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc = -1, step;

    for (int i = 0; i < n; i++)
        counts[i] = 0;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(s, 0);
        for (int i = 0; status && i < n; i++)
            if (strcmp(status, statuses[i]) == 0)
                counts[i] = sqlite3_column_int64(s, 1);
    }
    if (step != SQLITE_DONE) {
        log_warn("ops", "metrics: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    rc = 0;
out:
    store_done(s);
    return rc;
}

static void gauge_by_status(struct evbuffer *out, struct store *st, const char *name,
                            const char *help, const char *sql,
                            const char *const *statuses, int n)
{
    int64_t counts[8];

    if (n > 8 || count_by_status(st, sql, statuses, n, counts) != 0)
        return;
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out, "%s{status=\"%s\"} %lld\n", name, statuses[i],
                            (long long)counts[i]);
}

/* The background checkpointer's figures (a mutex-protected copy). */
static void render_checkpoints(struct evbuffer *out, struct store *st)
{
    struct store_ckpt_stats ck;

    store_checkpoint_stats(st, &ck);
    if (!ck.running)
        return;
    evbuffer_add_printf(out,
        "# HELP relais_wal_checkpoints_total WAL checkpoint rounds run off the event loop.\n"
        "# TYPE relais_wal_checkpoints_total counter\n"
        "relais_wal_checkpoints_total %llu\n"
        "# HELP relais_wal_checkpoint_truncates_total Rounds that also truncated the WAL.\n"
        "# TYPE relais_wal_checkpoint_truncates_total counter\n"
        "relais_wal_checkpoint_truncates_total %llu\n"
        "# HELP relais_wal_checkpoint_busy_total Rounds a lock kept from finishing.\n"
        "# TYPE relais_wal_checkpoint_busy_total counter\n"
        "relais_wal_checkpoint_busy_total %llu\n"
        "# HELP relais_wal_checkpoint_seconds_total Time spent in checkpoints.\n"
        "# TYPE relais_wal_checkpoint_seconds_total counter\n"
        "relais_wal_checkpoint_seconds_total %.6f\n"
        "# HELP relais_wal_checkpoint_seconds_max The longest checkpoint round.\n"
        "# TYPE relais_wal_checkpoint_seconds_max gauge\n"
        "relais_wal_checkpoint_seconds_max %.6f\n"
        "# HELP relais_wal_bytes Size of the WAL file after the last checkpoint.\n"
        "# TYPE relais_wal_bytes gauge\n"
        "relais_wal_bytes %lld\n"
        "# HELP relais_wal_frames Pages in the WAL at the last commit.\n"
        "# TYPE relais_wal_frames gauge\n"
        "relais_wal_frames %lld\n"
        "# HELP relais_wal_wipes_total WAL emptied after an erasure committed.\n"
        "# TYPE relais_wal_wipes_total counter\n"
        "relais_wal_wipes_total %llu\n",
        (unsigned long long)ck.checkpoints, (unsigned long long)ck.truncates,
        (unsigned long long)ck.busy, ck.seconds_total, ck.seconds_max,
        (long long)ck.wal_bytes, (long long)ck.wal_frames, (unsigned long long)ck.wipes);
}

/* Gauges read at each scrape from the counts the triggers of schema step 24
 * keep with every write (a few rows; a GROUP BY over the enrollments took
 * hundreds of milliseconds of the loop at 100x a territory, issue 16). */
static void render_gauges(struct evbuffer *out, void *arg)
{
    static const char *const session_statuses[] = {"scheduled", "cancelled"};
    static const char *const enrollment_statuses[] = {
        "booked", "waitlisted", "cancelled", "attended", "absent", "excused"};
    struct app *app = arg;
    int64_t n = 0;

    evbuffer_add_printf(out, "# HELP relais_build_info The running version.\n"
                        "# TYPE relais_build_info gauge\n"
                        "relais_build_info{version=\"%s\"} 1\n", RELAIS_VERSION);
    evbuffer_add_printf(out, "# HELP relais_start_time_seconds When the server started "
                        "(Unix time).\n# TYPE relais_start_time_seconds gauge\n"
                        "relais_start_time_seconds %lld\n", (long long)app->started_at);
    gauge_by_status(out, app->store, "relais_sessions", "Sessions by status.",
                    OPS_SESSION_COUNTS_SQL,
                    session_statuses, 2);
    if (store_int_query(app->store, OPS_LIVING_COUNT_SQL, 0, &n) == 1)
        evbuffer_add_printf(out, "# HELP relais_beneficiaries Beneficiaries on file "
                            "(erased ones excluded).\n# TYPE relais_beneficiaries gauge\n"
                            "relais_beneficiaries %lld\n", (long long)n);
    gauge_by_status(out, app->store, "relais_enrollments", "Enrollments by status.",
                    OPS_ENROLLMENT_COUNTS_SQL,
                    enrollment_statuses, 6);
    render_checkpoints(out, app->store);
}

int ops_register_routes(struct app *app)
{
    struct http_server *hs = app->http;

    if (venues_register(hs) != 0 || staff_register(hs) != 0 ||
        beneficiaries_register(hs) != 0 || sessions_register(hs) != 0 ||
        enrollments_register(hs) != 0 || pages_register(hs) != 0 ||
        series_register(hs) != 0 ||
        outbox_register(hs) != 0 || records_register(hs) != 0) {
        log_error("ops", "cannot register the domain routes");
        return -1;
    }
    if (http_route(hs, HTTP_GET, "/health", ROUTE_PUBLIC, h_health) != 0 ||
        http_route(hs, HTTP_GET, "/metrics", ROUTE_PUBLIC, h_metrics) != 0) {
        log_error("ops", "cannot register the operations routes");
        return -1;
    }
    if (metrics_add_renderer(render_gauges, app) != 0) {
        log_error("ops", "cannot add the database gauges to the metrics");
        return -1;
    }
    return 0;
}
