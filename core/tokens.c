/* tokens — API bearer tokens (see include/relais/tokens.h). */
#include "relais/tokens.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "relais/http.h"
#include "relais/log.h"
#include "relais/store.h"

#define TOKEN_PREFIX "rls_"
#define TOKEN_RANDOM 32                       /* 256 bits */
#define TOKEN_LEN (4 + 43)                    /* prefix + base64url of 32 bytes */
#define LAST_USED_STEP 3600                   /* last_used_at is kept to the hour */

static char *fmt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_err(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static const struct {
    const char *name;
    int role;
} roles[] = {
    {"admin", ROLE_ADMIN},
    {"coordinator", ROLE_COORDINATOR},
    {"trainer", ROLE_TRAINER},
};

int tokens_role_parse(const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(s, roles[i].name) == 0)
            return roles[i].role;
    return -1;
}

const char *tokens_role_name(int role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return NULL;
}

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
 * token functions never store or look up a meaningless hash. */
static int sha256(const void *in, size_t n, unsigned char out[32])
{
    unsigned int len = 0;

    if (EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32) {
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

int tokens_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int tokens_add(struct store *st, int role, const char *name, int64_t staff_id,
               char *plain, size_t n, char **err)
{
    unsigned char raw[TOKEN_RANDOM], hash[32];
    const char *role_name = tokens_role_name(role);
    sqlite3_stmt *s = NULL;
    int64_t found = 0;
    int rc = -1, q;

    *err = NULL;
    if (!role_name) {
        *err = fmt_err("unknown role");
        goto out;
    }
    if (!name || !*name || strlen(name) > 200) {
        *err = fmt_err("a token needs a name of 1 to 200 bytes");
        goto out;
    }
    if (staff_id < 0) {
        *err = fmt_err("staff id must be positive");
        goto out;
    }
    if (!plain || n < TOKEN_LEN + 1) {
        *err = fmt_err("token buffer too small");
        goto out;
    }
    if (staff_id > 0) {
        q = store_int_query(st, "SELECT 1 FROM staff WHERE id = ?1", staff_id, &found);
        if (q < 0) {
            *err = fmt_err("database error: %s", sqlite3_errmsg(store_db(st)));
            goto out;
        }
        if (q == 0) {
            *err = fmt_err("staff member %lld does not exist", (long long)staff_id);
            goto out;
        }
    }

    if (tokens_random(raw, sizeof raw) != 0) {
        *err = fmt_err("no randomness from the OS");
        goto out;
    }
    memcpy(plain, TOKEN_PREFIX, 4);
    tokens_b64url(raw, sizeof raw, plain + 4);
    if (sha256(plain, strlen(plain), hash) != 0) {
        *err = fmt_err("cannot hash the token");
        goto out;
    }

    s = store_stmt(st, "INSERT INTO api_tokens (name, role, staff_id, hash, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s) {
        *err = fmt_err("database error: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    if (store_bind_text(s, 1, name) != 0 || store_bind_text(s, 2, role_name) != 0 ||
        (staff_id > 0 ? sqlite3_bind_int64(s, 3, staff_id) : sqlite3_bind_null(s, 3))
            != SQLITE_OK ||
        sqlite3_bind_blob(s, 4, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, (int64_t)time(NULL)) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        *err = fmt_err("cannot store the token: %s", sqlite3_errmsg(store_db(st)));
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

/* Records the use, to the hour: a write per request would turn every GET into
 * a write transaction. Inside an open transaction the update joins it;
 * otherwise it commits on its own. A failure only costs the bookkeeping. */
static void touch(struct store *st, int64_t id, int64_t last_used, int has_last)
{
    int64_t now = (int64_t)time(NULL);
    sqlite3_stmt *s;

    if (has_last && now >= last_used && now - last_used < LAST_USED_STEP)
        return;
    s = store_stmt(st, "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1");
    if (!s)
        return;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, now) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        log_warn("tokens", "token %lld: cannot record its use: %s", (long long)id,
                 sqlite3_errmsg(store_db(st)));
    store_done(s);
}

int tokens_check(struct store *st, const char *presented, struct token_info *info)
{
    unsigned char hash[32];
    sqlite3_stmt *s = NULL;
    int64_t id = 0, staff = 0, last = 0;
    int role = -1, has_last = 0, rc = -1, step;

    /* Anything that is not shaped like a token cannot match: skip the
     * database (and hashing megabytes of garbage). */
    if (!presented || strlen(presented) != TOKEN_LEN ||
        strncmp(presented, TOKEN_PREFIX, 4) != 0)
        return 0;
    if (sha256(presented, TOKEN_LEN, hash) != 0)
        return -1;

    s = store_stmt(st, "SELECT id, role, staff_id, hash, last_used_at FROM api_tokens"
                       " WHERE hash = ?1 AND revoked_at IS NULL");
    if (!s)
        return -1;
    if (sqlite3_bind_blob(s, 1, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK)
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
    if (sqlite3_column_bytes(s, 3) != (int)sizeof hash ||
        !tokens_equal(sqlite3_column_blob(s, 3), hash, sizeof hash)) {
        rc = 0;
        goto out;
    }
    id = sqlite3_column_int64(s, 0);
    role = tokens_role_parse((const char *)sqlite3_column_text(s, 1));
    staff = sqlite3_column_type(s, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 2);
    has_last = sqlite3_column_type(s, 4) != SQLITE_NULL;
    last = sqlite3_column_int64(s, 4);
    if (role < 0) {
        log_error("tokens", "token %lld has an unknown role", (long long)id);
        goto out;
    }
    store_done(s);
    s = NULL;
    touch(st, id, last, has_last);
    info->id = id;
    info->role = role;
    info->staff_id = staff;
    rc = 1;
out:
    store_done(s);
    return rc;
}
