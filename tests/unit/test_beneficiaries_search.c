/* The phone search of GET /api/v1/beneficiaries?q= walks the phone index:
 * the query plan of BENEFICIARIES_BY_PHONE_SQL on the migrated schema
 * searches beneficiaries with the index beneficiaries_phone and never scans
 * the table (issue 15: a search must stay fast with many people), and it
 * finds the living people with that number in id order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"   /* domain_fields.h names struct http_req */
#include "domain_fields.h"
#include "tmpdb.h"

tmpdb_fixture("bsearch", 1)

static void plan_uses_the_phone_index(void **state)
{
    struct tmpdb *db = *state;
    sqlite3_stmt *s = NULL;
    char plan[1024] = "";
    size_t used = 0;

    /* Enough rows that the planner has a reason to prefer a scan if the
     * index were not usable. */
    assert_int_equal(store_exec(db->st,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
        " INSERT INTO beneficiaries (first_name, last_name, phone, search_key, created_at,"
        " updated_at) SELECT 'P' || i, 'N', printf('+3361%07d', i), 'p n', 0, 0 FROM n;"
        "ANALYZE;"), 0);
    assert_int_equal(sqlite3_prepare_v2(store_db(db->st),
                                        "EXPLAIN QUERY PLAN " BENEFICIARIES_BY_PHONE_SQL, -1, &s,
                                        NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(s, 3);
        used += (size_t)snprintf(plan + used, sizeof plan - used, "%s\n", detail);
        assert_true(used < sizeof plan);
    }
    sqlite3_finalize(s);
    if (!strstr(plan, "USING INDEX beneficiaries_phone") || strstr(plan, "SCAN"))
        fail_msg("the phone search does not walk the phone index:\n%s", plan);
}

static void finds_living_people_in_id_order(void **state)
{
    struct tmpdb *db = *state;
    sqlite3_stmt *s;
    int64_t ids[4];
    int n = 0;

    assert_int_equal(store_exec(db->st,
        "DELETE FROM beneficiaries;"
        "INSERT INTO beneficiaries (id, first_name, last_name, phone, created_at, updated_at,"
        " erased_at) VALUES (10, 'A', 'A', '+33612345678', 0, 0, NULL),"
        " (11, NULL, NULL, '+33612345678', 0, 0, 5),"
        " (12, 'B', 'B', '+33699999999', 0, 0, NULL),"
        " (13, 'C', 'C', '+33612345678', 0, 0, NULL);"), 0);
    s = store_stmt(db->st, BENEFICIARIES_BY_PHONE_SQL);
    assert_non_null(s);
    assert_int_equal(sqlite3_bind_int64(s, 1, 0), SQLITE_OK);
    assert_int_equal(store_bind_text(s, 2, "+33612345678"), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int(s, 3, 10), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW && n < 4)
        ids[n++] = sqlite3_column_int64(s, 0);
    store_done(s);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 10);
    assert_int_equal(ids[1], 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_uses_the_phone_index),
        cmocka_unit_test(finds_living_people_in_id_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
