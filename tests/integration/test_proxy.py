"""Behind a reverse proxy (trusted_proxies, proxy.h): X-Forwarded-For is
believed only from a trusted peer, and then the rate limits (public pages,
wrong tokens, failed staff sign-ins) key on the client it names, the right-most untrusted address
of the chain; from any other peer the header is ignored, whatever it says.
Bad ranges stop the start naming the key."""
import json
import os
import socket
import subprocess

from harness import BIN, run
from standalone import Server, write_config

LIMITS = "limits = { pages_burst = 3, pages_per_minute = 1, auth_failures = 3 }\n"
EXTRA_CONFIG = LIMITS            # and no trusted proxy: the default
TRUSTED = 'trusted_proxies = { "127.0.0.1/32", "::1/128" }\n'
PAGE = "/r/" + "A" * 22          # no such link: 404, but counted all the same
A, B = "203.0.113.10", "198.51.100.20"


def page(r, xff=None):
    st, _, _ = r.req("GET", PAGE, token=None,
                     headers={"X-Forwarded-For": xff} if xff is not None else None)
    assert st in (404, 429), st
    return st


def page_raw(r, xff_lines):
    """The page with X-Forwarded-For sent as several header lines."""
    head = "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % PAGE
    head += "".join("X-Forwarded-For: %s\r\n" % v for v in xff_lines) + "\r\n"
    with socket.create_connection(("127.0.0.1", r.port), timeout=15) as s:
        s.sendall(head.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def restart_with(r, extra):
    """Restarts R with EXTRA added to its configuration (Lua keeps the last
    assignment); returns R."""
    assert r.stop() == 0, r.read_log()
    with open(r.config, "a") as f:
        f.write(extra)
    return r.start()


def test_untrusted_peer_spoofed_header_ignored(r):
    # One peer, three forged client addresses: still one bucket, the peer's.
    assert [page(r, "203.0.113.%d" % i) for i in (1, 2, 3)] == [404] * 3
    assert page(r, "203.0.113.4") == 429
    assert page(r, B) == 429
    assert page(r) == 429


def test_untrusted_peer_wrong_tokens_share_a_bucket(r):
    for i in range(3):
        st, _, _ = r.req("GET", "/api/v1/venues", token="rls_wrong%d" % i,
                         headers={"X-Forwarded-For": "203.0.113.%d" % i})
        assert st == 401, st
    st, _, _ = r.req("GET", "/api/v1/venues", headers={"X-Forwarded-For": B})
    assert st == 429, "a forged header must not escape the peer's limit: %d" % st


def test_trusted_proxy_keys_pages_on_the_client(r):
    p = restart_with(r, TRUSTED)
    assert [page(p, A) for _ in range(3)] == [404] * 3
    assert page(p, A) == 429
    # Another client behind the same proxy has a bucket of its own.
    assert page(p, B) == 404
    # A client cannot escape by writing its own addresses to the left:
    # the proxy appends the real one, the right-most untrusted.
    assert page(p, "192.0.2.99, " + A) == 429
    assert page(p, "unknown, 192.0.2.98 , " + A) == 429
    # Trusted hops on the right are skipped.
    assert page(p, A + ", 127.0.0.1") == 429
    # Several header lines are one list, in order.
    assert page_raw(p, ["192.0.2.97", A]) == 429
    assert page_raw(p, [A, "192.0.2.96"]) == 404
    # Ports, as some proxies write them, are not part of the address.
    assert page(p, A + ":51234") == 429
    # No header from the proxy: the proxy's own address, its own bucket.
    assert page(p) == 404
    # A malformed last entry: nothing to believe, the proxy itself.
    assert page(p, A + ", garbage") == 404


def test_trusted_proxy_keys_wrong_tokens_on_the_client(r):
    p = restart_with(r, TRUSTED)
    for i in range(3):
        st, _, _ = p.req("GET", "/api/v1/venues", token="rls_wrong%d" % i,
                         headers={"X-Forwarded-For": A})
        assert st == 401, st
    st, _, _ = p.req("GET", "/api/v1/venues", headers={"X-Forwarded-For": A})
    assert st == 429, st
    st, out, _ = p.req("GET", "/api/v1/venues", headers={"X-Forwarded-For": B})
    assert st == 200, (st, out)


PW = "un mot de passe solide"


def sign_in(r, email, password, xff):
    """POST /auth/login as the client XFF; the status."""
    st, _, _ = r.req("POST", "/auth/login", token=None,
                     headers={"Content-Type": "application/json", "X-Forwarded-For": xff},
                     raw=json.dumps({"email": email, "password": password}))
    assert st in (204, 401, 429), st
    return st


def staff_with_password(r):
    sid = r.ok("POST", "/api/v1/staff", {"name": "Claire Dumas", "role": "coordinator",
                                         "email": "claire@example.org"}, expect=201)["id"]
    r.cli("staff", "set-password", str(sid), input=PW + "\n")


def test_untrusted_peer_sign_in_failures_share_a_bucket(r):
    # Ten failed sign-ins (ten accounts, so no account's own limit) under
    # forged addresses: the peer is refused, whatever it claims to be.
    staff_with_password(r)
    for i in range(10):
        assert sign_in(r, "x%d@example.org" % i, "mauvais", "203.0.113.%d" % i) == 401
    assert sign_in(r, "claire@example.org", PW, B) == 429


def test_trusted_proxy_keys_sign_in_failures_on_the_client(r):
    p = restart_with(r, TRUSTED)
    staff_with_password(p)
    for i in range(10):
        assert sign_in(p, "x%d@example.org" % i, "mauvais", A) == 401
    assert sign_in(p, "claire@example.org", PW, A) == 429
    # Another person behind the same proxy still signs in.
    assert sign_in(p, "claire@example.org", PW, B) == 204


def test_other_trusted_range_is_not_this_peer(r):
    # A range that does not hold the peer (127.0.0.1) trusts nothing here.
    p = restart_with(r, 'trusted_proxies = { "10.0.0.0/8", "fd00::/8" }\n')
    assert [page(p, "203.0.113.%d" % i) for i in (1, 2, 3)] == [404] * 3
    assert page(p, B) == 429


def test_ipv6_proxy(r):
    """A proxy on ::1 forwarding an IPv6 client: the server listens on [::1]
    (port 0, read from its log) and trusts ::1/128 only."""
    config = os.path.join(r.dir, "v6.conf.lua")
    write_config(config, 'listen = "[::1]:0"\ndatabase = "%s"\nplugins = {}\n%s'
                 'trusted_proxies = { "::1/128" }\n'
                 % (os.path.join(r.dir, "v6.db"), LIMITS))
    s = Server([BIN, "serve", "-c", config], r.dir, os.path.join(r.dir, "v6.log"))
    try:
        s.wait_listening()
        c1, c2 = "2001:db8::1", "2001:db8::2"
        got = [s.get(PAGE, {"X-Forwarded-For": c1})[0] for _ in range(4)]
        assert got == [404, 404, 404, 429], got
        # The same client written another way is the same client.
        assert s.get(PAGE, {"X-Forwarded-For": "[2001:DB8:0::1]:443"})[0] == 429
        assert s.get(PAGE, {"X-Forwarded-For": c2})[0] == 404
    finally:
        assert s.stop() == 0, s.read_log()


def test_bad_ranges_stop_the_start(r):
    cases = [('trusted_proxies = "127.0.0.1/32"', "'trusted_proxies'"),
             ('trusted_proxies = { "127.0.0.1/33" }', "'trusted_proxies[1]'"),
             ('trusted_proxies = { "::1/128", "10.0.0.1/8" }', "'trusted_proxies[2]'"),
             ('trusted_proxies = { "proxy.example.org" }', "'trusted_proxies[1]'")]
    for text, needle in cases:
        config = os.path.join(r.dir, "bad.conf.lua")
        write_config(config, 'listen = "127.0.0.1:0"\ndatabase = "%s"\nplugins = {}\n%s\n'
                     % (os.path.join(r.dir, "bad.db"), text))
        p = subprocess.run([BIN, "serve", "-c", config], capture_output=True, text=True,
                           cwd=r.dir, timeout=30)
        assert p.returncode == 1, (text, p.returncode, p.stderr)
        assert needle in p.stderr and config in p.stderr, (text, p.stderr)


if __name__ == "__main__":
    run(globals())
