/* outbox — notifications: what to send, when, and making sure it is sent
 * exactly once as far as any gateway that honours idempotency keys can tell.
 *
 * Rules:
 * - Rows are written inside the transaction of the change that causes
 *   them: the outbox observes the domain's events (core/domain/domain_events.h)
 *   from outbox_new to outbox_free, so a change and its notifications
 *   commit or vanish together, and a failure to write them vetoes the
 *   change. A session
 *   change concerning many people writes a durable fan-out job instead,
 *   in the same transaction, which the dispatcher expands into the rows in
 *   bounded batches (outbox_fanout.c): the loop is never held for long.
 * - At most one row per (enrollment, kind, offset key, channel, start time)
 *   (UNIQUE index): a retry, a restart or a repeated event never makes a
 *   second one. The offset key is the reminder offset in seconds, the
 *   session_changes id for a change, 0 otherwise; the start time is the
 *   session's starts_at the message is about, so moving a session yields
 *   fresh reminders for the new time.
 * - Each row has a stable idem_key ("n<id>-<channel>-<hex>") sent as the
 *   Idempotency-Key of every gateway request for it, across retries and
 *   restarts.
 * - The database is the queue: one timer armed for the next due row (at
 *   most 60 s ahead, which also heals wall-clock jumps). Rows go
 *   pending → sending → sent (→ delivered | failed by gateway callback), or
 *   back to pending with exponential backoff and jitter on a transient
 *   error, or failed on a permanent one / after OUTBOX_MAX_ATTEMPTS. Rows
 *   still 'sending' at start-up are retried with the same key.
 * - Consent and address are checked when the row is made and again when it
 *   is sent: without them the row is 'suppressed'. Quiet hours and the skip
 *   rules of the contract are applied in local time (outbox_schedule).
 * - Channels are served by senders registered by plugins; a concurrency
 *   limit per channel bounds the transfers in flight.
 */
#ifndef RELAIS_OUTBOX_H
#define RELAIS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct config;
struct event_base;
struct cJSON;
struct http_server;

#define OUTBOX_MAX_ATTEMPTS 8      /* default of config retry.attempts */
#define OUTBOX_CONCURRENCY  32     /* per channel */

enum outbox_kind {
    OUTBOX_CONFIRMATION = 0, OUTBOX_REMINDER, OUTBOX_CHANGE, OUTBOX_CANCELLATION,
    OUTBOX_PROMOTED, OUTBOX_SURVEY, OUTBOX_WAITLISTED, OUTBOX_KIND_MAX
};
const char *outbox_kind_name(enum outbox_kind k);

/* --- scheduling (pure; unit-tested) --------------------------------- */
struct outbox_rules {
    int quiet_enabled;
    int quiet_from_min, quiet_to_min;   /* local minutes; from > to wraps midnight */
    int confirmation;                   /* reminders.confirmation */
    const int64_t *before; size_t nbefore; /* reminder offsets, seconds */
    int64_t survey_after;
    /* config retry: first delay, cap, attempts in all (0: the defaults) */
    int64_t retry_first, retry_max;
    int max_attempts;
};
/* When a message of KIND, wanted at WANT (for a reminder: starts_at − offset;
 * otherwise the moment of the change), should go, given the session's
 * STARTS_AT and the enrollment's CREATED_AT. Returns 1 and sets *DUE, or 0
 * when the contract says to skip it. Quiet hours: a reminder moves earlier to
 * the end of the allowed period before it (skipped if that is before
 * CREATED_AT); confirmation/promoted/waitlisted wait for the end of the quiet hours and
 * are skipped if the session starts before then; survey waits; change and
 * cancellation wait, or go at once when the session starts before the quiet
 * hours end. Nothing but a survey is sent about a session already started
 * (NOW ≥ STARTS_AT). */
int outbox_schedule(const struct outbox_rules *r, enum outbox_kind kind, int64_t now,
                    int64_t want, int64_t starts_at, int64_t created_at, int64_t *due);
/* 1 when local time T is inside the quiet hours. */
int outbox_in_quiet(const struct outbox_rules *r, int64_t t);
/* Delay before attempt ATTEMPTS+1 (ATTEMPTS ≥ 1 made so far): 30 s × 2^(n−1),
 * capped at 1 h, with ±20 % jitter from RND in [0, 1). */
int64_t outbox_backoff(int attempts, double rnd);
/* The same from FIRST seconds doubling up to MAX (config retry). */
int64_t outbox_backoff_from(int64_t first, int64_t max, int attempts, double rnd);

/* --- the queue -------------------------------------------------------- */
struct outbox;

/* Creates the dispatcher on BASE; rules come from CFG (copied). Until
 * outbox_free it observes the domain's events on the registry ST carries
 * (store_events; none: no rows are made for the domain's changes), and its
 * series are part of /metrics. 0 or -1. */
int outbox_new(struct event_base *base, struct store *st, const struct config *cfg,
               struct outbox **out);
/* Stops dispatching; rows in flight stay 'sending' and are retried at the
 * next start (same key). */
void outbox_free(struct outbox *ob);
/* Re-reads the rules (SIGHUP). */
void outbox_reconfigure(struct outbox *ob, const struct config *cfg);
/* Routes: GET /api/v1/enrollments/{id}/notifications. 0 or -1. */
int outbox_register(struct http_server *hs);

/* What a sender reports. */
enum outbox_status { OUTBOX_SENT = 0, OUTBOX_RETRY, OUTBOX_FAILED };
struct outbox_result {
    enum outbox_status status;
    const char *provider_id;   /* gateway's id (Twilio sid…), may be NULL */
    int segments;              /* SMS parts, 0 for email */
    const char *error;         /* reason (RETRY/FAILED), no personal data */
};
/* A message handed to a sender. DATA is a JSON object with everything the
 * plugin needs to write it (see plugins/API.md, "channel"): kind,
 * channel, to, idem_key, first_name, session {title, kind, starts_at,
 * ends_at, when (French local text), venue {name, address, commune},
 * online, sequence, status}, link, survey_link (survey only), and for
 * email an "ics" invitation (REQUEST, or CANCEL for a cancellation). Valid
 * only during the call. */
struct outbox_msg {
    int64_t id;
    const char *channel;
    const struct cJSON *data;
};
typedef void (*outbox_done_fn)(void *token, const struct outbox_result *res);
/* A sender starts sending M and calls DONE(TOKEN, …) exactly once, later or
 * right away. It returns 0, or -1 when it could not start (treated as RETRY). */
typedef int (*outbox_sender_fn)(void *arg, const struct outbox_msg *m,
                                outbox_done_fn done, void *token);
/* Registers (or with FN NULL removes) the sender of CHANNEL ("sms",
 * "email"). Rows of a channel without a sender wait. 0 or -1. */
int outbox_set_sender(struct outbox *ob, const char *channel, outbox_sender_fn fn, void *arg);

/* Hands DATA (a message shaped as struct outbox_msg's data: kind, channel,
 * to, idem_key, …) to CHANNEL's sender now, with ID, outside the queue: no
 * row, no retry (core/notify/outbox_direct.c). 0 when the sender took it (DONE is
 * then called exactly once, maybe before this returns), -1 when the channel
 * has no sender or it could not start (DONE is never called). */
int outbox_send_direct(struct outbox *ob, const char *channel, int64_t id,
                       const struct cJSON *data, outbox_done_fn done, void *token);

/* --- the domain's events, inside their transaction ---------------------- */
/* What the outbox does when it observes them (core/notify/outbox.c, ob_observe):
 * enrollment and session events make or void rows (below), an erasure or a
 * withdrawn consent suppresses them (outbox_suppress); an error vetoes the
 * change. */
/* An enrollment event (KIND its verb, as recorded in enrollment_events):
 * "booked" → confirmation + reminders; "promoted" → promoted + reminders;
 * "waitlisted" → waitlisted (the person is told they wait for a place);
 * "cancelled" → pending rows of the enrollment cancelled; "attended" →
 * survey. Others: nothing. 0 or -1. */
int outbox_on_enrollment_event(struct outbox *ob, int64_t enrollment_id, const char *kind);
/* A session change (CHANGE_ID its session_changes row, KIND its verb):
 * "moved"/"venue" → change to everyone booked, reminders
 * recomputed; "cancelled" → cancellation to everyone booked, pending rows
 * cancelled. Up to a few dozen people are told inside the caller's
 * transaction; for more, a fan-out job is written instead and the rows are
 * made in batches by the dispatcher (outbox_fanout.c). 0 or -1. */
int outbox_on_session_change(struct outbox *ob, int64_t session_id, int64_t change_id,
                             const char *kind);
/* A beneficiary erased, or SMS consent withdrawn (CHANNEL "sms"; NULL = all):
 * pending rows become 'suppressed'. 0 or -1. */
int outbox_suppress(struct store *st, int64_t beneficiary_id, const char *channel);
/* A gateway's delivery report: the row with PROVIDER_ID on CHANNEL becomes
 * "delivered" or "failed" (with ERROR). Returns 1 updated, 0 unknown id or
 * already final, -1 error. */
int outbox_report(struct store *st, const char *channel, const char *provider_id,
                  const char *status, const char *error);

#endif
