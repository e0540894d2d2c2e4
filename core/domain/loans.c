/* Loans of the programme's devices to people who have none:
 * POST /api/v1/equipment/{id}/loans, GET …/{id}/loans (a device's),
 * GET /api/v1/loans (?open=1, ?beneficiary_id, ?equipment_id),
 * GET/PATCH/DELETE /api/v1/loans/{id}. Admins and coordinators: a loan
 * names a person.
 *
 * A device is lent to one person at a time: a second open loan is a 409
 * (the partial unique index loans_open holds it even against a race).
 * Dates are local dates "YYYY-MM-DD"; `from` defaults to today, `due` and
 * `returned_on` may not come before it. */
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

#define LOAN_COLS "l.id, l.equipment_id, l.beneficiary_id, l.from_date, l.due_date," \
    " l.returned_on, l.created_at, l.updated_at"

static cJSON *render(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    json_add_int(o, "equipment_id", sqlite3_column_int64(s, 1));
    json_add_int(o, "beneficiary_id", sqlite3_column_int64(s, 2));
    json_add_str(o, "from", (const char *)sqlite3_column_text(s, 3));
    json_add_str(o, "due", (const char *)sqlite3_column_text(s, 4));
    json_add_str(o, "returned_on", (const char *)sqlite3_column_text(s, 5));
    if (!cJSON_AddBoolToObject(o, "open", sqlite3_column_type(s, 5) == SQLITE_NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    json_add_time(o, "created_at", sqlite3_column_int64(s, 6));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, 7));
    return o;
}

static void reply_loan(struct http_req *req, int64_t id, int status)
{
    domain_reply_row(req, status, id, "SELECT " LOAN_COLS " FROM loans l WHERE l.id = ?1",
                     render, "loans", "loan", "no loan %lld");
}

static void today(char *buf, size_t n)
{
    struct tm tm;
    rt_local(rt_now(), &tm);
    snprintf(buf, n, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* POST /api/v1/equipment/{id}/loans {beneficiary_id, from, due}. */
static void h_create(struct http_req *req)
{
    static const char *const allowed[] = {"beneficiary_id", "from", "due", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = NULL;
    const char *from = NULL;
    char from_b[RECORDS_DATE_MAX], due[RECORDS_DATE_MAX];
    int64_t device, ben = 0, one;
    int found, fs, ds;

    if (http_param_id(req, "id", &device) != 0)
        return;
    json_check_init(&c);
    if ((found = store_int_query(st, "SELECT 1 FROM equipment WHERE id = ?1", device, &one)) < 0)
        goto fail;
    if (found == 0) {
        http_problem(req, 404, "no device %lld", (long long)device);
        goto out;
    }
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, allowed);
    if (json_get_int(&c, body, "beneficiary_id", 1, 1, RECORDS_ID_MAX, &ben) == JSON_OK) {
        found = store_int_query(st, "SELECT 1 FROM beneficiaries WHERE id = ?1"
                                    " AND erased_at IS NULL", ben, &one);
        if (found < 0)
            goto fail;
        if (!found)
            json_check_add(&c, "beneficiary_id", "no such beneficiary");
    }
    fs = records_get_date(&c, body, "from", 0, from_b);
    ds = records_get_date(&c, body, "due", 0, due);
    if (fs != JSON_OK)
        today(from_b, sizeof from_b);
    from = from_b;
    if (ds == JSON_OK && fs != JSON_BAD && strcmp(due, from) < 0)
        json_check_add(&c, "due", "must not be before from");
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "INSERT INTO loans (equipment_id, beneficiary_id, from_date, due_date,"
                       " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
    if (!s || sqlite3_bind_int64(s, 1, device) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, ben) != SQLITE_OK || store_bind_text(s, 3, from) != SQLITE_OK ||
        store_bind_text(s, 4, ds == JSON_OK ? due : NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, rt_now()) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_UNIQUE) {
            http_problem(req, 409, "device %lld is already lent and not returned",
                         (long long)device);
            goto out;
        }
        goto fail;
    }
    store_done(s);
    s = NULL;
    reply_loan(req, sqlite3_last_insert_rowid(store_db(st)), 201);
    goto out;
fail:
    log_error("loans", "lending device %lld: %s", (long long)device,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not record the loan");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

/* PATCH {returned_on, due, from}: a return (or, back to null, a return
 * recorded by mistake), a new due date, a corrected start. */
static void h_patch(struct http_req *req)
{
    static const char *const allowed[] = {"returned_on", "due", "from", NULL};
    struct store *st = req->app->store;
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = NULL;
    const char *ret = NULL, *due = NULL, *from = NULL;
    char ret_b[RECORDS_DATE_MAX], due_b[RECORDS_DATE_MAX], from_b[RECORDS_DATE_MAX];
    char *cur_from = NULL, *cur_due = NULL, *cur_ret = NULL;
    int64_t id;
    int rs, ds, fs, step;

    if (http_param_id(req, "id", &id) != 0)
        return;
    json_check_init(&c);
    s = store_stmt(st, "SELECT from_date, due_date, returned_on FROM loans WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto fail;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        http_problem(req, 404, "no loan %lld", (long long)id);
        goto out;
    }
    if (step != SQLITE_ROW || !(cur_from = store_col_strdup(s, 0)))
        goto fail;
    cur_due = store_col_strdup(s, 1);
    cur_ret = store_col_strdup(s, 2);
    if ((!cur_due && sqlite3_column_type(s, 1) != SQLITE_NULL) ||
        (!cur_ret && sqlite3_column_type(s, 2) != SQLITE_NULL))
        goto fail;
    store_done(s);
    s = NULL;
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, allowed);
    rs = records_get_date(&c, body, "returned_on", 0, ret_b);
    ds = records_get_date(&c, body, "due", 0, due_b);
    fs = records_get_date(&c, body, "from", 0, from_b);
    if (fs == JSON_NULL)
        json_check_add(&c, "from", "required");
    from = fs == JSON_OK ? from_b : cur_from;
    ret = rs == JSON_OK ? ret_b : rs == JSON_ABSENT ? cur_ret : NULL;
    due = ds == JSON_OK ? due_b : ds == JSON_ABSENT ? cur_due : NULL;
    if (fs != JSON_BAD && ret && strcmp(ret, from) < 0)
        json_check_add(&c, "returned_on", "must not be before from");
    if (fs != JSON_BAD && due && strcmp(due, from) < 0)
        json_check_add(&c, "due", "must not be before from");
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "UPDATE loans SET from_date = ?2, due_date = ?3, returned_on = ?4,"
                       " updated_at = ?5 WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        store_bind_text(s, 2, from) != SQLITE_OK ||
        store_bind_text(s, 3, due) != SQLITE_OK || store_bind_text(s, 4, ret) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, rt_now()) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) != SQLITE_DONE) {
        /* Reopened while the device is lent again. */
        if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_UNIQUE) {
            http_problem(req, 409, "the device of loan %lld is lent again meanwhile",
                         (long long)id);
            goto out;
        }
        goto fail;
    }
    store_done(s);
    s = NULL;
    reply_loan(req, id, 200);
    goto out;
fail:
    log_error("loans", "updating loan %lld: %s", (long long)id, sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not update the loan");
out:
    store_done(s);
    free(cur_from);
    free(cur_due);
    free(cur_ret);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_get(struct http_req *req)
{
    int64_t id;
    if (http_param_id(req, "id", &id) != 0)
        return;
    reply_loan(req, id, 200);
}

/* A loan recorded by mistake. */
static void h_delete(struct http_req *req)
{
    static const struct domain_delete d = {
        "loans", "loan",
        "SELECT 1 FROM loans WHERE id = ?1",
        "SELECT 1 WHERE 0",                 /* nothing refers to a loan */
        "DELETE FROM loans WHERE id = ?1",
        "no loan %lld", "loan %lld cannot be deleted",
    };
    domain_delete_unreferenced(req, &d);
}

/* The list of every loan (?equipment_id ?beneficiary_id ?open=1|0), or of
 * the device in the path; by id. */
static void list(struct http_req *req, int64_t device)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page p;
    sqlite3_stmt *s = NULL;
    const char *open = http_query(req, "open"), *v;
    int64_t ben = 0;

    json_check_init(&c);
    http_page_parse(req, &c, &p);
    if (!device && (v = http_query(req, "equipment_id")) &&
        sessions_parse_query_id(v, &device) != 0)
        json_check_add(&c, "equipment_id", "must be a positive integer id");
    if ((v = http_query(req, "beneficiary_id")) && sessions_parse_query_id(v, &ben) != 0)
        json_check_add(&c, "beneficiary_id", "must be a positive integer id");
    if (open && strcmp(open, "1") != 0 && strcmp(open, "0") != 0)
        json_check_add(&c, "open", "must be 1 or 0");
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "SELECT " LOAN_COLS " FROM loans l WHERE l.id > ?1"
                       " AND (?2 IS NULL OR l.equipment_id = ?2)"
                       " AND (?3 IS NULL OR l.beneficiary_id = ?3)"
                       " AND (?4 IS NULL OR ?4 = (l.returned_on IS NULL))"
                       " ORDER BY l.id LIMIT ?5");
    if (!s || sqlite3_bind_int64(s, 1, p.has_cursor ? p.k1 : 0) != SQLITE_OK ||
        (device ? sqlite3_bind_int64(s, 2, device) : sqlite3_bind_null(s, 2)) != SQLITE_OK ||
        (ben ? sqlite3_bind_int64(s, 3, ben) : sqlite3_bind_null(s, 3)) != SQLITE_OK ||
        (open ? sqlite3_bind_int(s, 4, open[0] == '1') : sqlite3_bind_null(s, 4)) != SQLITE_OK ||
        sqlite3_bind_int(s, 5, p.limit + 1) != SQLITE_OK)
        goto fail;
    if (http_reply_page(req, s, &p, render, 0, -1) != 0)
        goto fail;
    goto out;
fail:
    log_error("loans", "listing loans: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not list the loans");
out:
    store_done(s);
    json_check_free(&c);
}

static void h_list(struct http_req *req)
{
    list(req, 0);
}

static void h_device_list(struct http_req *req)
{
    int64_t device, one;
    int found;

    if (http_param_id(req, "id", &device) != 0)
        return;
    found = store_int_query(req->app->store, "SELECT 1 FROM equipment WHERE id = ?1", device,
                            &one);
    if (found == 0)
        http_problem(req, 404, "no device %lld", (long long)device);
    else if (found < 0)
        http_problem(req, 500, "could not read the device");
    else
        list(req, device);
}

int loans_export(struct store *st, int64_t beneficiary_id, cJSON *arr)
{
    return records_append_rows(st, "SELECT " LOAN_COLS " FROM loans l"
                                   " WHERE l.beneficiary_id = ?1 ORDER BY l.id",
                               beneficiary_id, render, arr);
}

int loans_register(struct http_server *hs)
{
    const char *one = "/api/v1/loans/{id}", *device = "/api/v1/equipment/{id}/loans";
    if (http_route(hs, HTTP_GET, "/api/v1/loans", ROLES_STAFF, h_list) != 0 ||
        http_route(hs, HTTP_GET, one, ROLES_STAFF, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, one, ROLES_STAFF, h_patch) != 0 ||
        http_route(hs, HTTP_DELETE, one, ROLES_STAFF, h_delete) != 0 ||
        http_route(hs, HTTP_GET, device, ROLES_STAFF, h_device_list) != 0 ||
        http_route(hs, HTTP_POST, device, ROLES_STAFF, h_create) != 0)
        return -1;
    return 0;
}
