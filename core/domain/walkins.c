/* /api/v1/sessions/{id}/headcount — the walk-ins of a session: people who
 * came without being registered, counted anonymously by gender, age bracket
 * and residence. PUT replaces the whole count (a second PUT is a
 * correction, not an addition); the session's own output carries the total
 * as `headcount`. Read by every role; written by admins, coordinators and
 * the trainer of the session (or of its training). A cancelled session had
 * no walk-ins: 409. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "domain.h"
#include "http.h"
#include "log.h"
#include "records.h"
#include "rtime.h"
#include "store.h"
#include "records_internal.h"

#define MAX_GROUPS 200          /* 3 genders × brackets × residences, unknowns, repeats */
#define MAX_PER_GROUP 100000

struct group {
    struct records_group g;
    int64_t n;
};

static int same_group(const struct records_group *a, const struct records_group *b)
{
    return a->gender == b->gender && a->residence == b->residence &&
           a->age_min == b->age_min && a->age_max == b->age_max;
}

/* {"session_id", "total", "counts": [{gender, age_bracket, residence, n}]}
 * as stored now. NULL on a database error or out of memory. */
static cJSON *headcount_doc(struct store *st, int64_t session_id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT gender, age_min, age_max, residence, n"
                                     " FROM session_headcounts WHERE session_id = ?1"
                                     " ORDER BY id");
    cJSON *doc = cJSON_CreateObject(), *counts;
    int64_t total = 0;
    int step;

    if (!s || !doc || sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK ||
        !(counts = cJSON_CreateArray()))
        goto fail;
    json_add_int(doc, "session_id", session_id);
    if (!cJSON_AddItemToObject(doc, "counts", counts)) {
        cJSON_Delete(counts);
        goto fail;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = records_group_json(s, 0);
        if (!o || !cJSON_AddItemToArray(counts, o)) {
            cJSON_Delete(o);
            goto fail;
        }
        json_add_int(o, "n", sqlite3_column_int64(s, 4));
        total += sqlite3_column_int64(s, 4);
    }
    if (step != SQLITE_DONE)
        goto fail;
    json_add_int(doc, "total", total);
    store_done(s);
    return doc;
fail:
    store_done(s);
    cJSON_Delete(doc);
    return NULL;
}

static void reply_doc(struct http_req *req, int64_t id)
{
    cJSON *doc = headcount_doc(req->app->store, id);

    if (!doc) {
        log_error("walkins", "reading the head count of session %lld: %s", (long long)id,
                  sqlite3_errmsg(store_db(req->app->store)));
        http_problem(req, 500, "could not read the head count");
        return;
    }
    http_reply_json(req, 200, doc);
}

static void h_get(struct http_req *req)
{
    int64_t id;

    if (http_param_id(req, "id", &id) == 0 && records_session_found(req, id))
        reply_doc(req, id);
}

/* Reads BODY's counts into OUT (merging the same group given twice):
 * their number, or -1 when errors were added to C. */
static int read_counts(struct json_check *c, const cJSON *body,
                       const struct config_records *r, struct group *out)
{
    static const char *const allowed[] = {"counts", NULL};
    static const char *const extra[] = {"n", NULL};
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "counts"), *it;
    int n = 0, i = 0;

    json_check_known(c, body, allowed);
    if (!cJSON_IsArray(arr)) {
        json_check_add(c, "counts", arr ? "must be an array" : "required");
        return -1;
    }
    if (cJSON_GetArraySize(arr) > MAX_GROUPS) {
        json_check_add(c, "counts", "at most %d groups", MAX_GROUPS);
        return -1;
    }
    cJSON_ArrayForEach(it, arr) {
        char prefix[32], field[48];
        const cJSON *nv;
        struct group g;
        double d;
        int k;

        snprintf(prefix, sizeof prefix, "counts[%d]", i++);
        if (records_group_read(c, it, prefix, r, extra, &g.g) != 0 && !cJSON_IsObject(it))
            continue;
        snprintf(field, sizeof field, "%s.n", prefix);
        nv = cJSON_GetObjectItemCaseSensitive(it, "n");
        d = cJSON_IsNumber(nv) ? nv->valuedouble : -1;
        /* In range first, so that the cast below is defined. */
        if (!nv || cJSON_IsNull(nv)) {
            json_check_add(c, field, "required");
            continue;
        }
        if (d < 0 || d > MAX_PER_GROUP || d != (double)(int64_t)d) {
            json_check_add(c, field, "must be an integer between 0 and %d", MAX_PER_GROUP);
            continue;
        }
        g.n = (int64_t)d;
        for (k = 0; k < n && !same_group(&out[k].g, &g.g); k++)
            ;
        if (k < n)
            out[k].n += g.n;
        else
            out[n++] = g;
    }
    return json_check_failed(c) ? -1 : n;
}

static void h_put(struct http_req *req)
{
    struct store *st = req->app->store;
    struct group *groups = NULL;
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = NULL;
    int64_t id, total = 0;
    int cancelled, n;

    if (http_param_id(req, "id", &id) != 0)
        return;
    json_check_init(&c);
    if (!records_session_writable(req, id, &cancelled,
                                  "a trainer counts the walk-ins of their own sessions only"))
        goto out;
    if (!(body = http_json_body(req)))
        goto out;
    if (!(groups = calloc(MAX_GROUPS, sizeof *groups)))
        goto fail;
    n = read_counts(&c, body, &req->app->cfg->records, groups);
    if (n < 0) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (cancelled) {
        http_problem(req, 409, "session %lld is cancelled: it had no walk-ins", (long long)id);
        goto out;
    }
    s = store_stmt(st, "DELETE FROM session_headcounts WHERE session_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    for (int i = 0; i < n; i++) {
        if (groups[i].n == 0)
            continue;           /* a group nobody came from is no row */
        s = store_stmt(st, "INSERT INTO session_headcounts (session_id, gender, age_min,"
                           " age_max, residence, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            records_group_bind(s, 2, &groups[i].g) != SQLITE_OK ||
            sqlite3_bind_int64(s, 6, groups[i].n) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
            goto fail;
        store_done(s);
        s = NULL;
        total += groups[i].n;
    }
    s = store_stmt(st, "UPDATE sessions SET headcount = ?2, updated_at = ?3 WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, total) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    reply_doc(req, id);
    goto out;
fail:
    log_error("walkins", "counting the walk-ins of session %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not store the head count");
out:
    store_done(s);
    free(groups);
    json_check_free(&c);
    cJSON_Delete(body);
}

int walkins_register(struct http_server *hs)
{
    const char *path = "/api/v1/sessions/{id}/headcount";
    if (http_route(hs, HTTP_GET, path, ROLES_ALL, h_get) != 0 ||
        http_route(hs, HTTP_PUT, path, ROLES_ALL, h_put) != 0)
        return -1;
    return 0;
}
