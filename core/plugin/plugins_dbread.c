/* plugins_dbread — relais.db.query off the event loop (plugins/API.md,
 * "Database"; docs/architecture.md, "Work off the loop").
 *
 * A report reads for tens or hundreds of milliseconds, a careless plugin for
 * longer: on the loop's connection that is time nobody else is served. In a
 * GET route, relais.db.query instead hands its statement to a reader
 * (core/store/reader.h): a worker thread with a read-only connection of its own
 * compiles it under the same authorizer as the loop's (pauthz_judge, tagged
 * with the plugin's name: the same rules, the same plugin), the route's
 * coroutine yields, and it is resumed with the rows. The queries of one route share a lease, so one snapshot:
 * they see the database as it was at the first of them, until the route
 * ends, waits for the network (relais.http.request, relais.smtp.send) or
 * writes (relais.db.exec: its later reads must see the write).
 *
 * Everything else stays on the loop, as before: hooks, channels, routes of
 * writing methods (their reads belong to the request's transaction), a
 * query where Lua cannot yield (a metamethod, a table.sort comparator, a
 * plugin's own coroutine), and a statement that writes (the reader says
 * so without running it, and the query runs on the loop's connection).
 *
 * The rows are copied by the worker and turned into Lua tables on the
 * loop, charged to the route's instruction budget (PUSH_COST a cell).
 *
 * Bounds, as on the loop (plugins_db.c): SQLite's operations are charged
 * to the route's budget at the same price (PDB_OP_COST each); the worker
 * stops the query once they pass what is left of the budget, and the
 * route then fails with "instruction budget exceeded". The read is part of
 * the call: the route's count goes on after it (task_run). The worker also
 * stops a query that uses the CPU time of one slice of the route (0.5 s
 * per 20 million instructions of its budget: "CPU time budget exceeded"),
 * and any query after READER_TIMEOUT_MS; no value is longer than
 * PDB_MAX_LENGTH (READER_MAX_LENGTH).
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "reader.h"
#include "store.h"

#define MAX_ROWS   100000       /* as on the loop (plugins_db.c) */
#define PUSH_COST  8            /* instructions charged per cell made a Lua value */
#define MAX_PARAMS 999

static int read_auth(void *ctx, const char *tag, int action, const char *a, const char *b,
                     const char *db, const char *source)
{
    (void)db;
    return pauthz_judge(ctx, tag, NULL, 0, action, a, b, source);
}

int pread_offloadable(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    struct task *t = task_running(L);

    return pl->host->reader && t && t->co == L && t->kind == TASK_ROUTE && t->req
        && !t->in_tx && (t->req->method & (HTTP_GET | HTTP_HEAD)) && lua_isyieldable(L);
}

void pread_end(struct task *t)
{
    if (t && t->lease) {
        reader_lease_end(t->lease);
        t->lease = NULL;
    }
}

static void push_rows(lua_State *L, const struct reader_result *res)
{
    const struct reader_value *v = res->cells;

    sandbox_charge(L, (long)(res->nrows * (size_t)(res->ncols + 1)) * PUSH_COST);
    lua_createtable(L, res->nrows > INT32_MAX ? 0 : (int)res->nrows, 0);
    for (size_t r = 0; r < res->nrows; r++) {
        lua_createtable(L, 0, res->ncols);
        for (int c = 0; c < res->ncols; c++, v++) {
            switch (v->type) {
            case SQLITE_INTEGER:
                lua_pushinteger(L, v->i);
                break;
            case SQLITE_FLOAT:
                lua_pushnumber(L, v->d);
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB:
                lua_pushlstring(L, v->p ? v->p : "", v->len);
                break;
            default:
                continue;   /* NULL: the field is nil */
            }
            lua_setfield(L, -2, res->names[c]);
        }
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
}

static int query_k(lua_State *L, int status, lua_KContext ctx)
{
    struct task *t = *(struct task **)lua_getextraspace(L);
    const struct reader_result *res = t->rres;

    (void)status;
    t->rres = NULL;
    t->waiting = 0;
    lua_settop(L, (int)ctx);    /* the call's own arguments */
    if (!res)
        return luaL_error(L, "relais.db.query: resumed without a result");
    switch (res->status) {
    case READER_OK:
        sandbox_charge(L, res->ops * PDB_OP_COST);
        push_rows(L, res);
        return 1;
    case READER_BUDGET:
        /* More than what was left: the call is out of instructions. */
        sandbox_charge(L, sandbox_budget_left(&t->pl->sb, &t->meter) + 1);
        return luaL_error(L, "relais.db.query: %s", res->message);
    case READER_CPU_TIME:
        sandbox_out_of_time(L);
    case READER_WRITES:
        /* A statement that writes (or may: INSERT … RETURNING) runs where
         * writes go. Its later reads see it: a new snapshot. */
        pread_end(t);
        return pdb_query_here(L);
    case READER_MISUSE:
        return luaL_error(L, "relais.db: %s", res->message);
    case READER_TOO_BIG:
        return luaL_error(L, "relais.db.query: %s", res->message);
    default:
        sandbox_charge(L, res->ops * PDB_OP_COST);
        lua_pushnil(L);
        lua_pushstring(L, res->message);
        return 2;
    }
}

/* The call's N parameters (2..N+1) as reader values; the strings point
 * into Lua's, alive on the stack until the job copied them. */
static int params_of(lua_State *L, struct reader_value *pv, int n)
{
    if (n > MAX_PARAMS)
        return luaL_error(L, "relais.db: more than %d parameters", MAX_PARAMS);
    for (int i = 0; i < n; i++) {
        int idx = i + 2;
        struct reader_value *v = &pv[i];

        memset(v, 0, sizeof *v);
        switch (lua_type(L, idx)) {
        case LUA_TNIL:
            v->type = SQLITE_NULL;
            break;
        case LUA_TLIGHTUSERDATA:   /* relais.json.null */
            if (lua_touserdata(L, idx) != NULL)
                goto bad;
            v->type = SQLITE_NULL;
            break;
        case LUA_TBOOLEAN:
            v->type = SQLITE_INTEGER;
            v->i = lua_toboolean(L, idx);
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) {
                v->type = SQLITE_INTEGER;
                v->i = lua_tointeger(L, idx);
            } else {
                v->type = SQLITE_FLOAT;
                v->d = lua_tonumber(L, idx);
            }
            break;
        case LUA_TSTRING:
            /* Bytes that are not UTF-8 (a random token) go in as a blob. */
            v->p = lua_tolstring(L, idx, &v->len);
            v->type = json_utf8_valid(v->p, v->len) ? SQLITE_TEXT : SQLITE_BLOB;
            break;
        default:
            goto bad;
        }
    }
    return n;
bad:
    return luaL_error(L, "relais.db: parameters are nil, booleans, numbers or strings");
}

int pread_query(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    struct task *t = task_running(L);
    struct reader_query q = {0};
    struct reader_value *pv;
    int nargs;

    q.sql = luaL_checklstring(L, 1, &q.sql_len);
    nargs = lua_gettop(L);
    if (nargs - 1 > MAX_PARAMS)
        return luaL_error(L, "relais.db: more than %d parameters", MAX_PARAMS);
    /* On top of the arguments, until the job has copied them. */
    pv = lua_newuserdatauv(L, sizeof *pv * (size_t)(nargs > 1 ? nargs - 1 : 1), 0);
    q.params = pv;
    q.nparams = params_of(L, pv, nargs - 1);
    q.tag = pl->name;
    q.auth = read_auth;
    q.auth_ctx = pl->host;
    q.max_rows = MAX_ROWS;
    q.max_bytes = PLUGINS_MEM_CAP;
    /* What is left of the budget, in SQLite's operations: one step more
     * than that and the call is out of instructions. */
    q.max_ops = sandbox_budget_left(&pl->sb, &t->meter) / PDB_OP_COST + READER_PROGRESS_OPS;
    q.max_cpu_ns = sandbox_cpu_limit_ns(&pl->sb, &t->meter);
    if (!t->lease && !(t->lease = reader_lease_new(pl->host->reader)))
        return luaL_error(L, "relais.db.query: out of memory");
    t->rjob = reader_query(t->lease, &q, task_read_done, t);
    if (!t->rjob)
        return luaL_error(L, "relais.db.query: out of memory");
    lua_settop(L, nargs);
    t->waiting = 1;
    return lua_yieldk(L, 0, nargs, query_k);
}

void pread_start(struct plugins *p)
{
    struct store *st = p->app->store;
    const char *path = st ? sqlite3_db_filename(store_db(st), "main") : NULL;
    char *err = NULL;

    p->reader = NULL;
    /* A database without a file (a test's :memory:) has no other readers. */
    if (!p->app->base || !path || !*path)
        return;
    if (reader_start(p->app->base, path, &p->reader, &err) != 0) {
        log_warn("plugins", "%s; GET routes read on the event loop",
                 err ? err : "the readers cannot start");
        free(err);
        p->reader = NULL;
    }
}

void pread_stop(struct plugins *p)
{
    reader_free(p->reader);
    p->reader = NULL;
}
