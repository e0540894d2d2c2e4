/* Internal to the config subsystem (core/config/config*.c). */
#ifndef RELAIS_CONFIG_INTERNAL_H
#define RELAIS_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include <lua.h>

struct config;
struct config_limits;

/* The checkers below (config_check.c) run inside the protected call of
 * config_load: a bad value raises a Lua error whose message names the key. */

/* Raises "FMT…" (lua_pushvfstring: only %s and %d). */
void config_bad(lua_State *L, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
/* The string at IDX, or raises "'NAME' must be WHAT" (a NUL inside too). */
const char *config_get_str(lua_State *L, int idx, const char *name, const char *what);
/* A duration string ("30s", "2h") at IDX in seconds, or raises naming
 * EXAMPLE. */
int64_t config_duration(lua_State *L, int idx, const char *name, const char *example);

/* The name of the key at KIDX in a table named PREFIX, as errors show it
 * ("limits.clients", "plugins[2]"), into BUF. */
void config_key_name(lua_State *L, int kidx, const char *prefix, char *buf, size_t n);

/* One known key of a table and its checker. */
struct config_field {
    const char *name;
    void (*fn)(lua_State *L, int idx, const char *name, struct config *cfg);
};
/* Checks every own key of the table at TBL against FIELDS and hands each
 * value to its checker; names are PREFIX.KEY. */
void config_walk(lua_State *L, int tbl, const char *prefix,
                 const struct config_field *fields, size_t nfields, struct config *cfg);

/* Checks that the value at IDX is a list (keys 1..n, nothing else) of at
 * most MAX items and returns n; else raises "'NAME' must be WHAT". */
size_t config_list_len(lua_State *L, int idx, const char *name, const char *what, size_t max);

/* config_records.c: territory, themes and reports (struct config_records). */
void config_k_territory(lua_State *L, int idx, const char *name, struct config *cfg);
void config_k_themes(lua_State *L, int idx, const char *name, struct config *cfg);
void config_k_reports(lua_State *L, int idx, const char *name, struct config *cfg);
/* 0, or -1 when out of memory (what was made is freed by config_records_free). */
int config_records_defaults(struct config *cfg);
void config_records_free(struct config *cfg);

/* config_limits.c: the limits = {…} table. */
void config_k_limits(lua_State *L, int idx, const char *name, struct config *cfg);
void config_limits_defaults(struct config_limits *l);
/* config_login.c: the login = {…} table. */
struct config_login;
void config_k_login(lua_State *L, int idx, const char *name, struct config *cfg);
void config_login_defaults(struct config_login *l);

/* config.c: config_load with the default paths CANDIDATES (a NULL-ended
 * list, the first that exists is read) instead of the built-in ones, and
 * the first of CANDIDATES that exists (NULL: none). For tests. */
int config_load_from(const char *path, const char *const *candidates, struct config **out,
                     char **err);
const char *config_find_default(const char *const *candidates);

/* config_proxy.c: the trusted_proxies = {…} list. */
void config_k_trusted_proxies(lua_State *L, int idx, const char *name, struct config *cfg);
/* config_ops.c: the links = {…} and metrics = {…} tables. */
void config_k_links(lua_State *L, int idx, const char *name, struct config *cfg);
void config_k_metrics(lua_State *L, int idx, const char *name, struct config *cfg);

/* Checks every global the file left in the table at ENV (an absolute stack
 * index) and fills CFG. Must run inside a protected call: a bad key raises a
 * Lua error whose message names it ("unknown key 'lisen'"). */
void config_read_globals(lua_State *L, int env, struct config *cfg);

/* Fills INTO (a cJSON array or object the caller has already attached to
 * the config, so that config_free() reclaims it whatever happens) from the
 * plain table at IDX (an absolute stack index): for a plugin's own config
 * table. A list (keys 1..n) becomes an array, a table with string keys an
 * object, an empty one an object; leaves are strings, numbers and booleans;
 * at most CONFIG_TABLE_DEPTH levels. Raises an error naming the bad entry
 * ("'surveys.workshop[2].type' must be …"). INTO must be an array exactly
 * when config_table_is_list() says the table is a list. */
#define CONFIG_TABLE_DEPTH 8
void config_table_json(lua_State *L, int idx, const char *name, cJSON *into, int depth);
/* 1 when the table at IDX has keys 1..n only and at least one. */
int config_table_is_list(lua_State *L, int idx);

#endif
