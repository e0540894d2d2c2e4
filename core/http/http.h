/* http — the HTTP server on libevent's evhttp: routing, auth, problems.
 *
 * A request goes: target checks (400: a path not starting with "/", a broken
 * or %00 escape, a path or query value that is not UTF-8, a malformed query)
 * and body size (413) → for a path under /api/, bearer-token auth first (401
 * with WWW-Authenticate: Bearer), so that clients without a token cannot
 * probe which paths exist → route match (404, or 405 with an Allow header;
 * OPTIONS on a known path answers 204 with Allow) → the role (403; a route
 * outside /api/ that names roles authenticates here) → for a writing method
 * (POST, PUT, PATCH, DELETE) BEGIN IMMEDIATE → the handler → COMMIT when the
 * handler answered < 400, else ROLLBACK (a failed COMMIT, or a handler that
 * answered nothing, becomes a 500) → the reply is sent → one access-log line
 * (method, route pattern, status, time, bytes; never the path or the query
 * string, which carry tokens and phone numbers) and the metrics.
 *
 * Before any of that, per connection (http_conn.c, http_spool*.c; the
 * limits = {…} of config.h): a head over the size limit gets 431, a
 * connection beyond the cap 503, a request slower to arrive than the
 * request time-out 408, each answered on the socket and closed; a silent
 * connection is closed at the idle time-out. Per client address
 * (http_guard.c): paths under /r/ and /s/ are rate-limited before routing,
 * and after too many wrong bearer tokens every token check answers 429
 * (with Retry-After) for a while.
 *
 * HEAD runs the GET route (the handler sees HTTP_GET) and sends no body.
 * A body over the limit is normally refused by evhttp itself, before any
 * callback, with its own 413 (text/html, libevent 2.1 has no hook for it).
 *
 * Handlers run on the loop thread, answer exactly once through one of the
 * http_reply_* / http_problem* functions, and must not block. Because the
 * server commits or rolls back around them, a handler that finds a problem
 * half-way simply answers the problem: nothing it wrote is kept.
 */
#ifndef RELAIS_HTTP_H
#define RELAIS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "json.h"

struct app;
struct config;
struct http_server;
struct evhttp_request;

enum http_method {
    HTTP_GET = 1, HTTP_POST = 2, HTTP_PUT = 4, HTTP_PATCH = 8, HTTP_DELETE = 16,
    HTTP_HEAD = 32, HTTP_OPTIONS = 64
};

/* Roles as a bit set; a route lists the roles that may call it. */
enum http_role { ROLE_ADMIN = 1, ROLE_COORDINATOR = 2, ROLE_TRAINER = 4 };
#define ROLES_ALL   (ROLE_ADMIN | ROLE_COORDINATOR | ROLE_TRAINER)
#define ROLES_STAFF (ROLE_ADMIN | ROLE_COORDINATOR)
#define ROUTE_PUBLIC 0   /* no token needed (health, metrics, /r, /s, hooks) */

#define HTTP_MAX_PARAMS 4

struct http_req {
    struct app *app;
    struct evhttp_request *ev;
    int method;                 /* one enum http_method */
    const char *path;           /* decoded path, no query */
    const char *route;          /* the matched pattern, for logs and metrics */
    int nparams;
    const char *param_names[HTTP_MAX_PARAMS];
    char *param_values[HTTP_MAX_PARAMS];
    struct evkeyvalq query;     /* decoded query string */
    const char *body;           /* NUL-terminated copy of the body */
    size_t body_len;
    /* A spooled route's body (http_spool): BODY is "" and the body is in
     * the file BODY_FD (read-only use, at offset 0, closed by the server
     * after the reply), BODY_FILE_LEN bytes. */
    int spooled;
    int body_fd;
    size_t body_file_len;
    /* Set by auth for /api/ routes. */
    int role;                   /* one enum http_role, 0 for public routes */
    int64_t token_id;
    int64_t staff_id;           /* 0 when the token is bound to nobody */
    /* The client's address (http_client_addr), worked out on first use. */
    char client[48];
    /* The reply, filled by http_reply_*, sent by the server after commit. */
    int status;
    const char *content_type;
    struct evbuffer *out;
    struct evkeyvalq *out_headers;
    int replied;
};

typedef void (*http_handler)(struct http_req *req);

/* Creates the server on BASE for APP; routes are added before listening.
 * Returns NULL on failure (logged). */
struct http_server *http_server_new(struct event_base *base, struct app *app,
                                    size_t body_limit);
/* Binds HOST:PORT (PORT 0 picks a free one; the bound port is returned in
 * *bound). 0 or -1. */
int http_server_listen(struct http_server *hs, const char *host, int port, int *bound);
/* Takes CFG's body_limit and limits = {…} on a running server (a reload):
 * sizes, the connection cap and time-outs apply to what comes next; the
 * rate limits keep every client's bucket unless limits.clients changed
 * (then they start afresh). 0, or -1 when memory ran out for new rate-limit
 * tables (the old ones stay, at the new rates; logged). */
int http_server_set_limits(struct http_server *hs, const struct config *cfg);
/* Serves on FD, a listening TCP socket made by whoever started the process
 * (`relais serve --listen-fd N`): the server owns it from here (closes it
 * when it stops accepting). The bound port in *BOUND. 0 or -1. */
int http_server_listen_fd(struct http_server *hs, int fd, int *bound);
/* Stops accepting new connections; in-flight requests finish. */
void http_server_stop_accepting(struct http_server *hs);
void http_server_free(struct http_server *hs);

/* Adds a route. PATTERN is a path with {name} segments
 * ("/api/v1/venues/{id}"); METHODS an OR of enum http_method; ROLES an OR of
 * enum http_role or ROUTE_PUBLIC. Patterns are matched segment by segment;
 * a literal segment wins over a parameter ("/sessions.ics" before
 * "/sessions/{id}"). 0 or -1 (too many routes, bad pattern). */
int http_route(struct http_server *hs, int methods, const char *pattern,
               int roles, http_handler fn);

/* Removes the route added with exactly these METHODS and PATTERN (plugin
 * routes go away when plugins are reloaded). 0, or -1 when there is none. */
int http_unroute(struct http_server *hs, int methods, const char *pattern);

/* Sign-in sessions (core/auth/auth.c): a request that carries no Authorization
 * header but a cookie named NAME is authenticated by FN, which reads the
 * cookie's VALUE, fills REQ's role and staff_id (token_id stays 0) and
 * returns 1; 0 when the session is unknown or over (the server answers
 * 401; FN may add headers, such as one clearing the cookie); -1 on error
 * (500). A bearer token, when given, wins. A write (POST, PUT, PATCH,
 * DELETE) authenticated by the cookie must declare Content-Type
 * application/json (or a +json type), or text/csv for an upload: no HTML
 * form and no "simple" cross-site request can carry those, so a page of
 * another site cannot make the browser act with the cookie; else 403.
 * 0 or -1 (a name over 31 bytes). */
typedef int (*http_session_fn)(struct http_req *req, const char *value);
int http_session_auth(struct http_server *hs, const char *name, http_session_fn fn);

/* Bearer tokens (core/auth/tokens.c registers the checker: tokens_guard).
 * The token of an "Authorization: Bearer" header, trimmed and at most 256
 * bytes, is checked by FN(ARG, REQ, TOKEN), which fills REQ's role,
 * token_id and staff_id and returns 1; 0 when the token is unknown,
 * revoked or expired (401, and one more wrong token against the client's
 * limit); -1 on error (500). The server itself knows no token: until a
 * checker is set, every token is answered 500, never admitted. The hook
 * keeps HTTP below the module that decides who is asking (docs/
 * architecture.md). FREE_ARG(ARG), unless NULL, when the server is freed
 * or another checker replaces this one. */
typedef int (*http_bearer_fn)(void *arg, struct http_req *req, const char *token);
void http_bearer_auth(struct http_server *hs, http_bearer_fn fn, void *arg,
                      void (*free_arg)(void *));

/* The name of a role ("admin", "coordinator", "trainer"), or NULL when
 * ROLE is not exactly one of enum http_role; and back: the role of NAME,
 * or -1 (NULL, or not exactly one of those names). */
const char *http_role_name(int role);
int http_role_parse(const char *name);

/* Paths for people rather than programs: a problem (problem+json) answered
 * for a path under PREFIX ("/r/"), whoever staged it (the router's 404 or
 * 405, a rate limit's 429, a body too large, a handler, a plugin), is
 * handed to FN instead, with its status and nothing staged, and FN answers
 * a page of that status; the headers already set (Allow, Retry-After) stay.
 * At most HTTP_PAGE_PREFIXES prefixes of at most 31 bytes. 0 or -1. */
#define HTTP_PAGE_PREFIXES 4
typedef void (*http_page_fn)(struct http_req *req, int status);
int http_problem_pages(struct http_server *hs, const char *prefix, http_page_fn fn);

/* Spools the bodies of METHODS PATTERN (a route added with http_route) to
 * an unlinked temporary file as they arrive, up to MAX_BODY bytes (the
 * server's own body limit does not apply), instead of holding them in
 * memory: for uploads that may be large. Content-Length and chunked
 * bodies both; a body over MAX_BODY is answered 413. The handler gets the
 * file in req->body_fd. Removing the route (http_unroute) stops it.
 * 0 or -1. */
int http_spool(struct http_server *hs, int methods, const char *pattern, size_t max_body);

/* --- replies that come later ------------------------------------------ */
/* A handler that can only answer once something else has happened (a
 * plugin route waiting for the network) calls http_defer(REQ) and returns
 * without answering. REQ then stays valid, route and parameters included,
 * until http_finish(REQ) sends what was staged on it with http_reply_* /
 * http_problem* (a 500 when nothing was), writes the access-log line and
 * frees it. For a writing method, http_defer commits the transaction at
 * once: what the handler wrote before deferring is kept whatever it answers
 * later, and what runs after has no transaction of its own.
 * Returns 0, or -1 when the commit failed (nothing was kept) or memory ran
 * out: the handler must then answer now, as if it had never deferred.
 * http_server_free answers 503 to every request still deferred. */
int http_defer(struct http_req *req);
void http_finish(struct http_req *req);

/* --- the router, exposed for unit tests ------------------------------ */
struct http_router;
struct http_match {
    http_handler fn;
    int roles;
    const char *pattern;
    int nparams;
    const char *names[HTTP_MAX_PARAMS];
    char *values[HTTP_MAX_PARAMS];   /* malloc'd, decoded; http_match_clear */
    int allowed;                     /* methods of the path when 405 */
};
struct http_router *http_router_new(void);
void http_router_free(struct http_router *r);
int http_router_add(struct http_router *r, int methods, const char *pattern,
                    int roles, http_handler fn);
/* Removes the route with exactly METHODS and PATTERN. 0, or -1 if none. */
int http_router_remove(struct http_router *r, int methods, const char *pattern);
/* PATH is the raw path, still percent-encoded: it is split on '/' first and
 * each segment decoded after, so "%2F" stays inside a parameter. Literal
 * segments compare decoded. A trailing slash, an empty segment, a broken
 * escape or %00 matches nothing. HEAD matches a GET route.
 * 200 (match filled), 404, 405 (m->allowed filled, with HEAD when GET is
 * there), or -1 when memory ran out. */
int http_router_match(struct http_router *r, int method, const char *path,
                      struct http_match *m);
void http_match_clear(struct http_match *m);

/* --- request helpers ------------------------------------------------- */
/* A path parameter by name, or NULL. */
const char *http_param(struct http_req *req, const char *name);
/* A path parameter as a positive id (canonical decimal, ≤ 2^53). On a
 * non-id answers 404 and returns -1 (500 if the route has no such name). */
int http_param_id(struct http_req *req, const char *name, int64_t *out);
/* A query parameter, or NULL. */
const char *http_query(struct http_req *req, const char *name);
/* A request header, or NULL. */
const char *http_header(struct http_req *req, const char *name);
/* The client's address: the connection's peer or, when the peer is one of
 * the configuration's trusted_proxies, the client it forwarded in
 * X-Forwarded-For (proxy.h gives the rules). What per-client limits key on
 * (the rate limits; the console's sign-in limits). "" when unknown. Valid
 * as long as REQ; never log it (an address is personal data). */
const char *http_client_addr(struct http_req *req);
/* Parses the body as a JSON object. On failure answers (415 when a
 * Content-Type other than application/json or a +json type, or a charset
 * other than UTF-8, is given; 400 when the body is empty, not UTF-8,
 * malformed (the detail gives the offset), followed by more content, not an
 * object, or holds a \u0000 escape) and returns NULL. The caller owns the
 * result (cJSON_Delete). */
cJSON *http_json_body(struct http_req *req);

/* --- replies ----------------------------------------------------------- */
/* Takes ownership of BODY. */
void http_reply_json(struct http_req *req, int status, cJSON *body);
void http_reply_data(struct http_req *req, int status, const char *content_type,
                     const char *data, size_t len);
void http_reply_empty(struct http_req *req, int status);
void http_reply_header(struct http_req *req, const char *name, const char *value);
/* 1 for a header only the server may write in a reply: the framing
 * (Content-Length, Transfer-Encoding, Trailer) and the connection's own
 * (Connection, Keep-Alive, Upgrade, Proxy-Connection, TE). A plugin that
 * set one could desynchronise a kept-alive connection. Any case. */
int http_header_reserved(const char *name);
/* A problem+json answer with a standard title for STATUS. */
void http_problem(struct http_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 422 with the collected errors (takes them out of C). */
void http_problem_invalid(struct http_req *req, struct json_check *c);
/* The problem document itself ({"type": "urn:relais:problem:<slug of the
 * title>", "title", "status", "detail" unless NULL, "errors" unless NULL}):
 * caller owns it; ERRORS is taken (freed on failure). NULL when out of
 * memory. */
cJSON *http_problem_doc(int status, const char *detail, cJSON *errors);
const char *http_status_title(int status);

/* --- lists --------------------------------------------------------------- */
/* Cursor pagination. The cursor is opaque to clients: it encodes the sort
 * key of the last item returned (K1, K2), e.g. (starts_at, id) or (id, 0),
 * with a check byte so a hand-edited cursor is refused. */
struct http_page {
    int limit;        /* 1..500, default 50 */
    int has_cursor;
    int64_t k1, k2;
};
/* Reads ?limit and ?cursor; adds errors (fields "limit", "cursor") to C.
 * An empty ?cursor= is an error too: the first page has no cursor. */
void http_page_parse(struct http_req *req, struct json_check *c, struct http_page *p);
/* Encodes a cursor into BUF (≥ 64 bytes; 25 are used, and a smaller BUF
 * gets ""). */
void http_cursor_encode(int64_t k1, int64_t k2, char *buf, size_t n);
/* 0 or -1. */
int http_cursor_decode(const char *s, int64_t *k1, int64_t *k2);
/* {"items": ITEMS, "next": NEXT or null}; takes ownership of ITEMS. */
void http_reply_list(struct http_req *req, cJSON *items, const char *next);
/* The same document, for a caller that keeps its text: takes ownership of
 * ITEMS; NULL when out of memory. */
cJSON *http_list_doc(cJSON *items, const char *next);
/* Answers a page of a list (`{"items": [...], "next": …}`) from S, a statement
 * already bound with `LIMIT PAGE->limit + 1`: RENDER makes each row's item (a
 * new cJSON the page takes), and the cursor of the next page comes from the
 * integer columns K1 and K2 (K2 < 0: none) of the last row kept; the extra
 * row only says that a next page exists. 0 when answered, or -1 when the
 * database or memory failed: nothing answered, the caller logs and answers
 * 500. S stays the caller's (store_done). core/http/http_page.c. */
struct sqlite3_stmt;
int http_reply_page(struct http_req *req, struct sqlite3_stmt *s,
                    const struct http_page *page,
                    cJSON *(*render)(struct sqlite3_stmt *s), int k1, int k2);

#endif
