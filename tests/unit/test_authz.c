/* Unit tests for what a plugin's SQL may touch (core/plugins_authz.c):
 * ownership by registration, never by name prefix; reserved names; the
 * statements a plugin's trigger runs inside a core statement; refused
 * triggers; the SQL functions allowed; the adoption of objects made
 * before ownership was recorded. Fixtures: tests/unit/plugins/{api,
 * trig,owner,other,legacy}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/plugins_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserved_name, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_trigger_reaching_core_refused, pfx_setup,
                                        pfx_teardown),
        cmocka_unit_test_setup_teardown(test_owned_objects, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_plugin_trigger_in_core_statement, pfx_setup,
                                        pfx_teardown),
        cmocka_unit_test_setup_teardown(test_adoption, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
