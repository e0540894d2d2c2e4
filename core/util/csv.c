/* csv — streaming reader of delimited text (see core/util/csv.h).
 *
 * One pass, byte by byte, over a CSV_CHUNK input buffer refilled through
 * the read function. The current record's text goes into one growing
 * buffer and its fields are kept as offsets into it (the buffer may move
 * while it grows), turned into pointers when the record is handed out. A
 * record read as Windows-1252 is decoded into a second buffer, kept from
 * record to record like the first.
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

enum state { FIELD_START, UNQUOTED, QUOTED, QUOTE_SEEN, QUOTE_CR };

#define C_EOF (-1)
#define C_ERR (-2)

struct span {
    size_t off, len;
};

struct csv_reader {
    char sep;
    enum csv_encoding enc;
    csv_read_fn read;
    void *ud;
    char in[CSV_CHUNK];
    size_t pos, len;
    int started;          /* the BOM check is done */
    int eof, failed;
    long line;            /* physical line of the next byte */
    char *rec;            /* the record's text */
    size_t rlen, rcap;
    struct span *spans;
    size_t nf, fcap;
    struct csv_field *fields;
    size_t ofcap;
    char *conv;           /* a record decoded from Windows-1252 */
    size_t ccap;
};

struct csv_reader *csv_new(char sep, csv_read_fn read, void *ud)
{
    struct csv_reader *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->sep = sep;
    r->read = read;
    r->ud = ud;
    r->line = 1;
    return r;
}

void csv_set_encoding(struct csv_reader *r, enum csv_encoding enc)
{
    r->enc = enc;
}

void csv_free(struct csv_reader *r)
{
    if (!r)
        return;
    free(r->conv);
    free(r->rec);
    free(r->spans);
    free(r->fields);
    free(r);
}

/* Reads more input after what is left at POS. 1 read, 0 end, -1 error. */
static int refill(struct csv_reader *r)
{
    ssize_t n;

    if (r->eof)
        return 0;
    if (r->pos < r->len)
        memmove(r->in, r->in + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    n = r->read(r->ud, r->in + r->len, sizeof r->in - r->len);
    if (n < 0)
        return -1;
    if (n == 0) {
        r->eof = 1;
        return 0;
    }
    r->len += (size_t)n;
    return 1;
}

static int next_byte(struct csv_reader *r)
{
    int rc = 0;

    if (!r->started) {
        /* Enough bytes to see a whole BOM, even from a stingy reader. */
        while (r->len < 3 && (rc = refill(r)) > 0)
            ;
        if (rc < 0 && r->len < 3)
            return C_ERR;
        if (r->len >= 3 && memcmp(r->in, "\xEF\xBB\xBF", 3) == 0)
            r->pos = 3;
        r->started = 1;
    }
    if (r->pos == r->len) {
        rc = refill(r);
        if (rc < 0)
            return C_ERR;
        if (rc == 0)
            return C_EOF;
    }
    return (unsigned char)r->in[r->pos++];
}

/* Appends C to the record; past the limit marks the record bad instead. */
static int add(struct csv_reader *r, char c, const char **bad)
{
    if (r->rlen >= CSV_MAX_RECORD) {
        if (!*bad)
            *bad = "the line is longer than 1 MiB";
        return 0;
    }
    if (r->rlen == r->rcap) {
        size_t cap = r->rcap ? r->rcap * 2 : 4096;
        char *p = realloc(r->rec, cap);

        if (!p)
            return -1;
        r->rec = p;
        r->rcap = cap;
    }
    r->rec[r->rlen++] = c;
    return 0;
}

/* Appends the N bytes at P, as add() would one by one: what goes past the
 * limit is dropped and marks the record bad. */
static int append(struct csv_reader *r, const char *p, size_t n, const char **bad)
{
    if (n > CSV_MAX_RECORD - r->rlen) {
        n = CSV_MAX_RECORD - r->rlen;
        if (!*bad)
            *bad = "the line is longer than 1 MiB";
    }
    if (n == 0)
        return 0;
    if (r->rlen + n > r->rcap) {
        size_t cap = r->rcap ? r->rcap : 4096;
        char *q;

        while (cap < r->rlen + n)
            cap *= 2;
        q = realloc(r->rec, cap);
        if (!q)
            return -1;
        r->rec = q;
        r->rcap = cap;
    }
    memcpy(r->rec + r->rlen, p, n);
    r->rlen += n;
    return 0;
}

/* Inside a field, takes the run of bytes of the input buffer up to the
 * next one that means something in state ST (the separator or LF in an
 * unquoted field, a quote in a quoted one) in one go: most of a file is
 * such runs, and going byte by byte through the state machine was most of
 * the reader's time. The byte that ends the run is left for the caller. */
static int take_run(struct csv_reader *r, enum state st, const char **bad)
{
    const char *p = r->in + r->pos, *end = r->in + r->len, *q = p;

    if (st == UNQUOTED) {
        while (q < end && *q != r->sep && *q != '\n')
            q++;
    } else {
        q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            q = end;
        for (const char *nl = p; (nl = memchr(nl, '\n', (size_t)(q - nl))); nl++)
            r->line++;
    }
    r->pos += (size_t)(q - p);
    return append(r, p, (size_t)(q - p), bad);
}

/* Closes the field that started at START. */
static int end_field(struct csv_reader *r, size_t start, const char **bad)
{
    if (r->nf == CSV_MAX_FIELDS) {
        if (!*bad)
            *bad = "the line has more than 4096 fields";
        return 0;
    }
    if (r->nf == r->fcap) {
        size_t cap = r->fcap ? r->fcap * 2 : 64;
        struct span *p = realloc(r->spans, cap * sizeof *p);

        if (!p)
            return -1;
        r->spans = p;
        r->fcap = cap;
    }
    r->spans[r->nf].off = start;
    r->spans[r->nf].len = r->rlen - start;
    r->nf++;
    return 0;
}

int csv_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p, *end;

    if (len == 0)
        return 1;   /* S may then be NULL (an empty record) */
    p = (const unsigned char *)s;
    end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned min, cp;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1; min = 0x80; cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2; min = 0x800; cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3; min = 0x10000; cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Windows-1252's 0x80..0x9F (WHATWG's index): the rest of the code page is
 * Latin-1, whose bytes are their own code points. */
static const unsigned short cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

size_t csv_from_1252(const char *s, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned cp = p[i];

        if (cp < 0x80) {
            out[o++] = (char)cp;
            continue;
        }
        if (cp < 0xA0)
            cp = cp1252_c1[cp - 0x80];
        if (cp < 0x800) {
            out[o++] = (char)(0xC0 | cp >> 6);
        } else {
            out[o++] = (char)(0xE0 | cp >> 12);
            out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
        }
        out[o++] = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes the record's fields from Windows-1252 into R->conv; the spans
 * then point into it. 0, or -1 when out of memory. */
static int decode_1252(struct csv_reader *r)
{
    size_t need = r->rlen * 3, o = 0;

    if (need == 0)
        return 0;   /* only empty fields: nothing to decode */
    if (need > r->ccap) {
        char *p = realloc(r->conv, need);

        if (!p)
            return -1;
        r->conv = p;
        r->ccap = need;
    }
    for (size_t i = 0; i < r->nf; i++) {
        size_t n = csv_from_1252(r->rec + r->spans[i].off, r->spans[i].len, r->conv + o);

        r->spans[i].off = o;
        r->spans[i].len = n;
        o += n;
    }
    return 0;
}

/* Reads one record into R (fields as spans). CSV_RECORD, CSV_BAD (*BAD
 * set), CSV_END, or -1. A blank line comes back as a record of one empty
 * unquoted field with *BLANK set. */
static int read_record(struct csv_reader *r, const char **bad, int *blank, const char **why)
{
    enum state st = FIELD_START;
    size_t start = 0;
    int c, any = 0, quoted = 0;

    r->rlen = 0;
    r->nf = 0;
    *blank = 0;
    for (;;) {
        if ((st == UNQUOTED || st == QUOTED) && r->started && r->pos < r->len) {
            if (take_run(r, st, bad) < 0)
                goto oom;
            if (r->pos == r->len)
                continue;   /* the run went on to the end of the buffer */
        }
        c = next_byte(r);
        if (c == C_ERR) {
            *why = "the body could not be read";
            return -1;
        }
        if (c == C_EOF) {
            if (!any)
                return CSV_END;
            if (st == QUOTED && !*bad)
                *bad = "a quoted field is not closed";
            if (st == QUOTE_CR && !*bad)
                *bad = "text after a closing quote";
            if (st == UNQUOTED && r->rlen > start && r->rec[r->rlen - 1] == '\r')
                r->rlen--;
            break;
        }
        any = 1;
        if (c == '\n')
            r->line++;
        if (st == FIELD_START) {
            if (c == '"') {
                st = QUOTED;
                quoted = 1;
                continue;
            }
            st = UNQUOTED;
        }
        if (st == UNQUOTED) {
            if (c == r->sep) {
                if (end_field(r, start, bad) < 0)
                    goto oom;
                start = r->rlen;
                st = FIELD_START;
            } else if (c == '\n') {
                /* CRLF: the CR belongs to the line end, not the field. */
                if (r->rlen > start && r->rec[r->rlen - 1] == '\r')
                    r->rlen--;
                break;
            } else if (add(r, (char)c, bad) < 0) {
                goto oom;
            }
        } else if (st == QUOTED) {
            if (c == '"')
                st = QUOTE_SEEN;
            else if (add(r, (char)c, bad) < 0)
                goto oom;
        } else if (st == QUOTE_SEEN) {
            if (c == '"') {
                st = QUOTED;
                if (add(r, '"', bad) < 0)
                    goto oom;
            } else if (c == r->sep) {
                if (end_field(r, start, bad) < 0)
                    goto oom;
                start = r->rlen;
                st = FIELD_START;
            } else if (c == '\n') {
                break;
            } else if (c == '\r') {
                st = QUOTE_CR;
            } else {
                /* Keep reading the record to its end, as a bad one. */
                if (!*bad)
                    *bad = "text after a closing quote";
                st = UNQUOTED;
                if (add(r, (char)c, bad) < 0)
                    goto oom;
            }
        } else {   /* QUOTE_CR: only LF may follow */
            if (c == '\n')
                break;
            if (!*bad)
                *bad = "text after a closing quote";
            st = c == r->sep ? FIELD_START : UNQUOTED;
            if (c == r->sep) {
                if (end_field(r, start, bad) < 0)
                    goto oom;
                start = r->rlen;
            } else if (add(r, (char)c, bad) < 0) {
                goto oom;
            }
        }
    }
    if (end_field(r, start, bad) < 0)
        goto oom;
    *blank = r->nf == 1 && r->rlen == 0 && !quoted;
    return *bad ? CSV_BAD : CSV_RECORD;
oom:
    *why = "out of memory";
    return -1;
}

int csv_next(struct csv_reader *r, const struct csv_field **fields, size_t *n,
             long *line, const char **why)
{
    const char *bad, *base;
    int rc, blank;

    *fields = NULL;
    *n = 0;
    *why = NULL;
    if (r->failed) {
        *why = "the reader has failed";
        return -1;
    }
    do {
        bad = NULL;
        *line = r->line;
        rc = read_record(r, &bad, &blank, why);
    } while (rc == CSV_RECORD && blank);
    if (rc < 0) {
        r->failed = 1;
        return -1;
    }
    if (rc == CSV_END)
        return CSV_END;
    /* Field by field: bytes of two fields could pass together ("\xC3;\xA9"). */
    base = r->rec;
    if (rc == CSV_RECORD && r->rec) {
        int legacy = r->enc == CSV_WINDOWS_1252;

        for (size_t i = 0; !legacy && i < r->nf; i++)
            if (!csv_utf8_valid(r->rec + r->spans[i].off, r->spans[i].len))
                legacy = 1;
        if (legacy && r->enc == CSV_UTF8) {
            bad = "the line is not valid UTF-8", rc = CSV_BAD;
        } else if (legacy) {
            if (decode_1252(r) < 0) {
                r->failed = 1;
                *why = "out of memory";
                return -1;
            }
            if (r->rlen)
                base = r->conv;
        }
    }
    if (rc == CSV_BAD) {
        *why = bad;
        return CSV_BAD;
    }
    if (r->nf > r->ofcap) {
        struct csv_field *p = realloc(r->fields, r->nf * sizeof *p);

        if (!p) {
            r->failed = 1;
            *why = "out of memory";
            return -1;
        }
        r->fields = p;
        r->ofcap = r->nf;
    }
    for (size_t i = 0; i < r->nf; i++) {
        r->fields[i].s = base ? base + r->spans[i].off : "";
        r->fields[i].len = r->spans[i].len;
    }
    *fields = r->fields;
    *n = r->nf;
    return CSV_RECORD;
}
