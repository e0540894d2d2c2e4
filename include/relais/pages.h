/* pages — the beneficiary's own pages, reached from the link in a message,
 * with no login: the token in the link is the key (include/relais/links.h).
 *
 *   GET  /r/{token}         the appointment in plain French: what, when,
 *                           where, status, and a button to cancel
 *   POST /r/{token}/cancel  cancels it (frees the place: the waitlist is
 *                           promoted and told), then shows the result
 *
 * Rules: small HTML that works without JavaScript on an old phone, in plain
 * French (FALC), accessible (lang, labels, contrast ≥ 4.5:1, targets ≥ 44
 * px); no external assets; an unknown token gets a 404 page in the same
 * style, never a hint of whether it once existed; a session that already
 * started cannot be cancelled (409 page). Pages carry no personal data but
 * the first name, and are sent with Cache-Control: no-store,
 * Referrer-Policy: no-referrer and a Content-Security-Policy that allows
 * nothing external.
 */
#ifndef RELAIS_PAGES_H
#define RELAIS_PAGES_H

struct http_server;

/* Registers the routes above. 0 or -1. */
int pages_register(struct http_server *hs);

#endif
