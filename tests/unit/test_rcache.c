/* Unit tests for rcache: an answer is served only at the database state it
 * was rendered at (writes through this connection, commits by another one,
 * open transactions), and the cache stays within its bounds; the state read
 * once per request (rcache_state) and the verified-token cache of tokens.h
 * that shares it. Each test works on a database of its own in a temporary
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "http.h"
#include "rcache.h"
#include "store.h"
#include "tokens.h"
#include "tmpdb.h"

struct fixture {
    struct tmpdb db;
    struct rcache *c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (!f || tmpdb_open(&f->db, "rcache", 0) != 0) {
        free(f);
        return -1;
    }
    if (store_exec(f->db.st, "CREATE TABLE t (v INTEGER)") != 0 || !(f->c = rcache_new())) {
        tmpdb_close(&f->db);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc;

    rcache_free(f->c);
    rc = tmpdb_close(&f->db);
    free(f);
    return rc;
}

static const char *get(struct fixture *f, const char *key)
{
    struct rcache_mark m;
    size_t len = 0;
    const char *text;

    rcache_mark(f->db.st, &m);
    assert_true(m.ok);
    text = rcache_get(f->c, key, &m, &len);
    if (text)
        assert_int_equal(len, strlen(key) + 2);
    return text;
}

/* Keeps "<KEY>!!" under KEY at the state now. */
static void put(struct fixture *f, const char *key)
{
    struct rcache_mark m;
    char text[128];

    rcache_mark(f->db.st, &m);
    assert_true(m.ok);
    snprintf(text, sizeof text, "%s!!", key);
    rcache_put(f->c, key, text, strlen(text), &m);
}

static void test_hit_until_a_write(void **state)
{
    struct fixture *f = *state;

    assert_null(get(f, "a"));
    put(f, "a");
    assert_non_null(get(f, "a"));
    assert_memory_equal(get(f, "a"), "a!!", 3);
    assert_null(get(f, "b"));
    /* a row changed through this connection */
    assert_int_equal(store_exec(f->db.st, "INSERT INTO t VALUES (1)"), 0);
    assert_null(get(f, "a"));
    put(f, "a");
    assert_non_null(get(f, "a"));
    /* a write that changes no row changes nothing */
    assert_int_equal(store_exec(f->db.st, "UPDATE t SET v = 2 WHERE v = 99"), 0);
    assert_non_null(get(f, "a"));
    /* a rolled-back write still counts: what was read inside it is gone */
    assert_int_equal(store_exec(f->db.st, "BEGIN; INSERT INTO t VALUES (3); ROLLBACK"), 0);
    assert_null(get(f, "a"));
}

static void test_commit_by_another_connection(void **state)
{
    struct fixture *f = *state;
    sqlite3 *other = NULL;

    put(f, "a");
    assert_non_null(get(f, "a"));
    assert_int_equal(sqlite3_open(f->db.path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "INSERT INTO t VALUES (7)", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_null(get(f, "a"));
    put(f, "a");
    assert_non_null(get(f, "a"));
    /* reading through the other connection is no change */
    assert_int_equal(sqlite3_exec(other, "SELECT * FROM t", NULL, NULL, NULL), SQLITE_OK);
    assert_non_null(get(f, "a"));
    sqlite3_close(other);
}

static void test_nothing_inside_a_transaction(void **state)
{
    struct fixture *f = *state;
    struct rcache_mark m;
    size_t len;

    put(f, "a");
    assert_int_equal(store_exec(f->db.st, "BEGIN"), 0);
    rcache_mark(f->db.st, &m);
    assert_false(m.ok);
    assert_null(rcache_get(f->c, "a", &m, &len));
    rcache_put(f->c, "b", "x", 1, &m);
    assert_int_equal(store_exec(f->db.st, "COMMIT"), 0);
    assert_non_null(get(f, "a"));
    assert_null(get(f, "b"));
}

static void test_bounds(void **state)
{
    struct fixture *f = *state;
    struct rcache_mark m;
    char key[16];
    char *big;

    for (int i = 0; i < RCACHE_SLOTS + 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(f, key);
        if (i == RCACHE_SLOTS - 1) {
            /* full; k0, used again now, is not the least recently used */
            assert_non_null(get(f, "k0"));
        }
    }
    assert_non_null(get(f, "k0"));
    for (int i = 1; i <= 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_null(get(f, key));
    }
    for (int i = 9; i < RCACHE_SLOTS + 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_non_null(get(f, key));
    }
    /* a text over a quarter of the budget is not kept */
    big = malloc(RCACHE_MAX_BYTES / 4 + 1);
    assert_non_null(big);
    memset(big, 'x', RCACHE_MAX_BYTES / 4 + 1);
    rcache_mark(f->db.st, &m);
    rcache_put(f->c, "big", big, RCACHE_MAX_BYTES / 4 + 1, &m);
    assert_null(get(f, "big"));
    /* four of a quarter each push the oldest out rather than grow past */
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "q%d", i);
        rcache_put(f->c, key, big, RCACHE_MAX_BYTES / 4, &m);
    }
    assert_null(rcache_get(f->c, "q0", &m, &(size_t){0}));
    assert_non_null(rcache_get(f->c, "q4", &m, &(size_t){0}));
    free(big);
    /* no cache is no answer, and nothing to keep */
    assert_null(rcache_get(NULL, "q4", &m, &(size_t){0}));
    rcache_put(NULL, "q4", "x", 1, &m);
    rcache_free(NULL);
}

static int setup_tokens(void **state)
{
    struct fixture *f;
    char *err = NULL;

    if (setup(state) != 0)
        return -1;
    f = *state;
    if (store_migrate_core(f->db.st, &err) != 0) {
        fprintf(stderr, "migrate: %s\n", err);
        free(err);
        return -1;
    }
    return 0;
}

static void add_token(struct fixture *f, const char *name, char plain[64])
{
    char *err = NULL;

    assert_int_equal(tokens_add(f->db.st, ROLE_TRAINER, name, 0, plain, 64, &err), 0);
    assert_null(err);
}

/* One request's token check, as http_guard_auth does it. */
static int check(struct fixture *f, struct tokens_cache *tc, const char *plain)
{
    struct token_info info;
    struct rcache_mark m;
    int rc;

    rcache_request_begin(f->c);
    rcache_state(f->c, f->db.st, &m);
    rc = tokens_check_cached(f->db.st, tc, &m, plain, &info);
    rcache_request_end(f->c);
    if (rc == 1)
        assert_int_equal(info.role, ROLE_TRAINER);
    return rc;
}

/* The state at which the entries filled now are kept: the token checked
 * (and its use recorded), then the state read. */
static void settled(struct fixture *f, struct tokens_cache *tc, const char *plain,
                    struct rcache_mark *m)
{
    assert_int_equal(check(f, tc, plain), 1);
    rcache_mark(f->db.st, m);
    assert_true(m->ok);
}

static void test_state_read_once_per_request(void **state)
{
    struct fixture *f = *state;
    struct rcache_mark a, b, fresh;
    sqlite3 *other = NULL;

    assert_int_equal(sqlite3_open(f->db.path, &other), SQLITE_OK);
    rcache_request_begin(f->c);
    rcache_state(f->c, f->db.st, &a);
    assert_true(a.ok);
    assert_int_equal(sqlite3_exec(other, "INSERT INTO t VALUES (7)", NULL, NULL, NULL),
                     SQLITE_OK);
    /* the request keeps the data_version it began with... */
    rcache_state(f->c, f->db.st, &b);
    assert_true(b.ok);
    assert_true(b.data_version == a.data_version && b.changes == a.changes);
    /* ...but its own writes and transactions show at once */
    assert_int_equal(store_exec(f->db.st, "INSERT INTO t VALUES (8)"), 0);
    rcache_state(f->c, f->db.st, &b);
    assert_true(b.ok && b.changes != a.changes);
    assert_int_equal(store_exec(f->db.st, "BEGIN"), 0);
    rcache_state(f->c, f->db.st, &b);
    assert_false(b.ok);
    assert_int_equal(store_exec(f->db.st, "COMMIT"), 0);
    rcache_request_end(f->c);
    /* the next request sees the other connection's commit */
    rcache_request_begin(f->c);
    rcache_state(f->c, f->db.st, &b);
    rcache_mark(f->db.st, &fresh);
    assert_true(b.ok && b.data_version != a.data_version);
    assert_true(b.data_version == fresh.data_version && b.changes == fresh.changes);
    rcache_request_end(f->c);
    /* outside a request, and without a cache, it is rcache_mark */
    rcache_state(NULL, f->db.st, &b);
    assert_true(b.data_version == fresh.data_version && b.changes == fresh.changes);
    sqlite3_close(other);
}

static void test_token_cached_until_the_state_moves(void **state)
{
    struct fixture *f = *state;
    struct tokens_cache *tc = tokens_cache_new();
    struct token_info info;
    struct rcache_mark m;
    char plain[64], other_tok[64];

    assert_non_null(tc);
    add_token(f, "one", plain);
    add_token(f, "two", other_tok);
    settled(f, tc, plain, &m);
    assert_int_equal(check(f, tc, plain), 1);
    /* Served from the cache: at the state it was verified at, the token
     * holds even though its row is gone since (the state given is stale
     * on purpose, which only a test does)... */
    assert_int_equal(store_exec(f->db.st, "DELETE FROM api_tokens WHERE name = 'one'"), 0);
    assert_int_equal(tokens_check_cached(f->db.st, tc, &m, plain, &info), 1);
    /* ...and at the state now it does not, nor later */
    assert_int_equal(check(f, tc, plain), 0);
    assert_int_equal(tokens_check_cached(f->db.st, tc, &m, plain, &info), 0);
    /* failures are not kept: the same stale state finds nothing either */
    assert_int_equal(tokens_check_cached(f->db.st, tc, &m, "rls_nothing", &info), 0);
    assert_int_equal(check(f, tc, other_tok), 1);
    assert_int_equal(tokens_check_cached(f->db.st, NULL, &m, other_tok, &info), 1);
    tokens_cache_free(tc);
    tokens_cache_free(NULL);
}

static void test_token_revoked_by_another_connection(void **state)
{
    struct fixture *f = *state;
    struct tokens_cache *tc = tokens_cache_new();
    struct rcache_mark m;
    sqlite3 *other = NULL;
    char plain[64];

    assert_non_null(tc);
    add_token(f, "one", plain);
    settled(f, tc, plain, &m);
    assert_int_equal(check(f, tc, plain), 1);
    assert_int_equal(sqlite3_open(f->db.path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "UPDATE api_tokens SET revoked_at = 1", NULL, NULL,
                                  NULL), SQLITE_OK);
    assert_int_equal(check(f, tc, plain), 0);
    /* and a token added there works at once */
    assert_int_equal(sqlite3_exec(other, "UPDATE api_tokens SET revoked_at = NULL", NULL,
                                  NULL, NULL), SQLITE_OK);
    assert_int_equal(check(f, tc, plain), 1);
    sqlite3_close(other);
    tokens_cache_free(tc);
}

static void test_token_write_by_this_connection(void **state)
{
    struct fixture *f = *state;
    struct tokens_cache *tc = tokens_cache_new();
    struct rcache_mark m, now;
    char plain[64];

    assert_non_null(tc);
    add_token(f, "one", plain);
    settled(f, tc, plain, &m);
    assert_int_equal(check(f, tc, plain), 1);
    assert_int_equal(store_exec(f->db.st, "UPDATE api_tokens SET revoked_at = 1"), 0);
    assert_int_equal(check(f, tc, plain), 0);
    /* a write elsewhere moves the state too, so the entry retires and the
     * token is looked up again (and still holds) */
    assert_int_equal(store_exec(f->db.st, "UPDATE api_tokens SET revoked_at = NULL"), 0);
    settled(f, tc, plain, &m);
    assert_int_equal(store_exec(f->db.st, "INSERT INTO t VALUES (1)"), 0);
    rcache_mark(f->db.st, &now);
    assert_true(now.ok && now.changes != m.changes);
    assert_int_equal(check(f, tc, plain), 1);
    /* inside a transaction nothing is kept nor served */
    assert_int_equal(store_exec(f->db.st, "BEGIN"), 0);
    rcache_mark(f->db.st, &m);
    assert_false(m.ok);
    assert_int_equal(check(f, tc, plain), 1);
    assert_int_equal(store_exec(f->db.st, "UPDATE api_tokens SET revoked_at = 1"), 0);
    assert_int_equal(check(f, tc, plain), 0);
    assert_int_equal(store_exec(f->db.st, "ROLLBACK"), 0);
    assert_int_equal(check(f, tc, plain), 1);
    tokens_cache_free(tc);
}

static void test_token_cache_bounded(void **state)
{
    struct fixture *f = *state;
    struct tokens_cache *tc = tokens_cache_new();
    enum { N = 2 * TOKENS_CACHE_SLOTS + 8 };
    static char plain[N][64];
    struct token_info info;
    struct rcache_mark m;
    char name[16];
    int kept = 0;

    assert_non_null(tc);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "t%d", i);
        add_token(f, name, plain[i]);
        assert_int_equal(check(f, tc, plain[i]), 1);   /* records the use */
    }
    /* every entry now verified at one state */
    rcache_mark(f->db.st, &m);
    for (int i = 0; i < N; i++)
        assert_int_equal(check(f, tc, plain[i]), 1);
    assert_int_equal(store_exec(f->db.st, "DELETE FROM api_tokens"), 0);
    for (int i = 0; i < N; i++)
        kept += tokens_check_cached(f->db.st, tc, &m, plain[i], &info) == 1;
    assert_true(kept > 0 && kept <= TOKENS_CACHE_SLOTS);
    /* the most recent is among them */
    assert_int_equal(tokens_check_cached(f->db.st, tc, &m, plain[N - 1], &info), 1);
    tokens_cache_free(tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hit_until_a_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_by_another_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_inside_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_read_once_per_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_cached_until_the_state_moves, setup_tokens,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_revoked_by_another_connection,
                                        setup_tokens, teardown),
        cmocka_unit_test_setup_teardown(test_token_write_by_this_connection, setup_tokens,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_cache_bounded, setup_tokens, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
