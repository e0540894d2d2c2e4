/* cli — what the commands of the relais program share (core/ops/main.c,
 * cli_token.c, cli_staff.c, cli_serve.c): the parsed options, usage errors
 * (exit status 2) and the start-up every command makes. Internal to the
 * program: the library of core/ops (relais_ops) does not link these files.
 *
 * Rules: a command returns its exit status (0 done, 1 failed, 2 usage
 * error); what it opens it closes before returning. */
#ifndef RELAIS_CLI_H
#define RELAIS_CLI_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct store;

#define EXIT_USAGE 2

struct opts {
    const char *config;
    const char *role;
    const char *name;
    const char *staff;
    const char *listen_fd;    /* serve: an inherited listening socket */
    const char *expires;      /* token add: a duration */
    int help;
};

/* Prints "relais: MESSAGE" and the hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The usage text, on OUT. */
void cli_usage(FILE *out);
/* Reads the options from argv[I] on into O (its strings are argv's). TOKEN
 * allows --role/--name/--staff/--expires (1), or --listen-fd (2, serve).
 * 0, or the usage error's exit status. */
int cli_parse_opts(int argc, char **argv, int i, int token, struct opts *o);
/* A positive decimal id that fits (no sign, no spaces): 0, or -1. */
int cli_parse_id(const char *s, int64_t *out);
void cli_apply_log_level(const struct config *cfg);
/* Config, log level, database, migrations: what every command needs. On
 * failure the reason is logged and -1 returned (the caller frees *CFG and
 * *ST, which may be set). */
int cli_open_all(const char *config_path, struct config **cfg, struct store **st);
/* The data steps of an upgrade that SQL alone cannot do (records_migrate):
 * 0 or -1. */
int cli_link_records(const struct config *cfg, struct store *st);

/* cli_token.c: relais token add | list | revoke. */
int cli_token(int argc, char **argv);
/* cli_staff.c: relais staff set-password ID. */
int cli_staff(int argc, char **argv);
/* cli_serve.c: relais serve, on LISTEN_FD when it is 0 or more. */
int cli_serve(const struct opts *o, int listen_fd);

#endif
