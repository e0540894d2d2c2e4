/* The outbox dispatcher on a real store and event base, with a sender
 * written in C: sent, retried with backoff, failed, the concurrency limit,
 * recovery of rows left in flight by a previous run (same key), checks at
 * claim time (consent withdrawn, quiet hours), the metrics series, and a
 * big change told through its fan-out job across a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include <cJSON.h>
#include <event2/buffer.h>

#include "outbox_internal.h"
#include "app.h"
#include "http.h"
#include "outbox_fixture.h"

#define MAXCALLS 128
#define H 3600
#define D 86400

enum mode { SEND_OK, SEND_RETRY, SEND_FAIL, SEND_HOLD, SEND_REFUSE };

/* What the sender saw of one message. */
struct seen {
    int64_t id;
    char kind[16], channel[8], to[64], idem[64], link[256], when[64], ics_method[16];
    char old_when[64], old_venue[64];
    char *ics;
};

struct tsender {
    enum mode mode;
    int calls, inflight, max_inflight;
    struct seen seen[MAXCALLS];
    outbox_done_fn done;
    void *held[MAXCALLS];
    int nheld;
};

static void copy_str(char *dst, size_t n, const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static int t_send(void *arg, const struct outbox_msg *m, outbox_done_fn done, void *token)
{
    struct tsender *t = arg;
    struct seen *s;
    const cJSON *ics;
    char pid[32];
    struct outbox_result r = {OUTBOX_SENT, NULL, 1, NULL};

    assert_true(t->calls < MAXCALLS);
    s = &t->seen[t->calls++];
    s->id = m->id;
    copy_str(s->kind, sizeof s->kind, m->data, "kind");
    copy_str(s->channel, sizeof s->channel, m->data, "channel");
    copy_str(s->to, sizeof s->to, m->data, "to");
    copy_str(s->idem, sizeof s->idem, m->data, "idem_key");
    copy_str(s->link, sizeof s->link, m->data, "link");
    copy_str(s->ics_method, sizeof s->ics_method, m->data, "ics_method");
    copy_str(s->when, sizeof s->when, cJSON_GetObjectItemCaseSensitive(m->data, "session"),
             "when");
    copy_str(s->old_when, sizeof s->old_when,
             cJSON_GetObjectItemCaseSensitive(m->data, "change"), "old_when");
    copy_str(s->old_venue, sizeof s->old_venue,
             cJSON_GetObjectItemCaseSensitive(m->data, "change"), "old_venue");
    ics = cJSON_GetObjectItemCaseSensitive(m->data, "ics");
    s->ics = cJSON_IsString(ics) ? strdup(ics->valuestring) : NULL;
    assert_string_equal(m->channel, s->channel);
    switch (t->mode) {
    case SEND_REFUSE:
        return -1;
    case SEND_HOLD:
        t->held[t->nheld++] = token;
        t->done = done;
        if (++t->inflight > t->max_inflight)
            t->max_inflight = t->inflight;
        return 0;
    case SEND_RETRY:
        r.status = OUTBOX_RETRY;
        r.error = "gateway 503";
        break;
    case SEND_FAIL:
        r.status = OUTBOX_FAILED;
        r.error = "invalid number";
        break;
    case SEND_OK:
        snprintf(pid, sizeof pid, "P%lld", (long long)m->id);
        r.provider_id = pid;
        break;
    }
    done(token, &r);
    return 0;
}

/* Answers every held message with STATUS. */
static void release(struct tsender *t, enum outbox_status status)
{
    struct outbox_result r = {status, "PH", 1, status == OUTBOX_SENT ? NULL : "gateway 502"};
    int n = t->nheld;

    t->nheld = 0;
    t->inflight = 0;
    for (int i = 0; i < n; i++)
        t->done(t->held[i], &r);
}

static void tsender_clear(struct tsender *t)
{
    for (int i = 0; i < t->calls; i++)
        free(t->seen[i].ics);
    memset(t, 0, sizeof *t);
}

/* Turns the loop until nothing is due at once. */
static void pump(struct fx *fx)
{
    for (int i = 0; i < 20; i++)
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

static int setup(void **state)
{
    char *err = NULL;

    if (rt_set_timezone("Europe/Paris", &err) != 0) {
        free(err);
        return -1;
    }
    return fx_setup(state, 1);
}

static void test_sent(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {0};
    char key[64], *ics;

    book(fx, 1, 10, 1);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "email", t_send, &t), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "fax", t_send, &t), -1);
    pump(fx);
    /* The confirmations went; the reminders wait for their time. */
    assert_int_equal(t.calls, 2);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND status = 'sent' AND attempts = 1"
                               " AND segments = 1 AND sent_at = %lld AND provider_id ="
                               " 'P' || id", (long long)T0), 2);
    assert_int_equal(nrows(fx, "kind = 'reminder' AND status = 'pending'"), 4);
    for (int i = 0; i < 2; i++) {
        struct seen *s = &t.seen[i];
        int sms = strcmp(s->channel, "sms") == 0;

        assert_string_equal(s->kind, "confirmation");
        assert_string_equal(s->to, sms ? "+33612345678" : "ana@example.org");
        qs(fx, key, sizeof key, "SELECT idem_key FROM notifications WHERE id = %lld",
           (long long)s->id);
        assert_string_equal(s->idem, key);
        assert_string_equal(s->when, "ven. 6 mars à 14h00");
        assert_int_equal(strncmp(s->link, "http://127.0.0.1:8080/r/", 24), 0);
        assert_int_equal(strlen(s->link), 24 + LINKS_TOKEN_LEN);
        if (sms) {
            assert_null(s->ics);
        } else {
            ics = s->ics;
            assert_non_null(ics);
            assert_string_equal(s->ics_method, "REQUEST");
            assert_non_null(strstr(ics, "METHOD:REQUEST"));
            assert_non_null(strstr(ics, "UID:session-10@127.0.0.1"));
        }
    }
    /* The link is the enrollment's: the token finds it again. */
    {
        int64_t eid = 0;
        assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, t.seen[0].link + 24, &eid), 1);
        assert_int_equal(eid, 1);
    }
    tsender_clear(&t);
}

static void test_retry_then_sent(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {.mode = SEND_RETRY};
    char first[64];
    int64_t due;

    book(fx, 1, 10, 1);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, 1);
    snprintf(first, sizeof first, "%s", t.seen[0].idem);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status ="
                               " 'pending' AND attempts = 1 AND error = 'gateway 503'"), 1);
    due = qv(fx, "SELECT due_at FROM notifications WHERE kind = 'confirmation' AND"
                 " channel = 'sms'");
    assert_true(due >= T0 + 24 && due <= T0 + 36);
    /* Not yet due: nothing happens. */
    outbox_kick(fx->ob);
    pump(fx);
    assert_int_equal(t.calls, 1);
    /* Due again: same key, now accepted. */
    rt_set_now(due);
    t.mode = SEND_OK;
    outbox_kick(fx->ob);
    pump(fx);
    assert_int_equal(t.calls, 2);
    assert_string_equal(t.seen[1].idem, first);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status ="
                               " 'sent' AND attempts = 2 AND error IS NULL"), 1);
    /* The email channel has no sender: its rows wait. */
    assert_int_equal(nrows(fx, "channel = 'email' AND status = 'pending' AND attempts = 0"), 3);
    tsender_clear(&t);
}

static void test_failed(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {.mode = SEND_FAIL};

    book(fx, 1, 10, 1);
    /* The email row has already been tried seven times. */
    sql(fx, "UPDATE notifications SET attempts = 7 WHERE kind = 'confirmation'"
            " AND channel = 'email'");
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status ="
                               " 'failed' AND error = 'invalid number' AND attempts = 1"), 1);
    t.mode = SEND_RETRY;
    assert_int_equal(outbox_set_sender(fx->ob, "email", t_send, &t), 0);
    pump(fx);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'email' AND status ="
                               " 'failed' AND attempts = 8 AND error LIKE"
                               " 'gateway 503 (after 8 attempts)'"), 1);
    /* A sender that cannot start counts as a retry. */
    sql(fx, "UPDATE notifications SET due_at = %lld WHERE kind = 'reminder' AND offset_key ="
            " 7200 AND channel = 'sms'", (long long)T0);
    t.mode = SEND_REFUSE;
    outbox_kick(fx->ob);
    pump(fx);
    assert_int_equal(nrows(fx, "kind = 'reminder' AND offset_key = 7200 AND channel = 'sms'"
                               " AND status = 'pending' AND attempts = 1 AND error ="
                               " 'the sender could not start'"), 1);
    tsender_clear(&t);
}

static void test_concurrency(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {.mode = SEND_HOLD};

    for (int i = 0; i < 40; i++) {
        sql(fx, "INSERT INTO beneficiaries (id, first_name, last_name, phone, consent_sms,"
                " created_at, updated_at) VALUES (%d, 'P', 'Q', '+336000000%02d', 1, 0, 0)",
            100 + i, i);
        book(fx, 100 + i, 10, 100 + i);
    }
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status ="
                               " 'pending'"), 40);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, OUTBOX_CONCURRENCY);
    assert_int_equal(nrows(fx, "status = 'sending'"), OUTBOX_CONCURRENCY);
    /* Answering frees the places: the rest goes. */
    release(&t, OUTBOX_SENT);
    pump(fx);
    assert_int_equal(t.calls, 40);
    assert_int_equal(t.max_inflight, OUTBOX_CONCURRENCY);
    release(&t, OUTBOX_SENT);
    pump(fx);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status ="
                               " 'sent'"), 40);
    tsender_clear(&t);
}

/* A stand-in for HTTP work that never pauses: a timer at the default
 * priority, ready again at every turn of the loop. */
struct busy {
    struct event *ev;
    int turns, turns_at_first_send;
};

static void busy_turn(evutil_socket_t fd, short what, void *arg)
{
    static const struct timeval now = {0, 0};
    struct busy *b = arg;

    (void)fd;
    (void)what;
    b->turns++;
    assert_int_equal(evtimer_add(b->ev, &now), 0);
}

static int busy_send(void *arg, const struct outbox_msg *m, outbox_done_fn done, void *token)
{
    struct busy *b = arg;
    struct outbox_result r = {OUTBOX_SENT, "PB", 1, NULL};

    (void)m;
    if (!b->turns_at_first_send)
        b->turns_at_first_send = b->turns;
    done(token, &r);
    return 0;
}

/* On a loop with priorities (as core/ops/cli_serve.c makes it), work at the default
 * priority goes before the dispatcher; and a loop never idle still sends,
 * the nudge running the dispatcher a moment later. */
static void test_priority_and_nudge(void **state)
{
    static const struct timeval now = {0, 0};
    struct fx *fx = *state;
    struct busy b = {0};
    struct timespec t0, t1;
    int turns = 0;

    outbox_free(fx->ob);
    fx->ob = NULL;
    event_base_free(fx->base);
    assert_non_null(fx->base = event_base_new());
    assert_int_equal(event_base_priority_init(fx->base, 3), 0);
    assert_int_equal(outbox_new(fx->base, fx->st, fx->cfg, &fx->ob), 0);
    book(fx, 1, 10, 1);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", busy_send, &b), 0);
    assert_non_null(b.ev = evtimer_new(fx->base, busy_turn, &b));
    assert_int_equal(evtimer_add(b.ev, &now), 0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        event_base_loop(fx->base, EVLOOP_ONCE);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status = 'sent'") == 0
             && t1.tv_sec - t0.tv_sec < 10 && ++turns < 1000000);
    /* Sent while the busy work never stopped, after it had run. */
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status = 'sent'"),
                     1);
    assert_true(b.turns_at_first_send > 1);
    event_free(b.ev);
}

static void test_restart_recovery(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {.mode = SEND_HOLD}, t2 = {.mode = SEND_HOLD};
    char key[64];

    book(fx, 1, 10, 1);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, 1);
    assert_int_equal(nrows(fx, "status = 'sending' AND attempts = 1"), 1);
    /* The process stops with the message in flight… */
    outbox_free(fx->ob);
    fx->ob = NULL;
    assert_int_equal(nrows(fx, "status = 'sending'"), 1);
    /* …and the next start sends it again with the same key. */
    assert_int_equal(outbox_new(fx->base, fx->st, fx->cfg, &fx->ob), 0);
    assert_int_equal(nrows(fx, "status = 'sending'"), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t2), 0);
    pump(fx);
    assert_int_equal(t2.calls, 1);
    assert_string_equal(t2.seen[0].idem, t.seen[0].idem);
    qs(fx, key, sizeof key, "SELECT idem_key FROM notifications WHERE id = %lld",
       (long long)t2.seen[0].id);
    assert_string_equal(key, t.seen[0].idem);
    /* The old run's sender answering late changes nothing. Answers are
     * written at the next turn of the loop, in one transaction. */
    release(&t, OUTBOX_SENT);
    pump(fx);
    assert_int_equal(nrows(fx, "status = 'sending' AND attempts = 2"), 1);
    release(&t2, OUTBOX_SENT);
    pump(fx);
    assert_int_equal(nrows(fx, "status = 'sent' AND attempts = 2"), 1);
    tsender_clear(&t);
    tsender_clear(&t2);
}

static void test_checked_at_claim(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {0};

    book(fx, 1, 10, 1);
    book(fx, 3, 10, 3);
    set_enrollment(fx, 3, "absent");
    /* Consent withdrawn without the hook (a plugin's own write). */
    sql(fx, "UPDATE beneficiaries SET consent_sms = 0 WHERE id = 1");
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "email", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, 1);
    assert_string_equal(t.seen[0].channel, "email");
    assert_int_equal(nrows(fx, "enrollment_id = 1 AND kind = 'confirmation' AND channel ="
                               " 'sms' AND status = 'suppressed' AND error = 'no SMS consent'"
                               " AND attempts = 0"), 1);
    assert_int_equal(nrows(fx, "enrollment_id = 3 AND kind = 'confirmation' AND channel ="
                               " 'email' AND status = 'cancelled' AND error ="
                               " 'enrollment no longer booked'"), 1);
    tsender_clear(&t);
}

static void test_quiet_at_claim(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {0};
    int64_t night = T0 + 12 * H;   /* 22:00 */

    book(fx, 1, 10, 1);
    /* An outage left a reminder due at 21:50: it waits for the morning. One
     * due a minute ago goes (the rules put it there, at the very start of
     * the quiet hours for instance), and a change about a session starting
     * before the morning goes. */
    rt_set_now(night);
    sql(fx, "UPDATE notifications SET due_at = %lld WHERE kind = 'reminder' AND offset_key ="
            " 172800 AND channel = 'sms'", (long long)(night - 600));
    sql(fx, "UPDATE notifications SET due_at = %lld WHERE kind = 'reminder' AND offset_key ="
            " 7200 AND channel = 'sms'", (long long)(night - 60));
    sql(fx, "UPDATE notifications SET status = 'sent' WHERE kind = 'confirmation'");
    sql(fx, "INSERT INTO sessions (id, kind, title, starts_at, ends_at, created_at,"
            " updated_at) VALUES (11, 'workshop', 'Early', %lld, %lld, 0, 0)",
        (long long)(night + 8 * H), (long long)(night + 10 * H));
    book(fx, 2, 11, 1);
    assert_int_equal(nrows(fx, "enrollment_id = 2"), 0);   /* all would fall too late */
    move(fx, 11, night + 8 * H, night + 9 * H);
    assert_int_equal(nrows(fx, "enrollment_id = 2 AND kind = 'change' AND due_at = %lld",
                           (long long)night), 2);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, 2);
    assert_string_equal(t.seen[0].kind, "reminder");
    assert_string_equal(t.seen[1].kind, "change");
    assert_int_equal(nrows(fx, "kind = 'reminder' AND offset_key = 172800 AND channel = 'sms'"
                               " AND enrollment_id = 1 AND status = 'pending' AND attempts = 0"
                               " AND due_at = %lld", (long long)(T0 + D - 2 * H)), 1);
    tsender_clear(&t);
}

static void test_retry_in_quiet(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {.mode = SEND_RETRY};

    /* Tried at 19:59:50: the retry would fall at night, it waits. */
    rt_set_now(T0 + 10 * H - 10);
    book(fx, 1, 10, 1);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, 1);
    assert_int_equal(nrows(fx, "kind = 'confirmation' AND channel = 'sms' AND status ="
                               " 'pending' AND attempts = 1 AND due_at = %lld",
                           (long long)(T0 + D - 2 * H)), 1);
    tsender_clear(&t);
}

static void test_change_message(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {0};

    book(fx, 1, 10, 1);
    sql(fx, "UPDATE notifications SET status = 'sent'");
    /* One PATCH: a new time and a new venue. */
    sql(fx, "INSERT INTO venues (id, name, created_at, updated_at) VALUES (2, 'Mairie', 0, 0)");
    move(fx, 10, S10_START, S10_START + D + H);
    sql(fx, "UPDATE sessions SET venue_id = 2 WHERE id = 10");
    assert_int_equal(domain_record_session_change(fx->st, 10, "venue", 0, 0, 1, 0, 0, 2, 0), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "email", t_send, &t), 0);
    pump(fx);
    assert_int_equal(t.calls, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(t.seen[i].kind, "change");
        assert_string_equal(t.seen[i].when, "sam. 7 mars à 15h00");
        assert_string_equal(t.seen[i].old_when, "ven. 6 mars à 14h00");
        assert_string_equal(t.seen[i].old_venue, "Médiathèque");
        if (strcmp(t.seen[i].channel, "email") == 0) {
            assert_non_null(strstr(t.seen[i].ics, "SEQUENCE:1"));
            assert_non_null(strstr(t.seen[i].ics, "Mairie"));
        }
    }
    /* Cancelled: a CANCEL invitation by email. */
    sql(fx, "UPDATE sessions SET status = 'cancelled', sequence = sequence + 1 WHERE id = 10");
    assert_int_equal(domain_record_session_change(fx->st, 10, "cancelled", 0, 0, 0, 0, 0, 0, 0),
                     0);
    pump(fx);
    assert_int_equal(t.calls, 4);
    for (int i = 2; i < 4; i++) {
        assert_string_equal(t.seen[i].kind, "cancellation");
        if (strcmp(t.seen[i].channel, "email") == 0) {
            assert_string_equal(t.seen[i].ics_method, "CANCEL");
            assert_non_null(strstr(t.seen[i].ics, "METHOD:CANCEL"));
            assert_non_null(strstr(t.seen[i].ics, "STATUS:CANCELLED"));
            assert_non_null(strstr(t.seen[i].ics, "SEQUENCE:2"));
        }
    }
    tsender_clear(&t);
}

/* A change concerning many people is told through a fan-out job written
 * with the change and expanded in batches by the dispatcher. A crash with
 * the job half done (one batch in), then a restart: each person gets
 * exactly one change, on the one key of its row. */
static void test_fanout_crash(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {0};
    int n = 40;

    for (int i = 0; i < n; i++) {
        sql(fx, "INSERT INTO beneficiaries (id, first_name, last_name, phone, consent_sms,"
                " created_at, updated_at) VALUES (%d, 'P', 'Q', '+336000000%02d', 1, 0, 0)",
            100 + i, i);
        book(fx, 100 + i, 10, 100 + i);
    }
    sql(fx, "UPDATE notifications SET status = 'sent' WHERE kind = 'confirmation'");
    move(fx, 10, S10_START, S10_START + D);
    /* The change is recorded with its job, not yet with its rows. */
    assert_int_equal(qv(fx, "SELECT count(*) FROM notification_fanouts"), 1);
    assert_int_equal(nrows(fx, "kind = 'change'"), 0);
    /* One batch (a zero budget still does one enrollment)… */
    assert_int_equal(ob_fanout_run(fx->ob, 0), 1);
    assert_int_equal(nrows(fx, "kind = 'change' AND channel = 'sms'"), 1);
    assert_int_equal(qv(fx, "SELECT after FROM notification_fanouts"), 100);
    /* …then the process dies, and starts again on the same database. */
    outbox_free(fx->ob);
    fx->ob = NULL;
    assert_int_equal(outbox_new(fx->base, fx->st, fx->cfg, &fx->ob), 0);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    assert_int_equal(qv(fx, "SELECT count(*) FROM notification_fanouts"), 0);
    assert_int_equal(nrows(fx, "kind = 'change' AND channel = 'sms' AND status = 'sent'"), n);
    assert_int_equal(qv(fx, "SELECT count(DISTINCT enrollment_id) FROM notifications"
                            " WHERE kind = 'change' AND channel = 'sms'"), n);
    assert_int_equal(nrows(fx, "kind = 'change' AND channel = 'email' AND status ="
                               " 'suppressed'"), n);
    assert_int_equal(t.calls, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(t.seen[i].kind, "change");
    /* The reminders for the old time are void, those for the new one made. */
    assert_int_equal(nrows(fx, "kind = 'reminder' AND channel = 'sms' AND status ="
                               " 'pending' AND target_start = %lld", (long long)(S10_START + D)),
                     2 * n);
    assert_int_equal(nrows(fx, "kind = 'reminder' AND status = 'pending' AND target_start ="
                               " %lld", (long long)S10_START), 0);
    /* Someone who cancels before a job reaches them is told nothing. */
    move(fx, 10, S10_START + D, S10_START + 2 * D);
    set_enrollment(fx, 100 + n - 1, "cancelled");
    pump(fx);
    assert_int_equal(t.calls, 2 * n - 1);
    tsender_clear(&t);
}

static void test_metrics(void **state)
{
    struct fx *fx = *state;
    struct tsender t = {0};
    struct app app = {0};
    struct http_server *hs;
    struct evbuffer *buf = evbuffer_new();
    char *text;
    size_t len;

    app.store = fx->st;
    hs = http_server_new(fx->base, &app, 1 << 20);
    assert_non_null(hs);
    assert_non_null(buf);
    assert_int_equal(outbox_register(hs), 0);
    book(fx, 1, 10, 1);
    assert_int_equal(outbox_set_sender(fx->ob, "sms", t_send, &t), 0);
    pump(fx);
    metrics_render(buf);
    len = evbuffer_get_length(buf);
    text = calloc(1, len + 1);
    assert_non_null(text);
    assert_int_equal(evbuffer_remove(buf, text, len), (int)len);
    assert_non_null(strstr(text, "relais_notifications{kind=\"confirmation\",channel=\"sms\","
                                 "status=\"sent\"} 1\n"));
    assert_non_null(strstr(text, "relais_notifications{kind=\"reminder\",channel=\"email\","
                                 "status=\"pending\"} 2\n"));
    assert_non_null(strstr(text, "relais_notifications{kind=\"survey\",channel=\"sms\","
                                 "status=\"failed\"} 0\n"));
    assert_non_null(strstr(text, "relais_outbox_depth 5\n"));
    assert_non_null(strstr(text, "relais_notification_sends_total{channel=\"sms\","
                                 "result=\"sent\"} "));
    free(text);
    evbuffer_free(buf);
    http_server_free(hs);
    tsender_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sent, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_sent, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrency, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_recovery, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_checked_at_claim, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_quiet_at_claim, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retry_in_quiet, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_change_message, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fanout_crash, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_priority_and_nudge, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
