/* pages — the beneficiary's own pages, reached from the link in a message,
 * with no login: the token in the link is the key (core/auth/links.h).
 *
 *   GET  /r/{token}         the appointment in plain French: what, when
 *                           (the date in full), where, the venue's phone,
 *                           its status, and a button to cancel
 *   POST /r/{token}/cancel  without confirm=yes: asks "Annuler votre
 *                           rendez-vous ?" and changes nothing; with
 *                           confirm=yes: cancels (frees the place: the
 *                           waitlist is promoted and told) and sends back
 *                           (303) to /r/{token}, which then says so
 *
 * Rules: small HTML that works without JavaScript on an old phone, in plain
 * French for a reader who reads with difficulty (short sentences, no
 * "inscrit·e" forms), accessible (lang, labels, contrast ≥ 4.5:1, targets
 * ≥ 44 px); no external assets; an unknown token gets a 404 page in the
 * same style, never a hint of whether it once existed; a session that
 * already started cannot be cancelled (409 page). Every answer under /r/
 * and /s/ is such a page, problems of the server itself included (HTTP's
 * html_problem, html.h, which builds every page). Pages carry no personal
 * data but the first name, and are sent with Cache-Control: no-store,
 * Referrer-Policy: no-referrer and a Content-Security-Policy that allows
 * nothing external. Back and reload are harmless: the only writing request
 * answers 303 to a page one can reload.
 */
#ifndef RELAIS_PAGES_H
#define RELAIS_PAGES_H

struct http_server;

/* Registers the routes above, and the French page of HTTP (html_problem,
 * html.h) for every problem answered under /r/ and /s/. 0 or -1. */
int pages_register(struct http_server *hs);

#endif
