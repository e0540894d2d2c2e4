/* The front request parser (core/http/http_spool_frame.c and core/http/http_head.c):
 * the bytes of one connection, cut into reads where the input says, go
 * through the filter as the server's on_input feeds it, with one spooled
 * route (POST /up/{x}, 64 bytes at most). What it hands on is what evhttp
 * would read; it must itself be a stream the filter takes as it is: read
 * again by a second filter (no spooled route), every head is accepted
 * (none holds a NUL, a stray CR, a second framing…), as many heads go
 * through, and the second ends where the first did. Never a crash, a leak
 * or undefined behaviour. The first byte sets the read size (1–64). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http_spool_internal.h"

static struct event_base *base;

static struct spool_conn *conn(struct http_server *hs)
{
    struct spool_conn *c = calloc(1, sizeof *c);

    if (!c)
        abort();
    c->hs = hs;
    c->fd = -1;
    c->head = evbuffer_new();
    c->pending = evbuffer_new();
    c->bev = bufferevent_socket_new(base, -1, 0);
    if (!c->head || !c->pending || !c->bev)
        abort();
    c->admitted = 1;
    return c;
}

static void conn_free(struct spool_conn *c)
{
    struct bufferevent *bev = c->bev;

    c->hs = NULL;
    http_spool_conn_free(c);
    bufferevent_free(bev);
}

/* Feeds DATA to C in reads of STEP bytes, into OUT. */
static void feed(struct spool_conn *c, const unsigned char *data, size_t size, size_t step,
                 struct evbuffer *out)
{
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;

        if (evbuffer_add(c->pending, data + off, n) != 0)
            abort();
        http_spool_frame(c, c->pending, out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_server hs1, hs2;
    static struct spool_route up = {HTTP_POST, "/up/{x}", 64, NULL};
    struct spool_conn *a, *b;
    struct evbuffer *out1, *out2;
    unsigned char *copy;
    size_t n;

    if (size < 1)
        return 0;
    if (!base && !(base = event_base_new()))
        abort();
    hs1.header_size = 2048;
    hs1.spools = &up;
    hs2.header_size = 1 << 20;
    out1 = evbuffer_new();
    out2 = evbuffer_new();
    if (!out1 || !out2)
        abort();
    a = conn(&hs1);
    feed(a, data + 1, size - 1, (size_t)(data[0] % 64) + 1, out1);

    /* What the first handed on, read again in one go and in small reads. */
    n = evbuffer_get_length(out1);
    copy = malloc(n + 1);
    if (!copy || evbuffer_copyout(out1, copy, n) != (ev_ssize_t)n)
        abort();
    for (size_t step = n + 1; ; step = 7) {
        b = conn(&hs2);
        feed(b, copy, n, step, out2);
        if (b->refused || b->st == S_DISCARD_ALL)
            abort();                      /* a head or a chunk it made is refused */
        if (b->heads != a->heads)
            abort();
        if (!a->refused && a->st != S_DISCARD_ALL && !a->spooling &&
            (b->st != a->st || b->left != a->left))
            abort();
        evbuffer_drain(out2, evbuffer_get_length(out2));
        conn_free(b);
        if (step == 7)
            break;
    }
    free(copy);
    conn_free(a);
    evbuffer_free(out1);
    evbuffer_free(out2);
    /* libevent frees a bufferevent on the loop's next turn (a finalizer). */
    event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}
