/* /api/v1/equipment — the devices the programme lends and uses in its
 * sessions (laptops, tablets with a connection…), and
 * /api/v1/sessions/{id}/equipment, the devices used in a session: what
 * programme-figures.md §2 counts ("sessions with the equipment", "people
 * who used it"). Devices are read by every role and written by admins and
 * coordinators; a session's devices are set by them or by the session's
 * trainer. A device that was lent or used cannot be deleted (409): its
 * history is what is counted. The loans are in core/domain/loans.c. */
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

#define MAX_DEVICES 100         /* in one session */

static const struct domain_field fields[] = {
    {"kind", DF_ENUM, 1, 0, 0, 0, records_device_kinds},
    {"label", DF_TEXT, 1, 200, 0, 0, NULL},
    {"venue_id", DF_INT, 0, 0, 1, RECORDS_ID_MAX, NULL},
};
#define NF (sizeof fields / sizeof fields[0])
_Static_assert(NF <= DOMAIN_FIELDS_MAX, "too many fields for domain_fields_read");
enum { F_VENUE = 2 };

/* id, the fields, the times, and the open loan if any. */
#define DEVICE_COLS "e.id, e.kind, e.label, e.venue_id, e.created_at, e.updated_at," \
    " (SELECT l.id FROM loans l WHERE l.equipment_id = e.id AND l.returned_on IS NULL)"

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
    if (sqlite3_column_type(s, 6) == SQLITE_NULL)
        json_add_str(o, "on_loan", NULL);
    else
        json_add_int(o, "on_loan", sqlite3_column_int64(s, 6));
    json_add_time(o, "created_at", sqlite3_column_int64(s, 4));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, 5));
    return o;
}

static void reply_device(struct http_req *req, int64_t id, int status)
{
    domain_reply_row(req, status, id, "SELECT " DEVICE_COLS " FROM equipment e WHERE e.id = ?1",
                     render, "equipment", "device", "no device %lld");
}

/* A venue_id given must exist (422). 0 or -1 (database error). */
static int check_venue(struct store *st, struct json_check *c, const struct domain_value *v)
{
    int64_t one;
    int found;

    if (v->state != JSON_OK)
        return 0;
    if ((found = store_int_query(st, "SELECT 1 FROM venues WHERE id = ?1", v->i, &one)) < 0)
        return -1;
    if (!found)
        json_check_add(c, "venue_id", "no such venue");
    return 0;
}

/* ?venue_id ?kind ?available=1 (not on loan now); by id. */
static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page p;
    sqlite3_stmt *s = NULL;
    const char *venue = http_query(req, "venue_id"), *kind = http_query(req, "kind");
    const char *avail = http_query(req, "available");
    int64_t venue_id = 0;

    json_check_init(&c);
    http_page_parse(req, &c, &p);
    if (venue && sessions_parse_query_id(venue, &venue_id) != 0)
        json_check_add(&c, "venue_id", "must be a positive integer id");
    if (kind && !records_in(records_device_kinds, kind))
        json_check_add(&c, "kind", "must be one of: computer, tablet, smartphone, other");
    if (avail && strcmp(avail, "1") != 0 && strcmp(avail, "0") != 0)
        json_check_add(&c, "available", "must be 1 or 0");
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "SELECT " DEVICE_COLS " FROM equipment e WHERE e.id > ?1"
                       " AND (?2 IS NULL OR e.venue_id = ?2) AND (?3 IS NULL OR e.kind = ?3)"
                       " AND (?4 IS NULL OR ?4 = NOT EXISTS (SELECT 1 FROM loans l"
                       "      WHERE l.equipment_id = e.id AND l.returned_on IS NULL))"
                       " ORDER BY e.id LIMIT ?5");
    if (!s || sqlite3_bind_int64(s, 1, p.has_cursor ? p.k1 : 0) != SQLITE_OK ||
        (venue_id ? sqlite3_bind_int64(s, 2, venue_id) : sqlite3_bind_null(s, 2)) != SQLITE_OK ||
        store_bind_text(s, 3, kind) != SQLITE_OK ||
        (avail ? sqlite3_bind_int(s, 4, avail[0] == '1') : sqlite3_bind_null(s, 4)) != SQLITE_OK ||
        sqlite3_bind_int(s, 5, p.limit + 1) != SQLITE_OK)
        goto fail;
    if (http_reply_page(req, s, &p, render, 0, -1) != 0)
        goto fail;
    goto out;
fail:
    log_error("equipment", "listing devices: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not list the devices");
out:
    store_done(s);
    json_check_free(&c);
}

static void h_get(struct http_req *req)
{
    int64_t id;
    if (http_param_id(req, "id", &id) != 0)
        return;
    reply_device(req, id, 200);
}

static void h_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);

    if (!body)
        return;
    json_check_init(&c);
    domain_fields_read(&c, body, fields, NF, 0, v);
    if (check_venue(st, &c, &v[F_VENUE]) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "INSERT INTO equipment (kind, label, venue_id, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?4)");
    if (!s || domain_fields_bind(s, fields, NF, v, 0) != 0 ||
        sqlite3_bind_int64(s, (int)NF + 1, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    reply_device(req, sqlite3_last_insert_rowid(store_db(st)), 201);
    goto out;
fail:
    log_error("equipment", "creating a device: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not create the device");
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
    int64_t id, one;
    int found;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    if ((found = store_int_query(st, "SELECT 1 FROM equipment WHERE id = ?1", id, &one)) < 0)
        goto fail;
    if (found == 0) {
        http_problem(req, 404, "no device %lld", (long long)id);
        goto out;
    }
    domain_fields_read(&c, body, fields, NF, 1, v);
    if (check_venue(st, &c, &v[F_VENUE]) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "UPDATE equipment SET kind = CASE WHEN ?4 THEN ?1 ELSE kind END,"
                       " label = CASE WHEN ?5 THEN ?2 ELSE label END,"
                       " venue_id = CASE WHEN ?6 THEN ?3 ELSE venue_id END,"
                       " updated_at = ?8 WHERE id = ?7");
    if (!s || domain_fields_bind(s, fields, NF, v, 1) != 0 ||
        sqlite3_bind_int64(s, 2 * (int)NF + 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2 * (int)NF + 2, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    reply_device(req, id, 200);
    goto out;
fail:
    log_error("equipment", "updating device %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not update the device");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_delete(struct http_req *req)
{
    static const struct domain_delete d = {
        "equipment", "device",
        "SELECT 1 FROM equipment WHERE id = ?1",
        "SELECT 1 FROM loans WHERE equipment_id = ?1"
        " UNION ALL SELECT 1 FROM session_equipment WHERE equipment_id = ?1 LIMIT 1",
        "DELETE FROM equipment WHERE id = ?1",
        "no device %lld", "device %lld was lent or used in sessions; it cannot be deleted",
    };
    domain_delete_unreferenced(req, &d);
}

/* --- the devices of a session --------------------------------------------------- */

static void reply_session_devices(struct http_req *req, int64_t session_id)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s = store_stmt(st, "SELECT " DEVICE_COLS " FROM session_equipment x"
                                     " JOIN equipment e ON e.id = x.equipment_id"
                                     " WHERE x.session_id = ?1 ORDER BY e.id");
    cJSON *doc = cJSON_CreateObject(), *ids, *items;
    int step;

    if (!s || !doc || sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK)
        goto fail;
    json_add_int(doc, "session_id", session_id);
    if (!(ids = cJSON_AddArrayToObject(doc, "equipment_ids")) ||
        !(items = cJSON_AddArrayToObject(doc, "items")))
        goto fail;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = render(s), *n = cJSON_CreateNumber((double)sqlite3_column_int64(s, 0));
        if (!o || !n || !cJSON_AddItemToArray(items, o)) {
            cJSON_Delete(o);
            cJSON_Delete(n);
            goto fail;
        }
        if (!cJSON_AddItemToArray(ids, n)) {
            cJSON_Delete(n);
            goto fail;
        }
    }
    if (step != SQLITE_DONE)
        goto fail;
    store_done(s);
    http_reply_json(req, 200, doc);
    return;
fail:
    log_error("equipment", "reading the devices of session %lld: %s", (long long)session_id,
              sqlite3_errmsg(store_db(st)));
    store_done(s);
    cJSON_Delete(doc);
    http_problem(req, 500, "could not read the devices of the session");
}

static void h_session_get(struct http_req *req)
{
    int64_t id;

    if (http_param_id(req, "id", &id) == 0 && records_session_found(req, id))
        reply_session_devices(req, id);
}

/* PUT {"equipment_ids": [...]}: replaces the devices used in the session. */
static void h_session_put(struct http_req *req)
{
    static const char *const allowed[] = {"equipment_ids", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = NULL;
    const cJSON *arr;
    int64_t id, ids[MAX_DEVICES];
    int cancelled, n = 0;

    if (http_param_id(req, "id", &id) != 0)
        return;
    json_check_init(&c);
    if (!records_session_writable(req, id, &cancelled,
                                  "a trainer sets the devices of their own sessions only"))
        goto out;
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, allowed);
    arr = cJSON_GetObjectItemCaseSensitive(body, "equipment_ids");
    if (!arr)
        json_check_add(&c, "equipment_ids", "required");
    else if ((n = records_read_ids(st, &c, arr, "equipment_ids",
                                   "SELECT 1 FROM equipment WHERE id = ?1", "device", ids,
                                   MAX_DEVICES)) == -2)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (cancelled) {
        http_problem(req, 409, "session %lld is cancelled: no device was used", (long long)id);
        goto out;
    }
    s = store_stmt(st, "DELETE FROM session_equipment WHERE session_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    for (int i = 0; i < n; i++) {
        s = store_stmt(st, "INSERT INTO session_equipment (session_id, equipment_id)"
                           " VALUES (?1, ?2)");
        if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, ids[i]) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
            goto fail;
        store_done(s);
        s = NULL;
    }
    reply_session_devices(req, id);
    goto out;
fail:
    log_error("equipment", "setting the devices of session %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not set the devices of the session");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

int equipment_register(struct http_server *hs)
{
    const char *one = "/api/v1/equipment/{id}", *used = "/api/v1/sessions/{id}/equipment";
    if (http_route(hs, HTTP_GET, "/api/v1/equipment", ROLES_ALL, h_list) != 0 ||
        http_route(hs, HTTP_POST, "/api/v1/equipment", ROLES_STAFF, h_create) != 0 ||
        http_route(hs, HTTP_GET, one, ROLES_ALL, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, one, ROLES_STAFF, h_patch) != 0 ||
        http_route(hs, HTTP_DELETE, one, ROLES_STAFF, h_delete) != 0 ||
        http_route(hs, HTTP_GET, used, ROLES_ALL, h_session_get) != 0 ||
        http_route(hs, HTTP_PUT, used, ROLES_ALL, h_session_put) != 0)
        return -1;
    return 0;
}
