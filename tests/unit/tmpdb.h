/* What the store-level unit tests share: a fresh database in a directory of
 * its own under /tmp, opened with the store (and, when asked, the core
 * migrations applied), removed with everything in it at the end. Included
 * by the test files only. */
#ifndef RELAIS_TESTS_TMPDB_H
#define RELAIS_TESTS_TMPDB_H

#include <stdio.h>
#include <stdlib.h>

#include "store.h"

struct tmpdb {
    char dir[64];
    char path[128];
    struct store *st;
};

/* Opens DB->path in a new /tmp/relais-NAME-XXXXXX; MIGRATE applies the core
 * migrations. 0, or -1 (said on stderr) with nothing left open. */
static inline int tmpdb_open(struct tmpdb *db, const char *name, int migrate)
{
    char *err = NULL;

    snprintf(db->dir, sizeof db->dir, "/tmp/relais-%s-XXXXXX", name);
    if (!mkdtemp(db->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(db->path, sizeof db->path, "%s/relais.db", db->dir);
    if (store_open(db->path, &db->st, &err) != 0
        || (migrate && store_migrate_core(db->st, &err) != 0)) {
        fprintf(stderr, "tmpdb %s: %s\n", name, err ? err : "cannot open");
        free(err);
        store_close(db->st);
        db->st = NULL;
        return -1;
    }
    return 0;
}

/* Removes DB's directory (a mkdtemp name: no quoting issue). 0 or -1. */
static inline int tmpdb_remove(const struct tmpdb *db)
{
    char cmd[160];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", db->dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Closes the store and removes the directory. 0 or -1. */
static inline int tmpdb_close(struct tmpdb *db)
{
    store_close(db->st);
    db->st = NULL;
    return tmpdb_remove(db);
}

/* cmocka set-up and tear-down named setup() and teardown() for a test file
 * whose whole state is a struct tmpdb: tmpdb_fixture(NAME, MIGRATE). */
#define tmpdb_fixture(name, migrate)                                        \
    static int setup(void **state)                                          \
    {                                                                       \
        struct tmpdb *db = calloc(1, sizeof *db);                           \
        if (!db || tmpdb_open(db, name, migrate) != 0) {                    \
            free(db);                                                       \
            return -1;                                                      \
        }                                                                   \
        *state = db;                                                        \
        return 0;                                                           \
    }                                                                       \
    static int teardown(void **state)                                       \
    {                                                                       \
        struct tmpdb *db = *state;                                          \
        int rc = tmpdb_close(db);                                           \
        free(db);                                                           \
        return rc;                                                          \
    }

#endif
