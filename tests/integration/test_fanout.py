"""A session change concerning many people (more than are told inside the
change's own transaction) goes through a fan-out job, expanded in batches by
the dispatcher between requests: the PATCH answers at once, /health keeps
answering during the burst, each person gets exactly one change SMS, the
list shows it, and a SIGKILL right after the PATCH (with the job written,
its rows not all made) loses and doubles nothing. Timing is not asserted:
scripts/bench-notify measures it."""
import collections
import os
import threading

from notify_util import run, with_config, session, phone, wait_until, notifs, health_ms, iso
from notify_util import epoch

N = int(os.environ.get("FANOUT_N", "150"))
DAY = 86400
ONLY_CHANGES = 'reminders = {confirmation = false, before = {"48h"}}\n'


def pool(fn, items, threads=4):
    it = iter(list(items))
    lock = threading.Lock()
    out, errors = [], []

    def work():
        while True:
            with lock:
                x = next(it, None)
            if x is None:
                return
            try:
                v = fn(x)
                with lock:
                    out.append(v)
            except Exception as e:
                errors.append(e)
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[0]
    return out


def book_many(r, n):
    s = session(r, 5 * DAY, capacity=n)
    people = pool(lambda i: r.ok("POST", "/api/v1/beneficiaries",
                                 {"first_name": "P%d" % i, "last_name": "Fanout",
                                  "phone": phone(), "consent_sms": True}), range(n))
    ens = pool(lambda p: r.ok("POST", "/api/v1/sessions/%d/enrollments" % s["id"],
                              {"beneficiary_id": p["id"]}, expect=201), people)
    assert all(e["status"] == "booked" for e in ens)
    return s, {p["id"]: p["phone"] for p in people}, ens


def move_one_day(r, s):
    start, end = epoch(s["starts_at"]) + DAY, epoch(s["ends_at"]) + DAY
    return r.ok("PATCH", "/api/v1/sessions/%d" % s["id"],
                {"starts_at": iso(start), "ends_at": iso(end)}), start


def check_one_change_each(r, sim, phones, ens, new_start):
    assert sim.wait_for(len(phones), timeout=120), "only %d of %d change SMS arrived" % (
        len(sim.messages), len(phones))
    wait_until(lambda: not r.db("SELECT 1 FROM notifications WHERE kind = 'change'"
                                " AND channel = 'sms' AND status IN ('pending', 'sending')"),
               30, "every change to be sent")
    msgs = list(sim.messages)
    by_phone = collections.Counter(m["to"] for m in msgs)
    assert set(by_phone) == set(phones.values()), "everyone is told"
    assert max(by_phone.values()) == 1, "nobody is told twice: %r" % by_phone.most_common(3)
    assert len({m["idem_key"] for m in msgs}) == len(phones)
    assert r.db("SELECT count(*) FROM notification_fanouts")[0][0] == 0, "the job is done"
    for e in ens[:: max(1, len(ens) // 10)]:
        ch = notifs(r, e["id"], "change")
        assert len(ch) == 1 and ch[0]["status"] == "sent", ch
        rem = [n for n in notifs(r, e["id"], "reminder") if n["status"] == "pending"]
        assert len(rem) == 1 and rem[0]["due_at"] == iso(new_start - 2 * DAY), rem


@with_config(ONLY_CHANGES)
def test_big_move(r, sim):
    s, phones, ens = book_many(r, N)
    assert len(sim.messages) == 0, "no confirmations in this test"
    # /health is probed back to back from another thread during the burst:
    # every probe must be answered (how fast is the benchmark's business).
    stop, probes, bad = threading.Event(), [], []

    def probe():
        while not stop.is_set():
            try:
                probes.append(health_ms(r.port, timeout=30))
            except Exception as e:   # a refused or failed probe
                bad.append(repr(e))
    t = threading.Thread(target=probe)
    t.start()
    try:
        moved, new_start = move_one_day(r, s)
        assert moved["starts_at"] == iso(new_start)
        check_one_change_each(r, sim, phones, ens, new_start)
    finally:
        stop.set()
        t.join()
    assert probes and not bad, (len(probes), bad[:3])
    print("# %d /health probes answered during the burst" % len(probes))


@with_config(lambda sim: ONLY_CHANGES + 'sms = {provider = "twilio", url = "%s",'
             ' account_sid = "%s", auth_token = "%s", from = "RELAIS", timeout = 60}\n'
             % (sim.url, sim.account_sid, sim.auth_token))
def test_kill_after_move(r, sim):
    s, phones, ens = book_many(r, N)
    sim.hold()                   # nothing leaves before the kill
    moved, new_start = move_one_day(r, s)
    r.proc.kill()                # SIGKILL right after the answer
    r.proc.wait()
    jobs = r.db("SELECT count(*) FROM notification_fanouts")[0][0]
    rows = r.db("SELECT count(*) FROM notifications WHERE kind = 'change' AND channel = 'sms'")
    print("# killed with %d fan-out job(s) and %d of %d change rows made"
          % (jobs, rows[0][0], N))
    assert jobs == 1 or rows[0][0] == N, "the change is recorded with its job or its rows"
    sim.release()
    r.start()                    # same directory, same database
    check_one_change_each(r, sim, phones, ens, new_start)


if __name__ == "__main__":
    run(globals())
