/* /api/v1/venues — the places where sessions happen. Read by every role,
 * written by admins and coordinators. A venue that sessions refer to cannot
 * be deleted (409): the sessions' history and reports need it. */
#include <stdlib.h>
#include <string.h>

#include "relais/app.h"
#include "relais/domain.h"
#include "relais/http.h"
#include "relais/log.h"
#include "relais/rtime.h"
#include "relais/store.h"
#include "core/domain_fields.h"

static const struct domain_field fields[] = {
    {"name", DF_TEXT, 1, 200, 0, 0, NULL},
    {"address", DF_TEXT, 0, 300, 0, 0, NULL},
    {"commune", DF_TEXT, 0, 100, 0, 0, NULL},
    {"neighborhood", DF_TEXT, 0, 100, 0, 0, NULL},
    {"aptic", DF_BOOL, 0, 0, 0, 0, NULL},
    {"accessible", DF_BOOL, 0, 0, 0, 0, NULL},
    /* Shown on the beneficiaries' pages ("Pour toute question : …"). */
    {"phone", DF_PHONE, 0, 0, 0, 0, NULL},
};
#define NF (sizeof fields / sizeof fields[0])
_Static_assert(NF <= DOMAIN_FIELDS_MAX, "too many fields for domain_fields_read");

/* Column order shared by every SELECT below: id, the fields, the times. */
#define VENUE_COLS "id, name, address, commune, neighborhood, aptic, accessible, phone," \
                   " created_at, updated_at"

static cJSON *render(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    if (domain_fields_render(o, s, 1, fields, NF) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    json_add_time(o, "created_at", sqlite3_column_int64(s, (int)NF + 1));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, (int)NF + 2));
    return o;
}

/* Answers STATUS with venue ID as it is stored now (404 when there is none). */
static void reply_venue(struct http_req *req, int64_t id, int status)
{
    domain_reply_row(req, status, id, "SELECT " VENUE_COLS " FROM venues WHERE id = ?1", render,
                     "venues", "venue", "no venue %lld");
}

/* 1 when venue ID exists, 0 when not, -1 on error. */
static int venue_exists(struct store *st, int64_t id)
{
    int64_t one;
    return store_int_query(st, "SELECT 1 FROM venues WHERE id = ?1", id, &one);
}

static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page page;
    sqlite3_stmt *s = NULL;
    const char *commune = http_query(req, "commune");

    json_check_init(&c);
    http_page_parse(req, &c, &page);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        json_check_free(&c);
        return;
    }
    json_check_free(&c);
    if (commune && !*commune)
        commune = NULL;
    s = store_stmt(st, "SELECT " VENUE_COLS " FROM venues"
                       " WHERE id > ?1 AND (?2 IS NULL OR commune = ?2 COLLATE NOCASE)"
                       " ORDER BY id LIMIT ?3");
    if (!s)
        goto fail;
    if (sqlite3_bind_int64(s, 1, page.has_cursor ? page.k1 : 0) != SQLITE_OK ||
        store_bind_text(s, 2, commune) != SQLITE_OK ||
        sqlite3_bind_int(s, 3, page.limit + 1) != SQLITE_OK)
        goto fail;
    if (domain_reply_page(req, s, &page, render, 0, -1) != 0)
        goto fail;
    store_done(s);
    return;
fail:
    log_error("venues", "listing venues: %s", sqlite3_errmsg(store_db(st)));
    store_done(s);
    http_problem(req, 500, "could not list the venues");
}

static void h_get(struct http_req *req)
{
    int64_t id;
    if (http_param_id(req, "id", &id) != 0)
        return;
    reply_venue(req, id, 200);
}

static void h_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);
    int64_t id;

    if (!body)
        return;
    json_check_init(&c);
    domain_fields_read(&c, body, fields, NF, 0, v);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "INSERT INTO venues (name, address, commune, neighborhood, aptic,"
                       " accessible, phone, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)");
    if (!s || domain_fields_bind(s, fields, NF, v, 0) != 0 ||
        sqlite3_bind_int64(s, (int)NF + 1, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_error("venues", "creating a venue: %s", sqlite3_errmsg(store_db(st)));
        http_problem(req, 500, "could not create the venue");
        goto out;
    }
    id = sqlite3_last_insert_rowid(store_db(st));
    store_done(s);
    s = NULL;
    reply_venue(req, id, 201);
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_patch(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body;
    int64_t id;
    int found;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    found = venue_exists(st, id);
    if (found <= 0) {
        if (found == 0)
            http_problem(req, 404, "no venue %lld", (long long)id);
        else
            http_problem(req, 500, "could not read the venue");
        goto out;
    }
    domain_fields_read(&c, body, fields, NF, 1, v);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "UPDATE venues SET"
                       " name = CASE WHEN ?8 THEN ?1 ELSE name END,"
                       " address = CASE WHEN ?9 THEN ?2 ELSE address END,"
                       " commune = CASE WHEN ?10 THEN ?3 ELSE commune END,"
                       " neighborhood = CASE WHEN ?11 THEN ?4 ELSE neighborhood END,"
                       " aptic = CASE WHEN ?12 THEN ?5 ELSE aptic END,"
                       " accessible = CASE WHEN ?13 THEN ?6 ELSE accessible END,"
                       " phone = CASE WHEN ?14 THEN ?7 ELSE phone END,"
                       " updated_at = ?16"
                       " WHERE id = ?15");
    if (!s || domain_fields_bind(s, fields, NF, v, 1) != 0 ||
        sqlite3_bind_int64(s, 2 * (int)NF + 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2 * (int)NF + 2, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_error("venues", "updating venue %lld: %s", (long long)id,
                  sqlite3_errmsg(store_db(st)));
        http_problem(req, 500, "could not update the venue");
        goto out;
    }
    store_done(s);
    s = NULL;
    reply_venue(req, id, 200);
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_delete(struct http_req *req)
{
    static const struct domain_delete d = {
        "venues", "venue",
        "SELECT 1 FROM venues WHERE id = ?1",
        "SELECT 1 FROM sessions WHERE venue_id = ?1 LIMIT 1",
        "DELETE FROM venues WHERE id = ?1",
        "no venue %lld", "venue %lld has sessions; it cannot be deleted",
    };
    domain_delete_unreferenced(req, &d);
}


int venues_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_GET, "/api/v1/venues", ROLES_ALL, h_list) != 0 ||
        http_route(hs, HTTP_POST, "/api/v1/venues", ROLES_STAFF, h_create) != 0 ||
        http_route(hs, HTTP_GET, "/api/v1/venues/{id}", ROLES_ALL, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, "/api/v1/venues/{id}", ROLES_STAFF, h_patch) != 0 ||
        http_route(hs, HTTP_DELETE, "/api/v1/venues/{id}", ROLES_STAFF, h_delete) != 0)
        return -1;
    return 0;
}
