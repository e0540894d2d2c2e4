/* relais.xlsx (core/plugin/plugins_xlsx.c), driven through the fixture plugin
 * tests/unit/plugins/xlsxp, whose hooks record what they got:
 * - a workbook with sheets, formats and charts comes back as a zip whose
 *   directory names the parts libxlsxwriter wrote (tests/integration/
 *   test_xlsx.py reads one back with Python's zipfile);
 * - every bad argument is a Lua error naming what was wrong, never a crash;
 * - the bounds hold: workbooks open at once, sheets, cells, the plugin's
 *   memory cap (and the memory given back at close);
 * - no temporary file is left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "plugins_fixture.h"

static char tmpdir[PATH_MAX];

/* The data recorded under TAG (a malloc'd copy, NUL-terminated) and its
 * length; fails when there is not exactly one row. */
static char *out(struct pfx *t, const char *tag, int *ok, size_t *len)
{
    sqlite3_stmt *s = NULL;
    char *copy;
    int n;

    assert_int_equal(qv(t->fx, "SELECT count(*) FROM xlsxp_out WHERE tag = '%s'", tag), 1);
    assert_int_equal(sqlite3_prepare_v2(store_db(t->fx->st),
                                        "SELECT ok, data FROM xlsxp_out WHERE tag = ?", -1, &s,
                                        NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, tag, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    *ok = sqlite3_column_int(s, 0);
    n = sqlite3_column_bytes(s, 1);
    copy = malloc((size_t)n + 1);
    assert_non_null(copy);
    memcpy(copy, sqlite3_column_blob(s, 1), (size_t)n);
    copy[n] = '\0';
    if (len)
        *len = (size_t)n;
    sqlite3_finalize(s);
    return copy;
}

/* NEEDLE somewhere in the LEN bytes of HAY. */
static int contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void start(struct pfx *t)
{
    const char *const names[] = {"xlsxp", NULL};

    pfx_start(t, names);
    assert_int_equal(plugins_count(t->app.plugins), 1);
    assert_int_equal(plugin_errors("xlsxp"), 0);
}

static void test_build(void **state)
{
    struct pfx *t = *state;
    size_t len;
    int ok;
    char *bytes, *names;

    start(t);
    pfx_emit(t, "build", NULL);
    assert_int_equal(plugin_errors("xlsxp"), 0);
    bytes = out(t, "build", &ok, &len);
    assert_int_equal(ok, 1);
    assert_true(len > 2000);
    /* A zip (local file header), whose directory names the workbook's
     * parts: two sheets, two charts and their drawings, the strings. */
    assert_memory_equal(bytes, "PK\x03\x04", 4);
    assert_true(contains(bytes, len, "PK\x05\x06"));
    for (const char *part = "[Content_Types].xml\0xl/workbook.xml\0xl/worksheets/sheet1.xml\0"
                            "xl/worksheets/sheet2.xml\0xl/charts/chart1.xml\0"
                            "xl/charts/chart2.xml\0xl/drawings/drawing1.xml\0"
                            "xl/sharedStrings.xml\0xl/styles.xml\0";
         *part; part += strlen(part) + 1)
        if (!contains(bytes, len, part))
            fail_msg("no %s in the file", part);
    free(bytes);
    names = out(t, "names", &ok, NULL);
    assert_string_equal(names, "Personnes|Quartiers d'été");
    free(names);
    assert_int_equal(files_in(tmpdir), 0);
}

static void expect_error(struct pfx *t, const char *tag, const char *words)
{
    int ok;
    char *msg = out(t, tag, &ok, NULL);

    if (ok || !strstr(msg, words))
        fail_msg("%s: ok=%d, \"%s\" (wanted an error with \"%s\")", tag, ok, msg, words);
    free(msg);
}

static void test_bad_arguments(void **state)
{
    struct pfx *t = *state;

    start(t);
    pfx_emit(t, "bad", NULL);
    /* Errors inside pcall: the hook ran to its end. */
    assert_int_equal(plugin_errors("xlsxp"), 0);
    expect_error(t, "closed", "the workbook is closed");
    expect_error(t, "closed_twice", "the workbook is closed");
    expect_error(t, "dup_sheet", "two sheets are named");
    expect_error(t, "bad_sheet_char", "may not hold");
    expect_error(t, "long_sheet", "1 to 31 characters");
    expect_error(t, "empty_sheet", "1 to 31 characters");
    expect_error(t, "quote_sheet", "start or end with '");
    expect_error(t, "row_zero", "row must be a whole number from 1 to 1048576");
    expect_error(t, "col_big", "column must be a whole number from 1 to 16384");
    expect_error(t, "row_float", "row must be a whole number");
    expect_error(t, "nan", "must be finite");
    expect_error(t, "inf", "must be finite");
    expect_error(t, "not_utf8", "not UTF-8");
    expect_error(t, "nul", "not UTF-8");
    expect_error(t, "long_text", "longer than 32767 bytes");
    expect_error(t, "table_value", "text, a number, a boolean or nil");
    expect_error(t, "other_format", "not one of this workbook's");
    expect_error(t, "unknown_format", "unknown format key 'blink'");
    expect_error(t, "bad_color", "#RRGGBB");
    expect_error(t, "bad_align", "has no value \"middle\"");
    expect_error(t, "chart_no_sheet", "'sheet' must be a sheet of this workbook");
    expect_error(t, "chart_other_sheet", "'sheet' must be a sheet of this workbook");
    expect_error(t, "chart_backwards", "ends before it starts");
    expect_error(t, "chart_formula_title", "may not start with '='");
    expect_error(t, "chart_type", "has no value \"radar3d\"");
    expect_error(t, "chart_key", "unknown chart key 'colour'");
    expect_error(t, "chart_series", "1 to 16 series");
    expect_error(t, "sheets", "more than 64 sheets");
    expect_error(t, "not_a_book", "relais.xlsx.workbook expected");
    /* Every workbook left open was collected: no file stays behind. */
    assert_int_equal(files_in(tmpdir), 0);
    /* The state goes on. */
    pfx_emit(t, "build", NULL);
    assert_int_equal(plugin_errors("xlsxp"), 0);
}

static void test_bounds(void **state)
{
    struct pfx *t = *state;
    int ok;
    char *msg;

    start(t);
    pfx_emit(t, "open", NULL);
    assert_int_equal(plugin_errors("xlsxp"), 0);
    expect_error(t, "fifth", "more than 4 workbooks open at once");
    msg = out(t, "after", &ok, NULL);
    assert_string_equal(msg, "true");
    free(msg);

    pfx_emit(t, "cells", NULL);
    msg = out(t, "cells", &ok, NULL);
    assert_int_equal(ok, 0);
    if (!strstr(msg, "more than 100000 cells written after 100000"))
        fail_msg("cells: %s", msg);
    free(msg);

    /* 2 KiB a cell, 4000 cells a call: the 32 MiB cap is reached long
     * before the cells' bound, within five calls. */
    for (int i = 0; i < 5 && qv(t->fx, "SELECT count(*) FROM xlsxp_out WHERE tag = 'memory'") == 0;
         i++)
        pfx_emit(t, "memory", NULL);
    msg = out(t, "memory", &ok, NULL);
    assert_int_equal(ok, 0);
    assert_non_null(strstr(msg, "not enough memory"));
    assert_true(atoi(strstr(msg, " after ") + 7) < 16000);
    free(msg);

    /* 8 KiB a cell: the budget runs out after about 20 MiB of text. */
    pfx_emit(t, "priced", NULL);
    assert_int_equal(plugin_errors("xlsxp"), 1);
    assert_int_equal(qv(t->fx, "SELECT count(*) FROM xlsxp_out WHERE tag = 'priced'"), 0);
    pfx_emit(t, "collect", NULL);

    /* 40 MiB written one workbook after the other: given back at each close. */
    for (int i = 0; i < 8; i++)
        pfx_emit(t, "refund", NULL);
    msg = out(t, "refund", &ok, NULL);
    assert_string_equal(msg, "done");
    free(msg);
    assert_int_equal(plugin_errors("xlsxp"), 1);   /* "priced"'s, above */
    pfx_emit(t, "collect", NULL);
    assert_int_equal(files_in(tmpdir), 0);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/relais-xlsx-test-XXXXXX");
    if (!mkdtemp(tmpdir) || setenv("TMPDIR", tmpdir, 1) != 0)
        return -1;
    return pfx_setup(state);
}

static int teardown(void **state)
{
    int rc = pfx_teardown(state);

    /* Unloading the plugin collected every workbook: nothing is left. */
    if (files_in(tmpdir) != 0 || rmdir(tmpdir) != 0)
        return -1;
    unsetenv("TMPDIR");
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
