/* backup — a consistent copy of the live database (see
 * core/store/backup.h). */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"

#define SECRET_MAX 4096     /* a link secret file is 65 bytes */

static double since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Makes the directory entry of PATH durable (after a rename into it). */
static int sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    int fd, rc = -1;

    if (!copy)
        return -1;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(copy);
    return rc;
}

static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Runs SQL on DB, ignoring rows. 0 or -1. */
static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Opens a read transaction on SRC, so that every backup step reads the
 * same snapshot (a plain BEGIN takes its snapshot at the first read). */
static int begin_snapshot(sqlite3 *src)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (exec(src, "BEGIN") != 0)
        return -1;
    if (sqlite3_prepare_v2(src, "SELECT count(*) FROM sqlite_schema", -1, &s, NULL)
            == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        rc = 0;
    sqlite3_finalize(s);
    if (rc != 0)
        exec(src, "ROLLBACK");
    return rc;
}

/* The copy at PATH, read back from disk by a connection of its own:
 * PRAGMA integrity_check must answer exactly one row, "ok". */
static int check_copy(const char *path, char **err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    const char *first;
    char answer[200];
    int rc = -1, step;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK) {
        *err = log_errf("%s: cannot read the copy back: %s", path,
                        db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        *err = log_errf("%s: integrity_check did not run: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    first = (const char *)sqlite3_column_text(s, 0);
    snprintf(answer, sizeof answer, "%s", first ? first : "(no answer)");
    if (strcmp(answer, "ok") != 0 || sqlite3_step(s) != SQLITE_DONE) {
        *err = log_errf("%s: the copy fails integrity_check: %s", path, answer);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

/* Copies the small file FROM to TO through a temporary file and a rename,
 * mode 0600. 1 copied, 0 when FROM does not exist, -1 with *ERR. */
static int copy_small(const char *from, const char *to, char **err)
{
    char buf[SECRET_MAX + 1], *tmp = NULL;
    int in = -1, out = -1, rc = -1;
    ssize_t n;

    in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) {
        if (errno == ENOENT)
            return 0;
        *err = log_errf("%s: %s", from, strerror(errno));
        return -1;
    }
    n = read(in, buf, sizeof buf);
    if (n < 0 || n > SECRET_MAX) {
        *err = log_errf("%s: %s", from, n < 0 ? strerror(errno) : "larger than expected");
        goto out;
    }
    if (asprintf(&tmp, "%s.tmp-XXXXXX", to) < 0) {
        tmp = NULL;
        *err = log_errf("out of memory");
        goto out;
    }
    out = mkstemp(tmp);
    if (out < 0) {
        *err = log_errf("%s: %s", tmp, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (fchmod(out, 0600) != 0 || write(out, buf, (size_t)n) != n || fsync(out) != 0) {
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(out) != 0) {
        out = -1;
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    out = -1;
    if (rename(tmp, to) != 0) {
        *err = log_errf("%s: %s", to, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    sync_dir_of(to);
    rc = 1;
out:
    explicit_bzero(buf, sizeof buf);
    if (out >= 0)
        close(out);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    close(in);
    return rc;
}

/* What DEST may not be: the database itself or a directory. */
static int check_dest(const char *database, const char *dest, char **err)
{
    struct stat sd, sf;

    if (stat(database, &sd) != 0) {
        *err = log_errf("%s: no database there (%s)", database, strerror(errno));
        return -1;
    }
    if (!*dest || dest[strlen(dest) - 1] == '/') {
        *err = log_errf("'%s': name the file to write, not a directory", dest);
        return -1;
    }
    if (stat(dest, &sf) == 0) {
        if (S_ISDIR(sf.st_mode)) {
            *err = log_errf("%s is a directory: name the file to write", dest);
            return -1;
        }
        if (sf.st_dev == sd.st_dev && sf.st_ino == sd.st_ino) {
            *err = log_errf("%s is the database itself", dest);
            return -1;
        }
    }
    return 0;
}

/* Copies every page of SRC's snapshot into DST, in steps. */
static int copy_pages(sqlite3 *src, sqlite3 *dst, struct backup_report *rep, char **err)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    struct timespec t0;
    int step, rc;

    if (!b) {
        *err = log_errf("cannot start the copy: %s", sqlite3_errmsg(dst));
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        step = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
        rep->steps++;
        if (step == SQLITE_DONE)
            break;
        if (step == SQLITE_OK)
            continue;
        /* A lock held elsewhere for a moment: wait a little, within reason. */
        if ((step == SQLITE_BUSY || step == SQLITE_LOCKED) && since(&t0) < BACKUP_BUSY_SECONDS) {
            sqlite3_sleep(20);
            continue;
        }
        break;
    }
    rep->pages = sqlite3_backup_pagecount(b);
    rc = sqlite3_backup_finish(b);
    if (step != SQLITE_DONE || rc != SQLITE_OK) {
        *err = log_errf("copying the database failed: %s",
                        sqlite3_errstr(step != SQLITE_DONE ? step : rc));
        return -1;
    }
    return 0;
}

int backup_run(const char *database, const char *dest, int copy_secret,
               struct backup_report *rep, char **err)
{
    sqlite3 *src = NULL, *dst = NULL;
    char *tmp = NULL, *journal = NULL, *from = NULL, *to = NULL;
    char mode[16] = "";
    struct timespec t0;
    struct stat st;
    int fd, in_tx = 0, rc = -1;
    sqlite3_stmt *s = NULL;

    memset(rep, 0, sizeof *rep);
    *err = NULL;
    if (check_dest(database, dest, err) != 0)
        goto out;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", dest) < 0) {
        tmp = NULL;
        goto oom;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        *err = log_errf("cannot write beside %s: %s", dest, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    close(fd);
    if (asprintf(&journal, "%s-journal", tmp) < 0) {
        journal = NULL;
        goto oom;
    }
    /* Read-only: a backup never writes the live database, and never
     * migrates it (this binary may be older or newer than the server). */
    if (sqlite3_open_v2(database, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(src, BACKUP_BUSY_SECONDS * 1000) != SQLITE_OK) {
        *err = log_errf("%s: cannot open: %s", database,
                        src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (begin_snapshot(src) != 0) {
        *err = log_errf("%s: cannot read: %s", database, sqlite3_errmsg(src));
        goto out;
    }
    in_tx = 1;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        *err = log_errf("%s: cannot open: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    if (copy_pages(src, dst, rep, err) != 0)
        goto out;
    exec(src, "COMMIT");
    in_tx = 0;
    sqlite3_close(src);
    src = NULL;
    /* The copy carries the live file's WAL flag: make it a plain file that
     * opens, and restores, without a -wal beside it. */
    if (sqlite3_prepare_v2(dst, "PRAGMA journal_mode=DELETE", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        *err = log_errf("%s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    s = NULL;
    if (strcmp(mode, "delete") != 0) {
        *err = log_errf("%s: the copy stays in journal mode %s", tmp, mode);
        goto out;
    }
    if (sqlite3_close(dst) != SQLITE_OK) {
        *err = log_errf("%s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    dst = NULL;
    if (sync_file(tmp) != 0) {
        *err = log_errf("%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (check_copy(tmp, err) != 0)
        goto out;
    if (stat(tmp, &st) != 0 || rename(tmp, dest) != 0) {
        *err = log_errf("%s: %s", dest, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    if (sync_dir_of(dest) != 0)
        log_warn("backup", "cannot sync the directory of %s: %s", dest, strerror(errno));
    rep->bytes = (int64_t)st.st_size;
    if (copy_secret) {
        if (asprintf(&from, "%s.secret", database) < 0) {
            from = NULL;
            goto oom;
        }
        if (asprintf(&to, "%s.secret", dest) < 0) {
            to = NULL;
            goto oom;
        }
        rep->secret_copied = copy_small(from, to, err);
        if (rep->secret_copied < 0)
            goto out;
    }
    rep->seconds = since(&t0);
    rc = 0;
    goto out;
oom:
    *err = log_errf("out of memory");
out:
    sqlite3_finalize(s);
    if (src) {
        if (in_tx)
            exec(src, "ROLLBACK");
        sqlite3_close(src);
    }
    if (dst)
        sqlite3_close(dst);
    if (tmp)
        unlink(tmp);
    if (journal)
        unlink(journal);
    free(tmp);
    free(journal);
    free(from);
    free(to);
    if (rc != 0 && !*err)
        *err = log_errf("the backup failed");
    return rc;
}
