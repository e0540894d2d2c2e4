/* relais — the program: serve, token add, migrate, backup (api.md
 * "Programs and files", "Operations"). Usage errors exit 2, runtime errors 1.
 *
 * serve builds the app in the order of app.h (config → log level → time zone
 * → store → migrations → link secret → event loop → net → http → outbox →
 * routes → plugins → listen) and tears it down in reverse. SIGTERM/SIGINT
 * stop accepting, let the requests in flight finish (at most DRAIN_SECONDS),
 * then leave the loop; SIGHUP re-reads the configuration file (log level,
 * notification rules, plugin settings, limits, trusted proxies), reloads
 * the plugins and logs what changed (config_diff). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "relais/app.h"
#include "relais/auth.h"
#include "relais/backup.h"
#include "relais/config.h"
#include "relais/domain_events.h"
#include "relais/http.h"
#include "relais/links.h"
#include "relais/log.h"
#include "relais/metrics.h"
#include "relais/net.h"
#include "relais/outbox.h"
#include "relais/plugins.h"
#include "relais/pwhash.h"
#include "relais/rcache.h"
#include "relais/records.h"
#include "relais/rtime.h"
#include "relais/store.h"
#include "relais/tokens.h"
#include "relais_build.h"

#define EXIT_USAGE 2
#define DRAIN_SECONDS 5
#define DRAIN_POLL_MS 50

static const char usage_text[] =
    "Usage: relais COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  serve [-c FILE]       run the server in the foreground; logs go to stderr\n"
    "  token add --role ROLE --name NAME [--staff ID] [-c FILE]\n"
    "                        create an API token and print it, alone on one line,\n"
    "                        on stdout (only its hash is stored: it cannot be shown\n"
    "                        again); ROLE is admin, coordinator or trainer; --staff\n"
    "                        binds it to an existing staff member (a trainer's own\n"
    "                        sessions)\n"
    "  migrate [-c FILE]     create or upgrade the database, then exit\n"
    "  backup FILE [-c FILE] write a consistent copy of the database to FILE\n"
    "                        while the server runs (checked with SQLite's\n"
    "                        integrity_check; the link secret goes beside it,\n"
    "                        as FILE.secret)\n"
    "  staff set-password ID [-c FILE]\n"
    "                        read a password on stdin (one line, at least 10\n"
    "                        characters) and make it the console password of\n"
    "                        staff member ID, who signs in with their e-mail;\n"
    "                        their sessions end\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE     the configuration file (default: the installed\n"
    "                        " RELAIS_DEFAULT_CONFIG "\n"
    "                        when it exists, else etc/relais.conf.lua when it\n"
    "                        exists, else the built-in defaults)\n"
    "  -h, --help            show this help\n"
    "  -V, --version         show the version\n"
    "\n"
    "Signals (serve): TERM or INT stop gracefully; HUP re-reads the configuration\n"
    "(log level, notification rules, plugin settings, limits, trusted proxies),\n"
    "reloads the plugins and logs what changed and what waits for a restart.\n"
    "Exit status: 0 done, 1 failed, 2 usage error.\n";

/* --- the command line ------------------------------------------------------ */

struct opts {
    const char *config;
    const char *role;
    const char *name;
    const char *staff;
    int help;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("relais: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'relais --help'.\n", stderr);
    return EXIT_USAGE;
}

/* Reads the options from argv[I] on. TOKEN allows --role/--name/--staff.
 * 0, or the usage error's exit status. */
static int parse_opts(int argc, char **argv, int i, int token, struct opts *o)
{
    for (; i < argc; i++) {
        const char *a = argv[i], *eq = NULL, *value;
        const char **slot = NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) == 0)
            eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if ((len == 2 && strncmp(a, "-c", 2) == 0 && !eq) ||
            (len == 8 && strncmp(a, "--config", 8) == 0))
            slot = &o->config;
        else if (token && len == 6 && strncmp(a, "--role", 6) == 0)
            slot = &o->role;
        else if (token && len == 6 && strncmp(a, "--name", 6) == 0)
            slot = &o->name;
        else if (token && len == 7 && strncmp(a, "--staff", 7) == 0)
            slot = &o->staff;
        else if (a[0] == '-')
            return usage_error("unknown option '%s'", a);
        else
            return usage_error("unexpected argument '%s'", a);
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return usage_error("option %s needs a value", a);
            value = argv[++i];
        }
        if (*slot)
            return usage_error("option %s is given twice", a);
        *slot = value;
    }
    return 0;
}

/* A staff id: a positive decimal that fits (no sign, no spaces). */
static int parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (!*s || strlen(s) > 18)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* --- shared start-up ----------------------------------------------------- */

static void apply_log_level(const struct config *cfg)
{
    enum log_level lvl;

    if (log_parse_level(cfg->log_level, &lvl) == 0)
        log_set_level(lvl);
}

/* Config, log level, database, migrations: what every command needs. On
 * failure the reason is printed and -1 returned (the caller frees). */
static int open_all(const char *config_path, struct config **cfg, struct store **st)
{
    char *err = NULL;

    if (config_load(config_path, cfg, &err) != 0)
        goto fail;
    apply_log_level(*cfg);
    if (store_open((*cfg)->database, st, &err) != 0)
        goto fail;
    if (store_migrate_core(*st, &err) != 0)
        goto fail;
    return 0;
fail:
    log_error("main", "%s", err ? err : "out of memory");
    free(err);
    return -1;
}

/* --- token add, migrate -------------------------------------------------- */

static int cmd_token_add(const struct opts *o, int role, int64_t staff)
{
    struct config *cfg = NULL;
    struct store *st = NULL;
    char plain[64] = {0};
    char *err = NULL;
    int64_t id;
    int rc = 1;

    if (open_all(o->config, &cfg, &st) != 0)
        goto out;
    /* The token is committed only once it is printed: a token nobody could
     * read (stdout closed, disk full) is not left behind. */
    if (store_begin(st) != 0)
        goto out;
    if (tokens_add(st, role, o->name, staff, plain, sizeof plain, &err) != 0) {
        log_error("main", "cannot create the token: %s", err ? err : "out of memory");
        store_rollback(st);
        goto out;
    }
    id = sqlite3_last_insert_rowid(store_db(st));
    if (printf("%s\n", plain) < 0 || fflush(stdout) != 0) {
        log_error("main", "cannot print the token: %s", strerror(errno));
        store_rollback(st);
        goto out;
    }
    if (store_commit(st) != 0) {
        log_error("main", "the token could not be stored: it will not work");
        goto out;
    }
    log_info("main", "token %lld created (role %s%s)", (long long)id,
             tokens_role_name(role), staff ? ", bound to a staff member" : "");
    rc = 0;
out:
    explicit_bzero(plain, sizeof plain);
    free(err);
    store_close(st);
    config_free(cfg);
    return rc;
}

/* The data steps of an upgrade that SQL alone cannot do: free-text
 * prescribers become organisations, residences come from the territory
 * (records_migrate; a second run finds nothing to do). 0 or -1. */
static int link_records(const struct config *cfg, struct store *st)
{
    int orgs = 0, linked = 0, placed = 0;

    if (records_migrate(st, &cfg->records, &orgs, &linked, &placed) != 0)
        return -1;
    if (orgs || linked || placed)
        log_info("main", "records: %d organisation(s) made from prescribers, %d person(s)"
                 " linked to one, %d residence(s) set from the territory", orgs, linked,
                 placed);
    return 0;
}

static int cmd_migrate(const struct opts *o)
{
    struct config *cfg = NULL;
    struct store *st = NULL;
    int rc = 1;

    if (open_all(o->config, &cfg, &st) != 0 || link_records(cfg, st) != 0)
        goto out;
    log_info("main", "database %s is up to date", cfg->database);
    rc = 0;
out:
    store_close(st);
    config_free(cfg);
    return rc;
}

/* --- backup --------------------------------------------------------------- */

/* relais backup FILE [-c CONFIG]: FILE is the one argument that is neither
 * an option nor an option's value; the rest goes to parse_opts. */
static int cmd_backup(int argc, char **argv)
{
    struct opts o = {0};
    struct config *cfg = NULL;
    struct backup_report rep;
    char **rest = NULL, *err = NULL;
    const char *file = NULL;
    int n = 0, rc;

    if (!(rest = calloc((size_t)argc, sizeof *rest)))
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i >= 2 && !file && a[0] != '-' &&
            !(strcmp(argv[i - 1], "-c") == 0 || strcmp(argv[i - 1], "--config") == 0))
            file = a;
        else
            rest[n++] = argv[i];
    }
    rc = parse_opts(n, rest, 2, 0, &o);
    free(rest);
    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!file || !*file)
        return usage_error("%s", "backup needs the FILE to write");
    rc = 1;
    if (config_load(o.config, &cfg, &err) != 0) {
        log_error("main", "%s", err ? err : "out of memory");
        goto out;
    }
    apply_log_level(cfg);
    /* The link secret file is the database's only companion; a secret set
     * in the configuration (link_secret) is backed up with the config. */
    if (backup_run(cfg->database, file, cfg->link_secret == NULL, &rep, &err) != 0) {
        log_error("main", "backup failed, %s left as it was: %s", file,
                  err ? err : "out of memory");
        goto out;
    }
    log_info("main", "backup of %s written to %s: %d pages (%.1f MiB) in %.2f s, "
             "integrity_check ok%s%s%s", cfg->database, file, rep.pages,
             (double)rep.bytes / 1048576.0, rep.seconds,
             rep.secret_copied ? "; link secret copied to " : "",
             rep.secret_copied ? file : "",
             rep.secret_copied ? ".secret"
             : cfg->link_secret ? "; the link secret is in the configuration: keep it too"
             : "");
    rc = 0;
out:
    free(err);
    config_free(cfg);
    return rc;
}

/* --- staff set-password ------------------------------------------------------ */

/* One line of stdin into BUF (N bytes), its end of line removed, without
 * echo on a terminal. Its length, or -1 (nothing read, or longer than N-1). */
static ssize_t read_password(char *buf, size_t n)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    size_t len = 0;
    int c;

    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs("Mot de passe : ", stderr);
    }
    while ((c = getchar()) != EOF && c != '\n') {
        if (len + 1 >= n) {
            len = n;   /* too long: read on to the end of the line, refuse */
            continue;
        }
        buf[len++] = (char)c;
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (len >= n || (len == 0 && c == EOF))
        return -1;
    if (len && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    return (ssize_t)len;
}

static int cmd_set_password(const struct opts *o, int64_t id)
{
    struct config *cfg = NULL;
    struct store *st = NULL;
    char pw[PWHASH_PASSWORD_MAX + 2], hash[PWHASH_STR_MAX];
    const char *why = NULL;
    ssize_t len = read_password(pw, sizeof pw);
    int rc = 1;

    if (len < 0) {
        log_error("main", "no password read on stdin (one line, at most %d bytes)",
                  PWHASH_PASSWORD_MAX);
        goto out;
    }
    if ((why = auth_password_problem(pw, (size_t)len))) {
        log_error("main", "password refused: %s", why);
        goto out;
    }
    if (open_all(o->config, &cfg, &st) != 0)
        goto out;
    if (pwhash_hash_now(pw, (size_t)len, hash) != 0)
        goto out;
    if (store_begin(st) != 0)
        goto out;
    switch (auth_store_password(st, id, hash, &why)) {
    case 0:
        if (store_commit(st) != 0)
            goto out;
        log_info("main", "staff %lld: password set; their sessions are ended", (long long)id);
        rc = 0;
        break;
    case 1:
        store_rollback(st);
        log_error("main", "staff %lld: %s", (long long)id, why);
        break;
    default:
        store_rollback(st);
        break;
    }
out:
    explicit_bzero(pw, sizeof pw);
    explicit_bzero(hash, sizeof hash);
    store_close(st);
    config_free(cfg);
    return rc;
}

static int cmd_staff(int argc, char **argv)
{
    struct opts o = {0};
    int64_t id = 0;
    int rc;

    if (argc < 3)
        return usage_error("%s", "staff needs a sub-command: set-password");
    if (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[2], "set-password") != 0)
        return usage_error("unknown staff sub-command '%s' (there is: set-password)", argv[2]);
    if (argc < 4 || parse_id(argv[3], &id) != 0)
        return usage_error("%s", "staff set-password needs a staff id (a positive integer)");
    if ((rc = parse_opts(argc, argv, 4, 0, &o)) != 0)
        return rc;
    if (o.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    return cmd_set_password(&o, id);
}

/* --- serve --------------------------------------------------------------- */

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
 * brackets) and the staff sign-in's durations (login = {…}: read at each
 * sign-in and each check, so they apply from the next one). FRESH gets the old values, for config_free. Listening
 * address, database, time zone, public URL and link secret keep their
 * running values: changing them takes a restart (config_diff names them). */
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
    outbox_reconfigure(sv->app.outbox, sv->app.cfg);
    plugins_reload(sv->app.plugins);
    /* Said at the level in force when the reload was asked for, so that a
     * reload to log_level = "error" is still seen to have happened. */
    log_info("main", "reloaded %s: %s%s; plugins reloaded%s%s", path ? path : "the defaults",
             ch.live[0] ? "changed " : "no setting changed", ch.live,
             ch.restart[0] ? "; changed but kept until a restart: " : "", ch.restart);
    apply_log_level(sv->app.cfg);
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

static int cmd_serve(const struct opts *o)
{
    struct server sv;
    struct config *cfg;
    char *err = NULL;
    int bound = 0, rc = 1, links_ready = 0;

    memset(&sv, 0, sizeof sv);
    sv.config_path = o->config;
    if (open_all(o->config, &sv.app.cfg, &sv.app.store) != 0 ||
        link_records(sv.app.cfg, sv.app.store) != 0)
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
    sv.app.base = event_base_new();
    /* Three priorities, the default (1) for every event but the outbox's
     * dispatch timer, which takes the lowest so that HTTP work goes first
     * (core/outbox_dispatch.c); set before any event is made. */
    if (!sv.app.base || event_base_priority_init(sv.app.base, 3) != 0) {
        log_error("main", "cannot create the event loop");
        goto out;
    }
    if (net_new(sv.app.base, &sv.app.net) != 0)
        goto out;
    sv.app.http = http_server_new(sv.app.base, &sv.app, cfg->body_limit);
    if (!sv.app.http)
        goto out;
    if (outbox_new(sv.app.base, sv.app.store, cfg, &sv.app.outbox) != 0) {
        log_error("main", "cannot start the outbox");
        goto out;
    }

    /* Without it the handlers still answer, only without the shortcut. */
    if (!(sv.app.rcache = rcache_new()))
        log_warn("main", "out of memory for the answer cache; going on without it");
    if (app_register_routes(&sv.app) != 0)
        goto out;
    /* Staff sign-in, with its password thread (core/auth.c). */
    if (auth_new(&sv.app, &sv.app.auth) != 0 || auth_register(&sv.app) != 0) {
        log_error("main", "cannot set up the staff sign-in");
        goto out;
    }
    /* Plugins come after the core routes: a plugin route that would shadow
     * one of them is refused when the plugin loads. */
    if (plugins_start(&sv.app, &sv.app.plugins) != 0)
        goto out;
    sv.sig_term = add_signal(&sv, SIGTERM, on_stop);
    sv.sig_int = add_signal(&sv, SIGINT, on_stop);
    sv.sig_hup = add_signal(&sv, SIGHUP, on_hup);
    if (!sv.sig_term || !sv.sig_int || !sv.sig_hup)
        goto out;
    if (http_server_listen(sv.app.http, cfg->listen_host, cfg->listen_port, &bound) != 0)
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

/* --- main ------------------------------------------------------------------ */

static int cmd_token(int argc, char **argv)
{
    struct opts o = {0};
    int64_t staff = 0;
    int role, rc;

    if (argc < 3)
        return usage_error("%s", "token needs a sub-command: add");
    if (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[2], "add") != 0)
        return usage_error("unknown token sub-command '%s' (there is: add)", argv[2]);
    if ((rc = parse_opts(argc, argv, 3, 1, &o)) != 0)
        return rc;
    if (o.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!o.role)
        return usage_error("%s", "token add needs --role ROLE");
    if (!o.name || !*o.name)
        return usage_error("%s", "token add needs --name NAME");
    if (strlen(o.name) > 200)
        return usage_error("%s", "--name is longer than 200 bytes");
    role = tokens_role_parse(o.role);
    if (role < 0)
        return usage_error("unknown role '%s' (admin, coordinator or trainer)", o.role);
    if (o.staff && parse_id(o.staff, &staff) != 0)
        return usage_error("--staff needs a staff id (a positive integer), not '%s'",
                           o.staff);
    return cmd_token_add(&o, role, staff);
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    const char *cmd;
    int rc;

    if (argc < 2)
        return usage_error("%s", "no command given");
    cmd = argv[1];
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("relais %s\n", RELAIS_VERSION);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    /* What Relais creates (database, WAL, directories) holds personal data:
     * readable by its own user only. A write to a closed socket must be an
     * error to handle, not a signal that kills the server. */
    umask(077);
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(cmd, "token") == 0)
        return cmd_token(argc, argv);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc, argv);
    if (strcmp(cmd, "staff") == 0)
        return cmd_staff(argc, argv);
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0)
        return cmd[0] == '-' ? usage_error("unknown option '%s'", cmd)
                             : usage_error("unknown command '%s'", cmd);
    if ((rc = parse_opts(argc, argv, 2, 0, &o)) != 0)
        return rc;
    if (o.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    return strcmp(cmd, "serve") == 0 ? cmd_serve(&o) : cmd_migrate(&o);
}
