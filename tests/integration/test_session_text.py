"""The GET answers of sessions are written straight into a buffer
(core/domain/sessions_text.c) while the POST and PATCH answers still print a cJSON
tree (sessions_json): on the demo territory (scripts/demo.py, loaded
through the API), every session's GET must be byte for byte its PATCH {}
answer, and every page the items' texts joined, so that the writer can
never drift from the tree. Cancelled sessions (which PATCH refuses) and
odd values are compared in tests/unit/test_sessions_text.c."""
import http.client
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, run  # noqa: E402

S = "/api/v1/sessions"
# The shipped plugins: the demo uses them all (the Pix import, surveys…).
EXTRA_CONFIG = 'plugins = { "sms", "email", "pix", "surveys", "reports", "console" }\n'


def raw(r, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
    h = {"Authorization": "Bearer " + r.tokens["admin"]}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    try:
        c.request(method, path, body=data, headers=h)
        resp = c.getresponse()
        return resp.status, resp.read(), resp.getheader("Content-Type")
    finally:
        c.close()


def test_demo_sessions_written_as_the_tree_prints_them(r):
    demo = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "scripts", "demo.py"),
                           "http://127.0.0.1:%d" % r.port, r.tokens["admin"]],
                          capture_output=True, text=True, timeout=240)
    assert demo.returncode == 0, demo.stderr[-800:]
    texts, path, pages = [], S + "?limit=7", 0
    while path:
        st, page, ctype = raw(r, "GET", path)
        assert st == 200 and ctype == "application/json", (st, page[:200])
        doc = json.loads(page)
        items = []
        for item in doc["items"]:
            st, one, ctype = raw(r, "GET", "%s/%d" % (S, item["id"]))
            assert st == 200 and ctype == "application/json", (st, one)
            items.append(one)
        nxt = b"null" if doc["next"] is None else json.dumps(doc["next"]).encode()
        assert page == b'{"items":[' + b",".join(items) + b'],"next":' + nxt + b"}", page
        texts += items
        pages += 1
        path = S + "?limit=7&cursor=" + doc["next"] if doc["next"] else None
    kinds, compared = set(), 0
    for one in texts:
        s = json.loads(one)
        kinds.add(s["kind"] + ("+parts" if "parts" in s else "")
                  + ("+slots" if "slots" in s else ""))
        if s["status"] == "cancelled":
            continue
        # PATCH {} changes nothing and answers through the cJSON tree.
        st, tree, ctype = raw(r, "PATCH", "%s/%d" % (S, s["id"]), {})
        assert st == 200 and ctype == "application/json", (st, tree)
        assert tree == one, (tree, one)
        compared += 1
    assert pages > 3 and compared > 40, (pages, compared)
    assert {"workshop", "training+parts", "permanence+slots"} <= kinds, kinds


if __name__ == "__main__":
    run(globals())
