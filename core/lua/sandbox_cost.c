/* sandbox_cost — what the C functions sandboxed code calls cost, charged
 * to the instruction budget of the entry running (see sandbox.h, "Time").
 *
 * The count hook sees Lua instructions only: one call of a C function is
 * one instruction whatever it does inside. So the functions whose work
 * grows with their arguments without allocating in proportion (the
 * allocator charges what is allocated, where the limits say so) are
 * charged here, before they run, by what their arguments ask of them:
 * - string.find, match, gmatch, gsub: replaced by lpattern.c, which
 *   counts its steps as it matches (SANDBOX_COST_PATTERN_STEP instructions
 *   each);
 * - table.concat, insert, remove, move, sort, unpack: the elements they
 *   read or move (a __len or __index may make a table look as long as it
 *   likes without holding anything);
 * - string.rep: its repetitions, four to an instruction (and no loop at
 *   all when the result is empty: ("").rep(math.maxinteger) looped 2^63
 *   times), string.byte and string.char, string.format, pack, unpack,
 *   packsize: the values or the format's bytes; utf8.*, tonumber, the
 *   string arithmetic metamethods (which convert a numeral), load: the
 *   bytes they read;
 * - a host's own C functions, by the price it names (sandbox_cost_wrap:
 *   the plugins' relais.json, crypto, url, sms, fold).
 * Host code that works as it goes charges itself with the prices below
 * (the plugins' templates, relais.db, relais.config_check).
 * A wrapper calls the original with lua_callk, so anything that may yield
 * still may. Argument errors then name the function "?" (the original is
 * called from C), a small price.
 */
#include "sandbox.h"

#include <limits.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lpattern.h"

#define SCAN_BYTES   SANDBOX_COST_SCAN_BYTES  /* bytes read per instruction */
#define CHEAP_BYTES  32         /* bytes hashed or copied per instruction */
#define ELEMENT      SANDBOX_COST_ELEMENT     /* instructions per element read or moved */

/* --- charging ----------------------------------------------------------------- */

static lua_Integer sat_add(lua_Integer a, lua_Integer b)
{
    if (a < 0)
        a = 0;
    if (b < 0)
        b = 0;
    return a > LUA_MAXINTEGER - b ? LUA_MAXINTEGER : a + b;
}

/* Elements from I to J, or 0. */
static lua_Integer span(lua_Integer i, lua_Integer j)
{
    if (j < i)
        return 0;
    if (i < 0 && j > LUA_MAXINTEGER + i)
        return LUA_MAXINTEGER;
    return sat_add(j - i, 1);
}

static void charge(lua_State *L, lua_Integer n)
{
    sandbox_charge(L, n > LONG_MAX ? LONG_MAX : (long)n);
}

static void charge_steps(lua_State *L, long steps)
{
    sandbox_charge(L, steps > LONG_MAX / SANDBOX_COST_PATTERN_STEP
                          ? LONG_MAX : steps * SANDBOX_COST_PATTERN_STEP);
}

static const struct lpat_cost pattern_cost = {charge_steps};

/* Argument I as a whole number when it is a number, else DEF (the
 * original will judge it). A numeral string costs its conversion. */
static lua_Integer num(lua_State *L, int i, lua_Integer def, lua_Integer *extra)
{
    lua_Integer v;
    int ok = 0;

    if (lua_type(L, i) == LUA_TSTRING)
        *extra = sat_add(*extra, (lua_Integer)(lua_rawlen(L, i) / SCAN_BYTES));
    if (lua_type(L, i) != LUA_TNUMBER)
        return def;
    v = lua_tointegerx(L, i, &ok);
    if (ok)
        return v;
    /* A float: its integer part, clamped (the original refuses it). */
    return lua_tonumber(L, i) > 0 ? LUA_MAXINTEGER : 0;
}

/* #t as the table functions see it: with __len when there is one (which
 * then runs twice; a length with side effects is the code's problem). */
static lua_Integer len_of(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TTABLE)
        return 0;
    if (luaL_getmetafield(L, i, "__len") != LUA_TNIL) {
        lua_pop(L, 1);
        return luaL_len(L, i);
    }
    return (lua_Integer)lua_rawlen(L, i);
}

static lua_Integer str_len(lua_State *L, int i)
{
    return lua_type(L, i) == LUA_TSTRING ? (lua_Integer)lua_rawlen(L, i) : 0;
}

static lua_Integer elements(lua_Integer n)
{
    return n > LUA_MAXINTEGER / ELEMENT ? LUA_MAXINTEGER : n * ELEMENT;
}

/* Every string argument's bytes / PER. */
static lua_Integer strings(lua_State *L, lua_Integer per)
{
    lua_Integer n = 0;

    for (int i = 1; i <= lua_gettop(L); i++)
        n = sat_add(n, str_len(L, i) / per);
    return n;
}

/* --- costs ---------------------------------------------------------------------- */

typedef lua_Integer (*cost_fn)(lua_State *L);

static lua_Integer c_concat(lua_State *L)
{
    lua_Integer extra = 0, i = num(L, 3, 1, &extra), j = num(L, 4, LUA_MININTEGER, &extra);

    if (j == LUA_MININTEGER && lua_isnoneornil(L, 4))
        j = len_of(L, 1);
    return sat_add(elements(span(i, j)), extra);
}

static lua_Integer c_length(lua_State *L)
{
    return elements(sat_add(len_of(L, 1), 1));
}

static lua_Integer c_move(lua_State *L)
{
    lua_Integer extra = 0, f = num(L, 2, 1, &extra), e = num(L, 3, 0, &extra);

    return sat_add(elements(span(f, e)), extra);
}

/* n log n comparisons, each two reads and a comparison. */
static lua_Integer c_sort(lua_State *L)
{
    lua_Integer n = len_of(L, 1), log2 = 1;

    for (lua_Integer k = n; k > 1; k >>= 1)
        log2++;
    return n > LUA_MAXINTEGER / log2 ? LUA_MAXINTEGER : elements(elements(n * log2));
}

static lua_Integer c_unpack(lua_State *L)
{
    lua_Integer extra = 0, i = num(L, 2, 1, &extra), j = num(L, 3, LUA_MININTEGER, &extra);

    if (j == LUA_MININTEGER && lua_isnoneornil(L, 3))
        j = len_of(L, 1);
    return sat_add(elements(span(i, j)), extra);
}

static lua_Integer c_byte(lua_State *L)
{
    lua_Integer extra = 0, len = str_len(L, 1), i = num(L, 2, 1, &extra);
    lua_Integer j = num(L, 3, i, &extra), n = span(i < 0 ? len + i + 1 : i, j < 0 ? len + j + 1 : j);

    return sat_add(n < len ? n : len, extra);
}

static lua_Integer c_args(lua_State *L)
{
    return sat_add(lua_gettop(L), strings(L, SCAN_BYTES));
}

/* format: the format string is read; %s copies (charged by the allocator). */
static lua_Integer c_format(lua_State *L)
{
    return sat_add(lua_gettop(L), str_len(L, 1) / SCAN_BYTES);
}

/* pack, unpack, packsize: one step per byte of the format. */
static lua_Integer c_pack(lua_State *L)
{
    return sat_add(str_len(L, 1), lua_gettop(L));
}

static lua_Integer c_scan(lua_State *L)
{
    return sat_add(1, strings(L, SCAN_BYTES));
}

static lua_Integer c_hash(lua_State *L)
{
    return sat_add(1, strings(L, CHEAP_BYTES));
}

/* relais.fold(s): each byte is decoded, looked up, folded and written to a
 * new string, at about 20 ns a byte in a release build: eight
 * instructions a byte. */
static lua_Integer c_fold(lua_State *L)
{
    lua_Integer n = str_len(L, 1);

    return sat_add(1, n > LUA_MAXINTEGER / 8 ? LUA_MAXINTEGER : n * 8);
}

/* load(chunk): compiling reads every byte. */
static lua_Integer c_load(lua_State *L)
{
    return sat_add(1, str_len(L, 1));
}

/* --- wrappers --------------------------------------------------------------------- */

struct price {
    cost_fn cost;
};

static int called_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    return lua_gettop(L);
}

/* Upvalues: the original function, its price. */
static int priced(lua_State *L)
{
    const struct price *p = lua_touserdata(L, lua_upvalueindex(2));

    charge(L, p->cost(L));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, called_k);
    return lua_gettop(L);
}

/* T[NAME] (T at index T, absolute) becomes the original behind its price. */
static void wrap(lua_State *L, int t, const char *name, const struct price *p)
{
    if (lua_getfield(L, t, name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pushlightuserdata(L, (void *)p);
    lua_pushcclosure(L, priced, 2);
    lua_setfield(L, t, name);
}

/* string.rep(s, n [, sep]): an empty result is returned at once (the
 * original loops N times to make it); any other pays its N repetitions. */
static int l_rep(lua_State *L)
{
    lua_Integer n;
    int isint = 0;

    if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TNUMBER &&
        (lua_isnoneornil(L, 3) || lua_type(L, 3) == LUA_TSTRING)) {
        n = lua_tointegerx(L, 2, &isint);
        if (isint && n > 0) {
            if (lua_rawlen(L, 1) + (lua_isnoneornil(L, 3) ? 0 : lua_rawlen(L, 3)) == 0) {
                lua_pushliteral(L, "");
                return 1;
            }
            charge(L, n / 4);   /* a copy of a few bytes each */
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

#define PRICE(name, fn) static const struct price name = {fn}
PRICE(p_concat, c_concat);
PRICE(p_length, c_length);
PRICE(p_move, c_move);
PRICE(p_sort, c_sort);
PRICE(p_unpack, c_unpack);
PRICE(p_byte, c_byte);
PRICE(p_args, c_args);
PRICE(p_format, c_format);
PRICE(p_pack, c_pack);
PRICE(p_scan, c_scan);
PRICE(p_hash, c_hash);
PRICE(p_fold, c_fold);
PRICE(p_load, c_load);

static void wrap_lib(lua_State *L, const char *lib, const char *const *names,
                     const struct price *p)
{
    if (lua_getglobal(L, lib) == LUA_TTABLE)
        for (size_t i = 0; names[i]; i++)
            wrap(L, lua_gettop(L), names[i], p);
    lua_pop(L, 1);
}

void sandbox_cost_open(lua_State *L)
{
    static const char *const insert_remove[] = {"insert", "remove", NULL};
    static const char *const utf8_fns[] = {"len", "offset", "codepoint", "char", NULL};
    static const char *const pack_fns[] = {"pack", "unpack", "packsize", NULL};
    static const char *const arith[] = {"__add", "__sub", "__mul", "__mod", "__pow", "__div",
                                        "__idiv", "__unm", NULL};
    static const char *const patterns[] = {"find", "match", "gmatch", "gsub", NULL};

    wrap_lib(L, LUA_TABLIBNAME, (const char *const[]){"concat", NULL}, &p_concat);
    wrap_lib(L, LUA_TABLIBNAME, insert_remove, &p_length);
    wrap_lib(L, LUA_TABLIBNAME, (const char *const[]){"move", NULL}, &p_move);
    wrap_lib(L, LUA_TABLIBNAME, (const char *const[]){"sort", NULL}, &p_sort);
    wrap_lib(L, LUA_TABLIBNAME, (const char *const[]){"unpack", NULL}, &p_unpack);
    wrap_lib(L, LUA_STRLIBNAME, (const char *const[]){"byte", NULL}, &p_byte);
    wrap_lib(L, LUA_STRLIBNAME, (const char *const[]){"char", NULL}, &p_args);
    wrap_lib(L, LUA_STRLIBNAME, (const char *const[]){"format", NULL}, &p_format);
    wrap_lib(L, LUA_STRLIBNAME, pack_fns, &p_pack);
    wrap_lib(L, LUA_UTF8LIBNAME, utf8_fns, &p_scan);
    lua_pushglobaltable(L);
    wrap(L, lua_gettop(L), "tonumber", &p_scan);
    wrap(L, lua_gettop(L), "load", &p_load);
    lua_pop(L, 1);

    lua_getglobal(L, LUA_STRLIBNAME);
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, l_rep, 1);
    lua_setfield(L, -2, "rep");
    /* The string library table is also what string methods index. */
    lpat_push(L, &pattern_cost);
    for (size_t i = 0; patterns[i]; i++) {
        lua_getfield(L, -1, patterns[i]);
        lua_setfield(L, -3, patterns[i]);
    }
    lua_pop(L, 2);
    /* "10" + 1: the string metatable's arithmetic converts the numerals. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        for (size_t i = 0; arith[i]; i++)
            wrap(L, lua_gettop(L), arith[i], &p_scan);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

void sandbox_cost_wrap(lua_State *L, int t, const char *name, enum sandbox_price price)
{
    wrap(L, t, name, price == SANDBOX_PRICE_HASH ? &p_hash
                   : price == SANDBOX_PRICE_FOLD ? &p_fold : &p_scan);
}
