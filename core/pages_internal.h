/* pages_internal — what core/pages.c (the appointment pages) and
 * core/pages_html.c (building a page, and the French page of every error
 * under /r/ and /s/) share. Not a module contract: other modules go through
 * include/relais/pages.h.
 *
 * A struct page is an evbuffer being filled; the first failure sticks
 * (FAILED) and send_page answers 500 then. Every value from the database or
 * the request goes through pages_esc. */
#ifndef RELAIS_PAGES_INTERNAL_H
#define RELAIS_PAGES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct http_req;

struct page {
    struct evbuffer *b;
    int failed;
};

/* Literal HTML. */
void pages_lit(struct page *p, const char *s);
/* Text, HTML-escaped. */
void pages_esc(struct page *p, const char *s);
/* The document's head and the <h1> TITLE (escaped). */
void pages_open(struct page *p, const char *title);
/* Sends P with STATUS and the pages' headers (500 problem if it could not
 * be built): Cache-Control: no-store unless one was set. P stays the
 * caller's (evbuffer_free). */
void pages_send(struct http_req *req, int status, struct page *p);
/* A page of one message: TITLE, TEXT, and when BACK_HREF is given a link
 * "Voir mon rendez-vous" to it (relative). */
void pages_message(struct http_req *req, int status, const char *title, const char *text,
                   const char *back_href);
/* The 404 of an unknown link, the same whatever is wrong with it. */
void pages_not_found(struct http_req *req);
/* The 410 of a link whose session ended longer ago than links.expire_after. */
void pages_expired(struct http_req *req);
void pages_server_error(struct http_req *req);

#endif
