/* http_listen — binding the HTTP server's sockets and letting go of them
 * when stopping (see include/relais/http.h). */
#include "relais/http.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/http.h>
#include <event2/util.h>

#include "http_internal.h"
#include "relais/log.h"

int http_server_listen(struct http_server *hs, const char *host, int port, int *bound)
{
    char addr[64];
    size_t n = host ? strlen(host) : 0;
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int p, one = 1;

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
    if (!sock)
        goto fail;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) != 0) {
        evhttp_del_accept_socket(hs->http, sock);
        goto fail;
    }
    /* Accepted sockets inherit it (Linux): a reply written in two pieces
     * (headers, then a 30 KB page) must not wait for the client's delayed
     * ACK, which capped the 50-session page at ~700 requests/s. */
    if (setsockopt(evhttp_bound_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY,
                   &one, sizeof one) != 0) {
        evhttp_del_accept_socket(hs->http, sock);
        goto fail;
    }
    p = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    hs->socks[hs->nsocks++] = sock;
    if (bound)
        *bound = p;
    log_info("http", "listening on %s port %d", addr, p);
    return 0;
fail:
    log_error("http", "cannot listen on %s port %d: %s", host ? host : "(null)", port,
              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return -1;
}

void http_server_stop_accepting(struct http_server *hs)
{
    if (!hs)
        return;
    for (int i = 0; i < hs->nsocks; i++)
        evhttp_del_accept_socket(hs->http, hs->socks[i]);
    hs->nsocks = 0;
    /* Keep-alive connections end after their next reply. */
    hs->closing = 1;
}
