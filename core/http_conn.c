/* http_conn — what one connection may take of the server: the cap on open
 * connections and the request time-out (the limits of config.h; see
 * include/relais/http.h).
 *
 * libevent 2.1 has no cap on connections and only per-read time-outs, which
 * a client sending one byte now and then never trips (slowloris). Both are
 * kept here, on the per-connection record of body spooling (http_spool.c),
 * which sees every connection from its accept (make_bev) and every byte
 * before evhttp does.
 *
 * A connection is refused by answering straight on its socket (evhttp has
 * seen no complete request of it, so none of its replies can interleave),
 * reading and dropping whatever else comes, half-closing so the client sees
 * the answer then the end, and a second later shutting the socket down
 * completely: evhttp then reads the end of the stream and frees the
 * connection its usual way, which keeps any request of it that a handler
 * still holds (http_defer) valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http_spool_internal.h"
#include "relais/log.h"
#include "relais/metrics.h"

#define GRACE_SECS 1

static void on_timer(evutil_socket_t fd, short what, void *arg);

int http_conn_start(struct spool_conn *c, struct event_base *base)
{
    static const struct timeval now = {0, 0};

    c->timer = evtimer_new(base, on_timer, c);
    if (!c->timer || evtimer_add(c->timer, &now) != 0) {
        if (c->timer)
            event_free(c->timer);
        c->timer = NULL;
        return -1;
    }
    /* evhttp makes the connection only once this returns; until the timer
     * has seen it, the reference keeps the bufferevent readable. */
    bufferevent_incref(c->bev);
    c->held = 1;
    c->hs->nconns++;
    /* opened - closed = open now; a gap that grows is a leak. */
    metrics_count("http_connections_total", "event", "opened", 1);
    return 0;
}

void http_conn_end(struct spool_conn *c)
{
    if (c->timer)
        event_free(c->timer);
    c->timer = NULL;
    if (c->hs)
        c->hs->nconns--;
    metrics_count("http_connections_total", "event", "closed", 1);
    if (c->held) {
        c->held = 0;
        bufferevent_decref(c->bev);
    }
}

/* Between requests, or with a head evhttp will answer and close on: no
 * time-out of ours (evhttp's idle one applies). */
static int receiving(const struct spool_conn *c)
{
    if (c->refused || c->st == S_DISCARD_ALL)
        return 0;
    return c->st != S_HEAD || evbuffer_get_length(c->pending) > 0;
}

void http_conn_progress(struct spool_conn *c)
{
    struct timeval tv = {c->hs ? c->hs->request_timeout : 60, 0};

    if (c->held || c->refused || !c->timer)
        return;   /* the set-up or the grace owns the timer */
    if (receiving(c) && !c->armed) {
        if (evtimer_add(c->timer, &tv) == 0)
            c->armed = 1;
    } else if (!receiving(c) && c->armed) {
        evtimer_del(c->timer);
        c->armed = 0;
    }
}

static int answer(char *buf, size_t cap, int status, const char *detail, int retry)
{
    cJSON *doc = http_problem_doc(status, detail, NULL);
    char *body = doc ? cJSON_PrintUnformatted(doc) : NULL;
    char ra[40] = "";
    int n = -1;

    if (!body)
        goto out;
    if (retry > 0)
        snprintf(ra, sizeof ra, "Retry-After: %d\r\n", retry);
    n = snprintf(buf, cap, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
                 "Content-Length: %zu\r\nX-Content-Type-Options: nosniff\r\n%s"
                 "Connection: close\r\n\r\n%s", status, http_status_title(status),
                 strlen(body), ra, body);
    if (n < 0 || (size_t)n >= cap)
        n = -1;
out:
    free(body);
    cJSON_Delete(doc);
    return n;
}

void http_conn_refuse(struct spool_conn *c, int status, const char *detail, int retry)
{
    struct timeval grace = {GRACE_SECS, 0};
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    char buf[1024];
    int n;

    if (c->refused)
        return;
    c->refused = 1;
    c->st = S_DISCARD_ALL;
    if (c->spooling) {
        c->spooling = 0;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        evbuffer_drain(c->head, evbuffer_get_length(c->head));
    }
    /* A reply evhttp is still writing would be cut: then no answer. */
    n = answer(buf, sizeof buf, status, detail, retry);
    if (fd >= 0 && n > 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
        send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        log_debug("http", "could not send a %d before closing", status);
    if (fd >= 0)
        shutdown(fd, SHUT_WR);
    /* Counted in /metrics; a flood must not flood the log too. */
    log_debug("http", "connection refused: %d", status);
    if (c->timer) {
        evtimer_del(c->timer);
        c->armed = 0;
        evtimer_add(c->timer, &grace);
    }
}

/* The first turn after the accept: evhttp has made the connection (or
 * dropped it already). From here its close callback frees C. */
static void set_up(struct spool_conn *c)
{
    struct bufferevent *bev = c->bev;
    void *evcon = NULL;
    int fresh = !c->watched;

    bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
    if (!evcon) {
        /* Freed without a byte read: nothing would ever free C. */
        spool_conn_free(c);
        return;
    }
    if (!c->watched) {
        evhttp_connection_set_closecb(evcon, spool_on_close, c);
        c->watched = 1;
    }
    c->held = 0;
    bufferevent_decref(bev);
    /* Over the cap, unless bytes came already: evhttp may hold a request
     * of it, whose answer must not be followed by ours. */
    if (fresh && c->hs && c->hs->nconns > c->hs->max_conns) {
        metrics_count("http_refused_total", "reason", "connections", 1);
        http_conn_refuse(c, 503, "too many connections are open; try again shortly", 1);
        return;
    }
    http_conn_progress(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct spool_conn *c = arg;
    evutil_socket_t sock;

    (void)fd;
    (void)what;
    if (c->held) {
        set_up(c);
        return;
    }
    if (c->refused) {
        /* The client has not closed within the grace: end it now. */
        sock = bufferevent_getfd(c->bev);
        if (sock >= 0)
            shutdown(sock, SHUT_RDWR);
        return;
    }
    c->armed = 0;
    metrics_count("http_refused_total", "reason", "request_timeout", 1);
    http_conn_refuse(c, 408, "the request took too long to arrive", 0);
}
