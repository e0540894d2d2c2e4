/* sandbox — what a Lua state of the core may do (see sandbox.h): the
 * configuration file's and every plugin's.
 *
 * The state's allocator counts every byte against its memory limit; the
 * count hook charges instructions to the entry running (struct
 * sandbox_meter) and, once the budget is gone, fires on every instruction
 * so that a pcall in the code cannot swallow the error. Base functions that
 * could reach outside the state, load bytecode, or escape the budget are
 * removed or wrapped:
 * - setmetatable refuses __gc: Lua runs finalizers with hooks off, so a
 *   finalizer could loop forever past the budget;
 * - xpcall skips the code's message handler once the budget is gone (the
 *   handler of an error raised by the hook runs with hooks off);
 * - coroutine.* never lets the code resume, close or yield the host's own
 *   coroutines, which would break the host's bookkeeping of waiting entries.
 * Work done in C is charged too (sandbox.h, "Time"): the allocator charges
 * one instruction per LIMITS.alloc_bytes allocated (copying what it
 * allocates is most of what string functions do), sandbox_cost.c prices
 * the C functions whose work does not allocate in proportion and counts
 * the pattern matcher's steps, the host charges its own (the plugins'
 * relais.db charges SQLite's virtual machine). And each slice of an entry
 * may have a CPU time bound besides (LIMITS.slice_ms per LIMITS.budget of
 * its budget), checked by the hook and by every charge: a backstop for the
 * work no count sees, such as comparing two 16 MiB strings in one
 * instruction.
 */
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

/* Marks the threads the host is done with: never dereferenced. */
static const char ended_marker;

struct sandbox *sandbox_of(lua_State *L)
{
    void *ud;

    lua_getallocf(L, &ud);
    return ud;
}

void *sandbox_owner(lua_State *L)
{
    return sandbox_of(L)->owner;
}

/* --- memory and budget ------------------------------------------------------ */

static long budget_of(const struct sandbox *sb, const struct sandbox_meter *m)
{
    return m->budget ? m->budget : sb->lim.budget;
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct sandbox_meter *sandbox_enter(struct sandbox *sb, struct sandbox_meter *m, lua_State *co)
{
    struct sandbox_meter *outer = sb->current;

    m->co = co;
    m->count = 0;
    m->slice_ns = clock_ns(CLOCK_MONOTONIC);
    m->slice_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    sb->current = m;
    return outer;
}

void sandbox_leave(struct sandbox *sb, struct sandbox_meter *outer)
{
    sb->current = outer;
}

/* Whether M's slice has used its CPU time: the wall clock first (cheap),
 * then, only once it says so, the thread's own CPU time, so that a
 * machine too busy to give the loop its share never fails an entry. */
static int out_of_time(const struct sandbox *sb, const struct sandbox_meter *m)
{
    long budget = budget_of(sb, m);
    int64_t limit;

    if (!sb->lim.slice_ms)
        return 0;
    limit = (int64_t)sb->lim.slice_ms * 1000000 *
            (budget > sb->lim.budget ? budget / sb->lim.budget : 1);
    if (clock_ns(CLOCK_MONOTONIC) - m->slice_ns < limit)
        return 0;
    return clock_ns(CLOCK_THREAD_CPUTIME_ID) - m->slice_cpu_ns >= limit;
}

const char *sandbox_trip_message(enum sandbox_trip why)
{
    return why == SANDBOX_MEMORY ? "not enough memory"
         : why == SANDBOX_TIME ? "CPU time budget exceeded" : "instruction budget exceeded";
}

static void sandbox_hook(lua_State *L, lua_Debug *ar);

static void trip(struct sandbox_meter *m, lua_State *L, enum sandbox_trip why);

int sandbox_spend(lua_State *L, long n)
{
    struct sandbox *sb = sandbox_of(L);
    struct sandbox_meter *m = sb->current;

    if (!m)
        return 0;
    if (!m->tripped) {
        if (n < budget_of(sb, m) - m->count) {
            m->count += n > 0 ? n : 0;
            /* Small charges are frequent (a priced table.insert): the hook
             * reads the clock every hook_every instructions anyway. */
            if (n < sb->lim.hook_every || !out_of_time(sb, m))
                return 0;
            trip(m, L, SANDBOX_TIME);
        } else {
            m->count = budget_of(sb, m);
            trip(m, L, SANDBOX_BUDGET);
        }
    }
    return 1;
}

void sandbox_charge(lua_State *L, long n)
{
    if (sandbox_spend(L, n))
        luaL_error(L, "%s", sandbox_trip_message(sandbox_of(L)->current->tripped));
}

/* Once a budget is gone, the hook fires on every instruction of the
 * thread that ran out (and of L, the one running, when known): a pcall
 * catches the first error, and the very next instruction raises it again.
 * lua_sethook only stores fields, so the allocator may call this too. */
static void trip(struct sandbox_meter *m, lua_State *L, enum sandbox_trip why)
{
    if (!m->tripped)
        m->tripped = why;
    if (L)
        lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
    if (m->co)
        lua_sethook(m->co, sandbox_hook, LUA_MASKCOUNT, 1);
}

/* Lua's allocator contract: free on NSIZE 0, never fail a shrink, NULL only
 * for a growth. With PTR NULL, OSIZE is a type tag. When a growth is refused
 * Lua collects everything and asks again once: only a second refusal in a
 * row is a real shortage, which then dooms the entry (otherwise a pcall
 * around an allocation would make Lua collect the whole heap at every
 * retry, for as long as the code likes). Past the churn bound, collecting
 * gives nothing back: the first refusal dooms it. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sandbox *sb = ud;
    struct sandbox_meter *m = sb->current;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        sb->mem -= old;
        return NULL;
    }
    if (nsize > old) {
        size_t grow = nsize - old;
        int churned = sb->lim.churn && grow > sb->lim.churn - sb->total;

        if (grow > sb->lim.memory - sb->mem || churned) {
            if ((sb->refused || churned) && m)
                trip(m, NULL, SANDBOX_MEMORY);
            sb->refused = 1;
            return NULL;
        }
    }
    p = realloc(ptr, nsize);
    if (!p)
        return nsize <= old ? ptr : NULL;
    if (nsize > old) {
        sb->refused = 0;
        sb->total += nsize - old;
        /* Copying what was allocated is charged (no Lua error here: the
         * hook raises it at the next instruction). */
        if (m && !m->tripped && sb->lim.alloc_bytes) {
            m->alloc_bytes += nsize - old;
            if (m->alloc_bytes >= sb->lim.alloc_bytes) {
                m->count += (long)(m->alloc_bytes / sb->lim.alloc_bytes);
                m->alloc_bytes %= sb->lim.alloc_bytes;
                if (m->count >= budget_of(sb, m))
                    trip(m, NULL, SANDBOX_BUDGET);
            }
        }
    }
    sb->mem = sb->mem - old + nsize;
    return p;
}

static void sandbox_hook(lua_State *L, lua_Debug *ar)
{
    struct sandbox *sb = sandbox_of(L);
    struct sandbox_meter *m = sb->current;

    (void)ar;
    if (!m)
        return;
    if (!m->tripped) {
        m->count += lua_gethookcount(L);
        if (m->count < budget_of(sb, m)) {
            if (!out_of_time(sb, m))
                return;
            trip(m, L, SANDBOX_TIME);
        } else {
            trip(m, L, SANDBOX_BUDGET);
        }
    } else if (lua_gethookcount(L) != 1) {
        trip(m, L, m->tripped);
    }
    luaL_error(L, "%s", sandbox_trip_message(m->tripped));
}

lua_State *sandbox_new(struct sandbox *sb, const struct sandbox_limits *limits, void *owner,
                       const char *who)
{
    lua_State *L;

    memset(sb, 0, sizeof *sb);
    sb->lim = *limits;
    sb->owner = owner;
    sb->who = who;
    sb->env_ref = LUA_NOREF;
    L = lua_newstate(sandbox_alloc, sb);
    if (!L)
        return NULL;
    /* New threads copy the main thread's extra space, which Lua leaves
     * uninitialised: NULL marks "not a host thread". */
    sandbox_mark_thread(L, NULL);
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, sb->lim.hook_every);
    return L;
}

/* --- host threads ------------------------------------------------------------- */

int sandbox_is_host_thread(lua_State *co)
{
    return *(void **)lua_getextraspace(co) != NULL;
}

void sandbox_mark_thread(lua_State *co, void *host)
{
    *(void **)lua_getextraspace(co) = host;
}

void sandbox_unmark_thread(lua_State *co)
{
    *(void **)lua_getextraspace(co) = (void *)&ended_marker;
}

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
