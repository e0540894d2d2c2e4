/* config_limits.c — the limits = {…} table of the configuration file: what
 * one client may take of the server (sizes, connections, time-outs, rates;
 * see core/config/config.h and etc/relais.conf.lua). */
#include "config.h"

#include <stdio.h>

#include <lua.h>

#include "config_internal.h"

/* A whole number from MIN to MAX at IDX ("2^15" is a float, yet whole). */
static lua_Integer whole(lua_State *L, int idx, const char *name, lua_Integer min,
                         lua_Integer max)
{
    lua_Integer v = 0;
    int ok = 0;

    if (lua_type(L, idx) == LUA_TNUMBER)
        v = lua_tointegerx(L, idx, &ok);
    if (!ok || v < min || v > max)
        config_bad(L, "'%s' must be a whole number from %d to %d", name, (int)min, (int)max);
    return v;
}

static int seconds(lua_State *L, int idx, const char *name)
{
    int64_t s = config_duration(L, idx, name, "30s");

    if (s < 1 || s > 3600)
        config_bad(L, "'%s' must be a duration from \"1s\" to \"1h\"", name);
    return (int)s;
}

static void k_header_size(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.header_size = (size_t)whole(L, idx, name, 1024, 1048576);
}

static void k_connections(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.connections = (int)whole(L, idx, name, 1, 100000);
}

static void k_request_timeout(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.request_timeout = seconds(L, idx, name);
}

static void k_idle_timeout(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.idle_timeout = seconds(L, idx, name);
}

static void k_pages_per_minute(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.pages_per_minute = (int)whole(L, idx, name, 1, 1000000);
}

static void k_pages_burst(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.pages_burst = (int)whole(L, idx, name, 1, 1000000);
}

static void k_auth_failures(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.auth_failures = (int)whole(L, idx, name, 1, 1000000);
}

static void k_clients(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->limits.clients = (int)whole(L, idx, name, 16, 1048576);
}

void config_k_limits(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {
        {"header_size", k_header_size},         {"connections", k_connections},
        {"request_timeout", k_request_timeout}, {"idle_timeout", k_idle_timeout},
        {"pages_per_minute", k_pages_per_minute}, {"pages_burst", k_pages_burst},
        {"auth_failures", k_auth_failures},     {"clients", k_clients},
    };

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {header_size = 32768, connections = 512, …}", name);
    config_walk(L, idx, name, fields, sizeof fields / sizeof fields[0], cfg);
}

void config_limits_defaults(struct config_limits *l)
{
    l->header_size = 32768;
    l->connections = 512;
    l->request_timeout = 60;
    l->idle_timeout = 30;
    l->pages_per_minute = 60;
    l->pages_burst = 60;
    l->auth_failures = 10;
    l->clients = 4096;
}
