/* /api/v1/meetings — the network's coordination time (steering and
 * technical committees, working groups, network meetings, trainings of
 * professionals…), kept apart from the services to people: a kind, a
 * title, a local date, the organisations present, how many attended and
 * how long it took. Admins and coordinators only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "domain.h"
#include "http.h"
#include "log.h"
#include "records.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"
#include "records_internal.h"
#include "sessions_internal.h"

#define MAX_ORGS 100
#define TITLE_MAX 200

#define MEETING_COLS "m.id, m.kind, m.title, m.date, m.attendees, m.minutes, m.created_at," \
    " m.updated_at, (SELECT group_concat(organisation_id) FROM (SELECT organisation_id" \
    "   FROM meeting_organisations o WHERE o.meeting_id = m.id ORDER BY organisation_id))," \
    " CAST(replace(m.date, '-', '') AS INTEGER)"

struct body {
    int kind, title, date, orgs, attendees, minutes;
    const char *kind_s, *title_s;
    char date_s[RECORDS_DATE_MAX];
    size_t title_len;
    int64_t attendees_v, minutes_v;
    int64_t org[MAX_ORGS];
    int n_orgs;
};

static cJSON *render(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject(), *ids;
    const char *p = (const char *)sqlite3_column_text(s, 8);

    if (!o || !(ids = cJSON_CreateArray()))
        goto fail;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    json_add_str(o, "kind", (const char *)sqlite3_column_text(s, 1));
    json_add_str(o, "title", (const char *)sqlite3_column_text(s, 2));
    json_add_str(o, "date", (const char *)sqlite3_column_text(s, 3));
    if (!cJSON_AddItemToObject(o, "organisation_ids", ids)) {
        cJSON_Delete(ids);
        goto fail;
    }
    while (p && *p) {
        cJSON *n = cJSON_CreateNumber((double)strtoll(p, NULL, 10));
        if (!n || !cJSON_AddItemToArray(ids, n)) {
            cJSON_Delete(n);
            goto fail;
        }
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    if (sqlite3_column_type(s, 4) == SQLITE_NULL)
        json_add_str(o, "attendees", NULL);
    else
        json_add_int(o, "attendees", sqlite3_column_int64(s, 4));
    if (sqlite3_column_type(s, 5) == SQLITE_NULL)
        json_add_str(o, "minutes", NULL);
    else
        json_add_int(o, "minutes", sqlite3_column_int64(s, 5));
    json_add_time(o, "created_at", sqlite3_column_int64(s, 6));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, 7));
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static void reply_meeting(struct http_req *req, int64_t id, int status)
{
    domain_reply_row(req, status, id, "SELECT " MEETING_COLS " FROM meetings m WHERE m.id = ?1",
                     render, "meetings", "meeting", "no meeting %lld");
}

/* organisation_ids: an array of existing organisation ids (repeats
 * dropped); null clears. 0, or -1 on a database error. */
static int read_orgs(struct store *st, struct json_check *c, const cJSON *body,
                     struct body *b)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "organisation_ids");
    int n;

    b->orgs = !arr ? JSON_ABSENT : cJSON_IsNull(arr) ? JSON_NULL : JSON_OK;
    if (b->orgs != JSON_OK)
        return 0;
    n = records_read_ids(st, c, arr, "organisation_ids",
                         "SELECT 1 FROM organisations WHERE id = ?1", "organisation", b->org,
                         MAX_ORGS);
    if (n >= 0)
        b->n_orgs = n;
    else
        b->orgs = JSON_BAD;
    return n == -2 ? -1 : 0;
}

/* 0, or -1 on a database error. */
static int read_body(struct store *st, struct json_check *c, const cJSON *body, int patch,
                     struct body *b)
{
    static const char *const allowed[] = {"kind", "title", "date", "organisation_ids",
                                          "attendees", "minutes", NULL};
    int idx;

    memset(b, 0, sizeof *b);
    json_check_known(c, body, allowed);
    b->kind = json_get_enum(c, body, "kind", !patch, records_meeting_kinds, &idx);
    if (b->kind == JSON_OK)
        b->kind_s = records_meeting_kinds[idx];
    b->title = json_get_str(c, body, "title", !patch, TITLE_MAX, &b->title_s);
    if (b->title == JSON_OK) {
        while (*b->title_s == ' ' || *b->title_s == '\t')
            b->title_s++;
        b->title_len = strlen(b->title_s);
        while (b->title_len > 0 && strchr(" \t\r\n", b->title_s[b->title_len - 1]))
            b->title_len--;
        if (b->title_len == 0) {
            json_check_add(c, "title", "required");
            b->title = JSON_BAD;
        }
    }
    b->date = records_get_date(c, body, "date", !patch, b->date_s);
    /* Required fields may be left out of a PATCH, not cleared. */
    if (b->kind == JSON_NULL)
        json_check_add(c, "kind", "required");
    if (b->title == JSON_NULL)
        json_check_add(c, "title", "required");
    if (b->date == JSON_NULL)
        json_check_add(c, "date", "required");
    b->attendees = json_get_int(c, body, "attendees", 0, 0, 100000, &b->attendees_v);
    b->minutes = json_get_int(c, body, "minutes", 0, 1, 1440, &b->minutes_v);
    return read_orgs(st, c, body, b);
}

static int write_orgs(struct store *st, int64_t id, const struct body *b)
{
    sqlite3_stmt *s;

    if (b->orgs != JSON_OK && b->orgs != JSON_NULL)
        return 0;
    s = store_stmt(st, "DELETE FROM meeting_organisations WHERE meeting_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        store_done(s);
        return -1;
    }
    store_done(s);
    for (int i = 0; i < b->n_orgs; i++) {
        s = store_stmt(st, "INSERT INTO meeting_organisations (meeting_id, organisation_id)"
                           " VALUES (?1, ?2)");
        if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, b->org[i]) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
            store_done(s);
            return -1;
        }
        store_done(s);
    }
    return 0;
}

static int given(int state)
{
    return state == JSON_OK || state == JSON_NULL;
}

/* Values at ?1..?6 with their "given" flags at ?7..?12 (the INSERT reads
 * only the values), the time at ?13. */
static int bind_body(sqlite3_stmt *s, const struct body *b)
{
    int states[] = {b->kind, b->title, b->date, b->attendees, b->minutes};

    if (store_bind_text(s, 1, b->kind == JSON_OK ? b->kind_s : NULL) != SQLITE_OK ||
        (b->title == JSON_OK ? sqlite3_bind_text(s, 2, b->title_s, (int)b->title_len,
                                                 SQLITE_TRANSIENT)
                             : sqlite3_bind_null(s, 2)) != SQLITE_OK ||
        store_bind_text(s, 3, b->date == JSON_OK ? b->date_s : NULL) != SQLITE_OK ||
        (b->attendees == JSON_OK ? sqlite3_bind_int64(s, 4, b->attendees_v)
                                 : sqlite3_bind_null(s, 4)) != SQLITE_OK ||
        (b->minutes == JSON_OK ? sqlite3_bind_int64(s, 5, b->minutes_v)
                               : sqlite3_bind_null(s, 5)) != SQLITE_OK ||
        sqlite3_bind_int64(s, 13, rt_now()) != SQLITE_OK)
        return -1;
    for (int i = 0; i < 5; i++)
        if (sqlite3_bind_int(s, 7 + i, given(states[i])) != SQLITE_OK)
            return -1;
    return 0;
}

static void h_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct body b;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);
    int64_t id;

    if (!body)
        return;
    json_check_init(&c);
    if (read_body(st, &c, body, 0, &b) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "INSERT INTO meetings (kind, title, date, attendees, minutes, created_at,"
                       " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?13, ?13)");
    if (!s || bind_body(s, &b) != 0 || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    id = sqlite3_last_insert_rowid(store_db(st));
    store_done(s);
    s = NULL;
    if (write_orgs(st, id, &b) != 0)
        goto fail;
    reply_meeting(req, id, 201);
    goto out;
fail:
    log_error("meetings", "recording a meeting: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not record the meeting");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_patch(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct body b;
    sqlite3_stmt *s = NULL;
    cJSON *body;
    int64_t id, one;
    int found;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    found = store_int_query(st, "SELECT 1 FROM meetings WHERE id = ?1", id, &one);
    if (found < 0)
        goto fail;
    if (found == 0) {
        http_problem(req, 404, "no meeting %lld", (long long)id);
        goto out;
    }
    if (read_body(st, &c, body, 1, &b) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "UPDATE meetings SET kind = CASE WHEN ?7 THEN ?1 ELSE kind END,"
                       " title = CASE WHEN ?8 THEN ?2 ELSE title END,"
                       " date = CASE WHEN ?9 THEN ?3 ELSE date END,"
                       " attendees = CASE WHEN ?10 THEN ?4 ELSE attendees END,"
                       " minutes = CASE WHEN ?11 THEN ?5 ELSE minutes END,"
                       " updated_at = ?13 WHERE id = ?6");
    if (!s || bind_body(s, &b) != 0 || sqlite3_bind_int64(s, 6, id) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    if (write_orgs(st, id, &b) != 0)
        goto fail;
    reply_meeting(req, id, 200);
    goto out;
fail:
    log_error("meetings", "updating meeting %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not update the meeting");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_get(struct http_req *req)
{
    int64_t id;
    if (http_param_id(req, "id", &id) != 0)
        return;
    reply_meeting(req, id, 200);
}

/* ?from ?to (local dates, or times read as their local date; inclusive)
 * ?kind ?organisation_id; by date then id. */
static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page p;
    sqlite3_stmt *s = NULL;
    const char *from = http_query(req, "from"), *to = http_query(req, "to");
    const char *kind = http_query(req, "kind"), *org = http_query(req, "organisation_id");
    char from_d[16], to_d[16];
    int64_t org_id = 0;

    json_check_init(&c);
    http_page_parse(req, &c, &p);
    if (from && records_query_date(from, from_d, sizeof from_d) != 0)
        json_check_add(&c, "from", "must be a date YYYY-MM-DD or an RFC 3339 time");
    if (to && records_query_date(to, to_d, sizeof to_d) != 0)
        json_check_add(&c, "to", "must be a date YYYY-MM-DD or an RFC 3339 time");
    if (kind && !records_in(records_meeting_kinds, kind))
        json_check_add(&c, "kind", "not a kind of meeting");
    if (org && sessions_parse_query_id(org, &org_id) != 0)
        json_check_add(&c, "organisation_id", "must be a positive integer id");
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "SELECT " MEETING_COLS " FROM meetings m WHERE"
                       " (?1 IS NULL OR m.date >= ?1) AND (?2 IS NULL OR m.date <= ?2)"
                       " AND (?3 IS NULL OR m.kind = ?3)"
                       " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM meeting_organisations o"
                       "      WHERE o.meeting_id = m.id AND o.organisation_id = ?4))"
                       " AND (?5 IS NULL OR CAST(replace(m.date, '-', '') AS INTEGER) > ?5"
                       "      OR (CAST(replace(m.date, '-', '') AS INTEGER) = ?5 AND m.id > ?6))"
                       " ORDER BY m.date, m.id LIMIT ?7");
    if (!s || store_bind_text(s, 1, from ? from_d : NULL) != SQLITE_OK ||
        store_bind_text(s, 2, to ? to_d : NULL) != SQLITE_OK ||
        store_bind_text(s, 3, kind) != SQLITE_OK ||
        (org_id ? sqlite3_bind_int64(s, 4, org_id) : sqlite3_bind_null(s, 4)) != SQLITE_OK ||
        (p.has_cursor ? sqlite3_bind_int64(s, 5, p.k1) : sqlite3_bind_null(s, 5)) != SQLITE_OK ||
        sqlite3_bind_int64(s, 6, p.has_cursor ? p.k2 : 0) != SQLITE_OK ||
        sqlite3_bind_int(s, 7, p.limit + 1) != SQLITE_OK)
        goto fail;
    if (http_reply_page(req, s, &p, render, 9, 0) != 0)
        goto fail;
    goto out;
fail:
    log_error("meetings", "listing meetings: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not list the meetings");
out:
    store_done(s);
    json_check_free(&c);
}

static void h_delete(struct http_req *req)
{
    static const struct domain_delete d = {
        "meetings", "meeting",
        "SELECT 1 FROM meetings WHERE id = ?1",
        "SELECT 1 WHERE 0",                 /* nothing refers to a meeting */
        "DELETE FROM meetings WHERE id = ?1",
        "no meeting %lld", "meeting %lld cannot be deleted",
    };
    domain_delete_unreferenced(req, &d);
}

int meetings_register(struct http_server *hs)
{
    const char *one = "/api/v1/meetings/{id}";
    if (http_route(hs, HTTP_GET, "/api/v1/meetings", ROLES_STAFF, h_list) != 0 ||
        http_route(hs, HTTP_POST, "/api/v1/meetings", ROLES_STAFF, h_create) != 0 ||
        http_route(hs, HTTP_GET, one, ROLES_STAFF, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, one, ROLES_STAFF, h_patch) != 0 ||
        http_route(hs, HTTP_DELETE, one, ROLES_STAFF, h_delete) != 0)
        return -1;
    return 0;
}
