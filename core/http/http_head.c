/* http_head — the one parser of request heads (see core/http/http_head.h).
 *
 * RFC 9112 as a server may apply it strictly: a request line of a token
 * method, one space, a target without controls or spaces, one space and
 * HTTP/1.0 or HTTP/1.1; header lines of a token name, a colon (no space
 * before it) and a value of visible bytes, spaces and tabs (obs-text
 * allowed, so that a header nobody reads may carry Latin-1). Lines end in
 * CRLF or a bare LF (§2.2 lets a recipient accept it); a CR anywhere else,
 * a NUL or any other control byte, an obsolete line folding, a
 * Content-Length that is not one number, both Content-Length and
 * Transfer-Encoding (§6.3: smuggling), a Transfer-Encoding in HTTP/1.0, or
 * a transfer coding other than chunked alone end the request. */
#include "http_head.h"

#include <string.h>
#include <strings.h>
#include <event2/buffer.h>

#include "http.h"

static const struct {
    int status;
    const char *detail;
} errors[] = {
    [HEAD_OK] = {0, ""},
    [HEAD_BAD_LINE] = {400, "the request line is malformed"},
    [HEAD_BAD_VERSION] = {505, "only HTTP/1.0 and HTTP/1.1 are served"},
    [HEAD_BAD_BYTE] = {400, "the request head holds a NUL, a stray CR or another control "
                            "character"},
    [HEAD_BAD_FIELD] = {400, "a header line is malformed (a name, a colon, a value)"},
    [HEAD_FOLDED] = {400, "folded header lines are not accepted"},
    [HEAD_BAD_LENGTH] = {400, "Content-Length must be one decimal number"},
    [HEAD_LENGTH_AND_CHUNKED] = {400, "Content-Length and Transfer-Encoding together are "
                                      "ambiguous"},
    [HEAD_CODING] = {501, "only the chunked transfer coding is supported"},
    [HEAD_CODING_10] = {400, "Transfer-Encoding is not part of HTTP/1.0"},
};

int http_head_status(enum head_error e)
{
    return e > HEAD_OK && e < HEAD_NERRORS ? errors[e].status : 0;
}

const char *http_head_detail(enum head_error e)
{
    return e > HEAD_OK && e < HEAD_NERRORS ? errors[e].detail : "";
}

/* tchar of RFC 9110 §5.6.2. */
static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte a field value may hold: visible, obs-text, space, tab. */
static int value_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int target_byte(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

static const struct {
    const char *name;
    int method;
} methods[] = {
    {"GET", HTTP_GET}, {"HEAD", HTTP_HEAD}, {"POST", HTTP_POST}, {"PUT", HTTP_PUT},
    {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
};

/* The request line S[0..N). */
static enum head_error request_line(const char *s, size_t n, struct http_head *h)
{
    size_t i = 0, t;

    while (i < n && tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i > 32 || i >= n || s[i] != ' ')
        return HEAD_BAD_LINE;
    h->method_name = s;
    h->mlen = i;
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
        if (strlen(methods[k].name) == i && memcmp(methods[k].name, s, i) == 0)
            h->method = methods[k].method;
    t = ++i;
    while (i < n && target_byte((unsigned char)s[i]))
        i++;
    if (i == t || i >= n || s[i] != ' ')
        return HEAD_BAD_LINE;
    h->target = s + t;
    h->tlen = i - t;
    i++;
    if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || s[i + 6] != '.' ||
        !(s[i + 5] >= '0' && s[i + 5] <= '9') || !(s[i + 7] >= '0' && s[i + 7] <= '9'))
        return HEAD_BAD_LINE;
    if (s[i + 5] != '1' || (s[i + 7] != '0' && s[i + 7] != '1'))
        return HEAD_BAD_VERSION;
    h->minor = s[i + 7] - '0';
    return HEAD_OK;
}

/* "chunked", in any case, alone (a list naming any other coding is one
 * this server cannot undo). */
static int is_chunked(const char *v, size_t n)
{
    return n == 7 && strncasecmp(v, "chunked", 7) == 0;
}

/* 1*DIGIT into *OUT; -1 when not that or when it does not fit. */
static int decimal(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;

    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* One header line S[0..N) (no line end). */
static enum head_error field(const char *s, size_t n, struct http_head *h,
                             struct evbuffer *out)
{
    size_t i = 0, v, e;
    uint64_t len;

    if (n && (s[0] == ' ' || s[0] == '\t'))
        return HEAD_FOLDED;
    while (i < n && tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ':')
        return HEAD_BAD_FIELD;
    for (v = i + 1; v < n && (s[v] == ' ' || s[v] == '\t'); v++)
        ;
    for (e = n; e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'); e--)
        ;
    for (size_t k = v; k < e; k++)
        if (!value_byte((unsigned char)s[k]))
            return HEAD_BAD_BYTE;
    if (i == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
        if (decimal(s + v, e - v, &len) != 0 || (h->has_length && len != h->length))
            return HEAD_BAD_LENGTH;
        h->has_length = 1;
        h->length = len;
        return HEAD_OK;
    }
    if (i == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
        if (h->chunked || !is_chunked(s + v, e - v))
            return HEAD_CODING;
        h->chunked = 1;
        return HEAD_OK;
    }
    if (i == 6 && strncasecmp(s, "Expect", 6) == 0) {
        h->expect_continue = e - v == 12 && strncasecmp(s + v, "100-continue", 12) == 0;
        return HEAD_OK;
    }
    /* The server's own markers between this parser and evhttp. */
    if (i >= 9 && strncasecmp(s, "X-Relais-", 9) == 0)
        return HEAD_OK;
    if (out && (evbuffer_add(out, s, i) != 0 || evbuffer_add(out, ": ", 2) != 0 ||
                evbuffer_add(out, s + v, e - v) != 0 || evbuffer_add(out, "\r\n", 2) != 0))
        h->nomem = 1;
    return HEAD_OK;
}

enum head_error http_head_parse(const char *head, size_t len, struct http_head *h,
                                struct evbuffer *out)
{
    size_t start = 0;
    enum head_error rc;
    int first = 1;

    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < len; i++) {
        if (head[i] == '\0' || (head[i] == '\r' && (i + 1 == len || head[i + 1] != '\n')))
            return HEAD_BAD_BYTE;
    }
    while (start < len) {
        const char *nl = memchr(head + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - head) : len, n = end - start;

        if (n && head[end - 1] == '\r')
            n--;
        if (first) {
            rc = request_line(head + start, n, h);
            if (rc == HEAD_OK && out &&
                (evbuffer_add(out, head + start, n) != 0 || evbuffer_add(out, "\r\n", 2) != 0))
                h->nomem = 1;
            first = 0;
        } else {
            rc = field(head + start, n, h, out);
        }
        if (rc != HEAD_OK)
            return rc;
        start = end + 1;
    }
    if (first)
        return HEAD_BAD_LINE;
    if (h->chunked && h->has_length)
        return HEAD_LENGTH_AND_CHUNKED;
    if (h->chunked && h->minor == 0)
        return HEAD_CODING_10;
    return HEAD_OK;
}
