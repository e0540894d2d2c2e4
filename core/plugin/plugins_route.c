/* plugins_route — plugin routes on the core HTTP server (plugins/API.md,
 * relais.route).
 *
 * One C handler serves every plugin route: it finds the plugin's function
 * by the matched pattern and method, runs it in a task, and when the task
 * waits for the network defers the HTTP reply (http_defer) until the task
 * ends; the reply is staged and sent by proute_deliver. A writing route
 * keeps the request's transaction until its first wait, when http_defer
 * commits it; after that the route may not write (papi_check_write).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "config.h"
#include "http.h"
#include "tokens.h"

#define MAX_REPLY_HEADERS 32
#define FORM_TYPE "application/x-www-form-urlencoded"

static const struct {
    int method;
    const char *name;
} route_methods[] = {
    {HTTP_GET, "GET"}, {HTTP_POST, "POST"}, {HTTP_PUT, "PUT"},
    {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"},
};
#define NMETHODS (sizeof route_methods / sizeof route_methods[0])

int proute_method(const char *name)
{
    for (size_t i = 0; i < NMETHODS; i++)
        if (strcmp(name, route_methods[i].name) == 0)
            return route_methods[i].method;
    return 0;
}

void proute_handler(struct http_req *req)
{
    struct plugins *p = req->app ? req->app->plugins : NULL;
    struct plugin *pl = NULL;
    struct proute *r = NULL;
    struct task *t;
    int rc;

    for (size_t i = 0; p && !r && i < p->n; i++) {
        for (size_t j = 0; !p->list[i]->dead && j < p->list[i]->nroutes; j++) {
            if ((p->list[i]->routes[j].methods & req->method) &&
                strcmp(p->list[i]->routes[j].pattern, req->route) == 0) {
                pl = p->list[i];
                r = &pl->routes[j];
                break;
            }
        }
    }
    if (!r) {
        http_problem(req, 500, "this route has no plugin behind it");
        return;
    }
    if (!pl->loaded) {
        http_problem(req, 503, "the plugin is still loading");
        return;
    }
    t = task_new(pl, TASK_ROUTE, r->ref);
    if (!t) {
        http_problem(req, 500, "the plugin could not run");
        return;
    }
    t->req = req;
    t->meter.budget = r->budget;
    rc = task_start(t);
    if (rc < 0) {
        if (req->spooled)
            pcsv_forget_file(pl->host, req->body_fd);
        http_problem(req, 500, "the plugin could not run");
    } else if (rc == 1) {
        if (http_defer(req) != 0)
            task_abandon(t, "the request could not wait");
        else
            t->deferred = 1;
    }
}

static const char *method_name(int m)
{
    for (size_t i = 0; i < NMETHODS; i++)
        if (route_methods[i].method == m)
            return route_methods[i].name;
    return m == HTTP_HEAD ? "HEAD" : "OPTIONS";
}

static void set_str(lua_State *L, const char *k, const char *v, size_t n)
{
    lua_pushlstring(L, v, n);
    lua_setfield(L, -2, k);
}

/* The part of the request target after the authority: "/path?query". */
static const char *target_of(struct http_req *req)
{
    const char *u = evhttp_request_get_uri(req->ev), *p;

    if (!u || u[0] == '/')
        return u ? u : "/";
    p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "/";
}

void proute_push_req(lua_State *L, struct http_req *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req->ev);
    const char *pub = req->app->cfg->public_url, *ctype = NULL;
    struct evkeyval *kv;
    int tbl;
    luaL_Buffer b;

    lua_createtable(L, 0, 12);
    tbl = lua_gettop(L);
    set_str(L, "method", method_name(req->method), strlen(method_name(req->method)));
    set_str(L, "path", req->path, strlen(req->path));
    lua_createtable(L, 0, req->nparams);
    for (int i = 0; i < req->nparams; i++)
        set_str(L, req->param_names[i], req->param_values[i], strlen(req->param_values[i]));
    lua_setfield(L, tbl, "params");
    lua_newtable(L);
    TAILQ_FOREACH(kv, &req->query, next) {
        lua_pushstring(L, kv->value);
        pcodec_add_multi(L, lua_gettop(L) - 1, kv->key, strlen(kv->key));
    }
    lua_setfield(L, tbl, "query");
    lua_newtable(L);
    TAILQ_FOREACH(kv, in, next) {
        luaL_buffinit(L, &b);
        for (const char *c = kv->key; *c; c++)
            luaL_addchar(&b, (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c));
        luaL_pushresult(&b);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) == LUA_TSTRING) {   /* a repeated header */
            lua_pushliteral(L, ", ");
            lua_pushstring(L, kv->value);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushstring(L, kv->value);
        }
        lua_rawset(L, -3);
        if (strcasecmp(kv->key, "Content-Type") == 0)
            ctype = kv->value;
    }
    lua_setfield(L, tbl, "headers");
    set_str(L, "body", req->body ? req->body : "", req->body ? req->body_len : 0);
    if (req->spooled) {
        pcsv_push_file(L, req->body_fd, req->body_file_len);
        lua_setfield(L, tbl, "body_file");
    }
    if (ctype && strncasecmp(ctype, FORM_TYPE, sizeof FORM_TYPE - 1) == 0 &&
        strchr("; \t", ctype[sizeof FORM_TYPE - 1])) {
        pcodec_push_form(L, req->body ? req->body : "", req->body ? req->body_len : 0);
        lua_setfield(L, tbl, "form");
    }
    lua_pushstring(L, pub ? pub : "");
    lua_pushstring(L, target_of(req));
    lua_concat(L, 2);
    lua_setfield(L, tbl, "url");
    if (req->role && http_role_name(req->role)) {
        lua_pushstring(L, http_role_name(req->role));
        lua_setfield(L, tbl, "role");
    }
    if (req->staff_id) {
        lua_pushinteger(L, req->staff_id);
        lua_setfield(L, tbl, "staff_id");
    }
}

/* A header name is an RFC 9110 token; a value holds no control character
 * but tab. */
static int header_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("!#$%&'*+-.^_`|~", *s) &&
            !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static int header_value_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
            return 0;
    return 1;
}

/* {status, body | json, headers} → T's reply. The result table, the JSON
 * text and the header array stay in ANCHOR, the one value kept. */
int proute_collect(lua_State *L, struct task *t)
{
    int res = lua_gettop(L), anchor, isint;
    struct reply_header *hv;
    lua_Integer status = 200;
    size_t len;

    if (!lua_istable(L, res))
        return papi_bad_result(L, t, "the route returned no response table");
    lua_createtable(L, 3, 0);
    anchor = lua_gettop(L);
    lua_pushvalue(L, res);
    lua_rawseti(L, anchor, 1);
    if (lua_getfield(L, res, "status") != LUA_TNIL) {
        status = lua_tointegerx(L, -1, &isint);
        if (!isint || status < 100 || status > 599)
            return papi_bad_result(L, t, "the route returned a status that is not 100..599");
    }
    lua_pop(L, 1);
    t->r_status = (int)status;
    if (lua_getfield(L, res, "json") != LUA_TNIL) {
        pcodec_encode(L, lua_gettop(L));
        t->r_body = lua_tolstring(L, -1, &t->r_len);
        t->r_ctype = "application/json";
        lua_rawseti(L, anchor, 2);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, res, "body") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING || t->r_body)
            return papi_bad_result(L, t, "the route's body is not a string (or comes with json)");
        t->r_body = lua_tolstring(L, -1, &t->r_len);
        t->r_ctype = "text/plain; charset=utf-8";
    }
    lua_pop(L, 1);
    if (lua_getfield(L, res, "headers") != LUA_TNIL) {
        int h = lua_gettop(L);

        if (!lua_istable(L, h))
            return papi_bad_result(L, t, "the route's headers are not a table");
        hv = lua_newuserdatauv(L, MAX_REPLY_HEADERS * sizeof *hv, 0);
        lua_rawseti(L, anchor, 3);
        lua_pushnil(L);
        while (lua_next(L, h)) {
            const char *v;

            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
                !header_name_ok(lua_tostring(L, -2)))
                return papi_bad_result(L, t, "the route's headers are not name = \"text\" pairs");
            v = lua_tolstring(L, -1, &len);
            if (!header_value_ok(v, len) || strlen(v) != len)
                return papi_bad_result(L, t, "a header value of the route holds a control character");
            if (http_header_reserved(lua_tostring(L, -2)))
                return papi_bad_result(L, t, "the route sets a header only the server writes "
                                       "(Content-Length, Transfer-Encoding, Connection…)");
            if (strcasecmp(lua_tostring(L, -2), "Content-Type") == 0) {
                t->r_ctype = v;
            } else {
                if (t->r_nheaders == MAX_REPLY_HEADERS)
                    return papi_bad_result(L, t, "the route sets more than 32 headers");
                hv[t->r_nheaders].name = lua_tostring(L, -2);
                hv[t->r_nheaders].value = v;
                t->r_nheaders++;
            }
            lua_pop(L, 1);
        }
        t->r_headers = hv;
    }
    lua_pop(L, 1);
    lua_settop(L, anchor);
    return 1;
}

void proute_deliver(struct task *t, const char *err)
{
    struct http_req *req = t->req;

    t->req = NULL;
    if (!req)
        return;
    if (req->spooled)
        pcsv_forget_file(t->pl->host, req->body_fd);
    if (err) {
        if (t->abandoned && t->deferred)
            http_problem(req, 503, "the plugin was reloaded; try again");
        else
            http_problem(req, 500, "the plugin failed");
    } else {
        for (int i = 0; i < t->r_nheaders; i++)
            http_reply_header(req, t->r_headers[i].name, t->r_headers[i].value);
        if (t->r_body || t->r_ctype)
            http_reply_data(req, t->r_status, t->r_ctype, t->r_body ? t->r_body : "",
                            t->r_body ? t->r_len : 0);
        else
            http_reply_empty(req, t->r_status);
    }
    if (t->deferred)
        http_finish(req);
}
