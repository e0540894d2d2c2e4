/* gsm — SMS text: the GSM 03.38 alphabet, French transliteration, segments.
 *
 * Gateways bill per segment and a message in the GSM 7-bit alphabet holds
 * 160 septets (153 per part when concatenated) against 70 (67) UCS-2 units.
 * French needs only a handful of letters outside GSM-7 (â ê î ô û ë ï ç œ,
 * typographic quotes and spaces), so gsm_prepare() rewrites them to their
 * closest GSM-7 form; only a text with characters that have no such form
 * (another script, emoji) stays UCS-2. Counting follows 3GPP TS 23.038: an
 * extension character (€ [ ] { } ^ ~ | \ and form feed) costs two septets and
 * an escape pair, like a UTF-16 surrogate pair, is never split across parts.
 *
 * Ownership: gsm_prepare() fills OUT->text with a malloc'd string that the
 * caller frees with gsm_text_free().
 */
#ifndef RELAIS_GSM_H
#define RELAIS_GSM_H

#include <stddef.h>

struct gsm_text {
    char *text;       /* UTF-8, after transliteration */
    int ucs2;         /* 1 when the text cannot be sent in GSM-7 */
    size_t units;     /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    int segments;     /* parts the gateway will send, ≥ 1 */
};

/* Transliterates UTF-8 IN (invalid UTF-8 bytes become '?') and counts.
 * 0, or -1 on out-of-memory. */
int gsm_prepare(const char *in, struct gsm_text *out);
void gsm_text_free(struct gsm_text *t);

/* Septets needed for code point CP in GSM-7: 1, 2 (extension table), or 0
 * when CP is not in the alphabet. */
int gsm_septets(unsigned cp);

#endif
