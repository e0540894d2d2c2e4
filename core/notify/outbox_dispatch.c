/* outbox_dispatch — sending the rows: one timer, claims, senders, results,
 * and recovery at start (style.md §4 and §5: the database is the queue).
 *
 * The timer sleeps until the next due row of a channel that has a sender
 * and room, at most OUTBOX_POLL seconds (which also heals wall-clock jumps:
 * libevent sleeps on the monotonic clock, rows are due in wall-clock time).
 * A run first expands a bounded slice of the waiting session changes into
 * rows (outbox_fanout.c). Then, in one transaction, it writes the senders'
 * answers that arrived since the last run, claims up to OUTBOX_BATCH due
 * rows (UPDATE … RETURNING: 'sending', a lease, attempts + 1), checks each
 * again (consent, address, erasure, attendance, a session started or moved,
 * the quiet hours) and builds the messages; it commits, and only then hands
 * them to the senders. One commit (one WAL sync) per run, rather than one
 * per answer, is what lets a burst of thousands go at gateway speed. A full
 * batch, waiting changes or answers that came during the calls make it run
 * again at the next turn of the loop, so that HTTP requests are served in
 * between.
 *
 * Each message in flight is a job. The sender answers through done()
 * exactly once, which keeps the answer on the job until the next run writes
 * it (a crash before that leaves the row 'sending': it goes again at the
 * next start with the same key, as for a crash during the call); a sender that has not answered after OUTBOX_LEASE seconds
 * counts as a retry, and its late answer is ignored (the row then carries
 * another attempt count, which every result write checks). A job outlives
 * the outbox when the sender still holds it: its answer then only frees it.
 */
#include "outbox_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <cJSON.h>

#include "config.h"
#include "domain_events.h"
#include "ical.h"
#include "log.h"
#include "metrics.h"
#include "rtime.h"
#include "store.h"

#define ERROR_MAX 300

struct outbox_job {
    struct outbox *ob;              /* NULL once the outbox is gone */
    struct outbox_job *prev, *next; /* in ob->jobs until answered and written */
    struct event *deadline;
    int64_t id, start;              /* start: the row's target_start */
    int channel, kind, attempts;
    int in_call;                    /* inside the sender's call */
    int answered;                   /* done() was called */
    int written;                    /* a result is in the database */
    /* The answer, kept while it cannot be written yet. */
    enum outbox_status status;
    char *provider_id, *error;
    int segments;
    int result;                     /* OB_RESULT_*, once written */
    int64_t wait;                   /* seconds before the retry, once written */
};

/* The dispatcher runs at the loop's lowest priority (when the base has
 * several; core/ops/cli_serve.c gives it three): libevent runs, in one turn of the
 * loop, only the callbacks of the most urgent priority that has any ready,
 * so a request that is read, or an answer that can be written, goes before
 * the next dispatch turn, and a request waits for at most the one turn in
 * progress when it came, not one per step of its own. So that a server kept
 * busy without a pause still sends, the nudge, at the default priority,
 * runs the same turn OUTBOX_NUDGE_MS after it was due. */
#define OUTBOX_NUDGE_MS 20

static int arm_tv(struct outbox *ob, struct timeval tv)
{
    struct timeval late = tv;

    late.tv_usec += OUTBOX_NUDGE_MS * 1000;
    if (late.tv_usec >= 1000000) {
        late.tv_sec++;
        late.tv_usec -= 1000000;
    }
    if (evtimer_add(ob->timer, &tv) != 0 || (ob->nudge && evtimer_add(ob->nudge, &late) != 0))
        return -1;
    return 0;
}

void outbox_kick(struct outbox *ob)
{
    static const struct timeval now = {0, 0};

    if (ob && ob->timer && arm_tv(ob, now) != 0)
        log_error("outbox", "cannot arm the dispatch timer");
}

double outbox_random(struct outbox *ob)
{
    /* xorshift64*: jitter only needs to differ between rows. */
    ob->rng ^= ob->rng >> 12;
    ob->rng ^= ob->rng << 25;
    ob->rng ^= ob->rng >> 27;
    return (double)((ob->rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

static void arm(struct outbox *ob, int64_t seconds)
{
    struct timeval tv = {(time_t)seconds, 0};

    /* Only fails on a broken base; the next kick tries again. */
    if (arm_tv(ob, tv) != 0)
        log_error("outbox", "cannot arm the dispatch timer");
}

/* Sleeps until the next row a sender can take now, at most OUTBOX_POLL. */
static void arm_next(struct outbox *ob)
{
    int64_t now = rt_now(), next = now + OUTBOX_POLL;

    for (int ch = 0; ch < OB_NCHANNELS; ch++) {
        sqlite3_stmt *s;

        if (!ob->senders[ch].fn || ob->senders[ch].inflight >= OUTBOX_CONCURRENCY)
            continue;
        s = store_stmt(ob->st, "SELECT due_at FROM notifications WHERE status = 'pending'"
                               " AND channel = ?1 ORDER BY due_at LIMIT 1");
        if (s && store_bind_text(s, 1, outbox_channel_names[ch]) == SQLITE_OK
            && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) < next)
            next = sqlite3_column_int64(s, 0);
        store_done(s);
    }
    arm(ob, next > now ? next - now : 0);
}

/* --- results ------------------------------------------------------------------- */

static void job_unlink(struct outbox *ob, struct outbox_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else if (ob->jobs == j)
        ob->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void job_free(struct outbox_job *j)
{
    if (j->deadline)
        event_free(j->deadline);
    free(j->provider_id);
    free(j->error);
    free(j);
}

/* Writes the outcome of job J's attempt: sent, back to pending after a
 * backoff, or failed. The row must still be 'sending' for this attempt.
 * *RESULT (OB_RESULT_*) and *DUE say what was written, for result_log. 0 or
 * -1: the row then stays 'sending' and is retried with the same key at the
 * next start: delayed, never lost. */
static int write_result(struct outbox *ob, struct outbox_job *j, enum outbox_status status,
                        const char *provider_id, int segments, const char *error,
                        int *result, int64_t *due_out)
{
    sqlite3_stmt *s = NULL;
    int64_t now = rt_now(), due = 0;
    char why[ERROR_MAX];

    snprintf(why, sizeof why, "%s", error && *error ? error : "gateway error");
    if (status == OUTBOX_RETRY && j->attempts >= (ob->rules.max_attempts > 0
                                                  ? ob->rules.max_attempts
                                                  : OUTBOX_MAX_ATTEMPTS)) {
        status = OUTBOX_FAILED;
        snprintf(why, sizeof why, "%.200s (after %d attempts)",
                 error && *error ? error : "gateway error", j->attempts);
    }
    if (status == OUTBOX_SENT) {
        *result = OB_RESULT_SENT;
        s = store_stmt(ob->st, "UPDATE notifications SET status = 'sent', provider_id = ?3,"
                               " segments = ?4, sent_at = ?5, error = NULL, lease_until = NULL,"
                               " updated_at = ?5 WHERE id = ?1 AND attempts = ?2"
                               " AND status = 'sending'");
        if (s && (store_bind_text(s, 3, provider_id) != SQLITE_OK
                  || sqlite3_bind_int(s, 4, segments) != SQLITE_OK))
            goto fail;
    } else if (status == OUTBOX_RETRY) {
        *result = OB_RESULT_RETRY;
        due = now + outbox_backoff_from(ob->rules.retry_first, ob->rules.retry_max,
                                        j->attempts, outbox_random(ob));
        /* A retry waits out the quiet hours, as the first try did, unless
         * it is news the person needs before a session starting earlier. */
        if (outbox_in_quiet(&ob->rules, due)) {
            int64_t end = outbox_quiet_end(&ob->rules, due);
            if (!((j->kind == OUTBOX_CHANGE || j->kind == OUTBOX_CANCELLATION)
                  && j->start <= end))
                due = end;
        }
        s = store_stmt(ob->st, "UPDATE notifications SET status = 'pending', due_at = ?3,"
                               " error = ?4, lease_until = NULL, updated_at = ?5"
                               " WHERE id = ?1 AND attempts = ?2 AND status = 'sending'");
        if (s && (sqlite3_bind_int64(s, 3, due) != SQLITE_OK
                  || store_bind_text(s, 4, why) != SQLITE_OK))
            goto fail;
    } else {
        *result = OB_RESULT_FAILED;
        s = store_stmt(ob->st, "UPDATE notifications SET status = 'failed', error = ?4,"
                               " lease_until = NULL, updated_at = ?5"
                               " WHERE id = ?1 AND attempts = ?2 AND status = 'sending'");
        if (s && store_bind_text(s, 4, why) != SQLITE_OK)
            goto fail;
    }
    if (!s || sqlite3_bind_int64(s, 1, j->id) != SQLITE_OK
        || sqlite3_bind_int(s, 2, j->attempts) != SQLITE_OK
        || sqlite3_bind_int64(s, 5, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto fail;
    store_done(s);
    *due_out = due - now;
    return 0;
fail:
    log_error("outbox", "recording the result of notification %lld: %s", (long long)j->id,
              sqlite3_errmsg(store_db(ob->st)));
    store_done(s);
    return -1;
}

/* Counts and logs a result once it is in the database. */
static void result_log(struct outbox *ob, const struct outbox_job *j, int result,
                       int64_t wait)
{
    ob_count_send(ob, j->channel, result);
    if (result == OB_RESULT_RETRY)
        log_warn("outbox", "notification %lld (%s by %s): attempt %d failed, next in %llds",
                 (long long)j->id, outbox_kind_name((enum outbox_kind)j->kind),
                 outbox_channel_names[j->channel], j->attempts, (long long)wait);
    else
        log_info("outbox", "notification %lld (%s by %s): %s", (long long)j->id,
                 outbox_kind_name((enum outbox_kind)j->kind), outbox_channel_names[j->channel],
                 result == OB_RESULT_SENT ? "sent" : "failed");
}

/* Writes one result in a transaction of its own (autocommit). */
static void write_one(struct outbox *ob, struct outbox_job *j, enum outbox_status status,
                      const char *provider_id, int segments, const char *error)
{
    int result;
    int64_t wait;

    if (write_result(ob, j, status, provider_id, segments, error, &result, &wait) == 0)
        result_log(ob, j, result, wait);
}

/* The attempt is over for the outbox: its place on the channel is free. */
static void job_release(struct outbox *ob, struct outbox_job *j)
{
    j->written = 1;
    if (j->deadline)
        evtimer_del(j->deadline);
    ob->senders[j->channel].inflight--;
    outbox_kick(ob);
}

static char *dup_max(const char *s)
{
    return s ? strndup(s, ERROR_MAX - 1) : NULL;
}

/* An answer is kept on its job and written by the next dispatcher run,
 * with the others that arrived meanwhile, in the transaction that claims
 * the next rows: one commit, and so one WAL sync, per turn rather than one
 * per message. */
static void on_done(void *token, const struct outbox_result *res)
{
    static const struct outbox_result none = {OUTBOX_RETRY, NULL, 0, "the sender gave no result"};
    struct outbox_job *j = token;
    struct outbox *ob = j->ob;

    if (!res)
        res = &none;
    if (j->answered) {
        log_error("outbox", "notification %lld: its sender answered twice", (long long)j->id);
        return;
    }
    j->answered = 1;
    if (!ob || j->written) {
        /* The outbox is gone, or the attempt already timed out. */
        if (ob)
            job_unlink(ob, j);
        if (!j->in_call)
            job_free(j);
        return;
    }
    j->status = res->status;
    j->segments = res->segments;
    j->provider_id = dup_max(res->provider_id);
    j->error = dup_max(res->error);
    if ((res->provider_id && !j->provider_id) || (res->error && !j->error)) {
        /* Out of memory: the row stays 'sending' and goes again at the
         * next start, with the same key. */
        log_error("outbox", "notification %lld: out of memory keeping its result",
                  (long long)j->id);
        job_release(ob, j);
        job_unlink(ob, j);
        if (!j->in_call)
            job_free(j);
        return;
    }
    ob->answers++;
    outbox_kick(ob);
}

/* Writes the answers kept on the jobs, inside the caller's transaction;
 * FREED[channel] counts them. 0 or -1. */
static int write_answers(struct outbox *ob, int *freed)
{
    for (struct outbox_job *j = ob->jobs; j; j = j->next) {
        if (!j->answered || j->written)
            continue;
        if (write_result(ob, j, j->status, j->provider_id, j->segments, j->error,
                         &j->result, &j->wait) != 0)
            return -1;
        freed[j->channel]++;
    }
    return 0;
}

/* The answers are over for the outbox. COMMITTED: write_answers' writes
 * are in the database; otherwise each is written now on its own, so that
 * one bad row does not hold the others. */
static void release_answers(struct outbox *ob, int committed)
{
    struct outbox_job *j, *next;

    for (j = ob->jobs; j; j = next) {
        next = j->next;
        if (!j->answered || j->written)
            continue;
        if (committed)
            result_log(ob, j, j->result, j->wait);
        else
            write_one(ob, j, j->status, j->provider_id, j->segments, j->error);
        job_release(ob, j);
        job_unlink(ob, j);
        job_free(j);
    }
    ob->answers = 0;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct outbox_job *j = arg;

    (void)fd;
    (void)what;
    if (!j->ob || j->answered || j->written)
        return;
    if (store_in_tx(j->ob->st)) {
        static const struct timeval soon = {1, 0};
        if (evtimer_add(j->deadline, &soon) != 0)
            log_error("outbox", "notification %lld: no deadline for its sender",
                      (long long)j->id);
        return;
    }
    /* Counted as a retry now; the job stays until the sender lets go. */
    write_one(j->ob, j, OUTBOX_RETRY, NULL, 0, "the sender did not answer in time");
    job_release(j->ob, j);
}

/* An attempt that never reached a sender. */
static void retry_unsent(struct outbox *ob, const struct claim *k, const char *why)
{
    struct outbox_job tmp;

    memset(&tmp, 0, sizeof tmp);
    tmp.id = k->id;
    tmp.start = k->target_start;
    tmp.channel = k->channel;
    tmp.kind = k->kind;
    tmp.attempts = k->attempts;
    write_one(ob, &tmp, OUTBOX_RETRY, NULL, 0, why);
}

/* Hands K's message to its channel's sender. */
static void start_job(struct outbox *ob, const struct claim *k)
{
    static const struct timeval lease = {OUTBOX_LEASE, 0};
    outbox_sender_fn fn = ob->senders[k->channel].fn;
    struct outbox_job *j = calloc(1, sizeof *j);
    struct outbox_msg m = {k->id, outbox_channel_names[k->channel], k->data};
    int rc;

    if (!fn || !j || !(j->deadline = evtimer_new(ob->base, on_deadline, j))) {
        free(j);
        retry_unsent(ob, k, fn ? "out of memory" : "no sender for the channel");
        return;
    }
    j->ob = ob;
    j->id = k->id;
    j->start = k->target_start;
    j->channel = k->channel;
    j->kind = k->kind;
    j->attempts = k->attempts;
    j->next = ob->jobs;
    if (ob->jobs)
        ob->jobs->prev = j;
    ob->jobs = j;
    ob->senders[k->channel].inflight++;
    if (evtimer_add(j->deadline, &lease) != 0)
        log_error("outbox", "notification %lld: no deadline for its sender", (long long)k->id);
    j->in_call = 1;
    rc = fn(ob->senders[k->channel].arg, &m, on_done, j);
    j->in_call = 0;
    if (rc != 0 && !j->answered) {
        struct outbox_result r = {OUTBOX_RETRY, NULL, 0, "the sender could not start"};
        on_done(j, &r);
        return;
    }
    /* Answered during the call: on_done left the freeing to us. */
    if (j->answered && (j->written || !j->ob))
        job_free(j);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct outbox *ob = arg;
    struct claim k[OUTBOX_BATCH];
    int64_t now;
    int n = 0, got, more, freed[OB_NCHANNELS] = {0};

    (void)fd;
    (void)what;
    /* Whichever of the two ran, the other is not needed (event_del also
     * takes it off the ready list). */
    event_del(ob->timer);
    if (ob->nudge)
        event_del(ob->nudge);
    if (store_in_tx(ob->st)) {
        arm(ob, 1);
        return;
    }
    /* Session changes to tell: a bounded slice of them, and the sends in
     * the next turn, so that no turn does both (HTTP requests are served in
     * between). A failure there still lets the answers be written and rows
     * go. */
    more = 0;
    if (ob->fanout && !ob->after_fanout) {
        if (ob_fanout_run(ob, OUTBOX_FANOUT_MS) > 0) {
            ob->after_fanout = 1;
            arm(ob, 0);
            return;
        }
    } else {
        ob->after_fanout = 0;
        more = ob->fanout;
    }
    now = rt_now();
    if (store_begin(ob->st) != 0) {
        release_answers(ob, 0);
        arm(ob, 5);
        return;
    }
    if (write_answers(ob, freed) != 0)
        goto fail;
    for (int ch = 0; ch < OB_NCHANNELS && n < OUTBOX_BATCH; ch++) {
        int room = OUTBOX_CONCURRENCY - ob->senders[ch].inflight + freed[ch];

        if (!ob->senders[ch].fn || room <= 0)
            continue;
        if (room > OUTBOX_BATCH - n)
            room = OUTBOX_BATCH - n;
        if ((got = ob_claim_rows(ob, ch, room, now, k + n)) < 0)
            goto fail;
        n += got;
    }
    for (int i = 0; i < n; i++)
        if (ob_settle_claim(ob, &k[i], now) != 0)
            goto fail;
    if (store_commit(ob->st) != 0)
        goto fail;
    release_answers(ob, 1);
    for (int i = 0; i < n; i++) {
        if (k[i].data)
            start_job(ob, &k[i]);
        else if (k[i].broken)
            retry_unsent(ob, &k[i], "the message could not be built");
        cJSON_Delete(k[i].data);
        free(k[i].idem_key);
    }
    /* More may be due, or answers came during the calls: after the loop
     * has served others. */
    if (n == OUTBOX_BATCH || more || ob->answers)
        arm(ob, 0);
    else
        arm_next(ob);
    return;
fail:
    log_error("outbox", "dispatching failed; trying again in 5 s");
    store_rollback(ob->st);
    for (int i = 0; i < n; i++) {
        cJSON_Delete(k[i].data);
        free(k[i].idem_key);
    }
    release_answers(ob, 0);
    arm(ob, 5);
}

/* --- lifecycle -------------------------------------------------------------------- */

int outbox_new(struct event_base *base, struct store *st, const struct config *cfg,
               struct outbox **out)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    sqlite3_stmt *s = NULL;
    int recovered;

    *out = NULL;
    if (!ob || !base || !st || !cfg)
        goto fail;
    ob->fanout = 1;   /* a change made before a crash may wait */
    ob->base = base;
    ob->st = st;
    ob->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)ob;
    if (!ob->rng)
        ob->rng = 1;
    if (outbox_apply_config(ob, cfg) != 0
        || !(ob->timer = evtimer_new(base, on_timer, ob)))
        goto fail;
    if (event_base_get_npriorities(base) > 1
        && (!(ob->nudge = evtimer_new(base, on_timer, ob))
            || event_priority_set(ob->timer, event_base_get_npriorities(base) - 1) != 0))
        goto fail;
    /* Rows a previous run left in flight may or may not have reached the
     * gateway: they go again, with the same key, so that a gateway that
     * honours it keeps one. */
    s = store_stmt(st, "UPDATE notifications SET status = 'pending', lease_until = NULL,"
                       " updated_at = ?1 WHERE status = 'sending'");
    if (!s || sqlite3_bind_int64(s, 1, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        log_error("outbox", "recovering notifications in flight: %s",
                  sqlite3_errmsg(store_db(st)));
        goto fail;
    }
    recovered = sqlite3_changes(store_db(st));
    store_done(s);
    s = NULL;
    if (recovered > 0)
        log_info("outbox", "%d notification(s) left in flight are retried", recovered);
    if (metrics_add_renderer(ob_render_metrics, ob) != 0)
        goto fail;
    if (store_events(st)
        && domain_events_observe(store_events(st), "outbox", ob_observe, ob) != 0) {
        metrics_remove_renderer(ob_render_metrics, ob);
        goto fail;
    }
    arm(ob, 0);
    *out = ob;
    return 0;
fail:
    store_done(s);
    if (ob) {
        if (ob->timer)
            event_free(ob->timer);
        if (ob->nudge)
            event_free(ob->nudge);
        free(ob->before);
        free(ob->public_url);
        free(ob->org_addr);
        free(ob->org_name);
        free(ob);
    }
    log_error("outbox", "cannot start the outbox");
    return -1;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    metrics_remove_renderer(ob_render_metrics, ob);
    domain_events_unobserve(store_events(ob->st), ob_observe, ob);
    while (ob->jobs) {
        struct outbox_job *j = ob->jobs;

        job_unlink(ob, j);
        j->ob = NULL;
        if (j->deadline) {
            event_free(j->deadline);
            j->deadline = NULL;
        }
        /* An answer not yet written is dropped: the row stays 'sending' and
         * goes again at the next start. A job still held by its sender is
         * freed when the sender answers. */
        if (j->answered)
            job_free(j);
    }
    event_free(ob->timer);
    if (ob->nudge)
        event_free(ob->nudge);
    free(ob->before);
    free(ob->public_url);
    free(ob->org_addr);
    free(ob->org_name);
    free(ob);
}
