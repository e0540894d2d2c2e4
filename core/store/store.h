/* store — the SQLite database: one connection, owned by the event-loop thread.
 *
 * Rules: WAL journal, foreign keys on, synchronous=FULL, secure_delete on
 * (deleted content is zeroed, whatever SQLite was built with), a short busy timeout
 * (for the CLI and backups running beside the server). Statements are
 * prepared once and cached by their SQL text; store_stmt() hands back a
 * statement ready to bind, and store_done() must be called when the caller is
 * finished with it (it resets and clears bindings, so no snapshot is held).
 * Writes go through BEGIN IMMEDIATE so a read-then-write never hits an
 * unfixable SQLITE_BUSY. Migrations are numbered per component ("core", or a
 * plugin's name) in the table schema_migrations, so plugins bring their own.
 *
 * Checkpoints: SQLite's automatic checkpoint is off on this connection. Every
 * store_open starts a checkpointer thread with a second connection of its
 * own (core/store/store_checkpoint.c); a WAL hook on this connection wakes it when
 * the WAL passes 1000 pages (then at every 125 more, and a second after its
 * last round if commits came), and it copies the WAL back with PASSIVE
 * checkpoints (TRUNCATE once the file passes 64 MiB). It is started for the
 * CLI and unit tests too: one code path, and a short-lived process pays only
 * a thread start. store_close joins it, then closes this connection last, so
 * SQLite's final checkpoint leaves a complete .db and no WAL on a clean stop.
 */
#ifndef RELAIS_STORE_H
#define RELAIS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct store;

struct store_migration {
    int version;        /* 1, 2, 3… strictly increasing */
    const char *sql;    /* one or more statements */
};

/* Opens (creating if needed) the database at PATH, creating its parent
 * directory when missing. On failure returns -1 and sets *err (malloc'd). */
int store_open(const char *path, struct store **out, char **err);
/* Finalizes every cached statement and closes. NULL is fine. */
void store_close(struct store *st);
sqlite3 *store_db(struct store *st);

/* What the checkpointer has done; read under its mutex, so any thread may
 * call this. All zero (running 0) when no checkpointer runs. */
struct store_ckpt_stats {
    int running;
    uint64_t checkpoints;       /* rounds run (PASSIVE, maybe + TRUNCATE) */
    uint64_t truncates;         /* rounds that also truncated the WAL */
    uint64_t busy;              /* rounds a lock kept from finishing */
    double seconds_total, seconds_max;
    int64_t wal_bytes;          /* -wal file size after the last round */
    int64_t wal_frames;         /* frames in the WAL at the last commit */
    int last_log_frames, last_done_frames;  /* of the last round */
    uint64_t wipes;             /* WAL emptied after an erasure */
};
void store_checkpoint_stats(struct store *st, struct store_ckpt_stats *out);
/* Changes the thresholds (tests): FRAMES > 0 WAL pages before a checkpoint
 * is asked for, TRUNCATE_BYTES >= 0 the WAL size past which it truncates.
 * A value out of range leaves that setting alone. */
void store_checkpoint_tune(struct store *st, int frames, int64_t truncate_bytes);

/* A cached prepared statement for SQL (the text is the cache key, so pass a
 * string literal). Returns NULL (and logs the SQLite message) if SQL does not
 * prepare: a programming error. */
sqlite3_stmt *store_stmt(struct store *st, const char *sql);
/* Resets and clears bindings; NULL is fine. */
void store_done(sqlite3_stmt *stmt);

/* Erasure: once the transaction open now commits, the WAL is emptied (a
 * TRUNCATE checkpoint, on the checkpointer's thread: the loop never waits
 * for it), so that no former page of an erased person stays in the files.
 * Every connection already runs with secure_delete, which zeroes what is
 * deleted in the database itself. A rollback cancels the request. */
void store_wipe_after_commit(struct store *st);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Return 0 or -1 (logged). */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);
/* 1 while a transaction is open. */
int store_in_tx(struct store *st);
/* Runs SQL without results (may hold several statements): 0 or -1. */
int store_exec(struct store *st, const char *sql);

/* Applies the migrations of COMPONENT above its recorded version, each in its
 * own transaction. Refuses (-1) a database whose recorded version is newer
 * than the highest step given. *err as for store_open. */
int store_migrate(struct store *st, const char *component,
                  const struct store_migration *steps, size_t n, char **err);
/* store_migrate, with RUN executing each step's SQL inside its transaction
 * (instead of running it as it is): 0, or -1 with *ERR (malloc'd) to roll
 * the step back. The plugin host judges and records what a plugin's step
 * creates this way. */
typedef int (*store_step_fn)(struct store *st, const struct store_migration *step, void *arg,
                             char **err);
int store_migrate_with(struct store *st, const char *component,
                       const struct store_migration *steps, size_t n, store_step_fn run,
                       void *arg, char **err);
/* The core schema (core/store/schema.c). */
int store_migrate_core(struct store *st, char **err);
extern const struct store_migration store_core_migrations[];
extern const size_t store_core_migrations_n;

/* Helpers for bound values: a NULL text binds SQL NULL. SQLITE_TRANSIENT. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Column text duplicated into a malloc'd string, or NULL for SQL NULL. */
char *store_col_strdup(sqlite3_stmt *s, int col);
/* Single-integer query helper: runs SQL with one int64 parameter (bound at
 * ?1 when the statement has one) and stores the first column of the first
 * row into *out. Returns 1 when a row was found, 0 for none, -1 on error. */
int store_int_query(struct store *st, const char *sql, int64_t arg, int64_t *out);

/* The registry of the domain's events (core/domain/domain_events.h) that code
 * writing in this store's transactions reports to. The store only carries
 * the pointer, set by whoever assembles the app (NULL: nobody listens), so
 * that any code holding the store reaches the observers without a global.
 * The registry must outlive its use through the store. */
struct domain_events;
void store_set_events(struct store *st, struct domain_events *ev);
struct domain_events *store_events(struct store *st);

#endif
