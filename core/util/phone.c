/* phone — French phone numbers to E.164 (formats.md §5.1).
 *
 * Overseas departments share the French national plan (10 digits, leading 0)
 * but have their own country codes; E.164 keeps the national digits after
 * the 0 as the subscriber number: 0692 12 34 56 → +262 692 12 34 56.
 */
#include "phone.h"

#include <stdio.h>
#include <string.h>

/* More digits than any valid input can carry, with room to say "too long"
 * instead of overflowing. */
#define DIGITS_MAX 24

static const char E_EMPTY[] = "numéro vide";
static const char E_CHAR[] = "caractère non autorisé";
static const char E_PLUS[] = "le signe + doit être au début du numéro";
static const char E_SHORT[] = "numéro trop court";
static const char E_LONG[] = "numéro trop long";
static const char E_CC[] = "indicatif inconnu";
static const char E_FORM[] = "numéro invalide : il doit commencer par 0 ou par +";
static const char E_ZERO[] = "numéro invalide : chiffre 0 inattendu après l'indicatif";

/* National prefixes (the 3 digits after the leading 0) that belong to an
 * overseas department, with that department's country code. */
static const struct {
    const char *prefix;
    const char *cc;
    int mobile;
} overseas[] = {
    {"690", "590", 1}, {"691", "590", 1}, {"590", "590", 0}, /* Guadeloupe, St-Martin, St-Barth */
    {"696", "596", 1}, {"697", "596", 1}, {"596", "596", 0}, /* Martinique */
    {"694", "594", 1}, {"594", "594", 0},                   /* Guyane */
    {"692", "262", 1}, {"693", "262", 1}, {"262", "262", 0}, /* La Réunion */
    {"639", "262", 1}, {"269", "262", 0},                   /* Mayotte */
};
#define N_OVERSEAS (sizeof overseas / sizeof overseas[0])

/* ITU-T E.164 country codes in service for people's phones: countries,
 * territories and the global mobile/satellite networks (870, 881–883).
 * Freephone and premium international codes are left out. */
static const char *const country_codes[] = {
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62",
    "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227",
    "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240",
    "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252", "253",
    "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266", "267",
    "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355",
    "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378",
    "379", "380", "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500",
    "501", "502", "503", "504", "505", "506", "507", "508", "509", "590", "591", "592", "593",
    "594", "595", "596", "597", "598", "599", "670", "672", "673", "674", "675", "676", "677",
    "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691",
    "692", "850", "852", "853", "855", "856", "870", "880", "881", "882", "883", "886", "960",
    "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973", "974",
    "975", "976", "977", "992", "993", "994", "995", "996", "998",
};
#define N_CC (sizeof country_codes / sizeof country_codes[0])

/* Length of the country code D starts with (codes are prefix-free), or 0. */
static size_t country_code_len(const char *d)
{
    for (size_t i = 0; i < N_CC; i++) {
        size_t n = strlen(country_codes[i]);
        if (strncmp(d, country_codes[i], n) == 0)
            return n;
    }
    return 0;
}

static int find_overseas(const char *nsn)
{
    for (size_t i = 0; i < N_OVERSEAS; i++)
        if (strncmp(nsn, overseas[i].prefix, 3) == 0)
            return (int)i;
    return -1;
}

static int is_overseas_cc(const char *d)
{
    for (size_t i = 0; i < N_OVERSEAS; i++)
        if (strncmp(d, overseas[i].cc, 3) == 0)
            return 1;
    return 0;
}

/* Separators people type or paste: space, tab, . - ( ) and the no-break
 * spaces French typography puts between digit pairs. Returns the number of
 * bytes to skip at P, 0 when P is not a separator. */
static size_t separator_len(const char *p)
{
    if (*p == ' ' || *p == '\t' || *p == '.' || *p == '-' || *p == '(' || *p == ')')
        return 1;
    if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0)
        return 2; /* U+00A0 */
    if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80
        && (unsigned char)p[2] == 0xAF)
        return 3; /* U+202F */
    return 0;
}

/* Writes "+" CC NSN once NSN is a valid 9-digit French-plan number. */
static int with_code(const char *cc, const char *nsn, size_t len, char out[PHONE_MAX],
                     const char **why)
{
    size_t c = strlen(cc);

    if (len != 9) {
        *why = len < 9 ? E_SHORT : E_LONG;
        return -1;
    }
    if (nsn[0] == '0') {
        *why = E_ZERO;
        return -1;
    }
    out[0] = '+';
    memcpy(out + 1, cc, c);
    memcpy(out + 1 + c, nsn, 10); /* 9 digits + NUL */
    return 0;
}

/* NSN = the digits after +33 (or after the 0 of the national form): an
 * overseas prefix takes that department's code, anything else +33. */
static int french(const char *nsn, size_t len, char out[PHONE_MAX], const char **why)
{
    int o = len == 9 ? find_overseas(nsn) : -1;
    return with_code(o >= 0 ? overseas[o].cc : "33", nsn, len, out, why);
}

int phone_normalize(const char *in, char out[PHONE_MAX], const char **why)
{
    static const char *dummy;
    char d[DIGITS_MAX + 1], code[4];
    size_t n = 0, skip, cc;
    int plus = 0;
    const char *p;

    if (!why)
        why = &dummy;
    *why = NULL;
    if (out)
        out[0] = '\0';
    if (!in || !out) {
        *why = E_EMPTY;
        return -1;
    }
    for (p = in; *p;) {
        if ((skip = separator_len(p)) > 0) {
            p += skip;
        } else if (*p >= '0' && *p <= '9') {
            if (n == DIGITS_MAX) {
                *why = E_LONG;
                return -1;
            }
            d[n++] = *p++;
        } else if (*p == '+') {
            if (plus || n > 0) {
                *why = E_PLUS;
                return -1;
            }
            plus = 1;
            p++;
        } else {
            *why = E_CHAR;
            return -1;
        }
    }
    d[n] = '\0';
    if (n == 0) {
        *why = plus ? E_SHORT : E_EMPTY;
        return -1;
    }

    if (!plus && n >= 2 && d[0] == '0' && d[1] == '0') {
        /* 00 is the international prefix from France: 0033… = +33… */
        memmove(d, d + 2, n - 1);
        n -= 2;
        plus = 1;
        if (n == 0) {
            *why = E_SHORT;
            return -1;
        }
    }

    if (!plus) {
        if (d[0] != '0') {
            *why = E_FORM;
            return -1;
        }
        return french(d + 1, n - 1, out, why);
    }

    if (d[0] == '0') {
        *why = E_CC;
        return -1;
    }
    cc = country_code_len(d);
    if (cc == 0) {
        *why = n < 4 ? E_SHORT : E_CC;
        return -1;
    }
    if ((cc == 2 && d[0] == '3' && d[1] == '3') || (cc == 3 && is_overseas_cc(d))) {
        const char *nsn = d + cc;
        size_t len = n - cc;
        /* "+33 (0)6 …" and "+33 06 …": the trunk 0 does not belong there. */
        if (len == 10 && nsn[0] == '0') {
            nsn++;
            len--;
        }
        if (cc == 2)
            return french(nsn, len, out, why);
        memcpy(code, d, 3);
        code[3] = '\0';
        return with_code(code, nsn, len, out, why);
    }
    /* Other countries: E.164 allows at most 15 digits in all; fewer than 8
     * is not a reachable personal number in any plan we serve. */
    if (n < 8) {
        *why = E_SHORT;
        return -1;
    }
    if (n > 15) {
        *why = E_LONG;
        return -1;
    }
    out[0] = '+';
    memcpy(out + 1, d, n + 1);
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int phone_is_mobile(const char *e164)
{
    const char *d;
    size_t n;

    if (!e164 || e164[0] != '+')
        return 0;
    d = e164 + 1;
    n = strlen(d);
    if (n < 8 || n > 15 || !all_digits(d, n))
        return 0;
    if (strncmp(d, "33", 2) == 0) {
        if (n != 11)
            return 0;
        return d[2] == '6' || (d[2] == '7' && d[3] >= '3' && d[3] <= '9');
    }
    for (size_t i = 0; i < N_OVERSEAS; i++) {
        if (strncmp(d, overseas[i].cc, 3) == 0) {
            if (n != 12)
                return 0;
            for (size_t j = 0; j < N_OVERSEAS; j++)
                if (overseas[j].mobile && strcmp(overseas[j].cc, overseas[i].cc) == 0
                    && strncmp(d + 3, overseas[j].prefix, 3) == 0)
                    return 1;
            return 0;
        }
    }
    return 1;
}

/* The digits of IN (separators skipped) into D (room for DIGITS_MAX + 1):
 * their count, or -1 when IN holds anything else or too many. */
static int digits_only(const char *in, char d[DIGITS_MAX + 1])
{
    size_t n = 0, skip;

    for (const char *p = in; *p;) {
        if ((skip = separator_len(p)) > 0) {
            p += skip;
        } else if (*p >= '0' && *p <= '9' && n < DIGITS_MAX) {
            d[n++] = *p++;
        } else {
            return -1;
        }
    }
    d[n] = '\0';
    return (int)n;
}

int phone_search_form(const char *q, char out[PHONE_MAX])
{
    char d[DIGITS_MAX + 1], again[DIGITS_MAX + 3];
    int n;

    if (!q || !out)
        return -1;
    if (phone_normalize(q, out, NULL) == 0)
        return 0;
    /* "+33…" typed into a URL unencoded arrives as " 33…": the space
     * before the first digit was the plus. */
    if (q[0] == ' ' && q[1] >= '1' && q[1] <= '9') {
        snprintf(again, sizeof again, "+%.*s", DIGITS_MAX, q + 1);
        if (phone_normalize(again, out, NULL) == 0)
            return 0;
    }
    if ((n = digits_only(q, d)) < 0)
        return -1;
    /* "612345678": the national number without its 0, as people read it
     * off a screen that shows +33 6 12 34 56 78. */
    if (n == 9 && d[0] != '0') {
        snprintf(again, sizeof again, "0%s", d);
        return phone_normalize(again, out, NULL);
    }
    /* "33612345678": the international form without its plus. */
    if (n == 11 && d[0] == '3' && d[1] == '3') {
        snprintf(again, sizeof again, "+%s", d);
        return phone_normalize(again, out, NULL);
    }
    return -1;
}

int phone_format_fr(const char *e164, char *out, size_t n)
{
    size_t len = e164 ? strlen(e164) : 0, o = 0;

    if (!out || n == 0)
        return -1;
    out[0] = '\0';
    if (len < 2 || e164[0] != '+' || !all_digits(e164 + 1, len - 1))
        return -1;
    /* +33 and the overseas codes share the national plan: 0 then the nine
     * digits in pairs ("04 79 12 34 56"). */
    if ((len == 12 && strncmp(e164, "+33", 3) == 0)
        || (len == 13 && is_overseas_cc(e164 + 1))) {
        const char *nsn = e164 + len - 9;
        if (n < 15)
            return -1;
        out[o++] = '0';
        for (int i = 0; i < 9; i++) {
            if (i % 2 == 1)
                out[o++] = ' ';
            out[o++] = nsn[i];
        }
        out[o] = '\0';
        return 0;
    }
    if (len + 1 > n)
        return -1;
    memcpy(out, e164, len + 1);   /* another country: E.164 as it is */
    return 0;
}
