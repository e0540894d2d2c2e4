/* sessions_text — the JSON of a session written straight into a buffer
 * (json_write.h), for the GET answers: byte for byte what
 * sessions_json() printed through a cJSON tree, which the POST and PATCH
 * answers still use. A page of 50 sessions built as trees spent most of
 * its time allocating, printing and freeing them (docs/profiling.md, "API
 * read path"). tests/unit/test_sessions_text.c compares both on every
 * kind of session. Uses sessions.c's reading; called by sessions_routes.c.
 */
#include "sessions_internal.h"

#include <stdlib.h>

#include "domain.h"
#include "json_write.h"
#include "log.h"
#include "store.h"

/* NAME: a string literal. */
#define id_or_null(w, name, v) id_or_null_raw((w), "\"" name "\":", \
                                              sizeof("\"" name "\":") - 1, (v))

static void id_or_null_raw(struct jw *w, const char *key, size_t n, int64_t v)
{
    jw_key_raw(w, key, n);
    if (v > 0)
        jw_int(w, v);
    else
        jw_null(w);
}

/* The permanence grid, as slots_json: one merge pass over the slots taken,
 * read in order from the partial index enrollments_slot (the same SQL
 * text, so the same cached statement). */
static int write_slots(struct jw *w, struct store *st, const struct sessions_row *r)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT slot_start FROM enrollments WHERE session_id = ?1"
        " AND slot_start IS NOT NULL AND status NOT IN ('cancelled','waitlisted')"
        " ORDER BY slot_start");
    int n, step, rc = -1;
    int64_t len = r->slot_minutes * 60;

    if (!s || sqlite3_bind_int64(s, 1, r->id) != SQLITE_OK)
        goto out;
    n = slots_count(r->starts_at, r->ends_at, (int)r->slot_minutes);
    step = sqlite3_step(s);
    jw_arr(w);
    for (int i = 0; i < n; i++) {
        int64_t start = r->starts_at + (int64_t)i * len;
        int taken = 0;

        while (step == SQLITE_ROW && sqlite3_column_int64(s, 0) <= start) {
            if (sqlite3_column_int64(s, 0) == start)
                taken = 1;
            step = sqlite3_step(s);
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            goto out;
        jw_obj(w);
        jw_key_lit(w, "start");
        jw_time(w, start);
        jw_key_lit(w, "free");
        jw_bool(w, !taken);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    rc = 0;
out:
    if (rc != 0)
        log_error("sessions", "reading the slots of session %lld failed", (long long)r->id);
    store_done(s);
    return rc;
}

/* The parts of a training, as parts_json, and in *SECONDS the sum of
 * their lengths. */
static int write_parts(struct jw *w, struct store *st, int64_t training_id, int64_t *seconds)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT " SESSIONS_COLS " FROM sessions s"
                                     " WHERE s.parent_id = ?1 ORDER BY s.starts_at, s.id");
    int step, rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, training_id) != SQLITE_OK)
        goto out;
    jw_arr(w);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct sessions_row part;
        int bad;

        if (sessions_row_read(s, &part) != 0)
            goto out;
        *seconds += part.ends_at - part.starts_at;
        bad = sessions_write(w, st, &part);
        sessions_row_clear(&part);
        if (bad)
            goto out;
    }
    if (step != SQLITE_DONE)
        goto out;
    jw_arr_end(w);
    rc = 0;
out:
    if (rc != 0)
        log_error("sessions", "reading the parts of session %lld failed",
                  (long long)training_id);
    store_done(s);
    return rc;
}

int sessions_write(struct jw *w, struct store *st, const struct sessions_row *r)
{
    jw_obj(w);
    jw_key_lit(w, "id");
    jw_int(w, r->id);
    jw_key_lit(w, "kind");
    jw_str(w, sessions_kind_names[r->kind]);
    jw_key_lit(w, "title");
    jw_str(w, r->title);
    jw_key_lit(w, "theme");
    jw_str(w, r->theme);
    id_or_null(w, "level", r->level);
    id_or_null(w, "venue_id", r->venue_id);
    id_or_null(w, "trainer_id", r->trainer_id);
    jw_key_lit(w, "starts_at");
    jw_time(w, r->starts_at);
    jw_key_lit(w, "ends_at");
    jw_time(w, r->ends_at);
    jw_key_lit(w, "capacity");
    if (r->capacity >= 0)
        jw_int(w, r->capacity);
    else
        jw_null(w);
    id_or_null(w, "slot_minutes", r->slot_minutes);
    jw_key_lit(w, "online");
    jw_bool(w, r->online);
    jw_key_lit(w, "status");
    jw_str(w, r->cancelled ? "cancelled" : "scheduled");
    id_or_null(w, "series_id", r->series_id);
    id_or_null(w, "parent_id", r->parent_id);
    jw_key_lit(w, "booked");
    jw_int(w, r->booked);
    jw_key_lit(w, "waitlisted");
    jw_int(w, r->waitlisted);
    jw_key_lit(w, "unmarked");
    jw_int(w, r->unmarked);
    jw_key_lit(w, "remaining");
    if (r->capacity >= 0)
        jw_int(w, r->capacity > r->booked ? r->capacity - r->booked : 0);
    else
        jw_null(w);
    jw_key_lit(w, "cancel_reason");
    jw_str(w, r->cancel_reason);
    jw_key_lit(w, "headcount");
    jw_int(w, r->headcount);
    jw_key_lit(w, "created_at");
    jw_time(w, r->created_at);
    jw_key_lit(w, "updated_at");
    jw_time(w, r->updated_at);
    if (r->kind == SESSION_TRAINING && r->parent_id == 0) {
        int64_t seconds = 0;

        jw_key_lit(w, "parts");
        if (write_parts(w, st, r->id, &seconds) != 0)
            return -1;
        jw_key_lit(w, "minutes");
        jw_int(w, seconds / 60);
    } else {
        jw_key_lit(w, "minutes");
        jw_int(w, (r->ends_at - r->starts_at) / 60);
    }
    if (r->kind == SESSION_PERMANENCE && r->slot_minutes > 0) {
        jw_key_lit(w, "slots");
        if (write_slots(w, st, r) != 0)
            return -1;
    }
    jw_obj_end(w);
    return w->bad ? -1 : 0;
}
