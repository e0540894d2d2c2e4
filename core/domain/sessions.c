/* sessions — what the session handlers share (core/domain/sessions_internal.h):
 * reading rows, the output object, list filters, small checks. The routes
 * and the GET handlers are in sessions_routes.c, writing in
 * sessions_write.c (POST) and sessions_patch.c (PATCH, cancel), the
 * iCalendar feed in sessions_feed.c; all of them use this file, which uses
 * none of them. */
#include "sessions_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "domain.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "rtime.h"
#include "store.h"

const char *const sessions_kind_names[] = {"workshop", "permanence", "training", NULL};
static const char *const status_names[] = {"scheduled", "cancelled", NULL};

static int kind_index(const char *s)
{
    for (int i = 0; sessions_kind_names[i]; i++)
        if (s && strcmp(s, sessions_kind_names[i]) == 0)
            return i;
    return -1;
}

/* --- rows ------------------------------------------------------------------ */

static int64_t col_int_or(sqlite3_stmt *s, int col, int64_t none)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? none : sqlite3_column_int64(s, col);
}

int sessions_row_read(sqlite3_stmt *s, struct sessions_row *r)
{
    const char *status;

    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(s, 0);
    r->kind = kind_index((const char *)sqlite3_column_text(s, 1));
    r->title = store_col_strdup(s, 2);
    r->theme = store_col_strdup(s, 3);
    if (!r->title || (!r->theme && sqlite3_column_type(s, 3) != SQLITE_NULL))
        goto fail;
    r->level = col_int_or(s, 4, 0);
    r->venue_id = col_int_or(s, 5, 0);
    r->trainer_id = col_int_or(s, 6, 0);
    r->starts_at = sqlite3_column_int64(s, 7);
    r->ends_at = sqlite3_column_int64(s, 8);
    r->capacity = col_int_or(s, 9, -1);
    r->slot_minutes = col_int_or(s, 10, 0);
    r->online = sqlite3_column_int(s, 11) != 0;
    status = (const char *)sqlite3_column_text(s, 12);
    r->cancelled = status && strcmp(status, "cancelled") == 0;
    r->series_id = col_int_or(s, 13, 0);
    r->parent_id = col_int_or(s, 14, 0);
    r->sequence = sqlite3_column_int64(s, 15);
    r->created_at = sqlite3_column_int64(s, 16);
    r->updated_at = sqlite3_column_int64(s, 17);
    r->booked = sqlite3_column_int64(s, 18);
    r->waitlisted = sqlite3_column_int64(s, 19);
    r->cancel_reason = store_col_strdup(s, 20);
    if (!r->cancel_reason && sqlite3_column_type(s, 20) != SQLITE_NULL)
        goto fail;
    r->headcount = sqlite3_column_int64(s, 21);
    r->unmarked = sqlite3_column_int64(s, 22);
    /* The schema's CHECK keeps kind in the list; a -1 here means a corrupt
     * file, which must not be rendered as something else. */
    if (r->kind < 0)
        goto fail;
    return 0;
fail:
    sessions_row_clear(r);
    return -1;
}

void sessions_row_clear(struct sessions_row *r)
{
    free(r->title);
    free(r->theme);
    free(r->cancel_reason);
    r->title = r->theme = r->cancel_reason = NULL;
}

int sessions_load(struct store *st, int64_t id, struct sessions_row *r)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT " SESSIONS_COLS " FROM sessions s WHERE s.id = ?1");
    int rc = -1, step;

    if (!s)
        return -1;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = sessions_row_read(s, r) == 0 ? 1 : -1;
    else if (step == SQLITE_DONE)
        rc = 0;
    else
        log_error("sessions", "reading session %lld: %s", (long long)id,
                  sqlite3_errmsg(sqlite3_db_handle(s)));
out:
    store_done(s);
    return rc;
}

int sessions_venue_exists(struct store *st, int64_t id)
{
    int64_t one;
    return store_int_query(st, "SELECT 1 FROM venues WHERE id = ?1", id, &one);
}

int sessions_staff_exists(struct store *st, int64_t id)
{
    int64_t one;
    return store_int_query(st, "SELECT 1 FROM staff WHERE id = ?1", id, &one);
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

const char *sessions_trim(const char *s)
{
    char *p = (char *)s;   /* the handler's own cJSON string: writable */
    size_t n;

    if (!p)
        return NULL;
    while (is_blank(*p))
        p++;
    n = strlen(p);
    while (n > 0 && is_blank(p[n - 1]))
        p[--n] = '\0';
    return p;
}

const char *sessions_trim_opt(const char *s)
{
    const char *t = sessions_trim(s);
    return t && *t ? t : NULL;
}

void sessions_check_merge(struct json_check *c, struct json_check *sub, const char *prefix)
{
    const cJSON *e;
    char field[160];

    cJSON_ArrayForEach(e, sub->errors) {
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "field"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
        snprintf(field, sizeof field, "%s.%s", prefix, f ? f : "");
        json_check_add(c, field, "%s", m ? m : "invalid");
    }
    json_check_free(sub);
    json_check_init(sub);
}

/* --- output ---------------------------------------------------------------- */

static void add_id_or_null(cJSON *o, const char *name, int64_t v)
{
    if (v > 0)
        json_add_int(o, name, v);
    else
        json_add_str(o, name, NULL);
}

/* The permanence grid with, for each slot, whether a place-taking
 * enrollment holds it. Both sides are in start order, so one merge pass.
 * "Taken" is written as the WHERE of the partial index enrollments_slot,
 * word for word, so that SQLite reads the slots in order from that index
 * (no temporary table for the IN list nor for the ORDER BY). */
static cJSON *slots_json(struct store *st, const struct sessions_row *r)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT slot_start FROM enrollments WHERE session_id = ?1"
        " AND slot_start IS NOT NULL AND status NOT IN ('cancelled','waitlisted')"
        " ORDER BY slot_start");
    cJSON *arr = cJSON_CreateArray();
    int n, step;
    int64_t len = r->slot_minutes * 60;

    if (!s || !arr || sqlite3_bind_int64(s, 1, r->id) != SQLITE_OK)
        goto fail;
    n = slots_count(r->starts_at, r->ends_at, (int)r->slot_minutes);
    step = sqlite3_step(s);
    for (int i = 0; i < n; i++) {
        int64_t start = r->starts_at + (int64_t)i * len;
        int taken = 0;
        cJSON *slot;

        while (step == SQLITE_ROW && sqlite3_column_int64(s, 0) <= start) {
            if (sqlite3_column_int64(s, 0) == start)
                taken = 1;
            step = sqlite3_step(s);
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            goto fail;
        if (!(slot = cJSON_CreateObject()))
            goto fail;
        json_add_time(slot, "start", start);
        if (!cJSON_AddBoolToObject(slot, "free", !taken) || !cJSON_AddItemToArray(arr, slot)) {
            cJSON_Delete(slot);
            goto fail;
        }
    }
    store_done(s);
    return arr;
fail:
    log_error("sessions", "reading the slots of session %lld failed", (long long)r->id);
    store_done(s);
    cJSON_Delete(arr);
    return NULL;
}

/* The parts of a training, and in *SECONDS the sum of their lengths (a
 * training's own span, from its first part to its last, is not its
 * length). */
static cJSON *parts_json(struct store *st, int64_t training_id, int64_t *seconds)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT " SESSIONS_COLS " FROM sessions s"
                                     " WHERE s.parent_id = ?1 ORDER BY s.starts_at, s.id");
    cJSON *arr = cJSON_CreateArray();
    int step;

    if (!s || !arr || sqlite3_bind_int64(s, 1, training_id) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct sessions_row part;
        cJSON *o;

        if (sessions_row_read(s, &part) != 0)
            goto fail;
        *seconds += part.ends_at - part.starts_at;
        o = sessions_json(st, &part);
        sessions_row_clear(&part);
        if (!o)
            goto fail;
        if (!cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto fail;
        }
    }
    if (step != SQLITE_DONE)
        goto fail;
    store_done(s);
    return arr;
fail:
    log_error("sessions", "reading the parts of session %lld failed", (long long)training_id);
    store_done(s);
    cJSON_Delete(arr);
    return NULL;
}

cJSON *sessions_json(struct store *st, const struct sessions_row *r)
{
    cJSON *o = cJSON_CreateObject(), *sub;

    if (!o)
        return NULL;
    json_add_int(o, "id", r->id);
    json_add_str(o, "kind", sessions_kind_names[r->kind]);
    json_add_str(o, "title", r->title);
    json_add_str(o, "theme", r->theme);
    add_id_or_null(o, "level", r->level);
    add_id_or_null(o, "venue_id", r->venue_id);
    add_id_or_null(o, "trainer_id", r->trainer_id);
    json_add_time(o, "starts_at", r->starts_at);
    json_add_time(o, "ends_at", r->ends_at);
    if (r->capacity >= 0)
        json_add_int(o, "capacity", r->capacity);
    else
        json_add_str(o, "capacity", NULL);
    add_id_or_null(o, "slot_minutes", r->slot_minutes);
    if (!cJSON_AddBoolToObject(o, "online", r->online))
        goto fail;
    json_add_str(o, "status", status_names[r->cancelled ? 1 : 0]);
    add_id_or_null(o, "series_id", r->series_id);
    add_id_or_null(o, "parent_id", r->parent_id);
    json_add_int(o, "booked", r->booked);
    json_add_int(o, "waitlisted", r->waitlisted);
    /* People booked whose attendance is not marked yet: once the session
     * has started, the console flags "présences à saisir". A count, not
     * judged against the clock, so that the answer stays cacheable. */
    json_add_int(o, "unmarked", r->unmarked);
    if (r->capacity >= 0)
        json_add_int(o, "remaining", r->capacity > r->booked ? r->capacity - r->booked : 0);
    else
        json_add_str(o, "remaining", NULL);
    json_add_str(o, "cancel_reason", r->cancel_reason);
    json_add_int(o, "headcount", r->headcount);
    json_add_time(o, "created_at", r->created_at);
    json_add_time(o, "updated_at", r->updated_at);
    if (r->kind == SESSION_TRAINING && r->parent_id == 0) {
        int64_t seconds = 0;
        if (!(sub = parts_json(st, r->id, &seconds)))
            goto fail;
        if (!cJSON_AddItemToObject(o, "parts", sub)) {
            cJSON_Delete(sub);
            goto fail;
        }
        json_add_int(o, "minutes", seconds / 60);
    } else {
        json_add_int(o, "minutes", (r->ends_at - r->starts_at) / 60);
    }
    if (r->kind == SESSION_PERMANENCE && r->slot_minutes > 0) {
        if (!(sub = slots_json(st, r)))
            goto fail;
        if (!cJSON_AddItemToObject(o, "slots", sub)) {
            cJSON_Delete(sub);
            goto fail;
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

void sessions_reply(struct http_req *req, int status, int64_t id)
{
    struct sessions_row r;
    cJSON *o = NULL;
    int rc = sessions_load(req->app->store, id, &r);

    if (rc == 1) {
        o = sessions_json(req->app->store, &r);
        sessions_row_clear(&r);
    }
    if (!o) {
        http_problem(req, 500, "the session could not be read");
        return;
    }
    http_reply_json(req, status, o);
}

/* --- filters --------------------------------------------------------------- */

/* A positive id in a query string: digits only, no sign, no overflow. */
int sessions_parse_query_id(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* `from`/`to`: an RFC 3339 instant, or a local date meaning the start of
 * that day (from) or its last second (to), so that a date range is
 * inclusive at both ends. */
int sessions_parse_bound(const char *s, int is_end, int64_t *out)
{
    struct tm tm;
    int64_t t;

    if (rt_parse_rfc3339(s, &t) == 0) {
        *out = t;
        return 0;
    }
    if (rt_parse_local_date(s, &t) != 0)
        return -1;
    if (is_end) {
        rt_local(t, &tm);
        tm.tm_mday += 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        t = rt_from_local(&tm) - 1;
    }
    *out = t;
    return 0;
}

static void id_filter(struct http_req *req, struct json_check *c, const char *name,
                      int64_t *out)
{
    const char *v = http_query(req, name);

    if (v && sessions_parse_query_id(v, out) != 0)
        json_check_add(c, name, "must be a positive integer id");
}

void sessions_filter_parse(struct http_req *req, struct json_check *c,
                           struct sessions_filter *f)
{
    const char *v;

    f->from = f->to = RT_NONE;
    f->kind = f->status = -1;
    f->venue_id = f->trainer_id = f->parent_id = 0;
    if ((v = http_query(req, "from")) && sessions_parse_bound(v, 0, &f->from) != 0)
        json_check_add(c, "from", "must be an RFC 3339 time or a date YYYY-MM-DD");
    if ((v = http_query(req, "to")) && sessions_parse_bound(v, 1, &f->to) != 0)
        json_check_add(c, "to", "must be an RFC 3339 time or a date YYYY-MM-DD");
    if (f->from != RT_NONE && f->to != RT_NONE && f->to < f->from)
        json_check_add(c, "to", "must not be before from");
    if ((v = http_query(req, "kind")) && (f->kind = kind_index(v)) < 0)
        json_check_add(c, "kind", "must be one of: workshop, permanence, training");
    if ((v = http_query(req, "status"))) {
        if (strcmp(v, "scheduled") == 0)
            f->status = 0;
        else if (strcmp(v, "cancelled") == 0)
            f->status = 1;
        else
            json_check_add(c, "status", "must be one of: scheduled, cancelled");
    }
    id_filter(req, c, "venue_id", &f->venue_id);
    id_filter(req, c, "trainer_id", &f->trainer_id);
    id_filter(req, c, "parent_id", &f->parent_id);
}

static int bind_opt(sqlite3_stmt *s, int i, int64_t v, int64_t none)
{
    return v == none ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

int sessions_filter_bind(sqlite3_stmt *s, const struct sessions_filter *f)
{
    /* RT_NONE is INT64_MIN: the lowest bound as it is. */
    if (sqlite3_bind_int64(s, 1, f->from) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, f->to == RT_NONE ? INT64_MAX : f->to) != SQLITE_OK
        || store_bind_text(s, 3, f->kind >= 0 ? sessions_kind_names[f->kind] : NULL) != SQLITE_OK
        || bind_opt(s, 4, f->venue_id, 0) != SQLITE_OK
        || bind_opt(s, 5, f->trainer_id, 0) != SQLITE_OK
        || store_bind_text(s, 6, f->status >= 0 ? status_names[f->status] : NULL) != SQLITE_OK
        || bind_opt(s, 7, f->parent_id, 0) != SQLITE_OK)
        return -1;
    return 0;
}
