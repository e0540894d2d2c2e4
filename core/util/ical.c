/* ical — RFC 5545 calendars (formats.md §6.2).
 *
 * Output is built in one growing buffer whose allocation failure is sticky:
 * every append after a failure is a no-op and ical_build() checks the flag
 * once at the end, which keeps each writer a straight line.
 *
 * The VTIMEZONE is not a copy of a hand-written Europe/Paris block: it is
 * read back from tzdata through localtime_r's tm_gmtoff, one observance per
 * offset change in the years the events touch, so it is right for whatever
 * zone config.timezone names and for whatever rules tzdata holds.
 */
#include "ical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtime.h"

#define DAY 86400
#define FOLD 75 /* octets per physical line, CRLF excluded (RFC 5545 §3.1) */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* TEXT value (RFC 5545 §3.3.11): escape \ ; , and newlines; drop the other
 * control characters, which TEXT does not allow (HTAB excepted). */
static void put_text(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == ';' || c == ',') {
            char esc[2] = {'\\', (char)c};
            put(b, esc, 2);
        } else if (c == '\r') {
            put(b, "\\n", 2);
            if (s[1] == '\n')
                s++;
        } else if (c == '\n') {
            put(b, "\\n", 2);
        } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
            continue;
        } else {
            put(b, s, 1);
        }
    }
}

/* Moves the logical line in LINE to OUT, folded: at most FOLD octets per
 * physical line, a continuation starting with one space (counted in the
 * FOLD), never cutting inside a UTF-8 sequence. */
static void emit(struct buf *out, struct buf *line)
{
    size_t pos = 0, limit = FOLD;
    const unsigned char *s = (const unsigned char *)line->p;

    if (line->oom) {
        out->oom = 1;
        goto done;
    }
    while (pos < line->len) {
        size_t take = line->len - pos;
        if (take > limit) {
            take = limit;
            /* Back up to the start of the character the cut falls in. */
            while (take > 0 && (s[pos + take] & 0xC0) == 0x80)
                take--;
            if (take == 0)
                take = limit; /* not UTF-8 at all: cut at the octet limit */
        }
        if (pos > 0)
            put(out, " ", 1);
        put(out, line->p + pos, take);
        put(out, "\r\n", 2);
        pos += take;
        limit = FOLD - 1;
    }
    if (line->len == 0)
        put(out, "\r\n", 2);
done:
    line->len = 0;
    if (line->p)
        line->p[0] = '\0';
}

/* NAME:VALUE with VALUE a TEXT (escaped). */
static void prop_text(struct buf *out, struct buf *line, const char *name, const char *value)
{
    puts_(line, name);
    put(line, ":", 1);
    put_text(line, value);
    emit(out, line);
}

/* NAME:VALUE with VALUE already in iCalendar syntax. */
static void prop_raw(struct buf *out, struct buf *line, const char *name, const char *value)
{
    puts_(line, name);
    put(line, ":", 1);
    puts_(line, value);
    emit(out, line);
}

/* Wall-clock Unix-like seconds (UTC fields of T + OFFSET) as YYYYMMDDTHHMMSS. */
static void fmt_wall(int64_t t, char out[20])
{
    char iso[32];
    size_t j = 0;

    rt_format_utc(t, iso, sizeof iso);
    /* "YYYY-MM-DDTHH:MM:SSZ" → "YYYYMMDDTHHMMSS" */
    for (size_t i = 0; iso[i] && iso[i] != 'Z' && j < 19; i++)
        if (iso[i] != '-' && iso[i] != ':')
            out[j++] = iso[i];
    out[j] = '\0';
}

static void fmt_local(int64_t t, char out[20])
{
    struct tm tm;
    rt_local(t, &tm);
    fmt_wall(t + tm.tm_gmtoff, out);
}

/* ±HHMM, or ±HHMMSS for the odd historical offset with seconds. */
static void fmt_offset(long off, char out[32])
{
    long a = off < 0 ? -off : off;
    if (a % 60)
        snprintf(out, 32, "%c%02ld%02ld%02ld", off < 0 ? '-' : '+', a / 3600, a / 60 % 60, a % 60);
    else
        snprintf(out, 32, "%c%02ld%02ld", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* --- VTIMEZONE ------------------------------------------------------------ */

struct span {
    int y0, y1; /* inclusive years */
};

static int year_of(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm))
        return t < 0 ? 1900 : 9999;
    return tm.tm_year + 1900;
}

/* 1 January of Y, 00:00 UTC. */
static int64_t year_start(int y)
{
    int64_t p = (int64_t)y - 1;
    return (365 * p + p / 4 - p / 100 + p / 400 - 719162) * DAY;
}

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return (x->y0 > y->y0) - (x->y0 < y->y0);
}

struct state {
    long off;
    int dst;
    char name[16];
};

static void state_at(int64_t t, struct state *st)
{
    struct tm tm;
    rt_local(t, &tm);
    st->off = tm.tm_gmtoff;
    st->dst = tm.tm_isdst > 0;
    snprintf(st->name, sizeof st->name, "%s", tm.tm_zone ? tm.tm_zone : "");
}

/* One observance whose onset is T: DTSTART is the wall time at T in the
 * offset in force before it (RFC 5545 §3.6.5). */
static void observance(struct buf *out, struct buf *line, int64_t t, long from,
                       const struct state *to)
{
    const char *kind = to->dst ? "DAYLIGHT" : "STANDARD";
    char wall[20], of[32], ot[32];

    fmt_wall(t + from, wall);
    fmt_offset(from, of);
    fmt_offset(to->off, ot);
    prop_raw(out, line, "BEGIN", kind);
    prop_raw(out, line, "DTSTART", wall);
    prop_raw(out, line, "TZOFFSETFROM", of);
    prop_raw(out, line, "TZOFFSETTO", ot);
    prop_text(out, line, "TZNAME", to->name);
    prop_raw(out, line, "END", kind);
}

/* Observances for [Y0-01-01, Y1+1-01-01) UTC. The first one states the
 * offset at the start, so events before the span's first change (or in a
 * zone without any) are covered; then each change, found by sampling every
 * day and bisecting between two samples that disagree. */
static void zone_span(struct buf *out, struct buf *line, int y0, int y1)
{
    int64_t a = year_start(y0), b = year_start(y1 + 1), s;
    struct state cur, before, st;

    state_at(a - 1, &before);
    state_at(a, &cur);
    observance(out, line, a, before.off, &cur);
    for (s = a + DAY; s - DAY < b && !out->oom; s += DAY) {
        int64_t lo = s - DAY, hi;
        state_at(s, &st);
        /* Several changes may fall between two samples: walk them one by one. */
        while (st.off != cur.off) {
            long from = cur.off;
            hi = s;
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                struct state m;
                state_at(mid, &m);
                if (m.off == cur.off)
                    lo = mid;
                else
                    hi = mid;
            }
            state_at(hi, &cur);
            if (hi < b)
                observance(out, line, hi, from, &cur);
            lo = hi;
        }
    }
}

static void vtimezone(struct buf *out, struct buf *line, const struct ical_event *ev, size_t n)
{
    struct span *sp = NULL, one;
    size_t m = 0;

    if (n == 0) {
        int y = year_of(rt_now());
        one.y0 = y - 1;
        one.y1 = y + 1;
        sp = &one;
        m = 1;
    } else {
        sp = malloc(n * sizeof *sp);
        if (!sp) {
            out->oom = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            int a = year_of(ev[i].starts_at), z = year_of(ev[i].ends_at);
            sp[i].y0 = (a < z ? a : z) - 1;
            sp[i].y1 = (a < z ? z : a) + 1;
            /* iCalendar dates have four-digit years. */
            if (sp[i].y0 < 1900)
                sp[i].y0 = 1900;
            if (sp[i].y1 > 9999)
                sp[i].y1 = 9999;
            if (sp[i].y0 > sp[i].y1)
                sp[i].y0 = sp[i].y1;
        }
        /* Merge per-event windows: a lone far-future event adds three
         * years of scanning, not every year in between. */
        qsort(sp, n, sizeof *sp, span_cmp);
        for (size_t i = 1; i < n; i++) {
            if (sp[i].y0 <= sp[m].y1 + 1) {
                if (sp[i].y1 > sp[m].y1)
                    sp[m].y1 = sp[i].y1;
            } else {
                sp[++m] = sp[i];
            }
        }
        m++;
    }
    prop_raw(out, line, "BEGIN", "VTIMEZONE");
    /* Zone names are checked by rt_set_timezone() to [A-Za-z0-9_+-/], so
     * they need no quoting as a parameter value. */
    prop_raw(out, line, "TZID", rt_timezone());
    for (size_t i = 0; i < m; i++)
        zone_span(out, line, sp[i].y0, sp[i].y1);
    prop_raw(out, line, "END", "VTIMEZONE");
    if (sp != &one)
        free(sp);
}

/* --- VEVENT --------------------------------------------------------------- */


/* NAME;CN="…"PARAMS:mailto:ADDR. A CN is a quoted parameter value, which
 * may hold neither a double quote nor a control character (RFC 5545
 * §3.2): those are dropped. An address with characters that would break the
 * line or the URI is left out entirely. */
static void prop_address(struct buf *out, struct buf *line, const char *name,
                         const char *cn, const char *params, const char *addr)
{
    const char *p;

    for (p = addr; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == ';' || *p == ',' || *p == ':' ||
            *p == '<' || *p == '>' || *p == '\\')
            return;
    puts_(line, name);
    if (cn && *cn) {
        puts_(line, ";CN=\"");
        for (p = cn; *p; p++)
            if (*p != '"' && (unsigned char)*p >= ' ' && *p != 0x7f)
                put(line, p, 1);
        put(line, "\"", 1);
    }
    if (params)
        puts_(line, params);
    puts_(line, ":mailto:");
    puts_(line, addr);
    emit(out, line);
}

static void vevent(struct buf *out, struct buf *line, const struct ical_event *e)
{
    char when[20], stamp[20], seq[16];
    const char *tz = rt_timezone();

    prop_raw(out, line, "BEGIN", "VEVENT");
    prop_text(out, line, "UID", e->uid ? e->uid : "");
    fmt_wall(e->stamp, stamp);
    puts_(line, "DTSTAMP:");
    puts_(line, stamp);
    put(line, "Z", 1);
    emit(out, line);
    fmt_local(e->starts_at, when);
    puts_(line, "DTSTART;TZID=");
    puts_(line, tz);
    put(line, ":", 1);
    puts_(line, when);
    emit(out, line);
    fmt_local(e->ends_at, when);
    puts_(line, "DTEND;TZID=");
    puts_(line, tz);
    put(line, ":", 1);
    puts_(line, when);
    emit(out, line);
    prop_text(out, line, "SUMMARY", e->summary ? e->summary : "");
    if (e->description)
        prop_text(out, line, "DESCRIPTION", e->description);
    if (e->location)
        prop_text(out, line, "LOCATION", e->location);
    if (e->organizer && *e->organizer)
        prop_address(out, line, "ORGANIZER", e->organizer_name, NULL, e->organizer);
    if (e->attendee && *e->attendee)
        prop_address(out, line, "ATTENDEE", e->attendee_name,
                     ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE", e->attendee);
    snprintf(seq, sizeof seq, "%d", e->sequence < 0 ? 0 : e->sequence);
    prop_raw(out, line, "SEQUENCE", seq);
    prop_raw(out, line, "STATUS", e->cancelled ? "CANCELLED" : "CONFIRMED");
    prop_raw(out, line, "END", "VEVENT");
}

static int method_ok(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || *m == '-'))
            return 0;
    return 1;
}

char *ical_build(const struct ical_event *ev, size_t n, const char *method,
                 const char *calname, size_t *len)
{
    struct buf out = {0}, line = {0};

    if (len)
        *len = 0;
    /* METHOD is a protocol word chosen by the caller, never user text. */
    if ((n > 0 && !ev) || (method && !method_ok(method)))
        goto fail;
    prop_raw(&out, &line, "BEGIN", "VCALENDAR");
    prop_raw(&out, &line, "VERSION", "2.0");
    prop_raw(&out, &line, "PRODID", "-//Relais//Relais 0.1//FR");
    prop_raw(&out, &line, "CALSCALE", "GREGORIAN");
    if (method)
        prop_raw(&out, &line, "METHOD", method);
    if (calname)
        prop_text(&out, &line, "X-WR-CALNAME", calname);
    prop_text(&out, &line, "X-WR-TIMEZONE", rt_timezone());
    vtimezone(&out, &line, ev, n);
    for (size_t i = 0; i < n && !out.oom; i++)
        vevent(&out, &line, &ev[i]);
    prop_raw(&out, &line, "END", "VCALENDAR");
    if (out.oom || line.oom)
        goto fail;
    free(line.p);
    if (len)
        *len = out.len;
    return out.p;
fail:
    free(line.p);
    free(out.p);
    return NULL;
}

void ical_uid_host(const char *url, char *out, size_t n)
{
    const char *p = url ? strstr(url, "://") : NULL;
    const char *at, *end;
    size_t len;

    p = p ? p + 3 : (url ? url : "");
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    if (*p == '[') {                       /* [IPv6]:port */
        const char *close = memchr(p, ']', (size_t)(end - p));
        end = close ? close + 1 : end;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon)
            end = colon;
    }
    len = (size_t)(end - p);
    if (len == 0) {
        p = "localhost";
        len = strlen(p);
    }
    if (len >= n)
        len = n - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

char *ical_location(const char *a, const char *b, const char *c, int *oom)
{
    const char *parts[3] = {a, b, c};
    size_t len = 0;
    char *out;

    for (int i = 0; i < 3; i++)
        if (parts[i] && *parts[i])
            len += strlen(parts[i]) + 2;
    if (len == 0)
        return NULL;
    if (!(out = malloc(len + 1))) {
        *oom = 1;
        return NULL;
    }
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (!parts[i] || !*parts[i])
            continue;
        if (out[0])
            strcat(out, ", ");
        strcat(out, parts[i]);
    }
    return out;
}
