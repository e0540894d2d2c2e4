"""Accompaniments: individual supports, for a known person or anonymously;
every field checked (422 naming each), defaults, the trainer's own records,
lists and filters, PATCH switching person and anonymous, erasure keeping the
counts, nothing half-stored."""
import calendar
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

A = "/api/v1/accompaniments"
THEMES = ["smartphone", "ordinateur", "e-mail", "internet", "bons usages",
          "identité numérique", "démarches en ligne", "santé", "impôts",
          "droits et allocations", "emploi", "énergie", "autre"]
KEYS = {"id", "beneficiary_id", "anonymous", "venue_id", "staff_id", "session_id",
        "started_at", "minutes", "modality", "themes", "procedure", "equipment", "autonomy",
        "referred_to", "pass", "created_at", "updated_at"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fields_of(out):
    return sorted(e["field"] for e in out.get("errors", []))


def rows(r):
    return [r.db("SELECT * FROM %s ORDER BY rowid" % t)
            for t in ("accompaniments", "accompaniment_themes", "accompaniment_equipment")]


def world(r):
    w = {"venue": r.ok("POST", "/api/v1/venues", {"name": "Centre social du Biollay"},
                       expect=201)["id"]}
    w["samir"] = r.ok("POST", "/api/v1/staff", {"name": "Samir", "role": "trainer"},
                      expect=201)["id"]
    w["nadia"] = r.ok("POST", "/api/v1/staff", {"name": "Nadia", "role": "trainer"},
                      expect=201)["id"]
    start = int(time.time()) - 3 * 86400
    w["perm"] = r.ok("POST", "/api/v1/sessions", {
        "kind": "permanence", "title": "Permanence démarches", "venue_id": w["venue"],
        "trainer_id": w["samir"], "starts_at": iso(start), "ends_at": iso(start + 3 * 3600),
        "slot_minutes": 30}, expect=201)
    w["workshop"] = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "trainer_id": w["nadia"],
        "starts_at": iso(start), "ends_at": iso(start + 7200)}, expect=201)["id"]
    w["org"] = r.ok("POST", "/api/v1/organisations", {"name": "CAF de la Savoie", "kind": "caf"},
                    expect=201)["id"]
    w["monique"] = r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": "Monique", "last_name": "Jacquier", "gender": "F", "birth_year": 1950,
        "phone": "06 12 34 56 78", "neighborhood": "Le Biollay"}, expect=201)["id"]
    w["karim"] = r.ok("POST", "/api/v1/beneficiaries", {
        "first_name": "Karim", "last_name": "Haddad", "gender": "M"}, expect=201)["id"]
    # Monique booked a slot of Samir's permanence: she is one of his people.
    r.ok("POST", "/api/v1/sessions/%d/enrollments" % w["perm"]["id"],
         {"beneficiary_id": w["monique"], "slot_start": w["perm"]["slots"][0]["start"]},
         expect=201)
    r.tokens["samir"] = r.token("trainer", name="samir", staff=w["samir"])
    r.tokens["nadia"] = r.token("trainer", name="nadia", staff=w["nadia"])
    r.tokens["unbound"] = r.token("trainer", name="nobody")
    return w


def test_record_full_and_read(r):
    w = world(r)
    started = iso(int(time.time()) - 3 * 86400 + 600)
    a = r.ok("POST", A, {
        "beneficiary_id": w["monique"], "staff_id": w["samir"], "session_id": w["perm"]["id"],
        "started_at": started, "minutes": 45, "modality": "on_site",
        "themes": ["démarches en ligne", "impôts", "démarches en ligne"],
        "procedure": {"operator": " CAF ", "done": True},
        "equipment": ["own_smartphone", "venue_computer"], "autonomy": 2,
        "referred_to": w["org"], "pass": " 2200100001 "}, expect=201)
    assert set(a) == KEYS, a
    assert a["beneficiary_id"] == w["monique"] and a["anonymous"] is None, a
    # The permanence's venue when none is given; themes once each, in order.
    assert a["venue_id"] == w["venue"] and a["session_id"] == w["perm"]["id"], a
    assert (a["started_at"], a["minutes"], a["modality"]) == (started, 45, "on_site"), a
    assert a["themes"] == ["démarches en ligne", "impôts"], a
    assert a["procedure"] == {"operator": "CAF", "done": True}, a
    assert a["equipment"] == ["own_smartphone", "venue_computer"], a
    assert (a["autonomy"], a["referred_to"], a["pass"]) == (2, w["org"], "2200100001"), a
    assert r.ok("GET", "%s/%d" % (A, a["id"])) == a
    assert r.db("SELECT theme, pos FROM accompaniment_themes WHERE accompaniment_id = ?"
                " ORDER BY pos", a["id"]) == [("démarches en ligne", 0), ("impôts", 1)]


def test_anonymous_and_defaults(r):
    world(r)
    before = time.time()
    a = r.ok("POST", A, {"anonymous": {"gender": "F", "age_bracket": "56+",
                                       "residence": "qpv"},
                         "minutes": 15, "themes": ["smartphone"]}, expect=201)
    assert a["beneficiary_id"] is None, a
    assert a["anonymous"] == {"gender": "F", "age_bracket": "56+", "residence": "qpv"}, a
    assert a["modality"] == "on_site" and a["equipment"] == [] and a["procedure"] is None, a
    assert a["venue_id"] is None and a["staff_id"] is None and a["session_id"] is None, a
    got = calendar.timegm(time.strptime(a["started_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(got - before) < 60, "started_at defaults to now: %r" % a
    # Nothing known about the person: every part unknown.
    b = r.ok("POST", A, {"anonymous": {}, "minutes": 480, "themes": THEMES,
                         "modality": "phone"}, expect=201)
    assert b["anonymous"] == {"gender": None, "age_bracket": None, "residence": None}, b
    assert b["themes"] == THEMES and b["minutes"] == 480, b
    for brk in ("<26", "26-35", "36-45", "46-55"):
        r.ok("POST", A, {"anonymous": {"age_bracket": brk}, "minutes": 1,
                         "themes": ["autre"], "modality": "remote"}, expect=201)
    r.ok("POST", A, {"anonymous": {"gender": "X"}, "minutes": 1, "themes": ["autre"],
                     "modality": "home"}, expect=201)


def test_every_bad_field_is_named(r):
    w = world(r)
    before = rows(r)
    cases = [
        ({}, ["beneficiary_id", "minutes", "themes"]),
        ({"beneficiary_id": w["monique"], "anonymous": {}, "minutes": 10, "themes": ["autre"]},
         ["anonymous"]),
        ({"anonymous": {"gender": "W", "age_bracket": "60+", "residence": "Biollay", "x": 1},
          "minutes": 10, "themes": ["autre"]},
         ["anonymous.age_bracket", "anonymous.gender", "anonymous.residence", "anonymous.x"]),
        ({"anonymous": [], "minutes": 10, "themes": ["autre"]}, ["anonymous"]),
        ({"anonymous": {}, "minutes": 0, "themes": ["autre"]}, ["minutes"]),
        ({"anonymous": {}, "minutes": 481, "themes": ["autre"]}, ["minutes"]),
        ({"anonymous": {}, "minutes": 30.5, "themes": ["autre"]}, ["minutes"]),
        ({"anonymous": {}, "minutes": "30", "themes": ["autre"]}, ["minutes"]),
        ({"anonymous": {}, "minutes": 30, "themes": []}, ["themes"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["cuisine"]}, ["themes"]),
        ({"anonymous": {}, "minutes": 30, "themes": "smartphone"}, ["themes"]),
        ({"anonymous": {}, "minutes": 30, "themes": [1]}, ["themes"]),
        # A huge list is one error, not one per item.
        ({"anonymous": {}, "minutes": 30, "themes": ["cuisine"] * 5000}, ["themes"]),
        ({"anonymous": {}, "minutes": 30, "themes": None}, ["themes"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "modality": "visio"},
         ["modality"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "equipment": ["laptop"]},
         ["equipment"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "autonomy": 4}, ["autonomy"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"],
          "procedure": {"done": True}}, ["procedure.operator"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"],
          "procedure": {"operator": "CAF", "done": "yes", "site": "x"}},
         ["procedure.done", "procedure.site"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "procedure": "CAF"},
         ["procedure"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "started_at": "hier"},
         ["started_at"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "pass": "9" * 65}, ["pass"]),
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "notes": "x"}, ["notes"]),
        # References that do not exist, each named.
        ({"beneficiary_id": 999, "venue_id": 999, "staff_id": 999, "session_id": 999,
          "referred_to": 999, "minutes": 30, "themes": ["autre"]},
         ["beneficiary_id", "referred_to", "session_id", "staff_id", "venue_id"]),
        # A session that is not a permanence.
        ({"anonymous": {}, "minutes": 30, "themes": ["autre"], "session_id": w["workshop"]},
         ["session_id"]),
        # Everything at once.
        ({"anonymous": {"age_bracket": "vieux"}, "minutes": -1, "themes": ["cuisine"],
          "modality": "x", "equipment": ["x"], "autonomy": 0, "venue_id": 999},
         ["anonymous.age_bracket", "autonomy", "equipment", "minutes", "modality", "themes",
          "venue_id"]),
    ]
    for body, want in cases:
        st, out, hdrs = r.req("POST", A, body)
        assert st == 422, (body, st, out)
        problem(r, 422, out, hdrs)
        assert fields_of(out) == want, (body, out)
    # An unknown theme is named with its value.
    st, out, _ = r.req("POST", A, {"anonymous": {}, "minutes": 5, "themes": ["cuisine"]})
    assert "cuisine" in out["errors"][0]["message"], out
    # An erased person is no one.
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % w["karim"], expect=204)
    st, out, _ = r.req("POST", A, {"beneficiary_id": w["karim"], "minutes": 5,
                                   "themes": ["autre"]})
    assert st == 422 and fields_of(out) == ["beneficiary_id"], out
    # A cancelled permanence.
    r.ok("POST", "/api/v1/sessions/%d/cancel" % w["perm"]["id"], {})
    st, out, _ = r.req("POST", A, {"anonymous": {}, "minutes": 5, "themes": ["autre"],
                                   "session_id": w["perm"]["id"]})
    assert st == 422 and fields_of(out) == ["session_id"], out
    assert rows(r) == before, "nothing is half-stored"
    for body in ("{", "[]"):
        st, out, _ = r.req("POST", A, raw=body, headers={"Content-Type": "application/json"})
        assert st == 400, out
    assert rows(r) == before


def test_themes_from_the_configuration(r):
    r.stop()
    with open(r.config, "a") as f:
        f.write('themes = { "Ameli", "Impôts en ligne", "Autre" }\n')
    r.start()
    voc = r.ok("GET", "/api/v1/vocabulary")
    assert voc["themes"] == ["Ameli", "Impôts en ligne", "Autre"], voc
    a = r.ok("POST", A, {"anonymous": {}, "minutes": 20, "themes": ["Impôts en ligne"]},
             expect=201)
    assert a["themes"] == ["Impôts en ligne"], a
    st, out, _ = r.req("POST", A, {"anonymous": {}, "minutes": 20, "themes": ["smartphone"]})
    assert st == 422 and fields_of(out) == ["themes"], out


def test_age_brackets_from_the_configuration(r):
    r.stop()
    with open(r.config, "a") as f:
        f.write('reports = { age_brackets = { 12, 35, 60 } }\n')
    r.start()
    voc = r.ok("GET", "/api/v1/vocabulary")
    assert voc["age_brackets"] == ["<12", "12-34", "35-59", "60+"], voc
    a = r.ok("POST", A, {"anonymous": {"age_bracket": "35-59"}, "minutes": 20,
                         "themes": ["autre"]}, expect=201)
    assert a["anonymous"]["age_bracket"] == "35-59", a
    st, out, _ = r.req("POST", A, {"anonymous": {"age_bracket": "56+"}, "minutes": 20,
                                   "themes": ["autre"]})
    assert st == 422 and fields_of(out) == ["anonymous.age_bracket"], out
    assert "60+" in out["errors"][0]["message"], out


def test_patch_and_delete(r):
    w = world(r)
    a = r.ok("POST", A, {"beneficiary_id": w["monique"], "minutes": 30,
                         "themes": ["smartphone"], "equipment": ["own_smartphone"],
                         "procedure": {"operator": "ANTS"}}, expect=201)
    assert a["procedure"] == {"operator": "ANTS", "done": False}, a
    p = r.ok("PATCH", "%s/%d" % (A, a["id"]), {"minutes": 40, "themes": ["impôts", "santé"],
                                               "equipment": None, "procedure": None,
                                               "modality": "phone"})
    assert (p["minutes"], p["themes"], p["equipment"], p["procedure"], p["modality"]) == \
        (40, ["impôts", "santé"], [], None, "phone"), p
    assert p["beneficiary_id"] == w["monique"] and p["created_at"] == a["created_at"], p
    # Switching to anonymous drops the person, and back.
    p = r.ok("PATCH", "%s/%d" % (A, a["id"]), {"anonymous": {"gender": "F"}})
    assert p["beneficiary_id"] is None and p["anonymous"]["gender"] == "F", p
    p = r.ok("PATCH", "%s/%d" % (A, a["id"]), {"beneficiary_id": w["karim"]})
    assert p["beneficiary_id"] == w["karim"] and p["anonymous"] is None, p
    # modality null goes back to on_site; an empty PATCH changes nothing.
    p = r.ok("PATCH", "%s/%d" % (A, a["id"]), {"modality": None})
    assert p["modality"] == "on_site", p
    same = r.ok("PATCH", "%s/%d" % (A, a["id"]), {})
    assert {k: v for k, v in same.items() if k != "updated_at"} == \
        {k: v for k, v in p.items() if k != "updated_at"}
    before = rows(r)
    for body, want in (({"minutes": None}, ["minutes"]), ({"themes": []}, ["themes"]),
                       ({"themes": None}, ["themes"]), ({"started_at": None}, ["started_at"]),
                       ({"beneficiary_id": None}, ["beneficiary_id"]),
                       ({"anonymous": None}, ["anonymous"]),
                       ({"beneficiary_id": w["monique"], "anonymous": {}}, ["anonymous"]),
                       ({"minutes": 600, "venue_id": 999}, ["minutes", "venue_id"])):
        st, out, _ = r.req("PATCH", "%s/%d" % (A, a["id"]), body)
        assert st == 422 and fields_of(out) == want, (body, out)
    assert rows(r) == before
    for method in ("GET", "PATCH", "DELETE"):
        st, out, hdrs = r.req(method, "%s/999" % A, {} if method == "PATCH" else None)
        assert st == 404, (method, out)
        problem(r, 404, out, hdrs)
    r.ok("DELETE", "%s/%d" % (A, a["id"]), expect=204)
    assert rows(r) == [[], [], []], "themes and equipment go with it"
    st, _, _ = r.req("GET", "%s/%d" % (A, a["id"]))
    assert st == 404


def test_list_filters_and_paging(r):
    w = world(r)
    t0 = int(time.time()) - 10 * 86400
    made = []
    for i in range(7):
        body = {"anonymous": {}, "minutes": 10 + i, "themes": ["autre"],
                "started_at": iso(t0 + i * 86400)}
        if i % 2:
            body = {"beneficiary_id": w["monique"], "minutes": 10 + i, "themes": ["autre"],
                    "started_at": iso(t0 + i * 86400), "staff_id": w["samir"],
                    "session_id": w["perm"]["id"]}
        made.append(r.ok("POST", A, body, expect=201))
    # A later one recorded first still lists in time order.
    early = r.ok("POST", A, {"anonymous": {}, "minutes": 5, "themes": ["autre"],
                             "started_at": iso(t0 - 86400)}, expect=201)
    ids = [early["id"]] + [a["id"] for a in made]
    got, cursor = [], None
    while True:
        page = r.ok("GET", A + "?limit=3" + ("&cursor=" + cursor if cursor else ""))
        got += [a["id"] for a in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert got == ids, (got, ids)
    by = lambda q: [a["id"] for a in r.ok("GET", A + "?" + q)["items"]]  # noqa: E731
    assert by("beneficiary_id=%d" % w["monique"]) == [made[i]["id"] for i in (1, 3, 5)]
    assert by("staff_id=%d" % w["samir"]) == [made[i]["id"] for i in (1, 3, 5)]
    assert by("session_id=%d" % w["perm"]["id"]) == [made[i]["id"] for i in (1, 3, 5)]
    assert by("venue_id=%d" % w["venue"]) == [made[i]["id"] for i in (1, 3, 5)]
    assert by("from=%s&to=%s" % (iso(t0 + 86400), iso(t0 + 3 * 86400))) == \
        [made[i]["id"] for i in (1, 2, 3)]
    for q in ("from=hier", "to=2026-13-01", "staff_id=x", "venue_id=-1", "session_id=0",
              "beneficiary_id=1.5", "from=2026-03-02&to=2026-03-01", "limit=501"):
        st, out, _ = r.req("GET", A + "?" + q)
        assert st == 422, (q, out)


def test_trainer_records_and_reads_their_own(r):
    w = world(r)
    mine = r.ok("POST", A, {"beneficiary_id": w["monique"], "minutes": 20,
                            "themes": ["smartphone"], "session_id": w["perm"]["id"]},
                token="samir", expect=201)
    assert mine["staff_id"] == w["samir"], "a trainer's staff_id is their own: %r" % mine
    anon = r.ok("POST", A, {"anonymous": {"gender": "M"}, "minutes": 10, "themes": ["autre"],
                            "staff_id": w["samir"]}, token="samir", expect=201)
    theirs = r.ok("POST", A, {"anonymous": {}, "minutes": 10, "themes": ["autre"],
                              "staff_id": w["nadia"]}, expect=201)
    nobody = r.ok("POST", A, {"anonymous": {}, "minutes": 10, "themes": ["autre"]}, expect=201)
    before = rows(r)
    # Not for another, nor with a token bound to nobody.
    st, out, _ = r.req("POST", A, {"anonymous": {}, "minutes": 5, "themes": ["autre"],
                                   "staff_id": w["nadia"]}, token="samir")
    assert st == 403, out
    st, out, _ = r.req("POST", A, {"anonymous": {}, "minutes": 5, "themes": ["autre"]},
                       token="unbound")
    assert st == 403, out
    # Nor for someone who does not exist.
    st, out, _ = r.req("POST", A, {"beneficiary_id": 999, "minutes": 5,
                                   "themes": ["autre"]}, token="samir")
    assert st == 422 and fields_of(out) == ["beneficiary_id"], out
    assert rows(r) == before
    # Someone who walks in, not enrolled with them: recorded (they learn
    # nothing of the person: the answer shows the id only).
    walk = r.ok("POST", A, {"beneficiary_id": w["karim"], "minutes": 5, "themes": ["autre"]},
                token="samir", expect=201)
    assert walk["beneficiary_id"] == w["karim"] and walk["staff_id"] == w["samir"], walk
    st, out, _ = r.req("GET", "/api/v1/beneficiaries/%d" % w["karim"], token="samir")
    assert st == 404, "still not one of their people to read"
    r.ok("DELETE", "%s/%d" % (A, walk["id"]), token="samir", expect=204)
    # Reading: their own only; another's is 404 as if it did not exist.
    lst = r.ok("GET", A, token="samir")["items"]
    assert [a["id"] for a in lst] == [mine["id"], anon["id"]], lst
    st, _, _ = r.req("GET", A + "?staff_id=%d" % w["nadia"], token="samir")
    assert st == 403
    assert r.ok("GET", A + "?staff_id=%d" % w["samir"], token="samir")["items"] == lst
    for other in (theirs, nobody):
        for method, body in (("GET", None), ("PATCH", {"minutes": 1}), ("DELETE", None)):
            st, _, _ = r.req(method, "%s/%d" % (A, other["id"]), body, token="samir")
            assert st == 404, (method, other)
    st, _, _ = r.req("GET", A, token="unbound")
    assert st == 403
    # Their own: changed and deleted; handing it to another is refused.
    p = r.ok("PATCH", "%s/%d" % (A, mine["id"]), {"minutes": 25}, token="samir")
    assert p["minutes"] == 25
    st, _, _ = r.req("PATCH", "%s/%d" % (A, mine["id"]), {"staff_id": w["nadia"]},
                     token="samir")
    assert st == 403
    st, _, _ = r.req("PATCH", "%s/%d" % (A, mine["id"]), {"staff_id": None}, token="samir")
    assert st == 403
    r.ok("DELETE", "%s/%d" % (A, anon["id"]), token="samir", expect=204)
    # Coordinators see everything.
    assert len(r.ok("GET", A, token="coordinator")["items"]) == 3


def test_erasure_keeps_the_accompaniments(r):
    w = world(r)
    a = r.ok("POST", A, {"beneficiary_id": w["monique"], "minutes": 30,
                         "themes": ["santé"]}, expect=201)
    doc = r.ok("GET", "/api/v1/beneficiaries/%d/export" % w["monique"])
    assert [x["id"] for x in doc["accompaniments"]] == [a["id"]], doc
    assert doc["accompaniments"][0]["themes"] == ["santé"], doc
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % w["monique"], expect=204)
    # Still there, still counted: linked to the anonymous row, which keeps
    # gender, birth year and residence.
    assert r.ok("GET", "%s/%d" % (A, a["id"]))["minutes"] == 30
    row = r.db("SELECT b.gender, b.birth_year, b.residence, b.first_name, b.phone"
               " FROM accompaniments a JOIN beneficiaries b ON b.id = a.beneficiary_id"
               " WHERE a.id = ?", a["id"])
    assert row == [("F", 1950, None, None, None)], row


if __name__ == "__main__":
    run(globals())
