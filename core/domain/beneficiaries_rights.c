/* Erasure, right of access (GET /{id}/export) and SMS consent of the
 * beneficiaries. Erasure wipes what identifies the person and keeps what the
 * anonymous counts need, then tells the observers (the outbox suppresses
 * what was still to be sent, plugins erase their own data), any of which may
 * veto it; access returns everything stored about them. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "domain.h"
#include "http.h"
#include "log.h"
#include "domain_events.h"
#include "records.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"

/* One enrollment cancelled by an erasure, and whether its session is the
 * one whose waitlist moves (a part's follows its training's). */
struct cancelled {
    int64_t enrollment_id, session_id;
    int top_level;
};

/* Collects the active enrollments of BID in sessions that have not started
 * by NOW into *OUT (malloc'd). Returns their number, or -1. */
static int future_enrollments(struct store *st, int64_t bid, int64_t now,
                              struct cancelled **out)
{
    struct cancelled *list = NULL;
    size_t n = 0, cap = 0;
    int rc;
    sqlite3_stmt *s = store_stmt(st,
        "SELECT e.id, e.session_id, s.parent_id IS NULL FROM enrollments e"
        " JOIN sessions s ON s.id = e.session_id"
        " WHERE e.beneficiary_id = ?1 AND e.status IN ('booked', 'waitlisted')"
        " AND s.starts_at > ?2 ORDER BY e.id");

    *out = NULL;
    if (!s || sqlite3_bind_int64(s, 1, bid) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, now) != SQLITE_OK)
        goto fail;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct cancelled *grown = realloc(list, ncap * sizeof *list);
            if (!grown)
                goto fail;
            list = grown;
            cap = ncap;
        }
        list[n].enrollment_id = sqlite3_column_int64(s, 0);
        list[n].session_id = sqlite3_column_int64(s, 1);
        list[n].top_level = sqlite3_column_int(s, 2);
        n++;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    store_done(s);
    *out = list;
    return (int)n;
fail:
    store_done(s);
    free(list);
    return -1;
}

/* Right to erasure. Cancelling comes first so that the places freed in
 * sessions yet to come go to their waitlists; past enrollments stay, with
 * the anonymous columns, for the counts. */
static void h_delete(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_event ev = {.kind = DOMAIN_BENEFICIARY_ERASED};
    struct cancelled *list = NULL;
    char why[256];
    sqlite3_stmt *s = NULL;
    int64_t id, one, now = rt_now();
    int found, n = 0, i, j;

    if (http_param_id(req, "id", &id) != 0)
        return;
    found = store_int_query(st, "SELECT 1 FROM beneficiaries WHERE id = ?1"
                                " AND erased_at IS NULL", id, &one);
    if (found == 0) {
        http_problem(req, 404, "no beneficiary %lld", (long long)id);
        return;
    }
    if (found < 0 || (n = future_enrollments(st, id, now, &list)) < 0)
        goto fail;
    for (i = 0; i < n; i++) {
        s = store_stmt(st, "UPDATE enrollments SET status = 'cancelled', updated_at = ?2"
                           " WHERE id = ?1");
        if (!s || sqlite3_bind_int64(s, 1, list[i].enrollment_id) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
            goto fail;
        store_done(s);
        s = NULL;
        if (domain_record_enrollment_event(st, list[i].enrollment_id, "cancelled",
                                           req->token_id) != 0)
            goto fail;
    }
    for (i = 0; i < n; i++) {
        int seen = 0;
        if (!list[i].top_level)
            continue;
        for (j = 0; j < i; j++)
            seen |= list[j].top_level && list[j].session_id == list[i].session_id;
        if (!seen && enrollments_promote(st, list[i].session_id, req->token_id) < 0)
            goto fail;
    }
    s = store_stmt(st, "UPDATE beneficiaries SET first_name = NULL, last_name = NULL,"
                       " phone = NULL, email = NULL, prescriber = NULL, external_id = NULL,"
                       " search_key = NULL, consent_sms = 0, consent_email = 0,"
                       " erased_at = ?2, updated_at = ?2 WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    /* The observers' part, inside this transaction: the outbox suppresses
     * what was still to be sent about past sessions (a survey; the
     * cancellations above voided the rest), and plugins erase the personal
     * data they keep (PIX results, free-text survey answers). One that
     * cannot vetoes: nothing of the erasure is kept, and the answer names
     * it (no personal data in it). */
    ev.st = st;
    ev.id = id;
    ev.token_id = req->token_id;
    if (domain_events_emit(store_events(st), &ev, why, sizeof why) != 0) {
        free(list);
        http_problem(req, 500, "the beneficiary was not erased: %s", why);
        return;
    }
    free(list);
    /* The WAL still holds the person's former pages: emptied once this
     * transaction commits. */
    store_wipe_after_commit(st);
    log_info("beneficiaries", "beneficiary %lld erased, %d future enrollment(s) cancelled",
             (long long)id, n);
    http_reply_empty(req, 204);
    return;
fail:
    log_error("beneficiaries", "erasing beneficiary %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    store_done(s);
    free(list);
    http_problem(req, 500, "could not erase the beneficiary");
}

/* Events of enrollment ID as [{kind, at}], appended to ARR: 0 or -1. */
static int add_events(struct store *st, int64_t id, cJSON *arr)
{
    int rc, ret = -1;
    sqlite3_stmt *s = store_stmt(st, "SELECT kind, at FROM enrollment_events"
                                     " WHERE enrollment_id = ?1 ORDER BY id");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *ev = cJSON_CreateObject();
        if (!ev || !cJSON_AddItemToArray(arr, ev)) {
            cJSON_Delete(ev);
            goto out;
        }
        json_add_str(ev, "kind", (const char *)sqlite3_column_text(s, 0));
        json_add_time(ev, "at", sqlite3_column_int64(s, 1));
    }
    if (rc == SQLITE_DONE)
        ret = 0;
out:
    store_done(s);
    return ret;
}

/* Right of access: everything stored about the person, enrollments and
 * their history included. */
static void h_export(struct http_req *req)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s = NULL;
    cJSON *doc = NULL, *ben = NULL, *arr;
    int64_t id;
    int found, rc;

    if (http_param_id(req, "id", &id) != 0)
        return;
    found = beneficiaries_fetch(st, id, 0, 0, &ben);
    if (found == 0) {
        http_problem(req, 404, "no beneficiary %lld", (long long)id);
        return;
    }
    if (found < 0 || !(doc = cJSON_CreateObject()) ||
        !cJSON_AddItemToObject(doc, "beneficiary", ben))
        goto fail;
    ben = NULL;
    if (!(arr = cJSON_AddArrayToObject(doc, "enrollments")))
        goto fail;
    s = store_stmt(st, "SELECT e.id, e.session_id, s.title, s.kind, s.starts_at, e.status,"
                       " e.slot_start, e.created_at FROM enrollments e"
                       " JOIN sessions s ON s.id = e.session_id"
                       " WHERE e.beneficiary_id = ?1 ORDER BY e.id");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto fail;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *e = cJSON_CreateObject(), *events;
        if (!e || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            goto fail;
        }
        json_add_int(e, "id", sqlite3_column_int64(s, 0));
        json_add_int(e, "session_id", sqlite3_column_int64(s, 1));
        json_add_str(e, "session_title", (const char *)sqlite3_column_text(s, 2));
        json_add_str(e, "session_kind", (const char *)sqlite3_column_text(s, 3));
        json_add_time(e, "starts_at", sqlite3_column_int64(s, 4));
        json_add_str(e, "status", (const char *)sqlite3_column_text(s, 5));
        json_add_time(e, "slot_start", sqlite3_column_type(s, 6) == SQLITE_NULL
                                           ? RT_NONE : sqlite3_column_int64(s, 6));
        json_add_time(e, "created_at", sqlite3_column_int64(s, 7));
        if (!(events = cJSON_AddArrayToObject(e, "events")) ||
            add_events(st, sqlite3_column_int64(s, 0), events) != 0)
            goto fail;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    /* The records kept about the person beside the enrollments. */
    if (!(arr = cJSON_AddArrayToObject(doc, "accompaniments")) ||
        accompaniments_export(st, id, arr) != 0 ||
        !(arr = cJSON_AddArrayToObject(doc, "loans")) || loans_export(st, id, arr) != 0)
        goto fail;
    json_add_time(doc, "exported_at", rt_now());
    log_info("beneficiaries", "beneficiary %lld exported", (long long)id);
    http_reply_json(req, 200, doc);
    return;
fail:
    log_error("beneficiaries", "exporting beneficiary %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    store_done(s);
    cJSON_Delete(ben);
    cJSON_Delete(doc);
    http_problem(req, 500, "could not export the beneficiary");
}

/* --- SMS consent ----------------------------------------------------------- */

int beneficiaries_sms_consent(struct store *st, const char *phone, int consent)
{
    int in_tx = store_in_tx(st), rc = -1, n = 0;
    int64_t *ids = NULL;
    sqlite3_stmt *s;
    char why[200] = "";

    if (in_tx ? store_exec(st, "SAVEPOINT relais_consent") : store_begin(st))
        return -1;
    s = store_stmt(st, "SELECT id FROM beneficiaries WHERE phone = ?1 AND erased_at IS NULL");
    if (!s || store_bind_text(s, 1, phone) != 0 || (n = domain_collect_ids(s, &ids)) < 0)
        goto out;
    store_done(s);
    s = store_stmt(st, "UPDATE beneficiaries SET consent_sms = ?1, updated_at = ?2 "
                       "WHERE phone = ?3 AND erased_at IS NULL AND consent_sms <> ?1");
    if (!s || sqlite3_bind_int(s, 1, consent) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, rt_now()) != SQLITE_OK || store_bind_text(s, 3, phone) != 0 ||
        sqlite3_step(s) != SQLITE_DONE)
        goto out;
    /* The outbox suppresses their pending SMS. */
    for (int i = 0; !consent && i < n; i++) {
        struct domain_event ev = {DOMAIN_CONSENT_WITHDRAWN, st, ids[i], 0, "sms", 0};

        if (domain_events_emit(store_events(st), &ev, why, sizeof why) != 0)
            goto out;
    }
    rc = n;
out:
    store_done(s);
    free(ids);
    if (rc >= 0 && (in_tx ? store_exec(st, "RELEASE relais_consent") : store_commit(st)) != 0)
        rc = -1;
    if (rc < 0) {
        log_error("beneficiaries", "sms consent change failed: %s",
                  why[0] ? why : sqlite3_errmsg(store_db(st)));
        if (in_tx) {
            store_exec(st, "ROLLBACK TO relais_consent");
            store_exec(st, "RELEASE relais_consent");
        } else {
            store_rollback(st);
        }
    }
    return rc;
}

int beneficiaries_rights_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_DELETE, "/api/v1/beneficiaries/{id}", ROLES_STAFF,
                   h_delete) != 0 ||
        http_route(hs, HTTP_GET, "/api/v1/beneficiaries/{id}/export", ROLES_STAFF,
                   h_export) != 0)
        return -1;
    return 0;
}
