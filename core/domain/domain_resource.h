/* domain_resource — the simple resources of the domain (venues, staff): a
 * collection with a list filter, and rows that are created, read, patched,
 * and deleted unless sessions refer to them. One set of handlers
 * (core/domain/domain_resource.c) serves them all, driven by a description: the
 * field table (core/domain/domain_fields.h), the literal SQL of each statement,
 * and the words of the log lines and problems. Private to the domain.
 *
 * Rules:
 * - Every statement is a literal of the description: no SQL is built.
 * - Column order of every SELECT: id, the fields in table order,
 *   created_at, updated_at. INSERT: fields at ?1..?N, the time at ?N+1.
 *   UPDATE: fields at ?1..?N, their "given" flags at ?N+1..?2N, the id at
 *   ?2N+1, the time at ?2N+2 (domain_fields_bind). The page: ?1 the id
 *   after which it starts, ?2 the filter's value (NULL: none), ?3 the limit.
 * - The handlers answer exactly once, with the problems of the resource's
 *   words ("no venue 7", "could not list the staff").
 *
 * A resource file describes itself and stamps its handlers and its
 * NAME_register with DOMAIN_RESOURCE_ROUTES (a handler has no argument of
 * its own, so each resource needs functions that name its description).
 */
#ifndef RELAIS_DOMAIN_RESOURCE_H
#define RELAIS_DOMAIN_RESOURCE_H

#include <stddef.h>
#include <cJSON.h>
#include <sqlite3.h>

#include "http.h"
#include "domain_fields.h"

struct domain_resource {
    const char *path;              /* "/api/v1/venues"; rows at PATH/{id} */
    const char *plural;            /* "venues", "staff": listing */
    const struct domain_field *fields;
    size_t nfields;
    /* The list's filter ?FILTER (NULL: none); an empty value is none. With
     * FILTER_VALUES (NULL-terminated), any other value is a 422 with
     * FILTER_ERROR. */
    const char *filter;
    const char *const *filter_values;
    const char *filter_error;
    const char *select_one_sql;    /* ?1 the id */
    const char *select_page_sql;
    const char *insert_sql;
    const char *update_sql;
    /* DELETE, and the words: module (log), noun ("venue", "staff member"),
     * not_found ("no venue %lld"). */
    struct domain_delete del;
};

/* A row of S (the columns above) as the resource's JSON object; NULL out of
 * memory. */
cJSON *domain_resource_render(sqlite3_stmt *s, const struct domain_resource *r);
/* The handlers of R; RENDER is domain_resource_render bound to R. */
void domain_resource_list(struct http_req *req, const struct domain_resource *r,
                          cJSON *(*render)(sqlite3_stmt *s));
void domain_resource_get(struct http_req *req, const struct domain_resource *r,
                         cJSON *(*render)(sqlite3_stmt *s));
void domain_resource_create(struct http_req *req, const struct domain_resource *r,
                            cJSON *(*render)(sqlite3_stmt *s));
void domain_resource_patch(struct http_req *req, const struct domain_resource *r,
                           cJSON *(*render)(sqlite3_stmt *s));

struct domain_resource_handlers {
    http_handler list, get, create, patch, del;
};
/* Registers the routes of R (reading for every role, writing for admins and
 * coordinators). 0 or -1. */
int domain_resource_register(struct http_server *hs, const struct domain_resource *r,
                             const struct domain_resource_handlers *h);

/* Defines NAME_register(hs) and the handlers of the description DESC. */
#define DOMAIN_RESOURCE_ROUTES(NAME, DESC)                                                \
    static cJSON *NAME##_render(sqlite3_stmt *s)                                          \
    {                                                                                     \
        return domain_resource_render(s, &DESC);                                          \
    }                                                                                     \
    static void NAME##_list(struct http_req *req)                                         \
    {                                                                                     \
        domain_resource_list(req, &DESC, NAME##_render);                                  \
    }                                                                                     \
    static void NAME##_get(struct http_req *req)                                          \
    {                                                                                     \
        domain_resource_get(req, &DESC, NAME##_render);                                   \
    }                                                                                     \
    static void NAME##_create(struct http_req *req)                                       \
    {                                                                                     \
        domain_resource_create(req, &DESC, NAME##_render);                                \
    }                                                                                     \
    static void NAME##_patch(struct http_req *req)                                        \
    {                                                                                     \
        domain_resource_patch(req, &DESC, NAME##_render);                                 \
    }                                                                                     \
    static void NAME##_delete(struct http_req *req)                                       \
    {                                                                                     \
        domain_delete_unreferenced(req, &DESC.del);                                       \
    }                                                                                     \
    int NAME##_register(struct http_server *hs)                                           \
    {                                                                                     \
        static const struct domain_resource_handlers h = {                                \
            NAME##_list, NAME##_get, NAME##_create, NAME##_patch, NAME##_delete};         \
        return domain_resource_register(hs, &DESC, &h);                                   \
    }

#endif
