/* domain_access — a trainer's own sessions (see
 * core/domain/domain_access.h). */
#include "domain_access.h"

#include "app.h"
#include "http.h"
#include "log.h"
#include "store.h"

int domain_session_is_own(struct store *st, int64_t session_id, int64_t staff_id)
{
    int64_t one = 0;
    sqlite3_stmt *s;
    int rc, own = 0;

    if (staff_id <= 0)
        return 0;
    s = store_stmt(st,
                   "SELECT 1 FROM sessions s LEFT JOIN sessions p ON p.id = s.parent_id"
                   " WHERE s.id = ?1 AND (s.trainer_id = ?2 OR p.trainer_id = ?2)");
    if (!s)
        goto out;
    if (sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, staff_id) != SQLITE_OK)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        one = sqlite3_column_int64(s, 0);
        own = one == 1;
    } else if (rc != SQLITE_DONE) {
        /* Callers test the answer as a boolean: failing closed (not own)
         * turns a database error into a refusal, never into access. */
        log_error("domain", "own-session check for session %lld: %s",
                  (long long)session_id, sqlite3_errmsg(store_db(st)));
    }
out:
    store_done(s);
    return own;
}

int domain_enrollment_denied(struct http_req *req, int64_t session_id)
{
    if (req->role != ROLE_TRAINER
        || (req->staff_id && domain_session_is_own(req->app->store, session_id,
                                                   req->staff_id)))
        return 0;
    http_problem(req, 403, "trainers see only the enrollments of their own sessions");
    return 1;
}
