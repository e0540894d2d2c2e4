/* html — the French pages the server answers people with, where programs
 * get problem+json: building a page, a page of one message, and the page
 * that replaces every problem answered under a path for people
 * (http_problem_pages: the beneficiaries' /r/ and /s/, core/domain/pages.c;
 * the set-password links /auth/set-password/, core/auth/auth_invite.c).
 *
 * Rules:
 * - Small HTML that works without JavaScript on an old phone, in plain
 *   French for a reader who reads with difficulty (FALC: short sentences,
 *   no abbreviations, no "inscrit·e" forms), accessible (lang, contrast
 *   ≥ 7:1, targets ≥ 44 px, a visible focus), no external asset.
 * - Every value from the database or the request goes through html_esc.
 * - Pages are sent with Cache-Control: no-store (unless the page set
 *   another), Referrer-Policy: no-referrer, X-Frame-Options: DENY and a
 *   Content-Security-Policy that allows nothing external.
 *
 * A struct html_page is an evbuffer being filled (the caller's: it makes
 * and frees it); the first failure sticks (FAILED) and html_send answers
 * 500 then. */
#ifndef RELAIS_HTML_H
#define RELAIS_HTML_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct http_req;

struct html_page {
    struct evbuffer *b;
    int failed;
};

/* Literal HTML. */
void html_lit(struct html_page *p, const char *s);
/* Text, HTML-escaped. */
void html_esc(struct html_page *p, const char *s);
/* The document's head and the <h1> TITLE (escaped). */
void html_open(struct html_page *p, const char *title);
/* Sends P with STATUS and the headers above (500 problem if it could not
 * be built). P stays the caller's (evbuffer_free). */
void html_send(struct http_req *req, int status, struct html_page *p);
/* A page of one message: TITLE, TEXT, and when BACK_HREF is given a link
 * drawn as a button, BACK_TEXT, to it (relative). */
void html_message(struct http_req *req, int status, const char *title, const char *text,
                  const char *back_href, const char *back_text);
/* The 404 of an unknown link, the same whatever is wrong with it. */
void html_not_found(struct http_req *req);
void html_server_error(struct http_req *req);
/* An http_page_fn: answers REQ (nothing staged) with the French page for
 * STATUS: 404 "Lien introuvable", 405/400/415 "Demande non comprise", 409,
 * 413, 429 "Trop de demandes", 503, other 5xx "Un problème est survenu".
 * For the answers the server itself gives on those paths (the router's
 * 404 and 405, a rate limit's 429, a body too large, a plugin's failure). */
void html_problem(struct http_req *req, int status);

#endif
