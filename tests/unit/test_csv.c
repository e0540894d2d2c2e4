/* The streaming CSV reader: BOM, quotes, doubled quotes, separators and
 * line ends inside quotes, CRLF, blank lines, line numbers, bad records
 * (reading goes on after them), UTF-8, chunk boundaries, and the
 * Windows-1252 and record-by-record (auto) encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"

/* A source handing out at most STEP bytes per read, to cross every
 * chunk boundary. */
struct src {
    const char *s;
    size_t len, off, step;
    int fail_at;      /* fail when OFF reaches it (-1: never) */
};

static ssize_t src_read(void *ud, char *buf, size_t cap)
{
    struct src *s = ud;
    size_t n = s->len - s->off;

    if (s->fail_at >= 0 && s->off >= (size_t)s->fail_at)
        return -1;
    if (n > cap)
        n = cap;
    if (n > s->step)
        n = s->step;
    memcpy(buf, s->s + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

/* Reads all of TEXT and renders it as "line:f1|f2\n" per record and
 * "line!reason\n" per bad one. */
static char *render_enc(const char *text, size_t len, size_t step, enum csv_encoding enc)
{
    struct src s = {text, len, 0, step, -1};
    struct csv_reader *r = csv_new(';', src_read, &s);
    size_t cap = 1 << 16, used = 0, n;
    char *out = malloc(cap);
    const struct csv_field *f;
    const char *why;
    long line;
    int rc;

    assert_non_null(r);
    assert_non_null(out);
    csv_set_encoding(r, enc);
    out[0] = '\0';
    while ((rc = csv_next(r, &f, &n, &line, &why)) != CSV_END) {
        assert_true(rc >= 0);
        if (rc == CSV_BAD) {
            used += (size_t)snprintf(out + used, cap - used, "%ld!%s\n", line, why);
            continue;
        }
        used += (size_t)snprintf(out + used, cap - used, "%ld:", line);
        for (size_t i = 0; i < n; i++)
            used += (size_t)snprintf(out + used, cap - used, "%s%.*s", i ? "|" : "",
                                     (int)f[i].len, f[i].s);
        used += (size_t)snprintf(out + used, cap - used, "\n");
    }
    csv_free(r);
    return out;
}

static char *render(const char *text, size_t len, size_t step)
{
    return render_enc(text, len, step, CSV_UTF8);
}

static void check_enc(const char *text, enum csv_encoding enc, const char *want)
{
    static const size_t steps[] = {1, 2, 3, 7, 1 << 20};

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *got = render_enc(text, strlen(text), steps[i], enc);
        assert_string_equal(got, want);
        free(got);
    }
}

static void check(const char *text, const char *want)
{
    check_enc(text, CSV_UTF8, want);
}

static void test_plain(void **st)
{
    (void)st;
    check("a;b;c\n1;2;3\n", "1:a|b|c\n2:1|2|3\n");
    check("a;b\n1;2", "1:a|b\n2:1|2\n");                 /* no final LF */
    check("a;;\n;;\n", "1:a||\n2:||\n");                 /* empty fields */
    check("", "");
}

static void test_bom_and_crlf(void **st)
{
    (void)st;
    check("\xEF\xBB\xBFNom;Pr\xC3\xA9nom\r\nA;B\r\n", "1:Nom|Pr\xC3\xA9nom\n2:A|B\n");
    check("\xEF\xBB\xBF", "");
    check("\xEF\xBB", "1!the line is not valid UTF-8\n");
    /* A BOM only counts at the very start. */
    check("a\n\xEF\xBB\xBF" "b\n", "1:a\n2:\xEF\xBB\xBF" "b\n");
}

static void test_quotes(void **st)
{
    (void)st;
    check("\"a;b\";\"c\"\"d\";\"\"\n", "1:a;b|c\"d|\n");
    check("\"'@web2\";x\n", "1:'@web2|x\n");
    check("\"two\nlines\";x\r\nnext;y\n", "1:two\nlines|x\n3:next|y\n");
    check("\"a\r\nb\"\r\nc\r\n", "1:a\r\nb\n3:c\n");
    check("ab\"c;d\n", "1:ab\"c|d\n");                    /* stray quote kept */
    check("\"x\"\r\n\"y\"\n", "1:x\n2:y\n");
}

static void test_blank_lines(void **st)
{
    (void)st;
    check("a\n\n\r\nb\n\n", "1:a\n4:b\n");
    check("\"\"\n", "1:\n");                          /* a quoted empty field is data */
}

static void test_bad_records(void **st)
{
    (void)st;
    check("h\n\"ab\"c;d\nok\n", "1:h\n2!text after a closing quote\n3:ok\n");
    check("h\n\"ab\"\rx\nok\n", "1:h\n2!text after a closing quote\n3:ok\n");
    check("h\nbad\xFF;x\nok\n", "1:h\n2!the line is not valid UTF-8\n3:ok\n");
    check("h\n\xC3;\xA9\nok\n", "1:h\n2!the line is not valid UTF-8\n3:ok\n");
    check("h\n\xC0\xAF\n\xED\xA0\x80\nok\n",
          "1:h\n2!the line is not valid UTF-8\n3!the line is not valid UTF-8\n4:ok\n");
    check("h\n\"never closed\nx\n", "1:h\n2!a quoted field is not closed\n");
}

/* What Excel writes for a French user: Windows-1252, ';', CRLF. */
static void test_windows_1252(void **st)
{
    (void)st;
    check_enc("Num\xE9ro du pass;Lieu\r\n2200100001;Espace num\xE9rique \xAB\xA0Les Hauts\xA0\xBB\r\n",
              CSV_WINDOWS_1252,
              "1:Num\xC3\xA9ro du pass|Lieu\n"
              "2:2200100001|Espace num\xC3\xA9rique \xC2\xAB\xC2\xA0Les Hauts\xC2\xA0\xC2\xBB\n");
    /* 0x80..0x9F: the euro sign, curly quotes, œ, and the unassigned bytes
     * as C1 controls; 0xFF is ÿ. */
    check_enc("\x80;\x92\x9C;\x81\x8D\x8F\x90\x9D;\xFF\n", CSV_WINDOWS_1252,
              "1:\xE2\x82\xAC|\xE2\x80\x99\xC5\x93|\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D|"
              "\xC3\xBF\n");
    /* Read as Windows-1252, UTF-8 bytes are two characters each. */
    check_enc("Pr\xC3\xA9nom\n", CSV_WINDOWS_1252, "1:Pr\xC3\x83\xC2\xA9nom\n");
    /* Quotes, separators and line ends are the same bytes. */
    check_enc("\"a;\xE9\"\"\n\xE8\";x\n", CSV_WINDOWS_1252, "1:a;\xC3\xA9\"\n\xC3\xA8|x\n");
    /* Empty fields only: nothing to decode. */
    check_enc(";;\n\"\"\n", CSV_WINDOWS_1252, "1:||\n2:\n");
    /* The limits and the other reasons do not change. */
    check_enc("h\n\"ab\"c;\xE9\nok\n", CSV_WINDOWS_1252, "1:h\n2!text after a closing quote\n3:ok\n");
}

/* Record by record: UTF-8 where it is valid, else Windows-1252. */
static void test_auto(void **st)
{
    (void)st;
    check_enc("\xEF\xBB\xBFNum\xC3\xA9ro;Lieu\n1;Caf\xE9\n2;Caf\xC3\xA9\n3;\xC3;\xA9\n",
              CSV_AUTO,
              "1:Num\xC3\xA9ro|Lieu\n2:1|Caf\xC3\xA9\n3:2|Caf\xC3\xA9\n"
              "4:3|\xC3\x83|\xC2\xA9\n");
    /* One field that is not UTF-8 makes the whole record Windows-1252. */
    check_enc("\xC3\xA9;\xE9\n", CSV_AUTO, "1:\xC3\x83\xC2\xA9|\xC3\xA9\n");
    check_enc("plain;ascii\n", CSV_AUTO, "1:plain|ascii\n");
    check_enc("h\n\"never closed\xE9\nx\n", CSV_AUTO, "1:h\n2!a quoted field is not closed\n");
}

/* A decoded record may be three times its raw length: 1 MiB of 0x80. */
static void test_decoded_growth(void **st)
{
    size_t big = CSV_MAX_RECORD - 2, n;
    char *text = malloc(big + 8);
    struct src s;
    struct csv_reader *r;
    const struct csv_field *f;
    const char *why;
    long line;

    (void)st;
    assert_non_null(text);
    memset(text, '\x80', big);
    memcpy(text + big, "\nok\n", 5);
    s = (struct src){text, big + 4, 0, 1 << 20, -1};
    r = csv_new(';', src_read, &s);
    assert_non_null(r);
    csv_set_encoding(r, CSV_AUTO);
    assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_RECORD);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].len, big * 3);
    assert_memory_equal(f[0].s, "\xE2\x82\xAC\xE2\x82\xAC", 6);
    assert_true(csv_utf8_valid(f[0].s, f[0].len));
    assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_RECORD);
    assert_int_equal(line, 2);
    assert_memory_equal(f[0].s, "ok", 2);
    assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_END);
    csv_free(r);
    free(text);
}

static void test_limits(void **st)
{
    size_t big = CSV_MAX_RECORD + 10, n = 0;
    char *text = malloc(big + 64), *got;

    (void)st;
    assert_non_null(text);
    memcpy(text, "h\n", 2);
    memset(text + 2, 'x', big);
    memcpy(text + 2 + big, "\nok\n", 5);
    got = render(text, strlen(text), 1 << 20);
    assert_string_equal(got, "1:h\n2!the line is longer than 1 MiB\n3:ok\n");
    free(got);
    /* 4097 fields. */
    n = 0;
    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        text[n++] = ';';
    memcpy(text + n, "\nok\n", 5);
    got = render(text, strlen(text), 4096);
    assert_string_equal(got, "1!the line has more than 4096 fields\n2:ok\n");
    free(got);
    free(text);
}

static void test_read_error(void **st)
{
    struct src s = {"a\nb\nc\n", 6, 0, 2, 3};
    struct csv_reader *r = csv_new(';', src_read, &s);
    const struct csv_field *f;
    const char *why;
    size_t n;
    long line;

    (void)st;
    assert_non_null(r);
    /* "a\n" and "b\n" are read before the failure. */
    assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_RECORD);
    assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_RECORD);
    assert_int_equal(csv_next(r, &f, &n, &line, &why), -1);
    assert_string_equal(why, "the body could not be read");
    assert_int_equal(csv_next(r, &f, &n, &line, &why), -1);
    csv_free(r);
}

static void test_many_lines(void **st)
{
    /* Line numbers stay right across chunk refills. */
    size_t cap = 200000 * 8, used = 0, n;
    char *text = malloc(cap);
    struct src s;
    struct csv_reader *r;
    const struct csv_field *f;
    const char *why;
    long line, want = 1;

    (void)st;
    assert_non_null(text);
    for (int i = 0; i < 100000; i++)
        used += (size_t)snprintf(text + used, cap - used, i % 2 ? "%d\n" : "\"%d\n\"\n", i);
    s = (struct src){text, used, 0, 1 << 20, -1};
    r = csv_new(';', src_read, &s);
    assert_non_null(r);
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_RECORD);
        assert_int_equal(line, want);
        want += i % 2 ? 1 : 2;
        assert_int_equal(n, 1);
    }
    assert_int_equal(csv_next(r, &f, &n, &line, &why), CSV_END);
    csv_free(r);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_windows_1252),
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_decoded_growth),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_many_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
