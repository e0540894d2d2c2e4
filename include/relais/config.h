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
    /* Extensions beyond the contract's example (documented in etc/). */
    size_t body_limit;        /* max request body in bytes, default 1 MiB */
    char *log_level;          /* "info" */
    char *link_secret;        /* HMAC key of beneficiary links (≥ 32 chars);
                                 NULL: a file beside the database (links.h) */
    /* limits = {…}: what one client may take of the server (http.h). Read
     * at start only; a reload (SIGHUP) leaves them as they were. */
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
    /* links = {expire_after = "90d"}: a beneficiary's link stops working
     * that long after its session ended (links.h). Read at start. */
    int64_t links_expire_after;
    /* metrics = {token = env "…"}: when set, GET /metrics wants it as a
     * bearer token (NULL: public, as the contract has it). */
    char *metrics_token;
};

/* Loads PATH. When PATH is NULL, the default path etc/relais.conf.lua is used
 * if it exists, else the defaults alone. On failure returns -1 and sets *err
 * (malloc'd, caller frees) to a message naming the file and the key. */
int config_load(const char *path, struct config **out, char **err);
/* The defaults alone (never fails except on out-of-memory: -1). */
int config_defaults(struct config **out);
void config_free(struct config *cfg);

#endif
