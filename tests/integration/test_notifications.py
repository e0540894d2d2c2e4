"""Notifications, one test per rule of the contract ("Notifications" and
"Gateway callbacks"), with the sms plugin's twilio provider pointed at the
gateway simulator (tests/integration/gateway_sim.py)."""
import datetime
import http.client
import time
import urllib.parse
import zoneinfo

from gateway_sim import twilio_signature
from notify_util import (run, with_config, iso, epoch, wait_until, phone, venue,
                         person, session, enroll, notifs, one, active, wait_status, link_re)

H = 3600
DAY = 86400
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def url(r):
    return "http://127.0.0.1:%d" % r.port


def msg_of(sim, n):
    """The simulator's delivery for notification N (by the gateway's sid)."""
    m = sim.message(n["provider_id"])
    assert m is not None, "no delivery at the gateway for %r" % n
    return m


def settle(sim, n, seconds=1.5):
    """Waits SECONDS more and checks the gateway still has N deliveries:
    used after the last expected message, to catch one sent too many."""
    time.sleep(seconds)
    assert len(sim.messages) == n, [(m["to"], m["idem_key"]) for m in sim.messages]


def local_at(days, hour, minute=0):
    """Epoch of local HOUR:MINUTE, DAYS days from today (Europe/Paris)."""
    d = datetime.datetime.now(PARIS).date() + datetime.timedelta(days=days)
    return int(datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=PARIS).timestamp())


def session_at(r, start, minutes=120, **kw):
    body = {"kind": "workshop", "title": kw.get("title", "Smartphone"), "starts_at": iso(start),
            "ends_at": iso(start + minutes * 60)}
    for k in ("venue_id", "capacity"):
        if kw.get(k) is not None:
            body[k] = kw[k]
    s = r.ok("POST", "/api/v1/sessions", body)
    return s


# --- consent and address ------------------------------------------------------
def test_only_with_consent_and_address(r, sim):
    v = venue(r)
    s = session(r, 3 * DAY, venue_id=v)
    no_consent = person(r, sms=False)
    no_phone = person(r, sms=True, tel=False)
    ok = person(r, sms=True)
    e1 = enroll(r, s["id"], no_consent["id"])
    e2 = enroll(r, s["id"], no_phone["id"])
    e3 = enroll(r, s["id"], ok["id"])
    wait_status(r, e3["id"], "confirmation", "sent")
    settle(sim, 1)
    assert sim.messages[0]["to"] == ok["phone"]
    for e in (e1, e2):
        rows = notifs(r, e["id"])
        assert any(n["kind"] == "confirmation" for n in rows), rows
        assert all(n["status"] == "suppressed" for n in rows), rows
    # No e-mail consent either: nothing goes by e-mail.
    for e in (e1, e2, e3):
        assert all(n["status"] == "suppressed" for n in notifs(r, e["id"], channel="email"))


# --- confirmation ---------------------------------------------------------------
def test_confirmation_at_enrollment(r, sim):
    v = venue(r)
    s = session(r, 3 * DAY, venue_id=v)
    p = person(r)
    t0 = time.time()
    e = enroll(r, s["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    m = msg_of(sim, n)
    assert m["to"] == p["phone"] and m["from"] == "RELAIS", m
    assert m["status_callback"] == url(r) + "/hooks/sms/twilio/status", m["status_callback"]
    assert n["attempts"] == 1 and n["segments"] == m["segments"], (n, m)
    assert epoch(n["due_at"]) <= int(t0) + 2, n
    assert m["at"] - t0 < 10, "a confirmation goes at once"
    start = epoch(s["starts_at"])
    rem = active(r, e["id"], "reminder")
    assert sorted(epoch(x["due_at"]) for x in rem) == [start - 48 * H, start - 2 * H], rem
    assert all(x["status"] == "pending" for x in rem), rem
    settle(sim, 1)


@with_config('reminders = {confirmation = false, before = {"48h", "2h"}}\n')
def test_no_confirmation_when_disabled(r, sim):
    v1, v2 = venue(r), venue(r, name="Mairie")
    s = session(r, 3 * DAY, venue_id=v1)
    e = enroll(r, s["id"], person(r)["id"])
    assert active(r, e["id"], "confirmation") == []
    assert len(active(r, e["id"], "reminder")) == 2
    # A change still goes: once it is at the gateway, the gateway must have
    # nothing else (no confirmation slipped out meanwhile).
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"venue_id": v2})
    n = wait_status(r, e["id"], "change", "sent")
    settle(sim, 1)
    assert sim.messages[0]["sid"] == n["provider_id"]


# --- reminders ----------------------------------------------------------------------
@with_config('reminders = {confirmation = true, before = {"48h", "2h", "60s"}}\n')
def test_reminders_at_each_offset(r, sim):
    p = person(r)
    far = session(r, 3 * DAY)
    day = session(r, DAY)
    soon = session(r, 75)
    e_far, e_day, e_soon = (enroll(r, s["id"], p["id"]) for s in (far, day, soon))

    def dues(e):
        return sorted(epoch(x["due_at"]) for x in active(r, e["id"], "reminder"))
    f, d, s = (epoch(x["starts_at"]) for x in (far, day, soon))
    assert dues(e_far) == [f - 48 * H, f - 2 * H, f - 60], dues(e_far)
    assert dues(e_day) == [d - 2 * H, d - 60], "48 h is already past: skipped"
    assert dues(e_soon) == [s - 60], "48 h and 2 h are already past: skipped"
    n = wait_status(r, e_soon["id"], "reminder", "sent", timeout=40)
    m = msg_of(sim, n)
    assert m["at"] >= s - 60 - 1, "the reminder went %.1fs early" % (s - 60 - m["at"])
    assert m["at"] <= s - 60 + 15, "the reminder went %.1fs late" % (m["at"] - (s - 60))
    assert link_re(r).search(m["body"]), "every SMS carries the /r/ link"
    # Three confirmations and that one reminder; the others wait for their time.
    settle(sim, 4)


# --- change ----------------------------------------------------------------------------
def test_change_on_patch(r, sim):
    v1, v2 = venue(r), venue(r, name="Maison France services")
    s = session(r, 3 * DAY, venue_id=v1, capacity=2)
    a, b, c = (enroll(r, s["id"], person(r)["id"]) for _ in range(3))
    assert c["status"] == "waitlisted", c
    wait_until(lambda: len(sim.messages) == 3, 15, "two confirmations and one waitlist message")
    wait_status(r, c["id"], "waitlisted", "sent")
    start = epoch(s["starts_at"])
    new = start + DAY
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"],
         {"starts_at": iso(new), "ends_at": iso(new + 2 * H)})
    for e in (a, b):
        wait_status(r, e["id"], "change", "sent")
        rem = [x for x in notifs(r, e["id"], "reminder") if x["status"] == "pending"]
        assert sorted(epoch(x["due_at"]) for x in rem) == [new - 48 * H, new - 2 * H], rem
        old = [x for x in notifs(r, e["id"], "reminder") if x not in rem]
        assert sorted(epoch(x["due_at"]) for x in old) == [start - 48 * H, start - 2 * H], old
        assert all(x["status"] == "cancelled" for x in old), old
    assert active(r, c["id"], "change") == [], "the waitlisted are not told"
    wait_until(lambda: len(sim.messages) == 5, 10, "two changes")

    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"venue_id": v2})
    wait_until(lambda: all(len(notifs(r, e["id"], "change")) == 2 for e in (a, b)), 15,
               "a second change each")
    for e in (a, b):
        assert all(x["status"] in ("sent", "pending", "sending")
                   for x in notifs(r, e["id"], "change"))
    wait_until(lambda: len(sim.messages) == 7, 10, "the venue changes")
    # The same values again, and a title: no move, no new venue, no message.
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"venue_id": v2})
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"starts_at": iso(new),
                                                    "ends_at": iso(new + 2 * H)})
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"title": "Smartphone, suite"})
    settle(sim, 7)
    for e in (a, b):
        assert len(notifs(r, e["id"], "change")) == 2


# --- cancellation -------------------------------------------------------------
def test_cancellation(r, sim):
    s = session(r, 3 * DAY, venue_id=venue(r))
    es = [enroll(r, s["id"], person(r)["id"]) for _ in range(2)]
    wait_until(lambda: len(sim.messages) == 2, 15, "two confirmations")
    r.ok("POST", "/api/v1/sessions/%d/cancel" % s["id"])
    for e in es:
        n = wait_status(r, e["id"], "cancellation", "sent")
        assert msg_of(sim, n)["to"] is not None
        rem = notifs(r, e["id"], "reminder")
        assert rem and all(x["status"] == "cancelled" for x in rem), rem
    settle(sim, 4)


# --- promoted -----------------------------------------------------------------
def test_promoted_when_a_place_frees(r, sim):
    s = session(r, 3 * DAY, venue_id=venue(r), capacity=1)
    pa, pb = person(r), person(r)
    a = enroll(r, s["id"], pa["id"])
    b = enroll(r, s["id"], pb["id"])
    assert (a["status"], b["status"]) == ("booked", "waitlisted")
    wait_status(r, a["id"], "confirmation", "sent")
    # The waitlisted is told they wait (issue 15), and nothing else yet.
    w = wait_status(r, b["id"], "waitlisted", "sent")
    assert msg_of(sim, w)["to"] == pb["phone"] and "liste d'attente" in msg_of(sim, w)["body"]
    assert [n["kind"] for n in active(r, b["id"], None, channel="sms")] == ["waitlisted"], \
        "no confirmation or reminder for the waitlisted"
    r.ok("PATCH", "/api/v1/enrollments/%d" % a["id"], {"status": "cancelled"})
    n = wait_status(r, b["id"], "promoted", "sent")
    assert msg_of(sim, n)["to"] == pb["phone"]
    start = epoch(s["starts_at"])
    assert sorted(epoch(x["due_at"]) for x in active(r, b["id"], "reminder")) == \
        [start - 48 * H, start - 2 * H]
    assert all(x["status"] == "cancelled" for x in notifs(r, a["id"], "reminder"))
    settle(sim, 3)


# --- quiet hours ------------------------------------------------------------------
QUIET = {}


def quiet_config(sim):
    """Quiet hours from an hour ago to two hours from now (local)."""
    now = int(time.time())
    f = datetime.datetime.fromtimestamp(now - H, PARIS).replace(second=0, microsecond=0)
    t = datetime.datetime.fromtimestamp(now + 2 * H, PARIS).replace(second=0, microsecond=0)
    QUIET.update(f=f, t=t)
    return 'quiet_hours = {from = "%02d:%02d", to = "%02d:%02d"}\n' % (
        f.hour, f.minute, t.hour, t.minute)


def quiet_bound(which, k):
    """The start ("f") or end ("t") of the quiet hours K days from now."""
    d = QUIET[which]
    wall = datetime.datetime(d.year, d.month, d.day, d.hour, d.minute) + datetime.timedelta(days=k)
    return int(wall.replace(tzinfo=PARIS).timestamp())


@with_config(quiet_config)
def test_quiet_hours(r, sim):
    end = quiet_bound("t", 0)
    assert 2 * H - 120 <= end - time.time() <= 2 * H
    p = person(r)
    v1, v2 = venue(r), venue(r, name="Mairie annexe")
    # A confirmation waits for the end of the quiet hours.
    far = session(r, 3 * DAY, venue_id=v1)
    e_far = enroll(r, far["id"], p["id"])
    assert epoch(one(r, e_far["id"], "confirmation")["due_at"]) == end
    # ... and is skipped for a session starting before then.
    soon = session(r, H, venue_id=v1)
    e_soon = enroll(r, soon["id"], p["id"])
    assert active(r, e_soon["id"], "confirmation") == []
    # A change goes at once for a session starting before the end...
    r.ok("PATCH", "/api/v1/sessions/%d" % soon["id"], {"venue_id": v2})
    n = wait_status(r, e_soon["id"], "change", "sent")
    assert msg_of(sim, n)["to"] == p["phone"]
    # ... and waits otherwise.
    r.ok("PATCH", "/api/v1/sessions/%d" % far["id"], {"venue_id": v2})
    assert epoch(one(r, e_far["id"], "change")["due_at"]) == end
    # A cancellation of a session starting before the end goes at once.
    soon2 = session(r, 90 * 60, venue_id=v1)
    e_soon2 = enroll(r, soon2["id"], p["id"])
    r.ok("POST", "/api/v1/sessions/%d/cancel" % soon2["id"])
    wait_status(r, e_soon2["id"], "cancellation", "sent")
    # A reminder that falls inside moves earlier, to the start of those quiet
    # hours; when that is before the enrollment it is skipped.
    later = session_at(r, quiet_bound("t", 1) - 30 * 60 + 48 * H)
    e_later = enroll(r, later["id"], p["id"])
    want = [epoch(later["starts_at"]) - 48 * H, epoch(later["starts_at"]) - 2 * H]
    expect = []
    for w in want:
        hit = [k for k in range(0, 5) if quiet_bound("f", k) <= w < quiet_bound("t", k)]
        expect.append(quiet_bound("f", hit[0]) if hit else w)
    assert expect[0] == quiet_bound("f", 1)
    got = sorted(epoch(x["due_at"]) for x in active(r, e_later["id"], "reminder"))
    assert got == sorted(expect), (got, expect)
    edge = session(r, 2 * H + 30 * 60, venue_id=v1)
    e_edge = enroll(r, edge["id"], p["id"])
    assert active(r, e_edge["id"], "reminder") == [], "2 h before falls in quiet hours begun before"
    assert epoch(one(r, e_edge["id"], "confirmation")["due_at"]) == end
    settle(sim, 2)


# --- started sessions ------------------------------------------------------------
def test_nothing_about_a_started_session(r, sim):
    v1, v2 = venue(r), venue(r, name="Centre social")
    past = session(r, -H, minutes=180, venue_id=v1)
    future = session(r, 3 * DAY, venue_id=v1)
    e_past = enroll(r, past["id"], person(r)["id"])
    e_future = enroll(r, future["id"], person(r)["id"])
    wait_status(r, e_future["id"], "confirmation", "sent")
    r.ok("PATCH", "/api/v1/sessions/%d" % past["id"], {"venue_id": v2})
    r.ok("POST", "/api/v1/sessions/%d/cancel" % past["id"])
    settle(sim, 1)
    assert [n for n in notifs(r, e_past["id"]) if n["status"] in ("pending", "sent")] == []


# --- never twice --------------------------------------------------------------
def test_never_twice(r, sim):
    v1, v2 = venue(r), venue(r, name="Bibliothèque")
    s = session(r, 3 * DAY, venue_id=v1)
    p = person(r)
    e1 = enroll(r, s["id"], p["id"])
    wait_status(r, e1["id"], "confirmation", "sent")
    r.ok("PATCH", "/api/v1/enrollments/%d" % e1["id"], {"status": "cancelled"})
    e2 = enroll(r, s["id"], p["id"])
    assert e2["id"] != e1["id"]
    wait_status(r, e2["id"], "confirmation", "sent")
    wait_until(lambda: len(sim.messages) == 2, 10, "two confirmations")
    assert sim.messages[0]["idem_key"] != sim.messages[1]["idem_key"]
    assert len(notifs(r, e1["id"], "confirmation")) == 1
    assert len(notifs(r, e2["id"], "confirmation")) == 1
    # A restart sends nothing again.
    r.stop()
    r.start()
    settle(sim, 2, seconds=2)
    assert one(r, e2["id"], "confirmation")["status"] == "sent"
    # The same PATCH twice: one change.
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"venue_id": v2})
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"], {"venue_id": v2})
    wait_status(r, e2["id"], "change", "sent")
    settle(sim, 3)
    assert len(notifs(r, e2["id"], "change")) == 1


def test_invalid_number_fails(r, sim):
    p = person(r)
    sim.invalid_numbers.add(p["phone"])
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "failed")
    assert n["attempts"] == 1, "a permanent error is not retried: %r" % n
    assert "21211" in (n["error"] or ""), "the gateway's reason: %r" % n
    assert p["phone"] not in n["error"] and p["phone"][1:] not in n["error"], \
        "no personal data in the reason"
    settle(sim, 0)
    assert len(sim.requests) == 1


# --- gateway callbacks -------------------------------------------------------------
def test_delivery_callback(r, sim):
    s = session(r, 3 * DAY)
    e1, e2 = (enroll(r, s["id"], person(r)["id"]) for _ in range(2))
    n1 = wait_status(r, e1["id"], "confirmation", "sent")
    n2 = wait_status(r, e2["id"], "confirmation", "sent")
    assert sim.deliver(n1["provider_id"], "sent", url(r)) in (200, 204)
    assert one(r, e1["id"], "confirmation")["status"] == "sent"
    assert sim.deliver(n1["provider_id"], "delivered", url(r)) in (200, 204)
    assert one(r, e1["id"], "confirmation")["status"] == "delivered"
    assert sim.deliver(n2["provider_id"], "undelivered", url(r), error_code=30003) in (200, 204)
    f = one(r, e2["id"], "confirmation")
    assert f["status"] == "failed" and "30003" in (f["error"] or ""), f
    # A late report does not undo a final state.
    assert sim.deliver(n1["provider_id"], "failed", url(r), error_code=30006) in (200, 204)
    assert one(r, e1["id"], "confirmation")["status"] == "delivered"


def post_form(r, path, params, signature):
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    try:
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            h["X-Twilio-Signature"] = signature
        c.request("POST", path, body=urllib.parse.urlencode(params), headers=h)
        res = c.getresponse()
        res.read()
        return res.status
    finally:
        c.close()


def test_forged_callback_refused(r, sim):
    p = person(r)
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    sid = n["provider_id"]
    assert sim.deliver(sid, "delivered", url(r), bad_signature=True) == 403
    assert sim.deliver(sid, "delivered", url(r), unsigned=True) == 403
    # Signed, then tampered with.
    path = "/hooks/sms/twilio/status"
    params = {"MessageSid": sid, "MessageStatus": "failed", "AccountSid": sim.account_sid}
    sig = twilio_signature(sim.auth_token, url(r) + path, params)
    assert post_form(r, path, dict(params, MessageStatus="delivered"), sig) == 403
    # Signed for another URL.
    sig = twilio_signature(sim.auth_token, url(r) + path + "?x=1", params)
    assert post_form(r, path, params, sig) == 403
    assert one(r, e["id"], "confirmation")["status"] == "sent"
    assert sim.inbound(p["phone"], "STOP", url(r), bad_signature=True) == 403
    assert sim.inbound(p["phone"], "STOP", url(r), unsigned=True) == 403
    assert r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"] is True
    assert all(x["status"] == "pending" for x in notifs(r, e["id"], "reminder"))
    # The genuine article is accepted.
    assert sim.deliver(sid, "delivered", url(r)) in (200, 204)
    assert one(r, e["id"], "confirmation")["status"] == "delivered"


def test_stop_and_start(r, sim):
    p = person(r)
    s1, s2, s3 = (session(r, k * DAY) for k in (3, 4, 5))
    e1 = enroll(r, s1["id"], p["id"])
    wait_status(r, e1["id"], "confirmation", "sent")
    assert len(active(r, e1["id"], "reminder")) == 2
    assert sim.inbound(p["phone"], "  Stop ", url(r)) in (200, 204)
    assert r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"] is False
    rem = notifs(r, e1["id"], "reminder")
    assert rem and all(x["status"] == "suppressed" for x in rem), rem
    e2 = enroll(r, s2["id"], p["id"])
    assert all(x["status"] == "suppressed" for x in notifs(r, e2["id"])), notifs(r, e2["id"])
    assert sim.inbound(p["phone"], "START", url(r)) in (200, 204)
    assert r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"] is True
    e3 = enroll(r, s3["id"], p["id"])
    wait_status(r, e3["id"], "confirmation", "sent")
    settle(sim, 2)
    # Somebody else's STOP changes nothing for this person.
    assert sim.inbound(phone(), "STOP", url(r)) in (200, 204)
    assert r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"] is True


# --- the text -------------------------------------------------------------------------
def test_sms_two_segments_and_link(r, sim):
    v1 = venue(r, name="Espace numérique « Les Châtaigniers » – salle de l’Œuvre sociale",
               address="12 bis, avenue du Maréchal-de-Lattre-de-Tassigny, bâtiment Ç, 2ᵉ étage",
               commune="Saint-Rémy-de-Provence")
    v2 = venue(r, name="Maison France services de la Côte-Saint-André",
               address="Place de l’Hôtel-de-Ville", commune="La Côte-Saint-André")
    title = ("Découvrir son smartphone : télécharger, installer et mettre à jour ses "
             "applications, gérer ses photos, ses contacts et ses démarches en ligne")
    start = local_at(3, 14, 0)
    s = session_at(r, start, title=title, venue_id=v1, capacity=1)
    pa = person(r, first="Marie-Françoise-Éléonore")
    pb = person(r, first="Jean-Noël")
    a = enroll(r, s["id"], pa["id"])
    b = enroll(r, s["id"], pb["id"])
    wait_status(r, a["id"], "confirmation", "sent")
    wait_status(r, b["id"], "waitlisted", "sent")
    new = local_at(4, 9, 30)
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"],
         {"starts_at": iso(new), "ends_at": iso(new + 2 * H), "venue_id": v2})
    wait_status(r, a["id"], "change", "sent")
    r.ok("PATCH", "/api/v1/enrollments/%d" % a["id"], {"status": "cancelled"})
    wait_status(r, b["id"], "promoted", "sent")
    r.ok("POST", "/api/v1/sessions/%d/cancel" % s["id"])
    wait_status(r, b["id"], "cancellation", "sent")
    settle(sim, 5)
    rows = {n["provider_id"]: n for e in (a, b) for n in notifs(r, e["id"])
            if n["provider_id"]}
    for m in sim.messages:
        n = rows[m["sid"]]
        assert m["segments"] <= 2, "%s takes %d segments" % (n["kind"], m["segments"])
        assert n["segments"] == m["segments"], (n, m["segments"])
        link = link_re(r).search(m["body"])
        assert link, "%s has no /r/ link" % n["kind"]
        when = "14h00" if n["kind"] in ("confirmation", "waitlisted") else "9h30"
        assert when in m["body"], "%s does not give the local time %s" % (n["kind"], when)
    # The link works.
    link = link_re(r).search(sim.messages[0]["body"]).group(0)
    st, page, hdrs = r.req("GET", urllib.parse.urlsplit(link).path, token=None)
    assert st == 200 and hdrs["content-type"].startswith("text/html"), (st, hdrs)



# --- the other provider --------------------------------------------------------------
@with_config(lambda sim: 'sms = {provider = "brevo", url = "%s", api_key = "%s", '
             'sender = "RELAIS"}\n' % (sim.url, sim.brevo_key))
def test_brevo_provider(r, sim):
    ok, bad = person(r), person(r)
    sim.invalid_numbers.add(bad["phone"])
    s = session(r, 3 * DAY)
    e_ok, e_bad = enroll(r, s["id"], ok["id"]), enroll(r, s["id"], bad["id"])
    n = wait_status(r, e_ok["id"], "confirmation", "sent")
    m = msg_of(sim, n)
    assert m["provider"] == "brevo" and m["to"] == ok["phone"] and m["from"] == "RELAIS", m
    assert m["type"] == "transactional" and m["idem_key"].startswith("n%d-" % n["id"]), m
    assert link_re(r).search(m["body"]) and n["segments"] == m["segments"] <= 2, (n, m)
    f = wait_status(r, e_bad["id"], "confirmation", "failed")
    assert f["attempts"] == 1 and "invalid_parameter" in f["error"], f
    assert bad["phone"][1:] not in f["error"]
    settle(sim, 1)


if __name__ == "__main__":
    run(globals())
