/* auth — staff sign-in to the console: e-mail and password, a session
 * cookie, and e-mailed links to set a password (api.md "Staff sign-in").
 *
 *   POST /auth/login   {"email", "password"} → 204 with the cookie
 *                      relais_session (HttpOnly, SameSite=Strict, Path=/,
 *                      Secure when public_url is https), which then
 *                      authenticates /api/ as a token of the staff member's
 *                      role would (http_session_auth)
 *   POST /auth/logout  ends the session → 204, the cookie cleared
 *   GET  /auth/me      who is asking (cookie or token): {role, staff_id,
 *                      staff_name, session}
 *   POST /api/v1/staff/{id}/invite   e-mails a one-time link (admin,
 *                      coordinator) to GET/POST /auth/set-password/{token},
 *                      a small French page (through auth_set_mailer's sender)
 *   relais staff set-password ID     (core/ops/cli_staff.c) the same from a shell
 *
 * Rules:
 * - Passwords are Argon2id strings (libsodium, core/auth/pwhash.h),
 *   hashed and checked on the worker thread, never on the loop; the login
 *   is answered when the check is done (http_defer).
 * - A wrong e-mail and a wrong password get the same 401, after the same
 *   work: an unknown e-mail is checked against a dummy hash.
 * - More than AUTH_FAILURES_MAX failures in AUTH_FAILURES_WINDOW seconds
 *   for one client address or one e-mail → 429 with Retry-After, decided
 *   before any hashing. A success clears the e-mail's count.
 * - Session ids and invitation tokens are 256 random bits; only their
 *   SHA-256 is stored. A session ends after config login.idle unused or
 *   login.max after sign-in, on logout, and when the password changes (as
 *   do pending invitations); its role is the staff member's at each
 *   request.
 * - Nothing personal is logged: staff ids only.
 *
 * Ownership: auth_new returns the module's state (with its password
 * thread), freed by auth_free, which answers the requests still waiting
 * for the thread; call it before the http server is freed.
 */
#ifndef RELAIS_AUTH_H
#define RELAIS_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct auth;
struct store;

#define AUTH_COOKIE "relais_session"
#define AUTH_FAILURES_MAX 10
#define AUTH_FAILURES_WINDOW (15 * 60)
#define AUTH_PASSWORD_MIN 10      /* characters (UTF-8 code points) */

/* The module for APP (its config, store, event loop). 0 or -1. */
int auth_new(struct app *app, struct auth **out);
void auth_free(struct auth *a);
/* The routes above and the session cookie on APP->http. 0 or -1. */
int auth_register(struct app *app);

/* How an invitation's e-mail leaves. The sign-in sits below the
 * notifications and knows no outbox: whoever starts the server hands it a
 * sender (relais serve: the outbox's email channel, core/ops/cli_serve.c).
 * SEND(ARG, ID, MSG, DONE, TOKEN) hands MSG (the fields of a "staff_invite"
 * e-mail, plugins/API.md) to the e-mail channel now, with ID, outside the
 * queue, and returns 0, then calls DONE(TOKEN, SENT, ERROR) exactly once,
 * maybe before it returns (SENT 1, or 0 with ERROR saying why, no personal
 * data, or NULL); or returns -1 when it could not hand it over (no e-mail
 * channel runs), and DONE is never called. Without a sender an invitation
 * is answered 503. */
struct cJSON;
typedef void (*auth_mail_done_fn)(void *token, int sent, const char *error);
typedef int (*auth_mail_fn)(void *arg, int64_t id, const struct cJSON *msg,
                            auth_mail_done_fn done, void *token);
void auth_set_mailer(struct auth *a, auth_mail_fn send, void *arg);

/* Why PASSWORD (LEN bytes) cannot be a password, as a French sentence, or
 * NULL when it can: at least AUTH_PASSWORD_MIN characters of valid UTF-8,
 * at most PWHASH_PASSWORD_MAX bytes, no control character. */
const char *auth_password_problem(const char *password, size_t len);
/* Stores HASH as STAFF_ID's password, inside the caller's transaction:
 * their sessions end and their pending invitations are used up. 0, 1 when
 * the staff member is gone or another one signs in with the same e-mail
 * (*WHY says which), -1 on error. */
int auth_store_password(struct store *st, int64_t staff_id, const char *hash,
                        const char **why);

#endif
