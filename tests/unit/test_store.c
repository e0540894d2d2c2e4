/* Unit tests for store: opening (directories, pragmas), migrations, the
 * statement cache, transactions and the small helpers. Each test works on a
 * database of its own in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "tmpdb.h"

tmpdb_fixture("store", 0)

static int64_t count(struct store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_int_query(st, sql, 0, &n), 1);
    return n;
}

static void test_open_creates_dirs(void **state)
{
    struct tmpdb *f = *state;
    struct store *st = NULL;
    char path[300], sub[200];
    struct stat sb;
    char *err = NULL;

    snprintf(sub, sizeof sub, "%s/a/b/c", f->dir);
    snprintf(path, sizeof path, "%s/relais.db", sub);
    assert_int_equal(store_open(path, &st, &err), 0);
    assert_null(err);
    assert_int_equal(stat(sub, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 077, 0);   /* private: personal data */
    assert_int_equal(stat(path, &sb), 0);
    store_close(st);
    store_close(NULL);

    /* A parent that is a file cannot become a directory. */
    snprintf(path, sizeof path, "%s/relais.db/x.db", f->dir);
    assert_int_equal(store_open(path, &st, &err), -1);
    assert_null(st);
    assert_non_null(err);
    free(err);
    err = NULL;
    assert_int_equal(store_open("", &st, &err), -1);
    free(err);
}

static void test_pragmas(void **state)
{
    struct tmpdb *f = *state;
    sqlite3_stmt *s;

    s = store_stmt(f->st, "PRAGMA journal_mode");
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    store_done(s);
    assert_int_equal(count(f->st, "PRAGMA foreign_keys"), 1);
    assert_int_equal(count(f->st, "PRAGMA synchronous"), 2);     /* FULL */
    assert_int_equal(count(f->st, "PRAGMA busy_timeout"), 2000);
}

static void test_memory_db_refused(void **state)
{
    struct store *st = NULL;
    char *err = NULL;

    (void)state;
    /* WAL is the rule; a database that cannot use it is refused. */
    assert_int_equal(store_open(":memory:", &st, &err), -1);
    assert_non_null(strstr(err, "WAL"));
    free(err);
}

static void test_migrate_core_twice(void **state)
{
    struct tmpdb *f = *state;
    char *err = NULL;

    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_null(err);
    assert_int_equal(count(f->st, "SELECT count(*) FROM schema_migrations"
                                  " WHERE component = 'core'"), store_core_migrations_n);
    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM schema_migrations"
                                  " WHERE component = 'core'"), store_core_migrations_n);
    assert_int_equal(count(f->st, "SELECT max(version) FROM schema_migrations"),
                     store_core_migrations[store_core_migrations_n - 1].version);
    assert_int_equal(count(f->st, "SELECT count(*) FROM sqlite_master WHERE name = 'sessions'"),
                     1);
}

static void test_foreign_keys(void **state)
{
    struct tmpdb *f = *state;
    char *err = NULL;

    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_int_equal(store_exec(f->st, "INSERT INTO api_tokens (name, role, staff_id, hash,"
                                       " created_at) VALUES ('x', 'admin', 99, x'00', 0)"), -1);
    assert_int_equal(sqlite3_extended_errcode(store_db(f->st)), SQLITE_CONSTRAINT_FOREIGNKEY);
    assert_int_equal(count(f->st, "SELECT count(*) FROM api_tokens"), 0);
}

static void test_newer_db_refused(void **state)
{
    struct tmpdb *f = *state;
    char *err = NULL;

    assert_int_equal(store_migrate_core(f->st, &err), 0);
    assert_int_equal(store_exec(f->st, "INSERT INTO schema_migrations VALUES ('core', 999, 0)"),
                     0);
    assert_int_equal(store_migrate_core(f->st, &err), -1);
    assert_non_null(strstr(err, "newer"));
    free(err);
    /* Another component is not concerned. */
    assert_int_equal(store_migrate(f->st, "plugin", NULL, 0, &err), 0);
    assert_int_equal(store_exec(f->st, "INSERT INTO schema_migrations VALUES ('plugin', 1, 0)"),
                     0);
    assert_int_equal(store_migrate(f->st, "plugin", NULL, 0, &err), -1);
    free(err);
}

static void test_failing_step(void **state)
{
    struct tmpdb *f = *state;
    const struct store_migration bad[] = {
        {1, "CREATE TABLE t1 (x)"},
        {2, "CREATE TABLE t2 (x); INSERT INTO missing VALUES (1)"},
    };
    const struct store_migration good[] = {
        {1, "CREATE TABLE t1 (x)"},
        {2, "CREATE TABLE t2 (x); INSERT INTO t2 VALUES (1)"},
    };
    const struct store_migration unordered[] = {{2, "SELECT 1"}, {1, "SELECT 1"}};
    char *err = NULL;

    assert_int_equal(store_migrate(f->st, "t", bad, 2, &err), -1);
    assert_non_null(strstr(err, "migration t 2 failed"));
    free(err);
    assert_int_equal(count(f->st, "SELECT max(version) FROM schema_migrations"
                                  " WHERE component = 't'"), 1);
    assert_int_equal(count(f->st, "SELECT count(*) FROM sqlite_master WHERE name = 't2'"), 0);
    assert_int_equal(store_in_tx(f->st), 0);

    assert_int_equal(store_migrate(f->st, "t", good, 2, &err), 0);
    assert_int_equal(count(f->st, "SELECT max(version) FROM schema_migrations"
                                  " WHERE component = 't'"), 2);
    assert_int_equal(count(f->st, "SELECT count(*) FROM t2"), 1);

    assert_int_equal(store_migrate(f->st, "u", unordered, 2, &err), -1);
    free(err);
    /* Not inside a transaction of the caller's. */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_migrate(f->st, "t", good, 2, &err), -1);
    free(err);
    assert_int_equal(store_rollback(f->st), 0);
}

static void test_stmt_cache(void **state)
{
    struct tmpdb *f = *state;
    sqlite3_stmt *a, *b, *c;

    a = store_stmt(f->st, "SELECT 1");
    assert_non_null(a);
    store_done(a);
    b = store_stmt(f->st, "SELECT 1");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(store_stmt(f->st, "SELECT 2"), a);

    /* While A is stepping, the same SQL gets a second statement, and A's
     * rows are untouched. */
    assert_int_equal(store_exec(f->st, "CREATE TABLE n (v); INSERT INTO n VALUES (1), (2)"), 0);
    a = store_stmt(f->st, "SELECT v FROM n ORDER BY v");
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 1);
    b = store_stmt(f->st, "SELECT v FROM n ORDER BY v");
    assert_ptr_not_equal(a, b);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    store_done(b);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 2);
    store_done(a);
    c = store_stmt(f->st, "SELECT v FROM n ORDER BY v");
    assert_true(c == a || c == b);

    /* Bindings are cleared by store_done. */
    a = store_stmt(f->st, "SELECT ?1");
    assert_int_equal(sqlite3_bind_int(a, 1, 7), SQLITE_OK);
    store_done(a);
    a = store_stmt(f->st, "SELECT ?1");
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(a, 0), SQLITE_NULL);
    store_done(a);

    assert_null(store_stmt(f->st, "SELEKT nonsense"));
    store_done(NULL);
}

static void test_transactions(void **state)
{
    struct tmpdb *f = *state;

    assert_int_equal(store_exec(f->st, "CREATE TABLE t (x)"), 0);
    assert_int_equal(store_in_tx(f->st), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_in_tx(f->st), 1);
    assert_int_equal(store_exec(f->st, "INSERT INTO t VALUES (1)"), 0);
    assert_int_equal(store_rollback(f->st), 0);
    assert_int_equal(store_in_tx(f->st), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM t"), 0);

    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_exec(f->st, "INSERT INTO t VALUES (2)"), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM t"), 1);
    /* Rolling back with nothing open is harmless; committing is not. */
    assert_int_equal(store_rollback(f->st), 0);
    assert_int_equal(store_commit(f->st), -1);
    assert_int_equal(store_exec(f->st, "SELECT * FROM nowhere"), -1);
}

static void test_helpers(void **state)
{
    struct tmpdb *f = *state;
    sqlite3_stmt *s;
    int64_t v = 0;
    char *txt;

    assert_int_equal(store_exec(f->st, "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);"
                                       "INSERT INTO p VALUES (3, 'Zoé'), (4, NULL)"), 0);
    assert_int_equal(store_int_query(f->st, "SELECT id FROM p WHERE id = ?1", 3, &v), 1);
    assert_int_equal(v, 3);
    assert_int_equal(store_int_query(f->st, "SELECT id FROM p WHERE id = ?1", 9, &v), 0);
    assert_int_equal(store_int_query(f->st, "SELECT count(*) FROM p", 0, &v), 1);
    assert_int_equal(v, 2);
    assert_int_equal(store_int_query(f->st, "SELECT * FROM missing", 0, &v), -1);

    s = store_stmt(f->st, "SELECT name FROM p WHERE id = ?1");
    assert_int_equal(sqlite3_bind_int(s, 1, 3), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    txt = store_col_strdup(s, 0);
    assert_string_equal(txt, "Zoé");
    free(txt);
    store_done(s);
    assert_int_equal(sqlite3_bind_int(s, 1, 4), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_null(store_col_strdup(s, 0));
    store_done(s);

    s = store_stmt(f->st, "INSERT INTO p (name) VALUES (?1)");
    assert_int_equal(store_bind_text(s, 1, NULL), 0);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    store_done(s);
    assert_int_equal(count(f->st, "SELECT count(*) FROM p WHERE name IS NULL"), 2);
    assert_int_equal(store_bind_text(s, 9, "out of range"), -1);
}

/* --- the checkpointer thread --------------------------------------------- */

static int64_t wal_size(const struct tmpdb *f)
{
    char wal[160];
    struct stat sb;

    snprintf(wal, sizeof wal, "%s-wal", f->path);
    if (stat(wal, &sb) != 0)
        return -1;      /* no WAL file at all */
    return (int64_t)sb.st_size;
}

/* Commits ROWS rows of 2 KB of random bytes in one transaction. */
static void fill(struct store *st, int rows)
{
    sqlite3_stmt *s;

    assert_int_equal(store_exec(st, "CREATE TABLE IF NOT EXISTS big ("
                                    "id INTEGER PRIMARY KEY, b BLOB NOT NULL)"), 0);
    assert_int_equal(store_begin(st), 0);
    s = store_stmt(st, "INSERT INTO big (b) VALUES (randomblob(2000))");
    assert_non_null(s);
    for (int i = 0; i < rows; i++) {
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        store_done(s);
    }
    assert_int_equal(store_commit(st), 0);
}

/* Polls the stats (the thread works on its own time) until ROUNDS rounds,
 * TRUNCATES truncations, and a round that copied every frame (after a
 * TRUNCATE the WAL is empty: 0 of 0), are seen. */
static void wait_rounds(struct store *st, uint64_t rounds, uint64_t truncates,
                        struct store_ckpt_stats *ck)
{
    for (int i = 0; i < 3000; i++) {        /* 30 s: ASan on a busy machine */
        store_checkpoint_stats(st, ck);
        if (ck->checkpoints >= rounds && ck->truncates >= truncates &&
            ck->last_done_frames == ck->last_log_frames)
            return;
        usleep(10000);
    }
    fail_msg("the checkpointer did not run: %llu rounds, %llu truncates, %llu busy, %d/%d frames, %lld bytes",
             (unsigned long long)ck->checkpoints, (unsigned long long)ck->truncates,
             (unsigned long long)ck->busy, ck->last_done_frames, ck->last_log_frames,
             (long long)ck->wal_bytes);
}

static void test_checkpointer_passive(void **state)
{
    struct tmpdb *f = *state;
    struct store_ckpt_stats ck;
    sqlite3_stmt *s;
    char *err = NULL;

    store_checkpoint_stats(f->st, &ck);
    assert_int_equal(ck.running, 1);
    assert_int_equal(ck.checkpoints, 0);
    /* SQLite's own checkpoint is off on the loop's connection. */
    assert_int_equal(count(f->st, "PRAGMA wal_autocheckpoint"), 0);

    /* ~6 MB in one commit: > 1000 pages, so the thread is woken. The file is
     * never truncated below 64 MiB: only copied back. */
    fill(f->st, 3000);
    wait_rounds(f->st, 1, 0, &ck);
    assert_true(ck.last_log_frames >= 1000);
    assert_int_equal(ck.truncates, 0);
    assert_true(ck.wal_bytes > 5000000);
    assert_true(ck.seconds_total > 0 && ck.seconds_max <= ck.seconds_total);
    /* Everything was copied back, so the next writer starts the WAL over. */
    assert_int_equal(store_exec(f->st, "INSERT INTO big (b) VALUES (x'00')"), 0);
    store_checkpoint_stats(f->st, &ck);
    assert_true(ck.wal_frames < 10);
    assert_int_equal(count(f->st, "SELECT count(*) FROM big"), 3001);

    /* Close joins the thread; the final checkpoint leaves no WAL, and the
     * database alone holds every row. */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(wal_size(f), -1);
    assert_int_equal(store_open(f->path, &f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM big"), 3001);
    assert_int_equal(count(f->st, "SELECT sum(length(b)) FROM big"), 3000 * 2000 + 1);
    s = store_stmt(f->st, "PRAGMA integrity_check");
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    store_done(s);
}

static void test_checkpointer_truncates(void **state)
{
    struct tmpdb *f = *state;
    struct store_ckpt_stats ck;

    /* Past 1 MiB the round ends with a TRUNCATE: the file goes back to 0. */
    store_checkpoint_tune(f->st, 100, 1 << 20);
    fill(f->st, 1000);
    wait_rounds(f->st, 1, 1, &ck);
    assert_int_equal(ck.wal_bytes, 0);
    assert_int_equal(wal_size(f), 0);
    fill(f->st, 1000);
    wait_rounds(f->st, 2, 2, &ck);
    assert_int_equal(wal_size(f), 0);
    assert_int_equal(count(f->st, "SELECT count(*) FROM big"), 2000);
}

/* A reader's snapshot stops a round short of the end of the WAL; once the
 * reader is gone, the thread's next round (a second later, with no commit to
 * wake it) copies the rest, so the next write starts the WAL over. */
static void test_checkpointer_after_reader(void **state)
{
    struct tmpdb *f = *state;
    struct store_ckpt_stats ck;
    sqlite3 *reader = NULL;

    store_checkpoint_tune(f->st, 100, -1);
    assert_int_equal(store_exec(f->st, "CREATE TABLE big ("
                                       "id INTEGER PRIMARY KEY, b BLOB NOT NULL)"), 0);
    assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM big;",
                                  NULL, NULL, NULL), SQLITE_OK);
    fill(f->st, 300);
    for (int i = 0; i < 3000; i++) {
        store_checkpoint_stats(f->st, &ck);
        if (ck.checkpoints >= 1)
            break;
        usleep(10000);
    }
    assert_int_equal(ck.checkpoints, 1);
    assert_true(ck.last_done_frames < ck.last_log_frames);
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(reader), SQLITE_OK);
    wait_rounds(f->st, 2, 0, &ck);
    assert_true(ck.last_log_frames >= 100);
    assert_int_equal(store_exec(f->st, "INSERT INTO big (b) VALUES (x'02')"), 0);
    store_checkpoint_stats(f->st, &ck);
    assert_true(ck.wal_frames < 10);
    assert_int_equal(count(f->st, "SELECT count(*) FROM big"), 301);
}

/* Closing while the thread may be in the middle of a round: the join waits
 * for it, and nothing is lost. */
static void test_checkpointer_close_busy(void **state)
{
    struct tmpdb *f = *state;
    char *err = NULL;

    for (int round = 0; round < 3; round++) {
        store_checkpoint_tune(f->st, 50, -1);
        fill(f->st, 500);
        store_close(f->st);
        f->st = NULL;
        assert_int_equal(wal_size(f), -1);
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
        assert_int_equal(count(f->st, "SELECT count(*) FROM big"), 500 * (round + 1));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pragmas, setup, teardown),
        cmocka_unit_test(test_memory_db_refused),
        cmocka_unit_test_setup_teardown(test_migrate_core_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_db_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_passive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_after_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_close_busy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
