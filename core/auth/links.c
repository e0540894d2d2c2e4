/* links — the tokens in the links sent to beneficiaries (see
 * core/auth/links.h).
 *
 * The HMAC key is the secret's text: the config string as given, or the 64
 * hex characters of the secret file. So a secret moved from the file into
 * RELAIS_LINK_SECRET keeps every link ever sent working. The message is the
 * purpose byte, ":", and the enrollment id in decimal ("r:42"), and the
 * token the first 22 characters of the base64url MAC: anyone holding the
 * secret can recompute a link (the integration tests do, in Python). */
#include "links.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "rtime.h"
#include "store.h"
#include "tokens.h"

#define SECRET_MIN     32          /* characters of a configured secret */
#define SECRET_BYTES   32          /* random bytes of a generated one */
#define SECRET_HEX     (2 * SECRET_BYTES)
#define SECRET_SUFFIX  ".secret"

static char *secret;               /* NUL-terminated; NULL before links_init */
static int64_t expire_after = LINKS_EXPIRE_DEFAULT;
static size_t secret_len;

static void forget_secret(void)
{
    if (secret) {
        OPENSSL_cleanse(secret, secret_len);
        free(secret);
    }
    secret = NULL;
    secret_len = 0;
}

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Reads the secret file PATH into the module: 64 lowercase hex digits and
 * an optional final newline, in a regular file nobody but its owner may
 * touch (a group- or world-readable secret lets others forge links). 0 or -1
 * with *err. */
static int read_secret(const char *path, char **err)
{
    char buf[SECRET_HEX + 2];
    struct stat sb;
    ssize_t got;
    size_t n = 0;
    int fd, rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *err = log_errf("%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0) {
        *err = log_errf("%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        *err = log_errf("%s: the link secret must be a regular file", path);
        goto out;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        *err = log_errf("%s: the link secret is open to other users (mode %03o): "
                       "make it readable by its owner only (chmod 600)", path,
                       (unsigned)(sb.st_mode & 0777));
        goto out;
    }
    /* One byte more than a well-formed file holds, to see a longer one. */
    while (n < sizeof buf) {
        got = read(fd, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *err = log_errf("%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n == SECRET_HEX + 1 && buf[SECRET_HEX] == '\n')
        n = SECRET_HEX;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_hex(buf[i]))
            n = 0;
    if (n != SECRET_HEX) {
        *err = log_errf("%s: malformed link secret (expected %d lowercase hex digits); "
                       "restore it from a backup, or remove it to make a new one, which "
                       "breaks every link already sent", path, SECRET_HEX);
        goto out;
    }
    if (!(secret = malloc(SECRET_HEX + 1))) {
        *err = log_errf("out of memory");
        goto out;
    }
    memcpy(secret, buf, SECRET_HEX);
    secret[SECRET_HEX] = '\0';
    secret_len = SECRET_HEX;
    rc = 0;
out:
    OPENSSL_cleanse(buf, sizeof buf);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes the secret file PATH unless it exists. The secret is written in
 * full to a file of our own (O_EXCL, mode 0600) and then linked to PATH,
 * which fails when PATH exists: a second process starting at the same
 * moment either publishes first or reads the winner's complete file, never
 * a half-written one or a different secret. 0 (made or already there) or
 * -1 with *err. */
static int create_secret(const char *path, char **err)
{
    unsigned char raw[SECRET_BYTES];
    char hex[SECRET_HEX + 1], *tmp = NULL, *dircopy = NULL;
    int fd = -1, dfd, rc = -1;

    if (asprintf(&tmp, "%s.%ld.tmp", path, (long)getpid()) < 0) {
        tmp = NULL;
        *err = log_errf("out of memory");
        goto out;
    }
    if (tokens_random(raw, sizeof raw) != 0) {
        *err = log_errf("%s: no random bytes for the link secret", path);
        goto out;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[SECRET_HEX] = '\n';
    /* A file with our pid in its name can only be left by a crashed
     * process that had the same pid: no live process owns it. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    /* The secret must survive a crash: losing it breaks every link sent. */
    if (write_all(fd, hex, sizeof hex) != 0 || fsync(fd) != 0) {
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (link(tmp, path) != 0) {
        if (errno != EEXIST) {
            *err = log_errf("%s: %s", path, strerror(errno));
            goto out;
        }
    } else {
        log_info("links", "created a new link secret beside the database");
        /* Make the new directory entry durable too. */
        if ((dircopy = strdup(path)) && (dfd = open(dirname(dircopy), O_RDONLY | O_CLOEXEC |
                                                    O_DIRECTORY)) >= 0) {
            if (fsync(dfd) != 0)
                log_warn("links", "fsync of the database directory: %s", strerror(errno));
            close(dfd);
        }
    }
    rc = 0;
out:
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(hex, sizeof hex);
    if (fd >= 0)
        close(fd);
    if (tmp && unlink(tmp) != 0 && errno != ENOENT)
        log_warn("links", "cannot remove a temporary secret file: %s", strerror(errno));
    free(tmp);
    free(dircopy);
    return rc;
}

int links_init(const char *config_secret, const char *database_path, char **err)
{
    char *path = NULL;
    int rc = -1;

    *err = NULL;
    forget_secret();
    if (config_secret) {
        size_t n = strlen(config_secret);
        if (n < SECRET_MIN) {
            *err = log_errf("link_secret must have at least %d characters", SECRET_MIN);
            return -1;
        }
        if (!(secret = strdup(config_secret))) {
            *err = log_errf("out of memory");
            return -1;
        }
        secret_len = n;
        return 0;
    }
    if (!database_path || !*database_path) {
        *err = log_errf("no link_secret and no database path to keep one beside");
        return -1;
    }
    if (asprintf(&path, "%s" SECRET_SUFFIX, database_path) < 0) {
        path = NULL;
        *err = log_errf("out of memory");
        goto out;
    }
    if (access(path, F_OK) != 0) {
        if (errno != ENOENT) {
            *err = log_errf("%s: %s", path, strerror(errno));
            goto out;
        }
        if (create_secret(path, err) != 0)
            goto out;
    }
    /* Read back even when just made: what is on disk is what the next
     * start will use. */
    if (read_secret(path, err) != 0)
        goto out;
    rc = 0;
out:
    free(path);
    return rc;
}

void links_shutdown(void)
{
    forget_secret();
}

void links_set_expiry(int64_t seconds)
{
    if (seconds > 0)
        expire_after = seconds;
}

static int purpose_ok(enum links_purpose purpose)
{
    return purpose == LINKS_APPOINTMENT || purpose == LINKS_SURVEY;
}

int links_token(struct store *st, enum links_purpose purpose, int64_t enrollment_id, char *out)
{
    unsigned char mac[EVP_MAX_MD_SIZE], hash[32];
    unsigned int maclen = 0;
    char msg[32], b64[64], p[2] = {(char)purpose, '\0'};
    sqlite3_stmt *s = NULL;
    int n, rc = -1;

    out[0] = '\0';
    if (!secret) {
        log_error("links", "links_token called before links_init");
        return -1;
    }
    if (!purpose_ok(purpose) || enrollment_id <= 0)
        return -1;
    n = snprintf(msg, sizeof msg, "%c:%" PRId64, (char)purpose, enrollment_id);
    if (n < 0 || (size_t)n >= sizeof msg)
        return -1;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, (size_t)n,
              mac, &maclen) || maclen != 32) {
        log_error("links", "HMAC-SHA256 failed");
        goto out;
    }
    tokens_b64url(mac, maclen, b64);
    b64[LINKS_TOKEN_LEN] = '\0';
    if (tokens_sha256_checked(b64, LINKS_TOKEN_LEN, hash) != 0)
        goto out;
    /* The same enrollment always gives the same token: recording it again
     * is a no-op, so a message rebuilt after a crash costs nothing. */
    s = store_stmt(st, "INSERT OR IGNORE INTO links (token_hash, purpose, enrollment_id,"
                       " created_at) VALUES (?1, ?2, ?3, ?4)");
    if (!s || sqlite3_bind_blob(s, 1, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK
        || store_bind_text(s, 2, p) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, enrollment_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 4, rt_now()) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_error("links", "recording the link of enrollment %lld: %s",
                  (long long)enrollment_id, sqlite3_errmsg(store_db(st)));
        goto out;
    }
    memcpy(out, b64, LINKS_TOKEN_LEN + 1);
    rc = 0;
out:
    store_done(s);
    OPENSSL_cleanse(mac, sizeof mac);
    OPENSSL_cleanse(b64, sizeof b64);
    return rc;
}

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_';
}

int links_lookup(struct store *st, enum links_purpose purpose, const char *token,
                 int64_t *enrollment_id)
{
    unsigned char hash[32];
    char p[2] = {(char)purpose, '\0'};
    sqlite3_stmt *s;
    int rc = -1, step;

    /* Anything but the exact shape is unknown, without asking the
     * database: a probe costs nothing and learns nothing. */
    if (!token || !purpose_ok(purpose))
        return 0;
    for (int i = 0; i < LINKS_TOKEN_LEN; i++)
        if (!is_b64url(token[i]))
            return 0;
    if (token[LINKS_TOKEN_LEN] != '\0')
        return 0;
    if (tokens_sha256_checked(token, LINKS_TOKEN_LEN, hash) != 0)
        return -1;
    /* A training's enrollment ends with its last part (the training's
     * own ends_at). */
    s = store_stmt(st, "SELECT l.enrollment_id, s.ends_at FROM links l"
                       " JOIN enrollments e ON e.id = l.enrollment_id"
                       " JOIN sessions s ON s.id = e.session_id"
                       " WHERE l.token_hash = ?1 AND l.purpose = ?2");
    if (!s)
        return -1;
    if (sqlite3_bind_blob(s, 1, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK
        || store_bind_text(s, 2, p) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        int64_t ends = sqlite3_column_int64(s, 1);

        *enrollment_id = sqlite3_column_int64(s, 0);
        rc = ends <= INT64_MAX - expire_after && rt_now() > ends + expire_after
             ? LINKS_EXPIRED : 1;
    } else if (step == SQLITE_DONE) {
        rc = 0;
    } else {
        log_error("links", "looking up a link: %s", sqlite3_errmsg(store_db(st)));
    }
out:
    store_done(s);
    return rc;
}
