/* Unit tests for the core schema's later migrations, each run on a database
 * made by the steps before it with data in it, as an upgraded server meets
 * one: the rebuild of notifications (step 4) keeps every row, key, index and
 * constraint, and no longer builds a temporary table per row checked; the
 * counters of places and waitlist (step 5, made again with the people not
 * marked by step 16) start right and stay right; the rebuild for the kind
 * 'waitlisted' (step 12) keeps the plugins' read model of the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "tmpdb.h"

tmpdb_fixture("schema", 0)

static int64_t count(struct store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_int_query(st, sql, 0, &n), 1);
    return n;
}

/* The core steps up to and including VERSION, as the code before it had. */
static void migrate_upto(struct store *st, int version)
{
    size_t n = 0;
    char *err = NULL;

    while (n < store_core_migrations_n && store_core_migrations[n].version <= version)
        n++;
    assert_int_equal(store_migrate(st, "core", store_core_migrations, n, &err), 0);
    assert_null(err);
}

/* Opcodes NAME in the program of SQL. */
static int opcodes(struct store *st, const char *sql, const char *name)
{
    char buf[1200];
    sqlite3_stmt *s;
    int n = 0;

    snprintf(buf, sizeof buf, "EXPLAIN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(store_db(st), buf, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        if (strcmp((const char *)sqlite3_column_text(s, 1), name) == 0)
            n++;
    sqlite3_finalize(s);
    return n;
}

/* The upsert core/notify/outbox.c makes rows with. */
static const char upsert[] =
    "INSERT INTO notifications (id, enrollment_id, beneficiary_id, session_id, kind,"
    " channel, offset_key, target_start, due_at, status, error, created_at, updated_at,"
    " idem_key)"
    " VALUES (?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 'k' || ?12)"
    " ON CONFLICT (enrollment_id, kind, offset_key, channel, target_start) DO UPDATE"
    " SET status = excluded.status, due_at = excluded.due_at, error = excluded.error,"
    " attempts = 0, updated_at = excluded.updated_at"
    " WHERE notifications.status = 'cancelled'";

static const char *const rows_sql[] = {
    "INSERT INTO beneficiaries (id, first_name, phone, consent_sms, created_at, updated_at)"
    " VALUES (1, 'A', '+33612345678', 1, 0, 0), (2, 'B', NULL, 0, 0, 0)",
    "INSERT INTO sessions (id, kind, title, starts_at, ends_at, created_at, updated_at)"
    " VALUES (1, 'workshop', 'W', 1000, 2000, 0, 0)",
    "INSERT INTO enrollments (id, session_id, beneficiary_id, status, created_at, updated_at)"
    " VALUES (1, 1, 1, 'booked', 0, 0), (2, 1, 2, 'booked', 0, 0)",
    "INSERT INTO notifications (id, enrollment_id, beneficiary_id, session_id, kind, channel,"
    " offset_key, target_start, due_at, status, attempts, lease_until, idem_key, segments,"
    " provider_id, error, created_at, updated_at, sent_at) VALUES"
    " (1, 1, 1, 1, 'confirmation', 'sms', 0, 1000, 10, 'sent', 1, NULL, 'n1-sms-ab', 1,"
    "  'SM1', NULL, 5, 6, 6),"
    " (2, 1, 1, 1, 'reminder', 'sms', 86400, 1000, 20, 'pending', 0, NULL, 'n2-sms-cd',"
    "  NULL, NULL, NULL, 5, 5, NULL),"
    " (7, 2, 2, 1, 'confirmation', 'email', 0, 1000, 10, 'suppressed', 0, NULL, 'n7-email-ef',"
    "  NULL, NULL, 'no email consent', 5, 5, NULL),"
    " (9, 1, 1, 1, 'change', 'sms', 3, 1000, 30, 'sending', 2, 99, 'n9-sms-01', NULL, NULL,"
    "  'timeout', 5, 8, NULL)",
};

/* What the rows say, in one string, to compare before and after. */
static char *dump(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT group_concat(quote(id) || quote(enrollment_id) || quote(beneficiary_id)"
        " || quote(session_id) || quote(kind) || quote(channel) || quote(offset_key)"
        " || quote(target_start) || quote(due_at) || quote(status) || quote(attempts)"
        " || quote(lease_until) || quote(idem_key) || quote(segments) || quote(provider_id)"
        " || quote(error) || quote(created_at) || quote(updated_at) || quote(sent_at), '|')"
        " FROM (SELECT * FROM notifications ORDER BY id)");
    char *out;

    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    out = strdup((const char *)sqlite3_column_text(s, 0));
    assert_non_null(out);
    store_done(s);
    return out;
}

static void test_rebuild_keeps_rows(void **state)
{
    struct tmpdb *f = *state;
    char *before, *after, *err = NULL;

    migrate_upto(f->st, 3);
    for (size_t i = 0; i < sizeof rows_sql / sizeof rows_sql[0]; i++)
        assert_int_equal(store_exec(f->st, rows_sql[i]), 0);
    /* What the rebuild is for: the old table's IN lists cost temporary tables. */
    assert_int_equal(opcodes(f->st, upsert, "OpenEphemeral"), 3);
    before = dump(f->st);

    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_null(err);
    after = dump(f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(opcodes(f->st, upsert, "OpenEphemeral"), 0);
    assert_int_equal(opcodes(f->st, "UPDATE notifications SET status = ?1 WHERE id = ?2",
                             "OpenEphemeral"), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM sqlite_master"
                                  " WHERE name = 'notifications_new'"), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND tbl_name = 'notifications' AND name IN"
                                  " ('notifications_due', 'notifications_provider',"
                                  " 'notifications_enrollment', 'notifications_beneficiary')"),
                     4);
    /* The queries the outbox runs still find their index. */
    assert_int_equal(opcodes(f->st, "SELECT id FROM notifications WHERE status = 'pending'"
                                    " AND channel = 'sms' AND due_at <= 5 ORDER BY due_at",
                             "SorterOpen"), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* New rows follow the old ids (max + 1, as core/notify/outbox.c picks them). */
    assert_int_equal(count(f->st, "SELECT max(id) FROM notifications"), 9);
}

/* Step 12 rebuilds notifications once more (kind 'waitlisted') on a
 * database that has the plugins' read model of it (step 6): the view is
 * there after, as step 6 made it, reading the new table; the rows and the
 * new kind show through it. */
static void test_waitlisted_rebuild_keeps_the_read_model(void **state)
{
    struct tmpdb *f = *state;
    sqlite3_stmt *s;
    char *err = NULL, *view_before;

    migrate_upto(f->st, 11);
    for (size_t i = 0; i < sizeof rows_sql / sizeof rows_sql[0]; i++)
        assert_int_equal(store_exec(f->st, rows_sql[i]), 0);
    s = store_stmt(f->st, "SELECT sql FROM sqlite_master WHERE name = 'relais_v1_notifications'");
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    view_before = strdup((const char *)sqlite3_column_text(s, 0));
    assert_non_null(view_before);
    store_done(s);
    /* The old CHECK refuses the kind. */
    assert_int_equal(store_exec(f->st, "UPDATE notifications SET kind = 'waitlisted' WHERE id = 2"),
                     -1);

    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_null(err);
    s = store_stmt(f->st, "SELECT sql FROM sqlite_master WHERE name = 'relais_v1_notifications'");
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), view_before);
    store_done(s);
    free(view_before);
    assert_int_equal(count(f->st, "SELECT count(*) FROM relais_v1_notifications"), 4);
    assert_int_equal(store_exec(f->st, "UPDATE notifications SET kind = 'waitlisted' WHERE id = 2"),
                     0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM relais_v1_notifications"
                                  " WHERE kind = 'waitlisted' AND id = 2"), 1);
    assert_int_equal(count(f->st, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND tbl_name = 'notifications' AND name IN"
                                  " ('notifications_due', 'notifications_provider',"
                                  " 'notifications_enrollment', 'notifications_beneficiary')"),
                     4);
    assert_int_equal(count(f->st, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

/* A statement that must be refused by a constraint, and change nothing. */
static void refused(struct store *st, const char *sql)
{
    char *before = dump(st), *after;

    assert_int_equal(store_exec(st, sql), -1);
    after = dump(st);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_rebuild_keeps_constraints(void **state)
{
    struct tmpdb *f = *state;
    char *err = NULL;

    migrate_upto(f->st, 3);
    for (size_t i = 0; i < sizeof rows_sql / sizeof rows_sql[0]; i++)
        assert_int_equal(store_exec(f->st, rows_sql[i]), 0);
    assert_int_equal(store_migrate_core(f->st, &err), 0);

    /* Every value the old lists allowed is still allowed… */
    assert_int_equal(store_exec(f->st,
        "INSERT INTO notifications (enrollment_id, beneficiary_id, session_id, kind, channel,"
        " offset_key, target_start, due_at, status, created_at, updated_at)"
        " SELECT 2, 2, 1, k.value, c.value, 0, 2000 + s.key, 0, s.value, 0, 0"
        " FROM json_each('[\"confirmation\",\"reminder\",\"change\",\"cancellation\","
        "\"promoted\",\"survey\"]') k, json_each('[\"sms\",\"email\"]') c,"
        " json_each('[\"pending\",\"sending\",\"sent\",\"delivered\",\"failed\","
        "\"cancelled\",\"suppressed\"]') s"), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM notifications"), 4 + 6 * 2 * 7);
    /* …and nothing else: other words, other case, NULL. */
    refused(f->st, "UPDATE notifications SET status = 'gone' WHERE id = 1");
    refused(f->st, "UPDATE notifications SET status = 'SENT' WHERE id = 1");
    refused(f->st, "UPDATE notifications SET status = NULL WHERE id = 1");
    refused(f->st, "UPDATE notifications SET kind = 'spam' WHERE id = 1");
    refused(f->st, "UPDATE notifications SET kind = NULL WHERE id = 1");
    refused(f->st, "UPDATE notifications SET channel = 'fax' WHERE id = 1");
    refused(f->st, "UPDATE notifications SET channel = NULL WHERE id = 1");
    /* The keys: one message per enrollment, kind, offset, channel and start;
     * one row per idempotency key; the rows it points at must exist. */
    refused(f->st, "INSERT INTO notifications (enrollment_id, beneficiary_id, session_id, kind,"
                   " channel, offset_key, target_start, due_at, created_at, updated_at)"
                   " VALUES (1, 1, 1, 'confirmation', 'sms', 0, 1000, 0, 0, 0)");
    refused(f->st, "UPDATE notifications SET idem_key = 'n1-sms-ab' WHERE id = 2");
    refused(f->st, "INSERT INTO notifications (enrollment_id, beneficiary_id, session_id, kind,"
                   " channel, target_start, due_at, created_at, updated_at)"
                   " VALUES (42, 1, 1, 'confirmation', 'sms', 7, 0, 0, 0)");
    refused(f->st, "UPDATE notifications SET session_id = 42 WHERE id = 1");
    /* The defaults are kept. */
    assert_int_equal(store_exec(f->st,
        "INSERT INTO notifications (id, enrollment_id, beneficiary_id, session_id, kind,"
        " channel, target_start, due_at, created_at, updated_at)"
        " VALUES (500, 1, 1, 1, 'survey', 'sms', 5, 0, 0, 0)"), 0);
    assert_int_equal(count(f->st, "SELECT status = 'pending' AND attempts = 0"
                                  " AND offset_key = 0 FROM notifications WHERE id = 500"), 1);
}

/* The counters equal the counts they stand for, for every session (the
 * places taken and the waitlist of step 5, the people booked not marked
 * yet of step 16, which makes the triggers again). */
static void counters_match(struct store *st)
{
    assert_int_equal(count(st, "SELECT count(*) FROM sessions s WHERE s.taken_n IS NOT"
                               " (SELECT count(*) FROM enrollments e WHERE e.session_id = s.id"
                               "  AND e.status IN ('booked','attended','absent','excused'))"
                               " OR s.waitlisted_n IS NOT"
                               " (SELECT count(*) FROM enrollments e WHERE e.session_id = s.id"
                               "  AND e.status = 'waitlisted')"
                               " OR s.booked_n IS NOT"   /* step 16 */
                               " (SELECT count(*) FROM enrollments e WHERE e.session_id = s.id"
                               "  AND e.status = 'booked')"), 0);
}

static void test_counters(void **state)
{
    struct tmpdb *f = *state;
    static const char *const statuses[] = {"booked", "waitlisted", "cancelled",
                                           "attended", "absent", "excused"};
    char sql[300], *err = NULL;
    unsigned seed = 7;

    migrate_upto(f->st, 4);
    assert_int_equal(store_exec(f->st,
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 60)"
        " INSERT INTO beneficiaries (id, created_at, updated_at) SELECT i, 0, 0 FROM c"), 0);
    assert_int_equal(store_exec(f->st,
        "INSERT INTO sessions (id, kind, title, starts_at, ends_at, created_at, updated_at)"
        " VALUES (1, 'workshop', 'A', 1, 2, 0, 0), (2, 'workshop', 'B', 1, 2, 0, 0),"
        " (3, 'workshop', 'C', 1, 2, 0, 0)"), 0);
    /* Enrollments made before the step are counted by it. */
    assert_int_equal(store_exec(f->st,
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 30)"
        " INSERT INTO enrollments (session_id, beneficiary_id, status, created_at, updated_at)"
        " SELECT 1 + i % 2, i, json_extract('[\"booked\",\"waitlisted\",\"cancelled\","
        "\"attended\",\"absent\",\"excused\"]', '$[' || (i % 6) || ']'), 0, 0 FROM c"), 0);
    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT taken_n + waitlisted_n FROM sessions WHERE id = 1"),
                     10);
    counters_match(f->st);

    /* Then every kind of write keeps them: new enrollments in any status,
     * status changes, moves between sessions, deletions. */
    for (int i = 0; i < 300; i++) {
        int64_t id = 1 + rand_r(&seed) % 40;
        const char *st = statuses[rand_r(&seed) % 6];

        switch (rand_r(&seed) % 4) {
        case 0:
            snprintf(sql, sizeof sql,
                     "INSERT INTO enrollments (session_id, beneficiary_id, status, created_at,"
                     " updated_at) SELECT %d, %d, '%s', 0, 0 WHERE NOT EXISTS (SELECT 1 FROM"
                     " enrollments WHERE session_id = %d AND beneficiary_id = %d"
                     " AND status <> 'cancelled')",
                     1 + i % 3, 31 + i % 30, st, 1 + i % 3, 31 + i % 30);
            break;
        case 1:
            snprintf(sql, sizeof sql, "UPDATE enrollments SET status = '%s' WHERE id = %lld",
                     st, (long long)id);
            break;
        case 2:
            snprintf(sql, sizeof sql, "UPDATE enrollments SET session_id = 3 WHERE id = %lld"
                     " AND NOT EXISTS (SELECT 1 FROM enrollments o, enrollments me"
                     " WHERE me.id = %lld AND o.session_id = 3"
                     " AND o.beneficiary_id = me.beneficiary_id)", (long long)id, (long long)id);
            break;
        default:
            snprintf(sql, sizeof sql, "DELETE FROM enrollments WHERE id = %lld", (long long)id);
        }
        /* A write the unique indexes refuse changes nothing, counters included. */
        (void)store_exec(f->st, sql);
        counters_match(f->st);
    }
    assert_true(count(f->st, "SELECT sum(taken_n) + sum(waitlisted_n) FROM sessions") > 0);
}

/* A fresh database takes every step the same way. */
static void test_fresh_database(void **state)
{
    struct tmpdb *f = *state;
    char *err = NULL;

    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_int_equal(opcodes(f->st, upsert, "OpenEphemeral"), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM notifications"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waitlisted_rebuild_keeps_the_read_model, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
