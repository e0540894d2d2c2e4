"""Beneficiary pages /r/{token}: what the page shows (and never shows), in
plain words with the date in full and the venue's phone, the cancellation in
two steps (a confirmation page, then 303 back to the appointment) through the
same path as the API (waitlist promoted, events recorded), Back and reload
harmless, the 404/405/409/415 answers as French pages, the security headers,
and the size.

Tokens are computed here from the secret file "<database>.secret", exactly as
core/auth/links.h says (base64url(HMAC-SHA256(secret text, "r:<id>"))
cut to 22 characters), and recorded the way the outbox records the link of a
message it sends (SHA-256 of the token in the table links): no notification
plugin is needed, and the derivation is shown to be stable and documented."""
import base64
import datetime
import hashlib
import hmac
import os
import re
import stat
import sys
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402

S = "/api/v1/sessions"
E = "/api/v1/enrollments"
TZ = ZoneInfo("Europe/Paris")
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
DAYS = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
          "nov.", "déc."]
LONG_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
LONG_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
               "septembre", "octobre", "novembre", "décembre"]


# --- tokens ------------------------------------------------------------------------

def secret_path(r):
    return os.path.join(r.dir, "relais.db.secret")


def secret(r):
    with open(secret_path(r), "rb") as f:
        return f.read().rstrip(b"\n")


def token_for(r, eid, purpose="r"):
    mac = hmac.new(secret(r), ("%s:%d" % (purpose, eid)).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:22]


def issue(r, eid, purpose="r"):
    """The link a message about enrollment EID carries, recorded as the outbox
    records it."""
    import sqlite3
    tok = token_for(r, eid, purpose)
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"), timeout=10)
    try:
        con.execute("INSERT OR IGNORE INTO links (token_hash, purpose, enrollment_id, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (hashlib.sha256(tok.encode()).digest(), purpose, eid, int(time.time())))
        con.commit()
    finally:
        con.close()
    return tok


# --- fixtures ------------------------------------------------------------------------

def local(days, hour, minute=0):
    """An RFC 3339 time DAYS from today at HOUR:MINUTE Paris time."""
    d = datetime.date.today() + datetime.timedelta(days=days)
    return datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ).isoformat()


def fr(iso):
    """rt_format_fr: "mar. 2 juin à 14h00"."""
    t = datetime.datetime.fromisoformat(iso).astimezone(TZ)
    day = "1er" if t.day == 1 else str(t.day)
    return "%s %s %s à %dh%02d" % (DAYS[t.weekday()], day, MONTHS[t.month - 1], t.hour, t.minute)


def day_full(iso):
    """rt_format_fr_day: "jeudi 10 décembre" (the year when it is not this one)."""
    t = datetime.datetime.fromisoformat(iso).astimezone(TZ)
    day = "1er" if t.day == 1 else str(t.day)
    out = "%s %s %s" % (LONG_DAYS[t.weekday()], day, LONG_MONTHS[t.month - 1])
    if t.year != datetime.datetime.now(TZ).year:
        out += " %d" % t.year
    return out


def hour_full(iso):
    """rt_format_fr_hour: "14 h", "9 h 30"."""
    t = datetime.datetime.fromisoformat(iso).astimezone(TZ)
    return "%d h %02d" % (t.hour, t.minute) if t.minute else "%d h" % t.hour


def person(r, first="Awa", last="Diallo", **kw):
    body = {"first_name": first, "last_name": last}
    body.update(kw)
    return r.ok("POST", "/api/v1/beneficiaries", body, expect=201)["id"]


def venue(r, **kw):
    body = {"name": "Maison France Services", "address": "12 rue de la Gare",
            "commune": "Chambéry", "accessible": True}
    body.update(kw)
    return r.ok("POST", "/api/v1/venues", body, expect=201)["id"]


def workshop(r, capacity=1, days=10, **kw):
    body = {"kind": "workshop", "title": "Smartphone : les bases", "capacity": capacity,
            "starts_at": local(days, 14), "ends_at": local(days, 16)}
    body.update(kw)
    return r.ok("POST", S, body, expect=201)


def enroll(r, sid, bid, **kw):
    body = {"beneficiary_id": bid}
    body.update(kw)
    return r.ok("POST", "%s/%d/enrollments" % (S, sid), body, expect=201)


def status_of(r, eid):
    return r.db("SELECT status FROM enrollments WHERE id = ?", eid)[0][0]


def events_of(r, eid):
    return r.db("SELECT kind, token_id FROM enrollment_events WHERE enrollment_id = ?"
                " ORDER BY id", eid)


def page(r, method, path, status, raw=None, headers=None):
    """A page answer: STATUS, HTML in French with the security headers, small."""
    st, body, hdrs = r.req(method, path, token=None, raw=raw, headers=headers)
    assert st == status, (method, path, st, body)
    assert hdrs.get("content-type") == "text/html; charset=utf-8", hdrs
    # The cancel confirmation (a POST answered 200) may be kept by the
    # browser for Back; every other page is no-store.
    confirm = method == "POST" and status == 200
    assert hdrs.get("cache-control") == ("private, no-cache" if confirm else "no-store"), hdrs
    assert hdrs.get("referrer-policy") == "no-referrer", hdrs
    assert hdrs.get("x-frame-options") == "DENY", hdrs
    assert hdrs.get("content-security-policy") == CSP, hdrs
    assert body.startswith('<!doctype html><html lang="fr"><head><meta charset="utf-8">'), body
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert body.count("<h1>") == 1 and body.count("</h1>") == 1, body
    assert body.endswith("</main></body></html>"), body
    assert len(body.encode()) < 5 * 1024, len(body.encode())
    # Nothing external, nothing to run.
    assert "<script" not in body and "src=" not in body and "http" not in body, body
    return body


def text_of(html):
    """The visible text, tags removed and entities decoded."""
    import html as h
    return h.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html)))


def h1(html):
    return re.search(r"<h1>(.*?)</h1>", html).group(1)


# --- tests -----------------------------------------------------------------------------

def test_secret_file(r):
    # Made at the first start beside the database, readable by its owner only.
    st_ = os.stat(secret_path(r))
    assert stat.S_ISREG(st_.st_mode) and stat.S_IMODE(st_.st_mode) == 0o600, oct(st_.st_mode)
    with open(secret_path(r), "rb") as f:
        text = f.read()
    assert re.fullmatch(rb"[0-9a-f]{64}\n", text), text
    # Kept across restarts: links already sent keep working.
    w = workshop(r)
    e = enroll(r, w["id"], person(r))
    tok = issue(r, e["id"])
    assert r.stop() == 0
    r.start()
    with open(secret_path(r), "rb") as f:
        assert f.read() == text
    page(r, "GET", "/r/" + tok, 200)
    # A secret open to others is refused at start, with the reason.
    assert r.stop() == 0
    os.chmod(secret_path(r), 0o644)
    try:
        r.start()
        raise AssertionError("relais started with a world-readable link secret")
    except AssertionError as err:
        assert "chmod 600" in str(err), err
    os.chmod(secret_path(r), 0o600)
    r.start()


def test_page_shows_the_appointment(r):
    v = venue(r)
    w = workshop(r, venue_id=v)
    b = person(r, phone="+33612345678", email="awa.diallo@example.org")
    e = enroll(r, w["id"], b)
    tok = issue(r, e["id"])
    html = page(r, "GET", "/r/" + tok, 200)
    text = text_of(html)
    assert h1(html) == "Votre rendez-vous", html
    for want in ["Bonjour Awa,", "Votre place est réservée.", "Smartphone : les bases",
                 "Atelier", day_full(w["starts_at"]) + ", de 14 h à 16 h",
                 "Maison France Services", "12 rue de la Gare", "Chambéry",
                 "Accessible en fauteuil roulant", "Annuler mon rendez-vous"]:
        assert want in text, (want, text)
    # Plain words: no "inscrit·e" form, no abbreviated day or month.
    assert "·" not in text and fr(w["starts_at"]) not in text, text
    # Only the first name: no last name, phone or email, not even in part.
    for never in ["Diallo", "612345678", "6 12 34 56 78", "awa.diallo", "example.org"]:
        assert never not in html, never
    # The button is a real form posting to the cancel address, next to this one.
    assert '<form method="post" action="%s/cancel">' % tok in html, html
    assert '<button type="submit">Annuler mon rendez-vous</button>' in html, html
    # The label of every piece of information.
    for label in ["Type", "Quand", "Où", "Accès"]:
        assert "<dt>%s</dt>" % label in html, label
    # Reading the page changes nothing; HEAD answers the same headers.
    assert status_of(r, e["id"]) == "booked"
    st, body, hdrs = r.req("HEAD", "/r/" + tok, token=None)
    assert st == 200 and body == "" and hdrs["content-length"] == str(len(html.encode())), hdrs
    assert hdrs["cache-control"] == "no-store" and hdrs["content-security-policy"] == CSP
    # The link is fixed for the enrollment: the same token again.
    assert token_for(r, e["id"]) == tok
    # An inaccessible venue says so; without a phone, no "Pour toute question".
    w2 = workshop(r, venue_id=venue(r, name="Salle B", accessible=False, address=None))
    tok2 = issue(r, enroll(r, w2["id"], b)["id"])
    text = text_of(page(r, "GET", "/r/" + tok2, 200))
    assert "Salle B" in text and "Pas accessible en fauteuil roulant" in text, text
    assert "Pour toute question" not in text, text
    # A venue with a phone number gives it, as a link that calls.
    r.ok("PATCH", "/api/v1/venues/%d" % v, {"phone": "04 79 12 34 56"})
    html = page(r, "GET", "/r/" + tok, 200)
    assert 'Pour toute question : <a href="tel:+33479123456">04 79 12 34 56</a>' in html, html


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_cancel_takes_two_steps(r):
    w = workshop(r, capacity=1)
    first = enroll(r, w["id"], person(r, "Awa"))
    second = enroll(r, w["id"], person(r, "Binta"))
    assert (first["status"], second["status"]) == ("booked", "waitlisted")
    tok = issue(r, first["id"])
    before = r.db("SELECT * FROM enrollment_events ORDER BY id")
    # The page's button (an empty form, or no body at all): a question, nothing changed.
    for raw, headers in [(b"", FORM), (None, None), (b"confirm=no", FORM)]:
        html = page(r, "POST", "/r/%s/cancel" % tok, 200, raw=raw, headers=headers)
        assert h1(html) == "Annuler votre rendez-vous ?", html
        text = text_of(html)
        assert "Smartphone : les bases" in text and day_full(w["starts_at"]) + " à 14 h" in text
        assert ('<form method="post" action="cancel"><input type="hidden" name="confirm"'
                ' value="yes"><button type="submit">Oui, j\'annule</button></form>') in html, html
        assert '<a class="keep" href="../%s">Non, je garde mon rendez-vous</a>' % tok in html
        assert status_of(r, first["id"]) == "booked"
        assert r.db("SELECT * FROM enrollment_events ORDER BY id") == before
    # The confirmation's button: cancelled, then back to the appointment (303).
    st, body, hdrs = r.req("POST", "/r/%s/cancel" % tok, token=None, raw=b"confirm=yes",
                           headers=FORM)
    assert st == 303 and hdrs["location"] == "/r/" + tok, (st, hdrs, body)
    assert hdrs.get("cache-control") == "no-store", hdrs
    # The same path as PATCH {"status": "cancelled"}: recorded, and the place
    # goes to the waitlist at once (which is what makes the notifications).
    assert status_of(r, first["id"]) == "cancelled"
    assert status_of(r, second["id"]) == "booked"
    assert [k for k, _ in events_of(r, first["id"])] == ["booked", "cancelled"]
    assert events_of(r, first["id"])[-1] == ("cancelled", None)    # no API token acted
    assert [k for k, _ in events_of(r, second["id"])] == ["waitlisted", "promoted"]
    assert r.ok("GET", "%s/%d" % (E, second["id"]))["status"] == "booked"
    # The page it goes back to says so, without a button; reloading it is harmless.
    for _ in range(2):
        html = page(r, "GET", "/r/" + tok, 200)
        assert "Votre rendez-vous est annulé." in text_of(html) and "<form" not in html, html
    # Back to the confirmation, or its button again: a French page, nothing moves.
    before = r.db("SELECT * FROM enrollment_events ORDER BY id")
    for raw in [b"", b"confirm=yes"]:
        html = page(r, "POST", "/r/%s/cancel" % tok, 409, raw=raw, headers=FORM)
        assert h1(html) == "Rendez-vous déjà annulé" and "déjà annulé" in text_of(html), html
        assert '<a class="keep" href="../%s">Voir mon rendez-vous</a>' % tok in html, html
    assert r.db("SELECT * FROM enrollment_events ORDER BY id") == before
    # Leaving the waitlist frees no place, and takes two steps too.
    third = enroll(r, w["id"], person(r, "Chloé"))
    assert third["status"] == "waitlisted"
    tok3 = issue(r, third["id"])
    html = page(r, "GET", "/r/" + tok3, 200)
    text = text_of(html)
    assert "Vous êtes sur la liste d'attente." in text and "Si une place se libère" in text
    assert '<button type="submit">Quitter la liste d\'attente</button>' in html, html
    html = page(r, "POST", "/r/%s/cancel" % tok3, 200)
    assert h1(html) == "Quitter la liste d&#39;attente ?", html
    assert status_of(r, third["id"]) == "waitlisted"
    st, _, hdrs = r.req("POST", "/r/%s/cancel" % tok3, token=None, raw=b"confirm=yes",
                        headers=FORM)
    assert st == 303 and hdrs["location"] == "/r/" + tok3
    assert status_of(r, third["id"]) == "cancelled" and status_of(r, second["id"]) == "booked"


def test_started_or_cancelled_session(r):
    # Started ten minutes ago: shown, but no longer cancellable.
    now = datetime.datetime.now(TZ).replace(microsecond=0)
    w = workshop(r, capacity=None, starts_at=(now - datetime.timedelta(minutes=10)).isoformat(),
                 ends_at=(now + datetime.timedelta(hours=1)).isoformat())
    e = enroll(r, w["id"], person(r))
    tok = issue(r, e["id"])
    html = page(r, "GET", "/r/" + tok, 200)
    assert "<form" not in html and "déjà commencé" in text_of(html), html
    for raw in [None, b"confirm=yes"]:
        html = page(r, "POST", "/r/%s/cancel" % tok, 409, raw=raw, headers=FORM)
        assert h1(html) == "Annulation impossible" and "déjà commencé" in text_of(html), html
    assert status_of(r, e["id"]) == "booked"
    # A session cancelled by the organisers.
    w2 = workshop(r)
    e2 = enroll(r, w2["id"], person(r, "Binta"))
    tok2 = issue(r, e2["id"])
    r.ok("POST", "%s/%d/cancel" % (S, w2["id"]))
    html = page(r, "GET", "/r/" + tok2, 200)
    assert "La séance est annulée." in text_of(html) and "<form" not in html, html
    html = page(r, "POST", "/r/%s/cancel" % tok2, 409, raw=b"confirm=yes", headers=FORM)
    assert "annulée" in text_of(html), html
    assert status_of(r, e2["id"]) == "booked"
    # Attendance marked (once it has started): past, not cancellable.
    e3 = enroll(r, w["id"], person(r, "Chloé"))
    r.ok("PATCH", "%s/%d" % (E, e3["id"]), {"status": "attended"})
    tok3 = issue(r, e3["id"])
    assert "Vous étiez là. Merci !" in text_of(page(r, "GET", "/r/" + tok3, 200))
    page(r, "POST", "/r/%s/cancel" % tok3, 409, raw=b"confirm=yes", headers=FORM)
    e4 = enroll(r, w["id"], person(r, "Dina"))
    r.ok("PATCH", "%s/%d" % (E, e4["id"]), {"status": "absent"})
    assert "Vous n'étiez pas là." in text_of(page(r, "GET", "/r/" + issue(r, e4["id"]), 200))


def test_unknown_tokens(r):
    w = workshop(r)
    e = enroll(r, w["id"], person(r))
    never_issued = token_for(r, e["id"])           # well-formed, right secret, not sent
    survey = issue(r, e["id"], "s")                 # issued, but for the survey
    for tok in [never_issued, survey, "AAAAAAAAAAAAAAAAAAAAAA", "short", "a" * 23,
                "%3Cscript%3E", "..%2F..%2Fetc"]:
        for method, path in [("GET", "/r/" + tok), ("POST", "/r/%s/cancel" % tok)]:
            html = page(r, method, path, 404)
            assert h1(html) == "Lien introuvable", html
            assert "script" not in html.replace("<style>", ""), html
    assert status_of(r, e["id"]) == "booked"
    # An erased person's link is unknown too.
    tok = issue(r, e["id"])
    page(r, "GET", "/r/" + tok, 200)
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % e["beneficiary_id"], expect=204)
    page(r, "GET", "/r/" + tok, 404)


def test_methods_and_bodies(r):
    w = workshop(r)
    e = enroll(r, w["id"], person(r))
    tok = issue(r, e["id"])
    for method, path, allow in [("PUT", "/r/" + tok, "GET"), ("DELETE", "/r/" + tok, "GET"),
                                ("POST", "/r/" + tok, "GET"),
                                ("GET", "/r/%s/cancel" % tok, "POST"),
                                ("PATCH", "/r/%s/cancel" % tok, "POST")]:
        # A French page, with the Allow header of a 405.
        html = page(r, method, path, 405)
        assert h1(html) == "Demande non comprise", html
        st, out, hdrs = r.req(method, path, token=None)
        assert allow in hdrs.get("allow", ""), hdrs
    # Not from our form: refused, nothing cancelled.
    html = page(r, "POST", "/r/%s/cancel" % tok, 415, raw=b'{"status":"cancelled"}',
                headers={"Content-Type": "application/json"})
    assert "bouton" in text_of(html), html
    page(r, "POST", "/r/%s/cancel" % tok, 415, raw=b"x", headers={"Content-Type": "text/plain"})
    assert status_of(r, e["id"]) == "booked"
    # A form with fields is still a form; only confirm=yes cancels.
    page(r, "POST", "/r/%s/cancel" % tok, 200, raw=b"confirm=1&x=2",
         headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert status_of(r, e["id"]) == "booked"
    st, _, _ = r.req("POST", "/r/%s/cancel" % tok, token=None, raw=b"x=2&confirm=yes",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert st == 303 and status_of(r, e["id"]) == "cancelled"


def test_training_cancels_whole(r):
    parts = [{"title": "PIX", "starts_at": local(20, 9), "ends_at": local(20, 9, 45)},
             {"title": "Atelier mail", "starts_at": local(27, 9), "ends_at": local(27, 12, 30),
              "venue_id": venue(r, name="Médiathèque")}]
    t = r.ok("POST", S, {"kind": "training", "title": "ESJA", "capacity": 1, "parts": parts,
                         "venue_id": venue(r)}, expect=201)
    a = enroll(r, t["id"], person(r, "Awa"))
    b = enroll(r, t["id"], person(r, "Binta"))
    assert (a["status"], b["status"]) == ("booked", "waitlisted")
    tok = issue(r, a["id"])
    html = page(r, "GET", "/r/" + tok, 200)
    text = text_of(html)
    for want in ["ESJA", "Formation", "Les séances",
                 "PIX : " + day_full(parts[0]["starts_at"]) + ", de 9 h à 9 h 45",
                 "Atelier mail : " + day_full(parts[1]["starts_at"]) + ", de 9 h à 12 h 30,"
                 " Médiathèque", "toute la formation", "Maison France Services"]:
        assert want in text, (want, text)
    html = page(r, "POST", "/r/%s/cancel" % tok, 200)
    assert "Toute la formation sera annulée." in text_of(html), html
    st, _, _ = r.req("POST", "/r/%s/cancel" % tok, token=None, raw=b"confirm=yes", headers=FORM)
    assert st == 303
    mine = r.db("SELECT status FROM enrollments WHERE id = ? OR parent_id = ?", a["id"], a["id"])
    assert [s for (s,) in mine] == ["cancelled"] * 3, mine
    theirs = r.db("SELECT status FROM enrollments WHERE id = ? OR parent_id = ?", b["id"], b["id"])
    assert [s for (s,) in theirs] == ["booked"] * 3, theirs
    # A link to one part shows that part and cancels the whole training.
    pid = r.db("SELECT id FROM enrollments WHERE parent_id = ? ORDER BY id", b["id"])[0][0]
    ptok = issue(r, pid)
    text = text_of(page(r, "GET", "/r/" + ptok, 200))
    assert "PIX" in text and "fait partie de la formation « ESJA »" in text, text
    st, _, _ = r.req("POST", "/r/%s/cancel" % ptok, token=None, raw=b"confirm=yes", headers=FORM)
    assert st == 303
    theirs = r.db("SELECT status FROM enrollments WHERE id = ? OR parent_id = ?", b["id"], b["id"])
    assert [s for (s,) in theirs] == ["cancelled"] * 3, theirs


def test_permanence_online_and_escaping(r):
    p = r.ok("POST", S, {"kind": "permanence", "title": "Démarches <b>CAF</b> & \"ANTS\"",
                         "slot_minutes": 30, "online": True,
                         "starts_at": local(5, 9), "ends_at": local(5, 12)}, expect=201)
    e = enroll(r, p["id"], person(r, "<i>Zoé</i>"), slot_start=local(5, 9, 30))
    tok = issue(r, e["id"])
    html = page(r, "GET", "/r/" + tok, 200)
    text = text_of(html)
    assert "Permanence" in text and "Votre heure" in text and "de 9 h 30 à 10 h" in text, text
    assert "En ligne" in text and "Accès" not in text, text
    # Every value is escaped.
    assert "Démarches &lt;b&gt;CAF&lt;/b&gt; &amp; &quot;ANTS&quot;" in html, html
    assert "Bonjour &lt;i&gt;Zoé&lt;/i&gt;," in html and "<i>" not in html and "<b>" not in html


if __name__ == "__main__":
    run(globals())
