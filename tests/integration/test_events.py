"""Domain events with a veto: a plugin's "beneficiary.erased" hook that fails
(an error, its instruction budget, memory, a network wait, a bare yield)
aborts the erasure. DELETE /beneficiaries/{id} answers 500 with a problem
naming the plugin and no personal data, and nothing at all is erased: not
the person, not their enrollments, not their pending notifications, not the
plugin's own rows that the hook deleted before failing. The fixture plugin
is tests/integration/plugins/eraser."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")
EXTRA_CONFIG = 'plugins_dir = "%s"\nplugins = {"eraser"}\n' % FIXTURES

B = "/api/v1/beneficiaries"
PERSON = {"first_name": "Odette", "last_name": "Vuillermoz", "phone": "06 12 34 56 78",
          "email": "odette@example.org", "birth_year": 1950, "gender": "F",
          "consent_sms": True, "consent_email": True}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def setup(r):
    """A person with a future enrollment (pending notifications), another on
    the waitlist behind her, and a note the plugin keeps about her."""
    b = r.ok("POST", B, PERSON, expect=201)
    other = r.ok("POST", B, {"first_name": "Rose", "last_name": "Attente"}, expect=201)
    start = int(time.time()) + 20 * 86400
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Atelier smartphone", "capacity": 1,
        "starts_at": iso(start), "ends_at": iso(start + 7200)}, expect=201)
    e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"],
             {"beneficiary_id": b["id"]}, expect=201)
    w = r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"],
             {"beneficiary_id": other["id"]}, expect=201)
    assert (e["status"], w["status"]) == ("booked", "waitlisted"), (e, w)
    r.ok("POST", "/api/v1/eraser/notes", {"beneficiary_id": b["id"], "note": "parle italien"},
         expect=201)
    return b, e, w


def snapshot(r, bid):
    """Everything an erasure would change."""
    return (r.db("SELECT * FROM beneficiaries WHERE id = ?", bid),
            r.db("SELECT id, status, updated_at FROM enrollments ORDER BY id"),
            r.db("SELECT count(*) FROM enrollment_events")[0][0],
            r.db("SELECT id, status, error FROM notifications ORDER BY id"),
            r.db("SELECT * FROM eraser_notes ORDER BY id"))


def mode(r, m):
    assert r.ok("POST", "/api/v1/eraser/mode", {"mode": m}) == {"mode": m}


def plugin_errors(r):
    st, text, _ = r.req("GET", "/metrics", token=None)
    assert st == 200, text
    for line in text.splitlines():
        if line.startswith('relais_plugin_errors_total{plugin="eraser"}'):
            return int(line.split()[-1])
    return 0


def test_a_failing_hook_vetoes_the_erasure(r):
    b, e, w = setup(r)
    before = snapshot(r, b["id"])
    # Her messages are still to be sent; the person waiting behind her is
    # told she waits (kind waitlisted), which her lack of consent stops.
    mine = r.db("SELECT status FROM notifications WHERE beneficiary_id = ?", b["id"])
    assert mine and all(st == "pending" for (st,) in mine), mine
    assert sorted(r.db("SELECT kind, channel, status FROM notifications WHERE beneficiary_id = ?",
                       w["beneficiary_id"])) == [("waitlisted", "email", "suppressed"),
                                                 ("waitlisted", "sms", "suppressed")], before[3]
    for m in ("error", "budget", "memory", "wait", "yield"):
        mode(r, m)
        errors = plugin_errors(r)
        st, out, hdrs = r.req("DELETE", "%s/%d" % (B, b["id"]))
        assert st == 500, (m, st, out)
        problem(r, 500, out, hdrs)
        assert "eraser" in out["detail"] and "beneficiary.erased" in out["detail"], (m, out)
        for private in ("Odette", "Vuillermoz", "612345678", "odette@", "italien"):
            assert private not in out["detail"], (m, out)
        assert snapshot(r, b["id"]) == before, m
        assert plugin_errors(r) == errors + 1, m
        # The person is still there, as she was.
        got = r.ok("GET", "%s/%d" % (B, b["id"]))
        assert (got["first_name"], got["phone"]) == ("Odette", "+33612345678"), got
    # The server and the plugin are fine: the erasure goes through now.
    mode(r, "ok")
    r.ok("DELETE", "%s/%d" % (B, b["id"]), expect=204)
    assert r.db("SELECT count(*) FROM eraser_notes")[0][0] == 0
    assert r.db("SELECT first_name, phone, erased_at IS NOT NULL FROM beneficiaries"
                " WHERE id = ?", b["id"]) == [(None, None, 1)]
    status = dict(r.db("SELECT id, status FROM enrollments"))
    assert (status[e["id"]], status[w["id"]]) == ("cancelled", "booked"), status
    assert r.db("SELECT count(*) FROM notifications WHERE beneficiary_id = ? AND"
                " status = 'pending'", b["id"])[0][0] == 0
    log = r.read_log()
    for private in ("Odette", "Vuillermoz", "612345678", "odette@", "italien"):
        assert private not in log, private
    assert "cannot wait in a beneficiary.erased hook" in log, "the refused wait is logged"


def test_the_hook_runs_in_the_erasure_transaction(r):
    # A hook that works erases its part with the person, in one request.
    b, _, _ = setup(r)
    keep = r.ok("POST", B, {"first_name": "Jean", "last_name": "Garde"}, expect=201)
    r.ok("POST", "/api/v1/eraser/notes", {"beneficiary_id": keep["id"], "note": "x"},
         expect=201)
    r.ok("DELETE", "%s/%d" % (B, b["id"]), expect=204)
    assert r.db("SELECT beneficiary_id FROM eraser_notes") == [(keep["id"],)]


if __name__ == "__main__":
    run(globals())
