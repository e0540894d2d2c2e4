"""Sessions: the three kinds, recurrence in local time, training parts, list
filters and paging, PATCH records and rules, cancellation, the iCalendar feed."""
import calendar
import os
import sys
import time
from datetime import datetime, timedelta
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

S = "/api/v1/sessions"
TABLES = ("sessions", "series", "session_changes", "enrollments", "enrollment_events")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def venue(r, name="Centre social", **kw):
    body = {"name": name, "address": "12 rue Pasteur", "commune": "Chambéry"}
    body.update(kw)
    return r.ok("POST", "/api/v1/venues", body, expect=201)["id"]


def staff(r, name="Camille", role="trainer"):
    return r.ok("POST", "/api/v1/staff", {"name": name, "role": role}, expect=201)["id"]


def person(r, first="Awa", last="Diallo"):
    return r.ok("POST", "/api/v1/beneficiaries", {"first_name": first, "last_name": last},
                expect=201)["id"]


def workshop(r, start="2026-06-02T14:00:00+02:00", end="2026-06-02T16:00:00+02:00", **kw):
    body = {"kind": "workshop", "title": "Smartphone", "starts_at": start, "ends_at": end,
            "capacity": 8}
    body.update(kw)
    return r.ok("POST", S, body, expect=201)


def snapshot(r):
    return {t: r.db("SELECT * FROM %s ORDER BY id" % t) for t in TABLES}


def fails(r, method, path, body, status, field=None):
    """Asserts a problem answer and that the database did not change."""
    before = snapshot(r)
    st, out, hdrs = r.req(method, path, body)
    assert st == status, (method, path, body, st, out)
    problem(r, status, out, hdrs, field)
    assert snapshot(r) == before, "a failed %s %s changed the database" % (method, path)
    return out


def changes(r, sid):
    return r.db("SELECT kind, old_starts_at, old_ends_at, old_venue_id, new_starts_at,"
                " new_ends_at, new_venue_id FROM session_changes WHERE session_id = ?"
                " ORDER BY id", sid)


def ts(s):
    """RFC 3339 'Z' time → Unix seconds."""
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def plus(start, hours=1):
    """An RFC 3339 time with offset, HOURS later (same offset)."""
    return (datetime.fromisoformat(start) + timedelta(hours=hours)).isoformat()


# --- the three kinds -------------------------------------------------------------

def test_create_workshop(r):
    v, t = venue(r), staff(r)
    w = workshop(r, theme="Smartphone", level=2, venue_id=v, trainer_id=t, online=False)
    assert set(w) == {"id", "kind", "title", "theme", "level", "venue_id", "trainer_id",
                      "starts_at", "ends_at", "capacity", "slot_minutes", "online", "status",
                      "series_id", "parent_id", "booked", "waitlisted", "remaining",
                      "minutes", "cancel_reason", "headcount", "unmarked", "created_at",
                      "updated_at"}, w
    assert (w["minutes"], w["cancel_reason"], w["headcount"]) == (120, None, 0), w
    assert w["unmarked"] == 0, w
    assert w["kind"] == "workshop" and w["status"] == "scheduled", w
    assert w["starts_at"] == "2026-06-02T12:00:00Z" and w["ends_at"] == "2026-06-02T14:00:00Z", w
    assert (w["venue_id"], w["trainer_id"], w["theme"], w["level"]) == (v, t, "Smartphone", 2)
    assert (w["booked"], w["waitlisted"], w["remaining"], w["capacity"]) == (0, 0, 8, 8), w
    assert w["series_id"] is None and w["parent_id"] is None and w["slot_minutes"] is None, w
    assert r.ok("GET", "%s/%d" % (S, w["id"])) == w
    assert changes(r, w["id"]) == [("created", None, None, None, ts(w["starts_at"]),
                                    ts(w["ends_at"]), v)]
    # No capacity: no limit, remaining is null.
    u = workshop(r, capacity=None, title="  Email  ", theme="  ")
    assert u["capacity"] is None and u["remaining"] is None, u
    assert u["title"] == "Email" and u["theme"] is None, u
    # A trainer reads, but does not write.
    r.tokens["t"] = r.token("trainer", staff=t)
    assert r.ok("GET", "%s/%d" % (S, w["id"]), token="t")["id"] == w["id"]
    st, out, hdrs = r.req("POST", S, {"kind": "workshop", "title": "x",
                                      "starts_at": w["starts_at"], "ends_at": w["ends_at"]},
                          token="t")
    assert st == 403, out
    st, out, hdrs = r.req("POST", "%s/%d/cancel" % (S, w["id"]), token="t")
    assert st == 403, out


def test_create_permanence(r):
    p = r.ok("POST", S, {"kind": "permanence", "title": "Démarches en ligne",
                         "starts_at": "2026-06-04T09:00:00+02:00",
                         "ends_at": "2026-06-04T12:00:00+02:00", "slot_minutes": 30},
             expect=201)
    # No capacity given: one person per whole slot.
    assert p["capacity"] == 6 and p["slot_minutes"] == 30 and p["remaining"] == 6, p
    assert [s["start"] for s in p["slots"]] == ["2026-06-04T%02d:%02d:00Z" % (7 + i // 2,
                                                                            30 * (i % 2))
                                                for i in range(6)], p["slots"]
    assert all(s["free"] is True for s in p["slots"]), p
    # A given capacity stays (walk-ins beside the slots); no slots: no "slots".
    q = r.ok("POST", S, {"kind": "permanence", "title": "x", "capacity": 10,
                         "starts_at": "2026-06-04T09:00:00+02:00",
                         "ends_at": "2026-06-04T10:40:00+02:00", "slot_minutes": 30},
             expect=201)
    assert q["capacity"] == 10 and len(q["slots"]) == 3, q
    w = r.ok("POST", S, {"kind": "permanence", "title": "x",
                         "starts_at": "2026-06-04T09:00:00+02:00",
                         "ends_at": "2026-06-04T12:00:00+02:00"}, expect=201)
    assert "slots" not in w and w["capacity"] is None, w
    base = {"kind": "permanence", "title": "x", "starts_at": "2026-06-04T09:00:00+02:00",
            "ends_at": "2026-06-04T09:20:00+02:00"}
    fails(r, "POST", S, dict(base, slot_minutes=30), 422, "slot_minutes")
    fails(r, "POST", S, dict(base, slot_minutes=4), 422, "slot_minutes")
    fails(r, "POST", S, dict(base, slot_minutes=481), 422, "slot_minutes")
    fails(r, "POST", S, dict(base, kind="workshop", slot_minutes=10), 422, "slot_minutes")


def test_create_training_with_parts(r):
    v1, v2, t = venue(r, "Salle A"), venue(r, "Salle B"), staff(r)
    tr = r.ok("POST", S, {
        "kind": "training", "title": "Et si j'accompagnais", "theme": "Accès aux droits",
        "level": 2, "venue_id": v1, "trainer_id": t, "capacity": 12,
        "parts": [
            {"title": "Atelier 2", "starts_at": "2026-04-14T09:00:00+02:00",
             "ends_at": "2026-04-14T12:30:00+02:00", "venue_id": v2},
            {"title": "Autopositionnement PIX", "starts_at": "2026-03-10T09:00:00+01:00",
             "ends_at": "2026-03-10T09:45:00+01:00"},
            {"title": "Module en ligne", "starts_at": "2026-03-24T14:00:00+01:00",
             "ends_at": "2026-03-24T14:30:00+01:00", "online": True},
        ]}, expect=201)
    # The training spans its parts: first start, last end.
    assert tr["starts_at"] == "2026-03-10T08:00:00Z" and tr["ends_at"] == "2026-04-14T10:30:00Z", tr
    parts = tr["parts"]
    assert [p["title"] for p in parts] == ["Autopositionnement PIX", "Module en ligne",
                                           "Atelier 2"], parts
    for p in parts:
        assert p["parent_id"] == tr["id"] and p["kind"] == "training", p
        assert (p["trainer_id"], p["theme"], p["level"], p["capacity"]) == \
            (t, "Accès aux droits", 2, 12), p
        assert "parts" not in p, p
    assert [p["venue_id"] for p in parts] == [v1, v1, v2], parts
    assert [p["online"] for p in parts] == [False, True, False], parts
    assert parts[0]["starts_at"] == "2026-03-10T08:00:00Z", parts
    assert parts[2]["ends_at"] == "2026-04-14T10:30:00Z", parts
    # Parts are sessions: listed, readable, each recorded as created.
    ids = [x["id"] for x in r.ok("GET", S + "?parent_id=%d" % tr["id"])["items"]]
    assert ids == [p["id"] for p in parts], ids
    assert r.ok("GET", "%s/%d" % (S, parts[1]["id"]))["parent_id"] == tr["id"]
    assert r.db("SELECT count(*) FROM session_changes WHERE kind = 'created'")[0][0] == 4
    # A new venue for the training reaches the parts that had its venue.
    v3 = venue(r, "Salle C")
    got = r.ok("PATCH", "%s/%d" % (S, tr["id"]), {"venue_id": v3, "level": 3})
    assert [p["venue_id"] for p in got["parts"]] == [v3, v3, v2], got
    assert all(p["level"] == 3 for p in got["parts"]), got
    assert [c[0] for c in changes(r, parts[0]["id"])] == ["created", "venue", "updated"]
    assert [c[0] for c in changes(r, parts[2]["id"])] == ["created", "updated"]
    # Given times must match the parts.
    body = {"kind": "training", "title": "x", "starts_at": "2026-03-10T08:00:00Z",
            "ends_at": "2026-03-10T10:00:00Z",
            "parts": [{"title": "p", "starts_at": "2026-03-10T08:00:00Z",
                       "ends_at": "2026-03-10T10:00:00Z"}]}
    assert r.ok("POST", S, body, expect=201)["ends_at"] == "2026-03-10T10:00:00Z"
    fails(r, "POST", S, dict(body, starts_at="2026-03-10T07:00:00Z"), 422, "starts_at")
    fails(r, "POST", S, dict(body, ends_at="2026-03-10T11:00:00Z"), 422, "ends_at")


def test_training_part_errors(r):
    ok_part = {"title": "p", "starts_at": "2026-03-10T08:00:00Z",
               "ends_at": "2026-03-10T10:00:00Z"}
    base = {"kind": "training", "title": "Formation"}
    fails(r, "POST", S, base, 422, "parts")
    fails(r, "POST", S, dict(base, parts=[]), 422, "parts")
    fails(r, "POST", S, dict(base, parts=[ok_part] * 51), 422, "parts")
    fails(r, "POST", S, dict(base, parts="x"), 422, "parts")
    out = fails(r, "POST", S, dict(base, parts=[
        ok_part, {"title": "", "starts_at": "2026-03-10T10:00:00Z",
                  "ends_at": "2026-03-10T09:00:00Z", "venue_id": 999, "colour": "red"},
        7]), 422)
    fields = {e["field"] for e in out["errors"]}
    assert {"parts[1].title", "parts[1].ends_at", "parts[1].venue_id", "parts[1].colour",
            "parts[2]"} <= fields, out
    assert not any(f.startswith("parts[0]") for f in fields), out
    fails(r, "POST", S, dict(base, parts=[ok_part],
                             recurrence={"freq": "weekly", "count": 2}), 422, "recurrence")
    fails(r, "POST", S, {"kind": "workshop", "title": "x", "starts_at": ok_part["starts_at"],
                         "ends_at": ok_part["ends_at"], "parts": [ok_part]}, 422, "parts")
    # A part's unknown venue is a 422 and nothing of the training is kept.
    fails(r, "POST", S, dict(base, parts=[ok_part, dict(ok_part, venue_id=4242)]), 422,
          "parts[1].venue_id")


# --- recurrence ----------------------------------------------------------------

def test_weekly_recurrence_across_spring_dst(r):
    out = r.ok("POST", S, {"kind": "workshop", "title": "Tablette",
                           "starts_at": "2026-03-17T14:00:00+01:00",
                           "ends_at": "2026-03-17T16:00:00+01:00", "capacity": 8,
                           "recurrence": {"freq": "weekly", "count": 4}}, expect=201)
    assert out["series_id"] and len(out["occurrences"]) == 4, out
    assert out["id"] == out["occurrences"][0], out
    got = [r.ok("GET", "%s/%d" % (S, i)) for i in out["occurrences"]]
    # 14:00 in Paris: 13:00Z in winter, 12:00Z once summer time starts (29 March).
    assert [g["starts_at"] for g in got] == ["2026-03-17T13:00:00Z", "2026-03-24T13:00:00Z",
                                             "2026-03-31T12:00:00Z", "2026-04-07T12:00:00Z"], got
    assert [g["ends_at"] for g in got] == ["2026-03-17T15:00:00Z", "2026-03-24T15:00:00Z",
                                           "2026-03-31T14:00:00Z", "2026-04-07T14:00:00Z"], got
    assert all(g["series_id"] == out["series_id"] for g in got), got
    assert r.db("SELECT freq, interval, count, until FROM series WHERE id = ?",
                out["series_id"]) == [("weekly", 1, 4, None)]
    assert r.db("SELECT count(*) FROM session_changes WHERE kind = 'created'")[0][0] == 4


def test_weekly_recurrence_across_autumn_dst(r):
    out = r.ok("POST", S, {"kind": "workshop", "title": "Tablette",
                           "starts_at": "2026-10-13T14:00:00+02:00",
                           "ends_at": "2026-10-13T16:00:00+02:00",
                           "recurrence": {"freq": "weekly", "interval": 1, "count": 3}},
               expect=201)
    got = [r.ok("GET", "%s/%d" % (S, i))["starts_at"] for i in out["occurrences"]]
    # Winter time from 25 October: 14:00 is 13:00Z again.
    assert got == ["2026-10-13T12:00:00Z", "2026-10-20T12:00:00Z", "2026-10-27T13:00:00Z"], got


def test_daily_recurrence_until(r):
    base = {"kind": "permanence", "title": "Accueil", "starts_at": "2026-05-04T10:00:00+02:00",
            "ends_at": "2026-05-04T12:00:00+02:00", "slot_minutes": 30}
    out = r.ok("POST", S, dict(base, recurrence={"freq": "daily",
                                                 "until": "2026-05-08T10:00:00+02:00"}),
               expect=201)
    got = [r.ok("GET", "%s/%d" % (S, i)) for i in out["occurrences"]]
    # until is inclusive: the 8th starts exactly at it.
    assert [g["starts_at"] for g in got] == ["2026-05-%02dT08:00:00Z" % d for d in range(4, 9)]
    assert all(g["capacity"] == 4 and len(g["slots"]) == 4 for g in got), got
    until = r.db("SELECT until, count FROM series WHERE id = ?", out["series_id"])
    assert until == [(ts("2026-05-08T08:00:00Z"), None)], until
    out = r.ok("POST", S, dict(base, recurrence={"freq": "daily", "interval": 2,
                                                 "until": "2026-05-08T09:59:00+02:00"}),
               expect=201)
    got = [r.ok("GET", "%s/%d" % (S, i))["starts_at"] for i in out["occurrences"]]
    assert got == ["2026-05-04T08:00:00Z", "2026-05-06T08:00:00Z"], got
    # The last occurrence may be exactly the 200th.
    out = r.ok("POST", S, dict(base, recurrence={"freq": "daily", "count": 200}), expect=201)
    assert len(out["occurrences"]) == 200


def test_recurrence_errors(r):
    base = {"kind": "workshop", "title": "x", "starts_at": "2026-05-04T10:00:00+02:00",
            "ends_at": "2026-05-04T12:00:00+02:00"}
    for rec, field in (({"count": 3}, "recurrence.freq"),
                       ({"freq": "monthly", "count": 3}, "recurrence.freq"),
                       ({"freq": "daily"}, "recurrence.count"),
                       ({"freq": "daily", "count": 0}, "recurrence.count"),
                       ({"freq": "daily", "count": 201}, "recurrence.count"),
                       ({"freq": "daily", "count": 2, "until": "2026-06-01T00:00:00Z"},
                        "recurrence.until"),
                       ({"freq": "daily", "interval": 0, "count": 2}, "recurrence.interval"),
                       ({"freq": "daily", "interval": 53, "count": 2}, "recurrence.interval"),
                       ({"freq": "daily", "until": "2026-05-01T00:00:00Z"}, "recurrence.until"),
                       ({"freq": "daily", "until": "2027-05-01T00:00:00Z"}, "recurrence"),
                       ({"freq": "daily", "count": 2, "byday": "MO"}, "recurrence.byday"),
                       ("weekly", "recurrence")):
        fails(r, "POST", S, dict(base, recurrence=rec), 422, field)
    assert r.db("SELECT count(*) FROM series")[0][0] == 0


# --- validation and 404 ----------------------------------------------------------

def test_validation_lists_every_field(r):
    out = fails(r, "POST", S, {"kind": "atelier", "title": "x" * 201, "theme": "t" * 101,
                               "level": 4, "venue_id": 999, "trainer_id": 998,
                               "starts_at": "2026-05-04 10:00", "ends_at": 3,
                               "capacity": -1, "online": "yes", "status": "scheduled",
                               "booked": 0}, 422)
    fields = {e["field"] for e in out["errors"]}
    assert {"kind", "title", "theme", "level", "venue_id", "trainer_id", "starts_at",
            "ends_at", "capacity", "online", "status", "booked"} <= fields, out
    out = fails(r, "POST", S, {}, 422)
    assert {"kind", "title"} <= {e["field"] for e in out["errors"]}, out
    fails(r, "POST", S, {"kind": "workshop", "title": "x"}, 422, "starts_at")
    fails(r, "POST", S, {"kind": "workshop", "title": "   ", "starts_at": "2026-05-04T10:00:00Z",
                         "ends_at": "2026-05-04T12:00:00Z"}, 422, "title")
    fails(r, "POST", S, {"kind": "workshop", "title": "x", "starts_at": "2026-05-04T10:00:00Z",
                         "ends_at": "2026-05-04T10:00:00Z"}, 422, "ends_at")
    fails(r, "POST", S, {"kind": "workshop", "title": "x", "starts_at": "2026-05-04T10:00:00Z",
                         "ends_at": "2026-05-04T12:00:00Z", "capacity": 10001}, 422, "capacity")
    fails(r, "POST", S, {"kind": "workshop", "title": "x", "starts_at": "2026-02-30T10:00:00Z",
                         "ends_at": "2026-05-04T12:00:00Z"}, 422, "starts_at")
    st, out, hdrs = r.req("POST", S, raw="{", headers={"Content-Type": "application/json"})
    assert st == 400, out
    assert r.db("SELECT count(*) FROM sessions")[0][0] == 0


def test_unknown_ids(r):
    for method, path, body in (("GET", S + "/999", None), ("GET", S + "/abc", None),
                               ("PATCH", S + "/999", {"title": "x"}),
                               ("POST", S + "/999/cancel", None),
                               ("GET", S + "/0", None)):
        st, out, hdrs = r.req(method, path, body)
        assert st == 404, (method, path, st, out)
        problem(r, 404, out, hdrs)


# --- list ----------------------------------------------------------------------------

def test_list_filters_and_pages(r):
    v1, v2 = venue(r, "A"), venue(r, "B")
    t1, t2 = staff(r, "T1"), staff(r, "T2")
    mk = lambda start, **kw: workshop(r, start=start, end=plus(start), **kw)["id"]  # noqa: E731
    a = mk("2026-06-03T10:00:00+02:00", venue_id=v1, trainer_id=t1)
    b = mk("2026-06-01T10:00:00+02:00", venue_id=v2)
    c = mk("2026-06-02T10:00:00+02:00", venue_id=v1, trainer_id=t2)
    d = mk("2026-06-02T10:00:00+02:00", trainer_id=t1)   # same start as c: id decides
    e = mk("2026-06-05T23:30:00+02:00")
    f = r.ok("POST", S, {"kind": "permanence", "title": "P",
                         "starts_at": "2026-06-04T09:00:00+02:00",
                         "ends_at": "2026-06-04T12:00:00+02:00", "venue_id": v2}, expect=201)["id"]
    g = mk("2026-06-06T00:30:00+02:00")
    r.ok("POST", "%s/%d/cancel" % (S, g))
    order = [b, c, d, a, f, e, g]

    def ids(q=""):
        out = r.ok("GET", S + q)
        assert out["next"] is None, out
        return [x["id"] for x in out["items"]]
    assert ids() == order
    # Pages of 3 with the opaque cursor, then the last one with no next.
    seen, path = [], S + "?limit=3"
    for want in (3, 3, 1):
        out = r.ok("GET", path)
        assert len(out["items"]) == want, out
        seen += [x["id"] for x in out["items"]]
        if out["next"]:
            path = S + "?limit=3&cursor=" + quote(out["next"])
    assert out["next"] is None and seen == order, (out, seen)
    assert ids("?limit=7") == order
    assert ids("?kind=permanence") == [f]
    assert ids("?venue_id=%d" % v1) == [c, a]
    assert ids("?trainer_id=%d" % t1) == [d, a]
    assert ids("?status=cancelled") == [g]
    assert ids("?status=scheduled") == order[:-1]
    # Dates are local days, `to` inclusive to the end of its day.
    assert ids("?from=2026-06-02&to=2026-06-05") == [c, d, a, f, e]
    assert ids("?from=2026-06-06") == [g]
    assert ids("?from=2026-06-02T08:00:00Z&to=2026-06-03T08:00:00Z") == [c, d, a]
    assert ids("?from=2026-06-02T08:00:01Z&to=2026-06-03T07:59:59Z") == []
    assert ids("?venue_id=%d&kind=workshop&from=2026-06-03" % v1) == [a]
    assert ids("?parent_id=%d" % a) == []
    for q, field in (("?from=yesterday", "from"), ("?to=2026-13-01", "to"),
                     ("?kind=atelier", "kind"), ("?status=done", "status"),
                     ("?venue_id=x", "venue_id"), ("?trainer_id=-1", "trainer_id"),
                     ("?parent_id=0", "parent_id"), ("?limit=0", "limit"),
                     ("?limit=501", "limit"), ("?cursor=bogus", "cursor"),
                     ("?from=2026-06-05&to=2026-06-01", "to")):
        st, out, hdrs = r.req("GET", S + q)
        assert st == 422, (q, st, out)
        problem(r, 422, out, hdrs, field)


# --- PATCH -------------------------------------------------------------------------

def test_patch_records_moves_and_venues(r):
    v1, v2 = venue(r, "A"), venue(r, "B")
    w = workshop(r, venue_id=v1, theme="Email")
    sid = w["id"]
    seq = lambda: r.db("SELECT sequence FROM sessions WHERE id = ?", sid)[0][0]  # noqa: E731
    assert seq() == 0
    p = r.ok("PATCH", "%s/%d" % (S, sid), {"starts_at": "2026-06-09T14:00:00+02:00",
                                            "ends_at": "2026-06-09T16:30:00+02:00"})
    assert p["starts_at"] == "2026-06-09T12:00:00Z" and p["ends_at"] == "2026-06-09T14:30:00Z", p
    assert seq() == 1
    assert changes(r, sid)[-1] == ("moved", ts(w["starts_at"]), ts(w["ends_at"]), None,
                                   ts(p["starts_at"]), ts(p["ends_at"]), None)
    p = r.ok("PATCH", "%s/%d" % (S, sid), {"venue_id": v2})
    assert p["venue_id"] == v2 and seq() == 2, p
    assert changes(r, sid)[-1] == ("venue", None, None, v1, None, None, v2)
    # Other fields: "updated", no new SEQUENCE; null clears an optional field.
    p = r.ok("PATCH", "%s/%d" % (S, sid), {"title": "Email (2)", "theme": None, "level": 1,
                                            "online": True})
    assert (p["title"], p["theme"], p["level"], p["online"]) == ("Email (2)", None, 1, True), p
    assert seq() == 2 and changes(r, sid)[-1][0] == "updated"
    p = r.ok("PATCH", "%s/%d" % (S, sid), {"venue_id": None, "online": None})
    assert p["venue_id"] is None and p["online"] is False and seq() == 3, p
    # Both at once: two records, one more SEQUENCE.
    n = len(changes(r, sid))
    r.ok("PATCH", "%s/%d" % (S, sid), {"venue_id": v1, "starts_at": "2026-06-09T13:00:00+02:00"})
    assert [c[0] for c in changes(r, sid)[n:]] == ["moved", "venue"] and seq() == 4
    # The same values again: nothing recorded.
    n = len(changes(r, sid))
    r.ok("PATCH", "%s/%d" % (S, sid), {"venue_id": v1, "title": "Email (2)", "kind": "workshop"})
    r.ok("PATCH", "%s/%d" % (S, sid), {})
    assert len(changes(r, sid)) == n and seq() == 4


def test_patch_errors(r):
    w = workshop(r)
    path = "%s/%d" % (S, w["id"])
    fails(r, "PATCH", path, {"kind": "permanence"}, 422, "kind")
    fails(r, "PATCH", path, {"status": "cancelled"}, 422, "status")
    fails(r, "PATCH", path, {"booked": 3}, 422, "booked")
    fails(r, "PATCH", path, {"title": None}, 422, "title")
    fails(r, "PATCH", path, {"starts_at": None}, 422, "starts_at")
    fails(r, "PATCH", path, {"ends_at": "2026-06-02T13:00:00+02:00"}, 422)
    fails(r, "PATCH", path, {"venue_id": 999}, 422, "venue_id")
    fails(r, "PATCH", path, {"trainer_id": 999}, 422, "trainer_id")
    fails(r, "PATCH", path, {"capacity": 10001}, 422, "capacity")
    fails(r, "PATCH", path, {"slot_minutes": 30}, 422, "slot_minutes")
    fails(r, "PATCH", path, {"recurrence": {"freq": "daily", "count": 2}}, 422, "recurrence")
    st, out, _ = r.req("PATCH", path, raw="[]", headers={"Content-Type": "application/json"})
    assert st == 400, out
    r.tokens["t"] = r.token("trainer")
    st, out, _ = r.req("PATCH", path, {"title": "x"}, token="t")
    assert st == 403, out


def test_patch_capacity(r):
    w = workshop(r, capacity=2)
    path = "%s/%d" % (S, w["id"])
    es = [r.ok("POST", path + "/enrollments", {"beneficiary_id": person(r, "P%d" % i)},
               expect=201) for i in range(4)]
    assert [e["status"] for e in es] == ["booked", "booked", "waitlisted", "waitlisted"], es
    fails(r, "PATCH", path, {"capacity": 1}, 409)
    p = r.ok("PATCH", path, {"capacity": 3})
    assert (p["booked"], p["waitlisted"], p["remaining"]) == (3, 1, 0), p
    assert r.ok("GET", "/api/v1/enrollments/%d" % es[2]["id"])["status"] == "booked"
    assert r.db("SELECT kind FROM enrollment_events WHERE enrollment_id = ? ORDER BY id",
                es[2]["id"]) == [("waitlisted",), ("promoted",)]
    p = r.ok("PATCH", path, {"capacity": None})
    assert (p["booked"], p["waitlisted"], p["remaining"], p["capacity"]) == (4, 0, None, None), p
    r.ok("PATCH", path, {"capacity": 4})
    fails(r, "PATCH", path, {"capacity": 3}, 409)


def test_patch_permanence_grid(r):
    p = r.ok("POST", S, {"kind": "permanence", "title": "Accueil", "slot_minutes": 30,
                         "starts_at": "2026-06-04T09:00:00+02:00",
                         "ends_at": "2026-06-04T12:00:00+02:00"}, expect=201)
    path = "%s/%d" % (S, p["id"])
    r.ok("POST", path + "/enrollments", {"beneficiary_id": person(r),
                                          "slot_start": "2026-06-04T11:00:00+02:00"}, expect=201)
    fails(r, "PATCH", path, {"ends_at": "2026-06-04T11:00:00+02:00"}, 409)
    fails(r, "PATCH", path, {"slot_minutes": 45}, 409)
    fails(r, "PATCH", path, {"starts_at": "2026-06-04T09:15:00+02:00"}, 409)
    fails(r, "PATCH", path, {"slot_minutes": None}, 409)
    # Still on the grid: fine, and the capacity (the slot count) follows.
    q = r.ok("PATCH", path, {"ends_at": "2026-06-04T12:30:00+02:00"})
    assert q["capacity"] == 7 and len(q["slots"]) == 7, q
    assert [s["free"] for s in q["slots"]] == [True] * 4 + [False] + [True] * 2, q["slots"]
    q = r.ok("PATCH", path, {"slot_minutes": 60, "starts_at": "2026-06-04T08:00:00+02:00"})
    assert q["capacity"] == 4 and q["booked"] == 1, q
    # A training's own times follow its parts.
    tr = r.ok("POST", S, {"kind": "training", "title": "F", "parts": [
        {"title": "a", "starts_at": "2026-03-10T08:00:00Z", "ends_at": "2026-03-10T10:00:00Z"},
        {"title": "b", "starts_at": "2026-03-17T08:00:00Z", "ends_at": "2026-03-17T10:00:00Z"}]},
        expect=201)
    fails(r, "PATCH", "%s/%d" % (S, tr["id"]), {"starts_at": "2026-03-09T08:00:00Z"}, 422,
          "starts_at")
    part = tr["parts"][1]["id"]
    fails(r, "PATCH", "%s/%d" % (S, part), {"capacity": 3}, 422, "capacity")
    r.ok("PATCH", "%s/%d" % (S, part), {"starts_at": "2026-03-24T08:00:00Z",
                                         "ends_at": "2026-03-24T11:00:00Z"})
    got = r.ok("GET", "%s/%d" % (S, tr["id"]))
    assert got["ends_at"] == "2026-03-24T11:00:00Z" and got["starts_at"] == "2026-03-10T08:00:00Z"
    assert changes(r, tr["id"])[-1][0] == "moved"
    # The training's capacity and trainer reach its parts.
    t = staff(r)
    got = r.ok("PATCH", "%s/%d" % (S, tr["id"]), {"capacity": 5, "trainer_id": t})
    assert all((x["capacity"], x["trainer_id"]) == (5, t) for x in got["parts"]), got


# --- cancel --------------------------------------------------------------------------

def test_cancel(r):
    w = workshop(r)
    path = "%s/%d" % (S, w["id"])
    e = r.ok("POST", path + "/enrollments", {"beneficiary_id": person(r)}, expect=201)
    c = r.ok("POST", path + "/cancel")
    assert c["status"] == "cancelled" and c["id"] == w["id"], c
    assert changes(r, w["id"])[-1] == ("cancelled", ts(w["starts_at"]), ts(w["ends_at"]), None,
                                       None, None, None)
    assert r.db("SELECT sequence FROM sessions WHERE id = ?", w["id"]) == [(1,)]
    # Enrollments keep their status.
    assert r.ok("GET", "/api/v1/enrollments/%d" % e["id"])["status"] == "booked"
    fails(r, "POST", path + "/cancel", None, 409)
    fails(r, "PATCH", path, {"title": "x"}, 409)
    tr = r.ok("POST", S, {"kind": "training", "title": "F", "parts": [
        {"title": "a", "starts_at": "2026-03-10T08:00:00Z", "ends_at": "2026-03-10T10:00:00Z"},
        {"title": "b", "starts_at": "2026-03-17T08:00:00Z", "ends_at": "2026-03-17T10:00:00Z"}]},
        expect=201)
    c = r.ok("POST", "%s/%d/cancel" % (S, tr["id"]))
    assert c["status"] == "cancelled" and all(p["status"] == "cancelled" for p in c["parts"]), c
    for p in c["parts"]:
        assert changes(r, p["id"])[-1][0] == "cancelled"


# --- the iCalendar feed ------------------------------------------------------------------

def unfold(text):
    assert "\r\n" in text, "lines must end with CRLF"
    lines = []
    for line in text.split("\r\n"):
        if line.startswith((" ", "\t")):
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def events(lines):
    out, cur = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT":
            out.append(cur)
            cur = None
        elif cur is not None:
            name, _, value = line.partition(":")
            cur[name] = value
    return out


def feed(r, q="", token="admin"):
    st, out, hdrs = r.req("GET", S + ".ics" + q, token=token)
    assert st == 200, (st, out)
    assert hdrs["content-type"] == "text/calendar; charset=utf-8", hdrs
    return unfold(out)


def test_feed(r):
    v = venue(r, "Médiathèque Jean-Jacques Rousseau", address="Place de l'Hôtel de Ville",
              commune="Chambéry")
    w = r.ok("POST", S, {"kind": "workshop", "title": "Smartphone, niveau 1",
                         "theme": "Smartphone", "level": 1, "venue_id": v,
                         "starts_at": "2026-03-17T14:00:00+01:00",
                         "ends_at": "2026-03-17T16:00:00+01:00",
                         "recurrence": {"freq": "weekly", "count": 3}}, expect=201)
    other = workshop(r, start="2026-03-18T09:00:00+01:00", end="2026-03-18T10:00:00+01:00")
    r.ok("POST", "%s/%d/cancel" % (S, other["id"]))
    r.ok("PATCH", "%s/%d" % (S, w["occurrences"][1]), {"starts_at": "2026-03-24T15:00:00+01:00"})
    lines = feed(r, "?from=2026-03-01&to=2026-04-30")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR", lines
    assert "BEGIN:VTIMEZONE" in lines and "TZID:Europe/Paris" in lines, lines
    evs = events(lines)
    assert len(evs) == 4, evs
    byuid = {e["UID"]: e for e in evs}
    first = byuid["session-%d@127.0.0.1" % w["id"]]
    assert first["DTSTART;TZID=Europe/Paris"] == "20260317T140000", first
    assert first["DTEND;TZID=Europe/Paris"] == "20260317T160000", first
    assert first["SUMMARY"] == "Smartphone\\, niveau 1", first
    assert first["LOCATION"] == ("Médiathèque Jean-Jacques Rousseau\\, Place de l'Hôtel "
                                 "de Ville\\, Chambéry"), first
    assert "Smartphone" in first["DESCRIPTION"] and "1" in first["DESCRIPTION"], first
    assert first["STATUS"] == "CONFIRMED" and first["SEQUENCE"] == "0", first
    # After summer time starts, still 14:00 local.
    third = byuid["session-%d@127.0.0.1" % w["occurrences"][2]]
    assert third["DTSTART;TZID=Europe/Paris"] == "20260331T140000", third
    moved = byuid["session-%d@127.0.0.1" % w["occurrences"][1]]
    assert moved["DTSTART;TZID=Europe/Paris"] == "20260324T150000" and moved["SEQUENCE"] == "1"
    off = byuid["session-%d@127.0.0.1" % other["id"]]
    assert off["STATUS"] == "CANCELLED" and off["SEQUENCE"] == "1" and "LOCATION" not in off, off
    # Filters as in the list, and every role reads it.
    assert len(events(feed(r, "?from=2026-03-01&to=2026-04-30&venue_id=%d" % v))) == 3
    assert len(events(feed(r, "?from=2026-03-01&to=2026-04-30&status=scheduled"))) == 3
    assert len(events(feed(r, "?from=2026-03-18&to=2026-03-18"))) == 1
    r.tokens["t"] = r.token("trainer")
    assert len(events(feed(r, "?from=2026-03-01&to=2026-04-30", token="t"))) == 4
    st, out, hdrs = r.req("GET", S + ".ics?kind=atelier")
    problem(r, 422, out, hdrs, "kind")
    st, out, _ = r.req("GET", S + ".ics", token=None)
    assert st == 401, out


def test_feed_default_range(r):
    now = int(time.time())
    ids = {}
    for name, off in (("past_far", -100), ("past", -80), ("soon", 10), ("later", 390),
                      ("too_far", 410)):
        start = now + off * 86400
        ids[name] = workshop(r, start=iso(start), end=iso(start + 3600))["id"]
    uids = {e["UID"] for e in events(feed(r))}
    assert uids == {"session-%d@127.0.0.1" % ids[k] for k in ("past", "soon", "later")}, uids
    empty = feed(r, "?from=2020-01-01&to=2020-01-02")
    assert events(empty) == [] and empty[0] == "BEGIN:VCALENDAR", empty


def test_answers_follow_every_write(r):
    """GET answers are kept while the database is unchanged (core/http/rcache.c):
    every kind of write must show at once, including one made by another
    process, and a write that was rolled back must not."""
    import sqlite3
    w = workshop(r, capacity=1)
    one, page = "%s/%d" % (S, w["id"]), S + "?limit=50"

    def seen():
        a = r.ok("GET", one)
        b = [s for s in r.ok("GET", page)["items"] if s["id"] == w["id"]][0]
        assert a == b, (a, b)
        return a

    for _ in range(3):   # the second and third answers come from the cache
        assert seen()["booked"] == 0
    p1, p2 = person(r), person(r, "Lina", "Benali")
    r.ok("POST", one + "/enrollments", {"beneficiary_id": p1}, expect=201)
    got = seen()
    assert (got["booked"], got["waitlisted"], got["remaining"]) == (1, 0, 0), got
    r.ok("POST", one + "/enrollments", {"beneficiary_id": p2}, expect=201)
    assert seen()["waitlisted"] == 1
    r.ok("PATCH", one, {"title": "Smartphone, suite"})
    assert seen()["title"] == "Smartphone, suite"
    # a PATCH refused half-way changes nothing, and the answers say so
    st, _, _ = r.req("PATCH", one, {"title": "Jamais", "capacity": -3})
    assert st == 422, st
    assert seen()["title"] == "Smartphone, suite"
    # another process writes (as `relais token add` or sqlite3 would)
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"), timeout=10)
    try:
        con.execute("UPDATE sessions SET title = 'Écrit ailleurs' WHERE id = ?", (w["id"],))
        con.commit()
    finally:
        con.close()
    assert seen()["title"] == "Écrit ailleurs"
    # and a page with other parameters is another answer
    assert r.ok("GET", page + "&kind=permanence")["items"] == []


if __name__ == "__main__":
    run(globals())
