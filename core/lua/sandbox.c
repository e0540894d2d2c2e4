/* sandbox — what a Lua state of the core may spend (see sandbox.h): the
 * configuration file's and every plugin's.
 *
 * The state's allocator counts every byte against its memory limit; the
 * count hook charges instructions to the entry running (struct
 * sandbox_meter) and, once the budget is gone, fires on every instruction
 * so that a pcall in the code cannot swallow the error. Work done in C is
 * charged too (sandbox.h, "Time"): the allocator charges one instruction
 * per LIMITS.alloc_bytes allocated (copying what it allocates is most of
 * what string functions do), sandbox_cost.c prices the C functions whose
 * work does not allocate in proportion and counts the pattern matcher's
 * steps, the host charges its own (the plugins' relais.db charges SQLite's
 * virtual machine). And each slice of an entry may have a CPU time bound
 * besides (LIMITS.slice_ms per LIMITS.budget of its budget), checked by the
 * hook and by every charge: a backstop for the work no count sees, such as
 * comparing two 16 MiB strings in one instruction. What the code can reach
 * (the libraries and their wrappers) is sandbox_libs.c.
 */
#include "sandbox.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

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

struct sandbox_meter *sandbox_resume(struct sandbox *sb, struct sandbox_meter *m,
                                     lua_State *co)
{
    struct sandbox_meter *outer = sb->current;

    m->co = co;
    m->slice_ns = clock_ns(CLOCK_MONOTONIC);
    m->slice_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    sb->current = m;
    return outer;
}

void sandbox_leave(struct sandbox *sb, struct sandbox_meter *outer)
{
    sb->current = outer;
}

long sandbox_budget_left(const struct sandbox *sb, const struct sandbox_meter *m)
{
    return m->tripped ? 0 : budget_of(sb, m) - m->count;
}

/* A slice's CPU time: LIMITS.slice_ms per LIMITS.budget of M's budget. */
int64_t sandbox_cpu_limit_ns(const struct sandbox *sb, const struct sandbox_meter *m)
{
    long budget = budget_of(sb, m);

    return (int64_t)sb->lim.slice_ms * 1000000 *
           (budget > sb->lim.budget ? budget / sb->lim.budget : 1);
}

/* Whether M's slice has used its CPU time: the wall clock first (cheap),
 * then, only once it says so, the thread's own CPU time, so that a
 * machine too busy to give the loop its share never fails an entry. */
static int out_of_time(const struct sandbox *sb, const struct sandbox_meter *m)
{
    int64_t limit;

    if (!sb->lim.slice_ms)
        return 0;
    limit = sandbox_cpu_limit_ns(sb, m);
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

void sandbox_out_of_time(lua_State *L)
{
    struct sandbox_meter *m = sandbox_of(L)->current;

    if (m)
        trip(m, L, SANDBOX_TIME);
    luaL_error(L, "%s", sandbox_trip_message(m ? m->tripped : SANDBOX_TIME));
    abort();   /* luaL_error does not return */
}

/* C memory may not take the last CHARGE_RESERVE bytes of the cap: the
 * code still has room to raise the error and handle it. */
#define CHARGE_RESERVE (1u << 20)

int sandbox_mem_charge(struct sandbox *sb, size_t n)
{
    size_t cap = sb->lim.memory > CHARGE_RESERVE ? sb->lim.memory - CHARGE_RESERVE : 0;

    if (sb->mem > cap || n > cap - sb->mem)
        return -1;
    sb->mem += n;
    return 0;
}

void sandbox_mem_refund(struct sandbox *sb, size_t n)
{
    sb->mem -= n < sb->mem ? n : sb->mem;
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
