/* /api/v1/organisations — the structures of the territory's network:
 * partners, prescribers (who sent a person), employers (of a professional
 * being trained). Read by every role, written by admins and coordinators,
 * like venues. One that a beneficiary, an accompaniment (referred_to) or a
 * meeting refers to cannot be deleted (409): the reports count by it.
 *
 * Also the bridge from the free-text `prescriber` of beneficiaries: the
 * organisation of a name (made when missing), used on create/patch and by
 * `relais migrate` for the prescribers stored before organisations existed. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "domain.h"
#include "http.h"
#include "log.h"
#include "records.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"
#include "records_internal.h"

static const struct domain_field fields[] = {
    {"name", DF_TEXT, 1, 200, 0, 0, NULL},
    {"kind", DF_ENUM, 0, 0, 0, 0, records_organisation_kinds},
    {"commune", DF_TEXT, 0, 100, 0, 0, NULL},
};
#define NF (sizeof fields / sizeof fields[0])
_Static_assert(NF <= DOMAIN_FIELDS_MAX, "too many fields for domain_fields_read");
enum { F_NAME = 0 };

#define ORG_COLS "id, name, kind, commune, created_at, updated_at"

/* Words of a ?q= search; more is refused. */
#define Q_WORDS 6
#define Q_MAXLEN 200

static cJSON *render(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    if (domain_fields_render(o, s, 1, fields, NF) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    json_add_time(o, "created_at", sqlite3_column_int64(s, (int)NF + 1));
    json_add_time(o, "updated_at", sqlite3_column_int64(s, (int)NF + 2));
    return o;
}

static void reply_org(struct http_req *req, int64_t id, int status)
{
    domain_reply_row(req, status, id, "SELECT " ORG_COLS " FROM organisations WHERE id = ?1",
                     render, "organisations", "organisation", "no organisation %lld");
}

/* domain_fold of S[0..LEN): malloc'd, NULL when out of memory. */
static char *fold_n(const char *s, size_t len)
{
    char *copy = strndup(s, len), *key;
    if (!copy)
        return NULL;
    key = domain_fold(copy);
    free(copy);
    return key;
}

/* --- the list -------------------------------------------------------------------- */

static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page page;
    sqlite3_stmt *s = NULL;
    const char *q = http_query(req, "q"), *kind = http_query(req, "kind");
    char *folded = NULL, *words[Q_WORDS];
    int nwords = 0;

    json_check_init(&c);
    http_page_parse(req, &c, &page);
    if (kind && !*kind)
        kind = NULL;
    if (kind && !records_in(records_organisation_kinds, kind))
        json_check_add(&c, "kind", "not a kind of organisation");
    if (q && strlen(q) > Q_MAXLEN) {
        json_check_add(&c, "q", "at most %d bytes", Q_MAXLEN);
    } else if (q && *q) {
        char *p;
        if (!(folded = domain_fold(q)))
            goto fail;
        /* domain_fold collapsed the spaces: split on each one. */
        for (p = folded; *p && nwords <= Q_WORDS;) {
            char *sp = strchr(p, ' ');
            if (nwords < Q_WORDS)
                words[nwords] = p;
            nwords++;
            if (!sp)
                break;
            *sp = '\0';
            p = sp + 1;
        }
        if (nwords > Q_WORDS)
            json_check_add(&c, "q", "at most %d words", Q_WORDS);
    }
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "SELECT " ORG_COLS " FROM organisations"
                       " WHERE id > ?1 AND (?2 IS NULL OR kind = ?2)"
                       " AND (?3 IS NULL OR instr(name_key, ?3) > 0)"
                       " AND (?4 IS NULL OR instr(name_key, ?4) > 0)"
                       " AND (?5 IS NULL OR instr(name_key, ?5) > 0)"
                       " AND (?6 IS NULL OR instr(name_key, ?6) > 0)"
                       " AND (?7 IS NULL OR instr(name_key, ?7) > 0)"
                       " AND (?8 IS NULL OR instr(name_key, ?8) > 0)"
                       " ORDER BY id LIMIT ?9");
    if (!s || sqlite3_bind_int64(s, 1, page.has_cursor ? page.k1 : 0) != SQLITE_OK ||
        store_bind_text(s, 2, kind) != SQLITE_OK ||
        sqlite3_bind_int(s, 9, page.limit + 1) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < Q_WORDS; i++)
        if (store_bind_text(s, 3 + i, i < nwords ? words[i] : NULL) != SQLITE_OK)
            goto fail;
    if (http_reply_page(req, s, &page, render, 0, -1) != 0)
        goto fail;
    goto out;
fail:
    log_error("organisations", "listing organisations: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not list the organisations");
out:
    store_done(s);
    free(folded);
    json_check_free(&c);
}

static void h_get(struct http_req *req)
{
    int64_t id;
    if (http_param_id(req, "id", &id) != 0)
        return;
    reply_org(req, id, 200);
}

/* --- writes --------------------------------------------------------------------------- */

static void h_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);
    char *key = NULL;

    if (!body)
        return;
    json_check_init(&c);
    domain_fields_read(&c, body, fields, NF, 0, v);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    key = fold_n(v[F_NAME].s, v[F_NAME].len);
    s = store_stmt(st, "INSERT INTO organisations (name, kind, commune, name_key, created_at,"
                       " updated_at) VALUES (?1, coalesce(?2, 'other'), ?3, ?4, ?5, ?5)");
    if (!key || !s || domain_fields_bind(s, fields, NF, v, 0) != 0 ||
        store_bind_text(s, (int)NF + 1, key) != SQLITE_OK ||
        sqlite3_bind_int64(s, (int)NF + 2, rt_now()) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_error("organisations", "creating an organisation: %s",
                  sqlite3_errmsg(store_db(st)));
        http_problem(req, 500, "could not create the organisation");
        goto out;
    }
    store_done(s);
    s = NULL;
    reply_org(req, sqlite3_last_insert_rowid(store_db(st)), 201);
out:
    store_done(s);
    free(key);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_patch(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body;
    char *key = NULL;
    int64_t id, one;
    int found;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    found = store_int_query(st, "SELECT 1 FROM organisations WHERE id = ?1", id, &one);
    if (found <= 0) {
        if (found == 0)
            http_problem(req, 404, "no organisation %lld", (long long)id);
        else
            http_problem(req, 500, "could not read the organisation");
        goto out;
    }
    domain_fields_read(&c, body, fields, NF, 1, v);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (v[F_NAME].state == JSON_OK && !(key = fold_n(v[F_NAME].s, v[F_NAME].len)))
        goto fail;
    /* kind set to null goes back to its default, "other". */
    s = store_stmt(st, "UPDATE organisations SET"
                       " name = CASE WHEN ?4 THEN ?1 ELSE name END,"
                       " kind = CASE WHEN ?5 THEN coalesce(?2, 'other') ELSE kind END,"
                       " commune = CASE WHEN ?6 THEN ?3 ELSE commune END,"
                       " name_key = coalesce(?9, name_key), updated_at = ?8"
                       " WHERE id = ?7");
    if (!s || domain_fields_bind(s, fields, NF, v, 1) != 0 ||
        sqlite3_bind_int64(s, 2 * (int)NF + 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2 * (int)NF + 2, rt_now()) != SQLITE_OK ||
        store_bind_text(s, 2 * (int)NF + 3, key) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    reply_org(req, id, 200);
    goto out;
fail:
    log_error("organisations", "updating organisation %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not update the organisation");
out:
    store_done(s);
    free(key);
    json_check_free(&c);
    cJSON_Delete(body);
}

static void h_delete(struct http_req *req)
{
    /* Beneficiaries (erased ones too: their anonymous row still counts),
     * accompaniments and meetings; a plugin's table referring to it (a
     * pass book held by it) fails the DELETE on its foreign key, also 409. */
    static const struct domain_delete d = {
        "organisations", "organisation",
        "SELECT 1 FROM organisations WHERE id = ?1",
        "SELECT 1 FROM beneficiaries WHERE organisation_id = ?1"
        " UNION ALL SELECT 1 FROM accompaniments WHERE referred_to = ?1"
        " UNION ALL SELECT 1 FROM meeting_organisations WHERE organisation_id = ?1 LIMIT 1",
        "DELETE FROM organisations WHERE id = ?1",
        "no organisation %lld",
        "organisation %lld is referred to by people, accompaniments or meetings;"
        " it cannot be deleted",
    };
    domain_delete_unreferenced(req, &d);
}

/* --- prescribers ------------------------------------------------------------------------ */

int records_organisation_for_name(struct store *st, const char *name, size_t len,
                                  int64_t *id, int *created)
{
    sqlite3_stmt *s = NULL;
    char *key = fold_n(name, len), *copy = NULL;
    int rc = -1, step;

    if (created)
        *created = 0;
    if (!key)
        goto out;
    s = store_stmt(st, "SELECT id FROM organisations WHERE name_key = ?1 ORDER BY id LIMIT 1");
    if (!s || store_bind_text(s, 1, key) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        rc = 0;
        goto out;
    }
    if (step != SQLITE_DONE)
        goto out;
    store_done(s);
    if (!(copy = strndup(name, len)))
        goto out;
    s = store_stmt(st, "INSERT INTO organisations (name, name_key, kind, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?4)");
    if (!s || store_bind_text(s, 1, copy) != SQLITE_OK ||
        store_bind_text(s, 2, key) != SQLITE_OK ||
        store_bind_text(s, 3, records_organisation_kind_guess(copy)) != SQLITE_OK ||
        sqlite3_bind_int64(s, 4, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto out;
    *id = sqlite3_last_insert_rowid(store_db(st));
    if (created)
        *created = 1;
    rc = 0;
out:
    if (rc != 0)
        log_error("organisations", "finding the organisation of a prescriber: %s",
                  sqlite3_errmsg(store_db(st)));
    store_done(s);
    free(key);
    free(copy);
    return rc;
}

/* Texts of column 0 of the rows SQL (no parameter) gives, malloc'd, into
 * *OUT: their number, or -1. */
static int read_texts(struct store *st, const char *sql, char ***out)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    char **list = NULL;
    size_t n = 0, cap = 0;
    int step;

    *out = NULL;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(list, ncap * sizeof *list);
            if (!grown)
                goto fail;
            list = grown;
            cap = ncap;
        }
        if (!(list[n] = store_col_strdup(s, 0)))
            goto fail;
        n++;
    }
    if (step != SQLITE_DONE)
        goto fail;
    store_done(s);
    *out = list;
    return (int)n;
fail:
    store_done(s);
    while (n > 0)
        free(list[--n]);
    free(list);
    return -1;
}

static void free_texts(char **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Links the people of each distinct unlinked prescriber. */
static int link_prescribers(struct store *st, int *orgs, int *linked)
{
    char **names = NULL;
    int n = read_texts(st, "SELECT DISTINCT prescriber FROM beneficiaries"
                           " WHERE prescriber IS NOT NULL AND organisation_id IS NULL"
                           " AND erased_at IS NULL ORDER BY prescriber", &names);
    int rc = -1;

    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int64_t org;
        int created;
        sqlite3_stmt *s;

        if (records_organisation_for_name(st, names[i], strlen(names[i]), &org, &created) != 0)
            goto out;
        *orgs += created;
        s = store_stmt(st, "UPDATE beneficiaries SET organisation_id = ?1, updated_at = ?3"
                           " WHERE prescriber = ?2 AND organisation_id IS NULL"
                           " AND erased_at IS NULL");
        if (!s || sqlite3_bind_int64(s, 1, org) != SQLITE_OK ||
            store_bind_text(s, 2, names[i]) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
            store_done(s);
            goto out;
        }
        *linked += sqlite3_changes(store_db(st));
        store_done(s);
    }
    rc = 0;
out:
    free_texts(names, n);
    return rc;
}

/* Sets the residence of people without one whose neighbourhood is in the
 * territory's lists (erased people too: their anonymous row counts). */
static int place_people(struct store *st, const struct config_records *r, int *placed)
{
    char **hoods = NULL;
    int n, rc = -1;

    if (r->n_qpv == 0 && r->n_qva == 0)
        return 0;
    n = read_texts(st, "SELECT DISTINCT neighborhood FROM beneficiaries"
                       " WHERE residence IS NULL AND neighborhood IS NOT NULL", &hoods);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *res = records_residence_of(r, hoods[i]);
        sqlite3_stmt *s;

        if (!res)
            continue;
        s = store_stmt(st, "UPDATE beneficiaries SET residence = ?1"
                           " WHERE neighborhood = ?2 AND residence IS NULL");
        if (!s || store_bind_text(s, 1, res) != SQLITE_OK ||
            store_bind_text(s, 2, hoods[i]) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
            store_done(s);
            goto out;
        }
        *placed += sqlite3_changes(store_db(st));
        store_done(s);
    }
    rc = 0;
out:
    free_texts(hoods, n);
    return rc;
}

int records_migrate(struct store *st, const struct config_records *r, int *orgs, int *linked,
                    int *placed)
{
    int o = 0, l = 0, p = 0;

    if (store_begin(st) != 0)
        return -1;
    if (link_prescribers(st, &o, &l) != 0 || place_people(st, r, &p) != 0) {
        log_error("organisations", "linking prescribers and residences: %s",
                  sqlite3_errmsg(store_db(st)));
        store_rollback(st);
        return -1;
    }
    if (store_commit(st) != 0)
        return -1;
    if (orgs)
        *orgs = o;
    if (linked)
        *linked = l;
    if (placed)
        *placed = p;
    return 0;
}

int organisations_register(struct http_server *hs)
{
    const char *one = "/api/v1/organisations/{id}";
    if (http_route(hs, HTTP_GET, "/api/v1/organisations", ROLES_ALL, h_list) != 0 ||
        http_route(hs, HTTP_POST, "/api/v1/organisations", ROLES_STAFF, h_create) != 0 ||
        http_route(hs, HTTP_GET, one, ROLES_ALL, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, one, ROLES_STAFF, h_patch) != 0 ||
        http_route(hs, HTTP_DELETE, one, ROLES_STAFF, h_delete) != 0)
        return -1;
    return 0;
}
