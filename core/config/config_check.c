/* config_check — the checker's tools (see config_internal.h): raising an
 * error that names the key, reading a string, a duration, a list, and
 * walking a table against its known keys. The keys themselves are in
 * config_keys.c and the config_*.c of each table, which all use these.
 *
 * These run inside the protected call: an error is raised with lua_error
 * and reaches the caller as "PATH: message". Only raw table access is used,
 * so no metamethod of the file runs here. */
#include "config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "rtime.h"

/* lua_pushvfstring knows only a few conversions: %s and %d are used. */
void config_bad(lua_State *L, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_error(L);
    abort();   /* lua_error never returns */
}

/* The string at IDX, or raises "'NAME' must be WHAT". Strings with a NUL
 * inside are refused: C would silently cut them. */
const char *config_get_str(lua_State *L, int idx, const char *name, const char *what)
{
    size_t len;
    const char *s;

    if (lua_type(L, idx) != LUA_TSTRING)
        config_bad(L, "'%s' must be %s", name, what);
    s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len)
        config_bad(L, "'%s' must be %s", name, what);
    return s;
}

void config_key_name(lua_State *L, int kidx, const char *prefix, char *buf, size_t n)
{
    const char *dot = *prefix ? "." : "";

    if (lua_type(L, kidx) == LUA_TSTRING)
        snprintf(buf, n, "%s%s%.60s", prefix, dot, lua_tostring(L, kidx));
    else if (lua_isinteger(L, kidx))
        snprintf(buf, n, "%s[%lld]", prefix, (long long)lua_tointeger(L, kidx));
    else
        snprintf(buf, n, "%s[%s]", prefix, luaL_typename(L, kidx));
}

void config_walk(lua_State *L, int tbl, const char *prefix, const struct config_field *fields,
                 size_t nfields, struct config *cfg)
{
    luaL_checkstack(L, 4, "nested too deep");
    lua_pushnil(L);
    while (lua_next(L, tbl)) {
        const struct config_field *f = NULL;
        char name[160];

        config_key_name(L, -2, prefix, name, sizeof name);
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t len;
            const char *k = lua_tolstring(L, -2, &len);
            for (size_t i = 0; i < nfields && strlen(k) == len; i++)
                if (fields[i].name && strcmp(k, fields[i].name) == 0)
                    f = &fields[i];
        }
        for (size_t i = 0; !f && i < nfields; i++)
            if (!fields[i].name)
                f = &fields[i];   /* the catch-all: a plugin's own table */
        if (!f)
            config_bad(L, "unknown key '%s'", name);
        f->fn(L, lua_gettop(L), name, cfg);
        lua_pop(L, 1);
    }
}

/* Checks that the value at IDX is a list (keys 1..n, nothing else) of at
 * most MAX items and returns n. */
size_t config_list_len(lua_State *L, int idx, const char *name, const char *what, size_t max)
{
    lua_Integer count = 0, top = 0;

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be %s", name, what);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1)
            config_bad(L, "'%s' must be %s", name, what);
        if (lua_tointeger(L, -2) > top)
            top = lua_tointeger(L, -2);
        count++;
        lua_pop(L, 1);
    }
    if (top != count)
        config_bad(L, "'%s' must be %s", name, what);
    if ((size_t)count > max)
        config_bad(L, "'%s' lists more than %d items", name, (int)max);
    return (size_t)count;
}

int64_t config_duration(lua_State *L, int idx, const char *name, const char *example)
{
    int64_t secs;
    const char *s = config_get_str(L, idx, name, "a duration");

    if (rt_parse_duration(s, &secs) != 0)
        config_bad(L, "'%s' must be a duration like \"%s\"", name, example);
    return secs;
}
