/* pwhash: Argon2id on the worker thread, its results on the loop. A right
 * and a wrong password, the dummy hash (never a match), hashing then
 * checking, the bounded queue, and pwhash_free answering every job still
 * queued with PWHASH_CANCELLED, so that no waiting request is forgotten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <event2/event.h>

#include "pwhash.h"

struct seen {
    int calls, result;
    char hash[PWHASH_STR_MAX];
    struct event_base *base;
    int want;               /* leave the loop after this many calls */
};

static void on_verify(void *arg, int result)
{
    struct seen *s = arg;

    s->calls++;
    s->result = result;
    if (s->base && s->calls >= s->want)
        event_base_loopbreak(s->base);
}

static void on_hash(void *arg, int result, const char *hash)
{
    struct seen *s = arg;

    s->calls++;
    s->result = result;
    if (hash)
        strncpy(s->hash, hash, sizeof s->hash - 1);
    if (s->base && s->calls >= s->want)
        event_base_loopbreak(s->base);
}

/* Runs the loop until S has WANT calls (the worker always answers). */
static void wait_for(struct event_base *base, struct seen *s, int want)
{
    s->base = base;
    s->want = want;
    while (s->calls < want)
        assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
}

static void verify_and_hash(void **state)
{
    struct event_base *base = event_base_new();
    struct pwhash *ph;
    struct seen h = {0}, yes = {0}, no = {0}, dummy = {0};
    char stored[PWHASH_STR_MAX];

    (void)state;
    assert_non_null(base);
    assert_int_equal(pwhash_hash_now("un mot de passe", 15, stored), 0);
    assert_int_equal(strncmp(stored, "$argon2id$", 10), 0);
    assert_int_equal(pwhash_new(base, &ph), 0);
    assert_int_equal(pwhash_verify(ph, stored, "un mot de passe", 15, on_verify, &yes), 0);
    assert_int_equal(pwhash_verify(ph, stored, "un autre", 8, on_verify, &no), 0);
    /* The dummy stands for nobody: whatever is typed, no. */
    assert_int_equal(pwhash_verify(ph, NULL, "un mot de passe", 15, on_verify, &dummy), 0);
    assert_int_equal(pwhash_hash(ph, "encore un autre", 15, on_hash, &h), 0);
    /* Nothing is answered on the caller's stack: only from the loop. */
    assert_int_equal(yes.calls + no.calls + dummy.calls + h.calls, 0);
    wait_for(base, &yes, 1);
    wait_for(base, &no, 1);
    wait_for(base, &dummy, 1);
    wait_for(base, &h, 1);
    assert_int_equal(yes.result, PWHASH_YES);
    assert_int_equal(no.result, PWHASH_NO);
    assert_int_equal(dummy.result, PWHASH_NO);
    assert_int_equal(h.result, PWHASH_YES);
    assert_int_equal(strncmp(h.hash, "$argon2id$", 10), 0);
    /* What the worker hashed checks like any other. */
    memset(&yes, 0, sizeof yes);
    assert_int_equal(pwhash_verify(ph, h.hash, "encore un autre", 15, on_verify, &yes), 0);
    wait_for(base, &yes, 1);
    assert_int_equal(yes.result, PWHASH_YES);
    /* A malformed stored hash is a "no", never a way in. */
    memset(&no, 0, sizeof no);
    assert_int_equal(pwhash_verify(ph, "$argon2id$bad", "x", 1, on_verify, &no), 0);
    wait_for(base, &no, 1);
    assert_int_equal(no.result, PWHASH_NO);
    /* Over the length limit: refused at once, no callback. */
    {
        static char big[PWHASH_PASSWORD_MAX + 1];
        memset(&no, 0, sizeof no);
        assert_int_equal(pwhash_verify(ph, stored, big, sizeof big, on_verify, &no), -1);
        assert_int_equal(no.calls, 0);
    }
    pwhash_free(ph);
    event_base_free(base);
}

static void queue_bound_and_cancel_on_free(void **state)
{
    struct event_base *base = event_base_new();
    struct pwhash *ph;
    struct seen s[PWHASH_QUEUE + 8];
    int queued = 0, refused = 0, cancelled = 0, answered = 0;

    (void)state;
    memset(s, 0, sizeof s);
    assert_int_equal(pwhash_new(base, &ph), 0);
    /* More than the queue holds, at once: the rest is refused (busy). */
    for (int i = 0; i < PWHASH_QUEUE + 8; i++) {
        if (pwhash_verify(ph, NULL, "x", 1, on_verify, &s[i]) == 0)
            queued++;
        else
            refused++;
    }
    assert_true(queued >= PWHASH_QUEUE && queued <= PWHASH_QUEUE + 1);
    assert_int_equal(queued + refused, PWHASH_QUEUE + 8);
    /* Freed with jobs still waiting: each callback runs exactly once. */
    pwhash_free(ph);
    for (int i = 0; i < PWHASH_QUEUE + 8; i++) {
        assert_true(s[i].calls <= 1);
        if (s[i].calls && s[i].result == PWHASH_CANCELLED)
            cancelled++;
        else if (s[i].calls)
            answered++;
    }
    assert_int_equal(cancelled + answered, queued);
    assert_true(cancelled > 0);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verify_and_hash),
        cmocka_unit_test(queue_bound_and_cancel_on_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
