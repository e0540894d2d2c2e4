/* outbox — the rows: what the domain's changes make (its events, observed
 * inside the change's own transaction), suppression on erasure or withdrawn
 * consent, and the gateways' delivery reports.
 *
 * Who hears what (the contract's "Notifications", docs/api.md):
 * - A training is notified at the level the person enrolled, the training
 *   enrollment: one confirmation, reminders before its first part. Events
 *   recorded for the part enrollments that follow it say nothing, except
 *   attendance marked on a part, which invites to the training's survey.
 * - A part moved, given a new venue or cancelled on its own tells the people
 *   booked in it, about that part; a training's own "moved" (its span
 *   following its parts) only recomputes the reminders, and a part cancelled
 *   with its training says nothing more than the training's cancellation.
 * - Every message is computed for each channel: a channel without consent
 *   or address gets a 'suppressed' row saying why, so that the list shows
 *   why nothing was sent; a message the rules skip gets no row at all.
 */
#include "outbox_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_events.h"
#include "log.h"
#include "phone.h"
#include "rtime.h"
#include "store.h"

#define ERROR_MAX 300   /* bytes of a reason kept on a row */

/* --- one enrollment in context ------------------------------------------------ */

void ob_ctx_clear(struct ob_ctx *c)
{
    free(c->idem_key);
    free(c->first_name);
    free(c->phone);
    free(c->email);
    free(c->title);
    free(c->theme);
    free(c->venue_name);
    free(c->venue_address);
    free(c->venue_commune);
    memset(c, 0, sizeof *c);
}

static void copy_text(char *dst, size_t n, sqlite3_stmt *s, int col)
{
    const char *v = (const char *)sqlite3_column_text(s, col);
    snprintf(dst, n, "%s", v ? v : "");
}

int ob_ctx_load(struct store *st, int64_t eid, struct ob_ctx *c)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT e.id, e.parent_id, e.created_at, e.slot_start, e.status, e.beneficiary_id,"
        " b.first_name, b.phone, b.email, b.consent_sms, b.consent_email,"
        " b.erased_at IS NOT NULL, s.id, s.parent_id, s.starts_at, s.ends_at, s.sequence,"
        " s.updated_at, s.slot_minutes, s.kind, s.title, s.theme, s.status = 'cancelled',"
        " s.online, v.name, v.address, v.commune"
        " FROM enrollments e JOIN beneficiaries b ON b.id = e.beneficiary_id"
        " JOIN sessions s ON s.id = e.session_id LEFT JOIN venues v ON v.id = s.venue_id"
        " WHERE e.id = ?1");
    int rc = -1, step;

    memset(c, 0, sizeof *c);
    c->id = -1;
    if (!s || sqlite3_bind_int64(s, 1, eid) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 0;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    c->enrollment_id = sqlite3_column_int64(s, 0);
    c->parent_enrollment_id = sqlite3_column_int64(s, 1);      /* NULL reads as 0 */
    c->created_at = sqlite3_column_int64(s, 2);
    c->slot_start = sqlite3_column_type(s, 3) == SQLITE_NULL ? RT_NONE
                                                               : sqlite3_column_int64(s, 3);
    copy_text(c->e_status, sizeof c->e_status, s, 4);
    c->beneficiary_id = sqlite3_column_int64(s, 5);
    c->first_name = store_col_strdup(s, 6);
    c->phone = store_col_strdup(s, 7);
    c->email = store_col_strdup(s, 8);
    c->consent_sms = sqlite3_column_int(s, 9);
    c->consent_email = sqlite3_column_int(s, 10);
    c->erased = sqlite3_column_int(s, 11);
    c->session_id = sqlite3_column_int64(s, 12);
    c->s_parent_id = sqlite3_column_int64(s, 13);
    c->starts_at = sqlite3_column_int64(s, 14);
    c->ends_at = sqlite3_column_int64(s, 15);
    c->sequence = sqlite3_column_int64(s, 16);
    c->updated_at = sqlite3_column_int64(s, 17);
    c->slot_minutes = sqlite3_column_int64(s, 18);
    copy_text(c->s_kind, sizeof c->s_kind, s, 19);
    c->title = store_col_strdup(s, 20);
    c->theme = store_col_strdup(s, 21);
    c->cancelled = sqlite3_column_int(s, 22);
    c->online = sqlite3_column_int(s, 23);
    c->venue_name = store_col_strdup(s, 24);
    c->venue_address = store_col_strdup(s, 25);
    c->venue_commune = store_col_strdup(s, 26);
    /* A strdup that failed leaves NULL where the column was not: out of
     * memory, not a missing value. */
    if ((!c->first_name && sqlite3_column_type(s, 6) != SQLITE_NULL)
        || (!c->phone && sqlite3_column_type(s, 7) != SQLITE_NULL)
        || (!c->email && sqlite3_column_type(s, 8) != SQLITE_NULL)
        || !c->title
        || (!c->theme && sqlite3_column_type(s, 21) != SQLITE_NULL)
        || (!c->venue_name && sqlite3_column_type(s, 24) != SQLITE_NULL)
        || (!c->venue_address && sqlite3_column_type(s, 25) != SQLITE_NULL)
        || (!c->venue_commune && sqlite3_column_type(s, 26) != SQLITE_NULL)) {
        ob_ctx_clear(c);
        goto out;
    }
    rc = 1;
out:
    if (rc < 0)
        log_error("outbox", "reading enrollment %lld: %s", (long long)eid,
                  sqlite3_errmsg(store_db(st)));
    store_done(s);
    return rc;
}

int64_t ob_ctx_start(const struct ob_ctx *c)
{
    return c->slot_start != RT_NONE ? c->slot_start : c->starts_at;
}

int64_t ob_ctx_end(const struct ob_ctx *c)
{
    if (c->slot_start != RT_NONE && c->slot_minutes > 0)
        return c->slot_start + c->slot_minutes * 60;
    return c->ends_at;
}

int ob_channel_allowed(const struct ob_ctx *c, int channel, const char **why)
{
    *why = NULL;
    if (c->erased)
        *why = "erased";
    else if (channel == OB_SMS && !c->consent_sms)
        *why = "no SMS consent";
    else if (channel == OB_SMS && (!c->phone || !*c->phone))
        *why = "no phone number";
    else if (channel == OB_SMS && !phone_is_mobile(c->phone))
        *why = "not a mobile number";
    else if (channel == OB_EMAIL && !c->consent_email)
        *why = "no email consent";
    else if (channel == OB_EMAIL && (!c->email || !*c->email))
        *why = "no email address";
    return *why == NULL;
}

/* --- making rows ------------------------------------------------------------- */

/* One row, or nothing when the same message already exists. A row of that
 * key that was cancelled (a reminder for a time the session moved away from
 * and back to) comes back with its key unchanged. Sets *MADE to 1 when a row
 * is now pending or suppressed because of this call. 0 or -1.
 *
 * The key holds the row id, so the id is chosen first (the next one, as
 * SQLite would) and the key written with the row: no second UPDATE, and no
 * RETURNING or INSERT … SELECT, whose temporary tables cost more than the
 * insert itself (the fan-out of a big change makes thousands). The random
 * part keeps keys unique across databases: a restored backup reuses ids,
 * and a gateway must not take its new messages for ones it already has. */
static int insert_row(struct store *st, const struct ob_ctx *c, enum outbox_kind kind,
                      int channel, int64_t offset_key, int64_t target_start, int64_t due,
                      const char *why, int64_t now, int *made)
{
    sqlite3_stmt *s = store_stmt(st,
        "INSERT INTO notifications (id, enrollment_id, beneficiary_id, session_id, kind,"
        " channel, offset_key, target_start, due_at, status, error, created_at, updated_at,"
        " idem_key)"
        " VALUES (?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11,"
        " printf('n%d-%s-%s', ?12, ?5, lower(hex(randomblob(4)))))"
        " ON CONFLICT (enrollment_id, kind, offset_key, channel, target_start) DO UPDATE"
        " SET status = excluded.status, due_at = excluded.due_at, error = excluded.error,"
        " attempts = 0, updated_at = excluded.updated_at"
        " WHERE notifications.status = 'cancelled'");
    int64_t last = 0;
    int rc = -1;

    *made = 0;
    /* max() alone, so that SQLite reads it off the end of the table (NULL,
     * read as 0, when empty). */
    if (store_int_query(st, "SELECT max(id) FROM notifications", 0, &last) < 0)
        goto out;
    if (!s || sqlite3_bind_int64(s, 1, c->enrollment_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, c->beneficiary_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, c->session_id) != SQLITE_OK
        || store_bind_text(s, 4, outbox_kind_name(kind)) != SQLITE_OK
        || store_bind_text(s, 5, outbox_channel_names[channel]) != SQLITE_OK
        || sqlite3_bind_int64(s, 6, offset_key) != SQLITE_OK
        || sqlite3_bind_int64(s, 7, target_start) != SQLITE_OK
        || sqlite3_bind_int64(s, 8, due) != SQLITE_OK
        || store_bind_text(s, 9, why ? "suppressed" : "pending") != SQLITE_OK
        || store_bind_text(s, 10, why) != SQLITE_OK
        || sqlite3_bind_int64(s, 11, now) != SQLITE_OK
        || sqlite3_bind_int64(s, 12, last + 1) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto out;
    /* 0 when the row existed and was not cancelled: nothing done. */
    *made = sqlite3_changes(store_db(st)) > 0;
    rc = 0;
out:
    if (rc != 0)
        log_error("outbox", "queueing a %s for enrollment %lld: %s", outbox_kind_name(kind),
                  (long long)c->enrollment_id, sqlite3_errmsg(store_db(st)));
    store_done(s);
    return rc;
}

/* A change the person has not been told of yet absorbs the next one: the
 * message is written when it is sent, from the session as it is then and
 * the old values of the first change it stands for, so one PATCH moving a
 * session and changing its venue (two change records), or two moves before
 * the first message went, make one message. It goes at the earlier of the
 * two times. For a channel without consent, the suppressed row made by the
 * same request stands for both. 1 absorbed, 0 not, -1 error. */
static int merge_change(struct store *st, const struct ob_ctx *c, int channel, int allowed,
                        int64_t due, int64_t now)
{
    sqlite3_stmt *s = allowed
        ? store_stmt(st, "UPDATE notifications SET due_at = min(due_at, ?3), updated_at = ?4"
                         " WHERE enrollment_id = ?1 AND channel = ?2 AND kind = 'change'"
                         " AND status = 'pending'")
        : store_stmt(st, "SELECT id FROM notifications WHERE enrollment_id = ?1"
                         " AND channel = ?2 AND kind = 'change' AND status = 'suppressed'"
                         " AND created_at = ?4 AND ?3 IS NOT NULL");
    int rc = -1, step;

    if (!s || sqlite3_bind_int64(s, 1, c->enrollment_id) != SQLITE_OK
        || store_bind_text(s, 2, outbox_channel_names[channel]) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, due) != SQLITE_OK
        || sqlite3_bind_int64(s, 4, now) != SQLITE_OK)
        goto out;
    rc = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        rc = 1;
    if (step != SQLITE_DONE)
        rc = -1;
    else if (allowed)   /* no RETURNING: its temporary table costs more than this */
        rc = sqlite3_changes(store_db(st)) > 0;
out:
    if (rc < 0)
        log_error("outbox", "merging changes for enrollment %lld: %s",
                  (long long)c->enrollment_id, sqlite3_errmsg(store_db(st)));
    store_done(s);
    return rc;
}

/* The message KIND for the person of C on every channel, when the rules say
 * it goes (outbox_schedule). *KICK is set when a pending row was made. */
static int enqueue(struct outbox *ob, struct store *st, const struct ob_ctx *c,
                   enum outbox_kind kind, int64_t offset_key, int64_t target_start,
                   int64_t want, int64_t created, int64_t now, int *kick)
{
    int64_t due;

    if (!outbox_schedule(&ob->rules, kind, now, want, ob_ctx_start(c), created, &due))
        return 0;
    for (int ch = 0; ch < OB_NCHANNELS; ch++) {
        const char *why;
        int ok = ob_channel_allowed(c, ch, &why), made, merged = 0;

        if (kind == OUTBOX_CHANGE && (merged = merge_change(st, c, ch, ok, due, now)) < 0)
            return -1;
        if (merged) {
            *kick |= ok;
            continue;
        }
        if (insert_row(st, c, kind, ch, offset_key, target_start, due, ok ? NULL : why, now,
                       &made) != 0)
            return -1;
        if (made && ok)
            *kick = 1;
    }
    return 0;
}

/* A reminder at each configured offset before the person's start. Offsets
 * already past when the booking is made (or moved) are skipped. */
static int enqueue_reminders(struct outbox *ob, struct store *st, const struct ob_ctx *c,
                             int64_t now, int *kick)
{
    int64_t start = ob_ctx_start(c), base = c->created_at > now ? c->created_at : now;

    for (size_t i = 0; i < ob->rules.nbefore; i++)
        if (enqueue(ob, st, c, OUTBOX_REMINDER, ob->rules.before[i], start,
                    start - ob->rules.before[i], base, now, kick) != 0)
            return -1;
    return 0;
}

int ob_cancel_pending(struct store *st, const char *sql, int64_t arg, const char *why,
                      int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, arg) != SQLITE_OK
        || store_bind_text(s, 2, why) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        log_error("outbox", "cancelling notifications: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* --- hooks -------------------------------------------------------------------- */

int outbox_on_enrollment_event(struct outbox *ob, int64_t enrollment_id, const char *kind)
{
    struct store *st = ob->st;
    struct ob_ctx c;
    int64_t now = rt_now(), eid = enrollment_id;
    int rc, kick = 0, ret = -1, loaded = 0;

    if (!kind)
        return 0;
    if (strcmp(kind, "cancelled") == 0)
        return ob_cancel_pending(st, "UPDATE notifications SET status = 'cancelled',"
                                     " error = ?2, updated_at = ?3 WHERE enrollment_id = ?1"
                                     " AND status = 'pending'",
                                 eid, "enrollment cancelled", now);
    if (strcmp(kind, "booked") != 0 && strcmp(kind, "promoted") != 0
        && strcmp(kind, "attended") != 0 && strcmp(kind, "waitlisted") != 0)
        return 0;
    if ((rc = ob_ctx_load(st, eid, &c)) <= 0)
        return rc;
    loaded = 1;
    if (c.parent_enrollment_id) {
        /* A part follows its training: only its attendance speaks, and it
         * invites to the survey of the whole training. */
        if (strcmp(kind, "attended") != 0) {
            ret = 0;
            goto out;
        }
        eid = c.parent_enrollment_id;
        ob_ctx_clear(&c);
        loaded = 0;
        if ((rc = ob_ctx_load(st, eid, &c)) <= 0) {
            ret = rc;
            goto out;
        }
        loaded = 1;
    }
    if (strcmp(kind, "booked") == 0 || strcmp(kind, "waitlisted") == 0) {
        /* A date of a series booked at once: the batch's first date says
         * it for all (outbox_batch.c); the reminders stay each date's. */
        int waiting = kind[0] == 'w', quiet = ob_batch_follower(st, eid, now);
        if (quiet < 0)
            goto out;
        if (!quiet && enqueue(ob, st, &c, waiting ? OUTBOX_WAITLISTED : OUTBOX_CONFIRMATION, 0,
                              ob_ctx_start(&c), now, c.created_at, now, &kick) != 0)
            goto out;
        if (!waiting && enqueue_reminders(ob, st, &c, now, &kick) != 0)
            goto out;
    } else if (strcmp(kind, "promoted") == 0) {
        if (enqueue(ob, st, &c, OUTBOX_PROMOTED, 0, ob_ctx_start(&c), now, now, now,
                    &kick) != 0
            || enqueue_reminders(ob, st, &c, now, &kick) != 0)
            goto out;
    } else {
        /* Target 0: one survey per enrollment, whatever moves afterwards. */
        if (enqueue(ob, st, &c, OUTBOX_SURVEY, 0, 0, ob_ctx_end(&c) + ob->rules.survey_after,
                    0, now, &kick) != 0)
            goto out;
    }
    ret = 0;
out:
    if (loaded)
        ob_ctx_clear(&c);
    if (kick)
        outbox_kick(ob);
    return ret;
}

int ob_on_booked(struct outbox *ob, struct store *st, int64_t eid, int message,
                 enum outbox_kind kind, int64_t offset_key, int reminders, int64_t now,
                 int *kick)
{
    struct ob_ctx c;
    int rc = ob_ctx_load(st, eid, &c), ret = -1;

    if (rc <= 0)
        return rc;
    if (message && enqueue(ob, st, &c, kind, offset_key, ob_ctx_start(&c), now, now, now,
                           kick) != 0)
        goto out;
    if (reminders) {
        /* Reminders for another time are void; those for the time it is
         * now are made (or kept, when the person's time did not move). */
        sqlite3_stmt *s = store_stmt(st, "UPDATE notifications SET status = 'cancelled',"
                                         " error = 'session moved', updated_at = ?3"
                                         " WHERE enrollment_id = ?1 AND kind = 'reminder'"
                                         " AND status = 'pending' AND target_start <> ?2");
        if (!s || sqlite3_bind_int64(s, 1, eid) != SQLITE_OK
            || sqlite3_bind_int64(s, 2, ob_ctx_start(&c)) != SQLITE_OK
            || sqlite3_bind_int64(s, 3, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
            log_error("outbox", "voiding the reminders of enrollment %lld: %s",
                      (long long)eid, sqlite3_errmsg(store_db(st)));
            store_done(s);
            goto out;
        }
        store_done(s);
        if (enqueue_reminders(ob, st, &c, now, kick) != 0)
            goto out;
    }
    ret = 0;
out:
    ob_ctx_clear(&c);
    return ret;
}

int outbox_suppress(struct store *st, int64_t beneficiary_id, const char *channel)
{
    sqlite3_stmt *s;
    int64_t erased = 0;
    int rc = -1;

    if (channel && outbox_channel_index(channel) < 0)
        return -1;
    if (store_int_query(st, "SELECT erased_at IS NOT NULL FROM beneficiaries WHERE id = ?1",
                        beneficiary_id, &erased) < 0)
        return -1;
    s = store_stmt(st, "UPDATE notifications SET status = 'suppressed', error = ?3,"
                       " updated_at = ?4 WHERE beneficiary_id = ?1 AND status = 'pending'"
                       " AND (?2 IS NULL OR channel = ?2)");
    if (!s || sqlite3_bind_int64(s, 1, beneficiary_id) != SQLITE_OK
        || store_bind_text(s, 2, channel) != SQLITE_OK
        || store_bind_text(s, 3, erased ? "erased" : "consent withdrawn") != SQLITE_OK
        || sqlite3_bind_int64(s, 4, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        log_error("outbox", "suppressing the notifications of beneficiary %lld: %s",
                  (long long)beneficiary_id, sqlite3_errmsg(store_db(st)));
        goto out;
    }
    if (sqlite3_changes(store_db(st)) > 0)
        log_info("outbox", "beneficiary %lld: %d pending notification(s) suppressed",
                 (long long)beneficiary_id, sqlite3_changes(store_db(st)));
    rc = 0;
out:
    store_done(s);
    return rc;
}

int outbox_report(struct store *st, const char *channel, const char *provider_id,
                  const char *status, const char *error)
{
    sqlite3_stmt *s;
    char why[ERROR_MAX];
    int failed, rc = -1;

    if (!channel || outbox_channel_index(channel) < 0 || !provider_id || !*provider_id
        || !status)
        return -1;
    failed = strcmp(status, "failed") == 0;
    if (!failed && strcmp(status, "delivered") != 0)
        return -1;
    snprintf(why, sizeof why, "%s", error && *error ? error : "not delivered");
    /* Only a row the gateway accepted can be delivered or not; a report on
     * a final row (a repeated callback) changes nothing. */
    s = store_stmt(st, "UPDATE notifications SET status = ?3,"
                       " error = CASE WHEN ?3 = 'failed' THEN ?4 ELSE error END,"
                       " updated_at = ?5 WHERE channel = ?1 AND provider_id = ?2"
                       " AND status = 'sent'");
    if (!s || store_bind_text(s, 1, channel) != SQLITE_OK
        || store_bind_text(s, 2, provider_id) != SQLITE_OK
        || store_bind_text(s, 3, failed ? "failed" : "delivered") != SQLITE_OK
        || store_bind_text(s, 4, why) != SQLITE_OK
        || sqlite3_bind_int64(s, 5, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        log_error("outbox", "recording a delivery report: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    rc = sqlite3_changes(store_db(st)) > 0;
out:
    store_done(s);
    return rc;
}

/* --- the domain's events --------------------------------------------------------- */

int ob_observe(void *arg, const struct domain_event *ev, char *why, size_t n)
{
    struct outbox *ob = arg;
    const char *verb = domain_event_verb(ev->kind);
    int rc = 0;

    switch (ev->kind) {
    case DOMAIN_SESSION_MOVED:
    case DOMAIN_SESSION_VENUE:
    case DOMAIN_SESSION_CANCELLED:
        rc = outbox_on_session_change(ob, ev->id, ev->change_id, verb);
        break;
    case DOMAIN_ENROLLMENT_BOOKED:
    case DOMAIN_ENROLLMENT_WAITLISTED:
    case DOMAIN_ENROLLMENT_PROMOTED:
    case DOMAIN_ENROLLMENT_CANCELLED:
    case DOMAIN_ENROLLMENT_ATTENDED:
        rc = outbox_on_enrollment_event(ob, ev->id, verb);
        break;
    case DOMAIN_BENEFICIARY_ERASED:
        /* What was still to be sent about past sessions (a survey) goes
         * nowhere now; the cancellations before it voided the rest. */
        rc = outbox_suppress(ev->st, ev->id, NULL);
        break;
    case DOMAIN_CONSENT_WITHDRAWN:
        rc = outbox_suppress(ev->st, ev->id, ev->channel);
        break;
    default:
        break;
    }
    if (rc != 0)
        snprintf(why, n, "the notifications could not be written");
    return rc;
}
