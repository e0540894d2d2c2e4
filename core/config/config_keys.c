/* config_keys.c — the known keys of the configuration file, their checks,
 * and the defaults. Split from config.c (the sandbox and the loading). */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "config_internal.h"
#include "rtime.h"

/* --- checking what the file left behind -----------------------------------
 * These run inside the protected call, with the tools of config_check.c: an
 * error is raised with lua_error and reaches the caller as "PATH: message".
 * Whatever they allocate is attached to the config at once, so
 * config_free() reclaims it whatever happens. Only raw table access is
 * used, so no metamethod of the file runs here. */

#define MAX_PLUGINS   64
#define MAX_REMINDERS 16

static void set_str(lua_State *L, char **field, const char *v)
{
    char *copy = strdup(v);

    if (!copy)
        config_bad(L, "out of memory");
    free(*field);
    *field = copy;
}

static void k_listen(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const char what[] = "a string \"host:port\"";
    const char *s = config_get_str(L, idx, name, what), *host, *port, *end;
    size_t hlen;
    long p = 0;

    if (s[0] == '[') {              /* "[::1]:8080" */
        end = strchr(s, ']');
        if (!end || end[1] != ':')
            config_bad(L, "'%s' must be %s", name, what);
        host = s + 1;
        hlen = (size_t)(end - host);
        port = end + 2;
        for (size_t i = 0; i < hlen; i++)
            if (!isalnum((unsigned char)host[i]) && !strchr(":.%", host[i]))
                config_bad(L, "'%s' must be %s", name, what);
    } else {
        end = strrchr(s, ':');
        if (!end)
            config_bad(L, "'%s' must be %s", name, what);
        host = s;
        hlen = (size_t)(end - s);
        port = end + 1;
        for (size_t i = 0; i < hlen; i++)
            if (!isalnum((unsigned char)host[i]) && !strchr(".-_", host[i]))
                config_bad(L, "'%s' must be %s", name, what);
    }
    if (hlen == 0 || hlen > 253 || !*port || strlen(port) > 5)
        config_bad(L, "'%s' must be %s", name, what);
    for (const char *c = port; *c; c++) {
        if (*c < '0' || *c > '9')
            config_bad(L, "'%s' must be %s", name, what);
        p = p * 10 + (*c - '0');
    }
    if (p > 65535)
        config_bad(L, "'%s' must be %s with a port from 0 to 65535", name, what);
    char *h = strndup(host, hlen);
    if (!h)
        config_bad(L, "out of memory");
    free(cfg->listen_host);
    cfg->listen_host = h;
    cfg->listen_port = (int)p;
}

static void k_database(lua_State *L, int idx, const char *name, struct config *cfg)
{
    const char *s = config_get_str(L, idx, name, "a file path");
    if (!*s)
        config_bad(L, "'%s' must be a file path", name);
    set_str(L, &cfg->database, s);
}

static void k_plugins_dir(lua_State *L, int idx, const char *name, struct config *cfg)
{
    const char *s = config_get_str(L, idx, name, "a directory path");
    if (!*s)
        config_bad(L, "'%s' must be a directory path", name);
    set_str(L, &cfg->plugins_dir, s);
}

/* A zone is a TZif file under the tzdata directory (TZDIR when set, as glibc
 * and rtime do); the name may not climb out of it, the "right/" tree counts
 * leap seconds, and the magic keeps out tables like "leapseconds". The same
 * rules as rt_set_timezone(), checked here without changing the process's
 * zone so that a bad name is reported with the file's other errors. */
static int zone_exists(const char *z)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    unsigned char magic[4];
    FILE *f;
    size_t n;

    if (!*z || z[0] == '/' || strstr(z, "..") || strstr(z, "//") || strlen(z) >= 64 ||
        strncmp(z, "right/", 6) == 0)
        return 0;
    for (const char *c = z; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
            return 0;
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    if (snprintf(path, sizeof path, "%s/%s", dir, z) >= (int)sizeof path)
        return 0;
    f = fopen(path, "rb");
    if (!f)
        return 0;
    n = fread(magic, 1, sizeof magic, f);   /* a directory reads nothing */
    fclose(f);
    return n == 4 && memcmp(magic, "TZif", 4) == 0;
}

static void k_timezone(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const char what[] = "a time zone of the system's tzdata, like \"Europe/Paris\"";
    const char *s = config_get_str(L, idx, name, what);
    if (!zone_exists(s))
        config_bad(L, "'%s' must be %s", name, what);
    set_str(L, &cfg->timezone, s);
}

static void k_public_url(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const char what[] = "a URL starting with http:// or https://";
    const char *s = config_get_str(L, idx, name, what);
    size_t len = strlen(s), pre;

    if (strncmp(s, "http://", 7) == 0)
        pre = 7;
    else if (strncmp(s, "https://", 8) == 0)
        pre = 8;
    else
        config_bad(L, "'%s' must be %s", name, what);
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
            config_bad(L, "'%s' must be %s (no spaces, query or fragment)", name, what);
    while (len > pre && s[len - 1] == '/')
        len--;
    if (len == pre || s[pre] == '/')
        config_bad(L, "'%s' must be %s and a host", name, what);
    char *copy = strndup(s, len);
    if (!copy)
        config_bad(L, "out of memory");
    free(cfg->public_url);
    cfg->public_url = copy;
}

/* --- plugin names and their own tables ------------------------------------
 * A plugin name is also the name of its config table and the prefix of its
 * SQL tables, once each '-' is read as '_' (its key): "sms-ovh" owns
 * `sms_ovh = {…}` and the tables sms_ovh_…. Gateway names (sms.provider)
 * follow the same syntax. */

int config_plugin_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONFIG_PLUGIN_NAME_MAX || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n && s[n - 1] != '-';
}

void config_plugin_key(const char *name, char *buf, size_t n)
{
    size_t i = 0;

    for (; n && name[i] && i + 1 < n; i++)
        buf[i] = name[i] == '-' ? '_' : name[i];
    if (n)
        buf[i] = '\0';
}

static int same_key(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return 0;
    return *a == *b;
}

static void k_plugins(lua_State *L, int idx, const char *name, struct config *cfg)
{
    size_t n = config_list_len(L, idx, name,
                               "a list of plugin names like {\"sms\", \"email\"}", MAX_PLUGINS);
    char **list = calloc(n ? n : 1, sizeof *list);

    if (!list)
        config_bad(L, "out of memory");
    for (size_t i = 0; i < cfg->n_plugins; i++)
        free(cfg->plugins[i]);
    free(cfg->plugins);
    cfg->plugins = list;
    cfg->n_plugins = 0;
    for (size_t i = 0; i < n; i++) {
        char item[192];
        snprintf(item, sizeof item, "%s[%d]", name, (int)i + 1);
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        const char *s = config_get_str(L, -1, item, "a plugin name (a-z, 0-9, _, -)");
        if (!config_plugin_name_ok(s))
            config_bad(L, "'%s' must be a plugin name (a-z, 0-9, _, -; starting with a letter)",
                       item);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->plugins[j], s) == 0)
                config_bad(L, "'%s' lists \"%s\" a second time", item, s);
            else if (same_key(cfg->plugins[j], s))
                config_bad(L, "'%s': \"%s\" and \"%s\" would share their config table and "
                           "table prefix (a '-' in a name reads as '_')", item, cfg->plugins[j],
                           s);
        list[i] = strdup(s);
        if (!list[i])
            config_bad(L, "out of memory");
        cfg->n_plugins = i + 1;
        lua_pop(L, 1);
    }
}

static void hhmm(lua_State *L, int idx, const char *name, int *out)
{
    const char *s = config_get_str(L, idx, name, "a time like \"20:00\"");
    if (rt_parse_hhmm(s, out) != 0)
        config_bad(L, "'%s' must be a time like \"20:00\"", name);
}

static void k_quiet_from(lua_State *L, int idx, const char *name, struct config *cfg)
{
    hhmm(L, idx, name, &cfg->quiet_from_min);
}

static void k_quiet_to(lua_State *L, int idx, const char *name, struct config *cfg)
{
    hhmm(L, idx, name, &cfg->quiet_to_min);
}

static void k_quiet_hours(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"from", k_quiet_from}, {"to", k_quiet_to}};

    if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx)) {
        cfg->quiet_enabled = 0;
        return;
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {from = \"20:00\", to = \"08:00\"} or false", name);
    cfg->quiet_enabled = 1;
    config_walk(L, idx, name, fields, 2, cfg);
    /* from == to would be an empty window or the whole day: say which. */
    if (cfg->quiet_from_min == cfg->quiet_to_min)
        config_bad(L, "'%s' must have different 'from' and 'to' times (or be false)", name);
}

static void k_confirmation(lua_State *L, int idx, const char *name, struct config *cfg)
{
    if (lua_type(L, idx) != LUA_TBOOLEAN)
        config_bad(L, "'%s' must be true or false", name);
    cfg->reminder_confirmation = lua_toboolean(L, idx);
}

static void k_before(lua_State *L, int idx, const char *name, struct config *cfg)
{
    size_t n = config_list_len(L, idx, name, "a list of durations like {\"48h\", \"2h\"}",
                               MAX_REMINDERS);
    int64_t *list = calloc(n ? n : 1, sizeof *list);

    if (!list)
        config_bad(L, "out of memory");
    free(cfg->reminder_before);
    cfg->reminder_before = list;
    cfg->n_reminder_before = 0;
    for (size_t i = 0; i < n; i++) {
        char item[192];
        snprintf(item, sizeof item, "%s[%d]", name, (int)i + 1);
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        list[i] = config_duration(L, -1, item, "48h");
        /* One reminder per offset: the outbox keys notifications by it. */
        for (size_t j = 0; j < i; j++)
            if (list[j] == list[i])
                config_bad(L, "'%s' repeats an earlier duration", item);
        cfg->n_reminder_before = i + 1;
        lua_pop(L, 1);
    }
}

static void k_reminders(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"confirmation", k_confirmation},
                                          {"before", k_before}};

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {confirmation = true, before = {\"48h\", \"2h\"}}",
              name);
    config_walk(L, idx, name, fields, 2, cfg);
}

static void k_survey_after(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->survey_after = config_duration(L, idx, name, "30m");
}

static void k_survey(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"after", k_survey_after}};

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {after = \"30m\"}", name);
    config_walk(L, idx, name, fields, 1, cfg);
}

static void k_retry_first(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->retry_first = config_duration(L, idx, name, "30s");
}

static void k_retry_max(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cfg->retry_max = config_duration(L, idx, name, "1h");
}

static void k_retry_attempts(lua_State *L, int idx, const char *name, struct config *cfg)
{
    lua_Integer v = 0;
    int ok = 0;

    if (lua_type(L, idx) == LUA_TNUMBER)
        v = lua_tointegerx(L, idx, &ok);
    if (!ok || v < 1 || v > 50)
        config_bad(L, "'%s' must be a whole number from 1 to 50", name);
    cfg->retry_attempts = (int)v;
}

static void k_retry(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"first", k_retry_first}, {"max", k_retry_max},
                                          {"attempts", k_retry_attempts}};

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {first = \"30s\", max = \"1h\", attempts = 8}", name);
    config_walk(L, idx, name, fields, 3, cfg);
    if (cfg->retry_max < cfg->retry_first)
        config_bad(L, "'%s.max' must not be shorter than '%s.first'", name, name);
}

/* sms and email: `provider` names the gateway (a plugin registers it with
 * relais.gateway; the core lists none, and an unknown one stops the start
 * once the plugins have loaded); the keys beside it are the gateway's
 * settings, kept as JSON with only their shape checked here: strings,
 * numbers, booleans and plain tables of them. The gateway checks them. */
static void channel(lua_State *L, int idx, const char *name, cJSON **field)
{
    const char *provider = "console";
    cJSON *obj;
    char item[192];

    if (lua_type(L, idx) != LUA_TTABLE)
        config_bad(L, "'%s' must be a table {provider = \"console\", …}", name);
    obj = cJSON_CreateObject();
    if (!obj)
        config_bad(L, "out of memory");
    cJSON_Delete(*field);
    *field = obj;

    snprintf(item, sizeof item, "%s.provider", name);
    lua_pushliteral(L, "provider");
    lua_rawget(L, idx);
    if (!lua_isnil(L, -1)) {
        provider = config_get_str(L, -1, item, "a gateway name like \"console\"");
        if (!config_plugin_name_ok(provider))
            config_bad(L, "'%s' must be a gateway name (a-z, 0-9, _, -; starting with a letter)",
                       item);
    }
    if (!cJSON_AddStringToObject(obj, "provider", provider))
        config_bad(L, "out of memory");
    lua_pop(L, 1);

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t len;
        const char *k;
        cJSON *v = NULL;

        config_key_name(L, -2, name, item, sizeof item);
        if (lua_type(L, -2) != LUA_TSTRING)
            config_bad(L, "unknown key '%s'", item);
        k = lua_tolstring(L, -2, &len);
        if (strlen(k) != len || !*k || len > 64)
            config_bad(L, "unknown key '%s'", item);
        if (strcmp(k, "provider") == 0) {
            lua_pop(L, 1);
            continue;
        }
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            v = cJSON_AddStringToObject(obj, k, config_get_str(L, -1, item, "a string"));
            break;
        case LUA_TNUMBER:
            v = cJSON_AddNumberToObject(obj, k, lua_isinteger(L, -1)
                                        ? (double)lua_tointeger(L, -1)
                                        : (double)lua_tonumber(L, -1));
            break;
        case LUA_TBOOLEAN:
            v = cJSON_AddBoolToObject(obj, k, lua_toboolean(L, -1));
            break;
        case LUA_TTABLE:
            v = config_table_is_list(L, lua_gettop(L)) ? cJSON_CreateArray()
                                                       : cJSON_CreateObject();
            if (v && !cJSON_AddItemToObject(obj, k, v)) {
                cJSON_Delete(v);
                v = NULL;
            }
            if (v)
                config_table_json(L, lua_gettop(L), item, v, 1);
            break;
        default:
            config_bad(L, "'%s' must be a string, a number, a boolean or a table of them", item);
        }
        if (!v)
            config_bad(L, "out of memory");
        lua_pop(L, 1);
    }
}

static void k_sms(lua_State *L, int idx, const char *name, struct config *cfg)
{
    channel(L, idx, name, &cfg->sms);
}

static void k_email(lua_State *L, int idx, const char *name, struct config *cfg)
{
    channel(L, idx, name, &cfg->email);
}

/* Any other key whose value is a table may be a plugin's own table; which
 * plugin it belongs to is checked once every key is read (check_tables). */
static void k_plugin_table(lua_State *L, int idx, const char *name, struct config *cfg)
{
    cJSON *v;

    if (lua_type(L, idx) != LUA_TTABLE || !config_plugin_name_ok(name) || strchr(name, '-'))
        config_bad(L, "unknown key '%s'", name);
    v = config_table_is_list(L, idx) ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!v || !cJSON_AddItemToObject(cfg->plugin_tables, name, v)) {
        cJSON_Delete(v);
        config_bad(L, "out of memory");
    }
    config_table_json(L, idx, name, v, 1);
}

/* surveys = {…}: the surveys plugin's own table (its questionnaires), kept
 * as JSON for it; the plugin checks what the entries mean when it loads. */
static void k_surveys(lua_State *L, int idx, const char *name, struct config *cfg)
{
    if (lua_type(L, idx) != LUA_TTABLE || config_table_is_list(L, idx))
        config_bad(L, "'%s' must be a table {workshop = {{id = …, label = …, type = …}, …}, …}",
            name);
    cJSON_Delete(cfg->surveys);
    if (!(cfg->surveys = cJSON_CreateObject()))
        config_bad(L, "out of memory");
    config_table_json(L, idx, name, cfg->surveys, 1);
}

static void k_body_limit(lua_State *L, int idx, const char *name, struct config *cfg)
{
    lua_Integer v = 0;
    int ok = 0;

    if (lua_type(L, idx) == LUA_TNUMBER)
        v = lua_tointegerx(L, idx, &ok);   /* 2^20 is a float, yet whole */
    if (!ok || v < 1024 || v > 67108864)
        config_bad(L, "'%s' must be a whole number of bytes from 1024 to 67108864", name);
    cfg->body_limit = (size_t)v;
}

static void k_log_level(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const char what[] = "one of \"debug\", \"info\", \"warn\", \"error\"";
    const char *s = config_get_str(L, idx, name, what);

    if (strcmp(s, "debug") && strcmp(s, "info") && strcmp(s, "warn") && strcmp(s, "error"))
        config_bad(L, "'%s' must be %s", name, what);
    set_str(L, &cfg->log_level, s);
}

/* The key of the beneficiary links: long enough that it cannot be guessed
 * (32 characters, as the 64 hex digits of a generated one are, or more). */
static void k_link_secret(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const char what[] = "a string of at least 32 characters";
    const char *s = config_get_str(L, idx, name, what);

    if (strlen(s) < 32)
        config_bad(L, "'%s' must be %s", name, what);
    set_str(L, &cfg->link_secret, s);
}

static int listed(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_plugins; i++)
        if (strcmp(cfg->plugins[i], name) == 0)
            return 1;
    return 0;
}

/* 1 when the sms or email table TBL holds settings beside `provider`. */
static int has_settings(const cJSON *tbl)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, tbl)
        if (!it->string || strcmp(it->string, "provider") != 0)
            return 1;
    return 0;
}

static const char *provider_of(const cJSON *tbl)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(tbl, "provider");

    return cJSON_IsString(p) ? p->valuestring : "console";
}

/* The plugin that takes the settings written beside `provider` in the table
 * of CHANNEL ("sms", "email"): the plugin "CHANNEL-P" when listed, else the
 * plugin "P" when listed, else "CHANNEL-P" (a bundled gateway, loaded
 * because it is named). Written into BUF. */
void config_gateway_plugin(const struct config *cfg, const char *channel, char *buf, size_t n)
{
    const char *p = provider_of(strcmp(channel, "sms") == 0 ? cfg->sms : cfg->email);

    snprintf(buf, n, "%s-%s", channel, p);
    if (!listed(cfg, buf) && listed(cfg, p))
        snprintf(buf, n, "%s", p);
}

const cJSON *config_plugin_table(const struct config *cfg, const char *name, char *source,
                                 size_t n, int *skip_provider)
{
    static const char *const channels[] = {"sms", "email"};
    char target[2 * CONFIG_PLUGIN_NAME_MAX + 2];

    *skip_provider = 0;
    snprintf(source, n, "%s", name);
    if (strcmp(name, "sms") == 0)
        return cfg->sms;
    if (strcmp(name, "email") == 0)
        return cfg->email;
    if (strcmp(name, "surveys") == 0)
        return cfg->surveys;
    for (size_t i = 0; i < 2; i++) {
        const cJSON *tbl = i == 0 ? cfg->sms : cfg->email;

        config_gateway_plugin(cfg, channels[i], target, sizeof target);
        if (has_settings(tbl) && strcmp(target, name) == 0) {
            *skip_provider = 1;
            snprintf(source, n, "%s", channels[i]);
            return tbl;
        }
    }
    config_plugin_key(name, source, n);
    return cJSON_GetObjectItemCaseSensitive(cfg->plugin_tables, source);
}

/* Once every key is read: each table left to plugins belongs to a listed
 * plugin or to the gateway a channel names, a channel's settings and the
 * gateway's own table are not both given, and no listed plugin takes the
 * name of a core key (its table would be that key). */
static void check_tables(lua_State *L, struct config *cfg, const struct config_field *fields,
                         size_t nfields)
{
    static const char *const channels[] = {"sms", "email"};
    char key[CONFIG_PLUGIN_NAME_MAX + 1], target[2 * CONFIG_PLUGIN_NAME_MAX + 2],
         tkey[sizeof target];
    const cJSON *it;

    for (size_t i = 0; i < cfg->n_plugins; i++) {
        config_plugin_key(cfg->plugins[i], key, sizeof key);
        for (size_t j = 0; j < nfields; j++)
            if (fields[j].name && strcmp(fields[j].name, key) == 0 && strcmp(key, "sms") &&
                strcmp(key, "email") && strcmp(key, "surveys") && strcmp(key, "reports"))
                config_bad(L, "'plugins[%d]': \"%s\" is the name of a core setting; "
                           "a plugin cannot be named so", (int)i + 1, cfg->plugins[i]);
    }
    cJSON_ArrayForEach(it, cfg->plugin_tables) {
        int known = 0;

        for (size_t i = 0; i < cfg->n_plugins && !known; i++) {
            config_plugin_key(cfg->plugins[i], key, sizeof key);
            known = strcmp(key, it->string) == 0;
        }
        for (size_t i = 0; i < 2 && !known; i++) {
            config_gateway_plugin(cfg, channels[i], target, sizeof target);
            config_plugin_key(target, tkey, sizeof tkey);
            known = strcmp(tkey, it->string) == 0;
        }
        if (!known)
            config_bad(L, "unknown key '%s' (a table of settings belongs to a plugin listed "
                       "in 'plugins' or to the gateway that 'sms.provider' or "
                       "'email.provider' names)", it->string);
    }
    for (size_t i = 0; i < 2; i++) {
        config_gateway_plugin(cfg, channels[i], target, sizeof target);
        config_plugin_key(target, tkey, sizeof tkey);
        if (has_settings(i == 0 ? cfg->sms : cfg->email) &&
            cJSON_GetObjectItemCaseSensitive(cfg->plugin_tables, tkey))
            config_bad(L, "'%s' and '%s' both hold the settings of gateway \"%s\": keep one",
                       channels[i], tkey,
                       provider_of(i == 0 ? cfg->sms : cfg->email));
    }
}

void config_read_globals(lua_State *L, int env, struct config *cfg)
{
    static const struct config_field fields[] = {
        {"listen", k_listen},           {"database", k_database},
        {"timezone", k_timezone},       {"public_url", k_public_url},
        {"plugins_dir", k_plugins_dir}, {"plugins", k_plugins},
        {"quiet_hours", k_quiet_hours}, {"reminders", k_reminders},
        {"survey", k_survey},           {"retry", k_retry},           {"sms", k_sms},
        {"email", k_email},             {"body_limit", k_body_limit},
        {"log_level", k_log_level},     {"link_secret", k_link_secret},
        {"surveys", k_surveys},         {"limits", config_k_limits},
        {"trusted_proxies", config_k_trusted_proxies},
        {"territory", config_k_territory}, {"themes", config_k_themes},
        {"reports", config_k_reports},
        {"login", config_k_login},
        {"links", config_k_links},      {"metrics", config_k_metrics},
        {NULL, k_plugin_table},
    };
    config_walk(L, env, "", fields, sizeof fields / sizeof fields[0], cfg);
    check_tables(L, cfg, fields, sizeof fields / sizeof fields[0]);
}

/* --- defaults ----------------------------------------------------------- */

int config_defaults(struct config **out)
{
    static const char *const plugins[] = {"sms", "email", "pix", "surveys", "reports"};
    struct config *c = calloc(1, sizeof *c);

    *out = NULL;
    if (!c)
        return -1;
    c->listen_host = strdup("127.0.0.1");
    c->listen_port = 8080;
    c->database = strdup("var/relais.db");
    c->timezone = strdup("Europe/Paris");
    c->public_url = strdup("http://127.0.0.1:8080");
    c->plugins_dir = strdup("plugins");
    c->log_level = strdup("info");
    c->plugins = calloc(5, sizeof *c->plugins);
    c->reminder_before = calloc(2, sizeof *c->reminder_before);
    c->sms = cJSON_CreateObject();
    c->email = cJSON_CreateObject();
    c->surveys = cJSON_CreateObject();
    c->plugin_tables = cJSON_CreateObject();
    if (!c->listen_host || !c->database || !c->timezone || !c->public_url ||
        !c->plugins_dir || !c->log_level || !c->plugins || !c->reminder_before ||
        !c->sms || !c->email || !c->surveys || !c->plugin_tables ||
        !cJSON_AddStringToObject(c->sms, "provider", "console") ||
        !cJSON_AddStringToObject(c->email, "provider", "console"))
        goto fail;
    for (; c->n_plugins < 5; c->n_plugins++) {
        c->plugins[c->n_plugins] = strdup(plugins[c->n_plugins]);
        if (!c->plugins[c->n_plugins])
            goto fail;
    }
    c->quiet_enabled = 1;
    c->quiet_from_min = 20 * 60;
    c->quiet_to_min = 8 * 60;
    c->reminder_confirmation = 1;
    c->reminder_before[0] = 48 * 3600;
    c->reminder_before[1] = 2 * 3600;
    c->n_reminder_before = 2;
    c->survey_after = 30 * 60;
    c->retry_first = 30;
    c->retry_max = 3600;
    c->retry_attempts = 8;
    c->body_limit = 1048576;
    config_limits_defaults(&c->limits);
    c->links_expire_after = 90 * 86400;
    if (config_records_defaults(c) != 0)
        goto fail;
    config_login_defaults(&c->login);
    *out = c;
    return 0;
fail:
    config_free(c);
    return -1;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->listen_host);
    free(cfg->database);
    free(cfg->timezone);
    free(cfg->public_url);
    free(cfg->plugins_dir);
    for (size_t i = 0; i < cfg->n_plugins; i++)
        free(cfg->plugins[i]);
    free(cfg->plugins);
    free(cfg->reminder_before);
    cJSON_Delete(cfg->sms);
    cJSON_Delete(cfg->email);
    cJSON_Delete(cfg->surveys);
    cJSON_Delete(cfg->plugin_tables);
    free(cfg->log_level);
    free(cfg->link_secret);
    free(cfg->trusted_proxies);
    free(cfg->metrics_token);
    config_records_free(cfg);
    free(cfg);
}
