/* plugins_authz — what a plugin's SQL may touch (plugins/README.md,
 * "Database"): the SQLite authorizer, the registry of the schema objects
 * each plugin owns, and the migration steps that fill it.
 *
 * Ownership is registered, never inferred from a name: every table, index,
 * view and trigger a plugin's migration step creates is recorded in the
 * core table plugin_objects in the step's own transaction (pauthz_step),
 * and the registry (kept in memory: the authorizer may not query) decides.
 * A plugin
 * - writes only the tables it owns;
 * - reads every table but those holding secrets (readable(): the one place
 *   that says what a plugin may read);
 * - calls only the SQL functions of an allowed list (no load_extension,
 *   fts3_tokenizer, sqlite_*);
 * - changes the schema only from its migrations: creating objects named
 *   NAME_… that no one has (and no core name or prefix: reserved()),
 *   changing or dropping only its own, a trigger or an index only on its
 *   own tables; no pragma, attach, temporary object or transaction.
 * Statements run by a trigger are judged as the trigger's owner's: a
 * plugin trigger fired by a core statement (an ON DELETE CASCADE into a
 * plugin table) has its plugin's rights, not the core's. And a new trigger
 * is compiled once in its plugin's name before its step commits, so one
 * that would write or read what the plugin may not is refused at once.
 *
 * Migrations of a database made before ownership was registered: the first
 * time a plugin with applied migrations and no registered object loads,
 * the objects named NAME_… that are not core ones become its own (the
 * last use of the prefix, to carry existing installations over).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "plugins_internal.h"
#include "relais/app.h"
#include "relais/log.h"
#include "relais/store.h"

struct pobject {
    char *name, *plugin;
};

/* --- names ---------------------------------------------------------------------- */

/* Core schema objects a plugin name must not reach as NAME_… (keep in step
 * with core/schema.c), and prefixes no plugin object may take. */
static const char *const core_names[] = {
    "api_tokens", "links", "staff", "venues", "beneficiaries", "series", "sessions",
    "enrollments", "session_changes", "enrollment_events", "notifications",
    "notification_fanouts", "schema_migrations", "plugin_objects", NULL,
};
static const char *const reserved_prefixes[] = {
    "sqlite_", "api_", "schema_", "plugin_", "core_", "relais_", NULL,
};

static int starts_with(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int reserved(const char *name)
{
    for (size_t i = 0; core_names[i]; i++)
        if (strcasecmp(name, core_names[i]) == 0)
            return 1;
    for (size_t i = 0; reserved_prefixes[i]; i++)
        if (starts_with(name, reserved_prefixes[i]))
            return 1;
    return 0;
}

/* NAME_something, in any case (SQLite names are case-insensitive). */
static int namespaced(const char *plugin, const char *name)
{
    size_t n = strlen(plugin);

    return name && strncasecmp(name, plugin, n) == 0 && name[n] == '_' && name[n + 1];
}

int pauthz_name_reserved(const char *plugin)
{
    char prefix[80];

    if (snprintf(prefix, sizeof prefix, "%s_", plugin) >= (int)sizeof prefix)
        return 1;
    if (reserved(prefix))
        return 1;
    for (size_t i = 0; core_names[i]; i++)
        if (strcasecmp(core_names[i], plugin) == 0 || starts_with(core_names[i], prefix))
            return 1;
    return 0;
}

/* The tables a plugin may not read: those holding secrets (token and link
 * hashes). A read model of views, when the core has one, is decided here. */
static int readable(const char *table)
{
    static const char *const secret[] = {"api_tokens", "links", NULL};

    for (size_t i = 0; table && secret[i]; i++)
        if (strcasecmp(table, secret[i]) == 0)
            return 0;
    return 1;
}

/* SQL functions a plugin may call: SQLite's core, date, JSON, window and
 * aggregate functions. Not load_extension, fts3_tokenizer (it leaks an
 * address), sqlite_compileoption_*, sqlite_offset, nor anything added by
 * an extension. */
static int callable(const char *fn)
{
    static const char *const allowed[] = {
        "abs", "avg", "char", "coalesce", "concat", "concat_ws", "count", "cume_dist",
        "date", "datetime", "dense_rank", "first_value", "format", "glob", "group_concat",
        "hex", "ifnull", "iif", "instr", "json", "json_array", "json_array_length",
        "json_each", "json_extract", "json_group_array", "json_group_object", "json_insert",
        "json_object", "json_patch", "json_quote", "json_remove", "json_replace", "json_set",
        "json_tree", "json_type", "json_valid", "julianday", "lag", "last_value", "lead",
        "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nth_value",
        "ntile", "nullif", "octet_length", "percent_rank", "printf", "quote", "random",
        "randomblob", "rank", "replace", "round", "row_number", "rtrim", "sign", "strftime",
        "string_agg", "substr", "substring", "sum", "time", "total", "trim", "typeof",
        "unhex", "unicode", "unixepoch", "unlikely", "upper", "zeroblob", NULL,
    };

    for (size_t i = 0; fn && allowed[i]; i++)
        if (strcasecmp(fn, allowed[i]) == 0)
            return 1;
    return 0;
}

/* --- the registry ------------------------------------------------------------------ */

static const char *owner_of(const struct plugins *p, const char *name)
{
    for (size_t i = 0; name && i < p->nobjs; i++)
        if (strcasecmp(p->objs[i].name, name) == 0)
            return p->objs[i].plugin;
    return NULL;
}

static void forget_registry(struct plugins *p)
{
    for (size_t i = 0; i < p->nobjs; i++) {
        free(p->objs[i].name);
        free(p->objs[i].plugin);
    }
    free(p->objs);
    p->objs = NULL;
    p->nobjs = 0;
}

/* Reads plugin_objects into P's registry (in the core's name). 0 or -1. */
static int load_registry(struct plugins *p, struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT name, plugin FROM plugin_objects ORDER BY name");
    struct pobject *objs = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if (!s)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            struct pobject *grown = realloc(objs, (cap = cap ? cap * 2 : 32) * sizeof *grown);

            if (!grown)
                goto fail;
            objs = grown;
        }
        objs[n].name = store_col_strdup(s, 0);
        objs[n].plugin = store_col_strdup(s, 1);
        if (!objs[n].name || !objs[n].plugin) {
            free(objs[n].name);
            free(objs[n].plugin);
            goto fail;
        }
        n++;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    store_done(s);
    forget_registry(p);
    p->objs = objs;
    p->nobjs = n;
    return 0;
fail:
    store_done(s);
    while (n > 0) {
        n--;
        free(objs[n].name);
        free(objs[n].plugin);
    }
    free(objs);
    return -1;
}

/* --- the authorizer ------------------------------------------------------------------ */

/* The names in the schema when the running migration step began: what is
 * not among them was created by the step. */
static int in_snapshot(const struct plugins *p, const char *name)
{
    for (size_t i = 0; i < p->nsnap; i++)
        if (strcasecmp(p->snap[i], name) == 0)
            return 1;
    return 0;
}

/* Whether WHO may treat NAME as its own: registered to it, or (during its
 * migration) created by the step now running under its name. */
static int owns(const struct plugins *p, const char *who, const char *name, int mig)
{
    const char *owner;

    if (!name)
        return 0;
    owner = owner_of(p, name);
    if (owner)
        return strcmp(owner, who) == 0;
    return mig && !in_snapshot(p, name) && namespaced(who, name) && !reserved(name);
}

static int internal(const char *name)
{
    return name && strncasecmp(name, "sqlite_", 7) == 0;
}

static int authorize(void *ud, int action, const char *a, const char *b, const char *db,
                     const char *trigger)
{
    struct plugins *p = ud;
    const char *who = p->db_plugin ? p->db_plugin->name : NULL;
    int mig = p->db_migrating, ok;

    (void)db;
    /* A statement a trigger runs has its owner's rights: a plugin's
     * trigger fired by a core statement is still the plugin's. */
    if (trigger) {
        const char *owner = owner_of(p, trigger);

        if (owner) {
            who = owner;
            mig = 0;
        }
    }
    if (!who)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        ok = callable(b);
        break;
    case SQLITE_READ:
        ok = readable(a);
        break;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        /* Schema changes write sqlite_master. */
        ok = owns(p, who, a, mig) || (mig && internal(a));
        break;
    case SQLITE_CREATE_TABLE:
        ok = mig && (owns(p, who, a, mig) || internal(a));
        break;
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_REINDEX:      /* of an index (A) its step made, when it makes it */
        ok = mig && owns(p, who, a, mig);
        break;
    case SQLITE_CREATE_INDEX:
    case SQLITE_DROP_INDEX:
        /* A is the index (SQLite's own for a UNIQUE or composite primary
         * key: sqlite_autoindex_…), B its table. */
        ok = mig && (owns(p, who, a, mig) || internal(a)) && owns(p, who, b, mig);
        break;
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TRIGGER:
        /* A is the trigger, B its table. */
        ok = mig && owns(p, who, a, mig) && owns(p, who, b, mig);
        break;
    case SQLITE_ALTER_TABLE:
        /* B is the table (A the schema). */
        ok = mig && owns(p, who, b, mig);
        break;
    default:
        /* PRAGMA, ATTACH, transactions, savepoints, temporary objects,
         * virtual tables, ANALYZE… */
        ok = 0;
    }
    return ok ? SQLITE_OK : SQLITE_DENY;
}

int pdb_install(struct plugins *p)
{
    struct store *st = p->app->store;

    if (!st)
        return 0;
    if (load_registry(p, st) != 0 ||
        sqlite3_set_authorizer(store_db(st), authorize, p) != SQLITE_OK)
        return -1;
    p->db_hooked = 1;
    return 0;
}

void pdb_uninstall(struct plugins *p)
{
    if (p->db_hooked && p->app->store)
        sqlite3_set_authorizer(store_db(p->app->store), NULL, NULL);
    p->db_hooked = 0;
    forget_registry(p);
}

/* --- migration steps ----------------------------------------------------------------- */

struct object {
    char *name, *type, *table;
};

static void objects_free(struct object *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(o[i].name);
        free(o[i].type);
        free(o[i].table);
    }
    free(o);
}

/* Every table, index, view and trigger of the main schema (core's name). */
static int schema_objects(struct store *st, struct object **out, size_t *count)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT name, type, tbl_name FROM sqlite_master"
                                     " WHERE type IN ('table', 'index', 'view', 'trigger')");
    struct object *o = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    if (!s)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            struct object *grown = realloc(o, (cap = cap ? cap * 2 : 64) * sizeof *grown);

            if (!grown)
                goto fail;
            o = grown;
        }
        o[n].name = store_col_strdup(s, 0);
        o[n].type = store_col_strdup(s, 1);
        o[n].table = store_col_strdup(s, 2);
        n++;
        if (!o[n - 1].name || !o[n - 1].type || !o[n - 1].table)
            goto fail;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    store_done(s);
    *out = o;
    *count = n;
    return 0;
fail:
    store_done(s);
    objects_free(o, n);
    return -1;
}

static int has_object(const struct object *o, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(o[i].name, name) == 0)
            return 1;
    return 0;
}

static int record(struct store *st, const char *name, const char *plugin, const char *type)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO plugin_objects (name, plugin, type,"
                                     " created_at) VALUES (?1, ?2, ?3, ?4)");
    int rc = -1;

    if (s && store_bind_text(s, 1, name) == 0 && store_bind_text(s, 2, plugin) == 0 &&
        store_bind_text(s, 3, type) == 0 &&
        sqlite3_bind_int64(s, 4, (int64_t)time(NULL)) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    store_done(s);
    return rc;
}

static int unrecord(struct store *st, const char *name)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM plugin_objects WHERE name = ?1");
    int rc = -1;

    if (s && store_bind_text(s, 1, name) == 0 && sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    store_done(s);
    return rc;
}

/* Compiles PL's SQL in its name; 0, or -1 with *ERR when the authorizer
 * refused it (any other failure is not a refusal: a form the table does
 * not take is no trigger's). */
static int judged(struct plugin *pl, const char *trigger, const char *sql, char **err)
{
    struct plugins *p = pl->host;
    sqlite3 *db = store_db(p->app->store);
    sqlite3_stmt *s = NULL;
    int prc;

    p->db_plugin = pl;
    prc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    p->db_plugin = NULL;
    if (prc == SQLITE_AUTH)
        *err = log_errf("trigger %s does what the plugin may not (%s)", trigger,
                        sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return prc == SQLITE_AUTH ? -1 : 0;
}

/* Compiles, in PL's name, the statements that fire TRIGGER on TABLE (a
 * delete, an insert, an update of every column): SQLite judges a trigger's
 * body only where it fires, and then as PL's. 0, or -1 with *ERR. */
static int try_trigger(struct plugin *pl, const char *trigger, const char *table, char **err)
{
    struct store *st = pl->host->app->store;
    sqlite3_stmt *cols = store_stmt(st, "SELECT name FROM pragma_table_info(?1)");
    sqlite3_str *upd = sqlite3_str_new(store_db(st));
    char *sql = NULL;
    int rc = -1, n = 0;

    if (!cols || store_bind_text(cols, 1, table) != 0)
        goto out;
    sqlite3_str_appendf(upd, "UPDATE \"%w\" SET ", table);
    while (sqlite3_step(cols) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(cols, 0);

        sqlite3_str_appendf(upd, "%s\"%w\" = \"%w\"", n++ ? ", " : "", c ? c : "", c ? c : "");
    }
    sqlite3_str_appendall(upd, " WHERE 0");
    sql = sqlite3_str_finish(upd);
    upd = NULL;
    if (!sql)
        goto out;
    {
        char *del = sqlite3_mprintf("DELETE FROM \"%w\" WHERE 0", table);
        char *ins = sqlite3_mprintf("INSERT INTO \"%w\" DEFAULT VALUES", table);

        rc = del && ins && judged(pl, trigger, del, err) == 0 &&
             judged(pl, trigger, ins, err) == 0 && (n == 0 || judged(pl, trigger, sql, err) == 0)
             ? 0 : -1;
        if ((!del || !ins) && !*err)
            *err = log_errf("out of memory");
        sqlite3_free(del);
        sqlite3_free(ins);
    }
out:
    store_done(cols);
    if (upd)
        sqlite3_free(sqlite3_str_finish(upd));
    sqlite3_free(sql);
    if (rc != 0 && !*err)
        *err = log_errf("cannot check trigger %s", trigger);
    return rc;
}

int pauthz_step(struct store *st, const struct store_migration *step, void *arg, char **err)
{
    struct plugin *pl = arg;
    struct plugins *p = pl->host;
    struct object *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    char *msg = NULL;
    int rc = -1, xrc;

    *err = NULL;
    if (schema_objects(st, &before, &nb) != 0)
        goto out;
    p->snap = calloc(nb ? nb : 1, sizeof *p->snap);
    if (!p->snap)
        goto out;
    for (size_t i = 0; i < nb; i++)
        p->snap[i] = before[i].name;
    p->nsnap = nb;
    p->db_plugin = pl;
    p->db_migrating = 1;
    xrc = sqlite3_exec(store_db(st), step->sql, NULL, NULL, &msg);
    p->db_plugin = NULL;
    p->db_migrating = 0;
    free(p->snap);
    p->snap = NULL;
    p->nsnap = 0;
    if (xrc != SQLITE_OK) {
        *err = log_errf("%s", msg ? msg : sqlite3_errmsg(store_db(st)));
        goto out;
    }
    if (schema_objects(st, &after, &na) != 0)
        goto sql_fail;
    /* What the step dropped was its plugin's (the authorizer saw to it). */
    for (size_t i = 0; i < nb; i++)
        if (!has_object(after, na, before[i].name) && owner_of(p, before[i].name) &&
            unrecord(st, before[i].name) != 0)
            goto sql_fail;
    for (size_t i = 0; i < na; i++) {
        if (has_object(before, nb, after[i].name) || internal(after[i].name))
            continue;
        /* ALTER TABLE … RENAME TO can name an object past the authorizer. */
        if (!namespaced(pl->name, after[i].name) || reserved(after[i].name)) {
            *err = log_errf("%s is not a name of the plugin's own (%s_…)", after[i].name,
                            pl->name);
            goto out;
        }
        if (record(st, after[i].name, pl->name, after[i].type) != 0)
            goto sql_fail;
    }
    if (load_registry(p, st) != 0)
        goto sql_fail;
    for (size_t i = 0; i < na; i++)
        if (strcmp(after[i].type, "trigger") == 0 && !has_object(before, nb, after[i].name) &&
            try_trigger(pl, after[i].name, after[i].table, err) != 0)
            goto out;
    rc = 0;
    goto out;
sql_fail:
    if (!*err)
        *err = log_errf("recording the plugin's objects: %s", sqlite3_errmsg(store_db(st)));
out:
    if (rc != 0)
        load_registry(p, st);   /* the step rolls back: forget what it recorded */
    sqlite3_free(msg);
    objects_free(before, nb);
    objects_free(after, na);
    return rc;
}

int pauthz_adopt(struct plugin *pl, char **err)
{
    struct store *st = pl->host->app->store;
    struct object *o = NULL;
    size_t n = 0;
    int64_t applied = 0, owned = 0;
    int rc = -1;

    *err = NULL;
    if (store_begin(st) != 0)
        goto fail;
    {
        sqlite3_stmt *s = store_stmt(st, "SELECT (SELECT count(*) FROM schema_migrations"
                                         " WHERE component = ?1),"
                                         " (SELECT count(*) FROM plugin_objects"
                                         " WHERE plugin = ?1)");
        if (!s || store_bind_text(s, 1, pl->name) != 0 || sqlite3_step(s) != SQLITE_ROW) {
            store_done(s);
            goto fail_tx;
        }
        applied = sqlite3_column_int64(s, 0);
        owned = sqlite3_column_int64(s, 1);
        store_done(s);
    }
    if (applied > 0 && owned == 0) {
        if (schema_objects(st, &o, &n) != 0)
            goto fail_tx;
        for (size_t i = 0; i < n; i++) {
            if (!namespaced(pl->name, o[i].name) || reserved(o[i].name) ||
                owner_of(pl->host, o[i].name))
                continue;
            if (record(st, o[i].name, pl->name, o[i].type) != 0)
                goto fail_tx;
            log_info(pl->module, "adopted %s %s (made before ownership was recorded)",
                     o[i].type, o[i].name);
        }
    }
    if (store_commit(st) != 0)
        goto fail;
    rc = load_registry(pl->host, st);
    goto out;
fail_tx:
    store_rollback(st);
fail:
    *err = log_errf("recording the plugin's objects: %s", sqlite3_errmsg(store_db(st)));
out:
    objects_free(o, n);
    return rc;
}
