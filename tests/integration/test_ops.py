"""Operations: /health, /metrics, signals, the access log (one line per
request, never personal data or tokens), and restarts keeping the data."""
import re
import signal
import time

from harness import run

# An access-log line: method, then the route (or path), then the status.
ACCESS = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ [1-5]\d\d\b")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? '
                    r'([-+]?[0-9.]+(?:[eE][-+]?\d+)?|[-+]Inf|NaN)(?: -?\d+)?$')
LABEL = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?')


def access_lines(r):
    return [line for line in r.read_log().splitlines() if ACCESS.search(line)]


def metrics(r):
    st, text, hdrs = r.req("GET", "/metrics", token=None)
    assert st == 200, (st, text)
    assert hdrs["content-type"].startswith("text/plain"), hdrs
    assert "version=0.0.4" in hdrs["content-type"], hdrs
    return text


def samples(text):
    """(name, labels dict, value) of every sample line; checks the syntax."""
    out = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            assert len(line.split()) == 4, line
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample: %r" % line
        labels = m.group(2) or ""
        assert LABEL.sub("", labels) == "", "bad labels: %r" % line
        out.append((m.group(1), dict(LABEL.findall(labels)), float(m.group(3))))
    return out


def test_health(r):
    st, out, hdrs = r.req("GET", "/health", token=None)
    assert st == 200 and out == {"status": "ok"}, (st, out)
    assert hdrs["content-type"].startswith("application/json"), hdrs
    # A token is not needed, and a bad one does not matter.
    st, out, _ = r.req("GET", "/health", token="rls_" + "z" * 43)
    assert st == 200, (st, out)


def test_metrics(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Bibliothèque de Bellevue"})
    for _ in range(3):
        r.ok("GET", "/api/v1/venues")
    r.ok("GET", "/api/v1/venues/%d" % v["id"])
    st, _, _ = r.req("GET", "/api/v1/venues/424242")
    assert st == 404
    st, _, _ = r.req("GET", "/no/such/page/0612345678")
    assert st == 404
    text = metrics(r)
    got = samples(text)
    # Requests by route (the pattern, never the raw path) and status.
    by = {}
    for name, labels, value in got:
        vals = set(labels.values())
        if "/api/v1/venues" in vals and "200" in vals:
            by.setdefault(("list", name), value)
        if "/api/v1/venues/{id}" in vals and "404" in vals:
            by.setdefault(("one404", name), value)
    assert any(k[0] == "list" and val >= 3 for k, val in by.items()), \
        "no count of GET /api/v1/venues 200 ≥ 3 in:\n" + text
    assert any(k[0] == "one404" and val >= 1 for k, val in by.items()), \
        "no count of /api/v1/venues/{id} 404 in:\n" + text
    for raw_path in ("/api/v1/venues/424242", "/no/such/page", "0612345678"):
        assert raw_path not in text, "raw path %r in metrics" % raw_path
    # A latency histogram: TYPE histogram, cumulative buckets up to +Inf,
    # _sum and _count, +Inf equal to _count.
    hists = re.findall(r"^# TYPE (\S+) histogram$", text, re.M)
    assert hists, "no histogram in:\n" + text
    h = hists[0]
    buckets = [(labels, value) for name, labels, value in got if name == h + "_bucket"]
    assert buckets and all("le" in lb for lb, _ in buckets), buckets
    assert any(lb["le"] == "+Inf" for lb, _ in buckets), buckets
    series = {}
    for lb, value in buckets:
        key = tuple(sorted((k, x) for k, x in lb.items() if k != "le"))
        series.setdefault(key, []).append((float(lb["le"]), value))
    for key, pts in series.items():
        pts.sort()
        assert all(a[1] <= b[1] for a, b in zip(pts, pts[1:])), "not cumulative: %r" % pts
        count = [value for name, lb, value in got if name == h + "_count"
                 and tuple(sorted(lb.items())) == key]
        assert count and count[0] == pts[-1][1], (key, count, pts[-1])
    assert any(name == h + "_sum" for name, _, _ in got), "no %s_sum" % h
    # Counters only grow.
    before = {(n, tuple(sorted(lb.items()))): val for n, lb, val in got}
    r.ok("GET", "/api/v1/venues")
    after = {(n, tuple(sorted(lb.items()))): val for n, lb, val in samples(metrics(r))}
    grew = [k for k in before if k in after and after[k] > before[k]]
    assert grew, "no series grew after one more request"


def test_sigterm_exits_cleanly(r):
    r.ok("POST", "/api/v1/venues", {"name": "Maison de quartier du Piochet"})
    rc = r.stop(signal.SIGTERM)
    assert rc == 0, "exit status %r on SIGTERM\n%s" % (rc, r.read_log())
    log = r.read_log()
    assert re.search(r"stopp", log, re.I), "no stopping/stopped line:\n" + log
    assert not re.search(r"^\S+ error ", log, re.M), "errors while stopping:\n" + log


def test_sigint_exits_cleanly(r):
    rc = r.stop(signal.SIGINT)
    assert rc == 0, "exit status %r on SIGINT\n%s" % (rc, r.read_log())


def test_sighup_keeps_serving(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "CCAS de Chambéry"})
    r.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert r.proc.poll() is None, "SIGHUP stopped the server:\n" + r.read_log()
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"])["name"] == "CCAS de Chambéry"
    assert r.req("GET", "/health", token=None)[0] == 200


def test_access_log_one_line_per_request(r):
    time.sleep(0.2)
    start = len(access_lines(r))
    reqs = [("GET", "/health", None, None), ("GET", "/api/v1/venues", None, "admin"),
            ("POST", "/api/v1/venues", {"name": "Espace numérique"}, "admin"),
            ("POST", "/api/v1/venues", {"name": 5}, "admin"),
            ("GET", "/api/v1/venues", None, None), ("GET", "/api/v1/nothing", None, "admin"),
            ("DELETE", "/api/v1/venues", None, "admin"), ("GET", "/metrics", None, None)]
    for method, path, body, token in reqs:
        r.req(method, path, body, token=token)
    deadline = time.time() + 3
    while len(access_lines(r)) < start + len(reqs) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    lines = access_lines(r)[start:]
    assert len(lines) == len(reqs), "want %d access lines, got:\n%s" % (
        len(reqs), "\n".join(lines))
    for (method, _, _, _), line, status in zip(reqs, lines, (200, 200, 201, 422, 401, 404,
                                                            405, 200)):
        assert method in line and str(status) in line, (method, status, line)


def test_access_log_keeps_personal_data_out(r):
    first, last, phone = "Zéphyrine", "Quatremaire", "06 98 76 54 32"
    email = "zephyrine.quatremaire@example.org"
    p = r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": first, "last_name": last, "phone": phone, "email": email,
        "external_id": "FT-77812", "prescriber": "France Travail"})
    r.ok("GET", "/api/v1/beneficiaries?q=0698765432")
    r.ok("GET", "/api/v1/beneficiaries?q=%2B33698765432")
    r.ok("GET", "/api/v1/beneficiaries?q=" + "Quatremaire")
    r.ok("GET", "/api/v1/beneficiaries?q=z%C3%A9phyrine")
    r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])
    r.ok("GET", "/api/v1/beneficiaries/%d/export" % p["id"])
    r.ok("PATCH", "/api/v1/beneficiaries/%d" % p["id"], {"phone": "07 11 22 33 99"})
    # Invalid input is not echoed to the log either.
    st, _, _ = r.req("POST", "/api/v1/beneficiaries",
                     {"first_name": first, "last_name": last, "phone": "06 98 76 5"})
    assert st == 422
    bogus = "rls_Quatremaire" + "Q" * 28
    assert r.req("GET", "/api/v1/venues", token=bogus)[0] == 401
    r.req("GET", "/api/v1/no/such/0698765432")
    r.req("GET", "/api/v1/beneficiaries/0698765432")
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % p["id"], expect=204)
    time.sleep(0.3)
    log = r.read_log()
    assert len(access_lines(r)) >= 12, log
    secrets = [first, "Zephyrine", "zéphyrine", "zephyrine", last, "quatremaire", "QUATREMAIRE",
               "0698765432", "698765432", "98 76 54 32", "%2B33", "0711223399", "711223399",
               "11 22 33 99", email, "FT-77812", "0698765", bogus, bogus[4:],
               r.tokens["admin"], r.tokens["admin"][4:], r.tokens["coordinator"]]
    for s in secrets:
        assert s not in log, "%r found in the log:\n%s" % (s, log)


def test_restart_keeps_data(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Médiathèque des Tournelles",
                                        "commune": "Saint-Alban-Leysse"})
    p = r.ok("POST", "/api/v1/beneficiaries", {"first_name": "Odette", "last_name": "Curtet",
                                               "phone": "0611223344", "consent_sms": True})
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Internet", "venue_id": v["id"], "capacity": 1,
        "starts_at": "2030-03-05T14:00:00+01:00", "ends_at": "2030-03-05T16:00:00+01:00"})
    e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"], {"beneficiary_id": p["id"]})
    old_admin = r.tokens["admin"]
    assert r.stop() == 0, r.read_log()
    r.start()
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"], token=old_admin) == \
        r.ok("GET", "/api/v1/venues/%d" % v["id"])
    got = r.ok("GET", "/api/v1/beneficiaries/%d" % p["id"])
    assert got["phone"] == "+33611223344" and got["consent_sms"] is True, got
    got = r.ok("GET", "/api/v1/sessions/%d" % s["id"])
    assert got["starts_at"] == "2030-03-05T13:00:00Z" and got["booked"] == 1, got
    assert r.ok("GET", "/api/v1/enrollments/%d" % e["id"])["status"] == "booked"


if __name__ == "__main__":
    run(globals())
