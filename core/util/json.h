/* json — reading and checking request bodies with cJSON.
 *
 * A struct json_check collects every problem with a request body, each naming
 * its field, so that one 422 answer lists them all (the contract asks for
 * "every bad field"). Getters never stop at the first error.
 *
 * Getter results: JSON_ABSENT (key missing), JSON_OK (*out set), JSON_NULL
 * (explicit null on an optional field: PATCH uses it to clear), JSON_BAD
 * (an error was added). A required field that is absent or null adds an
 * error and returns JSON_BAD. Returned strings point into the cJSON tree.
 *
 * The void functions here cannot report a failed allocation, and going on
 * would lose a validation error or a reply field: they abort the process
 * instead (small allocations only fail when it is lost anyway).
 */
#ifndef RELAIS_JSON_H
#define RELAIS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

enum { JSON_BAD = -1, JSON_ABSENT = 0, JSON_OK = 1, JSON_NULL = 2 };

struct json_check {
    cJSON *errors;   /* array of {"field", "message"}; owned */
};

void json_check_init(struct json_check *c);
void json_check_free(struct json_check *c);
/* Adds {"field": FIELD, "message": …}. */
void json_check_add(struct json_check *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int json_check_failed(const struct json_check *c);
/* Adds "unknown field" for each key of OBJ not in ALLOWED (NULL-terminated),
 * and "appears more than once" for an allowed key given twice. */
void json_check_known(struct json_check *c, const cJSON *obj,
                      const char *const *allowed);

/* Strings: trimmed of surrounding spaces by the caller if wanted; valid
 * UTF-8 is guaranteed for the whole body earlier (http). MAXLEN in bytes;
 * an empty string counts as absent for a required field. */
int json_get_str(struct json_check *c, const cJSON *obj, const char *name,
                 int required, size_t maxlen, const char **out);
int json_get_bool(struct json_check *c, const cJSON *obj, const char *name,
                  int required, int *out);
/* Integers must be JSON numbers with no fraction, within [MIN, MAX]. */
int json_get_int(struct json_check *c, const cJSON *obj, const char *name,
                 int required, int64_t min, int64_t max, int64_t *out);
/* RFC 3339 time with an offset ("2026-03-03T14:00:00+01:00"), to Unix seconds. */
int json_get_time(struct json_check *c, const cJSON *obj, const char *name,
                  int required, int64_t *out);
/* One of VALUES (NULL-terminated); *idx is its index. */
int json_get_enum(struct json_check *c, const cJSON *obj, const char *name,
                  int required, const char *const *values, int *idx);

/* Output helpers: add a string or null; an int64 (a cJSON number below
 * 10^15 in magnitude, exact raw digits beyond, which cJSON would round); a
 * time as RFC 3339 UTC ("…Z") or null when T is INT64_MIN. */
void json_add_str(cJSON *obj, const char *name, const char *v);
void json_add_int(cJSON *obj, const char *name, int64_t v);
void json_add_time(cJSON *obj, const char *name, int64_t t);

/* The text of DOC exactly as cJSON_PrintUnformatted writes it, faster
 * (integers without printf, one growing buffer): malloc'd, its length in
 * *LEN (may be NULL); NULL when out of memory or DOC holds an invalid item. */
char *json_print(const cJSON *doc, size_t *len);

/* Request bodies nest no deeper than this (ours use three levels). */
#define JSON_MAX_DEPTH 64
/* Checks BUF[0..LEN) against the RFC 8259 grammar exactly (cJSON alone
 * accepts "01", "1.", "+1"), with nesting capped at JSON_MAX_DEPTH. 0, or -1
 * with *ERR_AT (may be NULL) set to the offset of the first error. */
int json_syntax_check(const char *buf, size_t len, size_t *err_at);

/* 1 when BUF[0..LEN) is valid UTF-8 (no overlongs, no surrogates). */
int json_utf8_valid(const char *buf, size_t len);

#endif
