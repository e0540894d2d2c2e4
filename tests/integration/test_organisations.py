"""Organisations of the network and what beneficiaries gain with them:
organisation_id, audience, residence (from the territory's lists), the
free-text prescriber mapped to an organisation, and `relais migrate` turning
the prescribers of an older database into organisations."""
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, problem, run  # noqa: E402

O = "/api/v1/organisations"
B = "/api/v1/beneficiaries"
KINDS = ["ccas", "caf", "centre_social", "association", "france_services", "mission_locale",
         "france_travail", "bailleur", "ecole", "mediatheque", "commune", "departement",
         "other"]

# A territory written as a coordinator would, accents and all; people type
# neighbourhoods however they like.
EXTRA_CONFIG = ('territory = { qpv = { "Le Biollay", "Les Épinettes", "Les Hauts-de-Chambéry" },'
                ' qva = { "Centre-ville" } }\n')


def fields_of(out):
    return sorted(e["field"] for e in out.get("errors", []))


def count(r, table):
    return r.db("SELECT count(*) FROM " + table)[0][0]


# --- organisations ----------------------------------------------------------------

def test_organisation_crud(r):
    o = r.ok("POST", O, {"name": "  CCAS de Chambéry ", "kind": "ccas",
                         "commune": "Chambéry"}, expect=201)
    assert set(o) == {"id", "name", "kind", "commune", "created_at", "updated_at"}, o
    assert (o["name"], o["kind"], o["commune"]) == ("CCAS de Chambéry", "ccas", "Chambéry"), o
    assert r.ok("GET", "%s/%d" % (O, o["id"])) == o
    p = r.ok("PATCH", "%s/%d" % (O, o["id"]), {"name": "CCAS", "commune": None})
    assert (p["name"], p["kind"], p["commune"]) == ("CCAS", "ccas", None), p
    # kind set to null goes back to its default.
    p = r.ok("PATCH", "%s/%d" % (O, o["id"]), {"kind": None})
    assert p["kind"] == "other", p
    d = r.ok("POST", O, {"name": "Secours populaire"}, expect=201)
    assert d["kind"] == "other" and d["commune"] is None, d
    st, _, _ = r.req("DELETE", "%s/%d" % (O, d["id"]))
    assert st == 204
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        st, out, hdrs = r.req(method, "%s/%d" % (O, d["id"]), body)
        problem(r, 404, out, hdrs)
    assert count(r, "organisations") == 1


def test_organisation_every_kind_and_bad_fields(r):
    for k in KINDS:
        assert r.ok("POST", O, {"name": "Structure " + k, "kind": k}, expect=201)["kind"] == k
    before = count(r, "organisations")
    st, out, hdrs = r.req("POST", O, {"name": " ", "kind": "mairie", "commune": "c" * 101,
                                      "siret": "123"})
    assert st == 422, out
    problem(r, 422, out, hdrs)
    assert fields_of(out) == ["commune", "kind", "name", "siret"], out
    st, out, _ = r.req("POST", O, {"kind": "ccas"})
    assert st == 422 and fields_of(out) == ["name"], out
    one = r.ok("GET", O + "?limit=1")["items"][0]
    st, out, _ = r.req("PATCH", "%s/%d" % (O, one["id"]), {"name": None, "kind": 3})
    assert st == 422 and fields_of(out) == ["kind", "name"], out
    assert count(r, "organisations") == before
    assert r.ok("GET", "%s/%d" % (O, one["id"])) == one


def test_organisation_list_search_kind_paging(r):
    names = [("CCAS de Chambéry", "ccas"), ("Centre social du Biollay", "centre_social"),
             ("Centre socioculturel de Cognin", "centre_social"), ("Mission locale", "mission_locale"),
             ("Médiathèque Jean-Jacques Rousseau", "mediatheque")]
    ids = [r.ok("POST", O, {"name": n, "kind": k}, expect=201)["id"] for n, k in names]
    got = r.ok("GET", O + "?q=centre+social")["items"]
    assert [o["id"] for o in got] == [ids[1]], got
    got = r.ok("GET", O + "?q=MEDIATHEQUE%20rousseau")["items"]
    assert [o["id"] for o in got] == [ids[4]], got
    got = r.ok("GET", O + "?kind=centre_social")["items"]
    assert [o["id"] for o in got] == ids[1:3], got
    page = r.ok("GET", O + "?limit=2")
    assert [o["id"] for o in page["items"]] == ids[:2] and page["next"], page
    page = r.ok("GET", O + "?limit=2&cursor=" + page["next"])
    assert [o["id"] for o in page["items"]] == ids[2:4], page
    for q in ("kind=mairie", "limit=0", "q=" + "x" * 201, "q=a+b+c+d+e+f+g"):
        st, out, _ = r.req("GET", O + "?" + q)
        assert st == 422, (q, out)


def test_organisation_roles(r):
    o = r.ok("POST", O, {"name": "CAF de la Savoie", "kind": "caf"}, expect=201)
    staff = r.ok("POST", "/api/v1/staff", {"name": "Samir", "role": "trainer"}, expect=201)
    r.tokens["trainer"] = r.token("trainer", staff=staff["id"])
    assert r.ok("GET", O, token="trainer")["items"] == [o]
    assert r.ok("GET", "%s/%d" % (O, o["id"]), token="trainer") == o
    for method, path, body in (("POST", O, {"name": "x"}),
                               ("PATCH", "%s/%d" % (O, o["id"]), {"name": "x"}),
                               ("DELETE", "%s/%d" % (O, o["id"]), None)):
        st, out, _ = r.req(method, path, body, token="trainer")
        assert st == 403, (method, out)
    p = r.ok("PATCH", "%s/%d" % (O, o["id"]), {"commune": "Chambéry"}, token="coordinator")
    assert p["commune"] == "Chambéry"
    st, _, _ = r.req("GET", O, token=None)
    assert st == 401


def test_delete_referred_organisation_is_409(r):
    """Referred to by a person (erased or not), an accompaniment's referral or
    a meeting: 409, and nothing changes; once free, 204."""
    by_person = r.ok("POST", O, {"name": "France Travail"}, expect=201)
    by_erased = r.ok("POST", O, {"name": "Mission locale"}, expect=201)
    by_acc = r.ok("POST", O, {"name": "CAF"}, expect=201)
    by_meeting = r.ok("POST", O, {"name": "Département de la Savoie"}, expect=201)
    p = r.ok("POST", B, {"first_name": "A", "last_name": "B",
                         "organisation_id": by_person["id"]}, expect=201)
    e = r.ok("POST", B, {"first_name": "C", "last_name": "D",
                         "organisation_id": by_erased["id"]}, expect=201)
    r.ok("DELETE", "%s/%d" % (B, e["id"]), expect=204)
    a = r.ok("POST", "/api/v1/accompaniments", {
        "anonymous": {}, "minutes": 20, "themes": ["emploi"], "referred_to": by_acc["id"]},
        expect=201)
    m = r.ok("POST", "/api/v1/meetings", {
        "kind": "network", "title": "Réseau", "date": "2026-03-05",
        "organisation_ids": [by_meeting["id"]]}, expect=201)
    for o in (by_person, by_erased, by_acc, by_meeting):
        st, out, hdrs = r.req("DELETE", "%s/%d" % (O, o["id"]))
        assert st == 409, (o, out)
        problem(r, 409, out, hdrs)
    assert count(r, "organisations") == 4
    # Freed, each can go.
    r.ok("PATCH", "%s/%d" % (B, p["id"]), {"organisation_id": None})
    r.ok("PATCH", "/api/v1/accompaniments/%d" % a["id"], {"referred_to": None})
    r.ok("PATCH", "/api/v1/meetings/%d" % m["id"], {"organisation_ids": []})
    for o in (by_person, by_acc, by_meeting):
        r.ok("DELETE", "%s/%d" % (O, o["id"]), expect=204)
    st, _, _ = r.req("DELETE", "%s/%d" % (O, by_erased["id"]))
    assert st == 409, "an erased person still counts by organisation"


# --- beneficiaries: organisation, audience, residence ----------------------------------

def test_beneficiary_organisation_audience_residence(r):
    org = r.ok("POST", O, {"name": "CCAS de Chambéry", "kind": "ccas"}, expect=201)
    b = r.ok("POST", B, {"first_name": "Monique", "last_name": "Jacquier",
                         "organisation_id": org["id"], "residence": "outside"}, expect=201)
    assert (b["organisation_id"], b["audience"], b["residence"]) == (org["id"], "resident",
                                                                    "outside"), b
    pro = r.ok("POST", B, {"first_name": "Hélène", "last_name": "Rochas",
                           "audience": "professional", "organisation_id": org["id"]},
               expect=201)
    assert pro["audience"] == "professional" and pro["residence"] is None, pro
    assert r.ok("GET", B + "?audience=professional")["items"] == [pro]
    assert [x["id"] for x in r.ok("GET", B + "?organisation_id=%d" % org["id"])["items"]] == \
        [b["id"], pro["id"]]
    # audience set to null goes back to resident; residence null clears.
    p = r.ok("PATCH", "%s/%d" % (B, pro["id"]), {"audience": None})
    assert p["audience"] == "resident", p
    p = r.ok("PATCH", "%s/%d" % (B, b["id"]), {"residence": None, "organisation_id": None})
    assert p["residence"] is None and p["organisation_id"] is None, p
    # Every bad field is named, nothing stored.
    n = count(r, "beneficiaries")
    st, out, hdrs = r.req("POST", B, {"first_name": "X", "last_name": "Y",
                                      "organisation_id": 999, "audience": "staff",
                                      "residence": "QPV"})
    assert st == 422, out
    assert fields_of(out) == ["audience", "organisation_id", "residence"], out
    st, out, _ = r.req("POST", B, {"first_name": "X", "last_name": "Y", "organisation_id": 999})
    assert st == 422 and fields_of(out) == ["organisation_id"], out
    st, out, _ = r.req("POST", B, {"first_name": "X", "last_name": "Y",
                                   "organisation_id": "1", "residence": 3})
    assert st == 422 and fields_of(out) == ["organisation_id", "residence"], out
    st, out, _ = r.req("PATCH", "%s/%d" % (B, b["id"]), {"organisation_id": 0})
    assert st == 422 and fields_of(out) == ["organisation_id"], out
    assert count(r, "beneficiaries") == n
    for q in ("audience=everyone", "organisation_id=x"):
        st, out, _ = r.req("GET", B + "?" + q)
        assert st == 422, (q, out)


def test_phone_search_keeps_the_filters(r):
    # A phone search walks the phone index (console branch); the list's
    # filters (records branch) still apply to it, in any spelling of the number.
    org = r.ok("POST", O, {"name": "Mission locale", "kind": "mission_locale"}, expect=201)
    same = {"last_name": "Famille", "phone": "06 12 34 56 78"}
    mother = r.ok("POST", B, dict(same, first_name="Aïcha"), expect=201)
    son = r.ok("POST", B, dict(same, first_name="Karim", organisation_id=org["id"]), expect=201)
    pro = r.ok("POST", B, dict(same, first_name="Nora", audience="professional"), expect=201)

    def ids(q):
        return [x["id"] for x in r.ok("GET", B + "?" + q)["items"]]
    assert ids("q=0612345678") == [mother["id"], son["id"], pro["id"]]
    assert ids("q=612345678&organisation_id=%d" % org["id"]) == [son["id"]]
    assert ids("q=%2B33612345678&audience=professional") == [pro["id"]]
    assert ids("q=06.12.34.56.78&audience=resident") == [mother["id"], son["id"]]
    assert ids("q=0612345678&audience=professional&organisation_id=%d" % org["id"]) == []


def test_residence_from_the_territory(r):
    def mk(**kw):
        body = {"first_name": "P", "last_name": "Q"}
        body.update(kw)
        return r.ok("POST", B, body, expect=201)
    # Case, accents, hyphens and spaces do not matter.
    assert mk(neighborhood="le biollay")["residence"] == "qpv"
    assert mk(neighborhood="LES EPINETTES")["residence"] == "qpv"
    assert mk(neighborhood="les hauts de chambery")["residence"] == "qpv"
    assert mk(neighborhood="Centre ville")["residence"] == "qva"
    assert mk(neighborhood="Bissy")["residence"] is None
    assert mk()["residence"] is None
    # Given, the residence wins over the lists (even null).
    assert mk(neighborhood="Le Biollay", residence="outside")["residence"] == "outside"
    assert mk(neighborhood="Le Biollay", residence=None)["residence"] is None
    # PATCH: a new neighbourhood without a residence sets it again; an
    # unlisted one clears it; the same one (written otherwise) keeps it.
    p = mk(neighborhood="Bissy", residence="outside")
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"neighborhood": "Le Biollay"})
    assert u["residence"] == "qpv", u
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"residence": "outside"})
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"neighborhood": "LE BIOLLAY"})
    assert u["residence"] == "outside", "the neighbourhood did not change: %r" % u
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"neighborhood": "Bissy"})
    assert u["residence"] is None, u
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"neighborhood": "Centre-Ville", "residence": "qpv"})
    assert u["residence"] == "qpv", u
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"neighborhood": None})
    assert u["residence"] is None and u["neighborhood"] is None, u
    u = r.ok("PATCH", "%s/%d" % (B, p["id"]), {"first_name": "R"})
    assert u["residence"] is None and u["first_name"] == "R", u


def test_prescriber_maps_to_an_organisation(r):
    caf = r.ok("POST", O, {"name": "CAF de la Savoie", "kind": "caf"}, expect=201)
    # An existing organisation, whatever the case and accents.
    a = r.ok("POST", B, {"first_name": "A", "last_name": "A", "prescriber": "caf de la savoie"},
             expect=201)
    assert a["organisation_id"] == caf["id"] and a["prescriber"] == "caf de la savoie", a
    # A new name makes one, with the kind its name makes obvious.
    b = r.ok("POST", B, {"first_name": "B", "last_name": "B", "prescriber": "Pôle emploi"},
             expect=201)
    made = r.ok("GET", "%s/%d" % (O, b["organisation_id"]))
    assert (made["name"], made["kind"]) == ("Pôle emploi", "france_travail"), made
    c = r.ok("POST", B, {"first_name": "C", "last_name": "C", "prescriber": "POLE EMPLOI"},
             expect=201)
    assert c["organisation_id"] == made["id"], c
    # organisation_id given wins: no mapping.
    d = r.ok("POST", B, {"first_name": "D", "last_name": "D", "prescriber": "Inconnu",
                         "organisation_id": caf["id"]}, expect=201)
    assert d["organisation_id"] == caf["id"], d
    assert not r.ok("GET", O + "?q=inconnu")["items"]
    # PATCH maps too; clearing the prescriber leaves the organisation.
    p = r.ok("PATCH", "%s/%d" % (B, d["id"]), {"prescriber": "Mission locale"})
    ml = r.ok("GET", "%s/%d" % (O, p["organisation_id"]))
    assert (ml["name"], ml["kind"]) == ("Mission locale", "mission_locale"), ml
    p = r.ok("PATCH", "%s/%d" % (B, d["id"]), {"prescriber": None})
    assert p["prescriber"] is None and p["organisation_id"] == ml["id"], p
    # A refused body makes no organisation.
    n = count(r, "organisations")
    st, out, _ = r.req("POST", B, {"first_name": "E", "last_name": "", "prescriber": "Nouvelle"})
    assert st == 422 and fields_of(out) == ["last_name"], out
    assert count(r, "organisations") == n


def test_erasure_keeps_organisation_audience_residence(r):
    org = r.ok("POST", O, {"name": "ESJA employeur", "kind": "association"}, expect=201)
    b = r.ok("POST", B, {"first_name": "Lucie", "last_name": "Carron", "gender": "F",
                         "birth_year": 1980, "neighborhood": "Le Biollay",
                         "audience": "professional", "organisation_id": org["id"],
                         "prescriber": "Bibliothèque"}, expect=201)
    doc = r.ok("GET", "%s/%d/export" % (B, b["id"]))
    assert doc["beneficiary"]["organisation_id"] == org["id"], doc
    assert doc["beneficiary"]["audience"] == "professional", doc
    assert doc["beneficiary"]["residence"] == "qpv", doc
    r.ok("DELETE", "%s/%d" % (B, b["id"]), expect=204)
    row = r.db("SELECT first_name, prescriber, gender, birth_year, organisation_id, audience,"
               " residence FROM beneficiaries WHERE id = ?", b["id"])
    assert row == [(None, None, "F", 1980, org["id"], "professional", "qpv")], row


# --- relais migrate on an older database -----------------------------------------------

def core_steps():
    """The core migrations of core/store/schema.c as (version, sql), read from the
    source so that the test builds exactly the schema an older Relais made."""
    text = open(os.path.join(SRC, "core", "store", "schema.c"), encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    body = text[text.index("store_core_migrations[] = {"):]
    steps = []
    for m in re.finditer(r"\{(\d+),((?:\s*\"(?:[^\"\\]|\\.)*\")+)\s*\}", body):
        sql = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(2)))
        steps.append((int(m.group(1)), sql.replace('\\"', '"')))
    return steps


def test_migrate_turns_prescribers_into_organisations(r):
    r.stop()
    db = os.path.join(r.dir, "relais.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    steps = core_steps()
    first_new = next(v for v, sql in steps if "CREATE TABLE organisations" in sql)
    assert first_new > 1
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER"
                " NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (component, version))")
    for v, sql in steps:
        if v < first_new:
            con.executescript(sql)
            con.execute("INSERT INTO schema_migrations VALUES ('core', ?, 0)", (v,))
    people = [("Monique", "CCAS de Chambéry", "Le Biollay"),
              ("Fatima", "ccas de chambery", "Bissy"),
              ("Josiane", "Pôle emploi", "les épinettes"),
              ("Colette", "Centre social du Biollay", None),
              ("Yvette", "Mme Durand (assistante sociale)", "Centre-Ville"),
              ("Odette", None, "Le Biollay")]
    for i, (first, prescriber, hood) in enumerate(people, 1):
        con.execute("INSERT INTO beneficiaries (id, first_name, last_name, prescriber,"
                    " neighborhood, created_at, updated_at) VALUES (?, ?, 'X', ?, ?, 0, 0)",
                    (i, first, prescriber, hood))
    # An erased person: no prescriber left, a neighbourhood kept.
    con.execute("INSERT INTO beneficiaries (id, neighborhood, gender, erased_at, created_at,"
                " updated_at) VALUES (7, 'Le Biollay', 'F', 5, 0, 0)")
    con.commit()
    con.close()

    _, _, err = r.cli("migrate")
    assert "4 organisation(s) made" in err and "5 person(s) linked" in err, err
    orgs = {name: kind for name, kind in r.db("SELECT name, kind FROM organisations")}
    assert orgs == {"CCAS de Chambéry": "ccas", "Pôle emploi": "france_travail",
                    "Centre social du Biollay": "centre_social",
                    "Mme Durand (assistante sociale)": "other"}, orgs
    links = dict(r.db("SELECT b.first_name, o.name FROM beneficiaries b"
                      " LEFT JOIN organisations o ON o.id = b.organisation_id"
                      " WHERE b.erased_at IS NULL"))
    assert links == {"Monique": "CCAS de Chambéry", "Fatima": "CCAS de Chambéry",
                     "Josiane": "Pôle emploi", "Colette": "Centre social du Biollay",
                     "Yvette": "Mme Durand (assistante sociale)", "Odette": None}, links
    # The prescriber text stays as it was written.
    assert r.db("SELECT prescriber FROM beneficiaries WHERE id = 2") == [("ccas de chambery",)]
    res = dict(r.db("SELECT id, residence FROM beneficiaries"))
    assert res == {1: "qpv", 2: None, 3: "qpv", 4: None, 5: "qva", 6: "qpv", 7: "qpv"}, res
    assert r.db("SELECT DISTINCT audience FROM beneficiaries") == [("resident",)]

    def state():
        return (r.db("SELECT * FROM organisations ORDER BY id"),
                r.db("SELECT * FROM beneficiaries ORDER BY id"))
    before = state()
    _, _, err = r.cli("migrate")
    assert "organisation(s) made" not in err, "a second run has nothing to do: " + err
    assert state() == before
    # The server starts on the migrated database, and serves what it made.
    r.start()
    got = r.ok("GET", B + "/1")
    assert got["organisation_id"] and got["residence"] == "qpv", got


if __name__ == "__main__":
    run(globals())
