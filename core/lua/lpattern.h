/* lpattern — Lua 5.4 string patterns (string.find, match, gmatch, gsub)
 * whose work is counted, for the plugin sandbox.
 *
 * Lua's own implementation runs in C, outside the instruction count hook:
 * one call such as ("a"):rep(3000):find(".-.-.-b") ran for minutes on the
 * event loop. These four functions behave as Lua 5.4's (same results, same
 * errors raised at the same point of the matching; tests/unit/test_lpattern.c
 * and tests/fuzz/fuzz_lpattern.c compare them with the stock library), but
 * every step of the matching (an item tried at a position, a character
 * consumed by a repetition or a balance, a byte compared by a back-reference
 * or a plain search) is counted and handed to COST->charge at least every
 * LPAT_CHARGE_EVERY steps and once at the end of each call. The charge
 * function may raise a Lua error to stop a call that spent its budget: the
 * matcher holds no C memory, so the error unwinds cleanly. A pattern with
 * magic characters longer than LPAT_MAX_PATTERN bytes is refused at once
 * ("pattern too long"); plain searches use a linear-time search whatever
 * their length.
 *
 * The COST structure must outlive the functions pushed (a static object).
 */
#ifndef RELAIS_LPATTERN_H
#define RELAIS_LPATTERN_H

#include <lua.h>

#define LPAT_CHARGE_EVERY 4096
#define LPAT_MAX_PATTERN  16384

struct lpat_cost {
    /* STEPS were spent by the call running on L. May raise. NULL: free. */
    void (*charge)(lua_State *L, long steps);
};

/* Pushes a table {find, match, gmatch, gsub} of the counted functions. */
void lpat_push(lua_State *L, const struct lpat_cost *cost);

#endif
