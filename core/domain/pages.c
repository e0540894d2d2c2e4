/* pages — the beneficiary's own pages (see core/domain/pages.h).
 *
 * GET /r/{token} shows the appointment and, while it can still be
 * cancelled, a form whose one button posts to /r/{token}/cancel. That post
 * only asks "are you sure?" (a second form, with confirm=yes, and a way
 * back): one tap, a link preview or a prefetch never cancels anything. The
 * confirmed cancellation goes through enrollments_cancel(), the path of
 * the API's PATCH, so the waitlist is promoted and everyone concerned is
 * told, then sends back (303) to /r/{token}, which says it is cancelled:
 * reloading that page, or going back, repeats nothing.
 *
 * Links in the pages are relative, so they work under any public_url
 * prefix; the 303 carries the path of public_url. */
#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "html.h"
#include "app.h"
#include "config.h"
#include "domain.h"
#include "http.h"
#include "links.h"
#include "log.h"
#include "phone.h"
#include "rtime.h"
#include "store.h"

#define MAX_PARTS 20        /* training parts listed on a page: keeps it small */
#define MAX_OTHER_DATES 12  /* a series' other dates listed */
#define LOCATION_MAX 512

/* --- what a page shows -------------------------------------------------- */

struct view {
    int64_t eid, root_eid;          /* the root is the training enrollment of a part */
    int64_t batch_id;               /* a series booked at once: its other dates */
    char status[16], root_status[16];
    char kind[16];
    char *first_name;               /* the only personal data on a page */
    char *title, *training_title;   /* training_title: a part's training */
    int64_t session_id, venue_id;
    int64_t starts_at, ends_at, root_starts_at;
    int64_t slot_start, slot_minutes;
    int cancelled, root_cancelled, online, is_part;
    int has_venue, accessible;
    char *venue_name, *address, *commune, *venue_phone;
};

static void view_clear(struct view *v)
{
    free(v->first_name);
    free(v->title);
    free(v->training_title);
    free(v->venue_name);
    free(v->address);
    free(v->commune);
    free(v->venue_phone);
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
        " v.commune, v.accessible, v.phone, e.batch_id"
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
    v->batch_id = sqlite3_column_int64(s, 20);   /* NULL reads as 0 */
    if (dup_col(s, 4, &v->first_name, 0) != 0 || dup_col(s, 8, &v->title, 1) != 0
        || dup_col(s, 15, &v->venue_name, 0) != 0 || dup_col(s, 16, &v->address, 0) != 0
        || dup_col(s, 17, &v->commune, 0) != 0 || dup_col(s, 19, &v->venue_phone, 0) != 0)
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
        return "Ce rendez-vous est déjà annulé. Vous n'avez rien d'autre à faire.";
    if (v->root_cancelled)
        return "La séance est annulée. Vous n'avez rien à faire.";
    if (strcmp(v->root_status, "booked") != 0 && strcmp(v->root_status, "waitlisted") != 0)
        return "La séance est passée.";
    if (now >= v->root_starts_at)
        return "La séance a déjà commencé. Il n'est plus possible d'annuler ici.";
    return NULL;
}

/* The status in plain words, with no "inscrit·e" form. */
static const char *status_text(const struct view *v, int64_t now)
{
    const char *st = v->status;

    if (strcmp(st, "cancelled") == 0)
        return "Votre rendez-vous est annulé.";
    if (v->cancelled || v->root_cancelled)
        return "La séance est annulée. Vous n'avez rien à faire.";
    if (strcmp(st, "booked") == 0)
        return now < v->ends_at ? "Votre place est réservée." : "Votre place était réservée.";
    if (strcmp(st, "waitlisted") == 0)
        return now < v->starts_at ? "Vous êtes sur la liste d'attente. Il n'y a plus de place "
                                    "pour le moment. Si une place se libère, nous vous "
                                    "prévenons par message."
                                  : "Vous étiez sur la liste d'attente.";
    if (strcmp(st, "attended") == 0)
        return "Vous étiez là. Merci !";
    if (strcmp(st, "absent") == 0)
        return "Vous n'étiez pas là.";
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

/* "jeudi 10 décembre, de 14 h à 16 h", or "du … au …" over several days. */
static void when(struct html_page *p, int64_t start, int64_t end, int64_t now)
{
    char a[RT_FR_LONG_MAX], b[RT_FR_LONG_MAX];
    struct tm ts, te;

    rt_local(start, &ts);
    rt_local(end, &te);
    if (ts.tm_year == te.tm_year && ts.tm_yday == te.tm_yday) {
        rt_format_fr_day(start, now, a, sizeof a);
        html_esc(p, a);
        rt_format_fr_hour(start, a, sizeof a);
        rt_format_fr_hour(end, b, sizeof b);
        html_lit(p, ", de ");
        html_esc(p, a);
        html_lit(p, " à ");
        html_esc(p, b);
    } else {
        rt_format_fr_long(start, now, a, sizeof a);
        rt_format_fr_long(end, now, b, sizeof b);
        html_lit(p, "du ");
        html_esc(p, a);
        html_lit(p, " au ");
        html_esc(p, b);
    }
}

/* The parts of a training, in order. 0 or -1. */
static int parts(struct html_page *p, struct store *st, const struct view *v, int64_t now)
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
        html_lit(p, n++ ? "<li>" : "<dt>Les séances</dt><dd><ul><li>");
        html_esc(p, (const char *)sqlite3_column_text(s, 0));
        html_lit(p, " : ");
        when(p, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2), now);
        /* A part held elsewhere than the training says so. */
        if (venue && sqlite3_column_int(s, 5)) {
            html_lit(p, ", ");
            html_esc(p, venue);
        }
        if (sqlite3_column_int(s, 3))
            html_lit(p, " (annulée)");
        html_lit(p, "</li>");
    }
    if (step != SQLITE_DONE)
        goto out;
    if (n)
        html_lit(p, "</ul></dd>");
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* The other dates of a series booked at once, still ahead. 0 or -1. */
static int other_dates(struct html_page *p, struct store *st, const struct view *v, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT s.starts_at, e.status FROM enrollments e"
                                     " JOIN sessions s ON s.id = e.session_id"
                                     " WHERE e.batch_id = ?1 AND e.id <> ?2"
                                     " AND e.status IN ('booked','waitlisted')"
                                     " AND s.status = 'scheduled' AND s.starts_at > ?3"
                                     " ORDER BY s.starts_at LIMIT ?4");
    char a[RT_FR_LONG_MAX];
    int step, n = 0, rc = -1;

    if (!v->batch_id)
        return 0;
    if (!s || sqlite3_bind_int64(s, 1, v->batch_id) != SQLITE_OK
        || sqlite3_bind_int64(s, 2, v->eid) != SQLITE_OK
        || sqlite3_bind_int64(s, 3, now) != SQLITE_OK
        || sqlite3_bind_int(s, 4, MAX_OTHER_DATES) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        html_lit(p, n++ ? "<li>" : "<h2>Vos autres dates</h2><ul><li>");
        rt_format_fr_long(sqlite3_column_int64(s, 0), now, a, sizeof a);
        html_esc(p, a);
        if (strcmp((const char *)sqlite3_column_text(s, 1), "waitlisted") == 0)
            html_lit(p, " (liste d'attente)");
        html_lit(p, "</li>");
    }
    if (step != SQLITE_DONE)
        goto out;
    if (n)
        html_lit(p, "</ul><p>Chaque date a son propre lien dans les rappels.</p>");
    rc = 0;
out:
    store_done(s);
    return rc;
}

/* "Pour toute question : 04 79 …" as a link that calls. */
static void venue_phone(struct html_page *p, const struct view *v)
{
    char shown[32];

    if (!v->venue_phone || phone_format_fr(v->venue_phone, shown, sizeof shown) != 0)
        return;
    html_lit(p, "<p>Pour toute question : <a href=\"tel:");
    html_esc(p, v->venue_phone);
    html_lit(p, "\">");
    html_esc(p, shown);
    html_lit(p, "</a></p>");
}

/* The session: title, then what, when, where. 0 or -1. */
static int details(struct html_page *p, struct store *st, const struct view *v, int64_t now)
{
    char a[16], b[16];

    html_lit(p, "<h2>");
    html_esc(p, v->title);
    html_lit(p, "</h2>");
    if (v->is_part) {
        html_lit(p, "<p>Cette séance fait partie de la formation « ");
        html_esc(p, v->training_title);
        html_lit(p, " ».</p>");
    }
    html_lit(p, "<dl><dt>Type</dt><dd>");
    html_esc(p, kind_text(v->kind));
    html_lit(p, "</dd><dt>Quand</dt><dd>");
    when(p, v->starts_at, v->ends_at, now);
    html_lit(p, "</dd>");
    if (v->slot_start != RT_NONE && v->slot_minutes > 0) {
        rt_format_fr_hour(v->slot_start, a, sizeof a);
        rt_format_fr_hour(v->slot_start + v->slot_minutes * 60, b, sizeof b);
        html_lit(p, "<dt>Votre heure</dt><dd>de ");
        html_esc(p, a);
        html_lit(p, " à ");
        html_esc(p, b);
        html_lit(p, "</dd>");
    }
    if (strcmp(v->kind, "training") == 0 && !v->is_part && parts(p, st, v, now) != 0)
        return -1;
    html_lit(p, "<dt>Où</dt><dd>");
    if (v->online) {
        html_lit(p, "En ligne");
    } else if (v->has_venue) {
        html_esc(p, v->venue_name);
        if (v->address) {
            html_lit(p, "<br>");
            html_esc(p, v->address);
        }
        if (v->commune) {
            html_lit(p, "<br>");
            html_esc(p, v->commune);
        }
        html_lit(p, "</dd><dt>Accès</dt><dd>");
        html_lit(p, v->accessible ? "Accessible en fauteuil roulant"
                                  : "Pas accessible en fauteuil roulant");
    } else {
        html_lit(p, "Le lieu vous sera indiqué plus tard.");
    }
    html_lit(p, "</dd></dl>");
    return 0;
}

static void greeting(struct html_page *p, const struct view *v)
{
    if (v->first_name && *v->first_name) {
        html_lit(p, "<p>Bonjour ");
        html_esc(p, v->first_name);
        html_lit(p, ",</p>");
    } else {
        html_lit(p, "<p>Bonjour,</p>");
    }
}

/* --- handlers -------------------------------------------------------------- */

/* The 410 of a link whose session ended longer ago than links.expire_after. */
static void expired(struct http_req *req)
{
    html_message(req, 410, "Lien expiré",
                 "Ce lien n'est plus valable : le rendez-vous dont il parle est passé depuis "
                 "longtemps. Pour un nouveau rendez-vous, adressez-vous à la personne qui "
                 "vous accompagne.", NULL, NULL);
}

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
        html_server_error(req);
    else if (rc == 0)
        html_not_found(req);
    return rc > 0;
}

static void h_show(struct http_req *req)
{
    const char *token = http_param(req, "token"), *why;
    struct html_page p = {NULL, 0};
    struct view v;
    int64_t now = rt_now();
    int waiting;

    if (!resolve(req, token, &v))
        return;
    if (!(p.b = evbuffer_new())) {
        html_server_error(req);
        goto out;
    }
    html_open(&p, "Votre rendez-vous");
    greeting(&p, &v);
    html_lit(&p, "<p class=\"st\">");
    html_esc(&p, status_text(&v, now));
    html_lit(&p, "</p>");
    if (details(&p, req->app->store, &v, now) != 0
        || other_dates(&p, req->app->store, &v, now) != 0) {
        html_server_error(req);
        goto out;
    }
    venue_phone(&p, &v);
    why = why_not_cancellable(&v, now);
    waiting = strcmp(v.root_status, "waitlisted") == 0;
    if (!why) {
        html_lit(&p, "<form method=\"post\" action=\"");
        html_esc(&p, token);
        html_lit(&p, "/cancel\"><p>");
        html_lit(&p, waiting ? "Vous ne voulez plus attendre une place ? Vous pouvez quitter "
                               "la liste d'attente."
                             : "Vous ne pouvez pas venir ? Annulez. Votre place ira à une "
                               "autre personne.");
        if (strcmp(v.kind, "training") == 0 || v.is_part)
            html_lit(&p, " Cela annule toute la formation.");
        html_lit(&p, "</p><button type=\"submit\">");
        html_lit(&p, waiting ? "Quitter la liste d'attente" : "Annuler mon rendez-vous");
        html_lit(&p, "</button></form>");
    } else if (strcmp(v.root_status, "booked") == 0 || waiting) {
        /* Say why the button is missing while it matters, unless the
         * status already said it. */
        if (!v.root_cancelled && now < v.ends_at) {
            html_lit(&p, "<p>");
            html_esc(&p, why);
            html_lit(&p, "</p>");
        }
    }
    html_send(req, 200, &p);
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

/* 1 when the form says confirm=yes (the confirmation page's button), 0
 * when not (the appointment page's button, a bare POST), -1 when the body
 * is not a form at all. */
static int confirmed(struct http_req *req)
{
    struct evkeyvalq fields;
    const char *v;
    int yes;

    if (req->body_len == 0)
        return 0;
    TAILQ_INIT(&fields);
    if (evhttp_parse_query_str(req->body, &fields) != 0) {
        evhttp_clear_headers(&fields);
        return -1;
    }
    v = evhttp_find_header(&fields, "confirm");
    yes = v && strcmp(v, "yes") == 0;
    evhttp_clear_headers(&fields);
    return yes;
}

/* "Annuler votre rendez-vous ?": what would be cancelled, a button that
 * confirms, and a way back that keeps it. Nothing is written. */
static void confirm_page(struct http_req *req, const char *token, const struct view *v,
                         int64_t now)
{
    struct html_page p = {evbuffer_new(), 0};
    int waiting = strcmp(v->root_status, "waitlisted") == 0;
    char a[RT_FR_LONG_MAX];

    if (!p.b) {
        html_server_error(req);
        return;
    }
    html_open(&p, waiting ? "Quitter la liste d'attente ?" : "Annuler votre rendez-vous ?");
    html_lit(&p, "<p class=\"st\">");
    html_lit(&p, waiting ? "Vous allez quitter la liste d'attente de : "
                         : "Vous allez annuler : ");
    html_esc(&p, v->is_part ? v->training_title : v->title);
    html_lit(&p, ", ");
    rt_format_fr_long(v->is_part ? v->root_starts_at : v->starts_at, now, a, sizeof a);
    html_esc(&p, a);
    html_lit(&p, ".</p>");
    if (strcmp(v->kind, "training") == 0 || v->is_part)
        html_lit(&p, "<p>Toute la formation sera annulée.</p>");
    if (!waiting)
        html_lit(&p, "<p>Votre place ira à une autre personne.</p>");
    html_lit(&p, "<form method=\"post\" action=\"cancel\">"
                 "<input type=\"hidden\" name=\"confirm\" value=\"yes\">"
                 "<button type=\"submit\">");
    html_lit(&p, waiting ? "Oui, je quitte la liste" : "Oui, j'annule");
    html_lit(&p, "</button></form><p><a class=\"keep\" href=\"../");
    html_esc(&p, token);
    html_lit(&p, "\">");
    html_lit(&p, waiting ? "Non, je reste sur la liste" : "Non, je garde mon rendez-vous");
    html_lit(&p, "</a></p>");
    /* The browser may keep this page (it holds no first name) so that
     * Back, after the cancellation, shows it again rather than an error
     * about a form to send again; its button then meets "déjà annulé". */
    http_reply_header(req, "Cache-Control", "private, no-cache");
    html_send(req, 200, &p);
    evbuffer_free(p.b);
}

/* 303 to /r/{token} under public_url's path ("" when it has none). */
static void back_to_page(struct http_req *req, const char *token)
{
    const char *url = req->app->cfg ? req->app->cfg->public_url : NULL;
    const char *path = url ? strstr(url, "://") : NULL;
    char loc[LOCATION_MAX];

    path = path ? strchr(path + 3, '/') : NULL;
    if ((size_t)snprintf(loc, sizeof loc, "%s/r/%s", path ? path : "", token) >= sizeof loc)
        snprintf(loc, sizeof loc, "/r/%s", token);
    http_reply_header(req, "Location", loc);
    http_reply_header(req, "Cache-Control", "no-store");
    http_reply_data(req, 303, "text/plain; charset=utf-8", "Voir votre rendez-vous\n", 23);
}

static void h_cancel(struct http_req *req)
{
    const char *token = http_param(req, "token"), *why;
    struct view v;
    char back[LINKS_TOKEN_LEN + 8];
    int64_t now = rt_now();
    int rc, yes;

    if (!form_body_ok(req) || (yes = confirmed(req)) < 0) {
        html_message(req, 415, "Demande non comprise",
                     "Pour annuler, utilisez le bouton de la page de votre rendez-vous.",
                     NULL, NULL);
        return;
    }
    if (!resolve(req, token, &v))
        return;
    snprintf(back, sizeof back, "../%s", token);
    if ((why = why_not_cancellable(&v, now))) {
        html_message(req, 409, strcmp(v.root_status, "cancelled") == 0
                                   ? "Rendez-vous déjà annulé" : "Annulation impossible",
                     why, back, "Voir mon rendez-vous");
        goto out;
    }
    if (!yes) {
        confirm_page(req, token, &v, now);
        goto out;
    }
    /* The server's transaction holds every write below: the answer that
     * follows is only sent once they are committed. */
    rc = enrollments_cancel(req->app->store, v.root_eid, 0);
    if (rc < 0) {
        html_server_error(req);
        goto out;
    }
    if (rc == 1) {
        html_message(req, 409, "Annulation impossible",
                     "Ce rendez-vous ne peut plus être annulé.", back, "Voir mon rendez-vous");
        goto out;
    }
    log_info("pages", "enrollment %lld cancelled from its link", (long long)v.root_eid);
    back_to_page(req, token);
out:
    view_clear(&v);
}

int pages_register(struct http_server *hs)
{
    if (http_route(hs, HTTP_GET, "/r/{token}", ROUTE_PUBLIC, h_show) != 0
        || http_route(hs, HTTP_POST, "/r/{token}/cancel", ROUTE_PUBLIC, h_cancel) != 0
        || http_problem_pages(hs, "/r/", html_problem) != 0
        || http_problem_pages(hs, "/s/", html_problem) != 0)
        return -1;
    return 0;
}
