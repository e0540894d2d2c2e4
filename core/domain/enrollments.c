/* enrollments — the enrollment resources: POST/GET
 * /api/v1/sessions/{id}/enrollments, GET/PATCH /api/v1/enrollments/{id}.
 *
 * Capacity, the waitlist and training parts are handled here and in
 * enrollments_waitlist.c; every status change goes through
 * enrollments_set_status() so that it is recorded as an event. Trainers read
 * the enrollments of their own sessions and mark attendance there, nothing
 * else (403). */
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

#define ENR_COLS \
    "e.id, e.session_id, e.beneficiary_id, e.status, e.slot_start, e.parent_id," \
    " e.created_at, e.updated_at, b.first_name, b.last_name"

/* What the handlers need to decide on one enrollment. */
struct enr {
    int64_t id, session_id, parent_id;
    char status[16];
};

/* domain_enrollment_denied answered 403. */
enum { ANSWERED = 1 };

static cJSON *enr_json(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject(), *b;

    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    json_add_int(o, "session_id", sqlite3_column_int64(s, 1));
    json_add_int(o, "beneficiary_id", sqlite3_column_int64(s, 2));
    json_add_str(o, "status", (const char *)sqlite3_column_text(s, 3));
    json_add_time(o, "slot_start", sqlite3_column_type(s, 4) == SQLITE_NULL
                                       ? RT_NONE : sqlite3_column_int64(s, 4));
    if (sqlite3_column_type(s, 5) == SQLITE_NULL)
        json_add_str(o, "parent_id", NULL);
    else
        json_add_int(o, "parent_id", sqlite3_column_int64(s, 5));
    json_add_time(o, "created_at", sqlite3_column_int64(s, 6));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, 7));
    if (!(b = cJSON_AddObjectToObject(o, "beneficiary"))) {
        cJSON_Delete(o);
        return NULL;
    }
    json_add_int(b, "id", sqlite3_column_int64(s, 2));
    json_add_str(b, "first_name", (const char *)sqlite3_column_text(s, 8));
    json_add_str(b, "last_name", (const char *)sqlite3_column_text(s, 9));
    return o;
}

cJSON *enrollments_json(struct store *st, int64_t id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT " ENR_COLS " FROM enrollments e"
                                     " JOIN beneficiaries b ON b.id = e.beneficiary_id"
                                     " WHERE e.id = ?1");
    cJSON *o = NULL;

    if (s && sqlite3_bind_int64(s, 1, id) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        o = enr_json(s);
    store_done(s);
    return o;
}

static void enr_reply(struct http_req *req, int status, int64_t id)
{
    cJSON *o = enrollments_json(req->app->store, id);

    if (!o) {
        http_problem(req, 500, "the enrollment could not be read");
        return;
    }
    http_reply_json(req, status, o);
}

/* 1 found, 0 none, -1 error. */
static int enr_load(struct store *st, int64_t id, struct enr *e)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, session_id, parent_id, status"
                                     " FROM enrollments WHERE id = ?1");
    int rc = -1, step;

    if (!s)
        return -1;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(s, 3);
        e->id = sqlite3_column_int64(s, 0);
        e->session_id = sqlite3_column_int64(s, 1);
        e->parent_id = sqlite3_column_int64(s, 2);   /* NULL reads as 0 */
        snprintf(e->status, sizeof e->status, "%s", status ? status : "");
        rc = 1;
    } else if (step == SQLITE_DONE) {
        rc = 0;
    }
out:
    store_done(s);
    return rc;
}

/* 0 inserted, 1 refused by a unique index (already enrolled, slot taken),
 * -1 error. */
static int insert_enrollment(struct store *st, int64_t session_id, int64_t beneficiary_id,
                             int64_t parent_id, const char *status, int64_t slot,
                             int64_t now, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO enrollments (session_id, beneficiary_id,"
                                     " parent_id, status, slot_start, created_at, updated_at)"
                                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
    int rc = -1;

    if (!s)
        return -1;
    if (sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, beneficiary_id) != SQLITE_OK
        || (parent_id ? sqlite3_bind_int64(s, 3, parent_id) : sqlite3_bind_null(s, 3)) != SQLITE_OK
        || store_bind_text(s, 4, status) != SQLITE_OK
        || (slot != RT_NONE ? sqlite3_bind_int64(s, 5, slot) : sqlite3_bind_null(s, 5)) != SQLITE_OK
        || sqlite3_bind_int64(s, 6, now) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_UNIQUE) {
            rc = 1;
            goto out;
        }
        log_error("enrollments", "inserting an enrollment in session %lld: %s",
                  (long long)session_id, sqlite3_errmsg(store_db(st)));
        goto out;
    }
    *id = sqlite3_last_insert_rowid(store_db(st));
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* 1 when BENEFICIARY_ID has an enrollment in SESSION_ID that is not
 * cancelled, 0 not, -1 error. */
static int already_enrolled(struct store *st, int64_t session_id, int64_t beneficiary_id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM enrollments WHERE session_id = ?1"
                                     " AND beneficiary_id = ?2 AND status <> 'cancelled'");
    int rc = -1, step;

    if (!s)
        return -1;
    if (sqlite3_bind_int64(s, 1, session_id) == SQLITE_OK
        && sqlite3_bind_int64(s, 2, beneficiary_id) == SQLITE_OK) {
        step = sqlite3_step(s);
        rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
    }
    store_done(s);
    return rc;
}

/* One enrollment per part of the training, following the training's
 * status. 0, 1 (unique index), -1. */
static int enroll_parts(struct store *st, int64_t training_id, int64_t parent_eid,
                        int64_t beneficiary_id, const char *status, int64_t now,
                        int64_t token_id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id FROM sessions WHERE parent_id = ?1"
                                     " AND status = 'scheduled' ORDER BY starts_at, id");
    int64_t parts[64], eid;
    int n = 0, step, rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, training_id) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && n < (int)(sizeof parts / sizeof parts[0]))
        parts[n++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto out;
    store_done(s);
    s = NULL;
    for (int i = 0; i < n; i++) {
        rc = insert_enrollment(st, parts[i], beneficiary_id, parent_eid, status, RT_NONE, now,
                               &eid);
        if (rc != 0)
            goto out;
        rc = -1;
        if (domain_record_enrollment_event(st, eid, status, token_id) != 0)
            goto out;
    }
    rc = 0;
out:
    store_done(s);
    return rc;
}

int enrollments_add(struct store *st, const struct sessions_row *r, int64_t bid, int64_t slot,
                    int64_t batch_id, int64_t token_id, int64_t *eid, const char **status)
{
    int64_t now = rt_now();
    int rc;

    if ((rc = already_enrolled(st, r->id, bid)) != 0)
        return rc < 0 ? -1 : 1;
    /* Places are counted on the session itself (the training for a
     * training); when none is left the person joins the waitlist. */
    *status = r->capacity < 0 || r->booked < r->capacity ? "booked" : "waitlisted";
    rc = insert_enrollment(st, r->id, bid, 0, *status, slot, now, eid);
    if (rc != 0)
        return rc;
    /* The first enrollment of a batch gives it its id: set before the
     * event, which the outbox reads it at. */
    if (batch_id >= 0) {
        sqlite3_stmt *s = store_stmt(st, "UPDATE enrollments SET batch_id = ?2 WHERE id = ?1");
        int ok = s && sqlite3_bind_int64(s, 1, *eid) == SQLITE_OK
                 && sqlite3_bind_int64(s, 2, batch_id ? batch_id : *eid) == SQLITE_OK
                 && sqlite3_step(s) == SQLITE_DONE;
        store_done(s);
        if (!ok)
            return -1;
    }
    if (domain_record_enrollment_event(st, *eid, *status, token_id) != 0)
        return -1;
    if (r->kind == SESSION_TRAINING)
        return enroll_parts(st, r->id, *eid, bid, *status, now, token_id);
    return 0;
}

static void h_create(struct http_req *req)
{
    static const char *const known[] = {"beneficiary_id", "slot_start", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    struct sessions_row r;
    cJSON *body = NULL;
    int64_t sid, bid = 0, slot = RT_NONE, eid = 0, active = 0;
    int loaded = 0, rc, has_slot;
    const char *status = NULL;

    json_check_init(&c);
    if (http_param_id(req, "id", &sid) != 0)
        goto out;
    rc = sessions_load(st, sid, &r);
    if (rc == 0) {
        http_problem(req, 404, "no session %lld", (long long)sid);
        goto out;
    }
    if (rc < 0)
        goto fail;
    loaded = 1;
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, known);
    if (json_get_int(&c, body, "beneficiary_id", 1, 1, INT64_MAX, &bid) == JSON_OK) {
        rc = store_int_query(st, "SELECT erased_at IS NULL FROM beneficiaries WHERE id = ?1",
                             bid, &active);
        if (rc < 0)
            goto fail;
        if (rc == 0 || !active)
            json_check_add(&c, "beneficiary_id", "no such beneficiary");
    }
    has_slot = json_get_time(&c, body, "slot_start", 0, &slot) == JSON_OK;
    if (!has_slot)
        slot = RT_NONE;
    else if (r.kind != SESSION_PERMANENCE || r.slot_minutes <= 0)
        json_check_add(&c, "slot_start", "only a permanence with slots takes a slot_start");
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }

    if (r.cancelled) {
        http_problem(req, 409, "session %lld is cancelled", (long long)sid);
        goto out;
    }
    if (r.parent_id) {
        http_problem(req, 409, "session %lld is a part of training %lld: enroll in the training",
                     (long long)sid, (long long)r.parent_id);
        goto out;
    }
    if ((rc = already_enrolled(st, sid, bid)) != 0) {
        if (rc < 0)
            goto fail;
        http_problem(req, 409, "this person is already enrolled in session %lld", (long long)sid);
        goto out;
    }
    if (has_slot) {
        if (slots_check(r.starts_at, r.ends_at, (int)r.slot_minutes, slot) != 0) {
            http_problem(req, 409, "slot_start is not the start of a slot of this permanence");
            goto out;
        }
        if ((rc = enrollments_slot_taken(st, sid, slot, 0)) != 0) {
            if (rc < 0)
                goto fail;
            http_problem(req, 409, "this slot is already taken");
            goto out;
        }
    }

    rc = enrollments_add(st, &r, bid, slot, -1, req->token_id, &eid, &status);
    if (rc == 1) {
        /* Two requests racing past the checks above meet the unique index. */
        http_problem(req, 409, "already enrolled, or the slot is taken");
        goto out;
    }
    if (rc != 0)
        goto fail;
    log_info("enrollments", "enrollment %lld in session %lld: %s", (long long)eid,
             (long long)sid, status);
    enr_reply(req, 201, eid);
    goto out;
fail:
    http_problem(req, 500, "the enrollment could not be made");
out:
    if (loaded)
        sessions_row_clear(&r);
    cJSON_Delete(body);
    json_check_free(&c);
}

static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page p;
    sqlite3_stmt *s = NULL;
    int64_t sid, one;
    int rc;

    json_check_init(&c);
    if (http_param_id(req, "id", &sid) != 0)
        goto out;
    rc = store_int_query(st, "SELECT 1 FROM sessions WHERE id = ?1", sid, &one);
    if (rc == 0) {
        http_problem(req, 404, "no session %lld", (long long)sid);
        goto out;
    }
    if (rc < 0 || (rc = domain_enrollment_denied(req, sid)) < 0)
        goto fail;
    if (rc == ANSWERED)
        goto out;
    http_page_parse(req, &c, &p);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "SELECT " ENR_COLS " FROM enrollments e"
                       " JOIN beneficiaries b ON b.id = e.beneficiary_id"
                       " WHERE e.session_id = ?1 AND e.id > ?2 ORDER BY e.id LIMIT ?3");
    if (!s || sqlite3_bind_int64(s, 1, sid) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, p.has_cursor ? p.k1 : 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, (int64_t)p.limit + 1) != SQLITE_OK
        || http_reply_page(req, s, &p, enr_json, 0, -1) != 0)
        goto fail;
    store_done(s);
    goto out;
fail:
    store_done(s);
    http_problem(req, 500, "the enrollments could not be listed");
out:
    json_check_free(&c);
}

static void h_get(struct http_req *req)
{
    struct enr e;
    int64_t id;
    int rc;

    if (http_param_id(req, "id", &id) != 0)
        return;
    rc = enr_load(req->app->store, id, &e);
    if (rc == 0) {
        http_problem(req, 404, "no enrollment %lld", (long long)id);
        return;
    }
    if (rc < 0 || (rc = domain_enrollment_denied(req, e.session_id)) < 0) {
        http_problem(req, 500, "the enrollment could not be read");
        return;
    }
    if (rc == ANSWERED)
        return;
    enr_reply(req, 200, id);
}

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int enrollments_cancel(struct store *st, int64_t id, int64_t token_id)
{
    static const char *const cancellable[] = {"booked", "waitlisted", NULL};
    struct enr e;
    int64_t now = rt_now();
    int rc = enr_load(st, id, &e);

    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    if (!is_one_of(e.status, cancellable) || e.parent_id)
        return 1;
    if (enrollments_set_status(st, id, "cancelled", "cancelled", now, token_id) != 0
        || enrollments_set_parts(st, id, 0, "cancelled", "cancelled", now, token_id) != 0)
        return -1;
    /* A freed place goes to the waitlist at once, in the same transaction,
     * so nobody can take it in between. */
    if (strcmp(e.status, "booked") == 0 && enrollments_promote(st, e.session_id, token_id) < 0)
        return -1;
    return 0;
}

static void h_patch(struct http_req *req)
{
    static const char *const known[] = {"status", NULL};
    static const char *const targets[] = {"cancelled", "attended", "absent", "excused", NULL};
    static const char *const cancellable[] = {"booked", "waitlisted", NULL};
    static const char *const present[] = {"booked", "attended", "absent", "excused", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    struct enr e;
    cJSON *body = NULL;
    int64_t id, now = rt_now(), cancelled = 0, starts = 0;
    int rc, target = -1;

    json_check_init(&c);
    if (http_param_id(req, "id", &id) != 0)
        goto out;
    rc = enr_load(st, id, &e);
    if (rc == 0) {
        http_problem(req, 404, "no enrollment %lld", (long long)id);
        goto out;
    }
    if (rc < 0 || (rc = domain_enrollment_denied(req, e.session_id)) < 0)
        goto fail;
    if (rc == ANSWERED)
        goto out;
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, known);
    json_get_enum(&c, body, "status", 1, targets, &target);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }

    if (target == 0) {
        if (req->role == ROLE_TRAINER) {
            http_problem(req, 403, "trainers mark attendance; cancelling is for coordinators");
            goto out;
        }
        if (!is_one_of(e.status, cancellable)) {
            http_problem(req, 409, "a %s enrollment cannot be cancelled", e.status);
            goto out;
        }
        if (e.parent_id) {
            http_problem(req, 409, "this is a training part: cancel training enrollment %lld",
                         (long long)e.parent_id);
            goto out;
        }
        rc = enrollments_cancel(st, id, req->token_id);
        if (rc < 0)
            goto fail;
        if (rc == 1) {
            http_problem(req, 409, "enrollment %lld cannot be cancelled", (long long)id);
            goto out;
        }
    } else {
        if (!is_one_of(e.status, present)) {
            http_problem(req, 409, "attendance cannot be marked on a %s enrollment", e.status);
            goto out;
        }
        rc = store_int_query(st, "SELECT status = 'cancelled' FROM sessions WHERE id = ?1",
                             e.session_id, &cancelled);
        if (rc != 1)
            goto fail;
        if (cancelled) {
            http_problem(req, 409, "session %lld is cancelled", (long long)e.session_id);
            goto out;
        }
        /* Present or absent is known once the session has begun: a tap on
         * a future date would count a presence and silence the reminders.
         * An excuse may come any time before. */
        if (target == 1 || target == 2) {   /* attended, absent */
            rc = store_int_query(st, "SELECT starts_at FROM sessions WHERE id = ?1",
                                 e.session_id, &starts);
            if (rc != 1)
                goto fail;
            if (now < starts) {
                http_problem(req, 409, "session %lld has not started yet: attended and absent "
                             "are marked once it has", (long long)e.session_id);
                goto out;
            }
        }
        if (strcmp(e.status, targets[target]) != 0
            && enrollments_set_status(st, id, targets[target], targets[target], now,
                                      req->token_id) != 0)
            goto fail;
    }
    enr_reply(req, 200, id);
    goto out;
fail:
    http_problem(req, 500, "the enrollment could not be changed");
out:
    cJSON_Delete(body);
    json_check_free(&c);
}

int enrollments_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_POST, "/api/v1/sessions/{id}/enrollments", ROLES_STAFF,
                   h_create) != 0
        || http_route(hs, HTTP_GET, "/api/v1/sessions/{id}/enrollments", ROLES_ALL, h_list) != 0
        || http_route(hs, HTTP_GET, "/api/v1/enrollments/{id}", ROLES_ALL, h_get) != 0
        || http_route(hs, HTTP_PATCH, "/api/v1/enrollments/{id}", ROLES_ALL, h_patch) != 0)
        return -1;
    return 0;
}
