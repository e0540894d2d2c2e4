"""Faulty plugins (fixtures in tests/integration/plugins/): a route that loops
forever, one that allocates without bound, routes that crash, a channel whose
send never ends, a plugin whose loading never ends. Each faulty call answers
500 or is retried, is counted in relais_plugin_errors_total, and the server
keeps serving — also across SIGHUP reloads."""
import os
import signal
import time

from notify_util import (run, with_config, metrics, metric_value, health_ms, person, session,
                         enroll, one, wait_until)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")


def plugins(*names):
    return 'plugins_dir = "%s"\nplugins = {%s}\n' % (
        FIXTURES, ", ".join('"%s"' % n for n in names))


def errors(r, plugin):
    return metric_value(metrics(r), "relais_plugin_errors_total", plugin=plugin) or 0


def get(r, path):
    st, body, hdrs = r.req("GET", path, token=None, timeout=60)
    return st, body


def alive(r):
    """/health answers 200, quickly, right after a fault."""
    ms = health_ms(r.port)
    assert r.proc.poll() is None, "relais died"
    assert ms < 2000, "/health took %.0f ms" % ms


def faulty(r, plugin, path, max_seconds=30):
    """PATH answers 500, the server goes on, PLUGIN's error count grows by one."""
    before = errors(r, plugin)
    t0 = time.time()
    st, body = get(r, path)
    took = time.time() - t0
    assert st == 500, "%s → %d %r" % (path, st, body)
    assert took < max_seconds, "%s took %.1fs" % (path, took)
    alive(r)
    after = errors(r, plugin)
    assert after == before + 1, "%s: errors %s → %s" % (path, before, after)


@with_config(plugins("looper"))
def test_endless_loop_is_stopped(r, sim):
    faulty(r, "looper", "/faults/loop")
    faulty(r, "looper", "/faults/loop-pcall")
    st, body = get(r, "/faults/loop/ok")
    assert st == 200 and "looper alive" in body, (st, body)


@with_config(plugins("hog"))
def test_unbounded_allocation_is_stopped(r, sim):
    faulty(r, "hog", "/faults/hog")
    faulty(r, "hog", "/faults/hog-string")
    # The memory is given back: the same plugin works, more than once.
    for _ in range(3):
        st, body = get(r, "/faults/hog/ok")
        assert st == 200 and body.startswith("hog alive"), (st, body)
    faulty(r, "hog", "/faults/hog")


@with_config(plugins("crasher"))
def test_errors_answer_500(r, sim):
    assert errors(r, "crasher") >= 1, "the failing 'loaded' hook is counted"
    for path in ("/faults/crash", "/faults/crash-nil", "/faults/crash-bad"):
        faulty(r, "crasher", path)
    st, body = get(r, "/faults/crash/ok")
    assert st == 200 and body == {"ok": True, "plugin": "crasher"}, (st, body)
    log = r.read_log()
    assert "failing on purpose" in log, "the error is logged"
    assert "plugin.lua:" in log, "with where it happened (traceback)"


@with_config(plugins("spinner"))
def test_channel_send_that_never_ends(r, sim):
    e = enroll(r, session(r, 3 * 86400)["id"], person(r)["id"])

    def retried():
        n = one(r, e["id"], "confirmation")
        return n if n["attempts"] >= 1 and n["status"] == "pending" else None
    n = wait_until(retried, 30, "the send to be stopped and queued again")
    assert n["error"], n
    alive(r)
    assert errors(r, "spinner") >= 1
    assert len(sim.messages) == 0


@with_config(plugins("stuckload", "crasher"))
def test_plugin_stuck_at_load_is_skipped(r, sim):
    assert errors(r, "stuckload") >= 1
    st, body = get(r, "/faults/crash/ok")
    assert st == 200, "the next plugin loaded: %d %r" % (st, body)


@with_config(plugins("sandbox"))
def test_sandbox(r, sim):
    st, got = get(r, "/faults/sandbox")
    assert st == 200, (st, got)
    assert got == {"io": "nil", "package": "nil", "debug": "nil", "dofile": "nil",
                   "loadfile": "nil", "execute": "nil", "getenv": "nil", "remove": "nil",
                   "dump": "nil", "bytecode": False, "require_escape": False,
                   "require_abs": False}, got


@with_config(plugins("sms", "email", "looper", "hog", "crasher"))
def test_sighup_reload_keeps_serving(r, sim):
    faulty(r, "looper", "/faults/loop")
    for _ in range(5):
        r.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 1.0
        while time.time() < deadline:     # served during the reload too
            alive(r)
    # Everything is back: the fixtures' routes, and the sms plugin's hooks
    # (an unsigned callback is refused, not unknown).
    wait_until(lambda: get(r, "/faults/crash/ok")[0] == 200, 10, "plugins reloaded")
    faulty(r, "looper", "/faults/loop")
    faulty(r, "hog", "/faults/hog")
    st, _, _ = r.req("POST", "/hooks/sms/twilio/status", token=None, raw="MessageSid=SM1",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 403, st
    e = enroll(r, session(r, 3 * 86400)["id"], person(r)["id"])
    wait_until(lambda: one(r, e["id"], "confirmation")["status"] == "sent", 15,
               "an SMS after the reloads")


if __name__ == "__main__":
    run(globals())
