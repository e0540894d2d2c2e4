/* Unit tests for tokens: SHA-256 and base64url vectors, creation and lookup
 * against a real (temporary) database, revocation, staff binding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "store.h"
#include "tokens.h"
#include "tmpdb.h"

tmpdb_fixture("tokens", 1)

static void hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

static void test_sha256_vectors(void **state)
{
    static const struct { const char *in, *out; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    unsigned char d[32];
    char h[65];

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tokens_sha256(v[i].in, strlen(v[i].in), d);
        hex(d, 32, h);
        assert_string_equal(h, v[i].out);
    }
}

static void test_b64url(void **state)
{
    /* RFC 4648 §10, without padding, and the two url-safe letters. */
    static const struct { const char *in, *out; } v[] = {
        {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"},
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tokens_b64url((const unsigned char *)v[i].in, strlen(v[i].in), out);
        assert_string_equal(out, v[i].out);
    }
}

static void test_random_and_equal(void **state)
{
    unsigned char a[32], b[32];

    (void)state;
    assert_int_equal(tokens_random(a, sizeof a), 0);
    assert_int_equal(tokens_random(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(tokens_random(a, 0), 0);

    memcpy(b, a, sizeof a);
    assert_int_equal(tokens_equal(a, b, sizeof a), 1);
    b[31] ^= 1;
    assert_int_equal(tokens_equal(a, b, sizeof a), 0);
    b[31] ^= 1;
    b[0] ^= 0x80;
    assert_int_equal(tokens_equal(a, b, sizeof a), 0);
    assert_int_equal(tokens_equal(a, b, 0), 1);
}

static void test_roles(void **state)
{
    (void)state;
    assert_int_equal(http_role_parse("admin"), ROLE_ADMIN);
    assert_int_equal(http_role_parse("coordinator"), ROLE_COORDINATOR);
    assert_int_equal(http_role_parse("trainer"), ROLE_TRAINER);
    assert_int_equal(http_role_parse("Admin"), -1);
    assert_int_equal(http_role_parse(""), -1);
    assert_int_equal(http_role_parse(NULL), -1);
    assert_string_equal(http_role_name(ROLE_TRAINER), "trainer");
    assert_null(http_role_name(0));
    assert_null(http_role_name(ROLE_ADMIN | ROLE_TRAINER));
}

static void test_add_and_check(void **state)
{
    struct tmpdb *f = *state;
    struct token_info info;
    char plain[64], other[64];
    char *err = NULL;
    int64_t n = -1;

    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, "ops laptop", 0, plain, sizeof plain,
                                &err), 0);
    assert_null(err);
    assert_int_equal(strlen(plain), 47);
    assert_int_equal(strncmp(plain, "rls_", 4), 0);
    assert_int_equal(strspn(plain + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_"), 43);
    assert_int_equal(tokens_add(f->st, ROLE_COORDINATOR, "other", 0, other, sizeof other,
                                &err), 0);
    assert_string_not_equal(plain, other);

    /* Stored hashed only. */
    sqlite3_stmt *s = store_stmt(f->st, "SELECT hash, role, staff_id, last_used_at, name"
                                        " FROM api_tokens WHERE id = 1");
    unsigned char want[32];
    tokens_sha256(plain, strlen(plain), want);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(s, 0), 32);
    assert_memory_equal(sqlite3_column_blob(s, 0), want, 32);
    assert_string_equal((const char *)sqlite3_column_text(s, 1), "admin");
    assert_int_equal(sqlite3_column_type(s, 2), SQLITE_NULL);
    assert_int_equal(sqlite3_column_type(s, 3), SQLITE_NULL);
    assert_string_equal((const char *)sqlite3_column_text(s, 4), "ops laptop");
    store_done(s);

    memset(&info, 0, sizeof info);
    assert_int_equal(tokens_check(f->st, plain, &info), 1);
    assert_int_equal(info.id, 1);
    assert_int_equal(info.role, ROLE_ADMIN);
    assert_int_equal(info.staff_id, 0);
    assert_int_equal(tokens_check(f->st, other, &info), 1);
    assert_int_equal(info.role, ROLE_COORDINATOR);
    assert_int_equal(store_int_query(f->st, "SELECT last_used_at FROM api_tokens WHERE id = 1",
                                     0, &n), 1);
    assert_true(n > 0 && n <= (int64_t)time(NULL));
}

static void test_unknown(void **state)
{
    struct tmpdb *f = *state;
    struct token_info info;
    char plain[64];
    char *err = NULL;

    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, "a", 0, plain, sizeof plain, &err), 0);
    assert_int_equal(tokens_check(f->st, NULL, &info), 0);
    assert_int_equal(tokens_check(f->st, "", &info), 0);
    assert_int_equal(tokens_check(f->st, "rls_", &info), 0);
    assert_int_equal(tokens_check(f->st, "rls_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &info),
                     0);
    plain[20] = plain[20] == 'A' ? 'B' : 'A';
    assert_int_equal(tokens_check(f->st, plain, &info), 0);
    plain[20] = '\0';
    assert_int_equal(tokens_check(f->st, plain, &info), 0);
}

static void test_revoked(void **state)
{
    struct tmpdb *f = *state;
    struct token_info info;
    char plain[64];
    char *err = NULL;

    assert_int_equal(tokens_add(f->st, ROLE_COORDINATOR, "a", 0, plain, sizeof plain, &err), 0);
    assert_int_equal(tokens_check(f->st, plain, &info), 1);
    assert_int_equal(store_exec(f->st, "UPDATE api_tokens SET revoked_at = 1"), 0);
    assert_int_equal(tokens_check(f->st, plain, &info), 0);
}

static void test_staff_binding(void **state)
{
    struct tmpdb *f = *state;
    struct token_info info;
    char plain[64];
    char *err = NULL;
    int64_t n = -1;

    assert_int_equal(store_exec(f->st, "INSERT INTO staff (id, name, role, created_at,"
                                       " updated_at) VALUES (7, 'T', 'trainer', 0, 0)"), 0);
    assert_int_equal(tokens_add(f->st, ROLE_TRAINER, "tablet", 7, plain, sizeof plain, &err),
                     0);
    assert_int_equal(tokens_check(f->st, plain, &info), 1);
    assert_int_equal(info.role, ROLE_TRAINER);
    assert_int_equal(info.staff_id, 7);

    assert_int_equal(tokens_add(f->st, ROLE_TRAINER, "tablet", 8, plain, sizeof plain, &err),
                     -1);
    assert_non_null(strstr(err, "staff member 8 does not exist"));
    free(err);
    assert_int_equal(store_int_query(f->st, "SELECT count(*) FROM api_tokens", 0, &n), 1);
    assert_int_equal(n, 1);
}

static void test_add_refusals(void **state)
{
    struct tmpdb *f = *state;
    char plain[64], small[40];
    char *err = NULL;
    int64_t n = -1;

    assert_int_equal(tokens_add(f->st, 0, "x", 0, plain, sizeof plain, &err), -1);
    free(err);
    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, "", 0, plain, sizeof plain, &err), -1);
    free(err);
    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, NULL, 0, plain, sizeof plain, &err), -1);
    free(err);
    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, "x", -1, plain, sizeof plain, &err), -1);
    free(err);
    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, "x", 0, small, sizeof small, &err), -1);
    free(err);
    assert_int_equal(store_int_query(f->st, "SELECT count(*) FROM api_tokens", 0, &n), 1);
    assert_int_equal(n, 0);
}

/* last_used_at is written at most once an hour, and inside an open
 * transaction the write belongs to it. */
static void test_last_used(void **state)
{
    struct tmpdb *f = *state;
    struct token_info info;
    char plain[64];
    char *err = NULL;
    int64_t n = -1, now = (int64_t)time(NULL);

    assert_int_equal(tokens_add(f->st, ROLE_ADMIN, "a", 0, plain, sizeof plain, &err), 0);
    assert_int_equal(store_exec(f->st, "UPDATE api_tokens SET last_used_at = 1000"), 0);
    assert_int_equal(tokens_check(f->st, plain, &info), 1);
    assert_int_equal(store_int_query(f->st, "SELECT last_used_at FROM api_tokens", 0, &n), 1);
    assert_true(n >= now);

    assert_int_equal(store_exec(f->st, "UPDATE api_tokens SET last_used_at = last_used_at - 60"),
                     0);
    int64_t before = n - 60;
    assert_int_equal(tokens_check(f->st, plain, &info), 1);
    assert_int_equal(store_int_query(f->st, "SELECT last_used_at FROM api_tokens", 0, &n), 1);
    assert_int_equal(n, before);          /* less than an hour: no write */

    assert_int_equal(store_exec(f->st, "UPDATE api_tokens SET last_used_at = 1000"), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(tokens_check(f->st, plain, &info), 1);
    assert_int_equal(store_in_tx(f->st), 1);
    assert_int_equal(store_rollback(f->st), 0);
    assert_int_equal(store_int_query(f->st, "SELECT last_used_at FROM api_tokens", 0, &n), 1);
    assert_int_equal(n, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_random_and_equal),
        cmocka_unit_test(test_roles),
        cmocka_unit_test_setup_teardown(test_add_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staff_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_used, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
