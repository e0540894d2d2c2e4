"""Shared helpers of the notification tests: a TAP runner that starts, for
each test, a gateway simulator and a relais whose config points the twilio
SMS provider at it, plus small API helpers.

    from notify_util import run, with_config
    @with_config('quiet_hours = false\n')
    def test_x(r, sim): ...
    if __name__ == "__main__":
        run(globals())
"""
import datetime
import json
import os
import re
import signal
import sys
import time
import traceback
import http.client

from harness import Relais, SRC
from gateway_sim import GatewaySim

BASE = 1_000_000    # offset of test phone numbers


def sms_table(sim, more=""):
    """The sms = {…} line of a twilio provider pointed at SIM."""
    return ('sms = {provider = "twilio", url = "%s", account_sid = "%s", auth_token = "%s", '
            'from = "RELAIS"%s}\n' % (sim.url, sim.account_sid, sim.auth_token, more))


def sim_config(sim, extra=""):
    """The config lines of a relais sending SMS through SIM (quiet hours off
    unless EXTRA sets them: the tests must not depend on the hour)."""
    return ('plugins = {"sms", "email"}\n' + sms_table(sim) +
            'email = {provider = "console"}\n'
            'quiet_hours = false\n') + extra


def with_config(extra):
    """Decorator: config lines added after sim_config's (a later assignment
    of the same key wins in Lua); EXTRA may be a function of the simulator."""
    def deco(fn):
        fn.extra_config = extra
        return fn
    return deco


def without_start(fn):
    """Decorator: the runner does not start relais; the test does, with
    r.start() or start_refused(r)."""
    fn.no_start = True
    return fn


def start_refused(r):
    """Starts relais (serve) expecting it to stop at once with status 1;
    returns its log."""
    try:
        r.start()
    except AssertionError as e:
        assert "relais exited at start" in str(e), e
        assert r.proc.returncode == 1, "exit status %r" % r.proc.returncode
        return r.read_log()
    raise AssertionError("relais started with a configuration it should refuse")


def run(ns):
    """Runs every test_* of NS, each with a fresh simulator and server; TAP."""
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = os.environ.get("ONLY")
    if only:
        tests = [t for t in tests if only in t[0]]
    print("TAP version 13")
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        sim = GatewaySim(auth_token="tok-" + os.urandom(6).hex())
        sim.start()
        extra = getattr(fn, "extra_config", "")
        if callable(extra):
            extra = extra(sim)
        r = Relais(extra_config=sim_config(sim, extra))
        bad = False
        t0 = time.time()
        try:
            if not getattr(fn, "no_start", False):
                r.start()
            fn(r, sim)
            print("ok %d - %s # %.1fs" % (i, name, time.time() - t0))
        except Exception:
            failed += 1
            bad = True
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            # The request lines of the polling would hide the rest.
            lines = [ln for ln in r.read_log().splitlines() if " info http: " not in ln]
            for line in lines[-30:]:
                print("#   log: " + line)
        finally:
            try:
                r.stop(signal.SIGKILL if bad else signal.SIGTERM)
            except Exception as e:
                print("# stop: %s" % e)
            r.sock.close()    # the port it held (its files stay for a look)
            sim.stop()
            sys.stdout.flush()
    sys.exit(1 if failed else 0)


# --- time ---------------------------------------------------------------------
def iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def wait_until(pred, timeout=15.0, what="condition", step=0.05):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(step)


# --- API helpers ----------------------------------------------------------------
_seq = [0]


def phone():
    """A fresh valid French mobile number in E.164."""
    _seq[0] += 1
    return "+336%08d" % (BASE + os.getpid() % 1000 * 10000 + _seq[0])


def venue(r, name="Médiathèque", address="1 rue de la Paix", commune="Lyon"):
    return r.ok("POST", "/api/v1/venues", {"name": name, "address": address,
                                           "commune": commune})["id"]


def person(r, sms=True, tel=None, mail=None, email_consent=False, first="Ana"):
    body = {"first_name": first, "last_name": "Test", "consent_sms": sms,
            "consent_email": email_consent}
    if tel is not False:
        body["phone"] = tel or phone()
    if mail:
        body["email"] = mail
    return r.ok("POST", "/api/v1/beneficiaries", body)


def session(r, starts_in, minutes=120, venue_id=None, capacity=None, title="Smartphone",
            kind="workshop"):
    start = int(time.time()) + int(starts_in)
    body = {"kind": kind, "title": title, "starts_at": iso(start),
            "ends_at": iso(start + minutes * 60)}
    if venue_id is not None:
        body["venue_id"] = venue_id
    if capacity is not None:
        body["capacity"] = capacity
    s = r.ok("POST", "/api/v1/sessions", body)
    return s


def enroll(r, session_id, beneficiary_id):
    return r.ok("POST", "/api/v1/sessions/%d/enrollments" % session_id,
                {"beneficiary_id": beneficiary_id}, expect=201)


def notifs(r, enrollment_id, kind=None, channel="sms"):
    out = r.ok("GET", "/api/v1/enrollments/%d/notifications" % enrollment_id)
    items = out["items"] if isinstance(out, dict) else out
    return [n for n in items if (kind is None or n["kind"] == kind)
            and (channel is None or n["channel"] == channel)]


def one(r, enrollment_id, kind, channel="sms", status=None):
    """The single notification of KIND (optionally only those in STATUS)."""
    ns = [n for n in notifs(r, enrollment_id, kind, channel)
          if status is None or n["status"] == status]
    assert len(ns) == 1, "expected one %s %s, got %r" % (kind, status or "", ns)
    return ns[0]


ACTIVE = ("pending", "sending", "sent", "delivered", "failed")


def active(r, enrollment_id, kind, channel="sms"):
    return [n for n in notifs(r, enrollment_id, kind, channel) if n["status"] in ACTIVE]


def wait_status(r, enrollment_id, kind, status, timeout=15.0, channel="sms"):
    def check():
        ns = [n for n in notifs(r, enrollment_id, kind, channel) if n["status"] == status]
        return ns[0] if ns else None
    return wait_until(check, timeout, "%s of enrollment %d to be %s" % (kind, enrollment_id,
                                                                          status))


def link_re(r):
    return re.compile(re.escape("http://127.0.0.1:%d/r/" % r.port) + r"([A-Za-z0-9_-]{16,})")


def metrics(r):
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert st == 200, st
    return text


def metric_value(text, name, **labels):
    """Sum of the samples of NAME whose labels include LABELS."""
    total = 0.0
    found = False
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        lab = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(lab.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
            found = True
    return total if found else None


def health_ms(port, timeout=5.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    try:
        c.request("GET", "/health")
        res = c.getresponse()
        res.read()
        assert res.status == 200, res.status
    finally:
        c.close()
    return (time.perf_counter() - t0) * 1000.0


def dumps(v):
    return json.dumps(v, ensure_ascii=False)
