/* The plugin host on the network: relais.http.request and smtp.send
 * yielding and resuming on core/util/net.c (answer, time-out, refused, cancelled),
 * plugin routes on the real HTTP server (answered at once or deferred until
 * a wait ends, transactions, errors, budget), a channel sender driven by the
 * real outbox, and reload keeping the server's routes consistent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tokens.h"
#include "plugins_fixture.h"

/* A port nothing listens on: bound, then closed. */
static int dead_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/* TEXT is the JSON WANT, key order aside. */
static void assert_json(const char *text, const char *want)
{
    cJSON *got = cJSON_Parse(text), *w = cJSON_Parse(want);

    assert_non_null(got);
    assert_non_null(w);
    if (!cJSON_Compare(got, w, 1))
        fail_msg("got %s, want %s", text, want);
    cJSON_Delete(got);
    cJSON_Delete(w);
}

static int64_t results(struct pfx *t, const char *tag)
{
    return qv(t->fx, "SELECT count(*) FROM netp_results WHERE tag = '%s'", tag);
}

/* Emits EVENT with {"tag": TAG, "url": URL, "timeout": MS} and turns the
 * loop until the hook has written its result. */
static void fetch(struct pfx *t, const char *event, const char *tag, const char *url, int ms)
{
    char json[512];

    snprintf(json, sizeof json, "{\"tag\": \"%s\", \"url\": \"%s\", \"timeout\": %d}", tag, url,
             ms);
    pfx_emit(t, event, json);
    for (int i = 0; i < 1000 && results(t, tag) == 0; i++)
        pfx_spin(t, 25);
    assert_int_equal(results(t, tag), 1);
}

static void test_request(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"netp", NULL};
    char url[128], text[256];

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", t->gw_port);
    fetch(t, "fetch", "ok", url, 2000);
    assert_int_equal(qv(t->fx, "SELECT status FROM netp_results WHERE tag = 'ok'"), 200);
    qs(t->fx, text, sizeof text, "SELECT body FROM netp_results WHERE tag = 'ok'");
    assert_string_equal(text, "hello");
    assert_string_equal(t->gw_xtest, "yes");
    /* Two waits in one entry, one inside pcall. */
    fetch(t, "twice", "twice", url, 0);
    assert_int_equal(qv(t->fx, "SELECT status FROM netp_results WHERE tag = 'twice'"), 400);
    qs(t->fx, text, sizeof text, "SELECT body FROM netp_results WHERE tag = 'twice'");
    assert_string_equal(text, "hello+hello");
    assert_string_equal(t->gw_body, "second");
    /* Time-out: nil, err, true. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", t->gw_port);
    fetch(t, "fetch", "slow", url, 300);
    assert_int_equal(qv(t->fx, "SELECT timed_out FROM netp_results WHERE tag = 'slow'"), 1);
    /* Refused: nil, err, false. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", dead_port());
    fetch(t, "fetch", "refused", url, 2000);
    assert_int_equal(qv(t->fx, "SELECT timed_out FROM netp_results WHERE tag = 'refused'"), 0);
    assert_int_equal(qv(t->fx, "SELECT err IS NOT NULL FROM netp_results WHERE tag = 'refused'"),
                     1);
    /* SMTP, refused the same way. */
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", dead_port());
    fetch(t, "smtp", "smtp", url, 0);
    assert_int_equal(qv(t->fx, "SELECT err IS NOT NULL FROM netp_results WHERE tag = 'smtp'"), 1);
    /* Bad arguments raise before anything starts. */
    fetch(t, "badargs", "badargs", "http://127.0.0.1:9/", 0);
    qs(t->fx, text, sizeof text, "SELECT err FROM netp_results WHERE tag = 'badargs'");
    assert_string_equal(text, "refused");
    assert_int_equal(plugin_errors("netp"), 0);
    assert_int_equal(net_active(t->app.net), 0);
}

static void test_abandoned_on_reload(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"netp", NULL};
    char url[128], json[256];

    pfx_start(t, names);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", t->gw_port);
    snprintf(json, sizeof json, "{\"tag\": \"held\", \"url\": \"%s\", \"timeout\": 60000}", url);
    pfx_emit(t, "fetch", json);
    for (int i = 0; i < 200 && t->nheld == 0; i++)
        pfx_spin(t, 10);
    assert_int_equal(t->nheld, 1);
    assert_int_equal(net_active(t->app.net), 1);
    /* The waiting entry is dropped and its transfer cancelled. */
    assert_int_equal(plugins_reload(t->app.plugins), 0);
    assert_int_equal(net_active(t->app.net), 0);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", t->gw_port);
    fetch(t, "fetch", "after", url, 2000);
    assert_int_equal(results(t, "held"), 0);
    /* Freed while waiting again: nothing leaks (ASan) and nothing runs. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", t->gw_port);
    snprintf(json, sizeof json, "{\"tag\": \"held2\", \"url\": \"%s\", \"timeout\": 60000}", url);
    pfx_emit(t, "fetch", json);
    for (int i = 0; i < 200 && t->nheld < 2; i++)
        pfx_spin(t, 10);
    assert_int_equal(net_active(t->app.net), 1);
}

static void test_routes(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"web", NULL};
    struct resp r;
    char url[256], *err = NULL, token[80];

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    pfx_fetch(t, "GET", "/t/hello/ana%20b?q=1&m=a&m=b", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(url, sizeof url, "{\"name\":\"ana b\",\"q\":\"1\",\"m\":[\"a\",\"b\"],\"h\":\"yes\","
             "\"url\":\"http://127.0.0.1:8080/t/hello/ana%%20b?q=1&m=a&m=b\",\"method\":\"GET\","
             "\"path\":\"/t/hello/ana b\"}");
    assert_json(r.body, url);
    pfx_fetch(t, "POST", "/t/form", "a=x+y&b=1&b=%C3%A9", "application/x-www-form-urlencoded",
              NULL, &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"a\":\"x y\",\"b\":[\"1\",\"é\"],\"body\":\"a=x+y&b=1&b=%C3%A9\"}");
    pfx_fetch(t, "GET", "/t/problem", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(r.body, "\"detail\":\"already done\""));
    pfx_fetch(t, "DELETE", "/t/empty", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    /* Roles: the server authenticates before the plugin runs. */
    pfx_fetch(t, "GET", "/api/v1/t/secret", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(tokens_add(t->fx->st, ROLE_ADMIN, "t", 0, token, sizeof token, &err), 0);
    pfx_fetch(t, "GET", "/api/v1/t/secret", NULL, NULL, token, &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"role\":\"admin\"}");
    /* Errors, bad answers, the budget and the memory cap: 500, counted,
     * and the next request is served. */
    pfx_fetch(t, "GET", "/t/boom", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 500);
    pfx_fetch(t, "GET", "/t/bad", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 500);
    pfx_fetch(t, "GET", "/t/nothing", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 500);
    pfx_fetch(t, "GET", "/t/loop", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 500);
    pfx_fetch(t, "GET", "/t/mem", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 500);
    assert_int_equal(plugin_errors("web"), 5);
    pfx_fetch(t, "GET", "/t/hello/x", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
}

static void test_route_waits(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"web", NULL};
    struct resp r, held;
    char path[256];

    pfx_start(t, names);
    snprintf(path, sizeof path, "/t/wait?url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fok", t->gw_port);
    pfx_fetch(t, "GET", path, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "got hello");
    /* Several waiting at once, answered as their waits end. */
    {
        struct resp many[4];

        for (int i = 0; i < 4; i++)
            pfx_send(t, "GET", path, NULL, NULL, NULL, &many[i]);
        for (int i = 0; i < 4; i++) {
            pfx_run(t, &many[i].done, 10000);
            assert_int_equal(many[i].status, 200);
        }
    }
    /* Writes before the first wait are committed then; writes after are
     * refused. */
    pfx_fetch(t, "POST", "/t/write?what=kept&status=201", "", NULL, NULL, &r);
    assert_int_equal(r.status, 201);
    pfx_fetch(t, "POST", "/t/write?what=dropped&status=422", "", NULL, NULL, &r);
    assert_int_equal(r.status, 422);
    snprintf(path, sizeof path, "/t/write-wait?url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fok",
             t->gw_port);
    pfx_fetch(t, "POST", path, "", NULL, NULL, &r);
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(r.body, "cannot write after it has waited"));
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM web_log WHERE what = 'kept'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM web_log WHERE what = 'dropped'"), 0);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM web_log WHERE what = 'before'"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM web_log WHERE what = 'after'"), 0);
    /* A reload answers 503 to a request still waiting; the routes are there
     * again afterwards, once each. */
    snprintf(path, sizeof path, "/t/wait?url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fslow", t->gw_port);
    pfx_send(t, "GET", path, NULL, NULL, NULL, &held);
    for (int i = 0; i < 200 && t->nheld == 0; i++)
        pfx_spin(t, 10);
    assert_int_equal(t->nheld, 1);
    assert_int_equal(plugins_reload(t->app.plugins), 0);
    pfx_run(t, &held.done, 5000);
    assert_int_equal(held.status, 503);
    pfx_fetch(t, "GET", "/t/hello/again", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    /* Freed with a request waiting: answered 503 by then too. */
    t->nheld = 0;
    pfx_send(t, "GET", path, NULL, NULL, NULL, &held);
    for (int i = 0; i < 200 && t->nheld == 0; i++)
        pfx_spin(t, 10);
    plugins_free(t->app.plugins);
    t->app.plugins = NULL;
    pfx_run(t, &held.done, 5000);
    assert_int_equal(held.status, 503);
    pfx_fetch(t, "GET", "/t/hello/gone", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
}

static void test_people(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"web", NULL};
    const char *form = "application/x-www-form-urlencoded";
    struct resp r;

    pfx_start(t, names);
    book(t->fx, 1, 10, 1);
    assert_true(nrows(t->fx, "channel = 'sms' AND status = 'pending'") > 0);
    sql(t->fx, "UPDATE notifications SET status = 'sent', provider_id = 'SM1' WHERE id ="
               " (SELECT min(id) FROM notifications WHERE channel = 'sms')");
    /* STOP from Ana's number, written as a French national number. */
    pfx_fetch(t, "POST", "/t/inbound", "From=06+12+34+56+78&Body=STOP&Sid=SM1", form, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_json(r.body, "{\"n\":1,\"reported\":true}");
    assert_int_equal(qv(t->fx, "SELECT consent_sms FROM beneficiaries WHERE id = 1"), 0);
    assert_int_equal(nrows(t->fx, "channel = 'sms' AND status = 'pending'"), 0);
    assert_true(nrows(t->fx, "channel = 'sms' AND status = 'suppressed'") > 0);
    assert_int_equal(nrows(t->fx, "provider_id = 'SM1' AND status = 'delivered'"), 1);
    /* START gives it back; a report again changes nothing; a short code is nobody. */
    pfx_fetch(t, "POST", "/t/inbound", "From=%2B33612345678&Body=START&Sid=SM1", form, NULL,
              &r);
    assert_json(r.body, "{\"n\":1,\"reported\":false}");
    assert_int_equal(qv(t->fx, "SELECT consent_sms FROM beneficiaries WHERE id = 1"), 1);
    pfx_fetch(t, "POST", "/t/inbound", "From=RELAIS&Body=STOP&Sid=x", form, NULL, &r);
    assert_json(r.body, "{\"n\":0,\"reported\":false}");
    assert_int_equal(qv(t->fx, "SELECT consent_sms FROM beneficiaries WHERE id = 1"), 1);
}

static void test_reload_routes(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"web", "clash", NULL};
    struct resp r;

    pfx_start(t, names);
    /* clash wants a route of web's shape: refused, web unharmed. */
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("clash"), 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plugins_reload(t->app.plugins), 0);
        /* Had web's routes not been removed, web itself would now clash. */
        assert_int_equal(plugins_count(t->app.plugins), 1);
        assert_int_equal(plugin_errors("web"), 0);
        pfx_fetch(t, "GET", "/t/hello/x", NULL, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(plugin_errors("clash"), 4);
}

/* Turns the loop until a notification matches WHERE (at most 10 s). */
static void wait_row(struct pfx *t, const char *where)
{
    for (int i = 0; i < 1000 && nrows(t->fx, "%s", where) == 0; i++)
        pfx_spin(t, 10);
}

/* A second person with a mobile phone who takes SMS. */
static void add_dan(struct pfx *t)
{
    sql(t->fx, "INSERT INTO beneficiaries (id, first_name, last_name, phone, consent_sms,"
               " created_at, updated_at) VALUES (4, 'Dan', 'D', '+33698765432', 1, 0, 0)");
}

static void test_channel(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"sms", NULL};
    char key[64], text[256];

    pfx_start(t, names);
    add_dan(t);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    /* Ana books: the sms confirmation goes through the plugin. */
    book(t->fx, 1, 10, 1);
    wait_row(t, "channel = 'sms' AND status = 'sent'");
    assert_int_equal(nrows(t->fx, "channel = 'sms' AND kind = 'confirmation' AND status = 'sent'"
                                  " AND provider_id = 'G1' AND segments = 2"), 1);
    qs(t->fx, key, sizeof key, "SELECT idem_key FROM notifications WHERE channel = 'sms'"
                               " AND kind = 'confirmation'");
    assert_string_equal(t->gw_idem, key);
    snprintf(text, sizeof text, "\"to\":\"+33612345678\"");
    assert_non_null(strstr(t->gw_body, text));
    assert_non_null(strstr(t->gw_body, "\"kind\":\"confirmation\""));
    assert_non_null(strstr(t->gw_body, "\"first_name\":\"Ana\""));
    assert_non_null(strstr(t->gw_body, "\"venue\":\"Médiathèque\""));
    assert_non_null(strstr(t->gw_body, "\"channel\":\"sms\""));
    /* A plugin error is a retry whose reason holds no personal data. */
    t->gw_status = 500;
    book(t->fx, 2, 10, 4);
    wait_row(t, "enrollment_id = 2 AND channel = 'sms' AND status = 'pending' AND attempts > 0");
    qs(t->fx, text, sizeof text, "SELECT error FROM notifications WHERE enrollment_id = 2"
                                 " AND channel = 'sms' AND kind = 'confirmation'");
    assert_string_equal(text, "plugin error at sms/plugin.lua:12");
    assert_int_equal(nrows(t->fx, "enrollment_id = 2 AND status = 'pending'"
                                  " AND kind = 'confirmation'"), 1);
    assert_int_equal(plugin_errors("sms"), 1);
}

static void test_channel_results(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"sms", NULL};
    char text[256];

    pfx_start(t, names);
    add_dan(t);
    /* A permanent refusal: failed, with the plugin's reason. */
    t->gw_status = 400;
    book(t->fx, 1, 10, 1);
    wait_row(t, "channel = 'sms' AND status = 'failed'");
    assert_int_equal(nrows(t->fx, "channel = 'sms' AND kind = 'confirmation' AND status ="
                                  " 'failed' AND error = 'invalid number'"), 1);
    /* A malformed result: a retry, said in fixed words. */
    t->gw_status = 418;
    book(t->fx, 2, 10, 4);
    wait_row(t, "enrollment_id = 2 AND channel = 'sms' AND status = 'pending' AND attempts > 0");
    qs(t->fx, text, sizeof text, "SELECT error FROM notifications WHERE enrollment_id = 2"
                                 " AND channel = 'sms' AND kind = 'confirmation'");
    assert_string_equal(text, "plugin error: the channel result's status is not sent, retry"
                              " or failed");
}

/* A plugin that is still loading (its plugin.lua waits on the network)
 * cannot do its part of an erasure: the plugin host vetoes it, naming the
 * plugin. Once no plugin is loading, an erasure nobody objects to goes. */
static void test_erasure_waits_for_loading(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"slowload", NULL};
    struct domain_event ev = {DOMAIN_BENEFICIARY_ERASED, t->fx->st, 1, 0, NULL, 0};
    char why[256];

    /* The plugin's own table, as its migration would have made it. */
    sql(t->fx, "CREATE TABLE slowload_cfg (url TEXT);"
               "INSERT INTO plugin_objects (name, plugin, type, created_at)"
               " VALUES ('slowload_cfg', 'slowload', 'table', 0);"
               "INSERT INTO slowload_cfg VALUES ('http://127.0.0.1:%d/slow')", t->gw_port);
    pfx_start(t, names);
    for (int i = 0; i < 200 && t->nheld == 0; i++)
        pfx_spin(t, 10);
    assert_int_equal(t->nheld, 1);
    assert_int_equal(plugins_count(t->app.plugins), 0);
    assert_int_equal(domain_events_emit(store_events(t->fx->st), &ev, why, sizeof why), -1);
    assert_string_equal(why, "plugins: plugin slowload is still loading");
    /* Other events are none of the plugins' business. */
    ev.kind = DOMAIN_CONSENT_WITHDRAWN;
    ev.channel = "sms";
    assert_int_equal(domain_events_emit(store_events(t->fx->st), &ev, why, sizeof why), 0);
    /* Without it, the erasure goes. */
    plugins_free(t->app.plugins);
    t->app.plugins = NULL;
    ev.kind = DOMAIN_BENEFICIARY_ERASED;
    assert_int_equal(domain_events_emit(store_events(t->fx->st), &ev, why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_on_reload, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_erasure_waits_for_loading, pfx_setup,
                                        pfx_teardown),
        cmocka_unit_test_setup_teardown(test_routes, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_route_waits, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_people, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_routes, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_channel, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_results, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
