/* auth_invite — e-mailed one-time links to set a staff member's password.
 *
 *   POST /api/v1/staff/{id}/invite     (admin, coordinator) records an
 *       invitation and e-mails its link through the sender the server gave
 *       (auth_set_mailer: the outbox's email channel, kind "staff_invite");
 *       202 once the sender took it, 502 when it refused, 503 without an
 *       email channel
 *   GET  /auth/set-password/{token}    a small French form
 *   POST /auth/set-password/{token}    password + confirmation (a form):
 *       hashed on the password thread, then stored; the link is used up
 *
 * A link works once and until config login.invite after it was made; a
 * new password (however set) uses up every pending link of that person and
 * ends their sessions (auth_store_password). Every answer under
 * /auth/set-password/ is a French page, as the beneficiaries' are. */
#include "auth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "html.h"
#include "app.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "pwhash.h"
#include "rtime.h"
#include "store.h"
#include "tokens.h"

#define URL_MAX 2048
#define TOKEN_LEN 43

/* --- POST /api/v1/staff/{id}/invite ------------------------------------------------ */

/* An invitation waiting for the email sender's answer. */
struct invite {
    struct http_req *req;
    int64_t id, staff_id, expires_at;
    int in_call;          /* the sender is still inside auth's mail function */
    int done;             /* its answer came */
    int orphan;           /* the request was answered without it */
    int sent;
    char error[200];
};

static void answer_invite(struct invite *iv)
{
    struct http_req *req = iv->req;
    cJSON *o;

    if (!iv->sent) {
        http_problem(req, 502, "the e-mail could not be sent (%s); try again later",
                     iv->error[0] ? iv->error : "the gateway refused it");
        return;
    }
    if (!(o = cJSON_CreateObject())) {
        http_problem(req, 500, "out of memory");
        return;
    }
    json_add_int(o, "id", iv->id);
    json_add_int(o, "staff_id", iv->staff_id);
    json_add_time(o, "expires_at", iv->expires_at);
    http_reply_json(req, 202, o);
}

/* auth_mail_done_fn */
static void on_sent(void *token, int sent, const char *error)
{
    struct invite *iv = token;

    iv->done = 1;
    iv->sent = sent;
    snprintf(iv->error, sizeof iv->error, "%s", error ? error : "");
    if (iv->in_call)
        return;   /* h_invite answers */
    if (!iv->orphan) {
        answer_invite(iv);
        log_info("auth", "invitation %lld for staff %lld: %s", (long long)iv->id,
                 (long long)iv->staff_id, iv->sent ? "sent" : "not sent");
        http_finish(iv->req);
    }
    free(iv);
}

/* The e-mail of the invitation: the fields the email plugin reads (see
 * plugins/email/compose.lua, kind "staff_invite"). NULL when out of memory. */
static cJSON *invite_message(const struct app *app, const struct invite *iv, const char *name,
                             const char *email, const char *secret)
{
    cJSON *d = cJSON_CreateObject();
    char link[URL_MAX], key[64], until[RT_FR_LONG_MAX];
    unsigned char r[4];

    if (!d || tokens_random(r, sizeof r) != 0) {
        cJSON_Delete(d);
        return NULL;
    }
    snprintf(link, sizeof link, "%s/auth/set-password/%s", app->cfg->public_url, secret);
    snprintf(key, sizeof key, "i%lld-email-%02x%02x%02x%02x", (long long)iv->id, r[0], r[1],
             r[2], r[3]);
    rt_format_fr_long(iv->expires_at, rt_now(), until, sizeof until);
    json_add_int(d, "id", iv->id);
    json_add_str(d, "kind", "staff_invite");
    json_add_str(d, "channel", "email");
    json_add_str(d, "to", email);
    json_add_str(d, "idem_key", key);
    json_add_str(d, "first_name", name);
    json_add_str(d, "link", link);
    json_add_str(d, "until", until);
    return d;
}

static void h_invite(struct http_req *req)
{
    struct store *st = req->app->store;
    struct auth *a = req->app->auth;
    struct invite *iv = NULL;
    sqlite3_stmt *s;
    cJSON *msg = NULL;
    char secret[64], *name = NULL, *email = NULL;
    unsigned char hash[32];
    int64_t id, now = rt_now();
    int rc;

    secret[0] = '\0';
    if (http_param_id(req, "id", &id) != 0)
        return;
    s = store_stmt(st, "SELECT name, email FROM staff WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto fail;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        name = store_col_strdup(s, 0);
        email = store_col_strdup(s, 1);
    }
    store_done(s);
    if (rc == SQLITE_DONE) {
        http_problem(req, 404, "no staff member %lld", (long long)id);
        goto out;
    }
    if (rc != SQLITE_ROW || !name)
        goto fail;
    if (!email) {
        struct json_check c;
        json_check_init(&c);
        json_check_add(&c, "email", "this staff member has no e-mail to send the link to");
        http_problem_invalid(req, &c);
        json_check_free(&c);
        goto out;
    }
    if (!(iv = calloc(1, sizeof *iv)) || auth_new_secret(secret) != 0)
        goto fail;
    iv->req = req;
    iv->staff_id = id;
    iv->expires_at = now + req->app->cfg->login.invite;
    tokens_sha256(secret, strlen(secret), hash);
    s = store_stmt(st, "INSERT INTO staff_invites (staff_id, hash, created_at, expires_at)"
                       " VALUES (?1, ?2, ?3, ?4)");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK
        || sqlite3_bind_blob(s, 2, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, now) != SQLITE_OK
        || sqlite3_bind_int64(s, 4, iv->expires_at) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        store_done(s);
        goto fail;
    }
    store_done(s);
    iv->id = sqlite3_last_insert_rowid(store_db(st));
    if (!(msg = invite_message(req->app, iv, name, email, secret)))
        goto fail;
    iv->in_call = 1;
    rc = a && a->mail ? a->mail(a->mail_arg, iv->id, msg, on_sent, iv) : -1;
    iv->in_call = 0;
    if (rc != 0) {
        /* Nothing sent: the answer ≥ 400 takes the invitation back. */
        http_problem(req, 503, "no e-mail channel is running to send the link");
        goto out;
    }
    if (iv->done) {   /* the sender answered at once (console provider) */
        answer_invite(iv);
        goto out;
    }
    /* The invitation is committed now; the answer comes with the sender's. */
    if (http_defer(req) != 0) {
        iv->orphan = 1;
        iv = NULL;
        http_problem(req, 500, "the invitation could not be recorded");
        goto out;
    }
    iv = NULL;
    goto out;
fail:
    http_problem(req, 500, "the invitation could not be made");
out:
    explicit_bzero(secret, sizeof secret);
    cJSON_Delete(msg);
    free(iv);
    free(name);
    free(email);
}

/* --- /auth/set-password/{token} ---------------------------------------------------- */

/* The staff member a link stands for, while it works: 1 (*ID, *NAME to
 * free), 0 unknown, used or expired, -1 error. */
static int link_owner(struct store *st, const char *token, int64_t *id, char **name)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT i.staff_id, s.name FROM staff_invites i"
                                     " JOIN staff s ON s.id = i.staff_id"
                                     " WHERE i.hash = ?1 AND i.used_at IS NULL"
                                     " AND i.expires_at > ?2 AND s.email IS NOT NULL");
    unsigned char hash[32];
    int rc = -1, step;

    *name = NULL;
    if (!token || strlen(token) != TOKEN_LEN)
        return 0;
    tokens_sha256(token, strlen(token), hash);
    if (!s || sqlite3_bind_blob(s, 1, hash, sizeof hash, SQLITE_TRANSIENT) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, rt_now()) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 0;
    } else if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *name = store_col_strdup(s, 1);
        rc = *name ? 1 : -1;
    }
out:
    store_done(s);
    return rc;
}

static void link_gone(struct http_req *req)
{
    html_message(req, 404, "Lien introuvable",
                 "Ce lien ne marche plus : il a déjà servi, ou il est trop ancien. Demandez "
                 "un nouveau lien à la personne qui coordonne l'équipe.", NULL, NULL);
}

/* The form, with PROBLEM (a French sentence) above it when given. */
static void form_page(struct http_req *req, int status, const char *name, const char *problem)
{
    struct html_page p = {evbuffer_new(), 0};

    if (!p.b) {
        html_server_error(req);
        return;
    }
    html_open(&p, "Choisir votre mot de passe");
    html_lit(&p, "<p>Bonjour ");
    html_esc(&p, name);
    html_lit(&p, ",</p><p>Choisissez le mot de passe de la console Relais. Il a au moins 10 "
                 "caractères. Vous vous connecterez avec votre adresse e-mail et ce mot de "
                 "passe.</p>");
    if (problem) {
        html_lit(&p, "<p class=\"st\" role=\"alert\">");
        html_esc(&p, problem);
        html_lit(&p, "</p>");
    }
    html_lit(&p, "<form method=\"post\">"
                 "<p><label for=\"pw\">Nouveau mot de passe</label><br>"
                 "<input id=\"pw\" name=\"password\" type=\"password\" required minlength=\"10\""
                 " autocomplete=\"new-password\" style=\"font:inherit;width:100%;min-height:48px\">"
                 "</p><p><label for=\"pw2\">Le même, une deuxième fois</label><br>"
                 "<input id=\"pw2\" name=\"confirm\" type=\"password\" required minlength=\"10\""
                 " autocomplete=\"new-password\" style=\"font:inherit;width:100%;min-height:48px\">"
                 "</p><button type=\"submit\" style=\"background:#0b4f8a\">Enregistrer mon mot de "
                 "passe</button></form>");
    html_send(req, status, &p);
    evbuffer_free(p.b);
}

static void h_form(struct http_req *req)
{
    int64_t id;
    char *name;
    int rc = link_owner(req->app->store, http_param(req, "token"), &id, &name);

    if (rc < 0)
        html_server_error(req);
    else if (rc == 0)
        link_gone(req);
    else
        form_page(req, 200, name, NULL);
    free(name);
}

/* A password waiting for its hash. */
struct setpw {
    struct http_req *req;
    int64_t staff_id;
    char token[TOKEN_LEN + 1];
    char *name;
};

static void on_hashed(void *arg, int result, const char *hash)
{
    struct setpw *sp = arg;
    struct http_req *req = sp->req;
    struct store *st = req->app->store;
    const char *why = NULL;
    int64_t id = 0;
    char *name = NULL;
    int rc = -1;

    if (result != PWHASH_YES) {
        html_server_error(req);
        goto out;
    }
    if (store_begin(st) != 0) {
        html_server_error(req);
        goto out;
    }
    /* The link must still work: used meanwhile (a second tab), it does not. */
    rc = link_owner(st, sp->token, &id, &name);
    if (rc == 1 && id == sp->staff_id) {
        int stored = auth_store_password(st, id, hash, &why);
        rc = stored == 0 ? 2 : stored == 1 ? 3 : -1;
    } else if (rc == 1) {
        rc = 0;
    }
    if (rc == 2 && store_commit(st) == 0) {
        log_info("auth", "staff %lld set their password from an invitation", (long long)id);
        html_message(req, 200, "Mot de passe enregistré",
                     "Votre mot de passe est enregistré. Vous pouvez vous connecter à la "
                     "console avec votre adresse e-mail et ce mot de passe.", NULL, NULL);
        goto out;
    }
    store_rollback(st);
    if (rc == 0)
        link_gone(req);
    else if (rc == 3)
        html_message(req, 409, "Ce n'est pas possible",
                     "Une autre personne de l'équipe se connecte déjà avec cette adresse "
                     "e-mail. Demandez de l'aide à la personne qui coordonne l'équipe.",
                     NULL, NULL);
    else
        html_server_error(req);
out:
    free(name);
    free(sp->name);
    explicit_bzero(sp, sizeof *sp);
    free(sp);
    http_finish(req);
}

/* A form posts application/x-www-form-urlencoded. */
static int is_form(struct http_req *req)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *ct = http_header(req, "Content-Type");

    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    return ct && strncasecmp(ct, form, sizeof form - 1) == 0
           && (ct[sizeof form - 1] == '\0' || ct[sizeof form - 1] == ';');
}

static void h_set(struct http_req *req)
{
    struct evkeyvalq fields;
    const char *token = http_param(req, "token"), *pw, *again, *problem;
    struct setpw *sp = NULL;
    char *name = NULL;
    int64_t id;
    int rc;

    TAILQ_INIT(&fields);
    if (!is_form(req) || evhttp_parse_query_str(req->body, &fields) != 0) {
        html_message(req, 415, "Demande non comprise",
                     "Utilisez le bouton de la page pour enregistrer le mot de passe.", NULL, NULL);
        goto out;
    }
    rc = link_owner(req->app->store, token, &id, &name);
    if (rc <= 0) {
        if (rc < 0)
            html_server_error(req);
        else
            link_gone(req);
        goto out;
    }
    pw = evhttp_find_header(&fields, "password");
    again = evhttp_find_header(&fields, "confirm");
    problem = !pw || !*pw ? "Écrivez un mot de passe."
              : auth_password_problem(pw, strlen(pw));
    if (!problem && (!again || strcmp(pw, again) != 0))
        problem = "Les deux mots de passe ne sont pas les mêmes. Écrivez-les de nouveau.";
    if (problem) {
        form_page(req, 422, name, problem);
        goto out;
    }
    if (!(sp = calloc(1, sizeof *sp))) {
        html_server_error(req);
        goto out;
    }
    sp->req = req;
    sp->staff_id = id;
    memcpy(sp->token, token, TOKEN_LEN + 1);
    sp->name = name;
    name = NULL;
    if (http_defer(req) != 0) {
        html_server_error(req);
        goto out;
    }
    if (pwhash_hash(req->app->auth->ph, pw, strlen(pw), on_hashed, sp) != 0) {
        html_message(req, 503, "Service indisponible",
                     "Trop de demandes en même temps. Réessayez dans un instant.", NULL, NULL);
        http_finish(req);
        goto out;
    }
    sp = NULL;   /* on_hashed answers and frees it */
out:
    if (sp) {
        free(sp->name);
        free(sp);
    }
    free(name);
    /* The form's copy of the password goes with the parsed fields. */
    {
        struct evkeyval *kv;
        TAILQ_FOREACH(kv, &fields, next)
            explicit_bzero(kv->value, strlen(kv->value));
    }
    evhttp_clear_headers(&fields);
}

int auth_invite_register(struct app *app)
{
    struct http_server *hs = app->http;

    if (http_route(hs, HTTP_POST, "/api/v1/staff/{id}/invite", ROLES_STAFF, h_invite) != 0
        || http_route(hs, HTTP_GET, "/auth/set-password/{token}", ROUTE_PUBLIC, h_form) != 0
        || http_route(hs, HTTP_POST, "/auth/set-password/{token}", ROUTE_PUBLIC, h_set) != 0
        || http_problem_pages(hs, "/auth/set-password/", html_problem) != 0)
        return -1;
    return 0;
}
