/* pwhash — staff passwords with Argon2id (libsodium), off the event loop.
 *
 * Hashing a password costs about a tenth of a second and 64 MiB by design
 * (crypto_pwhash_*_INTERACTIVE), which must never happen on the loop: a
 * flood of sign-ins would stall every other request. So a pwhash object
 * owns one worker thread with a bounded queue (PWHASH_QUEUE jobs); each job
 * is hashed or verified there and its callback then runs on the loop
 * thread, from an event on a pipe the worker writes to. One thread: at
 * most one core and 64 MiB are ever spent on passwords, whatever comes.
 *
 * Verifying against NULL checks the password against a dummy hash made
 * with the same parameters (by the worker, before its first job), so that
 * an unknown e-mail costs what a wrong password costs (no timing tells
 * them apart).
 *
 * Ownership: pwhash_new returns an object the caller frees with
 * pwhash_free, which waits for the job under way and then calls every
 * callback not yet called with PWHASH_CANCELLED (on the calling thread),
 * so a waiting HTTP request is always answered. Passwords are copied into
 * the job and wiped (sodium_memzero) once used.
 */
#ifndef RELAIS_PWHASH_H
#define RELAIS_PWHASH_H

#include <stddef.h>

struct event_base;
struct pwhash;

#define PWHASH_QUEUE 32        /* jobs waiting at most; more → busy */
#define PWHASH_STR_MAX 128     /* ≥ crypto_pwhash_STRBYTES */
#define PWHASH_PASSWORD_MAX 1024

/* Results given to the callbacks. */
enum { PWHASH_NO = 0, PWHASH_YES = 1, PWHASH_ERROR = -1, PWHASH_CANCELLED = -2 };

/* Initialises libsodium (once per process; any thread). 0 or -1. */
int pwhash_init(void);

/* The worker for BASE. 0 or -1. */
int pwhash_new(struct event_base *base, struct pwhash **out);
void pwhash_free(struct pwhash *ph);

/* Verify: RESULT is PWHASH_YES, PWHASH_NO, PWHASH_ERROR or CANCELLED. */
typedef void (*pwhash_verify_fn)(void *arg, int result);
/* Hash: HASH (a NUL-terminated Argon2id string, valid during the call) or
 * NULL with RESULT < 0. */
typedef void (*pwhash_hash_fn)(void *arg, int result, const char *hash);

/* Queues the check of PASSWORD (LEN bytes, ≤ PWHASH_PASSWORD_MAX) against
 * STORED (an Argon2id string; NULL: the dummy). 0 queued (DONE will be
 * called exactly once, later), -1 the queue is full or memory ran out
 * (DONE is never called). */
int pwhash_verify(struct pwhash *ph, const char *stored, const char *password, size_t len,
                  pwhash_verify_fn done, void *arg);
/* Queues the hashing of PASSWORD. As pwhash_verify. */
int pwhash_hash(struct pwhash *ph, const char *password, size_t len, pwhash_hash_fn done,
                void *arg);

/* Hashes PASSWORD now, on the calling thread (the command line). OUT of
 * PWHASH_STR_MAX bytes. 0 or -1. */
int pwhash_hash_now(const char *password, size_t len, char out[PWHASH_STR_MAX]);

#endif
