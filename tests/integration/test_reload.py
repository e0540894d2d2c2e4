"""SIGHUP re-reads the configuration: limits (the connection cap decided at
accept included), body_limit, trusted_proxies, metrics.token,
links.expire_after, the log level and the notification rules apply at
once, plugins reload, and one log line says what changed and what waits for
a restart (listen, database, …); a file that does not load changes
nothing."""
import re
import signal
import socket
import time

from harness import run
from notify_util import metrics, metric_value
from test_surveys import issue

EXTRA_CONFIG = "limits = { pages_burst = 60, pages_per_minute = 60 }\n"
PAGE = "/r/" + "A" * 22          # no such link: 404, counted by the page limit
RELOADED = re.compile(r"^\S+ info main: reloaded (.*)$", re.M)


def page(r, xff=None):
    st, _, _ = r.req("GET", PAGE, token=None,
                     headers={"X-Forwarded-For": xff} if xff else None)
    assert st in (404, 429), st
    return st


def reload(r, extra=None):
    """Appends EXTRA to the configuration, sends SIGHUP and returns the
    reload's log line (or the refusal's)."""
    if extra:
        with open(r.config, "a") as f:
            f.write(extra)
    before = len(re.findall(r"main: reload", r.read_log()))
    r.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline:
        lines = [l for l in r.read_log().splitlines() if "main: reload" in l]
        if len(lines) > before:
            return lines[before]
        assert r.proc.poll() is None, "SIGHUP stopped the server:\n" + r.read_log()
        time.sleep(0.05)
    raise AssertionError("no reload line:\n" + r.read_log())


def test_limit_changes_at_once(r):
    assert [page(r) for _ in range(3)] == [404] * 3
    line = reload(r, "limits = { pages_burst = 2, pages_per_minute = 1 }\n")
    assert "changed limits.pages_per_minute, limits.pages_burst" in line, line
    assert "restart" not in line and "plugins reloaded" in line, line
    # The address keeps its bucket, cut down to the new burst: 2 more.
    assert [page(r) for _ in range(3)] == [404, 404, 429]
    # Back up: the bucket refills at the new rate, not at once.
    line = reload(r, "limits = { pages_burst = 60, pages_per_minute = 1 }\n")
    assert "changed limits.pages_burst" in line, line
    assert page(r) == 429
    # limits.clients makes new tables: every client starts afresh.
    line = reload(r, "limits = { pages_burst = 60, pages_per_minute = 1, clients = 64 }\n")
    assert "changed limits.clients" in line, line
    assert page(r) == 404


def test_body_limit_changes_at_once(r):
    # A valid body of 3000 bytes (JSON allows the spaces).
    big = '{"name": "Médiathèque"' + " " * 3000 + "}"
    json_h = {"Content-Type": "application/json"}
    st, out, _ = r.req("POST", "/api/v1/venues", raw=big, headers=json_h)
    assert st == 201, (st, out)
    line = reload(r, "body_limit = 2048\n")
    assert "changed body_limit" in line, line
    st, out, _ = r.req("POST", "/api/v1/venues", raw=big, headers=json_h)
    assert st == 413 and out["status"] == 413, (st, out)
    st, out, _ = r.req("POST", "/api/v1/venues", {"name": "Petite"})
    assert st == 201, (st, out)


def test_trusted_proxies_change_at_once(r):
    line = reload(r, "limits = { pages_burst = 2, pages_per_minute = 1 }\n")
    assert [page(r, "203.0.113.1"), page(r, "203.0.113.2"), page(r, "203.0.113.3")] \
        == [404, 404, 429], "the header is ignored before the reload"
    line = reload(r, 'trusted_proxies = { "127.0.0.1/32" }\n')
    assert "changed trusted_proxies" in line, line
    assert page(r, "203.0.113.3") == 404
    assert page(r, "203.0.113.4") == 404


def test_restart_keys_are_named_and_kept(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "CCAS de Chambéry"})
    line = reload(r, 'listen = "127.0.0.1:1"\ndatabase = "%s/other.db"\n'
                     'log_level = "warn"\ntimezone = "UTC"\n'
                     'quiet_hours = false\nreminders = { before = { "24h" } }\n' % r.dir)
    m = re.search(r"changed (.*); plugins reloaded; changed but kept until a restart: (.*)$",
                  line)
    assert m, line
    assert m.group(1) == "log_level, quiet_hours, reminders", line
    assert m.group(2) == "listen, database, timezone", line
    # Still the same server, port and database.
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"])["name"] == "CCAS de Chambéry"
    # The new log level is in force: no more access lines (info).
    time.sleep(0.2)
    after = r.read_log().split(line, 1)[1]
    assert "GET /api/v1/venues/{id}" not in after, after


def test_nothing_changed_says_so(r):
    line = reload(r)
    assert "no setting changed; plugins reloaded" in line, line
    assert "restart" not in line, line


def test_bad_file_changes_nothing(r):
    assert [page(r) for _ in range(2)] == [404] * 2
    line = reload(r, "limits = { pages_burst = 1 }\nlimits_typo = 3\n")
    assert "reload refused" in line and "'limits_typo'" in line, line
    # The running limits stay (a burst of 60, not 1).
    assert [page(r) for _ in range(3)] == [404] * 3
    assert r.req("GET", "/health", token=None)[0] == 200


def held_now(r):
    """Connections open on the server, the /metrics request's own aside."""
    text = metrics(r)
    return int(metric_value(text, "relais_http_connections_total", event="opened")
               - metric_value(text, "relais_http_connections_total", event="closed") - 1)


def one_byte_from(addresses, port):
    """A connection from each loopback address, one byte of a request sent."""
    socks = []
    for a in addresses:
        s = socket.socket()
        s.bind((a, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.send(b"G")
        socks.append(s)
    return socks


def test_connection_cap_changes_at_once(r):
    """limits.connections is decided at accept, per client address: a reload
    raising it lets that many addresses in (the table of connections per
    address grows with it: with the start's table, the 65th address hung
    the server), and lowering it refuses newcomers at once."""
    r.stop()
    with open(r.config, "a") as f:
        f.write("limits = { connections = 16, pages_burst = 60, pages_per_minute = 60 }\n")
    r.start()
    line = reload(r, "limits = { connections = 200, pages_burst = 60, pages_per_minute = 60 }\n")
    assert "changed limits.connections" in line, line
    socks = one_byte_from(["127.0.0.%d" % i for i in range(10, 90)], r.port)
    try:
        time.sleep(0.5)
        st, _, _ = r.req("GET", "/health", token=None, timeout=10)
        assert st == 200, st
        assert held_now(r) >= 80, "the 80 addresses are held under the raised cap"
        line = reload(r, "limits = { connections = 20, pages_burst = 60, "
                         "pages_per_minute = 60 }\n")
        assert "changed limits.connections" in line, line
        late = socket.create_connection(("127.0.0.1", r.port), timeout=10)
        late.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        got = late.recv(4096)
        late.close()
        assert got.startswith(b"HTTP/1.1 503"), got[:200]
    finally:
        for s in socks:
            s.close()
    deadline = time.time() + 10
    while True:
        try:
            if r.req("GET", "/health", token=None, timeout=5)[0] == 200:
                break
        except OSError:
            pass
        assert time.time() < deadline, "no /health once the connections closed"
        time.sleep(0.2)


def test_metrics_token_and_links_change_at_once(r):
    """metrics = {token} and links = {expire_after} (issue 12) are read where
    they apply: a reload changes them at once, and the line names them,
    never the token."""
    assert r.req("GET", "/metrics", token=None)[0] == 200
    line = reload(r, 'metrics = { token = "reload-metrics-token-0123" }\n'
                     'links = { expire_after = "2h" }\n')
    assert "changed links.expire_after, metrics.token" in line, line
    assert "restart" not in line, line
    assert r.req("GET", "/metrics", token=None)[0] == 401
    assert r.req("GET", "/metrics", token="reload-metrics-token-0123")[0] == 200
    # A link of a session that ended three hours ago: expired under 2h.
    now = int(time.time())
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    s = r.ok("POST", "/api/v1/sessions", {"kind": "workshop", "title": "Tablette",
                                           "starts_at": iso(now - 4 * 3600),
                                           "ends_at": iso(now - 3 * 3600)})
    b = r.ok("POST", "/api/v1/beneficiaries", {"first_name": "Lina", "last_name": "Roux",
                                                "phone": "0612345678"})
    e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"], {"beneficiary_id": b["id"]})
    token = issue(r, e["id"], "r")
    assert r.req("GET", "/r/" + token, token=None)[0] == 410
    line = reload(r, 'metrics = {}\nlinks = { expire_after = "90d" }\n')
    assert "changed links.expire_after, metrics.token" in line, line
    assert r.req("GET", "/metrics", token=None)[0] == 200
    assert r.req("GET", "/r/" + token, token=None)[0] == 200
    assert "reload-metrics-token" not in r.read_log()


if __name__ == "__main__":
    run(globals())
