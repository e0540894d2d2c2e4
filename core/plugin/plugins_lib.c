/* plugins_lib — relais.log, time, sms, problem, the network functions that
 * yield (http.request, smtp.send), relais.outbox, relais.people and
 * relais.links
 * (plugins/API.md).
 *
 * relais.http.request and relais.smtp.send start a transfer on the app's
 * struct net with the entry's task as the callback argument and yield the
 * entry's coroutine with a continuation; net calls back from a zero-delay
 * event (never from inside libcurl), task_net_done resumes the coroutine,
 * and the continuation turns the result into the function's return values.
 * An entry dropped while it waits has its transfer cancelled first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "domain.h"
#include "gsm.h"
#include "http.h"
#include "links.h"
#include "log.h"
#include "net.h"
#include "phone.h"
#include "rtime.h"
#include "store.h"

#define MAX_OUT_HEADERS 64
#define MAX_RCPT        100
#define MAX_TIMEOUT_MS  120000

/* --- log, time, sms, problem ------------------------------------------------ */

static int log_at(lua_State *L, enum log_level lvl)
{
    int n = lua_gettop(L);
    const char *text;
    size_t len;

    luaL_checkstring(L, 1);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    lua_remove(L, -2);
    lua_insert(L, 1);
    lua_call(L, n, 1);
    /* One line, of a bounded length, whatever the plugin formatted. */
    text = luaL_tolstring(L, -1, &len);
    log_msg(lvl, plugin_of(L)->module, "%.*s%s", PLUGINS_LOG_MAX, text,
            len > PLUGINS_LOG_MAX ? "…" : "");
    return 0;
}

static int l_debug(lua_State *L) { return log_at(L, LOG_LVL_DEBUG); }
static int l_info(lua_State *L) { return log_at(L, LOG_LVL_INFO); }
static int l_warn(lua_State *L) { return log_at(L, LOG_LVL_WARN); }
static int l_error(lua_State *L) { return log_at(L, LOG_LVL_ERROR); }

static int l_now(lua_State *L)
{
    lua_pushinteger(L, rt_now());
    return 1;
}

static int64_t check_time(lua_State *L, int idx)
{
    lua_Number t = luaL_checknumber(L, idx);

    /* Years 0001..9999: what rtime formats. */
    luaL_argcheck(L, t >= -62135596800.0 && t < 253402300800.0, idx, "a time in seconds");
    return (int64_t)t;
}

static int l_rfc3339(lua_State *L)
{
    char buf[32];

    rt_format_utc(check_time(L, 1), buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_parse(lua_State *L)
{
    int64_t t;

    if (rt_parse_rfc3339(luaL_checkstring(L, 1), &t) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "not an RFC 3339 time");
        return 2;
    }
    lua_pushinteger(L, t);
    return 1;
}

/* "2026-01-01" → the local midnight that starts that day (config.timezone),
 * for plugins that take calendar dates (reports); nil, err otherwise. */
static int l_local_date(lua_State *L)
{
    int64_t t;

    if (rt_parse_local_date(luaL_checkstring(L, 1), &t) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "not a date (YYYY-MM-DD)");
        return 2;
    }
    lua_pushinteger(L, t);
    return 1;
}

static int l_fr(lua_State *L)
{
    char buf[RT_FR_MAX];

    rt_format_fr(check_time(L, 1), buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static void free_gsm_text(void *p)
{
    struct gsm_text *g = p;

    gsm_text_free(g);
    free(g);
}

static int l_prepare(lua_State *L)
{
    const char *text = luaL_checkstring(L, 1);
    void **box = pcodec_box(L, free_gsm_text);
    struct gsm_text *g = calloc(1, sizeof *g);

    if (!g)
        return luaL_error(L, "relais.sms.prepare: out of memory");
    *box = g;
    if (gsm_prepare(text, g) != 0)
        return luaL_error(L, "relais.sms.prepare: out of memory");
    lua_createtable(L, 0, 4);
    lua_pushstring(L, g->text);
    lua_setfield(L, -2, "text");
    lua_pushinteger(L, g->segments);
    lua_setfield(L, -2, "segments");
    lua_pushboolean(L, g->ucs2);
    lua_setfield(L, -2, "ucs2");
    lua_pushinteger(L, (lua_Integer)g->units);
    lua_setfield(L, -2, "units");
    pcodec_unbox(box);
    return 1;
}

/* relais.sms.sender_ok(s): what SMS networks take as a sender (formats.md
 * §3.2): a number of up to 15 digits, "+" allowed first, or an
 * alphanumeric ID of up to 11 letters, digits and spaces with a letter. */
static int l_sender_ok(lua_State *L)
{
    size_t n, digits;
    const char *s = luaL_checklstring(L, 1, &n), *d = s[0] == '+' ? s + 1 : s;
    int letter = 0, ok = 1;

    digits = strspn(d, "0123456789");
    if (n > 0 && d[digits] == '\0' && digits > 0) {
        lua_pushboolean(L, digits <= 15 && strlen(s) == n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        letter |= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ' ';
    }
    lua_pushboolean(L, ok && letter && n <= 11);
    return 1;
}

static void free_json(void *p)
{
    cJSON_Delete(p);
}

static int l_problem(lua_State *L)
{
    lua_Integer status = luaL_checkinteger(L, 1);
    const char *detail = luaL_optstring(L, 2, NULL);
    void **doc, **text;

    luaL_argcheck(L, status >= 400 && status <= 599, 1, "a status from 400 to 599");
    doc = pcodec_box(L, free_json);
    text = pcodec_box(L, free);
    *doc = http_problem_doc((int)status, detail, NULL);
    *text = *doc ? cJSON_PrintUnformatted(*doc) : NULL;
    if (!*text)
        return luaL_error(L, "relais.problem: out of memory");
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, *text);
    lua_setfield(L, -2, "body");
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "application/problem+json");
    lua_setfield(L, -2, "Content-Type");
    lua_setfield(L, -2, "headers");
    pcodec_unbox(text);
    pcodec_unbox(doc);
    return 1;
}

/* --- the network --------------------------------------------------------------- */

/* The entry that may wait here, or an error saying why it may not. */
static struct task *waiting_entry(lua_State *L, const char *fn)
{
    struct task *t = task_running(L);

    if (!t || t->co != L)
        luaL_error(L, "%s cannot wait inside a coroutine the plugin made", fn);
    /* Waiting would run the rest of the hook after the change committed
     * (or was rolled back) without it. */
    if (t->in_tx)
        luaL_error(L, "%s cannot wait in a %s hook: it runs inside the change's "
                   "transaction", fn, t->event ? t->event : "domain");
    if (!lua_isyieldable(L))
        luaL_error(L, "%s cannot wait here (inside a metamethod, a table.sort comparator, "
                   "a string.gsub callback, or at the top of a module)", fn);
    /* No read transaction is held across a network wait (up to 2 min):
     * the route's next query takes a new snapshot. */
    pread_end(t);
    return t;
}

static const char *opt_field(lua_State *L, int t, const char *k, size_t *len)
{
    const char *s = NULL;

    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "'%s' must be a string", k);
        s = lua_tolstring(L, -1, len);
    }
    lua_pop(L, 1);   /* the string stays alive in the argument table */
    return s;
}

static long opt_timeout(lua_State *L, int t)
{
    lua_Integer ms = 0;
    int isint;

    if (lua_getfield(L, t, "timeout") != LUA_TNIL) {
        ms = lua_tointegerx(L, -1, &isint);
        if (!isint || ms < 1 || ms > MAX_TIMEOUT_MS)
            luaL_error(L, "'timeout' must be whole milliseconds, 1 to %d", MAX_TIMEOUT_MS);
    }
    lua_pop(L, 1);
    return (long)ms;
}

static struct net *net_of(lua_State *L)
{
    return plugin_of(L)->host->app->net;
}

static int net_k(lua_State *L, int status, lua_KContext ctx)
{
    struct task *t = *(struct task **)lua_getextraspace(L);
    const struct net_result *res = t->res;
    int http = (int)ctx;

    (void)status;
    t->res = NULL;
    t->waiting = 0;
    if (!res)
        return luaL_error(L, "resumed without a network result");
    if (!res->ok) {
        lua_pushnil(L);
        lua_pushstring(L, res->error ? res->error : "network error");
        lua_pushboolean(L, res->timed_out);
        /* The last protocol code (SMTP 554 at the end of DATA…): libcurl's
         * message alone does not always carry it, and the plugin needs it
         * to tell a permanent refusal from a passing failure. */
        if (res->status > 0)
            lua_pushinteger(L, res->status);
        else
            lua_pushnil(L);
        return 4;
    }
    if (!http) {
        lua_pushboolean(L, 1);
        lua_pushinteger(L, res->status);
        return 2;
    }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, res->status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, res->body ? res->body : "", res->body ? res->body_len : 0);
    lua_setfield(L, -2, "body");
    return 1;
}

static int not_started(lua_State *L, const char *why)
{
    lua_pushnil(L);
    lua_pushstring(L, why);
    lua_pushboolean(L, 0);
    return 3;
}

static int l_http_request(lua_State *L)
{
    struct net_http rq = {0};
    struct net_header *hv = NULL;
    struct task *t;
    size_t n = 0;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    t = waiting_entry(L, "relais.http.request");
    rq.method = opt_field(L, 1, "method", NULL);
    rq.url = opt_field(L, 1, "url", NULL);
    rq.body = opt_field(L, 1, "body", &rq.body_len);
    rq.user = opt_field(L, 1, "user", NULL);
    rq.password = opt_field(L, 1, "password", NULL);
    rq.timeout_ms = opt_timeout(L, 1);
    if (!rq.url)
        return luaL_error(L, "relais.http.request: 'url' is required");
    if (!rq.method)
        rq.method = rq.body ? "POST" : "GET";
    for (const char *m = rq.method; *m; m++)
        if (*m < 'A' || *m > 'Z' || m - rq.method > 15)
            return luaL_error(L, "relais.http.request: 'method' must be upper-case letters");
    if (lua_getfield(L, 1, "headers") != LUA_TNIL) {
        int h = lua_gettop(L);

        luaL_argexpected(L, lua_istable(L, h), 1, "headers as a table");
        hv = lua_newuserdatauv(L, MAX_OUT_HEADERS * sizeof *hv, 0);
        lua_pushnil(L);
        while (lua_next(L, h)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "relais.http.request: headers are name = \"text\" pairs");
            if (n == MAX_OUT_HEADERS)
                return luaL_error(L, "relais.http.request: more than %d headers",
                                  MAX_OUT_HEADERS);
            hv[n].name = lua_tostring(L, -2);
            hv[n].value = lua_tostring(L, -1);
            n++;
            lua_pop(L, 1);
        }
    }
    rq.headers = hv;
    rq.nheaders = n;
    if (!net_of(L))
        return not_started(L, "this program makes no network requests");
    if (net_http_start(net_of(L), &rq, task_net_done, t, &t->job) != 0)
        return not_started(L, "the request could not start (a header with a line break?)");
    t->waiting = 1;
    return lua_yieldk(L, 0, 1, net_k);
}

static int l_smtp_send(lua_State *L)
{
    struct net_smtp rq = {0};
    const char **rcpt;
    struct task *t;
    size_t n = 0;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    t = waiting_entry(L, "relais.smtp.send");
    rq.url = opt_field(L, 1, "url", NULL);
    rq.user = opt_field(L, 1, "user", NULL);
    rq.password = opt_field(L, 1, "password", NULL);
    rq.mail_from = opt_field(L, 1, "from", NULL);
    rq.message = opt_field(L, 1, "message", &rq.message_len);
    rq.timeout_ms = opt_timeout(L, 1);
    lua_getfield(L, 1, "tls");
    rq.require_tls = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!rq.url || !rq.mail_from || !rq.message)
        return luaL_error(L, "relais.smtp.send: 'url', 'from' and 'message' are required");
    if (lua_getfield(L, 1, "to") != LUA_TTABLE)
        return luaL_error(L, "relais.smtp.send: 'to' must be a list of addresses");
    rcpt = lua_newuserdatauv(L, MAX_RCPT * sizeof *rcpt, 0);
    for (lua_Integer i = 1; lua_rawgeti(L, 2, i) != LUA_TNIL; i++) {
        if (lua_type(L, -1) != LUA_TSTRING || n == MAX_RCPT)
            return luaL_error(L, "relais.smtp.send: 'to' must be a list of up to %d addresses",
                              MAX_RCPT);
        rcpt[n++] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    if (n == 0)
        return luaL_error(L, "relais.smtp.send: 'to' is empty");
    rq.rcpt = rcpt;
    rq.nrcpt = n;
    if (!net_of(L))
        return not_started(L, "this program makes no network requests");
    if (net_smtp_start(net_of(L), &rq, task_net_done, t, &t->job) != 0)
        return not_started(L, "the message could not start (an address with a line break?)");
    t->waiting = 1;
    return lua_yieldk(L, 0, 0, net_k);
}

/* --- outbox and people ------------------------------------------------------------- */

static struct store *store_of(lua_State *L)
{
    struct store *st = plugin_of(L)->host->app->store;

    if (!st)
        luaL_error(L, "no database");
    return st;
}

static int l_report(lua_State *L)
{
    const char *channel = luaL_checkstring(L, 1), *id = luaL_checkstring(L, 2);
    const char *status = luaL_checkstring(L, 3), *error = luaL_optstring(L, 4, NULL);
    int rc;

    luaL_argcheck(L, strcmp(status, "delivered") == 0 || strcmp(status, "failed") == 0, 3,
                  "\"delivered\" or \"failed\"");
    papi_check_write(L, "relais.outbox.report");
    rc = outbox_report(store_of(L), channel, id, status, error);
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "database error");
        return 2;
    }
    lua_pushboolean(L, rc == 1);
    return 1;
}

static int l_sms_consent(lua_State *L)
{
    const char *phone = luaL_checkstring(L, 1), *why;
    char e164[PHONE_MAX];
    int rc;

    luaL_checktype(L, 2, LUA_TBOOLEAN);
    papi_check_write(L, "relais.people.sms_consent");
    /* A sender that is no phone number (a short code, a name) is nobody. */
    if (phone_normalize(phone, e164, &why) != 0) {
        lua_pushinteger(L, 0);
        return 1;
    }
    rc = beneficiaries_sms_consent(store_of(L), e164, lua_toboolean(L, 2));
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "database error");
        return 2;
    }
    lua_pushinteger(L, rc);
    return 1;
}

/* relais.links.lookup(purpose, token): the enrollment a beneficiary's link
 * stands for. Plugins may not read the links table (it is the only way to
 * check a token), so this is how a plugin serves /s/{token}. Anything that
 * is not a token of that purpose is nil, not an error: it comes from a URL.
 * A link past its expiry is nil, "expired". */
static int l_links_lookup(lua_State *L)
{
    const char *purpose = luaL_checkstring(L, 1), *token = luaL_checkstring(L, 2);
    size_t len;
    int64_t eid = 0;
    int rc;

    luaL_argcheck(L, strcmp(purpose, "r") == 0 || strcmp(purpose, "s") == 0, 1,
                  "\"r\" or \"s\"");
    lua_tolstring(L, 2, &len);
    if (len != LINKS_TOKEN_LEN || strlen(token) != len) {
        lua_pushnil(L);
        return 1;
    }
    rc = links_lookup(store_of(L), purpose[0] == 's' ? LINKS_SURVEY : LINKS_APPOINTMENT,
                      token, &eid);
    if (rc < 0 || rc == LINKS_EXPIRED) {
        lua_pushnil(L);
        if (rc < 0)
            lua_pushliteral(L, "database error");
        else
            lua_pushliteral(L, "expired");
        return 2;
    }
    if (rc == 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, eid);
    return 1;
}

/* --- the table --------------------------------------------------------------------- */

static void add_lib(lua_State *L, const char *name, const luaL_Reg *fns)
{
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, -2, name);
}

void plib_open(lua_State *L)
{
    static const luaL_Reg log_fns[] = {
        {"debug", l_debug}, {"info", l_info}, {"warn", l_warn}, {"error", l_error},
        {NULL, NULL},
    };
    static const luaL_Reg time_fns[] = {
        {"rfc3339", l_rfc3339}, {"parse", l_parse}, {"fr", l_fr},
        {"local_date", l_local_date}, {NULL, NULL},
    };
    static const luaL_Reg sms_fns[] = {{"prepare", l_prepare}, {"sender_ok", l_sender_ok},
                                       {NULL, NULL}};
    static const luaL_Reg http_fns[] = {{"request", l_http_request}, {NULL, NULL}};
    static const luaL_Reg smtp_fns[] = {{"send", l_smtp_send}, {NULL, NULL}};
    static const luaL_Reg outbox_fns[] = {{"report", l_report}, {NULL, NULL}};
    static const luaL_Reg people_fns[] = {{"sms_consent", l_sms_consent}, {NULL, NULL}};
    static const luaL_Reg links_fns[] = {{"lookup", l_links_lookup}, {NULL, NULL}};

    add_lib(L, "log", log_fns);
    add_lib(L, "time", time_fns);
    add_lib(L, "sms", sms_fns);
    add_lib(L, "http", http_fns);
    add_lib(L, "smtp", smtp_fns);
    add_lib(L, "outbox", outbox_fns);
    add_lib(L, "people", people_fns);
    add_lib(L, "links", links_fns);
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, l_problem);
    lua_setfield(L, -2, "problem");
}
