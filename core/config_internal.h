/* Internal to the config module (config.c and config_keys.c). */
#ifndef RELAIS_CONFIG_INTERNAL_H
#define RELAIS_CONFIG_INTERNAL_H

#include <lua.h>

struct config;

/* Checks every global the file left in the table at ENV (an absolute stack
 * index) and fills CFG. Must run inside a protected call: a bad key raises a
 * Lua error whose message names it ("unknown key 'lisen'"). */
void config_read_globals(lua_State *L, int env, struct config *cfg);

#endif
