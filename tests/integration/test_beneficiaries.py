"""Beneficiaries: CRUD, phone normalisation, search, trainer visibility,
erasure and export."""
import calendar
import os
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

B = "/api/v1/beneficiaries"
FULL = {"first_name": "Élodie", "last_name": "Lefèvre", "phone": "06 12 34 56 78",
        "email": "elodie@example.org", "birth_year": 1961, "gender": "F",
        "commune": "Chambéry", "neighborhood": "Le Biollay",
        "prescriber": "CCAS de Chambéry", "external_id": "PIX-0042",
        "consent_sms": True, "consent_email": False}
FIELDS = {"id", "first_name", "last_name", "phone", "email", "birth_year", "gender",
          "commune", "neighborhood", "prescriber", "external_id", "consent_sms",
          "consent_email", "organisation_id", "audience", "residence", "created_at",
          "updated_at"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def person(r, first="Marie", last="Curie", **kw):
    body = {"first_name": first, "last_name": last}
    body.update(kw)
    return r.ok("POST", B, body, expect=201)


def mk_session(r, days=30, **kw):
    start = int(time.time()) + days * 86400
    body = {"kind": "workshop", "title": "Atelier smartphone", "starts_at": iso(start),
            "ends_at": iso(start + 7200), "capacity": 8}
    body.update(kw)
    return r.ok("POST", "/api/v1/sessions", body, expect=201)


def enroll(r, session_id, beneficiary_id):
    return r.ok("POST", "/api/v1/sessions/%d/enrollments" % session_id,
                {"beneficiary_id": beneficiary_id}, expect=201)


def count(r):
    return r.db("SELECT count(*) FROM beneficiaries")[0][0]


def ids(page):
    return [x["id"] for x in page["items"]]


# --- create, read, update -------------------------------------------------------

def test_create_full_and_read(r):
    b = r.ok("POST", B, FULL, expect=201)
    assert set(b) == FIELDS, b
    want = dict(FULL, phone="+33612345678")
    for k, v in want.items():
        assert b[k] == v, (k, b)
    assert b["created_at"].endswith("Z") and b["updated_at"].endswith("Z"), b
    assert r.ok("GET", "%s/%d" % (B, b["id"])) == b
    assert r.ok("GET", B) == {"items": [b], "next": None}
    # The search key is stored folded, ready for ?q=.
    assert r.db("SELECT search_key, erased_at FROM beneficiaries") == [("elodie lefevre", None)]


def test_create_minimal_defaults(r):
    b = person(r, "  Jean-Pierre ", " N’Diaye  ", email="", commune="  ")
    assert b["first_name"] == "Jean-Pierre" and b["last_name"] == "N’Diaye", b
    for k in ("phone", "email", "birth_year", "gender", "commune", "neighborhood",
              "prescriber", "external_id"):
        assert b[k] is None, (k, b)
    assert b["consent_sms"] is False and b["consent_email"] is False, b
    assert r.db("SELECT search_key FROM beneficiaries") == [("jean pierre n diaye",)]


def test_phone_normalisation(r):
    for raw, e164 in (("06 12 34 56 78", "+33612345678"), ("0612345678", "+33612345678"),
                      ("+33 6 12 34 56 78", "+33612345678"), ("06.12.34.56.78", "+33612345678"),
                      ("0033 6 12 34 56 78", "+33612345678"),
                      ("0692 12 34 56", "+262692123456"), ("0690 12 34 56", "+590690123456"),
                      ("+32 470 12 34 56", "+32470123456")):
        b = person(r, phone=raw)
        assert b["phone"] == e164, (raw, b)
        assert r.db("SELECT phone FROM beneficiaries WHERE id = ?", b["id"]) == [(e164,)]
    n = count(r)
    for raw in ("12", "06 12 34 56", "06 12 34 56 78 90", "06-ab-34-56-78", "+999 1234567"):
        st, out, hdrs = r.req("POST", B, {"first_name": "A", "last_name": "B", "phone": raw})
        assert st == 422, (raw, out)
        problem(r, 422, out, hdrs, field="phone")
        msg = [e["message"] for e in out["errors"] if e["field"] == "phone"][0]
        assert msg, out
    assert count(r) == n
    b = person(r, phone="0712345678")
    p = r.ok("PATCH", "%s/%d" % (B, b["id"]), {"phone": "+33 (0)6 98 76 54 32"})
    assert p["phone"] == "+33698765432", p
    p = r.ok("PATCH", "%s/%d" % (B, b["id"]), {"phone": None})
    assert p["phone"] is None, p
    st, out, _ = r.req("PATCH", "%s/%d" % (B, b["id"]), {"phone": "0"})
    assert st == 422 and out["errors"][0]["field"] == "phone", out


def test_validation_lists_every_field(r):
    next_year = time.gmtime().tm_year + 1
    st, out, hdrs = r.req("POST", B, {
        "last_name": "", "phone": "123", "email": "nope", "birth_year": next_year,
        "gender": "Z", "commune": "c" * 101, "prescriber": 5, "external_id": "e" * 65,
        "consent_sms": "yes", "consent_email": None, "age": 60, "id": 1,
        "erased_at": None})
    assert st == 422, out
    problem(r, 422, out, hdrs)
    fields = sorted(e["field"] for e in out["errors"])
    assert fields == sorted(["first_name", "last_name", "phone", "email", "birth_year",
                             "gender", "commune", "prescriber", "external_id",
                             "consent_sms", "age", "id", "erased_at"]), out
    for body, field in (({"birth_year": 1899}, "birth_year"),
                        ({"birth_year": 1980.5}, "birth_year"),
                        ({"birth_year": "1980"}, "birth_year"),
                        ({"first_name": "f" * 101}, "first_name"),
                        ({"last_name": "   "}, "last_name"),
                        ({"email": "a@b@c"}, "email"), ({"email": "a b@c.fr"}, "email"),
                        ({"neighborhood": ["x"]}, "neighborhood"),
                        ({"gender": "f"}, "gender")):
        full = {"first_name": "A", "last_name": "B"}
        full.update(body)
        st, out, hdrs = r.req("POST", B, full)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field=field)
    assert count(r) == 0
    b = person(r, birth_year=1900, gender="X", first_name="f" * 100, external_id="e" * 64)
    assert b["birth_year"] == 1900 and len(b["first_name"]) == 100, b
    b = person(r, birth_year=time.localtime().tm_year)
    assert b["birth_year"] == time.localtime().tm_year


def test_bad_bodies(r):
    for raw, ctype, status in (("{", "application/json", 400), ("[]", "application/json", 400),
                               ('"x"', "application/json", 400),
                               ('{"first_name": "A", "last_name": "B"}', "text/csv", 415)):
        st, out, hdrs = r.req("POST", B, raw=raw, headers={"Content-Type": ctype})
        assert st == status, (raw, out)
        problem(r, status, out, hdrs)
    assert count(r) == 0


def test_patch(r):
    b = r.ok("POST", B, FULL, expect=201)
    p = r.ok("PATCH", "%s/%d" % (B, b["id"]),
             {"last_name": "Dupont", "email": None, "prescriber": "", "consent_email": True,
              "birth_year": None})
    assert p["last_name"] == "Dupont" and p["first_name"] == "Élodie", p
    assert p["email"] is None and p["prescriber"] is None and p["birth_year"] is None, p
    assert p["consent_email"] is True and p["consent_sms"] is True, p
    assert p["phone"] == "+33612345678" and p["external_id"] == "PIX-0042", p
    assert r.db("SELECT search_key FROM beneficiaries") == [("elodie dupont",)]
    assert ids(r.ok("GET", B + "?q=dupont")) == [b["id"]]
    assert r.ok("GET", B + "?q=lefevre")["items"] == []

    row = r.db("SELECT * FROM beneficiaries")
    for body, field in (({"first_name": None}, "first_name"), ({"last_name": ""}, "last_name"),
                        ({"last_name": "  "}, "last_name"), ({"gender": "W"}, "gender"),
                        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
                        ({"consent_sms": 1}, "consent_sms")):
        st, out, hdrs = r.req("PATCH", "%s/%d" % (B, b["id"]), body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field=field)
    st, out, _ = r.req("PATCH", "%s/%d" % (B, b["id"]),
                       {"first_name": None, "birth_year": 3000, "commune": "ok", "x": 1})
    assert st == 422, out
    assert sorted(e["field"] for e in out["errors"]) == ["birth_year", "first_name", "x"], out
    assert r.db("SELECT * FROM beneficiaries") == row


def test_external_id_unique(r):
    a = person(r, "Ali", "Ben", external_id="EXT-1")
    b = person(r, "Bea", "Roy", external_id="EXT-2")
    n = count(r)
    st, out, hdrs = r.req("POST", B, {"first_name": "C", "last_name": "D",
                                      "external_id": "EXT-1"})
    assert st == 409, out
    problem(r, 409, out, hdrs)
    assert count(r) == n
    st, out, hdrs = r.req("PATCH", "%s/%d" % (B, b["id"]), {"external_id": " EXT-1 ",
                                                            "first_name": "Zoé"})
    assert st == 409, out
    problem(r, 409, out, hdrs)
    assert r.db("SELECT first_name, external_id FROM beneficiaries WHERE id = ?", b["id"]) == \
        [("Bea", "EXT-2")]
    # Keeping one's own id is no conflict; clearing it frees it.
    r.ok("PATCH", "%s/%d" % (B, a["id"]), {"external_id": "EXT-1", "last_name": "Benali"})
    r.ok("PATCH", "%s/%d" % (B, a["id"]), {"external_id": None})
    assert r.ok("PATCH", "%s/%d" % (B, b["id"]), {"external_id": "EXT-1"})["external_id"] == \
        "EXT-1"
    # An erased person's id is free again.
    r.ok("DELETE", "%s/%d" % (B, b["id"]), expect=204)
    assert person(r, "New", "One", external_id="EXT-1")["external_id"] == "EXT-1"


def test_not_found(r):
    b = person(r)
    for path in ("%s/999" % B, "%s/0" % B, "%s/abc" % B, "%s/999/export" % B):
        for method, body in (("GET", None), ("PATCH", {"first_name": "x"}), ("DELETE", None)):
            if path.endswith("export") and method != "GET":
                continue
            st, out, hdrs = r.req(method, path, body)
            assert st == 404, (method, path, st, out)
            problem(r, 404, out, hdrs)
    assert r.db("SELECT first_name FROM beneficiaries WHERE id = ?", b["id"]) == [("Marie",)]


# --- search and pages -----------------------------------------------------------

def test_search_by_name(r):
    e = person(r, "Élodie", "Lefèvre")
    j = person(r, "Jean-Pierre", "N'Diaye")
    m = person(r, "Marie", "Lefebvre")
    c = person(r, "FRANÇOISE", "Œillet")
    for q, want in (("elodie", [e]), ("ÉLODIE", [e]), ("lefèvre élodie", [e]),
                    ("LEFEVRE", [e]), ("lef", [e, m]), ("elo lef", [e]),
                    ("jean pierre", [j]), ("Jean-Pierre", [j]), ("diaye", [j]),
                    ("n’diaye", [j]), ("francoise oeillet", [c]), ("Françoise", [c]),
                    ("marie", [m]), ("zorro", []), ("elodie marie", []),
                    ("  marie   lefebvre  ", [m])):
        page = r.ok("GET", B + "?q=" + quote(q))
        assert ids(page) == [x["id"] for x in want], (q, page)
    # An empty q is no filter.
    assert len(r.ok("GET", B + "?q=")["items"]) == 4
    for q in ("a b c d e f g", "x" * 201):
        st, out, hdrs = r.req("GET", B + "?q=" + quote(q))
        assert st == 422, (q, out)
        problem(r, 422, out, hdrs, field="q")


def test_search_by_phone(r):
    a = person(r, "Ana", "Silva", phone="06 12 34 56 78")
    person(r, "Bob", "Martin", phone="07 12 34 56 78")
    g = person(r, "Gaëlle", "Ruiz", phone="0690 12 34 56")
    # Every usual spelling (issue 15): national, international, without the
    # 0 (as read off +33 6 12…), without the plus, 0033, with dots.
    for q, want in (("0612345678", [a]), ("06 12 34 56 78", [a]), ("+33612345678", [a]),
                    ("+33 6 12 34 56 78", [a]), ("612345678", [a]), ("6 12 34 56 78", [a]),
                    ("33612345678", [a]), ("0033612345678", [a]), ("06.12.34.56.78", [a]),
                    ("0690123456", [g]), ("690123456", [g]), ("0611111111", []),
                    ("611111111", [])):
        page = r.ok("GET", B + "?q=" + quote(q))
        assert ids(page) == [x["id"] for x in want], (q, page)
    # Digits that are no phone number are a name search (nobody).
    assert ids(r.ok("GET", B + "?q=12345")) == []
    # A "+" left unencoded in the URL arrives as a space.
    page = r.ok("GET", B + "?q=+33612345678")
    assert ids(page) == [a["id"]], page


def test_pagination(r):
    made = [person(r, "Paul%d" % i, "Durand")["id"] for i in range(7)]
    other = person(r, "Zoé", "Martin")["id"]
    seen, cursor, pages = [], None, 0
    while True:
        page = r.ok("GET", B + "?limit=2" + ("&cursor=" + quote(cursor) if cursor else ""))
        pages += 1
        seen += ids(page)
        cursor = page["next"]
        if cursor is None:
            break
        assert len(page["items"]) == 2, page
    assert seen == made + [other] and pages == 4, (seen, pages)
    seen, cursor = [], None
    while True:
        page = r.ok("GET", B + "?q=durand&limit=3" + ("&cursor=" + quote(cursor)
                                                       if cursor else ""))
        seen += ids(page)
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == made, seen
    for q, field in (("limit=0", "limit"), ("limit=1000", "limit"), ("cursor=abc", "cursor")):
        st, out, hdrs = r.req("GET", B + "?" + q)
        assert st == 422, out
        problem(r, 422, out, hdrs, field=field)


# --- trainers -------------------------------------------------------------------

def test_trainer_sees_only_names_of_own_people(r):
    t1 = r.ok("POST", "/api/v1/staff", {"name": "T1", "role": "trainer"}, expect=201)
    t2 = r.ok("POST", "/api/v1/staff", {"name": "T2", "role": "trainer"}, expect=201)
    r.tokens["t1"] = r.token("trainer", staff=t1["id"])
    r.tokens["nobody"] = r.token("trainer")
    s1 = mk_session(r, trainer_id=t1["id"])
    s2 = mk_session(r, trainer_id=t2["id"])
    past = mk_session(r, days=-30, trainer_id=t1["id"])
    a = r.ok("POST", B, FULL, expect=201)
    b = person(r, "Bruno", "Other", phone="0698765432")
    c = person(r, "Chloé", "Cancelled")
    d = person(r, "Dan", "Past")
    person(r, "Eve", "Nowhere")
    enroll(r, s1["id"], a["id"])
    enroll(r, s2["id"], b["id"])
    e = enroll(r, s1["id"], c["id"])
    r.ok("PATCH", "/api/v1/enrollments/%d" % e["id"], {"status": "cancelled"})
    enroll(r, past["id"], d["id"])

    page = r.ok("GET", B, token="t1")
    assert ids(page) == [a["id"], c["id"], d["id"]], page
    assert page["items"][0] == {"id": a["id"], "first_name": "Élodie",
                                "last_name": "Lefèvre"}, page
    for x in page["items"]:
        assert set(x) == {"id", "first_name", "last_name"}, x
    assert r.ok("GET", "%s/%d" % (B, a["id"]), token="t1") == \
        {"id": a["id"], "first_name": "Élodie", "last_name": "Lefèvre"}
    assert ids(r.ok("GET", B + "?q=elodie", token="t1")) == [a["id"]]
    assert ids(r.ok("GET", B + "?q=bruno", token="t1")) == []
    # No phone lookups for trainers, not even of their own people.
    assert r.ok("GET", B + "?q=0612345678", token="t1")["items"] == []
    assert ids(r.ok("GET", B + "?limit=1", token="t1")) == [a["id"]]

    for bid in (b["id"], 999):
        st, out, hdrs = r.req("GET", "%s/%d" % (B, bid), token="t1")
        assert st == 404, out
        problem(r, 404, out, hdrs)
    for method, path, body in (("GET", "%s/%d/export" % (B, a["id"]), None),
                               ("POST", B, {"first_name": "x", "last_name": "y"}),
                               ("PATCH", "%s/%d" % (B, a["id"]), {"first_name": "x"}),
                               ("DELETE", "%s/%d" % (B, a["id"]), None)):
        st, out, hdrs = r.req(method, path, body, token="t1")
        assert st == 403, (method, path, out)
        problem(r, 403, out, hdrs)
    assert r.db("SELECT first_name FROM beneficiaries WHERE id = ?", a["id"]) == [("Élodie",)]

    # A trainer token bound to nobody sees nobody.
    assert r.ok("GET", B, token="nobody")["items"] == []
    st, _, _ = r.req("GET", "%s/%d" % (B, a["id"]), token="nobody")
    assert st == 404
    # Coordinators see everyone, in full.
    page = r.ok("GET", B, token="coordinator")
    assert len(page["items"]) == 5 and set(page["items"][0]) == FIELDS, page


# --- erasure and export --------------------------------------------------------------

def test_erasure(r):
    full = r.ok("POST", B, FULL, expect=201)
    other = person(r, "Olga", "Waiting")
    future = mk_session(r, capacity=1)
    past = mk_session(r, days=-10)
    e_future = enroll(r, future["id"], full["id"])
    assert e_future["status"] == "booked", e_future
    e_wait = enroll(r, future["id"], other["id"])
    assert e_wait["status"] == "waitlisted", e_wait
    e_past = enroll(r, past["id"], full["id"])
    r.ok("PATCH", "/api/v1/enrollments/%d" % e_past["id"], {"status": "attended"})
    n = count(r)

    st, out, _ = r.req("DELETE", "%s/%d" % (B, full["id"]))
    assert st == 204, out
    assert count(r) == n   # the anonymous row stays for the counts
    row = r.db("SELECT first_name, last_name, phone, email, prescriber, external_id,"
               " search_key, consent_sms, consent_email, gender, birth_year, commune,"
               " neighborhood, erased_at IS NOT NULL FROM beneficiaries WHERE id = ?",
               full["id"])
    assert row == [(None, None, None, None, None, None, None, 0, 0, "F", 1961, "Chambéry",
                    "Le Biollay", 1)], row

    status = dict(r.db("SELECT id, status FROM enrollments"))
    assert status[e_future["id"]] == "cancelled", status
    assert status[e_past["id"]] == "attended", status
    assert status[e_wait["id"]] == "booked", status       # promoted from the waitlist
    kinds = [k for (k,) in r.db("SELECT kind FROM enrollment_events WHERE enrollment_id = ?"
                                " ORDER BY id", e_future["id"])]
    assert kinds[-1] == "cancelled", kinds
    kinds = [k for (k,) in r.db("SELECT kind FROM enrollment_events WHERE enrollment_id = ?"
                                " ORDER BY id", e_wait["id"])]
    assert "promoted" in kinds, kinds

    for method, path, body in (("GET", "%s/%d" % (B, full["id"]), None),
                               ("GET", "%s/%d/export" % (B, full["id"]), None),
                               ("PATCH", "%s/%d" % (B, full["id"]), {"first_name": "Back"}),
                               ("DELETE", "%s/%d" % (B, full["id"]), None)):
        st, out, hdrs = r.req(method, path, body)
        assert st == 404, (method, path, out)
        problem(r, 404, out, hdrs)
    assert ids(r.ok("GET", B)) == [other["id"]]
    assert r.ok("GET", B + "?q=0612345678")["items"] == []
    assert r.ok("GET", B + "?q=elodie")["items"] == []


def mk_training(r, trainer_id, capacity=1):
    start = int(time.time()) + 20 * 86400
    parts = [{"title": "Partie %d" % i, "starts_at": iso(start + i * 7 * 86400),
              "ends_at": iso(start + i * 7 * 86400 + 3 * 3600)} for i in range(2)]
    return r.ok("POST", "/api/v1/sessions", {"kind": "training", "title": "ESJA",
                                             "trainer_id": trainer_id, "capacity": capacity,
                                             "parts": parts}, expect=201)


def test_training_people_and_erasure(r):
    t = r.ok("POST", "/api/v1/staff", {"name": "Formatrice", "role": "trainer"}, expect=201)
    t2 = r.ok("POST", "/api/v1/staff", {"name": "Autre", "role": "trainer"}, expect=201)
    r.tokens["t"] = r.token("trainer", staff=t["id"])
    r.tokens["t2"] = r.token("trainer", staff=t2["id"])
    tr = mk_training(r, t["id"])
    f = person(r, "Fatou", "Diallo", phone="0612345678")
    g = person(r, "Gérard", "Waits")
    assert enroll(r, tr["id"], f["id"])["status"] == "booked"
    assert enroll(r, tr["id"], g["id"])["status"] == "waitlisted"
    # Enrolled in the training, and through it in every part.
    assert r.db("SELECT count(*) FROM enrollments WHERE beneficiary_id = ?", f["id"]) == [(3,)]
    assert ids(r.ok("GET", B, token="t")) == [f["id"], g["id"]]
    assert r.ok("GET", B, token="t2")["items"] == []

    r.ok("DELETE", "%s/%d" % (B, f["id"]), expect=204)
    assert r.db("SELECT DISTINCT status FROM enrollments WHERE beneficiary_id = ?",
                f["id"]) == [("cancelled",)]
    cancelled = r.db("SELECT count(*) FROM enrollment_events v JOIN enrollments e"
                     " ON e.id = v.enrollment_id WHERE e.beneficiary_id = ?"
                     " AND v.kind = 'cancelled'", f["id"])
    assert cancelled == [(3,)], cancelled
    # The freed place went to the waitlist, parts included.
    assert r.db("SELECT DISTINCT status FROM enrollments WHERE beneficiary_id = ?",
                g["id"]) == [("booked",)]
    assert ids(r.ok("GET", B, token="t")) == [g["id"]]


def test_erasure_without_enrollments(r):
    b = person(r, phone="0612345678")
    r.ok("DELETE", "%s/%d" % (B, b["id"]), expect=204)
    assert r.db("SELECT first_name, phone, erased_at IS NOT NULL FROM beneficiaries") == \
        [(None, None, 1)]
    assert r.ok("GET", B)["items"] == []


def test_export(r):
    b = r.ok("POST", B, FULL, expect=201)
    s = mk_session(r, title="Démarches en ligne")
    e = enroll(r, s["id"], b["id"])
    r.ok("PATCH", "/api/v1/enrollments/%d" % e["id"], {"status": "cancelled"})
    e2 = enroll(r, s["id"], b["id"])
    before = time.time()
    doc = r.ok("GET", "%s/%d/export" % (B, b["id"]))
    assert set(doc) == {"beneficiary", "enrollments", "accompaniments", "loans",
                        "exported_at"}, doc
    assert doc["accompaniments"] == [] and doc["loans"] == [], doc
    assert doc["beneficiary"] == r.ok("GET", "%s/%d" % (B, b["id"])), doc
    assert doc["exported_at"].endswith("Z"), doc
    exported = calendar.timegm(time.strptime(doc["exported_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(exported - before) < 60, doc
    got = doc["enrollments"]
    assert [x["id"] for x in got] == [e["id"], e2["id"]], got
    first = got[0]
    assert set(first) == {"id", "session_id", "session_title", "session_kind", "starts_at",
                          "status", "slot_start", "created_at", "events"}, first
    assert first["session_id"] == s["id"] and first["session_title"] == "Démarches en ligne"
    assert first["session_kind"] == "workshop" and first["starts_at"] == s["starts_at"], first
    assert first["status"] == "cancelled" and first["slot_start"] is None, first
    assert [ev["kind"] for ev in first["events"]] == ["booked", "cancelled"], first
    assert all(set(ev) == {"kind", "at"} and ev["at"].endswith("Z")
               for ev in first["events"]), first
    assert got[1]["status"] == "booked" and [ev["kind"] for ev in got[1]["events"]] == \
        ["booked"], got
    # A person with no enrollment exports an empty list; coordinators may export.
    lone = person(r)
    doc = r.ok("GET", "%s/%d/export" % (B, lone["id"]), token="coordinator")
    assert doc["enrollments"] == [] and doc["beneficiary"]["id"] == lone["id"], doc


if __name__ == "__main__":
    run(globals())
