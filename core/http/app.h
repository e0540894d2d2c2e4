/* app — what one running Relais holds, passed to every handler
 * (REQ->app).
 *
 * relais serve (core/ops/cli_serve.c) builds it (config → timezone → store
 * → migrations → event loop → http routes) and tears it down in reverse.
 * Nothing here is global except through this struct, so tests can build an
 * app of their own.
 *
 * It lives in core/http because HTTP hands it to every handler, and it
 * depends on nothing: its members are pointers to structs it only names.
 * A subsystem uses only the members of subsystems at or below its own
 * (HTTP itself: cfg, store, rcache); to reach APP->outbox, a file must
 * include outbox.h, which the build allows only above core/notify.
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
struct rcache;

struct app {
    struct config *cfg;
    struct store *store;
    struct event_base *base;
    struct http_server *http;
    struct net *net;           /* outgoing HTTP/SMTP (core/util/net.c) */
    struct outbox *outbox;     /* notifications (core/notify) */
    struct plugins *plugins;   /* Lua plugins (core/plugin) */
    struct rcache *rcache;     /* rendered GET answers (core/http/rcache.c); NULL: none */
    struct domain_events *events; /* observers of the domain's changes; the store
                                     carries a pointer (store_events) */
    struct auth *auth;         /* staff sign-in (core/auth/auth*.c) */
    int64_t started_at;
    int stopping;          /* set on SIGTERM/SIGINT */
};

#endif
