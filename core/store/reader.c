/* reader — worker threads for long reads and CPU-bound work (see
 * core/store/reader.h).
 *
 * One mutex guards the queues and the jobs' and leases' shared fields; one
 * condition variable wakes the workers. Queues:
 * - waiting: leases with a job to run and no worker yet, in order;
 * - free_jobs: work jobs, taken by any worker;
 * - a bound lease's `pending` job, taken by its own worker only;
 * - done: jobs run (or stopped), drained on the loop by an eventfd event.
 * A worker holding a lease serves that lease's job first, then free jobs;
 * a worker without one takes the next waiting lease. A lease's worker
 * opens a read transaction before the lease's first query and ends it when
 * the lease ends, so its queries share one snapshot.
 *
 * Who frees what: a job is freed on the loop, by reader_cancel when it has
 * not started, else by the drain (delivered, or dropped when cancelled). A
 * lease is freed by its worker once it is ended and idle, or by
 * reader_lease_end when no worker ever took it. The worker's statements
 * and its connection are the worker's; the loop never touches them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "log.h"
#include "reader.h"

#define STMT_CACHE   32
#define PROGRESS_OPS READER_PROGRESS_OPS

struct reader_lease {
    struct reader *r;
    struct worker *w;             /* bound worker, or NULL */
    struct reader_job *pending;   /* its next job, not yet taken */
    int ended;
    int in_tx;                    /* worker side: BEGIN done */
    struct reader_lease *next;    /* in r->waiting */
};

struct reader_job {
    struct reader *r;
    struct reader_lease *lease;   /* query jobs */
    reader_work_fn fn;            /* work jobs */
    void *fn_arg;
    void (*free_arg)(void *);
    reader_done_fn done;
    void *arg;
    int cancelled;                /* under mu; read without it by the progress check */
    int running;
    int queued;                   /* in pending, waiting (via its lease) or free_jobs */
    /* the query, copied */
    char *sql;
    size_t sql_len;
    char *tag;
    struct reader_value *params;
    int nparams;
    reader_auth_fn auth;
    void *auth_ctx;
    size_t max_rows, max_bytes;
    long max_ops;
    int64_t max_cpu_ns, cpu_start;
    enum reader_status stopped;   /* why progress() stopped it (worker side) */
    struct timespec deadline;
    /* the result: arrays the worker grows, the text they point into */
    struct reader_result res;
    char **names;
    struct reader_value *cells;
    size_t ncells, cap;
    char *data;
    size_t data_len, data_cap;
    struct reader_job *next;
};

struct cached {
    char *tag, *sql;
    size_t len;
    sqlite3_stmt *stmt;
    unsigned long used;
};

struct worker {
    struct reader *r;
    pthread_t thread;
    int started;
    sqlite3 *db;
    struct reader_lease *lease;
    struct reader_job *job;       /* running now (for its progress check) */
    reader_auth_fn auth;          /* the running query's, for the trampoline */
    void *auth_ctx;
    const char *auth_tag;
    struct cached cache[STMT_CACHE];
    unsigned long clock;
};

struct reader {
    struct event_base *base;
    int efd;
    struct event *ev;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    struct worker w[READER_WORKERS];
    struct reader_lease *waiting, *waiting_tail;
    struct reader_job *free_jobs, *free_tail;
    struct reader_job *done, *done_tail;
    int njobs, nleases;           /* alive (tests) */
    int timeout_ms;               /* under mu */
};

/* --- jobs ------------------------------------------------------------------------ */

static void job_free(struct reader_job *j)
{
    if (!j)
        return;
    if (j->free_arg)
        j->free_arg(j->fn_arg);
    free(j->sql);
    free(j->tag);
    if (j->params)
        for (int i = 0; i < j->nparams; i++)
            free((char *)j->params[i].p);
    free(j->params);
    for (int i = 0; j->names && i < j->res.ncols; i++)
        free(j->names[i]);
    free(j->names);
    free(j->cells);
    free(j->data);
    free(j);
}

static void push_done(struct reader *r, struct reader_job *j)
{
    uint64_t one = 1;
    ssize_t n;

    j->next = NULL;
    if (r->done_tail)
        r->done_tail->next = j;
    else
        r->done = j;
    r->done_tail = j;
    do
        n = write(r->efd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

/* --- the worker's side: statements ------------------------------------------------ */

static int trampoline(void *ud, int action, const char *a, const char *b, const char *db,
                      const char *source)
{
    struct worker *w = ud;

    return w->auth ? w->auth(w->auth_ctx, w->auth_tag, action, a, b, db, source) : SQLITE_OK;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Every PROGRESS_OPS operations of a running query: its operations are
 * counted, and it is stopped (a nonzero answer) when it is cancelled, past
 * its deadline, its operations or its CPU time. */
static int progress(void *ud)
{
    struct worker *w = ud;
    struct reader_job *j = w->job;
    struct timespec now;

    if (!j)
        return 0;
    j->res.ops += PROGRESS_OPS;
    if (__atomic_load_n(&j->cancelled, __ATOMIC_RELAXED))
        return 1;
    if (j->max_ops && j->res.ops >= j->max_ops) {
        j->stopped = READER_BUDGET;
        return 1;
    }
    if (j->max_cpu_ns && thread_cpu_ns() - j->cpu_start >= j->max_cpu_ns) {
        j->stopped = READER_CPU_TIME;
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > j->deadline.tv_sec
        || (now.tv_sec == j->deadline.tv_sec && now.tv_nsec >= j->deadline.tv_nsec);
}

static void fail(struct reader_job *j, enum reader_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct reader_job *j, enum reader_status st, const char *fmt, ...)
{
    va_list ap;

    j->res.status = st;
    va_start(ap, fmt);
    vsnprintf(j->res.message, sizeof j->res.message, fmt, ap);
    va_end(ap);
}

static struct cached *cache_find(struct worker *w, const char *tag, const char *sql, size_t len)
{
    for (int i = 0; i < STMT_CACHE; i++) {
        struct cached *c = &w->cache[i];

        if (c->sql && c->len == len && strcmp(c->tag, tag) == 0 && memcmp(c->sql, sql, len) == 0) {
            c->used = ++w->clock;
            return c;
        }
    }
    return NULL;
}

static void cache_clear(struct cached *c)
{
    sqlite3_finalize(c->stmt);
    free(c->tag);
    free(c->sql);
    memset(c, 0, sizeof *c);
}

/* Keeps STMT; 0, or -1 (the caller finalizes it) without memory. */
static int cache_add(struct worker *w, const char *tag, const char *sql, size_t len,
                     sqlite3_stmt *stmt)
{
    struct cached *victim = &w->cache[0];
    char *t = strdup(tag), *s = malloc(len ? len : 1);

    if (!t || !s) {
        free(t);
        free(s);
        return -1;
    }
    for (int i = 0; i < STMT_CACHE; i++) {
        if (!w->cache[i].sql) {
            victim = &w->cache[i];
            break;
        }
        if (w->cache[i].used < victim->used)
            victim = &w->cache[i];
    }
    cache_clear(victim);
    memcpy(s, sql, len);
    *victim = (struct cached){t, s, len, stmt, ++w->clock};
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Copies the current row of S into J; -1 when a bound is passed or memory
 * is short (J's status says which). */
static int take_row(struct reader_job *j, sqlite3_stmt *s)
{
    int n = j->res.ncols;

    if (j->res.nrows == j->max_rows) {
        fail(j, READER_TOO_BIG, "more than %zu rows (add a LIMIT)", j->max_rows);
        return -1;
    }
    if (grow((void **)&j->cells, &j->cap, j->ncells + (size_t)n, sizeof *j->cells) != 0)
        goto nomem;
    for (int i = 0; i < n; i++) {
        struct reader_value *v = &j->cells[j->ncells + (size_t)i];
        const void *src = NULL;

        memset(v, 0, sizeof *v);
        v->type = sqlite3_column_type(s, i);
        switch (v->type) {
        case SQLITE_INTEGER:
            v->i = sqlite3_column_int64(s, i);
            break;
        case SQLITE_FLOAT:
            v->d = sqlite3_column_double(s, i);
            break;
        case SQLITE_TEXT:
            src = sqlite3_column_text(s, i);
            v->len = (size_t)sqlite3_column_bytes(s, i);
            break;
        case SQLITE_BLOB:
            src = sqlite3_column_blob(s, i);
            v->len = (size_t)sqlite3_column_bytes(s, i);
            break;
        default:
            v->type = SQLITE_NULL;
        }
        if (j->data_len + v->len + 16 * (size_t)n > j->max_bytes) {
            fail(j, READER_TOO_BIG, "the rows are larger than %zu bytes", j->max_bytes);
            return -1;
        }
        if (v->len) {
            if (!src || grow((void **)&j->data, &j->data_cap, j->data_len + v->len, 1) != 0)
                goto nomem;
            memcpy(j->data + j->data_len, src, v->len);
        }
        /* An offset for now: the data may still move. */
        v->i = v->type == SQLITE_TEXT || v->type == SQLITE_BLOB ? (int64_t)j->data_len : v->i;
        j->data_len += v->len;
    }
    j->ncells += (size_t)n;
    j->res.nrows++;
    return 0;
nomem:
    fail(j, READER_NOMEM, "out of memory");
    return -1;
}

static int bind_params(struct reader_job *j, sqlite3_stmt *s)
{
    int want = sqlite3_bind_parameter_count(s), rc = SQLITE_OK;

    if (want != j->nparams) {
        fail(j, READER_MISUSE, "the statement takes %d parameter%s, %d given", want,
             want == 1 ? "" : "s", j->nparams);
        return -1;
    }
    for (int i = 0; i < j->nparams && rc == SQLITE_OK; i++) {
        const struct reader_value *v = &j->params[i];

        switch (v->type) {
        case SQLITE_INTEGER:
            rc = sqlite3_bind_int64(s, i + 1, v->i);
            break;
        case SQLITE_FLOAT:
            rc = sqlite3_bind_double(s, i + 1, v->d);
            break;
        case SQLITE_TEXT:
            rc = sqlite3_bind_text(s, i + 1, v->p ? v->p : "", (int)v->len, SQLITE_STATIC);
            break;
        case SQLITE_BLOB:
            rc = sqlite3_bind_blob(s, i + 1, v->p ? v->p : "", (int)v->len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(s, i + 1);
        }
    }
    if (rc != SQLITE_OK) {
        fail(j, READER_MISUSE, "cannot bind the parameters");
        return -1;
    }
    return 0;
}

static void run_query(struct worker *w, struct reader_job *j, int timeout)
{
    struct reader_lease *l = j->lease;
    struct cached *c = NULL;
    sqlite3_stmt *s = NULL;
    const char *tail = NULL;
    int rc, n;

    clock_gettime(CLOCK_MONOTONIC, &j->deadline);
    j->deadline.tv_sec += timeout / 1000;
    j->deadline.tv_nsec += (long)(timeout % 1000) * 1000000L;
    if (j->deadline.tv_nsec >= 1000000000L) {
        j->deadline.tv_sec++;
        j->deadline.tv_nsec -= 1000000000L;
    }
    j->cpu_start = thread_cpu_ns();
    j->stopped = READER_OK;
    if (!l->in_tx) {
        /* Deferred: the snapshot is taken at the first read. The reader's
         * own statement, under no caller's authorizer. */
        if (sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
            fail(j, READER_SQL_ERROR, "%s", sqlite3_errmsg(w->db));
            goto out;
        }
        l->in_tx = 1;
    }
    w->auth = j->auth;
    w->auth_ctx = j->auth_ctx;
    w->auth_tag = j->tag;
    c = cache_find(w, j->tag, j->sql, j->sql_len);
    if (c) {
        s = c->stmt;
    } else {
        rc = sqlite3_prepare_v2(w->db, j->sql, (int)j->sql_len, &s, &tail);
        if (rc != SQLITE_OK) {
            fail(j, rc == SQLITE_INTERRUPT ? READER_INTERRUPTED : READER_SQL_ERROR, "%s",
                 sqlite3_errmsg(w->db));
            goto out;
        }
        if (!s) {
            fail(j, READER_MISUSE, "no SQL statement given");
            goto out;
        }
        for (; tail && tail < j->sql + j->sql_len; tail++)
            if (!strchr(" \t\r\n;", *tail)) {
                fail(j, READER_MISUSE, "one statement at a time");
                goto out;
            }
        if (!sqlite3_stmt_readonly(s)) {
            fail(j, READER_WRITES, "the statement writes");
            goto out;
        }
        if (cache_add(w, j->tag, j->sql, j->sql_len, s) == 0)
            c = cache_find(w, j->tag, j->sql, j->sql_len);
    }
    if (bind_params(j, s) != 0)
        goto out;
    n = sqlite3_column_count(s);
    j->names = calloc((size_t)(n ? n : 1), sizeof *j->names);
    if (!j->names) {
        fail(j, READER_NOMEM, "out of memory");
        goto out;
    }
    j->res.ncols = n;
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(s, i);

        if (!name || !(j->names[i] = strdup(name))) {
            fail(j, READER_NOMEM, "out of memory");
            goto out;
        }
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (take_row(j, s) != 0)
            goto out;
    if (rc == SQLITE_INTERRUPT && j->stopped == READER_BUDGET)
        fail(j, READER_BUDGET, "interrupted: more than %ld operations", j->max_ops);
    else if (rc == SQLITE_INTERRUPT && j->stopped == READER_CPU_TIME)
        fail(j, READER_CPU_TIME, "interrupted: more than %lld ms of CPU time",
             (long long)(j->max_cpu_ns / 1000000));
    else if (rc == SQLITE_INTERRUPT)
        fail(j, READER_INTERRUPTED, "interrupted: the query ran longer than %d ms", timeout);
    else if (rc != SQLITE_DONE)
        fail(j, READER_SQL_ERROR, "%s", sqlite3_errmsg(w->db));
out:
    if (s && c) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    } else {
        sqlite3_finalize(s);
    }
    w->auth = NULL;
    w->auth_ctx = NULL;
    w->auth_tag = NULL;
    /* Text and blobs point into the data now that it moves no more. */
    for (size_t i = 0; i < j->ncells; i++)
        if (j->cells[i].type == SQLITE_TEXT || j->cells[i].type == SQLITE_BLOB) {
            j->cells[i].p = j->data + j->cells[i].i;
            j->cells[i].i = 0;
        }
    j->res.names = (const char *const *)j->names;
    j->res.cells = j->cells;
}

static void end_tx(struct worker *w, struct reader_lease *l)
{
    if (l->in_tx && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_warn("reader", "ending a read: %s", sqlite3_errmsg(w->db));
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    }
    l->in_tx = 0;
}

/* --- the worker's loop ------------------------------------------------------------- */

static struct reader_job *next_job(struct reader *r, struct worker *w)
{
    struct reader_job *j;

    if (w->lease && w->lease->pending) {
        j = w->lease->pending;
        w->lease->pending = NULL;
        return j;
    }
    if ((j = r->free_jobs)) {
        r->free_jobs = j->next;
        if (!r->free_jobs)
            r->free_tail = NULL;
        return j;
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct reader *r = w->r;

    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct reader_job *j;
        struct timespec t0, t1;
        int timeout;

        if (w->lease && w->lease->ended && !w->lease->pending) {
            struct reader_lease *l = w->lease;

            w->lease = NULL;
            pthread_mutex_unlock(&r->mu);
            end_tx(w, l);
            free(l);
            pthread_mutex_lock(&r->mu);
            r->nleases--;
            continue;
        }
        j = next_job(r, w);
        if (!j && !w->lease && r->waiting) {
            w->lease = r->waiting;
            r->waiting = w->lease->next;
            if (!r->waiting)
                r->waiting_tail = NULL;
            w->lease->next = NULL;
            w->lease->w = w;
            continue;
        }
        if (!j) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        j->queued = 0;
        j->running = 1;
        w->job = j;
        timeout = r->timeout_ms;
        pthread_mutex_unlock(&r->mu);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (j->fn)
            j->fn(j->fn_arg, &j->res);
        else
            run_query(w, j, timeout);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* What profiling a report needs (log_level = "debug"): the time of
         * each job, never its SQL's values. */
        log_debug("reader", "%s %s: %.2f ms, %zu rows", j->fn ? "work" : "query",
                  j->fn ? "" : j->tag, (double)(t1.tv_sec - t0.tv_sec) * 1e3
                  + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, j->res.nrows);
        pthread_mutex_lock(&r->mu);
        w->job = NULL;
        j->running = 0;
        push_done(r, j);
    }
    pthread_mutex_unlock(&r->mu);
    if (w->lease)
        end_tx(w, w->lease);
    return NULL;
}

/* --- the loop's side ---------------------------------------------------------------- */

static void drain(evutil_socket_t fd, short what, void *arg)
{
    struct reader *r = arg;
    struct reader_job *list, *j;
    uint64_t n;

    (void)what;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_warn("reader", "eventfd: %s", strerror(errno));
    pthread_mutex_lock(&r->mu);
    list = r->done;
    r->done = r->done_tail = NULL;
    pthread_mutex_unlock(&r->mu);
    while ((j = list)) {
        int cancelled;

        list = j->next;
        /* A callback before this one may have cancelled it. */
        pthread_mutex_lock(&r->mu);
        cancelled = j->cancelled;
        j->cancelled = 1;       /* from here, reader_cancel only frees nothing */
        pthread_mutex_unlock(&r->mu);
        if (!cancelled)
            j->done(&j->res, j->arg);
        r->njobs--;
        job_free(j);
    }
}

static struct reader_job *job_new(struct reader *r, reader_done_fn done, void *arg)
{
    struct reader_job *j = calloc(1, sizeof *j);

    if (!j)
        return NULL;
    j->r = r;
    j->done = done;
    j->arg = arg;
    j->max_rows = (size_t)-1;
    j->max_bytes = (size_t)-1;
    return j;
}

struct reader_job *reader_query(struct reader_lease *l, const struct reader_query *q,
                                reader_done_fn done, void *arg)
{
    struct reader *r = l->r;
    struct reader_job *j = job_new(r, done, arg);

    if (!j)
        return NULL;
    j->lease = l;
    j->sql = malloc(q->sql_len ? q->sql_len : 1);
    j->tag = strdup(q->tag ? q->tag : "");
    j->params = calloc((size_t)(q->nparams ? q->nparams : 1), sizeof *j->params);
    if (!j->sql || !j->tag || !j->params)
        goto fail;
    memcpy(j->sql, q->sql, q->sql_len);
    j->sql_len = q->sql_len;
    for (int i = 0; i < q->nparams; i++) {
        j->params[i] = q->params[i];
        j->params[i].p = NULL;
        if (q->params[i].type == SQLITE_TEXT || q->params[i].type == SQLITE_BLOB) {
            char *copy = malloc(q->params[i].len ? q->params[i].len : 1);

            if (!copy)
                goto fail;
            memcpy(copy, q->params[i].p, q->params[i].len);
            j->params[i].p = copy;
        }
        j->nparams = i + 1;
    }
    j->nparams = q->nparams;
    j->auth = q->auth;
    j->auth_ctx = q->auth_ctx;
    j->max_rows = q->max_rows;
    j->max_bytes = q->max_bytes;
    j->max_ops = q->max_ops;
    j->max_cpu_ns = q->max_cpu_ns;
    pthread_mutex_lock(&r->mu);
    j->queued = 1;
    l->pending = j;
    if (!l->w) {
        l->next = NULL;
        if (r->waiting_tail)
            r->waiting_tail->next = l;
        else
            r->waiting = l;
        r->waiting_tail = l;
    }
    r->njobs++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return j;
fail:
    job_free(j);
    return NULL;
}

struct reader_job *reader_work(struct reader *r, reader_work_fn fn, void *fn_arg,
                               void (*free_arg)(void *), reader_done_fn done, void *arg)
{
    struct reader_job *j = job_new(r, done, arg);

    if (!j)
        return NULL;
    j->fn = fn;
    j->fn_arg = fn_arg;
    j->free_arg = free_arg;
    pthread_mutex_lock(&r->mu);
    j->queued = 1;
    if (r->free_tail)
        r->free_tail->next = j;
    else
        r->free_jobs = j;
    r->free_tail = j;
    r->njobs++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return j;
}

/* Takes L out of the waiting list (under mu). */
static void unwait(struct reader *r, struct reader_lease *l)
{
    struct reader_lease *prev = NULL;

    for (struct reader_lease *x = r->waiting; x; prev = x, x = x->next) {
        if (x != l)
            continue;
        if (prev)
            prev->next = x->next;
        else
            r->waiting = x->next;
        if (r->waiting_tail == x)
            r->waiting_tail = prev;
        x->next = NULL;
        return;
    }
}

void reader_cancel(struct reader_job *j)
{
    struct reader *r;
    int unqueued = 0;

    if (!j)
        return;
    r = j->r;
    pthread_mutex_lock(&r->mu);
    if (j->queued) {
        /* Not started: it leaves its queue and is freed now. */
        if (j->lease) {
            j->lease->pending = NULL;
            if (!j->lease->w)
                unwait(r, j->lease);
        } else {
            struct reader_job *prev = NULL;

            for (struct reader_job *x = r->free_jobs; x; prev = x, x = x->next)
                if (x == j) {
                    if (prev)
                        prev->next = x->next;
                    else
                        r->free_jobs = x->next;
                    if (r->free_tail == x)
                        r->free_tail = prev;
                    break;
                }
        }
        j->queued = 0;
        unqueued = 1;
        r->njobs--;
    } else {
        /* Running, or done and not yet drained: the drain frees it. */
        __atomic_store_n(&j->cancelled, 1, __ATOMIC_RELAXED);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (unqueued)
        job_free(j);
}

struct reader_lease *reader_lease_new(struct reader *r)
{
    struct reader_lease *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    l->r = r;
    pthread_mutex_lock(&r->mu);
    r->nleases++;
    pthread_mutex_unlock(&r->mu);
    return l;
}

void reader_lease_end(struct reader_lease *l)
{
    struct reader *r;
    int mine = 0;

    if (!l)
        return;
    r = l->r;
    pthread_mutex_lock(&r->mu);
    l->ended = 1;
    if (!l->w) {
        /* No worker took it: it is the loop's to free. A job still queued
         * on it is dropped. */
        unwait(r, l);
        if (l->pending) {
            l->pending->queued = 0;
            l->pending->lease = NULL;
            job_free(l->pending);
            l->pending = NULL;
            r->njobs--;
        }
        mine = 1;
        r->nleases--;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (mine)
        free(l);
}

int reader_running(struct reader *r)
{
    int n = 0;

    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < READER_WORKERS; i++)
        n += r->w[i].job != NULL;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void reader_set_timeout(struct reader *r, int ms)
{
    pthread_mutex_lock(&r->mu);
    if (ms > 0)
        r->timeout_ms = ms;
    pthread_mutex_unlock(&r->mu);
}

void reader_counts(struct reader *r, int *jobs, int *leases)
{
    pthread_mutex_lock(&r->mu);
    *jobs = r->njobs;
    *leases = r->nleases;
    pthread_mutex_unlock(&r->mu);
}

/* --- start and stop ------------------------------------------------------------------- */

static int open_db(struct worker *w, const char *path, char **err)
{
    int rc = sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(w->db, 5000);
    /* query_only: the authorizer already refuses writes, and a read-only
     * connection could not make them; this says it a third time. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(w->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_set_authorizer(w->db, trampoline, w);
    /* randomblob(1e9) would be a gigabyte nobody's memory cap sees. */
    if (rc == SQLITE_OK)
        sqlite3_limit(w->db, SQLITE_LIMIT_LENGTH, READER_MAX_LENGTH);
    if (rc != SQLITE_OK) {
        if (asprintf(err, "%s: reader: %s", path,
                     w->db ? sqlite3_errmsg(w->db) : sqlite3_errstr(rc)) < 0)
            *err = NULL;
        return -1;
    }
    sqlite3_progress_handler(w->db, PROGRESS_OPS, progress, w);
    return 0;
}

int reader_start(struct event_base *base, const char *path, struct reader **out, char **err)
{
    struct reader *r = calloc(1, sizeof *r);
    int sync_ok = 0;

    *out = NULL;
    *err = NULL;
    if (!r)
        goto fail;
    r->efd = -1;
    r->base = base;
    r->timeout_ms = READER_TIMEOUT_MS;
    if (!sqlite3_threadsafe()) {
        *err = strdup("reader: SQLite is built without thread support");
        goto fail;
    }
    if (pthread_mutex_init(&r->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&r->cv, NULL) != 0) {
        pthread_mutex_destroy(&r->mu);
        goto fail;
    }
    sync_ok = 1;
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0)
        goto fail;
    r->ev = event_new(base, r->efd, EV_READ | EV_PERSIST, drain, r);
    if (!r->ev || event_add(r->ev, NULL) != 0)
        goto fail;
    for (int i = 0; i < READER_WORKERS; i++) {
        struct worker *w = &r->w[i];

        w->r = r;
        if (open_db(w, path, err) != 0)
            goto fail;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            goto fail;
        w->started = 1;
    }
    *out = r;
    return 0;
fail:
    if (!*err && asprintf(err, "%s: reader: cannot start", path) < 0)
        *err = NULL;
    if (r && sync_ok)
        reader_free(r);
    else if (r)
        free(r);
    return -1;
}

void reader_free(struct reader *r)
{
    struct reader_job *j;
    struct reader_lease *l;

    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    for (int i = 0; i < READER_WORKERS; i++)
        if (r->w[i].job)
            __atomic_store_n(&r->w[i].job->cancelled, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < READER_WORKERS; i++)
        if (r->w[i].started)
            pthread_join(r->w[i].thread, NULL);
    /* The threads are gone: what is left is freed here, callbacks unsaid. */
    while ((l = r->waiting)) {
        r->waiting = l->next;
        job_free(l->pending);
        free(l);
    }
    for (int i = 0; i < READER_WORKERS; i++) {
        struct worker *w = &r->w[i];

        if (w->lease) {
            job_free(w->lease->pending);
            free(w->lease);
        }
        for (int k = 0; k < STMT_CACHE; k++)
            cache_clear(&w->cache[k]);
        if (w->db && sqlite3_close(w->db) != SQLITE_OK)
            log_error("reader", "close: %s", sqlite3_errmsg(w->db));
    }
    while ((j = r->free_jobs)) {
        r->free_jobs = j->next;
        job_free(j);
    }
    while ((j = r->done)) {
        r->done = j->next;
        job_free(j);
    }
    if (r->ev)
        event_free(r->ev);
    if (r->efd >= 0)
        close(r->efd);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
