/* domain_fields — the field tables shared by the people resources (venues,
 * staff, beneficiaries): one description of each writable field drives the
 * reading and checking of POST/PATCH bodies, the binding of the INSERT and
 * UPDATE statements and the rendering of rows, so the three stay in step.
 * Private to the domain module (core/); implemented in core/domain/domain_util.c.
 *
 * Statement layout (so one table serves both writes):
 *   values of field k at ?k+1 (1..N), "given" flags at ?N+k+1 (N+1..2N);
 *   an UPDATE sets each column with CASE WHEN ?flag THEN ?value ELSE col END.
 */
#ifndef RELAIS_DOMAIN_FIELDS_H
#define RELAIS_DOMAIN_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include <sqlite3.h>

#include "json.h"
#include "phone.h"

#define DOMAIN_FIELDS_MAX 16

enum domain_kind {
    DF_TEXT,    /* trimmed; an optional blank string is stored as NULL */
    DF_EMAIL,   /* text that looks like an address: one '@', no spaces */
    DF_PHONE,   /* normalised to E.164 by phone_normalize */
    DF_BOOL,    /* NOT NULL column, false by default; null sets it back to false */
    DF_INT,     /* within [min, max] */
    DF_YEAR,    /* within [min, the current local year] */
    DF_ENUM     /* one of values */
};

struct domain_field {
    const char *name;           /* JSON key and column name */
    enum domain_kind kind;
    int required;               /* on create; on PATCH it cannot be cleared */
    size_t maxlen;              /* bytes, DF_TEXT / DF_EMAIL */
    int64_t min, max;           /* DF_INT (DF_YEAR uses min only) */
    const char *const *values;  /* DF_ENUM, NULL-terminated */
};

struct domain_value {
    int state;                  /* JSON_ABSENT, JSON_OK, JSON_NULL or JSON_BAD */
    const char *s;              /* text to store (points into the body) */
    size_t len;                 /* its length once trimmed */
    int64_t i;                  /* DF_INT, DF_YEAR, DF_BOOL */
    char phone[PHONE_MAX];      /* DF_PHONE: the E.164 form */
};

/* Reads every field of F[0..N) from BODY into V (N ≤ DOMAIN_FIELDS_MAX, which
 * callers check with a static assertion) and
 * refuses keys that are not in F; each problem is added to C under its field.
 * PATCH: absent fields stay JSON_ABSENT and a required field set to null or
 * blank is an error; otherwise (create) a required field must be given. */
void domain_fields_read(struct json_check *c, const cJSON *body,
                        const struct domain_field *f, size_t n, int patch,
                        struct domain_value *v);
/* Binds V at ?1..?N (SQL NULL when absent or null, except DF_BOOL which binds
 * 0) and, when FLAGS, the "given" flags at ?N+1..?2N. 0 or -1. */
int domain_fields_bind(sqlite3_stmt *s, const struct domain_field *f, size_t n,
                       const struct domain_value *v, int flags);
/* Adds the N columns of the current row of S starting at COL to OBJ, typed
 * by F (text or null, bool, integer or null). 0 or -1 (out of memory). */
int domain_fields_render(cJSON *obj, sqlite3_stmt *s, int col,
                         const struct domain_field *f, size_t n);

/* True when the SQLite error on DB is a UNIQUE or FOREIGN KEY constraint, the
 * two a handler turns into 409 rather than 500. */
int domain_is_conflict(sqlite3 *db);

/* DELETE of a row that sessions may refer to (a venue, a staff member): 404
 * when EXISTS_SQL finds no row ?1, 409 (CONFLICT, "%lld" for the id) when
 * USED_SQL finds a referring session, else DELETE_SQL and 204. NOUN names
 * the object in the log and in a 500. Answers in every case. */
struct domain_delete {
    const char *module, *noun;
    const char *exists_sql, *used_sql, *delete_sql;
    const char *not_found, *conflict;    /* printf formats taking one id */
};
void domain_delete_unreferenced(struct http_req *req, const struct domain_delete *d);

/* Answers STATUS with row ID as SQL (one "?1" parameter) reads it now,
 * turned into JSON by RENDER; 404 (NOT_FOUND, "%lld" for the id) when there
 * is none. MODULE and NOUN name it in the log and in a 500. */
void domain_reply_row(struct http_req *req, int status, int64_t id, const char *sql,
                      cJSON *(*render)(sqlite3_stmt *s), const char *module,
                      const char *noun, const char *not_found);

/* Steps S (bound by the caller, who still store_done()s it) and collects
 * its first column into *OUT (malloc'd, NULL when none). Collected first
 * so that the rows can be updated without a statement still stepping over
 * them. Returns their number, or -1. */
int domain_collect_ids(sqlite3_stmt *s, int64_t **out);

/* --- beneficiaries (core/domain/beneficiaries.c, core/domain/beneficiaries_rights.c) --- */
struct store;
struct http_server;
/* Reads living (not erased) beneficiary ID into *OUT (caller frees): 1 found,
 * 0 none, -1 error. TRAINER set: only when the person is enrolled in a
 * session of STAFF_ID, and with the names only. */
int beneficiaries_fetch(struct store *st, int64_t id, int trainer, int64_t staff_id,
                        cJSON **out);
/* Registers DELETE /api/v1/beneficiaries/{id} and GET …/{id}/export. */
int beneficiaries_rights_register(struct http_server *hs);

/* The columns of a beneficiary in a list (core/domain/beneficiaries.c renders
 * them). */
#define BENEFICIARIES_COLS "b.id, b.first_name, b.last_name, b.phone, b.email, b.birth_year," \
                 " b.gender, b.commune, b.neighborhood, b.prescriber, b.external_id," \
                 " b.consent_sms, b.consent_email, b.organisation_id, b.audience, b.residence," \
                 " b.created_at, b.updated_at"
/* A page of the living people with phone ?2 (E.164) after id ?1, LIMIT ?3,
 * of organisation ?4 and audience ?5 when not NULL (the list's filters):
 * an equality on phone alone, so that SQLite walks the index
 * beneficiaries_phone (schema step 1) in id order, whatever the number of
 * people (tests/unit/test_beneficiaries_search.c checks the plan). */
#define BENEFICIARIES_BY_PHONE_SQL \
    "SELECT " BENEFICIARIES_COLS " FROM beneficiaries b" \
    " WHERE b.phone = ?2 AND b.id > ?1 AND b.erased_at IS NULL" \
    " AND (?4 IS NULL OR b.organisation_id = ?4) AND (?5 IS NULL OR b.audience = ?5)" \
    " ORDER BY b.id LIMIT ?3"

/* The trainer's "own people" condition on beneficiary b, staff id bound at
 * ?TRAINER: enrolled, in any status, in a session they train or in a part of
 * a training they train. */
#define BENEFICIARIES_OWN_PEOPLE(TRAINER)                                    \
    "EXISTS (SELECT 1 FROM enrollments e JOIN sessions s ON s.id = e.session_id" \
    " LEFT JOIN sessions p ON p.id = s.parent_id WHERE e.beneficiary_id = b.id" \
    " AND (s.trainer_id = " TRAINER " OR p.trainer_id = " TRAINER "))"

/* The filters a name search shares, whichever way it finds its rows: each
 * of the words ?3..?8 (folded; NULL when fewer) in search_key, trainer
 * ?9 seeing only their own people (staff id ?10), organisation ?12 and
 * audience ?13 when not NULL. */
#define BENEFICIARIES_WORDS_FILTER                                           \
    " AND (?3 IS NULL OR instr(b.search_key, ?3) > 0)"                       \
    " AND (?4 IS NULL OR instr(b.search_key, ?4) > 0)"                       \
    " AND (?5 IS NULL OR instr(b.search_key, ?5) > 0)"                       \
    " AND (?6 IS NULL OR instr(b.search_key, ?6) > 0)"                       \
    " AND (?7 IS NULL OR instr(b.search_key, ?7) > 0)"                       \
    " AND (?8 IS NULL OR instr(b.search_key, ?8) > 0)"                       \
    " AND (NOT ?9 OR " BENEFICIARIES_OWN_PEOPLE("?10") ")"                   \
    " AND (?12 IS NULL OR b.organisation_id = ?12)"                          \
    " AND (?13 IS NULL OR b.audience = ?13)"

/* A page of the living people whose folded names hold the words, after id
 * ?1, LIMIT ?11, found from the index of three-byte windows (schema step
 * 22): the list of window ?14 (the rarest of the query's) walked in id
 * order, each row kept only when windows ?15..?21 are held by the same
 * person too (a key lookup each; the caller repeats ?14 when the query has
 * fewer windows), then the words checked on the row itself. No read of a
 * person the windows rule out (tests/unit/test_query_plans.c). */
#define BENEFICIARIES_GRAM_PROBE(N)                                          \
    " AND EXISTS (SELECT 1 FROM beneficiary_grams x WHERE x.gram = ?" N      \
    " AND x.beneficiary_id = g.beneficiary_id)"
#define BENEFICIARIES_BY_GRAMS_SQL                                           \
    "SELECT " BENEFICIARIES_COLS " FROM beneficiary_grams g CROSS JOIN beneficiaries b" \
    " WHERE g.gram = ?14 AND g.beneficiary_id > ?1 AND b.id = g.beneficiary_id" \
    BENEFICIARIES_GRAM_PROBE("15") BENEFICIARIES_GRAM_PROBE("16")            \
    BENEFICIARIES_GRAM_PROBE("17") BENEFICIARIES_GRAM_PROBE("18")            \
    BENEFICIARIES_GRAM_PROBE("19") BENEFICIARIES_GRAM_PROBE("20")            \
    BENEFICIARIES_GRAM_PROBE("21")                                           \
    " AND b.erased_at IS NULL" BENEFICIARIES_WORDS_FILTER                    \
    " ORDER BY g.beneficiary_id LIMIT ?11"
/* The windows a name search binds (?14..?21). */
#define BENEFICIARIES_GRAMS 8

/* The same page when no word has three bytes (a search for "li" or "de"):
 * no window to look up, so the rows are read in id order until the page
 * is full; the words of one or two letters such a search holds match most
 * names, so the page fills early. Also the list without q. */
#define BENEFICIARIES_BY_WORDS_SQL                                           \
    "SELECT " BENEFICIARIES_COLS " FROM beneficiaries b"                     \
    " WHERE b.id > ?1 AND b.erased_at IS NULL" BENEFICIARIES_WORDS_FILTER    \
    " ORDER BY b.id LIMIT ?11"

/* /metrics' gauges (core/ops/ops.c), from the counts schema step 24's triggers
 * keep: (status, count) rows, and the living beneficiaries' count. */
#define OPS_SESSION_COUNTS_SQL \
    "SELECT status, n FROM record_counts WHERE name = 'sessions'"
#define OPS_ENROLLMENT_COUNTS_SQL \
    "SELECT status, n FROM record_counts WHERE name = 'enrollments'"
#define OPS_LIVING_COUNT_SQL \
    "SELECT coalesce((SELECT n FROM record_counts WHERE name = 'beneficiaries'" \
    " AND status = 'living'), 0)"

#endif
