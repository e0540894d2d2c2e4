/* plugins_csv — relais.csv.records, the handle of a spooled request body
 * (req.body_file) and relais.fold (plugins/API.md).
 *
 * A body handle is a userdata holding only a serial number: the file
 * itself is the server's and closes when the route's request ends, so the
 * handle looks its file up in the host's list of the live ones at each read
 * and a handle kept past its request simply fails, never reading a
 * descriptor that has since been reused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "csv.h"
#include "domain.h"

#define FILE_MT "relais.body_file"

/* One of struct plugins' live_files: the files of routes still running. */
struct live_file {
    unsigned long serial;
    int fd;
    size_t len;
    struct live_file *next;
};

struct handle {
    unsigned long serial;
};

void pcsv_push_file(lua_State *L, int fd, size_t len)
{
    struct handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    struct plugins *host = plugin_of(L)->host;
    struct live_file *f;

    h->serial = 0;
    luaL_setmetatable(L, FILE_MT);
    /* Nothing below raises: the entry cannot be lost half-made. */
    f = malloc(sizeof *f);
    if (!f)
        return;   /* the handle reads as closed */
    *f = (struct live_file){++host->file_serial, fd, len, host->live_files};
    host->live_files = f;
    h->serial = f->serial;
}

void pcsv_forget_file(struct plugins *host, int fd)
{
    for (struct live_file **p = &host->live_files; *p;) {
        if ((*p)->fd == fd) {
            struct live_file *f = *p;

            *p = f->next;
            free(f);
        } else {
            p = &(*p)->next;
        }
    }
}

void pcsv_forget_all(struct plugins *host)
{
    while (host->live_files) {
        struct live_file *f = host->live_files;

        host->live_files = f->next;
        free(f);
    }
}

static struct live_file *find(const struct plugins *host, unsigned long serial)
{
    for (struct live_file *f = host->live_files; f; f = f->next)
        if (serial && f->serial == serial)
            return f;
    return NULL;
}

static int l_file_tostring(lua_State *L)
{
    struct handle *h = luaL_checkudata(L, 1, FILE_MT);
    struct live_file *f = find(plugin_of(L)->host, h->serial);

    if (f)
        lua_pushfstring(L, "body file (%I bytes)", (lua_Integer)f->len);
    else
        lua_pushliteral(L, "body file (closed)");
    return 1;
}

static int l_file_len(lua_State *L)
{
    struct handle *h = luaL_checkudata(L, 1, FILE_MT);
    struct live_file *f = find(plugin_of(L)->host, h->serial);

    if (!f)
        return luaL_error(L, "the body file is closed (its request is over)");
    lua_pushinteger(L, (lua_Integer)f->len);
    return 1;
}

/* --- records ------------------------------------------------------------------ */

/* The state of one relais.csv.records loop. Its source is a body file
 * (looked up by SERIAL) or a Lua string the iterator keeps as upvalue. */
struct iter {
    const struct plugins *host;
    struct csv_reader *r;
    unsigned long serial;
    const char *s;
    size_t slen;
    size_t off;
    int trim;          /* fields without their leading and trailing blanks */
};

static ssize_t iter_read(void *ud, char *buf, size_t cap)
{
    struct iter *it = ud;
    struct live_file *f;
    ssize_t n;

    if (it->s) {
        size_t left = it->slen - it->off;

        n = (ssize_t)(left < cap ? left : cap);
        memcpy(buf, it->s + it->off, (size_t)n);
        it->off += (size_t)n;
        return n;
    }
    f = find(it->host, it->serial);
    if (!f)
        return -1;
    do
        n = pread(f->fd, buf, cap, (off_t)it->off);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        it->off += (size_t)n;
    return n;
}

static void iter_free(void *p)
{
    struct iter *it = p;

    csv_free(it->r);
    free(it);
}

static int l_next(lua_State *L)
{
    void **slot = lua_touserdata(L, lua_upvalueindex(2));
    struct iter *it = slot ? *slot : NULL;
    const struct csv_field *f;
    const char *why;
    size_t n;
    long line;
    int rc;

    if (!it)
        return 0;
    rc = csv_next(it->r, &f, &n, &line, &why);
    if (rc == CSV_END) {
        pcodec_unbox(slot);   /* the reader's buffers go at once */
        return 0;
    }
    if (rc < 0) {
        if (!it->s && !find(it->host, it->serial))
            return luaL_error(L, "relais.csv: the body file is closed (its request is over)");
        return luaL_error(L, "relais.csv: %s", why);
    }
    if (rc == CSV_BAD) {
        lua_pushboolean(L, 0);
        lua_pushinteger(L, line);
        lua_pushstring(L, why);
        return 3;
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const char *s = f[i].s;
        size_t len = f[i].len;

        /* Trimming here spares the plugin a pattern or two per cell: on a
         * long import, most of the work a line costs in Lua. */
        if (it->trim) {
            while (len && (*s == ' ' || *s == '\t'))
                s++, len--;
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
        }
        lua_pushlstring(L, s, len);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushinteger(L, line);
    return 2;
}

/* relais.csv.records(source, {sep = ";", encoding = "auto", trim = true})
 * → iterator of (fields, line) or (false, line, reason) for a malformed
 * record. */
static int l_records(lua_State *L)
{
    struct handle *h = luaL_testudata(L, 1, FILE_MT);
    const char *sep = ",";
    size_t seplen = 1;
    enum csv_encoding enc = CSV_UTF8;
    int trim = 0;
    void **slot;
    struct iter *it;

    if (!h && lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "relais.csv.records: the source is a body file or a string");
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        /* An options table without sep keeps the default. */
        if (lua_getfield(L, 2, "sep") != LUA_TNIL) {
            sep = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &seplen) : NULL;
            if (!sep || seplen != 1 || *sep == '"' || *sep == '\n' || *sep == '\r')
                return luaL_error(L, "relais.csv.records: sep is one character (not a "
                                  "quote or a line end)");
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "encoding") != LUA_TNIL) {
            const char *e = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";

            if (strcmp(e, "windows-1252") == 0)
                enc = CSV_WINDOWS_1252;
            else if (strcmp(e, "auto") == 0)
                enc = CSV_AUTO;
            else if (strcmp(e, "utf-8") != 0)
                return luaL_error(L, "relais.csv.records: encoding is \"utf-8\", "
                                  "\"windows-1252\" or \"auto\"");
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "trim") != LUA_TNIL) {
            if (!lua_isboolean(L, -1))
                return luaL_error(L, "relais.csv.records: trim is true or false");
            trim = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
    }
    if (h && !find(plugin_of(L)->host, h->serial))
        return luaL_error(L, "relais.csv.records: the body file is closed (its request is over)");
    lua_settop(L, 1);
    slot = pcodec_box(L, iter_free);
    it = calloc(1, sizeof *it);
    if (!it || !(it->r = csv_new(*sep, iter_read, it))) {
        free(it);
        return luaL_error(L, "relais.csv.records: out of memory");
    }
    *slot = it;
    csv_set_encoding(it->r, enc);
    it->trim = trim;
    it->host = plugin_of(L)->host;
    if (h) {
        it->serial = h->serial;
    } else {
        it->s = lua_tolstring(L, 1, &it->slen);
    }
    lua_pushcclosure(L, l_next, 2);   /* upvalues: the source (kept alive), the box */
    return 1;
}

/* relais.fold(s): the text as beneficiaries.search_key holds names —
 * lower case, accents removed, spaces collapsed (domain_fold). */
static int l_fold(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    void **slot = pcodec_box(L, free);

    *slot = domain_fold(s);
    if (!*slot)
        return luaL_error(L, "relais.fold: out of memory");
    lua_pushstring(L, *slot);
    pcodec_unbox(slot);
    return 1;
}

void pcsv_open(lua_State *L)
{
    static const luaL_Reg file_mt[] = {
        {"__tostring", l_file_tostring}, {"__len", l_file_len}, {NULL, NULL},
    };

    if (luaL_newmetatable(L, FILE_MT)) {
        luaL_setfuncs(L, file_mt, 0);
        lua_pushliteral(L, "body file");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_records);
    lua_setfield(L, -2, "records");
    lua_setfield(L, -2, "csv");
    lua_pushcfunction(L, l_fold);
    lua_setfield(L, -2, "fold");
}
