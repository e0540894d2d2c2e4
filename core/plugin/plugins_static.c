/* plugins_static — relais.static(prefix, folder [, options]): a plugin's
 * folder of static files (a web console, images) served under a URL
 * prefix (plugins/API.md).
 *
 * Every file is read when the plugin loads (they are small: at most
 * PLUGINS_MAX_FILE each, STATIC_MAX_TOTAL in all) and each gets a GET route
 * of its own, "PREFIX/sub/name.ext": a request never touches the disk, a
 * reload re-reads the folder, and a path can only ever name a file that was
 * found inside the folder at load, so traversal is impossible by
 * construction (the router matches decoded segments literally: "..",
 * "%2F" or a NUL never name a file). While walking the folder, names that
 * are not plain (letters, digits, ".", "_", "-"; not starting with ".") are
 * refused, and a symbolic link is followed only when it resolves inside
 * the folder.
 *
 * Replies carry an ETag (the file's SHA-256, cut to 16 bytes) and
 * `Cache-Control: no-cache`, so browsers revalidate (If-None-Match → 304)
 * and see a new version after a reload; plus `X-Content-Type-Options:
 * nosniff` and the plugin's own headers (its Content-Security-Policy…).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <openssl/evp.h>

#include "plugins_internal.h"
#include "app.h"
#include "http.h"

#define STATIC_MAX_FILES   500
#define STATIC_MAX_TOTAL   (16u << 20)
#define STATIC_MAX_DEPTH   8
#define STATIC_MAX_HEADERS 16

struct sfile {
    char *route;              /* the GET pattern: PREFIX/rel/path */
    char *data;               /* shared by the prefix alias of index.html */
    size_t len;
    int owner;                /* frees DATA */
    const char *ctype;
    char etag[36];            /* "32 hex" */
};

struct pstatic {
    struct sfile *files;
    size_t n, cap, total;
    char *hname[STATIC_MAX_HEADERS], *hvalue[STATIC_MAX_HEADERS];
    int nheaders;
};

static const struct {
    const char *ext, *ctype;
} ctypes[] = {
    {"html", "text/html; charset=utf-8"}, {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"}, {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"}, {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"}, {"png", "image/png"}, {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"},
    {"ico", "image/x-icon"}, {"woff2", "font/woff2"}, {"woff", "font/woff"},
    {"webmanifest", "application/manifest+json"}, {"csv", "text/csv; charset=utf-8"},
};

static const char *ctype_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof ctypes / sizeof ctypes[0]; i++)
        if (strcasecmp(dot + 1, ctypes[i].ext) == 0)
            return ctypes[i].ctype;
    return "application/octet-stream";
}

/* A name the router matches literally and a browser sends unchanged. */
static int plain_name(const char *s)
{
    if (!*s || *s == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static void etag_of(const char *data, size_t len, char out[36])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n < 16) {
        /* Never fails in practice; a constant tag still revalidates. */
        memset(md, 0, 16);
    }
    out[0] = '"';
    for (int i = 0; i < 16; i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
    out[33] = '"';
    out[34] = '\0';
}

static void pstatic_free(struct pstatic *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].route);
        if (s->files[i].owner)
            free(s->files[i].data);
    }
    free(s->files);
    for (int i = 0; i < s->nheaders; i++) {
        free(s->hname[i]);
        free(s->hvalue[i]);
    }
    free(s);
}

static int add_file(struct pstatic *s, char *route, char *data, size_t len, int owner,
                    const char *ctype, char *err, size_t nerr)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct sfile *g = realloc(s->files, cap * sizeof *g);

        if (!g) {
            snprintf(err, nerr, "out of memory");
            return -1;
        }
        s->files = g;
        s->cap = cap;
    }
    s->files[s->n] = (struct sfile){route, data, len, owner, ctype, ""};
    etag_of(data, len, s->files[s->n].etag);
    s->n++;
    return 0;
}

/* Reads DIR (ROOT_REAL is the folder's real path) into S, routes named
 * URL/NAME. 0, or -1 with ERR. */
static int walk(struct pstatic *s, const char *dir, const char *root_real,
                const char *url, int depth, char *err, size_t nerr)
{
    DIR *d = NULL;
    struct dirent *e;
    char *path = NULL, *route = NULL, *data = NULL, real[PATH_MAX];
    size_t len, rlen = strlen(root_real);
    const char *why;
    struct stat sb;
    int rc = -1;

    if (depth > STATIC_MAX_DEPTH) {
        snprintf(err, nerr, "folders nested more than %d deep", STATIC_MAX_DEPTH);
        goto out;
    }
    d = opendir(dir);
    if (!d) {
        snprintf(err, nerr, "cannot open %s: %s", dir, strerror(errno));
        goto out;
    }
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;   /* ".", "..", and hidden files (editor leftovers) */
        if (!plain_name(e->d_name)) {
            snprintf(err, nerr, "%s/%s: a served name is letters, digits, '.', '_' and '-'",
                     dir, e->d_name);
            goto out;
        }
        free(path);
        free(route);
        path = route = NULL;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
            path = NULL;
        if (asprintf(&route, "%s/%s", url, e->d_name) < 0)
            route = NULL;
        if (!path || !route) {
            snprintf(err, nerr, "out of memory");
            goto out;
        }
        /* Resolved, so that a link leading out of the folder is refused. */
        if (!realpath(path, real) || stat(real, &sb) != 0) {
            snprintf(err, nerr, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (strncmp(real, root_real, rlen) != 0 || real[rlen] != '/') {
            snprintf(err, nerr, "%s leads outside the folder", path);
            goto out;
        }
        if (S_ISDIR(sb.st_mode)) {
            if (walk(s, path, root_real, route, depth + 1, err, nerr) != 0)
                goto out;
            continue;
        }
        if (!S_ISREG(sb.st_mode))
            continue;
        if (s->n >= STATIC_MAX_FILES) {
            snprintf(err, nerr, "more than %d files", STATIC_MAX_FILES);
            goto out;
        }
        if (plugin_read_file(real, &data, &len, &why) != 0) {
            snprintf(err, nerr, "%s: %s", path, why);
            goto out;
        }
        s->total += len;
        if (s->total > STATIC_MAX_TOTAL) {
            snprintf(err, nerr, "the files add up to more than %u MiB", STATIC_MAX_TOTAL >> 20);
            goto out;
        }
        if (add_file(s, route, data, len, 1, ctype_of(e->d_name), err, nerr) != 0)
            goto out;
        route = data = NULL;
    }
    if (errno) {
        snprintf(err, nerr, "cannot read %s: %s", dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(path);
    free(route);
    free(data);
    if (d)
        closedir(d);
    return rc;
}

/* S is "seg/seg/…": plain segments, none empty, no trailing '/'. */
static int plain_segments(const char *s)
{
    char buf[256], *seg, *save = NULL;

    if (!*s || strlen(s) >= sizeof buf || s[strlen(s) - 1] == '/' || strstr(s, "//"))
        return 0;
    snprintf(buf, sizeof buf, "%s", s);
    for (seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save))
        if (!plain_name(seg))
            return 0;
    return 1;
}

/* PREFIX is "/seg/seg", outside /api/ (which needs a token); FOLDER is
 * relative, inside the plugin's folder ("..", starting with '.', is not
 * plain). */
static const char *args_problem(const char *prefix, const char *folder)
{
    if (prefix[0] != '/' || prefix[1] == '\0')
        return "the prefix is a path such as \"/console\"";
    if (strcmp(prefix, "/api") == 0 || strncmp(prefix, "/api/", 5) == 0)
        return "the prefix may not be under /api/";
    if (!plain_segments(prefix + 1))
        return "a prefix segment is letters, digits, '.', '_' and '-' (no trailing \"/\")";
    if (folder[0] == '/')
        return "the folder is a relative name inside the plugin's folder";
    if (!plain_segments(folder))
        return "a folder segment is letters, digits, '.', '_' and '-' (no \"..\")";
    return NULL;
}

/* relais.static(prefix, folder [, {headers = {name = value}}]) */
int pstatic_l_static(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    struct task *t = task_running(L);
    struct app *app = pl->host->app;
    const char *prefix = luaL_checkstring(L, 1), *folder = luaL_checkstring(L, 2), *why;
    const char *hn[STATIC_MAX_HEADERS], *hv[STATIC_MAX_HEADERS];
    char err[512], *root = NULL, root_real[PATH_MAX], *alias = NULL;
    struct pstatic *s = NULL, **grown;
    size_t routed = 0;
    int nh = 0;

    if (!t || t->kind != TASK_LOAD)
        return luaL_error(L, "relais.static may only be called while the plugin loads");
    if ((why = args_problem(prefix, folder)))
        return luaL_error(L, "relais.static: %s", why);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "headers");
        if (!lua_isnil(L, -1)) {
            luaL_checktype(L, -1, LUA_TTABLE);
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                size_t vl;

                if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                    return luaL_error(L, "relais.static: headers are name = \"text\" pairs");
                if (nh == STATIC_MAX_HEADERS)
                    return luaL_error(L, "relais.static: at most %d headers", STATIC_MAX_HEADERS);
                hn[nh] = lua_tostring(L, -2);
                hv[nh] = lua_tolstring(L, -1, &vl);
                if (strlen(hv[nh]) != vl || strpbrk(hv[nh], "\r\n") ||
                    !*hn[nh] || strpbrk(hn[nh], " \t\r\n:"))
                    return luaL_error(L, "relais.static: a header name or value is malformed");
                if (http_header_reserved(hn[nh]))
                    return luaL_error(L, "relais.static: %s is written by the server alone", hn[nh]);
                nh++;
                lua_pop(L, 1);   /* the key stays: its string is still on the stack */
            }
        }
        /* The headers table stays on the stack, anchoring hn/hv. */
    }
    if (!app->http)
        return luaL_error(L, "relais.static: this program serves no HTTP");
    /* No Lua call below until the error is raised: C memory is held. */
    s = calloc(1, sizeof *s);
    if (!s || asprintf(&root, "%s/%s", pl->dir, folder) < 0) {
        root = NULL;
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nh; i++) {
        s->hname[i] = strdup(hn[i]);
        s->hvalue[i] = strdup(hv[i]);
        s->nheaders = i + 1;
        if (!s->hname[i] || !s->hvalue[i]) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
    }
    if (!realpath(root, root_real)) {
        snprintf(err, sizeof err, "%s: %s", root, strerror(errno));
        goto fail;
    }
    if (walk(s, root_real, root_real, prefix, 0, err, sizeof err) != 0)
        goto fail;
    /* The folder's index.html also answers at the prefix itself. */
    for (size_t i = 0, n = s->n; i < n; i++) {
        const char *rest = s->files[i].route + strlen(prefix);

        if (strcmp(rest, "/index.html") == 0) {
            alias = strdup(prefix);
            if (!alias || add_file(s, alias, s->files[i].data, s->files[i].len, 0,
                                   s->files[i].ctype, err, sizeof err) != 0)
                goto fail;
            alias = NULL;
            break;
        }
    }
    grown = realloc(pl->statics, (pl->nstatics + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    pl->statics = grown;
    for (routed = 0; routed < s->n; routed++) {
        if (http_route(app->http, HTTP_GET, s->files[routed].route, ROUTE_PUBLIC,
                       pstatic_handler) != 0) {
            snprintf(err, sizeof err, "cannot add GET %s (another route answers it, or "
                     "it has too many segments)", s->files[routed].route);
            goto fail;
        }
    }
    pl->statics[pl->nstatics++] = s;
    free(root);
    return 0;
fail:
    for (size_t i = 0; i < routed; i++)
        http_unroute(app->http, HTTP_GET, s->files[i].route);
    pstatic_free(s);
    free(alias);
    free(root);
    return luaL_error(L, "relais.static: %s", err);
}

void pstatic_unregister(struct plugin *pl)
{
    struct app *app = pl->host->app;

    for (size_t i = 0; i < pl->nstatics; i++) {
        for (size_t j = 0; app->http && j < pl->statics[i]->n; j++)
            http_unroute(app->http, HTTP_GET, pl->statics[i]->files[j].route);
        pstatic_free(pl->statics[i]);
    }
    free(pl->statics);
    pl->statics = NULL;
    pl->nstatics = 0;
}

/* If-None-Match holds ETAG (or "*"): a list of tags, weak ones compared
 * weakly as RFC 9110 says for this header. */
static int none_match(const char *h, const char *etag)
{
    size_t el = strlen(etag);

    while (h && *h) {
        while (*h == ' ' || *h == '\t' || *h == ',')
            h++;
        if (*h == '*')
            return 1;
        if (strncmp(h, "W/", 2) == 0)
            h += 2;
        if (strncmp(h, etag, el) == 0 && (h[el] == '\0' || strchr(" \t,", h[el])))
            return 1;
        h = strchr(h, ',');
    }
    return 0;
}

void pstatic_handler(struct http_req *req)
{
    struct plugins *p = req->app ? req->app->plugins : NULL;
    const struct pstatic *s = NULL;
    const struct sfile *f = NULL;

    for (size_t i = 0; p && !f && i < p->n; i++)
        for (size_t j = 0; !f && j < p->list[i]->nstatics; j++)
            for (size_t k = 0; !f && k < p->list[i]->statics[j]->n; k++)
                if (strcmp(p->list[i]->statics[j]->files[k].route, req->route) == 0) {
                    s = p->list[i]->statics[j];
                    f = &s->files[k];
                }
    if (!f) {
        http_problem(req, 404, "no such file");
        return;
    }
    http_reply_header(req, "ETag", f->etag);
    http_reply_header(req, "Cache-Control", "no-cache");
    http_reply_header(req, "X-Content-Type-Options", "nosniff");
    for (int i = 0; i < s->nheaders; i++)
        http_reply_header(req, s->hname[i], s->hvalue[i]);
    if (none_match(http_header(req, "If-None-Match"), f->etag))
        http_reply_empty(req, 304);
    else
        http_reply_data(req, 200, f->ctype, f->data, f->len);
}
