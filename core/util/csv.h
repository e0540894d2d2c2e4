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
 *
 * Encodings (csv_set_encoding): records are always handed out in UTF-8.
 * The input is UTF-8 by default; it may instead be Windows-1252 (what
 * Excel writes when a French user saves "CSV (séparateur : point-virgule)"),
 * or either, judged record by record (CSV_AUTO: a record that is not valid
 * UTF-8 is decoded as Windows-1252), because a file re-saved by hand may
 * mix both. Decoding happens after the record is split: the separator,
 * quotes and line ends are ASCII in both, so the split is the same. The
 * limits are on the raw bytes; a decoded record is at most three times
 * longer (one byte becomes at most three).
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

enum csv_encoding {
    CSV_UTF8 = 0,        /* the default: a record that is not UTF-8 is CSV_BAD */
    CSV_WINDOWS_1252,    /* every byte is a Windows-1252 character */
    CSV_AUTO,            /* each record: UTF-8 when it is valid, else Windows-1252 */
};

/* How the input's bytes are read; before the first csv_next. */
void csv_set_encoding(struct csv_reader *r, enum csv_encoding enc);

/* The next record. CSV_RECORD: *FIELDS (N of them) valid until the next
 * call; CSV_BAD: *WHY is a static reason (no field text in it); CSV_END:
 * nothing is left. *LINE is where the record starts. -1 when READ failed
 * or memory ran out (*WHY says which); the reader is then finished. */
int csv_next(struct csv_reader *r, const struct csv_field **fields, size_t *n,
             long *line, const char **why);

/* 1 when S[0..LEN) is well-formed UTF-8 (no overlongs, no surrogates). */
int csv_utf8_valid(const char *s, size_t len);

/* Writes S[0..LEN), read as Windows-1252, to OUT as UTF-8 (OUT has room
 * for 3 * LEN bytes) and returns the length written. The five bytes the
 * code page leaves unassigned (0x81 0x8D 0x8F 0x90 0x9D) become the C1
 * controls of the same value, as the WHATWG Encoding Standard decodes
 * them: nothing is ever refused or lost. */
size_t csv_from_1252(const char *s, size_t len, char *out);

#endif
