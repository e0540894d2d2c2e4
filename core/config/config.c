/* config — the sandboxed Lua configuration file (see include/relais/config.h).
 *
 * Each load gets a fresh lua_State whose allocator is capped and whose count
 * hook enforces an instruction budget, so a mistaken (or hostile) file can
 * neither eat the machine's memory nor loop forever. Only pure libraries are
 * opened; the chunk runs with an _ENV of its own whose __index is the sandbox
 * base, so what the file defines is exactly that table's own keys, which are
 * then checked one by one against the known keys (config_keys.c).
 *
 * Known limit: the budget counts VM instructions, so time spent inside one C
 * library call is not counted; a pathological Lua pattern (string.find with
 * many nested quantifiers on a long subject) could still run for very long.
 * The file is written by the operator, so this guards mistakes, not a
 * determined attacker who can already edit the configuration. */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "config_internal.h"
#include "relais_build.h"

#define SANDBOX_MEMORY   (8u << 20)      /* bytes a config may hold at once */
#define SANDBOX_CHURN    (64u << 20)     /* bytes it may allocate in all */
#define SANDBOX_BUDGET   10000000L       /* VM instructions */
#define HOOK_EVERY       100000          /* instructions between hook calls */
#define MAX_FILE_SIZE    (1u << 20)      /* a config file is a few KiB */

/* Lives as the allocator's userdata, so the hook finds it too. */
struct sandbox {
    lua_State *L;
    size_t used;       /* bytes held now */
    size_t total;      /* bytes ever allocated: work done inside C functions
                        * (string.rep in a loop) that no instruction count sees */
    long ticks;        /* hook calls so far */
    int tripped;       /* a budget ran out: every instruction now fails */
    int memory;        /* ... and it was the memory one */
};

/* --- the sandbox ---------------------------------------------------------- */

static void budget_hook(lua_State *L, lua_Debug *ar);

/* Once a budget is gone, fire the hook on every instruction: a pcall in the
 * file catches the first error, and the very next instruction raises it
 * again, until the error reaches the loader. lua_sethook only sets fields
 * (it is even signal-safe), so the allocator may call it. */
static void trip(struct sandbox *sb, lua_State *L)
{
    if (sb->tripped)
        return;
    sb->tripped = 1;
    if (L)
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
}

/* Lua's allocator contract: free on NSIZE 0, never fail a shrink, return
 * NULL (a memory error) only for growth. When PTR is NULL, OSIZE is a type
 * tag, not a size. A refused growth also trips the budget: a file that
 * catches memory errors with pcall would otherwise make Lua run a full
 * emergency collection on every retry, for as long as it likes. */
static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        sb->used -= old;
        return NULL;
    }
    if (nsize > old) {
        size_t grow = nsize - old;
        if (grow > SANDBOX_MEMORY - sb->used || grow > SANDBOX_CHURN - sb->total) {
            sb->memory = 1;
            trip(sb, sb->L);
            return NULL;
        }
    }
    p = realloc(ptr, nsize);
    if (!p)
        return nsize <= old ? ptr : NULL;
    if (nsize > old)
        sb->total += nsize - old;
    sb->used = sb->used - old + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    struct sandbox *sb;

    (void)ar;
    lua_getallocf(L, &ud);
    sb = ud;
    if (!sb->tripped && ++sb->ticks * HOOK_EVERY < SANDBOX_BUDGET)
        return;
    trip(sb, L);
    luaL_error(L, "instruction budget exceeded");
}

/* setmetatable without finalizers: Lua runs __gc with hooks switched off,
 * so a finalizer could loop forever past the instruction budget. */
static int l_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "finalizers (__gc) are not allowed in the configuration");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* xpcall's message handler runs inside the error call; for an error the
 * budget hook raised, that is with hooks off. Once the budget is gone the
 * file's handler is skipped (the message passes through unchanged), so it
 * cannot loop unhooked. */
static int l_msgh(lua_State *L)
{
    void *ud;

    lua_getallocf(L, &ud);
    if (((struct sandbox *)ud)->tripped)
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, l_msgh, 1);
    lua_replace(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* env "NAME": the variable's value, or nil. */
static int l_env(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *v = getenv(name);

    if (v)
        lua_pushstring(L, v);
    else
        lua_pushnil(L);
    return 1;
}

/* Opens the allowed libraries and strips what could reach outside the state
 * (files, other chunks, the collector's knobs, stdout). */
static void open_sandbox(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
    };
    static const char *const removed[] = {
        "dofile", "loadfile", "require", "load", "collectgarbage", "print", "warn",
    };

    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    /* string.dump makes bytecode, which nothing here may load anyway. */
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    lua_getglobal(L, "xpcall");
    lua_pushcclosure(L, l_xpcall, 1);
    lua_setglobal(L, "xpcall");
    lua_pushcfunction(L, l_env);
    lua_setglobal(L, "env");
}

struct run_args {
    const char *buf;
    size_t len;
    struct config *cfg;
};

/* Runs inside lua_pcall: every Lua error (including out of memory while
 * opening the libraries or walking the result) is caught by the caller. */
static int run_config(lua_State *L)
{
    struct run_args *a = lua_touserdata(L, 1);
    int env;

    open_sandbox(L);
    /* "=" makes Lua print no file name of its own ("…:3: msg"); the caller
     * puts the real path in front, untruncated. */
    if (luaL_loadbufferx(L, a->buf, a->len, "=", "t") != LUA_OK)
        return lua_error(L);
    lua_newtable(L);                     /* the file's own globals */
    env = lua_gettop(L);
    lua_newtable(L);                     /* its metatable */
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, env);
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, env - 1, 1))  /* a main chunk's first upvalue is _ENV */
        return luaL_error(L, "chunk without _ENV");
    lua_pushvalue(L, env - 1);
    lua_call(L, 0, 0);
    /* No collection while the result is read: nothing of the file's may run
     * (or change the table) behind the walk. */
    lua_gc(L, LUA_GCSTOP);
    config_read_globals(L, env, a->cfg);
    return 0;
}

/* --- loading -------------------------------------------------------------- */

static int read_file(const char *path, char **buf, size_t *len, char **err)
{
    FILE *f = NULL;
    char *b = NULL;
    size_t n;
    int rc = -1;

    f = fopen(path, "rb");
    if (!f) {
        *err = log_errf("%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    b = malloc(MAX_FILE_SIZE + 1);
    if (!b) {
        *err = log_errf("%s: out of memory", path);
        goto out;
    }
    n = fread(b, 1, MAX_FILE_SIZE + 1, f);
    if (ferror(f)) {
        *err = log_errf("%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (n > MAX_FILE_SIZE) {
        *err = log_errf("%s: larger than %u bytes", path, MAX_FILE_SIZE);
        goto out;
    }
    *buf = b;
    *len = n;
    b = NULL;
    rc = 0;
out:
    free(b);
    if (f)
        fclose(f);
    return rc;
}

/* Turns the Lua error into "PATH:LINE: msg" or "PATH: msg". */
static char *error_message(lua_State *L, int status, const struct sandbox *sb,
                           const char *path)
{
    const char *msg;

    if (sb->memory || status == LUA_ERRMEM)
        return log_errf("%s: the file uses too much memory (%u MiB at once, "
                          "%u MiB in all)", path, SANDBOX_MEMORY >> 20, SANDBOX_CHURN >> 20);
    if (sb->tripped)
        return log_errf("%s: the file ran too long (instruction budget exceeded; "
                          "an endless loop?)", path);
    /* Never call tostring on a non-string error: a __tostring metamethod
     * would run Lua code outside the protected call. */
    msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!msg)
        return log_errf("%s: the file raised an error (%s value)", path,
                          luaL_typename(L, -1));
    if (msg[0] == ':' && msg[1] >= '0' && msg[1] <= '9')
        return log_errf("%s%s", path, msg);
    return log_errf("%s: %s", path, msg);
}

static int load_file(const char *path, struct config *cfg, char **err)
{
    struct sandbox sb = {NULL, 0, 0, 0, 0, 0};
    struct run_args args = {NULL, 0, cfg};
    char *buf = NULL;
    lua_State *L = NULL;
    int status, rc = -1;

    if (read_file(path, &buf, &args.len, err) != 0)
        goto out;
    args.buf = buf;
    L = lua_newstate(cap_alloc, &sb);
    if (!L) {
        *err = log_errf("%s: out of memory", path);
        goto out;
    }
    sb.L = L;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    lua_pushcfunction(L, run_config);
    lua_pushlightuserdata(L, &args);
    status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        *err = error_message(L, status, &sb, path);
        goto out;
    }
    rc = 0;
out:
    if (L)
        lua_close(L);
    free(buf);
    if (rc != 0 && !*err)
        *err = log_errf("%s: out of memory", path);
    return rc;
}

/* Where a configuration is looked for when none is named: the installed
 * file (an absolute path from meson's sysconfdir), then the contract's
 * etc/relais.conf.lua of the working directory (a source tree). */
static const char *const default_paths[] = {RELAIS_DEFAULT_CONFIG, "etc/relais.conf.lua", NULL};

const char *config_find_default(const char *const *candidates)
{
    for (; *candidates; candidates++)
        if (access(*candidates, F_OK) == 0)
            return *candidates;
    return NULL;
}

const char *config_default_path(void)
{
    return config_find_default(default_paths);
}

int config_load_from(const char *path, const char *const *candidates, struct config **out,
                     char **err)
{
    struct config *cfg = NULL;

    *out = NULL;
    *err = NULL;
    if (config_defaults(&cfg) != 0) {
        *err = log_errf("out of memory");
        goto fail;
    }
    /* Only the default paths may be missing: a path given on purpose that
     * is not there is a mistake worth stopping for. */
    if (!path && !(path = config_find_default(candidates))) {
        *out = cfg;
        return 0;
    }
    if (load_file(path, cfg, err) != 0)
        goto fail;
    *out = cfg;
    return 0;
fail:
    config_free(cfg);
    return -1;
}

int config_load(const char *path, struct config **out, char **err)
{
    return config_load_from(path, default_paths, out, err);
}
