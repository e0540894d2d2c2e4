/* config_login.c — the login = {…} table of the configuration file: how
 * long a staff member's sign-in lasts and how long an e-mailed
 * set-password link works (core/auth/auth.c; etc/relais.conf.lua). */
#include "config.h"

#include <lua.h>

#include "config_internal.h"

/* A duration from MIN to MAX seconds, naming the key when it is not. */
static int64_t bounded(lua_State *L, int idx, const char *name, const char *example,
                       int64_t min, int64_t max, const char *range)
{
    int64_t s = config_duration(L, idx, name, example);

    if (s < min || s > max)
        config_bad(L, "'%s' must be a duration from %s", name, range);
    return s;
}

static void k_idle(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->login.idle = bounded(L, idx, name, "12h", 60, 90 * 86400, "\"1m\" to \"90d\"");
}

static void k_max(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->login.max = bounded(L, idx, name, "7d", 60, 365 * 86400, "\"1m\" to \"365d\"");
}

static void k_invite(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->login.invite = bounded(L, idx, name, "3d", 60, 30 * 86400, "\"1m\" to \"30d\"");
}

void config_k_login(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {
        {"idle", k_idle}, {"max", k_max}, {"invite", k_invite},
    };

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {idle = \"12h\", max = \"7d\", invite = \"3d\"}",
                   name);
    config_walk(L, idx, name, fields, sizeof fields / sizeof fields[0], cfg);
    if (cfg->login.idle > cfg->login.max)
        config_bad(L, "'%s.idle' must not be longer than '%s.max'", name, name);
}

void config_login_defaults(struct config_login *l)
{
    l->idle = 12 * 3600;
    l->max = 7 * 86400;
    l->invite = 3 * 86400;
}
