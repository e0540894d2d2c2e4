/* The readers (core/store/reader.c): queries on worker threads, delivered on the
 * loop.
 * - rows and values come back as SQLite gave them; parameters are bound;
 * - a lease's queries share one snapshot, which a write on the loop's
 *   connection does not change until the lease ends; a new lease sees it;
 * - a statement that writes is not run; misuse, SQL errors, too many rows
 *   and a time-out are told apart; the authorizer is the caller's;
 * - a query is stopped past its operations or its CPU time, and says how
 *   many operations it ran;
 * - a cancelled job's callback never runs (queued, or running: a long query
 *   is stopped); leases beyond the workers wait their turn, in order;
 * - work jobs run beside the leases; reader_free with jobs left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <string.h>
#include <time.h>

#include "reader.h"
#include "tmpdb.h"

struct t {
    struct tmpdb db;
    struct event_base *base;
    struct reader *r;
};

struct got {
    int done;
    enum reader_status status;
    char message[256];
    int ncols, nrows;
    char first[128];        /* the first cell as text */
    int64_t sum;            /* of the integer cells */
    long ops;               /* the operations it ran */
};

static void on_done(const struct reader_result *res, void *arg)
{
    struct got *g = arg;

    g->done++;
    g->status = res->status;
    g->ops = res->ops;
    snprintf(g->message, sizeof g->message, "%s", res->message);
    g->ncols = res->ncols;
    g->nrows = (int)res->nrows;
    g->sum = 0;
    g->first[0] = '\0';
    for (size_t i = 0; i < res->nrows * (size_t)res->ncols; i++) {
        const struct reader_value *v = &res->cells[i];

        if (v->type == SQLITE_INTEGER)
            g->sum += v->i;
        if (i == 0 && (v->type == SQLITE_TEXT || v->type == SQLITE_BLOB))
            snprintf(g->first, sizeof g->first, "%.*s", (int)v->len, v->p);
        else if (i == 0 && v->type == SQLITE_INTEGER)
            snprintf(g->first, sizeof g->first, "%lld", (long long)v->i);
        else if (i == 0 && v->type == SQLITE_FLOAT)
            snprintf(g->first, sizeof g->first, "%.2f", v->d);
        else if (i == 0)
            snprintf(g->first, sizeof g->first, "NULL");
    }
}

/* Turns the loop until G is done (at most 20 s). */
static void wait_for(struct t *t, struct got *g)
{
    time_t until = time(NULL) + 20;

    while (!g->done && time(NULL) < until)
        event_base_loop(t->base, EVLOOP_ONCE);
    assert_int_equal(g->done, 1);
}

static int deny_secret(void *ctx, const char *tag, int action, const char *a, const char *b,
                       const char *db, const char *source)
{
    (void)ctx;
    (void)b;
    (void)db;
    (void)source;
    assert_string_equal(tag, "tester");
    if (action == SQLITE_READ && a && strcmp(a, "secret") == 0)
        return SQLITE_DENY;
    return SQLITE_OK;
}

/* A query bounded by MAX_OPS operations and MAX_CPU_NS of CPU time (0:
 * none). */
static struct reader_job *query_bounded(struct reader_lease *l, const char *sql,
                                        const struct reader_value *params, int n, long max_ops,
                                        int64_t max_cpu_ns, struct got *g)
{
    struct reader_query q = {sql, strlen(sql), params, n, "tester", deny_secret, NULL, 1000,
                             1 << 20, max_ops, max_cpu_ns};

    memset(g, 0, sizeof *g);
    return reader_query(l, &q, on_done, g);
}

static struct reader_job *query(struct reader_lease *l, const char *sql,
                                const struct reader_value *params, int n, struct got *g)
{
    return query_bounded(l, sql, params, n, 0, 0, g);
}

static void exec(struct t *t, const char *sql)
{
    assert_int_equal(store_exec(t->db.st, sql), 0);
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    char *err = NULL;

    if (!t || tmpdb_open(&t->db, "reader", 0) != 0)
        return -1;
    t->base = event_base_new();
    if (!t->base)
        return -1;
    if (store_exec(t->db.st, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, n INT,"
                             " x REAL, b BLOB);"
                             "CREATE TABLE secret (v TEXT);"
                             "INSERT INTO items (name, n, x, b) VALUES ('Ana', 1, 1.5, x'00ff'),"
                             " ('Bo', 2, NULL, NULL), (NULL, 3, 2.25, NULL)") != 0)
        return -1;
    if (reader_start(t->base, t->db.path, &t->r, &err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(err);
        return -1;
    }
    *state = t;
    return 0;
}

/* Until the workers let go of what was ended or cancelled (at most 10 s). */
static void settle(struct t *t, int *jobs, int *leases)
{
    for (int i = 0; i < 10000; i++) {
        struct timespec ms = {0, 1000000};

        reader_counts(t->r, jobs, leases);
        if (*jobs == 0 && *leases == 0)
            return;
        event_base_loop(t->base, EVLOOP_NONBLOCK);
        nanosleep(&ms, NULL);
    }
}

static int teardown(void **state)
{
    struct t *t = *state;
    int jobs, leases;

    settle(t, &jobs, &leases);
    reader_free(t->r);
    event_base_free(t->base);
    tmpdb_close(&t->db);
    free(t);
    /* Every test ends its leases and sees its jobs through. */
    return jobs == 0 && leases == 0 ? 0 : -1;
}

static void test_rows_and_values(void **state)
{
    struct t *t = *state;
    struct reader_lease *l = reader_lease_new(t->r);
    struct reader_value p[2] = {{.type = SQLITE_INTEGER, .i = 1},
                                {.type = SQLITE_TEXT, .p = "Bo", .len = 2}};
    struct got g;

    assert_non_null(l);
    assert_non_null(query(l, "SELECT name, n, x, b FROM items WHERE n >= ? ORDER BY id", p, 1,
                          &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_OK);
    assert_int_equal(g.ncols, 4);
    assert_int_equal(g.nrows, 3);
    assert_string_equal(g.first, "Ana");
    assert_int_equal(g.sum, 6);
    assert_non_null(query(l, "SELECT n FROM items WHERE name = ?2 AND ?1 = 1", p, 2, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_OK);
    assert_string_equal(g.first, "2");
    /* The parameter text was copied: the caller's may go. */
    assert_non_null(query(l, "SELECT x FROM items WHERE n = 3", NULL, 0, &g));
    wait_for(t, &g);
    assert_string_equal(g.first, "2.25");
    assert_non_null(query(l, "SELECT name FROM items WHERE n = 3", NULL, 0, &g));
    wait_for(t, &g);
    assert_string_equal(g.first, "NULL");
    reader_lease_end(l);
}

static void test_snapshot(void **state)
{
    struct t *t = *state;
    struct reader_lease *a = reader_lease_new(t->r), *b;
    struct got g;

    assert_non_null(query(a, "SELECT count(*) FROM items", NULL, 0, &g));
    wait_for(t, &g);
    assert_string_equal(g.first, "3");
    /* A write on the loop's connection, committed. */
    exec(t, "INSERT INTO items (name, n) VALUES ('Cy', 4)");
    assert_non_null(query(a, "SELECT count(*) FROM items", NULL, 0, &g));
    wait_for(t, &g);
    assert_string_equal(g.first, "3");       /* the lease's snapshot */
    b = reader_lease_new(t->r);
    assert_non_null(query(b, "SELECT count(*) FROM items", NULL, 0, &g));
    wait_for(t, &g);
    assert_string_equal(g.first, "4");       /* a new lease: a new snapshot */
    reader_lease_end(a);
    reader_lease_end(b);
    /* The writer is never held up by a lease: it committed above while
     * the snapshot was open, and again now. */
    exec(t, "DELETE FROM items WHERE name = 'Cy'");
}

static void test_errors(void **state)
{
    struct t *t = *state;
    struct reader_lease *l = reader_lease_new(t->r);
    struct reader_value p = {.type = SQLITE_INTEGER, .i = 1};
    struct got g;

    assert_non_null(query(l, "INSERT INTO items (n) VALUES (9)", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_WRITES);
    assert_non_null(query(l, "SELECT 1; SELECT 2", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_MISUSE);
    assert_non_null(strstr(g.message, "one statement at a time"));
    assert_non_null(query(l, "  ", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_MISUSE);
    assert_non_null(query(l, "SELECT ?, ?", &p, 1, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_MISUSE);
    assert_non_null(strstr(g.message, "takes 2 parameters, 1 given"));
    assert_non_null(query(l, "SELECT nope FROM items", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_SQL_ERROR);
    assert_non_null(strstr(g.message, "no such column"));
    assert_non_null(query(l, "SELECT v FROM secret", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_SQL_ERROR);
    assert_non_null(strstr(g.message, "access to secret.v is prohibited"));
    /* Over max_rows (1000). */
    assert_non_null(query(l, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                             " WHERE x < 1001) SELECT x FROM c", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_TOO_BIG);
    assert_non_null(strstr(g.message, "more than 1000 rows"));
    /* Over max_bytes (1 MiB). */
    assert_non_null(query(l, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                             " WHERE x < 600) SELECT zeroblob(4000) FROM c", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_TOO_BIG);
    /* A query that runs too long is stopped. */
    reader_set_timeout(t->r, 200);
    assert_non_null(query(l, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                             " WHERE x < 1000000000) SELECT count(*) FROM c", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_INTERRUPTED);
    /* The lease still works after all that. */
    assert_non_null(query(l, "SELECT count(*) FROM items", NULL, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_OK);
    reader_lease_end(l);
}

/* A query is stopped by its operations, counted whatever becomes of it,
 * and by its CPU time, as a plugin's call is on the loop (plugins_dbread.c
 * sets them from the call's budget). */
static void test_bounds(void **state)
{
    struct t *t = *state;
    struct reader_lease *l = reader_lease_new(t->r);
    const char *endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                          " WHERE x < 1000000000000) SELECT count(*) FROM c";
    struct got g;

    assert_non_null(query_bounded(l, endless, NULL, 0, 50000, 0, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_BUDGET);
    assert_true(g.ops >= 50000 && g.ops < 50000 + 2 * READER_PROGRESS_OPS);
    assert_non_null(strstr(g.message, "more than 50000 operations"));
    /* 5 ms of CPU time (the operations unbounded). */
    assert_non_null(query_bounded(l, endless, NULL, 0, 0, 5000000, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_CPU_TIME);
    assert_true(g.ops > 0);
    /* Within its bounds a query runs to its end, its operations counted. */
    assert_non_null(query_bounded(l, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                                     " SELECT x + 1 FROM c WHERE x < 100000)"
                                     " SELECT count(*) FROM c", NULL, 0, 10000000,
                                     2000000000, &g));
    wait_for(t, &g);
    assert_int_equal(g.status, READER_OK);
    assert_string_equal(g.first, "100000");
    assert_true(g.ops >= 100000);
    reader_lease_end(l);
}

#define ENDLESS "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c" \
                " WHERE x < 1000000000000) SELECT count(*) FROM c"

static void test_cancel_and_order(void **state)
{
    struct t *t = *state;
    struct reader_lease *busy[READER_WORKERS], *third = reader_lease_new(t->r), *fourth;
    struct got spin[READER_WORKERS], g3, g4;
    struct reader_job *jobs[READER_WORKERS], *j4;
    int njobs, nleases;

    /* Every worker runs an endless query on a lease of its own. */
    for (int i = 0; i < READER_WORKERS; i++) {
        busy[i] = reader_lease_new(t->r);
        jobs[i] = query(busy[i], ENDLESS, NULL, 0, &spin[i]);
        assert_non_null(jobs[i]);
    }
    /* A third lease waits; a fourth one, queued and cancelled, never runs. */
    assert_non_null(query(third, "SELECT 'third'", NULL, 0, &g3));
    fourth = reader_lease_new(t->r);
    j4 = query(fourth, "SELECT 'fourth'", NULL, 0, &g4);
    assert_non_null(j4);
    for (int i = 0; i < 20; i++)
        event_base_loop(t->base, EVLOOP_NONBLOCK);
    assert_int_equal(g3.done, 0);
    reader_cancel(j4);
    reader_lease_end(fourth);
    /* Cancelling a running query stops it; its callback is never called,
     * and its worker serves the lease that waited. */
    reader_cancel(jobs[0]);
    reader_lease_end(busy[0]);
    wait_for(t, &g3);
    assert_string_equal(g3.first, "third");
    assert_int_equal(spin[0].done, 0);
    assert_int_equal(g4.done, 0);
    reader_lease_end(third);
    for (int i = 1; i < READER_WORKERS; i++) {
        reader_cancel(jobs[i]);
        reader_lease_end(busy[i]);
    }
    /* The workers drop the cancelled queries. */
    settle(t, &njobs, &nleases);
    assert_int_equal(njobs, 0);
    assert_int_equal(nleases, 0);
    for (int i = 0; i < READER_WORKERS; i++)
        assert_int_equal(spin[i].done, 0);
}

static void work(void *arg, struct reader_result *res)
{
    int *n = arg;

    *n *= 7;
    res->status = READER_OK;
    snprintf(res->message, sizeof res->message, "worked");
}

static int freed;

static void count_free(void *arg)
{
    (void)arg;
    freed++;
}

static void test_work_and_free(void **state)
{
    struct t *t = *state;
    struct reader_lease *l = reader_lease_new(t->r), *l2 = reader_lease_new(t->r);
    struct got w, w2, spin, spin2;
    struct reader_job *j2;
    int n = 6, m = 1;

    /* A worker busy with a lease's endless query: work still runs, and
     * its argument is freed once it is delivered. */
    freed = 0;
    assert_non_null(query(l, ENDLESS, NULL, 0, &spin));
    memset(&w, 0, sizeof w);
    assert_non_null(reader_work(t->r, work, &n, count_free, on_done, &w));
    wait_for(t, &w);
    assert_int_equal(n, 42);
    assert_string_equal(w.message, "worked");
    assert_int_equal(freed, 1);
    /* Both workers busy: a work job cancelled before it ran is freed, its
     * callback unsaid. */
    assert_non_null(query(l2, ENDLESS, NULL, 0, &spin2));
    for (int i = 0; i < 10000 && reader_running(t->r) < 2; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(reader_running(t->r), 2);
    memset(&w2, 0, sizeof w2);
    j2 = reader_work(t->r, work, &m, count_free, on_done, &w2);
    assert_non_null(j2);
    reader_cancel(j2);
    assert_int_equal(freed, 2);
    assert_int_equal(w2.done, 0);
    assert_int_equal(m, 1);
    /* Freed with a query running and a lease held: no callback, no leak
     * (AddressSanitizer), the threads joined. */
    reader_free(t->r);
    assert_int_equal(spin.done, 0);
    assert_int_equal(spin2.done, 0);
    t->r = NULL;
    {
        char *err = NULL;
        assert_int_equal(reader_start(t->base, t->db.path, &t->r, &err), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_work_and_free, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
