/* plugins_template — relais.template(name, vars) (plugins/API.md).
 *
 * A small subset of Mustache: {{key}}, {{a.b}} and {{.}} insert a value
 * (HTML-escaped when the template's name ends in ".html"), {{{key}}} inserts
 * it raw, {{#key}}…{{/key}} keeps its inside when the value is truthy and
 * {{^key}}…{{/key}} when it is not, {{! … }} is a comment. A section whose
 * value is a table also makes that table the first place where names inside
 * are looked up (then the enclosing ones); a section never loops. Truthy
 * means anything but nil, false, relais.json.null and "". Missing keys
 * insert nothing. Numbers print as Lua prints them.
 *
 * Templates are read from PLUGINS_DIR/NAME/templates/ once and kept parsed
 * per plugin; a reload (SIGHUP) starts a fresh cache, so edited templates
 * take effect then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"

#define MAX_DEPTH 32
#define MAX_KEY   64

enum node_kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_END };

struct node {
    enum node_kind kind;
    size_t off, len;     /* text, or the name, inside the source */
    int end;             /* a section: the index of its N_END */
};

struct ptemplate {
    struct ptemplate *next;
    char *name;
    char *src;
    struct node *nodes;
    int n;
    int html;
};

static void template_free(struct ptemplate *tp)
{
    if (!tp)
        return;
    free(tp->name);
    free(tp->src);
    free(tp->nodes);
    free(tp);
}

void ptemplate_free_all(struct plugin *pl)
{
    while (pl->templates) {
        struct ptemplate *next = pl->templates->next;

        template_free(pl->templates);
        pl->templates = next;
    }
}

/* --- parsing ------------------------------------------------------------------- */

static int add_node(struct ptemplate *tp, int *cap, enum node_kind kind, size_t off,
                    size_t len)
{
    if (tp->n == *cap) {
        int ncap = *cap ? *cap * 2 : 32;
        struct node *grown = realloc(tp->nodes, (size_t)ncap * sizeof *grown);

        if (!grown)
            return -1;
        tp->nodes = grown;
        *cap = ncap;
    }
    tp->nodes[tp->n++] = (struct node){kind, off, len, -1};
    return 0;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 1 && s[0] == '.')
        return 1;
    if (n == 0 || n > MAX_KEY || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (c == '.' && s[i + 1] != '.')))
            return 0;
    }
    return 1;
}

static int line_of(const char *src, size_t off)
{
    int line = 1;

    for (size_t i = 0; i < off; i++)
        line += src[i] == '\n';
    return line;
}

/* Parses TP->src. 0, or -1 with a reason in ERR (empty: out of memory). */
static int parse(struct ptemplate *tp, size_t len, char *err, size_t errn)
{
    const char *s = tp->src;
    int open[MAX_DEPTH], depth = 0, cap = 0;
    size_t i = 0;

    err[0] = '\0';
    while (i < len) {
        const char *tag = strstr(s + i, "{{"), *close;
        size_t start, nlen, body;
        enum node_kind kind = N_VAR;

        if (!tag) {
            if (add_node(tp, &cap, N_TEXT, i, len - i) != 0)
                return -1;
            break;
        }
        start = (size_t)(tag - s);
        if (start > i && add_node(tp, &cap, N_TEXT, i, start - i) != 0)
            return -1;
        body = start + 2;
        if (s[body] == '{') {
            kind = N_RAW;
            body++;
            close = strstr(s + body, "}}}");
        } else {
            close = strstr(s + body, "}}");
        }
        if (!close) {
            snprintf(err, errn, "line %d: a tag is not closed", line_of(s, start));
            return -1;
        }
        i = (size_t)(close - s) + (kind == N_RAW ? 3 : 2);
        if (kind == N_VAR && strchr("#^/!", s[body])) {
            kind = s[body] == '#' ? N_SECTION : s[body] == '^' ? N_INVERTED
                 : s[body] == '/' ? N_END : N_TEXT;
            body++;
            if (kind == N_TEXT)
                continue;   /* a comment */
        }
        while (body < (size_t)(close - s) && (s[body] == ' ' || s[body] == '\t'))
            body++;
        nlen = (size_t)(close - s) - body;
        while (nlen && (s[body + nlen - 1] == ' ' || s[body + nlen - 1] == '\t'))
            nlen--;
        if (!name_ok(s + body, nlen)) {
            snprintf(err, errn, "line %d: a tag names no key (letters, digits, _ and .)",
                     line_of(s, start));
            return -1;
        }
        if (kind == N_END) {
            struct node *o;

            if (depth == 0) {
                snprintf(err, errn, "line %d: {{/%.*s}} closes no section", line_of(s, start),
                         (int)nlen, s + body);
                return -1;
            }
            o = &tp->nodes[open[depth - 1]];
            if (o->len != nlen || memcmp(s + o->off, s + body, nlen) != 0) {
                snprintf(err, errn, "line %d: {{/%.*s}} closes {{#%.*s}}", line_of(s, start),
                         (int)nlen, s + body, (int)o->len, s + o->off);
                return -1;
            }
            o->end = tp->n;
            depth--;
        }
        if (add_node(tp, &cap, kind, body, nlen) != 0)
            return -1;
        if (kind == N_SECTION || kind == N_INVERTED) {
            if (depth == MAX_DEPTH) {
                snprintf(err, errn, "line %d: sections nested deeper than %d",
                         line_of(s, start), MAX_DEPTH);
                return -1;
            }
            open[depth++] = tp->n - 1;
        }
    }
    if (depth) {
        struct node *o = &tp->nodes[open[depth - 1]];

        snprintf(err, errn, "{{#%.*s}} is never closed", (int)o->len, s + o->off);
        return -1;
    }
    return 0;
}

static int name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64 || s[0] == '.' || strstr(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* The parsed template NAME of PL, read on first use. Raises on error. */
static struct ptemplate *template_get(lua_State *L, struct plugin *pl, const char *name)
{
    struct ptemplate *tp;
    char err[200], *path = NULL;
    const char *why = NULL;
    size_t len = 0, n;

    for (tp = pl->templates; tp; tp = tp->next)
        if (strcmp(tp->name, name) == 0)
            return tp;
    if (!name_valid(name))
        luaL_error(L, "relais.template: '%s' is not a template name", name);
    tp = calloc(1, sizeof *tp);
    if (!tp || !(tp->name = strdup(name)) ||
        asprintf(&path, "%s/templates/%s", pl->dir, name) < 0) {
        template_free(tp);
        luaL_error(L, "relais.template: out of memory");
        return NULL;
    }
    if (plugin_read_file(path, &tp->src, &len, &why) != 0) {
        snprintf(err, sizeof err, "relais.template: cannot read templates/%s: %s", name, why);
        free(path);
        template_free(tp);
        luaL_error(L, "%s", err);
        return NULL;
    }
    free(path);
    n = strlen(name);
    tp->html = n > 5 && strcmp(name + n - 5, ".html") == 0;
    if (strlen(tp->src) != len || parse(tp, len, err, sizeof err) != 0) {
        char msg[300];

        snprintf(msg, sizeof msg, "relais.template: templates/%s: %s", name,
                 strlen(tp->src) != len ? "holds a NUL byte" : err[0] ? err : "out of memory");
        template_free(tp);
        luaL_error(L, "%s", msg);
        return NULL;
    }
    tp->next = pl->templates;
    pl->templates = tp;
    return tp;
}

/* --- rendering --------------------------------------------------------------- */

/* Pushes the value NAME stands for, looked up in the contexts from the
 * innermost out (CTX holds their stack indices). */
static void lookup(lua_State *L, const char *name, size_t len, const int *ctx, int nctx)
{
    char key[MAX_KEY + 1];
    size_t seg;
    int found = 0;

    if (len == 1 && name[0] == '.') {
        lua_pushvalue(L, ctx[nctx - 1]);
        return;
    }
    seg = strcspn(name, ".");
    if (seg > len)
        seg = len;
    memcpy(key, name, seg);
    key[seg] = '\0';
    for (int i = nctx - 1; i >= 0 && !found; i--) {
        if (!lua_istable(L, ctx[i]))
            continue;
        if (lua_getfield(L, ctx[i], key) != LUA_TNIL)
            found = 1;
        else
            lua_pop(L, 1);
    }
    if (!found)
        lua_pushnil(L);
    while (seg < len) {
        size_t rest;

        name += seg + 1;
        len -= seg + 1;
        rest = strcspn(name, ".");
        seg = rest > len ? len : rest;
        memcpy(key, name, seg);
        key[seg] = '\0';
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            continue;
        }
        lua_getfield(L, -1, key);
        lua_remove(L, -2);
    }
}

static int truthy(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return 0;
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx);
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, idx) != NULL;
    case LUA_TSTRING:
        return lua_rawlen(L, idx) > 0;
    default:
        return 1;
    }
}

static void add_escaped(struct sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': sbuf_add(b, "&amp;", 5); break;
        case '<': sbuf_add(b, "&lt;", 4); break;
        case '>': sbuf_add(b, "&gt;", 4); break;
        case '"': sbuf_add(b, "&quot;", 6); break;
        case '\'': sbuf_add(b, "&#39;", 5); break;
        default: sbuf_addc(b, s[i]);
        }
    }
}

/* Appends the value on top of the stack as text (and pops it). */
static void add_value(lua_State *L, struct sbuf *b, int escape)
{
    char num[64];
    const char *s = NULL;
    size_t n = 0;

    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &n);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1))
            snprintf(num, sizeof num, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, -1));
        else
            snprintf(num, sizeof num, LUA_NUMBER_FMT, (LUAI_UACNUMBER)lua_tonumber(L, -1));
        s = num;
        n = strlen(num);
        break;
    case LUA_TBOOLEAN:
        s = lua_toboolean(L, -1) ? "true" : "false";
        n = strlen(s);
        break;
    default:
        break;   /* nil, null, tables: nothing */
    }
    if (s) {
        if (escape)
            add_escaped(b, s, n);
        else
            sbuf_add(b, s, n);
    }
    lua_pop(L, 1);
}

static void render(lua_State *L, const struct ptemplate *tp, int from, int to, struct sbuf *b,
                   int *ctx, int nctx)
{
    for (int i = from; i < to; i++) {
        const struct node *nd = &tp->nodes[i];
        const char *name = tp->src + nd->off;

        switch (nd->kind) {
        case N_TEXT:
            sbuf_add(b, name, nd->len);
            break;
        case N_VAR:
        case N_RAW:
            lookup(L, name, nd->len, ctx, nctx);
            add_value(L, b, nd->kind == N_VAR && tp->html);
            break;
        case N_SECTION:
        case N_INVERTED:
            luaL_checkstack(L, 4, "template sections nested too deep");
            lookup(L, name, nd->len, ctx, nctx);
            if (truthy(L, -1) == (nd->kind == N_SECTION)) {
                if (lua_istable(L, -1) && nctx < MAX_DEPTH + 1) {
                    ctx[nctx] = lua_gettop(L);
                    render(L, tp, i + 1, nd->end, b, ctx, nctx + 1);
                } else {
                    render(L, tp, i + 1, nd->end, b, ctx, nctx);
                }
            }
            lua_pop(L, 1);
            i = nd->end;
            break;
        case N_END:
            break;
        }
    }
}

static int l_template(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    const struct ptemplate *tp = template_get(L, pl, luaL_checkstring(L, 1));
    int ctx[MAX_DEPTH + 2];
    struct sbuf b;

    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    /* Each node is rendered at most once (no section loops): its nodes are
     * the work, which text output alone (charged by the allocator) would
     * not show for a template of sections that render nothing. */
    sandbox_charge(L, (long)tp->n * 4);
    ctx[0] = 2;
    sbuf_init(&b, L);
    render(L, tp, 0, tp->n, &b, ctx, 1);
    sbuf_finish(&b);
    return 1;
}

void ptemplate_open(lua_State *L)
{
    lua_pushcfunction(L, l_template);
    lua_setfield(L, -2, "template");
}
