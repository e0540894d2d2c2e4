"""Every error status of the contract (400, 401, 403, 404, 405, 409, 413, 415,
422), always as application/problem+json, and hostile input: deep nesting,
huge numbers and strings, wrong types in every field, invalid UTF-8, broken
HTTP. After each, the server still answers /health and nothing stored has
changed."""
import datetime as dt
import json
import select
import socket

from harness import Relais, problem, run

MIB = 1 << 20


def when(days, hour=14):
    d = dt.datetime.now(dt.timezone.utc).replace(hour=hour, minute=0, second=0,
                                                 microsecond=0) + dt.timedelta(days=days)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot(r):
    """Every stored row except the tokens (whose last use changes on reads)."""
    tables = [t for (t,) in r.db("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    # Sorted here: the search's windows and the counts are WITHOUT ROWID.
    return {t: sorted(r.db("SELECT * FROM \"%s\"" % t), key=repr)
            for t in tables if t != "api_tokens"}


def short(x, n=200):
    """A bounded repr for failure messages (bodies here can be megabytes)."""
    text = repr(x)
    return text if len(text) <= n else text[:n] + "…(%d chars)" % len(text)


def alive(r):
    st, out, _ = r.req("GET", "/health", token=None)
    assert st == 200 and out == {"status": "ok"}, (st, out)


def expect(r, status, method, path, body=None, raw=None, field=None, headers=None,
           token="admin"):
    """Sends the request; asserts a STATUS problem (naming FIELD)."""
    h = dict(headers or {})
    if raw is not None:
        h.setdefault("Content-Type", "application/json")
    st, out, hdrs = r.req(method, path, body, raw=raw, headers=h, token=token)
    what = raw if raw is not None else body
    assert st == status, "%s %s %s → %d %s" % (method, path, short(what), st, short(out))
    problem(r, status, out, hdrs, field=field)
    return out, hdrs


def raw_http(r, head, body=b"", timeout=15):
    """Sends HEAD (bytes, up to the blank line) then BODY on a fresh socket,
    unless the server already answered on the head alone (a Content-Length
    over the limit). Returns (status, headers, body), status None when the
    server closed without an answer."""
    s = socket.create_connection(("127.0.0.1", r.port), timeout=timeout)
    data = b""
    try:
        s.sendall(head)
        if body and not select.select([s], [], [], 0.5)[0]:
            try:
                s.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                h, _, rest = data.partition(b"\r\n\r\n")
                for line in h.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length" and len(rest) >= int(v):
                        break
                else:
                    continue
                break
    finally:
        s.close()
    if not data:
        return None, {}, b""
    h, _, rest = data.partition(b"\r\n\r\n")
    lines = h.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def raw_problem(status, got):
    st, hdrs, body = got
    assert st == status, "want %d, got %r %s" % (status, st, short(body))
    assert hdrs.get("content-type", "").startswith("application/problem+json"), hdrs
    doc = json.loads(body.decode())
    assert doc.get("status") == status and "title" in doc and "type" in doc, doc


def post_head(r, path, length, extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n%s"
            b"Connection: close\r\n\r\n" % (path.encode(), r.tokens["admin"].encode(),
                                            length, extra))


def refused(st):
    """Refused as a client error, or the connection closed without answer."""
    return st is None or 400 <= st < 500 or st == 505


def no_5xx(st):
    return st is None or st < 500


def a_venue(r):
    return r.ok("POST", "/api/v1/venues", {"name": "Centre social du Biollay",
                                           "commune": "Chambéry", "aptic": True})


def a_person(r):
    return r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": "Monique", "last_name": "Jacquier", "phone": "06 11 22 33 44",
        "email": "monique@example.org", "birth_year": 1950, "gender": "F",
        "commune": "Chambéry", "neighborhood": "Le Biollay", "prescriber": "CCAS",
        "external_id": "FT-001", "consent_sms": True, "consent_email": False})


def test_400_malformed_json(r):
    v = a_venue(r)
    before = snapshot(r)
    bad = [b'{"name": ', b'{"name": "x",}', b'{name: "x"}', b"{'name': 'x'}", b"",
           b"   ", b'{"name": "x"} trailing', b'{"name": "x"}{"name": "y"}',
           b'{"name": NaN}', b'{"name": "\\q"}', b'{"name": "x"', b'\x00',
           b'{"name": "unterminated}', b'{"aptic": tru}', b'{"name": 01}']
    for raw in bad:
        expect(r, 400, "POST", "/api/v1/venues", raw=raw)
        expect(r, 400, "PATCH", "/api/v1/venues/%d" % v["id"], raw=raw)
        expect(r, 400, "POST", "/api/v1/beneficiaries", raw=raw)
    alive(r)
    assert snapshot(r) == before


def test_400_json_not_an_object(r):
    v = a_venue(r)
    before = snapshot(r)
    for raw in (b"[]", b'[{"name": "x"}]', b'"Centre social"', b"42", b"null", b"true"):
        expect(r, 400, "POST", "/api/v1/venues", raw=raw)
        expect(r, 400, "PATCH", "/api/v1/venues/%d" % v["id"], raw=raw)
    alive(r)
    assert snapshot(r) == before


def test_400_invalid_utf8(r):
    v = a_venue(r)
    before = snapshot(r)
    for seq in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80",
                b"\xf4\x90\x80\x80", b"caf\xe9"):
        raw = b'{"name": "' + seq + b'"}'
        expect(r, 400, "POST", "/api/v1/venues", raw=raw)
        expect(r, 400, "PATCH", "/api/v1/venues/%d" % v["id"], raw=raw)
        expect(r, 400, "POST", "/api/v1/beneficiaries",
               raw=b'{"first_name": "A", "last_name": "' + seq + b'"}')
    # A lone surrogate written as an escape is no character either.
    st, out, _ = r.req("POST", "/api/v1/venues", raw=b'{"name": "\\ud800"}',
                       headers={"Content-Type": "application/json"})
    assert st in (400, 422), (st, out)
    alive(r)
    assert snapshot(r) == before


def test_400_deep_nesting(r):
    v = a_venue(r)
    before = snapshot(r)
    n = 10000
    for raw in ("[" * n + "]" * n, '{"name": ' + "[" * n + "]" * n + "}",
                '{"a":' * n + "1" + "}" * n, "[" * n, '{"name": "x", "aptic": ' + "[" * n + "}"):
        expect(r, 400, "POST", "/api/v1/venues", raw=raw.encode())
        expect(r, 400, "PATCH", "/api/v1/venues/%d" % v["id"], raw=raw.encode())
        alive(r)
    assert snapshot(r) == before


def test_401_and_403(r):
    before = snapshot(r)
    expect(r, 401, "GET", "/api/v1/venues", token=None)
    expect(r, 401, "POST", "/api/v1/venues", {"name": "x"}, token="rls_" + "x" * 43)
    r.tokens["trainer"] = r.token("trainer")
    expect(r, 403, "POST", "/api/v1/venues", {"name": "x"}, token="trainer")
    expect(r, 403, "POST", "/api/v1/beneficiaries", {"first_name": "A", "last_name": "B"},
           token="trainer")
    alive(r)
    assert snapshot(r) == before


def test_404(r):
    v = a_venue(r)
    for path in ("/nope", "/api/v1/nope", "/api/v1/venues/%d/nope" % v["id"],
                 "/api/v1/venues/999999", "/api/v1/staff/999999",
                 "/api/v1/beneficiaries/999999", "/api/v1/beneficiaries/999999/export",
                 "/api/v1/sessions/999999", "/api/v1/enrollments/999999",
                 "/api/v1/sessions/999999/enrollments",
                 "/api/v1/venues/abc", "/api/v1/venues/0", "/api/v1/venues/-1",
                 "/api/v1/venues/1.5", "/api/v1/venues/1e3", "/api/v1/venues/0x1",
                 "/api/v1/venues/9223372036854775807", "/api/v1/venues/9223372036854775808",
                 "/api/v1/venues/99999999999999999999999999"):
        expect(r, 404, "GET", path)
    # An id followed by an encoded NUL is not that id.
    st, out, _ = r.req("GET", "/api/v1/venues/%d%%00" % v["id"])
    assert st in (400, 404), (st, out)
    before = snapshot(r)
    expect(r, 404, "PATCH", "/api/v1/venues/999999", {"name": "x"})
    expect(r, 404, "DELETE", "/api/v1/venues/999999")
    expect(r, 404, "POST", "/api/v1/sessions/999999/enrollments", {"beneficiary_id": 1})
    expect(r, 404, "POST", "/api/v1/sessions/999999/cancel")
    alive(r)
    assert snapshot(r) == before


def test_405_with_allow(r):
    v = a_venue(r)
    before = snapshot(r)
    cases = [("DELETE", "/api/v1/venues", {"GET", "POST"}),
             ("PUT", "/api/v1/venues/%d" % v["id"], {"GET", "PATCH", "DELETE"}),
             ("POST", "/api/v1/venues/%d" % v["id"], {"GET", "PATCH", "DELETE"}),
             ("PATCH", "/api/v1/beneficiaries", {"GET", "POST"}),
             ("DELETE", "/api/v1/sessions.ics", {"GET"}),
             ("POST", "/health", {"GET"}), ("DELETE", "/metrics", {"GET"})]
    for method, path, allowed in cases:
        body = {"name": "x"} if method in ("POST", "PUT", "PATCH") else None
        _, hdrs = expect(r, 405, method, path, body)
        got = {m.strip() for m in hdrs.get("allow", "").split(",") if m.strip()}
        assert allowed <= got, "%s %s: Allow %r" % (method, path, hdrs.get("allow"))
        assert method not in got, "%s %s: Allow %r" % (method, path, hdrs.get("allow"))
    alive(r)
    assert snapshot(r) == before


def test_409(r):
    v = a_venue(r)
    trainer = r.ok("POST", "/api/v1/staff", {"name": "Samir Belkacem", "role": "trainer"})
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "venue_id": v["id"],
        "trainer_id": trainer["id"], "starts_at": when(3), "ends_at": when(3, 16),
        "capacity": 8})
    p = a_person(r)
    r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"], {"beneficiary_id": p["id"]})
    gone = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Internet", "venue_id": v["id"],
        "starts_at": when(4), "ends_at": when(4, 16)})
    r.ok("POST", "/api/v1/sessions/%d/cancel" % gone["id"])
    before = snapshot(r)
    expect(r, 409, "DELETE", "/api/v1/venues/%d" % v["id"])             # has sessions
    expect(r, 409, "DELETE", "/api/v1/staff/%d" % trainer["id"])         # trains sessions
    expect(r, 409, "POST", "/api/v1/sessions/%d/enrollments" % s["id"],  # enrolled twice
           {"beneficiary_id": p["id"]})
    expect(r, 409, "POST", "/api/v1/beneficiaries",                      # external_id taken
           {"first_name": "A", "last_name": "B", "external_id": "FT-001"})
    expect(r, 409, "POST", "/api/v1/sessions/%d/cancel" % gone["id"])    # already cancelled
    expect(r, 409, "PATCH", "/api/v1/sessions/%d" % gone["id"], {"title": "x"})
    expect(r, 409, "POST", "/api/v1/sessions/%d/enrollments" % gone["id"],
           {"beneficiary_id": p["id"]})
    alive(r)
    assert snapshot(r) == before


def test_413_default_limit(r):
    before = snapshot(r)
    body = b'{"name": "' + b"a" * MIB + b'"}'
    raw_problem(413, raw_http(r, post_head(r, "/api/v1/venues", len(body)), body))
    alive(r)
    # Exactly at the limit is not over it: the body is read and judged.
    pad = MIB - len(b'{"name": ""}')
    body = b'{"name": "' + b"a" * pad + b'"}'
    assert len(body) == MIB
    st, hdrs, out = raw_http(r, post_head(r, "/api/v1/venues", len(body)), body)
    assert st == 422, (st, short(out))
    # Chunked bodies are held to the same limit.
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    head = (b"POST /api/v1/venues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" % r.tokens["admin"].encode())
    st, hdrs, out = raw_http(r, head, b"1\r\n{\r\n" + chunk * 20 + b"0\r\n\r\n")
    # A server that stops reading mid-body may reset the connection before
    # its 413 reaches us (TCP drops it): no answer is acceptable, any
    # other answer is not.
    assert st in (413, None), (st, short(out))
    alive(r)
    assert snapshot(r) == before


def test_413_configured_limit(r):
    small = Relais(extra_config="body_limit = 2048\n")
    small.start()
    try:
        def sized(n):
            base = b'{"name": "Maison de quartier"'
            return base + b" " * (n - len(base) - 1) + b"}"
        raw_problem(413, raw_http(small, post_head(small, "/api/v1/venues", 2049),
                                  sized(2049)))
        st, out, hdrs = small.req("POST", "/api/v1/venues", raw=sized(2049),
                                  headers={"Content-Type": "application/json"})
        assert st == 413, (st, out)
        problem(small, 413, out, hdrs)
        assert small.db("SELECT count(*) FROM venues") == [(0,)]
        st, out, _ = small.req("POST", "/api/v1/venues", raw=sized(2048),
                               headers={"Content-Type": "application/json"})
        assert st == 201, (st, out)
        assert small.req("GET", "/health", token=None)[0] == 200
    finally:
        assert small.stop() == 0, small.read_log()


def test_415(r):
    v = a_venue(r)
    before = snapshot(r)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                  "text/csv", "application/xml"):
        for method, path in (("POST", "/api/v1/venues"), ("PATCH", "/api/v1/venues/%d" % v["id"])):
            expect(r, 415, method, path, raw=b'{"name": "x"}',
                   headers={"Content-Type": ctype})
    assert snapshot(r) == before
    st, out, _ = r.req("POST", "/api/v1/venues", raw=b'{"name": "x"}',
                       headers={"Content-Type": "application/json; charset=utf-8"})
    assert st == 201, (st, out)


def test_422_lists_every_bad_field(r):
    before = snapshot(r)
    out, _ = expect(r, 422, "POST", "/api/v1/venues",
                    {"name": "", "aptic": "oui", "accessible": 1, "commune": 5,
                     "address": ["x"], "colour": "blue", "id": 3})
    fields = {e["field"] for e in out["errors"]}
    assert {"name", "aptic", "accessible", "commune", "address", "colour", "id"} <= fields, out
    for e in out["errors"]:
        assert isinstance(e.get("message"), str) and e["message"], e
    out, _ = expect(r, 422, "POST", "/api/v1/beneficiaries",
                    {"last_name": "Dunand", "phone": "12", "email": "pas une adresse",
                     "birth_year": 1800, "gender": "Z", "consent_sms": "oui",
                     "created_at": "2026-01-01T00:00:00Z"})
    fields = {e["field"] for e in out["errors"]}
    assert {"first_name", "phone", "email", "birth_year", "gender", "consent_sms",
            "created_at"} <= fields, out
    out, _ = expect(r, 422, "POST", "/api/v1/sessions",
                    {"kind": "lecture", "title": "", "level": 4, "capacity": -1,
                     "starts_at": "demain", "ends_at": "2026-02-30T10:00:00Z",
                     "venue_id": 999999})
    fields = {e["field"] for e in out["errors"]}
    assert {"kind", "title", "level", "capacity", "starts_at", "ends_at",
            "venue_id"} <= fields, out
    alive(r)
    assert snapshot(r) == before


def test_huge_numbers(r):
    v = a_venue(r)
    p = a_person(r)
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "venue_id": v["id"],
        "starts_at": when(3), "ends_at": when(3, 16), "capacity": 8})
    before = snapshot(r)
    huge = ["1e400", "-1e400", "9223372036854775808", "-9223372036854775809",
            "9223372036854775807", "18446744073709551616", "1e19", "1950.5", "-0.5",
            "123456789012345678901234567890"]
    for n in huge:
        for path, field in (("/api/v1/beneficiaries/%d" % p["id"], "birth_year"),
                            ("/api/v1/sessions/%d" % s["id"], "capacity"),
                            ("/api/v1/sessions/%d" % s["id"], "level"),
                            ("/api/v1/sessions/%d" % s["id"], "venue_id"),
                            ("/api/v1/venues/%d" % v["id"], "aptic")):
            expect(r, 422, "PATCH", path, raw=('{"%s": %s}' % (field, n)).encode(),
                   field=field)
        expect(r, 422, "POST", "/api/v1/sessions/%d/enrollments" % s["id"],
               raw=('{"beneficiary_id": %s}' % n).encode(), field="beneficiary_id")
        if n != "9223372036854775807":      # merely over 500: clamping is fine too
            expect(r, 422, "GET", "/api/v1/venues?limit=" + n, field="limit")
    expect(r, 422, "GET", "/api/v1/venues?limit=0", field="limit")
    expect(r, 422, "GET", "/api/v1/venues?limit=abc", field="limit")
    expect(r, 422, "GET", "/api/v1/venues?cursor=garbage", field="cursor")
    alive(r)
    assert snapshot(r) == before


def test_huge_strings(r):
    v = a_venue(r)
    before = snapshot(r)
    expect(r, 422, "POST", "/api/v1/venues", {"name": "a" * 201}, field="name")
    expect(r, 422, "PATCH", "/api/v1/venues/%d" % v["id"], {"address": "a" * 301},
           field="address")
    expect(r, 422, "POST", "/api/v1/venues", {"name": "x" * 500000}, field="name")
    # 600 kB of UTF-8 (sent as such: json.dumps would escape it to 1.8 MB).
    expect(r, 422, "POST", "/api/v1/beneficiaries", field="first_name",
           raw=json.dumps({"first_name": "é" * 300000, "last_name": "B"},
                          ensure_ascii=False).encode())
    expect(r, 422, "POST", "/api/v1/beneficiaries",
           {"first_name": "A", "last_name": "B", "phone": "0" * 100000}, field="phone")
    expect(r, 422, "POST", "/api/v1/venues", {"name": "x", "k" * 100000: 1})
    # A NUL inside a string cannot be stored as sent: refused, not truncated.
    st, out, _ = r.req("POST", "/api/v1/venues", {"name": "Centre\u0000social"})
    assert st in (400, 422), (st, out)
    alive(r)
    assert snapshot(r) == before
    r.ok("POST", "/api/v1/venues", {"name": "a" * 200}, expect=201)


VENUE_WRONG = {
    "name": [5, True, [], {}, None, ""],
    "address": [5, True, ["x"], {"a": 1}],
    "commune": [5, False, [], {}],
    "neighborhood": [5.5, True, [], {}],
    "aptic": ["true", 1, 0, [], {}, "oui"],
    "accessible": ["false", 1, [], {}],
}
PERSON_WRONG = {
    "first_name": [5, True, [], {}, None, ""],
    "last_name": [5, False, ["x"], {}, None, ""],
    "phone": [612345678, True, [], "abc", "06 12", "+33 6 12 34 56 78 90 12"],
    "email": [5, True, [], "nope", "a b@example.org", "a@b@example.org"],
    "birth_year": ["1950", 1950.5, True, [], 1899, 3000],
    "gender": ["Z", 1, True, [], "female"],
    "commune": [5, True, [], {}],
    "neighborhood": [5, True, [], {}],
    "prescriber": [5, True, [], {}],
    "external_id": [5, True, [], {}, "x" * 65],
    "consent_sms": ["true", 1, [], {}],
    "consent_email": ["false", 0, [], {}],
}


def check_wrong_types(r, path, obj_path, valid, wrong):
    before = snapshot(r)
    for field, values in wrong.items():
        for value in values:
            body = dict(valid, **{field: value})
            expect(r, 422, "POST", path, body, field=field)
            # In a PATCH too (null: a required field cannot be cleared).
            expect(r, 422, "PATCH", obj_path, {field: value}, field=field)
    alive(r)
    assert snapshot(r) == before


def test_wrong_types_venue(r):
    v = a_venue(r)
    check_wrong_types(r, "/api/v1/venues", "/api/v1/venues/%d" % v["id"],
                      {"name": "Espace numérique"}, VENUE_WRONG)


def test_wrong_types_beneficiary(r):
    p = a_person(r)
    check_wrong_types(r, "/api/v1/beneficiaries", "/api/v1/beneficiaries/%d" % p["id"],
                      {"first_name": "Colette", "last_name": "Viallet"}, PERSON_WRONG)


def test_broken_http(r):
    a_venue(r)
    before = snapshot(r)
    tok = r.tokens["admin"].encode()
    auth = b"Host: x\r\nAuthorization: Bearer " + tok + b"\r\n"
    post = b"POST /api/v1/venues HTTP/1.1\r\n" + auth + b"Content-Type: application/json\r\n"
    attempts = [
        (b"GARBAGE\r\n\r\n", refused),
        (b"GET /api/v1/venues HTTP/9.9\r\n\r\n", refused),
        (b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", refused),
        # Big or many headers: a server may accept them or refuse them.
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n", no_5xx),
        (b"GET /health HTTP/1.1\r\n" + b"X-H: v\r\n" * 5000 + b"\r\n", no_5xx),
        (post + b"Content-Length: -1\r\n\r\n{}", refused),
        (post + b"Content-Length: abc\r\n\r\n{}", refused),
        (post + b"Content-Length: 99999999999999999999\r\n\r\n{}", refused),
        (post + b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}", refused),
        (b"GET /api/v1/venues/%ff%fe HTTP/1.1\r\n" + auth + b"\r\n", refused),
        (b"GET /api/v1/venues?limit=%ff HTTP/1.1\r\n" + auth + b"\r\n", refused),
        (b"GET /api/v1/beneficiaries?q=%00 HTTP/1.1\r\n" + auth + b"\r\n", no_5xx),
        (b"GET /api/v1/beneficiaries?q=%ff%fe HTTP/1.1\r\n" + auth + b"\r\n", no_5xx),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, refused),  # TLS hello
    ]
    for data, fine in attempts:
        st, _, _ = raw_http(r, data, timeout=10)
        assert fine(st), "%r → %r" % (data[:60], st)
        alive(r)
    # A client that sends half a request and vanishes.
    s = socket.create_connection(("127.0.0.1", r.port))
    s.sendall(post_head(r, "/api/v1/venues", 1000) + b'{"name": "x')
    s.close()
    alive(r)
    assert snapshot(r) == before


if __name__ == "__main__":
    run(globals())
