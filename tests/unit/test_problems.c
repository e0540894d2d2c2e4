/* Unit tests for replies, problems and request helpers (core/http/http_reply.c),
 * on real evhttp request objects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "http.h"

struct ctx {
    struct evhttp_request *ev;
    struct http_req req;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);

    if (!c || !(c->ev = evhttp_request_new(NULL, NULL)) || !(c->req.out = evbuffer_new()))
        return -1;
    c->req.ev = c->ev;
    c->req.out_headers = evhttp_request_get_output_headers(c->ev);
    c->req.route = "/test";
    TAILQ_INIT(&c->req.query);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;

    evbuffer_free(c->req.out);
    evhttp_clear_headers(&c->req.query);
    evhttp_request_free(c->ev);
    free(c);
    return 0;
}

static void set_body(struct ctx *c, const char *ct, const char *body, size_t len)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(c->ev);

    evhttp_remove_header(in, "Content-Type");
    if (ct)
        assert_int_equal(evhttp_add_header(in, "Content-Type", ct), 0);
    c->req.body = body;
    c->req.body_len = len;
}

/* The staged body parsed as JSON (caller frees). */
static cJSON *staged_json(struct ctx *c)
{
    size_t n = evbuffer_get_length(c->req.out);
    char *s = malloc(n + 1);
    cJSON *doc;

    assert_non_null(s);
    evbuffer_copyout(c->req.out, s, n);
    s[n] = '\0';
    doc = cJSON_Parse(s);
    free(s);
    assert_non_null(doc);
    return doc;
}

static const char *str_of(const cJSON *doc, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, key);
    assert_true(cJSON_IsString(it));
    return it->valuestring;
}

/* Checks the staged reply is a problem of STATUS whose detail contains
 * DETAIL_PART, with the exact RFC 9457 shape. */
static void assert_problem(struct ctx *c, int status, const char *detail_part)
{
    cJSON *doc;
    char type[128];

    assert_true(c->req.replied);
    assert_int_equal(c->req.status, status);
    assert_string_equal(c->req.content_type, "application/problem+json");
    assert_string_equal(evhttp_find_header(c->req.out_headers, "Content-Type"),
                        "application/problem+json");
    doc = staged_json(c);
    assert_string_equal(str_of(doc, "title"), http_status_title(status));
    assert_int_equal(cJSON_GetObjectItem(doc, "status")->valueint, status);
    snprintf(type, sizeof type, "urn:relais:problem:");
    assert_memory_equal(str_of(doc, "type"), type, strlen(type));
    if (!strstr(str_of(doc, "detail"), detail_part))
        print_error("detail \"%s\" lacks \"%s\"\n", str_of(doc, "detail"), detail_part);
    assert_non_null(strstr(str_of(doc, "detail"), detail_part));
    assert_int_equal(cJSON_GetArraySize(doc), status == 422 ? 5 : 4);
    cJSON_Delete(doc);
}

static void test_titles(void **state)
{
    (void)state;
    assert_string_equal(http_status_title(200), "OK");
    assert_string_equal(http_status_title(201), "Created");
    assert_string_equal(http_status_title(204), "No Content");
    assert_string_equal(http_status_title(400), "Bad Request");
    assert_string_equal(http_status_title(401), "Unauthorized");
    assert_string_equal(http_status_title(403), "Forbidden");
    assert_string_equal(http_status_title(404), "Not Found");
    assert_string_equal(http_status_title(405), "Method Not Allowed");
    assert_string_equal(http_status_title(409), "Conflict");
    assert_string_equal(http_status_title(413), "Content Too Large");
    assert_string_equal(http_status_title(415), "Unsupported Media Type");
    assert_string_equal(http_status_title(422), "Unprocessable Content");
    assert_string_equal(http_status_title(500), "Internal Server Error");
    assert_string_equal(http_status_title(503), "Service Unavailable");
    assert_string_equal(http_status_title(499), "Client Error");
    assert_string_equal(http_status_title(599), "Server Error");
    assert_string_equal(http_status_title(299), "Unknown Status");
    assert_string_equal(http_status_title(-1), "Unknown Status");
}

static void test_problem_doc_shape(void **state)
{
    static const struct { int status; const char *type; } cases[] = {
        {400, "urn:relais:problem:bad-request"},
        {404, "urn:relais:problem:not-found"},
        {405, "urn:relais:problem:method-not-allowed"},
        {409, "urn:relais:problem:conflict"},
        {413, "urn:relais:problem:content-too-large"},
        {422, "urn:relais:problem:unprocessable-content"},
        {500, "urn:relais:problem:internal-server-error"},
        {499, "urn:relais:problem:client-error"},
    };
    cJSON *doc, *errors;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        doc = http_problem_doc(cases[i].status, "why", NULL);
        assert_non_null(doc);
        assert_string_equal(str_of(doc, "type"), cases[i].type);
        assert_string_equal(str_of(doc, "title"), http_status_title(cases[i].status));
        assert_int_equal(cJSON_GetObjectItem(doc, "status")->valueint, cases[i].status);
        assert_string_equal(str_of(doc, "detail"), "why");
        assert_null(cJSON_GetObjectItem(doc, "errors"));
        assert_int_equal(cJSON_GetArraySize(doc), 4);
        cJSON_Delete(doc);
    }
    doc = http_problem_doc(404, NULL, NULL);
    assert_non_null(doc);
    assert_null(cJSON_GetObjectItem(doc, "detail"));
    assert_int_equal(cJSON_GetArraySize(doc), 3);
    cJSON_Delete(doc);
    errors = cJSON_CreateArray();
    assert_non_null(errors);
    doc = http_problem_doc(422, "1 invalid field", errors);
    assert_non_null(doc);
    assert_ptr_equal(cJSON_GetObjectItem(doc, "errors"), errors);
    cJSON_Delete(doc);
}

static void test_problem_reply(void **state)
{
    struct ctx *c = *state;

    http_problem(&c->req, 409, "venue %d has %s", 3, "sessions");
    assert_problem(c, 409, "venue 3 has sessions");
    /* A second answer is dropped: the first one stands. */
    http_problem(&c->req, 500, "later");
    http_reply_empty(&c->req, 204);
    assert_problem(c, 409, "venue 3 has sessions");
}

static void test_problem_invalid(void **state)
{
    struct ctx *c = *state;
    struct json_check chk;
    cJSON *doc, *errors;

    json_check_init(&chk);
    json_check_add(&chk, "name", "required");
    json_check_add(&chk, "level", "must be an integer between 1 and 3");
    json_check_add(&chk, "phone", "not a phone number");
    http_problem_invalid(&c->req, &chk);
    assert_null(chk.errors);
    assert_false(json_check_failed(&chk));
    assert_problem(c, 422, "3 invalid fields");
    doc = staged_json(c);
    errors = cJSON_GetObjectItem(doc, "errors");
    assert_int_equal(cJSON_GetArraySize(errors), 3);
    assert_string_equal(str_of(cJSON_GetArrayItem(errors, 1), "field"), "level");
    assert_string_equal(str_of(cJSON_GetArrayItem(errors, 1), "message"),
                        "must be an integer between 1 and 3");
    assert_string_equal(str_of(doc, "detail"), "3 invalid fields");
    cJSON_Delete(doc);
    json_check_free(&chk);
}

static void test_problem_invalid_one(void **state)
{
    struct ctx *c = *state;
    struct json_check chk;
    cJSON *doc;

    json_check_init(&chk);
    json_check_add(&chk, "phone", "not a phone number");
    http_problem_invalid(&c->req, &chk);
    doc = staged_json(c);
    assert_string_equal(str_of(doc, "detail"), "1 invalid field");
    cJSON_Delete(doc);
    /* Already answered: the errors are still taken and freed. */
    json_check_add(&chk, "x", "y");
    http_problem_invalid(&c->req, &chk);
    assert_null(chk.errors);
    assert_int_equal(c->req.status, 422);
}

static void test_replies(void **state)
{
    struct ctx *c = *state;
    cJSON *body = cJSON_CreateObject(), *doc;

    assert_non_null(body);
    cJSON_AddNumberToObject(body, "id", 7);
    http_reply_json(&c->req, 201, body);
    assert_int_equal(c->req.status, 201);
    assert_string_equal(c->req.content_type, "application/json");
    doc = staged_json(c);
    assert_int_equal(cJSON_GetObjectItem(doc, "id")->valueint, 7);
    cJSON_Delete(doc);
    /* A late reply still releases what it was given. */
    body = cJSON_CreateObject();
    http_reply_json(&c->req, 200, body);
    assert_int_equal(c->req.status, 201);
}

static void test_reply_json_null(void **state)
{
    struct ctx *c = *state;

    http_reply_json(&c->req, 200, NULL);
    assert_problem(c, 500, "could not be built");
}

static void test_reply_data_and_empty(void **state)
{
    struct ctx *c = *state;
    char ct[] = "text/calendar; charset=utf-8";

    http_reply_data(&c->req, 200, ct, "A\0B", 3);
    memset(ct, 'x', sizeof ct - 1);   /* the reply keeps its own copy */
    assert_string_equal(c->req.content_type, "text/calendar; charset=utf-8");
    assert_int_equal(evbuffer_get_length(c->req.out), 3);
    assert_memory_equal(evbuffer_pullup(c->req.out, 3), "A\0B", 3);
    teardown(state);
    setup(state);
    c = *state;
    http_reply_empty(&c->req, 204);
    assert_int_equal(c->req.status, 204);
    assert_true(c->req.replied);
    assert_null(c->req.content_type);
    assert_int_equal(evbuffer_get_length(c->req.out), 0);
}

static void test_reply_header(void **state)
{
    struct ctx *c = *state;

    http_reply_header(&c->req, "Location", "/api/v1/venues/3");
    http_reply_header(&c->req, "X-Bad", "a\r\nSet-Cookie: x=1");
    assert_string_equal(evhttp_find_header(c->req.out_headers, "Location"), "/api/v1/venues/3");
    assert_null(evhttp_find_header(c->req.out_headers, "X-Bad"));
    assert_null(evhttp_find_header(c->req.out_headers, "Set-Cookie"));
}

static void test_reply_list(void **state)
{
    struct ctx *c = *state;
    cJSON *items = cJSON_CreateArray(), *doc;

    assert_non_null(items);
    cJSON_AddItemToArray(items, cJSON_CreateNumber(1));
    http_reply_list(&c->req, items, "AbC");
    doc = staged_json(c);
    assert_int_equal(c->req.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "items")), 1);
    assert_string_equal(str_of(doc, "next"), "AbC");
    assert_int_equal(cJSON_GetArraySize(doc), 2);
    cJSON_Delete(doc);
    teardown(state);
    setup(state);
    c = *state;
    http_reply_list(&c->req, cJSON_CreateArray(), NULL);
    doc = staged_json(c);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "next")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "items")), 0);
    cJSON_Delete(doc);
}

static void test_reply_list_null_items(void **state)
{
    struct ctx *c = *state;

    http_reply_list(&c->req, NULL, "x");
    assert_problem(c, 500, "could not be built");
}

static void test_params(void **state)
{
    struct ctx *c = *state;
    static const char *const bad[] = {
        "0", "-1", "+1", "007", "4x", "", " 4", "1.0", "9007199254740993", "99999999999999999999",
        "0x10",
    };
    char value[32];
    int64_t id = 0;

    c->req.nparams = 2;
    c->req.param_names[0] = "id";
    c->req.param_values[0] = value;
    c->req.param_names[1] = "token";
    c->req.param_values[1] = "abc";
    assert_string_equal(http_param(&c->req, "token"), "abc");
    assert_null(http_param(&c->req, "nope"));
    strcpy(value, "42");
    assert_int_equal(http_param_id(&c->req, "id", &id), 0);
    assert_int_equal(id, 42);
    strcpy(value, "9007199254740992");
    assert_int_equal(http_param_id(&c->req, "id", &id), 0);
    assert_int_equal(id, 9007199254740992LL);
    assert_false(c->req.replied);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        teardown(state);
        setup(state);
        c = *state;
        c->req.nparams = 1;
        c->req.param_names[0] = "id";
        c->req.param_values[0] = value;
        strcpy(value, bad[i]);
        id = -5;
        assert_int_equal(http_param_id(&c->req, "id", &id), -1);
        assert_int_equal(id, -5);
        assert_problem(c, 404, "");
    }
    teardown(state);
    setup(state);
    c = *state;
    /* Asking for a parameter the route does not have is a bug: 500. */
    assert_int_equal(http_param_id(&c->req, "id", &id), -1);
    assert_problem(c, 500, "");
}

static void test_query_and_headers(void **state)
{
    struct ctx *c = *state;

    assert_int_equal(evhttp_parse_query_str("q=jean+dupont&limit=5&q=second", &c->req.query), 0);
    assert_string_equal(http_query(&c->req, "q"), "jean dupont");
    assert_string_equal(http_query(&c->req, "limit"), "5");
    assert_null(http_query(&c->req, "cursor"));
    assert_int_equal(evhttp_add_header(evhttp_request_get_input_headers(c->ev),
                                       "X-Twilio-Signature", "sig"), 0);
    assert_string_equal(http_header(&c->req, "x-twilio-signature"), "sig");
    assert_null(http_header(&c->req, "Authorization"));
    c->req.ev = NULL;
    assert_null(http_header(&c->req, "X-Twilio-Signature"));
}

static void test_json_body_ok(void **state)
{
    static const char *const types[] = {
        NULL, "application/json", "application/json; charset=utf-8", "Application/JSON",
        "application/json;charset=\"UTF-8\"", "application/merge-patch+json",
        "application/problem+json", " application/json ", "application/json ; charset=utf8",
        "application/json;", "application/json; foo=bar",
    };
    struct ctx *c = *state;
    const char *body = "{\"name\": \"caf\xC3\xA9\", \"t\": \"a\\\\u0000b\"} \r\n";

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        cJSON *o;

        set_body(c, types[i], body, strlen(body));
        o = http_json_body(&c->req);
        assert_non_null(o);
        assert_false(c->req.replied);
        assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, "caf\xC3\xA9");
        /* An escaped backslash before "u0000" is text, not a NUL. */
        assert_string_equal(cJSON_GetObjectItem(o, "t")->valuestring, "a\\u0000b");
        cJSON_Delete(o);
    }
}

static void body_fails(void **state, const char *ct, const char *body, size_t len,
                       int status, const char *detail_part)
{
    struct ctx *c;

    teardown(state);
    setup(state);
    c = *state;
    set_body(c, ct, body, len);
    assert_null(http_json_body(&c->req));
    assert_problem(c, status, detail_part);
}

#define FAILS(ct, body, status, part) body_fails(state, ct, body, sizeof(body) - 1, status, part)

static void test_json_body_bad(void **state)
{
    char deep[4001];

    FAILS("text/plain", "{}", 415, "application/json");
    FAILS("application/jsonx", "{}", 415, "application/json");
    FAILS("application/x-www-form-urlencoded", "{}", 415, "");
    FAILS("application/+json", "{}", 415, "");
    FAILS("json", "{}", 415, "");
    FAILS("", "{}", 415, "");
    FAILS("application/json; charset=latin1", "{}", 415, "");
    FAILS("application/json; charset", "{}", 415, "");
    FAILS("application/json;;", "{}", 415, "");
    FAILS("application/json charset=utf-8", "{}", 415, "");
    FAILS("application/json; charset=\"utf-8", "{}", 415, "");
    FAILS("application/json", "", 400, "a JSON body is required");
    FAILS(NULL, "", 400, "a JSON body is required");
    FAILS("application/json", "{\"a\": \"\xC3\x28\"}", 400, "UTF-8");
    FAILS("application/json", "{\"a\": \"\xED\xA0\x80\"}", 400, "UTF-8");
    FAILS("application/json", "{\"a\": }", 400, "malformed JSON at offset 6");
    FAILS("application/json", "{", 400, "malformed JSON");
    FAILS("application/json", "   ", 400, "malformed JSON");
    FAILS("application/json", "{'a': 1}", 400, "malformed JSON at offset ");
    FAILS("application/json", "{} x", 400, "content after the value");
    FAILS("application/json", "{}{}", 400, "content after the value");
    FAILS("application/json", "{}\0{\"admin\": true}", 400, "content after the value");
    FAILS("application/json", "[1, 2]", 400, "must be a JSON object");
    FAILS("application/json", "\"text\"", 400, "must be a JSON object");
    FAILS("application/json", "null", 400, "must be a JSON object");
    FAILS("application/json", "42", 400, "must be a JSON object");
    FAILS("application/json", "{\"name\": \"ab\\u0000cd\"}", 400, "\\u0000");
    FAILS("application/json", "{\"na\\u0000me\": 1}", 400, "\\u0000");
    /* Nesting deeper than cJSON's limit is refused, not a crash. */
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    body_fails(state, NULL, deep, strlen(deep), 400, "malformed JSON");
    /* The Content-Type is judged before the body. */
    FAILS("text/csv", "", 415, "");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_titles),
        cmocka_unit_test(test_problem_doc_shape),
        T(test_problem_reply),
        T(test_problem_invalid),
        T(test_problem_invalid_one),
        T(test_replies),
        T(test_reply_json_null),
        T(test_reply_data_and_empty),
        T(test_reply_header),
        T(test_reply_list),
        T(test_reply_list_null_items),
        T(test_params),
        T(test_query_and_headers),
        T(test_json_body_ok),
        T(test_json_body_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
