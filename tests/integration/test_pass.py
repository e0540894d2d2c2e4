"""The pass numérique circuit (plugins/pass) against the real server: books
registered all or nothing, statuses, handovers and their 409s, the APTIC
import (the committed Windows-1252 sample, UTF-8 with a BOM and commas,
awkward and cut-short lines, idempotence, a 20,000-line file streamed),
scans recorded by hand, the reconciliation and its anomalies, the
accompaniments' context, erasure, the funders' table's forms, and roles."""
import csv
import datetime
import io
import os
import sys
import zipfile
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import problem, run  # noqa: E402

HERE = os.path.join(os.path.dirname(__file__), "pass")
P = "/api/v1/pass"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT = "/api/v1/imports/aptic"

_Relais = harness.Relais


class PassRelais(_Relais):
    def __init__(self, extra_config="", **kw):
        super().__init__(extra_config='plugins = {"pass"}\n' + extra_config, **kw)


harness.Relais = PassRelais


def today():
    return datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date().isoformat()


def sample():
    with open(os.path.join(HERE, "export-aptic-cp1252.csv"), "rb") as f:
        return f.read()


def post_csv(r, raw, token="admin"):
    return r.req("POST", IMPORT, raw=raw, token=token, headers={"Content-Type": "text/csv"})


def books(r, order, valid_until, first_prefix, n, value=1000, size=5):
    body = {"order": order, "valid_until": valid_until, "value_cents": value, "books": [
        {"number": "%s-%03d" % (order, i), "first_pass": "%s%08d" % (first_prefix, 100001 + size * (i - 1)),
         "count": size} for i in range(1, n + 1)]}
    return r.ok("POST", P + "/books", body, expect=201)["ids"]


def venue(r, name, aptic=True):
    return r.ok("POST", "/api/v1/venues", {"name": name, "aptic": aptic}, expect=201)["id"]


def org(r, name="CCAS de Chambéry", kind="ccas"):
    return r.ok("POST", "/api/v1/organisations", {"name": name, "kind": kind}, expect=201)["id"]


def person(r, first="Monique", gender="F", birth_year=1952, **kw):
    body = {"first_name": first, "last_name": "Test", "gender": gender, "birth_year": birth_year}
    body.update(kw)
    return r.ok("POST", "/api/v1/beneficiaries", body, expect=201)["id"]


def hand(r, book, on="2025-02-03", expect=201, **kw):
    body = dict(kw, on=on)
    st, out, _ = r.req("POST", "%s/books/%d/handover" % (P, book), body)
    assert st == expect, (st, out)
    return out


def table(r):
    """Every stored row of the plugin's tables: what "changes nothing" compares."""
    return {t: r.db("SELECT * FROM %s ORDER BY 1" % t) for t in
            ("pass_orders", "pass_books", "pass_passes", "pass_handovers", "pass_places",
             "pass_scans", "pass_duplicates")}


APTIC = ["Centre social du Biollay", "Centre social des Hauts-de-Chambéry",
         "Espace numérique de Chantemerle", "Centre socioculturel de Cognin",
         "Association Clic'Solidaire"]


def sample_territory(r):
    """What the committed sample file needs: its venues, the 2025 and 2026
    orders, books given to people (2025: 1–12, 2026: 1–16), and book 2026-020
    given to a distributor only."""
    for name in APTIC:
        venue(r, name)
    venue(r, "Bibliothèque de Bellevue", aptic=False)
    ids25 = books(r, "2025", "2025-12-31", "25", 40)
    ids26 = books(r, "2026", "2026-12-31", "26", 60)
    ccas = org(r)
    for i in range(12):
        hand(r, ids25[i], on="2025-02-03", organisation_id=ccas)
        hand(r, ids25[i], on="2025-02-10", beneficiary_id=person(r, "P25-%d" % i))
    for i in range(16):
        hand(r, ids26[i], on="2026-01-20", beneficiary_id=person(r, "P26-%d" % i))
    hand(r, ids26[19], on="2026-01-20", organisation_id=ccas)
    return ids25, ids26, ccas


# --- registering books ----------------------------------------------------------

def test_register_numbers_passes_keeping_zero_padding(r):
    out = r.ok("POST", P + "/books", {
        "order": "2022", "valid_until": "2022-12-31", "value_cents": 1000, "books": [
            {"number": "C-0001", "label": "CCAS n°1", "first_pass": "2200100098", "count": 4},
            {"number": "C-0002", "passes": ["A7", "B8", "C9"]},
            {"number": "C-0003", "first_pass": "PN-0099", "count": 2}]}, expect=201)
    assert out["created"] == 3 and len(out["ids"]) == 3, out
    one = r.ok("GET", "%s/books/%d" % (P, out["ids"][0]))
    assert [p["number"] for p in one["pass_list"]] == [
        "2200100098", "2200100099", "2200100100", "2200100101"], one
    assert one["label"] == "CCAS n°1" and one["order"] == "2022" and one["passes"] == 4
    assert one["value_cents"] == 1000 and one["valid_until"] == "2022-12-31"
    assert one["holder"] is None and one["history"] == [] and one["used"] == 0
    three = r.ok("GET", "%s/books/%d" % (P, out["ids"][2]))
    assert [p["number"] for p in three["pass_list"]] == ["PN-0099", "PN-0100"]
    two = r.ok("GET", "%s/books/%d" % (P, out["ids"][1]))
    assert [p["number"] for p in two["pass_list"]] == ["A7", "B8", "C9"]
    assert two["label"] is None


def test_register_all_or_nothing_lists_every_bad_field(r):
    r.ok("POST", P + "/books", {"order": "2022", "valid_until": "2022-12-31", "value_cents": 1000,
                                "books": [{"number": "B1", "first_pass": "100", "count": 5}]},
         expect=201)
    before = table(r)
    st, out, h = r.req("POST", P + "/books", {
        "order": "2022", "books": [
            {"number": "B2", "first_pass": "200", "count": 5},          # fine
            {"number": "B1", "first_pass": "300", "count": 5},          # book registered
            {"number": "B3", "first_pass": "103", "count": 2},          # pass 103, 104 registered
            {"number": "B2", "passes": ["X", ""]},                      # twice; an empty pass
            {"number": "B4", "first_pass": "98", "count": 3},           # 98, 99, 100: overflow
            {"number": "B5"},                                           # no passes
            {"number": "B6", "first_pass": "1", "count": 1, "passes": ["Z"]},   # both
            {"number": "B7", "first_pass": "201", "count": 1, "colour": "red"},  # in B2 too
        ]})
    assert st == 422, out
    problem(r, 422, out, h)
    fields = [e["field"] for e in out["errors"]]
    for f in ["books[1].number", "books[2].first_pass", "books[3].number",
              "books[3].passes[1]", "books[4].first_pass", "books[5].first_pass",
              "books[6].passes", "books[7].colour", "books[7].first_pass"]:
        assert f in fields, (f, out)
    msgs = {(e["field"], e["message"]) for e in out["errors"]}
    assert ("books[1].number", "book B1 is already registered") in msgs, msgs
    assert ("books[2].first_pass", "pass 103 is already registered") in msgs, msgs
    assert ("books[2].first_pass", "pass 104 is already registered") in msgs, msgs
    assert table(r) == before   # nothing stored, not even B2


def test_register_order_rules(r):
    for body, field in [
            ({"books": [{"number": "A", "passes": ["1"]}]}, "order"),
            ({"order": "2023", "books": [{"number": "A", "passes": ["1"]}]}, "valid_until"),
            ({"order": "2023", "valid_until": "2023-02-30", "value_cents": 1000,
              "books": [{"number": "A", "passes": ["1"]}]}, "valid_until"),
            ({"order": "2023", "valid_until": "2023-12-31", "value_cents": -1,
              "books": [{"number": "A", "passes": ["1"]}]}, "value_cents"),
            ({"order": "2023", "valid_until": "2023-12-31", "value_cents": 1000, "books": []},
             "books"),
            ({"order": "2023", "valid_until": "2023-12-31", "value_cents": 1000,
              "books": {"number": "A"}}, "books"),
            ({"order": "2023", "valid_until": "2023-12-31", "value_cents": 1000,
              "books": [{"number": "A", "first_pass": "1", "count": 1001}]}, "books[0].count"),
            ({"order": "2023", "valid_until": "2023-12-31", "value_cents": 1000,
              "books": [{"number": "A" * 65, "passes": ["1"]}]}, "books[0].number")]:
        st, out, _ = r.req("POST", P + "/books", body)
        assert st == 422, (body, out)
        problem(r, 422, out, field=field)
    r.ok("POST", P + "/books", {"order": 2023, "valid_until": "2023-12-31", "value_cents": 500,
                                "books": [{"number": "A", "passes": ["1"]}]}, expect=201)
    # Books added to the order keep its validity and value; another is refused.
    r.ok("POST", P + "/books", {"order": "2023", "books": [{"number": "B", "passes": ["2"]}]},
         expect=201)
    st, out, _ = r.req("POST", P + "/books", {"order": "2023", "valid_until": "2024-12-31",
                                              "books": [{"number": "C", "passes": ["3"]}]})
    problem(r, 422, out, field="valid_until")
    orders = r.ok("GET", P + "/orders")["items"]
    assert orders == [{"order": "2023", "valid_until": "2023-12-31", "value_cents": 500,
                       "books": 2, "passes": 2}], orders
    # Bad bodies as the core answers them.
    st, out, _ = r.req("POST", P + "/books", raw="{", headers={"Content-Type": "application/json"})
    assert st == 400, out
    st, out, _ = r.req("POST", P + "/books", raw="[]", headers={"Content-Type": "application/json"})
    assert st == 400, out
    st, out, _ = r.req("POST", P + "/books", raw="{}", headers={"Content-Type": "text/plain"})
    assert st == 415, out


# --- handovers and statuses -----------------------------------------------------

def test_handover_rules_one_book_one_person(r):
    ids = books(r, "2025", "2099-12-31", "25", 3)
    ccas, cs = org(r), org(r, "Centre social du Biollay", "centre_social")
    ana, bea = person(r, "Ana"), person(r, "Béa")
    book = hand(r, ids[0], on="2025-02-01", organisation_id=ccas)
    assert book["status"] == "distributed" and book["holder"] == {
        "type": "organisation", "id": ccas, "name": "CCAS de Chambéry"}, book
    book = hand(r, ids[0], on="2025-02-03", beneficiary_id=ana)
    assert book["status"] == "assigned", book
    assert book["holder"] == {"type": "beneficiary", "id": ana, "name": "Ana"}, book
    assert [h["on"] for h in book["history"]] == ["2025-02-01", "2025-02-03"]
    assert [h["holder"]["type"] for h in book["history"]] == ["organisation", "beneficiary"]
    # Given to a person: never to another; again to the same one: nothing to do.
    out = hand(r, ids[0], on="2025-02-04", beneficiary_id=bea, expect=409)
    assert "another person" in out["detail"], out
    hand(r, ids[0], on="2025-02-04", beneficiary_id=ana, expect=409)
    # Back to a distributor, then to the same person again: allowed.
    hand(r, ids[0], on="2025-03-01", organisation_id=cs)
    hand(r, ids[0], on="2025-03-02", beneficiary_id=bea, expect=409)
    hand(r, ids[0], on="2025-03-02", beneficiary_id=ana)
    # A second book for Ana only when asked.
    out = hand(r, ids[1], on="2025-03-05", beneficiary_id=ana, expect=409)
    assert "second" in out["detail"], out
    book = hand(r, ids[1], on="2025-03-05", beneficiary_id=ana, second=True)
    assert book["history"][-1]["second"] is True
    # Béa gets the third, no question.
    hand(r, ids[2], on="2025-03-05", beneficiary_id=bea)
    assert r.db("SELECT count(*) FROM pass_handovers")[0][0] == 6


def test_handover_bad_fields(r):
    ids = books(r, "2025", "2099-12-31", "25", 1)
    ccas, ana = org(r), person(r)
    gone = person(r, "Gone")
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % gone, expect=204)
    hand(r, ids[0], on="2025-02-05", organisation_id=ccas)
    for body, field in [({"on": "2025-02-06"}, "beneficiary_id"),
                        ({"organisation_id": ccas, "beneficiary_id": ana, "on": "2025-02-06"},
                         "beneficiary_id"),
                        ({"organisation_id": 9999, "on": "2025-02-06"}, "organisation_id"),
                        ({"beneficiary_id": gone, "on": "2025-02-06"}, "beneficiary_id"),
                        ({"beneficiary_id": ana, "on": "2025-02-04"}, "on"),     # before the last
                        ({"beneficiary_id": ana, "on": "2999-01-01"}, "on"),
                        ({"beneficiary_id": ana, "on": "06/02/2025"}, "on"),
                        ({"beneficiary_id": ana, "on": "2025-02-06", "second": "yes"}, "second"),
                        ({"beneficiary_id": ana, "on": "2025-02-06", "why": 1}, "why")]:
        st, out, _ = r.req("POST", "%s/books/%d/handover" % (P, ids[0]), body)
        assert st == 422, (body, out)
        problem(r, 422, out, field=field)
    st, out, _ = r.req("POST", P + "/books/999/handover", {"organisation_id": ccas})
    assert st == 404, out
    st, out, _ = r.req("GET", P + "/books/999")
    assert st == 404, out
    st, out, _ = r.req("GET", P + "/books/abc")
    assert st == 404, out
    # Without `on` (or null): today, in the configured zone.
    book = hand(r, ids[0], on=None, beneficiary_id=ana)
    assert book["history"][-1]["on"] == today(), book["history"]


def test_statuses_and_list_filters(r):
    v = venue(r, "Centre social du Biollay")
    ids = books(r, "2025", "2099-12-31", "25", 6, size=2)
    old = books(r, "2020", "2020-12-31", "20", 1, size=2)
    ccas, ana, bea, cyr = org(r), person(r, "Ana"), person(r, "Béa"), person(r, "Cyr")
    hand(r, ids[1], organisation_id=ccas)
    hand(r, ids[2], organisation_id=ccas)
    hand(r, ids[2], beneficiary_id=ana)
    hand(r, ids[3], beneficiary_id=bea)
    hand(r, ids[4], beneficiary_id=cyr)
    r.ok("POST", P + "/scans", {"pass": "2500100007", "on": "2025-03-01", "venue_id": v}, expect=201)
    r.ok("POST", P + "/scans", {"pass": "2500100009", "on": "2025-03-01", "venue_id": v}, expect=201)
    r.ok("POST", P + "/scans", {"pass": "2500100010", "on": "2025-03-02", "venue_id": v}, expect=201)
    want = {ids[0]: "stock", ids[1]: "distributed", ids[2]: "assigned", ids[3]: "started",
            ids[4]: "used", ids[5]: "stock", old[0]: "expired"}
    got = {b["id"]: b["status"] for b in r.ok("GET", P + "/books")["items"]}
    assert got == want, got
    for status in ("stock", "distributed", "assigned", "started", "used", "expired"):
        items = r.ok("GET", P + "/books?status=" + status)["items"]
        assert sorted(b["id"] for b in items) == sorted(i for i, s in want.items() if s == status)
    assert [b["id"] for b in r.ok("GET", P + "/books?organisation_id=%d" % ccas)["items"]] == [ids[1]]
    assert [b["id"] for b in r.ok("GET", P + "/books?beneficiary_id=%d" % bea)["items"]] == [ids[3]]
    assert [b["id"] for b in r.ok("GET", P + "/books?order=2020")["items"]] == old
    assert [b["id"] for b in r.ok("GET", P + "/books?q=2025-00")["items"]] == ids
    one = r.ok("GET", P + "/books/%d" % ids[3])
    assert one["used"] == 1 and one["pass_list"][0]["spent"]["venue"] == "Centre social du Biollay"
    assert one["pass_list"][1]["spent"] is None
    # Paging: 7 books, 3 a page.
    seen, path = [], P + "/books?limit=3"
    while path:
        page = r.ok("GET", path)
        assert len(page["items"]) <= 3
        seen += [b["id"] for b in page["items"]]
        path = page["next"] and P + "/books?limit=3&cursor=" + page["next"]
    assert seen == sorted(want), seen
    page = r.ok("GET", P + "/books?status=stock&limit=1")
    assert [b["id"] for b in page["items"]] == [ids[0]] and page["next"]
    page = r.ok("GET", P + "/books?status=stock&limit=1&cursor=" + page["next"])
    assert [b["id"] for b in page["items"]] == [ids[5]] and page["next"] is None
    for q, field in [("status=lost", "status"), ("limit=0", "limit"), ("limit=501", "limit"),
                     ("cursor=zz", "cursor"), ("organisation_id=x", "organisation_id"),
                     ("status=stock&status=used", "status")]:
        st, out, _ = r.req("GET", P + "/books?" + q)
        assert st == 422, (q, out)
        problem(r, 422, out, field=field)


# --- the import -----------------------------------------------------------------

def test_import_sample_cp1252_and_again_changes_nothing(r):
    sample_territory(r)
    st, out, _ = post_csv(r, sample())
    assert st == 200, out
    assert out["rows"] == 67 and out["matched"] == 63 and out["unknown"] == 1, out
    assert out["duplicates"] == 1, out
    assert out["errors"] == [
        {"line": 67, "message": "ligne 67 : la date « 31/02/2026 09:45 » n'existe pas"},
        {"line": 68, "message": "ligne 68 : le numéro du pass est vide"}], out
    assert out["unmatched_venues"] == ["Espace France Services de La Ravoire"], out
    # Accents came through Windows-1252, the venue was matched by name.
    rows = r.db("SELECT s.service, s.level, s.amount_cents, s.venue_id, pl.name, s.at"
                " FROM pass_scans s JOIN pass_places pl ON pl.id = s.place_id"
                " WHERE s.pass = '2500100001'")
    assert rows == [("Déclarer ses revenus en ligne", 2, 1000, 3,
                     "Espace numérique de Chantemerle", 1746346800)], rows
    before = table(r)
    st, again, _ = post_csv(r, sample())
    assert st == 200, again
    assert again["rows"] == 67 and again["matched"] == 0 and again["unknown"] == 0
    assert again["duplicates"] == 65 and again["errors"] == out["errors"], again
    assert table(r) == before


def test_import_utf8_bom_commas_iso_dates(r):
    v = venue(r, "Espace numérique de Chantemerle")
    books(r, "2025", "2025-12-31", "25", 2)
    text = ("\ufeffN° pass,Date,Lieu,Service,Niveau,Montant\n"
            '2500100001,2025-03-05T14:05:00+01:00,ESPACE NUMERIQUE DE CHANTEMERLE,"Smartphone, niveau 1",1,10\n'
            "2500100002,2025-03-06,Espace numérique de Chantemerle,E-mail,Maîtriser le numérique,\n"
            "2500100003,5/3/2025 9h05,Espace numérique de Chantemerle,,N3,\"8,50 €\"\n")
    st, out, _ = post_csv(r, text.encode("utf-8"))
    assert st == 200, out
    assert out == {"rows": 3, "matched": 3, "unknown": 0, "duplicates": 0, "errors": [],
                   "unmatched_venues": []}, out
    got = r.db("SELECT pass, on_date, at, venue_id, service, level, amount_cents FROM pass_scans"
               " ORDER BY pass")
    assert got == [("2500100001", "2025-03-05", 1741179900, v, "Smartphone, niveau 1", 1, 1000),
                   ("2500100002", "2025-03-06", None, v, "E-mail", 2, None),
                   ("2500100003", "2025-03-05", 1741161900, v, None, 3, 850)], got


def test_import_awkward_and_cut_short_lines(r):
    books(r, "2025", "2025-12-31", "25", 2)
    text = ("Export APTIC du 01/04/2025\n"                 # a title before the header
            "Numéro de chèque;Date de scan;Structure\n"
            "2500100001;31/02/2025;X\n"
            "2500100002;2025/03/05;X\n"
            "2500100003;01/01/1925;X\n"
            "2,5001E+09;05/03/2025;X\n"
            "2500100004\n"
            "2500100005;\"05/03/2025;X\n"
            "2500100006;05/03/2025;X\n"
            "2500100007;05/03/20")
    st, out, _ = post_csv(r, text.encode("utf-8"))
    assert st == 200, out
    msgs = [(e["line"], e["message"]) for e in out["errors"]]
    assert msgs == [
        (3, "ligne 3 : la date « 31/02/2025 » n'existe pas"),
        (4, "ligne 4 : la date « 2025/03/05 » n'est pas une date lisible (JJ/MM/AAAA attendu)"),
        (5, "ligne 5 : la date « 01/01/1925 » n'est pas plausible (année hors 2000–2099)"),
        (6, "ligne 6 : le numéro du pass « 2,5001E+09 » a été abîmé par le tableur (écrit en"
            " puissance de 10) : exportez de nouveau le fichier depuis APTIC"),
        (7, "ligne 7 : la ligne est incomplète (1 colonne) : la date manque"),
        (8, "ligne 8 : un guillemet ouvert n'est jamais fermé (fichier tronqué ?)"),
    ], msgs
    # The unclosed quote swallowed the rest of the file: one record.
    assert out["rows"] == 6 and out["matched"] == 0, out
    st, out, _ = post_csv(r, b"Pass;Date\n2500100006;05/03/2025\n2500100007;05/03/20")
    assert st == 200 and out["matched"] == 1, out
    assert out["errors"] == [{"line": 3, "message": "ligne 3 : la date « 05/03/20 » n'est pas"
                              " une date lisible (JJ/MM/AAAA attendu)"}], out


def test_import_file_refused(r):
    for raw in (b"", b"\n\n"):
        st, out, h = post_csv(r, raw)
        assert st == 422, out
        problem(r, 422, out, h)
        assert out["detail"] == "le fichier est vide", out
    st, out, _ = post_csv(r, "Date de scan;Lieu\n05/03/2025;X\n".encode())
    assert st == 422 and "numéro du pass" in out["detail"], out
    st, out, _ = post_csv(r, "Numéro du pass;Lieu\n2500100001;X\n".encode())
    assert st == 422 and "date" in out["detail"], out
    assert r.db("SELECT count(*) FROM pass_scans")[0][0] == 0


def test_import_twenty_thousand_lines_streamed(r):
    v = venue(r, "Centre social du Biollay")
    books(r, "2025", "2025-12-31", "25", 3000)
    lines = ["Numéro du pass;Date de scan;Lieu;Niveau"]
    for i in range(20000):
        lines.append("25%08d;%02d/%02d/2025 10:%02d;Centre social du Biollay;%d" % (
            100001 + i, i % 28 + 1, i % 12 + 1, i % 60, i % 3 + 1))
    st, out, _ = post_csv(r, ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    assert st == 200, out
    assert out == {"rows": 20000, "matched": 15000, "unknown": 5000, "duplicates": 0,
                   "errors": [], "unmatched_venues": []}, out
    assert r.db("SELECT count(*), count(DISTINCT venue_id) FROM pass_scans") == [(20000, 1)]
    rec = r.ok("GET", P + "/reconciliation")
    assert rec["books"]["used"] == 3000 and rec["by_venue"][0]["venue_id"] == v, rec["books"]


def test_book_registered_after_its_scans(r):
    """Scans of numbers no book has yet: unknown, until the book comes."""
    venue(r, "Centre social du Biollay")
    st, out, _ = post_csv(r, b"Pass;Date;Lieu\n2400100001;05/03/2025;Centre social du Biollay\n"
                             b"2400100002;06/03/2025;Centre social du Biollay\n")
    assert st == 200 and out["unknown"] == 2 and out["matched"] == 0, out
    rec = r.ok("GET", P + "/reconciliation")
    assert rec["passes"]["unknown_spent"] == 2 and rec["anomaly_counts"]["unknown_pass"] == 2
    ids = books(r, "2025", "2099-12-31", "24", 1)
    book = r.ok("GET", P + "/books/%d" % ids[0])
    assert book["used"] == 2 and book["status"] == "started", book
    rec = r.ok("GET", P + "/reconciliation")
    assert rec["passes"]["unknown_spent"] == 0 and rec["passes"]["spent"] == 2, rec["passes"]
    assert rec["anomaly_counts"]["unknown_pass"] == 0
    assert rec["anomaly_counts"]["not_given"] == 2, rec["anomaly_counts"]
    assert r.db("SELECT count(*) FROM pass_scans WHERE book_id = ?", ids[0]) == [(2,)]


# --- scans recorded by hand -----------------------------------------------------

def test_manual_scan(r):
    v = venue(r, "Centre social du Biollay")
    books(r, "2025", "2099-12-31", "25", 1)
    out = r.ok("POST", P + "/scans", {"pass": " 2500100001 ", "on": "2025-03-05", "venue_id": v,
                                      "level": 2, "service": "Smartphone"}, expect=201)
    assert out["pass"] == "2500100001" and out["known"] is True and out["book"] == "2025-001"
    assert out["source"] == "manual" and out["venue"] == "Centre social du Biollay", out
    st, dup, _ = r.req("POST", P + "/scans", {"pass": "2500100001", "on": "2025-03-06",
                                              "venue_id": v})
    assert st == 409 and "2025-03-05" in dup["detail"], dup
    out = r.ok("POST", P + "/scans", {"pass": "UNKNOWN-1", "venue_id": v}, expect=201)
    assert out["known"] is False and out["book"] is None, out
    for body, field in [({"on": "2025-03-05", "venue_id": v}, "pass"),
                        ({"pass": "X", "on": "2025-03-05"}, "venue_id"),
                        ({"pass": "X", "on": "2025-03-05", "venue_id": 999}, "venue_id"),
                        ({"pass": "X", "on": "2999-03-05", "venue_id": v}, "on"),
                        ({"pass": "X", "venue_id": v, "level": 4}, "level"),
                        ({"pass": "X", "venue_id": v, "amount_cents": -5}, "amount_cents")]:
        st, out, _ = r.req("POST", P + "/scans", body)
        assert st == 422, (body, out)
        problem(r, 422, out, field=field)


# --- reconciliation -------------------------------------------------------------

def test_reconciliation_of_the_sample(r):
    ids25, ids26, ccas = sample_territory(r)
    st, out, _ = post_csv(r, sample())
    assert st == 200, out
    rec = r.ok("GET", P + "/reconciliation")
    today = rec["today"]
    assert rec["tolerance_days"] == 31
    b = rec["books"]
    assert b["total"] == 100 and sum(b[k] for k in ("stock", "distributed", "assigned", "started",
                                                    "used", "expired")) == 100, b
    # 2025's books are past their date; of 2026's, the 16 given to people
    # and 2026-020 (given to a distributor) have a pass spent, none all.
    if today <= "2026-12-31":
        assert b == {"total": 100, "expired": 40, "started": 17, "stock": 43, "assigned": 0,
                     "distributed": 0, "used": 0}, b
    else:
        assert b["expired"] == 100, b
    p = rec["passes"]
    assert p["total"] == 500 and p["spent"] == 63 and p["unspent"] == 437, p
    assert p["unknown_spent"] == 1, p
    o25 = [o for o in rec["by_order"] if o["order"] == "2025"][0]
    assert o25["tolerated_until"] == "2026-01-31" and o25["spent"] == 31, o25
    if today > "2026-01-31":
        assert o25["expired_unspent"] == 169 and o25["credit_note_cents"] == 169000, o25
        assert p["expired_unspent"] >= 169 and p["expired_value_cents"] >= 169000, p
    venues = {v["venue"]: v for v in rec["by_venue"]}
    assert sum(v["spent"] for v in rec["by_venue"]) == 64
    assert venues["Espace France Services de La Ravoire"]["venue_id"] is None
    assert venues["Bibliothèque de Bellevue"]["aptic"] is False
    assert venues["Centre social du Biollay"]["aptic"] is True
    assert all(v["value_cents"] == 1000 * v["spent"] for v in rec["by_venue"]), rec["by_venue"]
    kinds = {}
    for a in rec["anomalies"]:
        kinds.setdefault(a["kind"], []).append(a)
    assert rec["anomaly_counts"] == {"unknown_pass": 1, "not_given": 1, "after_validity": 1,
                                     "duplicate": 1, "venue_not_aptic": 2}, rec["anomaly_counts"]
    assert [a["pass"] for a in kinds["unknown_pass"]] == ["2599999999"]
    assert kinds["unknown_pass"][0]["book"] is None
    assert kinds["not_given"][0]["pass"] == "2600100096"
    assert kinds["not_given"][0]["book"] == "2026-020"
    assert kinds["after_validity"][0]["pass"] == "2500100058"
    assert "31/01/2026" in kinds["after_validity"][0]["detail"], kinds["after_validity"]
    d = kinds["duplicate"][0]
    assert d["pass"] == "2500100011" and d["on"] == "2025-11-18", d
    assert "ligne 61" in d["detail"], d
    assert sorted(a["pass"] for a in kinds["venue_not_aptic"]) == ["2600100071", "2600100076"]
    only = r.ok("GET", P + "/reconciliation?kind=duplicate")
    assert [a["kind"] for a in only["anomalies"]] == ["duplicate"]
    st, out, _ = r.req("GET", P + "/reconciliation?kind=odd")
    problem(r, 422, out, field="kind")
    # A venue made later, with the export's name, is recognised (still not APTIC).
    venue(r, "Espace France Services de La Ravoire", aptic=True)
    rec = r.ok("GET", P + "/reconciliation")
    assert rec["anomaly_counts"]["venue_not_aptic"] == 1
    # Resolving: give book 2026-020 to someone.
    hand(r, ids26[19], on="2026-01-21", beneficiary_id=person(r, "Late"))
    assert r.ok("GET", P + "/reconciliation")["anomaly_counts"]["not_given"] == 0


def test_tolerance_days_from_the_config(r):
    """pass = {tolerance_days = 0}: a pass spent the day after valid_until
    is late, and the credit note is due at once; a bad key stops the start,
    named."""
    other = PassRelais(extra_config="pass = { tolerance_days = 0 }\n")
    try:
        other.start()
        v = venue(other, "Centre social du Biollay")
        books(other, "2024", "2024-12-31", "24", 1)
        for n, on in (("2400100001", "2024-12-31"), ("2400100002", "2025-01-01")):
            other.ok("POST", P + "/scans", {"pass": n, "on": on, "venue_id": v}, expect=201)
        rec = other.ok("GET", P + "/reconciliation")
        assert rec["tolerance_days"] == 0
        assert [a["pass"] for a in rec["anomalies"] if a["kind"] == "after_validity"] == [
            "2400100002"], rec["anomalies"]
        assert rec["by_order"][0]["tolerated_until"] == "2024-12-31"
        assert rec["passes"]["expired_unspent"] == 3 and rec["passes"]["expired_value_cents"] == 3000
    finally:
        other.stop()
        other.cleanup()
    # The default (31 days): the same scans are in time.
    v = venue(r, "Centre social du Biollay")
    books(r, "2024", "2024-12-31", "24", 1)
    r.ok("POST", P + "/scans", {"pass": "2400100002", "on": "2025-01-31", "venue_id": v},
         expect=201)
    rec = r.ok("GET", P + "/reconciliation")
    assert rec["anomaly_counts"]["after_validity"] == 0, rec["anomalies"]
    for bad, named in (("pass = { tolerence_days = 3 }", "pass.tolerence_days"),
                       ("pass = { tolerance_days = -1 }", "pass.tolerance_days"),
                       ('pass = { tolerance_days = "31" }', "pass.tolerance_days")):
        wrong = PassRelais(extra_config=bad + "\n")
        try:
            try:
                wrong.start()
                raise AssertionError("started with " + bad)
            except AssertionError as e:
                assert "exited at start" in str(e) and named in str(e), e
        finally:
            wrong.stop()
            wrong.cleanup()


# --- accompaniments, erasure ----------------------------------------------------

def test_accompaniment_gives_a_pass_its_context(r):
    v = venue(r, "Centre social du Biollay")
    ids = books(r, "2025", "2099-12-31", "25", 1)
    ana = person(r)
    hand(r, ids[0], on="2025-02-01", beneficiary_id=ana)
    acc = r.ok("POST", "/api/v1/accompaniments", {
        "beneficiary_id": ana, "venue_id": v, "minutes": 30, "themes": ["impôts", "e-mail"],
        "started_at": "2025-03-05T10:00:00+01:00", "pass": "2500100001"}, expect=201)
    r.ok("POST", P + "/scans", {"pass": "2500100001", "on": "2025-03-05", "venue_id": v},
         expect=201)
    one = r.ok("GET", P + "/books/%d" % ids[0])
    assert one["pass_list"][0]["accompaniments"] == [acc["id"]], one["pass_list"][0]
    rep = r.ok("GET", "/api/v1/reports/pass?period=2025-01-01..2025-12-31")
    assert rep["by_service"] == {"impôts": [1, 1]}, rep["by_service"]
    assert rep["by_level"]["unknown"]["spent"] == 1


def test_erased_people_still_count(r):
    v = venue(r, "Centre social du Biollay")
    ids = books(r, "2025", "2099-12-31", "25", 2)
    ana, bob = person(r, "Ana", "F", 1950), person(r, "Bob", "M", 1990)
    hand(r, ids[0], on="2025-02-01", beneficiary_id=ana)
    hand(r, ids[1], on="2025-02-01", beneficiary_id=bob)
    for n in ("2500100001", "2500100002", "2500100006"):
        r.ok("POST", P + "/scans", {"pass": n, "on": "2025-03-05", "venue_id": v}, expect=201)
    path = "/api/v1/reports/pass?period=2025-01-01..2025-12-31"
    before = r.ok("GET", path)
    assert before["spent"]["by_gender"]["F"] == [2, 2] and before["people"]["total"] == [2, 2]
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % ana, expect=204)
    assert r.ok("GET", path) == before
    book = r.ok("GET", P + "/books/%d" % ids[0])
    assert book["holder"]["name"] is None and book["holder"]["erased"] is True, book


# --- the funders' table's forms -------------------------------------------------

def test_report_validation(r):
    for q, field in [("", "period"), ("period=2025-01-01", "period"),
                     ("period=2025-12-31..2025-01-01", "period"),
                     ("period=2025-02-30..2025-03-01", "period"),
                     ("period=2025-01-01..2025-12-31&period=x", "period[1]"),
                     ("period=2025-01-01..2025-12-31&format=pdf", "format")]:
        st, out, _ = r.req("GET", "/api/v1/reports/pass?" + q)
        assert st == 422, (q, out)
        problem(r, 422, out, field=field)


def test_report_csv_html_and_xlsx(r):
    v = venue(r, "Centre social du Biollay")
    ids = books(r, "2025", "2099-12-31", "25", 1)
    hand(r, ids[0], on="2025-02-01", beneficiary_id=person(r))
    r.ok("POST", P + "/scans", {"pass": "2500100001", "on": "2025-03-05", "venue_id": v,
                                "level": 1, "service": "=cmd|' /C calc'!A0"}, expect=201)
    r.ok("POST", P + "/scans", {"pass": "2500100002", "on": "2025-03-06", "venue_id": v,
                                "service": "<b>Smartphone</b>"}, expect=201)
    q = "?period=2025-01-01..2025-06-30&period=2025-07-01..2025-12-31"
    st, text, h = r.req("GET", "/api/v1/reports/pass" + q, headers={"Accept": "text/csv"})
    assert st == 200 and h["content-type"] == "text/csv; charset=utf-8", h
    assert text.startswith("\ufeffreport;pass\r\n"), text[:40]
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    i = rows.index(["spent.by_gender"])
    assert rows[i + 1] == ["key", "2025-01-01..2025-06-30", "%", "2025-07-01..2025-12-31", "%",
                           "total", "%"], rows[i + 1]
    assert rows[i + 2] == ["F", "2", "100,00", "0", "", "2", "100,00"], rows[i + 2]
    j = rows.index(["by_level"])
    assert rows[j + 2] == ["1", "1", "100,00", "0", "", "1", "100,00"], rows[j + 2]
    assert ["unknown", "1", "", "0", "", "1", ""] in rows[j:], rows[j:]
    assert ["'=cmd|' /C calc'!A0", "1", "50,00", "0", "", "1", "50,00"] in rows, rows
    st, page, h = r.req("GET", "/api/v1/reports/pass.html" + q)
    assert st == 200 and h["content-type"] == "text/html; charset=utf-8", h
    assert page.count("<svg") == 6 and "<b>Smartphone" not in page, page
    assert "&lt;b&gt;Smartphone&lt;/b&gt;" in page and 'lang="fr"' in page
    assert "du 01/01/2025 au 30/06/2025" in page
    st, page2, _ = r.req("GET", "/api/v1/reports/pass" + q + "&format=html")
    assert st == 200 and page2 == page
    # The workbook: a text that looks like a formula stays a text.
    st, data, h = r.req_raw("GET", "/api/v1/reports/pass.xlsx" + q)
    assert st == 200 and h["content-type"] == XLSX, h
    st, data2, _ = r.req_raw("GET", "/api/v1/reports/pass" + q + "&format=xlsx")
    assert st == 200 and data2[:4] == b"PK\x03\x04"
    z = zipfile.ZipFile(io.BytesIO(data))
    names = z.namelist()
    assert "xl/sharedStrings.xml" in names and len([n for n in names if n.startswith(
        "xl/worksheets/sheet")]) == 7 and len([n for n in names if n.startswith(
        "xl/charts/chart")]) == 6, names
    strings = z.read("xl/sharedStrings.xml").decode()
    assert "=cmd|' /C calc'!A0" in strings.replace("&apos;", "'"), strings
    assert "&lt;b&gt;Smartphone&lt;/b&gt;" in strings, strings
    assert not any(b"<f>" in z.read(n) for n in names if n.startswith("xl/worksheets/"))


# --- roles ----------------------------------------------------------------------

def test_roles(r):
    trainer = r.token("trainer")
    ids = books(r, "2025", "2099-12-31", "25", 1)
    routes = [("GET", P + "/books", None), ("GET", P + "/books/%d" % ids[0], None),
              ("POST", P + "/books", {"order": "x", "books": []}),
              ("POST", P + "/books/%d/handover" % ids[0], {"organisation_id": 1}),
              ("POST", P + "/scans", {"pass": "1"}), ("GET", P + "/orders", None),
              ("GET", P + "/reconciliation", None),
              ("GET", "/api/v1/reports/pass?period=2025-01-01..2025-12-31", None),
              ("GET", "/api/v1/reports/pass.xlsx?period=2025-01-01..2025-12-31", None)]
    for method, path, body in routes:
        st, out, _ = r.req(method, path, body, token=trainer)
        assert st == 403, (method, path, st, out)
        st, out, _ = r.req(method, path, body, token=None)
        assert st == 401, (method, path, st, out)
    st, out, _ = post_csv(r, b"Pass;Date\n1;05/03/2025\n", token=trainer)
    assert st == 403, out
    assert r.db("SELECT count(*) FROM pass_scans")[0][0] == 0
    st, out, _ = r.req("GET", P + "/books", token="coordinator")
    assert st == 200 and len(out["items"]) == 1, out


if __name__ == "__main__":
    run(globals())
