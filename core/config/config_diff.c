/* config_diff.c — what a reload changes (config_diff in
 * core/config/config.h): the keys whose values differ between the
 * running configuration and the file just read, split into those a running
 * server takes on SIGHUP and those that take a restart. Only key names are
 * reported, never values: the sms and email tables hold secrets. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

static int str_differ(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

static int json_differ(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a != b;
    return !cJSON_Compare(a, b, 1);
}

static int plugins_differ(const struct config *a, const struct config *b)
{
    if (a->n_plugins != b->n_plugins)
        return 1;
    for (size_t i = 0; i < a->n_plugins; i++)
        if (strcmp(a->plugins[i], b->plugins[i]) != 0)
            return 1;
    return 0;
}

static int reminders_differ(const struct config *a, const struct config *b)
{
    if (a->reminder_confirmation != b->reminder_confirmation ||
        a->n_reminder_before != b->n_reminder_before)
        return 1;
    for (size_t i = 0; i < a->n_reminder_before; i++)
        if (a->reminder_before[i] != b->reminder_before[i])
            return 1;
    return 0;
}

static int proxies_differ(const struct config *a, const struct config *b)
{
    if (a->n_trusted_proxies != b->n_trusted_proxies)
        return 1;
    for (size_t i = 0; i < a->n_trusted_proxies; i++) {
        const struct proxy_net *x = &a->trusted_proxies[i], *y = &b->trusted_proxies[i];
        if (x->bits != y->bits || x->addr.family != y->addr.family ||
            memcmp(x->addr.b, y->addr.b, sizeof x->addr.b) != 0)
            return 1;
    }
    return 0;
}

/* Appends NAME to BUF (", " between names); a list too long for BUF ends
 * with "…". */
static void add(char *buf, size_t n, const char *name)
{
    size_t len = strlen(buf);

    if (len + 2 + strlen(name) + sizeof "…" > n) {
        if (len + sizeof "…" <= n && !strstr(buf, "…"))
            strcat(buf, "…");
        return;
    }
    if (len)
        strcat(buf, ", ");
    strcat(buf, name);
}
static int strs_differ(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return 1;
    for (size_t i = 0; i < na; i++)
        if (str_differ(a[i], b[i]))
            return 1;
    return 0;
}

static int territory_differ(const struct config_records *a, const struct config_records *b)
{
    return strs_differ(a->qpv, a->n_qpv, b->qpv, b->n_qpv) ||
           strs_differ(a->qva, a->n_qva, b->qva, b->n_qva);
}

static int brackets_differ(const struct config_records *a, const struct config_records *b)
{
    return a->n_age_brackets != b->n_age_brackets ||
           memcmp(a->age_brackets, b->age_brackets,
                  a->n_age_brackets * sizeof a->age_brackets[0]) != 0;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The plugins' own tables (sms_ovh = {…}) that differ, gone or new: each
 * by its name, in order (their order in the file is lost), applied live
 * (the plugins are reloaded). There are at most 66: one per plugin listed
 * (64) and the two gateways the channels name. */
static void plugin_tables_diff(const cJSON *a, const cJSON *b, struct config_changes *out)
{
    const char *names[128];
    size_t n = 0;
    const cJSON *it;

    cJSON_ArrayForEach(it, a)
        if (n < 128 && json_differ(it, cJSON_GetObjectItemCaseSensitive(b, it->string)))
            names[n++] = it->string;
    cJSON_ArrayForEach(it, b)
        if (n < 128 && !cJSON_GetObjectItemCaseSensitive(a, it->string))
            names[n++] = it->string;
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++)
        add(out->live, sizeof out->live, names[i]);
}

void config_diff(const struct config *a, const struct config *b, struct config_changes *out)
{
    const struct config_limits *la = &a->limits, *lb = &b->limits;
    const struct {
        const char *name;
        int differ;
        int restart;
    } keys[] = {
        {"listen", str_differ(a->listen_host, b->listen_host) ||
                   a->listen_port != b->listen_port, 1},
        {"database", str_differ(a->database, b->database), 1},
        {"timezone", str_differ(a->timezone, b->timezone), 1},
        {"public_url", str_differ(a->public_url, b->public_url), 1},
        {"link_secret", str_differ(a->link_secret, b->link_secret), 1},
        {"log_level", str_differ(a->log_level, b->log_level), 0},
        {"plugins_dir", str_differ(a->plugins_dir, b->plugins_dir), 0},
        {"plugins", plugins_differ(a, b), 0},
        {"quiet_hours", a->quiet_enabled != b->quiet_enabled ||
                        (a->quiet_enabled && (a->quiet_from_min != b->quiet_from_min ||
                                              a->quiet_to_min != b->quiet_to_min)), 0},
        {"reminders", reminders_differ(a, b), 0},
        {"survey", a->survey_after != b->survey_after, 0},
        {"retry", a->retry_first != b->retry_first || a->retry_max != b->retry_max ||
                  a->retry_attempts != b->retry_attempts, 0},
        {"sms", json_differ(a->sms, b->sms), 0},
        {"email", json_differ(a->email, b->email), 0},
        {"surveys", json_differ(a->surveys, b->surveys), 0},
        {"body_limit", a->body_limit != b->body_limit, 0},
        {"limits.header_size", la->header_size != lb->header_size, 0},
        {"limits.connections", la->connections != lb->connections, 0},
        {"limits.request_timeout", la->request_timeout != lb->request_timeout, 0},
        {"limits.idle_timeout", la->idle_timeout != lb->idle_timeout, 0},
        {"limits.pages_per_minute", la->pages_per_minute != lb->pages_per_minute, 0},
        {"limits.pages_burst", la->pages_burst != lb->pages_burst, 0},
        {"limits.auth_failures", la->auth_failures != lb->auth_failures, 0},
        {"limits.clients", la->clients != lb->clients, 0},
        {"trusted_proxies", proxies_differ(a, b), 0},
        {"territory", territory_differ(&a->records, &b->records), 0},
        {"themes", strs_differ(a->records.themes, a->records.n_themes, b->records.themes,
                               b->records.n_themes), 0},
        {"reports", brackets_differ(&a->records, &b->records), 0},
        {"login.idle", a->login.idle != b->login.idle, 0},
        {"login.max", a->login.max != b->login.max, 0},
        {"login.invite", a->login.invite != b->login.invite, 0},
        {"links.expire_after", a->links_expire_after != b->links_expire_after, 0},
        {"metrics.token", str_differ(a->metrics_token, b->metrics_token), 0},
    };

    out->live[0] = out->restart[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!keys[i].differ)
            continue;
        if (keys[i].restart)
            add(out->restart, sizeof out->restart, keys[i].name);
        else
            add(out->live, sizeof out->live, keys[i].name);
    }
    plugin_tables_diff(a->plugin_tables, b->plugin_tables, out);
}
