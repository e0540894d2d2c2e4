/* json_print — the text of a cJSON tree, as cJSON_PrintUnformatted writes
 * it, faster (see core/util/json.h).
 *
 * Every answer of the API goes through here. cJSON prints each number with
 * sprintf("%1.15g") and reads it back with sscanf to check it, and grows its
 * buffer as it goes; the ids and counts that make up most of our numbers are
 * integers, which need neither. The profile of a 50-session page put a third
 * of its time in cJSON's printer (docs/benchmarks.md). The output is the
 * same byte for byte: tests/unit/test_json checks it against cJSON's. */
#include "json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000   /* cJSON's own nesting limit */

struct out {
    char *p;
    size_t len, cap;
    int bad;
};

static void reserve(struct out *o, size_t n)
{
    size_t cap;
    char *np;

    if (o->bad || o->len + n + 1 <= o->cap)
        return;
    cap = o->cap ? o->cap : 256;
    while (cap < o->len + n + 1)
        cap *= 2;
    np = realloc(o->p, cap);
    if (!np) {
        o->bad = 1;
        return;
    }
    o->p = np;
    o->cap = cap;
}

static void put(struct out *o, const char *s, size_t n)
{
    reserve(o, n);
    if (o->bad)
        return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* cJSON's escaping: the two JSON specials, the short escapes, \u00XX for
 * the other control characters; everything else (UTF-8) as it is. */
static void put_string(struct out *o, const char *s)
{
    const char *run;

    put(o, "\"", 1);
    if (!s) {
        put(o, "\"", 1);
        return;
    }
    run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, run, (size_t)(s - run));
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
            n = 6;
        }
        put(o, esc, n);
    }
    put(o, run, (size_t)(s - run));
    put(o, "\"", 1);
}

/* cJSON's test of whether 15 digits read back "the same". */
static int close_enough(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= m * DBL_EPSILON;
}

static void put_number(struct out *o, double d)
{
    char buf[32];
    int n;

    if (isnan(d) || isinf(d)) {
        put(o, "null", 4);
        return;
    }
    /* An integer below 10^15 is what %1.15g prints as plain digits; -0
     * prints "-0" there, so it takes the general path. */
    if (d == floor(d) && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
        long long v = (long long)d;
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        char *p = buf + sizeof buf;

        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0)
            *--p = '-';
        put(o, p, (size_t)(buf + sizeof buf - p));
        return;
    }
    n = snprintf(buf, sizeof buf, "%1.15g", d);
    if (!close_enough(strtod(buf, NULL), d))
        n = snprintf(buf, sizeof buf, "%1.17g", d);
    if (n < 0 || (size_t)n >= sizeof buf) {
        o->bad = 1;
        return;
    }
    put(o, buf, (size_t)n);
}

static void put_item(struct out *o, const cJSON *it, int depth)
{
    const cJSON *c;

    if (depth > MAX_DEPTH) {
        o->bad = 1;
        return;
    }
    switch (it->type & 0xFF) {
    case cJSON_False: put(o, "false", 5); break;
    case cJSON_True: put(o, "true", 4); break;
    case cJSON_NULL: put(o, "null", 4); break;
    case cJSON_Number: put_number(o, it->valuedouble); break;
    case cJSON_String: put_string(o, it->valuestring); break;
    case cJSON_Raw:
        if (!it->valuestring)
            o->bad = 1;
        else
            put(o, it->valuestring, strlen(it->valuestring));
        break;
    case cJSON_Array:
        put(o, "[", 1);
        for (c = it->child; c && !o->bad; c = c->next) {
            put_item(o, c, depth + 1);
            if (c->next)
                put(o, ",", 1);
        }
        put(o, "]", 1);
        break;
    case cJSON_Object:
        put(o, "{", 1);
        for (c = it->child; c && !o->bad; c = c->next) {
            put_string(o, c->string);
            put(o, ":", 1);
            put_item(o, c, depth + 1);
            if (c->next)
                put(o, ",", 1);
        }
        put(o, "}", 1);
        break;
    default:
        o->bad = 1;
    }
}

char *json_print(const cJSON *doc, size_t *len)
{
    struct out o = {0};

    if (!doc)
        return NULL;
    reserve(&o, 1024);
    put_item(&o, doc, 0);
    reserve(&o, 0);
    if (o.bad) {
        free(o.p);
        return NULL;
    }
    o.p[o.len] = '\0';
    if (len)
        *len = o.len;
    return o.p;
}
