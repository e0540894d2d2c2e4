"""A recurring series as one object (issue 15): the dates previewed before
creating (POST /sessions?dry_run=1), GET /series/{id} with every date,
enrolling one person in the whole series at once (all or nothing, each date
booked or waitlisted, one confirmation row for the batch), changing the
dates still ahead (time, fields; 409 below the places taken) and
cancelling them, roles, and what is refused."""
import datetime
import os
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

S = "/api/v1/sessions"
SR = "/api/v1/series"
TZ = ZoneInfo("Europe/Paris")


def local(days, hour, minute=0):
    d = datetime.date.today() + datetime.timedelta(days=days)
    return datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ).isoformat()


def paris(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(TZ)


def person(r, first="Awa"):
    return r.ok("POST", "/api/v1/beneficiaries", {"first_name": first, "last_name": "Diallo",
                                                  "phone": "06 12 34 56 78",
                                                  "consent_sms": True}, expect=201)["id"]


def weekly(r, count=6, capacity=8, days=7, **kw):
    body = {"kind": "workshop", "title": "Smartphone", "capacity": capacity,
            "starts_at": local(days, 14), "ends_at": local(days, 16),
            "recurrence": {"freq": "weekly", "count": count}}
    body.update(kw)
    return r.ok("POST", S, body, expect=201)


def snapshot(r):
    return [r.db("SELECT * FROM %s ORDER BY 1" % t)
            for t in ("sessions", "series", "enrollments", "enrollment_events", "notifications")]


def test_preview_writes_nothing(r):
    body = {"kind": "workshop", "title": "Smartphone", "capacity": 8,
            "starts_at": local(7, 14), "ends_at": local(7, 16),
            "recurrence": {"freq": "weekly", "count": 6}}
    before = snapshot(r)
    for flag in ("1", "true"):
        out = r.ok("POST", S + "?dry_run=" + flag, body, expect=200)
        assert out["dry_run"] is True and out["count"] == 6, out
        assert [paris(o["starts_at"]).strftime("%H:%M") for o in out["occurrences"]] == \
            ["14:00"] * 6, out
        days = [paris(o["starts_at"]).date() for o in out["occurrences"]]
        assert all((b - a).days == 7 for a, b in zip(days, days[1:])), days
    assert snapshot(r) == before
    # The preview checks the body as the creation does.
    st, out, hdrs = r.req("POST", S + "?dry_run=1", dict(body, capacity=-1))
    assert st == 422, out
    problem(r, 422, out, hdrs, "capacity")
    st, out, hdrs = r.req("POST", S + "?dry_run=maybe", body)
    assert st == 422, out
    problem(r, 422, out, hdrs, "dry_run")
    # A training previews its parts.
    t = {"kind": "training", "title": "ESJA", "parts": [
        {"title": "PIX", "starts_at": local(3, 9), "ends_at": local(3, 10)},
        {"title": "Atelier", "starts_at": local(10, 9), "ends_at": local(10, 12)}]}
    out = r.ok("POST", S + "?dry_run=1", t, expect=200)
    assert out["count"] == 1 and [p["title"] for p in out["parts"]] == ["PIX", "Atelier"], out
    assert snapshot(r) == before
    # dry_run=0 creates.
    out = r.ok("POST", S + "?dry_run=0", body, expect=201)
    assert len(out["occurrences"]) == 6


def test_get_series(r):
    s = weekly(r, count=4)
    out = r.ok("GET", "%s/%d" % (SR, s["series_id"]))
    assert out["id"] == s["series_id"] and out["freq"] == "weekly" and out["count"] == 4
    assert out["interval"] == 1 and out["until"] is None, out
    assert [x["id"] for x in out["sessions"]] == s["occurrences"], out
    assert all(x["series_id"] == s["series_id"] for x in out["sessions"])
    # Every role reads it; an unknown series is a 404.
    assert r.ok("GET", "%s/%d" % (SR, s["series_id"]), token=r.token("trainer"))["id"]
    for path in ("%s/999" % SR, "%s/abc" % SR):
        st, out, hdrs = r.req("GET", path)
        assert st == 404, out
        problem(r, 404, out, hdrs)


def test_enroll_in_whole_series(r):
    s = weekly(r, count=3, capacity=1)
    occ = s["occurrences"]
    other = person(r, "Binta")
    # The second date is full already.
    r.ok("POST", "%s/%d/enrollments" % (S, occ[1]), {"beneficiary_id": other}, expect=201)
    b = person(r)
    out = r.ok("POST", "%s/%d/enrollments" % (SR, s["series_id"]), {"beneficiary_id": b},
               expect=201)
    assert out["series_id"] == s["series_id"] and out["beneficiary_id"] == b, out
    assert [(e["session_id"], e["status"]) for e in out["items"]] == \
        [(occ[0], "booked"), (occ[1], "waitlisted"), (occ[2], "booked")], out
    assert (out["booked"], out["waitlisted"]) == (2, 1), out
    eids = [e["id"] for e in out["items"]]
    # One batch: the first date's id.
    assert {x for (x,) in r.db("SELECT batch_id FROM enrollments WHERE id IN (?, ?, ?)",
                               *eids)} == {eids[0]}
    # One confirmation for the booked dates (on the first), one waitlist
    # message, reminders for each booked date (no sender runs: rows wait).
    rows = r.db("SELECT enrollment_id, kind FROM notifications WHERE channel = 'sms'"
                " AND enrollment_id IN (?, ?, ?) ORDER BY id", *eids)
    kinds = {}
    for eid, kind in rows:
        kinds.setdefault(kind, []).append(eid)
    assert kinds["confirmation"] == [eids[0]], kinds
    assert kinds["waitlisted"] == [eids[1]], kinds
    assert sorted(kinds["reminder"]) == sorted([eids[0]] * 2 + [eids[2]] * 2), kinds
    # Twice: all or nothing, nothing changes.
    before = snapshot(r)
    st, out, hdrs = r.req("POST", "%s/%d/enrollments" % (SR, s["series_id"]),
                          {"beneficiary_id": b})
    assert st == 409, out
    problem(r, 409, out, hdrs)
    assert snapshot(r) == before
    # Already in one date only (the third): refused as a whole as well.
    c = person(r, "Chloé")
    r.ok("POST", "%s/%d/enrollments" % (S, occ[2]), {"beneficiary_id": c}, expect=201)
    before = snapshot(r)
    st, out, _ = r.req("POST", "%s/%d/enrollments" % (SR, s["series_id"]), {"beneficiary_id": c})
    assert st == 409 and str(occ[2]) in out["detail"], out
    assert snapshot(r) == before


def test_enroll_from_a_date_and_errors(r):
    s = weekly(r, count=4)
    occ = s["occurrences"]
    b = person(r)
    third = r.ok("GET", "%s/%d" % (S, occ[2]))["starts_at"]
    out = r.ok("POST", "%s/%d/enrollments" % (SR, s["series_id"]),
               {"beneficiary_id": b, "from": third}, expect=201)
    assert [e["session_id"] for e in out["items"]] == occ[2:], out
    # Cancelled dates are left out.
    r.ok("POST", "%s/%d/cancel" % (S, occ[1]))
    b2 = person(r, "Binta")
    out = r.ok("POST", "%s/%d/enrollments" % (SR, s["series_id"]), {"beneficiary_id": b2},
               expect=201)
    assert [e["session_id"] for e in out["items"]] == [occ[0], occ[2], occ[3]], out
    before = snapshot(r)
    for body, field in [({}, "beneficiary_id"), ({"beneficiary_id": 999}, "beneficiary_id"),
                        ({"beneficiary_id": b, "from": "demain"}, "from"),
                        ({"beneficiary_id": b, "x": 1}, "x")]:
        st, out, hdrs = r.req("POST", "%s/%d/enrollments" % (SR, s["series_id"]), body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field)
    # Nothing left ahead: 409; unknown series: 404; a trainer: 403.
    st, out, _ = r.req("POST", "%s/%d/enrollments" % (SR, s["series_id"]),
                       {"beneficiary_id": b, "from": local(400, 0)})
    assert st == 409, out
    assert r.req("POST", "%s/999/enrollments" % SR, {"beneficiary_id": b})[0] == 404
    st, out, _ = r.req("POST", "%s/%d/enrollments" % (SR, s["series_id"]),
                       {"beneficiary_id": b}, token=r.token("trainer"))
    assert st == 403, out
    assert snapshot(r) == before


def test_change_dates_ahead(r):
    s = weekly(r, count=4, capacity=2)
    occ = s["occurrences"]
    sid = s["series_id"]
    # The first date is already held: it stays as it was.
    past_start = local(-14, 14)
    r.ok("PATCH", "%s/%d" % (S, occ[0]), {"starts_at": past_start, "ends_at": local(-14, 16)})
    b = person(r)
    r.ok("POST", "%s/%d/enrollments" % (S, occ[1]), {"beneficiary_id": b}, expect=201)
    out = r.ok("PATCH", "%s/%d" % (SR, sid), {"start_time": "09:30", "end_time": "11:00",
                                               "title": "Smartphone (matin)", "capacity": 3})
    by_id = {x["id"]: x for x in out["sessions"]}
    assert paris(by_id[occ[0]]["starts_at"]).strftime("%H:%M") == "14:00"
    assert by_id[occ[0]]["title"] == "Smartphone"
    for i in occ[1:]:
        x = by_id[i]
        assert (paris(x["starts_at"]).strftime("%H:%M"), paris(x["ends_at"]).strftime("%H:%M")) \
            == ("09:30", "11:00"), x
        assert x["title"] == "Smartphone (matin)" and x["capacity"] == 3, x
    # Each date moved is recorded as its own PATCH would (which tells the
    # people booked): one "moved" per date ahead.
    moved = r.db("SELECT session_id FROM session_changes WHERE kind = 'moved' ORDER BY id")
    assert [m for (m,) in moved][-3:] == occ[1:], moved
    assert r.db("SELECT count(*) FROM notifications WHERE kind = 'change' AND session_id = ?",
                occ[1])[0][0] >= 1
    # Only a start time: the same length.
    out = r.ok("PATCH", "%s/%d" % (SR, sid), {"start_time": "10:00"})
    x = [y for y in out["sessions"] if y["id"] == occ[2]][0]
    assert (paris(x["starts_at"]).strftime("%H:%M"), paris(x["ends_at"]).strftime("%H:%M")) == \
        ("10:00", "11:30"), x
    # Refused, each naming its field, nothing changed.
    before = snapshot(r)
    for body, field in [({"start_time": "25:00"}, "start_time"), ({"end_time": "9h"}, "end_time"),
                        ({"start_time": "12:00", "end_time": "11:00"}, "end_time"),
                        ({"title": None}, "title"), ({"venue_id": 999}, "venue_id"),
                        ({"capacity": -1}, "capacity"), ({"kind": "training"}, "kind")]:
        st, out, hdrs = r.req("PATCH", "%s/%d" % (SR, sid), body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs, field)
    # Below the places taken on one date: 409, no date changed.
    c = person(r, "Chloé")
    r.ok("POST", "%s/%d/enrollments" % (S, occ[1]), {"beneficiary_id": c}, expect=201)
    before = snapshot(r)
    st, out, hdrs = r.req("PATCH", "%s/%d" % (SR, sid), {"capacity": 1})
    assert st == 409 and str(occ[1]) in out["detail"], out
    assert snapshot(r) == before
    st, out, _ = r.req("PATCH", "%s/%d" % (SR, sid), {"title": "x"}, token=r.token("trainer"))
    assert st == 403, out


def test_cancel_dates_ahead(r):
    s = weekly(r, count=3)
    occ = s["occurrences"]
    r.ok("PATCH", "%s/%d" % (S, occ[0]), {"starts_at": local(-7, 14), "ends_at": local(-7, 16)})
    out = r.ok("POST", "%s/%d/cancel" % (SR, s["series_id"]))
    assert [x["status"] for x in out["sessions"]] == ["scheduled", "cancelled", "cancelled"], out
    # Nothing left: 409.
    st, out, hdrs = r.req("POST", "%s/%d/cancel" % (SR, s["series_id"]))
    assert st == 409, out
    problem(r, 409, out, hdrs)
    s2 = weekly(r, count=3)
    third = r.ok("GET", "%s/%d" % (S, s2["occurrences"][2]))["starts_at"]
    out = r.ok("POST", "%s/%d/cancel" % (SR, s2["series_id"]), {"from": third})
    assert [x["status"] for x in out["sessions"]] == ["scheduled", "scheduled", "cancelled"]
    # An unknown field, or a reason too long, cancels nothing (422).
    for body in ({"motif": "x"}, {"reason": "x" * 301}, {"reason": 3}):
        st, out, _ = r.req("POST", "%s/%d/cancel" % (SR, s2["series_id"]), body)
        assert st == 422, (body, st, out)
    assert [x["status"] for x in r.ok("GET", "%s/%d" % (SR, s2["series_id"]))["sessions"]] == \
        ["scheduled", "scheduled", "cancelled"]
    # A reason goes to every date cancelled, as a session's own cancel keeps
    # it (the report counts cancelled sessions by reason).
    out = r.ok("POST", "%s/%d/cancel" % (SR, s2["series_id"]), {"reason": "  Salle en travaux "})
    assert [(x["status"], x["cancel_reason"]) for x in out["sessions"]] == [
        ("cancelled", "Salle en travaux"), ("cancelled", "Salle en travaux"),
        ("cancelled", None)], out


if __name__ == "__main__":
    run(globals())
