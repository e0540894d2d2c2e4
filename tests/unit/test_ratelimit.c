/* Token buckets by address: the burst, the refill, Retry-After, addresses
 * kept apart, eviction within a bounded table, checking without taking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ratelimit.h"

static void test_burst_then_refill(void **s)
{
    struct ratelimit *rl = ratelimit_new(64, 60, 5);   /* one a second */
    int retry = 0;

    (void)s;
    assert_non_null(rl);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1000, &retry), 0);
    assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1000, &retry), 1);
    assert_int_equal(retry, 1);
    /* 999 ms later a token is not quite back; at 1000 ms it is. */
    assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1999, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "10.0.0.1", 2000, &retry), 0);
    assert_int_equal(ratelimit_take(rl, "10.0.0.1", 2000, &retry), 1);
    /* A long pause refills up to the burst, never beyond. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1000000, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1000000, NULL), 1);
    ratelimit_free(rl);
}

static void test_retry_after_counts_whole_seconds(void **s)
{
    struct ratelimit *rl = ratelimit_new(64, 2, 1);    /* one per 30 s */
    int retry = 0;

    (void)s;
    assert_int_equal(ratelimit_take(rl, "a", 0, &retry), 0);
    assert_int_equal(ratelimit_take(rl, "a", 0, &retry), 1);
    assert_int_equal(retry, 30);
    assert_int_equal(ratelimit_take(rl, "a", 10500, &retry), 1);
    assert_int_equal(retry, 20);   /* 19.5 s, rounded up */
    assert_int_equal(ratelimit_take(rl, "a", 30000, &retry), 0);
    ratelimit_free(rl);
}

static void test_addresses_apart(void **s)
{
    struct ratelimit *rl = ratelimit_new(64, 60, 2);

    (void)s;
    assert_int_equal(ratelimit_take(rl, "192.0.2.1", 0, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "192.0.2.1", 0, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "192.0.2.1", 0, NULL), 1);
    assert_int_equal(ratelimit_take(rl, "192.0.2.2", 0, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "::1", 0, NULL), 0);
    ratelimit_free(rl);
}

static void test_check_takes_nothing(void **s)
{
    struct ratelimit *rl = ratelimit_new(64, 60, 1);
    int retry = 0;

    (void)s;
    for (int i = 0; i < 10; i++)
        assert_int_equal(ratelimit_check(rl, "x", 0, &retry), 0);
    assert_int_equal(ratelimit_take(rl, "x", 0, NULL), 0);
    assert_int_equal(ratelimit_check(rl, "x", 0, &retry), 1);
    assert_int_equal(retry, 1);
    ratelimit_free(rl);
}

/* Far more addresses than slots: the table stays its size, and an address
 * that was pushed out comes back with a full bucket; the addresses of the
 * last set used are still limited. */
static void test_bounded_table(void **s)
{
    struct ratelimit *rl = ratelimit_new(16, 1, 1);
    char key[32];
    int limited = 0;

    (void)s;
    assert_int_equal(ratelimit_take(rl, "first", 0, NULL), 0);
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(ratelimit_take(rl, key, i + 1, NULL), 0);
    }
    assert_int_equal(ratelimit_take(rl, "first", 20000, NULL), 0);
    /* The most recent addresses are still in the table, their buckets empty. */
    for (int i = 9990; i < 10000; i++) {
        snprintf(key, sizeof key, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        limited += ratelimit_take(rl, key, 20000, NULL);
    }
    assert_true(limited >= 8);
    ratelimit_free(rl);
}

static void test_long_keys_and_bad_args(void **s)
{
    struct ratelimit *rl = ratelimit_new(8, 60, 1);
    char big[200];

    (void)s;
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ratelimit_take(rl, big, 0, NULL), 0);
    /* Cut at the same length: the same bucket. */
    big[100] = '\0';
    assert_int_equal(ratelimit_take(rl, big, 0, NULL), 1);
    ratelimit_free(rl);
    assert_null(ratelimit_new(0, 60, 1));
    assert_null(ratelimit_new(8, 0, 1));
    assert_null(ratelimit_new(8, 60, 0));
    ratelimit_free(NULL);
    assert_true(ratelimit_now_ms() > 0);
}

/* A reload changes the rates of a live table: buckets are kept (no one
 * gets a fresh burst) and cut down to a smaller burst. */
static void test_set_rates(void **s)
{
    struct ratelimit *rl = ratelimit_new(10, 60, 10);
    int retry = 0;

    (void)s;
    assert_non_null(rl);
    assert_int_equal(ratelimit_capacity(rl), 16);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ratelimit_take(rl, "a", 1000, NULL), 0);   /* 6 left */
    assert_int_equal(ratelimit_set_rates(rl, 6, 2), 0);             /* cut to 2 */
    assert_int_equal(ratelimit_take(rl, "a", 1000, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "a", 1000, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "a", 1000, &retry), 1);
    assert_int_equal(retry, 10);                    /* 6 a minute: one per 10 s */
    /* A new key starts with the new burst. */
    assert_int_equal(ratelimit_take(rl, "b", 1000, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "b", 1000, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "b", 1000, NULL), 1);
    /* A larger burst fills up at the new rate, not at once. */
    assert_int_equal(ratelimit_set_rates(rl, 60, 100), 0);
    assert_int_equal(ratelimit_take(rl, "b", 2000, NULL), 0);
    assert_int_equal(ratelimit_take(rl, "b", 2000, NULL), 1);
    assert_int_equal(ratelimit_set_rates(rl, 0, 5), -1);
    assert_int_equal(ratelimit_set_rates(rl, 5, 0), -1);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_retry_after_counts_whole_seconds),
        cmocka_unit_test(test_addresses_apart),
        cmocka_unit_test(test_check_takes_nothing),
        cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_long_keys_and_bad_args),
        cmocka_unit_test(test_set_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
