/* http_conn — what one connection may take of the server: the cap on open
 * connections and the request time-out (the limits of config.h; see
 * core/http/http.h).
 *
 * libevent 2.1 has no cap on connections and only per-read time-outs, which
 * a client sending one byte now and then never trips (slowloris). Both are
 * kept here, on the per-connection record of body spooling (http_spool.c),
 * which sees every connection from its accept (make_bev) and every byte
 * before evhttp does.
 *
 * The cap is decided for every connection before any of its bytes reaches
 * evhttp (http_conn_admit: on its first input, or on the first loop turn
 * after the accept if it sends nothing), so a client that sends one byte
 * and stalls holds a place like any other, never one more. Over the cap,
 * one address may not starve the others: a newcomer takes the place of the
 * oldest connection of the address holding the most connections, when that
 * address holds more than the newcomer's and that connection has not yet
 * handed a complete request to evhttp (so nothing of it is being answered);
 * otherwise the newcomer is refused. A flood from one address then only
 * ever displaces its own connections.
 *
 * A connection is refused by answering straight on its socket (evhttp has
 * seen no complete request of it, so none of its replies can interleave),
 * reading and dropping whatever else comes, half-closing so the client sees
 * the answer then the end, and a second later shutting the socket down
 * completely: evhttp then reads the end of the stream and frees the
 * connection its usual way, which keeps any request of it that a handler
 * still holds (http_defer) valid.
 */
#include <netinet/in.h>
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
#include "log.h"
#include "metrics.h"

#define GRACE_SECS 1

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* --- live connections per address ------------------------------------------- */

/* An open-addressing table (linear probing, deletion by backward shift)
 * of the addresses holding places of the cap: max_conns keys fit in twice
 * as many slots or more, and it never holds more keys than half its slots
 * (a probe always ends on a free one), even when a reload raised the cap
 * and no memory was left to grow it (http_conn_limits_changed). */
struct peer_slot {
    unsigned char key[17];
    int n;                        /* 0: a free slot */
};

struct conn_peers {
    size_t mask;
    size_t used;                  /* slots holding a key */
    struct peer_slot slot[];
};

static size_t peer_hash(const unsigned char *k)
{
    size_t h = 1469598103934665603ULL;

    for (int i = 0; i < 17; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    return h;
}

/* Slots for HS's cap: a power of two, twice the cap or more. */
static size_t peer_slots(const struct http_server *hs)
{
    size_t n = 64;

    while (n < (size_t)hs->max_conns * 2 + 2)
        n *= 2;
    return n;
}

static struct conn_peers *peers_of(struct http_server *hs)
{
    size_t n = peer_slots(hs);

    if (hs->peers)
        return hs->peers;
    hs->peers = calloc(1, sizeof *hs->peers + n * sizeof(struct peer_slot));
    if (hs->peers)
        hs->peers->mask = n - 1;
    return hs->peers;
}

static struct peer_slot *peer_find(struct conn_peers *t, const unsigned char *k)
{
    size_t i = peer_hash(k) & t->mask;

    while (t->slot[i].n && memcmp(t->slot[i].key, k, 17) != 0)
        i = (i + 1) & t->mask;
    return &t->slot[i];
}

static int peer_count(struct http_server *hs, const unsigned char *k)
{
    return hs->peers ? peer_find(hs->peers, k)->n : 0;
}

static void peer_add(struct http_server *hs, const unsigned char *k)
{
    struct conn_peers *t = peers_of(hs);
    struct peer_slot *e;

    if (!t)
        return;   /* fairness is lost, never the cap itself */
    e = peer_find(t, k);
    if (!e->n) {
        if ((t->used + 1) * 2 > t->mask + 1)
            return;   /* full (a reload raised the cap, no memory to grow) */
        memcpy(e->key, k, 17);
        t->used++;
    }
    e->n++;
}

static void peer_remove(struct http_server *hs, const unsigned char *k)
{
    struct conn_peers *t = hs->peers;
    struct peer_slot *e;
    size_t i, j;

    if (!t || !(e = peer_find(t, k))->n || --e->n > 0)
        return;
    /* Backward shift: later keys of the probe chain move into the hole. */
    i = (size_t)(e - t->slot);
    for (j = (i + 1) & t->mask; t->slot[j].n; j = (j + 1) & t->mask) {
        size_t home = peer_hash(t->slot[j].key) & t->mask;

        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->slot[i] = t->slot[j];
            i = j;
        }
    }
    t->slot[i].n = 0;
    t->used--;
}

int http_conn_limits_changed(struct http_server *hs)
{
    struct conn_peers *old = hs->peers, *t;
    size_t n = peer_slots(hs);

    if (!old || n <= old->mask + 1)
        return 0;   /* a smaller cap: newcomers wait until enough have gone */
    t = calloc(1, sizeof *t + n * sizeof(struct peer_slot));
    if (!t)
        return -1;
    t->mask = n - 1;
    for (size_t i = 0; i <= old->mask; i++)
        if (old->slot[i].n) {
            *peer_find(t, old->slot[i].key) = old->slot[i];
            t->used++;
        }
    free(old);
    hs->peers = t;
    return 0;
}

void http_conn_free_peers(struct http_server *hs)
{
    free(hs->peers);
    hs->peers = NULL;
}

/* C no longer holds a place (closing, or refused). */
static void release(struct spool_conn *c)
{
    if (!c->counted)
        return;
    c->counted = 0;
    if (c->hs) {
        c->hs->nlive--;
        peer_remove(c->hs, c->peer);
    }
}

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
    release(c);
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
    c->admitted = 1;
    release(c);
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
    /* Before its set-up the timer is the set-up's, which arms the grace. */
    if (c->timer && !c->held) {
        evtimer_del(c->timer);
        c->armed = 0;
        evtimer_add(c->timer, &grace);
    }
}

/* The address of C's peer as a table key (all zero when unknown: those
 * share one). */
static void peer_key(struct spool_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    memset(c->peer, 0, sizeof c->peer);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        c->peer[0] = 4;
        memcpy(c->peer + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        c->peer[0] = 6;
        memcpy(c->peer + 1, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    }
}

/* The connection whose place a newcomer from C's address may take: of the
 * addresses holding more places than C's, the one holding the most; its
 * oldest connection that has handed no request to evhttp. NULL: none. */
static struct spool_conn *victim_for(struct spool_conn *c)
{
    struct spool_conn *best = NULL;
    int mine = peer_count(c->hs, c->peer), best_n = 0;

    for (struct spool_conn *o = http_spool_conns(); o; o = o->next) {
        int n;

        if (o == c || o->hs != c->hs || !o->counted || o->refused || o->heads > 0 ||
            memcmp(o->peer, c->peer, sizeof c->peer) == 0)
            continue;
        /* Taking one of N places leaves N - 1 ≥ the newcomer's mine + 1. */
        n = peer_count(c->hs, o->peer);
        if (n < mine + 2)
            continue;
        if (!best || n > best_n || (n == best_n && o->seq < best->seq)) {
            best = o;
            best_n = n;
        }
    }
    return best;
}

int http_conn_admit(struct spool_conn *c)
{
    struct http_server *hs = c->hs;
    struct spool_conn *victim;

    if (c->admitted)
        return !c->refused;
    c->admitted = 1;
    if (!hs)
        return 1;
    peer_key(c);
    if (hs->nlive >= hs->max_conns) {
        victim = victim_for(c);
        if (!victim) {
            metrics_count("http_refused_total", "reason", "connections", 1);
            http_conn_refuse(c, 503, "too many connections are open; try again shortly", 1);
            return 0;
        }
        metrics_count("http_refused_total", "reason", "connections_displaced", 1);
        http_conn_refuse(victim, 503, "too many connections from your address are open; "
                         "try again shortly", 1);
    }
    c->counted = 1;
    c->seq = ++hs->admitted;
    hs->nlive++;
    peer_add(hs, c->peer);
    return 1;
}

/* The first turn after the accept: evhttp has made the connection (or
 * dropped it already). From here its close callback frees C. */
static void set_up(struct spool_conn *c)
{
    struct bufferevent *bev = c->bev;
    void *evcon = NULL;
    struct timeval grace = {GRACE_SECS, 0};

    bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
    if (!evcon) {
        /* Freed without a byte read: nothing would ever free C. */
        http_spool_conn_free(c);
        return;
    }
    if (!c->watched) {
        evhttp_connection_set_closecb(evcon, http_spool_on_close, c);
        c->watched = 1;
    }
    c->held = 0;
    bufferevent_decref(bev);
    /* A connection that sent nothing yet is judged now. */
    http_conn_admit(c);
    if (c->refused) {
        evtimer_add(c->timer, &grace);
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
