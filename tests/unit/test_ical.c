/* ical: calendar structure, CRLF, folding of UTF-8, TEXT escaping, and the
 * VTIMEZONE computed from tzdata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ical.h"
#include "rtime.h"

static int zone(const char *name)
{
    char *err = NULL;
    int rc = rt_set_timezone(name, &err);
    free(err);
    return rc;
}

static int paris(void **state)
{
    (void)state;
    return zone("Europe/Paris");
}

static int64_t at(const char *rfc3339)
{
    int64_t t;
    if (rt_parse_rfc3339(rfc3339, &t) != 0)
        fail_msg("bad test time %s", rfc3339);
    return t;
}

static struct ical_event event(const char *uid, const char *summary, const char *start,
                               const char *end)
{
    struct ical_event e;
    memset(&e, 0, sizeof e);
    e.uid = uid;
    e.summary = summary;
    e.starts_at = at(start);
    e.ends_at = at(end);
    e.stamp = at("2026-01-15T08:30:00Z");
    return e;
}

/* Builds, checks the octet-level rules every calendar must follow, and
 * returns the text (caller frees). */
static char *build(const struct ical_event *ev, size_t n, const char *method,
                   const char *calname)
{
    size_t len = 0;
    char *s = ical_build(ev, n, method, calname, &len);
    const char *line;

    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_true(len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            assert_true(i > 0 && s[i - 1] == '\r');
        if (s[i] == '\r')
            assert_true(s[i + 1] == '\n');
    }
    /* Physical lines: ≤ 75 octets, and each one valid UTF-8 on its own, so
     * no fold split a character. */
    for (line = s; *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t l = (size_t)(eol - line), i = 0;
        assert_true(l <= 75);
        while (i < l) {
            unsigned char c = (unsigned char)line[i];
            size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
            assert_true(k > 0);       /* never starts inside a character */
            assert_true(i + k <= l);  /* never ends inside one */
            for (size_t j = 1; j < k; j++)
                assert_true(((unsigned char)line[i + j] & 0xC0) == 0x80);
            i += k;
        }
        line = eol + 2;
    }
    return s;
}

/* The logical text: folds ("\r\n ") removed. */
static char *unfold(const char *s)
{
    char *u = malloc(strlen(s) + 1), *w = u;
    assert_non_null(u);
    while (*s) {
        if (s[0] == '\r' && s[1] == '\n' && s[2] == ' ')
            s += 3;
        else
            *w++ = *s++;
    }
    *w = '\0';
    return u;
}

static void has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, text);
}

static void lacks(const char *text, const char *needle)
{
    if (strstr(text, needle))
        fail_msg("unexpected \"%s\" in:\n%s", needle, text);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void structure(void **state)
{
    (void)state;
    struct ical_event ev[2] = {
        event("session-1@relais.test", "Atelier smartphone", "2026-03-03T13:00:00Z",
              "2026-03-03T15:00:00Z"),
        event("session-2@relais.test", "Permanence", "2026-07-09T07:00:00Z",
              "2026-07-09T10:00:00Z"),
    };
    ev[1].location = "Centre social";
    ev[1].description = "Démarches en ligne";
    ev[1].sequence = 2;
    char *s = build(ev, 2, NULL, "Relais");
    const char *head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Relais//Relais 0.1//FR\r\n"
                       "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Relais\r\n"
                       "X-WR-TIMEZONE:Europe/Paris\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n";
    assert_memory_equal(s, head, strlen(head));
    lacks(s, "METHOD");
    has(s, "END:VTIMEZONE\r\nBEGIN:VEVENT\r\n");
    assert_int_equal(count(s, "BEGIN:VEVENT\r\n"), 2);
    assert_int_equal(count(s, "END:VEVENT\r\n"), 2);
    has(s, "BEGIN:VEVENT\r\nUID:session-1@relais.test\r\nDTSTAMP:20260115T083000Z\r\n"
           "DTSTART;TZID=Europe/Paris:20260303T140000\r\n"
           "DTEND;TZID=Europe/Paris:20260303T160000\r\nSUMMARY:Atelier smartphone\r\n"
           "SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\n");
    /* Summer: local 09:00 is 07:00Z. */
    has(s, "DTSTART;TZID=Europe/Paris:20260709T090000\r\n"
           "DTEND;TZID=Europe/Paris:20260709T120000\r\n"
           "SUMMARY:Permanence\r\nDESCRIPTION:Démarches en ligne\r\n"
           "LOCATION:Centre social\r\nSEQUENCE:2\r\nSTATUS:CONFIRMED\r\n");
    const char *tail = "END:VEVENT\r\nEND:VCALENDAR\r\n";
    assert_string_equal(s + strlen(s) - strlen(tail), tail);
    free(s);
}

static void paris_vtimezone(void **state)
{
    (void)state;
    struct ical_event ev = event("u@h", "x", "2026-06-01T10:00:00Z", "2026-06-01T12:00:00Z");
    char *s = build(&ev, 1, NULL, NULL);
    lacks(s, "X-WR-CALNAME");
    /* Both 2026 changes, DTSTART in the offset before the change. */
    has(s, "BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\n"
           "TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n");
    has(s, "BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\n"
           "TZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n");
    /* The window is the event's year ± 1. */
    has(s, "DTSTART:20250330T020000\r\n");
    has(s, "DTSTART:20251026T030000\r\n");
    has(s, "DTSTART:20270328T020000\r\n");
    has(s, "DTSTART:20271031T030000\r\n");
    lacks(s, "DTSTART:2024");
    lacks(s, "DTSTART:2028");
    /* Opening observance: the offset on 1 January 2025, then 6 changes. */
    has(s, "TZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:20250101T010000\r\n"
           "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n");
    assert_int_equal(count(s, "BEGIN:DAYLIGHT"), 3);
    assert_int_equal(count(s, "BEGIN:STANDARD"), 4);
    free(s);
}

static void far_apart_events(void **state)
{
    (void)state;
    struct ical_event ev[2] = {
        event("a@h", "a", "2040-05-01T10:00:00Z", "2040-05-01T11:00:00Z"),
        event("b@h", "b", "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z"),
    };
    char *s = build(ev, 2, NULL, NULL);
    has(s, "DTSTART:20260329T020000\r\n");
    has(s, "DTSTART:20400325T020000\r\n");
    has(s, "DTSTART:20401028T030000\r\n");
    /* Years no event is near are not described. */
    lacks(s, "DTSTART:2033");
    free(s);
}

static void other_zones(void **state)
{
    (void)state;
    struct ical_event ev = event("u@h", "x", "2026-06-01T15:00:00Z", "2026-06-01T16:00:00Z");
    char *s;

    assert_int_equal(zone("America/New_York"), 0);
    s = build(&ev, 1, NULL, NULL);
    has(s, "TZID:America/New_York\r\n");
    has(s, "DTSTART:20260308T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT");
    has(s, "DTSTART:20261101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST");
    has(s, "DTSTART;TZID=America/New_York:20260601T110000\r\n");
    free(s);

    /* No change in the window: a single STANDARD observance. */
    assert_int_equal(zone("Asia/Tokyo"), 0);
    s = build(&ev, 1, NULL, NULL);
    has(s, "TZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:20250101T090000\r\n"
           "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST\r\nEND:STANDARD\r\n"
           "END:VTIMEZONE\r\n");
    has(s, "DTSTART;TZID=Asia/Tokyo:20260602T000000\r\n");
    free(s);

    /* Brazil dropped DST in 2019: its last change is described, and events
     * before it are covered by the opening observance. */
    assert_int_equal(zone("America/Sao_Paulo"), 0);
    ev = event("u@h", "x", "2019-01-10T15:00:00Z", "2019-01-10T16:00:00Z");
    s = build(&ev, 1, NULL, NULL);
    has(s, "DTSTART:20190217T000000\r\nTZOFFSETFROM:-0200\r\nTZOFFSETTO:-0300\r\n");
    has(s, "DTSTART;TZID=America/Sao_Paulo:20190110T130000\r\n");
    assert_int_equal(count(s, "TZOFFSETTO:-0300"), 2); /* Feb 2018, Feb 2019 */
    lacks(s, "DTSTART:2019110");                        /* no Nov 2019 DST */
    free(s);
    assert_int_equal(zone("Europe/Paris"), 0);
}

static void utc_zone(void **state)
{
    (void)state;
    struct ical_event ev = event("u@h", "x", "2026-06-01T15:00:00Z", "2026-06-01T16:00:00Z");
    char *s;
    assert_int_equal(zone("UTC"), 0);
    s = build(&ev, 1, NULL, NULL);
    has(s, "X-WR-TIMEZONE:UTC\r\nBEGIN:VTIMEZONE\r\nTZID:UTC\r\nBEGIN:STANDARD\r\n"
           "DTSTART:20250101T000000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\n"
           "TZNAME:UTC\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n");
    lacks(s, "DAYLIGHT");
    has(s, "DTSTART;TZID=UTC:20260601T150000\r\nDTEND;TZID=UTC:20260601T160000\r\n");
    free(s);
    assert_int_equal(zone("Europe/Paris"), 0);
}

static void escaping(void **state)
{
    (void)state;
    struct ical_event ev = event("id;1,x@h", "Atelier; CV, lettre\\motivation\nsuite",
                                 "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
    ev.description = "ligne 1\r\nligne 2\rligne 3\x01\x7f\tfin";
    ev.location = "Salle \"A\": 1er étage";
    char *s = build(&ev, 1, NULL, "Ateliers, Nord; \\test");
    has(s, "UID:id\\;1\\,x@h\r\n");
    has(s, "SUMMARY:Atelier\\; CV\\, lettre\\\\motivation\\nsuite\r\n");
    has(s, "DESCRIPTION:ligne 1\\nligne 2\\nligne 3\tfin\r\n");
    has(s, "LOCATION:Salle \"A\": 1er étage\r\n");
    has(s, "X-WR-CALNAME:Ateliers\\, Nord\\; \\\\test\r\n");
    free(s);
}

/* A long summary in 2-, 3- and 4-octet characters, offset by 0–3 ASCII
 * characters so the 75-octet limit falls inside a character each way. */
static void folding(void **state)
{
    (void)state;
    const char *chars[] = {"é", "€", "😀", "a"};
    for (size_t c = 0; c < 4; c++) {
        for (size_t shift = 0; shift < 4; shift++) {
            char summary[1024] = "";
            char expected[1100];
            char *s, *u;
            struct ical_event ev;
            for (size_t i = 0; i < shift; i++)
                strcat(summary, "x");
            for (int i = 0; i < 100; i++)
                strcat(summary, chars[c]);
            ev = event("u@h", summary, "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
            s = build(&ev, 1, NULL, NULL); /* checks ≤ 75 octets and UTF-8 */
            assert_true(count(s, "\r\n ") >= (strlen(summary) + 8) / 75);
            u = unfold(s);
            snprintf(expected, sizeof expected, "\r\nSUMMARY:%s\r\n", summary);
            has(u, expected);
            free(u);
            free(s);
        }
    }
}

static void exact_fold_boundary(void **state)
{
    (void)state;
    /* "SUMMARY:" + 67 octets = 75: fits on one line; one more folds. */
    char summary[80];
    char *s;
    struct ical_event ev;
    memset(summary, 'a', 67);
    summary[67] = '\0';
    ev = event("u@h", summary, "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
    s = build(&ev, 1, NULL, NULL);
    assert_int_equal(count(s, "\r\n "), 0);
    free(s);
    summary[67] = 'b';
    summary[68] = '\0';
    s = build(&ev, 1, NULL, NULL);
    has(s, "aaaa\r\n b\r\nSEQUENCE");
    free(s);
}

static void cancel(void **state)
{
    (void)state;
    struct ical_event ev = event("session-9@relais.test", "Atelier", "2026-06-01T10:00:00Z",
                                 "2026-06-01T11:00:00Z");
    char *s;
    ev.cancelled = 1;
    ev.sequence = 3;
    s = build(&ev, 1, "CANCEL", NULL);
    has(s, "CALSCALE:GREGORIAN\r\nMETHOD:CANCEL\r\nX-WR-TIMEZONE");
    has(s, "SEQUENCE:3\r\nSTATUS:CANCELLED\r\nEND:VEVENT");
    lacks(s, "CONFIRMED");
    free(s);
    ev.cancelled = 0;
    s = build(&ev, 1, "REQUEST", NULL);
    has(s, "METHOD:REQUEST\r\n");
    has(s, "STATUS:CONFIRMED\r\n");
    free(s);
}

static void invitation_people(void **state)
{
    (void)state;
    struct ical_event ev = event("session-9@relais.test", "Atelier", "2026-06-01T10:00:00Z",
                                 "2026-06-01T11:00:00Z");
    char *s;
    ev.organizer = "relais@ville.example";
    ev.organizer_name = "Relais \"Chambéry\"";   /* quotes cannot stand in a CN */
    ev.attendee = "ana@example.org";
    ev.attendee_name = "Ana";
    s = build(&ev, 1, "REQUEST", NULL);
    {   /* long lines are folded: unfold (drop CRLF + space) before looking */
        char *w = s, *r = s;
        while (*r) {
            if (r[0] == '\r' && r[1] == '\n' && r[2] == ' ')
                r += 3;
            else
                *w++ = *r++;
        }
        *w = '\0';
    }
    has(s, "ORGANIZER;CN=\"Relais Chambéry\":mailto:relais@ville.example\r\n");
    has(s, "ATTENDEE;CN=\"Ana\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:"
           "ana@example.org\r\n");
    free(s);
    /* an address that would break the line or the URI is left out */
    ev.attendee = "ana@example.org\r\nX-EVIL:1";
    ev.organizer = NULL;
    s = build(&ev, 1, "REQUEST", NULL);
    lacks(s, "ATTENDEE");
    lacks(s, "ORGANIZER");
    lacks(s, "X-EVIL");
    free(s);
}

static void uid_host(void **state)
{
    char h[64];
    (void)state;
    ical_uid_host("https://relais.example.org:8443/app?x=1", h, sizeof h);
    assert_string_equal(h, "relais.example.org");
    ical_uid_host("http://user:pw@10.0.0.1/", h, sizeof h);
    assert_string_equal(h, "10.0.0.1");
    ical_uid_host("http://[::1]:8080", h, sizeof h);
    assert_string_equal(h, "[::1]");
    ical_uid_host("http://", h, sizeof h);
    assert_string_equal(h, "localhost");
    ical_uid_host(NULL, h, sizeof h);
    assert_string_equal(h, "localhost");
    ical_uid_host("http://a-very-long-host-name.example", h, 8);
    assert_string_equal(h, "a-very-");
}

static void edge_inputs(void **state)
{
    (void)state;
    struct ical_event ev = event("u@h", NULL, "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
    size_t len = 99;
    char *s;
    /* No event: still a valid calendar. */
    rt_set_now(at("2026-06-01T00:00:00Z"));
    s = build(NULL, 0, NULL, NULL);
    lacks(s, "VEVENT");
    has(s, "DTSTART:20260329T020000\r\n");
    free(s);
    rt_set_now(RT_NONE);
    /* A NULL summary is an empty one (RFC 5546 allows that). */
    s = build(&ev, 1, NULL, NULL);
    has(s, "\r\nSUMMARY:\r\n");
    lacks(s, "DESCRIPTION");
    lacks(s, "LOCATION");
    free(s);
    /* METHOD is a protocol word: anything else is refused, not injected. */
    assert_null(ical_build(&ev, 1, "REQUEST\r\nX-EVIL:1", NULL, &len));
    assert_int_equal(len, 0);
    assert_null(ical_build(&ev, 1, "", NULL, NULL));
    assert_null(ical_build(NULL, 1, NULL, NULL, NULL));
}

/* A venue's LOCATION, as the feed and the invitations both write it. */
static void location(void **state)
{
    int oom = 0;
    char *l;

    (void)state;
    l = ical_location("Centre social", "3 rue Louise Michel", "Chambéry", &oom);
    assert_string_equal(l, "Centre social, 3 rue Louise Michel, Chambéry");
    free(l);
    l = ical_location(NULL, "", "Cognin", &oom);
    assert_string_equal(l, "Cognin");
    free(l);
    assert_null(ical_location(NULL, "", NULL, &oom));
    assert_int_equal(oom, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(structure),
        cmocka_unit_test(paris_vtimezone),
        cmocka_unit_test(far_apart_events),
        cmocka_unit_test(other_zones),
        cmocka_unit_test(utc_zone),
        cmocka_unit_test(escaping),
        cmocka_unit_test(folding),
        cmocka_unit_test(exact_fold_boundary),
        cmocka_unit_test(cancel),
        cmocka_unit_test(invitation_people),
        cmocka_unit_test(uid_host),
        cmocka_unit_test(edge_inputs),
        cmocka_unit_test(location),
    };
    return cmocka_run_group_tests(tests, paris, NULL);
}
