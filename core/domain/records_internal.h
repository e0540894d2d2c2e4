/* records_internal — what the files of the records module share
 * (organisations.c, accompaniments*.c, walkins.c, meetings.c, equipment.c,
 * loans.c). Not a module contract: other modules go through
 * core/domain/records.h.
 *
 * Ownership: accompaniments_render returns a tree the caller owns.
 */
#ifndef RELAIS_RECORDS_INTERNAL_H
#define RELAIS_RECORDS_INTERNAL_H

#include <stdint.h>
#include <cJSON.h>
#include <sqlite3.h>

struct http_req;
struct json_check;
struct store;

/* The largest id a JSON number carries exactly (2^53 − 1). */
#define RECORDS_ID_MAX INT64_C(9007199254740991)

/* The columns of an accompaniment (alias "a") in the order
 * accompaniments_render() reads them; the themes and the equipment come
 * joined by U+001F, in the order they were given. */
#define ACC_COLS \
    "a.id, a.beneficiary_id, a.anon_gender, a.anon_age_min, a.anon_age_max," \
    " a.anon_residence, a.venue_id, a.staff_id, a.session_id, a.started_at, a.minutes," \
    " a.modality, a.procedure_operator, a.procedure_done, a.autonomy, a.referred_to, a.pass," \
    " a.created_at, a.updated_at," \
    " (SELECT group_concat(theme, char(31)) FROM (SELECT theme FROM accompaniment_themes t" \
    "   WHERE t.accompaniment_id = a.id ORDER BY pos))," \
    " (SELECT group_concat(equipment, char(31)) FROM (SELECT equipment" \
    "   FROM accompaniment_equipment e WHERE e.accompaniment_id = a.id ORDER BY pos))"

/* GET /api/v1/accompaniments: LEAD (one of the filters as an equality, or
 * 1) and started_at between ?1 and ?2 (always bound: the lowest and highest
 * instants for an absent bound, and ?1 raised to the cursor's), then the
 * other filters ?3..?6 and the cursor (?7, ?8) on the rows found, LIMIT ?9.
 * tests/unit/test_query_plans.c checks each variant's index. */
#define ACC_LIST_SQL(LEAD)                                                   \
    "SELECT " ACC_COLS " FROM accompaniments a WHERE " LEAD                  \
    " AND a.started_at >= ?1 AND a.started_at <= ?2"                         \
    " AND (?3 IS NULL OR a.beneficiary_id = ?3)"                             \
    " AND (?4 IS NULL OR a.staff_id = ?4)"                                   \
    " AND (?5 IS NULL OR a.venue_id = ?5)"                                   \
    " AND (?6 IS NULL OR a.session_id = ?6)"                                 \
    " AND (?7 IS NULL OR a.started_at > ?7 OR (a.started_at = ?7 AND a.id > ?8))" \
    " ORDER BY a.started_at, a.id LIMIT ?9"

/* The output object of the current row of S (read with ACC_COLS). NULL
 * when out of memory. */
cJSON *accompaniments_render(sqlite3_stmt *s);
/* Answers STATUS with accompaniment ID as stored now; 404 when there is
 * none, or when REQ is a trainer's and it is not their own. */
void accompaniments_reply(struct http_req *req, int64_t id, int status);
/* POST and PATCH (core/domain/accompaniments_write.c). */
void accompaniments_create(struct http_req *req);
void accompaniments_patch(struct http_req *req);

/* 1 when ID is a living (not erased) beneficiary REQ may name in a record,
 * 0 when not (erased, or unknown), -1 on error. */
int records_person_ok(struct http_req *req, int64_t id);
/* Reads the JSON array NAME of OBJ as strings each in VALUES (N of them),
 * skipping repeats, into OUT (room for MAX): their number, or -1 with an
 * error on NAME added to C (not an array, not a string, not in VALUES —
 * naming the value —, more than MAX). */
int records_read_strings(struct json_check *c, const cJSON *obj, const char *name,
                         const char *const *values, size_t n, const char **out, size_t max);
/* Reads ARR (the value of the field NAME) as an array of at most MAX ids,
 * each found by EXISTS_SQL (one "?1"), repeats dropped, into OUT: their
 * number; -1 when errors were added to C (naming WHAT: "no such WHAT:
 * 12"); -2 on a database error. */
int records_read_ids(struct store *st, struct json_check *c, const cJSON *arr,
                     const char *name, const char *exists_sql, const char *what,
                     int64_t *out, int max);
/* 1 when S is one of the NULL-terminated LIST. */
int records_in(const char *const *list, const char *s);
/* Appends to ARR the objects RENDER makes of the rows SQL (one "?1", bound
 * to ID) gives. 0 or -1. */
int records_append_rows(struct store *st, const char *sql, int64_t id,
                        cJSON *(*render)(sqlite3_stmt *s), cJSON *arr);
/* For GET …/sessions/{id}/…: 1 when session ID exists, else answers (404,
 * 500) and returns 0. */
int records_session_found(struct http_req *req, int64_t id);
/* For PUT …/sessions/{id}/…: 1 when session ID exists and REQ may write on
 * it (a trainer: their own session, else 403 saying REFUSAL), with
 * *CANCELLED set; else answers (404, 403, 500) and returns 0. */
int records_session_writable(struct http_req *req, int64_t id, int *cancelled,
                             const char *refusal);

#endif
