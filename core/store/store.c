/* store — the SQLite database (see core/store/store.h). */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "store_internal.h"

/* The statement cache: a chained hash table keyed by the SQL text. Relais has
 * a few hundred distinct statements at most, so a fixed table is plenty. */
#define CACHE_BUCKETS 256

struct cached {
    sqlite3_stmt *stmt;
    unsigned long hash;
    struct cached *next;
};

struct store {
    sqlite3 *db;
    int wipe;                   /* empty the WAL once this transaction commits */
    struct store_ckpt *ckpt;    /* NULL when the thread could not start */
    struct cached *buckets[CACHE_BUCKETS];
    struct domain_events *events;   /* carried, not owned (store_set_events) */
};

/* FNV-1a: short, good enough spread for SQL texts. */
static unsigned long hash_sql(const char *s)
{
    unsigned long h = 2166136261UL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619UL;
    }
    return h;
}

/* Creates every missing directory above the file PATH (mkdir -p of its
 * parent). Directories are made private: the database holds personal data. */
static int make_parent_dirs(const char *path, char **err)
{
    char *dir = strdup(path);
    char *slash;
    int rc = -1;

    if (!dir) {
        *err = log_errf("out of memory");
        goto out;
    }
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) {   /* "relais.db" or "/relais.db" */
        rc = 0;
        goto out;
    }
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            *err = log_errf("%s: cannot create directory: %s", dir, strerror(errno));
            goto out;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    rc = 0;
out:
    free(dir);
    return rc;
}

/* Runs a PRAGMA that answers one row and returns its text in BUF. */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_ROW)
        goto out;
    const unsigned char *t = sqlite3_column_text(s, 0);
    snprintf(buf, n, "%s", t ? (const char *)t : "");
    rc = 0;
out:
    sqlite3_finalize(s);
    return rc;
}

int store_open(const char *path, struct store **out, char **err)
{
    struct store *st = NULL;
    char mode[32];
    int rc;

    *out = NULL;
    *err = NULL;
    if (!path || !*path) {
        *err = log_errf("no database path");
        goto fail;
    }
    if (make_parent_dirs(path, err) != 0)
        goto fail;
    st = calloc(1, sizeof *st);
    if (!st) {
        *err = log_errf("out of memory");
        goto fail;
    }
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        *err = log_errf("%s: cannot open database: %s", path,
                       st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    /* Defensive mode refuses writable_schema and other ways of corrupting
     * the file through SQL; functions in the schema are never trusted. */
    if (sqlite3_extended_result_codes(st->db, 1) != SQLITE_OK ||
        sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
        sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(st->db, 2000) != SQLITE_OK)
        goto sql_fail;
    if (pragma_text(st->db, "PRAGMA journal_mode=WAL", mode, sizeof mode) != 0)
        goto sql_fail;
    if (strcmp(mode, "wal") != 0) {
        *err = log_errf("%s: the database cannot use WAL journaling (journal_mode is %s)",
                       path, mode);
        goto fail;
    }
    if (sqlite3_exec(st->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto sql_fail;
    /* Set here rather than trusted to the build of SQLite: an erased
     * person's data is zeroed where it lay in the database. */
    if (pragma_text(st->db, "PRAGMA secure_delete=ON", mode, sizeof mode) != 0)
        goto sql_fail;
    if (strcmp(mode, "1") != 0) {
        *err = log_errf("%s: this SQLite cannot turn secure_delete on", path);
        goto fail;
    }
    if (pragma_text(st->db, "PRAGMA foreign_keys", mode, sizeof mode) != 0)
        goto sql_fail;
    if (strcmp(mode, "1") != 0) {
        *err = log_errf("%s: this SQLite cannot enforce foreign keys", path);
        goto fail;
    }
    /* Without the thread SQLite keeps checkpointing inside commits: slower
     * at times, never wrong, so the store still opens. */
    if (store_ckpt_start(st->db, path, &st->ckpt, err) != 0) {
        log_warn("store", "%s; checkpoints stay in the commits", *err ? *err : "checkpointer");
        free(*err);
        *err = NULL;
    }
    *out = st;
    return 0;
sql_fail:
    *err = log_errf("%s: %s", path, sqlite3_errmsg(st->db));
fail:
    if (!*err)
        *err = log_errf("%s: cannot open database", path ? path : "(null)");
    store_close(st);
    return -1;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    store_ckpt_stop(st->ckpt, st->db);
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        struct cached *c = st->buckets[i];
        while (c) {
            struct cached *next = c->next;
            sqlite3_finalize(c->stmt);
            free(c);
            c = next;
        }
    }
    if (st->db) {
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        if (sqlite3_close(st->db) != SQLITE_OK)
            log_error("store", "close: %s", sqlite3_errmsg(st->db));
    }
    free(st);
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

void store_checkpoint_stats(struct store *st, struct store_ckpt_stats *out)
{
    store_ckpt_stats(st->ckpt, out);
}

void store_checkpoint_tune(struct store *st, int frames, int64_t truncate_bytes)
{
    store_ckpt_tune(st->ckpt, frames, truncate_bytes);
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql)
{
    unsigned long h = hash_sql(sql);
    struct cached **slot = &st->buckets[h % CACHE_BUCKETS];
    struct cached *c;
    sqlite3_stmt *stmt = NULL;

    for (c = *slot; c; c = c->next) {
        /* A statement still stepping belongs to a caller up the stack (a
         * loop over rows that calls back into the same query): skip it and
         * hand out a second copy rather than reset the caller's rows. */
        if (c->hash == h && strcmp(sqlite3_sql(c->stmt), sql) == 0 &&
            !sqlite3_stmt_busy(c->stmt))
            return c->stmt;
    }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL)
            != SQLITE_OK || !stmt) {
        log_error("store", "cannot prepare statement: %s (%.80s)",
                  sqlite3_errmsg(st->db), sql);
        goto fail;
    }
    c = malloc(sizeof *c);
    if (!c) {
        log_error("store", "out of memory caching a statement");
        goto fail;
    }
    c->stmt = stmt;
    c->hash = h;
    c->next = *slot;
    *slot = c;
    return stmt;
fail:
    sqlite3_finalize(stmt);
    return NULL;
}

void store_done(sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    /* reset's return repeats the last step's error, already handled. */
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

int store_exec(struct store *st, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("store", "%s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_begin(struct store *st)
{
    return store_exec(st, "BEGIN IMMEDIATE");
}

/* A failed COMMIT (busy, disk full) may leave the transaction open; it is
 * rolled back so the connection is never left half-way and the caller can
 * treat -1 as "nothing was kept". */
int store_commit(struct store *st)
{
    int wipe = st->wipe;

    st->wipe = 0;
    if (store_exec(st, "COMMIT") == 0) {
        if (wipe)
            store_ckpt_wipe(st->ckpt);
        return 0;
    }
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

void store_wipe_after_commit(struct store *st)
{
    st->wipe = 1;
}

/* SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR…),
 * so no open transaction is already the wanted state. */
int store_rollback(struct store *st)
{
    st->wipe = 0;
    if (sqlite3_get_autocommit(st->db))
        return 0;
    return store_exec(st, "ROLLBACK");
}

int store_in_tx(struct store *st)
{
    return !sqlite3_get_autocommit(st->db);
}

/* The component's recorded version (0 when none). */
static int current_version(struct store *st, const char *component, int64_t *out)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = ?1");
    int rc = -1;

    if (!s)
        return -1;
    if (store_bind_text(s, 1, component) != 0)
        goto out;
    if (sqlite3_step(s) != SQLITE_ROW)
        goto out;
    *out = sqlite3_column_int64(s, 0);
    rc = 0;
out:
    store_done(s);
    return rc;
}

static int record_version(struct store *st, const char *component, int version)
{
    sqlite3_stmt *s = store_stmt(st,
        "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?1, ?2, ?3)");
    int rc = -1;

    if (!s)
        return -1;
    if (store_bind_text(s, 1, component) != 0 ||
        sqlite3_bind_int(s, 2, version) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, (int64_t)time(NULL)) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE)
        goto out;
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* The error for a database written by a newer Relais. */
static char *newer_err(const char *component, int64_t have, int highest)
{
    return log_errf("the database's %s schema is version %lld, newer than this "
                   "program's %d: upgrade Relais", component, (long long)have, highest);
}

int store_migrate(struct store *st, const char *component,
                  const struct store_migration *steps, size_t n, char **err)
{
    return store_migrate_with(st, component, steps, n, NULL, NULL, err);
}

int store_migrate_with(struct store *st, const char *component,
                       const struct store_migration *steps, size_t n, store_step_fn run,
                       void *arg, char **err)
{
    int64_t have = 0;
    int highest = 0;

    *err = NULL;
    for (size_t i = 0; i < n; i++) {
        if (steps[i].version <= highest || !steps[i].sql) {
            *err = log_errf("migrations of %s are not numbered 1, 2, 3…", component);
            goto fail;
        }
        highest = steps[i].version;
    }
    if (store_in_tx(st)) {
        *err = log_errf("cannot migrate %s inside a transaction", component);
        goto fail;
    }
    if (store_exec(st, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "  component TEXT NOT NULL,"
                       "  version INTEGER NOT NULL,"
                       "  applied_at INTEGER NOT NULL,"
                       "  PRIMARY KEY (component, version))") != 0)
        goto sql_fail;
    if (current_version(st, component, &have) != 0)
        goto sql_fail;
    if (have > highest) {
        *err = newer_err(component, have, highest);
        goto fail;
    }

    for (size_t i = 0; i < n; i++) {
        char *msg = NULL;

        if (steps[i].version <= have)
            continue;
        if (store_begin(st) != 0)
            goto sql_fail;
        /* Read again inside the write transaction: another process (the CLI
         * beside the server) may have migrated since. */
        if (current_version(st, component, &have) != 0)
            goto sql_fail_tx;
        if (have > highest) {
            store_rollback(st);
            *err = newer_err(component, have, highest);
            goto fail;
        }
        if (steps[i].version <= have) {
            if (store_rollback(st) != 0)
                goto sql_fail;
            continue;
        }
        if (run) {
            char *why = NULL;

            if (run(st, &steps[i], arg, &why) != 0) {
                *err = log_errf("migration %s %d failed: %s", component, steps[i].version,
                               why ? why : "out of memory");
                free(why);
                store_rollback(st);
                goto fail;
            }
        } else if (sqlite3_exec(st->db, steps[i].sql, NULL, NULL, &msg) != SQLITE_OK) {
            *err = log_errf("migration %s %d failed: %s", component, steps[i].version,
                           msg ? msg : sqlite3_errmsg(st->db));
            sqlite3_free(msg);
            store_rollback(st);
            goto fail;
        }
        if (record_version(st, component, steps[i].version) != 0)
            goto sql_fail_tx;
        if (store_commit(st) != 0)
            goto sql_fail;
        have = steps[i].version;
        log_info("store", "migrated %s to version %d", component, steps[i].version);
    }
    return 0;
sql_fail_tx:
    *err = log_errf("migrating %s: %s", component, sqlite3_errmsg(st->db));
    store_rollback(st);
    goto fail;
sql_fail:
    *err = log_errf("migrating %s: %s", component, sqlite3_errmsg(st->db));
fail:
    if (!*err)
        *err = log_errf("migrating %s failed", component);
    return -1;
}

int store_migrate_core(struct store *st, char **err)
{
    return store_migrate(st, "core", store_core_migrations, store_core_migrations_n, err);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    int rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
    return rc == SQLITE_OK ? 0 : -1;
}

char *store_col_strdup(sqlite3_stmt *s, int col)
{
    const unsigned char *t;
    char *copy;
    int len;

    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return NULL;
    t = sqlite3_column_text(s, col);
    len = sqlite3_column_bytes(s, col);
    if (!t)
        return NULL;
    copy = malloc((size_t)len + 1);
    if (!copy) {
        log_error("store", "out of memory copying a column");
        return NULL;
    }
    memcpy(copy, t, (size_t)len);
    copy[len] = '\0';
    return copy;
}

int store_int_query(struct store *st, const char *sql, int64_t arg, int64_t *out)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc = -1, step;

    if (!s)
        return -1;
    if (sqlite3_bind_parameter_count(s) >= 1 &&
        sqlite3_bind_int64(s, 1, arg) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = 1;
    } else if (step == SQLITE_DONE) {
        rc = 0;
    } else {
        log_error("store", "query failed: %s", sqlite3_errmsg(st->db));
    }
out:
    store_done(s);
    return rc;
}

void store_set_events(struct store *st, struct domain_events *ev)
{
    st->events = ev;
}

struct domain_events *store_events(struct store *st)
{
    return st ? st->events : NULL;
}
