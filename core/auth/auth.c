/* auth — staff sign-in: POST /auth/login and /auth/logout, the session
 * cookie behind /api/, and the failure limits (see auth.h). The password
 * rules are in auth_password.c, the e-mailed set-password links in
 * auth_invite.c. */
#include "auth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "pwhash.h"
#include "ratelimit.h"
#include "rtime.h"
#include "store.h"
#include "tokens.h"

#define TOUCH_STEP 60          /* last_seen_at is kept to the minute */
#define EMAIL_MAX 254

/* --- failure limits ---------------------------------------------------------- */

static void fail_key(const char *kind, const char *value, unsigned char key[FAIL_KEY])
{
    char buf[EMAIL_MAX + RATELIMIT_KEY_MAX + 16];
    unsigned char digest[32];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s:%s", kind, value);

    tokens_sha256(buf, n < sizeof buf ? n : sizeof buf - 1, digest);
    memcpy(key, digest, FAIL_KEY);
}

/* The entry of KEY, or (CREATE) a fresh one in place of the set's least
 * recently used; NULL when there is none and CREATE is 0. */
static struct auth_fails *fails_find(struct auth *a, const unsigned char key[FAIL_KEY],
                                     int create, int64_t now)
{
    unsigned set = ((unsigned)key[0] | (unsigned)key[1] << 8) % FAIL_SETS;
    struct auth_fails *ways = &a->fails[set * FAIL_WAYS], *oldest = &ways[0];

    for (int i = 0; i < FAIL_WAYS; i++) {
        if (ways[i].used && memcmp(ways[i].key, key, FAIL_KEY) == 0) {
            ways[i].used = now;
            return &ways[i];
        }
        if (ways[i].used < oldest->used)
            oldest = &ways[i];
    }
    if (!create)
        return NULL;
    memset(oldest, 0, sizeof *oldest);
    memcpy(oldest->key, key, FAIL_KEY);
    oldest->used = now;
    return oldest;
}

/* 0 when KEY may try, else the seconds until it may (≥ 1). */
static int64_t fails_wait(struct auth *a, const unsigned char key[FAIL_KEY], int64_t now)
{
    struct auth_fails *f = fails_find(a, key, 0, now);
    int64_t oldest;

    if (!f || f->n < AUTH_FAILURES_MAX)
        return 0;
    oldest = f->times[f->head];   /* the ring is full: head is the oldest */
    return oldest + AUTH_FAILURES_WINDOW > now ? oldest + AUTH_FAILURES_WINDOW - now : 0;
}

static void fails_add(struct auth *a, const unsigned char key[FAIL_KEY], int64_t now)
{
    struct auth_fails *f = fails_find(a, key, 1, now);

    f->times[f->head] = now;
    f->head = (f->head + 1) % AUTH_FAILURES_MAX;
    if (f->n < AUTH_FAILURES_MAX)
        f->n++;
}

static void fails_clear(struct auth *a, const unsigned char key[FAIL_KEY], int64_t now)
{
    struct auth_fails *f = fails_find(a, key, 0, now);

    if (f)
        memset(f, 0, sizeof *f);
}

/* --- the cookie ------------------------------------------------------------------ */

/* Set-Cookie for VALUE living MAX_AGE seconds (0: cleared). */
static void set_cookie(struct http_req *req, const char *value, int64_t max_age)
{
    char h[256];

    snprintf(h, sizeof h, AUTH_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             value, (long long)max_age, config_public_https(req->app->cfg) ? "; Secure" : "");
    http_reply_header(req, "Set-Cookie", h);
}

/* http_session_fn: the session behind the cookie VALUE. */
static int session_check(struct http_req *req, const char *value)
{
    struct store *st = req->app->store;
    const struct config_login *l = &req->app->cfg->login;
    sqlite3_stmt *s = store_stmt(st, "SELECT s.id, s.staff_id, st.role, s.last_seen_at,"
                                     " s.expires_at FROM staff_sessions s"
                                     " JOIN staff st ON st.id = s.staff_id"
                                     " WHERE s.hash = ?1 AND s.revoked_at IS NULL"
                                     " AND st.password_hash IS NOT NULL");
    unsigned char hash[32];
    int64_t now = rt_now(), id = 0, seen = 0;
    const char *role;
    int rc = -1, step;

    tokens_sha256(value, strlen(value), hash);
    if (!s || sqlite3_bind_blob(s, 1, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 0;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    id = sqlite3_column_int64(s, 0);
    seen = sqlite3_column_int64(s, 3);
    role = (const char *)sqlite3_column_text(s, 2);
    if (now >= sqlite3_column_int64(s, 4) || now - seen >= l->idle) {
        rc = 0;
        goto out;
    }
    req->role = role && strcmp(role, "coordinator") == 0 ? ROLE_COORDINATOR : ROLE_TRAINER;
    req->staff_id = sqlite3_column_int64(s, 1);
    req->token_id = 0;
    rc = 1;
out:
    store_done(s);
    if (rc == 0)
        set_cookie(req, "", 0);   /* the browser forgets a session that is over */
    if (rc == 1 && now - seen >= TOUCH_STEP) {
        /* Outside any transaction: its own, whatever the request does. */
        sqlite3_stmt *u = store_stmt(st, "UPDATE staff_sessions SET last_seen_at = ?2"
                                         " WHERE id = ?1");
        if (!u || sqlite3_bind_int64(u, 1, id) != SQLITE_OK
            || sqlite3_bind_int64(u, 2, now) != SQLITE_OK || sqlite3_step(u) != SQLITE_DONE)
            log_warn("auth", "session %lld: last use not recorded", (long long)id);
        store_done(u);
    }
    return rc;
}

/* --- POST /auth/login -------------------------------------------------------------- */

/* A sign-in waiting for its password check. */
struct login {
    struct http_req *req;
    struct auth *a;
    int64_t staff_id;                  /* 0: no such e-mail (the dummy is checked) */
    char stored[PWHASH_STR_MAX];       /* the hash checked, to see it still holds */
    unsigned char ip_key[FAIL_KEY], email_key[FAIL_KEY];
};

static void answer_wrong(struct http_req *req)
{
    /* The same words whatever was wrong. */
    http_problem(req, 401, "wrong e-mail or password");
}

/* After a right password: a new session, in its own transaction (a
 * deferred request has none). 0, 1 the account changed meanwhile, -1. */
static int open_session(struct login *lg, char secret[64])
{
    struct store *st = lg->a->app->store;
    const struct config_login *l = &lg->a->app->cfg->login;
    sqlite3_stmt *s = NULL;
    unsigned char hash[32];
    int64_t now = rt_now(), same = 0;
    int rc = -1;

    if (auth_new_secret(secret) != 0 || store_begin(st) != 0)
        return -1;
    s = store_stmt(st, "SELECT password_hash = ?2 FROM staff WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, lg->staff_id) != SQLITE_OK
        || store_bind_text(s, 2, lg->stored) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) == SQLITE_ROW)
        same = sqlite3_column_int(s, 0);
    store_done(s);
    s = NULL;
    if (!same) {
        rc = 1;
        goto out;
    }
    tokens_sha256(secret, strlen(secret), hash);
    s = store_stmt(st, "INSERT INTO staff_sessions (staff_id, hash, created_at, last_seen_at,"
                       " expires_at) VALUES (?1, ?2, ?3, ?3, ?4)");
    if (!s || sqlite3_bind_int64(s, 1, lg->staff_id) != SQLITE_OK
        || sqlite3_bind_blob(s, 2, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, now) != SQLITE_OK
        || sqlite3_bind_int64(s, 4, now + l->max) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        goto out;
    rc = 0;
out:
    store_done(s);
    if (rc == 0 && store_commit(st) == 0)
        return 0;
    store_rollback(st);
    return rc == 0 ? -1 : rc;
}

static void on_verified(void *arg, int result)
{
    struct login *lg = arg;
    struct http_req *req = lg->req;
    int64_t now = rt_now();
    char secret[64];
    int rc;

    if (result == PWHASH_YES && lg->staff_id) {
        rc = open_session(lg, secret);
        if (rc == 0) {
            fails_clear(lg->a, lg->email_key, now);
            set_cookie(req, secret, lg->a->app->cfg->login.max);
            http_reply_empty(req, 204);
            log_info("auth", "staff %lld signed in", (long long)lg->staff_id);
        } else if (rc == 1) {
            answer_wrong(req);   /* the password changed while it was checked */
        } else {
            http_problem(req, 500, "the session could not be opened");
        }
        explicit_bzero(secret, sizeof secret);
    } else if (result == PWHASH_YES || result == PWHASH_NO) {
        fails_add(lg->a, lg->ip_key, now);
        fails_add(lg->a, lg->email_key, now);
        answer_wrong(req);
    } else {
        http_problem(req, 503, "the password could not be checked; try again");
    }
    explicit_bzero(lg, sizeof *lg);
    free(lg);
    http_finish(req);
}

/* The living staff member who signs in with EMAIL: 1 (*ID, STORED
 * filled), 0 none, -1 error. */
static int find_account(struct store *st, const char *email, int64_t *id,
                        char stored[PWHASH_STR_MAX])
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, password_hash FROM staff"
                                     " WHERE lower(email) = lower(?1) AND password_hash IS NOT NULL");
    int rc = -1, step;

    if (!s || store_bind_text(s, 1, email) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE)
        rc = 0;
    else if (step == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(s, 1);
        *id = sqlite3_column_int64(s, 0);
        snprintf(stored, PWHASH_STR_MAX, "%s", h ? h : "");
        rc = 1;
    }
out:
    store_done(s);
    return rc;
}

static void h_login(struct http_req *req)
{
    static const char *const known[] = {"email", "password", NULL};
    struct auth *a = req->app->auth;
    struct json_check c;
    struct login *lg = NULL;
    cJSON *body = NULL;
    const char *email = NULL;
    char *password = NULL, lower[EMAIL_MAX + 1], n[24];
    int64_t now = rt_now(), wait;
    size_t len = 0, plen = 0;
    int rc;

    json_check_init(&c);
    if (!a) {
        http_problem(req, 503, "the sign-in is not available");
        goto out;
    }
    if (!(body = http_json_body(req)))
        goto out;
    json_check_known(&c, body, known);
    json_get_str(&c, body, "email", 1, EMAIL_MAX, &email);
    /* The password is wiped from the body once handed over: its text is
     * the tree's own (cJSON valuestring), hence not const. */
    if (json_get_str(&c, body, "password", 1, (size_t)1 << 20, (const char **)&password)
        == JSON_OK)
        len = plen = strlen(password);
    if (json_check_failed(&c)) {
        http_problem_invalid(req, &c);
        goto out;
    }
    if (!(lg = calloc(1, sizeof *lg)))
        goto fail;
    /* The e-mail's key without case, as the lookup compares it. */
    {
        size_t n = strlen(email);   /* ≤ EMAIL_MAX: json_get_str checked it */
        for (size_t i = 0; i < n; i++)
            lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
        lower[n] = '\0';
    }
    /* The client as the rate limits see it: behind a trusted proxy, the
     * address it forwarded (http_client_addr), not the proxy's, which
     * would lock every person out after ten failures of anyone. */
    fail_key("ip", http_client_addr(req), lg->ip_key);
    fail_key("email", lower, lg->email_key);
    /* Decided before any hashing: a flood costs a lookup each. */
    wait = fails_wait(a, lg->ip_key, now);
    if (wait < fails_wait(a, lg->email_key, now))
        wait = fails_wait(a, lg->email_key, now);
    if (wait > 0) {
        snprintf(n, sizeof n, "%lld", (long long)wait);
        http_problem(req, 429, "too many failed sign-ins; try again later");
        http_reply_header(req, "Retry-After", n);
        goto out;
    }
    if ((rc = find_account(req->app->store, email, &lg->staff_id, lg->stored)) < 0)
        goto fail;
    /* A password no one can have (too long) is checked as a wrong one, for
     * the same answer after the same work. */
    if (len > PWHASH_PASSWORD_MAX) {
        lg->staff_id = 0;
        len = PWHASH_PASSWORD_MAX;
    }
    lg->req = req;
    lg->a = a;
    if (http_defer(req) != 0)
        goto fail;
    if (pwhash_verify(a->ph, lg->staff_id ? lg->stored : NULL, password, len, on_verified,
                      lg) != 0) {
        http_problem(req, 503, "too many sign-ins at once; try again in a moment");
        http_reply_header(req, "Retry-After", "1");
        http_finish(req);
    } else {
        lg = NULL;   /* on_verified answers and frees it */
    }
    goto out;
fail:
    http_problem(req, 500, "the sign-in could not be checked");
out:
    if (lg) {
        explicit_bzero(lg, sizeof *lg);
        free(lg);
    }
    if (password)
        explicit_bzero(password, plen);
    cJSON_Delete(body);
    json_check_free(&c);
}

/* --- POST /auth/logout ----------------------------------------------------------- */

static void h_logout(struct http_req *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req->ev);
    const char *cookie = evhttp_find_header(in, "Cookie");
    char value[128];
    unsigned char hash[32];
    sqlite3_stmt *s;

    /* Only our cookie's value: the first "relais_session=" pair. */
    value[0] = '\0';
    for (const char *p = cookie; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, AUTH_COOKIE "=", sizeof AUTH_COOKIE) == 0) {
            size_t n = strcspn(p + sizeof AUTH_COOKIE, "; \t");
            if (n < sizeof value) {
                memcpy(value, p + sizeof AUTH_COOKIE, n);
                value[n] = '\0';
            }
            break;
        }
    }
    if (value[0]) {
        tokens_sha256(value, strlen(value), hash);
        s = store_stmt(req->app->store, "UPDATE staff_sessions SET revoked_at = ?2"
                                        " WHERE hash = ?1 AND revoked_at IS NULL");
        if (!s || sqlite3_bind_blob(s, 1, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK
            || sqlite3_bind_int64(s, 2, rt_now()) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
            store_done(s);
            http_problem(req, 500, "the session could not be ended");
            return;
        }
        store_done(s);
        explicit_bzero(value, sizeof value);
    }
    /* Signed out whatever it was: no session is a session ended. */
    set_cookie(req, "", 0);
    http_reply_empty(req, 204);
}

/* --- GET /auth/me ---------------------------------------------------------------- */

/* Who is asking (cookie or token): {role, staff_id, staff_name, session},
 * so that a client shows a trainer only what their role allows. */
static void h_me(struct http_req *req)
{
    cJSON *o = cJSON_CreateObject();
    char *name = NULL;
    sqlite3_stmt *s;

    if (!o) {
        http_problem(req, 500, "out of memory");
        return;
    }
    if (req->staff_id) {
        s = store_stmt(req->app->store, "SELECT name FROM staff WHERE id = ?1");
        if (s && sqlite3_bind_int64(s, 1, req->staff_id) == SQLITE_OK
            && sqlite3_step(s) == SQLITE_ROW)
            name = store_col_strdup(s, 0);
        store_done(s);
    }
    json_add_str(o, "role", http_role_name(req->role));
    if (req->staff_id)
        json_add_int(o, "staff_id", req->staff_id);
    else
        json_add_str(o, "staff_id", NULL);
    json_add_str(o, "staff_name", name);
    /* A session signs out with /auth/logout; a token stays in its client. */
    if (!cJSON_AddBoolToObject(o, "session", req->token_id == 0)) {
        cJSON_Delete(o);
        o = NULL;
    }
    free(name);
    http_reply_header(req, "Cache-Control", "no-store");
    http_reply_json(req, 200, o);
}

/* --- the module ---------------------------------------------------------------- */

int auth_new(struct app *app, struct auth **out)
{
    struct auth *a = calloc(1, sizeof *a);

    *out = NULL;
    if (!a)
        return -1;
    a->app = app;
    if (pwhash_new(app->base, &a->ph) != 0) {
        free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void auth_set_mailer(struct auth *a, auth_mail_fn send, void *arg)
{
    a->mail = send;
    a->mail_arg = arg;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    pwhash_free(a->ph);
    explicit_bzero(a, sizeof *a);
    free(a);
}

int auth_register(struct app *app)
{
    struct http_server *hs = app->http;

    if (http_route(hs, HTTP_POST, "/auth/login", ROUTE_PUBLIC, h_login) != 0
        || http_route(hs, HTTP_POST, "/auth/logout", ROUTE_PUBLIC, h_logout) != 0
        || http_route(hs, HTTP_GET, "/auth/me", ROLES_ALL, h_me) != 0
        || http_session_auth(hs, AUTH_COOKIE, session_check) != 0
        || auth_invite_register(app) != 0)
        return -1;
    return 0;
}
