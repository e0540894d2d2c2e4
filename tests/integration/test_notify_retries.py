"""Notifications: retries. A gateway that fails (5xx, time-out, refused
connection, lost answer) is retried with backoff and the same Idempotency-Key,
and the gateway sees each message once."""
import time

from notify_util import (run, with_config, sms_table, epoch, wait_until, person,
                         session, enroll, one, wait_status)
from test_notifications import DAY, settle

# The config's retry schedule, shortened from 30 s doubling to 1 h so that a
# test waits seconds (the default schedule is checked by the unit tests).
FAST = 'retry = {first = "3s", max = "6s"}\n'
RETRY_WAIT = 40


# --- retries ------------------------------------------------------------------
def requests_for(sim, n):
    return [q for q in sim.requests if q["idem_key"] and
            q["idem_key"].startswith("n%d-" % n["id"])]


def brief(reqs):
    """What an assertion shows of requests (no credentials, no texts)."""
    return [(q["idem_key"], q["fault"], q["status"], q["dedup"]) for q in reqs]


def check_first_failure(r, e):
    """After a transient error the row is pending again, later, attempts 1."""
    def failed_once():
        n = one(r, e["id"], "confirmation")
        return n if n["attempts"] >= 1 and n["status"] == "pending" else None
    t0 = time.time()
    n = wait_until(failed_once, 45, "the first attempt to fail")
    assert n["error"], n
    assert n["attempts"] == 1, n
    # The retry is due 3 s ± 20 % (whole seconds: at least 2) after the
    # attempt, which began no earlier than the second before T0.
    assert epoch(n["due_at"]) >= int(t0) + 1, "backs off (3 s ± 20 %%): %r" % n
    return n


@with_config(FAST)
def test_idempotency_key_stable_across_retries(r, sim):
    sim.fail_next(2, "503")
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])
    check_first_failure(r, e)
    n = wait_status(r, e["id"], "confirmation", "sent", timeout=RETRY_WAIT)
    assert n["attempts"] == 3, n
    reqs = requests_for(sim, n)
    assert len(reqs) == 3, brief(sim.requests)
    assert [q["status"] for q in reqs] == [503, 503, 201]
    assert len({q["headers"]["idempotency-key"] for q in reqs}) == 1
    assert len(sim.requests) == 3, "every request carried the key"
    settle(sim, 1)


@with_config(lambda sim: FAST + sms_table(sim, ", timeout = 2"))
def test_timeout_is_retried(r, sim):
    sim.fail_next(1, "timeout")
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])
    check_first_failure(r, e)
    n = wait_status(r, e["id"], "confirmation", "sent", timeout=RETRY_WAIT)
    assert n["attempts"] == 2, n
    assert [q["fault"] for q in requests_for(sim, n)] == ["timeout", None]
    settle(sim, 1)


@with_config(FAST)
def test_refused_connection_is_retried(r, sim):
    sim.down()
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])
    check_first_failure(r, e)
    sim.up()
    n = wait_status(r, e["id"], "confirmation", "sent", timeout=RETRY_WAIT)
    assert n["attempts"] >= 2, n
    settle(sim, 1)


@with_config(FAST)
def test_lost_answer_is_not_a_duplicate(r, sim):
    """The gateway took the message but the answer never came back: the retry
    carries the same key, and the gateway does not send it twice."""
    sim.fail_next(1, "lost")
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])
    n = wait_status(r, e["id"], "confirmation", "sent", timeout=RETRY_WAIT)
    reqs = requests_for(sim, n)
    assert len(reqs) == 2 and reqs[1]["dedup"], brief(reqs)
    assert n["provider_id"] == sim.messages[0]["sid"]
    settle(sim, 1)



def test_crash_while_sending_keeps_the_key(r, sim):
    """Killed (SIGKILL) while the gateway holds the request: at the next
    start the row, still 'sending', goes again at once with the same key,
    and the gateway, which had taken it, does not send it twice."""
    sim.slow_seconds = 20
    sim.fail_next(1, "slow")
    e = enroll(r, session(r, 3 * DAY)["id"], person(r)["id"])
    wait_until(lambda: len(sim.messages) == 1, 15, "the gateway to take the message")
    r.proc.kill()
    r.proc.wait()
    r.start()
    n = wait_status(r, e["id"], "confirmation", "sent", timeout=15)
    reqs = requests_for(sim, n)
    assert len(reqs) == 2 and not reqs[0]["dedup"] and reqs[1]["dedup"], brief(reqs)
    assert reqs[0]["idem_key"] == reqs[1]["idem_key"]
    assert n["provider_id"] == sim.messages[0]["sid"]
    settle(sim, 1)


if __name__ == "__main__":
    run(globals())
