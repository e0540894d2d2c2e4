/* outbox_dispatch — sending the rows: one timer, claims, senders, results,
 * and recovery at start (style.md §4 and §5: the database is the queue).
 *
 * The timer sleeps until the next due row of a channel that has a sender
 * and room, at most OUTBOX_POLL seconds (which also heals wall-clock jumps:
 * libevent sleeps on the monotonic clock, rows are due in wall-clock time).
 * A run claims up to OUTBOX_BATCH due rows in one transaction (UPDATE …
 * RETURNING: 'sending', a lease, attempts + 1), checks each again (consent,
 * address, erasure, attendance, a session started or moved, the quiet
 * hours), builds the messages, commits, and only then hands them to the
 * senders, so a sender that answers at once writes in a transaction of its
 * own. A full batch runs again at the next turn of the loop so that HTTP
 * requests are served in between.
 *
 * Each message in flight is a job. The sender answers through done()
 * exactly once; a sender that has not answered after OUTBOX_LEASE seconds
 * counts as a retry, and its late answer is ignored (the row then carries
 * another attempt count, which every result write checks). A job outlives
 * the outbox when the sender still holds it: its answer then only frees it.
 */
#include "core/outbox_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <cJSON.h>

#include "relais/config.h"
#include "relais/ical.h"
#include "relais/log.h"
#include "relais/rtime.h"
#include "relais/store.h"

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
};

void outbox_kick(struct outbox *ob)
{
    static const struct timeval now = {0, 0};

    if (ob && ob->timer && evtimer_add(ob->timer, &now) != 0)
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
    if (evtimer_add(ob->timer, &tv) != 0)
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
 * backoff, or failed. The row must still be 'sending' for this attempt. */
static void write_result(struct outbox *ob, struct outbox_job *j, enum outbox_status status,
                         const char *provider_id, int segments, const char *error)
{
    sqlite3_stmt *s = NULL;
    int64_t now = rt_now(), due = 0;
    int result;
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
        result = OB_RESULT_SENT;
        s = store_stmt(ob->st, "UPDATE notifications SET status = 'sent', provider_id = ?3,"
                               " segments = ?4, sent_at = ?5, error = NULL, lease_until = NULL,"
                               " updated_at = ?5 WHERE id = ?1 AND attempts = ?2"
                               " AND status = 'sending'");
        if (s && (store_bind_text(s, 3, provider_id) != SQLITE_OK
                  || sqlite3_bind_int(s, 4, segments) != SQLITE_OK))
            goto fail;
    } else if (status == OUTBOX_RETRY) {
        result = OB_RESULT_RETRY;
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
        result = OB_RESULT_FAILED;
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
    ob_count_send(j->channel, result);
    if (status == OUTBOX_RETRY)
        log_warn("outbox", "notification %lld (%s by %s): attempt %d failed, next in %llds",
                 (long long)j->id, outbox_kind_name((enum outbox_kind)j->kind),
                 outbox_channel_names[j->channel], j->attempts, (long long)(due - now));
    else
        log_info("outbox", "notification %lld (%s by %s): %s", (long long)j->id,
                 outbox_kind_name((enum outbox_kind)j->kind), outbox_channel_names[j->channel],
                 status == OUTBOX_SENT ? "sent" : "failed");
    return;
fail:
    /* The row stays 'sending' and is retried with the same key at the next
     * start: delayed, never lost. */
    log_error("outbox", "recording the result of notification %lld: %s", (long long)j->id,
              sqlite3_errmsg(store_db(ob->st)));
    store_done(s);
}

/* The attempt is over for the outbox: its place on the channel is free. */
static void job_settle(struct outbox *ob, struct outbox_job *j, enum outbox_status status,
                       const char *provider_id, int segments, const char *error)
{
    write_result(ob, j, status, provider_id, segments, error);
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
    if (store_in_tx(ob->st)) {
        /* A write now would join someone else's transaction: keep the
         * answer and write it at the next turn of the loop. */
        j->status = res->status;
        j->segments = res->segments;
        j->provider_id = dup_max(res->provider_id);
        j->error = dup_max(res->error);
        event_active(ob->later, 0, 0);
        return;
    }
    job_settle(ob, j, res->status, res->provider_id, res->segments, res->error);
    job_unlink(ob, j);
    if (!j->in_call)
        job_free(j);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    struct outbox *ob = arg;
    struct outbox_job *j = ob->jobs, *next;

    (void)fd;
    (void)what;
    if (store_in_tx(ob->st)) {
        event_active(ob->later, 0, 0);
        return;
    }
    for (; j; j = next) {
        next = j->next;
        if (!j->answered || j->written)
            continue;
        job_settle(ob, j, j->status, j->provider_id, j->segments, j->error);
        job_unlink(ob, j);
        job_free(j);
    }
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
    job_settle(j->ob, j, OUTBOX_RETRY, NULL, 0, "the sender did not answer in time");
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
    write_result(ob, &tmp, OUTBOX_RETRY, NULL, 0, why);
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
    int64_t now = rt_now();
    int n = 0, got;

    (void)fd;
    (void)what;
    if (store_in_tx(ob->st)) {
        arm(ob, 1);
        return;
    }
    if (store_begin(ob->st) != 0) {
        arm(ob, 5);
        return;
    }
    for (int ch = 0; ch < OB_NCHANNELS && n < OUTBOX_BATCH; ch++) {
        int room = OUTBOX_CONCURRENCY - ob->senders[ch].inflight;

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
    for (int i = 0; i < n; i++) {
        if (k[i].data)
            start_job(ob, &k[i]);
        else if (k[i].broken)
            retry_unsent(ob, &k[i], "the message could not be built");
        cJSON_Delete(k[i].data);
        free(k[i].idem_key);
    }
    if (n == OUTBOX_BATCH)
        arm(ob, 0);   /* more may be due: after the loop has served others */
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
    arm(ob, 5);
}

/* --- lifecycle -------------------------------------------------------------------- */

/* The invitations' organizer from the email config's "from", which is
 * "addr" or "Name <addr>"; without one, invitations name no organizer. */
static void organizer_from(struct outbox *ob, const struct config *cfg)
{
    const cJSON *from = cfg->email ? cJSON_GetObjectItemCaseSensitive(cfg->email, "from") : NULL;
    const char *v = cJSON_IsString(from) ? from->valuestring : NULL;
    const char *lt, *gt;

    free(ob->org_addr);
    free(ob->org_name);
    ob->org_addr = ob->org_name = NULL;
    if (!v || !*v)
        return;
    lt = strchr(v, '<');
    gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
        size_t nl = (size_t)(lt - v);
        while (nl > 0 && (v[nl - 1] == ' ' || v[nl - 1] == '"'))
            nl--;
        while (nl > 0 && (*v == ' ' || *v == '"')) {
            v++;
            nl--;
        }
        ob->org_name = nl ? strndup(v, nl) : NULL;
        ob->org_addr = strndup(lt + 1, (size_t)(gt - lt - 1));
    } else {
        ob->org_addr = strdup(v);
    }
}

/* The rules and addresses of CFG into OB (replacing what it had). 0 or -1
 * (OB unchanged). */
static int apply_config(struct outbox *ob, const struct config *cfg)
{
    int64_t *before = NULL;
    char *url = NULL;
    size_t len;

    if (cfg->n_reminder_before > 0) {
        if (!(before = malloc(cfg->n_reminder_before * sizeof *before)))
            return -1;
        memcpy(before, cfg->reminder_before, cfg->n_reminder_before * sizeof *before);
    }
    if (!(url = strdup(cfg->public_url ? cfg->public_url : ""))) {
        free(before);
        return -1;
    }
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        url[--len] = '\0';
    free(ob->before);
    free(ob->public_url);
    ob->before = before;
    ob->public_url = url;
    organizer_from(ob, cfg);
    ob->rules.quiet_enabled = cfg->quiet_enabled;
    ob->rules.quiet_from_min = cfg->quiet_from_min;
    ob->rules.quiet_to_min = cfg->quiet_to_min;
    ob->rules.confirmation = cfg->reminder_confirmation;
    ob->rules.before = before;
    ob->rules.nbefore = cfg->n_reminder_before;
    ob->rules.survey_after = cfg->survey_after;
    ob->rules.retry_first = cfg->retry_first;
    ob->rules.retry_max = cfg->retry_max;
    ob->rules.max_attempts = cfg->retry_attempts;
    ical_uid_host(url, ob->host, sizeof ob->host);
    return 0;
}

int outbox_new(struct event_base *base, struct store *st, const struct config *cfg,
               struct outbox **out)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    sqlite3_stmt *s = NULL;
    int recovered;

    *out = NULL;
    if (!ob || !base || !st || !cfg)
        goto fail;
    ob->base = base;
    ob->st = st;
    ob->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)ob;
    if (!ob->rng)
        ob->rng = 1;
    if (apply_config(ob, cfg) != 0
        || !(ob->timer = evtimer_new(base, on_timer, ob))
        || !(ob->later = event_new(base, -1, 0, on_later, ob)))
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
    outbox_global = ob;
    arm(ob, 0);
    *out = ob;
    return 0;
fail:
    store_done(s);
    if (ob) {
        if (ob->timer)
            event_free(ob->timer);
        if (ob->later)
            event_free(ob->later);
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
    if (outbox_global == ob)
        outbox_global = NULL;
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
    event_free(ob->later);
    free(ob->before);
    free(ob->public_url);
    free(ob->org_addr);
    free(ob->org_name);
    free(ob);
}

void outbox_reconfigure(struct outbox *ob, const struct config *cfg)
{
    if (!ob || !cfg)
        return;
    if (apply_config(ob, cfg) != 0) {
        log_error("outbox", "out of memory: keeping the previous notification rules");
        return;
    }
    outbox_kick(ob);
}

int outbox_set_sender(struct outbox *ob, const char *channel, outbox_sender_fn fn, void *arg)
{
    int ch = outbox_channel_index(channel);

    if (!ob || ch < 0)
        return -1;
    ob->senders[ch].fn = fn;
    ob->senders[ch].arg = fn ? arg : NULL;
    outbox_kick(ob);
    return 0;
}
