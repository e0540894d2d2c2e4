/* plugins_sandbox — what a plugin's Lua state may do (see plugins.h).
 *
 * The state's allocator counts every byte against PLUGINS_MEM_CAP; the count
 * hook charges instructions to the entry running (struct task) and, once the
 * budget is gone, fires on every instruction so that a pcall in the plugin
 * cannot swallow the error. Base functions that could reach outside the
 * state, load bytecode, or escape the budget are removed or wrapped:
 * - setmetatable refuses __gc: Lua runs finalizers with hooks off, so a
 *   finalizer could loop forever past the budget;
 * - xpcall skips the plugin's message handler once the budget is gone (the
 *   handler of an error raised by the hook runs with hooks off);
 * - coroutine.* never lets a plugin resume, close or yield the host's own
 *   coroutines, which would break the host's bookkeeping of waiting entries.
 * Work done in C is charged too (PLUGINS "CPU" in plugins.h): the
 * allocator charges one instruction per PLUGINS_ALLOC_BYTES allocated
 * (copying what it allocates is most of what string functions do),
 * plugins_cost.c prices the C functions whose work does not allocate in
 * proportion and counts the pattern matcher's steps, plugins_db.c charges
 * SQLite's virtual machine. And each slice of an entry has a CPU time
 * bound besides (PLUGINS_SLICE_MS per PLUGINS_BUDGET of its budget),
 * checked by the hook and by every charge: a backstop for the work no
 * count sees, such as comparing two 16 MiB strings in one instruction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "plugins_internal.h"
#include "relais/log.h"

/* Marks the coroutines of entries that have ended: never dereferenced. */
static const char ended_marker;

/* --- memory and budget ------------------------------------------------------ */

static long budget_of(const struct task *t)
{
    return t->budget ? t->budget : PLUGINS_BUDGET;
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sandbox_slice_start(struct task *t)
{
    t->count = 0;
    sandbox_slice_clock(t);
}

void sandbox_slice_clock(struct task *t)
{
    t->slice_ns = clock_ns(CLOCK_MONOTONIC);
    t->slice_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

long sandbox_budget_left(const struct task *t)
{
    return t->tripped ? 0 : budget_of(t) - t->count;
}

/* A slice's CPU time: PLUGINS_SLICE_MS per PLUGINS_BUDGET of the budget. */
static int64_t cpu_limit_ns(const struct task *t)
{
    return (int64_t)PLUGINS_SLICE_MS * 1000000 *
           (budget_of(t) > PLUGINS_BUDGET ? budget_of(t) / PLUGINS_BUDGET : 1);
}

int64_t sandbox_cpu_limit_ns(const struct task *t)
{
    return cpu_limit_ns(t);
}

/* Whether T's slice has used its CPU time: the wall clock first (cheap),
 * then, only once it says so, the thread's own CPU time, so that a
 * machine too busy to give the loop its share never fails an entry. */
static int out_of_time(const struct task *t)
{
    int64_t limit = cpu_limit_ns(t);

    if (clock_ns(CLOCK_MONOTONIC) - t->slice_ns < limit)
        return 0;
    return clock_ns(CLOCK_THREAD_CPUTIME_ID) - t->slice_cpu_ns >= limit;
}

static const char *trip_message(enum task_trip why)
{
    return why == TRIP_MEMORY ? "not enough memory"
         : why == TRIP_TIME ? "CPU time budget exceeded" : "instruction budget exceeded";
}

static void trip(struct task *t, lua_State *L, enum task_trip why);

int sandbox_spend(lua_State *L, long n)
{
    struct task *t = plugin_of(L)->current;

    if (!t)
        return 0;
    if (!t->tripped) {
        if (n < budget_of(t) - t->count) {
            t->count += n > 0 ? n : 0;
            /* Small charges are frequent (a priced table.insert): the hook
             * reads the clock every PLUGINS_HOOK_EVERY instructions anyway. */
            if (n < PLUGINS_HOOK_EVERY || !out_of_time(t))
                return 0;
            trip(t, L, TRIP_TIME);
        } else {
            t->count = budget_of(t);
            trip(t, L, TRIP_BUDGET);
        }
    }
    return 1;
}

void sandbox_charge(lua_State *L, long n)
{
    if (sandbox_spend(L, n))
        luaL_error(L, "%s", trip_message(plugin_of(L)->current->tripped));
}

void sandbox_out_of_time(lua_State *L)
{
    struct task *t = plugin_of(L)->current;

    if (t)
        trip(t, L, TRIP_TIME);
    luaL_error(L, "%s", trip_message(t ? t->tripped : TRIP_TIME));
    abort();   /* luaL_error does not return */
}

static void trip(struct task *t, lua_State *L, enum task_trip why)
{
    if (!t->tripped)
        t->tripped = why;
    /* lua_sethook only stores fields: safe from the allocator too. */
    if (L)
        lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
    lua_sethook(t->co, sandbox_hook, LUA_MASKCOUNT, 1);
}

/* Lua's allocator contract: free on NSIZE 0, never fail a shrink, NULL only
 * for a growth. With PTR NULL, OSIZE is a type tag. When a growth is refused
 * Lua collects everything and asks again once: only a second refusal in a
 * row is a real shortage, which then dooms the entry (otherwise a pcall
 * around an allocation would make Lua collect the whole heap at every
 * retry, for as long as the plugin likes). */
void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct plugin *pl = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        pl->mem -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > PLUGINS_MEM_CAP - pl->mem) {
        if (pl->refused && pl->current)
            trip(pl->current, NULL, TRIP_MEMORY);
        pl->refused = 1;
        return NULL;
    }
    p = realloc(ptr, nsize);
    if (!p)
        return nsize <= old ? ptr : NULL;
    if (nsize > old) {
        struct task *t = pl->current;

        pl->refused = 0;
        /* Copying what was allocated is charged (no Lua error here: the
         * hook raises it at the next instruction). */
        if (t && !t->tripped) {
            t->alloc_bytes += nsize - old;
            if (t->alloc_bytes >= PLUGINS_ALLOC_BYTES) {
                t->count += (long)(t->alloc_bytes / PLUGINS_ALLOC_BYTES);
                t->alloc_bytes %= PLUGINS_ALLOC_BYTES;
                if (t->count >= budget_of(t))
                    trip(t, NULL, TRIP_BUDGET);
            }
        }
    }
    pl->mem = pl->mem - old + nsize;
    return p;
}

void sandbox_hook(lua_State *L, lua_Debug *ar)
{
    struct plugin *pl = plugin_of(L);
    struct task *t = pl->current;

    (void)ar;
    if (!t)
        return;
    if (!t->tripped) {
        t->count += lua_gethookcount(L);
        if (t->count < budget_of(t)) {
            if (!out_of_time(t))
                return;
            trip(t, L, TRIP_TIME);
        } else {
            trip(t, L, TRIP_BUDGET);
        }
    } else if (lua_gethookcount(L) != 1) {
        trip(t, L, t->tripped);
    }
    luaL_error(L, "%s", trip_message(t->tripped));
}

/* Memory a C library holds for the plugin (relais.xlsx), counted against
 * the same cap as its Lua heap: -1, nothing counted, when N does not fit.
 * C memory may not take the last CHARGE_RESERVE bytes: the plugin's Lua
 * still has room to raise the error and handle it. */
#define CHARGE_RESERVE (1u << 20)

int sandbox_mem_charge(struct plugin *pl, size_t n)
{
    if (pl->mem > PLUGINS_MEM_CAP - CHARGE_RESERVE
        || n > PLUGINS_MEM_CAP - CHARGE_RESERVE - pl->mem)
        return -1;
    pl->mem += n;
    return 0;
}

void sandbox_mem_refund(struct plugin *pl, size_t n)
{
    pl->mem -= n < pl->mem ? n : pl->mem;
}

/* --- host coroutines --------------------------------------------------------- */

int sandbox_is_host_thread(lua_State *co)
{
    return *(void **)lua_getextraspace(co) != NULL;
}

void sandbox_mark_thread(lua_State *co, struct task *t)
{
    *(void **)lua_getextraspace(co) = t;
}

void sandbox_unmark_thread(lua_State *co)
{
    *(void **)lua_getextraspace(co) = (void *)&ended_marker;
}

static int doomed(lua_State *L)
{
    struct task *t = plugin_of(L)->current;

    return t && t->tripped;
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
        return luaL_error(L, "%s", trip_message(plugin_of(L)->current->tripped));
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

/* The host's coroutine is what the plugin knows as its main thread. */
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
            return luaL_error(L, "finalizers (__gc) are not allowed in plugins");
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
    return luaL_error(L, "collectgarbage option '%s' is not allowed in plugins", opt);
}

/* load(chunk [, name [, mode [, env]]]): text only, and the plugin's _ENV
 * unless one is given. */
static int l_load(lua_State *L)
{
    int n = lua_gettop(L);
    struct plugin *pl = plugin_of(L);

    lua_settop(L, 4);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    if (n < 4) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, pl->env_ref);
        lua_replace(L, 4);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L);
}

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

int sandbox_load(lua_State *L, struct plugin *pl, const char *buf, size_t len,
                 const char *chunkname)
{
    int st = luaL_loadbufferx(L, buf, len, chunkname, "t");

    if (st != LUA_OK)
        return st;
    lua_rawgeti(L, LUA_REGISTRYINDEX, pl->env_ref);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);   /* a chunk that uses no global has no _ENV */
    return LUA_OK;
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
        if (lua_touserdata(L, 3) == &ended_marker)
            return luaL_error(L, "require: module '%s' requires itself (a loop)", name);
        return 1;
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, (void *)&ended_marker);   /* "being loaded" */
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
    st = sandbox_load(L, pl, buf, len, chunk);
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

/* --- opening --------------------------------------------------------------------- */

static void wrap_global(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_getglobal(L, name);
    lua_pushcclosure(L, fn, 1);
    lua_setglobal(L, name);
}

void sandbox_open(lua_State *L, struct plugin *pl)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},         {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},   {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},   {LUA_COLIBNAME, luaopen_coroutine},
    };
    static const char *const removed[] = {"dofile", "loadfile", "warn"};
    static const char *const os_kept[] = {"time", "clock", "date"};

    (void)pl;
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    /* os: the clock and the calendar only (never getenv: secrets live in
     * the environment). The full library is opened aside, not as a global. */
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_createtable(L, 0, 3);
    for (size_t i = 0; i < sizeof os_kept / sizeof os_kept[0]; i++) {
        lua_getfield(L, -2, os_kept[i]);
        lua_setfield(L, -2, os_kept[i]);
    }
    lua_setglobal(L, LUA_OSLIBNAME);
    lua_pop(L, 1);
    /* string.dump makes bytecode; the string metatable must not lead back
     * to the library table (it would anyway be this plugin's own). */
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
    wrap_global(L, "collectgarbage", l_collectgarbage);
    wrap_global(L, "load", l_load);
    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
    lua_pushcfunction(L, l_require);
    lua_setglobal(L, "require");

    lua_getglobal(L, LUA_COLIBNAME);
    wrap_field(L, "resume", co_resume, 1);
    wrap_field(L, "yield", co_yield, 0);
    wrap_field(L, "isyieldable", co_isyieldable, 0);
    wrap_field(L, "running", co_running, 0);
    wrap_field(L, "close", co_close, 1);
    lua_pop(L, 1);
}
