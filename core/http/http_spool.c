/* http_spool — the bodies of chosen routes go to an unlinked temporary
 * file as they arrive, never into memory (see http_spool in
 * core/http/http.h).
 *
 * libevent 2.1 gives no hook on an incoming request before its body is
 * read (evhttp_set_newreqcb came with 2.2). So the server makes each
 * connection's bufferevent itself (evhttp_set_bevcb) and watches its input
 * buffer: the bytes the socket reads are framed (http_spool_frame.c)
 * before evhttp looks at them. A request for a spooled route has its body
 * (Content-Length or chunked) written to a temporary file as it comes,
 * then evhttp gets the head alone, rewritten with "Content-Length: 0" and
 * an X-Relais-Spool header naming the finished file, which on_request
 * takes with http_spool_take. Other requests go on with their head in
 * canonical form and their body as it came (http_spool_frame.c: this
 * filter is the one parser of request heads; a head it refuses ends the
 * connection with a 400). A head over limits.header_size is answered 431
 * here.
 *
 * The per-connection record (struct spool_conn) also carries the
 * connection limits of http_conn.c, and lives exactly as long as evhttp's
 * connection: evhttp's close callback frees it, set on the first loop turn
 * after the accept, so that a connection which never sends a byte is freed
 * too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "http_head.h"
#include "http_spool_internal.h"
#include "log.h"

/* Every connection made by make_bev, of every server. */
static struct spool_conn *conns;

static void unlink_conn(struct spool_conn *c);

/* --- routes ------------------------------------------------------------------ */

int http_spool(struct http_server *hs, int methods, const char *pattern, size_t max_body)
{
    struct spool_route *r = calloc(1, sizeof *r);

    if (!r || !pattern || pattern[0] != '/' || !(r->pattern = strdup(pattern))) {
        free(r);
        log_error("http", "cannot spool route %s", pattern ? pattern : "(null)");
        return -1;
    }
    r->methods = methods;
    r->max_body = max_body;
    r->next = hs->spools;
    hs->spools = r;
    return 0;
}

void http_spool_remove(struct http_server *hs, int methods, const char *pattern)
{
    for (struct spool_route **p = &hs->spools; *p; p = &(*p)->next) {
        if ((*p)->methods == methods && strcmp((*p)->pattern, pattern) == 0) {
            struct spool_route *r = *p;

            *p = r->next;
            free(r->pattern);
            free(r);
            return;
        }
    }
}

void http_spool_free(struct http_server *hs)
{
    for (struct spool_conn *c = conns, *next; c; c = next) {
        next = c->next;
        /* evhttp_free has freed the connections and told us of each, but
         * for one accepted on this very loop turn, not yet set up: its
         * bufferevent lives on by the reference it holds. */
        if (c->hs == hs) {
            if (!c->held)
                c->cb = NULL;
            http_spool_conn_free(c);
        }
    }
    while (hs->spools) {
        struct spool_route *r = hs->spools;

        hs->spools = r->next;
        free(r->pattern);
        free(r);
    }
}

/* --- connections --------------------------------------------------------------------- */

struct spool_conn *http_spool_conns(void)
{
    return conns;
}

static void unlink_conn(struct spool_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (conns == c)
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

void http_spool_conn_free(struct spool_conn *c)
{
    unlink_conn(c);
    if (c->cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->cb);
    /* Last: it may drop the bufferevent's last reference. */
    http_conn_end(c);
    while (c->done) {
        struct spool_done *d = c->done;

        c->done = d->next;
        if (d->fd >= 0)
            close(d->fd);
        free(d);
    }
    if (c->fd >= 0)
        close(c->fd);
    if (c->head)
        evbuffer_free(c->head);
    if (c->pending)
        evbuffer_free(c->pending);
    free(c);
}

void http_spool_on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    http_spool_conn_free(arg);
}

/* Bytes the socket read are appended to the bufferevent's input, which
 * evhttp reads after this callback: the new bytes (its tail) are taken out
 * and put back once framed — non-spooled requests as they came, spooled
 * ones as a bare head once their body is in the file — and what cannot be
 * judged yet (a head still partial) waits in PENDING, out of evhttp's
 * sight. The socket side stays an ordinary bufferevent, so replies and
 * closing are evhttp's usual ones. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct spool_conn *c = arg;
    size_t len = evbuffer_get_length(in), front;
    struct evbuffer *keep;
    void *cbarg = NULL;

    if (c->busy || info->n_added == 0 || info->n_added > len)
        return;
    if (!c->watched) {
        /* evhttp set its callbacks, with the connection as their argument,
         * before the first byte could arrive. */
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
        if (cbarg) {
            evhttp_connection_set_closecb(cbarg, http_spool_on_close, c);
            c->watched = 1;
        }
    }
    /* The cap is decided before a byte of C goes further; a refused
     * connection's bytes are dropped by the framing from here on. */
    if (!c->admitted)
        http_conn_admit(c);
    c->busy = 1;
    front = len - info->n_added;
    keep = evbuffer_new();
    if (!keep || evbuffer_remove_buffer(in, keep, front) != (int)front ||
        evbuffer_add_buffer(c->pending, in) != 0) {
        /* Cannot frame: nothing unparsed may reach evhttp, so the new
         * bytes go and the connection ends. */
        log_error("http", "cannot frame a request: out of memory");
        evbuffer_drain(c->pending, evbuffer_get_length(c->pending));
        evbuffer_drain(in, evbuffer_get_length(in));
        if (keep)
            evbuffer_add_buffer(in, keep);
        http_conn_refuse(c, 503, "the server is short of memory", 1);
    } else {
        evbuffer_add_buffer(in, keep);
        http_spool_frame(c, c->pending, in);
    }
    if (keep)
        evbuffer_free(keep);
    c->busy = 0;
    http_conn_progress(c);
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    struct http_server *hs = arg;
    struct spool_conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = NULL;

    if (!c || !(c->head = evbuffer_new()) || !(c->pending = evbuffer_new()))
        goto fail;
    c->hs = hs;
    c->fd = -1;
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        goto fail;
    c->bev = bev;
    c->cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    if (!c->cb || http_conn_start(c, base) != 0)
        goto fail;
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    return bev;
fail:
    /* evhttp then makes its own bufferevent: this connection spools nothing. */
    log_error("http", "cannot set up body spooling for a connection");
    if (bev)
        bufferevent_free(bev);
    if (c && c->head)
        evbuffer_free(c->head);
    if (c && c->pending)
        evbuffer_free(c->pending);
    free(c);
    return NULL;
}

void http_spool_setup(struct http_server *hs)
{
    evhttp_set_bevcb(hs->http, make_bev, hs);
}

static struct spool_conn *find_conn(struct http_server *hs, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

    for (struct spool_conn *c = conns; bev && c; c = c->next)
        if (c->bev == bev && c->hs == hs)
            return c;
    return NULL;
}

int http_spool_take(struct http_server *hs, struct evhttp_request *ev, int *fd,
                    size_t *size, size_t *max)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(ev);
    const char *h = evhttp_find_header(in, SPOOL_HDR);
    struct spool_conn *c;
    unsigned long id;
    char *end;
    int status;

    if (!h)
        return 0;
    /* Only now: finding the connection walks the list of all of them. */
    c = find_conn(hs, ev);
    errno = 0;
    id = strtoul(h, &end, 10);
    if (errno || *end || end == h)
        id = (unsigned long)-1;
    evhttp_remove_header(in, SPOOL_HDR);
    if (c) {
        for (struct spool_done **p = &c->done; *p; p = &(*p)->next) {
            struct spool_done *d = *p;

            if (d->id != id)
                continue;
            *p = d->next;
            status = d->status;
            *fd = d->fd;
            *size = d->size;
            *max = d->max;
            free(d);
            if (status == 0 && lseek(*fd, 0, SEEK_SET) != 0)
                status = 500;
            if (status != 0) {
                if (*fd >= 0)
                    close(*fd);
                *fd = -1;
                return status;
            }
            return 1;
        }
    }
    return 0;
}

int http_spool_refused(struct evhttp_request *ev, int *status, const char **detail)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(ev), REFUSE_HDR);
    char *end;
    long why;

    if (!h)
        return 0;
    why = strtol(h, &end, 10);
    *status = http_head_status((enum head_error)why);
    *detail = http_head_detail((enum head_error)why);
    if (*end || *status == 0) {
        *status = 400;
        *detail = "the request is malformed";
    }
    return 1;
}
