/* http_server — the evhttp server: one generic callback that checks the
 * request, authenticates, routes, wraps writing handlers in a transaction,
 * sends the staged reply and logs it (see core/http/http.h).
 *
 * Order for a path under /api/: target and body checks (400, 413; in
 * http_guard.c) → bearer token (429 after too many wrong ones, 401) → route
 * (404, 405) → role (403). Paths under /r/ and /s/ pass the per-address
 * rate limit (429) before routing. Authenticating before routing
 * keeps clients without a token from probing which /api/ paths exist. Other
 * paths are routed first; a route outside /api/ that names roles still needs
 * a token.
 */
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "http_internal.h"
#include "app.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "rcache.h"
#include "store.h"

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
    if (!hs->router || !hs->http || http_guard_setup(hs) != 0)
        goto fail;
    evhttp_set_allowed_methods(hs->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST
                               | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE
                               | EVHTTP_REQ_OPTIONS);
    http_apply_sizes(hs);
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

int http_session_auth(struct http_server *hs, const char *name, http_session_fn fn)
{
    if (!name || !fn || !*name || strlen(name) >= sizeof hs->session_cookie)
        return -1;
    strcpy(hs->session_cookie, name);
    hs->session_fn = fn;
    return 0;
}

void http_bearer_auth(struct http_server *hs, http_bearer_fn fn, void *arg,
                      void (*free_arg)(void *))
{
    if (hs->bearer_free)
        hs->bearer_free(hs->bearer_arg);
    hs->bearer_fn = fn;
    hs->bearer_arg = arg;
    hs->bearer_free = free_arg;
}

int http_problem_pages(struct http_server *hs, const char *prefix, http_page_fn fn)
{
    if (!prefix || !fn || hs->npages == HTTP_PAGE_PREFIXES
        || strlen(prefix) >= sizeof hs->pages[0].prefix)
        return -1;
    strcpy(hs->pages[hs->npages].prefix, prefix);
    hs->pages[hs->npages].fn = fn;
    hs->npages++;
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

/* A page typed with a trailing slash ("/console/") is sent to the path
 * without it when that one exists, rather than answered 404: people type
 * these. API paths keep the strict 404 (a client bug should show). 0 when
 * the redirect was answered. */
static int slash_redirect(struct http_call *call, const char *raw)
{
    struct http_match probe = {0};
    const char *query = evhttp_uri_get_query(call->uri);
    size_t n = strlen(raw);
    char *path = NULL, *loc = NULL;
    int rc = -1;

    while (n > 1 && raw[n - 1] == '/')
        n--;
    if (n == strlen(raw) || n <= 1)
        return -1;
    path = strndup(raw, n);
    if (!path)
        goto done;
    if (http_router_match(call->hs->router, HTTP_GET, path, &probe) != 200)
        goto done;
    if (asprintf(&loc, "%s%s%s", path, query ? "?" : "", query ? query : "") < 0) {
        loc = NULL;
        goto done;
    }
    http_reply_header(&call->req, "Location", loc);
    http_reply_data(&call->req, 308, "text/plain; charset=utf-8", "moved\n", 6);
    rc = 0;
done:
    http_match_clear(&probe);
    free(loc);
    free(path);
    return rc;
}

/* Routes REQ and runs its handler, in a transaction for writing methods.
 * Everything answers through REQ. */
static void route_and_run(struct http_call *call, const char *raw)
{
    struct http_server *hs = call->hs;
    struct http_req *req = &call->req;
    struct http_match *m = &call->m;
    struct store *st = hs->app ? hs->app->store : NULL;
    int method = req->method, rc, api = call->api;

    if (api && http_guard_auth(hs, req) != 0)
        return;
    rc = http_router_match(hs->router, method, raw, m);
    if (rc < 0) {
        http_problem(req, 500, "internal error");
        return;
    }
    if (rc == 404) {
        if (!api && (method & (HTTP_GET | HTTP_HEAD)) && slash_redirect(call, raw) == 0)
            return;
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
        if (!api && http_guard_auth(hs, req) != 0)
            return;
        if (!(m->roles & req->role)) {
            const char *name = http_role_name(req->role);
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

/* route_and_run, with one reading of the database's state shared by the
 * token check and the answer cache (rcache_state). The request's
 * synchronous part ends here: a handler that defers resumes outside, and
 * reads the state afresh. */
static void dispatch(struct http_call *call, const char *raw)
{
    struct rcache *rc = call->hs->app ? call->hs->app->rcache : NULL;

    rcache_request_begin(rc);
    route_and_run(call, raw);
    rcache_request_end(rc);
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

/* A problem staged for a path that people open (http_problem_pages)
 * becomes the page of its status. The path is the decoded one, or the raw
 * target when it could not be decoded (a 400). */
static void problem_page(struct http_call *call)
{
    struct http_server *hs = call->hs;
    struct http_req *req = &call->req;
    const char *path = call->path ? call->path : evhttp_request_get_uri(req->ev);
    int status = req->status;

    if (!path || !req->content_type
        || strcmp(req->content_type, "application/problem+json") != 0)
        return;
    for (int i = 0; i < hs->npages; i++) {
        if (strncmp(path, hs->pages[i].prefix, strlen(hs->pages[i].prefix)) != 0)
            continue;
        evbuffer_drain(req->out, evbuffer_get_length(req->out));
        evhttp_remove_header(req->out_headers, "Content-Type");
        req->content_type = NULL;
        req->replied = 0;
        hs->pages[i].fn(req, status);
        if (!req->replied)
            http_reply_empty(req, status);
        return;
    }
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
    problem_page(call);
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
    const char *raw = NULL, *detail;
    int status;

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
    if (http_spool_refused(ev, &status, &detail)) {
        /* The filter refused the head; evhttp closes after this answer. */
        req->method = HTTP_GET;
        http_problem(req, status, "%s", detail);
        http_reply_header(req, "Connection", "close");
    } else if (!req->method)
        http_problem(req, 501, "this method is not supported");
    else if (http_guard_target(req, &call->uri, &call->path, &raw) == 0) {
        req->path = call->path;
        call->api = strncmp(call->path, "/api/", 5) == 0;
        if (http_guard_body(hs, req, &call->body) == 0 && http_guard_pages(hs, req) == 0)
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
    http_listen_forget(hs);
    if (hs->accept_timer)
        event_free(hs->accept_timer);
    if (hs->http)
        evhttp_free(hs->http);
    http_spool_free(hs);
    http_conn_free_peers(hs);
    http_router_free(hs->router);
    ratelimit_free(hs->pages_rl);
    ratelimit_free(hs->auth_rl);
    if (hs->bearer_free)
        hs->bearer_free(hs->bearer_arg);
    free(hs);
}
