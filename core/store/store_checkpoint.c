/* store — WAL checkpoints on a thread of their own (see core/store/store.h).
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses its
 * threshold, so one request in a few hundred (or a bulk import) paid for
 * copying the whole WAL back into the database and syncing it, on the event
 * loop. Here the loop's connection only counts: its WAL hook, called after
 * each commit with the WAL's frame count, sets a flag under a mutex and
 * signals a condition variable. The thread owns a second connection to the
 * same file and runs PASSIVE checkpoints, which never take the writer lock
 * nor wait for readers, so the loop is never held up by them. A PASSIVE
 * checkpoint does not shrink the file, and a writer racing it can keep the
 * WAL from being reset: when the file has grown past truncate_bytes the
 * thread follows up with a TRUNCATE checkpoint, with a short busy timeout of
 * its own. That one does hold the writer lock, but only to copy the few
 * frames the PASSIVE pass left and truncate, and it is rare.
 *
 * Cadence: a PASSIVE round copies the frames that were in the WAL when it
 * started; the loop keeps committing meanwhile, so under steady writes the
 * WAL is rarely all copied when the next transaction begins, and SQLite only
 * starts the file over then. Waking the thread at every commit past the
 * threshold would mean one round (two fsyncs) per commit; it is woken instead
 * once CKPT_STEP more frames have come since the last round's end; and a
 * second after its last round, if there were commits and the WAL is still
 * past the threshold, or a reader kept that round from copying everything,
 * it runs one more: at the end of a burst that round copies everything, so
 * the next write starts the file over.
 *
 * Erasure (store_wipe_after_commit): once a transaction that erased someone
 * commits, the thread is asked for a TRUNCATE checkpoint whatever the WAL's
 * size: the WAL still holds the person's former pages (secure_delete only
 * zeroes the database's own), and truncating it to nothing is what removes
 * them from the disk. A reader or the writer in the way makes it retry,
 * every CKPT_WIPE_RETRY_MS, for CKPT_WIPE_TRIES tries.
 *
 * The thread touches only its own connection and the fields under mu.
 * Durability is unchanged: every commit on the loop's connection is synced
 * in the WAL (synchronous=FULL); the checkpointer syncs the WAL before and
 * the database after copying, as SQLite's own checkpoint does.
 */
#include "store_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

/* SQLite's own default: a checkpoint every 1000 WAL pages (4 MiB). */
#define CKPT_FRAMES_DEFAULT 1000
#define CKPT_TRUNCATE_DEFAULT ((int64_t)64 << 20)
/* How long a TRUNCATE checkpoint may wait for a reader or the writer: short,
 * since the loop's writer waits behind it once it holds the writer lock. */
#define CKPT_BUSY_MS 20
/* After the first round, another once this share of the threshold is new. */
#define CKPT_STEP(frames) ((frames) / 8 > 0 ? (frames) / 8 : 1)
#define CKPT_IDLE_SECONDS 1
#define CKPT_WIPE_RETRY_MS 50
#define CKPT_WIPE_TRIES 200

struct store_ckpt {
    pthread_t thread;
    sqlite3 *db;            /* the thread's own connection */
    char *wal_path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    int pending, stop;
    int wipe;               /* a TRUNCATE is wanted (an erasure committed) */
    int dirty;              /* a commit since the last round began */
    int covered;            /* WAL frames the last round copied (0: none) */
    int frames;
    int64_t truncate_bytes;
    struct store_ckpt_stats stats;
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t file_size(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    return (int64_t)sb.st_size;
}

/* Runs on the loop thread after every commit: must not block. The mutex is
 * held by the thread only to read or write a few fields, never across a
 * checkpoint. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store_ckpt *ck = arg;

    (void)db;
    (void)name;
    pthread_mutex_lock(&ck->mu);
    ck->stats.wal_frames = frames;
    ck->dirty = 1;
    /* Fewer frames than the last round copied: SQLite started the WAL over. */
    if (frames < ck->covered)
        ck->covered = 0;
    if (frames >= ck->frames && !ck->pending &&
        (ck->covered == 0 || frames - ck->covered >= CKPT_STEP(ck->frames))) {
        ck->pending = 1;
        pthread_cond_signal(&ck->cv);
    }
    pthread_mutex_unlock(&ck->mu);
    return SQLITE_OK;
}

/* One round: PASSIVE, then TRUNCATE when the file is too big. */
static void run_checkpoint(struct store_ckpt *ck, int64_t truncate_bytes)
{
    double t0 = now_seconds(), dt;
    int log_frames = 0, done_frames = 0, truncated = 0, busy = 0;
    int rc;
    int64_t size;

    rc = sqlite3_wal_checkpoint_v2(ck->db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                   &log_frames, &done_frames);
    if (rc == SQLITE_BUSY) {
        busy = 1;   /* another checkpoint (the CLI closing) is running */
    } else if (rc != SQLITE_OK) {
        log_warn("store", "checkpoint: %s", sqlite3_errmsg(ck->db));
    }
    size = file_size(ck->wal_path);
    if (rc == SQLITE_OK && size > truncate_bytes) {
        rc = sqlite3_wal_checkpoint_v2(ck->db, "main", SQLITE_CHECKPOINT_TRUNCATE,
                                       &log_frames, &done_frames);
        if (rc == SQLITE_OK) {
            truncated = 1;
        } else if (rc == SQLITE_BUSY) {
            busy = 1;   /* a reader held on: tried again at the next signal */
        } else {
            log_warn("store", "truncating checkpoint: %s", sqlite3_errmsg(ck->db));
        }
        size = file_size(ck->wal_path);
    }
    dt = now_seconds() - t0;

    pthread_mutex_lock(&ck->mu);
    ck->stats.checkpoints++;
    ck->stats.truncates += (uint64_t)truncated;
    ck->stats.busy += (uint64_t)busy;
    ck->stats.seconds_total += dt;
    if (dt > ck->stats.seconds_max)
        ck->stats.seconds_max = dt;
    ck->stats.last_log_frames = log_frames;
    ck->stats.last_done_frames = done_frames;
    /* A round stopped short by a reader counts only what it copied; one
     * that failed (-1) copied nothing. */
    ck->covered = done_frames > 0 ? done_frames : 0;
    if (size >= 0)
        ck->stats.wal_bytes = size;
    pthread_mutex_unlock(&ck->mu);
}

/* The WAL emptied to zero bytes after an erasure; retried while a reader
 * or the writer holds it. Runs without the mutex. */
static void wipe(struct store_ckpt *ck)
{
    struct timespec pause = {0, CKPT_WIPE_RETRY_MS * 1000000L};
    int rc = SQLITE_BUSY, log_frames = 0, done_frames = 0;

    for (int i = 0; i < CKPT_WIPE_TRIES && rc == SQLITE_BUSY; i++) {
        if (i > 0)
            nanosleep(&pause, NULL);
        rc = sqlite3_wal_checkpoint_v2(ck->db, "main", SQLITE_CHECKPOINT_TRUNCATE,
                                       &log_frames, &done_frames);
    }
    pthread_mutex_lock(&ck->mu);
    ck->stats.checkpoints++;
    if (rc == SQLITE_OK) {
        ck->stats.truncates++;
        ck->stats.wipes++;
        ck->covered = 0;
        ck->stats.wal_bytes = 0;
    }
    pthread_mutex_unlock(&ck->mu);
    if (rc != SQLITE_OK)
        log_warn("store", "the WAL could not be emptied after an erasure: %s",
                 sqlite3_errmsg(ck->db));
}

static void *ckpt_main(void *arg)
{
    struct store_ckpt *ck = arg;
    struct timespec until;

    pthread_mutex_lock(&ck->mu);
    for (;;) {
        int idle = 0;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += CKPT_IDLE_SECONDS;
        while (!ck->pending && !ck->stop && !ck->wipe && !idle)
            idle = pthread_cond_timedwait(&ck->cv, &ck->mu, &until) == ETIMEDOUT;
        if (ck->stop)
            break;
        if (ck->wipe) {
            ck->wipe = 0;
            ck->pending = 0;
            ck->dirty = 0;
            pthread_mutex_unlock(&ck->mu);
            wipe(ck);
            pthread_mutex_lock(&ck->mu);
            continue;
        }
        /* On the timeout: a round if commits came in after the last one
         * began and left the WAL big, or if a reader stopped it short. */
        if (!ck->pending &&
            !(ck->dirty && ck->stats.wal_frames >= ck->frames) &&
            ck->stats.last_done_frames >= ck->stats.last_log_frames)
            continue;
        ck->pending = 0;
        ck->dirty = 0;
        int64_t truncate_bytes = ck->truncate_bytes;
        pthread_mutex_unlock(&ck->mu);
        run_checkpoint(ck, truncate_bytes);
        pthread_mutex_lock(&ck->mu);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

static char *errf(const char *path, const char *what)
{
    char *s = NULL;

    if (asprintf(&s, "%s: checkpointer: %s", path, what) < 0)
        s = NULL;
    return s;
}

int store_ckpt_start(sqlite3 *loop_db, const char *path, struct store_ckpt **out,
                     char **err)
{
    struct store_ckpt *ck = NULL;
    const char *wal;
    int sync_ok = 0, rc;

    *out = NULL;
    *err = NULL;
    /* A single-thread build of SQLite cannot have two threads use it. */
    if (!sqlite3_threadsafe()) {
        *err = errf(path, "SQLite is built without thread support");
        goto fail;
    }
    ck = calloc(1, sizeof *ck);
    if (!ck) {
        *err = errf(path, "out of memory");
        goto fail;
    }
    ck->frames = CKPT_FRAMES_DEFAULT;
    ck->truncate_bytes = CKPT_TRUNCATE_DEFAULT;
    rc = sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        *err = errf(path, ck->db ? sqlite3_errmsg(ck->db) : sqlite3_errstr(rc));
        goto fail;
    }
    /* The read opens the WAL index, so the first checkpoint finds the WAL;
     * synchronous=FULL keeps the checkpoint's syncs as SQLite's own. */
    if (sqlite3_busy_timeout(ck->db, CKPT_BUSY_MS) != SQLITE_OK ||
        sqlite3_exec(ck->db, "PRAGMA synchronous=FULL; PRAGMA cache_size=16;"
                             "PRAGMA secure_delete=ON; PRAGMA schema_version;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        *err = errf(path, sqlite3_errmsg(ck->db));
        goto fail;
    }
    wal = sqlite3_filename_wal(sqlite3_db_filename(ck->db, "main"));
    ck->wal_path = wal ? strdup(wal) : NULL;
    if (!ck->wal_path) {
        *err = errf(path, "out of memory");
        goto fail;
    }
    if (pthread_mutex_init(&ck->mu, NULL) != 0) {
        *err = errf(path, "cannot create a mutex");
        goto fail;
    }
    if (pthread_cond_init(&ck->cv, NULL) != 0) {
        pthread_mutex_destroy(&ck->mu);
        *err = errf(path, "cannot create a condition variable");
        goto fail;
    }
    sync_ok = 1;
    if (pthread_create(&ck->thread, NULL, ckpt_main, ck) != 0) {
        *err = errf(path, "cannot start the thread");
        goto fail;
    }
    /* The hook replaces SQLite's automatic checkpoint (which is itself a WAL
     * hook); turning it off first keeps that explicit. */
    sqlite3_wal_autocheckpoint(loop_db, 0);
    sqlite3_wal_hook(loop_db, on_wal, ck);
    *out = ck;
    return 0;
fail:
    if (!*err)
        *err = errf(path, "cannot start");
    if (ck) {
        if (sync_ok) {
            pthread_cond_destroy(&ck->cv);
            pthread_mutex_destroy(&ck->mu);
        }
        sqlite3_close(ck->db);
        free(ck->wal_path);
        free(ck);
    }
    return -1;
}

void store_ckpt_stop(struct store_ckpt *ck, sqlite3 *loop_db)
{
    if (!ck)
        return;
    if (loop_db)
        sqlite3_wal_hook(loop_db, NULL, NULL);
    pthread_mutex_lock(&ck->mu);
    ck->stop = 1;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->thread, NULL);
    /* Closed before the loop's connection, so that one is the last and its
     * close runs the final checkpoint and removes the WAL, as before. */
    if (sqlite3_close(ck->db) != SQLITE_OK)
        log_error("store", "checkpointer close: %s", sqlite3_errmsg(ck->db));
    pthread_cond_destroy(&ck->cv);
    pthread_mutex_destroy(&ck->mu);
    free(ck->wal_path);
    free(ck);
}

void store_ckpt_stats(struct store_ckpt *ck, struct store_ckpt_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!ck)
        return;
    pthread_mutex_lock(&ck->mu);
    *out = ck->stats;
    pthread_mutex_unlock(&ck->mu);
    out->running = 1;
}

void store_ckpt_tune(struct store_ckpt *ck, int frames, int64_t truncate_bytes)
{
    if (!ck)
        return;
    pthread_mutex_lock(&ck->mu);
    if (frames > 0)
        ck->frames = frames;
    if (truncate_bytes >= 0)
        ck->truncate_bytes = truncate_bytes;
    pthread_mutex_unlock(&ck->mu);
}

void store_ckpt_wipe(struct store_ckpt *ck)
{
    if (!ck)
        return;
    pthread_mutex_lock(&ck->mu);
    ck->wipe = 1;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
}
