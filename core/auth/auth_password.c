/* auth_password — the password rules, storing a password, and the random
 * secrets of sessions and invitations (see auth.h, auth_internal.h): what
 * the sign-in (auth.c), the set-password links (auth_invite.c) and
 * `relais staff set-password` share. */
#include "auth_internal.h"

#include <string.h>

#include "json.h"
#include "log.h"
#include "pwhash.h"
#include "rtime.h"
#include "store.h"
#include "tokens.h"

#define SECRET_BYTES 32

/* --- secrets ------------------------------------------------------------ */

int auth_new_secret(char out[64])
{
    unsigned char raw[SECRET_BYTES];

    if (tokens_random(raw, sizeof raw) != 0)
        return -1;
    tokens_b64url(raw, sizeof raw, out);
    explicit_bzero(raw, sizeof raw);
    return 0;
}

/* --- the password rules -------------------------------------------------------- */

const char *auth_password_problem(const char *password, size_t len)
{
    size_t chars = 0;

    if (len > PWHASH_PASSWORD_MAX)
        return "Le mot de passe est trop long (1024 octets au plus).";
    if (!json_utf8_valid(password, len))
        return "Le mot de passe contient des caractères illisibles.";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)password[i];
        if (c < 0x20 || c == 0x7F)
            return "Le mot de passe ne doit pas contenir de retour à la ligne ni de "
                   "caractère de contrôle.";
        if ((c & 0xC0) != 0x80)
            chars++;
    }
    if (chars < AUTH_PASSWORD_MIN)
        return "Le mot de passe doit avoir au moins 10 caractères.";
    return NULL;
}

int auth_store_password(struct store *st, int64_t staff_id, const char *hash, const char **why)
{
    sqlite3_stmt *s = store_stmt(st, "UPDATE staff SET password_hash = ?2, password_set_at = ?3,"
                                     " updated_at = ?3 WHERE id = ?1 AND email IS NOT NULL");
    int64_t now = rt_now();
    int rc = -1, step;

    *why = NULL;
    if (!s || sqlite3_bind_int64(s, 1, staff_id) != SQLITE_OK
        || store_bind_text(s, 2, hash) != SQLITE_OK || sqlite3_bind_int64(s, 3, now) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step != SQLITE_DONE) {
        if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_UNIQUE) {
            *why = "another staff member signs in with this e-mail";
            rc = 1;
        }
        goto out;
    }
    if (sqlite3_changes(store_db(st)) == 0) {
        *why = "no such staff member with an e-mail";
        rc = 1;
        goto out;
    }
    store_done(s);
    /* A new password ends every session and every link still pending. */
    s = store_stmt(st, "UPDATE staff_sessions SET revoked_at = ?2 WHERE staff_id = ?1"
                       " AND revoked_at IS NULL");
    if (!s || sqlite3_bind_int64(s, 1, staff_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto out;
    store_done(s);
    s = store_stmt(st, "UPDATE staff_invites SET used_at = ?2 WHERE staff_id = ?1"
                       " AND used_at IS NULL");
    if (!s || sqlite3_bind_int64(s, 1, staff_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, now) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        log_error("auth", "storing the password of staff %lld: %s", (long long)staff_id,
                  sqlite3_errmsg(store_db(st)));
    store_done(s);
    return rc;
}
