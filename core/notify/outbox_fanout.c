/* outbox_fanout — a session change told to everyone booked, without
 * holding the loop for as long as that takes.
 *
 * A change concerning N people makes about 3·N rows (the change on each
 * channel, the reminders voided and made again): for a workshop of 3,000
 * that was a second and more inside the PATCH's transaction, a second
 * during which the server answered nobody. So the hook, inside the change's
 * transaction, only writes what it owes now and a durable fan-out job
 * (notification_fanouts): the session, the change, what to make, and the
 * last enrollment id booked at that moment. The dispatcher then expands the
 * job a batch of enrollments at a time, each batch one transaction that
 * makes the rows and advances the job's cursor (or deletes the job), with
 * HTTP requests served between batches.
 *
 * Why this keeps the contract:
 * - Crash-safe: the job commits with the change, the rows with the cursor
 *   that covers them; a crash at any moment either finds the job (it runs
 *   again from its cursor) or finds the rows (and the UNIQUE key would
 *   refuse a second one anyway). Nothing lost, nothing doubled.
 * - Who hears: the people booked when the change was made (ids ≤ upto)
 *   and still booked when their batch runs; someone who cancelled in
 *   between is told nothing, someone who booked after is not told of a
 *   change their confirmation already shows.
 * - Consent, erasure, quiet hours: each row is made by ob_on_booked as it
 *   always was, from the person's state when the batch runs, and checked
 *   again when it is sent.
 * - Between the change and its batch (normally milliseconds; a few hundred
 *   milliseconds for thousands of people), GET …/notifications does not
 *   list the change yet, and the reminders for the old time still show
 *   'pending': none of them can go, because a reminder is checked against
 *   the session's time when it is claimed ("session moved").
 * A cancellation is told the same way; its pending rows are cancelled at
 * once, in the change's transaction (one UPDATE).
 */
#include "outbox_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "rtime.h"
#include "store.h"

#define FANOUT_BATCH 256   /* enrollments read per batch (at most) */
#define FANOUT_INLINE 32   /* at most this many people are told in the change's transaction */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A change concerning few people (a workshop of a dozen, the common case)
 * is told at once, in the change's transaction: the list shows it as soon
 * as the PATCH answers, and the transaction stays short. So is one made
 * while an earlier change of the session still waits, after it, so that the
 * changes are told in order. 1 told, 0 too many (a job is needed), -1. */
static int told_now(struct outbox *ob, struct store *st, int64_t session_id,
                    int64_t change_id, int cancelled, int message, int reminders,
                    int64_t upto, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id FROM enrollments WHERE session_id = ?1"
                                     " AND status = 'booked' AND id <= ?2 ORDER BY id"
                                     " LIMIT ?3");
    int64_t ids[FANOUT_INLINE + 1], waiting = 0;
    int n = 0, step, kick = 0;

    if (store_int_query(st, "SELECT count(*) FROM notification_fanouts WHERE session_id = ?1",
                        session_id, &waiting) < 0)
        goto fail;
    if (waiting) {
        store_done(s);
        return 0;
    }
    if (!s || sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, upto) != SQLITE_OK
        || sqlite3_bind_int(s, 3, FANOUT_INLINE + 1) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && n <= FANOUT_INLINE)
        ids[n++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    if (n > FANOUT_INLINE)
        return 0;
    for (int i = 0; i < n; i++)
        if (ob_on_booked(ob, st, ids[i], message,
                         cancelled ? OUTBOX_CANCELLATION : OUTBOX_CHANGE,
                         cancelled ? 0 : change_id, reminders, now, &kick) != 0)
            goto fail;
    if (kick)
        outbox_kick(ob);
    return 1;
fail:
    store_done(s);
    return -1;
}

int outbox_on_session_change(struct outbox *ob, int64_t session_id, int64_t change_id,
                             const char *kind)
{
    struct store *st = ob->st;
    sqlite3_stmt *s = NULL;
    int64_t now = rt_now(), parent = 0, upto = 0;
    int training = 0, parent_cancelled = 0, moved, venue, cancelled, message, reminders;
    int ret = -1, step, small;

    if (!kind)
        return 0;
    moved = strcmp(kind, "moved") == 0;
    venue = strcmp(kind, "venue") == 0;
    cancelled = strcmp(kind, "cancelled") == 0;
    if (!moved && !venue && !cancelled)
        return 0;
    s = store_stmt(st, "SELECT s.kind = 'training' AND s.parent_id IS NULL, s.parent_id,"
                       " p.status = 'cancelled' FROM sessions s"
                       " LEFT JOIN sessions p ON p.id = s.parent_id WHERE s.id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        ret = 0;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    training = sqlite3_column_int(s, 0);
    parent = sqlite3_column_int64(s, 1);
    parent_cancelled = sqlite3_column_int(s, 2);
    store_done(s);
    s = NULL;

    if (cancelled && ob_cancel_pending(st, "UPDATE notifications SET status = 'cancelled',"
                                           " error = ?2, updated_at = ?3"
                                           " WHERE status = 'pending' AND enrollment_id IN"
                                           " (SELECT id FROM enrollments WHERE session_id = ?1)",
                                       session_id, "session cancelled", now) != 0)
        goto out;
    /* A part cancelled with its training: the training's cancellation says
     * it. A training's own span follows its parts, which tell their own
     * change; its move only recomputes the reminders. */
    message = cancelled ? !parent_cancelled : !training;
    reminders = moved && !parent;
    if (!message && !reminders) {
        ret = 0;
        goto out;
    }
    if (store_int_query(st, "SELECT coalesce(max(id), 0) FROM enrollments"
                            " WHERE session_id = ?1 AND status = 'booked'",
                        session_id, &upto) < 0)
        goto out;
    if (upto == 0) {
        ret = 0;
        goto out;
    }
    if ((small = told_now(ob, st, session_id, change_id, cancelled, message, reminders,
                          upto, now)) < 0)
        goto out;
    if (small) {
        ret = 0;
        goto out;
    }
    s = store_stmt(st, "INSERT INTO notification_fanouts (session_id, change_id, kind, message,"
                       " reminders, upto, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s || sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, change_id) != SQLITE_OK
        || store_bind_text(s, 3, outbox_kind_name(cancelled ? OUTBOX_CANCELLATION
                                                            : OUTBOX_CHANGE)) != SQLITE_OK
        || sqlite3_bind_int(s, 4, message) != SQLITE_OK
        || sqlite3_bind_int(s, 5, reminders) != SQLITE_OK
        || sqlite3_bind_int64(s, 6, upto) != SQLITE_OK
        || sqlite3_bind_int64(s, 7, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto out;
    ob->fanout = 1;
    outbox_kick(ob);
    ret = 0;
out:
    if (ret != 0)
        log_error("outbox", "notifying the %s of session %lld failed: %s", kind,
                  (long long)session_id, sqlite3_errmsg(store_db(st)));
    store_done(s);
    return ret;
}

struct fanout {
    int64_t id, session_id, change_id, upto, after;
    int kind, message, reminders;
};

/* The oldest job into F. 1, 0 (none), -1. */
static int oldest(struct store *st, struct fanout *f)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, session_id, change_id, kind, message,"
                                     " reminders, upto, after FROM notification_fanouts"
                                     " ORDER BY id LIMIT 1");
    int rc = -1, step;

    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 0;
    } else if (step == SQLITE_ROW) {
        f->id = sqlite3_column_int64(s, 0);
        f->session_id = sqlite3_column_int64(s, 1);
        f->change_id = sqlite3_column_int64(s, 2);
        f->kind = outbox_kind_index((const char *)sqlite3_column_text(s, 3));
        f->message = sqlite3_column_int(s, 4);
        f->reminders = sqlite3_column_int(s, 5);
        f->upto = sqlite3_column_int64(s, 6);
        f->after = sqlite3_column_int64(s, 7);
        rc = f->kind < 0 ? -1 : 1;
    }
    store_done(s);
    return rc;
}

/* The next enrollments of F still booked, into IDS (FANOUT_BATCH). Count
 * or -1. */
static int next_booked(struct store *st, const struct fanout *f, int64_t *ids)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id FROM enrollments WHERE session_id = ?1"
                                     " AND status = 'booked' AND id > ?2 AND id <= ?3"
                                     " ORDER BY id LIMIT ?4");
    int n = 0, step;

    if (!s || sqlite3_bind_int64(s, 1, f->session_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, f->after) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, f->upto) != SQLITE_OK
        || sqlite3_bind_int(s, 4, FANOUT_BATCH) != SQLITE_OK) {
        store_done(s);
        return -1;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW && n < FANOUT_BATCH)
        ids[n++] = sqlite3_column_int64(s, 0);
    store_done(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? n : -1;
}

/* Records how far F got: its cursor, or the job gone when DONE. */
static int advance(struct store *st, const struct fanout *f, int64_t after, int done)
{
    sqlite3_stmt *s = done
        ? store_stmt(st, "DELETE FROM notification_fanouts WHERE id = ?1 AND ?2 IS NOT NULL")
        : store_stmt(st, "UPDATE notification_fanouts SET after = ?2 WHERE id = ?1");
    int rc = -1;

    if (s && sqlite3_bind_int64(s, 1, f->id) == SQLITE_OK
        && sqlite3_bind_int64(s, 2, after) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    store_done(s);
    return rc;
}

/* One batch of the oldest job, in one transaction. 1 some job remains, 0
 * none, -1 error (rolled back). *KICK is set when rows were made pending. */
static int one_batch(struct outbox *ob, int64_t stop_ms, int *kick)
{
    struct store *st = ob->st;
    struct fanout f;
    int64_t ids[FANOUT_BATCH], now = rt_now(), last;
    int n, i, rc;

    if (store_begin(st) != 0)
        return -1;
    if ((rc = oldest(st, &f)) <= 0) {
        if (rc < 0 || store_commit(st) != 0)
            goto fail;
        return 0;
    }
    if ((n = next_booked(st, &f, ids)) < 0)
        goto fail;
    last = f.after;
    /* At least one enrollment per batch, so that a slow machine still
     * gets through; then as many as the time allows. */
    for (i = 0; i < n && (i == 0 || mono_ms() < stop_ms); i++) {
        /* A cancellation's offset key is 0: one per enrollment, whatever
         * change made it. */
        if (ob_on_booked(ob, st, ids[i], f.message, (enum outbox_kind)f.kind,
                         f.kind == OUTBOX_CANCELLATION ? 0 : f.change_id, f.reminders, now,
                         kick) != 0)
            goto fail;
        last = ids[i];
    }
    if (advance(st, &f, last, i == n && n < FANOUT_BATCH) != 0 || store_commit(st) != 0)
        goto fail;
    return 1;
fail:
    log_error("outbox", "expanding a session change into notifications: %s",
              sqlite3_errmsg(store_db(st)));
    store_rollback(st);
    return -1;
}

int ob_fanout_run(struct outbox *ob, int64_t budget_ms)
{
    int64_t stop = mono_ms() + budget_ms;
    int rc, kick = 0;

    if (!ob->fanout)
        return 0;
    do
        rc = one_batch(ob, stop, &kick);
    while (rc == 1 && mono_ms() < stop);
    if (rc == 0)
        ob->fanout = 0;
    return rc;
}
