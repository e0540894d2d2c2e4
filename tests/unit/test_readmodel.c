/* The read models of plugins (core/store/schema.c step 6, core/plugin/plugins_views.c,
 * plugins/API.md "Read models"):
 * - each relais_v1_* view returns what its table holds, column by column,
 *   and none shows what identifies a person or a secret;
 * - the activity report's queries (plugins/reports/queries.lua, read with
 *   Lua as the plugin builds them) are planned through the views exactly as
 *   on the tables, and search the indexes: no table that grows with the
 *   programme (sessions, enrollments, people, messages, accompaniments,
 *   walk-ins, loans, meetings, survey answers, Pix results) is read whole;
 * - the authorizer lets a plugin read the views and refuses every other way
 *   to the core's tables (tests/unit/plugins/readp);
 * - a plugin reads another's published read model (NAME_v1_…) and nothing
 *   around it (tests/unit/plugins/pubp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>

#include "plugins_fixture.h"

/* --- the views hold the tables ------------------------------------------------- */

static const struct {
    const char *view, *table_sql, *order;   /* ORDER BY of the view (NULL: id) */
} models[] = {
    {"relais_v1_venues", "SELECT id, name, address, commune, neighborhood, aptic, accessible,"
                         " created_at, updated_at FROM venues ORDER BY id", NULL},
    {"relais_v1_staff", "SELECT id, name, role, created_at, updated_at FROM staff ORDER BY id", NULL},
    {"relais_v1_people", "SELECT id, first_name, gender, birth_year, commune, neighborhood,"
                         " external_id, search_key, consent_sms, consent_email, created_at,"
                         " updated_at, erased_at, organisation_id, audience, residence"
                         " FROM beneficiaries ORDER BY id", NULL},
    {"relais_v1_sessions", "SELECT id, kind, title, theme, level, venue_id, trainer_id,"
                           " starts_at, ends_at, capacity, slot_minutes, online, status,"
                           " series_id, parent_id, sequence, taken_n AS booked,"
                           " waitlisted_n AS waitlisted, created_at, updated_at,"
                           " cancel_reason, headcount FROM sessions ORDER BY id", NULL},
    {"relais_v1_enrollments", "SELECT id, session_id, beneficiary_id, parent_id, status,"
                              " slot_start, created_at, updated_at FROM enrollments ORDER BY id", NULL},
    {"relais_v1_notifications", "SELECT id, enrollment_id, beneficiary_id, session_id, kind,"
                                " channel, status, attempts, segments, due_at, sent_at,"
                                " created_at, updated_at FROM notifications ORDER BY id", NULL},
    /* The programme's records (core/store/schema.c, step 19). */
    {"relais_v1_organisations", "SELECT id, name, kind, commune, created_at, updated_at"
                                " FROM organisations ORDER BY id", NULL},
    {"relais_v1_accompaniments", "SELECT id, beneficiary_id, anon_gender, anon_age_min,"
                                 " anon_age_max, anon_residence, venue_id, staff_id,"
                                 " session_id, started_at, minutes, modality,"
                                 " procedure_operator, procedure_done, autonomy, referred_to,"
                                 " pass, created_at, updated_at FROM accompaniments ORDER BY id", NULL},
    {"relais_v1_accompaniment_themes", "SELECT accompaniment_id, pos, theme"
                                       " FROM accompaniment_themes"
                                       " ORDER BY accompaniment_id, pos",
     "accompaniment_id, pos"},
    {"relais_v1_accompaniment_equipment", "SELECT accompaniment_id, pos, equipment"
                                          " FROM accompaniment_equipment"
                                          " ORDER BY accompaniment_id, pos",
     "accompaniment_id, pos"},
    {"relais_v1_headcounts", "SELECT id, session_id, gender, age_min, age_max, residence, n"
                             " FROM session_headcounts ORDER BY id", NULL},
    {"relais_v1_meetings", "SELECT id, kind, title, date, attendees, minutes, created_at,"
                           " updated_at FROM meetings ORDER BY id", NULL},
    {"relais_v1_meeting_organisations", "SELECT meeting_id, organisation_id"
                                        " FROM meeting_organisations"
                                        " ORDER BY meeting_id, organisation_id",
     "meeting_id, organisation_id"},
    {"relais_v1_equipment", "SELECT id, kind, label, venue_id, created_at, updated_at"
                            " FROM equipment ORDER BY id", NULL},
    {"relais_v1_loans", "SELECT id, equipment_id, beneficiary_id, from_date, due_date,"
                        " returned_on, created_at, updated_at FROM loans ORDER BY id", NULL},
    {"relais_v1_session_equipment", "SELECT session_id, equipment_id FROM session_equipment"
                                    " ORDER BY session_id, equipment_id",
     "session_id, equipment_id"},
};
#define NMODELS (sizeof models / sizeof models[0])

/* A little of everything, NULLs included, on top of the fixture's rows. */
static void fill(struct fx *fx)
{
    sql(fx, "INSERT INTO staff (id, name, email, phone, role, created_at, updated_at) VALUES"
            " (1, 'Samir', 'samir@example.org', '+33600000001', 'trainer', 1, 2),"
            " (2, 'Claire', NULL, NULL, 'coordinator', 3, 4)");
    sql(fx, "INSERT INTO venues (id, name, commune, aptic, accessible, created_at, updated_at)"
            " VALUES (2, 'Centre social', 'Cognin', 1, 0, 5, 6)");
    sql(fx, "UPDATE beneficiaries SET gender = 'F', birth_year = 1950, commune = 'Chambéry',"
            " neighborhood = 'Le Biollay', external_id = 'X1', search_key = 'ana a',"
            " prescriber = 'CCAS' WHERE id = 1");
    sql(fx, "UPDATE beneficiaries SET first_name = NULL, last_name = NULL, phone = NULL,"
            " erased_at = 99 WHERE id = 2");
    sql(fx, "INSERT INTO sessions (id, kind, title, theme, level, venue_id, trainer_id,"
            " starts_at, ends_at, capacity, created_at, updated_at) VALUES"
            " (20, 'training', 'ESJA', 'Accompagner', 3, 2, 1, 1000, 9000, 12, 0, 0),"
            " (21, 'training', 'Partie A', NULL, NULL, NULL, 1, 1000, 2000, NULL, 0, 0)");
    sql(fx, "UPDATE sessions SET parent_id = 20 WHERE id = 21");
    sql(fx, "UPDATE sessions SET status = 'cancelled', slot_minutes = 30 WHERE id = 10");
    sql(fx, "INSERT INTO enrollments (id, session_id, beneficiary_id, status, slot_start,"
            " created_at, updated_at) VALUES (1, 20, 1, 'booked', NULL, 7, 8),"
            " (2, 20, 3, 'waitlisted', NULL, 9, 9), (3, 10, 1, 'attended', 1772802000, 1, 1)");
    sql(fx, "INSERT INTO enrollments (id, session_id, beneficiary_id, parent_id, status,"
            " created_at, updated_at) VALUES (4, 21, 1, 1, 'booked', 7, 8)");
    sql(fx, "INSERT INTO notifications (id, enrollment_id, beneficiary_id, session_id, kind,"
            " channel, target_start, due_at, status, attempts, segments, provider_id, error,"
            " idem_key, created_at, updated_at, sent_at) VALUES"
            " (1, 1, 1, 20, 'confirmation', 'sms', 1000, 10, 'sent', 1, 2, 'SM1', NULL,"
            "  'n1-sms-x', 10, 11, 11),"
            " (2, 1, 1, 20, 'reminder', 'email', 1000, 20, 'failed', 8, NULL, NULL,"
            "  'mailbox full', 'n2-email-x', 10, 12, NULL)");
    /* The programme's records. */
    sql(fx, "INSERT INTO organisations (id, name, name_key, kind, commune, created_at,"
            " updated_at) VALUES (1, 'CCAS', 'ccas', 'ccas', 'Chambéry', 1, 2),"
            " (2, 'ESJA', 'esja', 'other', NULL, 3, 4)");
    sql(fx, "UPDATE beneficiaries SET organisation_id = 1, audience = 'professional',"
            " residence = 'qpv' WHERE id = 1");
    sql(fx, "UPDATE sessions SET cancel_reason = 'Salle fermée', headcount = 4 WHERE id = 10");
    sql(fx, "INSERT INTO accompaniments (id, beneficiary_id, venue_id, staff_id, session_id,"
            " started_at, minutes, modality, procedure_operator, procedure_done, autonomy,"
            " referred_to, pass, created_at, updated_at) VALUES"
            " (1, 1, 2, 1, 10, 100, 30, 'on_site', 'CAF', 1, 2, 1, 'P1', 5, 6)");
    sql(fx, "INSERT INTO accompaniments (id, anon_gender, anon_age_min, anon_age_max,"
            " anon_residence, started_at, minutes, modality, created_at, updated_at) VALUES"
            " (2, 'F', 56, NULL, 'qva', 200, 15, 'phone', 7, 8)");
    sql(fx, "INSERT INTO accompaniment_themes (accompaniment_id, pos, theme) VALUES"
            " (1, 0, 'impôts'), (1, 1, 'santé'), (2, 0, 'smartphone')");
    sql(fx, "INSERT INTO accompaniment_equipment (accompaniment_id, pos, equipment) VALUES"
            " (1, 0, 'venue_computer'), (2, 0, 'own_smartphone')");
    sql(fx, "INSERT INTO session_headcounts (id, session_id, gender, age_min, age_max,"
            " residence, n) VALUES (1, 20, 'F', NULL, 25, 'qpv', 3), (2, 20, NULL, NULL,"
            " NULL, NULL, 1)");
    sql(fx, "INSERT INTO meetings (id, kind, title, date, attendees, minutes, created_at,"
            " updated_at) VALUES (1, 'network', 'Réseau', '2026-03-04', 12, 120, 1, 2),"
            " (2, 'other', 'Point', '2026-03-05', NULL, NULL, 3, 4)");
    sql(fx, "INSERT INTO meeting_organisations (meeting_id, organisation_id) VALUES"
            " (1, 1), (1, 2)");
    sql(fx, "INSERT INTO equipment (id, kind, label, venue_id, created_at, updated_at) VALUES"
            " (1, 'tablet', 'Tablette 1', 2, 1, 2), (2, 'computer', 'PC 1', NULL, 3, 4)");
    sql(fx, "INSERT INTO loans (id, equipment_id, beneficiary_id, from_date, due_date,"
            " returned_on, created_at, updated_at) VALUES"
            " (1, 1, 1, '2026-03-01', '2026-03-20', '2026-03-18', 1, 2),"
            " (2, 2, 3, '2026-03-02', NULL, NULL, 3, 4)");
    sql(fx, "INSERT INTO session_equipment (session_id, equipment_id) VALUES (20, 1), (20, 2)");
}

/* Every row and column of A and B (two statements) is the same, with the
 * same column names. */
static void same_rows(sqlite3 *db, const char *a_sql, const char *b_sql)
{
    sqlite3_stmt *a = NULL, *b = NULL;
    int ra, rb, rows = 0;

    assert_int_equal(sqlite3_prepare_v2(db, a_sql, -1, &a, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, b_sql, -1, &b, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_column_count(a), sqlite3_column_count(b));
    for (int i = 0; i < sqlite3_column_count(a); i++)
        assert_string_equal(sqlite3_column_name(a, i), sqlite3_column_name(b, i));
    while ((ra = sqlite3_step(a)) == SQLITE_ROW) {
        rb = sqlite3_step(b);
        assert_int_equal(rb, SQLITE_ROW);
        for (int i = 0; i < sqlite3_column_count(a); i++) {
            assert_int_equal(sqlite3_column_type(a, i), sqlite3_column_type(b, i));
            if (sqlite3_column_type(a, i) != SQLITE_NULL)
                assert_string_equal((const char *)sqlite3_column_text(a, i),
                                    (const char *)sqlite3_column_text(b, i));
        }
        rows++;
    }
    assert_int_equal(ra, SQLITE_DONE);
    assert_int_equal(sqlite3_step(b), SQLITE_DONE);
    assert_true(rows >= 2);   /* something was compared */
    sqlite3_finalize(a);
    sqlite3_finalize(b);
}

static void views_hold_the_tables(void **state)
{
    struct pfx *t = *state;
    sqlite3 *db = store_db(t->fx->st);
    char q[160];

    fill(t->fx);
    for (size_t i = 0; i < NMODELS; i++) {
        snprintf(q, sizeof q, "SELECT * FROM %s ORDER BY %s", models[i].view,
                 models[i].order ? models[i].order : "id");
        same_rows(db, q, models[i].table_sql);
    }
    /* These are every view of the core, and none shows a person's identity
     * or reads a secret. */
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM sqlite_master WHERE type = 'view'"
                               " AND name LIKE 'relais%%'"), (int64_t)NMODELS);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM pragma_table_info('relais_v1_people')"
                               " WHERE name IN ('last_name', 'phone', 'email', 'prescriber')"),
                     0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM sqlite_master WHERE type = 'view'"
                               " AND (sql LIKE '%%api_tokens%%' OR sql LIKE '%%links%%')"), 0);
}

/* --- the report's plans --------------------------------------------------------- */

/* The text of the SQL of plugins/reports/queries.lua, by name, as the plugin
 * builds it: the module is run by Lua (its functions need `relais` only when
 * called). Pushes M.SQL on L. */
static void load_report_sql(lua_State *L)
{
    char path[PATH_MAX];
    const char *suffix = "tests/unit/test_readmodel.c";
    size_t n;

    /* __FILE__ is relative to the build directory, where tests run. */
    snprintf(path, sizeof path, "%s", __FILE__);
    n = strlen(path);
    assert_true(n >= strlen(suffix) && strcmp(path + n - strlen(suffix), suffix) == 0);
    snprintf(path + n - strlen(suffix), sizeof path - (n - strlen(suffix)), "%s",
             "plugins/reports/queries.lua");
    luaL_openlibs(L);
    if (luaL_dofile(L, path) != LUA_OK)
        fail_msg("%s: %s", path, lua_tostring(L, -1));
    assert_int_equal(lua_getfield(L, -1, "SQL"), LUA_TTABLE);
}

/* The query plan of SQL, one "detail" a line; malloc'd. With ANONYMOUS,
 * without the name of what is searched or scanned ("SEARCH n USING …" →
 * "SEARCH USING …"): a view's alias names its table once flattened. */
static char *plan(sqlite3 *db, const char *sql, int anonymous)
{
    char *q = NULL, *out = calloc(1, 1);
    size_t len = 0;
    sqlite3_stmt *s = NULL;

    assert_non_null(out);
    assert_true(asprintf(&q, "EXPLAIN QUERY PLAN %s", sql) > 0);
    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(s, 3), *rest = "";
        size_t head = strlen(d);

        if (anonymous && (strncmp(d, "SEARCH ", 7) == 0 || strncmp(d, "SCAN ", 5) == 0)) {
            const char *sp = strchr(d, ' '), *after = strchr(sp + 1, ' ');

            head = (size_t)(sp - d);
            rest = after ? after : "";
        }
        out = realloc(out, len + head + strlen(rest) + 2);
        assert_non_null(out);
        memcpy(out + len, d, head);
        len += head;
        memcpy(out + len, rest, strlen(rest));
        len += strlen(rest);
        out[len++] = '\n';
        out[len] = '\0';
    }
    sqlite3_finalize(s);
    free(q);
    return out;
}

/* SQL with each relais_v1_* view named by its table instead. */
static char *on_tables(const char *sql)
{
    static const char *const map[][2] = {
        {"relais_v1_enrollments", "enrollments"}, {"relais_v1_sessions", "sessions"},
        {"relais_v1_people", "beneficiaries"}, {"relais_v1_notifications", "notifications"},
        {"relais_v1_venues", "venues"}, {"relais_v1_staff", "staff"},
        {"relais_v1_organisations", "organisations"},
        {"relais_v1_accompaniments", "accompaniments"},
        {"relais_v1_accompaniment_themes", "accompaniment_themes"},
        {"relais_v1_accompaniment_equipment", "accompaniment_equipment"},
        {"relais_v1_headcounts", "session_headcounts"}, {"relais_v1_meetings", "meetings"},
        {"relais_v1_meeting_organisations", "meeting_organisations"},
        {"relais_v1_equipment", "equipment"}, {"relais_v1_loans", "loans"},
        {"relais_v1_session_equipment", "session_equipment"},
        {"surveys_v1_responses", "surveys_responses"}, {"surveys_v1_scores", "surveys_answers"},
        {"pix_v1_participations", "pix_participations"},
    };
    char *out = strdup(sql);

    assert_non_null(out);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char *p;
        while ((p = strstr(out, map[i][0]))) {
            size_t vl = strlen(map[i][0]), tl = strlen(map[i][1]);
            memmove(p + tl, p + vl, strlen(p + vl) + 1);
            memcpy(p, map[i][1], tl);
        }
    }
    return out;
}

/* Runs the SQL of the migrations of plugins/NAME in order (the plugins'
 * tables and read models the report reads). */
static void plugin_migrations(struct fx *fx, const char *name)
{
    char path[PATH_MAX], *text;
    const char *suffix = "tests/unit/test_readmodel.c";
    size_t n = strlen(__FILE__) - strlen(suffix);
    FILE *f;
    long len;

    for (int i = 1; i < 10; i++) {
        snprintf(path, sizeof path, "%.*splugins/%s/migrations/%03d_%s.sql", (int)n, __FILE__,
                 name, i, i == 1 ? "init" : "read_models");
        f = fopen(path, "r");
        if (!f)
            break;
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        len = ftell(f);
        rewind(f);
        text = calloc(1, (size_t)len + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        assert_int_equal(store_exec(fx->st, text), 0);
        free(text);
    }
}

static void report_plans(void **state)
{
    struct pfx *t = *state;
    sqlite3 *db = store_db(t->fx->st);
    lua_State *L = luaL_newstate();
    int n = 0;

    assert_non_null(L);
    plugin_migrations(t->fx, "surveys");
    plugin_migrations(t->fx, "pix");
    load_report_sql(L);
    /* Relais never runs ANALYZE: the planner works from the schema and its
     * indexes alone, in production as here. */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *name = lua_tostring(L, -2), *text = lua_tostring(L, -1);
        char *raw = on_tables(text), *pv = plan(db, text, 0), *av = plan(db, text, 1),
             *at = plan(db, raw, 1);

        assert_non_null(strstr(text, "relais_v1_"));
        if (getenv("READMODEL_PLANS"))
            fprintf(stderr, "# %s\n%s", name, pv);
        /* Through the views as on the tables: the views cost nothing. */
        if (strcmp(av, at) != 0)
            fail_msg("%s: through the views\n%s\non the tables\n%s", name, av, at);
        /* No table with an index for the query is read whole: the range of
         * sessions comes from an index, an enrollment's session and person
         * by their key. A SCAN, even of a whole index, would be a table
         * that grows with every year of the programme. */
        for (const char *tab = "sessions\0enrollments\0beneficiaries\0notifications\0"
                               "accompaniments\0accompaniment_themes\0session_headcounts\0"
                               "loans\0meetings\0surveys_responses\0surveys_answers\0"
                               "pix_participations\0";
             *tab; tab += strlen(tab) + 1) {
            char scan[64];
            snprintf(scan, sizeof scan, "SCAN %s", tab);
            for (const char *at = pv; (at = strstr(at, scan)); at++)
                if (at[strlen(scan)] == '\n' || at[strlen(scan)] == ' ')
                    fail_msg("%s: reads %s whole\n%s", name, tab, pv);
        }
        /* And the ranges are the outer loop (the queries' CROSS JOINs):
         * without statistics the planner would sometimes start from a
         * table's status index and walk every row ever written. The
         * devices of the programme are the one small table read whole. */
        if (strcmp(name, "devices") != 0) {
            const char *first = pv;

            while (*first && strncmp(first, "SCAN ", 5) != 0 && strncmp(first, "SEARCH ", 7) != 0)
                first = strchr(first, '\n') ? strchr(first, '\n') + 1 : first + strlen(first);
            if (strncmp(first, "SCAN r VIRTUAL TABLE", 20) != 0
                && strncmp(first, "SCAN d VIRTUAL TABLE", 20) != 0)
                fail_msg("%s: the ranges are not the outer loop\n%s", name, pv);
        }
        free(raw);
        free(pv);
        free(av);
        free(at);
        lua_pop(L, 1);
        n++;
    }
    assert_int_equal(n, 19);
    lua_close(L);
}

/* --- what a plugin may read ------------------------------------------------------ */

static void plugins_read_views_only(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"dbp", "readp", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 2);
    assert_int_equal(plugin_errors("dbp"), 0);
    assert_int_equal(plugin_errors("readp"), 0);
    /* What a careless migration could have made: a view and a trigger of
     * the plugin's own that reach a core table. */
    sql(t->fx, "CREATE VIEW readp_phones AS SELECT id, phone FROM beneficiaries");
    sql(t->fx, "CREATE TRIGGER readp_peek AFTER INSERT ON readp_notes"
               " WHEN new.extra = 'peek' BEGIN UPDATE readp_notes SET extra ="
               " (SELECT phone FROM beneficiaries LIMIT 1) WHERE id = new.id; END");
    pfx_emit(t, "check", NULL);
    assert_int_equal(plugin_errors("readp"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM readp_done WHERE what = 'checked'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM readp_notes"), 0);
    /* The core's own statements are never judged as a plugin's. */
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM readp_phones"), 3);
}

/* Plugins' read models: pubp publishes pubp_v1_items; readp reads it and
 * nothing around it. A view named as a read model that reads another
 * plugin's table, made outside any migration, is nobody's: no plugin reads
 * it (a migration making it is refused: tests/unit/test_authz.c). */
static void plugins_read_published_views(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"dbp", "readp", "pubp", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 3);
    /* What a careless migration of pubp could have made. */
    sql(t->fx, "CREATE VIEW pubp_v1_others AS SELECT id, name FROM dbp_items");
    assert_int_equal(plugins_reload(t->app.plugins), 0);
    pfx_emit(t, "check_published", NULL);
    pfx_emit(t, "own", NULL);
    assert_int_equal(plugin_errors("readp"), 0);
    assert_int_equal(plugin_errors("pubp"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM readp_done WHERE what = 'published'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM pubp_items"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(views_hold_the_tables, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(report_plans, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(plugins_read_views_only, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(plugins_read_published_views, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
