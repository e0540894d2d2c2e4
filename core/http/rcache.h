/* rcache — the rendered text of read-only answers (a session, a page of
 * sessions), kept while the database is unchanged, so that the same GET
 * repeated between two writes costs one cheap check instead of its queries
 * and its JSON.
 *
 * Staleness is ruled out by the database itself, not by callers
 * remembering to invalidate: an entry is served only while the state it was
 * rendered at still holds, the pair (PRAGMA data_version, which moves when
 * another connection or process commits; sqlite3_total_changes64(), which
 * moves on every row this connection changes, committed or rolled back).
 * Nothing is cached or served while a transaction is open on the connection,
 * since what it reads may yet be rolled back. Only answers that are the same
 * for every caller allowed on the route, and that do not depend on the
 * clock, may be cached.
 *
 * Memory is bounded: RCACHE_SLOTS entries, RCACHE_MAX_BYTES of text in all,
 * the least recently used entry goes first.
 *
 * Ownership: rcache_new returns a cache the caller frees with rcache_free;
 * rcache_put copies the key and the text; the text rcache_get returns stays
 * valid until the next rcache_put or rcache_free. One thread.
 */
#ifndef RELAIS_RCACHE_H
#define RELAIS_RCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#define RCACHE_SLOTS 32
#define RCACHE_MAX_BYTES (4u << 20)

struct store;
struct rcache;
struct http_req;

/* The state of the database a text is rendered at. */
struct rcache_mark {
    int64_t data_version;
    int64_t changes;
    int ok;             /* 0: do not cache now (transaction open, or unreadable) */
};

/* NULL when out of memory. */
struct rcache *rcache_new(void);
void rcache_free(struct rcache *c);

/* Reads the state of ST's database now into *M. */
void rcache_mark(struct store *st, struct rcache_mark *m);
/* The state now, reading PRAGMA data_version (a statement, the bulk of the
 * cost) at most once per request: between rcache_request_begin and
 * rcache_request_end (http_server.c, around one request's synchronous
 * part) the value first read is reused, while the changes counter and the
 * open-transaction test are read on every call. Reuse is sound because
 * data_version moves only when another connection commits: an answer then
 * reflects the database as it was when the request began, and anything
 * rendered after such a commit is dropped on the next request, which reads
 * data_version again. Outside a request, or with C NULL, it is
 * rcache_mark. The token cache (tokens.h) shares this state, so that one
 * read serves both caches. */
void rcache_state(struct rcache *c, struct store *st, struct rcache_mark *m);
void rcache_request_begin(struct rcache *c);
void rcache_request_end(struct rcache *c);
/* The text stored under KEY at state M, its length in *LEN; NULL when there
 * is none, or it was rendered at another state. */
const char *rcache_get(struct rcache *c, const char *key, const struct rcache_mark *m,
                       size_t *len);
/* Stores a copy of DATA[0..LEN) under KEY, rendered at state M (read before
 * the queries that produced it). Does nothing when M is not ok, when the
 * text alone is over a quarter of RCACHE_MAX_BYTES, or out of memory: the
 * cache is only ever a shortcut. */
void rcache_put(struct rcache *c, const char *key, const char *data, size_t len,
                const struct rcache_mark *m);

/* For GET handlers, with REQ->app->rcache (no caching when it is NULL).
 * rcache_reply_hit: reads the state (rcache_state) into *M and answers 200 with the text
 * kept under KEY at that state: 1; else 0 (answer nothing, build the answer,
 * pass M on). rcache_reply_keep: answers 200 with DOC (taken; NULL or out
 * of memory answers 500 with the detail WHAT) and keeps its text under KEY
 * at state M. rcache_query_key: PREFIX followed by every query parameter in
 * order, each with its length so that two different queries never share a
 * key; -1 when it does not fit in N bytes (then do not cache). */
int rcache_reply_hit(struct http_req *req, const char *key, struct rcache_mark *m);
void rcache_reply_keep(struct http_req *req, const char *key, const struct rcache_mark *m,
                       cJSON *doc, const char *what);
int rcache_query_key(struct http_req *req, const char *prefix, char *key, size_t n);

#endif
