/* csv — a streaming reader of delimited text as spreadsheet programs and
 * Pix Orga write it (RFC 4180 plus what exports do in practice).
 *
 * The reader pulls the input through a read function in bounded chunks
 * (CSV_CHUNK bytes), so a file of any size is read with memory bounded by
 * its longest record (at most CSV_MAX_RECORD bytes of text, CSV_MAX_FIELDS
 * fields). Rules:
 *   - a UTF-8 byte order mark at the very start is skipped;
 *   - records end at LF or CRLF; a blank line (nothing but its line end) is
 *     skipped and is no record;
 *   - a field starting with '"' is quoted: it ends at the next lone '"',
 *     "" inside stands for one '"', and it may hold the separator, CR and
 *     LF; a '"' inside an unquoted field is kept as it is;
 *   - each record comes with the physical line number (1-based) where it
 *     starts, so a quoted field spanning lines does not shift the count.
 * A malformed record (text after a closing quote, a quote never closed, a
 * record over the limits, bytes that are not UTF-8) is reported as
 * CSV_BAD with a reason and its line; reading goes on with the next one.
 */
#ifndef RELAIS_CSV_H
#define RELAIS_CSV_H

#include <stddef.h>
#include <sys/types.h>

#define CSV_CHUNK      (64 * 1024)
#define CSV_MAX_RECORD (1024 * 1024)
#define CSV_MAX_FIELDS 4096

enum csv_status { CSV_END = 0, CSV_RECORD = 1, CSV_BAD = 2 };

/* Fills BUF with up to CAP bytes: the count, 0 at the end, -1 on error. */
typedef ssize_t (*csv_read_fn)(void *ud, char *buf, size_t cap);

struct csv_field {
    const char *s;     /* not NUL-terminated; may hold NUL bytes */
    size_t len;
};

struct csv_reader;

/* A reader of SEP-separated text pulled from READ(UD). NULL when out of
 * memory. The caller keeps UD alive until csv_free. */
struct csv_reader *csv_new(char sep, csv_read_fn read, void *ud);
void csv_free(struct csv_reader *r);

/* The next record. CSV_RECORD: *FIELDS (N of them) valid until the next
 * call; CSV_BAD: *WHY is a static reason (no field text in it); CSV_END:
 * nothing is left. *LINE is where the record starts. -1 when READ failed
 * or memory ran out (*WHY says which); the reader is then finished. */
int csv_next(struct csv_reader *r, const struct csv_field **fields, size_t *n,
             long *line, const char **why);

/* 1 when S[0..LEN) is well-formed UTF-8 (no overlongs, no surrogates). */
int csv_utf8_valid(const char *s, size_t len);

#endif
