/* domain_resource — the handlers of the simple resources (see
 * core/domain/domain_resource.h): what venues.c and staff.c each had in a copy. */
#include "domain_resource.h"

#include <string.h>

#include "app.h"
#include "domain.h"
#include "json.h"
#include "log.h"
#include "rtime.h"
#include "store.h"

cJSON *domain_resource_render(sqlite3_stmt *s, const struct domain_resource *r)
{
    int nf = (int)r->nfields;
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    if (domain_fields_render(o, s, 1, r->fields, r->nfields) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    json_add_time(o, "created_at", sqlite3_column_int64(s, nf + 1));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, nf + 2));
    return o;
}

/* Answers STATUS with row ID as it is stored now (404 when there is none). */
static void reply_row(struct http_req *req, const struct domain_resource *r, int64_t id,
                      int status, cJSON *(*render)(sqlite3_stmt *s))
{
    domain_reply_row(req, status, id, r->select_one_sql, render, r->del.module, r->del.noun,
                     r->del.not_found);
}

static int one_of(const char *s, const char *const *values)
{
    for (; *values; values++)
        if (strcmp(s, *values) == 0)
            return 1;
    return 0;
}

void domain_resource_list(struct http_req *req, const struct domain_resource *r,
                          cJSON *(*render)(sqlite3_stmt *s))
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page page;
    sqlite3_stmt *s = NULL;
    const char *filter = r->filter ? http_query(req, r->filter) : NULL;

    json_check_init(&c);
    if (filter && !*filter)
        filter = NULL;
    if (filter && r->filter_values && !one_of(filter, r->filter_values))
        json_check_add(&c, r->filter, "%s", r->filter_error);
    http_page_parse(req, &c, &page);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        json_check_free(&c);
        return;
    }
    json_check_free(&c);
    s = store_stmt(st, r->select_page_sql);
    if (!s)
        goto fail;
    if (sqlite3_bind_int64(s, 1, page.has_cursor ? page.k1 : 0) != SQLITE_OK ||
        store_bind_text(s, 2, filter) != SQLITE_OK ||
        sqlite3_bind_int(s, 3, page.limit + 1) != SQLITE_OK)
        goto fail;
    if (http_reply_page(req, s, &page, render, 0, -1) != 0)
        goto fail;
    store_done(s);
    return;
fail:
    log_error(r->del.module, "listing %s: %s", r->plural, sqlite3_errmsg(store_db(st)));
    store_done(s);
    http_problem(req, 500, "could not list the %s", r->plural);
}

void domain_resource_get(struct http_req *req, const struct domain_resource *r,
                         cJSON *(*render)(sqlite3_stmt *s))
{
    int64_t id;

    if (http_param_id(req, "id", &id) != 0)
        return;
    reply_row(req, r, id, 200, render);
}

void domain_resource_create(struct http_req *req, const struct domain_resource *r,
                            cJSON *(*render)(sqlite3_stmt *s))
{
    struct store *st = req->app->store;
    struct domain_value v[DOMAIN_FIELDS_MAX];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);
    int nf = (int)r->nfields;
    int64_t id;

    if (!body)
        return;
    json_check_init(&c);
    domain_fields_read(&c, body, r->fields, r->nfields, 0, v);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, r->insert_sql);
    if (!s || domain_fields_bind(s, r->fields, r->nfields, v, 0) != 0 ||
        sqlite3_bind_int64(s, nf + 1, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_error(r->del.module, "creating a %s: %s", r->del.noun,
                  sqlite3_errmsg(store_db(st)));
        http_problem(req, 500, "could not create the %s", r->del.noun);
        goto out;
    }
    id = sqlite3_last_insert_rowid(store_db(st));
    store_done(s);
    s = NULL;
    reply_row(req, r, id, 201, render);
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

void domain_resource_patch(struct http_req *req, const struct domain_resource *r,
                           cJSON *(*render)(sqlite3_stmt *s))
{
    struct store *st = req->app->store;
    struct domain_value v[DOMAIN_FIELDS_MAX];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body;
    int nf = (int)r->nfields;
    int64_t id, one;
    int found;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    found = store_int_query(st, r->del.exists_sql, id, &one);
    if (found <= 0) {
        if (found == 0)
            http_problem(req, 404, r->del.not_found, (long long)id);
        else
            http_problem(req, 500, "could not read the %s", r->del.noun);
        goto out;
    }
    domain_fields_read(&c, body, r->fields, r->nfields, 1, v);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, r->update_sql);
    if (!s || domain_fields_bind(s, r->fields, r->nfields, v, 1) != 0 ||
        sqlite3_bind_int64(s, 2 * nf + 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2 * nf + 2, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_error(r->del.module, "updating %s %lld: %s", r->del.noun, (long long)id,
                  sqlite3_errmsg(store_db(st)));
        http_problem(req, 500, "could not update the %s", r->del.noun);
        goto out;
    }
    store_done(s);
    s = NULL;
    reply_row(req, r, id, 200, render);
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

int domain_resource_register(struct http_server *hs, const struct domain_resource *r,
                             const struct domain_resource_handlers *h)
{
    char one[96];

    if ((size_t)snprintf(one, sizeof one, "%s/{id}", r->path) >= sizeof one ||
        r->nfields > DOMAIN_FIELDS_MAX)
        return -1;
    /* The router copies the patterns. */
    return http_route(hs, HTTP_GET, r->path, ROLES_ALL, h->list) != 0 ||
                   http_route(hs, HTTP_POST, r->path, ROLES_STAFF, h->create) != 0 ||
                   http_route(hs, HTTP_GET, one, ROLES_ALL, h->get) != 0 ||
                   http_route(hs, HTTP_PATCH, one, ROLES_STAFF, h->patch) != 0 ||
                   http_route(hs, HTTP_DELETE, one, ROLES_STAFF, h->del) != 0
               ? -1 : 0;
}
