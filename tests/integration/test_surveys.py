"""The surveys plugin (plugins/surveys) end to end: the outbox invites the
people marked attended by SMS through the gateway simulator, they open the
/s/ link and answer, and staff read the results per session and per
trainer, as JSON and CSV. Every expected figure is counted here by hand."""
import base64
import csv
import datetime
import hashlib
import hmac
import io
import os
import re
import signal
import sqlite3
import time
import urllib.parse
from zoneinfo import ZoneInfo

from notify_util import (run, with_config, person, enroll, iso, wait_status, wait_until,
                         active)
from harness import problem

H = 3600
PLUGINS = 'plugins = {"sms", "email", "surveys"}\nsurvey = {after = "1s"}\n'
TRAINING_QUESTIONS = (
    'surveys = {training = {\n'
    '  {id = "useful", label = "Utile pour vous ?", type = "score"},\n'
    '  {id = "remarks", label = "Vos remarques <libres>", type = "text"},\n'
    '}}\n')
DEFAULT_LABELS = {
    "content": "Le contenu de l'atelier",
    "clarity": "La clarté du formateur ou de la formatrice",
    "exchanges": "Les échanges et l'ambiance du groupe",
    "overall": "Dans l'ensemble, la séance vous a plu ?",
    "liked": "Ce que vous avez aimé",
    "liked_less": "Ce que vous avez moins aimé",
    "next": "Ce que vous aimeriez apprendre ensuite",
}
SCORES = ["content", "clarity", "exchanges", "overall"]
TEXTS = ["liked", "liked_less", "next"]


# --- helpers ------------------------------------------------------------------------

def staff(r, name):
    s = r.ok("POST", "/api/v1/staff", {"name": name, "role": "trainer"})
    r.tokens[name] = r.token("trainer", name="token " + name, staff=s["id"])
    return s["id"]


def workshop(r, started_ago, trainer, title="Smartphone"):
    start = int(time.time()) - started_ago
    body = {"kind": "workshop", "title": title,
            "starts_at": iso(start), "ends_at": iso(start + 2 * H)}
    if trainer is not None:
        body["trainer_id"] = trainer
    return r.ok("POST", "/api/v1/sessions", body)


def mark(r, eid, status):
    r.ok("PATCH", "/api/v1/enrollments/%d" % eid, {"status": status})


def survey_token(r, sim, tel):
    """The /s/ token of the survey SMS sent to TEL (exactly one)."""
    pat = re.compile(re.escape("http://127.0.0.1:%d/s/" % r.port) + r"([A-Za-z0-9_-]{22})$")
    found = [pat.search(m["body"]) for m in sim.messages if m["to"] == tel]
    found = [m.group(1) for m in found if m]
    assert len(found) == 1, "survey links to one number: %r" % found
    return found[0]


def issue(r, eid, purpose):
    """A link token as core/auth/links.c makes it, recorded in links."""
    with open(os.path.join(r.dir, "relais.db.secret"), "rb") as f:
        key = f.read().rstrip(b"\n")
    tok = base64.urlsafe_b64encode(
        hmac.new(key, ("%s:%d" % (purpose, eid)).encode(), hashlib.sha256).digest()).decode()[:22]
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"), timeout=10)
    try:
        con.execute("INSERT OR IGNORE INTO links (token_hash, purpose, enrollment_id, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (hashlib.sha256(tok.encode()).digest(), purpose, eid, int(time.time())))
        con.commit()
    finally:
        con.close()
    return tok


def page(r, method, token, form=None, ctype="application/x-www-form-urlencoded"):
    raw = urllib.parse.urlencode(form) if form is not None else None
    headers = {"Content-Type": ctype} if raw is not None else None
    st, body, hdrs = r.req(method, "/s/" + token, token=None, raw=raw, headers=headers)
    assert hdrs["content-type"] == "text/html; charset=utf-8", hdrs
    assert hdrs["cache-control"] == "no-store", hdrs
    assert hdrs["referrer-policy"] == "no-referrer", hdrs
    assert hdrs["content-security-policy"].startswith("default-src 'none'"), hdrs
    assert body.startswith("<!doctype html><html lang=\"fr\">"), body[:80]
    assert "<script" not in body
    return st, body


def responses(r, eid=None):
    if eid is None:
        return r.db("SELECT COUNT(*) FROM surveys_responses")[0][0]
    return r.db("SELECT COUNT(*) FROM surveys_responses WHERE enrollment_id = ?", eid)[0][0]


def expected(answers, questions, texts):
    """The results of ANSWERS (one dict per response), counted by hand."""
    qs = []
    for qid, label in questions:
        counts = [0, 0, 0, 0]
        for a in answers:
            if a.get(qid):
                counts[int(a[qid]) - 1] += 1
        n = sum(counts)
        mean = round(sum((i + 1) * c for i, c in enumerate(counts)) / n, 2) if n else None
        qs.append({"id": qid, "label": label, "counts": counts, "mean": mean})
    comments = [{"question": t, "label": DEFAULT_LABELS[t], "text": a[t].strip()}
                for t in texts for a in answers if a.get(t, "").strip()]
    return qs, comments


def check_csv(text, res):
    lines = text.split("\r\n")
    blank = lines.index("")
    rows = list(csv.reader(io.StringIO("\r\n".join(lines[:blank]))))
    assert rows[0] == ["question", "label", "1", "2", "3", "4", "mean"], rows[0]
    assert len(rows) == 1 + len(res["questions"]), rows
    for row, q in zip(rows[1:], res["questions"]):
        assert row[:2] == [q["id"], q["label"]], row
        assert [int(x) for x in row[2:6]] == q["counts"], row
        assert row[6] == ("" if q["mean"] is None else "%.2f" % q["mean"]), row
    com = list(csv.reader(io.StringIO("\r\n".join(lines[blank + 1:]))))
    assert com[0] == ["question", "text"], com
    guard = [[c["question"], ("'" if c["text"][:1] in "=+-@" else "") + c["text"]]
             for c in res["comments"]]
    assert com[1:] == guard, (com, guard)


# --- the flow -----------------------------------------------------------------------

@with_config(PLUGINS)
def test_survey_flow(r, sim):
    ta, tb = staff(r, "trainer_a"), staff(r, "trainer_b")
    r.tokens["coord"] = r.token("coordinator", name="coord")
    w = workshop(r, 3 * H, ta, title="Smartphone & tablette")   # ended an hour ago
    people = [person(r, first=n) for n in ("Ana", "Ben", "Chloé", "Dan", "Eve")]
    es = [enroll(r, w["id"], p["id"]) for p in people]
    for e in es[:3]:
        mark(r, e["id"], "attended")
    mark(r, es[3]["id"], "absent")               # es[4] stays booked
    for e in es[:3]:
        wait_status(r, e["id"], "survey", "sent")
    time.sleep(1.5)       # what the absent or unmarked would get would be due by now
    for e in es[3:]:
        assert active(r, e["id"], "survey") == [], e
    tok = [survey_token(r, sim, p["phone"]) for p in people[:3]]
    for p in people[3:]:
        assert not any("/s/" in m["body"] for m in sim.messages if m["to"] == p["phone"])

    # The form: French, every question, four labelled radios per score.
    st, body = page(r, "GET", tok[0])
    assert st == 200, body
    assert len(body.encode()) < 8192, len(body.encode())
    assert "Bonjour Ana," in body and "Smartphone &amp; tablette" in body, body
    for qid, label in DEFAULT_LABELS.items():
        assert label.replace("'", "&#39;") in body or label in body, label
    assert body.count('type="radio"') == 16, body
    for qid in SCORES:
        for n, words in [(1, "Pas bien"), (2, "Moyen"), (3, "Bien"), (4, "Très bien")]:
            assert ('<label><input type="radio" name="%s" value="%d">%d – %s</label>'
                    % (qid, n, n, words)) in body, (qid, n)
    for qid in TEXTS:
        assert ('<label class="t" for="q-%s">' % qid) in body
        assert ('<textarea id="q-%s" name="%s" rows="4" maxlength="1000">' % (qid, qid)) in body
    assert '<form method="post" action="%s">' % tok[0] in body
    assert "<fieldset><legend>" in body and '<button type="submit">' in body

    # Answers. Ben skips a question and sends a field the form does not have.
    a0 = {"content": "4", "clarity": "3", "exchanges": "4", "overall": "4",
          "liked": "Les exercices, \"pratiques\"", "liked_less": "", "next": "Les e-mails"}
    a1 = {"content": "4", "clarity": "3", "exchanges": "", "overall": "3",
          "liked": "=HYPERLINK(1)", "liked_less": "  \r\n ", "junk": "9"}
    st, body = page(r, "POST", tok[0], a0)
    assert st == 200 and "Merci" in body, body
    st, body = page(r, "POST", tok[1], a1)
    assert st == 200, body
    # One answer per link: again → 409; the form says it is done.
    st, body = page(r, "POST", tok[0], {"content": "1"})
    assert st == 409 and "déjà enregistrées" in body, body
    st, body = page(r, "GET", tok[0])
    assert st == 200 and "déjà enregistrées" in body and "<form" not in body, body

    # Invalid answers: a page, nothing stored.
    e2 = es[2]["id"]
    for bad in [{"content": "0"}, {"content": "5"}, {"clarity": "abc"}, {"overall": "3.5"},
                {"next": "x" * 1001}, {"overall": "2", "content": "-1"}]:
        st, body = page(r, "POST", tok[2], bad)
        assert st == 422 and "n&#39;est pas valable" in body, (bad, st, body)
        assert responses(r, e2) == 0
    # No answer at all (every field empty, or none): refused, and the link
    # stays usable for the real answer.
    for empty in [{}, {"content": "", "liked": "  \r\n ", "next": ""}]:
        st, body = page(r, "POST", tok[2], empty)
        assert st == 422 and "aucune question" in body and responses(r, e2) == 0, (st, body)
        assert 'href="%s">Revenir au questionnaire' % tok[2] in body, body
    st, body = page(r, "GET", tok[2])
    assert st == 200 and "<form" in body, body
    # Plain words on the form: no "venu·e", no "satisfait·e".
    assert "·" not in body, body
    st, body = page(r, "POST", tok[2], {"content": "3"}, ctype="text/plain")
    assert st == 415 and responses(r, e2) == 0, body
    a2 = {"content": "3", "overall": "4", "next": "é" * 1000}   # 1000 characters is fine
    st, body = page(r, "POST", tok[2], a2)
    assert st == 200 and responses(r, e2) == 1, body

    # Unknown token, an /r/ token on /s/, an /s/ token on /r/, the absent.
    for t in ["AAAAAAAAAAAAAAAAAAAAAA", "short", issue(r, es[0]["id"], "r")]:
        for method in ("GET", "POST"):
            st, body = page(r, method, t, {} if method == "POST" else None)
            assert st == 404 and "Lien introuvable" in body, (t, st)
    st, _, _ = r.req("GET", "/r/" + tok[0], token=None)
    assert st == 404
    absent = issue(r, es[3]["id"], "s")
    st, body = page(r, "GET", absent)
    assert st == 403 and "réservé aux personnes présentes" in body, body
    st, body = page(r, "POST", absent, {"content": "1"})
    assert st == 403 and responses(r, es[3]["id"]) == 0, body
    assert responses(r) == 3

    # The results, computed here.
    qs, comments = expected([a0, a1, a2], [(q, DEFAULT_LABELS[q]) for q in SCORES], TEXTS)
    assert [q["mean"] for q in qs] == [3.67, 3.0, 4.0, 3.67], qs
    want = {"invited": 3, "responses": 3, "questions": qs, "comments": comments}
    path = "/api/v1/sessions/%d/survey" % w["id"]
    for who in ("admin", "coord", "trainer_a"):
        st, out, hdrs = r.req("GET", path, token=who)
        assert st == 200 and hdrs["content-type"].startswith("application/json"), out
        assert out == want, (who, out, want)
    st, out, hdrs = r.req("GET", path, token="trainer_b")
    assert st == 403, out
    problem(r, 403, out, hdrs)
    st, out, _ = r.req("GET", "/api/v1/sessions/999999/survey")
    assert st == 404, out
    st, text, hdrs = r.req("GET", path, headers={"Accept": "text/csv"})
    assert st == 200 and hdrs["content-type"] == "text/csv; charset=utf-8", hdrs
    check_csv(text, want)
    st, text2, _ = r.req("GET", path + "?format=csv")
    assert st == 200 and text2 == text
    st, out, _ = r.req("GET", path + "?format=xml")
    assert st == 400, out

    # Per trainer: a second session of A, two days earlier, one answer.
    w2 = workshop(r, 50 * H, ta, title="Tablette")
    p6 = person(r, first="Fanny")
    e6 = enroll(r, w2["id"], p6["id"])
    mark(r, e6["id"], "attended")
    wait_status(r, e6["id"], "survey", "sent")
    a3 = {"content": "1", "clarity": "2", "liked_less": "Trop court"}
    st, body = page(r, "POST", survey_token(r, sim, p6["phone"]), a3)
    assert st == 200, body
    # Comments come by question, then oldest answer first.
    qs4, comments4 = expected([a0, a1, a2, a3], [(q, DEFAULT_LABELS[q]) for q in SCORES],
                              TEXTS)
    mine = "/api/v1/staff/%d/survey" % ta
    for who in ("admin", "coord", "trainer_a"):
        out = r.ok("GET", mine, token=who)
        assert out == {"invited": 4, "responses": 4, "sessions": 2, "questions": qs4,
                       "comments": comments4}, (who, out)
    st, out, _ = r.req("GET", mine, token="trainer_b")
    assert st == 403, out
    st, text, _ = r.req("GET", mine, headers={"Accept": "text/csv"})
    check_csv(text, {"questions": qs4, "comments": comments4})
    # A range holding only the recent session (RFC 3339), then only the old
    # one (a local date, inclusive).
    since = urllib.parse.quote(iso(time.time() - 10 * H))
    out = r.ok("GET", mine + "?from=" + since)
    assert (out["sessions"], out["responses"]) == (1, 3), out
    old_day = datetime.datetime.fromtimestamp(time.time() - 50 * H,
                                              ZoneInfo("Europe/Paris")).date().isoformat()
    out = r.ok("GET", mine + "?from=" + old_day + "&to=" + old_day)
    assert (out["sessions"], out["invited"], out["responses"]) == (1, 1, 1), out
    assert out["comments"] == [{"question": "liked_less", "label": "Ce que vous avez moins aimé",
                                "text": "Trop court"}], out
    for bad in ("from=2026-02-30", "to=yesterday"):
        st, out, _ = r.req("GET", mine + "?" + bad)
        assert st == 422, (bad, out)
    # B leads nothing: zeros over the default questionnaire, empty lists.
    out = r.ok("GET", "/api/v1/staff/%d/survey" % tb, token="trainer_b")
    assert out == {"invited": 0, "responses": 0, "sessions": 0, "comments": [],
                   "questions": [{"id": q, "label": DEFAULT_LABELS[q], "counts": [0, 0, 0, 0],
                                  "mean": None} for q in SCORES]}, out
    st, out, _ = r.req("GET", "/api/v1/staff/999999/survey")
    assert st == 404, out
    # Erasing someone removes their free-text answers, in the same request;
    # their scores stay in the counts, as the core keeps anonymous figures.
    e0 = es[0]["id"]
    texts = "SELECT count(*) FROM surveys_answers WHERE enrollment_id = ? AND text IS NOT NULL"
    scores = "SELECT count(*) FROM surveys_answers WHERE enrollment_id = ? AND score IS NOT NULL"
    assert r.db(texts, e0)[0][0] == 2 and r.db(scores, e0)[0][0] == 4
    r.ok("DELETE", "/api/v1/beneficiaries/%d" % es[0]["beneficiary_id"], expect=204)
    assert r.db(texts, e0)[0][0] == 0 and r.db(scores, e0)[0][0] == 4

    # No personal data in the log.
    log = r.read_log()
    for p in people:
        assert p["phone"] not in log
    for t in tok:
        assert t not in log


@with_config(PLUGINS + TRAINING_QUESTIONS)
def test_questionnaire_per_kind(r, sim):
    ta = staff(r, "trainer_a")
    start = int(time.time()) - 5 * H
    t = r.ok("POST", "/api/v1/sessions", {
        "kind": "training", "title": "Bureautique", "trainer_id": ta,
        "parts": [{"title": "Jour 1", "starts_at": iso(start), "ends_at": iso(start + H)},
                  {"title": "Jour 2", "starts_at": iso(start + 2 * H),
                   "ends_at": iso(start + 3 * H)}]})
    parts = r.ok("GET", "/api/v1/sessions?from=%s" % urllib.parse.quote(iso(start - 60)))
    parts = [s for s in parts["items"] if s.get("parent_id") == t["id"]]
    assert len(parts) == 2, parts
    p = person(r, first="Gus")
    e = enroll(r, t["id"], p["id"])
    pe = r.ok("GET", "/api/v1/sessions/%d/enrollments" % parts[0]["id"])["items"]
    assert len(pe) == 1, pe
    mark(r, pe[0]["id"], "attended")             # a part attended: the training's survey
    wait_status(r, e["id"], "survey", "sent")
    tok = survey_token(r, sim, p["phone"])
    st, body = page(r, "GET", tok)
    assert st == 200, body
    assert "Utile pour vous ?" in body and "Vos remarques &lt;libres&gt;" in body, body
    assert "Le contenu" not in body and body.count('type="radio"') == 4, body
    # A default question's field is not one of this questionnaire: ignored.
    st, body = page(r, "POST", tok, {"useful": "2", "remarks": "Bien", "content": "4"})
    assert st == 200, body
    assert r.db("SELECT question_id FROM surveys_answers ORDER BY 1") == [("remarks",),
                                                                        ("useful",)]
    want = {"invited": 1, "responses": 1,
            "questions": [{"id": "useful", "label": "Utile pour vous ?",
                           "counts": [0, 1, 0, 0], "mean": 2}],
            "comments": [{"question": "remarks", "label": "Vos remarques <libres>",
                          "text": "Bien"}]}
    # A part's results are its training's.
    for sid in (t["id"], parts[1]["id"]):
        assert r.ok("GET", "/api/v1/sessions/%d/survey" % sid, token="trainer_a") == want
    out = r.ok("GET", "/api/v1/staff/%d/survey" % ta)
    assert out == dict(want, sessions=1), out


@with_config(PLUGINS + 'surveys = {workshop = {{id = "Bad id", label = "x", type = "score"}}}\n')
def test_bad_questionnaire_stops_the_plugin(r, sim):
    wait_until(lambda: "surveys.workshop[1].id" in r.read_log(), 10, "the refusal logged")
    w = workshop(r, 3 * H, None)
    path = "/api/v1/sessions/%d/survey" % w["id"]
    st, _, _ = r.req("GET", path)
    assert st == 404, st
    # Fixed and reloaded (SIGHUP re-reads surveys): the new questionnaire.
    with open(r.config, "a") as f:
        f.write('surveys = {workshop = {{id = "good", label = "Bien ?", type = "score"}}}\n')
    r.proc.send_signal(signal.SIGHUP)

    def reloaded():
        st, out, _ = r.req("GET", path)
        return out if st == 200 else None
    out = wait_until(reloaded, 10, "the plugin reloaded")
    assert out == {"invited": 0, "responses": 0, "comments": [], "questions": [
        {"id": "good", "label": "Bien ?", "counts": [0, 0, 0, 0], "mean": None}]}, out


if __name__ == "__main__":
    run(globals())
