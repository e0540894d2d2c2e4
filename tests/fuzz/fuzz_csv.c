/* The streaming CSV reader: never crashes, whatever the bytes and however
 * the input is cut into reads; every record it hands out is UTF-8, has at
 * most CSV_MAX_FIELDS fields, and line numbers never go backwards. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relais/csv.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct src s;
    struct csv_reader *r;
    const struct csv_field *f;
    const char *why;
    size_t n, total;
    long line, last = 1;
    int rc;

    if (size < 2)
        return 0;
    /* The first byte picks the read size, the second the separator. */
    s = (struct src){data + 2, size - 2, 0, (size_t)data[0] % 17 + 1};
    r = csv_new(data[1] % 2 ? ';' : ',', rd, &s);
    if (!r)
        return 0;
    while ((rc = csv_next(r, &f, &n, &line, &why)) != CSV_END) {
        if (rc < 0 || line < last)
            abort();
        last = line;
        if (rc == CSV_BAD) {
            if (!why)
                abort();
            continue;
        }
        if (n == 0 || n > CSV_MAX_FIELDS)
            abort();
        total = 0;
        for (size_t i = 0; i < n; i++) {
            if (!csv_utf8_valid(f[i].s, f[i].len))
                abort();
            total += f[i].len;
        }
        if (total > CSV_MAX_RECORD)
            abort();
    }
    csv_free(r);
    return 0;
}
