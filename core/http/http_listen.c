/* http_listen — the HTTP server's listening sockets: binding them (or
 * adopting one handed over by whoever started the server), backing off when
 * accept() fails, and letting go of them when stopping (see
 * core/http/http.h).
 *
 * accept() failing for want of file descriptors (EMFILE, ENFILE) or of
 * kernel memory leaves the pending connection in the backlog, so the
 * listening socket stays readable: libevent would call accept again at once,
 * forever, and log each failure. Instead every listener is paused for
 * ACCEPT_PAUSE_MS, during which connections that end give their descriptors
 * back, then resumed; the failures are logged at most once a second (with
 * how many were not) and counted in /metrics.
 */
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "http_internal.h"
#include "log.h"
#include "metrics.h"

#define ACCEPT_PAUSE_MS 200
#define MAX_LISTENERS   64

/* libevent hands an error callback the listener's own argument, which
 * evhttp owns: the server of each listener is found here. Slots are freed
 * when the server stops accepting. */
static struct {
    struct evconnlistener *lev;
    struct http_server *hs;
} owners[MAX_LISTENERS];

static struct http_server *owner_of(struct evconnlistener *lev)
{
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (owners[i].lev == lev)
            return owners[i].hs;
    return NULL;
}

static int own(struct evconnlistener *lev, struct http_server *hs)
{
    for (int i = 0; i < MAX_LISTENERS; i++) {
        if (!owners[i].lev) {
            owners[i].lev = lev;
            owners[i].hs = hs;
            return 0;
        }
    }
    return -1;
}

static void disown(struct evconnlistener *lev)
{
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (owners[i].lev == lev)
            owners[i].lev = NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *hs = arg;

    (void)fd;
    (void)what;
    hs->accept_paused = 0;
    if (hs->closing)
        return;
    for (int i = 0; i < hs->nsocks; i++)
        evconnlistener_enable(evhttp_bound_socket_get_listener(hs->socks[i]));
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct http_server *hs = owner_of(lev);
    int err = EVUTIL_SOCKET_ERROR();
    const struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
    int64_t now = mono_ms();

    (void)arg;
    metrics_count("http_accept_errors_total", NULL, NULL, 1);
    if (!hs)
        return;
    if (now - hs->accept_logged_ms >= 1000) {
        if (hs->accept_unlogged)
            log_warn("http", "accept: %s (and %lu more since the last line); pausing %d ms",
                     evutil_socket_error_to_string(err), hs->accept_unlogged,
                     ACCEPT_PAUSE_MS);
        else
            log_warn("http", "accept: %s; pausing %d ms", evutil_socket_error_to_string(err),
                     ACCEPT_PAUSE_MS);
        hs->accept_logged_ms = now;
        hs->accept_unlogged = 0;
    } else {
        hs->accept_unlogged++;
    }
    if (hs->accept_paused)
        return;
    for (int i = 0; i < hs->nsocks; i++)
        evconnlistener_disable(evhttp_bound_socket_get_listener(hs->socks[i]));
    if (!hs->accept_timer)
        hs->accept_timer = evtimer_new(evconnlistener_get_base(lev), on_resume, hs);
    if (hs->accept_timer && evtimer_add(hs->accept_timer, &pause) == 0) {
        hs->accept_paused = 1;
        return;
    }
    /* No timer: resume at once rather than never accept again. */
    on_resume(-1, 0, hs);
}

/* The port SOCK is bound to, or -1. */
static int bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return -1;
}

/* What every listening socket gets, bound here or handed over: no delayed
 * ACK wait on replies, the accept back-off. 0 (the port in *BOUND), or -1
 * having given SOCK back to evhttp. */
static int adopt(struct http_server *hs, struct evhttp_bound_socket *sock, int *bound)
{
    evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
    int p = bound_port(fd), one = 1;

    /* Accepted sockets inherit it (Linux): a reply written in two pieces
     * (headers, then a 30 KB page) must not wait for the client's delayed
     * ACK, which capped the 50-session page at ~700 requests/s. */
    if (p < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        own(evhttp_bound_socket_get_listener(sock), hs) != 0) {
        evhttp_del_accept_socket(hs->http, sock);
        return -1;
    }
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(sock), on_accept_error);
    hs->socks[hs->nsocks++] = sock;
    if (bound)
        *bound = p;
    return 0;
}

int http_server_listen(struct http_server *hs, const char *host, int port, int *bound)
{
    char addr[64];
    size_t n = host ? strlen(host) : 0;
    struct evhttp_bound_socket *sock;
    int p = port;

    if (!host || port < 0 || port > 65535 || hs->nsocks == MAX_SOCKETS || n >= sizeof addr)
        goto fail;
    /* "[::1]" as in a URL: evhttp wants the bare literal. */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memcpy(addr, host + 1, n - 2);
        addr[n - 2] = '\0';
    } else {
        memcpy(addr, host, n + 1);
    }
    sock = evhttp_bind_socket_with_handle(hs->http, addr, (ev_uint16_t)port);
    if (!sock || adopt(hs, sock, &p) != 0)
        goto fail;
    if (bound)
        *bound = p;
    log_info("http", "listening on %s port %d", addr, p);
    return 0;
fail:
    log_error("http", "cannot listen on %s port %d: %s", host ? host : "(null)", port,
              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return -1;
}

int http_server_listen_fd(struct http_server *hs, int fd, int *bound)
{
    struct evhttp_bound_socket *sock;
    int listening = 0, type = 0, p = -1;
    socklen_t len = sizeof listening;

    if (fd < 0 || hs->nsocks == MAX_SOCKETS)
        goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
        log_error("http", "descriptor %d is not a listening socket", fd);
        return -1;
    }
    len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
        bound_port(fd) < 0) {
        log_error("http", "descriptor %d is not a TCP socket", fd);
        return -1;
    }
    if (evutil_make_socket_nonblocking(fd) != 0 || evutil_make_socket_closeonexec(fd) != 0)
        goto fail;
    sock = evhttp_accept_socket_with_handle(hs->http, fd);
    if (!sock || adopt(hs, sock, &p) != 0)
        goto fail;
    if (bound)
        *bound = p;
    log_info("http", "listening on descriptor %d, port %d", fd, p);
    return 0;
fail:
    log_error("http", "cannot listen on descriptor %d: %s", fd,
              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return -1;
}

void http_server_stop_accepting(struct http_server *hs)
{
    if (!hs)
        return;
    for (int i = 0; i < hs->nsocks; i++) {
        disown(evhttp_bound_socket_get_listener(hs->socks[i]));
        evhttp_del_accept_socket(hs->http, hs->socks[i]);
    }
    hs->nsocks = 0;
    /* Keep-alive connections end after their next reply. */
    hs->closing = 1;
}

void http_listen_forget(struct http_server *hs)
{
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (owners[i].hs == hs)
            owners[i].lev = NULL;
}
