/* http_guard — what a request must pass before its handler runs: a sound
 * target, a body within the limit, the per-address rate limits, a bearer
 * token (see http.h; http_server.c calls these in order).
 *
 * Rate limits are token buckets keyed by the client's address
 * (ratelimit.h): the peer's, or behind one of the trusted_proxies the
 * address it forwarded (http_client_addr, proxy.h).
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <event2/http.h>

#include "http_internal.h"
#include "app.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"

#define MAX_TOKEN_LEN 256

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Every '%' starts an escape of two hex digits, and none is %00 (a NUL
 * would cut the decoded text short where C code reads it). */
static int escapes_ok(const char *s)
{
    for (; *s; s++) {
        if (*s != '%')
            continue;
        if (!is_hex(s[1]) || !is_hex(s[2]) || (s[1] == '0' && s[2] == '0'))
            return 0;
        s += 2;
    }
    return 1;
}

int http_guard_target(struct http_req *req, struct evhttp_uri **uri, char **path,
                      const char **raw)
{
    const char *target = evhttp_request_get_uri(req->ev), *query;
    struct evkeyval *kv;
    size_t len = 0;

    *uri = target ? evhttp_uri_parse_with_flags(target, 0) : NULL;
    if (!*uri)
        goto bad_target;
    *raw = evhttp_uri_get_path(*uri);
    if (!*raw || (*raw)[0] != '/' || !escapes_ok(*raw))
        goto bad_target;
    *path = evhttp_uridecode(*raw, 0, &len);
    if (!*path) {
        http_problem(req, 500, "internal error");
        return -1;
    }
    if (memchr(*path, '\0', len) || !json_utf8_valid(*path, len))
        goto bad_target;
    query = evhttp_uri_get_query(*uri);
    if (query) {
        if (!escapes_ok(query) || evhttp_parse_query_str(query, &req->query) != 0)
            goto bad_query;
        TAILQ_FOREACH(kv, &req->query, next) {
            if (!json_utf8_valid(kv->value, strlen(kv->value)))
                goto bad_query;
        }
    }
    return 0;
bad_target:
    http_problem(req, 400, "malformed request path");
    return -1;
bad_query:
    http_problem(req, 400, "malformed query string");
    return -1;
}

/* Copies the body into REQ, NUL-terminated. 413 or 500 and -1 on failure. */
static int read_body(struct http_server *hs, struct http_req *req, char **body)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
    size_t len = in ? evbuffer_get_length(in) : 0;

    if (len > hs->body_limit) {
        http_problem(req, 413, "the body is larger than %zu bytes", hs->body_limit);
        return -1;
    }
    *body = malloc(len + 1);
    if (!*body || (len && evbuffer_copyout(in, *body, len) != (ev_ssize_t)len)) {
        http_problem(req, 500, "internal error");
        return -1;
    }
    (*body)[len] = '\0';
    req->body = *body;
    req->body_len = len;
    return 0;
}

/* A body the spooling filter put in a file. 0, or -1 having answered. */
static int take_spooled(struct http_server *hs, struct http_req *req)
{
    size_t size = 0, max = 0;
    int fd = -1, rc = http_spool_take(hs, req->ev, &fd, &size, &max);

    if (rc == 1) {
        req->spooled = 1;
        req->body_fd = fd;
        req->body_file_len = size;
        req->body = "";
        req->body_len = 0;
    } else if (rc == 413) {
        http_problem(req, 413, "the body is larger than %zu bytes", max);
    } else if (rc == 400) {
        http_problem(req, 400, "the body's chunked framing is malformed");
    } else if (rc != 0) {
        http_problem(req, 500, "the body could not be stored");
    }
    return rc == 0 || rc == 1 ? 0 : -1;
}

static void unauthorized(struct http_req *req, const char *detail)
{
    http_problem(req, 401, "%s", detail);
    http_reply_header(req, "WWW-Authenticate", "Bearer");
}

/* The client's address, the key of the rate limits ("" when unknown:
 * those share one bucket). */
static const char *peer(struct http_req *req)
{
    return http_client_addr(req);
}

typedef int (*limit_fn)(struct ratelimit *, const char *, int64_t, int *);

/* FN (take or check) on REQ's address in RL: 0, or 429 with Retry-After
 * answered, counted under REASON, and -1. */
static int limited(struct ratelimit *rl, struct http_req *req, limit_fn fn,
                   const char *reason, const char *detail)
{
    int retry = 1;
    char n[16];

    if (!rl || fn(rl, peer(req), ratelimit_now_ms(), &retry) == 0)
        return 0;
    metrics_count("http_refused_total", "reason", reason, 1);
    http_problem(req, 429, "%s", detail);
    snprintf(n, sizeof n, "%d", retry);
    http_reply_header(req, "Retry-After", n);
    return -1;
}

/* A token that is not one: 401, and one of the address's tries is gone. */
static void wrong_token(struct http_server *hs, struct http_req *req)
{
    if (hs->auth_rl)
        ratelimit_take(hs->auth_rl, peer(req), ratelimit_now_ms(), NULL);
    unauthorized(req, "the token is unknown or revoked");
}

/* The value of cookie NAME in REQ's Cookie headers into OUT (N bytes), or
 * NULL when there is none (or it does not fit: not ours). */
static const char *cookie_value(struct http_req *req, const char *name, char *out, size_t n)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req->ev);
    struct evkeyval *kv;
    size_t nl = strlen(name);

    TAILQ_FOREACH(kv, in, next) {
        const char *p = kv->value;

        if (strcasecmp(kv->key, "Cookie") != 0)
            continue;
        while (p && *p) {
            const char *end = strchr(p, ';');
            size_t len = end ? (size_t)(end - p) : strlen(p);

            while (len && (*p == ' ' || *p == '\t')) {
                p++;
                len--;
            }
            if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
                size_t vl = len - nl - 1;
                while (vl && (p[nl + 1 + vl - 1] == ' ' || p[nl + 1 + vl - 1] == '\t'))
                    vl--;
                if (vl == 0 || vl >= n)
                    return NULL;
                memcpy(out, p + nl + 1, vl);
                out[vl] = '\0';
                return out;
            }
            p = end ? end + 1 : NULL;
        }
    }
    return NULL;
}

/* A write made with the session cookie carries a type no cross-site form
 * can: application/json (or +json), or text/csv for an upload. */
static int csrf_safe(struct http_req *req)
{
    const char *ct = http_header(req, "Content-Type");
    size_t n;

    if (!(req->method & (HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)))
        return 1;
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    if (n > 17 && strncasecmp(ct, "application/", 12) == 0
        && strncasecmp(ct + n - 5, "+json", 5) == 0)
        return 1;
    return n == 8 && strncasecmp(ct, "text/csv", 8) == 0;
}

/* A request with the sign-in cookie and no Authorization header (see
 * http_session_auth). 0 authenticated, -1 answered. */
static int session_auth(struct http_server *hs, struct http_req *req, const char *value)
{
    int rc = hs->session_fn(req, value);

    if (rc < 0) {
        log_error("http", "session lookup failed");
        http_problem(req, 500, "the session could not be checked");
        return -1;
    }
    if (rc == 0) {
        http_problem(req, 401, "the session is unknown or over: sign in again");
        return -1;
    }
    if (!csrf_safe(req)) {
        http_problem(req, 403, "a change made with the session cookie must be sent as "
                     "application/json");
        return -1;
    }
    return 0;
}

/* Checks the bearer token and fills REQ's role. Answers and returns -1 when
 * it is missing, unknown or revoked (401), when its address sent too many
 * wrong ones lately (429, whatever this one is), or when it cannot be
 * checked (500). Without an Authorization header, the sign-in cookie
 * stands for a token (http_session_auth). */
int http_guard_auth(struct http_server *hs, struct http_req *req)
{
    const char *h = http_header(req, "Authorization"), *cookie;
    char tok[MAX_TOKEN_LEN + 1];
    size_t len;
    int rc;

    if (!h && hs->session_fn
        && (cookie = cookie_value(req, hs->session_cookie, tok, sizeof tok))) {
        rc = session_auth(hs, req, cookie);
        explicit_bzero(tok, sizeof tok);
        return rc;
    }
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        unauthorized(req, "a bearer token is required");
        return -1;
    }
    if (limited(hs->auth_rl, req, ratelimit_check, "auth_failures",
                "too many wrong tokens from this address; try again later") != 0)
        return -1;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    if (len == 0 || len > MAX_TOKEN_LEN) {
        wrong_token(hs, req);
        return -1;
    }
    memcpy(tok, h, len);
    tok[len] = '\0';
    /* Who the token is, the checker says (http_bearer_auth): without one,
     * nothing is admitted. */
    rc = hs->bearer_fn ? hs->bearer_fn(hs->bearer_arg, req, tok) : -1;
    explicit_bzero(tok, sizeof tok);
    if (rc < 0) {
        log_error("http", "token lookup failed");
        http_problem(req, 500, "the token could not be checked");
        return -1;
    }
    if (rc == 0) {
        wrong_token(hs, req);
        return -1;
    }
    return 0;
}


int http_guard_body(struct http_server *hs, struct http_req *req, char **body)
{
    if (take_spooled(hs, req) != 0)
        return -1;
    return req->spooled ? 0 : read_body(hs, req, body);
}

/* The beneficiaries' pages (core pages.c) and the survey form (the surveys
 * plugin) are public and carry a token in the path: the limit also slows
 * anyone guessing those tokens. By path prefix, before routing, so that
 * guesses that match nothing count too. */
int http_guard_pages(struct http_server *hs, struct http_req *req)
{
    if (strncmp(req->path, "/r/", 3) != 0 && strncmp(req->path, "/s/", 3) != 0)
        return 0;
    return limited(hs->pages_rl, req, ratelimit_take, "pages",
                   "too many requests from this address; try again later");
}

int http_guard_setup(struct http_server *hs)
{
    struct config *defaults = NULL;
    struct config_limits l;

    if (hs->app && hs->app->cfg) {
        l = hs->app->cfg->limits;
    } else {
        if (config_defaults(&defaults) != 0)
            return -1;
        l = defaults->limits;
        config_free(defaults);
    }
    hs->header_size = l.header_size;
    hs->max_conns = l.connections;
    hs->request_timeout = l.request_timeout;
    hs->idle_timeout = l.idle_timeout;
    hs->pages_rl = ratelimit_new((size_t)l.clients, l.pages_per_minute, l.pages_burst);
    hs->auth_rl = ratelimit_new((size_t)l.clients, l.auth_failures, l.auth_failures);
    return hs->pages_rl && hs->auth_rl ? 0 : -1;
}
