/* /api/v1/venues — the places where sessions happen. Read by every role,
 * written by admins and coordinators. A venue that sessions refer to cannot
 * be deleted (409): the sessions' history and reports need it. The
 * handlers are the simple resources' (core/domain/domain_resource.c). */
#include "domain.h"
#include "domain_resource.h"

static const struct domain_field fields[] = {
    {"name", DF_TEXT, 1, 200, 0, 0, NULL},
    {"address", DF_TEXT, 0, 300, 0, 0, NULL},
    {"commune", DF_TEXT, 0, 100, 0, 0, NULL},
    {"neighborhood", DF_TEXT, 0, 100, 0, 0, NULL},
    {"aptic", DF_BOOL, 0, 0, 0, 0, NULL},
    {"accessible", DF_BOOL, 0, 0, 0, 0, NULL},
    /* Shown on the beneficiaries' pages ("Pour toute question : …"). */
    {"phone", DF_PHONE, 0, 0, 0, 0, NULL},
};
#define NF (sizeof fields / sizeof fields[0])
_Static_assert(NF <= DOMAIN_FIELDS_MAX, "too many fields for domain_fields_read");

/* Column order shared by every SELECT below: id, the fields, the times. */
#define VENUE_COLS "id, name, address, commune, neighborhood, aptic, accessible, phone," \
                   " created_at, updated_at"

static const struct domain_resource venues = {
    .path = "/api/v1/venues",
    .plural = "venues",
    .fields = fields,
    .nfields = NF,
    .filter = "commune",
    .select_one_sql = "SELECT " VENUE_COLS " FROM venues WHERE id = ?1",
    .select_page_sql = "SELECT " VENUE_COLS " FROM venues"
                       " WHERE id > ?1 AND (?2 IS NULL OR commune = ?2 COLLATE NOCASE)"
                       " ORDER BY id LIMIT ?3",
    .insert_sql = "INSERT INTO venues (name, address, commune, neighborhood, aptic,"
                  " accessible, phone, created_at, updated_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    .update_sql = "UPDATE venues SET"
                  " name = CASE WHEN ?8 THEN ?1 ELSE name END,"
                  " address = CASE WHEN ?9 THEN ?2 ELSE address END,"
                  " commune = CASE WHEN ?10 THEN ?3 ELSE commune END,"
                  " neighborhood = CASE WHEN ?11 THEN ?4 ELSE neighborhood END,"
                  " aptic = CASE WHEN ?12 THEN ?5 ELSE aptic END,"
                  " accessible = CASE WHEN ?13 THEN ?6 ELSE accessible END,"
                  " phone = CASE WHEN ?14 THEN ?7 ELSE phone END,"
                  " updated_at = ?16"
                  " WHERE id = ?15",
    .del = {
        "venues", "venue",
        "SELECT 1 FROM venues WHERE id = ?1",
        "SELECT 1 FROM sessions WHERE venue_id = ?1 LIMIT 1",
        "DELETE FROM venues WHERE id = ?1",
        "no venue %lld", "venue %lld has sessions; it cannot be deleted",
    },
};

DOMAIN_RESOURCE_ROUTES(venues, venues)
