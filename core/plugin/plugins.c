/* plugins — the Lua plugin host: starting, loading, unloading, reloading,
 * events (see core/plugin/plugins.h and plugins/API.md). Entries
 * into a plugin are tasks (plugins_task.c).
 *
 * A plugin that fails at any step (no plugin.lua, a migration refused, an
 * error while plugin.lua runs, a channel the outbox refuses) is unloaded:
 * its routes and senders are removed and its state closed, and it stays in
 * the list, dead, until the next reload. The others go on.
 */
#include "plugins.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "config.h"
#include "domain_events.h"
#include "file.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "store.h"

#define MAX_EMIT_DEPTH 4   /* a hook whose work emits again, and so on */
#define MAX_NAME       48

/* What every plugin's sandbox may do (core/lua/sandbox.h). */
static const struct sandbox_limits PLUGINS_LIMITS = {
    .memory = PLUGINS_MEM_CAP,
    .budget = PLUGINS_BUDGET,
    .hook_every = PLUGINS_HOOK_EVERY,
    .alloc_bytes = PLUGINS_ALLOC_BYTES,
    .slice_ms = PLUGINS_SLICE_MS,
};

struct plugin *plugin_of(lua_State *L)
{
    return sandbox_owner(L);
}

struct task *task_running(lua_State *L)
{
    struct sandbox_meter *m = sandbox_of(L)->current;

    /* Every meter of a plugin's sandbox is a task's. */
    return m ? (struct task *)(void *)((char *)m - offsetof(struct task, meter)) : NULL;
}

int plugin_read_file(const char *path, char **buf, size_t *len, const char **why)
{
    switch (file_read(path, PLUGINS_MAX_FILE, buf, len)) {
    case FILE_OK:
        *why = NULL;
        return 0;
    case FILE_OPEN:
        *why = strerror(errno);
        break;
    case FILE_MEMORY:
        *why = "out of memory";
        break;
    case FILE_READ:
        *why = "read error";
        break;
    case FILE_TOO_LARGE:
        *why = "larger than 1 MiB";
        break;
    }
    return -1;
}

void plugin_error(struct plugin *pl, const char *msg)
{
    log_error(pl->module, "%s", msg);
    metrics_count("plugin_errors_total", "plugin", pl->name, 1);
}

/* Runs FN(UD) in a protected call on PL's main thread. 0, or -1 with the
 * error message (when it is a string) copied into ERR. */
int plugin_main_call(struct plugin *pl, lua_CFunction fn, void *ud, char *err, size_t n)
{
    lua_State *L = pl->L;
    int top = lua_gettop(L), st;

    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ud);
    st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK && err)
        snprintf(err, n, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                               : st == LUA_ERRMEM ? "not enough memory" : "error");
    lua_settop(L, top);
    return st == LUA_OK ? 0 : -1;
}

/* --- plugins --------------------------------------------------------------------- */

/* Its tables are named KEY_…, KEY being the name with '-' read as '_'
 * (config_plugin_key): a plain identifier keeps that prefix exact. */
static int valid_name(const char *s)
{
    return strlen(s) <= MAX_NAME && config_plugin_name_ok(s);
}

/* Closes PL's state and forgets what it registered; PL stays in the list,
 * dead, until the next reload. */
static void plugin_unload(struct plugin *pl, const char *why)
{
    papi_unregister(pl);
    while (pl->tasks) {
        pl->tasks->abandoned = 1;
        task_drop(pl->tasks, why, 0);
    }
    ptemplate_free_all(pl);
    if (pl->L)
        lua_close(pl->L);
    pl->L = NULL;
    for (size_t i = 0; i < pl->nhooks; i++)
        free(pl->hooks[i].event);
    free(pl->hooks);
    pl->hooks = NULL;
    pl->nhooks = 0;
    pl->loaded = 0;
    pl->dead = 1;
}

static void plugin_free(struct plugin *pl)
{
    if (!pl)
        return;
    plugin_unload(pl, "the plugin was unloaded");
    free(pl->name);
    free(pl->key);
    free(pl->config_source);
    free(pl->config_error);
    free(pl->dir);
    free(pl->module);
    free(pl);
}

/* The relais table's pure C helpers pay for the bytes they read, hash or
 * fold (core/lua/sandbox_cost.c), as the standard library's do. */
static void price_relais(lua_State *L)
{
    static const struct {
        const char *lib;
        enum sandbox_price price;
    } libs[] = {{"json", SANDBOX_PRICE_SCAN}, {"crypto", SANDBOX_PRICE_HASH},
                {"url", SANDBOX_PRICE_SCAN}, {"sms", SANDBOX_PRICE_SCAN}};

    if (lua_getglobal(L, "relais") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        if (lua_getfield(L, -1, libs[i].lib) == LUA_TTABLE) {
            int t = lua_gettop(L);

            /* Replacing the value of a key met is allowed during next. */
            lua_pushnil(L);
            while (lua_next(L, t)) {
                int fn = lua_type(L, -1) == LUA_TFUNCTION && lua_type(L, -2) == LUA_TSTRING;

                lua_pop(L, 1);
                if (fn)
                    sandbox_cost_wrap(L, t, lua_tostring(L, -1), libs[i].price);
            }
        }
        lua_pop(L, 1);
    }
    /* relais.fold decodes and folds every byte of its string. */
    sandbox_cost_wrap(L, lua_gettop(L), "fold", SANDBOX_PRICE_FOLD);
    lua_pop(L, 1);
}

static int setup_state(lua_State *L)
{
    struct plugin *pl = lua_touserdata(L, 1);

    sandbox_open(L, SANDBOX_COROUTINES | SANDBOX_OS | SANDBOX_LOAD | SANDBOX_COLLECT);
    pbase_open(L);
    papi_open(L, pl);
    price_relais(L);
    /* The plugin's globals live in a table of their own whose misses read
     * the sandbox's (its metatable hidden), which is also its _G. */
    sandbox_env(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_pop(L, 1);
    return 0;
}

static void emit_to(struct plugin *pl, const char *event, const cJSON *payload);
static int observe(void *arg, const struct domain_event *ev, char *why, size_t n);

void plugin_load_finished(struct plugin *pl, int ok)
{
    if (ok && papi_activate(pl) != 0) {
        plugin_error(pl, "not loaded: its channel could not be registered");
        ok = 0;
    }
    if (!ok && pl->config_error)
        plugins_fatal(pl->host, pl->config_error);
    if (!ok) {
        log_warn(pl->module, "not loaded; the other plugins go on");
        plugin_unload(pl, "the plugin failed to load");
        return;
    }
    pl->loaded = 1;
    log_info(pl->module, "loaded (%zu route%s, %zu channel%s, %zu hook%s, %zu gateway%s, "
             "%zu composer%s)", pl->nroutes, pl->nroutes == 1 ? "" : "s", pl->nchannels,
             pl->nchannels == 1 ? "" : "s", pl->nhooks, pl->nhooks == 1 ? "" : "s",
             pl->ngateways, pl->ngateways == 1 ? "" : "s", pl->ncomposers,
             pl->ncomposers == 1 ? "" : "s");
    emit_to(pl, "loaded", NULL);
}

static void plugin_load(struct plugin *pl)
{
    char *err = NULL, *path = NULL, msg[256], err_setup[200];
    struct stat sb;
    struct task *t;

    /* Known from the start, so the series exists at 0. */
    metrics_count("plugin_errors_total", "plugin", pl->name, 0);
    if (asprintf(&path, "%s/plugin.lua", pl->dir) < 0) {
        path = NULL;
        goto oom;
    }
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(msg, sizeof msg, "not loaded: no plugin.lua in %s", pl->dir);
        goto fail;
    }
    if (pdb_migrate(pl, &err) != 0) {
        snprintf(msg, sizeof msg, "not loaded: %s", err ? err : "out of memory");
        goto fail;
    }
    pl->L = sandbox_new(&pl->sb, &PLUGINS_LIMITS, pl, "plugins");
    if (!pl->L)
        goto oom;
    if (plugin_main_call(pl, setup_state, pl, err_setup, sizeof err_setup) != 0) {
        snprintf(msg, sizeof msg, "not loaded: %s", err_setup);
        goto fail;
    }
    t = task_new(pl, TASK_LOAD, LUA_NOREF);
    if (!t)
        goto oom;
    /* The outcome arrives through load_finished, now or after a wait. */
    task_start(t);
    free(path);
    return;
oom:
    snprintf(msg, sizeof msg, "not loaded: not enough memory");
fail:
    plugin_error(pl, msg);
    plugin_unload(pl, "the plugin failed to load");
    free(err);
    free(path);
}

static struct plugin *plugin_new(struct plugins *p, const char *name)
{
    struct plugin *pl = calloc(1, sizeof *pl);
    const char *dir = p->app->cfg->plugins_dir ? p->app->cfg->plugins_dir : "plugins";

    if (!pl)
        return NULL;
    pl->host = p;
    pl->sb.env_ref = LUA_NOREF;
    pl->name = strdup(name);
    pl->key = strdup(name);
    if (pl->key)
        config_plugin_key(name, pl->key, strlen(name) + 1);
    if (asprintf(&pl->dir, "%s/%s", dir, name) < 0)
        pl->dir = NULL;
    if (asprintf(&pl->module, "plugin %s", name) < 0)
        pl->module = NULL;
    if (!pl->name || !pl->key || !pl->dir || !pl->module) {
        plugin_free(pl);
        return NULL;
    }
    return pl;
}

struct plugin *plugin_find(struct plugins *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->list[i]->name, name) == 0)
            return p->list[i];
    return NULL;
}

struct plugin *plugin_add(struct plugins *p, const char *name)
{
    struct plugin *pl;

    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct plugin **grown = realloc(p->list, cap * sizeof *grown);

        if (!grown)
            return NULL;
        p->list = grown;
        p->cap = cap;
    }
    pl = plugin_new(p, name);
    if (!pl)
        return NULL;
    p->list[p->n++] = pl;
    if (!valid_name(pl->name)) {
        plugin_error(pl, "not loaded: a plugin name is lower-case letters, digits, _ and -");
        pl->dead = 1;
        return pl;
    }
    /* Its objects are named KEY_…: a key whose prefix is the core's (api
     * for api_tokens, relais for the read models relais_v1_…) would make
     * them look like the core's. */
    if (pauthz_name_reserved(pl->key)) {
        plugin_error(pl, "not loaded: the name is reserved by the core (its tables would "
                         "share a prefix with the core's; names starting with \"relais\" "
                         "are the core's)");
        pl->dead = 1;
        return pl;
    }
    plugin_load(pl);
    return pl;
}

void plugins_fatal(struct plugins *p, const char *msg)
{
    if (p->starting && !p->fatal[0])
        snprintf(p->fatal, sizeof p->fatal, "%s", msg);
}

/* The plugins listed, then the gateways the channels name (pgw_settle).
 * -1 without memory; a missing gateway is logged (and fatal at start). */
static int load_all(struct plugins *p)
{
    const struct config *cfg = p->app->cfg;

    for (size_t i = 0; i < cfg->n_plugins; i++)
        if (!plugin_add(p, cfg->plugins[i]))
            return -1;
    pgw_settle(p);
    return 0;
}

static void unload_all(struct plugins *p)
{
    for (size_t i = 0; i < p->n; i++)
        plugin_free(p->list[i]);
    free(p->list);
    p->list = NULL;
    p->n = 0;
    p->cap = 0;
}

int plugins_start(struct app *app, struct plugins **out)
{
    struct plugins *p = calloc(1, sizeof *p);

    *out = NULL;
    if (!p)
        goto fail;
    p->app = app;
    p->starting = 1;
    if (pdb_install(p) != 0 || load_all(p) != 0)
        goto fail;
    p->starting = 0;
    /* After the plugins' migrations: the readers judge statements by the
     * registry of plugin objects and the read models, which change only in
     * load_all (plugins_authz.c). */
    pread_start(p);
    /* A mistake in the config file, found by a plugin as it loads or by a
     * channel naming no gateway: better no server than one that quietly
     * never sends. */
    if (p->fatal[0]) {
        log_error("plugins", "not started: %s", p->fatal);
        plugins_free(p);
        return -1;
    }
    /* After the outbox, which was made before: an erasure's notifications
     * are suppressed, then the plugins erase their part. */
    if (store_events(app->store)
        && domain_events_observe(store_events(app->store), "plugins", observe, p) != 0)
        goto fail;
    *out = p;
    return 0;
fail:
    log_error("plugins", "the plugin host cannot start: out of memory");
    plugins_free(p);
    return -1;
}

int plugins_reload(struct plugins *p)
{
    if (!p)
        return -1;
    log_info("plugins", "reloading %zu plugin%s", p->n, p->n == 1 ? "" : "s");
    unload_all(p);
    /* Every entry is gone, its reads cancelled: no reader runs while the
     * migrations change the registry, and the new readers have no
     * statement compiled under the rules of the plugins unloaded. */
    pread_stop(p);
    if (load_all(p) != 0) {
        log_error("plugins", "reload: out of memory");
        return -1;
    }
    pread_start(p);
    return 0;
}

void plugins_free(struct plugins *p)
{
    if (!p)
        return;
    domain_events_unobserve(store_events(p->app->store), observe, p);
    unload_all(p);
    pread_stop(p);
    pdb_uninstall(p);
    pcsv_forget_all(p);
    free(p);
}

size_t plugins_count(const struct plugins *p)
{
    size_t n = 0;

    for (size_t i = 0; p && i < p->n; i++)
        n += p->list[i]->loaded && !p->list[i]->dead;
    return n;
}

/* --- events -------------------------------------------------------------------------- */

/* Runs PL's hooks for EVENT in the order registered. IN_TX: inside a
 * change's transaction, each to its end without waiting, stopping at the
 * first that fails (an error, the budget, memory, a wait refused, or no
 * memory to start it: logged and counted) with -1. Otherwise each may wait,
 * and a failure only skips that hook: 0. */
static int run_hooks(struct plugin *pl, const char *event, const cJSON *payload, int in_tx)
{
    /* Hooks are registered while loading only, so the array stays put. */
    size_t n = pl->nhooks;
    int failed = 0, rc;

    for (size_t i = 0; i < n && !pl->dead && !failed; i++) {
        struct task *t;

        if (strcmp(pl->hooks[i].event, event) != 0)
            continue;
        t = task_new(pl, TASK_HOOK, pl->hooks[i].ref);
        if (!t) {
            plugin_error(pl, "cannot start a hook: out of memory");
            if (in_tx)
                return -1;
            continue;
        }
        t->event = event;
        t->payload = payload;
        if (!in_tx) {
            task_start(t);
            continue;
        }
        t->in_tx = 1;
        t->failed = &failed;
        /* A hook that cannot wait ends in its first slice: the network
         * functions refuse to wait in it. Were it waiting all the same, it
         * would go on after the transaction: it is dropped, a failure. */
        rc = task_start(t);
        if (rc == 1)
            task_abandon(t, "a hook inside a transaction waited");
        if (rc != 0)
            return -1;
    }
    return failed ? -1 : 0;
}

static void emit_to(struct plugin *pl, const char *event, const cJSON *payload)
{
    run_hooks(pl, event, payload, 0);
}

void plugins_emit(struct plugins *p, const char *event, const cJSON *payload)
{
    if (!p || !event)
        return;
    if (p->depth >= MAX_EMIT_DEPTH) {
        log_warn("plugins", "event %s not delivered: hooks nested %d deep", event, p->depth);
        return;
    }
    p->depth++;
    for (size_t i = 0; i < p->n; i++)
        if (p->list[i]->loaded && !p->list[i]->dead)
            emit_to(p->list[i], event, payload);
    p->depth--;
}

/* --- the domain's events ----------------------------------------------------------- */

static int observe(void *arg, const struct domain_event *ev, char *why, size_t n)
{
    struct plugins *p = arg;
    const char *name = domain_event_name(ev->kind);
    cJSON *payload = NULL;
    int rc = 0;

    /* Plugins hear, inside the transaction, only what they must act on for
     * the change to be right: an erasure (they keep personal data too). */
    if (ev->kind != DOMAIN_BENEFICIARY_ERASED)
        return 0;
    if (p->depth >= MAX_EMIT_DEPTH) {
        snprintf(why, n, "hooks nested %d deep", p->depth);
        return -1;
    }
    if (!(payload = cJSON_CreateObject()) ||
        !cJSON_AddNumberToObject(payload, "id", (double)ev->id)) {
        snprintf(why, n, "out of memory");
        rc = -1;
        goto out;
    }
    p->depth++;
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        struct plugin *pl = p->list[i];

        if (pl->dead)
            continue;
        /* A plugin between its start and the end of plugin.lua (a reload
         * whose loading waits on the network) has no hooks yet: it cannot
         * do its part, so the change waits for it. */
        if (!pl->loaded) {
            snprintf(why, n, "plugin %s is still loading", pl->name);
            rc = -1;
        } else if (run_hooks(pl, name, payload, 1) != 0) {
            snprintf(why, n, "the %s hook of plugin %s failed", name, pl->name);
            rc = -1;
        }
    }
    p->depth--;
out:
    cJSON_Delete(payload);
    return rc;
}
