/* config — the Lua configuration file (see config.h), run in the one
 * sandbox (core/lua/sandbox.h) that plugins run in too.
 *
 * Each load gets a fresh state, capped in memory (CONFIG_MEMORY held at
 * once, CONFIG_CHURN allocated in all: work done inside C functions, such
 * as string.rep in a loop, allocates) and in instructions (CONFIG_BUDGET,
 * C work priced), so a mistaken (or hostile) file can neither eat the
 * machine's memory nor loop forever. It gets the sandbox's safe core only
 * (no coroutine, os, load, collectgarbage, print or require) and `env`.
 * The chunk runs with an _ENV of its own whose misses read the sandbox's
 * globals (sandbox_env), so what the file defines is exactly that table's
 * own keys, which are then checked one by one against the known keys
 * (config_keys.c). */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "config_internal.h"
#include "file.h"
#include "sandbox.h"
#include "relais_build.h"

#define MAX_FILE_SIZE    (1u << 20)      /* a config file is a few KiB */

static const struct sandbox_limits CONFIG_LIMITS = {
    .memory = 8u << 20,          /* bytes a config may hold at once */
    .churn = 64u << 20,          /* bytes it may allocate in all */
    .budget = 10000000L,         /* VM instructions, C work priced */
    .hook_every = 100000,        /* instructions between hook calls */
};

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

    sandbox_open(L, 0);
    lua_pushcfunction(L, l_env);
    lua_setglobal(L, "env");
    sandbox_env(L);                      /* the file's own globals */
    env = lua_gettop(L);
    /* "=" makes Lua print no file name of its own ("…:3: msg"); the caller
     * puts the real path in front, untruncated. */
    if (sandbox_load(L, a->buf, a->len, "=") != LUA_OK)
        return lua_error(L);
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
    switch (file_read(path, MAX_FILE_SIZE, buf, len)) {
    case FILE_OK:
        return 0;
    case FILE_OPEN:
        *err = log_errf("%s: cannot open: %s", path, strerror(errno));
        break;
    case FILE_MEMORY:
        *err = log_errf("%s: out of memory", path);
        break;
    case FILE_READ:
        *err = log_errf("%s: cannot read: %s", path, strerror(errno));
        break;
    case FILE_TOO_LARGE:
        *err = log_errf("%s: larger than %u bytes", path, MAX_FILE_SIZE);
        break;
    }
    return -1;
}

/* Turns the Lua error into "PATH:LINE: msg" or "PATH: msg". */
static char *error_message(lua_State *L, int status, enum sandbox_trip tripped,
                           const char *path)
{
    const char *msg;

    if (tripped == SANDBOX_MEMORY || status == LUA_ERRMEM)
        return log_errf("%s: the file uses too much memory (%zu MiB at once, "
                        "%zu MiB in all)", path, CONFIG_LIMITS.memory >> 20,
                        CONFIG_LIMITS.churn >> 20);
    if (tripped)
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
    struct sandbox sb;
    struct sandbox_meter meter = {0};
    struct run_args args = {NULL, 0, cfg};
    char *buf = NULL;
    lua_State *L = NULL;
    int status, rc = -1;

    if (read_file(path, &buf, &args.len, err) != 0)
        goto out;
    args.buf = buf;
    L = sandbox_new(&sb, &CONFIG_LIMITS, cfg, "the configuration");
    if (!L) {
        *err = log_errf("%s: out of memory", path);
        goto out;
    }
    /* One meter for the whole file. */
    sandbox_enter(&sb, &meter, L);
    lua_pushcfunction(L, run_config);
    lua_pushlightuserdata(L, &args);
    status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        *err = error_message(L, status, meter.tripped, path);
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
