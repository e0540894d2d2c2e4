/* cli_token — relais token add | list | revoke (api.md "Programs and files",
 * "Tokens"; core/auth/tokens.h). A token is printed once, when it is
 * made, and committed only once printed; list never shows a secret; revoke
 * works beside a running server (its cache of verified tokens drops
 * everything when the database changes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "rtime.h"
#include "store.h"
#include "tokens.h"

static int cmd_token_add(const struct opts *o, int role, int64_t staff, int64_t expires)
{
    struct config *cfg = NULL;
    struct store *st = NULL;
    char plain[64] = {0};
    char *err = NULL;
    int64_t id;
    int rc = 1;

    if (cli_open_all(o->config, &cfg, &st) != 0)
        goto out;
    /* The token is committed only once it is printed: a token nobody could
     * read (stdout closed, disk full) is not left behind. */
    if (store_begin(st) != 0)
        goto out;
    if (tokens_add_until(st, role, o->name, staff, expires ? (int64_t)time(NULL) + expires : 0,
                         plain, sizeof plain, &err) != 0) {
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
    log_info("main", "token %lld created (role %s%s%s)", (long long)id,
             http_role_name(role), staff ? ", bound to a staff member" : "",
             expires ? ", expiring" : "");
    rc = 0;
out:
    explicit_bzero(plain, sizeof plain);
    free(err);
    store_close(st);
    config_free(cfg);
    return rc;
}

static int cmd_token_list(const struct opts *o)
{
    struct config *cfg = NULL;
    struct store *st = NULL;
    int rc = 1;

    if (cli_open_all(o->config, &cfg, &st) != 0)
        goto out;
    if (tokens_print_list(st, stdout) != 0) {
        log_error("main", "cannot list the tokens: %s", sqlite3_errmsg(store_db(st)));
        goto out;
    }
    rc = 0;
out:
    store_close(st);
    config_free(cfg);
    return rc;
}

static int cmd_token_revoke(const struct opts *o, int64_t id)
{
    struct config *cfg = NULL;
    struct store *st = NULL;
    int64_t when = 0;
    char at[32];
    int rc = 1, done;

    if (cli_open_all(o->config, &cfg, &st) != 0)
        goto out;
    done = tokens_revoke(st, id, &when);
    if (done < 0) {
        log_error("main", "cannot revoke token %lld: %s", (long long)id,
                  sqlite3_errmsg(store_db(st)));
    } else if (done == 0) {
        log_error("main", "there is no token %lld (relais token list shows them)",
                  (long long)id);
    } else {
        rt_format_utc(when, at, sizeof at);
        if (done == 1) {
            printf("token %lld revoked\n", (long long)id);
            log_info("main", "token %lld revoked", (long long)id);
        } else {
            printf("token %lld was revoked already, at %s\n", (long long)id, at);
        }
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
out:
    store_close(st);
    config_free(cfg);
    return rc;
}

int cli_token(int argc, char **argv)
{
    struct opts o = {0};
    int64_t staff = 0, expires = 0, id = 0;
    int role, rc;

    if (argc < 3)
        return cli_usage_error("%s", "token needs a sub-command: add, list or revoke");
    if (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0) {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(argv[2], "list") == 0 || strcmp(argv[2], "revoke") == 0) {
        int revoke = argv[2][0] == 'r';

        if (revoke && (argc < 4 || argv[3][0] == '-'))
            return cli_usage_error("%s", "token revoke needs a token id (relais token list)");
        if (revoke && cli_parse_id(argv[3], &id) != 0)
            return cli_usage_error("a token id is a positive integer, not '%s'", argv[3]);
        if ((rc = cli_parse_opts(argc, argv, revoke ? 4 : 3, 0, &o)) != 0)
            return rc;
        if (o.help) {
            cli_usage(stdout);
            return 0;
        }
        return revoke ? cmd_token_revoke(&o, id) : cmd_token_list(&o);
    }
    if (strcmp(argv[2], "add") != 0)
        return cli_usage_error("unknown token sub-command '%s' (there is: add, list, revoke)",
                               argv[2]);
    if ((rc = cli_parse_opts(argc, argv, 3, 1, &o)) != 0)
        return rc;
    if (o.help) {
        cli_usage(stdout);
        return 0;
    }
    if (!o.role)
        return cli_usage_error("%s", "token add needs --role ROLE");
    if (!o.name || !*o.name)
        return cli_usage_error("%s", "token add needs --name NAME");
    if (strlen(o.name) > 200)
        return cli_usage_error("%s", "--name is longer than 200 bytes");
    role = http_role_parse(o.role);
    if (role < 0)
        return cli_usage_error("unknown role '%s' (admin, coordinator or trainer)", o.role);
    if (o.staff && cli_parse_id(o.staff, &staff) != 0)
        return cli_usage_error("--staff needs a staff id (a positive integer), not '%s'",
                               o.staff);
    if (o.expires && (rt_parse_duration(o.expires, &expires) != 0 || expires <= 0))
        return cli_usage_error("--expires needs a duration such as 90d, 12h, 30m, not '%s'",
                               o.expires);
    return cmd_token_add(&o, role, staff, expires);
}
