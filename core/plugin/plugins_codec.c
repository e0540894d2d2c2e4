/* plugins_codec — relais.json and relais.url, and the conversions the host
 * needs (cJSON → Lua, form bodies → tables).
 *
 * Encoders write into a struct sbuf, a userdata in the plugin's own heap:
 * the memory cap applies and a Lua error (a string that is not UTF-8, a
 * table too deep) leaves nothing to free. C memory that must live across
 * calls that may raise (a cJSON tree) sits in a box whose __gc frees it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "json.h"

#define BOX_MT      "relais.box"

/* --- buffers and boxes ------------------------------------------------------- */

void sbuf_init(struct sbuf *b, lua_State *L)
{
    b->L = L;
    b->len = 0;
    b->cap = 256;
    b->p = lua_newuserdatauv(L, b->cap, 0);
    b->idx = lua_gettop(L);
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap;
        char *p;

        while (cap - b->len < n) {
            if (cap > PLUGINS_MEM_CAP)
                luaL_error(b->L, "not enough memory");
            cap *= 2;
        }
        p = lua_newuserdatauv(b->L, cap, 0);
        memcpy(p, b->p, b->len);
        lua_replace(b->L, b->idx);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void sbuf_addc(struct sbuf *b, char c)
{
    sbuf_add(b, &c, 1);
}

void sbuf_adds(struct sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_finish(struct sbuf *b)
{
    lua_pushlstring(b->L, b->p, b->len);
    lua_replace(b->L, b->idx);
}

struct box {
    void *p;
    void (*free_fn)(void *);
};

static int box_gc(lua_State *L)
{
    struct box *b = lua_touserdata(L, 1);

    if (b && b->p) {
        b->free_fn(b->p);
        b->p = NULL;
    }
    return 0;
}

void **pcodec_box(lua_State *L, void (*free_fn)(void *))
{
    struct box *b = lua_newuserdatauv(L, sizeof *b, 0);

    b->p = NULL;
    b->free_fn = free_fn;
    luaL_setmetatable(L, BOX_MT);
    return &b->p;
}

void pcodec_unbox(void **slot)
{
    struct box *b = (struct box *)slot;

    if (b->p) {
        b->free_fn(b->p);
        b->p = NULL;
    }
}

static void free_json(void *p)
{
    cJSON_Delete(p);
}

/* --- JSON ------------------------------------------------------------------------ */

/* Numbers JSON carries exactly as integers. */
#define EXACT_INT 9007199254740992.0

static void push_json(lua_State *L, const cJSON *j, int nulls, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON nested too deep");
    if (cJSON_IsNull(j) || cJSON_IsInvalid(j)) {
        if (nulls)
            lua_pushlightuserdata(L, NULL);
        else
            lua_pushnil(L);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;

        if (d == floor(d) && fabs(d) <= EXACT_INT)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring ? j->valuestring : "");
    } else if (cJSON_IsArray(j)) {
        lua_Integer i = 1;

        lua_createtable(L, cJSON_GetArraySize(j), 0);
        for (const cJSON *c = j->child; c; c = c->next, i++) {
            push_json(L, c, nulls, depth + 1);
            lua_rawseti(L, -2, i);
        }
    } else {
        lua_createtable(L, 0, cJSON_GetArraySize(j));
        for (const cJSON *c = j->child; c; c = c->next) {
            push_json(L, c, nulls, depth + 1);
            if (lua_isnil(L, -1) || !c->string) {
                lua_pop(L, 1);
                continue;
            }
            lua_pushstring(L, c->string);
            lua_insert(L, -2);
            lua_rawset(L, -3);
        }
    }
}

void pcodec_push_json(lua_State *L, const cJSON *json, int nulls)
{
    push_json(L, json, nulls, 0);
}

static void enc_string(lua_State *L, struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    if (!json_utf8_valid(s, n))
        luaL_error(L, "relais.json.encode: a string is not valid UTF-8");
    sbuf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sbuf_add(b, esc, 2);
        } else if (c == '\n') {
            sbuf_add(b, "\\n", 2);
        } else if (c == '\r') {
            sbuf_add(b, "\\r", 2);
        } else if (c == '\t') {
            sbuf_add(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sbuf_add(b, esc, 6);
        } else {
            sbuf_addc(b, (char)c);
        }
    }
    sbuf_addc(b, '"');
}

static void enc_value(lua_State *L, struct sbuf *b, int idx, int depth);

static void enc_table(lua_State *L, struct sbuf *b, int idx, int depth)
{
    lua_Integer ints = 0, max = 0;
    int strs = 0, first = 1;

    if (depth >= JSON_MAX_DEPTH)
        luaL_error(L, "relais.json.encode: nested deeper than %d levels (a cycle?)",
                   JSON_MAX_DEPTH);
    luaL_checkstack(L, 4, "relais.json.encode: nested too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_isinteger(L, -2) && lua_tointeger(L, -2) > 0) {
            ints++;
            if (lua_tointeger(L, -2) > max)
                max = lua_tointeger(L, -2);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            strs++;
        } else {
            luaL_error(L, "relais.json.encode: a table key is neither a string nor 1, 2, 3…");
        }
        lua_pop(L, 1);
    }
    if (ints && (strs || max != ints))
        luaL_error(L, "relais.json.encode: a table is neither a list 1..n nor string-keyed");
    if (ints) {
        sbuf_addc(b, '[');
        for (lua_Integer i = 1; i <= max; i++) {
            if (i > 1)
                sbuf_addc(b, ',');
            lua_rawgeti(L, idx, i);
            enc_value(L, b, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        sbuf_addc(b, ']');
        return;
    }
    sbuf_addc(b, '{');
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t n;
        const char *k = lua_tolstring(L, -2, &n);   /* a string: no conversion */

        if (!first)
            sbuf_addc(b, ',');
        first = 0;
        enc_string(L, b, k, n);
        sbuf_addc(b, ':');
        enc_value(L, b, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    sbuf_addc(b, '}');
}

static void enc_number(lua_State *L, struct sbuf *b, int idx)
{
    char num[64];

    if (lua_isinteger(L, idx)) {
        snprintf(num, sizeof num, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
    } else {
        double d = lua_tonumber(L, idx);

        if (!isfinite(d))
            luaL_error(L, "relais.json.encode: JSON has no NaN or infinity");
        /* As short as Lua prints it, unless that loses the value. */
        snprintf(num, sizeof num, "%.14g", d);
        if (strtod(num, NULL) != d)
            snprintf(num, sizeof num, "%.17g", d);
    }
    sbuf_adds(b, num);
}

static void enc_value(lua_State *L, struct sbuf *b, int idx, int depth)
{
    size_t n;
    const char *s;

    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        sbuf_adds(b, "null");
        break;
    case LUA_TBOOLEAN:
        sbuf_adds(b, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        enc_number(L, b, idx);
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        enc_string(L, b, s, n);
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            sbuf_adds(b, "null");
            break;
        }
        /* fall through */
    case LUA_TTABLE:
        if (lua_type(L, idx) == LUA_TTABLE) {
            enc_table(L, b, idx, depth);
            break;
        }
        /* fall through */
    default:
        luaL_error(L, "relais.json.encode: cannot encode a %s", luaL_typename(L, idx));
    }
}

void pcodec_encode(lua_State *L, int idx)
{
    struct sbuf b;

    idx = lua_absindex(L, idx);
    sbuf_init(&b, L);
    enc_value(L, &b, idx, 0);
    sbuf_finish(&b);
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    pcodec_encode(L, 1);
    return 1;
}

static int l_decode(lua_State *L)
{
    size_t n, at = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    void **tree;

    if (!json_utf8_valid(s, n)) {
        lua_pushnil(L);
        lua_pushliteral(L, "not valid UTF-8");
        return 2;
    }
    if (json_syntax_check(s, n, &at) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "invalid JSON at byte %d", (int)at);
        return 2;
    }
    tree = pcodec_box(L, free_json);
    *tree = cJSON_ParseWithLength(s, n);
    if (!*tree)
        return luaL_error(L, "relais.json.decode: out of memory");
    push_json(L, *tree, 1, 0);
    pcodec_unbox(tree);
    return 1;
}

/* --- URLs and forms ---------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void url_encode(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (unreserved(c)) {
            sbuf_addc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sbuf_add(b, esc, 3);
        }
    }
}

static int l_url_encode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    struct sbuf b;

    sbuf_init(&b, L);
    url_encode(&b, s, n);
    sbuf_finish(&b);
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Pushes S[0..N) form-decoded: '+' is a space, %XX a byte; a broken escape
 * stays as it was. */
static void push_decoded(lua_State *L, const char *s, size_t n)
{
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            luaL_addchar(&b, ' ');
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            luaL_addchar(&b, (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2])));
            i += 2;
        } else {
            luaL_addchar(&b, s[i]);
        }
    }
    luaL_pushresult(&b);
}

void pcodec_add_multi(lua_State *L, int t, const char *key, size_t klen)
{
    lua_pushlstring(L, key, klen);          /* value key */
    lua_pushvalue(L, -1);                   /* value key key */
    switch (lua_rawget(L, t)) {             /* value key old */
    case LUA_TNIL:
        lua_pop(L, 1);
        lua_insert(L, -2);                  /* key value */
        lua_rawset(L, t);
        break;
    case LUA_TTABLE:
        lua_pushvalue(L, -3);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 3);
        break;
    default:
        lua_createtable(L, 2, 0);           /* value key old list */
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);              /* value key list */
        lua_pushvalue(L, -3);
        lua_rawseti(L, -2, 2);
        lua_rawset(L, t);                   /* value */
        lua_pop(L, 1);
    }
}

void pcodec_push_form(lua_State *L, const char *s, size_t len)
{
    const char *end = s + len;
    int t;

    lua_newtable(L);
    t = lua_gettop(L);
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s)), *eq;
        const char *stop = amp ? amp : end;
        size_t klen;
        const char *k;

        eq = memchr(s, '=', (size_t)(stop - s));
        if (stop > s) {
            push_decoded(L, s, (size_t)((eq ? eq : stop) - s));
            if (eq)
                push_decoded(L, eq + 1, (size_t)(stop - eq - 1));
            else
                lua_pushliteral(L, "");
            k = lua_tolstring(L, -2, &klen);
            pcodec_add_multi(L, t, k, klen);
            lua_pop(L, 1);
        }
        s = stop + 1;
    }
}

static int l_parse_form(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);

    pcodec_push_form(L, s, n);
    return 1;
}

struct key {
    const char *s;
    size_t n;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void form_value(lua_State *L, struct sbuf *b, int idx)
{
    size_t n;
    const char *s;

    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        url_encode(b, s, n);
        break;
    case LUA_TNUMBER:
        enc_number(L, b, idx);
        break;
    case LUA_TBOOLEAN:
        sbuf_adds(b, lua_toboolean(L, idx) ? "true" : "false");
        break;
    default:
        luaL_error(L, "relais.url.form: a value is not a string, number or boolean");
    }
}

/* {b = 2, a = "x y"} → "a=x%20y&b=2": names sorted, a list repeats its name. */
static int l_form(lua_State *L)
{
    struct key *keys;
    size_t nkeys = 0, cap = 0;
    struct sbuf b;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "relais.url.form: a name is not a string");
        cap++;
        lua_pop(L, 1);
    }
    keys = lua_newuserdatauv(L, (cap ? cap : 1) * sizeof *keys, 0);   /* slot 2 */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        keys[nkeys].s = lua_tolstring(L, -2, &keys[nkeys].n);
        nkeys++;
        lua_pop(L, 1);
    }
    qsort(keys, nkeys, sizeof *keys, key_cmp);
    sbuf_init(&b, L);
    for (size_t i = 0; i < nkeys; i++) {
        lua_pushlstring(L, keys[i].s, keys[i].n);
        lua_rawget(L, 1);
        if (lua_istable(L, -1)) {
            for (lua_Integer j = 1; lua_rawgeti(L, -1, j) != LUA_TNIL; j++) {
                if (b.len)
                    sbuf_addc(&b, '&');
                url_encode(&b, keys[i].s, keys[i].n);
                sbuf_addc(&b, '=');
                form_value(L, &b, lua_gettop(L));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        } else {
            if (b.len)
                sbuf_addc(&b, '&');
            url_encode(&b, keys[i].s, keys[i].n);
            sbuf_addc(&b, '=');
            form_value(L, &b, lua_gettop(L));
        }
        lua_pop(L, 1);
    }
    sbuf_finish(&b);
    return 1;
}

/* --- the tables ---------------------------------------------------------------------- */

void pcodec_open(lua_State *L)
{
    static const luaL_Reg json_fns[] = {{"encode", l_encode}, {"decode", l_decode},
                                        {NULL, NULL}};
    static const luaL_Reg url_fns[] = {{"encode", l_url_encode}, {"form", l_form},
                                       {"parse_form", l_parse_form}, {NULL, NULL}};

    luaL_newmetatable(L, BOX_MT);
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    lua_newtable(L);
    luaL_setfuncs(L, json_fns, 0);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");
    lua_newtable(L);
    luaL_setfuncs(L, url_fns, 0);
    lua_setfield(L, -2, "url");
}
