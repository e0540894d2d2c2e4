/* http_client — who sent a request: the peer, or the client a trusted
 * reverse proxy forwarded (http_client_addr in core/http/http.h; the
 * rules are proxy.h's). Worked out once per request, on first use, so
 * requests that no per-client limit looks at pay nothing. */
#include "http.h"

#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "app.h"
#include "config.h"
#include "proxy.h"

_Static_assert(sizeof ((struct http_req *)0)->client >= PROXY_ADDR_TEXT,
               "http_req.client holds an address as proxy_client writes it");

/* The X-Forwarded-For values of EV, the last PROXY_MAX_HOPS of them (each
 * holds one entry at least, so earlier ones are never reached), in order. */
static size_t forwarded(struct evhttp_request *ev, const char **out)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(ev);
    struct evkeyval *kv;
    size_t total = 0, n = 0;

    if (!h)
        return 0;
    TAILQ_FOREACH(kv, h, next)
        total += strcasecmp(kv->key, "X-Forwarded-For") == 0;
    TAILQ_FOREACH(kv, h, next) {
        if (strcasecmp(kv->key, "X-Forwarded-For") != 0)
            continue;
        if (total-- <= PROXY_MAX_HOPS)
            out[n++] = kv->value;
    }
    return n;
}

const char *http_client_addr(struct http_req *req)
{
    const struct config *cfg = req->app ? req->app->cfg : NULL;
    struct evhttp_connection *evcon;
    const char *xff[PROXY_MAX_HOPS];
    char *peer = NULL;
    ev_uint16_t port = 0;
    size_t n = 0;

    if (req->client[0])
        return req->client;
    evcon = req->ev ? evhttp_request_get_connection(req->ev) : NULL;
    if (evcon)
        evhttp_connection_get_peer(evcon, &peer, &port);
    /* Without trusted proxies the header is not even read: nobody can
     * choose their own address by sending it. */
    if (cfg && cfg->n_trusted_proxies && req->ev)
        n = forwarded(req->ev, xff);
    proxy_client(cfg ? cfg->trusted_proxies : NULL, cfg ? cfg->n_trusted_proxies : 0,
                 peer ? peer : "", xff, n, req->client, sizeof req->client);
    return req->client;
}
