/* pages — the beneficiary's own pages (see include/relais/pages.h).
 *
 * GET /r/{token} shows the appointment and, while it can still be
 * cancelled, a form whose one button posts to /r/{token}/cancel: a link
 * preview or a prefetch (GET) never cancels anything. The cancellation goes
 * through enrollments_cancel(), the path of the API's PATCH, so the
 * waitlist is promoted and everyone concerned is told. Links in the pages
 * are relative, so they work under any public_url prefix. */
#include "relais/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>

#include "relais/app.h"
#include "relais/domain.h"
#include "relais/http.h"
#include "relais/links.h"
#include "relais/log.h"
#include "relais/rtime.h"
#include "relais/store.h"

#define MAX_PARTS 20   /* training parts listed on a page: keeps it small */

/* Large text, strong contrast (all pairs ≥ 7:1), a visible focus ring and
 * a button taller than the 44 px target minimum. */
#define PAGE_CSS                                                                    \
    "body{margin:0;font:20px/1.5 system-ui,sans-serif;color:#111;background:#fff}"  \
    "main{max-width:36em;margin:0 auto;padding:1em}"                                \
    "h1{font-size:1.5em;line-height:1.25}h2{font-size:1.25em;margin-bottom:.3em}"   \
    "dt{font-weight:bold;margin-top:.7em}dd{margin:0}ul{padding-left:1.2em}"        \
    ".st{font-weight:bold;padding:.6em .8em;border-left:6px solid #0b4f8a;"         \
    "background:#eef3fa}"                                                           \
    "button{font:inherit;font-weight:bold;width:100%;min-height:56px;"              \
    "padding:.6em 1em;color:#fff;background:#a4161a;border:0;border-radius:8px}"     \
    "a{color:#0b4f8a}:focus{outline:4px solid #000;outline-offset:3px}"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"

/* --- building a page -------------------------------------------------------- */

struct page {
    struct evbuffer *b;
    int failed;
};

static void lit(struct page *p, const char *s)
{
    if (!p->failed && evbuffer_add(p->b, s, strlen(s)) != 0)
        p->failed = 1;
}

/* Every value from the database or the request goes through here. */
static void esc(struct page *p, const char *s)
{
    const char *run = s;

    for (; s && *s; s++) {
        const char *rep;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        if (!p->failed && evbuffer_add(p->b, run, (size_t)(s - run)) != 0)
            p->failed = 1;
        lit(p, rep);
        run = s + 1;
    }
    if (s && !p->failed && evbuffer_add(p->b, run, (size_t)(s - run)) != 0)
        p->failed = 1;
}

static void open_page(struct page *p, const char *title)
{
    lit(p, "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<title>");
    esc(p, title);
    lit(p, "</title><style>" PAGE_CSS "</style></head><body><main><h1>");
    esc(p, title);
    lit(p, "</h1>");
}

/* Sends P with STATUS (a 500 problem if the page could not be built). */
static void send_page(struct http_req *req, int status, struct page *p)
{
    const unsigned char *data = NULL;
    size_t len;

    lit(p, "</main></body></html>");
    len = evbuffer_get_length(p->b);
    if (!p->failed)
        data = evbuffer_pullup(p->b, -1);
    if (p->failed || (len && !data)) {
        http_problem(req, 500, "the page could not be built");
        return;
    }
    http_reply_header(req, "Cache-Control", "no-store");
    http_reply_header(req, "Referrer-Policy", "no-referrer");
    http_reply_header(req, "X-Frame-Options", "DENY");
    http_reply_header(req, "Content-Security-Policy", CSP);
    http_reply_data(req, status, "text/html; charset=utf-8", (const char *)data, len);
}

/* A page of one message: the 404, 409, 415 and 500 pages. BACK_TOKEN, when
 * given, adds a link back to the appointment (from /r/{token}/cancel). */
static void message_page(struct http_req *req, int status, const char *title,
                         const char *text, const char *back_token)
{
    struct page p = {evbuffer_new(), 0};

    if (!p.b) {
        http_problem(req, 500, "out of memory");
        return;
    }
    open_page(&p, title);
    lit(&p, "<p>");
    esc(&p, text);
    lit(&p, "</p>");
    if (back_token) {
        lit(&p, "<p><a href=\"../");
        esc(&p, back_token);
        lit(&p, "\">Voir mon rendez-vous</a></p>");
    }
    send_page(req, status, &p);
    evbuffer_free(p.b);
}

static void not_found(struct http_req *req)
{
    /* The same page whether the token never existed, was for a survey, or
     * belongs to someone erased since. */
    message_page(req, 404, "Lien introuvable",
                 "Ce lien ne marche pas. Vérifiez qu'il est complet, ou demandez de l'aide "
                 "à la personne qui vous accompagne.", NULL);
}

/* The link's session ended longer ago than links.expire_after (410). */
static void expired(struct http_req *req)
{
    message_page(req, 410, "Lien expiré",
                 "Ce lien n'est plus valable : le rendez-vous dont il parle est passé depuis "
                 "longtemps. Pour un nouveau rendez-vous, adressez-vous à la personne qui "
                 "vous accompagne.", NULL);
}

static void server_error(struct http_req *req)
{
    message_page(req, 500, "Un problème est survenu",
                 "La page n'a pas pu s'afficher. Réessayez dans quelques minutes.", NULL);
}

/* --- what a page shows -------------------------------------------------- */

struct view {
    int64_t eid, root_eid;          /* the root is the training enrollment of a part */
    char status[16], root_status[16];
    char kind[16];
    char *first_name;               /* the only personal data on a page */
    char *title, *training_title;   /* training_title: a part's training */
    int64_t session_id, venue_id;
    int64_t starts_at, ends_at, root_starts_at;
    int64_t slot_start, slot_minutes;
    int cancelled, root_cancelled, online, is_part;
    int has_venue, accessible;
    char *venue_name, *address, *commune;
};

static void view_clear(struct view *v)
{
    free(v->first_name);
    free(v->title);
    free(v->training_title);
    free(v->venue_name);
    free(v->address);
    free(v->commune);
}

static void copy_text(sqlite3_stmt *s, int col, char *buf, size_t n)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    snprintf(buf, n, "%s", t ? t : "");
}

/* A text column that must be there, or one that may be NULL: 0 or -1 (out
 * of memory). */
static int dup_col(sqlite3_stmt *s, int col, char **out, int required)
{
    *out = store_col_strdup(s, col);
    if (*out || (!required && sqlite3_column_type(s, col) == SQLITE_NULL))
        return 0;
    return -1;
}

/* The training a part belongs to, as the part's enrollment sees it. */
static int load_root(struct store *st, struct view *v)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT e.status, s.title, s.starts_at,"
                                     " s.status = 'cancelled' FROM enrollments e"
                                     " JOIN sessions s ON s.id = e.session_id WHERE e.id = ?1");
    int rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, v->root_eid) != SQLITE_OK
        || sqlite3_step(s) != SQLITE_ROW)
        goto out;
    copy_text(s, 0, v->root_status, sizeof v->root_status);
    if (dup_col(s, 1, &v->training_title, 1) != 0)
        goto out;
    v->root_starts_at = sqlite3_column_int64(s, 2);
    v->root_cancelled = sqlite3_column_int(s, 3);
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* 1 loaded (clear V), 0 nothing to show (no such enrollment, or the person
 * was erased), -1 error. */
static int load_view(struct store *st, int64_t eid, struct view *v)
{
    sqlite3_stmt *s = store_stmt(st,
        "SELECT e.id, e.status, e.slot_start, e.parent_id, b.first_name,"
        " b.erased_at IS NOT NULL, s.id, s.kind, s.title, s.starts_at, s.ends_at,"
        " s.status = 'cancelled', s.online, s.slot_minutes, v.id, v.name, v.address,"
        " v.commune, v.accessible"
        " FROM enrollments e JOIN beneficiaries b ON b.id = e.beneficiary_id"
        " JOIN sessions s ON s.id = e.session_id LEFT JOIN venues v ON v.id = s.venue_id"
        " WHERE e.id = ?1");
    int rc = -1, step;

    memset(v, 0, sizeof *v);
    if (!s || sqlite3_bind_int64(s, 1, eid) != SQLITE_OK)
        goto out;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE || (step == SQLITE_ROW && sqlite3_column_int(s, 5))) {
        rc = 0;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    v->eid = sqlite3_column_int64(s, 0);
    copy_text(s, 1, v->status, sizeof v->status);
    v->slot_start = sqlite3_column_type(s, 2) == SQLITE_NULL ? RT_NONE
                                                             : sqlite3_column_int64(s, 2);
    v->is_part = sqlite3_column_type(s, 3) != SQLITE_NULL;
    v->root_eid = v->is_part ? sqlite3_column_int64(s, 3) : v->eid;
    v->session_id = sqlite3_column_int64(s, 6);
    copy_text(s, 7, v->kind, sizeof v->kind);
    v->starts_at = sqlite3_column_int64(s, 9);
    v->ends_at = sqlite3_column_int64(s, 10);
    v->cancelled = sqlite3_column_int(s, 11);
    v->online = sqlite3_column_int(s, 12);
    v->slot_minutes = sqlite3_column_int64(s, 13);
    v->has_venue = sqlite3_column_type(s, 14) != SQLITE_NULL;
    v->venue_id = sqlite3_column_int64(s, 14);
    v->accessible = sqlite3_column_int(s, 18);
    if (dup_col(s, 4, &v->first_name, 0) != 0 || dup_col(s, 8, &v->title, 1) != 0
        || dup_col(s, 15, &v->venue_name, 0) != 0 || dup_col(s, 16, &v->address, 0) != 0
        || dup_col(s, 17, &v->commune, 0) != 0)
        goto out;
    store_done(s);
    s = NULL;
    if (v->is_part) {
        if (load_root(st, v) != 0)
            goto out;
    } else {
        memcpy(v->root_status, v->status, sizeof v->status);
        v->root_starts_at = v->starts_at;
        v->root_cancelled = v->cancelled;
    }
    rc = 1;
out:
    store_done(s);
    if (rc != 1)
        view_clear(v);
    return rc;
}

/* Why the appointment cannot be cancelled any more, or NULL when it can. A
 * part is cancelled with its whole training, so the training decides. */
static const char *why_not_cancellable(const struct view *v, int64_t now)
{
    if (strcmp(v->root_status, "cancelled") == 0)
        return "Ce rendez-vous est déjà annulé.";
    if (v->root_cancelled)
        return "La séance est annulée : vous n'avez rien à faire.";
    if (strcmp(v->root_status, "booked") != 0 && strcmp(v->root_status, "waitlisted") != 0)
        return "La séance est passée.";
    if (now >= v->root_starts_at)
        return "La séance a déjà commencé : il n'est plus possible d'annuler ici.";
    return NULL;
}

static const char *status_text(const struct view *v, int64_t now)
{
    const char *st = v->status;

    if (strcmp(st, "cancelled") == 0)
        return "Votre rendez-vous est annulé.";
    if (v->cancelled || v->root_cancelled)
        return "La séance est annulée.";
    if (strcmp(st, "booked") == 0)
        return now < v->ends_at ? "Vous êtes inscrit·e." : "Vous étiez inscrit·e.";
    if (strcmp(st, "waitlisted") == 0)
        return now < v->starts_at ? "Vous êtes sur liste d'attente. Nous vous prévenons "
                                    "si une place se libère."
                                  : "Vous étiez sur liste d'attente.";
    if (strcmp(st, "attended") == 0)
        return "Vous étiez présent·e. Merci !";
    if (strcmp(st, "absent") == 0)
        return "Vous étiez absent·e.";
    return "Votre absence est excusée.";
}

static const char *kind_text(const char *kind)
{
    if (strcmp(kind, "workshop") == 0)
        return "Atelier";
    if (strcmp(kind, "permanence") == 0)
        return "Permanence";
    return "Formation";
}

/* "14h00", as rt_format_fr writes hours. */
static void hour_fr(int64_t t, char *buf, size_t n)
{
    struct tm tm;

    rt_local(t, &tm);
    snprintf(buf, n, "%dh%02d", tm.tm_hour, tm.tm_min);
}

/* "mar. 2 juin à 14h00, jusqu'à 16h00", or "du … au …" over several days. */
static void when(struct page *p, int64_t start, int64_t end)
{
    char a[RT_FR_MAX], b[RT_FR_MAX];
    struct tm ts, te;

    rt_local(start, &ts);
    rt_local(end, &te);
    rt_format_fr(start, a, sizeof a);
    if (ts.tm_year == te.tm_year && ts.tm_yday == te.tm_yday) {
        hour_fr(end, b, sizeof b);
        esc(p, a);
        lit(p, ", jusqu'à ");
        esc(p, b);
    } else {
        rt_format_fr(end, b, sizeof b);
        lit(p, "du ");
        esc(p, a);
        lit(p, " au ");
        esc(p, b);
    }
}

/* The parts of a training, in order. 0 or -1. */
static int parts(struct page *p, struct store *st, const struct view *v)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT s.title, s.starts_at, s.ends_at,"
                                     " s.status = 'cancelled', v.name,"
                                     " s.venue_id IS NOT ?2 FROM sessions s"
                                     " LEFT JOIN venues v ON v.id = s.venue_id"
                                     " WHERE s.parent_id = ?1 ORDER BY s.starts_at, s.id"
                                     " LIMIT ?3");
    int step, n = 0, rc = -1;

    if (!s || sqlite3_bind_int64(s, 1, v->session_id) != SQLITE_OK
        || (v->has_venue ? sqlite3_bind_int64(s, 2, v->venue_id)
                         : sqlite3_bind_null(s, 2)) != SQLITE_OK
        || sqlite3_bind_int(s, 3, MAX_PARTS) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *venue = (const char *)sqlite3_column_text(s, 4);
        lit(p, n++ ? "<li>" : "<dt>Les séances</dt><dd><ul><li>");
        esc(p, (const char *)sqlite3_column_text(s, 0));
        lit(p, " : ");
        when(p, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
        /* A part held elsewhere than the training says so. */
        if (venue && sqlite3_column_int(s, 5)) {
            lit(p, ", ");
            esc(p, venue);
        }
        if (sqlite3_column_int(s, 3))
            lit(p, " (annulée)");
        lit(p, "</li>");
    }
    if (step != SQLITE_DONE)
        goto out;
    if (n)
        lit(p, "</ul></dd>");
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* The session: title, then what, when, where. 0 or -1. */
static int details(struct page *p, struct store *st, const struct view *v)
{
    char a[RT_FR_MAX], b[RT_FR_MAX];

    lit(p, "<h2>");
    esc(p, v->title);
    lit(p, "</h2>");
    if (v->is_part) {
        lit(p, "<p>Cette séance fait partie de la formation « ");
        esc(p, v->training_title);
        lit(p, " ».</p>");
    }
    lit(p, "<dl><dt>Type</dt><dd>");
    esc(p, kind_text(v->kind));
    lit(p, "</dd><dt>Quand</dt><dd>");
    when(p, v->starts_at, v->ends_at);
    lit(p, "</dd>");
    if (v->slot_start != RT_NONE && v->slot_minutes > 0) {
        hour_fr(v->slot_start, a, sizeof a);
        hour_fr(v->slot_start + v->slot_minutes * 60, b, sizeof b);
        lit(p, "<dt>Votre créneau</dt><dd>de ");
        esc(p, a);
        lit(p, " à ");
        esc(p, b);
        lit(p, "</dd>");
    }
    if (strcmp(v->kind, "training") == 0 && !v->is_part && parts(p, st, v) != 0)
        return -1;
    lit(p, "<dt>Où</dt><dd>");
    if (v->online) {
        lit(p, "En ligne");
    } else if (v->has_venue) {
        esc(p, v->venue_name);
        if (v->address) {
            lit(p, "<br>");
            esc(p, v->address);
        }
        if (v->commune) {
            lit(p, "<br>");
            esc(p, v->commune);
        }
        lit(p, "</dd><dt>Accès</dt><dd>");
        lit(p, v->accessible ? "Accessible en fauteuil roulant"
                             : "Pas accessible en fauteuil roulant");
    } else {
        lit(p, "Le lieu vous sera indiqué plus tard.");
    }
    lit(p, "</dd></dl>");
    return 0;
}

static void greeting(struct page *p, const struct view *v)
{
    if (v->first_name && *v->first_name) {
        lit(p, "<p>Bonjour ");
        esc(p, v->first_name);
        lit(p, ",</p>");
    } else {
        lit(p, "<p>Bonjour,</p>");
    }
}

/* --- handlers -------------------------------------------------------------- */

/* The view behind the token of REQ: 1 (clear V), or 0 when the request has
 * been answered (404 or 500). */
static int resolve(struct http_req *req, const char *token, struct view *v)
{
    struct store *st = req->app->store;
    int64_t eid = 0;
    int rc = links_lookup(st, LINKS_APPOINTMENT, token, &eid);

    if (rc == LINKS_EXPIRED) {
        expired(req);
        return 0;
    }
    if (rc > 0)
        rc = load_view(st, eid, v);
    if (rc < 0)
        server_error(req);
    else if (rc == 0)
        not_found(req);
    return rc > 0;
}

static void h_show(struct http_req *req)
{
    const char *token = http_param(req, "token"), *why;
    struct page p = {NULL, 0};
    struct view v;
    int64_t now = rt_now();

    if (!resolve(req, token, &v))
        return;
    if (!(p.b = evbuffer_new())) {
        server_error(req);
        goto out;
    }
    open_page(&p, "Votre rendez-vous");
    greeting(&p, &v);
    lit(&p, "<p class=\"st\">");
    esc(&p, status_text(&v, now));
    lit(&p, "</p>");
    if (details(&p, req->app->store, &v) != 0) {
        server_error(req);
        goto out;
    }
    why = why_not_cancellable(&v, now);
    if (!why) {
        lit(&p, "<form method=\"post\" action=\"");
        esc(&p, token);
        lit(&p, "/cancel\"><p>Vous ne pouvez pas venir ? Annulez : votre place ira à une "
                "autre personne.");
        if (strcmp(v.kind, "training") == 0)
            lit(&p, " L'annulation vaut pour toute la formation.");
        lit(&p, "</p><button type=\"submit\">Annuler mon rendez-vous</button></form>");
    } else if (strcmp(v.root_status, "booked") == 0
               || strcmp(v.root_status, "waitlisted") == 0) {
        /* Say why the button is missing while it matters, unless the
         * status already said it. */
        if (!v.root_cancelled && now < v.ends_at) {
            lit(&p, "<p>");
            esc(&p, why);
            lit(&p, "</p>");
        }
    }
    send_page(req, 200, &p);
out:
    if (p.b)
        evbuffer_free(p.b);
    view_clear(&v);
}

/* A form posts application/x-www-form-urlencoded; a bare POST has no body.
 * Anything else is not from our page. */
static int form_body_ok(struct http_req *req)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *ct = http_header(req, "Content-Type");
    size_t n = sizeof form - 1;

    if (req->body_len == 0)
        return 1;
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return strncasecmp(ct, form, n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

static void h_cancel(struct http_req *req)
{
    const char *token = http_param(req, "token"), *why;
    struct page p = {NULL, 0};
    struct view v;
    int64_t now = rt_now();
    int rc, was_booked;

    if (!form_body_ok(req)) {
        message_page(req, 415, "Demande non comprise",
                     "Pour annuler, utilisez le bouton de la page de votre rendez-vous.", NULL);
        return;
    }
    if (!resolve(req, token, &v))
        return;
    if ((why = why_not_cancellable(&v, now))) {
        message_page(req, 409, "Annulation impossible", why, token);
        goto out;
    }
    was_booked = strcmp(v.root_status, "booked") == 0;
    /* The server's transaction holds every write below: the page that
     * follows is only sent once they are committed. */
    rc = enrollments_cancel(req->app->store, v.root_eid, 0);
    if (rc < 0) {
        server_error(req);
        goto out;
    }
    if (rc == 1) {
        message_page(req, 409, "Annulation impossible", "Ce rendez-vous ne peut plus être "
                     "annulé.", token);
        goto out;
    }
    log_info("pages", "enrollment %lld cancelled from its link", (long long)v.root_eid);
    if (!(p.b = evbuffer_new())) {
        server_error(req);
        goto out;
    }
    open_page(&p, "Votre rendez-vous est annulé");
    lit(&p, "<p class=\"st\">");
    lit(&p, was_booked ? "Merci de nous avoir prévenus : votre place va à une autre personne."
                       : "Merci de nous avoir prévenus : vous n'êtes plus sur la liste "
                         "d'attente.");
    lit(&p, "</p>");
    /* What was cancelled, so that nobody wonders which appointment it was. */
    lit(&p, "<h2>");
    esc(&p, v.title);
    lit(&p, "</h2><p>");
    when(&p, v.starts_at, v.ends_at);
    lit(&p, "</p>");
    if (strcmp(v.kind, "training") == 0)
        lit(&p, "<p>L'annulation vaut pour toute la formation.</p>");
    lit(&p, "<p><a href=\"../");
    esc(&p, token);
    lit(&p, "\">Voir mon rendez-vous</a></p>");
    send_page(req, 200, &p);
out:
    if (p.b)
        evbuffer_free(p.b);
    view_clear(&v);
}

int pages_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_GET, "/r/{token}", ROUTE_PUBLIC, h_show) != 0
        || http_route(hs, HTTP_POST, "/r/{token}/cancel", ROUTE_PUBLIC, h_cancel) != 0)
        return -1;
    return 0;
}
