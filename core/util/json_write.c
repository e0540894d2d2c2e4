/* json_write — JSON text without a tree (include/json_write.h).
 * The escaping and the numbers were json_print's; both now use these. */
#include "json_write.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtime.h"

/* Room for N more bytes and the final NUL, the buffer doubling as needed:
 * the test is inline, the growing is not. */
static void grow(struct jw *w, size_t n)
{
    size_t cap = w->cap ? w->cap : 256;
    char *np;

    while (cap < w->len + n + 1)
        cap *= 2;
    np = realloc(w->p, cap);
    if (!np) {
        w->bad = 1;
        return;
    }
    w->p = np;
    w->cap = cap;
}

static inline void reserve(struct jw *w, size_t n)
{
    if (!w->bad && w->len + n + 1 > w->cap)
        grow(w, n);
}

void jw_init(struct jw *w, size_t hint)
{
    memset(w, 0, sizeof *w);
    w->first[0] = 1;
    reserve(w, hint ? hint : 1024);
}

void jw_free(struct jw *w)
{
    free(w->p);
    memset(w, 0, sizeof *w);
}

char *jw_take(struct jw *w, size_t *len)
{
    char *p;

    reserve(w, 0);
    if (w->bad || w->depth != 0 || w->after_key || !w->p) {
        jw_free(w);
        return NULL;
    }
    p = w->p;
    p[w->len] = '\0';
    if (len)
        *len = w->len;
    memset(w, 0, sizeof *w);
    return p;
}

void jw_put(struct jw *w, const char *s, size_t n)
{
    reserve(w, n);
    if (w->bad)
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void put1(struct jw *w, char c)
{
    reserve(w, 1);
    if (w->bad)
        return;
    w->p[w->len++] = c;
}

/* 1 for the bytes a string holds as they are (not the NUL that ends it,
 * not a control character, not '"' nor '\\'). */
#define ROW(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char plain[256] = {
    ROW(0), ROW(0),                                   /* 0x00-0x1f: controls */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x22 '"' */
    ROW(1), ROW(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   /* 0x5c '\\' */
    ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1),
};
#undef ROW

/* cJSON's escaping: the two JSON specials, the short escapes, \u00XX for
 * the other control characters; everything else (UTF-8) as it is. Most of
 * our strings need none: they go in with one copy, quotes and all (a
 * profile of a page put half its instructions in byte-sized copies). */
void jw_put_string(struct jw *w, const char *s)
{
    const char *run, *e;
    size_t n;

    if (!s) {
        jw_put(w, "\"\"", 2);
        return;
    }
    for (e = s; plain[(unsigned char)*e]; e++)
        ;
    n = (size_t)(e - s);
    reserve(w, n + 2);
    if (w->bad)
        return;
    w->p[w->len++] = '"';
    memcpy(w->p + w->len, s, n);
    w->len += n;
    if (!*e) {
        w->p[w->len++] = '"';
        return;
    }
    run = e;
    for (s = e; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        size_t k = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jw_put(w, run, (size_t)(s - run));
        run = s + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            snprintf(esc + 1, sizeof esc - 1, "u%04x", c);
            k = 6;
        }
        jw_put(w, esc, k);
    }
    jw_put(w, run, (size_t)(s - run));
    put1(w, '"');
}

static void put_digits(struct jw *w, int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? 0ULL - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jw_put(w, p, (size_t)(buf + sizeof buf - p));
}

/* cJSON's test of whether 15 digits read back "the same". */
static int close_enough(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= m * DBL_EPSILON;
}

void jw_put_number(struct jw *w, double d)
{
    char buf[32];
    int n;

    if (isnan(d) || isinf(d)) {
        jw_put(w, "null", 4);
        return;
    }
    /* An integer below 10^15 is what %1.15g prints as plain digits; -0
     * prints "-0" there, so it takes the general path. */
    if (d == floor(d) && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
        put_digits(w, (int64_t)d);
        return;
    }
    n = snprintf(buf, sizeof buf, "%1.15g", d);
    if (!close_enough(strtod(buf, NULL), d))
        n = snprintf(buf, sizeof buf, "%1.17g", d);
    if (n < 0 || (size_t)n >= sizeof buf) {
        w->bad = 1;
        return;
    }
    jw_put(w, buf, (size_t)n);
}

/* Before a value or a key: the comma when something precedes it at this
 * level. A value right after its key takes none. */
static void sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->first[w->depth])
        w->first[w->depth] = 0;
    else
        put1(w, ',');
}

static void open_(struct jw *w, char c)
{
    sep(w);
    if (w->depth + 1 >= JW_MAX_DEPTH) {
        w->bad = 1;
        return;
    }
    put1(w, c);
    w->first[++w->depth] = 1;
}

static void close_(struct jw *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->bad = 1;
        return;
    }
    w->depth--;
    put1(w, c);
}

void jw_obj(struct jw *w)
{
    open_(w, '{');
}

void jw_obj_end(struct jw *w)
{
    close_(w, '}');
}

void jw_arr(struct jw *w)
{
    open_(w, '[');
}

void jw_arr_end(struct jw *w)
{
    close_(w, ']');
}

void jw_key(struct jw *w, const char *name)
{
    sep(w);
    jw_put_string(w, name);
    put1(w, ':');
    w->after_key = 1;
}

void jw_key_raw(struct jw *w, const char *text, size_t n)
{
    sep(w);
    jw_put(w, text, n);
    w->after_key = 1;
}

void jw_str(struct jw *w, const char *s)
{
    sep(w);
    if (s)
        jw_put_string(w, s);
    else
        jw_put(w, "null", 4);
}

/* json_add_int: a cJSON number below 10^15, raw digits beyond; both print
 * as the plain digits. */
void jw_int(struct jw *w, int64_t v)
{
    sep(w);
    put_digits(w, v);
}

void jw_bool(struct jw *w, int v)
{
    sep(w);
    if (v)
        jw_put(w, "true", 4);
    else
        jw_put(w, "false", 5);
}

void jw_null(struct jw *w)
{
    sep(w);
    jw_put(w, "null", 4);
}

void jw_time(struct jw *w, int64_t t)
{
    char buf[32];

    if (t == INT64_MIN) {
        jw_null(w);
        return;
    }
    rt_format_utc(t, buf, sizeof buf);
    sep(w);
    jw_put_string(w, buf);
}
