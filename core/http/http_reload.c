/* http_reload — the limits of a running server, set at start and changed by
 * a configuration reload (http_server_set_limits in core/http/http.h).
 *
 * Every limit is read where it is enforced, at the moment it is enforced
 * (http_conn.c, http_spool_frame.c, http_guard.c), so changing the fields
 * of struct http_server is enough for what comes next; evhttp keeps copies
 * of three of them, handed over here. Requests already in flight keep the
 * time-outs they started with. */
#include "http.h"

#include <event2/http.h>

#include "http_internal.h"
#include "config.h"
#include "log.h"
#include "ratelimit.h"

#define EVHTTP_HARD_LIMIT ((size_t)256 << 20)

void http_apply_sizes(struct http_server *hs)
{
    size_t hard;

    /* evhttp answers a body over its own limit with a fixed HTML 413 that
     * libevent 2.1 gives no hook to change. So evhttp's hard limit is set
     * at four times ours (a bounded buffer per connection), and read_body
     * answers the usual case, a body somewhat over the limit, with a
     * problem document; only grossly oversized bodies get evhttp's page,
     * still with status 413. */
    hard = hs->body_limit > EVHTTP_HARD_LIMIT / 4 ? EVHTTP_HARD_LIMIT : hs->body_limit * 4;
    if (hard < hs->body_limit + 65536)
        hard = hs->body_limit + 65536;
    evhttp_set_max_body_size(hs->http, (ev_ssize_t)hard);
    /* The spooling filter answers a head over the limit with 431 before
     * evhttp sees it; evhttp's own limit is for what the filter passes on
     * unframed. Its time-out is the idle one: reads and writes that stall,
     * keep-alive connections between requests (http_conn.c times whole
     * requests). */
    evhttp_set_max_headers_size(hs->http, (ev_ssize_t)hs->header_size);
    evhttp_set_timeout(hs->http, hs->idle_timeout);
}

/* *RL at the new rates, or a new table when the number of clients it
 * remembers changed. -1 (and *RL at the new rates) when that table could
 * not be made. */
static int retable(struct ratelimit **rl, size_t clients, int per_minute, int burst)
{
    struct ratelimit *fresh;

    if (*rl && ratelimit_capacity(*rl) == (clients + 7) / 8 * 8)
        return ratelimit_set_rates(*rl, per_minute, burst);
    fresh = ratelimit_new(clients, per_minute, burst);
    if (!fresh) {
        if (*rl)
            ratelimit_set_rates(*rl, per_minute, burst);
        return -1;
    }
    ratelimit_free(*rl);
    *rl = fresh;
    return 0;
}

int http_server_set_limits(struct http_server *hs, const struct config *cfg)
{
    const struct config_limits *l = &cfg->limits;
    int rc = 0;

    hs->body_limit = cfg->body_limit;
    hs->header_size = l->header_size;
    hs->max_conns = l->connections;
    hs->request_timeout = l->request_timeout;
    hs->idle_timeout = l->idle_timeout;
    http_apply_sizes(hs);
    /* The cap is decided at accept (http_conn_admit) from max_conns: its
     * table of connections per address must hold the new cap's. */
    if (http_conn_limits_changed(hs) != 0) {
        log_error("http", "out of memory for the connections of %d clients: a newcomer's "
                  "address may displace others less fairly", l->connections);
        rc = -1;
    }
    if (retable(&hs->pages_rl, (size_t)l->clients, l->pages_per_minute, l->pages_burst) != 0)
        rc = -1;
    if (retable(&hs->auth_rl, (size_t)l->clients, l->auth_failures, l->auth_failures) != 0)
        rc = -1;
    if (rc != 0)
        log_error("http", "out of memory for the rate limits of %d clients: the old "
                  "tables stay, at the new rates", l->clients);
    return rc;
}
