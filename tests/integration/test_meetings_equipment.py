"""Meetings of the network (coordination time), devices and their loans."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

M = "/api/v1/meetings"
E = "/api/v1/equipment"
L = "/api/v1/loans"


def fields_of(out):
    return sorted(e["field"] for e in out.get("errors", []))


def table(r, name):
    return r.db("SELECT * FROM %s ORDER BY rowid" % name)


def orgs(r, *names):
    return [r.ok("POST", "/api/v1/organisations", {"name": n}, expect=201)["id"] for n in names]


# --- meetings -------------------------------------------------------------------------

def test_meeting_crud(r):
    ccas, caf = orgs(r, "CCAS de Chambéry", "CAF de la Savoie")
    m = r.ok("POST", M, {"kind": "steering_committee", "title": " Comité de pilotage ",
                         "date": "2026-03-05", "organisation_ids": [caf, ccas, caf],
                         "attendees": 14, "minutes": 120}, expect=201)
    assert set(m) == {"id", "kind", "title", "date", "organisation_ids", "attendees",
                      "minutes", "created_at", "updated_at"}, m
    assert (m["kind"], m["title"], m["date"], m["attendees"], m["minutes"]) == \
        ("steering_committee", "Comité de pilotage", "2026-03-05", 14, 120), m
    assert m["organisation_ids"] == sorted([ccas, caf]), m
    assert r.ok("GET", "%s/%d" % (M, m["id"])) == m
    p = r.ok("PATCH", "%s/%d" % (M, m["id"]), {"organisation_ids": [ccas], "minutes": None,
                                               "date": "2026-03-06"})
    assert (p["organisation_ids"], p["minutes"], p["date"], p["attendees"]) == \
        ([ccas], None, "2026-03-06", 14), p
    bare = r.ok("POST", M, {"kind": "other", "title": "Point", "date": "2026-01-02"},
                expect=201)
    # A time is taken as its local date (Paris: 23:30 UTC is the next day).
    late = r.ok("POST", M, {"kind": "other", "title": "Tard", "date": "2026-01-02T23:30:00Z"},
                expect=201)
    assert late["date"] == "2026-01-03", late
    r.ok("DELETE", "%s/%d" % (M, late["id"]), expect=204)
    assert bare["organisation_ids"] == [] and bare["attendees"] is None, bare
    r.ok("DELETE", "%s/%d" % (M, bare["id"]), expect=204)
    for method, body in (("GET", None), ("PATCH", {}), ("DELETE", None)):
        st, out, hdrs = r.req(method, "%s/%d" % (M, bare["id"]), body)
        assert st == 404, (method, out)
        problem(r, 404, out, hdrs)
    assert r.db("SELECT count(*) FROM meeting_organisations")[0][0] == 1


def test_meeting_bad_fields(r):
    (org,) = orgs(r, "CCAS")
    m = r.ok("POST", M, {"kind": "network", "title": "Réseau", "date": "2026-02-01",
                         "organisation_ids": [org]}, expect=201)
    before = (table(r, "meetings"), table(r, "meeting_organisations"))
    cases = [
        ({}, ["date", "kind", "title"]),
        ({"kind": "copil", "title": " ", "date": "2026-02-30", "organisation_ids": [999],
          "attendees": -1, "minutes": 0, "room": "B"},
         ["attendees", "date", "kind", "minutes", "organisation_ids", "room", "title"]),
        ({"kind": "other", "title": "x", "date": "05/03/2026"}, ["date"]),
        ({"kind": "other", "title": "x", "date": "2026-03-05", "organisation_ids": "1"},
         ["organisation_ids"]),
        ({"kind": "other", "title": "x", "date": "2026-03-05", "organisation_ids": [1.5]},
         ["organisation_ids"]),
        ({"kind": "other", "title": "x" * 201, "date": "2026-03-05", "minutes": 1441},
         ["minutes", "title"]),
    ]
    for body, want in cases:
        st, out, hdrs = r.req("POST", M, body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs)
        assert fields_of(out) == want, (body, out)
    for body, want in (({"kind": None, "title": None, "date": None}, ["date", "kind", "title"]),
                       ({"organisation_ids": [org, 999]}, ["organisation_ids"])):
        st, out, _ = r.req("PATCH", "%s/%d" % (M, m["id"]), body)
        assert st == 422 and fields_of(out) == want, (body, out)
    assert (table(r, "meetings"), table(r, "meeting_organisations")) == before


def test_meeting_list_and_roles(r):
    ccas, caf = orgs(r, "CCAS", "CAF")
    made = []
    for date, kind, org in (("2026-03-10", "working_group", ccas), ("2026-01-15", "network", caf),
                            ("2026-03-10", "other", caf), ("2025-12-31", "network", ccas),
                            ("2026-02-01", "professional_training", ccas)):
        made.append(r.ok("POST", M, {"kind": kind, "title": kind, "date": date,
                                     "organisation_ids": [org]}, expect=201))
    # By date, then id; paged.
    order = [made[i]["id"] for i in (3, 1, 4, 0, 2)]
    got, cursor = [], None
    while True:
        page = r.ok("GET", M + "?limit=2" + ("&cursor=" + cursor if cursor else ""))
        got += [x["id"] for x in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert got == order, (got, order)
    ids = lambda q: [x["id"] for x in r.ok("GET", M + "?" + q)["items"]]  # noqa: E731
    assert ids("from=2026-01-01&to=2026-03-10") == [made[i]["id"] for i in (1, 4, 0, 2)]
    assert ids("from=2026-02-01&to=2026-02-01") == [made[4]["id"]]
    assert ids("to=2026-01-15T23:30:00%2B01:00") == [made[i]["id"] for i in (3, 1)]
    assert ids("kind=network") == [made[i]["id"] for i in (3, 1)]
    assert ids("organisation_id=%d" % caf) == [made[i]["id"] for i in (1, 2)]
    for q in ("from=demain", "kind=copil", "organisation_id=x", "limit=0"):
        st, out, _ = r.req("GET", M + "?" + q)
        assert st == 422, (q, out)
    # Coordination time is the coordinators'.
    staff = r.ok("POST", "/api/v1/staff", {"name": "T", "role": "trainer"}, expect=201)
    r.tokens["trainer"] = r.token("trainer", staff=staff["id"])
    for method, path, body in (("GET", M, None), ("GET", "%s/%d" % (M, made[0]["id"]), None),
                               ("POST", M, {"kind": "other", "title": "x", "date": "2026-01-01"}),
                               ("PATCH", "%s/%d" % (M, made[0]["id"]), {}),
                               ("DELETE", "%s/%d" % (M, made[0]["id"]), None)):
        st, _, _ = r.req(method, path, body, token="trainer")
        assert st == 403, (method, path)
    assert len(r.ok("GET", M, token="coordinator")["items"]) == 5


# --- equipment and loans ------------------------------------------------------------------

def test_device_crud_and_roles(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Espace numérique"}, expect=201)["id"]
    d = r.ok("POST", E, {"kind": "computer", "label": " Portable 1 ", "venue_id": v}, expect=201)
    assert set(d) == {"id", "kind", "label", "venue_id", "on_loan", "created_at",
                      "updated_at"}, d
    assert (d["kind"], d["label"], d["venue_id"], d["on_loan"]) == \
        ("computer", "Portable 1", v, None), d
    assert r.ok("GET", "%s/%d" % (E, d["id"])) == d
    p = r.ok("PATCH", "%s/%d" % (E, d["id"]), {"venue_id": None, "label": "Portable 01"})
    assert (p["venue_id"], p["label"], p["kind"]) == (None, "Portable 01", "computer"), p
    before = table(r, "equipment")
    for body, want in (({}, ["kind", "label"]),
                       ({"kind": "phone", "label": "", "venue_id": 999, "serial": "x"},
                        ["kind", "label", "serial", "venue_id"])):
        st, out, hdrs = r.req("POST", E, body)
        assert st == 422 and fields_of(out) == want, (body, out)
        problem(r, 422, out, hdrs)
    st, out, _ = r.req("PATCH", "%s/%d" % (E, d["id"]), {"kind": None, "venue_id": 999})
    assert st == 422 and fields_of(out) == ["kind", "venue_id"], out
    assert table(r, "equipment") == before
    staff = r.ok("POST", "/api/v1/staff", {"name": "T", "role": "trainer"}, expect=201)
    r.tokens["trainer"] = r.token("trainer", staff=staff["id"])
    assert r.ok("GET", E, token="trainer")["items"] == [p]
    for method, path, body in (("POST", E, {"kind": "tablet", "label": "x"}),
                               ("PATCH", "%s/%d" % (E, d["id"]), {}),
                               ("DELETE", "%s/%d" % (E, d["id"]), None),
                               ("GET", L, None),
                               ("POST", "%s/%d/loans" % (E, d["id"]), {"beneficiary_id": 1})):
        st, _, _ = r.req(method, path, body, token="trainer")
        assert st == 403, (method, path)
    # A deleted venue leaves its devices, unplaced.
    d2 = r.ok("POST", E, {"kind": "tablet", "label": "Tablette", "venue_id": v}, expect=201)
    r.ok("DELETE", "/api/v1/venues/%d" % v, expect=204)
    assert r.ok("GET", "%s/%d" % (E, d2["id"]))["venue_id"] is None
    r.ok("DELETE", "%s/%d" % (E, d2["id"]), expect=204)
    st, _, _ = r.req("GET", "%s/%d" % (E, d2["id"]))
    assert st == 404


def test_loans(r):
    dev = r.ok("POST", E, {"kind": "tablet", "label": "Tablette 3"}, expect=201)["id"]
    other = r.ok("POST", E, {"kind": "computer", "label": "Portable 2"}, expect=201)["id"]
    ben = r.ok("POST", "/api/v1/beneficiaries", {"first_name": "Fatima", "last_name": "Benali"},
               expect=201)["id"]
    loan = r.ok("POST", "%s/%d/loans" % (E, dev), {"beneficiary_id": ben, "from": "2026-03-02",
                                                   "due": "2026-03-30"}, expect=201)
    assert set(loan) == {"id", "equipment_id", "beneficiary_id", "from", "due", "returned_on",
                         "open", "created_at", "updated_at"}, loan
    assert (loan["equipment_id"], loan["beneficiary_id"], loan["from"], loan["due"],
            loan["returned_on"], loan["open"]) == (dev, ben, "2026-03-02", "2026-03-30", None,
                                                    True), loan
    assert r.ok("GET", "%s/%d" % (E, dev))["on_loan"] == loan["id"]
    assert [d["id"] for d in r.ok("GET", E + "?available=1")["items"]] == [other]
    assert [d["id"] for d in r.ok("GET", E + "?available=0")["items"]] == [dev]
    # Lent and not returned: 409, nothing stored.
    before = table(r, "loans")
    st, out, hdrs = r.req("POST", "%s/%d/loans" % (E, dev), {"beneficiary_id": ben})
    assert st == 409, out
    problem(r, 409, out, hdrs)
    # Bad fields, each named.
    for body, want in (({}, ["beneficiary_id"]),
                       ({"beneficiary_id": 999, "from": "2026-02-30", "due": "x", "y": 1},
                        ["beneficiary_id", "due", "from", "y"]),
                       ({"beneficiary_id": ben, "from": "2026-03-10", "due": "2026-03-01"},
                        ["due"])):
        st, out, _ = r.req("POST", "%s/%d/loans" % (E, other), body)
        assert st == 422 and fields_of(out) == want, (body, out)
    st, _, _ = r.req("POST", "%s/999/loans" % E, {"beneficiary_id": ben})
    assert st == 404
    assert table(r, "loans") == before
    # A device with loans cannot be deleted.
    st, _, _ = r.req("DELETE", "%s/%d" % (E, dev))
    assert st == 409
    # Returned: lendable again.
    for body, want in (({"returned_on": "2026-03-01"}, ["returned_on"]),
                       ({"returned_on": "hier"}, ["returned_on"]),
                       ({"from": None}, ["from"]), ({"open": False}, ["open"])):
        st, out, _ = r.req("PATCH", "%s/%d" % (L, loan["id"]), body)
        assert st == 422 and fields_of(out) == want, (body, out)
    back = r.ok("PATCH", "%s/%d" % (L, loan["id"]), {"returned_on": "2026-03-20"})
    assert (back["returned_on"], back["open"], back["due"]) == ("2026-03-20", False,
                                                               "2026-03-30"), back
    assert r.ok("GET", "%s/%d" % (E, dev))["on_loan"] is None
    again = r.ok("POST", "%s/%d/loans" % (E, dev), {"beneficiary_id": ben,
                                                    "from": "2026-04-01T09:00:00+02:00"},
                 expect=201)
    assert again["due"] is None and again["from"] == "2026-04-01", again
    # Reopening the first while the second is open: 409.
    st, out, _ = r.req("PATCH", "%s/%d" % (L, loan["id"]), {"returned_on": None})
    assert st == 409, out
    assert r.ok("GET", "%s/%d" % (L, loan["id"]))["returned_on"] == "2026-03-20"
    # Lists.
    assert [x["id"] for x in r.ok("GET", L + "?open=1")["items"]] == [again["id"]]
    assert [x["id"] for x in r.ok("GET", L + "?open=0")["items"]] == [loan["id"]]
    assert [x["id"] for x in r.ok("GET", "%s/%d/loans" % (E, dev))["items"]] == \
        [loan["id"], again["id"]]
    assert r.ok("GET", "%s/%d/loans" % (E, other))["items"] == []
    assert [x["id"] for x in r.ok("GET", L + "?beneficiary_id=%d" % ben)["items"]] == \
        [loan["id"], again["id"]]
    for q in ("open=yes", "beneficiary_id=x", "equipment_id=0"):
        st, _, _ = r.req("GET", L + "?" + q)
        assert st == 422, q
    st, _, _ = r.req("GET", "%s/999/loans" % E)
    assert st == 404
    # The person's export lists them; a loan recorded by mistake goes.
    doc = r.ok("GET", "/api/v1/beneficiaries/%d/export" % ben)
    assert [x["id"] for x in doc["loans"]] == [loan["id"], again["id"]], doc
    r.ok("DELETE", "%s/%d" % (L, again["id"]), expect=204)
    st, _, _ = r.req("GET", "%s/%d" % (L, again["id"]))
    assert st == 404
    # An erased person's loans stay (the device went out).
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % ben, expect=204)
    assert r.ok("GET", "%s/%d" % (L, loan["id"]))["beneficiary_id"] == ben
    st, out, _ = r.req("POST", "%s/%d/loans" % (E, dev), {"beneficiary_id": ben})
    assert st == 422 and fields_of(out) == ["beneficiary_id"], out


if __name__ == "__main__":
    run(globals())
