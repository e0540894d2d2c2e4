/* Unit tests for config: defaults, every key good and bad (the error names
 * the key), the sandbox (no files, no bytecode, budgets), error lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "config.h"
#include "proxy.h"
#include "config_internal.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/relais-config-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/relais.conf.lua", dir);
    return 0;
}

static int teardown(void **state)
{
    char etc[160], def[200];

    (void)state;
    snprintf(etc, sizeof etc, "%s/etc", dir);
    snprintf(def, sizeof def, "%s/relais.conf.lua", etc);
    unlink(def);
    rmdir(etc);
    unlink(path);
    rmdir(dir);
    return 0;
}

static void write_file(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Loads TEXT as the config file: 0 or -1 with *ERR set. */
static int load(const char *text, struct config **cfg, char **err)
{
    write_file(path, text, strlen(text));
    return config_load(path, cfg, err);
}

static struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    char *err = NULL;

    if (load(text, &cfg, &err) != 0)
        fail_msg("config refused: %s\n--- %s", err ? err : "(no message)", text);
    assert_null(err);
    assert_non_null(cfg);
    return cfg;
}

/* The file must be refused with an error that names NEEDLE (a key, usually). */
static void load_bad(const char *text, const char *needle)
{
    struct config *cfg = NULL;
    char *err = NULL;

    if (load(text, &cfg, &err) == 0)
        fail_msg("config accepted: %s", text);
    assert_null(cfg);
    assert_non_null(err);
    if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, needle))
        fail_msg("error %s\n  does not name %s (for: %s)", err, needle, text);
    free(err);
}

static void check_defaults(const struct config *c)
{
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, 8080);
    assert_int_equal(c->limits.header_size, 32768);
    assert_int_equal(c->limits.connections, 512);
    assert_int_equal(c->limits.request_timeout, 60);
    assert_int_equal(c->limits.auth_failures, 10);
    assert_int_equal(c->login.idle, 12 * 3600);
    assert_int_equal(c->login.max, 7 * 86400);
    assert_int_equal(c->login.invite, 3 * 86400);
    assert_string_equal(c->database, "var/relais.db");
    assert_string_equal(c->timezone, "Europe/Paris");
    assert_string_equal(c->public_url, "http://127.0.0.1:8080");
    assert_string_equal(c->plugins_dir, "plugins");
    assert_int_equal(c->n_plugins, 5);
    assert_string_equal(c->plugins[0], "sms");
    assert_string_equal(c->plugins[4], "reports");
    assert_int_equal(c->quiet_enabled, 1);
    assert_int_equal(c->quiet_from_min, 1200);
    assert_int_equal(c->quiet_to_min, 480);
    assert_int_equal(c->reminder_confirmation, 1);
    assert_int_equal(c->n_reminder_before, 2);
    assert_int_equal(c->reminder_before[0], 48 * 3600);
    assert_int_equal(c->reminder_before[1], 2 * 3600);
    assert_int_equal(c->survey_after, 1800);
    assert_int_equal(c->retry_first, 30);
    assert_int_equal(c->retry_max, 3600);
    assert_int_equal(c->retry_attempts, 8);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->sms, "provider")),
                        "console");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->email, "provider")),
                        "console");
    assert_int_equal(c->body_limit, 1048576);
    assert_string_equal(c->log_level, "info");
    assert_null(c->link_secret);
    assert_true(cJSON_IsObject(c->surveys));
    assert_null(c->surveys->child);
}

static void test_defaults(void **state)
{
    struct config *c = NULL;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    check_defaults(c);
    config_free(c);
    /* An empty file (or one of comments) is the defaults too. */
    c = load_ok("-- nothing set\n");
    check_defaults(c);
    config_free(c);
    config_free(NULL);
}

/* With no path: the installed file when there is one, else
 * etc/relais.conf.lua of the working directory when there is one, else the
 * defaults (config_load_from with an installed path of our own, so that a
 * configuration installed on this machine changes nothing here). */
static void test_default_path(void **state)
{
    char cwd[512], etc[160], def[200], installed[200];
    const char *candidates[] = {installed, "etc/relais.conf.lua", NULL};
    struct config *c = NULL;
    char *err = NULL;

    (void)state;
    snprintf(installed, sizeof installed, "%s/installed.conf.lua", dir);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_null(config_find_default(candidates));
    assert_int_equal(config_load_from(NULL, candidates, &c, &err), 0);
    check_defaults(c);
    config_free(c);

    snprintf(etc, sizeof etc, "%s/etc", dir);
    snprintf(def, sizeof def, "%s/relais.conf.lua", etc);
    assert_int_equal(mkdir(etc, 0700), 0);
    write_file(def, "log_level = \"debug\"\n", 20);
    assert_string_equal(config_find_default(candidates), "etc/relais.conf.lua");
    assert_int_equal(config_load_from(NULL, candidates, &c, &err), 0);
    assert_string_equal(c->log_level, "debug");
    config_free(c);

    write_file(def, "log_level = \"loud\"\n", 19);
    assert_int_equal(config_load_from(NULL, candidates, &c, &err), -1);
    assert_non_null(strstr(err, "etc/relais.conf.lua: 'log_level'"));
    free(err);

    /* The installed file comes first. */
    write_file(installed, "log_level = \"warn\"\n", 19);
    assert_string_equal(config_find_default(candidates), installed);
    assert_int_equal(config_load_from(NULL, candidates, &c, &err), 0);
    assert_string_equal(c->log_level, "warn");
    config_free(c);
    unlink(installed);
    /* A path given on purpose is read even when defaults exist. */
    assert_int_equal(config_load_from(def, candidates, &c, &err), -1);
    free(err);
    assert_int_equal(chdir(cwd), 0);
}

static void test_missing_file(void **state)
{
    struct config *c = NULL;
    char *err = NULL;
    char p[160];

    (void)state;
    snprintf(p, sizeof p, "%s/nope.lua", dir);
    assert_int_equal(config_load(p, &c, &err), -1);
    assert_null(c);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "cannot open"));
    free(err);
}

static void test_all_keys(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("listen = \"[::1]:0\"\n"
                "database = \"data/x.db\"\n"
                "timezone = \"America/New_York\"\n"
                "public_url = \"https://relais.example.org/app//\"\n"
                "plugins_dir = \"/opt/relais/plugins\"\n"
                "plugins = { \"sms\", \"pix_2\" }\n"
                "quiet_hours = { from = \"21:30\" }\n"
                "reminders = { confirmation = false, before = { \"1d\", \"30m\", \"90s\" } }\n"
                "survey = { after = \"2h\" }\n"
                "sms = { provider = \"twilio\", url = \"https://api.twilio.com\",\n"
                "        account_sid = \"AC1\", retries = 3, ratio = 0.5, sandbox = true }\n"
                "email = { provider = \"smtp\", url = \"smtp://mail:25\", from = \"a@b.fr\" }\n"
                "body_limit = 2^20 * 2\n"
                "limits = { header_size = 2^12, request_timeout = \"2m\", pages_burst = 5,\n"
                "           auth_failures = 3 }\n"
                "log_level = \"debug\"\n");
    assert_string_equal(c->listen_host, "::1");
    assert_int_equal(c->listen_port, 0);
    assert_string_equal(c->database, "data/x.db");
    assert_string_equal(c->timezone, "America/New_York");
    assert_string_equal(c->public_url, "https://relais.example.org/app");
    assert_string_equal(c->plugins_dir, "/opt/relais/plugins");
    assert_int_equal(c->n_plugins, 2);
    assert_string_equal(c->plugins[1], "pix_2");
    assert_int_equal(c->quiet_enabled, 1);
    assert_int_equal(c->quiet_from_min, 21 * 60 + 30);
    assert_int_equal(c->quiet_to_min, 480);      /* the default stays */
    assert_int_equal(c->reminder_confirmation, 0);
    assert_int_equal(c->n_reminder_before, 3);
    assert_int_equal(c->reminder_before[0], 86400);
    assert_int_equal(c->reminder_before[1], 1800);
    assert_int_equal(c->reminder_before[2], 90);
    assert_int_equal(c->survey_after, 7200);
    char *sms = cJSON_PrintUnformatted(c->sms);
    assert_non_null(sms);
    assert_int_equal(strncmp(sms, "{\"provider\":\"twilio\",", 21), 0);
    free(sms);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->sms, "account_sid")), "AC1");
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(c->sms, "retries")) == 3);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(c->sms, "ratio")) == 0.5);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c->sms, "sandbox")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->email, "provider")), "smtp");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->email, "from")), "a@b.fr");
    assert_int_equal(c->body_limit, 2 * 1048576);
    assert_int_equal(c->limits.header_size, 4096);
    assert_int_equal(c->limits.request_timeout, 120);
    assert_int_equal(c->limits.pages_burst, 5);
    assert_int_equal(c->limits.auth_failures, 3);
    assert_int_equal(c->limits.connections, 512);   /* the defaults stay */
    assert_int_equal(c->limits.idle_timeout, 30);
    assert_int_equal(c->limits.pages_per_minute, 60);
    assert_int_equal(c->limits.clients, 4096);
    assert_string_equal(c->log_level, "debug");
    config_free(c);

    c = load_ok("listen = \"0.0.0.0:65535\"\nquiet_hours = false\n"
                "reminders = { before = {} }\nplugins = {}\nsms = { url = \"x\" }\n"
                "timezone = \"UTC\"\n");
    assert_string_equal(c->listen_host, "0.0.0.0");
    assert_int_equal(c->listen_port, 65535);
    assert_int_equal(c->quiet_enabled, 0);
    assert_int_equal(c->n_reminder_before, 0);
    assert_int_equal(c->reminder_confirmation, 1);
    assert_int_equal(c->n_plugins, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->sms, "provider")),
                        "console");
    config_free(c);

    /* Lua is Lua: locals and computed values are fine. */
    c = load_ok("local port = 8000 + 80\nlisten = \"localhost:\" .. port\n"
                "plugins = {}\nfor _, p in ipairs({\"a\", \"b\"}) do\n"
                "  table.insert(plugins, p) end\n");
    assert_string_equal(c->listen_host, "localhost");
    assert_int_equal(c->listen_port, 8080);
    assert_int_equal(c->n_plugins, 2);
    config_free(c);
}

static void test_exact_messages(void **state)
{
    struct config *c = NULL;
    char *err = NULL, want[256];

    (void)state;
    assert_int_equal(load("lisen = \"127.0.0.1:8080\"\n", &c, &err), -1);
    snprintf(want, sizeof want, "%s: unknown key 'lisen'", path);
    assert_string_equal(err, want);
    free(err);
    assert_int_equal(load("listen = 8080\n", &c, &err), -1);
    snprintf(want, sizeof want, "%s: 'listen' must be a string \"host:port\"", path);
    assert_string_equal(err, want);
    free(err);
    assert_int_equal(load("reminders = { before = { \"48h\", \"2 hours\" } }\n", &c, &err), -1);
    snprintf(want, sizeof want, "%s: 'reminders.before[2]' must be a duration like \"48h\"",
             path);
    assert_string_equal(err, want);
    free(err);
}

static void test_bad_keys(void **state)
{
    static const struct { const char *text, *needle; } cases[] = {
        {"listen = \"8080\"", "'listen'"},
        {"listen = \"host:\"", "'listen'"},
        {"listen = \":80\"", "'listen'"},
        {"listen = \"host:70000\"", "'listen'"},
        {"listen = \"host:8x\"", "'listen'"},
        {"listen = \"[::1]8080\"", "'listen'"},
        {"listen = \"a b:80\"", "'listen'"},
        {"listen = \"a\\0b:80\"", "'listen'"},
        {"database = \"\"", "'database'"},
        {"database = 5", "'database'"},
        {"timezone = \"Mars/Olympus\"", "'timezone'"},
        {"timezone = \"../../../etc/passwd\"", "'timezone'"},
        {"timezone = \"/etc/localtime\"", "'timezone'"},
        {"timezone = \"Europe\"", "'timezone'"},
        {"timezone = \"right/UTC\"", "'timezone'"},
        {"timezone = 1", "'timezone'"},
        {"public_url = \"ftp://x\"", "'public_url'"},
        {"public_url = \"http://\"", "'public_url'"},
        {"public_url = \"http://a b\"", "'public_url'"},
        {"public_url = \"http://a/?x=1\"", "'public_url'"},
        {"public_url = true", "'public_url'"},
        {"plugins_dir = \"\"", "'plugins_dir'"},
        {"plugins_dir = {}", "'plugins_dir'"},
        {"plugins = \"sms\"", "'plugins'"},
        {"plugins = { \"SMS\" }", "'plugins[1]'"},
        {"plugins = { \"sms\", \"-ab\" }", "'plugins[2]'"},
        {"plugins = { \"sms\", \"a b\" }", "'plugins[2]'"},
        {"plugins = { \"ab-\" }", "'plugins[1]'"},
        {"plugins = { \"1ab\" }", "'plugins[1]'"},
        {"plugins = { \"sms-ovh\", \"sms_ovh\" }", "'plugins[2]'"},
        {"plugins = { \"limits\" }", "'plugins[1]'"},
        {"plugins = { \"sms\", \"sms\" }", "'plugins[2]'"},
        {"plugins = { [2] = \"sms\" }", "'plugins'"},
        {"plugins = { x = \"sms\" }", "'plugins'"},
        {"plugins = { 1 }", "'plugins[1]'"},
        {"quiet_hours = true", "'quiet_hours'"},
        {"quiet_hours = { from = \"25:00\" }", "'quiet_hours.from'"},
        {"quiet_hours = { to = 8 }", "'quiet_hours.to'"},
        {"quiet_hours = { from = \"08:00\", to = \"08:00\" }", "'quiet_hours'"},
        {"quiet_hours = { frm = \"20:00\" }", "unknown key 'quiet_hours.frm'"},
        {"quiet_hours = { \"20:00\", \"08:00\" }", "unknown key 'quiet_hours[1]'"},
        {"reminders = { before = \"48h\" }", "'reminders.before'"},
        {"reminders = { before = { \"2h\", \"120m\" } }", "'reminders.before[2]'"},
        {"reminders = { before = { \"0h\" } }", "'reminders.before[1]'"},
        {"reminders = { confirmation = \"yes\" }", "'reminders.confirmation'"},
        {"reminders = { befor = {} }", "unknown key 'reminders.befor'"},
        {"reminders = true", "'reminders'"},
        {"survey = { after = \"soon\" }", "'survey.after'"},
        {"survey = { after = 30 }", "'survey.after'"},
        {"survey = { afterwards = \"1h\" }", "unknown key 'survey.afterwards'"},
        {"retry = { first = \"soon\" }", "'retry.first'"},
        {"retry = { attempts = 0 }", "'retry.attempts'"},
        {"retry = { attempts = 2.5 }", "'retry.attempts'"},
        {"retry = { first = \"2h\" }", "'retry.max' must not be shorter"},
        {"retry = { tries = 3 }", "unknown key 'retry.tries'"},
        {"retry = 3", "'retry'"},
        {"survey = \"30m\"", "'survey'"},
        {"sms = { provider = \"O V H\" }", "'sms.provider'"},
        {"sms = { provider = \"\" }", "'sms.provider'"},
        {"sms = { provider = 1 }", "'sms.provider'"},
        {"sms = { provider = \"twilio\", from = { 1, [3] = 2 } }", "'sms.from'"},
        {"sms = { provider = \"twilio\", from = { f = function() end } }", "'sms.from.f'"},
        {"sms = { provider = \"twilio\", hook = function() end }", "'sms.hook'"},
        {"sms = { \"twilio\" }", "unknown key 'sms[1]'"},
        {"sms = \"console\"", "'sms'"},
        {"email = { provider = \"smtp/x\" }", "'email.provider'"},
        {"email = { provider = \"smtp\", port = { {}, x = 1 } }", "'email.port'"},
        {"ovh = { key = \"x\" }", "unknown key 'ovh'"},
        {"plugins = { \"sms\" }\nsms = { provider = \"ovh\" }\nsms_twilio = {}",
         "unknown key 'sms_twilio'"},
        {"plugins = { \"acme\" }\nacme = 5", "unknown key 'acme'"},
        {"plugins = { \"acme\" }\nacme = { function() end }", "'acme[1]'"},
        {"sms = { provider = \"ovh\", url = \"x\" }\nsms_ovh = { url = \"y\" }",
         "'sms' and 'sms_ovh' both hold"},
        {"body_limit = 1023", "'body_limit'"},
        {"body_limit = 67108865", "'body_limit'"},
        {"limits = 5", "'limits'"},
        {"limits = { header_size = 1023 }", "'limits.header_size'"},
        {"limits = { connections = 0 }", "'limits.connections'"},
        {"limits = { connections = 1.5 }", "'limits.connections'"},
        {"limits = { request_timeout = 30 }", "'limits.request_timeout'"},
        {"limits = { idle_timeout = \"2h\" }", "'limits.idle_timeout'"},
        {"limits = { pages_per_minute = \"60\" }", "'limits.pages_per_minute'"},
        {"limits = { clients = 15 }", "'limits.clients'"},
        {"limits = { auth_failure = 3 }", "'limits.auth_failure'"},
        {"body_limit = 1.5e4 + 0.5", "'body_limit'"},
        {"body_limit = \"2048\"", "'body_limit'"},
        {"log_level = \"verbose\"", "'log_level'"},
        {"log_level = 1", "'log_level'"},
        {"function helper() end", "unknown key 'helper'"},
        {"_ENV[1] = 2", "unknown key '[1]'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        load_bad(cases[i].text, cases[i].needle);
}

/* Plugins' own tables and the gateway settings beside sms.provider: which
 * plugin gets which table (config_plugin_table), and under what name. */
static void test_plugin_tables(void **state)
{
    struct config *c;
    const cJSON *t;
    char src[64], name[100];
    int skip;

    (void)state;
    c = load_ok("plugins = { \"sms\", \"sms-ovh\", \"acme\" }\n"
                "sms = { provider = \"twilio\", url = \"https://t\", retries = { 1, 2 } }\n"
                "sms_ovh = { application_key = \"ak\", nested = { deep = true } }\n"
                "acme = { token = \"x\" }\n"
                "sms_twilio = nil\n");
    config_gateway_plugin(c, "sms", name, sizeof name);
    assert_string_equal(name, "sms-twilio");
    t = config_plugin_table(c, "sms-twilio", src, sizeof src, &skip);
    assert_ptr_equal(t, c->sms);
    assert_true(skip);
    assert_string_equal(src, "sms");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "retries")), 2);
    t = config_plugin_table(c, "sms-ovh", src, sizeof src, &skip);
    assert_non_null(t);
    assert_false(skip);
    assert_string_equal(src, "sms_ovh");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "nested"), "deep")));
    t = config_plugin_table(c, "acme", src, sizeof src, &skip);
    assert_string_equal(cJSON_GetObjectItem(t, "token")->valuestring, "x");
    assert_null(config_plugin_table(c, "pix", src, sizeof src, &skip));
    assert_string_equal(src, "pix");
    assert_ptr_equal(config_plugin_table(c, "sms", src, sizeof src, &skip), c->sms);
    assert_false(skip);
    config_gateway_plugin(c, "email", name, sizeof name);
    assert_string_equal(name, "email-console");
    config_free(c);

    /* A listed plugin named like the provider takes the settings; so does
     * the table of the gateway the provider names, unlisted. */
    c = load_ok("plugins = { \"sms\", \"acme\" }\n"
                "sms = { provider = \"acme\", token = \"y\" }\n"
                "email = { provider = \"relay\" }\nemail_relay = { host = \"h\" }\n");
    config_gateway_plugin(c, "sms", name, sizeof name);
    assert_string_equal(name, "acme");
    t = config_plugin_table(c, "acme", src, sizeof src, &skip);
    assert_ptr_equal(t, c->sms);
    assert_string_equal(src, "sms");
    t = config_plugin_table(c, "email-relay", src, sizeof src, &skip);
    assert_string_equal(cJSON_GetObjectItem(t, "host")->valuestring, "h");
    assert_string_equal(src, "email_relay");
    config_free(c);
}

/* trusted_proxies: CIDR ranges, IPv4 and IPv6, each checked at start with
 * its index in the message; public_url's scheme decides Secure cookies. */
static void test_trusted_proxies(void **state)
{
    struct config *c;
    struct proxy_addr a;

    (void)state;
    c = load_ok("-- none by default\n");
    assert_int_equal(c->n_trusted_proxies, 0);
    assert_false(config_public_https(c));
    config_free(c);
    c = load_ok("trusted_proxies = { \"127.0.0.1/32\", \"::1/128\", \"10.0.0.0/8\",\n"
                "                    \"192.0.2.7\", \"2001:db8::/32\" }\n"
                "public_url = \"https://relais.example.org\"\n");
    assert_int_equal(c->n_trusted_proxies, 5);
    assert_int_equal(c->trusted_proxies[1].addr.family, 6);
    assert_int_equal(c->trusted_proxies[2].bits, 8);
    assert_int_equal(c->trusted_proxies[3].bits, 32);
    assert_int_equal(proxy_addr_parse("10.20.30.40", 11, 0, &a), 0);
    assert_true(proxy_trusted(c->trusted_proxies, c->n_trusted_proxies, &a));
    assert_int_equal(proxy_addr_parse("11.0.0.1", 8, 0, &a), 0);
    assert_false(proxy_trusted(c->trusted_proxies, c->n_trusted_proxies, &a));
    assert_true(config_public_https(c));
    config_free(c);
    c = load_ok("trusted_proxies = {}\npublic_url = \"http://relais.example.org\"\n");
    assert_int_equal(c->n_trusted_proxies, 0);
    assert_false(config_public_https(c));
    config_free(c);
    assert_false(config_public_https(NULL));

    load_bad("trusted_proxies = \"127.0.0.1/32\"", "'trusted_proxies' must be a list");
    load_bad("trusted_proxies = { \"127.0.0.1/32\", x = \"::1\" }", "'trusted_proxies'");
    load_bad("trusted_proxies = { \"127.0.0.1/32\", \"localhost\" }",
             "'trusted_proxies[2]' must be an address range");
    load_bad("trusted_proxies = { \"10.0.0.1/8\" }",
             "'trusted_proxies[1]' has bits set past its prefix length");
    load_bad("trusted_proxies = { \"::1/129\" }", "'trusted_proxies[1]'");
    load_bad("trusted_proxies = { \"300.0.0.1\" }", "'trusted_proxies[1]'");
    load_bad("trusted_proxies = { 10 }", "'trusted_proxies[1]'");
    load_bad("trusted_proxies = { \"10.0.0.0/8\", nil, \"::1\" }", "'trusted_proxies'");
    {
        char text[4096] = "trusted_proxies = {";
        for (int i = 0; i <= PROXY_MAX_NETS; i++)
            strcat(text, "\"10.0.0.0/8\",");
        strcat(text, "}");
        load_bad(text, "'trusted_proxies' lists more than");
    }
}

/* A reload's report: changed keys by name, split into live and restart,
 * never their values. */
static void test_diff(void **state)
{
    struct config *a, *b;
    struct config_changes ch;

    (void)state;
    a = load_ok("sms = { provider = \"twilio\", auth_token = \"s3cret\" }\n");
    b = load_ok("sms = { provider = \"twilio\", auth_token = \"s3cret\" }\n");
    config_diff(a, b, &ch);
    assert_string_equal(ch.live, "");
    assert_string_equal(ch.restart, "");
    config_free(b);
    b = load_ok("sms = { provider = \"twilio\", auth_token = \"other\" }\n"
                "listen = \"127.0.0.1:9999\"\n"
                "database = \"elsewhere.db\"\n"
                "log_level = \"debug\"\n"
                "limits = { pages_burst = 3 }\n"
                "trusted_proxies = { \"::1\" }\n"
                "reminders = { before = { \"48h\" } }\n"
                "quiet_hours = false\n");
    config_diff(a, b, &ch);
    assert_string_equal(ch.live, "log_level, quiet_hours, reminders, sms, limits.pages_burst, "
                                 "trusted_proxies");
    assert_string_equal(ch.restart, "listen, database");
    assert_null(strstr(ch.live, "other"));
    config_free(b);
    /* Every other key, at once. */
    b = load_ok("plugins_dir = \"p\"\nplugins = {}\nsurvey = { after = \"1h\" }\n"
                "retry = { attempts = 2 }\nemail = { provider = \"smtp\" }\n"
                "surveys = { workshop = {} }\nbody_limit = 2048\n"
                "limits = { header_size = 2048, connections = 3, request_timeout = \"5s\",\n"
                "  idle_timeout = \"5s\", pages_per_minute = 1, pages_burst = 1,\n"
                "  auth_failures = 1, clients = 16 }\n"
                "timezone = \"UTC\"\npublic_url = \"https://x.example\"\n"
                "link_secret = \"0123456789abcdef0123456789abcdef\"\n"
                "login = { idle = \"1h\", max = \"2d\", invite = \"1d\" }\n");
    config_diff(a, b, &ch);
    assert_string_equal(ch.live, "plugins_dir, plugins, survey, retry, sms, email, surveys, "
                        "body_limit, limits.header_size, limits.connections, "
                        "limits.request_timeout, limits.idle_timeout, limits.pages_per_minute, "
                        "limits.pages_burst, limits.auth_failures, limits.clients, "
                        "login.idle, login.max, login.invite");
    assert_string_equal(ch.restart, "timezone, public_url, link_secret");
    config_free(b);
    /* The links' expiry and the metrics token: live, named, never shown. */
    b = load_ok("sms = { provider = \"twilio\", auth_token = \"s3cret\" }\n"
                "links = { expire_after = \"2h\" }\n"
                "metrics = { token = \"metrics-token-0123456789\" }\n");
    config_diff(a, b, &ch);
    assert_string_equal(ch.live, "links.expire_after, metrics.token");
    assert_string_equal(ch.restart, "");
    assert_null(strstr(ch.live, "0123456789"));
    config_free(b);
    config_free(a);
    /* The plugins' own tables, by name: changed, gone, new. */
    a = load_ok("plugins = { \"acme\", \"pix\", \"gamma\" }\n"
                "acme = { x = 1 }\npix = { y = 1 }\n");
    b = load_ok("plugins = { \"acme\", \"pix\", \"gamma\" }\n"
                "acme = { x = 2 }\ngamma = { z = true }\n");
    config_diff(a, b, &ch);
    assert_string_equal(ch.live, "acme, gamma, pix");
    assert_string_equal(ch.restart, "");
    config_free(b);
    config_free(a);
}

/* login = {…}: the staff sign-in's durations (core/auth/auth.c). */
static void test_login(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("login = { idle = \"30m\", max = \"2d\" }\n");
    assert_int_equal(c->login.idle, 1800);
    assert_int_equal(c->login.max, 2 * 86400);
    assert_int_equal(c->login.invite, 3 * 86400);   /* the default stays */
    config_free(c);
    load_bad("login = true", "'login'");
    load_bad("login = { idle = 60 }", "'login.idle'");
    load_bad("login = { idle = \"30s\" }", "'login.idle'");
    load_bad("login = { max = \"400d\" }", "'login.max'");
    load_bad("login = { invite = \"31d\" }", "'login.invite'");
    load_bad("login = { idle = \"3d\", max = \"1d\" }", "'login.idle'");
    load_bad("login = { idl = \"1h\" }", "'login.idl'");
}

static void test_retry(void **state)
{
    struct config *c;
    (void)state;
    c = load_ok("retry = { first = \"2s\", max = \"10s\", attempts = 3 }\n");
    assert_int_equal(c->retry_first, 2);
    assert_int_equal(c->retry_max, 10);
    assert_int_equal(c->retry_attempts, 3);
    config_free(c);
    c = load_ok("retry = { attempts = 12 }\n");   /* the others keep their defaults */
    assert_int_equal(c->retry_first, 30);
    assert_int_equal(c->retry_max, 3600);
    assert_int_equal(c->retry_attempts, 12);
    config_free(c);
}

/* links = {expire_after}, metrics = {token}. */
static void test_links_and_metrics(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("");
    assert_int_equal(c->links_expire_after, 90 * 86400);
    assert_null(c->metrics_token);
    config_free(c);
    c = load_ok("links = { expire_after = \"30d\" }\n"
                "metrics = { token = \"0123456789abcdef-metrics\" }\n");
    assert_int_equal(c->links_expire_after, 30 * 86400);
    assert_string_equal(c->metrics_token, "0123456789abcdef-metrics");
    config_free(c);
    load_bad("links = { expire_after = \"30m\" }\n", "links.expire_after");
    load_bad("links = { expire_after = 90 }\n", "links.expire_after");
    load_bad("links = { expire = \"90d\" }\n", "links.expire");
    load_bad("links = \"90d\"\n", "links");
    load_bad("metrics = { token = \"short\" }\n", "metrics.token");
    load_bad("metrics = { token = true }\n", "metrics.token");
    load_bad("metrics = { tokn = \"0123456789abcdef\" }\n", "metrics.tokn");
}

/* surveys = {…}: kept as JSON, shape checked, meaning left to the plugin. */
static void test_surveys(void **state)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"surveys = \"x\"", "'surveys'"},
        {"surveys = { {id = \"a\"} }", "'surveys'"},
        {"surveys = { workshop = { {id = function() end} } }", "'surveys.workshop[1].id'"},
        {"surveys = { workshop = { {id = \"a\", [2] = \"b\"} } }", "'surveys.workshop[1]'"},
        {"surveys = { workshop = { [1] = {}, [3] = {} } }", "'surveys.workshop'"},
        {"surveys = { a = {b = {c = {d = {e = {f = {g = {h = {}}}}}}}} }", "nested"},
        {"surveys = { [\"a\\0b\"] = 1 }", "'surveys'"},
        {"surveys = { w = \"a\\0b\" }", "'surveys.w'"},
        {"survey = { after = \"1h\", questions = {} }", "'survey.questions'"},
    };
    struct config *c;
    char *json;

    (void)state;
    c = load_ok("surveys = { training = {\n"
                "  {id = \"content\", label = \"Le contenu\", type = \"score\"},\n"
                "  {id = \"next\", label = \"Ensuite ?\", type = \"text\", max = 500,"
                " optional = true, ratio = 0.5},\n"
                "}, permanence = {} }\n");
    json = cJSON_PrintUnformatted(c->surveys);
    assert_non_null(json);
    /* Lua's key order is not the file's: compare the parts. */
    assert_non_null(strstr(json, "\"training\":[{"));
    assert_non_null(strstr(json, "\"permanence\":{}"));
    free(json);
    cJSON *tr = cJSON_GetObjectItem(c->surveys, "training");
    assert_true(cJSON_IsArray(tr));
    assert_int_equal(cJSON_GetArraySize(tr), 2);
    cJSON *q = cJSON_GetArrayItem(tr, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(q, "id")), "next");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(q, "label")), "Ensuite ?");
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(q, "max")) == 500);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(q, "ratio")) == 0.5);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(q, "optional")));
    assert_string_equal(cJSON_GetStringValue(
                            cJSON_GetObjectItem(cJSON_GetArrayItem(tr, 0), "type")), "score");
    config_free(c);
    /* Seven levels are fine; the eighth is refused (see bad[]). */
    c = load_ok("surveys = { a = {b = {c = {d = {e = {f = {g = 1}}}}}} }\n");
    config_free(c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        load_bad(bad[i].text, bad[i].needle);
}

/* territory, themes, reports: the records' vocabulary (config_records.c). */
static void test_records(void **state)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"territory = { \"Le Biollay\" }", "'territory'"},
        {"territory = { qpv = \"Le Biollay\" }", "'territory.qpv'"},
        {"territory = { qpv = { \"Le Biollay\", 3 } }", "'territory.qpv[2]'"},
        {"territory = { qpv = { \"\" } }", "'territory.qpv[1]'"},
        {"territory = { qpv = { \" Bellevue\" } }", "'territory.qpv[1]'"},
        {"territory = { qpv = { \"a\\nb\" } }", "'territory.qpv[1]'"},
        {"territory = { qpz = {} }", "'territory.qpz'"},
        {"themes = {}", "'themes'"},
        {"themes = \"smartphone\"", "'themes'"},
        {"themes = { \"smartphone\", \"smartphone\" }", "'themes[2]'"},
        {"themes = { \"a\\31b\" }", "'themes[1]'"},
        {"reports = { age_brackets = {} }", "'reports.age_brackets'"},
        {"reports = { age_brackets = { 26, 26 } }", "'reports.age_brackets[2]'"},
        {"reports = { age_brackets = { 36, 26 } }", "'reports.age_brackets[2]'"},
        {"reports = { age_brackets = { 0 } }", "'reports.age_brackets[1]'"},
        {"reports = { age_brackets = { 26.5 } }", "'reports.age_brackets[1]'"},
        {"reports = { periods = 3 }", "'reports.periods'"},
        {"reports = { 26, 36 }", "'reports'"},
    };
    struct config *c;

    (void)state;
    c = load_ok("");
    assert_int_equal(c->records.n_themes, 13);
    assert_string_equal(c->records.themes[0], "smartphone");
    assert_string_equal(c->records.themes[5], "identité numérique");
    assert_string_equal(c->records.themes[12], "autre");
    assert_int_equal(c->records.n_age_brackets, 4);
    assert_int_equal(c->records.age_brackets[0], 26);
    assert_int_equal(c->records.age_brackets[3], 56);
    assert_int_equal(c->records.n_qpv, 0);
    assert_int_equal(c->records.n_qva, 0);
    config_free(c);
    c = load_ok("territory = { qpv = { \"Le Biollay\", \"Les Épinettes\" }, qva = {} }\n"
                "themes = { \"démarches\", \"autre\" }\n"
                "reports = { age_brackets = { 12, 35, 60 } }\n");
    assert_int_equal(c->records.n_qpv, 2);
    assert_string_equal(c->records.qpv[1], "Les Épinettes");
    assert_int_equal(c->records.n_qva, 0);
    assert_int_equal(c->records.n_themes, 2);
    assert_string_equal(c->records.themes[0], "démarches");
    assert_int_equal(c->records.n_age_brackets, 3);
    assert_int_equal(c->records.age_brackets[2], 60);
    config_free(c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        load_bad(bad[i].text, bad[i].needle);
}

static void test_env(void **state)
{
    struct config *c;

    (void)state;
    assert_int_equal(setenv("RELAIS_TEST_SECRET", "s3cret", 1), 0);
    unsetenv("RELAIS_TEST_UNSET");
    c = load_ok("sms = { provider = \"twilio\", auth_token = env \"RELAIS_TEST_SECRET\",\n"
                "        missing = env \"RELAIS_TEST_UNSET\" }\n"
                "database = env \"RELAIS_TEST_UNSET\" or \"fallback.db\"\n");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c->sms, "auth_token")),
                        "s3cret");
    assert_null(cJSON_GetObjectItem(c->sms, "missing"));
    assert_string_equal(c->database, "fallback.db");
    config_free(c);
    load_bad("x = env()", ":1:");
    unsetenv("RELAIS_TEST_SECRET");
}

/* link_secret: optional, a string of 32 characters or more, usually from
 * the environment; an error never shows the value. */
static void test_link_secret(void **state)
{
    static const char good[] = "0123456789abcdef0123456789abcdef";
    struct config *c;
    char *err = NULL;

    (void)state;
    assert_int_equal(setenv("RELAIS_TEST_LINK_SECRET", good, 1), 0);
    c = load_ok("link_secret = env \"RELAIS_TEST_LINK_SECRET\"\n");
    assert_string_equal(c->link_secret, good);
    config_free(c);
    /* Unset in the environment: env gives nil, the key is absent. */
    unsetenv("RELAIS_TEST_LINK_SECRET");
    c = load_ok("link_secret = env \"RELAIS_TEST_LINK_SECRET\"\n");
    assert_null(c->link_secret);
    config_free(c);

    load_bad("link_secret = \"0123456789abcdef0123456789abcde\"", "'link_secret'");
    load_bad("link_secret = \"\"", "'link_secret'");
    load_bad("link_secret = 12345678901234567890123456789012", "'link_secret'");
    load_bad("link_secret = { \"0123456789abcdef0123456789abcdef\" }", "'link_secret'");
    load_bad("link_secret = \"0123456789abcdef\\000" "0123456789abcdef\"", "'link_secret'");
    assert_int_equal(load("link_secret = \"TOO-SHORT-SECRET-VALUE\"", &c, &err), -1);
    assert_null(strstr(err, "TOO-SHORT"));
    free(err);
}

static void test_sandbox_absent(void **state)
{
    struct config *c;

    (void)state;
    /* Each of these must be missing, or the assert (line 1) fails. */
    c = load_ok("assert(io == nil and os == nil and require == nil and load == nil\n"
                "  and dofile == nil and loadfile == nil and package == nil\n"
                "  and debug == nil and collectgarbage == nil and print == nil\n"
                "  and coroutine == nil and string.dump == nil\n"
                "  and getmetatable(\"\") == false)\n");
    config_free(c);
    load_bad("local f = io.open(\"/etc/passwd\")\n", ":1:");
    load_bad("\nos.execute(\"true\")\n", ":2:");
    load_bad("require(\"io\")\n", ":1:");
    load_bad("load(\"return 1\")()\n", ":1:");
    /* The string metatable is hidden (the one sandbox's, as plugins have
     * it): it leads back to no library table. */
    load_bad("local mt = getmetatable(\"\").__index\nmt.dump(print)\n", ":1:");
    /* Finalizers would run with the hook off: refused. */
    load_bad("setmetatable({}, { __gc = function() while true do end end })\n", "__gc");
    /* A plain setmetatable still works. */
    c = load_ok("local t = setmetatable({}, { __index = function() return 1 end })\n"
                "assert(t.x == 1)\n");
    config_free(c);
}

struct dump { char data[4096]; size_t len; };

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    struct dump *d = ud;
    (void)L;
    if (sz > sizeof d->data - d->len)
        return 1;
    memcpy(d->data + d->len, p, sz);
    d->len += sz;
    return 0;
}

/* Bytecode made by string.dump (lua_dump) is refused by the text-only load. */
static void test_bytecode_refused(void **state)
{
    lua_State *L = luaL_newstate();
    struct config *c = NULL;
    struct dump d = {{0}, 0};
    char *err = NULL;

    (void)state;
    assert_non_null(L);
    assert_int_equal(luaL_loadstring(L, "listen = \"0.0.0.0:1\""), LUA_OK);
    assert_int_equal(lua_dump(L, dump_writer, &d, 0), 0);
    lua_close(L);
    assert_true(d.len > 4 && d.data[0] == 0x1b);
    write_file(path, d.data, d.len);
    assert_int_equal(config_load(path, &c, &err), -1);
    assert_null(c);
    assert_non_null(strstr(err, "binary"));
    free(err);
}

static void test_budget(void **state)
{
    (void)state;
    load_bad("while true do end\n", "instruction budget");
    load_bad("while true do pcall(function() while true do end end) end\n",
             "instruction budget");
    load_bad("local function f() while true do end end\n"
             "while true do pcall(pcall, pcall, f) end\n", "instruction budget");
    load_bad("local function f() while true do end end\n"
             "while true do xpcall(f, function() while true do end end) end\n",
             "instruction budget");
}

static void test_memory(void **state)
{
    (void)state;
    load_bad("local s = string.rep(\"x\", 16 * 1024 * 1024)\n", "memory");
    load_bad("local t = {}\nfor i = 1, 1e9 do t[i] = i end\n", "memory");
    load_bad("local t = {}\nwhile true do t[#t + 1] = string.rep(\"y\", 1000) .. #t end\n",
             "memory");
    /* The file's pcall catches the memory error, and the next instruction
     * fails again (no endless emergency collections). */
    load_bad("local t = {}\nwhile true do pcall(function() t[#t + 1] = {} end) end\n",
             "memory");
    /* Work inside C functions counts through what they allocate: a
     * concatenation is one instruction. */
    load_bad("local s = string.rep(\"x\", 4e6)\nwhile true do local t = s .. #s end\n",
             "memory");
}

/* Work in C is priced as the plugins' is (the one sandbox): a C function
 * pays for what its arguments ask before it runs, and a pattern for each
 * step of its matching, so neither runs long inside one instruction. */
static void test_c_work_priced(void **state)
{
    (void)state;
    /* 25 million repetitions: stopped before anything is allocated. */
    load_bad("local s = string.rep(\"x\", 100 * 1024 * 1024)\n", "instruction budget");
    /* A pattern that backtracks 2^40 times. */
    load_bad("local s = string.rep(\"a\", 40)\n"
             "string.find(s, string.rep(\"a?\", 40) .. s)\n", "instruction budget");
    load_bad("local t = setmetatable({}, {__len = function() return 1e15 end})\n"
             "table.concat(t)\n", "instruction budget");
}

static void test_error_lines(void **state)
{
    struct config *c = NULL;
    char *err = NULL, want[200];

    (void)state;
    assert_int_equal(load("listen = \"127.0.0.1:80\"\n\nfoo = = 3\n", &c, &err), -1);
    snprintf(want, sizeof want, "%s:3:", path);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    free(err);
    assert_int_equal(load("\nx = nil + 1\n", &c, &err), -1);
    snprintf(want, sizeof want, "%s:2:", path);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    free(err);
    assert_int_equal(load("error(\"boom\", 0)\n", &c, &err), -1);
    snprintf(want, sizeof want, "%s: boom", path);
    assert_string_equal(err, want);
    free(err);
    assert_int_equal(load("error(setmetatable({}, { __tostring = function() "
                          "while true do end end }))\n", &c, &err), -1);
    assert_non_null(strstr(err, "table value"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_exact_messages),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_plugin_tables),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_links_and_metrics),
        cmocka_unit_test(test_surveys),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_link_secret),
        cmocka_unit_test(test_sandbox_absent),
        cmocka_unit_test(test_bytecode_refused),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_c_work_priced),
        cmocka_unit_test(test_error_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
