/* config_proxy.c — the configuration of running behind a reverse proxy:
 * the trusted_proxies = {…} key (see core/util/proxy.h for what it
 * changes) and whether public_url is https. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "config_internal.h"
#include "proxy.h"

static const char list_what[] =
    "a list of address ranges like {\"127.0.0.1/32\", \"::1/128\"}";

/* trusted_proxies = {"127.0.0.1/32", "::1/128", "10.0.0.0/8"}: CIDR ranges,
 * IPv4 and IPv6, or bare addresses. */
void config_k_trusted_proxies(lua_State *L, int idx, const char *name, struct config *cfg)
{
    lua_Integer count = 0, top = 0;
    struct proxy_net *nets;

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be %s", name, list_what);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1)
            config_bad(L, "'%s' must be %s", name, list_what);
        if (lua_tointeger(L, -2) > top)
            top = lua_tointeger(L, -2);
        count++;
        lua_pop(L, 1);
    }
    if (top != count)
        config_bad(L, "'%s' must be %s", name, list_what);
    if (count > PROXY_MAX_NETS)
        config_bad(L, "'%s' lists more than %d ranges", name, PROXY_MAX_NETS);
    nets = calloc(count ? (size_t)count : 1, sizeof *nets);
    if (!nets)
        config_bad(L, "out of memory");
    free(cfg->trusted_proxies);
    cfg->trusted_proxies = nets;
    cfg->n_trusted_proxies = 0;
    for (lua_Integer i = 1; i <= count; i++) {
        char item[192];
        const char *s;
        int rc;

        snprintf(item, sizeof item, "%s[%d]", name, (int)i);
        lua_rawgeti(L, idx, i);
        s = config_get_str(L, -1, item, "an address range like \"10.0.0.0/8\" or \"::1/128\"");
        rc = proxy_net_parse(s, &nets[i - 1]);
        if (rc == -2)
            config_bad(L, "'%s' has bits set past its prefix length (\"%s\"): write the "
                       "range's first address, like \"10.0.0.0/8\"", item, s);
        if (rc != 0)
            config_bad(L, "'%s' must be an address range like \"10.0.0.0/8\" or \"::1/128\" "
                       "(not \"%s\")", item, s);
        cfg->n_trusted_proxies = (size_t)i;
        lua_pop(L, 1);
    }
}

int config_public_https(const struct config *cfg)
{
    return cfg && cfg->public_url && strncmp(cfg->public_url, "https://", 8) == 0;
}
