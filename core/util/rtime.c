/* rtime — time: RFC 3339, the configured local zone, durations, recurrence.
 *
 * UTC arithmetic uses our own days-from-civil so that nothing depends on TZ
 * (timegm would work, but parsing must not care what zone is installed).
 * Local wall time → UTC does not use mktime: with tm_isdst = -1 glibc 2.36
 * resolves the autumn overlap to the *second* occurrence (Paris 02:30 on
 * 25 Oct 2026 → 01:30Z) and its answer depends on a static guess left by
 * earlier calls. We instead ask localtime_r for tm_gmtoff around the wanted
 * instant and pick the solution ourselves (see resolve_local()).
 */
#include "rtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY 86400
/* Longest IANA name today is 32 bytes; anything longer is not a zone. */
#define ZONE_MAX 64
/* 9999-12-31 as days since 1970-01-01: the last day we accept anywhere. */
#define LAST_DAY 2932896

static char zone_name[ZONE_MAX];
static int64_t frozen_now = RT_NONE;

/* --- civil calendar (proleptic Gregorian, H. Hinnant's algorithms) ------ */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of Y-M-D (M 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = era * 400 + yoe + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* --- zone ----------------------------------------------------------------- */

/* Until rt_set_timezone() runs, local time is UTC whatever TZ says, so that
 * rt_timezone() and localtime_r always agree. */
static void ensure_zone(void)
{
    if (zone_name[0])
        return;
    if (setenv("TZ", "UTC", 1) == 0)
        tzset();
    memcpy(zone_name, "UTC", 4);
}

/* IANA names only ([A-Za-z0-9_+-/], the rule config.c applies too): no
 * absolute paths, no "." so no "..", no POSIX TZ strings, and not the
 * "right/" tree whose time_t counts leap seconds. */
static int zone_name_ok(const char *z)
{
    size_t n = strlen(z);
    if (n == 0 || n >= ZONE_MAX || z[0] == '/' || z[n - 1] == '/')
        return 0;
    if (strncmp(z, "right/", 6) == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = z[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                 || c == '_' || c == '-' || c == '+' || c == '/';
        if (!ok)
            return 0;
        if (c == '/' && z[i + 1] == '/')
            return 0;
    }
    return 1;
}

/* A real TZif file under TZDIR (glibc honours that variable too). */
static int zone_file_ok(const char *z)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    char magic[4];
    struct stat st;
    FILE *f = NULL;
    int ok = 0;

    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    if (snprintf(path, sizeof path, "%s/%s", dir, z) >= (int)sizeof path)
        goto out;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    f = fopen(path, "rb");
    if (!f)
        goto out;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "TZif", 4) != 0)
        goto out;
    ok = 1;
out:
    if (f)
        fclose(f);
    return ok;
}

int rt_set_timezone(const char *zone, char **err)
{
    const char *why = NULL;

    if (err)
        *err = NULL;
    if (!zone || !zone_name_ok(zone) || !zone_file_ok(zone)) {
        why = "unknown time zone";
        goto fail;
    }
    if (setenv("TZ", zone, 1) != 0) {
        why = "cannot set TZ";
        goto fail;
    }
    tzset();
    memcpy(zone_name, zone, strlen(zone) + 1);
    return 0;
fail:
    if (err) {
        /* The zone name comes from the config file, not from a person. */
        const char *z = zone ? zone : "(null)";
        size_t n = strlen(why) + strlen(z) + 32;
        char *m = malloc(n);
        if (m)
            snprintf(m, n, "%s \"%.*s\"", why, ZONE_MAX, z);
        *err = m;
    }
    return -1;
}

const char *rt_timezone(void)
{
    ensure_zone();
    return zone_name;
}

/* --- clock ------------------------------------------------------------------ */

int64_t rt_now(void)
{
    struct timespec ts;

    if (frozen_now != RT_NONE)
        return frozen_now;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (int64_t)time(NULL);
    return (int64_t)ts.tv_sec;
}

void rt_set_now(int64_t t)
{
    frozen_now = t;
}

/* --- RFC 3339 ------------------------------------------------------------- */

/* Reads exactly N digits at *P. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/* "YYYY-MM-DD" at *P, 1970..9999, real calendar date → days since epoch. */
static int parse_date(const char **p, int64_t *days)
{
    int y, m, d;
    if (digits(p, 4, &y) || expect(p, '-') || digits(p, 2, &m) || expect(p, '-')
        || digits(p, 2, &d))
        return -1;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

int rt_parse_rfc3339(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t days;
    int hh, mm, ss, oh = 0, om = 0, sign = 0;

    if (!s || !out)
        return -1;
    if (parse_date(&p, &days))
        return -1;
    if (*p != 'T' && *p != 't')
        return -1;
    p++;
    if (digits(&p, 2, &hh) || expect(&p, ':') || digits(&p, 2, &mm) || expect(&p, ':')
        || digits(&p, 2, &ss))
        return -1;
    if (hh > 23 || mm > 59 || ss > 60)
        return -1;
    /* A leap second (23:59:60) has no Unix time of its own; counting it as
     * :59 keeps the instant inside the minute and the day it names. */
    if (ss == 60)
        ss = 59;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *out = days * DAY + hh * 3600 + mm * 60 + ss - sign * (oh * 3600 + om * 60);
    return 0;
}

void rt_format_utc(int64_t t, char *buf, size_t n)
{
    int64_t days = t / DAY, sod = t % DAY, y;
    int m, d;

    if (!buf || n == 0)
        return;
    /* Floor without computing days * DAY, which overflows near INT64_MIN. */
    if (sod < 0) {
        sod += DAY;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    /* Years 0..9999 into a big enough buffer, the common case, without
     * snprintf: every time in every JSON answer comes through here (a page
     * of sessions spent a fifth of its time in it). */
    if (y >= 0 && y <= 9999 && n >= 21) {
        int f[] = {(int)(y / 100), (int)(y % 100), m, d,
                   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60)};
        static const char sep[7] = {0, '-', '-', 'T', ':', ':', 'Z'};  /* after each */
        char *p = buf;

        for (int i = 0; i < 7; i++) {
            *p++ = (char)('0' + f[i] / 10);
            *p++ = (char)('0' + f[i] % 10);
            if (sep[i])
                *p++ = sep[i];
        }
        *p = '\0';
        return;
    }
    snprintf(buf, n, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

/* --- local time ------------------------------------------------------------- */

void rt_local(int64_t t, struct tm *out)
{
    time_t tt = (time_t)t;

    ensure_zone();
    if (!localtime_r(&tt, out)) {
        /* Only beyond the year 2^31: report the epoch rather than garbage. */
        memset(out, 0, sizeof *out);
        out->tm_mday = 1;
        out->tm_year = 70;
        out->tm_wday = 4;
    }
}

/* UTC offset in effect at T, seconds east. */
static int64_t offset_at(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!localtime_r(&tt, &tm))
        return 0;
    return tm.tm_gmtoff;
}

/* L is a wall time counted as if local time were UTC (days*86400 + secs).
 * Solutions are t with t + offset(t) == L. Offsets stay within ±1 day, so
 * the offsets before and after any transition near L are those one day
 * either side. Several solutions (autumn overlap): the earliest. None
 * (spring gap): L read in the offset before the gap, which lands the
 * same distance past the gap's end (02:30 in a 02:00–03:00 gap → 03:30). */
static int64_t resolve_local(int64_t L)
{
    int64_t cand[3], best = RT_NONE, lo;
    cand[0] = offset_at(L - DAY);
    cand[1] = offset_at(L);
    cand[2] = offset_at(L + DAY);
    lo = cand[0];
    for (int i = 0; i < 3; i++) {
        int64_t t = L - cand[i];
        if (offset_at(t) == cand[i] && (best == RT_NONE || t < best))
            best = t;
        if (cand[i] < lo)
            lo = cand[i];
    }
    if (best != RT_NONE)
        return best;
    return L - lo;
}

int64_t rt_from_local(const struct tm *local)
{
    int64_t y = (int64_t)local->tm_year + 1900;
    int64_t mon = local->tm_mon; /* may be out of 0..11: normalise as mktime */
    int64_t days, L;

    ensure_zone();
    y += floor_div(mon, 12);
    mon -= floor_div(mon, 12) * 12;
    days = days_from_civil(y, (int)mon + 1, 1) + (local->tm_mday - 1);
    L = days * DAY + (int64_t)local->tm_hour * 3600 + (int64_t)local->tm_min * 60 + local->tm_sec;
    return resolve_local(L);
}

int rt_local_minutes(int64_t t)
{
    struct tm tm;
    rt_local(t, &tm);
    return tm.tm_hour * 60 + tm.tm_min;
}

int rt_parse_local_date(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t days;

    if (!s || !out)
        return -1;
    if (parse_date(&p, &days) || *p != '\0')
        return -1;
    ensure_zone();
    /* A zone whose clocks jump at midnight starts that day at 01:00: the gap
     * rule of resolve_local() gives exactly that. */
    *out = resolve_local(days * DAY);
    return 0;
}

/* --- durations and clock times --------------------------------------------- */

int rt_parse_duration(const char *s, int64_t *out)
{
    int64_t v = 0, unit;
    const char *p = s;

    if (!s || !out || *p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        int dgt = *p - '0';
        if (v > (INT64_MAX - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
        p++;
    }
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = DAY; break;
    default: return -1;
    }
    if (p[1] != '\0' || v <= 0 || v > INT64_MAX / unit)
        return -1;
    *out = v * unit;
    return 0;
}

int rt_parse_hhmm(const char *s, int *minutes)
{
    const char *p = s;
    int h, m;

    if (!s || !minutes)
        return -1;
    if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &m) || *p != '\0')
        return -1;
    if (h > 23 || m > 59)
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

/* --- French display ----------------------------------------------------------- */

/* snprintf truncates at a byte: drop a multi-byte character left incomplete
 * at the end so the caller never sends invalid UTF-8. */
static void utf8_trim(char *s)
{
    size_t len = strlen(s), j = len;
    unsigned char lead;
    size_t need;

    while (j > 0 && ((unsigned char)s[j - 1] & 0xC0) == 0x80)
        j--;
    if (j == 0)
        return;
    lead = (unsigned char)s[j - 1];
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len - (j - 1) < need)
        s[j - 1] = '\0';
}

void rt_format_fr(int64_t t, char *buf, size_t n)
{
    static const char *const wd[7] = {"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."};
    static const char *const mo[12] = {"janv.", "févr.", "mars", "avr.", "mai", "juin",
                                       "juil.", "août", "sept.", "oct.", "nov.", "déc."};
    struct tm tm;
    int w;

    if (!buf || n == 0)
        return;
    rt_local(t, &tm);
    /* French writes the first of the month as an ordinal: "1er". */
    w = snprintf(buf, n, "%s %d%s %s à %dh%02d", wd[tm.tm_wday % 7], tm.tm_mday,
                 tm.tm_mday == 1 ? "er" : "", mo[tm.tm_mon % 12], tm.tm_hour, tm.tm_min);
    if (w >= 0 && (size_t)w >= n)
        utf8_trim(buf);
}

void rt_format_fr_hour(int64_t t, char *buf, size_t n)
{
    struct tm tm;
    int w;

    if (!buf || n == 0)
        return;
    rt_local(t, &tm);
    w = tm.tm_min ? snprintf(buf, n, "%d h %02d", tm.tm_hour, tm.tm_min)
                  : snprintf(buf, n, "%d h", tm.tm_hour);
    if (w >= 0 && (size_t)w >= n)
        utf8_trim(buf);
}

void rt_format_fr_day(int64_t t, int64_t now, char *buf, size_t n)
{
    static const char *const wd[7] = {"dimanche", "lundi", "mardi", "mercredi", "jeudi",
                                      "vendredi", "samedi"};
    static const char *const mo[12] = {"janvier", "février", "mars", "avril", "mai", "juin",
                                       "juillet", "août", "septembre", "octobre", "novembre",
                                       "décembre"};
    struct tm tm, today;
    int w;

    if (!buf || n == 0)
        return;
    rt_local(t, &tm);
    rt_local(now, &today);
    /* The year only when it is not this one: "jeudi 10 décembre". */
    if (tm.tm_year == today.tm_year)
        w = snprintf(buf, n, "%s %d%s %s", wd[tm.tm_wday % 7], tm.tm_mday,
                     tm.tm_mday == 1 ? "er" : "", mo[tm.tm_mon % 12]);
    else
        w = snprintf(buf, n, "%s %d%s %s %d", wd[tm.tm_wday % 7], tm.tm_mday,
                     tm.tm_mday == 1 ? "er" : "", mo[tm.tm_mon % 12], tm.tm_year + 1900);
    if (w >= 0 && (size_t)w >= n)
        utf8_trim(buf);
}

void rt_format_fr_long(int64_t t, int64_t now, char *buf, size_t n)
{
    char day[RT_FR_LONG_MAX], hour[16];
    int w;

    if (!buf || n == 0)
        return;
    rt_format_fr_day(t, now, day, sizeof day);
    rt_format_fr_hour(t, hour, sizeof hour);
    w = snprintf(buf, n, "%s à %s", day, hour);
    if (w >= 0 && (size_t)w >= n)
        utf8_trim(buf);
}

/* --- recurrence ------------------------------------------------------------ */

int rt_recur_expand(int64_t start, const struct rt_recur *r, int64_t *out, int max)
{
    struct tm tm;
    int64_t day, step, sod;
    int n = 0;

    if (!r || r->interval < 1 || max < 0 || (max > 0 && !out))
        return -1;
    if (r->freq != RT_DAILY && r->freq != RT_WEEKLY)
        return -1;
    if (r->count < 0 || (r->count == 0 && r->until == RT_NONE))
        return -1;
    if (r->count > max)
        return -1; /* known too long before doing any work */
    rt_local(start, &tm);
    day = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    sod = (int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    step = (int64_t)r->interval * (r->freq == RT_WEEKLY ? 7 : 1);
    for (;;) {
        /* The first occurrence is START itself even when it was the second
         * pass of an ambiguous hour; later ones follow resolve_local(). */
        int64_t t = n == 0 ? start : resolve_local(day * DAY + sod);
        if (r->until != RT_NONE && t > r->until)
            break;
        if (n == max)
            return -1;
        out[n++] = t;
        if (r->count > 0 && n == r->count)
            break;
        if (step > LAST_DAY - day)
            return -1; /* the next one would fall after 9999-12-31 */
        day += step;
    }
    return n;
}
