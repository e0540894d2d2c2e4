/* plugins_xlsx — relais.xlsx: Excel workbooks for plugins, written by
 * libxlsxwriter (plugins/API.md, "Spreadsheets").
 *
 *   local wb = relais.xlsx.workbook()
 *   local ws = wb:sheet("Personnes")
 *   local bold = wb:format{bold = true}
 *   ws:write(1, 1, "Genre", bold); ws:write(2, 1, "Femmes"); ws:write(2, 2, 187)
 *   wb:chart{sheet = ws, at = {1, 4}, type = "bar", title = "Par genre",
 *            categories = {2, 1, 3, 1}, values = {2, 2, 3, 2}}
 *   local bytes = wb:close()
 *
 * Rows and columns count from 1, as Excel shows them. The OOXML is
 * libxlsxwriter's, never written here. A workbook is written to a private
 * temporary file (mkostemp in $TMPDIR or /tmp, mode 0600, unlinked when the
 * workbook is closed or collected); close() reads it back and returns it as
 * a string. In a GET route close() writes the file on a reader's thread
 * (core/store/reader.h) and the route's coroutine waits for it.
 *
 * Bounds, since libxlsxwriter's memory is C memory the Lua allocator never
 * sees: at most XLSX_MAX_OPEN workbooks open per plugin (each holds a file
 * descriptor), XLSX_MAX_SHEETS sheets, XLSX_MAX_CELLS cell writes,
 * XLSX_MAX_CHARTS charts of XLSX_MAX_SERIES series and XLSX_MAX_FORMATS
 * formats per workbook, and the file at most XLSX_MAX_FILE bytes. Every cell
 * (its text included), sheet, chart and format is charged to the plugin's
 * memory cap (sandbox_mem_charge) until the workbook is closed or collected,
 * and every call to its instruction budget (sandbox_charge), at the prices
 * of core/lua/sandbox_cost.c: XLSX_CELL_COST a call, and each byte of text
 * checked as UTF-8 (SANDBOX_COST_SCAN_BYTES, as utf8.len); close()
 * XLSX_CLOSE_COST a cell
 * and each byte of text the workbook holds (escaped into XML, compressed
 * into the file: as read once more). Bad arguments
 * and exceeded bounds are Lua errors; nothing here lets libxlsxwriter see
 * an argument it would refuse, so it never prints or aborts.
 *
 * Lifetime: a workbook is a userdata with a host __gc (plugins cannot set
 * one); sheets and formats are userdata holding their workbook as a user
 * value, so it outlives them, and every method checks it is still open.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <xlsxwriter.h>

#include "plugins_internal.h"
#include "json.h"
#include "reader.h"

#define BOOK_MT   "relais.xlsx.workbook"
#define SHEET_MT  "relais.xlsx.sheet"
#define FORMAT_MT "relais.xlsx.format"

#define XLSX_MAX_OPEN    4
#define XLSX_MAX_SHEETS  64
#define XLSX_MAX_CELLS   100000L
#define XLSX_MAX_CHARTS  64
#define XLSX_MAX_SERIES  16
#define XLSX_MAX_FORMATS 256
#define XLSX_MAX_ROWS    1048576
#define XLSX_MAX_COLS    16384
#define XLSX_MAX_TEXT    32767       /* Excel's limit for a cell, in bytes here */
#define XLSX_MAX_FILE    (16 << 20)
#define XLSX_MAX_NAME    31          /* a sheet's name, in characters */
/* What is charged: libxlsxwriter's cell (a red-black tree node and the cell)
 * is about 80 bytes, a shared string its text and a node more; a sheet,
 * chart or format a few hundred bytes to a few KiB. */
#define XLSX_CELL_BYTES  128
#define XLSX_OBJ_BYTES   4096
#define XLSX_CELL_COST   50          /* instructions per call that writes */
#define XLSX_CLOSE_COST  100         /* instructions per cell, to write the file */

struct xbook {
    lxw_workbook *wb;        /* NULL once closed */
    struct plugin *pl;
    int fd;                  /* the temporary file, -1 once gone */
    char path[4096];
    size_t charged;          /* bytes counted against the plugin's memory */
    size_t text;             /* bytes of text written in cells */
    long cells;
    int nsheets, ncharts, nformats;
    char *names[XLSX_MAX_SHEETS];   /* the sheets' names, in order */
};

struct xsheet {
    struct xbook *book;
    lxw_worksheet *ws;
    int index;
};

struct xformat {
    struct xbook *book;
    lxw_format *f;
};

/* --- the workbook's life ------------------------------------------------------------ */

static void book_forget_file(struct xbook *b)
{
    if (b->fd >= 0) {
        close(b->fd);
        unlink(b->path);
        b->fd = -1;
    }
}

/* Frees what B holds (not B, a userdata). Safe twice. */
static void book_release(struct xbook *b)
{
    if (b->wb) {
        lxw_workbook_free(b->wb);
        b->wb = NULL;
    }
    book_forget_file(b);
    for (int i = 0; i < b->nsheets; i++) {
        free(b->names[i]);
        b->names[i] = NULL;
    }
    if (b->pl) {
        sandbox_mem_refund(&b->pl->sb, b->charged);
        b->pl->xlsx_open--;
        b->pl = NULL;
    }
    b->charged = 0;
}

static int book_gc(lua_State *L)
{
    book_release(luaL_checkudata(L, 1, BOOK_MT));
    return 0;
}

static void charge(lua_State *L, struct xbook *b, size_t n)
{
    /* As Lua does when an allocation fails: collect (workbooks left open
     * give their memory back), then try once more. */
    if (sandbox_mem_charge(&b->pl->sb, n) != 0) {
        lua_gc(L, LUA_GCCOLLECT);
        if (sandbox_mem_charge(&b->pl->sb, n) != 0)
            luaL_error(L, "relais.xlsx: not enough memory (the plugin's memory cap)");
    }
    b->charged += n;
}

static struct xbook *open_book(lua_State *L, int idx)
{
    struct xbook *b = luaL_checkudata(L, idx, BOOK_MT);

    if (!b->wb)
        luaL_error(L, "relais.xlsx: the workbook is closed");
    return b;
}

static struct xsheet *check_sheet(lua_State *L, int idx)
{
    struct xsheet *s = luaL_checkudata(L, idx, SHEET_MT);

    if (!s->book->wb)
        luaL_error(L, "relais.xlsx: the workbook is closed");
    return s;
}

static const char *tmp_dir(void)
{
    const char *dir = getenv("TMPDIR");

    return dir && *dir ? dir : "/tmp";
}

/* relais.xlsx.workbook() */
static int l_workbook(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL,
                                .use_zip64 = LXW_FALSE};
    struct xbook *b;

    sandbox_charge(L, XLSX_CELL_COST);
    /* Workbooks left open (an error before close) hold their place until
     * collected: collect them before refusing. */
    if (pl->xlsx_open >= XLSX_MAX_OPEN)
        lua_gc(L, LUA_GCCOLLECT);
    if (pl->xlsx_open >= XLSX_MAX_OPEN)
        return luaL_error(L, "relais.xlsx: more than %d workbooks open at once (close one)",
                          XLSX_MAX_OPEN);
    b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    b->fd = -1;
    luaL_setmetatable(L, BOOK_MT);
    /* From here the collector releases whatever is set. */
    if (snprintf(b->path, sizeof b->path, "%s/relais-xlsx-XXXXXX", tmp_dir())
        >= (int)sizeof b->path)
        return luaL_error(L, "relais.xlsx: the temporary directory's path is too long");
    b->fd = mkostemp(b->path, O_CLOEXEC);
    if (b->fd < 0)
        return luaL_error(L, "relais.xlsx: cannot make a temporary file: %s", strerror(errno));
    b->pl = pl;
    pl->xlsx_open++;
    charge(L, b, XLSX_OBJ_BYTES);
    b->wb = workbook_new_opt(b->path, &opt);
    if (!b->wb)
        return luaL_error(L, "relais.xlsx: out of memory");
    return 1;
}

/* --- arguments ------------------------------------------------------------------------ */

/* A text argument a cell, a name or a title may hold: UTF-8, no NUL, at most
 * MAX bytes. */
static const char *check_text(lua_State *L, int idx, size_t max, const char *what, size_t *len)
{
    size_t n;
    const char *s = luaL_checklstring(L, idx, &n);

    if (n > max)
        luaL_error(L, "relais.xlsx: %s is longer than %d bytes", what, (int)max);
    /* Decoded as UTF-8: scanned bytes, priced as utf8.len. */
    sandbox_charge(L, (long)(n / SANDBOX_COST_SCAN_BYTES));
    if (strlen(s) != n || !json_utf8_valid(s, n))
        luaL_error(L, "relais.xlsx: %s is not UTF-8 text", what);
    if (len)
        *len = n;
    return s;
}

static lua_Integer check_index(lua_State *L, int idx, lua_Integer max, const char *what)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, idx, &isint);

    if (!isint || v < 1 || v > max)
        luaL_error(L, "relais.xlsx: %s must be a whole number from 1 to %d", what, (int)max);
    return v;
}

static lxw_format *opt_format(lua_State *L, int idx, struct xbook *b)
{
    struct xformat *f;

    if (lua_isnoneornil(L, idx))
        return NULL;
    f = luaL_testudata(L, idx, FORMAT_MT);
    if (!f || f->book != b)
        luaL_error(L, "relais.xlsx: the format is not one of this workbook's (wb:format{…})");
    return f->f;
}

static int lxw_failed(lua_State *L, const char *what, lxw_error err)
{
    return luaL_error(L, "relais.xlsx: %s: %s", what, lxw_strerror(err));
}

/* --- sheets ------------------------------------------------------------------------- */

/* ASCII case folded: Excel refuses two sheets whose names differ by case. */
static int same_name(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* wb:sheet(name) */
static int l_sheet(lua_State *L)
{
    struct xbook *b = open_book(L, 1);
    size_t n;
    const char *name = check_text(L, 2, 4 * XLSX_MAX_NAME, "a sheet's name", &n);
    struct xsheet *s;
    lxw_error err;
    char *copy;

    sandbox_charge(L, XLSX_CELL_COST);
    if (b->nsheets == XLSX_MAX_SHEETS)
        return luaL_error(L, "relais.xlsx: more than %d sheets", XLSX_MAX_SHEETS);
    if (n == 0 || lxw_utf8_strlen(name) > XLSX_MAX_NAME)
        return luaL_error(L, "relais.xlsx: a sheet's name has 1 to %d characters", XLSX_MAX_NAME);
    for (int i = 0; i < b->nsheets; i++)
        if (same_name(b->names[i], name))
            return luaL_error(L, "relais.xlsx: two sheets are named \"%s\"", name);
    if (strpbrk(name, "[]:*?/\\") || name[0] == '\'' || name[n - 1] == '\'')
        return luaL_error(L, "relais.xlsx: a sheet's name may not hold [ ] : * ? / \\ "
                             "nor start or end with '");
    err = workbook_validate_sheet_name(b->wb, name);
    if (err != LXW_NO_ERROR)
        return lxw_failed(L, "a sheet's name", err);
    charge(L, b, XLSX_OBJ_BYTES);
    s = lua_newuserdatauv(L, sizeof *s, 1);
    memset(s, 0, sizeof *s);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, SHEET_MT);
    copy = strdup(name);
    if (!copy)
        return luaL_error(L, "relais.xlsx: out of memory");
    s->ws = workbook_add_worksheet(b->wb, name);
    if (!s->ws) {
        free(copy);
        return luaL_error(L, "relais.xlsx: out of memory");
    }
    s->book = b;
    s->index = b->nsheets;
    b->names[b->nsheets++] = copy;
    return 1;
}

/* ws:write(row, col, value [, format]): text, a number, a boolean, or nil
 * (or relais.json.null) for a blank cell that only carries its format. */
static int l_write(lua_State *L)
{
    struct xsheet *s = check_sheet(L, 1);
    struct xbook *b = s->book;
    lxw_row_t row = (lxw_row_t)(check_index(L, 2, XLSX_MAX_ROWS, "row") - 1);
    lxw_col_t col = (lxw_col_t)(check_index(L, 3, XLSX_MAX_COLS, "column") - 1);
    lxw_format *fmt = opt_format(L, 5, b);
    lxw_error err = LXW_NO_ERROR;
    size_t len = 0;
    const char *text;
    double v;

    sandbox_charge(L, XLSX_CELL_COST);
    if (b->cells >= XLSX_MAX_CELLS)
        return luaL_error(L, "relais.xlsx: more than %d cells written", (int)XLSX_MAX_CELLS);
    switch (lua_type(L, 4)) {
    case LUA_TSTRING:
        text = check_text(L, 4, XLSX_MAX_TEXT, "a cell's text", &len);
        charge(L, b, XLSX_CELL_BYTES + len);
        b->text += len;
        err = worksheet_write_string(s->ws, row, col, text, fmt);
        break;
    case LUA_TNUMBER:
        v = lua_tonumber(L, 4);
        if (!isfinite(v))
            return luaL_error(L, "relais.xlsx: a cell's number must be finite");
        charge(L, b, XLSX_CELL_BYTES);
        err = worksheet_write_number(s->ws, row, col, v, fmt);
        break;
    case LUA_TBOOLEAN:
        charge(L, b, XLSX_CELL_BYTES);
        err = worksheet_write_boolean(s->ws, row, col, lua_toboolean(L, 4), fmt);
        break;
    case LUA_TLIGHTUSERDATA:   /* relais.json.null */
        if (lua_touserdata(L, 4) != NULL)
            return luaL_error(L, "relais.xlsx: a cell holds text, a number, a boolean or nil");
        /* fall through */
    case LUA_TNONE:
    case LUA_TNIL:
        /* A blank cell is only kept when it has a format. */
        charge(L, b, XLSX_CELL_BYTES);
        err = worksheet_write_blank(s->ws, row, col, fmt);
        break;
    default:
        return luaL_error(L, "relais.xlsx: a cell holds text, a number, a boolean or nil");
    }
    if (err != LXW_NO_ERROR)
        return lxw_failed(L, "ws:write", err);
    b->cells++;
    return 0;
}

/* ws:column(first, last, width [, format]): the columns' width, in
 * characters of the default font (0 hides them). */
static int l_column(lua_State *L)
{
    struct xsheet *s = check_sheet(L, 1);
    lua_Integer first = check_index(L, 2, XLSX_MAX_COLS, "first column");
    lua_Integer last = check_index(L, 3, XLSX_MAX_COLS, "last column");
    lua_Number width = luaL_checknumber(L, 4);
    lxw_format *fmt = opt_format(L, 5, s->book);
    lxw_error err;

    sandbox_charge(L, XLSX_CELL_COST);
    if (last < first)
        return luaL_error(L, "relais.xlsx: the last column comes before the first");
    if (!(width >= 0 && width <= 255))
        return luaL_error(L, "relais.xlsx: a column's width is from 0 to 255");
    err = worksheet_set_column(s->ws, (lxw_col_t)(first - 1), (lxw_col_t)(last - 1), width, fmt);
    if (err != LXW_NO_ERROR)
        return lxw_failed(L, "ws:column", err);
    return 0;
}

/* ws:freeze(row, col): the rows above ROW and the columns left of COL stay
 * in view (freeze(2, 2): the first row and the first column). */
static int l_freeze(lua_State *L)
{
    struct xsheet *s = check_sheet(L, 1);
    lua_Integer row = check_index(L, 2, XLSX_MAX_ROWS, "row");
    lua_Integer col = check_index(L, 3, XLSX_MAX_COLS, "column");

    sandbox_charge(L, XLSX_CELL_COST);
    worksheet_freeze_panes(s->ws, (lxw_row_t)(row - 1), (lxw_col_t)(col - 1));
    return 0;
}

/* ws:name() */
static int l_sheet_name(lua_State *L)
{
    struct xsheet *s = check_sheet(L, 1);

    lua_pushstring(L, s->book->names[s->index]);
    return 1;
}

/* --- formats --------------------------------------------------------------------------- */

static int field_bool(lua_State *L, int idx, const char *key)
{
    if (!lua_isboolean(L, idx))
        luaL_error(L, "relais.xlsx: format '%s' must be a boolean", key);
    return lua_toboolean(L, idx);
}

static lua_Integer field_int(lua_State *L, int idx, const char *key, lua_Integer lo,
                             lua_Integer hi)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, idx, &isint);

    if (!isint || v < lo || v > hi)
        luaL_error(L, "relais.xlsx: format '%s' must be a whole number from %d to %d", key,
                   (int)lo, (int)hi);
    return v;
}

/* "#1F4E79" → 0x1F4E79 */
static lxw_color_t field_color(lua_State *L, int idx, const char *key)
{
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;

    if (!s || s[0] != '#' || strlen(s) != 7 || strspn(s + 1, "0123456789abcdefABCDEF") != 6)
        luaL_error(L, "relais.xlsx: format '%s' must be a colour \"#RRGGBB\"", key);
    return (lxw_color_t)strtoul(s + 1, NULL, 16);
}

static int pick(lua_State *L, int idx, const char *key, const char *const *names)
{
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";

    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return luaL_error(L, "relais.xlsx: format '%s' has no value \"%s\"", key, s);
}

static void format_field(lua_State *L, lxw_format *f, const char *key, int v)
{
    static const char *const aligns[] = {"left", "center", "right", "fill", "justify", NULL};
    static const uint8_t align_of[] = {LXW_ALIGN_LEFT, LXW_ALIGN_CENTER, LXW_ALIGN_RIGHT,
                                       LXW_ALIGN_FILL, LXW_ALIGN_JUSTIFY};
    static const char *const valigns[] = {"top", "vcenter", "bottom", NULL};
    static const uint8_t valign_of[] = {LXW_ALIGN_VERTICAL_TOP, LXW_ALIGN_VERTICAL_CENTER,
                                        LXW_ALIGN_VERTICAL_BOTTOM};

    if (strcmp(key, "bold") == 0) {
        if (field_bool(L, v, key))
            format_set_bold(f);
    } else if (strcmp(key, "italic") == 0) {
        if (field_bool(L, v, key))
            format_set_italic(f);
    } else if (strcmp(key, "underline") == 0) {
        if (field_bool(L, v, key))
            format_set_underline(f, LXW_UNDERLINE_SINGLE);
    } else if (strcmp(key, "wrap") == 0) {
        if (field_bool(L, v, key))
            format_set_text_wrap(f);
    } else if (strcmp(key, "font_size") == 0) {
        format_set_font_size(f, (double)field_int(L, v, key, 1, 409));
    } else if (strcmp(key, "font_color") == 0) {
        format_set_font_color(f, field_color(L, v, key));
    } else if (strcmp(key, "bg_color") == 0) {
        format_set_bg_color(f, field_color(L, v, key));
    } else if (strcmp(key, "border") == 0) {
        format_set_border(f, (uint8_t)field_int(L, v, key, 0, 13));
    } else if (strcmp(key, "indent") == 0) {
        format_set_indent(f, (uint8_t)field_int(L, v, key, 0, 15));
    } else if (strcmp(key, "align") == 0) {
        format_set_align(f, align_of[pick(L, v, key, aligns)]);
    } else if (strcmp(key, "valign") == 0) {
        format_set_align(f, valign_of[pick(L, v, key, valigns)]);
    } else if (strcmp(key, "num_format") == 0) {
        format_set_num_format(f, check_text(L, v, 255, "format 'num_format'", NULL));
    } else {
        luaL_error(L, "relais.xlsx: unknown format key '%s'", key);
    }
}

/* wb:format{bold, italic, underline, wrap, font_size, font_color, bg_color,
 * border, indent, align, valign, num_format} */
static int l_format(lua_State *L)
{
    struct xbook *b = open_book(L, 1);
    struct xformat *x;

    luaL_checktype(L, 2, LUA_TTABLE);
    sandbox_charge(L, XLSX_CELL_COST);
    if (b->nformats == XLSX_MAX_FORMATS)
        return luaL_error(L, "relais.xlsx: more than %d formats", XLSX_MAX_FORMATS);
    /* Keys checked first: a bad one leaves no half-made format behind. */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "relais.xlsx: format keys are names");
        lua_pop(L, 1);
    }
    charge(L, b, XLSX_OBJ_BYTES);
    x = lua_newuserdatauv(L, sizeof *x, 1);
    memset(x, 0, sizeof *x);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, FORMAT_MT);
    x->f = workbook_add_format(b->wb);
    if (!x->f)
        return luaL_error(L, "relais.xlsx: out of memory");
    x->book = b;
    b->nformats++;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        format_field(L, x->f, lua_tostring(L, -2), lua_gettop(L));
        lua_pop(L, 1);
    }
    return 1;
}

/* --- charts ------------------------------------------------------------------------------ */

struct range {
    const char *sheet;
    lxw_row_t r1, r2;
    lxw_col_t c1, c2;
};

/* {r1, c1, r2, c2 [, sheet = ws]} at IDX, on DEF_SHEET unless it names one. */
static void check_range(lua_State *L, int idx, struct xbook *b, const struct xsheet *def,
                        const char *what, struct range *r)
{
    lua_Integer v[4];
    const struct xsheet *s = def;

    if (!lua_istable(L, idx))
        luaL_error(L, "relais.xlsx: chart '%s' must be {first_row, first_col, last_row, "
                      "last_col}", what);
    for (int i = 0; i < 4; i++) {
        lua_rawgeti(L, idx, i + 1);
        v[i] = check_index(L, -1, i % 2 ? XLSX_MAX_COLS : XLSX_MAX_ROWS, what);
        lua_pop(L, 1);
    }
    if (v[2] < v[0] || v[3] < v[1])
        luaL_error(L, "relais.xlsx: chart '%s' ends before it starts", what);
    if (lua_getfield(L, idx, "sheet") != LUA_TNIL) {
        s = luaL_testudata(L, -1, SHEET_MT);
        if (!s || s->book != b)
            luaL_error(L, "relais.xlsx: chart '%s' names a sheet of another workbook", what);
    }
    lua_pop(L, 1);
    r->sheet = b->names[s->index];
    r->r1 = (lxw_row_t)(v[0] - 1);
    r->c1 = (lxw_col_t)(v[1] - 1);
    r->r2 = (lxw_row_t)(v[2] - 1);
    r->c2 = (lxw_col_t)(v[3] - 1);
}

/* A title or a series' name: libxlsxwriter reads a leading '=' as a
 * formula, which a plugin's text must never become. */
static const char *opt_label(lua_State *L, int idx, const char *key)
{
    const char *s = NULL;

    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        s = check_text(L, -1, 255, key, NULL);
        if (s[0] == '=')
            luaL_error(L, "relais.xlsx: chart '%s' may not start with '='", key);
    }
    lua_pop(L, 1);   /* the string stays alive in the argument table */
    return s;
}

static void add_series(lua_State *L, int idx, struct xbook *b, const struct xsheet *sheet,
                       lxw_chart *chart, int labels)
{
    struct range cat, val;
    const char *name = opt_label(L, idx, "name");
    lxw_chart_series *series;
    int has_cat;

    lua_getfield(L, idx, "values");
    check_range(L, lua_gettop(L), b, sheet, "values", &val);
    lua_pop(L, 1);
    has_cat = lua_getfield(L, idx, "categories") != LUA_TNIL;
    if (has_cat)
        check_range(L, lua_gettop(L), b, sheet, "categories", &cat);
    lua_pop(L, 1);
    series = chart_add_series(chart, NULL, NULL);
    if (!series)
        luaL_error(L, "relais.xlsx: out of memory");
    if (has_cat)
        chart_series_set_categories(series, cat.sheet, cat.r1, cat.c1, cat.r2, cat.c2);
    chart_series_set_values(series, val.sheet, val.r1, val.c1, val.r2, val.c2);
    if (name)
        chart_series_set_name(series, name);
    if (labels)
        chart_series_set_labels(series);
}

static lua_Integer opt_pixels(lua_State *L, int idx, const char *key, lua_Integer def)
{
    lua_Integer v = def;

    if (lua_getfield(L, idx, key) != LUA_TNIL)
        v = check_index(L, -1, 4000, key);
    lua_pop(L, 1);
    if (v < 48)
        luaL_error(L, "relais.xlsx: chart '%s' is at least 48 pixels", key);
    return v;
}

static int opt_flag(lua_State *L, int idx, const char *key, int def)
{
    int v = def;

    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        if (!lua_isboolean(L, -1))
            luaL_error(L, "relais.xlsx: chart '%s' must be a boolean", key);
        v = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* wb:chart{sheet = ws, at = {row, col}, type = "bar", title = "…",
 *          categories = {…}, values = {…}, name = "…" | series = {{…}, …},
 *          width = 480, height = 288, legend = bool, labels = bool} */
static int l_chart(lua_State *L)
{
    static const char *const types[] = {"bar", "column", "line", "pie", "doughnut", NULL};
    static const uint8_t type_of[] = {LXW_CHART_BAR, LXW_CHART_COLUMN, LXW_CHART_LINE,
                                      LXW_CHART_PIE, LXW_CHART_DOUGHNUT};
    struct xbook *b = open_book(L, 1);
    static const char *const keys[] = {"sheet", "at", "type", "title", "categories", "values",
                                       "name", "series", "width", "height", "legend", "labels",
                                       NULL};
    lxw_chart_options opt = {0};
    const struct xsheet *sheet;
    lua_Integer at[2], width, height;
    const char *title;
    int type = 0, nseries = 0, labels, legend, has_list;
    lxw_chart *chart;
    lxw_error err;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    sandbox_charge(L, XLSX_CELL_COST);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        int known = 0;

        for (int i = 0; keys[i] && lua_type(L, -2) == LUA_TSTRING; i++)
            known |= strcmp(lua_tostring(L, -2), keys[i]) == 0;
        if (!known)
            return luaL_error(L, "relais.xlsx: unknown chart key '%s'",
                              lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
        lua_pop(L, 1);
    }
    if (b->ncharts == XLSX_MAX_CHARTS)
        return luaL_error(L, "relais.xlsx: more than %d charts", XLSX_MAX_CHARTS);
    lua_getfield(L, 2, "sheet");
    sheet = luaL_testudata(L, -1, SHEET_MT);
    if (!sheet || sheet->book != b)
        return luaL_error(L, "relais.xlsx: chart 'sheet' must be a sheet of this workbook");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "at") != LUA_TTABLE)
        return luaL_error(L, "relais.xlsx: chart 'at' must be {row, col}");
    for (int i = 0; i < 2; i++) {
        lua_rawgeti(L, -1, i + 1);
        at[i] = check_index(L, -1, i ? XLSX_MAX_COLS : XLSX_MAX_ROWS, "chart 'at'");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "type") != LUA_TNIL)
        type = pick(L, lua_gettop(L), "type", types);
    lua_pop(L, 1);
    title = opt_label(L, 2, "title");
    width = opt_pixels(L, 2, "width", 480);
    height = opt_pixels(L, 2, "height", 288);
    labels = opt_flag(L, 2, "labels", 0);
    has_list = lua_getfield(L, 2, "series") != LUA_TNIL;
    if (has_list) {
        if (!lua_istable(L, -1))
            return luaL_error(L, "relais.xlsx: chart 'series' must be a list of series");
        nseries = (int)lua_rawlen(L, -1);
        if (nseries < 1 || nseries > XLSX_MAX_SERIES)
            return luaL_error(L, "relais.xlsx: a chart has 1 to %d series", XLSX_MAX_SERIES);
        for (int i = 1; i <= nseries; i++) {
            if (lua_rawgeti(L, -1, i) != LUA_TTABLE)
                return luaL_error(L, "relais.xlsx: chart 'series' must be a list of series");
            lua_pop(L, 1);
        }
    } else {
        nseries = 1;
    }
    lua_pop(L, 1);
    legend = opt_flag(L, 2, "legend", nseries > 1);

    charge(L, b, XLSX_OBJ_BYTES * (size_t)(1 + nseries));
    chart = workbook_add_chart(b->wb, type_of[type]);
    if (!chart)
        return luaL_error(L, "relais.xlsx: out of memory");
    b->ncharts++;
    /* The chart belongs to the workbook from here; an error below leaves
     * it unplaced, and libxlsxwriter writes only the charts placed. */
    if (has_list) {
        lua_getfield(L, 2, "series");
        for (int i = 1; i <= nseries; i++) {
            lua_rawgeti(L, -1, i);
            add_series(L, lua_gettop(L), b, sheet, chart, labels);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    } else {
        add_series(L, 2, b, sheet, chart, labels);
    }
    if (title)
        chart_title_set_name(chart, title);
    else
        chart_title_off(chart);
    chart_legend_set_position(chart, legend ? LXW_CHART_LEGEND_BOTTOM : LXW_CHART_LEGEND_NONE);
    /* A bar chart lists its categories bottom-up; reversed, they read in
     * the table's order, top-down. */
    if (type_of[type] == LXW_CHART_BAR)
        chart_axis_set_reverse(chart->y_axis);
    opt.x_scale = (double)width / 480.0;
    opt.y_scale = (double)height / 288.0;
    opt.description = (char *)title;   /* the chart's alternative text */
    err = worksheet_insert_chart_opt(sheet->ws, (lxw_row_t)(at[0] - 1), (lxw_col_t)(at[1] - 1),
                                     chart, &opt);
    if (err != LXW_NO_ERROR)
        return lxw_failed(L, "wb:chart", err);
    return 0;
}

/* --- closing --------------------------------------------------------------------------------- */

/* A workbook being written: what the book gave up at close, owned by the
 * reader's job when it runs off the loop (the task may be dropped
 * meanwhile), or by l_close's stack when it runs here. */
struct xclose {
    lxw_workbook *wb;        /* NULL once workbook_close freed it */
    int fd;
    char path[4096];
    lxw_error err;
    const char *failed;      /* why the file could not be read back */
    char *bytes;
    size_t len;
    struct task *t;
};

static void read_back(struct xclose *c);

/* Writes the file, reads it back and removes it: on a worker thread, or on
 * the loop. */
static void close_work(void *arg, struct reader_result *res)
{
    struct xclose *c = arg;

    (void)res;
    c->err = workbook_close(c->wb);   /* frees the workbook, whatever happens */
    c->wb = NULL;
    if (c->err == LXW_NO_ERROR)
        read_back(c);
    close(c->fd);
    unlink(c->path);
    c->fd = -1;
}

static void read_back(struct xclose *c)
{
    struct stat sb;
    size_t done = 0;

    if (fstat(c->fd, &sb) != 0 || sb.st_size <= 0 || sb.st_size > XLSX_MAX_FILE) {
        c->failed = "the file is empty or larger than 16 MiB";
        return;
    }
    /* Read back through the descriptor made with it: its name is only what
     * libxlsxwriter opened. */
    c->bytes = malloc((size_t)sb.st_size);
    if (!c->bytes) {
        c->failed = "out of memory";
        return;
    }
    while (done < (size_t)sb.st_size) {
        ssize_t n = pread(c->fd, c->bytes + done, (size_t)sb.st_size - done, (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->failed = "cannot read the file back";
            return;
        }
        done += (size_t)n;
    }
    c->len = done;
}

static void close_free(void *arg)
{
    struct xclose *c = arg;

    if (!c)
        return;
    if (c->wb)
        lxw_workbook_free(c->wb);
    if (c->fd >= 0) {
        close(c->fd);
        unlink(c->path);
    }
    free(c->bytes);
    free(c);
}

/* Pushes the file, or raises why there is none. BOX, when given, holds C
 * and is emptied first: the file goes at once, not at the next collection. */
static int close_result(lua_State *L, struct xclose *c, void **box)
{
    lxw_error err = c->err;
    const char *failed = c->failed;

    if (err == LXW_NO_ERROR && !failed)
        lua_pushlstring(L, c->bytes, c->len);
    if (box)
        pcodec_unbox(box);
    if (err != LXW_NO_ERROR)
        return lxw_failed(L, "the workbook could not be written", err);
    if (failed)
        return luaL_error(L, "relais.xlsx: %s", failed);
    return 1;
}

static void close_done(const struct reader_result *res, void *arg)
{
    struct xclose *c = arg;

    task_read_done(res, c->t);
}

static int close_k(lua_State *L, int status, lua_KContext ctx)
{
    struct task *t = *(struct task **)lua_getextraspace(L);
    struct xclose *c = (struct xclose *)ctx;

    (void)status;
    t->rres = NULL;
    t->waiting = 0;
    /* C is alive until this returns: the job frees it after delivering. */
    return close_result(L, c, NULL);
}

/* wb:close() → the .xlsx file's bytes. The workbook is closed whatever
 * happens. In a GET route the file is written on a reader's thread (a
 * workbook of 100,000 cells takes a few hundred milliseconds) and the route
 * waits; elsewhere here. */
static int l_close(lua_State *L)
{
    struct xbook *b = open_book(L, 1);
    struct plugin *pl = b->pl;
    struct task *t = task_running(L);
    struct xclose *c;
    void **box;

    sandbox_charge(L, XLSX_CELL_COST + XLSX_CLOSE_COST * b->cells +
                          (long)(b->text / SANDBOX_COST_SCAN_BYTES));
    box = pcodec_box(L, close_free);
    c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "relais.xlsx: out of memory");
    *box = c;
    /* The book gives up its workbook and file; its memory is given back. */
    c->wb = b->wb;
    c->fd = b->fd;
    memcpy(c->path, b->path, sizeof c->path);
    c->t = t;
    b->wb = NULL;
    b->fd = -1;
    book_release(b);
    if (pread_offloadable(L)) {
        t->rjob = reader_work(pl->host->reader, close_work, c, close_free, close_done, c);
        if (t->rjob) {
            *box = NULL;          /* the job's now */
            t->waiting = 1;
            return lua_yieldk(L, 0, (lua_KContext)c, close_k);
        }
    }
    close_work(c, NULL);
    return close_result(L, c, box);
}

/* --- the table ---------------------------------------------------------------------------------- */

static void new_mt(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc)
{
    if (luaL_newmetatable(L, name)) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        if (gc) {
            lua_pushcfunction(L, gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_pushstring(L, name);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}

void pxlsx_open(lua_State *L)
{
    static const luaL_Reg book[] = {
        {"sheet", l_sheet}, {"format", l_format}, {"chart", l_chart}, {"close", l_close},
        {NULL, NULL},
    };
    static const luaL_Reg sheet[] = {
        {"write", l_write}, {"column", l_column}, {"freeze", l_freeze},
        {"name", l_sheet_name}, {NULL, NULL},
    };
    static const luaL_Reg format[] = {{NULL, NULL}};

    new_mt(L, BOOK_MT, book, book_gc);
    new_mt(L, SHEET_MT, sheet, NULL);
    new_mt(L, FORMAT_MT, format, NULL);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_workbook);
    lua_setfield(L, -2, "workbook");
    lua_setfield(L, -2, "xlsx");
}
