/* plugins_views — the read models: a plugin reads core data only through
 * the relais_v1_* views (core/schema.c, step 6; plugins/README.md, "Read
 * models"). One rule of the authorizer (plugins_db.c) asks pview_read_ok.
 *
 * SQLite reports a read through a view as a read of the table's column with
 * the view as its source, so the rule allows a read of a core table's
 * column only when it comes from a view of the core that reads that very
 * column. The (table, column, view) triples are learnt from SQLite itself
 * when the host starts: each view is compiled once under an authorizer that
 * records them, so the views' definitions in the schema are the only list.
 * Checking the column, not only the source's name, matters: a common table
 * expression named like a view (WITH relais_v1_people AS (SELECT phone FROM
 * beneficiaries) …) reports its reads with that name as the source, but it
 * can only reach the columns the view itself shows.
 *
 * A read with no column (count(*), or a table only joined on its rowid) is
 * allowed on a table some view shows: SQLite reports it without a source
 * when it answers a count through a view from the table's b-tree, and it
 * shows a number of rows, no data.
 *
 * Plugins' read models: a plugin may publish views of its own tables for
 * the others, named NAME_v1_… (NAME a plugin of the configuration, a
 * version after "_v"). They are learnt the same way, after each plugin's
 * migrations (pview_learn_published), and a view that reads any table but
 * its owner's is not published. Their triples may change at a reload while
 * the readers' threads judge statements, so they sit under a mutex of
 * their own; the core's never change once learnt.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugins_internal.h"
#include "relais/app.h"
#include "relais/log.h"
#include "relais/store.h"

#define VIEW_PREFIX "relais_v1_"
#define MAX_READS   512      /* columns read by all the views together */
#define MAX_NAME    64

struct pview_read {
    char table[MAX_NAME], column[MAX_NAME], view[MAX_NAME];
};

struct pview_set {
    struct pview_read *r;
    size_t n;
    int overflow;
    /* The plugins' published views (in the core's set only). */
    pthread_mutex_t mu;
    struct pview_set *published;
};

static int is_view_name(const char *s)
{
    return s && strncasecmp(s, VIEW_PREFIX, sizeof VIEW_PREFIX - 1) == 0;
}

/* Collects the reads of the view being compiled (the source is the view). */
static int collect(void *ud, int action, const char *a, const char *b, const char *db,
                   const char *source)
{
    struct pview_set *set = ud;
    struct pview_read *r;

    (void)db;
    if (action != SQLITE_READ || !a || !b || !source || !is_view_name(source)
        || is_view_name(a))
        return SQLITE_OK;
    if (set->n == MAX_READS || strlen(a) >= MAX_NAME || strlen(b) >= MAX_NAME
        || strlen(source) >= MAX_NAME) {
        set->overflow = 1;
        return SQLITE_OK;
    }
    r = &set->r[set->n++];
    strcpy(r->table, a);
    strcpy(r->column, b);
    strcpy(r->view, source);
    return SQLITE_OK;
}

/* A view's name as the schema holds it: lower-case letters, digits, _. */
static int plain_name(const char *s)
{
    if (!s || !*s || strlen(s) >= MAX_NAME)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static void set_free(struct pview_set *set)
{
    if (!set)
        return;
    free(set->r);
    free(set);
}

int pview_learn(struct plugins *p)
{
    sqlite3 *db = store_db(p->app->store);
    struct pview_set *set = calloc(1, sizeof *set);
    sqlite3_stmt *list = NULL, *probe = NULL;
    int rc = -1, step;

    if (!set || !(set->r = calloc(MAX_READS, sizeof *set->r)))
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'view'"
                               " AND name LIKE 'relais\\_v1\\_%' ESCAPE '\\'"
                               " ORDER BY name", -1, &list, NULL) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(list)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(list, 0);
        char sql[MAX_NAME + 32];

        /* The name comes from the core's own schema; checked all the same
         * before it goes into SQL. */
        if (!plain_name(name))
            goto out;
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", name);
        if (sqlite3_set_authorizer(db, collect, set) != SQLITE_OK)
            goto out;
        step = sqlite3_prepare_v2(db, sql, -1, &probe, NULL);
        sqlite3_set_authorizer(db, NULL, NULL);
        sqlite3_finalize(probe);
        probe = NULL;
        if (step != SQLITE_OK || set->overflow)
            goto out;
    }
    if (step != SQLITE_DONE)
        goto out;
    if (pthread_mutex_init(&set->mu, NULL) != 0)
        goto out;
    p->views = set;
    set = NULL;
    rc = 0;
out:
    if (rc != 0)
        log_error("plugins", "cannot learn the read models: %s",
                  set && set->overflow ? "too many columns" : sqlite3_errmsg(db));
    sqlite3_finalize(list);
    set_free(set);
    return rc;
}

void pview_free(struct pview_set *set)
{
    if (!set)
        return;
    set_free(set->published);
    pthread_mutex_destroy(&set->mu);
    free(set->r);
    free(set);
}

/* The configured plugin whose name starts VIEW as NAME_v<digits>_…, the
 * longest when several do; NULL for none. */
static const char *owner_of(const struct plugins *p, const char *view)
{
    const char *best = NULL;

    for (size_t i = 0; i < p->n; i++) {
        const char *name = p->list[i]->name;
        size_t n = strlen(name);
        const char *v = view + n;

        if (strncmp(view, name, n) != 0 || v[0] != '_' || v[1] != 'v' || !(v[2] >= '0' && v[2] <= '9'))
            continue;
        for (v += 2; *v >= '0' && *v <= '9'; v++)
            ;
        if (*v == '_' && v[1] && (!best || strlen(best) < n))
            best = name;
    }
    return best;
}

/* Collects the reads of the plugin's view being compiled. */
static int collect_own(void *ud, int action, const char *a, const char *b, const char *db,
                       const char *source)
{
    struct pview_set *set = ud;
    struct pview_read *r;

    (void)db;
    if (action != SQLITE_READ || !a || !b || !source || is_view_name(source))
        return SQLITE_OK;
    if (set->n == MAX_READS || strlen(a) >= MAX_NAME || strlen(b) >= MAX_NAME
        || strlen(source) >= MAX_NAME) {
        set->overflow = 1;
        return SQLITE_OK;
    }
    r = &set->r[set->n++];
    strcpy(r->table, a);
    strcpy(r->column, b);
    strcpy(r->view, source);
    return SQLITE_OK;
}

/* Keeps the reads of VIEW learnt from FROM in TO when every one of them is
 * of a table of OWNER's own; says so when it is not. */
static void keep_view(struct pview_set *to, const struct pview_set *from, size_t first,
                      const char *view, const char *owner)
{
    size_t n = strlen(owner);

    for (size_t i = first; i < from->n; i++) {
        const struct pview_read *r = &from->r[i];

        if (strcasecmp(r->view, view) != 0)
            continue;
        if (strncasecmp(r->table, owner, n) != 0 || r->table[n] != '_') {
            log_warn("plugins", "view %s reads %s, which is not %s's: not published", view,
                     r->table, owner);
            return;
        }
    }
    for (size_t i = first; i < from->n; i++)
        if (strcasecmp(from->r[i].view, view) == 0 && to->n < MAX_READS)
            to->r[to->n++] = from->r[i];
}

int pview_learn_published(struct plugins *p)
{
    sqlite3 *db = store_db(p->app->store);
    struct pview_set *seen = calloc(1, sizeof *seen), *set = calloc(1, sizeof *set), *old;
    sqlite3_stmt *list = NULL, *probe = NULL;
    int rc = -1, step;

    if (!p->views || !seen || !set || !(seen->r = calloc(MAX_READS, sizeof *seen->r))
        || !(set->r = calloc(MAX_READS, sizeof *set->r)))
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'view'"
                               " AND name NOT LIKE 'relais%' ORDER BY name", -1, &list,
                               NULL) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(list)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(list, 0);
        const char *owner = plain_name(name) ? owner_of(p, name) : NULL;
        size_t first = seen->n;
        char sql[MAX_NAME + 32];

        if (!owner)
            continue;
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", name);
        if (sqlite3_set_authorizer(db, collect_own, seen) != SQLITE_OK)
            goto out;
        step = sqlite3_prepare_v2(db, sql, -1, &probe, NULL);
        sqlite3_finalize(probe);
        probe = NULL;
        if (step == SQLITE_OK && !seen->overflow)
            keep_view(set, seen, first, name, owner);
    }
    if (step != SQLITE_DONE)
        goto out;
    pdb_authorize_again(p);
    pthread_mutex_lock(&p->views->mu);
    old = p->views->published;
    p->views->published = set;
    pthread_mutex_unlock(&p->views->mu);
    set = old;
    rc = 0;
out:
    if (rc != 0) {
        log_error("plugins", "cannot learn the plugins' read models: %s", sqlite3_errmsg(db));
        pdb_authorize_again(p);
    }
    sqlite3_finalize(list);
    set_free(seen);
    set_free(set);
    return rc;
}

/* The same rule for the plugins' published views: the view's own columns,
 * a column of its owner's table through the view that reads it, a count of
 * a table it reads. */
static int published_ok(struct pview_set *core, const char *table, const char *column,
                        const char *source)
{
    int ok = 0;

    pthread_mutex_lock(&core->mu);
    for (size_t i = 0; core->published && !ok && i < core->published->n; i++) {
        const struct pview_read *r = &core->published->r[i];

        if (strcasecmp(r->view, table) == 0)
            ok = 1;
        else if (strcasecmp(r->table, table) == 0 && column)
            ok = !*column || (source && strcasecmp(r->column, column) == 0
                              && strcasecmp(r->view, source) == 0);
    }
    pthread_mutex_unlock(&core->mu);
    return ok;
}

int pview_read_ok(const struct plugins *p, const char *table, const char *column,
                  const char *source)
{
    const struct pview_set *set = p->views;

    if (is_view_name(table))
        return 1;          /* the view itself: what it reads is judged here */
    if (set && published_ok(p->views, table, column, source))
        return 1;
    for (size_t i = 0; set && i < set->n; i++) {
        const struct pview_read *r = &set->r[i];

        if (strcasecmp(r->table, table) != 0)
            continue;
        if (column && !*column)
            return 1;      /* no column read: a count */
        if (column && source && strcasecmp(r->column, column) == 0
            && strcasecmp(r->view, source) == 0)
            return 1;
    }
    return 0;
}
