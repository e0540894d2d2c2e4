/* Request body decoding as handlers meet it: http_json_body, with the
 * Content-Type checks, the UTF-8 and grammar checks and cJSON behind them.
 * The first byte picks the Content-Type; the rest is the body. Whatever
 * comes back is an object, or the request was answered with a 4xx
 * problem — never a crash, a leak, or a success with no object. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {
        NULL, "application/json", "application/json; charset=utf-8",
        "application/problem+json", "text/plain", "application/json; charset=latin1",
        "APPLICATION/JSON ; CHARSET=\"UTF-8\"", "application/jsonx",
    };
    struct evhttp_request *ev;
    struct http_req req;
    const char *ct;
    char *body;
    cJSON *root;

    if (size < 1)
        return 0;
    ev = evhttp_request_new(NULL, NULL);
    body = malloc(size);
    if (!ev || !body)
        abort();
    memset(&req, 0, sizeof req);
    TAILQ_INIT(&req.query);
    req.ev = ev;
    req.out = evbuffer_new();
    req.out_headers = evhttp_request_get_output_headers(ev);
    if (!req.out)
        abort();
    ct = types[data[0] % (sizeof types / sizeof types[0])];
    if (ct && evhttp_add_header(evhttp_request_get_input_headers(ev), "Content-Type", ct) != 0)
        abort();
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    req.body = body;
    req.body_len = size - 1;
    root = http_json_body(&req);
    if (root) {
        if (!cJSON_IsObject(root) || req.replied)
            abort();
        cJSON_Delete(root);
    } else if (!req.replied || req.status < 400 || req.status >= 500) {
        abort();
    }
    evbuffer_free(req.out);
    evhttp_request_free(ev);
    free(body);
    return 0;
}
