"""Sessions, more: the walk-ins' anonymous head count, the devices used, the
reason of a cancellation and a session's length in minutes (a training's
the sum of its parts)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

S = "/api/v1/sessions"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fields_of(out):
    return sorted(e["field"] for e in out.get("errors", []))


def world(r):
    w = {"samir": r.ok("POST", "/api/v1/staff", {"name": "Samir", "role": "trainer"},
                       expect=201)["id"],
         "nadia": r.ok("POST", "/api/v1/staff", {"name": "Nadia", "role": "trainer"},
                       expect=201)["id"]}
    start = int(time.time()) - 86400
    w["perm"] = r.ok("POST", S, {"kind": "permanence", "title": "Permanence",
                                 "trainer_id": w["samir"], "starts_at": iso(start),
                                 "ends_at": iso(start + 3 * 3600)}, expect=201)["id"]
    w["other"] = r.ok("POST", S, {"kind": "workshop", "title": "Atelier",
                                  "trainer_id": w["nadia"], "starts_at": iso(start),
                                  "ends_at": iso(start + 5400)}, expect=201)["id"]
    r.tokens["samir"] = r.token("trainer", name="samir", staff=w["samir"])
    return w


def headcount_rows(r):
    return r.db("SELECT * FROM session_headcounts ORDER BY id"), \
        r.db("SELECT headcount FROM sessions ORDER BY id")


def test_headcount_put_get_and_session_total(r):
    w = world(r)
    path = "%s/%d/headcount" % (S, w["perm"])
    empty = r.ok("GET", path)
    assert empty == {"session_id": w["perm"], "counts": [], "total": 0}, empty
    doc = r.ok("PUT", path, {"counts": [
        {"gender": "F", "age_bracket": "56+", "residence": "qpv", "n": 3},
        {"gender": "M", "age_bracket": "26-35", "residence": "outside", "n": 1},
        {"gender": "F", "age_bracket": "56+", "residence": "qpv", "n": 2},   # the same group
        {"gender": "X", "n": 0},                                            # nobody: no row
        {"n": 4}]})                                                         # nothing known
    assert doc["total"] == 10, doc
    assert doc["counts"] == [
        {"gender": "F", "age_bracket": "56+", "residence": "qpv", "n": 5},
        {"gender": "M", "age_bracket": "26-35", "residence": "outside", "n": 1},
        {"gender": None, "age_bracket": None, "residence": None, "n": 4}], doc
    assert r.ok("GET", path) == doc
    s = r.ok("GET", "%s/%d" % (S, w["perm"]))
    assert s["headcount"] == 10, s
    listed = [x for x in r.ok("GET", S)["items"] if x["id"] == w["perm"]]
    assert listed[0]["headcount"] == 10, listed
    # A second PUT replaces (a correction), it does not add.
    doc = r.ok("PUT", path, {"counts": [{"gender": "F", "age_bracket": "<26", "n": 2}]})
    assert doc["total"] == 2 and len(doc["counts"]) == 2 - 1, doc
    assert r.ok("GET", "%s/%d" % (S, w["perm"]))["headcount"] == 2
    doc = r.ok("PUT", path, {"counts": []})
    assert doc["total"] == 0 and doc["counts"] == [], doc
    assert r.ok("GET", "%s/%d" % (S, w["perm"]))["headcount"] == 0


def test_headcount_bad_input_changes_nothing(r):
    w = world(r)
    path = "%s/%d/headcount" % (S, w["perm"])
    r.ok("PUT", path, {"counts": [{"gender": "F", "age_bracket": "46-55", "n": 2}]})
    before = headcount_rows(r)
    cases = [
        ({}, ["counts"]),
        ({"counts": {}}, ["counts"]),
        ({"counts": [1]}, ["counts[0]"]),
        ({"counts": [{"gender": "F"}]}, ["counts[0].n"]),
        ({"counts": [{"n": -1}]}, ["counts[0].n"]),
        ({"counts": [{"n": 1.5}]}, ["counts[0].n"]),
        ({"counts": [{"n": "3"}]}, ["counts[0].n"]),
        ({"counts": [{"n": 1, "age_bracket": "60+"}]}, ["counts[0].age_bracket"]),
        ({"counts": [{"n": 1, "age_bracket": "56+"}, {"n": 1, "gender": "Femme",
                                                     "residence": "ZUS", "age": 3}]},
         ["counts[1].age", "counts[1].gender", "counts[1].residence"]),
        ({"counts": [{"n": 1}], "session": 3}, ["session"]),
        ({"counts": [{"n": 1}] * 201}, ["counts"]),
    ]
    for body, want in cases:
        st, out, hdrs = r.req("PUT", path, body)
        assert st == 422, (body, out)
        problem(r, 422, out, hdrs)
        assert fields_of(out) == want, (body, out)
    assert headcount_rows(r) == before
    for method, body in (("GET", None), ("PUT", {"counts": []})):
        st, out, hdrs = r.req(method, "%s/999/headcount" % S, body)
        assert st == 404, out
        problem(r, 404, out, hdrs)
    # A cancelled session had no walk-ins.
    r.ok("POST", "%s/%d/cancel" % (S, w["other"]))
    st, out, _ = r.req("PUT", "%s/%d/headcount" % (S, w["other"]), {"counts": [{"n": 1}]})
    assert st == 409, out
    assert headcount_rows(r) == before


def test_headcount_trainer_own_sessions(r):
    w = world(r)
    doc = r.ok("PUT", "%s/%d/headcount" % (S, w["perm"]), {"counts": [{"n": 3}]},
               token="samir")
    assert doc["total"] == 3
    st, out, _ = r.req("PUT", "%s/%d/headcount" % (S, w["other"]), {"counts": [{"n": 3}]},
                       token="samir")
    assert st == 403, out
    # Reading is every role's: it names nobody.
    assert r.ok("GET", "%s/%d/headcount" % (S, w["other"]), token="samir")["total"] == 0
    assert r.db("SELECT headcount FROM sessions WHERE id = ?", w["other"]) == [(0,)]


def test_cancel_with_a_reason(r):
    w = world(r)
    s = r.ok("POST", "%s/%d/cancel" % (S, w["perm"]), {"reason": "  Formatrice malade  "})
    assert s["status"] == "cancelled" and s["cancel_reason"] == "Formatrice malade", s
    # Without a body, or with {}, there is no reason.
    s = r.ok("POST", "%s/%d/cancel" % (S, w["other"]))
    assert s["status"] == "cancelled" and s["cancel_reason"] is None, s
    # Cancelled sessions stay listed, with their reason.
    got = {x["id"]: x["cancel_reason"] for x in r.ok("GET", S + "?status=cancelled")["items"]}
    assert got == {w["perm"]: "Formatrice malade", w["other"]: None}, got
    start = int(time.time()) + 86400
    t = r.ok("POST", S, {"kind": "training", "title": "ESJA", "parts": [
        {"title": "1", "starts_at": iso(start), "ends_at": iso(start + 3600)},
        {"title": "2", "starts_at": iso(start + 86400), "ends_at": iso(start + 86400 + 1800)}]},
        expect=201)
    s = r.ok("POST", "%s/%d/cancel" % (S, t["id"]), {"reason": "Trop peu d'inscrits"})
    assert [p["cancel_reason"] for p in s["parts"]] == ["Trop peu d'inscrits"] * 2, s
    # Bad bodies change nothing.
    w2 = r.ok("POST", S, {"kind": "workshop", "title": "Encore", "starts_at": iso(start),
                          "ends_at": iso(start + 3600)}, expect=201)
    for body, want in (({"reason": "x" * 301}, ["reason"]), ({"reason": 3}, ["reason"]),
                       ({"why": "x"}, ["why"])):
        st, out, hdrs = r.req("POST", "%s/%d/cancel" % (S, w2["id"]), body)
        assert st == 422 and fields_of(out) == want, (body, out)
        problem(r, 422, out, hdrs)
    st, out, _ = r.req("POST", "%s/%d/cancel" % (S, w2["id"]), raw="{",
                       headers={"Content-Type": "application/json"})
    assert st == 400, out
    assert r.ok("GET", "%s/%d" % (S, w2["id"]))["status"] == "scheduled"
    # Already cancelled: 409 whatever the reason.
    st, _, _ = r.req("POST", "%s/%d/cancel" % (S, w["perm"]), {"reason": "encore"})
    assert st == 409
    assert r.ok("GET", "%s/%d" % (S, w["perm"]))["cancel_reason"] == "Formatrice malade"


def test_minutes(r):
    start = int(time.time()) + 7 * 86400
    w = r.ok("POST", S, {"kind": "workshop", "title": "Atelier", "starts_at": iso(start),
                         "ends_at": iso(start + 5400)}, expect=201)
    assert w["minutes"] == 90, w
    # A training is the sum of its parts, not its span of three weeks.
    t = r.ok("POST", S, {"kind": "training", "title": "ESJA", "parts": [
        {"title": "Pix", "starts_at": iso(start), "ends_at": iso(start + 45 * 60), "online": True},
        {"title": "Atelier", "starts_at": iso(start + 7 * 86400),
         "ends_at": iso(start + 7 * 86400 + 210 * 60)},
        {"title": "Module", "starts_at": iso(start + 21 * 86400),
         "ends_at": iso(start + 21 * 86400 + 30 * 60), "online": True}]}, expect=201)
    assert t["minutes"] == 45 + 210 + 30, t
    assert [p["minutes"] for p in t["parts"]] == [45, 210, 30], t
    # A move changes the length.
    p = r.ok("PATCH", "%s/%d" % (S, t["parts"][1]["id"]),
             {"ends_at": iso(start + 7 * 86400 + 180 * 60)})
    assert p["minutes"] == 180, p
    assert r.ok("GET", "%s/%d" % (S, t["id"]))["minutes"] == 45 + 180 + 30


def test_devices_used_in_a_session(r):
    w = world(r)
    tab = r.ok("POST", "/api/v1/equipment", {"kind": "tablet", "label": "Tablette 1"},
               expect=201)["id"]
    pc = r.ok("POST", "/api/v1/equipment", {"kind": "computer", "label": "PC 1"},
              expect=201)["id"]
    path = "%s/%d/equipment" % (S, w["perm"])
    assert r.ok("GET", path) == {"session_id": w["perm"], "equipment_ids": [], "items": []}
    doc = r.ok("PUT", path, {"equipment_ids": [pc, tab, pc]}, token="samir")
    assert doc["equipment_ids"] == [tab, pc], doc
    assert [d["label"] for d in doc["items"]] == ["Tablette 1", "PC 1"], doc
    before = r.db("SELECT * FROM session_equipment ORDER BY rowid")
    for body, want in (({"equipment_ids": [999]}, ["equipment_ids"]),
                       ({"equipment_ids": "1"}, ["equipment_ids"]),
                       ({"equipment_ids": [0]}, ["equipment_ids"]),
                       ({}, ["equipment_ids"]), ({"equipment_ids": [], "x": 1}, ["x"])):
        st, out, _ = r.req("PUT", path, body)
        assert st == 422 and fields_of(out) == want, (body, out)
    st, _, _ = r.req("PUT", "%s/%d/equipment" % (S, w["other"]), {"equipment_ids": [tab]},
                     token="samir")
    assert st == 403
    assert r.db("SELECT * FROM session_equipment ORDER BY rowid") == before
    # A device used in a session cannot be deleted.
    st, out, _ = r.req("DELETE", "/api/v1/equipment/%d" % tab)
    assert st == 409, out
    assert r.ok("PUT", path, {"equipment_ids": []})["equipment_ids"] == []
    r.ok("DELETE", "/api/v1/equipment/%d" % tab, expect=204)


if __name__ == "__main__":
    run(globals())
