"""The email plugin (plugins/email) through the real server and a real SMTP
server (Debian's python3-aiosmtpd): the MIME structure of every kind of
message, the iCalendar REQUEST and CANCEL, SMTP failures (5xx → failed,
server down → retried), authentication and the console provider."""
import datetime
import email
import email.policy
import email.utils
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
import zoneinfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from harness import Relais
from notify_util import (iso, wait_until, venue, person, enroll, notifs, one, wait_status,
                         without_start, start_refused)

# AUTH without TLS is what the test wants (loopback only): keep aiosmtpd quiet.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.ERROR)

H = 3600
DAY = 86400
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WD = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
MO = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
      "nov.", "déc."]
FROM = "relais@example.org"


def fr(t):
    d = datetime.datetime.fromtimestamp(t, PARIS)
    day = "%d%s" % (d.day, "er" if d.day == 1 else "")
    return "%s %s %s à %dh%02d" % (WD[d.weekday()], day, MO[d.month - 1], d.hour, d.minute)


def local_at(days, hour, minute=0):
    d = datetime.datetime.now(PARIS).date() + datetime.timedelta(days=days)
    return int(datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=PARIS).timestamp())


def base(r):
    return "http://127.0.0.1:%d" % r.port


# --- the SMTP server ----------------------------------------------------------------
class Mailbox:
    """An aiosmtpd handler that keeps every message; REFUSE_RCPT, when set,
    is the answer to RCPT TO (e.g. "550 5.1.1 Mailbox unknown")."""

    def __init__(self):
        self.mails = []
        self.refuse_rcpt = None
        self.logins = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                               "raw": envelope.original_content or envelope.content})
        return "250 2.0.0 Ok: queued"


class _Controller(Controller):
    """aiosmtpd's threaded controller on a socket bound beforehand (port 0),
    so that the port is the test's from before the server starts until
    after it stops, across a stop and a start (test_smtp_down_is_retried)."""

    def __init__(self, handler, sock, **kw):
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kw)
        self.sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.sock,
                                       ssl=self.ssl_context)


class SMTPServer:
    def __init__(self, login=None):
        # While it is not started the socket is bound but not listening:
        # connections are refused, the port stays ours.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.box = Mailbox()
        self.login = login
        self.controller = None

    def _auth(self, server, session, envelope, mechanism, auth_data):
        ok = self.login is not None and (auth_data.login.decode(), auth_data.password.decode()) \
            == self.login
        self.box.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    def start(self):
        kw = {}
        if self.login:
            kw = {"authenticator": self._auth, "auth_required": True, "auth_require_tls": False}
        self.controller = _Controller(self.box, self.sock, **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None
        self.sock.close()

    @property
    def mails(self):
        with self.box.lock:
            return list(self.box.mails)


def smtp_config(smtp, extra=""):
    return ('plugins = {"sms", "email"}\n'
            'sms = {provider = "console"}\n'
            'email = {provider = "smtp", url = "smtp://127.0.0.1:%d", from = "%s"}\n'
            'quiet_hours = false\n' % (smtp.port, FROM)) + extra


def config(fn_of_smtp, start_smtp=True, login=None):
    def deco(test):
        test.config = fn_of_smtp
        test.start_smtp = start_smtp
        test.login = login
        return test
    return deco


def run(ns):
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = os.environ.get("ONLY")
    if only:
        tests = [t for t in tests if only in t[0]]
    print("TAP version 13")
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        smtp = SMTPServer(login=getattr(fn, "login", None))
        if getattr(fn, "start_smtp", True):
            smtp.start()
        extra = fn.config(smtp) if hasattr(fn, "config") else ""
        r = Relais(extra_config=smtp_config(smtp, extra))
        bad = False
        t0 = time.time()
        try:
            if not getattr(fn, "no_start", False):
                r.start()
            fn(r, smtp)
            print("ok %d - %s # %.1fs" % (i, name, time.time() - t0))
        except Exception:
            failed += 1
            bad = True
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            for line in r.read_log().splitlines()[-25:]:
                print("#   log: " + line)
        finally:
            try:
                r.stop(signal.SIGKILL if bad else signal.SIGTERM)
            except Exception as e:
                print("# stop: %s" % e)
            smtp.stop()
            sys.stdout.flush()
    sys.exit(1 if failed else 0)


# --- reading what arrived -------------------------------------------------------------
def mailer(r, first="Ana", address=None):
    local = re.sub(r"[^a-z]", "", first.lower()) or "x"
    return person(r, sms=False, tel=False, mail=address or "%s.%s@example.net" % (
        local, os.urandom(3).hex()), email_consent=True, first=first)


def unfold(ics):
    return re.sub(r"\r\n[ \t]", "", ics)


def ics_prop(ics, name):
    m = re.search(r"^%s(?:;[^:\r\n]*)?:(.*)$" % name, unfold(ics), re.M)
    return m.group(1).strip() if m else None


def read(mail):
    """Checks what every email must be and returns its parts."""
    raw = mail["raw"]
    assert b"\r\n" in raw and not re.search(rb"(?<!\r)\n", raw), "lines end with CRLF"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")), "no line over 998 octets"
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    assert max(head) < 128, "headers are ASCII (RFC 2047 for the rest): %r" % head
    m = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version"):
        assert m[h], "header %s missing" % h
    assert email.utils.parsedate_to_datetime(m["Date"]) is not None
    assert abs(email.utils.parsedate_to_datetime(m["Date"]).timestamp() - time.time()) < 120
    assert m["From"].addresses[0].addr_spec == FROM, m["From"]
    assert m["From"].addresses[0].display_name == "Relais", m["From"]
    assert mail["from"] == FROM, mail["from"]
    assert [a.addr_spec for a in m["To"].addresses] == mail["to"], (m["To"], mail["to"])
    out = {"msg": m, "subject": str(m["Subject"]), "message_id": m["Message-ID"]}
    if m.get_content_type() == "multipart/mixed":
        alt, attach = m.get_payload()
        assert alt.get_content_type() == "multipart/alternative", alt.get_content_type()
        assert attach.get_content_type() == "application/ics", attach.get_content_type()
        assert attach.get_filename() == "invite.ics"
        assert attach.get_content_disposition() == "attachment"
        out["attachment"] = attach.get_content()
    else:
        alt = m
        assert m.get_content_type() == "multipart/alternative", m.get_content_type()
    parts = alt.get_payload()
    types = [p.get_content_type() for p in parts]
    assert types[:2] == ["text/plain", "text/html"], types
    for p in parts[:2]:
        assert p.get_content_charset() == "utf-8", p["Content-Type"]
        assert p["Content-Transfer-Encoding"] == "quoted-printable", p["Content-Transfer-Encoding"]
    out["text"] = parts[0].get_content()
    out["html"] = parts[1].get_content()
    assert '<html lang="fr">' in out["html"], out["html"][:200]
    if len(parts) == 3:
        cal = parts[2]
        assert types[2] == "text/calendar", types
        assert cal.get_content_charset() == "utf-8"
        out["method"] = cal.get_param("method")
        out["ics"] = cal.get_payload(decode=True).decode("utf-8")
        assert ics_prop(out["ics"], "METHOD") == out["method"], (out["method"], out["ics"])
        att = out["attachment"]
        att = att.decode("utf-8") if isinstance(att, bytes) else att
        assert att.replace("\r\n", "\n").strip() == out["ics"].replace("\r\n", "\n").strip(), \
            "the attachment is the same invitation"
    else:
        assert len(parts) == 2, types
        assert "attachment" not in out, "an invitation is attached only with its text/calendar"
    return out


def notification_of(r, message_id):
    m = re.fullmatch(r"<([^@>]+)@127\.0\.0\.1>", message_id)
    assert m, "Message-ID is <idem_key@host of public_url>: %r" % message_id
    rows = r.db("SELECT id, enrollment_id, kind, status FROM notifications WHERE idem_key = ?",
                m.group(1))
    assert len(rows) == 1, (message_id, rows)
    return rows[0]


def session_at(r, start, minutes=120, title="Smartphone", venue_id=None, capacity=None):
    body = {"kind": "workshop", "title": title, "starts_at": iso(start),
            "ends_at": iso(start + minutes * 60)}
    if venue_id is not None:
        body["venue_id"] = venue_id
    if capacity is not None:
        body["capacity"] = capacity
    return r.ok("POST", "/api/v1/sessions", body)


# --- the tests --------------------------------------------------------------------
@config(lambda smtp: 'reminders = {confirmation = true, before = {"1h"}}\n'
                     'survey = {after = "1s"}\n')
def test_every_kind(r, smtp):
    v1 = venue(r, name="Médiathèque Bellevue", address="3 place de l'Église", commune="Chambéry")
    v2 = venue(r, name="Mairie annexe", address="1 rue du Port", commune="Chambéry")
    title = "Découvrir son smartphone"
    start = local_at(3, 14, 0)
    s = session_at(r, start, title=title, venue_id=v1, capacity=1)
    pa, pb = mailer(r, "Ana"), mailer(r, "Bénédicte")
    a = enroll(r, s["id"], pa["id"])
    b = enroll(r, s["id"], pb["id"])
    wait_status(r, a["id"], "confirmation", "sent", channel="email")
    wait_status(r, b["id"], "waitlisted", "sent", channel="email")
    new = local_at(4, 9, 30)
    r.ok("PATCH", "/api/v1/sessions/%d" % s["id"],
         {"starts_at": iso(new), "ends_at": iso(new + 2 * H), "venue_id": v2})
    wait_status(r, a["id"], "change", "sent", channel="email")
    r.ok("PATCH", "/api/v1/enrollments/%d" % a["id"], {"status": "cancelled"})
    wait_status(r, b["id"], "promoted", "sent", channel="email")
    r.ok("POST", "/api/v1/sessions/%d/cancel" % s["id"])
    wait_status(r, b["id"], "cancellation", "sent", channel="email")
    soon = int(time.time()) + H + 6
    s2 = session_at(r, soon, title="Tablette", venue_id=v1)
    c = enroll(r, s2["id"], mailer(r, "Chloé")["id"])
    held = int(time.time()) - 3 * H
    s3 = session_at(r, held, title="Messagerie", venue_id=v1)
    d = enroll(r, s3["id"], mailer(r, "Dan")["id"])
    r.ok("PATCH", "/api/v1/enrollments/%d" % d["id"], {"status": "attended"})
    wait_status(r, d["id"], "survey", "sent", channel="email")
    wait_status(r, c["id"], "reminder", "sent", channel="email", timeout=40)
    wait_until(lambda: len(smtp.mails) == 8, 5, "eight emails")

    expect = {  # (enrollment, kind) → (title, when, venue, link path, method)
        (a["id"], "confirmation"): (title, fr(start), "Médiathèque Bellevue", "/r/", "REQUEST"),
        (a["id"], "change"): (title, fr(new), "Mairie annexe", "/r/", "REQUEST"),
        # Told they wait, without an invitation: they have no place yet.
        (b["id"], "waitlisted"): (title, fr(start), "Médiathèque Bellevue", "/r/", None),
        (b["id"], "promoted"): (title, fr(new), "Mairie annexe", "/r/", "REQUEST"),
        (b["id"], "cancellation"): (title, fr(new), "Mairie annexe", "/r/", "CANCEL"),
        (c["id"], "confirmation"): ("Tablette", fr(soon), "Médiathèque Bellevue", "/r/",
                                    "REQUEST"),
        (c["id"], "reminder"): ("Tablette", fr(soon), "Médiathèque Bellevue", "/r/", "REQUEST"),
        (d["id"], "survey"): ("Messagerie", fr(held), "Médiathèque Bellevue", "/s/", None),
    }
    got = {}
    for mail in smtp.mails:
        parts = read(mail)
        nid, eid, kind, status = notification_of(r, parts["message_id"])
        assert status == "sent", status
        parts["rcpt"] = mail["to"][0]
        got[(eid, kind)] = parts
        assert one(r, eid, kind, channel="email")["provider_id"] == parts["message_id"]
    assert set(got) == set(expect), (sorted(got), sorted(expect))
    for key, (t, when, place, path, method) in expect.items():
        parts = got[key]
        kind = key[1]
        assert t in parts["subject"], (kind, parts["subject"])
        for where in ("text", "html"):
            body = parts[where]
            assert t in body and when in body and place in body, (kind, where, body)
            link = re.search(re.escape(base(r) + path) + r"[A-Za-z0-9_-]{16,}", body)
            assert link, "%s %s has no %s link" % (kind, where, path)
        assert 'href="%s' % (base(r) + path) in parts["html"], kind
        assert parts.get("method") == method, (kind, parts.get("method"))
    # The invitation follows the session: one UID, SEQUENCE rising with each
    # change, and the cancellation a CANCEL of the same event.
    conf, change = got[(a["id"], "confirmation")], got[(a["id"], "change")]
    promoted, cancel = got[(b["id"], "promoted")], got[(b["id"], "cancellation")]
    uid = ics_prop(conf["ics"], "UID")
    assert uid and all(ics_prop(p["ics"], "UID") == uid for p in (change, promoted, cancel))
    seq = [int(ics_prop(p["ics"], "SEQUENCE") or 0) for p in (conf, change, promoted, cancel)]
    assert seq[0] < seq[1] == seq[2] < seq[3], seq
    assert ics_prop(cancel["ics"], "STATUS") == "CANCELLED", cancel["ics"]
    # RFC 5546: an invitation names its organizer and the attendee it is for.
    for p in (conf, change, promoted, cancel):
        assert ics_prop(p["ics"], "ORGANIZER") == "mailto:" + FROM, p["ics"]
        assert ics_prop(p["ics"], "ATTENDEE") == "mailto:" + p["rcpt"], p["ics"]
    assert "Ne vous déplacez pas" in cancel["text"], cancel["text"]
    assert "Bonjour Bénédicte," in promoted["text"], promoted["text"]
    # Non-ASCII subjects travel as RFC 2047 encoded words and decode back.
    raw_head = smtp.mails[0]["raw"].split(b"\r\n\r\n", 1)[0]
    assert b"=?UTF-8?B?" in raw_head, raw_head
    log = r.read_log()
    for m in smtp.mails:
        assert m["to"][0] not in log, "no address in the log"


def test_smtp_5xx_fails(r, smtp):
    smtp.box.refuse_rcpt = "550 5.1.1 Mailbox unknown"
    p = mailer(r, "Eve")
    e = enroll(r, session_at(r, local_at(3, 10), venue_id=venue(r))["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "failed", channel="email")
    assert n["error"] == "smtp 550", n
    assert n["attempts"] == 1, "a permanent refusal is not retried: %r" % n
    assert smtp.mails == []
    assert p["email"] not in r.read_log()


@config(lambda smtp: '', start_smtp=False)
def test_smtp_down_is_retried(r, smtp):
    p = mailer(r, "Fanny")
    e = enroll(r, session_at(r, local_at(3, 10), venue_id=venue(r))["id"], p["id"])

    def first_failed():
        rows = notifs(r, e["id"], "confirmation", channel="email")
        return rows and rows[0]["status"] == "pending" and rows[0]["attempts"] == 1 and rows[0]
    n = wait_until(first_failed, 30, "the first attempt to fail")
    assert n["error"] and n["error"].startswith("smtp"), n
    assert p["email"] not in n["error"]
    smtp.start()
    n = wait_status(r, e["id"], "confirmation", "sent", channel="email", timeout=70)
    assert n["attempts"] == 2, n
    assert len(smtp.mails) == 1
    parts = read(smtp.mails[0])
    assert parts["message_id"] == n["provider_id"]
    assert notification_of(r, parts["message_id"])[0] == n["id"]
    assert p["email"] not in r.read_log()


@config(lambda smtp: 'email = {provider = "smtp", url = "smtp://127.0.0.1:%d", from = "Relais '
                     '<%s>", user = "relais", password = "s3cret"}\n' % (smtp.port, FROM),
        login=("relais", "s3cret"))
def test_smtp_authentication(r, smtp):
    e = enroll(r, session_at(r, local_at(3, 10), venue_id=venue(r))["id"], mailer(r)["id"])
    wait_status(r, e["id"], "confirmation", "sent", channel="email")
    assert smtp.box.logins and all(ok for _, ok in smtp.box.logins), smtp.box.logins
    read(smtp.mails[0])


@config(lambda smtp: 'email = {provider = "smtp", url = "smtp://127.0.0.1:%d", from = "%s", '
                     'user = "relais", password = "wrong"}\n' % (smtp.port, FROM),
        login=("relais", "s3cret"))
def test_smtp_login_refused_waits(r, smtp):
    e = enroll(r, session_at(r, local_at(3, 10), venue_id=venue(r))["id"], mailer(r)["id"])

    def tried():
        rows = notifs(r, e["id"], "confirmation", channel="email")
        return rows and rows[0]["attempts"] == 1 and rows[0]["status"] == "pending" and rows[0]
    n = wait_until(tried, 15, "the first attempt")
    assert n["error"] == "smtp 535: authentication", n
    assert smtp.mails == []
    assert "the server refused our login" in r.read_log()


@config(lambda smtp: 'email = {provider = "console"}\n')
def test_console_logs_without_the_address(r, smtp):
    p = mailer(r, "Gaëlle")
    e = enroll(r, session_at(r, local_at(3, 10), venue_id=venue(r))["id"], p["id"])
    n = wait_status(r, e["id"], "confirmation", "sent", channel="email")
    lines = [x for x in r.read_log().splitlines() if "email (console)" in x]
    assert len(lines) == 1 and "confirmation notification %d" % n["id"] in lines[0], lines
    log = r.read_log()
    assert p["email"] not in log and "Gaëlle" not in log
    assert smtp.mails == []


@config(lambda smtp: 'email = {provider = "smtp", from = "%s"}\n' % FROM)
@without_start
def test_bad_config_named_at_load(r, smtp):
    """A gateway setting missing is a mistake in the config file: the server
    does not start, and says which key (plugins/API.md)."""
    log = start_refused(r)
    assert "not started: email.url: is required" in log, log[-2000:]
    assert smtp.mails == []


if __name__ == "__main__":
    run(globals())
