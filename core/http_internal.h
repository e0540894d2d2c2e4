/* Internal to the HTTP server (core/http_server.c, core/http_listen.c). */
#ifndef RELAIS_HTTP_INTERNAL_H
#define RELAIS_HTTP_INTERNAL_H

#include "relais/http.h"

#define MAX_SOCKETS 8

struct evhttp;
struct evhttp_bound_socket;
struct http_call;

struct http_server {
    struct app *app;
    struct evhttp *http;
    struct http_router *router;
    size_t body_limit;
    struct evhttp_bound_socket *socks[MAX_SOCKETS];
    int nsocks;
    int closing;
    struct http_call *deferred;   /* calls waiting for http_finish */
};

#endif
