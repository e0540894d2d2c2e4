/* domain — the programme's objects and their HTTP resources: venues, staff,
 * beneficiaries, sessions (workshops, permanences with slots, trainings with
 * parts), enrollments with capacity and waitlist, attendance, and the
 * iCalendar feed.
 *
 * Rules:
 * - Handlers validate every field and list every bad one (422); they write
 *   inside the transaction the http server opened, so an answer ≥ 400 keeps
 *   nothing.
 * - Every change others must hear about (a session moved, given a new venue
 *   or cancelled, an enrollment booked, promoted, cancelled or marked, a
 *   person erased or withdrawing consent) is recorded in the same
 *   transaction and emitted as a domain event (core/domain/domain_events.h): the
 *   outbox and the plugin host observe them there, and may veto. The domain
 *   calls neither of them.
 * - Personal data (names, phones, emails) never reaches the log.
 */
#ifndef RELAIS_DOMAIN_H
#define RELAIS_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "domain_access.h"
#include "domain_events.h"

struct http_server;
struct http_req;
struct store;
struct cJSON;

/* Route registration, one per resource file. 0 or -1. */
int venues_register(struct http_server *hs);
int staff_register(struct http_server *hs);
int beneficiaries_register(struct http_server *hs);
int sessions_register(struct http_server *hs);
int enrollments_register(struct http_server *hs);
int series_register(struct http_server *hs);           /* core/domain/series.c */

/* --- permanence slots (core/domain/slots.c, pure) ---------------------------- */
/* Number of whole slots of SLOT_MINUTES in [START, END). */
int slots_count(int64_t start, int64_t end, int slot_minutes);
/* 0 when SLOT_START begins a whole slot inside [START, END), else -1. */
int slots_check(int64_t start, int64_t end, int slot_minutes, int64_t slot_start);

/* --- enrollments (core/domain/enrollments.c) ---------------------------------- */
/* Books waitlisted people of SESSION_ID (a workshop, a permanence walk-in, or
 * a training with its parts) in waitlist order while places remain, each
 * recorded as "promoted". Call inside a transaction after a place frees up or
 * the capacity grows. Returns the number promoted, or -1. */
int enrollments_promote(struct store *st, int64_t session_id, int64_t token_id);
/* Places taken (booked + attended + absent + excused; not waitlisted or
 * cancelled) in SESSION_ID: -1 on error. */
int64_t enrollments_taken(struct store *st, int64_t session_id);
/* Cancels enrollment ID (booked or waitlisted, and not a training part)
 * with its training parts, then books the waitlist into the place it
 * freed, each change recorded (which makes the notifications): the one
 * path of PATCH /api/v1/enrollments/{id} {"status": "cancelled"} and of
 * the beneficiary's page. TOKEN_ID 0 when no API token acts. Call inside a
 * transaction. 0 cancelled, 1 not cancellable (its status, or a part, or
 * no such enrollment), -1 error. */
int enrollments_cancel(struct store *st, int64_t id, int64_t token_id);

/* --- beneficiaries (core/domain/beneficiaries_rights.c) ------------------------ */
/* STOP / START from an inbound SMS: sets consent_sms of every beneficiary
 * (not erased) whose phone is PHONE (E.164); withdrawing emits
 * DOMAIN_CONSENT_WITHDRAWN for each (the outbox suppresses their pending
 * SMS). All or nothing: a savepoint inside an open transaction, a
 * transaction of its own otherwise. Returns how many people have that
 * number, or -1 (logged; nothing changed). */
int beneficiaries_sms_consent(struct store *st, const char *phone, int consent);

/* --- change records ------------------------------------------------------ */
/* Both write a history row and emit its event to the observers of the
 * store's registry (store_events), in the caller's transaction; -1 when
 * the row could not be written or an observer vetoed: the caller gives the
 * change up (its transaction is rolled back). */
/* KIND: "created", "updated", "moved", "venue", "cancelled". OLD_* and NEW_*
 * may be 0 when not relevant. 0 or -1. */
int domain_record_session_change(struct store *st, int64_t session_id, const char *kind,
                                 int64_t old_start, int64_t old_end, int64_t old_venue,
                                 int64_t new_start, int64_t new_end, int64_t new_venue,
                                 int64_t token_id);
/* KIND: "booked", "waitlisted", "promoted", "cancelled", "attended", "absent",
 * "excused". 0 or -1. */
int domain_record_enrollment_event(struct store *st, int64_t enrollment_id,
                                   const char *kind, int64_t token_id);

/* --- shared helpers (core/domain/domain_util.c) -------------------------------- */
/* Lower-cased, accents removed, spaces collapsed: the search key of names. */
char *domain_fold(const char *s);

#endif
