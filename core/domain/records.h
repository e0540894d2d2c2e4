/* records — the programme's records that the funders' tables are made of,
 * beside the sessions: the organisations of the network, accompaniments
 * (individual supports), walk-in head counts, meetings (coordination time),
 * equipment and its loans; and the vocabulary they share: the contract's
 * lists, the configured themes and age brackets, and the territory's
 * neighbourhoods that set a person's residence.
 *
 * Rules:
 * - The resources follow docs/hacking.md like the rest of the domain: every
 *   bad field of a body is listed in one 422, writes happen in the
 *   request's transaction (an answer ≥ 400 keeps nothing), references to
 *   other objects that do not exist are a 422 naming the field.
 * - Anonymous groups (an accompaniment without a person, a session's
 *   walk-ins) hold no personal data: a gender, an age bracket and a
 *   residence, each of which may be unknown. An age bracket is stored as its
 *   bounds (RECORDS_AGE_OPEN for an open end), never as its label.
 * - Nothing here logs a name, a phone number or an e-mail address.
 *
 * Ownership: every string returned points into static tables, the caller's
 * configuration or the caller's cJSON tree; nothing is to be freed unless
 * said so.
 */
#ifndef RELAIS_RECORDS_H
#define RELAIS_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include <sqlite3.h>

struct config_records;
struct http_server;
struct json_check;
struct store;

/* --- the contract's lists (NULL-terminated) ---------------------------- */
extern const char *const records_genders[];            /* F M X */
extern const char *const records_residences[];         /* qpv qva outside */
extern const char *const records_audiences[];          /* resident professional */
extern const char *const records_organisation_kinds[]; /* ccas caf … other */
extern const char *const records_modalities[];         /* on_site phone home remote */
extern const char *const records_equipment_uses[];     /* own_smartphone … none */
extern const char *const records_meeting_kinds[];      /* steering_committee … other */
extern const char *const records_device_kinds[];       /* computer tablet smartphone other */

/* --- age brackets (pure) -------------------------------------------------
 * The configured ages {26, 36, 46, 56} make N+1 brackets: "<26" (no lower
 * bound), "26-35", "36-45", "46-55", "56+" (no upper bound). */
#define RECORDS_AGE_OPEN (-1)
#define RECORDS_LABEL_MAX 16
/* Number of brackets (n + 1). */
size_t records_bracket_count(const struct config_records *r);
/* Bounds of bracket I (0 ≤ I < count). */
void records_bracket_at(const struct config_records *r, size_t i, int *min, int *max);
/* The label of the bracket [MIN, MAX] into BUF (≥ RECORDS_LABEL_MAX):
 * "<26", "26-35", "56+"; "unknown" when both ends are open. */
void records_bracket_label(int min, int max, char *buf, size_t n);
/* The bounds of the configured bracket labelled LABEL: 0, or -1 when LABEL
 * is none of them. */
int records_bracket_parse(const struct config_records *r, const char *label, int *min,
                          int *max);

/* --- the territory and the network (pure) --------------------------------- */
/* "qpv" or "qva" when NEIGHBORHOOD is in that list of the territory (case-
 * and accent-insensitive, hyphens and spaces alike), else NULL. NULL when
 * out of memory too: the residence then stays unknown, which is safe. */
const char *records_residence_of(const struct config_records *r, const char *neighborhood);
/* The kind of organisation a free-text name makes obvious ("CCAS de
 * Chambéry" → "ccas", "Pôle emploi" → "france_travail"), else "other". */
const char *records_organisation_kind_guess(const char *name);

/* --- reading bodies --------------------------------------------------------- */
/* An anonymous group: each part NULL (or both bounds RECORDS_AGE_OPEN) when
 * unknown. Strings point into the static lists above. */
struct records_group {
    const char *gender;
    int age_min, age_max;
    const char *residence;
};
/* Reads OBJ (the value of the field PREFIX: "anonymous", "counts[2]") as
 * {gender, age_bracket, residence} plus the keys of EXTRA (NULL-terminated,
 * or NULL), which the caller reads itself. Errors go to C under
 * "PREFIX.key"; an OBJ that is not an object is an error of PREFIX.
 * 0 when the group is good, -1 when an error was added. */
int records_group_read(struct json_check *c, const cJSON *obj, const char *prefix,
                       const struct config_records *r, const char *const *extra,
                       struct records_group *g);
/* Binds G to parameters FIRST..FIRST+3 (gender, age_min, age_max,
 * residence), NULL for unknown parts. SQLITE_OK or an error code. */
int records_group_bind(sqlite3_stmt *s, int first, const struct records_group *g);
/* {gender, age_bracket, residence} from the four columns of S from COL
 * (the order records_group_bind uses); NULL when out of memory. */
cJSON *records_group_json(sqlite3_stmt *s, int col);

/* A local date "YYYY-MM-DD" (a real day of the calendar): 0 or -1. */
int records_date_ok(const char *s);
/* A local date in a body: "YYYY-MM-DD", or an RFC 3339 time read as its
 * local date. JSON_OK with OUT (RECORDS_DATE_MAX bytes) filled, JSON_ABSENT,
 * JSON_NULL or JSON_BAD (error added). */
#define RECORDS_DATE_MAX 16
int records_get_date(struct json_check *c, const cJSON *obj, const char *name, int required,
                     char *out);
/* A query date bound: a local date, or an RFC 3339 time turned into its
 * local date. 0 with OUT (≥ 11 bytes) filled, -1 when S is neither. */
int records_query_date(const char *s, char *out, size_t n);

/* --- organisations (core/domain/organisations.c) ---------------------------------- */
/* The organisation named NAME[0..LEN) (domain_fold equal; the oldest when
 * several are), created with the kind its name makes obvious when there is
 * none: *ID and *CREATED (may be NULL) set. Call inside a transaction.
 * 0 or -1. */
int records_organisation_for_name(struct store *st, const char *name, size_t len,
                                   int64_t *id, int *created);
/* `relais migrate`: links every living beneficiary whose free-text
 * prescriber has no organisation yet to the organisation of that name
 * (made when missing), and sets the residence of those without one from
 * the territory. Idempotent: a second run finds nothing to do. Runs in its
 * own transaction. *ORGS (organisations made), *LINKED and *PLACED (people
 * linked, residences set) may be NULL. 0 or -1 (logged). */
int records_migrate(struct store *st, const struct config_records *r, int *orgs,
                    int *linked, int *placed);

/* --- the right of access (GET /api/v1/beneficiaries/{id}/export) ------------ */
/* Appends to ARR the accompaniments (the objects of the API) and the loans
 * of BENEFICIARY_ID. 0 or -1. */
int accompaniments_export(struct store *st, int64_t beneficiary_id, cJSON *arr);
int loans_export(struct store *st, int64_t beneficiary_id, cJSON *arr);

/* --- routes (one per resource file) ----------------------------------------- */
/* GET /api/v1/vocabulary (records.c). 0 or -1. */
int records_vocabulary_register(struct http_server *hs);
int organisations_register(struct http_server *hs);
int accompaniments_register(struct http_server *hs);
int walkins_register(struct http_server *hs);
int meetings_register(struct http_server *hs);
int equipment_register(struct http_server *hs);
int loans_register(struct http_server *hs);
/* Every route above (records_routes.c: the resource files use records.c,
 * and only this file knows them all). 0 or -1. */
int records_register(struct http_server *hs);

#endif
