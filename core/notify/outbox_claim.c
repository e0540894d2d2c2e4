/* outbox_claim — taking due rows for sending, and the last look at each
 * before it goes (outbox_dispatch.c runs both inside one transaction).
 *
 * A row is claimed with one UPDATE … RETURNING ('sending', a lease,
 * attempts + 1). The hooks made it right when it was queued; the look at
 * claim time catches what changed since and what a delay (an outage, a
 * backoff) did: consent withdrawn or an erasure (→ suppressed), attendance
 * corrected, the session cancelled, moved or started (→ cancelled), the
 * quiet hours begun (→ back to pending until they end). A row that does not
 * go was not an attempt: its count goes back down. */
#include "outbox_internal.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rtime.h"
#include "store.h"

enum { VET_SEND = 0, VET_SUPPRESS, VET_CANCEL, VET_DEFER };

int ob_claim_rows(struct outbox *ob, int channel, int limit, int64_t now, struct claim *k)
{
    sqlite3_stmt *s = store_stmt(ob->st, OUTBOX_CLAIM_SQL);
    int n = 0, step;

    if (!s || sqlite3_bind_int64(s, 1, now) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, now + OUTBOX_LEASE) != SQLITE_OK
        || store_bind_text(s, 3, outbox_channel_names[channel]) != SQLITE_OK
        || sqlite3_bind_int(s, 4, limit) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct claim *c = &k[n];

        if (n == limit)
            goto fail;   /* cannot happen: LIMIT */
        memset(c, 0, sizeof *c);
        n++;
        c->id = sqlite3_column_int64(s, 0);
        c->enrollment_id = sqlite3_column_int64(s, 1);
        c->kind = outbox_kind_index((const char *)sqlite3_column_text(s, 2));
        c->attempts = sqlite3_column_int(s, 3);
        c->offset_key = sqlite3_column_int64(s, 4);
        c->target_start = sqlite3_column_int64(s, 5);
        c->channel = channel;
        c->idem_key = store_col_strdup(s, 6);
        c->due_at = sqlite3_column_int64(s, 7);
        if (!c->idem_key || c->kind < 0)
            goto fail;
    }
    if (step != SQLITE_DONE)
        goto fail;
    store_done(s);
    return n;
fail:
    log_error("outbox", "claiming due notifications: %s", sqlite3_errmsg(store_db(ob->st)));
    store_done(s);
    for (int i = 0; i < n; i++)
        free(k[i].idem_key);
    return -1;
}

/* 1 when the person attended the session (for a training: it or a part). */
static int attended(struct store *st, int64_t eid)
{
    int64_t one = 0;
    int rc = store_int_query(st, "SELECT count(*) FROM enrollments WHERE (id = ?1"
                                 " OR parent_id = ?1) AND status = 'attended'", eid, &one);
    return rc < 0 ? -1 : one > 0;
}

/* Whether row C still goes now. The hooks made it right when it was
 * queued; this catches what changed since and what a delay (an outage, a
 * backoff) did: consent withdrawn, an erasure, attendance corrected, the
 * session started, the quiet hours begun. */
static int vet(struct outbox *ob, const struct ob_ctx *c, int64_t due_at, int64_t now,
               int64_t *until, const char **why)
{
    int64_t start = ob_ctx_start(c), end;
    int rc;

    if (!ob_channel_allowed(c, c->channel, why))
        return VET_SUPPRESS;
    *why = NULL;
    if (c->kind == OUTBOX_SURVEY) {
        if ((rc = attended(ob->st, c->enrollment_id)) < 0)
            return -1;
        if (!rc)
            *why = "not marked attended";
    } else if (c->kind != OUTBOX_CANCELLATION) {
        if (c->cancelled)
            *why = "session cancelled";
        else if (c->kind == OUTBOX_WAITLISTED) {
            if (strcmp(c->e_status, "waitlisted") != 0)
                *why = "enrollment no longer waitlisted";
        } else if (strcmp(c->e_status, "booked") != 0)
            *why = "enrollment no longer booked";
        else if (c->kind == OUTBOX_REMINDER && c->target_start != start)
            *why = "session moved";
    }
    if (!*why && c->kind != OUTBOX_SURVEY && now >= start)
        *why = "session already started";
    if (*why)
        return VET_CANCEL;
    /* A row sent about when the rules put it (a reminder at the very
     * start of the quiet hours, a change that goes at once) goes; one
     * that a backlog or an outage pushed into them waits. */
    if (!outbox_in_quiet(&ob->rules, now) || now - due_at <= OUTBOX_QUIET_GRACE)
        return VET_SEND;
    end = outbox_quiet_end(&ob->rules, now);
    if (c->kind != OUTBOX_SURVEY && start <= end) {
        if (c->kind == OUTBOX_CHANGE || c->kind == OUTBOX_CANCELLATION)
            return VET_SEND;
        *why = "the session starts before the quiet hours end";
        return VET_CANCEL;
    }
    *until = end;
    return VET_DEFER;
}

/* A claimed row that does not go now: not an attempt, so the count goes
 * back down. STATUS 'pending' (with DUE) or a final one with WHY. */
static int unclaim(struct store *st, int64_t id, const char *status, const char *why,
                   int64_t due, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, "UPDATE notifications SET status = ?2, error = ?3,"
                                     " due_at = CASE WHEN ?2 = 'pending' THEN ?4 ELSE due_at END,"
                                     " attempts = attempts - 1, lease_until = NULL,"
                                     " updated_at = ?5 WHERE id = ?1");
    int rc = -1;

    if (s && sqlite3_bind_int64(s, 1, id) == SQLITE_OK && store_bind_text(s, 2, status) == SQLITE_OK
        && store_bind_text(s, 3, why) == SQLITE_OK && sqlite3_bind_int64(s, 4, due) == SQLITE_OK
        && sqlite3_bind_int64(s, 5, now) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    store_done(s);
    return rc;
}

int ob_settle_claim(struct outbox *ob, struct claim *k, int64_t now)
{
    struct ob_ctx c;
    const char *why = NULL;
    int64_t until = 0;
    int rc, v, ret = -1;

    if ((rc = ob_ctx_load(ob->st, k->enrollment_id, &c)) < 0)
        return -1;
    if (rc == 0)
        return unclaim(ob->st, k->id, "cancelled", "enrollment gone", 0, now);
    c.id = k->id;
    c.kind = k->kind;
    c.channel = k->channel;
    c.attempts = k->attempts;
    c.offset_key = k->offset_key;
    c.target_start = k->target_start;
    c.idem_key = k->idem_key;   /* lent: taken back before ob_ctx_clear */
    v = vet(ob, &c, k->due_at, now, &until, &why);
    switch (v) {
    case VET_SEND:
        if (!(k->data = ob_message_build(ob, &c)))
            k->broken = 1;
        ret = 0;
        break;
    case VET_SUPPRESS:
        ob_count_send(ob, k->channel, OB_RESULT_SUPPRESSED);
        ret = unclaim(ob->st, k->id, "suppressed", why, 0, now);
        break;
    case VET_CANCEL:
        ob_count_send(ob, k->channel, OB_RESULT_CANCELLED);
        ret = unclaim(ob->st, k->id, "cancelled", why, 0, now);
        break;
    case VET_DEFER:
        ret = unclaim(ob->st, k->id, "pending", NULL, until, now);
        break;
    default:
        break;
    }
    if (v == VET_SUPPRESS || v == VET_CANCEL)
        log_info("outbox", "notification %lld (%s by %s): %s", (long long)k->id,
                 outbox_kind_name((enum outbox_kind)k->kind), outbox_channel_names[k->channel],
                 why);
    c.idem_key = NULL;
    ob_ctx_clear(&c);
    return ret;
}

