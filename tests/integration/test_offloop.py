"""Nothing a plugin's GET route reads stalls the event loop (issue 16): its
queries run on a reader thread with a read-only connection of its own
(core/plugin/plugins_dbread.c). While a route's query runs for seconds, /health
and the API answer at once; the route's answer comes when its query ends.
On the loop, /health would have waited for the whole query."""
import os
import threading
import time

from harness import Relais, run, SRC

FIXTURES = os.path.join(SRC, "tests", "integration", "plugins")
STEPS = 10000000     # seconds of SQLite here, within the route's largest budget


def fresh(r):
    r.stop()
    r.cleanup()
    r.__init__(extra_config='plugins_dir = "%s"\nplugins = {"slowread"}\n' % FIXTURES)
    r.start()


def test_health_while_a_long_read_runs(r):
    fresh(r)
    r.ok("POST", "/api/v1/beneficiaries", {"first_name": "Ana", "last_name": "B"})
    out = {}

    def slow():
        t0 = time.monotonic()
        out["st"], out["body"], _ = r.req("GET", "/api/v1/test/slow?n=%d" % STEPS, timeout=300)
        out["seconds"] = time.monotonic() - t0

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.3)                     # the query is running on a reader
    worst = 0.0
    for _ in range(5):
        t0 = time.monotonic()
        st, body, _ = r.req("GET", "/health", token=None)
        worst = max(worst, time.monotonic() - t0)
        assert st == 200 and body == {"status": "ok"}, (st, body)
        st, _, _ = r.req("GET", "/api/v1/venues")
        assert st == 200
    still_running = th.is_alive()
    th.join()
    assert out["st"] == 200, out
    assert out["body"] == {"n": STEPS, "people": 1}, out
    # The query ran for seconds; /health never waited for it (a bound with a
    # wide margin: on the loop it would have waited the whole query).
    assert still_running and out["seconds"] > 1.0, out
    assert worst < 0.5, (worst, out["seconds"])


if __name__ == "__main__":
    run(globals())
