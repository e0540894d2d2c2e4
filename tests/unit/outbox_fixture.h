/* What the outbox tests share: a temporary store with the core migrations,
 * link tokens, an event base, the registry of the domain's events the store
 * carries (as relais serve sets it up) and an outbox with the default
 * rules, which observes it, the
 * clock frozen on Tuesday 3 March 2026 at 10:00 in Paris, and a few people
 * and a session to enroll them in. Included by the test files only. */
#ifndef RELAIS_TESTS_OUTBOX_FIXTURE_H
#define RELAIS_TESTS_OUTBOX_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "domain.h"
#include "domain_events.h"
#include "links.h"
#include "metrics.h"
#include "outbox.h"
#include "rtime.h"
#include "store.h"

#define T0 INT64_C(1772528400)     /* Tue 2026-03-03 10:00 Paris */
#define S10_START INT64_C(1772802000) /* Fri 2026-03-06 14:00 Paris */
#define FX_UNUSED __attribute__((unused))

struct fx {
    char dir[64], path[96];
    struct store *st;
    struct event_base *base;
    struct config *cfg;
    struct domain_events *events;
    struct outbox *ob;
};

static FX_UNUSED void sql(struct fx *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static FX_UNUSED void sql(struct fx *fx, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_int_equal(store_exec(fx->st, buf), 0);
}

/* The first column of the first row of a query, as an integer. */
static FX_UNUSED int64_t qv(struct fx *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static FX_UNUSED int64_t qv(struct fx *fx, const char *fmt, ...)
{
    char buf[1024];
    sqlite3_stmt *s = NULL;
    int64_t v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_int_equal(sqlite3_prepare_v2(store_db(fx->st), buf, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The same as text into OUT. */
static FX_UNUSED void qs(struct fx *fx, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static FX_UNUSED void qs(struct fx *fx, char *out, size_t n, const char *fmt, ...)
{
    char buf[1024];
    sqlite3_stmt *s = NULL;
    const char *v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_int_equal(sqlite3_prepare_v2(store_db(fx->st), buf, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = (const char *)sqlite3_column_text(s, 0);
    snprintf(out, n, "%s", v ? v : "");
    sqlite3_finalize(s);
}

/* Notifications matching WHERE. */
static FX_UNUSED int64_t nrows(struct fx *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static FX_UNUSED int64_t nrows(struct fx *fx, const char *fmt, ...)
{
    char where[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    return qv(fx, "SELECT count(*) FROM notifications WHERE %s", where);
}

/* Enrollment EID of person BID in session SID, booked now, as the
 * enrollment handler records it. */
static FX_UNUSED void book_part(struct fx *fx, int64_t eid, int64_t sid, int64_t bid,
                                int64_t parent)
{
    char par[24] = "NULL";

    if (parent)
        snprintf(par, sizeof par, "%lld", (long long)parent);
    sql(fx, "INSERT INTO enrollments (id, session_id, beneficiary_id, parent_id, status,"
            " created_at, updated_at) VALUES (%lld, %lld, %lld, %s, 'booked', %lld, %lld)",
        (long long)eid, (long long)sid, (long long)bid, par, (long long)rt_now(),
        (long long)rt_now());
    assert_int_equal(domain_record_enrollment_event(fx->st, eid, "booked", 0), 0);
}

static FX_UNUSED void book(struct fx *fx, int64_t eid, int64_t sid, int64_t bid)
{
    book_part(fx, eid, sid, bid, 0);
}

static FX_UNUSED void set_enrollment_event(struct fx *fx, int64_t eid, const char *status,
                                           const char *event)
{
    sql(fx, "UPDATE enrollments SET status = '%s' WHERE id = %lld", status, (long long)eid);
    assert_int_equal(domain_record_enrollment_event(fx->st, eid, event, 0), 0);
}

static FX_UNUSED void set_enrollment(struct fx *fx, int64_t eid, const char *status)
{
    set_enrollment_event(fx, eid, status, status);
}

/* Moves session SID from FROM to TO (same length) as PATCH records it;
 * returns the change id. */
static FX_UNUSED int64_t move(struct fx *fx, int64_t sid, int64_t from, int64_t to)
{
    int64_t len = qv(fx, "SELECT ends_at - starts_at FROM sessions WHERE id = %lld",
                     (long long)sid);

    sql(fx, "UPDATE sessions SET starts_at = %lld, ends_at = %lld, sequence = sequence + 1"
            " WHERE id = %lld", (long long)to, (long long)(to + len), (long long)sid);
    assert_int_equal(domain_record_session_change(fx->st, sid, "moved", from, from + len, 0,
                                                  to, to + len, 0, 0), 0);
    return qv(fx, "SELECT max(id) FROM session_changes");
}

static FX_UNUSED int fx_teardown(void **state)
{
    struct fx *fx = *state;
    char p[160];

    outbox_free(fx->ob);
    if (fx->st)
        store_set_events(fx->st, NULL);
    domain_events_free(fx->events);
    if (fx->base)
        event_base_free(fx->base);
    config_free(fx->cfg);
    links_shutdown();
    store_close(fx->st);
    unlink(fx->path);
    snprintf(p, sizeof p, "%s-wal", fx->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", fx->path);
    unlink(p);
    rmdir(fx->dir);
    rt_set_now(RT_NONE);
    metrics_reset();
    free(fx);
    return 0;
}

/* QUIET: whether the quiet hours (20:00–08:00) apply. */
static FX_UNUSED int fx_setup(void **state, int quiet)
{
    struct fx *fx = calloc(1, sizeof *fx);
    char *err = NULL;

    if (!fx)
        return -1;
    *state = fx;
    rt_set_now(T0);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/relais-outbox-XXXXXX");
    if (!mkdtemp(fx->dir))
        goto fail;
    snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    if (store_open(fx->path, &fx->st, &err) != 0 || store_migrate_core(fx->st, &err) != 0
        || links_init("a test secret of more than thirty-two characters", fx->path, &err) != 0
        || !(fx->base = event_base_new()) || config_defaults(&fx->cfg) != 0)
        goto fail;
    fx->cfg->quiet_enabled = quiet;
    if (domain_events_new(&fx->events) != 0)
        goto fail;
    store_set_events(fx->st, fx->events);
    if (outbox_new(fx->base, fx->st, fx->cfg, &fx->ob) != 0)
        goto fail;
    if (store_exec(fx->st,
                   "INSERT INTO venues (id, name, address, commune, created_at, updated_at)"
                   " VALUES (1, 'Médiathèque', '1 rue Juiverie', 'Chambéry', 0, 0);"
                   "INSERT INTO beneficiaries (id, first_name, last_name, phone, email,"
                   " consent_sms, consent_email, created_at, updated_at) VALUES"
                   " (1, 'Ana', 'A', '+33612345678', 'ana@example.org', 1, 1, 0, 0),"
                   " (2, 'Bob', 'B', '+33412345678', NULL, 1, 0, 0, 0),"
                   " (3, 'Chloé', 'C', NULL, 'chloe@example.org', 0, 1, 0, 0);"
                   "INSERT INTO sessions (id, kind, title, venue_id, starts_at, ends_at,"
                   " created_at, updated_at) VALUES (10, 'workshop', 'Smartphone', 1,"
                   " 1772802000, 1772809200, 0, 0);") != 0)
        goto fail;
    return 0;
fail:
    if (err)
        fprintf(stderr, "# %s\n", err);
    free(err);
    fx_teardown(state);
    return -1;
}

#endif
