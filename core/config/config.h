/* config — the sandboxed Lua configuration file of the contract.
 *
 * The file is evaluated in a fresh Lua state with only `env "NAME"` and a few
 * pure libraries (string, table, math); it cannot read files, run programs or
 * load bytecode. Every global it leaves behind must be a known key of the right
 * type: anything else is an error naming the key, so a typo is caught at start
 * rather than silently ignored. Missing keys take the defaults documented in
 * etc/relais.conf.lua.
 *
 * Ownership: config_load() returns a struct the caller frees with
 * config_free(); every string in it is owned by the struct. */
#ifndef RELAIS_CONFIG_H
#define RELAIS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

struct proxy_net;
#define CONFIG_MAX_AGE_BRACKETS 16
#define CONFIG_MAX_THEMES 64

struct config {
    char *listen_host;        /* "127.0.0.1" */
    int listen_port;          /* 8080 */
    char *database;           /* "var/relais.db" */
    char *timezone;           /* "Europe/Paris" (validated against tzdata) */
    char *public_url;         /* "http://127.0.0.1:8080", no trailing slash */
    char *plugins_dir;        /* "plugins" */
    char **plugins;           /* names, in load order */
    size_t n_plugins;
    int quiet_enabled;        /* quiet_hours = false → 0 */
    int quiet_from_min;       /* minutes after local midnight: 20:00 → 1200 */
    int quiet_to_min;         /* 08:00 → 480 */
    int reminder_confirmation;/* reminders.confirmation */
    int64_t *reminder_before; /* seconds before starts_at, as listed */
    size_t n_reminder_before;
    int64_t survey_after;     /* seconds after ends_at */
    /* retry = {first = "30s", max = "1h", attempts = 8}: a transient gateway
     * failure is retried after FIRST, doubling up to MAX, ATTEMPTS in all. */
    int64_t retry_first;
    int64_t retry_max;
    int retry_attempts;
    cJSON *sms;               /* the sms table as JSON (provider + its keys) */
    cJSON *email;             /* the email table as JSON */
    cJSON *surveys;           /* the surveys table as JSON (plugins/surveys):
                                 nested tables of strings, numbers and
                                 booleans; {} by default */
    cJSON *plugin_tables;     /* the other plugins' own tables (`NAME = {…}`,
                                 plugins/API.md), by key: shape checked only */
    /* Extensions beyond the contract's example (documented in etc/). */
    size_t body_limit;        /* max request body in bytes, default 1 MiB */
    char *log_level;          /* "info" */
    char *link_secret;        /* HMAC key of beneficiary links (≥ 32 chars);
                                 NULL: a file beside the database (links.h) */
    /* limits = {…}: what one client may take of the server (http.h). A
     * reload (SIGHUP) applies them (http_server_set_limits). */
    struct config_limits {
        size_t header_size;   /* request line + headers, bytes (431 beyond) */
        int connections;      /* open at once (beyond: 503, closed) */
        int request_timeout;  /* seconds from a request's first byte to its
                                 last (408, closed) */
        int idle_timeout;     /* seconds a connection may stay silent */
        int pages_per_minute; /* /r/ and /s/ requests per client address */
        int pages_burst;      /* … of which at once */
        int auth_failures;    /* wrong tokens per client address per minute
                                 before its token requests get 429 */
        int clients;          /* client addresses the rate limits remember */
    } limits;
    /* trusted_proxies = {"127.0.0.1/32", "::1/128", …}: the reverse proxies
     * whose X-Forwarded-For is believed (proxy.h); none by default. */
    struct proxy_net *trusted_proxies;
    size_t n_trusted_proxies;
    /* The programme's records (core/config/config_records.c, etc/relais.conf.lua):
     * reloaded by SIGHUP. Every string is owned by the struct. */
    struct config_records {
        /* territory = {qpv = {…}, qva = {…}}: neighbourhood names (as
         * written) that set a beneficiary's residence when none is given. */
        char **qpv;
        size_t n_qpv;
        char **qva;
        size_t n_qva;
        /* themes = {…}: the themes an accompaniment may have, in order
         * (default: the programme's typology of the contract). */
        char **themes;
        size_t n_themes;
        /* reports = {age_brackets = {26, 36, 46, 56}}: the first age of
         * every bracket after the first, strictly increasing: "<26",
         * "26-35", "36-45", "46-55", "56+". */
        int age_brackets[CONFIG_MAX_AGE_BRACKETS];
        size_t n_age_brackets;
    } records;
    /* login = {…}: staff sign-in (core/auth/auth.c), in seconds. */
    struct config_login {
        int64_t idle;         /* a session unused this long ends (12h) */
        int64_t max;          /* a session ends this long after sign-in (7d) */
        int64_t invite;       /* an e-mailed set-password link works (3d) */
    } login;
    /* links = {expire_after = "90d"}: a beneficiary's link stops working
     * that long after its session ended (links.h). SIGHUP applies it. */
    int64_t links_expire_after;
    /* metrics = {token = env "…"}: when set, GET /metrics wants it as a
     * bearer token (NULL: public, as the contract has it). Read at each
     * request: SIGHUP applies it. */
    char *metrics_token;
};

/* Loads PATH. When PATH is NULL, the first of the default paths that exists
 * is read (config_default_path), else the defaults alone are used. On
 * failure returns -1 and sets *err (malloc'd, caller frees) to a message
 * naming the file and the key. */
int config_load(const char *path, struct config **out, char **err);
/* The file config_load(NULL, …) reads now: the installed configuration
 * (RELAIS_DEFAULT_CONFIG, meson's sysconfdir/relais/relais.conf.lua) when
 * it exists, else etc/relais.conf.lua of the working directory when that
 * exists (a source tree), else NULL (the built-in defaults). Static text. */
const char *config_default_path(void);
/* The defaults alone (never fails except on out-of-memory: -1). */
int config_defaults(struct config **out);
void config_free(struct config *cfg);

/* What a reload (SIGHUP) would change: the names of the keys whose values
 * differ between the running configuration OLD and the file just read NEW,
 * comma-separated, in LIVE (what a running server takes: log_level, the
 * notification rules, plugins, body_limit, limits.*, trusted_proxies) and
 * RESTART (listen, database, timezone, public_url, link_secret: they keep
 * their running values until a restart). Names only, never values. */
struct config_changes {
    char live[512];
    char restart[128];
};
void config_diff(const struct config *old, const struct config *fresh,
                 struct config_changes *out);

/* 1 when public_url is https://: what people reach is served over TLS (by
 * a proxy in front), so cookies must carry Secure. */
int config_public_https(const struct config *cfg);

/* --- plugin names and settings (plugins/API.md, "Names and settings") ---- */
#define CONFIG_PLUGIN_NAME_MAX 48
/* 1 when S is a plugin or gateway name: a-z, 0-9, '_' and '-', starting
 * with a letter or '_', not ending with '-', at most 48 characters. */
int config_plugin_name_ok(const char *s);
/* The key of plugin NAME (each '-' read as '_'): the name of its config
 * table and the prefix of its SQL tables. Written into BUF (N bytes). */
void config_plugin_key(const char *name, char *buf, size_t n);
/* The name of the plugin that takes the settings written beside
 * `provider` in CHANNEL's table ("sms" or "email"): "CHANNEL-P" when
 * listed, else "P" when listed, else "CHANNEL-P" (loaded because the
 * channel names it). Written into BUF (N bytes). */
void config_gateway_plugin(const struct config *cfg, const char *channel, char *buf, size_t n);
/* What plugin NAME gets as relais.config: the sms, email or surveys table
 * for the plugins of those names; the channel's table without `provider`
 * (*SKIP_PROVIDER set) for the plugin config_gateway_plugin names when the
 * table holds settings; else its own table, or NULL (an empty table).
 * SOURCE (N bytes) gets the config key the settings come from (or would),
 * for messages: "sms", "sms_ovh". */
const cJSON *config_plugin_table(const struct config *cfg, const char *name, char *source,
                                 size_t n, int *skip_provider);

#endif
