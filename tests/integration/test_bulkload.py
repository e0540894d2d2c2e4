"""scripts/bulkload.py writes what the API writes (issue 16: scripts/bench-scale
measures databases bulk-loaded with it). A small territory is made through
the API, then the same one with the loader into a fresh database migrated by
the same binary, each loader call given the clock the API call had; every
table is then compared row by row and column by column, the counters the
triggers keep (sessions' taken_n/booked_n, the search's windows, the
notification counts) included, and the pass plugin's tables. Only the
random part of idem_key differs. Fails as soon as the write paths write something the loader does not (a new
column, event, message or counter): the loader must follow."""
import os
import sqlite3
import sys
import time

from harness import Relais, SRC, run

sys.path.insert(0, os.path.join(SRC, "scripts"))
import bulkload  # noqa: E402

EXTRA_CONFIG = ('plugins = {"pass"}\n'
                'quiet_hours = false\n'
                'reminders = { confirmation = true, before = { "48h", "2h" } }\n'
                'survey = { after = "30m" }\n')
SKIP_TABLES = {"schema_migrations", "api_tokens", "plugin_objects"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def dump(path):
    con = sqlite3.connect(path)
    out = {}
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                            " AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        if t in SKIP_TABLES:
            continue
        cur = con.execute('SELECT * FROM "%s"' % t)
        cols = [d[0] for d in cur.description]
        rows = []
        for row in sorted(cur.fetchall(), key=repr):
            row = dict(zip(cols, row))
            if t == "notifications":
                assert row["idem_key"].startswith("n%d-%s-" % (row["id"], row["channel"]))
                row["idem_key"] = row["idem_key"][:-8]
            rows.append(row)
        out[t] = rows
    con.close()
    return out


def test_the_loader_writes_what_the_api_writes(r):
    now = int(time.time())

    def when(table, rid, col="created_at"):
        return r.db("SELECT %s FROM %s WHERE id = ?" % (col, table), rid)[0][0]

    v1 = r.ok("POST", "/api/v1/venues", {"name": "Centre social", "commune": "Chambéry"})["id"]
    v2 = r.ok("POST", "/api/v1/venues", {"name": "Médiathèque"})["id"]
    t1 = r.ok("POST", "/api/v1/staff", {"name": "Samir", "role": "trainer"})["id"]
    o1 = r.ok("POST", "/api/v1/organisations", {"name": "CCAS de Chambéry",
                                                 "kind": "ccas"})["id"]
    people = [
        dict(first="Élodie", last="Lefèvre", phone="+33612345678", consent_sms=True,
             gender="F", birth_year=1951, organisation_id=o1),
        dict(first="Jean-Pierre", last="N'Diaye", phone="+33479001122", consent_sms=True),
        dict(first="FRANÇOISE", last="Œillet", phone="+33698765432", consent_sms=False,
             audience="professional"),
        dict(first="Zoé", last="Ab"),
    ]
    pids = []
    for p in people:
        body = {"first_name": p["first"], "last_name": p["last"]}
        for k in ("phone", "consent_sms", "gender", "birth_year", "organisation_id",
                  "audience"):
            if k in p:
                body[k] = p[k]
        pids.append(r.ok("POST", "/api/v1/beneficiaries", body)["id"])
    sessions = [  # (kind, title, venue, trainer, starts, minutes, capacity, theme, level)
        ("workshop", "Smartphone", v1, t1, now + 5 * 86400, 120, 8, "smartphone", 1),
        ("workshop", "Messagerie", v2, None, now + 3 * 3600, 60, 4, None, None),
        ("permanence", "Démarches", v1, t1, now - 86400, 180, 6, "démarches en ligne", None),
    ]
    sids = []
    for kind, title, venue, trainer, starts, minutes, cap, theme, level in sessions:
        body = {"kind": kind, "title": title, "venue_id": venue, "starts_at": iso(starts),
                "ends_at": iso(starts + minutes * 60), "capacity": cap}
        for k, val in (("trainer_id", trainer), ("theme", theme), ("level", level)):
            if val is not None:
                body[k] = val
        sids.append(r.ok("POST", "/api/v1/sessions", body)["id"])
    plan = [(0, p) for p in range(4)] + [(1, 0), (1, 1), (2, 0), (2, 2)]
    eids = []
    for si, pi in plan:
        eids.append(r.ok("POST", "/api/v1/sessions/%d/enrollments" % sids[si],
                         {"beneficiary_id": pids[pi]})["id"])
    marks = [(6, "attended"), (7, "absent")]
    for k, status in marks:
        r.ok("PATCH", "/api/v1/enrollments/%d" % eids[k], {"status": status})
    acc = r.ok("POST", "/api/v1/accompaniments", {
        "beneficiary_id": pids[0], "venue_id": v1, "staff_id": t1,
        "started_at": iso(now - 86400 + 600), "minutes": 30,
        "themes": ["smartphone", "e-mail"]})["id"]
    r.ok("PUT", "/api/v1/sessions/%d/headcount" % sids[2],
         {"counts": [{"gender": "F", "age_bracket": "56+", "residence": "qpv", "n": 2},
                     {"gender": "M", "age_bracket": "<26", "residence": None, "n": 1}]})
    # The pass numérique: an order of two books, one handed to an
    # organisation then to a person, a pass of it spent at a venue, and a
    # pass no book has.
    books = r.ok("POST", "/api/v1/pass/books", {
        "order": "2025", "valid_until": "2027-12-31", "value_cents": 1000,
        "books": [{"number": "B1", "first_pass": "0098", "count": 3, "label": "Carnet 1"},
                  {"number": "B2", "passes": ["X9", "X10"]}]}, expect=201)["ids"]
    r.ok("POST", "/api/v1/pass/books/%d/handover" % books[0],
         {"organisation_id": o1, "on": "2025-06-02"}, expect=201)
    r.ok("POST", "/api/v1/pass/books/%d/handover" % books[0],
         {"beneficiary_id": pids[0], "on": "2025-06-03"}, expect=201)
    scans = [r.ok("POST", "/api/v1/pass/scans", body, expect=201)["id"] for body in (
        {"pass": "0099", "on": "2025-06-10", "venue_id": v1, "service": "Atelier", "level": 1,
         "amount_cents": 1000},
        {"pass": "ZZ1", "on": "2025-06-11", "venue_id": v2})]
    # The same through the loader, each call at the clock the API's had.
    # A second database made as the first (migrated, started once with the
    # same plugins for theirs, the same tokens), stopped, then loaded.
    twin = Relais(extra_config=EXTRA_CONFIG)
    twin.start()
    assert twin.stop() == 0
    other = twin.dir
    try:
        ld = bulkload.Loader(os.path.join(other, "relais.db"))
        assert ld.venue(when("venues", v1), "Centre social", "Chambéry") == v1
        assert ld.venue(when("venues", v2), "Médiathèque") == v2
        assert ld.staff(when("staff", t1), "Samir") == t1
        assert ld.organisation(when("organisations", o1), "CCAS de Chambéry", "ccas") == o1
        for p, pid in zip(people, pids):
            kw = {k: p[k] for k in ("phone", "consent_sms", "gender", "birth_year",
                                    "organisation_id", "audience") if k in p}
            assert ld.person(when("beneficiaries", pid), p["first"], p["last"], **kw) == pid
        for (kind, title, venue, trainer, starts, minutes, cap, theme, level), sid in \
                zip(sessions, sids):
            assert ld.session(when("sessions", sid), kind, title, venue, trainer, starts,
                              starts + minutes * 60, cap, theme=theme, level=level) == sid
        for (si, pi), eid in zip(plan, eids):
            assert ld.enroll(when("enrollments", eid), sids[si], pids[pi]) == eid
        for k, status in marks:
            t = r.db("SELECT at FROM enrollment_events WHERE enrollment_id = ? AND kind = ?",
                     eids[k], status)[0][0]
            ld.mark(t, eids[k], sids[plan[k][0]], pids[plan[k][1]], status)
        assert ld.accompaniment(when("accompaniments", acc), pids[0], v1, t1, now - 86400 + 600,
                                30, ["smartphone", "e-mail"]) == acc
        ld.walkins(when("sessions", sids[2], "updated_at"), sids[2],
                   [("F", 56, None, "qpv", 2), ("M", None, 25, None, 1)])
        order = r.db("SELECT id, created_at FROM pass_orders")[0]
        assert ld.pass_order(order[1], "2025", "2027-12-31", 1000) == order[0]
        assert ld.pass_book(when("pass_books", books[0]), order[0], "B1", ["0098", "0099", "0100"],
                            label="Carnet 1") == books[0]
        assert ld.pass_book(when("pass_books", books[1]), order[0], "B2", ["X9", "X10"]) == books[1]
        hand = r.db("SELECT created_at FROM pass_handovers ORDER BY id")
        ld.pass_handover(hand[0][0], books[0], "2025-06-02", organisation_id=o1)
        ld.pass_handover(hand[1][0], books[0], "2025-06-03", beneficiary_id=pids[0])
        assert ld.pass_scan(when("pass_scans", scans[0]), "0099", "2025-06-10", v1,
                            "Centre social", service="Atelier", level=1,
                            amount_cents=1000) == scans[0]
        assert ld.pass_scan(when("pass_scans", scans[1]), "ZZ1", "2025-06-11", v2,
                            "Médiathèque") == scans[1]
        ld.close()
        api, bulk = dump(os.path.join(r.dir, "relais.db")), dump(os.path.join(other, "relais.db"))
        assert sorted(api) == sorted(bulk), (sorted(api), sorted(bulk))
        assert api["notifications"] and api["beneficiary_grams"] and api["session_headcounts"]
        assert api["pass_scans"] and api["pass_handovers"] and api["pass_places"]
        for t in api:
            assert len(api[t]) == len(bulk[t]), (t, api[t], bulk[t])
            for a, b in zip(api[t], bulk[t]):
                assert a == b, (t, {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)})

    finally:
        twin.cleanup()

if __name__ == "__main__":
    run(globals())
