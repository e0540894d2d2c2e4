"""The activity report plugin (plugins/reports): GET /api/v1/reports/activity
as JSON, CSV and HTML, checked against a small dataset made through the API
whose figures are worked out by hand below (literal numbers)."""
import datetime
import os
import time
import zoneinfo

from harness import Relais, run, problem

ZONE = zoneinfo.ZoneInfo("Europe/Paris")
CONFIG = ('plugins = {"sms", "email", "reports"}\n'
          'sms = {provider = "console"}\n'
          'email = {provider = "console"}\n'
          'quiet_hours = false\n')
REPORT = "/api/v1/reports/activity"


def today():
    return datetime.datetime.now(ZONE).date()


def at(day, hh, mm=0):
    """Unix seconds of local time HH:MM on DAY."""
    return int(datetime.datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZONE).timestamp())


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def days(n):
    return today() + datetime.timedelta(days=n)


def session(r, start, minutes=120, **fields):
    body = {"kind": "workshop", "title": "Atelier", "starts_at": iso(start),
            "ends_at": iso(start + minutes * 60)}
    body.update(fields)
    return r.ok("POST", "/api/v1/sessions", body)


def person(r, n, gender=None, birth_year=None, neighborhood=None, sms=True):
    body = {"first_name": "P%d" % n, "last_name": "Test"}
    if gender:
        body["gender"] = gender
    if birth_year:
        body["birth_year"] = birth_year
    if neighborhood:
        body["neighborhood"] = neighborhood
    if sms:
        body["phone"] = "+3361%07d" % (n * 37 + int(time.time()) % 1000)
        body["consent_sms"] = True
    return r.ok("POST", "/api/v1/beneficiaries", body)["id"]


def enroll(r, sid, bid, expect_status="booked"):
    e = r.ok("POST", "/api/v1/sessions/%d/enrollments" % sid, {"beneficiary_id": bid}, expect=201)
    assert e["status"] == expect_status, e
    return e["id"]


def enroll_settled(r, sid, bid, expect_status="booked"):
    """enroll, once the confirmation has gone, before attendance is marked,
    as when people enroll days ahead: otherwise whether it went or was
    voided by the mark depends on how busy the machine is."""
    eid = enroll(r, sid, bid, expect_status)
    settled_notifications(r, [eid])
    return eid


def mark(r, eid, status):
    """Marks EID as the trainer would once the session has begun (attended
    and absent are refused before): the session's start is moved into the
    past in the database for the time of the request, then put back, as if
    the clock had run on; the figures stay those of the dataset."""
    import sqlite3
    # What is due (the confirmation) leaves before attendance is marked,
    # which would void it: otherwise what the report counts as sent would
    # depend on how fast the outbox ran.
    settled_notifications(r, [eid])
    if status not in ("attended", "absent"):
        r.ok("PATCH", "/api/v1/enrollments/%d" % eid, {"status": status})
        return
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"), timeout=10)
    try:
        sid, start = con.execute("SELECT s.id, s.starts_at FROM enrollments e JOIN sessions s"
                                 " ON s.id = e.session_id WHERE e.id = ?", (eid,)).fetchone()
        if start <= time.time():       # begun already
            r.ok("PATCH", "/api/v1/enrollments/%d" % eid, {"status": status})
            return
        con.execute("UPDATE sessions SET starts_at = ? WHERE id = ?", (int(time.time()) - 60, sid))
        con.commit()
        r.ok("PATCH", "/api/v1/enrollments/%d" % eid, {"status": status})
        con.execute("UPDATE sessions SET starts_at = ? WHERE id = ?", (start, sid))
        con.commit()
    finally:
        con.close()


def part_enrollment(r, part_id, bid):
    items = r.ok("GET", "/api/v1/sessions/%d/enrollments" % part_id)["items"]
    return [e for e in items if e["beneficiary_id"] == bid][0]["id"]


def fresh(r):
    """The harness's server runs without plugins: restart it with reports."""
    r.stop()
    r.cleanup()
    r.__init__(extra_config=CONFIG)
    r.start()


THEME_ODD = 'Démarches; "droits" & <en ligne>'


def dataset(r):
    """Builds the dataset; returns (from, to, enrollment ids in range)."""
    first, last = days(-20), days(20)
    year = first.year    # ages are year(from) - birth_year
    v1 = r.ok("POST", "/api/v1/venues", {"name": "Centre social", "neighborhood": "Le Biollay"})["id"]
    v2 = r.ok("POST", "/api/v1/venues", {"name": "Médiathèque", "neighborhood": "Bellevue"})["id"]
    p1 = person(r, 1, "F", year - 25, "Le Biollay")    # <26 (upper edge)
    p2 = person(r, 2, "F", year - 35, "Le Biollay")    # 26-35 (upper edge)
    p3 = person(r, 3, "M", year - 36, "Bellevue")      # 36-45 (lower edge)
    p4 = person(r, 4, "X", year - 55)                  # 46-55 (upper edge), no neighbourhood
    p5 = person(r, 5, "F", year - 56, "Bellevue")      # 56+ (lower edge)
    p6 = person(r, 6, sms=False)                       # nothing known, no consent
    p7 = person(r, 7, "M", year - 26, "Le Biollay")    # 26-35 (lower edge), erased later
    p8 = person(r, 8, "F", year - 30, "Bellevue")      # only absent: not counted
    p9 = person(r, 9, "M", year - 40, "Bellevue")      # only out of range: not counted
    p10 = person(r, 10, "F", year - 45, "Bellevue")    # only in a cancelled session

    s1 = session(r, at(days(3), 14), theme="Smartphone", level=1, venue_id=v1, capacity=2)["id"]
    s2 = session(r, at(days(4), 10), theme=THEME_ODD, level=2, venue_id=v2)["id"]
    s3 = session(r, at(days(6), 9), 180, kind="permanence", theme=THEME_ODD, venue_id=v2)["id"]
    tr = r.ok("POST", "/api/v1/sessions", {
        "kind": "training", "title": "Et si j'accompagnais", "theme": "Accompagner", "level": 3,
        "venue_id": v1,
        "parts": [{"title": "Partie A", "starts_at": iso(at(days(7), 9)),
                   "ends_at": iso(at(days(7), 12))},
                  {"title": "Partie B", "starts_at": iso(at(days(8), 9)),
                   "ends_at": iso(at(days(8), 12))}]})
    ta, tb = tr["parts"][0]["id"], tr["parts"][1]["id"]
    s4 = session(r, at(days(-10), 14), venue_id=v1)["id"]          # past, no theme/level
    s5 = session(r, at(days(9), 14), theme="Smartphone", level=1)["id"]   # cancelled below
    s6 = session(r, at(days(25), 14), theme="Smartphone", level=1)["id"]  # out of range

    ids = []
    # S1 (capacity 2): P1, P2 attended; P3 waitlisted.
    e = enroll_settled(r, s1, p1); mark(r, e, "attended"); ids.append(e)
    e = enroll_settled(r, s1, p2); mark(r, e, "attended"); ids.append(e)
    ids.append(enroll_settled(r, s1, p3, "waitlisted"))
    # S2: P1, P3, P6 attended; P8 absent; P4 excused; P5 cancelled.
    for b, st in ((p1, "attended"), (p3, "attended"), (p6, "attended"), (p8, "absent"),
                  (p4, "excused"), (p5, "cancelled")):
        e = enroll_settled(r, s2, b); mark(r, e, st); ids.append(e)
    # S3 (permanence): P4 attended, P5 absent.
    e = enroll_settled(r, s3, p4); mark(r, e, "attended"); ids.append(e)
    e = enroll_settled(r, s3, p5); mark(r, e, "absent"); ids.append(e)
    # Training: P2 at both parts, P5 at A, absent at B; P2's training-level
    # enrollment marked attended too (the parts carry the count).
    et2 = enroll_settled(r, tr["id"], p2); ids.append(et2)
    et5 = enroll_settled(r, tr["id"], p5); ids.append(et5)
    mark(r, et2, "attended")
    for part, b, st in ((ta, p2, "attended"), (ta, p5, "attended"), (tb, p2, "attended"),
                        (tb, p5, "absent")):
        e = part_enrollment(r, part, b); mark(r, e, st); ids.append(e)
    # S4 (past): P7 attended then erased; P6 absent.
    e = enroll_settled(r, s4, p7); mark(r, e, "attended"); ids.append(e)
    e = enroll_settled(r, s4, p6); mark(r, e, "absent"); ids.append(e)
    # S5: P10 attended, P1 booked, then the session is cancelled.
    e = enroll_settled(r, s5, p10); mark(r, e, "attended"); ids.append(e)
    ids.append(enroll_settled(r, s5, p1))
    r.ok("POST", "/api/v1/sessions/%d/cancel" % s5)
    # S6 (out of range): P9 attended.
    e = enroll_settled(r, s6, p9); mark(r, e, "attended")
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % p7, expect=204)
    return first.isoformat(), last.isoformat(), ids


def settled_notifications(r, ids):
    """Every notification of IDS once nothing due is still pending."""
    deadline = time.time() + 20
    while True:
        items = []
        for eid in ids:
            items += r.ok("GET", "/api/v1/enrollments/%d/notifications" % eid)["items"]
        now = datetime.datetime.now(datetime.timezone.utc)
        busy = [n for n in items if n["status"] in ("pending", "sending") and
                datetime.datetime.fromisoformat(n["due_at"].replace("Z", "+00:00")) <= now]
        if not busy:
            return items
        assert time.time() < deadline, "notifications still due: %r" % busy
        time.sleep(0.1)


def test_figures_by_hand(r):
    fresh(r)
    frm, to, ids = dataset(r)
    notes = settled_notifications(r, ids)
    rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, frm, to))
    assert rep["from"] == frm and rep["to"] == to, rep
    # People who attended: P1 P2 P3 P4 P5 P6 P7 (erased, still counted).
    assert rep["people"] == {
        "total": 7,
        "by_gender": {"F": 3, "M": 2, "X": 1, "unknown": 1},
        "by_age_bracket": {"<26": 1, "26-35": 2, "36-45": 1, "46-55": 1, "56+": 1,
                           "unknown": 1},
        "by_neighborhood": {"Le Biollay": 3, "Bellevue": 2, "unknown": 2},
        "by_audience": {"resident": 7, "professional": 0},
        "by_residence": {"qpv": 0, "qva": 0, "outside": 0, "unknown": 7}}, rep["people"]
    # Attended enrollments: S1 P1 P2; S2 P1 P3 P6; S3 P4; parts P2 P5 P2; S4 P7.
    assert rep["attendances"] == {
        "total": 10,
        "by_gender": {"F": 6, "M": 2, "X": 1, "unknown": 1},
        "by_age_bracket": {"<26": 2, "26-35": 4, "36-45": 1, "46-55": 1, "56+": 1,
                           "unknown": 1},
        "by_audience": {"resident": 10, "professional": 0},
        "by_residence": {"qpv": 0, "qva": 0, "outside": 0, "unknown": 10}}, rep["attendances"]
    s = rep["sessions"]
    assert s["total"] == 5, s     # S1 S2 S3 training S4
    # Fill rate: only S1 has a capacity (2), and two people took it.
    assert s["by_kind"] == {
        "workshop": {"sessions": 3, "enrolled": 9, "attended": 6, "absent": 2, "fill_rate": 1.0},
        "permanence": {"sessions": 1, "enrolled": 2, "attended": 1, "absent": 1,
                       "fill_rate": None},
        "training": {"sessions": 1, "enrolled": 4, "attended": 3, "absent": 1,
                     "fill_rate": None}}, s["by_kind"]
    assert s["by_theme"] == {
        "Smartphone": {"sessions": 1, "enrolled": 2, "attended": 2, "absent": 0},
        THEME_ODD: {"sessions": 2, "enrolled": 7, "attended": 4, "absent": 2},
        "Accompagner": {"sessions": 1, "enrolled": 4, "attended": 3, "absent": 1},
        "unknown": {"sessions": 1, "enrolled": 2, "attended": 1, "absent": 1}}, s["by_theme"]
    assert s["by_level"] == {
        "1": {"sessions": 1, "enrolled": 2, "attended": 2, "absent": 0},
        "2": {"sessions": 1, "enrolled": 5, "attended": 3, "absent": 1},
        "3": {"sessions": 1, "enrolled": 4, "attended": 3, "absent": 1},
        "unknown": {"sessions": 2, "enrolled": 4, "attended": 2, "absent": 2}}, s["by_level"]
    assert rep["no_show_rate"] == 0.29, rep    # 4 absent / (10 + 4)
    # Notifications: what the API says was sent, about in-range sessions
    # (the cancelled S5 included).
    want = {c: {k: 0 for k in ("sent", "delivered", "failed", "suppressed")}
            for c in ("sms", "email")}
    segments = 0
    for n in notes:
        if n["status"] in want[n["channel"]]:
            want[n["channel"]][n["status"]] += 1
        if n["channel"] == "sms" and n["status"] in ("sent", "delivered"):
            segments += n["segments"]
    assert want["sms"]["sent"] >= 8 and want["sms"]["suppressed"] >= 1, want
    assert rep["notifications"] == want, (rep["notifications"], want)
    assert rep["sms_segments"] == segments and segments >= 8, (rep["sms_segments"], segments)
    # A range holding only S6 (out of the first range) counts P9 alone.
    six = days(25).isoformat()
    rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, six, six))
    assert rep["people"]["total"] == 1 and rep["people"]["by_gender"]["M"] == 1, rep
    assert rep["sessions"]["total"] == 1, rep


def test_csv_and_html(r):
    fresh(r)
    frm, to, ids = dataset(r)
    settled_notifications(r, ids)   # the figures stay put while read three ways
    q = "?from=%s&to=%s" % (frm, to)
    st, body, h = r.req("GET", REPORT + q, headers={"Accept": "text/csv"})
    assert st == 200 and h["content-type"].startswith("text/csv"), (st, h)
    assert body.startswith("\ufeffreport\r\nkey;value\r\n"), body[:60]
    lines = body[1:].split("\r\n")
    assert "from;" + frm in lines and "people.total;7" in lines, lines
    assert "no_show_rate;0,29" in lines, lines
    i = lines.index("people.by_gender")
    assert lines[i + 1:i + 7] == ["key;people", "F;3", "M;2", "X;1", "unknown;1", ""], lines[i:]
    i = lines.index("sessions.by_kind")
    assert lines[i + 1:i + 5] == ["key;sessions;enrolled;attended;absent", "workshop;3;9;6;2",
                                  "permanence;1;2;1;1", "training;1;4;3;1"], lines[i:]
    assert '"Démarches; ""droits"" & <en ligne>";2;7;4;2' in lines, lines
    i = lines.index("notifications")
    assert lines[i + 1] == "channel;sent;delivered;failed;suppressed", lines[i:]
    st2, body2, _ = r.req("GET", REPORT + q + "&format=csv")
    assert st2 == 200 and body2 == body
    # HTML: the .html route, Accept: text/html and format=html agree.
    st, page, h = r.req("GET", REPORT + ".html" + q)
    assert st == 200 and h["content-type"].startswith("text/html"), (st, h)
    st2, page2, _ = r.req("GET", REPORT + q, headers={"Accept": "text/html,*/*;q=0.8"})
    st3, page3, _ = r.req("GET", REPORT + q + "&format=html")
    assert st2 == st3 == 200 and page2 == page == page3
    # One section per table, a chart beside every breakdown (not the summary,
    # nor the rates).
    sections = page.count("<section")
    assert sections >= 30 and page.count("<table") == sections, sections
    assert page.count('<svg role="img"') == page.count("<title id=") == \
        page.count("<desc id=") == sections - 2, page.count("<svg")
    assert "http://" not in page and "https://" not in page, "no external URL"
    assert "<script" not in page and " src=" not in page and " href=" not in page
    assert "@media print" in page and 'lang="fr"' in page
    assert "Démarches; &quot;droits&quot; &amp; &lt;en ligne&gt;" in page
    assert THEME_ODD not in page
    summary = page.split('<section id="people-by-gender"')[0]
    assert summary != page
    assert "<td>7</td>" in summary and "<td>10</td>" in summary and "<td>29 %</td>" in summary
    assert "section{break-inside:avoid" in page


def test_local_date_bounds(r):
    fresh(r)
    e = days(40)
    nxt, prev = e + datetime.timedelta(days=1), e - datetime.timedelta(days=1)
    inside = [session(r, at(e, 0, 0))["id"], session(r, at(e, 23, 30))["id"]]
    session(r, at(nxt, 0, 30))      # the next local day: out
    session(r, at(prev, 23, 30))    # the day before: out
    b = person(r, 1, "F", 1980)
    for sid in inside:
        mark(r, enroll(r, sid, b), "attended")
    rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, e.isoformat(), e.isoformat()))
    assert rep["sessions"]["total"] == 2, rep
    assert rep["attendances"]["total"] == 2 and rep["people"]["total"] == 1, rep
    # Age: year(from) - birth_year.
    want = "<26" if e.year - 1980 < 26 else "36-45" if e.year - 1980 <= 45 else "46-55"
    assert rep["people"]["by_age_bracket"][want] == 1, rep
    # RFC 3339 bounds, any offset: `to` is included to the second.
    lo = datetime.datetime(e.year, e.month, e.day, tzinfo=ZONE).isoformat()
    hi = iso(at(e, 23, 30))
    rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, lo.replace("+", "%2B"), hi))
    assert rep["sessions"]["total"] == 2 and rep["to"] == hi, rep
    rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, lo.replace("+", "%2B"),
                                            iso(at(e, 23, 30) - 1)))
    assert rep["sessions"]["total"] == 1, rep
    rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, iso(at(e, 0, 0) + 1), iso(at(nxt, 0, 30))))
    assert rep["sessions"]["total"] == 2, rep    # 23:30 and 00:30 next day


def test_empty_range(r):
    fresh(r)
    rep = r.ok("GET", REPORT + "?from=2020-01-01&to=2020-12-31")
    assert rep["people"]["total"] == 0 and rep["sessions"]["total"] == 0, rep
    assert rep["no_show_rate"] is None, rep
    assert rep["people"]["by_neighborhood"] == {"unknown": 0}, rep
    assert rep["sessions"]["by_kind"]["training"] == {"sessions": 0, "enrolled": 0,
                                                       "attended": 0, "absent": 0,
                                                       "fill_rate": None}, rep
    assert rep["notifications"]["email"] == {"sent": 0, "delivered": 0, "failed": 0,
                                             "suppressed": 0}, rep
    st, page, _ = r.req("GET", REPORT + ".html?from=2020-01-01&to=2020-12-31")
    assert st == 200 and page.count("<svg") == page.count("<section") - 2, page


def test_bad_bounds(r):
    fresh(r)
    st, out, h = r.req("GET", REPORT + "?from=2026-13-01&to=2026-12-31")
    problem(r, 422, out, h, field="from")
    assert [e["field"] for e in out["errors"]] == ["from"], out
    st, out, h = r.req("GET", REPORT + "?from=2026-01-01&to=tomorrow")
    problem(r, 422, out, h, field="to")
    st, out, h = r.req("GET", REPORT)
    problem(r, 422, out, h, field="from")
    problem(r, 422, out, h, field="to")
    st, out, h = r.req("GET", REPORT + "?from=2026-02-01&to=2026-01-31")
    problem(r, 422, out, h, field="to")
    st, out, h = r.req("GET", REPORT + "?from=2026-02-01T10:00:00Z&to=2026-02-01T09:59:59Z")
    problem(r, 422, out, h, field="to")
    st, out, h = r.req("GET", REPORT + "?from=2026-02-01&to=2026-02-01&format=xml")
    problem(r, 422, out, h, field="format")
    st, out, h = r.req("GET", REPORT + "?from=2026-02-01&from=2026-02-02&to=2026-02-03")
    problem(r, 422, out, h, field="from")
    st, out, h = r.req("GET", REPORT + ".html?from=2026-02-31&to=2026-03-01")
    problem(r, 422, out, h, field="from")
    # The same day as from and to is one whole day.
    assert r.ok("GET", REPORT + "?from=2026-02-01&to=2026-02-01")["sessions"]["total"] == 0


def test_roles(r):
    fresh(r)
    q = "?from=2026-01-01&to=2026-12-31"
    trainer = r.token("trainer")
    for path in (REPORT + q, REPORT + ".html" + q):
        st, out, _ = r.req("GET", path, token=trainer)
        assert st == 403, (path, st, out)
        st, out, _ = r.req("GET", path, token=None)
        assert st == 401, (path, st, out)
        st, _, _ = r.req("GET", path, token="coordinator")
        assert st == 200, path
        st, _, _ = r.req("GET", path, token="admin")
        assert st == 200, path


def test_delivery_statuses(r):
    """Through the twilio gateway simulator: sent, delivered, failed."""
    from gateway_sim import GatewaySim
    from notify_util import sim_config
    sim = GatewaySim(auth_token="tok-report").start()
    try:
        r.stop()
        r.cleanup()
        r.__init__(extra_config=sim_config(sim, 'plugins = {"sms", "email", "reports"}\n'))
        r.start()
        d = days(5)
        sid = session(r, at(d, 14))["id"]
        eids = [enroll(r, sid, person(r, n)) for n in range(1, 5)]
        sim.fail_next(1, "invalid")          # the 4th confirmation: a permanent error

        def confirmations():
            ns = [n for e in eids for n in
                  r.ok("GET", "/api/v1/enrollments/%d/notifications" % e)["items"]
                  if n["kind"] == "confirmation" and n["channel"] == "sms"]
            return ns if all(n["status"] in ("sent", "failed") for n in ns) else None
        deadline = time.time() + 20
        while not confirmations():
            assert time.time() < deadline, "confirmations not settled"
            time.sleep(0.1)
        ns = confirmations()
        sent = [n for n in ns if n["status"] == "sent"]
        assert len(ns) == 4 and len(sent) == 3, ns
        base = "http://127.0.0.1:%d" % r.port
        assert sim.deliver(sent[0]["provider_id"], "delivered", base) in (200, 204)
        assert sim.deliver(sent[1]["provider_id"], "undelivered", base, error_code=30003) \
            in (200, 204)
        rep = r.ok("GET", "%s?from=%s&to=%s" % (REPORT, d.isoformat(), d.isoformat()))
        sms = rep["notifications"]["sms"]
        assert (sms["sent"], sms["delivered"], sms["failed"]) == (1, 1, 2), rep
        # Segments of the one sent and the one delivered.
        assert rep["sms_segments"] == sent[0]["segments"] + sent[2]["segments"], rep
        assert rep["sms_segments"] >= 2, rep
        assert rep["people"]["total"] == 0 and rep["sessions"]["total"] == 1, rep
        assert rep["no_show_rate"] is None and rep["sessions"]["by_kind"]["workshop"] == {
            "sessions": 1, "enrolled": 4, "attended": 0, "absent": 0, "fill_rate": None}, rep
    finally:
        sim.stop()


if __name__ == "__main__":
    run(globals())
