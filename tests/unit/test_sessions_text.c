/* sessions_write (core/domain/sessions_text.c) against sessions_json printed by
 * json_print, on a real store holding what the demo does not: a cancelled
 * session with a reason that needs escaping, no theme, no capacity, a
 * full session, a training with parts, a permanence with taken slots,
 * strings with quotes, controls and UTF-8, large ids. The demo territory
 * itself is compared end to end by tests/integration/test_session_text.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sessions_internal.h"
#include "json.h"
#include "json_write.h"
#include "store.h"
#include "tmpdb.h"

tmpdb_fixture("sessions-text", 1)

static void test_same_text(void **state)
{
    struct tmpdb *f = *state;
    sqlite3_stmt *s;
    int n = 0;

    assert_int_equal(store_exec(f->st,
        "INSERT INTO staff (id, name, role, created_at, updated_at)"
        " VALUES (3, 'Camille', 'trainer', 0, 0);"
        "INSERT INTO venues (id, name, created_at, updated_at) VALUES (4, 'Maison', 0, 0);"
        "INSERT INTO sessions (id, kind, title, theme, level, venue_id, trainer_id, starts_at,"
        " ends_at, capacity, online, created_at, updated_at) VALUES"
        " (1, 'workshop', 'Tablette « débutants » \"pro\"', NULL, NULL, NULL, NULL,"
        "  1772701200, 1772708400, NULL, 0, 1772000000, 1772000001),"
        " (2, 'workshop', 'Mails\tet\nfichiers \\ 😀', 'smartphone', 2, 4, 3,"
        "  1772701200, 1772708400, 1, 1, 0, 0),"
        " (3, 'training', 'ESJA', 'bureautique', 1, 4, 3, 1772701200, 1773308400, 2, 0, 0, 0),"
        " (5, 'workshop', 'Annulé', 'x', NULL, NULL, NULL, 1772701200, 1772708400, 3, 0, 0, 0);"
        "INSERT INTO sessions (id, kind, title, parent_id, starts_at, ends_at, created_at,"
        " updated_at) VALUES (6, 'training', 'Partie 1', 3, 1772701200, 1772703900, 0, 0),"
        " (7, 'training', 'Partie 2', 3, 1773306000, 1773308400, 0, 0);"
        "INSERT INTO sessions (id, kind, title, slot_minutes, starts_at, ends_at, created_at,"
        " updated_at) VALUES (8, 'permanence', 'Démarches', 30, 1772701200, 1772712000, 0, 0),"
        " (9000000000000001, 'permanence', 'Sans créneaux', NULL, 1772701200, 1772712000,"
        "  0, 0);"
        "UPDATE sessions SET status = 'cancelled',"
        " cancel_reason = 'formatrice \"malade\"\x01 — désolée' WHERE id = 5;"
        "INSERT INTO beneficiaries (id, first_name, last_name, created_at, updated_at)"
        " VALUES (1, 'A', 'B', 0, 0), (2, 'C', 'D', 0, 0), (3, 'E', 'F', 0, 0);"
        "INSERT INTO enrollments (session_id, beneficiary_id, status, created_at, updated_at)"
        " VALUES (2, 1, 'booked', 0, 0), (2, 2, 'waitlisted', 0, 0);"
        "INSERT INTO enrollments (session_id, beneficiary_id, status, slot_start, created_at,"
        " updated_at) VALUES (8, 1, 'booked', 1772703000, 0, 0),"
        " (8, 2, 'attended', 1772708400, 0, 0), (8, 3, 'cancelled', 1772701200, 0, 0);"), 0);

    s = store_stmt(f->st, "SELECT " SESSIONS_COLS " FROM sessions s ORDER BY s.id");
    assert_non_null(s);
    while (sqlite3_step(s) == SQLITE_ROW) {
        struct sessions_row r;
        struct jw w;
        cJSON *tree;
        char *theirs, *mine;
        size_t len = 0;

        assert_int_equal(sessions_row_read(s, &r), 0);
        tree = sessions_json(f->st, &r);
        assert_non_null(tree);
        theirs = json_print(tree, NULL);
        cJSON_Delete(tree);
        jw_init(&w, 0);
        assert_int_equal(sessions_write(&w, f->st, &r), 0);
        mine = jw_take(&w, &len);
        assert_non_null(mine);
        assert_string_equal(mine, theirs);
        assert_int_equal(len, strlen(theirs));
        free(mine);
        free(theirs);
        sessions_row_clear(&r);
        n++;
    }
    store_done(s);
    assert_int_equal(n, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
