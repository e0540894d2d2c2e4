/* outbox_internal — what the outbox files share (outbox_schedule.c,
 * outbox.c, outbox_message.c, outbox_claim.c, outbox_dispatch.c,
 * outbox_config.c, outbox_fanout.c, outbox_api.c). Not a module contract:
 * other modules go through core/notify/outbox.h.
 *
 * A notification row and what is needed to decide on it (its enrollment,
 * beneficiary and session) are read together into a struct ob_ctx;
 * ob_ctx_clear() frees its strings.
 */
#ifndef RELAIS_OUTBOX_INTERNAL_H
#define RELAIS_OUTBOX_INTERNAL_H

#include <stdint.h>
#include <cJSON.h>

#include "outbox.h"

struct event;

enum { OB_SMS = 0, OB_EMAIL = 1, OB_NCHANNELS = 2 };
/* "sms", "email", indexed by the enum above. */
extern const char *const outbox_channel_names[OB_NCHANNELS];
/* OB_* for NAME, or -1. */
int outbox_channel_index(const char *name);
/* OUTBOX_* for NAME ("reminder"), or -1. */
int outbox_kind_index(const char *name);

#define OUTBOX_BATCH  64    /* rows claimed per timer run (at most) */
#define OUTBOX_POLL   60    /* seconds: the longest the timer sleeps */
#define OUTBOX_LEASE  300   /* seconds a sender may take before it counts as a retry */
/* Seconds a row may be late and still go inside the quiet hours: a backlog
 * at their start must not push the reminders due then to the morning. */
#define OUTBOX_QUIET_GRACE 300
#define OUTBOX_HOST_MAX 256
/* Milliseconds of fan-out (session changes into rows) per turn of the loop. */
#define OUTBOX_FANOUT_MS 8

struct outbox_job;

/* What became of a row that left the queue (relais_notification_sends_total). */
enum { OB_RESULT_SENT = 0, OB_RESULT_RETRY, OB_RESULT_FAILED, OB_RESULT_SUPPRESSED,
       OB_RESULT_CANCELLED, OB_NRESULTS };

struct outbox {
    struct event_base *base;
    struct store *st;
    struct outbox_rules rules;     /* rules.before points into BEFORE */
    int64_t *before;
    char *public_url;              /* no trailing slash */
    char host[OUTBOX_HOST_MAX];    /* of public_url, for iCalendar UIDs */
    char *org_addr, *org_name;     /* invitations' ORGANIZER: email.from */
    struct event *timer;           /* the dispatch timer, at the loop's lowest priority */
    struct event *nudge;           /* the same at the default priority, a little later */
    struct {
        outbox_sender_fn fn;
        void *arg;
        int inflight;
    } senders[OB_NCHANNELS];
    struct outbox_job *jobs;       /* in flight (doubly linked) */
    int fanout;                    /* fan-out jobs may be waiting (outbox_fanout.c) */
    int after_fanout;              /* this turn sends: the last one expanded */
    int answers;                   /* answers kept on jobs, not yet written */
    uint64_t rng;
    /* Counted since this outbox started, as Prometheus counters are. */
    uint64_t sends[OB_NCHANNELS][OB_NRESULTS];
};

/* Runs the dispatcher at the next turn of the loop, after the current
 * callback (and so the transaction it runs in) is over. */
void outbox_kick(struct outbox *ob);
/* Uniform in [0, 1), for the backoff jitter (not for secrets). */
double outbox_random(struct outbox *ob);
/* The rules and addresses of CFG into OB, replacing what it had
 * (outbox_config.c). 0, or -1 out of memory with OB unchanged. */
int outbox_apply_config(struct outbox *ob, const struct config *cfg);

/* --- schedule helpers (outbox_schedule.c) ---------------------------------- */
/* For T inside the quiet hours: the first moment after them. */
int64_t outbox_quiet_end(const struct outbox_rules *r, int64_t t);

/* --- one row in context (outbox.c) ----------------------------------------- */
struct ob_ctx {
    /* the notification (0 / -1 when only the enrollment was loaded) */
    int64_t id, offset_key, target_start;
    int kind, channel, attempts;
    char *idem_key;
    /* the enrollment */
    int64_t enrollment_id, parent_enrollment_id, created_at, slot_start; /* RT_NONE: none */
    char e_status[16];
    /* the beneficiary */
    int64_t beneficiary_id;
    char *first_name, *phone, *email;
    int consent_sms, consent_email, erased;
    /* the session */
    int64_t session_id, s_parent_id, starts_at, ends_at, sequence, updated_at, slot_minutes;
    char s_kind[16];
    char *title, *theme;
    int cancelled, online;
    char *venue_name, *venue_address, *venue_commune;
};
/* Loads enrollment EID with its beneficiary and session. 1, 0 (no such
 * enrollment), -1. */
int ob_ctx_load(struct store *st, int64_t eid, struct ob_ctx *c);
void ob_ctx_clear(struct ob_ctx *c);
/* The start and end the person comes at: their permanence slot when they
 * have one, else the session's. */
int64_t ob_ctx_start(const struct ob_ctx *c);
int64_t ob_ctx_end(const struct ob_ctx *c);
/* 1 when CHANNEL may be used for the person (consent, address), else 0 with
 * *WHY set to a static reason without personal data. */
int ob_channel_allowed(const struct ob_ctx *c, int channel, const char **why);

/* --- making rows (outbox.c) ----------------------------------------------- */
/* Pending rows matched by SQL (?1 = ARG, ?2 = WHY, ?3 = NOW) become
 * cancelled with WHY. 0 or -1. */
int ob_cancel_pending(struct store *st, const char *sql, int64_t arg, const char *why,
                      int64_t now);
/* What a session change does to booked enrollment EID: message KIND (with
 * OFFSET_KEY, the change id) when MESSAGE, reminders voided and made again
 * for the time it is now when REMINDERS. *KICK is set when a pending row was
 * made. 0 or -1. */
int ob_on_booked(struct outbox *ob, struct store *st, int64_t eid, int message,
                 enum outbox_kind kind, int64_t offset_key, int reminders, int64_t now,
                 int *kick);

/* The observer of the domain's events (outbox.c), ARG the outbox; see
 * outbox.h. -1 (a veto, WHY set) when the rows could not be written. */
struct domain_event;
int ob_observe(void *arg, const struct domain_event *ev, char *why, size_t n);

/* --- fan-out of a session change (outbox_fanout.c) -------------------------- */
/* Expands the oldest fan-out jobs into notification rows, in transactions of
 * a bounded number of enrollments, for at most about BUDGET_MS. Must run
 * outside any transaction. 1 when some remain, 0 when none, -1 on error
 * (nothing of the failed batch is kept: it runs again). */
int ob_fanout_run(struct outbox *ob, int64_t budget_ms);

/* --- the message (outbox_message.c) ---------------------------------------- */
/* The DATA object of struct outbox_msg for row C (see outbox.h). Records the
 * link tokens, so it runs inside a transaction. NULL on failure (logged). */
cJSON *ob_message_build(struct outbox *ob, const struct ob_ctx *c);

/* --- series booked at once (outbox_batch.c) -------------------------------- */
/* 1 when enrollment EID is part of a batch (one request for a whole series)
 * whose message is carried by an earlier enrollment of the same status
 * about a session not started at NOW; 0 when EID sends its own; -1. */
int ob_batch_follower(struct store *st, int64_t eid, int64_t now);
/* Adds "series": {"count", "dates": ["mar. 3 déc. à 14h00", …]} to DATA
 * when C (a confirmation or waitlist row) stands for several dates of its
 * batch. 0 or -1. */
int ob_batch_add(struct outbox *ob, const struct ob_ctx *c, cJSON *data);

/* --- claiming (outbox_claim.c) --------------------------------------------------- */
/* One claimed row; idem_key and data are owned. */
struct claim {
    int64_t id, enrollment_id, offset_key, target_start, due_at;
    int kind, channel, attempts;
    char *idem_key;
    cJSON *data;      /* the message, when it goes */
    int broken;       /* it should go but its message could not be built */
};
/* Takes up to LIMIT due rows of CHANNEL into K (inside a transaction).
 * Count or -1. */
int ob_claim_rows(struct outbox *ob, int channel, int limit, int64_t now, struct claim *k);
/* Decides on claimed row K inside the claim's transaction: sets K->data
 * (the message) when it goes now, or K->broken when it should but its
 * message could not be built; otherwise writes its new state. 0 or -1. */
int ob_settle_claim(struct outbox *ob, struct claim *k, int64_t now);

/* --- metrics (outbox_api.c) -------------------------------------------------- */
void ob_count_send(struct outbox *ob, int channel, int result);
/* The outbox's series of /metrics (a metrics renderer, ARG the outbox). */
struct evbuffer;
void ob_render_metrics(struct evbuffer *out, void *arg);

/* The notifications by kind, channel and status for /metrics, from the
 * counts the triggers of schema step 23 keep (tests/unit/test_query_plans.c
 * checks it reads no notification). */
#define OUTBOX_COUNTS_SQL "SELECT kind, channel, status, n FROM notification_counts"

/* Claims up to ?4 due rows of channel ?3 at ?1 with a lease until ?2
 * (core/notify/outbox_claim.c): from notifications_due, in due order. */
#define OUTBOX_CLAIM_SQL                                                     \
    "UPDATE notifications SET status = 'sending', lease_until = ?2,"         \
    " attempts = attempts + 1, updated_at = ?1 WHERE id IN (SELECT id FROM notifications" \
    " WHERE status = 'pending' AND channel = ?3 AND due_at <= ?1"            \
    " ORDER BY due_at, id LIMIT ?4)"                                         \
    " RETURNING id, enrollment_id, kind, attempts, offset_key, target_start, idem_key," \
    " due_at"
/* The oldest due_at of the pending rows of channel ?1 (/metrics). */
#define OUTBOX_OLDEST_DUE_SQL                                                \
    "SELECT min(due_at) FROM notifications WHERE status = 'pending' AND channel = ?1"

#endif
