/* sessions_feed — GET /api/v1/sessions.ics: the sessions as an iCalendar
 * feed that calendar applications subscribe to.
 *
 * Same filters as the list, no paging; without from/to the feed covers 90
 * days back to 400 days ahead, and never more than 5000 events so that a
 * subscription cannot turn into a huge download. Cancelled sessions stay in
 * the feed with STATUS:CANCELLED (a calendar that already has them must learn
 * they are off), and SEQUENCE comes from the row, raised on every move,
 * venue change and cancellation. */
#include "sessions_handlers.h"
#include "sessions_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "ical.h"
#include "json.h"
#include "log.h"
#include "rtime.h"
#include "store.h"

#define FEED_MAX 5000
#define FEED_BACK (90 * 86400LL)
#define FEED_AHEAD (400 * 86400LL)

/* The strings one event owns. */
struct owned {
    char *uid, *summary, *description, *location;
};


static char *describe(const char *theme, int64_t level, int *oom)
{
    static const char *const levels[] = {NULL, "Découvrir", "Maîtriser",
                                         "Augmenter son pouvoir d'agir"};
    char buf[400];
    int len = 0;
    char *out;

    if (theme && *theme)
        len = snprintf(buf, sizeof buf, "Thème : %s", theme);
    if (level >= 1 && level <= 3)
        snprintf(buf + len, sizeof buf - (size_t)len, "%sNiveau %lld (%s)", len ? "\n" : "",
                 (long long)level, levels[level]);
    else if (len == 0)
        return NULL;
    if (!(out = strdup(buf)))
        *oom = 1;
    return out;
}

void sessions_feed(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct sessions_filter f;
    struct ical_event *ev = NULL;
    struct owned *own = NULL;
    sqlite3_stmt *s = NULL;
    char host[256], *cal = NULL;
    size_t n = 0, len = 0;
    int64_t now = rt_now();
    int step, oom = 0;

    json_check_init(&c);
    sessions_filter_parse(req, &c, &f);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (f.from == RT_NONE)
        f.from = now - FEED_BACK;
    if (f.to == RT_NONE)
        f.to = now + FEED_AHEAD;
    ical_uid_host(req->app->cfg ? req->app->cfg->public_url : NULL, host, sizeof host);

    if (!(ev = calloc(FEED_MAX, sizeof *ev)) || !(own = calloc(FEED_MAX, sizeof *own)))
        goto fail;
    s = store_stmt(st, SESSIONS_FEED_SQL);
    if (!s || sessions_filter_bind(s, &f) != 0 || sqlite3_bind_int(s, 8, FEED_MAX) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct owned *o = &own[n];
        struct ical_event *e = &ev[n];
        const char *status = (const char *)sqlite3_column_text(s, 6);
        char uid[320];

        n++;
        snprintf(uid, sizeof uid, "session-%lld@%s", (long long)sqlite3_column_int64(s, 0),
                 host);
        o->uid = strdup(uid);
        o->summary = store_col_strdup(s, 1);
        o->description = describe((const char *)sqlite3_column_text(s, 2),
                                  sqlite3_column_int64(s, 3), &oom);
        o->location = ical_location((const char *)sqlite3_column_text(s, 10),
                            (const char *)sqlite3_column_text(s, 11),
                            (const char *)sqlite3_column_text(s, 12), &oom);
        if (!o->location && !oom && sqlite3_column_int(s, 9) && !(o->location = strdup("En ligne")))
            oom = 1;
        if (oom || !o->uid || !o->summary)
            goto fail;
        e->uid = o->uid;
        e->summary = o->summary;
        e->description = o->description;
        e->location = o->location;
        e->starts_at = sqlite3_column_int64(s, 4);
        e->ends_at = sqlite3_column_int64(s, 5);
        e->stamp = sqlite3_column_int64(s, 8);
        e->sequence = (int)sqlite3_column_int64(s, 7);
        e->cancelled = status && strcmp(status, "cancelled") == 0;
    }
    if (step != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    if (!(cal = ical_build(ev, n, NULL, "Relais", &len)))
        goto fail;
    http_reply_data(req, 200, "text/calendar; charset=utf-8", cal, len);
    goto out;
fail:
    log_error("sessions", "building the sessions feed failed");
    store_done(s);
    http_problem(req, 500, "the feed could not be built");
out:
    for (size_t i = 0; own && i < n; i++) {
        free(own[i].uid);
        free(own[i].summary);
        free(own[i].description);
        free(own[i].location);
    }
    free(own);
    free(ev);
    free(cal);
    json_check_free(&c);
}
