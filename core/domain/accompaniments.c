/* /api/v1/accompaniments — individual supports given to one person (at a
 * permanence, by phone, at home, remotely), known or anonymous: the record
 * French digital mediators keep, and what the funders' "supports" and
 * "person-hours" count. The read side (list, one, export), DELETE and the
 * routes; POST and PATCH are in accompaniments_write.c.
 *
 * Admins and coordinators see and write every accompaniment. A trainer
 * records their own (staff_id is theirs) and sees only those: another's
 * answers 404, as if it did not exist. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "domain.h"
#include "http.h"
#include "log.h"
#include "records.h"
#include "rtime.h"
#include "store.h"
#include "records_internal.h"
#include "sessions_internal.h"

static void add_id(cJSON *o, const char *name, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        json_add_str(o, name, NULL);
    else
        json_add_int(o, name, sqlite3_column_int64(s, col));
}

/* The U+001F-joined text of column COL as an array of strings. */
static cJSON *split_list(sqlite3_stmt *s, int col)
{
    const char *p = (const char *)sqlite3_column_text(s, col);
    cJSON *arr = cJSON_CreateArray();

    while (arr && p && *p) {
        const char *end = strchr(p, '\x1f');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *one = strndup(p, len);
        cJSON *item = one ? cJSON_CreateString(one) : NULL;

        free(one);
        if (!item || !cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            cJSON_Delete(arr);
            return NULL;
        }
        p = end ? end + 1 : p + len;
    }
    return arr;
}

cJSON *accompaniments_render(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject(), *sub;

    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    add_id(o, "beneficiary_id", s, 1);
    if (sqlite3_column_type(s, 1) != SQLITE_NULL)
        json_add_str(o, "anonymous", NULL);
    else if (!(sub = records_group_json(s, 2)) || !cJSON_AddItemToObject(o, "anonymous", sub))
        goto fail_sub;
    add_id(o, "venue_id", s, 6);
    add_id(o, "staff_id", s, 7);
    add_id(o, "session_id", s, 8);
    json_add_time(o, "started_at", sqlite3_column_int64(s, 9));
    json_add_int(o, "minutes", sqlite3_column_int64(s, 10));
    json_add_str(o, "modality", (const char *)sqlite3_column_text(s, 11));
    if (!(sub = split_list(s, 19)) || !cJSON_AddItemToObject(o, "themes", sub))
        goto fail_sub;
    if (sqlite3_column_type(s, 12) == SQLITE_NULL) {
        json_add_str(o, "procedure", NULL);
    } else {
        if (!(sub = cJSON_CreateObject()) || !cJSON_AddItemToObject(o, "procedure", sub))
            goto fail_sub;
        json_add_str(sub, "operator", (const char *)sqlite3_column_text(s, 12));
        if (!cJSON_AddBoolToObject(sub, "done", sqlite3_column_int(s, 13) != 0))
            goto fail;
    }
    if (!(sub = split_list(s, 20)) || !cJSON_AddItemToObject(o, "equipment", sub))
        goto fail_sub;
    add_id(o, "autonomy", s, 14);
    add_id(o, "referred_to", s, 15);
    json_add_str(o, "pass", (const char *)sqlite3_column_text(s, 16));
    json_add_time(o, "created_at", sqlite3_column_int64(s, 17));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, 18));
    return o;
fail_sub:
    cJSON_Delete(sub);
fail:
    cJSON_Delete(o);
    return NULL;
}

void accompaniments_reply(struct http_req *req, int64_t id, int status)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s = store_stmt(st, "SELECT " ACC_COLS " FROM accompaniments a"
                                     " WHERE a.id = ?1 AND (?2 = 0 OR a.staff_id = ?3)");
    cJSON *o = NULL;
    int rc;

    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int(s, 2, req->role == ROLE_TRAINER) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, req->staff_id) != SQLITE_OK)
        goto fail;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        store_done(s);
        http_problem(req, 404, "no accompaniment %lld", (long long)id);
        return;
    }
    if (rc != SQLITE_ROW || !(o = accompaniments_render(s)))
        goto fail;
    store_done(s);
    http_reply_json(req, status, o);
    return;
fail:
    log_error("accompaniments", "reading accompaniment %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    store_done(s);
    http_problem(req, 500, "could not read the accompaniment");
}

static void id_filter(struct http_req *req, struct json_check *c, const char *name,
                      int64_t *out)
{
    const char *v = http_query(req, name);

    *out = 0;
    if (v && sessions_parse_query_id(v, out) != 0)
        json_check_add(c, name, "must be a positive integer id");
}

static int bind_opt(sqlite3_stmt *s, int i, int64_t v, int64_t none)
{
    return v == none ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

/* ?from ?to (started_at, inclusive, as for sessions), ?beneficiary_id
 * ?staff_id ?venue_id ?session_id; by started_at then id. A trainer's list
 * is their own: asking for another's staff_id is refused. */
static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page p;
    sqlite3_stmt *s = NULL;
    int64_t from = RT_NONE, to = RT_NONE, ben, staff, venue, session;
    const char *v;

    json_check_init(&c);
    http_page_parse(req, &c, &p);
    if ((v = http_query(req, "from")) && sessions_parse_bound(v, 0, &from) != 0)
        json_check_add(&c, "from", "must be an RFC 3339 time or a date YYYY-MM-DD");
    if ((v = http_query(req, "to")) && sessions_parse_bound(v, 1, &to) != 0)
        json_check_add(&c, "to", "must be an RFC 3339 time or a date YYYY-MM-DD");
    if (from != RT_NONE && to != RT_NONE && to < from)
        json_check_add(&c, "to", "must not be before from");
    id_filter(req, &c, "beneficiary_id", &ben);
    id_filter(req, &c, "staff_id", &staff);
    id_filter(req, &c, "venue_id", &venue);
    id_filter(req, &c, "session_id", &session);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (req->role == ROLE_TRAINER) {
        if (req->staff_id <= 0 || (staff && staff != req->staff_id)) {
            http_problem(req, 403, "a trainer sees their own accompaniments only");
            goto out;
        }
        staff = req->staff_id;
    }
    /* The statement whose leading equality has an index with started_at
     * after it (records_internal.h), the range always bound: the planner
     * walks that index between the bounds in the list's order. */
    if (p.has_cursor && p.k1 > from)
        from = p.k1;
    if (to == RT_NONE)
        to = INT64_MAX;
    s = store_stmt(st, ben ? ACC_LIST_SQL("a.beneficiary_id = ?3")
                       : session ? ACC_LIST_SQL("a.session_id = ?6")
                       : staff ? ACC_LIST_SQL("a.staff_id = ?4")
                       : venue ? ACC_LIST_SQL("a.venue_id = ?5") : ACC_LIST_SQL("1"));
    if (!s || sqlite3_bind_int64(s, 1, from) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, to) != SQLITE_OK || bind_opt(s, 3, ben, 0) != SQLITE_OK ||
        bind_opt(s, 4, staff, 0) != SQLITE_OK || bind_opt(s, 5, venue, 0) != SQLITE_OK ||
        bind_opt(s, 6, session, 0) != SQLITE_OK ||
        (p.has_cursor ? sqlite3_bind_int64(s, 7, p.k1) : sqlite3_bind_null(s, 7)) != SQLITE_OK ||
        sqlite3_bind_int64(s, 8, p.has_cursor ? p.k2 : 0) != SQLITE_OK ||
        sqlite3_bind_int(s, 9, p.limit + 1) != SQLITE_OK)
        goto fail;
    if (http_reply_page(req, s, &p, accompaniments_render, 9, 0) != 0)
        goto fail;
    goto out;
fail:
    log_error("accompaniments", "listing accompaniments: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not list the accompaniments");
out:
    store_done(s);
    json_check_free(&c);
}

static void h_get(struct http_req *req)
{
    int64_t id;
    if (http_param_id(req, "id", &id) != 0)
        return;
    accompaniments_reply(req, id, 200);
}

static void h_delete(struct http_req *req)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s;
    int64_t id;

    if (http_param_id(req, "id", &id) != 0)
        return;
    /* Themes and equipment go with it (ON DELETE CASCADE). */
    s = store_stmt(st, "DELETE FROM accompaniments WHERE id = ?1 AND (?2 = 0 OR staff_id = ?3)");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int(s, 2, req->role == ROLE_TRAINER) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, req->staff_id) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_error("accompaniments", "deleting accompaniment %lld: %s", (long long)id,
                  sqlite3_errmsg(store_db(st)));
        store_done(s);
        http_problem(req, 500, "could not delete the accompaniment");
        return;
    }
    store_done(s);
    if (sqlite3_changes(store_db(st)) == 0)
        http_problem(req, 404, "no accompaniment %lld", (long long)id);
    else
        http_reply_empty(req, 204);
}

int accompaniments_export(struct store *st, int64_t beneficiary_id, cJSON *arr)
{
    return records_append_rows(st, "SELECT " ACC_COLS " FROM accompaniments a"
                                   " WHERE a.beneficiary_id = ?1 ORDER BY a.started_at, a.id",
                               beneficiary_id, accompaniments_render, arr);
}

int accompaniments_register(struct http_server *hs)
{
    const char *one = "/api/v1/accompaniments/{id}";
    if (http_route(hs, HTTP_GET, "/api/v1/accompaniments", ROLES_ALL, h_list) != 0 ||
        http_route(hs, HTTP_POST, "/api/v1/accompaniments", ROLES_ALL,
                   accompaniments_create) != 0 ||
        http_route(hs, HTTP_GET, one, ROLES_ALL, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, one, ROLES_ALL, accompaniments_patch) != 0 ||
        http_route(hs, HTTP_DELETE, one, ROLES_ALL, h_delete) != 0)
        return -1;
    return 0;
}
