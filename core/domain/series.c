/* series — a recurring series as one object: /api/v1/series/{id}.
 *
 *   GET   /api/v1/series/{id}              the rule and every date
 *   PATCH /api/v1/series/{id}              change the dates still ahead
 *   POST  /api/v1/series/{id}/cancel       cancel the dates still ahead (a reason)
 *   POST  /api/v1/series/{id}/enrollments  enroll one person in them all
 *
 * "Still ahead" is every scheduled occurrence starting at or after `from`
 * (now by default): what happened stays as it was. Each occurrence is
 * changed, cancelled or enrolled exactly as its own PATCH, cancel or POST
 * …/enrollments would (the same functions, so the same records and
 * notifications), all in the request's transaction: a problem with one
 * date (a capacity below the places taken, a person already enrolled)
 * answers 409 or 422 and leaves every date as it was.
 *
 * A person enrolled in a series gets one confirmation for all of their
 * dates (and one waitlist message for those where they wait): the
 * enrollments share a batch (core/notify/outbox_batch.c). */
#include "sessions_internal.h"

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

#define SERIES_MAX 200   /* occurrences of a series (sessions_write.c) */
#define MAX_CAPACITY 10000

/* The occurrences of series SID starting at or after FROM that are
 * scheduled (ALL: every one, any status), by start: ids into IDS. Count or
 * -1. */
static int occurrences(struct store *st, int64_t sid, int64_t from, int all,
                       int64_t ids[SERIES_MAX])
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id FROM sessions WHERE series_id = ?1"
                                     " AND (?3 OR (status = 'scheduled' AND starts_at >= ?2))"
                                     " ORDER BY starts_at, id LIMIT ?4");
    int n = 0, step;

    if (!s || sqlite3_bind_int64(s, 1, sid) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, from) != SQLITE_OK || sqlite3_bind_int(s, 3, all) != SQLITE_OK
        || sqlite3_bind_int(s, 4, SERIES_MAX) != SQLITE_OK) {
        store_done(s);
        return -1;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(s, 0);
    store_done(s);
    return step == SQLITE_DONE ? n : -1;
}

/* The series object: {id, freq, interval, count, until, created_at,
 * sessions: [every occurrence, by start]}. NULL when there is no such
 * series (*FOUND 0) or on error. */
static cJSON *series_json(struct store *st, int64_t sid, int *found)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT freq, interval, count, until, created_at"
                                     " FROM series WHERE id = ?1");
    int64_t ids[SERIES_MAX];
    cJSON *o = NULL, *list;
    int n, step;

    *found = 0;
    if (!s || sqlite3_bind_int64(s, 1, sid) != SQLITE_OK)
        goto fail;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        store_done(s);
        return NULL;
    }
    if (step != SQLITE_ROW || !(o = cJSON_CreateObject()))
        goto fail;
    *found = 1;
    json_add_int(o, "id", sid);
    json_add_str(o, "freq", (const char *)sqlite3_column_text(s, 0));
    json_add_int(o, "interval", sqlite3_column_int64(s, 1));
    if (sqlite3_column_type(s, 2) == SQLITE_NULL)
        json_add_str(o, "count", NULL);
    else
        json_add_int(o, "count", sqlite3_column_int64(s, 2));
    json_add_time(o, "until", sqlite3_column_type(s, 3) == SQLITE_NULL
                                  ? RT_NONE : sqlite3_column_int64(s, 3));
    json_add_time(o, "created_at", sqlite3_column_int64(s, 4));
    store_done(s);
    s = NULL;
    if ((n = occurrences(st, sid, 0, 1, ids)) < 0
        || !(list = cJSON_AddArrayToObject(o, "sessions")))
        goto fail;
    for (int i = 0; i < n; i++) {
        struct sessions_row r;
        cJSON *one;

        if (sessions_load(st, ids[i], &r) != 1)
            goto fail;
        one = sessions_json(st, &r);
        sessions_row_clear(&r);
        if (!one || !cJSON_AddItemToArray(list, one)) {
            cJSON_Delete(one);
            goto fail;
        }
    }
    return o;
fail:
    log_error("series", "reading series %lld: %s", (long long)sid, sqlite3_errmsg(store_db(st)));
    store_done(s);
    cJSON_Delete(o);
    return NULL;
}

static void reply_series(struct http_req *req, int status, int64_t sid)
{
    int found;
    cJSON *o = series_json(req->app->store, sid, &found);

    if (o)
        http_reply_json(req, status, o);
    else if (!found)
        http_problem(req, 404, "no series %lld", (long long)sid);
    else
        http_problem(req, 500, "the series could not be read");
}

/* 1 when series SID exists, 0 when not (404 answered), -1 (500 answered). */
static int series_exists(struct http_req *req, int64_t sid)
{
    int64_t one;
    int rc = store_int_query(req->app->store, "SELECT 1 FROM series WHERE id = ?1", sid, &one);

    if (rc == 0)
        http_problem(req, 404, "no series %lld", (long long)sid);
    else if (rc < 0)
        http_problem(req, 500, "the series could not be read");
    return rc;
}

/* `from` of a body (an RFC 3339 time; now when absent). */
static int64_t read_from(struct json_check *c, const cJSON *body)
{
    int64_t from = rt_now();

    json_get_time(c, body, "from", 0, &from);
    return from;
}

static void h_get(struct http_req *req)
{
    int64_t sid;

    if (http_param_id(req, "id", &sid) != 0)
        return;
    reply_series(req, 200, sid);
}

/* --- PATCH ------------------------------------------------------------------- */

/* What a series PATCH asks: the fields a session PATCH takes, except the
 * times, which are local clock times applied to each date. */
struct series_patch {
    const cJSON *body;
    int has_start, has_end;
    int start_min, end_min;    /* minutes after local midnight */
};

/* "HH:MM" of BODY[NAME] into *MIN. */
static int read_clock(struct json_check *c, const cJSON *body, const char *name, int *min)
{
    const char *v;
    int rc = json_get_str(c, body, name, 0, 5, &v);

    if (rc == JSON_NULL) {
        json_check_add(c, name, "cannot be cleared");
        return 0;
    }
    if (rc != JSON_OK)
        return 0;
    if (strlen(v) != 5 || rt_parse_hhmm(v, min) != 0) {
        json_check_add(c, name, "must be a local time HH:MM");
        return 0;
    }
    return 1;
}

/* T at local clock time MIN on T's local day. */
static int64_t at_clock(int64_t t, int min)
{
    struct tm tm;

    rt_local(t, &tm);
    tm.tm_hour = min / 60;
    tm.tm_min = min % 60;
    tm.tm_sec = 0;
    return rt_from_local(&tm);
}

/* N for occurrence OLD: its values, overridden by the body's. *DBERR on a
 * lookup failure. */
static void patch_one(struct json_check *c, struct store *st, const struct series_patch *p,
                      const struct sessions_row *old, struct sessions_change *n, int *dberr)
{
    const cJSON *body = p->body;
    int rc;

    sessions_change_from_row(n, old);
    if (json_get_str(c, body, "title", 0, 200, &n->title) == JSON_NULL)
        json_check_add(c, "title", "required");
    else if (n->title != old->title)
        n->title = sessions_trim(n->title);
    if ((rc = json_get_str(c, body, "theme", 0, 100, &n->theme)) == JSON_NULL)
        n->theme = NULL;
    else if (rc == JSON_OK)
        n->theme = sessions_trim_opt(n->theme);
    if (json_get_int(c, body, "level", 0, 1, 3, &n->level) == JSON_NULL)
        n->level = 0;
    rc = json_get_int(c, body, "venue_id", 0, 1, INT64_MAX, &n->venue_id);
    if (rc == JSON_NULL) {
        n->venue_id = 0;
    } else if (rc == JSON_OK && n->venue_id != old->venue_id) {
        int e = sessions_venue_exists(st, n->venue_id);
        if (e < 0)
            *dberr = 1;
        else if (e == 0)
            json_check_add(c, "venue_id", "no such venue");
    }
    rc = json_get_int(c, body, "trainer_id", 0, 1, INT64_MAX, &n->trainer_id);
    if (rc == JSON_NULL) {
        n->trainer_id = 0;
    } else if (rc == JSON_OK && n->trainer_id != old->trainer_id) {
        int e = sessions_staff_exists(st, n->trainer_id);
        if (e < 0)
            *dberr = 1;
        else if (e == 0)
            json_check_add(c, "trainer_id", "no such staff member");
    }
    if (json_get_int(c, body, "capacity", 0, 0, MAX_CAPACITY, &n->capacity) == JSON_NULL)
        n->capacity = -1;
    if (json_get_bool(c, body, "online", 0, &n->online) == JSON_NULL)
        n->online = 0;
    if (p->has_start) {
        n->starts_at = at_clock(old->starts_at, p->start_min);
        if (!p->has_end)   /* the same length */
            n->ends_at = n->starts_at + (old->ends_at - old->starts_at);
    }
    if (p->has_end) {
        n->ends_at = at_clock(n->starts_at, p->end_min);
        /* An end "before" the start is the next day's (a session past
         * midnight keeps its shape). */
        if (p->end_min <= p->start_min && p->has_start)
            json_check_add(c, "end_time", "must be after start_time");
    }
    if (n->ends_at <= n->starts_at && !json_check_failed(c))
        json_check_add(c, p->has_end ? "end_time" : "start_time",
                       "the session must end after it starts");
}

static void h_patch(struct http_req *req)
{
    static const char *const known[] = {"title", "theme", "level", "venue_id", "trainer_id",
                                        "capacity", "online", "start_time", "end_time",
                                        "from", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    struct series_patch p = {0};
    int64_t sid, ids[SERIES_MAX], from, now = rt_now();
    cJSON *body = NULL;
    int n, rc, dberr = 0, changed = 0;

    json_check_init(&c);
    if (http_param_id(req, "id", &sid) != 0 || series_exists(req, sid) != 1)
        goto out;
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, known);
    from = read_from(&c, body);
    p.body = body;
    p.has_start = read_clock(&c, body, "start_time", &p.start_min);
    p.has_end = read_clock(&c, body, "end_time", &p.end_min);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if ((n = occurrences(st, sid, from, 0, ids)) < 0)
        goto fail;
    if (n == 0) {
        http_problem(req, 409, "no date of series %lld is left to change", (long long)sid);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct sessions_row row, *old = &row;
        struct sessions_change nc;

        if (sessions_load(st, ids[i], old) != 1)
            goto fail;
        patch_one(&c, st, &p, old, &nc, &dberr);
        if (dberr || json_check_failed(&c)) {
            sessions_row_clear(old);
            if (dberr)
                goto fail;
            http_problem_invalid(req, &c);
            goto out;
        }
        if (nc.capacity >= 0 && nc.capacity < old->booked) {
            char when[RT_FR_MAX];
            rt_format_fr(old->starts_at, when, sizeof when);
            http_problem(req, 409, "%lld places are taken on %s (session %lld): the capacity "
                         "cannot go below that", (long long)old->booked, when,
                         (long long)old->id);
            sessions_row_clear(old);
            goto out;
        }
        if ((rc = sessions_grid_ok(st, old, &nc)) <= 0) {
            sessions_row_clear(old);
            if (rc < 0)
                goto fail;
            http_problem(req, 409, "a booked slot of session %lld would fall outside the "
                         "window", (long long)ids[i]);
            goto out;
        }
        rc = sessions_change_apply(st, old, &nc, now, req->token_id);
        /* More room (or no limit any more): the waitlist moves up now. */
        if (rc == 0 && old->capacity >= 0 && (nc.capacity < 0 || nc.capacity > old->capacity)
            && enrollments_promote(st, old->id, req->token_id) < 0)
            rc = -1;
        sessions_row_clear(old);
        if (rc != 0)
            goto fail;
        changed++;
    }
    log_info("series", "series %lld: %d date(s) changed", (long long)sid, changed);
    reply_series(req, 200, sid);
    goto out;
fail:
    http_problem(req, 500, "the series could not be changed");
out:
    cJSON_Delete(body);
    json_check_free(&c);
}

/* --- cancel ------------------------------------------------------------------ */

static void h_cancel(struct http_req *req)
{
    static const char *const known[] = {"from", "reason", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    int64_t sid, ids[SERIES_MAX], from = rt_now(), now = rt_now();
    cJSON *body = NULL;
    const char *reason = NULL;
    int n;

    json_check_init(&c);
    if (http_param_id(req, "id", &sid) != 0 || series_exists(req, sid) != 1)
        goto out;
    /* The body is optional: a bare POST cancels what is ahead. */
    if (req->body_len > 0) {
        if (!(body = http_json_body(req)))
            goto out;
        json_check_known(&c, body, known);
        from = read_from(&c, body);
        /* The reason each date keeps, as its own cancel would. */
        if (json_get_str(&c, body, "reason", 0, SESSIONS_CANCEL_REASON_MAX, &reason) == JSON_OK)
            reason = sessions_trim_opt(reason);
        if (json_check_failed(&c)) {
            http_problem_invalid(req, &c);
            goto out;
        }
    }
    if ((n = occurrences(st, sid, from, 0, ids)) < 0)
        goto fail;
    if (n == 0) {
        http_problem(req, 409, "no date of series %lld is left to cancel", (long long)sid);
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (sessions_cancel_one(st, ids[i], now, req->token_id, reason) != 0)
            goto fail;
    log_info("series", "series %lld: %d date(s) cancelled", (long long)sid, n);
    reply_series(req, 200, sid);
    goto out;
fail:
    http_problem(req, 500, "the series could not be cancelled");
out:
    cJSON_Delete(body);
    json_check_free(&c);
}

/* --- enrolling in every date ------------------------------------------------ */

static void h_enroll(struct http_req *req)
{
    static const char *const known[] = {"beneficiary_id", "from", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    int64_t sid, ids[SERIES_MAX], bid = 0, from, active = 0, batch = 0, eid;
    int64_t booked = 0, waiting = 0;
    cJSON *body = NULL, *o = NULL, *items;
    const char *status;
    int n, rc;

    json_check_init(&c);
    if (http_param_id(req, "id", &sid) != 0 || series_exists(req, sid) != 1)
        goto out;
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, known);
    from = read_from(&c, body);
    if (json_get_int(&c, body, "beneficiary_id", 1, 1, INT64_MAX, &bid) == JSON_OK) {
        rc = store_int_query(st, "SELECT erased_at IS NULL FROM beneficiaries WHERE id = ?1",
                             bid, &active);
        if (rc < 0)
            goto fail;
        if (rc == 0 || !active)
            json_check_add(&c, "beneficiary_id", "no such beneficiary");
    }
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if ((n = occurrences(st, sid, from, 0, ids)) < 0)
        goto fail;
    if (n == 0) {
        http_problem(req, 409, "no date of series %lld is left to enroll in", (long long)sid);
        goto out;
    }
    if (!(o = cJSON_CreateObject()))
        goto fail;
    json_add_int(o, "series_id", sid);
    json_add_int(o, "beneficiary_id", bid);
    if (!(items = cJSON_AddArrayToObject(o, "items")))
        goto fail;
    for (int i = 0; i < n; i++) {
        struct sessions_row r;
        cJSON *one;

        if (sessions_load(st, ids[i], &r) != 1)
            goto fail;
        rc = enrollments_add(st, &r, bid, RT_NONE, batch, req->token_id, &eid, &status);
        sessions_row_clear(&r);
        if (rc == 1) {
            /* All or nothing: the answer ≥ 400 rolls back the dates done. */
            http_problem(req, 409, "this person is already enrolled in session %lld of the "
                         "series", (long long)ids[i]);
            goto out;
        }
        if (rc != 0)
            goto fail;
        if (!batch)
            batch = eid;
        if (strcmp(status, "booked") == 0)
            booked++;
        else
            waiting++;
        if (!(one = enrollments_json(st, eid)) || !cJSON_AddItemToArray(items, one)) {
            cJSON_Delete(one);
            goto fail;
        }
    }
    json_add_int(o, "booked", booked);
    json_add_int(o, "waitlisted", waiting);
    log_info("series", "series %lld: beneficiary enrolled in %d date(s) (batch %lld)",
             (long long)sid, n, (long long)batch);
    http_reply_json(req, 201, o);
    o = NULL;
    goto out;
fail:
    http_problem(req, 500, "the enrollments could not be made");
out:
    cJSON_Delete(o);
    cJSON_Delete(body);
    json_check_free(&c);
}

int series_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_GET, "/api/v1/series/{id}", ROLES_ALL, h_get) != 0
        || http_route(hs, HTTP_PATCH, "/api/v1/series/{id}", ROLES_STAFF, h_patch) != 0
        || http_route(hs, HTTP_POST, "/api/v1/series/{id}/cancel", ROLES_STAFF, h_cancel) != 0
        || http_route(hs, HTTP_POST, "/api/v1/series/{id}/enrollments", ROLES_STAFF,
                      h_enroll) != 0)
        return -1;
    return 0;
}
