/* outbox_api — what the outbox shows: GET
 * /api/v1/enrollments/{id}/notifications, and its series in /metrics.
 *
 * The list gives the rows of the enrollment (for a training enrollment,
 * also those of its parts: a part moved or cancelled on its own speaks
 * through them), ordered by due_at then id. A row in flight ('sending') is
 * shown as it was before the attempt, "pending" with the attempts finished
 * so far: the contract's statuses are what a reader needs, and a reader
 * polling for the outcome of an attempt must not take the attempt in flight
 * for a failed one. Trainers read the notifications of enrollments in their
 * own sessions only, like the enrollments themselves. */
#include "outbox_internal.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "domain_access.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "rtime.h"
#include "store.h"

static const char *const statuses[] = {"pending", "sending", "sent", "delivered",
                                       "failed", "cancelled", "suppressed"};
#define NSTATUSES ((int)(sizeof statuses / sizeof statuses[0]))

static const char *const result_names[OB_NRESULTS] = {"sent", "retry", "failed",
                                                      "suppressed", "cancelled"};
void ob_count_send(struct outbox *ob, int channel, int result)
{
    if (channel >= 0 && channel < OB_NCHANNELS && result >= 0 && result < OB_NRESULTS)
        ob->sends[channel][result]++;
}

static cJSON *row_json(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject();
    const char *status = (const char *)sqlite3_column_text(s, 4);
    int sending = status && strcmp(status, "sending") == 0;

    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    json_add_str(o, "kind", (const char *)sqlite3_column_text(s, 1));
    json_add_str(o, "channel", (const char *)sqlite3_column_text(s, 2));
    json_add_time(o, "due_at", sqlite3_column_int64(s, 3));
    json_add_str(o, "status", sending ? "pending" : status);
    json_add_int(o, "attempts", sqlite3_column_int64(s, 5) - (sending ? 1 : 0));
    if (sqlite3_column_type(s, 6) == SQLITE_NULL) {
        if (!cJSON_AddNullToObject(o, "segments"))
            goto fail;
    } else {
        json_add_int(o, "segments", sqlite3_column_int64(s, 6));
    }
    json_add_str(o, "provider_id", (const char *)sqlite3_column_text(s, 7));
    json_add_str(o, "error", (const char *)sqlite3_column_text(s, 8));
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page p;
    sqlite3_stmt *s = NULL;
    int64_t eid, session_id = 0;
    int rc;

    json_check_init(&c);
    if (http_param_id(req, "id", &eid) != 0)
        goto out;
    rc = store_int_query(st, "SELECT session_id FROM enrollments WHERE id = ?1", eid,
                         &session_id);
    if (rc == 0) {
        http_problem(req, 404, "no enrollment %lld", (long long)eid);
        goto out;
    }
    if (rc < 0)
        goto fail;
    if (domain_enrollment_denied(req, session_id))
        goto out;
    http_page_parse(req, &c, &p);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "SELECT id, kind, channel, due_at, status, attempts, segments,"
                       " provider_id, error FROM notifications WHERE enrollment_id IN"
                       " (SELECT ?1 UNION SELECT id FROM enrollments WHERE parent_id = ?1)"
                       " AND (?2 = 0 OR due_at > ?3 OR (due_at = ?3 AND id > ?4))"
                       " ORDER BY due_at, id LIMIT ?5");
    if (!s || sqlite3_bind_int64(s, 1, eid) != SQLITE_OK
        || sqlite3_bind_int(s, 2, p.has_cursor) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, p.has_cursor ? p.k1 : 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 4, p.has_cursor ? p.k2 : 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 5, (int64_t)p.limit + 1) != SQLITE_OK
        || http_reply_page(req, s, &p, row_json, 3, 0) != 0)   /* cursor: due_at, id */
        goto fail;
    store_done(s);
    goto out;
fail:
    log_error("outbox", "listing the notifications of enrollment %lld: %s", (long long)eid,
              sqlite3_errmsg(store_db(st)));
    store_done(s);
    http_problem(req, 500, "the notifications could not be listed");
out:
    json_check_free(&c);
}

/* relais_outbox_oldest_due_seconds{channel}: how long the oldest pending
 * notification that is due has waited (0 when none is). The depth counts
 * reminders due days ahead too; this is what says the queue is stuck (a
 * gateway down, the dispatcher starved): what the alert rules of
 * docs/operations.md watch. Quiet hours and retry backoff move due_at
 * forward, so neither counts as late. One index lookup per channel. */
static void render_lateness(struct evbuffer *out, struct outbox *ob)
{
    int64_t now = rt_now(), oldest;

    evbuffer_add_printf(out, "# HELP relais_outbox_oldest_due_seconds How long the oldest "
                        "pending notification that is due has waited.\n"
                        "# TYPE relais_outbox_oldest_due_seconds gauge\n");
    for (int ch = 0; ch < OB_NCHANNELS; ch++) {
        sqlite3_stmt *s = store_stmt(ob->st, OUTBOX_OLDEST_DUE_SQL);
        int64_t late = 0;

        if (!s)
            return;
        if (store_bind_text(s, 1, outbox_channel_names[ch]) == 0 &&
            sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
            oldest = sqlite3_column_int64(s, 0);
            late = oldest < now ? now - oldest : 0;
        }
        store_done(s);
        evbuffer_add_printf(out, "relais_outbox_oldest_due_seconds{channel=\"%s\"} %lld\n",
                            outbox_channel_names[ch], (long long)late);
    }
}

/* relais_notifications{kind,channel,status} for every known combination
 * (0 included: a series that comes and goes breaks rate()), the outbox
 * depth, and the attempts by channel and result. */
void ob_render_metrics(struct evbuffer *out, void *arg)
{
    int64_t counts[OUTBOX_KIND_MAX][OB_NCHANNELS][NSTATUSES];
    struct outbox *ob = arg;
    sqlite3_stmt *s = NULL;
    int64_t depth = 0;
    int step;

    evbuffer_add_printf(out, "# HELP relais_notification_sends_total Notifications that "
                        "left the queue, by channel and outcome.\n"
                        "# TYPE relais_notification_sends_total counter\n");
    for (int ch = 0; ch < OB_NCHANNELS; ch++)
        for (int r = 0; r < OB_NRESULTS; r++)
            evbuffer_add_printf(out, "relais_notification_sends_total{channel=\"%s\","
                                "result=\"%s\"} %llu\n", outbox_channel_names[ch],
                                result_names[r], (unsigned long long)ob->sends[ch][r]);
    memset(counts, 0, sizeof counts);
    /* Kept by triggers with every write (schema step 23): a few rows, not
     * a GROUP BY over every notification on the loop. */
    s = store_stmt(ob->st, OUTBOX_COUNTS_SQL);
    if (!s)
        return;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int k = outbox_kind_index((const char *)sqlite3_column_text(s, 0));
        int ch = outbox_channel_index((const char *)sqlite3_column_text(s, 1));
        const char *status = (const char *)sqlite3_column_text(s, 2);

        for (int i = 0; k >= 0 && ch >= 0 && status && i < NSTATUSES; i++)
            if (strcmp(status, statuses[i]) == 0)
                counts[k][ch][i] = sqlite3_column_int64(s, 3);
    }
    store_done(s);
    if (step != SQLITE_DONE) {
        log_warn("outbox", "metrics: %s", sqlite3_errmsg(store_db(ob->st)));
        return;
    }
    evbuffer_add_printf(out, "# HELP relais_notifications Notifications by kind, channel "
                        "and status.\n# TYPE relais_notifications gauge\n");
    for (int k = 0; k < OUTBOX_KIND_MAX; k++)
        for (int ch = 0; ch < OB_NCHANNELS; ch++)
            for (int i = 0; i < NSTATUSES; i++) {
                evbuffer_add_printf(out, "relais_notifications{kind=\"%s\",channel=\"%s\","
                                    "status=\"%s\"} %lld\n",
                                    outbox_kind_name((enum outbox_kind)k),
                                    outbox_channel_names[ch], statuses[i],
                                    (long long)counts[k][ch][i]);
                if (i <= 1)   /* pending, sending */
                    depth += counts[k][ch][i];
            }
    evbuffer_add_printf(out, "# HELP relais_outbox_depth Notifications waiting to be sent "
                        "or in flight.\n# TYPE relais_outbox_depth gauge\n"
                        "relais_outbox_depth %lld\n", (long long)depth);
    render_lateness(out, ob);
}

int outbox_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_GET, "/api/v1/enrollments/{id}/notifications", ROLES_ALL,
                   h_list) != 0) {
        log_error("outbox", "cannot register the notification routes");
        return -1;
    }
    return 0;
}
