"""The programme's FEDER table of the pass numérique (shared/reference/
programme-figures.md §1), reproduced exactly by GET /api/v1/reports/pass
from a dataset built through the real API only: the three orders (200, 250
and 300 books of 10 passes), the books handed to distributors and then one
to each person (a second one when the first could not hold all of a
person's passes), and the 2,307 passes spent, imported from an APTIC
export (Windows-1252, ';'). The dataset is made so that its records give
exactly the published figures:
  - per period, the passes of each age bracket are laid out in order and the
    first ones (as many as the women spent) are women's, the rest men's;
  - each (gender, bracket) cell gets people in proportion to its passes (at
    least one), so that each period has the published women and men; a
    person spends in one period only (the published totals are the sums);
  - levels: 787, 1,260 and 202 passes of levels 1, 2 and 3, 58 without
    one — the published 34.99 / 56.02 / 8.98 % are shares of the 2,249
    passes with a level (787 / 2,249 = 34.99 %).
Then the JSON, CSV, HTML and XLSX forms are checked (the workbook read back
with zipfile and xml.etree)."""
import csv
import io
import os
import sys
import xml.etree.ElementTree as ET
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import run  # noqa: E402

P = "/api/v1/pass"
REPORT = ("/api/v1/reports/pass?period=2020-01-01..2021-12-31&period=2022-01-01..2022-12-31"
          "&period=2023-01-01..2023-06-30")

_Relais = harness.Relais


class PassRelais(_Relais):
    def __init__(self, extra_config="", **kw):
        super().__init__(extra_config='plugins = {"pass"}\n' + extra_config, **kw)


harness.Relais = PassRelais

# The published table (programme-figures.md §1).
BRACKETS = ["<26", "26-35", "36-45", "46-55", "56+"]
SPENT = {"F": [421, 939, 416], "M": [136, 297, 98]}
SPENT_AGE = {"<26": [20, 31, 20], "26-35": [158, 93, 55], "36-45": [0, 322, 56],
             "46-55": [114, 290, 115], "56+": [265, 500, 268]}
PEOPLE = {"F": [55, 104, 28], "M": [19, 40, 13]}
LEVELS = {"1": 787, "2": 1260, "3": 202, None: 58}
SHARES = {"1": 34.99, "2": 56.02, "3": 8.98}

# The periods, their orders and an age inside each bracket.
PERIODS = [("2020-01-01", "2021-12-31"), ("2022-01-01", "2022-12-31"),
           ("2023-01-01", "2023-06-30")]
ORDERS = [("2020-2021", "2021-12-31", 200, "20"), ("2022", "2022-12-31", 250, "22"),
          ("2023", "2023-12-31", 300, "23")]
AGE = {"<26": 22, "26-35": 30, "36-45": 40, "46-55": 50, "56+": 65}
BOOK = 10
VENUES = ["Centre social du Biollay", "Centre social des Hauts-de-Chambéry",
          "Espace numérique de Chantemerle", "Centre socioculturel de Cognin"]
SERVICES = ["Smartphone", "Internet : envoyer, recevoir, gérer ses courriels",
            "Internet : fonctionnement, navigation", "Comportements à risque et bons usages",
            "Ameli.fr", "Déclarer ses revenus en ligne", "Gérer ses droits et allocations",
            "Contrat et factures d'électricité et de gaz"]
DISTRIBUTORS = [("CCAS de Chambéry", "ccas"), ("Centre social du Biollay", "centre_social"),
                ("Mission locale jeunes", "mission_locale"), ("Chambéry Alpes Habitat", "bailleur")]


def cells(p):
    """The (gender, bracket, passes) cells of period P: brackets in order,
    the first SPENT["F"][p] passes women's."""
    out, women = [], SPENT["F"][p]
    for b in BRACKETS:
        n = SPENT_AGE[b][p]
        f = min(n, women)
        women -= f
        if f:
            out.append(("F", b, f))
        if n - f:
            out.append(("M", b, n - f))
    return out


def people_of(cells_, total):
    """How many people each cell gets: at least one, the rest in proportion
    to its passes (largest remainders), never more people than passes."""
    n = [1] * len(cells_)
    left = total - len(cells_)
    passes = sum(c[2] for c in cells_)
    shares = [left * c[2] / passes for c in cells_]
    for i, s in enumerate(shares):
        n[i] += int(s)
    rest = total - sum(n)
    order = sorted(range(len(cells_)), key=lambda i: -(shares[i] - int(shares[i])))
    for i in order[:rest]:
        n[i] += 1
    assert sum(n) == total and all(n[i] <= c[2] for i, c in enumerate(cells_))
    return n


def plan():
    """[(period, gender, birth_year, passes)] for every person."""
    people = []
    for p in range(3):
        cs = cells(p)
        for gender in ("F", "M"):
            mine = [c for c in cs if c[0] == gender]
            counts = people_of(mine, PEOPLE[gender][p])
            for (g, b, passes), k in zip(mine, counts):
                year = int(PERIODS[p][0][:4]) - AGE[b]
                for j in range(k):
                    people.append((p, g, year, passes // k + (1 if j < passes % k else 0)))
    return people


def build(r):
    venues = [r.ok("POST", "/api/v1/venues", {"name": n, "aptic": True}, expect=201)["id"]
              for n in VENUES]
    orgs = [r.ok("POST", "/api/v1/organisations", {"name": n, "kind": k}, expect=201)["id"]
            for n, k in DISTRIBUTORS]
    books = []   # per period: [(book id, [pass numbers])]
    for label, valid, n, prefix in ORDERS:
        body = {"order": label, "valid_until": valid, "value_cents": 1000, "books": [
            {"number": "%s-%03d" % (label, i + 1), "label": "Carnet %d" % (i + 1),
             "first_pass": "%s%06d" % (prefix, 1 + BOOK * i), "count": BOOK} for i in range(n)]}
        ids = r.ok("POST", P + "/books", body, expect=201)["ids"]
        books.append([(ids[i], ["%s%06d" % (prefix, 1 + BOOK * i + k) for k in range(BOOK)])
                      for i in range(n)])
    spent = []   # (pass, period)
    used = [0, 0, 0]
    for i, (p, gender, year, passes) in enumerate(plan()):
        who = r.ok("POST", "/api/v1/beneficiaries", {
            "first_name": "P%d" % i, "last_name": "FEDER", "gender": gender,
            "birth_year": year}, expect=201)["id"]
        start = PERIODS[p][0]
        for k in range(-(-passes // BOOK)):
            book, numbers = books[p][used[p]]
            used[p] += 1
            r.ok("POST", "%s/books/%d/handover" % (P, book),
                 {"organisation_id": orgs[i % len(orgs)], "on": start}, expect=201)
            r.ok("POST", "%s/books/%d/handover" % (P, book),
                 {"beneficiary_id": who, "on": start, "second": k > 0}, expect=201)
            spent += [(n, p) for n in numbers[:min(BOOK, passes - k * BOOK)]]
    assert len(spent) == 2307
    levels = [lv for lv, n in LEVELS.items() for _ in range(n)]
    lines = ["Numéro du pass;Date de scan;Nom du lieu;Prestation;Niveau;Montant"]
    for j, (number, p) in enumerate(spent):
        year = int(PERIODS[p][0][:4]) + (j % 2 if p == 0 else 0)
        month = 1 + j % (6 if p == 2 else 12)
        lv = levels[(j * 7) % len(levels)]   # a permutation: 7 and 2,307 are coprime
        lines.append("%s;%02d/%02d/%d %02d:%02d;%s;%s;%s;10,00 €" % (
            number, 1 + j % 28, month, year, 9 + j % 9, j % 60, VENUES[j % 4],
            SERVICES[j % len(SERVICES)], "Niveau %s" % lv if lv else ""))
    st, out, _ = r.req("POST", "/api/v1/imports/aptic",
                       raw=("\r\n".join(lines) + "\r\n").encode("cp1252"),
                       headers={"Content-Type": "text/csv"})
    assert st == 200, out
    assert out["rows"] == 2307 and out["matched"] == 2307 and out["errors"] == [], out
    return venues


def with_total(row):
    return row + [sum(row)]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
      "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}
RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def xlsx_book(data):
    """The workbook's XML parts, its shared strings and {sheet name: part}."""
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    parts = {n: ET.fromstring(z.read(n)) for n in z.namelist()
             if n.endswith(".xml") or n.endswith(".rels")}
    strings = ["".join(t.text or "" for t in si.iter("{%s}t" % NS["m"]))
               for si in parts["xl/sharedStrings.xml"].findall("m:si", NS)]
    rels = {x.get("Id"): x.get("Target")
            for x in parts["xl/_rels/workbook.xml.rels"].findall("pr:Relationship", NS)}
    sheets = {}
    for sh in parts["xl/workbook.xml"].findall("m:sheets/m:sheet", NS):
        sheets[sh.get("name")] = "xl/" + rels[sh.get(RID)]
    return parts, strings, sheets


def sheet_cells(parts, strings, path):
    """{"B5": value} of the cells that hold one (text or number)."""
    out = {}
    for c in parts[path].iter("{%s}c" % NS["m"]):
        v = c.find("m:v", NS)
        if v is not None:
            out[c.get("r")] = strings[int(v.text)] if c.get("t") == "s" else float(v.text)
    return out


def sheet_charts(parts, path):
    """The chart parts drawn on the sheet at PATH."""
    rels_path = path.replace("worksheets/", "worksheets/_rels/") + ".rels"
    charts = []
    for x in parts[rels_path].findall("pr:Relationship", NS) if rels_path in parts else []:
        d = x.get("Target").replace("../", "xl/")
        drels = d.replace("drawings/", "drawings/_rels/") + ".rels"
        charts += [y.get("Target").replace("../", "xl/")
                   for y in parts[drels].findall("pr:Relationship", NS)]
    return charts


def test_feder_table_in_every_form(r):
    build(r)
    rep = r.ok("GET", REPORT)
    assert rep["periods"] == [{"from": f, "to": t} for f, t in PERIODS], rep["periods"]
    spent, people = rep["spent"], rep["people"]
    assert spent["total"] == [557, 1236, 514, 2307], spent["total"]
    assert spent["by_gender"] == {"F": [421, 939, 416, 1776], "M": [136, 297, 98, 531],
                                  "X": [0, 0, 0, 0], "unknown": [0, 0, 0, 0]}, spent["by_gender"]
    want_age = {b: with_total(SPENT_AGE[b]) for b in BRACKETS}
    want_age["unknown"] = [0, 0, 0, 0]
    assert spent["by_age_bracket"] == want_age, spent["by_age_bracket"]
    assert [b for b in want_age if b != "unknown"] == ["<26", "26-35", "36-45", "46-55", "56+"]
    assert spent["by_age_bracket"]["<26"] == [20, 31, 20, 71]
    assert spent["by_age_bracket"]["56+"] == [265, 500, 268, 1033]
    assert people["total"] == [74, 144, 41, 259], people["total"]
    assert people["by_gender"] == {"F": [55, 104, 28, 187], "M": [19, 40, 13, 72],
                                   "X": [0, 0, 0, 0], "unknown": [0, 0, 0, 0]}, people
    lv = rep["by_level"]
    assert {k: lv[k]["spent"] for k in ("1", "2", "3", "unknown")} == {
        "1": 787, "2": 1260, "3": 202, "unknown": 58}, lv
    assert {k: lv[k]["share"] for k in ("1", "2", "3")} == SHARES, lv
    assert lv["unknown"]["share"] is None
    assert sum(rep["by_service"][s][3] for s in rep["by_service"]) == 2307

    # The same table as CSV: the published figures, periods side by side.
    st, text, h = r.req("GET", REPORT, headers={"Accept": "text/csv"})
    assert st == 200 and h["content-type"].startswith("text/csv"), h
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))

    def block(path):
        i = rows.index([path])
        out = {}
        for row in rows[i + 2:]:
            if not row or row == [""]:
                break
            out[row[0]] = [int(c) for c in row[1::2]]
        return out, rows[i + 1]

    g, head = block("spent.by_gender")
    assert head == ["key", "2020-01-01..2021-12-31", "%", "2022-01-01..2022-12-31", "%",
                    "2023-01-01..2023-06-30", "%", "total", "%"], head
    assert g["F"] == [421, 939, 416, 1776] and g["M"] == [136, 297, 98, 531], g
    assert g["total"] == [557, 1236, 514, 2307], g
    a, _ = block("spent.by_age_bracket")
    assert all(a[b] == with_total(SPENT_AGE[b]) for b in BRACKETS), a
    pg, _ = block("people.by_gender")
    assert pg["F"] == [55, 104, 28, 187] and pg["M"] == [19, 40, 13, 72], pg
    assert pg["total"] == [74, 144, 41, 259], pg
    i = rows.index(["by_level"])
    shares = {row[0]: row[-1] for row in rows[i + 2:i + 5]}
    assert shares == {"1": "34,99", "2": "56,02", "3": "8,98"}, shares
    # Women's share of the passes, as the report writes it (72 % of people).
    j = rows.index(["spent.by_gender"])
    assert rows[j + 2][-1] == "76,98", rows[j + 2]

    # The printable page carries the same numbers.
    st, page, _ = r.req("GET", REPORT + "&format=html")
    assert st == 200 and "2\u202f307" in page and "34,99 %" in page, page[:500]

    # The workbook: one sheet per table, the periods side by side with the
    # total last, each count followed by its share, a chart beside each.
    st, data, h = r.req_raw("GET", REPORT, headers={"Accept": XLSX})
    assert st == 200 and h["content-type"] == XLSX, h
    assert h["content-disposition"] == 'attachment; filename="pass-numeriques.xlsx"', h
    st2, data2, h2 = r.req_raw("GET", REPORT.replace("/pass?", "/pass.xlsx?"))
    assert st2 == 200 and h2["content-type"] == XLSX and data2[:4] == b"PK\x03\x04"
    parts, strings, sheets = xlsx_book(data)
    assert list(sheets) == ["Tableau", "Pass par genre", "Pass par âge", "Personnes par genre",
                            "Personnes par âge", "Pass par niveau", "Pass par service"], sheets
    t = sheet_cells(parts, strings, sheets["Tableau"])
    assert (t["B5"], t["C5"], t["B7"], t["C7"]) == (
        "2020-01-01", "2021-12-31", "2023-01-01", "2023-06-30"), t

    def table(name):
        c = sheet_cells(parts, strings, sheets[name])
        assert c["B4"] == "du 01/01/2020 au 31/12/2021" and c["C4"] == "%", c
        assert c["H4"] == "Total" and c["I4"] == "%", c
        rows, y = {}, 5
        while "A%d" % y in c:
            rows[c["A%d" % y]] = [c.get("%s%d" % (col, y)) for col in "BCDEFGHI"]
            y += 1
        return rows

    g = table("Pass par genre")
    assert g["Femmes"][0::2] == [421, 939, 416, 1776], g
    assert g["Hommes"][0::2] == [136, 297, 98, 531], g
    assert g["Total"][0::2] == [557, 1236, 514, 2307], g
    assert abs(g["Femmes"][7] - 1776 / 2307) < 1e-12 and round(100 * g["Femmes"][7], 2) == 76.98
    a = table("Pass par âge")
    assert a["Moins de 26 ans"][0::2] == [20, 31, 20, 71], a
    assert a["56 ans et plus"][0::2] == [265, 500, 268, 1033], a
    assert a["36 à 45 ans"][0::2] == with_total(SPENT_AGE["36-45"]), a
    pg = table("Personnes par genre")
    assert pg["Femmes"][0::2] == [55, 104, 28, 187] and pg["Hommes"][0::2] == [19, 40, 13, 72]
    assert pg["Total"][0::2] == [74, 144, 41, 259], pg
    lv = table("Pass par niveau")
    levels = {k: row for k, row in lv.items() if k.startswith("Niveau")}
    assert [row[6] for row in levels.values()] == [787, 1260, 202], lv
    # The published shares: the exact fractions, shown with two decimals.
    assert [round(100 * row[7], 2) for row in levels.values()] == [34.99, 56.02, 8.98], lv
    assert lv["Sans niveau"][6] == 58 and lv["Sans niveau"][7] is None, lv
    assert lv["Total (niveau connu)"][6] == 2249, lv
    sv = table("Pass par service")
    assert sum(row[6] for k, row in sv.items() if k != "Total") == 2307, sv
    for name in list(sheets)[1:]:
        charts = sheet_charts(parts, sheets[name])
        assert len(charts) == 1, (name, charts)
        chart = parts[charts[0]]
        assert chart.find(".//c:barChart/c:barDir", NS).get("val") == "bar"
        # One series per period (columns B, D, F), not the total (H).
        refs = [f.text for f in chart.iter("{%s}f" % NS["c"])]
        assert any(x.endswith("!$B$5:$B$%d" % (4 + len(table(name)) - 1)) for x in refs), refs
        assert not any("$H$" in x for x in refs), refs


if __name__ == "__main__":
    run(globals())
