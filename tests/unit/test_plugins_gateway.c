/* Composers and gateways (core/plugin/plugins_gateway.c) driven by the real
 * outbox: the gateway the provider names is loaded unlisted and gets
 * exactly the contract's message; composer results of every shape; reasons
 * masked; a missing gateway stops the start, and after a reload leaves the
 * channel waiting. relais.config_check and per-plugin tables
 * (core/plugin/plugins_config.c). And plugins/relais.d.lua against the live
 * `relais` table: every function and field declared, nothing declared that
 * is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "plugins_fixture.h"

/* Sets CHANNEL's provider to NAME. */
static void provider(struct pfx *t, const char *channel, const char *name)
{
    cJSON *tbl = strcmp(channel, "sms") == 0 ? t->app.cfg->sms : t->app.cfg->email;

    cJSON_DeleteItemFromObject(tbl, "provider");
    assert_non_null(cJSON_AddStringToObject(tbl, "provider", name));
}

static void wait_row(struct pfx *t, const char *where)
{
    for (int i = 0; i < 1000 && nrows(t->fx, "%s", where) == 0; i++)
        pfx_spin(t, 10);
}

static void person(struct pfx *t, int id, const char *first, const char *phone)
{
    sql(t->fx, "INSERT INTO beneficiaries (id, first_name, last_name, phone, consent_sms,"
               " created_at, updated_at) VALUES (%d, '%s', 'X', '%s', 1, 0, 0)", id, first,
        phone);
}

static void error_of(struct pfx *t, int enrollment, char *buf, size_t n)
{
    qs(t->fx, buf, n, "SELECT coalesce(error, '') FROM notifications WHERE enrollment_id = %d"
                      " AND channel = 'sms' AND kind = 'confirmation'", enrollment);
}

static void test_composed_send(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"comp", NULL};
    char key[64], want[512];
    cJSON *got, *w;

    provider(t, "sms", "gwt");
    pfx_start(t, names);
    /* comp, and sms-gwt loaded because the provider names it. */
    assert_int_equal(plugins_count(t->app.plugins), 2);
    book(t->fx, 1, 10, 1);
    wait_row(t, "channel = 'sms' AND status = 'sent'");
    qs(t->fx, key, sizeof key, "SELECT idem_key FROM notifications WHERE channel = 'sms'"
                               " AND kind = 'confirmation'");
    assert_string_equal(t->gw_idem, key);
    /* Exactly the contract's fields; the text is the composer's, the
     * segments the core's count (the gateway returned none). */
    snprintf(want, sizeof want, "{\"id\": %lld, \"kind\": \"confirmation\", \"to\":"
             " \"+33612345678\", \"text\": \"Bonjour Ana, rendez-vous ven. 6 mars à 14h00\","
             " \"segments\": 1, \"idempotency_key\": \"%s\"}",
             (long long)qv(t->fx, "SELECT id FROM notifications WHERE channel = 'sms' AND"
                                  " kind = 'confirmation'"), key);
    got = cJSON_Parse(t->gw_body);
    w = cJSON_Parse(want);
    assert_non_null(got);
    assert_non_null(w);
    if (!cJSON_Compare(got, w, 1))
        fail_msg("the gateway got %s, want %s", t->gw_body, want);
    cJSON_Delete(got);
    cJSON_Delete(w);
    assert_int_equal(nrows(t->fx, "channel = 'sms' AND status = 'sent' AND provider_id = 'G1'"
                                  " AND segments = 1"), 1);
}

static void test_composer_results(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"comp", NULL};
    char text[256];

    provider(t, "sms", "gwt");
    pfx_start(t, names);
    person(t, 4, "Bad", "+33600000004");
    person(t, 5, "Fail", "+33600000005");
    person(t, 6, "Long", "+33600000006");
    person(t, 7, "Sent", "+33600000007");
    book(t->fx, 4, 10, 4);
    book(t->fx, 5, 10, 5);
    book(t->fx, 6, 10, 6);
    book(t->fx, 7, 10, 7);
    wait_row(t, "enrollment_id = 4 AND channel = 'sms' AND attempts > 0");
    error_of(t, 4, text, sizeof text);
    assert_string_equal(text, "plugin error: the composer's result has a field that is not a"
                              " part of the sms gateway's message");
    wait_row(t, "enrollment_id = 5 AND channel = 'sms' AND status = 'failed'");
    error_of(t, 5, text, sizeof text);
    assert_string_equal(text, "the composer refused");
    wait_row(t, "enrollment_id = 6 AND channel = 'sms' AND attempts > 0");
    error_of(t, 6, text, sizeof text);
    assert_string_equal(text, "plugin error: the composer's 'text' is empty, too long or"
                              " malformed");
    /* "sent" without handing anything over is not believed. */
    wait_row(t, "enrollment_id = 7 AND channel = 'sms' AND attempts > 0");
    error_of(t, 7, text, sizeof text);
    assert_string_equal(text, "plugin error: a composer returns its parts, or a result that is"
                              " retry or failed");
    /* Nothing reached the gateway. */
    assert_int_equal(t->gw_hits, 0);
}

static void test_reason_masked(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"comp", NULL};
    char text[256];

    provider(t, "sms", "gwt");
    pfx_start(t, names);
    t->gw_status = 400;
    book(t->fx, 1, 10, 1);
    wait_row(t, "channel = 'sms' AND status = 'failed'");
    error_of(t, 1, text, sizeof text);
    /* The number as given, without its +, and written otherwise; a short
     * number (a time) stays. */
    assert_string_equal(text, "refused [number] ([number], or [number]) at 1200");
}

static void test_missing_gateway(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"comp", NULL};
    struct plugins *p = NULL;

    /* At start: the server does not start. */
    provider(t, "sms", "nope");
    pfx_start_status(t, names, -1);
    /* Started with one, reloaded without: the channel waits. */
    provider(t, "sms", "gwt");
    pfx_start(t, names);
    p = t->app.plugins;
    provider(t, "sms", "nope");
    assert_int_equal(plugins_reload(p), 0);
    book(t->fx, 1, 10, 1);
    pfx_spin(t, 300);
    assert_int_equal(nrows(t->fx, "channel = 'sms' AND kind = 'confirmation' AND"
                                  " status = 'pending' AND attempts = 0"), 1);
    assert_int_equal(t->gw_hits, 0);
    /* Back: it goes. */
    provider(t, "sms", "gwt");
    assert_int_equal(plugins_reload(p), 0);
    wait_row(t, "channel = 'sms' AND kind = 'confirmation' AND status = 'sent'");
    assert_int_equal(nrows(t->fx, "channel = 'sms' AND kind = 'confirmation' AND status = 'sent'"
                                  " AND attempts = 1"), 1);
}

/* Settings beside sms.provider for a gateway whose plugin has another name
 * (the test's sms table always holds "url"): refused, not left unused. */
static void test_settings_elsewhere(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"comp", "gwother", NULL};

    provider(t, "sms", "other");
    pfx_start_status(t, names, -1);
}

static void plugin_table(struct pfx *t, const char *key, const char *json)
{
    cJSON *v = cJSON_Parse(json);

    assert_non_null(v);
    cJSON_DeleteItemFromObject(t->app.cfg->plugin_tables, key);
    cJSON_AddItemToObject(t->app.cfg->plugin_tables, key, v);
}

static void test_config_check(void **state)
{
    struct pfx *t = *state;
    const char *const good[] = {"cfgchk", NULL}, *const bad[] = {"cfgchk", "cfgbad", NULL};

    plugin_table(t, "cfgchk", "{\"url\": \"https://x.example/api//\", \"port\": 8080.0,"
                              " \"name\": \"n\"}");
    pfx_start(t, good);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("cfgchk"), 0);
    plugins_free(t->app.plugins);
    t->app.plugins = NULL;
    /* A mistake in a plugin's table stops the start. */
    plugin_table(t, "cfgbad", "{\"port\": \"80\"}");
    pfx_start_status(t, bad, -1);
    assert_int_equal(plugin_errors("cfgbad"), 1);
}

/* --- relais.d.lua --------------------------------------------------------------- */

/* Adds "PATH KIND" for every function (f), table (t) and other value (v)
 * under the table at IDX; relais.config and relais.settings hold data (their
 * fields are documented as classes), so they are not walked. */
static void walk(lua_State *L, int idx, const char *prefix, char **out, size_t *n)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char path[256];
        int type = lua_type(L, -1);

        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 1);
            continue;
        }
        snprintf(path, sizeof path, "%s.%s", prefix, lua_tostring(L, -2));
        assert_true(*n < 512);
        assert_true(asprintf(&out[(*n)++], "%s %c", path, type == LUA_TFUNCTION ? 'f'
                             : type == LUA_TTABLE ? 't' : 'v') > 0);
        if (type == LUA_TTABLE && strcmp(path, "relais.config") != 0 &&
            strcmp(path, "relais.settings") != 0)
            walk(L, -1, path, out, n);
        lua_pop(L, 1);
    }
}

/* The declarations of relais.d.lua: "function relais.a.b(" is a function,
 * "relais.a = {" a table, "relais.a.b = …" another value. */
static void declared(const char *file, char **out, size_t *n)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    int first = 1;

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        char path[256], *end;
        const char *s = line;
        char kind;

        if (first)
            assert_true(strncmp(line, "---@meta", 8) == 0);
        first = 0;
        if (strncmp(s, "function relais.", 16) == 0) {
            s += 9;
            kind = 'f';
            end = strchr(s, '(');
        } else if (strncmp(s, "relais.", 7) == 0 && strstr(s, " = ")) {
            end = strstr(s, " = ");
            kind = strncmp(end, " = {", 4) == 0 ? 't' : 'v';
        } else {
            continue;
        }
        assert_non_null(end);
        snprintf(path, sizeof path, "%.*s", (int)(end - s), s);
        assert_true(*n < 512);
        assert_true(asprintf(&out[(*n)++], "%s %c", path, kind) > 0);
    }
    fclose(f);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_definitions(void **state)
{
    struct pfx *t = *state;
    const char *const names[] = {"comp", NULL};
    char *live[512], *decl[512], file[PATH_MAX + 64];
    size_t nl = 0, nd = 0, i = 0, j = 0, drift = 0;
    lua_State *L, *check;

    provider(t, "sms", "gwt");
    pfx_start(t, names);
    L = t->app.plugins->list[0]->L;
    assert_non_null(L);
    assert_int_equal(lua_getglobal(L, "relais"), LUA_TTABLE);
    walk(L, -1, "relais", live, &nl);
    lua_pop(L, 1);
    snprintf(file, sizeof file, "%s/../../../plugins/relais.d.lua", t->dir);
    /* It is valid Lua. */
    check = luaL_newstate();
    assert_non_null(check);
    if (luaL_loadfile(check, file) != LUA_OK)
        fail_msg("%s", lua_tostring(check, -1));
    lua_close(check);
    declared(file, decl, &nd);
    qsort(live, nl, sizeof *live, by_text);
    qsort(decl, nd, sizeof *decl, by_text);
    /* Both sorted: one pass lists every difference (f function, t table,
     * v other value). */
    while (i < nl || j < nd) {
        int c = i == nl ? 1 : j == nd ? -1 : strcmp(live[i], decl[j]);

        if (c == 0) {
            i++, j++;
            continue;
        }
        fprintf(stderr, "# relais.d.lua: %s %s\n", c < 0 ? "not declared:"
                : "declared, not in the live table:", c < 0 ? live[i++] : decl[j++]);
        drift++;
    }
    for (i = 0; i < nl; i++)
        free(live[i]);
    for (j = 0; j < nd; j++)
        free(decl[j]);
    if (drift)
        fail_msg("plugins/relais.d.lua and the relais table differ in %zu places (above)",
                 drift);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_composed_send, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_composer_results, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_reason_masked, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_missing_gateway, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_settings_elsewhere, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_config_check, pfx_setup, pfx_teardown),
        cmocka_unit_test_setup_teardown(test_definitions, pfx_setup, pfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
