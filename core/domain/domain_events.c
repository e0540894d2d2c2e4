/* domain_events — the registry of the domain's observers (see
 * core/domain/domain_events.h). A handful of observers, registered at
 * start: a fixed array, called in order. */
#include "domain_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define NAME_MAX_LEN 32
#define DEPTH_MAX    4    /* an observer's work that emits again, and so on */

static const struct {
    const char *name, *verb;
} kinds[DOMAIN_EVENT_MAX] = {
    [DOMAIN_SESSION_CREATED] = {"session.created", "created"},
    [DOMAIN_SESSION_UPDATED] = {"session.updated", "updated"},
    [DOMAIN_SESSION_MOVED] = {"session.moved", "moved"},
    [DOMAIN_SESSION_VENUE] = {"session.venue", "venue"},
    [DOMAIN_SESSION_CANCELLED] = {"session.cancelled", "cancelled"},
    [DOMAIN_ENROLLMENT_BOOKED] = {"enrollment.booked", "booked"},
    [DOMAIN_ENROLLMENT_WAITLISTED] = {"enrollment.waitlisted", "waitlisted"},
    [DOMAIN_ENROLLMENT_PROMOTED] = {"enrollment.promoted", "promoted"},
    [DOMAIN_ENROLLMENT_CANCELLED] = {"enrollment.cancelled", "cancelled"},
    [DOMAIN_ENROLLMENT_ATTENDED] = {"enrollment.attended", "attended"},
    [DOMAIN_ENROLLMENT_ABSENT] = {"enrollment.absent", "absent"},
    [DOMAIN_ENROLLMENT_EXCUSED] = {"enrollment.excused", "excused"},
    [DOMAIN_BENEFICIARY_ERASED] = {"beneficiary.erased", "erased"},
    [DOMAIN_CONSENT_WITHDRAWN] = {"beneficiary.consent_withdrawn", "consent_withdrawn"},
};

struct observer {
    char name[NAME_MAX_LEN];
    domain_observer_fn fn;
    void *arg;
};

struct domain_events {
    struct observer obs[DOMAIN_OBSERVERS_MAX];
    size_t n;
    int depth;
};

const char *domain_event_name(enum domain_event_kind k)
{
    return (unsigned)k < DOMAIN_EVENT_MAX ? kinds[k].name : NULL;
}

const char *domain_event_verb(enum domain_event_kind k)
{
    return (unsigned)k < DOMAIN_EVENT_MAX ? kinds[k].verb : NULL;
}

int domain_event_kind_of(enum domain_event_kind first, const char *verb)
{
    /* The subject is the part of the name before the dot: the kinds of one
     * subject follow each other in the enum. */
    const char *subject = kinds[first].name;
    size_t len = (size_t)(strchr(subject, '.') - subject);

    for (int k = (int)first; verb && k < DOMAIN_EVENT_MAX; k++) {
        if (strncmp(kinds[k].name, subject, len) != 0 || kinds[k].name[len] != '.')
            break;
        if (strcmp(kinds[k].verb, verb) == 0)
            return k;
    }
    return -1;
}

int domain_events_new(struct domain_events **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -1;
}

void domain_events_free(struct domain_events *ev)
{
    free(ev);
}

int domain_events_observe(struct domain_events *ev, const char *name, domain_observer_fn fn,
                          void *arg)
{
    struct observer *o;

    if (!ev || !fn || ev->n == DOMAIN_OBSERVERS_MAX)
        return -1;
    o = &ev->obs[ev->n++];
    snprintf(o->name, sizeof o->name, "%s", name ? name : "observer");
    o->fn = fn;
    o->arg = arg;
    return 0;
}

void domain_events_unobserve(struct domain_events *ev, domain_observer_fn fn, void *arg)
{
    for (size_t i = 0; ev && i < ev->n; i++) {
        if (ev->obs[i].fn == fn && ev->obs[i].arg == arg) {
            memmove(&ev->obs[i], &ev->obs[i + 1], (ev->n - i - 1) * sizeof ev->obs[0]);
            ev->n--;
            return;
        }
    }
}

int domain_events_emit(struct domain_events *ev, const struct domain_event *e, char *why,
                       size_t n)
{
    char reason[200];
    int rc = 0;

    if (why && n)
        why[0] = '\0';
    if (!ev || !e)
        return 0;
    if (ev->depth >= DEPTH_MAX) {
        /* A loop of observers whose work causes the event again: refusing
         * is the only safe answer, and the change is given up. */
        log_error("events", "%s refused: events nested %d deep", domain_event_name(e->kind),
                  ev->depth);
        if (why && n)
            snprintf(why, n, "events nested %d deep", ev->depth);
        return -1;
    }
    ev->depth++;
    /* Indexes, not pointers: an observer may unregister another meanwhile. */
    for (size_t i = 0; i < ev->n; i++) {
        const struct observer *o = &ev->obs[i];

        reason[0] = '\0';
        if (o->fn(o->arg, e, reason, sizeof reason) == 0)
            continue;
        if (!reason[0])
            snprintf(reason, sizeof reason, "refused");
        log_warn("events", "%s %lld vetoed by %s: %s", domain_event_name(e->kind),
                 (long long)e->id, o->name, reason);
        if (why && n)
            snprintf(why, n, "%s: %s", o->name, reason);
        rc = -1;
        break;
    }
    ev->depth--;
    return rc;
}
