/* POST /api/v1/accompaniments and PATCH …/{id}: reading and checking the
 * body (every bad field listed in one 422), then the row and its themes and
 * equipment, in the request's transaction.
 *
 * The person is either `beneficiary_id` (a living person) or `anonymous` {gender,
 * age_bracket, residence}, never both; a PATCH giving one replaces the
 * other. Defaults on create: started_at now, modality on_site, the venue of
 * the permanence (session_id) when no venue_id is given, and for a trainer
 * their own staff_id. */
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
#include "records_internal.h"
#include "sessions_internal.h"

#define MAX_EQUIPMENT 8
#define OPERATOR_MAX 100
#define PASS_MAX 64

/* A body as read: each field's JSON_* state and value. */
struct body {
    int person, anon, venue, staff, session, started, minutes, modality, themes, procedure,
        equipment, autonomy, referred, pass;
    int64_t beneficiary_id, venue_id, staff_id, session_id, started_at, minutes_v,
        autonomy_v, referred_to;
    struct records_group group;
    const char *modality_s, *operator_s, *pass_s;
    size_t operator_len, pass_len;
    int done;
    const char *theme[CONFIG_MAX_THEMES], *equip[MAX_EQUIPMENT];
    int n_themes, n_equip;
};

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Trims S for storing: *LEN its trimmed length; returns where it starts. */
static const char *trimmed(const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* procedure: {operator (required), done (default false)} or null. */
static void read_procedure(struct json_check *c, const cJSON *body, struct body *b)
{
    static const char *const allowed[] = {"operator", "done", NULL};
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(body, "procedure");
    struct json_check sub;

    b->procedure = !it ? JSON_ABSENT : cJSON_IsNull(it) ? JSON_NULL : JSON_OK;
    if (b->procedure != JSON_OK)
        return;
    if (!cJSON_IsObject(it)) {
        json_check_add(c, "procedure", "must be an object {operator, done}");
        b->procedure = JSON_BAD;
        return;
    }
    json_check_init(&sub);
    json_check_known(&sub, it, allowed);
    if (json_get_str(&sub, it, "operator", 1, OPERATOR_MAX, &b->operator_s) == JSON_OK)
        b->operator_s = trimmed(b->operator_s, &b->operator_len);
    b->done = 0;
    json_get_bool(&sub, it, "done", 0, &b->done);
    if (json_check_failed(&sub))
        b->procedure = JSON_BAD;
    sessions_check_merge(c, &sub, "procedure");
    json_check_free(&sub);
}

static void read_body(struct http_req *req, struct json_check *c, const cJSON *body,
                      int patch, struct body *b)
{
    static const char *const allowed[] = {
        "beneficiary_id", "anonymous", "venue_id", "staff_id", "session_id", "started_at",
        "minutes", "modality", "themes", "procedure", "equipment", "autonomy", "referred_to",
        "pass", NULL};
    const struct config_records *r = &req->app->cfg->records;
    const cJSON *it;
    int idx;

    memset(b, 0, sizeof *b);
    b->group.age_min = b->group.age_max = RECORDS_AGE_OPEN;
    json_check_known(c, body, allowed);
    b->person = json_get_int(c, body, "beneficiary_id", 0, 1, RECORDS_ID_MAX,
                             &b->beneficiary_id);
    it = cJSON_GetObjectItemCaseSensitive(body, "anonymous");
    b->anon = !it ? JSON_ABSENT : cJSON_IsNull(it) ? JSON_NULL
            : records_group_read(c, it, "anonymous", r, NULL, &b->group) == 0 ? JSON_OK
            : JSON_BAD;
    if (b->person == JSON_OK && b->anon == JSON_OK)
        json_check_add(c, "anonymous", "give beneficiary_id or anonymous, not both");
    else if (!patch && b->person != JSON_OK && b->anon != JSON_OK && b->person != JSON_BAD &&
             b->anon != JSON_BAD)
        json_check_add(c, "beneficiary_id", "required (or anonymous)");
    else if (patch && b->person == JSON_NULL && b->anon != JSON_OK)
        json_check_add(c, "beneficiary_id", "cannot be cleared: give anonymous instead");
    else if (patch && b->anon == JSON_NULL && b->person != JSON_OK)
        json_check_add(c, "anonymous", "cannot be cleared: give beneficiary_id instead");

    b->venue = json_get_int(c, body, "venue_id", 0, 1, RECORDS_ID_MAX, &b->venue_id);
    b->staff = json_get_int(c, body, "staff_id", 0, 1, RECORDS_ID_MAX, &b->staff_id);
    b->session = json_get_int(c, body, "session_id", 0, 1, RECORDS_ID_MAX, &b->session_id);
    b->referred = json_get_int(c, body, "referred_to", 0, 1, RECORDS_ID_MAX, &b->referred_to);
    b->started = json_get_time(c, body, "started_at", 0, &b->started_at);
    b->minutes = json_get_int(c, body, "minutes", !patch, 1, 480, &b->minutes_v);
    b->autonomy = json_get_int(c, body, "autonomy", 0, 1, 3, &b->autonomy_v);
    b->modality = json_get_enum(c, body, "modality", 0, records_modalities, &idx);
    if (b->modality == JSON_OK)
        b->modality_s = records_modalities[idx];
    /* Fields that always have a value may be left out of a PATCH, not
     * cleared. */
    if (b->started == JSON_NULL)
        json_check_add(c, "started_at", "required");
    if (patch && b->minutes == JSON_NULL)
        json_check_add(c, "minutes", "required");

    it = cJSON_GetObjectItemCaseSensitive(body, "themes");
    b->themes = !it ? JSON_ABSENT : JSON_OK;
    if ((!it && !patch) || (it && cJSON_IsNull(it))) {
        json_check_add(c, "themes", "required (at least one theme)");
        b->themes = JSON_BAD;
    } else if (it) {
        b->n_themes = records_read_strings(c, body, "themes", (const char *const *)r->themes,
                                           r->n_themes, b->theme, CONFIG_MAX_THEMES);
        if (b->n_themes == 0)
            json_check_add(c, "themes", "at least one theme");
        if (b->n_themes <= 0)
            b->themes = JSON_BAD;
    }
    it = cJSON_GetObjectItemCaseSensitive(body, "equipment");
    b->equipment = !it ? JSON_ABSENT : cJSON_IsNull(it) ? JSON_NULL : JSON_OK;
    if (b->equipment == JSON_OK) {
        size_t n = 0;
        while (records_equipment_uses[n])
            n++;
        b->n_equip = records_read_strings(c, body, "equipment", records_equipment_uses, n,
                                          b->equip, MAX_EQUIPMENT);
        if (b->n_equip < 0)
            b->equipment = JSON_BAD;
    }
    read_procedure(c, body, b);
    b->pass = json_get_str(c, body, "pass", 0, PASS_MAX, &b->pass_s);
    if (b->pass == JSON_OK) {
        b->pass_s = trimmed(b->pass_s, &b->pass_len);
        if (b->pass_len == 0)
            b->pass = JSON_NULL;
    }
}

/* Adds "no such …" to C when ID (given) does not exist. 0 or -1 (error). */
static int must_exist(struct store *st, struct json_check *c, int state, int64_t id,
                      const char *sql, const char *field, const char *what)
{
    int64_t one;
    int found;

    if (state != JSON_OK)
        return 0;
    found = store_int_query(st, sql, id, &one);
    if (found < 0)
        return -1;
    if (!found)
        json_check_add(c, field, "no such %s", what);
    return 0;
}

/* The references of B: each one must exist (422 naming it); session_id
 * must be a permanence that is not cancelled. On create, a missing venue is
 * the permanence's. 0 or -1 (database error). */
static int check_refs(struct http_req *req, struct json_check *c, struct body *b, int patch)
{
    struct store *st = req->app->store;
    int ok;

    if (b->person == JSON_OK) {
        if ((ok = records_person_ok(req, b->beneficiary_id)) < 0)
            return -1;
        if (!ok)
            json_check_add(c, "beneficiary_id", "no such beneficiary");
    }
    if (must_exist(st, c, b->venue, b->venue_id, "SELECT 1 FROM venues WHERE id = ?1",
                   "venue_id", "venue") != 0 ||
        must_exist(st, c, b->staff, b->staff_id, "SELECT 1 FROM staff WHERE id = ?1",
                   "staff_id", "staff member") != 0 ||
        must_exist(st, c, b->referred, b->referred_to,
                   "SELECT 1 FROM organisations WHERE id = ?1", "referred_to",
                   "organisation") != 0)
        return -1;
    if (b->session == JSON_OK) {
        struct sessions_row row;
        int rc = sessions_load(st, b->session_id, &row);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            json_check_add(c, "session_id", "no such session");
        } else {
            if (row.kind != SESSION_PERMANENCE)
                json_check_add(c, "session_id", "must be a permanence");
            else if (row.cancelled)
                json_check_add(c, "session_id", "the session is cancelled");
            else if (!patch && b->venue == JSON_ABSENT && row.venue_id > 0) {
                b->venue = JSON_OK;
                b->venue_id = row.venue_id;
            }
            sessions_row_clear(&row);
        }
    }
    return 0;
}

/* A trainer records their own: staff_id is theirs (given or, on create,
 * taken). 0 when allowed, else answers 403 and returns -1. */
static int trainer_rule(struct http_req *req, struct body *b, int patch)
{
    if (req->role != ROLE_TRAINER)
        return 0;
    if (req->staff_id <= 0) {
        http_problem(req, 403, "this trainer token is bound to no staff member");
        return -1;
    }
    if (!patch && b->staff == JSON_ABSENT) {
        b->staff = JSON_OK;
        b->staff_id = req->staff_id;
    }
    if (b->staff == JSON_NULL || (b->staff == JSON_OK && b->staff_id != req->staff_id)) {
        http_problem(req, 403, "a trainer records their own accompaniments only");
        return -1;
    }
    return 0;
}

static int bind_id(sqlite3_stmt *s, int i, int state, int64_t v)
{
    return state == JSON_OK ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

static int bind_str(sqlite3_stmt *s, int i, int state, const char *v, size_t len)
{
    return state == JSON_OK ? sqlite3_bind_text(s, i, v, (int)len, SQLITE_TRANSIENT)
                            : sqlite3_bind_null(s, i);
}

static int given(int state)
{
    return state == JSON_OK || state == JSON_NULL;
}

/* The parameters both statements share: values ?1..?27 (with "given" flags
 * beside them, which the INSERT does not read), ?28 the time. */
static int bind_body(sqlite3_stmt *s, const struct body *b, int64_t now)
{
    static const struct records_group none = {NULL, RECORDS_AGE_OPEN, RECORDS_AGE_OPEN, NULL};
    const char *modality = b->modality == JSON_OK ? b->modality_s : "on_site";

    if (bind_id(s, 1, b->person, b->beneficiary_id) != SQLITE_OK ||
        records_group_bind(s, 2, b->anon == JSON_OK ? &b->group : &none) != SQLITE_OK ||
        sqlite3_bind_int(s, 6, b->person == JSON_OK || b->anon == JSON_OK) != SQLITE_OK ||
        bind_id(s, 7, b->venue, b->venue_id) != SQLITE_OK ||
        sqlite3_bind_int(s, 8, given(b->venue)) != SQLITE_OK ||
        bind_id(s, 9, b->staff, b->staff_id) != SQLITE_OK ||
        sqlite3_bind_int(s, 10, given(b->staff)) != SQLITE_OK ||
        bind_id(s, 11, b->session, b->session_id) != SQLITE_OK ||
        sqlite3_bind_int(s, 12, given(b->session)) != SQLITE_OK ||
        sqlite3_bind_int64(s, 13, b->started == JSON_OK ? b->started_at : now) != SQLITE_OK ||
        sqlite3_bind_int(s, 14, b->started == JSON_OK) != SQLITE_OK ||
        bind_id(s, 15, b->minutes, b->minutes_v) != SQLITE_OK ||
        sqlite3_bind_int(s, 16, b->minutes == JSON_OK) != SQLITE_OK ||
        store_bind_text(s, 17, modality) != SQLITE_OK ||
        sqlite3_bind_int(s, 18, given(b->modality)) != SQLITE_OK ||
        bind_str(s, 19, b->procedure, b->operator_s, b->operator_len) != SQLITE_OK ||
        (b->procedure == JSON_OK ? sqlite3_bind_int(s, 20, b->done)
                                 : sqlite3_bind_null(s, 20)) != SQLITE_OK ||
        sqlite3_bind_int(s, 21, given(b->procedure)) != SQLITE_OK ||
        bind_id(s, 22, b->autonomy, b->autonomy_v) != SQLITE_OK ||
        sqlite3_bind_int(s, 23, given(b->autonomy)) != SQLITE_OK ||
        bind_id(s, 24, b->referred, b->referred_to) != SQLITE_OK ||
        sqlite3_bind_int(s, 25, given(b->referred)) != SQLITE_OK ||
        bind_str(s, 26, b->pass, b->pass_s, b->pass_len) != SQLITE_OK ||
        sqlite3_bind_int(s, 27, given(b->pass)) != SQLITE_OK ||
        sqlite3_bind_int64(s, 28, now) != SQLITE_OK)
        return -1;
    return 0;
}

/* Replaces the rows of accompaniment ID in a side table with LIST[0..N),
 * in order. DEL and INS: the statements ("?1" the id; "?1, ?2 pos, ?3"). */
static int write_list(struct store *st, int64_t id, const char *del, const char *ins,
                      const char *const *list, int n)
{
    sqlite3_stmt *s = store_stmt(st, del);

    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        store_done(s);
        return -1;
    }
    store_done(s);
    for (int i = 0; i < n; i++) {
        s = store_stmt(st, ins);
        if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            sqlite3_bind_int(s, 2, i) != SQLITE_OK ||
            store_bind_text(s, 3, list[i]) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
            store_done(s);
            return -1;
        }
        store_done(s);
    }
    return 0;
}

static int write_lists(struct store *st, int64_t id, const struct body *b)
{
    if (b->themes == JSON_OK &&
        write_list(st, id, "DELETE FROM accompaniment_themes WHERE accompaniment_id = ?1",
                   "INSERT INTO accompaniment_themes (accompaniment_id, pos, theme)"
                   " VALUES (?1, ?2, ?3)", b->theme, b->n_themes) != 0)
        return -1;
    if (given(b->equipment) &&
        write_list(st, id, "DELETE FROM accompaniment_equipment WHERE accompaniment_id = ?1",
                   "INSERT INTO accompaniment_equipment (accompaniment_id, pos, equipment)"
                   " VALUES (?1, ?2, ?3)", b->equip,
                   b->equipment == JSON_OK ? b->n_equip : 0) != 0)
        return -1;
    return 0;
}

void accompaniments_create(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct body b;
    sqlite3_stmt *s = NULL;
    cJSON *body = http_json_body(req);
    int64_t id;

    if (!body)
        return;
    json_check_init(&c);
    read_body(req, &c, body, 0, &b);
    if (trainer_rule(req, &b, 0) != 0)
        goto out;
    if (check_refs(req, &c, &b, 0) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "INSERT INTO accompaniments (beneficiary_id, anon_gender, anon_age_min,"
                       " anon_age_max, anon_residence, venue_id, staff_id, session_id, started_at,"
                       " minutes, modality, procedure_operator, procedure_done, autonomy,"
                       " referred_to, pass, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?9, ?11, ?13, ?15, ?17, ?19, ?20, ?22,"
                       " ?24, ?26, ?28, ?28)");
    if (!s || bind_body(s, &b, rt_now()) != 0 || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    id = sqlite3_last_insert_rowid(store_db(st));
    store_done(s);
    s = NULL;
    if (write_lists(st, id, &b) != 0)
        goto fail;
    accompaniments_reply(req, id, 201);
    goto out;
fail:
    log_error("accompaniments", "recording an accompaniment: %s", sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not record the accompaniment");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}

void accompaniments_patch(struct http_req *req)
{
    struct store *st = req->app->store;
    struct json_check c;
    struct body b;
    sqlite3_stmt *s = NULL;
    cJSON *body;
    int64_t id, staff = 0;
    int found;

    if (http_param_id(req, "id", &id) != 0)
        return;
    if (!(body = http_json_body(req)))
        return;
    json_check_init(&c);
    found = store_int_query(st, "SELECT coalesce(staff_id, 0) FROM accompaniments WHERE id = ?1",
                            id, &staff);
    if (found < 0)
        goto fail;
    if (found == 0 || (req->role == ROLE_TRAINER && staff != req->staff_id)) {
        http_problem(req, 404, "no accompaniment %lld", (long long)id);
        goto out;
    }
    read_body(req, &c, body, 1, &b);
    if (trainer_rule(req, &b, 1) != 0)
        goto out;
    if (check_refs(req, &c, &b, 1) != 0)
        goto fail;
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    s = store_stmt(st, "UPDATE accompaniments SET"
                       " beneficiary_id = CASE WHEN ?6 THEN ?1 ELSE beneficiary_id END,"
                       " anon_gender = CASE WHEN ?6 THEN ?2 ELSE anon_gender END,"
                       " anon_age_min = CASE WHEN ?6 THEN ?3 ELSE anon_age_min END,"
                       " anon_age_max = CASE WHEN ?6 THEN ?4 ELSE anon_age_max END,"
                       " anon_residence = CASE WHEN ?6 THEN ?5 ELSE anon_residence END,"
                       " venue_id = CASE WHEN ?8 THEN ?7 ELSE venue_id END,"
                       " staff_id = CASE WHEN ?10 THEN ?9 ELSE staff_id END,"
                       " session_id = CASE WHEN ?12 THEN ?11 ELSE session_id END,"
                       " started_at = CASE WHEN ?14 THEN ?13 ELSE started_at END,"
                       " minutes = CASE WHEN ?16 THEN ?15 ELSE minutes END,"
                       " modality = CASE WHEN ?18 THEN ?17 ELSE modality END,"
                       " procedure_operator = CASE WHEN ?21 THEN ?19 ELSE procedure_operator END,"
                       " procedure_done = CASE WHEN ?21 THEN ?20 ELSE procedure_done END,"
                       " autonomy = CASE WHEN ?23 THEN ?22 ELSE autonomy END,"
                       " referred_to = CASE WHEN ?25 THEN ?24 ELSE referred_to END,"
                       " pass = CASE WHEN ?27 THEN ?26 ELSE pass END,"
                       " updated_at = ?28 WHERE id = ?29");
    if (!s || bind_body(s, &b, rt_now()) != 0 || sqlite3_bind_int64(s, 29, id) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    s = NULL;
    if (write_lists(st, id, &b) != 0)
        goto fail;
    accompaniments_reply(req, id, 200);
    goto out;
fail:
    log_error("accompaniments", "updating accompaniment %lld: %s", (long long)id,
              sqlite3_errmsg(store_db(st)));
    http_problem(req, 500, "could not update the accompaniment");
out:
    store_done(s);
    json_check_free(&c);
    cJSON_Delete(body);
}
