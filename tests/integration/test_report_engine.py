"""The report engine (plugins/reports; contract "Reports, more"): a small
programme built through the API — residents and professionals, walk-ins,
accompaniments, a session cancelled with a reason, a training counted by
its parts across two periods, meetings, devices and a loan, survey answers
and a Pix import — and every figure of two periods and their total worked
out by hand below, as literal numbers; the same figures in CSV (periods side
by side, shares) and XLSX (read back with zipfile and xml.etree: sheets,
cells, charts); the filters; the bad input; and the programme's equipment
age table (programme-figures.md §2) from 700 people with the brackets
configured as the programme counted them."""
import base64
import datetime
import hashlib
import hmac
import io
import os
import sqlite3
import time
import urllib.parse
import zipfile
import xml.etree.ElementTree as ET
import zoneinfo

from harness import run, problem, SRC

ZONE = zoneinfo.ZoneInfo("Europe/Paris")
EXTRA_CONFIG = ('plugins = {"sms", "email", "surveys", "pix", "reports"}\n'
                'sms = {provider = "console"}\n'
                'email = {provider = "console"}\n'
                'quiet_hours = false\n'
                'territory = {qpv = {"Le Biollay"}}\n'
                # The survey links of sessions years back stay valid.
                'links = {expire_after = "3650d"}\n')
REPORT = "/api/v1/reports/activity"
P1, P2 = "2026-01-01..2026-01-31", "2026-02-01..2026-02-28"
BOTH = "?period=%s&period=%s" % (P1, P2)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
      "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}


def at(y, m, d, hh, mm=0):
    return datetime.datetime(y, m, d, hh, mm, tzinfo=ZONE).isoformat()


def session(r, start, end, **fields):
    body = {"kind": "workshop", "title": "Atelier", "starts_at": start, "ends_at": end}
    body.update(fields)
    return r.ok("POST", "/api/v1/sessions", body)


def enroll(r, sid, bid, **more):
    body = {"beneficiary_id": bid}
    body.update(more)
    return r.ok("POST", "/api/v1/sessions/%d/enrollments" % sid, body, expect=201)["id"]


def mark(r, eid, status):
    r.ok("PATCH", "/api/v1/enrollments/%d" % eid, {"status": status})


def part_enrollment(r, part_id, bid):
    items = r.ok("GET", "/api/v1/sessions/%d/enrollments" % part_id)["items"]
    return [e for e in items if e["beneficiary_id"] == bid][0]["id"]


def survey_link(r, eid):
    """The /s/ token of enrollment EID, as core/auth/links.c makes it."""
    with open(os.path.join(r.dir, "relais.db.secret"), "rb") as f:
        key = f.read().rstrip(b"\n")
    tok = base64.urlsafe_b64encode(
        hmac.new(key, ("s:%d" % eid).encode(), hashlib.sha256).digest()).decode()[:22]
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"), timeout=10)
    try:
        con.execute("INSERT OR IGNORE INTO links (token_hash, purpose, enrollment_id, created_at)"
                    " VALUES (?, 's', ?, ?)",
                    (hashlib.sha256(tok.encode()).digest(), eid, int(time.time())))
        con.commit()
    finally:
        con.close()
    return tok


def answer(r, eid, **scores):
    st, body, _ = r.req("POST", "/s/" + survey_link(r, eid), token=None,
                        raw=urllib.parse.urlencode(scores),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200, (st, body)


def settled(r, eids):
    """The notifications of EIDS once none is pending or sending."""
    deadline = time.time() + 30
    while True:
        items = [n for e in eids
                 for n in r.ok("GET", "/api/v1/enrollments/%d/notifications" % e)["items"]]
        if not [n for n in items if n["status"] in ("pending", "sending")]:
            return items
        assert time.time() < deadline, items
        time.sleep(0.1)


def programme(r):
    """The dataset of the docstring; returns its ids (a dict)."""
    ids = {}
    post = lambda path, body: r.ok("POST", path, body)["id"]
    ids["v1"] = post("/api/v1/venues", {"name": "Centre social du Biollay",
                                        "commune": "Chambéry", "neighborhood": "Le Biollay"})
    ids["v2"] = post("/api/v1/venues", {"name": "Médiathèque de Cognin", "commune": "Cognin"})
    ids["o1"] = post("/api/v1/organisations", {"name": "CCAS de Chambéry", "kind": "ccas"})
    ids["o2"] = post("/api/v1/organisations", {"name": "CPAM de la Savoie", "kind": "other"})
    people = {
        # R1: 76 in 2026 (56+), Le Biollay → qpv from the territory, sent by the CCAS.
        "r1": {"first_name": "Monique", "last_name": "Jacquier", "gender": "F",
               "birth_year": 1950, "neighborhood": "Le Biollay", "organisation_id": ids["o1"],
               "phone": "06 12 34 56 78", "consent_sms": True},
        # R2: 31 (26-35), lives outside the priority neighbourhoods.
        "r2": {"first_name": "Karim", "last_name": "Benali", "gender": "M", "birth_year": 1995,
               "neighborhood": "Bellevue", "residence": "outside",
               "phone": "06 98 76 54 32", "consent_sms": True},
        # R3: 22 (<26), residence unknown; the Pix file's Élodie (external id).
        "r3": {"first_name": "Élodie", "last_name": "Lefèvre", "gender": "F",
               "birth_year": 2004, "external_id": "FT-0042", "organisation_id": ids["o1"]},
        # Two professionals trained (ESJA), employed by the CPAM.
        "pro1": {"first_name": "Jean-Pierre", "last_name": "Martin", "gender": "M",
                 "birth_year": 1980, "audience": "professional", "organisation_id": ids["o2"]},
        "pro2": {"first_name": "Sophie", "last_name": "Durand", "gender": "F",
                 "birth_year": 1990, "audience": "professional", "organisation_id": ids["o2"]},
    }
    for k, body in people.items():
        ids[k] = post("/api/v1/beneficiaries", body)
    ids["d1"] = post("/api/v1/equipment", {"kind": "tablet", "label": "Tablette 1",
                                           "venue_id": ids["v1"]})
    ids["d2"] = post("/api/v1/equipment", {"kind": "computer", "label": "Portable 1",
                                           "venue_id": ids["v1"]})
    # --- January -----------------------------------------------------------------
    s1 = session(r, at(2026, 1, 6, 14), at(2026, 1, 6, 16), venue_id=ids["v1"], capacity=4,
                 theme="smartphone", level=1)["id"]
    e = {}
    for k in ("r1", "r2", "r3"):
        e["s1", k] = enroll(r, s1, ids[k])
    mark(r, e["s1", "r1"], "attended")
    mark(r, e["s1", "r2"], "attended")
    mark(r, e["s1", "r3"], "absent")
    r.ok("PUT", "/api/v1/sessions/%d/headcount" % s1, {"counts": [
        {"gender": "F", "age_bracket": "56+", "residence": "qpv", "n": 2},
        {"gender": "M", "age_bracket": "26-35", "residence": "outside", "n": 1}]})
    r.ok("PUT", "/api/v1/sessions/%d/equipment" % s1, {"equipment_ids": [ids["d1"]]})
    s2 = session(r, at(2026, 1, 13, 10), at(2026, 1, 13, 11, 30), venue_id=ids["v2"],
                 theme="internet", level=2)["id"]
    for k in ("r1", "r3"):
        mark(r, enroll(r, s2, ids[k]), "attended")
    s3 = session(r, at(2026, 1, 20, 14), at(2026, 1, 20, 16), venue_id=ids["v1"], capacity=6,
                 theme="smartphone", level=1)["id"]
    enroll(r, s3, ids["r2"])
    r.ok("POST", "/api/v1/sessions/%d/cancel" % s3, {"reason": "Formatrice malade"})
    tr = r.ok("POST", "/api/v1/sessions", {
        "kind": "training", "title": "Et si j'accompagnais", "theme": "accompagner", "level": 3,
        "venue_id": ids["v1"], "capacity": 10,
        "parts": [{"title": "Atelier 1", "starts_at": at(2026, 1, 22, 9),
                   "ends_at": at(2026, 1, 22, 12)},
                  {"title": "Module en ligne", "starts_at": at(2026, 2, 5, 14),
                   "ends_at": at(2026, 2, 5, 15), "online": True}]})
    part_a, part_b = tr["parts"][0]["id"], tr["parts"][1]["id"]
    for k in ("pro1", "pro2"):
        enroll(r, tr["id"], ids[k])
    mark(r, part_enrollment(r, part_a, ids["pro1"]), "attended")
    mark(r, part_enrollment(r, part_a, ids["pro2"]), "attended")
    r.ok("POST", "/api/v1/accompaniments", {
        "beneficiary_id": ids["r1"], "venue_id": ids["v1"], "started_at": at(2026, 1, 8, 10),
        "minutes": 30, "modality": "on_site", "themes": ["démarches en ligne", "impôts"],
        "procedure": {"operator": "CAF", "done": True}, "equipment": ["venue_computer"],
        "autonomy": 2})
    r.ok("POST", "/api/v1/accompaniments", {
        "anonymous": {"gender": "F", "age_bracket": "56+", "residence": "qpv"},
        "started_at": at(2026, 1, 9, 11), "minutes": 15, "modality": "phone",
        "themes": ["smartphone"]})
    r.ok("POST", "/api/v1/meetings", {"kind": "steering_committee", "title": "Comité de pilotage",
                                       "date": "2026-01-15", "organisation_ids": [ids["o1"]],
                                       "attendees": 12})
    r.ok("POST", "/api/v1/equipment/%d/loans" % ids["d2"], {
        "beneficiary_id": ids["r2"], "from": "2026-01-20", "due": "2026-02-10"})
    # --- February ----------------------------------------------------------------
    s4 = session(r, at(2026, 2, 3, 9), at(2026, 2, 3, 12), kind="permanence",
                 venue_id=ids["v2"], slot_minutes=30, theme="démarches")["id"]
    mark(r, enroll(r, s4, ids["r1"], slot_start=at(2026, 2, 3, 9)), "attended")
    mark(r, enroll(r, s4, ids["r2"], slot_start=at(2026, 2, 3, 9, 30)), "absent")
    mark(r, part_enrollment(r, part_b, ids["pro1"]), "attended")
    mark(r, part_enrollment(r, part_b, ids["pro2"]), "absent")
    r.ok("POST", "/api/v1/accompaniments", {
        "beneficiary_id": ids["r2"], "started_at": at(2026, 2, 10, 14), "minutes": 45,
        "modality": "home", "themes": ["emploi"],
        "procedure": {"operator": "France Travail", "done": False},
        "equipment": ["loaned_device"], "autonomy": 1})
    r.ok("POST", "/api/v1/accompaniments", {
        "beneficiary_id": ids["pro2"], "started_at": at(2026, 2, 12, 9), "minutes": 20,
        "modality": "remote", "themes": ["e-mail"], "autonomy": 3})
    r.ok("POST", "/api/v1/meetings", {"kind": "working_group", "title": "Accès aux droits",
                                       "date": "2026-02-17",
                                       "organisation_ids": [ids["o1"], ids["o2"]]})
    r.ok("POST", "/api/v1/meetings", {"kind": "network", "title": "Réseau",
                                       "date": "2026-02-24"})
    # --- surveys and Pix ---------------------------------------------------------------
    answer(r, e["s1", "r1"], content=4, clarity=3, overall=4)
    answer(r, e["s1", "r2"], content=2)
    with open(os.path.join(SRC, "tests", "integration", "pix", "profiles_bom_lf.csv"),
              "rb") as f:
        st, out, _ = r.req("POST", "/api/v1/imports/pix", raw=f.read(),
                           headers={"Content-Type": "text/csv"})
    assert st == 200 and out["matched"] == 2, out    # Élodie (R3) and Jean-Pierre (Pro1)
    # What the outbox sends for these past sessions: only the surveys.
    enrollments = [x["id"] for sid in (s1, s2, s3, tr["id"], part_a, part_b, s4)
                   for x in r.ok("GET", "/api/v1/sessions/%d/enrollments" % sid)["items"]]
    ids["notes"] = settled(r, enrollments)
    ids["sessions"] = {"s1": s1, "s2": s2, "s3": s3, "tr": tr["id"], "s4": s4}
    return ids


def zeros(*keys):
    return {k: 0 for k in keys}


GENDERS = ("F", "M", "X", "unknown")
BRACKETS = ("<26", "26-35", "36-45", "46-55", "56+", "unknown")
RESIDENCES = ("qpv", "qva", "outside", "unknown")
THEMES = ("smartphone", "ordinateur", "e-mail", "internet", "bons usages", "identité numérique",
          "démarches en ligne", "santé", "impôts", "droits et allocations", "emploi",
          "énergie", "autre")


def g(**kw):
    out = zeros(*GENDERS)
    out.update(kw)
    return out


def ages(lt26=0, a26=0, a36=0, a46=0, a56=0, unknown=0):
    return {"<26": lt26, "26-35": a26, "36-45": a36, "46-55": a46, "56+": a56,
            "unknown": unknown}


def res(qpv=0, qva=0, outside=0, unknown=0):
    return {"qpv": qpv, "qva": qva, "outside": outside, "unknown": unknown}


def themes(**kw):
    out = zeros(*THEMES)
    for k, v in kw.items():
        out[k.replace("_", " ")] = v
    return out


def kind(sessions, enrolled, attended, absent, fill_rate):
    return {"sessions": sessions, "enrolled": enrolled, "attended": attended,
            "absent": absent, "fill_rate": fill_rate}


def act(sessions, enrolled, attended, absent):
    return {"sessions": sessions, "enrolled": enrolled, "attended": attended, "absent": absent}


def questions(content, clarity, exchanges, overall):
    labels = ["Le contenu de l'atelier", "La clarté du formateur ou de la formatrice",
              "Les échanges et l'ambiance du groupe", "Dans l'ensemble, êtes-vous satisfait·e ?"]
    out = []
    for (qid, (counts, mean)), label in zip((("content", content), ("clarity", clarity),
                                             ("exchanges", exchanges), ("overall", overall)),
                                            labels):
        out.append({"id": qid, "label": label, "counts": counts, "mean": mean})
    return out


# --- the two periods and their total, by hand ----------------------------------------

JANUARY = {
    # Served: R1 R2 R3 (S1, S2), Pro1 Pro2 (part A); R1 also accompanied.
    "people": {"total": 5, "by_gender": g(F=3, M=2), "by_age_bracket": ages(1, 1, 1, 1, 1),
               "by_neighborhood": {"Le Biollay": 1, "Bellevue": 1, "unknown": 3},
               "by_audience": {"resident": 3, "professional": 2},
               "by_residence": res(qpv=1, outside=1, unknown=3)},
    # 6 attended enrollments (S1 R1 R2, S2 R1 R3, part A Pro1 Pro2), 3 walk-ins
    # at S1 (2 F 56+ qpv, 1 M 26-35 outside), 2 accompaniments (R1, an
    # anonymous F 56+ qpv).
    "attendances": {"total": 11, "by_gender": g(F=8, M=3), "by_age_bracket": ages(1, 2, 1, 1, 6),
                    "by_audience": {"resident": 9, "professional": 2},
                    "by_residence": res(qpv=6, outside=2, unknown=3)},
    "sessions": {
        "total": 3,     # S1, S2, the training (S3 cancelled)
        "by_kind": {"workshop": kind(2, 5, 4, 1, 0.75),        # S1: 3 of 4 places
                    "permanence": kind(0, 0, 0, 0, None),
                    "training": kind(1, 2, 2, 0, 0.2)},         # part A: 2 of 10
        "by_theme": {"smartphone": act(1, 3, 2, 1), "internet": act(1, 2, 2, 0),
                     "accompagner": act(1, 2, 2, 0), "unknown": act(0, 0, 0, 0)},
        "by_level": {"1": act(1, 3, 2, 1), "2": act(1, 2, 2, 0), "3": act(1, 2, 2, 0),
                     "unknown": act(0, 0, 0, 0)},
        "cancelled": {"total": 1, "by_reason": {"Formatrice malade": 1, "unknown": 0}}},
    # S1 2 h + S2 1.5 h + part A 3 h; people: 2+2+1.5+1.5+3+3, walk-ins 3 × 2 h,
    # accompaniments 45 min.
    "hours": {"sessions": 6.5, "person_hours": 19.75},
    "accompaniments": {"total": 2, "by_theme": themes(smartphone=1, impôts=1,
                                                      **{"démarches_en_ligne": 1}),
                       "by_modality": {"on_site": 1, "phone": 1, "home": 0, "remote": 0},
                       "by_operator": {"CAF": 1, "none": 1},
                       "by_autonomy": {"1": 0, "2": 1, "3": 0, "unknown": 1}},
    "no_show_rate": 0.14,          # 1 absent / (6 + 1)
    # Invited: R1 and R2 after S1, R1 after S2 (the others have no phone).
    "surveys": {"invited": 3, "responses": 2,
                "questions": questions(([0, 1, 0, 1], 3.0), ([0, 0, 1, 0], 3.0),
                                       ([0, 0, 0, 0], None), ([0, 0, 0, 1], 4.0))},
    "pix": {"people_assessed": 2},
    "coordination": {"meetings": 1, "by_kind": {"steering_committee": 1, "technical_committee": 0,
                                                "working_group": 0, "network": 0,
                                                "professional_training": 0, "other": 0}},
    # D1 used at S1, D2 lent to R2; users: R1 R2 (S1), R2 (loan), R1 (venue computer).
    "equipment": {"devices": 2, "sessions": 1, "loans": 1, "people": 2,
                  "by_gender": g(F=1, M=1), "by_age_bracket": ages(0, 1, 0, 0, 1)},
}

FEBRUARY = {
    # R1 (S4), Pro1 (part B), R2 and Pro2 (accompanied).
    "people": {"total": 4, "by_gender": g(F=2, M=2), "by_age_bracket": ages(0, 1, 1, 1, 1),
               "by_neighborhood": {"Le Biollay": 1, "Bellevue": 1, "unknown": 2},
               "by_audience": {"resident": 2, "professional": 2},
               "by_residence": res(qpv=1, outside=1, unknown=2)},
    "attendances": {"total": 4, "by_gender": g(F=2, M=2), "by_age_bracket": ages(0, 1, 1, 1, 1),
                    "by_audience": {"resident": 2, "professional": 2},
                    "by_residence": res(qpv=1, outside=1, unknown=2)},
    "sessions": {
        "total": 1,     # S4; the training started in January
        "by_kind": {"workshop": kind(0, 0, 0, 0, None),
                    "permanence": kind(1, 2, 1, 1, 0.33),       # 2 of 6 slots
                    "training": kind(0, 2, 1, 1, 0.2)},         # part B: 2 of 10
        "by_theme": {"démarches": act(1, 2, 1, 1), "accompagner": act(0, 2, 1, 1),
                     "unknown": act(0, 0, 0, 0)},
        "by_level": {"1": act(0, 0, 0, 0), "2": act(0, 0, 0, 0), "3": act(0, 2, 1, 1),
                     "unknown": act(1, 2, 1, 1)},
        "cancelled": {"total": 0, "by_reason": {"unknown": 0}}},
    # S4 3 h + part B 1 h; R1's slot 30 min, Pro1 1 h, 45 + 20 min supports.
    "hours": {"sessions": 4.0, "person_hours": 2.58},
    "accompaniments": {"total": 2, "by_theme": themes(emploi=1, **{"e-mail": 1}),
                       "by_modality": {"on_site": 0, "phone": 0, "home": 1, "remote": 1},
                       "by_operator": {"France Travail": 1, "none": 1},
                       "by_autonomy": {"1": 1, "2": 0, "3": 1, "unknown": 0}},
    "no_show_rate": 0.5,
    "surveys": {"invited": 1, "responses": 0,
                "questions": questions(([0] * 4, None), ([0] * 4, None), ([0] * 4, None),
                                       ([0] * 4, None))},
    "pix": {"people_assessed": 0},
    "coordination": {"meetings": 2, "by_kind": {"steering_committee": 0, "technical_committee": 0,
                                                "working_group": 1, "network": 1,
                                                "professional_training": 0, "other": 0}},
    # D2 still lent; R2 accompanied on the lent device.
    "equipment": {"devices": 1, "sessions": 0, "loans": 0, "people": 1,
                  "by_gender": g(M=1), "by_age_bracket": ages(0, 1, 0, 0, 0)},
}

TOTAL = {
    # People once: R1 R2 R3 Pro1 Pro2, aged in 2026.
    "people": JANUARY["people"],
    "attendances": {"total": 15, "by_gender": g(F=10, M=5), "by_age_bracket": ages(1, 3, 2, 2, 7),
                    "by_audience": {"resident": 11, "professional": 4},
                    "by_residence": res(qpv=7, outside=3, unknown=5)},
    "sessions": {
        "total": 4,
        "by_kind": {"workshop": kind(2, 5, 4, 1, 0.75),
                    "permanence": kind(1, 2, 1, 1, 0.33),
                    "training": kind(1, 4, 3, 1, 0.2)},
        "by_theme": {"smartphone": act(1, 3, 2, 1), "internet": act(1, 2, 2, 0),
                     "accompagner": act(1, 4, 3, 1), "démarches": act(1, 2, 1, 1),
                     "unknown": act(0, 0, 0, 0)},
        "by_level": {"1": act(1, 3, 2, 1), "2": act(1, 2, 2, 0), "3": act(1, 4, 3, 1),
                     "unknown": act(1, 2, 1, 1)},
        "cancelled": {"total": 1, "by_reason": {"Formatrice malade": 1, "unknown": 0}}},
    "hours": {"sessions": 10.5, "person_hours": 22.33},
    "accompaniments": {"total": 4, "by_theme": themes(smartphone=1, impôts=1, emploi=1,
                                                      **{"démarches_en_ligne": 1, "e-mail": 1}),
                       "by_modality": {"on_site": 1, "phone": 1, "home": 1, "remote": 1},
                       "by_operator": {"CAF": 1, "France Travail": 1, "none": 2},
                       "by_autonomy": {"1": 1, "2": 1, "3": 1, "unknown": 1}},
    "no_show_rate": 0.27,          # 3 absent / (8 + 3)
    "surveys": {"invited": 4, "responses": 2, "questions": JANUARY["surveys"]["questions"]},
    "pix": {"people_assessed": 2},
    "coordination": {"meetings": 3, "by_kind": {"steering_committee": 1, "technical_committee": 0,
                                                "working_group": 1, "network": 1,
                                                "professional_training": 0, "other": 0}},
    "equipment": {"devices": 2, "sessions": 1, "loans": 1, "people": 2,
                  "by_gender": g(F=1, M=1), "by_age_bracket": ages(0, 1, 0, 0, 1)},
}


def check(rep, want, what):
    for block, value in want.items():
        assert rep[block] == value, "%s %s:\n got %r\nwant %r" % (what, block, rep[block], value)


def test_periods_by_hand(r):
    ids = programme(r)
    rep = r.ok("GET", REPORT + BOTH)
    assert set(rep) == {"periods", "total"}, list(rep)
    jan, feb = rep["periods"]
    assert (jan["from"], jan["to"], feb["from"], feb["to"]) == (
        "2026-01-01", "2026-01-31", "2026-02-01", "2026-02-28"), rep
    assert jan["period"] == {"start": "2025-12-31T23:00:00Z", "end": "2026-01-31T23:00:00Z"}
    assert (rep["total"]["from"], rep["total"]["to"]) == ("2026-01-01", "2026-02-28")
    check(jan, JANUARY, "January")
    check(feb, FEBRUARY, "February")
    check(rep["total"], TOTAL, "total")
    # The messages: the surveys sent and the others suppressed, all about
    # January's and February's sessions; the total adds them up.
    for p in (jan, feb):
        for c in ("sms", "email"):
            assert set(p["notifications"][c]) == {"sent", "delivered", "failed", "suppressed"}
    total_sent = sum(p["notifications"]["sms"]["sent"] for p in (jan, feb))
    assert total_sent == 4 and rep["total"]["notifications"]["sms"]["sent"] == 4, rep
    assert rep["total"]["sms_segments"] == jan["sms_segments"] + feb["sms_segments"] > 0
    # The first shape, for one of them: the same report.
    one = r.ok("GET", REPORT + "?from=2026-01-01&to=2026-01-31")
    check(one, JANUARY, "from/to")
    assert one["from"] == "2026-01-01" and "periods" not in one
    # Order kept as asked; the total is the same.
    rev = r.ok("GET", REPORT + "?period=%s&period=%s" % (P2, P1))
    assert rev["periods"][0]["from"] == "2026-02-01"
    check(rev["total"], TOTAL, "total, periods reversed")


def test_filters(r):
    ids = programme(r)
    q = REPORT + "?period=" + P1

    def jan(**filters):
        return r.ok("GET", q + "&" + urllib.parse.urlencode(filters))["periods"][0]

    # Residents only: R1 R2 R3; the professionals' training reaches none of
    # them; walk-ins and the anonymous support are residents.
    rep = jan(audience="resident")
    assert rep["people"]["total"] == 3 and rep["people"]["by_audience"] == {
        "resident": 3, "professional": 0}, rep["people"]
    assert rep["attendances"]["total"] == 9, rep["attendances"]
    assert rep["sessions"]["total"] == 2 and rep["sessions"]["by_kind"]["training"]["sessions"] == 0
    assert rep["sessions"]["cancelled"]["total"] == 1       # R2 was booked in S3
    assert rep["accompaniments"]["total"] == 2 and rep["hours"]["person_hours"] == 13.75
    assert rep["pix"]["people_assessed"] == 1               # Élodie
    # Professionals only: the training, its part A.
    rep = jan(audience="professional")
    assert rep["people"]["total"] == 2 and rep["attendances"]["total"] == 2
    assert rep["sessions"]["total"] == 1 and rep["sessions"]["by_kind"]["training"] == kind(
        1, 2, 2, 0, 0.2)
    assert rep["sessions"]["cancelled"]["total"] == 0 and rep["accompaniments"]["total"] == 0
    assert rep["hours"] == {"sessions": 3.0, "person_hours": 6.0}, rep["hours"]
    # Sent by the CCAS: R1 and R3 (no walk-in, no anonymous support).
    rep = jan(organisation_id=ids["o1"])
    assert rep["people"]["total"] == 2 and rep["attendances"]["total"] == 4, rep["attendances"]
    assert rep["coordination"]["meetings"] == 1             # the CCAS sat on the committee
    assert jan(organisation_id=ids["o2"])["coordination"]["meetings"] == 0
    # At the library of Cognin: S2 only (its venue, or its commune).
    for filters in ({"venue_id": ids["v2"]}, {"commune": "Cognin"}, {"commune": "cognin"}):
        rep = jan(**filters)
        assert rep["sessions"]["total"] == 1 and rep["attendances"]["total"] == 2, filters
        assert rep["people"]["total"] == 2 and rep["accompaniments"]["total"] == 0, filters
        assert rep["equipment"]["devices"] == 0, filters    # both are at the centre
    rep = jan(venue_id=ids["v1"])
    assert rep["accompaniments"]["total"] == 1 and rep["equipment"]["devices"] == 2
    # Trainings only: the training; supports are not given in one.
    rep = jan(kind="training")
    assert rep["sessions"]["total"] == 1 and rep["attendances"]["total"] == 2
    assert rep["accompaniments"]["total"] == 0 and rep["people"]["total"] == 2
    # Filters combine; the answer says which it used.
    rep = jan(audience="resident", venue_id=ids["v1"])
    assert rep["sessions"]["total"] == 1 and rep["filters"] == {
        "audience": "resident", "venue_id": ids["v1"]}, rep
    # The first shape takes them too.
    one = r.ok("GET", REPORT + "?from=2026-01-01&to=2026-01-31&audience=professional")
    assert one["people"]["total"] == 2


def test_bad_input(r):
    st, out, h = r.req("GET", REPORT + "?period=%s&audience=visitor&kind=meeting"
                               "&venue_id=abc&organisation_id=0&commune=%%20" % P1)
    problem(r, 422, out, h)
    assert sorted(e["field"] for e in out["errors"]) == [
        "audience", "commune", "kind", "organisation_id", "venue_id"], out
    for query, field in (
            ("?period=%s&venue_id=99999" % P1, "venue_id"),
            ("?period=%s&organisation_id=99999" % P1, "organisation_id"),
            ("?period=%s&audience=resident&audience=professional" % P1, "audience"),
            ("?period=2026-02-01..2026-01-01", "period"),
            ("?period=2026-01-01", "period"),
            ("?period=2026-13-01..2026-12-31", "period"),
            ("?period=%s&period=2026-01-15..2026-02-15" % P1, "period"),
            ("?period=%s&from=2026-01-01&to=2026-01-31" % P1, "period"),
            ("?period=%s&format=pdf" % P1, "format"),
            ("?" + "&".join("period=%d-01-01..%d-12-31" % (y, y) for y in range(2000, 2013)),
             "period"),
            ("?from=2026-01-01&to=2026-01-31&kind=atelier", "kind")):
        st, out, h = r.req("GET", REPORT + query)
        problem(r, 422, out, h, field=field)
    st, out, h = r.req("GET", REPORT + "?period=a..b&period=%s" % P2)
    problem(r, 422, out, h, field="period[1]")
    # The forms validate the same way.
    st, out, h = r.req("GET", REPORT + ".xlsx?period=%s&audience=x" % P1)
    problem(r, 422, out, h, field="audience")
    # A trainer may not; nothing to see without a token.
    trainer = r.token("trainer")
    assert r.req("GET", REPORT + ".xlsx?period=" + P1, token=trainer)[0] == 403
    assert r.req("GET", REPORT + ".xlsx?period=" + P1, token=None)[0] == 401


# --- the forms ---------------------------------------------------------------------

def csv_tables(text):
    """{title: [rows of fields]} of the report's CSV."""
    assert text.startswith("\ufeff") and "\r\n" in text
    out, lines = {}, text[1:].split("\r\n")
    i = 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        title = lines[i]
        rows = []
        i += 1
        while i < len(lines) and lines[i]:
            rows.append(lines[i].split(";"))
            i += 1
        out[title] = rows
    return out


def test_csv_periods(r):
    programme(r)
    st, text, h = r.req("GET", REPORT + BOTH, headers={"Accept": "text/csv"})
    assert st == 200 and h["content-type"] == "text/csv; charset=utf-8", h
    assert h["content-disposition"] == 'attachment; filename="activite.csv"'
    t = csv_tables(text)
    assert t["report"][0] == ["key", P1, P2, "total"], t["report"][0]
    rows = {row[0]: row[1:] for row in t["report"][1:]}
    assert rows["people.total"] == ["5", "4", "5"]
    assert rows["attendances.total"] == ["11", "4", "15"]
    assert rows["hours.person_hours"] == ["19,75", "2,58", "22,33"]
    assert rows["no_show_rate"] == ["0,14", "0,50", "0,27"]
    assert rows["people.by_audience.professional"] == ["2", "2", "2"]
    # Each count with its share of the column's whole.
    assert t["people.by_gender"][0] == ["key", P1, "%", P2, "%", "total", "%"]
    assert t["people.by_gender"][1] == ["F", "3", "60,0", "2", "50,0", "3", "60,0"]
    assert t["attendances.by_audience"][1:] == [
        ["resident", "9", "81,8", "2", "50,0", "11", "73,3"],
        ["professional", "2", "18,2", "2", "50,0", "4", "26,7"]]
    assert ["qpv", "6", "54,5", "1", "25,0", "7", "46,7"] in t["attendances.by_residence"]
    assert ["workshop", "2", "66,7", "0", "0,0", "2", "50,0"] in t["sessions.by_kind.sessions"]
    # A rate has no share; an empty column has no share either.
    assert t["sessions.by_kind.fill_rate"][0] == ["key", P1, P2, "total"]
    assert ["permanence", "", "0,33", "0,33"] in t["sessions.by_kind.fill_rate"]
    assert ["Formatrice malade", "1", "100,0", "0", "", "1", "100,0"] in \
        t["sessions.cancelled.by_reason"]
    assert ["CAF", "1", "50,0", "0", "0,0", "1", "25,0"] in t["accompaniments.by_operator"]
    st2, text2, _ = r.req("GET", REPORT + ".csv" + BOTH)
    assert st2 == 200 and text2 == text


def xlsx_book(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    parts = {n: ET.fromstring(z.read(n)) for n in z.namelist()
             if n.endswith(".xml") or n.endswith(".rels")}
    strings = [''.join(t.text or '' for t in si.iter("{%s}t" % NS["m"]))
               for si in parts["xl/sharedStrings.xml"].findall("m:si", NS)]
    rels = {x.get("Id"): x.get("Target")
            for x in parts["xl/_rels/workbook.xml.rels"].findall("pr:Relationship", NS)}
    sheets = {}
    for s in parts["xl/workbook.xml"].findall("m:sheets/m:sheet", NS):
        rid = s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        sheets[s.get("name")] = "xl/" + rels[rid]
    return parts, strings, sheets


def sheet_cells(parts, strings, path):
    out = {}
    for c in parts[path].iter("{%s}c" % NS["m"]):
        v = c.find("m:v", NS)
        if v is None:
            continue
        out[c.get("r")] = strings[int(v.text)] if c.get("t") == "s" else float(v.text)
    return out


def sheet_charts(parts, path):
    """The chart parts drawn on the sheet at PATH."""
    rels_path = path.replace("worksheets/", "worksheets/_rels/") + ".rels"
    if rels_path not in parts:
        return []
    drawings = [x.get("Target").replace("../", "xl/")
                for x in parts[rels_path].findall("pr:Relationship", NS)]
    charts = []
    for d in drawings:
        drels = d.replace("drawings/", "drawings/_rels/") + ".rels"
        charts += [x.get("Target").replace("../", "xl/")
                   for x in parts[drels].findall("pr:Relationship", NS)]
    return charts


def test_xlsx(r):
    programme(r)
    st, data, h = r.req_raw("GET", REPORT + BOTH, headers={"Accept": XLSX})
    assert st == 200 and h["content-type"] == XLSX, h
    assert h["content-disposition"] == 'attachment; filename="activite.xlsx"'
    st2, data2, _ = r.req_raw("GET", REPORT + ".xlsx" + BOTH)
    assert st2 == 200 and data2[:4] == b"PK\x03\x04"
    parts, strings, sheets = xlsx_book(data)
    names = list(sheets)
    assert names[0] == "Synthèse" and "Personnes par genre" in names, names
    assert "Accompagnements par thème" in names and "Matériel par âge" in names, names
    assert len(names) == len(set(n.lower() for n in names)) >= 30, names
    # The summary: a column per period, the total last.
    s = sheet_cells(parts, strings, sheets["Synthèse"])
    assert s["B4"] == "01/01/2026 – 31/01/2026" and s["D4"] == "Total", s
    assert (s["A5"], s["B5"], s["C5"], s["D5"]) == ("Personnes accompagnées", 5, 4, 5), s
    # A breakdown: value and share (a fraction, formatted as a percentage).
    c = sheet_cells(parts, strings, sheets["Présences par public"])
    assert c["A4"] == "Public" and c["B4"] == "01/01/2026 – 31/01/2026" and c["C4"] == "%"
    assert (c["A5"], c["B5"], c["D5"], c["F5"]) == ("Habitants", 9, 2, 11), c
    assert abs(c["C5"] - 9 / 11) < 1e-9 and abs(c["G5"] - 11 / 15) < 1e-9, c
    # Beside it, a bar chart of the two periods (not the total).
    charts = sheet_charts(parts, sheets["Présences par public"])
    assert len(charts) == 1, charts
    chart = parts[charts[0]]
    assert chart.find(".//c:barChart/c:barDir", NS).get("val") == "bar"
    refs = [f.text for f in chart.iter("{%s}f" % NS["c"])]
    assert "'Présences par public'!$B$5:$B$6" in refs and \
        "'Présences par public'!$D$5:$D$6" in refs, refs
    assert "'Présences par public'!$F$5:$F$6" not in refs, refs
    # The summary has no chart; every breakdown one.
    assert sheet_charts(parts, sheets["Synthèse"]) == []
    assert len([n for n in parts if n.startswith("xl/charts/chart")]) >= 25


def test_html(r):
    programme(r)
    st, page, h = r.req("GET", REPORT + ".html" + BOTH)
    assert st == 200 and h["content-type"].startswith("text/html"), h
    assert 'lang="fr"' in page and "<script" not in page and "http" not in page
    assert " src=" not in page and " href=" not in page and "@media print" in page
    assert page.count("<table") == page.count("<section") >= 30
    assert page.count('<svg role="img"') == page.count("<desc id=") >= 25
    assert "01/01/2026 – 31/01/2026" in page and ">Total<" in page
    # Shares beside counts: the residents' attendances, 81,8 %.
    assert "81,8 %" in page and "73,3 %" in page
    # Wrapped labels: a long theme keeps every word, in lines of its own.
    assert "Accompagnements par thème" in page and ">démarches en ligne<" in page


# --- the programme's equipment table --------------------------------------------

def test_equipment_age_table(r):
    """programme-figures.md §2: the users of the lent devices, September
    2021 – June 2023, by the programme's own brackets 12–35, 35–60, 60+:
    33 %, 15 %, 49 % (and 3 % not known) of 700 people."""
    r.stop()
    r.cleanup()
    r.__init__(extra_config=EXTRA_CONFIG + "reports = {age_brackets = {12, 36, 60}}\n")
    r.start()
    tablet = r.ok("POST", "/api/v1/equipment", {"kind": "tablet", "label": "Tablette 1"})["id"]
    groups = [(231, 2021 - 25), (105, 2021 - 45), (343, 2021 - 70), (21, None)]
    n = 0
    for count, year in groups:
        for _ in range(count):
            body = {"first_name": "P%d" % n, "last_name": "Tablette"}
            if year:
                body["birth_year"] = year
            pid = r.ok("POST", "/api/v1/beneficiaries", body)["id"]
            day = datetime.date(2021, 9, 1) + datetime.timedelta(days=n % 660)
            r.ok("POST", "/api/v1/accompaniments", {
                "beneficiary_id": pid, "started_at": at(day.year, day.month, day.day, 10),
                "minutes": 30, "themes": ["smartphone"], "equipment": ["venue_tablet"]})
            n += 1
    q = "?period=2021-09-01..2023-06-30"
    rep = r.ok("GET", REPORT + q)["periods"][0]
    assert rep["equipment"]["people"] == 700, rep["equipment"]
    assert rep["equipment"]["by_age_bracket"] == {
        "<12": 0, "12-35": 231, "36-59": 105, "60+": 343, "unknown": 21}, rep["equipment"]
    assert rep["people"]["by_age_bracket"]["60+"] == 343
    t = csv_tables(r.req("GET", REPORT + ".csv" + q)[1])
    shares = {row[0]: row[2] for row in t["equipment.by_age_bracket"][1:]}
    assert shares == {"<12": "0,0", "12-35": "33,0", "36-59": "15,0", "60+": "49,0",
                      "unknown": "3,0"}, shares
    parts, strings, sheets = xlsx_book(r.req_raw("GET", REPORT + ".xlsx" + q)[1])
    c = sheet_cells(parts, strings, sheets["Matériel par âge"])
    got = {c["A%d" % y]: (c["B%d" % y], round(c["C%d" % y], 2)) for y in range(5, 10)}
    assert got == {"Moins de 12 ans": (0, 0), "12 à 35 ans": (231, 0.33),
                   "36 à 59 ans": (105, 0.15), "60 ans et plus": (343, 0.49),
                   "Non renseigné": (21, 0.03)}, got
    assert len(sheet_charts(parts, sheets["Matériel par âge"])) == 1


if __name__ == "__main__":
    run(globals())
