/* html — the French pages for people (see html.h), and the page that
 * replaces every problem answered under their paths: the router's 404 and
 * 405, the rate limit's 429, a body too large, a plugin that failed… A
 * person who opens a link never reads JSON or English. */
#include "html.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http.h"

/* Large text, strong contrast (all pairs ≥ 7:1), a visible focus ring and
 * buttons taller than the 44 px target minimum. .keep is a link drawn as a
 * button (the way back, beside a cancel button). */
#define PAGE_CSS                                                                    \
    "body{margin:0;font:20px/1.5 system-ui,sans-serif;color:#111;background:#fff}"  \
    "main{max-width:36em;margin:0 auto;padding:1em}"                                \
    "h1{font-size:1.5em;line-height:1.25}h2{font-size:1.25em;margin-bottom:.3em}"   \
    "dt{font-weight:bold;margin-top:.7em}dd{margin:0}ul{padding-left:1.2em}"        \
    ".st{font-weight:bold;padding:.6em .8em;border-left:6px solid #0b4f8a;"         \
    "background:#eef3fa}"                                                           \
    "button,.keep{display:block;box-sizing:border-box;font:inherit;font-weight:bold;" \
    "width:100%;min-height:56px;padding:.6em 1em;border-radius:8px;text-align:center}" \
    "button{color:#fff;background:#a4161a;border:0}"                                \
    ".keep{color:#fff;background:#0b4f8a;text-decoration:none;margin:1em 0}"        \
    "a{color:#0b4f8a}:focus{outline:4px solid #000;outline-offset:3px}"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"

void html_lit(struct html_page *p, const char *s)
{
    if (!p->failed && evbuffer_add(p->b, s, strlen(s)) != 0)
        p->failed = 1;
}

void html_esc(struct html_page *p, const char *s)
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
        html_lit(p, rep);
        run = s + 1;
    }
    if (s && !p->failed && evbuffer_add(p->b, run, (size_t)(s - run)) != 0)
        p->failed = 1;
}

void html_open(struct html_page *p, const char *title)
{
    html_lit(p, "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>");
    html_esc(p, title);
    html_lit(p, "</title><style>" PAGE_CSS "</style></head><body><main><h1>");
    html_esc(p, title);
    html_lit(p, "</h1>");
}

void html_send(struct http_req *req, int status, struct html_page *p)
{
    const unsigned char *data = NULL;
    size_t len;

    html_lit(p, "</main></body></html>");
    len = evbuffer_get_length(p->b);
    if (!p->failed)
        data = evbuffer_pullup(p->b, -1);
    if (p->failed || (len && !data)) {
        http_problem(req, 500, "the page could not be built");
        return;
    }
    /* no-store unless the page said otherwise (the cancel confirmation). */
    if (!evhttp_find_header(req->out_headers, "Cache-Control"))
        http_reply_header(req, "Cache-Control", "no-store");
    http_reply_header(req, "Referrer-Policy", "no-referrer");
    http_reply_header(req, "X-Frame-Options", "DENY");
    http_reply_header(req, "Content-Security-Policy", CSP);
    http_reply_data(req, status, "text/html; charset=utf-8", (const char *)data, len);
}

void html_message(struct http_req *req, int status, const char *title, const char *text,
                  const char *back_href, const char *back_text)
{
    struct html_page p = {evbuffer_new(), 0};

    if (!p.b) {
        http_problem(req, 500, "out of memory");
        return;
    }
    html_open(&p, title);
    html_lit(&p, "<p>");
    html_esc(&p, text);
    html_lit(&p, "</p>");
    if (back_href) {
        html_lit(&p, "<p><a class=\"keep\" href=\"");
        html_esc(&p, back_href);
        html_lit(&p, "\">");
        html_esc(&p, back_text ? back_text : "Retour");
        html_lit(&p, "</a></p>");
    }
    html_send(req, status, &p);
    evbuffer_free(p.b);
}

void html_not_found(struct http_req *req)
{
    /* The same page whether the token never existed, was for a survey, or
     * belongs to someone erased since. */
    html_message(req, 404, "Lien introuvable",
                 "Ce lien ne marche pas. Vérifiez qu'il est complet. Vous pouvez aussi "
                 "demander de l'aide à la personne qui vous accompagne.", NULL, NULL);
}

void html_server_error(struct http_req *req)
{
    html_message(req, 500, "Un problème est survenu",
                 "La page ne peut pas s'afficher pour le moment. Réessayez dans quelques "
                 "minutes.", NULL, NULL);
}

void html_problem(struct http_req *req, int status)
{
    const char *title = "Demande non comprise", *text =
        "Cette page ne s'utilise pas de cette façon. Ouvrez le lien reçu par SMS ou par "
        "e-mail.";

    switch (status) {
    case 404:
        html_not_found(req);
        return;
    case 409:
        title = "Ce n'est plus possible";
        text = "Ce que vous demandez n'est plus possible. Ouvrez de nouveau le lien reçu par "
               "SMS ou par e-mail pour voir où en est votre rendez-vous.";
        break;
    case 413:
        title = "Demande trop longue";
        text = "Ce que vous avez envoyé est trop long. Écrivez un texte plus court.";
        break;
    case 429:
        title = "Trop de demandes";
        text = "Cette page a été ouverte trop de fois en peu de temps. Attendez une minute, "
               "puis réessayez.";
        break;
    case 503:
        title = "Service indisponible";
        text = "Le service est arrêté pour un moment. Réessayez dans quelques minutes.";
        break;
    default:
        if (status >= 500) {
            html_server_error(req);
            return;
        }
        break;
    }
    html_message(req, status, title, text, NULL, NULL);
}
