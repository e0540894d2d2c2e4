/* GSM 03.38 transliteration and segment counting (see gsm.h). */
#include "gsm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The basic table: code points other than printable ASCII that GSM-7 holds.
 * Printable ASCII is in the table except '`' (and '@', '$' are remapped
 * positions, but still one septet). */
static const unsigned basic_extra[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8,
    0x00F8, 0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0,
    0x03A8, 0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4,
    0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6,
    0x00F1, 0x00FC, 0x00E0,
};
/* The extension table: ESC + one septet each. */
static const unsigned extension[] = {'^', '{', '}', '\\', '[', ']', '~', '|', 0x20AC, 0x0C};

int gsm_septets(unsigned cp)
{
    size_t i;

    if (cp == '\n' || cp == '\r')
        return 1;
    for (i = 0; i < sizeof extension / sizeof extension[0]; i++)
        if (extension[i] == cp)
            return 2;
    if (cp >= 0x20 && cp < 0x7F && cp != '`')
        return 1;
    for (i = 0; i < sizeof basic_extra / sizeof basic_extra[0]; i++)
        if (basic_extra[i] == cp)
            return 1;
    return 0;
}

/* Closest GSM-7 spelling of characters French text uses that the alphabet
 * lacks. Lower-case ç becomes c rather than the alphabet's capital Ç, which
 * reads as a shout in the middle of a word. */
static const struct { unsigned cp; const char *to; } translit[] = {
    {0x00E2, "a"}, {0x00E1, "a"}, {0x00E3, "a"}, {0x00EA, "e"}, {0x00EB, "e"},
    {0x00EE, "i"}, {0x00EF, "i"}, {0x00ED, "i"}, {0x00F4, "o"}, {0x00F3, "o"},
    {0x00F5, "o"}, {0x00FB, "u"}, {0x00FA, "u"}, {0x00FF, "y"}, {0x00FD, "y"},
    {0x00E7, "c"}, {0x0153, "oe"}, {0x0152, "OE"},
    {0x00C0, "A"}, {0x00C2, "A"}, {0x00C1, "A"}, {0x00C3, "A"}, {0x00C8, "E"},
    {0x00CA, "E"}, {0x00CB, "E"}, {0x00CE, "I"}, {0x00CF, "I"}, {0x00CD, "I"},
    {0x00CC, "I"}, {0x00D4, "O"}, {0x00D3, "O"}, {0x00D2, "O"}, {0x00D5, "O"},
    {0x00D9, "U"}, {0x00DB, "U"}, {0x00DA, "U"}, {0x0178, "Y"}, {0x00DD, "Y"},
    {0x2019, "'"}, {0x2018, "'"}, {0x02BC, "'"}, {0x0060, "'"}, {0x00B4, "'"},
    {0x00AB, "\""}, {0x00BB, "\""}, {0x201C, "\""}, {0x201D, "\""}, {0x201E, "\""},
    {0x2013, "-"}, {0x2014, "-"}, {0x2010, "-"}, {0x2011, "-"}, {0x2212, "-"},
    {0x2026, "..."}, {0x00A0, " "}, {0x202F, " "}, {0x2009, " "}, {0x2007, " "},
    {0x200B, ""}, {0xFEFF, ""}, {0x00B0, "o"}, {0x00B2, "2"}, {0x2022, "-"},
    {0x00B7, "."}, {0x0009, " "}, {0x20BF, "BTC"},
};

/* Decodes one UTF-8 sequence at S (N bytes left): the code point, or
 * 0xFFFD for an invalid sequence, consuming *used bytes (≥ 1). */
static unsigned utf8_next(const unsigned char *s, size_t n, size_t *used)
{
    unsigned cp;
    size_t len, i;

    *used = 1;
    if (s[0] < 0x80)
        return s[0];
    if (s[0] >= 0xC2 && s[0] <= 0xDF) { len = 2; cp = s[0] & 0x1F; }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) { len = 3; cp = s[0] & 0x0F; }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) { len = 4; cp = s[0] & 0x07; }
    else return 0xFFFD;
    if (len > n)
        return 0xFFFD;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xFFFD;
    *used = len;
    return cp;
}

static size_t utf8_put(unsigned cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static const char *translit_of(unsigned cp)
{
    size_t i;

    for (i = 0; i < sizeof translit / sizeof translit[0]; i++)
        if (translit[i].cp == cp)
            return translit[i].to;
    return NULL;
}

/* Greedy packing into parts of PART units, never splitting a unit group
 * (escape pair or surrogate pair). SIZES holds each character's cost. */
static int count_parts(const unsigned char *sizes, size_t n, size_t single, size_t part)
{
    size_t total = 0, i, fill = 0;
    int parts = 1;

    for (i = 0; i < n; i++)
        total += sizes[i];
    if (total <= single)
        return 1;
    for (i = 0; i < n; i++) {
        if (fill + sizes[i] > part) {
            parts++;
            fill = 0;
        }
        fill += sizes[i];
    }
    return parts;
}

int gsm_prepare(const char *in, struct gsm_text *out)
{
    size_t n = strlen(in), i = 0, o = 0, nchars = 0, used, cap;
    unsigned char *sizes = NULL;
    char *text = NULL;
    int ucs2 = 0;

    memset(out, 0, sizeof *out);
    /* Transliteration grows a character to at most 3 bytes ("..." from 3
     * bytes, "oe" from 2, "BTC" from 3), so the input length bounds it. */
    cap = n + 1;
    text = malloc(cap);
    sizes = malloc(n + 1);
    if (!text || !sizes)
        goto fail;
    while (i < n) {
        unsigned cp = utf8_next((const unsigned char *)in + i, n - i, &used);
        const char *t;

        i += used;
        if (cp == 0xFFFD) {
            text[o++] = '?';
            continue;
        }
        if (gsm_septets(cp)) {
            o += utf8_put(cp, text + o);
            continue;
        }
        t = translit_of(cp);
        if (t) {
            size_t tl = strlen(t);
            memcpy(text + o, t, tl);
            o += tl;
            continue;
        }
        ucs2 = 1;
        o += utf8_put(cp, text + o);
    }
    text[o] = '\0';
    /* Count over the transliterated text. */
    out->units = 0;
    for (i = 0; i < o; i += used) {
        unsigned cp = utf8_next((const unsigned char *)text + i, o - i, &used);
        unsigned char sz = ucs2 ? (cp >= 0x10000 ? 2 : 1) : (unsigned char)gsm_septets(cp);
        sizes[nchars++] = sz;
        out->units += sz;
    }
    out->segments = ucs2 ? count_parts(sizes, nchars, 70, 67)
                         : count_parts(sizes, nchars, 160, 153);
    out->ucs2 = ucs2;
    out->text = text;
    free(sizes);
    return 0;
fail:
    free(text);
    free(sizes);
    return -1;
}

void gsm_text_free(struct gsm_text *t)
{
    if (!t)
        return;
    free(t->text);
    t->text = NULL;
}
