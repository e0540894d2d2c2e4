/* sessions_handlers — the session handlers that live in files of their
 * own, for the route table of sessions_routes.c. Each handler file includes
 * this header for its own prototype; only sessions_routes.c calls them, so
 * the session files depend on each other one way: sessions_routes.c →
 * sessions_write.c, sessions_patch.c, sessions_feed.c → sessions.c
 * (core/domain/sessions_internal.h). Not a module contract. */
#ifndef RELAIS_SESSIONS_HANDLERS_H
#define RELAIS_SESSIONS_HANDLERS_H

struct http_req;

void sessions_create(struct http_req *req);    /* sessions_write.c: POST */
void sessions_patch(struct http_req *req);     /* sessions_patch.c: PATCH */
void sessions_cancel(struct http_req *req);    /* sessions_patch.c: POST …/cancel */
void sessions_feed(struct http_req *req);      /* sessions_feed.c: GET /sessions.ics */

#endif
