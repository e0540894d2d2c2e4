/* Unit tests for the HTTP router (core/http/http_router.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"

static void h_a(struct http_req *req) { (void)req; }
static void h_b(struct http_req *req) { (void)req; }
static void h_c(struct http_req *req) { (void)req; }

static int setup(void **state)
{
    struct http_router *r = http_router_new();
    if (!r)
        return -1;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    http_router_free(*state);
    return 0;
}

static void test_literal_and_params(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    assert_int_equal(http_router_add(r, HTTP_GET | HTTP_POST, "/api/v1/venues", ROLES_ALL, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_GET | HTTP_PATCH, "/api/v1/venues/{id}", ROLES_STAFF, h_b), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/api/v1/venues", &m), 200);
    assert_ptr_equal(m.fn, h_a);
    assert_int_equal(m.roles, ROLES_ALL);
    assert_string_equal(m.pattern, "/api/v1/venues");
    assert_int_equal(m.nparams, 0);
    http_match_clear(&m);

    assert_int_equal(http_router_match(r, HTTP_PATCH, "/api/v1/venues/42", &m), 200);
    assert_ptr_equal(m.fn, h_b);
    assert_int_equal(m.roles, ROLES_STAFF);
    assert_string_equal(m.pattern, "/api/v1/venues/{id}");
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.names[0], "id");
    assert_string_equal(m.values[0], "42");
    http_match_clear(&m);
    assert_int_equal(m.nparams, 0);
    http_match_clear(&m);   /* twice is harmless */
}

static void test_several_params_in_order(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    assert_int_equal(http_router_add(r, HTTP_GET, "/a/{one}/b/{two}/{three}/{four}", 0, h_a), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/a/1/b/2/3/4", &m), 200);
    assert_int_equal(m.nparams, 4);
    assert_string_equal(m.names[0], "one");
    assert_string_equal(m.values[0], "1");
    assert_string_equal(m.names[3], "four");
    assert_string_equal(m.values[3], "4");
    http_match_clear(&m);
}

static void test_literal_beats_parameter(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    /* Registered parameter first, so that order cannot be what decides. */
    assert_int_equal(http_router_add(r, HTTP_GET, "/api/v1/sessions/{id}", ROLES_ALL, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_GET, "/api/v1/sessions/feed", ROLES_ALL, h_b), 0);
    assert_int_equal(http_router_add(r, HTTP_GET, "/api/v1/sessions.ics", ROLES_ALL, h_c), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/api/v1/sessions/feed", &m), 200);
    assert_ptr_equal(m.fn, h_b);
    assert_int_equal(m.nparams, 0);
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_GET, "/api/v1/sessions/7", &m), 200);
    assert_ptr_equal(m.fn, h_a);
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_GET, "/api/v1/sessions.ics", &m), 200);
    assert_ptr_equal(m.fn, h_c);
    http_match_clear(&m);
    /* Earlier segment decides: /x/{p} beats /{q}/y for /x/y. */
    assert_int_equal(http_router_add(r, HTTP_GET, "/{q}/y", 0, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_GET, "/x/{p}", 0, h_b), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/x/y", &m), 200);
    assert_ptr_equal(m.fn, h_b);
    assert_string_equal(m.names[0], "p");
    http_match_clear(&m);
}

static void test_literal_without_method_falls_to_parameter(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    assert_int_equal(http_router_add(r, HTTP_GET, "/s/feed", 0, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_DELETE, "/s/{id}", 0, h_b), 0);
    assert_int_equal(http_router_match(r, HTTP_DELETE, "/s/feed", &m), 200);
    assert_ptr_equal(m.fn, h_b);
    assert_string_equal(m.values[0], "feed");
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_POST, "/s/feed", &m), 405);
    assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_DELETE);
    http_match_clear(&m);
}

static void test_405_allowed_bits(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    assert_int_equal(http_router_add(r, HTTP_GET, "/v", ROLES_ALL, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_POST, "/v", ROLES_STAFF, h_b), 0);
    assert_int_equal(http_router_add(r, HTTP_PUT, "/only-put", 0, h_c), 0);
    assert_int_equal(http_router_match(r, HTTP_POST, "/v", &m), 200);
    assert_ptr_equal(m.fn, h_b);
    assert_int_equal(m.roles, ROLES_STAFF);
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_PATCH, "/v", &m), 405);
    assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
    assert_null(m.fn);
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_DELETE, "/only-put", &m), 405);
    assert_int_equal(m.allowed, HTTP_PUT);   /* no GET, so no HEAD */
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_GET, "/nothing", &m), 404);
    assert_int_equal(m.allowed, 0);
    http_match_clear(&m);
}

static void test_head_uses_get(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    assert_int_equal(http_router_add(r, HTTP_GET, "/g", 0, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_POST, "/p", 0, h_b), 0);
    assert_int_equal(http_router_match(r, HTTP_HEAD, "/g", &m), 200);
    assert_ptr_equal(m.fn, h_a);
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_HEAD, "/p", &m), 405);
    assert_int_equal(m.allowed, HTTP_POST);
    http_match_clear(&m);
    /* A route that names HEAD itself wins over the GET one. */
    assert_int_equal(http_router_add(r, HTTP_HEAD, "/g", 0, h_c), 0);
    assert_int_equal(http_router_match(r, HTTP_HEAD, "/g", &m), 200);
    assert_ptr_equal(m.fn, h_c);
    http_match_clear(&m);
}

static void test_percent_decoding(void **state)
{
    struct http_router *r = *state;
    struct http_match m;

    assert_int_equal(http_router_add(r, HTTP_GET, "/r/{token}", 0, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_GET, "/api/v1/venues", 0, h_b), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/r/ab%20cd", &m), 200);
    assert_string_equal(m.values[0], "ab cd");
    http_match_clear(&m);
    /* %2F stays inside the parameter: it is not a separator. */
    assert_int_equal(http_router_match(r, HTTP_GET, "/r/a%2Fb", &m), 200);
    assert_string_equal(m.values[0], "a/b");
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_GET, "/r/a%2fb", &m), 200);
    assert_string_equal(m.values[0], "a/b");
    http_match_clear(&m);
    /* '+' is not a space in a path. */
    assert_int_equal(http_router_match(r, HTTP_GET, "/r/a+b", &m), 200);
    assert_string_equal(m.values[0], "a+b");
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_GET, "/r/%C3%A9t%C3%A9", &m), 200);
    assert_string_equal(m.values[0], "\xC3\xA9t\xC3\xA9");
    http_match_clear(&m);
    /* Literal segments compare decoded. */
    assert_int_equal(http_router_match(r, HTTP_GET, "/api/v1/venue%73", &m), 200);
    assert_ptr_equal(m.fn, h_b);
    http_match_clear(&m);
    /* An encoded slash never joins two literal segments. */
    assert_int_equal(http_router_match(r, HTTP_GET, "/api%2Fv1/venues", &m), 404);
    http_match_clear(&m);
}

static void test_broken_escapes(void **state)
{
    struct http_router *r = *state;
    struct http_match m;
    const char *bad[] = {"/r/%zz", "/r/%4", "/r/%", "/r/ab%", "/r/%g1", "/r/%00", "/r/a%00b",
                         "/r/%%41"};

    assert_int_equal(http_router_add(r, HTTP_GET, "/r/{token}", 0, h_a), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http_router_match(r, HTTP_GET, bad[i], &m), 404);
        assert_int_equal(m.nparams, 0);
        http_match_clear(&m);
    }
}

static void test_slashes_and_empty_segments(void **state)
{
    struct http_router *r = *state;
    struct http_match m;
    const char *bad[] = {"/api/v1/venues/", "//api/v1/venues", "/api//v1/venues",
                         "/api/v1/venues//", "api/v1/venues", "", "/api/v1/venues/1/",
                         "/api/v1", "/api/v1/venues/1/2"};

    assert_int_equal(http_router_add(r, HTTP_GET, "/api/v1/venues", 0, h_a), 0);
    assert_int_equal(http_router_add(r, HTTP_GET, "/api/v1/venues/{id}", 0, h_b), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http_router_match(r, HTTP_GET, bad[i], &m), 404);
        http_match_clear(&m);
    }
    assert_int_equal(http_router_match(r, HTTP_GET, NULL, &m), 404);
    /* The root is only matched by the pattern "/". */
    assert_int_equal(http_router_match(r, HTTP_GET, "/", &m), 404);
    assert_int_equal(http_router_add(r, HTTP_GET, "/", 0, h_c), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/", &m), 200);
    assert_ptr_equal(m.fn, h_c);
    http_match_clear(&m);
    assert_int_equal(http_router_match(r, HTTP_GET, "//", &m), 404);
}

static void test_long_paths(void **state)
{
    struct http_router *r = *state;
    struct http_match m;
    char path[512] = "";

    assert_int_equal(http_router_add(r, HTTP_GET, "/{a}", 0, h_a), 0);
    for (int i = 0; i < 40; i++)
        strcat(path, "/x");
    assert_int_equal(http_router_match(r, HTTP_GET, path, &m), 404);
    /* A 16-segment pattern is the most there is. */
    assert_int_equal(http_router_add(r, HTTP_GET,
                     "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", 0, h_b), 0);
    assert_int_equal(http_router_match(r, HTTP_GET, "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16",
                                       &m), 200);
    assert_ptr_equal(m.fn, h_b);
    http_match_clear(&m);
    assert_int_equal(http_router_add(r, HTTP_GET,
                     "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", 0, h_b), -1);
}

static void test_bad_patterns(void **state)
{
    struct http_router *r = *state;
    const char *bad[] = {
        "", "venues", "//", "/a//b", "/a/", "/{}", "/{a", "/a}", "/{a-b}", "/{a}{b}",
        "/x{a}", "/{a}/{a}", "/{a}/{b}/{c}/{d}/{e}", "/a%20b", "/a?b", "/a#b", "/{ a}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(http_router_add(r, HTTP_GET, bad[i], 0, h_a), -1);
    assert_int_equal(http_router_add(r, HTTP_GET, NULL, 0, h_a), -1);
    assert_int_equal(http_router_add(r, 0, "/ok", 0, h_a), -1);
    assert_int_equal(http_router_add(r, 128, "/ok", 0, h_a), -1);
    assert_int_equal(http_router_add(r, HTTP_GET, "/ok", 0, NULL), -1);
    assert_int_equal(http_router_add(NULL, HTTP_GET, "/ok", 0, h_a), -1);
    /* Four parameters is the limit, not an error. */
    assert_int_equal(http_router_add(r, HTTP_GET, "/{a}/{b}/{c}/{d}", 0, h_a), 0);
}

static void test_conflicts(void **state)
{
    struct http_router *r = *state;

    assert_int_equal(http_router_add(r, HTTP_GET, "/v/{id}", 0, h_a), 0);
    /* Same shape, same method: only one could ever answer. */
    assert_int_equal(http_router_add(r, HTTP_GET | HTTP_POST, "/v/{other}", 0, h_b), -1);
    /* Same shape, other methods: fine. */
    assert_int_equal(http_router_add(r, HTTP_PATCH | HTTP_DELETE, "/v/{other}", 0, h_b), 0);
    /* A literal where the other has a parameter is another shape. */
    assert_int_equal(http_router_add(r, HTTP_GET, "/v/list", 0, h_c), 0);
}

static void test_too_many_routes(void **state)
{
    struct http_router *r = *state;
    char pat[32];
    int added = 0;

    for (int i = 0; i < 600; i++) {
        snprintf(pat, sizeof pat, "/route%d", i);
        if (http_router_add(r, HTTP_GET, pat, 0, h_a) == 0)
            added++;
    }
    assert_int_equal(added, 512);
}

static void test_null_router(void **state)
{
    struct http_match m;

    (void)state;
    assert_int_equal(http_router_match(NULL, HTTP_GET, "/", &m), 404);
    http_router_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literal_and_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_params_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_beats_parameter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_without_method_falls_to_parameter,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_405_allowed_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_uses_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_percent_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slashes_and_empty_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_routes, setup, teardown),
        cmocka_unit_test(test_null_router),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
