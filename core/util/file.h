/* file — a whole file read into memory, bounded: the configuration file,
 * a plugin's code, templates and SQL are read with it.
 *
 * Rules: never more than MAX bytes are kept (one more is read, to tell a
 * file that is too large); the buffer is NUL-terminated, so that text
 * parsers may rely on it, and belongs to the caller (free). */
#ifndef RELAIS_FILE_H
#define RELAIS_FILE_H

#include <stddef.h>

enum file_error {
    FILE_OK = 0,
    FILE_OPEN,        /* fopen failed: errno says why */
    FILE_MEMORY,      /* no memory for the buffer */
    FILE_READ,        /* a read failed: errno says why */
    FILE_TOO_LARGE,   /* more than MAX bytes */
};

/* Reads PATH into *BUF (malloc'd, LEN bytes then a NUL). FILE_OK, or what
 * went wrong (*BUF untouched; errno kept for FILE_OPEN and FILE_READ). */
enum file_error file_read(const char *path, size_t max, char **buf, size_t *len);

#endif
