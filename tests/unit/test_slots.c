/* Permanence slots: counting and checking whole slots inside a window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain.h"

/* Thursday 2026-03-05 09:00–12:00 UTC; the arithmetic is zone-free. */
#define T0 INT64_C(1772701200)
#define H 3600

static void count_whole_slots(void **state)
{
    (void)state;
    assert_int_equal(slots_count(T0, T0 + 3 * H, 30), 6);
    assert_int_equal(slots_count(T0, T0 + 3 * H, 45), 4);
    assert_int_equal(slots_count(T0, T0 + 3 * H, 180), 1);
    /* A remainder shorter than a slot is not a slot. */
    assert_int_equal(slots_count(T0, T0 + 3 * H + 20 * 60, 30), 6);
    assert_int_equal(slots_count(T0, T0 + 29 * 60, 30), 0);
    assert_int_equal(slots_count(T0, T0 + 3 * H, 181), 0);
}

static void count_rejects_nonsense(void **state)
{
    (void)state;
    assert_int_equal(slots_count(T0, T0 + 3 * H, 0), -1);
    assert_int_equal(slots_count(T0, T0 + 3 * H, -30), -1);
    assert_int_equal(slots_count(T0, T0, 30), -1);
    assert_int_equal(slots_count(T0 + H, T0, 30), -1);
    /* end - start overflows int64. */
    assert_int_equal(slots_count(INT64_MIN, INT64_MAX, 30), -1);
    /* More slots than an int holds: refused, not wrapped. */
    assert_int_equal(slots_count(0, INT64_MAX, 1), -1);
}

static void check_slot_starts(void **state)
{
    (void)state;
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0), 0);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 + 30 * 60), 0);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 + 150 * 60), 0); /* last one */
    /* Not on the grid. */
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 + 15 * 60), -1);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 + 1), -1);
    /* Outside the window. */
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 - 30 * 60), -1);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 + 3 * H), -1);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, T0 + 4 * H), -1);
}

static void check_partial_last_slot(void **state)
{
    (void)state;
    /* 09:00–10:40 with 30 min slots: 10:30 starts a slot that would run
     * past the end, so it is not bookable. */
    assert_int_equal(slots_check(T0, T0 + 100 * 60, 30, T0 + 60 * 60), 0);
    assert_int_equal(slots_check(T0, T0 + 100 * 60, 30, T0 + 90 * 60), -1);
}

static void check_rejects_nonsense(void **state)
{
    (void)state;
    assert_int_equal(slots_check(T0, T0 + 3 * H, 0, T0), -1);
    assert_int_equal(slots_check(T0, T0 + 3 * H, -5, T0), -1);
    assert_int_equal(slots_check(T0, T0, 30, T0), -1);
    assert_int_equal(slots_check(T0 + H, T0, 30, T0), -1);
    assert_int_equal(slots_check(INT64_MIN, INT64_MAX, 30, 0), -1);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, INT64_MAX), -1);
    assert_int_equal(slots_check(T0, T0 + 3 * H, 30, INT64_MIN), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(count_whole_slots),
        cmocka_unit_test(count_rejects_nonsense),
        cmocka_unit_test(check_slot_starts),
        cmocka_unit_test(check_partial_last_slot),
        cmocka_unit_test(check_rejects_nonsense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
