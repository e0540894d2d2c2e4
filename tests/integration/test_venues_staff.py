"""Venues and staff: CRUD, validation, roles, pagination, conflicts."""
import os
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def mk_session(r, **kw):
    start = int(time.time()) + 30 * 86400
    body = {"kind": "workshop", "title": "Smartphone", "starts_at": iso(start),
            "ends_at": iso(start + 7200), "capacity": 8}
    body.update(kw)
    return r.ok("POST", "/api/v1/sessions", body, expect=201)


def count(r, table):
    return r.db("SELECT count(*) FROM " + table)[0][0]


# --- venues -------------------------------------------------------------------

def test_venue_crud(r):
    v = r.ok("POST", "/api/v1/venues", {
        "name": "Centre social du Biollay", "address": "12 rue Pasteur",
        "commune": "Chambéry", "neighborhood": "Le Biollay", "aptic": True,
        "accessible": True}, expect=201)
    assert isinstance(v["id"], int)
    for k, want in (("name", "Centre social du Biollay"), ("address", "12 rue Pasteur"),
                    ("commune", "Chambéry"), ("neighborhood", "Le Biollay"),
                    ("aptic", True), ("accessible", True)):
        assert v[k] == want, (k, v)
    assert v["created_at"].endswith("Z") and v["updated_at"].endswith("Z"), v
    assert set(v) == {"id", "name", "address", "commune", "neighborhood", "aptic",
                      "accessible", "phone", "created_at", "updated_at"}, v
    assert v["phone"] is None, v
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"]) == v

    p = r.ok("PATCH", "/api/v1/venues/%d" % v["id"],
             {"name": "CS Biollay", "address": None, "aptic": False})
    assert p["name"] == "CS Biollay" and p["address"] is None and p["aptic"] is False, p
    assert p["commune"] == "Chambéry" and p["accessible"] is True, p
    assert r.db("SELECT name, address, aptic, accessible FROM venues WHERE id = ?",
                v["id"]) == [("CS Biollay", None, 0, 1)]

    lst = r.ok("GET", "/api/v1/venues")
    assert [x["id"] for x in lst["items"]] == [v["id"]] and lst["next"] is None, lst

    st, out, _ = r.req("DELETE", "/api/v1/venues/%d" % v["id"])
    assert st == 204, out
    assert count(r, "venues") == 0
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        st, out, hdrs = r.req(method, "/api/v1/venues/%d" % v["id"], body)
        assert st == 404, (method, st, out)
        problem(r, 404, out, hdrs)


def test_venue_phone(r):
    # Validated and stored in E.164 like a beneficiary's; null or blank clears it.
    v = r.ok("POST", "/api/v1/venues", {"name": "Médiathèque", "phone": "04 79 12 34 56"},
             expect=201)
    assert v["phone"] == "+33479123456", v
    for given, want in (("+33 4 79 12 34 57", "+33479123457"), (None, None),
                        ("0479123458", "+33479123458"), ("  ", None)):
        p = r.ok("PATCH", "/api/v1/venues/%d" % v["id"], {"phone": given})
        assert p["phone"] == want, (given, p)
    for bad in ("04 79", "appelez-nous", 479123456):
        st, out, hdrs = r.req("POST", "/api/v1/venues", {"name": "X", "phone": bad})
        assert st == 422, (bad, out)
        problem(r, 422, out, hdrs, "phone")
    assert count(r, "venues") == 1


def test_venue_defaults_and_trimming(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "  Médiathèque  ", "address": "",
                                        "commune": "   "}, expect=201)
    assert v["name"] == "Médiathèque", v
    assert v["address"] is None and v["commune"] is None and v["neighborhood"] is None, v
    assert v["aptic"] is False and v["accessible"] is False, v
    # An empty PATCH changes nothing.
    p = r.ok("PATCH", "/api/v1/venues/%d" % v["id"], {})
    assert {k: p[k] for k in p if k != "updated_at"} == \
        {k: v[k] for k in v if k != "updated_at"}, (p, v)
    # A bool set to null goes back to its default (false).
    r.ok("PATCH", "/api/v1/venues/%d" % v["id"], {"aptic": True})
    p = r.ok("PATCH", "/api/v1/venues/%d" % v["id"], {"aptic": None})
    assert p["aptic"] is False, p


def test_venue_validation_lists_every_field(r):
    before = count(r, "venues")
    st, out, hdrs = r.req("POST", "/api/v1/venues", {
        "name": "x" * 201, "address": 12, "commune": "c" * 101, "neighborhood": ["a"],
        "aptic": "yes", "accessible": 1, "city": "Chambéry", "id": 4,
        "created_at": "2026-01-01T00:00:00Z"})
    assert st == 422, out
    problem(r, 422, out, hdrs)
    fields = sorted(e["field"] for e in out["errors"])
    assert fields == sorted(["name", "address", "commune", "neighborhood", "aptic",
                             "accessible", "city", "id", "created_at"]), out
    unknown = {e["field"]: e["message"] for e in out["errors"]}
    assert unknown["city"] == "unknown field" and unknown["id"] == "unknown field", out

    for body in ({}, {"name": ""}, {"name": "   "}, {"name": None}, {"aptic": True}):
        st, out, hdrs = r.req("POST", "/api/v1/venues", body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field="name")
    assert count(r, "venues") == before

    # Exactly at the limits is fine.
    v = r.ok("POST", "/api/v1/venues", {"name": "n" * 200, "address": "a" * 300,
                                        "commune": "c" * 100, "neighborhood": "q" * 100},
             expect=201)
    assert len(v["name"]) == 200 and len(v["address"]) == 300, v


def test_venue_bad_bodies(r):
    st, out, hdrs = r.req("POST", "/api/v1/venues", raw="{not json",
                          headers={"Content-Type": "application/json"})
    assert st == 400, out
    problem(r, 400, out, hdrs)
    st, out, _ = r.req("POST", "/api/v1/venues", raw='["name"]',
                       headers={"Content-Type": "application/json"})
    assert st == 400, out
    st, out, _ = r.req("POST", "/api/v1/venues", raw='{"name": "x"}',
                       headers={"Content-Type": "text/plain"})
    assert st == 415, out
    assert count(r, "venues") == 0


def test_venue_patch_validation_keeps_row(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Maison", "commune": "Cognin"}, expect=201)
    row = r.db("SELECT * FROM venues")
    for body, field in (({"name": None}, "name"), ({"name": ""}, "name"),
                        ({"name": "  "}, "name"), ({"commune": "c" * 101}, "commune"),
                        ({"accessible": "no"}, "accessible"), ({"zip": "73000"}, "zip"),
                        ({"id": 9}, "id")):
        st, out, hdrs = r.req("PATCH", "/api/v1/venues/%d" % v["id"], body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field=field)
    # Several at once, and a valid field alongside is not written either.
    st, out, _ = r.req("PATCH", "/api/v1/venues/%d" % v["id"],
                       {"name": None, "aptic": 3, "address": "ok", "x": 1})
    assert st == 422, out
    assert sorted(e["field"] for e in out["errors"]) == ["aptic", "name", "x"], out
    assert r.db("SELECT * FROM venues") == row


def test_venue_delete_with_sessions_conflicts(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Espace numérique"}, expect=201)
    other = r.ok("POST", "/api/v1/venues", {"name": "Bibliothèque"}, expect=201)
    mk_session(r, venue_id=v["id"])
    st, out, hdrs = r.req("DELETE", "/api/v1/venues/%d" % v["id"])
    assert st == 409, out
    problem(r, 409, out, hdrs)
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"])["name"] == "Espace numérique"
    st, _, _ = r.req("DELETE", "/api/v1/venues/%d" % other["id"])
    assert st == 204


def test_venue_list_filter_and_pages(r):
    ids = []
    for i in range(7):
        commune = "Chambéry" if i % 2 == 0 else "Barby"
        ids.append(r.ok("POST", "/api/v1/venues", {"name": "Lieu %d" % i,
                                                   "commune": commune}, expect=201)["id"])
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/venues?limit=3" + ("&cursor=" + quote(cursor) if cursor else "")
        page = r.ok("GET", path)
        pages += 1
        assert len(page["items"]) <= 3, page
        seen += [x["id"] for x in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and len(page["items"]) == 3, page
    assert seen == ids and pages == 3, (seen, ids, pages)

    page = r.ok("GET", "/api/v1/venues?commune=" + quote("chambéry"))
    assert [x["id"] for x in page["items"]] == ids[0::2], page
    page = r.ok("GET", "/api/v1/venues?commune=Barby&limit=2")
    assert [x["id"] for x in page["items"]] == ids[1:5:2] and page["next"], page
    page = r.ok("GET", "/api/v1/venues?commune=Barby&limit=2&cursor=" + quote(page["next"]))
    assert [x["id"] for x in page["items"]] == [ids[5]] and page["next"] is None, page
    assert r.ok("GET", "/api/v1/venues?commune=Cognin")["items"] == []
    # Exactly a full last page: no cursor pointing at nothing.
    page = r.ok("GET", "/api/v1/venues?limit=7")
    assert len(page["items"]) == 7 and page["next"] is None, page

    for q, field in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=abc", "limit"),
                     ("cursor=garbage", "cursor")):
        st, out, hdrs = r.req("GET", "/api/v1/venues?" + q)
        assert st == 422, (q, out)
        problem(r, 422, out, hdrs, field=field)


def test_venue_roles(r):
    staff = r.ok("POST", "/api/v1/staff", {"name": "Léa", "role": "trainer"}, expect=201)
    r.tokens["trainer"] = r.token("trainer", staff=staff["id"])
    v = r.ok("POST", "/api/v1/venues", {"name": "CCAS"}, token="coordinator", expect=201)
    assert r.ok("GET", "/api/v1/venues", token="trainer")["items"][0]["id"] == v["id"]
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"], token="trainer")["name"] == "CCAS"
    for method, path, body in (("POST", "/api/v1/venues", {"name": "x"}),
                               ("PATCH", "/api/v1/venues/%d" % v["id"], {"name": "x"}),
                               ("DELETE", "/api/v1/venues/%d" % v["id"], None)):
        st, out, hdrs = r.req(method, path, body, token="trainer")
        assert st == 403, (method, out)
        problem(r, 403, out, hdrs)
    st, _, _ = r.req("GET", "/api/v1/venues", token=None)
    assert st == 401
    st, _, _ = r.req("GET", "/api/v1/venues", token="rls_not-a-real-token")
    assert st == 401
    assert r.db("SELECT name FROM venues") == [("CCAS",)]
    r.ok("PATCH", "/api/v1/venues/%d" % v["id"], {"aptic": True}, token="coordinator")
    r.ok("DELETE", "/api/v1/venues/%d" % v["id"], token="coordinator", expect=204)


def test_venue_bad_ids(r):
    for path in ("/api/v1/venues/999", "/api/v1/venues/0", "/api/v1/venues/abc",
                 "/api/v1/venues/-1", "/api/v1/venues/99999999999999999999999"):
        st, out, hdrs = r.req("GET", path)
        assert st == 404, (path, out)
        problem(r, 404, out, hdrs)


# --- staff --------------------------------------------------------------------

def test_staff_crud(r):
    s = r.ok("POST", "/api/v1/staff", {"name": "Amina Benali", "email": "amina@example.org",
                                       "phone": "06 12 34 56 78", "role": "trainer"},
             expect=201)
    assert s["phone"] == "+33612345678" and s["role"] == "trainer", s
    assert set(s) == {"id", "name", "email", "phone", "role", "created_at", "updated_at"}, s
    assert r.ok("GET", "/api/v1/staff/%d" % s["id"]) == s
    c = r.ok("POST", "/api/v1/staff", {"name": "Paul", "role": "coordinator",
                                       "phone": "+33 7 12 34 56 78"}, expect=201)
    assert c["email"] is None and c["phone"] == "+33712345678", c

    p = r.ok("PATCH", "/api/v1/staff/%d" % s["id"],
             {"role": "coordinator", "email": None, "phone": "0690 12 34 56"})
    assert p["role"] == "coordinator" and p["email"] is None, p
    assert p["phone"] == "+590690123456" and p["name"] == "Amina Benali", p
    assert r.db("SELECT role, email, phone FROM staff WHERE id = ?", s["id"]) == \
        [("coordinator", None, "+590690123456")]

    page = r.ok("GET", "/api/v1/staff")
    assert [x["id"] for x in page["items"]] == [s["id"], c["id"]], page
    r.ok("PATCH", "/api/v1/staff/%d" % c["id"], {"role": "trainer"})
    page = r.ok("GET", "/api/v1/staff?role=trainer")
    assert [x["id"] for x in page["items"]] == [c["id"]], page
    st, out, hdrs = r.req("GET", "/api/v1/staff?role=admin")
    assert st == 422, out
    problem(r, 422, out, hdrs, field="role")

    r.ok("DELETE", "/api/v1/staff/%d" % s["id"], expect=204)
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        st, out, hdrs = r.req(method, "/api/v1/staff/%d" % s["id"], body)
        assert st == 404, (method, out)
        problem(r, 404, out, hdrs)
    assert r.db("SELECT id FROM staff") == [(c["id"],)]


def test_staff_validation(r):
    st, out, hdrs = r.req("POST", "/api/v1/staff", {
        "email": "not an address", "phone": "12", "role": "admin", "team": "nord"})
    assert st == 422, out
    problem(r, 422, out, hdrs)
    errors = {e["field"]: e["message"] for e in out["errors"]}
    assert set(errors) == {"name", "email", "phone", "role", "team"}, out
    assert errors["phone"] and errors["team"] == "unknown field", out

    for email in ("a@b@c", "nobody", "a b@c.fr", "@example.org", "amina@",
                  "x" * 250 + "@a.fr"):
        st, out, hdrs = r.req("POST", "/api/v1/staff",
                              {"name": "A", "role": "trainer", "email": email})
        assert st == 422, (email, out)
        problem(r, 422, out, hdrs, field="email")
    for phone in ("12", "06 12 34", "abcdefghij", "+33 6 12 34 56 78 99 99"):
        st, out, hdrs = r.req("POST", "/api/v1/staff",
                              {"name": "A", "role": "trainer", "phone": phone})
        assert st == 422, (phone, out)
        problem(r, 422, out, hdrs, field="phone")
    for body, field in (({"name": "A"}, "role"), ({"role": "trainer"}, "name"),
                        ({"name": "A", "role": None}, "role"),
                        ({"name": "n" * 201, "role": "trainer"}, "name")):
        st, out, hdrs = r.req("POST", "/api/v1/staff", body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field=field)
    assert count(r, "staff") == 0

    s = r.ok("POST", "/api/v1/staff", {"name": "A", "role": "trainer"}, expect=201)
    row = r.db("SELECT * FROM staff")
    for body, field in (({"role": None}, "role"), ({"name": None}, "name"),
                        ({"role": "boss"}, "role"), ({"phone": "0"}, "phone"),
                        ({"email": "x"}, "email"), ({"id": 3}, "id")):
        st, out, hdrs = r.req("PATCH", "/api/v1/staff/%d" % s["id"], body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field=field)
    assert r.db("SELECT * FROM staff") == row


def test_staff_delete_with_sessions_conflicts(r):
    s = r.ok("POST", "/api/v1/staff", {"name": "Formatrice", "role": "trainer"}, expect=201)
    mk_session(r, trainer_id=s["id"])
    st, out, hdrs = r.req("DELETE", "/api/v1/staff/%d" % s["id"])
    assert st == 409, out
    problem(r, 409, out, hdrs)
    assert r.db("SELECT count(*) FROM staff WHERE id = ?", s["id"]) == [(1,)]


def test_staff_delete_unbinds_tokens(r):
    s = r.ok("POST", "/api/v1/staff", {"name": "Médiateur", "role": "trainer"}, expect=201)
    r.tokens["trainer"] = r.token("trainer", staff=s["id"])
    assert r.db("SELECT count(*) FROM api_tokens WHERE staff_id = ?", s["id"]) == [(1,)]
    r.ok("DELETE", "/api/v1/staff/%d" % s["id"], expect=204)
    assert r.db("SELECT count(*) FROM api_tokens WHERE staff_id IS NULL AND role = 'trainer'") \
        == [(1,)]
    # The token still works, now bound to nobody.
    assert r.ok("GET", "/api/v1/staff", token="trainer")["items"] == []


def test_staff_roles_and_pages(r):
    ids = [r.ok("POST", "/api/v1/staff", {"name": "S%d" % i, "role": "trainer"},
                token="coordinator", expect=201)["id"] for i in range(5)]
    r.tokens["trainer"] = r.token("trainer", staff=ids[0])
    seen, cursor = [], None
    while True:
        page = r.ok("GET", "/api/v1/staff?limit=2" + ("&cursor=" + quote(cursor) if cursor
                                                       else ""), token="trainer")
        seen += [x["id"] for x in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == ids, seen
    assert r.ok("GET", "/api/v1/staff/%d" % ids[1], token="trainer")["name"] == "S1"
    for method, path, body in (("POST", "/api/v1/staff", {"name": "x", "role": "trainer"}),
                               ("PATCH", "/api/v1/staff/%d" % ids[0], {"name": "x"}),
                               ("DELETE", "/api/v1/staff/%d" % ids[1], None)):
        st, out, hdrs = r.req(method, path, body, token="trainer")
        assert st == 403, (method, out)
        problem(r, 403, out, hdrs)
    assert count(r, "staff") == 5
    for path in ("/api/v1/staff/12345", "/api/v1/staff/x1"):
        st, out, _ = r.req("GET", path)
        assert st == 404, out


if __name__ == "__main__":
    run(globals())
