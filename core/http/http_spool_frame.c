/* http_spool_frame — following HTTP/1.1 framing on a connection's input
 * (see core/http/http_spool.c): request heads, Content-Length and chunked
 * bodies, the temporary files of spooled routes.
 *
 * This filter is the only reader of what the client sent as framing: every
 * head goes through http_head_parse and evhttp gets its canonical form
 * (core/http/http_head.h), every chunk-size line is written anew ("%x\r\n", no
 * extension), trailers are dropped. A head it refuses reaches evhttp as a
 * bare request carrying the verdict (REFUSE_HDR), in its turn after the
 * requests of the connection still being answered, which http_server.c
 * answers with a problem before the connection closes; nothing after it on
 * that connection is read. Broken chunked framing in a body already under
 * way ends the connection with a 400 (http_conn_refuse). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "http_head.h"
#include "http_spool_internal.h"
#include "log.h"
#include "metrics.h"

#define MAX_LINE   4096

/* PATH (raw, up to '?') against PATTERN: literal segments compare as they
 * are, a {name} segment takes any non-empty segment. */
static int path_matches(const char *pattern, const char *path, size_t plen)
{
    const char *p = pattern, *s = path, *end = path + plen;

    while (*p && s < end) {
        const char *pe = strchr(p + 1, '/'), *se = memchr(s + 1, '/', (size_t)(end - s - 1));
        size_t pl, sl;

        if (*p != '/' || *s != '/')
            return 0;
        pe = pe ? pe : p + strlen(p);
        se = se ? se : end;
        pl = (size_t)(pe - p - 1);
        sl = (size_t)(se - s - 1);
        if (pl >= 2 && p[1] == '{' && p[pl] == '}') {
            if (sl == 0)
                return 0;
        } else if (pl != sl || memcmp(p + 1, s + 1, pl) != 0) {
            return 0;
        }
        p = pe;
        s = se;
    }
    return !*p && s == end;
}

/* The spooled route of a request for METHOD (enum http_method) at TARGET
 * (as sent: origin or absolute form, with its query), or NULL. */
static const struct spool_route *find_route(struct http_server *hs, int method,
                                            const char *target, size_t tlen)
{
    const char *end = target + tlen, *q;

    if (tlen > 8 && (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0)) {
        const char *auth = memchr(target, ':', tlen) + 3;

        target = auth < end ? memchr(auth, '/', (size_t)(end - auth)) : NULL;
        if (!target)
            return NULL;
    }
    if (!(method & (HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)) ||
        target[0] != '/')
        return NULL;
    q = memchr(target, '?', (size_t)(end - target));
    if (!q)
        q = end;
    for (const struct spool_route *r = hs->spools; r; r = r->next)
        if ((r->methods & method) && path_matches(r->pattern, target, (size_t)(q - target)))
            return r;
    return NULL;
}

/* --- the temporary file --------------------------------------------------------- */

static int spool_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;

    if (!dir || !*dir)
        dir = "/tmp";
    /* O_TMPFILE: the file never has a name; no cleanup is ever needed. */
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    if (snprintf(path, sizeof path, "%s/relais-spool-XXXXXX", dir) >= (int)sizeof path)
        return -1;
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* --- framing ------------------------------------------------------------------------ */

/* Moves N body bytes of SRC: to the file when spooling, else on to DST. */
static void take(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    if (!c->spooling) {
        evbuffer_remove_buffer(src, dst, n);
        return;
    }
    c->size += n;
    if (c->status == 0 && c->size > c->max)
        c->status = 413;
    while (c->status == 0 && n > 0) {
        int w = evbuffer_write_atmost(src, c->fd, (ev_ssize_t)n);

        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            log_error("http", "cannot write a spooled body: %s", strerror(errno));
            c->status = 500;
            break;
        }
        n -= (size_t)w;
    }
    evbuffer_drain(src, n);
}

/* Hands evhttp the spooled request's head and queues its file. */
static void finish(struct spool_conn *c, struct evbuffer *dst, int close_after)
{
    struct spool_done *d, **tail;

    c->st = S_HEAD;
    if (!c->spooling)
        return;
    c->spooling = 0;
    d = calloc(1, sizeof *d);
    if (!d) {
        close_after = 1;
        c->status = 500;
    }
    if (d) {
        *d = (struct spool_done){c->next_id, c->fd, c->status, c->size, c->max, NULL};
        for (tail = &c->done; *tail; tail = &(*tail)->next)
            ;
        *tail = d;
    } else if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    evbuffer_add_printf(c->head, "Content-Length: 0\r\n" SPOOL_HDR ": %lu\r\n%s\r\n",
                        c->next_id++, close_after ? "Connection: close\r\n" : "");
    evbuffer_add_buffer(dst, c->head);
    c->heads++;
    if (close_after)
        c->st = S_DISCARD_ALL;
}

/* Chunked framing that cannot be followed: a spooled request ends as a
 * 400 of its own; any other request, whose head evhttp has, ends with the
 * connection. */
static void broken(struct spool_conn *c, struct evbuffer *dst)
{
    if (c->spooling) {
        if (c->status == 0)
            c->status = 400;
        finish(c, dst, 1);
    } else {
        metrics_count("http_refused_total", "reason", "malformed_body", 1);
        http_conn_refuse(c, 400, "the body's chunked framing is malformed", 0);
    }
}

/* One line of SRC into BUF (CAP bytes), taken out of SRC. 1 read, 0 needs
 * more, -1 too long. */
static int take_line(struct evbuffer *src, char *buf, size_t cap)
{
    size_t eol;
    struct evbuffer_ptr e = evbuffer_search_eol(src, NULL, &eol, EVBUFFER_EOL_CRLF);

    if (e.pos < 0)
        return evbuffer_get_length(src) > MAX_LINE ? -1 : 0;
    if ((size_t)e.pos >= cap)
        return -1;
    evbuffer_copyout(src, buf, (size_t)e.pos);
    buf[e.pos] = '\0';
    evbuffer_drain(src, (size_t)e.pos + eol);
    return 1;
}

/* A chunk-size line: hex digits, then an extension after ';' (ignored).
 * Its bytes must all be such as a header value may hold. */
static int chunk_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;

    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return -1;
    for (; *s; s++, digits++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
              : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (v >> 40)
            return -1;
        v = v * 16 + (uint64_t)d;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (!digits || (*s && *s != ';'))
        return -1;
    *out = v;
    return 0;
}

/* A head over limits.header_size: 431 and the connection closes (evhttp's
 * own limit would answer 413 with an HTML page). */
static int head_too_large(struct spool_conn *c)
{
    metrics_count("http_refused_total", "reason", "header_size", 1);
    http_conn_refuse(c, 431, "the request line and headers are too large", 0);
    return 1;
}

/* A head the parser refused (see the top of the file). */
static int refuse_head(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst,
                       size_t hlen, enum head_error why)
{
    evbuffer_drain(c->head, evbuffer_get_length(c->head));
    evbuffer_drain(src, hlen);
    evbuffer_add_printf(dst, "GET / HTTP/1.1\r\n" REFUSE_HDR ": %d\r\nConnection: close\r\n\r\n",
                        (int)why);
    c->heads++;
    c->st = S_DISCARD_ALL;
    metrics_count("http_refused_total", "reason", "malformed_head", 1);
    return 1;
}

/* The head of a request: parsed, its framing, whether it is spooled. 1
 * handled, 0 needs more input. */
static int on_head(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    struct evbuffer_ptr p, e;
    size_t eol, hlen;
    char *raw = NULL;
    const struct spool_route *r;
    struct http_head h;
    enum head_error why;

    evbuffer_ptr_set(src, &p, 0, EVBUFFER_PTR_SET);
    for (;;) {
        e = evbuffer_search_eol(src, &p, &eol, EVBUFFER_EOL_CRLF);
        if (e.pos < 0)
            return evbuffer_get_length(src) > c->hs->header_size ? head_too_large(c) : 0;
        if (e.pos == p.pos) {
            if (p.pos == 0) {           /* an empty line before a request: ignored */
                evbuffer_drain(src, eol);
                return 1;
            }
            break;
        }
        if ((size_t)e.pos > c->hs->header_size)
            return head_too_large(c);
        p = e;
        evbuffer_ptr_set(src, &p, eol, EVBUFFER_PTR_ADD);
    }
    hlen = (size_t)e.pos + eol;
    if (hlen > c->hs->header_size)
        return head_too_large(c);
    raw = malloc((size_t)e.pos + 1);
    if (!raw) {
        http_conn_refuse(c, 503, "the server is short of memory", 1);
        return 1;
    }
    evbuffer_copyout(src, raw, (size_t)e.pos);
    evbuffer_drain(c->head, evbuffer_get_length(c->head));
    why = http_head_parse(raw, (size_t)e.pos, &h, c->head);
    r = why == HEAD_OK ? find_route(c->hs, h.method, h.target, h.tlen) : NULL;
    free(raw);          /* H points into it: nothing of H is read below */
    if (why != HEAD_OK)
        return refuse_head(c, src, dst, hlen, why);
    if (h.nomem) {
        http_conn_refuse(c, 503, "the server is short of memory", 1);
        return 1;
    }
    evbuffer_drain(src, hlen);
    c->left = h.chunked ? 0 : h.length;
    if (!r) {
        /* Any other request: its canonical head, the framing as parsed. */
        if (h.expect_continue)
            evbuffer_add(c->head, "Expect: 100-continue\r\n", 22);
        if (h.chunked)
            evbuffer_add(c->head, "Transfer-Encoding: chunked\r\n", 28);
        else if (h.has_length)
            evbuffer_add_printf(c->head, "Content-Length: %llu\r\n",
                                (unsigned long long)h.length);
        evbuffer_add(c->head, "\r\n", 2);
        evbuffer_add_buffer(dst, c->head);
        c->heads++;
        c->st = h.chunked ? S_CHUNK_SIZE : h.length ? S_BODY : S_HEAD;
        return 1;
    }
    c->spooling = 1;
    c->size = 0;
    c->max = r->max_body;
    c->status = 0;
    c->fd = spool_file();
    if (c->fd < 0) {
        log_error("http", "cannot create a spool file: %s", strerror(errno));
        c->status = 500;
    }
    if (!h.chunked && h.length > c->max)
        c->status = 413;
    if (h.expect_continue && c->status == 0 && (h.chunked || h.length)) {
        /* evhttp would say it, but it only sees the head at the end. A
         * client that gets no answer sends the body after a while anyway. */
        if (send(bufferevent_getfd(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25,
                 MSG_NOSIGNAL | MSG_DONTWAIT) != 25)
            log_debug("http", "could not send 100 Continue");
    }
    c->st = h.chunked ? S_CHUNK_SIZE : h.length ? S_BODY : S_HEAD;
    if (c->st == S_HEAD)
        finish(c, dst, 0);
    return 1;
}

void http_spool_frame(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    size_t avail;
    char line[MAX_LINE];
    uint64_t size;
    int rc;

    while ((avail = evbuffer_get_length(src)) > 0) {
        if (c->st == S_DISCARD_ALL) {
            evbuffer_drain(src, avail);
        } else if (c->st == S_HEAD) {
            if (on_head(c, src, dst) == 0)
                break;
        } else if (c->st == S_BODY || c->st == S_CHUNK_DATA) {
            size_t n = avail < c->left ? avail : (size_t)c->left;

            take(c, src, dst, n);
            c->left -= n;
            if (c->left == 0) {
                if (c->st == S_BODY)
                    finish(c, dst, 0);
                else
                    c->st = S_CHUNK_END;
            }
        } else {
            /* Chunked framing: what evhttp gets is written here anew. */
            rc = take_line(src, line, sizeof line);
            if (rc == 0)
                break;
            if (rc < 0) {
                broken(c, dst);
            } else if (c->st == S_CHUNK_SIZE) {
                if (chunk_size(line, &size) != 0) {
                    broken(c, dst);
                } else {
                    if (!c->spooling)
                        evbuffer_add_printf(dst, "%llx\r\n", (unsigned long long)size);
                    c->left = size;
                    c->st = size ? S_CHUNK_DATA : S_TRAILER;
                }
            } else if (c->st == S_CHUNK_END) {
                if (line[0]) {
                    broken(c, dst);
                } else if (!c->spooling) {
                    evbuffer_add(dst, "\r\n", 2);
                    c->st = S_CHUNK_SIZE;
                } else {
                    c->st = S_CHUNK_SIZE;
                }
            } else if (!line[0]) {          /* S_TRAILER: its end; fields dropped */
                if (!c->spooling)
                    evbuffer_add(dst, "\r\n", 2);
                finish(c, dst, 0);
            }
        }
    }
}
