/* json — reading and checking request bodies (see core/util/json.h). */
#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtime.h"

/* Integers travel as JSON numbers, i.e. doubles: beyond 2^53 two different
 * integers read the same, so such a value cannot be trusted. */
#define JSON_INT_LIMIT 9007199254740992.0

/* The void helpers below have no way to report a failed allocation, and
 * carrying on would be wrong either way: a lost validation error lets a bad
 * body through, a lost output field sends a reply that lies. Small
 * allocations only fail when the process is already lost, so stop it. */
static void oom(void)
{
    fputs("relais: out of memory\n", stderr);
    abort();
}

void json_check_init(struct json_check *c)
{
    c->errors = cJSON_CreateArray();
    if (!c->errors)
        oom();
}

void json_check_free(struct json_check *c)
{
    cJSON_Delete(c->errors);
    c->errors = NULL;
}

void json_check_add(struct json_check *c, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    cJSON *e;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The array may have been handed to a 422 reply already: start anew. */
    if (!c->errors && !(c->errors = cJSON_CreateArray()))
        oom();
    e = cJSON_CreateObject();
    if (!e || !cJSON_AddStringToObject(e, "field", field)
        || !cJSON_AddStringToObject(e, "message", msg)
        || !cJSON_AddItemToArray(c->errors, e))
        oom();
}

int json_check_failed(const struct json_check *c)
{
    return c->errors && cJSON_GetArraySize(c->errors) > 0;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

void json_check_known(struct json_check *c, const cJSON *obj,
                      const char *const *allowed)
{
    const cJSON *it;

    if (!cJSON_IsObject(obj))
        return;
    cJSON_ArrayForEach(it, obj) {
        if (!in_list(it->string, allowed))
            json_check_add(c, it->string, "unknown field");
    }
    /* cJSON keeps every copy of a repeated key and the getters read the
     * first: {"name": "a", "name": "b"} would mean different things to
     * different readers, so refuse it. Only known keys are counted, which
     * keeps this linear in the body. */
    for (; *allowed; allowed++) {
        int n = 0;
        cJSON_ArrayForEach(it, obj) {
            if (strcmp(it->string, *allowed) == 0)
                n++;
        }
        if (n > 1)
            json_check_add(c, *allowed, "appears more than once");
    }
}

/* The common start of every getter: finds NAME and sorts out absent and
 * null. Returns JSON_OK with *item set when there is a value to check. */
static int lookup(struct json_check *c, const cJSON *obj, const char *name,
                  int required, const cJSON **item)
{
    const cJSON *it = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;

    if (!it || cJSON_IsNull(it)) {
        if (required) {
            json_check_add(c, name, "required");
            return JSON_BAD;
        }
        return it ? JSON_NULL : JSON_ABSENT;
    }
    *item = it;
    return JSON_OK;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

int json_get_str(struct json_check *c, const cJSON *obj, const char *name,
                 int required, size_t maxlen, const char **out)
{
    const cJSON *it = NULL;
    int rc = lookup(c, obj, name, required, &it);

    if (rc != JSON_OK)
        return rc;
    if (!cJSON_IsString(it) || !it->valuestring) {
        json_check_add(c, name, "must be a string");
        return JSON_BAD;
    }
    if (required && blank(it->valuestring)) {
        json_check_add(c, name, "required");
        return JSON_BAD;
    }
    if (strlen(it->valuestring) > maxlen) {
        json_check_add(c, name, "must be at most %zu characters", maxlen);
        return JSON_BAD;
    }
    *out = it->valuestring;
    return JSON_OK;
}

int json_get_bool(struct json_check *c, const cJSON *obj, const char *name,
                  int required, int *out)
{
    const cJSON *it = NULL;
    int rc = lookup(c, obj, name, required, &it);

    if (rc != JSON_OK)
        return rc;
    if (!cJSON_IsBool(it)) {
        json_check_add(c, name, "must be true or false");
        return JSON_BAD;
    }
    *out = cJSON_IsTrue(it);
    return JSON_OK;
}

/* One message for every way an integer can be wrong, naming the range the
 * caller asked for (clipped to what JSON can carry exactly). */
static void int_error(struct json_check *c, const char *name, int64_t min, int64_t max)
{
    int has_min = min > -(int64_t)JSON_INT_LIMIT;
    int has_max = max < (int64_t)JSON_INT_LIMIT;

    if (has_min && has_max)
        json_check_add(c, name, "must be an integer between %lld and %lld",
                       (long long)min, (long long)max);
    else if (has_min)
        json_check_add(c, name, "must be an integer of at least %lld", (long long)min);
    else if (has_max)
        json_check_add(c, name, "must be an integer of at most %lld", (long long)max);
    else
        json_check_add(c, name, "must be an integer");
}

int json_get_int(struct json_check *c, const cJSON *obj, const char *name,
                 int required, int64_t min, int64_t max, int64_t *out)
{
    const cJSON *it = NULL;
    int rc = lookup(c, obj, name, required, &it);
    double d;
    int64_t v;

    if (rc != JSON_OK)
        return rc;
    if (!cJSON_IsNumber(it))
        goto bad;
    d = it->valuedouble;
    if (!isfinite(d) || d != trunc(d) || fabs(d) > JSON_INT_LIMIT)
        goto bad;
    v = (int64_t)d;
    if (v < min || v > max)
        goto bad;
    *out = v;
    return JSON_OK;
bad:
    int_error(c, name, min, max);
    return JSON_BAD;
}

int json_get_time(struct json_check *c, const cJSON *obj, const char *name,
                  int required, int64_t *out)
{
    const cJSON *it = NULL;
    int rc = lookup(c, obj, name, required, &it);
    int64_t t;

    if (rc != JSON_OK)
        return rc;
    if (!cJSON_IsString(it) || !it->valuestring) {
        json_check_add(c, name, "must be an RFC 3339 time as a string");
        return JSON_BAD;
    }
    if (required && blank(it->valuestring)) {
        json_check_add(c, name, "required");
        return JSON_BAD;
    }
    if (rt_parse_rfc3339(it->valuestring, &t) != 0) {
        json_check_add(c, name, "must be an RFC 3339 time with an offset, "
                       "e.g. 2026-03-03T14:00:00+01:00");
        return JSON_BAD;
    }
    *out = t;
    return JSON_OK;
}

int json_get_enum(struct json_check *c, const cJSON *obj, const char *name,
                  int required, const char *const *values, int *idx)
{
    const cJSON *it = NULL;
    int rc = lookup(c, obj, name, required, &it);
    char msg[200];
    size_t used;

    if (rc != JSON_OK)
        return rc;
    if (cJSON_IsString(it) && it->valuestring) {
        for (int i = 0; values[i]; i++) {
            if (strcmp(it->valuestring, values[i]) == 0) {
                *idx = i;
                return JSON_OK;
            }
        }
    }
    /* "must be one of: a, b, c", cut short (with "…") if the list is long. */
    used = (size_t)snprintf(msg, sizeof msg, "must be one of:");
    for (int i = 0; values[i] && used < sizeof msg; i++)
        used += (size_t)snprintf(msg + used, sizeof msg - used, "%s %s",
                                 i ? "," : "", values[i]);
    if (used >= sizeof msg)
        memcpy(msg + sizeof msg - 4, "...", 4);
    json_check_add(c, name, "%s", msg);
    return JSON_BAD;
}

void json_add_str(cJSON *obj, const char *name, const char *v)
{
    if (!(v ? cJSON_AddStringToObject(obj, name, v) : cJSON_AddNullToObject(obj, name)))
        oom();
}

void json_add_int(cJSON *obj, const char *name, int64_t v)
{
    char buf[24];

    /* cJSON prints numbers with 15 significant digits when that reads back
     * "close enough", which rounds integers from 10^15 up (2^53 comes out
     * as 9.00719925474099e+15). Those go out as exact raw digits; smaller
     * ones stay ordinary numbers that readers of the tree can use. */
    if (v > -1000000000000000LL && v < 1000000000000000LL) {
        if (!cJSON_AddNumberToObject(obj, name, (double)v))
            oom();
        return;
    }
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    if (!cJSON_AddRawToObject(obj, name, buf))
        oom();
}

void json_add_time(cJSON *obj, const char *name, int64_t t)
{
    char buf[32];

    if (t == INT64_MIN) {
        if (!cJSON_AddNullToObject(obj, name))
            oom();
        return;
    }
    rt_format_utc(t, buf, sizeof buf);
    if (!cJSON_AddStringToObject(obj, name, buf))
        oom();
}

/* Strict UTF-8 (RFC 3629): the shortest form only, no UTF-16 surrogates,
 * nothing above U+10FFFF, no sequence cut short by the end of the buffer. */
int json_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, lo;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1; cp = c & 0x1F; lo = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2; cp = c & 0x0F; lo = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3; cp = c & 0x07; lo = 0x10000;
        } else {
            return 0;   /* a continuation byte, C0/C1 (overlong) or F5..FF */
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < lo || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* --- strict syntax ------------------------------------------------------ */
/* cJSON accepts more than RFC 8259 ("01", "1.", "+1", ".5") because it hands
 * numbers to strtod; a client sending those has a bug we should report, not
 * guess around. This pass checks the grammar exactly, iteratively, with a
 * nesting cap, before cJSON builds the tree. */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

static int hexdig(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The four hex digits at s[i..i+3] as a number, or UINT_MAX. */
static unsigned u_escape(const char *s, size_t n, size_t i)
{
    unsigned v = 0;
    size_t k;

    if (i + 4 > n)
        return UINT_MAX;
    for (k = i; k < i + 4; k++) {
        char c = s[k];
        if (!hexdig(c))
            return UINT_MAX;
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* A string starting at s[i] == '"': returns the index after it, or 0. */
static size_t scan_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"')
            return i + 1;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (++i >= n)
                return 0;
            switch (s[i]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                break;
            case 'u': {
                unsigned cp = u_escape(s, n, i + 1);
                /* A surrogate escape must be a high one followed by a low
                 * one: a lone half has no UTF-8 form (cJSON refuses it). */
                if (cp == UINT_MAX || (cp >= 0xDC00 && cp <= 0xDFFF))
                    return 0;
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (i + 2 >= n || s[i + 1] != '\\' || s[i + 2] != 'u')
                        return 0;
                    lo = u_escape(s, n, i + 3);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return 0;
                    i += 6;
                }
                break;
            }
            default:
                return 0;
            }
        }
    }
    return 0;
}

/* A number at s[i]: the index after it, or 0. */
static size_t scan_number(const char *s, size_t n, size_t i)
{
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t d;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    /* A number runs into the next token only through a delimiter. */
    if (i < n && !strchr(" \t\r\n,]}", s[i]))
        return 0;
    return i;
}

int json_syntax_check(const char *s, size_t n, size_t *err_at)
{
    char stack[JSON_MAX_DEPTH];
    int depth = 0;
    size_t i = skip_ws(s, n, 0), next;
    /* States: expecting a value, or what may follow one. */
    enum { VALUE, AFTER, KEY_OR_END, VALUE_OR_END } st = VALUE;

    for (;;) {
        i = skip_ws(s, n, i);
        if (st == AFTER) {
            if (depth == 0) {
                if (i == n)
                    return 0;
                goto bad;
            }
            if (i >= n)
                goto bad;
            if (s[i] == ',') {
                i++;
                i = skip_ws(s, n, i);
                if (stack[depth - 1] == '{') {
                    if (i >= n || s[i] != '"' || !(next = scan_string(s, n, i)))
                        goto bad;
                    i = skip_ws(s, n, next);
                    if (i >= n || s[i] != ':')
                        goto bad;
                    i++;
                }
                st = VALUE;
                continue;
            }
            if ((s[i] == '}' && stack[depth - 1] == '{') ||
                (s[i] == ']' && stack[depth - 1] == '[')) {
                depth--;
                i++;
                continue;
            }
            goto bad;
        }
        if (i >= n)
            goto bad;
        if (st == KEY_OR_END) {
            if (s[i] == '}') {
                depth--;
                i++;
                st = AFTER;
                continue;
            }
            if (s[i] != '"' || !(next = scan_string(s, n, i)))
                goto bad;
            i = skip_ws(s, n, next);
            if (i >= n || s[i] != ':')
                goto bad;
            i++;
            st = VALUE;
            continue;
        }
        if (st == VALUE_OR_END && s[i] == ']') {
            depth--;
            i++;
            st = AFTER;
            continue;
        }
        /* A value. */
        switch (s[i]) {
        case '{':
        case '[':
            if (depth == JSON_MAX_DEPTH)
                goto bad;
            stack[depth++] = s[i];
            st = s[i] == '{' ? KEY_OR_END : VALUE_OR_END;
            i++;
            continue;
        case '"':
            next = scan_string(s, n, i);
            break;
        case 't':
            next = n - i >= 4 && memcmp(s + i, "true", 4) == 0 ? i + 4 : 0;
            break;
        case 'f':
            next = n - i >= 5 && memcmp(s + i, "false", 5) == 0 ? i + 5 : 0;
            break;
        case 'n':
            next = n - i >= 4 && memcmp(s + i, "null", 4) == 0 ? i + 4 : 0;
            break;
        default:
            next = scan_number(s, n, i);
            break;
        }
        if (!next)
            goto bad;
        i = next;
        st = AFTER;
    }
bad:
    if (err_at)
        *err_at = i;
    return -1;
}
