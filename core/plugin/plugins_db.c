/* plugins_db — relais.db and plugin migrations (plugins/API.md,
 * "Database"); what the SQL may touch is plugins_authz.c's.
 *
 * The authorizer judges a statement as a plugin's only while
 * host->db_plugin names it: around a plugin's own prepare and step (SQLite
 * also consults the authorizer when it recompiles a statement after a
 * schema change) and its migration steps, so the core's cached statements
 * are never judged as a plugin's (except what a plugin's trigger does in
 * them). During a plugin's call SQLite also charges its work to the
 * plugin's budget and holds no value larger than PDB_MAX_LENGTH.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "json.h"
#include "store.h"

#define MAX_ROWS       100000
#define MAX_MIGRATIONS 1000

/* --- relais.db ----------------------------------------------------------------- */

/* Prepared statements of one plugin, keyed by their SQL text: an import
 * runs the same few statements for each of 100,000 lines, and compiling
 * them each time cost more than running them. The cache belongs to the
 * plugin's Lua state (a box, an upvalue of relais.db.query/exec), so
 * closing the state on reload or shutdown finalizes them, before the store
 * closes. A statement is compiled while the authorizer judges the plugin's
 * SQL, and SQLite recompiles it after a schema change inside step, which
 * runs under the same judgment: a cached statement is always this plugin's
 * own. Statements are reset and their bindings cleared after each call, so
 * none holds a read transaction or points into a Lua string. */
#define STMT_CACHE     32       /* statements kept per plugin */
#define STMT_CACHE_SQL 16384    /* longer SQL is compiled at each call */

struct cached_stmt {
    char *sql;           /* NULL: a free slot */
    size_t len;
    sqlite3_stmt *stmt;
    unsigned long used;  /* when last used: the least recent goes first */
    int busy;            /* running now (never shared by two calls) */
};

struct stmt_cache {
    struct cached_stmt e[STMT_CACHE];
    unsigned long clock;
};

static void stmt_cache_free(void *p)
{
    struct stmt_cache *c = p;

    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(c->e[i].stmt);
        free(c->e[i].sql);
    }
    free(c);
}

static struct cached_stmt *cache_find(struct stmt_cache *c, const char *sql, size_t len)
{
    for (size_t i = 0; c && i < STMT_CACHE; i++) {
        struct cached_stmt *e = &c->e[i];

        if (e->sql && !e->busy && e->len == len && memcmp(e->sql, sql, len) == 0) {
            e->used = ++c->clock;
            e->busy = 1;
            return e;
        }
    }
    return NULL;
}

/* Keeps STMT under SQL, in a free slot or the least recently used idle
 * one. NULL (the caller finalizes STMT itself) when out of memory or when
 * every slot is busy. */
static struct cached_stmt *cache_add(struct stmt_cache *c, const char *sql, size_t len,
                                     sqlite3_stmt *stmt)
{
    struct cached_stmt *victim = NULL;
    char *copy;

    if (!c || len > STMT_CACHE_SQL)
        return NULL;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct cached_stmt *e = &c->e[i];

        if (e->busy)
            continue;
        if (!e->sql) {
            victim = e;
            break;
        }
        if (!victim || e->used < victim->used)
            victim = e;
    }
    if (!victim || !(copy = malloc(len)))
        return NULL;
    memcpy(copy, sql, len);
    sqlite3_finalize(victim->stmt);
    free(victim->sql);
    *victim = (struct cached_stmt){copy, len, stmt, ++c->clock, 1};
    return victim;
}

struct dbcall {
    sqlite3 *db;
    sqlite3_stmt *stmt;
    struct stmt_cache *cache;
    struct cached_stmt *cached;   /* STMT is the cache's: reset, not finalized */
    int rows;            /* query (a list of rows) or exec (a count) */
};

static int sql_failed(lua_State *L, sqlite3 *db)
{
    lua_pushnil(L);
    lua_pushstring(L, sqlite3_errmsg(db));
    return 2;
}

static void bind_args(lua_State *L, sqlite3_stmt *s, int first)
{
    int n = lua_gettop(L) - first + 1, want = sqlite3_bind_parameter_count(s), rc;

    if (n != want)
        luaL_error(L, "relais.db: the statement takes %d parameter%s, %d given", want,
                   want == 1 ? "" : "s", n);
    for (int i = 1; i <= n; i++) {
        int idx = first + i - 1;
        size_t len;
        const char *v;

        switch (lua_type(L, idx)) {
        case LUA_TNIL:
            rc = sqlite3_bind_null(s, i);
            break;
        case LUA_TLIGHTUSERDATA:   /* relais.json.null */
            if (lua_touserdata(L, idx) != NULL)
                goto bad;
            rc = sqlite3_bind_null(s, i);
            break;
        case LUA_TBOOLEAN:
            rc = sqlite3_bind_int(s, i, lua_toboolean(L, idx));
            break;
        case LUA_TNUMBER:
            rc = lua_isinteger(L, idx) ? sqlite3_bind_int64(s, i, lua_tointeger(L, idx))
                                       : sqlite3_bind_double(s, i, lua_tonumber(L, idx));
            break;
        case LUA_TSTRING:
            /* The argument outlives the statement's use: no copy needed.
             * Bytes that are not UTF-8 (a random token) go in as a blob. */
            v = lua_tolstring(L, idx, &len);
            rc = json_utf8_valid(v, len) ? sqlite3_bind_text(s, i, v, (int)len, SQLITE_STATIC)
                                         : sqlite3_bind_blob(s, i, v, (int)len, SQLITE_STATIC);
            break;
        default:
            goto bad;
        }
        if (rc != SQLITE_OK)
            luaL_error(L, "relais.db: cannot bind parameter %d", i);
    }
    return;
bad:
    luaL_error(L, "relais.db: parameters are nil, booleans, numbers or strings");
}

static void push_row(lua_State *L, sqlite3_stmt *s)
{
    int n = sqlite3_column_count(s);

    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(s, i);

        if (!name)
            luaL_error(L, "relais.db: out of memory");
        switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
            lua_pushinteger(L, sqlite3_column_int64(s, i));
            break;
        case SQLITE_FLOAT:
            lua_pushnumber(L, sqlite3_column_double(s, i));
            break;
        case SQLITE_TEXT:
            lua_pushlstring(L, (const char *)sqlite3_column_text(s, i),
                            (size_t)sqlite3_column_bytes(s, i));
            break;
        case SQLITE_BLOB:
            lua_pushlstring(L, sqlite3_column_blob(s, i), (size_t)sqlite3_column_bytes(s, i));
            break;
        default:
            continue;   /* NULL: the field is nil */
        }
        lua_setfield(L, -2, name);
    }
}

/* Runs inside a protected call, with the plugin's SQL context set: the
 * caller finalizes the statement and clears the context whatever happens. */
/* Whether SQL's first word is INSERT or REPLACE (any case, after blanks). */
static int starts_insert(const char *sql)
{
    if (!sql)
        return 0;
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
        sql++;
    return (strncasecmp(sql, "INSERT", 6) == 0 || strncasecmp(sql, "REPLACE", 7) == 0);
}

static int db_inner(lua_State *L)
{
    struct dbcall *c = lua_touserdata(L, 1);
    size_t len;
    const char *sql = luaL_checklstring(L, 2, &len), *tail = NULL;
    lua_Integer n = 0;
    int rc;

    c->cached = cache_find(c->cache, sql, len);
    if (c->cached) {
        c->stmt = c->cached->stmt;
    } else {
        if (sqlite3_prepare_v2(c->db, sql, (int)len, &c->stmt, &tail) != SQLITE_OK)
            return sql_failed(L, c->db);
        if (!c->stmt)
            return luaL_error(L, "relais.db: no SQL statement given");
        for (; tail && tail < sql + len; tail++)
            if (!strchr(" \t\r\n;", *tail))
                return luaL_error(L, "relais.db: one statement at a time");
        c->cached = cache_add(c->cache, sql, len, c->stmt);
    }
    if (!sqlite3_stmt_readonly(c->stmt))
        papi_check_write(L, "relais.db");
    bind_args(L, c->stmt, 3);
    if (c->rows)
        lua_newtable(L);
    while ((rc = sqlite3_step(c->stmt)) == SQLITE_ROW) {
        if (!c->rows)
            continue;
        if (n == MAX_ROWS)
            return luaL_error(L, "relais.db.query: more than %d rows (add a LIMIT)", MAX_ROWS);
        push_row(L, c->stmt);
        lua_rawseti(L, -2, ++n);
    }
    if (rc != SQLITE_DONE)
        return sql_failed(L, c->db);
    if (!c->rows) {
        int changed = sqlite3_changes(c->db);

        lua_pushinteger(L, changed);
        /* The new row's id saves a plugin the SELECT that would find it
         * again (a third of the statements of a Pix line). Only for a
         * statement that says INSERT or REPLACE first: after another kind,
         * sqlite3_last_insert_rowid still names an older insert. */
        if (changed > 0 && starts_insert(sqlite3_sql(c->stmt))) {
            lua_pushinteger(L, sqlite3_last_insert_rowid(c->db));
            return 2;
        }
    }
    return 1;
}

/* SQLite's virtual machine, every PDB_PROGRESS_OPS of its operations:
 * charged to the entry as PDB_OP_COST instructions each (an operation
 * costs several times what a Lua instruction does). A nonzero answer
 * interrupts the statement (the entry is then doomed: the count hook
 * raises its error at the next instruction). */
static int on_progress(void *arg)
{
    return sandbox_spend(arg, PDB_PROGRESS_OPS * PDB_OP_COST);
}

static int db_call(lua_State *L, int rows)
{
    struct plugin *pl = plugin_of(L);
    struct plugins *p = pl->host;
    struct dbcall c = {NULL, NULL, NULL, NULL, rows};
    void **cache = lua_touserdata(L, lua_upvalueindex(1));
    int st, limit;

    luaL_checkstring(L, 1);
    if (!p->app->store)
        return luaL_error(L, "relais.db: no database");
    c.db = store_db(p->app->store);
    c.cache = cache ? *cache : NULL;
    lua_pushcfunction(L, db_inner);
    lua_pushlightuserdata(L, &c);
    lua_rotate(L, 1, 2);
    p->db_plugin = pl;
    sqlite3_progress_handler(c.db, PDB_PROGRESS_OPS, on_progress, L);
    /* randomblob(1e9) would be a gigabyte outside the plugin's memory cap. */
    limit = sqlite3_limit(c.db, SQLITE_LIMIT_LENGTH, PDB_MAX_LENGTH);
    st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    sqlite3_limit(c.db, SQLITE_LIMIT_LENGTH, limit);
    sqlite3_progress_handler(c.db, 0, NULL, NULL);
    p->db_plugin = NULL;
    if (c.cached) {
        sqlite3_reset(c.stmt);
        sqlite3_clear_bindings(c.stmt);
        c.cached->busy = 0;
    } else {
        sqlite3_finalize(c.stmt);
    }
    if (st != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

int pdb_query_here(lua_State *L)
{
    return db_call(L, 1);
}

/* In a GET route, off the loop (plugins_dbread.c); elsewhere, here. */
static int l_query(lua_State *L)
{
    if (pread_offloadable(L))
        return pread_query(L);
    return db_call(L, 1);
}

static int l_exec(lua_State *L)
{
    /* The route's later reads must see what it writes: a new snapshot. */
    pread_end(task_running(L));
    return db_call(L, 0);
}

void pdb_open(lua_State *L)
{
    static const luaL_Reg fns[] = {{"query", l_query}, {"exec", l_exec}, {NULL, NULL}};
    void **cache;

    lua_newtable(L);
    cache = pcodec_box(L, stmt_cache_free);
    /* Without memory for a cache, every statement is compiled at its call. */
    *cache = calloc(1, sizeof(struct stmt_cache));
    luaL_setfuncs(L, fns, 1);
    lua_setfield(L, -2, "db");
}

/* --- migrations ---------------------------------------------------------------- */

struct mfile {
    int version;
    char *name;
};

static int mfile_cmp(const void *a, const void *b)
{
    const struct mfile *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}

/* "001_init.sql" → 1; 0 for a file that is no migration; -1 for a .sql
 * file not named like one. */
static int migration_version(const char *name)
{
    size_t n = strlen(name);
    long v = 0;
    const char *s = name;

    if (n < 5 || strcmp(name + n - 4, ".sql") != 0)
        return 0;
    for (; *s >= '0' && *s <= '9' && v <= MAX_MIGRATIONS; s++)
        v = v * 10 + (*s - '0');
    if (s == name || *s != '_' || v < 1 || v > MAX_MIGRATIONS)
        return -1;
    return (int)v;
}

int pdb_migrate(struct plugin *pl, char **err)
{
    struct plugins *p = pl->host;
    struct store_migration *steps = NULL;
    struct mfile *files = NULL;
    size_t n = 0, cap = 0;
    char *dir = NULL;
    DIR *d = NULL;
    struct dirent *e;
    int rc = -1;

    *err = NULL;
    /* A database migrated before ownership was recorded: its objects. */
    if (p->app->store && pauthz_adopt(pl, err) != 0)
        goto out;
    if (asprintf(&dir, "%s/migrations", pl->dir) < 0) {
        dir = NULL;
        goto out;
    }
    d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            rc = 0;
        else if (asprintf(err, "%s: %s", dir, strerror(errno)) < 0)
            *err = NULL;
        goto out;
    }
    while ((e = readdir(d))) {
        int v = migration_version(e->d_name);

        if (v == 0)
            continue;
        if (v < 0) {
            if (asprintf(err, "migration %s is not named NNN_name.sql (NNN from 1)",
                         e->d_name) < 0)
                *err = NULL;
            goto out;
        }
        if (n == cap) {
            struct mfile *grown = realloc(files, (cap = cap ? cap * 2 : 8) * sizeof *grown);
            if (!grown)
                goto out;
            files = grown;
        }
        files[n].version = v;
        files[n].name = strdup(e->d_name);
        if (!files[n++].name)
            goto out;
    }
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if (!p->app->store) {
        *err = strdup("the plugin has migrations but there is no database");
        goto out;
    }
    qsort(files, n, sizeof *files, mfile_cmp);
    steps = calloc(n, sizeof *steps);
    if (!steps)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char *path = NULL, *buf = NULL;
        const char *why = NULL;
        size_t len;

        if (i > 0 && files[i].version == files[i - 1].version) {
            if (asprintf(err, "two migrations are numbered %d", files[i].version) < 0)
                *err = NULL;
            goto out;
        }
        if (asprintf(&path, "%s/%s", dir, files[i].name) < 0)
            goto out;
        if (plugin_read_file(path, &buf, &len, &why) != 0) {
            if (asprintf(err, "%s: %s", path, why) < 0)
                *err = NULL;
            free(path);
            goto out;
        }
        free(path);
        steps[i].version = files[i].version;
        steps[i].sql = buf;
    }
    rc = store_migrate_with(p->app->store, pl->name, steps, n, pauthz_step, pl, err);
out:
    if (rc != 0 && !*err)
        *err = strdup("out of memory");
    for (size_t i = 0; steps && i < n; i++)
        free((char *)steps[i].sql);
    free(steps);
    for (size_t i = 0; i < n; i++)
        free(files[i].name);
    free(files);
    if (d)
        closedir(d);
    free(dir);
    return rc;
}
