/* ratelimit — token buckets keyed by client address, in a table of bounded
 * size.
 *
 * Each key has a bucket of BURST tokens that refills at PER_MINUTE tokens a
 * minute. The table holds at most a fixed number of keys, in sets of 8 by
 * hash: a new key takes the slot of its set that was used longest ago, so
 * memory never grows with the number of clients (a client pushed out starts
 * again with a full bucket: an attacker with very many addresses is not what
 * this stops). Times are milliseconds of a monotonic clock, passed in so
 * that tests control them.
 *
 * Ownership: ratelimit_new returns a table the caller frees with
 * ratelimit_free; keys are copied (cut at RATELIMIT_KEY_MAX - 1 bytes). */
#ifndef RELAIS_RATELIMIT_H
#define RELAIS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 48   /* an IPv6 literal with a zone fits */

struct ratelimit;

/* A table of at least MAX_KEYS keys (rounded up to a multiple of 8).
 * NULL when out of memory or an argument is < 1. */
struct ratelimit *ratelimit_new(size_t max_keys, int per_minute, int burst);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token of KEY's bucket at NOW_MS. 0 when there was one; else 1
 * and *RETRY_AFTER (may be NULL) is the whole seconds (≥ 1) until one is
 * back. */
int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after);
/* As ratelimit_take, but takes nothing: 0 when a token is there. */
int ratelimit_check(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after);
/* Changes RL's rates in place (a configuration reload): every key keeps
 * its bucket, cut down to the new BURST. 0, or -1 when an argument is < 1
 * (nothing changed). */
int ratelimit_set_rates(struct ratelimit *rl, int per_minute, int burst);
/* How many keys RL holds at most (MAX_KEYS rounded up). */
size_t ratelimit_capacity(const struct ratelimit *rl);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t ratelimit_now_ms(void);

#endif
