/* file — a whole file read into memory, bounded (see file.h). */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

enum file_error file_read(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n;
    enum file_error rc;
    int saved;

    if (!f)
        return FILE_OPEN;
    if (!(b = malloc(max + 1))) {
        rc = FILE_MEMORY;
        goto out;
    }
    n = fread(b, 1, max + 1, f);
    if (ferror(f)) {
        rc = FILE_READ;
        goto out;
    }
    if (n > max) {
        rc = FILE_TOO_LARGE;
        goto out;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
    rc = FILE_OK;
out:
    saved = errno;
    free(b);
    fclose(f);
    errno = saved;
    return rc;
}
