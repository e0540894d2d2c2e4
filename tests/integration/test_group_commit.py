"""Group commit (core/store/store_group.c): writing requests that arrive together
share one transaction and one commit, each inside a savepoint of its own.
These cases send many writing requests at once, some of them failing, and
check that each failure took back only its own writes, that every success
is stored with what it queued (its notifications), in the order the server
took them (places, then the waitlist), and that nothing answered 201 is
lost when the server is killed right after the answers."""
import http.client
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402

S = "/api/v1/sessions"


def person(r, i):
    return r.ok("POST", "/api/v1/beneficiaries",
                {"first_name": "Groupe", "last_name": "Essai %d" % i,
                 "phone": "+336120000%02d" % i, "consent_sms": True}, expect=201)["id"]


def workshop(r, capacity):
    return r.ok("POST", S, {"kind": "workshop", "title": "Tablette", "capacity": capacity,
                            "starts_at": "2027-06-02T14:00:00+02:00",
                            "ends_at": "2027-06-02T16:00:00+02:00"}, expect=201)["id"]


def at_once(r, calls):
    """Sends every (method, path, body) of CALLS on a connection of its own,
    all released together; returns [(status, parsed body)] in CALLS' order."""
    out = [None] * len(calls)
    conns = [http.client.HTTPConnection("127.0.0.1", r.port, timeout=30) for _ in calls]
    for c in conns:
        c.connect()
    go = threading.Barrier(len(calls))

    def one(i):
        method, path, body = calls[i]
        go.wait()
        conns[i].request(method, path, body=json.dumps(body),
                         headers={"Authorization": "Bearer " + r.tokens["admin"],
                                  "Content-Type": "application/json"})
        resp = conns[i].getresponse()
        out[i] = (resp.status, json.loads(resp.read() or b"null"))
        conns[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_failures_take_back_only_their_own_writes(r):
    people = [person(r, i) for i in range(24)]
    sid = workshop(r, 100)
    # Eight of them are enrolled already: enrolling them again is a 409.
    for b in people[:8]:
        r.ok("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": b}, expect=201)
    before = r.db("SELECT count(*) FROM notifications")[0][0]
    calls = []
    for i, b in enumerate(people):
        calls.append(("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": b}))
        if i % 3 == 0:   # unknown people and bad bodies in between
            calls.append(("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": 999999}))
            calls.append(("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": "x"}))
    got = at_once(r, calls)
    created = {}
    for (method, path, body), (st, out) in zip(calls, got):
        b = body["beneficiary_id"]
        if b in people[8:]:
            assert st == 201, (b, st, out)
            created[b] = out["id"]
        else:
            assert st in (404, 409, 422), (b, st, out)
    rows = dict(r.db("SELECT beneficiary_id, id FROM enrollments WHERE session_id = ?", sid))
    assert len(rows) == 24, rows
    for b, eid in created.items():
        assert rows[b] == eid, (b, rows)
        # Its confirmation was queued in its own savepoint, and kept.
        assert r.db("SELECT count(*) FROM notifications WHERE enrollment_id = ?", eid)[0][0] > 0
    # Nothing of the failures: no enrollment, no event, no message.
    assert r.db("SELECT count(*) FROM notifications WHERE beneficiary_id = 999999")[0][0] == 0
    assert r.db("SELECT count(*) FROM notifications")[0][0] > before
    s = r.ok("GET", "%s/%d" % (S, sid))
    assert s["booked"] == 24, s


def test_places_then_waitlist_in_the_servers_order(r):
    people = [person(r, i) for i in range(20)]
    sid = workshop(r, 7)
    got = at_once(r, [("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": b})
                      for b in people])
    assert all(st == 201 for st, _ in got), got
    statuses = [out["status"] for _, out in got]
    assert statuses.count("booked") == 7 and statuses.count("waitlisted") == 13, statuses
    # The places went to the first seven the server took, by enrollment id.
    stored = [st for (st,) in r.db("SELECT status FROM enrollments WHERE session_id = ?"
                                   " ORDER BY id", sid)]
    assert stored == ["booked"] * 7 + ["waitlisted"] * 13, stored
    s = r.ok("GET", "%s/%d" % (S, sid))
    assert (s["booked"], s["waitlisted"], s["remaining"]) == (7, 13, 0), s


def test_answered_means_durable(r):
    people = [person(r, i) for i in range(30)]
    sid = workshop(r, 100)
    got = at_once(r, [("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": b})
                      for b in people])
    ids = sorted(out["id"] for st, out in got if st == 201)
    assert len(ids) == 30, got
    # Killed the moment the last answer is in: every answered write is on
    # disk, found again after the restart.
    r.stop(signal.SIGKILL)
    r.start()
    stored = sorted(i for (i,) in r.db("SELECT id FROM enrollments WHERE session_id = ?", sid))
    assert stored == ids, (stored, ids)
    assert r.ok("GET", "%s/%d" % (S, sid))["booked"] == 30


def test_reads_between_writes_see_committed_state(r):
    people = [person(r, i) for i in range(12)]
    sid = workshop(r, 100)
    calls = []
    for b in people:
        calls.append(("POST", "%s/%d/enrollments" % (S, sid), {"beneficiary_id": b}))
        calls.append(("GET", "%s/%d" % (S, sid), None))
    got = at_once(r, calls)
    booked = []
    for (method, _, _), (st, out) in zip(calls, got):
        if method == "GET":
            assert st == 200, out
            booked.append(out["booked"])
        else:
            assert st == 201, out
    # Whatever a read saw was committed: never more than the final count,
    # and the final read sees all twelve.
    assert all(0 <= n <= 12 for n in booked), booked
    assert r.ok("GET", "%s/%d" % (S, sid))["booked"] == 12


if __name__ == "__main__":
    run(globals())
