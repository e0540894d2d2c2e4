/* outbox_schedule — the pure rules of the outbox: when a message goes (the
 * contract's "Notifications" section), quiet hours in local time, and the
 * retry backoff.
 *
 * Quiet hours are a span of local minutes [from, to), wrapping midnight
 * when from > to (20:00–08:00); from == to means none. Their edges are found
 * as local wall times turned into instants by rt_from_local(), which does the
 * DST arithmetic from tzdata; each edge found that way is then checked
 * against outbox_in_quiet() itself, and when a DST gap or overlap put it in
 * the wrong place (an edge inside the missing hour) the edge is searched
 * minute by minute instead, so the answer is right on both change days. */
#include "outbox_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "rtime.h"

#define MIN 60
#define DAY_MINUTES (24 * 60)

static const char *const kind_names[OUTBOX_KIND_MAX] = {
    "confirmation", "reminder", "change", "cancellation", "promoted", "survey", "waitlisted"};

const char *const outbox_channel_names[OB_NCHANNELS] = {"sms", "email"};

const char *outbox_kind_name(enum outbox_kind k)
{
    return (int)k >= 0 && k < OUTBOX_KIND_MAX ? kind_names[k] : "unknown";
}

int outbox_kind_index(const char *name)
{
    for (int i = 0; name && i < OUTBOX_KIND_MAX; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

int outbox_channel_index(const char *name)
{
    for (int i = 0; name && i < OB_NCHANNELS; i++)
        if (strcmp(name, outbox_channel_names[i]) == 0)
            return i;
    return -1;
}

static int quiet_active(const struct outbox_rules *r)
{
    return r->quiet_enabled && r->quiet_from_min != r->quiet_to_min
           && r->quiet_from_min >= 0 && r->quiet_from_min < DAY_MINUTES
           && r->quiet_to_min >= 0 && r->quiet_to_min < DAY_MINUTES;
}

int outbox_in_quiet(const struct outbox_rules *r, int64_t t)
{
    int m;

    if (!quiet_active(r))
        return 0;
    m = rt_local_minutes(t);
    if (r->quiet_from_min < r->quiet_to_min)
        return m >= r->quiet_from_min && m < r->quiet_to_min;
    return m >= r->quiet_from_min || m < r->quiet_to_min;
}

/* MINUTES after local midnight on the local day of T shifted by DAYS. */
static int64_t local_day_at(int64_t t, int minutes, int days)
{
    struct tm tm;

    rt_local(t, &tm);
    tm.tm_mday += days;
    tm.tm_hour = minutes / 60;
    tm.tm_min = minutes % 60;
    tm.tm_sec = 0;
    return rt_from_local(&tm);
}

/* Start of the minute holding T (local minutes start on UTC minutes in
 * every zone whose offset is whole minutes, which is all of today's). */
static int64_t minute_floor(int64_t t)
{
    int64_t q = t / MIN;
    if (t % MIN != 0 && t < 0)
        q--;
    return q * MIN;
}

/* An edge E is right when the quiet state changes exactly there. */
static int is_edge(const struct outbox_rules *r, int64_t e, int quiet_after)
{
    return outbox_in_quiet(r, e) == quiet_after && outbox_in_quiet(r, e - MIN) == !quiet_after;
}

int64_t outbox_quiet_end(const struct outbox_rules *r, int64_t t)
{
    int64_t e = local_day_at(t, r->quiet_to_min, 0);

    if (e <= t)
        e = local_day_at(t, r->quiet_to_min, 1);
    if (e > t && is_edge(r, e, 0))
        return e;
    /* A DST change moved the edge: walk to it (at most a day and an hour). */
    for (e = minute_floor(t) + MIN; e <= t + (DAY_MINUTES + 120) * MIN; e += MIN)
        if (!outbox_in_quiet(r, e))
            return e;
    return t;
}

/* For T inside the quiet hours: the moment they began. */
static int64_t quiet_start(const struct outbox_rules *r, int64_t t)
{
    int64_t s = local_day_at(t, r->quiet_from_min, 0);

    if (s > t)
        s = local_day_at(t, r->quiet_from_min, -1);
    if (s <= t && is_edge(r, s, 1))
        return s;
    for (s = minute_floor(t); s >= t - (DAY_MINUTES + 120) * MIN; s -= MIN)
        if (!outbox_in_quiet(r, s - MIN))
            return s;
    return t;
}

int outbox_schedule(const struct outbox_rules *r, enum outbox_kind kind, int64_t now,
                    int64_t want, int64_t starts_at, int64_t created_at, int64_t *due)
{
    int64_t t = want, end;

    if (kind != OUTBOX_SURVEY && now >= starts_at)
        return 0;
    switch (kind) {
    case OUTBOX_REMINDER:
        if (want < created_at)
            return 0;   /* the offset was already past at enrollment */
        /* Earlier, to the end of the allowed period, the moment the quiet
         * hours begin: a reminder the morning of the session is too late. */
        if (outbox_in_quiet(r, t))
            t = quiet_start(r, t);
        if (t < created_at)
            return 0;
        break;
    case OUTBOX_CONFIRMATION:
    case OUTBOX_PROMOTED:
    case OUTBOX_WAITLISTED:
        if (kind == OUTBOX_CONFIRMATION && !r->confirmation)
            return 0;
        if (outbox_in_quiet(r, t)) {
            t = outbox_quiet_end(r, t);
            if (t >= starts_at)
                return 0;
        }
        break;
    case OUTBOX_CHANGE:
    case OUTBOX_CANCELLATION:
        /* Nobody should travel to a cancelled or moved session: when it
         * starts before the quiet hours end, the message goes at once. */
        if (outbox_in_quiet(r, t)) {
            end = outbox_quiet_end(r, t);
            if (end < starts_at)
                t = end;
        }
        break;
    case OUTBOX_SURVEY:
        if (outbox_in_quiet(r, t))
            t = outbox_quiet_end(r, t);
        break;
    default:
        return 0;
    }
    *due = t;
    return 1;
}

int64_t outbox_backoff(int attempts, double rnd)
{
    return outbox_backoff_from(30, 3600, attempts, rnd);
}

int64_t outbox_backoff_from(int64_t first, int64_t max, int attempts, double rnd)
{
    int64_t base = first > 0 ? first : 30;
    double d;

    if (max < base)
        max = base;
    for (int i = 1; i < attempts && base < max; i++)
        base *= 2;
    if (base > max)
        base = max;
    if (!(rnd >= 0.0 && rnd < 1.0))   /* also NaN */
        rnd = 0.5;
    /* ±20 %: retries of many rows that failed together spread out instead
     * of hitting a recovering gateway at the same second. */
    d = (double)base * (0.8 + 0.4 * rnd);
    return (int64_t)llround(d);
}
