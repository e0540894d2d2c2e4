/* lpattern — Lua 5.4 string patterns with their work counted (see
 * core/lua/lpattern.h). Written for the plugin host from the Lua 5.4
 * reference manual (§6.4.1) and the behaviour of the stock library, which
 * the differential tests pin down: a backtracking matcher that walks the
 * pattern text itself, so that a malformed item raises its error only when
 * the matching reaches it, and that nests at most MAX_DEPTH calls ("pattern
 * too complex") exactly where the stock matcher does.
 *
 * Subjects and patterns are Lua strings, so a byte past their end is a NUL
 * that may be read (the stock library's own frontier and balance rules read
 * it); nothing else is read outside them.
 */
#include "lpattern.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>

#define ESC          '%'
#define MAX_CAPTURES 32       /* LUA_MAXCAPTURES */
#define MAX_DEPTH    200      /* nested matching calls */
#define CAP_OPEN     (-1)
#define CAP_POSITION (-2)

struct capture {
    const char *at;
    ptrdiff_t len;            /* CAP_OPEN, CAP_POSITION or a length */
};

struct matcher {
    lua_State *L;
    const char *subject, *subject_end;
    const char *pattern, *pattern_end;
    int depth;                /* nested calls left */
    int ncap;
    struct capture cap[MAX_CAPTURES];
    long steps;               /* spent, not yet charged */
    const struct lpat_cost *cost;
};

/* --- counting ------------------------------------------------------------------ */

static void pay(struct matcher *m)
{
    long n = m->steps;

    m->steps = 0;
    if (n > 0 && m->cost && m->cost->charge)
        m->cost->charge(m->L, n);
}

static void spend(struct matcher *m, long n)
{
    m->steps += n;
    if (m->steps >= LPAT_CHARGE_EVERY)
        pay(m);
}

/* --- single characters ------------------------------------------------------------ */

/* Whether C is of class CL (the letter after '%'): a letter names a class,
 * its capital the complement; any other byte stands for itself. */
static int of_class(int c, int cl)
{
    int in;

    switch (tolower(cl)) {
    case 'a': in = isalpha(c); break;
    case 'c': in = iscntrl(c); break;
    case 'd': in = isdigit(c); break;
    case 'g': in = isgraph(c); break;
    case 'l': in = islower(c); break;
    case 'p': in = ispunct(c); break;
    case 's': in = isspace(c); break;
    case 'u': in = isupper(c); break;
    case 'w': in = isalnum(c); break;
    case 'x': in = isxdigit(c); break;
    case 'z': in = c == 0; break;     /* NUL: deprecated since 5.2, still there */
    default: return cl == c;
    }
    return isupper(cl) ? !in : in != 0;
}

/* Whether C is in the set OPEN…CLOSE ('[' and its ']'): members are
 * classes (%x), ranges (a-z) and bytes; '^' first takes the complement. */
static int in_set(int c, const char *open, const char *close)
{
    const char *q = open + 1;
    int yes = 1;

    if (*q == '^') {
        yes = 0;
        q++;
    }
    while (q < close) {
        if (*q == ESC) {
            if (of_class(c, (unsigned char)q[1]))
                return yes;
            q += 2;
        } else if (q[1] == '-' && q + 2 < close) {
            if ((unsigned char)q[0] <= c && c <= (unsigned char)q[2])
                return yes;
            q += 3;
        } else {
            if ((unsigned char)*q == c)
                return yes;
            q++;
        }
    }
    return !yes;
}

/* Just past the one-character item at P: "%x", "[set]" or a byte. The
 * first member of a set may be ']' itself; "%" escapes the next byte. */
static const char *item_end(struct matcher *m, const char *p)
{
    const char *end = m->pattern_end, *q;

    if (*p == ESC) {
        if (p + 1 == end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p != '[')
        return p + 1;
    q = p + 1;
    if (*q == '^')
        q++;
    for (int first = 1;; first = 0) {
        if (q >= end)
            luaL_error(m->L, "malformed pattern (missing ']')");
        if (!first && *q == ']')
            return q + 1;
        q += (*q == ESC && q + 1 < end) ? 2 : 1;
    }
}

/* Whether the subject byte at S matches the item P…EP. */
static int one(const struct matcher *m, const char *s, const char *p, const char *ep)
{
    int c;

    if (s >= m->subject_end)
        return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return of_class(c, (unsigned char)p[1]);
    case '[': return in_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* --- matching ------------------------------------------------------------------------ */

static const char *match(struct matcher *m, const char *s, const char *p);

/* ITEM* from S: as many as possible, then fewer until the rest matches. */
static const char *greedy(struct matcher *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;

    while (one(m, s + n, p, ep))
        n++;
    spend(m, n);
    for (; n >= 0; n--) {
        const char *r = match(m, s + n, ep + 1);

        if (r)
            return r;
    }
    return NULL;
}

/* ITEM- from S: as few as possible, one more each time the rest fails. */
static const char *lazy(struct matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = match(m, s, ep + 1);

        if (r)
            return r;
        if (!one(m, s, p, ep))
            return NULL;
        s++;
        spend(m, 1);
    }
}

static const char *open_capture(struct matcher *m, const char *s, const char *p,
                                ptrdiff_t kind)
{
    const char *r;

    if (m->ncap >= MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->ncap].at = s;
    m->cap[m->ncap].len = kind;
    m->ncap++;
    r = match(m, s, p);
    if (!r)
        m->ncap--;
    return r;
}

/* ')' closes the innermost capture still open. */
static const char *close_capture(struct matcher *m, const char *s, const char *p)
{
    int i = m->ncap - 1;
    const char *r;

    while (i >= 0 && m->cap[i].len != CAP_OPEN)
        i--;
    if (i < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[i].len = s - m->cap[i].at;
    r = match(m, s, p);
    if (!r)
        m->cap[i].len = CAP_OPEN;
    return r;
}

/* %bxy at S: from an x to the y that balances it. P points at x. */
static const char *balanced(struct matcher *m, const char *s, const char *p)
{
    int open = 1;

    if (p + 1 >= m->pattern_end)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != p[0])
        return NULL;
    for (const char *q = s + 1; q < m->subject_end; q++) {
        if (*q == p[1]) {
            if (--open == 0) {
                spend(m, q - s);
                return q + 1;
            }
        } else if (*q == p[0]) {
            open++;
        }
    }
    spend(m, m->subject_end - s);
    return NULL;
}

/* %1…%9 at S: the text capture DIGIT holds, again. */
static const char *same_as(struct matcher *m, const char *s, int digit)
{
    int i = digit - '1';
    size_t len;

    if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    len = (size_t)m->cap[i].len;   /* a position capture: huge, never fits */
    if ((size_t)(m->subject_end - s) < len || memcmp(m->cap[i].at, s, len) != 0)
        return NULL;
    spend(m, (long)(len / 16));
    return s + len;
}

/* The end of a match of the pattern from P at S, or NULL. Items that only
 * move on (a byte, a frontier, a balance, a back-reference) loop here;
 * those with alternatives (captures, repetitions, '?') call back, which
 * is what MAX_DEPTH bounds. */
static const char *match(struct matcher *m, const char *s, const char *p)
{
    const char *end = m->pattern_end, *ep, *r;

    if (m->depth-- == 0)
        luaL_error(m->L, "pattern too complex");
    for (;; spend(m, 1)) {
        if (p == end)
            break;
        if (*p == '(') {
            s = p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION)
                            : open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == end) {
            if (s != m->subject_end)
                s = NULL;
            break;
        }
        if (*p == ESC && p[1] == 'b') {
            s = balanced(m, s, p + 2);
            if (!s)
                break;
            p += 4;
            continue;
        }
        if (*p == ESC && p[1] == 'f') {
            int before, after;

            p += 2;
            if (*p != '[')
                luaL_error(m->L, "missing '[' after '%%f' in pattern");
            ep = item_end(m, p);
            before = s == m->subject ? 0 : (unsigned char)s[-1];
            after = s < m->subject_end ? (unsigned char)*s : 0;
            if (in_set(before, p, ep - 1) || !in_set(after, p, ep - 1)) {
                s = NULL;
                break;
            }
            p = ep;
            continue;
        }
        if (*p == ESC && isdigit((unsigned char)p[1])) {
            s = same_as(m, s, (unsigned char)p[1]);
            if (!s)
                break;
            p += 2;
            continue;
        }
        /* One character, then maybe a quantifier. */
        ep = item_end(m, p);
        if (!one(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {
                p = ep + 1;     /* zero of it will do */
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            r = match(m, s + 1, ep + 1);
            if (r) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+') {
            s = greedy(m, s + 1, p, ep);
            break;
        }
        if (*ep == '*') {
            s = greedy(m, s, p, ep);
            break;
        }
        if (*ep == '-') {
            s = lazy(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

/* --- results ---------------------------------------------------------------------- */

/* Capture I of the match S…E; with no capture, I = 0 is the whole match. */
static void push_capture(struct matcher *m, int i, const char *s, const char *e)
{
    if (i >= m->ncap) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
    } else if (m->cap[i].len == CAP_OPEN) {
        luaL_error(m->L, "unfinished capture");
    } else if (m->cap[i].len == CAP_POSITION) {
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->subject) + 1);
    } else {
        lua_pushlstring(m->L, m->cap[i].at, (size_t)m->cap[i].len);
    }
}

/* Every capture (the whole match when none and S is given). */
static int push_captures(struct matcher *m, const char *s, const char *e)
{
    int n = m->ncap == 0 && s ? 1 : m->ncap;

    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

static void setup(struct matcher *m, lua_State *L, const char *s, size_t ls, const char *p,
                  size_t lp, const struct lpat_cost *cost)
{
    if (lp > LPAT_MAX_PATTERN)
        luaL_error(L, "pattern too long (more than %d bytes)", LPAT_MAX_PATTERN);
    m->L = L;
    m->subject = s;
    m->subject_end = s + ls;
    m->pattern = p;
    m->pattern_end = p + lp;
    m->steps = 0;
    m->cost = cost;
}

static void restart(struct matcher *m)
{
    m->ncap = 0;
    m->depth = MAX_DEPTH;
}

/* init (1-based, negative from the end) as an offset into LEN bytes. */
static size_t offset(lua_Integer init, size_t len)
{
    if (init > 0)
        return (size_t)init - 1;
    if (init == 0 || init < -(lua_Integer)len)
        return 0;
    return len + (size_t)init;
}

static int plain(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr("^$*+?.([%-", p[i]))
            return 0;
    return 1;
}

/* --- the library functions ---------------------------------------------------------- */

static const struct lpat_cost *cost_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = offset(luaL_optinteger(L, 3, 1), ls);
    const struct lpat_cost *cost = cost_of(L);
    struct matcher m;
    const char *from, *e;
    int anchored;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || plain(p, lp))) {
        /* glibc's memmem is linear in the subject whatever the needle. */
        const char *at = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);

        setup(&m, L, s, ls, "", 0, cost);
        spend(&m, (long)((ls - init) / 16) + 1);
        pay(&m);
        if (at) {
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(at - s + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    setup(&m, L, s, ls, p, lp, cost);
    from = s + init;
    do {
        restart(&m);
        e = match(&m, from, p);
        if (e) {
            pay(&m);
            if (!find)
                return push_captures(&m, from, e);
            lua_pushinteger(L, (lua_Integer)(from - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (from++ < m.subject_end && !anchored);
    pay(&m);
    luaL_pushfail(L);
    return 1;
}

static int l_find(lua_State *L)
{
    return find_or_match(L, 1);
}

static int l_match(lua_State *L)
{
    return find_or_match(L, 0);
}

/* The iterator's state: upvalues are the cost, the subject, the pattern
 * (kept alive for the pointers here) and this. */
struct iteration {
    struct matcher m;
    const char *next;         /* where the next search starts */
    const char *last;         /* the end of the last match */
};

static int gmatch_step(lua_State *L)
{
    struct iteration *it = lua_touserdata(L, lua_upvalueindex(4));
    struct matcher *m = &it->m;

    m->L = L;   /* the loop may run in another coroutine */
    for (const char *from = it->next; from <= m->subject_end; from++) {
        const char *e;

        restart(m);
        e = match(m, from, m->pattern);
        if (e && e != it->last) {
            it->next = it->last = e;
            pay(m);
            return push_captures(m, from, e);
        }
    }
    pay(m);
    return 0;
}

/* A '^' is no anchor here (it would stop the iteration): it stands for
 * itself, as in the stock library. */
static int l_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = offset(luaL_optinteger(L, 3, 1), ls);
    struct iteration *it;

    lua_settop(L, 2);
    it = lua_newuserdatauv(L, sizeof *it, 0);
    if (init > ls)
        init = ls + 1;
    setup(&it->m, L, s, ls, p, lp, cost_of(L));
    it->next = s + init;
    it->last = NULL;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_pushcclosure(L, gmatch_step, 4);
    return 1;
}

/* The replacement string (argument 3) for the match S…E: "%0" the match,
 * "%1"…"%9" a capture, "%%" a '%'. */
static void substitute(struct matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = m->L;
    size_t len;
    const char *r = lua_tolstring(L, 3, &len), *pct;

    while ((pct = memchr(r, ESC, len)) != NULL) {
        int c = (unsigned char)pct[1];   /* the string's NUL after a last '%' */

        luaL_addlstring(b, r, (size_t)(pct - r));
        if (c == ESC) {
            luaL_addchar(b, ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(c)) {
            int i = c - '1';

            if (i < m->ncap && m->cap[i].len == CAP_POSITION) {
                lua_pushinteger(L, (lua_Integer)(m->cap[i].at - m->subject) + 1);
                luaL_addvalue(b);
            } else {
                push_capture(m, i, s, e);
                luaL_addvalue(b);
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        }
        len -= (size_t)(pct + 2 - r);
        r = pct + 2;
    }
    luaL_addlstring(b, r, len);
}

/* Adds the replacement of the match S…E; 0 when it is the match itself
 * (a function or a table gave false or nil). */
static int replace(struct matcher *m, luaL_Buffer *b, const char *s, const char *e, int how)
{
    lua_State *L = m->L;

    if (how == LUA_TFUNCTION) {
        int n;

        lua_pushvalue(L, 3);
        n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (how == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        substitute(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int how = lua_type(L, 3), anchored, changed = 0;
    lua_Integer most = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
    const char *last = NULL, *e;
    struct matcher m;
    luaL_Buffer b;

    luaL_argexpected(L, how == LUA_TNUMBER || how == LUA_TSTRING || how == LUA_TFUNCTION ||
                     how == LUA_TTABLE, 3, "string/function/table");
    luaL_buffinit(L, &b);
    anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    setup(&m, L, src, ls, p, lp, cost_of(L));
    while (n < most) {
        restart(&m);
        e = match(&m, src, p);
        if (e && e != last) {
            n++;
            changed |= replace(&m, &b, src, e, how);
            src = last = e;
        } else if (src < m.subject_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchored)
            break;
    }
    pay(&m);
    if (changed) {
        luaL_addlstring(&b, src, (size_t)(m.subject_end - src));
        luaL_pushresult(&b);
    } else {
        lua_pushvalue(L, 1);
    }
    lua_pushinteger(L, n);
    return 2;
}

void lpat_push(lua_State *L, const struct lpat_cost *cost)
{
    static const luaL_Reg fns[] = {
        {"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub},
        {NULL, NULL},
    };

    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, (void *)cost);
    luaL_setfuncs(L, fns, 1);
}
