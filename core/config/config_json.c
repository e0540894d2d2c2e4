/* config_json.c — a plugin's own config table (a key named like the plugin,
 * such as `surveys = {…}`) kept as JSON for the plugin host, which hands it
 * to the plugin as relais.config. The core does not know what the plugin
 * expects, so it checks only the shape: plain nested tables of strings,
 * numbers and booleans. The plugin checks the meaning when it loads. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "config_internal.h"

/* Raises "'NAME' must be WHAT" (as config_keys.c does). */
static void refuse(lua_State *L, const char *name, const char *what)
{
    lua_pushfstring(L, "'%s' must be %s", name, what);
    lua_error(L);
}

int config_table_is_list(lua_State *L, int idx)
{
    lua_Integer count = 0, top = 0;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        if (lua_tointeger(L, -1) > top)
            top = lua_tointeger(L, -1);
        count++;
    }
    return count > 0 && top == count;
}

/* The value on top of the stack, named NAME, added to INTO under KEY (an
 * object) or appended (an array, KEY NULL). */
static void add_value(lua_State *L, const char *name, cJSON *into, const char *key, int depth)
{
    int top = lua_gettop(L);
    cJSON *v = NULL;
    size_t len;
    const char *s;

    switch (lua_type(L, top)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, top, &len);
        if (strlen(s) != len)
            refuse(L, name, "a string without NUL bytes");
        v = cJSON_CreateString(s);
        break;
    case LUA_TNUMBER:
        v = cJSON_CreateNumber(lua_isinteger(L, top) ? (double)lua_tointeger(L, top)
                                                     : (double)lua_tonumber(L, top));
        break;
    case LUA_TBOOLEAN:
        v = cJSON_CreateBool(lua_toboolean(L, top));
        break;
    case LUA_TTABLE:
        if (depth >= CONFIG_TABLE_DEPTH)
            refuse(L, name, "nested less deeply");
        v = config_table_is_list(L, top) ? cJSON_CreateArray() : cJSON_CreateObject();
        break;
    default:
        refuse(L, name, "a string, a number, a boolean or a table of them");
    }
    if (!v)
        luaL_error(L, "out of memory");
    /* Attached before it is filled: an error below frees it with the rest. */
    if (key ? !cJSON_AddItemToObject(into, key, v) : !cJSON_AddItemToArray(into, v)) {
        cJSON_Delete(v);
        luaL_error(L, "out of memory");
    }
    if (lua_type(L, top) == LUA_TTABLE)
        config_table_json(L, top, name, v, depth + 1);
}

void config_table_json(lua_State *L, int idx, const char *name, cJSON *into, int depth)
{
    int list = cJSON_IsArray(into);

    luaL_checkstack(L, 6, "nested too deep");
    if (list) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        for (lua_Integer i = 1; i <= n; i++) {
            char item[192];
            snprintf(item, sizeof item, "%s[%lld]", name, (long long)i);
            lua_rawgeti(L, idx, i);
            add_value(L, item, into, NULL, depth);
            lua_pop(L, 1);
        }
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char item[192];
        size_t len;
        const char *k;

        if (lua_type(L, -2) != LUA_TSTRING)
            refuse(L, name, "a list or a table with names as keys");
        k = lua_tolstring(L, -2, &len);
        if (strlen(k) != len || !*k || len > 64)
            refuse(L, name, "a table whose keys are names of up to 64 characters");
        snprintf(item, sizeof item, "%s%s%s", name, *name ? "." : "", k);
        add_value(L, item, into, k, depth);
        lua_pop(L, 1);
    }
}
