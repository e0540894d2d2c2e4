/* reader — long reads and CPU-bound work off the event loop, on worker
 * threads (docs/architecture.md, "Work off the loop").
 *
 * READER_WORKERS threads, each owning a read-only connection to the
 * database file of its own (WAL lets readers run beside the loop's writer
 * and never blocks it). A caller on the loop submits a job and gets its
 * result back on the loop, from an event the workers signal (an eventfd),
 * never on a worker thread.
 *
 * - A query job runs one SQL statement and returns its rows, copied out of
 *   SQLite (struct reader_result). The statement is compiled under the
 *   caller's authorizer (set on the worker's connection around prepare and
 *   step, since SQLite may recompile inside step) and kept in the worker's
 *   statement cache under (tag, SQL), so a tag must name one set of rights.
 *   A statement that would write is not run: READER_WRITES.
 * - A lease binds one worker, and the read transaction it opens at its
 *   lease's first query, to one caller until reader_lease_end: every query
 *   of a lease sees one snapshot of the database. A lease waits for a free
 *   worker; leases are served in order.
 * - A work job runs a function on any worker (between two queries of a
 *   lease, if it must): what it touches is the caller's to keep unshared.
 * - Bounds: a query is stopped after READER_TIMEOUT_MS (READER_INTERRUPTED),
 *   when its rows pass the caller's max_rows or max_bytes (READER_TOO_BIG),
 *   when it has run the caller's max_ops operations of SQLite's virtual
 *   machine (READER_BUDGET) or used max_cpu_ns of its thread's CPU time
 *   (READER_CPU_TIME); the operations it ran are in its result (ops),
 *   whatever became of it. No string or blob SQLite makes on a reader is
 *   longer than READER_MAX_LENGTH bytes.
 *
 * Ownership and threads: every function here is called on the loop thread.
 * Jobs and leases belong to the reader; a caller keeps its pointers only
 * until the job's callback ran, it cancelled the job, or it ended the
 * lease. The callback's result is valid during the callback only.
 * reader_cancel guarantees the callback is never called; a running query is
 * stopped at its next progress check, a running work function runs to its
 * end (its result is dropped). A lease is ended once, after its job is done
 * or cancelled. reader_free cancels whatever is left and joins the threads.
 */
#ifndef RELAIS_READER_H
#define RELAIS_READER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct reader;
struct reader_lease;
struct reader_job;

#define READER_WORKERS    2
#define READER_TIMEOUT_MS 30000
#define READER_PROGRESS_OPS 1000        /* VM operations between two checks */
#define READER_MAX_LENGTH (16 << 20)

enum reader_status {
    READER_OK,
    READER_SQL_ERROR,     /* SQLite's message (prepare or step) */
    READER_MISUSE,        /* two statements, none, a wrong number of parameters */
    READER_WRITES,        /* the statement would write: not run */
    READER_TOO_BIG,       /* more rows or bytes than the caller allows */
    READER_INTERRUPTED,   /* READER_TIMEOUT_MS passed */
    READER_NOMEM,
    READER_BUDGET,        /* max_ops operations ran */
    READER_CPU_TIME,      /* max_cpu_ns of CPU time used */
};

/* A value: a parameter or a result cell. TYPE is SQLITE_INTEGER,
 * SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL. */
struct reader_value {
    int type;
    int64_t i;
    double d;
    const char *p;       /* text or blob (not NUL-terminated) */
    size_t len;
};

struct reader_result {
    enum reader_status status;
    char message[256];              /* what went wrong, without data */
    int ncols;
    const char *const *names;       /* ncols column names */
    size_t nrows;
    const struct reader_value *cells;   /* nrows × ncols, row by row */
    long ops;                       /* VM operations run, in READER_PROGRESS_OPS steps */
};

/* The authorizer a query is compiled under: sqlite3_set_authorizer's,
 * with the query's CTX and a copy of its TAG (valid while it runs). */
typedef int (*reader_auth_fn)(void *ctx, const char *tag, int action, const char *a,
                              const char *b, const char *db, const char *source);

struct reader_query {
    const char *sql;
    size_t sql_len;
    const struct reader_value *params;  /* copied at submission */
    int nparams;
    const char *tag;                    /* whose rights: the cache's key with SQL */
    reader_auth_fn auth;                /* called on a worker thread */
    void *auth_ctx;                     /* must stay valid until reader_free */
    size_t max_rows, max_bytes;
    long max_ops;                       /* VM operations allowed; 0: no bound */
    int64_t max_cpu_ns;                 /* the thread's CPU time allowed; 0: none */
};

typedef void (*reader_done_fn)(const struct reader_result *res, void *arg);
/* Runs on a worker thread; fills RES (status, message) as it likes. */
typedef void (*reader_work_fn)(void *arg, struct reader_result *res);

/* Starts the workers on the database file PATH, delivering on BASE. 0, or
 * -1 with *err (malloc'd). */
int reader_start(struct event_base *base, const char *path, struct reader **out, char **err);
/* Cancels every job, ends every lease, joins the threads. NULL is fine. */
void reader_free(struct reader *r);

/* A new lease (bound to a worker at its first query); NULL without memory. */
struct reader_lease *reader_lease_new(struct reader *r);
/* Ends LEASE: its read transaction is closed and its worker freed. Its job,
 * if any, must have been cancelled or delivered. */
void reader_lease_end(struct reader_lease *lease);

/* Submits Q on LEASE (one job at a time per lease). DONE(result, ARG) is
 * called on the loop. NULL without memory (nothing submitted). */
struct reader_job *reader_query(struct reader_lease *lease, const struct reader_query *q,
                                reader_done_fn done, void *arg);
/* Submits FN(FN_ARG, result) to any worker. The reader owns FN_ARG from
 * here: FREE_ARG(FN_ARG) is called on the loop when the job goes (after
 * DONE, or unsaid when cancelled or freed with the reader), whether FN ran
 * or not. NULL without memory (FN_ARG is still the caller's). */
struct reader_job *reader_work(struct reader *r, reader_work_fn fn, void *fn_arg,
                               void (*free_arg)(void *), reader_done_fn done, void *arg);
void reader_cancel(struct reader_job *job);

/* Jobs waiting or running, and leases held or waiting (tests, metrics). */
void reader_counts(struct reader *r, int *jobs, int *leases);
/* Jobs running on a worker now (tests). */
int reader_running(struct reader *r);
/* How long a query may run from now on (tests): MS > 0. */
void reader_set_timeout(struct reader *r, int ms);

#endif
