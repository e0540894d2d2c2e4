/* The router: any method and path, against the real route table shapes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void h(struct http_req *req) { (void)req; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_router *r;
    struct http_match m;
    char path[1024];
    int method, rc;

    if (!r) {
        r = http_router_new();
        http_router_add(r, HTTP_GET | HTTP_POST, "/api/v1/venues", ROLES_ALL, h);
        http_router_add(r, HTTP_GET | HTTP_PATCH | HTTP_DELETE, "/api/v1/venues/{id}", ROLES_ALL, h);
        http_router_add(r, HTTP_GET, "/api/v1/sessions.ics", ROLES_ALL, h);
        http_router_add(r, HTTP_GET | HTTP_PATCH, "/api/v1/sessions/{id}", ROLES_ALL, h);
        http_router_add(r, HTTP_POST | HTTP_GET, "/api/v1/sessions/{id}/enrollments", ROLES_ALL, h);
        http_router_add(r, HTTP_GET, "/r/{token}", ROUTE_PUBLIC, h);
        http_router_add(r, HTTP_POST, "/r/{token}/cancel", ROUTE_PUBLIC, h);
        http_router_add(r, HTTP_GET, "/health", ROUTE_PUBLIC, h);
    }
    if (size < 1 || size >= sizeof path)
        return 0;
    method = 1 << (data[0] % 7);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    memset(&m, 0, sizeof m);
    rc = http_router_match(r, method, path, &m);
    if (rc != 200 && rc != 404 && rc != 405 && rc != -1)
        abort();
    http_match_clear(&m);
    return 0;
}
