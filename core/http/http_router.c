/* http_router — matching request paths against route patterns
 * (see http.h), and the names of the roles routes admit.
 *
 * Routes are few (tens) and paths short, so matching is a linear scan: each
 * route is tried against the path split into decoded segments, and among the
 * routes that fit, the most specific one that takes the method wins. The
 * path given to http_router_match is the raw one, still percent-encoded:
 * splitting happens before decoding so that "%2F" stays inside one
 * parameter instead of becoming a separator.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

/* The roles routes name, and the names tokens, sessions and plugins use. */
static const struct {
    const char *name;
    int role;
} roles[] = {
    {"admin", ROLE_ADMIN},
    {"coordinator", ROLE_COORDINATOR},
    {"trainer", ROLE_TRAINER},
};

const char *http_role_name(int role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return NULL;
}

int http_role_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(name, roles[i].name) == 0)
            return roles[i].role;
    return -1;
}

#define MAX_ROUTES   512
#define MAX_SEGMENTS 16
#define ALL_METHODS  (HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE \
                      | HTTP_HEAD | HTTP_OPTIONS)

struct segment {
    const char *text;   /* literal text, or the parameter's name */
    int param;
};

struct route {
    char *pattern;      /* the pattern as given, for logs and metrics */
    char *buf;          /* the pattern split in place; segments point here */
    struct segment seg[MAX_SEGMENTS];
    int nseg;
    int methods;
    int roles;
    http_handler fn;
};

struct http_router {
    struct route *routes;
    int n, cap;
};

struct http_router *http_router_new(void)
{
    return calloc(1, sizeof(struct http_router));
}

static void route_free(struct route *rt)
{
    free(rt->pattern);
    free(rt->buf);
}

void http_router_free(struct http_router *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        route_free(&r->routes[i]);
    free(r->routes);
    free(r);
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Splits PATTERN into RT's segments. "/" alone is the root and has none. */
static int parse_pattern(struct route *rt, const char *pattern)
{
    char *p;
    int nparams = 0;

    if (pattern[0] != '/')
        return -1;
    rt->buf = strdup(pattern + 1);
    rt->pattern = strdup(pattern);
    if (!rt->buf || !rt->pattern)
        return -1;
    rt->nseg = 0;
    if (rt->buf[0] == '\0')
        return 0;
    p = rt->buf;
    for (;;) {
        char *slash = strchr(p, '/');
        size_t len;
        struct segment *sg;

        if (slash)
            *slash = '\0';
        len = strlen(p);
        if (len == 0 || rt->nseg == MAX_SEGMENTS)
            return -1;
        sg = &rt->seg[rt->nseg++];
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || !valid_name(p + 1, len - 2))
                return -1;
            if (++nparams > HTTP_MAX_PARAMS)
                return -1;
            p[len - 1] = '\0';
            sg->text = p + 1;
            sg->param = 1;
            for (int i = 0; i < rt->nseg - 1; i++)
                if (rt->seg[i].param && strcmp(rt->seg[i].text, sg->text) == 0)
                    return -1;   /* the same name twice */
        } else {
            if (strpbrk(p, "{}%?#"))
                return -1;
            sg->text = p;
            sg->param = 0;
        }
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

/* Two routes with the same shape (same literals, parameters at the same
 * places) can never both win for one method. */
static int same_shape(const struct route *a, const struct route *b)
{
    if (a->nseg != b->nseg)
        return 0;
    for (int i = 0; i < a->nseg; i++) {
        if (a->seg[i].param != b->seg[i].param)
            return 0;
        if (!a->seg[i].param && strcmp(a->seg[i].text, b->seg[i].text) != 0)
            return 0;
    }
    return 1;
}

int http_router_add(struct http_router *r, int methods, const char *pattern,
                    int roles, http_handler fn)
{
    struct route rt = {0};

    if (!r || !pattern || !fn || methods == 0 || (methods & ~ALL_METHODS)
        || r->n == MAX_ROUTES)
        goto fail;
    if (parse_pattern(&rt, pattern) != 0)
        goto fail;
    for (int i = 0; i < r->n; i++)
        if ((r->routes[i].methods & methods) && same_shape(&r->routes[i], &rt))
            goto fail;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 32;
        struct route *grown = realloc(r->routes, (size_t)cap * sizeof *grown);
        if (!grown)
            goto fail;
        r->routes = grown;
        r->cap = cap;
    }
    rt.methods = methods;
    rt.roles = roles;
    rt.fn = fn;
    r->routes[r->n++] = rt;
    return 0;
fail:
    route_free(&rt);
    return -1;
}

int http_router_remove(struct http_router *r, int methods, const char *pattern)
{
    if (!r || !pattern)
        return -1;
    for (int i = 0; i < r->n; i++) {
        if (r->routes[i].methods != methods || strcmp(r->routes[i].pattern, pattern) != 0)
            continue;
        route_free(&r->routes[i]);
        /* Order matters only between routes of one shape, which cannot
         * share a method, but keep it anyway: matching stays predictable. */
        memmove(&r->routes[i], &r->routes[i + 1],
                (size_t)(r->n - i - 1) * sizeof r->routes[0]);
        r->n--;
        return 0;
    }
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes S (LEN bytes) in place and NUL-terminates it. '+' is a plain
 * character in a path. -1 on a broken escape or an encoded NUL. */
static int decode_segment(char *s, size_t len)
{
    size_t i = 0, o = 0;

    while (i < len) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            s[o++] = (char)(hi << 4 | lo);
            i += 3;
        } else {
            s[o++] = s[i++];
        }
    }
    s[o] = '\0';
    return 0;
}

/* Splits PATH into decoded segments inside BUF (a copy of it). Returns the
 * number of segments, or -1 when the path cannot match any route: it does
 * not start with '/', has an empty segment (trailing slash, "//"), a broken
 * escape, or more segments than any pattern may have. */
static int split_path(char *buf, char **segs)
{
    char *p = buf;
    int n = 0;

    if (p[0] != '/')
        return -1;
    p++;
    if (*p == '\0')
        return 0;   /* the root */
    for (;;) {
        char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);

        if (len == 0 || n == MAX_SEGMENTS)
            return -1;
        if (slash)
            *slash = '\0';
        if (decode_segment(p, len) != 0)
            return -1;
        segs[n++] = p;
        if (!slash)
            return n;
        p = slash + 1;
    }
}

static int route_fits(const struct route *rt, char **segs, int nseg)
{
    if (rt->nseg != nseg)
        return 0;
    for (int i = 0; i < nseg; i++)
        if (!rt->seg[i].param && strcmp(rt->seg[i].text, segs[i]) != 0)
            return 0;
    return 1;
}

/* < 0 when A is more specific than B: the first segment where one has a
 * literal and the other a parameter decides. */
static int specificity(const struct route *a, const struct route *b)
{
    for (int i = 0; i < a->nseg; i++)
        if (a->seg[i].param != b->seg[i].param)
            return a->seg[i].param ? 1 : -1;
    return 0;
}

/* HEAD is served by the GET handler. */
static int takes(const struct route *rt, int method)
{
    if (rt->methods & method)
        return 1;
    return method == HTTP_HEAD && (rt->methods & HTTP_GET);
}

int http_router_match(struct http_router *r, int method, const char *path,
                      struct http_match *m)
{
    char *buf = NULL, *segs[MAX_SEGMENTS];
    const struct route *best = NULL;
    int nseg, allowed = 0, rc = 404, k = 0;

    memset(m, 0, sizeof *m);
    if (!r || !path)
        goto out;
    buf = strdup(path);
    if (!buf) {
        rc = -1;
        goto out;
    }
    nseg = split_path(buf, segs);
    if (nseg < 0)
        goto out;
    for (int i = 0; i < r->n; i++) {
        const struct route *rt = &r->routes[i];

        if (!route_fits(rt, segs, nseg))
            continue;
        allowed |= rt->methods;
        if (!takes(rt, method))
            continue;
        if (!best)
            best = rt;
        else {
            int d = specificity(rt, best);
            /* On a tie only HEAD can reach here (GET and HEAD routes of one
             * shape): a route that names HEAD itself wins. */
            if (d < 0 || (d == 0 && (rt->methods & method) && !(best->methods & method)))
                best = rt;
        }
    }
    if (!best) {
        if (allowed) {
            if (allowed & HTTP_GET)
                allowed |= HTTP_HEAD;
            m->allowed = allowed;
            rc = 405;
        }
        goto out;
    }
    m->fn = best->fn;
    m->roles = best->roles;
    m->pattern = best->pattern;
    for (int i = 0; i < nseg; i++) {
        if (!best->seg[i].param)
            continue;
        m->names[k] = best->seg[i].text;
        m->values[k] = strdup(segs[i]);
        m->nparams = ++k;
        if (!m->values[k - 1]) {
            http_match_clear(m);
            rc = -1;
            goto out;
        }
    }
    rc = 200;
out:
    free(buf);
    return rc;
}

void http_match_clear(struct http_match *m)
{
    for (int i = 0; i < m->nparams; i++)
        free(m->values[i]);
    memset(m, 0, sizeof *m);
}
