"""Issue 16, the queries that must stay flat as the territory grows, through
the API: the name search from the index of three-byte windows (schema step
22) finds what a full read found, follows renames, paging and erasure; the
month calendar and sessions.ics keep their bounds; /metrics counts equal a
recount of the notifications. Each fails on the server before issue 16
(no beneficiary_grams, notification_counts)."""
import os
import re
import sqlite3
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, run  # noqa: E402,F401

B = "/api/v1/beneficiaries"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def person(r, first, last, **kw):
    body = {"first_name": first, "last_name": last}
    body.update(kw)
    return r.ok("POST", B, body, expect=201)["id"]


def found(r, q, token=None):
    out, cursor = [], None
    while True:
        path = B + "?limit=2&q=" + quote(q) + ("&cursor=" + quote(cursor) if cursor else "")
        page = r.ok("GET", path, token=token) if token else r.ok("GET", path)
        out += [x["id"] for x in page["items"]]
        cursor = page.get("next")
        if not cursor:
            return out


def grams_of(r, bid):
    return r.db("SELECT count(*) FROM beneficiary_grams WHERE beneficiary_id = ?", bid)[0][0]


def test_name_search_from_the_index(r):
    names = [("Gwenaëlle", "Le Quéméner"), ("Anna", "Martin"), ("Annie", "Martinez"),
             ("Yu", "Li"), ("Jean-Pierre", "Martin"), ("Zoé", "Ab"), ("Ann", "Quéré")]
    ids = [person(r, f, l) for f, l in names]
    # Every query the full read of the names answered, paged by two: the
    # same people in the same order (what instr() over every row found).
    keys = {i: r.db("SELECT search_key FROM beneficiaries WHERE id = ?", i)[0][0] for i in ids}
    for q in ("martin", "MARTIN", "artin", "ann", "anna", "annie martinez", "quemener",
              "gwenaelle le", "le", "li", "yu li", "ab", "zoe ab", "jean pierre", "pierre",
              "rti", "tin", "xyz", "martin zzz", "an ma", "é", "quere ann", "ann quere"):
        words = [w for w in q.lower().replace("é", "e").replace("ë", "e").split()]
        want = [i for i in ids if all(w in keys[i] for w in words)]
        assert found(r, q) == want, (q, want)
    # A rename: the old windows go, the new ones come.
    r.ok("PATCH", B + "/%d" % ids[1], {"last_name": "Dubois"})
    assert ids[1] not in found(r, "martin anna") and found(r, "anna dubois") == [ids[1]]
    assert found(r, "bois") == [ids[1]]
    # Erasure takes the person out of the index, and a window only they
    # held out of the counts.
    assert grams_of(r, ids[0]) > 0
    r.ok("DELETE", B + "/%d" % ids[0], expect=204)
    assert grams_of(r, ids[0]) == 0
    assert found(r, "quemener") == [] and found(r, "gwen") == []
    assert r.db("SELECT count(*) FROM beneficiary_gram_counts"
                " WHERE gram = CAST('gwe' AS BLOB)") == [(0,)]
    # The counts equal a recount.
    assert r.db("SELECT count(*) FROM (SELECT gram, count(*) FROM beneficiary_grams"
                " GROUP BY gram EXCEPT SELECT gram, n FROM beneficiary_gram_counts)") == [(0,)]
    assert r.db("SELECT count(*) FROM beneficiary_gram_counts") == \
        r.db("SELECT count(DISTINCT gram) FROM beneficiary_grams")


def test_sessions_of_a_month_and_the_feed(r):
    """The list and the feed between explicit bounds, and with one bound or
    none: the range now always bound (INT64 ends) finds the same sessions."""
    v = r.ok("POST", "/api/v1/venues", {"name": "Centre"}, expect=201)["id"]
    base = int(time.time()) // 86400 * 86400 + 30 * 86400
    made = []
    for d in (-400, -10, 0, 1, 20, 45, 300):
        s = r.ok("POST", "/api/v1/sessions", {
            "kind": "workshop", "title": "Séance %d" % d, "venue_id": v,
            "starts_at": iso(base + d * 86400), "ends_at": iso(base + d * 86400 + 3600)},
            expect=201)
        made.append((base + d * 86400, s["id"]))

    def listed(query):
        out, cursor = [], None
        while True:
            page = r.ok("GET", "/api/v1/sessions?limit=2" + query
                        + ("&cursor=" + quote(cursor) if cursor else ""))
            out += [x["id"] for x in page["items"]]
            cursor = page.get("next")
            if not cursor:
                return out

    lo, hi = base - 10 * 86400, base + 20 * 86400
    month = [i for t, i in made if lo <= t <= hi]
    assert listed("&from=%s&to=%s" % (quote(iso(lo)), quote(iso(hi)))) == month
    assert listed("&from=%s" % quote(iso(lo))) == [i for t, i in made if t >= lo]
    assert listed("&to=%s" % quote(iso(hi))) == [i for t, i in made if t <= hi]
    assert listed("") == [i for _, i in made]
    st, body, _ = r.req("GET", "/api/v1/sessions.ics?from=%s&to=%s"
                        % (quote(iso(lo)), quote(iso(hi))))
    assert st == 200
    uids = [int(line.split("-")[1].split("@")[0]) for line in body.splitlines()
            if line.startswith("UID:session-")]
    assert uids == month, (uids, month)


def test_metrics_counts_equal_a_recount(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Centre"}, expect=201)["id"]
    start = int(time.time()) + 5 * 86400
    s = r.ok("POST", "/api/v1/sessions", {
        "kind": "workshop", "title": "Smartphone", "venue_id": v, "starts_at": iso(start),
        "ends_at": iso(start + 3600), "capacity": 2}, expect=201)["id"]
    people = [person(r, "P%d" % i, "Nom", phone="06 11 22 33 %02d" % i, consent_sms=True)
              for i in range(4)]
    enr = [r.ok("POST", "/api/v1/sessions/%d/enrollments" % s, {"beneficiary_id": p},
                expect=201)["id"] for p in people]
    r.ok("PATCH", "/api/v1/enrollments/%d" % enr[0], {"status": "cancelled"})
    r.ok("PATCH", "/api/v1/sessions/%d" % s, {"starts_at": iso(start + 86400),
                                               "ends_at": iso(start + 86400 + 3600)})
    # The console gateway sends what is due meanwhile: compare once /metrics
    # says the same before and after the recount.

    def shown():
        _, text, _ = r.req("GET", "/metrics", token=None)
        out = {}
        for line in text.splitlines():
            if line.startswith("relais_notifications{"):
                labels, value = line.rsplit(" ", 1)
                out[labels] = int(value)
        return out

    deadline = time.time() + 30
    while True:
        before = shown()
        rows = r.db("SELECT kind, channel, status, count(*) FROM notifications GROUP BY 1, 2, 3")
        total = r.db("SELECT count(*) FROM notifications")[0][0]
        if shown() == before or time.time() > deadline:
            break
        time.sleep(0.2)
    assert rows, "the enrollments queued messages"
    for kind, channel, status, n in rows:
        key = 'relais_notifications{kind="%s",channel="%s",status="%s"}' % (kind, channel,
                                                                          status)
        assert before.get(key) == n, (key, before.get(key), n)
    assert sum(before.values()) == total


def test_the_pass_table_reads_by_index(r):
    """The funders' pass table (plugins/pass/report.lua): the passes spent
    are read once (pass_scans has no index on the day, by the plugin's
    choice: one pass over the scans), every other table by key; the
    accompaniments that cite a pass through the index on pass, never all
    of them."""
    assert r.stop() == 0
    with open(r.config, "a") as f:
        f.write('plugins = {"pass"}\n')
    r.start()
    with open(os.path.join(SRC, "plugins", "pass", "report.lua")) as f:
        src = f.read()
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"))
    plans = {}
    for name in ("SPENT", "CITED"):
        sql = re.search(r"local %s = \[\[(.*?)\]\]" % name, src, re.S).group(1)
        plans[name] = [row[3] for row in
                       con.execute("EXPLAIN QUERY PLAN " + sql, (None,) * sql.count("?"))]
    con.close()
    scans = [p for p in plans["SPENT"] + plans["CITED"] if p.startswith("SCAN ")]
    assert scans == ["SCAN s"], plans
    assert any("USING INDEX pass_handovers_book" in p for p in plans["SPENT"]), plans
    assert any("USING INDEX accompaniments_pass" in p for p in plans["CITED"]), plans

if __name__ == "__main__":
    run(globals())
