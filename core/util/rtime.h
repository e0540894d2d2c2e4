/* rtime — time: RFC 3339, the configured local zone, durations, recurrence.
 *
 * Times are stored and passed as int64 Unix seconds (UTC). Local time is the
 * zone named by config.timezone, installed process-wide by rt_set_timezone()
 * (TZ + tzset), so localtime_r/mktime do the DST arithmetic from tzdata.
 * Recurrence steps in local calendar time: a weekly 14:00 stays 14:00 on
 * both sides of a DST change. A local time that does not exist (spring
 * forward gap) is moved forward by the gap; an ambiguous one (autumn) takes
 * the first occurrence.
 */
#ifndef RELAIS_RTIME_H
#define RELAIS_RTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RT_NONE INT64_MIN

/* Validates ZONE against the system tzdata (/usr/share/zoneinfo) and makes it
 * the process's local zone. -1 and *err (malloc'd) for an unknown zone. */
int rt_set_timezone(const char *zone, char **err);
const char *rt_timezone(void);

/* Current time, Unix seconds. Tests may freeze it with rt_set_now(). */
int64_t rt_now(void);
void rt_set_now(int64_t t); /* RT_NONE returns to the real clock */

/* "2026-03-03T14:00:00Z", "…+01:00", fractional seconds ignored; 't' and 'z'
 * accepted. Rejects impossible dates (31 Feb), hours > 23, offsets > 23:59.
 * Returns 0 or -1. */
int rt_parse_rfc3339(const char *s, int64_t *out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (BUF ≥ 21 bytes). */
void rt_format_utc(int64_t t, char *buf, size_t n);
/* "2026-01-01" as the local midnight that starts that day (0 or -1). */
int rt_parse_local_date(const char *s, int64_t *out);
/* Local broken-down time of T. */
void rt_local(int64_t t, struct tm *out);
/* Local wall time (tm_isdst ignored) to Unix seconds, with the gap/overlap
 * rule above. */
int64_t rt_from_local(const struct tm *local);
/* Minutes since local midnight of T. */
int rt_local_minutes(int64_t t);

/* "30s", "15m", "48h", "2d" → seconds (0 or -1). Positive only. */
int rt_parse_duration(const char *s, int64_t *out);
/* "08:00" → 480 (0 or -1). */
int rt_parse_hhmm(const char *s, int *minutes);

/* "mar. 3 déc. à 14h00" in local time (UTF-8); the first of the month is
 * "1er", hours have no leading zero ("9h05"). RT_FR_MAX always suffices; a
 * shorter BUF is cut at a character boundary. */
#define RT_FR_MAX 32
void rt_format_fr(int64_t t, char *buf, size_t n);

/* The same written in full, for people who read with difficulty: "jeudi 10
 * décembre à 14 h" ("à 9 h 30"; "1er"; the year added when it is not NOW's
 * year). _day writes the day alone, _hour the hour alone ("14 h"). */
#define RT_FR_LONG_MAX 64
void rt_format_fr_long(int64_t t, int64_t now, char *buf, size_t n);
void rt_format_fr_day(int64_t t, int64_t now, char *buf, size_t n);
void rt_format_fr_hour(int64_t t, char *buf, size_t n);

enum rt_freq { RT_DAILY = 0, RT_WEEKLY = 1 };
struct rt_recur {
    enum rt_freq freq;
    int interval;     /* ≥ 1 */
    int count;        /* > 0, or 0 when UNTIL is used */
    int64_t until;    /* RT_NONE when COUNT is used; inclusive */
};
/* Expands the series starting at START (the first occurrence is START
 * itself) into OUT (room for MAX). Returns the number of occurrences, or -1
 * when the series would exceed MAX (the caller answers 422). Also -1 for a
 * bad rule (interval < 1, neither COUNT nor UNTIL) or a series running past
 * 9999. With both COUNT and UNTIL the first limit reached wins; an UNTIL
 * before START gives 0. */
int rt_recur_expand(int64_t start, const struct rt_recur *r, int64_t *out, int max);

#endif
