/* The hot queries are served by indexes, and the counts kept by triggers
 * equal a full recount (issue 16).
 *
 * Plans: EXPLAIN QUERY PLAN of each hot statement, by the very macro the
 * code prepares, on the migrated schema without ANALYZE (Relais never runs
 * it, so these are the plans it gets in production). Each must name the
 * index that serves it and must not scan a table that grows with the
 * territory (a line "SCAN t", with or without an index: a walk of all of
 * it), nor sort its rows (a temporary b-tree), unless that table is listed
 * as small for that query. A query rewritten so that the planner loses its
 * index fails here with the plan printed.
 *
 * Counts: the windows of the name search (schema step 22) and the
 * notification counts of /metrics (steps 23 and 24) after inserts, renames,
 * erasures, deletions and status changes equal what a GROUP BY over the
 * facts says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"   /* domain_fields.h names struct http_req */
#include "domain_fields.h"
#include "outbox_internal.h"
#include "records_internal.h"
#include "sessions_internal.h"
#include "tmpdb.h"

tmpdb_fixture("qplans", 1)

/* The plan of SQL, one detail a line, into OUT; a line of the outermost
 * query (not of a subquery's) starts with "0:", others with "1:". */
static void plan_rows(struct tmpdb *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *s = NULL;
    char eqp[16384];
    size_t used = 0;

    snprintf(eqp, sizeof eqp, "EXPLAIN QUERY PLAN %s", sql);
    if (sqlite3_prepare_v2(store_db(db->st), eqp, -1, &s, NULL) != SQLITE_OK)
        fail_msg("cannot prepare %s: %s", sql, sqlite3_errmsg(store_db(db->st)));
    out[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW) {
        used += (size_t)snprintf(out + used, size - used, "%d:%s\n",
                                 sqlite3_column_int(s, 1) != 0,
                                 (const char *)sqlite3_column_text(s, 3));
        assert_true(used < size);
    }
    sqlite3_finalize(s);
}

/* The same without the depth marks. */
static void plan_of(struct tmpdb *db, const char *sql, char *out, size_t size)
{
    char rows[8192];
    const char *p = rows;
    size_t used = 0;

    plan_rows(db, sql, rows, sizeof rows);
    while (*p) {
        const char *nl = strchr(p, '\n');
        used += (size_t)snprintf(out + used, size - used, "%.*s\n", (int)(nl - p - 2), p + 2);
        assert_true(used < size);
        p = nl + 1;
    }
    if (used == 0)
        out[0] = '\0';
}

/* Fails unless the plan of SQL holds every string of NEEDS (NULL-ended),
 * scans no table but those of SMALL (a comma-separated list of the names
 * as the plan writes them, "" for none; a subquery's own result may be
 * read whole) and does not sort the rows it returns (a temporary b-tree of
 * the outermost query; a subquery of one row's few values may sort). */
static void check_plan(struct tmpdb *db, const char *name, const char *sql,
                       const char *const *needs, const char *small)
{
    char rows[8192], plan[8192], *line, *save = NULL;

    plan_of(db, sql, plan, sizeof plan);
    plan_rows(db, sql, rows, sizeof rows);
    for (; *needs; needs++)
        if (!strstr(plan, *needs))
            fail_msg("%s: no \"%s\" in the plan:\n%s", name, *needs, plan);
    if (strstr(rows, "0:USE TEMP B-TREE"))
        fail_msg("%s sorts its rows:\n%s", name, plan);
    for (line = strtok_r(plan, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char table[64];
        const char *p = small;
        int allowed = 0;
        size_t n;

        if (strncmp(line, "SCAN ", 5) != 0 || line[5] == '('
            || strcmp(line, "SCAN CONSTANT ROW") == 0)
            continue;
        n = strcspn(line + 5, " ");
        if (n >= sizeof table)
            n = sizeof table - 1;
        memcpy(table, line + 5, n);
        table[n] = '\0';
        while (*p && !allowed) {
            size_t k = strcspn(p, ",");
            allowed = k == n && strncmp(p, table, n) == 0;
            p += k + (p[k] == ',');
        }
        if (!allowed)
            fail_msg("%s scans %s: \"%s\"", name, table, line);
    }
}

static void searches(void **state)
{
    struct tmpdb *db = *state;
    static const char *const phone[] = {"USING INDEX beneficiaries_phone (phone=?", NULL};
    static const char *const grams[] = {
        "SEARCH g USING PRIMARY KEY (gram=? AND beneficiary_id>?)",
        "SEARCH b USING INTEGER PRIMARY KEY (rowid=?)",
        "SEARCH x USING PRIMARY KEY (gram=? AND beneficiary_id=?)",
        "SEARCH e USING INDEX enrollments_beneficiary (beneficiary_id=?)", NULL};
    static const char *const words[] = {"SEARCH b USING INTEGER PRIMARY KEY (rowid>?)", NULL};
    static const char *const count[] = {
        "SEARCH beneficiary_gram_counts USING PRIMARY KEY (gram=?)", NULL};

    check_plan(db, "search by phone", BENEFICIARIES_BY_PHONE_SQL, phone, "");
    check_plan(db, "search by name", BENEFICIARIES_BY_GRAMS_SQL, grams, "");
    /* Words of one or two letters: in id order from the cursor, the page's
     * LIMIT stops it (no window to look up). */
    check_plan(db, "search by short words", BENEFICIARIES_BY_WORDS_SQL, words, "");
    check_plan(db, "a window's count",
               "SELECT n FROM beneficiary_gram_counts WHERE gram = ?1", count, "");
}

static void calendars(void **state)
{
    struct tmpdb *db = *state;
    static const char *const list[] = {
        "SEARCH s USING INDEX sessions_starts (starts_at>? AND starts_at<?)", NULL};
    static const char *const feed[] = {
        "SEARCH s USING INDEX sessions_starts (starts_at>? AND starts_at<?)",
        "SEARCH v USING INTEGER PRIMARY KEY (rowid=?)", NULL};

    check_plan(db, "the sessions of a month", SESSIONS_LIST_SQL, list, "");
    check_plan(db, "sessions.ics", SESSIONS_FEED_SQL, feed, "");
}

static void accompaniments(void **state)
{
    struct tmpdb *db = *state;
    static const char *const all[] = {
        "SEARCH a USING INDEX accompaniments_started (started_at>? AND started_at<?)", NULL};
    static const char *const person[] = {
        "SEARCH a USING INDEX accompaniments_beneficiary (beneficiary_id=? AND started_at>? AND"
        " started_at<?)", NULL};
    static const char *const staff[] = {
        "SEARCH a USING INDEX accompaniments_staff (staff_id=? AND started_at>? AND"
        " started_at<?)", NULL};
    static const char *const venue[] = {
        "SEARCH a USING INDEX accompaniments_venue (venue_id=? AND started_at>? AND"
        " started_at<?)", NULL};
    char plan[2048];

    check_plan(db, "accompaniments", ACC_LIST_SQL("1"), all, "");
    check_plan(db, "a person's accompaniments", ACC_LIST_SQL("a.beneficiary_id = ?3"), person,
               "");
    check_plan(db, "a trainer's accompaniments", ACC_LIST_SQL("a.staff_id = ?4"), staff, "");
    check_plan(db, "a venue's accompaniments", ACC_LIST_SQL("a.venue_id = ?5"), venue, "");
    /* A permanence's few accompaniments: found by index, then sorted. */
    plan_of(db, ACC_LIST_SQL("a.session_id = ?6"), plan, sizeof plan);
    if (!strstr(plan, "SEARCH a USING INDEX accompaniments_session (session_id=?)"))
        fail_msg("a permanence's accompaniments:\n%s", plan);
}

static void outbox(void **state)
{
    struct tmpdb *db = *state;
    static const char *const claim[] = {
        "COVERING INDEX notifications_due (status=? AND channel=? AND due_at<?)", NULL};
    static const char *const oldest[] = {
        "USING COVERING INDEX notifications_due (status=? AND channel=?)", NULL};
    static const char *const counts[] = {"SCAN notification_counts", NULL};
    char plan[2048];

    check_plan(db, "the outbox's claim", OUTBOX_CLAIM_SQL, claim, "");
    check_plan(db, "the oldest due", OUTBOX_OLDEST_DUE_SQL, oldest, "");
    /* A few rows (kinds x channels x statuses): read whole, never the
     * notifications. */
    static const char *const records[] = {
        "SEARCH record_counts USING PRIMARY KEY (name=?)", NULL};
    static const char *const living[] = {
        "SEARCH record_counts USING PRIMARY KEY (name=? AND status=?)", NULL};

    check_plan(db, "/metrics counts", OUTBOX_COUNTS_SQL, counts, "notification_counts");
    check_plan(db, "/metrics sessions", OPS_SESSION_COUNTS_SQL, records, "");
    check_plan(db, "/metrics enrollments", OPS_ENROLLMENT_COUNTS_SQL, records, "");
    check_plan(db, "/metrics beneficiaries", OPS_LIVING_COUNT_SQL, living, "");
    plan_of(db, OUTBOX_COUNTS_SQL, plan, sizeof plan);
    assert_null(strstr(plan, "notifications "));
}

/* 1 when the query Q (one integer) answers 0. */
static int zero(struct tmpdb *db, const char *q)
{
    int64_t v = -1;
    assert_int_equal(store_int_query(db->st, q, 0, &v), 1);
    if (v != 0)
        print_error("%s: %lld\n", q, (long long)v);
    return v == 0;
}

static void grams_equal_a_recount(void **state)
{
    struct tmpdb *db = *state;

    assert_int_equal(store_exec(db->st,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
        " INSERT INTO beneficiaries (first_name, last_name, search_key, created_at,"
        " updated_at) SELECT 'P' || i, 'Nom', 'p' || i || ' nom martin', 0, 0 FROM n;"
        "UPDATE beneficiaries SET search_key = 'annie anna ' || id WHERE id % 7 = 0;"
        "UPDATE beneficiaries SET search_key = NULL, erased_at = 1 WHERE id % 11 = 0;"
        "UPDATE beneficiaries SET updated_at = 2 WHERE id % 5 = 0;"
        "DELETE FROM beneficiaries WHERE id % 13 = 0;"), 0);
    /* Every window of every key, and nothing else. */
    assert_true(zero(db,
        "WITH want AS (SELECT DISTINCT substr(CAST(b.search_key AS BLOB), p.k, 3) AS gram,"
        " b.id AS bid FROM beneficiaries b JOIN search_grams_pos p"
        " ON p.k <= length(CAST(b.search_key AS BLOB)) - 2 WHERE b.search_key IS NOT NULL)"
        " SELECT (SELECT count(*) FROM (SELECT gram, bid FROM want EXCEPT"
        "  SELECT gram, beneficiary_id FROM beneficiary_grams))"
        " + (SELECT count(*) FROM (SELECT gram, beneficiary_id FROM beneficiary_grams EXCEPT"
        "  SELECT gram, bid FROM want)) + 0 * ?1"));
    /* The counts are the windows' lists' lengths; none at 0 is kept. */
    assert_true(zero(db,
        "SELECT (SELECT count(*) FROM (SELECT gram, count(*) FROM beneficiary_grams"
        " GROUP BY gram EXCEPT SELECT gram, n FROM beneficiary_gram_counts))"
        " + (SELECT count(*) FROM (SELECT gram, n FROM beneficiary_gram_counts EXCEPT"
        " SELECT gram, count(*) FROM beneficiary_grams GROUP BY gram)) + 0 * ?1"));
    assert_true(zero(db, "SELECT count(*) + 0 * ?1 FROM beneficiary_gram_counts WHERE n <= 0"));
    /* An erased person's windows are gone. */
    assert_true(zero(db, "SELECT count(*) + 0 * ?1 FROM beneficiary_grams g JOIN beneficiaries b"
                         " ON b.id = g.beneficiary_id WHERE b.erased_at IS NOT NULL"));
}

static void notification_counts_equal_a_recount(void **state)
{
    struct tmpdb *db = *state;

    assert_int_equal(store_exec(db->st,
        "INSERT INTO venues (id, name, created_at, updated_at) VALUES (1, 'V', 0, 0);"
        "INSERT INTO beneficiaries (id, first_name, last_name, created_at, updated_at)"
        " VALUES (1001, 'A', 'B', 0, 0);"
        "INSERT INTO sessions (id, kind, title, venue_id, starts_at, ends_at, created_at,"
        " updated_at) VALUES (1, 'workshop', 'T', 1, 1000, 2000, 0, 0);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"
        " INSERT INTO enrollments (session_id, beneficiary_id, status, created_at, updated_at)"
        " SELECT 1, 1001, 'booked', 0, 0 FROM n WHERE i = 1;"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
        " INSERT INTO notifications (enrollment_id, beneficiary_id, session_id, kind, channel,"
        " offset_key, target_start, due_at, created_at, updated_at)"
        " SELECT 1, 1001, 1, CASE i % 3 WHEN 0 THEN 'confirmation' WHEN 1 THEN 'reminder'"
        " ELSE 'change' END, CASE i % 2 WHEN 0 THEN 'sms' ELSE 'email' END, i, 1000, i, 0, 0"
        " FROM n;"
        "UPDATE notifications SET status = 'sending' WHERE id % 3 = 0;"
        "UPDATE notifications SET status = 'sent' WHERE id % 6 = 0;"
        "UPDATE notifications SET attempts = 2 WHERE id % 4 = 0;"
        "UPDATE notifications SET status = 'failed', channel = 'sms' WHERE id % 17 = 0;"
        "DELETE FROM notifications WHERE id % 19 = 0;"), 0);
    assert_true(zero(db,
        "SELECT (SELECT count(*) FROM (SELECT kind, channel, status, count(*) FROM notifications"
        " GROUP BY 1, 2, 3 EXCEPT SELECT kind, channel, status, n FROM notification_counts))"
        " + (SELECT count(*) FROM (SELECT kind, channel, status, n FROM notification_counts"
        " WHERE n > 0 EXCEPT SELECT kind, channel, status, count(*) FROM notifications"
        " GROUP BY 1, 2, 3)) + 0 * ?1"));
    assert_true(zero(db, "SELECT count(*) + 0 * ?1 FROM notification_counts WHERE n < 0"));
    /* The gauges' counts after the same kind of churn. */
    assert_int_equal(store_exec(db->st,
        "INSERT INTO enrollments (session_id, beneficiary_id, status, created_at, updated_at)"
        " SELECT 1, id, 'booked', 0, 0 FROM beneficiaries WHERE id <> 1001 AND id < 60;"
        "UPDATE enrollments SET status = 'attended' WHERE id % 3 = 0;"
        "UPDATE enrollments SET status = 'absent' WHERE id % 5 = 0;"
        "DELETE FROM enrollments WHERE id % 7 = 0;"
        "INSERT INTO sessions (kind, title, venue_id, starts_at, ends_at, created_at,"
        " updated_at) VALUES ('workshop', 'U', 1, 5000, 6000, 0, 0),"
        " ('workshop', 'W', 1, 7000, 8000, 0, 0);"
        "UPDATE sessions SET status = 'cancelled' WHERE title = 'U';"
        "DELETE FROM sessions WHERE title = 'W';"
        "UPDATE beneficiaries SET erased_at = 9 WHERE id % 4 = 0 AND erased_at IS NULL;"
        "UPDATE beneficiaries SET erased_at = NULL WHERE id = 8;"), 0);
    assert_true(zero(db,
        "SELECT (SELECT count(*) FROM (SELECT 'sessions', status, count(*) FROM sessions"
        "  GROUP BY 2 UNION ALL SELECT 'enrollments', status, count(*) FROM enrollments"
        "  GROUP BY 2 UNION ALL SELECT 'beneficiaries', 'living', count(*) FROM beneficiaries"
        "  WHERE erased_at IS NULL EXCEPT SELECT name, status, n FROM record_counts))"
        " + (SELECT count(*) FROM (SELECT name, status, n FROM record_counts WHERE n <> 0"
        "  EXCEPT SELECT 'sessions', status, count(*) FROM sessions GROUP BY 2"
        "  EXCEPT SELECT 'enrollments', status, count(*) FROM enrollments GROUP BY 2"
        "  EXCEPT SELECT 'beneficiaries', 'living', count(*) FROM beneficiaries"
        "  WHERE erased_at IS NULL)) + 0 * ?1"));
    assert_true(zero(db, "SELECT (SELECT sum(n) FROM notification_counts)"
                         " - (SELECT count(*) FROM notifications) + 0 * ?1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(searches),
        cmocka_unit_test(calendars),
        cmocka_unit_test(accompaniments),
        cmocka_unit_test(outbox),
        cmocka_unit_test(grams_equal_a_recount),
        cmocka_unit_test(notification_counts_equal_a_recount),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
