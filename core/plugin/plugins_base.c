/* plugins_base — the base functions the plugin host adds to those of the
 * one sandbox (core/lua/sandbox.c), because they reach what only the host
 * knows: require "x" runs plugins/NAME/x.lua (no other file, no C module),
 * print writes a line of the plugin's log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "log.h"

/* Marks a module being loaded: never dereferenced. */
static const char loading_marker;

/* print(...) → one info line of the plugin's log. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    log_info(plugin_of(L)->module, "%.*s%s", PLUGINS_LOG_MAX, lua_tostring(L, -1),
             lua_rawlen(L, -1) > PLUGINS_LOG_MAX ? "…" : "");
    return 0;
}

static int valid_module(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

#define LOADED_KEY "relais.loaded"

/* require "x": plugins/NAME/x.lua, run once, its value cached. */
static int l_require(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    const char *name = luaL_checkstring(L, 1), *why = NULL;
    char *path = NULL, *buf = NULL, chunk[96];
    size_t len = 0;
    int rc, st;

    if (!valid_module(name))
        return luaL_error(L, "require: '%s' is not a module of this plugin "
                          "(letters, digits, _ and - only)", name);
    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
    lua_getfield(L, 2, name);
    if (lua_toboolean(L, 3)) {
        if (lua_touserdata(L, 3) == &loading_marker)
            return luaL_error(L, "require: module '%s' requires itself (a loop)", name);
        return 1;
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, (void *)&loading_marker);   /* "being loaded" */
    lua_setfield(L, 2, name);
    snprintf(chunk, sizeof chunk, "@%s/%s.lua", pl->name, name);
    if (asprintf(&path, "%s/%s.lua", pl->dir, name) < 0)
        path = NULL;
    rc = path ? plugin_read_file(path, &buf, &len, &why) : -1;
    free(path);
    if (rc != 0) {
        lua_pushnil(L);
        lua_setfield(L, 2, name);
        return luaL_error(L, "require: cannot read module '%s': %s", name,
                          why ? why : "out of memory");
    }
    st = sandbox_load(L, buf, len, chunk);
    free(buf);
    if (st == LUA_OK)
        st = lua_pcall(L, 0, 1, 0);
    if (st != LUA_OK) {
        /* Forget the marker so that a later require says what failed. */
        lua_pushnil(L);
        lua_setfield(L, 2, name);
        return lua_error(L);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}

void pbase_open(lua_State *L)
{
    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
    lua_pushcfunction(L, l_require);
    lua_setglobal(L, "require");
}
