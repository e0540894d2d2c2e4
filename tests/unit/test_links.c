/* links: the token derivation against vectors computed independently (the
 * Python of tests/integration/test_pages.py), purposes kept apart, lookups
 * of unknown, malformed and other-purpose tokens, and the secret: from the
 * config, or a 0600 file beside the database made once (also by racing
 * processes) and refused when open to others or malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "links.h"
#include "rtime.h"
#include "store.h"

#define SECRET "relais-unit-test-secret-0123456789"   /* 34 characters */

struct fx {
    char dir[64];
    char db[96];
    char secret_path[128];
    struct store *st;
};

/* Each test gets its own directory and database: ids 1 and 2 are
 * enrollments of one session. */
static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    char *err = NULL;

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/relais-links-XXXXXX");
    if (!mkdtemp(fx->dir))
        goto fail;
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    snprintf(fx->secret_path, sizeof fx->secret_path, "%s.secret", fx->db);
    if (store_open(fx->db, &fx->st, &err) != 0 || store_migrate_core(fx->st, &err) != 0)
        goto fail;
    if (store_exec(fx->st,
                   "INSERT INTO beneficiaries (id, first_name, created_at, updated_at)"
                   " VALUES (1, 'A', 0, 0), (2, 'B', 0, 0);"
                   "INSERT INTO sessions (id, kind, title, starts_at, ends_at, created_at,"
                   " updated_at) VALUES (1, 'workshop', 'W', 4102444800, 4102452000, 0, 0);"
                   "INSERT INTO enrollments (id, session_id, beneficiary_id, status,"
                   " created_at, updated_at) VALUES (1, 1, 1, 'booked', 0, 0),"
                   " (2, 1, 2, 'booked', 0, 0)") != 0)
        goto fail;
    *state = fx;
    return 0;
fail:
    if (err)
        fprintf(stderr, "# %s\n", err);
    free(err);
    store_close(fx->st);
    free(fx);
    return -1;
}

static void rm(const char *dir, const char *name)
{
    char p[256];

    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (unlink(p) != 0 && errno == EISDIR)
        rmdir(p);
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    links_shutdown();
    store_close(fx->st);
    rm(fx->dir, "t.db");
    rm(fx->dir, "t.db-wal");
    rm(fx->dir, "t.db-shm");
    rm(fx->dir, "t.db.secret");
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static int64_t count_links(struct store *st)
{
    int64_t n = -1;
    assert_int_equal(store_int_query(st, "SELECT count(*) FROM links", 0, &n), 1);
    return n;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_stable_tokens(void **state)
{
    struct fx *fx = *state;
    char a[LINKS_TOKEN_LEN + 1], b[LINKS_TOKEN_LEN + 1], *err = NULL;

    assert_int_equal(links_init(SECRET, fx->db, &err), 0);
    assert_null(err);
    /* Vectors: base64url(HMAC-SHA256(SECRET, "r:1"))[:22], and so on. */
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, a), 0);
    assert_string_equal(a, "eWwREdE0q5QoKzup3uKRAE");
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, b), 0);
    assert_string_equal(a, b);
    assert_int_equal(count_links(fx->st), 1);      /* recorded once */
    assert_int_equal(links_token(fx->st, LINKS_SURVEY, 1, b), 0);
    assert_string_equal(b, "WLrkdW-1lDmaOt_2Aw6tDq");
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 2, b), 0);
    assert_string_equal(b, "yqvf8SJkW-Okvni08hBqUj");
    assert_int_equal(count_links(fx->st), 3);
    /* Only the hash is stored, never the token. */
    int64_t n = 0;
    assert_int_equal(store_int_query(fx->st, "SELECT count(*) FROM links WHERE"
                                     " length(token_hash) = 32 AND typeof(token_hash) = 'blob'"
                                     " AND purpose IN ('r','s')", 0, &n), 1);
    assert_int_equal(n, 3);
    /* No enrollment 99, no purpose 'x', no id 0: nothing made. */
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 99, b), -1);
    assert_int_equal(links_token(fx->st, (enum links_purpose)'x', 1, b), -1);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 0, b), -1);
    assert_int_equal(count_links(fx->st), 3);
}

static void test_lookup(void **state)
{
    struct fx *fx = *state;
    char r1[LINKS_TOKEN_LEN + 1], s1[LINKS_TOKEN_LEN + 1], r2[LINKS_TOKEN_LEN + 1];
    char bad[64], *err = NULL;
    int64_t id = 0;
    static const char *const malformed[] = {
        "", "eWwREdE0q5QoKzup3uKRA", "eWwREdE0q5QoKzup3uKRAEE", "eWwREdE0q5QoKzup3uKRA=",
        "eWwREdE0q5QoKzup3uKRA+", "eWwREdE0q5QoKzup3uKRA/", "eWwREdE0q5QoKzup3uKR.E",
        "eWwREdE0q5QoKzup3uKR E", "eWwREdE0q5QoKzup3uKRAé",
    };

    assert_int_equal(links_init(SECRET, fx->db, &err), 0);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, r1), 0);
    assert_int_equal(links_token(fx->st, LINKS_SURVEY, 1, s1), 0);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 2, r2), 0);

    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r1, &id), 1);
    assert_int_equal(id, 1);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r2, &id), 1);
    assert_int_equal(id, 2);
    assert_int_equal(links_lookup(fx->st, LINKS_SURVEY, s1, &id), 1);
    assert_int_equal(id, 1);
    /* A token opens only the door it was made for. */
    id = 0;
    assert_int_equal(links_lookup(fx->st, LINKS_SURVEY, r1, &id), 0);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, s1, &id), 0);
    assert_int_equal(id, 0);
    /* Well-formed but never issued; one character changed. */
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, "AAAAAAAAAAAAAAAAAAAAAA", &id), 0);
    snprintf(bad, sizeof bad, "%s", r1);
    bad[5] = bad[5] == 'x' ? 'y' : 'x';
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, bad, &id), 0);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, NULL, &id), 0);
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, malformed[i], &id), 0);
    assert_int_equal(id, 0);

    /* The shape is checked before the database: with the table gone, a
     * malformed token is still just unknown, a well-formed one an error. */
    assert_int_equal(store_exec(fx->st, "DROP TABLE links"), 0);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, "short", &id), 0);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, "eWwREdE0q5QoKzup3uKR.E", &id), 0);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r1, &id), -1);
}

static void test_secret_file(void **state)
{
    struct fx *fx = *state;
    char a[LINKS_TOKEN_LEN + 1], b[LINKS_TOKEN_LEN + 1], text[80], *err = NULL;
    struct stat sb;
    FILE *f;
    size_t n;

    assert_int_equal(links_init(NULL, fx->db, &err), 0);
    assert_null(err);
    assert_int_equal(stat(fx->secret_path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    f = fopen(fx->secret_path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_int_equal(n, 65);
    assert_int_equal(text[64], '\n');
    assert_int_equal(strspn(text, "0123456789abcdef"), 64);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, a), 0);
    links_shutdown();

    /* A token cannot be made without a secret. */
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, b), -1);

    /* The next start reads the same file: the same links. */
    assert_int_equal(links_init(NULL, fx->db, &err), 0);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, b), 0);
    assert_string_equal(a, b);
    links_shutdown();

    /* The file's text as link_secret gives the same links, so a secret
     * can move into the environment. */
    text[64] = '\0';
    assert_int_equal(links_init(text, fx->db, &err), 0);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, b), 0);
    assert_string_equal(a, b);
    /* Nothing was left behind but the secret. */
    assert_int_equal(access(fx->secret_path, F_OK), 0);
}

/* links_init must fail with an error naming the file and saying NEEDLE. */
static void init_refused(struct fx *fx, const char *needle)
{
    char *err = NULL;

    assert_int_equal(links_init(NULL, fx->db, &err), -1);
    assert_non_null(err);
    if (!strstr(err, fx->secret_path) || !strstr(err, needle))
        fail_msg("error \"%s\" does not name the file and \"%s\"", err, needle);
    free(err);
}

static void test_bad_file(void **state)
{
    struct fx *fx = *state;
    static const char good[] =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char text[160], *err = NULL;

    write_file(fx->secret_path, good, 0640);
    init_refused(fx, "chmod 600");
    write_file(fx->secret_path, good, 0604);
    init_refused(fx, "chmod 600");
    write_file(fx->secret_path, good, 0620);
    init_refused(fx, "chmod 600");

    write_file(fx->secret_path, "not a secret\n", 0600);
    init_refused(fx, "malformed");
    write_file(fx->secret_path, "", 0600);
    init_refused(fx, "malformed");
    write_file(fx->secret_path, good + 2, 0600);                        /* short */
    init_refused(fx, "malformed");
    snprintf(text, sizeof text, "%s0", good);                           /* long */
    write_file(fx->secret_path, text, 0600);
    init_refused(fx, "malformed");
    snprintf(text, sizeof text, "%s\n\n", good);
    write_file(fx->secret_path, text, 0600);
    init_refused(fx, "malformed");
    snprintf(text, sizeof text, "%s", good);
    text[10] = 'A';                                                     /* upper case */
    write_file(fx->secret_path, text, 0600);
    init_refused(fx, "malformed");

    /* Bad files are never replaced: the operator decides. */
    assert_int_equal(unlink(fx->secret_path), 0);
    assert_int_equal(mkdir(fx->secret_path, 0700), 0);
    init_refused(fx, "regular file");
    assert_int_equal(rmdir(fx->secret_path), 0);

    /* Written by hand, without the final newline, it is fine. */
    write_file(fx->secret_path, good, 0600);
    assert_int_equal(links_init(NULL, fx->db, &err), 0);
    assert_null(err);
}

static void test_config_secret(void **state)
{
    struct fx *fx = *state;
    char a[LINKS_TOKEN_LEN + 1], *err = NULL;

    assert_int_equal(links_init("0123456789abcdef0123456789abcde", fx->db, &err), -1);
    assert_non_null(strstr(err, "at least 32"));
    assert_null(strstr(err, "0123456789"));        /* never echoes the secret */
    free(err);
    err = NULL;
    assert_int_equal(links_init(NULL, "", &err), -1);
    free(err);
    err = NULL;

    /* A configured secret wins, and no file is made. */
    assert_int_equal(links_init(SECRET, fx->db, &err), 0);
    assert_int_equal(access(fx->secret_path, F_OK), -1);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, a), 0);
    assert_string_equal(a, "eWwREdE0q5QoKzup3uKRAE");
    /* Even when a (bad) file is there. */
    write_file(fx->secret_path, "junk", 0644);
    assert_int_equal(links_init(SECRET, fx->db, &err), 0);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, a), 0);
    assert_string_equal(a, "eWwREdE0q5QoKzup3uKRAE");
}

/* Processes starting together agree on one secret. */
static void test_race(void **state)
{
    struct fx *fx = *state;
    enum { ROUNDS = 10, PROCS = 6 };

    for (int round = 0; round < ROUNDS; round++) {
        char tokens[PROCS][LINKS_TOKEN_LEN + 1];
        int fds[PROCS][2];
        pid_t pids[PROCS];

        unlink(fx->secret_path);
        for (int i = 0; i < PROCS; i++) {
            assert_int_equal(pipe(fds[i]), 0);
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                char out[LINKS_TOKEN_LEN + 1], *err = NULL;
                struct store *own = NULL;
                int ok;
                /* A connection must not cross a fork: the child opens its
                 * own, as a second relais process would. */
                close(fds[i][0]);
                ok = links_init(NULL, fx->db, &err) == 0
                     && store_open(fx->db, &own, &err) == 0
                     && links_token(own, LINKS_APPOINTMENT, 1, out) == 0
                     && write(fds[i][1], out, LINKS_TOKEN_LEN) == LINKS_TOKEN_LEN;
                _exit(ok ? 0 : 1);
            }
            close(fds[i][1]);
        }
        for (int i = 0; i < PROCS; i++) {
            int status;
            ssize_t got = read(fds[i][0], tokens[i], LINKS_TOKEN_LEN);
            close(fds[i][0]);
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            assert_int_equal(got, LINKS_TOKEN_LEN);
            tokens[i][LINKS_TOKEN_LEN] = '\0';
            assert_string_equal(tokens[i], tokens[0]);
        }
    }
}

/* A link stops working links.expire_after past its session's end. */
static void test_expiry(void **state)
{
    struct fx *fx = *state;
    char r1[LINKS_TOKEN_LEN + 1], *err = NULL;
    int64_t id = 0, now = rt_now();

    assert_int_equal(links_init(SECRET, fx->db, &err), 0);
    assert_int_equal(links_token(fx->st, LINKS_APPOINTMENT, 1, r1), 0);
    /* Ended 89 days ago, under the default 90: still good. */
    assert_int_equal(store_exec(fx->st, "UPDATE sessions SET starts_at = 0, ends_at = 1"), 0);
    {
        char sql[128];

        snprintf(sql, sizeof sql, "UPDATE sessions SET ends_at = %lld",
                 (long long)(now - 89 * 86400));
        assert_int_equal(store_exec(fx->st, sql), 0);
        assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r1, &id), 1);
        snprintf(sql, sizeof sql, "UPDATE sessions SET ends_at = %lld",
                 (long long)(now - 91 * 86400));
        assert_int_equal(store_exec(fx->st, sql), 0);
    }
    id = 0;
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r1, &id), LINKS_EXPIRED);
    assert_int_equal(id, 1);
    links_set_expiry(100 * 86400);
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r1, &id), 1);
    links_set_expiry(0);    /* ignored */
    assert_int_equal(links_lookup(fx->st, LINKS_APPOINTMENT, r1, &id), 1);
    links_set_expiry(LINKS_EXPIRE_DEFAULT);
    links_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stable_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
