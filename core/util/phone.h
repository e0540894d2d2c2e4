/* phone — French phone numbers to E.164, overseas departments included.
 *
 * Accepts national forms ("06 12 34 56 78", "06.12.34.56.78", "0612345678"),
 * international forms ("+33 6 12 34 56 78", "0033612345678", "+33 (0)6 …")
 * and E.164 numbers of other countries. National numbers whose prefix belongs
 * to an overseas department get that department's country code (0690 →
 * +590, 0696 → +596, 0694 → +594, 0692/0693/0639/0262/0269 → +262…), and the
 * same prefixes typed after +33 by mistake are re-mapped. Pure functions, no
 * allocation. */
#ifndef RELAIS_PHONE_H
#define RELAIS_PHONE_H

#include <stddef.h>

#define PHONE_MAX 17  /* "+" + 15 digits + NUL */

/* Normalises IN into OUT. Returns 0, or -1 with *why set to a static French
 * message fit for a 422 ("numéro trop court"…). */
int phone_normalize(const char *in, char out[PHONE_MAX], const char **why);
/* A search query Q read as a phone number, in every usual spelling: what
 * phone_normalize takes ("06 12 34 56 78", "+33 6 12…", "0033…"), the
 * national number without its 0 ("612345678"), the international one
 * without its plus ("33612345678"), and a plus that a URL turned into a
 * leading space. 0 with the E.164 form in OUT, or -1 (not a number). */
int phone_search_form(const char *q, char out[PHONE_MAX]);
/* E.164 E164 as a French reader writes it: "04 79 12 34 56" for France and
 * the overseas departments, the E.164 text for other countries. OUT of N
 * bytes (16 suffice). 0 or -1 (not E.164, or OUT too small). */
int phone_format_fr(const char *e164, char *out, size_t n);
/* 1 when the E.164 number is a mobile that can receive SMS (metropolitan
 * 06/07 ranges, overseas mobile ranges; other countries: assumed yes). */
int phone_is_mobile(const char *e164);

#endif
