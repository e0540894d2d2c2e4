/* sessions_routes — the session routes: GET /api/v1/sessions (the list),
 * GET /api/v1/sessions/{id}, and the table that registers them with the
 * handlers of sessions_write.c, sessions_patch.c and sessions_feed.c
 * (core/domain/sessions_handlers.h). The top of the session files: it uses them
 * all, and none of them uses it. */
#include "sessions_handlers.h"
#include "sessions_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "domain.h"
#include "http.h"
#include "json.h"
#include "json_write.h"
#include "log.h"
#include "rcache.h"
#include "rtime.h"
#include "store.h"

/* The GET answers below are the same for every role and do not depend on
 * the clock, so their text is kept in the answer cache while the database is
 * unchanged (core/http/rcache.h): a page of 50 sessions costs ~100 queries and
 * 30 KB of JSON to build, a hit one PRAGMA and a copy (docs/benchmarks.md). */

static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct sessions_filter f;
    struct http_page p;
    struct rcache_mark mark = {0};
    sqlite3_stmt *s = NULL;
    struct jw w;
    char *text;
    size_t len = 0;
    int64_t last_start = 0, last_id = 0;
    int n = 0, more = 0, step, keyed;
    char next[64], key[512];

    jw_init(&w, 0);
    json_check_init(&c);
    sessions_filter_parse(req, &c, &f);
    http_page_parse(req, &c, &p);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    keyed = rcache_query_key(req, "GET /api/v1/sessions?", key, sizeof key) == 0;
    if (keyed && rcache_reply_hit(req, key, &mark))
        goto out;
    /* The (starts_at, id) index gives the order; the cursor resumes after
     * the last row sent, so rows inserted meanwhile are neither skipped nor
     * repeated. One row more than the page tells whether there is a next. */
    if (p.has_cursor && p.k1 > f.from)
        f.from = p.k1;
    s = store_stmt(st, SESSIONS_LIST_SQL);
    if (!s || sessions_filter_bind(s, &f) != 0
        || (p.has_cursor ? sqlite3_bind_int64(s, 8, p.k1) : sqlite3_bind_null(s, 8)) != SQLITE_OK
        || sqlite3_bind_int64(s, 9, p.has_cursor ? p.k2 : 0) != SQLITE_OK
        || sqlite3_bind_int64(s, 10, (int64_t)p.limit + 1) != SQLITE_OK)
        goto fail;
    /* The page is written as it is read, into one buffer: no tree
     * (core/domain/sessions_text.c). */
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct sessions_row r;
        int bad;

        if (n == p.limit) {
            more = 1;
            break;
        }
        if (sessions_row_read(s, &r) != 0)
            goto fail;
        bad = sessions_write(&w, st, &r);
        last_start = r.starts_at;
        last_id = r.id;
        sessions_row_clear(&r);
        if (bad)
            goto fail;
        n++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    if (more)
        http_cursor_encode(last_start, last_id, next, sizeof next);
    jw_arr_end(&w);
    jw_key(&w, "next");
    jw_str(&w, more ? next : NULL);
    jw_obj_end(&w);
    text = jw_take(&w, &len);
    if (keyed) {
        rcache_reply_text(req, key, &mark, text, len, "the sessions could not be listed");
    } else if (text) {
        http_reply_data(req, 200, "application/json", text, len);
        free(text);
    } else {
        http_problem(req, 500, "the sessions could not be listed");
    }
    goto out;
fail:
    log_error("sessions", "listing sessions failed");
    store_done(s);
    http_problem(req, 500, "the sessions could not be listed");
out:
    jw_free(&w);
    json_check_free(&c);
}

/* One read of the row decides 404 and builds the answer: a separate
 * existence query would cost a second read transaction per request. */
static void h_get(struct http_req *req)
{
    struct sessions_row r;
    struct rcache_mark mark;
    struct jw w;
    char *text = NULL;
    size_t len = 0;
    int64_t id;
    int rc;
    char key[48];

    if (http_param_id(req, "id", &id) != 0)
        return;
    snprintf(key, sizeof key, "GET /api/v1/sessions/%lld", (long long)id);
    if (rcache_reply_hit(req, key, &mark))
        return;
    rc = sessions_load(req->app->store, id, &r);
    if (rc == 0) {
        http_problem(req, 404, "no session %lld", (long long)id);
        return;
    }
    if (rc == 1) {
        jw_init(&w, 0);
        rc = sessions_write(&w, req->app->store, &r);
        sessions_row_clear(&r);
        if (rc == 0)
            text = jw_take(&w, &len);
        jw_free(&w);
    }
    rcache_reply_text(req, key, &mark, text, len, "the session could not be read");
}

int sessions_register(struct http_server *hs)
{
    /* The literal /sessions.ics wins over /sessions/{id} in the router, so
     * the order here does not matter; it is listed first for the reader. */
    if (http_route(hs, HTTP_GET, "/api/v1/sessions.ics", ROLES_ALL, sessions_feed) != 0
        || http_route(hs, HTTP_GET, "/api/v1/sessions", ROLES_ALL, h_list) != 0
        || http_route(hs, HTTP_POST, "/api/v1/sessions", ROLES_STAFF, sessions_create) != 0
        || http_route(hs, HTTP_GET, "/api/v1/sessions/{id}", ROLES_ALL, h_get) != 0
        || http_route(hs, HTTP_PATCH, "/api/v1/sessions/{id}", ROLES_STAFF, sessions_patch) != 0
        || http_route(hs, HTTP_POST, "/api/v1/sessions/{id}/cancel", ROLES_STAFF,
                      sessions_cancel) != 0)
        return -1;
    return 0;
}
