/* rcache — rendered read-only answers while the database is unchanged (see
 * core/http/rcache.h). */
#include "rcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <sqlite3.h>

#include "app.h"
#include "http.h"
#include "json.h"
#include "store.h"

struct entry {
    char *key;          /* NULL: free slot */
    char *data;
    size_t len;
    struct rcache_mark mark;
    uint64_t used;      /* tick of the last get or put */
};

struct rcache {
    struct entry e[RCACHE_SLOTS];
    size_t bytes;
    uint64_t tick;
    /* rcache_state's reading of data_version for the current request. */
    int in_request, have_memo;
    struct store *memo_st;
    int64_t memo_version;
};

struct rcache *rcache_new(void)
{
    return calloc(1, sizeof(struct rcache));
}

static void drop(struct rcache *c, struct entry *e)
{
    if (!e->key)
        return;
    c->bytes -= e->len;
    free(e->key);
    free(e->data);
    memset(e, 0, sizeof *e);
}

void rcache_free(struct rcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < RCACHE_SLOTS; i++)
        drop(c, &c->e[i]);
    free(c);
}

void rcache_mark(struct store *st, struct rcache_mark *m)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *s;

    memset(m, 0, sizeof *m);
    if (!db || !sqlite3_get_autocommit(db))
        return;
    s = store_stmt(st, "PRAGMA data_version");
    if (!s)
        return;
    if (sqlite3_step(s) == SQLITE_ROW) {
        m->data_version = sqlite3_column_int64(s, 0);
        m->changes = (int64_t)sqlite3_total_changes64(db);
        m->ok = 1;
    }
    store_done(s);
}

void rcache_request_begin(struct rcache *c)
{
    if (!c)
        return;
    c->in_request = 1;
    c->have_memo = 0;
}

void rcache_request_end(struct rcache *c)
{
    if (!c)
        return;
    c->in_request = 0;
    c->have_memo = 0;
}

void rcache_state(struct rcache *c, struct store *st, struct rcache_mark *m)
{
    sqlite3 *db = store_db(st);

    if (!c || !c->in_request || (c->have_memo && c->memo_st != st)) {
        rcache_mark(st, m);
        return;
    }
    if (!c->have_memo) {
        rcache_mark(st, m);
        if (m->ok) {
            c->have_memo = 1;
            c->memo_st = st;
            c->memo_version = m->data_version;
        }
        return;
    }
    memset(m, 0, sizeof *m);
    if (!db || !sqlite3_get_autocommit(db))
        return;
    m->data_version = c->memo_version;
    m->changes = (int64_t)sqlite3_total_changes64(db);
    m->ok = 1;
}

static int same(const struct rcache_mark *a, const struct rcache_mark *b)
{
    return a->ok && b->ok && a->data_version == b->data_version && a->changes == b->changes;
}

static struct entry *find(struct rcache *c, const char *key)
{
    for (int i = 0; i < RCACHE_SLOTS; i++)
        if (c->e[i].key && strcmp(c->e[i].key, key) == 0)
            return &c->e[i];
    return NULL;
}

const char *rcache_get(struct rcache *c, const char *key, const struct rcache_mark *m,
                       size_t *len)
{
    struct entry *e;

    if (!c || !m->ok || !(e = find(c, key)))
        return NULL;
    if (!same(&e->mark, m)) {
        /* Rendered at a state that is gone: it can never be served again. */
        drop(c, e);
        return NULL;
    }
    e->used = ++c->tick;
    *len = e->len;
    return e->data;
}

/* The least recently used entry, or NULL when the cache is empty. */
static struct entry *oldest(struct rcache *c)
{
    struct entry *best = NULL;

    for (int i = 0; i < RCACHE_SLOTS; i++) {
        struct entry *e = &c->e[i];
        if (e->key && (!best || e->used < best->used))
            best = e;
    }
    return best;
}

/* A free slot, emptying the least recently used one when there is none. */
static struct entry *slot(struct rcache *c)
{
    struct entry *e;

    for (int i = 0; i < RCACHE_SLOTS; i++)
        if (!c->e[i].key)
            return &c->e[i];
    e = oldest(c);
    drop(c, e);
    return e;
}

void rcache_put(struct rcache *c, const char *key, const char *data, size_t len,
                const struct rcache_mark *m)
{
    struct entry *e;
    char *k, *d;

    if (!c || !m->ok || len > RCACHE_MAX_BYTES / 4)
        return;
    if ((e = find(c, key)))
        drop(c, e);
    k = strdup(key);
    d = malloc(len ? len : 1);
    if (!k || !d) {
        free(k);
        free(d);
        return;
    }
    memcpy(d, data, len);
    while (c->bytes + len > RCACHE_MAX_BYTES && (e = oldest(c)))
        drop(c, e);
    e = slot(c);
    e->key = k;
    e->data = d;
    e->len = len;
    e->mark = *m;
    e->used = ++c->tick;
    c->bytes += len;
}

/* --- for handlers ------------------------------------------------------------ */

int rcache_reply_hit(struct http_req *req, const char *key, struct rcache_mark *m)
{
    const char *text;
    size_t len;

    memset(m, 0, sizeof *m);
    if (!req->app || !req->app->rcache)
        return 0;
    rcache_state(req->app->rcache, req->app->store, m);
    if (!(text = rcache_get(req->app->rcache, key, m, &len)))
        return 0;
    http_reply_data(req, 200, "application/json", text, len);
    return 1;
}

void rcache_reply_keep(struct http_req *req, const char *key, const struct rcache_mark *m,
                       cJSON *doc, const char *what)
{
    size_t len = 0;
    char *text = json_print(doc, &len);

    cJSON_Delete(doc);
    if (!text) {
        http_problem(req, 500, "%s", what);
        return;
    }
    if (req->app)
        rcache_put(req->app->rcache, key, text, len, m);
    http_reply_data(req, 200, "application/json", text, len);
    free(text);
}

int rcache_query_key(struct http_req *req, const char *prefix, char *key, size_t n)
{
    const struct evkeyval *kv;
    size_t off;
    int w = snprintf(key, n, "%s", prefix);

    if (w < 0 || (size_t)w >= n)
        return -1;
    off = (size_t)w;
    TAILQ_FOREACH(kv, &req->query, next) {
        w = snprintf(key + off, n - off, "%zu:%s%zu:%s", strlen(kv->key), kv->key,
                     strlen(kv->value), kv->value);
        if (w < 0 || (size_t)w >= n - off)
            return -1;
        off += (size_t)w;
    }
    return 0;
}
