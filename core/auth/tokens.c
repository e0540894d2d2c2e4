/* tokens — API bearer tokens (see tokens.h). */
#include "tokens.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "rcache.h"
#include "store.h"

#define TOKEN_PREFIX "rls_"
#define TOKEN_RANDOM 32                       /* 256 bits */
#define TOKEN_LEN (4 + 43)                    /* prefix + base64url of 32 bytes */
#define LAST_USED_STEP 3600                   /* last_used_at is kept to the hour */

int tokens_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            log_error("tokens", "getrandom: %s", strerror(errno));
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

void tokens_b64url(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i = 0;
    char *o = out;

    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        *o++ = abc[(v >> 18) & 63];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
        *o++ = abc[v & 63];
    }
    if (n - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        *o++ = abc[(v >> 18) & 63];
        *o++ = abc[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
        *o++ = abc[(v >> 18) & 63];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
    }
    *o = '\0';
}

/* SHA-256 that reports failure (only out of memory inside OpenSSL), so the
 * token functions never store or look up a meaningless hash. Every API
 * request hashes its token: the implementation is fetched once, because
 * OpenSSL 3 looks EVP_sha256() up in its provider tables on every digest
 * otherwise, a quarter of the cost of checking a token; the context is kept
 * too, which saves EVP_Digest's allocations. Both live as long as the
 * process (the event loop is the only thread hashing). */
static int sha256(const void *in, size_t n, unsigned char out[32])
{
    static EVP_MD *md;
    static EVP_MD_CTX *ctx;
    unsigned int len = 0;

    if (!md && !(md = EVP_MD_fetch(NULL, "SHA256", NULL))) {
        log_error("tokens", "SHA-256 is not available");
        return -1;
    }
    if (!ctx && !(ctx = EVP_MD_CTX_new())) {
        log_error("tokens", "SHA-256: out of memory");
        return -1;
    }
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, in, n) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32) {
        log_error("tokens", "SHA-256 failed");
        return -1;
    }
    return 0;
}

void tokens_sha256(const void *in, size_t n, unsigned char out[32])
{
    /* The void contract cannot report the failure: zeros, which no stored
     * token hash equals, are the least harmful answer. */
    if (sha256(in, n, out) != 0)
        memset(out, 0, 32);
}

int tokens_sha256_checked(const void *in, size_t n, unsigned char out[32])
{
    return sha256(in, n, out);
}

int tokens_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int tokens_add(struct store *st, int role, const char *name, int64_t staff_id,
               char *plain, size_t n, char **err)
{
    return tokens_add_until(st, role, name, staff_id, 0, plain, n, err);
}

int tokens_add_until(struct store *st, int role, const char *name, int64_t staff_id,
                     int64_t expires_at, char *plain, size_t n, char **err)
{
    unsigned char raw[TOKEN_RANDOM], hash[32];
    const char *role_name = http_role_name(role);
    sqlite3_stmt *s = NULL;
    int64_t found = 0;
    int rc = -1, q;

    *err = NULL;
    if (!role_name) {
        *err = log_errf("unknown role");
        goto out;
    }
    if (!name || !*name || strlen(name) > 200) {
        *err = log_errf("a token needs a name of 1 to 200 bytes");
        goto out;
    }
    if (staff_id < 0) {
        *err = log_errf("staff id must be positive");
        goto out;
    }
    if (expires_at < 0 || (expires_at > 0 && expires_at <= (int64_t)time(NULL))) {
        *err = log_errf("the expiry must be in the future");
        goto out;
    }
    if (!plain || n < TOKEN_LEN + 1) {
        *err = log_errf("token buffer too small");
        goto out;
    }
    if (staff_id > 0) {
        q = store_int_query(st, "SELECT 1 FROM staff WHERE id = ?1", staff_id, &found);
        if (q < 0) {
            *err = log_errf("database error: %s", sqlite3_errmsg(store_db(st)));
            goto out;
        }
        if (q == 0) {
            *err = log_errf("staff member %lld does not exist", (long long)staff_id);
            goto out;
        }
    }

    if (tokens_random(raw, sizeof raw) != 0) {
        *err = log_errf("no randomness from the OS");
        goto out;
    }
    memcpy(plain, TOKEN_PREFIX, 4);
    tokens_b64url(raw, sizeof raw, plain + 4);
    if (sha256(plain, strlen(plain), hash) != 0) {
        *err = log_errf("cannot hash the token");
        goto out;
    }

    s = store_stmt(st, "INSERT INTO api_tokens (name, role, staff_id, hash, created_at,"
                       " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s) {
        *err = log_errf("database error: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    if (store_bind_text(s, 1, name) != 0 || store_bind_text(s, 2, role_name) != 0 ||
        (staff_id > 0 ? sqlite3_bind_int64(s, 3, staff_id) : sqlite3_bind_null(s, 3))
            != SQLITE_OK ||
        sqlite3_bind_blob(s, 4, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, (int64_t)time(NULL)) != SQLITE_OK ||
        (expires_at > 0 ? sqlite3_bind_int64(s, 6, expires_at) : sqlite3_bind_null(s, 6))
            != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        *err = log_errf("cannot store the token: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    rc = 0;
out:
    store_done(s);
    OPENSSL_cleanse(raw, sizeof raw);
    if (rc != 0 && plain && n > 0)
        OPENSSL_cleanse(plain, n);
    return rc;
}

/* Whether the use at NOW must be written down: last_used_at is kept to
 * the hour. */
static int stale_use(int64_t now, int64_t last_used, int has_last)
{
    return !(has_last && now >= last_used && now - last_used < LAST_USED_STEP);
}

/* Records the use, to the hour: a write per request would turn every GET into
 * a write transaction. Inside an open transaction the update joins it;
 * otherwise it commits on its own. A failure only costs the bookkeeping.
 * *LAST_USED and *HAS_LAST become what the row now holds. */
static void touch(struct store *st, int64_t id, int64_t *last_used, int *has_last)
{
    int64_t now = (int64_t)time(NULL);
    sqlite3_stmt *s;

    if (!stale_use(now, *last_used, *has_last))
        return;
    s = store_stmt(st, "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1");
    if (!s)
        return;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, now) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        log_warn("tokens", "token %lld: cannot record its use: %s", (long long)id,
                 sqlite3_errmsg(store_db(st)));
    } else {
        *last_used = now;
        *has_last = 1;
    }
    store_done(s);
}

/* Hashes PRESENTED into HASH: 1, 0 when it is not shaped like a token, -1. */
static int presented_hash(const char *presented, unsigned char hash[32])
{
    /* Anything that is not shaped like a token cannot match: skip the
     * database (and hashing megabytes of garbage). */
    if (!presented || strlen(presented) != TOKEN_LEN ||
        strncmp(presented, TOKEN_PREFIX, 4) != 0)
        return 0;
    return sha256(presented, TOKEN_LEN, hash) == 0 ? 1 : -1;
}

/* The database half of tokens_check, by hash: 1 (INFO, *LAST_USED and
 * *HAS_LAST filled, the use recorded), 0, -1. */
static int check_hash(struct store *st, const unsigned char hash[32],
                      struct token_info *info, int64_t *last_used, int *has_last)
{
    sqlite3_stmt *s = NULL;
    int64_t id = 0, staff = 0, last = 0;
    int role = -1, has = 0, rc = -1, step;

    s = store_stmt(st, "SELECT id, role, staff_id, hash, last_used_at, expires_at"
                       " FROM api_tokens WHERE hash = ?1 AND revoked_at IS NULL"
                       " AND (expires_at IS NULL OR expires_at > ?2)");
    if (!s)
        return -1;
    if (sqlite3_bind_blob(s, 1, hash, 32, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, (int64_t)time(NULL)) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 0;
        goto out;
    }
    if (step != SQLITE_ROW) {
        log_error("tokens", "lookup failed: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    /* The index found the row by equality already; comparing again in
     * constant time keeps the decision itself free of timing leaks. */
    if (sqlite3_column_bytes(s, 3) != 32 || !tokens_equal(sqlite3_column_blob(s, 3), hash, 32)) {
        rc = 0;
        goto out;
    }
    id = sqlite3_column_int64(s, 0);
    role = http_role_parse((const char *)sqlite3_column_text(s, 1));
    staff = sqlite3_column_type(s, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 2);
    has = sqlite3_column_type(s, 4) != SQLITE_NULL;
    last = sqlite3_column_int64(s, 4);
    info->expires_at = sqlite3_column_type(s, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 5);
    if (role < 0) {
        log_error("tokens", "token %lld has an unknown role", (long long)id);
        goto out;
    }
    store_done(s);
    s = NULL;
    touch(st, id, &last, &has);
    info->id = id;
    info->role = role;
    info->staff_id = staff;
    *last_used = last;
    *has_last = has;
    rc = 1;
out:
    store_done(s);
    return rc;
}

int tokens_check(struct store *st, const char *presented, struct token_info *info)
{
    unsigned char hash[32];
    int64_t last = 0;
    int has_last = 0, rc = presented_hash(presented, hash);

    if (rc != 1)
        return rc;
    return check_hash(st, hash, info, &last, &has_last);
}

/* --- the verified-token cache -------------------------------------------- */

#define CACHE_WAYS 2
#define CACHE_SETS (TOKENS_CACHE_SLOTS / CACHE_WAYS)

struct cached {
    unsigned char hash[32];
    struct token_info info;
    struct rcache_mark mark;   /* the state it was verified at; ok 0: free */
    int64_t last_used;
    int has_last;
    uint64_t used;             /* tick of the last hit or fill */
};

struct tokens_cache {
    struct cached e[CACHE_SETS][CACHE_WAYS];
    uint64_t tick;
};

struct tokens_cache *tokens_cache_new(void)
{
    return calloc(1, sizeof(struct tokens_cache));
}

void tokens_cache_free(struct tokens_cache *c)
{
    if (!c)
        return;
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

static int same_state(const struct rcache_mark *a, const struct rcache_mark *b)
{
    return a->ok && b->ok && a->data_version == b->data_version && a->changes == b->changes;
}

/* The set is chosen by the hash's first byte: that can only tell a timing
 * observer something about the SHA-256 of a token, never the token. */
static struct cached *set_of(struct tokens_cache *c, const unsigned char hash[32])
{
    return c->e[hash[0] % CACHE_SETS];
}

static struct cached *lookup(struct tokens_cache *c, const unsigned char hash[32])
{
    struct cached *set = set_of(c, hash), *found = NULL;

    /* Every way is compared, in constant time, whatever matches first. */
    for (int i = 0; i < CACHE_WAYS; i++)
        if (set[i].mark.ok && tokens_equal(set[i].hash, hash, 32))
            found = &set[i];
    return found;
}

static void remember(struct tokens_cache *c, const unsigned char hash[32],
                     const struct token_info *info, int64_t last_used, int has_last,
                     const struct rcache_mark *m)
{
    struct cached *set = set_of(c, hash), *e = lookup(c, hash);

    for (int i = 0; !e && i < CACHE_WAYS; i++)
        if (!set[i].mark.ok)
            e = &set[i];
    if (!e) {   /* the set is full: its least recently used entry goes */
        e = &set[0];
        for (int i = 1; i < CACHE_WAYS; i++)
            if (set[i].used < e->used)
                e = &set[i];
    }
    memcpy(e->hash, hash, 32);
    e->info = *info;
    e->mark = *m;
    e->last_used = last_used;
    e->has_last = has_last;
    e->used = ++c->tick;
}

int tokens_check_cached(struct store *st, struct tokens_cache *c, const struct rcache_mark *m,
                        const char *presented, struct token_info *info)
{
    unsigned char hash[32];
    struct cached *e;
    struct rcache_mark after;
    int64_t last = 0;
    int has_last = 0, rc = presented_hash(presented, hash);

    if (rc != 1)
        return rc;
    if (c && (e = lookup(c, hash))) {
        int64_t now = (int64_t)time(NULL);

        /* An expiry needs no change of the database to take effect. */
        if (same_state(&e->mark, m) && !stale_use(now, e->last_used, e->has_last) &&
            !(e->info.expires_at && now >= e->info.expires_at)) {
            e->used = ++c->tick;
            *info = e->info;
            return 1;
        }
        /* Verified at another state (or its use is due to be recorded):
         * the database decides again. */
        memset(e, 0, sizeof *e);
    }
    rc = check_hash(st, hash, info, &last, &has_last);
    if (rc != 1 || !c || !m->ok)
        return rc;
    /* Recording the use is a write by this connection, which moves the
     * changes counter; data_version moves only for other connections. */
    after = *m;
    after.changes = (int64_t)sqlite3_total_changes64(store_db(st));
    if (sqlite3_get_autocommit(store_db(st)))
        remember(c, hash, info, last, has_last, &after);
    return rc;
}

/* --- the server's checker -------------------------------------------------- */

/* http_bearer_fn: the token of a request, against its app's store. */
static int bearer_check(void *arg, struct http_req *req, const char *token)
{
    struct token_info info;
    struct rcache_mark mark;
    int rc;

    if (!req->app || !req->app->store)
        return -1;
    /* The state read here is the one rcache reuses for the rest of the
     * request (rcache_state). */
    rcache_state(req->app->rcache, req->app->store, &mark);
    rc = tokens_check_cached(req->app->store, arg, &mark, token, &info);
    if (rc == 1) {
        req->role = info.role;
        req->token_id = info.id;
        req->staff_id = info.staff_id;
    }
    return rc;
}

static void cache_free(void *c)
{
    tokens_cache_free(c);
}

int tokens_guard(struct http_server *hs)
{
    struct tokens_cache *c = tokens_cache_new();

    if (!c)
        return -1;
    http_bearer_auth(hs, bearer_check, c, cache_free);
    return 0;
}

/* --- listing and revoking ------------------------------------------------- */

static int64_t col_time(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

int tokens_list(struct store *st, void (*fn)(const struct token_row *row, void *arg), void *arg)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, name, role, staff_id, created_at, last_used_at,"
                                     " expires_at, revoked_at FROM api_tokens ORDER BY id");
    int rc;

    if (!s)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct token_row row = {
            sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
            http_role_parse((const char *)sqlite3_column_text(s, 2)), col_time(s, 3),
            col_time(s, 4), col_time(s, 5), col_time(s, 6), col_time(s, 7),
        };

        fn(&row, arg);
    }
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int tokens_revoke(struct store *st, int64_t id, int64_t *when)
{
    sqlite3_stmt *s = store_stmt(st, "UPDATE api_tokens SET revoked_at = ?2"
                                     " WHERE id = ?1 AND revoked_at IS NULL");
    int64_t at = 0;
    int rc = -1, found;

    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, (int64_t)time(NULL)) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto out;
    if (sqlite3_changes(store_db(st)) == 1) {
        rc = 1;
        goto out;
    }
    found = store_int_query(st, "SELECT revoked_at FROM api_tokens WHERE id = ?1", id, &at);
    if (found < 0)
        goto out;
    rc = found == 0 ? 0 : 2;
    if (when)
        *when = at;
out:
    store_done(s);
    return rc;
}
