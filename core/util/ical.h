/* ical — RFC 5545 calendars: the sessions feed and (later) email invitations.
 *
 * Output uses CRLF line ends, folds lines at 75 octets without splitting a
 * UTF-8 sequence, escapes TEXT values, and gives local times with TZID plus a
 * VTIMEZONE for the configured zone, computed from tzdata over the years the
 * events span (so it is right for any zone, not only Europe/Paris).
 * Ownership: ical_build() returns a malloc'd NUL-terminated string.
 */
#ifndef RELAIS_ICAL_H
#define RELAIS_ICAL_H

#include <stddef.h>
#include <stdint.h>

struct ical_event {
    const char *uid;          /* globally unique, e.g. "session-12@host" */
    const char *summary;
    const char *description;  /* may be NULL */
    const char *location;     /* may be NULL */
    int64_t starts_at, ends_at;
    int64_t stamp;            /* DTSTAMP (last change) */
    int sequence;
    int cancelled;            /* STATUS:CANCELLED, else CONFIRMED */
    /* An invitation (METHOD:REQUEST/CANCEL) names who sends it and to whom
     * (RFC 5546 §3.2): plain addresses, no "mailto:"; NULL leaves the line
     * out, as a feed does. Names may be NULL. */
    const char *organizer, *organizer_name;
    const char *attendee, *attendee_name;
};

/* METHOD may be NULL (a feed), "REQUEST" or "CANCEL". Returns NULL on OOM. */
char *ical_build(const struct ical_event *ev, size_t n, const char *method,
                 const char *calname, size_t *len);

/* The host part of a public URL ("https://relais.example:8443/x" →
 * "relais.example"), used in every event UID ("session-ID@HOST") so that the
 * feed and the email invitations name the same event the same way; the
 * port and path are left out because they may change with the deployment.
 * "localhost" when the URL has none. OUT gets at most N−1 bytes. */
void ical_uid_host(const char *url, char *out, size_t n);

/* The LOCATION of a venue: "A, B, C" of the non-empty of A, B and C (its
 * name, address and commune), malloc'd; NULL when all are empty, or out of
 * memory (then *OOM is set). The feed and the invitations say it alike. */
char *ical_location(const char *a, const char *b, const char *c, int *oom);

#endif
