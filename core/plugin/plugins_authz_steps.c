/* plugins_authz_steps — a plugin's migration steps, run in its name, and
 * the registry of what they create (plugins_authz.c has the rules;
 * plugins/API.md, "Database").
 *
 * Each step runs through store_migrate_with, in its own transaction: the
 * schema's names before and after it tell what it created (recorded as
 * the plugin's in plugin_objects) and dropped (forgotten). A name that got
 * past the authorizer (ALTER TABLE … RENAME TO) that is not KEY_… refuses
 * the step. A new trigger is compiled in its plugin's name before the step
 * commits: one that would write or read what the plugin may not is refused
 * then, not when it first fires. So is a new view that reads what the
 * plugin may not, and a read model it offers the others (KEY_v1_…) that
 * reads anything but its own tables.
 *
 * Migrations of a database made before ownership was registered: the first
 * time a plugin with applied migrations and no registered object loads,
 * the objects named KEY_… that are not core ones, and that no plugin with
 * a longer key (one that migrated, or is configured) may claim, become its
 * own (the last use of the prefix, to carry existing installations over).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "plugins_internal.h"
#include "app.h"
#include "config.h"
#include "log.h"
#include "store.h"

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
 * not take is no trigger's). WHAT and NAME say whose SQL it is. */
static int judged(struct plugin *pl, const char *what, const char *name, const char *sql,
                  char **err)
{
    struct plugins *p = pl->host;
    sqlite3 *db = store_db(p->app->store);
    sqlite3_stmt *s = NULL;
    int prc;

    p->db_plugin = pl;
    prc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    p->db_plugin = NULL;
    if (prc == SQLITE_AUTH)
        *err = log_errf("%s %s does what the plugin may not (%s)", what, name,
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

        rc = del && ins && judged(pl, "trigger", trigger, del, err) == 0 &&
             judged(pl, "trigger", trigger, ins, err) == 0 &&
             (n == 0 || judged(pl, "trigger", trigger, sql, err) == 0)
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

/* Compiles a read of every column of PL's new VIEW in its name, and checks
 * that a read model it offers reads its own tables only. 0, or -1 with
 * *ERR. */
static int try_view(struct plugin *pl, const char *view, char **err)
{
    char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", view);
    const char *other;
    int rc;

    if (!sql) {
        *err = log_errf("out of memory");
        return -1;
    }
    rc = judged(pl, "view", view, sql, err);
    sqlite3_free(sql);
    if (rc != 0)
        return -1;
    if (pauthz_offered(pl->host, view) && (other = pauthz_offered_reads_other(pl->host, view))) {
        *err = log_errf("view %s is a read model offered to the other plugins (%s_v1_…) and "
                        "reads %s: it may show only the plugin's own tables", view, pl->key,
                        other);
        return -1;
    }
    return 0;
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
        if (!has_object(after, na, before[i].name) && pauthz_owner(p, before[i].name) &&
            unrecord(st, before[i].name) != 0)
            goto sql_fail;
    for (size_t i = 0; i < na; i++) {
        if (has_object(before, nb, after[i].name) || pauthz_internal(after[i].name))
            continue;
        /* ALTER TABLE … RENAME TO can name an object past the authorizer. */
        if (!pauthz_namespaced(pl->key, after[i].name) || pauthz_reserved(after[i].name) ||
            pauthz_longer_key_claims(p, pl->key, after[i].name)) {
            *err = log_errf("%s is not a name of the plugin's own (%s_…)", after[i].name,
                            pl->key);
            goto out;
        }
        if (record(st, after[i].name, pl->name, after[i].type) != 0)
            goto sql_fail;
    }
    if (pauthz_load_registry(p, st) != 0)
        goto sql_fail;
    for (size_t i = 0; i < na; i++)
        if (strcmp(after[i].type, "trigger") == 0 && !has_object(before, nb, after[i].name) &&
            try_trigger(pl, after[i].name, after[i].table, err) != 0)
            goto out;
    for (size_t i = 0; i < na; i++)
        if (strcmp(after[i].type, "view") == 0 && !has_object(before, nb, after[i].name) &&
            try_view(pl, after[i].name, err) != 0)
            goto out;
    rc = 0;
    goto out;
sql_fail:
    if (!*err)
        *err = log_errf("recording the plugin's objects: %s", sqlite3_errmsg(store_db(st)));
out:
    if (rc != 0)
        pauthz_load_registry(p, st);   /* the step rolls back: forget what it recorded */
    sqlite3_free(msg);
    objects_free(before, nb);
    objects_free(after, na);
    return rc;
}

/* 1 in *CLAIMED when a component of schema_migrations other than the core,
 * a plugin that migrated, has a key longer than KEY that prefixes NAME (its
 * legacy objects are its own even while it is not loaded). 0 or -1. */
static int migrated_claims(struct store *st, const char *key, const char *name, int *claimed)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT DISTINCT component FROM schema_migrations"
                                     " WHERE component <> 'core'");
    char other[CONFIG_PLUGIN_NAME_MAX + 1];
    int rc;

    *claimed = 0;
    if (!s)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 0);

        if (!c || strlen(c) >= sizeof other)
            continue;
        config_plugin_key(c, other, sizeof other);
        if (strlen(other) > strlen(key) && pauthz_namespaced(other, name))
            *claimed = 1;
    }
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int pauthz_adopt(struct plugin *pl, char **err)
{
    struct store *st = pl->host->app->store;
    struct object *o = NULL;
    size_t n = 0;
    int64_t applied = 0, owned = 0;
    int rc = -1, claimed;

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
            if (!pauthz_namespaced(pl->key, o[i].name) || pauthz_reserved(o[i].name) ||
                pauthz_owner(pl->host, o[i].name) ||
                pauthz_longer_key_claims(pl->host, pl->key, o[i].name))
                continue;
            if (migrated_claims(st, pl->key, o[i].name, &claimed) != 0)
                goto fail_tx;
            if (claimed)
                continue;
            if (record(st, o[i].name, pl->name, o[i].type) != 0)
                goto fail_tx;
            log_info(pl->module, "adopted %s %s (made before ownership was recorded)",
                     o[i].type, o[i].name);
        }
    }
    if (store_commit(st) != 0)
        goto fail;
    rc = pauthz_load_registry(pl->host, st);
    goto out;
fail_tx:
    store_rollback(st);
fail:
    *err = log_errf("recording the plugin's objects: %s", sqlite3_errmsg(store_db(st)));
out:
    objects_free(o, n);
    return rc;
}
