/* http_reply — what handlers call: request helpers, replies, problems,
 * cursors and lists (see core/http/http.h).
 *
 * A reply is only staged here (status, headers, body in req->out); the
 * server sends it after it has committed or rolled back the transaction, and
 * may replace it with a 500 if the commit fails.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/http.h>

#include "json.h"
#include "log.h"

#define PROBLEM_TYPE_PREFIX "urn:relais:problem:"
#define PAGE_DEFAULT 50
#define PAGE_MAX     500

/* --- titles and problem documents ------------------------------------- */

/* Reason phrases of RFC 9110 (which renamed 413 and 422). */
const char *http_status_title(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:
        if (status >= 400 && status < 500)
            return "Client Error";
        if (status >= 500 && status < 600)
            return "Server Error";
        return "Unknown Status";
    }
}

/* "Method Not Allowed" → "method-not-allowed". */
static void slug(const char *title, char *out, size_t n)
{
    size_t o = 0;
    int dash = 0;

    for (; *title && o + 2 < n; title++) {
        char c = *title;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && o > 0)
                out[o++] = '-';
            out[o++] = c;
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[o] = '\0';
}

cJSON *http_problem_doc(int status, const char *detail, cJSON *errors)
{
    const char *title = http_status_title(status);
    char type[128];
    cJSON *doc = cJSON_CreateObject();

    memcpy(type, PROBLEM_TYPE_PREFIX, sizeof PROBLEM_TYPE_PREFIX);
    slug(title, type + sizeof PROBLEM_TYPE_PREFIX - 1,
         sizeof type - (sizeof PROBLEM_TYPE_PREFIX - 1));
    if (!doc || !cJSON_AddStringToObject(doc, "type", type)
        || !cJSON_AddStringToObject(doc, "title", title)
        || !cJSON_AddNumberToObject(doc, "status", status)
        || (detail && !cJSON_AddStringToObject(doc, "detail", detail)))
        goto fail;
    if (errors) {
        if (!cJSON_AddItemToObject(doc, "errors", errors))
            goto fail;
        errors = NULL;
    }
    return doc;
fail:
    cJSON_Delete(errors);
    cJSON_Delete(doc);
    return NULL;
}

/* --- staging a reply ---------------------------------------------------- */

static int set_content_type(struct http_req *req, const char *ct)
{
    evhttp_remove_header(req->out_headers, "Content-Type");
    req->content_type = NULL;
    if (evhttp_add_header(req->out_headers, "Content-Type", ct) != 0)
        return -1;
    /* Point at the stored copy: the caller's string may not live until the
     * reply is sent. */
    req->content_type = evhttp_find_header(req->out_headers, "Content-Type");
    return 0;
}

/* A handler answers once; a second answer is a bug, and the first (which
 * the handler's writes were made for) is what the client gets. */
static int can_reply(struct http_req *req, int status)
{
    if (req->replied) {
        log_error("http", "%s answered twice (%d, then %d); the second is dropped",
                  req->route ? req->route : "-", req->status, status);
        return 0;
    }
    return 1;
}

/* When even the problem cannot be staged, an empty 500 still tells the
 * client (and the server's commit logic) that the request failed. */
static void stage_failure(struct http_req *req)
{
    evbuffer_drain(req->out, evbuffer_get_length(req->out));
    evhttp_remove_header(req->out_headers, "Content-Type");
    req->content_type = NULL;
    req->status = 500;
    req->replied = 1;
    log_error("http", "could not build the reply for %s", req->route ? req->route : "-");
}

static int stage(struct http_req *req, int status, const char *ct,
                 const char *data, size_t len)
{
    evbuffer_drain(req->out, evbuffer_get_length(req->out));
    if (ct && set_content_type(req, ct) != 0)
        return -1;
    if (len && evbuffer_add(req->out, data, len) != 0)
        return -1;
    req->status = status;
    req->replied = 1;
    return 0;
}

static void stage_doc(struct http_req *req, int status, const char *ct, cJSON *doc)
{
    size_t len = 0;
    char *text = json_print(doc, &len);

    cJSON_Delete(doc);
    if (!text || stage(req, status, ct, text, len) != 0)
        stage_failure(req);
    free(text);
}

static void problem_with(struct http_req *req, int status, const char *detail,
                         cJSON *errors)
{
    stage_doc(req, status, "application/problem+json",
              http_problem_doc(status, detail, errors));
}

void http_reply_json(struct http_req *req, int status, cJSON *body)
{
    if (!can_reply(req, status)) {
        cJSON_Delete(body);
        return;
    }
    if (!body) {
        /* The handler could not build its answer (out of memory). */
        problem_with(req, 500, "the reply could not be built", NULL);
        return;
    }
    stage_doc(req, status, "application/json", body);
}

void http_reply_data(struct http_req *req, int status, const char *content_type,
                     const char *data, size_t len)
{
    if (!can_reply(req, status))
        return;
    if (stage(req, status, content_type, data, len) != 0)
        stage_failure(req);
}

void http_reply_empty(struct http_req *req, int status)
{
    if (!can_reply(req, status))
        return;
    if (stage(req, status, NULL, NULL, 0) != 0)
        stage_failure(req);
}

void http_reply_header(struct http_req *req, const char *name, const char *value)
{
    /* evhttp refuses CR/LF in a value, which would split the header. */
    if (evhttp_add_header(req->out_headers, name, value) != 0)
        log_error("http", "refused reply header %s for %s", name,
                  req->route ? req->route : "-");
}

int http_header_reserved(const char *name)
{
    static const char *const reserved[] = {
        "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Keep-Alive",
        "Upgrade", "Proxy-Connection", "TE",
    };

    for (size_t i = 0; name && i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return 1;
    return 0;
}

void http_problem(struct http_req *req, int status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;

    if (!can_reply(req, status))
        return;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    problem_with(req, status, detail, NULL);
}

void http_problem_invalid(struct http_req *req, struct json_check *c)
{
    cJSON *errors = c->errors;
    int n = cJSON_GetArraySize(errors);
    char detail[64];

    c->errors = NULL;
    if (!can_reply(req, 422)) {
        cJSON_Delete(errors);
        return;
    }
    if (!errors && !(errors = cJSON_CreateArray())) {
        stage_failure(req);
        return;
    }
    snprintf(detail, sizeof detail, "%d invalid field%s", n, n == 1 ? "" : "s");
    problem_with(req, 422, detail, errors);
}

/* --- request helpers ------------------------------------------------------ */

const char *http_param(struct http_req *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->param_values[i];
    return NULL;
}

int http_param_id(struct http_req *req, const char *name, int64_t *out)
{
    const char *s = http_param(req, name);
    int64_t v = 0;

    if (!s) {
        log_error("http", "route %s has no parameter %s", req->route ? req->route : "-", name);
        http_problem(req, 500, "internal error");
        return -1;
    }
    /* Canonical positive decimal only ("007", "+7", "7.0" are other
     * addresses), small enough to travel in JSON exactly. */
    if (s[0] < '1' || s[0] > '9' || strlen(s) > 16)
        goto bad;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        v = v * 10 + (*p - '0');
    }
    if (v > 9007199254740992LL)
        goto bad;
    *out = v;
    return 0;
bad:
    http_problem(req, 404, "no resource has this id");
    return -1;
}

const char *http_query(struct http_req *req, const char *name)
{
    return evhttp_find_header(&req->query, name);
}

const char *http_header(struct http_req *req, const char *name)
{
    if (!req->ev)
        return NULL;
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

static int ci_equal(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* 1 when CT names JSON: application/json or any type with a +json suffix,
 * and no charset other than UTF-8. */
static int json_media_type(const char *ct)
{
    const char *p = skip_ws(ct), *slash, *end;
    size_t n;

    end = p + strcspn(p, "; \t");
    slash = memchr(p, '/', (size_t)(end - p));
    if (!slash || slash == p || slash + 1 == end)
        return 0;
    n = (size_t)(end - p);
    if (!ci_equal(p, n, "application/json")
        && !((size_t)(end - slash - 1) > 5 && ci_equal(end - 5, 5, "+json")))
        return 0;
    for (p = skip_ws(end); *p == ';'; ) {
        const char *name = skip_ws(p + 1), *eq, *val, *vend;

        if (*name == '\0')
            return 1;   /* a stray ';' at the end, as some clients send */
        eq = name + strcspn(name, "=;");
        if (*eq != '=')
            return 0;
        val = eq + 1;
        if (*val == '"') {
            vend = strchr(val + 1, '"');
            if (!vend)
                return 0;
            val++;
        } else {
            vend = val + strcspn(val, "; \t");
        }
        if (ci_equal(name, (size_t)(eq - name), "charset")
            && !ci_equal(val, (size_t)(vend - val), "utf-8")
            && !ci_equal(val, (size_t)(vend - val), "utf8"))
            return 0;
        p = skip_ws(*vend == '"' ? vend + 1 : vend);
    }
    return *p == '\0';
}

/* cJSON stops a string at an escaped NUL ("a\u0000b" reads as "a"): refuse
 * it rather than store a silently shortened value. BODY is valid JSON. */
static int has_nul_escape(const char *s, size_t len)
{
    int in_str = 0;

    for (size_t i = 0; i < len; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
        } else if (s[i] == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                return 1;
            i++;
        } else if (s[i] == '"') {
            in_str = 0;
        }
    }
    return 0;
}

cJSON *http_json_body(struct http_req *req)
{
    const char *ct = http_header(req, "Content-Type");
    const char *end = NULL;
    cJSON *root = NULL;
    size_t pos;

    if (ct && !json_media_type(ct)) {
        http_problem(req, 415, "the body must be application/json");
        goto fail;
    }
    if (!req->body || req->body_len == 0) {
        http_problem(req, 400, "a JSON body is required");
        goto fail;
    }
    if (!json_utf8_valid(req->body, req->body_len)) {
        http_problem(req, 400, "the body is not valid UTF-8");
        goto fail;
    }
    if (json_syntax_check(req->body, req->body_len, &pos) != 0) {
        /* A complete value followed by more text reads better said so. */
        if (pos > 0 && json_syntax_check(req->body, pos, NULL) == 0)
            http_problem(req, 400, "malformed JSON at offset %zu: content after the value", pos);
        else
            http_problem(req, 400, "malformed JSON at offset %zu", pos);
        goto fail;
    }
    root = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    pos = end ? (size_t)(end - req->body) : 0;
    if (!root) {
        http_problem(req, 400, "malformed JSON at offset %zu", pos);
        goto fail;
    }
    while (pos < req->body_len && (req->body[pos] == ' ' || req->body[pos] == '\t'
                                   || req->body[pos] == '\r' || req->body[pos] == '\n'))
        pos++;
    if (pos < req->body_len) {
        http_problem(req, 400, "malformed JSON at offset %zu: content after the value", pos);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        http_problem(req, 400, "the body must be a JSON object");
        goto fail;
    }
    if (has_nul_escape(req->body, req->body_len)) {
        http_problem(req, 400, "strings must not contain \\u0000");
        goto fail;
    }
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}

/* --- cursors and lists -------------------------------------------------- */

/* Layout: version (1) | k1 (8, big-endian) | k2 (8) | check (1) = 18 bytes,
 * 24 base64url characters. The check byte is a CRC-8 over a fixed key and
 * the 17 bytes before it: a CRC of degree 8 catches every burst of up to 8
 * bits, so any single edited character (6 bits) is always refused, and the
 * key keeps a plain CRC of the visible bytes from passing. */
#define CURSOR_VERSION 1
#define CURSOR_BYTES   18
#define CURSOR_CHARS   24

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const unsigned char cursor_key[] = "relais/cursor/v1";

static unsigned char crc8(unsigned char crc, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (unsigned char)((crc & 0x80) ? (crc << 1) ^ 0x07 : crc << 1);
    }
    return crc;
}

static unsigned char cursor_check(const unsigned char *raw)
{
    return crc8(crc8(0, cursor_key, sizeof cursor_key - 1), raw, CURSOR_BYTES - 1);
}

static void put_be64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)(u & 0xff);
}

static int64_t get_be64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
}

void http_cursor_encode(int64_t k1, int64_t k2, char *buf, size_t n)
{
    unsigned char raw[CURSOR_BYTES];

    if (n < CURSOR_CHARS + 1) {
        if (n)
            buf[0] = '\0';
        return;
    }
    raw[0] = CURSOR_VERSION;
    put_be64(raw + 1, k1);
    put_be64(raw + 9, k2);
    raw[CURSOR_BYTES - 1] = cursor_check(raw);
    for (int i = 0, o = 0; i < CURSOR_BYTES; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        buf[o++] = b64url[v >> 18 & 63];
        buf[o++] = b64url[v >> 12 & 63];
        buf[o++] = b64url[v >> 6 & 63];
        buf[o++] = b64url[v & 63];
    }
    buf[CURSOR_CHARS] = '\0';
}

int http_cursor_decode(const char *s, int64_t *k1, int64_t *k2)
{
    unsigned char raw[CURSOR_BYTES];

    if (!s || strlen(s) != CURSOR_CHARS)
        return -1;
    for (int i = 0, o = 0; i < CURSOR_CHARS; i += 4) {
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            const char *at = s[i + j] ? strchr(b64url, s[i + j]) : NULL;
            if (!at)
                return -1;
            v = v << 6 | (uint32_t)(at - b64url);
        }
        raw[o++] = (unsigned char)(v >> 16);
        raw[o++] = (unsigned char)(v >> 8);
        raw[o++] = (unsigned char)v;
    }
    if (raw[0] != CURSOR_VERSION || raw[CURSOR_BYTES - 1] != cursor_check(raw))
        return -1;
    *k1 = get_be64(raw + 1);
    *k2 = get_be64(raw + 9);
    return 0;
}

void http_page_parse(struct http_req *req, struct json_check *c, struct http_page *p)
{
    const char *limit = http_query(req, "limit");
    const char *cursor = http_query(req, "cursor");

    p->limit = PAGE_DEFAULT;
    p->has_cursor = 0;
    p->k1 = p->k2 = 0;
    if (limit) {
        int v = 0, ok = limit[0] != '\0' && strlen(limit) <= 6;
        for (const char *s = limit; ok && *s; s++) {
            if (*s < '0' || *s > '9')
                ok = 0;
            else
                v = v * 10 + (*s - '0');
        }
        if (ok && v >= 1 && v <= PAGE_MAX)
            p->limit = v;
        else
            json_check_add(c, "limit", "must be an integer between 1 and %d", PAGE_MAX);
    }
    if (cursor) {
        if (http_cursor_decode(cursor, &p->k1, &p->k2) == 0)
            p->has_cursor = 1;
        else
            json_check_add(c, "cursor", "must be the \"next\" value of a previous page");
    }
}

cJSON *http_list_doc(cJSON *items, const char *next)
{
    cJSON *doc = cJSON_CreateObject();

    if (!doc || !items || !cJSON_AddItemToObject(doc, "items", items)) {
        cJSON_Delete(items);
        goto fail;
    }
    if (!(next ? cJSON_AddStringToObject(doc, "next", next)
               : cJSON_AddNullToObject(doc, "next")))
        goto fail;
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

void http_reply_list(struct http_req *req, cJSON *items, const char *next)
{
    /* A NULL document answers 500 (the list could not be built). */
    http_reply_json(req, 200, http_list_doc(items, next));
}
