/* Internal to body spooling (core/http/http_spool.c: routes and connections;
 * core/http/http_spool_frame.c: following HTTP/1.1 framing). */
#ifndef RELAIS_HTTP_SPOOL_H
#define RELAIS_HTTP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "http_internal.h"

struct evbuffer;
struct evbuffer_cb_entry;
struct event;
struct event_base;
struct evhttp_connection;

#define SPOOL_HDR  "X-Relais-Spool"
/* A head the filter refused, with its enum head_error (http_head.h). */
#define REFUSE_HDR "X-Relais-Refuse"

struct spool_route {
    int methods;
    char *pattern;
    size_t max_body;
    struct spool_route *next;
};

/* A spooled body whose head has been handed to evhttp. */
struct spool_done {
    unsigned long id;
    int fd, status;
    size_t size, max;
    struct spool_done *next;
};

enum sstate { S_HEAD, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILER,
              S_DISCARD_ALL };

struct spool_conn {
    struct http_server *hs;     /* NULL once the server is freed */
    struct bufferevent *bev;
    /* Connection limits (http_conn.c). TIMER first completes the set-up
     * (HELD: a reference on BEV until then, so that a connection evhttp
     * dropped before it can still be told apart), then runs the request
     * time-out (ARMED) or the grace of a refused connection. */
    struct event *timer;
    int held, armed;
    int refused;                /* answered by the server itself: closing */
    /* The cap (http_conn.c): decided once, before any byte reaches evhttp. */
    int admitted;               /* the decision is made */
    int counted;                /* holds one of limits.connections */
    unsigned heads;             /* request heads handed on to evhttp */
    uint64_t seq;               /* admission order: lower is older */
    unsigned char peer[17];     /* address family, then the address */
    struct evbuffer_cb_entry *cb;   /* on_input, on the bufferevent's input */
    struct evbuffer *pending;   /* read, not yet framed */
    int busy;                   /* on_input is moving bytes: ignore them */
    int watched;                /* the close callback is set */
    enum sstate st;
    uint64_t left;              /* bytes left in the body or the chunk */
    /* The request being spooled. */
    int spooling, fd, status;
    size_t size, max;
    struct evbuffer *head;      /* its rewritten head, without the end */
    unsigned long next_id;
    struct spool_done *done;    /* oldest first */
    struct spool_conn *prev, *next;
};

/* Frames what SRC holds, moving on to DST what evhttp may see: requests
 * of spooled routes as a bare head once their body is in a file (queued
 * on C->done), others as they came. */
void http_spool_frame(struct spool_conn *c, struct evbuffer *src, struct evbuffer *dst);

/* http_spool.c */
void http_spool_conn_free(struct spool_conn *c);
/* Every connection of every server, newest first. */
struct spool_conn *http_spool_conns(void);
void http_spool_on_close(struct evhttp_connection *evcon, void *arg);

/* http_conn.c: one connection's limits. */
/* Counts C and arms its set-up on the next loop turn. 0 or -1. */
int http_conn_start(struct spool_conn *c, struct event_base *base);
/* Decides whether C may take one of the connections of the cap (or takes
 * the place of another's), before the first byte of C is framed; refuses
 * C (503) otherwise. Idempotent. 1 admitted, 0 refused. */
int http_conn_admit(struct spool_conn *c);
/* Undoes http_conn_start (C is being freed). */
void http_conn_end(struct spool_conn *c);
/* After new input was framed: starts or stops the request time-out. */
void http_conn_progress(struct spool_conn *c);
/* Answers STATUS (a problem document; a Retry-After when RETRY > 0)
 * straight on the socket, stops reading C's requests, and closes it. */
void http_conn_refuse(struct spool_conn *c, int status, const char *detail, int retry);

#endif
