/* store internals shared by core/store/store.c and core/store/store_checkpoint.c. */
#ifndef RELAIS_STORE_INTERNAL_H
#define RELAIS_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

struct store_ckpt;

/* Opens a second connection to PATH for the checkpointer thread, turns off
 * LOOP_DB's automatic checkpoint, installs the WAL hook on LOOP_DB and starts
 * the thread. On failure returns -1 with *err malloc'd and LOOP_DB untouched
 * (SQLite keeps checkpointing on commit, as before). */
int store_ckpt_start(sqlite3 *loop_db, const char *path, struct store_ckpt **out,
                     char **err);
/* Asks the thread to stop, joins it and closes its connection; LOOP_DB's
 * hook is removed so a commit after this never signals a freed object.
 * NULL is fine. */
void store_ckpt_stop(struct store_ckpt *ck, sqlite3 *loop_db);
void store_ckpt_stats(struct store_ckpt *ck, struct store_ckpt_stats *out);
void store_ckpt_tune(struct store_ckpt *ck, int frames, int64_t truncate_bytes);
/* Asks the thread for a TRUNCATE checkpoint now (an erasure committed).
 * NULL is fine (no thread: nothing is truncated). */
void store_ckpt_wipe(struct store_ckpt *ck);

#endif
