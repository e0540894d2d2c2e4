/* http_head — the one parser of HTTP/1.1 request heads (core/http/http_head.c).
 *
 * Every request head a client sends is parsed here, by the spooling filter
 * that sees the bytes before evhttp (core/http/http_spool_frame.c), and only the
 * canonical form written by http_head_parse goes on to evhttp: the request
 * line, then each header as "Name: value" with its spaces trimmed, without
 * the framing headers (Content-Length, Transfer-Encoding, Expect) and the
 * server's own X-Relais-* markers, which the filter writes itself from what
 * was parsed here. A head this parser refuses never reaches evhttp: the
 * two can never read one request two ways (a NUL cutting a value short in
 * one of them, a bare CR taken for a line end, a Content-Length beside a
 * chunked coding). Pure: no I/O, no state; fuzzed through the filter by
 * tests/fuzz/fuzz_frame.c.
 */
#ifndef RELAIS_HTTP_HEAD_H
#define RELAIS_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum head_error {
    HEAD_OK = 0,
    HEAD_BAD_LINE,          /* 400: the request line */
    HEAD_BAD_VERSION,       /* 505: HTTP/x.y other than 1.0 and 1.1 */
    HEAD_BAD_BYTE,          /* 400: NUL, bare CR, a control byte */
    HEAD_BAD_FIELD,         /* 400: a header line without a token name and ':' */
    HEAD_FOLDED,            /* 400: obsolete line folding */
    HEAD_BAD_LENGTH,        /* 400: Content-Length not one decimal number */
    HEAD_LENGTH_AND_CHUNKED,/* 400: both framings (RFC 9112 §6.3) */
    HEAD_CODING,            /* 501: a transfer coding other than chunked */
    HEAD_CODING_10,         /* 400: Transfer-Encoding in HTTP/1.0 */
    HEAD_NERRORS
};

struct http_head {
    const char *method_name;  /* into the head given */
    size_t mlen;
    int method;               /* enum http_method, 0 for any other */
    const char *target;       /* into the head given, as sent */
    size_t tlen;
    int minor;                /* HTTP/1.MINOR */
    int has_length;
    uint64_t length;
    int chunked;
    int expect_continue;
    int nomem;                /* OUT could not grow: the canonical form is short */
};

/* Parses HEAD[0..LEN): the request line and the header lines, each ending
 * in CRLF or LF, without the empty line that ends the head. Fills H and,
 * when OUT is not NULL, appends the canonical request line and headers to
 * it (each line ending in CRLF; no empty line). HEAD_OK, or why the
 * request is refused (OUT then holds part of a head: discard it). */
enum head_error http_head_parse(const char *head, size_t len, struct http_head *h,
                                struct evbuffer *out);
/* The status (400, 501, 505) and the detail to answer for E. */
int http_head_status(enum head_error e);
const char *http_head_detail(enum head_error e);

#endif
