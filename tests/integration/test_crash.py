"""The crash test: relais is killed (SIGKILL) in the middle of a burst of
several hundred confirmations and restarted on the same database. No
confirmation may be lost, and the gateway (which honours Idempotency-Key)
must not see any of them twice."""
import collections
import os
import queue
import threading
import time

from notify_util import run, with_config, sms_table, session, phone, wait_until, notifs

N = int(os.environ.get("CRASH_N", "400"))
DAY = 86400


def pool(fn, items, threads=4):
    """Runs FN over ITEMS on THREADS threads; returns {item: result or the
    exception}. Stops taking new items once stop is set."""
    q = queue.Queue()
    for it in items:
        q.put(it)
    out = {}
    lock = threading.Lock()

    def work():
        while True:
            try:
                it = q.get_nowait()
            except queue.Empty:
                return
            try:
                res = fn(it)
            except Exception as e:   # a request cut by the kill
                res = e
            with lock:
                out[it] = res
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def enrollments_of(r, session_id):
    items, cursor = [], None
    while True:
        path = "/api/v1/sessions/%d/enrollments?limit=500" % session_id
        if cursor:
            path += "&cursor=" + cursor
        page = r.ok("GET", path)
        items += page["items"]
        cursor = page.get("next")
        if not cursor:
            return items


@with_config(lambda sim: 'reminders = {confirmation = true, before = {}}\n' +
             sms_table(sim, ", timeout = 60"))
def test_kill_during_burst(r, sim):
    s = session(r, 3 * DAY, capacity=N + 10)
    people = pool(lambda i: r.ok("POST", "/api/v1/beneficiaries",
                                 {"first_name": "P%d" % i, "last_name": "Crash",
                                  "phone": phone(), "consent_sms": True}), range(N))
    assert all(isinstance(p, dict) for p in people.values()), "creating people failed"
    phones = {p["id"]: p["phone"] for p in people.values()}

    # The whole burst is queued first: the gateway holds every request until
    # all the enrollments are in (a generous sms time-out covers the wait).
    sim.hold()
    first = pool(lambda pid: r.req("POST", "/api/v1/sessions/%d/enrollments" % s["id"],
                                   {"beneficiary_id": pid})[0], list(phones))
    assert all(st == 201 for st in first.values()), collections.Counter(first.values())
    # Slow answers keep a few dozen requests in flight at the moment of the kill.
    sim.delay = 0.05
    sim.release()
    wait_until(lambda: len(sim.messages) >= N // 3, 120, "a third of the burst")
    r.proc.kill()                # SIGKILL: no clean-up at all
    r.proc.wait()
    at_kill = len(sim.messages)
    rows = dict(r.db("SELECT status, count(*) FROM notifications WHERE channel = 'sms'"
                     " GROUP BY status"))
    print("# killed with %d/%d confirmations at the gateway; rows then: %s"
          % (at_kill, N, rows))
    assert at_kill < N, "the burst was over before the kill: nothing was tested"

    sim.delay = 0.005
    r.start()                    # same directory, same database
    assert sim.wait_for(N, timeout=180), "only %d of %d confirmations arrived" % (
        len(sim.messages), N)
    time.sleep(2)                # anything extra would show up now

    msgs = list(sim.messages)
    assert len(msgs) == N, "%d deliveries for %d people" % (len(msgs), N)
    by_phone = collections.Counter(m["to"] for m in msgs)
    assert set(by_phone) == set(phones.values()) and max(by_phone.values()) == 1
    keys = [m["idem_key"] for m in msgs]
    assert all(keys) and len(set(keys)) == N, "every delivery has its own key"
    # Requests that repeated a key were answered from the gateway's memory:
    # same sid, no second delivery.
    sid_of = {m["idem_key"]: m["sid"] for m in msgs}
    repeated = [q for q in sim.requests if q["dedup"]]
    for q in repeated:
        assert q["answer"]["sid"] == sid_of[q["idem_key"]], q
    print("# %d requests repeated a key after the restart" % len(repeated))

    ens = enrollments_of(r, s["id"])
    assert len(ens) == N and all(e["status"] == "booked" for e in ens), len(ens)
    rows = pool(lambda eid: notifs(r, eid, "confirmation"), [e["id"] for e in ens])
    by_id = {}
    for eid, ns in rows.items():
        assert isinstance(ns, list) and len(ns) == 1, (eid, ns)
        n = ns[0]
        assert n["status"] == "sent", n
        by_id[n["id"]] = n
    for m in msgs:
        nid = int(m["idem_key"][1:].split("-")[0])
        assert nid in by_id, "key %s is no notification of this session" % m["idem_key"]
        assert by_id[nid]["provider_id"] == m["sid"], (by_id[nid], m["sid"])
    assert len(by_id) == N


if __name__ == "__main__":
    run(globals())
