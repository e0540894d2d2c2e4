/* Internal to the HTTP server (core/http_server.c, core/http_listen.c). */
#ifndef RELAIS_HTTP_INTERNAL_H
#define RELAIS_HTTP_INTERNAL_H

#include "relais/http.h"

#define MAX_SOCKETS 8

struct evhttp;
struct evhttp_bound_socket;
struct http_call;
struct spool_route;
struct bufferevent;
struct evhttp_request;

struct http_server {
    struct app *app;
    struct evhttp *http;
    struct http_router *router;
    size_t body_limit;
    struct evhttp_bound_socket *socks[MAX_SOCKETS];
    int nsocks;
    int closing;
    struct http_call *deferred;   /* calls waiting for http_finish */
    struct spool_route *spools;   /* routes whose bodies go to a file */
};

/* http_spool.c */
/* Makes every connection's bufferevent the spooling filter. */
void http_spool_setup(struct http_server *hs);
/* The spooled body of EV, when it has one: 1 with *FD (the caller closes
 * it; at offset 0), *SIZE and *MAX (the route's limit); 0 when EV was not
 * spooled; or the HTTP status to answer (413, 400, 500; nothing to close). */
int http_spool_take(struct http_server *hs, struct evhttp_request *ev, int *fd,
                    size_t *size, size_t *max);
void http_spool_remove(struct http_server *hs, int methods, const char *pattern);
void http_spool_free(struct http_server *hs);

#endif
