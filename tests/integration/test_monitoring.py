"""What docs/operations.md tells an administrator to watch: the series its
alert rules and its list name exist in /metrics, and
relais_outbox_oldest_due_seconds says when notifications that are due do
not leave (here: no SMS gateway loaded, as after a broken install)."""
import datetime
import os
import re
import time

from harness import SRC, run

# No sms plugin: an SMS that is due has nothing to send it. One plugin, so
# that the per-plugin series exist.
EXTRA_CONFIG = 'quiet_hours = false\nplugins = { "reports" }\n'


def metrics(r):
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert st == 200, st
    return text


def value(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in:\n%s" % (series, text))


def test_oldest_due_says_notifications_are_stuck(r):
    text = metrics(r)
    assert value(text, 'relais_outbox_oldest_due_seconds{channel="sms"}') == 0
    v = r.ok("POST", "/api/v1/venues", {"name": "Maison des associations"})
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Premiers pas", "venue_id": v["id"], "capacity": 8,
        "starts_at": start.strftime("%Y-%m-%dT%H:00:00Z"),
        "ends_at": (start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:00:00Z")})
    b = r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": "Odette", "last_name": "Perrier", "phone": "06 12 34 56 78",
        "consent_sms": True})
    e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"], {"beneficiary_id": b["id"]})
    pending = [n for n in r.ok("GET", "/api/v1/enrollments/%d/notifications" % e["id"])["items"]
               if n["kind"] == "confirmation" and n["channel"] == "sms"]
    assert pending and pending[0]["status"] == "pending", pending
    time.sleep(2.2)
    text = metrics(r)
    assert value(text, 'relais_outbox_oldest_due_seconds{channel="sms"}') >= 2, text
    # Nothing is due by e-mail (no consent): not late.
    assert value(text, 'relais_outbox_oldest_due_seconds{channel="email"}') == 0
    # The reminders due days ahead are in the depth, not in the lateness.
    assert value(text, "relais_outbox_depth") >= 3, text


def test_documented_series_exist(r):
    r.ok("GET", "/api/v1/venues")           # a request series and a histogram
    try:                                     # and a refusal (431: a head too large)
        st, _, _ = r.req("GET", "/health", token=None, headers={"X-Big": "x" * 40000})
        assert st == 431, st
    except ConnectionError:
        pass                                 # answered, then closed before we read it
    text = metrics(r)
    have = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    with open(os.path.join(SRC, "docs", "operations.md")) as f:
        doc = f.read()
    named = set(re.findall(r"\brelais_[a-z][a-z0-9_]*", doc))
    named = {n for n in named if not n.endswith("_")}          # "relais_wal_*"
    assert len(named) >= 10, named
    missing = []
    for n in sorted(named):
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        if n not in have and base not in have:
            missing.append(n)
    assert not missing, "docs/operations.md names series /metrics lacks: %s" % missing


if __name__ == "__main__":
    run(globals())
