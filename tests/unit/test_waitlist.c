/* The waitlist: enrollments_taken() and enrollments_promote() on a real
 * store (a temporary SQLite file with the core schema), rows put in place
 * with plain SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "store.h"

#define T0 INT64_C(1772701200)   /* 2026-03-05 09:00 UTC */
#define H 3600

struct fx {
    char dir[64];
    char path[96];
    struct store *st;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    char *err = NULL;

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/relais-waitlist-XXXXXX");
    if (!mkdtemp(fx->dir))
        goto fail;
    snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    if (store_open(fx->path, &fx->st, &err) != 0 || store_migrate_core(fx->st, &err) != 0)
        goto fail;
    /* Three people to enroll; ids 1..5. */
    if (store_exec(fx->st, "INSERT INTO beneficiaries (id, first_name, last_name, created_at,"
                           " updated_at) VALUES (1,'A','A',0,0), (2,'B','B',0,0),"
                           " (3,'C','C',0,0), (4,'D','D',0,0), (5,'E','E',0,0)") != 0)
        goto fail;
    *state = fx;
    return 0;
fail:
    if (err)
        fprintf(stderr, "# %s\n", err);
    free(err);
    store_close(fx->st);
    free(fx);
    return -1;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char p[128];

    store_close(fx->st);
    unlink(fx->path);
    snprintf(p, sizeof p, "%s-wal", fx->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", fx->path);
    unlink(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Runs one statement built from integers only. */
static void sql(struct store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sql(struct store *st, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_int_equal(store_exec(st, buf), 0);
}

/* A session of KIND with CAPACITY (-1: none) and optional slots / parent. */
static void session(struct store *st, int64_t id, const char *kind, int64_t capacity,
                    int slot_minutes, int64_t parent)
{
    char cap[24] = "NULL", slot[24] = "NULL", par[24] = "NULL";

    if (capacity >= 0)
        snprintf(cap, sizeof cap, "%lld", (long long)capacity);
    if (slot_minutes)
        snprintf(slot, sizeof slot, "%d", slot_minutes);
    if (parent)
        snprintf(par, sizeof par, "%lld", (long long)parent);
    sql(st, "INSERT INTO sessions (id, kind, title, starts_at, ends_at, capacity,"
            " slot_minutes, parent_id, created_at, updated_at)"
            " VALUES (%lld, '%s', 'x', %lld, %lld, %s, %s, %s, 0, 0)",
        (long long)id, kind, (long long)T0, (long long)(T0 + 3 * H), cap, slot, par);
}

/* An enrollment ID of beneficiary BEN in SESSION with STATUS. */
static void enroll(struct store *st, int64_t id, int64_t sess, int64_t ben, const char *status,
                   int64_t slot, int64_t parent)
{
    char sl[24] = "NULL", par[24] = "NULL";

    if (slot)
        snprintf(sl, sizeof sl, "%lld", (long long)slot);
    if (parent)
        snprintf(par, sizeof par, "%lld", (long long)parent);
    sql(st, "INSERT INTO enrollments (id, session_id, beneficiary_id, status, slot_start,"
            " parent_id, created_at, updated_at) VALUES (%lld, %lld, %lld, '%s', %s, %s, %lld, 0)",
        (long long)id, (long long)sess, (long long)ben, status, sl, par, (long long)id);
}

static int64_t q(struct store *st, const char *query, int64_t arg)
{
    int64_t v = -1;
    assert_int_equal(store_int_query(st, query, arg, &v), 1);
    return v;
}

static const char *status_of(struct store *st, int64_t id)
{
    static const char *const names[] = {"booked", "waitlisted", "cancelled", "attended",
                                        "absent", "excused"};
    int64_t k = q(st, "SELECT CASE status WHEN 'booked' THEN 0 WHEN 'waitlisted' THEN 1"
                      " WHEN 'cancelled' THEN 2 WHEN 'attended' THEN 3 WHEN 'absent' THEN 4"
                      " ELSE 5 END FROM enrollments WHERE id = ?1", id);
    return names[k];
}

static int64_t promoted_events(struct store *st, int64_t id)
{
    return q(st, "SELECT count(*) FROM enrollment_events WHERE enrollment_id = ?1"
                 " AND kind = 'promoted'", id);
}

static void taken_counts_places_only(void **state)
{
    struct fx *fx = *state;

    session(fx->st, 1, "workshop", 10, 0, 0);
    session(fx->st, 2, "workshop", 10, 0, 0);
    enroll(fx->st, 1, 1, 1, "booked", 0, 0);
    enroll(fx->st, 2, 1, 2, "attended", 0, 0);
    enroll(fx->st, 3, 1, 3, "absent", 0, 0);
    enroll(fx->st, 4, 1, 4, "excused", 0, 0);
    enroll(fx->st, 5, 1, 5, "waitlisted", 0, 0);
    enroll(fx->st, 6, 1, 1, "cancelled", 0, 0);   /* an earlier, cancelled try */
    enroll(fx->st, 7, 2, 1, "booked", 0, 0);      /* another session */
    assert_int_equal(enrollments_taken(fx->st, 1), 4);
    assert_int_equal(enrollments_taken(fx->st, 2), 1);
    assert_int_equal(enrollments_taken(fx->st, 3), 0);
}

static void promotes_in_enrollment_order(void **state)
{
    struct fx *fx = *state;

    session(fx->st, 1, "workshop", 2, 0, 0);
    enroll(fx->st, 1, 1, 1, "booked", 0, 0);
    /* Ids give the order of enrollment, whatever the beneficiary ids. */
    enroll(fx->st, 2, 1, 4, "waitlisted", 0, 0);
    enroll(fx->st, 3, 1, 2, "waitlisted", 0, 0);
    enroll(fx->st, 4, 1, 3, "waitlisted", 0, 0);
    assert_int_equal(enrollments_promote(fx->st, 1, 7), 1);
    assert_string_equal(status_of(fx->st, 2), "booked");
    assert_string_equal(status_of(fx->st, 3), "waitlisted");
    assert_string_equal(status_of(fx->st, 4), "waitlisted");
    assert_int_equal(promoted_events(fx->st, 2), 1);
    assert_int_equal(promoted_events(fx->st, 3), 0);
    assert_int_equal(q(fx->st, "SELECT token_id FROM enrollment_events WHERE enrollment_id = ?1",
                       2), 7);
    assert_int_equal(enrollments_taken(fx->st, 1), 2);
    /* Full again: a second call changes nothing. */
    assert_int_equal(enrollments_promote(fx->st, 1, 7), 0);
    assert_string_equal(status_of(fx->st, 3), "waitlisted");
}

static void nothing_promoted_when_full(void **state)
{
    struct fx *fx = *state;

    session(fx->st, 1, "workshop", 2, 0, 0);
    enroll(fx->st, 1, 1, 1, "booked", 0, 0);
    enroll(fx->st, 2, 1, 2, "attended", 0, 0);
    enroll(fx->st, 3, 1, 3, "waitlisted", 0, 0);
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 0);
    assert_string_equal(status_of(fx->st, 3), "waitlisted");
    assert_int_equal(q(fx->st, "SELECT count(*) FROM enrollment_events", 0), 0);
    /* Capacity 0: nobody ever gets in. */
    session(fx->st, 2, "workshop", 0, 0, 0);
    enroll(fx->st, 4, 2, 1, "waitlisted", 0, 0);
    assert_int_equal(enrollments_promote(fx->st, 2, 0), 0);
    assert_string_equal(status_of(fx->st, 4), "waitlisted");
}

static void capacity_growth_promotes_several(void **state)
{
    struct fx *fx = *state;

    session(fx->st, 1, "workshop", 1, 0, 0);
    enroll(fx->st, 1, 1, 1, "booked", 0, 0);
    enroll(fx->st, 2, 1, 2, "waitlisted", 0, 0);
    enroll(fx->st, 3, 1, 3, "waitlisted", 0, 0);
    enroll(fx->st, 4, 1, 4, "waitlisted", 0, 0);
    enroll(fx->st, 5, 1, 5, "waitlisted", 0, 0);
    sql(fx->st, "UPDATE sessions SET capacity = 3 WHERE id = 1");
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 2);
    assert_string_equal(status_of(fx->st, 2), "booked");
    assert_string_equal(status_of(fx->st, 3), "booked");
    assert_string_equal(status_of(fx->st, 4), "waitlisted");
    assert_string_equal(status_of(fx->st, 5), "waitlisted");
    /* No limit any more: everyone left gets in. */
    sql(fx->st, "UPDATE sessions SET capacity = NULL WHERE id = 1");
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 2);
    assert_string_equal(status_of(fx->st, 5), "booked");
    assert_int_equal(enrollments_taken(fx->st, 1), 5);
}

static void training_promotion_books_parts(void **state)
{
    struct fx *fx = *state;

    session(fx->st, 1, "training", 1, 0, 0);
    session(fx->st, 2, "training", 1, 0, 1);
    session(fx->st, 3, "training", 1, 0, 1);
    /* A holds the place (training + both parts), B waits. */
    enroll(fx->st, 1, 1, 1, "booked", 0, 0);
    enroll(fx->st, 2, 2, 1, "booked", 0, 1);
    enroll(fx->st, 3, 3, 1, "booked", 0, 1);
    enroll(fx->st, 4, 1, 2, "waitlisted", 0, 0);
    enroll(fx->st, 5, 2, 2, "waitlisted", 0, 4);
    enroll(fx->st, 6, 3, 2, "waitlisted", 0, 4);
    /* A part has no waitlist of its own. */
    assert_int_equal(enrollments_promote(fx->st, 2, 0), 0);
    assert_string_equal(status_of(fx->st, 5), "waitlisted");
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 0);
    sql(fx->st, "UPDATE enrollments SET status = 'cancelled' WHERE id IN (1, 2, 3)");
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 1);
    assert_string_equal(status_of(fx->st, 4), "booked");
    assert_string_equal(status_of(fx->st, 5), "booked");
    assert_string_equal(status_of(fx->st, 6), "booked");
    assert_int_equal(promoted_events(fx->st, 4), 1);
    assert_int_equal(promoted_events(fx->st, 5), 1);
    assert_int_equal(promoted_events(fx->st, 6), 1);
    assert_int_equal(enrollments_taken(fx->st, 2), 1);
}

static void cancelled_session_promotes_nobody(void **state)
{
    struct fx *fx = *state;

    session(fx->st, 1, "workshop", 1, 0, 0);
    enroll(fx->st, 1, 1, 1, "waitlisted", 0, 0);
    sql(fx->st, "UPDATE sessions SET status = 'cancelled' WHERE id = 1");
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 0);
    assert_string_equal(status_of(fx->st, 1), "waitlisted");
    /* An unknown session has nobody to promote. */
    assert_int_equal(enrollments_promote(fx->st, 99, 0), 0);
}

static void slot_requests_wait_for_their_slot(void **state)
{
    struct fx *fx = *state;
    int64_t s1 = T0, s2 = T0 + 30 * 60;

    /* 09:00–12:00 in 30 min slots, 2 places. */
    session(fx->st, 1, "permanence", 2, 30, 0);
    enroll(fx->st, 1, 1, 1, "booked", s1, 0);
    enroll(fx->st, 2, 1, 2, "booked", 0, 0);          /* a walk-in */
    enroll(fx->st, 3, 1, 3, "waitlisted", s1, 0);     /* wants a held slot */
    enroll(fx->st, 4, 1, 4, "waitlisted", s2, 0);
    enroll(fx->st, 5, 1, 5, "waitlisted", 0, 0);
    sql(fx->st, "UPDATE enrollments SET status = 'cancelled' WHERE id = 2");
    /* One place: 3's slot is still held by 1, so 4 gets it. */
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 1);
    assert_string_equal(status_of(fx->st, 3), "waitlisted");
    assert_string_equal(status_of(fx->st, 4), "booked");
    assert_string_equal(status_of(fx->st, 5), "waitlisted");
    /* 1 leaves: its slot frees up for 3, first in line. */
    sql(fx->st, "UPDATE enrollments SET status = 'cancelled' WHERE id = 1");
    assert_int_equal(enrollments_promote(fx->st, 1, 0), 1);
    assert_string_equal(status_of(fx->st, 3), "booked");
    assert_string_equal(status_of(fx->st, 5), "waitlisted");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(taken_counts_places_only, setup, teardown),
        cmocka_unit_test_setup_teardown(promotes_in_enrollment_order, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_promoted_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(capacity_growth_promotes_several, setup, teardown),
        cmocka_unit_test_setup_teardown(training_promotion_books_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(cancelled_session_promotes_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(slot_requests_wait_for_their_slot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
