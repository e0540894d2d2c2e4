/* Domain helpers: the name search key, "own session", the change records and
 * the field tables of the people resources, against a real SQLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "domain.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"

#define NOW INT64_C(1772701200)

static void fold_is(const char *in, const char *want)
{
    char *got = domain_fold(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void fold_accents_and_case(void **state)
{
    (void)state;
    fold_is("Élodie LEFÈVRE", "elodie lefevre");
    fold_is("àâäáãå ÀÂÄÁÃÅ", "aaaaaa aaaaaa");
    fold_is("çć ÇĆ éèêë ÉÈÊË", "cc cc eeee eeee");
    fold_is("îïíì ÎÏÍÌ ôöóòõ ÔÖÓÒÕ", "iiii iiii ooooo ooooo");
    fold_is("ûüúù ÛÜÚÙ ÿŸ ñÑ", "uuuu uuuu yy nn");
    fold_is("Œuvre cœur Æsa æ Straße ẞ", "oeuvre coeur aesa ae strasse ss");
    fold_is("Łukasz Dvořák Şahin", "lukasz dvorak sahin");
    /* Decomposed (NFD) accents lose their combining marks. */
    fold_is("E\xcc\x81lodie", "elodie");
    /* Characters with no fold stay as they are. */
    fold_is("Ωmega 李 42", "Ωmega 李 42");
}

static void fold_separators(void **state)
{
    (void)state;
    fold_is("  Jean-Pierre   N'Diaye  ", "jean pierre n diaye");
    fold_is("d\xe2\x80\x99" "Arc", "d arc");           /* ’ */
    fold_is("a - b ' c", "a b c");
    fold_is("\tA\n\rB\xc2\xa0" "C", "a b c");          /* tab, newline, no-break space */
    fold_is("---", "");
    fold_is("", "");
    assert_null(domain_fold(NULL));
}

static void fold_keeps_broken_utf8(void **state)
{
    (void)state;
    /* Bodies are checked for UTF-8 before, but the fold must not read past
     * the end of a truncated sequence. */
    fold_is("ab\xc3", "ab\xc3");
    fold_is("\xe2\x80", "\xe2\x80");
    fold_is("\xff X", "\xff x");
}

/* --- with a database ---------------------------------------------------------- */

struct fixture {
    char path[64];
    struct store *st;
};

static int db_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char *err = NULL;
    int fd;
    if (!f)
        return -1;
    snprintf(f->path, sizeof f->path, "/tmp/relais-test-domain-XXXXXX");
    fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    if (store_open(f->path, &f->st, &err) != 0 || store_migrate_core(f->st, &err) != 0) {
        fprintf(stderr, "%s\n", err ? err : "store");
        free(err);
        return -1;
    }
    if (store_exec(f->st,
                   "INSERT INTO staff (id, name, role, created_at, updated_at)"
                   " VALUES (1, 'T1', 'trainer', 0, 0), (2, 'T2', 'trainer', 0, 0);"
                   "INSERT INTO sessions (id, kind, title, trainer_id, starts_at, ends_at,"
                   " created_at, updated_at) VALUES"
                   " (10, 'workshop', 'W', 1, 100, 200, 0, 0),"
                   " (11, 'workshop', 'no trainer', NULL, 100, 200, 0, 0),"
                   " (20, 'training', 'T', 2, 100, 400, 0, 0);"
                   "INSERT INTO sessions (id, kind, title, trainer_id, parent_id, starts_at,"
                   " ends_at, created_at, updated_at) VALUES"
                   " (21, 'training', 'part', NULL, 20, 100, 200, 0, 0),"
                   " (22, 'training', 'part', 1, 20, 300, 400, 0, 0);"
                   "INSERT INTO beneficiaries (id, first_name, last_name, created_at,"
                   " updated_at) VALUES (1, 'A', 'B', 0, 0);"
                   "INSERT INTO enrollments (id, session_id, beneficiary_id, status,"
                   " created_at, updated_at) VALUES (5, 10, 1, 'booked', 0, 0);") != 0)
        return -1;
    rt_set_now(NOW);
    *state = f;
    return 0;
}

static int db_teardown(void **state)
{
    struct fixture *f = *state;
    char side[80];
    rt_set_now(RT_NONE);
    store_close(f->st);
    unlink(f->path);
    snprintf(side, sizeof side, "%s-wal", f->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->path);
    unlink(side);
    free(f);
    return 0;
}

static void own_sessions(void **state)
{
    struct store *st = ((struct fixture *)*state)->st;
    assert_int_equal(domain_session_is_own(st, 10, 1), 1);
    assert_int_equal(domain_session_is_own(st, 10, 2), 0);
    assert_int_equal(domain_session_is_own(st, 11, 1), 0);
    /* A part belongs to its own trainer and to the training's. */
    assert_int_equal(domain_session_is_own(st, 21, 2), 1);
    assert_int_equal(domain_session_is_own(st, 22, 2), 1);
    assert_int_equal(domain_session_is_own(st, 22, 1), 1);
    assert_int_equal(domain_session_is_own(st, 21, 1), 0);
    assert_int_equal(domain_session_is_own(st, 20, 2), 1);
    /* Unbound tokens and unknown sessions own nothing. */
    assert_int_equal(domain_session_is_own(st, 10, 0), 0);
    assert_int_equal(domain_session_is_own(st, 999, 1), 0);
}

static void records(void **state)
{
    struct store *st = ((struct fixture *)*state)->st;
    sqlite3_stmt *s;
    assert_int_equal(domain_record_session_change(st, 10, "moved", 100, 200, 0, 150, 250, 0, 7), 0);
    assert_int_equal(domain_record_session_change(st, 10, "cancelled", 0, 0, 0, 0, 0, 0, 0), 0);
    s = store_stmt(st, "SELECT session_id, at, kind, old_starts_at, old_ends_at, old_venue_id,"
                       " new_starts_at, new_ends_at, new_venue_id, token_id"
                       " FROM session_changes ORDER BY id");
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(s, 0), 10);
    assert_int_equal(sqlite3_column_int64(s, 1), NOW);
    assert_string_equal((const char *)sqlite3_column_text(s, 2), "moved");
    assert_int_equal(sqlite3_column_int64(s, 3), 100);
    assert_int_equal(sqlite3_column_int64(s, 7), 250);
    assert_int_equal(sqlite3_column_type(s, 5), SQLITE_NULL);   /* 0: not relevant */
    assert_int_equal(sqlite3_column_int64(s, 9), 7);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 2), "cancelled");
    assert_int_equal(sqlite3_column_type(s, 3), SQLITE_NULL);
    assert_int_equal(sqlite3_column_type(s, 9), SQLITE_NULL);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    store_done(s);
    /* The schema's CHECK refuses a kind it does not know. */
    assert_int_equal(domain_record_session_change(st, 10, "exploded", 0, 0, 0, 0, 0, 0, 0), -1);

    assert_int_equal(domain_record_enrollment_event(st, 5, "booked", 3), 0);
    assert_int_equal(domain_record_enrollment_event(st, 5, "cancelled", 0), 0);
    assert_int_equal(domain_record_enrollment_event(st, 5, "lost", 0), -1);
    s = store_stmt(st, "SELECT enrollment_id, at, kind, token_id FROM enrollment_events"
                       " ORDER BY id");
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(s, 0), 5);
    assert_int_equal(sqlite3_column_int64(s, 1), NOW);
    assert_string_equal((const char *)sqlite3_column_text(s, 2), "booked");
    assert_int_equal(sqlite3_column_int64(s, 3), 3);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 2), "cancelled");
    assert_int_equal(sqlite3_column_type(s, 3), SQLITE_NULL);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    store_done(s);
}

/* --- field tables ---------------------------------------------------------------- */

static const char *const kinds[] = {"trainer", "coordinator", NULL};
static const struct domain_field tf[] = {
    {"name", DF_TEXT, 1, 10, 0, 0, NULL},
    {"note", DF_TEXT, 0, 10, 0, 0, NULL},
    {"email", DF_EMAIL, 0, 30, 0, 0, NULL},
    {"phone", DF_PHONE, 0, 0, 0, 0, NULL},
    {"flag", DF_BOOL, 0, 0, 0, 0, NULL},
    {"n", DF_INT, 0, 0, 1, 5, NULL},
    {"year", DF_YEAR, 0, 0, 1900, 0, NULL},
    {"role", DF_ENUM, 1, 0, 0, 0, kinds},
};
#define TN (sizeof tf / sizeof tf[0])

/* Reads JSON into V and returns the sorted, comma-joined error fields. */
static char *read_body(const char *json, int patch, struct domain_value *v, cJSON **body)
{
    struct json_check c;
    char *out = calloc(1, 512);
    int i, n;
    assert_non_null(out);
    *body = cJSON_Parse(json);
    assert_non_null(*body);
    json_check_init(&c);
    domain_fields_read(&c, *body, tf, TN, patch, v);
    n = cJSON_GetArraySize(c.errors);
    for (i = 0; i < n; i++) {
        cJSON *e = cJSON_GetArrayItem(c.errors, i);
        if (i)
            strcat(out, ",");
        strcat(out, cJSON_GetObjectItem(e, "field")->valuestring);
    }
    json_check_free(&c);
    return out;
}

static void fields_create(void **state)
{
    struct domain_value v[TN];
    cJSON *body;
    char *errs;
    (void)state;
    errs = read_body("{\"name\": \"  Léa  \", \"note\": \"  \", \"email\": \"a@b.fr\","
                     " \"phone\": \"06 12 34 56 78\", \"n\": 3, \"year\": 1950,"
                     " \"role\": \"coordinator\"}", 0, v, &body);
    assert_string_equal(errs, "");
    assert_int_equal(v[0].state, JSON_OK);
    assert_int_equal((int)v[0].len, 4);          /* trimmed: "Léa" is 4 bytes */
    assert_memory_equal(v[0].s, "Léa", 4);
    assert_int_equal(v[1].state, JSON_NULL);     /* blank optional text is cleared */
    assert_string_equal(v[3].s, "+33612345678");
    assert_int_equal(v[4].state, JSON_ABSENT);
    assert_int_equal(v[5].i, 3);
    assert_string_equal(v[7].s, "coordinator");
    free(errs);
    cJSON_Delete(body);

    errs = read_body("{\"name\": \" \", \"email\": \"a @b\", \"phone\": \"12\","
                     " \"flag\": 1, \"n\": 6, \"year\": 3000, \"role\": \"boss\", \"x\": 1}",
                     0, v, &body);
    assert_string_equal(errs, "x,name,email,phone,flag,n,year,role");
    free(errs);
    cJSON_Delete(body);

    errs = read_body("{}", 0, v, &body);
    assert_string_equal(errs, "name,role");
    free(errs);
    cJSON_Delete(body);
}

static void fields_patch(void **state)
{
    struct domain_value v[TN];
    cJSON *body;
    char *errs;
    (void)state;
    errs = read_body("{}", 1, v, &body);
    assert_string_equal(errs, "");
    assert_int_equal(v[0].state, JSON_ABSENT);
    free(errs);
    cJSON_Delete(body);

    errs = read_body("{\"note\": null, \"flag\": null, \"phone\": \"\"}", 1, v, &body);
    assert_string_equal(errs, "");
    assert_int_equal(v[1].state, JSON_NULL);
    assert_int_equal(v[4].state, JSON_NULL);
    assert_int_equal(v[3].state, JSON_NULL);
    assert_int_equal(v[0].state, JSON_ABSENT);
    free(errs);
    cJSON_Delete(body);

    /* Required fields may be left out of a PATCH but never cleared. */
    errs = read_body("{\"name\": null, \"role\": null}", 1, v, &body);
    assert_string_equal(errs, "name,role");
    free(errs);
    cJSON_Delete(body);
    errs = read_body("{\"name\": \"\"}", 1, v, &body);
    assert_string_equal(errs, "name");
    free(errs);
    cJSON_Delete(body);
    errs = read_body("{\"name\": \"   \"}", 1, v, &body);
    assert_string_equal(errs, "name");
    free(errs);
    cJSON_Delete(body);
}

static void fields_bind_and_render(void **state)
{
    struct store *st = ((struct fixture *)*state)->st;
    struct domain_value v[TN];
    sqlite3_stmt *s;
    cJSON *body, *o;
    char *errs, *text;

    errs = read_body("{\"name\": \" Zoé \", \"flag\": true, \"n\": 2, \"role\": \"trainer\","
                     " \"phone\": \"0690 12 34 56\"}", 0, v, &body);
    assert_string_equal(errs, "");
    s = store_stmt(st, "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                       " ?14, ?15, ?16");
    assert_non_null(s);
    assert_int_equal(domain_fields_bind(s, tf, TN, v, 1), 0);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "Zoé");
    assert_int_equal(sqlite3_column_type(s, 1), SQLITE_NULL);
    assert_int_equal(sqlite3_column_int(s, 8), 1);       /* name given */
    assert_int_equal(sqlite3_column_int(s, 9), 0);       /* note not */
    o = cJSON_CreateObject();
    assert_non_null(o);
    assert_int_equal(domain_fields_render(o, s, 0, tf, TN), 0);
    text = cJSON_PrintUnformatted(o);
    assert_string_equal(text, "{\"name\":\"Zoé\",\"note\":null,\"email\":null,"
                              "\"phone\":\"+590690123456\",\"flag\":true,\"n\":2,"
                              "\"year\":null,\"role\":\"trainer\"}");
    store_done(s);
    free(text);
    cJSON_Delete(o);
    free(errs);
    cJSON_Delete(body);

    /* Without flags the statement needs only the values. */
    errs = read_body("{\"name\": \"A\", \"role\": \"trainer\"}", 0, v, &body);
    s = store_stmt(st, "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8");
    assert_non_null(s);
    assert_int_equal(domain_fields_bind(s, tf, TN, v, 0), 0);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 4), 0);       /* an absent bool is false */
    store_done(s);
    free(errs);
    cJSON_Delete(body);
}

static void conflicts(void **state)
{
    struct store *st = ((struct fixture *)*state)->st;
    sqlite3 *db = store_db(st);
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO beneficiaries (first_name, external_id,"
                                          " created_at, updated_at) VALUES ('x', 'E', 0, 0),"
                                          " ('y', 'E', 0, 0)", NULL, NULL, NULL), SQLITE_OK);
    assert_true(domain_is_conflict(db));
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM staff WHERE id = 1", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_true(domain_is_conflict(db));
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO staff (name, role, created_at,"
                                          " updated_at) VALUES ('x', 'boss', 0, 0)",
                                      NULL, NULL, NULL), SQLITE_OK);
    assert_false(domain_is_conflict(db));                /* a CHECK is a bug, not a 409 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fold_accents_and_case),
        cmocka_unit_test(fold_separators),
        cmocka_unit_test(fold_keeps_broken_utf8),
        cmocka_unit_test(fields_create),
        cmocka_unit_test(fields_patch),
        cmocka_unit_test_setup_teardown(own_sessions, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(records, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(fields_bind_and_render, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(conflicts, db_setup, db_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
