/* store_group — group commit: several requests' writes in one transaction
 * and one durable COMMIT (store.h, "Group commit").
 *
 * With synchronous=FULL every COMMIT waits for fdatasync; one per request
 * capped enrollments at a few hundred a second, the disk's sync rate, with
 * the CPU half idle (docs/profiling.md, "Enrollment"). The requests that
 * arrive in one loop turn now share a transaction: each runs inside its
 * own SAVEPOINT, released when it succeeds and rolled back to when it
 * fails, so a failing request undoes only its own writes, exactly as its
 * own transaction did. The group is committed once, at the end of the
 * turn or as soon as anything else needs the connection (settle), and
 * only then are its requests answered (core/http/http_server.c). The first
 * request of a group runs without a savepoint (nothing else is in the
 * transaction to keep when it fails), so a request alone costs what it
 * did with a transaction of its own.
 *
 * Rules: the group is open only between two loop turns' ends; nothing
 * outside its requests runs SQL while it is open (store.c settles it
 * first); a lost transaction (SQLite rolls back the whole transaction on
 * SQLITE_FULL, SQLITE_IOERR…) makes the commit fail, so every request of
 * the group is answered as failed. One thread (the loop's).
 */
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

static int run(struct store *st, const char *sql)
{
    sqlite3 *db = store_raw_db(st);

    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        log_error("store", "%s: %s", sql, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

void store_group_on_flush(struct store *st, void (*flush)(void *arg), void *arg)
{
    struct store_group *g = store_group_of(st);

    g->flush = flush;
    g->arg = arg;
}

int store_group_open(struct store *st)
{
    return store_group_of(st)->open;
}

int store_group_size(struct store *st)
{
    return store_group_of(st)->n;
}

void store_group_hold(struct store *st, int on)
{
    store_group_of(st)->hold = on;
}

void store_group_settle(struct store *st)
{
    struct store_group *g = store_group_of(st);

    if (g->flush) {
        g->flush(g->arg);
        return;
    }
    /* Nobody to answer: commit it all the same, never leave it open. */
    if (store_group_commit(st) != 0)
        log_error("store", "a commit group could not be committed");
}

int store_group_enter(struct store *st)
{
    struct store_group *g = store_group_of(st);

    /* A group whose transaction SQLite already rolled back cannot take
     * more: its requests fail at its commit, before this one begins. */
    if (g->open && (g->lost || sqlite3_get_autocommit(store_raw_db(st)))) {
        g->lost = 1;
        store_group_settle(st);
    }
    g->wipe_before = store_wipe_flag(st);
    if (!g->open) {
        /* The first request needs no savepoint: undoing it is rolling the
         * transaction back. A savepoint makes SQLite copy every page it
         * then changes for the first time into a sub-journal, which a
         * big write (a Pix import) pays for on every page. */
        if (run(st, "BEGIN IMMEDIATE") != 0)
            return -1;
        g->open = 1;
        g->n = 1;
        g->lost = 0;
        g->savepoint = 0;
        return 0;
    }
    if (run(st, "SAVEPOINT relais_request") != 0)
        return -1;
    g->savepoint = 1;
    g->n++;
    return 0;
}

int store_group_leave(struct store *st, int keep)
{
    struct store_group *g = store_group_of(st);
    sqlite3 *db = store_raw_db(st);

    if (sqlite3_get_autocommit(db)) {
        g->lost = 1;
        return -1;
    }
    if (!g->savepoint) {
        /* The group's first and only request: kept as it is, or the
         * whole transaction goes, and the group with it. */
        if (keep)
            return 0;
        g->open = g->lost = 0;
        g->n = 0;
        return store_rollback(st) == 0 ? 0 : -1;
    }
    if (!keep) {
        /* The request's erasure, if any, goes with its writes. */
        store_wipe_flag_set(st, g->wipe_before);
        if (run(st, "ROLLBACK TO relais_request") != 0) {
            g->lost = 1;
            return -1;
        }
    }
    if (run(st, "RELEASE relais_request") != 0 || sqlite3_get_autocommit(db)) {
        g->lost = 1;
        return -1;
    }
    return 0;
}

int store_group_commit(struct store *st)
{
    struct store_group *g = store_group_of(st);
    int lost = g->lost;

    if (!g->open)
        return 0;
    g->open = g->hold = g->lost = 0;
    g->n = 0;
    if (lost || sqlite3_get_autocommit(store_raw_db(st))) {
        store_rollback(st);
        return -1;
    }
    /* store_commit rolls back when COMMIT fails, and empties the WAL after
     * an erasure. */
    return store_commit(st);
}
