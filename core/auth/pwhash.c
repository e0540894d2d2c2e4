/* pwhash — Argon2id on a worker thread (see core/auth/pwhash.h).
 *
 * Jobs go from the loop to the worker through a mutex-protected queue and
 * a condition variable; finished jobs come back on a second list, and the
 * worker writes one byte to a pipe whose read end is an event on the loop,
 * which runs the callbacks there. No libevent call is made on the worker,
 * so libevent needs no thread support. */
#include "pwhash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "log.h"

#define OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

_Static_assert(crypto_pwhash_STRBYTES <= PWHASH_STR_MAX, "PWHASH_STR_MAX too small");

enum job_kind { JOB_VERIFY, JOB_HASH };

struct job {
    struct job *next;
    enum job_kind kind;
    char password[PWHASH_PASSWORD_MAX];
    size_t len;
    char stored[PWHASH_STR_MAX];    /* verify: the hash ("" = the dummy); hash: the result */
    int result;
    pwhash_verify_fn verify_done;
    pwhash_hash_fn hash_done;
    void *arg;
};

struct pwhash {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *todo, *todo_tail;   /* FIFO, under MU */
    struct job *done;               /* any order, under MU */
    int queued;                     /* in TODO, under MU */
    int stopping;                   /* under MU */
    int fds[2];                     /* the worker writes [1], the loop reads [0] */
    struct event *wake;
    char dummy[PWHASH_STR_MAX];     /* the worker's only, made before its first job */
};

int pwhash_init(void)
{
    if (sodium_init() < 0) {
        log_error("pwhash", "libsodium could not be initialised");
        return -1;
    }
    return 0;
}

int pwhash_hash_now(const char *password, size_t len, char out[PWHASH_STR_MAX])
{
    if (len > PWHASH_PASSWORD_MAX || pwhash_init() != 0)
        return -1;
    if (crypto_pwhash_str(out, password, len, OPSLIMIT, MEMLIMIT) != 0) {
        log_error("pwhash", "hashing a password failed (out of memory?)");
        return -1;
    }
    return 0;
}

static void run_job(struct pwhash *ph, struct job *j)
{
    const char *stored;

    if (j->kind == JOB_HASH) {
        j->result = crypto_pwhash_str(j->stored, j->password, j->len, OPSLIMIT, MEMLIMIT) == 0
                        ? PWHASH_YES : PWHASH_ERROR;
    } else {
        stored = j->stored[0] ? j->stored : ph->dummy;
        if (!stored[0]) {
            j->result = PWHASH_ERROR;
        } else {
            /* -1 is a wrong password or a malformed hash alike: both are
             * "no", never a way in. */
            j->result = crypto_pwhash_str_verify(stored, j->password, j->len) == 0
                            ? PWHASH_YES : PWHASH_NO;
        }
        /* The dummy never matches anything: it stands for nobody. */
        if (!j->stored[0] && j->result == PWHASH_YES)
            j->result = PWHASH_NO;
    }
    sodium_memzero(j->password, sizeof j->password);
}

/* The dummy hash: a random password nobody knows, hashed as real ones
 * are, so that checking against it costs the same. Made before the first
 * job, whatever it is (so the first sign-in, with a known e-mail or not,
 * pays it alike), rather than at start: a server nobody signs in to never
 * spends the 64 MiB. On the worker only. */
static void make_dummy(struct pwhash *ph)
{
    unsigned char random[32];

    randombytes_buf(random, sizeof random);
    if (crypto_pwhash_str(ph->dummy, (const char *)random, sizeof random, OPSLIMIT,
                          MEMLIMIT) != 0)
        ph->dummy[0] = '\0';
    sodium_memzero(random, sizeof random);
}

static void *worker(void *arg)
{
    struct pwhash *ph = arg;
    int ready = 0;

    pthread_mutex_lock(&ph->mu);
    for (;;) {
        struct job *j;
        char one = 1;

        while (!ph->todo && !ph->stopping)
            pthread_cond_wait(&ph->cv, &ph->mu);
        if (ph->stopping)
            break;
        j = ph->todo;
        ph->todo = j->next;
        if (!ph->todo)
            ph->todo_tail = NULL;
        ph->queued--;
        pthread_mutex_unlock(&ph->mu);
        if (!ready) {
            make_dummy(ph);
            ready = 1;
        }
        run_job(ph, j);
        pthread_mutex_lock(&ph->mu);
        j->next = ph->done;
        ph->done = j;
        /* A full pipe already holds a wake-up: nothing is lost. */
        while (write(ph->fds[1], &one, 1) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&ph->mu);
    return NULL;
}

static void finish(struct job *j, int result)
{
    if (j->kind == JOB_VERIFY)
        j->verify_done(j->arg, result);
    else
        j->hash_done(j->arg, result, result == PWHASH_YES ? j->stored : NULL);
    sodium_memzero(j, sizeof *j);
    free(j);
}

/* On the loop: the callbacks of the jobs done. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct pwhash *ph = arg;
    struct job *list, *next;
    char buf[64];

    (void)what;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&ph->mu);
    list = ph->done;
    ph->done = NULL;
    pthread_mutex_unlock(&ph->mu);
    for (; list; list = next) {
        next = list->next;
        finish(list, list->result);
    }
}

int pwhash_new(struct event_base *base, struct pwhash **out)
{
    struct pwhash *ph = calloc(1, sizeof *ph);
    int mu = 0, cv = 0;

    *out = NULL;
    if (!ph || pwhash_init() != 0)
        goto fail;
    ph->fds[0] = ph->fds[1] = -1;
    if (pthread_mutex_init(&ph->mu, NULL) != 0)
        goto fail;
    mu = 1;
    if (pthread_cond_init(&ph->cv, NULL) != 0)
        goto fail;
    cv = 1;
    if (pipe2(ph->fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error("pwhash", "pipe: %s", strerror(errno));
        goto fail;
    }
    ph->wake = event_new(base, ph->fds[0], EV_READ | EV_PERSIST, on_wake, ph);
    if (!ph->wake || event_add(ph->wake, NULL) != 0)
        goto fail;
    if (pthread_create(&ph->thread, NULL, worker, ph) != 0) {
        log_error("pwhash", "cannot start the password thread");
        goto fail;
    }
    ph->started = 1;
    *out = ph;
    return 0;
fail:
    if (ph) {
        if (ph->wake)
            event_free(ph->wake);
        if (ph->fds[0] >= 0)
            close(ph->fds[0]);
        if (ph->fds[1] >= 0)
            close(ph->fds[1]);
        if (cv)
            pthread_cond_destroy(&ph->cv);
        if (mu)
            pthread_mutex_destroy(&ph->mu);
        free(ph);
    }
    return -1;
}

void pwhash_free(struct pwhash *ph)
{
    struct job *list, *next;

    if (!ph)
        return;
    pthread_mutex_lock(&ph->mu);
    ph->stopping = 1;
    pthread_cond_signal(&ph->cv);
    pthread_mutex_unlock(&ph->mu);
    if (ph->started)
        pthread_join(ph->thread, NULL);
    /* Done but not yet delivered: their results stand. */
    for (list = ph->done; list; list = next) {
        next = list->next;
        finish(list, list->result);
    }
    for (list = ph->todo; list; list = next) {
        next = list->next;
        finish(list, PWHASH_CANCELLED);
    }
    event_free(ph->wake);
    close(ph->fds[0]);
    close(ph->fds[1]);
    pthread_cond_destroy(&ph->cv);
    pthread_mutex_destroy(&ph->mu);
    sodium_memzero(ph->dummy, sizeof ph->dummy);
    free(ph);
}

static int submit(struct pwhash *ph, struct job *j)
{
    pthread_mutex_lock(&ph->mu);
    if (ph->stopping || ph->queued >= PWHASH_QUEUE) {
        pthread_mutex_unlock(&ph->mu);
        sodium_memzero(j, sizeof *j);
        free(j);
        return -1;
    }
    j->next = NULL;
    if (ph->todo_tail)
        ph->todo_tail->next = j;
    else
        ph->todo = j;
    ph->todo_tail = j;
    ph->queued++;
    pthread_cond_signal(&ph->cv);
    pthread_mutex_unlock(&ph->mu);
    return 0;
}

static struct job *new_job(enum job_kind kind, const char *password, size_t len, void *arg)
{
    struct job *j;

    if (!password || len > PWHASH_PASSWORD_MAX || !(j = calloc(1, sizeof *j)))
        return NULL;
    j->kind = kind;
    memcpy(j->password, password, len);
    j->len = len;
    j->arg = arg;
    return j;
}

int pwhash_verify(struct pwhash *ph, const char *stored, const char *password, size_t len,
                  pwhash_verify_fn done, void *arg)
{
    struct job *j;

    if (!ph || !done || (stored && strlen(stored) >= PWHASH_STR_MAX)
        || !(j = new_job(JOB_VERIFY, password, len, arg)))
        return -1;
    if (stored)
        memcpy(j->stored, stored, strlen(stored) + 1);
    j->verify_done = done;
    return submit(ph, j);
}

int pwhash_hash(struct pwhash *ph, const char *password, size_t len, pwhash_hash_fn done,
                void *arg)
{
    struct job *j;

    if (!ph || !done || !(j = new_job(JOB_HASH, password, len, arg)))
        return -1;
    j->hash_done = done;
    return submit(ph, j);
}
