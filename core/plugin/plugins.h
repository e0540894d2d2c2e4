/* plugins — the Lua plugin host and the `relais` Lua API.
 *
 * A plugin is a folder PLUGINS_DIR/NAME/ with plugin.lua, optional
 * migrations/NNN_*.sql (applied in order as store component NAME) and
 * templates/. The plugins named in config.plugins are loaded at start, in
 * order, then the gateway plugins the sms and email providers name, and
 * all are reloaded on SIGHUP (plugins_reload). What a plugin sees is
 * documented for plugin authors in plugins/API.md (and plugins/relais.d.lua).
 *
 * Rules:
 * - One lua_State per plugin, from a capped allocator (PLUGINS_MEM_CAP):
 *   isolation plus a per-plugin memory limit.
 * - Sandbox: base (without dofile, loadfile, require, collectgarbage's
 *   control options, load of bytecode), string (without dump), table, math,
 *   utf8, coroutine (wrapped so a plugin's own coroutines cannot swallow the
 *   host's yields), os.time/os.clock/os.date only; no io, os.execute,
 *   package or debug. `require "x"` loads plugins/NAME/x.lua only.
 * - Every entry into a plugin (loading, a hook, a route, a channel send,
 *   each resume of its coroutine) runs under an instruction budget
 *   (PLUGINS_BUDGET) enforced by a count hook that, once tripped, fires on
 *   every instruction so a pcall cannot swallow it.
 * - CPU: the budget also pays for work done in C (sandbox_cost.c: string
 *   patterns are core/lua/lpattern.c, which counts its steps; C functions are
 *   priced by their arguments; allocations and SQLite's operations are
 *   charged), and each slice has a CPU time bound besides, so that no
 *   plugin holds the event loop for long whatever it calls.
 * - Each entry runs in its own coroutine; relais.http.request and
 *   relais.smtp.send yield it and resume it when core/util/net.c completes, so a
 *   plugin never blocks the loop.
 * - Errors are caught with a traceback, logged (no personal data),
 *   counted in relais_plugin_errors_total{plugin}, and never stop the
 *   server: a route answers 500, a channel send counts as a retry.
 * - Database access from a plugin goes through an authorizer
 *   (plugins_authz.c): it reads the core's data only through the
 *   relais_v1_* views (its read models, core/plugin/plugins_views.c), reads and
 *   writes only the tables its migrations created (registered in
 *   plugin_objects, named KEY_…: KEY is the name with '-' read as '_'),
 *   and its triggers keep its rights inside core statements.
 * - A mistake in the config file a plugin finds as it loads
 *   (relais.config_check), or a channel whose provider no plugin provides,
 *   stops plugins_start: the server does not start.
 */
#ifndef RELAIS_PLUGINS_H
#define RELAIS_PLUGINS_H

#include <stddef.h>

struct app;
struct cJSON;

#define PLUGINS_MEM_CAP (32u << 20)
#define PLUGINS_BUDGET  20000000   /* instructions per entry */
/* relais.api_version: what plugins/API.md describes. Raised whenever the
 * relais table gains or changes something, so that a plugin can ask for
 * what it needs; what an earlier version offered keeps working. */
#define PLUGINS_API_VERSION 1

struct plugins;

/* Loads every plugin of APP->cfg (migrations first). A plugin that fails to
 * load is logged, counted and skipped; the others run. Routes and channel
 * senders are registered on APP->http and APP->outbox. Until plugins_free
 * the host observes the domain's events on the registry APP->store carries
 * (core/domain/domain_events.h): for "beneficiary.erased" it runs every loaded
 * plugin's hooks of that name at once, inside the erasure's transaction,
 * where they may not wait; a hook that fails (an error, the instruction
 * budget, memory, a wait), or a plugin still loading, vetoes the erasure,
 * naming the plugin. 0, or -1 when the host itself could not start or the
 * config is wrong (logged: the key). */
int plugins_start(struct app *app, struct plugins **out);
/* Unloads and loads again (SIGHUP): coroutines waiting on I/O are
 * abandoned (their transfers cancelled; a channel send counts as a retry). */
int plugins_reload(struct plugins *p);
void plugins_free(struct plugins *p);
/* Calls every handler plugins registered for EVENT with PAYLOAD (a JSON
 * object, converted to a Lua table; may be NULL). For events outside any
 * change's transaction (after it committed, or none: "loaded"); hooks may
 * wait, and their failures are only logged. */
void plugins_emit(struct plugins *p, const char *event, const struct cJSON *payload);

/* Plugins loaded (for /metrics and tests). */
size_t plugins_count(const struct plugins *p);

#endif
