/* The records' vocabulary (core/domain/records.c): age brackets and their labels,
 * the territory's neighbourhoods, the kind of an organisation from its
 * name, anonymous groups and dates in bodies; and the prescribers'
 * migration (core/domain/organisations.c) against a real SQLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "json.h"
#include "records.h"
#include "rtime.h"
#include "store.h"

static char *qpv[] = {"Le Biollay", "Les Épinettes", "L'Espinier"};
static char *qva[] = {"Le Centre-ville"};

static struct config_records programme(void)
{
    struct config_records r;
    memset(&r, 0, sizeof r);
    r.qpv = qpv;
    r.n_qpv = 3;
    r.qva = qva;
    r.n_qva = 1;
    r.age_brackets[0] = 26;
    r.age_brackets[1] = 36;
    r.age_brackets[2] = 46;
    r.age_brackets[3] = 56;
    r.n_age_brackets = 4;
    return r;
}

static void label_is(int min, int max, const char *want)
{
    char buf[RECORDS_LABEL_MAX];
    records_bracket_label(min, max, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void brackets(void **state)
{
    struct config_records r = programme();
    static const char *const labels[] = {"<26", "26-35", "36-45", "46-55", "56+"};
    int lo, hi;

    (void)state;
    assert_int_equal(records_bracket_count(&r), 5);
    for (size_t i = 0; i < 5; i++) {
        char buf[RECORDS_LABEL_MAX];
        records_bracket_at(&r, i, &lo, &hi);
        records_bracket_label(lo, hi, buf, sizeof buf);
        assert_string_equal(buf, labels[i]);
        assert_int_equal(records_bracket_parse(&r, labels[i], &lo, &hi), 0);
    }
    assert_int_equal(records_bracket_parse(&r, "<26", &lo, &hi), 0);
    assert_int_equal(lo, RECORDS_AGE_OPEN);
    assert_int_equal(hi, 25);
    assert_int_equal(records_bracket_parse(&r, "46-55", &lo, &hi), 0);
    assert_int_equal(lo, 46);
    assert_int_equal(hi, 55);
    assert_int_equal(records_bracket_parse(&r, "56+", &lo, &hi), 0);
    assert_int_equal(lo, 56);
    assert_int_equal(hi, RECORDS_AGE_OPEN);
    /* Only the configured brackets are labels: not another table's, nor
     * typographic variants. */
    assert_int_equal(records_bracket_parse(&r, "60+", &lo, &hi), -1);
    assert_int_equal(records_bracket_parse(&r, "26–35", &lo, &hi), -1);
    assert_int_equal(records_bracket_parse(&r, "unknown", &lo, &hi), -1);
    assert_int_equal(records_bracket_parse(&r, "", &lo, &hi), -1);
    assert_int_equal(records_bracket_parse(&r, NULL, &lo, &hi), -1);
    /* The equipment table's brackets (programme-figures.md §2). */
    r.age_brackets[0] = 12;
    r.age_brackets[1] = 35;
    r.age_brackets[2] = 60;
    r.n_age_brackets = 3;
    assert_int_equal(records_bracket_count(&r), 4);
    assert_int_equal(records_bracket_parse(&r, "35-59", &lo, &hi), 0);
    assert_int_equal(records_bracket_parse(&r, "60+", &lo, &hi), 0);
    label_is(RECORDS_AGE_OPEN, RECORDS_AGE_OPEN, "unknown");
    label_is(RECORDS_AGE_OPEN, 11, "<12");
    label_is(100, RECORDS_AGE_OPEN, "100+");
}

static void residence(void **state)
{
    struct config_records r = programme(), none;

    (void)state;
    memset(&none, 0, sizeof none);
    assert_string_equal(records_residence_of(&r, "Le Biollay"), "qpv");
    assert_string_equal(records_residence_of(&r, "le biollay"), "qpv");
    assert_string_equal(records_residence_of(&r, "  LE  BIOLLAY "), "qpv");
    assert_string_equal(records_residence_of(&r, "Les Epinettes"), "qpv");
    assert_string_equal(records_residence_of(&r, "les épinettes"), "qpv");
    assert_string_equal(records_residence_of(&r, "L’Espinier"), "qpv");
    assert_string_equal(records_residence_of(&r, "le centre ville"), "qva");
    assert_null(records_residence_of(&r, "Biollay"));
    assert_null(records_residence_of(&r, "Le Biollay Nord"));
    assert_null(records_residence_of(&r, ""));
    assert_null(records_residence_of(&r, "---"));
    assert_null(records_residence_of(&r, NULL));
    assert_null(records_residence_of(&none, "Le Biollay"));
}

static void kinds(void **state)
{
    static const struct {
        const char *name, *kind;
    } cases[] = {
        {"CCAS de Chambéry", "ccas"}, {"ccas", "ccas"}, {"CIAS du Grand Chambéry", "ccas"},
        {"CAF de la Savoie", "caf"}, {"Caisse d'allocations familiales", "caf"},
        {"Mission locale jeunes", "mission_locale"}, {"France Travail", "france_travail"},
        {"Pôle emploi Chambéry", "france_travail"}, {"POLE-EMPLOI", "france_travail"},
        {"Maison France Services", "france_services"},
        {"Centre social du Biollay", "centre_social"},
        {"Centre socioculturel de Cognin", "centre_social"},
        {"Médiathèque Jean-Jacques Rousseau", "mediatheque"},
        {"Bibliothèque de Bellevue", "mediatheque"}, {"Cristal Habitat", "bailleur"},
        {"OPAC de la Savoie", "bailleur"}, {"École Pasteur", "ecole"},
        {"Mairie de Barby", "commune"}, {"Conseil départemental", "departement"},
        {"Association Clic'Solidaire", "association"},
        /* Not obvious: other. Words must be whole ("cafe" is no CAF). */
        {"CPAM de la Savoie", "other"}, {"Café des aidants", "other"},
        {"Mme Durand, assistante sociale", "other"}, {"", "other"}, {NULL, "other"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = records_organisation_kind_guess(cases[i].name);
        if (strcmp(got, cases[i].kind) != 0)
            fail_msg("%s: %s, want %s", cases[i].name ? cases[i].name : "(null)", got,
                     cases[i].kind);
    }
}

static void dates(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(records_date_ok("2026-03-04"), 0);
    assert_int_equal(records_date_ok("2024-02-29"), 0);
    assert_int_equal(records_date_ok("2026-02-29"), -1);
    assert_int_equal(records_date_ok("2026-3-4"), -1);
    assert_int_equal(records_date_ok("2026-03-04T10:00:00Z"), -1);
    assert_int_equal(records_date_ok(""), -1);
    assert_int_equal(records_date_ok(NULL), -1);
    assert_int_equal(records_query_date("2026-03-04", out, sizeof out), 0);
    assert_string_equal(out, "2026-03-04");
    /* A time is read as its local date (Paris: 23:30 UTC is the next day). */
    assert_int_equal(records_query_date("2026-03-04T23:30:00Z", out, sizeof out), 0);
    assert_string_equal(out, "2026-03-05");
    assert_int_equal(records_query_date("mars", out, sizeof out), -1);
    assert_int_equal(records_query_date("2026-03-04", out, 8), -1);
}

/* Reads BODY's "g" as a group; returns the errors as "field=message;…". */
static char *group_errors(const char *body, struct records_group *g)
{
    static const char *const extra[] = {"n", NULL};
    struct config_records r = programme();
    struct json_check c;
    cJSON *doc = cJSON_Parse(body), *e;
    char *out = calloc(1, 1024);

    assert_non_null(doc);
    assert_non_null(out);
    json_check_init(&c);
    records_group_read(&c, cJSON_GetObjectItem(doc, "g"), "counts[1]", &r, extra, g);
    cJSON_ArrayForEach(e, c.errors) {
        strcat(out, cJSON_GetStringValue(cJSON_GetObjectItem(e, "field")));
        strcat(out, ";");
    }
    json_check_free(&c);
    cJSON_Delete(doc);
    return out;
}

static void groups(void **state)
{
    struct records_group g;
    char *errs;

    (void)state;
    errs = group_errors("{\"g\": {\"gender\": \"F\", \"age_bracket\": \"56+\","
                        " \"residence\": \"qpv\", \"n\": 3}}", &g);
    assert_string_equal(errs, "");
    assert_string_equal(g.gender, "F");
    assert_string_equal(g.residence, "qpv");
    assert_int_equal(g.age_min, 56);
    assert_int_equal(g.age_max, RECORDS_AGE_OPEN);
    free(errs);
    /* Every part may be unknown (absent or null). */
    errs = group_errors("{\"g\": {\"gender\": null}}", &g);
    assert_string_equal(errs, "");
    assert_null(g.gender);
    assert_null(g.residence);
    assert_int_equal(g.age_min, RECORDS_AGE_OPEN);
    assert_int_equal(g.age_max, RECORDS_AGE_OPEN);
    free(errs);
    /* Each bad part is named under the prefix. */
    errs = group_errors("{\"g\": {\"gender\": \"W\", \"age_bracket\": \"60+\","
                        " \"residence\": \"QPV\", \"colour\": 1}}", &g);
    assert_non_null(strstr(errs, "counts[1].gender;"));
    assert_non_null(strstr(errs, "counts[1].age_bracket;"));
    assert_non_null(strstr(errs, "counts[1].residence;"));
    assert_non_null(strstr(errs, "counts[1].colour;"));
    free(errs);
    errs = group_errors("{\"g\": [1]}", &g);
    assert_string_equal(errs, "counts[1];");
    free(errs);
}

/* --- the prescribers' migration, on a database ------------------------------------ */

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
    snprintf(f->path, sizeof f->path, "/tmp/relais-test-records-XXXXXX");
    if ((fd = mkstemp(f->path)) < 0)
        return -1;
    close(fd);
    if (store_open(f->path, &f->st, &err) != 0 || store_migrate_core(f->st, &err) != 0) {
        fprintf(stderr, "%s\n", err ? err : "store");
        free(err);
        return -1;
    }
    if (store_exec(f->st,
                   "INSERT INTO organisations (id, name, name_key, kind, created_at, updated_at)"
                   " VALUES (1, 'CAF de la Savoie', 'caf de la savoie', 'caf', 0, 0);"
                   "INSERT INTO beneficiaries (id, first_name, last_name, prescriber,"
                   " neighborhood, erased_at, created_at, updated_at) VALUES"
                   " (1, 'A', 'A', 'CCAS de Chambéry', 'Le Biollay', NULL, 0, 0),"
                   " (2, 'B', 'B', 'ccas de chambery', 'Ailleurs', NULL, 0, 0),"
                   " (3, 'C', 'C', 'CAF DE LA SAVOIE', NULL, NULL, 0, 0),"
                   " (4, 'D', 'D', 'Mme Durand', 'le centre-ville', NULL, 0, 0),"
                   " (5, NULL, NULL, NULL, 'Les Epinettes', 99, 0, 0);") != 0)
        return -1;
    *state = f;
    return 0;
}

static int db_teardown(void **state)
{
    struct fixture *f = *state;
    char side[80];

    store_close(f->st);
    unlink(f->path);
    snprintf(side, sizeof side, "%s-wal", f->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->path);
    unlink(side);
    free(f);
    return 0;
}

static int64_t q(struct store *st, const char *sql, int64_t arg)
{
    int64_t v = -1;
    assert_int_equal(store_int_query(st, sql, arg, &v), 1);
    return v;
}

static void migrate(void **state)
{
    struct store *st = ((struct fixture *)*state)->st;
    struct config_records r = programme();
    int orgs = -1, linked = -1, placed = -1;

    assert_int_equal(records_migrate(st, &r, &orgs, &linked, &placed), 0);
    /* "CCAS de Chambéry" twice (one way of writing it, then another) is one
     * organisation; the CAF existed; Mme Durand is an organisation too. */
    assert_int_equal(orgs, 2);
    assert_int_equal(linked, 4);
    assert_int_equal(placed, 3);             /* 1, 4 (qva) and the erased 5 */
    assert_int_equal(q(st, "SELECT count(*) FROM organisations", 0), 3);
    assert_int_equal(q(st, "SELECT organisation_id FROM beneficiaries WHERE id = ?1", 1),
                     q(st, "SELECT organisation_id FROM beneficiaries WHERE id = ?1", 2));
    assert_int_equal(q(st, "SELECT organisation_id FROM beneficiaries WHERE id = ?1", 3), 1);
    assert_int_equal(q(st, "SELECT count(*) FROM organisations o JOIN beneficiaries b"
                           " ON b.organisation_id = o.id WHERE b.id = ?1 AND o.kind = 'ccas'",
                       1), 1);
    assert_int_equal(q(st, "SELECT count(*) FROM organisations o JOIN beneficiaries b"
                           " ON b.organisation_id = o.id WHERE b.id = ?1 AND o.kind = 'other'"
                           " AND o.name = 'Mme Durand'", 4), 1);
    assert_int_equal(q(st, "SELECT count(*) FROM beneficiaries WHERE residence = 'qpv'", 0), 2);
    assert_int_equal(q(st, "SELECT count(*) FROM beneficiaries WHERE residence = 'qva'", 0), 1);
    assert_int_equal(q(st, "SELECT count(*) FROM beneficiaries WHERE id = ?1"
                           " AND organisation_id IS NULL", 5), 1);
    /* A second run finds nothing to do. */
    assert_int_equal(records_migrate(st, &r, &orgs, &linked, &placed), 0);
    assert_int_equal(orgs + linked + placed, 0);
    assert_int_equal(q(st, "SELECT count(*) FROM organisations", 0), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(brackets),
        cmocka_unit_test(residence),
        cmocka_unit_test(kinds),
        cmocka_unit_test(dates),
        cmocka_unit_test(groups),
        cmocka_unit_test_setup_teardown(migrate, db_setup, db_teardown),
    };
    rt_set_timezone("Europe/Paris", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
