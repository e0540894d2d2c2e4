/* Unit tests for request-body checking (core/util/json.c). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

struct fixture {
    struct json_check c;
    cJSON *obj;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    json_check_init(&f->c);
    f->obj = cJSON_Parse(
        "{\"name\": \"Atelier\", \"empty\": \"\", \"spaces\": \"  \\t \", \"nul\": null,"
        " \"num\": 2, \"neg\": -7, \"frac\": 2.5, \"whole\": 3.0, \"negzero\": -0,"
        " \"big\": 1e300, \"over53\": 9007199254740994, \"at53\": 9007199254740992,"
        " \"numstr\": \"2\", \"yes\": true, \"no\": false, \"arr\": [1], \"objv\": {},"
        " \"five\": \"abcde\", \"six\": \"abcdef\", \"accent\": \"\xC3\xA9t\xC3\xA9\","
        " \"when\": \"2026-03-03T14:00:00+01:00\", \"whenz\": \"2026-03-03T13:00:00Z\","
        " \"feb31\": \"2026-02-31T10:00:00Z\", \"kind\": \"permanence\"}");
    if (!f->obj)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    json_check_free(&f->c);
    cJSON_Delete(f->obj);
    free(f);
    return 0;
}

/* The message recorded for FIELD, or NULL. */
static const char *message_for(const struct json_check *c, const char *field)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, c->errors) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");
        if (cJSON_IsString(f) && strcmp(f->valuestring, field) == 0)
            return cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring;
    }
    return NULL;
}

static void test_check_collects(void **state)
{
    struct fixture *f = *state;
    const cJSON *e;

    assert_false(json_check_failed(&f->c));
    json_check_add(&f->c, "phone", "not a phone number (%d digits)", 7);
    json_check_add(&f->c, "email", "not an email address");
    assert_true(json_check_failed(&f->c));
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 2);
    e = cJSON_GetArrayItem(f->c.errors, 0);
    assert_string_equal(cJSON_GetObjectItem(e, "field")->valuestring, "phone");
    assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring,
                        "not a phone number (7 digits)");
    assert_int_equal(cJSON_GetArraySize(e), 2);
    json_check_free(&f->c);
    assert_null(f->c.errors);
    assert_false(json_check_failed(&f->c));
    json_check_free(&f->c);
    /* Adding after the errors were taken away starts a new list. */
    json_check_add(&f->c, "x", "bad");
    assert_true(json_check_failed(&f->c));
}

static void test_known_fields(void **state)
{
    struct fixture *f = *state;
    const char *const allowed[] = {"name", "address", NULL};
    cJSON *o = cJSON_Parse("{\"name\": \"a\", \"Name\": 1, \"zzz\": 2, \"address\": null}");
    cJSON *dup = cJSON_Parse("{\"name\": \"a\", \"name\": \"b\"}");
    cJSON *arr = cJSON_Parse("[1, 2]");

    assert_non_null(o);
    assert_non_null(dup);
    assert_non_null(arr);
    json_check_known(&f->c, o, allowed);
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 2);
    assert_string_equal(message_for(&f->c, "Name"), "unknown field");
    assert_string_equal(message_for(&f->c, "zzz"), "unknown field");
    json_check_free(&f->c);
    json_check_init(&f->c);
    json_check_known(&f->c, dup, allowed);
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 1);
    assert_string_equal(message_for(&f->c, "name"), "appears more than once");
    json_check_free(&f->c);
    json_check_init(&f->c);
    json_check_known(&f->c, arr, allowed);
    json_check_known(&f->c, NULL, allowed);
    assert_false(json_check_failed(&f->c));
    cJSON_Delete(o);
    cJSON_Delete(dup);
    cJSON_Delete(arr);
}

static void test_str(void **state)
{
    struct fixture *f = *state;
    const char *s = NULL;

    assert_int_equal(json_get_str(&f->c, f->obj, "name", 1, 100, &s), JSON_OK);
    assert_string_equal(s, "Atelier");
    assert_int_equal(json_get_str(&f->c, f->obj, "five", 1, 5, &s), JSON_OK);
    assert_string_equal(s, "abcde");
    assert_int_equal(json_get_str(&f->c, f->obj, "empty", 0, 5, &s), JSON_OK);
    assert_string_equal(s, "");
    assert_int_equal(json_get_str(&f->c, f->obj, "absent", 0, 5, &s), JSON_ABSENT);
    assert_int_equal(json_get_str(&f->c, f->obj, "nul", 0, 5, &s), JSON_NULL);
    assert_false(json_check_failed(&f->c));

    assert_int_equal(json_get_str(&f->c, f->obj, "six", 1, 5, &s), JSON_BAD);
    assert_string_equal(message_for(&f->c, "six"), "must be at most 5 characters");
    /* MAXLEN counts bytes: "été" is 5. */
    assert_int_equal(json_get_str(&f->c, f->obj, "accent", 0, 4, &s), JSON_BAD);
    assert_int_equal(json_get_str(&f->c, f->obj, "absent", 1, 5, &s), JSON_BAD);
    assert_string_equal(message_for(&f->c, "absent"), "required");
    assert_int_equal(json_get_str(&f->c, f->obj, "nul", 1, 5, &s), JSON_BAD);
    assert_string_equal(message_for(&f->c, "nul"), "required");
    assert_int_equal(json_get_str(&f->c, f->obj, "empty", 1, 5, &s), JSON_BAD);
    assert_string_equal(message_for(&f->c, "empty"), "required");
    assert_int_equal(json_get_str(&f->c, f->obj, "spaces", 1, 5, &s), JSON_BAD);
    assert_string_equal(message_for(&f->c, "spaces"), "required");
    assert_int_equal(json_get_str(&f->c, f->obj, "num", 0, 5, &s), JSON_BAD);
    assert_string_equal(message_for(&f->c, "num"), "must be a string");
    assert_int_equal(json_get_str(&f->c, f->obj, "yes", 0, 5, &s), JSON_BAD);
    assert_int_equal(json_get_str(&f->c, f->obj, "arr", 0, 5, &s), JSON_BAD);
    assert_int_equal(json_get_str(&f->c, f->obj, "objv", 0, 5, &s), JSON_BAD);
    /* Every bad field was recorded: getters never stop at the first. */
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 10);
    assert_string_equal(s, "");   /* *out untouched on failure */
}

static void test_bool(void **state)
{
    struct fixture *f = *state;
    int b = -1;

    assert_int_equal(json_get_bool(&f->c, f->obj, "yes", 1, &b), JSON_OK);
    assert_int_equal(b, 1);
    assert_int_equal(json_get_bool(&f->c, f->obj, "no", 1, &b), JSON_OK);
    assert_int_equal(b, 0);
    assert_int_equal(json_get_bool(&f->c, f->obj, "absent", 0, &b), JSON_ABSENT);
    assert_int_equal(json_get_bool(&f->c, f->obj, "nul", 0, &b), JSON_NULL);
    assert_false(json_check_failed(&f->c));
    assert_int_equal(json_get_bool(&f->c, f->obj, "num", 0, &b), JSON_BAD);
    assert_string_equal(message_for(&f->c, "num"), "must be true or false");
    assert_int_equal(json_get_bool(&f->c, f->obj, "numstr", 0, &b), JSON_BAD);
    assert_int_equal(json_get_bool(&f->c, f->obj, "name", 0, &b), JSON_BAD);
    assert_int_equal(json_get_bool(&f->c, f->obj, "nul", 1, &b), JSON_BAD);
    assert_string_equal(message_for(&f->c, "nul"), "required");
    assert_int_equal(json_get_bool(&f->c, f->obj, "absent", 1, &b), JSON_BAD);
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 5);
    assert_int_equal(b, 0);
}

static void test_int(void **state)
{
    struct fixture *f = *state;
    int64_t v = 0;

    assert_int_equal(json_get_int(&f->c, f->obj, "num", 1, 1, 3, &v), JSON_OK);
    assert_int_equal(v, 2);
    assert_int_equal(json_get_int(&f->c, f->obj, "whole", 1, 1, 3, &v), JSON_OK);
    assert_int_equal(v, 3);
    assert_int_equal(json_get_int(&f->c, f->obj, "neg", 1, -7, 0, &v), JSON_OK);
    assert_int_equal(v, -7);
    assert_int_equal(json_get_int(&f->c, f->obj, "negzero", 1, 0, 0, &v), JSON_OK);
    assert_int_equal(v, 0);
    assert_int_equal(json_get_int(&f->c, f->obj, "at53", 1, 0, INT64_MAX, &v), JSON_OK);
    assert_int_equal(v, 9007199254740992LL);
    assert_int_equal(json_get_int(&f->c, f->obj, "absent", 0, 1, 3, &v), JSON_ABSENT);
    assert_int_equal(json_get_int(&f->c, f->obj, "nul", 0, 1, 3, &v), JSON_NULL);
    assert_false(json_check_failed(&f->c));

    assert_int_equal(json_get_int(&f->c, f->obj, "neg", 1, 1, 3, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "neg"), "must be an integer between 1 and 3");
    assert_int_equal(json_get_int(&f->c, f->obj, "num", 1, 3, 5, &v), JSON_BAD);
    assert_int_equal(json_get_int(&f->c, f->obj, "frac", 1, 1, 3, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "frac"), "must be an integer between 1 and 3");
    assert_int_equal(json_get_int(&f->c, f->obj, "numstr", 1, 1, 3, &v), JSON_BAD);
    assert_int_equal(json_get_int(&f->c, f->obj, "yes", 1, 1, 3, &v), JSON_BAD);
    assert_int_equal(json_get_int(&f->c, f->obj, "arr", 1, 1, 3, &v), JSON_BAD);
    assert_int_equal(json_get_int(&f->c, f->obj, "big", 1, INT64_MIN, INT64_MAX, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "big"), "must be an integer");
    assert_int_equal(json_get_int(&f->c, f->obj, "over53", 1, 1, INT64_MAX, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "over53"), "must be an integer of at least 1");
    assert_int_equal(json_get_int(&f->c, f->obj, "num", 1, INT64_MIN, 1, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "num"), "must be an integer between 3 and 5");
    assert_int_equal(json_get_int(&f->c, f->obj, "nul", 1, 1, 3, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "nul"), "required");
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 10);
    json_check_free(&f->c);
    json_check_init(&f->c);
    assert_int_equal(json_get_int(&f->c, f->obj, "num", 1, INT64_MIN, 1, &v), JSON_BAD);
    assert_string_equal(message_for(&f->c, "num"), "must be an integer of at most 1");
    assert_int_equal(v, 9007199254740992LL);
}

static void test_time(void **state)
{
    struct fixture *f = *state;
    int64_t t = 0;

    assert_int_equal(json_get_time(&f->c, f->obj, "when", 1, &t), JSON_OK);
    assert_int_equal(t, 1772542800);
    assert_int_equal(json_get_time(&f->c, f->obj, "whenz", 1, &t), JSON_OK);
    assert_int_equal(t, 1772542800);
    assert_int_equal(json_get_time(&f->c, f->obj, "absent", 0, &t), JSON_ABSENT);
    assert_int_equal(json_get_time(&f->c, f->obj, "nul", 0, &t), JSON_NULL);
    assert_false(json_check_failed(&f->c));
    assert_int_equal(json_get_time(&f->c, f->obj, "feb31", 1, &t), JSON_BAD);
    assert_non_null(strstr(message_for(&f->c, "feb31"), "RFC 3339"));
    assert_int_equal(json_get_time(&f->c, f->obj, "name", 1, &t), JSON_BAD);
    assert_int_equal(json_get_time(&f->c, f->obj, "num", 1, &t), JSON_BAD);
    assert_string_equal(message_for(&f->c, "num"), "must be an RFC 3339 time as a string");
    assert_int_equal(json_get_time(&f->c, f->obj, "empty", 1, &t), JSON_BAD);
    assert_string_equal(message_for(&f->c, "empty"), "required");
    assert_int_equal(json_get_time(&f->c, f->obj, "empty", 0, &t), JSON_BAD);
    assert_int_equal(json_get_time(&f->c, f->obj, "absent", 1, &t), JSON_BAD);
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 6);
    assert_int_equal(t, 1772542800);
}

static void test_enum(void **state)
{
    struct fixture *f = *state;
    const char *const kinds[] = {"workshop", "permanence", "training", NULL};
    const char *const many[] = {
        "alpha-alpha-alpha", "bravo-bravo-bravo", "charlie-charlie", "delta-delta-delta",
        "echo-echo-echo", "foxtrot-foxtrot", "golf-golf-golf", "hotel-hotel-hotel",
        "india-india-india", "juliett-juliett", "kilo-kilo-kilo", "lima-lima-lima", NULL};
    int idx = -1;

    assert_int_equal(json_get_enum(&f->c, f->obj, "kind", 1, kinds, &idx), JSON_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(json_get_enum(&f->c, f->obj, "absent", 0, kinds, &idx), JSON_ABSENT);
    assert_int_equal(json_get_enum(&f->c, f->obj, "nul", 0, kinds, &idx), JSON_NULL);
    assert_false(json_check_failed(&f->c));
    assert_int_equal(json_get_enum(&f->c, f->obj, "name", 1, kinds, &idx), JSON_BAD);
    assert_string_equal(message_for(&f->c, "name"),
                        "must be one of: workshop, permanence, training");
    assert_int_equal(json_get_enum(&f->c, f->obj, "num", 1, kinds, &idx), JSON_BAD);
    assert_int_equal(json_get_enum(&f->c, f->obj, "empty", 1, kinds, &idx), JSON_BAD);
    assert_int_equal(json_get_enum(&f->c, f->obj, "absent", 1, kinds, &idx), JSON_BAD);
    assert_int_equal(json_get_enum(&f->c, f->obj, "kind", 1, many, &idx), JSON_BAD);
    /* A long list is cut, not overflowed. */
    assert_true(strlen(message_for(&f->c, "kind")) < 200);
    assert_non_null(strstr(message_for(&f->c, "kind"), "..."));
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 5);
    assert_int_equal(idx, 1);
}

static void test_not_an_object(void **state)
{
    struct fixture *f = *state;
    cJSON *arr = cJSON_Parse("[\"name\"]");
    const char *s;
    int64_t v;

    assert_non_null(arr);
    assert_int_equal(json_get_str(&f->c, arr, "name", 0, 10, &s), JSON_ABSENT);
    assert_int_equal(json_get_int(&f->c, NULL, "n", 0, 0, 1, &v), JSON_ABSENT);
    assert_int_equal(json_get_str(&f->c, arr, "name", 1, 10, &s), JSON_BAD);
    assert_int_equal(cJSON_GetArraySize(f->c.errors), 1);
    cJSON_Delete(arr);
}

static void test_output_helpers(void **state)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    (void)state;
    assert_non_null(o);
    json_add_str(o, "a", "x\"y");
    json_add_str(o, "b", NULL);
    json_add_int(o, "c", -42);
    json_add_int(o, "d", 9007199254740992LL);
    json_add_time(o, "e", 1772542800);
    json_add_time(o, "f", INT64_MIN);
    json_add_int(o, "g", 999999999999999LL);
    json_add_int(o, "h", INT64_MIN);
    /* Ordinary integers stay numbers for code that reads the tree. */
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "c")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "g")));
    text = cJSON_PrintUnformatted(o);
    assert_non_null(text);
    assert_string_equal(text, "{\"a\":\"x\\\"y\",\"b\":null,\"c\":-42,\"d\":9007199254740992,"
                              "\"e\":\"2026-03-03T13:00:00Z\",\"f\":null,\"g\":999999999999999,"
                              "\"h\":-9223372036854775808}");
    free(text);
    cJSON_Delete(o);
}

#define V(s) json_utf8_valid(s, sizeof(s) - 1)

static void test_utf8(void **state)
{
    (void)state;
    assert_true(json_utf8_valid("", 0));
    assert_true(V("plain ascii"));
    assert_true(V("caf\xC3\xA9"));                  /* é */
    assert_true(V("\xC2\x80"));                     /* U+0080, smallest 2-byte */
    assert_true(V("\xDF\xBF"));                     /* U+07FF */
    assert_true(V("\xE0\xA0\x80"));                 /* U+0800, smallest 3-byte */
    assert_true(V("\xE2\x82\xAC"));                 /* € */
    assert_true(V("\xED\x9F\xBF"));                 /* U+D7FF, just below surrogates */
    assert_true(V("\xEE\x80\x80"));                 /* U+E000, just above */
    assert_true(V("\xEF\xBF\xBF"));                 /* U+FFFF */
    assert_true(V("\xF0\x90\x80\x80"));             /* U+10000 */
    assert_true(V("\xF0\x9F\x98\x80"));             /* emoji */
    assert_true(V("\xF4\x8F\xBF\xBF"));             /* U+10FFFF */
    assert_true(V("a\0b"));                         /* U+0000 is valid UTF-8 */

    assert_false(V("\x80"));                        /* lone continuation */
    assert_false(V("\xBF"));
    assert_false(V("\xC0\x80"));                    /* overlong NUL */
    assert_false(V("\xC1\xBF"));                    /* overlong */
    assert_false(V("\xE0\x80\x80"));                /* overlong 3-byte */
    assert_false(V("\xE0\x9F\xBF"));                /* overlong U+07FF */
    assert_false(V("\xF0\x80\x80\x80"));            /* overlong 4-byte */
    assert_false(V("\xF0\x8F\xBF\xBF"));            /* overlong U+FFFF */
    assert_false(V("\xED\xA0\x80"));                /* U+D800 */
    assert_false(V("\xED\xBF\xBF"));                /* U+DFFF */
    assert_false(V("\xED\xA0\xBD\xED\xB8\x80"));    /* CESU-8 surrogate pair */
    assert_false(V("\xF4\x90\x80\x80"));            /* U+110000 */
    assert_false(V("\xF5\x80\x80\x80"));
    assert_false(V("\xF8\x88\x80\x80\x80"));        /* 5-byte form */
    assert_false(V("\xFE"));
    assert_false(V("\xFF"));
    assert_false(V("\xC3"));                        /* truncated 2-byte */
    assert_false(V("\xE2\x82"));                    /* truncated 3-byte */
    assert_false(V("\xF0\x9F\x98"));                /* truncated 4-byte */
    assert_false(V("ab\xC3"));
    assert_false(V("\xC3\x28"));                    /* bad continuation */
    assert_false(V("\xE2\x28\xA1"));
    assert_false(V("\xF0\x9F\x28\x80"));
    /* The length is what counts, not a NUL: a sequence cut by LEN fails. */
    assert_false(json_utf8_valid("\xE2\x82\xAC", 2));
    assert_true(json_utf8_valid("\xE2\x82\xAC", 3));
}

static int syn(const char *s)
{
    return json_syntax_check(s, strlen(s), NULL);
}

static void test_syntax(void **state)
{
    char *deep;
    size_t at = 99;
    (void)state;
    /* RFC 8259 values cJSON would also take */
    assert_int_equal(syn("{}"), 0);
    assert_int_equal(syn(" { \"a\" : [1, -2.5e+3, 0, 0.25, true, false, null, \"x\\u00e9\\n\"] } "), 0);
    assert_int_equal(syn("[[],{},[{}]]"), 0);
    assert_int_equal(syn("\"lone string\""), 0);
    assert_int_equal(syn("-0"), 0);
    /* what cJSON accepts and the grammar does not */
    assert_int_equal(syn("{\"a\": 01}"), -1);
    assert_int_equal(syn("{\"a\": 1.}"), -1);
    assert_int_equal(syn("{\"a\": +1}"), -1);
    assert_int_equal(syn("{\"a\": .5}"), -1);
    assert_int_equal(syn("{\"a\": 1e}"), -1);
    assert_int_equal(syn("{\"a\": 0x10}"), -1);
    assert_int_equal(syn("{\"a\": NaN}"), -1);
    assert_int_equal(syn("{\"a\": 1,}"), -1);
    assert_int_equal(syn("[1,]"), -1);
    assert_int_equal(syn("{,}"), -1);
    assert_int_equal(syn("{\"a\" 1}"), -1);
    assert_int_equal(syn("{a: 1}"), -1);
    assert_int_equal(syn("{'a': 1}"), -1);
    assert_int_equal(syn("{\"a\": \"tab\there\"}"), -1);   /* raw control char */
    assert_int_equal(syn("{\"a\": \"\\x\"}"), -1);         /* bad escape */
    assert_int_equal(syn("{\"a\": \"\\u12\"}"), -1);
    assert_int_equal(syn("{\"a\": tru}"), -1);
    /* surrogate escapes: a pair is fine, a lone half is not (fuzzer find) */
    assert_int_equal(syn("\"\\ud83d\\ude00\""), 0);
    assert_int_equal(syn("\"\\udddd\""), -1);
    assert_int_equal(syn("\"\\ud83d\""), -1);
    assert_int_equal(syn("\"\\ud83dx\""), -1);
    assert_int_equal(syn("\"\\ud83d\\u0041\""), -1);
    assert_int_equal(syn("{} {}"), -1);
    assert_int_equal(syn("[1 2]"), -1);
    assert_int_equal(syn("{\"a\": [}"), -1);
    assert_int_equal(syn("{\"a\": 1]"), -1);
    assert_int_equal(syn(""), -1);
    assert_int_equal(syn("   "), -1);
    assert_int_equal(json_syntax_check("{\"a\": 01}", 10, &at), -1);
    assert_int_equal(at, 6);
    /* nesting: JSON_MAX_DEPTH is fine, one more is refused, 10,000 too */
    deep = malloc(20002);
    assert_non_null(deep);
    memset(deep, '[', JSON_MAX_DEPTH);
    memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
    assert_int_equal(json_syntax_check(deep, 2 * JSON_MAX_DEPTH, NULL), 0);
    memset(deep, '[', JSON_MAX_DEPTH + 1);
    memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
    assert_int_equal(json_syntax_check(deep, 2 * JSON_MAX_DEPTH + 2, NULL), -1);
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    assert_int_equal(json_syntax_check(deep, 20000, NULL), -1);
    free(deep);
}

/* json_print writes what cJSON_PrintUnformatted writes, byte for byte. */
static void same_as_cjson(const cJSON *doc)
{
    char *want = cJSON_PrintUnformatted(doc);
    size_t len = 0;
    char *got = json_print(doc, &len);

    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(want);
    free(got);
}

static void test_print(void **state)
{
    static const double numbers[] = {
        0, -0.0, 1, -1, 7, 2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0,
        1e9, 1e14, 999999999999999.0, 1e15, -1e15, 9007199254740992.0, 1e300, -1e300,
        0.5, -2.5, 0.1, 1.0 / 3, 2.0 / 3, 1e-7, 123.456, 5e-324, 1.7976931348623157e308,
    };
    const char *texts[] = {
        "{}", "[]", "[[],{}]", "null", "true", "false", "\"\"",
        "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\",\"e\":true}",
        "\"quote \\\" back \\\\ slash \\/ \\b\\f\\n\\r\\t \\u0001\\u001f \u00e9t\u00e9 \u2603\"",
        "{\"k\\n\\\"y\":\"v\"}",
    };
    cJSON *doc;
    char raw[] = "{\"raw\":1}";

    (void)state;
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        doc = cJSON_CreateArray();
        assert_non_null(doc);
        assert_true(cJSON_AddItemToArray(doc, cJSON_CreateNumber(numbers[i])));
        same_as_cjson(doc);
        cJSON_Delete(doc);
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        doc = cJSON_Parse(texts[i]);
        assert_non_null(doc);
        same_as_cjson(doc);
        cJSON_Delete(doc);
    }
    /* the output helpers' shapes: raw digits, null strings, times */
    doc = cJSON_CreateObject();
    assert_non_null(doc);
    json_add_int(doc, "id", 42);
    json_add_int(doc, "huge", INT64_MAX);
    json_add_str(doc, "none", NULL);
    json_add_time(doc, "at", 1772542800);
    assert_non_null(cJSON_AddRawToObject(doc, "raw", raw));
    assert_non_null(cJSON_AddNumberToObject(doc, "nan", NAN));
    same_as_cjson(doc);
    cJSON_Delete(doc);
    assert_null(json_print(NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_collects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_str, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_object, setup, teardown),
        cmocka_unit_test(test_output_helpers),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
