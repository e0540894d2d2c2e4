/* enrollments_waitlist — places and the waitlist: enrollments_taken(),
 * enrollments_promote(), and the status writes every enrollment change goes
 * through so that each one is recorded as an event (the notification outbox
 * hooks in there).
 *
 * A training counts its places on the training's own enrollments; each has
 * one enrollment per part (parent_id = the training enrollment) that follows
 * it: booked with it, promoted with it, cancelled with it. */
#include "sessions_internal.h"

#include <stdlib.h>

#include "domain.h"
#include "log.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"

int64_t enrollments_taken(struct store *st, int64_t session_id)
{
    int64_t n = 0;

    if (store_int_query(st, "SELECT count(*) FROM enrollments WHERE session_id = ?1"
                            " AND status IN " SESSIONS_TAKEN_SQL, session_id, &n) < 0)
        return -1;
    return n;
}

int enrollments_slot_taken(struct store *st, int64_t session_id, int64_t slot_start,
                           int64_t except_id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM enrollments WHERE session_id = ?1"
                                     " AND slot_start = ?2 AND id <> ?3"
                                     " AND status IN " SESSIONS_TAKEN_SQL " LIMIT 1");
    int rc = -1, step;

    if (!s)
        return -1;
    if (sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, slot_start) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, except_id) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = 1;
    else if (step == SQLITE_DONE)
        rc = 0;
out:
    store_done(s);
    return rc;
}

int enrollments_set_status(struct store *st, int64_t id, const char *status,
                           const char *event, int64_t now, int64_t token_id)
{
    sqlite3_stmt *s = store_stmt(st, "UPDATE enrollments SET status = ?2, updated_at = ?3"
                                     " WHERE id = ?1");
    int rc = -1;

    if (!s)
        return -1;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK || store_bind_text(s, 2, status) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, now) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_error("enrollments", "enrollment %lld to %s: %s", (long long)id, status,
                  sqlite3_errmsg(store_db(st)));
        goto out;
    }
    store_done(s);
    s = NULL;
    if (domain_record_enrollment_event(st, id, event, token_id) != 0)
        goto out;
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* The ids of the rows a query returns (one int64 parameter), malloc'd into
 * *OUT. Returns their number or -1. */
static int collect_ids(struct store *st, const char *sql, int64_t arg, int64_t **out)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int n = -1;

    *out = NULL;
    if (s && sqlite3_bind_int64(s, 1, arg) == SQLITE_OK)
        n = domain_collect_ids(s, out);
    store_done(s);
    return n;
}

int enrollments_set_parts(struct store *st, int64_t parent_id, int only_waitlisted,
                          const char *status, const char *event, int64_t now,
                          int64_t token_id)
{
    int64_t *ids;
    int n, rc = -1;

    /* Attendance already marked on a part is history: a cancellation only
     * touches the parts still booked or waitlisted. */
    n = only_waitlisted
        ? collect_ids(st, "SELECT id FROM enrollments WHERE parent_id = ?1"
                          " AND status = 'waitlisted' ORDER BY id", parent_id, &ids)
        : collect_ids(st, "SELECT id FROM enrollments WHERE parent_id = ?1"
                          " AND status IN ('booked','waitlisted') ORDER BY id", parent_id, &ids);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (enrollments_set_status(st, ids[i], status, event, now, token_id) != 0)
            goto out;
    rc = 0;
out:
    free(ids);
    return rc;
}

/* A waitlisted slot request can only be booked while its slot is still on
 * the grid and nobody holds it. */
static int slot_bookable(struct store *st, const struct sessions_row *r, int64_t eid)
{
    int64_t slot;
    int rc = store_int_query(st, "SELECT slot_start FROM enrollments WHERE id = ?1"
                                 " AND slot_start IS NOT NULL", eid, &slot);

    if (rc <= 0)
        return rc < 0 ? -1 : 1;   /* a walk-in: any place will do */
    if (r->slot_minutes <= 0
        || slots_check(r->starts_at, r->ends_at, (int)r->slot_minutes, slot) != 0)
        return 0;
    rc = enrollments_slot_taken(st, r->id, slot, eid);
    return rc < 0 ? -1 : !rc;
}

int enrollments_promote(struct store *st, int64_t session_id, int64_t token_id)
{
    struct sessions_row r;
    int64_t *ids = NULL, taken, now = rt_now();
    int n, promoted = 0, rc;

    rc = sessions_load(st, session_id, &r);
    if (rc <= 0)
        return rc;   /* no such session: nobody to promote */
    /* Nobody is told they got a place in a cancelled session, and a part's
     * enrollments follow the training's. */
    if (r.cancelled || r.parent_id) {
        sessions_row_clear(&r);
        return 0;
    }
    taken = r.booked;
    n = collect_ids(st, "SELECT id FROM enrollments WHERE session_id = ?1"
                        " AND status = 'waitlisted' ORDER BY id", session_id, &ids);
    if (n < 0)
        goto fail;
    for (int i = 0; i < n && (r.capacity < 0 || taken < r.capacity); i++) {
        int ok = slot_bookable(st, &r, ids[i]);
        if (ok < 0)
            goto fail;
        if (!ok)
            continue;
        if (enrollments_set_status(st, ids[i], "booked", "promoted", now, token_id) != 0
            || enrollments_set_parts(st, ids[i], 1, "booked", "promoted", now, token_id) != 0)
            goto fail;
        taken++;
        promoted++;
    }
    if (promoted)
        log_info("enrollments", "session %lld: %d promoted from the waitlist",
                 (long long)session_id, promoted);
    free(ids);
    sessions_row_clear(&r);
    return promoted;
fail:
    log_error("enrollments", "promoting the waitlist of session %lld failed",
              (long long)session_id);
    free(ids);
    sessions_row_clear(&r);
    return -1;
}
