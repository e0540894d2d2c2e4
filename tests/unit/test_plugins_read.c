/* relais.db.query of GET routes on the readers (core/plugin/plugins_dbread.c),
 * through the real HTTP server and the fixture plugin
 * tests/unit/plugins/readerp:
 * - the rows, NULLs and read models come back as on the loop, and the
 *   errors too (nil, err for SQL; raised for misuse and too many rows);
 * - a statement that writes runs on the loop; exec ends the snapshot so
 *   that later reads see the write; where Lua cannot yield, and in writing
 *   routes, queries run on the loop as before;
 * - while one route's long query runs, the loop serves others (a second
 *   route's answer comes first), and a reload answers the waiting route
 *   503 at once;
 * - a network wait between two queries works;
 * - SQLite's work there counts against the route's budget, from one read
 *   to the next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reader.h"
#include "tokens.h"
#include "plugins_fixture.h"
#include "plugins_internal.h"   /* the host's readers, to see a query running */

static char token[80];

static void start(struct pfx *t)
{
    const char *const names[] = {"readerp", NULL};
    char *err = NULL;

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(tokens_add(t->fx->st, ROLE_ADMIN, "t", 0, token, sizeof token, &err), 0);
}

static void assert_json(const char *text, const char *want)
{
    cJSON *got = cJSON_Parse(text), *w = cJSON_Parse(want);

    assert_non_null(got);
    assert_non_null(w);
    if (!cJSON_Compare(got, w, 1))
        fail_msg("got %s, want %s", text, want);
    cJSON_Delete(got);
    cJSON_Delete(w);
}

static void get(struct pfx *t, const char *path, struct resp *r)
{
    pfx_fetch(t, "GET", path, NULL, NULL, token, r);
}

static void test_rows_and_errors(void **state)
{
    struct pfx *t = *state;
    struct resp r;

    start(t);
    get(t, "/api/v1/readerp/items?from=2", &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"rows\": [{\"id\": 2, \"name\": \"b\", \"x\": 1.5},"
                        " {\"id\": 3, \"name\": \"c\", \"x\": 1.5}], \"people\": 3}");
    get(t, "/api/v1/readerp/errors", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"sql\":\"no such column: nope\""));
    assert_non_null(strstr(r.body, "\"core\":\"access to beneficiaries.phone is prohibited\""));
    assert_non_null(strstr(r.body, "\"two\":\"relais.db: one statement at a time\""));
    assert_non_null(strstr(r.body, "takes 1 parameter, 2 given"));
    assert_non_null(strstr(r.body, "parameters are nil, booleans, numbers or strings"));
    assert_non_null(strstr(r.body, "\"many\":\"relais.db.query: more than 100000 rows"));
    assert_non_null(strstr(r.body, "\"registry\":\"access to plugin_objects.name is prohibited\""));
    assert_non_null(strstr(r.body, "\"listed\":2"));
    assert_non_null(strstr(r.body, "\"after\":3"));
    assert_int_equal(plugin_errors("readerp"), 0);
}

static void test_writes_and_loop(void **state)
{
    struct pfx *t = *state;
    struct resp r;

    start(t);
    get(t, "/api/v1/readerp/write", &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"before\": 3, \"id\": 4, \"mid\": 4, \"after\": 5}");
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM readerp_items"), 5);
    get(t, "/api/v1/readerp/noyield", &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"sorted\": [1, 2, 3], \"co\": 5}");
    pfx_fetch(t, "POST", "/api/v1/readerp/tx", "{}", "application/json", token, &r);
    assert_int_equal(r.status, 400);
    assert_json(r.body, "{\"seen\": 6}");     /* its own write, in its transaction */
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM readerp_items"), 5);
    assert_int_equal(plugin_errors("readerp"), 0);
}

static void test_loop_stays_free(void **state)
{
    struct pfx *t = *state;
    struct resp slow, quick;
    int jobs = 0, leases = 0;

    start(t);
    pfx_send(t, "GET", "/api/v1/readerp/slow?n=2000000000", NULL, NULL, token, &slow);
    /* Until the long query runs on a reader. */
    for (int i = 0; i < 2000 && jobs == 0; i++) {
        pfx_spin(t, 5);
        reader_counts(t->app.plugins->reader, &jobs, &leases);
    }
    if (jobs != 1)
        fail_msg("the long query is not running: %d %s", slow.done, slow.body);
    /* Another route is served meanwhile, to its end. */
    get(t, "/api/v1/readerp/items", &quick);
    assert_int_equal(quick.status, 200);
    assert_int_equal(slow.done, 0);
    /* A reload answers the waiting route at once, and stops its query. */
    assert_int_equal(plugins_reload(t->app.plugins), 0);
    pfx_run(t, &slow.done, 5000);
    assert_int_equal(slow.done, 1);
    assert_int_equal(slow.status, 503);
    get(t, "/api/v1/readerp/slow?n=1000", &slow);
    assert_int_equal(slow.status, 200);
    assert_json(slow.body, "{\"n\": 1000}");
}

/* SQLite's work on a reader is charged to the route's budget at the loop's
 * price: a query that runs away is stopped and the route fails (500, the
 * error counted); the count goes on from one read to the next, so a route
 * of many reads runs out too, where each alone fits. */
static void test_budget(void **state)
{
    struct pfx *t = *state;
    struct resp r;

    start(t);
    get(t, "/api/v1/readerp/endless", &r);
    assert_int_equal(r.status, 500);
    assert_int_equal(plugin_errors("readerp"), 1);
    get(t, "/api/v1/readerp/reads?n=10", &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"n\": 10}");
    get(t, "/api/v1/readerp/reads?n=1000", &r);
    assert_int_equal(r.status, 500);
    assert_int_equal(plugin_errors("readerp"), 2);
    /* Nothing is left running on the readers. */
    get(t, "/api/v1/readerp/items", &r);
    assert_int_equal(r.status, 200);
}

static void test_network_wait(void **state)
{
    struct pfx *t = *state;
    struct resp r;
    char path[256];

    start(t);
    snprintf(path, sizeof path, "/api/v1/readerp/wait?url=http://127.0.0.1:%d/ok", t->gw_port);
    get(t, path, &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"a\": 3, \"status\": 200, \"b\": 3}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_and_errors, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_writes_and_loop, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_loop_stays_free, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_budget, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_network_wait, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
