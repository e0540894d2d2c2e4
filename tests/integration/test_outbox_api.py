"""GET /api/v1/enrollments/{id}/notifications on the real server, without
plugins (so nothing is sent and every row stays as the rules made it): the
rows an enrollment makes, their order and fields, paging, roles, errors, and
the notification series in /metrics."""
import datetime as dt

from harness import problem, run

FIELDS = {"id", "kind", "channel", "due_at", "status", "attempts", "segments",
          "provider_id", "error"}


def when(days, hour=14):
    d = dt.datetime.now(dt.timezone.utc).replace(hour=hour, minute=0, second=0,
                                                 microsecond=0) + dt.timedelta(days=days)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(s):
    return int(dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=dt.timezone.utc).timestamp())


def world(r):
    w = {"trainer": r.ok("POST", "/api/v1/staff", {"name": "Samir", "role": "trainer"}),
         "other": r.ok("POST", "/api/v1/staff", {"name": "Nadia", "role": "trainer"})}
    w["session"] = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "trainer_id": w["trainer"]["id"],
        "starts_at": when(5), "ends_at": when(5, 16), "capacity": 8})
    w["person"] = r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": "Monique", "last_name": "Jacquier", "phone": "06 11 22 33 44",
        "consent_sms": True})
    w["enrollment"] = r.ok("POST", "/api/v1/sessions/%d/enrollments" % w["session"]["id"],
                           {"beneficiary_id": w["person"]["id"]}, expect=201)
    return w


def rows(r, eid, query="", token="admin"):
    st, out, _ = r.req("GET", "/api/v1/enrollments/%d/notifications%s" % (eid, query),
                       token=token)
    assert st == 200, out
    assert set(out) == {"items", "next"}, out
    return out


def test_rows_of_an_enrollment(r):
    w = world(r)
    out = rows(r, w["enrollment"]["id"])
    items = out["items"]
    assert out["next"] is None
    # A confirmation and two reminders, by SMS (consent, a mobile) and by
    # email (suppressed: no consent, no address).
    assert len(items) == 6, items
    assert all(set(n) == FIELDS for n in items), items
    keys = [(epoch(n["due_at"]), n["id"]) for n in items]
    assert keys == sorted(keys), keys
    sms = [n for n in items if n["channel"] == "sms"]
    email = [n for n in items if n["channel"] == "email"]
    assert sorted(n["kind"] for n in sms) == ["confirmation", "reminder", "reminder"], sms
    assert all(n["status"] == "pending" and n["attempts"] == 0 and n["segments"] is None
               and n["provider_id"] is None and n["error"] is None for n in sms), sms
    assert all(n["status"] == "suppressed" and n["error"] == "no email consent"
               for n in email), email
    start = epoch(w["session"]["starts_at"])
    assert sorted(epoch(n["due_at"]) for n in sms if n["kind"] == "reminder") == \
        [start - 48 * 3600, start - 2 * 3600]
    # Cancelling voids what was pending.
    r.ok("PATCH", "/api/v1/enrollments/%d" % w["enrollment"]["id"], {"status": "cancelled"})
    items = rows(r, w["enrollment"]["id"])["items"]
    assert sorted(n["status"] for n in items) == ["cancelled"] * 3 + ["suppressed"] * 3, items


def test_paging(r):
    w = world(r)
    eid = w["enrollment"]["id"]
    every = rows(r, eid)["items"]
    seen, cursor = [], None
    while True:
        out = rows(r, eid, "?limit=4" + ("&cursor=" + cursor if cursor else ""))
        assert len(out["items"]) <= 4
        seen += out["items"]
        cursor = out["next"]
        if cursor is None:
            break
    assert [n["id"] for n in seen] == [n["id"] for n in every]
    for bad in ("?limit=0", "?limit=501", "?cursor=nope", "?cursor="):
        st, out, hdrs = r.req("GET", "/api/v1/enrollments/%d/notifications%s" % (eid, bad))
        problem(r, 422, out, hdrs)


def test_roles_and_errors(r):
    w = world(r)
    eid = w["enrollment"]["id"]
    r.tokens["own"] = r.token("trainer", name="own", staff=w["trainer"]["id"])
    r.tokens["other"] = r.token("trainer", name="other", staff=w["other"]["id"])
    r.tokens["unbound"] = r.token("trainer", name="unbound")
    assert len(rows(r, eid, token="coordinator")["items"]) == 6
    assert len(rows(r, eid, token="own")["items"]) == 6
    for tok in ("other", "unbound"):
        st, out, hdrs = r.req("GET", "/api/v1/enrollments/%d/notifications" % eid, token=tok)
        problem(r, 403, out, hdrs)
    st, out, hdrs = r.req("GET", "/api/v1/enrollments/%d/notifications" % (eid + 1000))
    problem(r, 404, out, hdrs)
    st, out, hdrs = r.req("GET", "/api/v1/enrollments/x/notifications")
    problem(r, 404, out, hdrs)
    st, _, _ = r.req("GET", "/api/v1/enrollments/%d/notifications" % eid, token=None)
    assert st == 401
    st, out, hdrs = r.req("POST", "/api/v1/enrollments/%d/notifications" % eid, body={})
    assert st == 405 and "GET" in hdrs.get("allow", ""), (st, hdrs)


def test_metrics(r):
    world(r)
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert st == 200
    assert 'relais_notifications{kind="reminder",channel="sms",status="pending"} 2\n' in text
    assert 'relais_notifications{kind="confirmation",channel="email",status="suppressed"} 1\n' \
        in text
    assert "relais_outbox_depth 3\n" in text
    assert 'relais_notification_sends_total{channel="sms",result="sent"} 0\n' in text


if __name__ == "__main__":
    run(globals())
