/* plugins_authz — what a plugin's SQL may touch (plugins/API.md,
 * "Database"): the SQLite authorizer and the registry of the schema objects
 * each plugin owns (the migration steps that fill it are
 * plugins_authz_steps.c's).
 *
 * Ownership is registered, never inferred from a name: every table, index,
 * view and trigger a plugin's migration step creates is recorded in the
 * core table plugin_objects in the step's own transaction (pauthz_step),
 * and the registry (kept in memory: the authorizer may not query) decides.
 * A plugin
 * - writes only the tables it owns;
 * - reads its own objects, and the core's data only through the read
 *   models, the relais_v1_* views, column by column (plugins_views.c),
 *   never the secrets (readable(): the one place that says what a plugin
 *   may read); SQLite's check of a foreign key of its own table reads the
 *   parent's key, allowed when a read model shows that column;
 * - calls only the SQL functions of an allowed list (no load_extension,
 *   fts3_tokenizer, sqlite_*);
 * - changes the schema only from its migrations: creating objects named
 *   KEY_… (KEY: its name with '-' read as '_', sms_twilio_… for
 *   sms-twilio) that no one has, that no other plugin's longer key
 *   prefixes (sms does not make sms_twilio_…: longer_key_claims()), and
 *   no core name or prefix (pauthz_reserved()),
 *   changing or dropping only its own, a trigger or an index only on its
 *   own tables; no pragma, attach, temporary object or transaction.
 * Statements run by a trigger are judged as the trigger's owner's: a
 * plugin trigger fired by a core statement (an ON DELETE CASCADE into a
 * plugin table) has its plugin's rights, not the core's. And a new trigger
 * is compiled once in its plugin's name before its step commits, so one
 * that would write or read what the plugin may not is refused at once; so
 * is a new view.
 *
 * A plugin's views are its own, except those it offers to the others, its
 * read models, named KEY_v<digits>_… (surveys_v1_responses): another
 * plugin reads such a view's columns, and what the view itself reads of
 * its owner's tables, never the tables beside it. SQLite names a view as
 * the source of the reads it makes, but it names a common table expression
 * the same way (WITH surveys_v1_responses AS (SELECT … FROM
 * surveys_answers) …): so a read is the owner's only when the view itself
 * makes it, a (table, column) learnt by compiling each plugin view once
 * when the registry is loaded, as plugins_views.c learns the core's. An
 * offered view reads only its owner's tables (refused at creation
 * otherwise, plugins_authz_steps.c). A count through it (a read with no
 * column) is allowed on the tables it reads.
 *
 * Threads: the readers (plugins_dbread.c) judge their statements with
 * pauthz_judge too. The registry changes only in the plugins' migration
 * steps, inside load_all, when no reader runs (plugins.c starts them
 * after it), so they read it without a lock.
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

struct pobject {
    char *name, *plugin;
    int view;                 /* a view */
    int offered;              /* a view named KEY_v<digits>_…: read by all */
};

/* A read a plugin view makes itself: COLUMN of TABLE ("" for none). */
struct pvread {
    char *view, *table, *column;
};

/* A foreign key of a plugin's table: the first column of the parent key it
 * references, which SQLite reads in the plugin's name to check it. */
struct pfk {
    char *plugin, *table, *column;
};

/* --- names ---------------------------------------------------------------------- */

/* Core tables a plugin key must not reach as KEY_… (keep in step with
 * core/store/schema.c: tests/unit/test_authz.c compares them), and prefixes no
 * plugin object may take ("relais": the read models relais_v1_…, and no
 * plugin name starts with it). */
static const char *const core_names[] = {
    "api_tokens", "links", "staff", "venues", "beneficiaries", "series", "sessions",
    "enrollments", "session_changes", "enrollment_events", "notifications",
    "notification_fanouts", "schema_migrations", "plugin_objects",
    "organisations", "accompaniments", "accompaniment_themes", "accompaniment_equipment",
    "session_headcounts", "meetings", "meeting_organisations", "equipment", "loans",
    "session_equipment", "staff_sessions", "staff_invites", "search_grams_pos",
    "beneficiary_grams", "beneficiary_gram_counts", "notification_counts", "record_counts",
    NULL,
};
static const char *const reserved_prefixes[] = {
    "sqlite_", "api_", "schema_", "plugin_", "core_", "relais", NULL,
};

static int starts_with(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int pauthz_reserved(const char *name)
{
    for (size_t i = 0; core_names[i]; i++)
        if (strcasecmp(name, core_names[i]) == 0)
            return 1;
    for (size_t i = 0; reserved_prefixes[i]; i++)
        if (starts_with(name, reserved_prefixes[i]))
            return 1;
    return 0;
}

/* KEY_something, in any case (SQLite names are case-insensitive). */
int pauthz_namespaced(const char *key, const char *name)
{
    size_t n = strlen(key);

    return name && strncasecmp(name, key, n) == 0 && name[n] == '_' && name[n + 1];
}

/* 1 when a plugin key longer than KEY also prefixes NAME: the name is that
 * plugin's to make (sms_twilio_inbound is sms-twilio's, not sms's). The
 * plugins loaded, listed in the configuration, or named by a channel's
 * provider: a gateway loads after the plugins listed. */
int pauthz_longer_key_claims(const struct plugins *p, const char *key, const char *name)
{
    static const char *const channels[] = {"sms", "email"};
    const struct config *cfg = p->app ? p->app->cfg : NULL;
    char other[2 * CONFIG_PLUGIN_NAME_MAX + 2];
    size_t n = strlen(key);

    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->list[i]->key) > n && pauthz_namespaced(p->list[i]->key, name))
            return 1;
    for (size_t i = 0; cfg && i < cfg->n_plugins; i++) {
        config_plugin_key(cfg->plugins[i], other, sizeof other);
        if (strlen(other) > n && pauthz_namespaced(other, name))
            return 1;
    }
    for (size_t i = 0; cfg && i < 2; i++) {
        config_gateway_plugin(cfg, channels[i], other, sizeof other);
        config_plugin_key(other, other, sizeof other);
        if (strlen(other) > n && pauthz_namespaced(other, name))
            return 1;
    }
    return 0;
}

int pauthz_name_reserved(const char *key)
{
    char prefix[80];

    if (snprintf(prefix, sizeof prefix, "%s_", key) >= (int)sizeof prefix)
        return 1;
    if (pauthz_reserved(prefix))
        return 1;
    for (size_t i = 0; core_names[i]; i++)
        if (strcasecmp(core_names[i], key) == 0 || starts_with(core_names[i], prefix))
            return 1;
    return 0;
}

/* SQL functions a plugin may call: SQLite's core, date, JSON (the -> and
 * ->> operators are functions too), window and aggregate functions. Not
 * load_extension, fts3_tokenizer (it leaks an
 * address), sqlite_compileoption_*, sqlite_offset, nor anything added by
 * an extension. */
static int callable(const char *fn)
{
    static const char *const allowed[] = {
        "->", "->>", "abs", "avg", "char", "coalesce", "concat", "concat_ws", "count", "cume_dist",
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

static const struct pobject *object(const struct plugins *p, const char *name)
{
    for (size_t i = 0; name && i < p->nobjs; i++)
        if (strcasecmp(p->objs[i].name, name) == 0)
            return &p->objs[i];
    return NULL;
}

const char *pauthz_owner(const struct plugins *p, const char *name)
{
    const struct pobject *o = object(p, name);

    return o ? o->plugin : NULL;
}

int pauthz_offered(const struct plugins *p, const char *name)
{
    const struct pobject *o = object(p, name);

    return o && o->offered;
}

/* NAME is KEY_v<digits>_something: a read model KEY offers. */
static int offered_name(const char *key, const char *name)
{
    size_t n = strlen(key);
    const char *v;

    if (!pauthz_namespaced(key, name) || (name[n + 1] != 'v' && name[n + 1] != 'V'))
        return 0;
    for (v = name + n + 2; *v >= '0' && *v <= '9'; v++)
        ;
    return v > name + n + 2 && *v == '_' && v[1];
}

/* Whether VIEW reads COLUMN of TABLE itself (not a CTE named like it). */
static int view_reads(const struct plugins *p, const char *view, const char *table,
                      const char *column)
{
    for (size_t i = 0; view && table && column && i < p->nvreads; i++)
        if (strcasecmp(p->vreads[i].view, view) == 0 &&
            strcasecmp(p->vreads[i].table, table) == 0 &&
            strcasecmp(p->vreads[i].column, column) == 0)
            return 1;
    return 0;
}

/* Whether an offered view reads TABLE. */
static int offered_reads(const struct plugins *p, const char *table)
{
    for (size_t i = 0; table && i < p->nvreads; i++)
        if (strcasecmp(p->vreads[i].table, table) == 0 && pauthz_offered(p, p->vreads[i].view))
            return 1;
    return 0;
}

const char *pauthz_offered_reads_other(const struct plugins *p, const char *view)
{
    const struct pobject *v = object(p, view);

    for (size_t i = 0; v && i < p->nvreads; i++) {
        const struct pobject *t;

        if (strcasecmp(p->vreads[i].view, view) != 0)
            continue;
        t = object(p, p->vreads[i].table);
        if (!t || t->view || strcmp(t->plugin, v->plugin) != 0)
            return p->vreads[i].table;
    }
    return NULL;
}

static void fks_free(struct pfk *fks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(fks[i].plugin);
        free(fks[i].table);
        free(fks[i].column);
    }
    free(fks);
}

static void vreads_free(struct pvread *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].view);
        free(r[i].table);
        free(r[i].column);
    }
    free(r);
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
    vreads_free(p->vreads, p->nvreads);
    p->vreads = NULL;
    p->nvreads = 0;
    fks_free(p->fks, p->nfks);
    p->fks = NULL;
    p->nfks = 0;
}

/* The foreign keys of the plugins' registered tables (in the core's name):
 * each one's parent table and the first column of the key it references
 * (the parent's INTEGER PRIMARY KEY when the key names none). 0 or -1. */
static int load_fks(struct store *st, struct pfk **out, size_t *count)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT o.plugin, f.\"table\", coalesce(f.\"to\","
                                     " (SELECT c.name FROM pragma_table_info(f.\"table\") c"
                                     " WHERE c.pk = 1)) FROM plugin_objects o,"
                                     " pragma_foreign_key_list(o.name) f"
                                     " WHERE o.type = 'table' AND f.seq = 0");
    struct pfk *fks = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    if (!s)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_type(s, 2) == SQLITE_NULL)
            continue;       /* a parent with no such key: SQLite refuses the write */
        if (n == cap) {
            struct pfk *grown = realloc(fks, (cap = cap ? cap * 2 : 8) * sizeof *grown);

            if (!grown)
                goto fail;
            fks = grown;
        }
        fks[n].plugin = store_col_strdup(s, 0);
        fks[n].table = store_col_strdup(s, 1);
        fks[n].column = store_col_strdup(s, 2);
        n++;
        if (!fks[n - 1].plugin || !fks[n - 1].table || !fks[n - 1].column)
            goto fail;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    store_done(s);
    *out = fks;
    *count = n;
    return 0;
fail:
    store_done(s);
    fks_free(fks, n);
    return -1;
}

/* Collects the reads the view being compiled makes itself. */
struct learning {
    const char *view;
    struct pvread *r;
    size_t n, cap;
    int failed;
};

static int collect(void *ud, int action, const char *a, const char *b, const char *db,
                   const char *source)
{
    struct learning *l = ud;
    struct pvread *r;

    (void)db;
    if (action != SQLITE_READ || !a || !b || !source || strcasecmp(source, l->view) != 0 ||
        l->failed)
        return SQLITE_OK;
    if (l->n == l->cap) {
        struct pvread *grown = realloc(l->r, (l->cap = l->cap ? l->cap * 2 : 32) * sizeof *grown);

        if (!grown) {
            l->failed = 1;
            return SQLITE_OK;
        }
        l->r = grown;
    }
    r = &l->r[l->n];
    r->view = strdup(source);
    r->table = strdup(a);
    r->column = strdup(b);
    if (!r->view || !r->table || !r->column) {
        free(r->view);
        free(r->table);
        free(r->column);
        l->failed = 1;
        return SQLITE_OK;
    }
    l->n++;
    return SQLITE_OK;
}

static int authorize(void *ud, int action, const char *a, const char *b, const char *db,
                     const char *trigger);

/* What each plugin view of OBJS reads itself: compiled once, as the core,
 * under a collecting authorizer (a view that no longer compiles reads
 * nothing: no plugin can read it either). The plugins' authorizer is put
 * back when it was on. 0 or -1. */
static int learn_views(struct plugins *p, struct store *st, const struct pobject *objs,
                       size_t n, struct pvread **out, size_t *count)
{
    sqlite3 *db = store_db(st);
    struct learning l = {0};
    int rc = 0;

    for (size_t i = 0; i < n && !l.failed; i++) {
        sqlite3_stmt *probe = NULL;
        char *sql;

        if (!objs[i].view)
            continue;
        sql = sqlite3_mprintf("SELECT * FROM \"%w\"", objs[i].name);
        if (!sql) {
            l.failed = 1;
            break;
        }
        l.view = objs[i].name;
        if (sqlite3_set_authorizer(db, collect, &l) != SQLITE_OK)
            l.failed = 1;
        else
            sqlite3_prepare_v2(db, sql, -1, &probe, NULL);
        sqlite3_finalize(probe);
        sqlite3_free(sql);
    }
    if (sqlite3_set_authorizer(db, p->db_hooked ? authorize : NULL, p->db_hooked ? p : NULL)
        != SQLITE_OK || l.failed)
        rc = -1;
    if (rc != 0) {
        vreads_free(l.r, l.n);
        l.r = NULL;
        l.n = 0;
    }
    *out = l.r;
    *count = l.n;
    return rc;
}

int pauthz_load_registry(struct plugins *p, struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT name, plugin, type FROM plugin_objects"
                                     " ORDER BY name");
    struct pobject *objs = NULL;
    struct pfk *fks = NULL;
    struct pvread *vreads = NULL;
    size_t n = 0, cap = 0, nfks = 0, nvreads = 0;
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
        objs[n].view = sqlite3_column_text(s, 2) &&
                       strcmp((const char *)sqlite3_column_text(s, 2), "view") == 0;
        if (objs[n].view) {
            char key[CONFIG_PLUGIN_NAME_MAX + 1];

            config_plugin_key(objs[n].plugin, key, sizeof key);
            objs[n].offered = offered_name(key, objs[n].name);
        } else {
            objs[n].offered = 0;
        }
        n++;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    if (load_fks(st, &fks, &nfks) != 0 || learn_views(p, st, objs, n, &vreads, &nvreads) != 0)
        goto fail;
    forget_registry(p);
    p->objs = objs;
    p->nobjs = n;
    p->fks = fks;
    p->nfks = nfks;
    p->vreads = vreads;
    p->nvreads = nvreads;
    return 0;
fail:
    store_done(s);
    fks_free(fks, nfks);
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

/* Whether WHO (whose key is KEY) may treat NAME as its own: registered to
 * it, or (during its migration) created by the step now running under its
 * name, under its key and no longer one. */
static int owns(const struct plugins *p, const char *who, const char *key, const char *name,
                int mig)
{
    const char *owner;

    if (!name)
        return 0;
    owner = pauthz_owner(p, name);
    if (owner)
        return strcmp(owner, who) == 0;
    return mig && key && !in_snapshot(p, name) && pauthz_namespaced(key, name) &&
           !pauthz_reserved(name) && !pauthz_longer_key_claims(p, key, name);
}

int pauthz_internal(const char *name)
{
    return name && strncasecmp(name, "sqlite_", 7) == 0;
}

/* 1 when COLUMN of TABLE is the parent key a foreign key of one of WHO's
 * tables references: SQLite reads it, in the plugin's name, to check a
 * row the plugin writes. */
static int fk_parent(const struct plugins *p, const char *who, const char *table,
                     const char *column)
{
    for (size_t i = 0; who && column && i < p->nfks; i++)
        if (strcmp(p->fks[i].plugin, who) == 0 && strcasecmp(p->fks[i].table, table) == 0 &&
            strcasecmp(p->fks[i].column, column) == 0)
            return 1;
    return 0;
}

/* What a plugin may read, the one place that says it: never the tables
 * holding secrets (token and link hashes); SQLite's own; its own objects;
 * and the core's data only through the read models, column by column
 * (pview_read_ok: COLUMN of TABLE read with SOURCE, the innermost view or
 * trigger, as the cause, through a relais_v1_* view that shows it), or as
 * the parent key of a foreign key of its own, when a read model shows that
 * column (the check of `REFERENCES enrollments(id)` reads enrollments.id,
 * which relais_v1_enrollments shows anyway); the read models other plugins
 * offer (pauthz_judge judges what they read as their owner's); JSON's
 * table-valued functions. plugin_objects, the registry, is the core's: no
 * plugin reads it. */
static int readable(const struct plugins *p, const char *who, const char *key,
                    const char *table, const char *column, const char *source, int mig)
{
    static const char *const secret[] = {"api_tokens", "links", NULL};

    if (!table)
        return 0;
    for (size_t i = 0; secret[i]; i++)
        if (strcasecmp(table, secret[i]) == 0)
            return 0;
    return pauthz_internal(table) || owns(p, who, key, table, mig) ||
           pview_read_ok(p, table, column, source) ||
           (fk_parent(p, who, table, column) && pview_shows(p, table, column)) ||
           /* Another plugin's read model, and a count through it. */
           pauthz_offered(p, table) || (column && !*column && offered_reads(p, table)) ||
           /* JSON's table-valued functions read only their argument (a
            * list passed as one parameter: WHERE id IN (SELECT value FROM
            * json_each(?))); no schema object may take their names. */
           strcasecmp(table, "json_each") == 0 || strcasecmp(table, "json_tree") == 0;
}

int pauthz_judge(const struct plugins *p, const char *who, const char *key, int mig,
                 int action, const char *a, const char *b, const char *source)
{
    int ok;

    /* SOURCE is the innermost trigger or view (or common table expression
     * named like one). A statement a plugin's trigger runs has its owner's
     * rights: a plugin's trigger fired by a core statement is still the
     * plugin's (and no plugin's statement fires another's: it cannot write
     * its tables). What a plugin view reads itself is read with its
     * owner's rights, for its owner and, for a view it offers, for anyone;
     * anything else named like one is judged as the plugin's own SQL. */
    if (source) {
        const struct pobject *o = object(p, source);

        if (o && (!who || strcmp(o->plugin, who) == 0 ||
                  (o->offered && action == SQLITE_READ && view_reads(p, source, a, b)))) {
            who = o->plugin;
            key = NULL;
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
        ok = readable(p, who, key, a, b, source, mig);
        break;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        /* Schema changes write sqlite_master. */
        ok = owns(p, who, key, a, mig) || (mig && pauthz_internal(a));
        /* SQLite asks for an UPDATE of sqlite_master when it declares an
         * eponymous virtual table (json_each) on a connection's first use;
         * a statement's own write there is refused by SQLite itself ("table
         * sqlite_master may not be modified"), writable_schema being a
         * PRAGMA (refused below). */
        ok = ok || (action == SQLITE_UPDATE && !source && a &&
                    strcasecmp(a, "sqlite_master") == 0);
        break;
    case SQLITE_CREATE_TABLE:
        ok = mig && (owns(p, who, key, a, mig) || pauthz_internal(a));
        break;
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_REINDEX:      /* of an index (A) its step made, when it makes it */
        ok = mig && owns(p, who, key, a, mig);
        break;
    case SQLITE_CREATE_INDEX:
    case SQLITE_DROP_INDEX:
        /* A is the index (SQLite's own for a UNIQUE or composite primary
         * key: sqlite_autoindex_…), B its table. */
        ok = mig && (owns(p, who, key, a, mig) || pauthz_internal(a)) &&
             owns(p, who, key, b, mig);
        break;
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TRIGGER:
        /* A is the trigger, B its table. */
        ok = mig && owns(p, who, key, a, mig) && owns(p, who, key, b, mig);
        break;
    case SQLITE_ALTER_TABLE:
        /* B is the table (A the schema). */
        ok = mig && owns(p, who, key, b, mig);
        break;
    default:
        /* PRAGMA, ATTACH, transactions, savepoints, temporary objects,
         * virtual tables, ANALYZE… */
        ok = 0;
    }
    return ok ? SQLITE_OK : SQLITE_DENY;
}

static int authorize(void *ud, int action, const char *a, const char *b, const char *db,
                     const char *trigger)
{
    struct plugins *p = ud;

    (void)db;
    return pauthz_judge(p, p->db_plugin ? p->db_plugin->name : NULL,
                        p->db_plugin ? p->db_plugin->key : NULL, p->db_migrating, action, a,
                        b, trigger);
}

int pdb_install(struct plugins *p)
{
    struct store *st = p->app->store;

    if (!st)
        return 0;
    /* The read models are learnt before the authorizer is on: each view
     * is compiled under an authorizer of plugins_views.c's own. */
    if (pauthz_load_registry(p, st) != 0 || pview_learn(p) != 0 ||
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
    pview_free(p->views);
    p->views = NULL;
}

