/* tokens — API bearer tokens: creation, hashing, lookup.
 *
 * A token is "rls_" followed by 43 base64url characters (256 random bits
 * from the OS). Only its SHA-256 is stored; lookup goes by the hash and the
 * stored hash is compared again in constant time. The plain token exists
 * once, on stdout of `relais token add`. A token is refused once revoked
 * (`relais token revoke`) or past its expiry (`--expires`), from the next
 * request on, cache or not.
 */
#ifndef RELAIS_TOKENS_H
#define RELAIS_TOKENS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

struct token_info {
    int64_t id;
    int role;          /* enum http_role */
    int64_t staff_id;  /* 0 when unbound */
    int64_t expires_at;/* 0: never */
};

/* Creates a token. PLAIN (≥ 64 bytes) receives the token text. A STAFF_ID of
 * 0 binds nobody; otherwise the staff member must exist. 0 or -1 with *err
 * (malloc'd). */
int tokens_add(struct store *st, int role, const char *name, int64_t staff_id,
               char *plain, size_t n, char **err);
/* tokens_add of a token that stops working at EXPIRES_AT (Unix seconds,
 * in the future; 0: never). */
int tokens_add_until(struct store *st, int role, const char *name, int64_t staff_id,
                     int64_t expires_at, char *plain, size_t n, char **err);
/* Looks up a presented token: 1 found (INFO filled), 0 unknown, revoked or
 * expired, -1 database error. */
int tokens_check(struct store *st, const char *presented, struct token_info *info);

/* What `relais token list` shows of a token: never its secret. Times are
 * Unix seconds, 0 when there is none; NAME is valid during the call. */
struct token_row {
    int64_t id;
    const char *name;
    int role;
    int64_t staff_id;
    int64_t created_at, last_used_at, expires_at, revoked_at;
};
/* Calls FN for every token, by id. 0, or -1 (database error). */
int tokens_list(struct store *st, void (*fn)(const struct token_row *row, void *arg),
                void *arg);
/* Prints the tokens to OUT, a header then one aligned line each: id, role,
 * staff, state (active, expired, revoked), created, last used, expires,
 * revoked (RFC 3339 UTC or "-"), name. 0 or -1. (core/auth/tokens_cli.c) */
int tokens_print_list(struct store *st, FILE *out);
/* Revokes token ID now: 1 done, 0 no such token, 2 it was revoked already
 * (*WHEN says when), -1 database error. Takes effect on a running server
 * at its next request (a change of the database drops its cache). */
int tokens_revoke(struct store *st, int64_t id, int64_t *when);

/* A bounded memory of verified tokens (TOKENS_CACHE_SLOTS), keyed by the
 * SHA-256 of the token, so that a client repeating requests costs a hash
 * and a constant-time comparison instead of a query. An entry holds only
 * while the database is in the state it was verified at (struct
 * rcache_mark: PRAGMA data_version and this connection's changes counter),
 * so a token revoked or added by anyone, through this connection or another
 * process, takes effect on the next request; failed checks are never kept.
 * A use that falls due to be recorded (last_used_at, to the hour) goes to
 * the database again. tokens_cache_new: NULL when out of memory; the caller
 * frees with tokens_cache_free. One thread. */
#define TOKENS_CACHE_SLOTS 64
struct rcache_mark;
struct tokens_cache;
struct tokens_cache *tokens_cache_new(void);
void tokens_cache_free(struct tokens_cache *c);
/* tokens_check, through C (NULL: none) with M the state of ST's database
 * now (rcache_state). Same results. */
int tokens_check_cached(struct store *st, struct tokens_cache *c, const struct rcache_mark *m,
                        const char *presented, struct token_info *info);

/* Makes HS check the bearer tokens of its requests (http_bearer_auth)
 * against their app's store, through a tokens_cache that HS owns and frees,
 * at the database state rcache reads for the request. Call it once the
 * server is made: until then HS admits no token. 0, or -1 when out of
 * memory. */
struct http_server;
int tokens_guard(struct http_server *hs);

/* Random bytes from the OS (getrandom): 0 or -1. */
int tokens_random(void *buf, size_t n);
/* base64url without padding of IN into OUT (≥ 4*n/3+2 bytes). */
void tokens_b64url(const unsigned char *in, size_t n, char *out);
/* SHA-256 of IN into OUT[32]. */
void tokens_sha256(const void *in, size_t n, unsigned char out[32]);
/* The same, for a caller that must not go on with a failed hash: 0, or -1
 * (logged) with OUT undefined. The one SHA-256 of the stored tokens (API
 * tokens, sign-in, invitations, beneficiary links). */
int tokens_sha256_checked(const void *in, size_t n, unsigned char out[32]);
/* Constant-time comparison: 1 equal, 0 different. */
int tokens_equal(const void *a, const void *b, size_t n);

#endif
