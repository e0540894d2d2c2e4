/* Internal to the config module (config.c and config_keys.c). */
#ifndef RELAIS_CONFIG_INTERNAL_H
#define RELAIS_CONFIG_INTERNAL_H

#include <cJSON.h>
#include <lua.h>

struct config;

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
