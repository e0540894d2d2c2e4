/* outbox_message — the data handed to a channel's sender (struct outbox_msg,
 * plugins/API.md "The notification handed to a channel or a composer"), built from the
 * database when the row is sent, so that it always says what is true then
 * (a confirmation delayed by the quiet hours already gives the new time of
 * a session moved meanwhile).
 *
 * For a permanence slot, the session's times in the message are the slot's.
 * The email invitation uses the session's UID ("session-ID@host", the one
 * of the sessions feed) and SEQUENCE, so that a calendar updates or removes
 * the event it already has; a training's invitation holds one event per
 * part. */
#include "outbox_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ical.h"
#include "json.h"
#include "links.h"
#include "log.h"
#include "rtime.h"
#include "store.h"

#define ICS_PARTS_MAX 64
#define URL_MAX 2048

/* The venue's "A, B, C" (ical_location); "En ligne" for an online session
 * without a venue; NULL when there is nothing to say (or out of memory:
 * *OOM set). */
static char *place(const char *a, const char *b, const char *c, int online, int *oom)
{
    char *out = ical_location(a, b, c, oom);

    if (out || *oom || !online)
        return out;
    if (!(out = strdup("En ligne")))
        *oom = 1;
    return out;
}

/* The calendar events of C's session into EV (room for ICS_PARTS_MAX),
 * their strings into OWN (freed by the caller). Count or -1. */
static int load_events(struct outbox *ob, const struct ob_ctx *c, int cancel,
                       const char *description, struct ical_event *ev, char **own)
{
    int training = strcmp(c->s_kind, "training") == 0 && c->s_parent_id == 0;
    sqlite3_stmt *s = training
        ? store_stmt(ob->st, "SELECT s.id, s.title, s.starts_at, s.ends_at,"
                             " s.status = 'cancelled', s.sequence, s.updated_at, s.online,"
                             " v.name, v.address, v.commune FROM sessions s"
                             " LEFT JOIN venues v ON v.id = s.venue_id"
                             " WHERE s.parent_id = ?1 ORDER BY s.starts_at, s.id")
        : store_stmt(ob->st, "SELECT s.id, s.title, s.starts_at, s.ends_at,"
                             " s.status = 'cancelled', s.sequence, s.updated_at, s.online,"
                             " v.name, v.address, v.commune FROM sessions s"
                             " LEFT JOIN venues v ON v.id = s.venue_id WHERE s.id = ?1");
    int n = 0, step = SQLITE_DONE, oom = 0;

    if (!s || sqlite3_bind_int64(s, 1, c->session_id) != SQLITE_OK)
        goto fail;
    while (n < ICS_PARTS_MAX && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct ical_event *e = &ev[n];
        char uid[OUTBOX_HOST_MAX + 40];

        snprintf(uid, sizeof uid, "session-%lld@%s", (long long)sqlite3_column_int64(s, 0),
                 ob->host);
        own[3 * n] = strdup(uid);
        own[3 * n + 1] = store_col_strdup(s, 1);
        own[3 * n + 2] = place((const char *)sqlite3_column_text(s, 8),
                               (const char *)sqlite3_column_text(s, 9),
                               (const char *)sqlite3_column_text(s, 10),
                               sqlite3_column_int(s, 7), &oom);
        n++;
        if (!own[3 * n - 3] || !own[3 * n - 2] || oom)
            goto fail;
        e->uid = own[3 * n - 3];
        e->summary = own[3 * n - 2];
        e->location = own[3 * n - 1];
        e->description = description;
        e->starts_at = sqlite3_column_int64(s, 2);
        e->ends_at = sqlite3_column_int64(s, 3);
        e->cancelled = cancel || sqlite3_column_int(s, 4);
        e->sequence = (int)sqlite3_column_int64(s, 5);
        e->stamp = sqlite3_column_int64(s, 6);
        e->organizer = ob->org_addr;
        e->organizer_name = ob->org_name ? ob->org_name : "Relais";
        e->attendee = c->email;
        e->attendee_name = c->first_name;
        if (!training) {   /* a permanence slot is the person's own time */
            e->starts_at = ob_ctx_start(c);
            e->ends_at = ob_ctx_end(c);
        }
    }
    if (n < ICS_PARTS_MAX && step != SQLITE_DONE)
        goto fail;
    store_done(s);
    return n;
fail:
    store_done(s);
    return -1;
}

/* The invitation: REQUEST, or CANCEL for a cancellation. 0 or -1. */
static int add_ics(struct outbox *ob, const struct ob_ctx *c, const char *link, cJSON *data)
{
    struct ical_event ev[ICS_PARTS_MAX];
    char *own[3 * ICS_PARTS_MAX] = {0}, *cal = NULL, description[URL_MAX + 64];
    int cancel = c->kind == OUTBOX_CANCELLATION, n, rc = -1;
    const char *method = cancel ? "CANCEL" : "REQUEST";
    size_t len = 0;

    memset(ev, 0, sizeof ev);
    snprintf(description, sizeof description, "Voir ou annuler ce rendez-vous : %s", link);
    if ((n = load_events(ob, c, cancel, description, ev, own)) < 0)
        goto out;
    if (!(cal = ical_build(ev, (size_t)n, method, "Relais", &len)))
        goto out;
    if (!cJSON_AddStringToObject(data, "ics", cal)
        || !cJSON_AddStringToObject(data, "ics_method", method))
        goto out;
    rc = 0;
out:
    for (int i = 0; i < 3 * ICS_PARTS_MAX; i++)
        free(own[i]);
    free(cal);
    return rc;
}

/* What changed, for a change message: the old time and the old venue's
 * name, from the first change the row stands for (its offset key) and the
 * later ones it absorbed; a value now back to what it was is left out. The
 * old time only when the person's own time moved (not a permanence slot).
 * 0 or -1. */
static int add_change(struct outbox *ob, const struct ob_ctx *c, cJSON *data)
{
    sqlite3_stmt *s = store_stmt(ob->st,
        "SELECT (SELECT old_starts_at FROM session_changes WHERE session_id = ?1"
        "   AND id >= ?2 AND kind = 'moved' ORDER BY id LIMIT 1),"
        " (SELECT CASE WHEN h.old_venue_id IS s.venue_id THEN NULL ELSE v.name END"
        "   FROM session_changes h LEFT JOIN venues v ON v.id = h.old_venue_id"
        "   WHERE h.session_id = ?1 AND h.id >= ?2 AND h.kind = 'venue'"
        "   ORDER BY h.id LIMIT 1)"
        " FROM sessions s WHERE s.id = ?1");
    cJSON *ch;
    char when[RT_FR_MAX];
    const char *venue;
    int rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, c->session_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, c->offset_key) != SQLITE_OK
        || sqlite3_step(s) != SQLITE_ROW || !(ch = cJSON_AddObjectToObject(data, "change")))
        goto out;
    if (sqlite3_column_type(s, 0) != SQLITE_NULL && c->slot_start == RT_NONE
        && sqlite3_column_int64(s, 0) != c->starts_at) {
        rt_format_fr(sqlite3_column_int64(s, 0), when, sizeof when);
        if (!cJSON_AddStringToObject(ch, "old_when", when))
            goto out;
    }
    venue = (const char *)sqlite3_column_text(s, 1);
    if (venue && *venue && !cJSON_AddStringToObject(ch, "old_venue", venue))
        goto out;
    rc = 0;
out:
    store_done(s);
    return rc;
}

static int add_session(const struct ob_ctx *c, cJSON *data)
{
    cJSON *o = cJSON_AddObjectToObject(data, "session"), *v;
    char when[RT_FR_MAX];

    if (!o)
        return -1;
    rt_format_fr(ob_ctx_start(c), when, sizeof when);
    json_add_int(o, "id", c->session_id);
    json_add_str(o, "title", c->title);
    json_add_str(o, "kind", c->s_kind);
    json_add_str(o, "status", c->cancelled ? "cancelled" : "scheduled");
    json_add_int(o, "starts_at", ob_ctx_start(c));
    json_add_int(o, "ends_at", ob_ctx_end(c));
    json_add_str(o, "when", when);
    json_add_int(o, "sequence", c->sequence);
    if (c->theme)
        json_add_str(o, "theme", c->theme);
    if (!cJSON_AddBoolToObject(o, "online", c->online))
        return -1;
    if (c->venue_name || c->venue_address || c->venue_commune) {
        if (!(v = cJSON_AddObjectToObject(o, "venue")))
            return -1;
        json_add_str(v, "name", c->venue_name);
        json_add_str(v, "address", c->venue_address);
        json_add_str(v, "commune", c->venue_commune);
    }
    return 0;
}

/* PUBLIC_URL + PREFIX + the token of PURPOSE for the enrollment. 0 or -1. */
static int make_link(struct outbox *ob, enum links_purpose purpose, int64_t eid,
                     const char *prefix, char *out, size_t n)
{
    char token[LINKS_TOKEN_LEN + 1];

    if (links_token(ob->st, purpose, eid, token) != 0)
        return -1;
    if ((size_t)snprintf(out, n, "%s%s%s", ob->public_url, prefix, token) >= n)
        return -1;
    return 0;
}

cJSON *ob_message_build(struct outbox *ob, const struct ob_ctx *c)
{
    cJSON *data = cJSON_CreateObject();
    char link[URL_MAX], survey[URL_MAX];

    if (!data)
        goto fail;
    json_add_int(data, "id", c->id);
    json_add_str(data, "kind", outbox_kind_name((enum outbox_kind)c->kind));
    json_add_str(data, "channel", outbox_channel_names[c->channel]);
    json_add_str(data, "to", c->channel == OB_SMS ? c->phone : c->email);
    json_add_str(data, "idem_key", c->idem_key);
    json_add_int(data, "enrollment_id", c->enrollment_id);
    json_add_str(data, "first_name", c->first_name);
    if (add_session(c, data) != 0)
        goto fail;
    if (c->kind == OUTBOX_CHANGE && add_change(ob, c, data) != 0)
        goto fail;
    if (ob_batch_add(ob, c, data) != 0)
        goto fail;
    if (make_link(ob, LINKS_APPOINTMENT, c->enrollment_id, "/r/", link, sizeof link) != 0)
        goto fail;
    json_add_str(data, "link", link);
    if (c->kind == OUTBOX_SURVEY) {
        if (make_link(ob, LINKS_SURVEY, c->enrollment_id, "/s/", survey, sizeof survey) != 0)
            goto fail;
        json_add_str(data, "survey_link", survey);
    }
    /* An invitation for a session that is over would only clutter the
     * calendar: the survey email carries none; nor does the waitlist
     * message, since the person has no place yet. */
    if (c->channel == OB_EMAIL && c->kind != OUTBOX_SURVEY && c->kind != OUTBOX_WAITLISTED
        && add_ics(ob, c, link, data) != 0)
        goto fail;
    return data;
fail:
    log_error("outbox", "building the message of notification %lld failed", (long long)c->id);
    cJSON_Delete(data);
    return NULL;
}
