/* records — the vocabulary the programme's records share (see
 * core/domain/records.h): the contract's lists, age brackets, the
 * territory's neighbourhoods, the kind of an organisation from its name,
 * anonymous groups and local dates in bodies; and GET /api/v1/vocabulary,
 * which tells a client (the console) every list at once. */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "domain.h"
#include "http.h"
#include "json.h"
#include "rtime.h"
#include "store.h"
#include "records_internal.h"
#include "sessions_internal.h"

const char *const records_genders[] = {"F", "M", "X", NULL};
const char *const records_residences[] = {"qpv", "qva", "outside", NULL};
const char *const records_audiences[] = {"resident", "professional", NULL};
const char *const records_organisation_kinds[] = {
    "ccas", "caf", "centre_social", "association", "france_services", "mission_locale",
    "france_travail", "bailleur", "ecole", "mediatheque", "commune", "departement", "other",
    NULL};
const char *const records_modalities[] = {"on_site", "phone", "home", "remote", NULL};
/* What a person used during a support: their own device, one of the
 * venue's, one lent to them (programme-figures.md §2 counts the people who
 * used the programme's equipment), or none. */
const char *const records_equipment_uses[] = {
    "own_smartphone", "own_computer", "own_tablet", "venue_computer", "venue_tablet",
    "loaned_device", "none", NULL};
const char *const records_meeting_kinds[] = {
    "steering_committee", "technical_committee", "working_group", "network",
    "professional_training", "other", NULL};
const char *const records_device_kinds[] = {"computer", "tablet", "smartphone", "other", NULL};

/* --- age brackets ------------------------------------------------------------ */

size_t records_bracket_count(const struct config_records *r)
{
    return r->n_age_brackets + 1;
}

void records_bracket_at(const struct config_records *r, size_t i, int *min, int *max)
{
    *min = i == 0 ? RECORDS_AGE_OPEN : r->age_brackets[i - 1];
    *max = i >= r->n_age_brackets ? RECORDS_AGE_OPEN : r->age_brackets[i] - 1;
}

void records_bracket_label(int min, int max, char *buf, size_t n)
{
    if (min == RECORDS_AGE_OPEN && max == RECORDS_AGE_OPEN)
        snprintf(buf, n, "unknown");
    else if (min == RECORDS_AGE_OPEN)
        snprintf(buf, n, "<%d", max + 1);
    else if (max == RECORDS_AGE_OPEN)
        snprintf(buf, n, "%d+", min);
    else
        snprintf(buf, n, "%d-%d", min, max);
}

int records_bracket_parse(const struct config_records *r, const char *label, int *min,
                          int *max)
{
    char buf[RECORDS_LABEL_MAX];

    for (size_t i = 0; label && i < records_bracket_count(r); i++) {
        records_bracket_at(r, i, min, max);
        records_bracket_label(*min, *max, buf, sizeof buf);
        if (strcmp(buf, label) == 0)
            return 0;
    }
    return -1;
}

/* --- territory, organisations --------------------------------------------------- */

static int in_folded(const char *key, char *const *names, size_t n)
{
    int found = 0;

    for (size_t i = 0; i < n && !found; i++) {
        char *f = domain_fold(names[i]);
        found = f && strcmp(f, key) == 0;
        free(f);
    }
    return found;
}

const char *records_residence_of(const struct config_records *r, const char *neighborhood)
{
    const char *out = NULL;
    char *key;

    if (!neighborhood || !(key = domain_fold(neighborhood)))
        return NULL;
    if (*key && in_folded(key, r->qpv, r->n_qpv))
        out = "qpv";
    else if (*key && in_folded(key, r->qva, r->n_qva))
        out = "qva";
    free(key);
    return out;
}

/* 1 when PHRASE stands in FOLDED as whole words. */
static int has_phrase(const char *folded, const char *phrase)
{
    size_t len = strlen(phrase);

    for (const char *p = strstr(folded, phrase); p; p = strstr(p + 1, phrase))
        if ((p == folded || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
            return 1;
    return 0;
}

const char *records_organisation_kind_guess(const char *name)
{
    /* Folded words (domain_fold: lower case, no accents, apostrophes and
     * hyphens as spaces) and the kind each makes obvious; the first match
     * wins, so the specific names come before the general ones. */
    static const struct { const char *phrase, *kind; } rules[] = {
        {"ccas", "ccas"}, {"cias", "ccas"}, {"centre communal d action sociale", "ccas"},
        {"caf", "caf"}, {"caisse d allocations familiales", "caf"},
        {"mission locale", "mission_locale"},
        {"france travail", "france_travail"}, {"pole emploi", "france_travail"},
        {"france services", "france_services"},
        {"centre social", "centre_social"}, {"centres sociaux", "centre_social"},
        {"centre socioculturel", "centre_social"}, {"espace de vie sociale", "centre_social"},
        {"mediatheque", "mediatheque"}, {"bibliotheque", "mediatheque"},
        {"bailleur", "bailleur"}, {"habitat", "bailleur"}, {"opac", "bailleur"},
        {"hlm", "bailleur"},
        {"ecole", "ecole"}, {"college", "ecole"}, {"lycee", "ecole"},
        {"conseil departemental", "departement"}, {"departement", "departement"},
        {"mairie", "commune"}, {"ville de", "commune"}, {"commune de", "commune"},
        {"association", "association"}, {"asso", "association"},
    };
    const char *kind = "other";
    char *f = name ? domain_fold(name) : NULL;

    for (size_t i = 0; f && i < sizeof rules / sizeof rules[0]; i++) {
        if (has_phrase(f, rules[i].phrase)) {
            kind = rules[i].kind;
            break;
        }
    }
    free(f);
    return kind;
}

/* --- bodies ------------------------------------------------------------------------ */

int records_group_read(struct json_check *c, const cJSON *obj, const char *prefix,
                       const struct config_records *r, const char *const *extra,
                       struct records_group *g)
{
    const char *allowed[12] = {"gender", "age_bracket", "residence"};
    size_t n = 3;
    struct json_check sub;
    const char *label = NULL;
    int idx, failed;

    g->gender = g->residence = NULL;
    g->age_min = g->age_max = RECORDS_AGE_OPEN;
    if (!cJSON_IsObject(obj)) {
        json_check_add(c, prefix, "must be an object {gender, age_bracket, residence}");
        return -1;
    }
    for (; extra && *extra && n < sizeof allowed / sizeof allowed[0] - 1; extra++)
        allowed[n++] = *extra;
    allowed[n] = NULL;
    json_check_init(&sub);
    json_check_known(&sub, obj, allowed);
    if (json_get_enum(&sub, obj, "gender", 0, records_genders, &idx) == JSON_OK)
        g->gender = records_genders[idx];
    if (json_get_enum(&sub, obj, "residence", 0, records_residences, &idx) == JSON_OK)
        g->residence = records_residences[idx];
    if (json_get_str(&sub, obj, "age_bracket", 0, RECORDS_LABEL_MAX, &label) == JSON_OK &&
        records_bracket_parse(r, label, &g->age_min, &g->age_max) != 0) {
        char msg[200], one[RECORDS_LABEL_MAX];
        size_t used = (size_t)snprintf(msg, sizeof msg, "must be one of:");
        for (size_t i = 0; i < records_bracket_count(r) && used < sizeof msg; i++) {
            int lo, hi;
            records_bracket_at(r, i, &lo, &hi);
            records_bracket_label(lo, hi, one, sizeof one);
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s %s", i ? "," : "", one);
        }
        json_check_add(&sub, "age_bracket", "%s", msg);
        g->age_min = g->age_max = RECORDS_AGE_OPEN;
    }
    failed = json_check_failed(&sub);
    sessions_check_merge(c, &sub, prefix);
    json_check_free(&sub);
    return failed ? -1 : 0;
}

static int bind_age(sqlite3_stmt *s, int i, int age)
{
    return age == RECORDS_AGE_OPEN ? sqlite3_bind_null(s, i) : sqlite3_bind_int(s, i, age);
}

int records_group_bind(sqlite3_stmt *s, int first, const struct records_group *g)
{
    int rc;

    if ((rc = store_bind_text(s, first, g->gender)) != SQLITE_OK ||
        (rc = bind_age(s, first + 1, g->age_min)) != SQLITE_OK ||
        (rc = bind_age(s, first + 2, g->age_max)) != SQLITE_OK)
        return rc;
    return store_bind_text(s, first + 3, g->residence);
}

static int col_age(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? RECORDS_AGE_OPEN
                                                      : sqlite3_column_int(s, col);
}

cJSON *records_group_json(sqlite3_stmt *s, int col)
{
    cJSON *o = cJSON_CreateObject();
    char label[RECORDS_LABEL_MAX];
    int lo = col_age(s, col + 1), hi = col_age(s, col + 2);

    if (!o)
        return NULL;
    json_add_str(o, "gender", (const char *)sqlite3_column_text(s, col));
    records_bracket_label(lo, hi, label, sizeof label);
    json_add_str(o, "age_bracket", lo == RECORDS_AGE_OPEN && hi == RECORDS_AGE_OPEN ? NULL
                                                                                    : label);
    json_add_str(o, "residence", (const char *)sqlite3_column_text(s, col + 3));
    return o;
}

int records_date_ok(const char *s)
{
    int64_t t;
    return s && strlen(s) == 10 && rt_parse_local_date(s, &t) == 0 ? 0 : -1;
}

int records_get_date(struct json_check *c, const cJSON *obj, const char *name, int required,
                     char *out)
{
    const char *s = NULL;
    int rc = json_get_str(c, obj, name, required, 64, &s);

    if (rc != JSON_OK)
        return rc;
    if (records_query_date(s, out, RECORDS_DATE_MAX) != 0) {
        json_check_add(c, name, "must be a date YYYY-MM-DD");
        return JSON_BAD;
    }
    return JSON_OK;
}

int records_query_date(const char *s, char *out, size_t n)
{
    struct tm tm;
    int64_t t;

    if (n < 11 || !s)
        return -1;
    if (records_date_ok(s) == 0) {
        snprintf(out, n, "%s", s);
        return 0;
    }
    if (rt_parse_rfc3339(s, &t) != 0)
        return -1;
    rt_local(t, &tm);
    snprintf(out, n, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return 0;
}

int records_read_strings(struct json_check *c, const cJSON *obj, const char *name,
                         const char *const *values, size_t n, const char **out, size_t max)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *it;
    size_t count = 0;
    int bad = 0;

    if (!cJSON_IsArray(arr)) {
        json_check_add(c, name, "must be an array of strings");
        return -1;
    }
    /* Bounded before the walk, so that a huge list costs one error, not
     * one per item (a repeat is allowed, hence twice the room). */
    if ((size_t)cJSON_GetArraySize(arr) > 2 * max) {
        json_check_add(c, name, "at most %zu values", max);
        return -1;
    }
    cJSON_ArrayForEach(it, arr) {
        size_t k = 0, j;
        if (!cJSON_IsString(it) || !it->valuestring) {
            json_check_add(c, name, "must be an array of strings");
            return -1;
        }
        while (k < n && strcmp(values[k], it->valuestring) != 0)
            k++;
        if (k == n) {
            /* The value is the client's own word, echoed so that the form
             * can show which one; at most 100 bytes of it. */
            json_check_add(c, name, "unknown value \"%.100s\"", it->valuestring);
            bad = 1;
            continue;
        }
        for (j = 0; j < count && out[j] != values[k]; j++)
            ;
        if (j < count)
            continue;       /* given twice: once is enough */
        if (count == max) {
            json_check_add(c, name, "at most %zu values", max);
            return -1;
        }
        out[count++] = values[k];
    }
    return bad ? -1 : (int)count;
}

int records_read_ids(struct store *st, struct json_check *c, const cJSON *arr,
                     const char *name, const char *exists_sql, const char *what,
                     int64_t *out, int max)
{
    const cJSON *it;
    int n = 0, bad = 0;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > max) {
        json_check_add(c, name, "must be an array of at most %d ids", max);
        return -1;
    }
    cJSON_ArrayForEach(it, arr) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : 0;
        int64_t id, one;
        int k, found;

        /* In range first, so that the cast is defined. */
        if (d < 1 || d > (double)RECORDS_ID_MAX || d != (double)(int64_t)d) {
            json_check_add(c, name, "must be an array of %s ids", what);
            return -1;
        }
        id = (int64_t)d;
        for (k = 0; k < n && out[k] != id; k++)
            ;
        if (k < n)
            continue;               /* given twice: once is enough */
        if ((found = store_int_query(st, exists_sql, id, &one)) < 0)
            return -2;
        if (!found) {
            json_check_add(c, name, "no such %s: %lld", what, (long long)id);
            bad = 1;
        } else {
            out[n++] = id;
        }
    }
    return bad ? -1 : n;
}

int records_in(const char *const *list, const char *s)
{
    for (; s && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

int records_append_rows(struct store *st, const char *sql, int64_t id,
                        cJSON *(*render)(sqlite3_stmt *s), cJSON *arr)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc = -1, step;

    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = render(s);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto out;
        }
    }
    if (step == SQLITE_DONE)
        rc = 0;
out:
    store_done(s);
    return rc;
}

int records_session_found(struct http_req *req, int64_t id)
{
    int64_t one;
    int found = store_int_query(req->app->store, "SELECT 1 FROM sessions WHERE id = ?1", id,
                                &one);

    if (found == 0)
        http_problem(req, 404, "no session %lld", (long long)id);
    else if (found < 0)
        http_problem(req, 500, "could not read the session");
    return found > 0;
}

int records_session_writable(struct http_req *req, int64_t id, int *cancelled,
                             const char *refusal)
{
    struct store *st = req->app->store;
    int64_t c = 0;
    int found = store_int_query(st, "SELECT status = 'cancelled' FROM sessions WHERE id = ?1",
                                id, &c);

    if (found <= 0) {
        if (found == 0)
            http_problem(req, 404, "no session %lld", (long long)id);
        else
            http_problem(req, 500, "could not read the session");
        return 0;
    }
    if (req->role == ROLE_TRAINER && !domain_session_is_own(st, id, req->staff_id)) {
        http_problem(req, 403, "%s", refusal);
        return 0;
    }
    *cancelled = c != 0;
    return 1;
}

int records_person_ok(struct http_req *req, int64_t id)
{
    int64_t one;

    /* Every role alike: naming a person by id tells the caller nothing about
     * them (answers show the id only), so a trainer may record a support
     * for anyone who walks in, enrolled with them or not. */
    return store_int_query(req->app->store, "SELECT 1 FROM beneficiaries"
                           " WHERE id = ?1 AND erased_at IS NULL", id, &one);
}

/* --- GET /api/v1/vocabulary ------------------------------------------------------ */

/* The N strings of LIST as a JSON array (N may be 0 and LIST then NULL). */
static cJSON *string_array(const char *const *list, size_t n)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; a && i < n; i++) {
        cJSON *s = cJSON_CreateString(list[i]);
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int add_array(cJSON *o, const char *name, cJSON *a)
{
    if (a && cJSON_AddItemToObject(o, name, a))
        return 0;
    cJSON_Delete(a);
    return -1;
}

/* A list defined above, without its NULL end. */
#define ALL(list) (list), (sizeof (list) / sizeof (list)[0] - 1)

/* Every list a client needs to fill the records' forms, the configured ones
 * (themes, age brackets, the territory) as they are now. */
static void h_vocabulary(struct http_req *req)
{
    const struct config_records *r = &req->app->cfg->records;
    cJSON *o = cJSON_CreateObject(), *brackets = NULL, *terr;
    char label[RECORDS_LABEL_MAX];

    if (!o || add_array(o, "themes", string_array((const char *const *)r->themes,
                                                  r->n_themes)) != 0 ||
        !(brackets = cJSON_AddArrayToObject(o, "age_brackets")))
        goto fail;
    for (size_t i = 0; i < records_bracket_count(r); i++) {
        int lo, hi;
        cJSON *s;
        records_bracket_at(r, i, &lo, &hi);
        records_bracket_label(lo, hi, label, sizeof label);
        if (!(s = cJSON_CreateString(label)) || !cJSON_AddItemToArray(brackets, s)) {
            cJSON_Delete(s);
            goto fail;
        }
    }
    if (add_array(o, "genders", string_array(ALL(records_genders))) != 0 ||
        add_array(o, "residences", string_array(ALL(records_residences))) != 0 ||
        add_array(o, "audiences", string_array(ALL(records_audiences))) != 0 ||
        add_array(o, "modalities", string_array(ALL(records_modalities))) != 0 ||
        add_array(o, "equipment", string_array(ALL(records_equipment_uses))) != 0 ||
        add_array(o, "organisation_kinds", string_array(ALL(records_organisation_kinds))) != 0 ||
        add_array(o, "meeting_kinds", string_array(ALL(records_meeting_kinds))) != 0 ||
        add_array(o, "device_kinds", string_array(ALL(records_device_kinds))) != 0 ||
        !(terr = cJSON_AddObjectToObject(o, "territory")) ||
        add_array(terr, "qpv", string_array((const char *const *)r->qpv, r->n_qpv)) != 0 ||
        add_array(terr, "qva", string_array((const char *const *)r->qva, r->n_qva)) != 0)
        goto fail;
    http_reply_json(req, 200, o);
    return;
fail:
    cJSON_Delete(o);
    http_problem(req, 500, "out of memory");
}

int records_vocabulary_register(struct http_server *hs)
{
    return http_route(hs, HTTP_GET, "/api/v1/vocabulary", ROLES_ALL, h_vocabulary);
}
