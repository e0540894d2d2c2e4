/* http_spool_frame — following HTTP/1.1 framing on a connection's input
 * for body spooling (see core/http_spool.c): request heads, Content-Length
 * and chunked bodies, the temporary files. */
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

#include "http_spool_internal.h"
#include "relais/log.h"
#include "relais/metrics.h"

#define MAX_LINE   4096

static const struct {
    const char *name;
    int method;
} smethods[] = {
    {"GET", HTTP_GET}, {"POST", HTTP_POST}, {"PUT", HTTP_PUT},
    {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
};

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

static const struct spool_route *find_route(struct http_server *hs, const char *line)
{
    const char *sp = strchr(line, ' '), *target, *q;
    int method = 0;
    size_t ml;

    if (!sp)
        return NULL;
    ml = (size_t)(sp - line);
    for (size_t i = 0; i < sizeof smethods / sizeof smethods[0]; i++)
        if (strlen(smethods[i].name) == ml && memcmp(line, smethods[i].name, ml) == 0)
            method = smethods[i].method;
    target = sp + 1;
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0)
        target = strchr(strstr(target, "://") + 3, '/');
    if (!method || !target || target[0] != '/')
        return NULL;
    q = target + strcspn(target, "? ");
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
    if (close_after)
        c->st = S_DISCARD_ALL;
}

/* Framing the filter cannot follow: a spooled request ends as a 400,
 * anything else goes on to evhttp as it is. */
static void broken(struct spool_conn *c, struct evbuffer *dst)
{
    if (c->spooling) {
        if (c->status == 0)
            c->status = 400;
        finish(c, dst, 1);
    } else {
        c->st = S_PASS_ALL;
    }
}

/* One line of SRC into BUF (CAP bytes). 1 read, 0 needs more, -1 too long.
 * Its bytes go to DST unless spooling. */
static int take_line(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst,
                     char *buf, size_t cap)
{
    size_t eol;
    struct evbuffer_ptr e = evbuffer_search_eol(src, NULL, &eol, EVBUFFER_EOL_CRLF);

    if (e.pos < 0)
        return evbuffer_get_length(src) > MAX_LINE ? -1 : 0;
    if ((size_t)e.pos >= cap)
        return -1;
    evbuffer_copyout(src, buf, (size_t)e.pos);
    buf[e.pos] = '\0';
    if (c->spooling)
        evbuffer_drain(src, (size_t)e.pos + eol);
    else
        evbuffer_remove_buffer(src, dst, (size_t)e.pos + eol);
    return 1;
}

static int chunk_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;

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

/* The head of a request: the framing of its body, and whether it is
 * spooled. 1 handled, 0 needs more input. */
static int on_head(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    struct evbuffer_ptr p, e;
    size_t eol, hlen;
    char *head = NULL, *line, *save = NULL;
    const struct spool_route *r = NULL;
    int chunked = 0, bad = 0, expect = 0, ncl = 0;
    uint64_t cl = 0;

    evbuffer_ptr_set(src, &p, 0, EVBUFFER_PTR_SET);
    for (;;) {
        e = evbuffer_search_eol(src, &p, &eol, EVBUFFER_EOL_CRLF);
        if (e.pos < 0)
            return evbuffer_get_length(src) > c->hs->header_size ? head_too_large(c) : 0;
        if (e.pos == p.pos) {
            if (p.pos == 0) {           /* an empty line before a request */
                evbuffer_remove_buffer(src, dst, eol);
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
    head = malloc((size_t)e.pos + 1);
    if (!head) {
        c->st = S_PASS_ALL;
        return 1;
    }
    evbuffer_copyout(src, head, (size_t)e.pos);
    head[e.pos] = '\0';
    for (line = strtok_r(head, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        char *colon, *v;

        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (line == head) {
            r = find_route(c->hs, line);
            if (r)
                evbuffer_add_printf(c->head, "%s\r\n", line);
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t' || !(colon = strchr(line, ':'))) {
            bad = 1;   /* obsolete folding or no name: evhttp decides */
            break;
        }
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *end;

            errno = 0;
            uint64_t x = strtoull(v, &end, 10);
            while (*end == ' ' || *end == '\t')
                end++;
            if (errno || *end || !(*v >= '0' && *v <= '9') || (ncl++ && x != cl))
                bad = 1;
            cl = x;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            size_t vl = strlen(v);

            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl == 7 && strncasecmp(v, "chunked", 7) == 0 && !chunked)
                chunked = 1;
            else
                bad = 1;
        } else if (strcasecmp(line, "Expect") == 0) {
            expect = strncasecmp(v, "100-continue", 12) == 0;
        } else if (r && strcasecmp(line, SPOOL_HDR) != 0) {
            evbuffer_add_printf(c->head, "%s: %s\r\n", line, v);
        }
    }
    free(head);
    if (bad || !r) {
        evbuffer_drain(c->head, evbuffer_get_length(c->head));
        evbuffer_remove_buffer(src, dst, hlen);
        c->st = bad ? S_PASS_ALL : chunked ? S_CHUNK_SIZE : cl ? S_BODY : S_HEAD;
        c->left = cl;
        return 1;
    }
    evbuffer_drain(src, hlen);
    c->spooling = 1;
    c->size = 0;
    c->max = r->max_body;
    c->status = 0;
    c->fd = spool_file();
    if (c->fd < 0) {
        log_error("http", "cannot create a spool file: %s", strerror(errno));
        c->status = 500;
    }
    if (!chunked && cl > c->max)
        c->status = 413;
    if (expect && c->status == 0 && (chunked || cl)) {
        /* evhttp would say it, but it only sees the head at the end. A
         * client that gets no answer sends the body after a while anyway. */
        if (send(bufferevent_getfd(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25,
                 MSG_NOSIGNAL | MSG_DONTWAIT) != 25)
            log_debug("http", "could not send 100 Continue");
    }
    c->left = cl;
    c->st = chunked ? S_CHUNK_SIZE : cl ? S_BODY : S_HEAD;
    if (c->st == S_HEAD)
        finish(c, dst, 0);
    return 1;
}

void spool_frame(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    size_t avail;
    char line[MAX_LINE];
    uint64_t size;
    int rc;

    while ((avail = evbuffer_get_length(src)) > 0) {
        if (c->st == S_PASS_ALL) {
            evbuffer_remove_buffer(src, dst, avail);
        } else if (c->st == S_DISCARD_ALL) {
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
            rc = take_line(c, src, dst, line, sizeof line);
            if (rc == 0)
                break;
            if (rc < 0) {
                broken(c, dst);
            } else if (c->st == S_CHUNK_SIZE) {
                if (chunk_size(line, &size) != 0) {
                    broken(c, dst);
                } else {
                    c->left = size;
                    c->st = size ? S_CHUNK_DATA : S_TRAILER;
                }
            } else if (c->st == S_CHUNK_END) {
                if (line[0])
                    broken(c, dst);
                else
                    c->st = S_CHUNK_SIZE;
            } else if (!line[0]) {          /* S_TRAILER: its end */
                finish(c, dst, 0);
            }
        }
    }
}
