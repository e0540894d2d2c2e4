/* The plugin host: the sandbox, the instruction budget and the memory cap,
 * errors (logged with a traceback, counted), the Lua API helpers, the
 * database authorizer and plugin migrations, events. Fixture plugins check
 * most API details themselves while loading: a failed check stops the
 * load, which these tests see. Network, routes, channels and reload are in
 * test_plugins_http.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plugins_fixture.h"

static const char *const none[] = {NULL};

/* Runs FN with stderr going to a file, and returns what was written
 * (malloc'd). */
static char *capture_stderr(void (*fn)(struct pfx *), struct pfx *t)
{
    char path[] = "/tmp/relais-plugins-log-XXXXXX", *text;
    int fd = mkstemp(path), saved;
    FILE *f;
    long n;

    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) >= 0);
    fn(t);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    close(fd);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return text;
}

static void test_sandbox(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"sandbox", "broken", NULL};

    pfx_start(t, names);
    /* The sandbox checks passed; the broken plugin did not stop it. */
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("sandbox"), 0);
    assert_int_equal(plugin_errors("broken"), 1);
    pfx_emit(t, "later", NULL);
    assert_int_equal(plugin_errors("sandbox"), 0);
}

static void test_helpers(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"codec", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("codec"), 0);
}

static void test_db(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"dbp", "badmig", "badwrite", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("dbp"), 0);
    assert_int_equal(plugin_errors("badmig"), 1);
    assert_int_equal(plugin_errors("badwrite"), 1);
    /* The refused migrations left nothing behind. */
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'badmig%%'"),
                     0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM schema_migrations WHERE component"
                               " IN ('badmig', 'badwrite')"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM beneficiaries WHERE consent_sms = 1"), 2);
    assert_int_equal(qv(t->fx, "SELECT max(version) FROM schema_migrations WHERE component"
                               " = 'dbp'"), 2);
    /* The core's own statements are not judged as the plugin's. */
    sql(t->fx, "INSERT INTO venues (name, created_at, updated_at) VALUES ('core', 0, 0)");
    pfx_emit(t, "count", NULL);
    assert_int_equal(qv(t->fx, "SELECT n FROM dbp_items WHERE name = 'count'"), 3);
    sql(t->fx, "UPDATE venues SET name = 'core2' WHERE name = 'core'");
    /* Reloading runs no migration twice. */
    assert_int_equal(plugins_reload(t->app.plugins), 0);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM schema_migrations WHERE component"
                               " = 'dbp'"), 2);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM dbp_items"), 4);
}

static void check_ping(struct pfx *t, int n)
{
    char json[32];

    snprintf(json, sizeof json, "{\"n\": %d}", n);
    pfx_emit(t, "ping", json);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM budget_log WHERE n = %d", n), 1);
}

static void test_budget(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"budget", NULL};
    const char *const events[] = {"loop", "pcall_loop", "xpcall_loop", "co_loop"};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        pfx_emit(t, events[i], NULL);
        /* Stopped, counted, and the next call works. */
        assert_int_equal(plugin_errors("budget"), i + 1);
        check_ping(t, (int)i);
    }
}

static void test_memory(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"budget", NULL};

    pfx_start(t, names);
    pfx_emit(t, "mem", NULL);
    assert_int_equal(plugin_errors("budget"), 1);
    check_ping(t, 1);
    pfx_emit(t, "mem_pcall", NULL);
    assert_int_equal(plugin_errors("budget"), 2);
    check_ping(t, 2);
    /* A large allocation that fits once the garbage of the bombs is gone:
     * not mistaken for a bomb. */
    pfx_emit(t, "big", NULL);
    assert_int_equal(plugin_errors("budget"), 2);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM budget_log WHERE n = %d", 12 << 20), 1);
}

static void emit_boom(struct pfx *t)
{
    pfx_emit(t, "boom", "{\"n\": 7}");
}

static void test_error_traceback(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"budget", NULL};
    char *log;

    pfx_start(t, names);
    log = capture_stderr(emit_boom, t);
    assert_non_null(strstr(log, "error plugin budget: hook failed: budget/plugin.lua:"));
    assert_non_null(strstr(log, ": boom 7 | stack traceback:"));
    assert_non_null(strstr(log, "in function <budget/plugin.lua:"));
    /* One line. */
    assert_non_null(strchr(log, '\n'));
    assert_null(strchr(strchr(log, '\n') + 1, '\n'));
    free(log);
    assert_int_equal(plugin_errors("budget"), 1);
}

static void test_no_plugins(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"nosuch", "Bad-Name", NULL};

    pfx_start(t, none);
    assert_int_equal(plugins_count(t->app.plugins), 0);
    pfx_emit(t, "anything", "{}");
    plugins_free(t->app.plugins);
    t->app.plugins = NULL;
    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 0);
    assert_int_equal(plugin_errors("nosuch"), 1);
    assert_int_equal(plugin_errors("Bad-Name"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sandbox, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_helpers, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_db, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_budget, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_memory, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_error_traceback, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_no_plugins, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
