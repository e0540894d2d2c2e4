/* sessions_patch — PATCH /api/v1/sessions/{id} and POST …/{id}/cancel.
 *
 * A change that concerns the people enrolled (a new time, a new venue, a
 * cancellation) is recorded through domain_record_session_change() in the
 * request's transaction and raises the iCalendar SEQUENCE, so calendars and
 * the notification outbox both see it. Checks run before any write; a 409
 * found on the way still discards everything because the server rolls back
 * any answer ≥ 400. */
#include "sessions_handlers.h"
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

#define MAX_CAPACITY 10000

static int present(const cJSON *body, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(body, name) != NULL;
}

static int str_differs(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

static int bind_opt(sqlite3_stmt *s, int i, int64_t v, int64_t none)
{
    return v == none ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

static int write_session(struct store *st, int64_t id, const struct sessions_change *n, int bump,
                         int64_t now)
{
    sqlite3_stmt *s = store_stmt(st,
        "UPDATE sessions SET title = ?1, theme = ?2, level = ?3, venue_id = ?4,"
        " trainer_id = ?5, starts_at = ?6, ends_at = ?7, capacity = ?8, slot_minutes = ?9,"
        " online = ?10, sequence = sequence + ?11, updated_at = ?12 WHERE id = ?13");
    int rc = -1;

    if (!s)
        return -1;
    if (store_bind_text(s, 1, n->title) != SQLITE_OK
        || store_bind_text(s, 2, n->theme) != SQLITE_OK
        || bind_opt(s, 3, n->level, 0) != SQLITE_OK
        || bind_opt(s, 4, n->venue_id, 0) != SQLITE_OK
        || bind_opt(s, 5, n->trainer_id, 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 6, n->starts_at) != SQLITE_OK
        || sqlite3_bind_int64(s, 7, n->ends_at) != SQLITE_OK
        || bind_opt(s, 8, n->capacity, -1) != SQLITE_OK
        || bind_opt(s, 9, n->slot_minutes, 0) != SQLITE_OK
        || sqlite3_bind_int(s, 10, n->online) != SQLITE_OK
        || sqlite3_bind_int(s, 11, bump ? 1 : 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 12, now) != SQLITE_OK
        || sqlite3_bind_int64(s, 13, id) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_error("sessions", "updating session %lld: %s", (long long)id,
                  sqlite3_errmsg(store_db(st)));
        goto out;
    }
    rc = 0;
out:
    store_done(s);
    return rc;
}

void sessions_change_from_row(struct sessions_change *n, const struct sessions_row *r)
{
    n->title = r->title;
    n->theme = r->theme;
    n->level = r->level;
    n->venue_id = r->venue_id;
    n->trainer_id = r->trainer_id;
    n->starts_at = r->starts_at;
    n->ends_at = r->ends_at;
    n->capacity = r->capacity;
    n->slot_minutes = r->slot_minutes;
    n->online = r->online;
}

/* Writes N over OLD and records what happened: "moved" for a new start or
 * end, "venue" for a new venue (both raise SEQUENCE), "updated" for the
 * rest. Nothing is written when nothing changed. */
int sessions_change_apply(struct store *st, const struct sessions_row *old,
                          const struct sessions_change *n, int64_t now, int64_t token_id)
{
    int moved = n->starts_at != old->starts_at || n->ends_at != old->ends_at;
    int venue = n->venue_id != old->venue_id;
    int other = str_differs(n->title, old->title) || str_differs(n->theme, old->theme)
                || n->level != old->level || n->trainer_id != old->trainer_id
                || n->capacity != old->capacity || n->slot_minutes != old->slot_minutes
                || n->online != old->online;

    if (!moved && !venue && !other)
        return 0;
    if (write_session(st, old->id, n, moved || venue, now) != 0)
        return -1;
    if (moved && domain_record_session_change(st, old->id, "moved", old->starts_at,
                                              old->ends_at, 0, n->starts_at, n->ends_at, 0,
                                              token_id) != 0)
        return -1;
    if (venue && domain_record_session_change(st, old->id, "venue", 0, 0, old->venue_id,
                                              0, 0, n->venue_id, token_id) != 0)
        return -1;
    if (other && domain_record_session_change(st, old->id, "updated", 0, 0, 0, 0, 0, 0,
                                              token_id) != 0)
        return -1;
    return 0;
}

/* A training's parts follow it: the capacity always (places are counted on
 * the training), the trainer, theme, level and venue when the part still had
 * the training's old value (a part given its own venue keeps it). Each part
 * records its own change, so its people hear about a new venue. */
static int propagate_to_parts(struct store *st, const struct sessions_row *old,
                              const struct sessions_change *n, int64_t now, int64_t token_id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id FROM sessions WHERE parent_id = ?1 ORDER BY id");
    int64_t ids[64];
    int nids = 0, step, rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, old->id) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && nids < (int)(sizeof ids / sizeof ids[0]))
        ids[nids++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto out;
    store_done(s);
    s = NULL;
    for (int i = 0; i < nids; i++) {
        struct sessions_row part;
        struct sessions_change pc;
        int r = sessions_load(st, ids[i], &part);

        if (r != 1)
            goto out;
        sessions_change_from_row(&pc, &part);
        pc.capacity = n->capacity;
        if (part.trainer_id == old->trainer_id)
            pc.trainer_id = n->trainer_id;
        if (!str_differs(part.theme, old->theme))
            pc.theme = n->theme;
        if (part.level == old->level)
            pc.level = n->level;
        if (part.venue_id == old->venue_id)
            pc.venue_id = n->venue_id;
        r = sessions_change_apply(st, &part, &pc, now, token_id);
        sessions_row_clear(&part);
        if (r != 0)
            goto out;
    }
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* After a part moved, the training spans its parts again. */
static int refit_training(struct store *st, int64_t training_id, int64_t now,
                          int64_t token_id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT min(starts_at), max(ends_at) FROM sessions"
                                     " WHERE parent_id = ?1");
    struct sessions_row t;
    struct sessions_change n;
    int64_t first, last;
    int loaded = 0, rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, training_id) != SQLITE_OK
        || sqlite3_step(s) != SQLITE_ROW)
        goto out;
    first = sqlite3_column_int64(s, 0);
    last = sqlite3_column_int64(s, 1);
    store_done(s);
    s = NULL;
    if (sessions_load(st, training_id, &t) != 1)
        goto out;
    loaded = 1;
    sessions_change_from_row(&n, &t);
    n.starts_at = first;
    n.ends_at = last;
    rc = sessions_change_apply(st, &t, &n, now, token_id);
out:
    store_done(s);
    if (loaded)
        sessions_row_clear(&t);
    return rc;
}

int sessions_grid_ok(struct store *st, const struct sessions_row *old,
                     const struct sessions_change *n)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT slot_start FROM enrollments WHERE session_id = ?1"
        " AND slot_start IS NOT NULL AND status IN " SESSIONS_TAKEN_SQL);
    int step, rc = -1;

    if (old->kind != SESSION_PERMANENCE
        || (n->starts_at == old->starts_at && n->ends_at == old->ends_at
            && n->slot_minutes == old->slot_minutes))
        return 1;
    if (!s || sqlite3_bind_int64(s, 1, old->id) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t slot = sqlite3_column_int64(s, 0);
        if (n->slot_minutes <= 0
            || slots_check(n->starts_at, n->ends_at, (int)n->slot_minutes, slot) != 0) {
            rc = 0;
            goto out;
        }
    }
    if (step == SQLITE_DONE)
        rc = 1;
out:
    store_done(s);
    return rc;
}

/* Reads the body into N (starting from OLD) and checks it. */
static void parse_change(struct json_check *c, struct store *st, const cJSON *body,
                         const struct sessions_row *old, struct sessions_change *n, int *dberr)
{
    static const char *const known[] = {"kind", "title", "theme", "level", "venue_id",
                                        "trainer_id", "starts_at", "ends_at", "capacity",
                                        "slot_minutes", "online", "recurrence", "parts", NULL};
    int kind, training = old->kind == SESSION_TRAINING && old->parent_id == 0;
    int rc;

    sessions_change_from_row(n, old);
    json_check_known(c, body, known);
    if (json_get_enum(c, body, "kind", 0, sessions_kind_names, &kind) == JSON_OK
        && kind != old->kind)
        json_check_add(c, "kind", "cannot change");
    if (present(body, "kind") && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(body, "kind")))
        json_check_add(c, "kind", "cannot change");
    if (present(body, "recurrence"))
        json_check_add(c, "recurrence", "cannot be changed: patch each occurrence");
    if (present(body, "parts"))
        json_check_add(c, "parts", "cannot be changed: patch each part");
    if (present(body, "title") && json_get_str(c, body, "title", 1, 200, &n->title) == JSON_OK)
        n->title = sessions_trim(n->title);
    if ((rc = json_get_str(c, body, "theme", 0, 100, &n->theme)) == JSON_NULL)
        n->theme = NULL;
    else if (rc == JSON_OK)
        n->theme = sessions_trim_opt(n->theme);
    if ((rc = json_get_int(c, body, "level", 0, 1, 3, &n->level)) == JSON_NULL)
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
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "ends_at" : "starts_at";
        if (!present(body, name))
            continue;
        if (training)
            json_check_add(c, name, "a training follows its parts: patch the parts");
        else
            json_get_time(c, body, name, 1, i ? &n->ends_at : &n->starts_at);
    }
    if (present(body, "capacity")) {
        if (old->parent_id)
            json_check_add(c, "capacity", "a part takes the training's capacity");
        else if (json_get_int(c, body, "capacity", 0, 0, MAX_CAPACITY, &n->capacity)
                 == JSON_NULL)
            n->capacity = -1;
    }
    if (present(body, "slot_minutes")) {
        if (old->kind != SESSION_PERMANENCE)
            json_check_add(c, "slot_minutes", "only a permanence has slots");
        else if (json_get_int(c, body, "slot_minutes", 0, 5, 480, &n->slot_minutes)
                 == JSON_NULL)
            n->slot_minutes = 0;
    }
    /* Like every boolean of the API, null sets it back to its default. */
    if (json_get_bool(c, body, "online", 0, &n->online) == JSON_NULL)
        n->online = 0;
    if (json_check_failed(c))
        return;
    if (n->ends_at <= n->starts_at)
        json_check_add(c, n->ends_at != old->ends_at ? "ends_at" : "starts_at",
                       "ends_at must be after starts_at");
    if (old->kind == SESSION_PERMANENCE && n->slot_minutes > 0) {
        int slots = slots_count(n->starts_at, n->ends_at, (int)n->slot_minutes);
        int old_slots = old->slot_minutes > 0
            ? slots_count(old->starts_at, old->ends_at, (int)old->slot_minutes) : -1;
        if (slots < 1)
            json_check_add(c, "slot_minutes", "the window holds no whole slot");
        else if (slots > MAX_CAPACITY)
            json_check_add(c, "slot_minutes", "the window holds more than %d slots",
                           MAX_CAPACITY);
        /* No capacity means one person per slot; a capacity that was the
         * slot count keeps following the grid unless a new one is given. */
        else if (n->capacity < 0 || (!present(body, "capacity") && old->capacity == old_slots))
            n->capacity = slots;
    }
}

void sessions_patch(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct sessions_row old;
    struct sessions_change n;
    cJSON *body = NULL;
    int64_t id, now = rt_now();
    int loaded = 0, dberr = 0, rc;

    json_check_init(&c);
    if (http_param_id(req, "id", &id) != 0)
        goto out;
    rc = sessions_load(st, id, &old);
    if (rc == 0) {
        http_problem(req, 404, "no session %lld", (long long)id);
        goto out;
    }
    if (rc < 0)
        goto fail;
    loaded = 1;
    if (!(body = http_json_body(req)))
        goto out;
    parse_change(&c, st, body, &old, &n, &dberr);
    if (dberr)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (old.cancelled) {
        http_problem(req, 409, "session %lld is cancelled", (long long)id);
        goto out;
    }
    if (n.capacity >= 0 && n.capacity < old.booked) {
        http_problem(req, 409, "%lld places are taken: the capacity cannot go below that",
                     (long long)old.booked);
        goto out;
    }
    if ((rc = sessions_grid_ok(st, &old, &n)) <= 0) {
        if (rc < 0)
            goto fail;
        http_problem(req, 409, "a booked slot would fall outside the window or off the grid");
        goto out;
    }

    if (sessions_change_apply(st, &old, &n, now, req->token_id) != 0)
        goto fail;
    if (old.kind == SESSION_TRAINING && old.parent_id == 0
        && (n.capacity != old.capacity || n.trainer_id != old.trainer_id
            || n.level != old.level || n.venue_id != old.venue_id
            || str_differs(n.theme, old.theme))
        && propagate_to_parts(st, &old, &n, now, req->token_id) != 0)
        goto fail;
    if (old.parent_id && (n.starts_at != old.starts_at || n.ends_at != old.ends_at)
        && refit_training(st, old.parent_id, now, req->token_id) != 0)
        goto fail;
    /* More room (or no limit any more): the waitlist moves up now. */
    if (old.capacity >= 0 && (n.capacity < 0 || n.capacity > old.capacity)
        && enrollments_promote(st, id, req->token_id) < 0)
        goto fail;
    sessions_reply(req, 200, id);
    goto out;
fail:
    http_problem(req, 500, "the session could not be changed");
out:
    if (loaded)
        sessions_row_clear(&old);
    cJSON_Delete(body);
    json_check_free(&c);
}

/* --- cancel ------------------------------------------------------------------ */

int sessions_cancel_one(struct store *st, int64_t id, int64_t now, int64_t token_id,
                        const char *reason)
{
    sqlite3_stmt *s = store_stmt(st, "UPDATE sessions SET status = 'cancelled',"
                                     " sequence = sequence + 1, updated_at = ?2,"
                                     " cancel_reason = ?3"
                                     " WHERE id = ?1 AND status = 'scheduled'"
                                     " RETURNING starts_at, ends_at, venue_id");
    int64_t start, end, venue;
    int step, rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, now) != SQLITE_OK
        || store_bind_text(s, 3, reason) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {   /* already cancelled: nothing to record */
        rc = 0;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    start = sqlite3_column_int64(s, 0);
    end = sqlite3_column_int64(s, 1);
    venue = sqlite3_column_int64(s, 2);
    if (sqlite3_step(s) != SQLITE_DONE)
        goto out;
    store_done(s);
    s = NULL;
    /* The old time and place say what was cancelled, for the message. */
    if (domain_record_session_change(st, id, "cancelled", start, end, venue, 0, 0, 0,
                                     token_id) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        log_error("sessions", "cancelling session %lld failed", (long long)id);
    store_done(s);
    return rc;
}

/* The optional body of a cancellation, {"reason": "…"}: 0 with *REASON
 * (trimmed, into BODY; NULL when none), or -1 when it answered (400, 415,
 * 422). No body at all is no reason. */
static int cancel_reason(struct http_req *req, cJSON **body, const char **reason)
{
    static const char *const allowed[] = {"reason", NULL};
    struct json_check c;
    int rc = 0;

    *body = NULL;
    *reason = NULL;
    if (req->body_len == 0)
        return 0;
    if (!(*body = http_json_body(req)))
        return -1;
    json_check_init(&c);
    json_check_known(&c, *body, allowed);
    if (json_get_str(&c, *body, "reason", 0, SESSIONS_CANCEL_REASON_MAX, reason) == JSON_OK)
        *reason = sessions_trim_opt(*reason);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        rc = -1;
    }
    json_check_free(&c);
    return rc;
}

void sessions_cancel(struct http_req *req)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s = NULL;
    cJSON *body = NULL;
    const char *reason = NULL;
    int64_t id, cancelled = 0, parts[64], now = rt_now();
    int nparts = 0, step, rc;

    if (http_param_id(req, "id", &id) != 0)
        return;
    rc = store_int_query(st, "SELECT status = 'cancelled' FROM sessions WHERE id = ?1", id,
                         &cancelled);
    if (rc == 0) {
        http_problem(req, 404, "no session %lld", (long long)id);
        goto out;
    }
    if (rc < 0)
        goto fail;
    if (cancel_reason(req, &body, &reason) != 0)
        goto out;
    if (cancelled) {
        http_problem(req, 409, "session %lld is already cancelled", (long long)id);
        goto out;
    }
    if (sessions_cancel_one(st, id, now, req->token_id, reason) != 0)
        goto fail;
    /* A training's parts go with it (a part cancelled on its own stays so). */
    s = store_stmt(st, "SELECT id FROM sessions WHERE parent_id = ?1 AND status = 'scheduled'"
                       " ORDER BY id");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && nparts < (int)(sizeof parts / sizeof parts[0]))
        parts[nparts++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    for (int i = 0; i < nparts; i++)
        if (sessions_cancel_one(st, parts[i], now, req->token_id, reason) != 0)
            goto fail;
    log_info("sessions", "session %lld cancelled", (long long)id);
    sessions_reply(req, 200, id);
    goto out;
fail:
    http_problem(req, 500, "the session could not be cancelled");
out:
    store_done(s);
    cJSON_Delete(body);
}
