/* The counted string patterns (core/lua/lpattern.c) against Lua 5.4's own:
 * find (with and without plain), match, gmatch (every step) and gsub
 * (string, table and function replacements, with a maximum) on the same
 * subject, pattern and replacement must give the same results, or fail
 * with the same message. Inputs are bounded (a subject of 64 bytes, a
 * pattern of 32, a replacement of 16) and ours runs first with a step
 * limit: a pattern that would take the stock library too long (it counts
 * nothing) is skipped. Never a crash, a leak or undefined behaviour.
 *
 * Input: byte 0 picks the init and the gsub maximum, bytes 1 and 2 the
 * subject's and the pattern's lengths; then the subject, the pattern and
 * the replacement. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lpattern.h"

#define STEP_LIMIT 20000

static long spent;

static void charge(lua_State *L, long steps)
{
    spent += steps;
    if (spent > STEP_LIMIT)
        luaL_error(L, "fuzz: too many steps");
}

static const struct lpat_cost cost = {charge};

/* Calls LIB.FN(...) of both libraries, in Lua, and compares: the script
 * below returns true when they agree, false and a description when not,
 * and nil when ours ran over the step limit. */
static const char script[] =
    "local op, s, p, r, init, max = ...\n"
    "local function pack(...) return {n = select('#', ...), ...} end\n"
    "local function run(lib)\n"
    "  if op == 1 then return pack(pcall(lib.find, s, p, init)) end\n"
    "  if op == 2 then return pack(pcall(lib.find, s, p, init, true)) end\n"
    "  if op == 3 then return pack(pcall(lib.match, s, p, init)) end\n"
    "  if op == 4 then\n"
    "    return pack(pcall(function()\n"
    "      local out = {}\n"
    "      for a, b in lib.gmatch(s, p, init) do\n"
    "        out[#out + 1] = tostring(a) .. '|' .. tostring(b)\n"
    "        if #out > 100 then break end\n"
    "      end\n"
    "      return table.concat(out, ',')\n"
    "    end))\n"
    "  end\n"
    "  if op == 5 then return pack(pcall(lib.gsub, s, p, r, max)) end\n"
    "  if op == 6 then return pack(pcall(lib.gsub, s, p, {a = r, [''] = false, x = 1}, max)) end\n"
    "  local seen = {}\n"
    "  local res = pack(pcall(lib.gsub, s, p, function(...)\n"
    "    local a = pack(...)\n"
    "    for i = 1, a.n do seen[#seen + 1] = tostring(a[i]) end\n"
    "    if a[1] == 'b' then return nil end\n"
    "    return r\n"
    "  end, max))\n"
    "  res[#res + 1] = table.concat(seen, ',')\n"
    "  return res\n"
    "end\n"
    "local ours = run(lpat)\n"
    "if not ours[1] and tostring(ours[2]):find('fuzz: too many steps', 1, true) then return nil end\n"
    "local stock = run(string)\n"
    "if #ours ~= #stock or ours.n ~= stock.n then return false, 'counts' end\n"
    "for i = 1, math.max(ours.n, #ours) do\n"
    "  if ours[i] ~= stock[i] then\n"
    "    return false, string.format('op %d value %d: %q vs %q', op, i, tostring(ours[i]),\n"
    "                                tostring(stock[i]))\n"
    "  end\n"
    "end\n"
    "return true\n";

static lua_State *L;
static int script_ref;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lua_Integer inits[] = {1, 2, 0, -1, -3, 5, 40, -100};
    size_t ls, lp, lr;
    const char *s, *p, *r;

    if (size < 3)
        return 0;
    if (!L) {
        L = luaL_newstate();
        if (!L)
            abort();
        luaL_openlibs(L);
        lpat_push(L, &cost);
        lua_setglobal(L, "lpat");
        if (luaL_loadstring(L, script) != LUA_OK)
            abort();
        script_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    ls = data[1] % 65;
    lp = data[2] % 33;
    if (3 + ls + lp > size)
        return 0;
    s = (const char *)data + 3;
    p = s + ls;
    r = p + lp;
    lr = size - 3 - ls - lp;
    if (lr > 16)
        lr = 16;
    for (int op = 1; op <= 7; op++) {
        spent = 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, script_ref);
        lua_pushinteger(L, op);
        lua_pushlstring(L, s, ls);
        lua_pushlstring(L, p, lp);
        lua_pushlstring(L, r, lr);
        lua_pushinteger(L, inits[data[0] % 8]);
        lua_pushinteger(L, (data[0] >> 3) % 4 == 0 ? (lua_Integer)ls + 1 : (data[0] >> 3) % 4);
        if (lua_pcall(L, 6, 2, 0) != LUA_OK) {
            fprintf(stderr, "fuzz script failed: %s\n", lua_tostring(L, -1));
            abort();
        }
        if (lua_type(L, -2) == LUA_TBOOLEAN && !lua_toboolean(L, -2)) {
            fprintf(stderr, "lpattern differs from the stock library: %s\n",
                    lua_tostring(L, -1));
            abort();
        }
        lua_pop(L, 2);
    }
    /* Everything this input made is freed now: libFuzzer then sees as many
     * frees as allocations and skips its (costly) leak scan. */
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
