/* The streaming CSV reader: BOM, quotes, doubled quotes, separators and
 * line ends inside quotes, CRLF, blank lines, line numbers, bad records
 * (reading goes on after them), UTF-8, chunk boundaries. */
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
static char *render(const char *text, size_t len, size_t step)
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

static void check(const char *text, const char *want)
{
    static const size_t steps[] = {1, 2, 3, 7, 1 << 20};

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *got = render(text, strlen(text), steps[i]);
        assert_string_equal(got, want);
        free(got);
    }
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
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_many_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
