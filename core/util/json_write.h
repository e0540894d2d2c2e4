/* json_write — JSON text written straight into one growing buffer, with no
 * tree: for answers built from database rows (a page of sessions), where a
 * cJSON tree cost an allocation per field, then its printing and freeing
 * (docs/profiling.md). The text is byte for byte what json_print (and so
 * cJSON_PrintUnformatted) writes for the same values: the same escaping,
 * the same numbers; tests/unit/test_json.c compares them.
 *
 * Rules: values go where the structure says (after jw_key in an object,
 * anywhere in an array); commas are the writer's business. An allocation
 * failure or a nesting deeper than JW_MAX_DEPTH makes the writer bad: later
 * calls do nothing and jw_take returns NULL, so callers check once, at the
 * end.
 *
 * Ownership: a struct jw owns its buffer until jw_take hands it over
 * (malloc'd, NUL-terminated); jw_free frees what was not taken.
 */
#ifndef RELAIS_JSON_WRITE_H
#define RELAIS_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 32

struct jw {
    char *p;
    size_t len, cap;
    int bad;
    int depth;
    int after_key;                      /* a key was written, its value is next */
    unsigned char first[JW_MAX_DEPTH];  /* nothing written yet at that level */
};

/* An empty writer with room for HINT bytes (0: a default). */
void jw_init(struct jw *w, size_t hint);
void jw_free(struct jw *w);
/* The text (malloc'd, the caller's), its length in *LEN; NULL when the
 * writer went bad or a container is still open. The writer is empty after. */
char *jw_take(struct jw *w, size_t *len);

void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
/* The name of the next member of the open object. */
void jw_key(struct jw *w, const char *name);
/* The same for a name written as a string literal with nothing to escape
 * (our own names): no scan, one copy of `"name":`. */
#define jw_key_lit(w, lit) jw_key_raw((w), "\"" lit "\":", sizeof("\"" lit "\":") - 1)
void jw_key_raw(struct jw *w, const char *text, size_t n);
/* A string, or null for NULL. */
void jw_str(struct jw *w, const char *s);
/* An integer as json_add_int writes it (every int64 exactly). */
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* A time as json_add_time writes it: RFC 3339 UTC, or null for INT64_MIN. */
void jw_time(struct jw *w, int64_t t);

/* The primitives json_print shares: bytes as they are, a string with
 * cJSON's escaping (NULL: ""), a number as cJSON prints a double. */
void jw_put(struct jw *w, const char *s, size_t n);
void jw_put_string(struct jw *w, const char *s);
void jw_put_number(struct jw *w, double d);

#endif
