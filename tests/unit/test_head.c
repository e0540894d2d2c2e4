/* Unit tests for the request head parser (core/http/http_head.c): what it
 * accepts, what it writes for evhttp, and every way a head is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <event2/buffer.h>

#include "http_head.h"
#include "http.h"

/* Parses the literal S (its bytes, NULs included) and returns the verdict;
 * the canonical text into OUT (≥ 1024 bytes) when accepted. */
#define PARSE(s, h, out) parse_n(s, sizeof(s) - 1, h, out)

static enum head_error parse_n(const char *s, size_t n, struct http_head *h, char *out)
{
    struct evbuffer *b = evbuffer_new();
    enum head_error rc;
    size_t len;

    assert_non_null(b);
    rc = http_head_parse(s, n, h, b);
    len = evbuffer_get_length(b);
    assert_true(len < 1024);
    if (out) {
        evbuffer_copyout(b, out, len);
        out[len] = '\0';
    }
    assert_false(h->nomem);
    evbuffer_free(b);
    return rc;
}

static void test_accepts_and_canonicalises(void **state)
{
    struct http_head h;
    char out[1024];

    (void)state;
    assert_int_equal(PARSE("GET /api/v1/venues?limit=2 HTTP/1.1\r\nHost: x\r\n"
                           "Authorization:   Bearer rls_abc \t\r\n", &h, out), HEAD_OK);
    assert_int_equal(h.method, HTTP_GET);
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.tlen, strlen("/api/v1/venues?limit=2"));
    assert_memory_equal(h.target, "/api/v1/venues?limit=2", h.tlen);
    assert_string_equal(out, "GET /api/v1/venues?limit=2 HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer rls_abc\r\n");
    /* Bare LF line ends (RFC 9112 §2.2), HTTP/1.0, an unknown method. */
    assert_int_equal(PARSE("PROPFIND / HTTP/1.0\nX-A: 1\n", &h, out), HEAD_OK);
    assert_int_equal(h.method, 0);
    assert_int_equal(h.minor, 0);
    assert_string_equal(out, "PROPFIND / HTTP/1.0\r\nX-A: 1\r\n");
    /* Framing and Expect are the filter's to write; markers are dropped. */
    assert_int_equal(PARSE("POST /x HTTP/1.1\r\nContent-Length: 12\r\ncontent-length: 12\r\n"
                           "Expect: 100-continue\r\nX-Relais-Spool: 3\r\nx-relais-refuse: 1\r\n"
                           "X-Other: ok\r\n", &h, out), HEAD_OK);
    assert_true(h.has_length);
    assert_int_equal(h.length, 12);
    assert_true(h.expect_continue);
    assert_string_equal(out, "POST /x HTTP/1.1\r\nX-Other: ok\r\n");
    assert_int_equal(PARSE("PUT /x HTTP/1.1\r\nTransfer-Encoding: Chunked \r\n", &h, out),
                     HEAD_OK);
    assert_true(h.chunked);
    assert_false(h.has_length);
    /* Latin-1 (obs-text) in a value and the target: for the handlers to judge. */
    assert_int_equal(PARSE("GET /r/\xe9 HTTP/1.1\r\nX-Name: Andr\xe9\r\nX-Empty:\r\n", &h, out),
                     HEAD_OK);
    assert_string_equal(out, "GET /r/\xe9 HTTP/1.1\r\nX-Name: Andr\xe9\r\nX-Empty: \r\n");
}

static void test_refuses(void **state)
{
    static const struct {
        const char *head;
        size_t len;
        enum head_error why;
    } cases[] = {
#define C(s, w) {s, sizeof(s) - 1, w}
        C("", HEAD_BAD_LINE),
        C("GET\r\n", HEAD_BAD_LINE),
        C("GET  / HTTP/1.1\r\n", HEAD_BAD_LINE),
        C("GET / HTTP/1.1 \r\n", HEAD_BAD_LINE),
        C("GET /a b HTTP/1.1\r\n", HEAD_BAD_LINE),
        C("G(T / HTTP/1.1\r\n", HEAD_BAD_LINE),
        C("GET / HTTP/1.1\tx\r\n", HEAD_BAD_LINE),
        C("GET / http/1.1\r\n", HEAD_BAD_LINE),
        C("GET / HTTP/1.10\r\n", HEAD_BAD_LINE),
        C("GET / HTTP/2.0\r\n", HEAD_BAD_VERSION),
        C("GET / HTTP/1.2\r\n", HEAD_BAD_VERSION),
        C("GET / HTTP/0.9\r\n", HEAD_BAD_VERSION),
        /* NUL and bare CR: in the line, a name, a value, at the end. */
        C("GET /\0 HTTP/1.1\r\n", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nAuthorization: Bearer rls_x\0x\r\n", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nX-\0: v\r\n", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\rX-A: 1\r\n", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nX-A: a\rb\r\n", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nX-A: a\r", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nContent-Type: text/plain\0\r\nContent-Length: 5\r\n",
          HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nX-A: \x01\r\n", HEAD_BAD_BYTE),
        C("GET / HTTP/1.1\r\nX-A: \x7f\r\n", HEAD_BAD_BYTE),
        /* Names. */
        C("GET / HTTP/1.1\r\nX-A : v\r\n", HEAD_BAD_FIELD),
        C("GET / HTTP/1.1\r\nno colon\r\n", HEAD_BAD_FIELD),
        C("GET / HTTP/1.1\r\n: v\r\n", HEAD_BAD_FIELD),
        C("GET / HTTP/1.1\r\nX(A): v\r\n", HEAD_BAD_FIELD),
        C("GET / HTTP/1.1\r\n\r\n", HEAD_BAD_FIELD),
        C("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n", HEAD_FOLDED),
        C("GET / HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n", HEAD_FOLDED),
        /* Framing. */
        C("POST / HTTP/1.1\r\nContent-Length: -1\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length: +5\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length:\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n", HEAD_BAD_LENGTH),
        C("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n",
          HEAD_LENGTH_AND_CHUNKED),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n",
          HEAD_LENGTH_AND_CHUNKED),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n", HEAD_CODING),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
          HEAD_CODING),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n", HEAD_CODING),
        C("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", HEAD_CODING_10),
#undef C
    };
    struct http_head h;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum head_error got = parse_n(cases[i].head, cases[i].len, &h, NULL);

        if (got != cases[i].why)
            fail_msg("case %zu (%.40s): got %d, want %d", i, cases[i].head, got, cases[i].why);
    }
    assert_int_equal(http_head_status(HEAD_BAD_BYTE), 400);
    assert_int_equal(http_head_status(HEAD_BAD_VERSION), 505);
    assert_int_equal(http_head_status(HEAD_CODING), 501);
    assert_int_equal(http_head_status(HEAD_OK), 0);
    assert_int_equal(http_head_status(HEAD_NERRORS), 0);
    assert_true(strlen(http_head_detail(HEAD_LENGTH_AND_CHUNKED)) > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_and_canonicalises),
        cmocka_unit_test(test_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
