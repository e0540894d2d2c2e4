/* cli_serve — relais serve: builds the app in the order of app.h (config →
 * log level → time zone → store → migrations → link secret → event loop →
 * net → http → outbox → routes → plugins → listen) and tears it down in
 * reverse. SIGTERM/SIGINT stop accepting, let the requests in flight finish
 * (at most DRAIN_SECONDS), then leave the loop; SIGHUP re-reads the
 * configuration file (log level, notification rules, plugin settings,
 * limits, trusted proxies, links, metrics), reloads the plugins and logs
 * what changed (config_diff). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include "cli.h"
#include "app.h"
#include "auth.h"
#include "config.h"
#include "domain_events.h"
#include "http.h"
#include "links.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "ops.h"
#include "outbox.h"
#include "plugins.h"
#include "rcache.h"
#include "rtime.h"
#include "store.h"
#include "tokens.h"
#include "relais_build.h"

#define DRAIN_SECONDS 5
#define DRAIN_POLL_MS 50

struct server {
    struct app app;
    const char *config_path;
    struct event *sig_term, *sig_int, *sig_hup, *drain;
    struct timespec drain_start;
};

/* Counts the open TCP connections among the loop's events: evhttp's client
 * connections (and, later, outgoing gateway transfers). Listeners have no
 * peer; libevent's own signal socketpair is AF_UNIX. */
static int count_conn(const struct event_base *base, const struct event *ev, void *arg)
{
    int *n = arg;
    evutil_socket_t fd = event_get_fd(ev);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;

    (void)base;
    if (fd < 0 || (event_get_events(ev) & EV_SIGNAL) ||
        !(event_get_events(ev) & (EV_READ | EV_WRITE)))
        return 0;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0)
        return 0;
    if (peer.ss_family == AF_INET || peer.ss_family == AF_INET6)
        (*n)++;
    return 0;
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Polls until no connection is left (each ends after its reply: the server
 * answers "Connection: close" once stopping), or the grace period is over. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;
    int open = 0;

    (void)fd;
    (void)what;
    event_base_foreach_event(sv->app.base, count_conn, &open);
    if (open == 0) {
        event_base_loopbreak(sv->app.base);
    } else if (elapsed(&sv->drain_start) >= DRAIN_SECONDS) {
        log_warn("main", "%d connection(s) still open after %d s: closing them", open,
                 DRAIN_SECONDS);
        event_base_loopbreak(sv->app.base);
    }
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    struct server *sv = arg;
    const struct timeval poll = {0, DRAIN_POLL_MS * 1000};

    (void)what;
    if (sv->app.stopping) {
        log_warn("main", "second signal: stopping now");
        event_base_loopbreak(sv->app.base);
        return;
    }
    sv->app.stopping = 1;
    log_info("main", "stopping on SIG%s: no new connections, finishing requests in flight",
             sig == SIGINT ? "INT" : "TERM");
    http_server_stop_accepting(sv->app.http);
    clock_gettime(CLOCK_MONOTONIC, &sv->drain_start);
    sv->drain = event_new(sv->app.base, -1, EV_PERSIST, on_drain, sv);
    if (!sv->drain || event_add(sv->drain, &poll) != 0) {
        log_warn("main", "cannot wait for requests in flight: stopping now");
        event_base_loopbreak(sv->app.base);
    }
}

#define SWAP(a, b) do { __typeof__(a) tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

/* Takes from FRESH what may change without a restart: the log level, the
 * notification rules, what plugins read (their list, folder and the
 * sms/email/surveys tables), the body limit, the limits = {…}, the
 * trusted proxies, the records' vocabulary (territory, themes, age
 * brackets), the links' expiry, the metrics token and the staff sign-in's
 * durations (login = {…}: read at each sign-in and each check, so they
 * apply from the next one). FRESH gets the old values, for config_free.
 * Listening address, database, time zone, public URL and link secret keep
 * their running values: changing them takes a restart (config_diff names
 * them). */
static void adopt(struct config *cur, struct config *fresh)
{
    SWAP(cur->log_level, fresh->log_level);
    cur->quiet_enabled = fresh->quiet_enabled;
    cur->quiet_from_min = fresh->quiet_from_min;
    cur->quiet_to_min = fresh->quiet_to_min;
    cur->reminder_confirmation = fresh->reminder_confirmation;
    SWAP(cur->reminder_before, fresh->reminder_before);
    SWAP(cur->n_reminder_before, fresh->n_reminder_before);
    cur->survey_after = fresh->survey_after;
    cur->retry_first = fresh->retry_first;
    cur->retry_max = fresh->retry_max;
    cur->retry_attempts = fresh->retry_attempts;
    SWAP(cur->sms, fresh->sms);
    SWAP(cur->email, fresh->email);
    SWAP(cur->surveys, fresh->surveys);
    SWAP(cur->plugin_tables, fresh->plugin_tables);
    SWAP(cur->plugins, fresh->plugins);
    SWAP(cur->n_plugins, fresh->n_plugins);
    SWAP(cur->plugins_dir, fresh->plugins_dir);
    cur->body_limit = fresh->body_limit;
    cur->limits = fresh->limits;
    SWAP(cur->trusted_proxies, fresh->trusted_proxies);
    SWAP(cur->n_trusted_proxies, fresh->n_trusted_proxies);
    SWAP(cur->records, fresh->records);
    cur->login = fresh->login;
    cur->links_expire_after = fresh->links_expire_after;
    SWAP(cur->metrics_token, fresh->metrics_token);
}

/* A configuration that does not load changes nothing, plugins included.
 * One line says what changed and what waits for a restart. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct server *sv = arg;
    struct config *fresh = NULL;
    struct config_changes ch;
    const char *path = sv->config_path ? sv->config_path : config_default_path();
    char *err = NULL;

    (void)sig;
    (void)what;
    if (config_load(path, &fresh, &err) != 0) {
        log_error("main", "reload refused, keeping the running configuration: %s",
                  err ? err : "out of memory");
        free(err);
        return;
    }
    config_diff(sv->app.cfg, fresh, &ch);
    adopt(sv->app.cfg, fresh);
    config_free(fresh);
    http_server_set_limits(sv->app.http, sv->app.cfg);
    links_set_expiry(sv->app.cfg->links_expire_after);
    outbox_reconfigure(sv->app.outbox, sv->app.cfg);
    plugins_reload(sv->app.plugins);
    /* Said at the level in force when the reload was asked for, so that a
     * reload to log_level = "error" is still seen to have happened. */
    log_info("main", "reloaded %s: %s%s; plugins reloaded%s%s", path ? path : "the defaults",
             ch.live[0] ? "changed " : "no setting changed", ch.live,
             ch.restart[0] ? "; changed but kept until a restart: " : "", ch.restart);
    cli_apply_log_level(sv->app.cfg);
}

/* --- the sign-in's invitations leave through the outbox ------------------- */
/* core/auth sits below the notifications: it is handed this sender
 * (auth_set_mailer), which passes an invitation to the outbox's email
 * channel and its result back. */

struct invite_mail {
    auth_mail_done_fn done;
    void *token;
};

static void invite_sent(void *token, const struct outbox_result *res)
{
    struct invite_mail *m = token;

    m->done(m->token, res->status == OUTBOX_SENT, res->error);
    free(m);
}

static int invite_send(void *arg, int64_t id, const cJSON *msg, auth_mail_done_fn done,
                       void *token)
{
    struct invite_mail *m = malloc(sizeof *m);

    if (!m)
        return -1;
    m->done = done;
    m->token = token;
    /* -1: DONE is never called (outbox.h), so M is still ours. */
    if (outbox_send_direct(arg, "email", id, msg, invite_sent, m) != 0) {
        free(m);
        return -1;
    }
    return 0;
}

static struct event *add_signal(struct server *sv, int sig, event_callback_fn fn)
{
    struct event *ev = evsignal_new(sv->app.base, sig, fn, sv);

    if (ev && event_add(ev, NULL) != 0) {
        event_free(ev);
        ev = NULL;
    }
    if (!ev)
        log_error("main", "cannot handle signal %d", sig);
    return ev;
}

int cli_serve(const struct opts *o, int listen_fd)
{
    struct server sv;
    struct config *cfg;
    char *err = NULL;
    int bound = 0, rc = 1, links_ready = 0;

    memset(&sv, 0, sizeof sv);
    sv.config_path = o->config;
    if (cli_open_all(o->config, &sv.app.cfg, &sv.app.store) != 0 ||
        cli_link_records(sv.app.cfg, sv.app.store) != 0)
        goto out;
    cfg = sv.app.cfg;
    {
        const char *path = o->config ? o->config : config_default_path();
        log_info("main", "configuration %s", path ? path : "built in (no file found)");
    }
    if (rt_set_timezone(cfg->timezone, &err) != 0) {
        log_error("main", "%s", err ? err : "cannot set the time zone");
        goto out;
    }
    sv.app.started_at = rt_now();
    /* The registry of the domain's events, carried by the store: the outbox
     * (notifications) and then the plugin host (their own data) observe it
     * from their start, in that order, inside each change's transaction. */
    if (domain_events_new(&sv.app.events) != 0) {
        log_error("main", "cannot set up the domain's events: out of memory");
        goto out;
    }
    store_set_events(sv.app.store, sv.app.events);
    if (links_init(cfg->link_secret, cfg->database, &err) != 0) {
        log_error("main", "%s", err ? err : "cannot set up the link secret");
        goto out;
    }
    links_ready = 1;
    links_set_expiry(cfg->links_expire_after);
    sv.app.base = event_base_new();
    /* Three priorities, the default (1) for every event but the outbox's
     * dispatch timer, which takes the lowest so that HTTP work goes first
     * (core/notify/outbox_dispatch.c); set before any event is made. */
    if (!sv.app.base || event_base_priority_init(sv.app.base, 3) != 0) {
        log_error("main", "cannot create the event loop");
        goto out;
    }
    if (net_new(sv.app.base, &sv.app.net) != 0)
        goto out;
    sv.app.http = http_server_new(sv.app.base, &sv.app, cfg->body_limit);
    /* The server knows no token: core/auth checks them (http_bearer_auth). */
    if (!sv.app.http || tokens_guard(sv.app.http) != 0)
        goto out;
    if (outbox_new(sv.app.base, sv.app.store, cfg, &sv.app.outbox) != 0) {
        log_error("main", "cannot start the outbox");
        goto out;
    }

    /* Without it the handlers still answer, only without the shortcut. */
    if (!(sv.app.rcache = rcache_new()))
        log_warn("main", "out of memory for the answer cache; going on without it");
    if (ops_register_routes(&sv.app) != 0)
        goto out;
    /* Staff sign-in, with its password thread (core/auth/auth.c). */
    if (auth_new(&sv.app, &sv.app.auth) != 0 || auth_register(&sv.app) != 0) {
        log_error("main", "cannot set up the staff sign-in");
        goto out;
    }
    auth_set_mailer(sv.app.auth, invite_send, sv.app.outbox);
    /* Plugins come after the core routes: a plugin route that would shadow
     * one of them is refused when the plugin loads. */
    if (plugins_start(&sv.app, &sv.app.plugins) != 0)
        goto out;
    sv.sig_term = add_signal(&sv, SIGTERM, on_stop);
    sv.sig_int = add_signal(&sv, SIGINT, on_stop);
    sv.sig_hup = add_signal(&sv, SIGHUP, on_hup);
    if (!sv.sig_term || !sv.sig_int || !sv.sig_hup)
        goto out;
    /* An inherited socket replaces `listen`: its starter (a test harness,
     * a supervisor) chose the address and holds the port, so nobody can
     * take it between the choice and the start. */
    if (listen_fd >= 0 ? http_server_listen_fd(sv.app.http, listen_fd, &bound) != 0
                       : http_server_listen(sv.app.http, cfg->listen_host, cfg->listen_port,
                                            &bound) != 0)
        goto out;
    log_info("main", "relais %s listening on %s%s%s:%d (time zone %s)", RELAIS_VERSION,
             strchr(cfg->listen_host, ':') ? "[" : "", cfg->listen_host,
             strchr(cfg->listen_host, ':') ? "]" : "", bound, rt_timezone());
    if (event_base_dispatch(sv.app.base) < 0) {
        log_error("main", "the event loop failed");
        goto out;
    }
    log_info("main", "stopped");
    rc = 0;
out:
    free(err);
    if (sv.drain)
        event_free(sv.drain);
    if (sv.sig_hup)
        event_free(sv.sig_hup);
    if (sv.sig_int)
        event_free(sv.sig_int);
    if (sv.sig_term)
        event_free(sv.sig_term);
    /* Plugins first: their waiting requests are answered and their
     * transfers cancelled while the server, outbox and net still exist.
     * Each observer leaves the domain's registry as it goes. */
    plugins_free(sv.app.plugins);
    /* Sign-ins waiting for the password thread are answered now. */
    auth_free(sv.app.auth);
    outbox_free(sv.app.outbox);
    if (sv.app.store)
        store_set_events(sv.app.store, NULL);
    domain_events_free(sv.app.events);
    http_server_free(sv.app.http);
    net_free(sv.app.net);
    if (sv.app.base)
        event_base_free(sv.app.base);
    if (links_ready)
        links_shutdown();
    rcache_free(sv.app.rcache);
    store_close(sv.app.store);
    config_free(sv.app.cfg);
    metrics_reset();
    return rc;
}
