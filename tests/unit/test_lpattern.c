/* Unit tests for core/lua/lpattern.c: the counted string.find, match, gmatch
 * and gsub give what Lua 5.4's own give (results, and the same error
 * messages), over hand-picked and generated patterns and subjects; their
 * work is charged, often enough to stop a pattern bomb at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lpattern.h"

static long charged, charges, limit;

/* Counts; raises once LIMIT (when set) is passed, as the sandbox does. */
static void charge(lua_State *L, long steps)
{
    charged += steps;
    charges++;
    if (limit && charged > limit)
        luaL_error(L, "instruction budget exceeded");
}

static const struct lpat_cost cost = {charge};

/* A state with the stock library and ours as the global lpat. */
static lua_State *state(void)
{
    lua_State *L = luaL_newstate();

    assert_non_null(L);
    luaL_openlibs(L);
    lpat_push(L, &cost);
    lua_setglobal(L, "lpat");
    charged = charges = limit = 0;
    return L;
}

static void run(lua_State *L, const char *code)
{
    if (luaL_dostring(L, code) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
}

/* The comparison itself, in Lua: every call through a local named f, so
 * that argument errors name the function the same way for both. */
static const char differ[] =
    "local function call(f, ...)\n"
    "  local r = table.pack(pcall(function(...)\n"
    "    local r = table.pack(f(...)); return table.unpack(r, 1, r.n) end, ...))\n"
    "  return r\n"
    "end\n"
    "local function show(v)\n"
    "  if type(v) == 'string' then return string.format('%q', v) end\n"
    "  if type(v) == 'table' then\n"
    "    local t = {}\n"
    "    for i = 1, (v.n or #v) do t[#t + 1] = show(v[i]) end\n"
    "    return '{' .. table.concat(t, ', ') .. '}'\n"
    "  end\n"
    "  return tostring(v)\n"
    "end\n"
    "local function same(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) ~= 'table' then return a == b or (a ~= a and b ~= b) end\n"
    "  if (a.n or #a) ~= (b.n or #b) then return false end\n"
    "  for i = 1, (a.n or #a) do if not same(a[i], b[i]) then return false end end\n"
    "  return true\n"
    "end\n"
    "checked = 0\n"
    "function check(what, stock, ours, ...)\n"
    "  local a, b = call(stock, ...), call(ours, ...)\n"
    "  checked = checked + 1\n"
    "  if not same(a, b) then\n"
    "    error(what .. show(table.pack(...)) .. ': stock ' .. show(a) .. ', ours ' .. show(b), 0)\n"
    "  end\n"
    "end\n"
    /* gmatch: every step (at most 200), as a list of lists. */
    "function steps(gm)\n"
    "  return function(s, p, init)\n"
    "    local out, n = {}, 0\n"
    "    for a, b, c in gm(s, p, init) do\n"
    "      n = n + 1; out[n] = {a, b, c}\n"
    "      if n == 200 then break end\n"
    "    end\n"
    "    out.n = n\n"
    "    return out\n"
    "  end\n"
    "end\n"
    /* gsub with a function that records what it was given. */
    "local function with_fn(g, ret)\n"
    "  return function(s, p, max)\n"
    "    local seen = {}\n"
    "    local r, n = g(s, p, function(...) seen[#seen + 1] = table.pack(...); return ret(...) end, max)\n"
    "    return r, n, seen\n"
    "  end\n"
    "end\n"
    "local REPL = {'<%0>', '%1', '%2-%1', '%%', 'x%', '%a', '', '%9', 1.5, 42}\n"
    "local TABLE = setmetatable({a = 'A', hello = false, [' '] = 1, ['1'] = {}}, {})\n"
    "local RETS = {function(a) return a and a:upper() end, function() return nil end,\n"
    "              function() return false end, function(a) return #tostring(a) end,\n"
    "              function() return {} end}\n"
    "local INITS = {nil, 1, 2, 0, -1, -3, 5, 100, -100}\n"
    "function compare(s, p)\n"
    "  for _, init in ipairs({1, 2, 0, -1, -3, 5, 100, -100}) do\n"
    "    check('find', string.find, lpat.find, s, p, init)\n"
    "    check('find plain', string.find, lpat.find, s, p, init, true)\n"
    "    check('match', string.match, lpat.match, s, p, init)\n"
    "    check('gmatch', steps(string.gmatch), steps(lpat.gmatch), s, p, init)\n"
    "  end\n"
    "  check('find', string.find, lpat.find, s, p)\n"
    "  check('match', string.match, lpat.match, s, p)\n"
    "  check('gmatch', steps(string.gmatch), steps(lpat.gmatch), s, p)\n"
    "  for _, r in ipairs(REPL) do\n"
    "    check('gsub', string.gsub, lpat.gsub, s, p, r)\n"
    "    check('gsub max', string.gsub, lpat.gsub, s, p, r, 1)\n"
    "  end\n"
    "  check('gsub table', string.gsub, lpat.gsub, s, p, TABLE)\n"
    "  for _, ret in ipairs(RETS) do\n"
    "    check('gsub fn', with_fn(string.gsub, ret), with_fn(lpat.gsub, ret), s, p)\n"
    "    check('gsub fn max', with_fn(string.gsub, ret), with_fn(lpat.gsub, ret), s, p, 2)\n"
    "  end\n"
    "end\n";

static const char cases[] =
    "local S = {'', 'a', 'hello world', '  trim me  ', '(foo(bar))baz)', 'THE (quick) fox',\n"
    "  'x=1, y=22, z=333', '\\0a\\0b\\0', 'aaaaab', 'ABCabc123_-!?', 'caf\\195\\169 \\226\\130\\172',\n"
    "  '[[x]] %d %%', 'one two  three\\tfour\\nfive', 'key = value', '$^*+?.()[]%-',\n"
    "  '\\r\\n\\t\\v\\f ', 'THE END', 'aXbXc', '0x1F 0xzz 7f', 'abcabcabc',\n"
    "  string.rep('a', 300)}\n"
    "local all = {}\n"
    "for i = 0, 255 do all[#all + 1] = string.char(i) end\n"
    "S[#S + 1] = table.concat(all)\n"
    "local P = {\n"
    /* classes and their complements */
    "  '%a', '%c', '%d', '%g', '%l', '%p', '%s', '%u', '%w', '%x',\n"
    "  '%A', '%C', '%D', '%G', '%L', '%P', '%S', '%U', '%W', '%X', '%z', '%Z', '%.', '%%',\n"
    "  '%a+', '%d*', '%s-', '%w?', '%x+$', '^%s*', '%s*$', '^%s*(.-)%s*$', '^%s*(.*%S)',\n"
    /* sets and ranges */
    "  '[abc]', '[^abc]', '[a-z]+', '[^a-z]+', '[%a_][%w_]*', '[%d%s]', '[]]', '[^]]', '[a-]',\n"
    "  '[-a]', '[%]]', '[%-x]', '[z-a]', '[%a-z]', '[\\0-\\31]', '[\\128-\\255]+', '[.]', '[%%]',\n"
    "  '[^%s]+', '[^%z]', '[a%-z]',\n"
    /* quantifiers, anchors */
    "  'a*', 'a+', 'a-', 'a?', '.', '.*', '.-', '.+', '.-b', 'a.-b', '^a', '^', '$', '^$', 'b$',\n"
    "  'a$b', '^*', '^+a', '*a', '+', '?', '-', 'x*$', '()', '(.-)$', 'a^',\n"
    /* captures, positions, back-references */
    "  '(a)', '(a*)', '()a()', '(h)(e)(l)(l)(o)', '((a)(b))', '(%d+)', '(%a+)%s*=%s*(%a+)',\n"
    "  '(.)%1', '(a)(b)%2%1', '()', '(()a())', '(x*)', '(%w+)', '(a)%0', '((.)%2)',\n"
    /* balance and frontier */
    "  '%b()', '%b[]', '%b((', '%bxy', '%f[%a]%a+', '%f[%A]', '%f[%w]%w+%f[%W]', '%f[a]',\n"
    "  '%f[^%z]', '%f[%z]', '%f[%s]', '(%b())', '%b\\0\\0', '%b)(',\n"
    /* malformed: each raises when the matching reaches it */
    "  '%', 'a%', '[a', '[^', '[', '[%', '[a%]', '%b', '%ba', 'x%b', '%f', '%fa', '%f[a',\n"
    "  '(', 'a(', ')', 'a)', '%1', '(a)%2', '(a%1)', '%0', '(()', '((a)', 'x(', '(a)(b', '%g(',\n"
    "  'z[', 'z%', 'z(', string.rep('(', 33) .. string.rep(')', 33),\n"
    "  string.rep('(', 32) .. string.rep(')', 32), string.rep('a?', 199), string.rep('a?', 201),\n"
    "  string.rep('a*', 150), string.rep('(a)', 40),\n"
    "  '\\0', 'a\\0b', '[\\0]', '%\\0', '\\0*',\n"
    "}\n"
    "for _, s in ipairs(S) do for _, p in ipairs(P) do compare(s, p) end end\n";

static void test_same_as_stock(void **state_)
{
    lua_State *L = state();

    (void)state_;
    run(L, differ);
    run(L, cases);
    lua_getglobal(L, "checked");
    print_message("# %lld comparisons\n", (long long)lua_tointeger(L, -1));
    assert_true(lua_tointeger(L, -1) > 100000);
    assert_true(charged > 0);
    lua_close(L);
}

/* Patterns and subjects drawn at random from their pieces (a fixed seed:
 * the same cases every run). */
static const char generated[] =
    "local seed = 12345\n"
    "local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n + 1 end\n"
    "local PIECES = {'a', 'b', '.', '%a', '%d', '%s', '%w', '%p', '%A', '[ab]', '[^a]', '[a-c]',\n"
    "  '*', '+', '-', '?', '(', ')', '()', '%1', '%2', '%b()', '%f[%w]', '%f[%W]', '^', '$',\n"
    "  '%', '[', ']', '%%', 'x', ' ', '\\0'}\n"
    "local CHARS = {'a', 'b', 'c', ' ', '(', ')', '1', '2', 'x', '.', '%', '\\0', 'A', '\\n'}\n"
    "for _ = 1, 2500 do\n"
    "  local p, s = {}, {}\n"
    "  for i = 1, rnd(8) do p[i] = PIECES[rnd(#PIECES)] end\n"
    "  for i = 1, rnd(14) - 1 do s[i] = CHARS[rnd(#CHARS)] end\n"
    "  compare(table.concat(s), table.concat(p))\n"
    "end\n";

static void test_generated(void **state_)
{
    lua_State *L = state();

    (void)state_;
    run(L, differ);
    run(L, generated);
    lua_close(L);
}

static void test_methods_and_errors(void **state_)
{
    lua_State *L = state();

    (void)state_;
    run(L, differ);
    /* Argument checking and its messages. */
    run(L, "for _, args in ipairs({{}, {1}, {'a'}, {'a', {}}, {'a', 'b', 'x'}, {'a', 'b', 1.5},\n"
           "    {{}, 'a'}, {'a', nil}, {12345, 3}, {'a1b22', '%d+', 2.0}}) do\n"
           "  check('find', string.find, lpat.find, table.unpack(args))\n"
           "  check('match', string.match, lpat.match, table.unpack(args))\n"
           "  check('gmatch', steps(string.gmatch), steps(lpat.gmatch), table.unpack(args))\n"
           "end\n"
           "for _, args in ipairs({{'abc', 'b'}, {'abc', 'b', nil}, {'abc', 'b', true},\n"
           "    {'abc', 'b', 'x', 'y'}, {'abc', 'b', 'x', 1.5}, {'abc', 'b', 'x', -1},\n"
           "    {'abc', 'b', 'x', 0}, {'abc', '', '-'}, {'abc', '^', '-'}, {'', '', 'x'},\n"
           "    {'abc', '.', 7}, {'abc', '(b)', 2.5}}) do\n"
           "  check('gsub', string.gsub, lpat.gsub, table.unpack(args))\n"
           "end\n");
    /* The functions as methods of strings, once installed in the table
     * the string metatable indexes. */
    run(L, "for k, f in pairs(lpat) do string[k] = f end\n"
           "assert(('hello'):find('l+') == 3)\n"
           "assert(('key = v'):match('^(%w+)%s*=%s*(%w+)$') == 'key')\n"
           "local n = 0; for w in ('a b c'):gmatch('%a') do n = n + 1 end; assert(n == 3)\n"
           "assert(('abc'):gsub('%w', '%0%0') == 'aabbcc')\n");
    assert_true(charged > 0);
    lua_close(L);
}

/* ("a"):rep(3000):find(".-.-.-b") ran for minutes in the stock library:
 * here it is charged as it goes and stopped once the budget is gone. */
static void test_bomb_is_charged(void **state_)
{
    lua_State *L = state();
    struct timespec t0, t1;
    double ms;
    int rc;

    (void)state_;
    limit = 20000000;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = luaL_dostring(L, "return lpat.find(string.rep('a', 3000), '.-.-.-b')");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_int_not_equal(rc, LUA_OK);
    assert_non_null(strstr(lua_tostring(L, -1), "instruction budget exceeded"));
    assert_true(charged > limit && charged < limit + 2 * LPAT_CHARGE_EVERY);
    print_message("# the bomb stopped after %ld steps, %.1f ms\n", charged, ms);
    /* Every function, and a back-reference and balance that scan long. */
    static const char *const bombs[] = {
        "return lpat.match(string.rep('a', 3000), '.-.-.-b')",
        "for _ in lpat.gmatch(string.rep('a', 3000), '.-.-.-b') do end",
        "return lpat.gsub(string.rep('a', 3000), '.-.-.-b', '')",
        "return lpat.gsub(string.rep('a', 100000), '(a*)%1b', '')",
        "return lpat.find(string.rep('(', 100000), '%b()')",
        "return lpat.find(string.rep('a', 30000000), 'b', 1, true)",
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        charged = 0;
        limit = i == 5 ? 100000 : 20000000;
        lua_settop(L, 0);
        rc = luaL_dostring(L, bombs[i]);
        if (rc == LUA_OK || !strstr(lua_tostring(L, -1), "budget"))
            fail_msg("%s: not stopped (%s)", bombs[i],
                     rc == LUA_OK ? "finished" : lua_tostring(L, -1));
    }
    /* Ordinary work costs little, and is charged at the end of each call. */
    limit = 0;
    charged = charges = 0;
    run(L, "assert(lpat.find('hello world', 'o w') == 5)");
    assert_true(charged > 0 && charged < 100 && charges == 1);
    /* An absurd pattern is refused before any matching. */
    lua_settop(L, 0);
    rc = luaL_dostring(L, "return lpat.find('x', string.rep('.', 20000))");
    assert_int_not_equal(rc, LUA_OK);
    assert_non_null(strstr(lua_tostring(L, -1), "pattern too long"));
    run(L, "assert(lpat.find(string.rep('.', 20001), string.rep('.', 20000), 1, true) == 1)");
    lua_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_stock),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_methods_and_errors),
        cmocka_unit_test(test_bomb_is_charged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
