/* outbox_batch — one message for the dates of a series booked at once.
 *
 * A person enrolled in a whole series by one request (POST
 * /api/v1/series/{id}/enrollments) has one enrollment per date, which share
 * a batch_id (core/domain/series.c). Each date keeps its own reminders, but the
 * confirmation (or the waitlist message) is sent once, by the first
 * enrollment of the batch with that status whose session has not started,
 * and lists every date it stands for. The others make no such row: nothing
 * in the outbox's rules changes, a row simply carries more dates. */
#include "outbox_internal.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rtime.h"
#include "store.h"

#define BATCH_DATES_MAX 60   /* dates listed in one message: a series has ≤ 200 */

int ob_batch_follower(struct store *st, int64_t eid, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT EXISTS (SELECT 1 FROM enrollments me JOIN enrollments e"
        "   ON e.batch_id = me.batch_id AND e.id < me.id AND e.status = me.status"
        " JOIN sessions s ON s.id = e.session_id"
        " WHERE me.id = ?1 AND me.batch_id IS NOT NULL AND s.starts_at > ?2"
        "   AND s.status = 'scheduled')");
    int rc = -1;

    if (s && sqlite3_bind_int64(s, 1, eid) == SQLITE_OK
        && sqlite3_bind_int64(s, 2, now) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        rc = sqlite3_column_int(s, 0) != 0;
    else
        log_error("outbox", "reading the batch of enrollment %lld: %s", (long long)eid,
                  sqlite3_errmsg(store_db(st)));
    store_done(s);
    return rc;
}

int ob_batch_add(struct outbox *ob, const struct ob_ctx *c, cJSON *data)
{
    /* The dates still ahead that the message stands for: the batch's
     * enrollments in the status the message is about, from this one on. */
    sqlite3_stmt *s = store_stmt(ob->st,
        "SELECT s.starts_at FROM enrollments me JOIN enrollments e ON e.batch_id = me.batch_id"
        " JOIN sessions s ON s.id = e.session_id"
        " WHERE me.id = ?1 AND me.batch_id IS NOT NULL AND e.status = ?2"
        "   AND s.status = 'scheduled' AND s.starts_at >= ?3"
        " ORDER BY s.starts_at, e.id LIMIT ?4");
    const char *status = c->kind == OUTBOX_WAITLISTED ? "waitlisted" : "booked";
    cJSON *dates = NULL, *series;
    char when[RT_FR_MAX];
    int n = 0, step, rc = -1;

    if (c->kind != OUTBOX_CONFIRMATION && c->kind != OUTBOX_WAITLISTED)
        return 0;
    if (!s || sqlite3_bind_int64(s, 1, c->enrollment_id) != SQLITE_OK
        || store_bind_text(s, 2, status) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, c->starts_at) != SQLITE_OK
        || sqlite3_bind_int(s, 4, BATCH_DATES_MAX) != SQLITE_OK || !(dates = cJSON_CreateArray()))
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *d;
        rt_format_fr(sqlite3_column_int64(s, 0), when, sizeof when);
        if (!(d = cJSON_CreateString(when)) || !cJSON_AddItemToArray(dates, d)) {
            cJSON_Delete(d);
            goto out;
        }
        n++;
    }
    if (step != SQLITE_DONE)
        goto out;
    rc = 0;
    if (n < 2)
        goto out;   /* one date: an ordinary message */
    if (!(series = cJSON_AddObjectToObject(data, "series"))
        || !cJSON_AddNumberToObject(series, "count", n)
        || !cJSON_AddItemToObject(series, "dates", dates)) {
        rc = -1;
        goto out;
    }
    dates = NULL;
out:
    if (rc != 0)
        log_error("outbox", "listing the series of enrollment %lld: %s",
                  (long long)c->enrollment_id, sqlite3_errmsg(store_db(ob->st)));
    cJSON_Delete(dates);
    store_done(s);
    return rc;
}
