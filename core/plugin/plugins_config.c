/* plugins_config — relais.config (which table of the config file a plugin
 * gets) and relais.config_check, the one checker of plugin settings
 * (plugins/API.md, "Settings").
 *
 * The core checks only the shape of a plugin's table (config_json.c): what
 * the keys mean belongs to the plugin, which declares them as a schema and
 * checks its table when it loads. A failure names the key as the config
 * file writes it ("sms_ovh.application_key: is required") and, while the
 * plugin loads, is recorded as a mistake in the config file: at start the
 * server then stops (plugins.c) rather than run with a gateway that could
 * never send. Schemas are the plugin's code: a malformed one is an
 * ordinary plugin error, not the operator's.
 *
 * What the check reads is charged to the plugin's budget as it goes, at the
 * prices of sandbox_cost.c: each key of the schema and of the settings
 * (nine times for a key the schema does not know, which is formatted and
 * compared), each entry of a `one_of` or `schemes` list (SANDBOX_COST_ELEMENT), each byte of
 * a string it scans (SANDBOX_COST_SCAN_BYTES): a table of a million keys or a
 * `one_of` of a million entries costs what a Lua loop over them would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "config.h"

#define MAX_SCHEMA_KEYS 64

void pconfig_push(lua_State *L, struct plugin *pl)
{
    char source[2 * CONFIG_PLUGIN_NAME_MAX + 2];
    int skip = 0;
    const cJSON *t = config_plugin_table(pl->host->app->cfg, pl->name, source, sizeof source,
                                         &skip);

    free(pl->config_source);
    pl->config_source = strdup(source);   /* NULL: messages use the key */
    if (t)
        pcodec_push_json(L, t, 0);
    else
        lua_newtable(L);
    if (skip && lua_istable(L, -1)) {
        /* `provider` chose the gateway; the rest are its settings. */
        lua_pushnil(L);
        lua_setfield(L, -2, "provider");
    }
}

/* --- relais.config_check(settings, schema [, name]) ------------------------------ */

struct check {
    lua_State *L;
    struct plugin *pl;
    const char *name;       /* "sms_ovh" */
    int cfg, schema, out;   /* stack slots */
};

/* Raises "NAME.KEY: MSG" (or "NAME[KEY]" for a list index); while the
 * plugin loads, the first one is its config error. */
static int fail(struct check *c, const char *key, const char *msg)
{
    lua_State *L = c->L;
    struct task *t = task_running(L);
    const char *text;

    if (key[0] == '[')
        text = lua_pushfstring(L, "%s%s: %s", c->name, key, msg);
    else
        text = lua_pushfstring(L, "%s.%s: %s", c->name, key, msg);
    if (t && t->kind == TASK_LOAD && !c->pl->config_error)
        c->pl->config_error = strdup(text);
    return lua_error(L);
}

/* The rule's field F of TYPE (LUA_TNIL: any), pushed; raises on a rule
 * whose field has another type (the plugin's mistake). */
static int rule_field(lua_State *L, int rule, const char *key, const char *f, int type)
{
    int got;

    lua_pushstring(L, f);
    got = lua_rawget(L, rule);
    if (got != LUA_TNIL && type != LUA_TNIL && got != type)
        luaL_error(L, "relais.config_check: the rule of '%s' has a '%s' of the wrong type",
                   key, f);
    return got;
}

/* Lua's own text of the value at IDX ("120", "0.5"), pushed. */
static const char *number_text(lua_State *L, int idx)
{
    return luaL_tolstring(L, idx, NULL);
}

/* min and max of a number, or of a string's length. */
static void check_range(struct check *c, const char *key, int rule, int v, int length)
{
    lua_State *L = c->L;
    int has_min = rule_field(L, rule, key, "min", LUA_TNUMBER) != LUA_TNIL;
    int has_max = rule_field(L, rule, key, "max", LUA_TNUMBER) != LUA_TNIL;
    int top = lua_gettop(L), low = 0, high = 0;

    if (length)
        lua_pushinteger(L, (lua_Integer)lua_rawlen(L, v));
    else
        lua_pushvalue(L, v);
    if (has_min && lua_compare(L, -1, top - 1, LUA_OPLT))
        low = 1;
    if (has_max && lua_compare(L, top, -1, LUA_OPLT))
        high = 1;
    if (low || high) {
        const char *lo = has_min ? number_text(L, top - 1) : NULL;
        const char *hi = has_max ? number_text(L, top) : NULL;
        const char *what = length ? " characters" : "";

        if (lo && hi)
            fail(c, key, lua_pushfstring(L, "must be from %s to %s%s", lo, hi, what));
        fail(c, key, lo ? lua_pushfstring(L, "must be at least %s%s", lo, what)
                        : lua_pushfstring(L, "must be at most %s%s", hi, what));
    }
    lua_settop(L, top - 2);
}

/* An absolute http(s) URL (or one of the rule's `schemes`), without spaces
 * or control characters and with a host; its trailing '/' removed. */
static void check_url(struct check *c, const char *key, int rule, int v)
{
    lua_State *L = c->L;
    size_t len, n;
    const char *s = lua_tolstring(L, v, &len), *sep = strstr(s, "://"), *host;
    int ok = 0, top = lua_gettop(L);

    if (rule_field(L, rule, key, "schemes", LUA_TTABLE) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_createtable(L, 2, 0);
        lua_pushliteral(L, "http");
        lua_rawseti(L, -2, 1);
        lua_pushliteral(L, "https");
        lua_rawseti(L, -2, 2);
    }
    for (lua_Integer i = 1; sep && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
        size_t sl;
        const char *scheme = lua_tolstring(L, -1, &sl);

        sandbox_charge(L, SANDBOX_COST_ELEMENT);

        ok |= (size_t)(sep - s) == sl && strncmp(s, scheme, sl) == 0;
        lua_pop(L, 1);
    }
    for (size_t i = 0; ok && i < len; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            ok = 0;
    host = sep ? sep + 3 : s;
    if (strcspn(host, "/?#") == 0)
        ok = 0;
    if (!ok) {
        luaL_Buffer b;

        luaL_buffinit(L, &b);
        luaL_addstring(&b, "must be a URL starting with ");
        for (lua_Integer i = 1; lua_rawgeti(L, top + 1, i) == LUA_TSTRING; i++) {
            if (i > 1)
                luaL_addstring(&b, " or ");
            lua_pushliteral(L, "://");
            lua_concat(L, 2);
            luaL_addvalue(&b);
        }
        lua_pop(L, 1);
        luaL_pushresult(&b);
        fail(c, key, lua_tostring(L, -1));
    }
    for (n = len; n > (size_t)(host - s) && s[n - 1] == '/'; n--)
        ;
    lua_settop(L, top);
    lua_pushlstring(L, s, n);
    lua_replace(L, v);
}

/* The value at V checked against the rule at RULE (type, range, one_of). */
static void check_value(struct check *c, const char *key, int rule, int v, const char *type)
{
    lua_State *L = c->L;
    int top = lua_gettop(L);

    if (strcmp(type, "string") == 0 || strcmp(type, "url") == 0) {
        size_t len;
        const char *s;

        if (lua_type(L, v) != LUA_TSTRING)
            fail(c, key, strcmp(type, "url") == 0 ? "must be a URL (a string)"
                                                  : "must be a string");
        s = lua_tolstring(L, v, &len);
        /* Read once here, once more for a URL. */
        sandbox_charge(L, (long)(len / SANDBOX_COST_SCAN_BYTES) * 2 + 1);
        if (strlen(s) != len)
            fail(c, key, "must not hold a NUL byte");
        if (len == 0 && !(rule_field(L, rule, key, "empty", LUA_TBOOLEAN) == LUA_TBOOLEAN &&
                          lua_toboolean(L, -1)))
            fail(c, key, "must not be empty");
        if (strcmp(type, "url") == 0)
            check_url(c, key, rule, v);
        else
            check_range(c, key, rule, v, 1);
    } else if (strcmp(type, "number") == 0) {
        if (lua_type(L, v) != LUA_TNUMBER)
            fail(c, key, "must be a number");
        check_range(c, key, rule, v, 0);
    } else if (strcmp(type, "integer") == 0) {
        int isint = 0;
        lua_Integer n = lua_tointegerx(L, v, &isint);

        if (lua_type(L, v) != LUA_TNUMBER || !isint)
            fail(c, key, "must be a whole number");
        lua_pushinteger(L, n);
        lua_replace(L, v);
        check_range(c, key, rule, v, 0);
    } else if (strcmp(type, "boolean") == 0) {
        if (lua_type(L, v) != LUA_TBOOLEAN)
            fail(c, key, "must be true or false");
    } else if (lua_type(L, v) != LUA_TTABLE) {
        fail(c, key, "must be a table");
    }
    lua_settop(L, top);
    if (rule_field(L, rule, key, "one_of", LUA_TTABLE) == LUA_TTABLE) {
        int list = lua_gettop(L), found = 0;
        luaL_Buffer b;

        for (lua_Integer i = 1; !found && lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
            sandbox_charge(L, SANDBOX_COST_ELEMENT);
            found = lua_rawequal(L, -1, v);
            lua_pop(L, 1);
        }
        lua_settop(L, list);
        if (!found) {
            luaL_buffinit(L, &b);
            luaL_addstring(&b, "must be one of ");
            for (lua_Integer i = 1; lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
                int str = lua_type(L, -1) == LUA_TSTRING;

                sandbox_charge(L, SANDBOX_COST_ELEMENT);

                luaL_tolstring(L, -1, NULL);
                lua_remove(L, -2);
                if (i > 1)
                    luaL_addstring(&b, ", ");
                if (str)
                    luaL_addchar(&b, '"');
                luaL_addvalue(&b);
                if (str)
                    luaL_addchar(&b, '"');
            }
            lua_pop(L, 1);
            luaL_pushresult(&b);
            fail(c, key, lua_tostring(L, -1));
        }
    }
    lua_settop(L, top);
}

/* The schema's keys, sorted: errors come in the same order every time. */
static size_t sorted_keys(lua_State *L, int schema, const char **keys)
{
    size_t n = 0;

    lua_pushnil(L);
    while (lua_next(L, schema)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TTABLE)
            luaL_error(L, "relais.config_check: a schema maps key names to rule tables");
        if (n == MAX_SCHEMA_KEYS)
            luaL_error(L, "relais.config_check: at most %d keys", MAX_SCHEMA_KEYS);
        keys[n++] = lua_tostring(L, -2);   /* anchored by the schema */
        lua_pop(L, 1);
    }
    /* The keys read, then at most n² / 2 comparisons of the sort. */
    sandbox_charge(L, (long)(n * SANDBOX_COST_ELEMENT + n * n / 2));
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *k = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = k;
        }
    return n;
}

/* The first key of the settings the schema does not know (in order), or
 * nothing: then returns 0. */
static int unknown_key(struct check *c, char *out, size_t n)
{
    lua_State *L = c->L;
    int found = 0;

    lua_pushnil(L);
    while (lua_next(L, c->cfg)) {
        char name[80];

        sandbox_charge(L, SANDBOX_COST_ELEMENT);
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            if (lua_rawget(L, c->schema) != LUA_TNIL) {
                lua_pop(L, 1);
                continue;
            }
            lua_pop(L, 1);
            snprintf(name, sizeof name, "%s", lua_tostring(L, -1));
        } else if (lua_isinteger(L, -1)) {
            snprintf(name, sizeof name, "[%lld]", (long long)lua_tointeger(L, -1));
        } else {
            snprintf(name, sizeof name, "[%s]", luaL_typename(L, -1));
        }
        /* An unknown key is formatted (snprintf: 50 to 100 ns) and
         * compared: eight more elements' worth. */
        sandbox_charge(L, 8 * SANDBOX_COST_ELEMENT);
        if (!found || strcmp(name, out) < 0)
            snprintf(out, n, "%s", name);
        found = 1;
    }
    return found;
}

int pconfig_l_check(lua_State *L)
{
    static const char *const types[] = {"string", "number", "integer", "boolean", "url",
                                        "table", NULL};
    struct check c = {L, plugin_of(L), NULL, 1, 2, 0};
    const char *keys[MAX_SCHEMA_KEYS];
    char unknown[80];
    size_t n;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 3);
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    c.name = luaL_optstring(L, 3, c.pl->config_source ? c.pl->config_source : c.pl->key);
    lua_settop(L, 3);
    n = sorted_keys(L, c.schema, keys);
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, c.schema, keys[i]);
        int known = 0;

        if (rule_field(L, lua_gettop(L), keys[i], "type", LUA_TSTRING) == LUA_TSTRING)
            for (size_t j = 0; types[j] && !known; j++)
                known = strcmp(lua_tostring(L, -1), types[j]) == 0;
        if (!known)
            luaL_error(L, "relais.config_check: the rule of '%s' has no known type (string, "
                       "number, integer, boolean, url, table)", keys[i]);
        lua_settop(L, 3);
    }
    if (unknown_key(&c, unknown, sizeof unknown)) {
        luaL_Buffer b;

        luaL_buffinit(L, &b);
        luaL_addstring(&b, n ? "unknown key (the keys are: " : "unknown key (there are none");
        for (size_t i = 0; i < n; i++) {
            luaL_addstring(&b, keys[i]);
            if (i + 1 < n)
                luaL_addstring(&b, ", ");
        }
        luaL_addchar(&b, ')');
        luaL_pushresult(&b);
        fail(&c, unknown, lua_tostring(L, -1));
    }
    lua_createtable(L, 0, (int)n);
    c.out = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
        int rule, v;

        lua_getfield(L, c.schema, keys[i]);
        rule = lua_gettop(L);
        lua_getfield(L, c.cfg, keys[i]);
        v = lua_gettop(L);
        if (lua_isnil(L, v)) {
            lua_pop(L, 1);
            rule_field(L, rule, keys[i], "default", LUA_TNIL);
        }
        if (!lua_isnil(L, v)) {
            rule_field(L, rule, keys[i], "type", LUA_TSTRING);
            check_value(&c, keys[i], rule, v, lua_tostring(L, -1));
            lua_settop(L, v);
            lua_setfield(L, c.out, keys[i]);
        } else if (rule_field(L, rule, keys[i], "required", LUA_TBOOLEAN) == LUA_TBOOLEAN &&
                   lua_toboolean(L, -1)) {
            fail(&c, keys[i], "is required");
        }
        lua_settop(L, c.out);
    }
    /* Then each rule's own check, seeing every value: rules across keys
     * ("from, unless messaging_service_sid") live there. */
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, c.schema, keys[i]);
        if (rule_field(L, lua_gettop(L), keys[i], "check", LUA_TFUNCTION) == LUA_TFUNCTION) {
            lua_getfield(L, c.out, keys[i]);
            lua_pushvalue(L, c.out);
            lua_call(L, 2, 2);
            if (!lua_toboolean(L, -2))
                fail(&c, keys[i], lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                                  : "is not valid");
        }
        lua_settop(L, c.out);
    }
    return 1;
}
