/* relais — the program: serve, token add/list/revoke, migrate, backup (api.md
 * "Programs and files", "Operations"). Usage errors exit 2, runtime errors
 * 1. This file reads the command line, and runs migrate and backup; the
 * token commands are cli_token.c's, serve is cli_serve.c's (core/ops/cli.h). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "backup.h"
#include "config.h"
#include "log.h"
#include "records.h"
#include "store.h"
#include "relais_build.h"

static const char usage_text[] =
    "Usage: relais COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  serve [-c FILE] [--listen-fd N]\n"
    "                        run the server in the foreground; logs go to stderr;\n"
    "                        --listen-fd serves on the listening TCP socket N the\n"
    "                        caller opened (instead of `listen`)\n"
    "  token add --role ROLE --name NAME [--staff ID] [--expires DURATION] [-c FILE]\n"
    "                        create an API token and print it, alone on one line,\n"
    "                        on stdout (only its hash is stored: it cannot be shown\n"
    "                        again); ROLE is admin, coordinator or trainer; --staff\n"
    "                        binds it to an existing staff member (a trainer's own\n"
    "                        sessions); --expires makes it stop working that long\n"
    "                        from now (90d, 12h, 30m, 45s)\n"
    "  token list [-c FILE]  list the tokens: id, role, staff, state, created, last\n"
    "                        used, expires, revoked, name (never the token itself)\n"
    "  token revoke ID [-c FILE]\n"
    "                        revoke token ID: refused from the next request on, also\n"
    "                        by a server that is running\n"
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
    "(log level, notification rules, plugin settings, limits, trusted proxies,\n"
    "links, metrics), reloads the plugins and logs what changed and what waits\n"
    "for a restart.\n"
    "Exit status: 0 done, 1 failed, 2 usage error.\n";

void cli_usage(FILE *out)
{
    fputs(usage_text, out);
}

/* --- the command line ------------------------------------------------------ */

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("relais: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'relais --help'.\n", stderr);
    return EXIT_USAGE;
}

int cli_parse_opts(int argc, char **argv, int i, int token, struct opts *o)
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
        else if (token == 1 && len == 6 && strncmp(a, "--role", 6) == 0)
            slot = &o->role;
        else if (token == 1 && len == 6 && strncmp(a, "--name", 6) == 0)
            slot = &o->name;
        else if (token == 1 && len == 7 && strncmp(a, "--staff", 7) == 0)
            slot = &o->staff;
        else if (token == 1 && len == 9 && strncmp(a, "--expires", 9) == 0)
            slot = &o->expires;
        else if (token == 2 && len == 11 && strncmp(a, "--listen-fd", 11) == 0)
            slot = &o->listen_fd;
        else if (a[0] == '-')
            return cli_usage_error("unknown option '%s'", a);
        else
            return cli_usage_error("unexpected argument '%s'", a);
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cli_usage_error("option %s needs a value", a);
            value = argv[++i];
        }
        if (*slot)
            return cli_usage_error("option %s is given twice", a);
        *slot = value;
    }
    return 0;
}

/* A staff or token id (cli.h). */
int cli_parse_id(const char *s, int64_t *out)
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

/* A descriptor a parent passed on: 3 or more (0-2 are the standard
 * streams), decimal. */
static int parse_fd(const char *s, int *out)
{
    int64_t v = 0;

    if (cli_parse_id(s, &v) != 0 || v < 3 || v > 65535)
        return -1;
    *out = (int)v;
    return 0;
}

/* --- shared start-up ----------------------------------------------------- */

void cli_apply_log_level(const struct config *cfg)
{
    enum log_level lvl;

    if (log_parse_level(cfg->log_level, &lvl) == 0)
        log_set_level(lvl);
}

int cli_open_all(const char *config_path, struct config **cfg, struct store **st)
{
    char *err = NULL;

    if (config_load(config_path, cfg, &err) != 0)
        goto fail;
    cli_apply_log_level(*cfg);
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

/* --- migrate, backup -------------------------------------------------------- */

/* The data steps of an upgrade that SQL alone cannot do: free-text
 * prescribers become organisations, residences come from the territory
 * (records_migrate; a second run finds nothing to do). 0 or -1. */
int cli_link_records(const struct config *cfg, struct store *st)
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

    if (cli_open_all(o->config, &cfg, &st) != 0 || cli_link_records(cfg, st) != 0)
        goto out;
    log_info("main", "database %s is up to date", cfg->database);
    rc = 0;
out:
    store_close(st);
    config_free(cfg);
    return rc;
}

/* relais backup FILE [-c CONFIG]: FILE is the one argument that is neither
 * an option nor an option's value; the rest goes to cli_parse_opts. */
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
    rc = cli_parse_opts(n, rest, 2, 0, &o);
    free(rest);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage(stdout);
        return 0;
    }
    if (!file || !*file)
        return cli_usage_error("%s", "backup needs the FILE to write");
    rc = 1;
    if (config_load(o.config, &cfg, &err) != 0) {
        log_error("main", "%s", err ? err : "out of memory");
        goto out;
    }
    cli_apply_log_level(cfg);
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

/* --- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    struct opts o = {0};
    const char *cmd;
    int rc, listen_fd = -1;

    if (argc < 2)
        return cli_usage_error("%s", "no command given");
    cmd = argv[1];
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("relais %s\n", RELAIS_VERSION);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        cli_usage(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    /* What Relais creates (database, WAL, directories) holds personal data:
     * readable by its own user only. A write to a closed socket must be an
     * error to handle, not a signal that kills the server. */
    umask(077);
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(cmd, "token") == 0)
        return cli_token(argc, argv);
    if (strcmp(cmd, "staff") == 0)
        return cli_staff(argc, argv);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc, argv);
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0)
        return cmd[0] == '-' ? cli_usage_error("unknown option '%s'", cmd)
                             : cli_usage_error("unknown command '%s'", cmd);
    if ((rc = cli_parse_opts(argc, argv, 2, strcmp(cmd, "serve") == 0 ? 2 : 0, &o)) != 0)
        return rc;
    if (o.help) {
        cli_usage(stdout);
        return 0;
    }
    if (o.listen_fd && parse_fd(o.listen_fd, &listen_fd) != 0)
        return cli_usage_error("--listen-fd needs a descriptor number (3 or more), not '%s'",
                               o.listen_fd);
    return strcmp(cmd, "serve") == 0 ? cli_serve(&o, listen_fd) : cmd_migrate(&o);
}
