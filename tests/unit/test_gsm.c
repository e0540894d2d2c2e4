/* GSM 03.38: alphabet membership, French transliteration, segment counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gsm.h"

static void prep(const char *in, struct gsm_text *t)
{
    assert_int_equal(gsm_prepare(in, t), 0);
}

static void test_alphabet(void **s)
{
    (void)s;
    assert_int_equal(gsm_septets('A'), 1);
    assert_int_equal(gsm_septets('@'), 1);
    assert_int_equal(gsm_septets(0x00E9), 1); /* é */
    assert_int_equal(gsm_septets(0x00E0), 1); /* à */
    assert_int_equal(gsm_septets(0x00C7), 1); /* Ç */
    assert_int_equal(gsm_septets(0x20AC), 2); /* € */
    assert_int_equal(gsm_septets('['), 2);
    assert_int_equal(gsm_septets(0x00E7), 0); /* ç is not in the table */
    assert_int_equal(gsm_septets(0x00EA), 0); /* ê */
    assert_int_equal(gsm_septets('`'), 0);
    assert_int_equal(gsm_septets(0x1F600), 0);
}

static void test_french_transliteration(void **s)
{
    struct gsm_text t;
    (void)s;
    prep("Reçu : atelier « Smartphone » à l’Espace Bellevue, mer. 3 déc. à 14h00 – être là…", &t);
    assert_string_equal(t.text,
        "Recu : atelier \" Smartphone \" à l'Espace Bellevue, mer. 3 déc. à 14h00 - etre là...");
    assert_int_equal(t.ucs2, 0);
    assert_int_equal(t.segments, 1);
    gsm_text_free(&t);

    prep("Œuvre, cœur, île, hôtel, Noël, août, ÉCOLE, À bientôt", &t);
    assert_string_equal(t.text, "OEuvre, coeur, ile, hotel, Noel, aout, ÉCOLE, A bientot");
    assert_int_equal(t.ucs2, 0);
    gsm_text_free(&t);

    /* No-break spaces French typography puts before ':' and '?' */
    prep("Venez\xc2\xa0! Oui\xe2\x80\xaf?", &t);
    assert_string_equal(t.text, "Venez ! Oui ?");
    gsm_text_free(&t);
}

static void test_counts_gsm(void **s)
{
    struct gsm_text t;
    char buf[400];
    (void)s;

    memset(buf, 'a', 160); buf[160] = 0;
    prep(buf, &t);
    assert_int_equal(t.units, 160);
    assert_int_equal(t.segments, 1);
    gsm_text_free(&t);

    memset(buf, 'a', 161); buf[161] = 0;
    prep(buf, &t);
    assert_int_equal(t.segments, 2);
    gsm_text_free(&t);

    memset(buf, 'a', 306); buf[306] = 0;
    prep(buf, &t);
    assert_int_equal(t.segments, 2);
    gsm_text_free(&t);

    memset(buf, 'a', 307); buf[307] = 0;
    prep(buf, &t);
    assert_int_equal(t.segments, 3);
    gsm_text_free(&t);

    /* 79 × '€' = 158 septets: one part; 81 = 162: two. */
    buf[0] = 0;
    for (int i = 0; i < 81; i++) strcat(buf, "\xe2\x82\xac");
    prep(buf, &t);
    assert_int_equal(t.units, 162);
    assert_int_equal(t.segments, 2);
    gsm_text_free(&t);
}

static void test_escape_never_split(void **s)
{
    struct gsm_text t;
    char buf[400];
    (void)s;
    /* 152 'a' then '€' then 'b'×... : the pair at 153-154 cannot straddle
     * part one, so 152 + (2) moves to part two. */
    memset(buf, 'a', 152);
    strcpy(buf + 152, "\xe2\x82\xac");
    memset(buf + 155, 'b', 151);
    buf[306] = 0;
    prep(buf, &t);
    assert_int_equal(t.units, 152 + 2 + 151);  /* 305 ≤ 306 … */
    /* … but part one can only take 152, part two 2 + 151 = 153: two parts. */
    assert_int_equal(t.segments, 2);
    gsm_text_free(&t);

    memset(buf, 'a', 152);
    strcpy(buf + 152, "\xe2\x82\xac");
    memset(buf + 155, 'b', 152);
    buf[307] = 0;
    prep(buf, &t);
    assert_int_equal(t.units, 306);
    assert_int_equal(t.segments, 3);  /* 152 | 2+151 | 1 */
    gsm_text_free(&t);
}

static void test_ucs2(void **s)
{
    struct gsm_text t;
    char buf[600];
    (void)s;
    prep("مرحبا", &t);  /* Arabic: no GSM form */
    assert_int_equal(t.ucs2, 1);
    assert_int_equal(t.units, 5);
    assert_int_equal(t.segments, 1);
    gsm_text_free(&t);

    /* An emoji is two UTF-16 units and the pair is not split. */
    buf[0] = 0;
    for (int i = 0; i < 34; i++) strcat(buf, "\xf0\x9f\x98\x80");
    prep(buf, &t);
    assert_int_equal(t.units, 68);
    assert_int_equal(t.segments, 1);
    gsm_text_free(&t);

    buf[0] = 0;
    for (int i = 0; i < 36; i++) strcat(buf, "\xf0\x9f\x98\x80");  /* 72 units */
    prep(buf, &t);
    assert_int_equal(t.segments, 2);  /* 33 pairs = 66 | 3 pairs */
    gsm_text_free(&t);
}

static void test_invalid_utf8(void **s)
{
    struct gsm_text t;
    (void)s;
    prep("a\xff" "b\xc3", &t);
    assert_string_equal(t.text, "a?b?");
    assert_int_equal(t.ucs2, 0);
    gsm_text_free(&t);

    /* An encoded surrogate: each byte of the ill-formed sequence becomes one
     * '?', as Unicode's "maximal subpart" rule replaces it. */
    prep("\xed\xa0\x80x", &t);
    assert_string_equal(t.text, "???x");
    gsm_text_free(&t);

    prep("", &t);
    assert_string_equal(t.text, "");
    assert_int_equal(t.units, 0);
    assert_int_equal(t.segments, 1);
    gsm_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alphabet),
        cmocka_unit_test(test_french_transliteration),
        cmocka_unit_test(test_counts_gsm),
        cmocka_unit_test(test_escape_never_split),
        cmocka_unit_test(test_ucs2),
        cmocka_unit_test(test_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
