/* domain_access — the access rule of a trainer's "own sessions", exported by
 * the domain to the modules that build on it (the outbox's notification
 * list), so that the rule is written once: the domain's own handlers and
 * theirs call the same code.
 *
 * Rules:
 * - A trainer's token bound to a staff member (api_tokens.staff_id) owns
 *   the sessions that member trains, and the parts of a training they train
 *   (docs/api.md, "Roles").
 * - A failure to decide refuses: a database error never grants access.
 */
#ifndef RELAIS_DOMAIN_ACCESS_H
#define RELAIS_DOMAIN_ACCESS_H

#include <stdint.h>

struct store;
struct http_req;

/* 1 when staff member STAFF_ID trains SESSION_ID or its parent training,
 * else 0 (STAFF_ID ≤ 0, another trainer, no such session, a database
 * error: logged). */
int domain_session_is_own(struct store *st, int64_t session_id, int64_t staff_id);
/* Who may read the enrollments of SESSION_ID and what follows from them
 * (their notifications): every role but a trainer, and a trainer in their
 * own sessions. 0 when REQ may; else answers 403 and returns 1. */
int domain_enrollment_denied(struct http_req *req, int64_t session_id);

#endif
