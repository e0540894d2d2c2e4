"""The role table of the contract, row by row, for admin, coordinator, a
trainer bound to a staff member (--staff) and no or an unknown token."""
import datetime as dt

from harness import problem, run

NAMES = {"id", "first_name", "last_name"}
STAFF_ROLES = ("admin", "coordinator")
# These tests send a wrong token to every route on purpose: more than the
# default limits.auth_failures allows from one address in a minute.
EXTRA_CONFIG = "limits = {auth_failures = 10000}\n"


def when(days, hour=14, minutes=0):
    d = dt.datetime.now(dt.timezone.utc).replace(hour=hour, minute=minutes, second=0,
                                                 microsecond=0) + dt.timedelta(days=days)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot(r):
    """Every stored row except the tokens (whose last use changes on reads)."""
    tables = [t for (t,) in r.db("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    # Sorted here: the search's windows and the counts are WITHOUT ROWID.
    return {t: sorted(r.db("SELECT * FROM \"%s\"" % t), key=repr)
            for t in tables if t != "api_tokens"}


def world(r):
    """A venue, trainers A and B, a workshop of each, people enrolled in each
    (one of them cancelled), one enrolled nowhere, and tokens: "trainer" bound
    to A, "unbound" a trainer bound to nobody."""
    w = {"venue": r.ok("POST", "/api/v1/venues", {"name": "Centre social du Biollay",
                                                   "commune": "Chambéry"})}
    w["a"] = r.ok("POST", "/api/v1/staff", {"name": "Samir Belkacem", "role": "trainer"})
    w["b"] = r.ok("POST", "/api/v1/staff", {"name": "Nadia Chérif", "role": "trainer"})

    def workshop(title, trainer, days):
        return r.ok("POST", "/api/v1/sessions", {
            "kind": "workshop", "title": title, "theme": "smartphone", "level": 1,
            "venue_id": w["venue"]["id"], "trainer_id": trainer["id"],
            "starts_at": when(days), "ends_at": when(days, 16), "capacity": 8})
    w["own"] = workshop("Prendre en main son smartphone", w["a"], 3)
    w["other"] = workshop("Naviguer sur internet", w["b"], 4)

    def person(first, last, phone):
        return r.ok("POST", "/api/v1/beneficiaries", {
            "first_name": first, "last_name": last, "phone": phone,
            "email": "%s@example.org" % first.lower(), "birth_year": 1958, "gender": "F",
            "commune": "Chambéry", "neighborhood": "Le Biollay", "prescriber": "CCAS",
            "consent_sms": True})
    w["p_own"] = person("Monique", "Jacquier", "06 11 22 33 44")
    w["p_cancelled"] = person("Fatima", "Benali", "06 22 33 44 55")
    w["p_other"] = person("Josiane", "Dunand", "06 33 44 55 66")
    w["p_none"] = person("Colette", "Viallet", "06 44 55 66 77")

    def enroll(session, p):
        return r.ok("POST", "/api/v1/sessions/%d/enrollments" % session["id"],
                    {"beneficiary_id": p["id"]}, expect=201)
    w["e_own"] = enroll(w["own"], w["p_own"])
    w["e_cancelled"] = enroll(w["own"], w["p_cancelled"])
    r.ok("PATCH", "/api/v1/enrollments/%d" % w["e_cancelled"]["id"], {"status": "cancelled"})
    w["e_other"] = enroll(w["other"], w["p_other"])
    r.tokens["trainer"] = r.token("trainer", name="trainer A", staff=w["a"]["id"])
    r.tokens["unbound"] = r.token("trainer", name="trainer nobody")
    return w


def forbidden(r, method, path, body=None, token="trainer"):
    st, out, hdrs = r.req(method, path, body, token=token)
    assert st == 403, "%s %s as %s → %d %s" % (method, path, token, st, out)
    problem(r, 403, out, hdrs)


def test_no_or_unknown_token_is_401_everywhere(r):
    w = world(r)
    before = snapshot(r)
    paths = ["/api/v1/venues", "/api/v1/venues/%d" % w["venue"]["id"], "/api/v1/staff",
             "/api/v1/beneficiaries", "/api/v1/beneficiaries/%d" % w["p_own"]["id"],
             "/api/v1/beneficiaries/%d/export" % w["p_own"]["id"],
             "/api/v1/beneficiaries?q=0611223344",
             "/api/v1/sessions", "/api/v1/sessions/%d" % w["own"]["id"],
             "/api/v1/sessions/%d/cancel" % w["own"]["id"], "/api/v1/sessions.ics",
             "/api/v1/sessions/%d/enrollments" % w["own"]["id"],
             "/api/v1/enrollments/%d" % w["e_own"]["id"],
             "/api/v1/enrollments/%d/notifications" % w["e_own"]["id"],
             "/api/v1/sessions/%d/survey" % w["own"]["id"], "/api/v1/reports/activity",
             "/api/v1/imports/pix",
             # Unknown paths answer 401 too: without a token nobody learns
             # which routes exist.
             "/api/v1/no-such-thing", "/api/v2/venues", "/api/", "/api/v1/venues/abc",
             "/api/v1/venues/999999"]
    bad_auth = [None, "rls_" + "A" * 43, "not-a-token", "",
                {"Authorization": "Basic YWRtaW46YWRtaW4="},
                {"Authorization": "Bearer"}, {"Authorization": "Bearer  "},
                {"Authorization": r.tokens["admin"]}]           # scheme missing
    for path in paths:
        for method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
            for auth in bad_auth:
                headers = auth if isinstance(auth, dict) else None
                token = None if isinstance(auth, dict) else auth
                body = {"name": "x"} if method in ("POST", "PATCH", "PUT") else None
                st, out, hdrs = r.req(method, path, body, token=token, headers=headers)
                assert st == 401, "%s %s with %r → %d %s" % (method, path, auth, st, out)
                problem(r, 401, out, hdrs)
    assert snapshot(r) == before
    # The public routes need nothing.
    for path in ("/health", "/metrics"):
        st, out, _ = r.req("GET", path, token=None)
        assert st == 200, (path, st, out)
    # And a valid token on an unknown /api/ path is a plain 404.
    st, out, hdrs = r.req("GET", "/api/v1/no-such-thing")
    assert st == 404, (st, out)
    problem(r, 404, out, hdrs)


def test_every_role_reads_venues_sessions_staff(r):
    w = world(r)
    for role in ("admin", "coordinator", "trainer", "unbound"):
        for path in ("/api/v1/venues", "/api/v1/venues/%d" % w["venue"]["id"],
                     "/api/v1/sessions", "/api/v1/sessions/%d" % w["own"]["id"],
                     "/api/v1/sessions/%d" % w["other"]["id"],
                     "/api/v1/sessions?trainer_id=%d" % w["b"]["id"],
                     "/api/v1/staff", "/api/v1/staff/%d" % w["b"]["id"]):
            st, out, _ = r.req("GET", path, token=role)
            assert st == 200, (role, path, st, out)
        st, out, hdrs = r.req("GET", "/api/v1/sessions.ics", token=role)
        assert st == 200 and hdrs["content-type"].startswith("text/calendar"), (role, st)
        assert "BEGIN:VCALENDAR" in out
        st, out, _ = r.req("GET", "/api/v1/sessions", token=role)
        ids = {s["id"] for s in out["items"]}
        assert {w["own"]["id"], w["other"]["id"]} <= ids, (role, ids)


def test_admin_and_coordinator_write_venues_sessions_staff(r):
    w = world(r)
    for role in STAFF_ROLES:
        v = r.ok("POST", "/api/v1/venues", {"name": "Médiathèque " + role}, token=role,
                 expect=201)
        v = r.ok("PATCH", "/api/v1/venues/%d" % v["id"], {"aptic": True}, token=role,
                 expect=200)
        assert v["aptic"] is True
        s = r.ok("POST", "/api/v1/sessions", {
            "kind": "workshop", "title": "Atelier e-mail", "venue_id": v["id"],
            "starts_at": when(5), "ends_at": when(5, 16), "capacity": 8},
            token=role, expect=201)
        s = r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"title": "Atelier e-mail 2"},
                 token=role, expect=200)
        assert s["title"] == "Atelier e-mail 2"
        s = r.ok("POST", "/api/v1/sessions/%d/cancel" % s["id"], token=role, expect=200)
        assert s["status"] == "cancelled"
        st = r.ok("POST", "/api/v1/staff", {"name": "Julien Masson", "role": "trainer"},
                  token=role, expect=201)
        r.ok("PATCH", "/api/v1/staff/%d" % st["id"], {"email": "julien@example.org"},
             token=role, expect=200)
        r.ok("DELETE", "/api/v1/staff/%d" % st["id"], token=role, expect=204)
        v2 = r.ok("POST", "/api/v1/venues", {"name": "Local associatif"}, token=role,
                  expect=201)
        r.ok("DELETE", "/api/v1/venues/%d" % v2["id"], token=role, expect=204)
    assert w


def test_trainer_cannot_write_venues_sessions_staff(r):
    w = world(r)
    before = snapshot(r)
    for token in ("trainer", "unbound"):
        forbidden(r, "POST", "/api/v1/venues", {"name": "x"}, token)
        forbidden(r, "PATCH", "/api/v1/venues/%d" % w["venue"]["id"], {"name": "x"}, token)
        forbidden(r, "DELETE", "/api/v1/venues/%d" % w["venue"]["id"], token=token)
        forbidden(r, "POST", "/api/v1/sessions", {
            "kind": "workshop", "title": "x", "starts_at": when(5), "ends_at": when(5, 16)},
            token)
        # Not even their own session.
        for s in ("own", "other"):
            forbidden(r, "PATCH", "/api/v1/sessions/%d" % w[s]["id"], {"title": "x"}, token)
            forbidden(r, "POST", "/api/v1/sessions/%d/cancel" % w[s]["id"], token=token)
        forbidden(r, "POST", "/api/v1/staff", {"name": "x", "role": "trainer"}, token)
        forbidden(r, "PATCH", "/api/v1/staff/%d" % w["a"]["id"], {"name": "x"}, token)
        forbidden(r, "DELETE", "/api/v1/staff/%d" % w["b"]["id"], token=token)
    assert snapshot(r) == before


def test_admin_and_coordinator_own_personal_data(r):
    w = world(r)
    for role in STAFF_ROLES:
        out = r.ok("GET", "/api/v1/beneficiaries", token=role)
        ids = {b["id"] for b in out["items"]}
        assert {w[k]["id"] for k in ("p_own", "p_cancelled", "p_other", "p_none")} <= ids
        b = r.ok("GET", "/api/v1/beneficiaries/%d" % w["p_other"]["id"], token=role)
        assert b["phone"] == "+33633445566" and b["email"] == "josiane@example.org", b
        out = r.ok("GET", "/api/v1/beneficiaries?q=0633445566", token=role)
        assert [x["id"] for x in out["items"]] == [w["p_other"]["id"]], out
        exp = r.ok("GET", "/api/v1/beneficiaries/%d/export" % w["p_other"]["id"], token=role)
        assert exp["beneficiary"]["id"] == w["p_other"]["id"]
        p = r.ok("POST", "/api/v1/beneficiaries", {"first_name": "Aïcha", "last_name": role},
                 token=role, expect=201)
        r.ok("PATCH", "/api/v1/beneficiaries/%d" % p["id"], {"birth_year": 1950}, token=role)
        r.ok("DELETE", "/api/v1/beneficiaries/%d" % p["id"], token=role, expect=204)


def test_trainer_sees_only_names_of_own_people(r):
    w = world(r)
    before = snapshot(r)
    out = r.ok("GET", "/api/v1/beneficiaries", token="trainer")
    # Enrolled in their session, in any status (the cancelled one included).
    assert {b["id"] for b in out["items"]} == {w["p_own"]["id"], w["p_cancelled"]["id"]}, out
    for b in out["items"]:
        assert set(b) == NAMES, "a trainer sees names only: %r" % b
    b = r.ok("GET", "/api/v1/beneficiaries/%d" % w["p_own"]["id"], token="trainer")
    assert set(b) == NAMES and b["first_name"] == "Monique", b
    for other in ("p_other", "p_none"):
        st, out, hdrs = r.req("GET", "/api/v1/beneficiaries/%d" % w[other]["id"],
                              token="trainer")
        assert st == 404, (other, st, out)
        problem(r, 404, out, hdrs)
    out = r.ok("GET", "/api/v1/beneficiaries?q=Dunand", token="trainer")
    assert out["items"] == [], out
    out = r.ok("GET", "/api/v1/beneficiaries?q=Jacquier", token="trainer")
    assert [x["id"] for x in out["items"]] == [w["p_own"]["id"]], out
    assert all(set(x) == NAMES for x in out["items"])
    # Enrollment lists of their session carry names only as well.
    out = r.ok("GET", "/api/v1/sessions/%d/enrollments" % w["own"]["id"], token="trainer")
    assert len(out["items"]) == 2
    for e in out["items"]:
        assert set(e["beneficiary"]) == NAMES, e
    # Everything else about people is closed to them.
    p = w["p_own"]["id"]
    forbidden(r, "GET", "/api/v1/beneficiaries/%d/export" % p)
    forbidden(r, "POST", "/api/v1/beneficiaries", {"first_name": "A", "last_name": "B"})
    forbidden(r, "PATCH", "/api/v1/beneficiaries/%d" % p, {"first_name": "X"})
    forbidden(r, "DELETE", "/api/v1/beneficiaries/%d" % p)
    # A trainer bound to nobody has no own sessions, hence sees nobody.
    out = r.ok("GET", "/api/v1/beneficiaries", token="unbound")
    assert out["items"] == [], out
    st, _, _ = r.req("GET", "/api/v1/beneficiaries/%d" % p, token="unbound")
    assert st == 404
    assert snapshot(r) == before


def test_enrollments_create_and_cancel(r):
    w = world(r)
    for role in STAFF_ROLES:
        e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % w["other"]["id"],
                 {"beneficiary_id": w["p_none"]["id"]}, token=role, expect=201)
        assert e["status"] == "booked"
        e = r.ok("PATCH", "/api/v1/enrollments/%d" % e["id"], {"status": "cancelled"},
                 token=role, expect=200)
        assert e["status"] == "cancelled"
    before = snapshot(r)
    for token in ("trainer", "unbound"):
        for s in ("own", "other"):
            forbidden(r, "POST", "/api/v1/sessions/%d/enrollments" % w[s]["id"],
                      {"beneficiary_id": w["p_none"]["id"]}, token)
        # Not even in their own session.
        forbidden(r, "PATCH", "/api/v1/enrollments/%d" % w["e_own"]["id"],
                  {"status": "cancelled"}, token)
        forbidden(r, "PATCH", "/api/v1/enrollments/%d" % w["e_other"]["id"],
                  {"status": "cancelled"}, token)
    assert snapshot(r) == before


def test_attendance(r):
    w = world(r)
    # Attendance is marked once a session has begun: both have (their start
    # moved into the past in the database, as if the clock had run on).
    import os
    import sqlite3
    import time
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"), timeout=10)
    try:
        con.execute("UPDATE sessions SET starts_at = ? WHERE id IN (?, ?)",
                    (int(time.time()) - 60, w["own"]["id"], w["other"]["id"]))
        con.commit()
    finally:
        con.close()
    # Admin and coordinator mark anyone, and correct it.
    for role, status in (("admin", "attended"), ("coordinator", "absent")):
        e = r.ok("PATCH", "/api/v1/enrollments/%d" % w["e_other"]["id"], {"status": status},
                 token=role)
        assert e["status"] == status
    # The trainer marks their own session…
    e = r.ok("PATCH", "/api/v1/enrollments/%d" % w["e_own"]["id"], {"status": "attended"},
             token="trainer")
    assert e["status"] == "attended"
    e = r.ok("PATCH", "/api/v1/enrollments/%d" % w["e_own"]["id"], {"status": "excused"},
             token="trainer")
    assert e["status"] == "excused"
    assert r.db("SELECT status FROM enrollments WHERE id = ?", w["e_own"]["id"]) == [("excused",)]
    # …and not another's.
    before = snapshot(r)
    for status in ("attended", "absent", "excused"):
        forbidden(r, "PATCH", "/api/v1/enrollments/%d" % w["e_other"]["id"], {"status": status})
        forbidden(r, "PATCH", "/api/v1/enrollments/%d" % w["e_own"]["id"], {"status": status},
                  token="unbound")
    assert snapshot(r) == before
    # They read the enrollments of their own session only.
    out = r.ok("GET", "/api/v1/sessions/%d/enrollments" % w["own"]["id"], token="trainer")
    assert {e["id"] for e in out["items"]} == {w["e_own"]["id"], w["e_cancelled"]["id"]}
    forbidden(r, "GET", "/api/v1/sessions/%d/enrollments" % w["other"]["id"])
    r.ok("GET", "/api/v1/enrollments/%d" % w["e_own"]["id"], token="trainer")
    st, out, _ = r.req("GET", "/api/v1/enrollments/%d" % w["e_other"]["id"], token="trainer")
    assert st in (403, 404), (st, out)


if __name__ == "__main__":
    run(globals())
