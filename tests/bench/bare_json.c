/*
 * bare_json — the API benchmark's baseline: the same libevent evhttp server
 * relais is built on, on one thread, answering a fixed small JSON (about the
 * size of one session's JSON) to any GET, with keep-alive.
 *
 * scripts/bench runs wrk against it and against relais in the same run on
 * the same machine; relais's requests per second are reported as a ratio of
 * this one's, which cancels out how fast and how busy the machine is. It does
 * no routing, no auth, no database and no JSON building: what is left is the
 * floor libevent's HTTP layer sets.
 *
 * Usage: bare_json PORT        (listens on 127.0.0.1; SIGTERM/SIGINT stop it;
 *                              port 0 lets the kernel choose; the port is
 *                              printed on stdout as "port N")
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* One session as relais writes it (GET /api/v1/sessions/{id}), with made-up
 * values: the same shape and size, about 430 bytes. */
static const char BODY[] =
    "{\"id\":5,\"kind\":\"workshop\",\"title\":\"Démarches en ligne : impots.gouv, ameli, CAF\","
    "\"theme\":\"démarches en ligne\",\"level\":2,\"venue_id\":1,\"trainer_id\":2,"
    "\"starts_at\":\"2026-12-08T13:00:00Z\",\"ends_at\":\"2026-12-08T15:00:00Z\","
    "\"capacity\":8,\"slot_minutes\":null,\"online\":false,\"status\":\"scheduled\","
    "\"series_id\":1,\"parent_id\":null,\"booked\":8,\"waitlisted\":1,\"remaining\":0,"
    "\"created_at\":\"2026-11-28T11:55:00Z\",\"updated_at\":\"2026-11-28T11:55:00Z\"}";

static void on_request(struct evhttp_request *req, void *arg)
{
    struct evbuffer *out;
    (void)arg;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_send_error(req, 405, NULL);
        return;
    }
    out = evhttp_request_get_output_buffer(req);
    if (evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json") != 0
        || evbuffer_add_reference(out, BODY, sizeof BODY - 1, NULL, NULL) != 0) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    struct event_base *base = NULL;
    struct evhttp *http = NULL;
    struct event *ev_term = NULL, *ev_int = NULL;
    struct evhttp_bound_socket *bound;
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    char *end;
    long port;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    errno = 0;
    port = strtol(argv[1], &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, "bare_json: bad port '%s'\n", argv[1]);
        return 2;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("bare_json: signal");
        return 1;
    }
    base = event_base_new();
    if (base == NULL)
        goto fail;
    http = evhttp_new(base);
    if (http == NULL)
        goto fail;
    evhttp_set_gencb(http, on_request, NULL);
    bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port);
    if (bound == NULL) {
        fprintf(stderr, "bare_json: cannot listen on 127.0.0.1:%ld\n", port);
        goto fail;
    }
    /* Port 0: the kernel chose; the caller reads which here. */
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &salen) != 0)
        goto fail;
    printf("port %u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    ev_term = evsignal_new(base, SIGTERM, on_signal, base);
    ev_int = evsignal_new(base, SIGINT, on_signal, base);
    if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) != 0
        || evsignal_add(ev_int, NULL) != 0)
        goto fail;
    if (event_base_dispatch(base) < 0)
        goto fail;
    rc = 0;
fail:
    if (rc != 0)
        fprintf(stderr, "bare_json: failed to start or run\n");
    if (ev_term != NULL)
        event_free(ev_term);
    if (ev_int != NULL)
        event_free(ev_int);
    if (http != NULL)
        evhttp_free(http);
    if (base != NULL)
        event_base_free(base);
    return rc;
}
