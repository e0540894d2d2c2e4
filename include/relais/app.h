/* app — what one running Relais holds, passed to every handler.
 *
 * main.c builds it (config → timezone → store → migrations → event loop →
 * http routes) and tears it down in reverse. Nothing here is global except
 * through this struct, so tests can build an app of their own.
 */
#ifndef RELAIS_APP_H
#define RELAIS_APP_H

#include <stdint.h>

struct config;
struct store;
struct event_base;
struct http_server;
struct net;
struct outbox;
struct plugins;
struct domain_events;
struct auth;

struct app {
    struct config *cfg;
    struct store *store;
    struct event_base *base;
    struct http_server *http;
    struct net *net;           /* outgoing HTTP/SMTP (core/net) */
    struct outbox *outbox;     /* notifications (core/outbox) */
    struct plugins *plugins;   /* Lua plugins (core/plugins) */
    struct rcache *rcache;     /* rendered GET answers (core/rcache); NULL: none */
    struct domain_events *events; /* observers of the domain's changes; the store
                                     carries a pointer (store_events) */
    struct auth *auth;         /* staff sign-in (core/auth*.c) */
    int64_t started_at;
    int stopping;          /* set on SIGTERM/SIGINT */
};

/* Registers every core route (operations + domain) on APP->http. 0 or -1. */
int app_register_routes(struct app *app);

#endif
