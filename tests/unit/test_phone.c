/* phone: French and overseas numbers to E.164, errors in French, mobiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "phone.h"

static void norm(const char *in, const char *expected)
{
    char out[PHONE_MAX];
    const char *why = "unset";
    if (phone_normalize(in, out, &why) != 0)
        fail_msg("\"%s\" rejected: %s", in, why ? why : "(null)");
    assert_null(why);
    assert_string_equal(out, expected);
}

static void bad(const char *in, const char *message)
{
    char out[PHONE_MAX];
    const char *why = NULL;
    memset(out, 'x', sizeof out);
    if (phone_normalize(in, out, &why) != -1)
        fail_msg("\"%s\" accepted as %.*s", in ? in : "(null)", PHONE_MAX, out);
    assert_non_null(why);
    assert_string_equal(why, message);
    assert_string_equal(out, ""); /* never a half-written number */
}

static void contract_examples(void **state)
{
    (void)state;
    norm("06 12 34 56 78", "+33612345678");
    norm("0612345678", "+33612345678");
    norm("+33 6 12 34 56 78", "+33612345678");
}

static void separators(void **state)
{
    (void)state;
    norm("06.12.34.56.78", "+33612345678");
    norm("06-12-34-56-78", "+33612345678");
    norm("(06) 12 34 56 78", "+33612345678");
    norm("  06 12  34 56 78  ", "+33612345678");
    norm("06\t12\t34\t56\t78", "+33612345678");
    norm("06\xc2\xa0" "12\xc2\xa0" "34\xc2\xa0" "56\xc2\xa0" "78", "+33612345678"); /* U+00A0 */
    norm("06\xe2\x80\xaf" "12\xe2\x80\xaf" "34 56 78", "+33612345678");          /* U+202F */
    norm("01 23 45 67 89", "+33123456789");
    norm("09.87.65.43.21", "+33987654321");
}

static void international_prefix(void **state)
{
    (void)state;
    norm("0033612345678", "+33612345678");
    norm("00 33 6 12 34 56 78", "+33612345678");
    norm("+33612345678", "+33612345678");
    norm("+33 (0)6 12 34 56 78", "+33612345678");
    norm("+33(0)612345678", "+33612345678");
    norm("+33 06 12 34 56 78", "+33612345678");
    norm("0033 (0)6 12 34 56 78", "+33612345678");
}

static void overseas_national(void **state)
{
    (void)state;
    /* Guadeloupe, Saint-Martin, Saint-Barthélemy */
    norm("0690 12 34 56", "+590690123456");
    norm("0691 12 34 56", "+590691123456");
    norm("0590 12 34 56", "+590590123456");
    /* Martinique */
    norm("0696 12 34 56", "+596696123456");
    norm("0697 12 34 56", "+596697123456");
    norm("0596 12 34 56", "+596596123456");
    /* Guyane */
    norm("0694 12 34 56", "+594694123456");
    norm("0594 12 34 56", "+594594123456");
    /* La Réunion */
    norm("0692 12 34 56", "+262692123456");
    norm("0693 12 34 56", "+262693123456");
    norm("0262 12 34 56", "+262262123456");
    /* Mayotte shares +262 (+269 is the Comoros) */
    norm("0639 12 34 56", "+262639123456");
    norm("0269 12 34 56", "+262269123456");
    /* Neighbouring metropolitan ranges stay +33. */
    norm("06 98 12 34 56", "+33698123456");
    norm("06 38 12 34 56", "+33638123456");
    norm("02 63 12 34 56", "+33263123456");
    norm("05 95 12 34 56", "+33595123456");
}

static void overseas_after_33(void **state)
{
    (void)state;
    norm("+33 690 12 34 56", "+590690123456");
    norm("+33 6 91 12 34 56", "+590691123456");
    norm("+33 696 12 34 56", "+596696123456");
    norm("+33 697 12 34 56", "+596697123456");
    norm("+33 694 12 34 56", "+594694123456");
    norm("+33 692 12 34 56", "+262692123456");
    norm("+33 693 12 34 56", "+262693123456");
    norm("+33 639 12 34 56", "+262639123456");
    norm("+33 590 12 34 56", "+590590123456");
    norm("+33 262 12 34 56", "+262262123456");
    norm("+33 269 12 34 56", "+262269123456");
    norm("0033 692 12 34 56", "+262692123456");
    norm("+33 (0)692 12 34 56", "+262692123456");
}

static void overseas_codes(void **state)
{
    (void)state;
    norm("+590 690 12 34 56", "+590690123456");
    norm("+596 696 12 34 56", "+596696123456");
    norm("+594 694 12 34 56", "+594694123456");
    norm("+262 692 12 34 56", "+262692123456");
    norm("+262 639 12 34 56", "+262639123456");
    norm("00262 262 12 34 56", "+262262123456");
    norm("+590 (0)690 12 34 56", "+590690123456");
    bad("+590 690 12 34 5", "numéro trop court");
    bad("+590 690 12 34 567", "numéro trop long");
    bad("+262 0692 12 34 5", "numéro invalide : chiffre 0 inattendu après l'indicatif");
}

static void foreign(void **state)
{
    (void)state;
    norm("+44 20 7946 0958", "+442079460958");
    norm("+1 (212) 555-0100", "+12125550100");
    norm("0044 7911 123456", "+447911123456");
    norm("+49 30 123456", "+4930123456");
    norm("+32 470 12 34 56", "+32470123456");
    norm("+212 6 12 34 56 78", "+212612345678");
    norm("+269 321 23 45", "+2693212345"); /* Comoros, not Mayotte */
    norm("+86 138 0013 8000", "+8613800138000");
    norm("+1 212 555 01001", "+121255501001"); /* 12 digits: within E.164 */
    bad("+32 1234", "numéro trop court");
    bad("+44 1234 5678 9012 34", "numéro trop long");
    bad("+999 123 456 789", "indicatif inconnu");
    bad("+0 612 34 56 78", "indicatif inconnu");
    bad("+28 123 456 789", "indicatif inconnu");
}

static void malformed(void **state)
{
    (void)state;
    bad("", "numéro vide");
    bad("   ", "numéro vide");
    bad(" .-() ", "numéro vide");
    bad(NULL, "numéro vide");
    bad("+", "numéro trop court");
    bad("+ ", "numéro trop court");
    bad("0", "numéro trop court");
    bad("00", "numéro trop court");
    bad("+4", "numéro trop court");
    bad("061234567", "numéro trop court");
    bad("06123456789", "numéro trop long");
    bad("061234567890123456789012345678", "numéro trop long");
    bad("+33 6 12 34 56 7", "numéro trop court");
    bad("+33 6 12 34 56 789", "numéro trop long");
    bad("+33 012345678", "numéro invalide : chiffre 0 inattendu après l'indicatif");
    bad("06 12 34 56 7a", "caractère non autorisé");
    bad("abc", "caractère non autorisé");
    bad("06/12/34/56/78", "caractère non autorisé");
    bad("06_12_34_56_78", "caractère non autorisé");
    bad("06 12 34 56 78\n", "caractère non autorisé");
    bad("06 12 34 56 78 ext 2", "caractère non autorisé");
    bad("０６１２３４５６７８", "caractère non autorisé"); /* full-width digits */
    bad("06 12 34 56 78+", "le signe + doit être au début du numéro");
    bad("++33612345678", "le signe + doit être au début du numéro");
    bad("33612345678", "numéro invalide : il doit commencer par 0 ou par +");
    bad("612345678", "numéro invalide : il doit commencer par 0 ou par +");
}

static void why_may_be_null(void **state)
{
    (void)state;
    char out[PHONE_MAX];
    assert_int_equal(phone_normalize("nope", out, NULL), -1);
    assert_int_equal(phone_normalize("0612345678", out, NULL), 0);
    assert_string_equal(out, "+33612345678");
}

static void mobiles(void **state)
{
    (void)state;
    const char *yes[] = {"+33612345678", "+33699999999", "+33734567890", "+33799999999",
                         "+590690123456", "+590691123456", "+596696123456", "+596697123456",
                         "+594694123456", "+262692123456", "+262693123456", "+262639123456",
                         "+447911123456", "+12125550100"};
    const char *no[] = {"+33123456789", "+33912345678", "+33712345678", "+33722345678",
                        "+33812345678", "+590590123456", "+596596123456", "+594594123456",
                        "+262262123456", "+262269123456", "+594696123456", "+3361234567",
                        "+336123456789", "0612345678", "33612345678", "+33 612345678", "",
                        "+", NULL};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (phone_is_mobile(yes[i]) != 1)
            fail_msg("%s should be a mobile", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (phone_is_mobile(no[i]) != 0)
            fail_msg("%s should not be a mobile", no[i] ? no[i] : "(null)");
}

/* Whatever is typed, a normalised number is itself accepted unchanged and
 * keeps its mobile status. */
static void normalised_is_fixed_point(void **state)
{
    (void)state;
    const char *in[] = {"06 12 34 56 78", "0690 12 34 56", "0639 12 34 56", "+33 692 12 34 56",
                        "01 23 45 67 89", "+44 20 7946 0958"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char a[PHONE_MAX], b[PHONE_MAX];
        const char *why;
        assert_int_equal(phone_normalize(in[i], a, &why), 0);
        assert_int_equal(phone_normalize(a, b, &why), 0);
        assert_string_equal(a, b);
        assert_true(strlen(a) < PHONE_MAX);
    }
}

/* A search finds a number in every spelling a coordinator types or reads
 * off a screen (issue 15); what is not a number stays a name search. */
static void search_forms(void **state)
{
    (void)state;
    const char *same[] = {"06 12 34 56 78", "0612345678", "+33612345678", "+33 6 12 34 56 78",
                          "612345678", "6 12 34 56 78", "0033612345678", "0033 6 12 34 56 78",
                          "33612345678", " 33612345678", "06.12.34.56.78", "+33 (0)6 12 34 56 78"};
    const char *not_phone[] = {"", "Monique", "06 12", "12345", "0612345678x", "+",
                               "123456789012345678901234567890", "0712345"};
    char out[PHONE_MAX];

    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        if (phone_search_form(same[i], out) != 0)
            fail_msg("'%s' should read as a phone number", same[i]);
        assert_string_equal(out, "+33612345678");
    }
    for (size_t i = 0; i < sizeof not_phone / sizeof not_phone[0]; i++)
        if (phone_search_form(not_phone[i], out) == 0)
            fail_msg("'%s' should not read as a phone number (%s)", not_phone[i], out);
    assert_int_equal(phone_search_form("692123456", out), 0);   /* overseas, 0 left out */
    assert_string_equal(out, "+262692123456");
    assert_int_equal(phone_search_form(NULL, out), -1);
}

static void format_fr(void **state)
{
    (void)state;
    char out[32];

    assert_int_equal(phone_format_fr("+33479123456", out, sizeof out), 0);
    assert_string_equal(out, "04 79 12 34 56");
    assert_int_equal(phone_format_fr("+262692123456", out, sizeof out), 0);
    assert_string_equal(out, "06 92 12 34 56");
    assert_int_equal(phone_format_fr("+442079460958", out, sizeof out), 0);
    assert_string_equal(out, "+442079460958");
    assert_int_equal(phone_format_fr("0479123456", out, sizeof out), -1);
    assert_int_equal(phone_format_fr("+33 4", out, sizeof out), -1);
    assert_int_equal(phone_format_fr(NULL, out, sizeof out), -1);
    assert_int_equal(phone_format_fr("+33479123456", out, 10), -1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(contract_examples),
        cmocka_unit_test(separators),
        cmocka_unit_test(international_prefix),
        cmocka_unit_test(overseas_national),
        cmocka_unit_test(overseas_after_33),
        cmocka_unit_test(overseas_codes),
        cmocka_unit_test(foreign),
        cmocka_unit_test(malformed),
        cmocka_unit_test(why_may_be_null),
        cmocka_unit_test(mobiles),
        cmocka_unit_test(normalised_is_fixed_point),
        cmocka_unit_test(search_forms),
        cmocka_unit_test(format_fr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
