"""Enrollments: capacity and waitlist, promotion, permanence slots and walk-ins,
training fan-out, attendance transitions, trainer access, and failed requests
that leave the database as it was."""
import os
import sys
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

S = "/api/v1/sessions"
E = "/api/v1/enrollments"
TABLES = ("sessions", "enrollments", "enrollment_events", "session_changes")


def person(r, first="Awa", last="Diallo"):
    return r.ok("POST", "/api/v1/beneficiaries", {"first_name": first, "last_name": last},
                expect=201)["id"]


def staff(r, name="Camille"):
    return r.ok("POST", "/api/v1/staff", {"name": name, "role": "trainer"}, expect=201)["id"]


def workshop(r, capacity=2, **kw):
    body = {"kind": "workshop", "title": "Smartphone", "capacity": capacity,
            "starts_at": "2026-06-02T14:00:00+02:00", "ends_at": "2026-06-02T16:00:00+02:00"}
    body.update(kw)
    return r.ok("POST", S, body, expect=201)


def permanence(r, **kw):
    body = {"kind": "permanence", "title": "Démarches", "slot_minutes": 30,
            "starts_at": "2026-06-04T09:00:00+02:00", "ends_at": "2026-06-04T12:00:00+02:00"}
    body.update(kw)
    return r.ok("POST", S, body, expect=201)


def training(r, capacity=1, **kw):
    body = {"kind": "training", "title": "ESJA", "capacity": capacity, "parts": [
        {"title": "PIX", "starts_at": "2026-03-10T09:00:00+01:00",
         "ends_at": "2026-03-10T09:45:00+01:00"},
        {"title": "Atelier", "starts_at": "2026-03-17T09:00:00+01:00",
         "ends_at": "2026-03-17T12:30:00+01:00"}]}
    body.update(kw)
    return r.ok("POST", S, body, expect=201)


def enroll(r, sid, bid, **kw):
    body = {"beneficiary_id": bid}
    body.update(kw)
    return r.ok("POST", "%s/%d/enrollments" % (S, sid), body, expect=201)


def setst(r, eid, status, token="admin", expect=200):
    return r.ok("PATCH", "%s/%d" % (E, eid), {"status": status}, token=token, expect=expect)


def events_of(r, eid):
    return [k for (k,) in r.db("SELECT kind FROM enrollment_events WHERE enrollment_id = ?"
                               " ORDER BY id", eid)]


def snapshot(r):
    return {t: r.db("SELECT * FROM %s ORDER BY id" % t) for t in TABLES}


def fails(r, method, path, body, status, field=None, token="admin"):
    """Asserts a problem answer and that the database did not change."""
    before = snapshot(r)
    st, out, hdrs = r.req(method, path, body, token=token)
    assert st == status, (method, path, body, st, out)
    problem(r, status, out, hdrs, field)
    assert snapshot(r) == before, "a failed %s %s changed the database" % (method, path)
    return out


# --- capacity and waitlist -------------------------------------------------------

def test_waitlist_and_promotion(r):
    w = workshop(r, capacity=2)
    people = [person(r, "P%d" % i) for i in range(4)]
    es = [enroll(r, w["id"], b) for b in people]
    assert [e["status"] for e in es] == ["booked", "booked", "waitlisted", "waitlisted"], es
    e = es[0]
    assert set(e) == {"id", "session_id", "beneficiary_id", "status", "slot_start", "parent_id",
                      "created_at", "updated_at", "beneficiary"}, e
    assert e["beneficiary"] == {"id": people[0], "first_name": "P0", "last_name": "Diallo"}, e
    assert e["slot_start"] is None and e["parent_id"] is None and e["session_id"] == w["id"], e
    s = r.ok("GET", "%s/%d" % (S, w["id"]))
    assert (s["booked"], s["waitlisted"], s["remaining"]) == (2, 2, 0), s
    assert events_of(r, es[0]["id"]) == ["booked"] and events_of(r, es[2]["id"]) == ["waitlisted"]
    # A place frees up: the first waitlisted person gets it, and is told.
    c = setst(r, es[0]["id"], "cancelled")
    assert c["status"] == "cancelled", c
    assert r.ok("GET", "%s/%d" % (E, es[2]["id"]))["status"] == "booked"
    assert r.ok("GET", "%s/%d" % (E, es[3]["id"]))["status"] == "waitlisted"
    assert events_of(r, es[2]["id"]) == ["waitlisted", "promoted"]
    assert events_of(r, es[0]["id"]) == ["booked", "cancelled"]
    # Leaving the waitlist frees no place: nobody is promoted.
    setst(r, es[3]["id"], "cancelled")
    s = r.ok("GET", "%s/%d" % (S, w["id"]))
    assert (s["booked"], s["waitlisted"], s["remaining"]) == (2, 0, 0), s
    # Attendance keeps the place; cancelling twice is a conflict.
    setst(r, es[1]["id"], "attended")
    assert r.ok("GET", "%s/%d" % (S, w["id"]))["booked"] == 2
    fails(r, "PATCH", "%s/%d" % (E, es[0]["id"]), {"status": "cancelled"}, 409)
    # Capacity 0: everyone waits.
    z = workshop(r, capacity=0)
    assert enroll(r, z["id"], people[0])["status"] == "waitlisted"
    # No capacity: no limit.
    u = workshop(r, capacity=None)
    assert all(enroll(r, u["id"], b)["status"] == "booked" for b in people)


def test_enroll_twice(r):
    w = workshop(r)
    b = person(r)
    e = enroll(r, w["id"], b)
    fails(r, "POST", "%s/%d/enrollments" % (S, w["id"]), {"beneficiary_id": b}, 409)
    # Waitlisted counts as enrolled too.
    full = workshop(r, capacity=0)
    enroll(r, full["id"], b)
    fails(r, "POST", "%s/%d/enrollments" % (S, full["id"]), {"beneficiary_id": b}, 409)
    # Once cancelled, the person may enroll again.
    setst(r, e["id"], "cancelled")
    again = enroll(r, w["id"], b)
    assert again["status"] == "booked" and again["id"] != e["id"], again


def test_enroll_errors(r):
    w = workshop(r)
    path = "%s/%d/enrollments" % (S, w["id"])
    b = person(r)
    st, out, hdrs = r.req("POST", S + "/999/enrollments", {"beneficiary_id": b})
    assert st == 404, out
    problem(r, 404, out, hdrs)
    fails(r, "POST", path, {}, 422, "beneficiary_id")
    fails(r, "POST", path, {"beneficiary_id": 999}, 422, "beneficiary_id")
    fails(r, "POST", path, {"beneficiary_id": "1"}, 422, "beneficiary_id")
    out = fails(r, "POST", path, {"beneficiary_id": b, "status": "booked", "slot_start": 3}, 422)
    assert {"status", "slot_start"} <= {e["field"] for e in out["errors"]}, out
    fails(r, "POST", path, {"beneficiary_id": b, "slot_start": "2026-06-02T14:00:00+02:00"},
          422, "slot_start")
    # An erased person cannot be enrolled.
    gone = person(r, "Gone")
    st, out, _ = r.req("DELETE", "/api/v1/beneficiaries/%d" % gone)
    assert st == 204, out
    fails(r, "POST", path, {"beneficiary_id": gone}, 422, "beneficiary_id")
    # A cancelled session takes nobody.
    r.ok("POST", "%s/%d/cancel" % (S, w["id"]))
    fails(r, "POST", path, {"beneficiary_id": b}, 409)
    st, out, _ = r.req("POST", path, raw="nope", headers={"Content-Type": "application/json"})
    assert st == 400, out
    st, out, _ = r.req("POST", path, raw="beneficiary_id=1",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 415, out
    for method, p, body in (("GET", E + "/999", None), ("PATCH", E + "/999", {"status": "absent"}),
                            ("GET", S + "/999/enrollments", None), ("GET", E + "/x", None)):
        st, out, hdrs = r.req(method, p, body)
        assert st == 404, (method, p, st, out)


# --- permanence slots --------------------------------------------------------------

def test_permanence_slots_and_walk_ins(r):
    p = permanence(r)   # 09:00-12:00 in 30 min slots: capacity 6
    path = "%s/%d/enrollments" % (S, p["id"])
    people = [person(r, "P%d" % i) for i in range(9)]
    a = enroll(r, p["id"], people[0], slot_start="2026-06-04T09:30:00+02:00")
    assert a["status"] == "booked" and a["slot_start"] == "2026-06-04T07:30:00Z", a
    # Taken, off the grid, outside the window, or a slot cut by the end: 409.
    for slot in ("2026-06-04T07:30:00Z", "2026-06-04T09:15:00+02:00",
                 "2026-06-04T12:00:00+02:00", "2026-06-04T08:30:00+02:00",
                 "2026-06-05T09:30:00+02:00"):
        fails(r, "POST", path, {"beneficiary_id": people[1], "slot_start": slot}, 409)
    s = r.ok("GET", "%s/%d" % (S, p["id"]))
    assert [x["free"] for x in s["slots"]] == [True, False, True, True, True, True], s["slots"]
    # A walk-in has no slot and takes a place of the capacity.
    w = enroll(r, p["id"], people[1])
    assert w["status"] == "booked" and w["slot_start"] is None, w
    for i, hhmm in enumerate(("09:00", "10:00", "10:30", "11:00")):
        enroll(r, p["id"], people[2 + i], slot_start="2026-06-04T%s:00+02:00" % hhmm)
    s = r.ok("GET", "%s/%d" % (S, p["id"]))
    assert (s["booked"], s["remaining"]) == (6, 0), s
    assert [x["free"] for x in s["slots"]] == [False] * 5 + [True], s["slots"]
    # Full: a free slot is waitlisted, and gets it when a place frees up.
    late = enroll(r, p["id"], people[6], slot_start="2026-06-04T11:30:00+02:00")
    assert late["status"] == "waitlisted", late
    walk = enroll(r, p["id"], people[7])
    assert walk["status"] == "waitlisted", walk
    setst(r, w["id"], "cancelled")
    assert r.ok("GET", "%s/%d" % (E, late["id"]))["status"] == "booked"
    assert r.ok("GET", "%s/%d" % (E, walk["id"]))["status"] == "waitlisted"
    assert r.ok("GET", "%s/%d" % (S, p["id"]))["slots"][5]["free"] is False
    # A slot freed by a cancellation is free again (the walk-in promoted took
    # a place, not the slot); the session being full, a request for it waits.
    setst(r, a["id"], "cancelled")
    assert r.ok("GET", "%s/%d" % (E, walk["id"]))["status"] == "booked"
    s = r.ok("GET", "%s/%d" % (S, p["id"]))
    assert s["slots"][1]["free"] is True and s["remaining"] == 0, s
    again = enroll(r, p["id"], people[8], slot_start="2026-06-04T09:30:00+02:00")
    assert again["status"] == "waitlisted", again


# --- trainings ---------------------------------------------------------------------------

def test_training_fan_out(r):
    tr = training(r, capacity=1)
    parts = [p["id"] for p in tr["parts"]]
    a, b = person(r, "A"), person(r, "B")
    ea = enroll(r, tr["id"], a)
    assert ea["status"] == "booked", ea
    rows = r.db("SELECT session_id, status, parent_id FROM enrollments WHERE beneficiary_id = ?"
                " ORDER BY id", a)
    assert rows == [(tr["id"], "booked", None)] + [(p, "booked", ea["id"]) for p in parts], rows
    for p in parts:
        s = r.ok("GET", "%s/%d" % (S, p))
        assert (s["booked"], s["remaining"]) == (1, 0), s
    # The training is full: B waits on the training and on each part.
    eb = enroll(r, tr["id"], b)
    assert eb["status"] == "waitlisted", eb
    b_parts = r.db("SELECT id, status FROM enrollments WHERE parent_id = ? ORDER BY id", eb["id"])
    assert [st for _, st in b_parts] == ["waitlisted", "waitlisted"], b_parts
    # Enrolling in a part directly, or cancelling a part alone: 409.
    c = person(r, "C")
    fails(r, "POST", "%s/%d/enrollments" % (S, parts[0]), {"beneficiary_id": c}, 409)
    a_parts = r.db("SELECT id FROM enrollments WHERE parent_id = ? ORDER BY id", ea["id"])
    fails(r, "PATCH", "%s/%d" % (E, a_parts[0][0]), {"status": "cancelled"}, 409)
    # Attendance is marked per part (and may be on the training itself).
    assert setst(r, a_parts[0][0], "attended")["status"] == "attended"
    assert r.ok("GET", "%s/%d" % (E, a_parts[0][0]))["parent_id"] == ea["id"]
    # A cancels: the parts not yet attended go with it; B is promoted with its parts.
    setst(r, ea["id"], "cancelled")
    rows = r.db("SELECT status FROM enrollments WHERE parent_id = ? ORDER BY id", ea["id"])
    assert rows == [("attended",), ("cancelled",)], rows
    assert r.ok("GET", "%s/%d" % (E, eb["id"]))["status"] == "booked"
    b_parts = r.db("SELECT id, status FROM enrollments WHERE parent_id = ? ORDER BY id", eb["id"])
    assert [st for _, st in b_parts] == ["booked", "booked"], b_parts
    for pid, _ in b_parts:
        assert events_of(r, pid) == ["waitlisted", "promoted"]
    assert events_of(r, eb["id"]) == ["waitlisted", "promoted"]
    lst = r.ok("GET", "%s/%d/enrollments" % (S, parts[1]))["items"]
    assert [(x["beneficiary_id"], x["status"]) for x in lst] == [(a, "cancelled"), (b, "booked")]


# --- attendance ----------------------------------------------------------------------------

def test_attendance_transitions(r):
    w = workshop(r, capacity=1)
    b1, b2 = person(r, "A"), person(r, "B")
    e = enroll(r, w["id"], b1)
    wl = enroll(r, w["id"], b2)
    path = "%s/%d" % (E, e["id"])
    for status in ("attended", "absent", "excused", "attended", "attended"):
        assert setst(r, e["id"], status)["status"] == status
    assert events_of(r, e["id"]) == ["booked", "attended", "absent", "excused", "attended"]
    # Marked people cannot be cancelled; waitlisted ones cannot be marked.
    fails(r, "PATCH", path, {"status": "cancelled"}, 409)
    for status in ("attended", "absent", "excused"):
        fails(r, "PATCH", "%s/%d" % (E, wl["id"]), {"status": status}, 409)
    setst(r, wl["id"], "cancelled")
    fails(r, "PATCH", "%s/%d" % (E, wl["id"]), {"status": "attended"}, 409)
    fails(r, "PATCH", "%s/%d" % (E, wl["id"]), {"status": "cancelled"}, 409)
    for bad in ("booked", "waitlisted", "present", None, 3):
        fails(r, "PATCH", path, {"status": bad}, 422, "status")
    fails(r, "PATCH", path, {}, 422, "status")
    fails(r, "PATCH", path, {"status": "absent", "slot_start": None}, 422, "slot_start")
    # No attendance on a cancelled session.
    w2 = workshop(r)
    e2 = enroll(r, w2["id"], b1)
    r.ok("POST", "%s/%d/cancel" % (S, w2["id"]))
    fails(r, "PATCH", "%s/%d" % (E, e2["id"]), {"status": "attended"}, 409)


def test_attendance_only_once_started(r):
    """Present or absent is known once a session has begun (issue 15): before,
    409 and nothing changes; an excuse may come any time; a session held in
    the past takes attendance as well."""
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    at = lambda minutes: (now + datetime.timedelta(minutes=minutes)).isoformat()  # noqa: E731
    future = workshop(r, capacity=None, starts_at=at(6 * 7 * 24 * 60), ends_at=at(6 * 7 * 24 * 60 + 120))
    started = workshop(r, capacity=None, starts_at=at(-10), ends_at=at(110))
    past = workshop(r, capacity=None, starts_at=at(-30 * 24 * 60), ends_at=at(-30 * 24 * 60 + 120))
    b = person(r)
    ef, es, ep = (enroll(r, w["id"], b) for w in (future, started, past))
    tid = staff(r)
    r.ok("PATCH", "%s/%d" % (S, future["id"]), {"trainer_id": tid})
    trainer = r.token("trainer", staff=tid)
    for status in ("attended", "absent"):
        out = fails(r, "PATCH", "%s/%d" % (E, ef["id"]), {"status": status}, 409)
        assert "not started" in out["detail"], out
        fails(r, "PATCH", "%s/%d" % (E, ef["id"]), {"status": status}, 409, token=trainer)
    assert setst(r, ef["id"], "excused")["status"] == "excused"
    # Excused, then attendance still waits for the start.
    fails(r, "PATCH", "%s/%d" % (E, ef["id"]), {"status": "attended"}, 409)
    # "unmarked" counts who is booked without a mark: the console's
    # « présences à saisir ».
    assert r.ok("GET", "%s/%d" % (S, started["id"]))["unmarked"] == 1
    for e in (es, ep):
        assert setst(r, e["id"], "attended")["status"] == "attended"
        assert setst(r, e["id"], "absent")["status"] == "absent"
    assert r.ok("GET", "%s/%d" % (S, started["id"]))["unmarked"] == 0
    # A training: its own start (its first part's) decides for the training
    # enrollment, each part's start for the part.
    t = training(r, capacity=None, parts=[
        {"title": "Avant", "starts_at": at(-60), "ends_at": at(-30)},
        {"title": "Après", "starts_at": at(24 * 60), "ends_at": at(24 * 60 + 60)}])
    te = enroll(r, t["id"], b)
    parts = r.db("SELECT id, session_id FROM enrollments WHERE parent_id = ? ORDER BY id",
                 te["id"])
    assert setst(r, te["id"], "attended")["status"] == "attended"
    assert setst(r, parts[0][0], "attended")["status"] == "attended"
    fails(r, "PATCH", "%s/%d" % (E, parts[1][0]), {"status": "attended"}, 409)


# --- trainers ---------------------------------------------------------------------------------

def test_trainer_own_sessions_only(r):
    t1, t2 = staff(r, "T1"), staff(r, "T2")
    r.tokens["t1"] = r.token("trainer", staff=t1)
    r.tokens["loose"] = r.token("trainer", name="unbound")
    mine = workshop(r, trainer_id=t1)
    theirs = workshop(r, trainer_id=t2)
    tr = training(r, trainer_id=t1)
    b = person(r)
    em = enroll(r, mine["id"], b)
    et = enroll(r, theirs["id"], b)
    etr = enroll(r, tr["id"], b)
    part_e = r.db("SELECT id FROM enrollments WHERE parent_id = ? ORDER BY id", etr["id"])[0][0]
    lst = r.ok("GET", "%s/%d/enrollments" % (S, mine["id"]), token="t1")
    assert [x["id"] for x in lst["items"]] == [em["id"]], lst
    assert lst["items"][0]["beneficiary"]["first_name"] == "Awa", lst
    assert r.ok("GET", "%s/%d" % (E, em["id"]), token="t1")["id"] == em["id"]
    assert setst(r, em["id"], "attended", token="t1")["status"] == "attended"
    # A part of the trainer's training is theirs too.
    assert setst(r, part_e, "absent", token="t1")["status"] == "absent"
    fails(r, "PATCH", "%s/%d" % (E, em["id"]), {"status": "cancelled"}, 403, token="t1")
    fails(r, "PATCH", "%s/%d" % (E, et["id"]), {"status": "attended"}, 403, token="t1")
    fails(r, "POST", "%s/%d/enrollments" % (S, mine["id"]), {"beneficiary_id": b}, 403,
          token="t1")
    for token in ("t1", "loose"):
        st, out, _ = r.req("GET", "%s/%d/enrollments" % (S, theirs["id"]), token=token)
        assert st == 403, (token, st, out)
        st, out, _ = r.req("GET", "%s/%d" % (E, et["id"]), token=token)
        assert st == 403, (token, st, out)
    st, out, _ = r.req("GET", "%s/%d/enrollments" % (S, mine["id"]), token="loose")
    assert st == 403, out
    # A coordinator does everything.
    assert setst(r, et["id"], "cancelled", token="coordinator")["status"] == "cancelled"


# --- lists ---------------------------------------------------------------------------------------

def test_list_pages(r):
    w = workshop(r, capacity=3)
    ids = [enroll(r, w["id"], person(r, "P%d" % i))["id"] for i in range(5)]
    seen, path = [], "%s/%d/enrollments?limit=2" % (S, w["id"])
    for want in (2, 2, 1):
        out = r.ok("GET", path)
        assert len(out["items"]) == want, out
        seen += [x["id"] for x in out["items"]]
        if out["next"]:
            path = "%s/%d/enrollments?limit=2&cursor=%s" % (S, w["id"], quote(out["next"]))
    assert out["next"] is None and seen == ids, (out, seen)
    out = r.ok("GET", "%s/%d/enrollments" % (S, w["id"]))
    assert [x["status"] for x in out["items"]] == ["booked"] * 3 + ["waitlisted"] * 2, out
    assert [x["beneficiary"]["first_name"] for x in out["items"]] == ["P%d" % i for i in range(5)]
    st, out, hdrs = r.req("GET", "%s/%d/enrollments?limit=0" % (S, w["id"]))
    problem(r, 422, out, hdrs, "limit")
    empty = r.ok("GET", "%s/%d/enrollments" % (S, workshop(r)["id"]))
    assert empty == {"items": [], "next": None}, empty


if __name__ == "__main__":
    run(globals())
