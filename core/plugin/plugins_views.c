/* plugins_views — the read models: a plugin reads core data only through
 * the relais_v1_* views (core/store/schema.c, step 6; plugins/API.md, "Read
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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugins_internal.h"
#include "app.h"
#include "log.h"
#include "store.h"

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
    p->views = set;
    set = NULL;
    rc = 0;
out:
    if (rc != 0)
        log_error("plugins", "cannot learn the read models: %s",
                  set && set->overflow ? "too many columns" : sqlite3_errmsg(db));
    sqlite3_finalize(list);
    pview_free(set);
    return rc;
}

void pview_free(struct pview_set *set)
{
    if (!set)
        return;
    free(set->r);
    free(set);
}

int pview_read_ok(const struct plugins *p, const char *table, const char *column,
                  const char *source)
{
    const struct pview_set *set = p->views;

    if (is_view_name(table))
        return 1;          /* the view itself: what it reads is judged here */
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

int pview_shows(const struct plugins *p, const char *table, const char *column)
{
    const struct pview_set *set = p->views;

    for (size_t i = 0; set && table && column && i < set->n; i++)
        if (strcasecmp(set->r[i].table, table) == 0 && strcasecmp(set->r[i].column, column) == 0)
            return 1;
    return 0;
}
