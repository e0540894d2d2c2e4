/* sandbox — the one Lua sandbox. The configuration file (core/config) and
 * every plugin (core/plugin) run their Lua in it; no other code of the core
 * makes a lua_State. Whatever a state runs:
 *
 * - Memory: the state's allocator counts every byte against
 *   LIMITS.memory held at once (and LIMITS.churn allocated in all, when
 *   set). When a growth is refused Lua collects everything and asks again
 *   once: only a second refusal in a row (or any past the churn bound) is
 *   a real shortage, which then dooms the entry charged (otherwise a pcall
 *   around an allocation would make Lua collect the whole heap at every
 *   retry, for as long as the code likes).
 * - Time: the entry charged (a struct sandbox_meter, sandbox_enter) has an
 *   instruction budget, counted by a count hook every LIMITS.hook_every
 *   instructions. Once a budget is gone the hook fires on every
 *   instruction, so that no pcall can swallow the error. Work done in C is
 *   charged too: the allocator charges one instruction per
 *   LIMITS.alloc_bytes allocated (copying what it allocates is most of what
 *   string functions do; when set), sandbox_cost.c prices the C functions
 *   whose work does not allocate in proportion and counts the pattern
 *   matcher's steps (lpattern.c), and host code charges its own work
 *   (sandbox_charge, sandbox_spend). With LIMITS.slice_ms, each slice of an
 *   entry also has a CPU time bound, checked by the hook and by every
 *   charge: a backstop for the work no count sees.
 * - Reach: only base, string, table, math and utf8, and on request a
 *   wrapped coroutine and os.time/clock/date (sandbox_open); never io,
 *   package, debug, dofile, loadfile, string.dump or bytecode. Functions
 *   that could escape the budget are wrapped: setmetatable refuses __gc
 *   (Lua runs finalizers with hooks off, so a finalizer could loop forever);
 *   xpcall skips the code's message handler once the budget is gone (the
 *   handler of an error the hook raised runs with hooks off); load takes
 *   text only; collectgarbage keeps its harmless options, priced;
 *   coroutine.* never resumes, closes or yields the host's own threads.
 * - Environment: the string metatable is hidden (it cannot lead back to
 *   the library table), and code runs with an _ENV of its own whose misses
 *   read the sandbox's globals and whose metatable is hidden (sandbox_env),
 *   so what it defines is exactly that table's own keys.
 *
 * Lua errors and C memory: any Lua API call that allocates may raise, so
 * host code touches a state only inside a protected call and never holds
 * malloc'd memory across a call that may raise.
 *
 * Ownership: the caller owns struct sandbox (embedded in what it belongs
 * to: a plugin, a configuration load) and the meters; sandbox_new's state
 * is closed by the caller (lua_close) before either goes.
 */
#ifndef RELAIS_SANDBOX_H
#define RELAIS_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

enum sandbox_trip { SANDBOX_OK = 0, SANDBOX_BUDGET, SANDBOX_MEMORY, SANDBOX_TIME };

struct sandbox_limits {
    size_t memory;        /* bytes the state may hold at once */
    size_t churn;         /* bytes it may allocate in all; 0: no bound */
    long budget;          /* instructions of an entry whose meter says 0 */
    int hook_every;       /* instructions between two calls of the hook */
    size_t alloc_bytes;   /* bytes allocated per instruction charged; 0: none */
    int slice_ms;         /* CPU time of a slice per BUDGET instructions; 0: none */
};

/* What one entry may still run. Set BUDGET (0: the limits' budget) before
 * sandbox_enter; the rest is the sandbox's. */
struct sandbox_meter {
    long budget;
    long count;           /* instructions charged in the current slice */
    size_t alloc_bytes;   /* allocated, not yet charged */
    int64_t slice_ns, slice_cpu_ns;   /* when the slice began */
    enum sandbox_trip tripped;        /* a budget ran out: the entry is failing */
    lua_State *co;        /* the thread it runs on */
};

struct sandbox {
    struct sandbox_limits lim;
    void *owner;          /* the caller's (sandbox_owner) */
    const char *who;      /* "plugins", "the configuration": in error messages */
    size_t mem;           /* bytes held now */
    size_t total;         /* bytes ever allocated */
    int refused;          /* the last growth was refused */
    int env_ref;          /* sandbox_env's table, or LUA_NOREF */
    struct sandbox_meter *current;   /* charged now; NULL: nothing is (host code) */
};

/* A new state in SB (filled here: LIMITS, OWNER, WHO, which is static
 * text) with the capped allocator and the count hook; nothing opened yet.
 * NULL when out of memory. */
lua_State *sandbox_new(struct sandbox *sb, const struct sandbox_limits *limits, void *owner,
                       const char *who);
/* The sandbox of L (any thread of its state), and its owner. */
struct sandbox *sandbox_of(lua_State *L);
void *sandbox_owner(lua_State *L);

/* What sandbox_open adds to the safe core (base, string, table, math,
 * utf8): */
#define SANDBOX_COROUTINES 1u  /* coroutine, wrapped for the host's threads */
#define SANDBOX_OS         2u  /* os.time, os.clock, os.date (never getenv) */
#define SANDBOX_LOAD       4u  /* load: text only, sandbox_env's _ENV by default */
#define SANDBOX_COLLECT    8u  /* collectgarbage: collect, count, step, isrunning */
/* Opens the libraries into L's globals, with their wrappers and prices
 * (sandbox_cost.c). Runs inside a protected call. */
void sandbox_open(lua_State *L, unsigned flags);
/* Pushes a new environment: a table whose misses read the globals, its
 * metatable hidden; it becomes the default _ENV of sandbox_load and load.
 * Protected call. */
void sandbox_env(lua_State *L);
/* Loads the text chunk BUF as CHUNKNAME with sandbox_env's _ENV and pushes
 * it (or the error). Never raises: returns the status of luaL_loadbufferx. */
int sandbox_load(lua_State *L, const char *buf, size_t len, const char *chunkname);

/* Charges M from now on, on thread CO, a slice starting (its count and
 * clocks from zero). Returns the meter charged before, for sandbox_leave. */
struct sandbox_meter *sandbox_enter(struct sandbox *sb, struct sandbox_meter *m, lua_State *co);
/* The same for an entry that goes on where it stopped (resumed after a
 * read off the loop, whose work is charged to it): its count goes on, only
 * its clocks restart. */
struct sandbox_meter *sandbox_resume(struct sandbox *sb, struct sandbox_meter *m,
                                     lua_State *co);
/* Charges OUTER again (NULL: nothing), as it was. */
void sandbox_leave(struct sandbox *sb, struct sandbox_meter *outer);
/* What is left of M's instruction budget (0 once it tripped), and the CPU
 * time a slice of M may use (nanoseconds; meaningful with LIMITS.slice_ms). */
long sandbox_budget_left(const struct sandbox *sb, const struct sandbox_meter *m);
int64_t sandbox_cpu_limit_ns(const struct sandbox *sb, const struct sandbox_meter *m);
/* Dooms the entry running in L as out of CPU time and raises. */
void sandbox_out_of_time(lua_State *L) __attribute__((noreturn));
/* Memory a C library holds for the code of SB (relais.xlsx), counted
 * against the same cap as its Lua heap, the last MiB excepted (room for
 * the code to raise the error and handle it): 0, or -1 when N does not fit
 * (nothing counted). sandbox_mem_refund gives it back. */
int sandbox_mem_charge(struct sandbox *sb, size_t n);
void sandbox_mem_refund(struct sandbox *sb, size_t n);
/* Charges N instructions of work done in C to the entry running in L;
 * raises once its budget (or its time) is gone. */
void sandbox_charge(lua_State *L, long n);
/* The same without raising (from inside SQLite): 1 once the entry is out
 * of budget or time (it is then doomed: the hook raises next). */
int sandbox_spend(lua_State *L, long n);
/* "instruction budget exceeded", "not enough memory"… for WHY. */
const char *sandbox_trip_message(enum sandbox_trip why);

/* The host's threads. A thread's extra space holds what the host put there
 * (sandbox_mark_thread): non-NULL marks a thread of the host, which the
 * code may not resume, close or yield across. sandbox_new marks the main
 * thread NULL (new threads copy it); sandbox_unmark_thread, when the host
 * is done with a thread the code may still hold, leaves it marked with
 * something the host never dereferences. */
int sandbox_is_host_thread(lua_State *co);
void sandbox_mark_thread(lua_State *co, void *host);
void sandbox_unmark_thread(lua_State *co);

/* --- sandbox_cost.c: the price of C work ------------------------------------- */
/* Instructions charged per step of the pattern matcher: a step costs one
 * to three VM instructions' time (7 ns against 2.5 to 5 ns in a release
 * build, more in a debug one); charged as four, erring on the side of the
 * event loop (a budget spent on a pattern bomb stops it within 0.1 s). */
#define SANDBOX_COST_PATTERN_STEP 4
/* Instructions per table element read or moved (a lookup costs 10 to 20
 * ns, an instruction 2.5 to 5), and bytes read (decoded, converted) per
 * instruction: the prices of sandbox_cost.c, for host functions that charge
 * their own work as it goes. */
#define SANDBOX_COST_ELEMENT      4
#define SANDBOX_COST_SCAN_BYTES   1
/* How a host's own C function is priced (sandbox_cost_wrap): the bytes of
 * its string arguments read (SCAN), hashed or copied (HASH, 32 a
 * instruction), or decoded and folded (FOLD, eight instructions a byte). */
enum sandbox_price { SANDBOX_PRICE_SCAN, SANDBOX_PRICE_HASH, SANDBOX_PRICE_FOLD };
/* Counted string patterns and priced C functions in the libraries of L
 * (called by sandbox_open). Protected call. */
void sandbox_cost_open(lua_State *L);
/* T[NAME] (T an absolute index), when a function, becomes the original
 * behind PRICE. Protected call. */
void sandbox_cost_wrap(lua_State *L, int t, const char *name, enum sandbox_price price);

#endif
