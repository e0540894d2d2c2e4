"""Issue 12, the data: tokens can be listed (never their secret), revoked
and made to expire, and a revoked or expired token is refused by the
running server at its next request; an erased person leaves no byte in the
database files (relais.db, -wal, -shm). Each test fails on the server
before issue 12."""
import hashlib
import os
import re
import time

from harness import run
from test_pages import issue, page, text_of, h1, local, person, workshop, enroll

DB = "relais.db"


def listing(r):
    """`relais token list` as {name: {column: value}} (and the raw text)."""
    _, out, _ = r.cli("token", "list")
    lines = out.rstrip("\n").split("\n")
    head = lines[0].split()
    assert head[:8] == ["ID", "ROLE", "STAFF", "STATE", "CREATED", "LAST", "USED",
                        "EXPIRES"], lines[0]
    rows = {}
    for line in lines[1:]:
        f = line.split(None, 8)
        rows[f[8]] = {"id": int(f[0]), "role": f[1], "staff": f[2], "state": f[3],
                      "created": f[4], "last_used": f[5], "expires": f[6], "revoked": f[7]}
    return rows, out


def get(r, token):
    return r.req("GET", "/api/v1/venues", token=token)[0]


def test_token_list_never_shows_a_secret(r):
    staff = r.ok("POST", "/api/v1/staff", {"name": "Samir", "role": "trainer"})
    tok = r.token("trainer", name="Samir (tablette)", staff=staff["id"])
    assert get(r, tok) == 200
    rows, out = listing(r)
    assert rows["test admin"]["role"] == "admin" and rows["test admin"]["state"] == "active"
    s = rows["Samir (tablette)"]
    assert s["role"] == "trainer" and s["staff"] == str(staff["id"]), s
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", s["created"]), s
    assert re.match(r"\d{4}-\d\d-\d\dT", s["last_used"]), s     # used just now
    assert s["expires"] == "-" and s["revoked"] == "-", s
    for t in (tok, r.tokens["admin"], r.tokens["coordinator"]):
        assert t not in out and t[4:] not in out
        assert hashlib.sha256(t.encode()).hexdigest() not in out
    assert "rls_" not in out


def test_revoked_token_refused_at_once(r):
    tok = r.token("coordinator", name="to revoke")
    # Used, so the running server holds it in its cache of verified tokens.
    for _ in range(3):
        assert get(r, tok) == 200
    tid = listing(r)[0]["to revoke"]["id"]
    rc, out, _ = r.cli("token", "revoke", str(tid))
    assert rc == 0 and out == "token %d revoked\n" % tid, out
    st, body, hdrs = r.req("GET", "/api/v1/venues", token=tok)
    assert st == 401 and hdrs.get("www-authenticate") == "Bearer", (st, body)
    assert get(r, "admin") == 200
    row = listing(r)[0]["to revoke"]
    assert row["state"] == "revoked" and row["revoked"] != "-", row
    # Again: said so, no change; unknown or malformed ids.
    rc, out, _ = r.cli("token", "revoke", str(tid))
    assert rc == 0 and "revoked already" in out, out
    rc, out, err = r.cli("token", "revoke", "99999", check=False)
    assert rc == 1 and out == "" and "no token 99999" in err, (rc, out, err)
    for bad in (["token", "revoke"], ["token", "revoke", "x1"], ["token", "revoke", "0"],
                ["token", "list", "extra"]):
        rc, out, err = r.cli(*bad, check=False)
        assert rc == 2 and out == "", (bad, rc, out, err)


def test_expired_token_refused(r):
    tok = r.token("admin", name="short")
    _, tok2, _ = r.cli("token", "add", "--role", "coordinator", "--name", "for two seconds",
                       "--expires", "2s")
    tok2 = tok2.strip()
    assert get(r, tok) == 200 and get(r, tok2) == 200
    row = listing(r)[0]["for two seconds"]
    assert row["state"] == "active" and row["expires"] != "-", row
    deadline = time.time() + 3
    while time.time() < deadline:
        time.sleep(0.2)
    # Verified (cached) a moment ago, refused now: no database change
    # needed for an expiry to take effect.
    assert get(r, tok2) == 401
    assert get(r, tok) == 200
    assert listing(r)[0]["for two seconds"]["state"] == "expired"
    for bad in ("0s", "-1d", "tomorrow", "90", "1y", ""):
        rc, out, err = r.cli("token", "add", "--role", "admin", "--name", "x", "--expires", bad,
                             check=False)
        assert rc == 2 and out == "", (bad, rc, out, err)
    _, out, _ = r.cli("token", "add", "--role", "admin", "--name", "ninety", "--expires=90d")
    exp = listing(r)[0]["ninety"]["expires"]
    days = (time.mktime(time.strptime(exp, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime()))
    assert 89.9 * 86400 < days < 90.1 * 86400, exp


# --- erasure -------------------------------------------------------------------------

PERSON = {"first_name": "Gwendoline", "last_name": "Quintavalle", "phone": "06 87 65 43 21",
          "email": "gwendoline.quintavalle@example.org", "prescriber": "CCAS de Saint-Alban",
          "external_id": "EXT-9F3A7Q", "birth_year": 1951, "gender": "F",
          "consent_sms": True, "consent_email": True}
# The prescriber is not among them: it names an organisation of the
# territory's network (issue 11 makes "CCAS de Saint-Alban" a row of
# organisations, shared by everyone it sends), which outlives any person.
TRACES = [b"Gwendoline", b"gwendoline", b"Quintavalle", b"quintavalle", b"+33687654321",
          b"687654321", b"gwendoline.quintavalle@example.org",
          b"EXT-9F3A7Q", b"+33611229988", b"Gwenaelle"]


def traces(r):
    """The TRACES found in the database files: [(file, trace)]."""
    found = []
    for name in (DB, DB + "-wal", DB + "-shm"):
        try:
            with open(os.path.join(r.dir, name), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        found += [(name, t) for t in TRACES if t in data]
    return found


def test_erasure_leaves_no_byte(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Centre social"})
    p = r.ok("POST", "/api/v1/beneficiaries", dict(PERSON, phone="06 11 22 99 88",
                                                    first_name="Gwenaelle"))
    # Former values too: the row was written more than once.
    r.ok("PATCH", "/api/v1/beneficiaries/%d" % p["id"], {"phone": PERSON["phone"],
                                                         "first_name": PERSON["first_name"]})
    now = int(time.time())
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "venue_id": v["id"],
        "starts_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 5 * 86400)),
        "ends_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 5 * 86400 + 7200))})
    r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"], {"beneficiary_id": p["id"]})
    assert r.ok("GET", "/api/v1/beneficiaries?q=0687654321")["items"], "found before"
    assert traces(r), "the person is in the files before the erasure"
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % p["id"], expect=204)
    # The WAL is emptied on the checkpointer's thread: a moment later.
    deadline = time.time() + 20
    while traces(r) and time.time() < deadline:
        time.sleep(0.1)
    assert traces(r) == [], traces(r)
    assert os.path.getsize(os.path.join(r.dir, DB + "-wal")) == 0
    # Still there anonymously, still counted; the server goes on.
    assert r.db("SELECT gender, birth_year, first_name FROM beneficiaries WHERE id = ?",
                p["id"]) == [("F", 1951, None)]
    assert r.db("SELECT name FROM organisations") == [("CCAS de Saint-Alban",)]
    assert r.ok("GET", "/api/v1/beneficiaries?q=0687654321")["items"] == []
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert re.search(r"^relais_wal_wipes_total [1-9]", text, re.M), text[-500:]


# --- links expire, /metrics may want a token -------------------------------------------

def restart_with(r, extra):
    """Restarts R with EXTRA appended to its configuration (the last
    assignment of a key wins)."""
    assert r.stop() == 0
    with open(r.config, "a") as f:
        f.write(extra)
    r.start()


def test_links_expire(r):
    """Links of a session long past worked for ever; now a French page says
    they expired (410), links.expire_after after the session's end."""
    restart_with(r, 'plugins = {"surveys"}\nlinks = {expire_after = "2h"}\n')
    b = person(r)
    old = workshop(r, days=0, starts_at=local(-1, 9), ends_at=local(-1, 10))
    recent = workshop(r, days=0, starts_at=local(0, 0, 1),
                      ends_at=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                            time.gmtime(time.time() - 1800)))
    e_old, e_recent = enroll(r, old["id"], b)["id"], enroll(r, recent["id"], b)["id"]
    for eid in (e_old, e_recent):
        r.ok("PATCH", "/api/v1/enrollments/%d" % eid, {"status": "attended"})
    gone, kept = issue(r, e_old), issue(r, e_recent)
    html = page(r, "GET", "/r/" + gone, 410)
    assert h1(html) == "Lien expiré" and "n'est plus valable" in text_of(html), html
    page(r, "POST", "/r/%s/cancel" % gone, 410)
    page(r, "GET", "/r/" + kept, 200)
    st, body, _ = r.req("GET", "/s/" + issue(r, e_old, "s"), token=None)
    assert st == 410 and "Lien expiré" in body and "plus valable" in body, (st, body)
    st, body, _ = r.req("POST", "/s/" + issue(r, e_old, "s"), token=None, raw="content=4",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 410 and r.db("SELECT count(*) FROM surveys_responses") == [(0,)], (st, body)
    st, body, _ = r.req("GET", "/s/" + issue(r, e_recent, "s"), token=None)
    assert st == 200 and "<form" in body, (st, body[:300])
    assert r.db("SELECT status FROM enrollments WHERE id = ?", e_old) == [("attended",)]


def test_default_expiry_is_90_days(r):
    b = person(r)
    old = workshop(r, days=0, starts_at=local(-92, 9), ends_at=local(-92, 10))
    fresh = workshop(r, days=0, starts_at=local(-88, 9), ends_at=local(-88, 10))
    page(r, "GET", "/r/" + issue(r, enroll(r, old["id"], b)["id"]), 410)
    page(r, "GET", "/r/" + issue(r, enroll(r, fresh["id"], b)["id"]), 200)


def test_metrics_token(r):
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert st == 200 and "relais_http_requests_total" in text   # public by default
    restart_with(r, 'metrics = { token = "s3cret-metrics-token-0123" }\n')
    for auth in (None, "Bearer wrong", "Bearer s3cret-metrics-token-012",
                 "Basic czNjcmV0", "Bearer " + r.tokens["admin"]):
        st, body, hdrs = r.req("GET", "/metrics", token=None,
                               headers={"Authorization": auth} if auth else None)
        assert st == 401 and body["status"] == 401, (auth, st, body)
        assert hdrs.get("www-authenticate", "").startswith("Bearer"), hdrs
    st, text, _ = r.req("GET", "/metrics", token="s3cret-metrics-token-0123")
    assert st == 200 and "relais_http_requests_total" in text, (st, text[:200])
    assert r.req("GET", "/health", token=None)[0] == 200
    assert "s3cret-metrics-token" not in r.read_log()


if __name__ == "__main__":
    run(globals())
