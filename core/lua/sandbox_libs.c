/* sandbox_libs — what sandboxed code can reach (see sandbox.h, "Reach"
 * and "Environment"): the safe libraries, the base functions that could
 * reach outside the state, load bytecode, or escape the budget removed or
 * wrapped:
 * - setmetatable refuses __gc: Lua runs finalizers with hooks off, so a
 *   finalizer could loop forever past the budget;
 * - xpcall skips the code's message handler once the budget is gone (the
 *   handler of an error raised by the hook runs with hooks off);
 * - coroutine.* never lets the code resume, close or yield the host's own
 *   coroutines, which would break the host's bookkeeping of waiting
 *   entries;
 * and the environment code runs in. The budget itself is sandbox.c's.
 */
#include "sandbox.h"

#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

static int doomed(lua_State *L)
{
    struct sandbox_meter *m = sandbox_of(L)->current;

    return m && m->tripped;
}

static int co_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);

    luaL_argexpected(L, co != NULL, 1, "coroutine");
    if (sandbox_is_host_thread(co))
        return luaL_error(L, "cannot resume a coroutine of the host");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    /* The coroutine caught the budget error and returned false: raise it
     * here too, so the entry stops. */
    if (doomed(L))
        return luaL_error(L, "%s", sandbox_trip_message(sandbox_of(L)->current->tripped));
    return lua_gettop(L);
}

static int co_yield(lua_State *L)
{
    if (sandbox_is_host_thread(L))
        return luaL_error(L, "attempt to yield from outside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

static int co_isyieldable(lua_State *L)
{
    lua_State *co = lua_isnone(L, 1) ? L : lua_tothread(L, 1);

    luaL_argexpected(L, co != NULL, 1, "coroutine");
    lua_pushboolean(L, !sandbox_is_host_thread(co) && lua_isyieldable(co));
    return 1;
}

/* The host's thread is what the code knows as its main thread. */
static int co_running(lua_State *L)
{
    int ismain = lua_pushthread(L);

    lua_pushboolean(L, ismain || sandbox_is_host_thread(L));
    return 2;
}

static int co_close(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);

    luaL_argexpected(L, co != NULL, 1, "coroutine");
    if (sandbox_is_host_thread(co))
        return luaL_error(L, "cannot close a coroutine of the host");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void wrap_field(lua_State *L, const char *name, lua_CFunction fn, int keep_original)
{
    if (keep_original) {
        lua_getfield(L, -1, name);
        lua_pushcclosure(L, fn, 1);
    } else {
        lua_pushcfunction(L, fn);
    }
    lua_setfield(L, -2, name);
}

/* --- base functions ------------------------------------------------------------ */

static int l_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "finalizers (__gc) are not allowed in %s",
                              sandbox_of(L)->who);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_msgh(lua_State *L)
{
    if (doomed(L))
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int finish_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    return lua_gettop(L);
}

/* Yieldable, like the original: a plugin may wait for the network inside. */
static int l_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, l_msgh, 1);
    lua_replace(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, finish_k);
    return lua_gettop(L);
}

/* Only the options that do not change how the collector runs. */
static int l_collectgarbage(lua_State *L)
{
    static const char *const allowed[] = {"collect", "count", "step", "isrunning", NULL};
    const char *opt = luaL_optstring(L, 1, "collect");

    for (int i = 0; allowed[i]; i++) {
        if (strcmp(opt, allowed[i]) == 0) {
            /* A collection walks the whole heap, allocating nothing: one
             * instruction per byte of it (small objects cost most). */
            if (i <= 2)
                sandbox_charge(L, (long)lua_gc(L, LUA_GCCOUNT) * 1024);
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_insert(L, 1);
            lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
            return lua_gettop(L);
        }
    }
    return luaL_error(L, "collectgarbage option '%s' is not allowed in %s", opt,
                      sandbox_of(L)->who);
}

/* load(chunk [, name [, mode [, env]]]): text only, and sandbox_env's _ENV
 * unless one is given. */
static int l_load(lua_State *L)
{
    int n = lua_gettop(L);

    lua_settop(L, 4);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    if (n < 4) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sandbox_of(L)->env_ref);
        lua_replace(L, 4);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L);
}

int sandbox_load(lua_State *L, const char *buf, size_t len, const char *chunkname)
{
    int st = luaL_loadbufferx(L, buf, len, chunkname, "t");

    if (st != LUA_OK)
        return st;
    lua_rawgeti(L, LUA_REGISTRYINDEX, sandbox_of(L)->env_ref);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);   /* a chunk that uses no global has no _ENV */
    return LUA_OK;
}

void sandbox_env(lua_State *L)
{
    struct sandbox *sb = sandbox_of(L);

    lua_newtable(L);
    lua_createtable(L, 0, 2);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    luaL_unref(L, LUA_REGISTRYINDEX, sb->env_ref);
    sb->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* --- opening --------------------------------------------------------------------- */

static void wrap_global(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_getglobal(L, name);
    lua_pushcclosure(L, fn, 1);
    lua_setglobal(L, name);
}

void sandbox_open(lua_State *L, unsigned flags)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},         {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},   {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
    };
    /* What base offers that reaches outside the state (files, other
     * chunks, stdout, warnings), and what only a flag gives back. */
    static const char *const removed[] = {"dofile", "loadfile", "require", "print", "warn"};
    static const char *const os_kept[] = {"time", "clock", "date"};

    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    if (flags & SANDBOX_OS) {
        /* os: the clock and the calendar only (never getenv: secrets live
         * in the environment). The full library is opened aside, not as a
         * global. */
        luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
        lua_createtable(L, 0, 3);
        for (size_t i = 0; i < sizeof os_kept / sizeof os_kept[0]; i++) {
            lua_getfield(L, -2, os_kept[i]);
            lua_setfield(L, -2, os_kept[i]);
        }
        lua_setglobal(L, LUA_OSLIBNAME);
        lua_pop(L, 1);
    }
    /* string.dump makes bytecode; the string metatable must not lead back
     * to the library table. */
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    wrap_global(L, "setmetatable", l_setmetatable);
    wrap_global(L, "xpcall", l_xpcall);
    if (flags & SANDBOX_COLLECT) {
        wrap_global(L, "collectgarbage", l_collectgarbage);
    } else {
        lua_pushnil(L);
        lua_setglobal(L, "collectgarbage");
    }
    if (flags & SANDBOX_LOAD) {
        wrap_global(L, "load", l_load);
    } else {
        lua_pushnil(L);
        lua_setglobal(L, "load");
    }
    if (flags & SANDBOX_COROUTINES) {
        luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
        wrap_field(L, "resume", co_resume, 1);
        wrap_field(L, "yield", co_yield, 0);
        wrap_field(L, "isyieldable", co_isyieldable, 0);
        wrap_field(L, "running", co_running, 0);
        wrap_field(L, "close", co_close, 1);
        lua_pop(L, 1);
    }
    sandbox_cost_open(L);
}
