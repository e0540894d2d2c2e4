/* The registry of the domain's events (core/domain/domain_events.c) with fake
 * observers: order, a veto that stops the others and names its observer,
 * nesting, removal; and, on a real store, a veto rolling the whole change
 * back with what the observers before it wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain.h"
#include "domain_events.h"
#include "store.h"
#include "tmpdb.h"

tmpdb_fixture("events", 1)

/* A fake observer: logs the events it hears into LOG, writes a row of its
 * own when it has a store, and vetoes the kind VETO (-1: none). */
struct fake {
    const char *name;
    char log[256];
    int veto;
    int calls;
    struct domain_events *again;   /* emits the event again from inside */
};

static int fake_observe(void *arg, const struct domain_event *ev, char *why, size_t n)
{
    struct fake *f = arg;
    size_t len = strlen(f->log);

    f->calls++;
    snprintf(f->log + len, sizeof f->log - len, "%s%s:%lld", len ? " " : "",
             domain_event_name(ev->kind), (long long)ev->id);
    if (ev->st) {
        sqlite3_stmt *s = store_stmt(ev->st, "INSERT INTO venues (name, created_at,"
                                             " updated_at) VALUES (?1, 0, 0)");
        assert_non_null(s);
        assert_int_equal(store_bind_text(s, 1, f->name), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        store_done(s);
    }
    if (f->again)
        return domain_events_emit(f->again, ev, why, n);
    if ((int)ev->kind == f->veto) {
        snprintf(why, n, "not today");
        return -1;
    }
    return 0;
}

static void names_and_verbs(void **state)
{
    (void)state;
    assert_string_equal(domain_event_name(DOMAIN_SESSION_MOVED), "session.moved");
    assert_string_equal(domain_event_verb(DOMAIN_SESSION_VENUE), "venue");
    assert_string_equal(domain_event_name(DOMAIN_BENEFICIARY_ERASED), "beneficiary.erased");
    assert_null(domain_event_name(DOMAIN_EVENT_MAX));
    /* The verbs are the kinds of the history tables, per subject. */
    assert_int_equal(domain_event_kind_of(DOMAIN_SESSION_CREATED, "cancelled"),
                     DOMAIN_SESSION_CANCELLED);
    assert_int_equal(domain_event_kind_of(DOMAIN_ENROLLMENT_BOOKED, "cancelled"),
                     DOMAIN_ENROLLMENT_CANCELLED);
    assert_int_equal(domain_event_kind_of(DOMAIN_ENROLLMENT_BOOKED, "excused"),
                     DOMAIN_ENROLLMENT_EXCUSED);
    assert_int_equal(domain_event_kind_of(DOMAIN_SESSION_CREATED, "booked"), -1);
    assert_int_equal(domain_event_kind_of(DOMAIN_ENROLLMENT_BOOKED, "erased"), -1);
    assert_int_equal(domain_event_kind_of(DOMAIN_ENROLLMENT_BOOKED, NULL), -1);
}

static void order_and_veto(void **state)
{
    struct domain_events *ev;
    struct fake a = {"a", "", -1, 0, NULL}, b = {"b", "", DOMAIN_ENROLLMENT_BOOKED, 0, NULL},
                c = {"c", "", -1, 0, NULL};
    struct domain_event e = {DOMAIN_ENROLLMENT_CANCELLED, NULL, 7, 0, NULL, 0};
    char why[64];

    (void)state;
    /* Nobody listens: nothing to veto. */
    assert_int_equal(domain_events_emit(NULL, &e, why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(domain_events_new(&ev), 0);
    assert_int_equal(domain_events_observe(ev, "a", fake_observe, &a), 0);
    assert_int_equal(domain_events_observe(ev, "b", fake_observe, &b), 0);
    assert_int_equal(domain_events_observe(ev, "c", fake_observe, &c), 0);
    assert_int_equal(domain_events_emit(ev, &e, why, sizeof why), 0);
    assert_int_equal(a.calls + b.calls + c.calls, 3);
    /* B vetoes: C never hears it, and the reason names B. */
    e.kind = DOMAIN_ENROLLMENT_BOOKED;
    e.id = 8;
    assert_int_equal(domain_events_emit(ev, &e, why, sizeof why), -1);
    assert_string_equal(why, "b: not today");
    assert_string_equal(a.log, "enrollment.cancelled:7 enrollment.booked:8");
    assert_string_equal(b.log, "enrollment.cancelled:7 enrollment.booked:8");
    assert_string_equal(c.log, "enrollment.cancelled:7");
    /* WHY is optional. */
    assert_int_equal(domain_events_emit(ev, &e, NULL, 0), -1);
    /* Once B has left, the same event goes through. */
    domain_events_unobserve(ev, fake_observe, &b);
    domain_events_unobserve(ev, fake_observe, &b);   /* absent: fine */
    assert_int_equal(domain_events_emit(ev, &e, why, sizeof why), 0);
    assert_string_equal(c.log, "enrollment.cancelled:7 enrollment.booked:8");
    domain_events_free(ev);
}

static void limits(void **state)
{
    struct domain_events *ev;
    struct fake f[DOMAIN_OBSERVERS_MAX + 1], loop = {"loop", "", -1, 0, NULL};
    struct domain_event e = {DOMAIN_SESSION_MOVED, NULL, 1, 2, NULL, 0};
    char why[64];

    (void)state;
    memset(f, 0, sizeof f);
    assert_int_equal(domain_events_new(&ev), 0);
    for (int i = 0; i < DOMAIN_OBSERVERS_MAX; i++) {
        f[i].veto = -1;
        f[i].name = "f";
        assert_int_equal(domain_events_observe(ev, "f", fake_observe, &f[i]), 0);
    }
    assert_int_equal(domain_events_observe(ev, "one too many", fake_observe,
                                           &f[DOMAIN_OBSERVERS_MAX]), -1);
    assert_int_equal(domain_events_observe(NULL, "none", fake_observe, &loop), -1);
    for (int i = 0; i < DOMAIN_OBSERVERS_MAX; i++)
        domain_events_unobserve(ev, fake_observe, &f[i]);
    /* An observer whose work emits the event again: refused a few levels
     * down, and the refusal goes all the way up as a veto. */
    loop.again = ev;
    assert_int_equal(domain_events_observe(ev, "loop", fake_observe, &loop), 0);
    assert_int_equal(domain_events_emit(ev, &e, why, sizeof why), -1);
    assert_true(loop.calls >= 2 && loop.calls <= 8);
    assert_non_null(strstr(why, "nested"));
    /* The depth is back to 0 afterwards: a plain observer works again. */
    loop.again = NULL;
    assert_int_equal(domain_events_emit(ev, &e, why, sizeof why), 0);
    domain_events_free(ev);
}

static int64_t count(struct store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_int_query(st, sql, 0, &n), 1);
    return n;
}

/* As a handler does it: the change, its record (which emits), and commit
 * or roll back by the outcome. */
static int book(struct store *st)
{
    int64_t id;

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_exec(st, "INSERT INTO enrollments (session_id, beneficiary_id,"
                                    " status, created_at, updated_at)"
                                    " VALUES (1, 1, 'booked', 0, 0)"), 0);
    id = sqlite3_last_insert_rowid(store_db(st));
    if (domain_record_enrollment_event(st, id, "booked", 0) != 0) {
        assert_int_equal(store_rollback(st), 0);
        return -1;
    }
    assert_int_equal(store_commit(st), 0);
    return 0;
}

static void veto_rolls_back(void **state)
{
    struct store *st = ((struct tmpdb *)*state)->st;
    struct domain_events *ev;
    struct fake first = {"first", "", -1, 0, NULL}, judge = {"judge", "", -1, 0, NULL};

    assert_int_equal(store_exec(st, "INSERT INTO sessions (id, kind, title, starts_at,"
                                    " ends_at, created_at, updated_at)"
                                    " VALUES (1, 'workshop', 'W', 100, 200, 0, 0);"
                                    "INSERT INTO beneficiaries (id, first_name, last_name,"
                                    " created_at, updated_at) VALUES (1, 'A', 'B', 0, 0)"), 0);
    assert_int_equal(domain_events_new(&ev), 0);
    store_set_events(st, ev);
    assert_ptr_equal(store_events(st), ev);
    assert_int_equal(domain_events_observe(ev, "first", fake_observe, &first), 0);
    assert_int_equal(domain_events_observe(ev, "judge", fake_observe, &judge), 0);
    /* Heard and kept: the enrollment, its event row, both observers' rows. */
    assert_int_equal(book(st), 0);
    assert_int_equal(count(st, "SELECT count(*) FROM enrollments"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM enrollment_events"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM venues"), 2);
    /* Vetoed: nothing of the change is left, not even what the observer
     * before the judge wrote. */
    assert_int_equal(domain_record_enrollment_event(st, 1, "cancelled", 0), 0);
    assert_int_equal(count(st, "SELECT count(*) FROM venues"), 4);
    judge.veto = DOMAIN_ENROLLMENT_BOOKED;
    assert_int_equal(store_exec(st, "UPDATE enrollments SET status = 'cancelled'"), 0);
    assert_int_equal(book(st), -1);
    assert_int_equal(first.calls, 3);
    assert_int_equal(count(st, "SELECT count(*) FROM enrollments"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM enrollment_events"), 2);
    assert_int_equal(count(st, "SELECT count(*) FROM venues"), 4);
    /* The session records emit too, with their change row's id. */
    judge.veto = DOMAIN_SESSION_MOVED;
    assert_int_equal(domain_record_session_change(st, 1, "moved", 100, 200, 0, 150, 250, 0, 0),
                     -1);
    assert_non_null(strstr(judge.log, "session.moved:1"));
    store_set_events(st, NULL);
    domain_events_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_verbs),
        cmocka_unit_test(order_and_veto),
        cmocka_unit_test(limits),
        cmocka_unit_test_setup_teardown(veto_rolls_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
