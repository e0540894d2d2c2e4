"""The sms plugin (plugins/sms) through the real server: the text of every
kind of message, the Twilio and Brevo requests, retries with a stable
Idempotency-Key, permanent failures, the signed callbacks (delivery reports,
STOP/START replies) and the console provider. The gateway is
tests/integration/gateway_sim.py."""
import datetime
import http.client
import os
import re
import sqlite3
import time
import urllib.parse
import zoneinfo

from gateway_sim import GSM_BASIC, GSM_EXT, sms_segments, twilio_signature
from notify_util import (run, with_config, iso, wait_until, venue, person, session, enroll,
                         notifs, one, wait_status, without_start, start_refused)

H = 3600
DAY = 86400
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WD = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
MO = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
      "nov.", "déc."]


def fr(t):
    """relais.time.fr: "mar. 3 déc. à 14h00" in Europe/Paris."""
    d = datetime.datetime.fromtimestamp(t, PARIS)
    day = "%d%s" % (d.day, "er" if d.day == 1 else "")
    return "%s %s %s à %dh%02d" % (WD[d.weekday()], day, MO[d.month - 1], d.hour, d.minute)


def gsm(s):
    """S as the GSM alphabet writes it (the letters our dates may need)."""
    return s.replace("û", "u")


def local_at(days, hour, minute=0):
    d = datetime.datetime.now(PARIS).date() + datetime.timedelta(days=days)
    return int(datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=PARIS).timestamp())


def base(r):
    return "http://127.0.0.1:%d" % r.port


def session_at(r, start, minutes=120, title="Smartphone", venue_id=None, capacity=None):
    body = {"kind": "workshop", "title": title, "starts_at": iso(start),
            "ends_at": iso(start + minutes * 60)}
    if venue_id is not None:
        body["venue_id"] = venue_id
    if capacity is not None:
        body["capacity"] = capacity
    return r.ok("POST", "/api/v1/sessions", body)


def idem_key(r, notification_id):
    rows = r.db("SELECT idem_key FROM notifications WHERE id = ?", notification_id)
    assert rows and rows[0][0], rows
    return rows[0][0]


def form_of(rec):
    return dict(urllib.parse.parse_qsl(rec["body"], keep_blank_values=True))


def check_gsm_text(body, what):
    """≤ 2 segments, every character in GSM 03.38 (after transliteration)."""
    bad = sorted({c for c in body if c not in GSM_BASIC and c not in GSM_EXT})
    assert not bad, "%s: characters outside GSM-7: %r in %r" % (what, bad, body)
    segments, ucs2, _ = sms_segments(body)
    assert not ucs2 and segments <= 2, "%s: %d segments: %r" % (what, segments, body)
    return segments


def no_personal_data(r, *values):
    log = r.read_log()
    for v in values:
        if v:
            assert v not in log, "personal data %r in the log" % v


def post_signed(r, path, params, token, signature=True):
    """POSTs a Twilio-style form to relais; returns (status, body, headers)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is True:
        headers["X-Twilio-Signature"] = twilio_signature(token, base(r) + path, params)
    elif signature:
        headers["X-Twilio-Signature"] = signature
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    try:
        c.request("POST", path, body=urllib.parse.urlencode(params), headers=headers)
        res = c.getresponse()
        body = res.read().decode("utf-8", "replace")
        return res.status, body, {k.lower(): v for k, v in res.getheaders()}
    finally:
        c.close()


# --- the runner: notify_util's, a simulator and a server per test -------------
# A test's config lines, given as a function of the simulator.
config = with_config


# --- the texts ---------------------------------------------------------------------
@config(lambda sim: 'reminders = {confirmation = true, before = {"1h"}}\n'
                    'survey = {after = "1s"}\n')
def test_text_of_every_kind(r, sim):
    v1 = venue(r, name="Centre social Bellevue")
    v2 = venue(r, name="Mairie annexe")
    start = local_at(3, 14, 0)
    s = session_at(r, start, venue_id=v1, capacity=1)
    pa, pb = person(r, first="Ana"), person(r, first="Ben")
    a = enroll(r, s["id"], pa["id"])
    b = enroll(r, s["id"], pb["id"])
    assert (a["status"], b["status"]) == ("booked", "waitlisted")
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
    # A reminder one hour before a session starting in a little over an hour.
    soon = int(time.time()) + H + 6
    s2 = session_at(r, soon, title="Tablette", venue_id=v1)
    pc = person(r, first="Chloé")
    c = enroll(r, s2["id"], pc["id"])
    # A survey after a session already held, once attendance is marked.
    held = int(time.time()) - 3 * H
    s3 = session_at(r, held, title="Messagerie", venue_id=v1)
    pd = person(r, first="Dan")
    d = enroll(r, s3["id"], pd["id"])
    r.ok("PATCH", "/api/v1/enrollments/%d" % d["id"], {"status": "attended"})
    wait_status(r, d["id"], "survey", "sent")
    wait_status(r, c["id"], "reminder", "sent", timeout=40)

    expect = {  # (enrollment, kind) → (title, local time, venue, link path, words)
        (a["id"], "confirmation"): ("Smartphone", fr(start), "Centre social Bellevue", "/r/",
                                    ["C'est noté"]),
        (a["id"], "change"): ("Smartphone", fr(new), "Mairie annexe", "/r/",
                              ["change", "Avant"]),
        (b["id"], "waitlisted"): ("Smartphone", fr(start), None, "/r/",
                                  ["complet", "liste d'attente"]),
        (b["id"], "promoted"): ("Smartphone", fr(new), "Mairie annexe", "/r/",
                                ["place", "confirmé"]),
        (b["id"], "cancellation"): ("Smartphone", fr(new), "Mairie annexe", "/r/",
                                    ["annulé"]),
        (c["id"], "confirmation"): ("Tablette", fr(soon), "Centre social Bellevue", "/r/", []),
        (c["id"], "reminder"): ("Tablette", fr(soon), "Centre social Bellevue", "/r/",
                                ["Rappel"]),
        (d["id"], "survey"): ("Messagerie", fr(held), "Centre social Bellevue", "/s/",
                              ["avis", "Merci"]),
    }
    names = {a["id"]: "Ana", b["id"]: "Ben", c["id"]: "Chloé", d["id"]: "Dan"}
    seen = set()
    for (eid, kind), (title, when, place, path, words) in expect.items():
        n = one(r, eid, kind, status="sent")
        m = sim.message(n["provider_id"])
        assert m is not None, "no delivery for %s" % kind
        body = m["body"]
        segments = check_gsm_text(body, kind)
        assert n["segments"] == segments, (kind, n["segments"], segments)
        # The confirmation, the reminder and the survey say less, to fit in
        # one segment (issue 16).
        opener = {"confirmation": "C'est noté %s : ", "reminder": "Rappel %s : ",
                  "survey": "Merci %s pour "}.get(kind, "Bonjour %s, ")
        assert body.startswith(opener % names[eid]), body
        # The survey names its day and venue as every SMS does (the contract),
        # which may take it to a second segment; the target is the
        # confirmation and the reminder.
        if kind in ("confirmation", "reminder"):
            assert segments == 1, (kind, body)
        assert '"%s"' % title in body, "%s does not name the session: %r" % (kind, body)
        assert when is None or gsm(when) in body, "%s does not give %r: %r" % (kind, when, body)
        assert place is None or place in body, "%s does not name the venue: %r" % (kind, body)
        link = re.search(re.escape(base(r) + path) + r"[A-Za-z0-9_-]{16,}$", body)
        assert link, "%s does not end with its %s link: %r" % (kind, path, body)
        for w in words:
            assert w in body, "%s lacks %r: %r" % (kind, w, body)
        seen.add(n["provider_id"])
    # The exact wording of one of them, so that a change of tone is deliberate.
    conf = sim.message(one(r, a["id"], "confirmation")["provider_id"])["body"]
    assert re.fullmatch(
        re.escape('C\'est noté Ana : "Smartphone" %s, Centre social '
                  'Bellevue. Voir ou annuler : %s/r/' % (fr(start), base(r)))
        + r"[A-Za-z0-9_-]{16,}", conf), conf
    # The waitlist message says little: one SMS, not two.
    wait_sms = sim.message(one(r, b["id"], "waitlisted")["provider_id"])["body"]
    assert re.fullmatch(
        re.escape('Bonjour Ben, l\'atelier "Smartphone" du %s est complet. Vous êtes sur liste '
                  'd\'attente : %s/r/' % (gsm(fr(start)), base(r))).replace("ê", "e")
        + r"[A-Za-z0-9_-]{16,}", wait_sms.replace("ê", "e")), wait_sms
    assert one(r, b["id"], "waitlisted")["segments"] == 1
    assert len(sim.messages) == len(seen) == 8, [m["body"] for m in sim.messages]
    no_personal_data(r, pa["phone"], pb["phone"], pc["phone"], pd["phone"], "Chloé")


@config(lambda sim: 'reminders = {confirmation = true, before = {}}\n')
def test_one_confirmation_for_a_whole_series(r, sim):
    v = venue(r, name="Centre social")
    start = local_at(5, 14, 0)
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "venue_id": v, "capacity": 1,
        "starts_at": iso(start), "ends_at": iso(start + 2 * H),
        "recurrence": {"freq": "weekly", "count": 4}})
    other = person(r, first="Ben")
    r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["occurrences"][3],
         {"beneficiary_id": other["id"]})
    pa = person(r, first="Ana")
    out = r.ok("POST", "/api/v1/series/%d/enrollments" % s["series_id"],
               {"beneficiary_id": pa["id"]})
    eids = [e["id"] for e in out["items"]]
    assert [e["status"] for e in out["items"]] == ["booked"] * 3 + ["waitlisted"], out
    n = wait_status(r, eids[0], "confirmation", "sent")
    w = wait_status(r, eids[3], "waitlisted", "sent")
    time.sleep(1.0)
    # Ana's phone got two messages (Ben's confirmation is the third): one
    # for the three dates booked, one for the date she waits for.
    mine = [m for m in sim.messages if m["to"] == pa["phone"]]
    assert len(mine) == 2, [m["body"] for m in mine]
    body = sim.message(n["provider_id"])["body"]
    check_gsm_text(body, "series confirmation")
    assert body.startswith('C\'est noté Ana : 3 séances "Smartphone", la 1re le %s, '
                           'Centre social.' % gsm(fr(start))), body
    assert re.search(re.escape(base(r) + "/r/") + r"[A-Za-z0-9_-]{16,}$", body), body
    for e in eids[1:3]:
        assert notifs(r, e, "confirmation") == [], "no confirmation of its own"
    wait_body = sim.message(w["provider_id"])["body"]
    assert "est complet" in wait_body and "liste d'attente" in wait_body, wait_body


@config(lambda sim: 'reminders = {confirmation = true, before = {}}\n')
def test_long_texts_are_shortened(r, sim):
    long_venue = venue(r, name="Espace public numérique « Les Châtaigniers » – salle de "
                              "l’Œuvre sociale, bâtiment Ç, deuxième étage à gauche")
    title = ("Découvrir son smartphone : télécharger, installer et mettre à jour ses "
             "applications, gérer ses photos, ses contacts et ses démarches en ligne")
    start = local_at(3, 14, 0)
    s = session_at(r, start, title=title, venue_id=long_venue)
    p1 = person(r, first="Marie-Françoise-Éléonore")
    e1 = enroll(r, s["id"], p1["id"])
    # A name in a script GSM does not have and an emoji in the title would
    # make the whole text UCS-2 (70 characters a segment).
    s2 = session_at(r, start, title="Atelier 📱 smartphone pour tous les débutants du quartier",
                    venue_id=long_venue)
    p2 = person(r, first="محمد")
    e2 = enroll(r, s2["id"], p2["id"])
    for e in (e1, e2):
        n = wait_status(r, e["id"], "confirmation", "sent")
        body = sim.message(n["provider_id"])["body"]
        check_gsm_text(body, "confirmation")
        assert gsm(fr(start)) in body, body
        assert re.search(re.escape(base(r)) + r"/r/[A-Za-z0-9_-]{16,}$", body), body
    body1 = sim.message(one(r, e1["id"], "confirmation")["provider_id"])["body"]
    # One segment still: the title's first clause, the venue's first words
    # ("..."), no first name; never a word cut in its middle.
    assert body1.startswith('C\'est noté : "Découvrir son smartphone" '), body1
    where = body1.split(", ", 1)[1].split("... Voir ou annuler : ")[0]
    assert where.startswith("Espace public numérique"), body1
    words = "Espace public numérique \"Les Chataigniers\" - salle".split()
    assert where.split() == words[:len(where.split())], "cut between words: %r" % body1
    assert one(r, e1["id"], "confirmation")["segments"] == 1
    # The second fits once what GSM cannot write is left out: the title
    # keeps its first words, the greeting loses the name.
    body2 = sim.message(one(r, e2["id"], "confirmation")["provider_id"])["body"]
    assert body2.startswith('C\'est noté : "Atelier smartphone pour'), body2


# --- requests, retries, failures ----------------------------------------------------
def test_twilio_request(r, sim):
    p = person(r)
    s = session(r, 3 * DAY, venue_id=venue(r))
    e = enroll(r, s["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    assert len(sim.requests) == 1, sim.requests
    rec = sim.requests[0]
    assert rec["path"] == "/2010-04-01/Accounts/%s/Messages.json" % sim.account_sid, rec["path"]
    assert rec["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
    assert rec["headers"]["authorization"].startswith("Basic "), rec["headers"]
    assert rec["idem_key"] == idem_key(r, n["id"]), (rec["idem_key"], n)
    form = form_of(rec)
    assert form["To"] == p["phone"] and form["From"] == "RELAIS", form
    assert "MessagingServiceSid" not in form, form
    assert form["StatusCallback"] == base(r) + "/hooks/sms/twilio/status", form
    m = sim.message(n["provider_id"])
    assert m["body"] == form["Body"] and n["segments"] == m["segments"], (n, m)
    assert re.fullmatch(r"SM[0-9a-f]{32}", n["provider_id"]), n


@config(lambda sim: 'sms = {provider = "twilio", url = "%s", account_sid = "%s", '
                    'auth_token = "%s", messaging_service_sid = "MG0123", timeout = 1}\n'
                    % (sim.url, sim.account_sid, sim.auth_token))
def test_retries_keep_the_idempotency_key(r, sim):
    """A 503, a time-out, a 429 and a refused connection are each retried,
    with the key of the first attempt, until the message is sent once."""
    people = [person(r) for _ in range(4)]
    s = session(r, 3 * DAY, venue_id=venue(r))
    enrolled = []

    def first_attempt(p, fault):
        if fault == "refused":
            sim.down()
        else:
            sim.fail_next(1, fault)
        e = enroll(r, s["id"], p["id"])
        enrolled.append(e)

        def retried():
            rows = notifs(r, e["id"], "confirmation")
            return rows and rows[0]["status"] == "pending" and rows[0]["attempts"] == 1 \
                and rows[0]
        n = wait_until(retried, 20, "the first attempt of %s to fail" % fault)
        if fault == "refused":
            sim.up()
        assert n["error"], "the reason of a retry is recorded: %r" % n
        assert p["phone"] not in n["error"] and p["phone"][1:] not in n["error"], n
        return n

    errors = [first_attempt(p, f)["error"] for p, f in
              zip(people, ("503", "timeout", "429", "refused"))]
    assert "503" in errors[0] and "time-out" in errors[1] and "429" in errors[2], errors
    # The outbox waits 30 s (±20 %) before the second attempt.
    for e in enrolled:
        n = wait_status(r, e["id"], "confirmation", "sent", timeout=70)
        assert n["attempts"] == 2, n
    assert len(sim.messages) == 4, [m["to"] for m in sim.messages]
    for p, e in zip(people, enrolled):
        n = one(r, e["id"], "confirmation")
        key = idem_key(r, n["id"])
        tries = [rec for rec in sim.requests if form_of(rec).get("To") == p["phone"]]
        if p is people[3]:
            assert len(tries) == 1, "a refused connection reaches nobody"
        else:
            assert len(tries) == 2, tries
        assert all(rec["idem_key"] == key for rec in tries), (key, tries)
        assert all(form_of(rec)["MessagingServiceSid"] == "MG0123" and
                   "From" not in form_of(rec) for rec in tries)
        assert [m["to"] for m in sim.messages].count(p["phone"]) == 1
    assert all(rec["idem_key"] for rec in sim.requests), "every request carries the key"
    no_personal_data(r, *[p["phone"] for p in people])


def test_invalid_number_fails_with_reason(r, sim):
    p = person(r)
    sim.invalid_numbers.add(p["phone"])
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "failed")
    assert n["attempts"] == 1, n
    assert n["error"].startswith("twilio 21211: "), n
    assert "not a valid phone number" in n["error"], n
    digits = p["phone"][1:]
    assert digits not in re.sub(r"\D", "", n["error"]), "the number is masked: %r" % n["error"]
    time.sleep(1)
    assert len(sim.requests) == 1, "a permanent error is not retried"
    no_personal_data(r, p["phone"])


@config(lambda sim: 'sms = {provider = "twilio", url = "%s", account_sid = "%s", '
                    'auth_token = "not-the-token", from = "RELAIS"}\n' % (sim.url, sim.account_sid))
def test_refused_credentials_keep_the_message(r, sim):
    """A 401 is about our account, not the message: it waits for a fix."""
    p = person(r)
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])

    def tried():
        rows = notifs(r, e["id"], "confirmation")
        return rows and rows[0]["attempts"] == 1 and rows[0]["status"] == "pending" and rows[0]
    n = wait_until(tried, 15, "the first attempt")
    assert n["error"] == "twilio: authentication failed", n
    assert sim.messages == [] and len(sim.requests) == 1
    assert "twilio refused the account credentials" in r.read_log()
    no_personal_data(r, p["phone"])


# --- callbacks -----------------------------------------------------------------
def test_status_callbacks(r, sim):
    s = session(r, 3 * DAY)
    e1, e2, e3 = (enroll(r, s["id"], person(r)["id"]) for _ in range(3))
    n1, n2, n3 = (wait_status(r, e["id"], "confirmation", "sent") for e in (e1, e2, e3))
    for step in ("queued", "sent"):
        assert sim.deliver(n1["provider_id"], step, base(r)) in (200, 204)
    assert one(r, e1["id"], "confirmation")["status"] == "sent", "steps are ignored"
    assert sim.deliver(n1["provider_id"], "delivered", base(r)) in (200, 204)
    assert one(r, e1["id"], "confirmation")["status"] == "delivered"
    assert sim.deliver(n2["provider_id"], "undelivered", base(r), error_code=30003) in (200, 204)
    f = one(r, e2["id"], "confirmation")
    assert (f["status"], f["error"]) == ("failed", "twilio 30003"), f
    assert sim.deliver(n3["provider_id"], "failed", base(r), error_code=30006) in (200, 204)
    f = one(r, e3["id"], "confirmation")
    assert (f["status"], f["error"]) == ("failed", "twilio 30006"), f
    # An unknown sid is acknowledged and changes nothing.
    assert sim.deliver("SM" + "0" * 32, "delivered", base(r)) in (200, 204)
    # Signed but without the fields: refused as malformed.
    st, _, _ = post_signed(r, "/hooks/sms/twilio/status", {"AccountSid": sim.account_sid},
                           sim.auth_token)
    assert st == 400, st


def test_forged_callbacks_get_403(r, sim):
    p = person(r)
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    sid = n["provider_id"]
    path = "/hooks/sms/twilio/status"
    params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": sim.account_sid}
    assert post_signed(r, path, params, sim.auth_token, signature=None)[0] == 403
    assert post_signed(r, path, params, "wrong-token")[0] == 403
    assert post_signed(r, path, params, sim.auth_token, signature="bm90IGEgc2lnbmF0dXJl")[0] \
        == 403
    good = twilio_signature(sim.auth_token, base(r) + path, params)
    assert post_signed(r, path, dict(params, MessageStatus="failed"), sim.auth_token,
                       signature=good)[0] == 403, "a signed form changed on the way"
    assert one(r, e["id"], "confirmation")["status"] == "sent"
    inbound = "/hooks/sms/twilio/inbound"
    stop = {"From": p["phone"], "Body": "STOP", "AccountSid": sim.account_sid}
    assert post_signed(r, inbound, stop, sim.auth_token, signature=None)[0] == 403
    assert post_signed(r, inbound, stop, "wrong-token")[0] == 403
    assert r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"] is True
    assert post_signed(r, path, params, sim.auth_token, signature=good)[0] in (200, 204)
    assert one(r, e["id"], "confirmation")["status"] == "delivered"


def test_inbound_stop_and_start(r, sim):
    p = person(r)
    other = person(r)
    s1, s2 = session(r, 3 * DAY), session(r, 4 * DAY)
    e1 = enroll(r, s1["id"], p["id"])
    e_other = enroll(r, s1["id"], other["id"])
    wait_status(r, e1["id"], "confirmation", "sent")
    wait_status(r, e_other["id"], "confirmation", "sent")
    assert [x["status"] for x in notifs(r, e1["id"], "reminder")] == ["pending", "pending"]
    path = "/hooks/sms/twilio/inbound"

    def reply(body, who=p):
        st, text, hdrs = post_signed(r, path, {"From": who["phone"], "Body": body,
                                               "To": sim.number,
                                               "AccountSid": sim.account_sid},
                                     sim.auth_token)
        assert st == 200, (st, text)
        assert hdrs["content-type"].startswith("text/xml"), hdrs
        assert re.fullmatch(r'(<\?xml[^>]*\?>)?\s*<Response\s*/>\s*', text), text
        return r.ok("GET", "/api/v1/beneficiaries/%d" % who["id"])["consent_sms"]

    assert reply("  stop \n") is False
    rem = notifs(r, e1["id"], "reminder")
    assert [x["status"] for x in rem] == ["suppressed", "suppressed"], rem
    e2 = enroll(r, s2["id"], p["id"])
    assert all(x["status"] == "suppressed" for x in notifs(r, e2["id"])), notifs(r, e2["id"])
    assert reply("Merci, à bientôt") is False, "any other text changes nothing"
    assert reply("START") is True
    assert reply("Arrêt") is False, "the French ARRÊT works too"
    assert reply(" Start") is True
    assert reply("ARRET") is False
    assert reply("start") is True
    # Only that person: the other's reminders still wait.
    assert [x["status"] for x in notifs(r, e_other["id"], "reminder")] == ["pending", "pending"]
    time.sleep(0.5)
    assert all(m["to"] != p["phone"] or m["sid"] == one(r, e1["id"], "confirmation")
               ["provider_id"] for m in sim.messages), "nothing went after STOP"
    no_personal_data(r, p["phone"], other["phone"])


def consent(r, p):
    return r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"]


def test_replayed_inbound_is_ignored(r, sim):
    """A signed reply sent again as it was captured (same MessageSid, same
    signature) changes nothing: a replayed START must not give consent back
    after a later STOP (issue 12, point 7)."""
    p = person(r)
    start_sid = "SM" + os.urandom(16).hex()
    assert sim.inbound(p["phone"], "STOP", base(r)) == 200 and consent(r, p) is False
    assert sim.inbound(p["phone"], "START", base(r), sid=start_sid) == 200
    assert consent(r, p) is True
    assert sim.inbound(p["phone"], "STOP", base(r)) == 200 and consent(r, p) is False
    assert sim.inbound(p["phone"], "START", base(r), sid=start_sid) == 200
    assert consent(r, p) is False, "the replayed START was acted on"
    assert r.db("SELECT count(*) FROM sms_twilio_inbound")[0][0] == 3
    # Twilio retrying a reply it got no answer for: acted on once.
    assert sim.inbound(p["phone"], "START", base(r), sid=start_sid + "b") == 200
    assert sim.inbound(p["phone"], "STOP", base(r), sid=start_sid + "b") == 200
    assert consent(r, p) is True
    no_personal_data(r, p["phone"])


def test_legacy_database_adopts_the_twilio_table(r, sim):
    """A database migrated before plugin ownership was recorded (issue 12)
    has sms-twilio's migration applied and nothing in plugin_objects. At the
    next start sms-twilio adopts sms_twilio_inbound by its key (sms_twilio,
    not its name), and not the sms plugin whose shorter key prefixes it
    too; replies are recorded there as before."""
    owner = "SELECT plugin FROM plugin_objects WHERE name = 'sms_twilio_inbound'"
    assert r.db(owner) == [("sms-twilio",)]
    assert r.stop() == 0
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"))
    con.execute("DELETE FROM plugin_objects")
    con.commit()
    con.close()
    r.start()
    assert "plugin sms-twilio: adopted table sms_twilio_inbound" in r.read_log(), \
        r.read_log()[-2000:]
    assert r.db(owner) == [("sms-twilio",)]
    assert r.db("SELECT count(*) FROM plugin_objects WHERE plugin = 'sms'") == [(0,)]
    p = person(r)
    assert sim.inbound(p["phone"], "STOP", base(r)) == 200 and consent(r, p) is False
    assert r.db("SELECT count(*) FROM sms_twilio_inbound")[0][0] == 1


PUBLIC = "https://relais.example.org/antenne"


@config(lambda sim: 'public_url = "%s"\n' % PUBLIC)
def test_signatures_are_on_the_public_url(r, sim):
    """Behind a TLS proxy Twilio signs the address it called, public_url and
    the path, not the local one relais listens on (issue 14)."""
    p = person(r)
    e = enroll(r, session(r, 3 * DAY)["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    m = sim.message(n["provider_id"])
    assert m["status_callback"] == PUBLIC + "/hooks/sms/twilio/status", m
    assert "%s/r/" % PUBLIC in m["body"], m["body"]
    assert sim.deliver(n["provider_id"], "delivered", base(r)) == 403, "signed for the local URL"
    assert one(r, e["id"], "confirmation")["status"] == "sent"
    assert sim.deliver(n["provider_id"], "delivered", base(r), public_url=PUBLIC) in (200, 204)
    assert one(r, e["id"], "confirmation")["status"] == "delivered"
    assert sim.inbound(p["phone"], "STOP", base(r)) == 403 and consent(r, p) is True
    assert sim.inbound(p["phone"], "STOP", base(r), public_url=PUBLIC) == 200
    assert consent(r, p) is False


# --- other providers --------------------------------------------------------------
@config(lambda sim: 'sms = {provider = "brevo", url = "%s", api_key = "%s", sender = "RELAIS"}\n'
                    % (sim.url, sim.brevo_key))
def test_brevo(r, sim):
    p, bad = person(r), person(r)
    sim.invalid_numbers.add(bad["phone"])
    s = session(r, 3 * DAY, venue_id=venue(r))
    e = enroll(r, s["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    rec = [x for x in sim.requests if x.get("json", {}).get("recipient") == p["phone"][1:]]
    assert len(rec) == 1, sim.requests
    rec = rec[0]
    assert rec["path"] == "/v3/transactionalSMS/send", rec
    assert rec["headers"]["api-key"] == sim.brevo_key
    assert rec["headers"]["content-type"].startswith("application/json")
    assert rec["idem_key"] == idem_key(r, n["id"]), rec
    body = rec["json"]
    assert body["sender"] == "RELAIS" and body["type"] == "transactional", body
    assert body["tag"] == "confirmation", body
    check_gsm_text(body["content"], "brevo content")
    assert "Smartphone" in body["content"] and "/r/" in body["content"], body
    m = sim.message(n["provider_id"])
    assert m is not None and m["provider"] == "brevo", n
    assert n["segments"] == m["segments"], (n, m)
    # A number the gateway refuses: failed with Brevo's reason, no number.
    e_bad = enroll(r, s["id"], bad["id"])
    f = wait_status(r, e_bad["id"], "confirmation", "failed")
    assert f["error"] == "brevo 400 invalid_parameter: Invalid phone number", f
    assert f["attempts"] == 1, f
    # Twilio's callbacks mean nothing here: the Twilio gateway (and its
    # webhooks, plugins/sms-twilio) is not loaded.
    st, _, _ = post_signed(r, "/hooks/sms/twilio/status",
                           {"MessageSid": n["provider_id"], "MessageStatus": "delivered"},
                           sim.auth_token)
    assert st == 404, st
    st, _, _ = post_signed(r, "/hooks/sms/twilio/inbound",
                           {"From": p["phone"], "Body": "STOP"}, sim.auth_token)
    assert st == 404, st
    assert one(r, e["id"], "confirmation")["status"] == "sent"
    assert r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])["consent_sms"] is True
    no_personal_data(r, p["phone"], bad["phone"])


@config(lambda sim: 'sms = {provider = "console"}\n')
def test_console_logs_without_the_number(r, sim):
    p = person(r, first="Zoé")
    e = enroll(r, session(r, 3 * DAY, venue_id=venue(r))["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent")
    assert n["provider_id"] == "console-%d" % n["id"], n
    assert 1 <= n["segments"] <= 2, n
    line = [x for x in r.read_log().splitlines() if "sms (console)" in x]
    assert len(line) == 1, line
    assert "notification %d" % n["id"] in line[0] and "%d segment" % n["segments"] in line[0], \
        line
    assert sim.requests == []
    no_personal_data(r, p["phone"], p["phone"][1:], "Zoé", "Smartphone")


@config(lambda sim: 'sms = {provider = "twilio", url = "%s", account_sid = "%s", '
                    'from = "RELAIS"}\n' % (sim.url, sim.account_sid))
@without_start
def test_bad_provider_config_named_at_load(r, sim):
    """A gateway setting missing is a mistake in the config file: the server
    does not start, and says which key (plugins/API.md)."""
    log = start_refused(r)
    assert "not started: sms.auth_token: is required" in log, log[-2000:]
    assert sim.requests == []


if __name__ == "__main__":
    run(globals())
