/* cli_staff.c — relais staff set-password ID: the console password of a
 * staff member, read on stdin (never an argument: it would show in ps and
 * the shell's history), hashed with Argon2id (core/auth/pwhash.c) and stored;
 * every sign-in session of that person ends. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "pwhash.h"
#include "store.h"

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
    if (cli_open_all(o->config, &cfg, &st) != 0)
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

int cli_staff(int argc, char **argv)
{
    struct opts o = {0};
    int64_t id = 0;
    int rc;

    if (argc < 3)
        return cli_usage_error("%s", "staff needs a sub-command: set-password");
    if (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0) {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(argv[2], "set-password") != 0)
        return cli_usage_error("unknown staff sub-command '%s' (there is: set-password)", argv[2]);
    if (argc < 4 || cli_parse_id(argv[3], &id) != 0)
        return cli_usage_error("%s", "staff set-password needs a staff id (a positive integer)");
    if ((rc = cli_parse_opts(argc, argv, 4, 0, &o)) != 0)
        return rc;
    if (o.help) {
        cli_usage(stdout);
        return 0;
    }
    return cmd_set_password(&o, id);
}
