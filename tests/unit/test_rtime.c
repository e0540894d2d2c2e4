/* rtime: RFC 3339, local zone conversions, durations, French display and
 * recurrence across DST changes. The test environment has TZ=UTC; tests that
 * need local time install Europe/Paris themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtime.h"

static int64_t parse_ok(const char *s)
{
    int64_t t = 12345;
    if (rt_parse_rfc3339(s, &t) != 0)
        fail_msg("rejected valid RFC 3339 \"%s\"", s);
    return t;
}

static void parse_bad(const char *s)
{
    int64_t t = 12345;
    if (rt_parse_rfc3339(s, &t) != -1)
        fail_msg("accepted invalid RFC 3339 \"%s\"", s);
    assert_int_equal(t, 12345); /* untouched on failure */
}

/* Asserts T formats as the UTC time EXPECTED. */
static void assert_utc(int64_t t, const char *expected)
{
    char buf[32];
    rt_format_utc(t, buf, sizeof buf);
    assert_string_equal(buf, expected);
}

/* Asserts T is local Y-M-D HH:MM. */
static void assert_local(int64_t t, int y, int mo, int d, int h, int mi)
{
    struct tm tm;
    rt_local(t, &tm);
    assert_int_equal(tm.tm_year + 1900, y);
    assert_int_equal(tm.tm_mon + 1, mo);
    assert_int_equal(tm.tm_mday, d);
    assert_int_equal(tm.tm_hour, h);
    assert_int_equal(tm.tm_min, mi);
}

static int64_t local(int y, int mo, int d, int h, int mi)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_isdst = 1; /* ignored, whatever it says */
    return rt_from_local(&tm);
}

static int paris(void **state)
{
    char *err = NULL;
    (void)state;
    if (rt_set_timezone("Europe/Paris", &err) != 0) {
        free(err);
        return -1;
    }
    return 0;
}

/* Before any rt_set_timezone() local time is UTC, whatever TZ says. */
static void defaults_to_utc(void **state)
{
    (void)state;
    assert_string_equal(rt_timezone(), "UTC");
    assert_local(1772546400, 2026, 3, 3, 14, 0);
    assert_utc(local(2026, 3, 29, 2, 30), "2026-03-29T02:30:00Z");
}

static void rfc3339_good(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2026-03-03T14:00:00Z"), 1772546400);
    assert_int_equal(parse_ok("2026-03-03t14:00:00z"), 1772546400);
    assert_int_equal(parse_ok("2026-03-03T15:00:00+01:00"), 1772546400);
    assert_int_equal(parse_ok("2026-03-03T09:30:00-04:30"), 1772546400);
    assert_int_equal(parse_ok("2026-03-04T13:59:00+23:59"), 1772546400);
    assert_int_equal(parse_ok("2026-03-03T14:00:00.999999Z"), 1772546400);
    assert_int_equal(parse_ok("2026-03-03T16:00:00.5+02:00"), 1772546400);
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), 1709164800);
    assert_int_equal(parse_ok("2000-02-29T12:00:00Z"), 951825600);
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
    /* A leap second counts as :59 of the same minute. */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), 1483228799);
    /* An offset may reach before 1970 even when the date does not. */
    assert_int_equal(parse_ok("1970-01-01T00:00:00+01:00"), -3600);
}

static void rfc3339_bad(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(rt_parse_rfc3339(NULL, &t), -1);
    parse_bad("");
    parse_bad("2026-02-31T10:00:00Z");
    parse_bad("2026-04-31T10:00:00Z");
    parse_bad("2023-02-29T10:00:00Z");
    parse_bad("2100-02-29T10:00:00Z");
    parse_bad("2026-13-01T10:00:00Z");
    parse_bad("2026-00-01T10:00:00Z");
    parse_bad("2026-01-00T10:00:00Z");
    parse_bad("2026-01-32T10:00:00Z");
    parse_bad("2026-03-03T24:00:00Z");
    parse_bad("2026-03-03T14:60:00Z");
    parse_bad("2026-03-03T14:00:61Z");
    parse_bad("1969-12-31T23:59:59Z");
    parse_bad("0000-01-01T00:00:00Z");
    parse_bad("10000-01-01T00:00:00Z");
    parse_bad("2026-03-03 14:00:00Z");
    parse_bad("2026-03-03T14:00:00");
    parse_bad("2026-03-03T14:00Z");
    parse_bad("2026-03-03T14:00:00.Z");
    parse_bad("2026-03-03T14:00:00,5Z");
    parse_bad("2026-03-03T14:00:00Z ");
    parse_bad(" 2026-03-03T14:00:00Z");
    parse_bad("2026-03-03T14:00:00Zjunk");
    parse_bad("2026-03-03T14:00:00+01");
    parse_bad("2026-03-03T14:00:00+0100");
    parse_bad("2026-03-03T14:00:00+24:00");
    parse_bad("2026-03-03T14:00:00+01:60");
    parse_bad("2026-03-03T14:00:00+01:00Z");
    parse_bad("2026-3-03T14:00:00Z");
    parse_bad("2026-03-3T14:00:00Z");
    parse_bad("2026-03-03T4:00:00Z");
    parse_bad("+2026-03-03T14:00:00Z");
    parse_bad("2026-03-03");
    parse_bad("now");
}

static void format_utc(void **state)
{
    (void)state;
    char small[8];
    assert_utc(0, "1970-01-01T00:00:00Z");
    assert_utc(1772546400, "2026-03-03T14:00:00Z");
    assert_utc(-1, "1969-12-31T23:59:59Z");
    assert_utc(INT64_C(253402300799), "9999-12-31T23:59:59Z");
    /* Absurd values still format without overflowing. */
    rt_format_utc(INT64_MIN, small, sizeof small);
    rt_format_utc(INT64_MAX, small, sizeof small);
    /* Round trip through the parser, any offset in. */
    assert_utc(parse_ok("2026-10-25T02:30:00+02:00"), "2026-10-25T00:30:00Z");
    rt_format_utc(0, small, sizeof small);
    assert_string_equal(small, "1970-01");
}

static void timezone_set(void **state)
{
    (void)state;
    char *err = NULL;
    const char *bad[] = {"Mars/Olympus_Mons", "../../etc/passwd", "/usr/share/zoneinfo/UTC",
                         "", "Europe", "Europe/", "right/Europe/Paris", "zone.tab", "leapseconds",
                         "Europe//Paris", "CET-1CEST", "Europe/Paris\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rt_set_timezone(bad[i], &err), -1);
        assert_non_null(err);
        assert_non_null(strstr(err, "time zone"));
        free(err);
        err = NULL;
        /* A failed change leaves the zone in force. */
        assert_string_equal(rt_timezone(), "Europe/Paris");
    }
    assert_int_equal(rt_set_timezone(NULL, NULL), -1);
    assert_int_equal(rt_set_timezone("America/New_York", &err), 0);
    assert_null(err);
    assert_string_equal(rt_timezone(), "America/New_York");
    assert_local(1772546400, 2026, 3, 3, 9, 0);
    assert_int_equal(rt_set_timezone("Europe/Paris", &err), 0);
    assert_string_equal(rt_timezone(), "Europe/Paris");
    assert_local(1772546400, 2026, 3, 3, 15, 0);
}

static void now_freezes(void **state)
{
    (void)state;
    int64_t real = (int64_t)time(NULL);
    rt_set_now(1772546400);
    assert_int_equal(rt_now(), 1772546400);
    rt_set_now(RT_NONE);
    assert_true(rt_now() >= real && rt_now() < real + 60);
}

static void from_local_plain(void **state)
{
    (void)state;
    struct tm tm;
    assert_utc(local(2026, 3, 3, 15, 0), "2026-03-03T14:00:00Z");
    assert_utc(local(2026, 7, 14, 10, 0), "2026-07-14T08:00:00Z");
    /* Out-of-range fields are normalised like mktime does. */
    assert_utc(local(2026, 13, 1, 10, 0), "2027-01-01T09:00:00Z");
    assert_utc(local(2026, 3, 32, 10, 0), "2026-04-01T08:00:00Z");
    assert_utc(local(2026, 1, 1, 24, 0), "2026-01-01T23:00:00Z");
    /* rt_local and rt_from_local are inverse outside DST changes. */
    rt_local(1772546400, &tm);
    assert_int_equal(rt_from_local(&tm), 1772546400);
    assert_int_equal(rt_local_minutes(1772546400), 15 * 60);
    assert_int_equal(rt_local_minutes(parse_ok("2026-07-01T22:30:00Z")), 30);
}

static void from_local_gap_and_overlap(void **state)
{
    (void)state;
    /* 29 March 2026: 02:00 CET jumps to 03:00 CEST. 02:30 does not exist and
     * becomes 03:30 CEST, whatever tm_isdst says. */
    int64_t t = local(2026, 3, 29, 2, 30);
    assert_utc(t, "2026-03-29T01:30:00Z");
    assert_local(t, 2026, 3, 29, 3, 30);
    assert_utc(local(2026, 3, 29, 2, 0), "2026-03-29T01:00:00Z");
    assert_utc(local(2026, 3, 29, 1, 59), "2026-03-29T00:59:00Z");
    assert_utc(local(2026, 3, 29, 3, 0), "2026-03-29T01:00:00Z");
    /* 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:30 happens
     * twice, the first time (CEST) wins. glibc's mktime would pick CET. */
    t = local(2026, 10, 25, 2, 30);
    assert_utc(t, "2026-10-25T00:30:00Z");
    assert_utc(local(2026, 10, 25, 2, 0), "2026-10-25T00:00:00Z");
    assert_utc(local(2026, 10, 25, 3, 0), "2026-10-25T02:00:00Z");
    assert_utc(local(2026, 10, 25, 1, 59), "2026-10-24T23:59:00Z");
    /* The answer does not depend on what was converted before. */
    (void)local(2026, 10, 25, 1, 0);
    assert_utc(local(2026, 10, 25, 2, 30), "2026-10-25T00:30:00Z");
}

static void local_date(void **state)
{
    (void)state;
    int64_t t = 7;
    char *err = NULL;
    assert_int_equal(rt_parse_local_date("2026-01-01", &t), 0);
    assert_utc(t, "2025-12-31T23:00:00Z");
    assert_int_equal(rt_parse_local_date("2026-07-01", &t), 0);
    assert_utc(t, "2026-06-30T22:00:00Z");
    assert_int_equal(rt_parse_local_date("2026-03-29", &t), 0);
    assert_utc(t, "2026-03-28T23:00:00Z");
    assert_int_equal(rt_parse_local_date("2024-02-29", &t), 0);
    t = 7;
    assert_int_equal(rt_parse_local_date("2026-02-29", &t), -1);
    assert_int_equal(rt_parse_local_date("2026-02-31", &t), -1);
    assert_int_equal(rt_parse_local_date("2026-1-01", &t), -1);
    assert_int_equal(rt_parse_local_date("2026-01-01T00:00:00Z", &t), -1);
    assert_int_equal(rt_parse_local_date("2026-01-01 ", &t), -1);
    assert_int_equal(rt_parse_local_date("1969-12-31", &t), -1);
    assert_int_equal(rt_parse_local_date("", &t), -1);
    assert_int_equal(rt_parse_local_date(NULL, &t), -1);
    assert_int_equal(t, 7);
    /* Chile moves its clocks at midnight: 6 Sept 2026 begins at 01:00. */
    assert_int_equal(rt_set_timezone("America/Santiago", &err), 0);
    assert_int_equal(rt_parse_local_date("2026-09-06", &t), 0);
    assert_utc(t, "2026-09-06T04:00:00Z");
    assert_local(t, 2026, 9, 6, 1, 0);
    assert_int_equal(rt_parse_local_date("2026-09-05", &t), 0);
    assert_utc(t, "2026-09-05T04:00:00Z");
    assert_int_equal(rt_set_timezone("Europe/Paris", &err), 0);
}

static void duration(void **state)
{
    (void)state;
    int64_t d = 7;
    const char *bad[] = {"", "s", "10", "10x", "0s", "0d", "-5m", "+5m", " 5m", "5m ", "5 m",
                         "5M", "5ms", "1.5h", "h2", "9223372036854775808s",
                         "153722867280912931m", "2562047788015216h", "106751991167301d",
                         "99999999999999999999999s"};
    assert_int_equal(rt_parse_duration("30s", &d), 0);
    assert_int_equal(d, 30);
    assert_int_equal(rt_parse_duration("15m", &d), 0);
    assert_int_equal(d, 900);
    assert_int_equal(rt_parse_duration("48h", &d), 0);
    assert_int_equal(d, 172800);
    assert_int_equal(rt_parse_duration("2d", &d), 0);
    assert_int_equal(d, 172800);
    assert_int_equal(rt_parse_duration("007m", &d), 0);
    assert_int_equal(d, 420);
    assert_int_equal(rt_parse_duration("9223372036854775807s", &d), 0);
    assert_int_equal(d, INT64_MAX);
    assert_int_equal(rt_parse_duration("106751991167300d", &d), 0);
    assert_int_equal(d, INT64_C(106751991167300) * 86400);
    d = 7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (rt_parse_duration(bad[i], &d) != -1)
            fail_msg("accepted duration \"%s\"", bad[i]);
    }
    assert_int_equal(rt_parse_duration(NULL, &d), -1);
    assert_int_equal(d, 7);
}

static void hhmm(void **state)
{
    (void)state;
    int m = 7;
    const char *bad[] = {"", "24:00", "12:60", "8:00", "08:0", "08h00", "08:00 ", " 08:00",
                         "ab:cd", "08:00:00", "-1:00", "0800", "99:99"};
    assert_int_equal(rt_parse_hhmm("08:00", &m), 0);
    assert_int_equal(m, 480);
    assert_int_equal(rt_parse_hhmm("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(rt_parse_hhmm("23:59", &m), 0);
    assert_int_equal(m, 1439);
    m = 7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (rt_parse_hhmm(bad[i], &m) != -1)
            fail_msg("accepted HH:MM \"%s\"", bad[i]);
    }
    assert_int_equal(rt_parse_hhmm(NULL, &m), -1);
    assert_int_equal(m, 7);
}

/* Dates in full for the beneficiaries' pages: "jeudi 10 décembre à 14 h". */
static void format_fr_long(void **state)
{
    (void)state;
    char buf[RT_FR_LONG_MAX], small[14];
    int64_t now = parse_ok("2026-06-01T10:00:00Z");

    rt_format_fr_long(parse_ok("2026-12-10T13:00:00Z"), now, buf, sizeof buf);
    assert_string_equal(buf, "jeudi 10 décembre à 14 h");
    rt_format_fr_long(parse_ok("2026-05-01T07:30:00Z"), now, buf, sizeof buf);
    assert_string_equal(buf, "vendredi 1er mai à 9 h 30");
    rt_format_fr_long(parse_ok("2026-08-15T10:05:00Z"), now, buf, sizeof buf);
    assert_string_equal(buf, "samedi 15 août à 12 h 05");
    /* Another year says which. */
    rt_format_fr_long(parse_ok("2027-02-08T23:00:00Z"), now, buf, sizeof buf);
    assert_string_equal(buf, "mardi 9 février 2027 à 0 h");
    rt_format_fr_day(parse_ok("2026-12-10T13:00:00Z"), now, buf, sizeof buf);
    assert_string_equal(buf, "jeudi 10 décembre");
    rt_format_fr_hour(parse_ok("2026-12-10T15:45:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "16 h 45");
    /* Cut short at a character boundary: "samedi 15 ao" + half of "û". */
    rt_format_fr_long(parse_ok("2026-08-15T10:05:00Z"), now, small, sizeof small);
    assert_string_equal(small, "samedi 15 ao");
}

static void format_fr(void **state)
{
    (void)state;
    char buf[RT_FR_MAX];
    char small[12];
    rt_format_fr(parse_ok("2024-12-03T13:00:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "mar. 3 déc. à 14h00");
    rt_format_fr(parse_ok("2026-05-01T07:05:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "ven. 1er mai à 9h05");
    rt_format_fr(parse_ok("2026-08-15T10:00:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "sam. 15 août à 12h00");
    rt_format_fr(parse_ok("2026-02-08T22:59:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "dim. 8 févr. à 23h59");
    rt_format_fr(parse_ok("2026-02-08T23:00:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "lun. 9 févr. à 0h00");
    rt_format_fr(parse_ok("2026-09-30T08:30:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "mer. 30 sept. à 10h30");
    rt_format_fr(parse_ok("2026-01-01T11:00:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "jeu. 1er janv. à 12h00");
    rt_format_fr(parse_ok("2026-07-31T16:00:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "ven. 31 juil. à 18h00");
    /* The local day is used, not the UTC one. */
    rt_format_fr(parse_ok("2026-10-31T23:30:00Z"), buf, sizeof buf);
    assert_string_equal(buf, "dim. 1er nov. à 0h30");
    /* Cut short: "sam. 15 ao" + half of "û" must lose the half. */
    rt_format_fr(parse_ok("2026-08-15T10:00:00Z"), small, sizeof small);
    assert_string_equal(small, "sam. 15 ao");
}

/* The weekly 14:00 of the spec: same local time, UTC hour moves with DST. */
static void recur_weekly_spring(void **state)
{
    (void)state;
    int64_t out[8];
    struct rt_recur r = {RT_WEEKLY, 1, 4, RT_NONE};
    int n = rt_recur_expand(parse_ok("2026-03-17T14:00:00+01:00"), &r, out, 8);
    assert_int_equal(n, 4);
    assert_utc(out[0], "2026-03-17T13:00:00Z");
    assert_utc(out[1], "2026-03-24T13:00:00Z");
    assert_utc(out[2], "2026-03-31T12:00:00Z");
    assert_utc(out[3], "2026-04-07T12:00:00Z");
    for (int i = 0; i < n; i++)
        assert_int_equal(rt_local_minutes(out[i]), 14 * 60);
}

static void recur_weekly_autumn(void **state)
{
    (void)state;
    int64_t out[8];
    struct rt_recur r = {RT_WEEKLY, 1, 4, RT_NONE};
    int n = rt_recur_expand(parse_ok("2026-10-13T14:00:00+02:00"), &r, out, 8);
    assert_int_equal(n, 4);
    assert_utc(out[0], "2026-10-13T12:00:00Z");
    assert_utc(out[1], "2026-10-20T12:00:00Z");
    assert_utc(out[2], "2026-10-27T13:00:00Z");
    assert_utc(out[3], "2026-11-03T13:00:00Z");
    for (int i = 0; i < n; i++)
        assert_int_equal(rt_local_minutes(out[i]), 14 * 60);
    /* Every second week. */
    r.interval = 2;
    n = rt_recur_expand(out[0], &r, out, 8);
    assert_int_equal(n, 4);
    assert_utc(out[1], "2026-10-27T13:00:00Z");
    assert_utc(out[3], "2026-11-24T13:00:00Z");
}

static void recur_daily_dst(void **state)
{
    (void)state;
    int64_t out[8];
    struct rt_recur r = {RT_DAILY, 1, 4, RT_NONE};
    int n = rt_recur_expand(parse_ok("2026-03-27T09:30:00+01:00"), &r, out, 8);
    assert_int_equal(n, 4);
    assert_utc(out[0], "2026-03-27T08:30:00Z");
    assert_utc(out[1], "2026-03-28T08:30:00Z");
    assert_utc(out[2], "2026-03-29T07:30:00Z");
    assert_utc(out[3], "2026-03-30T07:30:00Z");
    r.interval = 3;
    n = rt_recur_expand(parse_ok("2026-10-22T18:00:00+02:00"), &r, out, 8);
    assert_int_equal(n, 4);
    assert_utc(out[1], "2026-10-25T17:00:00Z");
    assert_utc(out[3], "2026-10-31T17:00:00Z");
}

static void recur_until(void **state)
{
    (void)state;
    int64_t out[8];
    int64_t start = parse_ok("2026-03-17T14:00:00+01:00");
    struct rt_recur r = {RT_WEEKLY, 1, 0, parse_ok("2026-04-07T12:00:00Z")};
    /* UNTIL equal to an occurrence includes it. */
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 4);
    assert_utc(out[3], "2026-04-07T12:00:00Z");
    r.until -= 1;
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 3);
    /* A date-only until (local midnight) cuts that day's session. */
    assert_int_equal(rt_parse_local_date("2026-03-31", &r.until), 0);
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 2);
    r.until = start;
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 1);
    r.until = start - 1;
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 0);
    /* Both limits: the first reached wins. */
    r.until = parse_ok("2026-04-07T12:00:00Z");
    r.count = 2;
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 2);
    r.count = 6;
    assert_int_equal(rt_recur_expand(start, &r, out, 8), 4);
}

static void recur_limits(void **state)
{
    (void)state;
    int64_t out[4];
    int64_t start = parse_ok("2026-03-17T14:00:00+01:00");
    struct rt_recur r = {RT_WEEKLY, 1, 4, RT_NONE};
    assert_int_equal(rt_recur_expand(start, &r, out, 4), 4);
    r.count = 5;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    /* UNTIL that would give 5 occurrences with room for 4. */
    r.count = 0;
    r.until = parse_ok("2026-04-14T12:00:00Z");
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    r.until -= 1;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), 4);
    /* Neither COUNT nor UNTIL: unbounded, refused. */
    r.until = RT_NONE;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    /* Bad rules. */
    r.count = 2;
    r.interval = 0;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    r.interval = 1;
    r.count = -1;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    r.count = 2;
    r.freq = (enum rt_freq)7;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    assert_int_equal(rt_recur_expand(start, NULL, out, 4), -1);
    /* A huge interval runs past 9999 instead of overflowing. */
    r.freq = RT_WEEKLY;
    r.interval = 2000000000;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), -1);
    r.count = 1;
    assert_int_equal(rt_recur_expand(start, &r, out, 4), 1);
}

static void recur_spring_gap(void **state)
{
    (void)state;
    int64_t out[4];
    struct rt_recur r = {RT_DAILY, 1, 3, RT_NONE};
    /* Daily at 02:30: the day without a 02:30 gets 03:30, the next day is
     * back to 02:30. */
    int n = rt_recur_expand(local(2026, 3, 28, 2, 30), &r, out, 4);
    assert_int_equal(n, 3);
    assert_utc(out[0], "2026-03-28T01:30:00Z");
    assert_utc(out[1], "2026-03-29T01:30:00Z");
    assert_local(out[1], 2026, 3, 29, 3, 30);
    assert_utc(out[2], "2026-03-30T00:30:00Z");
    assert_local(out[2], 2026, 3, 30, 2, 30);
    /* A series whose start was typed in the gap starts at 03:30 and keeps
     * that wall time. */
    r.freq = RT_WEEKLY;
    n = rt_recur_expand(local(2026, 3, 29, 2, 30), &r, out, 4);
    assert_int_equal(n, 3);
    assert_local(out[0], 2026, 3, 29, 3, 30);
    assert_local(out[1], 2026, 4, 5, 3, 30);
    assert_local(out[2], 2026, 4, 12, 3, 30);
    /* Daily at 02:30 through the autumn overlap: the first 02:30. */
    r.freq = RT_DAILY;
    n = rt_recur_expand(local(2026, 10, 24, 2, 30), &r, out, 4);
    assert_int_equal(n, 3);
    assert_utc(out[1], "2026-10-25T00:30:00Z");
    assert_utc(out[2], "2026-10-26T01:30:00Z");
}

/* The digit-by-digit formatter agrees with gmtime + strftime from year 0
 * to 9999 (and the snprintf path beyond, checked in format_utc). */
static void format_utc_matches_gmtime(void **state)
{
    char want[64], got[32];
    struct tm tm;
    (void)state;

    for (int64_t t = INT64_C(-62167219200); t <= INT64_C(253402300799);
         t += INT64_C(86399) * 367 + 7) {
        time_t tt = (time_t)t;
        assert_non_null(gmtime_r(&tt, &tm));
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        rt_format_utc(t, got, sizeof got);
        assert_string_equal(got, want);
    }
    /* too small a buffer takes the snprintf path: cut, still terminated */
    rt_format_utc(0, got, 11);
    assert_string_equal(got, "1970-01-01");
}

int main(void)
{
    /* Every test but the first installs Europe/Paris, so the parsing tests
     * also show that RFC 3339 parsing ignores the local zone. */
#define PARIS(t) cmocka_unit_test_setup(t, paris)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_to_utc),
        PARIS(rfc3339_good),
        PARIS(rfc3339_bad),
        PARIS(format_utc),
        PARIS(format_utc_matches_gmtime),
        PARIS(timezone_set),
        PARIS(now_freezes),
        PARIS(from_local_plain),
        PARIS(from_local_gap_and_overlap),
        PARIS(local_date),
        PARIS(duration),
        PARIS(hhmm),
        PARIS(format_fr),
        PARIS(format_fr_long),
        PARIS(recur_weekly_spring),
        PARIS(recur_weekly_autumn),
        PARIS(recur_daily_dst),
        PARIS(recur_until),
        PARIS(recur_limits),
        PARIS(recur_spring_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
