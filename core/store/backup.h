/* backup — a consistent copy of the live database (`relais backup FILE`).
 *
 * SQLite's online backup API copies the database page by page from a read
 * transaction of its own: in WAL mode a reader never blocks the server's
 * writes (nor they it), and holding that one snapshot across every step
 * means writes committed meanwhile neither restart the copy nor leak into
 * it. The copy holds exactly what was committed when it began.
 *
 * Rules: the live database is opened read-only and never migrated; the copy
 * is written beside FILE under a temporary name, turned into a
 * self-contained rollback-journal file (no -wal needed to read it), synced,
 * checked with PRAGMA integrity_check from a fresh connection, and only then
 * renamed over FILE: FILE is either the old backup or a complete, checked
 * new one, never half a file. The link secret kept beside the database
 * (links.h) is copied beside FILE the same way, since a restored database
 * without it breaks every link already sent.
 *
 * Runs in the command-line process, never on the server's event loop. */
#ifndef RELAIS_BACKUP_H
#define RELAIS_BACKUP_H

#include <stdint.h>

#define BACKUP_STEP_PAGES 1024    /* pages copied per sqlite3_backup_step */
#define BACKUP_BUSY_SECONDS 30    /* how long a busy database is waited for */

struct backup_report {
    int pages;             /* pages copied */
    int64_t bytes;         /* size of the copy */
    int steps;             /* backup steps taken */
    double seconds;        /* from the snapshot to the checked copy */
    int secret_copied;     /* DATABASE.secret was copied to FILE.secret */
};

/* Copies the database DATABASE to DEST as above. COPY_SECRET: also copy
 * DATABASE.secret to DEST.secret when it exists (when the configuration has
 * no link_secret of its own). 0 with *REPORT filled, or -1 with *ERR
 * (malloc'd, the caller frees) and nothing left at DEST's temporary name. */
int backup_run(const char *database, const char *dest, int copy_secret,
               struct backup_report *report, char **err);

#endif
