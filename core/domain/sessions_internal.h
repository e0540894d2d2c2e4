/* sessions_internal — what the session and enrollment files share
 * (sessions.c, sessions_routes.c, sessions_write.c, sessions_patch.c,
 * sessions_feed.c, enrollments.c, enrollments_waitlist.c, series.c),
 * implemented in sessions.c and enrollments_waitlist.c, which call none of
 * the handlers, and, for a series changed, cancelled or enrolled in date by
 * date exactly as one session is (core/domain/series.c), the steps of
 * sessions_patch.c and enrollments.c marked below, which call no handler
 * either. Not a module contract: other modules go through
 * core/domain/domain.h.
 *
 * A session row is read with SESSIONS_COLS (alias "s") into a struct
 * sessions_row; nullable columns use a sentinel (below) so that callers never
 * juggle SQL NULLs. Ownership: sessions_row_clear() frees the strings of a
 * row; sessions_json() returns a tree the caller owns.
 */
#ifndef RELAIS_SESSIONS_INTERNAL_H
#define RELAIS_SESSIONS_INTERNAL_H

#include <stdint.h>
#include <cJSON.h>
#include <sqlite3.h>

struct store;
struct http_req;
struct http_server;
struct json_check;

enum { SESSION_WORKSHOP = 0, SESSION_PERMANENCE = 1, SESSION_TRAINING = 2 };
/* "workshop", "permanence", "training", NULL: indexed by the enum above. */
extern const char *const sessions_kind_names[];

/* The statuses that take a place (booked + attendance marks), as SQL. */
#define SESSIONS_TAKEN_SQL "('booked','attended','absent','excused')"

/* Columns of a session row, in the order sessions_row_read() expects, with
 * the counts of places taken and of the waitlist (kept on the row by
 * triggers on enrollments: core/store/schema.c, step 5), the reason of a
 * cancellation and the walk-ins' total (step 9), and the count of the
 * people booked not marked yet (kept by the triggers too: step 16). */
#define SESSIONS_COLS \
    "s.id, s.kind, s.title, s.theme, s.level, s.venue_id, s.trainer_id," \
    " s.starts_at, s.ends_at, s.capacity, s.slot_minutes, s.online, s.status," \
    " s.series_id, s.parent_id, s.sequence, s.created_at, s.updated_at," \
    " s.taken_n, s.waitlisted_n, s.cancel_reason, s.headcount, s.booked_n"

struct sessions_row {
    int64_t id;
    int kind;               /* SESSION_* */
    char *title;            /* malloc'd */
    char *theme;            /* malloc'd, NULL when none */
    int64_t level;          /* 0: none */
    int64_t venue_id;       /* 0: none */
    int64_t trainer_id;     /* 0: none */
    int64_t starts_at, ends_at;
    int64_t capacity;       /* -1: no limit */
    int64_t slot_minutes;   /* 0: no slots */
    int online;
    int cancelled;
    int64_t series_id;      /* 0: none */
    int64_t parent_id;      /* 0: not a training part */
    int64_t sequence;
    int64_t created_at, updated_at;
    int64_t booked, waitlisted;
    char *cancel_reason;    /* malloc'd, NULL when none */
    int64_t headcount;      /* walk-ins counted (core/domain/walkins.c) */
    int64_t unmarked;       /* enrollments still 'booked' (schema step 16) */
};

/* Reads the SESSIONS_COLS columns starting at column 0. 0, or -1 when out
 * of memory or the stored kind is unknown. */
int sessions_row_read(sqlite3_stmt *s, struct sessions_row *r);
void sessions_row_clear(struct sessions_row *r);
/* 1 found (R filled, clear it), 0 no such session, -1 error. */
int sessions_load(struct store *st, int64_t id, struct sessions_row *r);
/* The output object of docs/api.md, with "parts" for a training and "slots"
 * for a permanence with slot_minutes. NULL on a database error or OOM. */
cJSON *sessions_json(struct store *st, const struct sessions_row *r);
/* The same object written into W (core/domain/sessions_text.c), byte for byte
 * what json_print gives for sessions_json's tree. 0, or -1 on a database
 * error or when W went bad (out of memory): discard W then. */
struct jw;
int sessions_write(struct jw *w, struct store *st, const struct sessions_row *r);
/* Answers STATUS with session ID as stored now (500 if it cannot be read). */
void sessions_reply(struct http_req *req, int status, int64_t id);

/* Filters shared by the list and the feed; absent ones are RT_NONE / -1 / 0. */
struct sessions_filter {
    int64_t from, to;       /* starts_at range, both inclusive */
    int kind;               /* SESSION_* or -1 */
    int status;             /* 0 scheduled, 1 cancelled, -1 any */
    int64_t venue_id, trainer_id, parent_id;   /* 0: any */
};
/* Reads ?from ?to ?kind ?venue_id ?trainer_id ?status ?parent_id, adding an
 * error to C for each bad one. */
void sessions_filter_parse(struct http_req *req, struct json_check *c,
                           struct sessions_filter *f);
/* A positive id in a query string (digits only, no sign, no overflow): 0,
 * or -1. */
int sessions_parse_query_id(const char *s, int64_t *out);
/* A `from`/`to` query bound: an RFC 3339 instant, or a local date meaning
 * the start of that day (IS_END 0) or its last second (IS_END 1). 0 or -1. */
int sessions_parse_bound(const char *s, int is_end, int64_t *out);
/* Binds F to parameters ?1..?7 of the list and feed queries. The range is
 * always bound, the lowest and highest instants standing for an absent
 * bound: "?1 IS NULL OR s.starts_at >= ?1" kept SQLite from walking
 * sessions_starts between the bounds (it read from the first session ever,
 * issue 16). 0 or -1. */
int sessions_filter_bind(sqlite3_stmt *s, const struct sessions_filter *f);

/* The filters of the list and the feed on session s (?1..?7, bound by
 * sessions_filter_bind): a range of sessions_starts, then the others on the
 * rows of that range. */
#define SESSIONS_FILTER_SQL                                                  \
    " s.starts_at >= ?1 AND s.starts_at <= ?2"                               \
    " AND (?3 IS NULL OR s.kind = ?3) AND (?4 IS NULL OR s.venue_id = ?4)"   \
    " AND (?5 IS NULL OR s.trainer_id = ?5) AND (?6 IS NULL OR s.status = ?6)" \
    " AND (?7 IS NULL OR s.parent_id = ?7)"
/* GET /api/v1/sessions: a page after cursor (?8, ?9) when ?8 is not NULL
 * (the caller raises ?1 to the cursor's starts_at, so that the range starts
 * there), LIMIT ?10, in the order of sessions_starts. */
#define SESSIONS_LIST_SQL                                                    \
    "SELECT " SESSIONS_COLS " FROM sessions s WHERE" SESSIONS_FILTER_SQL      \
    " AND (?8 IS NULL OR s.starts_at > ?8 OR (s.starts_at = ?8 AND s.id > ?9))" \
    " ORDER BY s.starts_at, s.id LIMIT ?10"
/* GET /api/v1/sessions.ics: the events, LIMIT ?8. */
#define SESSIONS_FEED_SQL                                                    \
    "SELECT s.id, s.title, s.theme, s.level, s.starts_at, s.ends_at,"        \
    " s.status, s.sequence, s.updated_at, s.online, v.name, v.address,"      \
    " v.commune FROM sessions s LEFT JOIN venues v ON v.id = s.venue_id WHERE" \
    SESSIONS_FILTER_SQL " ORDER BY s.starts_at, s.id LIMIT ?8"

/* --- sessions_patch.c: changing one session ------------------------------ */
/* The new values of a change; strings are borrowed (from a body or a row). */
struct sessions_change {
    const char *title, *theme;
    int64_t level, venue_id, trainer_id, starts_at, ends_at, capacity, slot_minutes;
    int online;
};
/* N = the values of R as they are. */
void sessions_change_from_row(struct sessions_change *n, const struct sessions_row *r);
/* Writes N over OLD and records what happened: "moved" for a new start or
 * end, "venue" for a new venue (both raise SEQUENCE and tell the people
 * booked), "updated" for the rest. Nothing is written when nothing
 * changed. The caller checked N (capacity ≥ places taken, the slot grid),
 * and books the waitlist when the capacity grew. 0 or -1. */
int sessions_change_apply(struct store *st, const struct sessions_row *old,
                          const struct sessions_change *n, int64_t now, int64_t token_id);
/* 1 when every slot booked in permanence OLD still starts a slot of N's
 * window and grid (always 1 for another kind or an unchanged grid), 0 when
 * one would not, -1 on error. */
int sessions_grid_ok(struct store *st, const struct sessions_row *old,
                     const struct sessions_change *n);
/* A cancellation's reason, in bytes: a sentence ("formatrice malade",
 * "salle indisponible"), which the report groups by. */
#define SESSIONS_CANCEL_REASON_MAX 300
/* Cancels session ID if it is scheduled (recorded, which tells the people
 * booked), keeping REASON (NULL: none) as its cancel_reason; its training
 * parts are the caller's. 0 or -1. */
int sessions_cancel_one(struct store *st, int64_t id, int64_t now, int64_t token_id,
                        const char *reason);

/* 1 when venue (staff member) ID exists, 0 when not, -1 on error. */
int sessions_venue_exists(struct store *st, int64_t id);
int sessions_staff_exists(struct store *st, int64_t id);

/* S without surrounding blanks, trimmed in place: S must point into a body
 * the handler owns (a cJSON tree), never into a constant. */
const char *sessions_trim(const char *s);
/* Like sessions_trim(), but a string left empty becomes NULL (no value). */
const char *sessions_trim_opt(const char *s);

/* Adds the errors of SUB to C with field names prefixed ("parts[2].title"),
 * then empties SUB. */
void sessions_check_merge(struct json_check *c, struct json_check *sub,
                          const char *prefix);

/* --- enrollments.c --------------------------------------------------------- */
/* Enrolls living beneficiary BID in session R (scheduled, not a training
 * part; R->booked current): booked while a place is left, else waitlisted;
 * SLOT a checked slot start or RT_NONE; a training's parts follow. BATCH_ID
 * < 0: alone; 0: the first of a batch (its id becomes the batch's); > 0:
 * joins that batch (core/notify/outbox_batch.c). The event is recorded, and its
 * observers (the outbox: the confirmation or waitlist message) run in the
 * transaction; a veto is an error. 0 with *EID and *STATUS (static), 1
 * already enrolled (or a unique index said no), -1 error. */
int enrollments_add(struct store *st, const struct sessions_row *r, int64_t bid, int64_t slot,
                    int64_t batch_id, int64_t token_id, int64_t *eid, const char **status);
/* The JSON of enrollment ID (docs/api.md "Enrollments"), NULL on error. */
cJSON *enrollments_json(struct store *st, int64_t id);

/* --- enrollments_waitlist.c ---------------------------------------------- */
/* 1 when a place-taking enrollment other than EXCEPT_ID holds SLOT_START in
 * SESSION_ID, 0 when the slot is free, -1 on error. */
int enrollments_slot_taken(struct store *st, int64_t session_id, int64_t slot_start,
                           int64_t except_id);
/* Sets enrollment ID to STATUS and records EVENT for it. 0 or -1. */
int enrollments_set_status(struct store *st, int64_t id, const char *status,
                           const char *event, int64_t now, int64_t token_id);
/* The same for the part enrollments of training enrollment PARENT_ID: the
 * waitlisted ones (ONLY_WAITLISTED) or the booked and waitlisted ones. */
int enrollments_set_parts(struct store *st, int64_t parent_id, int only_waitlisted,
                          const char *status, const char *event, int64_t now,
                          int64_t token_id);

#endif
