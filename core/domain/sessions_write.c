/* sessions_write — POST /api/v1/sessions: one session, a recurring series
 * (one row per occurrence, expanded in local time), or a training with its
 * parts. Every field is checked and every bad one listed before anything is
 * written; the http server's transaction makes the whole series or training
 * appear at once or not at all. */
#include "sessions_handlers.h"
#include "sessions_internal.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "domain.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "rtime.h"
#include "store.h"

#define MAX_PARTS 50
#define MAX_OCCURRENCES 200
#define MAX_CAPACITY 10000

struct part_in {
    const char *title;
    int64_t starts_at, ends_at, venue_id;
    int online;
};

struct draft {
    int kind;
    const char *title, *theme;
    int64_t level, venue_id, trainer_id, starts_at, ends_at, capacity, slot_minutes;
    int online;
    int has_recur;
    struct rt_recur recur;
    int nparts;
    struct part_in parts[MAX_PARTS];
};

/* What one INSERT needs; strings are borrowed. */
struct new_session {
    int kind;
    const char *title, *theme;
    int64_t level, venue_id, trainer_id, starts_at, ends_at, capacity, slot_minutes;
    int online;
    int64_t series_id, parent_id;
};

static int bind_opt(sqlite3_stmt *s, int i, int64_t v, int64_t none)
{
    return v == none ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

static int insert_session(struct store *st, const struct new_session *n, int64_t now,
                          int64_t token_id, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st,
        "INSERT INTO sessions (kind, title, theme, level, venue_id, trainer_id, starts_at,"
        " ends_at, capacity, slot_minutes, online, series_id, parent_id, created_at,"
        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)");
    int rc = -1;

    if (!s)
        return -1;
    if (store_bind_text(s, 1, sessions_kind_names[n->kind]) != SQLITE_OK
        || store_bind_text(s, 2, n->title) != SQLITE_OK
        || store_bind_text(s, 3, n->theme) != SQLITE_OK
        || bind_opt(s, 4, n->level, 0) != SQLITE_OK
        || bind_opt(s, 5, n->venue_id, 0) != SQLITE_OK
        || bind_opt(s, 6, n->trainer_id, 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 7, n->starts_at) != SQLITE_OK
        || sqlite3_bind_int64(s, 8, n->ends_at) != SQLITE_OK
        || bind_opt(s, 9, n->capacity, -1) != SQLITE_OK
        || bind_opt(s, 10, n->slot_minutes, 0) != SQLITE_OK
        || sqlite3_bind_int(s, 11, n->online) != SQLITE_OK
        || bind_opt(s, 12, n->series_id, 0) != SQLITE_OK
        || bind_opt(s, 13, n->parent_id, 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 14, now) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_error("sessions", "inserting a session: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    *id = sqlite3_last_insert_rowid(store_db(st));
    /* Recorded so that the history (and the outbox) starts with the session. */
    if (domain_record_session_change(st, *id, "created", 0, 0, 0, n->starts_at, n->ends_at,
                                     n->venue_id, token_id) != 0)
        goto out;
    rc = 0;
out:
    store_done(s);
    return rc;
}

static int insert_series(struct store *st, const struct rt_recur *r, int64_t now, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO series (freq, interval, count, until,"
                                     " created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    int rc = -1;

    if (!s)
        return -1;
    if (store_bind_text(s, 1, r->freq == RT_WEEKLY ? "weekly" : "daily") != SQLITE_OK
        || sqlite3_bind_int(s, 2, r->interval) != SQLITE_OK
        || bind_opt(s, 3, r->count, 0) != SQLITE_OK
        || bind_opt(s, 4, r->until, RT_NONE) != SQLITE_OK
        || sqlite3_bind_int64(s, 5, now) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_error("sessions", "inserting a series: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    *id = sqlite3_last_insert_rowid(store_db(st));
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* --- validation ------------------------------------------------------------- */

static void parse_recurrence(struct json_check *c, const cJSON *obj, struct rt_recur *r)
{
    static const char *const known[] = {"freq", "interval", "count", "until", NULL};
    static const char *const freqs[] = {"daily", "weekly", NULL};   /* enum rt_freq order */
    struct json_check sub;
    int freq = 0, rc_count, rc_until, has_count, has_until;
    int64_t interval = 1, count = 0, until = RT_NONE;

    if (!cJSON_IsObject(obj)) {
        json_check_add(c, "recurrence", "must be an object");
        return;
    }
    json_check_init(&sub);
    json_check_known(&sub, obj, known);
    json_get_enum(&sub, obj, "freq", 1, freqs, &freq);
    json_get_int(&sub, obj, "interval", 0, 1, 52, &interval);
    rc_count = json_get_int(&sub, obj, "count", 0, 1, MAX_OCCURRENCES, &count);
    rc_until = json_get_time(&sub, obj, "until", 0, &until);
    has_count = rc_count == JSON_OK;
    has_until = rc_until == JSON_OK;
    if (has_count && has_until)
        json_check_add(&sub, "until", "give count or until, not both");
    else if (!has_count && !has_until && rc_count != JSON_BAD && rc_until != JSON_BAD)
        json_check_add(&sub, "count", "count or until is required");
    sessions_check_merge(c, &sub, "recurrence");
    json_check_free(&sub);
    r->freq = freq == 1 ? RT_WEEKLY : RT_DAILY;
    r->interval = (int)interval;
    r->count = has_count ? (int)count : 0;
    r->until = has_count ? RT_NONE : until;
}

static void parse_parts(struct json_check *c, struct store *st, const cJSON *arr,
                        struct draft *d, int *dberr)
{
    static const char *const known[] = {"title", "starts_at", "ends_at", "venue_id",
                                        "online", NULL};
    const cJSON *it;
    int n;

    if (!cJSON_IsArray(arr)) {
        json_check_add(c, "parts", "must be an array");
        return;
    }
    n = cJSON_GetArraySize(arr);
    if (n < 1 || n > MAX_PARTS) {
        json_check_add(c, "parts", "must hold 1 to %d parts", MAX_PARTS);
        return;
    }
    d->nparts = 0;
    cJSON_ArrayForEach(it, arr) {
        struct part_in *p = &d->parts[d->nparts];
        struct json_check sub;
        char prefix[32];
        int ok_start, ok_end;

        snprintf(prefix, sizeof prefix, "parts[%d]", d->nparts);
        d->nparts++;
        memset(p, 0, sizeof *p);
        if (!cJSON_IsObject(it)) {
            json_check_add(c, prefix, "must be an object");
            continue;
        }
        json_check_init(&sub);
        json_check_known(&sub, it, known);
        if (json_get_str(&sub, it, "title", 1, 200, &p->title) == JSON_OK)
            p->title = sessions_trim(p->title);
        ok_start = json_get_time(&sub, it, "starts_at", 1, &p->starts_at) == JSON_OK;
        ok_end = json_get_time(&sub, it, "ends_at", 1, &p->ends_at) == JSON_OK;
        if (ok_start && ok_end && p->ends_at <= p->starts_at)
            json_check_add(&sub, "ends_at", "must be after starts_at");
        if (json_get_int(&sub, it, "venue_id", 0, 1, INT64_MAX, &p->venue_id) == JSON_OK) {
            int e = sessions_venue_exists(st, p->venue_id);
            if (e < 0)
                *dberr = 1;
            else if (e == 0)
                json_check_add(&sub, "venue_id", "no such venue");
        }
        json_get_bool(&sub, it, "online", 0, &p->online);
        sessions_check_merge(c, &sub, prefix);
        json_check_free(&sub);
    }
}

/* Reads and checks the whole body into D. *DBERR is set when a reference
 * could not be looked up (the caller answers 500, not 422). */
static void parse_draft(struct json_check *c, struct store *st, const cJSON *body,
                        struct draft *d, int *dberr)
{
    static const char *const known[] = {"kind", "title", "theme", "level", "venue_id",
                                        "trainer_id", "starts_at", "ends_at", "capacity",
                                        "slot_minutes", "online", "recurrence", "parts", NULL};
    int kind_ok, times_required, ok_start, ok_end, has_cap;
    const cJSON *recur = cJSON_GetObjectItemCaseSensitive(body, "recurrence");
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(body, "parts");

    memset(d, 0, sizeof *d);
    d->capacity = -1;
    d->kind = -1;
    json_check_known(c, body, known);
    kind_ok = json_get_enum(c, body, "kind", 1, sessions_kind_names, &d->kind) == JSON_OK;
    if (json_get_str(c, body, "title", 1, 200, &d->title) == JSON_OK)
        d->title = sessions_trim(d->title);
    if (json_get_str(c, body, "theme", 0, 100, &d->theme) == JSON_OK)
        d->theme = sessions_trim_opt(d->theme);
    json_get_int(c, body, "level", 0, 1, 3, &d->level);
    if (json_get_int(c, body, "venue_id", 0, 1, INT64_MAX, &d->venue_id) == JSON_OK) {
        int e = sessions_venue_exists(st, d->venue_id);
        if (e < 0)
            *dberr = 1;
        else if (e == 0)
            json_check_add(c, "venue_id", "no such venue");
    }
    if (json_get_int(c, body, "trainer_id", 0, 1, INT64_MAX, &d->trainer_id) == JSON_OK) {
        int e = sessions_staff_exists(st, d->trainer_id);
        if (e < 0)
            *dberr = 1;
        else if (e == 0)
            json_check_add(c, "trainer_id", "no such staff member");
    }
    /* A training's times come from its parts; any other kind needs them. */
    times_required = !(kind_ok && d->kind == SESSION_TRAINING);
    ok_start = json_get_time(c, body, "starts_at", times_required, &d->starts_at) == JSON_OK;
    ok_end = json_get_time(c, body, "ends_at", times_required, &d->ends_at) == JSON_OK;
    if (ok_start && ok_end && d->ends_at <= d->starts_at)
        json_check_add(c, "ends_at", "must be after starts_at");
    has_cap = json_get_int(c, body, "capacity", 0, 0, MAX_CAPACITY, &d->capacity) == JSON_OK;
    if (!has_cap)
        d->capacity = -1;
    if (json_get_int(c, body, "slot_minutes", 0, 5, 480, &d->slot_minutes) == JSON_OK
        && kind_ok && d->kind != SESSION_PERMANENCE)
        json_check_add(c, "slot_minutes", "only a permanence has slots");
    json_get_bool(c, body, "online", 0, &d->online);

    if (recur && !cJSON_IsNull(recur)) {
        if (kind_ok && d->kind == SESSION_TRAINING)
            json_check_add(c, "recurrence", "a training cannot recur");
        else {
            d->has_recur = 1;
            parse_recurrence(c, recur, &d->recur);
        }
    }
    if (kind_ok && d->kind == SESSION_TRAINING) {
        if (!parts || cJSON_IsNull(parts))
            json_check_add(c, "parts", "required");
        else
            parse_parts(c, st, parts, d, dberr);
    } else if (parts && !cJSON_IsNull(parts)) {
        json_check_add(c, "parts", "only a training has parts");
    }
    if (json_check_failed(c) || !kind_ok)
        return;

    if (d->kind == SESSION_TRAINING) {
        /* The training spans its parts: first start to last end. */
        int64_t first = d->parts[0].starts_at, last = d->parts[0].ends_at;
        for (int i = 1; i < d->nparts; i++) {
            if (d->parts[i].starts_at < first)
                first = d->parts[i].starts_at;
            if (d->parts[i].ends_at > last)
                last = d->parts[i].ends_at;
        }
        if (ok_start && d->starts_at != first)
            json_check_add(c, "starts_at", "must be the start of the first part (or omitted)");
        if (ok_end && d->ends_at != last)
            json_check_add(c, "ends_at", "must be the end of the last part (or omitted)");
        d->starts_at = first;
        d->ends_at = last;
    }
    if (d->kind == SESSION_PERMANENCE && d->slot_minutes > 0) {
        int n = slots_count(d->starts_at, d->ends_at, (int)d->slot_minutes);
        if (n < 1)
            json_check_add(c, "slot_minutes", "the window holds no whole slot");
        else if (n > MAX_CAPACITY)
            json_check_add(c, "slot_minutes", "the window holds more than %d slots",
                           MAX_CAPACITY);
        else if (d->capacity < 0)
            d->capacity = n;   /* no capacity given: one person per slot */
    }
}

/* --- the handler ------------------------------------------------------------ */

/* ?dry_run=1 (or true): check and expand, answer the dates, write nothing.
 * 1 on, 0 off, -1 a bad value (added to C). */
static int dry_run(struct http_req *req, struct json_check *c)
{
    const char *v = http_query(req, "dry_run");

    if (!v || !*v || strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        return 1;
    json_check_add(c, "dry_run", "must be 1 or true (or 0, false)");
    return -1;
}

static int add_span(cJSON *list, const char *title, int64_t start, int64_t end)
{
    cJSON *o = cJSON_CreateObject();

    if (!o || !cJSON_AddItemToArray(list, o)) {
        cJSON_Delete(o);
        return -1;
    }
    if (title)
        json_add_str(o, "title", title);
    json_add_time(o, "starts_at", start);
    json_add_time(o, "ends_at", end);
    return 0;
}

/* The preview of a dry run: {"dry_run": true, "kind", "title", "count",
 * "occurrences": [{starts_at, ends_at}], "parts": [{title, starts_at,
 * ends_at}] for a training}. */
static void reply_preview(struct http_req *req, const struct draft *d, const int64_t *starts,
                          const int64_t *ends, int n)
{
    cJSON *o = cJSON_CreateObject(), *occ, *parts;

    if (!o || !cJSON_AddBoolToObject(o, "dry_run", 1)
        || !(occ = cJSON_AddArrayToObject(o, "occurrences")))
        goto fail;
    json_add_str(o, "kind", sessions_kind_names[d->kind]);
    json_add_str(o, "title", d->title);
    json_add_int(o, "count", n);
    for (int i = 0; i < n; i++)
        if (add_span(occ, NULL, starts[i], ends[i]) != 0)
            goto fail;
    if (d->kind == SESSION_TRAINING) {
        if (!(parts = cJSON_AddArrayToObject(o, "parts")))
            goto fail;
        for (int i = 0; i < d->nparts; i++)
            if (add_span(parts, d->parts[i].title, d->parts[i].starts_at,
                         d->parts[i].ends_at) != 0)
                goto fail;
    }
    http_reply_json(req, 200, o);
    return;
fail:
    cJSON_Delete(o);
    http_problem(req, 500, "the preview could not be made");
}

/* The ends of the N occurrences starting at STARTS of draft D into ENDS. 0
 * or -1. */
static int occurrence_ends(const struct draft *d, const int64_t *starts, int n, int64_t *ends)
{
    /* Ends step in local time like starts, so 14:00-16:00 stays
     * 14:00-16:00 on both sides of a DST change. */
    struct rt_recur er = {d->recur.freq, d->recur.interval, n, RT_NONE};

    if (!d->has_recur) {
        ends[0] = d->ends_at;
        return 0;
    }
    if (rt_recur_expand(d->ends_at, &er, ends, MAX_OCCURRENCES) != n)
        return -1;
    for (int i = 0; i < n; i++)
        if (ends[i] <= starts[i])   /* the end fell into a DST gap */
            ends[i] = starts[i] + (d->ends_at - d->starts_at);
    return 0;
}

static int create_training(struct store *st, const struct draft *d, int64_t now,
                           int64_t token_id, int64_t *id)
{
    struct new_session n = {
        .kind = SESSION_TRAINING, .title = d->title, .theme = d->theme, .level = d->level,
        .venue_id = d->venue_id, .trainer_id = d->trainer_id, .starts_at = d->starts_at,
        .ends_at = d->ends_at, .capacity = d->capacity, .online = d->online,
    };
    int64_t part_id;

    if (insert_session(st, &n, now, token_id, id) != 0)
        return -1;
    /* A part takes the training's trainer, theme, level and capacity, and
     * its venue unless it names one. */
    for (int i = 0; i < d->nparts; i++) {
        const struct part_in *p = &d->parts[i];
        n.title = p->title;
        n.starts_at = p->starts_at;
        n.ends_at = p->ends_at;
        n.venue_id = p->venue_id ? p->venue_id : d->venue_id;
        n.online = p->online;
        n.parent_id = *id;
        if (insert_session(st, &n, now, token_id, &part_id) != 0)
            return -1;
    }
    return 0;
}

void sessions_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct draft d;
    cJSON *body = NULL, *o = NULL, *ids = NULL;
    struct sessions_row row;
    int64_t starts[MAX_OCCURRENCES], ends[MAX_OCCURRENCES];
    int64_t now = rt_now(), first_id = 0, series_id = 0;
    int dberr = 0, n = 1, rc, dry;

    json_check_init(&c);
    if (!(body = http_json_body(req)))
        goto out;
    dry = dry_run(req, &c);
    parse_draft(&c, st, body, &d, &dberr);
    if (dberr)
        goto fail;
    if (!json_check_failed(&c) && d.has_recur) {
        n = rt_recur_expand(d.starts_at, &d.recur, starts, MAX_OCCURRENCES);
        if (n < 0)
            json_check_add(&c, "recurrence", "at most %d occurrences", MAX_OCCURRENCES);
        else if (n == 0)
            json_check_add(&c, "recurrence.until", "must not be before starts_at");
    }
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (!d.has_recur)
        starts[0] = d.starts_at;
    if (occurrence_ends(&d, starts, n, ends) != 0)
        goto fail;
    if (dry > 0) {
        reply_preview(req, &d, starts, ends, n);
        goto out;
    }

    if (d.kind == SESSION_TRAINING) {
        if (create_training(st, &d, now, req->token_id, &first_id) != 0)
            goto fail;
    } else {
        struct new_session ns = {
            .kind = d.kind, .title = d.title, .theme = d.theme, .level = d.level,
            .venue_id = d.venue_id, .trainer_id = d.trainer_id, .capacity = d.capacity,
            .slot_minutes = d.slot_minutes, .online = d.online,
        };
        if (d.has_recur) {
            if (insert_series(st, &d.recur, now, &series_id) != 0)
                goto fail;
            if (!(ids = cJSON_CreateArray()))
                goto fail;
        }
        ns.series_id = series_id;
        for (int i = 0; i < n; i++) {
            int64_t id;
            cJSON *num;

            ns.starts_at = starts[i];
            ns.ends_at = ends[i];
            if (insert_session(st, &ns, now, req->token_id, &id) != 0)
                goto fail;
            if (i == 0)
                first_id = id;
            if (ids && (!(num = cJSON_CreateNumber((double)id))
                        || !cJSON_AddItemToArray(ids, num))) {
                cJSON_Delete(num);
                goto fail;
            }
        }
    }

    rc = sessions_load(st, first_id, &row);
    if (rc != 1)
        goto fail;
    o = sessions_json(st, &row);
    sessions_row_clear(&row);
    if (!o)
        goto fail;
    if (ids) {
        if (!cJSON_AddItemToObject(o, "occurrences", ids))
            goto fail;
        ids = NULL;
    }
    log_info("sessions", "session %lld created (%d occurrence%s)", (long long)first_id, n,
             n > 1 ? "s" : "");
    http_reply_json(req, 201, o);
    o = NULL;
    goto out;
fail:
    http_problem(req, 500, "the session could not be created");
out:
    cJSON_Delete(o);
    cJSON_Delete(ids);
    cJSON_Delete(body);
    json_check_free(&c);
}
