/* http_server — the evhttp server: one generic callback that checks the
 * request, authenticates, routes, wraps writing handlers in a transaction,
 * sends the staged reply and logs it (see include/relais/http.h).
 *
 * Order for a path under /api/: target and body checks (400, 413) → bearer
 * token (401) → route (404, 405) → role (403). Authenticating before routing
 * keeps clients without a token from probing which /api/ paths exist. Other
 * paths are routed first; a route outside /api/ that names roles still needs
 * a token.
 */
#include "relais/http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/http.h>
#include <event2/util.h>

#include "http_internal.h"
#include "relais/app.h"
#include "relais/log.h"
#include "relais/metrics.h"
#include "relais/store.h"
#include "relais/tokens.h"

#define MAX_HEADERS_SIZE (64 * 1024)
#define IO_TIMEOUT_SECS  30
#define MAX_TOKEN_LEN    256
#define EVHTTP_HARD_LIMIT ((size_t)256 << 20)
#define WRITING (HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)


/* One request from arrival to reply. The handler's struct http_req is the
 * first member, so a req pointer leads back to its call (http_defer). */
struct http_call {
    struct http_req req;
    struct http_server *hs;
    struct http_match m;
    struct evhttp_uri *uri;
    char *path, *body;
    char *copied;            /* route pattern and parameter names, once deferred */
    const char *mname;
    struct timespec t0;
    int api;
    int in_tx;               /* a transaction is open for this request */
    int in_handler;          /* dispatch is still on the stack */
    int deferred, finished;
    struct http_call *prev, *next;
};

static const struct {
    enum evhttp_cmd_type cmd;
    int method;
    const char *name;
} methods[] = {
    {EVHTTP_REQ_GET, HTTP_GET, "GET"},
    {EVHTTP_REQ_HEAD, HTTP_HEAD, "HEAD"},
    {EVHTTP_REQ_POST, HTTP_POST, "POST"},
    {EVHTTP_REQ_PUT, HTTP_PUT, "PUT"},
    {EVHTTP_REQ_PATCH, HTTP_PATCH, "PATCH"},
    {EVHTTP_REQ_DELETE, HTTP_DELETE, "DELETE"},
    {EVHTTP_REQ_OPTIONS, HTTP_OPTIONS, "OPTIONS"},
};
#define NMETHODS (sizeof methods / sizeof methods[0])

static void on_request(struct evhttp_request *ev, void *arg);

struct http_server *http_server_new(struct event_base *base, struct app *app,
                                    size_t body_limit)
{
    struct http_server *hs = calloc(1, sizeof *hs);

    if (!hs)
        goto fail;
    hs->app = app;
    hs->body_limit = body_limit;
    hs->router = http_router_new();
    hs->http = evhttp_new(base);
    if (!hs->router || !hs->http)
        goto fail;
    evhttp_set_allowed_methods(hs->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST
                               | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE
                               | EVHTTP_REQ_OPTIONS);
    /* evhttp answers a body over its own limit with a fixed HTML 413 that
     * libevent 2.1 gives no hook to change. So evhttp's hard limit is set
     * at four times ours (a bounded buffer per connection), and read_body
     * answers the usual case, a body somewhat over the limit, with a
     * problem document; only grossly oversized bodies get evhttp's page,
     * still with status 413. */
    {
        size_t hard = body_limit > EVHTTP_HARD_LIMIT / 4 ? EVHTTP_HARD_LIMIT : body_limit * 4;
        if (hard < body_limit + 65536)
            hard = body_limit + 65536;
        evhttp_set_max_body_size(hs->http, (ev_ssize_t)hard);
    }
    evhttp_set_max_headers_size(hs->http, MAX_HEADERS_SIZE);
    evhttp_set_timeout(hs->http, IO_TIMEOUT_SECS);
    /* No guessed Content-Type on replies that set none. */
    evhttp_set_default_content_type(hs->http, NULL);
    /* Read the rest of a refused body before closing, so that the client
     * sees the 413 instead of a reset connection. */
    if (evhttp_set_flags(hs->http, EVHTTP_SERVER_LINGERING_CLOSE) != 0)
        goto fail;
    evhttp_set_gencb(hs->http, on_request, hs);
    http_spool_setup(hs);
    return hs;
fail:
    log_error("http", "cannot create the HTTP server");
    http_server_free(hs);
    return NULL;
}

int http_route(struct http_server *hs, int methods_, const char *pattern,
               int roles, http_handler fn)
{
    if (http_router_add(hs->router, methods_, pattern, roles, fn) != 0) {
        log_error("http", "cannot add route %s", pattern ? pattern : "(null)");
        return -1;
    }
    return 0;
}

int http_unroute(struct http_server *hs, int methods_, const char *pattern)
{
    http_spool_remove(hs, methods_, pattern);
    return http_router_remove(hs->router, methods_, pattern);
}

/* --- one request ----------------------------------------------------------- */

static const char *method_name(int method)
{
    for (size_t i = 0; i < NMETHODS; i++)
        if (methods[i].method == method)
            return methods[i].name;
    return "OTHER";
}

static void reset_reply(struct http_req *req)
{
    evbuffer_drain(req->out, evbuffer_get_length(req->out));
    evhttp_clear_headers(req->out_headers);
    req->content_type = NULL;
    req->status = 0;
    req->replied = 0;
}

/* Replaces whatever the handler staged (a failed commit, no answer). */
static void override(struct http_req *req, int status, const char *detail)
{
    reset_reply(req);
    http_problem(req, status, "%s", detail);
}

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

/* Parses the request target into REQ (decoded path, query). On a bad one
 * answers 400 and returns -1. *RAW is the still-encoded path, for routing. */
static int parse_target(struct http_req *req, struct evhttp_uri **uri,
                        char **path, const char **raw)
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

/* Checks the bearer token and fills REQ's role. Answers and returns -1 when
 * it is missing, unknown or revoked (401) or cannot be checked (500). */
static int authenticate(struct http_server *hs, struct http_req *req)
{
    const char *h = http_header(req, "Authorization");
    char tok[MAX_TOKEN_LEN + 1];
    struct token_info info;
    size_t len;
    int rc;

    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        unauthorized(req, "a bearer token is required");
        return -1;
    }
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    if (len == 0 || len > MAX_TOKEN_LEN) {
        unauthorized(req, "the token is unknown or revoked");
        return -1;
    }
    memcpy(tok, h, len);
    tok[len] = '\0';
    rc = hs->app && hs->app->store ? tokens_check(hs->app->store, tok, &info) : -1;
    explicit_bzero(tok, sizeof tok);
    if (rc < 0) {
        log_error("http", "token lookup failed");
        http_problem(req, 500, "the token could not be checked");
        return -1;
    }
    if (rc == 0) {
        unauthorized(req, "the token is unknown or revoked");
        return -1;
    }
    req->role = info.role;
    req->token_id = info.id;
    req->staff_id = info.staff_id;
    return 0;
}

static void allow_header(struct http_req *req, int allowed)
{
    char buf[80] = "";

    for (size_t i = 0; i < NMETHODS; i++) {
        if (!(allowed & methods[i].method))
            continue;
        if (buf[0])
            strcat(buf, ", ");
        strcat(buf, methods[i].name);
    }
    http_reply_header(req, "Allow", buf);
}

/* Routes REQ and runs its handler, in a transaction for writing methods.
 * Everything answers through REQ. */
static void dispatch(struct http_call *call, const char *raw)
{
    struct http_server *hs = call->hs;
    struct http_req *req = &call->req;
    struct http_match *m = &call->m;
    struct store *st = hs->app ? hs->app->store : NULL;
    int method = req->method, rc, api = call->api;

    if (api && authenticate(hs, req) != 0)
        return;
    rc = http_router_match(hs->router, method, raw, m);
    if (rc < 0) {
        http_problem(req, 500, "internal error");
        return;
    }
    if (rc == 404) {
        http_problem(req, 404, "nothing here");
        return;
    }
    if (rc == 405) {
        if (method == HTTP_OPTIONS) {
            http_reply_empty(req, 204);
        } else {
            http_problem(req, 405, "%s is not allowed here", method_name(method));
        }
        allow_header(req, m->allowed | HTTP_OPTIONS);
        return;
    }
    req->route = m->pattern;
    req->nparams = m->nparams;
    for (int i = 0; i < m->nparams; i++) {
        req->param_names[i] = m->names[i];
        req->param_values[i] = m->values[i];
    }
    if (m->roles != ROUTE_PUBLIC) {
        if (!api && authenticate(hs, req) != 0)
            return;
        if (!(m->roles & req->role)) {
            const char *name = tokens_role_name(req->role);
            http_problem(req, 403, "the %s role may not do this", name ? name : "current");
            return;
        }
    }
    if (method & WRITING) {
        if (!st || store_begin(st) != 0) {
            http_problem(req, 503, "the database is not available");
            return;
        }
        call->in_tx = 1;
    }
    /* HEAD runs the GET handler, which need not know. */
    if (method == HTTP_HEAD)
        req->method = HTTP_GET;
    call->in_handler = 1;
    m->fn(req);
    call->in_handler = 0;
    req->method = method;
    if (call->deferred && !call->finished)
        return;   /* http_defer committed; http_finish answers */
    if (!req->replied) {
        log_error("http", "%s answered nothing", req->route);
        override(req, 500, "internal error");
    }
    if (call->in_tx) {
        call->in_tx = 0;
        if (req->status < 400) {
            if (store_commit(st) != 0) {
                store_rollback(st);
                override(req, 500, "the change could not be saved");
            }
        } else if (store_rollback(st) != 0) {
            log_error("http", "rollback failed after %s", req->route);
        }
    } else if (st && store_in_tx(st)) {
        /* A reading handler must not write; whatever it began is undone. */
        log_error("http", "%s left a transaction open; rolled back", req->route);
        store_rollback(st);
    }
}

static void set_header(struct http_req *req, const char *name, const char *value)
{
    evhttp_remove_header(req->out_headers, name);
    http_reply_header(req, name, value);
}

/* evhttp 2.1 writes whatever is in the buffer, even for HEAD, 204 and 304
 * where HTTP forbids a body: drop it there. A HEAD reply announces the
 * length the GET would have had. Returns the body bytes sent. */
static size_t finish_body(struct http_req *req)
{
    size_t len = evbuffer_get_length(req->out);
    char n[24];

    if (req->status == 204 || req->status == 304 || req->status < 200) {
        evbuffer_drain(req->out, len);
        return 0;
    }
    if (req->method == HTTP_HEAD) {
        snprintf(n, sizeof n, "%zu", len);
        set_header(req, "Content-Length", n);
        evbuffer_drain(req->out, len);
        return 0;
    }
    return len;
}

static double since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void call_free(struct http_call *call)
{
    struct http_server *hs = call->hs;

    if (call->deferred) {
        if (call->prev)
            call->prev->next = call->next;
        else
            hs->deferred = call->next;
        if (call->next)
            call->next->prev = call->prev;
    }
    http_match_clear(&call->m);
    evhttp_clear_headers(&call->req.query);
    free(call->body);
    if (call->req.spooled)
        close(call->req.body_fd);
    free(call->path);
    free(call->copied);
    if (call->uri)
        evhttp_uri_free(call->uri);
    evbuffer_free(call->req.out);
    free(call);
}

/* Sends what the call staged, logs it and frees it. */
static void call_finish(struct http_call *call)
{
    struct http_server *hs = call->hs;
    struct http_req *req = &call->req;
    size_t bytes;
    double secs;

    if (!req->replied)
        http_problem(req, 500, "internal error");
    set_header(req, "X-Content-Type-Options", "nosniff");
    if (call->api)
        set_header(req, "Cache-Control", "no-store");
    if (hs->closing)
        set_header(req, "Connection", "close");
    bytes = finish_body(req);
    {
        /* libevent arms the reply's I/O timeouts from the time cached when
         * the loop woke: after a long handler (a big import) that time is
         * old enough for them to fire at once and drop the reply. */
        struct evhttp_connection *evcon = evhttp_request_get_connection(req->ev);

        if (evcon)
            event_base_update_cache_time(evhttp_connection_get_base(evcon));
    }
    evhttp_send_reply(req->ev, req->status, http_status_title(req->status), req->out);
    secs = since(&call->t0);
    /* The route pattern, never the path: paths carry tokens (/r/{token})
     * and queries may carry a phone number. */
    log_info("http", "%s %s %d %.1fms %zu", call->mname, req->route ? req->route : "-",
             req->status, secs * 1000.0, bytes);
    metrics_request(call->mname, req->route, req->status, secs);
    call_free(call);
}

static void on_request(struct evhttp_request *ev, void *arg)
{
    struct http_server *hs = arg;
    struct http_call *call = calloc(1, sizeof *call);
    struct http_req *req;
    const char *raw = NULL;

    if (!call || !(call->req.out = evbuffer_new())) {
        log_error("http", "out of memory");
        free(call);
        evhttp_send_error(ev, 500, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &call->t0);
    call->hs = hs;
    call->mname = "OTHER";
    req = &call->req;
    TAILQ_INIT(&req->query);
    req->app = hs->app;
    req->ev = ev;
    req->out_headers = evhttp_request_get_output_headers(ev);
    for (size_t i = 0; i < NMETHODS; i++) {
        if (methods[i].cmd == evhttp_request_get_command(ev)) {
            req->method = methods[i].method;
            call->mname = methods[i].name;
        }
    }
    if (!req->method)
        http_problem(req, 501, "this method is not supported");
    else if (parse_target(req, &call->uri, &call->path, &raw) == 0) {
        req->path = call->path;
        call->api = strncmp(call->path, "/api/", 5) == 0;
        if (take_spooled(hs, req) == 0 && (req->spooled || read_body(hs, req, &call->body) == 0))
            dispatch(call, raw);
    }
    if (call->deferred && !call->finished)
        return;
    call_finish(call);
}

/* --- replies that come later ------------------------------------------------ */

/* Copies what REQ points to inside the router (the pattern, the parameter
 * names): a reload may remove the route before the reply goes. */
static int copy_route(struct http_call *call)
{
    struct http_req *req = &call->req;
    size_t len = req->route ? strlen(req->route) + 1 : 0, off;

    for (int i = 0; i < req->nparams; i++)
        len += strlen(req->param_names[i]) + 1;
    call->copied = malloc(len ? len : 1);
    if (!call->copied)
        return -1;
    off = 0;
    if (req->route) {
        memcpy(call->copied, req->route, strlen(req->route) + 1);
        req->route = call->copied;
        off = strlen(req->route) + 1;
    }
    for (int i = 0; i < req->nparams; i++) {
        size_t n = strlen(req->param_names[i]) + 1;
        memcpy(call->copied + off, req->param_names[i], n);
        req->param_names[i] = call->copied + off;
        off += n;
    }
    return 0;
}

int http_defer(struct http_req *req)
{
    struct http_call *call = (struct http_call *)req;
    struct http_server *hs = call->hs;
    struct store *st = hs->app ? hs->app->store : NULL;

    if (call->deferred)
        return 0;
    if (!call->in_handler || copy_route(call) != 0)
        return -1;
    if (call->in_tx) {
        call->in_tx = 0;
        /* store_commit rolls back when it fails: nothing is kept then. */
        if (store_commit(st) != 0)
            return -1;
    }
    call->deferred = 1;
    call->next = hs->deferred;
    if (hs->deferred)
        hs->deferred->prev = call;
    hs->deferred = call;
    return 0;
}

void http_finish(struct http_req *req)
{
    struct http_call *call = (struct http_call *)req;

    if (!call->deferred || call->finished) {
        log_error("http", "%s finished without being deferred", req->route ? req->route : "-");
        return;
    }
    call->finished = 1;
    if (call->in_handler)
        return;   /* answered from inside the handler: on_request sends it */
    call_finish(call);
}

void http_server_free(struct http_server *hs)
{
    if (!hs)
        return;
    while (hs->deferred) {
        struct http_req *req = &hs->deferred->req;

        if (!req->replied)
            http_problem(req, 503, "the server is stopping");
        hs->deferred->finished = 1;
        call_finish(hs->deferred);
    }
    if (hs->http)
        evhttp_free(hs->http);
    http_spool_free(hs);
    http_router_free(hs->router);
    free(hs);
}
