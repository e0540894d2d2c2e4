"""Hostile clients and the server's limits (etc/relais.conf.lua, limits = {…}):
header size (431), open connections (503), slow requests (408 or closed),
keep-alive idle time-out, the per-address rate limits on /r/ and /s/ (429)
and on wrong tokens (429), bare TCP probes that never send a byte, many
clients at once, raw invalid UTF-8 in the request head, hostile bodies on
the routes test_errors does not sweep. After each, /health answers and
nothing stored has changed. (test_errors covers the error statuses, bodies
over the limit and hostile JSON on venues and beneficiaries.)"""
import json
import re
import socket
import threading
import time

from harness import run
from test_errors import alive, raw_http, raw_problem, short, snapshot, when

LIMITS = ("limits = {header_size = 4096, connections = 64, request_timeout = \"2s\", "
          "idle_timeout = \"3s\", pages_per_minute = 20, pages_burst = 5, "
          "auth_failures = 10}\n")
EXTRA_CONFIG = LIMITS


def metrics(r):
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert st == 200, st
    return text


def metric(r, name, text=None, **labels):
    """The value of one series of /metrics (0 when absent)."""
    want = "relais_" + name
    if labels:
        want += "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
    for line in (text or metrics(r)).splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0


def open_now(r):
    """Connections the server holds a record for, less the one asking."""
    text = metrics(r)
    return (metric(r, "http_connections_total", text, event="opened")
            - metric(r, "http_connections_total", text, event="closed") - 1)


def settle(r, want=0, within=10.0):
    deadline = time.time() + within
    while True:
        n = open_now(r)
        if n <= want or time.time() > deadline:
            return n
        time.sleep(0.1)


def read_all(s, timeout=10.0):
    """Everything the server sends until it closes (or TIMEOUT)."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def parse(data):
    """(status, headers, body) of the first answer in DATA."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def a_venue(r):
    return r.ok("POST", "/api/v1/venues", {"name": "Centre social du Biollay",
                                           "commune": "Chambéry", "aptic": True})


def some_data(r):
    """A venue, a person, a session and an enrollment: something to keep."""
    v = a_venue(r)
    p = r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": "Monique", "last_name": "Jacquier", "phone": "06 11 22 33 44",
        "birth_year": 1950, "gender": "F", "consent_sms": True})
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "venue_id": v["id"],
        "starts_at": when(3), "ends_at": when(3, 16), "capacity": 8})
    e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"], {"beneficiary_id": p["id"]})
    return v, p, s, e


# --- bare TCP probes: the per-connection record must go ---------------------

def test_bare_tcp_probes_leave_nothing(r):
    before = snapshot(r)
    assert settle(r) == 0
    for _ in range(3):
        socks = [socket.create_connection(("127.0.0.1", r.port)) for _ in range(12)]
        time.sleep(0.2)
        for s in socks:
            s.close()
        # Half-open: connect, shut the sending side, never read.
        s = socket.create_connection(("127.0.0.1", r.port))
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.1)
        s.close()
        alive(r)
    assert settle(r) == 0, "connections never freed: %d" % open_now(r)
    # One that stays silent is dropped by the idle time-out, record too.
    s = socket.create_connection(("127.0.0.1", r.port))
    assert read_all(s, timeout=8) == b""
    s.close()
    assert settle(r) == 0
    assert snapshot(r) == before


# --- header size --------------------------------------------------------------

def test_431_header_size(r):
    before = snapshot(r)
    base = b"GET /health HTTP/1.1\r\nHost: x\r\n"
    # Just under the limit (4096 bytes of head with the blank line): fine.
    pad = 4096 - len(base) - len(b"X-Pad: \r\n\r\n")
    st, _, _ = raw_http(r, base + b"X-Pad: " + b"p" * pad + b"\r\n\r\n")
    assert st == 200, st
    for head in (base + b"X-Pad: " + b"p" * (pad + 1) + b"\r\n\r\n",   # one byte over
                 base + b"X-H: v\r\n" * 1000 + b"\r\n",                 # many small ones
                 b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # the line
                 base + b"X-Big: " + b"b" * 100000):                    # never ends
        got = raw_http(r, head, timeout=10)
        raw_problem(431, got)
        assert got[1].get("connection") == "close", got[1]
    # An API request with a huge Authorization header is refused the same.
    got = raw_http(r, b"GET /api/v1/venues HTTP/1.1\r\nAuthorization: Bearer "
                   + b"t" * 8000 + b"\r\n\r\n")
    raw_problem(431, got)
    assert metric(r, "http_refused_total", reason="header_size") >= 5
    alive(r)
    assert snapshot(r) == before


# --- open connections ---------------------------------------------------------

def test_503_connection_cap(r):
    some_data(r)
    before = snapshot(r)
    assert settle(r) == 0
    held = [socket.create_connection(("127.0.0.1", r.port)) for _ in range(64)]
    try:
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", r.port))
        st, hdrs, body = parse(read_all(extra, timeout=5))
        extra.close()
        assert st == 503, (st, body)
        assert hdrs.get("content-type", "").startswith("application/problem+json")
        assert hdrs.get("retry-after") == "1", hdrs
        assert json.loads(body)["status"] == 503
        # The held connections still work, each on its own.
        req = (b"GET /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
               + r.tokens["admin"].encode() + b"\r\nConnection: close\r\n\r\n")
        for s in held[:4]:
            s.sendall(req)
            st, _, body = parse(read_all(s))
            assert st == 200, (st, short(body))
    finally:
        for s in held:
            s.close()
    assert settle(r) == 0
    assert metric(r, "http_refused_total", reason="connections") >= 1
    alive(r)
    assert snapshot(r) == before


def test_many_clients_at_once(r):
    """Sixty clients at once on a server capped at 64: all served."""
    v, p, s, e = some_data(r)
    before = snapshot(r)
    results = []

    def client(i):
        try:
            if i % 3 == 0:
                st, _, _ = r.req("GET", "/api/v1/sessions/%d/enrollments" % s["id"])
            elif i % 3 == 1:
                st, _, _ = r.req("POST", "/api/v1/venues", raw=b"{\"name\": \xff}",
                                 headers={"Content-Type": "application/json"})
            else:
                st, _, _ = r.req("GET", "/health", token=None)
            results.append(st)
        except OSError as ex:
            results.append(repr(ex))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(set(map(str, results))) == ["200", "400"], results
    assert len(results) == 60
    alive(r)
    assert snapshot(r) == before
    assert settle(r) == 0


# --- slow clients ---------------------------------------------------------------

def dribble(r, data, pause):
    """Sends DATA one byte at a time, PAUSE seconds apart, until the server
    answers or closes; returns what it sent back and the seconds taken."""
    s = socket.create_connection(("127.0.0.1", r.port))
    t0 = time.time()
    got = b""
    try:
        s.settimeout(pause)
        for i in range(len(data)):
            try:
                s.sendall(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                break
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
        got += read_all(s, timeout=5)
    finally:
        s.close()
    return got, time.time() - t0


def test_408_slow_head_and_body(r):
    before = snapshot(r)
    tok = r.tokens["admin"].encode()
    head = (b"GET /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
            + b"\r\nX-Slow: " + b"s" * 200 + b"\r\n\r\n")
    got, secs = dribble(r, head, 0.3)
    assert 1.5 < secs < 6, secs
    st, hdrs, out = parse(got)
    assert st == 408 and json.loads(out)["status"] == 408, (st, out)
    assert hdrs.get("connection") == "close", hdrs
    body = b'{"name": "Lent", "commune": "Chambery"}' + b" " * 100
    post = (b"POST /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
            + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    s = socket.create_connection(("127.0.0.1", r.port))
    s.sendall(post)
    got, secs = b"", 0
    t0 = time.time()
    try:
        for i in range(len(body)):
            s.sendall(body[i:i + 1])
            time.sleep(0.1)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = read_all(s, timeout=5)
    s.close()
    secs = time.time() - t0
    assert secs < 8, secs
    if got:
        assert parse(got)[0] == 408, short(got)
    assert metric(r, "http_refused_total", reason="request_timeout") >= 2
    alive(r)
    assert snapshot(r) == before   # the slow venue was never made


def test_slow_but_in_time_is_served(r):
    tok = r.tokens["admin"].encode()
    body = b'{"name": "Patient", "commune": "Chambery"}'
    req = (b"POST /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
           + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
           b"Connection: close\r\n\r\n" % len(body) + body)
    s = socket.create_connection(("127.0.0.1", r.port))
    step = len(req) // 5 + 1
    for i in range(0, len(req), step):   # about 0.6 s in all, within the 2 s
        s.sendall(req[i:i + step])
        time.sleep(0.15)
    st, _, out = parse(read_all(s))
    s.close()
    assert st == 201, short(out)
    assert r.db("SELECT count(*) FROM venues")[0][0] == 1


def test_keepalive_idle_timeout(r):
    req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", r.port))
    s.sendall(req)
    s.settimeout(5)
    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    # Idle well within request_timeout after a request: still open.
    time.sleep(1)
    s.sendall(req)
    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    # Idle past idle_timeout (3 s): closed by the server.
    t0 = time.time()
    assert read_all(s, timeout=10) == b""
    assert 2 < time.time() - t0 < 8
    s.close()
    assert settle(r) == 0


# --- rate limits ------------------------------------------------------------------

def test_429_pages_per_address(r):
    before = snapshot(r)
    statuses = [r.req("GET", "/r/not-a-token-%d" % i, token=None)[0] for i in range(5)]
    assert all(st != 429 for st in statuses), statuses
    for path in ("/r/not-a-token", "/s/not-a-token", "/r/x/cancel"):
        st, out, hdrs = r.req("GET", path, token=None)
        assert st == 429, (path, st, out)
        # A page for people (issue 15): French HTML, not the API's problem.
        assert "<h1>Trop de demandes</h1>" in out, out
        assert hdrs.get("content-type", "") == "text/html; charset=utf-8", hdrs
        assert hdrs.get("retry-after") in ("1", "2", "3"), hdrs
    st, _, _ = r.req("POST", "/r/x/cancel", token=None)
    assert st == 429
    # Other paths are not limited by it.
    alive(r)
    assert r.req("GET", "/api/v1/venues")[0] == 200
    assert metric(r, "http_refused_total", reason="pages") >= 4
    # Three seconds later (20 a minute) one page more.
    time.sleep(3.1)
    assert r.req("GET", "/r/not-a-token", token=None)[0] != 429
    assert r.req("GET", "/r/not-a-token", token=None)[0] == 429
    assert snapshot(r) == before


def test_429_after_wrong_tokens(r):
    a_venue(r)
    before = snapshot(r)
    # No token at all guesses nothing: never counted.
    for _ in range(40):
        assert r.req("GET", "/api/v1/venues", token=None)[0] == 401
    assert r.req("GET", "/api/v1/venues")[0] == 200
    for i in range(10):
        st, _, _ = r.req("GET", "/api/v1/venues", token="rls_wrong%d" % i)
        assert st == 401, (i, st)
    # Past 10 (auth_failures = 10 a minute: one try back every 6 s; on a
    # slow machine one may have come back already), even the right token
    # waits.
    tries = 0
    while r.req("GET", "/api/v1/venues", token="rls_again")[0] == 401:
        tries += 1
        assert tries < 3, "wrong tokens are never limited"
    for token in ("rls_wrong", "admin", "coordinator"):
        st, out, hdrs = r.req("GET", "/api/v1/venues", token=token)
        assert st == 429, (token, st, out)
        assert out["status"] == 429 and 1 <= int(hdrs.get("retry-after")) <= 6, (out, hdrs)
    st, _, _ = r.req("POST", "/api/v1/venues", {"name": "x"})
    assert st == 429
    alive(r)   # public paths are not behind a token
    assert metric(r, "http_refused_total", reason="auth_failures") >= 4
    time.sleep(6.1)
    assert r.req("GET", "/api/v1/venues")[0] == 200
    assert snapshot(r) == before


# --- hostile requests -------------------------------------------------------------

def test_raw_invalid_utf8_in_head(r):
    some_data(r)
    before = snapshot(r)
    tok = r.tokens["admin"].encode()
    heads = [
        b"GET /api/v1/venues/\xff\xfe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
        + b"\r\n\r\n",
        b"GET /api/v1/beneficiaries?q=\xc3\x28 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + tok + b"\r\n\r\n",
        b"GET /api/v1/venues HTTP/1.1\r\nHost: \xff\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
        b"GET /r/\xed\xa0\x80 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
        + b"\r\nContent-Type: application/json; charset=\xff\r\nContent-Length: 2\r\n\r\n{}",
    ]
    for head in heads:
        st, _, body = raw_http(r, head, timeout=10)
        assert st is None or 400 <= st < 500, (head[:50], st, short(body))
    # Headers nobody reads may hold anything: still no harm.
    st, _, _ = raw_http(r, b"GET /health HTTP/1.1\r\nHost: x\r\nX-\xff: \x00\x01\r\n\r\n")
    assert st is None or st < 500, st
    alive(r)
    assert snapshot(r) == before


HOSTILE_BODIES = [
    b"\xff\xfe\xfd",                                   # not UTF-8
    b'{"title": "\xc3\x28"}',                          # a broken sequence in a string
    b"[" * 10000 + b"]" * 10000,                       # nested 10,000 deep
    b'{"a": ' * 10000 + b"1" + b"}" * 10000,
    b'{"capacity": 1e999999}',                         # huge numbers
    b'{"beneficiary_id": 123456789012345678901234567890}',
    b'{"status": "' + b"x" * 600000 + b'"}',           # a huge string
    b'{"title": ' + b'"a",' * 50000 + b'"b"}',
    b"null", b"true", b"[]", b'"str"', b"",
]

STR = [True, 0, 1.5, [], {"a": 1}]
INT = ["1", True, 1.5, [], {}, "x"]
ID = ["1", True, 1.5, [], 0, -1, 2 ** 60]
TIME = [0, True, "tomorrow", "2027-13-45T25:00:00Z", [], {}]


def test_wrong_types_in_every_field(r):
    """The fields of sessions, staff and enrollments (test_errors sweeps
    venues and beneficiaries)."""
    v, p, s, e = some_data(r)
    session = ({"kind": "workshop", "title": "Smartphone", "venue_id": v["id"],
                "starts_at": when(5), "ends_at": when(5, 16), "capacity": 8,
                "theme": "smartphone", "level": 1},
               {"kind": STR + [None, "party"], "title": STR + [None, "", "t" * 5000],
                "venue_id": ID, "starts_at": TIME + [None], "ends_at": TIME + [None],
                "capacity": INT + [-1], "theme": STR, "level": INT + [0, 99]})
    staff = ({"name": "Samir", "role": "trainer"},
             {"name": STR + [None, ""], "role": STR + [None, "boss"], "email": STR + ["@@"],
              "phone": STR + ["not a phone"]})
    cases = [("POST", "/api/v1/sessions", session),
             ("PATCH", "/api/v1/sessions/%d" % s["id"], session),
             ("POST", "/api/v1/staff", staff),
             ("POST", "/api/v1/sessions/%d/enrollments" % s["id"],
              ({"beneficiary_id": p["id"]}, {"beneficiary_id": ID + [None]})),
             ("PATCH", "/api/v1/enrollments/%d" % e["id"],
              ({"status": "attended"}, {"status": STR + [None, "gone"]}))]
    before = snapshot(r)
    for method, path, (valid, wrong) in cases:
        for field, values in wrong.items():
            for value in values:
                body = dict(valid, **{field: value}) if method == "POST" else {field: value}
                st, out, _ = r.req(method, path, body)
                assert st in (400, 409, 422), (method, path, field, short(value), st, out)
    alive(r)
    assert snapshot(r) == before


if __name__ == "__main__":
    run(globals())
