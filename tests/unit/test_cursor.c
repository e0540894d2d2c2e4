/* Unit tests for list cursors and page parameters (core/http/http_reply.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "http.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void test_round_trip(void **state)
{
    static const int64_t keys[][2] = {
        {0, 0}, {1, 2}, {-1, -1}, {1772542800, 123}, {INT64_MIN, INT64_MAX},
        {INT64_MAX, INT64_MIN}, {9007199254740992LL, 1},
    };
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int64_t k1 = 42, k2 = 42;

        http_cursor_encode(keys[i][0], keys[i][1], buf, sizeof buf);
        assert_int_equal(strlen(buf), 24);
        assert_int_equal(strspn(buf, b64url), 24);   /* URL-safe, no padding */
        assert_int_equal(http_cursor_decode(buf, &k1, &k2), 0);
        assert_true(k1 == keys[i][0]);
        assert_true(k2 == keys[i][1]);
    }
}

static void test_distinct_keys_distinct_cursors(void **state)
{
    char a[64], b[64];

    (void)state;
    http_cursor_encode(1, 2, a, sizeof a);
    http_cursor_encode(2, 1, b, sizeof b);
    assert_string_not_equal(a, b);
    http_cursor_encode(1, 2, b, sizeof b);
    assert_string_equal(a, b);   /* stable: a client may repeat a page */
}

static void test_small_buffer(void **state)
{
    char buf[24];

    (void)state;
    memset(buf, 'x', sizeof buf);
    http_cursor_encode(1, 2, buf, sizeof buf);
    assert_string_equal(buf, "");
    http_cursor_encode(1, 2, buf, 0);   /* nothing written, nothing broken */
}

static void test_garbage_refused(void **state)
{
    static const char *const bad[] = {
        "", "x", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAA", "________________________", "null", "1",
        "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAAA=",
        "AQAAAAAAAAAB+AAAAAAAAAA/", "AQAAAAAAAAAB AAAAAAAAAAA", "AQAAAAAAAAABAAAAAAAAAA\nA",
    };
    char ok[64], buf[80];
    int64_t k1 = 7, k2 = 7;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(http_cursor_decode(bad[i], &k1, &k2), -1);
    assert_int_equal(http_cursor_decode(NULL, &k1, &k2), -1);
    /* A valid cursor with anything around it, or cut short, is not one. */
    http_cursor_encode(5, 6, ok, sizeof ok);
    snprintf(buf, sizeof buf, "%s ", ok);
    assert_int_equal(http_cursor_decode(buf, &k1, &k2), -1);
    snprintf(buf, sizeof buf, " %s", ok);
    assert_int_equal(http_cursor_decode(buf, &k1, &k2), -1);
    memcpy(buf, ok, sizeof ok);
    buf[10] = '\0';   /* what a C reader sees of a NUL inside */
    assert_int_equal(http_cursor_decode(buf, &k1, &k2), -1);
    assert_true(k1 == 7 && k2 == 7);   /* untouched on failure */
}

/* Every single-character edit of a cursor is refused: the check byte is a
 * CRC-8, which catches any error burst of up to 8 bits (one character is 6). */
static void test_every_single_edit_refused(void **state)
{
    static const int64_t keys[][2] = {{0, 0}, {1772542800, 99}, {-5, INT64_MAX}};
    char ok[64], buf[64];
    int64_t k1, k2;
    int tried = 0;

    (void)state;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        http_cursor_encode(keys[k][0], keys[k][1], ok, sizeof ok);
        for (int pos = 0; pos < 24; pos++) {
            for (int c = 0; c < 64; c++) {
                if (b64url[c] == ok[pos])
                    continue;
                memcpy(buf, ok, sizeof ok);
                buf[pos] = b64url[c];
                assert_int_equal(http_cursor_decode(buf, &k1, &k2), -1);
                tried++;
            }
        }
    }
    assert_int_equal(tried, 3 * 24 * 63);
}

/* Random strings of the right length and alphabet almost never pass:
 * both the version byte and the check byte must come out right. */
static void test_random_strings_refused(void **state)
{
    uint32_t seed = 12345;
    char buf[25];
    int64_t k1, k2;
    int passed = 0;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        for (int j = 0; j < 24; j++) {
            seed = seed * 1103515245u + 12345u;
            buf[j] = b64url[(seed >> 16) & 63];
        }
        buf[24] = '\0';
        passed += http_cursor_decode(buf, &k1, &k2) == 0;
    }
    assert_true(passed <= 5);
}

/* --- ?limit and ?cursor ---------------------------------------------------- */

struct ctx {
    struct http_req req;
    struct json_check chk;
    struct http_page page;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);

    if (!c)
        return -1;
    TAILQ_INIT(&c->req.query);
    json_check_init(&c->chk);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;

    evhttp_clear_headers(&c->req.query);
    json_check_free(&c->chk);
    free(c);
    return 0;
}

/* Parses QUERY afresh into the fixture and runs http_page_parse. */
static void parse(struct ctx *c, const char *query)
{
    evhttp_clear_headers(&c->req.query);
    json_check_free(&c->chk);
    json_check_init(&c->chk);
    assert_int_equal(evhttp_parse_query_str(query, &c->req.query), 0);
    memset(&c->page, 0x55, sizeof c->page);
    http_page_parse(&c->req, &c->chk, &c->page);
}

static const char *error_for(struct ctx *c, const char *field)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, c->chk.errors) {
        if (strcmp(cJSON_GetObjectItem(e, "field")->valuestring, field) == 0)
            return cJSON_GetObjectItem(e, "message")->valuestring;
    }
    return NULL;
}

static void test_page_defaults(void **state)
{
    struct ctx *c = *state;

    parse(c, "");
    assert_false(json_check_failed(&c->chk));
    assert_int_equal(c->page.limit, 50);
    assert_int_equal(c->page.has_cursor, 0);
    assert_true(c->page.k1 == 0 && c->page.k2 == 0);
    parse(c, "kind=workshop");
    assert_false(json_check_failed(&c->chk));
    assert_int_equal(c->page.limit, 50);
}

static void test_page_limits(void **state)
{
    struct ctx *c = *state;
    static const char *const bad[] = {
        "limit=0", "limit=501", "limit=abc", "limit=", "limit=-1", "limit=%2B5", "limit=5.0",
        "limit=+5", "limit=%205", "limit=5%20", "limit=99999999999", "limit=1e2", "limit=0x10",
    };

    parse(c, "limit=1");
    assert_false(json_check_failed(&c->chk));
    assert_int_equal(c->page.limit, 1);
    parse(c, "limit=500");
    assert_false(json_check_failed(&c->chk));
    assert_int_equal(c->page.limit, 500);
    parse(c, "limit=007");
    assert_int_equal(c->page.limit, 7);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse(c, bad[i]);
        assert_int_equal(cJSON_GetArraySize(c->chk.errors), 1);
        assert_string_equal(error_for(c, "limit"), "must be an integer between 1 and 500");
        assert_int_equal(c->page.limit, 50);
    }
}

static void test_page_cursor(void **state)
{
    struct ctx *c = *state;
    char cur[64], q[128];

    http_cursor_encode(1772542800, 31, cur, sizeof cur);
    snprintf(q, sizeof q, "limit=20&cursor=%s", cur);
    parse(c, q);
    assert_false(json_check_failed(&c->chk));
    assert_int_equal(c->page.limit, 20);
    assert_int_equal(c->page.has_cursor, 1);
    assert_true(c->page.k1 == 1772542800 && c->page.k2 == 31);
}

static void test_page_bad_cursor(void **state)
{
    struct ctx *c = *state;
    char cur[64], q[128];

    parse(c, "cursor=");
    assert_non_null(error_for(c, "cursor"));
    assert_int_equal(c->page.has_cursor, 0);
    parse(c, "cursor=garbage");
    assert_non_null(error_for(c, "cursor"));
    assert_int_equal(c->page.has_cursor, 0);
    assert_true(c->page.k1 == 0 && c->page.k2 == 0);
    http_cursor_encode(10, 20, cur, sizeof cur);
    cur[5] = cur[5] == 'A' ? 'B' : 'A';
    snprintf(q, sizeof q, "cursor=%s", cur);
    parse(c, q);
    assert_int_equal(cJSON_GetArraySize(c->chk.errors), 1);
    assert_non_null(error_for(c, "cursor"));
    /* Both wrong: both reported, neither hides the other. */
    parse(c, "limit=0&cursor=zzz");
    assert_int_equal(cJSON_GetArraySize(c->chk.errors), 2);
    assert_non_null(error_for(c, "limit"));
    assert_non_null(error_for(c, "cursor"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_distinct_keys_distinct_cursors),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_every_single_edit_refused),
        cmocka_unit_test(test_random_strings_refused),
        cmocka_unit_test_setup_teardown(test_page_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_bad_cursor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
