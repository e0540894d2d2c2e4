/* /api/v1/staff — trainers and coordinators as people. Read by every role,
 * written by admins and coordinators. A token bound to a staff member is how
 * "own sessions" is known; deleting the member unbinds such tokens (the
 * foreign key sets them NULL), and a member who trains sessions cannot be
 * deleted (409): the sessions' history needs them. The handlers are the
 * simple resources' (core/domain/domain_resource.c). */
#include "domain.h"
#include "domain_resource.h"

static const char *const roles[] = {"trainer", "coordinator", NULL};

static const struct domain_field fields[] = {
    {"name", DF_TEXT, 1, 200, 0, 0, NULL},
    {"email", DF_EMAIL, 0, 254, 0, 0, NULL},
    {"phone", DF_PHONE, 0, 0, 0, 0, NULL},
    {"role", DF_ENUM, 1, 0, 0, 0, roles},
};
#define NF (sizeof fields / sizeof fields[0])
_Static_assert(NF <= DOMAIN_FIELDS_MAX, "too many fields for domain_fields_read");

/* Column order shared by every SELECT below: id, the fields, the times. */
#define STAFF_COLS "id, name, email, phone, role, created_at, updated_at"

static const struct domain_resource staff = {
    .path = "/api/v1/staff",
    .plural = "staff",
    .fields = fields,
    .nfields = NF,
    .filter = "role",
    .filter_values = roles,
    .filter_error = "must be trainer or coordinator",
    .select_one_sql = "SELECT " STAFF_COLS " FROM staff WHERE id = ?1",
    .select_page_sql = "SELECT " STAFF_COLS " FROM staff"
                       " WHERE id > ?1 AND (?2 IS NULL OR role = ?2)"
                       " ORDER BY id LIMIT ?3",
    .insert_sql = "INSERT INTO staff (name, email, phone, role, created_at, updated_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    .update_sql = "UPDATE staff SET"
                  " name = CASE WHEN ?5 THEN ?1 ELSE name END,"
                  " email = CASE WHEN ?6 THEN ?2 ELSE email END,"
                  " phone = CASE WHEN ?7 THEN ?3 ELSE phone END,"
                  " role = CASE WHEN ?8 THEN ?4 ELSE role END,"
                  " updated_at = ?10"
                  " WHERE id = ?9",
    .del = {
        "staff", "staff member",
        "SELECT 1 FROM staff WHERE id = ?1",
        "SELECT 1 FROM sessions WHERE trainer_id = ?1 LIMIT 1",
        "DELETE FROM staff WHERE id = ?1",
        "no staff member %lld", "staff member %lld trains sessions; they cannot be deleted",
    },
};

DOMAIN_RESOURCE_ROUTES(staff, staff)
