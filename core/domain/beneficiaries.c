/* /api/v1/beneficiaries — the people the programme serves, and their rights:
 * erasure (DELETE) and access (GET /{id}/export).
 *
 * Admins and coordinators see and write everything. A trainer sees only the
 * people enrolled (any status) in their own sessions, and only their names;
 * anyone else answers 404 to a trainer, as if it did not exist. An erased
 * person keeps an anonymous row (gender, birth year, commune, neighbourhood,
 * residence, audience, organisation; their accompaniments and loans stay
 * linked to it) so that report counts stay right, and is gone from the API. Erasure and
 * export live in core/domain/beneficiaries_rights.c. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "domain.h"
#include "http.h"
#include "log.h"
#include "phone.h"
#include "records.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"
#include "sessions_internal.h"

static const char *const genders[] = {"F", "M", "X", NULL};

/* first_name and last_name come first: a trainer's view is the first two. */
static const struct domain_field fields[] = {
    {"first_name", DF_TEXT, 1, 100, 0, 0, NULL},
    {"last_name", DF_TEXT, 1, 100, 0, 0, NULL},
    {"phone", DF_PHONE, 0, 0, 0, 0, NULL},
    {"email", DF_EMAIL, 0, 254, 0, 0, NULL},
    {"birth_year", DF_YEAR, 0, 0, 1900, 0, NULL},
    {"gender", DF_ENUM, 0, 0, 0, 0, genders},
    {"commune", DF_TEXT, 0, 100, 0, 0, NULL},
    {"neighborhood", DF_TEXT, 0, 100, 0, 0, NULL},
    {"prescriber", DF_TEXT, 0, 100, 0, 0, NULL},
    {"external_id", DF_TEXT, 0, 64, 0, 0, NULL},
    {"consent_sms", DF_BOOL, 0, 0, 0, 0, NULL},
    {"consent_email", DF_BOOL, 0, 0, 0, 0, NULL},
    {"organisation_id", DF_INT, 0, 0, 1, INT64_C(9007199254740991), NULL},
    {"audience", DF_ENUM, 0, 0, 0, 0, records_audiences},
    {"residence", DF_ENUM, 0, 0, 0, 0, records_residences},
};
#define NF (sizeof fields / sizeof fields[0])
_Static_assert(NF <= DOMAIN_FIELDS_MAX, "too many fields for domain_fields_read");
enum { F_FIRST = 0, F_LAST = 1, F_HOOD = 7, F_PRESCRIBER = 8, F_EXTERNAL = 9, F_ORG = 12,
       F_RESIDENCE = 14 };

#define BEN_COLS BENEFICIARIES_COLS

/* The trainer's "own people" condition on beneficiary b, staff id bound at
 * ?TRAINER: enrolled, in any status, in a session they train or in a part of
 * a training they train. */
#define OWN_PEOPLE(TRAINER) BENEFICIARIES_OWN_PEOPLE(TRAINER)

/* Words of a name search bound into the list query; more is refused. */
#define Q_WORDS 6
#define Q_MAXLEN 200

static cJSON *render(sqlite3_stmt *s, int names_only)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    json_add_int(o, "id", sqlite3_column_int64(s, 0));
    if (domain_fields_render(o, s, 1, fields, names_only ? 2 : NF) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    if (!names_only) {
        json_add_time(o, "created_at", sqlite3_column_int64(s, (int)NF + 1));
        json_add_time(o, "updated_at", sqlite3_column_int64(s, (int)NF + 2));
    }
    return o;
}

/* The two shapes of a list item, for http_reply_page. */
static cJSON *render_all(sqlite3_stmt *s)
{
    return render(s, 0);
}

static cJSON *render_names(sqlite3_stmt *s)
{
    return render(s, 1);
}

int beneficiaries_fetch(struct store *st, int64_t id, int trainer, int64_t staff_id,
                        cJSON **out)
{
    int ret = -1, rc;
    sqlite3_stmt *s = store_stmt(st, "SELECT " BEN_COLS " FROM beneficiaries b"
                                     " WHERE b.id = ?1 AND b.erased_at IS NULL"
                                     " AND (NOT ?2 OR " OWN_PEOPLE("?3") ")");
    *out = NULL;
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int(s, 2, trainer) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, staff_id) != SQLITE_OK)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        ret = 0;
    else if (rc == SQLITE_ROW && (*out = render(s, trainer)))
        ret = 1;
out:
    if (ret < 0)
        log_error("beneficiaries", "reading beneficiary %lld: %s", (long long)id,
                  sqlite3_errmsg(store_db(st)));
    store_done(s);
    return ret;
}

static void reply_one(struct http_req *req, int64_t id, int status)
{
    cJSON *o;
    int trainer = req->role == ROLE_TRAINER;
    int rc = beneficiaries_fetch(req->app->store, id, trainer, req->staff_id, &o);
    if (rc == 1)
        http_reply_json(req, status, o);
    else if (rc == 0)
        http_problem(req, 404, "no beneficiary %lld", (long long)id);
    else
        http_problem(req, 500, "could not read the beneficiary");
}

/* Splits the folded query Q into words at its single spaces (domain_fold
 * collapsed them). Returns the number of words, or -1 when over MAX. */
static int split_words(char *q, char **words, int max)
{
    int n = 0;
    char *p = q;
    while (*p) {
        char *sp = strchr(p, ' ');
        if (n == max)
            return -1;
        words[n++] = p;
        if (!sp)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

/* A three-byte window of a folded word, and how many people hold it. */
struct gram {
    char b[3];
    int64_t n;
};

static int gram_cmp(const void *a, const void *b)
{
    const struct gram *x = a, *y = b;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* The windows of WORDS[0..N) the search looks up, rarest first, into
 * OUT[0..BENEFICIARIES_GRAMS): every distinct window of the words of three
 * bytes or more, counted from beneficiary_gram_counts (one key lookup
 * each), the rarest kept. The rarest one's list is the one walked, so a
 * rare name reads a few index rows however many people there are. The
 * number kept (0 when no word is long enough: the caller reads rows in id
 * order instead), or -1 on a database error. */
static int rarest_grams(struct store *st, char **words, int n, struct gram *out)
{
    struct gram all[Q_MAXLEN];
    size_t nall = 0;
    int ret = -1;
    sqlite3_stmt *s = NULL;

    for (int w = 0; w < n; w++) {
        size_t len = strlen(words[w]);
        for (size_t k = 0; len >= 3 && k + 3 <= len && nall < Q_MAXLEN; k++) {
            size_t j = 0;
            while (j < nall && memcmp(all[j].b, words[w] + k, 3) != 0)
                j++;
            if (j < nall)
                continue;
            memcpy(all[nall].b, words[w] + k, 3);
            all[nall++].n = 0;
        }
    }
    for (size_t j = 0; j < nall; j++) {
        int step;
        s = store_stmt(st, "SELECT n FROM beneficiary_gram_counts WHERE gram = ?1");
        if (!s || sqlite3_bind_blob(s, 1, all[j].b, 3, SQLITE_STATIC) != SQLITE_OK)
            goto out;
        step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            all[j].n = sqlite3_column_int64(s, 0);
        else if (step != SQLITE_DONE)
            goto out;
        store_done(s);
        s = NULL;
    }
    qsort(all, nall, sizeof all[0], gram_cmp);
    ret = nall < BENEFICIARIES_GRAMS ? (int)nall : BENEFICIARIES_GRAMS;
    memcpy(out, all, (size_t)ret * sizeof all[0]);
out:
    store_done(s);
    return ret;
}

static void h_list(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct http_page page;
    sqlite3_stmt *s = NULL;
    const char *q = http_query(req, "q");
    char *folded = NULL, *words[Q_WORDS];
    char phone[PHONE_MAX];
    const char *org = http_query(req, "organisation_id"), *audience = http_query(req, "audience");
    int trainer = req->role == ROLE_TRAINER;
    struct gram grams[BENEFICIARIES_GRAMS];
    int nwords = 0, by_phone = 0, ngrams = 0, i;
    int64_t org_id = 0;

    json_check_init(&c);
    http_page_parse(req, &c, &page);
    if (org && sessions_parse_query_id(org, &org_id) != 0)
        json_check_add(&c, "organisation_id", "must be a positive integer id");
    if (audience && strcmp(audience, "resident") != 0 && strcmp(audience, "professional") != 0)
        json_check_add(&c, "audience", "must be one of: resident, professional");
    if (q && strlen(q) > Q_MAXLEN) {
        json_check_add(&c, "q", "at most %d bytes", Q_MAXLEN);
    } else if (q && *q) {
        /* Trainers search names only: a phone lookup would tell them who owns
         * a number, which their role may not know. */
        by_phone = !trainer && phone_search_form(q, phone) == 0;
        if (!by_phone) {
            if (!(folded = domain_fold(q)))
                goto fail;
            nwords = split_words(folded, words, Q_WORDS);
            if (nwords < 0)
                json_check_add(&c, "q", "at most %d words", Q_WORDS);
        }
    }
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (by_phone) {
        s = store_stmt(st, BENEFICIARIES_BY_PHONE_SQL);
        if (!s || sqlite3_bind_int64(s, 1, page.has_cursor ? page.k1 : 0) != SQLITE_OK
            || store_bind_text(s, 2, phone) != SQLITE_OK
            || sqlite3_bind_int(s, 3, page.limit + 1) != SQLITE_OK
            || (org_id ? sqlite3_bind_int64(s, 4, org_id) : sqlite3_bind_null(s, 4)) != SQLITE_OK
            || store_bind_text(s, 5, audience) != SQLITE_OK
            || http_reply_page(req, s, &page, render_all, 0, -1) != 0)
            goto fail;
        goto out;
    }
    if (nwords > 0 && (ngrams = rarest_grams(st, words, nwords, grams)) < 0)
        goto fail;
    s = store_stmt(st, ngrams > 0 ? BENEFICIARIES_BY_GRAMS_SQL : BENEFICIARIES_BY_WORDS_SQL);
    if (!s)
        goto fail;
    if (sqlite3_bind_int64(s, 1, page.has_cursor ? page.k1 : 0) != SQLITE_OK ||
        (org_id ? sqlite3_bind_int64(s, 12, org_id) : sqlite3_bind_null(s, 12)) != SQLITE_OK ||
        store_bind_text(s, 13, audience) != SQLITE_OK ||
        sqlite3_bind_int(s, 9, trainer) != SQLITE_OK ||
        sqlite3_bind_int64(s, 10, req->staff_id) != SQLITE_OK ||
        sqlite3_bind_int(s, 11, page.limit + 1) != SQLITE_OK)
        goto fail;
    for (i = 0; i < Q_WORDS; i++)
        if (store_bind_text(s, 3 + i, i < nwords ? words[i] : NULL) != SQLITE_OK)
            goto fail;
    for (i = 0; ngrams > 0 && i < BENEFICIARIES_GRAMS; i++)
        if (sqlite3_bind_blob(s, 14 + i, grams[i < ngrams ? i : 0].b, 3, SQLITE_TRANSIENT)
            != SQLITE_OK)
            goto fail;
    if (http_reply_page(req, s, &page, trainer ? render_names : render_all, 0, -1) != 0)
        goto fail;
    goto out;
fail:
    log_error("beneficiaries", "listing beneficiaries: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not list the beneficiaries");
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
    reply_one(req, id, 200);
}

/* domain_fold("FIRST LAST"), malloc'd, or NULL when out of memory. */
static char *search_key(const char *first, size_t fl, const char *last, size_t ll)
{
    char *both = malloc(fl + ll + 2), *key;
    if (!both)
        return NULL;
    memcpy(both, first, fl);
    both[fl] = ' ';
    memcpy(both + fl + 1, last, ll);
    both[fl + 1 + ll] = '\0';
    key = domain_fold(both);
    free(both);
    return key;
}

/* 1 when another living beneficiary than SELF has external id S, 0 when not,
 * -1 on error. Erased people lost theirs, so their ids are free again. */
static int external_taken(struct store *st, const struct domain_value *v, int64_t self)
{
    int ret = -1, rc;
    sqlite3_stmt *s;
    if (v->state != JSON_OK)
        return 0;
    s = store_stmt(st, "SELECT 1 FROM beneficiaries WHERE external_id = ?1 AND id <> ?2");
    if (!s || sqlite3_bind_text(s, 1, v->s, (int)v->len, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, self) != SQLITE_OK)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        ret = 1;
    else if (rc == SQLITE_DONE)
        ret = 0;
out:
    store_done(s);
    return ret;
}

/* The records' side of a body whose fields were read: the organisation
 * must exist (422 on organisation_id); a prescriber given without an
 * organisation_id is the organisation of that name (made when missing, with
 * the kind its name makes obvious); a neighbourhood given without a
 * residence sets it from the territory's lists: qpv or qva when listed, on a
 * PATCH null when not (OLD_HOOD, the stored one: only when it changes).
 * Problems go to C; the mapping is skipped when C already holds some.
 * 0, or -1 on a database error. */
static int records_side(struct http_req *req, struct json_check *c, struct domain_value *v,
                        int patch, const char *old_hood)
{
    struct store *st = req->app->store;
    struct domain_value *org = &v[F_ORG], *res = &v[F_RESIDENCE], *hood = &v[F_HOOD];
    int64_t one;

    if (org->state == JSON_OK) {
        int found = store_int_query(st, "SELECT 1 FROM organisations WHERE id = ?1", org->i,
                                    &one);
        if (found < 0)
            return -1;
        if (!found)
            json_check_add(c, "organisation_id", "no such organisation");
    }
    if (json_check_failed(c))
        return 0;
    if (v[F_PRESCRIBER].state == JSON_OK && org->state == JSON_ABSENT) {
        if (records_organisation_for_name(st, v[F_PRESCRIBER].s, v[F_PRESCRIBER].len,
                                          &org->i, NULL) != 0)
            return -1;
        org->state = JSON_OK;
    }
    if (res->state == JSON_ABSENT && (hood->state == JSON_OK ||
                                      (patch && hood->state == JSON_NULL))) {
        char *now = hood->state == JSON_OK ? strndup(hood->s, hood->len) : NULL;
        char *a = now ? domain_fold(now) : NULL, *b = old_hood ? domain_fold(old_hood) : NULL;
        const char *place = now ? records_residence_of(&req->app->cfg->records, now) : NULL;
        int changed = !patch || (a || b ? !a || !b || strcmp(a, b) != 0 : 0);

        if ((hood->state == JSON_OK && (!now || !a)) || (old_hood && !b)) {
            free(now);
            free(a);
            free(b);
            return -1;
        }
        if (changed && (place || patch)) {
            res->state = place ? JSON_OK : JSON_NULL;
            res->s = place;
            res->len = place ? strlen(place) : 0;
        }
        free(now);
        free(a);
        free(b);
    }
    return 0;
}

static void h_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);
    char *key = NULL;
    int64_t id;
    int taken;

    if (!body)
        return;
    json_check_init(&c);
    domain_fields_read(&c, body, fields, NF, 0, v);
    if (records_side(req, &c, v, 0, NULL) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    taken = external_taken(st, &v[F_EXTERNAL], 0);
    if (taken < 0)
        goto fail;
    if (taken) {
        http_problem(req, 409, "external_id is already taken");
        goto out;
    }
    key = search_key(v[F_FIRST].s, v[F_FIRST].len, v[F_LAST].s, v[F_LAST].len);
    s = store_stmt(st, "INSERT INTO beneficiaries (first_name, last_name, phone, email,"
                       " birth_year, gender, commune, neighborhood, prescriber, external_id,"
                       " consent_sms, consent_email, organisation_id, audience, residence,"
                       " search_key, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                       " coalesce(?14, 'resident'), ?15, ?16, ?17, ?17)");
    if (!key || !s || domain_fields_bind(s, fields, NF, v, 0) != 0 ||
        store_bind_text(s, (int)NF + 1, key) != SQLITE_OK ||
        sqlite3_bind_int64(s, (int)NF + 2, rt_now()) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (domain_is_conflict(store_db(st))) {
            http_problem(req, 409, "external_id is already taken");
            goto out;
        }
        goto fail;
    }
    id = sqlite3_last_insert_rowid(store_db(st));
    store_done(s);
    s = NULL;
    reply_one(req, id, 201);
    goto out;
fail:
    log_error("beneficiaries", "creating a beneficiary: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not create the beneficiary");
out:
    store_done(s);
    free(key);
    json_check_free(&c);
    cJSON_Delete(body);
}

/* The current names and neighbourhood (NULL when none) of living
 * beneficiary ID (malloc'd): 1, 0 none, -1 error. */
static int current_names(struct store *st, int64_t id, char **first, char **last, char **hood)
{
    int ret = -1, rc;
    sqlite3_stmt *s = store_stmt(st, "SELECT first_name, last_name, neighborhood"
                                     " FROM beneficiaries WHERE id = ?1 AND erased_at IS NULL");
    *first = *last = *hood = NULL;
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
    } else if (rc == SQLITE_ROW) {
        *first = store_col_strdup(s, 0);
        *last = store_col_strdup(s, 1);
        *hood = store_col_strdup(s, 2);
        /* Living people always have both names (NOT blank on write). */
        if (*first && *last && (*hood || sqlite3_column_type(s, 2) == SQLITE_NULL))
            ret = 1;
    }
out:
    store_done(s);
    if (ret != 1) {
        free(*first);
        free(*last);
        free(*hood);
        *first = *last = *hood = NULL;
    }
    return ret;
}

static void h_patch(struct http_req *req)
{
    struct store *st = req->app->store;
    struct domain_value v[NF];
    struct json_check c;
    sqlite3_stmt *s = NULL;
    cJSON *body;
    char *first = NULL, *last = NULL, *hood = NULL, *key = NULL;
    int64_t id;
    int found, taken;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    found = current_names(st, id, &first, &last, &hood);
    if (found < 0)
        goto fail;
    if (found == 0) {
        http_problem(req, 404, "no beneficiary %lld", (long long)id);
        goto out;
    }
    domain_fields_read(&c, body, fields, NF, 1, v);
    if (records_side(req, &c, v, 1, hood) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    taken = external_taken(st, &v[F_EXTERNAL], id);
    if (taken < 0)
        goto fail;
    if (taken) {
        http_problem(req, 409, "external_id is already taken");
        goto out;
    }
    key = search_key(v[F_FIRST].state == JSON_OK ? v[F_FIRST].s : first,
                     v[F_FIRST].state == JSON_OK ? v[F_FIRST].len : strlen(first),
                     v[F_LAST].state == JSON_OK ? v[F_LAST].s : last,
                     v[F_LAST].state == JSON_OK ? v[F_LAST].len : strlen(last));
    s = store_stmt(st, "UPDATE beneficiaries SET"
                       " first_name = CASE WHEN ?16 THEN ?1 ELSE first_name END,"
                       " last_name = CASE WHEN ?17 THEN ?2 ELSE last_name END,"
                       " phone = CASE WHEN ?18 THEN ?3 ELSE phone END,"
                       " email = CASE WHEN ?19 THEN ?4 ELSE email END,"
                       " birth_year = CASE WHEN ?20 THEN ?5 ELSE birth_year END,"
                       " gender = CASE WHEN ?21 THEN ?6 ELSE gender END,"
                       " commune = CASE WHEN ?22 THEN ?7 ELSE commune END,"
                       " neighborhood = CASE WHEN ?23 THEN ?8 ELSE neighborhood END,"
                       " prescriber = CASE WHEN ?24 THEN ?9 ELSE prescriber END,"
                       " external_id = CASE WHEN ?25 THEN ?10 ELSE external_id END,"
                       " consent_sms = CASE WHEN ?26 THEN ?11 ELSE consent_sms END,"
                       " consent_email = CASE WHEN ?27 THEN ?12 ELSE consent_email END,"
                       " organisation_id = CASE WHEN ?28 THEN ?13 ELSE organisation_id END,"
                       " audience = CASE WHEN ?29 THEN coalesce(?14, 'resident') ELSE audience END,"
                       " residence = CASE WHEN ?30 THEN ?15 ELSE residence END,"
                       " search_key = ?33, updated_at = ?32"
                       " WHERE id = ?31");
    if (!key || !s || domain_fields_bind(s, fields, NF, v, 1) != 0 ||
        sqlite3_bind_int64(s, 2 * (int)NF + 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2 * (int)NF + 2, rt_now()) != SQLITE_OK ||
        store_bind_text(s, 2 * (int)NF + 3, key) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (domain_is_conflict(store_db(st))) {
            http_problem(req, 409, "external_id is already taken");
            goto out;
        }
        goto fail;
    }
    store_done(s);
    s = NULL;
    reply_one(req, id, 200);
    goto out;
fail:
    log_error("beneficiaries", "updating beneficiary %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not update the beneficiary");
out:
    store_done(s);
    free(first);
    free(last);
    free(hood);
    free(key);
    json_check_free(&c);
    cJSON_Delete(body);
}

int beneficiaries_register(struct http_server *hs)
{
    const char *one = "/api/v1/beneficiaries/{id}";
    if (http_route(hs, HTTP_GET, "/api/v1/beneficiaries", ROLES_ALL, h_list) != 0 ||
        http_route(hs, HTTP_POST, "/api/v1/beneficiaries", ROLES_STAFF, h_create) != 0 ||
        http_route(hs, HTTP_GET, one, ROLES_ALL, h_get) != 0 ||
        http_route(hs, HTTP_PATCH, one, ROLES_STAFF, h_patch) != 0 ||
        beneficiaries_rights_register(hs) != 0)
        return -1;
    return 0;
}
