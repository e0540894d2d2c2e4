/* Internal to the HTTP server (core/http/http_server.c, core/http/http_listen.c). */
#ifndef RELAIS_HTTP_INTERNAL_H
#define RELAIS_HTTP_INTERNAL_H

#include <stdint.h>

#include "http.h"

#define MAX_SOCKETS 8

struct evhttp;
struct evhttp_bound_socket;
struct http_call;
struct spool_route;
struct bufferevent;
struct evhttp_request;
struct evhttp_uri;
struct ratelimit;
struct conn_peers;
struct event;

struct http_server {
    struct app *app;
    struct evhttp *http;
    struct http_router *router;
    size_t body_limit;
    /* limits = {…} of the configuration (config.h), set at start and by a
     * reload (http_reload.c). */
    size_t header_size;
    int max_conns, request_timeout, idle_timeout;
    int nconns;                   /* connections open now (http_conn.c) */
    int nlive;                    /* … of them holding a place of the cap */
    uint64_t admitted;            /* connections admitted so far */
    struct conn_peers *peers;     /* live connections per client address */
    struct ratelimit *pages_rl;   /* /r/ and /s/ requests per address */
    struct ratelimit *auth_rl;    /* wrong tokens per address */
    struct evhttp_bound_socket *socks[MAX_SOCKETS];
    int nsocks;
    int closing;
    struct http_call *deferred;   /* calls waiting for http_finish */
    struct spool_route *spools;   /* routes whose bodies go to a file */
    struct {
        char prefix[32];
        http_page_fn fn;
    } pages[HTTP_PAGE_PREFIXES];  /* http_problem_pages */
    int npages;
    char session_cookie[32];      /* http_session_auth: the cookie's name */
    http_session_fn session_fn;
    http_bearer_fn bearer_fn;     /* http_bearer_auth */
    void *bearer_arg;
    void (*bearer_free)(void *);
    /* accept() failures (http_listen.c): listeners paused until the timer. */
    struct event *accept_timer;
    int accept_paused;
    int64_t accept_logged_ms;     /* monotonic time of the last line logged */
    unsigned long accept_unlogged;
};

/* http_listen.c: forgets HS's listeners (HS is being freed). */
void http_listen_forget(struct http_server *hs);

/* http_conn.c */
void http_conn_free_peers(struct http_server *hs);
/* After a reload changed max_conns: the table of live connections per
 * address grows for the new cap (existing counts kept). 0, or -1 without
 * memory (the table stays, and addresses beyond it are not counted). */
int http_conn_limits_changed(struct http_server *hs);

/* http_spool.c */
/* Makes every connection's bufferevent the spooling filter. */
void http_spool_setup(struct http_server *hs);
/* The spooled body of EV, when it has one: 1 with *FD (the caller closes
 * it; at offset 0), *SIZE and *MAX (the route's limit); 0 when EV was not
 * spooled; or the HTTP status to answer (413, 400, 500; nothing to close). */
int http_spool_take(struct http_server *hs, struct evhttp_request *ev, int *fd,
                    size_t *size, size_t *max);
void http_spool_remove(struct http_server *hs, int methods, const char *pattern);
/* 1 when EV is the stand-in of a head the filter refused (STATUS and
 * DETAIL say why: answer them and close), else 0. */
int http_spool_refused(struct evhttp_request *ev, int *status, const char **detail);
void http_spool_free(struct http_server *hs);

/* http_guard.c: the checks before a handler runs (http_server.c calls
 * them in order). Each answers on REQ and returns -1 when the request
 * goes no further, else 0. */
/* The target: decoded path into *PATH (caller frees), *URI (caller frees),
 * *RAW the still-encoded path inside *URI (400). */
int http_guard_target(struct http_req *req, struct evhttp_uri **uri, char **path,
                      const char **raw);
/* The body: spooled (413, 400, 500) or copied into *BODY (caller frees;
 * 413, 500). */
int http_guard_body(struct http_server *hs, struct http_req *req, char **body);
/* The per-address rate limit of the public pages /r/ and /s/ (429). */
int http_guard_pages(struct http_server *hs, struct http_req *req);
/* The bearer token (401, 429 after too many wrong ones, 500). */
int http_guard_auth(struct http_server *hs, struct http_req *req);
/* The rate limits from the configuration of HS->app (defaults without
 * one). 0 or -1. */
int http_guard_setup(struct http_server *hs);

/* http_reload.c: hands HS's body limit, head size and idle time-out to
 * evhttp (at start, and again when a reload changes them). */
void http_apply_sizes(struct http_server *hs);

#endif
