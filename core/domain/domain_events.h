/* domain_events — what the domain tells the rest of Relais about its changes,
 * and who listens. This header is what the domain exports to the modules
 * that build on it (the notification outbox, the plugin host): they include
 * it, and core/domain/domain_access.h for their routes, never core/domain/domain.h.
 *
 * Rules:
 * - The domain emits an event inside the transaction of the change that
 *   causes it, once the change is written (domain_record_* in
 *   core/domain/domain_util.c, the erasure and the consent of core/domain/beneficiaries_rights.c).
 * - Every observer registered is called at once, in the order of
 *   registration, inside that transaction: what it writes commits or
 *   vanishes with the change. An observer returns 0, or -1 to veto: the
 *   observers after it are not called, the emit returns -1 with WHY naming
 *   the observer and its reason (never personal data), and the caller gives
 *   the change up, which rolls the transaction back (an HTTP handler
 *   answers ≥ 400; other callers roll back themselves).
 * - Observers never wait: they write rows, or run plugin hooks that may not
 *   yield. Work that must follow the commit (sending a message, a fan-out
 *   too big for one request) is scheduled by the observer on the event loop,
 *   which runs it only after the current callback, and so its transaction,
 *   is over. docs/architecture.md, "Domain events", says who observes what.
 * - The registry belongs to whoever assembles the app (main.c, a test) and
 *   is reached from the store (store_events): no global. A store without a
 *   registry records events that nobody hears (the CLI, some tests).
 * - Single-threaded, like the store it is reached from.
 */
#ifndef RELAIS_DOMAIN_EVENTS_H
#define RELAIS_DOMAIN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum domain_event_kind {
    DOMAIN_SESSION_CREATED = 0,
    DOMAIN_SESSION_UPDATED,       /* a field other than the time or the venue */
    DOMAIN_SESSION_MOVED,         /* its start or end */
    DOMAIN_SESSION_VENUE,         /* its venue */
    DOMAIN_SESSION_CANCELLED,
    DOMAIN_ENROLLMENT_BOOKED,
    DOMAIN_ENROLLMENT_WAITLISTED,
    DOMAIN_ENROLLMENT_PROMOTED,   /* booked from the waitlist */
    DOMAIN_ENROLLMENT_CANCELLED,
    DOMAIN_ENROLLMENT_ATTENDED,
    DOMAIN_ENROLLMENT_ABSENT,
    DOMAIN_ENROLLMENT_EXCUSED,
    DOMAIN_BENEFICIARY_ERASED,    /* right to erasure: personal fields wiped */
    DOMAIN_CONSENT_WITHDRAWN,     /* a beneficiary withdrew consent on CHANNEL */
    DOMAIN_EVENT_MAX
};

struct domain_event {
    enum domain_event_kind kind;
    struct store *st;         /* whose transaction is open: write there */
    int64_t id;               /* the session, enrollment or beneficiary */
    int64_t change_id;        /* session events: their session_changes row */
    const char *channel;      /* DOMAIN_CONSENT_WITHDRAWN: "sms" or "email" */
    int64_t token_id;         /* the API token acting, 0 when none */
};

/* "session.moved", "enrollment.booked", "beneficiary.erased"…: the name a
 * log line or a plugin hook knows the event by. NULL for no kind. */
const char *domain_event_name(enum domain_event_kind k);
/* The word after the dot ("moved", "booked"): the kind column of the
 * history tables (session_changes, enrollment_events). */
const char *domain_event_verb(enum domain_event_kind k);
/* The kind of session change (FIRST = DOMAIN_SESSION_CREATED) or of
 * enrollment event (FIRST = DOMAIN_ENROLLMENT_BOOKED) whose verb is VERB,
 * or -1. */
int domain_event_kind_of(enum domain_event_kind first, const char *verb);

/* An observer: 0 to let the change be, -1 to veto it with a reason written
 * into WHY (N bytes, never personal data). */
typedef int (*domain_observer_fn)(void *arg, const struct domain_event *ev, char *why,
                                  size_t n);

struct domain_events;

#define DOMAIN_OBSERVERS_MAX 8

/* 0, or -1 out of memory. Free with domain_events_free (NULL is fine). */
int domain_events_new(struct domain_events **out);
void domain_events_free(struct domain_events *ev);
/* Adds observer FN(ARG), known as NAME (copied; a log line and a veto name
 * it), after the others. 0, or -1 when DOMAIN_OBSERVERS_MAX are there. */
int domain_events_observe(struct domain_events *ev, const char *name, domain_observer_fn fn,
                          void *arg);
/* Removes observer FN(ARG) (before ARG is freed); absent is fine. */
void domain_events_unobserve(struct domain_events *ev, domain_observer_fn fn, void *arg);
/* Calls the observers of EV (NULL: none) with E. 0 when none vetoed, else
 * -1 with WHY ("OBSERVER: reason") filled. WHY may be NULL (N 0). An emit
 * from inside an observer nests up to a few levels, then is refused. */
int domain_events_emit(struct domain_events *ev, const struct domain_event *e, char *why,
                       size_t n);

#endif
