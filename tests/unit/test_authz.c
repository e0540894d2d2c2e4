/* Unit tests for what a plugin's SQL may touch (core/plugin/plugins_authz.c):
 * ownership by registration, never by name prefix; reserved names; the
 * statements a plugin's trigger runs inside a core statement; refused
 * triggers; the SQL functions allowed; the adoption of objects made
 * before ownership was recorded, by the plugin with the longest key (a
 * gateway's sms_twilio_… is not sms's); the reserved names against the
 * core's schema and the bundled plugins; views refused at creation (over a
 * core table; an offered read model over another plugin's table).
 * Fixtures: tests/unit/plugins/{api,trig,owner,other,legacy,legacy-gw,
 * pubp,pubbad,viewbad}. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plugins_internal.h"
#include "plugins_fixture.h"

static void test_reserved_name(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"api", NULL};

    sql(t->fx, "INSERT INTO api_tokens (name, role, hash, created_at) VALUES"
               " ('kept', 'admin', x'01', 0)");
    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 0);
    assert_int_equal(plugin_errors("api"), 1);
    pfx_emit(t, "wipe", NULL);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM api_tokens"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM sqlite_master WHERE name = 'api_keys'"), 0);
}

static void test_trigger_reaching_core_refused(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"trig", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 0);
    assert_int_equal(plugin_errors("trig"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'trig%%'"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects"), 0);
}

/* Views are judged when their step runs, as triggers are: one over a core
 * table, and a read model offered to the others over another plugin's
 * table, are refused with their whole step; nothing is left of them. */
static void test_views_refused(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"pubp", "pubbad", "viewbad", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("pubp"), 0);
    assert_int_equal(plugin_errors("pubbad"), 1);
    assert_int_equal(plugin_errors("viewbad"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'pubbad%%'"
                               " OR name LIKE 'viewbad%%'"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin <> 'pubp'"), 0);
    /* pubp's read model is offered, its other view is not. */
    assert_true(pauthz_offered(t->app.plugins, "pubp_v1_items"));
    assert_false(pauthz_offered(t->app.plugins, "pubp_all"));
    assert_false(pauthz_offered(t->app.plugins, "pubp_items"));
}

static void test_owned_objects(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"owner", "other", NULL};

    /* A core table whose name starts with another plugin's prefix. */
    sql(t->fx, "CREATE TABLE other_notes (t TEXT); INSERT INTO other_notes VALUES ('core')");
    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 2);
    assert_int_equal(plugin_errors("owner"), 0);
    assert_int_equal(plugin_errors("other"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin = 'owner'"
                               " AND name IN ('owner_items', 'owner_items_name', 'owner_names',"
                               " 'owner_log', 'owner_items_log')"), 5);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin = 'other'"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM other_notes"), 1);

    /* The core's cascade into the plugin's table runs the plugin's own
     * trigger, which writes the plugin's own log: fine. */
    book(t->fx, 50, 10, 1);
    pfx_emit(t, "insert", "{\"name\": \"e50\", \"eid\": 50}");
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM owner_items WHERE enrollment_id = 50"), 1);
    sql(t->fx, "DELETE FROM enrollment_events WHERE enrollment_id = 50;"
               " DELETE FROM notifications WHERE enrollment_id = 50;"
               " DELETE FROM enrollments WHERE id = 50");
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM owner_log WHERE what = 'deleted e50'"), 1);
}

/* A trigger registered to a plugin (as a database older than the creation
 * check could hold one) that writes a core table: a core statement that
 * fires it is refused, not run with the core's rights. */
static void test_plugin_trigger_in_core_statement(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"owner", NULL};
    sqlite3_stmt *s = NULL;

    pfx_start(t, names);
    sql(t->fx, "CREATE TABLE owner_child (e INTEGER REFERENCES enrollments(id) ON DELETE CASCADE);"
               "CREATE TRIGGER owner_evil AFTER DELETE ON owner_child BEGIN"
               "  UPDATE beneficiaries SET first_name = 'pwned'; END;"
               "INSERT INTO plugin_objects (name, plugin, type, created_at) VALUES"
               " ('owner_child', 'owner', 'table', 0), ('owner_evil', 'owner', 'trigger', 0)");
    assert_int_equal(plugins_reload(t->app.plugins), 0);
    book(t->fx, 60, 10, 2);
    sql(t->fx, "INSERT INTO owner_child (e) VALUES (60)");
    sql(t->fx, "DELETE FROM enrollment_events WHERE enrollment_id = 60;"
               " DELETE FROM notifications WHERE enrollment_id = 60");
    assert_int_equal(sqlite3_prepare_v2(store_db(t->fx->st), "DELETE FROM enrollments WHERE id = 60",
                                        -1, &s, NULL), SQLITE_AUTH);
    sqlite3_finalize(s);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM beneficiaries WHERE first_name = 'pwned'"),
                     0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM enrollments WHERE id = 60"), 1);
    /* The core's own triggers (the session's counts) are not judged. */
    sql(t->fx, "UPDATE enrollments SET status = 'cancelled' WHERE id = 60");
}

static void test_adoption(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"legacy", NULL};

    /* As an earlier Relais left it: migrated, nothing registered. */
    sql(t->fx, "CREATE TABLE legacy_t (v);"
               "INSERT INTO schema_migrations (component, version, applied_at)"
               " VALUES ('legacy', 1, 0)");
    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("legacy"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin = 'legacy'"
                               " AND name = 'legacy_t'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM legacy_t"), 1);
}

/* Two plugins migrated before ownership was recorded, one's key (legacy)
 * prefixing the other's (legacy_gw): each adopts its own, whatever the
 * order they load in, and the one with a '-' in its name adopts by its key. */
static void test_adoption_longest_key(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"legacy", "legacy-gw", NULL};

    sql(t->fx, "CREATE TABLE legacy_t (v); CREATE TABLE legacy_gw_inbound (sid TEXT PRIMARY KEY);"
               "INSERT INTO schema_migrations (component, version, applied_at)"
               " VALUES ('legacy', 1, 0), ('legacy-gw', 1, 0)");
    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 2);
    assert_int_equal(plugin_errors("legacy"), 0);
    assert_int_equal(plugin_errors("legacy-gw"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin = 'legacy'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin = 'legacy-gw'"
                               " AND name = 'legacy_gw_inbound'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM legacy_gw_inbound"), 1);
}

/* The same database with only the shorter key configured: the other
 * plugin's migrated table stays its own, not adopted by legacy. */
static void test_adoption_leaves_migrated_plugins_tables(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"legacy", NULL};

    sql(t->fx, "CREATE TABLE legacy_t (v); CREATE TABLE legacy_gw_inbound (sid TEXT PRIMARY KEY);"
               "INSERT INTO schema_migrations (component, version, applied_at)"
               " VALUES ('legacy', 1, 0), ('legacy-gw', 1, 0)");
    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects WHERE plugin = 'legacy'"
                               " AND name = 'legacy_t'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM plugin_objects"
                               " WHERE name = 'legacy_gw_inbound'"), 0);
}

/* Every table of the core's schema is a reserved key (a plugin named so
 * would own names like the core's); so are names reaching the read models. */
static void test_reserved_core_schema(void **state)
{
    struct pfx *t = *state;
    sqlite3_stmt *s = NULL;
    int n = 0;

    assert_int_equal(sqlite3_prepare_v2(store_db(t->fx->st), "SELECT name FROM sqlite_master"
                                        " WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
                                        -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);

        if (!pauthz_name_reserved(name))
            fail_msg("core table %s is not reserved (core_names in plugins_authz.c)", name);
        n++;
    }
    sqlite3_finalize(s);
    assert_true(n >= 20);
    assert_true(pauthz_name_reserved("relais"));
    assert_true(pauthz_name_reserved("relais_v1"));
    assert_true(pauthz_name_reserved("relaisx"));
    assert_true(pauthz_name_reserved("session"));
    assert_true(pauthz_name_reserved("api"));
}

/* No plugin shipped in plugins/ (and none another branch adds: pass) is
 * refused for its name. */
static void test_bundled_names_allowed(void **state)
{
    struct pfx *t = *state;
    const char *const extra[] = {"sms", "email", "sms-twilio", "sms-brevo", "sms-ovh",
                                 "sms-console", "email-console", "email-smtp", "console",
                                 "pix", "surveys", "reports", "pass", NULL};
    char dir[PATH_MAX + 32], key[CONFIG_PLUGIN_NAME_MAX + 1];
    struct dirent *e;
    DIR *d;
    int n = 0;

    for (size_t i = 0; extra[i]; i++) {
        config_plugin_key(extra[i], key, sizeof key);
        if (pauthz_name_reserved(key))
            fail_msg("plugin %s is refused for its name", extra[i]);
    }
    snprintf(dir, sizeof dir, "%s/../../../plugins", t->dir);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !config_plugin_name_ok(e->d_name))
            continue;
        config_plugin_key(e->d_name, key, sizeof key);
        if (pauthz_name_reserved(key))
            fail_msg("bundled plugin %s is refused for its name", e->d_name);
        n++;
    }
    closedir(d);
    assert_true(n >= 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserved_name, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_trigger_reaching_core_refused, pfx_setup,
                                        pfx_teardown),
        cmocka_unit_test_setup_teardown(test_views_refused, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_owned_objects, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_plugin_trigger_in_core_statement, pfx_setup,
                                        pfx_teardown),
        cmocka_unit_test_setup_teardown(test_adoption, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_adoption_longest_key, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_adoption_leaves_migrated_plugins_tables, pfx_setup,
                                        pfx_teardown),
        cmocka_unit_test_setup_teardown(test_reserved_core_schema, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_bundled_names_allowed, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
