/* sink_twilio — a bare libevent HTTP server that answers like Twilio's
 * Messages API, for scripts/bench-notify: the gateway end of the
 * notification benchmark, cheap enough that relais, not the sink, is what
 * is measured (its own ceiling under wrk is reported in the same run).
 *
 *   sink_twilio [--host 127.0.0.1] [--port N]
 *
 * Port 0 (the default) picks a free one; the port is printed on stdout as
 * "port N" once the server listens.
 *
 * - POST /2010-04-01/Accounts/{sid}/Messages.json → 201 with a Message
 *   resource carrying a fresh "SM…" sid, num_segments "1" and status
 *   "queued" (what plugins/sms-twilio/twilio.lua reads). A request repeating an
 *   Idempotency-Key seen before gets the first answer's sid again and
 *   counts as a duplicate, as Twilio's idempotency would make it.
 * - GET /count → {"messages": distinct keys accepted, "posts": every
 *   Messages.json POST, "duplicates": posts repeating a key,
 *   "unkeyed": posts without a key, "connections": TCP connections accepted,
 *   which shows whether the client keeps its connections alive}.
 * - POST /reset → forgets everything (204), e.g. after a wrk run.
 * Anything else is a 404. Nothing is checked (no auth): this is a sink.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#define PREFIX "/2010-04-01/Accounts/"
#define SUFFIX "/Messages.json"

/* Idempotency keys seen, with the sid they got: open addressing, grown at
 * half full. */
struct seen {
    char *key;
    uint64_t sid;
};

static struct {
    struct seen *tab;
    size_t cap, n;
    uint64_t posts, duplicates, unkeyed, next_sid, connections;
} sink;

static uint64_t hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);   /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static struct seen *slot(struct seen *tab, size_t cap, const char *key)
{
    size_t i = (size_t)hash(key) & (cap - 1);

    while (tab[i].key && strcmp(tab[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int grow(void)
{
    size_t cap = sink.cap ? sink.cap * 2 : 4096;
    struct seen *tab = calloc(cap, sizeof *tab);

    if (!tab)
        return -1;
    for (size_t i = 0; i < sink.cap; i++)
        if (sink.tab[i].key)
            *slot(tab, cap, sink.tab[i].key) = sink.tab[i];
    free(sink.tab);
    sink.tab = tab;
    sink.cap = cap;
    return 0;
}

static void forget(void)
{
    for (size_t i = 0; i < sink.cap; i++)
        free(sink.tab[i].key);
    free(sink.tab);
    memset(&sink, 0, sizeof sink);
}

/* evhttp asks for one bufferevent per accepted connection: counted here. */
static struct bufferevent *on_connection(struct event_base *base, void *arg)
{
    (void)arg;
    sink.connections++;
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

/* The sid for a message with KEY (NULL: none): a new one, or the one the
 * key got before. -1 when out of memory. */
static int sid_for(const char *key, uint64_t *sid)
{
    struct seen *e;

    sink.posts++;
    if (!key) {
        sink.unkeyed++;
        *sid = ++sink.next_sid;
        return 0;
    }
    if ((sink.n + 1) * 2 > sink.cap && grow() != 0)
        return -1;
    e = slot(sink.tab, sink.cap, key);
    if (e->key) {
        sink.duplicates++;
        *sid = e->sid;
        return 0;
    }
    if (!(e->key = strdup(key)))
        return -1;
    e->sid = *sid = ++sink.next_sid;
    sink.n++;
    return 0;
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *json)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (json && (evhttp_add_header(h, "Content-Type", "application/json") != 0
                 || evbuffer_add(out, json, strlen(json)) != 0)) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evhttp_send_reply(req, code, reason, NULL);
}

static int is_messages(const char *path)
{
    size_t n = strlen(path), p = strlen(PREFIX), s = strlen(SUFFIX);

    return n > p + s && strncmp(path, PREFIX, p) == 0 && strcmp(path + n - s, SUFFIX) == 0
           && !memchr(path + p, '/', n - p - s);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char json[640];
    uint64_t sid;

    (void)arg;
    if (!path) {
        reply(req, 400, "Bad Request", NULL);
        return;
    }
    if (cmd == EVHTTP_REQ_POST && is_messages(path)) {
        const char *key = evhttp_find_header(evhttp_request_get_input_headers(req),
                                             "Idempotency-Key");
        if (sid_for(key, &sid) != 0) {
            reply(req, 500, "Internal Server Error", NULL);
            return;
        }
        snprintf(json, sizeof json,
                 "{\"sid\": \"SM%032" PRIx64 "\", \"status\": \"queued\","
                 " \"num_segments\": \"1\", \"num_media\": \"0\", \"direction\":"
                 " \"outbound-api\", \"api_version\": \"2010-04-01\","
                 " \"error_code\": null, \"error_message\": null}", sid);
        reply(req, 201, "Created", json);
    } else if (cmd == EVHTTP_REQ_GET && strcmp(path, "/count") == 0) {
        snprintf(json, sizeof json,
                 "{\"messages\": %zu, \"posts\": %" PRIu64 ", \"duplicates\": %" PRIu64
                 ", \"unkeyed\": %" PRIu64 ", \"connections\": %" PRIu64 "}",
                 sink.n + (size_t)sink.unkeyed, sink.posts, sink.duplicates, sink.unkeyed,
                 sink.connections);
        reply(req, 200, "OK", json);
    } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/reset") == 0) {
        forget();
        reply(req, 204, "No Content", NULL);
    } else {
        reply(req, 404, "Not Found", "{\"code\": 20404, \"status\": 404}");
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 0;
    struct event_base *base = NULL;
    struct evhttp *http = NULL;
    struct evhttp_bound_socket *bound;
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            port = strtol(argv[++i], &end, 10);
            if (errno || *end || port < 0 || port > 65535) {
                fprintf(stderr, "sink_twilio: bad port\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: sink_twilio [--host ADDR] [--port N]\n");
            return 2;
        }
    }
    if (!(base = event_base_new()) || !(http = evhttp_new(base))) {
        fprintf(stderr, "sink_twilio: cannot start libevent\n");
        goto out;
    }
    evhttp_set_gencb(http, on_request, NULL);
    evhttp_set_bevcb(http, on_connection, NULL);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    if (!(bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port))) {
        fprintf(stderr, "sink_twilio: cannot listen on %s:%ld\n", host, port);
        goto out;
    }
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &salen) != 0) {
        perror("sink_twilio: getsockname");
        goto out;
    }
    printf("port %u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    if (event_base_dispatch(base) != 0) {
        fprintf(stderr, "sink_twilio: the event loop failed\n");
        goto out;
    }
    rc = 0;
out:
    if (http)
        evhttp_free(http);
    if (base)
        event_base_free(base);
    forget();
    return rc;
}
