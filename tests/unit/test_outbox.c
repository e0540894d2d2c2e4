/* The outbox rules: outbox_schedule() for each rule of the contract in
 * Europe/Paris (quiet hours across midnight and both DST changes), the
 * backoff; then the hooks on a real store with the core migrations: the
 * rows an enrollment, a cancellation, a move, an erasure make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "domain.h"
#include "links.h"
#include "outbox.h"
#include "rtime.h"
#include "store.h"

#define M 60
#define H 3600
#define D 86400

static int64_t L(int y, int mo, int d, int h, int mi)
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return rt_from_local(&tm);
}

static const int64_t offsets[] = {48 * H, 2 * H};

static struct outbox_rules paris_rules(void)
{
    struct outbox_rules r = {1, 20 * 60, 8 * 60, 1, offsets, 2, 30 * M, 30, 3600, 8};
    return r;
}

static int zone_setup(void **state)
{
    char *err = NULL;

    (void)state;
    if (rt_set_timezone("Europe/Paris", &err) != 0) {
        free(err);
        return -1;
    }
    return 0;
}

/* --- pure rules ---------------------------------------------------------------- */

static void test_in_quiet(void **state)
{
    struct outbox_rules r = paris_rules();

    (void)state;
    assert_false(outbox_in_quiet(&r, L(2026, 3, 3, 19, 59)));
    assert_true(outbox_in_quiet(&r, L(2026, 3, 3, 20, 0)));
    assert_true(outbox_in_quiet(&r, L(2026, 3, 3, 23, 59)));
    assert_true(outbox_in_quiet(&r, L(2026, 3, 4, 0, 0)));
    assert_true(outbox_in_quiet(&r, L(2026, 3, 4, 7, 59)));
    assert_false(outbox_in_quiet(&r, L(2026, 3, 4, 8, 0)));
    r.quiet_from_min = 12 * 60;   /* a span inside one day */
    r.quiet_to_min = 14 * 60;
    assert_false(outbox_in_quiet(&r, L(2026, 3, 3, 11, 59)));
    assert_true(outbox_in_quiet(&r, L(2026, 3, 3, 12, 0)));
    assert_false(outbox_in_quiet(&r, L(2026, 3, 3, 14, 0)));
    assert_false(outbox_in_quiet(&r, L(2026, 3, 3, 23, 0)));
    r.quiet_to_min = 12 * 60;     /* from == to: none */
    assert_false(outbox_in_quiet(&r, L(2026, 3, 3, 12, 0)));
    r = paris_rules();
    r.quiet_enabled = 0;
    assert_false(outbox_in_quiet(&r, L(2026, 3, 3, 23, 0)));
}

static void test_reminder_plain(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t start = L(2026, 3, 6, 14, 0), now = L(2026, 3, 3, 10, 0), due = 0;

    (void)state;
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 48 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 4, 14, 0));
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 6, 12, 0));
    /* An offset already past at enrollment is skipped. */
    now = L(2026, 3, 5, 10, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 48 * H, start, now,
                                     &due), 0);
}

static void test_reminder_moved_earlier(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t start = L(2026, 3, 6, 9, 0), now = L(2026, 3, 3, 10, 0), due = 0;

    (void)state;
    /* 07:00 is quiet: the evening before, when the quiet hours begin. */
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 5, 20, 0));
    /* Moved to before the enrollment: skipped. */
    now = L(2026, 3, 5, 21, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 0);
    now = L(2026, 3, 5, 20, 0) + 1;
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 0);
    /* Past midnight it still goes back to the evening before. */
    start = L(2026, 3, 6, 2, 30);
    now = L(2026, 3, 3, 10, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 5, 20, 0));
    /* Made right then: still in time. */
    now = L(2026, 3, 5, 20, 0);
    start = L(2026, 3, 6, 9, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, now);
    now = L(2026, 3, 3, 10, 0);
    /* A span inside one day. */
    r.quiet_from_min = 12 * 60;
    r.quiet_to_min = 14 * 60;
    start = L(2026, 3, 6, 15, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 6, 12, 0));
}

/* Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST. */
static void test_dst_spring(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t start = L(2026, 3, 30, 9, 0), now = L(2026, 3, 20, 10, 0), due = 0;

    (void)state;
    assert_int_equal(start, INT64_C(1774854000));   /* 07:00Z */
    /* 48 hours before 09:00 CEST on Monday is 08:00 CET on Saturday: the
     * clock lost an hour in between. 08:00 is allowed. */
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 48 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 28, 8, 0));
    assert_int_equal(due, start - 48 * H);
    /* At 08:30 the same reminder falls at 07:30 CET: quiet, so Friday
     * evening. */
    start = L(2026, 3, 30, 8, 30);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 48 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 27, 20, 0));
    /* 2 hours before 09:00 Monday: 07:00 is quiet, back to Sunday 20:00
     * CEST. */
    start = L(2026, 3, 30, 9, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 3, 29, 20, 0));
    assert_int_equal(due, INT64_C(1774807200));      /* 18:00Z */
    /* A confirmation at 23:00 CET on Saturday waits for 08:00 CEST: eight
     * hours of real time, not nine. */
    now = L(2026, 3, 28, 23, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, start, now, &due), 1);
    assert_int_equal(due, L(2026, 3, 29, 8, 0));
    assert_int_equal(due - now, 8 * H);
    /* Quiet hours ending inside the missing hour (01:00–02:30): they end
     * when the clock jumps, at 03:00 CEST. */
    r.quiet_from_min = 60;
    r.quiet_to_min = 150;
    now = L(2026, 3, 29, 1, 30);
    assert_true(outbox_in_quiet(&r, now));
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, start, now, &due), 1);
    assert_int_equal(due, INT64_C(1774746000));      /* 01:00Z = 03:00 CEST */
}

/* Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET. */
static void test_dst_autumn(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t start = L(2026, 10, 25, 9, 0), now = L(2026, 10, 20, 10, 0), due = 0;

    (void)state;
    assert_int_equal(start, INT64_C(1792915200));   /* 08:00Z */
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 2 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 10, 24, 20, 0));
    assert_int_equal(due, INT64_C(1792864800));      /* 18:00Z, still CEST */
    /* 48 hours before is 10:00 CEST on Friday (an hour more of clock). */
    assert_int_equal(outbox_schedule(&r, OUTBOX_REMINDER, now, start - 48 * H, start, now,
                                     &due), 1);
    assert_int_equal(due, L(2026, 10, 23, 10, 0));
    /* 22:00 CEST Saturday to 08:00 CET Sunday: eleven hours. */
    now = L(2026, 10, 24, 22, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, start, now, &due), 1);
    assert_int_equal(due, L(2026, 10, 25, 8, 0));
    assert_int_equal(due - now, 11 * H);
}

static void test_confirmation(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t now = L(2026, 3, 3, 10, 0), start = L(2026, 3, 6, 14, 0), due = 0;

    (void)state;
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, start, now, &due), 1);
    assert_int_equal(due, now);
    /* Straddling midnight: 23:30 and 00:30 both wait for 08:00. */
    now = L(2026, 3, 3, 23, 30);
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, start, now, &due), 1);
    assert_int_equal(due, L(2026, 3, 4, 8, 0));
    now = L(2026, 3, 4, 0, 30);
    assert_int_equal(outbox_schedule(&r, OUTBOX_PROMOTED, now, now, start, now, &due), 1);
    assert_int_equal(due, L(2026, 3, 4, 8, 0));
    /* Skipped when the session starts before the quiet hours end (or
     * right then). */
    now = L(2026, 3, 3, 23, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, L(2026, 3, 4, 7, 30),
                                     now, &due), 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_PROMOTED, now, now, L(2026, 3, 4, 8, 0),
                                     now, &due), 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, L(2026, 3, 4, 8, 30),
                                     now, &due), 1);
    assert_int_equal(due, L(2026, 3, 4, 8, 0));
    /* reminders.confirmation = false: none; promoted is not a
     * confirmation and still goes. */
    r.confirmation = 0;
    now = L(2026, 3, 3, 10, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_CONFIRMATION, now, now, start, now, &due), 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_PROMOTED, now, now, start, now, &due), 1);
}

static void test_change_and_cancellation(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t now = L(2026, 3, 3, 23, 0), due = 0;

    (void)state;
    for (int k = OUTBOX_CHANGE; k <= OUTBOX_CANCELLATION; k++) {
        /* Waits for the end of the quiet hours… */
        assert_int_equal(outbox_schedule(&r, (enum outbox_kind)k, now, now,
                                         L(2026, 3, 4, 10, 0), 0, &due), 1);
        assert_int_equal(due, L(2026, 3, 4, 8, 0));
        /* …or goes at once when the session starts before then. */
        assert_int_equal(outbox_schedule(&r, (enum outbox_kind)k, now, now,
                                         L(2026, 3, 4, 7, 0), 0, &due), 1);
        assert_int_equal(due, now);
        assert_int_equal(outbox_schedule(&r, (enum outbox_kind)k, now, now,
                                         L(2026, 3, 4, 8, 0), 0, &due), 1);
        assert_int_equal(due, now);
        /* Outside the quiet hours: at once. */
        assert_int_equal(outbox_schedule(&r, (enum outbox_kind)k, L(2026, 3, 3, 10, 0),
                                         L(2026, 3, 3, 10, 0), L(2026, 3, 4, 10, 0), 0,
                                         &due), 1);
        assert_int_equal(due, L(2026, 3, 3, 10, 0));
    }
}

static void test_survey_and_started(void **state)
{
    struct outbox_rules r = paris_rules();
    int64_t start = L(2026, 3, 3, 17, 45), end = L(2026, 3, 3, 19, 45), due = 0, now;

    (void)state;
    /* Survey 30 min after a session ending at 19:45: 20:15 is quiet, it
     * waits for the morning (never skipped, the session having started). */
    now = L(2026, 3, 3, 19, 50);
    assert_int_equal(outbox_schedule(&r, OUTBOX_SURVEY, now, end + 30 * M, start, 0, &due), 1);
    assert_int_equal(due, L(2026, 3, 4, 8, 0));
    end = L(2026, 3, 3, 16, 0);
    assert_int_equal(outbox_schedule(&r, OUTBOX_SURVEY, now, end + 30 * M, start, 0, &due), 1);
    assert_int_equal(due, L(2026, 3, 3, 16, 30));
    /* Nothing else about a session already started. */
    for (int k = 0; k < OUTBOX_KIND_MAX; k++) {
        if (k == OUTBOX_SURVEY)
            continue;
        assert_int_equal(outbox_schedule(&r, (enum outbox_kind)k, start, start - 2 * H,
                                         start, 0, &due), 0);
        assert_int_equal(outbox_schedule(&r, (enum outbox_kind)k, start + 1, start, start, 0,
                                         &due), 0);
    }
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(outbox_backoff(1, 0.5), 30);
    assert_int_equal(outbox_backoff(2, 0.5), 60);
    assert_int_equal(outbox_backoff(3, 0.5), 120);
    assert_int_equal(outbox_backoff(7, 0.5), 1920);
    assert_int_equal(outbox_backoff(8, 0.5), 3600);   /* 3840 capped */
    assert_int_equal(outbox_backoff(1000, 0.5), 3600);
    assert_int_equal(outbox_backoff(0, 0.5), 30);
    assert_int_equal(outbox_backoff(1, 0.0), 24);
    assert_int_equal(outbox_backoff(1, 0.999999), 36);
    assert_int_equal(outbox_backoff(1, NAN), 30);
    /* config retry = {first = "2s", max = "10s"} */
    assert_int_equal(outbox_backoff_from(2, 10, 1, 0.5), 2);
    assert_int_equal(outbox_backoff_from(2, 10, 3, 0.5), 8);
    assert_int_equal(outbox_backoff_from(2, 10, 4, 0.5), 10);
    assert_int_equal(outbox_backoff_from(2, 10, 40, 0.5), 10);
    assert_int_equal(outbox_backoff_from(120, 60, 1, 0.5), 120);  /* max below first */
    assert_int_equal(outbox_backoff(1, 7.0), 30);
    for (int n = 1; n <= 12; n++) {
        int64_t base = n >= 8 ? 3600 : 30LL << (n - 1), prev = 0;
        for (double x = 0.0; x < 1.0; x += 0.0625) {
            int64_t d = outbox_backoff(n, x);
            assert_true(d >= base * 8 / 10 && d <= base * 12 / 10);
            assert_true(d >= prev);
            prev = d;
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(outbox_kind_name(OUTBOX_CONFIRMATION), "confirmation");
    assert_string_equal(outbox_kind_name(OUTBOX_SURVEY), "survey");
    assert_string_equal(outbox_kind_name(OUTBOX_KIND_MAX), "unknown");
}

/* --- hooks on a real store --------------------------------------------------------- */

#include "outbox_fixture.h"

#define CFG_SETUP(name, q) \
    static int name(void **state) { return fx_setup(state, q); }
CFG_SETUP(setup, 1)

static void test_booked_rows(void **state)
{
    struct fx *fx = *state;
    int64_t start = L(2026, 3, 6, 14, 0);
    char key[64];
    long long id;
    char hex[16];

    book(fx, 1, 10, 1);
    assert_int_equal(nrows(fx, "enrollment_id = 1"), 6);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND status = 'pending'"), 6);
    assert_int_equal(qv(fx, "SELECT due_at FROM notifications WHERE enrollment_id = 1 AND"
                            " kind = 'confirmation' AND channel = 'sms'"), T0);
    assert_int_equal(qv(fx, "SELECT due_at FROM notifications WHERE enrollment_id = 1 AND"
                            " kind = 'reminder' AND offset_key = 172800 AND channel = 'email'"),
                     L(2026, 3, 4, 14, 0));
    assert_int_equal(qv(fx, "SELECT due_at FROM notifications WHERE enrollment_id = 1 AND"
                            " kind = 'reminder' AND offset_key = 7200 AND channel = 'sms'"),
                     L(2026, 3, 6, 12, 0));
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND target_start = 1772802000"), 6);
    assert_int_equal(start, 1772802000);
    /* The key: n<id>-<channel>-<8 hex>. */
    qs(fx, key, sizeof key, "SELECT idem_key FROM notifications WHERE enrollment_id = 1"
       " AND kind = 'confirmation' AND channel = 'sms'");
    assert_int_equal(sscanf(key, "n%lld-sms-%8[0-9a-f]", &id, hex), 2);
    assert_int_equal(strlen(hex), 8);
    assert_int_equal(id, qv(fx, "SELECT id FROM notifications WHERE enrollment_id = 1 AND"
                                " kind = 'confirmation' AND channel = 'sms'"));
    assert_int_equal(nrows(fx, "idem_key IS NULL"), 0);

    /* No consent or no address: suppressed rows say why. */
    book(fx, 2, 10, 2);
    assert_int_equal(nrows(fx, "enrollment_id = 2 AND status = 'suppressed'"), 6);
    assert_int_equal(nrows(fx, "enrollment_id = 2 AND channel = 'sms'"
                               " AND error = 'not a mobile number'"), 3);
    assert_int_equal(nrows(fx, "enrollment_id = 2 AND channel = 'email'"
                               " AND error = 'no email consent'"), 3);
    book(fx, 3, 10, 3);
    assert_int_equal(nrows(fx, "enrollment_id = 3 AND channel = 'sms' AND status ="
                               " 'suppressed' AND error = 'no SMS consent'"), 3);
    assert_int_equal(nrows(fx, "enrollment_id = 3 AND channel = 'email' AND status ="
                               " 'pending'"), 3);
}

static void test_twice_one_row(void **state)
{
    struct fx *fx = *state;
    char before[64], after[64];

    book(fx, 1, 10, 1);
    qs(fx, before, sizeof before, "SELECT group_concat(idem_key) FROM notifications");
    assert_int_equal(domain_record_enrollment_event(fx->st, 1, "booked", 0), 0);
    assert_int_equal(domain_record_enrollment_event(fx->st, 1, "booked", 0), 0);
    assert_int_equal(nrows(fx, "1"), 6);
    qs(fx, after, sizeof after, "SELECT group_concat(idem_key) FROM notifications");
    assert_string_equal(before, after);
}

static void test_skips(void **state)
{
    struct fx *fx = *state;

    /* Starts in 3 hours: no 48 h reminder, the 2 h one at 11:00. */
    sql(fx, "INSERT INTO sessions (id, kind, title, venue_id, starts_at, ends_at, created_at,"
            " updated_at) VALUES (11, 'workshop', 'Soon', 1, %lld, %lld, 0, 0)",
        (long long)(T0 + 3 * H), (long long)(T0 + 5 * H));
    book(fx, 1, 11, 1);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'reminder'"), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND offset_key = 7200 AND due_at = %lld",
                           (long long)(T0 + H)), 2);
    /* Already started: nothing at all. */
    sql(fx, "INSERT INTO sessions (id, kind, title, venue_id, starts_at, ends_at, created_at,"
            " updated_at) VALUES (12, 'workshop', 'Past', 1, %lld, %lld, 0, 0)",
        (long long)(T0 - H), (long long)(T0 + H));
    book(fx, 2, 12, 1);
    assert_int_equal(nrows(fx, "enrollment_id = 2"), 0);
    /* A permanence slot: reminders before the person's own slot. */
    sql(fx, "INSERT INTO sessions (id, kind, title, venue_id, starts_at, ends_at,"
            " slot_minutes, created_at, updated_at) VALUES (13, 'permanence', 'P', 1,"
            " %lld, %lld, 30, 0, 0)", (long long)(T0 + 2 * D), (long long)(T0 + 2 * D + 3 * H));
    sql(fx, "INSERT INTO enrollments (id, session_id, beneficiary_id, status, slot_start,"
            " created_at, updated_at) VALUES (3, 13, 1, 'booked', %lld, %lld, %lld)",
        (long long)(T0 + 2 * D + H), (long long)T0, (long long)T0);
    assert_int_equal(domain_record_enrollment_event(fx->st, 3, "booked", 0), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 3 AND kind = 'reminder' AND target_start ="
                               " %lld AND due_at = %lld", (long long)(T0 + 2 * D + H),
                           (long long)(T0 + 2 * D - H)), 2);
}

static void test_cancel(void **state)
{
    struct fx *fx = *state;

    book(fx, 1, 10, 1);
    book(fx, 2, 10, 2);
    set_enrollment(fx, 1, "cancelled");
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND status = 'cancelled'"
                               " AND error = 'enrollment cancelled'"), 6);
    set_enrollment(fx, 2, "cancelled");
    assert_int_equal(nrows(fx, "enrollment_id = 2 AND status = 'suppressed'"), 6);
}

static void test_move(void **state)
{
    struct fx *fx = *state;
    int64_t s0 = L(2026, 3, 6, 14, 0), s1 = s0 + D, change1, change2;
    char keys_before[512], keys_after[512];

    book(fx, 1, 10, 1);
    book(fx, 3, 10, 3);
    set_enrollment(fx, 3, "absent");   /* not booked: hears nothing */
    qs(fx, keys_before, sizeof keys_before, "SELECT group_concat(idem_key) FROM (SELECT"
       " idem_key FROM notifications WHERE enrollment_id = 1 AND kind = 'reminder'"
       " ORDER BY id)");
    change1 = move(fx, 10, s0, s1);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'change' AND status ="
                               " 'pending' AND offset_key = %lld AND due_at = %lld",
                           (long long)change1, (long long)T0), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'reminder' AND status ="
                               " 'cancelled' AND target_start = %lld AND error ="
                               " 'session moved'", (long long)s0), 4);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'reminder' AND status ="
                               " 'pending' AND target_start = %lld", (long long)s1), 4);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'confirmation' AND status ="
                               " 'pending'"), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 3 AND kind = 'change'"), 0);
    assert_int_equal(nrows(fx, "1"), 18);
    /* The same change again makes nothing new. */
    assert_int_equal(outbox_on_session_change(fx->ob, 10, change1, "moved"), 0);
    assert_int_equal(nrows(fx, "1"), 18);
    /* Told; then back to the first time: a new change, and the first
     * reminders come back with their keys. */
    sql(fx, "UPDATE notifications SET status = 'sent' WHERE kind = 'change'");
    change2 = move(fx, 10, s1, s0);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'change'"), 4);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'change' AND offset_key ="
                               " %lld", (long long)change2), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'reminder' AND status ="
                               " 'pending' AND target_start = %lld", (long long)s0), 4);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'reminder' AND status ="
                               " 'cancelled' AND target_start = %lld", (long long)s1), 4);
    qs(fx, keys_after, sizeof keys_after, "SELECT group_concat(idem_key) FROM (SELECT"
       " idem_key FROM notifications WHERE enrollment_id = 1 AND kind = 'reminder'"
       " AND target_start = %lld ORDER BY id)", (long long)s0);
    assert_string_equal(keys_before, keys_after);
    /* A new venue in the same PATCH: the change not yet sent stands for
     * both; reminders untouched. */
    sql(fx, "INSERT INTO venues (id, name, created_at, updated_at) VALUES (2, 'V2', 0, 0)");
    sql(fx, "UPDATE sessions SET venue_id = 2 WHERE id = 10");
    assert_int_equal(domain_record_session_change(fx->st, 10, "venue", 0, 0, 1, 0, 0, 2, 0), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'change'"), 4);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'change' AND status = 'pending'"
                               " AND offset_key = %lld", (long long)change2), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'reminder' AND status ="
                               " 'pending'"), 4);
}

static void test_change_merged(void **state)
{
    struct fx *fx = *state;
    int64_t s0 = L(2026, 3, 6, 14, 0), night = L(2026, 3, 3, 23, 0);

    book(fx, 1, 10, 1);
    book(fx, 2, 10, 2);
    /* At 23:00, a move a week later waits for the morning… */
    rt_set_now(night);
    move(fx, 10, s0, s0 + 7 * D);
    assert_int_equal(nrows(fx, "kind = 'change' AND channel = 'sms' AND enrollment_id = 1"
                           " AND due_at = %lld", (long long)L(2026, 3, 4, 8, 0)), 1);
    /* …then a move to 07:00 tomorrow must go at once: the same row, sooner. */
    rt_set_now(night + 60);
    move(fx, 10, s0 + 7 * D, L(2026, 3, 4, 7, 0));
    assert_int_equal(nrows(fx, "kind = 'change' AND enrollment_id = 1"), 2);
    assert_int_equal(nrows(fx, "kind = 'change' AND enrollment_id = 1 AND status = 'pending'"
                           " AND due_at = %lld", (long long)(night + 60)), 2);
    /* Suppressed rows: one per request. */
    assert_int_equal(nrows(fx, "kind = 'change' AND enrollment_id = 2 AND status ="
                               " 'suppressed'"), 4);
}

static void test_session_cancelled(void **state)
{
    struct fx *fx = *state;

    book(fx, 1, 10, 1);
    book(fx, 2, 10, 2);
    sql(fx, "UPDATE sessions SET status = 'cancelled', sequence = sequence + 1 WHERE id = 10");
    assert_int_equal(domain_record_session_change(fx->st, 10, "cancelled", L(2026, 3, 6, 14, 0),
                                                  L(2026, 3, 6, 16, 0), 1, 0, 0, 0, 0), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind <> 'cancellation' AND status ="
                               " 'cancelled' AND error = 'session cancelled'"), 6);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'cancellation' AND status ="
                               " 'pending' AND due_at = %lld", (long long)T0), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 2 AND kind = 'cancellation' AND status ="
                               " 'suppressed'"), 2);
}

static void test_erasure_and_opt_out(void **state)
{
    struct fx *fx = *state;

    book(fx, 1, 10, 1);
    book(fx, 3, 10, 3);
    /* STOP by SMS: SMS only. */
    sql(fx, "UPDATE beneficiaries SET consent_sms = 0 WHERE id = 1");
    assert_int_equal(outbox_suppress(fx->st, 1, "sms"), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND channel = 'sms' AND status ="
                               " 'suppressed' AND error = 'consent withdrawn'"), 3);
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND channel = 'email' AND status ="
                               " 'pending'"), 3);
    /* Erasure: everything still pending. */
    sql(fx, "UPDATE beneficiaries SET first_name = NULL, phone = NULL, email = NULL,"
            " consent_email = 0, erased_at = %lld WHERE id = 3", (long long)T0);
    assert_int_equal(outbox_suppress(fx->st, 3, NULL), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 3 AND status = 'suppressed' AND channel ="
                               " 'email' AND error = 'erased'"), 3);
    assert_int_equal(nrows(fx, "status = 'pending' AND enrollment_id = 3"), 0);
    assert_int_equal(outbox_suppress(fx->st, 3, "fax"), -1);
}

static void test_training(void **state)
{
    struct fx *fx = *state;
    int64_t p1 = L(2026, 3, 6, 14, 0), p2 = L(2026, 3, 13, 14, 0), change;

    sql(fx, "INSERT INTO sessions (id, kind, title, venue_id, starts_at, ends_at, created_at,"
            " updated_at) VALUES (20, 'training', 'T', 1, %lld, %lld, 0, 0),"
            " (21, 'training', 'T1', 1, %lld, %lld, 0, 0),"
            " (22, 'training', 'T2', 1, %lld, %lld, 0, 0)",
        (long long)p1, (long long)(p2 + 2 * H), (long long)p1, (long long)(p1 + 2 * H),
        (long long)p2, (long long)(p2 + 2 * H));
    sql(fx, "UPDATE sessions SET parent_id = 20 WHERE id IN (21, 22)");
    book(fx, 30, 20, 1);
    book_part(fx, 31, 21, 1, 30);
    book_part(fx, 32, 22, 1, 30);
    /* One confirmation, reminders before the first part. */
    assert_int_equal(nrows(fx, "enrollment_id = 30"), 6);
    assert_int_equal(nrows(fx, "enrollment_id = 30 AND kind = 'reminder' AND target_start ="
                               " %lld", (long long)p1), 4);
    assert_int_equal(nrows(fx, "enrollment_id IN (31, 32)"), 0);
    /* The second part moves: its people hear about it; the training's
     * own span follows silently. */
    change = move(fx, 22, p2, p2 + H);
    assert_int_equal(nrows(fx, "enrollment_id = 32 AND kind = 'change' AND offset_key = %lld",
                           (long long)change), 2);
    sql(fx, "UPDATE sessions SET ends_at = %lld WHERE id = 20", (long long)(p2 + 3 * H));
    assert_int_equal(domain_record_session_change(fx->st, 20, "moved", p1, p2 + 2 * H, 0, p1,
                                                  p2 + 3 * H, 0, 0), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 30 AND kind = 'change'"), 0);
    assert_int_equal(nrows(fx, "enrollment_id = 30 AND kind = 'reminder' AND status ="
                               " 'pending'"), 4);
    /* Attendance on a part: the training's survey, once. */
    set_enrollment(fx, 31, "attended");
    set_enrollment(fx, 31, "absent");
    set_enrollment(fx, 31, "attended");
    assert_int_equal(nrows(fx, "enrollment_id = 30 AND kind = 'survey' AND due_at = %lld",
                           (long long)(p2 + 3 * H + 30 * M)), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 31"), 0);
    /* Cancelled whole: one cancellation, at the training's level. */
    sql(fx, "UPDATE sessions SET status = 'cancelled'");
    assert_int_equal(domain_record_session_change(fx->st, 20, "cancelled", 0, 0, 0, 0, 0, 0, 0),
                     0);
    assert_int_equal(domain_record_session_change(fx->st, 21, "cancelled", 0, 0, 0, 0, 0, 0, 0),
                     0);
    assert_int_equal(domain_record_session_change(fx->st, 22, "cancelled", 0, 0, 0, 0, 0, 0, 0),
                     0);
    assert_int_equal(nrows(fx, "kind = 'cancellation'"), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 30 AND kind = 'cancellation'"), 2);
    assert_int_equal(nrows(fx, "enrollment_id = 32 AND status = 'cancelled'"), 2);
}

static void test_promoted_and_survey(void **state)
{
    struct fx *fx = *state;
    int64_t end = L(2026, 3, 6, 16, 0);

    sql(fx, "INSERT INTO enrollments (id, session_id, beneficiary_id, status, created_at,"
            " updated_at) VALUES (1, 10, 1, 'waitlisted', %lld, %lld)", (long long)(T0 - D),
        (long long)(T0 - D));
    assert_int_equal(domain_record_enrollment_event(fx->st, 1, "waitlisted", 0), 0);
    /* Told at once that they wait for a place (issue 15), nothing else. */
    assert_int_equal(nrows(fx, "kind = 'waitlisted' AND due_at = %lld", (long long)T0), 2);
    assert_int_equal(nrows(fx, "kind <> 'waitlisted'"), 0);
    set_enrollment_event(fx, 1, "booked", "promoted");
    assert_int_equal(nrows(fx, "kind = 'promoted' AND status = 'pending' AND due_at = %lld",
                           (long long)T0), 2);
    assert_int_equal(nrows(fx, "kind = 'reminder'"), 4);
    assert_int_equal(nrows(fx, "kind = 'confirmation'"), 0);
    /* Attended, after the session: the survey 30 min after its end. */
    rt_set_now(end + 10 * M);
    set_enrollment(fx, 1, "attended");
    set_enrollment(fx, 1, "attended");
    assert_int_equal(nrows(fx, "kind = 'survey' AND status = 'pending' AND due_at = %lld",
                           (long long)(end + 30 * M)), 2);
}

static void test_report(void **state)
{
    struct fx *fx = *state;

    book(fx, 1, 10, 1);
    sql(fx, "UPDATE notifications SET status = 'sent', provider_id = 'SM1' WHERE"
            " enrollment_id = 1 AND kind = 'confirmation' AND channel = 'sms'");
    assert_int_equal(outbox_report(fx->st, "sms", "SM1", "delivered", NULL), 1);
    assert_int_equal(outbox_report(fx->st, "sms", "SM1", "delivered", NULL), 0);
    assert_int_equal(outbox_report(fx->st, "sms", "SM1", "failed", "30003"), 0);
    assert_int_equal(nrows(fx, "provider_id = 'SM1' AND status = 'delivered'"), 1);
    assert_int_equal(outbox_report(fx->st, "sms", "SM2", "delivered", NULL), 0);
    assert_int_equal(outbox_report(fx->st, "email", "SM1", "delivered", NULL), 0);
    assert_int_equal(outbox_report(fx->st, "sms", "SM1", "read", NULL), -1);
    sql(fx, "UPDATE notifications SET status = 'sent', provider_id = 'SM3' WHERE"
            " enrollment_id = 1 AND kind = 'confirmation' AND channel = 'email'");
    assert_int_equal(outbox_report(fx->st, "email", "SM3", "failed", "mailbox full"), 1);
    assert_int_equal(nrows(fx, "provider_id = 'SM3' AND status = 'failed' AND error ="
                               " 'mailbox full'"), 1);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_in_quiet),
        cmocka_unit_test(test_reminder_plain),
        cmocka_unit_test(test_reminder_moved_earlier),
        cmocka_unit_test(test_dst_spring),
        cmocka_unit_test(test_dst_autumn),
        cmocka_unit_test(test_confirmation),
        cmocka_unit_test(test_change_and_cancellation),
        cmocka_unit_test(test_survey_and_started),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_booked_rows, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_twice_one_row, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_skips, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_move, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_change_merged, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_cancelled, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_erasure_and_opt_out, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_training, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_promoted_and_survey, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_report, setup, fx_teardown),
    };
    return cmocka_run_group_tests(pure, zone_setup, NULL);
}
