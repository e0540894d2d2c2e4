/* config_ops.c — the operations tables of the configuration file (see
 * core/config/config.h and etc/relais.conf.lua):
 *   links   = {expire_after = "90d"}   how long after its session a link works
 *   metrics = {token = env "…"}        a bearer token /metrics then requires
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "config_internal.h"

#define MIN_METRICS_TOKEN 16

static void k_expire_after(lua_State *L, int idx, const char *name, struct config *cfg)
{
    int64_t s = config_duration(L, idx, name, "90d");

    /* Shorter than an hour would cut a link while its session runs late. */
    if (s < 3600 || s > 3650 * 86400)
        config_bad(L, "'%s' must be a duration from \"1h\" to \"3650d\"", name);
    cfg->links_expire_after = s;
}

void config_k_links(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"expire_after", k_expire_after}};

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {expire_after = \"90d\"}", name);
    config_walk(L, idx, name, fields, 1, cfg);
}

static void k_token(lua_State *L, int idx, const char *name, struct config *cfg)
{
    const char *what = "a token of at least 16 characters (env \"RELAIS_METRICS_TOKEN\")";
    const char *s = config_get_str(L, idx, name, what);
    char *copy;

    if (strlen(s) < MIN_METRICS_TOKEN)
        config_bad(L, "'%s' must be %s", name, what);
    copy = strdup(s);
    if (!copy)
        config_bad(L, "out of memory");
    free(cfg->metrics_token);
    cfg->metrics_token = copy;
}

void config_k_metrics(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"token", k_token}};

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {token = env \"RELAIS_METRICS_TOKEN\"}", name);
    config_walk(L, idx, name, fields, 1, cfg);
}
