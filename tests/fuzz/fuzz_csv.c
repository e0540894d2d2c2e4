/* The streaming CSV reader: never crashes, whatever the bytes and however
 * the input is cut into reads; every record it hands out is UTF-8, has at
 * most CSV_MAX_FIELDS fields, and line numbers never go backwards. And the
 * records do not depend on how the input is cut: read in pieces of 1..17
 * bytes or all at once, the same records, reasons and lines come out (the
 * reader takes runs of plain bytes in one go up to the end of its buffer,
 * so a run cut by a read must join up exactly). In every encoding: a
 * record read as Windows-1252 comes out as UTF-8 too, at most three times
 * its raw length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

struct src {
    const uint8_t *p;
    size_t len, off, step;
};

static ssize_t rd(void *ud, char *buf, size_t cap)
{
    struct src *s = ud;
    size_t n = s->len - s->off;

    if (n > cap)
        n = cap;
    if (n > s->step)
        n = s->step;
    memcpy(buf, s->p + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

/* FNV-1a over what the reader handed out, in order. */
static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211u;
}

/* Reads all of DATA in pieces of STEP bytes, checking each record; the
 * digest of what came out. */
static uint64_t read_all(const uint8_t *data, size_t size, size_t step, char sep,
                         enum csv_encoding enc)
{
    struct src s = {data, size, 0, step};
    struct csv_reader *r = csv_new(sep, rd, &s);
    const struct csv_field *f;
    const char *why;
    size_t n, total;
    long line, last = 1;
    uint64_t h = 14695981039346656037u;
    int rc;

    if (!r)
        abort();
    csv_set_encoding(r, enc);
    while ((rc = csv_next(r, &f, &n, &line, &why)) != CSV_END) {
        if (rc < 0 || line < last)
            abort();
        last = line;
        mix(&h, &rc, sizeof rc);
        mix(&h, &line, sizeof line);
        if (rc == CSV_BAD) {
            if (!why)
                abort();
            mix(&h, why, strlen(why));
            continue;
        }
        if (n == 0 || n > CSV_MAX_FIELDS)
            abort();
        total = 0;
        for (size_t i = 0; i < n; i++) {
            if (!csv_utf8_valid(f[i].s, f[i].len))
                abort();
            mix(&h, &f[i].len, sizeof f[i].len);
            mix(&h, f[i].s, f[i].len);
            total += f[i].len;
        }
        if (total > (enc == CSV_UTF8 ? 1 : 3) * (size_t)CSV_MAX_RECORD)
            abort();
    }
    csv_free(r);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum csv_encoding enc;
    char sep;

    if (size < 2)
        return 0;
    /* The first byte picks the read size, the second the separator (its
     * low bit) and the encoding. */
    sep = data[1] % 2 ? ';' : ',';
    enc = (enum csv_encoding)((data[1] >> 1) % 3);
    if (read_all(data + 2, size - 2, (size_t)data[0] % 17 + 1, sep, enc) !=
        read_all(data + 2, size - 2, CSV_CHUNK, sep, enc))
        abort();
    return 0;
}
