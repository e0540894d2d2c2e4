/* plugins_api — the relais table: identity, version, registering hooks,
 * routes and channels, and what goes in and out of entries
 * (plugins/API.md). Routes themselves are in plugins_route.c, composers
 * and gateways in plugins_gateway.c, settings in plugins_config.c.
 *
 * A channel is served by one sender per registration; the outbox's done
 * callback is called exactly once, by papi_deliver. Results are checked
 * inside the task (a bad result is a plugin error) and the strings they
 * point to stay anchored on the task's stack until they are delivered.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "tokens.h"

#define MAX_PROVIDER_ID   256
#define MAX_REASON        500

/* The loading entry, or an error: what a plugin does is declared once, when
 * it loads, so that a reload undoes all of it. */
struct task *papi_loading(lua_State *L, const char *fn)
{
    struct task *t = task_running(L);

    if (!t || t->kind != TASK_LOAD)
        luaL_error(L, "%s may only be called while the plugin loads (in plugin.lua)", fn);
    return t;
}

void papi_check_write(lua_State *L, const char *what)
{
    struct task *t = task_running(L);

    /* A writing route's transaction was committed at its first wait; a GET
     * route has none (each statement commits alone) and may wait for its
     * reads (plugins_dbread.c) before it writes. */
    if (t && t->kind == TASK_ROUTE && t->deferred && t->req
        && !(t->req->method & (HTTP_GET | HTTP_HEAD)))
        luaL_error(L, "%s: a route cannot write after it has waited for the network", what);
}

/* --- registering --------------------------------------------------------------- */

static int l_on(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    size_t len;
    const char *event = luaL_checklstring(L, 1, &len);
    struct phook *grown;
    char *copy;
    int ref;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    papi_loading(L, "relais.on");
    luaL_argcheck(L, len > 0 && len <= 64, 1, "an event name");
    lua_settop(L, 2);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    copy = strdup(event);
    grown = copy ? realloc(pl->hooks, (pl->nhooks + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return luaL_error(L, "relais.on: out of memory");
    }
    pl->hooks = grown;
    pl->hooks[pl->nhooks].event = copy;
    pl->hooks[pl->nhooks].ref = ref;
    pl->nhooks++;
    return 0;
}

static int parse_roles(lua_State *L, int idx)
{
    int roles = 0;

    if (lua_isnoneornil(L, idx))
        return ROUTE_PUBLIC;
    luaL_checktype(L, idx, LUA_TTABLE);
    for (lua_Integer i = 1; lua_rawgeti(L, idx, i) != LUA_TNIL; i++) {
        const char *name = lua_tostring(L, -1);
        int r = name && lua_type(L, -1) == LUA_TSTRING ? http_role_parse(name) : -1;

        if (r < 0)
            return luaL_error(L, "relais.route: unknown role in the roles list "
                              "(admin, coordinator, trainer)");
        roles |= r;
        lua_pop(L, 1);
    }
    if (!roles)
        return luaL_error(L, "relais.route: an empty roles list (leave it out for a public route)");
    return roles;
}

/* relais.route's options: {body = "file", max_body = bytes, budget =
 * instructions} (plugins/API.md). */
struct route_opts {
    size_t max_body;     /* spooled when > 0 */
    long budget;         /* 0: PLUGINS_BUDGET */
};

static void parse_route_opts(lua_State *L, int idx, int mask, struct route_opts *o)
{
    lua_Integer n;
    int isint;

    o->max_body = 0;
    o->budget = 0;
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "body") != LUA_TNIL) {
        const char *b = lua_tostring(L, -1);

        if (!b || lua_type(L, -1) != LUA_TSTRING || (strcmp(b, "file") && strcmp(b, "string")))
            luaL_error(L, "relais.route: body must be \"file\" or \"string\"");
        if (strcmp(b, "file") == 0) {
            if (!(mask & (HTTP_POST | HTTP_PUT | HTTP_PATCH)))
                luaL_error(L, "relais.route: only POST, PUT and PATCH routes take a body file");
            o->max_body = PLUGINS_SPOOL_DEFAULT;
        }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "max_body") != LUA_TNIL) {
        n = lua_tointegerx(L, -1, &isint);
        if (!o->max_body || !isint || n < 1 || n > PLUGINS_SPOOL_MAX)
            luaL_error(L, "relais.route: max_body is 1..%d bytes, with body = \"file\"",
                       PLUGINS_SPOOL_MAX);
        o->max_body = (size_t)n;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "budget") != LUA_TNIL) {
        n = lua_tointegerx(L, -1, &isint);
        if (!isint || n < PLUGINS_BUDGET || n > PLUGINS_BUDGET_MAX)
            luaL_error(L, "relais.route: budget is %d..%ld instructions", PLUGINS_BUDGET,
                       (long)PLUGINS_BUDGET_MAX);
        o->budget = (long)n;
    }
    lua_pop(L, 1);
}

static int l_route(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    struct app *app = pl->host->app;
    const char *method = luaL_checkstring(L, 1), *pattern = luaL_checkstring(L, 2);
    struct proute *grown;
    struct route_opts opts;
    char *copy;
    int mask = 0, roles, ref;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    papi_loading(L, "relais.route");
    mask = proute_method(method);
    if (!mask)
        return luaL_error(L, "relais.route: method must be GET, POST, PUT, PATCH or DELETE");
    roles = parse_roles(L, 4);
    parse_route_opts(L, 5, mask, &opts);
    if (!app->http)
        return luaL_error(L, "relais.route: this program serves no HTTP");
    lua_pushvalue(L, 3);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    copy = strdup(pattern);
    if (!copy || http_route(app->http, mask, pattern, roles, proute_handler) != 0 ||
        (opts.max_body && http_spool(app->http, mask, pattern, opts.max_body) != 0)) {
        if (copy && opts.max_body)
            http_unroute(app->http, mask, pattern);
        free(copy);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "relais.route: cannot add %s %s (a bad pattern, or another "
                          "route already answers it)", method, pattern);
    }
    grown = realloc(pl->routes, (pl->nroutes + 1) * sizeof *grown);
    if (!grown) {
        http_unroute(app->http, mask, pattern);
        free(copy);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "relais.route: out of memory");
    }
    pl->routes = grown;
    pl->routes[pl->nroutes++] = (struct proute){mask, copy, roles, ref, opts.budget};
    return 0;
}

static int l_channel(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    struct plugins *p = pl->host;
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    struct pchannel *c, **grown;
    int ref;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    papi_loading(L, "relais.channel");
    luaL_argcheck(L, len > 0 && len <= 32, 1, "a channel name");
    if (pgw_composed(p, name))
        return luaL_error(L, "relais.channel: a composer already writes %s (its gateway "
                          "sends it)", name);
    for (size_t i = 0; i < p->n; i++) {
        struct plugin *other = p->list[i];

        for (size_t j = 0; !other->dead && j < other->nchannels; j++)
            if (strcmp(other->channels[j]->name, name) == 0)
                return luaL_error(L, "relais.channel: plugin %s already sends %s",
                                  other->name, name);
    }
    lua_settop(L, 2);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    c = calloc(1, sizeof *c);
    grown = c ? realloc(pl->channels, (pl->nchannels + 1) * sizeof *grown) : NULL;
    if (c && grown)
        c->name = strdup(name);
    if (!c || !grown || !c->name) {
        if (grown)
            pl->channels = grown;
        free(c);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "relais.channel: out of memory");
    }
    pl->channels = grown;
    c->pl = pl;
    c->ref = ref;
    pl->channels[pl->nchannels++] = c;
    return 0;
}

static int channel_send(void *arg, const struct outbox_msg *m, outbox_done_fn done,
                        void *token)
{
    struct pchannel *c = arg;
    struct task *t;

    if (c->pl->dead || !c->pl->loaded)
        return -1;
    t = task_new(c->pl, TASK_CHANNEL, c->ref);
    if (!t)
        return -1;
    t->msg = m;
    t->done = done;
    t->token = token;
    return task_start(t) < 0 ? -1 : 0;
}

int papi_activate(struct plugin *pl)
{
    struct outbox *ob = pl->host->app->outbox;

    for (size_t i = 0; ob && i < pl->nchannels; i++) {
        struct pchannel *c = pl->channels[i];

        if (outbox_set_sender(ob, c->name, channel_send, c) != 0)
            return -1;
        c->registered = 1;
    }
    return 0;
}

void papi_unregister(struct plugin *pl)
{
    struct app *app = pl->host->app;

    for (size_t i = 0; i < pl->nroutes; i++) {
        if (app->http)
            http_unroute(app->http, pl->routes[i].methods, pl->routes[i].pattern);
        free(pl->routes[i].pattern);
    }
    free(pl->routes);
    pl->routes = NULL;
    pl->nroutes = 0;
    pstatic_unregister(pl);
    pgw_unregister(pl);
    for (size_t i = 0; i < pl->nchannels; i++) {
        if (pl->channels[i]->registered && app->outbox)
            outbox_set_sender(app->outbox, pl->channels[i]->name, NULL, NULL);
        free(pl->channels[i]->name);
        free(pl->channels[i]);
    }
    free(pl->channels);
    pl->channels = NULL;
    pl->nchannels = 0;
}

int papi_bad_result(lua_State *L, struct task *t, const char *why)
{
    t->bad = why;
    return luaL_error(L, "%s", why);
}

/* --- channels --------------------------------------------------------------------- */

int papi_collect_result(lua_State *L, struct task *t)
{
    static const char *const names[] = {"sent", "retry", "failed"};
    int res = lua_gettop(L), anchor, isint, kind = -1;
    struct outbox_result *r = &t->c_res;
    const char *s;
    size_t len;

    if (!lua_istable(L, res))
        return papi_bad_result(L, t, "the function returned no result table");
    lua_createtable(L, 3, 0);
    anchor = lua_gettop(L);
    lua_pushvalue(L, res);
    lua_rawseti(L, anchor, 1);
    lua_getfield(L, res, "status");
    s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            kind = i;
    if (kind < 0)
        return papi_bad_result(L, t, "the channel result's status is not sent, retry or failed");
    r->status = kind == 0 ? OUTBOX_SENT : kind == 1 ? OUTBOX_RETRY : OUTBOX_FAILED;
    lua_pop(L, 1);
    switch (lua_getfield(L, res, "provider_id")) {
    case LUA_TNIL:
        break;
    case LUA_TNUMBER:
        if (!lua_isinteger(L, -1))
            return papi_bad_result(L, t, "the channel result's provider_id is not an integer");
        lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, -1));
        lua_rawseti(L, anchor, 2);
        lua_rawgeti(L, anchor, 2);
        /* fall through */
    case LUA_TSTRING:
        r->provider_id = lua_tolstring(L, -1, &len);
        if (len == 0 || len > MAX_PROVIDER_ID || strlen(r->provider_id) != len)
            return papi_bad_result(L, t, "the channel result's provider_id is empty or too long");
        break;
    default:
        return papi_bad_result(L, t, "the channel result's provider_id is not text");
    }
    lua_settop(L, anchor);
    if (lua_getfield(L, res, "segments") != LUA_TNIL) {
        lua_Integer n = lua_tointegerx(L, -1, &isint);
        if (!isint || n < 0 || n > 255)
            return papi_bad_result(L, t, "the channel result's segments is not 0..255");
        r->segments = (int)n;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, res, "error") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            return papi_bad_result(L, t, "the channel result's error is not text");
        s = lua_tolstring(L, -1, &len);
        if (len > MAX_REASON || strlen(s) != len) {
            /* Cut at a character boundary: the reason is stored and shown. */
            len = len > MAX_REASON ? MAX_REASON : strlen(s);
            while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                len--;
            lua_pushlstring(L, s, len);
            lua_rawseti(L, anchor, 3);
            lua_rawgeti(L, anchor, 3);
        }
        r->error = lua_tostring(L, -1);
    }
    lua_settop(L, anchor);
    return 1;
}

/* --- in and out of entries -------------------------------------------------------- */

int papi_push_args(lua_State *L, struct task *t)
{
    switch (t->kind) {
    case TASK_ROUTE:
        proute_push_req(L, t->req);
        return 1;
    case TASK_CHANNEL:
        if (t->msg->data)
            pcodec_push_json(L, t->msg->data, 0);
        else
            lua_newtable(L);
        if (lua_istable(L, -1)) {
            lua_pushinteger(L, t->msg->id);
            lua_setfield(L, -2, "id");
            if (t->msg->channel && lua_getfield(L, -1, "channel") == LUA_TNIL) {
                lua_pushstring(L, t->msg->channel);
                lua_setfield(L, -3, "channel");
            }
            if (t->msg->channel)
                lua_pop(L, 1);
        }
        return 1;
    case TASK_COMPOSE:
        pgw_push_compose_args(L, t);
        return 1;
    case TASK_GATEWAY:
        pcodec_push_json(L, t->gmsg, 0);
        return 1;
    case TASK_HOOK:
        if (t->payload)
            pcodec_push_json(L, t->payload, 0);
        else
            lua_newtable(L);
        return 1;
    default:
        return 0;
    }
}

int papi_collect(lua_State *L, struct task *t)
{
    if (t->kind == TASK_ROUTE)
        return proute_collect(L, t);
    if (t->kind == TASK_CHANNEL)
        return papi_collect_result(L, t);
    if (t->kind == TASK_COMPOSE)
        return pgw_collect_compose(L, t);
    if (t->kind == TASK_GATEWAY)
        return pgw_collect_gateway(L, t);
    return 0;
}

void papi_deliver(struct task *t, const char *err)
{
    if (t->kind == TASK_ROUTE) {
        proute_deliver(t, err);
    } else if (t->kind == TASK_COMPOSE) {
        pgw_deliver_compose(t, err);
    } else if ((t->kind == TASK_CHANNEL || t->kind == TASK_GATEWAY) && t->done) {
        outbox_done_fn done = t->done;
        struct outbox_result r = {OUTBOX_RETRY, NULL, 0, err};

        t->done = NULL;
        done(t->token, err ? &r : &t->c_res);
    } else if (t->kind == TASK_HOOK && err && t->failed) {
        *t->failed = 1;
    }
}

/* --- the table ---------------------------------------------------------------------- */

static void push_strings(lua_State *L, char *const *list, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, list[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void push_brackets(lua_State *L, const struct config_records *r)
{
    lua_createtable(L, (int)r->n_age_brackets, 0);
    for (size_t i = 0; i < r->n_age_brackets; i++) {
        lua_pushinteger(L, r->age_brackets[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void push_settings(lua_State *L, const struct config *cfg)
{
    char hhmm[16];

    lua_createtable(L, 0, 5);
    lua_pushstring(L, cfg->public_url ? cfg->public_url : "");
    lua_setfield(L, -2, "public_url");
    lua_pushstring(L, cfg->timezone ? cfg->timezone : "UTC");
    lua_setfield(L, -2, "timezone");
    if (cfg->quiet_enabled) {
        lua_createtable(L, 0, 2);
        snprintf(hhmm, sizeof hhmm, "%02d:%02d", cfg->quiet_from_min / 60, cfg->quiet_from_min % 60);
        lua_pushstring(L, hhmm);
        lua_setfield(L, -2, "from");
        snprintf(hhmm, sizeof hhmm, "%02d:%02d", cfg->quiet_to_min / 60, cfg->quiet_to_min % 60);
        lua_pushstring(L, hhmm);
        lua_setfield(L, -2, "to");
    } else {
        lua_pushboolean(L, 0);
    }
    lua_setfield(L, -2, "quiet_hours");
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, cfg->reminder_confirmation);
    lua_setfield(L, -2, "confirmation");
    lua_createtable(L, (int)cfg->n_reminder_before, 0);
    for (size_t i = 0; i < cfg->n_reminder_before; i++) {
        lua_pushinteger(L, cfg->reminder_before[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "before");
    lua_setfield(L, -2, "reminders");
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, cfg->survey_after);
    lua_setfield(L, -2, "after");
    lua_setfield(L, -2, "survey");
    /* The records' vocabulary (config_records): themes, the age brackets'
     * first ages, the territory's neighbourhoods. */
    push_strings(L, cfg->records.themes, cfg->records.n_themes);
    lua_setfield(L, -2, "themes");
    push_brackets(L, &cfg->records);
    lua_setfield(L, -2, "age_brackets");
    lua_createtable(L, 0, 2);
    push_strings(L, cfg->records.qpv, cfg->records.n_qpv);
    lua_setfield(L, -2, "qpv");
    push_strings(L, cfg->records.qva, cfg->records.n_qva);
    lua_setfield(L, -2, "qva");
    lua_setfield(L, -2, "territory");
}

void papi_open(lua_State *L, struct plugin *pl)
{
    static const luaL_Reg fns[] = {
        {"on", l_on}, {"route", l_route}, {"channel", l_channel},
        {"static", pstatic_l_static}, {"gateway", pgw_l_gateway},
        {"composer", pgw_l_composer}, {"config_check", pconfig_l_check}, {NULL, NULL},
    };
    const struct config *cfg = pl->host->app->cfg;

    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_pushinteger(L, PLUGINS_API_VERSION);
    lua_setfield(L, -2, "api_version");
    lua_pushstring(L, pl->name);
    lua_setfield(L, -2, "name");
    if (strcmp(pl->name, "reports") == 0) {
        /* reports = {age_brackets = …}, checked by the core (its defaults
         * filled in), since the domain counts walk-ins by those brackets. */
        lua_createtable(L, 0, 1);
        push_brackets(L, &cfg->records);
        lua_setfield(L, -2, "age_brackets");
    } else {
        pconfig_push(L, pl);
    }
    lua_setfield(L, -2, "config");
    push_settings(L, cfg);
    lua_setfield(L, -2, "settings");
    plib_open(L);
    pcodec_open(L);
    pcrypto_open(L);
    pdb_open(L);
    ptemplate_open(L);
    pcsv_open(L);
    pxlsx_open(L);
    lua_setglobal(L, "relais");
}
